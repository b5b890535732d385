#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>

#include "haproxy_answer.h"

static void sessions(void **state)
{
    (void)state;
    const char *stat = "# pxname,svname,qcur,qmax,scur,smax\n"
                       "web,a,1,0,3,9\n"
                       "web,b,0,0,0,1\n"
                       "web,BACKEND,1,0,3,9\n";
    assert_int_equal(haproxy_answer_sessions(stat, "a"), 4);
    assert_int_equal(haproxy_answer_sessions(stat, "b"), 0);
    assert_int_equal(haproxy_answer_sessions(stat, "c"), -1);
    assert_int_equal(haproxy_answer_sessions("Unknown command.\n", "a"), -1);
    assert_int_equal(haproxy_answer_sessions("# pxname,svname\nweb,a\n", "a"), -1);
    assert_int_equal(haproxy_answer_sessions("", "a"), -1);
}

/* A foreign answer with huge counts summed them past LONG_MAX (undefined
 * behaviour); they are clamped now. */
static void sessions_huge_counts(void **state)
{
    (void)state;
    const char *stat = "# svname,qcur,scur\n"
                       "a,99999999999999999999999,99999999999999999999999\n"
                       "b,-5,3\n";
    assert_int_equal(haproxy_answer_sessions(stat, "a"), 2L * INT_MAX);
    assert_int_equal(haproxy_answer_sessions(stat, "b"), 3);
}

static void pid(void **state)
{
    (void)state;
    assert_int_equal(haproxy_answer_pid("Name: HAProxy\nVersion: 2.6\nPid: 1234\nUptime: 1s\n"),
                     1234);
    assert_int_equal(haproxy_answer_pid("Pid: 77\n"), 77);
    assert_int_equal(haproxy_answer_pid("Name: HAProxy\n"), 0);
    assert_int_equal(haproxy_answer_pid("Pid: -3\n"), 0);
    assert_int_equal(haproxy_answer_pid("Pid: 99999999999999999999\n"), 0);
    assert_int_equal(haproxy_answer_pid(""), 0);
}

/* Issue 14: Synapse's layout names a frontend and a backend alike, and
 * "show stat <name>" picks the frontend: drains ask for the backend's id
 * (recorded from HAProxy 2.6). */
static void backend_id(void **state)
{
    (void)state;
    assert_int_equal(
        haproxy_answer_backend_id(
            "1\n# be_id be_name srv_id srv_name srv_addr\n"
            "3 web 1 a_127.0.0.2:80 127.0.0.2 2 0 1 1 10 6 3 4 6 0 0 0 - 80 - 0 0 - - 0\n"),
        3);
    assert_int_equal(haproxy_answer_backend_id("1\n# be_id be_name srv_id srv_name\n"), -1);
    assert_int_equal(haproxy_answer_backend_id("Can't find backend.\n"), -1);
    assert_int_equal(haproxy_answer_backend_id(""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sessions),
        cmocka_unit_test(sessions_huge_counts),
        cmocka_unit_test(pid),
        cmocka_unit_test(backend_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
