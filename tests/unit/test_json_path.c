#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_path.h"
#include "strlist.h"

static cJSON *parse_sq(const char *sq)
{
    char *json = dq(sq), err[256] = "";
    struct json_ctx c = {.err = err, .errlen = sizeof err};
    cJSON *root = json_parse(&c, json, strlen(json), "test");
    if (!root) fail_msg("%s: %s", json, err);
    free(json);
    return root;
}

static void typed_getters_name_path_and_value(void **state)
{
    (void)state;
    char err[256] = "", *s = NULL;
    struct json_ctx c = {.err = err, .errlen = sizeof err};
    cJSON *root = parse_sq("{'port':'abc','n':7,'digits':'8000','b':1,'t':'a\\nb','ok':'x',"
                           "'nil':null,'f':1.5,'big':1e300}");
    int i = -1;
    assert_int_equal(
        json_get_int(&c, root, "services.nodesrv", "port", JSON_INT_NUMBER, 1, 65535, &i), -1);
    assert_string_equal(err, "services.nodesrv.port: expected an integer 1..65535, got \"abc\"");
    assert_int_equal(json_get_int(&c, root, NULL, "n", JSON_INT_NUMBER, 1, INT_MAX, &i), 0);
    assert_int_equal(i, 7);
    assert_int_equal(json_get_int(&c, root, NULL, "n", JSON_INT_NUMBER, 8, INT_MAX, &i), -1);
    assert_string_equal(err, "n: expected an integer >= 8, got 7");
    assert_int_equal(json_get_int(&c, root, "", "digits", JSON_INT_NUMBER, 1, 65535, &i), -1);
    assert_int_equal(json_get_int(&c, root, "", "digits", JSON_INT_NUMBER_OR_DIGITS, 1, 65535, &i),
                     0);
    assert_int_equal(i, 8000);
    assert_int_equal(json_get_int(&c, root, "", "f", JSON_INT_NUMBER, 0, 9, &i), -1);
    assert_string_equal(err, "f: expected an integer 0..9, got 1.5");

    /* Absent and null leave the default alone. */
    i = 42;
    assert_int_equal(json_get_int(&c, root, "", "nil", JSON_INT_NUMBER, 1, 2, &i), 0);
    assert_int_equal(json_get_int(&c, root, "", "absent", JSON_INT_NUMBER, 1, 2, &i), 0);
    assert_int_equal(i, 42);

    bool b = true;
    assert_int_equal(json_get_bool(&c, root, "x", "b", &b), -1);
    assert_string_equal(err, "x.b: expected true or false, got 1");
    assert_int_equal(json_get_text(&c, root, NULL, "t", &s), -1);
    assert_string_equal(err, "t: expected a string without control characters, got \"a\\nb\"");
    assert_int_equal(json_get_text(&c, root, NULL, "n", &s), -1);
    assert_string_equal(err, "n: expected a string, got 7");
    assert_null(s);
    assert_int_equal(json_get_text(&c, root, NULL, "ok", &s), 0);
    assert_string_equal(s, "x");
    free(s);

    double d = 0;
    assert_int_equal(json_get_number(&c, root, NULL, "big", 0, 10, &d), -1);
    assert_string_equal(err, "big: expected a number 0..10, got 1e+300");

    const cJSON *v = (const cJSON *)1;
    assert_int_equal(json_get(&c, root, NULL, "nil", JSON_OBJECT, &v), 0);
    assert_null(v);
    assert_int_equal(json_get(&c, root, NULL, "n", JSON_ARRAY, &v), -1);
    assert_string_equal(err, "n: expected an array, got 7");
    cJSON_Delete(root);
}

static void values_are_shown_escaped_and_short(void **state)
{
    (void)state;
    char buf[JSON_SHOWN_MAX + 8], long_value[300];
    cJSON *v = cJSON_CreateString("a\nb\x7f");
    json_describe(v, buf, sizeof buf);
    assert_string_equal(buf, "\"a\\nb?\"");
    cJSON_Delete(v);
    memset(long_value, 'x', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    v = cJSON_CreateString(long_value);
    json_describe(v, buf, sizeof buf);
    assert_int_equal(strlen(buf), JSON_SHOWN_MAX + 3);
    assert_string_equal(buf + JSON_SHOWN_MAX, "...");
    cJSON_Delete(v);
    json_describe(NULL, buf, sizeof buf);
    assert_string_equal(buf, "nothing");

    char path[64];
    json_path_key(path, sizeof path, "labels", "a\nb");
    assert_string_equal(path, "labels.a?b");
    json_path_quoted(path, sizeof path, "Config.Labels", "a\nb");
    assert_string_equal(path, "Config.Labels[\"a\\nb\"]");
    json_path_index(path, sizeof path, "hosts", 3);
    assert_string_equal(path, "hosts[3]");
}

static void keys_duplicates_and_warnings(void **state)
{
    (void)state;
    struct strlist w = {0};
    char err[128];
    struct json_ctx c = {.err = err, .errlen = sizeof err, .warnings = &w};
    cJSON *root = parse_sq("{'a':1,'x':2,'a':3,'old':4}");
    static const char *const known[] = {"a", NULL}, *const ignored[] = {"old", NULL};
    assert_int_equal(json_check_keys(&c, root, "top", known, ignored, "not used here"), 0);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.v[0], "duplicate key top.a: the last one is used");
    assert_string_equal(w.v[1], "unknown key top.x");
    assert_string_equal(w.v[2], "top.old: not used here");
    assert_null(w.v[3]);
    assert_int_equal(cJSON_GetNumberValue(json_member(root, "a")), 3);
    strlist_clear(&w);
    cJSON_Delete(root);
}

static void parse_refuses_what_cjson_would_cut(void **state)
{
    (void)state;
    char err[128];
    struct json_ctx c = {.err = err, .errlen = sizeof err};
    assert_null(json_parse(&c, "{\"a\":\"x\\u0000y\"}", 16, "doc"));
    assert_string_equal(err, "doc: a string holds \\u0000, which is not allowed");
    const char *escaped_backslash = "{\"a\":\"x\\\\u0000y\"} \n";
    cJSON *ok = json_parse(&c, escaped_backslash, strlen(escaped_backslash), "doc");
    assert_non_null(ok);
    cJSON_Delete(ok);
    assert_null(json_parse(&c, "{\"a\":1}\0", 8, "doc"));
    assert_string_equal(err, "doc: a NUL byte, which is not allowed");
    assert_null(json_parse(&c, "{\n  \"a\": tru\n}", 14, NULL));
    assert_string_equal(err, "malformed JSON at line 2, column 8");
    assert_null(json_parse(&c, "{} x", 4, "doc"));
    assert_string_equal(err, "doc: malformed JSON at line 1, column 4");
    assert_null(json_parse(&c, NULL, 0, "doc"));
    assert_string_equal(err, "doc: malformed JSON at line 1, column 1");
}

/* A front end that converted another syntax knows each node's line. */
static unsigned line_from_valueint(const cJSON *node, void *arg)
{
    (void)arg;
    const cJSON *line = json_member(node, "line");
    return line ? (unsigned)line->valueint : 0;
}

static void front_end_line_numbers(void **state)
{
    (void)state;
    char err[128];
    struct strlist w = {0};
    struct json_ctx c = {.err = err,
                         .errlen = sizeof err,
                         .warnings = &w,
                         .line_of = line_from_valueint,
                         .file = "smartdock.yaml"};
    cJSON *root = parse_sq("{'svc':{'line':7,'port':{'line':9}},'odd':{'line':3}}");
    const cJSON *svc = json_member(root, "svc");
    int port = 0;
    assert_int_equal(json_get_int(&c, svc, "svc", "port", JSON_INT_NUMBER, 1, 9, &port), -1);
    assert_string_equal(err,
                        "smartdock.yaml:9: svc.port: expected an integer 1..9, got {\"line\":9}");
    static const char *const known[] = {"svc", NULL};
    assert_int_equal(json_check_keys(&c, root, "", known, NULL, NULL), 0);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.v[0], "smartdock.yaml:3: unknown key odd");
    strlist_clear(&w);
    cJSON_Delete(root);
}

static void strlist_basics(void **state)
{
    (void)state;
    struct strlist l = {0};
    assert_int_equal(strlist_terminate(&l), 0);
    assert_non_null(l.v);
    assert_null(l.v[0]);
    assert_int_equal(strlist_push(&l, "a"), 0);
    assert_int_equal(strlist_pushf(&l, "%s-%d", "b", 2), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(strlist_pushf(&l, "%d", i), 0);
    assert_int_equal(l.n, 22);
    assert_string_equal(l.v[1], "b-2");
    assert_null(l.v[22]);
    assert_true(strlist_contains(&l, "19"));
    assert_false(strlist_contains(&l, "20"));
    strlist_clear(&l);
    assert_null(l.v);
    assert_int_equal(l.n, 0);
    strlist_clear(&l); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typed_getters_name_path_and_value),
        cmocka_unit_test(values_are_shown_escaped_and_short),
        cmocka_unit_test(keys_duplicates_and_warnings),
        cmocka_unit_test(parse_refuses_what_cjson_would_cut),
        cmocka_unit_test(front_end_line_numbers),
        cmocka_unit_test(strlist_basics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
