/*
 * discovery "zookeeper": the children of a path, each child's data Nerve
 * JSON (or the payload encoded in the child's name). What to read and when
 * to publish is zk_child_set.c's; this file shares one session per ensemble
 * among the services that watch it, sends the requests and feeds back the
 * replies on the loop thread.
 */
#include "zk_discovery.h"

#include "log.h"
#include "zk.h"
#include "zk_auth.h"
#include "zk_child_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zk_discovery;

struct zk_conn {
    struct zk_conn *next;
    struct zk_pool *pool;
    char *hosts;
    char *auth_file; /* NULL: anonymous */
    int timeout_ms;
    struct zk *zk;
    struct zk_discovery *subscribers;
};

struct zk_pool {
    struct loop *loop;
    struct zk_conn *conns;
};

struct zk_discovery {
    struct zk_discovery *next; /* in conn->subscribers */
    struct zk_conn *conn;
    struct discovery_hub *hub;
    const struct syn_service *svc;
    size_t index;
    discovery_update_fn *fn;
    void *arg;
    struct zk_child_set *children;
    int outstanding;   /* replies not yet delivered */
    uint64_t fired_us; /* when the watch that led to the coming update fired; 0: none */
    bool closing;      /* freed once outstanding reaches 0 */
    bool poll;         /* zookeeper_poll: no watches; everything read on poll_timer */
    uint64_t poll_ms;
    uint64_t poll_timer;
    /* discovery_jitter: a watch firing within jitter_ms of the last read
     * waits jitter_ms, then everything is read again (re-arming watches). */
    uint64_t jitter_ms;
    uint64_t last_read_ms; /* when a watch last led to a read; 0: never */
    uint64_t jitter_timer;
    /* generator_config_path: the znode whose data holds the service's
     * haproxy settings; NULL when none is read. Its
     * data is read with a watch (polled under zookeeper_poll) and handed to
     * the hub; the first view of the children waits for the first read, so
     * the first haproxy.cfg already has the published settings. */
    char *settings_path;
    bool settings_inflight, settings_again, settings_wait;
};

/* One reply's context. */
struct zk_op {
    struct zk_discovery *d;
    char *child; /* for gets */
};

static void discovery_destroy(struct zk_discovery *d)
{
    zk_child_set_free(d->children);
    free(d->settings_path);
    free(d);
}

/* Ends one reply; false when the discovery is going away (and maybe freed now). */
static bool op_end(struct zk_op *op)
{
    struct zk_discovery *d = op->d;
    free(op->child);
    free(op);
    d->outstanding--;
    if (d->closing) {
        if (d->outstanding == 0) discovery_destroy(d);
        return false;
    }
    return true;
}

static void on_data(void *arg, int rc, const struct zk_result *res);
static void on_children(void *arg, int rc, const struct zk_result *res);
static void on_exists(void *arg, int rc, const struct zk_result *res);

/* Sends what the child set asked for, then publishes a new view if one is
 * ready. Called after every event fed to it. */
static void pump(struct zk_discovery *d)
{
    struct zk_child_set_request rq;
    const char *path = zk_child_set_path(d->children);
    while (zk_child_set_next_request(d->children, &rq)) {
        struct zk_op *op = calloc(1, sizeof *op);
        char *child_path = rq.child ? zk_path_join(path, rq.child) : NULL;
        if (!op || (rq.child && !child_path)) {
            /* Answered as a failed read, so the set does not wait for it forever. */
            log_error("service %s: out of memory; a read is lost", d->svc->name);
            if (rq.kind == ZK_CHILD_SET_LIST)
                zk_child_set_listed(d->children, ZSYSTEMERROR, NULL, 0);
            else if (rq.kind == ZK_CHILD_SET_GET)
                zk_child_set_read(d->children, rq.child, ZSYSTEMERROR, NULL, 0, 0);
            else
                zk_child_set_exists_answered(d->children, ZSYSTEMERROR);
            free(op);
            free(child_path);
            free(rq.child);
            continue;
        }
        op->d = d;
        op->child = rq.child; /* moved */
        d->outstanding++;
        struct zk *zk = d->conn->zk;
        bool watch = !d->poll;
        if (rq.kind == ZK_CHILD_SET_LIST)
            zk_get_children(zk, path, watch, on_children, op);
        else if (rq.kind == ZK_CHILD_SET_GET)
            zk_get(zk, child_path, watch, on_data, op);
        else
            zk_exists(zk, path, watch, on_exists, op);
        free(child_path);
    }
    struct backend_list list;
    if (!d->settings_wait && zk_child_set_take_update(d->children, &list)) {
        if (d->fired_us)
            log_debug("service %s: %zu backends read and decoded %llu us after the watch fired; "
                      "publishing",
                      d->svc->name, list.n, (unsigned long long)(loop_now_us() - d->fired_us));
        d->fired_us = 0;
        d->fn(d->arg, d->index, &list);
        backend_list_clear(&list);
    }
}

/* "the reply came N us after the request was sent, and reached the loop N
 * us after that" for -v: the ZooKeeper round trip apart from the hand-over
 * from the library's thread to the loop. */
static void log_reply_stage(const struct zk_discovery *d, const char *what, int rc,
                            const struct zk_result *res)
{
    uint64_t now = loop_now_us();
    log_debug("service %s: %s (%s) %llu us after the watch fired: replied %llu us after the "
              "request, on the loop %llu us later",
              d->svc->name, what, zerror(rc), (unsigned long long)(now - d->fired_us),
              (unsigned long long)(res->replied_us - res->sent_us),
              (unsigned long long)(now - res->replied_us));
}

static void on_data(void *arg, int rc, const struct zk_result *res)
{
    struct zk_op *op = arg;
    struct zk_discovery *d = op->d;
    char *name = op->child;
    op->child = NULL;
    if (op_end(op)) {
        if (d->fired_us) {
            char what[300];
            snprintf(what, sizeof what, "read %s", name);
            log_reply_stage(d, what, rc, res);
        }
        uint64_t t0 = loop_now_us();
        const char *refused = zk_child_set_read(d->children, name, rc, res->data, res->datalen,
                                                res->has_stat ? res->stat.czxid : 0);
        if (d->fired_us)
            log_debug("service %s: %s decoded in %llu us", d->svc->name, name,
                      (unsigned long long)(loop_now_us() - t0));
        if (refused) discovery_hub_reject(d->hub, d->svc->name, refused);
        pump(d);
    }
    free(name);
}

static void on_exists(void *arg, int rc, const struct zk_result *res)
{
    (void)res;
    struct zk_op *op = arg;
    struct zk_discovery *d = op->d;
    if (!op_end(op)) return;
    zk_child_set_exists_answered(d->children, rc);
    pump(d);
}

static void on_children(void *arg, int rc, const struct zk_result *res)
{
    struct zk_op *op = arg;
    struct zk_discovery *d = op->d;
    if (!op_end(op)) return;
    if (d->fired_us) {
        char what[64];
        snprintf(what, sizeof what, "listed %d children", rc == ZOK ? res->nchildren : 0);
        log_reply_stage(d, what, rc, res);
    }
    zk_child_set_listed(d->children, rc, res->children, res->nchildren);
    pump(d);
}

static void read_settings(struct zk_discovery *d);

static void on_settings_exists(void *arg, int rc, const struct zk_result *res)
{
    (void)res;
    struct zk_op *op = arg;
    struct zk_discovery *d = op->d;
    if (!op_end(op)) return;
    if (rc == ZOK) read_settings(d); /* created between the read and this watch */
}

static void on_settings(void *arg, int rc, const struct zk_result *res)
{
    struct zk_op *op = arg;
    struct zk_discovery *d = op->d;
    if (!op_end(op)) return;
    d->settings_inflight = false;
    if (rc == ZOK) {
        discovery_hub_settings(d->hub, d->svc->name, d->settings_path,
                               res->datalen > 0 ? res->data : NULL,
                               res->datalen > 0 ? (size_t)res->datalen : 0);
    } else if (rc == ZNONODE) {
        /* As in Synapse: no settings published; the file's stay. Watched
         * until it appears (a get sets no watch on a missing node). */
        log_debug("service %s: no znode %s for haproxy settings", d->svc->name, d->settings_path);
        struct zk_op *ex = d->poll ? NULL : calloc(1, sizeof *ex);
        if (ex) {
            ex->d = d;
            d->outstanding++;
            zk_exists(d->conn->zk, d->settings_path, true, on_settings_exists, ex);
        }
    } else {
        log_info("service %s: reading haproxy settings from %s: %s; read again on reconnect",
                 d->svc->name, d->settings_path, zerror(rc));
    }
    d->settings_wait = false;
    if (d->settings_again) {
        d->settings_again = false;
        read_settings(d);
    }
    pump(d);
}

/* One read of the settings znode at a time; a change meanwhile reads again. */
static void read_settings(struct zk_discovery *d)
{
    if (!d->settings_path || !zk_is_connected(d->conn->zk)) return;
    if (d->settings_inflight) {
        d->settings_again = true;
        return;
    }
    struct zk_op *op = calloc(1, sizeof *op);
    if (!op) {
        log_error("service %s: out of memory; haproxy settings not read", d->svc->name);
        d->settings_wait = false;
        return;
    }
    op->d = d;
    d->outstanding++;
    d->settings_inflight = true;
    zk_get(d->conn->zk, d->settings_path, !d->poll, on_settings, op);
}

static void on_session(void *arg, enum zk_session_event ev)
{
    struct zk_conn *conn = arg;
    for (struct zk_discovery *d = conn->subscribers; d; d = d->next) {
        if (ev == ZK_SESSION_CONNECTED) read_settings(d);
        zk_child_set_session(d->children, ev == ZK_SESSION_CONNECTED);
        pump(d);
    }
}

/* path is base or one of its children. */
static bool path_is_under(const char *base, const char *path)
{
    size_t n = strlen(base);
    return strncmp(base, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void on_jitter_over(void *arg)
{
    struct zk_discovery *d = arg;
    d->jitter_timer = 0;
    d->last_read_ms = loop_now_ms();
    zk_child_set_reread(d->children);
    pump(d);
}

/* discovery_jitter, as Synapse has it: a watch firing less than jitter
 * after the last one that led to a read is held back for jitter; true when
 * this one is (the read when it ends covers every watch held meanwhile). */
static bool jitter_holds(struct zk_discovery *d)
{
    if (!d->jitter_ms) return false;
    if (d->jitter_timer) return true;
    uint64_t now = loop_now_ms();
    if (d->last_read_ms && now - d->last_read_ms < d->jitter_ms) {
        log_info("service %s: discovery_jitter: reading again in %llu ms", d->svc->name,
                 (unsigned long long)d->jitter_ms);
        d->jitter_timer = loop_timer(d->conn->pool->loop, d->jitter_ms, on_jitter_over, d);
        return d->jitter_timer != 0;
    }
    d->last_read_ms = now;
    return false;
}

static void on_watch(void *arg, int type, const char *path)
{
    struct zk_conn *conn = arg;
    bool timed = log_enabled(LL_DEBUG);
    for (struct zk_discovery *d = conn->subscribers; d; d = d->next) {
        if (d->settings_path && type != ZOO_CHILD_EVENT && strcmp(path, d->settings_path) == 0)
            read_settings(d);
        bool mine = path_is_under(zk_child_set_path(d->children), path);
        if (mine && jitter_holds(d)) continue;
        if (timed && !d->fired_us && mine) {
            d->fired_us = loop_now_us();
            log_debug("service %s: watch fired on %s (type %d), on the loop %llu us after the "
                      "client library got it",
                      d->svc->name, path, type,
                      (unsigned long long)(d->fired_us - zk_watch_arrived_us(conn->zk)));
        }
        zk_child_set_watch_fired(d->children, type, path);
        pump(d);
    }
}

static void on_poll(void *arg)
{
    struct zk_discovery *d = arg;
    d->poll_timer = loop_timer(d->conn->pool->loop, d->poll_ms, on_poll, d);
    log_debug("service %s: polling %s", d->svc->name, zk_child_set_path(d->children));
    read_settings(d);
    zk_child_set_reread(d->children);
    pump(d);
}

static void pool_free(void *p)
{
    struct zk_pool *pool = p;
    free(pool);
}

/* One session per ensemble, credentials and session timeout: services
 * reading with different auth files must not share one. */
static struct zk_conn *conn_get(struct discovery_hub *h, const char *hosts, const char *auth_file,
                                int timeout_ms)
{
    if (!h->zk_pool) {
        struct zk_pool *pool = calloc(1, sizeof *pool);
        if (!pool) return NULL;
        pool->loop = h->loop;
        h->zk_pool = pool;
        h->free_zk_pool = pool_free;
    }
    struct zk_pool *pool = h->zk_pool;
    for (struct zk_conn *c = pool->conns; c; c = c->next)
        if (strcmp(c->hosts, hosts) == 0 && c->timeout_ms == timeout_ms &&
            strcmp(c->auth_file ? c->auth_file : "", auth_file ? auth_file : "") == 0)
            return c;
    struct zk_auth *auth = NULL;
    if (auth_file) {
        char err[512];
        if (!(auth = zk_auth_load(auth_file, err, sizeof err))) {
            log_error("zookeeper %s: auth_file: %s", hosts, err);
            return NULL;
        }
    }
    struct zk_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->hosts = strdup(hosts)) || (auth_file && !(c->auth_file = strdup(auth_file)))) {
        zk_auth_free(auth);
        if (c) free(c->hosts);
        free(c);
        return NULL;
    }
    c->pool = pool;
    c->timeout_ms = timeout_ms;
    c->zk = zk_new(h->loop, hosts, timeout_ms, on_session, on_watch, c);
    if (c->zk && auth && zk_set_auth(c->zk, auth) < 0) {
        zk_free(c->zk);
        loop_run_posts(pool->loop);
        c->zk = NULL;
    }
    zk_auth_free(auth);
    if (!c->zk) {
        free(c->auth_file);
        free(c->hosts);
        free(c);
        return NULL;
    }
    c->next = pool->conns;
    pool->conns = c;
    return c;
}

static void conn_release(struct zk_conn *c)
{
    if (c->subscribers) return;
    struct zk_conn **p = &c->pool->conns;
    while (*p && *p != c)
        p = &(*p)->next;
    if (*p) *p = c->next;
    zk_free(c->zk);
    loop_run_posts(c->pool->loop); /* flushed replies end while their discoveries exist */
    free(c->auth_file);
    free(c->hosts);
    free(c);
}

static void *zkd_new(struct discovery_hub *h, const struct syn_service *svc, size_t index,
                     discovery_update_fn *fn, void *arg)
{
    const struct syn_discovery *disc = &svc->discovery;
    size_t len = 1;
    for (size_t i = 0; i < disc->hosts.n; i++)
        len += strlen(disc->hosts.v[i]) + 1;
    if (disc->zk_chroot) len += strlen(disc->zk_chroot);
    char *hosts = calloc(1, len);
    if (!hosts) return NULL;
    for (size_t i = 0; i < disc->hosts.n; i++) {
        if (i) strcat(hosts, ",");
        strcat(hosts, disc->hosts.v[i]);
    }
    /* A connection string's chroot follows the last host and applies to all. */
    if (disc->zk_chroot) strcat(hosts, disc->zk_chroot);
    struct zk_discovery *d = calloc(1, sizeof *d);
    struct zk_conn *conn =
        d ? conn_get(h, hosts, disc->auth_file, disc->zk_session_timeout_ms) : NULL;
    free(hosts);
    if (!conn || !(d->children = zk_child_set_new(svc->name, disc->path)) ||
        (disc->decode == SYN_DECODE_SERVERSET &&
         zk_child_set_decode_serverset(d->children, disc->endpoint_name) < 0)) {
        if (d) zk_child_set_free(d->children);
        free(d);
        return NULL;
    }
    d->conn = conn;
    d->hub = h;
    d->svc = svc;
    d->index = index;
    d->fn = fn;
    d->arg = arg;
    d->next = conn->subscribers;
    conn->subscribers = d;
    d->jitter_ms = (uint64_t)(disc->discovery_jitter * 1000);
    /* Read only where generator_config_path names a znode (Synapse reads
     * the data of path by default): an existing config's reads and timing
     * stay as they were. Without it the file's settings are used. */
    if (!disc->generator_config_disabled && disc->generator_config_path) {
        d->settings_path = strdup(disc->generator_config_path);
        d->settings_wait = d->settings_path != NULL;
    }
    d->poll = disc->zk_poll;
    if (d->poll) {
        /* Synapse checks every 0.5 s whether the interval has passed. */
        double s = disc->polling_interval < 0.5 ? 0.5 : disc->polling_interval;
        d->poll_ms = (uint64_t)(s * 1000);
        d->poll_timer = loop_timer(h->loop, d->poll_ms, on_poll, d);
    }
    log_info("service %s: %s zookeeper %s%s", svc->name, d->poll ? "polling" : "watching",
             conn->hosts, zk_child_set_path(d->children));
    if (zk_is_connected(conn->zk)) {
        read_settings(d);
        zk_child_set_session(d->children, true);
        pump(d);
    }
    return d;
}

static void zkd_free(void *impl)
{
    struct zk_discovery *d = impl;
    struct zk_conn *conn = d->conn;
    if (d->poll_timer) loop_timer_cancel(conn->pool->loop, d->poll_timer);
    if (d->jitter_timer) loop_timer_cancel(conn->pool->loop, d->jitter_timer);
    d->poll_timer = d->jitter_timer = 0;
    struct zk_discovery **p = &conn->subscribers;
    while (*p && *p != d)
        p = &(*p)->next;
    if (*p) *p = d->next;
    d->closing = true;
    d->outstanding++; /* keeps d while the connection flushes its replies */
    conn_release(conn);
    if (--d->outstanding == 0) discovery_destroy(d);
}

static int zkd_connected(const void *impl)
{
    const struct zk_discovery *d = impl;
    return zk_is_connected(d->conn->zk) ? 1 : 0;
}

const struct discovery_impl zk_discovery_impl = {zkd_new, zkd_free, zkd_connected};
