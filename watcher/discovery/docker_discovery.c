/*
 * discovery "docker": Synapse's docker method, driven by events instead of
 * polling. Every server of the service is one engine, followed read-only the
 * way the registrator follows its own: GET /version, then the events stream
 * (first, so nothing happens unseen), then a list and an inspect of every
 * running container. Events add and remove containers at once; every
 * check_interval seconds a full resync corrects whatever was missed.
 *
 * The service's backends are the union over its engines, published after
 * every change once each engine has finished (or failed) its first sync, so
 * an unreachable engine delays nothing but its own containers.
 */
#include "docker_discovery.h"

#include "discovery.h"
#include "docker_client.h"
#include "docker_event.h"
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define RESYNC_MIN_MS 100 /* check_interval may be tiny; a resync loop may not be */
#define EVENTS_PATH "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D"

struct docker_discovery;

/* What we know of one container of one engine, whether it serves or not
 * (its stop signal and healthcheck decide what its events mean). */
struct container {
    struct container *next;
    char *id;
    char short_id[13];
    uint64_t gen;     /* bumped by every event that changes what we want */
    uint64_t touched; /* resync number when an event last touched it */
    bool stopping;    /* a stop signal, die or pause was seen: nothing is added until start */
    char *stop_signal;
    bool has_healthcheck;
    bool present; /* b is one of the service's backends */
    struct backend b;
    char *warned;       /* the last unusable reason logged, so each is logged once */
    bool labels_warned; /* skipped labels are logged once */
};

struct engine {
    struct docker_discovery *d;
    const struct syn_docker_server *srv;
    char *url;
    struct docker_client *client;
    struct docker_stream *events;
    struct container *containers;
    uint64_t reconnect_timer;
    int backoff_ms;
    uint64_t resync_no; /* number of the resync in flight or last done */
    int inspects_pending;
    bool resyncing, resync_again;
    bool settled;     /* first sync completed or failed: publishing no longer waits */
    bool down_logged; /* "not reachable" logged since the last success */
};

struct docker_discovery {
    struct loop *loop;
    const struct syn_service *svc;
    size_t index;
    discovery_update_fn *fn;
    void *arg;
    struct engine *engines;
    size_t nengines;
    uint64_t resync_timer, resync_ms;
    uint64_t rng; /* xorshift state for the reconnect jitter */
    bool dirty;   /* the union changed since the last publish */
    bool closing; /* being freed: cancelled replies only free their args */
};

struct inspect_req {
    struct engine *e;
    char *id;
    uint64_t gen;
    bool from_resync;
};

static void connect_engine(void *arg);

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

static struct container *find(struct engine *e, const char *id)
{
    for (struct container *c = e->containers; c; c = c->next)
        if (strcmp(c->id, id) == 0) return c;
    return NULL;
}

static struct container *get(struct engine *e, const char *id)
{
    struct container *c = find(e, id);
    if (c) return c;
    c = calloc(1, sizeof *c);
    if (!c || !(c->id = strdup(id))) {
        free(c);
        elog(e, LL_ERROR, "container %.12s: out of memory", id);
        return NULL;
    }
    snprintf(c->short_id, sizeof c->short_id, "%.12s", id);
    c->next = e->containers;
    e->containers = c;
    return c;
}

static void container_free(struct container *c)
{
    backend_clear(&c->b);
    free(c->id);
    free(c->stop_signal);
    free(c->warned);
    free(c);
}

static void forget(struct engine *e, struct container *c)
{
    struct container **p = &e->containers;
    while (*p && *p != c)
        p = &(*p)->next;
    if (*p) *p = c->next;
    container_free(c);
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

/* Publishes the union of every engine's backends if it changed, once every
 * engine has answered or failed its first sync. */
static void publish(struct docker_discovery *d)
{
    if (d->closing || !d->dirty) return;
    for (size_t i = 0; i < d->nengines; i++)
        if (!d->engines[i].settled) return;
    struct backend_list list = {0};
    for (size_t i = 0; i < d->nengines; i++)
        for (struct container *c = d->engines[i].containers; c; c = c->next) {
            struct backend copy;
            if (!c->present) continue;
            if (backend_copy(&copy, &c->b) < 0 || backend_list_push(&list, &copy) < 0) {
                backend_clear(&copy);
                backend_list_clear(&list);
                log_error("service %s: out of memory", d->svc->name);
                return;
            }
        }
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

static void resync(struct engine *e);

/* One fewer inspect outstanding for the resync in flight. */
static void resync_release(struct engine *e)
{
    if (--e->inspects_pending > 0 || !e->resyncing) return;
    e->resyncing = false;
    e->backoff_ms = BACKOFF_MIN_MS;
    elog(e, LL_DEBUG, "resynchronisation %llu complete", (unsigned long long)e->resync_no);
    settle(e);
    if (e->resync_again) resync(e);
}

static void handle_inspect(struct inspect_req *q, long status, const char *body, size_t len,
                           const char *error)
{
    struct engine *e = q->e;
    struct container *c = find(e, q->id);
    struct docker_container dc;
    char err[256];
    if (error) {
        elog(e, LL_WARN, "inspecting container %.12s: %s", q->id, error);
        return;
    }
    if (!c || c->gen != q->gen) return; /* an event came after it was asked: stale */
    if (status == 404) {
        container_unset(e, c, "container is gone");
        forget(e, c);
        return;
    }
    if (status != 200 || docker_container_decode(body, len, &dc, err, sizeof err) < 0) {
        if (status != 200) snprintf(err, sizeof err, "status %ld", status);
        elog(e, LL_ERROR, "inspecting container %.12s: unexpected reply: %s", q->id, err);
        return;
    }
    free(c->stop_signal);
    c->stop_signal = dc.stop_signal ? strdup(dc.stop_signal) : NULL;
    c->has_healthcheck = dc.has_healthcheck;
    if (c->stopping && dc.running && !dc.paused && q->from_resync) {
        /* still shutting down after its stop signal: stays out until it starts again */
    } else {
        c->stopping = false;
        evaluate(e, c, &dc);
    }
    docker_container_clear(&dc);
}

static void on_inspect(void *arg, long status, const char *body, size_t len, const char *error)
{
    struct inspect_req *q = arg;
    struct engine *e = q->e;
    bool live = error != DOCKER_CANCELLED && !e->d->closing;
    if (live) handle_inspect(q, status, body, len, error);
    bool from_resync = q->from_resync;
    free(q->id);
    free(q);
    if (!live) return;
    if (from_resync)
        resync_release(e);
    else
        publish(e->d);
}

static void inspect(struct engine *e, struct container *c, bool from_resync)
{
    struct inspect_req *q = calloc(1, sizeof *q);
    char path[160];
    if (!q || !(q->id = strdup(c->id))) {
        free(q);
        elog(e, LL_ERROR, "inspecting container %s: out of memory", c->short_id);
        return;
    }
    q->e = e;
    q->gen = c->gen;
    q->from_resync = from_resync;
    snprintf(path, sizeof path, "/containers/%s/json", c->id);
    if (from_resync) e->inspects_pending++;
    if (docker_client_get(e->client, path, on_inspect, q) < 0) {
        elog(e, LL_ERROR, "inspecting container %s: cannot start the request", c->short_id);
        free(q->id);
        free(q);
        if (from_resync) resync_release(e);
    }
}

static void on_event(void *arg, const char *line, size_t len)
{
    struct engine *e = arg;
    struct docker_event ev;
    char err[256];
    e->backoff_ms = BACKOFF_MIN_MS;
    if (docker_event_decode(line, len, &ev, err, sizeof err) < 0) {
        elog(e, LL_WARN, "event skipped: %s", err);
        return;
    }
    struct container *c = ev.id ? find(e, ev.id) : NULL;
    enum docker_effect effect =
        docker_event_effect(&ev, c ? c->stop_signal : NULL, c ? c->has_healthcheck : false);
    if (effect != DOCKER_EFFECT_NONE)
        elog(e, LL_DEBUG, "event %.64s container %.12s", ev.action, ev.id);
    if (effect == DOCKER_EFFECT_REGISTER && (c = get(e, ev.id))) {
        c->gen++;
        c->touched = e->resync_no;
        c->stopping = false;
        inspect(e, c, false); /* added when the inspect says it qualifies */
    } else if (effect == DOCKER_EFFECT_DEREGISTER && (c = get(e, ev.id))) {
        char why[96];
        if (ev.signal)
            snprintf(why, sizeof why, "%.40s signal %.16s", ev.action, ev.signal);
        else
            snprintf(why, sizeof why, "%.64s", ev.action);
        /* A kill with the stop signal comes before the process dies: drain now. */
        c->gen++;
        c->touched = e->resync_no;
        c->stopping = true;
        container_unset(e, c, why);
        if (strcmp(ev.action, "destroy") == 0) forget(e, c);
        publish(e->d);
    }
    docker_event_clear(&ev);
}

static void schedule_reconnect(struct engine *e)
{
    struct docker_discovery *d = e->d;
    if (e->reconnect_timer || d->closing) return;
    /* Exponential backoff with +-25% jitter, so watchers don't stampede a restarted engine. */
    d->rng ^= d->rng << 13;
    d->rng ^= d->rng >> 7;
    d->rng ^= d->rng << 17;
    int jitter = e->backoff_ms / 4;
    int delay = e->backoff_ms - jitter + (int)(d->rng % (uint64_t)(2 * jitter + 1));
    e->reconnect_timer = loop_timer(d->loop, (uint64_t)delay, connect_engine, e);
    e->backoff_ms = e->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : e->backoff_ms * 2;
}

static size_t count_present(const struct engine *e)
{
    size_t n = 0;
    for (const struct container *c = e->containers; c; c = c->next)
        n += c->present;
    return n;
}

static void on_events_end(void *arg, const char *error)
{
    struct engine *e = arg;
    e->events = NULL;
    /* The engine's containers most likely still serve (an engine restart or
     * a network blip does not stop them), and HAProxy's health checks take
     * out the ones that do not: keep them until the resync after the
     * reconnect says otherwise, rather than emptying the backend. */
    elog(e, LL_WARN, "events stream ended (%s); keeping its %zu backends and reconnecting", error,
         count_present(e));
    schedule_reconnect(e);
    settle(e); /* failing before its first sync ends that sync */
}

static void on_list(void *arg, long status, const char *body, size_t len, const char *error)
{
    struct engine *e = arg;
    char **ids = NULL;
    size_t n = 0;
    char err[256];
    if (error == DOCKER_CANCELLED || e->d->closing) return;
    if (error || status != 200 || docker_list_ids(body, len, &ids, &n, err, sizeof err) < 0) {
        if (error)
            snprintf(err, sizeof err, "%s", error);
        else if (status != 200)
            snprintf(err, sizeof err, "status %ld", status);
        elog(e, LL_WARN, "listing containers failed: %s", err);
        e->resyncing = false;
        settle(e);
        if (e->resync_again) resync(e);
        return;
    }
    /* Known but no longer running, and no event about it since this resync began. */
    for (struct container *c = e->containers, *next; c; c = next) {
        next = c->next;
        bool running = false;
        for (size_t i = 0; i < n && !running; i++)
            running = strcmp(ids[i], c->id) == 0;
        if (!running && c->touched < e->resync_no) {
            container_unset(e, c, "not running at resynchronisation");
            forget(e, c);
        }
    }
    e->inspects_pending++; /* held while the inspects below start */
    for (size_t i = 0; i < n; i++) {
        struct container *c = get(e, ids[i]);
        if (c) inspect(e, c, true);
    }
    docker_ids_free(ids, n);
    resync_release(e);
}

/* A full resync: list, inspect every running container, drop the vanished.
 * Asked for while one is in flight, it runs again when that one ends. */
static void resync(struct engine *e)
{
    if (e->resyncing) {
        e->resync_again = true;
        return;
    }
    e->resyncing = true;
    e->resync_again = false;
    e->resync_no++;
    elog(e, LL_DEBUG, "resynchronising");
    if (docker_client_get(e->client, "/containers/json", on_list, e) < 0) {
        elog(e, LL_ERROR, "listing containers: cannot start the request");
        e->resyncing = false;
        settle(e);
    }
}

static void on_resync_timer(void *arg)
{
    struct docker_discovery *d = arg;
    d->resync_timer = loop_timer(d->loop, d->resync_ms, on_resync_timer, d);
    for (size_t i = 0; i < d->nengines; i++) {
        struct engine *e = &d->engines[i];
        if (e->events && !e->resyncing) resync(e); /* a slow engine is not asked twice */
    }
}

static void on_events_open(void *arg)
{
    resync(arg);
}

static void on_version(void *arg, long status, const char *body, size_t len, const char *error)
{
    struct engine *e = arg;
    if (error == DOCKER_CANCELLED || e->d->closing) return;
    if (error || status != 200) {
        char why[256];
        if (error)
            snprintf(why, sizeof why, "%s", error);
        else
            snprintf(why, sizeof why, "status %ld", status);
        elog(e, e->down_logged ? LL_DEBUG : LL_WARN, "not reachable (%s); retrying in about %d ms",
             why, e->backoff_ms);
        e->down_logged = true;
        schedule_reconnect(e);
        settle(e);
        return;
    }
    e->down_logged = false;
    char api[16];
    docker_version_api(body, len, api, sizeof api);
    elog(e, LL_INFO, "connected (API %s)", api);
    /* Events first, and the listing once the engine has subscribed us, so
     * nothing can happen unseen in between. */
    e->events =
        docker_client_stream(e->client, EVENTS_PATH, on_events_open, on_event, on_events_end, e);
    if (!e->events) {
        elog(e, LL_ERROR, "cannot open the events stream; reconnecting");
        schedule_reconnect(e);
        settle(e);
    }
}

static void connect_engine(void *arg)
{
    struct engine *e = arg;
    e->reconnect_timer = 0;
    if (docker_client_get(e->client, "/version", on_version, e) < 0) {
        elog(e, LL_ERROR, "cannot start a request; retrying");
        schedule_reconnect(e);
        settle(e);
    }
}

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
    d->rng = (loop_now_ms() << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)d;
    if (!d->rng) d->rng = 1;
    double ms = disc->check_interval * 1000;
    d->resync_ms = ms < RESYNC_MIN_MS ? RESYNC_MIN_MS : (uint64_t)ms;

    size_t usable = 0;
    for (size_t i = 0; i < disc->nservers; i++) {
        struct engine *e = &d->engines[d->nengines++];
        char err[256];
        e->d = d;
        e->srv = &disc->servers[i];
        e->backoff_ms = BACKOFF_MIN_MS;
        e->settled = true; /* until it is known to be usable */
        if (!(e->url = engine_url(e->srv))) continue;
        if (!(e->client = docker_client_new(d->loop, e->url, err, sizeof err))) {
            log_error("service %s: docker %s: %s", svc->name, e->srv->name, err);
            continue;
        }
        /* Connect from the loop, so nothing is published before discovery_new returns. */
        if (!(e->reconnect_timer = loop_timer(d->loop, 0, connect_engine, e))) {
            log_error("service %s: docker %s: out of memory", svc->name, e->srv->name);
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
    d->resync_timer = loop_timer(d->loop, d->resync_ms, on_resync_timer, d);
    log_info("service %s: watching %zu docker engines for image %s, container port %d", svc->name,
             usable, disc->image_name, disc->container_port);
    return d;
}

static void ddisc_free(void *impl)
{
    struct docker_discovery *d = impl;
    d->closing = true;
    if (d->resync_timer) loop_timer_cancel(d->loop, d->resync_timer);
    for (size_t i = 0; i < d->nengines; i++) {
        struct engine *e = &d->engines[i];
        if (e->reconnect_timer) loop_timer_cancel(d->loop, e->reconnect_timer);
        docker_client_free(e->client); /* ends the stream; inspects free their args */
        while (e->containers) {
            struct container *c = e->containers;
            e->containers = c->next;
            container_free(c);
        }
        free(e->url);
    }
    free(d->engines);
    free(d);
}

const struct discovery_impl docker_discovery_impl = {ddisc_new, ddisc_free};
