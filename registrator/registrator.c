/*
 * The registrator: a docker_watch follows the engine and says what each
 * container is now; this file turns containers into registrations (match.h)
 * and keeps the registry equal to them, and drains the ones that ask for it.
 *
 * A registration with health checks (its config service's "checks", or the
 * container's smartdock.check.* labels) is gated: it is in the registry
 * only while its checks say up (health.h). Docker's own HEALTHCHECK still
 * decides first: match_container offers nothing for an unhealthy container.
 */
#include "registrator.h"

#include "check_config.h"
#include "docker_watch.h"
#include "health.h"
#include "metrics.h"
#include "log.h"
#include "match.h"
#include "registry.h"
#include "reload_status.h"
#include "service_check.h"
#include "service_meta.h"
#include "startup_retry.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A burst of container changes (inspects in flight, registrations written)
 * leaves free holes in the heap that glibc keeps; they are given back to the
 * system this long after a change, as the watcher does. */
#define TRIM_MS 1000

struct container_state;

/* The checks of one registration of a container; registered while up. */
struct gate {
    struct registrator *r;
    struct container_state *c;
    char *service, *instance;
    struct health *health;
    bool up;
};

/* What we registered for one container: its docker_watch data. */
struct container_state {
    char short_id[13];
    char *problems; /* last problems logged, so each is logged once */
    struct registration_list regs;
    /* During a reload: the registrations before it (NULL v: none). */
    struct registration_list before_reload;
    bool in_reload;
    struct gate **gates; /* parallel to regs.v; NULL for a registration without checks */
    bool has_healthcheck;
    char health[16];      /* State.Health.Status last seen, or "" */
    bool drained_by_hand; /* `smartdock-registrator drain`: stays withdrawn until it stops */
    /* -deregister on-success: the failed exit code it died with while its
     * registrations were kept; 0 while it runs. */
    int kept_exit_code;
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
    struct docker_watch *docker;
    struct registry *registry;
    struct drain *drains;
    uint64_t settle_timer;
    uint64_t trim_timer;        /* heap handed back TRIM_MS after containers changed */
    struct startup_retry retry; /* -retry-attempts at start-up */
    uint64_t retry_timer;
    bool gave_up; /* the registry never came: exit 1 */
    bool first_sync_done;
    bool ready_reported; /* opts.on_ready was called */
    bool closing;
    int status;
    /* A reload (SIGHUP) in progress: its resync reports in_sync at the end. */
    bool reloading;
    struct registration_counts reload_extra; /* Nerve services' part of it */
    struct reload_status reload;             /* the last SIGHUP, for status */
    bool docker_connected;                   /* in sync with the engine, not lost since */
    bool docker_lost; /* lost since the last sync: the next one is a reconnect */
    /* metrics (NULL families when opts.metrics is NULL) */
    struct metric *m_registrations, *m_registry_connected, *m_docker_connected, *m_reconnects,
        *m_checks;
};

static struct container_state *container_new(const char *id)
{
    struct container_state *c = calloc(1, sizeof *c);
    if (c)
        snprintf(c->short_id, sizeof c->short_id, "%.12s", id);
    else
        log_error("container %.12s: out of memory", id);
    return c;
}

static void gate_free(struct gate *g)
{
    if (!g) return;
    health_free(g->health);
    free(g->service);
    free(g->instance);
    free(g);
}

static void gates_free(struct container_state *c)
{
    for (size_t i = 0; c->gates && i < c->regs.n; i++)
        gate_free(c->gates[i]);
    free(c->gates);
    c->gates = NULL;
}

/* Whether c's i-th registration is (to be) in the registry. */
static bool offered(const struct container_state *c, size_t i)
{
    return !c->gates || !c->gates[i] || c->gates[i]->up;
}

static void container_free(void *arg, void *data)
{
    struct container_state *c = data;
    (void)arg;
    gates_free(c);
    registration_list_clear(&c->regs);
    registration_list_clear(&c->before_reload);
    free(c->problems);
    free(c);
}

static void withdraw_all(struct registrator *r, struct container_state *c, const char *why)
{
    for (size_t i = 0; i < c->regs.n; i++) {
        struct registration *g = &c->regs.v[i];
        if (!offered(c, i)) continue;
        log_info("deregistering %s %s:%d container=%s (%s)", g->service, g->backend.host,
                 g->backend.port, c->short_id, why);
        if (r->registry) registry_remove(r->registry, g->service, g->instance);
    }
    gates_free(c);
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

static void maybe_finish_once(struct registrator *r);

static void offer(struct registrator *r, struct container_state *c, const struct registration *g)
{
    if (r->opts.dry_run)
        print_dry_run(r, g);
    else if (registry_put(r->registry, g) == -1)
        log_error("registering %s container=%s: out of memory", g->service, c->short_id);
}

static void on_gate(void *arg, bool up)
{
    struct gate *gate = arg;
    struct container_state *c = gate->c;
    gate->up = up;
    for (size_t i = 0; i < c->regs.n; i++) {
        struct registration *g = &c->regs.v[i];
        if (c->gates[i] != gate) continue;
        if (up)
            offer(gate->r, c, g);
        else if (gate->r->registry)
            registry_remove(gate->r->registry, g->service, g->instance);
    }
    maybe_finish_once(gate->r);
}

/* Its one check in out (which takes spec). */
static int one_check(struct check_list *out, struct check_spec *spec)
{
    if (!(out->v = calloc(1, sizeof *out->v))) {
        check_spec_clear(spec);
        return -1;
    }
    out->v[0] = *spec;
    out->n = 1;
    return 0;
}

/* gliderlabs/registrator's SERVICE_CHECK_* for g's port. */
static int checks_from_service_meta(const struct docker_container *dc, const struct registration *g,
                                    struct check_list *out, int *interval_ms,
                                    struct strlist *problems)
{
    struct service_meta meta;
    struct check_spec spec;
    char err[256], *unmapped = NULL;
    if (!g->private_port) return 0;
    if (service_meta_read(dc, g->private_port, &meta) < 0) return -1;
    int rc = service_check_from_meta(&meta, g->private_port, &spec, interval_ms, &unmapped, err,
                                     sizeof err);
    service_meta_clear(&meta);
    if (unmapped)
        strlist_pushf(problems,
                      "container %.12s: service %s: %s not mapped onto a health check "
                      "(smartdock runs SERVICE_CHECK_HTTP, _HTTPS and _TCP); kept as payload "
                      "labels",
                      dc->id, g->service, unmapped);
    free(unmapped);
    if (rc < 0)
        strlist_pushf(problems, "container %.12s: service %s: %s; registered without that check",
                      dc->id, g->service, err);
    return rc > 0 ? one_check(out, &spec) : 0;
}

/* One result of a check of ours, counted beside Docker's health results. */
static void on_gate_result(void *arg, bool pass)
{
    struct gate *gate = arg;
    metric_add(gate->r->m_checks, 1, gate->service, pass ? "healthy" : "unhealthy");
}

/* The checks for registration g of container dc: its smartdock.check.*
 * labels, else its config service's checks, else registrator's
 * SERVICE_CHECK_* for its port. 0 with none. */
static int checks_for(const struct registrator *r, const struct docker_container *dc,
                      const struct registration *g, struct check_list *out, int *interval_ms,
                      struct strlist *problems)
{
    char err[256];
    struct check_spec spec;
    *interval_ms = CHECK_INTERVAL_DEFAULT_MS;
    int rc = check_from_labels(dc->labels, dc->nlabels, &spec, interval_ms, err, sizeof err);
    if (rc < 0)
        strlist_pushf(problems, "container %.12s: %s; registered without that check", dc->id, err);
    else if (rc > 0)
        return one_check(out, &spec);
    for (size_t i = 0; i < r->cfg->nservices; i++) {
        const struct reg_service *s = &r->cfg->services[i];
        if (strcmp(s->name, g->service) != 0 || !s->checks.n) continue;
        *interval_ms = s->check_interval_ms;
        return check_list_copy(out, &s->checks);
    }
    return checks_from_service_meta(dc, g, out, interval_ms, problems);
}

/* The gate for g: c's existing one for the same instance (its window goes
 * on), or a new one whose first round starts now. NULL without checks. */
static struct gate *gate_for(struct registrator *r, struct container_state *c,
                             const struct docker_container *dc, const struct registration *g,
                             struct strlist *problems)
{
    for (size_t i = 0; c->gates && i < c->regs.n; i++) {
        struct gate *old = c->gates[i];
        if (old && !strcmp(old->service, g->service) && !strcmp(old->instance, g->instance)) {
            c->gates[i] = NULL;
            return old;
        }
    }
    struct check_list checks = {0};
    int interval_ms;
    if (r->opts.dry_run || checks_for(r, dc, g, &checks, &interval_ms, problems) < 0 || !checks.n) {
        check_list_clear(&checks);
        return NULL;
    }
    struct gate *gate = calloc(1, sizeof *gate);
    char what[512];
    snprintf(what, sizeof what, "%s %s:%d container=%s", g->service, g->backend.host,
             g->backend.port, c->short_id);
    if (gate) {
        gate->r = r;
        gate->c = c;
        gate->service = strdup(g->service);
        gate->instance = strdup(g->instance);
        gate->health = health_new(r->loop, &checks, g->backend.host, g->backend.port, interval_ms,
                                  what, on_gate, gate);
    }
    check_list_clear(&checks);
    if (!gate || !gate->service || !gate->instance || !gate->health) {
        log_error("%s: out of memory; registered without its checks", what);
        gate_free(gate);
        return NULL;
    }
    health_on_result(gate->health, on_gate_result, gate);
    return gate;
}

/* Replaces c's registrations by want (moved in). */
static void apply(struct registrator *r, struct container_state *c,
                  const struct docker_container *dc, struct registration_list *want,
                  struct strlist *problems)
{
    if (c->drained_by_hand) registration_list_clear(want);
    for (size_t i = 0; i < c->regs.n; i++)
        if (!has_registration(want, &c->regs.v[i]) && r->registry && offered(c, i)) {
            log_info("deregistering %s container=%s (no longer matches)", c->regs.v[i].service,
                     c->short_id);
            registry_remove(r->registry, c->regs.v[i].service, c->regs.v[i].instance);
        }
    struct gate **gates = want->n ? calloc(want->n, sizeof *gates) : NULL;
    for (size_t i = 0; gates && i < want->n; i++)
        gates[i] = gate_for(r, c, dc, &want->v[i], problems);
    gates_free(c); /* the gates of registrations that went */
    registration_list_clear(&c->regs);
    c->regs = *want;
    c->gates = gates;
    memset(want, 0, sizeof *want);
    for (size_t i = 0; i < c->regs.n; i++)
        if (offered(c, i)) offer(r, c, &c->regs.v[i]);
}

static void log_problems(struct container_state *c, char **problems)
{
    size_t len = 1;
    for (char **p = problems; p && *p; p++)
        len += strlen(*p) + 1;
    char *joined = calloc(1, len);
    if (!joined) return;
    for (char **p = problems; p && *p; p++) {
        strcat(joined, *p);
        strcat(joined, "\n");
    }
    if (!c->problems || strcmp(c->problems, joined) != 0)
        for (char **p = problems; p && *p; p++)
            log_warn("%s", *p);
    free(c->problems);
    c->problems = joined;
}

static void drain_free(struct registrator *r, struct drain *d)
{
    struct drain **p = &r->drains;
    while (*p && *p != d)
        p = &(*p)->next;
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
    d->timer = 0;
    char *id = strdup(d->id);
    if (id && docker_watch_kill(r->docker, d->id, "SIGTERM", on_drain_kill, id) < 0) {
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
static void start_drain(struct registrator *r, const char *id, const struct container_state *c,
                        const struct docker_event *ev)
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
    if (!d || !(d->id = strdup(id))) {
        free(d);
        return;
    }
    d->r = r;
    d->timer = loop_timer(r->loop, (uint64_t)drain_ms, drain_done, d);
    d->next = r->drains;
    r->drains = d;
    log_info("draining container %s for %d ms before sending it SIGTERM", c->short_id, drain_ms);
}

static void count_checks(struct registrator *r, const struct container_state *c)
{
    for (size_t i = 0; i < c->regs.n; i++)
        metric_add(r->m_checks, 1, c->regs.v[i].service, c->health);
}

static void on_trim(void *arg)
{
    struct registrator *r = arg;
    r->trim_timer = 0;
    malloc_trim(0);
}

static void containers_changed(struct registrator *r)
{
    if (!r->trim_timer) r->trim_timer = loop_timer(r->loop, TRIM_MS, on_trim, r);
}

/* Container dc is now what it is: register what it matches, withdraw the rest. */
static void on_container(void *arg, const struct docker_container *dc, void **data)
{
    struct registrator *r = arg;
    containers_changed(r);
    struct container_state *c = *data ? *data : (*data = container_new(dc->id));
    struct registration_list want = {0};
    struct strlist problems = {0};
    if (c) c->kept_exit_code = 0;
    if (c && match_container(r->cfg, dc, &want, &problems) == 0) {
        /* A new health check result counts for the services it concerns:
         * those registered after it, else those it withdrew. */
        const char *health = dc->has_healthcheck && dc->health_status ? dc->health_status : "";
        bool checked = *health && strcmp(health, c->health) != 0;
        c->has_healthcheck = dc->has_healthcheck;
        snprintf(c->health, sizeof c->health, "%s", health);
        if (checked && !want.n) count_checks(r, c);
        apply(r, c, dc, &want, &problems);
        if (checked && c->regs.n) count_checks(r, c);
        log_problems(c, problems.v);
    }
    registration_list_clear(&want);
    strlist_clear(&problems);
}

static void on_gone(void *arg, const char *id, const char *why, const struct docker_event *ev,
                    bool final, void **data)
{
    struct registrator *r = arg;
    struct container_state *c = *data;
    if (!c) return;
    containers_changed(r);
    /* registrator's on-success: a crash keeps the registrations, so a
     * container its restart policy brings back is never withdrawn; its
     * start replaces them in place. What stops it for good (destroy, a
     * resync that finds it stopped, `docker stop`) withdraws them. */
    if (!final && r->cfg->deregister == DEREGISTER_ON_SUCCESS && docker_event_exit_failed(ev) &&
        c->regs.n) {
        c->kept_exit_code = ev->exit_code;
        log_info("container %s exited with code %d: its %zu registration%s kept "
                 "(-deregister on-success) until it starts again, is removed, or a resync "
                 "finds it stopped",
                 c->short_id, ev->exit_code, c->regs.n, c->regs.n == 1 ? "" : "s");
        return;
    }
    if (ev) start_drain(r, id, c, ev);
    withdraw_all(r, c, why);
    c->drained_by_hand = false; /* it stopped: a restart registers it again */
    if (final) {
        container_free(NULL, c);
        *data = NULL;
    }
}

static void maybe_finish_once(struct registrator *r);

struct reload_tally {
    struct registration_counts counts;
};

/* A container's registrations now against before the reload (one started
 * during it had none). */
static void tally_reload(void *arg, void *data)
{
    struct reload_tally *t = arg;
    struct container_state *c = data;
    const struct registration_list none = {0};
    if (registration_list_compare(c->in_reload ? &c->before_reload : &none, &c->regs, &t->counts) <
        0)
        log_error("reload: counting the changes: out of memory");
    registration_list_clear(&c->before_reload);
    c->in_reload = false;
}

static void snapshot_for_reload(void *arg, void *data)
{
    struct container_state *c = data;
    (void)arg;
    if (c->in_reload) return; /* a reload during a reload counts from the first */
    if (registration_list_copy(&c->before_reload, &c->regs) < 0)
        log_error("reload: remembering container %s: out of memory", c->short_id);
    c->in_reload = true;
}

static void on_in_sync(void *arg)
{
    struct registrator *r = arg;
    r->first_sync_done = true;
    if (r->reloading) {
        struct reload_tally t = {.counts = r->reload_extra};
        docker_watch_each(r->docker, tally_reload, &t);
        const struct registration_counts *n = &t.counts;
        log_info("SIGHUP: reload applied: %u registered, %u withdrawn, %u updated in place, %u "
                 "unchanged",
                 n->added, n->removed, n->updated, n->unchanged);
        const struct reload_count counts[] = {{"registered", n->added},
                                              {"withdrawn", n->removed},
                                              {"updated", n->updated},
                                              {"unchanged", n->unchanged}};
        reload_status_applied(&r->reload, time(NULL), counts, sizeof counts / sizeof counts[0]);
        r->reloading = false;
    }
    if (r->docker_lost) metric_add(r->m_reconnects, 1);
    r->docker_lost = false;
    r->docker_connected = true;
    maybe_finish_once(r);
}

static void on_engine_lost(void *arg, const char *why)
{
    struct registrator *r = arg;
    (void)why; /* docker_watch logged it */
    r->docker_connected = false;
    r->docker_lost = true;
    if (r->opts.once) {
        r->status = 1;
        loop_stop(r->loop);
    }
}

static const struct docker_follow_reports reports = {
    on_container,
    on_gone,
    on_in_sync,
    on_engine_lost,
};

static void settle_check(void *arg)
{
    struct registrator *r = arg;
    r->settle_timer = 0;
    maybe_finish_once(r);
}

static void first_round_done(void *arg, void *data)
{
    bool *checked = arg;
    const struct container_state *c = data;
    for (size_t i = 0; c && c->gates && i < c->regs.n; i++)
        if (c->gates[i] && !health_reported(c->gates[i]->health)) *checked = false;
}

/* After the first full sync (Docker listed, every check's first answer,
 * every registration in the registry): --once stops, a daemon reports
 * ready (once). */
static void maybe_finish_once(struct registrator *r)
{
    if (r->closing || !r->first_sync_done) return;
    if (!r->opts.once && (r->ready_reported || !r->opts.on_ready)) return;
    bool checked = true;
    docker_watch_each(r->docker, first_round_done, &checked);
    if (!checked) {
        if (!r->settle_timer) r->settle_timer = loop_timer(r->loop, 50, settle_check, r);
        return;
    }
    if (r->registry && !registry_settled(r->registry)) {
        if (!r->settle_timer) r->settle_timer = loop_timer(r->loop, 50, settle_check, r);
        return;
    }
    if (r->opts.once) {
        loop_stop(r->loop);
        return;
    }
    r->ready_reported = true;
    r->opts.on_ready(r->opts.ready_arg);
}

static void on_registry_lost(void *arg)
{
    struct registrator *r = arg;
    metric_add(r->m_reconnects, 1);
    /* The registry re-registers what it knows; a resync heals what changed meanwhile. */
    docker_watch_resync(r->docker);
}

static void count_registrations(void *arg, void *data)
{
    struct registrator *r = arg;
    const struct container_state *c = data;
    for (size_t i = 0; i < c->regs.n; i++)
        metric_add(r->m_registrations, 1, c->regs.v[i].service);
}

/* Gauges read from the state at each scrape. */
static void collect(void *arg, struct metrics *m)
{
    struct registrator *r = arg;
    (void)m;
    metric_reset(r->m_registrations);
    for (size_t i = 0; i < r->cfg->nservices; i++) /* configured services show 0 */
        metric_set(r->m_registrations, 0, r->cfg->services[i].name);
    docker_watch_each(r->docker, count_registrations, r);
    metric_set(r->m_registry_connected, registry_connected(r->registry) ? 1 : 0);
    metric_set(r->m_docker_connected, r->docker_connected ? 1 : 0);
}

static void add_metrics(struct registrator *r, struct metrics *m)
{
    if (!m) return;
    r->m_registrations = metrics_gauge(m, "smartdock_registrator_registrations",
                                       "Instances registered, per service.", "service");
    r->m_registry_connected =
        metrics_gauge(m, "smartdock_registrator_registry_connected",
                      "1 while the ZooKeeper session is connected or the etcd lease held.", NULL);
    r->m_docker_connected = metrics_gauge(m, "smartdock_registrator_docker_connected",
                                          "1 while the registrator is in sync with Docker.", NULL);
    r->m_reconnects =
        metrics_counter(m, "smartdock_registrator_reconnects_total",
                        "Docker engine re-synced after a loss, plus registry sessions or leases "
                        "replaced.",
                        NULL);
    r->m_checks =
        metrics_counter(m, "smartdock_registrator_checks_total",
                        "Health check results, per service: Docker's health_status events and "
                        "each run of the registrator's own http/tcp checks.",
                        "service,result");
    metrics_on_collect(m, collect, r);
}

/* -retry-attempts: one attempt every -retry-interval until the registry
 * is connected, then never again; reconnects later retry forever. */
static void retry_check(void *arg)
{
    struct registrator *r = arg;
    r->retry_timer = 0;
    bool connected = registry_connected(r->registry);
    switch (startup_retry_attempt(&r->retry, connected)) {
    case STARTUP_RETRY_CONNECTED:
        if (r->retry.done)
            log_info("registry connected after %d failed attempt%s", r->retry.done,
                     r->retry.done == 1 ? "" : "s");
        return;
    case STARTUP_RETRY_WAIT:
        log_warn("registry: attempt %d of %d: not connected yet; next in %d ms", r->retry.done,
                 r->retry.attempts + 1, r->retry.interval_ms);
        r->retry_timer = loop_timer(r->loop, (uint64_t)r->retry.interval_ms, retry_check, r);
        return;
    case STARTUP_RETRY_GIVE_UP:
        log_error("registry: not connected after %d attempt%s %d ms apart (-retry-attempts %d); "
                  "giving up",
                  r->retry.done, r->retry.done == 1 ? "" : "s", r->retry.interval_ms,
                  r->retry.attempts);
        r->gave_up = true;
        r->status = 1;
        loop_stop(r->loop);
        return;
    }
}

struct registrator *registrator_new(struct loop *l, const struct reg_config *cfg,
                                    const struct registrator_opts *opts)
{
    struct registrator *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->loop = l;
    r->cfg = cfg;
    r->opts = *opts;
    char err[256];
    struct docker_watch_config wc = {
        .url = docker_default_url(cfg->docker_host),
        .resync_ms = (uint64_t)cfg->resync_interval_s * 1000,
        .once = opts->once,
    };
    /* It connects from the loop: nothing is reported before the registry exists. */
    r->docker = docker_watch_new(l, &wc, &reports, r, err, sizeof err);
    if (!r->docker) {
        log_error("%s", err);
        free(r);
        return NULL;
    }
    if (!opts->dry_run) {
        r->registry = registry_new(l, cfg, on_registry_lost, r);
        if (!r->registry) {
            log_error("cannot create the registry client");
            docker_watch_free(r->docker);
            free(r);
            return NULL;
        }
    }
    startup_retry_init(&r->retry, cfg->retry_attempts, cfg->retry_interval_ms);
    if (r->registry && startup_retry_active(&r->retry))
        r->retry_timer = loop_timer(l, (uint64_t)r->retry.interval_ms, retry_check, r);
    add_metrics(r, opts->metrics);
    return r;
}

int registrator_status(const struct registrator *r)
{
    return r->status == 0 && r->first_sync_done ? 0 : 1;
}

bool registrator_gave_up(const struct registrator *r)
{
    return r->gave_up;
}

void registrator_free(struct registrator *r)
{
    if (!r) return;
    if (r->settle_timer) loop_timer_cancel(r->loop, r->settle_timer);
    if (r->trim_timer) loop_timer_cancel(r->loop, r->trim_timer);
    if (r->retry_timer) loop_timer_cancel(r->loop, r->retry_timer);
    r->closing = true;
    while (r->drains)
        drain_free(r, r->drains);
    docker_watch_each(r->docker, container_free, NULL);
    docker_watch_free(r->docker); /* reports nothing more */
    registry_free(r->registry);
    free(r);
}

void registrator_reload(struct registrator *r, const struct reg_config *cfg,
                        const struct registration_counts *nerve)
{
    const struct registration_counts none = {0};
    if (!r->reloading) r->reload_extra = none;
    const struct registration_counts *add = nerve ? nerve : &none;
    r->reload_extra.added += add->added;
    r->reload_extra.removed += add->removed;
    r->reload_extra.updated += add->updated;
    r->reload_extra.unchanged += add->unchanged;
    reload_status_begin(&r->reload, time(NULL));
    r->cfg = cfg;
    docker_watch_each(r->docker, snapshot_for_reload, NULL);
    r->reloading = true;
    /* Runs after a resync in flight, which may have matched with the old
     * config; in_sync comes once both are over. */
    docker_watch_resync(r->docker);
}

void registrator_reload_refused(struct registrator *r, const char *error)
{
    reload_status_refused(&r->reload, time(NULL), error);
}

/* ---- the status and drain commands ---------------------------------------- */

static bool is_draining(const struct registrator *r, const struct container_state *c)
{
    for (const struct drain *d = r->drains; d; d = d->next)
        if (strncmp(d->id, c->short_id, strlen(c->short_id)) == 0) return true;
    return false;
}

static const char *drain_state(const struct registrator *r, const struct container_state *c)
{
    if (is_draining(r, c)) return "draining";
    if (c->drained_by_hand) return "drained by hand";
    return "serving";
}

struct status_walk {
    const struct registrator *r;
    cJSON *list;
};

static void status_container(void *arg, void *data)
{
    struct status_walk *sw = arg;
    const struct registrator *r = sw->r;
    const struct container_state *c = data;
    if (!c->regs.n && !c->drained_by_hand && !is_draining(r, c)) return;
    cJSON *jc = cJSON_CreateObject();
    if (!jc) return;
    cJSON_AddItemToArray(sw->list, jc);
    cJSON_AddStringToObject(jc, "container", c->short_id);
    cJSON_AddStringToObject(jc, "health",
                            !c->has_healthcheck ? "no healthcheck"
                            : c->health[0]      ? c->health
                                                : "starting");
    cJSON_AddStringToObject(jc, "drain", drain_state(r, c));
    if (c->kept_exit_code) cJSON_AddNumberToObject(jc, "kept_after_exit_code", c->kept_exit_code);
    cJSON *regs = cJSON_AddArrayToObject(jc, "registrations");
    for (size_t i = 0; i < c->regs.n && regs; i++) {
        const struct registration *g = &c->regs.v[i];
        cJSON *jr = cJSON_CreateObject();
        if (!jr) break;
        cJSON_AddItemToArray(regs, jr);
        cJSON_AddStringToObject(jr, "service", g->service);
        char addr[300];
        snprintf(addr, sizeof addr, "%s:%d", g->backend.host, g->backend.port);
        cJSON_AddStringToObject(jr, "address", addr);
        char *path = registry_describe(r->registry, g->service, g->instance);
        cJSON_AddStringToObject(jr, "path", path ? path : "(dry run)");
        free(path);
        char checks[400] = "none";
        if (c->gates && c->gates[i]) health_describe(c->gates[i]->health, checks, sizeof checks);
        cJSON_AddStringToObject(jr, "checks", checks);
        cJSON_AddBoolToObject(jr, "in_registry", offered(c, i));
    }
}

char *registrator_status_json(const struct registrator *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "daemon", "registrator");
    cJSON_AddStringToObject(o, "version", SMARTDOCK_VERSION);
    cJSON_AddStringToObject(o, "docker", docker_watch_url(r->docker));
    cJSON_AddBoolToObject(o, "docker_connected", r->docker_connected);
    cJSON_AddStringToObject(o, "registry",
                            r->cfg->registry_type == REGISTRY_ETCD ? "etcd" : "zookeeper");
    cJSON_AddBoolToObject(o, "registry_connected", registry_connected(r->registry));
    cJSON_AddBoolToObject(o, "first_sync_done", r->first_sync_done);
    reload_status_to_json(&r->reload, o);
    struct status_walk sw = {r, cJSON_AddArrayToObject(o, "containers")};
    if (sw.list) docker_watch_each(r->docker, status_container, &sw);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

static void count_regs(void *arg, void *data)
{
    *(size_t *)arg += ((const struct container_state *)data)->regs.n;
}

void registrator_summary(const struct registrator *r, char *buf, size_t len)
{
    size_t regs = 0;
    docker_watch_each(r->docker, count_regs, &regs);
    snprintf(buf, len, "%zu registration%s; docker %s; %s %s", regs, regs == 1 ? "" : "s",
             r->docker_connected ? "connected" : "disconnected",
             r->cfg->registry_type == REGISTRY_ETCD ? "etcd" : "zookeeper",
             registry_connected(r->registry) ? "connected" : "disconnected");
}

struct drain_walk {
    const char *id;
    struct container_state *match;
    size_t found;
};

static void find_drain_target(void *arg, void *data)
{
    struct drain_walk *dw = arg;
    struct container_state *c = data;
    if (strncmp(c->short_id, dw->id, strlen(dw->id)) == 0 && (c->regs.n || c->drained_by_hand)) {
        dw->match = c;
        dw->found++;
    }
}

int registrator_drain(struct registrator *r, const char *id, char *msg, size_t len)
{
    size_t n = strlen(id);
    if (n < 4 || n > 12) {
        snprintf(msg, len, "give 4 to 12 characters of the container id");
        return -1;
    }
    struct drain_walk dw = {id, NULL, 0};
    docker_watch_each(r->docker, find_drain_target, &dw);
    if (dw.found != 1) {
        if (dw.found)
            snprintf(msg, len, "%zu registered containers start with %s; give more of the id",
                     dw.found, id);
        else
            snprintf(msg, len, "no registered container starts with %s", id);
        return -1;
    }
    if (dw.match->drained_by_hand) {
        snprintf(msg, len, "container %s was already drained", dw.match->short_id);
        return 0;
    }
    dw.match->drained_by_hand = true;
    withdraw_all(r, dw.match, "drained by hand");
    snprintf(msg, len, "container %s withdrawn; it stays out until it stops", dw.match->short_id);
    return 0;
}
