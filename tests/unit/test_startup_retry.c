#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "startup_retry.h"

/* registrator's default: -retry-attempts 0, one attempt and out. */
static void zero_attempts_gives_up_after_one(void **state)
{
    (void)state;
    struct startup_retry s;
    startup_retry_init(&s, 0, 2000);
    assert_true(startup_retry_active(&s));
    assert_int_equal(STARTUP_RETRY_GIVE_UP, startup_retry_attempt(&s, false));
}

static void n_attempts_means_n_retries(void **state)
{
    (void)state;
    struct startup_retry s;
    startup_retry_init(&s, 3, 100);
    for (int i = 0; i < 3; i++)
        assert_int_equal(STARTUP_RETRY_WAIT, startup_retry_attempt(&s, false));
    assert_int_equal(STARTUP_RETRY_GIVE_UP, startup_retry_attempt(&s, false));
    /* Connected on the last attempt still counts. */
    startup_retry_init(&s, 3, 100);
    for (int i = 0; i < 3; i++)
        assert_int_equal(STARTUP_RETRY_WAIT, startup_retry_attempt(&s, false));
    assert_int_equal(STARTUP_RETRY_CONNECTED, startup_retry_attempt(&s, true));
}

static void connected_at_once(void **state)
{
    (void)state;
    struct startup_retry s;
    startup_retry_init(&s, 0, 1);
    assert_int_equal(STARTUP_RETRY_CONNECTED, startup_retry_attempt(&s, true));
}

static void minus_one_is_forever(void **state)
{
    (void)state;
    struct startup_retry s;
    startup_retry_init(&s, -1, 2000);
    assert_false(startup_retry_active(&s));
    for (int i = 0; i < 10000; i++)
        assert_int_equal(STARTUP_RETRY_WAIT, startup_retry_attempt(&s, false));
    startup_retry_init(&s, -7, 0); /* clamped */
    assert_false(startup_retry_active(&s));
    assert_int_equal(1, s.interval_ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zero_attempts_gives_up_after_one),
        cmocka_unit_test(n_attempts_means_n_retries),
        cmocka_unit_test(connected_at_once),
        cmocka_unit_test(minus_one_is_forever),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
