#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state_cache.h"

static struct syn_config *two_services(void)
{
    struct syn_config *cfg = NULL;
    char err[256];
    const char *json = "{\"services\":{"
                       "\"web\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{}},"
                       "\"api\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{}}}}";
    if (syn_config_parse(json, &cfg, err, sizeof err) != 0) fail_msg("%s", err);
    return cfg;
}

static void push(struct backend_list *l, const char *host, int port)
{
    char json[128], err[128];
    struct backend b;
    snprintf(json, sizeof json, "{\"host\":\"%s\",\"port\":%d,\"weight\":5}", host, port);
    assert_int_equal(0, backend_decode_nerve(json, strlen(json), &b, err, sizeof err));
    assert_int_equal(0, backend_list_push(l, &b));
}

static void round_trip_within_ttl(void **state)
{
    (void)state;
    struct syn_config *cfg = two_services();
    struct backend_list in[2] = {{0}}, out[2] = {{0}};
    size_t web = strcmp(cfg->services[0].name, "web") == 0 ? 0 : 1;
    push(&in[web], "127.0.0.2", 8000);
    push(&in[web], "127.0.0.3", 8000);
    push(&in[1 - web], "127.0.0.4", 9000);
    char *text = state_cache_render(cfg, in, 1000);
    char err[128];
    assert_int_equal(3, state_cache_parse(text, cfg, 1010, 60, out, err, sizeof err));
    assert_true(backend_list_equal(&in[0], &out[0]));
    assert_true(backend_list_equal(&in[1], &out[1]));
    assert_int_equal(5, out[web].v[0].weight);

    /* Too old: nothing is loaded, and the lists are left empty. */
    assert_int_equal(-1, state_cache_parse(text, cfg, 1000 + 61, 60, out, err, sizeof err));
    assert_non_null(strstr(err, "older than state_file_ttl"));
    assert_int_equal(0, out[0].n + out[1].n);
    free(text);
    for (int i = 0; i < 2; i++) {
        backend_list_clear(&in[i]);
        backend_list_clear(&out[i]);
    }
    syn_config_free(cfg);
}

static void malformed_entries_are_skipped(void **state)
{
    (void)state;
    struct syn_config *cfg = two_services();
    struct backend_list out[2] = {{0}};
    char err[128];
    const char *text = "{\"version\":1,\"saved_at\":100,\"services\":{\"web\":["
                       "{\"host\":\"127.0.0.2\",\"port\":80},"
                       "{\"host\":\"127.0.0.3\\nbind :1\",\"port\":80},"
                       "{\"host\":\"127.0.0.4\",\"port\":0}, 7, null],"
                       "\"gone\":[{\"host\":\"127.0.0.5\",\"port\":80}]}}";
    assert_int_equal(1, state_cache_parse(text, cfg, 100, 60, out, err, sizeof err));
    assert_int_equal(-1, state_cache_parse("[]", cfg, 100, 60, out, err, sizeof err));
    assert_int_equal(-1, state_cache_parse("{\"saved_at\":", cfg, 100, 60, out, err, sizeof err));
    for (int i = 0; i < 2; i++) backend_list_clear(&out[i]);
    syn_config_free(cfg);
}

/* The file Synapse 0.18.9 writes (update_state_file): per service, per server
 * name, the backend hash with its own timestamp and server id. */
static void synapse_state_file(void **state)
{
    (void)state;
    struct syn_config *cfg = two_services();
    struct backend_list out[2] = {{0}};
    char err[128] = "";
    size_t web = strcmp(cfg->services[0].name, "web") == 0 ? 0 : 1;
    const char *text =
        "{\"web\":{"
        "\"r5_127.0.0.1:39497\":{\"timestamp\":1000,\"haproxy_server_id\":3,"
        "\"host\":\"127.0.0.1\",\"port\":39497,\"name\":\"r5\",\"weight\":2,"
        "\"labels\":{\"az\":\"a\"},\"id\":7},"
        "\"old_127.0.0.1:1\":{\"timestamp\":100,\"host\":\"127.0.0.1\",\"port\":1},"
        "\"bad\":{\"timestamp\":1000,\"host\":\"127.0.0.1\\nbind :1\",\"port\":2},"
        "\"watcher_config_for_generator\":{\"port\":3213}},"
        "\"gone\":{\"x\":{\"timestamp\":1000,\"host\":\"127.0.0.5\",\"port\":80}}}";
    /* The old entry has outlived the TTL on its own timestamp; bad is refused. */
    assert_int_equal(1, state_cache_parse(text, cfg, 1010, 60, out, err, sizeof err));
    assert_int_equal(1, out[web].n);
    assert_string_equal("127.0.0.1", out[web].v[0].host);
    assert_int_equal(39497, out[web].v[0].port);
    assert_int_equal(2, out[web].v[0].weight);
    assert_int_equal(0, out[1 - web].n);
    /* Neither format. */
    assert_int_equal(-1, state_cache_parse("{\"web\":[1]}", cfg, 100, 60, out, err, sizeof err));
    assert_string_equal("neither a smartdock nor a Synapse state file", err);
    for (int i = 0; i < 2; i++) backend_list_clear(&out[i]);
    syn_config_free(cfg);
}

static void file_round_trip(void **state)
{
    (void)state;
    struct syn_config *cfg = two_services();
    struct backend_list in[2] = {{0}}, out[2] = {{0}};
    push(&in[0], "127.0.0.2", 8000);
    char dir[] = "/tmp/sd-state-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/state.json", dir);
    assert_int_equal(0, state_cache_load(path, cfg, 60, out)); /* none yet */
    assert_int_equal(0, state_cache_save(path, cfg, in));
    assert_int_equal(1, state_cache_load(path, cfg, 60, out));
    assert_true(backend_list_equal(&in[0], &out[0]));
    unlink(path);
    rmdir(dir);
    for (int i = 0; i < 2; i++) {
        backend_list_clear(&in[i]);
        backend_list_clear(&out[i]);
    }
    syn_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_within_ttl),
        cmocka_unit_test(malformed_entries_are_skipped),
        cmocka_unit_test(file_round_trip),
        cmocka_unit_test(synapse_state_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
