/* dns_resolver on a real loop, without a DNS server: answers arrive on the
 * loop (never inside dns_resolver_lookup), a failure says why, and freeing
 * the resolver with lookups pending calls nothing and leaks nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dns_resolver.h"
#include "loop.h"

struct seen {
    struct loop *loop;
    int calls, ok;
    char addr[64], why[128];
};

static void on_answer(void *arg, const char *name, int ok, const char *const *addrs, size_t n,
                      const char *why)
{
    (void)name;
    struct seen *s = arg;
    s->calls++;
    s->ok = ok;
    snprintf(s->addr, sizeof s->addr, "%s", n ? addrs[0] : "");
    snprintf(s->why, sizeof s->why, "%s", why);
    loop_stop(s->loop);
}

static void give_up(void *arg)
{
    loop_stop(arg);
}

static void numeric_names_answer_on_the_loop(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    struct strlist ns = {0};
    strlist_push(&ns, "127.0.0.1:1"); /* nothing listens: DNS must not be needed */
    char err[128];
    struct dns_resolver *r = dns_resolver_new(l, &ns, err, sizeof err);
    assert_non_null(r);
    struct seen s = {.loop = l};
    assert_int_equal(dns_resolver_lookup(r, "127.0.0.7", on_answer, &s), 0);
    assert_int_equal(s.calls, 0); /* never from inside the call */
    loop_timer(l, 10000, give_up, l);
    loop_run(l);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.ok, 1);
    assert_string_equal(s.addr, "127.0.0.7");
    dns_resolver_free(r);
    strlist_clear(&ns);
    loop_free(l);
}

static void unreachable_server_fails_and_free_drops_pending(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    struct strlist ns = {0};
    strlist_push(&ns, "127.0.0.1:1"); /* refused at once */
    char err[128];
    struct dns_resolver *r = dns_resolver_new(l, &ns, err, sizeof err);
    assert_non_null(r);
    struct seen s = {.loop = l};
    assert_int_equal(dns_resolver_lookup(r, "web.test", on_answer, &s), 0);
    loop_timer(l, 20000, give_up, l);
    loop_run(l);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.ok, 0);
    assert_true(s.why[0] != '\0');

    /* pending: neither called nor leaked */
    struct seen pending = {.loop = l};
    assert_int_equal(dns_resolver_lookup(r, "other.test", on_answer, &pending), 0);
    assert_int_equal(dns_resolver_lookup(r, "127.0.0.8", on_answer, &pending), 0);
    dns_resolver_free(r);
    loop_run_posts(l);
    assert_int_equal(pending.calls, 0);
    strlist_clear(&ns);
    loop_free(l);
}

static void bad_nameserver_is_refused(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    struct strlist ns = {0};
    strlist_push(&ns, "not an address");
    char err[128] = "";
    assert_null(dns_resolver_new(l, &ns, err, sizeof err));
    assert_true(strstr(err, "nameserver") != NULL);
    strlist_clear(&ns);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numeric_names_answer_on_the_loop),
        cmocka_unit_test(unreachable_server_fails_and_free_drops_pending),
        cmocka_unit_test(bad_nameserver_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
