/* Check definitions and Nerve's config file, through reg_config_parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "fixture.h"
#include "reg_config.h"

static struct reg_config *parse_ok(const char *sq, char ***warnings)
{
    char err[1024] = "", *json = dq(sq);
    struct reg_config *cfg = NULL;
    if (reg_config_parse(json, &cfg, warnings, err, sizeof err) != 0)
        fail_msg("unexpected error: %s", err);
    free(json);
    return cfg;
}

static void parse_err(const char *sq, const char *want)
{
    char err[1024] = "", *json = dq(sq);
    struct reg_config *cfg = NULL;
    int rc = reg_config_parse(json, &cfg, NULL, err, sizeof err);
    char *w = dq(want);
    if (rc != -1 || strcmp(err, w) != 0)
        fail_msg("for %s\n  want %s\n  got  %s (rc %d)", json, w, err, rc);
    free(w);
    free(json);
    assert_null(cfg);
}

#define DOCKER "'advertise_host':'127.0.0.2','registry':{'hosts':['127.0.0.1:2181']}"
#define WEBAPP(checks)                                                                             \
    "{" DOCKER ",'services':{'webapp':{'image_name':'app','container_port':8000,'checks':" checks  \
    "}}}"

static void container_checks_defaults(void **state)
{
    (void)state;
    char **w = NULL;
    struct reg_config *cfg = parse_ok(
        WEBAPP("[{'type':'http','uri':'/health'},{'type':'tcp','port':9000,'rise':3,'fall':2,"
               "'timeout':0.25}]"),
        &w);
    assert_null(w[0]);
    struct reg_service *s = &cfg->services[0];
    assert_int_equal(s->check_interval_ms, 500);
    assert_int_equal(s->checks.n, 2);
    struct check_spec *h = &s->checks.v[0], *t = &s->checks.v[1];
    assert_int_equal(h->type, CHECK_HTTP);
    assert_string_equal(h->uri, "/health");
    assert_int_equal(h->timeout_ms, 100);
    assert_int_equal(h->read_timeout_ms, 100);
    assert_int_equal(h->open_timeout_ms, 200);
    assert_int_equal(h->rise, 1);
    assert_int_equal(h->fall, 1);
    assert_int_equal(h->port, 0);
    assert_null(h->host);
    assert_int_equal(t->type, CHECK_TCP);
    assert_int_equal(t->port, 9000);
    assert_int_equal(t->rise, 3);
    assert_int_equal(t->fall, 2);
    assert_int_equal(t->timeout_ms, 250);
    reg_config_free(cfg);
    reg_config_free_warnings(w);
}

static void check_errors(void **state)
{
    (void)state;
    parse_err(WEBAPP("[{'type':'http','uri':'/h','rise':'x'}]"),
              "services.webapp.checks[0].rise: expected a positive integer, got 'x'");
    parse_err(WEBAPP("[{'type':'tcp','fall':0}]"),
              "services.webapp.checks[0].fall: expected a positive integer, got 0");
    parse_err(WEBAPP("[{'type':'tcp'},{'type':'tcp','rise':1.5}]"),
              "services.webapp.checks[1].rise: expected a positive integer, got 1.5");
    parse_err(WEBAPP("[{'uri':'/h'}]"), "services.webapp.checks[0].type: required");
    parse_err(WEBAPP("[{'type':'redis'}]"),
              "services.webapp.checks[0].type: expected 'http' or 'tcp', got 'redis'");
    parse_err(WEBAPP("[{'type':'http'}]"), "services.webapp.checks[0].uri: required");
    parse_err(WEBAPP("[{'type':'http','uri':'health'}]"),
              "services.webapp.checks[0].uri: expected a path like /health, without spaces, "
              "got 'health'");
    parse_err(WEBAPP("[{'type':'tcp','timeout':-1}]"),
              "services.webapp.checks[0].timeout: expected a number of seconds 0.001..600, got -1");
    parse_err(WEBAPP("[{'type':'tcp','timeout':'0.1'}]"),
              "services.webapp.checks[0].timeout: expected a number of seconds 0.001..600, got "
              "'0.1'");
    parse_err(WEBAPP("[{'type':'tcp','port':70000}]"),
              "services.webapp.checks[0].port: expected an integer 1..65535, got 70000");
    parse_err(WEBAPP("[{'type':'tcp','host':'a b'}]"),
              "services.webapp.checks[0].host: expected a hostname or IP address, got 'a b'");
    parse_err(WEBAPP("[{'type':'http','uri':'/','headers':{'X-A':1}}]"),
              "services.webapp.checks[0].headers.X-A: expected a string without control "
              "characters, got 1");
    parse_err(WEBAPP("[{'type':'http','uri':'/','headers':{'a b':'1'}}]"),
              "services.webapp.checks[0].headers: expected header names without spaces, colons or "
              "control characters, got 'a b'");
    parse_err(WEBAPP("[{'type':'http','uri':'/','ssl':'yes'}]"),
              "services.webapp.checks[0].ssl: expected true or false, got 'yes'");
    parse_err(WEBAPP("{'type':'tcp'}"),
              "services.webapp.checks: expected an array of checks, got {'type':'tcp'}");
    parse_err(WEBAPP("['tcp']"), "services.webapp.checks[0]: expected an object, got 'tcp'");
    parse_err("{" DOCKER ",'services':{'webapp':{'image_name':'app','container_port':8000,"
              "'check_interval':0}}}",
              "services.webapp.check_interval: expected a number of seconds 0.001..3600, got 0");
}

static void check_warnings(void **state)
{
    (void)state;
    char **w = NULL;
    struct reg_config *cfg = parse_ok(WEBAPP("[{'type':'tcp','uri':'/x','bogus':1}]"), &w);
    assert_string_equal(w[0], "unknown key services.webapp.checks[0].bogus");
    assert_string_equal(w[1], "services.webapp.checks[0].uri: only used by http checks");
    assert_null(w[2]);
    reg_config_free(cfg);
    reg_config_free_warnings(w);
}

static void labels_checks(void **state)
{
    (void)state;
    struct label l[] = {{"smartdock.check.type", "http"},    {"smartdock.check.uri", "/health"},
                        {"smartdock.check.timeout", "0.5"},  {"smartdock.check.rise", "2"},
                        {"smartdock.check.fall", "3"},       {"smartdock.check.expect", "OK"},
                        {"smartdock.check_interval", "0.25"}};
    struct check_spec c;
    char err[256];
    int interval = 500;
    assert_int_equal(check_from_labels(l, 7, &c, &interval, err, sizeof err), 1);
    assert_int_equal(c.type, CHECK_HTTP);
    assert_string_equal(c.uri, "/health");
    assert_string_equal(c.expect, "OK");
    assert_int_equal(c.timeout_ms, 500);
    assert_int_equal(c.read_timeout_ms, 500);
    assert_int_equal(c.rise, 2);
    assert_int_equal(c.fall, 3);
    assert_int_equal(interval, 250);
    check_spec_clear(&c);
    assert_int_equal(check_from_labels(l + 1, 6, &c, &interval, err, sizeof err), 0);

    struct label bad[] = {{"smartdock.check.type", "tcp"}, {"smartdock.check.rise", "x"}};
    assert_int_equal(check_from_labels(bad, 2, &c, &interval, err, sizeof err), -1);
    assert_string_equal(err, "label smartdock.check.rise: expected a positive integer, got \"x\"");
    struct label nouri[] = {{"smartdock.check.type", "http"}};
    assert_int_equal(check_from_labels(nouri, 1, &c, &interval, err, sizeof err), -1);
    struct label badtype[] = {{"smartdock.check.type", "ping"}};
    assert_int_equal(check_from_labels(badtype, 1, &c, &interval, err, sizeof err), -1);
    assert_string_equal(err,
                        "label smartdock.check.type: expected \"http\" or \"tcp\", got \"ping\"");
}

static void nerve_example(void **state)
{
    (void)state;
    char err[1024], **w = NULL;
    struct reg_config *cfg = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/nerve/nerve.conf.json", FIXTURES_DIR);
    if (reg_config_load(path, &cfg, &w, err, sizeof err) < 0) fail_msg("%s", err);
    assert_false(cfg->follows_docker);
    assert_string_equal(cfg->instance_id, "mymachine");
    assert_int_equal(cfg->max_repeated_report_failures, 10);
    assert_int_equal(cfg->nservices, 0);
    assert_int_equal(cfg->nnerve_services, 2);
    struct nerve_service *h = &cfg->nerve_services[0];
    assert_string_equal(h->name, "your_http_service");
    assert_string_equal(h->host, "127.0.0.1");
    assert_int_equal(h->port, 3000);
    assert_int_equal(h->reporter, NERVE_REPORTER_ZOOKEEPER);
    assert_string_equal(h->zk_hosts.v[0], "127.0.0.1:2181");
    assert_string_equal(h->zk_path, "/nerve/services/your_http_service/services");
    assert_int_equal(h->node_type, NERVE_NODE_EPHEMERAL_SEQUENTIAL);
    assert_int_equal(h->check_interval_ms, 2000);
    assert_int_equal(h->checks.n, 1);
    assert_int_equal(h->checks.v[0].timeout_ms, 200);
    assert_int_equal(h->checks.v[0].rise, 3);
    assert_int_equal(h->checks.v[0].fall, 2);
    assert_int_equal(h->weight, BACKEND_WEIGHT_UNSET);
    assert_string_equal(w[0], "statsd: accepted and ignored (smartdock has no statsd output and "
                              "reports every transition)");
    assert_null(w[1]);
    reg_config_free(cfg);
    reg_config_free_warnings(w);
}

static void nerve_service_conf_dir(void **state)
{
    (void)state;
    char json[1024], **w = NULL;
    snprintf(json, sizeof json,
             "{'instance_id':'i-1','service_conf_dir':'%s/nerve/nerve_services','services':{}}",
             FIXTURES_DIR);
    struct reg_config *cfg = parse_ok(json, &w);
    assert_int_equal(cfg->nnerve_services, 2);
    struct nerve_service *e = &cfg->nerve_services[0], *z = &cfg->nerve_services[1];
    assert_string_equal(e->name, "etcd_service1");
    assert_int_equal(e->reporter, NERVE_REPORTER_ETCD);
    assert_string_equal(e->etcd_host, "127.0.0.1");
    assert_int_equal(e->etcd_port, 2379);
    assert_string_equal(e->etcd_path, "/nerve/services/your_http_service/services");
    assert_string_equal(z->name, "zookeeper_service1");
    assert_int_equal(z->weight, 2);
    reg_config_free(cfg);
    reg_config_free_warnings(w);

    snprintf(json, sizeof json, "{'instance_id':'i-1','service_conf_dir':'/nonexistent/dir'}");
    char *j = dq(json), err[512];
    assert_int_equal(reg_config_parse(j, &cfg, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "service_conf_dir: cannot read \"/nonexistent/dir\""));
    free(j);
}

#define NERVE(body)                                                                                \
    "{'instance_id':'host1','services':{'db':{'host':'127.0.0.5','port':5432,"                     \
    "'zk_hosts':['b:2181','a:2181'],'zk_path':'/nerve/db'" body "}}}"

static void nerve_keys(void **state)
{
    (void)state;
    char **w = NULL;
    struct reg_config *cfg =
        parse_ok(NERVE(",'node_type':'persistent','use_path_encoding':true,'ttl_seconds':30,"
                       "'check_mocked':true,'weight':'7','labels':{'az':'a'},"
                       "'haproxy_server_options':'backup','rate_limiting':{},'extra':1"),
                 &w);
    struct nerve_service *s = &cfg->nerve_services[0];
    assert_string_equal(s->zk_hosts.v[0], "a:2181"); /* sorted, as Nerve pools them */
    assert_int_equal(s->node_type, NERVE_NODE_PERSISTENT);
    assert_true(s->use_path_encoding);
    assert_int_equal(s->ttl_seconds, 30);
    assert_true(s->check_mocked);
    assert_int_equal(s->weight, 7);
    assert_string_equal(s->labels[0].value, "a");
    assert_string_equal(w[0], "unknown key services.db.extra");
    assert_string_equal(w[1], "services.db.rate_limiting: accepted and ignored (every transition "
                              "is reported)");
    assert_null(w[2]);
    reg_config_free(cfg);
    reg_config_free_warnings(w);

    parse_err(NERVE(",'node_type':'container'"),
              "services.db.node_type: expected 'ephemeral_sequential', 'ephemeral', 'persistent' "
              "or 'persistent_sequential', got 'container'");
    parse_err(NERVE(",'checks':[{'type':'tcp','rise':'x'}]"),
              "services.db.checks[0].rise: expected a positive integer, got 'x'");
    parse_err(NERVE(",'weight':-1"), "services.db.weight: expected an integer 0..256, got -1");
    parse_err(NERVE(",'reporter_type':'consul'"),
              "services.db.reporter_type: expected 'zookeeper' or 'etcd', got 'consul'");
    parse_err("{'instance_id':'h','services':{'db':{'host':'x','port':1}}}",
              "services.db.zk_hosts: required");
    parse_err("{'instance_id':'h','services':{'db':{'host':'x','port':1,'zk_hosts':['a:1'],"
              "'zk_path':'nerve'}}}",
              "services.db.zk_path: expected an absolute path of [A-Za-z0-9._-] components, got "
              "'nerve'");
    parse_err("{'instance_id':'h','services':{'db':{'host':'x','port':1,'reporter_type':'etcd'}}}",
              "services.db.etcd_host: required");
    parse_err("{'instance_id':'h','services':{'web':{'image_name':'app','container_port':80}}}",
              "services.web: a Nerve service needs 'host', 'port' and 'reporter_type'; a "
              "container service needs 'registry' and 'advertise_host' at the top");
}

static void nerve_and_docker_side_by_side(void **state)
{
    (void)state;
    char **w = NULL;
    struct reg_config *cfg = parse_ok(
        "{'instance_id':'h1'," DOCKER ",'services':{'web':{'image_name':'app','container_port':80},"
        "'db':{'host':'127.0.0.5','port':5432,'zk_hosts':['127.0.0.1:2181'],'zk_path':'/n/db'}}}",
        &w);
    assert_true(cfg->follows_docker);
    assert_int_equal(cfg->nservices, 1);
    assert_string_equal(cfg->services[0].name, "web");
    assert_int_equal(cfg->nnerve_services, 1);
    assert_string_equal(cfg->nerve_services[0].name, "db");
    assert_null(w[0]);
    reg_config_free(cfg);
    reg_config_free_warnings(w);
}

static void nerve_znode(void **state)
{
    (void)state;
    struct reg_config *cfg = parse_ok(NERVE(",'weight':3,'labels':{'az':'a'}"), NULL);
    struct nerve_service *s = &cfg->nerve_services[0];
    char *payload, *prefix;
    assert_int_equal(nerve_node(s, "host1", &payload, &prefix), 0);
    assert_string_equal(payload,
                        "{\"host\":\"127.0.0.5\",\"port\":5432,\"name\":\"host1\",\"weight\":3,"
                        "\"labels\":{\"az\":\"a\"}}");
    assert_string_equal(prefix, "host1_");
    free(payload);
    free(prefix);
    s->use_path_encoding = true;
    s->weight = BACKEND_WEIGHT_UNSET;
    s->nlabels = 0; /* still freed by reg_config_free through labels[] */
    assert_int_equal(nerve_node(s, "host1", &payload, &prefix), 0);
    assert_string_equal(payload, "{\"host\":\"127.0.0.5\",\"port\":5432,\"name\":\"host1\"}");
    /* decoded back by the watcher's decoder, with a sequence number appended */
    char child[1024];
    snprintf(child, sizeof child, "%s0000000001", prefix);
    assert_int_equal(strncmp(prefix, "base64_", 7), 0);
    struct backend b;
    char err[256];
    if (backend_decode_nerve_child_name(child, &b, err, sizeof err) < 0) fail_msg("%s", err);
    assert_string_equal(b.host, "127.0.0.5");
    assert_int_equal(b.port, 5432);
    assert_string_equal(b.name, "host1");
    backend_clear(&b);
    free(payload);
    free(prefix);
    s->nlabels = 1;
    reg_config_free(cfg);
}

/* A Nerve config of services given as JSON members (single quotes). */
static struct reg_config *nerve_with(const char *instance, const char *services)
{
    char sq[4096];
    snprintf(sq, sizeof sq, "{'instance_id': '%s', 'services': {%s}}", instance, services);
    return parse_ok(sq, NULL);
}

#define SVC(name, port, path, extra)                                                               \
    "'" name "': {'host': '127.0.0.1', 'port': " #port ", 'reporter_type': 'zookeeper', "          \
    "'zk_hosts': ['127.0.0.1:2181'], 'zk_path': '" path "', 'check_interval': 1, "                 \
    "'checks': [{'type': 'tcp'}]" extra "}"

/* SIGHUP for Nerve services: matched by name; the node's place decides
 * between updated in place and moved. */
static void nerve_reload_plan(void **state)
{
    (void)state;
    struct reg_config *a = nerve_with(
        "m1",
        SVC("same", 3000, "/n/same", "") ", " SVC("weight", 3001, "/n/weight", "") ", " SVC(
            "checks", 3002, "/n/checks", "") ", " SVC("moved", 3003, "/n/moved",
                                                      "") ", " SVC("gone", 3004, "/n/gone", ""));
    struct reg_config *b = nerve_with(
        "m1",
        SVC("same", 3000, "/n/same", "") ", " SVC(
            "weight", 3001, "/n/weight",
            ", 'weight': 5") ", " SVC("checks", 3002, "/n/checks",
                                      ", 'check_interval': 3") ", " SVC("moved", 3003,
                                                                        "/n/elsewhere",
                                                                        "") ", " SVC("new", 3005,
                                                                                     "/n/new", ""));
    struct nerve_plan p;
    assert_int_equal(0, nerve_plan_make(a->nerve_services, a->nnerve_services, a->instance_id,
                                        b->nerve_services, b->nnerve_services, b->instance_id, &p));
    /* Each new service by name: its old index (or new) and its change. */
    static const struct {
        const char *name;
        bool has_old;
        enum nerve_change change;
    } want[] = {{"same", true, NERVE_SAME},
                {"weight", true, NERVE_UPDATED}, /* the payload changed */
                {"checks", true, NERVE_UPDATED}, /* the check interval changed */
                {"moved", false, NERVE_MOVED},   /* registered anew */
                {"new", false, NERVE_SAME}};
    assert_int_equal(5, b->nnerve_services);
    for (size_t w = 0; w < 5; w++) {
        size_t i = 0, old = NERVE_PLAN_NEW;
        while (i < b->nnerve_services && strcmp(b->nerve_services[i].name, want[w].name))
            i++;
        assert_true(i < b->nnerve_services);
        for (size_t j = 0; j < a->nnerve_services; j++)
            if (want[w].has_old && !strcmp(a->nerve_services[j].name, want[w].name)) old = j;
        if (p.from[i] != old) fail_msg("%s: from %zu, want %zu", want[w].name, p.from[i], old);
        if (strcmp(want[w].name, "new") && p.change[i] != want[w].change)
            fail_msg("%s: change %d, want %d", want[w].name, p.change[i], want[w].change);
    }
    for (size_t j = 0; j < a->nnerve_services; j++) {
        bool goes = !strcmp(a->nerve_services[j].name, "gone") ||
                    !strcmp(a->nerve_services[j].name, "moved");
        assert_int_equal(goes, p.removed[j]);
    }
    assert_int_equal(2, p.added);
    assert_int_equal(2, p.removed_n);
    assert_int_equal(2, p.updated);
    assert_int_equal(1, p.unchanged);
    nerve_plan_clear(&p);

    /* The same config: nothing to do. A new instance_id moves every node. */
    assert_int_equal(0, nerve_plan_make(a->nerve_services, a->nnerve_services, a->instance_id,
                                        a->nerve_services, a->nnerve_services, a->instance_id, &p));
    assert_int_equal(5, p.unchanged);
    assert_int_equal(0, p.added + p.removed_n + p.updated);
    nerve_plan_clear(&p);
    assert_int_equal(0, nerve_plan_make(a->nerve_services, a->nnerve_services, a->instance_id,
                                        a->nerve_services, a->nnerve_services, "m2", &p));
    assert_int_equal(5, p.added);
    assert_int_equal(5, p.removed_n);
    nerve_plan_clear(&p);
    /* Everything removed. */
    assert_int_equal(0, nerve_plan_make(a->nerve_services, a->nnerve_services, a->instance_id, NULL,
                                        0, a->instance_id, &p));
    assert_int_equal(5, p.removed_n);
    nerve_plan_clear(&p);
    reg_config_free(a);
    reg_config_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(container_checks_defaults),
        cmocka_unit_test(check_errors),
        cmocka_unit_test(check_warnings),
        cmocka_unit_test(labels_checks),
        cmocka_unit_test(nerve_example),
        cmocka_unit_test(nerve_service_conf_dir),
        cmocka_unit_test(nerve_keys),
        cmocka_unit_test(nerve_and_docker_side_by_side),
        cmocka_unit_test(nerve_znode),
        cmocka_unit_test(nerve_reload_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
