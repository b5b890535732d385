#include "haproxy_blame.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void blamed_list_clear(struct blamed_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].section);
        free(l->v[i].name);
        free(l->v[i].host);
        free(l->v[i].message);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* The line numbered lineno (1-based) of text and its length; NULL past the end. */
static const char *nth_line(const char *text, long lineno, size_t *len)
{
    const char *p = text;
    for (long i = 1; i < lineno && p; i++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p) return NULL;
    const char *nl = strchr(p, '\n');
    *len = nl ? (size_t)(nl - p) : strlen(p);
    return p;
}

/* The next blank-separated word of [*p, end) as a copy; NULL when none. */
static char *next_word(const char **p, const char *end)
{
    while (*p < end && isspace((unsigned char)**p))
        (*p)++;
    const char *s = *p;
    while (*p < end && !isspace((unsigned char)**p))
        (*p)++;
    return *p > s ? strndup(s, (size_t)(*p - s)) : NULL;
}

/* "host:port" or "[v6]:port" into host (malloc'd) and port. */
static int split_address(const char *addr, char **host, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)) return -1;
    long p = strtol(colon + 1, NULL, 10);
    if (p < 1 || p > 65535) return -1;
    const char *h = addr;
    size_t n = (size_t)(colon - addr);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n == 0 || !(*host = strndup(h, n))) return -1;
    *port = (int)p;
    return 0;
}

/* The section (backend or listen) holding line lineno; NULL when another kind. */
static char *section_of(const char *text, long lineno)
{
    char *found = NULL;
    const char *p = text;
    for (long i = 1; i <= lineno && p && *p; i++) {
        const char *nl = strchr(p, '\n');
        const char *end = nl ? nl : p + strlen(p);
        if (p < end && !isspace((unsigned char)*p)) {
            const char *q = p;
            char *kw = next_word(&q, end);
            free(found);
            found = NULL;
            if (kw && (!strcmp(kw, "backend") || !strcmp(kw, "listen"))) found = next_word(&q, end);
            free(kw);
        }
        p = nl ? nl + 1 : NULL;
    }
    return found;
}

/* Fills b from server line [line, line+len) in section; -1 if it is not one. */
static int parse_server_line(const char *text, long lineno, struct blamed_server *b)
{
    size_t len;
    const char *line = nth_line(text, lineno, &len);
    if (!line) return -1;
    const char *p = line, *end = line + len;
    char *kw = next_word(&p, end);
    bool is_server = kw && strcmp(kw, "server") == 0;
    free(kw);
    if (!is_server) return -1;
    char *name = next_word(&p, end), *addr = next_word(&p, end);
    char *section = section_of(text, lineno);
    if (!name || !addr || !section || split_address(addr, &b->host, &b->port) < 0) {
        free(name);
        free(addr);
        free(section);
        return -1;
    }
    free(addr);
    b->name = name;
    b->section = section;
    return 0;
}

/* The line number of the first "[<file>:<digits>]" in [s, end), or 0. */
static long referenced_line(const char *s, const char *end, const char **after)
{
    for (const char *p = s; p < end; p++) {
        if (*p != '[') continue;
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close) return 0;
        const char *colon = close;
        while (colon > p && colon[-1] != ':')
            colon--;
        if (colon > p + 1 && colon < close &&
            strspn(colon, "0123456789") == (size_t)(close - colon)) {
            *after = close + 1;
            return strtol(colon, NULL, 10);
        }
        p = close;
    }
    return 0;
}

static bool is_summary(const char *s, size_t n)
{
    return memmem(s, n, "Error(s) found in configuration file", 36) ||
           memmem(s, n, "Fatal errors found in configuration", 35);
}

static bool already(const struct blamed_list *l, const struct blamed_server *b)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].section, b->section) && !strcmp(l->v[i].name, b->name)) return true;
    return false;
}

int haproxy_blame(const char *cfg_text, const char *output, struct blamed_list *out,
                  bool *other_errors)
{
    memset(out, 0, sizeof *out);
    *other_errors = false;
    for (const char *p = output; p && *p;) {
        const char *nl = strchr(p, '\n');
        const char *end = nl ? nl : p + strlen(p);
        const char *alert = memmem(p, (size_t)(end - p), "[ALERT]", 7);
        if (alert && !is_summary(p, (size_t)(end - p))) {
            const char *after = NULL;
            long lineno = referenced_line(alert + 7, end, &after);
            struct blamed_server b = {0};
            if (lineno <= 0 || parse_server_line(cfg_text, lineno, &b) < 0) {
                *other_errors = true;
            } else if (already(out, &b)) {
                free(b.section);
                free(b.name);
                free(b.host);
            } else {
                while (after < end && (*after == ' ' || *after == ':'))
                    after++;
                size_t mlen = (size_t)(end - after);
                while (mlen > 0 && isspace((unsigned char)after[mlen - 1]))
                    mlen--;
                b.message = strndup(after, mlen);
                struct blamed_server *v = realloc(out->v, (out->n + 1) * sizeof *v);
                if (!b.message || !v) {
                    free(b.section);
                    free(b.name);
                    free(b.host);
                    free(b.message);
                    if (v) out->v = v;
                    blamed_list_clear(out);
                    return -1;
                }
                out->v = v;
                out->v[out->n++] = b;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}
