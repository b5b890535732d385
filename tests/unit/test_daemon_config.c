#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "daemon_config.h"
#include "reg_config.h"
#include "syn_config.h"

static void listen_addresses(void **state)
{
    (void)state;
    char a[64];
    int port = 0;
    assert_int_equal(daemon_config_split_listen("127.0.0.1:9300", a, sizeof a, &port), 0);
    assert_string_equal(a, "127.0.0.1");
    assert_int_equal(port, 9300);
    assert_int_equal(daemon_config_split_listen("[::1]:9301", a, sizeof a, &port), 0);
    assert_string_equal(a, "::1");
    assert_int_equal(port, 9301);
    const char *bad[] = {"localhost:9300", "127.0.0.1", "127.0.0.1:0",   "127.0.0.1:65536", ":9300",
                         "::1:9300",       "[::1]9300", "127.0.0.1:93x", "127.0.0.1:-1",    ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(daemon_config_split_listen(bad[i], a, sizeof a, &port), -1);
}

static void parse(const char *json, struct daemon_config *out, int want, const char *want_err)
{
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    char err[300] = "";
    assert_int_equal(daemon_config_parse(root, out, err, sizeof err), want);
    if (want_err) assert_string_equal(err, want_err);
    cJSON_Delete(root);
}

static void keys_and_errors_name_the_path(void **state)
{
    (void)state;
    struct daemon_config c;
    parse("{}", &c, 0, NULL);
    assert_int_equal(c.log_format, LOG_FORMAT_TEXT);
    assert_null(c.metrics_listen);
    assert_null(c.control_socket);
    parse("{\"log_format\":\"json\",\"metrics\":{\"listen\":\"127.0.0.1:9300\"},"
          "\"control_socket\":\"/run/smartdock/x.sock\"}",
          &c, 0, NULL);
    assert_int_equal(c.log_format, LOG_FORMAT_JSON);
    assert_string_equal(c.metrics_listen, "127.0.0.1:9300");
    assert_string_equal(c.control_socket, "/run/smartdock/x.sock");
    daemon_config_clear(&c);
    parse("{\"log_format\":\"xml\"}", &c, -1,
          "log_format: expected \"text\" or \"json\", got \"xml\"");
    parse("{\"metrics\":{\"listen\":\"0.0.0.0\"}}", &c, -1,
          "metrics.listen: expected \"address:port\" with a numeric address (\"127.0.0.1:9300\"), "
          "got \"0.0.0.0\"");
    parse("{\"metrics\":{\"listen\":\"127.0.0.1:1\",\"path\":\"/m\"}}", &c, -1,
          "metrics.path: unknown key (metrics takes \"listen\")");
    parse("{\"control_socket\":\"relative.sock\"}", &c, -1,
          "control_socket: expected an absolute path under 108 bytes, got \"relative.sock\"");
}

static void both_daemons_take_the_keys(void **state)
{
    (void)state;
    struct reg_config *rc = NULL;
    char **warnings = NULL;
    char err[512];
    assert_int_equal(reg_config_parse("{\"advertise_host\":\"127.0.0.2\",\"registry\":{\"hosts\":"
                                      "[\"127.0.0.1:2181\"]},\"services\":{},\"log_format\":"
                                      "\"json\",\"metrics\":{\"listen\":\"127.0.0.1:9300\"}}",
                                      &rc, &warnings, err, sizeof err),
                     0);
    assert_null(warnings && *warnings ? *warnings : NULL);
    assert_int_equal(rc->daemon.log_format, LOG_FORMAT_JSON);
    assert_string_equal(rc->daemon.metrics_listen, "127.0.0.1:9300");
    reg_config_free(rc);
    reg_config_free_warnings(warnings);
    assert_int_equal(reg_config_parse("{\"advertise_host\":\"127.0.0.2\",\"registry\":{\"hosts\":"
                                      "[\"127.0.0.1:2181\"]},\"services\":{},\"log_format\":1}",
                                      &rc, NULL, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "log_format"));

    struct syn_config *sc = NULL;
    assert_int_equal(syn_config_parse("{\"services\":{},\"control_socket\":\"/tmp/w.sock\","
                                      "\"metrics\":{\"listen\":\"127.0.0.1:9301\"}}",
                                      &sc, err, sizeof err),
                     0);
    assert_int_equal(sc->warnings.n, 0);
    assert_string_equal(sc->daemon.control_socket, "/tmp/w.sock");
    assert_string_equal(sc->daemon.metrics_listen, "127.0.0.1:9301");
    syn_config_free(sc);
    assert_int_equal(syn_config_parse("{\"services\":{},\"metrics\":[]}", &sc, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "metrics: expected an object"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listen_addresses),
        cmocka_unit_test(keys_and_errors_name_the_path),
        cmocka_unit_test(both_daemons_take_the_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
