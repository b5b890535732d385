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

/* Issue 11: options labels pass the allow-list; the problem names the word. */
static void refused_option_words(void **state)
{
    (void)state;
    const char *words[] = {"disabled",  "cookie",         "track",        "source",    "usesrc",
                           "interface", "namespace",      "sni",          "crt",       "ca-file",
                           "crl-file",  "redir",          "addr",         "init-addr", "resolvers",
                           "id",        "on-marked-down", "on-marked-up", "ssl"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char patch[256], want[512];
        snprintf(patch, sizeof patch,
                 "{'Config':{'Labels':{'smartdock.haproxy_server_options':'check %s x'}}}",
                 words[i]);
        struct result r;
        run(&r, NULL, patch);
        assert_int_equal(r.regs.n, 1);
        /* the config's options stand */
        assert_string_equal(r.regs.v[0].backend.haproxy_server_options, "check inter 1s");
        assert_int_equal(r.nproblems, 1);
        snprintf(want, sizeof want,
                 WHO ": label smartdock.haproxy_server_options=check %s x: \"%s\"", words[i],
                 words[i]);
        if (strncmp(r.problems.v[0], want, strlen(want)) != 0)
            fail_msg("problem \"%s\", want it to start \"%s\"", r.problems.v[0], want);
        done(&r);
    }
    assert_one(NULL, "{'Config':{'Labels':{'smartdock.haproxy_server_options':'check inter 2x'}}}",
               "nodesrv", 18000,
               WHO ": label smartdock.haproxy_server_options=check inter 2x: \"2x\": inter takes a "
                   "duration of at least 1ms and under 24d (units us, ms, s, m, h, d); ignored");
}

/* Issue 11: label_registration any | unconfigured (default) | off. */
static void label_registration_modes(void **state)
{
    (void)state;
    const char *other_image =
        "{'Config':{'Image':'evil/app','Labels':{'smartdock.service':'nodesrv',"
        "'smartdock.port':'8000'}}}";
    struct result r;
    run(&r, NULL, other_image);
    assert_int_equal(r.regs.n, 0);
    assert_int_equal(r.nproblems, 1);
    assert_string_equal(r.problems.v[0],
                        "container 3f2a1b2c3d4e (web-1): label smartdock.service=nodesrv: the "
                        "config defines this service and the container does not match it "
                        "(label_registration \"unconfigured\"); ignored");
    done(&r);
    assert_one("{'label_registration':'any'}", other_image, "nodesrv", 18000, NULL);
    /* a service the config does not define */
    assert_one(NULL, "{'Config':{'Image':'evil/app','Labels':{'smartdock.service':'web'}}}", "web",
               18000, NULL);
    /* the configured image may still use the label (it merges into the config's match) */
    assert_one(NULL, "{'Config':{'Labels':{'smartdock.service':'nodesrv'}}}", "nodesrv", 18000,
               NULL);

    run(&r, "{'label_registration':'off'}",
        "{'Config':{'Image':'evil/app','Labels':{'smartdock.service':'web'}}}");
    assert_int_equal(r.regs.n, 0);
    assert_int_equal(r.nproblems, 1);
    assert_string_equal(r.problems.v[0], WHO ": label smartdock.service=web: label_registration is "
                                           "\"off\"; ignored");
    done(&r);
}

/* Issue 11: at most 64 smartdock.label.* labels per registration. */
static void label_bound(void **state)
{
    (void)state;
    char patch[8192];
    size_t n = (size_t)snprintf(patch, sizeof patch, "{'Config':{'Labels':{");
    for (int i = 0; i < BACKEND_MAX_LABELS + 3; i++)
        n += (size_t)snprintf(patch + n, sizeof patch - n, "%s'smartdock.label.k%03d':'v'",
                              i ? "," : "", i);
    snprintf(patch + n, sizeof patch - n, "}}}");
    struct result r;
    run(&r, NULL, patch);
    assert_int_equal(r.regs.n, 1);
    assert_int_equal(r.regs.v[0].backend.nlabels, BACKEND_MAX_LABELS);
    assert_int_equal(r.nproblems, 1);
    assert_non_null(strstr(r.problems.v[0], "more than 64 smartdock.label.* labels"));
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
    char *s = match_instance_name("::1", 8000, ID, false);
    assert_string_equal(s, "__1_8000_3f2a1b2c3d4e");
    free(s);
    s = match_instance_name("fe80::1%eth0", 80, ID, false);
    assert_string_equal(s, "fe80__1_eth0_80_3f2a1b2c3d4e");
    free(s);
    s = match_instance_name("docker host!.example", 443, "abc", false);
    assert_string_equal(s, "docker_host_.example_443_abc");
    free(s);
    s = match_instance_name("h", 1, NULL, false);
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

/* ---- gliderlabs/registrator's conventions ----------------------------- */

#define ZERO_CONFIG "{'explicit':false,'services':null}"
#define EXPLICIT "{'services':null}"

/* match_container on a fixture with cfg, into r (nproblems counted). */
static void run_fixture(struct result *r, const struct reg_config *cfg, const char *name,
                        const char *patch)
{
    struct docker_container c;
    container_fixture(&c, name, patch);
    r->problems = (struct strlist){0};
    assert_int_equal(0, match_container(cfg, &c, &r->regs, &r->problems));
    r->nproblems = r->problems.n;
    docker_container_clear(&c);
}

static const struct registration *find_reg(const struct result *r, const char *service)
{
    for (size_t i = 0; i < r->regs.n; i++)
        if (!strcmp(r->regs.v[i].service, service)) return &r->regs.v[i];
    fail_msg("no registration of %s", service);
    return NULL;
}

/* services.md, "Single service with defaults" and "with metadata". */
static void registrator_single_service(void **state)
{
    (void)state;
    const char *redis = "{'Name':'/redis.0','Config':{'Image':'progrium/redis',"
                        "'ExposedPorts':{'6379/tcp':{}}},'NetworkSettings':{'Ports':"
                        "{'8000/tcp':null,'6379/tcp':[{'HostIp':'0.0.0.0','HostPort':'10000'}]}}}";
    assert_one(ZERO_CONFIG, redis, "redis", 10000, NULL);
    assert_nothing(EXPLICIT, redis); /* -explicit: no SERVICE_NAME, nothing */

    const char *meta =
        "{'Name':'/redis.0','Config':{'Image':'progrium/redis',"
        "'Env':['SERVICE_NAME=db','SERVICE_TAGS=master,backups','SERVICE_REGION=us2']},"
        "'NetworkSettings':{'Ports':{'8000/tcp':null,"
        "'6379/tcp':[{'HostIp':'0.0.0.0','HostPort':'10000'}]}}}";
    struct result r;
    run(&r, EXPLICIT, meta);
    assert_int_equal(1, r.regs.n);
    const struct backend *b = &r.regs.v[0].backend;
    assert_string_equal("db", r.regs.v[0].service);
    assert_string_equal("127.0.0.2", b->host);
    assert_int_equal(10000, b->port);
    assert_string_equal("master,backups", backend_label(b, "tags"));
    assert_string_equal("us2", backend_label(b, "region"));
    assert_int_equal(2, b->nlabels);
    done(&r);

    /* The same as labels ("Using labels to define metadata"). */
    run(&r, EXPLICIT,
        "{'Config':{'Image':'dockerfile/redis','Labels':{'SERVICE_NAME':'db',"
        "'SERVICE_TAGS':'master,backups','SERVICE_REGION':'us2'}},'NetworkSettings':{'Ports':"
        "{'8000/tcp':null,'6379/tcp':[{'HostIp':'0.0.0.0','HostPort':'10000'}]}}}");
    assert_int_equal(1, r.regs.n);
    assert_string_equal("db", r.regs.v[0].service);
    assert_string_equal("us2", backend_label(&r.regs.v[0].backend, "region"));
    done(&r);
}

/* services.md, "Multiple services with defaults" and "with metadata". */
static void registrator_multiple_services(void **state)
{
    (void)state;
    const char *ports = "'NetworkSettings':{'Ports':{'8000/tcp':null,"
                        "'443/tcp':[{'HostIp':'0.0.0.0','HostPort':'4443'}],"
                        "'80/tcp':[{'HostIp':'0.0.0.0','HostPort':'8000'}]}}";
    char patch[1024];
    struct result r;
    snprintf(patch, sizeof patch, "{'Name':'/nginx.0','Config':{'Image':'progrium/nginx'},%s}",
             ports);
    run(&r, ZERO_CONFIG, patch);
    assert_int_equal(2, r.regs.n);
    assert_int_equal(4443, find_reg(&r, "nginx-443")->backend.port);
    assert_int_equal(8000, find_reg(&r, "nginx-80")->backend.port);
    done(&r);
    assert_nothing(EXPLICIT, patch);

    snprintf(patch, sizeof patch,
             "{'Name':'/nginx.0','Config':{'Image':'progrium/nginx','Env':["
             "'SERVICE_443_NAME=https','SERVICE_443_ID=https.12345','SERVICE_443_SNI=enabled',"
             "'SERVICE_80_NAME=http','SERVICE_TAGS=www']},%s}",
             ports);
    for (int explicit_only = 0; explicit_only < 2; explicit_only++) {
        run(&r, explicit_only ? EXPLICIT : ZERO_CONFIG, patch);
        assert_int_equal(2, r.regs.n);
        const struct registration *https = find_reg(&r, "https"), *http = find_reg(&r, "http");
        assert_int_equal(4443, https->backend.port);
        assert_string_equal("https.12345", https->backend.name);
        assert_string_equal("127.0.0.2_4443_3f2a1b2c3d4e", https->instance);
        assert_string_equal("enabled", backend_label(&https->backend, "sni"));
        assert_string_equal("www", backend_label(&https->backend, "tags"));
        assert_int_equal(8000, http->backend.port);
        assert_string_equal(http->instance, http->backend.name);
        assert_string_equal("www", backend_label(&http->backend, "tags"));
        assert_null(backend_label(&http->backend, "sni"));
        done(&r);
    }

    /* SERVICE_NAME with several ports still gets "-<port>" (services.md). */
    snprintf(patch, sizeof patch,
             "{'Config':{'Image':'progrium/nginx','Env':['SERVICE_NAME=web',"
             "'SERVICE_80_IGNORE=1']},%s}",
             ports);
    run(&r, EXPLICIT, patch);
    assert_int_equal(1, r.regs.n);
    assert_string_equal("web-443", r.regs.v[0].service);
    done(&r);
}

static void registrator_default_names(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"progrium/redis", "redis"},
        {"redis", "redis"},
        {"redis:7", "redis"},
        {"reg.example:5000/infra/nginx:1.25", "nginx"},
        {"app@sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d", "app"},
        {"docker.io/library/busybox:1.36", "busybox"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = match_default_name(cases[i][0]);
        assert_string_equal(cases[i][1], n);
        free(n);
    }
    assert_null(match_default_name(NULL));
    assert_null(match_default_name(""));
    assert_null(match_default_name("reg.example/"));
}

/* --net=host: every exposed port counts as published (bridge/bridge.go);
 * udp included, said so in the payload. */
static void registrator_host_network_and_udp(void **state)
{
    (void)state;
    struct result r;
    struct reg_config *cfg = config(ZERO_CONFIG);
    run_fixture(&r, cfg, "inspect_host.json", NULL);
    assert_int_equal(3, r.regs.n);
    const struct registration *dns = find_reg(&r, "nginx-53");
    assert_int_equal(53, dns->backend.port);
    assert_non_null(strstr(dns->instance, "_udp"));
    assert_string_equal("udp", backend_label(&dns->backend, "protocol"));
    assert_string_equal("udp", backend_label(&dns->backend, "tags"));
    assert_int_equal(80, find_reg(&r, "nginx-80")->backend.port);
    assert_null(backend_label(&find_reg(&r, "nginx-8443")->backend, "protocol"));
    done(&r);
    reg_config_free(cfg);

    /* A published udp port beside a tcp one of the same number. */
    run(&r, "{'explicit':false,'services':null,'tags':'dc1'}",
        "{'Config':{'Image':'coredns'},'NetworkSettings':{'Ports':{'8000/tcp':null,"
        "'53/udp':[{'HostIp':'0.0.0.0','HostPort':'5353'}],"
        "'53/tcp':[{'HostIp':'0.0.0.0','HostPort':'5353'}]}}}");
    assert_int_equal(2, r.regs.n);
    assert_string_equal("coredns-53", r.regs.v[0].service);
    assert_string_equal("coredns-53", r.regs.v[1].service);
    assert_string_not_equal(r.regs.v[0].instance, r.regs.v[1].instance);
    const struct registration *udp = r.regs.v[0].backend.nlabels == 2 ? &r.regs.v[0] : &r.regs.v[1];
    assert_string_equal("dc1,udp", backend_label(&udp->backend, "tags"));
    done(&r);
}

/* The smartdock.* labels and the config win over SERVICE_* for the same
 * port; SERVICE_* fills in what they leave open. */
static void registrator_precedence_with_smartdock(void **state)
{
    (void)state;
    struct result r;
    run(&r, ZERO_CONFIG,
        "{'Config':{'Labels':{'smartdock.service':'web','SERVICE_NAME':'db',"
        "'SERVICE_TAGS':'from-service','SERVICE_ZONE':'a','smartdock.label.zone':'b'}}}");
    assert_int_equal(1, r.regs.n);
    assert_string_equal("web", r.regs.v[0].service);
    assert_string_equal("from-service", backend_label(&r.regs.v[0].backend, "tags"));
    assert_string_equal("b", backend_label(&r.regs.v[0].backend, "zone"));
    done(&r);
    run(&r, ZERO_CONFIG,
        "{'Config':{'Labels':{'smartdock.service':'web','smartdock.tags':'mine',"
        "'SERVICE_TAGS':'theirs'}}}");
    assert_string_equal("mine", backend_label(&r.regs.v[0].backend, "tags"));
    done(&r);
    /* A config service claims its port too. */
    assert_one("{'explicit':false}", "{'Config':{'Env':['SERVICE_NAME=db']}}", "nodesrv", 18000,
               NULL);
    /* SERVICE_IGNORE drops it, unless smartdock.ignore says otherwise. */
    assert_nothing(NULL, "{'Config':{'Env':['SERVICE_IGNORE=true']}}");
    assert_nothing(NULL, "{'Config':{'Labels':{'SERVICE_8000_IGNORE':'yes'}}}");
    assert_one(NULL,
               "{'Config':{'Env':['SERVICE_IGNORE=true'],'Labels':{'smartdock.ignore':"
               "'false'}}}",
               "nodesrv", 18000, NULL);
    /* A name that cannot be a path component is refused, named. */
    run(&r, EXPLICIT, "{'Config':{'Env':['SERVICE_NAME=a/b']}}");
    assert_int_equal(0, r.regs.n);
    assert_int_equal(1, r.nproblems);
    assert_string_equal(WHO ": port 8000/tcp: service name \"a/b\" is not [A-Za-z0-9._-] (or is "
                            "\".\" or \"..\"); not registered",
                        r.problems.v[0]);
    done(&r);
    run(&r, EXPLICIT, "{'Config':{'Env':['SERVICE_NAME=db','SERVICE_NOTE=a\nb']}}");
    assert_int_equal(1, r.regs.n);
    assert_null(backend_label(&r.regs.v[0].backend, "note"));
    assert_string_equal(WHO ": label SERVICE_note=a\\nb: control characters; left out",
                        r.problems.v[0]);
    done(&r);
}

/* -internal on a recorded reply with several networks; SERVICE_NETWORK
 * picks one. No Docker network is created for this. */
static void registrator_internal(void **state)
{
    (void)state;
    struct result r;
    struct reg_config *cfg = config("{'explicit':false,'services':null,'internal':true}");
    run_fixture(&r, cfg, "inspect_networks.json", NULL);
    assert_int_equal(3, r.regs.n); /* 80, 443 and the unpublished 53/udp */
    const struct registration *https = find_reg(&r, "https");
    assert_string_equal("127.0.201.7", https->backend.host);
    assert_int_equal(443, https->backend.port);
    assert_string_equal("127.0.201.7_443_7c1d2e3f4a5b", https->instance);
    assert_int_equal(80, find_reg(&r, "http")->backend.port);
    assert_int_equal(53, find_reg(&r, "nginx-53")->backend.port);
    done(&r);

    run_fixture(&r, cfg, "inspect_networks.json",
                "{'Config':{'Labels':{'SERVICE_NETWORK':'frontend','SERVICE_53_IGNORE':'1'}}}");
    assert_int_equal(2, r.regs.n);
    assert_string_equal("127.0.202.9", find_reg(&r, "http")->backend.host);
    done(&r);

    run_fixture(&r, cfg, "inspect_networks.json",
                "{'Config':{'Labels':{'SERVICE_443_NETWORK':'gone','SERVICE_53_IGNORE':'1'}}}");
    assert_int_equal(1, r.regs.n);
    assert_int_equal(1, r.nproblems);
    assert_string_equal("container 7c1d2e3f4a5b (nginx.0): service https: -internal: not "
                        "attached to network gone (SERVICE_NETWORK)",
                        r.problems.v[0]);
    done(&r);

    /* Host network: the host's address, the exposed port. */
    run_fixture(&r, cfg, "inspect_host.json", NULL);
    assert_int_equal(3, r.regs.n);
    assert_string_equal("127.0.0.2", find_reg(&r, "nginx-8443")->backend.host);
    assert_int_equal(8443, find_reg(&r, "nginx-8443")->backend.port);
    done(&r);
    reg_config_free(cfg);
}

static void registrator_ip_from_label(void **state)
{
    (void)state;
    struct result r;
    const char *cfg = "{'use_ip_from_label':'com.example.ip'}";
    run(&r, cfg, "{'Config':{'Labels':{'com.example.ip':'127.0.0.7/24'}}}");
    assert_int_equal(1, r.regs.n);
    assert_string_equal("127.0.0.7", r.regs.v[0].backend.host);
    assert_int_equal(18000, r.regs.v[0].backend.port);
    assert_string_equal("127.0.0.7_18000_3f2a1b2c3d4e", r.regs.v[0].instance);
    done(&r);
    assert_one(cfg, NULL, "nodesrv", 18000,
               WHO ": service nodesrv: label com.example.ip (-useIpFromLabel) missing; using "
                   "127.0.0.2");
    run(&r, cfg, "{'Config':{'Labels':{'com.example.ip':'not an ip'}}}");
    assert_int_equal(0, r.regs.n);
    assert_string_equal(WHO ": label com.example.ip=not an ip: not an IP address "
                            "(-useIpFromLabel); not registered",
                        r.problems.v[0]);
    done(&r);
}

/* What a reload reports: the registrations that stay, change, come and go. */
static void compare_lists(void **state)
{
    (void)state;
    struct result before, after;
    run(&before, "{'explicit':false,'services':null}",
        "{'Config':{'Env':['SERVICE_9000_NAME=metrics'],'ExposedPorts':{'9000/tcp':{}}},"
        "'NetworkSettings':{'Ports':{'9000/tcp':[{'HostIp':'','HostPort':'19000'}]}}}");
    run(&after, "{'explicit':false,'services':null,'tags':'new'}",
        "{'Config':{'Env':['SERVICE_9000_NAME=metrics','SERVICE_8000_IGNORE=1'],"
        "'ExposedPorts':{'9000/tcp':{},'7000/tcp':{}}},"
        "'NetworkSettings':{'Ports':{'9000/tcp':[{'HostIp':'','HostPort':'19000'}],"
        "'7000/tcp':[{'HostIp':'','HostPort':'17000'}]}}}");
    assert_int_equal(2, before.regs.n); /* nodeapp-8000, metrics */
    assert_int_equal(2, after.regs.n);  /* nodeapp-7000, metrics with a tag */
    struct registration_counts n = {0};
    assert_int_equal(0, registration_list_compare(&before.regs, &after.regs, &n));
    assert_int_equal(1, n.added);
    assert_int_equal(1, n.removed);
    assert_int_equal(1, n.updated);
    assert_int_equal(0, n.unchanged);
    struct registration_counts same = {0};
    struct registration_list copy;
    assert_int_equal(0, registration_list_copy(&copy, &after.regs));
    assert_int_equal(0, registration_list_compare(&copy, &after.regs, &same));
    registration_list_clear(&copy);
    assert_int_equal(2, same.unchanged);
    assert_int_equal(0, same.added + same.removed + same.updated);
    done(&before);
    done(&after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(by_image_and_port),
        cmocka_unit_test(by_labels),
        cmocka_unit_test(non_matching_image),
        cmocka_unit_test(tag_semantics),
        cmocka_unit_test(ignore_label),
        cmocka_unit_test(state_gates),
        cmocka_unit_test(networks),
        cmocka_unit_test(self_registration),
        cmocka_unit_test(fixtures),
        cmocka_unit_test(refused_option_words),
        cmocka_unit_test(label_registration_modes),
        cmocka_unit_test(label_bound),
        cmocka_unit_test(payload_labels),
        cmocka_unit_test(overrides),
        cmocka_unit_test(dedupe_and_order),
        cmocka_unit_test(instance_names),
        cmocka_unit_test(odd_container_name),
        cmocka_unit_test(null_problems),
        cmocka_unit_test(registrator_single_service),
        cmocka_unit_test(registrator_multiple_services),
        cmocka_unit_test(registrator_default_names),
        cmocka_unit_test(registrator_host_network_and_udp),
        cmocka_unit_test(registrator_precedence_with_smartdock),
        cmocka_unit_test(registrator_internal),
        cmocka_unit_test(registrator_ip_from_label),
        cmocka_unit_test(compare_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
