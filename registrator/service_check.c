/* SERVICE_CHECK_* onto smartdock's checks; see service_check.h. */
#include "service_check.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DURATION_MAX_MS (3600L * 1000)

long service_check_duration_ms(const char *s, long max_ms)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ms", 1},
                 {"s", 1000},  {"m", 60000}, {"h", 3600000}};
    double total = 0;
    if (!s || !*s) return -1;
    while (*s) {
        /* Go's number: digits with at most one '.', no sign, no exponent. */
        size_t len = strspn(s, "0123456789.");
        char num[32], *end;
        if (!len || len >= sizeof num) return -1;
        memcpy(num, s, len);
        num[len] = 0;
        double n = strtod(num, &end);
        if (*end || !isfinite(n)) return -1;
        s += len;
        size_t best = 0, which = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t ulen = strlen(units[i].unit);
            if (!strncmp(s, units[i].unit, ulen) && ulen > best) best = ulen, which = i;
        }
        if (!best) return -1; /* Go requires a unit on every number but a bare 0 */
        total += n * units[which].ms;
        s += best;
        if (total > (double)max_ms) return -1;
    }
    long ms = (long)ceil(total);
    return ms >= 1 && ms <= max_ms ? ms : -1;
}

/* "SERVICE_CHECK_HTTP" or "SERVICE_8080_CHECK_HTTP", as the user wrote it. */
static void var_name(char *buf, size_t len, const struct service_meta *m, const char *key, int port)
{
    char upper[96];
    size_t i = 0;
    for (; key[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)toupper((unsigned char)key[i]);
    upper[i] = 0;
    if (service_meta_from_port(m, key))
        snprintf(buf, len, "SERVICE_%d_%s", port, upper);
    else
        snprintf(buf, len, "SERVICE_%s", upper);
}

static int fail(char *err, size_t errlen, const struct service_meta *m, const char *key, int port,
                const char *value, const char *want)
{
    char name[128];
    var_name(name, sizeof name, m, key, port);
    snprintf(err, errlen, "%s: expected %s, got \"%.200s\"", name, want, value);
    return -1;
}

static bool path_ok(const char *s)
{
    if (s[0] != '/') return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) return false;
    return true;
}

/* registrator's order of kinds; the first present decides. */
static const char *const kinds[] = {"check_http", "check_https", "check_cmd", "check_script",
                                    "check_ttl",  "check_tcp",   "check_grpc"};

/* Appends key's variable name to *list ("A, B"). -1 on allocation failure. */
static int add_unmapped(char **list, const struct service_meta *m, const char *key, int port)
{
    char name[128], *joined = NULL;
    var_name(name, sizeof name, m, key, port);
    if (asprintf(&joined, "%s%s%s", *list ? *list : "", *list ? ", " : "", name) < 0) return -1;
    free(*list);
    *list = joined;
    return 0;
}

int service_check_from_meta(const struct service_meta *meta, int port, struct check_spec *out,
                            int *interval_ms, char **unmapped, char *err, size_t errlen)
{
    const char *kind = NULL, *value = NULL;
    *unmapped = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && !kind; i++)
        if ((value = service_meta_get(meta, kinds[i]))) kind = kinds[i];
    bool http = kind && (!strcmp(kind, "check_http") || !strcmp(kind, "check_https"));
    bool tcp = kind && !strcmp(kind, "check_tcp");
    /* What the mapped check uses; every other check_* key is reported. */
    for (size_t i = 0; i < meta->n; i++) {
        const char *k = meta->v[i].key;
        if (strncmp(k, "check_", 6) || !service_meta_get(meta, k)) continue;
        bool used =
            (kind && !strcmp(k, kind) && (http || tcp)) ||
            ((http || tcp) && (!strcmp(k, "check_interval") || !strcmp(k, "check_timeout")));
        /* https is never verified, which is what this one asks. */
        if (http && !strcmp(kind, "check_https") && !strcmp(k, "check_tls_skip_verify"))
            used = true;
        /* GET is what runs; saying so changes nothing. */
        if (http && (!strcmp(k, "check_http_method") || !strcmp(k, "check_https_method")) &&
            !strcasecmp(service_meta_get(meta, k), "GET"))
            used = true;
        if (!used && add_unmapped(unmapped, meta, k, port) < 0) goto oom;
    }
    if (!http && !tcp) return 0;
    check_spec_init(out, http ? CHECK_HTTP : CHECK_TCP);
    out->timeout_ms = SERVICE_CHECK_TIMEOUT_DEFAULT_MS;
    *interval_ms = SERVICE_CHECK_INTERVAL_DEFAULT_MS;
    const char *v;
    long ms;
    int rc = 1;
    if ((v = service_meta_get(meta, "check_interval"))) {
        if ((ms = service_check_duration_ms(v, DURATION_MAX_MS)) < 0)
            rc = fail(err, errlen, meta, "check_interval", port, v,
                      "a duration like 10s or 500ms, up to 1h");
        else
            *interval_ms = (int)ms;
    }
    if (rc > 0 && (v = service_meta_get(meta, "check_timeout"))) {
        if ((ms = service_check_duration_ms(v, 600L * 1000)) < 0)
            rc = fail(err, errlen, meta, "check_timeout", port, v,
                      "a duration like 1s or 500ms, up to 10m");
        else
            out->timeout_ms = (int)ms;
    }
    if (rc > 0 && http) {
        if (!path_ok(value))
            rc = fail(err, errlen, meta, kind, port, value, "a path like /health, without spaces");
        else if (!(out->uri = strdup(value)))
            goto oom_spec;
        out->ssl = !strcmp(kind, "check_https");
        out->open_timeout_ms = out->timeout_ms;
        out->read_timeout_ms = out->timeout_ms;
    }
    if (rc < 0) {
        check_spec_clear(out);
        free(*unmapped);
        *unmapped = NULL;
    }
    return rc;
oom_spec:
    check_spec_clear(out);
oom:
    free(*unmapped);
    *unmapped = NULL;
    snprintf(err, errlen, "out of memory");
    return -1;
}
