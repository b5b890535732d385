#include "registrator.h"

#include "docker_client.h"
#include "docker_event.h"
#include "docker_model.h"
#include "log.h"
#include "match.h"
#include "registry.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define EVENTS_PATH "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D"

/* What we know of one container. */
struct container_state {
    struct container_state *next;
    char *id;
    char short_id[13];
    uint64_t gen;       /* bumped by every event that changes what we want */
    uint64_t touched;   /* resync number when an event last touched it */
    bool stopping;      /* its stop signal was seen and it may still run: register nothing */
    uint64_t stopping_since;
    char *stop_signal;  /* from the last inspect */
    bool has_healthcheck;
    char *problems;     /* last problems logged, so each is logged once */
    struct registration_list regs;
};

/* A container whose stop signal it ignores, withdrawn and now being drained:
 * after drain_ms the registrator sends it SIGTERM itself. */
struct drain {
    struct drain *next;
    struct registrator *r;
    char *id;
    uint64_t timer;
};

struct registrator {
    struct loop *loop;
    const struct reg_config *cfg;
    struct registrator_opts opts;
    struct docker_client *docker;
    struct registry *registry;
    struct docker_stream *events;
    struct container_state *containers;
    struct drain *drains;
    uint64_t reconnect_timer, resync_timer, settle_timer;
    int backoff_ms;
    uint64_t resync_no;  /* number of the resync in flight or last done */
    int inspects_pending;
    bool resyncing, first_sync_done;
    bool resync_again; /* asked for while one was in flight */
    bool closing;
    int status;
};

struct inspect_req {
    struct registrator *r;
    char *id;
    uint64_t gen;
    bool from_resync;
};

static void connect_engine(void *arg);
static void resync(struct registrator *r);

static struct container_state *find(struct registrator *r, const char *id)
{
    for (struct container_state *c = r->containers; c; c = c->next)
        if (strcmp(c->id, id) == 0) return c;
    return NULL;
}

static struct container_state *get(struct registrator *r, const char *id)
{
    struct container_state *c = find(r, id);
    if (c) return c;
    c = calloc(1, sizeof *c);
    if (!c || !(c->id = strdup(id))) {
        free(c);
        return NULL;
    }
    snprintf(c->short_id, sizeof c->short_id, "%.12s", id);
    c->next = r->containers;
    r->containers = c;
    return c;
}

static void container_free(struct container_state *c)
{
    registration_list_clear(&c->regs);
    free(c->id);
    free(c->stop_signal);
    free(c->problems);
    free(c);
}

static void forget(struct registrator *r, struct container_state *c)
{
    struct container_state **p = &r->containers;
    while (*p && *p != c) p = &(*p)->next;
    if (*p) *p = c->next;
    container_free(c);
}

static void withdraw_all(struct registrator *r, struct container_state *c, const char *why)
{
    for (size_t i = 0; i < c->regs.n; i++) {
        struct registration *g = &c->regs.v[i];
        log_info("deregistering %s %s:%d container=%s (%s)", g->service, g->backend.host,
                 g->backend.port, c->short_id, why);
        if (r->registry) registry_remove(r->registry, g->service, g->instance);
    }
    registration_list_clear(&c->regs);
}

static bool has_registration(const struct registration_list *l, const struct registration *g)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].service, g->service) == 0 && strcmp(l->v[i].instance, g->instance) == 0)
            return true;
    return false;
}

static void print_dry_run(struct registrator *r, const struct registration *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *payload = backend_to_json(&g->backend, true);
    char *line = NULL;
    if (o && payload) {
        cJSON_AddStringToObject(o, "service", g->service);
        cJSON_AddStringToObject(o, "instance", g->instance);
        cJSON_AddItemToObject(o, "payload", payload);
        payload = NULL;
        line = cJSON_PrintUnformatted(o);
    }
    if (line) {
        fprintf(r->opts.dry_run, "%s\n", line);
        fflush(r->opts.dry_run);
    }
    free(line);
    cJSON_Delete(payload);
    cJSON_Delete(o);
}

/* Replaces c's registrations by want (moved in). */
static void apply(struct registrator *r, struct container_state *c, struct registration_list *want)
{
    for (size_t i = 0; i < c->regs.n; i++)
        if (!has_registration(want, &c->regs.v[i]) && r->registry) {
            log_info("deregistering %s container=%s (no longer matches)", c->regs.v[i].service,
                     c->short_id);
            registry_remove(r->registry, c->regs.v[i].service, c->regs.v[i].instance);
        }
    for (size_t i = 0; i < want->n; i++) {
        if (r->opts.dry_run)
            print_dry_run(r, &want->v[i]);
        else if (registry_put(r->registry, &want->v[i]) == -1)
            log_error("registering %s container=%s: out of memory", want->v[i].service,
                      c->short_id);
    }
    registration_list_clear(&c->regs);
    c->regs = *want;
    memset(want, 0, sizeof *want);
}

static void log_problems(struct container_state *c, char **problems)
{
    size_t len = 1;
    for (char **p = problems; p && *p; p++) len += strlen(*p) + 1;
    char *joined = calloc(1, len);
    if (!joined) return;
    for (char **p = problems; p && *p; p++) {
        strcat(joined, *p);
        strcat(joined, "\n");
    }
    if (!c->problems || strcmp(c->problems, joined) != 0)
        for (char **p = problems; p && *p; p++) log_warn("%s", *p);
    free(c->problems);
    c->problems = joined;
}

static void maybe_finish_once(struct registrator *r);

/* One fewer inspect outstanding for the resync in flight. */
static void resync_release(struct registrator *r)
{
    if (--r->inspects_pending == 0 && r->resyncing) {
        r->resyncing = false;
        r->first_sync_done = true;
        log_debug("resynchronisation %llu complete", (unsigned long long)r->resync_no);
        maybe_finish_once(r);
        if (r->resync_again && !r->closing) {
            r->resync_again = false;
            resync(r);
        }
    }
}

static void inspect_done(struct inspect_req *q)
{
    if (q->from_resync) resync_release(q->r);
    free(q->id);
    free(q);
}

static void on_inspect(void *arg, long status, const char *body, size_t len, const char *error)
{
    struct inspect_req *q = arg;
    struct registrator *r = q->r;
    struct container_state *c = find(r, q->id);
    if (error || !c || c->gen != q->gen) {
        if (error && error != DOCKER_CANCELLED) log_warn("inspecting container %.12s: %s", q->id, error);
        inspect_done(q);
        return;
    }
    if (status == 404) {
        withdraw_all(r, c, "container is gone");
        forget(r, c);
        inspect_done(q);
        return;
    }
    struct docker_container dc;
    char err[256];
    if (status != 200 || docker_container_decode(body, len, &dc, err, sizeof err) < 0) {
        if (status != 200) snprintf(err, sizeof err, "status %ld", status);
        log_error("inspecting container %.12s: unexpected reply: %s", q->id, err);
        inspect_done(q);
        return;
    }
    free(c->stop_signal);
    c->stop_signal = dc.stop_signal ? strdup(dc.stop_signal) : NULL;
    c->has_healthcheck = dc.has_healthcheck;
    /* A resync that finds it still running after its stop signal is seeing
     * it shut down, unless that was long ago (an app that ignored a manual
     * `docker kill -s TERM` is serving again). */
    bool shutting_down = c->stopping && q->from_resync &&
                         loop_now_ms() - c->stopping_since < (uint64_t)r->cfg->resync_interval_s * 1000;
    if (!shutting_down) {
        struct registration_list want = {0};
        struct strlist problems = {0};
        c->stopping = false;
        if (match_container(r->cfg, &dc, &want, &problems) == 0) {
            log_problems(c, problems.v);
            apply(r, c, &want);
        }
        registration_list_clear(&want);
        strlist_clear(&problems);
    }
    docker_container_clear(&dc);
    inspect_done(q);
}

static void inspect(struct registrator *r, struct container_state *c, bool from_resync)
{
    struct inspect_req *q = calloc(1, sizeof *q);
    char path[128];
    if (!q || !(q->id = strdup(c->id))) {
        free(q);
        return;
    }
    q->r = r;
    q->gen = c->gen;
    q->from_resync = from_resync;
    snprintf(path, sizeof path, "/containers/%s/json", c->id);
    if (from_resync) r->inspects_pending++;
    if (docker_client_get(r->docker, path, on_inspect, q) < 0) {
        log_error("inspecting container %s: cannot start the request", c->short_id);
        inspect_done(q);
    }
}

static void drain_free(struct registrator *r, struct drain *d)
{
    struct drain **p = &r->drains;
    while (*p && *p != d) p = &(*p)->next;
    if (*p) *p = d->next;
    if (d->timer) loop_timer_cancel(r->loop, d->timer);
    free(d->id);
    free(d);
}

static void on_drain_kill(void *arg, long status, const char *body, size_t len, const char *error)
{
    char *id = arg;
    (void)len;
    if (error && error != DOCKER_CANCELLED)
        log_error("drain over, but SIGTERM to container %.12s failed: %s", id, error);
    else if (!error && status != 204)
        log_warn("drain over, but SIGTERM to container %.12s: status %ld: %.200s", id, status,
                 body);
    else if (!error)
        log_info("drain over: sent SIGTERM to container %.12s", id);
    free(id);
}

static void drain_done(void *arg)
{
    struct drain *d = arg;
    struct registrator *r = d->r;
    char path[160];
    d->timer = 0;
    snprintf(path, sizeof path, "/containers/%s/kill?signal=SIGTERM", d->id);
    char *id = strdup(d->id);
    if (id && docker_client_post(r->docker, path, on_drain_kill, id) < 0) {
        log_error("drain over, but SIGTERM to container %.12s could not be sent", d->id);
        free(id);
    }
    drain_free(r, d);
}

/*
 * drain_ms only makes sense for a container whose stop signal the app
 * ignores (docker run --stop-signal SIGWINCH): docker stop then only tells
 * us, we withdraw the instance at once, and SIGTERM follows drain_ms later
 * while HAProxy already sends it nothing new. docker stop -t still bounds it.
 */
static void start_drain(struct registrator *r, struct container_state *c, const struct docker_event *ev)
{
    int drain_ms = 0;
    for (size_t i = 0; i < c->regs.n; i++)
        if (c->regs.v[i].drain_ms > drain_ms) drain_ms = c->regs.v[i].drain_ms;
    if (drain_ms == 0 || !ev->action || strcmp(ev->action, "kill") != 0) return;
    int sig = docker_signal_number(ev->signal ? ev->signal : "");
    if (sig == SIGKILL || sig == SIGTERM) {
        log_warn("container %s: drain_ms %d ignored: its stop signal is %s, which the app "
                 "already got (use docker run --stop-signal SIGWINCH)",
                 c->short_id, drain_ms, sig == SIGKILL ? "SIGKILL" : "SIGTERM");
        return;
    }
    struct drain *d = calloc(1, sizeof *d);
    if (!d || !(d->id = strdup(c->id))) {
        free(d);
        return;
    }
    d->r = r;
    d->timer = loop_timer(r->loop, (uint64_t)drain_ms, drain_done, d);
    d->next = r->drains;
    r->drains = d;
    log_info("draining container %s for %d ms before sending it SIGTERM", c->short_id, drain_ms);
}

static void on_event(void *arg, const char *line, size_t len)
{
    struct registrator *r = arg;
    struct docker_event ev;
    char err[256];
    r->backoff_ms = BACKOFF_MIN_MS;
    if (docker_event_decode(line, len, &ev, err, sizeof err) < 0) {
        log_warn("docker event skipped: %s", err);
        return;
    }
    if (!ev.id || (ev.type && strcmp(ev.type, "container") != 0)) {
        docker_event_clear(&ev);
        return;
    }
    struct container_state *c = find(r, ev.id);
    enum docker_effect effect = docker_event_effect(&ev, c ? c->stop_signal : NULL,
                                                    c ? c->has_healthcheck : false);
    log_debug("docker event %s container=%.12s", ev.action ? ev.action : "?", ev.id);
    if (effect == DOCKER_EFFECT_REGISTER && (c = get(r, ev.id))) {
        c->gen++;
        c->touched = r->resync_no;
        c->stopping = false;
        inspect(r, c, false);
    } else if (effect == DOCKER_EFFECT_DEREGISTER && (c = get(r, ev.id))) {
        char why[96];
        if (ev.signal)
            snprintf(why, sizeof why, "%s signal %s", ev.action, ev.signal);
        else
            snprintf(why, sizeof why, "%s", ev.action ? ev.action : "event");
        c->gen++;
        c->touched = r->resync_no;
        /* Only a kill leaves a process that may still run; after die or stop
         * a resync that finds it running has seen it start again. */
        c->stopping = ev.action && strcmp(ev.action, "kill") == 0;
        c->stopping_since = loop_now_ms();
        start_drain(r, c, &ev);
        withdraw_all(r, c, why);
        if (ev.action && strcmp(ev.action, "destroy") == 0) forget(r, c);
    }
    docker_event_clear(&ev);
}

static void schedule_reconnect(struct registrator *r)
{
    if (r->reconnect_timer) return;
    /* Exponential backoff with +-25% jitter, so hosts don't stampede a restarted engine. */
    int jitter = r->backoff_ms / 4;
    int delay = r->backoff_ms - jitter + (jitter > 0 ? rand() % (2 * jitter + 1) : 0);
    r->reconnect_timer = loop_timer(r->loop, (uint64_t)delay, connect_engine, r);
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

static void on_events_end(void *arg, const char *error)
{
    struct registrator *r = arg;
    r->events = NULL;
    log_warn("docker %s: events stream ended (%s); reconnecting",
             docker_client_url(r->docker), error);
    schedule_reconnect(r);
}

static void on_list(void *arg, long status, const char *body, size_t len, const char *error)
{
    struct registrator *r = arg;
    if (error == DOCKER_CANCELLED) return;
    char **ids = NULL;
    size_t n = 0;
    char err[256];
    if (error || status != 200 || docker_list_ids(body, len, &ids, &n, err, sizeof err) < 0) {
        if (error)
            snprintf(err, sizeof err, "%s", error);
        else if (status != 200)
            snprintf(err, sizeof err, "status %ld", status);
        log_error("docker %s: listing containers failed: %s", docker_client_url(r->docker), err);
        r->resyncing = false;
        return;
    }
    /* Registered but no longer running, and no event since this resync began. */
    for (struct container_state *c = r->containers, *next; c; c = next) {
        next = c->next;
        bool running = false;
        for (size_t i = 0; i < n && !running; i++) running = strcmp(ids[i], c->id) == 0;
        if (!running && c->touched < r->resync_no) {
            withdraw_all(r, c, "not running at resynchronisation");
            forget(r, c);
        }
    }
    r->inspects_pending++; /* held while the inspects below start */
    for (size_t i = 0; i < n; i++) {
        struct container_state *c = get(r, ids[i]);
        if (c) inspect(r, c, true);
    }
    docker_ids_free(ids, n);
    resync_release(r);
}

static void resync(struct registrator *r)
{
    if (r->resyncing) {
        r->resync_again = true; /* what changed meanwhile may predate its listing */
        return;
    }
    r->resyncing = true;
    r->resync_no++;
    log_debug("resynchronising with docker %s", docker_client_url(r->docker));
    if (docker_client_get(r->docker, "/containers/json", on_list, r) < 0) r->resyncing = false;
}

static void on_resync_timer(void *arg)
{
    struct registrator *r = arg;
    r->resync_timer = loop_timer(r->loop, (uint64_t)r->cfg->resync_interval_s * 1000,
                                 on_resync_timer, r);
    if (r->events) resync(r);
}

static void on_events_open(void *arg)
{
    resync(arg);
}

static void on_version(void *arg, long status, const char *body, size_t len, const char *error)
{
    struct registrator *r = arg;
    if (error == DOCKER_CANCELLED) return;
    if (error || status != 200) {
        log_warn("docker %s: not reachable (%s); retrying in about %d ms",
                 docker_client_url(r->docker), error ? error : "unexpected status",
                 r->backoff_ms);
        if (r->opts.once) {
            r->status = 1;
            loop_stop(r->loop);
            return;
        }
        schedule_reconnect(r);
        return;
    }
    char api[16];
    docker_version_api(body, len, api, sizeof api);
    log_info("docker %s: connected (API %s)", docker_client_url(r->docker), api);
    /* Events first, and the listing once the engine has subscribed us, so
     * nothing can happen unseen in between. */
    if (r->opts.once) {
        resync(r);
        return;
    }
    r->events = docker_client_stream(r->docker, EVENTS_PATH, on_events_open, on_event,
                                     on_events_end, r);
    if (!r->events) schedule_reconnect(r);
}

static void connect_engine(void *arg)
{
    struct registrator *r = arg;
    r->reconnect_timer = 0;
    if (docker_client_get(r->docker, "/version", on_version, r) < 0) schedule_reconnect(r);
}

static void settle_check(void *arg)
{
    struct registrator *r = arg;
    r->settle_timer = 0;
    maybe_finish_once(r);
}

static void maybe_finish_once(struct registrator *r)
{
    if (r->closing || !r->opts.once || !r->first_sync_done) return;
    if (r->registry && !registry_settled(r->registry)) {
        if (!r->settle_timer) r->settle_timer = loop_timer(r->loop, 50, settle_check, r);
        return;
    }
    loop_stop(r->loop);
}

static void on_registry_lost(void *arg)
{
    struct registrator *r = arg;
    /* The registry re-registers what it knows; a resync heals what changed meanwhile. */
    if (r->events) resync(r);
}

struct registrator *registrator_new(struct loop *l, const struct reg_config *cfg,
                                    const struct registrator_opts *opts)
{
    struct registrator *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->loop = l;
    r->cfg = cfg;
    r->opts = *opts;
    r->backoff_ms = BACKOFF_MIN_MS;
    char err[256];
    r->docker = docker_client_new(l, docker_default_url(cfg->docker_host), err, sizeof err);
    if (!r->docker) {
        log_error("%s", err);
        free(r);
        return NULL;
    }
    if (!opts->dry_run) {
        r->registry = registry_new(l, cfg, on_registry_lost, r);
        if (!r->registry) {
            log_error("cannot create the registry client");
            docker_client_free(r->docker);
            free(r);
            return NULL;
        }
    }
    r->resync_timer =
        loop_timer(l, (uint64_t)cfg->resync_interval_s * 1000, on_resync_timer, r);
    connect_engine(r);
    return r;
}

int registrator_status(const struct registrator *r)
{
    return r->status == 0 && r->first_sync_done ? 0 : 1;
}

void registrator_free(struct registrator *r)
{
    if (!r) return;
    if (r->reconnect_timer) loop_timer_cancel(r->loop, r->reconnect_timer);
    if (r->resync_timer) loop_timer_cancel(r->loop, r->resync_timer);
    if (r->settle_timer) loop_timer_cancel(r->loop, r->settle_timer);
    r->closing = true;
    while (r->drains) drain_free(r, r->drains);
    /* The Docker client first: its cancelled replies still look at the registry. */
    docker_client_free(r->docker);
    registry_free(r->registry);
    while (r->containers) {
        struct container_state *c = r->containers;
        r->containers = c->next;
        container_free(c);
    }
    free(r);
}
