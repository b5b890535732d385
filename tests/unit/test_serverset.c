/* Finagle ServerSet payloads (watcher/discovery/serverset.c), and discovery
 * "zookeeper" reading them (zk_child_set with decode serverset), on recorded
 * znode data (tests/fixtures/serverset/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "fixture.h"
#include "serverset.h"
#include "zk_child_set.h"
#include "zk_child_set_fixture.h"

static enum serverset_result decode_fixture(const char *file, const char *endpoint,
                                            struct backend *b, char *err, size_t errlen)
{
    char rel[128];
    size_t len;
    snprintf(rel, sizeof rel, "serverset/%s", file);
    char *json = fixture_read(rel, &len);
    enum serverset_result r = serverset_decode(json, len, endpoint, b, err, errlen);
    free(json);
    return r;
}

static void service_endpoint(void **state)
{
    (void)state;
    struct backend b;
    char err[256] = "";
    assert_int_equal(decode_fixture("alive.json", NULL, &b, err, sizeof err), SERVERSET_OK);
    assert_string_equal(b.host, "127.0.0.21");
    assert_int_equal(b.port, 31943);
    assert_string_equal(b.name, "3"); /* the shard, as Synapse names it */
    assert_int_equal(b.weight, BACKEND_WEIGHT_UNSET);
    backend_clear(&b);

    assert_int_equal(decode_fixture("alive.json", "http", &b, err, sizeof err), SERVERSET_OK);
    assert_int_equal(b.port, 31944);
    backend_clear(&b);

    assert_int_equal(decode_fixture("alive_noshard.json", NULL, &b, err, sizeof err), SERVERSET_OK);
    assert_string_equal(b.name, "127.0.0.22:8080");
    backend_clear(&b);
}

static void not_alive_and_refused(void **state)
{
    (void)state;
    struct backend b;
    char err[256] = "";
    assert_int_equal(decode_fixture("stopping.json", NULL, &b, err, sizeof err),
                     SERVERSET_NOT_ALIVE);
    assert_string_equal(err, "status: expected \"ALIVE\" to be served, got \"STOPPING\"");
    assert_null(b.host);

    assert_int_equal(decode_fixture("alive_noshard.json", "http", &b, err, sizeof err),
                     SERVERSET_REFUSED);
    assert_string_equal(err, "additionalEndpoints.http: missing (decode.endpoint_name names it)");
    assert_int_equal(decode_fixture("hostile_host.json", NULL, &b, err, sizeof err),
                     SERVERSET_REFUSED);
    assert_string_equal(err, "serviceEndpoint.host: expected a hostname or IP address, got "
                             "\"127.0.0.1\\nbackend evil\"");
    assert_int_equal(decode_fixture("hostile_shard.json", NULL, &b, err, sizeof err),
                     SERVERSET_REFUSED);
    assert_string_equal(err,
                        "shard: expected an integer 0..2147483647, got \"0 check\\nlisten x\"");
    assert_null(b.host);
    assert_null(b.name);

    static const struct {
        const char *json, *endpoint, *err;
    } cases[] = {
        {"", NULL, "payload: expected ServerSet JSON, got no data"},
        {"{\"serviceEndpoint\":", NULL,
         "payload: expected ServerSet JSON, got malformed JSON (19 bytes)"},
        {"[]", NULL, "payload: expected a JSON object, got []"},
        {"{\"serviceEndpoint\":{\"host\":\"h\",\"port\":80}}", NULL,
         "status: expected a string such as \"ALIVE\", got nothing"},
        {"{\"status\":\"ALIVE\"}", NULL,
         "serviceEndpoint: expected an object {\"host\", \"port\"}, got nothing"},
        {"{\"status\":\"ALIVE\",\"serviceEndpoint\":{\"host\":\"h\",\"port\":\"80\"}}", NULL,
         "serviceEndpoint.port: expected an integer 1..65535, got \"80\""},
        {"{\"status\":\"ALIVE\",\"serviceEndpoint\":{\"host\":\"h\",\"port\":0}}", NULL,
         "serviceEndpoint.port: expected an integer 1..65535, got 0"},
        {"{\"status\":\"ALIVE\",\"additionalEndpoints\":[]}", "http",
         "additionalEndpoints: expected an object of named endpoints, got []"},
        {"{\"status\":\"ALIVE\",\"additionalEndpoints\":{\"http\":{\"host\":\"h;x\",\"port\":1}}}",
         "http", "additionalEndpoints.http.host: expected a hostname or IP address, got \"h;x\""},
        {"{\"status\":\"ALIVE\\u0000\"}", NULL,
         "payload: expected ServerSet JSON, got a NUL character (24 bytes)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = 0;
        enum serverset_result r = serverset_decode(cases[i].json, strlen(cases[i].json),
                                                   cases[i].endpoint, &b, err, sizeof err);
        if (r != SERVERSET_REFUSED || strcmp(err, cases[i].err) != 0)
            fail_msg("case %zu: r=%d\n  want: %s\n  got:  %s", i, r, cases[i].err, err);
        assert_null(b.host);
    }
}

static void drain_requests(struct zk_child_set *cs)
{
    struct zk_child_set_request rq;
    while (zk_child_set_next_request(cs, &rq))
        free(rq.child);
}

static void read_fixture(struct zk_child_set *cs, const char *child, const char *file)
{
    char rel[128];
    size_t len;
    snprintf(rel, sizeof rel, "serverset/%s", file);
    char *json = fixture_read(rel, &len);
    zk_child_set_read(cs, child, ZOK, json, (int)len, 0);
    free(json);
}

/* Discovery reads a ServerSet: ALIVE members served, the rest left out. */
static void child_set_reads_serversets(void **state)
{
    (void)state;
    struct zk_child_set *cs = zk_child_set_new("web", "/aurora/web");
    assert_int_equal(zk_child_set_decode_serverset(cs, "http"), 0);
    zk_child_set_session(cs, true);
    drain_requests(cs);
    char *children[] = {"member_0000000001", "member_0000000002", "member_0000000003"};
    zk_child_set_listed(cs, ZOK, children, 3);
    drain_requests(cs);
    read_fixture(cs, "member_0000000001", "alive.json");
    read_fixture(cs, "member_0000000002", "stopping.json");
    const char *refused = NULL;
    char *json = fixture_read("serverset/hostile_host.json", NULL);
    refused = zk_child_set_read(cs, "member_0000000003", ZOK, json, (int)strlen(json), 0);
    free(json);
    assert_non_null(refused);
    assert_string_equal(update(cs), "3@127.0.0.21:31944");
    zk_child_set_free(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(service_endpoint),
        cmocka_unit_test(not_alive_and_refused),
        cmocka_unit_test(child_set_reads_serversets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
