#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"

static void doubles_up_to_the_cap_without_jitter(void **state)
{
    struct backoff b;
    (void)state;
    backoff_init(&b, 250, 2000, 0, 1);
    unsigned want[] = {250, 500, 1000, 2000, 2000};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        assert_int_equal(want[i], backoff_next(&b));
    backoff_reset(&b);
    assert_int_equal(250, backoff_peek(&b));
    assert_int_equal(250, backoff_next(&b));
}

static void jitter_stays_within_its_bounds(void **state)
{
    struct backoff b;
    (void)state;
    backoff_init(&b, 250, 30000, 25, 42);
    unsigned nominal = 250;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(nominal, backoff_peek(&b));
        unsigned d = backoff_next(&b);
        assert_in_range(d, nominal - nominal / 4, nominal + nominal / 4);
        nominal = nominal * 2 > 30000 ? 30000 : nominal * 2;
    }
}

static void same_seed_same_delays(void **state)
{
    struct backoff a, b;
    int differ = 0;
    (void)state;
    backoff_init(&a, 1000, 1000, 50, 7);
    backoff_init(&b, 1000, 1000, 50, 7);
    for (int i = 0; i < 50; i++)
        assert_int_equal(backoff_next(&a), backoff_next(&b));
    backoff_init(&b, 1000, 1000, 50, 8);
    backoff_init(&a, 1000, 1000, 50, 7);
    for (int i = 0; i < 50; i++)
        differ += backoff_next(&a) != backoff_next(&b);
    assert_true(differ > 0);
}

static void odd_parameters_are_tamed(void **state)
{
    struct backoff b;
    (void)state;
    backoff_init(&b, 0, 0, 500, 0); /* min 1, max 1, jitter 100% */
    for (int i = 0; i < 20; i++)
        assert_in_range(backoff_next(&b), 1, 2);
    assert_true(backoff_seed(&b) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubles_up_to_the_cap_without_jitter),
        cmocka_unit_test(jitter_stays_within_its_bounds),
        cmocka_unit_test(same_seed_same_delays),
        cmocka_unit_test(odd_parameters_are_tamed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
