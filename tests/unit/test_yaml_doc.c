#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "yaml_doc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses text, fails the test on error, returns the document. */
static struct yaml_doc *parse_ok(const char *text)
{
    char err[256];
    struct yaml_doc *doc = yaml_doc_parse(text, strlen(text), err, sizeof err);
    if (!doc) fail_msg("parse failed: %s", err);
    return doc;
}

/* The document's root printed as compact JSON, for whole-tree comparisons. */
static void assert_json(const char *yaml, const char *json)
{
    struct yaml_doc *doc = parse_ok(yaml);
    char *got = cJSON_PrintUnformatted(yaml_doc_root(doc));
    assert_string_equal(got, json);
    free(got);
    yaml_doc_free(doc);
}

static void assert_parse_error(const char *yaml, const char *want)
{
    char err[256];
    struct yaml_doc *doc = yaml_doc_parse(yaml, strlen(yaml), err, sizeof err);
    assert_null(doc);
    if (!strstr(err, want)) fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void synapse_readme_config(void **state)
{
    (void)state;
    /* The shape of Synapse's README example, with a comment and a list. */
    assert_json("---\n"
                "services:\n"
                "  service1:\n"
                "    discovery:\n"
                "      method: \"zookeeper\"   # where to look\n"
                "      path:  \"/airbnb/service/service1\"\n"
                "      hosts: \"zk0.airbnb.com:2181\"\n"
                "    haproxy:\n"
                "      port: 3213\n"
                "      server_options: \"check inter 2s rise 3 fall 2\"\n"
                "      listen:\n"
                "        - mode http\n"
                "        - option httpchk /health\n",
                "{\"services\":{\"service1\":{\"discovery\":{\"method\":\"zookeeper\","
                "\"path\":\"/airbnb/service/service1\",\"hosts\":\"zk0.airbnb.com:2181\"},"
                "\"haproxy\":{\"port\":3213,\"server_options\":\"check inter 2s rise 3 fall 2\","
                "\"listen\":[\"mode http\",\"option httpchk /health\"]}}}}");
}

static void scalars_typed_as_psych(void **state)
{
    (void)state;
    assert_json(
        "[~, null, true, yes, On, FALSE, no, off, 42, -7, 0x1f, 0o17, 017, 1_000, 1.5, 1e3, "
        "'5', \"true\", !!str 7, !!int \"8\", abc, 1.2.3, 127.0.0.1]",
        "[null,null,true,true,true,false,false,false,42,-7,31,15,15,1000,1.5,1000,"
        "\"5\",\"true\",\"7\",8,\"abc\",\"1.2.3\",\"127.0.0.1\"]");
    assert_json("empty:\nport: \"5\"\n", "{\"empty\":null,\"port\":\"5\"}");
    struct yaml_doc *doc = parse_ok("[.inf, -.inf, .nan]");
    const cJSON *root = yaml_doc_root(doc);
    assert_true(isinf(cJSON_GetArrayItem(root, 0)->valuedouble));
    assert_true(cJSON_GetArrayItem(root, 1)->valuedouble < 0);
    assert_true(isnan(cJSON_GetArrayItem(root, 2)->valuedouble));
    yaml_doc_free(doc);
}

static void json_is_yaml(void **state)
{
    (void)state;
    assert_json("{\"a\": [1, 2, {\"b\": null}], \"c\": \"d\"}",
                "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}");
}

static void anchors_aliases_and_merge_keys(void **state)
{
    (void)state;
    assert_json("defaults: &defaults\n"
                "  method: zookeeper\n"
                "  hosts: [\"127.0.0.1:2181\"]\n"
                "a:\n"
                "  <<: *defaults\n"
                "  path: /a\n"
                "b:\n"
                "  <<: *defaults\n"
                "  method: etcd\n"
                "c: *defaults\n",
                "{\"defaults\":{\"method\":\"zookeeper\",\"hosts\":[\"127.0.0.1:2181\"]},"
                "\"a\":{\"path\":\"/a\",\"method\":\"zookeeper\",\"hosts\":[\"127.0.0.1:2181\"]},"
                "\"b\":{\"method\":\"etcd\",\"hosts\":[\"127.0.0.1:2181\"]},"
                "\"c\":{\"method\":\"zookeeper\",\"hosts\":[\"127.0.0.1:2181\"]}}");
    /* A list of merges: the first one wins over the later ones. */
    assert_json(
        "x: &x {k: 1, a: 1}\ny: &y {k: 2, b: 2}\nz:\n  <<: [*x, *y]\n",
        "{\"x\":{\"k\":1,\"a\":1},\"y\":{\"k\":2,\"b\":2},\"z\":{\"k\":1,\"a\":1,\"b\":2}}");
    assert_parse_error("a: 1\nb:\n  <<: 3\n", "line 3: a merge key");
    assert_parse_error("a: *nope\n", "line 1: unknown alias *nope");
    /* cJSON strings end at a NUL: a "\0" escape would cut a value short. */
    assert_parse_error("a: \"x\\0y\"\n", "line 1: a string holds a NUL character");
    assert_parse_error("a: \"\\x00\": 1\n", "a string holds a NUL character");
}

static void multi_line_strings(void **state)
{
    (void)state;
    assert_json("literal: |\n  line one\n  line two\nfolded: >\n  a\n  b\nplain: a\n  b\n",
                "{\"literal\":\"line one\\nline two\\n\",\"folded\":\"a b\\n\",\"plain\":\"a b\"}");
}

static void duplicate_key_last_wins(void **state)
{
    (void)state;
    assert_json("a: 1\na: 2\n", "{\"a\":2}");
}

static void lines_are_kept(void **state)
{
    (void)state;
    struct yaml_doc *doc = parse_ok("# comment\n"
                                    "services:\n"
                                    "  web:\n"
                                    "    haproxy:\n"
                                    "      port: abc\n"
                                    "base: &b\n"
                                    "  x: 1\n"
                                    "copy: *b\n");
    const cJSON *root = yaml_doc_root(doc);
    const cJSON *port = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "services"), "web"),
                            "haproxy"),
        "port");
    assert_int_equal(yaml_doc_line_of(doc, port), 5);
    assert_int_equal(yaml_doc_line_of(doc, cJSON_GetObjectItem(root, "services")), 3);
    /* An aliased copy reports the line of the anchored original. */
    const cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "copy"), "x");
    assert_int_equal(yaml_doc_line_of(doc, x), 7);
    cJSON *stranger = cJSON_CreateNull();
    assert_int_equal(yaml_doc_line_of(doc, stranger), 0);
    cJSON_Delete(stranger);
    yaml_doc_free(doc);
}

static void errors_name_the_line(void **state)
{
    (void)state;
    assert_parse_error("a: b\n c: d\n  e\n", "line 2:");
    assert_parse_error("a: [1, 2\n", "line 2:");
    assert_parse_error("? [1]\n: 2\n", "only scalar mapping keys");
    assert_parse_error("\"unterminated\n", "line ");
}

static void empty_document_is_null(void **state)
{
    (void)state;
    assert_json("", "null");
    assert_json("# only a comment\n", "null");
    /* Only the first document of a stream counts. */
    assert_json("--- 1\n--- 2\n", "1");
}

static void alias_bombs_are_refused(void **state)
{
    (void)state;
    /* Each level doubles the last: 2^20 nodes if expanded. */
    char text[4096] = "a0: &a0 [x, x]\n";
    for (int i = 1; i <= 20; i++) {
        char line[64];
        snprintf(line, sizeof line, "a%d: &a%d [*a%d, *a%d]\n", i, i, i - 1, i - 1);
        strcat(text, line);
    }
    assert_parse_error(text, "too many nodes");
    /* Deep nesting is refused, not a stack overflow. */
    char deep[2048];
    memset(deep, '[', 600);
    deep[600] = '\0';
    assert_parse_error(deep, "nested deeper");
}

/* Just under the node bound, every copied node keeps its original's line.
 * Looking lines up by a scan made this take over two minutes under the
 * sanitizers, past ctest's limit; by hash it takes about a second. */
static void large_alias_expansion_keeps_lines(void **state)
{
    (void)state;
    /* Level i holds two copies of level i-1: 196,592 nodes in all, under the bound of 200,000. */
    char text[4096] = "a0: &a0\n  k: v\n";
    for (int i = 1; i <= 15; i++) {
        char line[64];
        snprintf(line, sizeof line, "a%d: &a%d [*a%d, *a%d]\n", i, i, i - 1, i - 1);
        strcat(text, line);
    }
    char err[256] = "";
    struct yaml_doc *doc = yaml_doc_parse(text, strlen(text), err, sizeof err);
    assert_non_null(doc);
    const cJSON *leaf = cJSON_GetObjectItem(yaml_doc_root(doc), "a15");
    for (int i = 15; i > 0; i--)
        leaf = cJSON_GetArrayItem(leaf, 1);
    assert_non_null(cJSON_GetObjectItem(leaf, "k"));
    assert_int_equal(yaml_doc_line_of(doc, cJSON_GetObjectItem(leaf, "k")), 2);
    assert_int_equal(yaml_doc_line_of(doc, cJSON_GetObjectItem(yaml_doc_root(doc), "a15")), 17);
    yaml_doc_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(synapse_readme_config),
        cmocka_unit_test(scalars_typed_as_psych),
        cmocka_unit_test(json_is_yaml),
        cmocka_unit_test(anchors_aliases_and_merge_keys),
        cmocka_unit_test(multi_line_strings),
        cmocka_unit_test(duplicate_key_last_wins),
        cmocka_unit_test(lines_are_kept),
        cmocka_unit_test(errors_name_the_line),
        cmocka_unit_test(empty_document_is_null),
        cmocka_unit_test(alias_bombs_are_refused),
        cmocka_unit_test(large_alias_expansion_keeps_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
