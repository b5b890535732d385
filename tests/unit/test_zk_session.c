/* The ZooKeeper session state machine (common/zk_session.c), fed recorded
 * library events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <zookeeper/zookeeper.h>

#include "zk_session.h"

/* The pending actions as a string: "open close report:expired retry cancel". */
static const char *actions(struct zk_session *s)
{
    static char buf[256];
    buf[0] = 0;
    struct zk_session_action a;
    while (zk_session_next(s, &a)) {
        if (buf[0]) strcat(buf, " ");
        switch (a.kind) {
        case ZK_SESSION_OPEN_HANDLE:
            strcat(buf, "open");
            break;
        case ZK_SESSION_CLOSE_HANDLE:
            strcat(buf, "close");
            break;
        case ZK_SESSION_RETRY_LATER:
            strcat(buf, "retry");
            break;
        case ZK_SESSION_CANCEL_RETRY:
            strcat(buf, "cancel");
            break;
        case ZK_SESSION_REPORT:
            strcat(buf, a.event == ZK_SESSION_CONNECTED      ? "report:connected"
                        : a.event == ZK_SESSION_DISCONNECTED ? "report:disconnected"
                                                             : "report:expired");
            break;
        }
    }
    return buf;
}

static struct zk_session *connected_session(void)
{
    struct zk_session *s = zk_session_new("127.0.0.1:2181");
    assert_non_null(s);
    zk_session_start(s);
    assert_string_equal(actions(s), "open");
    zk_session_opened(s, true);
    assert_string_equal(actions(s), "");
    zk_session_state(s, ZOO_CONNECTED_STATE, 0x1001);
    assert_string_equal(actions(s), "report:connected");
    assert_true(zk_session_connected(s));
    assert_int_equal(zk_session_client_id(s), 0x1001);
    return s;
}

static void disconnect_then_reconnect_same_session(void **state)
{
    (void)state;
    struct zk_session *s = connected_session();
    zk_session_state(s, ZOO_CONNECTING_STATE, 0);
    assert_string_equal(actions(s), "report:disconnected");
    assert_false(zk_session_connected(s));
    zk_session_state(s, ZOO_CONNECTING_STATE, 0); /* reported once */
    assert_string_equal(actions(s), "");
    zk_session_state(s, ZOO_CONNECTED_STATE, 0x1001);
    assert_string_equal(actions(s), "report:connected");
    zk_session_free(s);
}

static void expiry_opens_a_new_handle(void **state)
{
    (void)state;
    struct zk_session *s = connected_session();
    zk_session_state(s, ZOO_EXPIRED_SESSION_STATE, 0);
    assert_string_equal(actions(s), "close report:expired open");
    assert_false(zk_session_connected(s));
    assert_int_equal(zk_session_client_id(s), 0);
    zk_session_opened(s, true);
    assert_string_equal(actions(s), "");
    zk_session_state(s, ZOO_CONNECTED_STATE, 0x2002);
    assert_string_equal(actions(s), "report:connected");
    assert_int_equal(zk_session_client_id(s), 0x2002);
    zk_session_free(s);
}

/* Replays ad39efe: zookeeper_init2 failed after an expiry (a host name that
 * did not resolve then) and the client stayed without a handle for good. */
static void handle_that_cannot_be_created_after_expiry_is_retried(void **state)
{
    (void)state;
    struct zk_session *s = connected_session();
    zk_session_state(s, ZOO_EXPIRED_SESSION_STATE, 0);
    assert_string_equal(actions(s), "close report:expired open");
    zk_session_opened(s, false);
    assert_string_equal(actions(s), "retry");
    assert_false(zk_session_has_handle(s)); /* requests fail with ZINVALIDSTATE meanwhile */
    zk_session_retry_due(s);
    assert_string_equal(actions(s), "open");
    zk_session_opened(s, false);
    assert_string_equal(actions(s), "retry");
    zk_session_retry_due(s);
    assert_string_equal(actions(s), "open");
    zk_session_opened(s, true);
    assert_string_equal(actions(s), "");
    assert_true(zk_session_has_handle(s));
    zk_session_state(s, ZOO_CONNECTED_STATE, 0x3003);
    assert_string_equal(actions(s), "report:connected");
    zk_session_free(s);
}

/* A reopen while a retry is armed does not open a second handle. */
static void reopen_during_retry_waits_for_it(void **state)
{
    (void)state;
    struct zk_session *s = connected_session();
    zk_session_reopen(s);
    assert_string_equal(actions(s), "close report:expired open");
    zk_session_opened(s, false);
    assert_string_equal(actions(s), "retry");
    zk_session_reopen(s);
    assert_string_equal(actions(s), "report:expired");
    zk_session_retry_due(s);
    assert_string_equal(actions(s), "open");
    zk_session_free(s);
}

static void auth_failure_is_handled_like_expiry(void **state)
{
    (void)state;
    struct zk_session *s = connected_session();
    zk_session_state(s, ZOO_AUTH_FAILED_STATE, 0);
    assert_string_equal(actions(s), "close report:expired open");
    zk_session_free(s);
}

static void close_cancels_the_retry_and_ignores_later_events(void **state)
{
    (void)state;
    struct zk_session *s = connected_session();
    zk_session_reopen(s);
    assert_string_equal(actions(s), "close report:expired open");
    zk_session_opened(s, false);
    assert_string_equal(actions(s), "retry");
    zk_session_close(s);
    assert_string_equal(actions(s), "cancel");
    zk_session_retry_due(s);
    zk_session_state(s, ZOO_CONNECTED_STATE, 0x4004);
    assert_string_equal(actions(s), "");
    zk_session_free(s);

    s = connected_session();
    zk_session_close(s);
    assert_string_equal(actions(s), "close");
    zk_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(disconnect_then_reconnect_same_session),
        cmocka_unit_test(expiry_opens_a_new_handle),
        cmocka_unit_test(handle_that_cannot_be_created_after_expiry_is_retried),
        cmocka_unit_test(reopen_during_retry_waits_for_it),
        cmocka_unit_test(auth_failure_is_handled_like_expiry),
        cmocka_unit_test(close_cancels_the_retry_and_ignores_later_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
