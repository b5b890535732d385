/*
 * discovery "docker": Synapse's docker method, driven by events instead of
 * polling. Every server of the service is one engine, followed read-only by
 * a docker_watch (common/docker_watch.h) the way the registrator follows its
 * own; this file turns the containers it reports into backends.
 *
 * The service's backends are the union over its engines, published after
 * every change once each engine has finished (or failed) its first sync, so
 * an unreachable engine delays nothing but its own containers. A lost engine
 * keeps its backends until a resync after the reconnect says otherwise: an
 * engine restart or a network blip does not stop its containers, and
 * HAProxy's health checks take out the ones that do stop.
 */
#include "docker_discovery.h"

#include "discovery.h"
#include "docker_discovery_backend.h"
#include "docker_watch.h"
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct docker_discovery;

/* What we serve of one container of one engine: its docker_watch data. */
struct container {
    char short_id[13];
    bool present; /* b is one of the service's backends */
    struct backend b;
    char *warned;       /* the last unusable reason logged, so each is logged once */
    bool labels_warned; /* skipped labels are logged once */
};

struct engine {
    struct docker_discovery *d;
    const struct syn_docker_server *srv;
    char *url;
    struct docker_watch *watch;
    bool settled; /* first sync completed or failed: publishing no longer waits */
};

struct docker_discovery {
    struct loop *loop;
    const struct syn_service *svc;
    size_t index;
    discovery_update_fn *fn;
    void *arg;
    struct engine *engines;
    size_t nengines;
    bool dirty; /* the union changed since the last publish */
};

static void elog(const struct engine *e, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line: "service <name>: docker <server> (<url>): <message>". */
static void elog(const struct engine *e, enum log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!log_enabled(level)) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_msg(level, "service %s: docker %s (%s): %s", e->d->svc->name, e->srv->name, e->url, msg);
}

static struct container *container_new(struct engine *e, const char *id)
{
    struct container *c = calloc(1, sizeof *c);
    if (!c) elog(e, LL_ERROR, "container %.12s: out of memory", id);
    if (c) snprintf(c->short_id, sizeof c->short_id, "%.12s", id);
    return c;
}

static void container_free(void *arg, void *data)
{
    struct container *c = data;
    (void)arg;
    backend_clear(&c->b);
    free(c->warned);
    free(c);
}

static bool backend_same(struct backend *a, struct backend *b)
{
    struct backend_list la = {.v = a, .n = 1}, lb = {.v = b, .n = 1};
    return backend_list_equal(&la, &lb);
}

/* "host:port", with brackets around an IPv6 literal. */
static const char *addr(const struct backend *b, char *buf, size_t n)
{
    snprintf(buf, n, strchr(b->host, ':') ? "[%s]:%d" : "%s:%d", b->host, b->port);
    return buf;
}

/* Makes *b (moved in) c's backend. */
static void container_set(struct engine *e, struct container *c, struct backend *b)
{
    char a[300];
    if (c->present && backend_same(&c->b, b)) {
        backend_clear(b);
        return;
    }
    elog(e, LL_INFO, "container %s %s %s", c->short_id, c->present ? "now at" : "added",
         addr(b, a, sizeof a));
    backend_clear(&c->b);
    c->b = *b;
    memset(b, 0, sizeof *b);
    c->present = true;
    e->d->dirty = true;
}

static void container_unset(struct engine *e, struct container *c, const char *why)
{
    char a[300];
    if (!c->present) return;
    elog(e, LL_INFO, "container %s removed %s (%s)", c->short_id, addr(&c->b, a, sizeof a), why);
    backend_clear(&c->b);
    c->present = false;
    e->d->dirty = true;
}

struct union_of {
    struct backend_list list;
    bool ok;
};

static void add_backend(void *arg, void *data)
{
    struct union_of *u = arg;
    const struct container *c = data;
    struct backend copy;
    if (!c->present || !u->ok) return;
    if (backend_copy(&copy, &c->b) < 0 || backend_list_push(&u->list, &copy) < 0) {
        backend_clear(&copy);
        u->ok = false;
    }
}

/* Publishes the union of every engine's backends if it changed, once every
 * engine has answered or failed its first sync. */
static void publish(struct docker_discovery *d)
{
    if (!d->dirty) return;
    for (size_t i = 0; i < d->nengines; i++)
        if (!d->engines[i].settled) return;
    struct union_of u = {.ok = true};
    for (size_t i = 0; i < d->nengines; i++)
        if (d->engines[i].watch) docker_watch_each(d->engines[i].watch, add_backend, &u);
    if (!u.ok) {
        backend_list_clear(&u.list);
        log_error("service %s: out of memory", d->svc->name);
        return;
    }
    struct backend_list list = u.list;
    d->dirty = false;
    log_debug("service %s: %zu backends from %zu docker engines", d->svc->name, list.n,
              d->nengines);
    d->fn(d->arg, d->index, &list);
    backend_list_clear(&list);
}

static void settle(struct engine *e)
{
    e->settled = true;
    publish(e->d);
}

/* Decides from a fresh inspect whether c serves, and logs why not once. */
static void evaluate(struct engine *e, struct container *c, const struct docker_container *dc)
{
    struct backend b;
    char why[256], skipped[256];
    enum docker_discovery_verdict v =
        docker_discovery_backend(&e->d->svc->discovery, e->srv, dc, &b, why, sizeof why);
    if (v != DOCKER_DISCOVERY_OTHER_IMAGE && v != DOCKER_DISCOVERY_NOMEM && !c->labels_warned &&
        docker_discovery_skipped_labels(dc, skipped, sizeof skipped) > 0)
        elog(e, LL_WARN, "container %s: labels with control characters left out: %s", c->short_id,
             skipped);
    if (v != DOCKER_DISCOVERY_OTHER_IMAGE) c->labels_warned = true;
    switch (v) {
    case DOCKER_DISCOVERY_BACKEND:
        free(c->warned);
        c->warned = NULL;
        container_set(e, c, &b);
        break;
    case DOCKER_DISCOVERY_OTHER_IMAGE:
        container_unset(e, c, why); /* an image never changes: only ever a no-op */
        break;
    case DOCKER_DISCOVERY_NOT_READY:
        if (!c->present) elog(e, LL_DEBUG, "container %s not added: %s", c->short_id, why);
        container_unset(e, c, why);
        break;
    case DOCKER_DISCOVERY_UNUSABLE:
        if (!c->warned || strcmp(c->warned, why) != 0)
            elog(e, LL_WARN, "container %s (%.64s) left out: %s", c->short_id,
                 dc->name ? dc->name : "?", why);
        free(c->warned);
        c->warned = strdup(why);
        container_unset(e, c, why);
        break;
    case DOCKER_DISCOVERY_NOMEM:
        elog(e, LL_ERROR, "container %s: %s", c->short_id, why);
        break;
    }
}

static void count_present(void *arg, void *data)
{
    *(size_t *)arg += ((const struct container *)data)->present;
}

/* Publishes now unless a resync is in flight (in_sync or lost follows). */
static void changed(struct engine *e)
{
    if (!docker_watch_resyncing(e->watch)) publish(e->d);
}

static void on_container(void *arg, const struct docker_container *dc, void **data)
{
    struct engine *e = arg;
    struct container *c = *data ? *data : (*data = container_new(e, dc->id));
    if (!c) return;
    evaluate(e, c, dc);
    changed(e);
}

static void on_gone(void *arg, const char *id, const char *why, const struct docker_event *ev,
                    bool final, void **data)
{
    struct engine *e = arg;
    struct container *c = *data;
    (void)id;
    (void)ev;
    if (!c) return;
    container_unset(e, c, why);
    if (final) {
        container_free(NULL, c);
        *data = NULL;
    }
    changed(e);
}

static void on_in_sync(void *arg)
{
    settle(arg);
}

static void on_engine_lost(void *arg, const char *why)
{
    struct engine *e = arg;
    size_t n = 0;
    docker_watch_each(e->watch, count_present, &n);
    (void)why; /* the watch logged it */
    if (n) elog(e, LL_INFO, "keeping its %zu backends until it is back", n);
    settle(e); /* failing before its first sync ends that sync */
}

static const struct docker_follow_reports reports = {
    on_container,
    on_gone,
    on_in_sync,
    on_engine_lost,
};

/* "unix:///path" or "tcp://host:port" (brackets around an IPv6 literal); caller frees. */
static char *engine_url(const struct syn_docker_server *s)
{
    size_t n = (s->socket ? strlen(s->socket) : strlen(s->host)) + 32;
    char *url = malloc(n);
    if (!url) return NULL;
    if (s->socket)
        snprintf(url, n, "unix://%s", s->socket);
    else
        snprintf(url, n, strchr(s->host, ':') ? "tcp://[%s]:%d" : "tcp://%s:%d", s->host, s->port);
    return url;
}

static void ddisc_free(void *impl);

static void *ddisc_new(struct discovery_hub *h, const struct syn_service *svc, size_t index,
                       discovery_update_fn *fn, void *arg)
{
    const struct syn_discovery *disc = &svc->discovery;
    struct docker_discovery *d = calloc(1, sizeof *d);
    if (!d || !(d->engines = calloc(disc->nservers ? disc->nservers : 1, sizeof *d->engines))) {
        free(d);
        log_error("service %s: out of memory", svc->name);
        return NULL;
    }
    d->loop = h->loop;
    d->svc = svc;
    d->index = index;
    d->fn = fn;
    d->arg = arg;
    d->dirty = true; /* the first publish goes out even when empty */
    double resync_ms = disc->check_interval * 1000;

    size_t usable = 0;
    for (size_t i = 0; i < disc->nservers; i++) {
        struct engine *e = &d->engines[d->nengines++];
        char err[256];
        e->d = d;
        e->srv = &disc->servers[i];
        e->settled = true; /* until it is known to be usable */
        char prefix[512];
        if (!(e->url = engine_url(e->srv))) continue;
        snprintf(prefix, sizeof prefix, "service %s: docker %s (%s)", svc->name, e->srv->name,
                 e->url);
        struct docker_watch_config wc = {
            .url = e->url, .log_prefix = prefix, .resync_ms = (uint64_t)resync_ms};
        if (!(e->watch = docker_watch_new(d->loop, &wc, &reports, e, err, sizeof err))) {
            log_error("service %s: docker %s: %s", svc->name, e->srv->name, err);
            continue;
        }
        e->settled = false;
        usable++;
    }
    if (!usable) {
        log_error("service %s: no usable docker server", svc->name);
        ddisc_free(d);
        return NULL;
    }
    log_info("service %s: watching %zu docker engines for image %s, container port %d", svc->name,
             usable, disc->image_name, disc->container_port);
    return d;
}

static void ddisc_free(void *impl)
{
    struct docker_discovery *d = impl;
    for (size_t i = 0; i < d->nengines; i++) {
        struct engine *e = &d->engines[i];
        if (e->watch) docker_watch_each(e->watch, container_free, NULL);
        docker_watch_free(e->watch); /* reports nothing more */
        free(e->url);
    }
    free(d->engines);
    free(d);
}

const struct discovery_impl docker_discovery_impl = {ddisc_new, ddisc_free, NULL};
