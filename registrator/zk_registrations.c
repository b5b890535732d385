#include "zk_registrations.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zk_entry {
    struct zk_entry *next;
    struct zk_registrations *reg;
    char *service, *instance, *dir, *payload;
    char *what; /* for logs */
    char *node; /* our znode, once known */
    bool wanted;
    bool uncertain; /* a create may have succeeded unseen */
    bool payload_dirty;
    unsigned payload_version; /* bumped by every new payload */
    bool busy;                /* a procedure is in flight */
    bool watching;            /* a watch on node is set or being set */
    size_t refused_len;       /* size of the last payload refused as too large, logged */
    bool scan_incomplete;     /* a candidate's owner could not be read in this scan */
    int pending;              /* replies still awaited in the current step */
    uint64_t epoch;           /* session epoch of the procedure in flight */
    int create_flags;         /* ZOO_EPHEMERAL | ZOO_SEQUENCE unless zk_node_opts said */
    int ttl_s;                /* touch a persistent node this often */
    uint64_t touched_ms;
};

struct zk_registrations {
    char *root;
    struct zk_entry *entries;
    char **known_dirs;
    size_t nknown_dirs;
    bool connected;
    int64_t session_id;
    uint64_t epoch; /* bumped when the session expires */
    bool retry_pending;
    struct zk_registrations_request *requests; /* queue: [head, nrequests) */
    size_t head, nrequests, requests_cap;
};

/* One reply's context: which entry, from which session epoch, about which node. */
struct zk_registrations_op {
    enum zk_registrations_request_kind kind;
    struct zk_entry *e;
    uint64_t epoch;
    char *path;
    unsigned payload_version; /* of the payload the request carried */
};

static void converge(struct zk_entry *e);

struct zk_registrations *zk_registrations_new(const char *root)
{
    struct zk_registrations *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    if (!(r->root = strdup(root))) {
        free(r);
        return NULL;
    }
    return r;
}

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

void zk_registrations_free(struct zk_registrations *r)
{
    if (!r) return;
    while (r->entries) {
        struct zk_entry *e = r->entries;
        r->entries = e->next;
        entry_free(e);
    }
    for (size_t i = r->head; i < r->nrequests; i++) {
        struct zk_registrations_op *op = r->requests[i].op;
        if (op) free(op->path);
        free(op);
        free(r->requests[i].path);
        free(r->requests[i].data);
    }
    free(r->requests);
    for (size_t i = 0; i < r->nknown_dirs; i++)
        free(r->known_dirs[i]);
    free(r->known_dirs);
    free(r->root);
    free(r);
}

static void unlink_and_free(struct zk_entry *e)
{
    struct zk_entry **p = &e->reg->entries;
    while (*p && *p != e)
        p = &(*p)->next;
    if (*p) *p = e->next;
    entry_free(e);
}

/* Queues a request; with e, it carries an op and counts as pending for e. */
static bool request(struct zk_registrations *r, enum zk_registrations_request_kind kind,
                    struct zk_entry *e, const char *path, const char *data)
{
    if (r->head == r->nrequests) r->head = r->nrequests = 0;
    if (r->nrequests == r->requests_cap) {
        size_t cap = r->requests_cap ? r->requests_cap * 2 : 16;
        struct zk_registrations_request *v = realloc(r->requests, cap * sizeof *v);
        if (!v) return false;
        r->requests = v;
        r->requests_cap = cap;
    }
    struct zk_registrations_request rq = {kind, NULL, NULL, NULL, -1, 0};
    rq.path = path ? strdup(path) : NULL;
    rq.data = data ? strdup(data) : NULL;
    if (data) rq.datalen = (int)strlen(data);
    if (e) {
        rq.op = calloc(1, sizeof *rq.op);
        if (rq.op) {
            rq.op->kind = kind;
            rq.op->e = e;
            rq.op->epoch = r->epoch;
            rq.op->path = path ? strdup(path) : NULL;
            rq.op->payload_version = e->payload_version;
        }
    }
    if ((path && !rq.path) || (data && !rq.data) || (e && (!rq.op || (path && !rq.op->path)))) {
        log_error("zookeeper registry: out of memory; a request is not sent");
        if (rq.op) free(rq.op->path);
        free(rq.op);
        free(rq.path);
        free(rq.data);
        return false;
    }
    if (e) e->pending++;
    r->requests[r->nrequests++] = rq;
    return true;
}

bool zk_registrations_next(struct zk_registrations *r, struct zk_registrations_request *out)
{
    if (r->head == r->nrequests) return false;
    *out = r->requests[r->head++];
    return true;
}

/* A get with a watch on our node: not part of any procedure, so its reply
 * finds the entry again by the node's path. */
static void request_watch(struct zk_entry *e)
{
    struct zk_registrations *r = e->reg;
    if (!request(r, ZK_REG_WATCH, NULL, e->node, NULL)) return;
    struct zk_registrations_request *rq = &r->requests[r->nrequests - 1];
    rq->op = calloc(1, sizeof *rq->op);
    if (rq->op)
        *rq->op = (struct zk_registrations_op){ZK_REG_WATCH, NULL, r->epoch, strdup(e->node), 0};
    if (!rq->op || !rq->op->path) {
        if (rq->op) free(rq->op);
        free(rq->path);
        r->nrequests--;
        return;
    }
    e->watching = true;
}

static struct zk_entry *find_by_node(struct zk_registrations *r, const char *node)
{
    for (struct zk_entry *e = r->entries; e; e = e->next)
        if (e->node && strcmp(e->node, node) == 0) return e;
    return NULL;
}

static void finish(struct zk_entry *e)
{
    if (e->pending > 0) return;
    e->busy = false;
    converge(e);
}

static void converge_all(struct zk_registrations *r)
{
    for (struct zk_entry *e = r->entries, *next; e; e = next) {
        next = e->next;
        converge(e);
    }
}

void zk_registrations_retry_due(struct zk_registrations *r)
{
    r->retry_pending = false;
    converge_all(r);
}

/* Errors other than a lost connection (which the reconnect heals) retry on a timer. */
static void schedule_retry(struct zk_registrations *r)
{
    if (r->retry_pending) return;
    if (request(r, ZK_REG_RETRY_LATER, NULL, NULL, NULL)) r->retry_pending = true;
}

static bool is_disconnection(int rc)
{
    return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED ||
           rc == ZCLOSING || rc == ZINVALIDSTATE || rc == ZSESSIONMOVED;
}

static bool dir_known(struct zk_registrations *r, const char *dir)
{
    for (size_t i = 0; i < r->nknown_dirs; i++)
        if (strcmp(r->known_dirs[i], dir) == 0) return true;
    return false;
}

static void remember_dir(struct zk_registrations *r, const char *dir, bool known)
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

/* Persistent parents, created in order; a session's requests run in order, so
 * the listing that follows sees them. */
static void ensure_dir(struct zk_registrations *r, const char *dir)
{
    if (dir_known(r, dir)) return;
    char *p = strdup(dir);
    if (!p) return;
    for (char *slash = strchr(p + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash) *slash = 0;
        request(r, ZK_REG_CREATE_PARENT, NULL, p, NULL);
        if (!slash) break;
        *slash = '/';
    }
    free(p);
}

static void on_created(struct zk_entry *e, bool current, bool same_payload, int rc,
                       const struct zk_result *res)
{
    if (current) {
        if (rc == ZOK && res && res->path) {
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
    if (path && request(e->reg, ZK_REG_CREATE, e, path, e->payload))
        e->reg->requests[e->reg->nrequests - 1].flags = e->create_flags;
    free(path);
}

static void on_deleted(struct zk_entry *e, bool current, const char *path, int rc)
{
    if (current) {
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
    finish(e);
}

static void delete_node(struct zk_entry *e, const char *path)
{
    request(e->reg, ZK_REG_DELETE, e, path, NULL);
}

static void on_candidate_stat(struct zk_entry *e, bool current, const char *path, int rc,
                              const struct zk_result *res)
{
    struct zk_registrations *r = e->reg;
    if (current) {
        if (rc == ZOK && res && res->has_stat) {
            int64_t owner = res->stat.ephemeralOwner;
            if (owner == r->session_id && e->wanted && !e->node) {
                e->node = strdup(path);
                log_info("registered %s znode=%s (adopted after reconnect)", e->what, path);
            } else if (owner == r->session_id) {
                delete_node(e, path);
            } else {
                log_info("removing stale znode %s of %s left by session 0x%llx", path, e->what,
                         (unsigned long long)owner);
                delete_node(e, path);
            }
        } else if (rc != ZNONODE) {
            /* Unknown owner: it may be ours, so creating now could duplicate it. */
            e->scan_incomplete = true;
            if (!is_disconnection(rc)) schedule_retry(r);
        }
    }
    if (e->pending > 0) return;
    if (e->scan_incomplete) {
        e->scan_incomplete = false;
        e->uncertain = true; /* scanned again once connected */
        finish(e);
        return;
    }
    e->uncertain = false;
    if (e->wanted && !e->node && e->epoch == r->epoch) {
        create_node(e);
        if (e->pending > 0) return;
    }
    finish(e);
}

static void on_listed(struct zk_entry *e, bool current, int rc, const struct zk_result *res)
{
    struct zk_registrations *r = e->reg;
    if (!current) {
        finish(e);
        return;
    }
    if (rc != ZOK) {
        if (rc == ZNONODE) remember_dir(r, e->dir, false);
        if (!is_disconnection(rc)) {
            log_error("listing %s for %s: %s; retrying", e->dir, e->what, zerror(rc));
            schedule_retry(r);
        }
        finish(e);
        return;
    }
    remember_dir(r, e->dir, true);
    size_t il = strlen(e->instance);
    for (int i = 0; res && i < res->nchildren; i++) {
        const char *child = res->children[i];
        if (strncmp(child, e->instance, il) != 0 || child[il] != '_') continue;
        char *path = zk_path_join(e->dir, child);
        if (path) request(r, ZK_REG_STAT, e, path, NULL);
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

/* Lists the service directory and settles our nodes there (see the header). */
static void reconcile(struct zk_entry *e)
{
    e->busy = true;
    e->epoch = e->reg->epoch;
    ensure_dir(e->reg, e->dir);
    request(e->reg, ZK_REG_LIST, e, e->dir, NULL);
    if (e->pending == 0) e->busy = false;
}

static void on_updated(struct zk_entry *e, bool current, bool same_payload, int rc)
{
    if (current) {
        if (rc == ZOK) {
            if (same_payload) e->payload_dirty = false;
        } else if (rc == ZNONODE) {
            if (e->node) log_warn("znode %s of %s vanished; registering again", e->node, e->what);
            free(e->node);
            e->node = NULL;
        } else if (!is_disconnection(rc)) {
            schedule_retry(e->reg);
        }
    }
    finish(e);
}

/* Someone else deleted our node: register again (the listing first, so
 * never twice). */
static void node_lost(struct zk_entry *e)
{
    log_warn("znode %s of %s was deleted by another client; registering again", e->node, e->what);
    free(e->node);
    e->node = NULL;
    e->watching = false;
    converge(e);
}

static void on_watch_read(struct zk_registrations *r, const char *path, int rc,
                          const struct zk_result *res)
{
    struct zk_entry *e = find_by_node(r, path);
    if (!e) return; /* no longer ours */
    if (rc == ZOK) {
        size_t len = strlen(e->payload);
        bool same = res && res->data && (size_t)res->datalen == len &&
                    memcmp(res->data, e->payload, len) == 0;
        if (e->wanted && !e->payload_dirty && !same) {
            log_warn("znode %s of %s was overwritten by another client; restoring it", e->node,
                     e->what);
            e->payload_dirty = true;
            converge(e);
        }
    } else if (rc == ZNONODE) {
        if (e->wanted) node_lost(e);
    } else {
        e->watching = false; /* set again once connected, or on the retry */
        if (!is_disconnection(rc)) {
            log_error("watching znode %s of %s: %s; retrying", e->node, e->what, zerror(rc));
            schedule_retry(r);
        }
    }
}

void zk_registrations_watch_fired(struct zk_registrations *r, int type, const char *path)
{
    struct zk_entry *e = find_by_node(r, path);
    if (!e) return;
    e->watching = false;
    if (type == ZOO_DELETED_EVENT && e->wanted)
        node_lost(e);
    else
        converge(e); /* reads it again with a new watch */
}

void zk_registrations_reply(struct zk_registrations *r, struct zk_registrations_op *op, int rc,
                            const struct zk_result *res)
{
    if (op->kind == ZK_REG_WATCH) {
        if (op->epoch == r->epoch) on_watch_read(r, op->path, rc, res);
        free(op->path);
        free(op);
        return;
    }
    struct zk_entry *e = op->e;
    bool current = op->epoch == r->epoch;
    bool same_payload = op->payload_version == e->payload_version;
    char *path = op->path;
    enum zk_registrations_request_kind kind = op->kind;
    free(op);
    e->pending--;
    switch (kind) {
    case ZK_REG_LIST:
        on_listed(e, current, rc, res);
        break;
    case ZK_REG_STAT:
        on_candidate_stat(e, current, path, rc, res);
        break;
    case ZK_REG_CREATE:
        on_created(e, current, same_payload, rc, res);
        break;
    case ZK_REG_DELETE:
        on_deleted(e, current, path, rc);
        break;
    case ZK_REG_SET:
        on_updated(e, current, same_payload, rc);
        break;
    default:
        finish(e);
        break;
    }
    free(path);
}

static void converge(struct zk_entry *e)
{
    if (e->busy) return;
    if (!e->wanted && !e->node && !e->uncertain) {
        if (!e->refused_len) unlink_and_free(e); /* else kept to log a refusal once */
        return;
    }
    if (!e->reg->connected) return;
    e->epoch = e->reg->epoch;
    if (e->wanted && !e->node) {
        reconcile(e);
    } else if (!e->wanted && e->node) {
        e->busy = true;
        delete_node(e, e->node);
        if (e->pending == 0) e->busy = false;
    } else if (!e->wanted) {
        reconcile(e); /* a create we never heard back from: find and delete it */
    } else if (e->payload_dirty) {
        e->busy = true;
        request(e->reg, ZK_REG_SET, e, e->node, e->payload);
        if (e->pending == 0) e->busy = false;
    }
    if (e->wanted && e->node && !e->watching) request_watch(e);
}

static struct zk_entry *find(struct zk_registrations *r, const char *service, const char *instance)
{
    for (struct zk_entry *e = r->entries; e; e = e->next)
        if (strcmp(e->service, service) == 0 && strcmp(e->instance, instance) == 0) return e;
    return NULL;
}

static struct zk_entry *entry_new(struct zk_registrations *r, const char *service,
                                  const char *instance, const char *what,
                                  const struct zk_node_opts *opts)
{
    struct zk_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->reg = r;
    e->service = strdup(service);
    e->instance = strdup(instance);
    e->dir = opts && opts->dir ? strdup(opts->dir) : zk_path_join(r->root, service);
    e->what = strdup(what);
    e->create_flags = opts && opts->set_flags ? opts->flags : ZOO_EPHEMERAL | ZOO_SEQUENCE;
    e->ttl_s = opts && !(e->create_flags & ZOO_EPHEMERAL) ? opts->ttl_s : 0;
    if (!e->service || !e->instance || !e->dir || !e->what) {
        entry_free(e);
        return NULL;
    }
    e->next = r->entries;
    r->entries = e;
    return e;
}

/* Refuses a payload ZooKeeper would drop the connection for. The entry
 * stays (unwanted) to remember the size logged. */
static int refuse_too_large(struct zk_registrations *r, const char *service, const char *instance,
                            size_t len, const char *what, const struct zk_node_opts *opts)
{
    struct zk_entry *e = find(r, service, instance);
    if (!e) e = entry_new(r, service, instance, what, opts);
    if (!e || e->refused_len != len)
        log_error("not registering %s: its payload is %zu bytes, over the %d bytes ZooKeeper "
                  "takes",
                  what, len, ZK_REGISTRATIONS_PAYLOAD_MAX);
    if (e) {
        e->refused_len = len;
        if (e->wanted) {
            e->wanted = false;
            converge(e);
        }
    }
    return ZK_REGISTRATIONS_REFUSED;
}

int zk_registrations_put(struct zk_registrations *r, const char *service, const char *instance,
                         const char *payload, const char *what)
{
    return zk_registrations_put_opts(r, service, instance, payload, what, NULL);
}

int zk_registrations_put_opts(struct zk_registrations *r, const char *service, const char *instance,
                              const char *payload, const char *what,
                              const struct zk_node_opts *opts)
{
    size_t len = strlen(payload);
    if (len > ZK_REGISTRATIONS_PAYLOAD_MAX)
        return refuse_too_large(r, service, instance, len, what, opts);
    char *copy = strdup(payload);
    if (!copy) return -1;
    struct zk_entry *e = find(r, service, instance);
    if (!e && !(e = entry_new(r, service, instance, what, opts))) {
        free(copy);
        return -1;
    }
    if (e->payload && strcmp(e->payload, copy) != 0) {
        e->payload_dirty = true;
        e->payload_version++;
    }
    free(e->payload);
    e->payload = copy;
    e->wanted = true;
    e->refused_len = 0;
    converge(e);
    return 0;
}

void zk_registrations_remove(struct zk_registrations *r, const char *service, const char *instance)
{
    struct zk_entry *e = find(r, service, instance);
    if (!e || (!e->wanted && !e->refused_len)) return;
    e->wanted = false;
    e->refused_len = 0;
    converge(e);
}

bool zk_registrations_settled(const struct zk_registrations *r)
{
    if (!r->connected) return false;
    for (const struct zk_entry *e = r->entries; e; e = e->next)
        if (e->busy || e->uncertain || e->wanted != (e->node != NULL) || e->payload_dirty)
            return false;
    return true;
}

void zk_registrations_session(struct zk_registrations *r, enum zk_session_event ev,
                              int64_t session_id)
{
    if (ev == ZK_SESSION_EXPIRED) {
        /* The server removed our nodes; replies still in flight belong to the old epoch. */
        r->connected = false;
        r->session_id = 0;
        r->epoch++;
        for (struct zk_entry *e = r->entries; e; e = e->next) {
            free(e->node);
            e->node = NULL;
            e->uncertain = false;
            e->watching = false;
        }
        request(r, ZK_REG_LOST, NULL, NULL, NULL);
    } else if (ev == ZK_SESSION_DISCONNECTED) {
        r->connected = false;
    } else if (ev == ZK_SESSION_CONNECTED) {
        r->connected = true;
        r->session_id = session_id;
        converge_all(r);
    }
}

void zk_registrations_shutdown(struct zk_registrations *r)
{
    r->epoch++;
    r->connected = false;
    /* Everything unwanted-and-gone, so the flushed replies still to come
     * find nothing left to do. */
    for (struct zk_entry *e = r->entries; e; e = e->next) {
        e->wanted = false;
        e->uncertain = false;
        free(e->node);
        e->node = NULL;
        e->busy = true; /* keeps converge() from starting anything */
    }
}

void zk_registrations_touch_due(struct zk_registrations *r, uint64_t now_ms)
{
    for (struct zk_entry *e = r->entries; e; e = e->next) {
        if (!e->ttl_s || !e->node || !e->wanted) {
            e->touched_ms = now_ms; /* counts from the node's creation */
            continue;
        }
        if (e->busy || now_ms - e->touched_ms < (uint64_t)e->ttl_s * 1000) continue;
        e->touched_ms = now_ms;
        e->payload_dirty = true;
        converge(e);
    }
}

void zk_registrations_withdraw_persistent(struct zk_registrations *r)
{
    for (struct zk_entry *e = r->entries; e; e = e->next)
        if (e->node && !(e->create_flags & ZOO_EPHEMERAL))
            request(r, ZK_REG_DELETE, NULL, e->node, NULL);
}

char *zk_registrations_describe(const struct zk_registrations *r, const char *service,
                                const char *instance)
{
    struct zk_entry *e = find((struct zk_registrations *)r, service, instance);
    char *out = NULL;
    if (!e) return NULL;
    if (e->node) return strdup(e->node);
    if (asprintf(&out, "%s/%s_ (not created yet)", e->dir, e->instance) < 0) return NULL;
    return out;
}
