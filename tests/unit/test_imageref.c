#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "imageref.h"

struct parse_case {
    const char *in, *domain, *path, *tag, *digest;
};

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void assert_str_or_null(const char *want, const char *got)
{
    if (!want)
        assert_null(got);
    else
        assert_string_equal(want, got);
}

static void parses_and_normalises(void **state)
{
    static const struct parse_case cases[] = {
        {"busybox", "docker.io", "library/busybox", NULL, NULL},
        {"busybox:1.36", "docker.io", "library/busybox", "1.36", NULL},
        {"docker.io/library/busybox", "docker.io", "library/busybox", NULL, NULL},
        {"docker.io/busybox:latest", "docker.io", "library/busybox", "latest", NULL},
        {"index.docker.io/busybox", "docker.io", "library/busybox", NULL, NULL},
        {"local/nodeapp", "docker.io", "local/nodeapp", NULL, NULL},
        {"local/nodeapp:v2", "docker.io", "local/nodeapp", "v2", NULL},
        {"reg.example:5000/app:1.2", "reg.example:5000", "app", "1.2", NULL},
        {"reg.example:5000/team/app", "reg.example:5000", "team/app", NULL, NULL},
        {"localhost/app", "localhost", "app", NULL, NULL},
        {"localhost:5000/a/b/c:x_y-z.1", "localhost:5000", "a/b/c", "x_y-z.1", NULL},
        {"quay.io/coreos/etcd:v3.5.0", "quay.io", "coreos/etcd", "v3.5.0", NULL},
        {"[::1]:5000/app", "[::1]:5000", "app", NULL, NULL},
        {"app@" DIGEST, "docker.io", "library/app", NULL, DIGEST},
        {"reg.example:5000/app:1.2@" DIGEST, "reg.example:5000", "app", "1.2", DIGEST},
        {"my-app__x/sub--part.y", "docker.io", "my-app__x/sub--part.y", NULL, NULL},
        /* A lone host:port without a path is a name and a tag, as in Docker. */
        {"localhost:5000", "docker.io", "library/localhost", "5000", NULL},
        {"Reg.Example.COM/app", "Reg.Example.COM", "app", NULL, NULL},
    };
    char err[256];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct imageref r;
        int rc = imageref_parse(cases[i].in, &r, err, sizeof err);
        if (rc != 0) fail_msg("%s: %s", cases[i].in, err);
        assert_string_equal(cases[i].domain, r.domain);
        assert_string_equal(cases[i].path, r.path);
        assert_str_or_null(cases[i].tag, r.tag);
        assert_str_or_null(cases[i].digest, r.digest);
        imageref_clear(&r);
        assert_null(r.domain);
    }
}

static void refuses_bad_references(void **state)
{
    static const char *const bad[] = {
        "",
        "busy box",
        "busybox\n",
        "\tbusybox",
        "busy\x7f"
        "box",
        "Busybox",
        "local/NodeApp",
        "reg.example:5000/App:1",
        "busybox:",
        "busybox:.x",
        "busybox:-x",
        "busybox:a/b",
        ":tag",
        "/app",
        "app/",
        "a//b",
        "-app",
        "app-",
        "a..b",
        "a._b",
        "a___b",
        "reg.example:/app",
        "reg.example:50a0/app",
        "-reg.example/app",
        "reg..example/app",
        "under_score.example/app", /* has a '.', so a domain, and '_' is not allowed there */
        "app@",
        "app@sha256:abc",
        "app@sha256:" HEX64 "0",
        "app@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        "app@:" HEX64,
        "app@" DIGEST "@" DIGEST,
        "@" DIGEST,
        HEX64,
        "sha256:" HEX64,
        "caf\xc3\xa9",
    };
    char err[256];
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct imageref r;
        memset(err, 0, sizeof err);
        if (imageref_parse(bad[i], &r, err, sizeof err) == 0) fail_msg("accepted \"%s\"", bad[i]);
        assert_null(r.domain);
        assert_null(r.path);
        assert_true(strlen(err) > 0);
        assert_null(strchr(err, '\n'));
    }
    struct imageref r;
    assert_int_equal(-1, imageref_parse(NULL, &r, err, sizeof err));
    assert_int_equal(-1, imageref_parse("x y", &r, NULL, 0));
}

static void errors_name_the_value(void **state)
{
    struct imageref r;
    char err[256];
    (void)state;
    assert_int_equal(-1, imageref_parse("local/NodeApp:v2", &r, err, sizeof err));
    assert_non_null(strstr(err, "\"local/NodeApp:v2\""));
    assert_non_null(strstr(err, "uppercase"));
    assert_int_equal(-1, imageref_parse("bad\nname", &r, err, sizeof err));
    assert_non_null(strstr(err, "\"bad\\x0aname\""));
    assert_int_equal(-1, imageref_parse("", &r, err, sizeof err));
    assert_non_null(strstr(err, "empty"));
    /* A tiny buffer truncates but stays terminated. */
    assert_int_equal(-1, imageref_parse("A", &r, err, 5));
    assert_int_equal(4, strlen(err));
}

static void refuses_overlong_names(void **state)
{
    char name[300], err[256];
    struct imageref r;
    (void)state;
    /* docker.io/library/ + 237 = 255: the longest accepted. */
    memset(name, 'a', 237);
    name[237] = '\0';
    assert_int_equal(0, imageref_parse(name, &r, err, sizeof err));
    imageref_clear(&r);
    strcpy(name + 237, "b");
    assert_int_equal(-1, imageref_parse(name, &r, err, sizeof err));
    assert_non_null(strstr(err, "255"));
    char huge[5000];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(-1, imageref_parse(huge, &r, err, sizeof err));
    /* Tags are at most 128 characters. */
    char tagged[200] = "app:";
    memset(tagged + 4, 't', 129);
    tagged[133] = '\0';
    assert_int_equal(-1, imageref_parse(tagged, &r, err, sizeof err));
    tagged[132] = '\0';
    assert_int_equal(0, imageref_parse(tagged, &r, err, sizeof err));
    imageref_clear(&r);
}

struct match_case {
    const char *wanted, *have;
    bool match;
};

static void matches_like_synapse_and_docker(void **state)
{
    static const struct match_case cases[] = {
        /* No tag wanted: any tag of the same repository. */
        {"local/nodeapp", "local/nodeapp", true},
        {"local/nodeapp", "local/nodeapp:latest", true},
        {"local/nodeapp", "local/nodeapp:v2", true},
        {"local/nodeapp", "local/nodeapp@" DIGEST, true},
        {"local/nodeapp", "local/nodeapp2", false},
        {"local/nodeapp", "other/nodeapp", false},
        {"local/nodeapp", "reg.example/local/nodeapp", false},
        /* A tag wanted: that tag, a bare name meaning latest. */
        {"local/nodeapp:latest", "local/nodeapp", true},
        {"local/nodeapp:latest", "local/nodeapp:latest", true},
        {"local/nodeapp:latest", "local/nodeapp:v2", false},
        {"local/nodeapp:v2", "local/nodeapp:v2", true},
        {"local/nodeapp:v2", "local/nodeapp", false},
        {"local/nodeapp:latest", "local/nodeapp@" DIGEST, false},
        {"local/nodeapp:v2", "local/nodeapp:v2@" DIGEST, true},
        /* A digest wanted: that digest. */
        {"app@" DIGEST, "app@" DIGEST, true},
        {"app@" DIGEST, "app:1@" DIGEST, true},
        {"app@" DIGEST, "app", false},
        {"app@" DIGEST,
         "app@sha256:"
         "f123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         false},
        /* Normalisation. */
        {"docker.io/library/busybox", "busybox", true},
        {"busybox", "docker.io/library/busybox:1.36", true},
        {"index.docker.io/library/busybox:1.36", "busybox:1.36", true},
        {"library/busybox", "busybox", true},
        {"reg.example:5000/app:1.2", "reg.example:5000/app:1.2", true},
        {"reg.example:5000/app", "reg.example:5000/app:1.2", true},
        {"reg.example:5000/app", "reg.example:5001/app:1.2", false},
        {"reg.example:5000/app:1.3", "reg.example:5000/app:1.2", false},
        /* Image IDs and garbage never match. */
        {"busybox", HEX64, false},
        {"busybox", "sha256:" HEX64, false},
        {"busybox", "", false},
        {"busybox", "Busybox", false},
        {"Busybox", "busybox", false},
        {"", "busybox", false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (imageref_match(cases[i].wanted, cases[i].have) != cases[i].match)
            fail_msg("imageref_match(\"%s\", \"%s\") should be %s", cases[i].wanted, cases[i].have,
                     cases[i].match ? "true" : "false");
    }
    assert_false(imageref_match(NULL, "busybox"));
    assert_false(imageref_match("busybox", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_and_normalises),           cmocka_unit_test(refuses_bad_references),
        cmocka_unit_test(errors_name_the_value),           cmocka_unit_test(refuses_overlong_names),
        cmocka_unit_test(matches_like_synapse_and_docker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
