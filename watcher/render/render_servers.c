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
    size_t seq; /* input position, for no_shuffle and new ids */
    char *full; /* Synapse's server name, sanitised; owned, set before ordering */
};

void render_server_list_clear(struct render_server_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].host);
        free(l->v[i].options);
        free(l->v[i].cookie);
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
    char *addr = render_server_addr(s), *out = NULL, id[32] = "", weight[32] = "";
    if (!addr) return NULL;
    if (s->id > 0 && !s->id_in_options) snprintf(id, sizeof id, " id %d", s->id);
    if (s->weight != BACKEND_WEIGHT_UNSET) snprintf(weight, sizeof weight, " weight %d", s->weight);
    int r = asprintf(&out, "server %s %s%s%s%s%s%s%s", s->name, addr, id,
                     s->cookie ? " cookie " : "", s->cookie ? s->cookie : "", s->options ? " " : "",
                     s->options ? s->options : "", weight);
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

/* Synapse's "asc": by server name; then host, port, input position. */
static int cmp_cand(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    int r = strcmp(a->full, b->full);
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

/* c->full, suffixed "-2", "-3", ... until unique. Caller frees. */
static char *unique_name(struct namer *nm, const struct cand *c)
{
    char *base = strdup(c->full);
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

/* Synapse's server name: "<name>_<host>:<port>", or "<host>:<port>" for a
 * registration without a name; a name that is exactly "<host>:<port>" is
 * what decoding gives a nameless one. Sanitised; caller frees. */
static char *synapse_name(const struct cand *c, bool *sanitised)
{
    char hp[300], *raw = NULL;
    snprintf(hp, sizeof hp, "%s:%d", c->host, c->port);
    bool named = c->name && *c->name && strcmp(c->name, hp) != 0;
    if (asprintf(&raw, "%s%s%s", named ? c->name : "", named ? "_" : "", hp) < 0) return NULL;
    char *out = backend_server_name_dup(raw);
    *sanitised = out && strcmp(out, raw) != 0;
    free(raw);
    return out;
}

/* Synapse's remove_weight_option: the first "weight N" goes (the text
 * around it stays). NULL in, NULL out; *removed says whether one went. */
static int without_weight(const char *opts, char **out, bool *removed)
{
    *out = NULL;
    if (!opts) return 0;
    if (!(*out = strdup(opts))) return -1;
    for (char *p = *out; (p = strstr(p, "weight")); p++) {
        char *q = p + 6;
        size_t spaces = strspn(q, " "), digits = strspn(q + spaces, "0123456789");
        if (!spaces || !digits) continue;
        memmove(p, q + spaces + digits, strlen(q + spaces + digits) + 1);
        *removed = true;
        break;
    }
    return 0;
}

/* Runs of spaces become one, and none is left at either end (Synapse
 * squeezes a line that gets a Nerve weight). */
static void squeeze(char *s)
{
    size_t j = 0;
    for (size_t i = 0; s[i]; i++)
        if (s[i] != ' ' || (j && s[j - 1] != ' ')) s[j++] = s[i];
    while (j && s[j - 1] == ' ')
        j--;
    s[j] = '\0';
}

static int emit(struct render_server_list *l, struct namer *nm, const struct syn_config *cfg,
                const struct syn_service *svc, const struct cand *c, bool *weight_clash)
{
    struct render_server *s = &l->v[l->n];
    char *so = NULL, *hso = NULL;
    bool nerve = cfg->haproxy.use_nerve_weights && c->weight != BACKEND_WEIGHT_UNSET;
    memset(s, 0, sizeof *s);
    s->port = c->port;
    s->weight = nerve ? c->weight : BACKEND_WEIGHT_UNSET;
    s->is_default = c->is_default;
    if (!(s->host = strdup(c->host)) || !(s->name = unique_name(nm, c)) ||
        map_add(&nm->taken, s->name, 0) < 0)
        goto oom;
    if (nerve) {
        if (without_weight(svc->haproxy.server_options, &so, weight_clash) < 0 ||
            without_weight(c->options, &hso, weight_clash) < 0)
            goto oom;
        if (build_options(so, hso, s, &s->options) < 0) goto oom;
        if (s->options) squeeze(s->options);
        if (s->options && !*s->options) {
            free(s->options);
            s->options = NULL;
        }
    } else if (build_options(svc->haproxy.server_options, c->options, s, &s->options) < 0) {
        goto oom;
    }
    free(so);
    free(hso);
    s->id = server_ids_in_options(c->options);
    s->id_in_options = s->id > 0;
    l->n++;
    return 0;
oom:
    free(so);
    free(hso);
    free(s->host);
    free(s->name);
    free(s->options);
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
                             false,   n,       NULL};
        if (svc->backend_port_override) v[n].port = svc->backend_port_override;
        n++;
    }
    for (size_t i = 0; use_defaults && i < svc->ndefault_servers; i++) {
        const struct syn_server *d = &svc->default_servers[i];
        v[n] = (struct cand){d->name, d->host, d->port, BACKEND_WEIGHT_UNSET, NULL, true, n, NULL};
        /* Synapse overrides the port of kept default servers (even when nothing
         * was discovered), not of fallback ones. */
        if (svc->backend_port_override && svc->keep_default_servers)
            v[n].port = svc->backend_port_override;
        n++;
    }
    *np = n;
    return v;
}

/* Ids by Synapse's server-id map. New ids are handed out in the order the
 * servers are written (Synapse: discovery order), so the same servers get the
 * same ids whatever order discovery lists them in. */
static int assign_ids(const struct syn_config *cfg, const struct syn_service *svc,
                      struct render_server_list *out, const struct server_id_ref *known,
                      size_t nknown, struct strlist *warnings)
{
    size_t n = out->n;
    const char **names = calloc(n ? n : 1, sizeof *names);
    int *fixed = calloc(n ? n : 1, sizeof *fixed), *ids = calloc(n ? n : 1, sizeof *ids);
    int rc = -1, max = cfg->haproxy.max_server_id > 0 ? cfg->haproxy.max_server_id : 65535;
    if (!names || !fixed || !ids) goto out;
    for (size_t j = 0; j < n; j++) {
        names[j] = out->v[j].name;
        fixed[j] = out->v[j].id_in_options ? out->v[j].id : 0;
    }
    if (server_ids_assign(names, fixed, n, known, nknown, max, ids) < 0) goto out;
    size_t none = 0;
    for (size_t j = 0; j < n; j++) {
        out->v[j].id = ids[j];
        none += ids[j] == 0;
    }
    rc = 0;
    if (none && warnings &&
        strlist_pushf(warnings,
                      "service %s: %zu servers have no id: every id up to haproxy.max_server_id "
                      "(%d) is taken",
                      svc->name, none, max) < 0)
        rc = -1;
out:
    free(names);
    free(fixed);
    free(ids);
    return rc;
}

int render_service_servers(const struct syn_config *cfg, size_t svc_index,
                           const struct backend_list *discovered, const struct server_id_ref *known,
                           size_t nknown, struct render_server_list *out, struct strlist *warnings)
{
    const struct syn_service *svc = &cfg->services[svc_index];
    size_t n = 0, kept = 0;
    bool weight_clash = false;
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
    for (size_t i = 0; i < kept; i++) {
        bool sanitised = false;
        if (!(v[i].full = synapse_name(&v[i], &sanitised))) goto oom;
        char was[96];
        loggable(v[i].name ? v[i].name : v[i].host, was, sizeof was);
        if (sanitised && warnings &&
            strlist_pushf(warnings, "service %s: server \"%s\" written as %s", svc->name, was,
                          v[i].full) < 0)
            goto oom;
    }
    order(v, kept, svc->haproxy.backend_order, cfg->haproxy.server_order_seed);

    out->v = calloc(kept ? kept : 1, sizeof *out->v);
    if (!out->v) goto oom;
    for (size_t i = 0; i < kept; i++)
        if (emit(out, &nm, cfg, svc, &v[i], &weight_clash) < 0) goto oom;
    if (weight_clash && warnings &&
        strlist_pushf(warnings,
                      "service %s: \"weight N\" in server_options or haproxy_server_options "
                      "is left out: with use_nerve_weights the registry's weight wins",
                      svc->name) < 0)
        goto oom;
    if (assign_ids(cfg, svc, out, known, nknown, warnings) < 0) goto oom;
    map_clear(&nm.taken);
    map_clear(&nm.next_suffix);
    for (size_t i = 0; i < kept; i++)
        free(v[i].full);
    free(v);
    return 0;
oom:
    map_clear(&nm.taken);
    map_clear(&nm.next_suffix);
    for (size_t i = 0; i < kept; i++)
        free(v[i].full);
    free(v);
    render_server_list_clear(out);
    return -1;
}
