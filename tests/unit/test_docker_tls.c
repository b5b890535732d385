#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "docker_client.h"

/* DOCKER_TLS_VERIFY / DOCKER_CERT_PATH as the Docker CLI reads them. */
static void from_env(void **state)
{
    (void)state;
    struct docker_tls t;
    assert_int_equal(0, docker_tls_from_env(NULL, "/certs", "/root", &t));
    assert_false(t.enabled);
    assert_null(t.ca_file);
    assert_int_equal(0, docker_tls_from_env("", "/certs", "/root", &t));
    assert_false(t.enabled);

    assert_int_equal(0, docker_tls_from_env("1", "/etc/docker/certs", "/root", &t));
    assert_true(t.enabled);
    assert_string_equal("/etc/docker/certs/ca.pem", t.ca_file);
    assert_string_equal("/etc/docker/certs/cert.pem", t.cert_file);
    assert_string_equal("/etc/docker/certs/key.pem", t.key_file);
    docker_tls_clear(&t);
    assert_null(t.ca_file);

    assert_int_equal(0, docker_tls_from_env("yes", NULL, "/home/op", &t));
    assert_string_equal("/home/op/.docker/ca.pem", t.ca_file);
    docker_tls_clear(&t);
    assert_int_equal(0, docker_tls_from_env("1", "", "/home/op", &t));
    assert_string_equal("/home/op/.docker/key.pem", t.key_file);
    docker_tls_clear(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(from_env)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
