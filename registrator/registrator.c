/*
 * The registrator: a docker_watch follows the engine and says what each
 * container is now; this file turns containers into registrations (match.h)
 * and keeps the registry equal to them, and drains the ones that ask for it.
 */
#include "registrator.h"

#include "docker_watch.h"
#include "log.h"
#include "match.h"
#include "registry.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What we registered for one container: its docker_watch data. */
struct container_state {
    char short_id[13];
    char *problems; /* last problems logged, so each is logged once */
    struct registration_list regs;
    /* During a reload: the registrations before it (NULL v: none). */
    struct registration_list before_reload;
    bool in_reload;
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
    /* A reload (SIGHUP) in progress: its resync reports in_sync at the end. */
    bool reloading;
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

static void container_free(void *arg, void *data)
{
    struct container_state *c = data;
    (void)arg;
    registration_list_clear(&c->regs);
    registration_list_clear(&c->before_reload);
    free(c->problems);
    free(c);
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
        else if (registry_put(r->registry, &want->v[i]) < 0)
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
        log_problems(c, problems.v);
        apply(r, c, &want);
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
        struct reload_tally t = {0};
        docker_watch_each(r->docker, tally_reload, &t);
        const struct registration_counts *n = &t.counts;
        log_info("SIGHUP: reload applied: %u registered, %u withdrawn, %u updated in place, %u "
                 "unchanged",
                 n->added, n->removed, n->updated, n->unchanged);
        r->reloading = false;
    }
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

void registrator_reload(struct registrator *r, const struct reg_config *cfg)
{
    r->cfg = cfg;
    docker_watch_each(r->docker, snapshot_for_reload, NULL);
    r->reloading = true;
    /* Runs after a resync in flight, which may have matched with the old
     * config; in_sync comes once both are over. */
    docker_watch_resync(r->docker);
}
