/*
 * The ZooKeeper registry's state machine, without I/O: which registrations
 * this host wants, which znodes it knows to be its own, and what to send
 * next. Calls and ZooKeeper replies go in; requests come out, each with a
 * token (op) that its reply brings back. zk_registry.c sends them on a real
 * session; tests/unit/test_zk_registrations.c replays recorded sequences.
 *
 * Layout (Nerve's): <root>/<service>/<instance>_<sequence>, ephemeral, data
 * the Nerve JSON payload.
 *
 * Each entry converges towards what was asked (wanted or not) with at most
 * one procedure in flight. Registering first lists the service directory:
 * nodes of the same instance owned by another session (an earlier run of
 * this registrator) are deleted, one owned by this session is adopted (a
 * create whose reply was lost to a disconnection), and only when every
 * candidate's owner is known and none is ours is a node created. So a
 * reconnect never duplicates an instance and a restart never shows it twice
 * for longer than one round trip.
 *
 * Our own nodes are watched (a get with a watch): one that someone else
 * deletes is registered again, one that someone else overwrites gets our
 * payload back, at once, without waiting for a resync or an expiry.
 */
#ifndef SMARTDOCK_ZK_REGISTRATIONS_H
#define SMARTDOCK_ZK_REGISTRATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zk.h"

struct zk_registrations;
struct zk_registrations_op; /* a request's token, owned by the state machine */

enum zk_registrations_request_kind {
    ZK_REG_CREATE_PARENT, /* create(path, no data, persistent); the reply is not needed */
    ZK_REG_LIST,          /* get_children(path) */
    ZK_REG_STAT,          /* exists(path) */
    ZK_REG_CREATE,        /* create(path, data, ephemeral | sequential) */
    ZK_REG_DELETE,        /* delete(path, any version) */
    ZK_REG_SET,           /* set(path, data, any version) */
    ZK_REG_WATCH,         /* get(path) with a watch */
    ZK_REG_RETRY_LATER,   /* arm the retry timer; answer with zk_registrations_retry_due() */
    ZK_REG_LOST,          /* everything registered is gone (session expired): tell the owner */
};

struct zk_registrations_request {
    enum zk_registrations_request_kind kind;
    struct zk_registrations_op *op; /* pass back with the reply; NULL when none is wanted */
    char *path;                     /* owned by the request: the caller frees it */
    char *data;                     /* likewise; NULL for none */
    int datalen;
    int flags; /* ZK_REG_CREATE: ZOO_EPHEMERAL | ZOO_SEQUENCE unless zk_node_opts said */
};

/* Nerve's services choose their node: a whole directory, a ZooKeeper mode
 * and a touch interval. NULL or zeroes: <root>/<service>, ephemeral sequential. */
struct zk_node_opts {
    const char *dir; /* borrowed; NULL: <root>/<service> */
    int flags;       /* ZOO_EPHEMERAL / ZOO_SEQUENCE; used when set_flags */
    bool set_flags;
    int ttl_s; /* rewrite a persistent node's data this often (Nerve's ttl_seconds); 0: never */
};

/* root is copied. */
struct zk_registrations *zk_registrations_new(const char *root);
void zk_registrations_free(struct zk_registrations *r);

/* Largest payload registered. ZooKeeper drops the connection (and with it
 * every registration of this host) on a request beyond its jute.maxbuffer,
 * 1 MiB by default; this leaves room for the path and the ACL. */
#define ZK_REGISTRATIONS_PAYLOAD_MAX (1024 * 1024 - 8192)
#define ZK_REGISTRATIONS_REFUSED (-2)

/* What is wanted. payload is copied; what names the registration in log
 * lines ("nodesrv 127.0.0.2:18000 container=3f2a1b2c3d4e"). 0; -1 when out
 * of memory; ZK_REGISTRATIONS_REFUSED for a payload over the limit, logged
 * once per size, and any node of the instance withdrawn. */
int zk_registrations_put(struct zk_registrations *r, const char *service, const char *instance,
                         const char *payload, const char *what);
int zk_registrations_put_opts(struct zk_registrations *r, const char *service, const char *instance,
                              const char *payload, const char *what,
                              const struct zk_node_opts *opts);
void zk_registrations_remove(struct zk_registrations *r, const char *service, const char *instance);
/* True when every registration is in ZooKeeper as asked and nothing is in flight. */
bool zk_registrations_settled(const struct zk_registrations *r);
/* The znode of service/instance (or where it will be), for the status
 * command; caller frees; NULL when it is not wanted. */
char *zk_registrations_describe(const struct zk_registrations *r, const char *service,
                                const char *instance);

/* Events. session_id is the session's once connected. */
void zk_registrations_session(struct zk_registrations *r, enum zk_session_event ev,
                              int64_t session_id);
void zk_registrations_retry_due(struct zk_registrations *r);
/* A watch fired on the session: type ZOO_*_EVENT, path the node's. */
void zk_registrations_watch_fired(struct zk_registrations *r, int type, const char *path);
/* One reply per request that carried an op; res may be NULL on failure. */
void zk_registrations_reply(struct zk_registrations *r, struct zk_registrations_op *op, int rc,
                            const struct zk_result *res);
/* Shutting down (the session is closing, so every node goes): replies still
 * to come are consumed without starting anything. */
void zk_registrations_shutdown(struct zk_registrations *r);

/* Rewrites the data of persistent nodes whose ttl_s has passed (call about
 * once a second). */
void zk_registrations_touch_due(struct zk_registrations *r, uint64_t now_ms);
/* Before closing the session: deletes for the nodes that would outlive it
 * (persistent ones), as Nerve reports down when it stops. */
void zk_registrations_withdraw_persistent(struct zk_registrations *r);

/* Pops the next request to send; false when there is none. */
bool zk_registrations_next(struct zk_registrations *r, struct zk_registrations_request *out);

#endif
