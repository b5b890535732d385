#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "line_buffer.h"

struct seen {
    char lines[8][32];
    int n, stop_after;
};

static bool collect(void *arg, const char *line, size_t len)
{
    struct seen *s = arg;
    snprintf(s->lines[s->n], sizeof s->lines[0], "%.*s", (int)len, line);
    return ++s->n != s->stop_after;
}

static void lines_split_across_appends(void **state)
{
    (void)state;
    struct line_buffer b = {0};
    struct seen s = {.stop_after = -1};
    assert_int_equal(0, line_buffer_append(&b, "{\"a\":1}\r\n{\"b\"", 13, 1024));
    line_buffer_take_lines(&b, collect, &s);
    assert_int_equal(1, s.n);
    assert_string_equal("{\"a\":1}", s.lines[0]);
    assert_string_equal("{\"b\"", b.data); /* the partial tail stays */
    assert_int_equal(0, line_buffer_append(&b, ":2}\n\n\ntail", 11, 1024));
    line_buffer_take_lines(&b, collect, &s);
    assert_int_equal(2, s.n);
    assert_string_equal("{\"b\":2}", s.lines[1]);
    assert_string_equal("tail", b.data);
    line_buffer_free(&b);
}

static void stops_when_told_and_keeps_the_rest(void **state)
{
    (void)state;
    struct line_buffer b = {0};
    struct seen s = {.stop_after = 1};
    assert_int_equal(0, line_buffer_append(&b, "one\ntwo\nthree\n", 14, 1024));
    line_buffer_take_lines(&b, collect, &s);
    assert_int_equal(1, s.n);
    assert_string_equal("two\nthree\n", b.data);
    line_buffer_free(&b);
}

static void limit_refuses_and_appends_nothing(void **state)
{
    (void)state;
    struct line_buffer b = {0};
    assert_int_equal(0, line_buffer_append(&b, "12345", 5, 8));
    assert_int_equal(-1, line_buffer_append(&b, "678", 3, 8)); /* 8 + NUL > 8 */
    assert_int_equal(5, b.len);
    line_buffer_reset(&b);
    assert_int_equal(0, b.len);
    assert_string_equal("", b.data);
    line_buffer_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_split_across_appends),
        cmocka_unit_test(stops_when_told_and_keeps_the_rest),
        cmocka_unit_test(limit_refuses_and_appends_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
