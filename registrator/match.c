/*
 * From a decoded container and the config to registrations. Pure: no I/O.
 *
 * Container labels are untrusted text. A bad one is reported as a problem
 * and left out; it never costs the container its other registrations.
 */
#include "match.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imageref.h"

#define LABEL_PREFIX "smartdock.label."
#define DRAIN_MAX_MS 600000

struct strv {
    char **v; /* NULL-terminated once reserved */
    size_t n, cap;
};

/* A service the container provides, before its port is resolved. */
struct candidate {
    const char *name;              /* borrowed from cfg or the container */
    const struct reg_service *svc; /* NULL for a label-only service */
    int private_port;
};

/* Container-wide label settings, validated once for all its registrations. */
struct overrides {
    bool has_weight, has_options, has_drain;
    int weight, drain_ms;
    const char *options; /* borrowed; NULL when the label is empty */
    const char *tags;    /* borrowed; NULL when absent or refused */
    const char **extra;  /* borrowed key/value pairs from smartdock.label.* */
    size_t nextra;
};

static int strv_reserve(struct strv *l)
{
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = NULL;
    return 0;
}

static int strv_pushf(struct strv *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int strv_pushf(struct strv *l, const char *fmt, ...)
{
    if (strv_reserve(l) < 0) return -1;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) return -1;
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
    return 0;
}

void match_free_problems(char **problems)
{
    if (!problems) return;
    for (char **p = problems; *p; p++)
        free(*p);
    free(problems);
}

/* Copies s into buf with backslash and every byte outside printable ASCII
 * escaped (\n, \t, \r, \\, \xNN), shortened, so a problem stays one line. */
static void escape(char *buf, size_t len, const char *s)
{
    size_t j = 0;
    for (size_t i = 0; s && s[i] && j + 8 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 100) {
            memcpy(buf + j, "...", 3);
            j += 3;
            break;
        }
        if (c == '\n' || c == '\t' || c == '\r' || c == '\\') {
            buf[j++] = '\\';
            buf[j++] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : '\\';
        } else if (c < 0x20 || c >= 0x7f) {
            j += (size_t)snprintf(buf + j, len - j, "\\x%02x", c);
        } else {
            buf[j++] = (char)c;
        }
    }
    if (len) buf[j < len ? j : len - 1] = '\0';
}

struct mctx {
    const struct reg_config *cfg;
    const struct docker_container *c;
    struct strv problems;
    char who[160]; /* "container 3f2a1b2c3d4e (web)" */
};

static int problemf(struct mctx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int problemf(struct mctx *m, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return strv_pushf(&m->problems, "%s: %s", m->who, msg);
}

/* "label KEY=VALUE: why", key and value escaped. */
static int label_problem(struct mctx *m, const char *key, const char *value, const char *why)
{
    char k[128], v[420];
    escape(k, sizeof k, key);
    escape(v, sizeof v, value);
    return problemf(m, "label %s=%s: %s", k, v, why);
}

/* Decimal digits only, lo..hi. */
static bool parse_int(const char *s, int lo, int hi, int *out)
{
    long v = 0;
    if (!*s || strlen(s) > 7) return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        v = v * 10 + (*s - '0');
    }
    if (v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

static bool label_is_true(const char *v)
{
    return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"));
}

static bool eligible(const struct docker_container *c)
{
    if (label_is_true(docker_container_label(c, "smartdock.ignore"))) return false;
    return docker_container_ready(c, NULL, 0);
}

static bool service_matches(const struct reg_service *s, const struct docker_container *c)
{
    if (!c->image || !imageref_match(s->image_name, c->image)) return false;
    for (size_t i = 0; i < s->nlabels; i++) {
        const char *v = docker_container_label(c, s->labels[i].key);
        if (!v || strcmp(v, s->labels[i].value)) return false;
    }
    return true;
}

/* The private port of a label-only service without smartdock.port: the
 * only exposed tcp port. -1 (a problem is added) when there is none to
 * pick, -2 on allocation failure. */
static int self_port(struct mctx *m, const char *name)
{
    const struct docker_container *c = m->c;
    char n[128], list[256] = "";
    if (c->nexposed == 1) return c->exposed_tcp_ports[0];
    escape(n, sizeof n, name);
    size_t j = 0;
    for (size_t i = 0; i < c->nexposed && j + 16 < sizeof list; i++)
        j += (size_t)snprintf(list + j, sizeof list - j, "%s%d", i ? ", " : "",
                              c->exposed_tcp_ports[i]);
    int rc =
        c->nexposed == 0
            ? problemf(m, "label smartdock.service=%s needs smartdock.port: it exposes no port", n)
            : problemf(m,
                       "label smartdock.service=%s needs smartdock.port: it exposes several "
                       "ports (%s)",
                       n, list);
    return rc < 0 ? -2 : -1;
}

/* Adds the config services the container matches, then its own
 * smartdock.service, merged into a config match of the same name.
 * Returns the number of candidates, or -1 on allocation failure. */
static int collect(struct mctx *m, struct candidate *cand)
{
    const struct docker_container *c = m->c;
    int n = 0;
    for (size_t i = 0; i < m->cfg->nservices; i++)
        if (service_matches(&m->cfg->services[i], c))
            cand[n++] = (struct candidate){m->cfg->services[i].name, &m->cfg->services[i],
                                           m->cfg->services[i].container_port};

    const char *self = docker_container_label(c, "smartdock.service");
    if (!self) return n;
    if (!reg_name_is_safe(self)) {
        int r = label_problem(m, "smartdock.service", self,
                              "not a service name ([A-Za-z0-9._-], not \".\" or \"..\"); ignored");
        return r < 0 ? -1 : n;
    }
    struct candidate *same = NULL;
    for (int i = 0; i < n; i++)
        if (!strcmp(cand[i].name, self)) same = &cand[i];

    const char *pl = docker_container_label(c, "smartdock.port");
    int port = -1;
    if (pl && !parse_int(pl, 1, 65535, &port)) {
        char why[200];
        snprintf(why, sizeof why, "expected an integer 1..65535; %s",
                 same ? "the configured container_port is used" : "service not registered");
        if (label_problem(m, "smartdock.port", pl, why) < 0) return -1;
        return n;
    }
    if (same) {
        if (pl) same->private_port = port; /* the container's own word wins */
        return n;
    }
    if (!pl && (port = self_port(m, self)) < 0) return port == -2 ? -1 : n;
    cand[n++] = (struct candidate){self, NULL, port};
    return n;
}

/* Reads the container-wide labels once; bad ones become problems and are
 * ignored. */
static int read_overrides(struct mctx *m, struct overrides *o)
{
    const struct docker_container *c = m->c;
    const char *v;
    if ((v = docker_container_label(c, "smartdock.weight"))) {
        if (parse_int(v, 0, 256, &o->weight))
            o->has_weight = true;
        else if (label_problem(m, "smartdock.weight", v, "expected an integer 0..256; ignored") < 0)
            return -1;
    }
    if ((v = docker_container_label(c, "smartdock.drain_ms"))) {
        if (parse_int(v, 0, DRAIN_MAX_MS, &o->drain_ms))
            o->has_drain = true;
        else if (label_problem(m, "smartdock.drain_ms", v,
                               "expected an integer 0..600000; ignored") < 0)
            return -1;
    }
    if ((v = docker_container_label(c, "smartdock.haproxy_server_options"))) {
        if (backend_options_are_safe(v)) {
            o->has_options = true;
            o->options = *v ? v : NULL;
        } else if (label_problem(
                       m, "smartdock.haproxy_server_options", v,
                       "control characters, '#', ';' or '\\' in server options; ignored") < 0) {
            return -1;
        }
    }
    if ((v = docker_container_label(c, "smartdock.tags"))) {
        if (backend_text_is_safe(v))
            o->tags = v;
        else if (label_problem(m, "smartdock.tags", v, "control characters; left out") < 0)
            return -1;
    }
    if (c->nlabels && !(o->extra = calloc(2 * c->nlabels, sizeof *o->extra))) return -1;
    for (size_t i = 0; i < c->nlabels; i++) {
        const char *key = c->labels[i].key, *val = c->labels[i].value;
        if (strncmp(key, LABEL_PREFIX, strlen(LABEL_PREFIX))) continue;
        if (docker_container_label(c, key) != val) continue; /* a duplicate key */
        const char *k = key + strlen(LABEL_PREFIX);
        if (!*k || !backend_text_is_safe(k) || !backend_text_is_safe(val)) {
            if (label_problem(m, key, val,
                              *k ? "control characters; left out" : "empty key; left out") < 0)
                return -1;
            continue;
        }
        o->extra[2 * o->nextra] = k;
        o->extra[2 * o->nextra + 1] = val;
        o->nextra++;
    }
    return 0;
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

static int cmp_registration(const void *a, const void *b)
{
    return strcmp(((const struct registration *)a)->service,
                  ((const struct registration *)b)->service);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Fills r for one candidate published on host_port. */
static int build(struct mctx *m, const struct candidate *cd, const struct overrides *o,
                 int host_port, struct registration *r)
{
    const struct reg_service *s = cd->svc;
    struct backend *b = &r->backend;
    const char *opts = o->has_options ? o->options : s ? s->haproxy_server_options : NULL;
    b->weight = o->has_weight ? o->weight : s ? s->weight : BACKEND_WEIGHT_UNSET;
    r->drain_ms = o->has_drain ? o->drain_ms : s ? s->drain_ms : 0;
    r->service = strdup(cd->name);
    r->instance = match_instance_name(m->cfg->advertise_host, host_port, m->c->id);
    b->host = strdup(m->cfg->advertise_host);
    b->port = host_port;
    b->name = dup_or_null(r->instance);
    b->service = strdup(cd->name);
    b->container_id = strdup(m->c->id);
    b->haproxy_server_options = dup_or_null(opts);
    if (!r->service || !r->instance || !b->host || !b->name || !b->service || !b->container_id ||
        (opts && !b->haproxy_server_options))
        return -1;
    /* Later sources win: smartdock.label.*, smartdock.tags, the config's
     * filters (which the container's labels equal anyway). */
    for (size_t i = 0; i < o->nextra; i++)
        if (backend_set_label(b, o->extra[2 * i], o->extra[2 * i + 1]) < 0) return -1;
    if (o->tags && backend_set_label(b, "tags", o->tags) < 0) return -1;
    for (size_t i = 0; s && i < s->nlabels; i++)
        if (backend_set_label(b, s->labels[i].key, s->labels[i].value) < 0) return -1;
    if (b->nlabels > 1) qsort(b->labels, b->nlabels, sizeof *b->labels, cmp_label);
    return 0;
}

static int resolve(struct mctx *m, const struct candidate *cand, int n,
                   struct registration_list *out)
{
    struct overrides o = {0};
    int rc = read_overrides(m, &o);
    if (rc == 0 && !(out->v = calloc((size_t)n, sizeof *out->v))) rc = -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        const struct candidate *cd = &cand[i];
        int hp = docker_container_host_port(m->c, cd->private_port, m->cfg->advertise_host);
        if (hp < 0) {
            rc = m->c->host_network
                     ? problemf(m,
                                "service %s: private port %d/tcp is not among the ports the "
                                "container exposes on the host network",
                                cd->name, cd->private_port)
                     : problemf(m,
                                "service %s: private port %d/tcp is not published and the "
                                "container is not on the host network",
                                cd->name, cd->private_port);
            continue;
        }
        struct registration *r = &out->v[out->n++];
        r->backend.weight = BACKEND_WEIGHT_UNSET;
        rc = build(m, cd, &o, hp, r);
    }
    free(o.extra);
    if (rc == 0 && out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_registration);
    return rc;
}

int match_container(const struct reg_config *cfg, const struct docker_container *c,
                    struct registration_list *out, char ***problems)
{
    struct mctx m = {.cfg = cfg, .c = c};
    struct candidate *cand = NULL;
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (problems) *problems = NULL;
    if (c->name) {
        char name[100];
        escape(name, sizeof name, c->name);
        snprintf(m.who, sizeof m.who, "container %.12s (%s)", c->id, name);
    } else {
        snprintf(m.who, sizeof m.who, "container %.12s", c->id);
    }
    if (eligible(c)) {
        cand = calloc(cfg->nservices + 1, sizeof *cand);
        int n = cand ? collect(&m, cand) : -1;
        rc = n < 0 ? -1 : n > 0 ? resolve(&m, cand, n, out) : 0;
        free(cand);
    }
    /* An empty problem list is still an array, so callers can always iterate. */
    if (rc == 0 && problems && strv_reserve(&m.problems) < 0) rc = -1;
    if (rc < 0 || !problems) {
        match_free_problems(m.problems.v);
        if (rc < 0) registration_list_clear(out);
        return rc;
    }
    *problems = m.problems.v;
    return 0;
}

void registration_list_clear(struct registration_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].service);
        free(l->v[i].instance);
        backend_clear(&l->v[i].backend);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

char *match_instance_name(const char *host, int port, const char *container_id)
{
    char *s = NULL;
    int r = container_id && *container_id
                ? asprintf(&s, "%s_%d_%.12s", host ? host : "", port, container_id)
                : asprintf(&s, "%s_%d", host ? host : "", port);
    if (r < 0) return NULL;
    for (char *p = s; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            *p = '_';
    }
    return s;
}
