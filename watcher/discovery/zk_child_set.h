/*
 * The state machine of discovery "zookeeper" for one service, without I/O:
 * the children of one path, each child's decoded backend, and which reads
 * to send next. ZooKeeper replies, watches and session changes go in;
 * requests (list, get, exists, all with a watch) and complete backend lists
 * come out. zk_discovery.c sends the requests and feeds back the replies;
 * tests/unit/test_zk_child_set.c replays recorded sequences.
 *
 * Rules it keeps:
 * - A child that does not decode is skipped with one log line; the others
 *   are published as usual.
 * - Nothing is published while replies are outstanding or ZooKeeper is away,
 *   so HAProxy keeps the last known backends meanwhile.
 * - After a reconnect every child is read again; a child that was good stays
 *   published with its last data until its read answers.
 */
#ifndef SMARTDOCK_ZK_CHILD_SET_H
#define SMARTDOCK_ZK_CHILD_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

struct zk_child_set;

enum zk_child_set_request_kind {
    ZK_CHILD_SET_LIST,   /* get_children(path, watch) */
    ZK_CHILD_SET_GET,    /* get(path/child, watch) */
    ZK_CHILD_SET_EXISTS, /* exists(path, watch) */
};

struct zk_child_set_request {
    enum zk_child_set_request_kind kind;
    char *child; /* ZK_CHILD_SET_GET: the child's name; the caller frees it */
};

/* service names the service in log lines; both strings are copied. A
 * trailing '/' of path is dropped. */
struct zk_child_set *zk_child_set_new(const char *service, const char *path);
void zk_child_set_free(struct zk_child_set *cs);
/* Children's data are Finagle ServerSet members (serverset.h) from now on,
 * read from additionalEndpoints[endpoint_name] when it is not NULL (copied).
 * Path-encoded children are still Nerve's. 0, or -1 on allocation failure. */
int zk_child_set_decode_serverset(struct zk_child_set *cs, const char *endpoint_name);
/* The path watched, without a trailing '/'. */
const char *zk_child_set_path(const struct zk_child_set *cs);

/* Events. */
void zk_child_set_session(struct zk_child_set *cs, bool connected);
/* A watch fired on the session: type ZOO_*_EVENT, path the node's. Events
 * for other paths are ignored. */
void zk_child_set_watch_fired(struct zk_child_set *cs, int type, const char *path);

/* Lists the children again and reads every child's data again, as after a
 * reconnect: a poll (zookeeper_poll), or the catch-up after a delay that
 * let watches fire unheeded (discovery_jitter). */
void zk_child_set_reread(struct zk_child_set *cs);

/* Replies, one per request, rc a ZooKeeper return code. */
void zk_child_set_listed(struct zk_child_set *cs, int rc, char *const *children, int nchildren);
/* Returns why the child's data was refused (valid until the next call), or
 * NULL when it was not. czxid: the node's creation zxid from its stat (0
 * when unknown), which orders registrations of one address (the first
 * created wins). */
const char *zk_child_set_read(struct zk_child_set *cs, const char *child, int rc, const char *data,
                              int datalen, int64_t czxid);
void zk_child_set_exists_answered(struct zk_child_set *cs, int rc);

/* Pops the next request to send; false when there is none. */
bool zk_child_set_next_request(struct zk_child_set *cs, struct zk_child_set_request *out);
/* When a new complete view is ready: fills out (the caller owns it) and
 * returns true, once per change. */
bool zk_child_set_take_update(struct zk_child_set *cs, struct backend_list *out);

#endif
