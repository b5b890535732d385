#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"

static void level_filter(void **state)
{
    (void)state;
    log_init("test", LL_WARN);
    assert_false(log_enabled(LL_INFO));
    assert_true(log_enabled(LL_ERROR));
    log_set_level(LL_DEBUG);
    assert_true(log_enabled(LL_DEBUG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(level_filter)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
