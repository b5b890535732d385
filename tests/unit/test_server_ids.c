#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_ids.h"

static void assign(const char *const *names, const int *fixed, size_t n,
                   const struct server_id_ref *known, size_t nknown, int max, const int *want)
{
    int ids[64];
    assert_int_equal(server_ids_assign(names, fixed, n, known, nknown, max, ids), 0);
    for (size_t i = 0; i < n; i++)
        if (ids[i] != want[i]) fail_msg("%s: id %d, want %d", names[i], ids[i], want[i]);
}

/* Synapse's map: a name keeps its id; new ones take the smallest free id. */
static void names_keep_their_ids(void **state)
{
    (void)state;
    const char *names[] = {"a", "b", "c"};
    assign(names, NULL, 3, NULL, 0, 65535, (int[]){1, 2, 3});
    struct server_id_ref known[] = {{"c", 1}, {"b", 5}};
    assign(names, NULL, 3, known, 2, 65535, (int[]){2, 5, 1});
}

/* An id is handed out again only once its server is gone: the servers of
 * the previous generation hold theirs while the new one is assigned. */
static void ids_of_the_gone_wait_one_generation(void **state)
{
    (void)state;
    struct server_id_ref gen1[] = {{"a", 1}, {"b", 2}};
    const char *gen2[] = {"b", "c"}; /* a went, c came: c must not take 1 yet */
    assign(gen2, NULL, 2, gen1, 2, 65535, (int[]){2, 3});
    struct server_id_ref known2[] = {{"b", 2}, {"c", 3}};
    const char *gen3[] = {"b", "c", "d"}; /* now 1 is free */
    assign(gen3, NULL, 3, known2, 2, 65535, (int[]){2, 3, 1});
}

/* A registration's own "id N" wins, and a name holding that id moves. */
static void fixed_ids_win(void **state)
{
    (void)state;
    const char *names[] = {"a", "b"};
    struct server_id_ref known[] = {{"a", 7}};
    assign(names, (int[]){0, 7}, 2, known, 1, 65535, (int[]){1, 7});
    assert_int_equal(server_ids_in_options("check id 7 inter 2s"), 7);
    assert_int_equal(server_ids_in_options("check id x"), 0);
    assert_int_equal(server_ids_in_options("id"), 0);
    assert_int_equal(server_ids_in_options("uuid 3"), 0);
    assert_int_equal(server_ids_in_options(NULL), 0);
}

/* max_server_id bounds the ids; the rest get none. Repeated and
 * out-of-range known entries: the first holds, the others are ignored. */
static void bounded_and_odd_input(void **state)
{
    (void)state;
    const char *names[] = {"a", "b", "c"};
    assign(names, NULL, 3, NULL, 0, 2, (int[]){1, 2, 0});
    struct server_id_ref known[] = {{"a", 2}, {"a", 1}, {"b", 2}, {"c", 99}};
    /* a keeps 2; b's 2 clashes with it, so b gets the first free id (1 stays
     * taken by the second "a" entry): 3; none is left for c. */
    assign(names, NULL, 3, known, 4, 3, (int[]){2, 3, 0});
}

/* 20,000 servers, half of them known: sorting, not a scan per server. */
static void many(void **state)
{
    (void)state;
    enum { N = 20000 };
    const char **names = calloc(N, sizeof *names);
    struct server_id_ref *known = calloc(N / 2, sizeof *known);
    int *ids = calloc(N, sizeof *ids);
    char(*buf)[16] = calloc(N, sizeof *buf);
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "s%05d", i);
        names[i] = buf[i];
        if (i % 2) known[i / 2] = (struct server_id_ref){buf[i], N - i};
    }
    assert_int_equal(server_ids_assign(names, NULL, N, known, N / 2, 65535, ids), 0);
    char *seen = calloc(N + 1, 1);
    for (int i = 0; i < N; i++) {
        assert_true(ids[i] >= 1 && ids[i] <= N);
        assert_false(seen[ids[i]]);
        seen[ids[i]] = 1;
        if (i % 2) assert_int_equal(ids[i], N - i);
    }
    free(seen);
    free(names);
    free(known);
    free(ids);
    free(buf);
}

/* The ids of a haproxy.cfg found at start, per backend and listen section. */
static void seed_from_a_config(void **state)
{
    (void)state;
    const char *cfg = "# header\nglobal\n\tmaxconn 10\ndefaults\n\tmode http\n\n"
                      "frontend web\n\tbind :80\n\tdefault_backend web\n\n"
                      "backend web\n\tserver a_1.2.3.4:80 1.2.3.4:80 id 3 cookie x check\n"
                      "\tserver b 1.2.3.5:80 check\n"
                      "\tserver c 1.2.3.6:80 cookie c id 9\n\n"
                      "listen old\n\tbind :81\n\tserver o 1.2.3.7:80 id 2\n"
                      "frontend other\n\tserver z 1.1.1.1:1 id 4\n";
    struct server_id_seed *s = server_id_seed_parse(cfg);
    assert_non_null(s);
    size_t n = 0;
    const struct server_id_ref *v = server_id_seed_get(s, "web", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "a_1.2.3.4:80");
    assert_int_equal(v[0].id, 3);
    assert_string_equal(v[1].name, "c");
    assert_int_equal(v[1].id, 9);
    v = server_id_seed_get(s, "old", &n);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].id, 2);
    assert_null(server_id_seed_get(s, "other", &n));
    assert_int_equal(n, 0);
    assert_null(server_id_seed_get(s, "nope", &n));
    server_id_seed_free(s);
    s = server_id_seed_parse(NULL);
    assert_non_null(s);
    assert_null(server_id_seed_get(s, "web", &n));
    server_id_seed_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_keep_their_ids),
        cmocka_unit_test(ids_of_the_gone_wait_one_generation),
        cmocka_unit_test(fixed_ids_win),
        cmocka_unit_test(bounded_and_odd_input),
        cmocka_unit_test(many),
        cmocka_unit_test(seed_from_a_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
