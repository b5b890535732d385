/* The Synapse keys of decode, generator_config_path, leader_election, multi
 * and discovery_multi: accepted, warned, or refused with the path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "syn_config.h"
#include "syn_config_fixture.h"

#define ZK(extra)                                                                                  \
    "{\"method\":\"zookeeper\",\"hosts\":[\"127.0.0.1:2181\"],\"path\":\"/s\"" extra "}"
#define ZK2 "{\"method\":\"zookeeper\",\"hosts\":\"127.0.0.2:2181\",\"path\":\"/t\"}"
#define SVC(body) "{\"services\":{\"s\":{" body "}}}"

static void decode_keys(void **state)
{
    (void)state;
    struct syn_config *cfg =
        parse_ok(SVC("\"discovery\":" ZK(",\"decode\":{\"method\":\"serverset\","
                                         "\"endpoint_name\":\"http\"}")));
    const struct syn_discovery *d = &cfg->services[0].discovery;
    assert_int_equal(d->decode, SYN_DECODE_SERVERSET);
    assert_string_equal(d->endpoint_name, "http");
    assert_int_equal(cfg->warnings.n, 0);
    syn_config_free(cfg);

    cfg = parse_ok(SVC("\"discovery\":" ZK(",\"decode\":{\"method\":\"serverset\"}")));
    assert_int_equal(cfg->services[0].discovery.decode, SYN_DECODE_SERVERSET);
    assert_null(cfg->services[0].discovery.endpoint_name);
    syn_config_free(cfg);

    cfg = parse_ok(SVC("\"discovery\":" ZK(",\"decode\":{\"method\":\"nerve\","
                                           "\"endpoint_name\":\"http\"}")));
    assert_int_equal(cfg->services[0].discovery.decode, SYN_DECODE_NERVE);
    assert_true(has_warning(cfg, "services.s.discovery.decode.endpoint_name: ignored, it is read "
                                 "only with method \"serverset\""));
    syn_config_free(cfg);

    cfg = parse_ok(SVC("\"discovery\":" ZK("")));
    assert_int_equal(cfg->services[0].discovery.decode, SYN_DECODE_NERVE);
    assert_null(cfg->services[0].discovery.generator_config_path);
    assert_false(cfg->services[0].discovery.generator_config_disabled);
    assert_false(cfg->services[0].leader_election);
    syn_config_free(cfg);
}

static void generator_config_and_leader(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok(
        SVC("\"discovery\":" ZK(",\"generator_config_path\":\"/config/s\"") ",\"leader_election\":"
                                                                            "true"));
    assert_string_equal(cfg->services[0].discovery.generator_config_path, "/config/s");
    assert_true(cfg->services[0].leader_election);
    assert_int_equal(cfg->warnings.n, 0); /* acted on: no warning */
    syn_config_free(cfg);

    /* Every ZooKeeper method reads the settings znode, as Synapse's do. */
    cfg = parse_ok(SVC("\"discovery\":{\"method\":\"zookeeper_dns_poll\",\"hosts\":[\"127.0.0.1:"
                       "2181\"],\"path\":\"/s\",\"generator_config_path\":\"/config/s\"}"));
    assert_string_equal(cfg->services[0].discovery.generator_config_path, "/config/s");
    assert_int_equal(cfg->warnings.n, 0);
    syn_config_free(cfg);

    cfg = parse_ok(SVC("\"discovery\":" ZK(",\"generator_config_path\":\"disabled\"")));
    assert_null(cfg->services[0].discovery.generator_config_path);
    assert_true(cfg->services[0].discovery.generator_config_disabled);
    syn_config_free(cfg);
}

static void multi_shapes(void **state)
{
    (void)state;
    /* method multi, sequential: watchers in sequential_order. */
    struct syn_config *cfg =
        parse_ok(SVC("\"discovery\":{\"method\":\"multi\",\"watchers\":{\"a\":" ZK(
            "") ",\"b\":" ZK2 "},"
                "\"resolver\":{\"method\":\"sequential\",\"sequential_order\":[\"b\",\"a\",\"b\"]}"
                "}"));
    const struct syn_discovery *d = &cfg->services[0].discovery;
    assert_int_equal(d->kind, SYN_DISCOVERY_MULTI);
    assert_int_equal(d->resolver, SYN_RESOLVER_SEQUENTIAL);
    assert_int_equal(d->nwatchers, 2);
    assert_string_equal(d->watchers[0].name, "b");
    assert_string_equal(d->watchers[0].discovery.path, "/t");
    assert_string_equal(d->watchers[1].name, "a");
    assert_int_equal(cfg->warnings.n, 0);
    syn_config_free(cfg);

    /* discovery_multi: the discovery is watcher "primary", added last. */
    cfg = parse_ok(SVC("\"discovery\":" ZK("") ",\"discovery_multi\":{\"resolver\":{\"method\":"
                                               "\"union\"},\"watchers\":{\"secondary\":" ZK2
                                               ",\"primary\":" ZK2 "}}"));
    d = &cfg->services[0].discovery;
    assert_int_equal(d->kind, SYN_DISCOVERY_MULTI);
    assert_int_equal(d->resolver, SYN_RESOLVER_UNION);
    assert_int_equal(d->nwatchers, 2);
    assert_string_equal(d->watchers[0].name, "secondary");
    assert_string_equal(d->watchers[1].name, "primary");
    assert_string_equal(d->watchers[1].discovery.path, "/s");
    assert_true(has_warning(cfg, "services.s.discovery_multi.watchers.primary: ignored, the "
                                 "service's discovery is discovery_multi's primary watcher"));
    syn_config_free(cfg);

    /* discovery_multi with sequential naming primary; label_filters per child. */
    cfg = parse_ok(SVC("\"discovery\":" ZK(
        "") ",\"discovery_multi\":{\"method\":\"multi\","
            "\"resolver\":{\"method\":\"sequential\",\"sequential_order\":[\"primary\","
            "\"secondary\"]},\"watchers\":{\"secondary\":{\"method\":\"zookeeper\","
            "\"hosts\":[\"127.0.0.2:2181\"],\"path\":\"/t\",\"label_filters\":[{"
            "\"label\":\"az\",\"value\":\"a\",\"condition\":\"equals\"}]}}}"));
    d = &cfg->services[0].discovery;
    assert_string_equal(d->watchers[0].name, "primary");
    assert_string_equal(d->watchers[1].name, "secondary");
    assert_int_equal(d->watchers[1].discovery.nlabel_filters, 1);
    syn_config_free(cfg);
}

struct bad {
    const char *json, *err;
};

#define MULTI(body) SVC("\"discovery\":{\"method\":\"multi\"," body "}")
#define W1 "\"watchers\":{\"a\":" ZK("") "}"

static const struct bad bad_configs[] = {
    {SVC("\"discovery\":" ZK(",\"decode\":\"serverset\"")),
     "services.s.discovery.decode: expected an object {\"method\": \"nerve\" or \"serverset\"}, "
     "got \"serverset\""},
    {SVC("\"discovery\":" ZK(",\"decode\":{\"method\":\"bogus\"}")),
     "services.s.discovery.decode.method: expected \"nerve\" or \"serverset\", got \"bogus\""},
    {SVC("\"discovery\":" ZK(",\"decode\":{}")),
     "services.s.discovery.decode.method: expected \"nerve\" or \"serverset\", got nothing"},
    {SVC("\"discovery\":" ZK(",\"decode\":{\"method\":\"serverset\",\"endpoint_name\":\"\"}")),
     "services.s.discovery.decode.endpoint_name: expected a non-empty string, got \"\""},
    {SVC("\"discovery\":" ZK(",\"generator_config_path\":\"config\"")),
     "services.s.discovery.generator_config_path: expected \"disabled\" or a path starting with "
     "'/', got \"config\""},
    {SVC("\"discovery\":" ZK("") ",\"leader_election\":\"yes\""),
     "services.s.leader_election: expected true or false, got \"yes\""},
    {MULTI("\"resolver\":{\"method\":\"union\"}"),
     "services.s.discovery.watchers: missing (required for multi)"},
    {MULTI("\"watchers\":{},\"resolver\":{\"method\":\"union\"}"),
     "services.s.discovery.watchers: expected at least one watcher, got {}"},
    {MULTI(W1), "services.s.discovery.resolver: missing (required for multi)"},
    {MULTI(W1 ",\"resolver\":{\"method\":\"s3_toggle\",\"s3_url\":\"s3://b/k\"}"),
     "services.s.discovery.resolver.method: \"s3_toggle\" reads its weights from Amazon S3, which "
     "smartdock does not reach (supported: union, sequential)"},
    {MULTI(W1 ",\"resolver\":{\"method\":\"fallback\"}"),
     "services.s.discovery.resolver.method: unknown resolver \"fallback\" (supported: union, "
     "sequential)"},
    {MULTI(W1 ",\"resolver\":{}"),
     "services.s.discovery.resolver.method: expected \"union\" or \"sequential\", got nothing"},
    {MULTI(W1 ",\"resolver\":{\"method\":\"sequential\"}"),
     "services.s.discovery.resolver.sequential_order: missing (required for sequential)"},
    {MULTI(W1 ",\"resolver\":{\"method\":\"sequential\",\"sequential_order\":[\"a\",\"z\"]}"),
     "services.s.discovery.resolver.sequential_order[1]: unknown watcher \"z\""},
    {MULTI("\"watchers\":{\"a\":" ZK("") ",\"b\":" ZK2 "},\"resolver\":{\"method\":\"sequential\","
                                         "\"sequential_order\":[\"a\"]}"),
     "services.s.discovery.resolver.sequential_order: does not name watcher \"b\""},
    {MULTI(W1 ",\"resolver\":{\"method\":\"sequential\",\"sequential_order\":\"a\"}"),
     "services.s.discovery.resolver.sequential_order: expected an array of the watchers' names, "
     "first choice first, got \"a\""},
    {MULTI("\"watchers\":{\"a\":{\"method\":\"multi\",\"watchers\":{\"b\":" ZK(
         "") "},\"resolver\":"
             "{\"method\":\"union\"}}},\"resolver\":{\"method\":\"union\"}"),
     "services.s.discovery.watchers.a: a multi watcher cannot be a child of another multi"},
    {MULTI("\"watchers\":{\"a\":{\"method\":\"base\"}},\"resolver\":{\"method\":\"union\"}"),
     "services.s.discovery.watchers.a: method \"base\" discovers nothing; give the service "
     "default_servers instead"},
    {MULTI("\"watchers\":{\"a\":{\"path\":\"/x\"}},\"resolver\":{\"method\":\"union\"}"),
     "services.s.discovery.watchers.a.method: expected a string, got nothing"},
    {MULTI("\"watchers\":{\"a\":" ZK(",\"hosts\":[]") "},\"resolver\":{\"method\":\"union\"}"),
     "services.s.discovery.watchers.a.hosts: expected a non-empty array of \"host:port\" strings, "
     "or one such string, got []"},
    {MULTI("\"watchers\":{\"a b\":" ZK("") "},\"resolver\":{\"method\":\"union\"}"),
     "services.s.discovery.watchers.a b: a watcher name must use only [A-Za-z0-9._:-]"},
    {SVC("\"discovery\":" ZK("") ",\"discovery_multi\":{\"watchers\":{\"x\":" ZK2 "}}"),
     "services.s.discovery_multi.resolver: missing (required for discovery_multi)"},
    {SVC("\"discovery\":" ZK("") ",\"discovery_multi\":{\"method\":\"zookeeper\"}"),
     "services.s.discovery_multi.method: expected \"multi\" (or nothing), got \"zookeeper\""},
    {SVC("\"discovery\":" ZK("") ",\"discovery_multi\":[]"),
     "services.s.discovery_multi: expected an object {watchers, resolver}, got []"},
    {SVC("\"discovery\":{\"method\":\"base\"},\"discovery_multi\":{\"resolver\":{\"method\":"
         "\"union\"}}"),
     "services.s.discovery: method \"base\" discovers nothing; give the service default_servers "
     "instead"},
    {SVC("\"discovery\":" ZK(
         "") ",\"discovery_multi\":{\"resolver\":{\"method\":\"sequential\","
             "\"sequential_order\":[\"secondary\"]},\"watchers\":{\"secondary\":" ZK2 "}}"),
     "services.s.discovery_multi.resolver.sequential_order: does not name watcher \"primary\""},
};

static void refused_with_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        struct syn_config *cfg = (struct syn_config *)1;
        char err[512] = "";
        int r = syn_config_parse(bad_configs[i].json, &cfg, err, sizeof err);
        if (r != -1 || cfg != NULL || strcmp(err, bad_configs[i].err) != 0)
            fail_msg("case %zu: r=%d\n  json: %s\n  want: %s\n  got:  %s", i, r,
                     bad_configs[i].json, bad_configs[i].err, err);
    }
}

/* Synapse's own config/discovery-multi.conf.json names a resolver that does
 * not exist ("fallback"): Synapse refuses it when it starts, and so do we. */
static void synapse_example_refused(void **state)
{
    (void)state;
    struct syn_config *cfg = NULL;
    char err[512] = "";
    const char *json =
        "{\"services\":{\"service1\":{\"discovery\":{\"method\":\"zookeeper\",\"path\":"
        "\"/services/service1\",\"hosts\":[\"localhost:2181\"]},\"discovery_multi\":{"
        "\"resolver\":{\"method\":\"fallback\"},\"watchers\":{\"secondary\":{\"method\":"
        "\"zookeeper\",\"path\":\"/services/service1\",\"hosts\":[\"localhost:2184\"]}}},"
        "\"haproxy\":{\"port\":3213}}}}";
    assert_int_equal(syn_config_parse(json, &cfg, err, sizeof err), -1);
    assert_string_equal(err, "services.service1.discovery_multi.resolver.method: unknown resolver "
                             "\"fallback\" (supported: union, sequential)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_keys),
        cmocka_unit_test(generator_config_and_leader),
        cmocka_unit_test(multi_shapes),
        cmocka_unit_test(refused_with_path),
        cmocka_unit_test(synapse_example_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
