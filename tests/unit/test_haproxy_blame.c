#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "haproxy_blame.h"

static const char CFG[] = "global\n"                                 /* 1 */
                          "defaults\n"                               /* 2 */
                          "  mode tcp\n"                             /* 3 */
                          "  timeout connect 1s\n"                   /* 4 */
                          "backend web\n"                            /* 5 */
                          "  server a 127.0.0.1:80 check \"\n"       /* 6 */
                          "  server b 127.0.0.1:81 observe layer7\n" /* 7 */
                          "  server c 127.0.0.1:82\n"                /* 8 */
                          "listen api\n"                             /* 9 */
                          "  bind 127.0.0.1:9999\n"                  /* 10 */
                          "  server d [::1]:83 agent-check\n";       /* 11 */

/* Output of haproxy 2.6 -c for such a file. */
static const char OUT[] =
    "[NOTICE]   (3687) : haproxy version is 2.6.12-1+deb12u4\n"
    "[ALERT]    (3687) : config : parsing [/tmp/x.cfg.candidate:6]: unmatched quote at position "
    "31:\n"
    "  server a 127.0.0.1:80 check \"\n"
    "                              ^\n"
    "[ALERT]    (3687) : config : [/tmp/x.cfg.candidate:7] : 'server web/b' : 'layer7' can only "
    "be used in http proxies..\n"
    "[ALERT]    (3687) : config : [/tmp/x.cfg.candidate:11] : 'server api/d' : server d does not "
    "have agent port. Agent check has been disabled.\n"
    "[ALERT]    (3687) : config : [/tmp/x.cfg.candidate:7] : again\n"
    "[ALERT]    (3687) : config : Error(s) found in configuration file : /tmp/x.cfg.candidate\n"
    "[ALERT]    (3687) : config : Fatal errors found in configuration.\n";

static void blames_server_lines(void **state)
{
    (void)state;
    struct blamed_list l;
    bool other = true;
    assert_int_equal(haproxy_blame(CFG, OUT, &l, &other), 0);
    assert_false(other);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].section, "web");
    assert_string_equal(l.v[0].name, "a");
    assert_string_equal(l.v[0].host, "127.0.0.1");
    assert_int_equal(l.v[0].port, 80);
    assert_string_equal(l.v[0].message, "unmatched quote at position 31:");
    assert_string_equal(l.v[1].name, "b");
    assert_string_equal(l.v[1].message,
                        "'server web/b' : 'layer7' can only be used in http proxies..");
    assert_string_equal(l.v[2].section, "api");
    assert_string_equal(l.v[2].host, "::1");
    assert_int_equal(l.v[2].port, 83);
    blamed_list_clear(&l);
}

static void other_errors_are_the_configs(void **state)
{
    (void)state;
    struct blamed_list l;
    bool other = false;
    /* a line that is not a server line */
    assert_int_equal(haproxy_blame(CFG,
                                   "[ALERT] (1) : config : parsing [/c:4] : timeout: bad\n"
                                   "[ALERT] (1) : config : Fatal errors found in configuration.\n",
                                   &l, &other),
                     0);
    assert_true(other);
    assert_int_equal(l.n, 0);
    blamed_list_clear(&l);
    /* an alert that names no line */
    assert_int_equal(haproxy_blame(CFG, "[ALERT] (1) : Proxy 'web': no such thing\n", &l, &other),
                     0);
    assert_true(other);
    blamed_list_clear(&l);
    /* a line past the end, garbage, nothing */
    assert_int_equal(haproxy_blame(CFG, "[ALERT] x [/c:999] y\n[ALERT] [:] [a:] [:1\n", &l, &other),
                     0);
    assert_true(other);
    assert_int_equal(l.n, 0);
    blamed_list_clear(&l);
    assert_int_equal(haproxy_blame(CFG, "", &l, &other), 0);
    assert_false(other);
    assert_int_equal(l.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blames_server_lines),
        cmocka_unit_test(other_errors_are_the_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
