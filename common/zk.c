#include "zk.h"

#include "backoff.h"
#include "log.h"
#include "zk_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REOPEN_BACKOFF_MIN_MS 500
#define REOPEN_BACKOFF_MAX_MS 30000
#define REOPEN_BACKOFF_JITTER_PERCENT 25

struct zk {
    struct loop *loop;
    zhandle_t *zh;
    struct zk_session *session; /* what to do about the handle */
    char *hosts;
    int timeout_ms;
    uint64_t generation;       /* bumped when the handle is replaced */
    uint64_t watch_arrived_us; /* of the watch event being delivered */
    bool closed;
    uint64_t reopen_timer; /* a new handle could not be created: try again */
    struct backoff reopen_backoff;
    zk_session_fn *on_session;
    zk_watch_fn *on_watch;
    void *arg;
    struct zk_auth *auth;      /* NULL: anonymous */
    struct ACL acl[2];         /* with auth: digest ALL, world READ */
    struct ACL_vector acl_vec; /* what our creates carry */
};

/* Everything a library thread hands to the loop, copied. */
struct zk_msg {
    struct zk *zk;
    uint64_t generation;
    bool is_watch;
    int type, state; /* watch events */
    int rc;          /* completions */
    zk_done_fn *fn;
    void *arg;
    char *path;
    char *data;
    int datalen;
    char **children;
    int nchildren;
    bool has_stat;
    struct Stat stat;
    uint64_t sent_us, arrived_us; /* see struct zk_result */
};

static void msg_free(struct zk_msg *m)
{
    free(m->path);
    free(m->data);
    for (int i = 0; i < m->nchildren; i++)
        free(m->children[i]);
    free(m->children);
    free(m);
}

static void perform(struct zk *z);

static void deliver(void *p)
{
    struct zk_msg *m = p;
    struct zk *z = m->zk;
    if (!m->is_watch) {
        struct zk_result res = {m->path,     m->data, m->datalen, m->children,  m->nchildren,
                                m->has_stat, m->stat, m->sent_us, m->arrived_us};
        m->fn(m->arg, m->rc, &res);
    } else if (!z->closed && m->generation == z->generation) {
        if (m->type == ZOO_SESSION_EVENT) {
            zk_session_state(
                z->session, m->state,
                m->state == ZOO_CONNECTED_STATE && z->zh ? zoo_client_id(z->zh)->client_id : 0);
            perform(z);
        } else if (m->path) {
            z->watch_arrived_us = m->arrived_us;
            z->on_watch(z->arg, m->type, m->path);
        }
    }
    msg_free(m);
}

static struct zk_msg *msg_new(void)
{
    struct zk_msg *m = calloc(1, sizeof *m);
    if (!m) log_error("zookeeper: out of memory; a result is lost");
    return m;
}

/* Stamps the arrival (on the library's thread, or the loop's for a request
 * that was not queued), then hands m to the loop. */
static void post(struct zk_msg *m)
{
    m->arrived_us = loop_now_us();
    if (loop_post(m->zk->loop, deliver, m) < 0) msg_free(m);
}

/* Library thread. */
static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    struct zk_msg *m = msg_new();
    if (!m) return;
    struct zk_msg *tmpl = ctx;
    m->zk = tmpl->zk;
    m->generation = tmpl->generation;
    m->is_watch = true;
    m->type = type;
    m->state = state;
    m->path = path ? strdup(path) : NULL;
    post(m);
}

/* Library thread: each completion gets the request's own msg as data. */
static void done_void(int rc, const void *data)
{
    struct zk_msg *m = (struct zk_msg *)data;
    m->rc = rc;
    post(m);
}

static void done_string(int rc, const char *value, const void *data)
{
    struct zk_msg *m = (struct zk_msg *)data;
    m->rc = rc;
    free(m->path);
    m->path = value ? strdup(value) : NULL;
    post(m);
}

static void done_stat(int rc, const struct Stat *stat, const void *data)
{
    struct zk_msg *m = (struct zk_msg *)data;
    m->rc = rc;
    if (stat) {
        m->has_stat = true;
        m->stat = *stat;
    }
    post(m);
}

static void done_data(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
    struct zk_msg *m = (struct zk_msg *)data;
    m->rc = rc;
    if (value && len >= 0) {
        m->data = malloc((size_t)len + 1);
        if (m->data) {
            memcpy(m->data, value, (size_t)len);
            m->data[len] = 0;
            m->datalen = len;
        }
    }
    if (stat) {
        m->has_stat = true;
        m->stat = *stat;
    }
    post(m);
}

static void done_children(int rc, const struct String_vector *v, const void *data)
{
    struct zk_msg *m = (struct zk_msg *)data;
    m->rc = rc;
    if (v && v->count > 0) {
        m->children = calloc((size_t)v->count, sizeof *m->children);
        for (int i = 0; m->children && i < v->count; i++) {
            m->children[i] = strdup(v->data[i]);
            if (m->children[i]) m->nchildren++;
        }
    }
    post(m);
}

/* Library thread: nothing to do, a refused digest fails the session instead. */
static void auth_sent(int rc, const void *data)
{
    (void)rc, (void)data;
}

static void add_auth(struct zk *z)
{
    if (!z->zh || !z->auth) return;
    const char *c = z->auth->credentials;
    int rc = zoo_add_auth(z->zh, "digest", c, (int)strlen(c), auth_sent, NULL);
    if (rc != ZOK)
        log_error("zookeeper %s: cannot send the credentials of user %s: %s", z->hosts,
                  z->auth->user, zerror(rc));
}

static void library_log(const char *message)
{
    log_debug("libzookeeper: %s", message);
}

/* The handle's context names its zk and generation, so the watcher (on a
 * library thread) can stamp events without reading struct zk. */
static void open_handle(struct zk *z)
{
    struct zk_msg *ctx = calloc(1, sizeof *ctx);
    if (ctx) {
        ctx->zk = z;
        ctx->generation = ++z->generation;
        z->zh = zookeeper_init2(z->hosts, watcher, z->timeout_ms, NULL, ctx, 0, library_log);
        if (!z->zh) {
            log_error("zookeeper %s: cannot create a client (%s)", z->hosts, strerror(errno));
            free(ctx);
        }
    }
    if (z->zh) backoff_reset(&z->reopen_backoff);
    add_auth(z); /* queued until connected, and sent again on every reconnect */
    zk_session_opened(z->session, z->zh != NULL);
}

static void close_handle(struct zk *z)
{
    if (!z->zh) return;
    void *ctx = (void *)zoo_get_context(z->zh);
    zookeeper_close(z->zh);
    z->zh = NULL;
    free(ctx);
}

static void reopen_due(void *arg)
{
    struct zk *z = arg;
    z->reopen_timer = 0;
    zk_session_retry_due(z->session);
    perform(z);
}

static void reopen_later(struct zk *z)
{
    /* A host name that does not resolve right now, say: retry with backoff. */
    z->reopen_timer = loop_timer(z->loop, backoff_next(&z->reopen_backoff), reopen_due, z);
}

/* Carries out what the session state machine decided, in order. A report's
 * callback may feed it again; the queue keeps the order. */
static void perform(struct zk *z)
{
    struct zk_session_action a;
    while (zk_session_next(z->session, &a)) {
        switch (a.kind) {
        case ZK_SESSION_OPEN_HANDLE:
            open_handle(z);
            break;
        case ZK_SESSION_CLOSE_HANDLE:
            close_handle(z);
            break;
        case ZK_SESSION_RETRY_LATER:
            reopen_later(z);
            break;
        case ZK_SESSION_CANCEL_RETRY:
            if (z->reopen_timer) loop_timer_cancel(z->loop, z->reopen_timer);
            z->reopen_timer = 0;
            break;
        case ZK_SESSION_REPORT:
            if (!z->closed) z->on_session(z->arg, a.event);
            break;
        }
    }
}

static void free_later(void *p)
{
    struct zk *z = p;
    zk_session_free(z->session);
    zk_auth_free(z->auth);
    free(z->hosts);
    free(z);
}

struct zk *zk_new(struct loop *l, const char *hosts, int session_timeout_ms,
                  zk_session_fn *on_session, zk_watch_fn *on_watch, void *arg)
{
    struct zk *z = calloc(1, sizeof *z);
    if (!z) return NULL;
    z->loop = l;
    z->hosts = strdup(hosts);
    z->session = z->hosts ? zk_session_new(hosts) : NULL;
    z->timeout_ms = session_timeout_ms;
    z->on_session = on_session;
    z->on_watch = on_watch;
    z->arg = arg;
    if (!z->session) {
        free_later(z);
        return NULL;
    }
    backoff_init(&z->reopen_backoff, REOPEN_BACKOFF_MIN_MS, REOPEN_BACKOFF_MAX_MS,
                 REOPEN_BACKOFF_JITTER_PERCENT, backoff_seed(z));
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN); /* its INFO is a dozen lines per connect */
    zk_session_start(z->session);
    perform(z);
    if (!z->zh) { /* the first handle must work: a config error, say */
        z->closed = true;
        zk_session_close(z->session);
        perform(z);
        free_later(z);
        return NULL;
    }
    return z;
}

void zk_free(struct zk *z)
{
    if (!z) return;
    z->closed = true;
    zk_session_close(z->session);
    perform(z);
    /* Posted after every completion zookeeper_close() flushed, so it runs last. */
    if (loop_post(z->loop, free_later, z) < 0) free_later(z);
}

void zk_reopen(struct zk *z)
{
    zk_session_reopen(z->session);
    perform(z);
}

int zk_set_auth(struct zk *z, const struct zk_auth *auth)
{
    char err[200];
    struct zk_auth *copy = zk_auth_parse(auth->credentials, err, sizeof err);
    if (!copy) return -1;
    zk_auth_free(z->auth);
    z->auth = copy;
    z->acl[0] = (struct ACL){ZOO_PERM_ALL, {"digest", copy->digest_id}};
    z->acl[1] = (struct ACL){ZOO_PERM_READ, {"world", "anyone"}};
    z->acl_vec = (struct ACL_vector){2, z->acl};
    add_auth(z);
    log_info("zookeeper %s: authenticating as user %s (digest)", z->hosts, copy->user);
    return 0;
}

uint64_t zk_watch_arrived_us(const struct zk *z)
{
    return z->watch_arrived_us;
}

bool zk_is_connected(const struct zk *z)
{
    return zk_session_connected(z->session);
}

int64_t zk_session_id(const struct zk *z)
{
    return zk_session_client_id(z->session);
}

static struct zk_msg *request(struct zk *z, zk_done_fn *fn, void *arg)
{
    struct zk_msg *m = msg_new();
    if (!m) return NULL;
    m->zk = z;
    m->generation = z->generation;
    m->fn = fn;
    m->arg = arg;
    m->sent_us = loop_now_us();
    return m;
}

static int sent(struct zk_msg *m, int rc)
{
    if (rc == ZOK) return 0;
    /* Not queued: deliver the failure the same way as any other result. */
    m->rc = rc;
    post(m);
    return 0;
}

int zk_create(struct zk *z, const char *path, const char *data, int len, int flags, zk_done_fn *fn,
              void *arg)
{
    struct zk_msg *m = request(z, fn, arg);
    if (!m) return -1;
    return sent(m, !z->zh ? ZINVALIDSTATE
                          : zoo_acreate(z->zh, path, data, len,
                                        z->auth ? &z->acl_vec : &ZOO_OPEN_ACL_UNSAFE, flags,
                                        done_string, m));
}

int zk_delete(struct zk *z, const char *path, zk_done_fn *fn, void *arg)
{
    struct zk_msg *m = request(z, fn, arg);
    if (!m) return -1;
    return sent(m, !z->zh ? ZINVALIDSTATE : zoo_adelete(z->zh, path, -1, done_void, m));
}

int zk_set(struct zk *z, const char *path, const char *data, int len, zk_done_fn *fn, void *arg)
{
    struct zk_msg *m = request(z, fn, arg);
    if (!m) return -1;
    return sent(m, !z->zh ? ZINVALIDSTATE : zoo_aset(z->zh, path, data, len, -1, done_stat, m));
}

int zk_exists(struct zk *z, const char *path, bool watch, zk_done_fn *fn, void *arg)
{
    struct zk_msg *m = request(z, fn, arg);
    if (!m) return -1;
    return sent(m, !z->zh ? ZINVALIDSTATE : zoo_aexists(z->zh, path, watch, done_stat, m));
}

int zk_get(struct zk *z, const char *path, bool watch, zk_done_fn *fn, void *arg)
{
    struct zk_msg *m = request(z, fn, arg);
    if (!m) return -1;
    return sent(m, !z->zh ? ZINVALIDSTATE : zoo_aget(z->zh, path, watch, done_data, m));
}

int zk_get_children(struct zk *z, const char *path, bool watch, zk_done_fn *fn, void *arg)
{
    struct zk_msg *m = request(z, fn, arg);
    if (!m) return -1;
    return sent(m,
                !z->zh ? ZINVALIDSTATE : zoo_aget_children(z->zh, path, watch, done_children, m));
}

char *zk_path_join(const char *parent, const char *child)
{
    size_t pl = strlen(parent);
    while (pl > 0 && parent[pl - 1] == '/')
        pl--;
    while (*child == '/')
        child++;
    size_t n = pl + strlen(child) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%.*s/%s", (int)pl, parent, child);
    return p;
}
