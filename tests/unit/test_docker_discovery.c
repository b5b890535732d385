#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_discovery_backend.h"
#include "selection.h"

#define ID_BRIDGE "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef"
#define ID_LABELS "d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2"

/* Decodes tests/fixtures/<dir>/<name> into c. */
static void inspect_fixture(const char *dir, const char *name, struct docker_container *c)
{
    char relative[256], err[256];
    size_t n;
    snprintf(relative, sizeof relative, "%s/%s", dir, name);
    char *buf = fixture_read(relative, &n);
    if (docker_container_decode(buf, n, c, err, sizeof err) != 0) fail_msg("%s: %s", relative, err);
    free(buf);
}

static int docker_label_set(struct docker_container *c, const char *key, const char *value)
{
    for (size_t i = 0; i < c->nlabels; i++)
        if (strcmp(c->labels[i].key, key) == 0) {
            free(c->labels[i].value);
            c->labels[i].value = strdup(value);
            return 0;
        }
    struct label *v = realloc(c->labels, (c->nlabels + 1) * sizeof *v);
    if (!v) return -1;
    c->labels = v;
    c->labels[c->nlabels].key = strdup(key);
    c->labels[c->nlabels].value = strdup(value);
    c->nlabels++;
    return 0;
}

static struct syn_discovery discovery(const char *image, int port)
{
    struct syn_discovery d;
    memset(&d, 0, sizeof d);
    d.kind = SYN_DISCOVERY_DOCKER;
    d.image_name = (char *)image;
    d.container_port = port;
    d.check_interval = 15;
    return d;
}

static struct syn_docker_server tcp_server = {
    .name = "dockerhost1", .host = "127.0.0.5", .port = 4243};
static struct syn_docker_server socket_server = {
    .name = "/var/run/docker.sock", .port = 4243, .socket = "/var/run/docker.sock"};

/* The verdict for c, with out cleared on every verdict but BACKEND. */
static enum docker_discovery_verdict verdict(const char *image, int port,
                                             const struct syn_docker_server *srv,
                                             const struct docker_container *c, struct backend *out,
                                             char *why, size_t whylen)
{
    struct syn_discovery d = discovery(image, port);
    why[0] = '\0';
    enum docker_discovery_verdict v = docker_discovery_backend(&d, srv, c, out, why, whylen);
    if (v != DOCKER_DISCOVERY_BACKEND) {
        assert_null(out->host);
        assert_null(out->name);
        assert_null(out->labels);
        assert_true(strlen(why) > 0);
        assert_null(strchr(why, '\n'));
    }
    return v;
}

static void bridge_container(void **state)
{
    struct docker_container c;
    struct backend b;
    char why[256];
    (void)state;
    inspect_fixture("docker", "inspect_bridge.json", &c);

    assert_int_equal(DOCKER_DISCOVERY_BACKEND,
                     verdict("local/nodeapp", 8000, &tcp_server, &c, &b, why, sizeof why));
    assert_string_equal("127.0.0.5", b.host);
    assert_int_equal(32768, b.port); /* the published HostPort, not 8000 */
    assert_string_equal("dockerhost1_3f2a9c1b7d4e", b.name);
    assert_int_equal(BACKEND_WEIGHT_UNSET, b.weight);
    assert_null(b.haproxy_server_options);
    assert_string_equal(ID_BRIDGE, b.source);
    assert_string_equal(ID_BRIDGE, b.container_id);
    assert_int_equal(3, b.nlabels);
    assert_string_equal("nodesrv", backend_label(&b, "smartdock.service"));
    assert_string_equal("web", backend_label(&b, "com.example.team"));
    backend_clear(&b);

    /* A socket-only server: the engine is local. */
    assert_int_equal(DOCKER_DISCOVERY_BACKEND,
                     verdict("local/nodeapp", 8000, &socket_server, &c, &b, why, sizeof why));
    assert_string_equal("127.0.0.1", b.host);
    assert_int_equal(32768, b.port);
    assert_string_equal("_var_run_docker.sock_3f2a9c1b7d4e", b.name);
    backend_clear(&b);

    /* The right image, but the wanted port is not published. */
    assert_int_equal(DOCKER_DISCOVERY_UNUSABLE,
                     verdict("local/nodeapp", 9000, &tcp_server, &c, &b, why, sizeof why));
    assert_string_equal("port 9000/tcp is not published", why);
    docker_container_clear(&c);
}

static void host_network_container(void **state)
{
    struct docker_container c;
    struct backend b;
    char why[256];
    const char *image = "reg.example:5000/infra/nginx";
    (void)state;
    inspect_fixture("docker", "inspect_host.json", &c);
    assert_true(c.host_network);

    /* The container's port is the host's: container_port itself, on the server's host. */
    assert_int_equal(DOCKER_DISCOVERY_BACKEND,
                     verdict(image, 80, &tcp_server, &c, &b, why, sizeof why));
    assert_string_equal("127.0.0.5", b.host);
    assert_int_equal(80, b.port);
    assert_string_equal("dockerhost1_8e0d1c2b3a4f", b.name);
    backend_clear(&b);
    assert_int_equal(DOCKER_DISCOVERY_BACKEND,
                     verdict(image, 8443, &socket_server, &c, &b, why, sizeof why));
    assert_string_equal("127.0.0.1", b.host);
    assert_int_equal(8443, b.port);
    backend_clear(&b);

    /* It declares its ports, and 8080 is not among them. */
    assert_int_equal(DOCKER_DISCOVERY_UNUSABLE,
                     verdict(image, 8080, &tcp_server, &c, &b, why, sizeof why));
    assert_string_equal("host network, and port 8080 is not among its exposed ports", why);

    /* A label names the address of its own the container listens on. */
    assert_int_equal(0, docker_label_set(&c, "smartdock.host", "127.0.0.7"));
    assert_int_equal(DOCKER_DISCOVERY_BACKEND,
                     verdict(image, 80, &tcp_server, &c, &b, why, sizeof why));
    assert_string_equal("127.0.0.7", b.host);
    backend_clear(&b);
    assert_int_equal(0, docker_label_set(&c, "smartdock.host", "127.0.0.7\nbind :1"));
    assert_int_equal(DOCKER_DISCOVERY_UNUSABLE,
                     verdict(image, 80, &tcp_server, &c, &b, why, sizeof why));
    assert_non_null(strstr(why, "label smartdock.host: expected a hostname or IP address"));
    assert_int_equal(0, docker_label_set(&c, "smartdock.host", "127.0.0.5"));

    /* An image with no EXPOSE at all serves whatever port it is told. */
    c.nexposed = 0;
    assert_int_equal(DOCKER_DISCOVERY_BACKEND,
                     verdict(image, 8080, &tcp_server, &c, &b, why, sizeof why));
    assert_int_equal(8080, b.port);
    backend_clear(&b);
    docker_container_clear(&c);
}

static void image_tag_semantics(void **state)
{
    static const struct {
        const char *fixture, *wanted;
        enum docker_discovery_verdict v;
    } cases[] = {
        /* Config.Image "local/nodeapp:v2" */
        {"inspect_bridge.json", "local/nodeapp", DOCKER_DISCOVERY_BACKEND},
        {"inspect_bridge.json", "local/nodeapp:v2", DOCKER_DISCOVERY_BACKEND},
        {"inspect_bridge.json", "docker.io/local/nodeapp:v2", DOCKER_DISCOVERY_BACKEND},
        {"inspect_bridge.json", "local/nodeapp:latest", DOCKER_DISCOVERY_OTHER_IMAGE},
        {"inspect_bridge.json", "local/nodeapp:v1", DOCKER_DISCOVERY_OTHER_IMAGE},
        {"inspect_bridge.json", "nodeapp", DOCKER_DISCOVERY_OTHER_IMAGE},
        {"inspect_bridge.json", "local/node", DOCKER_DISCOVERY_OTHER_IMAGE},
        {"inspect_bridge.json", "other.example/local/nodeapp", DOCKER_DISCOVERY_OTHER_IMAGE},
        /* Config.Image "reg.example:5000/infra/nginx:1.25": the registry port is no tag */
        {"inspect_host.json", "reg.example:5000/infra/nginx", DOCKER_DISCOVERY_BACKEND},
        {"inspect_host.json", "reg.example:5000/infra/nginx:1.25", DOCKER_DISCOVERY_BACKEND},
        {"inspect_host.json", "reg.example/infra/nginx", DOCKER_DISCOVERY_OTHER_IMAGE},
        {"inspect_host.json", "infra/nginx:1.25", DOCKER_DISCOVERY_OTHER_IMAGE},
        /* Config.Image "python:3.12-slim" */
        {"inspect_healthy.json", "python", DOCKER_DISCOVERY_BACKEND},
        {"inspect_healthy.json", "library/python:3.12-slim", DOCKER_DISCOVERY_BACKEND},
        {"inspect_healthy.json", "python:3.12", DOCKER_DISCOVERY_OTHER_IMAGE},
        /* Config.Image "docker.io/library/busybox:1.36" */
        {"inspect_label_newline.json", "busybox", DOCKER_DISCOVERY_BACKEND},
        {"inspect_label_newline.json", "busybox:1.36", DOCKER_DISCOVERY_BACKEND},
        {"inspect_label_newline.json", "index.docker.io/library/busybox", DOCKER_DISCOVERY_BACKEND},
        {"inspect_label_newline.json", "busybox:latest", DOCKER_DISCOVERY_OTHER_IMAGE},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct docker_container c;
        struct backend b;
        char why[256];
        const char *dir = strncmp(cases[i].fixture, "inspect_bridge", 14) == 0 ||
                                  strncmp(cases[i].fixture, "inspect_host", 12) == 0
                              ? "docker"
                              : "docker_discovery";
        int port = strcmp(cases[i].fixture, "inspect_bridge.json") == 0    ? 8000
                   : strcmp(cases[i].fixture, "inspect_host.json") == 0    ? 80
                   : strcmp(cases[i].fixture, "inspect_healthy.json") == 0 ? 8080
                                                                           : 8000;
        inspect_fixture(dir, cases[i].fixture, &c);
        enum docker_discovery_verdict v =
            verdict(cases[i].wanted, port, &tcp_server, &c, &b, why, sizeof why);
        if (v != cases[i].v)
            fail_msg("%s wanting %s: verdict %d (%s), want %d", cases[i].fixture, cases[i].wanted,
                     v, why, cases[i].v);
        backend_clear(&b);
        docker_container_clear(&c);
    }

    /* No Config.Image at all (or a container started from an image ID) matches nothing. */
    struct docker_container c;
    struct backend b;
    char why[256];
    inspect_fixture("docker", "inspect_bridge.json", &c);
    free(c.image);
    c.image = NULL;
    assert_int_equal(DOCKER_DISCOVERY_OTHER_IMAGE,
                     verdict("local/nodeapp", 8000, &tcp_server, &c, &b, why, sizeof why));
    c.image = strdup("sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d");
    assert_int_equal(DOCKER_DISCOVERY_OTHER_IMAGE,
                     verdict("local/nodeapp", 8000, &tcp_server, &c, &b, why, sizeof why));
    docker_container_clear(&c);
}

static void not_running_or_paused(void **state)
{
    struct docker_container c;
    struct backend b;
    char why[256];
    (void)state;
    inspect_fixture("docker_discovery", "inspect_exited.json", &c);
    assert_int_equal(DOCKER_DISCOVERY_NOT_READY,
                     verdict("local/nodeapp", 8000, &tcp_server, &c, &b, why, sizeof why));
    assert_string_equal("not running", why);
    /* Another service's container is not this service's business, running or not. */
    assert_int_equal(DOCKER_DISCOVERY_OTHER_IMAGE,
                     verdict("busybox", 8000, &tcp_server, &c, &b, why, sizeof why));
    docker_container_clear(&c);

    inspect_fixture("docker", "inspect_multiport.json", &c); /* busybox:1.36, paused */
    assert_int_equal(DOCKER_DISCOVERY_NOT_READY,
                     verdict("busybox", 8000, &tcp_server, &c, &b, why, sizeof why));
    assert_string_equal("paused", why);
    docker_container_clear(&c);
}

static void healthcheck(void **state)
{
    struct docker_container c;
    struct backend b;
    char why[256];
    (void)state;
    inspect_fixture("docker", "inspect_healthcheck.json", &c);
    assert_true(c.has_healthcheck);
    assert_int_equal(DOCKER_DISCOVERY_NOT_READY,
                     verdict("python", 8080, &tcp_server, &c, &b, why, sizeof why));
    assert_string_equal("not healthy (starting)", why);
    free(c.health_status);
    c.health_status = strdup("unhealthy");
    assert_int_equal(DOCKER_DISCOVERY_NOT_READY,
                     verdict("python", 8080, &tcp_server, &c, &b, why, sizeof why));
    assert_string_equal("not healthy (unhealthy)", why);
    free(c.health_status);
    c.health_status = NULL; /* a healthcheck, but no status reported yet */
    assert_int_equal(DOCKER_DISCOVERY_NOT_READY,
                     verdict("python", 8080, &tcp_server, &c, &b, why, sizeof why));
    docker_container_clear(&c);

    inspect_fixture("docker_discovery", "inspect_healthy.json", &c);
    assert_int_equal(DOCKER_DISCOVERY_BACKEND,
                     verdict("python", 8080, &tcp_server, &c, &b, why, sizeof why));
    assert_string_equal("127.0.0.5", b.host);
    assert_int_equal(28080, b.port);
    assert_string_equal("dockerhost1_b7c6d5e4f3a2", b.name);
    backend_clear(&b);
    docker_container_clear(&c);
}

static void labels_with_control_characters_skipped(void **state)
{
    struct docker_container c;
    struct backend b;
    char why[256], skipped[256];
    (void)state;
    inspect_fixture("docker_discovery", "inspect_label_newline.json", &c);
    assert_int_equal(5, c.nlabels); /* the model keeps them as Docker sent them */

    assert_int_equal(DOCKER_DISCOVERY_BACKEND,
                     verdict("busybox", 8000, &tcp_server, &c, &b, why, sizeof why));
    /* Published on 127.0.0.1 only: the first binding is all there is. */
    assert_int_equal(18000, b.port);
    assert_string_equal(ID_LABELS, b.source);
    assert_int_equal(2, b.nlabels);
    assert_string_equal("api", backend_label(&b, "smartdock.service"));
    assert_string_equal("primary", backend_label(&b, "role"));
    assert_null(backend_label(&b, "note"));
    assert_null(backend_label(&b, "bell"));
    for (size_t i = 0; i < b.nlabels; i++) {
        assert_true(backend_text_is_safe(b.labels[i].key));
        assert_true(backend_text_is_safe(b.labels[i].value));
    }

    /* label_filters see the container's labels. */
    struct syn_label_filter eq = {
        .label = "role", .value = "primary", .condition = SYN_LABEL_EQUALS};
    struct syn_discovery d = discovery("busybox", 8000);
    d.label_filters = &eq;
    d.nlabel_filters = 1;
    assert_true(selection_labels_match(&d, &b));
    eq.value = "replica";
    assert_false(selection_labels_match(&d, &b));
    eq.label = "note"; /* skipped, so absent */
    eq.value = "line one\nline two";
    assert_false(selection_labels_match(&d, &b));
    backend_clear(&b);

    /* The names of the skipped labels, printable, for one warning. */
    assert_int_equal(3, docker_discovery_skipped_labels(&c, skipped, sizeof skipped));
    assert_string_equal("note, tab?key, bell", skipped);
    char tiny[6];
    assert_int_equal(3, docker_discovery_skipped_labels(&c, tiny, sizeof tiny));
    assert_true(strlen(tiny) < sizeof tiny);
    assert_int_equal(3, docker_discovery_skipped_labels(&c, tiny, 0));
    docker_container_clear(&c);

    inspect_fixture("docker", "inspect_bridge.json", &c);
    assert_int_equal(0, docker_discovery_skipped_labels(&c, skipped, sizeof skipped));
    assert_string_equal("", skipped);
    docker_container_clear(&c);
}

static void name_sanitising(void **state)
{
    struct docker_container c;
    struct backend b;
    char why[256];
    static const struct {
        const char *server, *name;
    } cases[] = {
        {"dockerhost1", "dockerhost1_3f2a9c1b7d4e"},
        {"docker host#1 (eu)", "docker_host_1__eu__3f2a9c1b7d4e"},
        {"db-1.example.com:2375", "db-1.example.com:2375_3f2a9c1b7d4e"},
        {"tab\there\nnewline", "tab_here_newline_3f2a9c1b7d4e"},
        {"", "_3f2a9c1b7d4e"},
    };
    (void)state;
    inspect_fixture("docker", "inspect_bridge.json", &c);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct syn_docker_server srv = {.name = (char *)cases[i].server, .host = "fd00::5"};
        assert_int_equal(DOCKER_DISCOVERY_BACKEND,
                         verdict("local/nodeapp", 8000, &srv, &c, &b, why, sizeof why));
        assert_string_equal(cases[i].name, b.name);
        assert_string_equal("fd00::5", b.host);
        backend_clear(&b);
    }
    docker_container_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bridge_container),
        cmocka_unit_test(host_network_container),
        cmocka_unit_test(image_tag_semantics),
        cmocka_unit_test(not_running_or_paused),
        cmocka_unit_test(healthcheck),
        cmocka_unit_test(labels_with_control_characters_skipped),
        cmocka_unit_test(name_sanitising),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
