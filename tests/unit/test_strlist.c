#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "strlist.h"

static void push_keeps_the_array_terminated(void **state)
{
    (void)state;
    struct strlist l = {0};
    assert_int_equal(strlist_push(&l, "a"), 0);
    assert_int_equal(strlist_pushf(&l, "%s:%d", "b", 2), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[1], "b:2");
    assert_null(l.v[2]);
    assert_true(strlist_contains(&l, "a"));
    assert_false(strlist_contains(&l, "b"));
    strlist_clear(&l);
    assert_null(l.v);
    assert_int_equal(l.n, 0);
}

static void equal_means_same_strings_in_order(void **state)
{
    (void)state;
    struct strlist a = {0}, b = {0};
    assert_true(strlist_equal(&a, &b));
    strlist_push(&a, "zk1:2181");
    strlist_push(&a, "zk2:2181");
    assert_false(strlist_equal(&a, &b));
    assert_int_equal(strlist_extend(&b, &a), 0);
    assert_true(strlist_equal(&a, &b));
    assert_ptr_not_equal(a.v[0], b.v[0]); /* copies */
    strlist_sort(&b);
    assert_true(strlist_equal(&a, &b));
    strlist_clear(&b);
    strlist_push(&b, "zk2:2181");
    strlist_push(&b, "zk1:2181");
    assert_false(strlist_equal(&a, &b));
    strlist_sort(&b);
    assert_true(strlist_equal(&a, &b));
    strlist_clear(&a);
    strlist_clear(&b);
}

static void join_puts_sep_between(void **state)
{
    (void)state;
    struct strlist l = {0};
    char *s = strlist_join(&l, ",");
    assert_string_equal(s, "");
    free(s);
    strlist_push(&l, "a:1");
    s = strlist_join(&l, ",");
    assert_string_equal(s, "a:1");
    free(s);
    strlist_push(&l, "b:2");
    strlist_push(&l, "");
    s = strlist_join(&l, ", ");
    assert_string_equal(s, "a:1, b:2, ");
    free(s);
    strlist_clear(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(push_keeps_the_array_terminated),
        cmocka_unit_test(equal_means_same_strings_in_order),
        cmocka_unit_test(join_puts_sep_between),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
