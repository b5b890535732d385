/*
 * The render model and haproxy.cfg text: sections, the lines an operator
 * configured, the safe HTTP defaults, and the server lines render_servers.c
 * prepares.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "sha1.h"

struct buf {
    char *s;
    size_t n, cap;
    bool oom;
};

/* Borrowed lines that together make up one section's user configuration. */
struct lines {
    const char **v;
    size_t n;
};

static void put(struct buf *b, const char *s)
{
    size_t len = strlen(s);
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, len + 1);
    b->n += len;
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) {
        b->oom = true;
        return;
    }
    put(b, s);
    free(s);
}

static void warnf(struct buf *b, struct strlist *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warnf(struct buf *b, struct strlist *w, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    if (!w) return;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0 || strlist_push(w, s) < 0) b->oom = true;
    free(s);
}

/* syn_config refuses these; a hand-built config must not smuggle a line break either. */
static bool line_ok(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f) return false;
    return true;
}

static void put_line(struct buf *b, struct strlist *w, const char *where, const char *line)
{
    if (line_ok(line))
        putf(b, "\t%s\n", line);
    else
        warnf(b, w, "%s: dropped a configured line holding a control character", where);
}

static void put_lines(struct buf *b, struct strlist *w, const char *where, const struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        put_line(b, w, where, l->v[i]);
}

/* True when line's first words are kw (runs of blanks match one space). */
static bool starts_with_kw(const char *line, const char *kw)
{
    const char *p = line + strspn(line, " \t");
    for (; *kw; kw++) {
        if (*kw == ' ') {
            if (*p != ' ' && *p != '\t') return false;
            p += strspn(p, " \t");
        } else if (*p++ != *kw) {
            return false;
        }
    }
    return *p == '\0' || *p == ' ' || *p == '\t';
}

/* Ignores a leading "no ", so "no option redispatch" sets "option redispatch". */
static bool sets_kw(const char *line, const char *kw)
{
    const char *p = line + strspn(line, " \t");
    if (starts_with_kw(p, "no")) p += 2;
    return starts_with_kw(p, kw);
}

static bool any_sets(const struct lines *l, const char *kw)
{
    for (size_t i = 0; i < l->n; i++)
        if (sets_kw(l->v[i], kw)) return true;
    return false;
}

static bool strlist_sets(const struct strlist *l, const char *kw)
{
    struct lines v = {(const char **)l->v, l->n};
    return any_sets(&v, kw);
}

/* "http", "tcp", ... from the last "mode" line, or NULL. */
static const char *last_mode(const char *const *v, size_t n, char *buf, size_t len)
{
    const char *mode = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!starts_with_kw(v[i], "mode")) continue;
        const char *p = v[i] + strspn(v[i], " \t") + 4;
        p += strspn(p, " \t");
        snprintf(buf, len, "%.*s", (int)strcspn(p, " \t"), p);
        mode = buf;
    }
    return mode;
}

/* Keywords HAProxy accepts only in a frontend, and only in a backend; the rest go to both. */
static const char *const frontend_only[] = {"bind",
                                            "default_backend",
                                            "use_backend",
                                            "capture",
                                            "declare capture",
                                            "monitor-uri",
                                            "monitor",
                                            "maxconn",
                                            "option httplog",
                                            "option tcplog",
                                            "option dontlognull",
                                            "option dontlog-normal",
                                            "option logasap",
                                            "option clitcpka",
                                            "option socket-stats",
                                            "timeout client",
                                            "timeout client-fin",
                                            "tcp-request connection",
                                            "tcp-request session",
                                            "rate-limit",
                                            NULL};
static const char *const backend_only[] = {"server",
                                           "server-template",
                                           "default-server",
                                           "balance",
                                           "hash-type",
                                           "hash-balance-factor",
                                           "cookie",
                                           "option httpchk",
                                           "http-check",
                                           "option tcp-check",
                                           "tcp-check",
                                           "option ssl-hello-chk",
                                           "option mysql-check",
                                           "option pgsql-check",
                                           "option redis-check",
                                           "option smtpchk",
                                           "option ldap-check",
                                           "option external-check",
                                           "external-check",
                                           "option redispatch",
                                           "retries",
                                           "retry-on",
                                           "option allbackups",
                                           "option persist",
                                           "option prefer-last-server",
                                           "option abortonclose",
                                           "option checkcache",
                                           "fullconn",
                                           "dispatch",
                                           "timeout server",
                                           "timeout connect",
                                           "timeout queue",
                                           "timeout check",
                                           "timeout tunnel",
                                           "timeout server-fin",
                                           "http-reuse",
                                           "load-server-state-from-file",
                                           "server-state-file-name",
                                           "http-send-name-header",
                                           "stick",
                                           "persist",
                                           "use-server",
                                           NULL};

static bool in_kw_list(const char *line, const char *const *kws)
{
    for (; *kws; kws++)
        if (sets_kw(line, *kws)) return true;
    return false;
}

/* Section lines, then the listen lines that belong (skip those in not_here). */
static int gather(struct lines *out, const struct strlist *own, const struct strlist *listen,
                  const char *const *not_here)
{
    out->n = 0;
    out->v = calloc(own->n + listen->n + 1, sizeof *out->v);
    if (!out->v) return -1;
    for (size_t i = 0; i < own->n; i++)
        out->v[out->n++] = own->v[i];
    for (size_t i = 0; i < listen->n; i++)
        if (!not_here || !in_kw_list(listen->v[i], not_here)) out->v[out->n++] = listen->v[i];
    return 0;
}

static void put_bind(struct buf *b, const struct syn_config *cfg, const struct syn_service *s)
{
    const struct syn_service_haproxy *h = &s->haproxy;
    const char *addr = h->bind_address ? h->bind_address : cfg->haproxy.bind_address;
    if (!addr) addr = "localhost";
    put(b, "\tbind ");
    put(b, addr);
    if (h->port_mode == SYN_PORT_SET) putf(b, ":%d", h->port);
    if (h->bind_options && *h->bind_options && line_ok(h->bind_options)) {
        put(b, " ");
        put(b, h->bind_options);
    }
    put(b, "\n");
}

static void put_safe_http_defaults(struct buf *b, const struct syn_config *cfg,
                                   const struct lines *l)
{
    static const struct {
        const char *kw, *line;
    } safe[] = {{"option redispatch", "option redispatch"},
                {"retries", "retries 3"},
                {"retry-on", "retry-on conn-failure empty-response response-timeout"}};
    char b1[32], b2[32];
    const char *mode = last_mode(l->v, l->n, b1, sizeof b1);
    if (!mode)
        mode = last_mode((const char *const *)cfg->haproxy.defaults.v, cfg->haproxy.defaults.n, b2,
                         sizeof b2);
    if (!mode || strcmp(mode, "http") != 0) return;
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
        if (!any_sets(l, safe[i].kw) && !strlist_sets(&cfg->haproxy.defaults, safe[i].kw))
            putf(b, "\t%s\n", safe[i].line);
}

static void put_servers(struct buf *b, const struct render_server_list *servers)
{
    for (size_t i = 0; i < servers->n; i++) {
        char *line = render_server_line(&servers->v[i]);
        if (!line) {
            b->oom = true;
            return;
        }
        putf(b, "\t%s\n", line);
        free(line);
    }
}

/* Synapse's cookie value: the server name, or the hex SHA-1 of it. Caller frees. */
static char *cookie_value(const char *name, enum syn_cookie_value method)
{
    if (method != SYN_COOKIE_HASH) return strdup(name);
    unsigned char md[SHA1_LEN];
    if (sha1_digest(name, strlen(name), md) < 0) return NULL;
    char *hex = malloc(2 * SHA1_LEN + 1);
    for (unsigned i = 0; hex && i < SHA1_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

/* True when a line is exactly "mode tcp": Synapse's test for leaving cookies out. */
static bool has_exact_line(const struct lines *l, const char *line)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], line) == 0) return true;
    return false;
}

/*
 * Synapse writes "cookie <value>" on every server of a backend whose lines
 * are not exactly "mode tcp". smartdock writes it where HAProxy uses it: when
 * the backend or defaults has a "cookie" directive. Without one the value
 * does nothing, and HAProxy 2.6's "add server" refuses "cookie", so writing
 * it would turn every server change into a reload.
 */
static int set_cookies(const struct syn_config *cfg, const struct syn_service *s,
                       const struct lines *back, struct render_server_list *servers)
{
    if (has_exact_line(back, "mode tcp")) return 0;
    if (!any_sets(back, "cookie") && !strlist_sets(&cfg->haproxy.defaults, "cookie")) return 0;
    for (size_t i = 0; i < servers->n; i++)
        if (!(servers->v[i].cookie =
                  cookie_value(servers->v[i].name, s->haproxy.cookie_value_method)))
            return -1;
    return 0;
}

/* One service's part of the model; immutable once built, shared between models. */
struct render_block {
    unsigned refs;
    char *head; /* the section text before the server lines; "" when disabled */
    char *text; /* head, then the server lines */
    struct render_server_list servers;
};

struct render_model {
    char *preamble;               /* header comment, global, defaults, extra sections */
    struct render_block **blocks; /* parallel to cfg->services */
    size_t n;
    char *tail; /* the shared frontend */
};

static void block_unref(struct render_block *k)
{
    if (!k || --k->refs) return;
    free(k->head);
    free(k->text);
    render_server_list_clear(&k->servers);
    free(k);
}

/* The servers whose ids service i's render keeps: its previous render (or, at
 * the first, the haproxy.cfg found at start) and those HAProxy still drains. */
static struct server_id_ref *known_ids(const struct syn_config *cfg, size_t i,
                                       const struct render_block *prev,
                                       const struct render_opts *opts, size_t *n)
{
    const struct render_server_list *held = opts && opts->held ? &opts->held[i] : NULL;
    size_t nseed = 0;
    const struct server_id_ref *seed =
        !prev && opts
            ? server_id_seed_get(opts->id_seed, cfg->services[i].haproxy.backend_name, &nseed)
            : NULL;
    size_t cap = (prev ? prev->servers.n : 0) + nseed + (held ? held->n : 0);
    struct server_id_ref *v = calloc(cap ? cap : 1, sizeof *v);
    *n = 0;
    if (!v) return NULL;
    for (size_t k = 0; prev && k < prev->servers.n; k++)
        v[(*n)++] = (struct server_id_ref){prev->servers.v[k].name, prev->servers.v[k].id};
    for (size_t k = 0; k < nseed; k++)
        v[(*n)++] = seed[k];
    for (size_t k = 0; held && k < held->n; k++)
        v[(*n)++] = (struct server_id_ref){held->v[k].name, held->v[k].id};
    return v;
}

static struct render_block *render_service(const struct syn_config *cfg, size_t i,
                                           const struct backend_list *found,
                                           const struct render_opts *opts,
                                           const struct render_block *prev, struct strlist *w)
{
    const struct syn_service *s = &cfg->services[i];
    const struct syn_service_haproxy *h = &s->haproxy;
    struct render_block *k = calloc(1, sizeof *k);
    struct buf bb = {0}, *b = &bb;
    struct lines front = {0}, back = {0};
    struct server_id_ref *known = NULL;
    size_t nknown = 0;
    char where[300];
    if (!k) return NULL;
    k->refs = 1;
    put(b, ""); /* a disabled service is an empty, not a NULL, block */
    if (h->disabled) goto out;
    if (!(known = known_ids(cfg, i, prev, opts, &nknown)) ||
        render_service_servers(cfg, i, found, known, nknown, &k->servers, w) < 0)
        goto oom;
    /* Synapse's layout: listen lines are split between a frontend (only with
     * a port) and a backend; the frontend's lines come before its bind. */
    if (gather(&front, &h->frontend, &h->listen, backend_only) < 0 ||
        gather(&back, &h->backend, &h->listen, frontend_only) < 0)
        goto oom;
    if (h->port_mode != SYN_PORT_NONE) {
        snprintf(where, sizeof where, "services.%s.haproxy.frontend", s->name);
        putf(b, "\nfrontend %s\n", s->name);
        put_lines(b, w, where, &front);
        put_bind(b, cfg, s);
        putf(b, "\tdefault_backend %s\n", h->backend_name);
    }
    putf(b, "\nbackend %s\n", h->backend_name);
    snprintf(where, sizeof where, "services.%s.haproxy.backend", s->name);
    put_lines(b, w, where, &back);
    if (opts && opts->safe_http_defaults) put_safe_http_defaults(b, cfg, &back);
    if (!b->oom && !(k->head = strdup(b->s))) goto oom;
    if (set_cookies(cfg, s, &back, &k->servers) < 0) goto oom;
    put_servers(b, &k->servers);
    goto out;
oom:
    b->oom = true;
out:
    free(known);
    free(front.v);
    free(back.v);
    if (!b->oom && !k->head && !(k->head = strdup(""))) b->oom = true;
    if (b->oom) {
        free(b->s);
        block_unref(k);
        return NULL;
    }
    /* to fit: a block is ~500 bytes, its buffer 4 KiB; 1,000 services kept
     * 3.5 MB of slack per model (heaptrack, b1200) */
    char *fit = realloc(b->s, b->n + 1);
    k->text = fit ? fit : b->s;
    return k;
}

static void put_section(struct buf *b, struct strlist *w, const char *header,
                        const struct strlist *l, const char *where)
{
    struct lines v = {(const char **)l->v, l->n};
    putf(b, "\n%s\n", header);
    put_lines(b, w, where, &v);
}

static void render_global(struct buf *b, const struct syn_haproxy *h, struct strlist *w)
{
    put_section(b, w, "global", &h->global, "haproxy.global");
    if (!strlist_sets(&h->global, "stats socket")) {
        for (size_t i = 0; i < h->socket_files.n; i++)
            if (line_ok(h->socket_files.v[i]))
                putf(b, "\tstats socket %s mode 600 level admin expose-fd listeners\n",
                     h->socket_files.v[i]);
    }
    /* state_file_path is Synapse's cache of backends (JSON), not HAProxy's
     * server-state file: it never appears here. */
}

void render_model_free(struct render_model *m)
{
    if (!m) return;
    for (size_t i = 0; m->blocks && i < m->n; i++)
        block_unref(m->blocks[i]);
    free(m->blocks);
    free(m->preamble);
    free(m->tail);
    free(m);
}

static char *render_preamble(const struct syn_config *cfg, struct strlist *warnings)
{
    struct buf b = {0};
    const struct syn_haproxy *h = &cfg->haproxy;
    put(&b, "# Generated by smartdock-watcher from its Synapse config; rewritten on every "
            "change, do not edit.\n");
    render_global(&b, h, warnings);
    /* As Synapse writes it: no blank line between global and defaults. */
    struct lines defaults = {(const char **)h->defaults.v, h->defaults.n};
    put(&b, "defaults\n");
    put_lines(&b, warnings, "haproxy.defaults", &defaults);
    for (size_t i = 0; i < h->nextra_sections; i++) {
        if (line_ok(h->extra_sections[i].header))
            put_section(&b, warnings, h->extra_sections[i].header, &h->extra_sections[i].lines,
                        "haproxy.extra_sections");
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static char *render_tail(const struct syn_config *cfg, struct strlist *warnings)
{
    struct buf b = {0};
    const struct syn_haproxy *h = &cfg->haproxy;
    put(&b, "");
    if (h->shared_frontend.n) {
        put_section(&b, warnings, "frontend shared-frontend", &h->shared_frontend,
                    "haproxy.shared_frontend");
        for (size_t i = 0; i < cfg->nservices; i++) {
            const struct syn_service *s = &cfg->services[i];
            struct lines v = {(const char **)s->haproxy.shared_frontend.v,
                              s->haproxy.shared_frontend.n};
            if (!s->haproxy.disabled) put_lines(&b, warnings, "shared_frontend", &v);
        }
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

struct render_model *render_model_new(const struct syn_config *cfg,
                                      const struct backend_list *backends,
                                      const struct render_opts *opts,
                                      const struct render_model *prev, const bool *changed,
                                      struct strlist *warnings)
{
    struct render_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n = cfg->nservices;
    m->blocks = calloc(m->n ? m->n : 1, sizeof *m->blocks);
    if (!m->blocks) goto oom;
    if (prev && prev->n != m->n) prev = NULL;
    /* The frame depends on cfg alone: a previous model's is reused as is. */
    m->preamble = prev ? strdup(prev->preamble) : render_preamble(cfg, warnings);
    if (!m->preamble) goto oom;
    for (size_t i = 0; i < m->n; i++) {
        if (prev && changed && !changed[i]) {
            m->blocks[i] = prev->blocks[i];
            m->blocks[i]->refs++;
        } else {
            m->blocks[i] = render_service(cfg, i, backends ? &backends[i] : NULL, opts,
                                          prev ? prev->blocks[i] : NULL, warnings);
            if (!m->blocks[i]) goto oom;
        }
    }
    m->tail = prev ? strdup(prev->tail) : render_tail(cfg, warnings);
    if (!m->tail) goto oom;
    return m;
oom:
    render_model_free(m);
    return NULL;
}

struct render_model *render_model_share(const struct render_model *m)
{
    struct render_model *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n = m->n;
    c->blocks = calloc(m->n ? m->n : 1, sizeof *c->blocks);
    c->preamble = strdup(m->preamble);
    c->tail = strdup(m->tail);
    if (!c->blocks || !c->preamble || !c->tail) {
        c->n = 0; /* no block referenced yet */
        render_model_free(c);
        return NULL;
    }
    for (size_t i = 0; i < m->n; i++) {
        c->blocks[i] = m->blocks[i];
        c->blocks[i]->refs++;
    }
    return c;
}

char *render_model_text(const struct render_model *m)
{
    size_t len = strlen(m->preamble) + strlen(m->tail), at = 0;
    for (size_t i = 0; i < m->n; i++)
        len += strlen(m->blocks[i]->text);
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t l = strlen(m->preamble);
    memcpy(out, m->preamble, l);
    at += l;
    for (size_t i = 0; i < m->n; i++) {
        l = strlen(m->blocks[i]->text);
        memcpy(out + at, m->blocks[i]->text, l);
        at += l;
    }
    l = strlen(m->tail);
    memcpy(out + at, m->tail, l + 1);
    return out; /* every section ends with '\n', so the file does too */
}

size_t render_model_nservices(const struct render_model *m)
{
    return m->n;
}

const struct render_server_list *render_model_servers(const struct render_model *m, size_t svc)
{
    return &m->blocks[svc]->servers;
}

bool render_model_service_same(const struct render_model *a, const struct render_model *b,
                               size_t svc)
{
    return a->blocks[svc] == b->blocks[svc] ||
           strcmp(a->blocks[svc]->text, b->blocks[svc]->text) == 0;
}

bool render_model_same_frame(const struct render_model *a, const struct render_model *b)
{
    if (a->n != b->n || strcmp(a->preamble, b->preamble) != 0 || strcmp(a->tail, b->tail) != 0)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->blocks[i] != b->blocks[i] && strcmp(a->blocks[i]->head, b->blocks[i]->head) != 0)
            return false;
    return true;
}

/* True when a configured line of text starts with kw ("\tserver ", ...). */
static bool has_line(const char *text, const char *kw)
{
    for (const char *p = text; (p = strstr(p, kw)); p++)
        if (p == text || p[-1] == '\n') return true;
    return false;
}

static bool frame_has_line(const struct render_model *m, const char *kw)
{
    if (has_line(m->preamble, kw) || has_line(m->tail, kw)) return true;
    for (size_t i = 0; i < m->n; i++)
        if (has_line(m->blocks[i]->head, kw)) return true;
    return false;
}

static const char not_reproducible[] =
    "a server line is not one \"add server\" can reproduce (cookie, or a server in configured "
    "lines)";

static bool block_has_cookie(const struct render_model *m, size_t i)
{
    for (size_t j = 0; j < m->blocks[i]->servers.n; j++)
        if (m->blocks[i]->servers.v[j].cookie) return true;
    return false;
}

const char *render_model_runtime_refusal(const struct render_model *m)
{
    if (frame_has_line(m, "\tdefault-server"))
        return "a default-server line is configured, which runtime-added servers would not "
               "inherit";
    bool cookie = false;
    for (size_t i = 0; i < m->n && !cookie; i++)
        cookie = block_has_cookie(m, i);
    if (cookie || frame_has_line(m, "\tserver ")) return not_reproducible;
    return NULL;
}

const char *render_model_services_refusal(const struct render_model *m, const size_t *svc, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (svc[k] < m->n && block_has_cookie(m, svc[k])) return not_reproducible;
    return NULL;
}

char *render_haproxy_cfg(const struct syn_config *cfg, const struct backend_list *backends,
                         const struct render_opts *opts, struct strlist *warnings)
{
    struct render_model *m = render_model_new(cfg, backends, opts, NULL, NULL, warnings);
    char *text = m ? render_model_text(m) : NULL;
    render_model_free(m);
    return text;
}
