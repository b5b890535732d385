#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check_window.h"

/* A literal model of Nerve's BaseServiceCheck#up?: a ring buffer of
 * max(rise, fall) results, filled with the first one. */
struct model {
    int rise, fall, size, len;
    bool buf[64];
    int last; /* -1 nil, 0 false, 1 true */
};

static void model_push_raw(struct model *m, bool v)
{
    if (m->len == m->size) {
        memmove(m->buf, m->buf + 1, (size_t)(m->size - 1) * sizeof *m->buf);
        m->len--;
    }
    m->buf[m->len++] = v;
}

static bool model_all(const struct model *m, int n, bool v)
{
    for (int i = m->len - n; i < m->len; i++)
        if (i < 0 || m->buf[i] != v) return false;
    return true;
}

static bool model_push(struct model *m, bool v)
{
    if (m->last < 0) {
        m->last = v;
        for (int i = 0; i < m->size; i++)
            model_push_raw(m, v);
    }
    model_push_raw(m, v);
    if (model_all(m, m->fall, false)) m->last = 0;
    if (model_all(m, m->rise, true)) m->last = 1;
    return m->last == 1;
}

static bool run(int rise, int fall, const char *seq, char *states)
{
    struct check_window w;
    check_window_init(&w, rise, fall);
    bool up = false;
    for (size_t i = 0; seq[i]; i++) {
        up = check_window_push(&w, seq[i] == '+');
        states[i] = up ? 'U' : 'D';
    }
    states[strlen(seq)] = 0;
    return up;
}

static void first_result_fills_the_window(void **state)
{
    (void)state;
    char s[64];
    run(3, 2, "+", s);
    assert_string_equal(s, "U"); /* up at start: registered at once */
    run(3, 2, "-", s);
    assert_string_equal(s, "D");
}

static void rise_and_fall(void **state)
{
    (void)state;
    char s[64];
    run(3, 2, "-++-+++--+", s);
    assert_string_equal(s, "DDDDDDUUDD");
    run(1, 1, "+-+-", s);
    assert_string_equal(s, "UDUD");
    run(2, 3, "+--+--+-", s);
    assert_string_equal(s, "UUUUUUUU");
    run(2, 3, "+---++", s);
    assert_string_equal(s, "UUUDDU");
}

static void matches_nerve_ring_buffer(void **state)
{
    (void)state;
    srand(13);
    for (int round = 0; round < 2000; round++) {
        int rise = 1 + rand() % 5, fall = 1 + rand() % 5;
        struct model m = {
            .rise = rise, .fall = fall, .size = rise > fall ? rise : fall, .last = -1};
        struct check_window w;
        check_window_init(&w, rise, fall);
        for (int i = 0; i < 40; i++) {
            bool v = rand() % 3 != 0;
            assert_int_equal(check_window_push(&w, v), model_push(&m, v));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_result_fills_the_window),
        cmocka_unit_test(rise_and_fall),
        cmocka_unit_test(matches_nerve_ring_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
