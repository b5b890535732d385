/*
 * What the Synapse config parser reads beyond common/json_path.h: defaults,
 * HAProxy lines (with the deprecated-keyword translation) and names.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "syn_config_json.h"

/*
 * What smartdock does instead of each Synapse option it accepts and does not
 * act on: every such key gets this, once, at load.
 */
static const struct {
    const char *key;
    const char *instead;
} ignored_why[] = {
    {"statsd", "smartdock exports no metrics; it logs a summary line at exit"},
    {"load_test_concurrency", "every backend is rendered once"},
    {"retry_policy",
     "the ZooKeeper client reconnects by itself, forever, and every child is read again"},
    {"discovery_jitter", "polling sets no watches, so there is nothing to delay (as in Synapse)"},
    {"use_nerve_weights",
     "Synapse reads only the top-level haproxy.use_nerve_weights, so this one changes nothing "
     "there either"},
};

static const char *instead_of(const char *key)
{
    for (size_t i = 0; i < sizeof ignored_why / sizeof ignored_why[0]; i++)
        if (strcmp(ignored_why[i].key, key) == 0) return ignored_why[i].instead;
    return "nothing reads it";
}

int syn_check_keys(struct json_ctx *c, const cJSON *obj, const char *path, const char *const *known,
                   const char *const *unsupported)
{
    /* json_check_keys sees both lists as known (duplicates and unknown keys are
     * its job); each unsupported key then gets its own sentence. */
    const char *all[64];
    size_t n = 0;
    for (const char *const *k = known; k && *k && n < 63; k++)
        all[n++] = *k;
    for (const char *const *k = unsupported; k && *k && n < 63; k++)
        all[n++] = *k;
    all[n] = NULL;
    if (json_check_keys(c, obj, path, all, NULL, NULL) < 0) return -1;
    for (const char *const *k = unsupported; k && *k; k++) {
        const cJSON *v = json_lookup(obj, *k);
        char p[JSON_PATH_MAX];
        if (!v) continue;
        json_path_key(p, sizeof p, path, *k);
        if (json_warnf(c, v, "%s: Synapse option not supported by smartdock, ignored: %s", p,
                       instead_of(*k)) < 0)
            return -1;
    }
    return 0;
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

static bool word_ok(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) return false;
    return true;
}

int syn_get_word(struct json_ctx *c, const cJSON *obj, const char *path, const char *key,
                 char **out)
{
    return json_get_string_if(c, obj, path, key, word_ok,
                              "a non-empty string without spaces or control characters", out);
}

int syn_get_bool(struct json_ctx *c, const cJSON *obj, const char *path, const char *key, bool dflt,
                 bool *out)
{
    *out = dflt;
    return json_get_bool(c, obj, path, key, out);
}

int syn_get_int(struct json_ctx *c, const cJSON *obj, const char *path, const char *key, long lo,
                long hi, int dflt, int *out)
{
    *out = dflt;
    return json_get_int(c, obj, path, key, JSON_INT_NUMBER_OR_DIGITS, lo, hi, out);
}

int syn_get_number(struct json_ctx *c, const cJSON *obj, const char *path, const char *key,
                   double lo, double hi, double dflt, double *out)
{
    *out = dflt;
    /* Synapse converts with to_i/to_f, so restart_interval: "5" works there. */
    const cJSON *v = json_member(obj, key);
    if (cJSON_IsString(v) && *v->valuestring && !isspace((unsigned char)*v->valuestring)) {
        char *end;
        errno = 0;
        double d = strtod(v->valuestring, &end);
        if (!*end && !errno && isfinite(d) && d >= lo && d <= hi) {
            *out = d;
            return 0;
        }
    }
    return json_get_number(c, obj, path, key, lo, hi, out);
}

static int push_line(struct json_ctx *c, const char *p, const char *line, struct strlist *out)
{
    char *fixed = NULL;
    const char *replacement = NULL;
    int r = syn_translate_deprecated_line(line, &fixed, &replacement);
    if (r < 0) return json_oom(c);
    if (r == 1) {
        r = json_warnf(c, NULL, "%s: \"%s\" is refused by HAProxy >= 2.1; using \"%s\" instead", p,
                       line, fixed);
        if (r == 0 && strlist_push(out, fixed) < 0) r = json_oom(c);
        free(fixed);
        return r;
    }
    return strlist_push(out, line) < 0 ? json_oom(c) : 0;
}

static int get_string_array(struct json_ctx *c, const cJSON *obj, const char *path, const char *key,
                            struct strlist *out, bool lines)
{
    char p[JSON_PATH_MAX], pi[JSON_PATH_MAX];
    const cJSON *v = json_member(obj, key);
    if (!v) return 0;
    json_path_key(p, sizeof p, path, key);
    if (lines && cJSON_IsString(v)) { /* Synapse's README shows `backend: "mode http"` */
        if (!json_text_ok(v->valuestring))
            return json_fail(c, p, "a string without control characters", v);
        return push_line(c, p, v->valuestring, out);
    }
    if (!cJSON_IsArray(v)) return json_fail(c, p, "an array of strings", v);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        json_path_index(pi, sizeof pi, p, i++);
        if (!cJSON_IsString(it)) return json_fail(c, pi, "a string", it);
        if (!json_text_ok(it->valuestring))
            return json_fail(c, pi, "a string without control characters", it);
        int r = lines ? push_line(c, pi, it->valuestring, out)
                      : (strlist_push(out, it->valuestring) < 0 ? json_oom(c) : 0);
        if (r < 0) return -1;
    }
    return 0;
}

int syn_get_lines(struct json_ctx *c, const cJSON *obj, const char *path, const char *key,
                  struct strlist *out)
{
    return get_string_array(c, obj, path, key, out, true);
}

int syn_get_strings(struct json_ctx *c, const cJSON *obj, const char *path, const char *key,
                    struct strlist *out)
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
