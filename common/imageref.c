#include "imageref.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DOMAIN "docker.io"
#define NAME_MAX_LEN 255   /* Docker's limit on domain + '/' + path */
#define INPUT_MAX_LEN 1024 /* longer than any valid name + tag + digest */
#define TAG_MAX_LEN 128

/* Writes into err a quoted copy of s, shortened, every byte outside
 * printable ASCII as \xNN, so an error sentence stays one clean log line. */
static void quote(char *buf, size_t n, const char *s)
{
    size_t o = 0;
    if (n < 8) {
        if (n) buf[0] = '\0';
        return;
    }
    buf[o++] = '"';
    for (size_t i = 0; s[i] && o + 6 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 80) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

static int fail(char *err, size_t errlen, const char *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Formats "image reference "<s>": <reason>" into err; always returns -1. */
static int fail(char *err, size_t errlen, const char *s, const char *fmt, ...)
{
    char q[340], reason[256];
    va_list ap;
    if (!err || !errlen) return -1;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    quote(q, sizeof q, s);
    snprintf(err, errlen, "image reference %s: %s", q, reason);
    return -1;
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool all_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_lower_hex(s[i])) return false;
    return true;
}

/* An image ID rather than a name: what Config.Image holds when a container
 * was created from an ID. */
static bool is_image_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 64 && all_lower_hex(s, 64)) return true;
    return strncmp(s, "sha256:", 7) == 0 && n == 71 && all_lower_hex(s + 7, 64);
}

/* domain-component ('.' domain-component)* [':' port], or "[ipv6]" [':' port]. */
static bool domain_is_valid(const char *d, size_t n)
{
    size_t i = 0;
    if (n == 0) return false;
    if (d[0] == '[') {
        for (i = 1; i < n && d[i] != ']'; i++)
            if (!(is_alnum(d[i]) || d[i] == ':' || d[i] == '.')) return false;
        if (i >= n || i == 1) return false;
        i++;
    } else {
        for (;;) {
            size_t start = i;
            while (i < n && (is_alnum(d[i]) || d[i] == '-'))
                i++;
            if (i == start || d[start] == '-' || d[i - 1] == '-') return false;
            if (i < n && d[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    if (i == n) return true;
    if (d[i] != ':' || i + 1 == n) return false;
    for (i++; i < n; i++)
        if (d[i] < '0' || d[i] > '9') return false;
    return true;
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*. */
static bool component_is_valid(const char *c, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && is_lower_alnum(c[i]))
            i++;
        if (i == start) return false;
        if (i == n) return true;
        start = i;
        while (i < n && (c[i] == '.' || c[i] == '_' || c[i] == '-'))
            i++;
        size_t sep = i - start;
        if (i == n || i == start) return false;
        bool dashes = true;
        for (size_t j = start; j < i; j++)
            dashes = dashes && c[j] == '-';
        if (!dashes && sep != 1 && !(sep == 2 && c[start] == '_' && c[start + 1] == '_'))
            return false;
    }
    return n > 0;
}

static const char *path_problem(const char *p, size_t n)
{
    size_t i = 0;
    for (size_t j = 0; j < n; j++)
        if (p[j] >= 'A' && p[j] <= 'Z') return "uppercase letters are not allowed in a repository";
    while (i <= n) {
        const char *slash = memchr(p + i, '/', n - i);
        size_t end = slash ? (size_t)(slash - p) : n;
        if (!component_is_valid(p + i, end - i))
            return "a repository path component must be lowercase letters and digits "
                   "joined by '.', '_', '__' or dashes";
        i = end + 1;
    }
    return NULL;
}

static bool tag_is_valid(const char *t, size_t n)
{
    if (n == 0 || n > TAG_MAX_LEN || !(is_alnum(t[0]) || t[0] == '_')) return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-')) return false;
    return true;
}

/* algorithm ':' hex, algorithm = [a-z][a-z0-9]* ([+._-][a-z][a-z0-9]*)*; the
 * encoded part is lowercase hex, of the exact length for the algorithms
 * Docker registers and at least 32 digits for any other. */
static bool digest_is_valid(const char *d)
{
    const char *colon = strchr(d, ':');
    size_t i = 0, alen, hlen;
    if (!colon) return false;
    alen = (size_t)(colon - d);
    for (;;) {
        if (i >= alen || !(d[i] >= 'a' && d[i] <= 'z')) return false;
        while (i < alen && is_lower_alnum(d[i]))
            i++;
        if (i == alen) break;
        if (!strchr("+._-", d[i])) return false;
        i++;
    }
    hlen = strlen(colon + 1);
    if (!all_lower_hex(colon + 1, hlen) || hlen < 32) return false;
    if (alen == 6 && !strncmp(d, "sha256", 6)) return hlen == 64;
    if (alen == 6 && !strncmp(d, "sha384", 6)) return hlen == 96;
    if (alen == 6 && !strncmp(d, "sha512", 6)) return hlen == 128;
    return true;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void imageref_clear(struct imageref *r)
{
    if (!r) return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof *r);
}

int imageref_parse(const char *s, struct imageref *out, char *err, size_t errlen)
{
    const char *at, *slash, *colon, *path;
    size_t len, name_len, domain_len, path_len, tag_len = 0;
    bool explicit_domain = false;
    const char *problem;

    memset(out, 0, sizeof *out);
    if (err && errlen) err[0] = '\0';
    if (!s || !*s) {
        if (err && errlen) snprintf(err, errlen, "image reference is empty");
        return -1;
    }
    len = strlen(s);
    if (len > INPUT_MAX_LEN) return fail(err, errlen, s, "longer than %d bytes", INPUT_MAX_LEN);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f)
            return fail(err, errlen, s, "contains whitespace or a control character");
        if (c >= 0x80) return fail(err, errlen, s, "contains a non-ASCII byte");
    }
    if (is_image_id(s)) return fail(err, errlen, s, "is an image ID, not a repository name");

    at = strchr(s, '@');
    name_len = at ? (size_t)(at - s) : len;
    if (at && !digest_is_valid(at + 1))
        return fail(err, errlen, s, "the digest must be <algorithm>:<lowercase hex>");

    /* A ':' is a tag separator only after the last '/': before it, it is a
     * registry port. */
    slash = NULL;
    for (size_t i = 0; i < name_len; i++)
        if (s[i] == '/') slash = s + i;
    colon = NULL;
    for (const char *p = slash ? slash : s; p < s + name_len; p++)
        if (*p == ':') colon = p;
    if (colon) {
        tag_len = (size_t)(s + name_len - colon - 1);
        if (!tag_is_valid(colon + 1, tag_len))
            return fail(err, errlen, s,
                        "a tag must be 1 to %d of [A-Za-z0-9_.-], not starting with '.' or '-'",
                        TAG_MAX_LEN);
        name_len = (size_t)(colon - s);
    }
    if (name_len == 0) return fail(err, errlen, s, "has no repository name");

    slash = memchr(s, '/', name_len);
    domain_len = slash ? (size_t)(slash - s) : 0;
    if (slash && (memchr(s, '.', domain_len) || memchr(s, ':', domain_len) ||
                  (domain_len == 9 && !strncmp(s, "localhost", 9)))) {
        explicit_domain = true;
        if (!domain_is_valid(s, domain_len))
            return fail(err, errlen, s, "the registry domain is not a valid host[:port]");
        path = slash + 1;
        path_len = name_len - domain_len - 1;
    } else {
        path = s;
        path_len = name_len;
    }
    if ((problem = path_problem(path, path_len))) return fail(err, errlen, s, "%s", problem);

    if (explicit_domain && !(domain_len == 15 && !strncmp(s, "index.docker.io", 15)))
        out->domain = dup_n(s, domain_len);
    else
        out->domain = dup_n(DEFAULT_DOMAIN, strlen(DEFAULT_DOMAIN));
    if (!strcmp(out->domain ? out->domain : "", DEFAULT_DOMAIN) && !memchr(path, '/', path_len)) {
        out->path = malloc(path_len + 9);
        if (out->path) {
            memcpy(out->path, "library/", 8);
            memcpy(out->path + 8, path, path_len);
            out->path[path_len + 8] = '\0';
        }
    } else {
        out->path = dup_n(path, path_len);
    }
    if (colon) out->tag = dup_n(colon + 1, tag_len);
    if (at) out->digest = dup_n(at + 1, strlen(at + 1));
    if (!out->domain || !out->path || (colon && !out->tag) || (at && !out->digest)) {
        imageref_clear(out);
        if (err && errlen) snprintf(err, errlen, "image reference: out of memory");
        return -1;
    }
    if (strlen(out->domain) + 1 + strlen(out->path) > NAME_MAX_LEN) {
        imageref_clear(out);
        return fail(err, errlen, s, "the repository name is longer than %d characters",
                    NAME_MAX_LEN);
    }
    return 0;
}

bool imageref_match(const char *wanted, const char *have)
{
    struct imageref w, h;
    const char *have_tag;
    bool ok;

    if (!wanted || !have || is_image_id(have)) return false;
    if (imageref_parse(wanted, &w, NULL, 0) < 0) return false;
    if (imageref_parse(have, &h, NULL, 0) < 0) {
        imageref_clear(&w);
        return false;
    }
    ok = !strcmp(w.domain, h.domain) && !strcmp(w.path, h.path);
    if (ok && w.digest) {
        ok = h.digest && !strcmp(w.digest, h.digest);
    } else if (ok && w.tag) {
        have_tag = h.tag ? h.tag : (h.digest ? NULL : "latest");
        ok = have_tag && !strcmp(w.tag, have_tag);
    }
    imageref_clear(&w);
    imageref_clear(&h);
    return ok;
}
