#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "base64.h"
#include "etcd_codec.h"

/* Replies as etcd 3.4.23's gateway sent them (tests/e2e talk to the same). */
#define HEADER                                                                                     \
    "\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":\"13668033151171901709\","  \
    "\"revision\":\"3\",\"raft_term\":\"2\"}"
static const char RANGE_REPLY[] =
    "{" HEADER ",\"kvs\":[{\"key\":\"L3NkL3dlYi9h\",\"create_revision\":\"2\",\"mod_revision\":"
    "\"2\",\"version\":\"1\",\"value\":\"aGVsbG8=\",\"lease\":\"4111120231781142536\"},{\"key\":"
    "\"L3NkL3dlYi9i\",\"create_revision\":\"3\",\"mod_revision\":\"3\",\"version\":\"1\","
    "\"value\":\"aGVsbG8=\"}],\"count\":\"2\"}";
static const char EMPTY_RANGE_REPLY[] = "{" HEADER "}";
static const char WATCH_CREATED[] = "{\"result\":{" HEADER ",\"created\":true}}";
static const char WATCH_EVENTS[] =
    "{\"result\":{" HEADER ",\"events\":[{\"kv\":{\"key\":\"L3NkL3dlYi96\",\"create_revision\":"
    "\"5\",\"mod_revision\":\"5\",\"version\":\"1\",\"value\":\"djE=\"}},{\"type\":\"DELETE\","
    "\"kv\":{\"key\":\"L3NkL3dlYi9h\",\"mod_revision\":\"6\"}}]}}";
static const char WATCH_COMPACTED[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":"
    "\"13668033151171901709\",\"raft_term\":\"2\"},\"canceled\":true,\"compact_revision\":\"5\"}}";
static const char WATCH_NO_TOKEN[] =
    "{\"result\":{" HEADER ",\"watch_id\":\"-1\",\"created\":true,\"canceled\":true,"
    "\"cancel_reason\":\"rpc error: code = InvalidArgument desc = etcdserver: user name is "
    "empty\"}}";
static const char GRANT_REPLY[] = "{" HEADER ",\"ID\":\"4111120231781142536\",\"TTL\":\"5\"}";
static const char KEEPALIVE_REPLY[] =
    "{\"result\":{" HEADER ",\"ID\":\"4111120231781142536\",\"TTL\":\"5\"}}\n";
static const char KEEPALIVE_GONE[] = "{\"result\":{" HEADER ",\"ID\":\"12345\"}}\n";
static const char LEASE_NOT_FOUND[] =
    "{\"error\":\"etcdserver: requested lease not found\",\"message\":\"etcdserver: requested "
    "lease not found\",\"code\":5}";
static const char STREAM_ERROR[] =
    "{\"error\":{\"grpc_code\":16,\"http_code\":401,\"message\":\"etcdserver: invalid auth "
    "token\",\"http_status\":\"Unauthorized\"}}";
static const char TOKEN_REPLY[] = "{" HEADER ",\"token\":\"WkoixjhKncJsuYFl.26\"}";

static cJSON *parse(const char *text)
{
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    return root;
}

/* The decoded bytes of a base64 string member. */
static char *member_bytes(const cJSON *o, const char *name, size_t *len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsString(v));
    char *out = base64_decode(v->valuestring, strlen(v->valuestring), len);
    assert_non_null(out);
    return out;
}

static const char *member_string(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void test_prefix_end(void **state)
{
    (void)state;
    size_t n;
    char *end = etcd_prefix_end("/sd/web/", 8, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(end, "/sd/web0", 8);
    free(end);
    end = etcd_prefix_end("a\xff\xff", 3, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(end, "b", 1);
    free(end);
    end = etcd_prefix_end("\xff", 1, &n);
    assert_int_equal(n, 1);
    assert_int_equal(end[0], 0);
    free(end);
}

static void test_range_request(void **state)
{
    (void)state;
    char *body = etcd_req_range_prefix("/smartdock/services/web/", 0);
    cJSON *o = parse(body);
    size_t n;
    char *key = member_bytes(o, "key", &n);
    assert_string_equal(key, "/smartdock/services/web/");
    char *end = member_bytes(o, "range_end", &n);
    assert_string_equal(end, "/smartdock/services/web0");
    assert_null(cJSON_GetObjectItem(o, "revision"));
    free(key);
    free(end);
    cJSON_Delete(o);
    free(body);

    body = etcd_req_range_prefix("/p/", 42);
    o = parse(body);
    assert_string_equal(member_string(o, "revision"), "42");
    cJSON_Delete(o);
    free(body);
}

/* Issue 11: the prefix is read in pages at one revision. */
static void test_range_page_request(void **state)
{
    (void)state;
    char *body = etcd_req_range_page("/p/", NULL, 0, 1000);
    cJSON *o = parse(body);
    size_t n;
    char *key = member_bytes(o, "key", &n);
    assert_string_equal(key, "/p/");
    assert_string_equal(member_string(o, "limit"), "1000");
    assert_null(cJSON_GetObjectItem(o, "revision"));
    free(key);
    cJSON_Delete(o);
    free(body);

    body = etcd_req_range_page("/p/", "/p/b", 42, 1000);
    o = parse(body);
    key = member_bytes(o, "key", &n);
    assert_int_equal(n, 5); /* "/p/b" and a NUL: the first key after it */
    assert_memory_equal(key, "/p/b\0", 5);
    char *end = member_bytes(o, "range_end", &n);
    assert_string_equal(end, "/p0");
    assert_string_equal(member_string(o, "revision"), "42");
    free(key);
    free(end);
    cJSON_Delete(o);
    free(body);
}

static void test_put_delete_requests(void **state)
{
    (void)state;
    const char value[] = "{\"host\":\"127.0.0.2\",\"port\":8080}";
    char *body = etcd_req_put("/sd/web/127.0.0.2_8080_abc", value, strlen(value),
                              INT64_C(4111120231781142536));
    cJSON *o = parse(body);
    size_t n;
    char *key = member_bytes(o, "key", &n);
    char *val = member_bytes(o, "value", &n);
    assert_string_equal(key, "/sd/web/127.0.0.2_8080_abc");
    assert_int_equal(n, strlen(value));
    assert_string_equal(val, value);
    /* int64 as a string: a double would round this ID */
    assert_string_equal(member_string(o, "lease"), "4111120231781142536");
    free(key);
    free(val);
    cJSON_Delete(o);
    free(body);

    body = etcd_req_put("/k", "v", 1, 0);
    o = parse(body);
    assert_null(cJSON_GetObjectItem(o, "lease"));
    cJSON_Delete(o);
    free(body);

    body = etcd_req_delete("/sd/web/x");
    o = parse(body);
    key = member_bytes(o, "key", &n);
    assert_string_equal(key, "/sd/web/x");
    assert_null(cJSON_GetObjectItem(o, "range_end"));
    free(key);
    cJSON_Delete(o);
    free(body);
}

static void test_lease_watch_auth_requests(void **state)
{
    (void)state;
    char *body = etcd_req_lease_grant(10);
    assert_string_equal(body, "{\"TTL\":\"10\"}");
    free(body);
    body = etcd_req_lease_id(INT64_C(4111120231781142536));
    assert_string_equal(body, "{\"ID\":\"4111120231781142536\"}");
    free(body);

    body = etcd_req_watch_prefix("/sd/web/", 7);
    cJSON *o = parse(body);
    const cJSON *c = cJSON_GetObjectItem(o, "create_request");
    assert_non_null(c);
    size_t n;
    char *key = member_bytes(c, "key", &n);
    char *end = member_bytes(c, "range_end", &n);
    assert_string_equal(key, "/sd/web/");
    assert_string_equal(end, "/sd/web0");
    assert_string_equal(member_string(c, "start_revision"), "7");
    free(key);
    free(end);
    cJSON_Delete(o);
    free(body);

    body = etcd_req_authenticate("root", "p\"w");
    o = parse(body);
    assert_string_equal(member_string(o, "name"), "root");
    assert_string_equal(member_string(o, "password"), "p\"w");
    cJSON_Delete(o);
    free(body);
}

static void test_decode_range(void **state)
{
    (void)state;
    char err[256];
    struct etcd_range r;
    cJSON *o = parse(RANGE_REPLY);
    assert_int_equal(etcd_decode_range(o, &r, err, sizeof err), 0);
    assert_int_equal(r.revision, 3);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.kvs[0].key, "/sd/web/a");
    assert_string_equal(r.kvs[0].value, "hello");
    assert_int_equal(r.kvs[0].value_len, 5);
    assert_int_equal(r.kvs[0].mod_revision, 2);
    assert_true(r.kvs[0].lease == INT64_C(4111120231781142536));
    assert_int_equal(r.kvs[1].lease, 0);
    assert_false(r.more);
    etcd_range_clear(&r);
    cJSON_Delete(o);

    o = parse("{\"header\":{\"revision\":\"9\"},\"more\":true,\"kvs\":[{\"key\":\"YQ==\","
              "\"create_revision\":\"4\",\"mod_revision\":\"7\"}]}");
    assert_int_equal(etcd_decode_range(o, &r, err, sizeof err), 0);
    assert_true(r.more);
    assert_int_equal(r.kvs[0].create_revision, 4);
    etcd_range_clear(&r);
    cJSON_Delete(o);

    o = parse(EMPTY_RANGE_REPLY); /* no "kvs" at all when nothing matches */
    assert_int_equal(etcd_decode_range(o, &r, err, sizeof err), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.revision, 3);
    etcd_range_clear(&r);
    cJSON_Delete(o);
}

/* Found by fuzz_etcd_range and fuzz_etcd_watch: a number beyond int64 was
 * converted before it was checked (undefined behaviour). Now an error. */
static void test_huge_numbers_refused(void **state)
{
    (void)state;
    char err[256] = "";
    struct etcd_range r;
    cJSON *o = parse("{\"header\":{},\"kvs\":[{\"key\":\"L3\",\"mod_revision\":"
                     "4333333333333333333333333333333333333333333333333333333}]}");
    assert_int_equal(etcd_decode_range(o, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "kvs[0].mod_revision"));
    cJSON_Delete(o);
    int64_t id = 0, ttl = 0;
    o = parse("{\"ID\":81111111111111111111111111111111111111111111111111111111}");
    assert_int_equal(etcd_decode_lease_grant(o, &id, &ttl, err, sizeof err), -1);
    cJSON_Delete(o);
    o = parse("{\"ID\":-9223372036854775808e10}");
    assert_int_equal(etcd_decode_lease_grant(o, &id, &ttl, err, sizeof err), -1);
    cJSON_Delete(o);
}

static void assert_range_error(const char *json, const char *want)
{
    char err[256] = "";
    struct etcd_range r;
    cJSON *o = parse(json);
    assert_int_equal(etcd_decode_range(o, &r, err, sizeof err), -1);
    if (!strstr(err, want)) fail_msg("error \"%s\" lacks \"%s\"", err, want);
    assert_null(r.kvs);
    cJSON_Delete(o);
}

static void test_decode_range_errors(void **state)
{
    (void)state;
    assert_range_error("{\"kvs\":[]}", "header: expected an object");
    assert_range_error("{\"header\":{\"revision\":\"x1\"}}",
                       "header.revision: expected an int64 (a string of digits), got \"x1\"");
    assert_range_error("{" HEADER ",\"kvs\":{}}", "kvs: expected an array");
    assert_range_error("{" HEADER ",\"kvs\":[{\"key\":\"L2E=\"},{\"key\":\"!!!\"}]}",
                       "kvs[1].key: expected base64, got \"!!!\"");
    assert_range_error("{" HEADER ",\"kvs\":[{\"key\":\"L2E=\",\"value\":7}]}",
                       "kvs[0].value: expected a base64 string, got 7");
    assert_range_error("{" HEADER ",\"kvs\":[{\"key\":\"YQBi\"}]}", /* "a\0b" */
                       "kvs[0].key: expected a key without NUL bytes");
    assert_range_error("{" HEADER ",\"kvs\":[{\"value\":\"YQ==\"}]}",
                       "kvs[0].key: expected a non-empty key");
    assert_range_error("{" HEADER ",\"kvs\":[{\"key\":\"L2E=\",\"mod_revision\":\"9x\"}]}",
                       "kvs[0].mod_revision: expected an int64");
}

static void test_decode_watch(void **state)
{
    (void)state;
    char err[256];
    struct etcd_watch_msg m;
    cJSON *o = parse(WATCH_CREATED);
    assert_int_equal(etcd_decode_watch(o, &m, err, sizeof err), 0);
    assert_true(m.created);
    assert_false(m.canceled);
    assert_int_equal(m.header_revision, 3);
    assert_int_equal(m.nevents, 0);
    etcd_watch_msg_clear(&m);
    cJSON_Delete(o);

    o = parse(WATCH_EVENTS);
    assert_int_equal(etcd_decode_watch(o, &m, err, sizeof err), 0);
    assert_false(m.created);
    assert_int_equal(m.nevents, 2);
    assert_int_equal(m.events[0].type, ETCD_EVENT_PUT); /* the gateway omits "PUT" */
    assert_string_equal(m.events[0].kv.key, "/sd/web/z");
    assert_string_equal(m.events[0].kv.value, "v1");
    assert_int_equal(m.events[0].kv.mod_revision, 5);
    assert_int_equal(m.events[1].type, ETCD_EVENT_DELETE);
    assert_string_equal(m.events[1].kv.key, "/sd/web/a");
    assert_string_equal(m.events[1].kv.value, "");
    assert_int_equal(m.events[1].kv.mod_revision, 6);
    etcd_watch_msg_clear(&m);
    cJSON_Delete(o);
}

/* A lease revoked with two keys deletes both at one revision: both are news
 * (the watcher once kept the second key's backend when a registrator died). */
static void test_watch_news_share_a_revision(void **state)
{
    (void)state;
    char err[256];
    struct etcd_watch_msg m;
    cJSON *o =
        parse("{\"result\":{" HEADER ",\"events\":["
              "{\"type\":\"DELETE\",\"kv\":{\"key\":\"L3NkL3dlYi9h\",\"mod_revision\":\"7\"}},"
              "{\"type\":\"DELETE\",\"kv\":{\"key\":\"L3NkL3dlYi96\",\"mod_revision\":\"7\"}}]}}");
    assert_int_equal(etcd_decode_watch(o, &m, err, sizeof err), 0);
    assert_int_equal(m.nevents, 2);
    const struct etcd_event *news[2];
    int64_t revision = 6;
    assert_int_equal(etcd_watch_msg_news(&m, &revision, news), 2);
    assert_int_equal(revision, 7);
    assert_string_equal(news[0]->kv.key, "/sd/web/a");
    assert_string_equal(news[1]->kv.key, "/sd/web/z");
    /* the same message again (a resumed watch): nothing new */
    assert_int_equal(etcd_watch_msg_news(&m, &revision, news), 0);
    assert_int_equal(revision, 7);
    etcd_watch_msg_clear(&m);
    cJSON_Delete(o);

    /* an older event in a message is skipped, the newer one taken */
    o = parse(WATCH_EVENTS); /* revisions 5 and 6 */
    assert_int_equal(etcd_decode_watch(o, &m, err, sizeof err), 0);
    revision = 5;
    assert_int_equal(etcd_watch_msg_news(&m, &revision, news), 1);
    assert_int_equal(news[0]->kv.mod_revision, 6);
    assert_int_equal(revision, 6);
    etcd_watch_msg_clear(&m);
    cJSON_Delete(o);
}

static void test_decode_watch_compacted(void **state)
{
    (void)state;
    char err[256];
    struct etcd_watch_msg m;
    cJSON *o = parse(WATCH_COMPACTED);
    assert_int_equal(etcd_decode_watch(o, &m, err, sizeof err), 0);
    assert_true(m.canceled);
    assert_int_equal(m.compact_revision, 5);
    assert_int_equal(m.header_revision, 0); /* absent from this message */
    assert_null(m.cancel_reason);
    etcd_watch_msg_clear(&m);
    cJSON_Delete(o);

    o = parse(WATCH_NO_TOKEN);
    assert_int_equal(etcd_decode_watch(o, &m, err, sizeof err), 0);
    assert_true(m.created);
    assert_true(m.canceled);
    assert_int_equal(m.compact_revision, 0);
    assert_non_null(strstr(m.cancel_reason, "user name is empty"));
    etcd_watch_msg_clear(&m);
    cJSON_Delete(o);
}

static void assert_watch_error(const char *json, const char *want)
{
    char err[256] = "";
    struct etcd_watch_msg m;
    cJSON *o = parse(json);
    assert_int_equal(etcd_decode_watch(o, &m, err, sizeof err), -1);
    if (!strstr(err, want)) fail_msg("error \"%s\" lacks \"%s\"", err, want);
    assert_null(m.events);
    cJSON_Delete(o);
}

static void test_decode_watch_errors(void **state)
{
    (void)state;
    assert_watch_error("{\"created\":true}", "result: expected an object, got nothing");
    assert_watch_error("{\"result\":{\"created\":\"yes\"}}",
                       "result.created: expected true or false, got \"yes\"");
    assert_watch_error("{\"result\":{\"events\":[{\"type\":\"PATCH\",\"kv\":{\"key\":\"L2E=\"}}]}}",
                       "result.events[0].type: expected \"PUT\" or \"DELETE\", got \"PATCH\"");
    assert_watch_error("{\"result\":{\"events\":[{\"kv\":{\"key\":\"L2E=\"}},{\"kv\":null}]}}",
                       "result.events[1].kv: expected an object");
    assert_watch_error("{\"result\":{\"compact_revision\":true}}",
                       "result.compact_revision: expected an int64");
}

/* A value that is not Nerve JSON decodes as bytes; the discovery then skips
 * it with backend_decode_nerve's reason. */
static void test_malformed_value(void **state)
{
    (void)state;
    char *enc = base64_encode("not json {", 10);
    char json[256], err[256];
    snprintf(json, sizeof json,
             "{\"result\":{\"events\":[{\"kv\":{\"key\":\"L3NkL3dlYi9n\",\"mod_revision\":\"9\","
             "\"value\":\"%s\"}}]}}",
             enc);
    free(enc);
    cJSON *o = parse(json);
    struct etcd_watch_msg m;
    assert_int_equal(etcd_decode_watch(o, &m, err, sizeof err), 0);
    assert_int_equal(m.nevents, 1);
    assert_string_equal(m.events[0].kv.value, "not json {");
    struct backend b;
    assert_int_equal(
        backend_decode_nerve(m.events[0].kv.value, m.events[0].kv.value_len, &b, err, sizeof err),
        -1);
    assert_true(strlen(err) > 0);
    etcd_watch_msg_clear(&m);
    cJSON_Delete(o);
}

static void test_decode_lease(void **state)
{
    (void)state;
    char err[256];
    int64_t id, ttl;
    cJSON *o = parse(GRANT_REPLY);
    assert_int_equal(etcd_decode_lease_grant(o, &id, &ttl, err, sizeof err), 0);
    assert_true(id == INT64_C(4111120231781142536));
    assert_int_equal(ttl, 5);
    cJSON_Delete(o);
    o = parse("{" HEADER ",\"TTL\":\"5\"}");
    assert_int_equal(etcd_decode_lease_grant(o, &id, &ttl, err, sizeof err), -1);
    assert_non_null(strstr(err, "ID: expected a lease ID, got nothing"));
    cJSON_Delete(o);

    o = parse(KEEPALIVE_REPLY);
    assert_int_equal(etcd_decode_keepalive(o, &ttl, err, sizeof err), 0);
    assert_int_equal(ttl, 5);
    cJSON_Delete(o);
    o = parse(KEEPALIVE_GONE); /* an unknown or expired lease: no TTL */
    assert_int_equal(etcd_decode_keepalive(o, &ttl, err, sizeof err), 0);
    assert_int_equal(ttl, 0);
    cJSON_Delete(o);
    o = parse("{\"result\":{\"TTL\":\"-1\"}}");
    assert_int_equal(etcd_decode_keepalive(o, &ttl, err, sizeof err), 0);
    assert_int_equal(ttl, 0);
    cJSON_Delete(o);
    o = parse("{\"result\":{\"TTL\":[]}}");
    assert_int_equal(etcd_decode_keepalive(o, &ttl, err, sizeof err), -1);
    assert_non_null(strstr(err, "result.TTL: expected an int64"));
    cJSON_Delete(o);
}

static void test_decode_error_and_token(void **state)
{
    (void)state;
    int code;
    char msg[128];
    cJSON *o = parse(LEASE_NOT_FOUND);
    assert_true(etcd_decode_error(o, &code, msg, sizeof msg));
    assert_int_equal(code, ETCD_CODE_NOT_FOUND);
    assert_string_equal(msg, "etcdserver: requested lease not found");
    cJSON_Delete(o);
    o = parse(STREAM_ERROR);
    assert_true(etcd_decode_error(o, &code, msg, sizeof msg));
    assert_int_equal(code, ETCD_CODE_UNAUTHENTICATED);
    assert_string_equal(msg, "etcdserver: invalid auth token");
    cJSON_Delete(o);
    o = parse(WATCH_EVENTS);
    assert_false(etcd_decode_error(o, &code, msg, sizeof msg));
    cJSON_Delete(o);

    char err[128], *token;
    o = parse(TOKEN_REPLY);
    assert_int_equal(etcd_decode_token(o, &token, err, sizeof err), 0);
    assert_string_equal(token, "WkoixjhKncJsuYFl.26");
    free(token);
    cJSON_Delete(o);
    o = parse("{\"token\":\"a\\r\\nX-Evil: 1\"}"); /* would split the header */
    assert_int_equal(etcd_decode_token(o, &token, err, sizeof err), -1);
    assert_null(token);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_end),
        cmocka_unit_test(test_range_request),
        cmocka_unit_test(test_range_page_request),
        cmocka_unit_test(test_huge_numbers_refused),
        cmocka_unit_test(test_put_delete_requests),
        cmocka_unit_test(test_lease_watch_auth_requests),
        cmocka_unit_test(test_decode_range),
        cmocka_unit_test(test_decode_range_errors),
        cmocka_unit_test(test_decode_watch),
        cmocka_unit_test(test_decode_watch_compacted),
        cmocka_unit_test(test_watch_news_share_a_revision),
        cmocka_unit_test(test_decode_watch_errors),
        cmocka_unit_test(test_malformed_value),
        cmocka_unit_test(test_decode_lease),
        cmocka_unit_test(test_decode_error_and_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
