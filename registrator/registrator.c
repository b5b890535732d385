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
#include "log.h"
#include "match.h"
#include "registry.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct gate **gates; /* parallel to regs.v; NULL for a registration without checks */
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
    bool first_sync_done;
    bool closing;
    int status;
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
    else if (registry_put(r->registry, g) < 0)
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

/* The checks for registration g of container dc: its smartdock.check.*
 * labels, else its config service's checks. 0 with none. */
static int checks_for(const struct registrator *r, const struct docker_container *dc,
                      const struct registration *g, struct check_list *out, int *interval_ms,
                      struct strlist *problems)
{
    char err[256];
    struct check_spec spec;
    *interval_ms = CHECK_INTERVAL_DEFAULT_MS;
    int rc = check_from_labels(dc->labels, dc->nlabels, &spec, interval_ms, err, sizeof err);
    if (rc < 0) {
        strlist_pushf(problems, "container %.12s: %s; registered without that check", dc->id, err);
    } else if (rc > 0) {
        if (!(out->v = calloc(1, sizeof *out->v))) {
            check_spec_clear(&spec);
            return -1;
        }
        out->v[0] = spec;
        out->n = 1;
        return 0;
    }
    for (size_t i = 0; i < r->cfg->nservices; i++) {
        const struct reg_service *s = &r->cfg->services[i];
        if (strcmp(s->name, g->service) != 0 || !s->checks.n) continue;
        *interval_ms = s->check_interval_ms;
        return check_list_copy(out, &s->checks);
    }
    return 0;
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
    return gate;
}

/* Replaces c's registrations by want (moved in). */
static void apply(struct registrator *r, struct container_state *c,
                  const struct docker_container *dc, struct registration_list *want,
                  struct strlist *problems)
{
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

/* Container dc is now what it is: register what it matches, withdraw the rest. */
static void on_container(void *arg, const struct docker_container *dc, void **data)
{
    struct registrator *r = arg;
    struct container_state *c = *data ? *data : (*data = container_new(dc->id));
    struct registration_list want = {0};
    struct strlist problems = {0};
    if (c && match_container(r->cfg, dc, &want, &problems) == 0) {
        apply(r, c, dc, &want, &problems);
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
    if (ev) start_drain(r, id, c, ev);
    withdraw_all(r, c, why);
    if (final) {
        container_free(NULL, c);
        *data = NULL;
    }
}

static void on_in_sync(void *arg)
{
    struct registrator *r = arg;
    r->first_sync_done = true;
    maybe_finish_once(r);
}

static void on_engine_lost(void *arg, const char *why)
{
    struct registrator *r = arg;
    (void)why; /* docker_watch logged it */
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

static void maybe_finish_once(struct registrator *r)
{
    if (r->closing || !r->opts.once || !r->first_sync_done) return;
    bool checked = true; /* --once waits for every check's first answer */
    docker_watch_each(r->docker, first_round_done, &checked);
    if (!checked) {
        if (!r->settle_timer) r->settle_timer = loop_timer(r->loop, 50, settle_check, r);
        return;
    }
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
    docker_watch_resync(r->docker);
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
    return r;
}

int registrator_status(const struct registrator *r)
{
    return r->status == 0 && r->first_sync_done ? 0 : 1;
}

void registrator_free(struct registrator *r)
{
    if (!r) return;
    if (r->settle_timer) loop_timer_cancel(r->loop, r->settle_timer);
    r->closing = true;
    while (r->drains)
        drain_free(r, r->drains);
    docker_watch_each(r->docker, container_free, NULL);
    docker_watch_free(r->docker); /* reports nothing more */
    registry_free(r->registry);
    free(r);
}
