/*
 * Typed getters over cJSON for the registrator's config parsers; see
 * conf_json.h. Every error names the JSON path and shows the value as JSON.
 */
#include "conf_json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "json_path.h"

#define CONFIG_MAX_BYTES (4 * 1024 * 1024)

const char *const CONF_NO_KEYS[] = {NULL};

/* cJSON escapes control characters inside strings; DEL is the one left to hide. */
void conf_describe(const cJSON *v, char *buf, size_t len)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(buf, len, "%.100s%s", s ? s : "nothing", s && strlen(s) > 100 ? "..." : "");
    for (char *q = buf; *q; q++)
        if (*q == 0x7f) *q = '?';
    free(s);
}

int conf_failf(struct conf_ctx *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int conf_errorf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int conf_fail(struct conf_ctx *p, const char *path, const char *want, const cJSON *v)
{
    char got[160];
    if (json_path_is_secret(path))
        snprintf(got, sizeof got, "a value not shown");
    else
        conf_describe(v, got, sizeof got);
    return conf_failf(p, "%s: expected %s, got %s", path, want, got);
}

int conf_oom(struct conf_ctx *p)
{
    return conf_failf(p, "out of memory");
}

int conf_fail_str(struct conf_ctx *p, const char *path, const char *want, const char *s)
{
    cJSON *v = cJSON_CreateString(s);
    int r = v ? conf_fail(p, path, want, v) : conf_oom(p);
    cJSON_Delete(v);
    return r;
}

/* Room for one more warning and the terminating NULL. */
int conf_warn_reserve(struct conf_ctx *p)
{
    if (p->nwarn + 2 > p->capwarn) {
        size_t cap = p->capwarn ? p->capwarn * 2 : 8;
        char **v = realloc(p->warn, cap * sizeof *v);
        if (!v) return conf_oom(p);
        p->warn = v;
        p->capwarn = cap;
    }
    p->warn[p->nwarn] = NULL;
    return 0;
}

int conf_warnf(struct conf_ctx *p, const char *fmt, ...)
{
    if (conf_warn_reserve(p) < 0) return -1;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) return conf_oom(p);
    p->warn[p->nwarn++] = s;
    p->warn[p->nwarn] = NULL;
    return 0;
}

void conf_join(char *buf, size_t len, const char *prefix, const char *key)
{
    int n = prefix && *prefix ? snprintf(buf, len, "%s.", prefix) : 0;
    size_t j = n < 0 ? 0 : (size_t)n;
    for (const char *k = key ? key : ""; *k && j + 1 < len; k++)
        buf[j++] = (unsigned char)*k < 0x20 || *k == 0x7f ? '?' : *k;
    if (j < len) buf[j] = '\0';
}

/* The last one, as most JSON readers do; conf_check_keys warns about duplicates. */
const cJSON *conf_member(const cJSON *obj, const char *key)
{
    const cJSON *found = NULL, *it;
    cJSON_ArrayForEach(it, obj)
    {
        if (it->string && !strcmp(it->string, key)) found = it;
    }
    return cJSON_IsNull(found) ? NULL : found;
}

bool conf_in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (!strcmp(*list, s)) return true;
    return false;
}

bool conf_has_later(const cJSON *it)
{
    for (const cJSON *jt = it->next; jt; jt = jt->next)
        if (!strcmp(jt->string, it->string)) return true;
    return false;
}

int conf_check_keys(struct conf_ctx *p, const cJSON *obj, const char *path,
                    const char *const *known, const char *const *other_type, const char *type_name)
{
    const cJSON *it;
    char k[CONF_PATH_LEN];
    cJSON_ArrayForEach(it, obj)
    {
        conf_join(k, sizeof k, path, it->string);
        if (conf_has_later(it) && conf_warnf(p, "duplicate key %s: the last one is used", k) < 0)
            return -1;
        if (conf_in_list(known, it->string)) continue;
        int r = conf_in_list(other_type, it->string)
                    ? conf_warnf(p, "unknown key %s (not used with %s)", k, type_name)
                    : conf_warnf(p, "unknown key %s", k);
        if (r < 0) return -1;
    }
    return 0;
}

int conf_get_string(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                    bool required, char **out)
{
    char path[CONF_PATH_LEN];
    const cJSON *v = conf_member(obj, key);
    conf_join(path, sizeof path, prefix, key);
    if (!v) return required ? conf_failf(p, "%s: required", path) : 0;
    if (!cJSON_IsString(v)) return conf_fail(p, path, "a string", v);
    if (!backend_text_is_safe(v->valuestring))
        return conf_fail(p, path, "a string without control characters", v);
    free(*out);
    *out = strdup(v->valuestring);
    return *out ? 0 : conf_oom(p);
}

bool conf_as_int(const cJSON *v, long lo, long hi, int *out)
{
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi) return false;
    *out = (int)d;
    return true;
}

int conf_get_int(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                 bool required, long lo, long hi, int *out)
{
    char path[CONF_PATH_LEN], want[64];
    const cJSON *v = conf_member(obj, key);
    conf_join(path, sizeof path, prefix, key);
    if (!v) return required ? conf_failf(p, "%s: required", path) : 0;
    if (hi == INT_MAX)
        snprintf(want, sizeof want, "an integer >= %ld", lo);
    else
        snprintf(want, sizeof want, "an integer %ld..%ld", lo, hi);
    return conf_as_int(v, lo, hi, out) ? 0 : conf_fail(p, path, want, v);
}

int conf_get_positive(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                      long hi, int *out)
{
    char path[CONF_PATH_LEN];
    const cJSON *v = conf_member(obj, key);
    conf_join(path, sizeof path, prefix, key);
    if (!v) return 0;
    return conf_as_int(v, 1, hi, out) ? 0 : conf_fail(p, path, "a positive integer", v);
}

int conf_get_bool(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                  bool *out)
{
    char path[CONF_PATH_LEN];
    const cJSON *v = conf_member(obj, key);
    conf_join(path, sizeof path, prefix, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return conf_fail(p, path, "true or false", v);
    *out = cJSON_IsTrue(v);
    return 0;
}

int conf_get_seconds_ms(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                        long lo_ms, long hi_ms, int *out_ms)
{
    char path[CONF_PATH_LEN], want[96];
    const cJSON *v = conf_member(obj, key);
    conf_join(path, sizeof path, prefix, key);
    if (!v) return 0;
    snprintf(want, sizeof want, "a number of seconds %g..%g", lo_ms / 1000.0, hi_ms / 1000.0);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return conf_fail(p, path, want, v);
    double ms = round(v->valuedouble * 1000.0);
    if (ms < (double)lo_ms || ms > (double)hi_ms) return conf_fail(p, path, want, v);
    *out_ms = (int)ms;
    return 0;
}

char *conf_read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CONFIG_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    size_t n = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    const char *why = rerr                   ? strerror(rerr)
                      : n > CONFIG_MAX_BYTES ? "larger than 4 MiB"
                      : memchr(buf, '\0', n) ? "contains a NUL byte"
                                             : NULL;
    if (why) {
        free(buf);
        snprintf(err, errlen, rerr ? "cannot read %s: %s" : "%s: %s", path, why);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Where cJSON stopped, as 1-based line and column. */
static void position(const char *json, const char *at, int *line, int *col)
{
    const char *bol = json;
    *line = 1;
    for (const char *q = json; q < at && *q; q++)
        if (*q == '\n') {
            (*line)++;
            bol = q + 1;
        }
    *col = (int)(at - bol) + 1;
}

cJSON *conf_parse_json(struct conf_ctx *p, const char *json)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        int line, col;
        position(json, end ? end : json, &line, &col);
        conf_failf(p, "malformed JSON at line %d, column %d", line, col);
    }
    return root;
}

int conf_get_labels(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                    struct label **out, size_t *nout)
{
    char path[CONF_PATH_LEN], lpath[CONF_PATH_LEN];
    const cJSON *labels = conf_member(obj, key), *l;
    conf_join(path, sizeof path, prefix, key);
    if (!labels) return 0;
    if (!cJSON_IsObject(labels)) return conf_fail(p, path, "an object of strings", labels);
    size_t n = (size_t)cJSON_GetArraySize(labels);
    if (n && !(*out = calloc(n, sizeof **out))) return conf_oom(p);
    cJSON_ArrayForEach(l, labels)
    {
        conf_join(lpath, sizeof lpath, path, l->string);
        if (!*l->string || !backend_text_is_safe(l->string))
            return conf_fail_str(p, path, "non-empty keys without control characters", l->string);
        if (!cJSON_IsString(l) || !backend_text_is_safe(l->valuestring))
            return conf_fail(p, lpath, "a string without control characters", l);
        if (conf_has_later(l)) {
            if (conf_warnf(p, "duplicate key %s: the last one is used", lpath) < 0) return -1;
            continue;
        }
        struct label *dst = &(*out)[(*nout)++];
        if (!(dst->key = strdup(l->string)) || !(dst->value = strdup(l->valuestring)))
            return conf_oom(p);
    }
    return 0;
}

int conf_get_server_options(struct conf_ctx *p, const cJSON *obj, const char *prefix,
                            const char *key, char **out)
{
    char path[CONF_PATH_LEN];
    const cJSON *opts = conf_member(obj, key);
    conf_join(path, sizeof path, prefix, key);
    if (!opts) return 0;
    if (!cJSON_IsString(opts) || !backend_options_are_safe(opts->valuestring))
        return conf_fail(p, path, "a string without control characters, '#', ';' or '\\'", opts);
    if (*opts->valuestring && !(*out = strdup(opts->valuestring))) return conf_oom(p);
    return 0;
}

bool conf_port_text_ok(const char *s, size_t n)
{
    long port = 0;
    if (n == 0 || n > 5) return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}
