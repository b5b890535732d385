#include "docker_follow.h"

#include "backoff.h"
#include "docker_client.h" /* docker_version_api: pure */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define BACKOFF_JITTER_PERCENT 25
/* docker stop waits 10 s by default before SIGKILL. */
#define STOP_GRACE_MIN_MS 10000
/* A resync's inspects in flight at once; the rest wait their turn. Each
 * costs a request (a curl handle, its buffers, a connection): all 500 of a
 * host at once were ~10 MiB of the registrator's peak, and a burst for the
 * engine. Inspects asked by events are never held back. */
#define RESYNC_INSPECTS_IN_FLIGHT 8

/* What the follower knows of one container: enough to read its events. */
struct followed {
    struct followed *next;
    char *id;
    uint64_t gen;     /* bumped by every event that changes what it means */
    uint64_t touched; /* resync number when an event last touched it */
    bool stopping;    /* its stop signal was seen and it may still run */
    uint64_t stopping_since;
    char *stop_signal; /* from the last inspect */
    bool has_healthcheck;
    void *data; /* the consumer's */
};

struct docker_follow {
    struct docker_follow_config cfg;
    const struct docker_follow_requests *rq;
    const struct docker_follow_reports *rp;
    void *rq_arg, *arg; /* arg: the reports' */
    struct followed *containers;
    struct backoff backoff;
    bool streaming;     /* the events stream is open */
    bool down_noted;    /* "not reachable" said since the last success */
    uint64_t resync_no; /* number of the resync in flight or last done */
    int inspects_pending;
    bool resyncing, resync_again;
    /* A resync's inspects not yet sent (ids, owned): a FIFO [head, n). */
    char **resync_queue;
    size_t queue_head, queue_n, queue_cap;
    int resync_inflight; /* its inspects sent and not yet answered */
};

static void note(struct docker_follow *f, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void note(struct docker_follow *f, enum log_level level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    f->rq->note(f->rq_arg, level, msg);
}

static struct followed *find(struct docker_follow *f, const char *id)
{
    for (struct followed *c = f->containers; c; c = c->next)
        if (strcmp(c->id, id) == 0) return c;
    return NULL;
}

static struct followed *get(struct docker_follow *f, const char *id)
{
    struct followed *c = find(f, id);
    if (c) return c;
    c = calloc(1, sizeof *c);
    if (!c || !(c->id = strdup(id))) {
        free(c);
        note(f, LL_ERROR, "container %.12s: out of memory", id);
        return NULL;
    }
    c->next = f->containers;
    f->containers = c;
    return c;
}

static void forget(struct docker_follow *f, struct followed *c)
{
    struct followed **p = &f->containers;
    while (*p && *p != c)
        p = &(*p)->next;
    if (*p) *p = c->next;
    free(c->id);
    free(c->stop_signal);
    free(c);
}

struct docker_follow *docker_follow_new(const struct docker_follow_config *cfg,
                                        const struct docker_follow_requests *rq, void *rq_arg,
                                        const struct docker_follow_reports *rp, void *arg)
{
    struct docker_follow *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->cfg = *cfg;
    f->rq = rq;
    f->rq_arg = rq_arg;
    f->rp = rp;
    f->arg = arg;
    backoff_init(&f->backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS, BACKOFF_JITTER_PERCENT, cfg->seed);
    return f;
}

void docker_follow_free(struct docker_follow *f)
{
    if (!f) return;
    while (f->containers)
        forget(f, f->containers);
    for (size_t i = f->queue_head; i < f->queue_n; i++)
        free(f->resync_queue[i]);
    free(f->resync_queue);
    free(f);
}

bool docker_follow_resyncing(const struct docker_follow *f)
{
    return f->resyncing;
}

void docker_follow_each(struct docker_follow *f, void (*fn)(void *arg, void *data), void *arg)
{
    for (struct followed *c = f->containers; c; c = c->next)
        if (c->data) fn(arg, c->data);
}

size_t docker_follow_count(const struct docker_follow *f)
{
    size_t n = 0;
    for (const struct followed *c = f->containers; c; c = c->next)
        n++;
    return n;
}

/* The engine failed us: tell the consumer, and come back later unless once. */
static void lost(struct docker_follow *f, enum log_level level, const char *what, const char *why)
{
    if (f->cfg.once) {
        note(f, level, "%s (%s)", what, why);
    } else {
        unsigned delay = backoff_next(&f->backoff);
        note(f, level, "%s (%s); retrying in about %u ms", what, why, delay);
        f->rq->retry_in(f->rq_arg, delay);
    }
    f->rp->lost(f->arg, why);
}

void docker_follow_start(struct docker_follow *f)
{
    if (f->rq->version(f->rq_arg) < 0)
        lost(f, LL_ERROR, "cannot ask for the engine version", "request not started");
}

static void resync_start(struct docker_follow *f);

void docker_follow_version_reply(struct docker_follow *f, long status, const char *body, size_t len,
                                 const char *error)
{
    if (error || status != 200) {
        char why[256];
        if (error)
            snprintf(why, sizeof why, "%s", error);
        else
            snprintf(why, sizeof why, "status %ld", status);
        lost(f, f->down_noted ? LL_DEBUG : LL_WARN, "not reachable", why);
        f->down_noted = true;
        return;
    }
    f->down_noted = false;
    char api[16];
    docker_version_api(body, len, api, sizeof api);
    note(f, LL_INFO, "connected (API %s)", api);
    if (f->cfg.once) {
        resync_start(f);
        return;
    }
    /* Events first, and the listing once the engine has subscribed us, so
     * nothing can happen unseen in between. */
    if (f->rq->open_events(f->rq_arg) < 0)
        lost(f, LL_ERROR, "cannot open the events stream", "request not started");
}

void docker_follow_events_opened(struct docker_follow *f)
{
    f->streaming = true;
    docker_follow_resync(f);
}

void docker_follow_events_ended(struct docker_follow *f, const char *error)
{
    f->streaming = false;
    lost(f, LL_WARN, "events stream ended", error ? error : "closed by the engine");
}

/* A list failed or could not start: the pending resync, if any, still runs. */
static void list_failed(struct docker_follow *f, const char *why)
{
    note(f, LL_WARN, "listing containers failed: %s", why);
    f->resyncing = false;
    f->rp->lost(f->arg, why);
    if (f->resync_again && f->streaming) resync_start(f);
}

static void resync_start(struct docker_follow *f)
{
    f->resyncing = true;
    f->resync_again = false;
    f->resync_no++;
    note(f, LL_DEBUG, "resynchronising");
    if (f->rq->list(f->rq_arg) < 0) list_failed(f, "request not started");
}

void docker_follow_resync(struct docker_follow *f)
{
    if (!f->streaming) return; /* the reconnect resyncs */
    if (f->resyncing) {
        f->resync_again = true; /* what changed meanwhile may predate its listing */
        return;
    }
    resync_start(f);
}

void docker_follow_tick(struct docker_follow *f)
{
    if (f->streaming && !f->resyncing) resync_start(f); /* a slow engine is not asked twice */
}

/* One fewer inspect outstanding for the resync in flight. */
static void resync_release(struct docker_follow *f)
{
    if (--f->inspects_pending > 0 || !f->resyncing) return;
    f->resyncing = false;
    backoff_reset(&f->backoff);
    note(f, LL_DEBUG, "resynchronisation %llu complete", (unsigned long long)f->resync_no);
    if (f->resync_again && f->streaming)
        resync_start(f);
    else
        f->rp->in_sync(f->arg);
}

/* Asks for c's inspect now. A resync's counts as pending until answered. */
static void send_inspect(struct docker_follow *f, struct followed *c, bool from_resync)
{
    struct docker_follow_inspect q = {.id = c->id, .gen = c->gen, .from_resync = from_resync};
    if (from_resync) f->resync_inflight++;
    if (f->rq->inspect(f->rq_arg, &q) < 0) {
        note(f, LL_ERROR, "inspecting container %.12s: cannot start the request", c->id);
        if (from_resync) {
            f->resync_inflight--;
            resync_release(f);
        }
    }
}

/* Sends queued resync inspects while there is room. One whose container was
 * forgotten meanwhile is released unsent. */
static void send_queued(struct docker_follow *f)
{
    while (f->queue_head < f->queue_n && f->resync_inflight < RESYNC_INSPECTS_IN_FLIGHT) {
        char *id = f->resync_queue[f->queue_head++];
        if (f->queue_head == f->queue_n) f->queue_head = f->queue_n = 0;
        struct followed *c = find(f, id);
        free(id);
        if (c)
            send_inspect(f, c, true);
        else
            resync_release(f);
    }
}

static bool enqueue(struct docker_follow *f, const char *id)
{
    if (f->queue_n == f->queue_cap) {
        size_t cap = f->queue_cap ? f->queue_cap * 2 : 16;
        char **v = realloc(f->resync_queue, cap * sizeof *v);
        if (!v) return false;
        f->resync_queue = v;
        f->queue_cap = cap;
    }
    char *copy = strdup(id);
    if (!copy) return false;
    f->resync_queue[f->queue_n++] = copy;
    return true;
}

static void inspect(struct docker_follow *f, struct followed *c, bool from_resync)
{
    if (!from_resync) {
        send_inspect(f, c, false);
        return;
    }
    f->inspects_pending++;
    if (f->resync_inflight < RESYNC_INSPECTS_IN_FLIGHT && f->queue_head == f->queue_n) {
        send_inspect(f, c, true);
    } else if (!enqueue(f, c->id)) {
        note(f, LL_ERROR, "inspecting container %.12s: out of memory", c->id);
        resync_release(f);
    }
}

void docker_follow_list_reply(struct docker_follow *f, long status, const char *body, size_t len,
                              const char *error)
{
    char **ids = NULL;
    size_t n = 0;
    char err[256];
    if (error || status != 200 || docker_list_ids(body, len, &ids, &n, err, sizeof err) < 0) {
        if (error)
            snprintf(err, sizeof err, "%s", error);
        else if (status != 200)
            snprintf(err, sizeof err, "status %ld", status);
        list_failed(f, err);
        return;
    }
    /* Known but no longer running, and no event about it since this resync began. */
    for (struct followed *c = f->containers, *next; c; c = next) {
        next = c->next;
        bool running = false;
        for (size_t i = 0; i < n && !running; i++)
            running = strcmp(ids[i], c->id) == 0;
        if (!running && c->touched < f->resync_no) {
            f->rp->gone(f->arg, c->id, "not running at resynchronisation", NULL, true, &c->data);
            forget(f, c);
        }
    }
    f->inspects_pending++; /* held while the inspects below start */
    for (size_t i = 0; i < n; i++) {
        struct followed *c = get(f, ids[i]);
        if (c) inspect(f, c, true);
    }
    docker_ids_free(ids, n);
    resync_release(f);
}

/* A resync inspect that finds it running soon after its stop signal is
 * seeing it shut down. */
static bool still_stopping(struct docker_follow *f, const struct followed *c,
                           const struct docker_follow_inspect *q, const struct docker_container *dc)
{
    uint64_t grace = f->cfg.resync_ms > STOP_GRACE_MIN_MS ? f->cfg.resync_ms : STOP_GRACE_MIN_MS;
    return c->stopping && q->from_resync && dc->running && !dc->paused &&
           f->rq->now_ms(f->rq_arg) - c->stopping_since < grace;
}

static void handle_inspect(struct docker_follow *f, const struct docker_follow_inspect *q,
                           long status, const char *body, size_t len, const char *error)
{
    struct followed *c = find(f, q->id);
    struct docker_container dc;
    char err[256];
    if (error) {
        note(f, LL_WARN, "inspecting container %.12s: %s", q->id, error);
        return;
    }
    if (!c || c->gen != q->gen) return; /* an event came after it was asked: stale */
    if (status == 404) {
        f->rp->gone(f->arg, q->id, "container is gone", NULL, true, &c->data);
        forget(f, c);
        return;
    }
    if (status != 200 || docker_container_decode(body, len, &dc, err, sizeof err) < 0) {
        if (status != 200) snprintf(err, sizeof err, "status %ld", status);
        note(f, LL_ERROR, "inspecting container %.12s: unexpected reply: %s", q->id, err);
        return;
    }
    free(c->stop_signal);
    c->stop_signal = dc.stop_signal ? strdup(dc.stop_signal) : NULL;
    c->has_healthcheck = dc.has_healthcheck;
    if (!still_stopping(f, c, q, &dc)) {
        c->stopping = false;
        f->rp->container(f->arg, &dc, &c->data);
    }
    docker_container_clear(&dc);
}

void docker_follow_inspect_reply(struct docker_follow *f, const struct docker_follow_inspect *q,
                                 long status, const char *body, size_t len, const char *error)
{
    handle_inspect(f, q, status, body, len, error);
    if (!q->from_resync) return;
    f->resync_inflight--;
    send_queued(f);
    resync_release(f);
}

void docker_follow_event_line(struct docker_follow *f, const char *line, size_t len)
{
    struct docker_event ev;
    char err[256];
    backoff_reset(&f->backoff);
    if (docker_event_decode(line, len, &ev, err, sizeof err) < 0) {
        note(f, LL_WARN, "event skipped: %s", err);
        return;
    }
    if (!ev.id || (ev.type && strcmp(ev.type, "container") != 0)) {
        docker_event_clear(&ev);
        return;
    }
    struct followed *c = find(f, ev.id);
    enum docker_effect effect =
        docker_event_effect(&ev, c ? c->stop_signal : NULL, c ? c->has_healthcheck : false);
    note(f, LL_DEBUG, "docker event %.64s container=%.12s", ev.action, ev.id);
    if (effect == DOCKER_EFFECT_REGISTER && (c = get(f, ev.id))) {
        c->gen++;
        c->touched = f->resync_no;
        c->stopping = false;
        inspect(f, c, false);
    } else if (effect == DOCKER_EFFECT_DEREGISTER && (c = get(f, ev.id))) {
        char why[96];
        if (ev.signal)
            snprintf(why, sizeof why, "%.40s signal %.16s", ev.action, ev.signal);
        else
            snprintf(why, sizeof why, "%.64s", ev.action);
        c->gen++;
        c->touched = f->resync_no;
        /* Only a kill leaves a process that may still run; after die or stop
         * a resync that finds it running has seen it start again. */
        c->stopping = strcmp(ev.action, "kill") == 0;
        c->stopping_since = f->rq->now_ms(f->rq_arg);
        bool final = strcmp(ev.action, "destroy") == 0;
        f->rp->gone(f->arg, ev.id, why, &ev, final, &c->data);
        if (final) forget(f, c);
    }
    docker_event_clear(&ev);
}
