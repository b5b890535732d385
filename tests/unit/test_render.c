#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render.h"
#include "syn_config.h"

#define HAPROXY "/usr/sbin/haproxy"

static struct syn_config *load(const char *path)
{
    struct syn_config *cfg = NULL;
    char err[512] = "";
    if (syn_config_load(path, &cfg, err, sizeof err) != 0) fail_msg("%s: %s", path, err);
    return cfg;
}

static struct syn_config *parse(const char *json)
{
    struct syn_config *cfg = NULL;
    char err[512] = "";
    if (syn_config_parse(json, &cfg, err, sizeof err) != 0) fail_msg("%s\nfor: %s", err, json);
    return cfg;
}

static void add(struct backend_list *l, const char *name, const char *host, int port, int weight,
                const char *options)
{
    struct backend b = {0};
    b.name = name ? strdup(name) : NULL;
    b.host = strdup(host);
    b.port = port;
    b.weight = weight;
    b.haproxy_server_options = options ? strdup(options) : NULL;
    assert_int_equal(backend_list_push(l, &b), 0);
}

static void clear_all(struct backend_list *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        backend_list_clear(&v[i]);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Byte-for-byte against tests/fixtures/render/<name>; UPDATE_GOLDEN=1 rewrites it. */
static void golden(const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/render/%s", FIXTURES_DIR, name);
    const char *update = getenv("UPDATE_GOLDEN");
    if (update && strcmp(update, "1") == 0) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    }
    char *want = slurp(path);
    if (!want) fail_msg("missing golden file %s (run with UPDATE_GOLDEN=1)", path);
    if (strcmp(want, text) != 0)
        fail_msg("%s differs from the rendered text:\n----\n%s----", path, text);
    free(want);
}

/* haproxy -c on a file: skipped when HAProxy is not installed. */
static void haproxy_check(const char *path)
{
    if (access(HAPROXY, X_OK) != 0) {
        print_message("haproxy not installed; skipping the check of %s\n", path);
        return;
    }
    char cmd[2048], out[] = "/tmp/smartdock-render-check-XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd, HAPROXY " -c -f '%s' >'%s' 2>&1", path, out);
    int rc = system(cmd);
    char *log = slurp(out);
    unlink(out);
    if (rc != 0) fail_msg("haproxy -c -f %s failed:\n%s", path, log ? log : "");
    free(log);
}

static bool only_safe_bytes(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') || *s == 0x7f) return false;
    return true;
}

static bool has_warning(const struct strlist *w, const char *s)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->v[i], s) == 0) return true;
    return false;
}

static void article_golden(void **state)
{
    (void)state;
    struct syn_config *cfg = load(FIXTURES_DIR "/synapse/article.json");
    struct backend_list b[1] = {{0}};
    add(&b[0], "nodeapp-2", "127.0.100.3", 8000, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[0], "nodeapp-1", "127.0.100.2", 8000, BACKEND_WEIGHT_UNSET, NULL);
    struct render_opts opts = {.safe_http_defaults = true};
    struct strlist w = {0};
    char *text = render_haproxy_cfg(cfg, b, &opts, &w);
    assert_non_null(text);
    assert_int_equal(w.n, 0);
    golden("article.cfg", text);
    free(text);
    strlist_clear(&w);
    clear_all(b, 1);
    syn_config_free(cfg);
}

static struct syn_config *full_inputs(struct backend_list *b)
{
    struct syn_config *cfg = load(FIXTURES_DIR "/render/full.json");
    assert_int_equal(cfg->nservices, 6);
    add(&b[0], "web-b", "127.0.0.3", 8002, 50, "backup");
    add(&b[0], "web-a", "127.0.0.2", 8001, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[0], "web-v6", "::1", 8003, 0, NULL);
    add(&b[2], "api-1", "127.0.0.4", 9001, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[2], "api-2", "127.0.0.5", 9002, BACKEND_WEIGHT_UNSET, "id 7");
    return cfg;
}

static void full_golden_passes_haproxy_check(void **state)
{
    (void)state;
    struct backend_list b[6] = {{0}};
    struct syn_config *cfg = full_inputs(b);
    struct render_opts opts = {.safe_http_defaults = true};
    struct strlist w = {0};
    char *text = render_haproxy_cfg(cfg, b, &opts, &w);
    assert_non_null(text);
    assert_int_equal(w.n, 0);
    golden("full.cfg", text);
    haproxy_check(FIXTURES_DIR "/render/full.cfg");
    free(text);
    strlist_clear(&w);
    clear_all(b, 6);
    syn_config_free(cfg);
}

static void article_golden_passes_haproxy_check(void **state)
{
    (void)state;
    /* chroot, user and group are only acted on at start, not by -c. */
    haproxy_check(FIXTURES_DIR "/render/article.cfg");
}

static void deterministic_under_shuffled_input(void **state)
{
    (void)state;
    static const char *const names[] = {"n3", "n1", "n5", "n2", "n4", "n0"};
    char *first = NULL;
    struct syn_config *cfg = load(FIXTURES_DIR "/render/full.json");
    for (unsigned round = 0; round < 6; round++) {
        struct backend_list b[6] = {{0}};
        for (size_t k = 0; k < 6; k++) {
            size_t i = (k * 5 + round) % 6; /* a different rotation each round */
            char host[32];
            snprintf(host, sizeof host, "127.0.10.%zu", i + 1);
            add(&b[0], names[i], host, 8000 + (int)i, BACKEND_WEIGHT_UNSET, NULL);
            add(&b[2], names[i], host, 9000, BACKEND_WEIGHT_UNSET, NULL);
        }
        char *text = render_haproxy_cfg(cfg, b, NULL, NULL);
        assert_non_null(text);
        if (!first)
            first = text;
        else {
            assert_string_equal(first, text);
            free(text);
        }
        clear_all(b, 6);
    }
    /* Sorted by name by default. */
    const char *p = strstr(first, "server n0_");
    for (int i = 1; i < 6 && p; i++) {
        char want[16];
        snprintf(want, sizeof want, "server n%d_", i);
        const char *q = strstr(first, want);
        assert_non_null(q);
        assert_true(q > p);
        p = q;
    }
    free(first);
    syn_config_free(cfg);
}

static void names_in(const struct render_server_list *l, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        strncat(buf, l->v[i].name, len - strlen(buf) - 2);
        strncat(buf, " ", len - strlen(buf) - 1);
    }
}

/* The names up to their "_<host>:<port>" part. */
static void short_names_in(const struct render_server_list *l, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        strncat(buf, l->v[i].name, strcspn(l->v[i].name, "_"));
        strncat(buf, " ", len - strlen(buf) - 1);
    }
}

static void order_for(const char *order, const char *want, unsigned seed)
{
    char json[512], got[256];
    snprintf(json, sizeof json,
             "{\"services\":{\"s\":{\"discovery\":{\"method\":\"base\"},"
             "\"haproxy\":{\"backend_order\":\"%s\"}}},\"haproxy\":{\"do_writes\":false,"
             "\"do_reloads\":false,\"server_order_seed\":%u}}",
             order, seed);
    struct syn_config *cfg = parse(json);
    struct backend_list b = {0};
    add(&b, "c", "127.0.10.3", 1, BACKEND_WEIGHT_UNSET, NULL);
    add(&b, "a", "127.0.10.1", 1, BACKEND_WEIGHT_UNSET, NULL);
    add(&b, "d", "127.0.10.4", 1, BACKEND_WEIGHT_UNSET, NULL);
    add(&b, "b", "127.0.10.2", 1, BACKEND_WEIGHT_UNSET, NULL);
    struct render_server_list l;
    assert_int_equal(render_service_servers(cfg, 0, &b, NULL, 0, &l, NULL), 0);
    short_names_in(&l, got, sizeof got);
    if (want)
        assert_string_equal(got, want);
    else /* shuffle: a permutation of all four */
        for (const char *n = "abcd"; *n; n++)
            assert_non_null(strchr(got, *n));
    render_server_list_clear(&l);
    backend_list_clear(&b);
    syn_config_free(cfg);
}

static void backend_order(void **state)
{
    (void)state;
    order_for("asc", "a b c d ", 0);
    order_for("desc", "d c b a ", 0);
    order_for("no_shuffle", "c a d b ", 0);
    order_for("shuffle", NULL, 7);

    /* shuffle is deterministic for a seed, and independent of input order. */
    char a[256], b2[256];
    for (int pass = 0; pass < 2; pass++) {
        struct syn_config *cfg = parse(
            "{\"services\":{\"s\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{"
            "\"backend_order\":\"shuffle\"}}},\"haproxy\":{\"do_writes\":false,\"do_reloads\":"
            "false,\"server_order_seed\":1234}}");
        struct backend_list b = {0};
        for (int i = 0; i < 8; i++) {
            int k = pass ? 7 - i : i;
            char name[8], host[16];
            snprintf(name, sizeof name, "s%d", k);
            snprintf(host, sizeof host, "10.0.1.%d", k + 1);
            add(&b, name, host, 80, BACKEND_WEIGHT_UNSET, NULL);
        }
        struct render_server_list l;
        assert_int_equal(render_service_servers(cfg, 0, &b, NULL, 0, &l, NULL), 0);
        short_names_in(&l, pass ? b2 : a, sizeof a);
        render_server_list_clear(&l);
        backend_list_clear(&b);
        syn_config_free(cfg);
    }
    assert_string_equal(a, b2);
}

#define DEFAULTS_SVC(extra)                                                                        \
    "{\"services\":{\"s\":{\"discovery\":{\"method\":\"base\"},\"default_servers\":["              \
    "{\"name\":\"d1\",\"host\":\"127.9.9.9\",\"port\":80}]" extra "}},"                            \
    "\"haproxy\":{\"do_writes\":false,\"do_reloads\":false}}"

static void default_servers_and_port_override(void **state)
{
    (void)state;
    char got[256];
    struct render_server_list l;
    struct backend_list b = {0};

    /* Nothing discovered: the default servers, with their own ports. */
    struct syn_config *cfg = parse(DEFAULTS_SVC(",\"backend_port_override\":1234"));
    assert_int_equal(render_service_servers(cfg, 0, NULL, NULL, 0, &l, NULL), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].name, "d1_127.9.9.9:80");
    assert_int_equal(l.v[0].port, 80);
    assert_true(l.v[0].is_default);
    render_server_list_clear(&l);

    /* Discovered: only those, with the override. */
    add(&b, "x", "127.0.10.1", 5000, BACKEND_WEIGHT_UNSET, NULL);
    assert_int_equal(render_service_servers(cfg, 0, &b, NULL, 0, &l, NULL), 0);
    names_in(&l, got, sizeof got);
    assert_string_equal(got, "x_127.0.10.1:1234 ");
    assert_int_equal(l.v[0].port, 1234);
    assert_false(l.v[0].is_default);
    char *line = render_server_line(&l.v[0]);
    assert_string_equal(line, "server x_127.0.10.1:1234 127.0.10.1:1234 id 1");
    free(line);
    render_server_list_clear(&l);
    syn_config_free(cfg);

    /* keep_default_servers: both, the override applies to both (as in Synapse). */
    cfg = parse(DEFAULTS_SVC(",\"keep_default_servers\":true,\"backend_port_override\":1234"));
    assert_int_equal(render_service_servers(cfg, 0, &b, NULL, 0, &l, NULL), 0);
    names_in(&l, got, sizeof got);
    assert_string_equal(got, "d1_127.9.9.9:1234 x_127.0.10.1:1234 ");
    assert_int_equal(l.v[0].port, 1234);
    render_server_list_clear(&l);

    char *text = render_haproxy_cfg(cfg, &b, NULL, NULL);
    assert_non_null(strstr(text, "\n\tserver d1_127.9.9.9:1234 127.9.9.9:1234 id 1\n"
                                 "\tserver x_127.0.10.1:1234 127.0.10.1:1234 id 2\n"));
    free(text);
    syn_config_free(cfg);
    backend_list_clear(&b);
}

static void injection_is_refused(void **state)
{
    (void)state;
    struct syn_config *cfg =
        parse("{\"services\":{\"s\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{"
              "\"port\":8080,\"server_options\":\"check\"}}},\"haproxy\":{\"do_writes\":false,"
              "\"do_reloads\":false}}");
    struct backend_list b[1] = {{0}};
    add(&b[0], "ok", "127.0.10.1", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[0], "opts", "127.0.10.2", 80, BACKEND_WEIGHT_UNSET, "check\nlisten evil\n\tbind :1");
    add(&b[0], "opts2", "127.0.10.3", 80, BACKEND_WEIGHT_UNSET, "check\rbackup");
    add(&b[0], "hash", "127.0.10.4", 80, BACKEND_WEIGHT_UNSET, "check # comment out the rest");
    add(&b[0], "semi", "127.0.10.10", 80, BACKEND_WEIGHT_UNSET, "check;shutdown frontend s");
    add(&b[0], "evil name#1", "127.0.10.5", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[0], "host", "127.0.10.6\nlisten evil", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[0], "host2", "bad host", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[0], "nl\nname", "127.0.10.7", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[0], "port", "127.0.10.8", 0, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[0], "weight", "127.0.10.9", 80, 999, NULL);
    struct strlist w = {0};
    char *text = render_haproxy_cfg(cfg, b, NULL, &w);
    assert_non_null(text);

    assert_true(only_safe_bytes(text));
    assert_null(strstr(text, "listen evil"));
    assert_null(strstr(text, "#1"));
    assert_null(strstr(text, "comment"));
    /* Every line is a comment, a section header, or indented. */
    for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
        if (*p == '\t' || *p == '#' || *p == '\n') continue;
        assert_true(strncmp(p, "global", 6) == 0 || strncmp(p, "defaults", 8) == 0 ||
                    strncmp(p, "frontend s\n", 11) == 0 || strncmp(p, "backend s\n", 10) == 0);
    }
    assert_non_null(strstr(text, "\tserver evil_name_1_127.0.10.5:80 127.0.10.5:80 id 1 check\n"));
    assert_non_null(strstr(text, "\tserver ok_127.0.10.1:80 127.0.10.1:80 id 2 check\n"));

    assert_true(has_warning(&w,
                            "service s: skipped server opts: haproxy_server_options hold a "
                            "control character, '#', ';' or '\\': \"check?listen evil??bind :1\""));
    assert_true(has_warning(&w, "service s: skipped server opts2: haproxy_server_options hold a "
                                "control character, '#', ';' or '\\': \"check?backup\""));
    assert_true(
        has_warning(&w, "service s: skipped server hash: haproxy_server_options hold a "
                        "control character, '#', ';' or '\\': \"check # comment out the rest\""));
    assert_true(has_warning(&w,
                            "service s: skipped server semi: haproxy_server_options hold a "
                            "control character, '#', ';' or '\\': \"check;shutdown frontend s\""));
    assert_true(has_warning(&w, "service s: server \"evil name#1\" written as "
                                "evil_name_1_127.0.10.5:80"));
    assert_true(has_warning(&w, "service s: skipped server host: host is not a hostname or IP "
                                "address: \"127.0.10.6?listen evil\""));
    assert_true(has_warning(&w, "service s: skipped server host2: host is not a hostname or IP "
                                "address: \"bad host\""));
    assert_true(has_warning(&w, "service s: skipped server nl?name: name holds a control "
                                "character: \"nl?name\""));
    assert_true(has_warning(&w, "service s: skipped server port: port out of range: \"0\""));
    assert_true(
        has_warning(&w, "service s: skipped server weight: weight out of range 0..256: \"999\""));
    assert_int_equal(w.n, 10);
    free(text);
    strlist_clear(&w);
    clear_all(b, 1);

    /* A hand-built config with a line break in a line: dropped, reported. */
    strlist_clear(&cfg->haproxy.defaults);
    assert_int_equal(strlist_push(&cfg->haproxy.defaults, "mode http\nlisten evil"), 0);
    text = render_haproxy_cfg(cfg, NULL, NULL, &w);
    assert_null(strstr(text, "evil"));
    assert_true(
        has_warning(&w, "haproxy.defaults: dropped a configured line holding a control character"));
    free(text);
    strlist_clear(&w);
    syn_config_free(cfg);
}

static void always_ends_with_newline(void **state)
{
    (void)state;
    static const char *const configs[] = {
        "{}",
        "{\"haproxy\":{\"do_writes\":false,\"do_reloads\":false}}",
        "{\"services\":{\"s\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{\"disabled\":"
        "true}}}}",
        "{\"services\":{\"s\":{\"discovery\":{\"method\":\"base\"}}}}",
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        struct syn_config *cfg = parse(configs[i]);
        char *text = render_haproxy_cfg(cfg, NULL, NULL, NULL);
        size_t n = strlen(text);
        assert_true(n > 0 && text[n - 1] == '\n');
        free(text);
        syn_config_free(cfg);
    }
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void unique_server_names(void **state)
{
    (void)state;
    struct syn_config *cfg = parse("{\"services\":{\"s\":{\"discovery\":{\"method\":\"base\"}}}}");
    struct backend_list b = {0};
    add(&b, "web", "127.0.10.2", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b, "web", "127.0.10.1", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b, "web", "127.0.10.1", 80, BACKEND_WEIGHT_UNSET, NULL); /* exact duplicate: dropped */
    add(&b, "web-2", "127.0.10.3", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b, "we b", "127.0.10.4", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b, "we_b", "127.0.10.5", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b, "we b", "127.0.10.5", 80, BACKEND_WEIGHT_UNSET, NULL); /* the same once sanitised */
    add(&b, NULL, "127.0.10.6", 81, BACKEND_WEIGHT_UNSET, NULL);
    add(&b, "127.0.10.7:82", "127.0.10.7", 82, BACKEND_WEIGHT_UNSET, NULL); /* a nameless one */
    struct render_server_list l;
    char got[256];
    assert_int_equal(render_service_servers(cfg, 0, &b, NULL, 0, &l, NULL), 0);
    names_in(&l, got, sizeof got);
    assert_string_equal(got, "127.0.10.6:81 127.0.10.7:82 we_b_127.0.10.4:80 we_b_127.0.10.5:80 "
                             "we_b_127.0.10.5:80-2 web-2_127.0.10.3:80 web_127.0.10.1:80 "
                             "web_127.0.10.2:80 ");
    assert_string_equal(l.v[6].host, "127.0.10.1");
    render_server_list_clear(&l);
    backend_list_clear(&b);
    syn_config_free(cfg);
}

/* Issue 11: 5,000 servers sharing one name, and 5,000 exact copies of one:
 * hashing and sorting, not a scan per name (1,000 took 1.4 s before). */
static void unique_names_many(void **state)
{
    (void)state;
    struct syn_config *cfg = parse("{\"services\":{\"s\":{\"discovery\":{\"method\":\"base\"}}}}");
    struct backend_list b = {0};
    for (int i = 0; i < 5000; i++) {
        add(&b, "x", "127.0.10.1", 1 + i, BACKEND_WEIGHT_UNSET, NULL);
        add(&b, "y", "127.0.10.2", 80, BACKEND_WEIGHT_UNSET, NULL);
    }
    add(&b, "x-3", "127.0.10.3", 80, BACKEND_WEIGHT_UNSET, NULL); /* takes a suffix's place */
    struct render_server_list l;
    assert_int_equal(render_service_servers(cfg, 0, &b, NULL, 0, &l, NULL), 0);
    assert_int_equal(l.n, 5002);
    size_t x = 0, y = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (!strcmp(l.v[i].host, "127.0.10.2")) y++;
        if (!strcmp(l.v[i].host, "127.0.10.1")) x++;
        for (size_t j = i + 1; j < l.n && j < i + 3; j++)
            assert_true(strcmp(l.v[i].name, l.v[j].name) != 0);
    }
    assert_int_equal(x, 5000);
    assert_int_equal(y, 1);
    /* every name unique: sort a copy of the pointers */
    const char **names = calloc(l.n, sizeof *names);
    for (size_t i = 0; i < l.n; i++)
        names[i] = l.v[i].name;
    qsort(names, l.n, sizeof *names, cmp_cstr);
    for (size_t i = 1; i < l.n; i++)
        assert_true(strcmp(names[i - 1], names[i]) != 0);
    free(names);
    render_server_list_clear(&l);
    backend_list_clear(&b);
    syn_config_free(cfg);
}

static void stats_socket_and_state_file(void **state)
{
    (void)state;
    struct syn_config *cfg =
        parse("{\"haproxy\":{\"do_writes\":false,\"do_reloads\":false,\"socket_file_path\":"
              "[\"/tmp/a.sock\",\"/tmp/b.sock\"],\"state_file_path\":\"/tmp/st\"}}");
    char *text = render_haproxy_cfg(cfg, NULL, NULL, NULL);
    assert_non_null(strstr(text, "global\n"
                                 "\tstats socket /tmp/a.sock mode 600 level admin expose-fd "
                                 "listeners\n"
                                 "\tstats socket /tmp/b.sock mode 600 level admin expose-fd "
                                 "listeners\n"));
    /* Synapse's state_file_path is its JSON cache, never HAProxy's state file. */
    assert_null(strstr(text, "server-state-file"));
    free(text);
    syn_config_free(cfg);

    /* The operator's own stats socket wins. */
    cfg = parse("{\"haproxy\":{\"do_writes\":false,\"do_reloads\":false,\"socket_file_path\":"
                "\"/tmp/a.sock\",\"state_file_path\":\"/tmp/st\",\"global\":["
                "\"stats   socket /run/mine.sock level admin\",\"server-state-file /run/s\"]}}");
    text = render_haproxy_cfg(cfg, NULL, NULL, NULL);
    assert_null(strstr(text, "/tmp/a.sock"));
    assert_null(strstr(text, "/tmp/st"));
    assert_non_null(strstr(text, "\tstats   socket /run/mine.sock level admin\n"));
    free(text);
    syn_config_free(cfg);
}

static char *render_one(const char *service_haproxy, const char *defaults, bool safe)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"services\":{\"s\":{\"discovery\":{\"method\":\"base\"},\"default_servers\":["
             "{\"name\":\"a\",\"host\":\"127.0.10.1\",\"port\":80}],\"haproxy\":{%s}}},"
             "\"haproxy\":{\"do_writes\":false,\"do_reloads\":false,\"defaults\":[%s]}}",
             service_haproxy, defaults);
    struct syn_config *cfg = parse(json);
    struct render_opts opts = {.safe_http_defaults = safe};
    char *text = render_haproxy_cfg(cfg, NULL, &opts, NULL);
    syn_config_free(cfg);
    return text;
}

static void safe_http_defaults(void **state)
{
    (void)state;
    static const char *const safe = "\toption redispatch\n\tretries 3\n"
                                    "\tretry-on conn-failure empty-response response-timeout\n";
    char *t = render_one("\"port\":80,\"listen\":[\"mode http\"]", "", true);
    assert_non_null(strstr(t, "frontend s\n\tmode http\n\tbind localhost:80\n\tdefault_backend "
                              "s\n\nbackend s\n\tmode http\n"));
    assert_non_null(strstr(t, safe));
    free(t);

    /* Off by default, and never for tcp. */
    t = render_one("\"port\":80,\"listen\":[\"mode http\"]", "", false);
    assert_null(strstr(t, "retries"));
    free(t);
    t = render_one("\"port\":80,\"listen\":[\"mode tcp\"]", "\"mode http\"", true);
    assert_null(strstr(t, "retries"));
    free(t);

    /* http from defaults; the user's keywords win, "no option" included. */
    t = render_one("\"backend\":[\"retries 5\",\"no option redispatch\"]",
                   "\"mode http\",\"retry-on all-retryable-errors\"", true);
    assert_non_null(strstr(t, "backend s\n\tretries 5\n\tno option redispatch\n\tserver a_"));
    assert_null(strstr(t, "retries 3"));
    assert_null(strstr(t, "retry-on conn-failure"));
    free(t);
}

static void sections_and_routing(void **state)
{
    (void)state;
    /* No port: a backend only, listen lines that fit a backend. */
    char *t = render_one("\"listen\":[\"mode http\",\"option httplog\",\"balance roundrobin\"]", "",
                         false);
    assert_null(strstr(t, "frontend"));
    assert_non_null(strstr(t, "\nbackend s\n\tmode http\n\tbalance roundrobin\n\tserver "
                              "a_127.0.10.1:80 127.0.10.1:80 id 1\n"));
    free(t);

    /* Port null: bind to the address alone (a unix socket). */
    t = render_one("\"port\":null,\"bind_address\":\"/run/s.sock\",\"bind_options\":"
                   "\"mode 600\",\"frontend\":[\"mode tcp\"],\"backend_name\":\"be\"",
                   "", false);
    assert_non_null(strstr(t, "\nfrontend s\n\tmode tcp\n\tbind /run/s.sock mode 600\n"
                              "\tdefault_backend be\n\nbackend be\n\tserver a_127.0.10.1:80 "
                              "127.0.10.1:80 id 1\n"));
    free(t);

    /* Templating and cookies. */
    t = render_one("\"port\":81,\"server_options\":\"check port %{port} addr %{host} "
                   "%{name}-x 100%%\",\"backend\":[\"cookie SRV insert\"]",
                   "", false);
    assert_non_null(strstr(t, "\tserver a_127.0.10.1:80 127.0.10.1:80 id 1 cookie a_127.0.10.1:80 "
                              "check port 80 addr 127.0.10.1 a_127.0.10.1:80-x 100%\n"));
    free(t);
}

static void server_line_helpers(void **state)
{
    (void)state;
    struct render_server s = {.name = "v6",
                              .host = "fe80::1",
                              .port = 443,
                              .weight = 10,
                              .options = "check ssl verify none"};
    char *addr = render_server_addr(&s), *line = render_server_line(&s);
    assert_string_equal(addr, "[fe80::1]:443");
    assert_string_equal(line, "server v6 [fe80::1]:443 check ssl verify none weight 10");
    free(addr);
    free(line);
    s = (struct render_server){.name = "a", .host = "h", .port = 1, .weight = BACKEND_WEIGHT_UNSET};
    line = render_server_line(&s);
    assert_string_equal(line, "server a h:1");
    free(line);
}

#define TWO_SVCS(backend_lines)                                                                    \
    "{\"services\":{"                                                                              \
    "\"a\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{\"port\":3001" backend_lines "}},"    \
    "\"b\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{\"port\":3002}}},"                    \
    "\"haproxy\":{\"do_writes\":false,\"do_reloads\":false,\"shared_frontend\":[\"bind :80\"]}}"

/* A model built from the previous one shares the unchanged services and
 * prints exactly what a full render prints. */
static void model_reuses_unchanged_services(void **state)
{
    (void)state;
    struct syn_config *cfg = parse(TWO_SVCS(""));
    struct backend_list b[2] = {{0}};
    add(&b[0], "a1", "127.0.20.1", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[1], "b1", "127.0.20.2", 80, 5, NULL);
    struct render_model *m1 = render_model_new(cfg, b, NULL, NULL, NULL, NULL);
    assert_non_null(m1);
    assert_int_equal(render_model_nservices(m1), 2);

    add(&b[1], "b2", "127.0.20.3", 80, BACKEND_WEIGHT_UNSET, "check");
    bool changed[2] = {false, true};
    struct render_model *m2 = render_model_new(cfg, b, NULL, m1, changed, NULL);
    assert_non_null(m2);
    char *got = render_model_text(m2), *want = render_haproxy_cfg(cfg, b, NULL, NULL);
    assert_string_equal(got, want);
    assert_true(render_model_service_same(m1, m2, 0));
    assert_false(render_model_service_same(m1, m2, 1));
    assert_true(render_model_same_frame(m1, m2));
    assert_ptr_equal(render_model_servers(m1, 0), render_model_servers(m2, 0)); /* shared */
    assert_int_equal(render_model_servers(m2, 1)->n, 2);
    assert_string_equal(render_model_servers(m2, 1)->v[1].name, "b2_127.0.20.3:80");
    assert_null(render_model_runtime_refusal(m2));
    free(got);
    free(want);

    /* A share prints the same and shares every block. */
    struct render_model *kept = render_model_share(m2);
    assert_non_null(kept);
    assert_true(render_model_same_frame(kept, m2));
    assert_ptr_equal(render_model_servers(kept, 1), render_model_servers(m2, 1));
    got = render_model_text(kept);
    want = render_model_text(m2);
    assert_string_equal(got, want);
    free(got);
    free(want);
    render_model_free(kept);

    /* The shared block outlives the model it came from. */
    render_model_free(m1);
    got = render_model_text(m2);
    assert_non_null(strstr(got, "\n\tserver a1_127.0.20.1:80 127.0.20.1:80 id 1\n"));
    free(got);
    render_model_free(m2);

    /* Another backend section: the frame differs. */
    struct syn_config *cfg2 = parse(TWO_SVCS(",\"backend\":[\"balance first\"]"));
    m1 = render_model_new(cfg, b, NULL, NULL, NULL, NULL);
    m2 = render_model_new(cfg2, b, NULL, NULL, NULL, NULL);
    assert_false(render_model_same_frame(m1, m2));
    assert_false(render_model_service_same(m1, m2, 0));
    assert_true(render_model_service_same(m1, m2, 1));
    render_model_free(m1);
    render_model_free(m2);
    syn_config_free(cfg2);
    syn_config_free(cfg);
    clear_all(b, 2);
}

static const char *refusal_of(const char *json)
{
    static char why[300];
    struct syn_config *cfg = parse(json);
    struct backend_list b[2] = {{0}};
    add(&b[0], "a1", "127.0.20.1", 80, BACKEND_WEIGHT_UNSET, NULL);
    struct render_model *m = render_model_new(cfg, b, NULL, NULL, NULL, NULL);
    assert_non_null(m);
    const char *r = render_model_runtime_refusal(m);
    snprintf(why, sizeof why, "%s", r ? r : "");
    render_model_free(m);
    syn_config_free(cfg);
    clear_all(b, 2);
    return why;
}

/* What "add server" cannot reproduce keeps a change on the reload path. */
static void model_runtime_refusal(void **state)
{
    (void)state;
    assert_string_equal(refusal_of(TWO_SVCS("")), "");
    /* render appends " cookie a1": not what "add server" makes */
    assert_non_null(strstr(refusal_of(TWO_SVCS(",\"backend\":[\"cookie SRV insert\"]")), "cookie"));
    /* a configured server line beside the rendered ones */
    assert_non_null(strstr(refusal_of(TWO_SVCS(",\"backend\":[\"server x 127.0.0.9:80\"]")),
                           "configured lines"));
    /* default-server: runtime-added servers would not inherit it */
    assert_non_null(strstr(refusal_of(TWO_SVCS(",\"backend\":[\"default-server inter 1s\"]")),
                           "default-server"));
    /* server-template is not a server line */
    assert_string_equal(refusal_of(TWO_SVCS(",\"backend\":[\"server-template t 2 127.0.0.9:80\"]")),
                        "");
}

/* Issue 14: the server-id map across renders (one model to the next), the
 * servers HAProxy still drains, and the ids of the haproxy.cfg found at start. */
static void ids_across_models(void **state)
{
    (void)state;
    struct syn_config *cfg = parse(TWO_SVCS(""));
    struct backend_list b[2] = {{0}};
    bool changed[2] = {true, false};
    add(&b[0], "z", "127.0.20.9", 80, BACKEND_WEIGHT_UNSET, NULL);
    struct render_model *m1 = render_model_new(cfg, b, NULL, NULL, NULL, NULL);
    /* a sorts first but z keeps id 1 */
    add(&b[0], "a", "127.0.20.1", 80, BACKEND_WEIGHT_UNSET, NULL);
    struct render_model *m2 = render_model_new(cfg, b, NULL, m1, changed, NULL);
    const struct render_server_list *l = render_model_servers(m2, 0);
    assert_string_equal(l->v[0].name, "a_127.0.20.1:80");
    assert_int_equal(l->v[0].id, 2);
    assert_int_equal(l->v[1].id, 1);
    /* z goes and c comes in one change: c may not take z's id yet */
    backend_list_clear(&b[0]);
    add(&b[0], "a", "127.0.20.1", 80, BACKEND_WEIGHT_UNSET, NULL);
    add(&b[0], "c", "127.0.20.3", 80, BACKEND_WEIGHT_UNSET, NULL);
    struct render_model *m3 = render_model_new(cfg, b, NULL, m2, changed, NULL);
    l = render_model_servers(m3, 0);
    assert_int_equal(l->v[0].id, 2);
    assert_int_equal(l->v[1].id, 3);
    /* one change later, id 1 is free again */
    add(&b[0], "d", "127.0.20.4", 80, BACKEND_WEIGHT_UNSET, NULL);
    struct render_model *m4 = render_model_new(cfg, b, NULL, m3, changed, NULL);
    l = render_model_servers(m4, 0);
    assert_int_equal(l->v[2].id, 1);
    /* ... unless HAProxy still drains a server holding it */
    struct render_server drained = {.name = "z_127.0.20.9:80",
                                    .host = "127.0.20.9",
                                    .port = 80,
                                    .weight = BACKEND_WEIGHT_UNSET,
                                    .id = 1};
    struct render_server_list held[2] = {{&drained, 1}, {NULL, 0}};
    struct render_opts opts = {.held = held};
    struct render_model *m4b = render_model_new(cfg, b, &opts, m3, changed, NULL);
    l = render_model_servers(m4b, 0);
    assert_int_equal(l->v[2].id, 4);
    /* and a drained server that comes back keeps its id */
    add(&b[0], "z", "127.0.20.9", 80, BACKEND_WEIGHT_UNSET, NULL);
    struct render_model *m5 = render_model_new(cfg, b, &opts, m3, changed, NULL);
    l = render_model_servers(m5, 0);
    assert_string_equal(l->v[3].name, "z_127.0.20.9:80");
    assert_int_equal(l->v[3].id, 1);
    assert_int_equal(l->v[2].id, 4);

    /* A restart: no previous model, the ids of the file on disk. */
    char *text = render_model_text(m5);
    struct server_id_seed *seed = server_id_seed_parse(text);
    struct render_opts seeded = {.id_seed = seed};
    struct render_model *again = render_model_new(cfg, b, &seeded, NULL, NULL, NULL);
    char *text2 = render_model_text(again);
    assert_string_equal(text, text2);
    struct render_model *fresh = render_model_new(cfg, b, NULL, NULL, NULL, NULL);
    char *text3 = render_model_text(fresh);
    assert_string_not_equal(text, text3); /* without the seed: a, c, d, z get 1..4 */
    free(text);
    free(text2);
    free(text3);
    server_id_seed_free(seed);
    render_model_free(again);
    render_model_free(fresh);
    render_model_free(m1);
    render_model_free(m2);
    render_model_free(m3);
    render_model_free(m4);
    render_model_free(m4b);
    render_model_free(m5);
    clear_all(b, 2);
    syn_config_free(cfg);
}

static char *render_weights(bool use_nerve_weights, const char *server_options, int weight,
                            const char *own_options, struct strlist *w)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"services\":{\"s\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{"
             "\"server_options\":\"%s\"}}},\"haproxy\":{\"do_writes\":false,\"do_reloads\":"
             "false,\"use_nerve_weights\":%s}}",
             server_options, use_nerve_weights ? "true" : "false");
    struct syn_config *cfg = parse(json);
    struct backend_list b = {0};
    add(&b, "n", "127.0.30.1", 80, weight, own_options);
    char *text = render_haproxy_cfg(cfg, &b, NULL, w);
    backend_list_clear(&b);
    syn_config_free(cfg);
    return text;
}

/* Issue 14: use_nerve_weights as Synapse reads it. */
static void nerve_weights(void **state)
{
    (void)state;
    struct strlist w = {0};
    /* Not set: a registry's weight is not written; the options are as given. */
    char *t = render_weights(false, "check weight 5", 30, "backup", &w);
    assert_non_null(
        strstr(t, "\tserver n_127.0.30.1:80 127.0.30.1:80 id 1 check weight 5 backup\n"));
    free(t);
    /* Set: the Nerve weight wins; "weight N" leaves both option strings, last. */
    t = render_weights(true, "check  weight 5 inter 2s", 30, "weight 7 backup", &w);
    assert_non_null(strstr(t, "\tserver n_127.0.30.1:80 127.0.30.1:80 id 1 check inter 2s "
                              "backup weight 30\n"));
    assert_true(has_warning(&w, "service s: \"weight N\" in server_options or "
                                "haproxy_server_options is left out: with use_nerve_weights the "
                                "registry's weight wins"));
    strlist_clear(&w);
    free(t);
    /* Set, but the registration has no weight: the options stay whole. */
    t = render_weights(true, "check weight 5", BACKEND_WEIGHT_UNSET, NULL, &w);
    assert_non_null(strstr(t, "\tserver n_127.0.30.1:80 127.0.30.1:80 id 1 check weight 5\n"));
    assert_int_equal(w.n, 0);
    free(t);
}

/* Issue 14: cookies as Synapse writes them, where HAProxy uses them. */
static void cookies(void **state)
{
    (void)state;
    char *t = render_one("\"backend\":[\"cookie SRV insert\"],\"cookie_value_method\":\"hash\"", "",
                         false);
    /* sha1("a_127.0.10.1:80") */
    assert_non_null(strstr(t, "\tserver a_127.0.10.1:80 127.0.10.1:80 id 1 cookie "
                              "54f0116ae3049e2681de9dce6171b72d91f082ea\n"));
    free(t);
    /* the directive in defaults counts too; "mode tcp" in the backend: no cookie */
    t = render_one("", "\"cookie SRV insert\"", false);
    assert_non_null(strstr(t, " cookie a_127.0.10.1:80\n"));
    free(t);
    t = render_one("\"backend\":[\"mode tcp\"]", "\"cookie SRV insert\"", false);
    assert_null(strstr(t, " cookie a_"));
    free(t);
    /* no directive: HAProxy would not use a value (and "add server" refuses one) */
    t = render_one("\"backend\":[\"mode http\"]", "", false);
    assert_null(strstr(t, " cookie "));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(article_golden),
        cmocka_unit_test(article_golden_passes_haproxy_check),
        cmocka_unit_test(full_golden_passes_haproxy_check),
        cmocka_unit_test(deterministic_under_shuffled_input),
        cmocka_unit_test(backend_order),
        cmocka_unit_test(default_servers_and_port_override),
        cmocka_unit_test(injection_is_refused),
        cmocka_unit_test(always_ends_with_newline),
        cmocka_unit_test(unique_server_names),
        cmocka_unit_test(unique_names_many),
        cmocka_unit_test(stats_socket_and_state_file),
        cmocka_unit_test(safe_http_defaults),
        cmocka_unit_test(sections_and_routing),
        cmocka_unit_test(server_line_helpers),
        cmocka_unit_test(model_reuses_unchanged_services),
        cmocka_unit_test(model_runtime_refusal),
        cmocka_unit_test(ids_across_models),
        cmocka_unit_test(nerve_weights),
        cmocka_unit_test(cookies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
