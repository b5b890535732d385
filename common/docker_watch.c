#include "docker_watch.h"

#include "backoff.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_PATH "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D"
#define RESYNC_MIN_MS 100 /* the interval may be tiny; a resync loop may not be */

struct docker_watch {
    struct loop *loop;
    struct docker_client *client;
    struct docker_follow *follow;
    struct docker_stream *events;
    char *prefix;
    uint64_t reconnect_timer, resync_timer, resync_ms;
    bool once;
};

/* An inspect in flight: the follower's question, copied. */
struct inspect_req {
    struct docker_watch *w;
    char *id;
    struct docker_follow_inspect q;
};

static void on_version(void *arg, long status, const char *body, size_t len, const char *error)
{
    struct docker_watch *w = arg;
    if (error != DOCKER_CANCELLED) docker_follow_version_reply(w->follow, status, body, len, error);
}

static int ask_version(void *arg)
{
    struct docker_watch *w = arg;
    return docker_client_get(w->client, "/version", on_version, w);
}

static void on_events_open(void *arg)
{
    struct docker_watch *w = arg;
    docker_follow_events_opened(w->follow);
}

static void on_event_line(void *arg, const char *line, size_t len)
{
    struct docker_watch *w = arg;
    docker_follow_event_line(w->follow, line, len);
}

static void on_events_end(void *arg, const char *error)
{
    struct docker_watch *w = arg;
    w->events = NULL;
    docker_follow_events_ended(w->follow, error);
}

static int open_events(void *arg)
{
    struct docker_watch *w = arg;
    w->events = docker_client_stream(w->client, EVENTS_PATH, on_events_open, on_event_line,
                                     on_events_end, w);
    return w->events ? 0 : -1;
}

static void on_list(void *arg, long status, const char *body, size_t len, const char *error)
{
    struct docker_watch *w = arg;
    if (error != DOCKER_CANCELLED) docker_follow_list_reply(w->follow, status, body, len, error);
}

static int ask_list(void *arg)
{
    struct docker_watch *w = arg;
    return docker_client_get(w->client, "/containers/json", on_list, w);
}

static void on_inspect(void *arg, long status, const char *body, size_t len, const char *error)
{
    struct inspect_req *r = arg;
    if (error != DOCKER_CANCELLED)
        docker_follow_inspect_reply(r->w->follow, &r->q, status, body, len, error);
    free(r->id);
    free(r);
}

static int ask_inspect(void *arg, const struct docker_follow_inspect *q)
{
    struct docker_watch *w = arg;
    char path[200];
    if (!docker_id_is_valid(q->id)) return -1;
    struct inspect_req *r = calloc(1, sizeof *r);
    if (!r || !(r->id = strdup(q->id))) {
        free(r);
        return -1;
    }
    r->w = w;
    r->q = *q;
    r->q.id = r->id;
    snprintf(path, sizeof path, "/containers/%s/json", q->id);
    if (docker_client_get(w->client, path, on_inspect, r) < 0) {
        free(r->id);
        free(r);
        return -1;
    }
    return 0;
}

static void reconnect(void *arg)
{
    struct docker_watch *w = arg;
    w->reconnect_timer = 0;
    docker_follow_start(w->follow);
}

static void retry_in(void *arg, unsigned delay_ms)
{
    struct docker_watch *w = arg;
    if (!w->reconnect_timer) w->reconnect_timer = loop_timer(w->loop, delay_ms, reconnect, w);
}

static uint64_t now_ms(void *arg)
{
    (void)arg;
    return loop_now_ms();
}

static void note(void *arg, enum log_level level, const char *msg)
{
    struct docker_watch *w = arg;
    if (log_enabled(level)) log_msg(level, "%s: %s", w->prefix, msg);
}

static const struct docker_follow_requests requests = {
    ask_version, open_events, ask_list, ask_inspect, retry_in, now_ms, note,
};

static void on_resync_timer(void *arg)
{
    struct docker_watch *w = arg;
    w->resync_timer = loop_timer(w->loop, w->resync_ms, on_resync_timer, w);
    docker_follow_tick(w->follow);
}

struct docker_watch *docker_watch_new(struct loop *l, const struct docker_watch_config *cfg,
                                      const struct docker_follow_reports *rp, void *arg, char *err,
                                      size_t errlen)
{
    struct docker_watch *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->loop = l;
    w->once = cfg->once;
    w->resync_ms = cfg->resync_ms < RESYNC_MIN_MS ? RESYNC_MIN_MS : cfg->resync_ms;
    if (!(w->client = docker_client_new(l, cfg->url, err, errlen))) {
        free(w);
        return NULL;
    }
    size_t n = (cfg->log_prefix ? strlen(cfg->log_prefix) : strlen(cfg->url)) + 8;
    if ((w->prefix = malloc(n)))
        snprintf(w->prefix, n, cfg->log_prefix ? "%s" : "docker %s",
                 cfg->log_prefix ? cfg->log_prefix : docker_client_url(w->client));
    struct docker_follow_config fc = {
        .resync_ms = w->resync_ms, .once = cfg->once, .seed = backoff_seed(w)};
    w->follow = docker_follow_new(&fc, &requests, w, rp, arg);
    /* Connect from the loop, so nothing is reported before we return. */
    if (w->prefix && w->follow) w->reconnect_timer = loop_timer(l, 0, reconnect, w);
    if (!w->reconnect_timer) {
        snprintf(err, errlen, "out of memory");
        docker_watch_free(w);
        return NULL;
    }
    if (!cfg->once) w->resync_timer = loop_timer(l, w->resync_ms, on_resync_timer, w);
    return w;
}

void docker_watch_free(struct docker_watch *w)
{
    if (!w) return;
    if (w->reconnect_timer) loop_timer_cancel(w->loop, w->reconnect_timer);
    if (w->resync_timer) loop_timer_cancel(w->loop, w->resync_timer);
    docker_client_free(w->client); /* ends the stream; replies in flight free their args */
    docker_follow_free(w->follow);
    free(w->prefix);
    free(w);
}

void docker_watch_resync(struct docker_watch *w)
{
    docker_follow_resync(w->follow);
}

void docker_watch_each(struct docker_watch *w, void (*fn)(void *arg, void *data), void *arg)
{
    docker_follow_each(w->follow, fn, arg);
}

bool docker_watch_resyncing(const struct docker_watch *w)
{
    return docker_follow_resyncing(w->follow);
}

const char *docker_watch_url(const struct docker_watch *w)
{
    return docker_client_url(w->client);
}

int docker_watch_kill(struct docker_watch *w, const char *id, const char *signal,
                      docker_reply_fn *fn, void *arg)
{
    char path[256];
    if (!docker_id_is_valid(id) ||
        strspn(signal, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+") != strlen(signal))
        return -1;
    snprintf(path, sizeof path, "/containers/%s/kill?signal=%.32s", id, signal);
    return docker_client_post(w->client, path, fn, arg);
}
