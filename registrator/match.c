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
#include "server_options.h"
#include "service_meta.h"

#define LABEL_PREFIX "smartdock.label."
#define DRAIN_MAX_MS 600000

/* A service the container provides, before its port is resolved. */
struct candidate {
    char *name;                    /* owned */
    const struct reg_service *svc; /* NULL for a label-only or registrator-style service */
    int private_port;
    bool udp;
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
    struct strlist *problems; /* the caller's, or a scratch list */
    char who[160];            /* "container 3f2a1b2c3d4e (web)" */
};

static int problemf(struct mctx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int problemf(struct mctx *m, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return strlist_pushf(m->problems, "%s: %s", m->who, msg);
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
    /* registrator's SERVICE_IGNORE is weighed per port, in resolve(). */
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

static bool configured(const struct reg_config *cfg, const char *service)
{
    for (size_t i = 0; i < cfg->nservices; i++)
        if (!strcmp(cfg->services[i].name, service)) return true;
    return false;
}

/* Adds the config services the container matches, then its own
 * smartdock.service, merged into a config match of the same name.
 * Returns the number of candidates, or -1 on allocation failure. */
static int collect(struct mctx *m, struct candidate *cand)
{
    const struct docker_container *c = m->c;
    int n = 0;
    for (size_t i = 0; i < m->cfg->nservices; i++)
        if (service_matches(&m->cfg->services[i], c)) {
            if (!(cand[n].name = strdup(m->cfg->services[i].name))) return -1;
            cand[n].svc = &m->cfg->services[i];
            cand[n++].private_port = m->cfg->services[i].container_port;
        }

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
    /* A label must not let any container join a service whose image the
     * config names (label_registration). */
    const char *refused = NULL;
    if (m->cfg->label_registration == LABEL_REGISTRATION_OFF)
        refused = "label_registration is \"off\"; ignored";
    else if (m->cfg->label_registration == LABEL_REGISTRATION_UNCONFIGURED && !same &&
             configured(m->cfg, self))
        refused = "the config defines this service and the container does not match it "
                  "(label_registration \"unconfigured\"); ignored";
    if (refused) {
        int r = label_problem(m, "smartdock.service", self, refused);
        return r < 0 ? -1 : n;
    }

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
    if (!(cand[n].name = strdup(self))) return -1;
    cand[n++].private_port = port;
    return n;
}

/* One port the container offers, registrator's way. */
struct offered {
    int port;
    bool udp;
};

static int cmp_offered(const void *a, const void *b)
{
    const struct offered *x = a, *y = b;
    if (x->port != y->port) return (x->port > y->port) - (x->port < y->port);
    return (int)x->udp - (int)y->udp;
}

static void offer(struct offered *v, size_t *n, int port, bool udp)
{
    for (size_t i = 0; i < *n; i++)
        if (v[i].port == port && v[i].udp == udp) return;
    v[(*n)++] = (struct offered){port, udp};
}

/* The ports registrator would register (bridge/bridge.go): on the host
 * network every exposed port, else every published one, and with -internal
 * every exposed one too. Sorted; *out is malloc'd. */
static int offered_ports(const struct reg_config *cfg, const struct docker_container *c,
                         struct offered **out, size_t *n)
{
    size_t cap = c->nexposed + c->nexposed_udp + c->nbindings;
    *out = NULL;
    *n = 0;
    if (!cap) return 0;
    if (!(*out = calloc(cap, sizeof **out))) return -1;
    if (c->host_network || cfg->internal) {
        for (size_t i = 0; i < c->nexposed; i++)
            offer(*out, n, c->exposed_tcp_ports[i], false);
        for (size_t i = 0; i < c->nexposed_udp; i++)
            offer(*out, n, c->exposed_udp_ports[i], true);
    }
    for (size_t i = 0; !c->host_network && i < c->nbindings; i++) {
        const char *proto = c->bindings[i].proto;
        if (!strcmp(proto, "tcp") || !strcmp(proto, "udp"))
            offer(*out, n, c->bindings[i].private_port, !strcmp(proto, "udp"));
    }
    qsort(*out, *n, sizeof **out, cmp_offered);
    return 0;
}

/* registrator's default name: the image's last path component without its
 * tag (or digest). NULL when the container has no image. Caller frees. */
char *match_default_name(const char *image)
{
    if (!image || !*image) return NULL;
    const char *base = strrchr(image, '/');
    base = base ? base + 1 : image;
    size_t len = strcspn(base, ":@");
    return len ? strndup(base, len) : NULL;
}

/* Adds registrator-style candidates: one per offered port not already
 * claimed by a smartdock match on the same port (the smartdock.* labels
 * and the config win), named by SERVICE_NAME / SERVICE_<port>_NAME or, unless
 * explicit_only, by the image. Returns the new count, or -1. */
static int collect_registrator(struct mctx *m, struct candidate *cand, int n,
                               const struct offered *ports, size_t nports)
{
    const struct docker_container *c = m->c;
    bool group = nports > 1;
    for (size_t i = 0; i < nports; i++) {
        bool claimed = false;
        for (int j = 0; j < n; j++)
            if (cand[j].private_port == ports[i].port && cand[j].udp == ports[i].udp)
                claimed = true;
        if (claimed) continue;
        struct service_meta meta;
        if (service_meta_read(c, ports[i].port, &meta) < 0) return -1;
        const char *given = service_meta_get(&meta, "name");
        bool from_port = service_meta_from_port(&meta, "name");
        char *name = NULL;
        int rc = 0;
        if (given)
            name = strdup(given);
        else if (!m->cfg->explicit_only && !(name = match_default_name(c->image)))
            rc = problemf(m, "port %d/%s: no image to take a default service name from",
                          ports[i].port, ports[i].udp ? "udp" : "tcp");
        service_meta_clear(&meta);
        if (rc < 0) return -1;
        if (!name) continue;
        if (group && !from_port) {
            char *suffixed = NULL;
            int r = asprintf(&suffixed, "%s-%d", name, ports[i].port);
            free(name);
            if (r < 0) return -1;
            name = suffixed;
        }
        if (!reg_name_is_safe(name)) {
            char shown[128];
            escape(shown, sizeof shown, name);
            free(name);
            if (problemf(m,
                         "port %d/%s: service name \"%s\" is not [A-Za-z0-9._-] (or is \".\" or "
                         "\"..\"); not registered",
                         ports[i].port, ports[i].udp ? "udp" : "tcp", shown) < 0)
                return -1;
            continue;
        }
        cand[n].name = name;
        cand[n].private_port = ports[i].port;
        cand[n++].udp = ports[i].udp;
    }
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
        char why[300];
        if (!backend_options_are_safe(v)) {
            snprintf(why, sizeof why, "control characters, '#', ';' or '\\' in server options");
        } else if (server_options_check(NULL, v, why, sizeof why, NULL) == 0) {
            o->has_options = true;
            o->options = *v ? v : NULL;
            why[0] = 0;
        }
        /* why names the refused word; the watcher would refuse it too */
        if (why[0] && strlen(why) + 10 < sizeof why) strcat(why, "; ignored");
        if (why[0] && label_problem(m, "smartdock.haproxy_server_options", v, why) < 0) return -1;
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
        if (o->nextra == BACKEND_MAX_LABELS) {
            char why[96];
            snprintf(why, sizeof why,
                     "more than %d smartdock.label.* labels; this and later ones left out",
                     BACKEND_MAX_LABELS);
            if (label_problem(m, key, val, why) < 0) return -1;
            break;
        }
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

/* Comma-joined tags: SERVICE_TAGS (or smartdock.tags, which wins), then
 * the -tags flag, then "udp" for a udp port, as registrator combines them.
 * NULL when there are none. Caller frees. */
static char *join_tags(const char *own, const char *forced, bool udp)
{
    const char *parts[3] = {own && *own ? own : NULL, forced && *forced ? forced : NULL,
                            udp ? "udp" : NULL};
    size_t len = 1;
    for (int i = 0; i < 3; i++)
        if (parts[i]) len += strlen(parts[i]) + 1;
    if (len == 1) return NULL;
    char *out = calloc(1, len);
    for (int i = 0; out && i < 3; i++) {
        if (!parts[i]) continue;
        if (*out) strcat(out, ",");
        strcat(out, parts[i]);
    }
    return out;
}

/* The SERVICE_* metadata of one registration, checked. Bad values become
 * problems and are left out. */
static int meta_labels(struct mctx *m, const struct service_meta *meta, const struct overrides *o,
                       struct backend *b)
{
    for (size_t i = 0; i < meta->n; i++) {
        const char *k = meta->v[i].key, *v = meta->v[i].value;
        if (!service_meta_is_attr(k) || !*v) continue;
        bool own = false; /* smartdock.label.K wins */
        for (size_t j = 0; j < o->nextra; j++)
            if (!strcmp(o->extra[2 * j], k)) own = true;
        if (own) continue;
        if (!backend_text_is_safe(k) || !backend_text_is_safe(v)) {
            char label[160];
            snprintf(label, sizeof label, "SERVICE_%s", k);
            if (label_problem(m, label, v, "control characters; left out") < 0) return -1;
            continue;
        }
        if (backend_set_label(b, k, v) < 0) return -1;
    }
    return 0;
}

/* Where the registration points: the advertised host and the published
 * port, or with -internal the container's own IP and private port; a
 * use_ip_from_label label replaces the host. -1 with a problem added when
 * there is no usable address; -2 on allocation failure. */
static int address(struct mctx *m, const struct candidate *cd, const struct service_meta *meta,
                   char *hostbuf, size_t hostlen, int *port)
{
    const struct docker_container *c = m->c;
    const char *proto = cd->udp ? "udp" : "tcp";
    const char *h = m->cfg->advertise_host;
    const char **host = &h;
    snprintf(hostbuf, hostlen, "%s", h);
    if (m->cfg->internal) {
        const char *net = service_meta_get(meta, "network");
        *port = cd->private_port;
        if (!c->host_network && !(*host = docker_container_internal_ip(c, net)))
            return problemf(
                       m,
                       net ? "service %s: -internal: not attached to network %s (SERVICE_NETWORK)"
                           : "service %s: -internal: the container has no IP address%s",
                       cd->name, net ? net : "") < 0
                       ? -2
                       : -1;
    } else if ((*port = docker_container_published_port(c, cd->private_port, proto,
                                                        m->cfg->advertise_host)) < 0) {
        int rc = c->host_network
                     ? problemf(m,
                                "service %s: private port %d/%s is not among the ports the "
                                "container exposes on the host network",
                                cd->name, cd->private_port, proto)
                     : problemf(m,
                                "service %s: private port %d/%s is not published and the "
                                "container is not on the host network",
                                cd->name, cd->private_port, proto);
        return rc < 0 ? -2 : -1;
    }
    snprintf(hostbuf, hostlen, "%s", *host);
    const char *label = m->cfg->ip_from_label;
    const char *v = label ? docker_container_label(c, label) : NULL;
    if (label && !v)
        return problemf(m, "service %s: label %s (-useIpFromLabel) missing; using %s", cd->name,
                        label, *host) < 0
                   ? -2
                   : 0;
    if (v) {
        const char *slash = strrchr(v, '/'); /* "10.0.0.5/24" */
        char ip[256];
        snprintf(ip, sizeof ip, "%.*s", slash ? (int)(slash - v) : (int)strlen(v), v);
        if (!backend_host_is_valid(ip))
            return label_problem(m, label, v,
                                 "not an IP address (-useIpFromLabel); not registered") < 0
                       ? -2
                       : -1;
        snprintf(hostbuf, hostlen, "%s", ip);
    }
    return 0;
}

/* Fills r for one candidate at host:port. */
static int build(struct mctx *m, const struct candidate *cd, const struct overrides *o,
                 const struct service_meta *meta, const char *host, int port,
                 struct registration *r)
{
    const struct reg_service *s = cd->svc;
    struct backend *b = &r->backend;
    const char *opts = o->has_options ? o->options : s ? s->haproxy_server_options : NULL;
    const char *id = service_meta_get(meta, "id");
    b->weight = o->has_weight ? o->weight : s ? s->weight : BACKEND_WEIGHT_UNSET;
    r->drain_ms = o->has_drain ? o->drain_ms : s ? s->drain_ms : 0;
    r->private_port = cd->private_port;
    r->service = strdup(cd->name);
    b->host = strdup(host);
    r->instance = match_instance_name(b->host ? b->host : "", port, m->c->id, cd->udp);
    b->port = port;
    if (id && !backend_text_is_safe(id)) {
        if (label_problem(m, "SERVICE_ID", id, "control characters; the instance name is used") < 0)
            return -1;
        id = NULL;
    }
    b->name = dup_or_null(id ? id : r->instance);
    b->service = strdup(cd->name);
    b->container_id = strdup(m->c->id);
    b->haproxy_server_options = dup_or_null(opts);
    if (!r->service || !r->instance || !b->host || !b->name || !b->service || !b->container_id ||
        (opts && !b->haproxy_server_options))
        return -1;
    /* Later sources win: SERVICE_<KEY>, smartdock.label.*, the tags, the
     * config's filters (which the container's labels equal anyway). */
    if (meta_labels(m, meta, o, b) < 0) return -1;
    for (size_t i = 0; i < o->nextra; i++)
        if (backend_set_label(b, o->extra[2 * i], o->extra[2 * i + 1]) < 0) return -1;
    const char *own_tags = o->tags ? o->tags : service_meta_get(meta, "tags");
    if (own_tags && !o->tags && !backend_text_is_safe(own_tags)) {
        if (label_problem(m, "SERVICE_TAGS", own_tags, "control characters; left out") < 0)
            return -1;
        own_tags = NULL;
    }
    char *tags = join_tags(own_tags, m->cfg->force_tags, cd->udp);
    int rc = tags ? backend_set_label(b, "tags", tags) : 0;
    free(tags);
    if (rc < 0 || (cd->udp && backend_set_label(b, "protocol", "udp") < 0)) return -1;
    for (size_t i = 0; s && i < s->nlabels; i++)
        if (backend_set_label(b, s->labels[i].key, s->labels[i].value) < 0) return -1;
    if (b->nlabels > 1) qsort(b->labels, b->nlabels, sizeof *b->labels, cmp_label);
    return 0;
}

/* smartdock.ignore, when present, decides alone; otherwise registrator's
 * SERVICE_IGNORE / SERVICE_<port>_IGNORE does, port by port. */
static bool ignored(const struct docker_container *c, const struct service_meta *meta)
{
    if (docker_container_label(c, "smartdock.ignore")) return false; /* false or eligible() */
    return service_meta_ignored(meta);
}

static int resolve(struct mctx *m, const struct candidate *cand, int n,
                   struct registration_list *out)
{
    struct overrides o = {0};
    int rc = read_overrides(m, &o);
    if (rc == 0 && !(out->v = calloc((size_t)n, sizeof *out->v))) rc = -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        const struct candidate *cd = &cand[i];
        struct service_meta meta;
        char host[256];
        int port;
        if (service_meta_read(m->c, cd->private_port, &meta) < 0) {
            rc = -1;
            break;
        }
        int a = ignored(m->c, &meta) ? -1 : address(m, cd, &meta, host, sizeof host, &port);
        if (a == -2) rc = -1;
        if (a == 0) {
            struct registration *r = &out->v[out->n++];
            r->backend.weight = BACKEND_WEIGHT_UNSET;
            rc = build(m, cd, &o, &meta, host, port, r);
        }
        service_meta_clear(&meta);
    }
    free(o.extra);
    if (rc == 0 && out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_registration);
    return rc;
}

int match_container(const struct reg_config *cfg, const struct docker_container *c,
                    struct registration_list *out, struct strlist *problems)
{
    struct strlist scratch = {0};
    struct mctx m = {.cfg = cfg, .c = c, .problems = problems ? problems : &scratch};
    struct candidate *cand = NULL;
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (c->name) {
        char name[100];
        escape(name, sizeof name, c->name);
        snprintf(m.who, sizeof m.who, "container %.12s (%s)", c->id, name);
    } else {
        snprintf(m.who, sizeof m.who, "container %.12s", c->id);
    }
    if (eligible(c)) {
        struct offered *ports = NULL;
        size_t nports = 0;
        int n = offered_ports(cfg, c, &ports, &nports);
        cand = n == 0 ? calloc(cfg->nservices + 1 + nports, sizeof *cand) : NULL;
        n = cand ? collect(&m, cand) : -1;
        if (n >= 0) n = collect_registrator(&m, cand, n, ports, nports);
        rc = n < 0 ? -1 : n > 0 ? resolve(&m, cand, n, out) : 0;
        for (size_t i = 0; cand && i < cfg->nservices + 1 + nports; i++)
            free(cand[i].name);
        free(cand);
        free(ports);
    }
    strlist_clear(&scratch);
    if (rc < 0) registration_list_clear(out);
    return rc;
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

int registration_list_copy(struct registration_list *out, const struct registration_list *in)
{
    memset(out, 0, sizeof *out);
    if (!in->n) return 0;
    if (!(out->v = calloc(in->n, sizeof *out->v))) return -1;
    for (size_t i = 0; i < in->n; i++) {
        struct registration *d = &out->v[out->n++];
        const struct registration *g = &in->v[i];
        d->drain_ms = g->drain_ms;
        d->private_port = g->private_port;
        d->service = strdup(g->service);
        d->instance = strdup(g->instance);
        if (!d->service || !d->instance || backend_copy(&d->backend, &g->backend) < 0) {
            registration_list_clear(out);
            return -1;
        }
    }
    return 0;
}

static const struct registration *find_same(const struct registration_list *l,
                                            const struct registration *g)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].service, g->service) && !strcmp(l->v[i].instance, g->instance))
            return &l->v[i];
    return NULL;
}

int registration_list_compare(const struct registration_list *old,
                              const struct registration_list *want, struct registration_counts *acc)
{
    for (size_t i = 0; i < old->n; i++)
        if (!find_same(want, &old->v[i])) acc->removed++;
    for (size_t i = 0; i < want->n; i++) {
        const struct registration *was = find_same(old, &want->v[i]);
        if (!was) {
            acc->added++;
            continue;
        }
        char *a = backend_encode_nerve(&was->backend),
             *b = backend_encode_nerve(&want->v[i].backend);
        int rc = a && b ? 0 : -1;
        if (rc == 0 && (strcmp(a, b) || was->drain_ms != want->v[i].drain_ms))
            acc->updated++;
        else if (rc == 0)
            acc->unchanged++;
        free(a);
        free(b);
        if (rc < 0) return -1;
    }
    return 0;
}

char *match_instance_name(const char *host, int port, const char *container_id, bool udp)
{
    char *s = NULL;
    int r =
        container_id && *container_id
            ? asprintf(&s, "%s_%d_%.12s%s", host ? host : "", port, container_id, udp ? "_udp" : "")
            : asprintf(&s, "%s_%d%s", host ? host : "", port, udp ? "_udp" : "");
    if (r < 0) return NULL;
    for (char *p = s; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            *p = '_';
    }
    return s;
}
