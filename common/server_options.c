#include "server_options.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum arg_kind {
    ARG_NONE,     /* a flag */
    ARG_INT,      /* a decimal integer in [lo, hi] */
    ARG_DURATION, /* an integer with an HAProxy time unit, in [lo, hi] milliseconds */
    ARG_ENUM,     /* one of choices */
    ARG_WORD,     /* any word */
};

struct keyword {
    const char *name;
    enum arg_kind arg;
    long long lo, hi;
    const char *const *choices;
    bool by_default; /* in the default allow-list */
};

static const char *const on_error_choices[] = {"fastinter", "fail-check", "sudden-death",
                                               "mark-down", NULL};
static const char *const observe_choices[] = {"layer4", "layer7", NULL};

/* HAProxy stores times as signed 32-bit milliseconds. */
#define MAX_MS 2147483647LL
#define MAX_COUNT 1000000LL

static const struct keyword keywords[] = {
    {"weight", ARG_INT, 0, 256, NULL, true},
    {"backup", ARG_NONE, 0, 0, NULL, true},
    {"check", ARG_NONE, 0, 0, NULL, true},
    {"inter", ARG_DURATION, 1, MAX_MS, NULL, true},
    {"fastinter", ARG_DURATION, 1, MAX_MS, NULL, true},
    {"downinter", ARG_DURATION, 1, MAX_MS, NULL, true},
    {"rise", ARG_INT, 1, MAX_COUNT, NULL, true},
    {"fall", ARG_INT, 1, MAX_COUNT, NULL, true},
    {"maxconn", ARG_INT, 0, MAX_COUNT, NULL, true},
    {"maxqueue", ARG_INT, 0, MAX_COUNT, NULL, true},
    {"minconn", ARG_INT, 0, MAX_COUNT, NULL, true},
    {"slowstart", ARG_DURATION, 0, MAX_MS, NULL, true},
    {"on-error", ARG_ENUM, 0, 0, on_error_choices, true},
    {"error-limit", ARG_INT, 1, MAX_COUNT, NULL, true},
    {"observe", ARG_ENUM, 0, 0, observe_choices, true},
    {"agent-check", ARG_NONE, 0, 0, NULL, true},
    {"agent-port", ARG_INT, 1, 65535, NULL, true},
    {"agent-inter", ARG_DURATION, 1, MAX_MS, NULL, true},
    {"send-proxy", ARG_NONE, 0, 0, NULL, true},
    {"send-proxy-v2", ARG_NONE, 0, 0, NULL, true},
    {"check-send-proxy", ARG_NONE, 0, 0, NULL, true},
    {"pool-max-conn", ARG_INT, -1, MAX_COUNT, NULL, true},
    {"tfo", ARG_NONE, 0, 0, NULL, true},
    /* Not in the default list; an operator may allow them by name. */
    {"disabled", ARG_NONE, 0, 0, NULL, false},
    {"cookie", ARG_WORD, 0, 0, NULL, false},
    {"id", ARG_INT, 1, 2147483647LL, NULL, false},
    {"non-stick", ARG_NONE, 0, 0, NULL, false},
};
#define NKEYWORDS (sizeof keywords / sizeof keywords[0])

static const char *const refused[] = {
    "disabled",  "cookie", "track",          "source",       "usesrc", "interface", "namespace",
    "sni",       "crt",    "ca-file",        "crl-file",     "redir",  "addr",      "init-addr",
    "resolvers", "id",     "on-marked-down", "on-marked-up", NULL,
};

struct server_options_policy {
    bool allowed[NKEYWORDS];
};

static const struct keyword *find_keyword(const char *name, size_t len)
{
    for (size_t i = 0; i < NKEYWORDS; i++)
        if (strlen(keywords[i].name) == len && memcmp(keywords[i].name, name, len) == 0)
            return &keywords[i];
    return NULL;
}

const char *const *server_options_default_keywords(void)
{
    static const char *list[NKEYWORDS + 1];
    if (!list[0]) {
        size_t n = 0;
        for (size_t i = 0; i < NKEYWORDS; i++)
            if (keywords[i].by_default) list[n++] = keywords[i].name;
        list[n] = NULL;
    }
    return list;
}

bool server_options_keyword_is_known(const char *keyword)
{
    return find_keyword(keyword, strlen(keyword)) != NULL;
}

bool server_options_keyword_is_refused(const char *keyword)
{
    for (size_t i = 0; refused[i]; i++)
        if (strcmp(refused[i], keyword) == 0) return true;
    return false;
}

struct server_options_policy *server_options_policy_new(const char *const *kw, size_t n, char *err,
                                                        size_t errlen)
{
    struct server_options_policy *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct keyword *k = find_keyword(kw[i], strlen(kw[i]));
        if (!k) {
            snprintf(err, errlen,
                     "\"%.64s\" is not a server keyword smartdock can check the arguments of",
                     kw[i]);
            free(p);
            return NULL;
        }
        p->allowed[k - keywords] = true;
    }
    return p;
}

void server_options_policy_free(struct server_options_policy *p)
{
    free(p);
}

static bool is_word_byte(unsigned char c)
{
    return isalnum(c) || c == '.' || c == '_' || c == ':' || c == '/' || c == '+' || c == '-';
}

/* A decimal integer of at most 10 digits with an optional leading '-'. */
static bool parse_number(const char *w, size_t len, size_t *digits_end, long long *out)
{
    size_t i = 0;
    bool neg = len > 0 && w[0] == '-';
    if (neg) i++;
    size_t start = i;
    long long v = 0;
    while (i < len && isdigit((unsigned char)w[i]) && i - start < 10)
        v = v * 10 + (w[i++] - '0');
    if (i == start || (i < len && isdigit((unsigned char)w[i]))) return false;
    *digits_end = i;
    *out = neg ? -v : v;
    return true;
}

static bool parse_int(const char *w, size_t len, long long *out)
{
    size_t end;
    return parse_number(w, len, &end, out) && end == len;
}

/* HAProxy's time units; none means milliseconds. Microseconds round up. */
static bool parse_duration_ms(const char *w, size_t len, long long *out)
{
    size_t end;
    long long v;
    if (!parse_number(w, len, &end, &v) || v < 0) return false;
    const char *unit = w + end;
    size_t ulen = len - end;
    static const struct {
        const char *name;
        long long mul, div;
    } units[] = {{"", 1, 1},      {"us", 1, 1000},   {"ms", 1, 1},      {"s", 1000, 1},
                 {"m", 60000, 1}, {"h", 3600000, 1}, {"d", 86400000, 1}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == ulen && memcmp(units[i].name, unit, ulen) == 0) {
            *out = units[i].div > 1 ? (v + units[i].div - 1) / units[i].div : v * units[i].mul;
            return true;
        }
    return false;
}

static int refuse(char *err, size_t errlen, char **bad_word, const char *w, size_t len,
                  const char *why)
{
    char shown[64];
    size_t n = len < sizeof shown - 1 ? len : sizeof shown - 1;
    for (size_t i = 0; i < n; i++)
        shown[i] = ((unsigned char)w[i] < 0x20 || w[i] == 0x7f) ? '?' : w[i];
    shown[n] = 0;
    snprintf(err, errlen, "\"%s\"%s: %s", shown, n < len ? "..." : "", why);
    if (bad_word) *bad_word = strndup(w, len);
    return -1;
}

/* The next blank-separated word of *p: its start and length; 0 at the end. */
static size_t next_word(const char **p, const char **word)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
    *word = *p;
    while (**p && **p != ' ' && **p != '\t')
        (*p)++;
    return (size_t)(*p - *word);
}

static int check_argument(const struct keyword *k, const char *w, size_t len, char *err,
                          size_t errlen, char **bad_word)
{
    char why[160];
    long long v;
    switch (k->arg) {
    case ARG_INT:
        if (parse_int(w, len, &v) && v >= k->lo && v <= k->hi) return 0;
        snprintf(why, sizeof why, "%s takes an integer %lld..%lld", k->name, k->lo, k->hi);
        break;
    case ARG_DURATION:
        if (parse_duration_ms(w, len, &v) && v >= k->lo && v <= k->hi) return 0;
        snprintf(why, sizeof why,
                 "%s takes a duration of at least %lldms and under 24d (units us, ms, s, m, h, d)",
                 k->name, k->lo);
        break;
    case ARG_ENUM:
        for (size_t i = 0; k->choices[i]; i++)
            if (strlen(k->choices[i]) == len && memcmp(k->choices[i], w, len) == 0) return 0;
        snprintf(why, sizeof why, "not a value %s takes", k->name);
        break;
    case ARG_WORD:
        return 0; /* its bytes were checked already */
    case ARG_NONE:
        return 0;
    }
    return refuse(err, errlen, bad_word, w, len, why);
}

int server_options_check(const struct server_options_policy *policy, const char *opts, char *err,
                         size_t errlen, char **bad_word)
{
    if (bad_word) *bad_word = NULL;
    if (!opts) return 0;
    size_t total = strlen(opts);
    if (total > SERVER_OPTIONS_MAX_LEN) {
        snprintf(err, errlen, "%zu bytes, more than the %d allowed", total, SERVER_OPTIONS_MAX_LEN);
        if (bad_word) *bad_word = strndup(opts, 32);
        return -1;
    }
    for (const char *p = opts; *p; p++)
        if (!is_word_byte((unsigned char)*p) && *p != ' ' && *p != '\t') {
            /* name the whole word holding the byte */
            const char *s = p, *e = p;
            while (s > opts && s[-1] != ' ' && s[-1] != '\t')
                s--;
            while (*e && *e != ' ' && *e != '\t')
                e++;
            return refuse(err, errlen, bad_word, s, (size_t)(e - s),
                          "only words of [A-Za-z0-9._:/+-] are allowed (no quotes, '$' or '%')");
        }
    const char *p = opts, *w;
    size_t len;
    while ((len = next_word(&p, &w)) > 0) {
        const struct keyword *k = find_keyword(w, len);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), w);
        bool allowed = k && (policy ? policy->allowed[k - keywords]
                                    : k->by_default && !server_options_keyword_is_refused(name));
        if (!allowed)
            return refuse(err, errlen, bad_word, w, len,
                          k || server_options_keyword_is_refused(name)
                              ? "server keyword not allowed from a registry"
                              : "unknown server keyword");
        if (k->arg == ARG_NONE) continue;
        const char *a;
        size_t alen = next_word(&p, &a);
        if (alen == 0) {
            char why[96];
            snprintf(why, sizeof why, "%s needs an argument", k->name);
            return refuse(err, errlen, bad_word, w, len, why);
        }
        if (check_argument(k, a, alen, err, errlen, bad_word) < 0) return -1;
    }
    return 0;
}
