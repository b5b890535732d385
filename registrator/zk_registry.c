/*
 * Registrations as ephemeral sequential znodes, Nerve's layout:
 * <path>/<service>/<instance>_<sequence>, data = Nerve JSON.
 *
 * Each entry converges towards what was asked (wanted or not) with at most
 * one procedure in flight. Registering first lists the service directory:
 * nodes of the same instance owned by another session (an earlier run of
 * this registrator) are deleted, one owned by this session is adopted (a
 * create whose reply was lost to a disconnection), and only when none is
 * left is a node created. So a reconnect never duplicates an instance and a
 * restart never shows it twice for longer than one round trip.
 */
#include "registry.h"

#include "log.h"
#include "zk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zk_registry;

struct zk_entry {
    struct zk_entry *next;
    struct zk_registry *reg;
    char *service, *instance, *dir, *payload;
    char *what;     /* "nodesrv 127.0.0.2:18000 container=3f2a1b2c3d4e", for logs */
    char *node;     /* our znode, once known */
    bool wanted;
    bool uncertain; /* a create may have succeeded unseen */
    bool payload_dirty;
    unsigned payload_version; /* bumped by every new payload */
    bool busy;      /* a procedure is in flight */
    bool scan_incomplete; /* a candidate's owner could not be read in this scan */
    int pending;    /* replies still awaited in the current step */
    uint64_t epoch; /* session epoch of the procedure in flight */
};

struct zk_registry {
    struct loop *loop;
    struct zk *zk;
    char *root;
    struct zk_entry *entries;
    char **known_dirs;
    size_t nknown_dirs;
    uint64_t epoch; /* bumped when the session expires */
    uint64_t retry_timer;
    registry_lost_fn *on_lost;
    void *arg;
};

/* One reply's context: which entry, from which session epoch, about which node. */
struct zk_op {
    struct zk_entry *e;
    uint64_t epoch;
    char *path;
    unsigned payload_version; /* of the payload the request carried */
};

static void converge(struct zk_entry *e);

static void entry_free(struct zk_entry *e)
{
    free(e->service);
    free(e->instance);
    free(e->dir);
    free(e->payload);
    free(e->what);
    free(e->node);
    free(e);
}

static void unlink_and_free(struct zk_entry *e)
{
    struct zk_entry **p = &e->reg->entries;
    while (*p && *p != e) p = &(*p)->next;
    if (*p) *p = e->next;
    entry_free(e);
}

static struct zk_op *op_new(struct zk_entry *e, const char *path)
{
    struct zk_op *op = calloc(1, sizeof *op);
    if (!op) return NULL;
    op->e = e;
    op->epoch = e->reg->epoch;
    op->path = path ? strdup(path) : NULL;
    op->payload_version = e->payload_version;
    e->pending++;
    return op;
}

/* Ends one reply; true when the caller may act on it (same session epoch). */
static bool op_end(struct zk_op *op)
{
    op->e->pending--;
    bool current = op->epoch == op->e->reg->epoch;
    free(op->path);
    free(op);
    return current;
}

static void finish(struct zk_entry *e)
{
    if (e->pending > 0) return;
    e->busy = false;
    converge(e);
}

static void retry_all(void *arg)
{
    struct zk_registry *r = arg;
    r->retry_timer = 0;
    for (struct zk_entry *e = r->entries, *next; e; e = next) {
        next = e->next;
        converge(e);
    }
}

/* Errors other than a lost connection (which the reconnect heals) retry on a timer. */
static void schedule_retry(struct zk_registry *r)
{
    if (!r->retry_timer) r->retry_timer = loop_timer(r->loop, 2000, retry_all, r);
}

static bool is_disconnection(int rc)
{
    return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED ||
           rc == ZCLOSING || rc == ZINVALIDSTATE || rc == ZSESSIONMOVED;
}

static bool dir_known(struct zk_registry *r, const char *dir)
{
    for (size_t i = 0; i < r->nknown_dirs; i++)
        if (strcmp(r->known_dirs[i], dir) == 0) return true;
    return false;
}

static void remember_dir(struct zk_registry *r, const char *dir, bool known)
{
    for (size_t i = 0; i < r->nknown_dirs; i++)
        if (strcmp(r->known_dirs[i], dir) == 0) {
            if (!known) {
                free(r->known_dirs[i]);
                r->known_dirs[i] = r->known_dirs[--r->nknown_dirs];
            }
            return;
        }
    if (!known) return;
    char **v = realloc(r->known_dirs, (r->nknown_dirs + 1) * sizeof *v);
    if (!v) return;
    r->known_dirs = v;
    r->known_dirs[r->nknown_dirs] = strdup(dir);
    if (r->known_dirs[r->nknown_dirs]) r->nknown_dirs++;
}

static void ignore_reply(void *arg, int rc, const struct zk_result *res)
{
    (void)arg, (void)rc, (void)res;
}

/* Persistent parents, created in order; a session's requests run in order, so
 * the listing that follows sees them. */
static void ensure_dir(struct zk_registry *r, const char *dir)
{
    if (dir_known(r, dir)) return;
    char *p = strdup(dir);
    if (!p) return;
    for (char *slash = strchr(p + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash) *slash = 0;
        zk_create(r->zk, p, NULL, -1, 0, ignore_reply, NULL);
        if (!slash) break;
        *slash = '/';
    }
    free(p);
}

static void on_created(void *arg, int rc, const struct zk_result *res)
{
    struct zk_op *op = arg;
    struct zk_entry *e = op->e;
    bool same_payload = op->payload_version == e->payload_version;
    if (op_end(op)) {
        if (rc == ZOK) {
            e->node = strdup(res->path);
            e->uncertain = false;
            if (same_payload) e->payload_dirty = false; /* else converge sets it */
            log_info("registered %s znode=%s", e->what, e->node);
        } else if (is_disconnection(rc)) {
            e->uncertain = true;
            log_warn("registering %s: %s; will check after reconnecting", e->what, zerror(rc));
        } else {
            if (rc == ZNONODE) remember_dir(e->reg, e->dir, false);
            log_error("registering %s under %s: %s; retrying", e->what, e->dir, zerror(rc));
            schedule_retry(e->reg);
        }
    }
    finish(e);
}

static void create_node(struct zk_entry *e)
{
    char *prefix = zk_path_join(e->dir, e->instance);
    size_t n = prefix ? strlen(prefix) : 0;
    char *path = prefix ? malloc(n + 2) : NULL;
    if (path) snprintf(path, n + 2, "%s_", prefix);
    free(prefix);
    struct zk_op *op = path ? op_new(e, NULL) : NULL;
    if (op)
        zk_create(e->reg->zk, path, e->payload, (int)strlen(e->payload),
                  ZOO_EPHEMERAL | ZOO_SEQUENCE, on_created, op);
    free(path);
}

static void on_deleted(void *arg, int rc, const struct zk_result *res)
{
    (void)res;
    struct zk_op *op = arg;
    struct zk_entry *e = op->e;
    char *path = op->path;
    op->path = NULL;
    if (op_end(op)) {
        bool mine = e->node && strcmp(e->node, path) == 0;
        if (rc == ZOK || rc == ZNONODE) {
            if (mine) {
                log_info("deregistered %s znode=%s", e->what, e->node);
                free(e->node);
                e->node = NULL;
            }
        } else if (!is_disconnection(rc)) {
            log_error("deleting znode %s: %s; retrying", path, zerror(rc));
            schedule_retry(e->reg);
        }
    }
    free(path);
    finish(e);
}

static void delete_node(struct zk_entry *e, const char *path)
{
    struct zk_op *op = op_new(e, path);
    if (op) zk_delete(e->reg->zk, path, on_deleted, op);
}

static void on_candidate_stat(void *arg, int rc, const struct zk_result *res)
{
    struct zk_op *op = arg;
    struct zk_entry *e = op->e;
    char *path = op->path;
    op->path = NULL;
    if (op_end(op)) {
        if (rc == ZOK && res->has_stat) {
            int64_t owner = res->stat.ephemeralOwner;
            if (owner == zk_session_id(e->reg->zk) && e->wanted && !e->node) {
                e->node = strdup(path);
                log_info("registered %s znode=%s (adopted after reconnect)", e->what, path);
            } else if (owner == zk_session_id(e->reg->zk)) {
                delete_node(e, path);
            } else {
                log_info("removing stale znode %s of %s left by session 0x%llx", path, e->what,
                         (unsigned long long)owner);
                delete_node(e, path);
            }
        } else if (rc != ZNONODE) {
            /* Unknown owner: it may be ours, so creating now could duplicate it. */
            e->scan_incomplete = true;
            if (!is_disconnection(rc)) schedule_retry(e->reg);
        }
    }
    free(path);
    if (e->pending > 0) return;
    if (e->scan_incomplete) {
        e->scan_incomplete = false;
        e->uncertain = true; /* scanned again once connected */
        finish(e);
        return;
    }
    e->uncertain = false;
    if (e->wanted && !e->node && e->epoch == e->reg->epoch) {
        create_node(e);
        if (e->pending > 0) return;
    }
    finish(e);
}

static void on_listed(void *arg, int rc, const struct zk_result *res)
{
    struct zk_op *op = arg;
    struct zk_entry *e = op->e;
    if (!op_end(op)) {
        finish(e);
        return;
    }
    if (rc != ZOK) {
        if (rc == ZNONODE) remember_dir(e->reg, e->dir, false);
        if (!is_disconnection(rc)) {
            log_error("listing %s for %s: %s; retrying", e->dir, e->what, zerror(rc));
            schedule_retry(e->reg);
        }
        finish(e);
        return;
    }
    remember_dir(e->reg, e->dir, true);
    size_t il = strlen(e->instance);
    for (int i = 0; i < res->nchildren; i++) {
        const char *child = res->children[i];
        if (strncmp(child, e->instance, il) != 0 || child[il] != '_') continue;
        char *path = zk_path_join(e->dir, child);
        struct zk_op *stat_op = path ? op_new(e, path) : NULL;
        if (stat_op) zk_exists(e->reg->zk, path, false, on_candidate_stat, stat_op);
        free(path);
    }
    if (e->pending > 0) return;
    e->uncertain = false;
    if (e->wanted && !e->node) {
        create_node(e);
        if (e->pending > 0) return;
    }
    finish(e);
}

/* Lists the service directory and settles our nodes there (see the top). */
static void reconcile(struct zk_entry *e)
{
    e->busy = true;
    e->epoch = e->reg->epoch;
    ensure_dir(e->reg, e->dir);
    struct zk_op *op = op_new(e, NULL);
    if (op) zk_get_children(e->reg->zk, e->dir, false, on_listed, op);
    if (e->pending == 0) e->busy = false;
}

static void on_updated(void *arg, int rc, const struct zk_result *res)
{
    (void)res;
    struct zk_op *op = arg;
    struct zk_entry *e = op->e;
    bool same_payload = op->payload_version == e->payload_version;
    if (op_end(op)) {
        if (rc == ZOK) {
            if (same_payload) e->payload_dirty = false;
        } else if (rc == ZNONODE) {
            log_warn("znode %s of %s vanished; registering again", e->node, e->what);
            free(e->node);
            e->node = NULL;
        } else if (!is_disconnection(rc)) {
            schedule_retry(e->reg);
        }
    }
    finish(e);
}

static void converge(struct zk_entry *e)
{
    if (e->busy) return;
    if (!e->wanted && !e->node && !e->uncertain) {
        unlink_and_free(e);
        return;
    }
    if (!zk_is_connected(e->reg->zk)) return;
    e->epoch = e->reg->epoch;
    if (e->wanted && !e->node) {
        reconcile(e);
    } else if (!e->wanted && e->node) {
        e->busy = true;
        delete_node(e, e->node);
    } else if (!e->wanted) {
        reconcile(e); /* a create we never heard back from: find and delete it */
    } else if (e->payload_dirty) {
        e->busy = true;
        struct zk_op *op = op_new(e, NULL);
        if (op)
            zk_set(e->reg->zk, e->node, e->payload, (int)strlen(e->payload), on_updated, op);
        else
            e->busy = false;
    }
}

static struct zk_entry *find(struct zk_registry *r, const char *service, const char *instance)
{
    for (struct zk_entry *e = r->entries; e; e = e->next)
        if (strcmp(e->service, service) == 0 && strcmp(e->instance, instance) == 0) return e;
    return NULL;
}

static int zkr_put(void *impl, const struct registration *reg)
{
    struct zk_registry *r = impl;
    char *payload = backend_encode_nerve(&reg->backend);
    if (!payload) return -1;
    struct zk_entry *e = find(r, reg->service, reg->instance);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e) {
            free(payload);
            return -1;
        }
        e->reg = r;
        e->service = strdup(reg->service);
        e->instance = strdup(reg->instance);
        e->dir = zk_path_join(r->root, reg->service);
        char what[512];
        snprintf(what, sizeof what, "%s %s:%d container=%.12s", reg->service,
                 reg->backend.host, reg->backend.port,
                 reg->backend.container_id ? reg->backend.container_id : "-");
        e->what = strdup(what);
        e->next = r->entries;
        r->entries = e;
    }
    if (e->payload && strcmp(e->payload, payload) != 0) {
        e->payload_dirty = true;
        e->payload_version++;
    }
    free(e->payload);
    e->payload = payload;
    e->wanted = true;
    converge(e);
    return 0;
}

static void zkr_remove(void *impl, const char *service, const char *instance)
{
    struct zk_registry *r = impl;
    struct zk_entry *e = find(r, service, instance);
    if (!e || !e->wanted) return;
    e->wanted = false;
    converge(e);
}

static bool zkr_settled(const void *impl)
{
    const struct zk_registry *r = impl;
    if (!zk_is_connected(r->zk)) return false;
    for (const struct zk_entry *e = r->entries; e; e = e->next)
        if (e->busy || e->uncertain || e->wanted != (e->node != NULL) || e->payload_dirty)
            return false;
    return true;
}

static bool zkr_connected(const void *impl)
{
    const struct zk_registry *r = impl;
    return zk_is_connected(r->zk);
}

static char *zkr_describe(const void *impl, const char *service, const char *instance)
{
    struct zk_entry *e = find((struct zk_registry *)impl, service, instance);
    char *out = NULL;
    if (!e) return NULL;
    if (e->node) return strdup(e->node);
    if (asprintf(&out, "%s/%s_ (not created yet)", e->dir, e->instance) < 0) return NULL;
    return out;
}

static void on_session(void *arg, enum zk_session_event ev)
{
    struct zk_registry *r = arg;
    if (ev == ZK_SESSION_EXPIRED) {
        /* The server removed our nodes; replies still in flight belong to the old epoch. */
        r->epoch++;
        for (struct zk_entry *e = r->entries; e; e = e->next) {
            free(e->node);
            e->node = NULL;
            e->uncertain = false;
        }
        if (r->on_lost) r->on_lost(r->arg);
    } else if (ev == ZK_SESSION_CONNECTED) {
        retry_all(r);
    }
}

static void on_watch(void *arg, int type, const char *path)
{
    (void)arg, (void)type, (void)path; /* the registrator sets no watches */
}

void *zk_registry_new(struct loop *l, const struct reg_config *cfg, registry_lost_fn *on_lost,
                      void *arg)
{
    struct zk_registry *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->loop = l;
    r->root = strdup(cfg->zk_path);
    r->on_lost = on_lost;
    r->arg = arg;
    size_t len = 1;
    for (size_t i = 0; i < cfg->nzk_hosts; i++) len += strlen(cfg->zk_hosts[i]) + 1;
    char *hosts = calloc(1, len);
    for (size_t i = 0; hosts && i < cfg->nzk_hosts; i++) {
        if (i) strcat(hosts, ",");
        strcat(hosts, cfg->zk_hosts[i]);
    }
    r->zk = hosts ? zk_new(l, hosts, cfg->zk_session_timeout_ms, on_session, on_watch, r) : NULL;
    free(hosts);
    if (!r->zk) {
        free(r->root);
        free(r);
        return NULL;
    }
    return r;
}

static void zkr_free(void *impl)
{
    struct zk_registry *r = impl;
    if (r->retry_timer) loop_timer_cancel(r->loop, r->retry_timer);
    zk_free(r->zk);
    r->epoch++;
    /* Mark everything unwanted-and-gone first, so the flushed replies that
     * loop_run_posts delivers find nothing left to do. */
    for (struct zk_entry *e = r->entries; e; e = e->next) {
        e->wanted = false;
        e->uncertain = false;
        free(e->node);
        e->node = NULL;
        e->busy = true; /* keeps converge() from starting anything */
    }
    loop_run_posts(r->loop);
    while (r->entries) {
        struct zk_entry *e = r->entries;
        r->entries = e->next;
        entry_free(e);
    }
    for (size_t i = 0; i < r->nknown_dirs; i++) free(r->known_dirs[i]);
    free(r->known_dirs);
    free(r->root);
    free(r);
}

const struct registry_ops zk_registry_ops = {zkr_put, zkr_remove, zkr_settled, zkr_connected,
                                             zkr_describe, zkr_free};
