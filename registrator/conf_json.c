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

/* The common/json_path context for p: same error buffer, same warnings. */
static struct json_ctx json_of(struct conf_ctx *p)
{
    return (struct json_ctx){.err = p->err, .errlen = p->errlen, .warnings = &p->warn};
}

void conf_describe(const cJSON *v, char *buf, size_t len)
{
    json_describe(v, buf, len);
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
    struct json_ctx c = json_of(p);
    return json_fail(&c, path, want, v);
}

int conf_oom(struct conf_ctx *p)
{
    return conf_failf(p, "out of memory");
}

int conf_fail_str(struct conf_ctx *p, const char *path, const char *want, const char *s)
{
    struct json_ctx c = json_of(p);
    return json_fail_text(&c, path, want, s);
}

int conf_warn_reserve(struct conf_ctx *p)
{
    return strlist_terminate(&p->warn) < 0 ? conf_oom(p) : 0;
}

int conf_warnf(struct conf_ctx *p, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r >= 0) r = strlist_push(&p->warn, s);
    free(s);
    return r < 0 ? conf_oom(p) : 0;
}

void conf_join(char *buf, size_t len, const char *prefix, const char *key)
{
    json_path_key(buf, len, prefix, key);
}

const cJSON *conf_member(const cJSON *obj, const char *key)
{
    return json_member(obj, key);
}

bool conf_in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (!strcmp(*list, s)) return true;
    return false;
}

bool conf_has_later(const cJSON *it)
{
    for (const cJSON *jt = it->next; jt; jt = jt->next)
        if (jt->string && it->string && !strcmp(jt->string, it->string)) return true;
    return false;
}

int conf_check_keys(struct conf_ctx *p, const cJSON *obj, const char *path,
                    const char *const *known, const char *const *other_type, const char *type_name)
{
    char why[64];
    struct json_ctx c = json_of(p);
    snprintf(why, sizeof why, "not used with %s, ignored", type_name ? type_name : "this type");
    return json_check_keys(&c, obj, path, known, other_type, why);
}

static int require(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key)
{
    char path[CONF_PATH_LEN];
    if (conf_member(obj, key)) return 0;
    conf_join(path, sizeof path, prefix, key);
    return conf_failf(p, "%s: required", path);
}

int conf_get_string(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                    bool required, char **out)
{
    struct json_ctx c = json_of(p);
    const cJSON *v = NULL;
    if ((required && require(p, obj, prefix, key) < 0) ||
        json_get(&c, obj, prefix, key, JSON_STRING, &v) < 0)
        return -1;
    return json_get_string_if(&c, obj, prefix, key, backend_text_is_safe,
                              "a string without control characters", out);
}

bool conf_as_int(const cJSON *v, long lo, long hi, int *out)
{
    return json_as_int(v, JSON_INT_NUMBER, lo, hi, out);
}

int conf_get_int(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                 bool required, long lo, long hi, int *out)
{
    struct json_ctx c = json_of(p);
    if (required && require(p, obj, prefix, key) < 0) return -1;
    return json_get_int(&c, obj, prefix, key, JSON_INT_NUMBER, lo, hi, out);
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
    struct json_ctx c = json_of(p);
    return json_get_bool(&c, obj, prefix, key, out);
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
    /* Grown as it is read: a buffer of the 4 MiB limit, freed at once, set
     * glibc's mmap threshold to 4 MiB for the rest of the run (every
     * buffer below that then stays in the heap). */
    size_t cap = 0, n = 0;
    char *buf = NULL;
    bool nomem = false;
    while (n <= CONFIG_MAX_BYTES) {
        if (n + 1 >= cap) {
            size_t want = cap ? cap * 2 : 16 * 1024;
            if (want > CONFIG_MAX_BYTES + 2) want = CONFIG_MAX_BYTES + 2;
            char *grown = realloc(buf, want);
            if (!grown) {
                nomem = true;
                break;
            }
            buf = grown;
            cap = want;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    if (nomem) {
        free(buf);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
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

cJSON *conf_parse_json(struct conf_ctx *p, const char *json)
{
    struct json_ctx c = json_of(p);
    return json_parse(&c, json, strlen(json), NULL);
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
