#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_check.h"

struct fixture {
    struct docker_container c;
    struct service_meta m;
    struct check_spec spec;
    int interval_ms;
    char *unmapped;
    char err[256];
};

/* SERVICE_* from env (JSON array text) and labels (JSON object text), for port. */
static int map(struct fixture *f, const char *env, const char *labels, int port)
{
    char json[4096], err[256] = "";
    memset(f, 0, sizeof *f);
    snprintf(json, sizeof json, "{\"Id\":\"abc\",\"Config\":{\"Env\":%s,\"Labels\":%s}}",
             env ? env : "null", labels ? labels : "null");
    if (docker_container_decode(json, strlen(json), &f->c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(0, service_meta_read(&f->c, port, &f->m));
    f->interval_ms = -7;
    return service_check_from_meta(&f->m, port, &f->spec, &f->interval_ms, &f->unmapped, f->err,
                                   sizeof f->err);
}

static void done(struct fixture *f, int rc)
{
    if (rc == 1) check_spec_clear(&f->spec);
    free(f->unmapped);
    service_meta_clear(&f->m);
    docker_container_clear(&f->c);
}

/* registrator's backends.md: the Consul HTTP check example. */
static void http_check(void **state)
{
    (void)state;
    struct fixture f;
    int rc = map(&f,
                 "[\"SERVICE_80_CHECK_HTTP=/health/endpoint/path\","
                 "\"SERVICE_80_CHECK_INTERVAL=15s\",\"SERVICE_80_CHECK_TIMEOUT=1s\"]",
                 NULL, 80);
    assert_int_equal(1, rc);
    assert_int_equal(CHECK_HTTP, f.spec.type);
    assert_string_equal("/health/endpoint/path", f.spec.uri);
    assert_false(f.spec.ssl);
    assert_int_equal(15000, f.interval_ms);
    assert_int_equal(1000, f.spec.timeout_ms);
    assert_int_equal(1000, f.spec.open_timeout_ms);
    assert_int_equal(1000, f.spec.read_timeout_ms);
    assert_int_equal(1, f.spec.rise);
    assert_int_equal(1, f.spec.fall);
    assert_null(f.spec.host); /* the registration's own address */
    assert_int_equal(0, f.spec.port);
    assert_null(f.unmapped);
    done(&f, rc);

    /* Another port's check is not this port's; defaults apply. */
    rc = map(&f, "[\"SERVICE_80_CHECK_HTTP=/a\",\"SERVICE_CHECK_HTTP=/b\"]", NULL, 443);
    assert_int_equal(1, rc);
    assert_string_equal("/b", f.spec.uri);
    assert_int_equal(SERVICE_CHECK_INTERVAL_DEFAULT_MS, f.interval_ms);
    assert_int_equal(SERVICE_CHECK_TIMEOUT_DEFAULT_MS, f.spec.timeout_ms);
    done(&f, rc);

    /* A label beats the environment; the per-port form beats the generic. */
    rc = map(&f, "[\"SERVICE_CHECK_HTTP=/env\"]", "{\"SERVICE_CHECK_HTTP\":\"/label\"}", 80);
    assert_string_equal("/label", f.spec.uri);
    done(&f, rc);
    rc = map(&f, "[\"SERVICE_80_CHECK_HTTP=/port\"]", "{\"SERVICE_CHECK_HTTP\":\"/generic\"}", 80);
    assert_string_equal("/port", f.spec.uri);
    done(&f, rc);
}

static void https_and_tcp(void **state)
{
    (void)state;
    struct fixture f;
    int rc = map(&f,
                 "[\"SERVICE_443_CHECK_HTTPS=/health\",\"SERVICE_443_CHECK_INTERVAL=1m30s\","
                 "\"SERVICE_CHECK_TLS_SKIP_VERIFY=true\",\"SERVICE_443_CHECK_HTTPS_METHOD=get\"]",
                 NULL, 443);
    assert_int_equal(1, rc);
    assert_int_equal(CHECK_HTTP, f.spec.type);
    assert_true(f.spec.ssl);
    assert_int_equal(90000, f.interval_ms);
    assert_null(f.unmapped);
    done(&f, rc);

    rc = map(&f, "[\"SERVICE_443_CHECK_TCP=true\",\"SERVICE_443_CHECK_TIMEOUT=3s\"]", NULL, 443);
    assert_int_equal(1, rc);
    assert_int_equal(CHECK_TCP, f.spec.type);
    assert_int_equal(3000, f.spec.timeout_ms);
    assert_null(f.spec.uri);
    done(&f, rc);
}

/* registrator's order: http wins over tcp; script wins over tcp, and
 * cannot run here, so there is no check and both are named. */
static void order_and_unmapped(void **state)
{
    (void)state;
    struct fixture f;
    int rc = map(&f,
                 "[\"SERVICE_CHECK_TCP=true\",\"SERVICE_CHECK_HTTP=/h\","
                 "\"SERVICE_CHECK_HTTP_METHOD=HEAD\",\"SERVICE_CHECK_INITIAL_STATUS=passing\"]",
                 NULL, 80);
    assert_int_equal(1, rc);
    assert_int_equal(CHECK_HTTP, f.spec.type);
    assert_string_equal(
        "SERVICE_CHECK_TCP, SERVICE_CHECK_HTTP_METHOD, SERVICE_CHECK_INITIAL_STATUS", f.unmapped);
    done(&f, rc);

    rc = map(&f,
             "[\"SERVICE_CHECK_SCRIPT=nc $SERVICE_IP $SERVICE_PORT\",\"SERVICE_CHECK_TCP=true\","
             "\"SERVICE_CHECK_INTERVAL=5s\"]",
             NULL, 80);
    assert_int_equal(0, rc);
    assert_string_equal("SERVICE_CHECK_SCRIPT, SERVICE_CHECK_TCP, SERVICE_CHECK_INTERVAL",
                        f.unmapped);
    done(&f, rc);

    rc = map(&f, NULL, "{\"SERVICE_80_CHECK_TTL\":\"30s\",\"SERVICE_CHECK_DOCKER\":\"x\"}", 80);
    assert_int_equal(0, rc);
    assert_string_equal("SERVICE_80_CHECK_TTL, SERVICE_CHECK_DOCKER", f.unmapped);
    done(&f, rc);

    rc = map(&f, "[\"SERVICE_CHECK_GRPC=true\",\"SERVICE_CHECK_CMD=/bin/true\"]", NULL, 80);
    assert_int_equal(0, rc);
    assert_string_equal("SERVICE_CHECK_GRPC, SERVICE_CHECK_CMD", f.unmapped);
    done(&f, rc);

    /* No check metadata: nothing, no warning; an empty value is unset. */
    rc = map(&f, "[\"SERVICE_NAME=web\",\"SERVICE_CHECK_HTTP=\"]", NULL, 80);
    assert_int_equal(0, rc);
    assert_null(f.unmapped);
    done(&f, rc);
}

static void bad_values(void **state)
{
    (void)state;
    struct fixture f;
    int rc = map(&f, "[\"SERVICE_CHECK_HTTP=health\"]", NULL, 80);
    assert_int_equal(-1, rc);
    assert_string_equal("SERVICE_CHECK_HTTP: expected a path like /health, without spaces, got "
                        "\"health\"",
                        f.err);
    assert_null(f.unmapped);
    done(&f, rc);
    rc = map(&f, "[\"SERVICE_8080_CHECK_HTTP=/h\",\"SERVICE_8080_CHECK_INTERVAL=15\"]", NULL, 8080);
    assert_int_equal(-1, rc);
    assert_string_equal("SERVICE_8080_CHECK_INTERVAL: expected a duration like 10s or 500ms, up "
                        "to 1h, got \"15\"",
                        f.err);
    done(&f, rc);
    rc = map(&f, "[\"SERVICE_CHECK_TCP=1\",\"SERVICE_CHECK_TIMEOUT=-1s\"]", NULL, 80);
    assert_int_equal(-1, rc);
    assert_non_null(strstr(f.err, "SERVICE_CHECK_TIMEOUT"));
    done(&f, rc);
    rc = map(&f, "[\"SERVICE_CHECK_HTTP=/a b\"]", NULL, 80);
    assert_int_equal(-1, rc);
    done(&f, rc);
}

static void durations(void **state)
{
    (void)state;
    long max = 3600L * 1000;
    assert_int_equal(10000, service_check_duration_ms("10s", max));
    assert_int_equal(500, service_check_duration_ms("500ms", max));
    assert_int_equal(1500, service_check_duration_ms("1.5s", max));
    assert_int_equal(90000, service_check_duration_ms("1m30s", max));
    assert_int_equal(3600000, service_check_duration_ms("1h", max));
    assert_int_equal(1, service_check_duration_ms("1500us", max) - 1);
    assert_int_equal(1, service_check_duration_ms("10ns", max)); /* rounded up */
    static const char *const bad[] = {"",   "10",   "s",   "10x", "-1s", "1h1s",
                                      "0s", "1e3s", " 1s", "1s ", "nan", "inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (service_check_duration_ms(bad[i], max) != -1) fail_msg("\"%s\" accepted", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_check),         cmocka_unit_test(https_and_tcp),
        cmocka_unit_test(order_and_unmapped), cmocka_unit_test(bad_values),
        cmocka_unit_test(durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
