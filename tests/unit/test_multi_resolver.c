/* discovery "multi"'s resolvers (watcher/discovery/multi_resolver.c), fed
 * recorded sequences of child views and connection states; and
 * leader_election (selection.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multi_resolver.h"
#include "selection.h"

/* "h:p h:p" as a backend list (names host:port, source "<host>_<seq>"). */
static struct backend_list list_of(const char *spec)
{
    struct backend_list l = {0};
    char *copy = strdup(spec), *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        struct backend b = {0};
        char *colon = strchr(t, ':');
        b.host = strndup(t, (size_t)(colon - t));
        b.port = atoi(colon + 1);
        b.name = strdup(t);
        b.weight = BACKEND_WEIGHT_UNSET;
        assert_int_equal(backend_list_push(&l, &b), 0);
    }
    free(copy);
    return l;
}

static void feed(struct multi_resolver *r, size_t i, const char *spec)
{
    struct backend_list l = list_of(spec);
    multi_resolver_update(r, i, &l);
    backend_list_clear(&l);
}

/* The view taken as "h:p h:p", or "-" when there is none to take. */
static const char *take(struct multi_resolver *r)
{
    static char buf[512];
    struct backend_list l;
    if (!multi_resolver_take(r, &l)) return "-";
    buf[0] = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (i) strcat(buf, " ");
        strcat(buf, l.v[i].name);
    }
    backend_list_clear(&l);
    return buf;
}

static void sequential_fails_over(void **state)
{
    (void)state;
    struct multi_resolver *r = multi_resolver_new(SYN_RESOLVER_SEQUENTIAL, 2, true);
    /* The second answers first: the first has not been heard of yet, so wait. */
    feed(r, 1, "127.0.0.2:80");
    multi_resolver_link(r, 1, MULTI_CHILD_UP);
    assert_string_equal(take(r), "-");
    feed(r, 0, "127.0.0.1:80 127.0.0.1:81");
    multi_resolver_link(r, 0, MULTI_CHILD_UP);
    assert_string_equal(take(r), "127.0.0.1:80 127.0.0.1:81");
    assert_int_equal(multi_resolver_current(r), 0);
    assert_string_equal(take(r), "-"); /* unchanged */
    assert_true(multi_resolver_healthy(r));
    /* The first ensemble goes away: the second is served. */
    multi_resolver_link(r, 0, MULTI_CHILD_DOWN);
    assert_string_equal(take(r), "127.0.0.2:80");
    assert_int_equal(multi_resolver_current(r), 1);
    assert_true(multi_resolver_healthy(r));
    /* Both down: the first choice's last view, as Synapse. */
    multi_resolver_link(r, 1, MULTI_CHILD_DOWN);
    assert_string_equal(take(r), "127.0.0.1:80 127.0.0.1:81");
    assert_false(multi_resolver_healthy(r));
    /* The first comes back. */
    multi_resolver_link(r, 1, MULTI_CHILD_UP);
    assert_string_equal(take(r), "127.0.0.2:80");
    multi_resolver_link(r, 0, MULTI_CHILD_UP);
    assert_string_equal(take(r), "127.0.0.1:80 127.0.0.1:81");
    multi_resolver_free(r);
}

static void sequential_empty_child(void **state)
{
    (void)state;
    /* use_previous_backends on: an emptied child keeps its backends. */
    struct multi_resolver *r = multi_resolver_new(SYN_RESOLVER_SEQUENTIAL, 2, true);
    feed(r, 0, "127.0.0.1:80");
    feed(r, 1, "127.0.0.2:80");
    assert_string_equal(take(r), "127.0.0.1:80");
    struct backend_list none = {0};
    assert_true(multi_resolver_update(r, 0, &none));
    assert_string_equal(take(r), "-");
    multi_resolver_free(r);

    /* Off: a child without backends is passed over. */
    r = multi_resolver_new(SYN_RESOLVER_SEQUENTIAL, 2, false);
    feed(r, 0, "");
    multi_resolver_link(r, 1, MULTI_CHILD_DOWN);
    assert_string_equal(take(r), ""); /* nothing usable: the first, empty */
    feed(r, 1, "127.0.0.2:80");
    multi_resolver_link(r, 1, MULTI_CHILD_UP);
    assert_string_equal(take(r), "127.0.0.2:80");
    assert_int_equal(multi_resolver_current(r), 1);
    feed(r, 0, "127.0.0.1:80");
    assert_string_equal(take(r), "127.0.0.1:80");
    assert_false(multi_resolver_update(r, 0, &none));
    assert_string_equal(take(r), "127.0.0.2:80");
    multi_resolver_free(r);
}

static void union_merges(void **state)
{
    (void)state;
    struct multi_resolver *r = multi_resolver_new(SYN_RESOLVER_UNION, 3, true);
    feed(r, 0, "127.0.0.1:80");
    assert_string_equal(take(r), "-"); /* 1 and 2 not heard of */
    multi_resolver_link(r, 1, MULTI_CHILD_DOWN);
    feed(r, 2, "127.0.0.3:80 127.0.0.3:81");
    assert_string_equal(take(r), "127.0.0.1:80 127.0.0.3:80 127.0.0.3:81");
    assert_true(multi_resolver_healthy(r));
    feed(r, 1, "127.0.0.2:80");
    assert_string_equal(take(r), "127.0.0.1:80 127.0.0.2:80 127.0.0.3:80 127.0.0.3:81");
    multi_resolver_link(r, 0, MULTI_CHILD_DOWN);
    multi_resolver_link(r, 1, MULTI_CHILD_DOWN);
    multi_resolver_link(r, 2, MULTI_CHILD_DOWN);
    assert_false(multi_resolver_healthy(r));
    assert_string_equal(take(r), "-"); /* a down child keeps its last view */
    multi_resolver_free(r);
}

static struct backend zk_backend(const char *host, const char *source)
{
    struct backend b = {0};
    b.host = strdup(host);
    b.port = 80;
    b.name = strdup(host);
    b.source = strdup(source);
    b.weight = BACKEND_WEIGHT_UNSET;
    return b;
}

static void leader_election(void **state)
{
    (void)state;
    assert_int_equal(selection_leader_id("i-1_0000000042"), 42);
    assert_int_equal(selection_leader_id("/nerve/web/host_9"), 9);
    assert_int_equal(selection_leader_id("0000000007"), 7);
    assert_int_equal(selection_leader_id("host_"), -1);
    assert_int_equal(selection_leader_id("host_12a"), -1);
    assert_int_equal(selection_leader_id(NULL), -1);

    struct syn_service svc = {
        .name = "web", .leader_election = true, .use_previous_backends = true};
    struct backend_list found = {0}, current = {0};
    struct backend b = zk_backend("127.0.0.3", "c_0000000003");
    backend_list_push(&found, &b);
    b = zk_backend("127.0.0.1", "a_0000000011");
    backend_list_push(&found, &b);
    b = zk_backend("127.0.0.2", "b_0000000002");
    backend_list_push(&found, &b);
    struct selection_notes notes = {0};
    assert_int_equal(selection_apply(&svc, NULL, 100, &found, &current, &notes), SELECTION_UPDATED);
    assert_null(notes.election_failed);
    assert_int_equal(current.n, 1);
    assert_string_equal(current.v[0].host, "127.0.0.2");

    /* The leader goes: the next lowest id is served. */
    b = zk_backend("127.0.0.3", "c_0000000003");
    backend_list_push(&found, &b);
    b = zk_backend("127.0.0.1", "a_0000000011");
    backend_list_push(&found, &b);
    assert_int_equal(selection_apply(&svc, NULL, 100, &found, &current, &notes), SELECTION_UPDATED);
    assert_string_equal(current.v[0].host, "127.0.0.3");

    /* One without a sequence id: nothing is served, as in Synapse. */
    b = zk_backend("127.0.0.3", "c_0000000003");
    backend_list_push(&found, &b);
    b = zk_backend("127.0.0.9", "etcd-key");
    backend_list_push(&found, &b);
    assert_int_equal(selection_apply(&svc, NULL, 100, &found, &current, &notes), SELECTION_UPDATED);
    assert_string_equal(notes.election_failed, "not every backend has a sequence id");
    assert_int_equal(current.n, 0);
    backend_list_clear(&current);
    backend_list_clear(&notes.conflicts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequential_fails_over),
        cmocka_unit_test(sequential_empty_child),
        cmocka_unit_test(union_merges),
        cmocka_unit_test(leader_election),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
