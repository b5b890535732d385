/* Synapse's generator_config_path: haproxy settings published in a znode,
 * decoded, checked and put in place of the file's (generator_config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generator_config.h"

#define ZNODE "/smartdock/services/web"

struct outcome {
    enum generator_config_result r;
    struct syn_service_haproxy h;
    char *json;
    struct strlist warnings;
    char err[600];
};

static void decode(const char *data, struct outcome *o)
{
    struct syn_service_haproxy file = {.backend_name = "web_backend"};
    memset(o, 0, sizeof *o);
    o->r = generator_config_decode("web", ZNODE, data, data ? strlen(data) : 0, &file, NULL, &o->h,
                                   &o->json, &o->warnings, o->err, sizeof o->err);
}

static void outcome_clear(struct outcome *o)
{
    syn_service_haproxy_clear(&o->h);
    free(o->json);
    strlist_clear(&o->warnings);
}

static void settings_replace_the_file_section(void **state)
{
    (void)state;
    struct outcome o;
    decode("{\"haproxy\": {\"port\": 3214, \"server_options\": \"check inter 2s\", "
           "\"listen\": [\"mode http\", \"balance roundrobin\"], \"backend_order\": \"desc\"}}",
           &o);
    assert_int_equal(o.r, GENERATOR_CONFIG_NEW);
    assert_int_equal(o.h.port_mode, SYN_PORT_SET);
    assert_int_equal(o.h.port, 3214);
    assert_string_equal(o.h.server_options, "check inter 2s");
    assert_int_equal(o.h.listen.n, 2);
    assert_string_equal(o.h.listen.v[1], "balance roundrobin");
    assert_int_equal(o.h.backend_order, SYN_ORDER_DESC);
    /* the backend keeps the file's name */
    assert_string_equal(o.h.backend_name, "web_backend");
    assert_string_equal(o.json,
                        "{\"port\":3214,\"server_options\":\"check inter 2s\",\"listen\":"
                        "[\"mode http\",\"balance roundrobin\"],\"backend_order\":\"desc\"}");
    assert_int_equal(o.warnings.n, 0);
    outcome_clear(&o);

    /* Keys left out take their defaults, as Synapse replaces the section. */
    decode("{\"haproxy\": {}}", &o);
    assert_int_equal(o.r, GENERATOR_CONFIG_NEW);
    assert_int_equal(o.h.port_mode, SYN_PORT_NONE);
    assert_null(o.h.server_options);
    outcome_clear(&o);
}

static void nothing_published_keeps_what_is_in_effect(void **state)
{
    (void)state;
    struct outcome o;
    const char *none[] = {NULL, "", "  \n", "{}", "{\"file_output\": {\"disabled\": true}}"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        decode(none[i], &o);
        assert_int_equal(o.r, GENERATOR_CONFIG_NONE);
        outcome_clear(&o);
    }
    decode("{\"file_output\": {}, \"nginx\": {}, \"haproxy\": {\"port\": 1}}", &o);
    assert_int_equal(o.r, GENERATOR_CONFIG_NEW);
    assert_int_equal(o.warnings.n, 2);
    assert_string_equal(o.warnings.v[0],
                        "znode " ZNODE ": file_output: ignored; only haproxy settings are read "
                        "from ZooKeeper");
    assert_string_equal(o.warnings.v[1],
                        "znode " ZNODE ": nginx: not a generator Synapse knows; ignored");
    outcome_clear(&o);
    decode("{\"haproxy\": {\"port\": 1, \"colour\": \"red\"}}", &o);
    assert_int_equal(o.r, GENERATOR_CONFIG_NEW);
    assert_string_equal(o.warnings.v[0], "znode " ZNODE ": unknown key haproxy.colour");
    outcome_clear(&o);
}

static void refused(const char *data, const char *want)
{
    struct outcome o;
    decode(data, &o);
    if (o.r != GENERATOR_CONFIG_REFUSED || strcmp(o.err, want) != 0)
        fail_msg("data %s\n  result %d\n  got  %s\n  want %s", data, o.r, o.err, want);
    outcome_clear(&o);
}

static void bad_data_is_refused_naming_znode_and_field(void **state)
{
    (void)state;
    refused("{\"haproxy\": ", "znode " ZNODE ": malformed JSON at line 1, column 12");
    refused("[1]", "znode " ZNODE ": data: expected an object {\"haproxy\": {...}}, got [1]");
    refused("{\"haproxy\": \"port 80\"}",
            "znode " ZNODE ": haproxy: expected an object, got \"port 80\"");
    refused("{\"haproxy\": {\"port\": \"abc\"}}",
            "znode " ZNODE ": haproxy.port: expected an integer 1..65535, got \"abc\"");
    refused("{\"haproxy\": {\"listen\": [\"mode http\\nbackend evil\"]}}",
            "znode " ZNODE ": haproxy.listen[0]: expected a string without control characters, "
            "got \"mode http\\nbackend evil\"");
    refused("{\"haproxy\": {\"backend_name\": \"other\"}}",
            "znode " ZNODE ": haproxy.backend_name: may be set in the config file only, not "
            "published");
    refused("{\"haproxy\": {\"server_port_override\": 8080}}",
            "znode " ZNODE ": haproxy.server_port_override: may be set in the config file only, "
            "not published");
}

static void dangerous_keywords_are_refused(void **state)
{
    (void)state;
    refused("{\"haproxy\": {\"backend\": [\"mode http\", \"server evil 10.0.0.1:80\"]}}",
            "znode " ZNODE ": haproxy.backend[1]: \"server\" is refused: servers come from "
            "registrations, which are checked one by one");
    refused("{\"haproxy\": {\"backend\": [\"option external-check\", "
            "\"external-check command /bin/sh\"]}}",
            "znode " ZNODE ": haproxy.backend[0]: \"external-check\" is refused: it runs a "
            "command on the HAProxy host");
    refused("{\"haproxy\": {\"frontend\": [\"http-request lua.evil\"]}}",
            "znode " ZNODE ": haproxy.frontend[0]: \"lua.evil\" is refused: it runs Lua code");
    refused("{\"haproxy\": {\"listen\": [\"stats admin if TRUE\"]}}",
            "znode " ZNODE ": haproxy.listen[0]: \"stats\" is refused: it would open HAProxy's "
            "statistics or admin page");
    refused("{\"haproxy\": {\"frontend\": [\"http-request return status 200 file /etc/shadow\"]}}",
            "znode " ZNODE ": haproxy.frontend[0]: \"file\" is refused: it reads a file of the "
            "HAProxy host");
    refused("{\"haproxy\": {\"frontend\": [\"http-request set-header X \\\"$HOME\\\"\"]}}",
            "znode " ZNODE ": haproxy.frontend[0]: \"$\" in a quoted word would read HAProxy's "
            "environment");
    refused("{\"haproxy\": {\"shared_frontend\": [\"http-request set-header X %[env(SECRET)]\"]}}",
            "znode " ZNODE ": haproxy.shared_frontend[0]: \"env(\" reads HAProxy's environment");
    refused("{\"haproxy\": {\"port\": 443, \"bind_options\": \"ssl crt /etc/ssl/key.pem\"}}",
            "znode " ZNODE ": haproxy.bind_options: \"crt\" is refused: it reads a file of the "
            "HAProxy host");
    refused("{\"haproxy\": {\"backend\": [\"default-server ca-file /x\"]}}",
            "znode " ZNODE ": haproxy.backend[0]: \"default-server\" is refused: it would "
            "change every registration's server line");
    /* server_options: the allowed_server_options policy of registrations */
    struct outcome o;
    decode("{\"haproxy\": {\"server_options\": \"check crt /etc/key.pem\"}}", &o);
    assert_int_equal(o.r, GENERATOR_CONFIG_REFUSED);
    assert_non_null(strstr(o.err, "znode " ZNODE ": haproxy.server_options: "));
    assert_non_null(strstr(o.err, "crt"));
    outcome_clear(&o);
}

static void ordinary_lines_pass(void **state)
{
    (void)state;
    const char *ok[] = {"mode http",
                        "option httpchk GET /health",
                        "no option http-server-close",
                        "balance roundrobin",
                        "timeout server 30s",
                        "http-request set-header X-Forwarded-Port %[dst_port]",
                        "acl is_api path_beg /api$",
                        "cookie SRV insert indirect nocache"};
    char why[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (generator_config_line_check(ok[i], why, sizeof why) != 0)
            fail_msg("%s refused: %s", ok[i], why);
    assert_int_equal(generator_config_line_check("no stats enable", why, sizeof why), -1);
    assert_int_equal(generator_config_line_check("lua-load /x.lua", why, sizeof why), -1);
    assert_int_equal(generator_config_line_check("errorfile 503 /x", why, sizeof why), -1);
    assert_int_equal(
        generator_config_line_check("server-state-file-name use-backend-name", why, sizeof why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(settings_replace_the_file_section),
        cmocka_unit_test(nothing_published_keeps_what_is_in_effect),
        cmocka_unit_test(bad_data_is_refused_naming_znode_and_field),
        cmocka_unit_test(dangerous_keywords_are_refused),
        cmocka_unit_test(ordinary_lines_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
