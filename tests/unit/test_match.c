#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

#define ID "3f2a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff"
#define WHO "container 3f2a1b2c3d4e (web-1)"

/* A running container on the bridge network, 8000/tcp published on 18000.
 * Tests change it by merging a JSON patch (objects merge, null deletes). */
static const char BASE_CONTAINER[] =
    "{'Id':'" ID "','Name':'/web-1',"
    "'State':{'Running':true,'Paused':false},"
    "'Config':{'Image':'local/nodeapp:v2','ExposedPorts':{'8000/tcp':{}},'Labels':{}},"
    "'HostConfig':{'NetworkMode':'bridge'},"
    "'NetworkSettings':{'Ports':{'8000/tcp':[{'HostIp':'0.0.0.0','HostPort':'18000'}]}}}";

static const char BASE_CONFIG[] =
    "{'advertise_host':'127.0.0.2','registry':{'hosts':['127.0.0.1:2181']},"
    "'services':{'nodesrv':{'image_name':'local/nodeapp','container_port':8000,'weight':5,"
    "'haproxy_server_options':'check inter 1s','drain_ms':2000}}}";

static cJSON *parse_sq(const char *sq)
{
    char *json = dq(sq);
    cJSON *v = cJSON_Parse(json);
    free(json);
    assert_non_null(v);
    return v;
}

static void merge(cJSON *into, const cJSON *patch)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, patch)
    {
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(into, p->string);
        if (cJSON_IsNull(p)) {
            cJSON_DeleteItemFromObjectCaseSensitive(into, p->string);
        } else if (cJSON_IsObject(p) && cJSON_IsObject(cur)) {
            merge(cur, p);
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(into, p->string);
            cJSON_AddItemToObject(into, p->string, cJSON_Duplicate(p, 1));
        }
    }
}

static void decode_json(const char *json, struct docker_container *c)
{
    char err[512] = "";
    if (docker_container_decode(json, strlen(json), c, err, sizeof err) != 0)
        fail_msg("decode: %s", err);
}

/* base (JSON) with patch (single-quoted JSON, may be NULL) applied, decoded. */
static void container_from(struct docker_container *c, cJSON *base, const char *patch)
{
    if (patch) {
        cJSON *p = parse_sq(patch);
        merge(base, p);
        cJSON_Delete(p);
    }
    char *json = cJSON_PrintUnformatted(base);
    cJSON_Delete(base);
    decode_json(json, c);
    free(json);
}

static void container(struct docker_container *c, const char *patch)
{
    container_from(c, parse_sq(BASE_CONTAINER), patch);
}

/* A fixture of tests/fixtures/docker, patched. */
static void container_fixture(struct docker_container *c, const char *name, const char *patch)
{
    char relative[256];
    snprintf(relative, sizeof relative, "docker/%s", name);
    char *buf = fixture_read(relative, NULL);
    cJSON *base = cJSON_Parse(buf);
    free(buf);
    assert_non_null(base);
    container_from(c, base, patch);
}

/* BASE_CONFIG with patch applied. */
static struct reg_config *config(const char *patch)
{
    cJSON *base = parse_sq(BASE_CONFIG);
    if (patch) {
        cJSON *p = parse_sq(patch);
        merge(base, p);
        cJSON_Delete(p);
    }
    char *json = cJSON_PrintUnformatted(base), err[512] = "";
    cJSON_Delete(base);
    struct reg_config *cfg = NULL;
    if (reg_config_parse(json, &cfg, NULL, err, sizeof err) != 0) fail_msg("config: %s", err);
    free(json);
    return cfg;
}

struct result {
    struct registration_list regs;
    struct strlist problems;
    size_t nproblems;
};

static void run(struct result *r, const char *config_patch, const char *container_patch)
{
    struct reg_config *cfg = config(config_patch);
    struct docker_container c;
    container(&c, container_patch);
    r->problems = (struct strlist){0};
    assert_int_equal(match_container(cfg, &c, &r->regs, &r->problems), 0);
    r->nproblems = r->problems.n;
    docker_container_clear(&c);
    reg_config_free(cfg);
}

static void done(struct result *r)
{
    registration_list_clear(&r->regs);
    strlist_clear(&r->problems);
}

static void assert_nothing(const char *config_patch, const char *container_patch)
{
    struct result r;
    run(&r, config_patch, container_patch);
    assert_int_equal(r.regs.n, 0);
    assert_int_equal(r.nproblems, 0);
    done(&r);
}

/* Exactly one registration of service, published on port; no problems unless problem. */
static void assert_one(const char *config_patch, const char *container_patch, const char *service,
                       int port, const char *problem)
{
    struct result r;
    run(&r, config_patch, container_patch);
    assert_int_equal(r.regs.n, 1);
    assert_string_equal(r.regs.v[0].service, service);
    assert_int_equal(r.regs.v[0].backend.port, port);
    if (problem) {
        assert_int_equal(r.nproblems, 1);
        assert_string_equal(r.problems.v[0], problem);
    } else {
        assert_int_equal(r.nproblems, 0);
    }
    done(&r);
}

static void by_image_and_port(void **state)
{
    (void)state;
    struct result r;
    run(&r, NULL, NULL);
    assert_int_equal(r.nproblems, 0);
    assert_int_equal(r.regs.n, 1);
    const struct registration *g = &r.regs.v[0];
    assert_string_equal(g->service, "nodesrv");
    assert_string_equal(g->instance, "127.0.0.2_18000_3f2a1b2c3d4e");
    assert_int_equal(g->drain_ms, 2000);
    const struct backend *b = &g->backend;
    assert_string_equal(b->host, "127.0.0.2");
    assert_int_equal(b->port, 18000);
    assert_string_equal(b->name, g->instance);
    assert_string_equal(b->service, "nodesrv");
    assert_string_equal(b->container_id, ID);
    assert_int_equal(b->weight, 5);
    assert_string_equal(b->haproxy_server_options, "check inter 1s");
    assert_int_equal(b->nlabels, 0);
    done(&r);
}

static void by_labels(void **state)
{
    (void)state;
    const char *cfg = "{'services':{'nodesrv':{'labels':{'env':'prod','team':'web'}}}}";
    assert_nothing(cfg, NULL);
    assert_nothing(cfg, "{'Config':{'Labels':{'env':'prod'}}}");
    assert_nothing(cfg, "{'Config':{'Labels':{'env':'staging','team':'web'}}}");

    struct result r;
    run(&r, cfg, "{'Config':{'Labels':{'env':'prod','team':'web','other':'x'}}}");
    assert_int_equal(r.regs.n, 1);
    const struct backend *b = &r.regs.v[0].backend;
    /* The filters go into the payload; other container labels do not. */
    assert_int_equal(b->nlabels, 2);
    assert_string_equal(backend_label(b, "env"), "prod");
    assert_string_equal(backend_label(b, "team"), "web");
    done(&r);
}

static void non_matching_image(void **state)
{
    (void)state;
    assert_nothing(NULL, "{'Config':{'Image':'other/app:v2'}}");
    assert_nothing(NULL, "{'Config':{'Image':'local/nodeapp2'}}");
    assert_nothing(NULL, "{'Config':{'Image':null}}");
    /* Started from an image ID: no repository to compare. */
    assert_nothing(NULL, "{'Config':{'Image':'sha256:9c7a54a9a43cca047013b82af109fe963fde787f"
                         "63f9e016fdc3384500c2823d'}}");
}

static void tag_semantics(void **state)
{
    (void)state;
    const char *v2 = "{'services':{'nodesrv':{'image_name':'local/nodeapp:v2'}}}";
    assert_one(v2, NULL, "nodesrv", 18000, NULL);
    assert_nothing(v2, "{'Config':{'Image':'local/nodeapp:v3'}}");
    assert_nothing(v2, "{'Config':{'Image':'local/nodeapp'}}");
    const char *latest = "{'services':{'nodesrv':{'image_name':'local/nodeapp:latest'}}}";
    assert_one(latest, "{'Config':{'Image':'local/nodeapp'}}", "nodesrv", 18000, NULL);
    assert_nothing(latest, NULL);
    /* No tag in the config: any tag of the repository, normalised. */
    const char *busybox = "{'services':{'nodesrv':{'image_name':'docker.io/library/busybox'}}}";
    assert_one(busybox, "{'Config':{'Image':'busybox:1.36'}}", "nodesrv", 18000, NULL);
}

static void ignore_label(void **state)
{
    (void)state;
    const char *values[] = {"true", "1", "yes", "TRUE"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char patch[256];
        snprintf(patch, sizeof patch,
                 "{'Config':{'Labels':{'smartdock.ignore':'%s','smartdock.service':'web'}}}",
                 values[i]);
        assert_nothing(NULL, patch);
    }
    assert_one(NULL, "{'Config':{'Labels':{'smartdock.ignore':'false'}}}", "nodesrv", 18000, NULL);
}

static void state_gates(void **state)
{
    (void)state;
    assert_nothing(NULL, "{'State':{'Running':false}}");
    assert_nothing(NULL, "{'State':{'Paused':true}}");
#define HC(status)                                                                                 \
    "{'Config':{'Healthcheck':{'Test':['CMD','true']}},'State':{'Health':{'Status':'" status "'}}" \
    "}"
    assert_nothing(NULL, HC("starting"));
    assert_nothing(NULL, HC("unhealthy"));
    assert_one(NULL, HC("healthy"), "nodesrv", 18000, NULL);
    /* A healthcheck with no status yet is not healthy; "NONE" disables it. */
    assert_nothing(NULL, "{'Config':{'Healthcheck':{'Test':['CMD','true']}}}");
    assert_one(NULL, "{'Config':{'Healthcheck':{'Test':['NONE']}}}", "nodesrv", 18000, NULL);

    struct docker_container c;
    struct reg_config *cfg = config(NULL);
    struct registration_list l;
    struct strlist problems = {0};
    container_fixture(&c, "inspect_healthcheck.json", NULL); /* "starting" */
    assert_int_equal(match_container(cfg, &c, &l, &problems), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(problems.n, 0);
    strlist_clear(&problems);
    docker_container_clear(&c);
    reg_config_free(cfg);
}

static void networks(void **state)
{
    (void)state;
    /* Bridge: the published port; a binding on advertise_host wins. */
    assert_one(NULL,
               "{'NetworkSettings':{'Ports':{'8000/tcp':[{'HostIp':'127.0.0.9','HostPort':'18001'},"
               "{'HostIp':'127.0.0.2','HostPort':'18002'}]}}}",
               "nodesrv", 18002, NULL);
    /* Host network: the container port is the host's. */
    assert_one(NULL, "{'HostConfig':{'NetworkMode':'host'},'NetworkSettings':{'Ports':{}}}",
               "nodesrv", 8000, NULL);

    struct result r;
    run(&r, NULL, "{'NetworkSettings':{'Ports':{'8000/tcp':null}}}");
    assert_int_equal(r.regs.n, 0);
    assert_int_equal(r.nproblems, 1);
    assert_string_equal(r.problems.v[0], WHO ": service nodesrv: private port 8000/tcp is not "
                                             "published and the container is not on the host "
                                             "network");
    done(&r);

    run(&r, NULL,
        "{'HostConfig':{'NetworkMode':'host'},'Config':{'ExposedPorts':{'8000/tcp':null,"
        "'9000/tcp':{}}},'NetworkSettings':{'Ports':{}}}");
    assert_int_equal(r.regs.n, 0);
    assert_int_equal(r.nproblems, 1);
    assert_string_equal(r.problems.v[0], WHO ": service nodesrv: private port 8000/tcp is not "
                                             "among the ports the container exposes on the host "
                                             "network");
    done(&r);
}

/* The base container, also exposing 8001/tcp published on 18001, with labels. */
#define MULTIPORT(labels)                                                                          \
    "{'Config':{'ExposedPorts':{'8001/tcp':{}},'Labels':{" labels "}},"                            \
    "'NetworkSettings':{'Ports':{'8001/tcp':[{'HostIp':'0.0.0.0','HostPort':'18001'}]}}}"

static void self_registration(void **state)
{
    (void)state;
    const char *none = "{'services':null}";
    /* The only exposed port. */
    assert_one(none, "{'Config':{'Labels':{'smartdock.service':'web'}}}", "web", 18000, NULL);
    /* Several: smartdock.port picks one. */
    assert_one(none, MULTIPORT("'smartdock.service':'web','smartdock.port':'8001'"), "web", 18001,
               NULL);

    struct result r;
    run(&r, none, MULTIPORT("'smartdock.service':'web'"));
    assert_int_equal(r.regs.n, 0);
    assert_int_equal(r.nproblems, 1);
    assert_string_equal(r.problems.v[0], WHO ": label smartdock.service=web needs smartdock.port: "
                                             "it exposes several ports (8000, 8001)");
    done(&r);

    run(&r, none,
        "{'HostConfig':{'NetworkMode':'host'},'NetworkSettings':{'Ports':{}},"
        "'Config':{'ExposedPorts':null,'Labels':{'smartdock.service':'web'}}}");
    assert_int_equal(r.regs.n, 0);
    assert_int_equal(r.nproblems, 1);
    assert_string_equal(r.problems.v[0], WHO ": label smartdock.service=web needs smartdock.port: "
                                             "it exposes no port");
    done(&r);

    /* Host network, nothing exposed, smartdock.port given: that port. */
    assert_one(none,
               "{'HostConfig':{'NetworkMode':'host'},'NetworkSettings':{'Ports':{}},"
               "'Config':{'ExposedPorts':null,'Labels':{'smartdock.service':'web',"
               "'smartdock.port':'9090'}}}",
               "web", 9090, NULL);

    run(&r, none, "{'Config':{'Labels':{'smartdock.service':'web','smartdock.port':'80a'}}}");
    assert_int_equal(r.regs.n, 0);
    assert_string_equal(r.problems.v[0], WHO ": label smartdock.port=80a: expected an integer "
                                             "1..65535; service not registered");
    done(&r);

    run(&r, none, "{'Config':{'Labels':{'smartdock.service':'a/b'}}}");
    assert_int_equal(r.regs.n, 0);
    assert_string_equal(r.problems.v[0], WHO ": label smartdock.service=a/b: not a service name "
                                             "([A-Za-z0-9._-], not \".\" or \"..\"); ignored");
    done(&r);

    /* Label-only services: no config settings, drain 0. */
    run(&r, none, "{'Config':{'Labels':{'smartdock.service':'web'}}}");
    assert_int_equal(r.regs.v[0].drain_ms, 0);
    assert_int_equal(r.regs.v[0].backend.weight, BACKEND_WEIGHT_UNSET);
    assert_null(r.regs.v[0].backend.haproxy_server_options);
    assert_string_equal(r.regs.v[0].instance, "127.0.0.2_18000_3f2a1b2c3d4e");
    done(&r);
}

static void fixtures(void **state)
{
    (void)state;
    struct reg_config *cfg = config("{'services':null}");
    struct docker_container c;
    struct registration_list l;
    struct strlist problems = {0};

    container_fixture(&c, "inspect_bridge.json", NULL);
    assert_int_equal(match_container(cfg, &c, &l, &problems), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].service, "nodesrv");
    assert_int_equal(l.v[0].backend.port, 32768);
    assert_int_equal(l.v[0].backend.weight, 10);
    assert_int_equal(problems.n, 0);
    registration_list_clear(&l);
    strlist_clear(&problems);
    docker_container_clear(&c);

    container_fixture(&c, "inspect_multiport.json", NULL); /* paused */
    assert_int_equal(match_container(cfg, &c, &l, &problems), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(problems.n, 0);
    strlist_clear(&problems);
    docker_container_clear(&c);

    /* smartdock.port=8000, published on 127.0.0.1 only; the "note" label's
     * newline is no concern of ours. */
    container_fixture(&c, "inspect_multiport.json", "{'State':{'Paused':false}}");
    assert_int_equal(match_container(cfg, &c, &l, &problems), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].service, "api");
    assert_int_equal(l.v[0].backend.port, 18000);
    assert_int_equal(problems.n, 0);
    registration_list_clear(&l);
    strlist_clear(&problems);
    docker_container_clear(&c);

    container_fixture(&c, "inspect_host.json", NULL); /* exposes 80 and 8443, no smartdock.port */
    assert_int_equal(match_container(cfg, &c, &l, &problems), 0);
    assert_int_equal(l.n, 0);
    assert_string_equal(problems.v[0], "container 8e0d1c2b3a4f (edge-nginx): label "
                                       "smartdock.service=edge needs smartdock.port: it exposes "
                                       "several ports (80, 8443)");
    assert_int_equal(problems.n, 1);
    registration_list_clear(&l);
    strlist_clear(&problems);
    docker_container_clear(&c);
    reg_config_free(cfg);
}

static void payload_labels(void **state)
{
    (void)state;
    struct result r;
    run(&r, NULL,
        "{'Config':{'Labels':{'smartdock.label.env':'prod\\nx','smartdock.label.zone':'eu-1',"
        "'smartdock.tags':'a,b','smartdock.label.':'x','smartdock.label.ok\\tkey':'v'}}}");
    assert_int_equal(r.regs.n, 1); /* never dropped for a bad label */
    const struct backend *b = &r.regs.v[0].backend;
    assert_int_equal(b->nlabels, 2);
    assert_string_equal(b->labels[0].key, "tags"); /* sorted by key */
    assert_string_equal(b->labels[0].value, "a,b");
    assert_string_equal(b->labels[1].key, "zone");
    assert_string_equal(b->labels[1].value, "eu-1");
    assert_int_equal(r.nproblems, 3);
    assert_string_equal(r.problems.v[0],
                        WHO ": label smartdock.label.env=prod\\nx: control characters; left out");
    assert_string_equal(r.problems.v[1], WHO ": label smartdock.label.=x: empty key; left out");
    assert_string_equal(r.problems.v[2],
                        WHO ": label smartdock.label.ok\\tkey=v: control characters; left out");
    done(&r);

    assert_one(NULL, "{'Config':{'Labels':{'smartdock.tags':'a\\r\\nb'}}}", "nodesrv", 18000,
               WHO ": label smartdock.tags=a\\r\\nb: control characters; left out");

    /* The config's filters win over smartdock.label.* of the same key. */
    run(&r, "{'services':{'nodesrv':{'labels':{'env':'prod'}}}}",
        "{'Config':{'Labels':{'env':'prod','smartdock.label.env':'other'}}}");
    assert_string_equal(backend_label(&r.regs.v[0].backend, "env"), "prod");
    done(&r);
}

static void overrides(void **state)
{
    (void)state;
    struct result r;
    run(&r, NULL,
        "{'Config':{'Labels':{'smartdock.weight':'7','smartdock.drain_ms':'500',"
        "'smartdock.haproxy_server_options':'check inter 5s backup'}}}");
    assert_int_equal(r.nproblems, 0);
    assert_int_equal(r.regs.v[0].backend.weight, 7);
    assert_int_equal(r.regs.v[0].drain_ms, 500);
    assert_string_equal(r.regs.v[0].backend.haproxy_server_options, "check inter 5s backup");
    done(&r);

    /* Bad values: a problem each, the config's values stand. */
    run(&r, NULL,
        "{'Config':{'Labels':{'smartdock.weight':'300','smartdock.drain_ms':'-1',"
        "'smartdock.haproxy_server_options':'check # x'}}}");
    assert_int_equal(r.regs.n, 1);
    assert_int_equal(r.regs.v[0].backend.weight, 5);
    assert_int_equal(r.regs.v[0].drain_ms, 2000);
    assert_string_equal(r.regs.v[0].backend.haproxy_server_options, "check inter 1s");
    assert_int_equal(r.nproblems, 3);
    assert_string_equal(r.problems.v[0],
                        WHO ": label smartdock.weight=300: expected an integer 0..256; ignored");
    assert_string_equal(r.problems.v[1], WHO ": label smartdock.drain_ms=-1: expected an integer "
                                             "0..600000; ignored");
    assert_string_equal(r.problems.v[2], WHO ": label smartdock.haproxy_server_options=check # x: "
                                             "control characters, '#', ';' or '\\' in "
                                             "server options; ignored");
    done(&r);

    assert_one(NULL, "{'Config':{'Labels':{'smartdock.weight':'ten'}}}", "nodesrv", 18000,
               WHO ": label smartdock.weight=ten: expected an integer 0..256; ignored");

    /* An empty options label clears the config's options. */
    run(&r, NULL, "{'Config':{'Labels':{'smartdock.haproxy_server_options':''}}}");
    assert_null(r.regs.v[0].backend.haproxy_server_options);
    done(&r);
}

static void dedupe_and_order(void **state)
{
    (void)state;
    struct result r;
    /* Config and label name the same service: once, with the config's settings. */
    run(&r, NULL, "{'Config':{'Labels':{'smartdock.service':'nodesrv'}}}");
    assert_int_equal(r.regs.n, 1);
    assert_int_equal(r.nproblems, 0);
    assert_int_equal(r.regs.v[0].backend.weight, 5);
    assert_int_equal(r.regs.v[0].drain_ms, 2000);
    done(&r);

    /* The container's own smartdock.port wins over container_port. */
    assert_one(NULL, MULTIPORT("'smartdock.service':'nodesrv','smartdock.port':'8001'"), "nodesrv",
               18001, NULL);
    /* Several exposed ports are fine when the config names one. */
    assert_one(NULL, MULTIPORT("'smartdock.service':'nodesrv'"), "nodesrv", 18000, NULL);

    /* Different names: both, ordered by service name. */
    run(&r,
        "{'services':{'zeta':{'image_name':'local/nodeapp','container_port':8000},"
        "'alpha':{'image_name':'local/nodeapp','container_port':8000}}}",
        "{'Config':{'Labels':{'smartdock.service':'mid'}}}");
    assert_int_equal(r.regs.n, 4);
    assert_string_equal(r.regs.v[0].service, "alpha");
    assert_string_equal(r.regs.v[1].service, "mid");
    assert_string_equal(r.regs.v[2].service, "nodesrv");
    assert_string_equal(r.regs.v[3].service, "zeta");
    done(&r);
}

static void instance_names(void **state)
{
    (void)state;
    char *s = match_instance_name("::1", 8000, ID);
    assert_string_equal(s, "__1_8000_3f2a1b2c3d4e");
    free(s);
    s = match_instance_name("fe80::1%eth0", 80, ID);
    assert_string_equal(s, "fe80__1_eth0_80_3f2a1b2c3d4e");
    free(s);
    s = match_instance_name("docker host!.example", 443, "abc");
    assert_string_equal(s, "docker_host_.example_443_abc");
    free(s);
    s = match_instance_name("h", 1, NULL);
    assert_string_equal(s, "h_1");
    free(s);

    struct result r;
    run(&r, "{'advertise_host':'::1'}", NULL);
    assert_string_equal(r.regs.v[0].instance, "__1_18000_3f2a1b2c3d4e");
    assert_string_equal(r.regs.v[0].backend.name, "__1_18000_3f2a1b2c3d4e");
    assert_string_equal(r.regs.v[0].backend.host, "::1");
    done(&r);
}

/* Names and values go into problems escaped, so each stays one log line. */
static void odd_container_name(void **state)
{
    (void)state;
    struct result r;
    run(&r, NULL, "{'Name':'/we\\nb','NetworkSettings':{'Ports':{'8000/tcp':null}}}");
    assert_int_equal(r.regs.n, 0);
    assert_int_equal(r.nproblems, 1);
    assert_string_equal(r.problems.v[0],
                        "container 3f2a1b2c3d4e (we\\nb): service nodesrv: private port 8000/tcp "
                        "is not published and the container is not on the host network");
    done(&r);
}

static void null_problems(void **state)
{
    (void)state;
    struct reg_config *cfg = config(NULL);
    struct docker_container c;
    struct registration_list l;
    container(&c, "{'Config':{'Labels':{'smartdock.weight':'x'}}}");
    assert_int_equal(match_container(cfg, &c, &l, NULL), 0);
    assert_int_equal(l.n, 1);
    registration_list_clear(&l);
    registration_list_clear(&l); /* idempotent */
    docker_container_clear(&c);
    reg_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(by_image_and_port),  cmocka_unit_test(by_labels),
        cmocka_unit_test(non_matching_image), cmocka_unit_test(tag_semantics),
        cmocka_unit_test(ignore_label),       cmocka_unit_test(state_gates),
        cmocka_unit_test(networks),           cmocka_unit_test(self_registration),
        cmocka_unit_test(fixtures),           cmocka_unit_test(payload_labels),
        cmocka_unit_test(overrides),          cmocka_unit_test(dedupe_and_order),
        cmocka_unit_test(instance_names),     cmocka_unit_test(odd_container_name),
        cmocka_unit_test(null_problems),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
