#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "base64.h"

/* A heap copy of exactly len bytes, no terminator: ASan catches any read past it. */
static char *exact(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, s, len);
    return p;
}

static void assert_cleared(const struct backend *b)
{
    assert_null(b->host);
    assert_null(b->name);
    assert_null(b->haproxy_server_options);
    assert_null(b->labels);
    assert_int_equal(b->nlabels, 0);
    assert_null(b->container_id);
    assert_null(b->service);
    assert_int_equal(b->weight, BACKEND_WEIGHT_UNSET);
}

static void decode_ok_len(const char *json, size_t len, struct backend *b)
{
    char err[256] = "";
    char *buf = exact(json, len);
    int rc = backend_decode_nerve(buf, len, b, err, sizeof err);
    free(buf);
    if (rc != 0) fail_msg("unexpected error for %.*s: %s", (int)len, json, err);
}

static void decode_ok(const char *sq, struct backend *b)
{
    char *json = dq(sq);
    decode_ok_len(json, strlen(json), b);
    free(json);
}

/* Decodes len bytes of json, expects failure with exactly the message want. */
static void decode_err_len(const char *json, size_t len, const char *want)
{
    char err[256] = "";
    struct backend b;
    memset(&b, 0x5a, sizeof b); /* decode must not trust what it is given */
    char *buf = exact(json, len);
    int rc = backend_decode_nerve(buf, len, &b, err, sizeof err);
    free(buf);
    if (rc == 0) {
        fail_msg("accepted %.*s as host=%s port=%d name=%s", (int)len, json, b.host, b.port,
                 b.name);
    }
    assert_int_equal(rc, -1);
    assert_cleared(&b);
    if (want) assert_string_equal(err, want);
    assert_true(err[0] != 0);
}

static void decode_err(const char *sq, const char *want)
{
    char *json = dq(sq);
    decode_err_len(json, strlen(json), want);
    free(json);
}

#define FULL                                                                                       \
    "{'host':'127.0.10.5','port':31000,'name':'web-1','weight':10,"                                \
    "'haproxy_server_options':'check inter 2s','labels':{'region':'us-east-1','az':'us-east-"      \
    "1a'},'container_id':'3f2a9c','service':'nodesrv','extra':{'x':[1,2,{'y':null}]}}"

static void decode_full_payload(void **state)
{
    (void)state;
    struct backend b;
    decode_ok(FULL, &b);
    assert_string_equal(b.host, "127.0.10.5");
    assert_int_equal(b.port, 31000);
    assert_string_equal(b.name, "web-1");
    assert_int_equal(b.weight, 10);
    assert_string_equal(b.haproxy_server_options, "check inter 2s");
    assert_int_equal(b.nlabels, 2);
    assert_string_equal(backend_label(&b, "region"), "us-east-1");
    assert_string_equal(backend_label(&b, "az"), "us-east-1a");
    assert_null(backend_label(&b, "zone"));
    assert_string_equal(b.container_id, "3f2a9c");
    assert_string_equal(b.service, "nodesrv");
    assert_null(b.source);
    backend_clear(&b);
    assert_cleared(&b);
}

static void decode_minimal_defaults(void **state)
{
    (void)state;
    struct backend b;
    decode_ok("{'host':'db.internal','port':5432}", &b);
    assert_string_equal(b.host, "db.internal");
    assert_int_equal(b.port, 5432);
    assert_string_equal(b.name, "db.internal:5432");
    assert_int_equal(b.weight, BACKEND_WEIGHT_UNSET);
    assert_null(b.haproxy_server_options);
    assert_int_equal(b.nlabels, 0);
    assert_null(b.container_id);
    assert_null(b.service);
    backend_clear(&b);

    /* null and empty mean absent */
    decode_ok("{'host':'h','port':1,'name':null,'weight':null,'haproxy_server_options':null,"
              "'labels':null}",
              &b);
    assert_string_equal(b.name, "h:1");
    assert_int_equal(b.weight, BACKEND_WEIGHT_UNSET);
    assert_null(b.haproxy_server_options);
    assert_int_equal(b.nlabels, 0);
    backend_clear(&b);

    decode_ok("{'host':'h','port':1,'name':'','haproxy_server_options':'','labels':{}}", &b);
    assert_string_equal(b.name, "h:1");
    assert_null(b.haproxy_server_options);
    backend_clear(&b);

    /* smartdock's own keys of the wrong type are ignored, not errors */
    decode_ok("{'host':'h','port':1,'container_id':5,'service':['x']}", &b);
    assert_null(b.container_id);
    assert_null(b.service);
    backend_clear(&b);
}

static void decode_name_fallback_and_sanitising(void **state)
{
    (void)state;
    struct backend b;
    decode_ok("{'host':'2001:db8::1','port':443}", &b);
    assert_string_equal(b.host, "2001:db8::1");
    assert_string_equal(b.name, "2001:db8::1:443");
    backend_clear(&b);

    decode_ok("{'host':'fe80::1%eth0','port':80}", &b);
    assert_string_equal(b.host, "fe80::1%eth0");
    assert_string_equal(b.name, "fe80::1_eth0:80"); /* '%' is not for server names */
    backend_clear(&b);

    /* printable but HAProxy-unfriendly names are made safe, not refused */
    decode_ok("{'host':'h','port':1,'name':'my web/1 \\\"x\\\"'}", &b);
    assert_string_equal(b.name, "my_web_1__x_");
    backend_clear(&b);
}

static void decode_digit_strings(void **state)
{
    (void)state;
    struct backend b;
    decode_ok("{'host':'127.0.0.1','port':'3000','weight':'7'}", &b);
    assert_int_equal(b.port, 3000);
    assert_int_equal(b.weight, 7);
    backend_clear(&b);

    decode_ok("{'host':'127.0.0.1','port':'65535','weight':'0'}", &b);
    assert_int_equal(b.port, 65535);
    assert_int_equal(b.weight, 0);
    backend_clear(&b);

    decode_ok("{'host':'127.0.0.1','port':1,'weight':256}", &b);
    assert_int_equal(b.port, 1);
    assert_int_equal(b.weight, 256);
    backend_clear(&b);

    decode_ok("{'host':'127.0.0.1','port':3000.0}", &b); /* an integral double is an integer */
    assert_int_equal(b.port, 3000);
    backend_clear(&b);
}

#define PORT_ERR "port: expected an integer 1..65535, got "
#define WEIGHT_ERR "weight: expected an integer 0..256, got "
#define HOST_ERR "host: expected a hostname or IP address, got "
#define OPTS_ERR                                                                                   \
    "haproxy_server_options: expected a string without control characters, '#', ';' or '\\', got "
#define NAME_ERR "name: expected a string without control characters, got "

static void decode_port_errors(void **state)
{
    (void)state;
    decode_err("{'host':'h'}", PORT_ERR "nothing");
    decode_err("{'host':'h','port':null}", PORT_ERR "null");
    decode_err("{'host':'h','port':0}", PORT_ERR "0");
    decode_err("{'host':'h','port':-1}", PORT_ERR "-1");
    decode_err("{'host':'h','port':65536}", PORT_ERR "65536");
    decode_err("{'host':'h','port':2.5}", PORT_ERR "2.5");
    decode_err("{'host':'h','port':1e300}", PORT_ERR "1e+300");
    decode_err("{'host':'h','port':-1e300}", PORT_ERR "-1e+300");
    decode_err("{'host':'h','port':4294967297}", PORT_ERR "4294967297");
    decode_err("{'host':'h','port':true}", PORT_ERR "true");
    decode_err("{'host':'h','port':[80]}", PORT_ERR "[80]");
    decode_err("{'host':'h','port':{'a':1}}", PORT_ERR "{\"a\":1}");
    decode_err("{'host':'h','port':'0'}", PORT_ERR "\"0\"");
    decode_err("{'host':'h','port':''}", PORT_ERR "\"\"");
    decode_err("{'host':'h','port':'abc'}", PORT_ERR "\"abc\"");
    decode_err("{'host':'h','port':' 80'}", PORT_ERR "\" 80\"");
    decode_err("{'host':'h','port':'80 '}", PORT_ERR "\"80 \"");
    decode_err("{'host':'h','port':'+80'}", PORT_ERR "\"+80\"");
    decode_err("{'host':'h','port':'-80'}", PORT_ERR "\"-80\"");
    decode_err("{'host':'h','port':'0x50'}", PORT_ERR "\"0x50\"");
    decode_err("{'host':'h','port':'80.5'}", PORT_ERR "\"80.5\"");
    decode_err("{'host':'h','port':'65536'}", PORT_ERR "\"65536\"");
    decode_err("{'host':'h','port':'99999999999999999999'}", PORT_ERR "\"99999999999999999999\"");
}

static void decode_weight_errors(void **state)
{
    (void)state;
    decode_err("{'host':'h','port':1,'weight':257}", WEIGHT_ERR "257");
    decode_err("{'host':'h','port':1,'weight':-1}", WEIGHT_ERR "-1");
    decode_err("{'host':'h','port':1,'weight':1.5}", WEIGHT_ERR "1.5");
    decode_err("{'host':'h','port':1,'weight':1e300}", WEIGHT_ERR "1e+300");
    decode_err("{'host':'h','port':1,'weight':'x'}", WEIGHT_ERR "\"x\"");
    decode_err("{'host':'h','port':1,'weight':''}", WEIGHT_ERR "\"\"");
    decode_err("{'host':'h','port':1,'weight':false}", WEIGHT_ERR "false");
    decode_err("{'host':'h','port':1,'weight':[]}", WEIGHT_ERR "[]");
}

static void decode_host_errors(void **state)
{
    (void)state;
    decode_err("{'port':1}", HOST_ERR "nothing");
    decode_err("{'host':null,'port':1}", HOST_ERR "null");
    decode_err("{'host':5,'port':1}", HOST_ERR "5");
    decode_err("{'host':['a'],'port':1}", HOST_ERR "[\"a\"]");
    decode_err("{'host':'','port':1}", HOST_ERR "\"\"");
    decode_err("{'host':'my host','port':1}", HOST_ERR "\"my host\"");
    decode_err("{'host':'host\\nbackend evil','port':1}", HOST_ERR "\"host\\nbackend evil\"");
    decode_err("{'host':'-oops','port':1}", HOST_ERR "\"-oops\"");
    decode_err("{'host':'.oops','port':1}", HOST_ERR "\".oops\"");
    decode_err("{'host':'a#b','port':1}", HOST_ERR "\"a#b\"");
    decode_err("{'host':'a/b','port':1}", HOST_ERR "\"a/b\"");
    decode_err("{'host':'[::1]','port':1}", HOST_ERR "\"[::1]\"");

    /* long values are cut to 80 characters in the message */
    char json[512], want[256];
    char host[301];
    memset(host, 'a', 300);
    host[300] = 0;
    snprintf(json, sizeof json, "{\"host\":\"%s\",\"port\":1}", host);
    snprintf(want, sizeof want, HOST_ERR "\"%.79s...", host);
    decode_err_len(json, strlen(json), want);
}

static void decode_options_name_label_errors(void **state)
{
    (void)state;
    decode_err("{'host':'h','port':1,'haproxy_server_options':'check\\nserver evil 1.2.3.4:1'}",
               OPTS_ERR "\"check\\nserver evil 1.2.3.4:1\"");
    decode_err("{'host':'h','port':1,'haproxy_server_options':'check\\r'}",
               OPTS_ERR "\"check\\r\"");
    decode_err("{'host':'h','port':1,'haproxy_server_options':'check\\tbackup'}",
               OPTS_ERR "\"check\\tbackup\"");
    decode_err("{'host':'h','port':1,'haproxy_server_options':'check # comment'}",
               OPTS_ERR "\"check # comment\"");
    decode_err("{'host':'h','port':1,'haproxy_server_options':'check\\u007f'}", NULL);
    /* ';' would start another command on HAProxy's admin socket. */
    decode_err("{'host':'h','port':1,'haproxy_server_options':'check;shutdown frontend web'}",
               OPTS_ERR "\"check;shutdown frontend web\"");
    decode_err("{'host':'h','port':1,'haproxy_server_options':'check\\\\;x'}",
               OPTS_ERR "\"check\\\\;x\"");
    decode_err("{'host':'h','port':1,'haproxy_server_options':5}", OPTS_ERR "5");
    decode_err("{'host':'h','port':1,'haproxy_server_options':['check']}", OPTS_ERR "[\"check\"]");

    decode_err("{'host':'h','port':1,'name':'a\\nb'}", NAME_ERR "\"a\\nb\"");
    decode_err("{'host':'h','port':1,'name':'a\\rb'}", NAME_ERR "\"a\\rb\"");
    decode_err("{'host':'h','port':1,'name':5}", NAME_ERR "5");
    decode_err("{'host':'h','port':1,'name':{}}", NAME_ERR "{}");

    decode_err("{'host':'h','port':1,'labels':[]}", "labels: expected an object, got []");
    decode_err("{'host':'h','port':1,'labels':'az'}", "labels: expected an object, got \"az\"");
    decode_err("{'host':'h','port':1,'labels':{'az':'a\\nb'}}",
               "labels.az: expected a string without control characters, got \"a\\nb\"");
    decode_err("{'host':'h','port':1,'labels':{'az':5}}",
               "labels.az: expected a string without control characters, got 5");
    decode_err("{'host':'h','port':1,'labels':{'az':null}}",
               "labels.az: expected a string without control characters, got null");
    decode_err("{'host':'h','port':1,'labels':{'az':{'x':'y'}}}",
               "labels.az: expected a string without control characters, got {\"x\":\"y\"}");
    /* the message names the offending key, not its harmless value */
    decode_err("{'host':'h','port':1,'labels':{'a\\nz':'v'}}",
               "labels: expected keys without control characters, got \"a\\nz\"");
}

static void decode_payload_errors(void **state)
{
    (void)state;
    char err[256] = "";
    struct backend b;
    assert_int_equal(backend_decode_nerve(NULL, 0, &b, err, sizeof err), -1);
    assert_string_equal(err, "payload: expected Nerve JSON, got no data");
    assert_cleared(&b);
    decode_err_len("{}", 0, "payload: expected Nerve JSON, got no data");

    decode_err("[1]", "payload: expected a JSON object, got [1]");
    decode_err("'host'", "payload: expected a JSON object, got \"host\"");
    decode_err("null", "payload: expected a JSON object, got null");
    decode_err("42", "payload: expected a JSON object, got 42");
    decode_err("{'host':'h','port':1",
               "payload: expected Nerve JSON, got malformed JSON (20 bytes)");
    decode_err("{host:'h'}", "payload: expected Nerve JSON, got malformed JSON (10 bytes)");
    decode_err("   ", "payload: expected Nerve JSON, got malformed JSON (3 bytes)");
    /* trailing junk after the object is malformed JSON too */
    decode_err("{'host':'h','port':1} x", NULL);
    decode_err("{'host':'h','port':1}{'host':'i','port':2}", NULL);

    /* a tiny error buffer is never overrun */
    char small[8];
    assert_int_equal(backend_decode_nerve("{\"port\":0}", 10, &b, small, sizeof small), -1);
    assert_string_equal(small, "host: e");
}

static void decode_accepts_whitespace(void **state)
{
    (void)state;
    struct backend b;
    decode_ok(" \n\t{ 'host' : 'h' , 'port' : 1 }\r\n ", &b);
    assert_string_equal(b.host, "h");
    backend_clear(&b);
}

/* Every strict prefix of a valid payload is refused, and nothing reads past it. */
static void decode_every_prefix_refused(void **state)
{
    (void)state;
    char *json = dq(FULL);
    size_t n = strlen(json);
    for (size_t len = 0; len < n; len++)
        decode_err_len(json, len, NULL);
    struct backend b;
    decode_ok_len(json, n, &b);
    backend_clear(&b);
    free(json);
}

static void decode_nul_bytes_refused(void **state)
{
    (void)state;
    /* a raw NUL would silently cut the string at "127.0.0.1" */
    static const char raw[] = "{\"host\":\"127.0.0.1\0evil\",\"port\":1}";
    decode_err_len(raw, sizeof raw - 1, NULL);
    static const char raw_opts[] =
        "{\"host\":\"h\",\"port\":1,\"haproxy_server_options\":\"check\0\nserver x\"}";
    decode_err_len(raw_opts, sizeof raw_opts - 1, NULL);
    static const char trailing[] = "{\"host\":\"h\",\"port\":1}\0";
    decode_err_len(trailing, sizeof trailing - 1, NULL);
    static const char leading[] = "\0{\"host\":\"h\",\"port\":1}";
    decode_err_len(leading, sizeof leading - 1, NULL);

    /* the escaped spelling of NUL is the same control character */
    decode_err("{'host':'127.0.0.1\\u0000evil','port':1}", NULL);
    decode_err("{'host':'h','port':1,'haproxy_server_options':'check\\u0000 x'}", NULL);
    decode_err("{'host':'h','port':1,'name':'a\\u0000b'}", NULL);
    decode_err("{'host':'h','port':1,'labels':{'az':'a\\u0000b'}}", NULL);
    decode_err("{'host':'h','port':1,'labels':{'a\\u0000z':'b'}}", NULL);
    decode_err("{'host':'h','port':1,'name':'a\\\\\\u0000'}", NULL);

    /* but an escaped backslash followed by the text u0000 is just text */
    struct backend b;
    decode_ok("{'host':'h','port':1,'name':'x','extra':'\\\\u0000'}", &b);
    assert_string_equal(b.name, "x");
    backend_clear(&b);
}

static void decode_size_limit(void **state)
{
    (void)state;
    const char *head = "{\"host\":\"h\",\"port\":1,\"pad\":\"";
    const char *tail = "\"}";
    size_t n = BACKEND_MAX_PAYLOAD;
    char *json = malloc(n + 2);
    assert_non_null(json);
    memset(json, 'x', n + 1);
    memcpy(json, head, strlen(head));
    memcpy(json + n - strlen(tail), tail, strlen(tail));
    struct backend b;
    decode_ok_len(json, n, &b); /* exactly 64 KiB is fine */
    assert_string_equal(b.host, "h");
    backend_clear(&b);

    json[n - 2] = 'x';
    memcpy(json + n + 1 - strlen(tail), tail, strlen(tail));
    decode_err_len(json, n + 1, "payload: expected at most 65536 bytes, got 65537");
    free(json);
}

static void decode_nested_junk(void **state)
{
    (void)state;
    struct backend b;
    decode_ok("{'host':'h','port':1,'x':[[[[{'a':[{}]}]]]],'y':{'z':{'w':null}}}", &b);
    assert_string_equal(b.host, "h");
    backend_clear(&b);

    /* nesting far past what cJSON accepts: refused, not a stack overflow */
    size_t depth = 20000;
    char *json = malloc(depth * 2 + 64);
    assert_non_null(json);
    size_t j = (size_t)sprintf(json, "{\"host\":\"h\",\"port\":1,\"x\":");
    for (size_t i = 0; i < depth; i++)
        json[j++] = '[';
    for (size_t i = 0; i < depth; i++)
        json[j++] = ']';
    json[j++] = '}';
    decode_err_len(json, j, NULL);
    free(json);
}

static void decode_duplicate_keys(void **state)
{
    (void)state;
    /* the first occurrence wins, consistently for every field */
    struct backend b;
    decode_ok("{'host':'a','port':1,'host':'b','port':2,'labels':{'az':'x','az':'y'}}", &b);
    assert_string_equal(b.host, "a");
    assert_int_equal(b.port, 1);
    /* labels: a later duplicate replaces, never adds a second entry */
    assert_int_equal(b.nlabels, 1);
    backend_clear(&b);
    /* a bad duplicate is not hidden by a good first one... and vice versa */
    decode_ok("{'host':'a','port':1,'port':0}", &b);
    assert_int_equal(b.port, 1);
    backend_clear(&b);
    decode_err("{'host':'a','port':0,'port':1}", PORT_ERR "0");
}

static void host_validation(void **state)
{
    (void)state;
    const char *good[] = {
        "127.0.0.1", "127.1.2.3", "localhost",   "db-1.example.com", "my_container",
        "::1",       "::",        "2001:db8::1", "fe80::1%eth0",     "::ffff:192.0.2.1",
        "A",         NULL};
    for (size_t i = 0; good[i]; i++)
        if (!backend_host_is_valid(good[i])) fail_msg("refused good host %s", good[i]);
    const char *bad[] = {"",
                         " ",
                         "a b",
                         "a\n",
                         "a\r",
                         "a\tb",
                         "-a",
                         ".a",
                         "a;b",
                         "a\"b",
                         "a'b",
                         "a#b",
                         "a,b",
                         "[::1]",
                         "a/b",
                         "a\\b",
                         "%eth0",
                         "h%x",             /* '%' only in an IPv6 zone */
                         "127.0.10.1:8080", /* a host:port is not a host */
                         "db.example.com:80",
                         ":::",
                         "1:2:3:4:5:6:7:8:9",
                         "fe80::1%",
                         "fe80::1%eth0:80",
                         "g::1",
                         NULL};
    for (size_t i = 0; bad[i]; i++)
        if (backend_host_is_valid(bad[i])) fail_msg("accepted bad host \"%s\"", bad[i]);

    char host[300];
    memset(host, 'a', sizeof host);
    host[253] = 0;
    assert_true(backend_host_is_valid(host));
    host[253] = 'a';
    host[254] = 0;
    assert_false(backend_host_is_valid(host));
    host[299] = 0;
    assert_false(backend_host_is_valid(host));
}

static void text_safety(void **state)
{
    (void)state;
    assert_true(backend_text_is_safe(""));
    assert_true(backend_text_is_safe("check inter 2s weight 10 ~!@$%^&*()"));
    assert_true(backend_text_is_safe("caf\xc3\xa9")); /* UTF-8 is fine */
    assert_false(backend_text_is_safe("a\nb"));
    assert_false(backend_text_is_safe("a\rb"));
    assert_false(backend_text_is_safe("\t"));
    assert_false(backend_text_is_safe("\x1b[31m"));
    assert_false(backend_text_is_safe("a\x7f"));
    assert_false(backend_text_is_safe("\x01"));
}

static void server_name_dup(void **state)
{
    (void)state;
    struct {
        const char *in, *want;
    } cases[] = {
        {NULL, "_"},          {"", "_"},       {"web-1", "web-1"}, {"a.b_c:d-e", "a.b_c:d-e"},
        {"my web", "my_web"}, {"a\nb", "a_b"}, {"a#b;c", "a_b_c"}, {"caf\xc3\xa9", "caf__"},
        {"/x/", "_x_"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = backend_server_name_dup(cases[i].in);
        assert_non_null(s);
        assert_string_equal(s, cases[i].want);
        if (cases[i].in) assert_ptr_not_equal(s, cases[i].in);
        free(s);
    }
}

static void encode_decode_round_trip(void **state)
{
    (void)state;
    struct backend a;
    decode_ok(FULL, &a);
    char *json = backend_encode_nerve(&a);
    assert_non_null(json);
    struct backend b;
    decode_ok_len(json, strlen(json), &b);
    assert_string_equal(b.host, a.host);
    assert_int_equal(b.port, a.port);
    assert_string_equal(b.name, a.name);
    assert_int_equal(b.weight, a.weight);
    assert_string_equal(b.haproxy_server_options, a.haproxy_server_options);
    assert_int_equal(b.nlabels, 2);
    assert_string_equal(backend_label(&b, "region"), "us-east-1");
    assert_string_equal(backend_label(&b, "az"), "us-east-1a");
    assert_string_equal(b.container_id, "3f2a9c");
    assert_string_equal(b.service, "nodesrv");
    free(json);
    backend_clear(&b);
    backend_clear(&a);

    /* unset weight and no options stay unset; odd but legal text survives */
    decode_ok(
        "{'host':'::1','port':'8080','name':'q\\\"uote\\\\back','labels':{'k\\\"':'caf\\u00e9'}}",
        &a);
    json = backend_encode_nerve(&a);
    assert_non_null(json);
    assert_null(strstr(json, "weight"));
    assert_null(strstr(json, "haproxy_server_options"));
    decode_ok_len(json, strlen(json), &b);
    assert_string_equal(b.host, "::1");
    assert_int_equal(b.port, 8080);
    assert_string_equal(b.name, a.name);
    assert_int_equal(b.weight, BACKEND_WEIGHT_UNSET);
    assert_null(b.haproxy_server_options);
    assert_string_equal(backend_label(&b, "k\""), "caf\xc3\xa9");
    assert_null(b.container_id);
    free(json);
    backend_clear(&b);
    backend_clear(&a);
}

static void copy_and_labels(void **state)
{
    (void)state;
    struct backend a, c;
    decode_ok(FULL, &a);
    a.source = strdup("/services/nodesrv/n_0001");
    assert_int_equal(backend_copy(&c, &a), 0);
    assert_ptr_not_equal(c.host, a.host);
    assert_string_equal(c.host, a.host);
    assert_string_equal(c.source, a.source);
    assert_int_equal(c.weight, 10);
    assert_int_equal(backend_set_label(&c, "az", "us-east-1b"), 0);
    assert_int_equal(backend_set_label(&c, "new", "v"), 0);
    assert_int_equal(c.nlabels, 3);
    assert_string_equal(backend_label(&a, "az"), "us-east-1a");
    assert_null(backend_label(&a, "new"));
    assert_int_equal(a.nlabels, 2);
    backend_clear(&c);
    backend_clear(&a);
}

/* A shared backend: copies take a reference to the same strings, each copy
 * is cleared on its own, and changing one (a label) leaves the others. */
static void share_copies_reference(void **state)
{
    (void)state;
    struct backend a, c1, c2;
    decode_ok(FULL, &a);
    a.source = strdup("n_0001");
    a.created = 42;
    assert_int_equal(backend_share(&a), 0);
    assert_non_null(a.block);
    assert_int_equal(backend_share(&a), 0); /* already shared: nothing to do */
    assert_string_equal(a.host, "127.0.10.5");
    assert_string_equal(a.source, "n_0001");
    assert_string_equal(a.container_id, "3f2a9c");
    assert_string_equal(a.haproxy_server_options, "check inter 2s");
    assert_int_equal(a.nlabels, 2);
    assert_string_equal(backend_label(&a, "az"), "us-east-1a");
    assert_int_equal(a.created, 42);
    assert_int_equal(a.weight, 10);

    assert_int_equal(backend_copy(&c1, &a), 0);
    assert_int_equal(backend_copy(&c2, &c1), 0);
    assert_ptr_equal(c1.host, a.host); /* the same storage, not a copy */
    assert_ptr_equal(c2.labels, a.labels);
    struct backend_list la = {.v = &a, .n = 1}, l2 = {.v = &c2, .n = 1};
    assert_true(backend_list_equal(&la, &l2));

    backend_clear(&a); /* the copies keep the block alive */
    assert_string_equal(c1.host, "127.0.10.5");
    assert_int_equal(backend_set_label(&c1, "az", "us-east-1b"), 0);
    assert_null(c1.block); /* changed: its own strings now */
    assert_string_equal(backend_label(&c1, "az"), "us-east-1b");
    assert_string_equal(backend_label(&c2, "az"), "us-east-1a");
    assert_string_equal(c1.source, "n_0001");
    backend_clear(&c2);
    assert_string_equal(c1.name, "web-1"); /* still readable under ASan */
    backend_clear(&c1);

    struct backend bare = {0};
    bare.weight = BACKEND_WEIGHT_UNSET;
    assert_int_equal(backend_share(&bare), 0); /* no strings at all */
    assert_null(bare.host);
    assert_null(bare.labels);
    backend_clear(&bare);
}

/* A list reserved exactly holds that many without growing. */
static void list_reserve_exact(void **state)
{
    (void)state;
    struct backend_list l = {0};
    assert_int_equal(backend_list_reserve(&l, 3), 0);
    assert_int_equal(l.cap, 3);
    for (int i = 0; i < 3; i++) {
        struct backend b = {0};
        b.host = strdup("10.0.0.1");
        b.port = 1000 + i;
        assert_int_equal(backend_list_push(&l, &b), 0);
    }
    assert_int_equal(l.cap, 3);
    assert_int_equal(backend_list_reserve(&l, 2), 0); /* never shrinks below what it holds */
    assert_int_equal(l.cap, 3);
    backend_list_clear(&l);
}

/* Builds a backend by hand: host, port, name (NULL allowed). */
static void push(struct backend_list *l, const char *host, int port, const char *name)
{
    struct backend b = {0};
    b.weight = BACKEND_WEIGHT_UNSET;
    b.host = strdup(host);
    b.port = port;
    b.name = name ? strdup(name) : NULL;
    assert_int_equal(backend_list_push(l, &b), 0);
    assert_null(b.host);
    assert_null(b.name);
}

static void list_sort_unique(void **state)
{
    (void)state;
    struct backend_list l = {0};
    backend_list_sort_unique(&l); /* empty is fine */
    assert_int_equal(l.n, 0);

    push(&l, "127.0.10.3", 80, "c");
    push(&l, "127.0.10.2", 81, "b");
    push(&l, "127.0.10.2", 80, "b");
    push(&l, "127.0.10.1", 80, "b");
    push(&l, "127.0.10.9", 80, "a");
    /* duplicates of an address already present, under a later-sorting name */
    push(&l, "127.0.10.9", 80, "z");
    push(&l, "127.0.10.2", 80, "zz");
    /* ... and under an earlier-sorting name: it is the one kept */
    push(&l, "127.0.10.3", 80, "0first");
    for (int i = 0; i < 20; i++)
        push(&l, "127.0.10.1", 80, "b"); /* exact copies */
    backend_list_sort_unique(&l);

    const struct {
        const char *name, *host;
        int port;
    } want[] = {
        {"0first", "127.0.10.3", 80}, {"a", "127.0.10.9", 80}, {"b", "127.0.10.1", 80},
        {"b", "127.0.10.2", 80},      {"b", "127.0.10.2", 81},
    };
    assert_int_equal(l.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < l.n; i++) {
        assert_string_equal(l.v[i].name, want[i].name);
        assert_string_equal(l.v[i].host, want[i].host);
        assert_int_equal(l.v[i].port, want[i].port);
    }
    /* idempotent */
    backend_list_sort_unique(&l);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.v[0].name, "0first");

    /* the same host on different ports is not a duplicate; numeric port order */
    backend_list_clear(&l);
    push(&l, "h", 10000, "n");
    push(&l, "h", 9, "n");
    push(&l, "h", 100, "n");
    backend_list_sort_unique(&l);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.v[0].port, 9);
    assert_int_equal(l.v[1].port, 100);
    assert_int_equal(l.v[2].port, 10000);

    /* a NULL name sorts as "" and does not crash */
    push(&l, "g", 1, NULL);
    backend_list_sort_unique(&l);
    assert_int_equal(l.n, 4);
    assert_null(l.v[0].name);
    backend_list_clear(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.v);
}

/* Issue 11: a later registration of an address changes nothing of it. */
static void list_sort_unique_first_seen_wins(void **state)
{
    (void)state;
    struct backend_list l = {0}, dropped = {0};
    push(&l, "127.0.10.1", 80, "real");
    l.v[0].created = 500;
    l.v[0].weight = 10;
    push(&l, "127.0.10.1", 80, "-"); /* sorts first by name, created later */
    l.v[1].created = 900;
    l.v[1].weight = 0;
    push(&l, "127.0.10.1", 80, "unknown"); /* no creation order: counts as last */
    push(&l, "127.0.10.2", 80, "other");
    l.v[3].created = 1000;
    backend_list_sort_unique_dropping(&l, &dropped);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].name, "other");
    assert_string_equal(l.v[1].name, "real");
    assert_int_equal(l.v[1].weight, 10);
    assert_int_equal(dropped.n, 2);
    for (size_t i = 0; i < dropped.n; i++)
        assert_string_equal(dropped.v[i].host, "127.0.10.1");
    backend_list_clear(&l);
    backend_list_clear(&dropped);
}

/* 20,000 registrations of one address and 20,000 distinct ones: sorting, not
 * pairwise comparison (the review measured 2 s at 20k). */
static void list_sort_unique_many(void **state)
{
    (void)state;
    struct backend_list l = {0};
    for (int i = 0; i < 20000; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%05d", 19999 - i);
        push(&l, "127.0.10.1", 80, name);
        l.v[l.n - 1].created = i + 1;
        push(&l, "127.0.10.2", 1 + i, name);
    }
    backend_list_sort_unique(&l);
    assert_int_equal(l.n, 20001);
    bool found = false;
    for (size_t i = 0; i < l.n; i++)
        if (!strcmp(l.v[i].host, "127.0.10.1")) {
            assert_string_equal(l.v[i].name, "n19999"); /* created first */
            found = true;
        }
    assert_true(found);
    backend_list_clear(&l);
}

/* At most BACKEND_MAX_LABELS labels are kept; the rest are left out and flagged. */
static void decode_label_bound(void **state)
{
    (void)state;
    char json[8192];
    size_t n =
        (size_t)snprintf(json, sizeof json, "{\"host\":\"127.0.0.1\",\"port\":1,\"labels\":{");
    for (int i = 0; i < BACKEND_MAX_LABELS + 6; i++)
        n += (size_t)snprintf(json + n, sizeof json - n, "%s\"k%d\":\"v\"", i ? "," : "", i);
    n += (size_t)snprintf(json + n, sizeof json - n, "}}");
    struct backend b;
    char err[256];
    assert_int_equal(backend_decode_nerve(json, n, &b, err, sizeof err), 0);
    assert_int_equal(b.nlabels, BACKEND_MAX_LABELS);
    assert_true(b.over_limits & BACKEND_OVER_LABELS);
    backend_clear(&b);

    n = (size_t)snprintf(json, sizeof json, "{\"host\":\"127.0.0.1\",\"port\":1,\"labels\":{");
    for (int i = 0; i < BACKEND_MAX_LABELS; i++)
        n += (size_t)snprintf(json + n, sizeof json - n, "%s\"k%d\":\"v\"", i ? "," : "", i);
    n += (size_t)snprintf(json + n, sizeof json - n, "}}");
    assert_int_equal(backend_decode_nerve(json, n, &b, err, sizeof err), 0);
    assert_int_equal(b.nlabels, BACKEND_MAX_LABELS);
    assert_int_equal(b.over_limits, 0);
    backend_clear(&b);
}

static void list_equal_and_copy(void **state)
{
    (void)state;
    struct backend_list a = {0}, b = {0}, empty = {0};
    assert_true(backend_list_equal(&a, &empty));
    struct backend x;
    decode_ok(FULL, &x);
    assert_int_equal(backend_list_push(&a, &x), 0);
    decode_ok("{'host':'127.0.10.6','port':31000}", &x);
    assert_int_equal(backend_list_push(&a, &x), 0);

    assert_int_equal(backend_list_copy(&b, &a), 0);
    assert_int_equal(b.n, 2);
    assert_true(backend_list_equal(&a, &b));
    assert_true(backend_list_equal(&b, &a));
    assert_ptr_not_equal(a.v[0].host, b.v[0].host);
    assert_ptr_not_equal(a.v[0].labels, b.v[0].labels);
    assert_false(backend_list_equal(&a, &empty));

    /* each field that reaches HAProxy makes a difference */
    struct backend *y = &b.v[0];
    y->port++;
    assert_false(backend_list_equal(&a, &b));
    y->port--;
    free(y->host);
    y->host = strdup("127.0.10.50");
    assert_false(backend_list_equal(&a, &b));
    free(y->host);
    y->host = strdup("127.0.10.5");
    assert_true(backend_list_equal(&a, &b));
    free(y->name);
    y->name = strdup("web-2");
    assert_false(backend_list_equal(&a, &b));
    free(y->name);
    y->name = strdup("web-1");
    y->weight = 11;
    assert_false(backend_list_equal(&a, &b));
    y->weight = BACKEND_WEIGHT_UNSET;
    assert_false(backend_list_equal(&a, &b));
    y->weight = 10;
    free(y->haproxy_server_options);
    y->haproxy_server_options = NULL;
    assert_false(backend_list_equal(&a, &b));
    assert_false(backend_list_equal(&b, &a));
    y->haproxy_server_options = strdup("check inter 2s");
    assert_true(backend_list_equal(&a, &b));
    assert_int_equal(backend_set_label(y, "az", "us-east-1b"), 0);
    assert_false(backend_list_equal(&a, &b));
    assert_int_equal(backend_set_label(y, "az", "us-east-1a"), 0);
    assert_true(backend_list_equal(&a, &b));
    assert_int_equal(backend_set_label(y, "extra", "1"), 0);
    assert_false(backend_list_equal(&a, &b));
    assert_false(backend_list_equal(&b, &a));

    /* label order does not matter */
    struct backend_list c = {0}, d = {0};
    decode_ok("{'host':'h','port':1,'labels':{'a':'1','b':'2'}}", &x);
    assert_int_equal(backend_list_push(&c, &x), 0);
    decode_ok("{'host':'h','port':1,'labels':{'b':'2','a':'1'}}", &x);
    assert_int_equal(backend_list_push(&d, &x), 0);
    assert_true(backend_list_equal(&c, &d));
    /* same count, different keys */
    backend_list_clear(&d);
    decode_ok("{'host':'h','port':1,'labels':{'b':'2','c':'1'}}", &x);
    assert_int_equal(backend_list_push(&d, &x), 0);
    assert_false(backend_list_equal(&c, &d));
    assert_false(backend_list_equal(&d, &c));

    /* copying an empty list gives an empty list */
    struct backend_list e;
    memset(&e, 0x5a, sizeof e);
    assert_int_equal(backend_list_copy(&e, &empty), 0);
    assert_int_equal(e.n, 0);
    backend_list_clear(&e);

    /* many backends: push grows the list */
    struct backend_list big = {0}, big2;
    for (int i = 0; i < 100; i++)
        push(&big, "h", i + 1, "n");
    assert_int_equal(backend_list_copy(&big2, &big), 0);
    assert_int_equal(big2.n, 100);
    assert_int_equal(big2.v[99].port, 100);
    assert_true(backend_list_equal(&big, &big2));
    backend_list_clear(&big);
    backend_list_clear(&big2);

    backend_list_clear(&a);
    backend_list_clear(&b);
    backend_list_clear(&c);
    backend_list_clear(&d);
}

/* Nerve's path encoding: base64_<len>_<urlsafe base64 of the JSON>_<sequence>. */
static char *nerve_child_name(const char *json, const char *seq)
{
    char *b64 = base64_encode(json, strlen(json));
    assert_non_null(b64);
    for (char *p = b64; *p; p++) {
        if (*p == '+') *p = '-';
        if (*p == '/') *p = '_';
    }
    size_t n = strlen(b64) + 64;
    char *name = malloc(n);
    assert_non_null(name);
    snprintf(name, n, "base64_%zu_%s_%s", strlen(b64), b64, seq);
    free(b64);
    return name;
}

#define CHILD_FMT "znode name: expected base64_<len>_<data>_<seq>, got "

static void child_name_decode(void **state)
{
    (void)state;
    char err[256] = "";
    struct backend b;
    const char *json = "{\"host\":\"127.0.0.1\",\"port\":\"3000\",\"labels\":{\"region\":\"us-"
                       "east-1\",\"az\":\"us-east-1a\"}}";
    char *name = nerve_child_name(json, "0000000007");
    assert_int_equal(backend_decode_nerve_child_name(name, &b, err, sizeof err), 0);
    assert_string_equal(b.host, "127.0.0.1");
    assert_int_equal(b.port, 3000);
    assert_string_equal(b.name, "127.0.0.1:3000");
    assert_string_equal(backend_label(&b, "region"), "us-east-1");
    assert_string_equal(backend_label(&b, "az"), "us-east-1a");
    backend_clear(&b);
    free(name);

    /* the URL-safe alphabet ('-' and '_' inside the data) and unpadded data */
    json = "{\"host\":\"h\",\"port\":1,\"name\":\"?>?>~~~\"}";
    char *std = base64_encode(json, strlen(json));
    assert_non_null(std);
    assert_true(strchr(std, '+') && strchr(std, '/')); /* so the name holds '-' and '_' */
    free(std);
    name = nerve_child_name(json, "1");
    assert_int_equal(backend_decode_nerve_child_name(name, &b, err, sizeof err), 0);
    assert_string_equal(b.name, "_______");
    backend_clear(&b);
    free(name);

    /* Synapse's reader only needs the first <len> characters; no sequence is fine */
    name = nerve_child_name("{\"host\":\"h\",\"port\":2}", "");
    name[strlen(name) - 1] = 0;
    assert_int_equal(backend_decode_nerve_child_name(name, &b, err, sizeof err), 0);
    assert_int_equal(b.port, 2);
    backend_clear(&b);
    free(name);
}

static void child_err(const char *child, const char *want)
{
    char err[256] = "";
    struct backend b;
    memset(&b, 0x5a, sizeof b);
    char *copy = strdup(child); /* heap, exact size: ASan sees reads past the end */
    assert_non_null(copy);
    int rc = backend_decode_nerve_child_name(copy, &b, err, sizeof err);
    free(copy);
    if (rc == 0) fail_msg("accepted child name %s", child);
    assert_cleared(&b);
    if (want) assert_string_equal(err, want);
    assert_true(err[0] != 0);
}

static void child_name_malformed(void **state)
{
    (void)state;
    child_err("", CHILD_FMT "\"\"");
    child_err("a", CHILD_FMT "\"a\"");
    child_err("base6", CHILD_FMT "\"base6\"");
    child_err("base64_", CHILD_FMT "\"base64_\"");
    child_err("node_0000000001", CHILD_FMT "\"node_0000000001\"");
    child_err("base64__eyJ9_1", CHILD_FMT "\"base64__eyJ9_1\"");
    child_err("base64_x_eyJ9_1", CHILD_FMT "\"base64_x_eyJ9_1\"");
    child_err("base64_4", CHILD_FMT "\"base64_4\"");
    child_err("base64_4eyJ9_1", CHILD_FMT "\"base64_4eyJ9_1\"");
    child_err("base64_0_eyJ9_1", CHILD_FMT "\"base64_0_eyJ9_1\"");
    child_err("base64_-4_eyJ9_1", CHILD_FMT "\"base64_-4_eyJ9_1\"");
    child_err("base64_ 4_eyJ9_1", CHILD_FMT "\"base64_ 4_eyJ9_1\"");
    child_err("base64_+4_eyJ9_1", CHILD_FMT "\"base64_+4_eyJ9_1\"");
    /* len longer than what follows */
    child_err("base64_99_eyJ9_1", CHILD_FMT "\"base64_99_eyJ9_1\"");
    child_err("base64_99999999999999999999999_eyJ9", NULL);
    /* not base64 */
    child_err("base64_4_e@J9_1", "znode name: invalid base64 in \"base64_4_e@J9_1\"");
    child_err("base64_5_eyJ9a_1", "znode name: invalid base64 in \"base64_5_eyJ9a_1\"");
    child_err("base64_4_ey J_1", "znode name: invalid base64 in \"base64_4_ey J_1\"");
    /* base64, but not JSON ("hello"), or not an object, or not a backend */
    child_err("base64_8_aGVsbG8=_1", "payload: expected Nerve JSON, got malformed JSON (5 bytes)");
    child_err("base64_4_WzFd_1", "payload: expected a JSON object, got [1]");
    child_err("base64_4_e30=_1", "host: expected a hostname or IP address, got nothing");
    /* an empty decoded payload */
    child_err("base64_2_==_1", "payload: expected Nerve JSON, got no data");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_full_payload),
        cmocka_unit_test(decode_minimal_defaults),
        cmocka_unit_test(decode_name_fallback_and_sanitising),
        cmocka_unit_test(decode_digit_strings),
        cmocka_unit_test(decode_port_errors),
        cmocka_unit_test(decode_weight_errors),
        cmocka_unit_test(decode_host_errors),
        cmocka_unit_test(decode_options_name_label_errors),
        cmocka_unit_test(decode_payload_errors),
        cmocka_unit_test(decode_accepts_whitespace),
        cmocka_unit_test(decode_every_prefix_refused),
        cmocka_unit_test(decode_nul_bytes_refused),
        cmocka_unit_test(decode_size_limit),
        cmocka_unit_test(decode_nested_junk),
        cmocka_unit_test(decode_duplicate_keys),
        cmocka_unit_test(host_validation),
        cmocka_unit_test(text_safety),
        cmocka_unit_test(server_name_dup),
        cmocka_unit_test(encode_decode_round_trip),
        cmocka_unit_test(copy_and_labels),
        cmocka_unit_test(list_sort_unique),
        cmocka_unit_test(list_sort_unique_first_seen_wins),
        cmocka_unit_test(list_sort_unique_many),
        cmocka_unit_test(decode_label_bound),
        cmocka_unit_test(list_equal_and_copy),
        cmocka_unit_test(child_name_decode),
        cmocka_unit_test(child_name_malformed),
        cmocka_unit_test(share_copies_reference),
        cmocka_unit_test(list_reserve_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
