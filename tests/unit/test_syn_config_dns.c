/* The keys of discovery dns, zookeeper_poll, zookeeper_dns and
 * zookeeper_dns_poll, discovery_jitter and session_timeout_ms: accepted,
 * warned about, or refused with the path and the value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "syn_config.h"
#include "syn_config_fixture.h"

#define DISC(body) "{\"services\":{\"s\":{\"discovery\":{" body "}}}}"
#define ZK(method, more)                                                                           \
    DISC("\"method\":\"" method "\",\"hosts\":[\"127.0.0.1:2181\"],\"path\":\"/p\"" more)
#define DNS(more)                                                                                  \
    DISC("\"method\":\"dns\",\"servers\":[{\"name\":\"a\",\"host\":\"web.test\",\"port\":80}"      \
         "]" more)

static void dns_defaults(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok(DNS(""));
    const struct syn_discovery *d = &cfg->services[0].discovery;
    assert_int_equal(d->kind, SYN_DISCOVERY_DNS);
    assert_true(d->check_interval == 30.0);
    assert_int_equal(d->nameservers.n, 0);
    assert_int_equal(d->dns_servers.n, 1);
    assert_string_equal(d->dns_servers.v[0].name, "a");
    assert_string_equal(d->dns_servers.v[0].host, "web.test");
    assert_int_equal(d->dns_servers.v[0].port, 80);
    assert_int_equal(cfg->warnings.n, 0);
    syn_config_free(cfg);
}

static void dns_all_keys(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok(
        DISC("\"method\":\"dns\",\"nameserver\":[\"127.0.0.1:5353\",\"127.0.0.2\",\"::1\","
             "\"[::1]:54\"],\"check_interval\":\"2.5\",\"label_filters\":[{\"label\":\"az\","
             "\"value\":\"a\",\"condition\":\"equals\"}],\"servers\":[{\"name\":\"a\",\"host\":"
             "\"web.test\",\"port\":\"80\",\"labels\":{\"az\":\"a\"}},{\"host\":\"127.0.0.5\","
             "\"port\":81}]"));
    const struct syn_discovery *d = &cfg->services[0].discovery;
    assert_true(d->check_interval == 2.5);
    assert_int_equal(d->nameservers.n, 4);
    assert_string_equal(d->nameservers.v[0], "127.0.0.1:5353");
    assert_string_equal(d->nameservers.v[1], "127.0.0.2");
    assert_string_equal(d->nameservers.v[2], "[::1]:53");
    assert_string_equal(d->nameservers.v[3], "[::1]:54");
    assert_int_equal(d->dns_servers.n, 2);
    assert_int_equal(d->dns_servers.v[0].port, 80);
    assert_string_equal(backend_label(&d->dns_servers.v[0], "az"), "a");
    assert_null(d->dns_servers.v[1].name);
    assert_int_equal(d->nlabel_filters, 1);
    assert_int_equal(cfg->warnings.n, 0);
    syn_config_free(cfg);

    cfg = parse_ok(DNS(",\"nameserver\":\"127.0.0.1\""));
    assert_int_equal(cfg->services[0].discovery.nameservers.n, 1);
    syn_config_free(cfg);
}

static void zk_poll_and_dns_keys(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok(ZK("zookeeper_poll", ""));
    const struct syn_discovery *d = &cfg->services[0].discovery;
    assert_int_equal(d->kind, SYN_DISCOVERY_ZOOKEEPER);
    assert_true(d->zk_poll);
    assert_true(d->polling_interval == 60.0);
    assert_int_equal(d->zk_session_timeout_ms, 10000);
    syn_config_free(cfg);

    cfg = parse_ok(ZK("zookeeper_poll", ",\"polling_interval_sec\":0"));
    assert_true(cfg->services[0].discovery.polling_interval == 0);
    syn_config_free(cfg);

    cfg = parse_ok(ZK("zookeeper_dns", ",\"nameserver\":\"127.0.0.1:53\",\"check_interval\":5,"
                                       "\"discovery_jitter\":3,\"session_timeout_ms\":\"20000\""));
    d = &cfg->services[0].discovery;
    assert_int_equal(d->kind, SYN_DISCOVERY_ZOOKEEPER_DNS);
    assert_false(d->zk_poll);
    assert_true(d->check_interval == 5);
    assert_true(d->discovery_jitter == 3);
    assert_int_equal(d->zk_session_timeout_ms, 20000);
    assert_string_equal(d->path, "/p");
    assert_int_equal(cfg->warnings.n, 0);
    syn_config_free(cfg);

    cfg = parse_ok(ZK("zookeeper_dns_poll", ",\"polling_interval_sec\":7"));
    d = &cfg->services[0].discovery;
    assert_int_equal(d->kind, SYN_DISCOVERY_ZOOKEEPER_DNS);
    assert_true(d->zk_poll);
    assert_true(d->polling_interval == 7);
    assert_true(d->check_interval == 30);
    syn_config_free(cfg);

    cfg = parse_ok(ZK("zookeeper", ",\"discovery_jitter\":\"1.5\",\"session_timeout_ms\":1000"));
    d = &cfg->services[0].discovery;
    assert_true(d->discovery_jitter == 1.5);
    assert_int_equal(d->zk_session_timeout_ms, 1000);
    assert_int_equal(cfg->warnings.n, 0);
    syn_config_free(cfg);
}

static void warned(void **state)
{
    (void)state;
    /* Synapse ignores a jitter outside 0..120 with a warning; so does smartdock. */
    struct syn_config *cfg = parse_ok(ZK("zookeeper", ",\"discovery_jitter\":500"));
    assert_true(has_warning_starting(cfg, "services.s.discovery.discovery_jitter: 500 is outside 0..120 "
                                 "seconds, ignored (as Synapse does)"));
    assert_true(cfg->services[0].discovery.discovery_jitter == 0);
    syn_config_free(cfg);
    /* Polling sets no watches: nothing for a jitter to delay. */
    cfg = parse_ok(ZK("zookeeper_poll", ",\"discovery_jitter\":5"));
    assert_true(has_warning_starting(cfg, "services.s.discovery.discovery_jitter: Synapse option not "
                                 "supported by smartdock, ignored: polling sets no watches"));
    syn_config_free(cfg);
    /* Keys of the other methods are unknown here. */
    cfg = parse_ok(ZK("zookeeper", ",\"polling_interval_sec\":5,\"nameserver\":\"127.0.0.1\""));
    assert_true(has_warning_starting(cfg, "unknown key services.s.discovery.polling_interval_sec"));
    assert_true(has_warning_starting(cfg, "unknown key services.s.discovery.nameserver"));
    syn_config_free(cfg);
    cfg = parse_ok(DNS(",\"hosts\":[\"127.0.0.1:2181\"],\"servers\":[{\"host\":\"a\","
                       "\"port\":1,\"weight\":3}]"));
    assert_true(has_warning_starting(cfg, "unknown key services.s.discovery.hosts"));
    assert_true(has_warning_starting(cfg, "unknown key services.s.discovery.servers[0].weight"));
    syn_config_free(cfg);
    cfg = parse_ok(ZK("zookeeper_dns", ",\"decode\":{\"method\":\"nerve\"}"));
    assert_true(has_warning_starting(cfg, "services.s.discovery.decode: Synapse option not supported"));
    syn_config_free(cfg);
}

struct bad {
    const char *json;
    const char *err;
};

static const struct bad bad_configs[] = {
    {DISC("\"method\":\"dns\""),
     "services.s.discovery.servers: expected a non-empty array of servers {\"name\", \"host\", "
     "\"port\"}, got nothing"},
    {DISC("\"method\":\"dns\",\"servers\":[]"),
     "services.s.discovery.servers: expected a non-empty array of servers {\"name\", \"host\", "
     "\"port\"}, got []"},
    {DISC("\"method\":\"dns\",\"servers\":[\"web\"]"),
     "services.s.discovery.servers[0]: expected an object {\"name\", \"host\", \"port\", "
     "\"labels\"}, got \"web\" (a bare name has no port; Synapse serves nothing for it)"},
    {DISC("\"method\":\"dns\",\"servers\":[1]"),
     "services.s.discovery.servers[0]: expected an object {\"name\", \"host\", \"port\", "
     "\"labels\"}, got 1"},
    {DISC("\"method\":\"dns\",\"servers\":[{\"port\":80}]"),
     "services.s.discovery.servers[0].host: missing (required for dns)"},
    {DISC("\"method\":\"dns\",\"servers\":[{\"host\":\"a b\",\"port\":80}]"),
     "services.s.discovery.servers[0].host: expected a non-empty string without spaces or "
     "control characters, got \"a b\""},
    {DISC("\"method\":\"dns\",\"servers\":[{\"host\":\"a;b\",\"port\":80}]"),
     "services.s.discovery.servers[0].host: expected a host name or IP address, got \"a;b\""},
    {DISC("\"method\":\"dns\",\"servers\":[{\"host\":\"a\"}]"),
     "services.s.discovery.servers[0].port: missing (required for dns)"},
    {DISC("\"method\":\"dns\",\"servers\":[{\"host\":\"a\",\"port\":0}]"),
     "services.s.discovery.servers[0].port: expected an integer 1..65535, got 0"},
    {DISC("\"method\":\"dns\",\"servers\":[{\"host\":\"a\",\"port\":1,\"labels\":[1]}]"),
     "services.s.discovery.servers[0].labels: expected an object of string values, got [1]"},
    {DISC("\"method\":\"dns\",\"servers\":[{\"host\":\"a\",\"port\":1,\"labels\":{\"k\":1}}]"),
     "services.s.discovery.servers[0].labels[\"k\"]: expected a string without control "
     "characters, got 1"},
    {DNS(",\"nameserver\":\"dns.example\""),
     "services.s.discovery.nameserver: expected an IP address, \"ip:port\" or \"[ipv6]:port\", "
     "got \"dns.example\""},
    {DNS(",\"nameserver\":[\"127.0.0.1:0\"]"),
     "services.s.discovery.nameserver[0]: expected an IP address, \"ip:port\" or "
     "\"[ipv6]:port\", got \"127.0.0.1:0\""},
    {DNS(",\"nameserver\":[]"),
     "services.s.discovery.nameserver: expected an IP address or a list of them, got []"},
    {DNS(",\"nameserver\":53"),
     "services.s.discovery.nameserver: expected an IP address or a list of them, got 53"},
    {DNS(",\"check_interval\":0"),
     "services.s.discovery.check_interval: expected a number 0.001..86400, got 0"},
    {DNS(",\"check_interval\":\"soon\""),
     "services.s.discovery.check_interval: expected a number 0.001..86400, got \"soon\""},
    {ZK("zookeeper_poll", ",\"polling_interval_sec\":-1"),
     "services.s.discovery.polling_interval_sec: expected a number 0..86400, got -1"},
    {ZK("zookeeper_dns_poll", ",\"polling_interval_sec\":\"x\""),
     "services.s.discovery.polling_interval_sec: expected a number 0..86400, got \"x\""},
    {ZK("zookeeper", ",\"session_timeout_ms\":500"),
     "services.s.discovery.session_timeout_ms: expected an integer 1000..600000, got 500"},
    {ZK("zookeeper_dns", ",\"discovery_jitter\":\"x\""),
     "services.s.discovery.discovery_jitter: expected a number of seconds 0..120, got \"x\""},
    {ZK("zookeeper", ",\"discovery_jitter\":[1]"),
     "services.s.discovery.discovery_jitter: expected a number of seconds 0..120, got [1]"},
    {DISC("\"method\":\"zookeeper_dns\",\"path\":\"/p\""),
     "services.s.discovery.hosts: expected a non-empty array of \"host:port\" strings, or one "
     "such string, got nothing"},
    {DISC("\"method\":\"zookeeper_dns_poll\",\"hosts\":\"127.0.0.1:2181\""),
     "services.s.discovery.path: missing (required for zookeeper_dns_poll)"},
    {ZK("zookeeper_dns", ",\"nameserver\":\"x\""),
     "services.s.discovery.nameserver: expected an IP address, \"ip:port\" or \"[ipv6]:port\", "
     "got \"x\""},
};

static void refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        struct syn_config *cfg = NULL;
        char err[512] = "";
        int r = syn_config_parse(bad_configs[i].json, &cfg, err, sizeof err);
        if (r != -1 || strcmp(err, bad_configs[i].err) != 0)
            fail_msg("case %zu: r=%d\n  json: %s\n  want: %s\n  got:  %s", i, r,
                     bad_configs[i].json, bad_configs[i].err, err);
        assert_null(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dns_defaults),
        cmocka_unit_test(dns_all_keys),
        cmocka_unit_test(zk_poll_and_dns_keys),
        cmocka_unit_test(warned),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
