/*
 * The server list of one service: default servers, port override, validation
 * of what a registry supplied, ordering, unique names, templated options.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_servers.h"

/* A candidate before validation; every pointer is borrowed. */
struct cand {
    const char *name; /* NULL: host:port */
    const char *host;
    int port;
    int weight;
    const char *options; /* haproxy_server_options */
    bool is_default;
    size_t seq; /* input position, for no_shuffle */
};

void render_server_list_clear(struct render_server_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].host);
        free(l->v[i].options);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

char *render_server_addr(const struct render_server *s)
{
    char *out = NULL;
    bool v6 = strchr(s->host, ':') != NULL;
    int r = asprintf(&out, "%s%s%s:%d", v6 ? "[" : "", s->host, v6 ? "]" : "", s->port);
    return r < 0 ? NULL : out;
}

char *render_server_line(const struct render_server *s)
{
    char *addr = render_server_addr(s), *out = NULL, weight[32] = "";
    if (!addr) return NULL;
    if (s->weight != BACKEND_WEIGHT_UNSET) snprintf(weight, sizeof weight, " weight %d", s->weight);
    int r = asprintf(&out, "server %s %s%s%s%s", s->name, addr, weight, s->options ? " " : "",
                     s->options ? s->options : "");
    free(addr);
    return r < 0 ? NULL : out;
}

/* A registry string fit for a log line: control characters become '?', long ones are cut. */
static void loggable(const char *s, char *buf, size_t len)
{
    size_t j = 0;
    for (; s && *s && j + 4 < len; s++)
        buf[j++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    if (s && *s && j + 3 < len) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
}

static int warn(struct strlist *w, const char *svc, const struct cand *c, const char *why,
                const char *value)
{
    char name[96], val[96];
    if (!w) return 0;
    loggable(c->name ? c->name : c->host, name, sizeof name);
    loggable(value, val, sizeof val);
    return strlist_pushf(w, "service %s: skipped server %s: %s \"%s\"", svc, name, why, val);
}

/* Why a candidate must not reach haproxy.cfg, or NULL when it may. */
static const char *refuse(const struct cand *c, const char **value)
{
    *value = c->host;
    if (!c->host || !backend_text_is_safe(c->host) || !backend_host_is_valid(c->host))
        return "host is not a hostname or IP address:";
    if (c->name && !backend_text_is_safe(c->name)) {
        *value = c->name;
        return "name holds a control character:";
    }
    if (c->options && !backend_options_are_safe(c->options)) {
        *value = c->options;
        return "haproxy_server_options hold a control character, '#', ';' or '\\':";
    }
    return NULL;
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* Name (host:port when unnamed), then host, then port. */
static int cmp_cand(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    char ha[300], hb[300];
    snprintf(ha, sizeof ha, "%s:%d", a->host, a->port);
    snprintf(hb, sizeof hb, "%s:%d", b->host, b->port);
    int r = strcmp(a->name ? a->name : ha, b->name ? b->name : hb);
    if (!r) r = strcmp(a->host, b->host);
    if (!r) r = (a->port > b->port) - (a->port < b->port);
    if (!r) r = (a->seq > b->seq) - (a->seq < b->seq);
    return r;
}

static int cmp_address_name_only(const struct cand *a, const struct cand *b)
{
    int r = strcmp(a->host, b->host);
    if (!r) r = (a->port > b->port) - (a->port < b->port);
    return r ? r : cmp_str(a->name, b->name);
}

/* Host, port, name, then input position: duplicates next to each other, the
 * first one first. */
static int cmp_address_name(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    int r = cmp_address_name_only(a, b);
    return r ? r : (a->seq > b->seq) - (a->seq < b->seq);
}

static int cmp_seq(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void order(struct cand *v, size_t n, enum syn_backend_order how, unsigned seed)
{
    if (how == SYN_ORDER_NO_SHUFFLE) {
        qsort(v, n, sizeof *v, cmp_seq);
        return;
    }
    qsort(v, n, sizeof *v, cmp_cand);
    if (how == SYN_ORDER_DESC) {
        for (size_t i = 0; i < n / 2; i++) {
            struct cand t = v[i];
            v[i] = v[n - 1 - i];
            v[n - 1 - i] = t;
        }
    } else if (how == SYN_ORDER_SHUFFLE) {
        uint64_t state = seed;
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(splitmix64(&state) % i);
            struct cand t = v[i - 1];
            v[i - 1] = v[j];
            v[j] = t;
        }
    }
}

/* Appends the template with %{host}, %{port}, %{name} and %% expanded. */
static int expand(char **out, const char *tpl, const struct render_server *s)
{
    size_t cap = strlen(tpl) + 1, n = 0;
    for (const char *p = tpl; *p; p++)
        if (*p == '%') cap += strlen(s->host) + strlen(s->name) + 8;
    char *buf = malloc(cap);
    if (!buf) return -1;
    for (const char *p = tpl; *p;) {
        if (strncmp(p, "%{host}", 7) == 0) {
            n += (size_t)sprintf(buf + n, "%s", s->host);
            p += 7;
        } else if (strncmp(p, "%{port}", 7) == 0) {
            n += (size_t)sprintf(buf + n, "%d", s->port);
            p += 7;
        } else if (strncmp(p, "%{name}", 7) == 0) {
            n += (size_t)sprintf(buf + n, "%s", s->name);
            p += 7;
        } else if (p[0] == '%' && p[1] == '%') {
            buf[n++] = '%';
            p += 2;
        } else {
            buf[n++] = *p++;
        }
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

/* The templated server_options and haproxy_server_options, space-separated, or NULL. */
static int build_options(const char *server_options, const char *own, const struct render_server *s,
                         char **out)
{
    char *a = NULL, *b = NULL;
    *out = NULL;
    if (server_options && *server_options && expand(&a, server_options, s) < 0) return -1;
    if (own && *own && expand(&b, own, s) < 0) {
        free(a);
        return -1;
    }
    int r = 0;
    if (a && b) {
        r = asprintf(out, "%s %s", a, b) < 0 ? -1 : 0;
        if (r < 0) *out = NULL;
        free(a);
        free(b);
    } else {
        *out = a ? a : b;
    }
    return r;
}

/*
 * A set of strings with a counter each, open addressing: unique names in
 * O(1) per server instead of a scan of every name taken so far (1,000
 * servers sharing one name took 1.4 s). Keys are owned when owns_keys.
 */
struct name_map {
    char **keys;
    unsigned *vals;
    size_t cap, n;
    bool owns_keys;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot of key: where it is, or the empty one where it would go. */
static size_t map_slot(const struct name_map *m, const char *key)
{
    size_t i = (size_t)hash_str(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static unsigned *map_find(const struct name_map *m, const char *key)
{
    if (!m->cap) return NULL;
    size_t i = map_slot(m, key);
    return m->keys[i] ? &m->vals[i] : NULL;
}

/* Adds key (not present yet) with val; key is taken over when owns_keys. */
static int map_add(struct name_map *m, char *key, unsigned val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        char **keys = calloc(cap, sizeof *keys);
        unsigned *vals = calloc(cap, sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return -1;
        }
        struct name_map grown = {keys, vals, cap, 0, m->owns_keys};
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = map_slot(&grown, m->keys[i]);
                grown.keys[j] = m->keys[i];
                grown.vals[j] = m->vals[i];
            }
        grown.n = m->n;
        free(m->keys);
        free(m->vals);
        *m = grown;
    }
    size_t i = map_slot(m, key);
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

static void map_clear(struct name_map *m)
{
    for (size_t i = 0; m->owns_keys && i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* Names taken so far (borrowed from the servers) and, per sanitised base
 * name, the next suffix to try (the ones below it are all taken, and names
 * are never given back, so the result is the smallest free "-k"). */
struct namer {
    struct name_map taken;
    struct name_map next_suffix;
};

/* Sanitised, then suffixed "-2", "-3", ... until unique. Caller frees. */
static char *unique_name(struct namer *nm, const struct cand *c)
{
    char hp[300];
    snprintf(hp, sizeof hp, "%s:%d", c->host, c->port);
    char *base = backend_server_name_dup(c->name && *c->name ? c->name : hp);
    if (!base || !map_find(&nm->taken, base)) return base;
    unsigned *next = map_find(&nm->next_suffix, base);
    unsigned k = next ? *next : 2;
    char *out = NULL;
    for (;; k++) {
        if (asprintf(&out, "%s-%u", base, k) < 0) {
            out = NULL;
            break;
        }
        if (!map_find(&nm->taken, out)) break;
        free(out);
    }
    if (out && next) {
        *next = k + 1;
        free(base);
    } else if (out && map_add(&nm->next_suffix, base, k + 1) < 0) {
        free(base);
        free(out);
        out = NULL;
    } else if (!out) {
        free(base);
    }
    return out;
}

static int emit(struct render_server_list *l, struct namer *nm, const struct syn_service *svc,
                const struct cand *c, struct strlist *warnings)
{
    struct render_server *s = &l->v[l->n];
    memset(s, 0, sizeof *s);
    s->port = c->port;
    s->weight = c->weight;
    s->is_default = c->is_default;
    if (!(s->host = strdup(c->host)) || !(s->name = unique_name(nm, c)) ||
        map_add(&nm->taken, s->name, 0) < 0)
        goto oom;
    if (c->name && *c->name && strcmp(c->name, s->name) != 0 && warnings &&
        strncmp(c->name, s->name, strlen(c->name)) != 0) {
        char was[96];
        loggable(c->name, was, sizeof was);
        if (strlist_pushf(warnings, "service %s: server name \"%s\" written as %s", svc->name, was,
                          s->name) < 0)
            goto oom;
    }
    if (build_options(svc->haproxy.server_options, c->options, s, &s->options) < 0) goto oom;
    l->n++;
    return 0;
oom:
    free(s->host);
    free(s->name);
    return -1;
}

/* Collects discovered and default servers per Synapse's rules; borrowed pointers. */
static struct cand *collect(const struct syn_service *svc, const struct backend_list *found,
                            size_t *np)
{
    size_t nfound = found ? found->n : 0;
    bool use_defaults = nfound == 0 || svc->keep_default_servers;
    size_t cap = nfound + (use_defaults ? svc->ndefault_servers : 0);
    struct cand *v = calloc(cap ? cap : 1, sizeof *v);
    size_t n = 0;
    if (!v) return NULL;
    for (size_t i = 0; i < nfound; i++) {
        const struct backend *b = &found->v[i];
        v[n] = (struct cand){b->name, b->host, b->port, b->weight, b->haproxy_server_options,
                             false,   n};
        if (svc->backend_port_override) v[n].port = svc->backend_port_override;
        n++;
    }
    for (size_t i = 0; use_defaults && i < svc->ndefault_servers; i++) {
        const struct syn_server *d = &svc->default_servers[i];
        v[n] = (struct cand){d->name, d->host, d->port, BACKEND_WEIGHT_UNSET, NULL, true, n};
        /* Synapse overrides the port of kept default servers, not of fallback ones. */
        if (svc->backend_port_override && nfound > 0) v[n].port = svc->backend_port_override;
        n++;
    }
    *np = n;
    return v;
}

int render_service_servers(const struct syn_config *cfg, size_t svc_index,
                           const struct backend_list *discovered, struct render_server_list *out,
                           struct strlist *warnings)
{
    const struct syn_service *svc = &cfg->services[svc_index];
    size_t n = 0, kept = 0;
    struct namer nm = {.next_suffix.owns_keys = true};
    memset(out, 0, sizeof *out);
    struct cand *v = collect(svc, discovered, &n);
    if (!v) return -1;

    for (size_t i = 0; i < n; i++) {
        const char *value = NULL, *why = refuse(&v[i], &value);
        char port[16];
        if (!why && (v[i].port < 1 || v[i].port > 65535)) {
            snprintf(port, sizeof port, "%d", v[i].port);
            why = "port out of range:", value = port;
        }
        if (!why && v[i].weight != BACKEND_WEIGHT_UNSET && (v[i].weight < 0 || v[i].weight > 256)) {
            snprintf(port, sizeof port, "%d", v[i].weight);
            why = "weight out of range 0..256:", value = port;
        }
        if (why && warn(warnings, svc->name, &v[i], why, value) < 0) goto oom;
        if (!why) v[kept++] = v[i];
    }
    /* the same name at the same address is one server: the first one */
    if (kept > 1) qsort(v, kept, sizeof *v, cmp_address_name);
    size_t unique = 0;
    for (size_t i = 0; i < kept; i++)
        if (!unique || cmp_address_name_only(&v[unique - 1], &v[i]) != 0) v[unique++] = v[i];
    kept = unique;
    order(v, kept, svc->haproxy.backend_order, cfg->haproxy.server_order_seed);

    out->v = calloc(kept ? kept : 1, sizeof *out->v);
    if (!out->v) goto oom;
    for (size_t i = 0; i < kept; i++)
        if (emit(out, &nm, svc, &v[i], warnings) < 0) goto oom;
    map_clear(&nm.taken);
    map_clear(&nm.next_suffix);
    free(v);
    return 0;
oom:
    map_clear(&nm.taken);
    map_clear(&nm.next_suffix);
    free(v);
    render_server_list_clear(out);
    return -1;
}
