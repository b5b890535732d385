#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_model.h"

#define ID_BRIDGE "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef"
#define ID_HOST "8e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4e5"
#define ID_HEALTH "b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6"

/* Reads tests/fixtures/docker/<name>; caller frees. */
static char *fixture(const char *name, size_t *len)
{
    char relative[256];
    snprintf(relative, sizeof relative, "docker/%s", name);
    return fixture_read(relative, len);
}

static void decode_fixture(const char *name, struct docker_container *c)
{
    size_t len;
    char err[256];
    char *json = fixture(name, &len);
    if (docker_container_decode(json, len, c, err, sizeof err) != 0) fail_msg("%s: %s", name, err);
    free(json);
}

/* Decodes an inline document that must fail; returns the error sentence. */
static const char *decode_fails(const char *json)
{
    static char err[512];
    struct docker_container c;
    err[0] = '\0';
    if (docker_container_decode(json, strlen(json), &c, err, sizeof err) == 0)
        fail_msg("accepted: %s", json);
    assert_null(c.id);
    assert_null(c.labels);
    assert_null(c.bindings);
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
    return err;
}

static void decode_ok(const char *json, struct docker_container *c)
{
    char err[256];
    if (docker_container_decode(json, strlen(json), c, err, sizeof err) != 0)
        fail_msg("%s: %s", json, err);
}

static void bridge_container(void **state)
{
    struct docker_container c;
    (void)state;
    decode_fixture("inspect_bridge.json", &c);
    assert_string_equal(ID_BRIDGE, c.id);
    assert_string_equal("nodesrv-1", c.name);
    assert_string_equal("local/nodeapp:v2", c.image);
    assert_string_equal("bridge", c.network_mode);
    assert_false(c.host_network);
    assert_true(c.running);
    assert_false(c.paused);
    assert_false(c.has_healthcheck);
    assert_null(c.health_status);
    assert_null(c.stop_signal);
    assert_int_equal(3, c.nlabels);
    assert_string_equal("nodesrv", docker_container_label(&c, "smartdock.service"));
    assert_string_equal("10", docker_container_label(&c, "smartdock.weight"));
    assert_null(docker_container_label(&c, "missing"));
    assert_null(docker_container_label(&c, NULL));
    assert_int_equal(1, c.nexposed);
    assert_int_equal(8000, c.exposed_tcp_ports[0]);
    assert_int_equal(2, c.nbindings);
    assert_int_equal(8000, c.bindings[0].private_port);
    assert_string_equal("tcp", c.bindings[0].proto);
    assert_string_equal("0.0.0.0", c.bindings[0].host_ip);
    assert_int_equal(32768, c.bindings[0].host_port);
    assert_string_equal("::", c.bindings[1].host_ip);
    assert_int_equal(32768, docker_container_host_port(&c, 8000, NULL));
    assert_int_equal(32768, docker_container_host_port(&c, 8000, "127.0.10.5"));
    assert_int_equal(-1, docker_container_host_port(&c, 9000, NULL));
    assert_int_equal(-1, docker_container_host_port(&c, 0, NULL));
    assert_int_equal(-1, docker_container_host_port(&c, 70000, NULL));
    docker_container_clear(&c);
    assert_null(c.id);
    docker_container_clear(&c); /* twice is harmless */
    docker_container_clear(NULL);
}

static void host_network_container(void **state)
{
    struct docker_container c;
    (void)state;
    decode_fixture("inspect_host.json", &c);
    assert_string_equal(ID_HOST, c.id);
    assert_true(c.host_network);
    assert_string_equal("SIGQUIT", c.stop_signal);
    assert_string_equal("reg.example:5000/infra/nginx:1.25", c.image);
    /* 53/udp is not a tcp port; the rest comes sorted. */
    assert_int_equal(2, c.nexposed);
    assert_int_equal(80, c.exposed_tcp_ports[0]);
    assert_int_equal(8443, c.exposed_tcp_ports[1]);
    assert_int_equal(0, c.nbindings);
    assert_int_equal(80, docker_container_host_port(&c, 80, NULL));
    assert_int_equal(8443, docker_container_host_port(&c, 8443, "127.0.10.5"));
    assert_int_equal(-1, docker_container_host_port(&c, 53, NULL));
    assert_int_equal(-1, docker_container_host_port(&c, 9999, NULL));
    docker_container_clear(&c);

    /* Nothing exposed: host-network containers serve whatever they listen on. */
    decode_ok("{\"Id\":\"abc123\",\"HostConfig\":{\"NetworkMode\":\"host\"},"
              "\"Config\":{\"ExposedPorts\":null},\"NetworkSettings\":{\"Ports\":{}}}",
              &c);
    assert_true(c.host_network);
    assert_int_equal(0, c.nexposed);
    assert_int_equal(1234, docker_container_host_port(&c, 1234, NULL));
    docker_container_clear(&c);
}

/* A container attached to two user-defined networks (recorded reply, with
 * loopback addresses in place of the private ones). */
static void networks_env_and_udp(void **state)
{
    struct docker_container c;
    (void)state;
    decode_fixture("inspect_networks.json", &c);
    assert_false(c.host_network);
    assert_null(c.ip_address); /* "" counts as absent */
    assert_int_equal(3, c.nnetworks);
    assert_string_equal("backend", c.networks[0].name);
    assert_string_equal("127.0.201.7", c.networks[0].ip_address);
    assert_null(c.networks[2].ip_address);
    /* -internal: the network asked for, else the first with an address. */
    assert_string_equal("127.0.202.9", docker_container_internal_ip(&c, "frontend"));
    assert_string_equal("127.0.201.7", docker_container_internal_ip(&c, "backend"));
    assert_string_equal("127.0.201.7", docker_container_internal_ip(&c, NULL));
    assert_null(docker_container_internal_ip(&c, "pending"));
    assert_null(docker_container_internal_ip(&c, "nope"));
    /* Env split at the first '='. */
    assert_int_equal(7, c.nenv);
    assert_string_equal("SERVICE_443_NAME", c.env[1].key);
    assert_string_equal("https", docker_container_env(&c, "SERVICE_443_NAME"));
    assert_null(docker_container_env(&c, "SERVICE_NAME"));
    /* udp is kept apart from tcp. */
    assert_int_equal(2, c.nexposed);
    assert_int_equal(1, c.nexposed_udp);
    assert_int_equal(53, c.exposed_udp_ports[0]);
    assert_int_equal(-1, docker_container_published_port(&c, 53, "udp", NULL));
    assert_int_equal(4443, docker_container_published_port(&c, 443, "tcp", NULL));
    docker_container_clear(&c);

    /* Only the classic bridge address; and the host network has none. */
    decode_ok("{\"Id\":\"abc\",\"Config\":{\"Env\":[\"A=b=c\",\"NOEQ\",\"=x\",\"E=\"]},"
              "\"NetworkSettings\":{\"IPAddress\":\"127.0.100.4\",\"Networks\":{}}}",
              &c);
    assert_string_equal("127.0.100.4", docker_container_internal_ip(&c, NULL));
    assert_null(docker_container_internal_ip(&c, "bridge"));
    assert_int_equal(2, c.nenv);
    assert_string_equal("b=c", docker_container_env(&c, "A"));
    assert_string_equal("", docker_container_env(&c, "E"));
    docker_container_clear(&c);
    decode_fixture("inspect_host.json", &c);
    assert_null(docker_container_internal_ip(&c, NULL));
    assert_int_equal(53, docker_container_published_port(&c, 53, "udp", NULL));
    assert_int_equal(-1, docker_container_published_port(&c, 54, "udp", NULL));
    docker_container_clear(&c);

    /* Wrong kinds are errors naming the path. */
    char err[256];
    const char *bad_env = "{\"Id\":\"abc\",\"Config\":{\"Env\":[\"A=b\",7]}}";
    assert_int_equal(-1, docker_container_decode(bad_env, strlen(bad_env), &c, err, sizeof err));
    assert_string_equal("Config.Env[1]: expected a string, got 7", err);
    const char *bad_net =
        "{\"Id\":\"abc\",\"NetworkSettings\":{\"Networks\":{\"n1\":{\"IPAddress\":5}}}}";
    assert_int_equal(-1, docker_container_decode(bad_net, strlen(bad_net), &c, err, sizeof err));
    assert_string_equal("NetworkSettings.Networks[\"n1\"].IPAddress: expected a string, got 5",
                        err);
}

static void multi_port_container(void **state)
{
    struct docker_container c;
    (void)state;
    decode_fixture("inspect_multiport.json", &c);
    assert_string_equal("api-and-metrics", c.name);
    assert_string_equal("default", c.network_mode);
    assert_false(c.host_network);
    assert_true(c.running);
    assert_true(c.paused);
    assert_string_equal("SIGINT", c.stop_signal);
    assert_int_equal(3, c.nexposed);
    assert_int_equal(7000, c.exposed_tcp_ports[0]);
    assert_int_equal(8000, c.exposed_tcp_ports[1]);
    assert_int_equal(9000, c.exposed_tcp_ports[2]);
    /* 7000/tcp and 9000/udp are null: exposed, not published. */
    assert_int_equal(3, c.nbindings);
    /* Only a loopback binding: it is still the published port. */
    assert_int_equal(18000, docker_container_host_port(&c, 8000, NULL));
    /* 0.0.0.0 wins over an earlier 127.0.0.1... */
    assert_int_equal(19000, docker_container_host_port(&c, 9000, NULL));
    assert_int_equal(19000, docker_container_host_port(&c, 9000, "127.0.10.5"));
    /* ...unless the earlier one is the advertised address. */
    assert_int_equal(19001, docker_container_host_port(&c, 9000, "127.0.0.1"));
    assert_int_equal(-1, docker_container_host_port(&c, 7000, NULL));
    /* The model is faithful: newlines stay; consumers validate. */
    assert_string_equal("line one\nline two", docker_container_label(&c, "note"));
    docker_container_clear(&c);
}

static void healthcheck_container(void **state)
{
    struct docker_container c;
    (void)state;
    decode_fixture("inspect_healthcheck.json", &c);
    assert_string_equal(ID_HEALTH, c.id);
    assert_true(c.has_healthcheck);
    assert_string_equal("starting", c.health_status);
    assert_string_equal("python:3.12-slim", c.image);
    assert_string_equal("", c.bindings[0].host_ip);
    assert_int_equal(28080, docker_container_host_port(&c, 8080, NULL));
    docker_container_clear(&c);

    decode_ok("{\"Id\":\"a1\",\"Config\":{\"Healthcheck\":{\"Test\":[\"NONE\"]}}}", &c);
    assert_false(c.has_healthcheck);
    docker_container_clear(&c);
    decode_ok("{\"Id\":\"a1\",\"Config\":{\"Healthcheck\":{\"Test\":[]}}}", &c);
    assert_false(c.has_healthcheck);
    docker_container_clear(&c);
    decode_ok("{\"Id\":\"a1\",\"Config\":{\"Healthcheck\":{\"Interval\":1}}}", &c);
    assert_false(c.has_healthcheck);
    docker_container_clear(&c);
    decode_ok("{\"Id\":\"a1\",\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"]}}}", &c);
    assert_true(c.has_healthcheck);
    docker_container_clear(&c);
}

static void minimal_and_null_sections(void **state)
{
    struct docker_container c;
    (void)state;
    decode_ok("{\"Id\":\"abc\"}", &c);
    assert_string_equal("abc", c.id);
    assert_null(c.name);
    assert_null(c.image);
    assert_null(c.network_mode);
    assert_false(c.running);
    assert_int_equal(0, c.nlabels);
    assert_int_equal(-1, docker_container_host_port(&c, 80, NULL));
    docker_container_clear(&c);

    decode_ok("  {\"Id\":\"abc\",\"Name\":null,\"Config\":null,\"HostConfig\":null,\"State\":null,"
              "\"NetworkSettings\":null,\"Unknown\":{\"deep\":[1,2,{}]}}\r\n",
              &c);
    docker_container_clear(&c);
    decode_ok("{\"Id\":\"abc\",\"Config\":{\"Labels\":null,\"ExposedPorts\":{},\"StopSignal\":\"\","
              "\"Healthcheck\":null},\"State\":{\"Health\":null},"
              "\"NetworkSettings\":{\"Ports\":null}}",
              &c);
    assert_null(c.stop_signal);
    docker_container_clear(&c);
    /* Null label values are absent labels; empty keys and values are kept. */
    decode_ok(
        "{\"Id\":\"abc\",\"Name\":\"no-slash\",\"Config\":{\"Labels\":{\"a\":null,\"\":\"\","
        "\"k\\n\":\"v\\u0001\"}},\"NetworkSettings\":{\"Ports\":{\"80\":[{\"HostPort\":8080}]}}}",
        &c);
    assert_string_equal("no-slash", c.name);
    assert_int_equal(2, c.nlabels);
    assert_string_equal("", docker_container_label(&c, ""));
    assert_string_equal("v\x01", docker_container_label(&c, "k\n"));
    /* A bare port key means tcp; HostIp may be missing; a numeric HostPort is tolerated. */
    assert_int_equal(8080, docker_container_host_port(&c, 80, NULL));
    docker_container_clear(&c);
}

static void errors_name_field_and_value(void **state)
{
    (void)state;
    assert_string_equal("NetworkSettings.Ports[\"8000/tcp\"][0].HostPort: expected a port number, "
                        "got \"abc\"",
                        decode_fails("{\"Id\":\"abc\",\"NetworkSettings\":{\"Ports\":{\"8000/tcp\":"
                                     "[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"abc\"}]}}}"));
    assert_string_equal("Id: missing", decode_fails("{\"Name\":\"/x\"}"));
    assert_string_equal("Id: expected a string, got 42", decode_fails("{\"Id\":42}"));
    assert_string_equal("Id: expected a container ID, got \"../../x\"",
                        decode_fails("{\"Id\":\"../../x\"}"));
    assert_string_equal("Id: expected a container ID, got \"\"", decode_fails("{\"Id\":\"\"}"));
    assert_string_equal("Config: expected an object, got []",
                        decode_fails("{\"Id\":\"a\",\"Config\":[]}"));
    assert_string_equal("Config.Labels[\"k\\nx\"]: expected a string, got 5",
                        decode_fails("{\"Id\":\"a\",\"Config\":{\"Labels\":{\"k\\nx\":5}}}"));
    assert_string_equal(
        "Config.ExposedPorts: expected a key like \"8000/tcp\", got \"abc/tcp\"",
        decode_fails("{\"Id\":\"a\",\"Config\":{\"ExposedPorts\":{\"abc/tcp\":{}}}}"));
    assert_string_equal("State.Running: expected true or false, got \"yes\"",
                        decode_fails("{\"Id\":\"a\",\"State\":{\"Running\":\"yes\"}}"));
    assert_string_equal(
        "Config.Healthcheck.Test: expected an array, got \"CMD true\"",
        decode_fails("{\"Id\":\"a\",\"Config\":{\"Healthcheck\":{\"Test\":\"CMD true\"}}}"));
    assert_string_equal(
        "Config.Healthcheck.Test[0]: expected a string, got null",
        decode_fails("{\"Id\":\"a\",\"Config\":{\"Healthcheck\":{\"Test\":[null]}}}"));
    assert_string_equal(
        "NetworkSettings.Ports[\"80/tcp\"]: expected an array, got \"32768\"",
        decode_fails("{\"Id\":\"a\",\"NetworkSettings\":{\"Ports\":{\"80/tcp\":\"32768\"}}}"));
    assert_string_equal("NetworkSettings.Ports[\"80/tcp\"][1]: expected an object, got true",
                        decode_fails("{\"Id\":\"a\",\"NetworkSettings\":{\"Ports\":{\"80/tcp\":"
                                     "[{\"HostPort\":\"1\"},true]}}}"));
    assert_string_equal(
        "NetworkSettings.Ports[\"80/tcp\"][0].HostPort: expected a port number, "
        "got nothing",
        decode_fails("{\"Id\":\"a\",\"NetworkSettings\":{\"Ports\":{\"80/tcp\":[{}]}}}"));
    assert_string_equal("NetworkSettings.Ports[\"80/tcp\"][0].HostIp: expected a string, got 0",
                        decode_fails("{\"Id\":\"a\",\"NetworkSettings\":{\"Ports\":{\"80/tcp\":"
                                     "[{\"HostIp\":0,\"HostPort\":\"1\"}]}}}"));
    assert_string_equal("container inspect reply: expected an object, got null",
                        decode_fails("null"));
    /* Trailing data, truncation and nothing at all are malformed JSON. */
    assert_string_equal("container inspect reply: malformed JSON at line 1, column 12",
                        decode_fails("{\"Id\":\"a\"} {}"));
    assert_non_null(strstr(decode_fails("{\"Id\":\"a\""), "malformed JSON at line 1"));
    assert_string_equal("container inspect reply: malformed JSON at line 1, column 1",
                        decode_fails(""));
}

static void hostile_numbers_and_keys(void **state)
{
    static const char *const bad_ports[] = {
        "\"70000\"", "\"0\"",   "\"-1\"", "\"+80\"",
        "\" 80\"",   "\"80 \"", "\"\"",   "\"99999999999999999999\"",
        "1e300",     "-1e300",  "80.5",   "0",
        "65536",     "null",    "[]",     "{}",
    };
    char doc[256];
    (void)state;
    for (size_t i = 0; i < sizeof bad_ports / sizeof bad_ports[0]; i++) {
        snprintf(doc, sizeof doc,
                 "{\"Id\":\"a\",\"NetworkSettings\":{\"Ports\":{\"80/tcp\":[{\"HostPort\":%s}]}}}",
                 bad_ports[i]);
        assert_non_null(strstr(decode_fails(doc), "HostPort: expected a port number"));
    }
    static const char *const bad_keys[] = {
        "99999999999999/tcp", "0/tcp", "/tcp", "80/", "80/TCP", "80-90/tcp", "", "80/tcp/x"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        snprintf(doc, sizeof doc, "{\"Id\":\"a\",\"NetworkSettings\":{\"Ports\":{\"%s\":null}}}",
                 bad_keys[i]);
        assert_non_null(strstr(decode_fails(doc), "expected a key like"));
    }
    /* A long string value is shortened in the error. */
    char big[600];
    memset(big, 'x', sizeof big);
    snprintf(doc, sizeof doc, "{\"Id\":\"a\",\"State\":{\"Running\":\"%.150s\"}}", big);
    assert_true(strlen(decode_fails(doc)) < 140);
    /* Nesting deeper than cJSON allows is refused, not recursed into. */
    size_t depth = 5000;
    char *deep = malloc(depth * 2 + 32);
    assert_non_null(deep);
    strcpy(deep, "{\"Id\":\"a\",\"x\":");
    size_t o = strlen(deep);
    memset(deep + o, '[', depth);
    memset(deep + o + depth, ']', depth);
    strcpy(deep + o + 2 * depth, "}");
    decode_fails(deep);
    free(deep);
}

/* Every prefix of a real reply, and every byte replaced by something
 * structural, must decode or fail cleanly (ASan watches for the rest). */
static void truncations_and_mutations(void **state)
{
    static const char subst[] = {'"', '}', ']', '1', 'x', ',', '\0', '\n'};
    size_t len;
    char err[256];
    char *json = fixture("inspect_multiport.json", &len);
    (void)state;
    size_t last = (size_t)(strrchr(json, '}') - json);
    for (size_t n = 0; n <= last; n++) {
        struct docker_container c;
        char *copy = malloc(n ? n : 1);
        memcpy(copy, json, n);
        /* The closing brace is the last significant byte: any shorter prefix fails. */
        assert_int_equal(-1, docker_container_decode(copy, n, &c, err, sizeof err));
        free(copy);
    }
    for (size_t i = 0; i < len; i++) {
        for (size_t s = 0; s < sizeof subst; s++) {
            struct docker_container c;
            char saved = json[i];
            json[i] = subst[s];
            if (docker_container_decode(json, len, &c, err, sizeof err) == 0) {
                assert_non_null(c.id);
                docker_container_clear(&c);
            } else {
                assert_null(c.id);
            }
            json[i] = saved;
        }
    }
    free(json);
}

static void container_list(void **state)
{
    size_t len, n;
    char **ids, err[256];
    char *json = fixture("containers_list.json", &len);
    (void)state;
    assert_int_equal(0, docker_list_ids(json, len, &ids, &n, err, sizeof err));
    assert_int_equal(2, n);
    assert_string_equal(ID_BRIDGE, ids[0]);
    assert_string_equal(ID_HOST, ids[1]);
    docker_ids_free(ids, n);
    free(json);

    assert_int_equal(0, docker_list_ids("[]\n", 3, &ids, &n, err, sizeof err));
    assert_int_equal(0, n);
    assert_null(ids);
    docker_ids_free(ids, n);

    static const struct {
        const char *json, *err;
    } bad[] = {
        {"{}", "container list reply: expected an array, got {}"},
        {"[{\"Id\":\"a\"},5]", "[1]: expected an object, got 5"},
        {"[{\"Id\":\"a\"},{}]", "[1].Id: missing"},
        {"[{\"Id\":\"a\"},{\"Id\":null}]", "[1].Id: missing"},
        {"[{\"Id\":[\"a\"]}]", "[0].Id: expected a string, got [\"a\"]"},
        {"[{\"Id\":\"a b\"}]", "[0].Id: expected a container ID, got \"a b\""},
        {"[{\"Id\":\"a\"}", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ids = (char **)1;
        n = 7;
        assert_int_equal(
            -1, docker_list_ids(bad[i].json, strlen(bad[i].json), &ids, &n, err, sizeof err));
        assert_null(ids);
        assert_int_equal(0, n);
        if (bad[i].err) assert_string_equal(bad[i].err, err);
    }
}

/* The one "ready" rule both daemons use. */
static void ready_rule(void **state)
{
    struct docker_container c = {.id = "x", .running = true};
    char why[64];
    (void)state;
    assert_true(docker_container_ready(&c, why, sizeof why));
    c.has_healthcheck = true;
    assert_false(docker_container_ready(&c, why, sizeof why));
    assert_string_equal("not healthy (no health status yet)", why);
    c.health_status = "starting";
    assert_false(docker_container_ready(&c, why, sizeof why));
    assert_string_equal("not healthy (starting)", why);
    c.health_status = "healthy";
    assert_true(docker_container_ready(&c, NULL, 0));
    c.paused = true;
    assert_false(docker_container_ready(&c, why, sizeof why));
    assert_string_equal("paused", why);
    c.running = false;
    assert_false(docker_container_ready(&c, NULL, 0));
    assert_false(docker_container_ready(&c, why, sizeof why));
    assert_string_equal("not running", why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bridge_container),
        cmocka_unit_test(host_network_container),
        cmocka_unit_test(networks_env_and_udp),
        cmocka_unit_test(multi_port_container),
        cmocka_unit_test(healthcheck_container),
        cmocka_unit_test(minimal_and_null_sections),
        cmocka_unit_test(errors_name_field_and_value),
        cmocka_unit_test(hostile_numbers_and_keys),
        cmocka_unit_test(truncations_and_mutations),
        cmocka_unit_test(container_list),
        cmocka_unit_test(ready_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
