/* dns_backends: targets plus answers make backends; failures keep the last answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dns_backends.h"
#include "dns_resolver.h"

static void push_target(struct backend_list *l, const char *name, const char *host, int port,
                        const char *az)
{
    struct backend b = {0};
    b.weight = BACKEND_WEIGHT_UNSET;
    b.name = name ? strdup(name) : NULL;
    b.host = strdup(host);
    b.port = port;
    if (az) assert_int_equal(backend_set_label(&b, "az", az), 0);
    assert_int_equal(backend_list_push(l, &b), 0);
}

static void expect(const struct dns_backends *db, const char *const *want, size_t n)
{
    struct backend_list out;
    assert_int_equal(dns_backends_build(db, &out), 0);
    if (out.n != n) {
        for (size_t i = 0; i < out.n; i++)
            print_message("got %s %s:%d\n", out.v[i].name, out.v[i].host, out.v[i].port);
        fail_msg("want %zu backends, got %zu", n, out.n);
    }
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s %s:%d", out.v[i].name, out.v[i].host, out.v[i].port);
        assert_string_equal(buf, want[i]);
    }
    backend_list_clear(&out);
}

static void ip_literals_need_no_lookup(void **state)
{
    (void)state;
    struct backend_list t = {0};
    push_target(&t, "a", "127.0.0.5", 80, NULL);
    push_target(&t, NULL, "::1", 81, NULL);
    struct dns_backends *db = dns_backends_new("svc");
    assert_int_equal(dns_backends_set_targets(db, &t), 0);
    struct strlist names = {0};
    assert_int_equal(dns_backends_names(db, &names), 0);
    assert_int_equal(names.n, 0);
    const char *want[] = {"a 127.0.0.5:80", "::1:81 ::1:81"};
    expect(db, want, 2);
    backend_list_clear(&t);
    dns_backends_free(db);
    assert_true(dns_is_ip_address("127.0.0.1"));
    assert_true(dns_is_ip_address("fe80::1"));
    assert_false(dns_is_ip_address("web.test"));
    assert_false(dns_is_ip_address("127.0.0.1:53"));
}

static void answers_make_backends(void **state)
{
    (void)state;
    struct backend_list t = {0};
    push_target(&t, "web", "web.test", 80, "a");
    push_target(&t, "web8", "web.test", 8080, NULL);
    push_target(&t, "api", "api.test", 90, NULL);
    struct dns_backends *db = dns_backends_new("svc");
    assert_int_equal(dns_backends_set_targets(db, &t), 0);
    struct strlist names = {0};
    assert_int_equal(dns_backends_names(db, &names), 0);
    assert_int_equal(names.n, 2); /* each name once */
    assert_string_equal(names.v[0], "web.test");
    assert_string_equal(names.v[1], "api.test");
    strlist_clear(&names);

    expect(db, NULL, 0); /* nothing answered yet */
    const char *web[] = {"127.0.0.3", "127.0.0.2", "127.0.0.3", "not-an-address"};
    assert_true(dns_backends_answer(db, "web.test", true, web, 4, ""));
    const char *want1[] = {"web 127.0.0.2:80", "web 127.0.0.3:80", "web8 127.0.0.2:8080",
                           "web8 127.0.0.3:8080"};
    expect(db, want1, 4);
    /* labels follow every address */
    struct backend_list out;
    assert_int_equal(dns_backends_build(db, &out), 0);
    assert_string_equal(backend_label(&out.v[1], "az"), "a");
    assert_null(backend_label(&out.v[2], "az"));
    backend_list_clear(&out);

    /* the same answer in another order is no change */
    const char *same[] = {"127.0.0.2", "127.0.0.3"};
    assert_false(dns_backends_answer(db, "web.test", true, same, 2, ""));
    /* a name no target uses is ignored */
    assert_false(dns_backends_answer(db, "other.test", true, same, 2, ""));
    backend_list_clear(&t);
    dns_backends_free(db);
}

static void failure_keeps_last_answer(void **state)
{
    (void)state;
    struct backend_list t = {0};
    push_target(&t, "web", "web.test", 80, NULL);
    struct dns_backends *db = dns_backends_new("svc");
    assert_int_equal(dns_backends_set_targets(db, &t), 0);
    /* never answered, then failing: no backend */
    assert_false(dns_backends_answer(db, "web.test", false, NULL, 0, "no such name"));
    expect(db, NULL, 0);
    const char *one[] = {"127.0.0.2"};
    assert_true(dns_backends_answer(db, "web.test", true, one, 1, ""));
    /* a failure, an empty answer and a timeout all keep it */
    assert_false(dns_backends_answer(db, "web.test", false, NULL, 0, "no such name"));
    assert_false(dns_backends_answer(db, "web.test", true, NULL, 0, ""));
    assert_false(dns_backends_answer(db, "web.test", false, NULL, 0, "timeout"));
    const char *want[] = {"web 127.0.0.2:80"};
    expect(db, want, 1);
    /* the record changes: the new address replaces the old */
    const char *two[] = {"127.0.0.3"};
    assert_true(dns_backends_answer(db, "web.test", true, two, 1, ""));
    const char *want2[] = {"web 127.0.0.3:80"};
    expect(db, want2, 1);
    backend_list_clear(&t);
    dns_backends_free(db);
}

/* zookeeper_dns: ZooKeeper replaces the targets; answers of names still
 * used are kept, those of names gone are forgotten. */
static void targets_replaced(void **state)
{
    (void)state;
    struct backend_list t = {0};
    push_target(&t, "a", "a.test", 80, NULL);
    push_target(&t, "b", "b.test", 80, NULL);
    struct dns_backends *db = dns_backends_new("svc");
    assert_int_equal(dns_backends_set_targets(db, &t), 0);
    const char *a[] = {"127.0.0.2"}, *b[] = {"127.0.0.3"};
    dns_backends_answer(db, "a.test", true, a, 1, "");
    dns_backends_answer(db, "b.test", true, b, 1, "");
    backend_list_clear(&t);
    push_target(&t, "a2", "a.test", 81, NULL);
    push_target(&t, "c", "c.test", 80, NULL);
    assert_int_equal(dns_backends_set_targets(db, &t), 0);
    const char *want[] = {"a2 127.0.0.2:81"};
    expect(db, want, 1);
    struct strlist names = {0};
    assert_int_equal(dns_backends_names(db, &names), 0);
    assert_int_equal(names.n, 2);
    assert_string_equal(names.v[0], "a.test");
    assert_string_equal(names.v[1], "c.test");
    strlist_clear(&names);
    /* b.test is forgotten: an answer for it changes nothing */
    assert_false(dns_backends_answer(db, "b.test", true, b, 1, ""));
    /* no targets at all */
    backend_list_clear(&t);
    assert_int_equal(dns_backends_set_targets(db, &t), 0);
    expect(db, NULL, 0);
    dns_backends_free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ip_literals_need_no_lookup),
        cmocka_unit_test(answers_make_backends),
        cmocka_unit_test(failure_keeps_last_answer),
        cmocka_unit_test(targets_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
