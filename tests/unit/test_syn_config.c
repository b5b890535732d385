#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "syn_config.h"
#include "syn_config_fixture.h"
#include "syn_config_json.h"

/* A valid service to wrap variations in. */
#define DOCKER_DISC                                                                                \
    "\"discovery\":{\"method\":\"docker\",\"servers\":[{\"host\":\"localhost\"}],"                 \
    "\"image_name\":\"img\",\"container_port\":80}"

static void check_article(const struct syn_config *cfg)
{
    assert_int_equal(cfg->nservices, 1);
    const struct syn_service *s = &cfg->services[0];
    assert_string_equal(s->name, "nodesrv");
    assert_ptr_equal(syn_config_service(cfg, "nodesrv"), s);
    assert_null(syn_config_service(cfg, "other"));
    assert_int_equal(s->discovery.kind, SYN_DISCOVERY_DOCKER);
    assert_string_equal(s->discovery.method, "docker");
    assert_int_equal(s->discovery.nservers, 1);
    assert_string_equal(s->discovery.servers[0].name, "localhost");
    assert_string_equal(s->discovery.servers[0].host, "localhost");
    assert_int_equal(s->discovery.servers[0].port, 4243);
    assert_null(s->discovery.servers[0].socket);
    assert_string_equal(s->discovery.image_name, "local/nodeapp");
    assert_int_equal(s->discovery.container_port, 8000);
    assert_true(s->discovery.check_interval == 15.0);
    assert_int_equal(s->discovery.nlabel_filters, 0);
    assert_null(s->discovery.etcd_username);

    assert_int_equal(s->haproxy.port_mode, SYN_PORT_SET);
    assert_int_equal(s->haproxy.port, 8080);
    assert_int_equal(s->haproxy.listen.n, 3);
    assert_string_equal(s->haproxy.listen.v[1], "option httpchk /");
    assert_int_equal(s->haproxy.frontend.n, 0);
    assert_string_equal(s->haproxy.backend_name, "nodesrv");
    assert_int_equal(s->haproxy.backend_order, SYN_ORDER_SORTED);
    assert_false(s->haproxy.disabled);
    assert_null(s->haproxy.bind_address);
    assert_null(s->haproxy.server_options);
    assert_false(s->keep_default_servers);
    assert_true(s->use_previous_backends);
    assert_int_equal(s->backend_port_override, 0);
    assert_int_equal(s->ndefault_servers, 0);

    const struct syn_haproxy *h = &cfg->haproxy;
    assert_true(cfg->has_haproxy);
    assert_string_equal(h->reload_command, "service haproxy reload");
    assert_string_equal(h->config_file_path, "/etc/haproxy/haproxy.cfg");
    assert_string_equal(h->candidate_config_file_path, "/etc/haproxy/haproxy.cfg.tmp");
    assert_true(h->do_writes);
    assert_true(h->do_reloads);
    assert_false(h->do_checks);
    assert_false(h->do_socket);
    assert_int_equal(h->global.n, 4);
    assert_string_equal(h->global.v[0], "chroot /var/lib/haproxy");
    assert_int_equal(h->defaults.n, 3);
    assert_string_equal(h->defaults.v[0], "timeout connect 5000");
    assert_string_equal(h->defaults.v[1], "timeout client 50000");
    assert_string_equal(h->defaults.v[2], "timeout server 50000");
    assert_string_equal(h->bind_address, "localhost");
    assert_true(h->restart_interval == 2.0);
    assert_true(h->restart_jitter == 0.0);
    assert_string_equal(h->haproxy_binary, "haproxy");
    assert_false(h->managed);
    assert_true(h->safe_http_defaults);
    assert_int_equal(h->drain_timeout_ms, 10000);
    assert_null(h->allowed_server_options); /* the default list */
    assert_null(h->state_file_path);
    assert_int_equal(h->socket_files.n, 0);
    assert_null(cfg->file_output_directory);

    /* Only the three translations. */
    assert_int_equal(cfg->warnings.n, 3);
    assert_true(has_warning(cfg, "haproxy.defaults[0]: \"contimeout 5000\" is refused by HAProxy "
                                 ">= 2.1; using \"timeout connect 5000\" instead"));
    assert_true(has_warning(cfg, "haproxy.defaults[1]: \"clitimeout 50000\" is refused by "
                                 "HAProxy >= 2.1; using \"timeout client 50000\" instead"));
    assert_true(has_warning(cfg, "haproxy.defaults[2]: \"srvtimeout 50000\" is refused by "
                                 "HAProxy >= 2.1; using \"timeout server 50000\" instead"));
}

static void article_config(void **state)
{
    (void)state;
    struct syn_config *cfg = NULL;
    char err[512] = "";
    assert_int_equal(syn_config_load(FIXTURES_DIR "/synapse/article.json", &cfg, err, sizeof err),
                     0);
    check_article(cfg);
    syn_config_free(cfg);
}

static void defaults_without_haproxy(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok("{}");
    assert_int_equal(cfg->nservices, 0);
    assert_false(cfg->has_haproxy);
    assert_true(cfg->haproxy.do_writes);
    assert_true(cfg->haproxy.do_reloads);
    assert_false(cfg->haproxy.do_socket);
    assert_string_equal(cfg->haproxy.bind_address, "localhost");
    assert_string_equal(cfg->haproxy.haproxy_binary, "haproxy");
    assert_int_equal(cfg->haproxy.state_file_ttl, 86400);
    assert_int_equal(cfg->warnings.n, 0);
    syn_config_free(cfg);
    syn_config_free(NULL);
}

static void all_keys(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok(
        "{\"services\":{\"web\":{\"discovery\":{\"method\":\"zookeeper\","
        "\"hosts\":[\"zk1:2181\",\"[::1]:2182\"],\"path\":\"/nerve/web\","
        "\"decode\":{\"method\":\"nerve\"},\"label_filters\":[{\"label\":\"az\",\"value\":\"a\","
        "\"condition\":\"not-equals\"}],\"label_filter\":{\"label\":\"c\",\"value\":\"d\","
        "\"condition\":\"equals\"}},"
        "\"default_servers\":[{\"name\":\"d1\",\"host\":\"127.0.10.1\",\"port\":80},"
        "{\"host\":\"127.0.10.2\",\"port\":\"81\"}],\"keep_default_servers\":true,"
        "\"use_previous_backends\":false,\"backend_port_override\":8000,"
        "\"haproxy\":{\"port\":null,\"bind_address\":\"unix@/run/web.sock\","
        "\"bind_options\":\"accept-proxy\",\"server_options\":\"check inter 2s\","
        "\"frontend\":\"mode http\",\"backend\":[\"mode http\",\"srvtimeout 5s\"],"
        "\"backend_name\":\"web_be\",\"backend_order\":\"desc\",\"disabled\":false}},"
        "\"etcd\":{\"discovery\":{\"method\":\"etcd\",\"hosts\":[\"e1\",\"e2:2379\"],"
        "\"path\":\"/svc\"}},"
        "\"plain\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{\"backend_order\":"
        "\"shuffle\",\"port\":\"9000\",\"server_port_override\":7000}}},"
        "\"haproxy\":{\"config_file_path\":\"/tmp/h.cfg\",\"candidate_config_file_path\":\"/tmp/"
        "c\","
        "\"do_reloads\":false,\"do_checks\":true,\"check_command\":\"haproxy -c -f /tmp/c\","
        "\"socket_file_path\":[\"/run/a.sock\",\"/run/b.sock\"],\"restart_interval\":5,"
        "\"restart_jitter\":0.25,\"state_file_path\":\"/tmp/state\",\"state_file_ttl\":60,"
        "\"server_order_seed\":42,\"haproxy_binary\":\"/usr/sbin/haproxy\",\"managed\":true,"
        "\"safe_http_defaults\":false,\"drain_timeout_ms\":2500,"
        "\"allowed_server_options\":[\"check\",\"cookie\"],"
        "\"extra_sections\":{\"listen stats\":[\"bind :9090\",\"clitimeout 5s\"]},"
        "\"shared_frontend\":[\"bind :80\"],\"bind_address\":\"0.0.0.0\"},"
        "\"file_output\":{\"output_directory\":\"/tmp/out\"},\"service_conf_dir\":\"/etc/s\"}");
    assert_int_equal(cfg->nservices, 3);
    const struct syn_service *w = &cfg->services[0];
    assert_int_equal(w->discovery.kind, SYN_DISCOVERY_ZOOKEEPER);
    assert_int_equal(w->discovery.hosts.n, 2);
    assert_string_equal(w->discovery.hosts.v[1], "[::1]:2182");
    assert_string_equal(w->discovery.path, "/nerve/web");
    assert_int_equal(w->discovery.nlabel_filters, 2);
    assert_string_equal(w->discovery.label_filters[0].label, "c"); /* deprecated one first */
    assert_int_equal(w->discovery.label_filters[0].condition, SYN_LABEL_EQUALS);
    assert_string_equal(w->discovery.label_filters[1].value, "a");
    assert_int_equal(w->discovery.label_filters[1].condition, SYN_LABEL_NOT_EQUALS);
    assert_int_equal(w->ndefault_servers, 2);
    assert_string_equal(w->default_servers[0].name, "d1");
    assert_string_equal(w->default_servers[1].name, "127.0.10.2:81");
    assert_int_equal(w->default_servers[1].port, 81);
    assert_true(w->keep_default_servers);
    assert_false(w->use_previous_backends);
    assert_int_equal(w->backend_port_override, 8000);
    assert_int_equal(w->haproxy.port_mode, SYN_PORT_NULL);
    assert_string_equal(w->haproxy.bind_address, "unix@/run/web.sock");
    assert_string_equal(w->haproxy.bind_options, "accept-proxy");
    assert_string_equal(w->haproxy.server_options, "check inter 2s");
    assert_int_equal(w->haproxy.frontend.n, 1);
    assert_string_equal(w->haproxy.backend.v[1], "timeout server 5s");
    assert_string_equal(w->haproxy.backend_name, "web_be");
    assert_int_equal(w->haproxy.backend_order, SYN_ORDER_DESC);

    const struct syn_service *e = &cfg->services[1];
    assert_int_equal(e->discovery.kind, SYN_DISCOVERY_ETCD);
    assert_int_equal(e->discovery.endpoints.n, 2);
    assert_string_equal(e->discovery.endpoints.v[0], "http://e1:4003");
    assert_string_equal(e->discovery.endpoints.v[1], "http://e2:2379");
    assert_int_equal(e->haproxy.port_mode, SYN_PORT_NONE);
    assert_string_equal(e->haproxy.backend_name, "etcd");

    const struct syn_service *p = &cfg->services[2];
    assert_int_equal(p->discovery.kind, SYN_DISCOVERY_BASE);
    assert_int_equal(p->haproxy.backend_order, SYN_ORDER_SHUFFLE);
    assert_int_equal(p->haproxy.port, 9000);
    assert_int_equal(p->backend_port_override, 7000);

    const struct syn_haproxy *h = &cfg->haproxy;
    assert_string_equal(h->candidate_config_file_path, "/tmp/c");
    assert_false(h->do_reloads);
    assert_true(h->do_checks);
    assert_true(h->do_socket);
    assert_int_equal(h->socket_files.n, 2);
    assert_string_equal(h->socket_files.v[1], "/run/b.sock");
    assert_true(h->restart_interval == 5.0);
    assert_true(h->restart_jitter == 0.25);
    assert_string_equal(h->state_file_path, "/tmp/state");
    assert_int_equal(h->state_file_ttl, 60);
    assert_int_equal(h->server_order_seed, 42);
    assert_string_equal(h->haproxy_binary, "/usr/sbin/haproxy");
    assert_true(h->managed);
    assert_false(h->safe_http_defaults);
    assert_int_equal(h->drain_timeout_ms, 2500);
    assert_non_null(h->allowed_server_options);
    char why[128];
    assert_int_equal(
        server_options_check(h->allowed_server_options, "check cookie a", why, sizeof why, NULL),
        0);
    assert_int_equal(
        server_options_check(h->allowed_server_options, "weight 1", why, sizeof why, NULL), -1);
    assert_int_equal(h->nextra_sections, 1);
    assert_string_equal(h->extra_sections[0].header, "listen stats");
    assert_string_equal(h->extra_sections[0].lines.v[1], "timeout client 5s");
    assert_string_equal(h->bind_address, "0.0.0.0");
    assert_string_equal(cfg->file_output_directory, "/tmp/out");
    assert_string_equal(cfg->service_conf_dir, "/etc/s");

    assert_true(has_warning(cfg, "services.web.discovery.label_filter is deprecated; use "
                                 "label_filters, an array"));
    assert_true(has_warning(cfg, "services.plain.haproxy.server_port_override is deprecated; "
                                 "use backend_port_override in the service"));
    assert_true(has_warning(cfg, "services.web.haproxy.backend[1]: \"srvtimeout 5s\" is refused "
                                 "by HAProxy >= 2.1; using \"timeout server 5s\" instead"));
    assert_true(has_warning(cfg, "haproxy.extra_sections.listen stats[1]: \"clitimeout 5s\" is "
                                 "refused by HAProxy >= 2.1; using \"timeout client 5s\" instead"));
    syn_config_free(cfg);
}

static void single_socket_path(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok("{\"haproxy\":{\"do_writes\":false,\"do_reloads\":false,"
                                      "\"socket_file_path\":\"/run/h.sock\"}}");
    assert_true(cfg->haproxy.do_socket);
    assert_int_equal(cfg->haproxy.socket_files.n, 1);
    assert_string_equal(cfg->haproxy.socket_files.v[0], "/run/h.sock");
    syn_config_free(cfg);
    cfg = parse_ok("{\"haproxy\":{\"do_writes\":false,\"do_reloads\":false,\"do_socket\":false,"
                   "\"socket_file_path\":\"/run/h.sock\"}}");
    assert_false(cfg->haproxy.do_socket);
    syn_config_free(cfg);
}

/* Issue 14: the keys of what lands in haproxy.cfg, with Synapse's meaning. */
static void synapse_render_keys(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok(
        "{\"services\":{\"a\":{" DOCKER_DISC ",\"haproxy\":{\"backend_order\":\"random\","
        "\"cookie_value_method\":\"sha\",\"use_nerve_weights\":true}},"
        "\"b\":{" DOCKER_DISC ",\"haproxy\":{\"backend_order\":\"no_shuffle\","
        "\"cookie_value_method\":\"name\"}}},"
        "\"haproxy\":{\"do_writes\":false,\"do_reloads\":false,\"use_nerve_weights\":true}}");
    assert_true(cfg->haproxy.use_nerve_weights);
    assert_int_equal(cfg->haproxy.max_server_id, 65535);
    assert_int_equal(cfg->services[0].haproxy.backend_order, SYN_ORDER_SHUFFLE);
    assert_int_equal(cfg->services[0].haproxy.cookie_value_method, SYN_COOKIE_NAME);
    assert_int_equal(cfg->services[1].haproxy.backend_order, SYN_ORDER_NO_SHUFFLE);
    assert_true(has_warning(cfg, "services.a.haproxy.backend_order: \"random\" is not \"asc\", "
                                 "\"desc\" or \"no_shuffle\": servers are shuffled with "
                                 "haproxy.server_order_seed, as Synapse does"));
    assert_true(has_warning(cfg, "services.a.haproxy.cookie_value_method: \"sha\" is not \"name\" "
                                 "or \"hash\": the cookie value is the server name, as Synapse "
                                 "does"));
    assert_true(has_warning_starting(cfg, "services.a.haproxy.use_nerve_weights: Synapse option "
                                          "not supported by smartdock, ignored: Synapse reads "
                                          "only the top-level haproxy.use_nerve_weights"));
    syn_config_free(cfg);
    cfg = parse_ok("{\"haproxy\":{\"do_writes\":false,\"do_reloads\":false}}");
    assert_false(cfg->haproxy.use_nerve_weights);
    assert_int_equal(cfg->haproxy.max_server_id, 65535);
    syn_config_free(cfg);
}

static void unknown_keys_warn(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok(
        "{\"bogus\":1,\"statsd\":{},\"services\":{\"nodesrv\":{" DOCKER_DISC
        ",\"extra\":true,\"load_test_concurrency\":2,"
        "\"haproxy\":{\"port\":80,\"foo\":1,\"cookie_value_method\":\"hash\"}}},"
        "\"haproxy\":{\"do_writes\":false,\"do_reloads\":false,\"max_server_id\":5,\"zzz\":0,"
        "\"bind_address\":\"a\",\"bind_address\":\"b\"},\"file_output\":{\"output_directory\":"
        "\"/x\",\"y\":1}}");
    assert_true(has_warning(cfg, "unknown key bogus"));
    assert_true(has_warning(cfg, "statsd: Synapse option not supported by smartdock, ignored: "
                                 "smartdock exports no metrics; it logs a summary line at exit"));
    assert_true(has_warning(cfg, "unknown key services.nodesrv.extra"));
    assert_true(has_warning_starting(cfg, "services.nodesrv.load_test_concurrency: Synapse "
                                          "option not supported by smartdock, ignored: "));
    assert_true(has_warning(cfg, "unknown key services.nodesrv.haproxy.foo"));
    /* Acted on now: no warning. */
    for (size_t i = 0; i < cfg->warnings.n; i++) {
        assert_null(strstr(cfg->warnings.v[i], "cookie_value_method"));
        assert_null(strstr(cfg->warnings.v[i], "max_server_id"));
    }
    assert_int_equal(cfg->services[0].haproxy.cookie_value_method, SYN_COOKIE_HASH);
    assert_int_equal(cfg->haproxy.max_server_id, 5);
    assert_true(has_warning(cfg, "unknown key haproxy.zzz"));
    assert_true(has_warning(cfg, "duplicate key haproxy.bind_address: the last one is used"));
    assert_string_equal(cfg->haproxy.bind_address, "b");
    assert_true(has_warning(cfg, "unknown key file_output.y"));
    syn_config_free(cfg);

    cfg = parse_ok("{\"services\":{\"s\":{\"discovery\":{\"method\":\"zookeeper\","
                   "\"hosts\":[\"h:1\"],\"path\":\"/p\",\"nope\":1,\"label_filters\":[{\"label\":"
                   "\"a\",\"value\":\"b\",\"condition\":\"equals\",\"why\":0}]},"
                   "\"default_servers\":[{\"host\":\"h\",\"port\":1,\"weight\":2}],"
                   "\"haproxy\":{\"frontend\":[\"mode tcp\"],\"shared_frontend\":[\"x\"]}}}}");
    assert_true(has_warning(cfg, "unknown key services.s.discovery.nope"));
    assert_true(has_warning(cfg, "unknown key services.s.discovery.label_filters[0].why"));
    assert_true(has_warning(cfg, "unknown key services.s.default_servers[0].weight"));
    assert_true(
        has_warning(cfg, "services.s.haproxy.frontend: ignored, there is no port to listen on"));
    assert_true(has_warning(
        cfg, "services.s.haproxy.shared_frontend: ignored, haproxy.shared_frontend is not set"));
    syn_config_free(cfg);
}

struct bad {
    const char *json;
    const char *err; /* exact message */
};

#define SVC(body) "{\"services\":{\"s\":{" body "}}}"
#define HAP(body) SVC(DOCKER_DISC ",\"haproxy\":{" body "}")
#define DISC(body) SVC("\"discovery\":{" body "}")
#define TOP(body) "{\"haproxy\":{" body "}}"
#define TOPW(body) TOP("\"do_writes\":false,\"do_reloads\":false," body)

static const struct bad bad_configs[] = {
    {"{\"services\":{\"nodesrv\":{" DOCKER_DISC ",\"haproxy\":{\"port\":\"abc\"}}}}",
     "services.nodesrv.haproxy.port: expected an integer 1..65535, got \"abc\""},
    {HAP("\"port\":0"), "services.s.haproxy.port: expected an integer 1..65535, got 0"},
    {HAP("\"port\":70000"), "services.s.haproxy.port: expected an integer 1..65535, got 70000"},
    {HAP("\"port\":80.5"), "services.s.haproxy.port: expected an integer 1..65535, got 80.5"},
    {"[1]", "(top level): expected an object, got [1]"},
    {"{\"services\":[]}", "services: expected an object of name -> service, got []"},
    {"{\"services\":{\"s\":1}}", "services.s: expected an object, got 1"},
    {"{\"services\":{\"my svc\":{}}}",
     "services.my svc: a service name must use only [A-Za-z0-9._:-]"},
    {SVC(""), "services.s.discovery: missing (every service needs a discovery method)"},
    {SVC("\"discovery\":[]"), "services.s.discovery: expected an object, got []"},
    {DISC("\"x\":1"), "services.s.discovery.method: expected a string, got nothing"},
    {DISC("\"method\":\"foo\""), "services.s.discovery.method: unknown discovery method \"foo\" "
                                 "(supported: base, dns, docker, etcd, multi, zookeeper, "
                                 "zookeeper_dns, zookeeper_dns_poll, zookeeper_poll)"},
    {DISC("\"method\":\"ec2tag\""),
     "services.s.discovery.method: a Synapse watcher smartdock does not implement \"ec2tag\" "
     "(supported: base, dns, docker, etcd, multi, zookeeper, zookeeper_dns, zookeeper_dns_poll, "
     "zookeeper_poll)"},
    {DISC("\"method\":\"zookeeper\",\"path\":\"/p\""),
     "services.s.discovery.hosts: expected a non-empty array of \"host:port\" strings, or one "
     "such string, got nothing"},
    {DISC("\"method\":\"zookeeper\",\"hosts\":[],\"path\":\"/p\""),
     "services.s.discovery.hosts: expected a non-empty array of \"host:port\" strings, or one "
     "such string, got []"},
    /* hosts as one connection string, as Synapse's README writes it */
    {DISC("\"method\":\"zookeeper\",\"hosts\":\"zk:2181\",\"path\":\"/p\""), NULL},
    {DISC("\"method\":\"zookeeper\",\"hosts\":\"zk:2181,zk2\",\"path\":\"/p\""),
     "services.s.discovery.hosts: expected \"host:port\" or \"host:port/chroot\", got \"zk2\""},
    {DISC("\"method\":\"zookeeper\",\"hosts\":\",\",\"path\":\"/p\""),
     "services.s.discovery.hosts: expected \"host:port[,host:port...]\", got \",\""},
    {DISC("\"method\":\"zookeeper\",\"hosts\":[\"zk:1/a\",\"zk:2/b\"],\"path\":\"/p\""),
     "services.s.discovery.hosts[1]: chroot \"/b\" differs from \"/a\" (one per ensemble)"},
    {DISC("\"method\":\"zookeeper\",\"hosts\":[\"zk:1/\"],\"path\":\"/p\""),
     "services.s.discovery.hosts[0]: expected a chroot path like \"/chroot\", got \"/\""},
    {DISC("\"method\":\"zookeeper\",\"hosts\":[1],\"path\":\"/p\""),
     "services.s.discovery.hosts[0]: expected a \"host:port\" string, got 1"},
    {DISC("\"method\":\"zookeeper\",\"hosts\":[\"zk:1\",\"zk\"],\"path\":\"/p\""),
     "services.s.discovery.hosts[1]: expected \"host:port\" or \"host:port/chroot\", got \"zk\""},
    {DISC("\"method\":\"zookeeper\",\"hosts\":[\"zk:99999\"],\"path\":\"/p\""),
     "services.s.discovery.hosts[0]: expected \"host:port\" or \"host:port/chroot\", got "
     "\"zk:99999\""},
    {DISC("\"method\":\"zookeeper\",\"hosts\":[\"zk:1\"]"),
     "services.s.discovery.path: missing (required for zookeeper)"},
    {DISC("\"method\":\"zookeeper\",\"hosts\":[\"zk:1\"],\"path\":\"p\""),
     "services.s.discovery.path: expected a path starting with '/', got \"p\""},
    {DISC("\"method\":\"docker\",\"image_name\":\"i\",\"container_port\":1"),
     "services.s.discovery.servers: expected a non-empty array of docker servers, got nothing"},
    {DISC("\"method\":\"docker\",\"servers\":[\"h\"],\"image_name\":\"i\",\"container_port\":1"),
     "services.s.discovery.servers[0]: expected an object {\"name\", \"host\", \"port\"}, got "
     "\"h\""},
    {DISC("\"method\":\"docker\",\"servers\":[{\"host\":\"a b\"}],\"image_name\":\"i\","
          "\"container_port\":1"),
     "services.s.discovery.servers[0].host: expected a non-empty string without spaces or "
     "control characters, got \"a b\""},
    {DISC("\"method\":\"docker\",\"servers\":[{\"host\":\"a/b\"}],\"image_name\":\"i\","
          "\"container_port\":1"),
     "services.s.discovery.servers[0].host: expected a hostname or IP address, got \"a/b\""},
    {DISC("\"method\":\"docker\",\"servers\":[{\"name\":\"x\"}],\"image_name\":\"i\","
          "\"container_port\":1"),
     "services.s.discovery.servers[0]: needs \"host\" or \"socket\""},
    {DISC("\"method\":\"docker\",\"servers\":[{\"socket\":\"run/d.sock\"}],\"image_name\":\"i\","
          "\"container_port\":1"),
     "services.s.discovery.servers[0].socket: expected an absolute path, got \"run/d.sock\""},
    {DISC("\"method\":\"docker\",\"servers\":[{\"host\":\"h\",\"port\":true}],"
          "\"image_name\":\"i\",\"container_port\":1"),
     "services.s.discovery.servers[0].port: expected an integer 1..65535, got true"},
    {DISC("\"method\":\"docker\",\"servers\":[{\"host\":\"h\"}],\"container_port\":1"),
     "services.s.discovery.image_name: expected a non-empty string, got nothing"},
    {DISC("\"method\":\"docker\",\"servers\":[{\"host\":\"h\"}],\"image_name\":\"i\""),
     "services.s.discovery.container_port: missing (required for docker)"},
    {DISC("\"method\":\"docker\",\"servers\":[{\"host\":\"h\"}],\"image_name\":\"i\","
          "\"container_port\":0"),
     "services.s.discovery.container_port: expected an integer 1..65535, got 0"},
    {DISC("\"method\":\"docker\",\"servers\":[{\"host\":\"h\"}],\"image_name\":\"i\","
          "\"container_port\":1,\"check_interval\":-1"),
     "services.s.discovery.check_interval: expected a number 0.001..86400, got -1"},
    {DISC("\"method\":\"etcd\",\"endpoints\":[\"http://e:2379\"],\"path\":\"/p\","
          "\"username\":\"u\",\"password\":12345"),
     "services.s.discovery.password: expected a non-empty string without control characters, got a "
     "value not shown"},
    {DISC("\"method\":\"zookeeper\",\"hosts\":[\"z:2181\"],\"path\":\"/p\",\"auth_file\":\"\""),
     "services.s.discovery.auth_file: expected a file name, got \"\""},
    {DISC("\"method\":\"etcd\",\"path\":\"/p\""),
     "services.s.discovery.hosts: missing (etcd needs a non-empty \"endpoints\" or \"hosts\")"},
    {DISC("\"method\":\"etcd\",\"endpoints\":[\"e:2379\"],\"path\":\"/p\""),
     "services.s.discovery.endpoints[0]: expected an http:// or https:// URL, got \"e:2379\""},
    {DISC("\"method\":\"etcd\",\"hosts\":[\"a b\"],\"path\":\"/p\""),
     "services.s.discovery.hosts[0]: expected \"host[:port]\", got \"a b\""},
    {DISC("\"method\":\"etcd\",\"endpoints\":[\"http://e:2379\"]"),
     "services.s.discovery.path: missing (required for etcd)"},
    {DISC("\"method\":\"etcd\",\"endpoints\":[\"http://e:2379\"],\"path\":\"/p\","
          "\"username\":\"u\""),
     "services.s.discovery.password: missing (username and password go together)"},
    {DISC("\"method\":\"etcd\",\"endpoints\":[\"http://e:2379\"],\"path\":\"/p\","
          "\"key_file\":\"/k.pem\""),
     "services.s.discovery.cert_file: missing (cert_file and key_file go together)"},
    {DISC("\"method\":\"etcd\",\"endpoints\":[\"http://e:2379\"],\"path\":\"/p\","
          "\"password\":\"\""),
     "services.s.discovery.password: expected a non-empty string without control characters, "
     "got a value not shown"},
    {DISC("\"method\":\"etcd\",\"endpoints\":[\"http://e:2379\"],\"path\":\"/p\","
          "\"ca_file\":\"/a\\nb\""),
     "services.s.discovery.ca_file: expected a non-empty string without control characters, got "
     "\"/a\\nb\""},
    {DISC("\"method\":\"base\",\"label_filters\":{}"),
     "services.s.discovery.label_filters: expected an array of label filters, got {}"},
    {DISC("\"method\":\"base\",\"label_filters\":[1]"),
     "services.s.discovery.label_filters[0]: expected an object {\"label\", \"value\", "
     "\"condition\"}, got 1"},
    {DISC("\"method\":\"base\",\"label_filters\":[{\"value\":\"v\",\"condition\":\"equals\"}]"),
     "services.s.discovery.label_filters[0].label: expected a non-empty string, got nothing"},
    {DISC("\"method\":\"base\",\"label_filters\":[{\"label\":\"l\",\"condition\":\"equals\"}]"),
     "services.s.discovery.label_filters[0].value: expected a string, got nothing"},
    {DISC("\"method\":\"base\",\"label_filters\":[{\"label\":\"l\",\"value\":\"v\","
          "\"condition\":\"contains\"}]"),
     "services.s.discovery.label_filters[0].condition: expected \"equals\" or \"not-equals\", "
     "got \"contains\""},
    {DISC("\"method\":\"base\",\"label_filter\":{\"label\":\"l\",\"value\":1,"
          "\"condition\":\"equals\"}"),
     "services.s.discovery.label_filter.value: expected a string, got 1"},
    {SVC(DOCKER_DISC ",\"default_servers\":{}"),
     "services.s.default_servers: expected an array of {\"name\", \"host\", \"port\"}, got {}"},
    {SVC(DOCKER_DISC ",\"default_servers\":[1]"),
     "services.s.default_servers[0]: expected an object {\"name\", \"host\", \"port\"}, got 1"},
    {SVC(DOCKER_DISC ",\"default_servers\":[{\"port\":1}]"),
     "services.s.default_servers[0].host: expected a hostname or IP address, got nothing"},
    {SVC(DOCKER_DISC ",\"default_servers\":[{\"host\":\"h;x\",\"port\":1}]"),
     "services.s.default_servers[0].host: expected a hostname or IP address, got \"h;x\""},
    {SVC(DOCKER_DISC ",\"default_servers\":[{\"host\":\"h\"}]"),
     "services.s.default_servers[0].port: missing"},
    {SVC(DOCKER_DISC ",\"default_servers\":[{\"host\":\"h\",\"port\":-1}]"),
     "services.s.default_servers[0].port: expected an integer 1..65535, got -1"},
    {SVC(DOCKER_DISC ",\"keep_default_servers\":\"yes\""),
     "services.s.keep_default_servers: expected true or false, got \"yes\""},
    {SVC(DOCKER_DISC ",\"use_previous_backends\":1"),
     "services.s.use_previous_backends: expected true or false, got 1"},
    {SVC(DOCKER_DISC ",\"backend_port_override\":\"x\""),
     "services.s.backend_port_override: expected an integer 1..65535, got \"x\""},
    {SVC(DOCKER_DISC ",\"haproxy\":[]"), "services.s.haproxy: expected an object, got []"},
    {HAP("\"disabled\":\"no\""), "services.s.haproxy.disabled: expected true or false, got \"no\""},
    {HAP("\"bind_address\":\"0.0.0.0 ssl\""),
     "services.s.haproxy.bind_address: expected a non-empty string without spaces or control "
     "characters, got \"0.0.0.0 ssl\""},
    {HAP("\"bind_options\":[]"), "services.s.haproxy.bind_options: expected a string, got []"},
    {HAP("\"server_options\":\"check\\nlisten evil\""),
     "services.s.haproxy.server_options: expected a string without control characters, got "
     "\"check\\nlisten evil\""},
    {HAP("\"frontend\":{}"), "services.s.haproxy.frontend: expected an array of strings, got {}"},
    {HAP("\"backend\":[\"mode http\",2]"),
     "services.s.haproxy.backend[1]: expected a string, got 2"},
    {HAP("\"listen\":[\"mode http\\r\\nlisten x\"]"),
     "services.s.haproxy.listen[0]: expected a string without control characters, got \"mode "
     "http\\r\\nlisten x\""},
    {HAP("\"backend_name\":\"a#b\""),
     "services.s.haproxy.backend_name: expected a name of [A-Za-z0-9._:-], got \"a#b\""},
    {HAP("\"backend_order\":3"), "services.s.haproxy.backend_order: expected a string, got 3"},
    {HAP("\"cookie_value_method\":true"),
     "services.s.haproxy.cookie_value_method: expected \"name\" or \"hash\", got true"},
    {TOPW("\"max_server_id\":0"), "haproxy.max_server_id: expected an integer >= 1, got 0"},
    {TOPW("\"use_nerve_weights\":\"yes\""),
     "haproxy.use_nerve_weights: expected true or false, got \"yes\""},
    {HAP("\"server_port_override\":\"p\""),
     "services.s.haproxy.server_port_override: expected an integer 1..65535, got \"p\""},
    {"{\"haproxy\":[]}", "haproxy: expected an object, got []"},
    {TOP("\"do_writes\":1"), "haproxy.do_writes: expected true or false, got 1"},
    {TOP("\"do_reloads\":false"), "haproxy.config_file_path: required when haproxy.do_writes is "
                                  "true"},
    {TOP("\"config_file_path\":\"/c\""),
     "haproxy.reload_command: required when haproxy.do_reloads is true"},
    {TOPW("\"do_checks\":true"), "haproxy.check_command: required when haproxy.do_checks is true"},
    {TOPW("\"do_socket\":true"),
     "haproxy.socket_file_path: required when haproxy.do_socket is true"},
    {TOPW("\"socket_file_path\":5"),
     "haproxy.socket_file_path: expected a non-empty string without spaces or control "
     "characters, got 5"},
    {TOPW("\"socket_file_path\":[\"/a b\"]"),
     "haproxy.socket_file_path[0]: expected a path without spaces, got \"/a b\""},
    /* Synapse takes numbers as strings (to_i); only numbers are. */
    {TOPW("\"restart_interval\":\"2\""), NULL},
    {TOPW("\"restart_interval\":\"2s\""),
     "haproxy.restart_interval: expected a number 0..86400, got \"2s\""},
    {TOPW("\"restart_interval\":\" 2\""),
     "haproxy.restart_interval: expected a number 0..86400, got \" 2\""},
    {TOPW("\"restart_jitter\":-1"), "haproxy.restart_jitter: expected a number 0..100, got -1"},
    {TOPW("\"allowed_server_options\":[\"check\",\"track\"]"),
     "haproxy.allowed_server_options: \"track\" is not a server keyword smartdock can check the "
     "arguments of"},
    {TOPW("\"max_servers_per_service\":0"),
     "haproxy.max_servers_per_service: expected an integer 1..1000000, got 0"},
    {TOPW("\"allowed_server_options\":\"check\""),
     "haproxy.allowed_server_options: expected an array of strings, got \"check\""},
    {TOPW("\"drain_timeout_ms\":-1"),
     "haproxy.drain_timeout_ms: expected an integer 0..3600000, got -1"},
    {TOPW("\"safe_http_defaults\":\"no\""),
     "haproxy.safe_http_defaults: expected true or false, got \"no\""},
    {TOPW("\"state_file_ttl\":0"), "haproxy.state_file_ttl: expected an integer >= 1, got 0"},
    {TOPW("\"server_order_seed\":-1"),
     "haproxy.server_order_seed: expected an integer >= 0, got -1"},
    {TOPW("\"managed\":null,\"haproxy_binary\":3"),
     "haproxy.haproxy_binary: expected a string, got 3"},
    {TOPW("\"global\":\"daemon\\n\""),
     "haproxy.global: expected a string without control characters, got \"daemon\\n\""},
    {TOPW("\"defaults\":[\"mode http\",\"x\\u0000y\"]"),
     "config: a string holds \\u0000, which is not allowed"},
    {TOPW("\"defaults\":[\"x\\\\u0000y\"]"), NULL},
    {TOPW("\"extra_sections\":[]"),
     "haproxy.extra_sections: expected an object of section -> lines, got []"},
    {TOPW("\"extra_sections\":{\"listen a\":1}"),
     "haproxy.extra_sections.listen a: expected an array of strings, got 1"},
    {TOPW("\"extra_sections\":{\"listen a\\nlisten b\":[]}"),
     "haproxy.extra_sections.listen a?listen b: a section header must be one line"},
    {"{\"file_output\":1}", "file_output: expected an object, got 1"},
    {"{\"file_output\":{}}", "file_output.output_directory: missing"},
    {"{\"service_conf_dir\":[]}", "service_conf_dir: expected a string, got []"},
    {"{\"services\":", "config: malformed JSON at line 1, column 12"},
    {"{\"services\":{\"a\":{" DOCKER_DISC ",\"haproxy\":{\"backend_name\":\"x\"}},"
     "\"b\":{" DOCKER_DISC ",\"haproxy\":{\"backend_name\":\"x\"}}}}",
     "services.b.haproxy.backend_name: \"x\" is used by services.a too"},
    {"{\"services\":{\"a\":{" DOCKER_DISC ",\"haproxy\":{\"port\":1}},"
     "\"b\":{" DOCKER_DISC ",\"haproxy\":{\"port\":2,\"listen\":[\"mode tcp\"],"
     "\"backend_name\":\"a\"}}}}",
     "services.b.haproxy.backend_name: \"a\" is used by services.a too"},
    /* A disabled service does not clash. */
    {"{\"services\":{\"a\":{" DOCKER_DISC ",\"haproxy\":{\"backend_name\":\"x\"}},"
     "\"b\":{" DOCKER_DISC ",\"haproxy\":{\"backend_name\":\"x\",\"disabled\":true}}}}",
     NULL},
};

static void error_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        struct syn_config *cfg = (struct syn_config *)1;
        char err[512] = "";
        int r = syn_config_parse(bad_configs[i].json, &cfg, err, sizeof err);
        if (!bad_configs[i].err) { /* a near miss that must parse */
            if (r != 0) fail_msg("case %zu: %s", i, err);
            syn_config_free(cfg);
            continue;
        }
        if (r != -1 || cfg != NULL || strcmp(err, bad_configs[i].err) != 0)
            fail_msg("case %zu: r=%d\n  json: %s\n  want: %s\n  got:  %s", i, r,
                     bad_configs[i].json, bad_configs[i].err, err);
    }
}

static void digit_string_ports_and_managed(void **state)
{
    (void)state;
    /* A managed haproxy needs no reload_command. */
    struct syn_config *cfg =
        parse_ok("{\"services\":{\"s\":{" DOCKER_DISC ",\"haproxy\":{\"port\":\"8080\"}}},"
                 "\"haproxy\":{\"config_file_path\":\"/c\",\"managed\":true}}");
    assert_int_equal(cfg->services[0].haproxy.port, 8080);
    assert_true(cfg->haproxy.managed);
    assert_null(cfg->haproxy.reload_command);
    syn_config_free(cfg);
}

static void translate_deprecated(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out, *kw;
    } cases[] = {
        {"contimeout 5000", "timeout connect 5000", "timeout connect"},
        {"clitimeout 50000", "timeout client 50000", "timeout client"},
        {"srvtimeout 50000", "timeout server 50000", "timeout server"},
        {"  \tcontimeout  5s", "  \ttimeout connect  5s", "timeout connect"},
        {"srvtimeout", "timeout server", "timeout server"},
        {"timeout contimeout 5s", "timeout connect 5s", "timeout connect"},
        {"timeout   clitimeout 5s", "timeout client 5s", "timeout client"},
        {"timeout srvtimeout\t1m", "timeout server\t1m", "timeout server"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        const char *kw = NULL;
        assert_int_equal(syn_translate_deprecated_line(cases[i].in, &out, &kw), 1);
        assert_string_equal(out, cases[i].out);
        assert_string_equal(kw, cases[i].kw);
        free(out);
    }
    static const char *const unchanged[] = {"timeout connect 5s", "contimeouts 5",
                                            "mode http",          "",
                                            "option contimeout",  "timeout clitimeoutx 1"};
    for (size_t i = 0; i < sizeof unchanged / sizeof unchanged[0]; i++) {
        char *out = (char *)1;
        assert_int_equal(syn_translate_deprecated_line(unchanged[i], &out, NULL), 0);
        assert_null(out);
    }
}

static void translate_everywhere(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok(HAP("\"port\":1,\"frontend\":[\"clitimeout 1s\"],"
                                          "\"backend\":[\"contimeout 2s\"],"
                                          "\"listen\":[\"srvtimeout 3s\"],"
                                          "\"shared_frontend\":\"clitimeout 4s\""));
    const struct syn_service_haproxy *h = &cfg->services[0].haproxy;
    assert_string_equal(h->frontend.v[0], "timeout client 1s");
    assert_string_equal(h->backend.v[0], "timeout connect 2s");
    assert_string_equal(h->listen.v[0], "timeout server 3s");
    assert_string_equal(h->shared_frontend.v[0], "timeout client 4s");
    assert_true(has_warning(cfg, "services.s.haproxy.listen[0]: \"srvtimeout 3s\" is refused by "
                                 "HAProxy >= 2.1; using \"timeout server 3s\" instead"));
    assert_true(has_warning(cfg, "services.s.haproxy.shared_frontend: \"clitimeout 4s\" is "
                                 "refused by HAProxy >= 2.1; using \"timeout client 4s\" instead"));
    syn_config_free(cfg);
    cfg = parse_ok(TOPW("\"global\":[\"timeout contimeout 1s\"]"));
    assert_string_equal(cfg->haproxy.global.v[0], "timeout connect 1s");
    syn_config_free(cfg);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void rm_tree(const char *dir)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void conf_dir_merge(void **state)
{
    (void)state;
    char root[] = "/tmp/smartdock-synconf-XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[1024], main_path[1024], text[2048];
    snprintf(dir, sizeof dir, "%s/services", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(text, sizeof text,
             "{\"service_conf_dir\":\"%s\",\"services\":{\"a\":{" DOCKER_DISC
             ",\"haproxy\":{\"port\":1}},\"keep\":{" DOCKER_DISC "}}}",
             dir);
    write_file(root, "synapse.json", text);
    snprintf(main_path, sizeof main_path, "%s/synapse.json", root);
    write_file(dir, "b.json", "{" DOCKER_DISC ",\"haproxy\":{\"port\":2}}");
    write_file(dir, "a.json", "{" DOCKER_DISC ",\"haproxy\":{\"port\":3}}");
    write_file(dir, "c.yaml",
               "# Synapse's YAML form\ndiscovery:\n  method: zookeeper\n  hosts: 127.0.0.1:2181\n"
               "  path: /svc/c\nhaproxy:\n  port: \"4\"\n");
    write_file(dir, "d.yml",
               "discovery: {method: base}\ndefault_servers:\n"
               "  - {host: 127.0.0.1, port: 5}\n");
    write_file(dir, ".hidden.json", "not json");
    write_file(dir, "README", "ignored");

    struct syn_config *cfg = NULL;
    char err[512] = "";
    int r = syn_config_load(main_path, &cfg, err, sizeof err);
    if (r != 0) fail_msg("%s", err);
    assert_int_equal(cfg->nservices, 5);
    assert_string_equal(cfg->services[0].name, "a");
    assert_int_equal(cfg->services[0].haproxy.port, 3); /* the file replaced it */
    assert_string_equal(cfg->services[1].name, "keep");
    assert_string_equal(cfg->services[2].name, "b");
    assert_int_equal(cfg->services[2].haproxy.port, 2);
    assert_string_equal(cfg->services[3].name, "c");
    assert_int_equal(cfg->services[3].haproxy.port, 4);
    assert_string_equal(cfg->services[3].discovery.hosts.v[0], "127.0.0.1:2181");
    assert_string_equal(cfg->services[4].name, "d");
    assert_int_equal(cfg->services[4].default_servers[0].port, 5);
    char w[1200];
    snprintf(w, sizeof w, "services.a is defined again in %s/a.json; the later one is used", dir);
    assert_true(has_warning(cfg, w));
    syn_config_free(cfg);

    /* An error in a service file names the file and the JSON path. */
    write_file(dir, "b.json", "{" DOCKER_DISC ",\"haproxy\":{\"port\":\"abc\"}}");
    assert_int_equal(syn_config_load(main_path, &cfg, err, sizeof err), -1);
    assert_null(cfg);
    snprintf(w, sizeof w,
             "%s/b.json: services.b.haproxy.port: expected an integer 1..65535, got \"abc\"", dir);
    assert_string_equal(err, w);

    write_file(dir, "b.json", "{oops");
    assert_int_equal(syn_config_load(main_path, &cfg, err, sizeof err), -1);
    snprintf(w, sizeof w, "%s/b.json: malformed JSON at line 1, column ", dir);
    assert_memory_equal(err, w, strlen(w));

    /* A YAML service file's error gives its line once. */
    write_file(dir, "b.json", "{" DOCKER_DISC "}");
    write_file(dir, "c.yaml", "discovery:\n  method: base\nhaproxy:\n  port: abc\n");
    assert_int_equal(syn_config_load(main_path, &cfg, err, sizeof err), -1);
    snprintf(w, sizeof w,
             "%s/c.yaml:4: services.c.haproxy.port: expected an integer 1..65535, got \"abc\"",
             dir);
    assert_string_equal(err, w);
    write_file(dir, "c.yaml", "discovery: {method: base}\n");

    write_file(dir, "b.json", "{}");
    assert_int_equal(syn_config_load(main_path, &cfg, err, sizeof err), -1);
    snprintf(w, sizeof w,
             "%s/b.json: services.b.discovery: missing (every service needs a discovery method)",
             dir);
    assert_string_equal(err, w);

    rm_tree(dir);
    assert_int_equal(syn_config_load(main_path, &cfg, err, sizeof err), -1);
    snprintf(w, sizeof w, "service_conf_dir: cannot open \"%s\": No such file or directory", dir);
    assert_string_equal(err, w);

    rm_tree(root);
    assert_int_equal(syn_config_load(main_path, &cfg, err, sizeof err), -1);
    snprintf(w, sizeof w, "%s: cannot open: No such file or directory", main_path);
    assert_string_equal(err, w);
}

/* The YAML form of Synapse's README: comments, anchors and merge keys, a
 * folded string, hosts as one string, numbers as strings. */
static const char yaml_main[] = "# Synapse's README style\n"
                                "services:\n"
                                "  web:\n"
                                "    default_servers: &defaults\n"
                                "      - {name: default1, host: localhost, port: 8423}\n"
                                "    discovery:\n"
                                "      method: zookeeper\n"
                                "      path: /nerve/services/web\n"
                                "      hosts: \"127.0.0.1:2181,127.0.0.2:2181/chroot\"\n"
                                "      decode: {method: nerve}\n"
                                "      retry_policy: {max_attempts: 3}\n"
                                "      generator_config_path: disabled\n"
                                "    haproxy: &hp\n"
                                "      port: 3213\n"
                                "      server_options: >-\n"
                                "        check inter 2s\n"
                                "        rise 3 fall 2\n"
                                "      listen:\n"
                                "        - mode http\n"
                                "    file_output: {disabled: true}\n"
                                "  api:\n"
                                "    default_servers: *defaults\n"
                                "    discovery: {method: base}\n"
                                "    haproxy:\n"
                                "      <<: *hp\n"
                                "      port: \"3214\"\n"
                                "haproxy:\n"
                                "  reload_command: \"service haproxy reload\"\n"
                                "  config_file_path: /etc/haproxy/haproxy.cfg\n"
                                "  restart_interval: \"5\"\n"
                                "  global: [daemon]\n"
                                "  defaults: [mode http]\n";

static void yaml_config(void **state)
{
    (void)state;
    struct syn_config *cfg = parse_ok(yaml_main);
    assert_int_equal(cfg->nservices, 2);
    const struct syn_service *web = &cfg->services[0], *api = &cfg->services[1];
    assert_string_equal(web->name, "web");
    assert_int_equal(web->discovery.hosts.n, 2);
    assert_string_equal(web->discovery.hosts.v[0], "127.0.0.1:2181");
    assert_string_equal(web->discovery.hosts.v[1], "127.0.0.2:2181");
    assert_string_equal(web->discovery.zk_chroot, "/chroot");
    assert_string_equal(web->haproxy.server_options, "check inter 2s rise 3 fall 2");
    assert_true(web->file_output_disabled);
    assert_false(api->file_output_disabled);
    assert_int_equal(api->haproxy.port, 3214);
    assert_string_equal(api->haproxy.server_options, "check inter 2s rise 3 fall 2");
    assert_int_equal(api->ndefault_servers, 1);
    assert_string_equal(api->default_servers[0].name, "default1");
    assert_true(cfg->haproxy.restart_interval == 5.0);
    /* Every Synapse key smartdock does not act on: one warning, saying what instead. */
    /* decode and generator_config_path are acted on: no warning. */
    assert_false(has_warning_starting(cfg, "config:10: services.web.discovery.decode"));
    assert_int_equal(web->discovery.decode, SYN_DECODE_NERVE);
    assert_true(web->discovery.generator_config_disabled);
    assert_true(has_warning_starting(cfg, "config:11: services.web.discovery.retry_policy: "));
    syn_config_free(cfg);
}

static void yaml_errors(void **state)
{
    (void)state;
    static const struct bad yaml_bad[] = {
        {"services:\n  web:\n    discovery: {method: base}\n    haproxy:\n      port: abc\n",
         "config:5: services.web.haproxy.port: expected an integer 1..65535, got \"abc\""},
        {"services:\n  web:\n    discovery: {method: base}\n    haproxy:\n      port: 80\n"
         "      disabled: \"yes\"\n",
         "config:6: services.web.haproxy.disabled: expected true or false, got \"yes\""},
        {"services:\n  web: [1\n", "config: line 3: "},
        {"haproxy:\n  global: [\"a\\0b\"]\n", "config: line 2: a string holds a NUL character"},
        {"services:\n  web:\n    discovery: *nothing\n", "config: line 3: unknown alias"},
        {"- 1\n", "config:1: (top level): expected an object, got [1]"},
    };
    for (size_t i = 0; i < sizeof yaml_bad / sizeof yaml_bad[0]; i++) {
        struct syn_config *cfg = NULL;
        char err[512] = "";
        int r = syn_config_parse(yaml_bad[i].json, &cfg, err, sizeof err);
        if (r != -1 || strncmp(err, yaml_bad[i].err, strlen(yaml_bad[i].err)) != 0)
            fail_msg("case %zu: r=%d\n  want: %s\n  got:  %s", i, r, yaml_bad[i].err, err);
    }
}

/* The file named in a YAML main file's errors is the path it was read from. */
static void yaml_main_file(void **state)
{
    (void)state;
    char root[] = "/tmp/smartdock-synyaml-XXXXXX";
    assert_non_null(mkdtemp(root));
    write_file(root, "synapse.conf.yaml",
               "haproxy:\n  do_writes: false\n  do_reloads: false\nservices:\n  web:\n"
               "    discovery:\n      method: base\n    haproxy:\n      port: abc\n");
    char path[1100], want[1400], err[512] = "";
    snprintf(path, sizeof path, "%s/synapse.conf.yaml", root);
    struct syn_config *cfg = NULL;
    assert_int_equal(syn_config_load(path, &cfg, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "%s:9: services.web.haproxy.port: expected an integer 1..65535, got \"abc\"", path);
    assert_string_equal(err, want);
    rm_tree(root);
}

static void etcd_auth_and_tls_keys(void **state)
{
    (void)state;
    struct syn_config *cfg =
        parse_ok("{\"services\":{\"web\":{\"discovery\":{\"method\":\"etcd\","
                 "\"endpoints\":[\"https://127.0.0.1:2379\"],\"path\":\"/smartdock/services/web/\","
                 "\"username\":\"root\",\"password\":\"pw\",\"ca_file\":\"/ca.pem\","
                 "\"cert_file\":\"/c.pem\",\"key_file\":\"/k.pem\"},\"haproxy\":{}}}}");
    assert_int_equal(0, cfg->warnings.n);
    const struct syn_discovery *d = &cfg->services[0].discovery;
    assert_string_equal(d->etcd_username, "root");
    assert_string_equal(d->etcd_password, "pw");
    assert_string_equal(d->etcd_ca_file, "/ca.pem");
    assert_string_equal(d->etcd_cert_file, "/c.pem");
    assert_string_equal(d->etcd_key_file, "/k.pem");
    syn_config_free(cfg);

    struct syn_config *bad = NULL;
    char err[256];
    assert_int_equal(-1, syn_config_parse("{\"services\":{\"web\":{\"discovery\":{\"method\":"
                                          "\"etcd\",\"endpoints\":[\"http://127.0.0.1:2379\"],"
                                          "\"path\":\"/x/\",\"username\":5},\"haproxy\":{}}}}",
                                          &bad, err, sizeof err));
    assert_string_equal("services.web.discovery.username: expected a non-empty string without "
                        "control characters, got 5",
                        err);
}

/* A reload keeps a service whose fingerprint is the same. */
static void fingerprints(void **state)
{
    (void)state;
    const char *a = "{\"services\":{\"web\":{\"discovery\":{\"method\":\"base\"},"
                    "\"haproxy\":{\"port\":3000}},\"api\":{\"discovery\":{\"method\":"
                    "\"base\"},\"haproxy\":{\"port\":3001}}}}";
    const char *b = "{\"services\":{\"api\":{\"discovery\":{\"method\":\"base\"},"
                    "\"haproxy\":{\"port\":3002}},\"web\":{ \"discovery\": {\"method\":"
                    "\"base\"}, \"haproxy\":{\"port\":3000}}}}";
    struct syn_config *x = parse_ok(a), *y = parse_ok(b);
    const struct syn_service *xw = syn_config_service(x, "web"), *yw = syn_config_service(y, "web");
    const struct syn_service *xa = syn_config_service(x, "api"), *ya = syn_config_service(y, "api");
    assert_string_equal(xw->fingerprint, yw->fingerprint); /* whitespace and order of services */
    assert_string_not_equal(xa->fingerprint, ya->fingerprint);
    syn_config_free(x);
    syn_config_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(article_config),
        cmocka_unit_test(fingerprints),
        cmocka_unit_test(etcd_auth_and_tls_keys),
        cmocka_unit_test(yaml_config),
        cmocka_unit_test(yaml_errors),
        cmocka_unit_test(yaml_main_file),
        cmocka_unit_test(defaults_without_haproxy),
        cmocka_unit_test(all_keys),
        cmocka_unit_test(single_socket_path),
        cmocka_unit_test(unknown_keys_warn),
        cmocka_unit_test(synapse_render_keys),
        cmocka_unit_test(error_messages),
        cmocka_unit_test(digit_string_ports_and_managed),
        cmocka_unit_test(translate_deprecated),
        cmocka_unit_test(translate_everywhere),
        cmocka_unit_test(conf_dir_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
