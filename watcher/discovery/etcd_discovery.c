/*
 * discovery "etcd": every key under a prefix, each value Nerve JSON.
 *
 * The prefix is read once (/v3/kv/range), then watched from the revision
 * after that read (/v3/watch), so no change between the two is lost. A
 * dropped stream resumes from the last revision seen; when etcd has
 * compacted that revision away, or its revision went back (restored from a
 * snapshot), everything is read again. While etcd is away nothing is
 * published, so HAProxy keeps the last known backends; reconnects back off
 * from 250 ms to 30 s, with jitter.
 *
 * A stream whose member froze or lost its quorum stays open and silent, so
 * a silent stream is checked (watch_guard.h): after WATCH_QUIET_MS without a
 * message, a one-key read goes to the same member; if the member does not
 * answer it within the client's request timeout, the client moves to the
 * next endpoint and the watch resumes there from the last revision seen.
 *
 * A value that does not decode is skipped with one log line naming the key;
 * its neighbours are published as usual.
 *
 * Authentication ("username"/"password") and TLS ("ca_file", "cert_file"/
 * "key_file") come parsed and checked from syn_config.
 */
#include "etcd_discovery.h"

#include "backoff.h"
#include "watch_guard.h"

#include "etcd_client.h"
#include "etcd_codec.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define BACKOFF_JITTER_PERCENT 25
/* Keys per range read: a prefix of 20,000 registrations is read in pages
 * at one revision instead of one body of up to 64 MiB. */
#define RANGE_PAGE_KEYS 1000
/* Silence on a watch stream before its member is asked to answer a read:
 * one small read per quiet service every 5 s, and a frozen member is left
 * within 5 s plus the client's request timeout (5 s). */
#define WATCH_QUIET_MS 5000

struct etcd_item {
    char *key;
    bool ok; /* false: the value did not decode */
    struct backend b;
};

struct etcd_discovery {
    struct loop *loop;
    const struct syn_service *svc;
    size_t index;
    discovery_update_fn *fn;
    void *arg;
    struct etcd_client *client;
    struct discovery_hub *hub;
    char *prefix;
    struct etcd_item *items; /* sorted by key */
    size_t n, cap;
    int64_t read_revision; /* the revision a paged read started at */
    char *read_after;      /* the last key of the previous page */
    int64_t revision;      /* every change up to it is in items; 0: not read yet */
    bool reading;          /* a range is in flight */
    struct etcd_stream *watch;
    struct watch_guard guard; /* is the watch's member still serving? */
    char *watch_endpoint;     /* the member the open stream is on */
    uint64_t guard_timer;
    uint64_t retry_timer;
    struct backoff backoff;
    char last_error[256];
};

static void start(struct etcd_discovery *d);

static void report(struct etcd_discovery *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void report(struct etcd_discovery *d, const char *fmt, ...)
{
    char msg[sizeof d->last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (strcmp(msg, d->last_error) == 0) {
        log_debug("%s", msg);
        return;
    }
    snprintf(d->last_error, sizeof d->last_error, "%s", msg);
    log_warn("%s", msg);
}

static void item_clear(struct etcd_item *it)
{
    free(it->key);
    backend_clear(&it->b);
}

static void items_clear(struct etcd_discovery *d)
{
    for (size_t i = 0; i < d->n; i++)
        item_clear(&d->items[i]);
    d->n = 0;
}

/* The index of key in the sorted items, or where it would go (*found false). */
static size_t position(const struct etcd_discovery *d, const char *key, bool *found)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(d->items[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void remove_key(struct etcd_discovery *d, const char *key)
{
    bool found;
    size_t i = position(d, key, &found);
    if (!found) return;
    item_clear(&d->items[i]);
    memmove(&d->items[i], &d->items[i + 1], (d->n - i - 1) * sizeof *d->items);
    d->n--;
}

/* Adds or replaces key; a value that does not decode is kept as not ok. */
static void put_key(struct etcd_discovery *d, const struct etcd_kv *kv)
{
    bool found;
    size_t at = position(d, kv->key, &found);
    struct etcd_item *it = &d->items[at];
    if (!found) {
        if (d->n == d->cap) {
            size_t cap = d->cap ? d->cap * 2 : 16;
            struct etcd_item *v = realloc(d->items, cap * sizeof *v);
            if (!v) return;
            d->items = v;
            d->cap = cap;
        }
        char *key = strdup(kv->key);
        if (!key) return;
        it = &d->items[at];
        /* a range arrives sorted: appending moves nothing */
        memmove(it + 1, it, (d->n - at) * sizeof *it);
        memset(it, 0, sizeof *it);
        it->key = key;
        d->n++;
    }
    char err[256];
    backend_clear(&it->b);
    it->ok = backend_decode_nerve(kv->value, kv->value_len, &it->b, err, sizeof err) == 0;
    if (it->ok) {
        it->b.source = strdup(kv->key);
        it->b.created = kv->create_revision; /* first registration of an address wins */
        return;
    }
    char *shown = backend_text_is_safe(kv->key) ? NULL : backend_server_name_dup(kv->key);
    log_warn("service %s: skipping key %s: %s", d->svc->name, shown ? shown : kv->key, err);
    discovery_hub_reject(d->hub, d->svc->name, err);
    free(shown);
}

static void publish(struct etcd_discovery *d)
{
    struct backend_list list = {0};
    for (size_t i = 0; i < d->n; i++) {
        struct backend copy;
        if (!d->items[i].ok) continue;
        if (backend_copy(&copy, &d->items[i].b) < 0 || backend_list_push(&list, &copy) < 0) {
            backend_clear(&copy);
            backend_list_clear(&list);
            log_error("service %s: out of memory", d->svc->name);
            return;
        }
    }
    log_debug("service %s: %zu backends under %s at revision %" PRId64, d->svc->name, list.n,
              d->prefix, d->revision);
    d->fn(d->arg, d->index, &list);
    backend_list_clear(&list);
}

static void retry_now(void *arg)
{
    struct etcd_discovery *d = arg;
    d->retry_timer = 0;
    start(d);
}

static void schedule_retry(struct etcd_discovery *d)
{
    if (d->retry_timer) return;
    d->retry_timer = loop_timer(d->loop, backoff_next(&d->backoff), retry_now, d);
}

static void guard_check(struct etcd_discovery *d);
static void watch(struct etcd_discovery *d);

static void stop_watch(struct etcd_discovery *d)
{
    etcd_stream_cancel(d->watch);
    d->watch = NULL;
    watch_guard_closed(&d->guard);
}

static void on_probe(void *arg, const cJSON *reply, const struct etcd_error *err)
{
    struct etcd_discovery *d = arg;
    (void)reply;
    if (err && err->code == ETCD_CANCELLED) return;
    uint64_t now = loop_now_ms();
    uint64_t quiet_ms = now - d->guard.last_heard_ms;
    /* A read the client could not even send to the stream's member went to
     * the next endpoint: an answer from there says nothing about the
     * stream's member, except that the client left it. */
    const char *ep = etcd_client_endpoint(d->client);
    bool moved = d->watch_endpoint && strcmp(ep, d->watch_endpoint) != 0;
    if (watch_guard_probe_done(&d->guard, now, !err && !moved) != WATCH_GUARD_MOVE) {
        guard_check(d);
        return;
    }
    /* the client moved on when the read timed out */
    log_warn("service %s: the etcd watch of %s on %s was silent for %" PRIu64
             " ms and that member did not answer a read (%s); watching through %s from revision "
             "%" PRId64,
             d->svc->name, d->prefix, d->watch_endpoint ? d->watch_endpoint : "?", quiet_ms,
             err ? err->message : "the read went to another endpoint", ep, d->revision + 1);
    stop_watch(d);
    watch(d);
}

/* A linearizable read of one key under the prefix, on the watch's member
 * (the client's current endpoint: this client serves no one else). */
static void send_probe(struct etcd_discovery *d)
{
    char *body = etcd_req_range_page(d->prefix, NULL, 0, 1);
    if (!body || etcd_client_post(d->client, "/v3/kv/range", body, on_probe, d) < 0) {
        free(body);
        log_error("service %s: cannot send a read to check the etcd watch", d->svc->name);
        watch_guard_probe_done(&d->guard, loop_now_ms(), true); /* try again later */
        return;
    }
    free(body);
    log_debug("service %s: the etcd watch of %s is quiet; checking that %s still serves",
              d->svc->name, d->prefix, etcd_client_endpoint(d->client));
}

static void guard_fire(void *arg)
{
    struct etcd_discovery *d = arg;
    d->guard_timer = 0;
    guard_check(d);
}

/* Does what the guard says now, and sets the timer for its next look. */
static void guard_check(struct etcd_discovery *d)
{
    if (d->guard_timer) loop_timer_cancel(d->loop, d->guard_timer);
    d->guard_timer = 0;
    uint64_t now = loop_now_ms(), next;
    if (watch_guard_check(&d->guard, now, &next) == WATCH_GUARD_PROBE) send_probe(d);
    if (next) d->guard_timer = loop_timer(d->loop, next > now ? next - now : 0, guard_fire, d);
}

/* Forget everything read so far and read it all again, now. */
static void resync(struct etcd_discovery *d)
{
    stop_watch(d);
    d->revision = 0;
    if (!d->retry_timer) d->retry_timer = loop_timer(d->loop, 0, retry_now, d);
}

static void on_watch_msg(void *arg, const cJSON *msg)
{
    struct etcd_discovery *d = arg;
    struct etcd_watch_msg m;
    char err[256];
    uint64_t t0 = loop_now_us(); /* -v stage timings: the message is parsed JSON by now */
    if (etcd_decode_watch(msg, &m, err, sizeof err) < 0) {
        report(d, "service %s: etcd watch message: %s; watching again", d->svc->name, err);
        stop_watch(d);
        schedule_retry(d);
        return;
    }
    if (m.canceled && m.compact_revision > 0) {
        log_warn("service %s: etcd compacted revision %" PRId64 " (up to %" PRId64
                 ") before the watch resumed; reading everything under %s again",
                 d->svc->name, d->revision + 1, m.compact_revision, d->prefix);
        resync(d);
    } else if (m.canceled) {
        const char *why = m.cancel_reason ? m.cancel_reason : "no reason given";
        if (strstr(why, "auth token") || strstr(why, "user name is empty"))
            etcd_client_auth_rejected(d->client);
        report(d, "service %s: etcd %s canceled the watch of %s: %s%s; retrying", d->svc->name,
               etcd_client_endpoint(d->client), d->prefix, why,
               strstr(why, "user name is empty")
                   ? " (etcd requires authentication: set discovery username and password)"
                   : "");
        stop_watch(d);
        schedule_retry(d);
    } else if (m.created && m.header_revision > 0 && m.header_revision < d->revision) {
        log_warn("service %s: etcd's revision went back from %" PRId64 " to %" PRId64
                 " (restored from a snapshot?); reading everything under %s again",
                 d->svc->name, d->revision, m.header_revision, d->prefix);
        resync(d);
    } else {
        watch_guard_heard(&d->guard, loop_now_ms());
        if (m.created) {
            free(d->watch_endpoint);
            d->watch_endpoint = strdup(etcd_client_endpoint(d->client));
            watch_guard_opened(&d->guard, loop_now_ms());
            guard_check(d);
            log_info("service %s: watching etcd %s%s from revision %" PRId64, d->svc->name,
                     etcd_client_endpoint(d->client), d->prefix, d->revision + 1);
            d->last_error[0] = 0;
            backoff_reset(&d->backoff);
        }
        const struct etcd_event **news = m.nevents ? calloc(m.nevents, sizeof *news) : NULL;
        if (m.nevents && !news) {
            log_error("service %s: out of memory for %zu watch events; reading %s again",
                      d->svc->name, m.nevents, d->prefix);
            etcd_watch_msg_clear(&m);
            resync(d);
            return;
        }
        uint64_t t1 = loop_now_us();
        size_t n = m.nevents ? etcd_watch_msg_news(&m, &d->revision, news) : 0;
        for (size_t i = 0; i < n; i++) {
            if (news[i]->type == ETCD_EVENT_DELETE)
                remove_key(d, news[i]->kv.key);
            else
                put_key(d, &news[i]->kv);
        }
        free(news);
        if (n) {
            uint64_t t2 = loop_now_us();
            log_debug("service %s: etcd watch message (%zu events, revision %" PRId64
                      "): decoded in %llu us, backends decoded in %llu us",
                      d->svc->name, n, d->revision, (unsigned long long)(t1 - t0),
                      (unsigned long long)(t2 - t1));
            publish(d);
            log_debug("service %s: published %llu us after the watch message arrived", d->svc->name,
                      (unsigned long long)(loop_now_us() - t0));
        }
    }
    etcd_watch_msg_clear(&m);
}

static void on_watch_end(void *arg, const struct etcd_error *err)
{
    struct etcd_discovery *d = arg;
    d->watch = NULL;
    watch_guard_closed(&d->guard);
    if (err->code == ETCD_CODE_UNAUTHENTICATED) etcd_client_auth_rejected(d->client);
    report(d, "service %s: etcd watch of %s ended: %s; resuming from revision %" PRId64,
           d->svc->name, d->prefix, err->message, d->revision + 1);
    schedule_retry(d);
}

static void watch(struct etcd_discovery *d)
{
    char *body = etcd_req_watch_prefix(d->prefix, d->revision + 1);
    d->watch = body
                   ? etcd_client_stream(d->client, "/v3/watch", body, on_watch_msg, on_watch_end, d)
                   : NULL;
    free(body);
    if (!d->watch) schedule_retry(d);
}

static int read_page(struct etcd_discovery *d);

static void on_range(void *arg, const cJSON *reply, const struct etcd_error *err)
{
    struct etcd_discovery *d = arg;
    if (err && err->code == ETCD_CANCELLED) return;
    d->reading = false;
    struct etcd_range range;
    char derr[256];
    if (err || etcd_decode_range(reply, &range, derr, sizeof derr) < 0) {
        report(d, "service %s: reading etcd %s: %s; retrying", d->svc->name, d->prefix,
               err ? err->message : derr);
        free(d->read_after);
        d->read_after = NULL;
        schedule_retry(d);
        return;
    }
    if (!d->read_after) {
        items_clear(d); /* the first page */
        d->read_revision = range.revision;
    }
    for (size_t i = 0; i < range.n; i++)
        put_key(d, &range.kvs[i]);
    free(d->read_after);
    d->read_after = range.more && range.n > 0 ? strdup(range.kvs[range.n - 1].key) : NULL;
    etcd_range_clear(&range);
    if (d->read_after) {
        if (read_page(d) < 0) {
            free(d->read_after);
            d->read_after = NULL;
            schedule_retry(d);
        }
        return;
    }
    d->revision = d->read_revision;
    log_info("service %s: read %zu keys under %s from etcd %s at revision %" PRId64, d->svc->name,
             d->n, d->prefix, etcd_client_endpoint(d->client), d->revision);
    publish(d);
    watch(d);
}

/* The next page of the prefix: the first, or the one after d->read_after at
 * the revision the first page saw, so the pages make one consistent read. */
static int read_page(struct etcd_discovery *d)
{
    char *body = etcd_req_range_page(d->prefix, d->read_after, d->read_after ? d->read_revision : 0,
                                     RANGE_PAGE_KEYS);
    int rc = body && etcd_client_post(d->client, "/v3/kv/range", body, on_range, d) == 0 ? 0 : -1;
    if (rc == 0) d->reading = true;
    free(body);
    return rc;
}

/* Reads everything when nothing was read yet, else resumes the watch. */
static void start(struct etcd_discovery *d)
{
    if (d->reading || d->watch) return;
    if (d->revision > 0) {
        watch(d);
        return;
    }
    free(d->read_after);
    d->read_after = NULL;
    if (read_page(d) < 0) schedule_retry(d);
}

static void *etcdd_new(struct discovery_hub *h, const struct syn_service *svc, size_t index,
                       discovery_update_fn *fn, void *arg)
{
    const struct syn_discovery *disc = &svc->discovery;
    struct etcd_client_opts o = {
        .endpoints = disc->endpoints.v,
        .nendpoints = disc->endpoints.n,
        .username = disc->etcd_username,
        .password = disc->etcd_password,
        .ca_file = disc->etcd_ca_file,
        .cert_file = disc->etcd_cert_file,
        .key_file = disc->etcd_key_file,
    };
    struct etcd_discovery *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    size_t pl = strlen(disc->path);
    bool slash = pl > 0 && disc->path[pl - 1] == '/';
    if (asprintf(&d->prefix, "%s%s", disc->path, slash ? "" : "/") < 0) {
        d->prefix = NULL;
        free(d);
        return NULL;
    }
    d->loop = h->loop;
    d->hub = h;
    d->svc = svc;
    d->index = index;
    d->fn = fn;
    d->arg = arg;
    watch_guard_init(&d->guard, WATCH_QUIET_MS);
    backoff_init(&d->backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS, BACKOFF_JITTER_PERCENT,
                 backoff_seed(d));
    d->client = etcd_client_new(h->loop, &o);
    if (!d->client) {
        free(d->prefix);
        free(d);
        return NULL;
    }
    log_info("service %s: watching etcd %s%s%s", svc->name, etcd_client_endpoint(d->client),
             d->prefix, o.username ? " (with authentication)" : "");
    start(d);
    return d;
}

static void etcdd_free(void *impl)
{
    struct etcd_discovery *d = impl;
    if (d->retry_timer) loop_timer_cancel(d->loop, d->retry_timer);
    if (d->guard_timer) loop_timer_cancel(d->loop, d->guard_timer);
    stop_watch(d);
    etcd_client_free(d->client); /* a range in flight ends with ETCD_CANCELLED */
    items_clear(d);
    free(d->items);
    free(d->read_after);
    free(d->watch_endpoint);
    free(d->prefix);
    free(d);
}

/* Connected: the prefix was read and its watch stream is open. */
static int etcdd_connected(const void *impl)
{
    const struct etcd_discovery *d = impl;
    return d->watch && d->revision > 0 ? 1 : 0;
}

const struct discovery_impl etcd_discovery_impl = {etcdd_new, etcdd_free, etcdd_connected};
