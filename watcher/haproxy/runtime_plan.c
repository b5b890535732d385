#include "runtime_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Calls fn on each blank-separated word of s until it returns true. */
static bool any_word(const char *s, bool (*fn)(const char *w, size_t n, void *arg), void *arg)
{
    while (s && *s) {
        s += strspn(s, " \t");
        size_t n = strcspn(s, " \t");
        if (n && fn(s, n, arg)) return true;
        s += n;
    }
    return false;
}

static bool word_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && memcmp(w, kw, n) == 0;
}

static bool is_check(const char *w, size_t n, void *arg)
{
    (void)arg;
    return word_is(w, n, "check");
}

bool runtime_options_have_check(const char *options)
{
    return any_word(options, is_check, NULL);
}

/* Keywords "add server" refuses in HAProxy 2.6 (they are missing from the
 * list in management.txt; tried: "'cookie' option is not accepted for dynamic
 * server"), or that need more than add + enable (disabled: must stay in
 * maintenance; agent-check: "enable agent"; track: another server's state). */
static const char *const refused[] = {
    "cookie",    "redir",          "disabled",    "agent-check",    "track",
    "resolvers", "resolve-prefer", "resolve-net", "resolve-opts",   "init-addr",
    "namespace", "non-stick",      "no-check",    "no-agent-check", NULL};

static bool find_refused(const char *w, size_t n, void *arg)
{
    const char **hit = arg;
    for (size_t i = 0; refused[i]; i++)
        if (word_is(w, n, refused[i])) {
            *hit = refused[i];
            return true;
        }
    return false;
}

const char *runtime_options_refused(const char *options)
{
    const char *hit = NULL;
    any_word(options, find_refused, &hit);
    return hit;
}

struct weight_scan {
    bool next_is_weight;
    int weight;
};

static bool scan_weight(const char *w, size_t n, void *arg)
{
    struct weight_scan *ws = arg;
    if (ws->next_is_weight) {
        ws->next_is_weight = false;
        char buf[16];
        if (n < sizeof buf) {
            memcpy(buf, w, n);
            buf[n] = '\0';
            char *end;
            long v = strtol(buf, &end, 10);
            if (*end == '\0' && v >= 0 && v <= 256) ws->weight = (int)v;
        }
    } else if (word_is(w, n, "weight")) {
        ws->next_is_weight = true;
    }
    return false;
}

int runtime_effective_weight(const struct render_server *s)
{
    /* A Nerve weight is written last (use_nerve_weights): it wins. */
    if (s->weight != BACKEND_WEIGHT_UNSET) return s->weight;
    struct weight_scan ws = {false, 1};
    any_word(s->options, scan_weight, &ws);
    return ws.weight;
}

char *runtime_add_command(const char *backend, const struct render_server *s)
{
    char *line = render_server_line(s), *out = NULL;
    if (!line) return NULL;
    /* ';' would start another command on the admin socket: never send one
     * (the caller falls back to a reload, where haproxy -c judges the line). */
    if (strpbrk(line, ";\\")) {
        free(line);
        return NULL;
    }
    /* "server <name> <rest>" -> "add server <backend>/<name> <rest>" */
    const char *rest = line + strlen("server ") + strlen(s->name);
    if (asprintf(&out, "add server %s/%s%s", backend, s->name, rest) < 0) out = NULL;
    free(line);
    return out;
}

/* A server list sorted by name for lookups: a linear find per server made a
 * plan for 20,000 servers cost seconds of CPU (quadratic). */
struct by_name {
    const struct render_server **v;
    size_t n;
};

static int cmp_server_name(const void *a, const void *b)
{
    return strcmp((*(const struct render_server *const *)a)->name,
                  (*(const struct render_server *const *)b)->name);
}

static int index_by_name(const struct render_server_list *l, struct by_name *out)
{
    out->n = l ? l->n : 0;
    out->v = calloc(out->n ? out->n : 1, sizeof *out->v);
    if (!out->v) return -1;
    for (size_t i = 0; i < out->n; i++)
        out->v[i] = &l->v[i];
    if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_server_name);
    return 0;
}

static const struct render_server *find(const struct by_name *ix, const char *name)
{
    struct render_server key = {.name = (char *)name};
    const struct render_server *k = &key;
    const struct render_server *const *hit =
        ix->n ? bsearch(&k, ix->v, ix->n, sizeof *ix->v, cmp_server_name) : NULL;
    return hit ? *hit : NULL;
}

/* Same address, id and options: HAProxy's server needs no change but its weight. */
static bool same_place(const struct render_server *a, const struct render_server *b)
{
    return strcmp(a->host, b->host) == 0 && a->port == b->port && a->id == b->id &&
           strcmp(a->options ? a->options : "", b->options ? b->options : "") == 0;
}

/* out->reason is written already. */
static int needs_reload(struct runtime_plan *p)
{
    free(p->v);
    p->v = NULL;
    p->n = 0;
    p->needs_reload = true;
    return 0;
}

static int plan(const struct render_server_list *prev, const struct by_name *prev_ix,
                const struct by_name *draining_ix, const struct render_server_list *next,
                const struct by_name *next_ix, struct runtime_plan *out)
{
    for (size_t i = 0; i < next->n; i++) { /* adds and revivals */
        const struct render_server *s = &next->v[i];
        if (find(prev_ix, s->name)) continue;
        const struct render_server *d = find(draining_ix, s->name);
        if (d && !same_place(d, s)) {
            snprintf(out->reason, sizeof out->reason,
                     "server %s comes back with another address, id or options while it drains",
                     s->name);
            return needs_reload(out);
        }
        const char *kw = runtime_options_refused(s->options);
        if (!d && kw) {
            snprintf(out->reason, sizeof out->reason,
                     "server %s: option \"%s\" cannot be set at run time", s->name, kw);
            return needs_reload(out);
        }
        out->v[out->n++] = (struct runtime_action){d ? RUNTIME_REVIVE : RUNTIME_ADD, s,
                                                   runtime_effective_weight(s)};
    }
    for (size_t i = 0; i < next->n; i++) { /* kept servers */
        const struct render_server *s = &next->v[i], *p = find(prev_ix, s->name);
        if (!p) continue;
        if (!same_place(p, s)) {
            snprintf(out->reason, sizeof out->reason,
                     "server %s changed its address, id or options", s->name);
            return needs_reload(out);
        }
        int w = runtime_effective_weight(s);
        if (w != runtime_effective_weight(p))
            out->v[out->n++] = (struct runtime_action){RUNTIME_WEIGHT, s, w};
    }
    for (size_t i = 0; i < prev->n; i++) /* removals */
        if (!find(next_ix, prev->v[i].name))
            out->v[out->n++] = (struct runtime_action){RUNTIME_REMOVE, &prev->v[i], 0};
    return 0;
}

int runtime_plan_make(const struct render_server_list *prev,
                      const struct render_server_list *draining,
                      const struct render_server_list *next, struct runtime_plan *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = prev->n + next->n;
    out->v = calloc(cap ? cap : 1, sizeof *out->v);
    if (!out->v) return -1;
    struct by_name prev_ix = {0}, draining_ix = {0}, next_ix = {0};
    int rc = -1;
    if (index_by_name(prev, &prev_ix) == 0 && index_by_name(draining, &draining_ix) == 0 &&
        index_by_name(next, &next_ix) == 0)
        rc = plan(prev, &prev_ix, &draining_ix, next, &next_ix, out);
    free(prev_ix.v);
    free(draining_ix.v);
    free(next_ix.v);
    if (rc < 0) {
        free(out->v);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* Field i (1-based) of a blank-separated line into out; false when absent. */
static bool field(const char *line, int i, char *out, size_t outlen)
{
    for (int k = 1;; k++) {
        line += strspn(line, " ");
        size_t n = strcspn(line, " \n");
        if (!n) return false;
        if (k == i) {
            if (n >= outlen) return false;
            memcpy(out, line, n);
            out[n] = '\0';
            return true;
        }
        line += n;
    }
}

bool runtime_servers_state_match(const char *answer, const char *backend,
                                 const struct render_server_list *servers, char *why, size_t whylen)
{
    size_t seen = 0;
    for (const char *line = answer; line && *line; line = strchr(line, '\n'), line += !!line) {
        char be[256], name[256], addr[256], weight[16], port[16], id[16];
        if (*line == '#' || !field(line, 19, port, sizeof port)) continue; /* header, version */
        if (!field(line, 2, be, sizeof be) || strcmp(be, backend) != 0) continue;
        if (!field(line, 3, id, sizeof id) || !field(line, 4, name, sizeof name) ||
            !field(line, 5, addr, sizeof addr) || !field(line, 8, weight, sizeof weight))
            continue;
        const struct render_server *s = NULL;
        for (size_t i = 0; i < servers->n && !s; i++)
            if (strcmp(servers->v[i].name, name) == 0) s = &servers->v[i];
        if (!s) {
            snprintf(why, whylen, "haproxy has server %s/%s that the config has not", backend,
                     name);
            return false;
        }
        if (s->id > 0 && s->id != atoi(id)) {
            snprintf(why, whylen, "haproxy has %s/%s with id %s, the config with id %d", backend,
                     name, id, s->id);
            return false;
        }
        if (strcmp(s->host, addr) != 0 || s->port != atoi(port) ||
            runtime_effective_weight(s) != atoi(weight)) {
            snprintf(why, whylen,
                     "haproxy has %s/%s at %s:%s weight %s, the config at %s:%d weight %d", backend,
                     name, addr, port, weight, s->host, s->port, runtime_effective_weight(s));
            return false;
        }
        seen++;
    }
    if (seen != servers->n) {
        snprintf(why, whylen, "haproxy has %zu of the %zu servers of backend %s", seen, servers->n,
                 backend);
        return false;
    }
    return true;
}

void runtime_plan_clear(struct runtime_plan *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}
