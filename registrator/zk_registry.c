/*
 * The "zookeeper" registry: zk_registrations.c decides what to send and
 * keeps the registrations' state; this file owns the session and the retry
 * timer, sends the requests and feeds back replies and session events, all
 * on the loop thread.
 */
#include "zk_registry.h"

#include "log.h"
#include "zk.h"
#include "zk_auth.h"
#include "zk_registrations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MS 2000

struct zk_registry {
    struct loop *loop;
    struct zk *zk;
    struct zk_registrations *state;
    uint64_t retry_timer;
    uint64_t touch_timer; /* while a node has a ttl_s */
    registry_lost_fn *on_lost;
    void *arg;
};

static void on_reply(void *arg, int rc, const struct zk_result *res);
static void pump(struct zk_registry *r);

static void ignore_reply(void *arg, int rc, const struct zk_result *res)
{
    (void)arg, (void)rc, (void)res;
}

static void retry_due(void *arg)
{
    struct zk_registry *r = arg;
    r->retry_timer = 0;
    zk_registrations_retry_due(r->state);
    pump(r);
}

/* A reply's context: the registry and the state machine's token. */
struct zk_reply_ctx {
    struct zk_registry *r;
    struct zk_registrations_op *op;
};

static void send_one(struct zk_registry *r, struct zk_registrations_request *rq)
{
    struct zk_reply_ctx *ctx = NULL;
    if (rq->op && !(ctx = malloc(sizeof *ctx))) {
        log_error("zookeeper registry: out of memory; a request fails");
        zk_registrations_reply(r->state, rq->op, ZSYSTEMERROR, NULL);
        return;
    }
    if (ctx) *ctx = (struct zk_reply_ctx){r, rq->op};
    int sent = 0;
    switch (rq->kind) {
    case ZK_REG_CREATE_PARENT:
        sent = zk_create(r->zk, rq->path, NULL, -1, 0, ignore_reply, NULL);
        break;
    case ZK_REG_LIST:
        sent = zk_get_children(r->zk, rq->path, false, on_reply, ctx);
        break;
    case ZK_REG_STAT:
        sent = zk_exists(r->zk, rq->path, false, on_reply, ctx);
        break;
    case ZK_REG_CREATE:
        sent = zk_create(r->zk, rq->path, rq->data, rq->datalen, rq->flags, on_reply, ctx);
        break;
    case ZK_REG_DELETE:
        sent = zk_delete(r->zk, rq->path, ctx ? on_reply : ignore_reply, ctx);
        break;
    case ZK_REG_SET:
        sent = zk_set(r->zk, rq->path, rq->data, rq->datalen, on_reply, ctx);
        break;
    case ZK_REG_WATCH:
        sent = zk_get(r->zk, rq->path, true, on_reply, ctx);
        break;
    case ZK_REG_RETRY_LATER:
        if (!r->retry_timer) r->retry_timer = loop_timer(r->loop, RETRY_MS, retry_due, r);
        break;
    case ZK_REG_LOST:
        if (r->on_lost) r->on_lost(r->arg);
        break;
    }
    if (sent < 0 && ctx) { /* out of memory: no reply will come */
        free(ctx);
        zk_registrations_reply(r->state, rq->op, ZSYSTEMERROR, NULL);
    }
}

/* Sends everything the state machine asked for, in order. */
static void pump(struct zk_registry *r)
{
    struct zk_registrations_request rq;
    while (zk_registrations_next(r->state, &rq)) {
        send_one(r, &rq);
        free(rq.path);
        free(rq.data);
    }
}

static void on_reply(void *arg, int rc, const struct zk_result *res)
{
    struct zk_reply_ctx *ctx = arg;
    struct zk_registry *r = ctx->r;
    zk_registrations_reply(r->state, ctx->op, rc, res);
    free(ctx);
    pump(r);
}

static int node_flags(enum nerve_node_type t)
{
    switch (t) {
    case NERVE_NODE_EPHEMERAL:
        return ZOO_EPHEMERAL;
    case NERVE_NODE_PERSISTENT:
        return 0;
    case NERVE_NODE_PERSISTENT_SEQUENTIAL:
        return ZOO_SEQUENCE;
    case NERVE_NODE_EPHEMERAL_SEQUENTIAL:
        break;
    }
    return ZOO_EPHEMERAL | ZOO_SEQUENCE;
}

static void touch_due(void *arg)
{
    struct zk_registry *r = arg;
    r->touch_timer = loop_timer(r->loop, 1000, touch_due, r);
    zk_registrations_touch_due(r->state, loop_now_ms());
    pump(r);
}

static int zkr_put(void *impl, const struct registration *reg)
{
    struct zk_registry *r = impl;
    char *payload = reg->payload ? strdup(reg->payload) : backend_encode_nerve(&reg->backend);
    if (!payload) return -1;
    char what[512];
    snprintf(what, sizeof what, "%s %s:%d container=%.12s", reg->service, reg->backend.host,
             reg->backend.port, reg->backend.container_id ? reg->backend.container_id : "-");
    struct zk_node_opts opts = {.dir = reg->dir,
                                .flags = node_flags(reg->node_type),
                                .set_flags = true,
                                .ttl_s = reg->ttl_s};
    int rc = zk_registrations_put_opts(r->state, reg->service, reg->instance, payload, what, &opts);
    free(payload);
    if (reg->ttl_s && !(opts.flags & ZOO_EPHEMERAL) && !r->touch_timer)
        r->touch_timer = loop_timer(r->loop, 1000, touch_due, r);
    pump(r);
    return rc;
}

static void zkr_remove(void *impl, const char *service, const char *instance)
{
    struct zk_registry *r = impl;
    zk_registrations_remove(r->state, service, instance);
    pump(r);
}

static bool zkr_settled(const void *impl)
{
    const struct zk_registry *r = impl;
    return zk_registrations_settled(r->state);
}

static bool zkr_connected(const void *impl)
{
    const struct zk_registry *r = impl;
    return zk_is_connected(r->zk);
}

static char *zkr_describe(const void *impl, const char *service, const char *instance)
{
    const struct zk_registry *r = impl;
    return zk_registrations_describe(r->state, service, instance);
}

static void on_session(void *arg, enum zk_session_event ev)
{
    struct zk_registry *r = arg;
    zk_registrations_session(r->state, ev, zk_session_id(r->zk));
    pump(r);
}

static void on_watch(void *arg, int type, const char *path)
{
    struct zk_registry *r = arg;
    zk_registrations_watch_fired(r->state, type, path);
    pump(r);
}

void *zk_registry_new(struct loop *l, const struct reg_config *cfg, registry_lost_fn *on_lost,
                      void *arg)
{
    struct zk_registry *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->loop = l;
    r->on_lost = on_lost;
    r->arg = arg;
    r->state = zk_registrations_new(cfg->zk_path);
    char *hosts = strlist_join(&cfg->zk_hosts, ",");
    r->zk = hosts && r->state
                ? zk_new(l, hosts, cfg->zk_session_timeout_ms, on_session, on_watch, r)
                : NULL;
    free(hosts);
    /* Credentials that cannot be used stop the start: no silent fallback to open nodes. */
    bool auth_ok = !cfg->zk_auth_file;
    if (r->zk && cfg->zk_auth_file) {
        char err[512];
        struct zk_auth *auth = zk_auth_load(cfg->zk_auth_file, err, sizeof err);
        if (!auth)
            log_error("registry.auth_file: %s", err);
        else if (zk_set_auth(r->zk, auth) < 0)
            log_error("registry.auth_file: out of memory");
        else
            auth_ok = true;
        zk_auth_free(auth);
    }
    if (!r->zk || !auth_ok) {
        zk_free(r->zk);
        if (r->zk) loop_run_posts(l);
        zk_registrations_free(r->state);
        free(r);
        return NULL;
    }
    return r;
}

static void zkr_free(void *impl)
{
    struct zk_registry *r = impl;
    if (r->retry_timer) loop_timer_cancel(r->loop, r->retry_timer);
    r->retry_timer = 0;
    if (r->touch_timer) loop_timer_cancel(r->loop, r->touch_timer);
    /* The session's requests go out in order, so these deletes precede the close. */
    zk_registrations_withdraw_persistent(r->state);
    pump(r);
    zk_free(r->zk);
    zk_registrations_shutdown(r->state);
    /* The completions zk_free flushed arrive now and find nothing to do. */
    loop_run_posts(r->loop);
    zk_registrations_free(r->state);
    free(r);
}

const struct registry_ops zk_registry_ops = {zkr_put, zkr_remove, zkr_settled, zkr_connected,
                                             zkr_describe, zkr_free};
