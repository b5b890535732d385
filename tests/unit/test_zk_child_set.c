/* Discovery "zookeeper"'s state machine (watcher/discovery/zk_child_set.c),
 * fed recorded replies, watches and session changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "backend.h"
#include "zk_child_set.h"
#include "zk_child_set_fixture.h"

#define PATH "/smartdock/services/web"

/* The pending requests as a string: "list get:a get:b exists". */
static const char *requests(struct zk_child_set *cs)
{
    static char buf[1024];
    buf[0] = 0;
    struct zk_child_set_request rq;
    while (zk_child_set_next_request(cs, &rq)) {
        if (buf[0]) strcat(buf, " ");
        if (rq.kind == ZK_CHILD_SET_LIST) strcat(buf, "list");
        if (rq.kind == ZK_CHILD_SET_EXISTS) strcat(buf, "exists");
        if (rq.kind == ZK_CHILD_SET_GET) {
            strcat(buf, "get:");
            strcat(buf, rq.child);
        }
        free(rq.child);
    }
    return buf;
}

static void listed(struct zk_child_set *cs, int rc, const char *names)
{
    char *v[16], *copy = strdup(names), *save = NULL;
    int n = 0;
    for (char *t = strtok_r(copy, " ", &save); t && n < 16; t = strtok_r(NULL, " ", &save))
        v[n++] = t;
    zk_child_set_listed(cs, rc, v, n);
    free(copy);
}

static void read_ok(struct zk_child_set *cs, const char *child, const char *host, int port)
{
    char json[256];
    snprintf(json, sizeof json, "{\"host\":\"%s\",\"port\":%d,\"name\":\"%s\"}", host, port, child);
    zk_child_set_read(cs, child, ZOK, json, (int)strlen(json), 0);
}

/* A set watching PATH with children a and b published. */
static struct zk_child_set *two_children(void)
{
    struct zk_child_set *cs = zk_child_set_new("web", PATH "/");
    assert_non_null(cs);
    assert_string_equal(zk_child_set_path(cs), PATH);
    zk_child_set_session(cs, true);
    assert_string_equal(requests(cs), "list");
    listed(cs, ZOK, "a b");
    assert_string_equal(requests(cs), "get:a get:b");
    assert_string_equal(update(cs), "-"); /* reads outstanding */
    read_ok(cs, "a", "127.0.0.2", 8001);
    assert_string_equal(update(cs), "-");
    read_ok(cs, "b", "127.0.0.3", 8002);
    assert_string_equal(update(cs), "a@127.0.0.2:8001,b@127.0.0.3:8002");
    assert_string_equal(update(cs), "-"); /* once per change */
    return cs;
}

/* Issue 11: 20,000 children, then one more: one read, binary-search lookups
 * (the relist was quadratic: 6.3 s at 40k), and each backend carries its
 * czxid as its creation order. */
static void many_children_and_creation_order(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct zk_child_set *cs = zk_child_set_new("web", PATH);
    zk_child_set_session(cs, true);
    assert_string_equal(requests(cs), "list");
    char **names = calloc(N + 1, sizeof *names);
    for (int i = 0; i <= N; i++) {
        names[i] = malloc(32);
        snprintf(names[i], 32, "n%05d_%010d", (i * 7919) % (N + 1), i); /* not sorted */
    }
    zk_child_set_listed(cs, ZOK, names, N);
    struct zk_child_set_request rq;
    int gets = 0;
    while (zk_child_set_next_request(cs, &rq)) {
        gets++;
        free(rq.child);
    }
    assert_int_equal(gets, N);
    for (int i = N - 1; i >= 0; i--) {
        char json[128];
        snprintf(json, sizeof json, "{\"host\":\"127.0.0.2\",\"port\":%d}", 1 + i);
        zk_child_set_read(cs, names[i], ZOK, json, (int)strlen(json), 1000 + i);
    }
    struct backend_list list;
    assert_true(zk_child_set_take_update(cs, &list));
    assert_int_equal(list.n, N);
    for (size_t i = 0; i < list.n; i++)
        assert_int_equal(list.v[i].created, 1000 + list.v[i].port - 1);
    backend_list_clear(&list);

    zk_child_set_watch_fired(cs, ZOO_CHILD_EVENT, PATH);
    assert_string_equal(requests(cs), "list");
    zk_child_set_listed(cs, ZOK, names, N + 1);
    char want[64];
    snprintf(want, sizeof want, "get:%s", names[N]);
    assert_string_equal(requests(cs), want);
    const char *one = "{\"host\":\"127.0.0.3\",\"port\":1}";
    zk_child_set_read(cs, names[N], ZOK, one, (int)strlen(one), 0);
    assert_true(zk_child_set_take_update(cs, &list));
    assert_int_equal(list.n, N + 1);
    bool found = false;
    for (size_t i = 0; i < list.n; i++)
        if (!strcmp(list.v[i].host, "127.0.0.3")) {
            found = true;
            assert_int_equal(list.v[i].created, N); /* no czxid: the sequence in its name */
        }
    assert_true(found);
    backend_list_clear(&list);
    for (int i = 0; i <= N; i++)
        free(names[i]);
    free(names);
    zk_child_set_free(cs);
}

static void children_and_data_watches(void **state)
{
    (void)state;
    struct zk_child_set *cs = two_children();
    zk_child_set_watch_fired(cs, ZOO_CHILD_EVENT, PATH);
    assert_string_equal(requests(cs), "list");
    listed(cs, ZOK, "b c");
    assert_string_equal(requests(cs), "get:c");
    read_ok(cs, "c", "127.0.0.4", 8003);
    assert_string_equal(update(cs), "b@127.0.0.3:8002,c@127.0.0.4:8003");

    zk_child_set_watch_fired(cs, ZOO_CHANGED_EVENT, PATH "/c");
    assert_string_equal(requests(cs), "get:c");
    read_ok(cs, "c", "127.0.0.4", 9003);
    assert_string_equal(update(cs), "b@127.0.0.3:8002,c@127.0.0.4:9003");

    zk_child_set_watch_fired(cs, ZOO_CHANGED_EVENT, "/smartdock/services/other/c");
    zk_child_set_watch_fired(cs, ZOO_CHANGED_EVENT, PATH "x/c");
    assert_string_equal(requests(cs), "");
    zk_child_set_free(cs);
}

static void bad_child_is_skipped(void **state)
{
    (void)state;
    struct zk_child_set *cs = two_children();
    zk_child_set_watch_fired(cs, ZOO_CHANGED_EVENT, PATH "/a");
    assert_string_equal(requests(cs), "get:a");
    zk_child_set_read(cs, "a", ZOK, "{not json", 9, 0);
    assert_string_equal(update(cs), "b@127.0.0.3:8002");
    zk_child_set_free(cs);
}

/* A change while a listing is in flight lists once more afterwards. */
static void change_during_listing_lists_again(void **state)
{
    (void)state;
    struct zk_child_set *cs = two_children();
    zk_child_set_watch_fired(cs, ZOO_CHILD_EVENT, PATH);
    zk_child_set_watch_fired(cs, ZOO_CHILD_EVENT, PATH);
    assert_string_equal(requests(cs), "list");
    listed(cs, ZOK, "a b");
    assert_string_equal(requests(cs), "list");
    assert_string_equal(update(cs), "-");
    listed(cs, ZOK, "a");
    assert_string_equal(update(cs), "a@127.0.0.2:8001");
    zk_child_set_free(cs);
}

static void missing_path_is_watched_until_it_exists(void **state)
{
    (void)state;
    struct zk_child_set *cs = zk_child_set_new("web", PATH);
    zk_child_set_session(cs, true);
    assert_string_equal(requests(cs), "list");
    listed(cs, ZNONODE, "");
    assert_string_equal(requests(cs), "exists");
    zk_child_set_exists_answered(cs, ZNONODE);
    assert_string_equal(requests(cs), "");
    zk_child_set_watch_fired(cs, ZOO_CREATED_EVENT, PATH);
    assert_string_equal(requests(cs), "list");
    listed(cs, ZOK, "a");
    assert_string_equal(requests(cs), "get:a");
    read_ok(cs, "a", "127.0.0.2", 8001);
    assert_string_equal(update(cs), "a@127.0.0.2:8001");
    zk_child_set_free(cs);
}

/* A path that exists with no children is an answer: an empty view is
 * published at once, so the watcher does not wait for it. */
static void empty_path_is_an_answer(void **state)
{
    (void)state;
    struct zk_child_set *cs = zk_child_set_new("web", PATH);
    zk_child_set_session(cs, true);
    assert_string_equal(requests(cs), "list");
    listed(cs, ZOK, "");
    assert_string_equal(update(cs), "");
    assert_string_equal(update(cs), "-"); /* once */
    zk_child_set_free(cs);
}

/* Nothing is asked or published while ZooKeeper is away. */
static void nothing_while_disconnected(void **state)
{
    (void)state;
    struct zk_child_set *cs = two_children();
    zk_child_set_session(cs, false);
    zk_child_set_watch_fired(cs, ZOO_CHILD_EVENT, PATH);
    assert_string_equal(requests(cs), "");
    assert_string_equal(update(cs), "-");
    zk_child_set_free(cs);
}

/* Replays fc2ff04: after a reconnect every child is read again; a read lost
 * to another disconnection dropped that child from the next view, so the
 * watcher drained a healthy server. */
static void lost_reread_keeps_the_last_good_data(void **state)
{
    (void)state;
    struct zk_child_set *cs = two_children();
    zk_child_set_session(cs, false);
    zk_child_set_session(cs, true);
    assert_string_equal(requests(cs), "list");
    listed(cs, ZOK, "a b c"); /* c joined meanwhile */
    assert_string_equal(requests(cs), "get:a get:b get:c");
    zk_child_set_read(cs, "a", ZCONNECTIONLOSS, NULL, 0, 0);
    read_ok(cs, "b", "127.0.0.3", 8002);
    read_ok(cs, "c", "127.0.0.4", 8003);
    assert_string_equal(update(cs), "a@127.0.0.2:8001,b@127.0.0.3:8002,c@127.0.0.4:8003");
    zk_child_set_free(cs);
}

/* A child removed while its read is in flight: the read's answer is ignored. */
static void read_of_a_removed_child_is_ignored(void **state)
{
    (void)state;
    struct zk_child_set *cs = two_children();
    zk_child_set_watch_fired(cs, ZOO_CHANGED_EVENT, PATH "/a");
    zk_child_set_watch_fired(cs, ZOO_CHILD_EVENT, PATH);
    assert_string_equal(requests(cs), "get:a list");
    listed(cs, ZOK, "b");
    assert_string_equal(update(cs), "-");
    zk_child_set_read(cs, "a", ZNONODE, NULL, 0, 0);
    assert_string_equal(update(cs), "b@127.0.0.3:8002");
    zk_child_set_free(cs);
}

/* zookeeper_poll and discovery_jitter: a reread lists again and reads every
 * child again, so a data change no watch reported is found. */
static void reread_reads_everything(void **state)
{
    (void)state;
    struct zk_child_set *cs = two_children();
    zk_child_set_reread(cs);
    assert_string_equal(requests(cs), "list");
    listed(cs, ZOK, "a b c");
    assert_string_equal(requests(cs), "get:a get:b get:c");
    read_ok(cs, "a", "127.0.0.2", 8001);
    read_ok(cs, "b", "127.0.0.4", 8002); /* changed without a watch */
    assert_string_equal(update(cs), "-");
    read_ok(cs, "c", "127.0.0.5", 8003);
    assert_string_equal(update(cs), "a@127.0.0.2:8001,b@127.0.0.4:8002,c@127.0.0.5:8003");
    /* while disconnected a reread asks nothing: the reconnect reads everything */
    zk_child_set_session(cs, false);
    zk_child_set_reread(cs);
    assert_string_equal(requests(cs), "");
    zk_child_set_free(cs);
}

/* Issue 12: every list published holds the child set's one copy of each
 * backend (a reference, not a deep copy), sized exactly; a child read again
 * or removed leaves the lists already published intact (ASan checks). */
static void published_lists_share_one_copy(void **state)
{
    (void)state;
    struct zk_child_set *cs = zk_child_set_new("web", PATH);
    zk_child_set_session(cs, true);
    assert_string_equal(requests(cs), "list");
    listed(cs, ZOK, "a b c");
    assert_string_equal(requests(cs), "get:a get:b get:c");
    read_ok(cs, "a", "127.0.0.2", 8001);
    read_ok(cs, "b", "127.0.0.3", 8002);
    read_ok(cs, "c", "127.0.0.4", 8003);
    struct backend_list first, second;
    assert_true(zk_child_set_take_update(cs, &first));
    assert_int_equal(first.n, 3);
    assert_int_equal(first.cap, 3);
    zk_child_set_reread(cs); /* publishes again, the same data */
    assert_string_equal(requests(cs), "list");
    listed(cs, ZOK, "a b c");
    assert_string_equal(requests(cs), "get:a get:b get:c");
    /* only b's data is read again: a and c stay as they were */
    zk_child_set_read(cs, "a", ZCONNECTIONLOSS, NULL, 0, 0);
    read_ok(cs, "b", "127.0.0.5", 8002);
    zk_child_set_read(cs, "c", ZCONNECTIONLOSS, NULL, 0, 0);
    assert_true(zk_child_set_take_update(cs, &second));
    assert_int_equal(second.n, 3);
    assert_int_equal(second.cap, 3);
    assert_non_null(first.v[0].block);
    assert_ptr_equal(first.v[0].host, second.v[0].host); /* a: one copy */
    assert_ptr_equal(first.v[2].name, second.v[2].name); /* c: one copy */
    assert_string_equal(first.v[1].host, "127.0.0.3");   /* b: the old data kept */
    assert_string_equal(second.v[1].host, "127.0.0.5");

    zk_child_set_watch_fired(cs, ZOO_CHILD_EVENT, PATH);
    assert_string_equal(requests(cs), "list");
    listed(cs, ZOK, "b"); /* a and c gone */
    assert_string_equal(update(cs), "b@127.0.0.5:8002");
    zk_child_set_free(cs);
    backend_list_clear(&second);
    assert_string_equal(first.v[0].name, "a"); /* still readable */
    assert_string_equal(first.v[2].host, "127.0.0.4");
    backend_list_clear(&first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(children_and_data_watches),
        cmocka_unit_test(many_children_and_creation_order),
        cmocka_unit_test(bad_child_is_skipped),
        cmocka_unit_test(change_during_listing_lists_again),
        cmocka_unit_test(missing_path_is_watched_until_it_exists),
        cmocka_unit_test(empty_path_is_an_answer),
        cmocka_unit_test(nothing_while_disconnected),
        cmocka_unit_test(lost_reread_keeps_the_last_good_data),
        cmocka_unit_test(read_of_a_removed_child_is_ignored),
        cmocka_unit_test(reread_reads_everything),
        cmocka_unit_test(published_lists_share_one_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
