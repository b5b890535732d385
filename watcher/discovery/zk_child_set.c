#include "zk_child_set.h"

#include "log.h"
#include "serverset.h"

#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

enum child_state { CHILD_LOADING, CHILD_OK, CHILD_BAD };

struct zk_child {
    char *name;
    enum child_state state;
    struct backend b;
    bool seen;
};

struct zk_child_set {
    char *service, *path;
    bool serverset;      /* children are Finagle ServerSet members, not Nerve JSON */
    char *endpoint_name; /* serverset: the additionalEndpoints entry, or NULL */
    char rejected[256];  /* why the last read's data was refused */
    struct zk_child *children;
    size_t nchildren, cap;
    struct zk_child_set_request *requests; /* queue: [head, nrequests) */
    size_t head, nrequests, requests_cap;
    int inflight; /* requests sent or queued, not yet answered */
    bool connected;
    bool listing;      /* a listing is in flight */
    bool relist;       /* another listing was asked for meanwhile */
    bool reread;       /* the next listing reloads every child's data */
    bool dirty;        /* something changed since the last publish */
    bool path_missing; /* logged once */
    bool published;    /* a view was taken at least once */
};

static void child_clear(struct zk_child *c)
{
    free(c->name);
    backend_clear(&c->b);
}

static bool is_path_encoded(const char *name)
{
    return strncmp(name, BACKEND_ENCODED_PREFIX, strlen(BACKEND_ENCODED_PREFIX)) == 0;
}

struct zk_child_set *zk_child_set_new(const char *service, const char *path)
{
    struct zk_child_set *cs = calloc(1, sizeof *cs);
    if (!cs) return NULL;
    cs->service = strdup(service);
    cs->path = strdup(path);
    if (!cs->service || !cs->path) {
        zk_child_set_free(cs);
        return NULL;
    }
    size_t pl = strlen(cs->path);
    if (pl > 1 && cs->path[pl - 1] == '/') cs->path[pl - 1] = 0;
    return cs;
}

void zk_child_set_free(struct zk_child_set *cs)
{
    if (!cs) return;
    for (size_t i = 0; i < cs->nchildren; i++)
        child_clear(&cs->children[i]);
    free(cs->children);
    for (size_t i = cs->head; i < cs->nrequests; i++)
        free(cs->requests[i].child);
    free(cs->requests);
    free(cs->service);
    free(cs->path);
    free(cs->endpoint_name);
    free(cs);
}

int zk_child_set_decode_serverset(struct zk_child_set *cs, const char *endpoint_name)
{
    cs->serverset = true;
    free(cs->endpoint_name);
    cs->endpoint_name = NULL;
    if (endpoint_name && !(cs->endpoint_name = strdup(endpoint_name))) return -1;
    return 0;
}

const char *zk_child_set_path(const struct zk_child_set *cs)
{
    return cs->path;
}

/* Queues a request; it counts as in flight from now on. */
static bool request(struct zk_child_set *cs, enum zk_child_set_request_kind kind, const char *child)
{
    if (cs->head == cs->nrequests) cs->head = cs->nrequests = 0;
    if (cs->nrequests == cs->requests_cap) {
        size_t cap = cs->requests_cap ? cs->requests_cap * 2 : 16;
        struct zk_child_set_request *v = realloc(cs->requests, cap * sizeof *v);
        if (!v) return false;
        cs->requests = v;
        cs->requests_cap = cap;
    }
    char *copy = child ? strdup(child) : NULL;
    if (child && !copy) return false;
    cs->requests[cs->nrequests++] = (struct zk_child_set_request){kind, copy};
    cs->inflight++;
    return true;
}

bool zk_child_set_next_request(struct zk_child_set *cs, struct zk_child_set_request *out)
{
    if (cs->head == cs->nrequests) return false;
    *out = cs->requests[cs->head++];
    return true;
}

static int cmp_child(const void *a, const void *b)
{
    return strcmp(((const struct zk_child *)a)->name, ((const struct zk_child *)b)->name);
}

/* cs->children is kept sorted by name between listings: a lookup is a
 * binary search (a linear one made a relist of 40k children take seconds). */
static struct zk_child *find_child(struct zk_child_set *cs, const char *name)
{
    struct zk_child key = {.name = (char *)name};
    return cs->nchildren ? bsearch(&key, cs->children, cs->nchildren, sizeof key, cmp_child) : NULL;
}

/* The sequence ZooKeeper appended to a sequential node's name
 * ("..._0000000042"), which orders creations under one parent; 0 if none. */
static int64_t child_sequence(const char *name)
{
    const char *us = strrchr(name, '_');
    if (!us || strlen(us + 1) != 10 || strspn(us + 1, "0123456789") != 10) return 0;
    return strtoll(us + 1, NULL, 10);
}

static void list_children(struct zk_child_set *cs)
{
    if (cs->listing) {
        cs->relist = true;
        return;
    }
    if (!cs->connected) return;
    if (request(cs, ZK_CHILD_SET_LIST, NULL)) cs->listing = true;
}

static void load_child(struct zk_child_set *cs, struct zk_child *c)
{
    /* A child that was good stays published with its last data until the
     * read answers: a read lost to a disconnection must not drop it. */
    if (c->state != CHILD_OK) c->state = CHILD_LOADING;
    request(cs, ZK_CHILD_SET_GET, c->name);
}

/* Room for exactly n children (n >= nchildren): with 1,000 services of 10
 * backends, growth by doubling left a third of the arrays unused. */
static bool reserve_children(struct zk_child_set *cs, size_t n)
{
    if (n == cs->cap) return true;
    if (n == 0) {
        free(cs->children);
        cs->children = NULL;
        cs->cap = 0;
        return true;
    }
    struct zk_child *v = realloc(cs->children, n * sizeof *v);
    if (!v) return n < cs->cap; /* a shrink that failed leaves it as it was */
    cs->children = v;
    cs->cap = n;
    return true;
}

static void add_child(struct zk_child_set *cs, const char *name)
{
    if (cs->nchildren == cs->cap && !reserve_children(cs, cs->cap ? cs->cap * 2 : 16)) return;
    struct zk_child *c = &cs->children[cs->nchildren];
    memset(c, 0, sizeof *c);
    c->b.weight = BACKEND_WEIGHT_UNSET;
    if (!(c->name = strdup(name))) return;
    c->seen = true;
    cs->nchildren++;
    cs->dirty = true;
    if (is_path_encoded(name)) {
        char err[256];
        if (backend_decode_nerve_child_name(name, &c->b, err, sizeof err) == 0) {
            c->state = CHILD_OK;
            c->b.source = strdup(name);
            c->b.created = child_sequence(name);
            backend_share(&c->b); /* on failure it stays a private copy */
            return;
        }
        /* Not path-encoded after all: fall back to the node's data. */
        backend_clear(&c->b);
    }
    load_child(cs, c);
}

void zk_child_set_session(struct zk_child_set *cs, bool connected)
{
    cs->connected = connected;
    if (!connected) return; /* meanwhile HAProxy keeps the last backends */
    cs->reread = true;
    list_children(cs);
}

void zk_child_set_reread(struct zk_child_set *cs)
{
    if (!cs->connected) return; /* the reconnect reads everything anyway */
    cs->reread = true;
    list_children(cs);
}

void zk_child_set_watch_fired(struct zk_child_set *cs, int type, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (strcmp(path, cs->path) == 0) {
        list_children(cs); /* children changed, or the path was created or deleted */
    } else if (type == ZOO_CHANGED_EVENT && slash && strlen(cs->path) == (size_t)(slash - path) &&
               strncmp(path, cs->path, (size_t)(slash - path)) == 0) {
        struct zk_child *c = find_child(cs, slash + 1);
        if (c) load_child(cs, c);
    }
}

const char *zk_child_set_read(struct zk_child_set *cs, const char *name, int rc, const char *data,
                              int datalen, int64_t czxid)
{
    const char *refused = NULL;
    cs->inflight--;
    struct zk_child *c = find_child(cs, name);
    if (c && rc == ZOK) {
        char err[256];
        backend_clear(&c->b);
        size_t len = data && datalen > 0 ? (size_t)datalen : 0;
        int decoded = cs->serverset ? (int)serverset_decode(data, len, cs->endpoint_name, &c->b,
                                                            err, sizeof err)
                                    : backend_decode_nerve(data, len, &c->b, err, sizeof err);
        if (decoded == SERVERSET_NOT_ALIVE) {
            /* announced, but not for traffic: left out without counting as refused */
            c->state = CHILD_BAD;
            log_info("service %s: not serving znode %s/%s: %s", cs->service, cs->path, name, err);
        } else if (decoded == 0) {
            c->state = CHILD_OK;
            free(c->b.source);
            c->b.source = strdup(name);
            /* the first registration of an address wins: creation order */
            c->b.created = czxid > 0 ? czxid : child_sequence(name);
            /* published lists share its strings instead of copying them */
            backend_share(&c->b);
        } else {
            c->state = CHILD_BAD;
            log_warn("service %s: skipping znode %s/%s: %s", cs->service, cs->path, name, err);
            snprintf(cs->rejected, sizeof cs->rejected, "%s", err);
            refused = cs->rejected;
        }
        cs->dirty = true;
    } else if (c && rc == ZNONODE) {
        c->state = CHILD_BAD; /* gone; the children watch removes it */
        cs->dirty = true;
    } else if (c) {
        log_debug("service %s: reading %s/%s: %s", cs->service, cs->path, name, zerror(rc));
    }
    return refused;
}

void zk_child_set_exists_answered(struct zk_child_set *cs, int rc)
{
    cs->inflight--;
    if (rc == ZOK) list_children(cs); /* appeared between the listing and the watch */
}

void zk_child_set_listed(struct zk_child_set *cs, int rc, char *const *children, int nchildren)
{
    cs->inflight--;
    cs->listing = false;
    if (rc == ZNONODE) {
        if (!cs->path_missing)
            log_warn("service %s: %s does not exist yet; watching for it", cs->service, cs->path);
        cs->path_missing = true;
        for (size_t i = 0; i < cs->nchildren; i++)
            child_clear(&cs->children[i]);
        if (cs->nchildren) cs->dirty = true;
        cs->nchildren = 0;
        request(cs, ZK_CHILD_SET_EXISTS, NULL);
    } else if (rc == ZOK) {
        if (cs->path_missing) log_info("service %s: %s exists now", cs->service, cs->path);
        cs->path_missing = false;
        bool reread = cs->reread;
        cs->reread = false;
        /* An existing path without children is an answer too: the first
         * listing publishes even when it is empty. */
        if (!cs->published) cs->dirty = true;
        for (size_t i = 0; i < cs->nchildren; i++)
            cs->children[i].seen = false;
        /* Known children are looked up while the array is still sorted; new
         * ones are appended after that, then the array is sorted again. */
        bool *is_new = calloc(nchildren > 0 ? (size_t)nchildren : 1, sizeof *is_new);
        size_t nnew = 0;
        for (int i = 0; is_new && i < nchildren; i++) {
            struct zk_child *c = find_child(cs, children[i]);
            if (!c) {
                is_new[i] = true;
                nnew++;
            } else {
                c->seen = true;
                if (reread && !is_path_encoded(c->name)) load_child(cs, c);
            }
        }
        reserve_children(cs, cs->nchildren + nnew);
        for (int i = 0; is_new && i < nchildren; i++)
            if (is_new[i]) add_child(cs, children[i]);
        if (!is_new) log_error("service %s: out of memory listing %s", cs->service, cs->path);
        free(is_new);
        size_t kept = 0;
        for (size_t i = 0; i < cs->nchildren; i++) {
            if (cs->children[i].seen) {
                cs->children[kept++] = cs->children[i];
            } else {
                child_clear(&cs->children[i]);
                cs->dirty = true;
            }
        }
        cs->nchildren = kept;
        reserve_children(cs, kept); /* gives back what the gone ones held */
        if (cs->nchildren > 1) qsort(cs->children, cs->nchildren, sizeof *cs->children, cmp_child);
    } else {
        log_debug("service %s: listing %s: %s", cs->service, cs->path, zerror(rc));
        cs->relist = false; /* the reconnect will list again */
    }
    if (cs->relist) {
        cs->relist = false;
        list_children(cs);
    }
}

bool zk_child_set_take_update(struct zk_child_set *cs, struct backend_list *out)
{
    if (cs->inflight > 0 || cs->listing || !cs->dirty) return false;
    struct backend_list list = {0};
    size_t ok = 0;
    for (size_t i = 0; i < cs->nchildren; i++)
        ok += cs->children[i].state == CHILD_OK;
    /* exactly: the watcher keeps this list as the service's */
    if (backend_list_reserve(&list, ok) < 0) {
        log_error("service %s: out of memory", cs->service);
        return false;
    }
    for (size_t i = 0; i < cs->nchildren; i++) {
        struct backend copy;
        if (cs->children[i].state != CHILD_OK) continue;
        if (backend_copy(&copy, &cs->children[i].b) < 0 || backend_list_push(&list, &copy) < 0) {
            backend_clear(&copy);
            backend_list_clear(&list);
            log_error("service %s: out of memory", cs->service);
            return false;
        }
    }
    cs->dirty = false;
    cs->published = true;
    log_debug("service %s: %zu backends in %s", cs->service, list.n, cs->path);
    *out = list;
    return true;
}
