/*
 * discovery "zookeeper": the children of a path, each child's data Nerve
 * JSON (or the payload encoded in the child's name). Children and data are
 * watched; after a reconnect or a new session everything is read again.
 * A child that does not decode is skipped with one log line; its neighbours
 * are published as usual. While ZooKeeper is away nothing is published, so
 * HAProxy keeps the last known backends.
 */
#include "discovery.h"

#include "log.h"
#include "zk.h"

#include <stdlib.h>
#include <string.h>

struct zk_discovery;

struct zk_conn {
    struct zk_conn *next;
    struct zk_pool *pool;
    char *hosts;
    struct zk *zk;
    struct zk_discovery *subscribers;
};

struct zk_pool {
    struct loop *loop;
    struct zk_conn *conns;
};

enum child_state { CHILD_LOADING, CHILD_OK, CHILD_BAD };

struct zk_child {
    char *name;
    enum child_state state;
    struct backend b;
    bool seen;
};

struct zk_discovery {
    struct zk_discovery *next; /* in conn->subscribers */
    struct zk_conn *conn;
    struct discovery_hub *hub;
    const struct syn_service *svc;
    size_t index;
    discovery_update_fn *fn;
    void *arg;
    char *path;
    struct zk_child *children;
    size_t nchildren, cap;
    int inflight;      /* replies outstanding */
    bool listing;      /* a listing is in flight */
    bool relist;       /* another listing was asked for meanwhile */
    bool reread;       /* the next listing reloads every child's data */
    bool dirty;        /* something changed since the last publish */
    bool path_missing; /* logged once */
    bool closing;      /* freed once inflight reaches 0 */
};

struct zk_op {
    struct zk_discovery *d;
    char *child; /* for gets */
};

static void list_children(struct zk_discovery *d);

static void child_clear(struct zk_child *c)
{
    free(c->name);
    backend_clear(&c->b);
}

static void discovery_destroy(struct zk_discovery *d)
{
    for (size_t i = 0; i < d->nchildren; i++) child_clear(&d->children[i]);
    free(d->children);
    free(d->path);
    free(d);
}

static struct zk_op *op_new(struct zk_discovery *d, const char *child)
{
    struct zk_op *op = calloc(1, sizeof *op);
    if (!op) return NULL;
    op->d = d;
    op->child = child ? strdup(child) : NULL;
    d->inflight++;
    return op;
}

/* Ends one reply; false when the discovery is going away (and maybe freed now). */
static bool op_end(struct zk_op *op)
{
    struct zk_discovery *d = op->d;
    free(op->child);
    free(op);
    d->inflight--;
    if (d->closing) {
        if (d->inflight == 0) discovery_destroy(d);
        return false;
    }
    return true;
}

static struct zk_child *find_child(struct zk_discovery *d, const char *name)
{
    for (size_t i = 0; i < d->nchildren; i++)
        if (strcmp(d->children[i].name, name) == 0) return &d->children[i];
    return NULL;
}

static void publish(struct zk_discovery *d)
{
    if (d->inflight > 0 || d->listing || !d->dirty) return;
    struct backend_list list = {0};
    for (size_t i = 0; i < d->nchildren; i++) {
        struct backend copy;
        if (d->children[i].state != CHILD_OK) continue;
        if (backend_copy(&copy, &d->children[i].b) < 0 || backend_list_push(&list, &copy) < 0) {
            backend_clear(&copy);
            backend_list_clear(&list);
            log_error("service %s: out of memory", d->svc->name);
            return;
        }
    }
    d->dirty = false;
    log_debug("service %s: %zu backends in %s", d->svc->name, list.n, d->path);
    d->fn(d->arg, d->index, &list);
    backend_list_clear(&list);
}

static void on_data(void *arg, int rc, const struct zk_result *res)
{
    struct zk_op *op = arg;
    struct zk_discovery *d = op->d;
    char *name = op->child;
    op->child = NULL;
    if (!op_end(op)) {
        free(name);
        return;
    }
    struct zk_child *c = find_child(d, name);
    if (c && rc == ZOK) {
        char err[256];
        backend_clear(&c->b);
        if (backend_decode_nerve(res->data, res->data ? (size_t)res->datalen : 0, &c->b, err,
                                 sizeof err) == 0) {
            c->state = CHILD_OK;
            free(c->b.source);
            c->b.source = strdup(name);
        } else {
            c->state = CHILD_BAD;
            log_warn("service %s: skipping znode %s/%s: %s", d->svc->name, d->path, name, err);
            discovery_hub_reject(d->hub, d->svc->name, err);
        }
        d->dirty = true;
    } else if (c && rc == ZNONODE) {
        c->state = CHILD_BAD; /* gone; the children watch removes it */
        d->dirty = true;
    } else if (c) {
        log_debug("service %s: reading %s/%s: %s", d->svc->name, d->path, name, zerror(rc));
    }
    free(name);
    publish(d);
}

static void load_child(struct zk_discovery *d, struct zk_child *c)
{
    char *path = zk_path_join(d->path, c->name);
    struct zk_op *op = path ? op_new(d, c->name) : NULL;
    /* A child that was good stays published with its last data until the
     * read answers: a read lost to a disconnection must not drop it. */
    if (c->state != CHILD_OK) c->state = CHILD_LOADING;
    if (op) zk_get(d->conn->zk, path, true, on_data, op);
    free(path);
}

static void add_child(struct zk_discovery *d, const char *name)
{
    if (d->nchildren == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct zk_child *v = realloc(d->children, cap * sizeof *v);
        if (!v) return;
        d->children = v;
        d->cap = cap;
    }
    struct zk_child *c = &d->children[d->nchildren];
    memset(c, 0, sizeof *c);
    c->b.weight = BACKEND_WEIGHT_UNSET;
    if (!(c->name = strdup(name))) return;
    c->seen = true;
    d->nchildren++;
    d->dirty = true;
    if (strncmp(name, BACKEND_ENCODED_PREFIX, strlen(BACKEND_ENCODED_PREFIX)) == 0) {
        char err[256];
        if (backend_decode_nerve_child_name(name, &c->b, err, sizeof err) == 0) {
            c->state = CHILD_OK;
            c->b.source = strdup(name);
            return;
        }
        /* Not path-encoded after all: fall back to the node's data. */
        backend_clear(&c->b);
    }
    load_child(d, c);
}

static void on_exists(void *arg, int rc, const struct zk_result *res)
{
    (void)res;
    struct zk_op *op = arg;
    struct zk_discovery *d = op->d;
    if (!op_end(op)) return;
    if (rc == ZOK) list_children(d); /* appeared between the listing and the watch */
}

static void on_children(void *arg, int rc, const struct zk_result *res)
{
    struct zk_op *op = arg;
    struct zk_discovery *d = op->d;
    if (!op_end(op)) return;
    d->listing = false;
    if (rc == ZNONODE) {
        if (!d->path_missing)
            log_warn("service %s: %s does not exist yet; watching for it", d->svc->name, d->path);
        d->path_missing = true;
        for (size_t i = 0; i < d->nchildren; i++) child_clear(&d->children[i]);
        if (d->nchildren) d->dirty = true;
        d->nchildren = 0;
        struct zk_op *eop = op_new(d, NULL);
        if (eop) zk_exists(d->conn->zk, d->path, true, on_exists, eop);
    } else if (rc == ZOK) {
        if (d->path_missing) log_info("service %s: %s exists now", d->svc->name, d->path);
        d->path_missing = false;
        bool reread = d->reread;
        d->reread = false;
        for (size_t i = 0; i < d->nchildren; i++) d->children[i].seen = false;
        for (int i = 0; i < res->nchildren; i++) {
            struct zk_child *c = find_child(d, res->children[i]);
            if (!c) {
                add_child(d, res->children[i]);
            } else {
                c->seen = true;
                if (reread && strncmp(c->name, BACKEND_ENCODED_PREFIX, 7) != 0) load_child(d, c);
            }
        }
        size_t kept = 0;
        for (size_t i = 0; i < d->nchildren; i++) {
            if (d->children[i].seen) {
                d->children[kept++] = d->children[i];
            } else {
                child_clear(&d->children[i]);
                d->dirty = true;
            }
        }
        d->nchildren = kept;
    } else {
        log_debug("service %s: listing %s: %s", d->svc->name, d->path, zerror(rc));
        d->relist = false; /* the reconnect will list again */
    }
    if (d->relist) {
        d->relist = false;
        list_children(d);
    }
    publish(d);
}

static void list_children(struct zk_discovery *d)
{
    if (d->listing) {
        d->relist = true;
        return;
    }
    if (!zk_is_connected(d->conn->zk)) return;
    struct zk_op *op = op_new(d, NULL);
    if (!op) return;
    d->listing = true;
    zk_get_children(d->conn->zk, d->path, true, on_children, op);
}

static void on_session(void *arg, enum zk_session_event ev)
{
    struct zk_conn *conn = arg;
    if (ev != ZK_SESSION_CONNECTED) return; /* meanwhile HAProxy keeps the last backends */
    for (struct zk_discovery *d = conn->subscribers; d; d = d->next) {
        d->reread = true;
        list_children(d);
    }
}

static void on_watch(void *arg, int type, const char *path)
{
    struct zk_conn *conn = arg;
    const char *slash = strrchr(path, '/');
    for (struct zk_discovery *d = conn->subscribers; d; d = d->next) {
        if (strcmp(path, d->path) == 0) {
            list_children(d); /* children changed, or the path was created or deleted */
        } else if (type == ZOO_CHANGED_EVENT && slash &&
                   strlen(d->path) == (size_t)(slash - path) &&
                   strncmp(path, d->path, (size_t)(slash - path)) == 0) {
            struct zk_child *c = find_child(d, slash + 1);
            if (c) load_child(d, c);
        }
    }
}

static void pool_free(void *p)
{
    struct zk_pool *pool = p;
    free(pool);
}

static struct zk_conn *conn_get(struct discovery_hub *h, const char *hosts, int timeout_ms)
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
        if (strcmp(c->hosts, hosts) == 0) return c;
    struct zk_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->hosts = strdup(hosts))) {
        free(c);
        return NULL;
    }
    c->pool = pool;
    c->zk = zk_new(h->loop, hosts, timeout_ms, on_session, on_watch, c);
    if (!c->zk) {
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
    while (*p && *p != c) p = &(*p)->next;
    if (*p) *p = c->next;
    zk_free(c->zk);
    loop_run_posts(c->pool->loop); /* flushed replies end while their discoveries exist */
    free(c->hosts);
    free(c);
}

static void *zkd_new(struct discovery_hub *h, const struct syn_service *svc, size_t index,
                     discovery_update_fn *fn, void *arg)
{
    const struct syn_discovery *disc = &svc->discovery;
    size_t len = 1;
    for (size_t i = 0; i < disc->hosts.n; i++) len += strlen(disc->hosts.v[i]) + 1;
    char *hosts = calloc(1, len);
    if (!hosts) return NULL;
    for (size_t i = 0; i < disc->hosts.n; i++) {
        if (i) strcat(hosts, ",");
        strcat(hosts, disc->hosts.v[i]);
    }
    struct zk_discovery *d = calloc(1, sizeof *d);
    struct zk_conn *conn = d ? conn_get(h, hosts, 10000) : NULL;
    free(hosts);
    if (!conn || !(d->path = strdup(disc->path))) {
        free(d);
        return NULL;
    }
    d->hub = h;
    size_t pl = strlen(d->path);
    if (pl > 1 && d->path[pl - 1] == '/') d->path[pl - 1] = 0;
    d->conn = conn;
    d->svc = svc;
    d->index = index;
    d->fn = fn;
    d->arg = arg;
    d->next = conn->subscribers;
    conn->subscribers = d;
    log_info("service %s: watching zookeeper %s%s", svc->name, conn->hosts, d->path);
    list_children(d);
    return d;
}

static void zkd_free(void *impl)
{
    struct zk_discovery *d = impl;
    struct zk_conn *conn = d->conn;
    struct zk_discovery **p = &conn->subscribers;
    while (*p && *p != d) p = &(*p)->next;
    if (*p) *p = d->next;
    d->closing = true;
    d->inflight++; /* keeps d while the connection flushes its replies */
    conn_release(conn);
    if (--d->inflight == 0) discovery_destroy(d);
}

static int zkd_connected(const void *impl)
{
    const struct zk_discovery *d = impl;
    return zk_is_connected(d->conn->zk) ? 1 : 0;
}

const struct discovery_impl zk_discovery_impl = {zkd_new, zkd_free, zkd_connected};
