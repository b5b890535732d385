#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "quarantine.h"

static struct syn_config *config(void)
{
    struct syn_config *cfg = NULL;
    char err[256];
    const char *json =
        "{\"services\":{"
        "\"web\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{\"port\":8080}},"
        "\"api\":{\"discovery\":{\"method\":\"base\"},\"backend_port_override\":9000,"
        "\"haproxy\":{\"backend_name\":\"api_be\"}}}}";
    if (syn_config_parse(json, &cfg, err, sizeof err) < 0) fail_msg("%s", err);
    return cfg;
}

static void add(struct backend_list *l, const char *name, const char *host, int port,
                const char *opts, const char *source)
{
    struct backend b = {0};
    b.weight = BACKEND_WEIGHT_UNSET;
    b.name = strdup(name);
    b.host = strdup(host);
    b.port = port;
    b.haproxy_server_options = opts ? strdup(opts) : NULL;
    b.source = strdup(source);
    assert_int_equal(backend_list_push(l, &b), 0);
}

static void blame(struct blamed_list *l, const char *section, const char *name, const char *host,
                  int port, const char *message)
{
    struct blamed_server *v = realloc(l->v, (l->n + 1) * sizeof *v);
    assert_non_null(v);
    l->v = v;
    l->v[l->n++] =
        (struct blamed_server){strdup(section), strdup(name), strdup(host), port, strdup(message)};
}

static void finds_registrations_with_their_own_options(void **state)
{
    (void)state;
    struct syn_config *cfg = config();
    struct backend_list current[2] = {{0}, {0}};
    add(&current[0], "a", "127.0.0.1", 80, "observe layer7", "a_0001");
    add(&current[0], "b", "127.0.0.1", 81, NULL, "b_0002");
    add(&current[1], "x", "127.0.0.2", 1, "agent-check", "x_1");
    add(&current[1], "y", "127.0.0.3", 2, "agent-check", "y_1");
    add(&current[1], "y", "127.0.0.3", 3, "agent-check", "y_2"); /* same address after override */
    struct blamed_list bl = {0};
    blame(&bl, "web", "a", "127.0.0.1", 80, "'layer7' can only be used in http proxies");
    blame(&bl, "web", "b", "127.0.0.1", 81, "no options of its own: the config's fault");
    blame(&bl, "api_be", "y-2", "127.0.0.3", 9000, "no agent port");
    blame(&bl, "nosuch", "z", "127.0.0.9", 1, "not ours");
    struct quarantine_hit *hits;
    size_t n, unmatched;
    assert_int_equal(quarantine_match(cfg, current, &bl, &hits, &n, &unmatched), 0);
    assert_int_equal(n, 2);
    assert_int_equal(unmatched, 2);
    assert_int_equal(hits[0].svc, 0);
    assert_int_equal(hits[0].backend, 0);
    assert_string_equal(hits[0].message, "'layer7' can only be used in http proxies");
    assert_int_equal(hits[1].svc, 1);
    assert_string_equal(current[1].v[hits[1].backend].source, "y_1"); /* name "y" matches "y-2" */
    free(hits);

    char *key = quarantine_key(&current[0].v[0]);
    assert_string_equal(key, "a_0001\n127.0.0.1:80\nobserve layer7");
    free(key);
    blamed_list_clear(&bl);
    backend_list_clear(&current[0]);
    backend_list_clear(&current[1]);
    syn_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_registrations_with_their_own_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
