/* The ZooKeeper registry's state machine (registrator/zk_registrations.c),
 * fed recorded replies and session events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "zk_registrations.h"

#define DIR "/sd/web"
#define ME 0x1001
#define EARLIER_RUN 0x0999

/* The ops of the requests last popped by requests(), by position. */
static struct zk_registrations_op *ops[32];
/* Every op popped and not answered yet, for done(). */
static struct zk_registrations_op *outstanding[64];

static void track(struct zk_registrations_op *op)
{
    for (int i = 0; op && i < 64; i++)
        if (!outstanding[i]) {
            outstanding[i] = op;
            return;
        }
    if (op) fail_msg("more than 64 ops outstanding");
}

/* Answers op: it leaves outstanding[]. */
static void answer(struct zk_registrations *r, struct zk_registrations_op *op, int rc,
                   const struct zk_result *res)
{
    assert_non_null(op);
    for (int i = 0; i < 64; i++)
        if (outstanding[i] == op) outstanding[i] = NULL;
    zk_registrations_reply(r, op, rc, res);
}

/* The pending requests as a string ("list:/sd/web create:/sd/web/i1_=P1"),
 * leaving their ops in ops[] (untouched when there are none). */
static const char *requests(struct zk_registrations *r)
{
    static char buf[2048];
    static const char *names[] = {"parent", "list",  "stat",  "create", "delete",
                                  "set",    "watch", "retry", "lost"};
    buf[0] = 0;
    struct zk_registrations_request rq;
    for (int i = 0; zk_registrations_next(r, &rq); i++) {
        assert_true(i < 32);
        if (i == 0) memset(ops, 0, sizeof ops);
        ops[i] = rq.op;
        track(rq.op);
        if (buf[0]) strcat(buf, " ");
        strcat(buf, names[rq.kind]);
        if (rq.path) {
            strcat(buf, ":");
            strcat(buf, rq.path);
        }
        if (rq.data) {
            strcat(buf, "=");
            strcat(buf, rq.data);
        }
        free(rq.path);
        free(rq.data);
    }
    return buf;
}

static void reply(struct zk_registrations *r, int i, int rc)
{
    assert_non_null(ops[i]);
    answer(r, ops[i], rc, NULL);
    ops[i] = NULL;
}

static void reply_created(struct zk_registrations *r, int i, const char *path)
{
    struct zk_result res = {.path = path};
    answer(r, ops[i], ZOK, &res);
    ops[i] = NULL;
}

static void reply_listed(struct zk_registrations *r, int i, int n, char *const *children)
{
    struct zk_result res = {.children = children, .nchildren = n};
    answer(r, ops[i], ZOK, &res);
    ops[i] = NULL;
}

/* A get's answer: the node's data. */
static void reply_data(struct zk_registrations *r, int i, const char *data)
{
    struct zk_result res = {.data = data, .datalen = (int)strlen(data)};
    answer(r, ops[i], ZOK, &res);
    ops[i] = NULL;
}

static void reply_owner(struct zk_registrations *r, int i, int64_t owner)
{
    struct zk_result res = {.has_stat = true};
    res.stat.ephemeralOwner = owner;
    answer(r, ops[i], ZOK, &res);
    ops[i] = NULL;
}

/* Shuts down as zk_registry.c does: the closing session answers every
 * request still out with ZCLOSING. */
static void done(struct zk_registrations *r)
{
    zk_registrations_shutdown(r);
    for (int i = 0; i < 64; i++)
        if (outstanding[i]) answer(r, outstanding[i], ZCLOSING, NULL);
    assert_string_equal(requests(r), "");
    zk_registrations_free(r);
}

static struct zk_registrations *connected(void)
{
    struct zk_registrations *r = zk_registrations_new("/sd");
    assert_non_null(r);
    zk_registrations_session(r, ZK_SESSION_CONNECTED, ME);
    assert_string_equal(requests(r), "");
    return r;
}

/* Registers i1 with payload P1 on an empty directory. */
static struct zk_registrations *registered(void)
{
    struct zk_registrations *r = connected();
    assert_int_equal(zk_registrations_put(r, "web", "i1", "P1", "web i1"), 0);
    assert_string_equal(requests(r), "parent:/sd parent:/sd/web list:/sd/web");
    assert_null(ops[0]); /* parents are fire and forget */
    reply_listed(r, 2, 0, NULL);
    assert_string_equal(requests(r), "create:/sd/web/i1_=P1");
    assert_false(zk_registrations_settled(r));
    reply_created(r, 0, DIR "/i1_0000000001");
    assert_string_equal(requests(r), "watch:/sd/web/i1_0000000001");
    assert_true(zk_registrations_settled(r));
    reply_data(r, 0, "P1");
    assert_string_equal(requests(r), "");
    return r;
}

static void register_update_and_remove(void **state)
{
    (void)state;
    struct zk_registrations *r = registered();
    zk_registrations_put(r, "web", "i1", "P1", "web i1"); /* same payload: nothing */
    assert_string_equal(requests(r), "");
    zk_registrations_put(r, "web", "i1", "P2", "web i1");
    assert_string_equal(requests(r), "set:/sd/web/i1_0000000001=P2");
    zk_registrations_watch_fired(r, ZOO_CHANGED_EVENT, DIR "/i1_0000000001"); /* our own set */
    assert_string_equal(requests(r), "");
    reply(r, 0, ZOK);
    assert_string_equal(requests(r), "watch:/sd/web/i1_0000000001");
    reply_data(r, 0, "P2");
    assert_string_equal(requests(r), "");
    assert_true(zk_registrations_settled(r));
    zk_registrations_remove(r, "web", "i1");
    assert_string_equal(requests(r), "delete:/sd/web/i1_0000000001");
    reply(r, 0, ZOK);
    assert_string_equal(requests(r), "");
    assert_true(zk_registrations_settled(r));
    done(r);
}

/* A node of the same instance left by an earlier run (another session) is
 * deleted before ours is created. */
static void node_of_another_session_is_deleted(void **state)
{
    (void)state;
    struct zk_registrations *r = connected();
    zk_registrations_put(r, "web", "i1", "P1", "web i1");
    requests(r);
    char *children[] = {"i1_0000000007", "i10_0000000002", "other_0000000003"};
    reply_listed(r, 2, 3, children);
    assert_string_equal(requests(r), "stat:/sd/web/i1_0000000007");
    reply_owner(r, 0, EARLIER_RUN);
    assert_string_equal(requests(r), "delete:/sd/web/i1_0000000007");
    reply(r, 0, ZOK);
    assert_string_equal(requests(r), "list:/sd/web"); /* scanned again */
    reply_listed(r, 0, 0, NULL);
    assert_string_equal(requests(r), "create:/sd/web/i1_=P1");
    done(r);
}

/* A create whose reply was lost to a disconnection: after reconnecting, the
 * node found with our session as owner is adopted, not created twice. */
static void node_created_unseen_is_adopted(void **state)
{
    (void)state;
    struct zk_registrations *r = connected();
    zk_registrations_put(r, "web", "i1", "P1", "web i1");
    requests(r);
    reply_listed(r, 2, 0, NULL);
    assert_string_equal(requests(r), "create:/sd/web/i1_=P1");
    zk_registrations_session(r, ZK_SESSION_DISCONNECTED, 0);
    reply(r, 0, ZCONNECTIONLOSS);
    assert_string_equal(requests(r), "");
    zk_registrations_session(r, ZK_SESSION_CONNECTED, ME);
    assert_string_equal(requests(r), "list:/sd/web");
    char *children[] = {"i1_0000000001"};
    reply_listed(r, 0, 1, children);
    assert_string_equal(requests(r), "stat:/sd/web/i1_0000000001");
    reply_owner(r, 0, ME);
    assert_string_equal(requests(r), "watch:/sd/web/i1_0000000001");
    assert_true(zk_registrations_settled(r));
    zk_registrations_remove(r, "web", "i1");
    assert_string_equal(requests(r), "delete:/sd/web/i1_0000000001");
    done(r);
}

/* Replays 8c0b975 (1): after a lost create, the candidate's exists call was
 * lost too; the registry then created a second node. Only a definite answer
 * about every candidate may lead to a create. */
static void never_create_while_a_candidates_owner_is_unknown(void **state)
{
    (void)state;
    struct zk_registrations *r = connected();
    zk_registrations_put(r, "web", "i1", "P1", "web i1");
    requests(r);
    reply_listed(r, 2, 0, NULL);
    requests(r);
    zk_registrations_session(r, ZK_SESSION_DISCONNECTED, 0);
    reply(r, 0, ZCONNECTIONLOSS); /* the create may have succeeded */
    zk_registrations_session(r, ZK_SESSION_CONNECTED, ME);
    assert_string_equal(requests(r), "list:/sd/web");
    char *children[] = {"i1_0000000001"};
    reply_listed(r, 0, 1, children);
    assert_string_equal(requests(r), "stat:/sd/web/i1_0000000001");
    zk_registrations_session(r, ZK_SESSION_DISCONNECTED, 0);
    reply(r, 0, ZCONNECTIONLOSS);
    assert_string_equal(requests(r), ""); /* no create */
    assert_false(zk_registrations_settled(r));

    /* Any other failure to read the owner: no create either; scanned again. */
    zk_registrations_session(r, ZK_SESSION_CONNECTED, ME);
    assert_string_equal(requests(r), "list:/sd/web");
    reply_listed(r, 0, 1, children);
    assert_string_equal(requests(r), "stat:/sd/web/i1_0000000001");
    reply(r, 0, ZAPIERROR);
    assert_string_equal(requests(r), "retry list:/sd/web");
    reply_listed(r, 1, 1, children);
    requests(r);
    reply_owner(r, 0, ME);
    assert_string_equal(requests(r), "watch:/sd/web/i1_0000000001");
    assert_true(zk_registrations_settled(r));
    done(r);
}

/* Replays 8c0b975 (2): a payload changed while the create was in flight was
 * marked as written, so the node kept the old one. */
static void payload_changed_during_create_is_set_afterwards(void **state)
{
    (void)state;
    struct zk_registrations *r = connected();
    zk_registrations_put(r, "web", "i1", "P1", "web i1");
    requests(r);
    reply_listed(r, 2, 0, NULL);
    assert_string_equal(requests(r), "create:/sd/web/i1_=P1");
    zk_registrations_put(r, "web", "i1", "P2", "web i1");
    assert_string_equal(requests(r), "");
    reply_created(r, 0, DIR "/i1_0000000001");
    assert_string_equal(requests(r), "set:/sd/web/i1_0000000001=P2 watch:/sd/web/i1_0000000001");
    reply_data(r, 1, "P1"); /* read before the set: not an overwrite */
    zk_registrations_put(r, "web", "i1", "P3", "web i1"); /* and again during the set */
    reply(r, 0, ZOK);
    assert_string_equal(requests(r), "set:/sd/web/i1_0000000001=P3");
    reply(r, 0, ZOK);
    assert_true(zk_registrations_settled(r));
    done(r);
}

static void expiry_registers_everything_again(void **state)
{
    (void)state;
    struct zk_registrations *r = registered();
    zk_registrations_session(r, ZK_SESSION_EXPIRED, 0);
    assert_string_equal(requests(r), "lost");
    assert_false(zk_registrations_settled(r));
    zk_registrations_session(r, ZK_SESSION_CONNECTED, 0x2002);
    assert_string_equal(requests(r), "list:/sd/web");
    char *children[] = {"i1_0000000001"}; /* the old session's, not yet removed */
    reply_listed(r, 0, 1, children);
    requests(r);
    reply_owner(r, 0, ME);
    assert_string_equal(requests(r), "delete:/sd/web/i1_0000000001");
    reply(r, 0, ZOK);
    assert_string_equal(requests(r), "list:/sd/web");
    reply_listed(r, 0, 0, NULL);
    assert_string_equal(requests(r), "create:/sd/web/i1_=P1");
    done(r);
}

/* Replies of the session before an expiry change nothing. */
static void replies_from_an_expired_session_are_ignored(void **state)
{
    (void)state;
    struct zk_registrations *r = connected();
    zk_registrations_put(r, "web", "i1", "P1", "web i1");
    requests(r);
    reply_listed(r, 2, 0, NULL);
    requests(r);
    struct zk_registrations_op *create = ops[0];
    zk_registrations_session(r, ZK_SESSION_EXPIRED, 0);
    assert_string_equal(requests(r), "lost");
    struct zk_result res = {.path = DIR "/i1_0000000001"};
    answer(r, create, ZOK, &res);
    zk_registrations_session(r, ZK_SESSION_CONNECTED, 0x2002);
    assert_string_equal(requests(r), "list:/sd/web");
    done(r);
}

/* Removed while the create was in flight: the node is deleted once created. */
static void removed_during_create(void **state)
{
    (void)state;
    struct zk_registrations *r = connected();
    zk_registrations_put(r, "web", "i1", "P1", "web i1");
    requests(r);
    reply_listed(r, 2, 0, NULL);
    requests(r);
    zk_registrations_remove(r, "web", "i1");
    reply_created(r, 0, DIR "/i1_0000000001");
    assert_string_equal(requests(r), "delete:/sd/web/i1_0000000001");
    reply(r, 0, ZOK);
    assert_true(zk_registrations_settled(r));
    done(r);
}

/* Someone else deletes our node: it is registered again at once, after a
 * listing (so never twice), and watched again. */
static void node_deleted_by_another_client_is_restored(void **state)
{
    (void)state;
    struct zk_registrations *r = registered();
    zk_registrations_watch_fired(r, ZOO_DELETED_EVENT, DIR "/i1_0000000001");
    assert_string_equal(requests(r), "list:/sd/web");
    assert_false(zk_registrations_settled(r));
    reply_listed(r, 0, 0, NULL);
    assert_string_equal(requests(r), "create:/sd/web/i1_=P1");
    reply_created(r, 0, DIR "/i1_0000000002");
    assert_string_equal(requests(r), "watch:/sd/web/i1_0000000002");
    reply_data(r, 0, "P1");
    assert_true(zk_registrations_settled(r));
    /* The watch's read finding the node gone does the same. */
    zk_registrations_watch_fired(r, ZOO_CHANGED_EVENT, DIR "/i1_0000000002");
    assert_string_equal(requests(r), "watch:/sd/web/i1_0000000002");
    reply(r, 0, ZNONODE);
    assert_string_equal(requests(r), "list:/sd/web");
    done(r);
}

/* Someone else overwrites our node: our payload is set back. */
static void node_overwritten_by_another_client_is_restored(void **state)
{
    (void)state;
    struct zk_registrations *r = registered();
    zk_registrations_watch_fired(r, ZOO_CHANGED_EVENT, DIR "/i1_0000000001");
    assert_string_equal(requests(r), "watch:/sd/web/i1_0000000001");
    reply_data(r, 0, "{\"host\":\"10.9.9.9\"}");
    assert_string_equal(requests(r), "set:/sd/web/i1_0000000001=P1");
    assert_false(zk_registrations_settled(r));
    reply(r, 0, ZOK);
    assert_true(zk_registrations_settled(r));
    zk_registrations_watch_fired(r, ZOO_CHANGED_EVENT, DIR "/i1_0000000001"); /* our set */
    assert_string_equal(requests(r), "watch:/sd/web/i1_0000000001");
    reply_data(r, 0, "P1");
    assert_string_equal(requests(r), "");
    done(r);
}

/* Our own delete fires our watch too: that is not a loss to repair. */
static void our_own_delete_is_not_restored(void **state)
{
    (void)state;
    struct zk_registrations *r = registered();
    zk_registrations_remove(r, "web", "i1");
    assert_string_equal(requests(r), "delete:/sd/web/i1_0000000001");
    zk_registrations_watch_fired(r, ZOO_DELETED_EVENT, DIR "/i1_0000000001");
    assert_string_equal(requests(r), "");
    reply(r, 0, ZOK);
    assert_string_equal(requests(r), "");
    assert_true(zk_registrations_settled(r));
    done(r);
}

/* A watch read lost to a disconnection is set again on reconnecting. */
static void watch_lost_with_the_connection_is_set_again(void **state)
{
    (void)state;
    struct zk_registrations *r = registered();
    zk_registrations_watch_fired(r, ZOO_CHANGED_EVENT, DIR "/i1_0000000001");
    assert_string_equal(requests(r), "watch:/sd/web/i1_0000000001");
    zk_registrations_session(r, ZK_SESSION_DISCONNECTED, 0);
    reply(r, 0, ZCONNECTIONLOSS);
    assert_string_equal(requests(r), "");
    zk_registrations_session(r, ZK_SESSION_CONNECTED, ME);
    assert_string_equal(requests(r), "watch:/sd/web/i1_0000000001");
    done(r);
}

/* A payload ZooKeeper would drop the connection for is refused (logged once
 * per size) and an older node of the instance withdrawn. */
static void payload_over_the_limit_is_refused(void **state)
{
    (void)state;
    struct zk_registrations *r = registered();
    size_t n = ZK_REGISTRATIONS_PAYLOAD_MAX + 1;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = 0;
    assert_int_equal(zk_registrations_put(r, "web", "i1", big, "web i1"), ZK_REGISTRATIONS_REFUSED);
    assert_string_equal(requests(r), "delete:/sd/web/i1_0000000001");
    reply(r, 0, ZOK);
    assert_int_equal(zk_registrations_put(r, "web", "i1", big, "web i1"), ZK_REGISTRATIONS_REFUSED);
    assert_int_equal(zk_registrations_put(r, "web", "i2", big, "web i2"), ZK_REGISTRATIONS_REFUSED);
    assert_string_equal(requests(r), "");
    assert_true(zk_registrations_settled(r));
    big[ZK_REGISTRATIONS_PAYLOAD_MAX] = 0; /* at the limit: fine */
    assert_int_equal(zk_registrations_put(r, "web", "i2", big, "web i2"), 0);
    assert_string_equal(requests(r), "list:/sd/web");
    free(big);
    zk_registrations_remove(r, "web", "i1");
    done(r);
}

/* A Nerve service's persistent node in its own directory: created with the
 * asked mode, touched every ttl_s, deleted before the session closes. */
static void nerve_persistent_node_with_ttl(void **state)
{
    (void)state;
    struct zk_registrations *r = connected();
    struct zk_node_opts opts = {.dir = "/nerve/db", .flags = 0, .set_flags = true, .ttl_s = 30};
    assert_int_equal(zk_registrations_put_opts(r, "db", "host1", "P1", "db host1", &opts), 0);
    assert_string_equal(requests(r), "parent:/nerve parent:/nerve/db list:/nerve/db");
    reply_listed(r, 2, 0, NULL);
    struct zk_registrations_request rq;
    assert_true(zk_registrations_next(r, &rq));
    assert_int_equal(rq.kind, ZK_REG_CREATE);
    assert_string_equal(rq.path, "/nerve/db/host1_");
    assert_int_equal(rq.flags, 0); /* persistent, not sequential */
    free(rq.path);
    free(rq.data);
    ops[0] = rq.op;
    track(rq.op);
    reply_created(r, 0, "/nerve/db/host1_");
    assert_string_equal(requests(r), "watch:/nerve/db/host1_");
    reply_data(r, 0, "P1");
    assert_true(zk_registrations_settled(r));
    zk_registrations_touch_due(r, 1000);
    assert_string_equal(requests(r), "");
    zk_registrations_touch_due(r, 31000);
    assert_string_equal(requests(r), "set:/nerve/db/host1_=P1");
    reply(r, 0, ZOK);
    zk_registrations_withdraw_persistent(r);
    assert_string_equal(requests(r), "delete:/nerve/db/host1_");
    assert_null(ops[0]);
    done(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_update_and_remove),
        cmocka_unit_test(node_of_another_session_is_deleted),
        cmocka_unit_test(node_created_unseen_is_adopted),
        cmocka_unit_test(never_create_while_a_candidates_owner_is_unknown),
        cmocka_unit_test(payload_changed_during_create_is_set_afterwards),
        cmocka_unit_test(expiry_registers_everything_again),
        cmocka_unit_test(replies_from_an_expired_session_are_ignored),
        cmocka_unit_test(removed_during_create),
        cmocka_unit_test(node_deleted_by_another_client_is_restored),
        cmocka_unit_test(node_overwritten_by_another_client_is_restored),
        cmocka_unit_test(our_own_delete_is_not_restored),
        cmocka_unit_test(watch_lost_with_the_connection_is_set_again),
        cmocka_unit_test(payload_over_the_limit_is_refused),
        cmocka_unit_test(nerve_persistent_node_with_ttl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
