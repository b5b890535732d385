#include "json_path.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ---------------------------------------------------------- */

/* "file:line: " when a front end knows where node came from, else "". */
static void source_prefix(const struct json_ctx *c, const cJSON *node, char *buf, size_t n)
{
    unsigned line = c->line_of && node ? c->line_of(node, c->line_arg) : 0;
    buf[0] = '\0';
    if (line) snprintf(buf, n, "%s:%u: ", c->file ? c->file : "line", line);
}

static int vfail(struct json_ctx *c, const cJSON *at, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int vfail(struct json_ctx *c, const cJSON *at, const char *fmt, va_list ap)
{
    char where[JSON_PATH_MAX];
    if (!c->err || !c->errlen) return -1;
    source_prefix(c, at, where, sizeof where);
    size_t w = strlen(where) < c->errlen ? strlen(where) : 0;
    memcpy(c->err, where, w);
    vsnprintf(c->err + w, c->errlen - w, fmt, ap);
    return -1;
}

int json_failf(struct json_ctx *c, const cJSON *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(c, at, fmt, ap);
    va_end(ap);
    return -1;
}

int json_oom(struct json_ctx *c)
{
    return json_failf(c, NULL, "out of memory");
}

int json_warnf(struct json_ctx *c, const cJSON *at, const char *fmt, ...)
{
    char where[JSON_PATH_MAX];
    char *s = NULL;
    va_list ap;
    if (!c->warnings) return 0;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) return json_oom(c);
    source_prefix(c, at, where, sizeof where);
    r = strlist_pushf(c->warnings, "%s%s", where, s);
    free(s);
    return r < 0 ? json_oom(c) : 0;
}

void json_describe(const cJSON *v, char *buf, size_t n)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    size_t j = 0, len;
    if (!n) return;
    if (!s) {
        snprintf(buf, n, "%s", v ? "?" : "nothing");
        return;
    }
    len = strlen(s);
    /* cJSON escapes control characters inside strings; hide DEL and any
     * raw byte that could still end a log line. */
    for (size_t i = 0; i < len && i < JSON_SHOWN_MAX && j + 4 < n; i++)
        buf[j++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (len > JSON_SHOWN_MAX && j + 4 <= n) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
    cJSON_free(s);
}

bool json_path_is_secret(const char *path)
{
    const char *dot = strrchr(path, '.');
    return strcmp(dot ? dot + 1 : path, "password") == 0;
}

int json_fail(struct json_ctx *c, const char *path, const char *want, const cJSON *v)
{
    char got[JSON_SHOWN_MAX + 8];
    if (json_path_is_secret(path))
        snprintf(got, sizeof got, "a value not shown");
    else
        json_describe(v, got, sizeof got);
    return json_failf(c, v, "%s: expected %s, got %s", path, want, got);
}

int json_fail_text(struct json_ctx *c, const char *path, const char *want, const char *s)
{
    cJSON *v = cJSON_CreateString(s ? s : "");
    int r = v ? json_fail(c, path, want, v) : json_oom(c);
    cJSON_Delete(v);
    return r;
}

/* ---- paths ------------------------------------------------------------- */

void json_path_key(char *buf, size_t len, const char *prefix, const char *key)
{
    int n = prefix && *prefix ? snprintf(buf, len, "%s.", prefix) : 0;
    size_t j = n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
    if (!len) return;
    for (const char *k = key ? key : ""; *k && j + 1 < len; k++)
        buf[j++] = (unsigned char)*k < 0x20 || *k == 0x7f ? '?' : *k;
    buf[j] = '\0';
}

void json_path_index(char *buf, size_t len, const char *prefix, size_t i)
{
    if (snprintf(buf, len, "%s[%zu]", prefix ? prefix : "", i) < 0 && len) buf[0] = '\0';
}

void json_path_quoted(char *buf, size_t len, const char *prefix, const char *key)
{
    char shown[JSON_SHOWN_MAX + 8];
    cJSON *s = cJSON_CreateString(key ? key : "");
    json_describe(s, shown, sizeof shown);
    cJSON_Delete(s);
    snprintf(buf, len, "%s[%s]", prefix ? prefix : "", shown);
}

/* ---- lookup ------------------------------------------------------------ */

const cJSON *json_lookup(const cJSON *obj, const char *key)
{
    const cJSON *found = NULL, *it;
    if (!cJSON_IsObject(obj)) return NULL;
    cJSON_ArrayForEach(it, obj)
    {
        if (it->string && !strcmp(it->string, key)) found = it;
    }
    return found;
}

const cJSON *json_member(const cJSON *obj, const char *key)
{
    const cJSON *v = json_lookup(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

static const struct {
    int types; /* cJSON type bits that satisfy the kind */
    const char *name;
} kinds[] = {[JSON_STRING] = {cJSON_String, "a string"},
             [JSON_NUMBER] = {cJSON_Number, "a number"},
             [JSON_BOOL] = {cJSON_True | cJSON_False, "true or false"},
             [JSON_OBJECT] = {cJSON_Object, "an object"},
             [JSON_ARRAY] = {cJSON_Array, "an array"}};

bool json_is(const cJSON *v, enum json_kind k)
{
    return v && (v->type & 0xff & kinds[k].types) && (k != JSON_STRING || v->valuestring);
}

const char *json_kind_name(enum json_kind k)
{
    return kinds[k].name;
}

int json_expect(struct json_ctx *c, const char *path, enum json_kind k, const cJSON *v)
{
    return json_is(v, k) ? 0 : json_fail(c, path, kinds[k].name, v);
}

static bool in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (!strcmp(*list, s)) return true;
    return false;
}

int json_check_keys(struct json_ctx *c, const cJSON *obj, const char *path,
                    const char *const *known, const char *const *ignored, const char *ignored_why)
{
    const cJSON *it;
    char p[JSON_PATH_MAX];
    cJSON_ArrayForEach(it, obj)
    {
        if (!it->string) continue;
        json_path_key(p, sizeof p, path, it->string);
        if (json_lookup(obj, it->string) != it &&
            json_warnf(c, it, "duplicate key %s: the last one is used", p) < 0)
            return -1;
        if (in_list(known, it->string)) continue;
        int r = in_list(ignored, it->string) ? json_warnf(c, it, "%s: %s", p, ignored_why)
                                             : json_warnf(c, it, "unknown key %s", p);
        if (r < 0) return -1;
    }
    return 0;
}

/* ---- typed getters ----------------------------------------------------- */

int json_get(struct json_ctx *c, const cJSON *obj, const char *prefix, const char *key,
             enum json_kind k, const cJSON **out)
{
    char p[JSON_PATH_MAX];
    const cJSON *v = json_member(obj, key);
    *out = NULL;
    if (!v) return 0;
    if (!json_is(v, k)) {
        json_path_key(p, sizeof p, prefix, key);
        return json_fail(c, p, kinds[k].name, v);
    }
    *out = v;
    return 0;
}

static bool any_string(const char *s)
{
    (void)s;
    return true;
}

int json_get_string_if(struct json_ctx *c, const cJSON *obj, const char *prefix, const char *key,
                       bool (*ok)(const char *), const char *want, char **out)
{
    char p[JSON_PATH_MAX];
    const cJSON *v = json_member(obj, key);
    if (!v) return 0;
    if (!json_is(v, JSON_STRING) || !ok(v->valuestring)) {
        json_path_key(p, sizeof p, prefix, key);
        return json_fail(c, p, want, v);
    }
    char *copy = strdup(v->valuestring);
    if (!copy) return json_oom(c);
    free(*out);
    *out = copy;
    return 0;
}

int json_get_string(struct json_ctx *c, const cJSON *obj, const char *prefix, const char *key,
                    char **out)
{
    return json_get_string_if(c, obj, prefix, key, any_string, "a string", out);
}

bool json_text_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return false;
    }
    return true;
}

int json_get_text(struct json_ctx *c, const cJSON *obj, const char *prefix, const char *key,
                  char **out)
{
    const cJSON *v = NULL;
    if (json_get(c, obj, prefix, key, JSON_STRING, &v) < 0) return -1;
    return json_get_string_if(c, obj, prefix, key, json_text_ok,
                              "a string without control characters", out);
}

int json_get_bool(struct json_ctx *c, const cJSON *obj, const char *prefix, const char *key,
                  bool *out)
{
    const cJSON *v = NULL;
    if (json_get(c, obj, prefix, key, JSON_BOOL, &v) < 0) return -1;
    if (v) *out = cJSON_IsTrue(v);
    return 0;
}

bool json_as_int(const cJSON *v, enum json_int_syntax syntax, long lo, long hi, int *out)
{
    double d;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (syntax == JSON_INT_NUMBER_OR_DIGITS && cJSON_IsString(v) && *v->valuestring &&
               strlen(v->valuestring) < 12) {
        for (const char *s = v->valuestring; *s; s++)
            if (!isdigit((unsigned char)*s)) return false;
        d = strtod(v->valuestring, NULL);
    } else {
        return false;
    }
    if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi) return false;
    *out = (int)d;
    return true;
}

int json_get_int(struct json_ctx *c, const cJSON *obj, const char *prefix, const char *key,
                 enum json_int_syntax syntax, long lo, long hi, int *out)
{
    char p[JSON_PATH_MAX], want[64];
    const cJSON *v = json_member(obj, key);
    if (!v || json_as_int(v, syntax, lo, hi, out)) return 0;
    json_path_key(p, sizeof p, prefix, key);
    if (hi == INT_MAX)
        snprintf(want, sizeof want, "an integer >= %ld", lo);
    else
        snprintf(want, sizeof want, "an integer %ld..%ld", lo, hi);
    return json_fail(c, p, want, v);
}

int json_get_number(struct json_ctx *c, const cJSON *obj, const char *prefix, const char *key,
                    double lo, double hi, double *out)
{
    char p[JSON_PATH_MAX], want[64];
    const cJSON *v = json_member(obj, key);
    if (!v) return 0;
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= lo &&
        v->valuedouble <= hi) {
        *out = v->valuedouble;
        return 0;
    }
    json_path_key(p, sizeof p, prefix, key);
    snprintf(want, sizeof want, "a number %g..%g", lo, hi);
    return json_fail(c, p, want, v);
}

/* ---- parsing ----------------------------------------------------------- */

bool json_has_nul(const char *json, size_t len)
{
    if (memchr(json, 0, len)) return true;
    for (size_t i = 0; i + 6 <= len; i++) {
        if (json[i] != '\\' || memcmp(json + i + 1, "u0000", 5) != 0) continue;
        size_t k = 0;
        while (k < i && json[i - 1 - k] == '\\')
            k++;
        if (k % 2 == 0) return true;
    }
    return false;
}

/* Where parsing stopped, as 1-based line and column. */
static void position(const char *json, const char *at, int *line, int *col)
{
    const char *bol = json;
    *line = 1;
    for (const char *q = json; q < at; q++)
        if (*q == '\n') {
            (*line)++;
            bol = q + 1;
        }
    *col = (int)(at - bol) + 1;
}

cJSON *json_parse(struct json_ctx *c, const char *json, size_t len, const char *what)
{
    const char *end = NULL, *stop;
    const char *sep = what ? ": " : "";
    int line, col;
    cJSON *root;
    if (!what) what = "";
    if (!json) json = "", len = 0;
    if (memchr(json, 0, len)) {
        json_failf(c, NULL, "%s%sa NUL byte, which is not allowed", what, sep);
        return NULL;
    }
    if (json_has_nul(json, len)) {
        json_failf(c, NULL, "%s%sa string holds \\u0000, which is not allowed", what, sep);
        return NULL;
    }
    root = len ? cJSON_ParseWithLengthOpts(json, len, &end, 0) : NULL;
    stop = end && end >= json && end <= json + len ? end : json;
    if (root) {
        while (stop < json + len && strchr(" \t\r\n", *stop))
            stop++;
        if (stop == json + len) return root;
        cJSON_Delete(root);
    }
    position(json, stop, &line, &col);
    json_failf(c, NULL, "%s%smalformed JSON at line %d, column %d", what, sep, line, col);
    return NULL;
}
