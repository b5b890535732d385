#include "runtime_sync.h"

#include "haproxy_answer.h"
#include "haproxy_runtime.h"
#include "log.h"
#include "runtime_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_POLL_MS 200
#define DEL_RETRY_MS 100
#define DEL_TRIES 20 /* "still has connections" (idle ones) this many times: then slower */
#define DEL_SLOW_RETRY_MS 1000 /* idle connections go within pool-purge-delay (5 s) */
#define CONFIRM_POLL_MS 100
#define CONFIRM_MS 10000 /* default confirm_timeout_ms */

enum state { RS_UNKNOWN, RS_CONFIRMING, RS_READY };
enum drain_phase { DRAIN_WAIT, DRAIN_FINAL };

struct segment;

struct drain {
    struct drain *next;
    struct runtime_sync *rs;
    struct segment *seg; /* while on to_drain: the change whose "drain" it waits for */
    size_t svc;
    struct render_server srv; /* owned */
    /* HAProxy's id of the backend: "show stat <name>" would pick the
     * frontend of the same name (Synapse's layout names both after the
     * service). 0: not asked yet; -1: unknown, the name is used. */
    long be_id;
    enum drain_phase phase;
    uint64_t started_ms, timer;
    unsigned del_tries;
    bool forced;
};

/*
 * One runtime change in flight: the model it puts into effect once its
 * commands, and those of every change queued before it, have succeeded.
 * Changes are planned and queued while earlier ones are in flight (each
 * against the model of the one before), so HAProxy's CLI connection stays
 * busy during a burst; they take effect in the order they were queued.
 */
struct segment {
    struct segment *next;
    struct render_model *model; /* owned; becomes applied */
    size_t ncmds, pending;      /* its commands; those not answered yet */
    uint64_t queued_us;
};

/* One command of a change; its own arg so the rest can be cancelled. */
struct bcmd {
    struct bcmd *prev, *next; /* rs->cmds: every command in flight */
    struct runtime_sync *rs;
    struct segment *seg;
    size_t svc;
    char *log;  /* the command, for the log */
    bool quiet; /* a follow-up (enable server...): logged only when it fails */
    /* Reviving a server whose "del server" may have run meanwhile: when
     * HAProxy has no such server, add this one (borrowed from the change's
     * model) instead. */
    const struct render_server *readd;
    bool gone_ok; /* "No such server" is no failure (the revive's follow-up) */
};

struct runtime_sync {
    struct loop *loop;
    const struct syn_config *cfg;
    struct haproxy_runtime *rt;
    unsigned drain_timeout_ms;
    runtime_sync_done_fn *done;
    void *arg;

    enum state state;
    struct render_model *applied; /* the config HAProxy runs; its servers are in rotation */
    bool *adds_refused;           /* per service: "add server" refused (static balance) */
    long known_pid;               /* the process last seen answering; 0: none yet */
    /* Whether the last reload took effect: the stats socket answers from
     * another process than before it. Its commands have their own arg, so
     * that ending what is known of the servers (invalidate) keeps it going. */
    struct confirm {
        struct runtime_sync *rs;
        bool active;
        bool in_flight;     /* a "show info" of ours awaits its answer */
        unsigned gen;       /* reloads told so far */
        unsigned asked_gen; /* gen when the question in flight was sent */
        long pid_before;
        uint64_t deadline, timer;
    } confirm;
    unsigned confirm_timeout_ms;
    runtime_sync_confirmed_fn *confirmed;
    struct drain *drains;

    /* the changes in flight, oldest first */
    struct segment *segs, *segs_tail;
    bool adopting;          /* runtime_sync_adopt's check runs */
    struct bcmd *cmds;      /* their commands not answered yet */
    struct drain *to_drain; /* start polling once their change succeeded */
    /* The sections and configured lines of applied (shared by every model
     * of the same frame) passed render_model_runtime_refusal: a change then
     * only needs its own services checked. */
    bool frame_vetted;

    struct runtime_sync_stats stats;
};

static const char *backend_of(const struct runtime_sync *rs, size_t svc)
{
    return rs->cfg->services[svc].haproxy.backend_name;
}

static int server_copy(struct render_server *d, const struct render_server *s)
{
    *d = *s;
    d->name = strdup(s->name);
    d->host = strdup(s->host);
    d->options = s->options ? strdup(s->options) : NULL;
    d->cookie = s->cookie ? strdup(s->cookie) : NULL;
    if (d->name && d->host && (d->options || !s->options) && (d->cookie || !s->cookie)) return 0;
    free(d->name);
    free(d->host);
    free(d->options);
    free(d->cookie);
    return -1;
}

static void server_free(struct render_server *s)
{
    free(s->name);
    free(s->host);
    free(s->options);
    free(s->cookie);
}

/* ---- drains ---- */

static bool unlink_from(struct drain **head, struct drain *d)
{
    for (struct drain **pp = head; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            return true;
        }
    return false;
}

/* d is on rs->drains, or on rs->to_drain (its change still in flight). */
static void drain_unlink_free(struct drain *d)
{
    struct runtime_sync *rs = d->rs;
    if (!unlink_from(&rs->drains, d)) unlink_from(&rs->to_drain, d);
    haproxy_runtime_cancel(rs->rt, d);
    if (d->timer) loop_timer_cancel(rs->loop, d->timer);
    server_free(&d->srv);
    free(d);
}

static void drain_poll(void *arg);
static void drain_final(struct drain *d);

static void on_del(void *arg, bool ok, const char *answer)
{
    struct drain *d = arg;
    struct runtime_sync *rs = d->rs;
    const char *be = backend_of(rs, d->svc);
    rs->stats.commands++;
    if (ok || strstr(answer, "No such server")) {
        log_info("runtime: del server %s/%s (out of rotation for %llu ms%s)", be, d->srv.name,
                 (unsigned long long)(loop_now_ms() - d->started_ms),
                 d->forced ? ", its last sessions shut down" : "");
        rs->stats.removed++;
        drain_unlink_free(d);
    } else if (strstr(answer, "still has connections")) {
        /* Idle connections to it keep it; they go within pool-purge-delay.
         * The drain stays known meanwhile, so a quick re-add revives the
         * server instead of failing "add server" (a reload). */
        if (++d->del_tries == DEL_TRIES)
            log_info("runtime: %s/%s still has idle connections; it stays in maintenance "
                     "(no traffic) and del server is retried every %d ms",
                     be, d->srv.name, DEL_SLOW_RETRY_MS);
        d->timer = loop_timer(rs->loop, d->del_tries < DEL_TRIES ? DEL_RETRY_MS : DEL_SLOW_RETRY_MS,
                              drain_poll, d);
    } else {
        log_warn("runtime: del server %s/%s failed: %s; it stays in maintenance (no traffic) "
                 "until the next reload",
                 be, d->srv.name, answer);
        drain_unlink_free(d);
    }
}

static void on_final_step(void *arg, bool ok, const char *answer)
{
    struct drain *d = arg;
    d->rs->stats.commands++;
    if (!ok && !strstr(answer, "No such server"))
        log_warn("runtime: %s/%s: %s", backend_of(d->rs, d->svc), d->srv.name, answer);
}

static void drain_final(struct drain *d)
{
    struct runtime_sync *rs = d->rs;
    char cmd[512];
    const char *be = backend_of(rs, d->svc);
    if (d->phase != DRAIN_FINAL) {
        d->phase = DRAIN_FINAL;
        snprintf(cmd, sizeof cmd, "set server %s/%s state maint", be, d->srv.name);
        haproxy_runtime_send(rs->rt, cmd, "", on_final_step, d);
        if (d->forced) {
            snprintf(cmd, sizeof cmd, "shutdown sessions server %s/%s", be, d->srv.name);
            haproxy_runtime_send(rs->rt, cmd, "", on_final_step, d);
        }
    }
    snprintf(cmd, sizeof cmd, "del server %s/%s", be, d->srv.name);
    if (haproxy_runtime_send(rs->rt, cmd, "Server deleted.", on_del, d) < 0) drain_unlink_free(d);
}

static void on_stat(void *arg, bool ok, const char *answer)
{
    struct drain *d = arg;
    struct runtime_sync *rs = d->rs;
    rs->stats.commands++;
    long n = ok ? haproxy_answer_sessions(answer, d->srv.name) : -1;
    uint64_t waited = loop_now_ms() - d->started_ms;
    if (ok && n < 0) { /* not there (any more) */
        log_info("runtime: %s/%s is gone already", backend_of(rs, d->svc), d->srv.name);
        drain_unlink_free(d);
    } else if (n == 0) {
        drain_final(d);
    } else if (waited >= rs->drain_timeout_ms) {
        log_warn("runtime: %s/%s still has %ld sessions after %llu ms (drain_timeout_ms); "
                 "shutting them down",
                 backend_of(rs, d->svc), d->srv.name, n, (unsigned long long)waited);
        d->forced = true;
        rs->stats.forced++;
        drain_final(d);
    } else {
        d->timer = loop_timer(rs->loop, DRAIN_POLL_MS, drain_poll, d);
    }
}

static void drain_poll(void *arg);

static void on_backend_id(void *arg, bool ok, const char *answer)
{
    struct drain *d = arg;
    d->rs->stats.commands++;
    d->be_id = ok ? haproxy_answer_backend_id(answer) : -1;
    drain_poll(d);
}

static void drain_poll(void *arg)
{
    struct drain *d = arg;
    d->timer = 0;
    if (d->phase == DRAIN_FINAL) {
        drain_final(d); /* another "del server" */
        return;
    }
    char cmd[300];
    if (!d->be_id) {
        snprintf(cmd, sizeof cmd, "show servers state %s", backend_of(d->rs, d->svc));
        if (haproxy_runtime_send(d->rs->rt, cmd, NULL, on_backend_id, d) < 0)
            d->timer = loop_timer(d->rs->loop, DRAIN_POLL_MS, drain_poll, d);
        return;
    }
    if (d->be_id > 0)
        snprintf(cmd, sizeof cmd, "show stat %ld 4 -1", d->be_id);
    else
        snprintf(cmd, sizeof cmd, "show stat %s 4 -1", backend_of(d->rs, d->svc));
    if (haproxy_runtime_send(d->rs->rt, cmd, NULL, on_stat, d) < 0)
        d->timer = loop_timer(d->rs->loop, DRAIN_POLL_MS, drain_poll, d);
}

static void drains_drop_all(struct runtime_sync *rs)
{
    while (rs->drains)
        drain_unlink_free(rs->drains);
}

/* ---- confirmation that the socket reaches the reloaded process ---- */

static void confirm_send(void *arg);

static void confirm_end(struct runtime_sync *rs, bool took)
{
    rs->confirm.active = false;
    if (rs->confirmed) rs->confirmed(rs->arg, took);
}

static void on_info(void *arg, bool ok, const char *answer)
{
    struct confirm *c = arg;
    struct runtime_sync *rs = c->rs;
    rs->stats.commands++;
    c->in_flight = false;
    long pid = ok ? haproxy_answer_pid(answer) : 0;
    if (!c->active) { /* runtime_sync_new's question, or one a confirmation no longer needs */
        if (pid > 0 && !rs->known_pid) rs->known_pid = pid;
        return;
    }
    if (c->asked_gen != c->gen) { /* asked before the reload: no word about it */
        confirm_send(c);
        return;
    }
    if (pid > 0 && pid != c->pid_before) {
        rs->known_pid = pid;
        if (rs->state == RS_CONFIRMING) {
            rs->state = RS_READY;
            log_info("runtime: stats socket %s answers from haproxy pid %ld; server changes go "
                     "through the runtime API",
                     haproxy_runtime_path(rs->rt), pid);
        } else {
            log_debug("runtime: stats socket %s answers from haproxy pid %ld",
                      haproxy_runtime_path(rs->rt), pid);
        }
        confirm_end(rs, true);
        return;
    }
    if (loop_now_ms() >= c->deadline) {
        bool old = pid > 0; /* the process from before the reload still answers */
        if (old)
            log_error("runtime: haproxy pid %ld still answers on %s %u ms after the reload: the "
                      "reload did not take effect",
                      pid, haproxy_runtime_path(rs->rt), rs->confirm_timeout_ms);
        else
            log_warn("runtime: no answer from the reloaded haproxy on %s (%s); changes go "
                     "through reloads",
                     haproxy_runtime_path(rs->rt), answer);
        if (rs->state == RS_CONFIRMING) runtime_sync_invalidate(rs);
        confirm_end(rs, !old);
        return;
    }
    c->timer = loop_timer(rs->loop, CONFIRM_POLL_MS, confirm_send, c);
}

/* One question at a time: a second chain would share c->timer. */
static void confirm_send(void *arg)
{
    struct confirm *c = arg;
    c->timer = 0;
    if (c->in_flight) return;
    c->asked_gen = c->gen;
    c->in_flight = true;
    if (haproxy_runtime_send(c->rs->rt, "show info", NULL, on_info, c) < 0) {
        c->in_flight = false;
        c->timer = loop_timer(c->rs->loop, CONFIRM_POLL_MS, confirm_send, c);
    }
}

/* ---- changes in flight ---- */

static void bcmd_unlink_free(struct runtime_sync *rs, struct bcmd *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        rs->cmds = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c->log);
    free(c);
}

static void segment_free(struct segment *seg)
{
    render_model_free(seg->model);
    free(seg);
}

/* Forgets every change in flight, without a word to done. */
static void changes_drop(struct runtime_sync *rs)
{
    while (rs->cmds) {
        haproxy_runtime_cancel(rs->rt, rs->cmds);
        bcmd_unlink_free(rs, rs->cmds);
    }
    while (rs->segs) {
        struct segment *seg = rs->segs;
        rs->segs = seg->next;
        segment_free(seg);
    }
    rs->segs_tail = NULL;
    while (rs->to_drain) {
        struct drain *d = rs->to_drain;
        rs->to_drain = d->next;
        server_free(&d->srv);
        free(d);
    }
}

/* A command failed (or memory ran out): every change in flight is dropped,
 * as HAProxy may hold part of them, and done says why (the caller reloads). */
static void changes_fail(struct runtime_sync *rs, const char *why)
{
    changes_drop(rs);
    rs->stats.fallbacks++;
    runtime_sync_invalidate(rs);
    if (rs->done) rs->done(rs->arg, false, why, NULL);
}

/* The oldest changes whose commands have all succeeded take effect, in
 * order: their model becomes applied, their drains start. */
static void changes_settle(struct runtime_sync *rs)
{
    while (rs->segs && rs->segs->pending == 0) {
        struct segment *seg = rs->segs;
        rs->segs = seg->next;
        if (!rs->segs) rs->segs_tail = NULL;
        render_model_free(rs->applied);
        rs->applied = seg->model;
        seg->model = NULL;
        for (struct drain **pp = &rs->to_drain; *pp;) {
            struct drain *d = *pp;
            if (d->seg != seg) {
                pp = &d->next;
                continue;
            }
            *pp = d->next;
            d->seg = NULL;
            d->next = rs->drains;
            rs->drains = d;
            d->timer = loop_timer(rs->loop, DRAIN_POLL_MS, drain_poll, d);
        }
        rs->stats.batches++;
        log_debug("runtime: a change of %zu commands answered %llu us after it was queued%s",
                  seg->ncmds, (unsigned long long)(loop_now_us() - seg->queued_us),
                  rs->segs ? "; more in flight" : "");
        segment_free(seg);
        if (rs->done) rs->done(rs->arg, true, NULL, rs->applied);
    }
}

static int queue_add(struct runtime_sync *rs, struct segment *seg, size_t svc,
                     const struct render_server *s);

static void on_batch_cmd(void *arg, bool ok, const char *answer)
{
    struct bcmd *c = arg;
    struct runtime_sync *rs = c->rs;
    struct segment *seg = c->seg;
    rs->stats.commands++;
    bool gone = !ok && strstr(answer, "No such server");
    if (gone && c->readd) { /* its "del server" ran first: add it again */
        log_info("runtime: %s: deleted meanwhile; adding it again", c->log);
        if (queue_add(rs, seg, c->svc, c->readd) < 0) {
            bcmd_unlink_free(rs, c);
            changes_fail(rs, "out of memory");
            return;
        }
        ok = true;
    } else if (gone && c->gone_ok) {
        ok = true;
    }
    if (!ok) {
        char why[600];
        snprintf(why, sizeof why, "\"%s\" failed: %s", c->log, answer);
        if (strstr(answer, "dynamic load balancing") && rs->adds_refused)
            rs->adds_refused[c->svc] = true;
        bcmd_unlink_free(rs, c);
        changes_fail(rs, why);
        return;
    }
    if (!c->quiet && !gone) log_info("runtime: %s", c->log);
    bcmd_unlink_free(rs, c);
    if (--seg->pending == 0) changes_settle(rs);
}

/* Queues one command of change seg; returns it (owned by rs->cmds) or NULL. */
static struct bcmd *queue_cmd(struct runtime_sync *rs, struct segment *seg, size_t svc,
                              const char *cmd, const char *expect, bool quiet)
{
    struct bcmd *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->rs = rs;
    c->seg = seg;
    c->svc = svc;
    c->quiet = quiet;
    if (!(c->log = strdup(cmd)) || haproxy_runtime_send(rs->rt, cmd, expect, on_batch_cmd, c) < 0) {
        free(c->log);
        free(c);
        return NULL;
    }
    c->next = rs->cmds;
    if (rs->cmds) rs->cmds->prev = c;
    rs->cmds = c;
    seg->ncmds++;
    seg->pending++;
    return c;
}

static int queue(struct runtime_sync *rs, struct segment *seg, size_t svc, const char *cmd,
                 const char *expect, bool quiet)
{
    return queue_cmd(rs, seg, svc, cmd, expect, quiet) ? 0 : -1;
}

/* add server, enable health (with "check"), enable server. */
static int queue_add(struct runtime_sync *rs, struct segment *seg, size_t svc,
                     const struct render_server *s)
{
    const char *be = backend_of(rs, svc);
    char cmd[600];
    char *add = runtime_add_command(be, s);
    int r = add ? queue(rs, seg, svc, add, "New server registered.", false) : -1;
    free(add);
    if (r == 0 && runtime_options_have_check(s->options)) {
        snprintf(cmd, sizeof cmd, "enable health %s/%s", be, s->name);
        r = queue(rs, seg, svc, cmd, "", true);
    }
    snprintf(cmd, sizeof cmd, "enable server %s/%s", be, s->name);
    if (r == 0) r = queue(rs, seg, svc, cmd, "", true);
    return r;
}

static struct drain *find_drain(struct runtime_sync *rs, size_t svc, const char *name)
{
    for (struct drain *d = rs->drains; d; d = d->next)
        if (d->svc == svc && strcmp(d->srv.name, name) == 0) return d;
    for (struct drain *d = rs->to_drain; d; d = d->next)
        if (d->svc == svc && strcmp(d->srv.name, name) == 0) return d;
    return NULL;
}

/* The servers of svc that drain, wait in maintenance for "del server", or
 * are drained by a change in flight: HAProxy still has them, so one that
 * comes back is revived, not added (shallow view). */
static int draining_view(struct runtime_sync *rs, size_t svc, struct render_server_list *out)
{
    size_t n = 0;
    for (struct drain *d = rs->drains; d; d = d->next)
        n++;
    for (struct drain *d = rs->to_drain; d; d = d->next)
        n++;
    out->n = 0;
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v) return -1;
    for (struct drain *d = rs->drains; d; d = d->next)
        if (d->svc == svc) out->v[out->n++] = d->srv;
    for (struct drain *d = rs->to_drain; d; d = d->next)
        if (d->svc == svc) out->v[out->n++] = d->srv;
    return 0;
}

int runtime_sync_draining(struct runtime_sync *rs, size_t svc, struct render_server_list *out)
{
    return draining_view(rs, svc, out);
}

/* Queues the commands of one service's plan as part of change seg. */
static int queue_plan(struct runtime_sync *rs, struct segment *seg, size_t svc,
                      const struct runtime_plan *p)
{
    const char *be = backend_of(rs, svc);
    char cmd[600];
    for (size_t i = 0; i < p->n; i++) {
        const struct runtime_action *a = &p->v[i];
        const char *name = a->server->name;
        int r = 0;
        switch (a->kind) {
        case RUNTIME_ADD:
            r = queue_add(rs, seg, svc, a->server);
            break;
        case RUNTIME_REVIVE: {
            /* Its "maint"/"del server" may be on the way already: a
             * cancelled callback does not unsend the command, so the revive
             * falls back to an add when the server is gone by then. A drain
             * of a change in flight is queued before this: it is revived. */
            struct drain *d = find_drain(rs, svc, name);
            if (d) drain_unlink_free(d);
            snprintf(cmd, sizeof cmd, "set server %s/%s state ready", be, name);
            struct bcmd *c = queue_cmd(rs, seg, svc, cmd, "", false);
            r = c ? 0 : -1;
            if (c) c->readd = a->server;
            snprintf(cmd, sizeof cmd, "set weight %s/%s %d", be, name, a->weight);
            if (r == 0 && !(c = queue_cmd(rs, seg, svc, cmd, "", true))) r = -1;
            if (r == 0) c->gone_ok = true;
            break;
        }
        case RUNTIME_WEIGHT:
            snprintf(cmd, sizeof cmd, "set weight %s/%s %d", be, name, a->weight);
            r = queue(rs, seg, svc, cmd, "", false);
            break;
        case RUNTIME_REMOVE: {
            struct drain *d = calloc(1, sizeof *d);
            if (!d || server_copy(&d->srv, a->server) < 0) {
                free(d);
                return -1;
            }
            d->rs = rs;
            d->seg = seg;
            d->svc = svc;
            d->started_ms = loop_now_ms();
            d->next = rs->to_drain;
            rs->to_drain = d;
            snprintf(cmd, sizeof cmd, "set server %s/%s state drain", be, name);
            r = queue(rs, seg, svc, cmd, "", false);
            break;
        }
        }
        if (r < 0) return -1;
    }
    return 0;
}

/* Why the changed services of next cannot be added at run time, or NULL. */
static const char *refusal(struct runtime_sync *rs, const struct render_model *next,
                           const size_t *changed, size_t nchanged)
{
    if (!rs->frame_vetted) {
        /* Once per frame: every section head and server. The models after
         * it share the frame (render_model_same_frame), and their unchanged
         * services are the vetted ones. */
        const char *why = render_model_runtime_refusal(next);
        if (!why) rs->frame_vetted = true;
        return why;
    }
    return render_model_services_refusal(next, changed, nchanged);
}

enum runtime_apply_result runtime_sync_apply(struct runtime_sync *rs, struct render_model **next,
                                             char *why, size_t whylen)
{
    size_t ns = rs->cfg->nservices;
    if (rs->state != RS_READY || rs->adopting) {
        snprintf(why, whylen, "the runtime API is not confirmed for the running haproxy");
        return RUNTIME_RELOAD;
    }
    /* Planned against the newest change in flight, which takes effect first. */
    const struct render_model *base = rs->segs_tail ? rs->segs_tail->model : rs->applied;
    /* A change that needs a reload waits while changes are in flight: the
     * caller renders again when they have ended. */
    enum runtime_apply_result no = rs->segs ? RUNTIME_WAIT : RUNTIME_RELOAD;
    /* Only the services whose block changed are planned: the plans of all
     * 1,000 (224 KB, mapped afresh each time) cost more than the change. */
    size_t *changed = malloc((ns ? ns : 1) * sizeof *changed);
    struct runtime_plan *plans = NULL;
    struct segment *seg = NULL;
    size_t nchanged = 0;
    enum runtime_apply_result res = no;
    size_t actions = 0;
    const char *refused = NULL;
    if (!changed) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (!render_model_same_frame(base, *next)) {
        snprintf(why, whylen, "more than the servers changed");
        goto out;
    }
    for (size_t i = 0; i < ns; i++)
        if (!render_model_service_same(base, *next, i)) changed[nchanged++] = i;
    if ((refused = refusal(rs, *next, changed, nchanged))) {
        snprintf(why, whylen, "%s", refused);
        goto out;
    }
    if (!(plans = calloc(nchanged ? nchanged : 1, sizeof *plans))) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < nchanged; k++) {
        size_t i = changed[k];
        struct render_server_list view;
        if (draining_view(rs, i, &view) < 0 ||
            runtime_plan_make(render_model_servers(base, i), &view, render_model_servers(*next, i),
                              &plans[k]) < 0) {
            free(view.v);
            snprintf(why, whylen, "out of memory");
            goto out;
        }
        free(view.v);
        if (plans[k].needs_reload) {
            snprintf(why, whylen, "service %s: %s", rs->cfg->services[i].name, plans[k].reason);
            goto out;
        }
        bool adds = false;
        for (size_t j = 0; j < plans[k].n; j++)
            adds |= plans[k].v[j].kind == RUNTIME_ADD;
        if (adds && rs->adds_refused && rs->adds_refused[i]) {
            snprintf(why, whylen,
                     "backend %s refused \"add server\" before (static balance "
                     "algorithm)",
                     backend_of(rs, i));
            goto out;
        }
        actions += plans[k].n;
    }
    if (!actions) {
        res = RUNTIME_NOTHING;
        goto out;
    }
    if (!(seg = calloc(1, sizeof *seg))) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    seg->queued_us = loop_now_us();
    if (rs->segs_tail)
        rs->segs_tail->next = seg;
    else
        rs->segs = seg;
    rs->segs_tail = seg;
    for (size_t k = 0; k < nchanged; k++)
        if (queue_plan(rs, seg, changed[k], &plans[k]) < 0) {
            runtime_sync_done_fn *done = rs->done; /* not from inside this call */
            rs->done = NULL;
            changes_fail(rs, "out of memory");
            rs->done = done;
            snprintf(why, whylen, "out of memory");
            res = RUNTIME_RELOAD;
            goto out;
        }
    seg->model = *next;
    *next = NULL;
    res = RUNTIME_APPLYING;
out:
    for (size_t k = 0; plans && k < nchanged; k++)
        runtime_plan_clear(&plans[k]);
    free(plans);
    free(changed);
    return res;
}

static void on_adopt_pid(void *arg, bool ok, const char *answer)
{
    struct runtime_sync *rs = arg;
    rs->stats.commands++;
    long pid = ok ? haproxy_answer_pid(answer) : 0;
    if (pid > 0) rs->known_pid = pid;
}

static void on_adopt_servers(void *arg, bool ok, const char *answer)
{
    struct runtime_sync *rs = arg;
    rs->stats.commands++;
    char why[400] = "";
    if (!ok || !rs->known_pid)
        snprintf(why, sizeof why, "no answer on %s: %s", haproxy_runtime_path(rs->rt), answer);
    for (size_t i = 0; !why[0] && i < rs->cfg->nservices; i++)
        runtime_servers_state_match(answer, backend_of(rs, i), render_model_servers(rs->applied, i),
                                    why, sizeof why);
    rs->adopting = false;
    if (why[0]) {
        log_info("runtime: not adopting the running haproxy (%s)", why);
        runtime_sync_invalidate(rs);
    } else {
        rs->state = RS_READY;
        log_info("runtime: stats socket %s answers from haproxy pid %ld, which runs this "
                 "haproxy.cfg with its servers: adopted without a reload",
                 haproxy_runtime_path(rs->rt), rs->known_pid);
    }
    if (rs->done) rs->done(rs->arg, !why[0], why[0] ? why : NULL, why[0] ? NULL : rs->applied);
}

void runtime_sync_adopt(struct runtime_sync *rs, struct render_model *model)
{
    changes_drop(rs);
    runtime_sync_invalidate(rs);
    rs->applied = model;
    rs->known_pid = 0;
    rs->adopting = true;
    haproxy_runtime_send(rs->rt, "show info", NULL, on_adopt_pid, rs);
    if (haproxy_runtime_send(rs->rt, "show servers state", NULL, on_adopt_servers, rs) < 0)
        on_adopt_servers(rs, false, "out of memory");
}

void runtime_sync_invalidate(struct runtime_sync *rs)
{
    /* Changes in flight were planned against what HAProxy had: they end as
     * failed now, or they would report success later, after the caller may
     * have reloaded with a newer config (the file would follow the older). */
    bool ended = rs->segs != NULL;
    changes_drop(rs);
    rs->state = RS_UNKNOWN;
    rs->adopting = false;
    rs->frame_vetted = false;
    drains_drop_all(rs);
    haproxy_runtime_cancel(rs->rt, rs);
    render_model_free(rs->applied);
    rs->applied = NULL;
    if (!ended) return;
    rs->stats.fallbacks++;
    if (rs->done) rs->done(rs->arg, false, "what haproxy runs is unknown now", NULL);
}

void runtime_sync_reloaded(struct runtime_sync *rs, struct render_model *model)
{
    /* Changes still in flight were made against what ran before: the
     * reloaded config is newer. */
    changes_drop(rs);
    runtime_sync_invalidate(rs);
    rs->applied = model;
    if (model) rs->state = RS_CONFIRMING;
    /* A reload before the last one was confirmed (the caller holds them
     * back; someone else may not) is told from the process before both. */
    if (!rs->confirm.active) rs->confirm.pid_before = rs->known_pid;
    rs->confirm.active = true;
    rs->confirm.gen++;
    rs->confirm.deadline = loop_now_ms() + rs->confirm_timeout_ms;
    if (!rs->confirm.timer) confirm_send(&rs->confirm);
}

bool runtime_sync_confirming(const struct runtime_sync *rs)
{
    return rs->confirm.active;
}

static bool same_backends(const struct syn_config *a, const struct syn_config *b)
{
    if (a->nservices != b->nservices) return false;
    for (size_t i = 0; i < a->nservices; i++)
        if (strcmp(a->services[i].haproxy.backend_name, b->services[i].haproxy.backend_name))
            return false;
    return true;
}

void runtime_sync_set_config(struct runtime_sync *rs, const struct syn_config *cfg)
{
    const struct syn_config *old = rs->cfg;
    rs->cfg = cfg;
    if (same_backends(old, cfg)) return;
    /* "add server" refusals are kept by backend name; on no memory they are
     * forgotten, which costs one refused command each. */
    bool *refused = calloc(cfg->nservices ? cfg->nservices : 1, sizeof *refused);
    for (size_t i = 0; refused && rs->adds_refused && i < cfg->nservices; i++)
        for (size_t j = 0; j < old->nservices; j++)
            if (!strcmp(cfg->services[i].haproxy.backend_name,
                        old->services[j].haproxy.backend_name))
                refused[i] = rs->adds_refused[j];
    free(rs->adds_refused);
    rs->adds_refused = refused;
    /* A batch or an adoption in flight is judged against the old indices:
     * it ends as failed, which makes the watcher reload. */
    static const char why[] = "the services changed (SIGHUP)";
    if (rs->segs) {
        changes_fail(rs, why);
        return;
    }
    bool adopting = rs->adopting;
    runtime_sync_invalidate(rs);
    if (adopting && rs->done) rs->done(rs->arg, false, why, NULL);
}

bool runtime_sync_ready(const struct runtime_sync *rs)
{
    return rs->state == RS_READY;
}

bool runtime_sync_busy(const struct runtime_sync *rs)
{
    return rs->segs || rs->adopting;
}

bool runtime_sync_adopting(const struct runtime_sync *rs)
{
    return rs->adopting;
}

void runtime_sync_get_stats(const struct runtime_sync *rs, struct runtime_sync_stats *s)
{
    *s = rs->stats;
}

struct runtime_sync *runtime_sync_new(struct loop *l, const struct syn_config *cfg,
                                      const struct runtime_sync_opts *o, runtime_sync_done_fn *done,
                                      void *arg)
{
    struct runtime_sync *rs = calloc(1, sizeof *rs);
    if (!rs) return NULL;
    rs->loop = l;
    rs->cfg = cfg;
    rs->done = done;
    rs->arg = arg;
    rs->drain_timeout_ms = o->drain_timeout_ms;
    rs->confirm.rs = rs;
    rs->confirmed = o->confirmed;
    rs->confirm_timeout_ms = o->confirm_timeout_ms ? o->confirm_timeout_ms : CONFIRM_MS;
    rs->adds_refused = calloc(cfg->nservices ? cfg->nservices : 1, sizeof *rs->adds_refused);
    rs->rt = haproxy_runtime_new(l, o->socket_path, o->command_timeout_ms);
    if (!rs->adds_refused || !rs->rt) {
        runtime_sync_free(rs);
        return NULL;
    }
    /* Learn the running process, to tell it from the next one after a reload. */
    confirm_send(&rs->confirm);
    return rs;
}

void runtime_sync_free(struct runtime_sync *rs)
{
    if (!rs) return;
    changes_drop(rs);
    while (rs->drains) {
        struct drain *d = rs->drains;
        rs->drains = d->next;
        if (d->timer) loop_timer_cancel(rs->loop, d->timer);
        server_free(&d->srv);
        free(d);
    }
    if (rs->confirm.timer) loop_timer_cancel(rs->loop, rs->confirm.timer);
    haproxy_runtime_free(rs->rt);
    render_model_free(rs->applied);
    free(rs->adds_refused);
    free(rs);
}
