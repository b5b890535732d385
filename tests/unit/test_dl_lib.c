#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dl_lib.h"

static void *some_function;

static const struct dl_lib_symbol one_symbol[] = {{"curl_easy_init", &some_function}};

static void a_missing_library_is_named_with_what_needs_it(void **state)
{
    (void)state;
    struct dl_lib lib = {
        .soname = "libsmartdock-absent.so.0",
        .needed_for = "the test needs it",
        .symbols = one_symbol,
        .nsymbols = 1,
        DL_LIB_PRIVATE_INIT,
    };
    char err[512];
    assert_int_equal(dl_lib_load(&lib, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot load libsmartdock-absent.so.0 ("));
    assert_non_null(strstr(err, "the test needs it"));
    assert_false(dl_lib_loaded(&lib));
    /* the same answer the second time, without trying again */
    err[0] = 0;
    assert_int_equal(dl_lib_load(&lib, err, sizeof err), -1);
    assert_non_null(strstr(err, "libsmartdock-absent.so.0"));
    assert_null(some_function);
    /* for entry points with no error to hand back: logged, -1 every time */
    assert_int_equal(dl_lib_require(&lib), -1);
    assert_true(lib.logged);
    assert_int_equal(dl_lib_require(&lib), -1);
    assert_false(dl_lib_loaded(&lib));
}

static void a_missing_symbol_is_named(void **state)
{
    (void)state;
    void *absent = NULL;
    const struct dl_lib_symbol symbols[] = {{"curl_easy_init", &some_function},
                                            {"curl_no_such_function", &absent}};
    struct dl_lib lib = {
        .soname = "libcurl.so.4",
        .needed_for = "the test needs it",
        .symbols = symbols,
        .nsymbols = 2,
        DL_LIB_PRIVATE_INIT,
    };
    char err[512];
    assert_int_equal(dl_lib_load(&lib, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot load libcurl.so.4 (no symbol curl_no_such_function)"));
    assert_null(some_function); /* no half-filled table */
    assert_null(absent);
}

static void a_present_library_fills_the_table(void **state)
{
    (void)state;
    struct dl_lib lib = {
        .soname = "libcurl.so.4",
        .needed_for = "the test needs it",
        .symbols = one_symbol,
        .nsymbols = 1,
        DL_LIB_PRIVATE_INIT,
    };
    assert_int_equal(dl_lib_load(&lib, NULL, 0), 0);
    assert_int_equal(dl_lib_require(&lib), 0);
    assert_false(lib.logged);
    assert_true(dl_lib_loaded(&lib));
    assert_non_null(some_function);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_missing_library_is_named_with_what_needs_it),
        cmocka_unit_test(a_missing_symbol_is_named),
        cmocka_unit_test(a_present_library_fills_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
