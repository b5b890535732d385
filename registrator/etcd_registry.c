/*
 * Registrations as etcd keys on one lease: <prefix><service>/<instance>,
 * value = Nerve JSON. The lease is kept alive every TTL/3; when etcd says it
 * is gone (expired during a partition, revoked, or etcd restored from a
 * snapshot) a new one is granted and every wanted key is put again on it.
 * Freeing the registry revokes the lease, so every key of this host
 * disappears at once.
 *
 * Puts and deletes are idempotent, so each entry simply converges: a wanted
 * entry is put until it is on the current lease with its current payload, an
 * unwanted one is deleted unless it is known to be absent. At most one
 * request per entry is in flight.
 */
#include "etcd_registry.h"

#include "backoff.h"
#include "etcd_client.h"
#include "etcd_codec.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MS 1000
#define GRANT_BACKOFF_MIN_MS 250
#define GRANT_BACKOFF_MAX_MS 5000
#define KEEPALIVE_RETRY_MS 500
#define REVOKE_TIMEOUT_MS 2000

struct etcd_registry;

struct etcd_entry {
    struct etcd_entry *next;
    struct etcd_registry *reg;
    char *key, *payload;
    char *what; /* "nodesrv 127.0.0.2:18000 container=3f2a1b2c3d4e", for logs */
    bool wanted;
    bool busy;          /* a put or delete is in flight */
    bool maybe_present; /* a put may have landed since the last delete or lost lease */
    int64_t put_lease;  /* the lease the key was last put on; 0: not on the current one */
    uint64_t version, put_version; /* of the payload wanted and the one last put */
};

struct etcd_registry {
    struct loop *loop;
    struct etcd_client *client;
    char *prefix;
    int ttl_s;
    int keepalive_s; /* -ttl-refresh; 0: a third of the granted TTL */
    int64_t lease, lease_ttl;
    int64_t keepalive_lease; /* the lease the keepalive in flight is for */
    bool granting, keepalive_busy, closing;
    struct backoff grant_backoff;
    uint64_t keepalive_timer, grant_timer, retry_timer;
    struct etcd_entry *entries;
    /* A failure repeating while etcd is away is logged once: one for the
     * lease (grant, keepalive), one for the keys (put, delete). */
    char lease_error[256], key_error[256];
    registry_lost_fn *on_lost;
    void *arg;
};

/* One put or delete in flight. */
struct etcd_op {
    struct etcd_entry *e;
    int64_t lease;
    uint64_t version;
};

static void converge(struct etcd_entry *e);
static void grant(struct etcd_registry *r);

#define ERROR_LEN 256

static void report(char *last, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(char *last, const char *fmt, ...)
{
    char msg[ERROR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (strcmp(msg, last) == 0) {
        log_debug("%s", msg);
        return;
    }
    snprintf(last, ERROR_LEN, "%s", msg);
    log_error("%s", msg);
}

/* What failed before works again: say so once. */
static void recovered(char *last, const char *what)
{
    if (!last[0]) return;
    last[0] = 0;
    log_info("%s works again", what);
}

static void entry_free(struct etcd_entry *e)
{
    free(e->key);
    free(e->payload);
    free(e->what);
    free(e);
}

static void unlink_and_free(struct etcd_entry *e)
{
    struct etcd_entry **p = &e->reg->entries;
    while (*p && *p != e)
        p = &(*p)->next;
    if (*p) *p = e->next;
    entry_free(e);
}

static void retry_all(void *arg)
{
    struct etcd_registry *r = arg;
    r->retry_timer = 0;
    for (struct etcd_entry *e = r->entries, *next; e; e = next) {
        next = e->next;
        converge(e);
    }
}

static void schedule_retry(struct etcd_registry *r)
{
    if (!r->retry_timer && !r->closing)
        r->retry_timer = loop_timer(r->loop, RETRY_MS, retry_all, r);
}

static bool lease_not_found(const struct etcd_error *err)
{
    return err->code == ETCD_CODE_NOT_FOUND && strstr(err->message, "lease not found");
}

/* Every key on the lease is gone: start over on a new lease. */
static void lease_lost(struct etcd_registry *r, const char *why)
{
    log_warn("etcd lease %" PRIx64 " lost (%s); granting a new one and registering everything "
             "again",
             r->lease, why);
    r->lease = 0;
    if (r->keepalive_timer) loop_timer_cancel(r->loop, r->keepalive_timer);
    r->keepalive_timer = 0;
    for (struct etcd_entry *e = r->entries, *next; e; e = next) {
        next = e->next;
        e->put_lease = 0;
        e->maybe_present = false;
        if (!e->wanted && !e->busy) unlink_and_free(e);
    }
    grant(r);
    if (r->on_lost) r->on_lost(r->arg);
}

static void on_put(void *arg, const cJSON *reply, const struct etcd_error *err)
{
    (void)reply;
    struct etcd_op *op = arg;
    struct etcd_entry *e = op->e;
    struct etcd_registry *r = e->reg;
    int64_t lease = op->lease;
    uint64_t version = op->version;
    free(op);
    e->busy = false;
    if (r->closing) return;
    if (!err) {
        recovered(r->key_error, "registering in etcd");
        if (lease == r->lease) {
            if (e->put_lease != lease)
                log_info("registered %s key=%s lease=%" PRIx64, e->what, e->key, lease);
            e->put_lease = lease;
            e->put_version = version;
        }
    } else if (lease_not_found(err)) {
        if (lease == r->lease) {
            lease_lost(r, err->message);
            return; /* e may be gone; everything converges after the grant */
        }
    } else {
        report(r->key_error, "registering %s at %s: %s; retrying", e->what, e->key, err->message);
        schedule_retry(r);
        return;
    }
    converge(e);
}

static void on_deleted(void *arg, const cJSON *reply, const struct etcd_error *err)
{
    (void)reply;
    struct etcd_op *op = arg;
    struct etcd_entry *e = op->e;
    struct etcd_registry *r = e->reg;
    free(op);
    e->busy = false;
    if (r->closing) return;
    if (err) {
        report(r->key_error, "deleting %s: %s; retrying", e->key, err->message);
        schedule_retry(r);
        return;
    }
    recovered(r->key_error, "registering in etcd");
    if (!e->wanted) log_info("deregistered %s key=%s", e->what, e->key);
    e->maybe_present = false;
    e->put_lease = 0;
    converge(e);
}

static void converge(struct etcd_entry *e)
{
    struct etcd_registry *r = e->reg;
    if (e->busy || r->closing) return;
    char *body;
    const char *path;
    etcd_reply_fn *fn;
    if (e->wanted) {
        if (!r->lease || (e->put_lease == r->lease && e->put_version == e->version)) return;
        body = etcd_req_put(e->key, e->payload, strlen(e->payload), r->lease);
        path = "/v3/kv/put";
        fn = on_put;
        e->maybe_present = true;
    } else {
        if (!e->maybe_present) {
            unlink_and_free(e);
            return;
        }
        body = etcd_req_delete(e->key);
        path = "/v3/kv/deleterange";
        fn = on_deleted;
    }
    struct etcd_op *op = body ? calloc(1, sizeof *op) : NULL;
    if (op) {
        *op = (struct etcd_op){e, r->lease, e->version};
        if (etcd_client_post(r->client, path, body, fn, op) == 0)
            e->busy = true;
        else
            free(op);
    }
    free(body);
    if (!e->busy) schedule_retry(r);
}

static void keepalive(void *arg);

static void schedule_keepalive(struct etcd_registry *r, uint64_t ms)
{
    if (r->keepalive_timer) loop_timer_cancel(r->loop, r->keepalive_timer);
    r->keepalive_timer = loop_timer(r->loop, ms, keepalive, r);
}

static uint64_t keepalive_interval_ms(const struct etcd_registry *r)
{
    uint64_t ms = (uint64_t)r->lease_ttl * 1000 / 3;
    /* A refresh asked for is kept unless the granted TTL is shorter. */
    if (r->keepalive_s > 0 && (int64_t)r->keepalive_s < r->lease_ttl)
        ms = (uint64_t)r->keepalive_s * 1000;
    return ms < 300 ? 300 : ms;
}

static void on_keepalive(void *arg, const cJSON *reply, const struct etcd_error *err)
{
    struct etcd_registry *r = arg;
    if (err && err->code == ETCD_CANCELLED) return;
    r->keepalive_busy = false;
    if (!r->lease || r->keepalive_lease != r->lease) return; /* lost meanwhile */
    int64_t ttl = 0;
    char derr[160];
    if (err) {
        report(r->lease_error, "keeping etcd lease %" PRIx64 " alive: %s; retrying", r->lease,
               err->message);
        schedule_keepalive(r, KEEPALIVE_RETRY_MS);
    } else if (etcd_decode_keepalive(reply, &ttl, derr, sizeof derr) < 0) {
        report(r->lease_error, "keeping etcd lease %" PRIx64 " alive: %s; retrying", r->lease,
               derr);
        schedule_keepalive(r, KEEPALIVE_RETRY_MS);
    } else if (ttl <= 0) {
        lease_lost(r, "keepalive: the lease has expired");
    } else {
        recovered(r->lease_error, "keeping the etcd lease alive");
        schedule_keepalive(r, keepalive_interval_ms(r));
    }
}

static void keepalive(void *arg)
{
    struct etcd_registry *r = arg;
    r->keepalive_timer = 0;
    if (!r->lease) return;
    if (r->keepalive_busy) { /* one for an earlier lease is still out */
        schedule_keepalive(r, KEEPALIVE_RETRY_MS);
        return;
    }
    r->keepalive_lease = r->lease;
    char *body = etcd_req_lease_id(r->lease);
    if (body && etcd_client_post(r->client, "/v3/lease/keepalive", body, on_keepalive, r) == 0)
        r->keepalive_busy = true;
    else
        schedule_keepalive(r, KEEPALIVE_RETRY_MS);
    free(body);
}

static void grant_later(void *arg)
{
    struct etcd_registry *r = arg;
    r->grant_timer = 0;
    grant(r);
}

static void on_granted(void *arg, const cJSON *reply, const struct etcd_error *err)
{
    struct etcd_registry *r = arg;
    if (err && err->code == ETCD_CANCELLED) return;
    r->granting = false;
    int64_t id = 0, ttl = 0;
    char derr[160];
    if (err || etcd_decode_lease_grant(reply, &id, &ttl, derr, sizeof derr) < 0) {
        report(r->lease_error, "granting an etcd lease: %s; retrying", err ? err->message : derr);
        r->grant_timer = loop_timer(r->loop, backoff_next(&r->grant_backoff), grant_later, r);
        return;
    }
    r->lease_error[0] = 0; /* the "granted" line says it */
    backoff_reset(&r->grant_backoff);
    r->lease = id;
    r->lease_ttl = ttl;
    log_info("etcd lease %" PRIx64 " granted by %s, ttl %" PRId64 "s", id,
             etcd_client_endpoint(r->client), ttl);
    schedule_keepalive(r, keepalive_interval_ms(r));
    retry_all(r);
}

static void grant(struct etcd_registry *r)
{
    if (r->granting || r->grant_timer || r->closing) return;
    char *body = etcd_req_lease_grant(r->ttl_s);
    if (body && etcd_client_post(r->client, "/v3/lease/grant", body, on_granted, r) == 0)
        r->granting = true;
    else
        r->grant_timer = loop_timer(r->loop, GRANT_BACKOFF_MAX_MS, grant_later, r);
    free(body);
}

static struct etcd_entry *find(struct etcd_registry *r, const char *key)
{
    for (struct etcd_entry *e = r->entries; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e;
    return NULL;
}

static int etcdr_put(void *impl, const struct registration *reg)
{
    struct etcd_registry *r = impl;
    char *key = NULL;
    if (asprintf(&key, "%s%s/%s", r->prefix, reg->service, reg->instance) < 0) return -1;
    char *payload = reg->payload ? strdup(reg->payload) : backend_encode_nerve(&reg->backend);
    struct etcd_entry *e = find(r, key);
    if (!payload || (!e && !(e = calloc(1, sizeof *e)))) {
        free(key);
        free(payload);
        return -1;
    }
    if (!e->key) {
        char what[512];
        snprintf(what, sizeof what, "%s %s:%d container=%.12s", reg->service, reg->backend.host,
                 reg->backend.port, reg->backend.container_id ? reg->backend.container_id : "-");
        e->reg = r;
        e->key = key;
        e->what = strdup(what);
        e->next = r->entries;
        r->entries = e;
        key = NULL;
    }
    free(key);
    if (!e->payload || strcmp(e->payload, payload) != 0) e->version++;
    free(e->payload);
    e->payload = payload;
    e->wanted = true;
    converge(e);
    return 0;
}

static void etcdr_remove(void *impl, const char *service, const char *instance)
{
    struct etcd_registry *r = impl;
    char *key = NULL;
    if (asprintf(&key, "%s%s/%s", r->prefix, service, instance) < 0) return;
    struct etcd_entry *e = find(r, key);
    free(key);
    if (!e || !e->wanted) return;
    e->wanted = false;
    converge(e);
}

static bool etcdr_connected(const void *impl)
{
    const struct etcd_registry *r = impl;
    return r->lease != 0 && !r->granting;
}

static char *etcdr_describe(const void *impl, const char *service, const char *instance)
{
    const struct etcd_registry *r = impl;
    char *key = NULL;
    if (asprintf(&key, "%s%s/%s", r->prefix, service, instance) < 0) return NULL;
    if (!find((struct etcd_registry *)r, key)) {
        free(key);
        return NULL;
    }
    return key;
}

static bool etcdr_settled(const void *impl)
{
    const struct etcd_registry *r = impl;
    if (!r->lease || r->granting) return false;
    for (const struct etcd_entry *e = r->entries; e; e = e->next)
        if (e->busy || !e->wanted || e->put_lease != r->lease || e->put_version != e->version)
            return false;
    return true;
}

void *etcd_registry_new(struct loop *l, const struct reg_config *cfg, registry_lost_fn *on_lost,
                        void *arg)
{
    struct etcd_registry *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    long timeout = cfg->etcd_ttl_s * 1000L / 2;
    struct etcd_client_opts o = {
        .endpoints = cfg->etcd_endpoints.v,
        .nendpoints = cfg->etcd_endpoints.n,
        .username = cfg->etcd_username,
        .password = cfg->etcd_password,
        .ca_file = cfg->etcd_ca_file,
        .cert_file = cfg->etcd_cert_file,
        .key_file = cfg->etcd_key_file,
        .timeout_ms = timeout < 1000   ? 1000
                      : timeout > 5000 ? 5000
                                       : timeout,
    };
    r->loop = l;
    r->ttl_s = cfg->etcd_ttl_s;
    r->keepalive_s = cfg->etcd_keepalive_s;
    r->on_lost = on_lost;
    r->arg = arg;
    backoff_init(&r->grant_backoff, GRANT_BACKOFF_MIN_MS, GRANT_BACKOFF_MAX_MS, 0, 0);
    r->prefix = strdup(cfg->etcd_prefix);
    r->client = r->prefix ? etcd_client_new(l, &o) : NULL;
    if (!r->client) {
        free(r->prefix);
        free(r);
        return NULL;
    }
    log_info("registering in etcd %s under %s (lease ttl %ds%s)", etcd_client_endpoint(r->client),
             r->prefix, r->ttl_s, cfg->etcd_username ? ", with authentication" : "");
    grant(r);
    return r;
}

static void etcdr_free(void *impl)
{
    struct etcd_registry *r = impl;
    r->closing = true;
    if (r->retry_timer) loop_timer_cancel(r->loop, r->retry_timer);
    if (r->grant_timer) loop_timer_cancel(r->loop, r->grant_timer);
    if (r->keepalive_timer) loop_timer_cancel(r->loop, r->keepalive_timer);
    if (r->lease) {
        char *body = etcd_req_lease_id(r->lease);
        char err[512];
        if (body && etcd_client_post_sync(r->client, "/v3/lease/revoke", body, REVOKE_TIMEOUT_MS,
                                          err, sizeof err) == 0)
            log_info("revoked etcd lease %" PRIx64 ": every key of this host is withdrawn",
                     r->lease);
        else
            log_warn("revoking etcd lease %" PRIx64 ": %s; its keys expire within %" PRId64 "s",
                     r->lease, body ? err : "out of memory", r->lease_ttl);
        free(body);
    }
    etcd_client_free(r->client); /* callbacks see closing and only free their op */
    while (r->entries) {
        struct etcd_entry *e = r->entries;
        r->entries = e->next;
        entry_free(e);
    }
    free(r->prefix);
    free(r);
}

const struct registry_ops etcd_registry_ops = {etcdr_put,       etcdr_remove,   etcdr_settled,
                                               etcdr_connected, etcdr_describe, etcdr_free};
