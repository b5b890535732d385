#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_meta.h"

/* A container with env (JSON array text) and labels (JSON object text). */
static void container(struct docker_container *c, const char *env, const char *labels)
{
    char json[4096], err[256] = "";
    snprintf(json, sizeof json, "{\"Id\":\"abc\",\"Config\":{\"Env\":%s,\"Labels\":%s}}",
             env ? env : "null", labels ? labels : "null");
    if (docker_container_decode(json, strlen(json), c, err, sizeof err) < 0) fail_msg("%s", err);
}

struct fixture {
    struct docker_container c;
    struct service_meta m;
};

static void read_for(struct fixture *f, const char *env, const char *labels, int port)
{
    container(&f->c, env, labels);
    assert_int_equal(0, service_meta_read(&f->c, port, &f->m));
}

static void done(struct fixture *f)
{
    service_meta_clear(&f->m);
    docker_container_clear(&f->c);
}

/* services.md: "Single service with metadata", from env and from labels. */
static void env_and_labels(void **state)
{
    (void)state;
    struct fixture f;
    read_for(&f,
             "[\"SERVICE_NAME=db\",\"SERVICE_TAGS=master,backups\",\"SERVICE_REGION=us2\","
             "\"PATH=/bin\"]",
             NULL, 6379);
    assert_string_equal("db", service_meta_get(&f.m, "name"));
    assert_string_equal("master,backups", service_meta_get(&f.m, "tags"));
    assert_string_equal("us2", service_meta_get(&f.m, "region"));
    assert_null(service_meta_get(&f.m, "path"));
    assert_false(service_meta_from_port(&f.m, "name"));
    assert_int_equal(3, f.m.n);
    done(&f);

    read_for(&f, NULL,
             "{\"SERVICE_NAME\":\"db\",\"SERVICE_TAGS\":\"master,backups\","
             "\"SERVICE_REGION\":\"us2\",\"com.example\":\"x\"}",
             6379);
    assert_string_equal("db", service_meta_get(&f.m, "name"));
    assert_string_equal("us2", service_meta_get(&f.m, "region"));
    assert_int_equal(3, f.m.n);
    done(&f);
}

/* services.md: "Multiple services with metadata": per-port keys apply to
 * their port only; generic ones to every port. */
static void per_port(void **state)
{
    (void)state;
    const char *env = "[\"SERVICE_443_NAME=https\",\"SERVICE_443_ID=https.12345\","
                      "\"SERVICE_443_SNI=enabled\",\"SERVICE_80_NAME=http\",\"SERVICE_TAGS=www\"]";
    struct fixture f;
    read_for(&f, env, NULL, 443);
    assert_string_equal("https", service_meta_get(&f.m, "name"));
    assert_true(service_meta_from_port(&f.m, "name"));
    assert_string_equal("https.12345", service_meta_get(&f.m, "id"));
    assert_string_equal("enabled", service_meta_get(&f.m, "sni"));
    assert_string_equal("www", service_meta_get(&f.m, "tags"));
    assert_false(service_meta_from_port(&f.m, "tags"));
    done(&f);
    read_for(&f, env, NULL, 80);
    assert_string_equal("http", service_meta_get(&f.m, "name"));
    assert_null(service_meta_get(&f.m, "id"));
    assert_null(service_meta_get(&f.m, "sni"));
    done(&f);
    read_for(&f, env, NULL, 8080);
    assert_null(service_meta_get(&f.m, "name"));
    assert_string_equal("www", service_meta_get(&f.m, "tags"));
    done(&f);
}

/* registrator v7.4.0: per-port beats generic whatever the order; a label
 * beats an env variable of the same kind; the later entry wins. */
static void precedence(void **state)
{
    (void)state;
    struct fixture f;
    read_for(&f, "[\"SERVICE_80_NAME=port\",\"SERVICE_NAME=generic\"]", NULL, 80);
    assert_string_equal("port", service_meta_get(&f.m, "name"));
    done(&f);
    read_for(&f, "[\"SERVICE_NAME=generic\",\"SERVICE_80_NAME=port\"]", NULL, 80);
    assert_string_equal("port", service_meta_get(&f.m, "name"));
    done(&f);
    /* A generic label does not beat a per-port env variable... */
    read_for(&f, "[\"SERVICE_80_NAME=env-port\"]", "{\"SERVICE_NAME\":\"label\"}", 80);
    assert_string_equal("env-port", service_meta_get(&f.m, "name"));
    done(&f);
    /* ...but beats a generic one, and a per-port label beats a per-port env. */
    read_for(&f, "[\"SERVICE_NAME=env\",\"SERVICE_80_TAGS=env\"]",
             "{\"SERVICE_NAME\":\"label\",\"SERVICE_80_TAGS\":\"label\"}", 80);
    assert_string_equal("label", service_meta_get(&f.m, "name"));
    assert_string_equal("label", service_meta_get(&f.m, "tags"));
    done(&f);
    read_for(&f, "[\"SERVICE_NAME=first\",\"SERVICE_NAME=second\"]", NULL, 80);
    assert_string_equal("second", service_meta_get(&f.m, "name"));
    done(&f);
}

static void keys_and_values(void **state)
{
    (void)state;
    struct fixture f;
    /* Lowercased after the prefix; the prefix itself is case-sensitive. */
    read_for(&f,
             "[\"SERVICE_Region=eu\",\"service_name=no\",\"SERVICE_=empty-key\","
             "\"SERVICE_80=bare\",\"SERVICE_080_NAME=zero-padded\",\"SERVICE_80_=x\"]",
             NULL, 80);
    assert_string_equal("eu", service_meta_get(&f.m, "region"));
    assert_null(service_meta_get(&f.m, "name"));
    assert_string_equal("bare", service_meta_get(&f.m, "80"));
    assert_string_equal("x", service_meta_get(&f.m, "80_"));
    done(&f);
    /* Empty values are unset for name/tags/id; any other value ignores. */
    read_for(&f, "[\"SERVICE_NAME=\",\"SERVICE_IGNORE=\"]", NULL, 80);
    assert_null(service_meta_get(&f.m, "name"));
    assert_false(service_meta_ignored(&f.m));
    done(&f);
    read_for(&f, "[\"SERVICE_IGNORE=false\"]", NULL, 80);
    assert_true(service_meta_ignored(&f.m));
    done(&f);
    read_for(&f, "[\"SERVICE_443_IGNORE=true\"]", NULL, 80);
    assert_false(service_meta_ignored(&f.m));
    done(&f);
    read_for(&f, "[\"SERVICE_443_IGNORE=true\"]", NULL, 443);
    assert_true(service_meta_ignored(&f.m));
    done(&f);
    read_for(&f, NULL, NULL, 80);
    assert_int_equal(0, f.m.n);
    assert_null(service_meta_get(&f.m, "name"));
    done(&f);
    assert_false(service_meta_is_attr("name"));
    assert_false(service_meta_is_attr("id"));
    assert_false(service_meta_is_attr("tags"));
    assert_false(service_meta_is_attr("ignore"));
    assert_true(service_meta_is_attr("check_http"));
    assert_true(service_meta_is_attr("region"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_and_labels),
        cmocka_unit_test(per_port),
        cmocka_unit_test(precedence),
        cmocka_unit_test(keys_and_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
