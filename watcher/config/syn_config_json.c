/*
 * Typed, path-naming getters over cJSON for the Synapse config parser, and
 * the deprecated-keyword translation.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syn_config_json.h"

/* A printable, bounded rendering of a JSON value for messages. */
static void describe(const cJSON *v, char *buf, size_t len)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    if (!s) {
        snprintf(buf, len, "nothing");
        return;
    }
    size_t j = 0, n = strlen(s);
    for (size_t i = 0; i < n && i < 100 && j + 5 < len; i++)
        buf[j++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    if (n > 100 && j + 4 < len) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
    free(s);
}

int syn_fail(struct syn_pctx *c, const char *path, const char *want, const cJSON *v)
{
    char got[128];
    describe(v, got, sizeof got);
    snprintf(c->err, c->errlen, "%s: expected %s, got %s", path, want, got);
    return -1;
}

int syn_failf(struct syn_pctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int syn_oom(struct syn_pctx *c)
{
    return syn_failf(c, "out of memory");
}

int syn_warnf(struct syn_pctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) return syn_oom(c);
    r = syn_strlist_push(c->warnings, s);
    free(s);
    return r < 0 ? syn_oom(c) : 0;
}

/* Paths are for messages: a truncated one is still useful, so truncation is fine. */
void syn_path(char *buf, size_t len, const char *prefix, const char *key)
{
    int r = prefix && *prefix ? snprintf(buf, len, "%s.%s", prefix, key)
                              : snprintf(buf, len, "%s", key);
    if (r < 0 && len) buf[0] = '\0';
}

void syn_path_index(char *buf, size_t len, const char *prefix, size_t i)
{
    if (snprintf(buf, len, "%s[%zu]", prefix, i) < 0 && len) buf[0] = '\0';
}

const cJSON *syn_get(const cJSON *obj, const char *key)
{
    const cJSON *found = NULL, *it;
    if (!cJSON_IsObject(obj)) return NULL;
    cJSON_ArrayForEach(it, obj)
    {
        if (it->string && strcmp(it->string, key) == 0) found = it;
    }
    return found;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0) return true;
    return false;
}

int syn_check_keys(struct syn_pctx *c, const cJSON *obj, const char *path, const char *const *known,
                   const char *const *unsupported)
{
    const cJSON *it;
    char p[SYN_PATH_MAX];
    cJSON_ArrayForEach(it, obj)
    {
        syn_path(p, sizeof p, path, it->string);
        if (syn_get(obj, it->string) != it &&
            syn_warnf(c, "duplicate key %s: the last one is used", p) < 0)
            return -1;
        if (in_list(known, it->string)) continue;
        int r = in_list(unsupported, it->string)
                    ? syn_warnf(c, "%s: Synapse option not supported by smartdock, ignored", p)
                    : syn_warnf(c, "unknown key %s", p);
        if (r < 0) return -1;
    }
    return 0;
}

bool syn_text_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return false;
    }
    return true;
}

bool syn_name_ok(const char *s)
{
    if (!*s) return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!(isalnum(ch) || ch == '.' || ch == '_' || ch == ':' || ch == '-')) return false;
    }
    return true;
}

/* Absent and null both mean "not given", as Ruby's nil does. */
static const cJSON *member(const cJSON *obj, const char *key)
{
    const cJSON *v = syn_get(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

int syn_get_string(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                   char **out)
{
    char p[SYN_PATH_MAX];
    const cJSON *v = member(obj, key);
    *out = NULL;
    if (!v) return 0;
    syn_path(p, sizeof p, path, key);
    if (!cJSON_IsString(v)) return syn_fail(c, p, "a string", v);
    if (!syn_text_ok(v->valuestring))
        return syn_fail(c, p, "a string without control characters", v);
    *out = strdup(v->valuestring);
    return *out ? 0 : syn_oom(c);
}

int syn_get_word(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                 char **out)
{
    char p[SYN_PATH_MAX];
    const cJSON *v = member(obj, key);
    *out = NULL;
    if (!v) return 0;
    syn_path(p, sizeof p, path, key);
    bool ok = cJSON_IsString(v) && *v->valuestring;
    for (const char *s = ok ? v->valuestring : ""; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) ok = false;
    if (!ok) return syn_fail(c, p, "a non-empty string without spaces or control characters", v);
    *out = strdup(v->valuestring);
    return *out ? 0 : syn_oom(c);
}

int syn_get_bool(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key, bool dflt,
                 bool *out)
{
    char p[SYN_PATH_MAX];
    const cJSON *v = member(obj, key);
    *out = dflt;
    if (!v) return 0;
    if (!cJSON_IsBool(v)) {
        syn_path(p, sizeof p, path, key);
        return syn_fail(c, p, "true or false", v);
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

bool syn_as_int(const cJSON *v, long lo, long hi, int *out)
{
    double d;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v) && *v->valuestring && strlen(v->valuestring) < 12) {
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

int syn_get_int(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key, long lo,
                long hi, int dflt, int *out)
{
    char p[SYN_PATH_MAX], want[64];
    const cJSON *v = member(obj, key);
    *out = dflt;
    if (!v || syn_as_int(v, lo, hi, out)) return 0;
    syn_path(p, sizeof p, path, key);
    snprintf(want, sizeof want, "an integer %ld..%ld", lo, hi);
    return syn_fail(c, p, want, v);
}

int syn_get_number(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                   double lo, double hi, double dflt, double *out)
{
    char p[SYN_PATH_MAX], want[64];
    const cJSON *v = member(obj, key);
    *out = dflt;
    if (!v) return 0;
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= lo &&
        v->valuedouble <= hi) {
        *out = v->valuedouble;
        return 0;
    }
    syn_path(p, sizeof p, path, key);
    snprintf(want, sizeof want, "a number %g..%g", lo, hi);
    return syn_fail(c, p, want, v);
}

static int push_line(struct syn_pctx *c, const char *p, const char *line, struct syn_strlist *out)
{
    char *fixed = NULL;
    const char *replacement = NULL;
    int r = syn_translate_deprecated_line(line, &fixed, &replacement);
    if (r < 0) return syn_oom(c);
    if (r == 1) {
        r = syn_warnf(c, "%s: \"%s\" is refused by HAProxy >= 2.1; using \"%s\" instead", p, line,
                      fixed);
        if (r == 0 && syn_strlist_push(out, fixed) < 0) r = syn_oom(c);
        free(fixed);
        return r;
    }
    return syn_strlist_push(out, line) < 0 ? syn_oom(c) : 0;
}

static int get_string_array(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                            struct syn_strlist *out, bool lines)
{
    char p[SYN_PATH_MAX], pi[SYN_PATH_MAX];
    const cJSON *v = member(obj, key);
    if (!v) return 0;
    syn_path(p, sizeof p, path, key);
    if (lines && cJSON_IsString(v)) { /* Synapse's README shows `backend: "mode http"` */
        if (!syn_text_ok(v->valuestring))
            return syn_fail(c, p, "a string without control characters", v);
        return push_line(c, p, v->valuestring, out);
    }
    if (!cJSON_IsArray(v)) return syn_fail(c, p, "an array of strings", v);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        syn_path_index(pi, sizeof pi, p, i++);
        if (!cJSON_IsString(it)) return syn_fail(c, pi, "a string", it);
        if (!syn_text_ok(it->valuestring))
            return syn_fail(c, pi, "a string without control characters", it);
        int r = lines ? push_line(c, pi, it->valuestring, out)
                      : (syn_strlist_push(out, it->valuestring) < 0 ? syn_oom(c) : 0);
        if (r < 0) return -1;
    }
    return 0;
}

int syn_get_lines(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                  struct syn_strlist *out)
{
    return get_string_array(c, obj, path, key, out, true);
}

int syn_get_strings(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                    struct syn_strlist *out)
{
    return get_string_array(c, obj, path, key, out, false);
}

/* Old keyword (as a whole-word prefix) and what HAProxy >= 2.1 wants instead. */
static const struct {
    const char *old, *new;
} deprecated[] = {
    {"timeout contimeout", "timeout connect"}, {"timeout clitimeout", "timeout client"},
    {"timeout srvtimeout", "timeout server"},  {"contimeout", "timeout connect"},
    {"clitimeout", "timeout client"},          {"srvtimeout", "timeout server"},
};

/* Length of the prefix of s matching kw, where kw's spaces match any run of blanks. */
static size_t match_keyword(const char *s, const char *kw)
{
    const char *p = s;
    for (; *kw; kw++) {
        if (*kw == ' ') {
            if (*p != ' ' && *p != '\t') return 0;
            while (*p == ' ' || *p == '\t')
                p++;
        } else if (*p++ != *kw) {
            return 0;
        }
    }
    if (*p && *p != ' ' && *p != '\t') return 0; /* a longer word */
    return (size_t)(p - s);
}

int syn_translate_deprecated_line(const char *line, char **out, const char **replacement)
{
    *out = NULL;
    if (replacement) *replacement = NULL;
    size_t lead = strspn(line, " \t");
    for (size_t i = 0; i < sizeof deprecated / sizeof deprecated[0]; i++) {
        size_t n = match_keyword(line + lead, deprecated[i].old);
        if (!n) continue;
        if (asprintf(out, "%.*s%s%s", (int)lead, line, deprecated[i].new, line + lead + n) < 0) {
            *out = NULL;
            return -1;
        }
        if (replacement) *replacement = deprecated[i].new;
        return 1;
    }
    return 0;
}
