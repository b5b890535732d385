/*
 * A ZooKeeper session for the loop thread. libzookeeper_mt calls back on its
 * own threads; this module copies each result and posts it to the loop, so
 * every callback below runs on the loop thread and touches nothing shared.
 * An expired session is replaced by a new one automatically (the decisions
 * are zk_session.c's; this file performs them).
 */
#ifndef SMARTDOCK_ZK_H
#define SMARTDOCK_ZK_H

#include <stdbool.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>

#include "loop.h"
#include "zk_session.h"

struct zk;

struct zk_result {
    const char *path; /* created node's path (create) */
    const char *data; /* node data (get); may be NULL */
    int datalen;
    char *const *children; /* child names (get_children) */
    int nchildren;
    bool has_stat;
    struct Stat stat;
    /* loop_now_us() when the request was handed to the library and when its
     * reply reached the library's completion thread: the stage timings of
     * -v tell the round trip from the hand-over to the loop. */
    uint64_t sent_us, replied_us;
};

/* rc is a ZooKeeper return code (ZOK, ZNONODE, ZNODEEXISTS, ZCONNECTIONLOSS...). */
typedef void zk_done_fn(void *arg, int rc, const struct zk_result *res);
typedef void zk_session_fn(void *arg, enum zk_session_event ev);
/* A watch fired: type is ZOO_CHILD_EVENT, ZOO_CHANGED_EVENT, ZOO_CREATED_EVENT... */
typedef void zk_watch_fn(void *arg, int type, const char *path);

/* hosts: "h1:p1,h2:p2". NULL when the client cannot be created. */
struct zk *zk_new(struct loop *l, const char *hosts, int session_timeout_ms,
                  zk_session_fn *on_session, zk_watch_fn *on_watch, void *arg);
/* Closes the session (its ephemeral nodes go at once). Completions still
 * pending are delivered with ZCLOSING by loop_run_posts(), which the caller
 * runs before freeing what those completions point to. */
void zk_free(struct zk *z);

/* Authenticates with the "digest" scheme (now and on every new handle), and
 * gives every node created from now on the ACL digest:<user>:<hash> ALL plus
 * world:anyone READ. auth is copied. 0, or -1 when out of memory. */
struct zk_auth;
int zk_set_auth(struct zk *z, const struct zk_auth *auth);

bool zk_is_connected(const struct zk *z);
int64_t zk_session_id(const struct zk *z);
/* For a zk_watch_fn: loop_now_us() when the library's completion thread
 * got the watch event being delivered (-v stage timings). */
uint64_t zk_watch_arrived_us(const struct zk *z);
/* Test hook and emergency exit: drop this session and open a new one. */
void zk_reopen(struct zk *z);

/* Asynchronous operations; fn runs on the loop thread exactly once (with
 * ZINVALIDSTATE while no handle exists). -1, and no call, only when out of memory. */
int zk_create(struct zk *z, const char *path, const char *data, int len, int flags, zk_done_fn *fn,
              void *arg);
int zk_delete(struct zk *z, const char *path, zk_done_fn *fn, void *arg);
int zk_set(struct zk *z, const char *path, const char *data, int len, zk_done_fn *fn, void *arg);
int zk_exists(struct zk *z, const char *path, bool watch, zk_done_fn *fn, void *arg);
int zk_get(struct zk *z, const char *path, bool watch, zk_done_fn *fn, void *arg);
int zk_get_children(struct zk *z, const char *path, bool watch, zk_done_fn *fn, void *arg);

/* Joins "a", "b" into "a/b" with exactly one '/'. Caller frees. */
char *zk_path_join(const char *parent, const char *child);

#endif
