#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reg_config.h"

static struct reg_config *parse_ok(const char *sq, char ***warnings)
{
    char err[512] = "", *json = dq(sq);
    struct reg_config *cfg = NULL;
    int rc = reg_config_parse(json, &cfg, warnings, err, sizeof err);
    if (rc != 0) fail_msg("unexpected error: %s", err);
    free(json);
    assert_non_null(cfg);
    return cfg;
}

#define ADV "'advertise_host':'127.0.0.2'"
#define ZK "'registry':{'hosts':['127.0.0.1:2181']}"
#define ETCD(body) "'registry':{'type':'etcd','endpoints':['http://127.0.0.1:2379']" body "}"
#define BASE ADV "," ZK
#define SVC(body) "{" BASE ",'services':{'nodesrv':{" body "}}}"
#define IMG "'image_name':'local/nodeapp'"
#define IMGPORT IMG ",'container_port':8000"

static void defaults(void **state)
{
    (void)state;
    char **w = NULL;
    struct reg_config *cfg = parse_ok("{" BASE "}", &w);
    assert_non_null(w);
    assert_null(w[0]);
    assert_null(cfg->docker_host);
    assert_string_equal(cfg->advertise_host, "127.0.0.2");
    assert_int_equal(cfg->resync_interval_s, 60);
    assert_int_equal(cfg->registry_type, REGISTRY_ZOOKEEPER);
    assert_int_equal(cfg->zk_hosts.n, 1);
    assert_string_equal(cfg->zk_hosts.v[0], "127.0.0.1:2181");
    assert_string_equal(cfg->zk_path, "/smartdock/services");
    assert_int_equal(cfg->zk_session_timeout_ms, 10000);
    assert_int_equal(cfg->nservices, 0);
    assert_int_equal(cfg->label_registration, LABEL_REGISTRATION_UNCONFIGURED);
    reg_config_free(cfg);
    reg_config_free_warnings(w);

    cfg = parse_ok("{" BASE ",'label_registration':'off'}", NULL);
    assert_int_equal(cfg->label_registration, LABEL_REGISTRATION_OFF);
    reg_config_free(cfg);
    cfg = parse_ok("{" BASE ",'label_registration':'any'}", NULL);
    assert_int_equal(cfg->label_registration, LABEL_REGISTRATION_ANY);
    reg_config_free(cfg);

    cfg = parse_ok("{" ADV "," ETCD("") ",'services':{}}", NULL);
    assert_int_equal(cfg->registry_type, REGISTRY_ETCD);
    assert_string_equal(cfg->etcd_prefix, "/smartdock/services/");
    assert_int_equal(cfg->etcd_ttl_s, 10);
    assert_null(cfg->etcd_username);
    assert_null(cfg->etcd_ca_file);
    assert_int_equal(cfg->nservices, 0);
    reg_config_free(cfg);

    /* Service defaults; null means absent. */
    cfg = parse_ok(SVC(IMGPORT ",'weight':null"), NULL);
    assert_int_equal(cfg->nservices, 1);
    assert_string_equal(cfg->services[0].name, "nodesrv");
    assert_int_equal(cfg->services[0].weight, BACKEND_WEIGHT_UNSET);
    assert_null(cfg->services[0].haproxy_server_options);
    assert_int_equal(cfg->services[0].drain_ms, 0);
    assert_int_equal(cfg->services[0].nlabels, 0);
    reg_config_free(cfg);
}

static void load_zookeeper_fixture(void **state)
{
    (void)state;
    char err[512] = "", **w = NULL;
    struct reg_config *cfg = NULL;
    int rc = reg_config_load(FIXTURES_DIR "/registrator/zookeeper.json", &cfg, &w, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_null(w[0]);
    assert_string_equal(cfg->docker_host, "unix:///var/run/docker.sock");
    assert_int_equal(cfg->resync_interval_s, 30);
    assert_int_equal(cfg->zk_hosts.n, 3);
    assert_string_equal(cfg->zk_hosts.v[1], "[::1]:2182");
    assert_string_equal(cfg->zk_path, "/smartdock/services"); /* one trailing '/' stripped */
    assert_int_equal(cfg->zk_session_timeout_ms, 15000);
    assert_int_equal(cfg->nservices, 2);
    const struct reg_service *s = &cfg->services[0];
    assert_string_equal(s->name, "nodesrv");
    assert_string_equal(s->image_name, "local/nodeapp");
    assert_int_equal(s->container_port, 8000);
    assert_int_equal(s->nlabels, 2);
    assert_string_equal(s->labels[0].key, "env");
    assert_string_equal(s->labels[0].value, "prod");
    assert_string_equal(s->labels[1].key, "team");
    assert_int_equal(s->weight, 10);
    assert_string_equal(s->haproxy_server_options, "check inter 1s");
    assert_int_equal(s->drain_ms, 2500);
    assert_string_equal(cfg->services[1].name, "metrics");
    assert_string_equal(cfg->services[1].image_name, "reg.example:5000/ops/metrics:1.2");
    reg_config_free(cfg);
    reg_config_free_warnings(w);
}

static void load_etcd_fixture(void **state)
{
    (void)state;
    char err[512] = "";
    struct reg_config *cfg = NULL;
    assert_int_equal(
        reg_config_load(FIXTURES_DIR "/registrator/etcd.json", &cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg->registry_type, REGISTRY_ETCD);
    assert_string_equal(cfg->docker_host, "tcp://127.0.0.1:2375");
    assert_string_equal(cfg->advertise_host, "dockerhost-1.example");
    assert_int_equal(cfg->etcd_endpoints.n, 2);
    assert_string_equal(cfg->etcd_endpoints.v[0], "http://127.0.0.1:2379");
    assert_string_equal(cfg->etcd_endpoints.v[1], "https://[::1]:2379");
    assert_string_equal(cfg->etcd_prefix, "/sd/services/"); /* '/' appended */
    assert_int_equal(cfg->etcd_ttl_s, 5);
    assert_string_equal(cfg->etcd_username, "registrator");
    assert_string_equal(cfg->etcd_password, "s3cret");
    assert_string_equal(cfg->etcd_ca_file, "/etc/smartdock/ca.pem");
    assert_string_equal(cfg->etcd_cert_file, "/etc/smartdock/client.pem");
    assert_string_equal(cfg->etcd_key_file, "/etc/smartdock/client.key");
    reg_config_free(cfg);

    cfg = parse_ok("{" ADV "," ETCD(",'prefix':'/'") "}", NULL);
    assert_string_equal(cfg->etcd_prefix, "/");
    reg_config_free(cfg);
}

static void load_errors(void **state)
{
    (void)state;
    char err[512] = "";
    struct reg_config *cfg = (struct reg_config *)1;
    char **w = (char **)1;
    assert_int_equal(reg_config_load("/nonexistent/smartdock.json", &cfg, &w, err, sizeof err), -1);
    assert_null(cfg);
    assert_null(w);
    assert_string_equal(err, "cannot read /nonexistent/smartdock.json: No such file or directory");

    assert_int_equal(
        reg_config_load(FIXTURES_DIR "/registrator/malformed.json", &cfg, &w, err, sizeof err), -1);
    /* cJSON stops one byte past the '}' where it wanted a key. */
    assert_string_equal(err, FIXTURES_DIR "/registrator/malformed.json: malformed JSON at line 3, "
                                          "column 45");
}

/* The file is read as it grows: one far past the first buffer (padded with
 * spaces) loads, and one past the 4 MiB limit is refused by name. */
static void file_size(void **state)
{
    (void)state;
    char path[] = "/tmp/test_reg_config_XXXXXX", err[512] = "";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("{\"docker\": {\"host\": \"unix:///run/d.sock\"},", f);
    for (int i = 0; i < 40000; i++)
        fputc(' ', f);
    fputs("\"advertise_host\": \"127.0.0.2\", \"registry\": {\"type\": \"zookeeper\", "
          "\"hosts\": [\"127.0.0.1:2181\"]}, \"services\": {}}",
          f);
    assert_int_equal(fclose(f), 0);
    struct reg_config *cfg = NULL;
    assert_int_equal(reg_config_load(path, &cfg, NULL, err, sizeof err), 0);
    assert_string_equal(cfg->docker_host, "unix:///run/d.sock");
    reg_config_free(cfg);

    f = fopen(path, "a");
    assert_non_null(f);
    for (int i = 0; i < 4 * 1024 * 1024; i++)
        fputc(' ', f);
    assert_int_equal(fclose(f), 0);
    cfg = NULL;
    assert_int_equal(reg_config_load(path, &cfg, NULL, err, sizeof err), -1);
    assert_null(cfg);
    assert_non_null(strstr(err, "larger than 4 MiB"));
    unlink(path);
}

static void malformed_json(void **state)
{
    (void)state;
    static const struct {
        const char *json, *err;
    } cases[] = {
        {"", "malformed JSON at line 1, column 1"},
        {"{\"advertise_host\": }", "malformed JSON at line 1, column 20"},
        {"{\n\n  \"a\": tru\n}", "malformed JSON at line 3, column 8"},
        {"{} x", "malformed JSON at line 1, column 4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        struct reg_config *cfg = NULL;
        assert_int_equal(reg_config_parse(cases[i].json, &cfg, NULL, err, sizeof err), -1);
        assert_null(cfg);
        assert_string_equal(err, cases[i].err);
    }
}

static void warnings(void **state)
{
    (void)state;
    char **w = NULL;
    struct reg_config *cfg =
        parse_ok("{" ADV ",'color':'blue','docker':{'host':'unix:///run/d.sock','tls':true},"
                 "'registry':{'hosts':['zk:2181'],'ttl_s':5,'x':1},"
                 "'services':{'nodesrv':{" IMGPORT ",'foo':1,'weight':1,'weight':2,"
                 "'labels':{'env':'a','env':'b'}}}}",
                 &w);
    const char *want[] = {
        "unknown key color",
        "unknown key docker.tls",
        "registry.ttl_s: not used with zookeeper, ignored",
        "unknown key registry.x",
        "unknown key services.nodesrv.foo",
        "duplicate key services.nodesrv.weight: the last one is used",
        "duplicate key services.nodesrv.labels.env: the last one is used",
    };
    size_t n = 0;
    while (w[n])
        n++;
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(w[i], want[i]);
    assert_int_equal(cfg->services[0].weight, 2);
    assert_int_equal(cfg->services[0].nlabels, 1);
    assert_string_equal(cfg->services[0].labels[0].value, "b");
    reg_config_free(cfg);
    reg_config_free_warnings(w);

    cfg = parse_ok("{" ADV "," ETCD(",'path':'/x'") "}", &w);
    assert_string_equal(w[0], "registry.path: not used with etcd, ignored");
    assert_null(w[1]);
    reg_config_free(cfg);
    reg_config_free_warnings(w);

    /* A duplicated service keeps the last definition. */
    cfg = parse_ok("{" BASE ",'services':{'a':{" IMG ",'container_port':1},'a':{" IMG
                   ",'container_port':2}}}",
                   &w);
    assert_string_equal(w[0], "duplicate key services.a: the last one is used");
    assert_int_equal(cfg->nservices, 1);
    assert_int_equal(cfg->services[0].container_port, 2);
    reg_config_free(cfg);
    reg_config_free_warnings(w);
}

static void type_inferred(void **state)
{
    (void)state;
    struct reg_config *cfg = parse_ok("{" ADV ",'registry':{'hosts':['[::1]:2181']}}", NULL);
    assert_int_equal(cfg->registry_type, REGISTRY_ZOOKEEPER);
    reg_config_free(cfg);
}

/* One row per error path: the config and the exact message. */
static const struct {
    const char *json, *err;
} error_cases[] = {
    {"[]", "config: expected an object, got []"},
    {"{" ZK "}", "advertise_host: required"},
    {"{'advertise_host':null," ZK "}", "advertise_host: required"},
    {"{'advertise_host':42," ZK "}", "advertise_host: expected a string, got 42"},
    {"{'advertise_host':'a\\u0001b'," ZK "}",
     "advertise_host: expected a string without control characters, got \"a\\u0001b\""},
    {"{'advertise_host':'bad host'," ZK "}",
     "advertise_host: expected a hostname or IP address, got \"bad host\""},
    {"{" BASE ",'docker':'x'}", "docker: expected an object, got \"x\""},
    {"{" BASE ",'docker':{'host':'http://x:1'}}",
     "docker.host: expected \"unix:///path\" or \"tcp://host:port\", got \"http://x:1\""},
    {"{" BASE ",'docker':{'host':'tcp://dockerhost'}}",
     "docker.host: expected \"unix:///path\" or \"tcp://host:port\", got \"tcp://dockerhost\""},
    {"{" BASE ",'docker':{'host':'unix://'}}",
     "docker.host: expected \"unix:///path\" or \"tcp://host:port\", got \"unix://\""},
    {"{" BASE ",'resync_interval_s':0}", "resync_interval_s: expected an integer >= 1, got 0"},
    {"{" BASE ",'resync_interval_s':1.5}", "resync_interval_s: expected an integer >= 1, got 1.5"},
    {"{" BASE ",'resync_interval_s':'60'}",
     "resync_interval_s: expected an integer >= 1, got \"60\""},
    {"{" BASE ",'label_registration':'some'}",
     "label_registration: expected \"any\", \"unconfigured\" or \"off\", got \"some\""},
    {"{" ADV "}", "registry: required"},
    {"{" ADV ",'registry':'zk'}", "registry: expected an object, got \"zk\""},
    {"{" ADV ",'registry':{}}", "registry.type: required"},
    {"{" ADV ",'registry':{'type':'consul'}}",
     "registry.type: expected \"zookeeper\" or \"etcd\", got \"consul\""},
    {"{" ADV ",'registry':{'type':'zookeeper'}}", "registry.hosts: required"},
    {"{" ADV ",'registry':{'hosts':[]}}",
     "registry.hosts: expected a non-empty array of \"host:port\" strings, got []"},
    {"{" ADV ",'registry':{'hosts':'zk:2181'}}",
     "registry.hosts: expected a non-empty array of \"host:port\" strings, got \"zk:2181\""},
    {"{" ADV ",'registry':{'hosts':['zk:2181',42]}}",
     "registry.hosts[1]: expected \"host:port\", got 42"},
    {"{" ADV ",'registry':{'hosts':['zk']}}",
     "registry.hosts[0]: expected \"host:port\", got \"zk\""},
    {"{" ADV ",'registry':{'hosts':['zk:0']}}",
     "registry.hosts[0]: expected \"host:port\", got \"zk:0\""},
    {"{" ADV ",'registry':{'hosts':['zk:65536']}}",
     "registry.hosts[0]: expected \"host:port\", got \"zk:65536\""},
    {"{" ADV ",'registry':{'hosts':['zk,zk2:2181']}}",
     "registry.hosts[0]: expected \"host:port\", got \"zk,zk2:2181\""},
    {"{" ADV ",'registry':{'hosts':['[::1]2181']}}",
     "registry.hosts[0]: expected \"host:port\", got \"[::1]2181\""},
    {"{" ADV ",'registry':{'hosts':['zk:2181'],'path':'smartdock'}}",
     "registry.path: expected an absolute path of [A-Za-z0-9._-] components like "
     "\"/smartdock/services\", got \"smartdock\""},
    {"{" ADV ",'registry':{'hosts':['zk:2181'],'path':'/'}}",
     "registry.path: expected an absolute path of [A-Za-z0-9._-] components like "
     "\"/smartdock/services\", got \"/\""},
    {"{" ADV ",'registry':{'hosts':['zk:2181'],'path':'/a//b'}}",
     "registry.path: expected an absolute path of [A-Za-z0-9._-] components like "
     "\"/smartdock/services\", got \"/a//b\""},
    {"{" ADV ",'registry':{'hosts':['zk:2181'],'path':'/a/../b'}}",
     "registry.path: expected an absolute path of [A-Za-z0-9._-] components like "
     "\"/smartdock/services\", got \"/a/../b\""},
    {"{" ADV ",'registry':{'hosts':['zk:2181'],'path':'/a\\nb'}}",
     "registry.path: expected a string without control characters, got \"/a\\nb\""},
    {"{" ADV ",'registry':{'hosts':['zk:2181'],'session_timeout_ms':999}}",
     "registry.session_timeout_ms: expected an integer 1000..600000, got 999"},
    {"{" ADV ",'registry':{'type':'etcd'}}", "registry.endpoints: required"},
    /* A password is never shown back, even a malformed one. */
    {"{" ADV "," ETCD(",'username':'u','password':'pw\\u0001zz9'") "}",
     "registry.password: expected a string without control characters, got a value not shown"},
    {"{" ADV "," ETCD(",'username':'u','password':12345") "}",
     "registry.password: expected a string, got a value not shown"},
    {"{" ADV ",'registry':{'hosts':['127.0.0.1:2181'],'auth_file':7}}",
     "registry.auth_file: expected a string, got 7"},
    {"{" ADV ",'registry':{'type':'etcd','endpoints':[]}}",
     "registry.endpoints: expected a non-empty array of http:// or https:// URLs, got []"},
    {"{" ADV ",'registry':{'type':'etcd','endpoints':['127.0.0.1:2379']}}",
     "registry.endpoints[0]: expected an http:// or https:// URL, got \"127.0.0.1:2379\""},
    {"{" ADV ",'registry':{'type':'etcd','endpoints':['http://']}}",
     "registry.endpoints[0]: expected an http:// or https:// URL, got \"http://\""},
    {"{" ADV "," ETCD(",'prefix':'smartdock/'") "}",
     "registry.prefix: expected a key prefix of [A-Za-z0-9._-] components like "
     "\"/smartdock/services/\", got \"smartdock/\""},
    {"{" ADV "," ETCD(",'prefix':'/a b/'") "}",
     "registry.prefix: expected a key prefix of [A-Za-z0-9._-] components like "
     "\"/smartdock/services/\", got \"/a b/\""},
    {"{" ADV "," ETCD(",'ttl_s':1") "}", "registry.ttl_s: expected an integer 2..3600, got 1"},
    {"{" ADV "," ETCD(",'ttl_s':3601") "}",
     "registry.ttl_s: expected an integer 2..3600, got 3601"},
    {"{" ADV "," ETCD(",'username':42") "}", "registry.username: expected a string, got 42"},
    {"{" ADV "," ETCD(",'password':'x'") "}", "registry.username: required with registry.password"},
    {"{" ADV "," ETCD(",'username':'x'") "}", "registry.password: required with registry.username"},
    {"{" ADV "," ETCD(",'cert_file':'/c.pem'") "}",
     "registry.key_file: required with registry.cert_file"},
    {"{" ADV "," ETCD(",'key_file':'/c.key'") "}",
     "registry.cert_file: required with registry.key_file"},
    {"{" BASE ",'services':[]}", "services: expected an object, got []"},
    {"{" BASE ",'services':{'a/b':{}}}",
     "services: expected service names of [A-Za-z0-9._-] (not \".\" or \"..\"), got \"a/b\""},
    {"{" BASE ",'services':{'..':{}}}",
     "services: expected service names of [A-Za-z0-9._-] (not \".\" or \"..\"), got \"..\""},
    {"{" BASE ",'services':{'a\\nb':{}}}",
     "services: expected service names of [A-Za-z0-9._-] (not \".\" or \"..\"), got \"a\\nb\""},
    {"{" BASE ",'services':{'nodesrv':1}}", "services.nodesrv: expected an object, got 1"},
    {SVC("'container_port':8000"), "services.nodesrv.image_name: required"},
    {SVC("'image_name':42"), "services.nodesrv.image_name: expected an image reference, got 42"},
    {SVC("'image_name':'Local/App'"),
     "services.nodesrv.image_name: expected an image reference, got \"Local/App\" (image "
     "reference \"Local/App\": uppercase letters are not allowed in a repository)"},
    {SVC(IMG), "services.nodesrv.container_port: required"},
    {SVC(IMG ",'container_port':'abc'"),
     "services.nodesrv.container_port: expected an integer 1..65535, got \"abc\""},
    {SVC(IMG ",'container_port':0"),
     "services.nodesrv.container_port: expected an integer 1..65535, got 0"},
    {SVC(IMG ",'container_port':65536"),
     "services.nodesrv.container_port: expected an integer 1..65535, got 65536"},
    {SVC(IMGPORT ",'labels':[]"), "services.nodesrv.labels: expected an object of strings, got []"},
    {SVC(IMGPORT ",'labels':{'env':1}"),
     "services.nodesrv.labels.env: expected a string without control characters, got 1"},
    {SVC(IMGPORT ",'labels':{'env':'a\\nb'}"),
     "services.nodesrv.labels.env: expected a string without control characters, got \"a\\nb\""},
    {SVC(IMGPORT ",'labels':{'':'x'}"),
     "services.nodesrv.labels: expected non-empty keys without control characters, got \"\""},
    {SVC(IMGPORT ",'weight':257"), "services.nodesrv.weight: expected an integer 0..256, got 257"},
    {SVC(IMGPORT ",'weight':-1"), "services.nodesrv.weight: expected an integer 0..256, got -1"},
    {SVC(IMGPORT ",'haproxy_server_options':'check # x'"),
     "services.nodesrv.haproxy_server_options: expected a string without control characters, "
     "'#', ';' or '\\', got \"check # x\""},
    {SVC(IMGPORT ",'haproxy_server_options':'check\\ninter 1s'"),
     "services.nodesrv.haproxy_server_options: expected a string without control characters, "
     "'#', ';' or '\\', got \"check\\ninter 1s\""},
    {SVC(IMGPORT ",'haproxy_server_options':'check;shutdown frontend web'"),
     "services.nodesrv.haproxy_server_options: expected a string without control characters, "
     "'#', ';' or '\\', got \"check;shutdown frontend web\""},
    {SVC(IMGPORT ",'haproxy_server_options':5"),
     "services.nodesrv.haproxy_server_options: expected a string without control characters, "
     "'#', ';' or '\\', got 5"},
    {SVC(IMGPORT ",'drain_ms':-1"),
     "services.nodesrv.drain_ms: expected an integer 0..600000, got -1"},
    {SVC(IMGPORT ",'drain_ms':600001"),
     "services.nodesrv.drain_ms: expected an integer 0..600000, got 600001"},
};

static void errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        char err[512] = "", *json = dq(error_cases[i].json);
        struct reg_config *cfg = (struct reg_config *)1;
        char **w = (char **)1;
        int rc = reg_config_parse(json, &cfg, &w, err, sizeof err);
        if (rc != -1) fail_msg("case %zu (%s): accepted", i, json);
        assert_null(cfg);
        assert_null(w);
        if (strcmp(err, error_cases[i].err) != 0) {
            fail_msg("case %zu (%s):\n  want %s\n  got  %s", i, json, error_cases[i].err, err);
        }
        free(json);
    }
}

static void names(void **state)
{
    (void)state;
    assert_true(reg_name_is_safe("nodesrv"));
    assert_true(reg_name_is_safe("a.b_c-D9"));
    assert_true(reg_name_is_safe("..."));
    assert_false(reg_name_is_safe(""));
    assert_false(reg_name_is_safe("."));
    assert_false(reg_name_is_safe(".."));
    assert_false(reg_name_is_safe("a/b"));
    assert_false(reg_name_is_safe("a b"));
    assert_false(reg_name_is_safe("caf\xc3\xa9"));
    assert_false(reg_name_is_safe(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),          cmocka_unit_test(load_zookeeper_fixture),
        cmocka_unit_test(load_etcd_fixture), cmocka_unit_test(load_errors),
        cmocka_unit_test(malformed_json),    cmocka_unit_test(warnings),
        cmocka_unit_test(type_inferred),     cmocka_unit_test(errors),
        cmocka_unit_test(file_size),         cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
