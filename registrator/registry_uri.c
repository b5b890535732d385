/*
 * Registry URIs: "<scheme>://<authority>[,<authority>...][/<path>]".
 * Every refusal names the URI part and its value; nothing is guessed.
 */
#include "registry_uri.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "conf_json.h"

#define failf conf_errorf

/* One "host[:port]" or "[v6][:port]" of n bytes, into out as host:port
 * (scheme_prefix prepended, default_port filled in). */
static int authority(const char *uri, const char *s, size_t n, const char *scheme_prefix,
                     int default_port, char **out, char *err, size_t errlen)
{
    char host[256];
    const char *end = s + n, *h = s, *hend = end, *port = NULL;
    bool v6 = n && s[0] == '[';
    if (n == 0)
        return failf(err, errlen, "registry URI \"%s\": an empty host in the host list", uri);
    if (v6) {
        const char *close = memchr(s, ']', n);
        if (!close)
            return failf(err, errlen, "registry URI \"%s\": \"%.*s\": unclosed '['", uri, (int)n,
                         s);
        h = s + 1;
        hend = close;
        if (close + 1 < end) {
            if (close[1] != ':')
                return failf(err, errlen, "registry URI \"%s\": \"%.*s\": expected ':' after ']'",
                             uri, (int)n, s);
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon) {
            hend = colon;
            port = colon + 1;
        }
    }
    size_t hostlen = (size_t)(hend - h);
    if (hostlen == 0 || hostlen >= sizeof host)
        return failf(err, errlen, "registry URI \"%s\": \"%.*s\": expected host:port", uri, (int)n,
                     s);
    memcpy(host, h, hostlen);
    host[hostlen] = '\0';
    if (!backend_host_is_valid(host))
        return failf(err, errlen, "registry URI \"%s\": host \"%s\": not a hostname or IP address",
                     uri, host);
    if (port && !conf_port_text_ok(port, (size_t)(end - port)))
        return failf(err, errlen,
                     "registry URI \"%s\": port \"%.*s\" of \"%.*s\": expected 1..65535", uri,
                     (int)(end - port), port, (int)n, s);
    int r = port ? asprintf(out, "%s%s%s%s:%.*s", scheme_prefix, v6 ? "[" : "", host, v6 ? "]" : "",
                            (int)(end - port), port)
                 : asprintf(out, "%s%s%s%s:%d", scheme_prefix, v6 ? "[" : "", host, v6 ? "]" : "",
                            default_port);
    if (r < 0) {
        *out = NULL;
        return failf(err, errlen, "registry URI: out of memory");
    }
    return 0;
}

/* "/a/b" or "/a/b/": components of [A-Za-z0-9._-]. */
static int path_of(const char *uri, const char *p, bool trailing_slash, char **out, char *err,
                   size_t errlen)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    if (n <= 1)
        return failf(err, errlen,
                     "registry URI \"%s\": path \"%s\": expected a base path like /services, "
                     "not the root",
                     uri, p);
    for (size_t start = 1, i = 1; i <= n; i++) {
        if (i < n && p[i] != '/') continue;
        char comp[256];
        size_t len = i - start;
        if (len == 0 || len >= sizeof comp)
            return failf(err, errlen, "registry URI \"%s\": path \"%s\": an empty component", uri,
                         p);
        memcpy(comp, p + start, len);
        comp[len] = '\0';
        if (!reg_name_is_safe(comp))
            return failf(err, errlen,
                         "registry URI \"%s\": path component \"%s\": expected [A-Za-z0-9._-] "
                         "(not \".\" or \"..\")",
                         uri, comp);
        start = i + 1;
    }
    if (asprintf(out, "%.*s%s", (int)n, p, trailing_slash ? "/" : "") < 0) {
        *out = NULL;
        return failf(err, errlen, "registry URI: out of memory");
    }
    return 0;
}

/* One authority of the list, appended to out->hosts. */
static int add_host(const char *uri, const char *s, size_t n, const char *scheme_prefix,
                    int default_port, struct registry_uri *out, char *err, size_t errlen)
{
    char *host = NULL;
    if (authority(uri, s, n, scheme_prefix, default_port, &host, err, errlen) < 0) return -1;
    int r = strlist_push(&out->hosts, host);
    free(host);
    return r < 0 ? failf(err, errlen, "registry URI: out of memory") : 0;
}

int registry_uri_parse(const char *uri, struct registry_uri *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!uri || !*uri) return failf(err, errlen, "registry URI: empty");
    if (!backend_text_is_safe(uri) || strchr(uri, ' '))
        return failf(err, errlen, "registry URI: control characters or spaces in it");
    const char *sep = strstr(uri, "://");
    if (!sep)
        return failf(err, errlen,
                     "registry URI \"%s\": expected <scheme>://host:port[,host:port]/path "
                     "(zookeeper, etcd or etcd+https)",
                     uri);
    size_t slen = (size_t)(sep - uri);
    const char *prefix = "";
    int default_port;
    if (slen == 9 && !strncmp(uri, "zookeeper", 9)) {
        out->type = REGISTRY_ZOOKEEPER;
        default_port = 2181;
    } else if (slen == 4 && !strncmp(uri, "etcd", 4)) {
        out->type = REGISTRY_ETCD;
        prefix = "http://";
        default_port = 2379;
    } else if (slen == 10 && !strncmp(uri, "etcd+https", 10)) {
        out->type = REGISTRY_ETCD;
        prefix = "https://";
        default_port = 2379;
    } else {
        return failf(err, errlen,
                     "registry URI \"%s\": scheme \"%.*s\" is not supported (zookeeper, etcd, "
                     "etcd+https)",
                     uri, (int)slen, uri);
    }
    const char *rest = sep + 3, *bad;
    if ((bad = strpbrk(rest, "?#%@")))
        return failf(err, errlen, "registry URI \"%s\": %s is not supported%s", uri,
                     *bad == '?'   ? "a query (?...)"
                     : *bad == '#' ? "a fragment (#...)"
                     : *bad == '%' ? "percent-encoding"
                                   : "user information (user@...)",
                     *bad == '@' ? "; use the config file's registry.username and "
                                   "registry.password"
                                 : "");
    const char *slash = strchr(rest, '/');
    size_t alen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (alen == 0 && add_host(uri, "127.0.0.1", 9, prefix, default_port, out, err, errlen) < 0)
        goto fail;
    for (size_t start = 0, i = 0; alen && i <= alen; i++) {
        if (i < alen && rest[i] != ',') continue;
        if (add_host(uri, rest + start, i - start, prefix, default_port, out, err, errlen) < 0)
            goto fail;
        start = i + 1;
    }
    if (slash && slash[1] &&
        path_of(uri, slash, out->type == REGISTRY_ETCD, &out->path, err, errlen) < 0)
        goto fail;
    return 0;
fail:
    registry_uri_clear(out);
    return -1;
}

void registry_uri_clear(struct registry_uri *u)
{
    strlist_clear(&u->hosts);
    free(u->path);
    memset(u, 0, sizeof *u);
}
