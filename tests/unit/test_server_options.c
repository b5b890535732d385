#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_options.h"

static void assert_allowed(const struct server_options_policy *p, const char *opts)
{
    char err[256] = "";
    char *bad = (char *)"unset";
    int rc = server_options_check(p, opts, err, sizeof err, &bad);
    if (rc != 0) fail_msg("\"%s\" refused: %s", opts, err);
    assert_null(bad);
}

/* Refused, naming want_word in the error and in *bad_word. */
static void assert_refused(const struct server_options_policy *p, const char *opts,
                           const char *want_word)
{
    char err[256] = "";
    char *bad = NULL;
    if (server_options_check(p, opts, err, sizeof err, &bad) == 0)
        fail_msg("\"%s\" allowed, expected \"%s\" refused", opts, want_word);
    assert_non_null(bad);
    if (strcmp(bad, want_word) != 0)
        fail_msg("\"%s\": bad word \"%s\", want \"%s\"", opts, bad, want_word);
    char quoted[128];
    snprintf(quoted, sizeof quoted, "\"%s\"", want_word);
    if (!strstr(err, quoted)) fail_msg("\"%s\": error \"%s\" does not name %s", opts, err, quoted);
    free(bad);
}

static void test_empty_and_null_pass(void **state)
{
    (void)state;
    assert_allowed(NULL, NULL);
    assert_allowed(NULL, "");
    assert_allowed(NULL, "   ");
}

static void test_flags(void **state)
{
    (void)state;
    const char *flags[] = {
        "backup", "check", "agent-check", "send-proxy", "send-proxy-v2", "check-send-proxy", "tfo"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        assert_allowed(NULL, flags[i]);
    assert_allowed(NULL, "check backup\tsend-proxy-v2 tfo");
}

static void test_integers_in_range(void **state)
{
    (void)state;
    assert_allowed(NULL, "weight 0");
    assert_allowed(NULL, "weight 256");
    assert_refused(NULL, "weight 257", "257");
    assert_refused(NULL, "weight -1", "-1");
    assert_refused(NULL, "weight 1x", "1x");
    assert_refused(NULL, "weight 99999999999999999999", "99999999999999999999");
    assert_allowed(NULL, "rise 2 fall 3 maxconn 100 maxqueue 10 minconn 0 error-limit 5");
    assert_refused(NULL, "rise 0", "0");
    assert_refused(NULL, "fall 1000001", "1000001");
    assert_refused(NULL, "maxconn -5", "-5");
    assert_allowed(NULL, "agent-port 1 agent-port 65535");
    assert_refused(NULL, "agent-port 65536", "65536");
    assert_allowed(NULL, "pool-max-conn -1");
    assert_refused(NULL, "pool-max-conn -2", "-2");
}

static void test_durations_in_haproxy_units(void **state)
{
    (void)state;
    assert_allowed(NULL, "inter 2000");
    assert_allowed(NULL, "inter 500us fastinter 250ms downinter 2s agent-inter 1m");
    assert_allowed(NULL, "inter 1h slowstart 0 slowstart 1d");
    assert_refused(NULL, "inter 0", "0");
    assert_refused(NULL, "inter 2sec", "2sec");
    assert_refused(NULL, "inter 1.5s", "1.5s");
    assert_refused(NULL, "inter s", "s");
    assert_refused(NULL, "inter -3s", "-3s");
    assert_refused(NULL, "slowstart 25d", "25d"); /* beyond 2^31 ms */
}

static void test_enumerations(void **state)
{
    (void)state;
    assert_allowed(NULL, "on-error fastinter on-error fail-check on-error sudden-death");
    assert_allowed(NULL, "on-error mark-down observe layer4 observe layer7");
    assert_refused(NULL, "on-error explode", "explode");
    assert_refused(NULL, "observe layer5", "layer5");
}

static void test_missing_argument(void **state)
{
    (void)state;
    assert_refused(NULL, "check inter", "inter");
    assert_refused(NULL, "weight", "weight");
}

static void test_refused_words(void **state)
{
    (void)state;
    const char *words[] = {"disabled",  "cookie",         "track",       "source",    "usesrc",
                           "interface", "namespace",      "sni",         "crt",       "ca-file",
                           "crl-file",  "redir",          "addr",        "init-addr", "resolvers",
                           "id",        "on-marked-down", "on-marked-up"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char opts[96];
        snprintf(opts, sizeof opts, "check %s x", words[i]);
        assert_refused(NULL, opts, words[i]);
        assert_true(server_options_keyword_is_refused(words[i]));
    }
    assert_false(server_options_keyword_is_refused("check"));
}

static void test_unknown_words(void **state)
{
    (void)state;
    assert_refused(NULL, "check ssl", "ssl");
    assert_refused(NULL, "verify none", "verify");
    assert_refused(NULL, "CHECK", "CHECK");
    assert_refused(NULL, "127.0.0.1:80", "127.0.0.1:80");
}

static void test_only_words(void **state)
{
    (void)state;
    assert_refused(NULL, "check \"", "\"");
    assert_refused(NULL, "check 'x y'", "'x");
    assert_refused(NULL, "cookie \"$HOME\"", "\"$HOME\"");
    assert_refused(NULL, "weight ${W}", "${W}");
    assert_refused(NULL, "check %{name}", "%{name}");
    char err[128];
    assert_int_equal(server_options_check(NULL, "check\nbind", err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, "\"check?bind\""));
    assert_refused(NULL, "check;x", "check;x");
}

static void test_length_bound(void **state)
{
    (void)state;
    char opts[SERVER_OPTIONS_MAX_LEN + 2];
    memset(opts, ' ', sizeof opts);
    memcpy(opts, "check", 5);
    opts[SERVER_OPTIONS_MAX_LEN] = 0;
    assert_allowed(NULL, opts);
    opts[SERVER_OPTIONS_MAX_LEN] = ' ';
    opts[SERVER_OPTIONS_MAX_LEN + 1] = 0;
    char err[128];
    assert_int_equal(server_options_check(NULL, opts, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, "257 bytes"));
}

static void test_policy_replaces_default_list(void **state)
{
    (void)state;
    char err[256];
    const char *kw[] = {"check", "cookie", "id"};
    struct server_options_policy *p = server_options_policy_new(kw, 3, err, sizeof err);
    assert_non_null(p);
    assert_allowed(p, "check cookie web1 id 7");
    assert_refused(p, "weight 3", "weight");
    assert_refused(p, "id 0", "0");
    server_options_policy_free(p);

    const char *unknown[] = {"check", "track"};
    assert_null(server_options_policy_new(unknown, 2, err, sizeof err));
    assert_non_null(strstr(err, "\"track\""));
}

static void test_default_list(void **state)
{
    (void)state;
    const char *const *kw = server_options_default_keywords();
    size_t n = 0;
    for (; kw[n]; n++) {
        assert_true(server_options_keyword_is_known(kw[n]));
        assert_false(server_options_keyword_is_refused(kw[n]));
    }
    assert_int_equal(n, 23);
    assert_true(server_options_keyword_is_known("cookie"));
    assert_false(server_options_keyword_is_known("track"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_null_pass),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_integers_in_range),
        cmocka_unit_test(test_durations_in_haproxy_units),
        cmocka_unit_test(test_enumerations),
        cmocka_unit_test(test_missing_argument),
        cmocka_unit_test(test_refused_words),
        cmocka_unit_test(test_unknown_words),
        cmocka_unit_test(test_only_words),
        cmocka_unit_test(test_length_bound),
        cmocka_unit_test(test_policy_replaces_default_list),
        cmocka_unit_test(test_default_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
