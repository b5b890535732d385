#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "discovery.h"

static void reasons_are_the_offending_field(void **state)
{
    (void)state;
    char r[40];
    discovery_reject_reason("port: expected an integer 1..65535, got \"x\"", r, sizeof r);
    assert_string_equal(r, "port");
    discovery_reject_reason("payload: expected Nerve JSON, got malformed JSON (3 bytes)", r,
                            sizeof r);
    assert_string_equal(r, "payload");
    discovery_reject_reason("znode name: invalid base64 in \"x\"", r, sizeof r);
    assert_string_equal(r, "znode_name");
    discovery_reject_reason("haproxy_server_options: expected text", r, sizeof r);
    assert_string_equal(r, "haproxy_server_options");
    /* anything else is one bounded label, never the value itself */
    discovery_reject_reason("Weird: x", r, sizeof r);
    assert_string_equal(r, "other");
    discovery_reject_reason("no colon", r, sizeof r);
    assert_string_equal(r, "other");
    discovery_reject_reason(NULL, r, sizeof r);
    assert_string_equal(r, "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(reasons_are_the_offending_field)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
