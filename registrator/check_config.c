/*
 * Check definitions. Nerve's defaults: timeout 0.1 s, rise 1, fall 1; http
 * open_timeout 0.2 s, read_timeout = timeout; port and host the service's.
 */
#include "check_config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MAX_MS 600000

void check_spec_init(struct check_spec *c, enum check_type type)
{
    *c = (struct check_spec){.type = type,
                             .timeout_ms = CHECK_TIMEOUT_DEFAULT_MS,
                             .rise = 1,
                             .fall = 1,
                             .open_timeout_ms = CHECK_OPEN_TIMEOUT_DEFAULT_MS,
                             .read_timeout_ms = -1};
}

const char *check_type_name(enum check_type t)
{
    return t == CHECK_HTTP ? "http" : "tcp";
}

void check_spec_clear(struct check_spec *c)
{
    free(c->name);
    free(c->host);
    free(c->uri);
    free(c->expect);
    for (size_t i = 0; i < c->nheaders; i++) {
        free(c->headers[i].key);
        free(c->headers[i].value);
    }
    free(c->headers);
    memset(c, 0, sizeof *c);
}

void check_list_clear(struct check_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        check_spec_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static char *dup_or_null(const char *s, bool *fail)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *fail = true;
    return d;
}

static int spec_copy(struct check_spec *out, const struct check_spec *in)
{
    bool fail = false;
    *out = *in;
    out->name = dup_or_null(in->name, &fail);
    out->host = dup_or_null(in->host, &fail);
    out->uri = dup_or_null(in->uri, &fail);
    out->expect = dup_or_null(in->expect, &fail);
    out->headers = NULL;
    out->nheaders = 0;
    if (in->nheaders && !(out->headers = calloc(in->nheaders, sizeof *out->headers))) fail = true;
    for (size_t i = 0; !fail && i < in->nheaders; i++) {
        out->headers[i].key = dup_or_null(in->headers[i].key, &fail);
        out->headers[i].value = dup_or_null(in->headers[i].value, &fail);
        out->nheaders++;
    }
    if (fail) check_spec_clear(out);
    return fail ? -1 : 0;
}

int check_list_copy(struct check_list *out, const struct check_list *in)
{
    out->v = NULL;
    out->n = 0;
    if (!in->n) return 0;
    if (!(out->v = calloc(in->n, sizeof *out->v))) return -1;
    for (size_t i = 0; i < in->n; i++) {
        if (spec_copy(&out->v[i], &in->v[i]) < 0) {
            check_list_clear(out);
            return -1;
        }
        out->n++;
    }
    return 0;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_spec(const struct check_spec *a, const struct check_spec *b)
{
    if (a->type != b->type || a->port != b->port || a->timeout_ms != b->timeout_ms ||
        a->rise != b->rise || a->fall != b->fall || a->open_timeout_ms != b->open_timeout_ms ||
        a->read_timeout_ms != b->read_timeout_ms || a->ssl != b->ssl ||
        a->nheaders != b->nheaders || !same_text(a->name, b->name) ||
        !same_text(a->host, b->host) || !same_text(a->uri, b->uri) ||
        !same_text(a->expect, b->expect))
        return false;
    for (size_t i = 0; i < a->nheaders; i++)
        if (strcmp(a->headers[i].key, b->headers[i].key) ||
            strcmp(a->headers[i].value, b->headers[i].value))
            return false;
    return true;
}

bool check_list_equal(const struct check_list *a, const struct check_list *b)
{
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++)
        if (!same_spec(&a->v[i], &b->v[i])) return false;
    return true;
}

/* Header names and values go into a request: no control characters, and a
 * name is an HTTP token. */
static bool header_name_ok(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == ':' || *s == 0x7f) return false;
    return true;
}

static bool uri_ok(const char *s)
{
    if (s[0] != '/') return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) return false;
    return true;
}

static int parse_headers(struct conf_ctx *p, const cJSON *obj, const char *base,
                         struct check_spec *c)
{
    char path[CONF_PATH_LEN], hpath[CONF_PATH_LEN];
    const cJSON *h = conf_member(obj, "headers"), *it;
    conf_join(path, sizeof path, base, "headers");
    if (!h) return 0;
    if (!cJSON_IsObject(h)) return conf_fail(p, path, "an object of strings", h);
    size_t n = (size_t)cJSON_GetArraySize(h);
    if (n && !(c->headers = calloc(n, sizeof *c->headers))) return conf_oom(p);
    cJSON_ArrayForEach(it, h)
    {
        conf_join(hpath, sizeof hpath, path, it->string);
        if (!header_name_ok(it->string))
            return conf_fail_str(
                p, path, "header names without spaces, colons or control characters", it->string);
        if (!cJSON_IsString(it) || !backend_text_is_safe(it->valuestring))
            return conf_fail(p, hpath, "a string without control characters", it);
        struct label *dst = &c->headers[c->nheaders++];
        if (!(dst->key = strdup(it->string)) || !(dst->value = strdup(it->valuestring)))
            return conf_oom(p);
    }
    return 0;
}

static int parse_check(struct conf_ctx *p, const cJSON *obj, const char *base, struct check_spec *c)
{
    static const char *const known[] = {
        "type",         "name",         "host", "port",        "timeout",
        "rise",         "fall",         "uri",  "expect",      "headers",
        "open_timeout", "read_timeout", "ssl",  "ssl_timeout", NULL};
    char path[CONF_PATH_LEN];
    if (!cJSON_IsObject(obj)) return conf_fail(p, base, "an object", obj);
    conf_join(path, sizeof path, base, "type");
    const cJSON *type = conf_member(obj, "type");
    if (!type) return conf_failf(p, "%s: required", path);
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "http"))
        check_spec_init(c, CHECK_HTTP);
    else if (cJSON_IsString(type) && !strcmp(type->valuestring, "tcp"))
        check_spec_init(c, CHECK_TCP);
    else
        return conf_fail(p, path, "\"http\" or \"tcp\"", type);
    if (conf_check_keys(p, obj, base, known, CONF_NO_KEYS, NULL) < 0) return -1;
    if (conf_get_string(p, obj, base, "name", false, &c->name) < 0 ||
        conf_get_string(p, obj, base, "host", false, &c->host) < 0)
        return -1;
    conf_join(path, sizeof path, base, "host");
    if (c->host && !backend_host_is_valid(c->host))
        return conf_fail(p, path, "a hostname or IP address", conf_member(obj, "host"));
    if (conf_get_int(p, obj, base, "port", false, 1, 65535, &c->port) < 0 ||
        conf_get_seconds_ms(p, obj, base, "timeout", 1, TIMEOUT_MAX_MS, &c->timeout_ms) < 0 ||
        conf_get_positive(p, obj, base, "rise", CHECK_MAX_RISE_FALL, &c->rise) < 0 ||
        conf_get_positive(p, obj, base, "fall", CHECK_MAX_RISE_FALL, &c->fall) < 0)
        return -1;
    if (c->type == CHECK_TCP) {
        static const char *const http_only[] = {"uri",          "expect", "headers", "open_timeout",
                                                "read_timeout", "ssl",    NULL};
        for (const char *const *k = http_only; *k; k++)
            if (conf_member(obj, *k)) {
                conf_join(path, sizeof path, base, *k);
                if (conf_warnf(p, "%s: only used by http checks", path) < 0) return -1;
            }
        return 0;
    }
    if (conf_get_string(p, obj, base, "uri", true, &c->uri) < 0) return -1;
    conf_join(path, sizeof path, base, "uri");
    if (!uri_ok(c->uri))
        return conf_fail(p, path, "a path like /health, without spaces", conf_member(obj, "uri"));
    if (conf_get_string(p, obj, base, "expect", false, &c->expect) < 0 ||
        parse_headers(p, obj, base, c) < 0 ||
        conf_get_seconds_ms(p, obj, base, "open_timeout", 1, TIMEOUT_MAX_MS, &c->open_timeout_ms) <
            0 ||
        conf_get_seconds_ms(p, obj, base, "read_timeout", 1, TIMEOUT_MAX_MS, &c->read_timeout_ms) <
            0 ||
        conf_get_bool(p, obj, base, "ssl", &c->ssl) < 0)
        return -1;
    if (c->read_timeout_ms < 0) c->read_timeout_ms = c->timeout_ms;
    return 0;
}

int check_list_parse(struct conf_ctx *p, const cJSON *checks, const char *path,
                     struct check_list *out)
{
    const cJSON *it;
    if (!cJSON_IsArray(checks)) return conf_fail(p, path, "an array of checks", checks);
    size_t n = (size_t)cJSON_GetArraySize(checks);
    if (!n) return 0;
    if (!(out->v = calloc(n, sizeof *out->v))) return conf_oom(p);
    cJSON_ArrayForEach(it, checks)
    {
        char base[CONF_PATH_LEN + 24];
        snprintf(base, sizeof base, "%s[%zu]", path, out->n);
        int rc = parse_check(p, it, base, &out->v[out->n]);
        out->n++; /* cleared by the caller even when half filled */
        if (rc < 0) return -1;
    }
    return 0;
}

/* ---- labels ------------------------------------------------------------ */

static const char *label_value(const struct label *labels, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(labels[i].key, key)) return labels[i].value;
    return NULL;
}

static bool parse_seconds_ms(const char *s, int *out_ms)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(d)) return false;
    double ms = round(d * 1000.0);
    if (ms < 1 || ms > TIMEOUT_MAX_MS) return false;
    *out_ms = (int)ms;
    return true;
}

static bool parse_count(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < 1 || v > CHECK_MAX_RISE_FALL) return false;
    *out = (int)v;
    return true;
}

static int label_error(char *err, size_t errlen, const char *key, const char *value,
                       const char *want)
{
    cJSON *v = cJSON_CreateString(value);
    char got[160];
    conf_describe(v, got, sizeof got);
    cJSON_Delete(v);
    snprintf(err, errlen, "label %s: expected %s, got %s", key, want, got);
    return -1;
}

int check_from_labels(const struct label *labels, size_t nlabels, struct check_spec *out,
                      int *interval_ms, char *err, size_t errlen)
{
    const char *v;
    const char *type = label_value(labels, nlabels, "smartdock.check.type");
    if (!type) return 0;
    if (!strcmp(type, "http"))
        check_spec_init(out, CHECK_HTTP);
    else if (!strcmp(type, "tcp"))
        check_spec_init(out, CHECK_TCP);
    else
        return label_error(err, errlen, "smartdock.check.type", type, "\"http\" or \"tcp\"");
    int rc = 1;
    if ((v = label_value(labels, nlabels, "smartdock.check.timeout")) &&
        !parse_seconds_ms(v, &out->timeout_ms))
        rc = label_error(err, errlen, "smartdock.check.timeout", v, "seconds 0.001..600");
    else if ((v = label_value(labels, nlabels, "smartdock.check.rise")) &&
             !parse_count(v, &out->rise))
        rc = label_error(err, errlen, "smartdock.check.rise", v, "a positive integer");
    else if ((v = label_value(labels, nlabels, "smartdock.check.fall")) &&
             !parse_count(v, &out->fall))
        rc = label_error(err, errlen, "smartdock.check.fall", v, "a positive integer");
    else if ((v = label_value(labels, nlabels, "smartdock.check_interval")) &&
             !parse_seconds_ms(v, interval_ms))
        rc = label_error(err, errlen, "smartdock.check_interval", v, "seconds 0.001..600");
    else if (out->type == CHECK_HTTP) {
        const char *uri = label_value(labels, nlabels, "smartdock.check.uri");
        const char *expect = label_value(labels, nlabels, "smartdock.check.expect");
        if (!uri)
            rc = label_error(err, errlen, "smartdock.check.uri", "", "a path like /health");
        else if (!uri_ok(uri))
            rc = label_error(err, errlen, "smartdock.check.uri", uri,
                             "a path like /health, without spaces");
        else if (expect && !backend_text_is_safe(expect))
            rc = label_error(err, errlen, "smartdock.check.expect", expect,
                             "text without control characters");
        else if (!(out->uri = strdup(uri)) || (expect && !(out->expect = strdup(expect))))
            rc = label_error(err, errlen, "smartdock.check.uri", uri, "memory to copy it");
        out->read_timeout_ms = out->timeout_ms;
    }
    if (rc < 0) check_spec_clear(out);
    return rc;
}
