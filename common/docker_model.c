#include "docker_model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The JSON helpers below are shared with docker_event.c (see the end of
 * docker_model.h); the rest of this file is the container model. */

int docker_json_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errlen) return -1;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Shortens a printed JSON value in place so errors stay one short line. */
static void shorten(char *buf, size_t n, const char *printed)
{
    size_t len = strlen(printed);
    if (len <= DOCKER_JSON_SHOWN_MAX && len < n) {
        memcpy(buf, printed, len + 1);
        return;
    }
    snprintf(buf, n, "%.*s...",
             DOCKER_JSON_SHOWN_MAX < (int)n - 4 ? DOCKER_JSON_SHOWN_MAX : (int)n - 4, printed);
}

/* A value as it appears in an error: JSON text for scalars (cJSON escapes
 * control characters, so a hostile value cannot break the log line), a
 * word for containers, which may be huge. */
void docker_json_describe(const cJSON *v, char *buf, size_t n)
{
    char *printed;
    if (!v || cJSON_IsObject(v) || cJSON_IsArray(v)) {
        snprintf(buf, n, "%s", !v ? "nothing" : cJSON_IsObject(v) ? "an object" : "an array");
        return;
    }
    printed = cJSON_PrintUnformatted(v);
    shorten(buf, n, printed ? printed : "?");
    cJSON_free(printed);
}

/* A member name as a quoted, escaped JSON string, for paths like
 * Config.Labels["a\nb"]. */
static void quote_key(const char *key, char *buf, size_t n)
{
    cJSON *s = cJSON_CreateString(key ? key : "");
    char *printed = s ? cJSON_PrintUnformatted(s) : NULL;
    shorten(buf, n, printed ? printed : "\"?\"");
    cJSON_free(printed);
    cJSON_Delete(s);
}

static const struct {
    int types; /* cJSON type bits that satisfy the kind */
    const char *name;
} kinds[] = {{cJSON_String, "a string"},
             {cJSON_Number, "a number"},
             {cJSON_True | cJSON_False, "a boolean"},
             {cJSON_Object, "an object"},
             {cJSON_Array, "an array"}};

static bool is_kind(const cJSON *v, enum docker_json_kind k)
{
    return v && (v->type & 0xff & kinds[k].types) && (k != DOCKER_JSON_STRING || v->valuestring);
}

int docker_json_wrong_kind(const char *path, enum docker_json_kind k, const cJSON *v, char *err,
                           size_t errlen)
{
    char shown[DOCKER_JSON_SHOWN_MAX + 8];
    docker_json_describe(v, shown, sizeof shown);
    return docker_json_fail(err, errlen, "%s: expected %s, got %s", path, kinds[k].name, shown);
}

/*
 * *out = obj[key] when present, not null and of kind k; NULL when obj is
 * NULL or the member is absent or null. -1 (err names path) on a wrong kind.
 */
int docker_json_member(const cJSON *obj, const char *key, enum docker_json_kind k, const char *path,
                       const cJSON **out, char *err, size_t errlen)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!is_kind(v, k)) return docker_json_wrong_kind(path, k, v, err, errlen);
    *out = v;
    return 0;
}

/* Copies obj[key] (a string) into *dst, which stays NULL when absent. */
int docker_json_member_dup(const cJSON *obj, const char *key, const char *path, char **dst,
                           char *err, size_t errlen)
{
    const cJSON *v;
    if (docker_json_member(obj, key, DOCKER_JSON_STRING, path, &v, err, errlen) < 0) return -1;
    if (!v) return 0;
    if (!(*dst = strdup(v->valuestring)))
        return docker_json_fail(err, errlen, "%s: out of memory", path);
    return 0;
}

static int member_bool(const cJSON *obj, const char *key, const char *path, bool *dst, char *err,
                       size_t errlen)
{
    const cJSON *v;
    if (docker_json_member(obj, key, DOCKER_JSON_BOOL, path, &v, err, errlen) < 0) return -1;
    *dst = v && cJSON_IsTrue(v);
    return 0;
}

/* Parses exactly one JSON value filling json[0..len), whitespace around it
 * allowed. what names the document in errors. Caller deletes the result. */
cJSON *docker_json_parse(const char *json, size_t len, const char *what, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *root;
    if (!json || !len) {
        docker_json_fail(err, errlen, "%s: empty", what);
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        docker_json_fail(err, errlen, "%s: invalid or truncated JSON at byte %zu of %zu", what, at,
                         len);
        return NULL;
    }
    for (; end && end < json + len; end++) {
        if (!strchr(" \t\r\n", *end) || !*end) {
            docker_json_fail(err, errlen, "%s: unexpected data after the JSON value at byte %zu",
                             what, (size_t)(end - json));
            cJSON_Delete(root);
            return NULL;
        }
    }
    return root;
}

/* "8000", "1..65535", no sign, no spaces. */
static int port_from_text(const char *s)
{
    long v = 0;
    size_t i;
    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 5) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return i > 0 && v >= 1 && v <= 65535 ? (int)v : -1;
}

/* The key of member v of Config.ExposedPorts or NetworkSettings.Ports
 * (section): "8000/tcp"; a bare "8000" means tcp, as in Docker's nat.Port. */
static int port_key(const cJSON *v, const char *section, int *port, char *proto, size_t protolen,
                    char *err, size_t errlen)
{
    char num[8], qk[DOCKER_JSON_SHOWN_MAX + 8];
    const char *key = v->string ? v->string : "", *slash = strchr(key, '/');
    const char *p = slash ? slash + 1 : "tcp";
    size_t nlen = slash ? (size_t)(slash - key) : strlen(key), i;
    if (nlen > 0 && nlen < sizeof num && *p && strlen(p) < protolen) {
        memcpy(num, key, nlen);
        num[nlen] = '\0';
        for (i = 0; p[i] >= 'a' && p[i] <= 'z'; i++)
            ;
        if ((*port = port_from_text(num)) > 0 && !p[i]) {
            snprintf(proto, protolen, "%s", p);
            return 0;
        }
    }
    quote_key(key, qk, sizeof qk);
    return docker_json_fail(err, errlen, "%s: expected a key like \"8000/tcp\", got %s", section,
                            qk);
}

static int decode_labels(const cJSON *config, struct docker_container *c, char *err, size_t errlen)
{
    const cJSON *labels, *v;
    char path[160], qk[DOCKER_JSON_SHOWN_MAX + 8];
    int n;
    if (docker_json_member(config, "Labels", DOCKER_JSON_OBJECT, "Config.Labels", &labels, err,
                           errlen) < 0)
        return -1;
    if (!labels || (n = cJSON_GetArraySize(labels)) <= 0) return 0;
    if (!(c->labels = calloc((size_t)n, sizeof *c->labels)))
        return docker_json_fail(err, errlen, "Config.Labels: out of memory");
    cJSON_ArrayForEach(v, labels)
    {
        struct label *l = &c->labels[c->nlabels];
        if (cJSON_IsNull(v)) continue;
        if (!is_kind(v, DOCKER_JSON_STRING)) {
            quote_key(v->string, qk, sizeof qk);
            snprintf(path, sizeof path, "Config.Labels[%s]", qk);
            return docker_json_wrong_kind(path, DOCKER_JSON_STRING, v, err, errlen);
        }
        l->key = strdup(v->string ? v->string : "");
        l->value = strdup(v->valuestring);
        c->nlabels++;
        if (!l->key || !l->value)
            return docker_json_fail(err, errlen, "Config.Labels: out of memory");
    }
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..*n) and drops repeats. */
static void sort_unique(int *v, size_t *n)
{
    size_t w = 0;
    if (!v) return;
    qsort(v, *n, sizeof *v, cmp_int);
    for (size_t r = 0; r < *n; r++)
        if (w == 0 || v[w - 1] != v[r]) v[w++] = v[r];
    *n = w;
}

static int decode_exposed(const cJSON *config, struct docker_container *c, char *err, size_t errlen)
{
    const cJSON *ports, *v;
    char proto[16];
    int n, port;
    if (docker_json_member(config, "ExposedPorts", DOCKER_JSON_OBJECT, "Config.ExposedPorts",
                           &ports, err, errlen) < 0)
        return -1;
    if (!ports || (n = cJSON_GetArraySize(ports)) <= 0) return 0;
    if (!(c->exposed_tcp_ports = calloc((size_t)n, sizeof *c->exposed_tcp_ports)) ||
        !(c->exposed_udp_ports = calloc((size_t)n, sizeof *c->exposed_udp_ports)))
        return docker_json_fail(err, errlen, "Config.ExposedPorts: out of memory");
    cJSON_ArrayForEach(v, ports)
    {
        if (port_key(v, "Config.ExposedPorts", &port, proto, sizeof proto, err, errlen) < 0)
            return -1;
        if (!strcmp(proto, "tcp"))
            c->exposed_tcp_ports[c->nexposed++] = port;
        else if (!strcmp(proto, "udp"))
            c->exposed_udp_ports[c->nexposed_udp++] = port;
    }
    sort_unique(c->exposed_tcp_ports, &c->nexposed);
    sort_unique(c->exposed_udp_ports, &c->nexposed_udp);
    return 0;
}

/* Config.Env: ["KEY=value", ...]. */
static int decode_env(const cJSON *config, struct docker_container *c, char *err, size_t errlen)
{
    const cJSON *env, *v;
    char path[64];
    int n, i = 0;
    if (docker_json_member(config, "Env", DOCKER_JSON_ARRAY, "Config.Env", &env, err, errlen) < 0)
        return -1;
    if (!env || (n = cJSON_GetArraySize(env)) <= 0) return 0;
    if (!(c->env = calloc((size_t)n, sizeof *c->env)))
        return docker_json_fail(err, errlen, "Config.Env: out of memory");
    cJSON_ArrayForEach(v, env)
    {
        snprintf(path, sizeof path, "Config.Env[%d]", i++);
        if (!is_kind(v, DOCKER_JSON_STRING))
            return docker_json_wrong_kind(path, DOCKER_JSON_STRING, v, err, errlen);
        const char *eq = strchr(v->valuestring, '=');
        if (!eq || eq == v->valuestring) continue;
        struct label *l = &c->env[c->nenv++];
        l->key = strndup(v->valuestring, (size_t)(eq - v->valuestring));
        l->value = strdup(eq + 1);
        if (!l->key || !l->value) return docker_json_fail(err, errlen, "%s: out of memory", path);
    }
    return 0;
}

static int decode_healthcheck(const cJSON *config, struct docker_container *c, char *err,
                              size_t errlen)
{
    const cJSON *hc, *test, *first;
    if (docker_json_member(config, "Healthcheck", DOCKER_JSON_OBJECT, "Config.Healthcheck", &hc,
                           err, errlen) < 0 ||
        docker_json_member(hc, "Test", DOCKER_JSON_ARRAY, "Config.Healthcheck.Test", &test, err,
                           errlen) < 0)
        return -1;
    if (!test || !(first = cJSON_GetArrayItem(test, 0))) return 0;
    if (!is_kind(first, DOCKER_JSON_STRING))
        return docker_json_wrong_kind("Config.Healthcheck.Test[0]", DOCKER_JSON_STRING, first, err,
                                      errlen);
    c->has_healthcheck = strcmp(first->valuestring, "NONE") != 0;
    return 0;
}

static int decode_config(const cJSON *root, struct docker_container *c, char *err, size_t errlen)
{
    const cJSON *config;
    if (docker_json_member(root, "Config", DOCKER_JSON_OBJECT, "Config", &config, err, errlen) <
            0 ||
        docker_json_member_dup(config, "Image", "Config.Image", &c->image, err, errlen) < 0 ||
        docker_json_member_dup(config, "StopSignal", "Config.StopSignal", &c->stop_signal, err,
                               errlen) < 0 ||
        decode_labels(config, c, err, errlen) < 0 || decode_exposed(config, c, err, errlen) < 0 ||
        decode_env(config, c, err, errlen) < 0 || decode_healthcheck(config, c, err, errlen) < 0)
        return -1;
    if (c->stop_signal && !*c->stop_signal) {
        free(c->stop_signal);
        c->stop_signal = NULL;
    }
    return 0;
}

/* One element of NetworkSettings.Ports["<key>"]: {"HostIp": "...", "HostPort": "32768"}. */
static int decode_binding(const cJSON *b, const char *path, int private_port, const char *proto,
                          struct docker_port_binding *out, char *err, size_t errlen)
{
    char sub[256], shown[DOCKER_JSON_SHOWN_MAX + 8];
    const cJSON *ip, *hp;
    if (!is_kind(b, DOCKER_JSON_OBJECT))
        return docker_json_wrong_kind(path, DOCKER_JSON_OBJECT, b, err, errlen);
    snprintf(sub, sizeof sub, "%s.HostIp", path);
    if (docker_json_member(b, "HostIp", DOCKER_JSON_STRING, sub, &ip, err, errlen) < 0) return -1;
    snprintf(sub, sizeof sub, "%s.HostPort", path);
    hp = cJSON_GetObjectItemCaseSensitive(b, "HostPort");
    /* The API sends a string; a number is accepted as long as it is a port. */
    if (is_kind(hp, DOCKER_JSON_STRING))
        out->host_port = port_from_text(hp->valuestring);
    else if (is_kind(hp, DOCKER_JSON_NUMBER) && hp->valuedouble >= 1 && hp->valuedouble <= 65535 &&
             floor(hp->valuedouble) == hp->valuedouble)
        out->host_port = (int)hp->valuedouble;
    else
        out->host_port = -1;
    if (out->host_port < 0) {
        docker_json_describe(hp, shown, sizeof shown);
        return docker_json_fail(err, errlen, "%s: expected a port number, got %s", sub, shown);
    }
    out->private_port = private_port;
    out->proto = strdup(proto);
    out->host_ip = strdup(ip ? ip->valuestring : "");
    if (!out->proto || !out->host_ip)
        return docker_json_fail(err, errlen, "%s: out of memory", path);
    return 0;
}

static int decode_ports(const cJSON *root, struct docker_container *c, char *err, size_t errlen)
{
    const cJSON *ns, *ports, *v, *b;
    char proto[16], qk[DOCKER_JSON_SHOWN_MAX + 8], path[200], bpath[220];
    size_t total = 0;
    int port, i;
    if (docker_json_member(root, "NetworkSettings", DOCKER_JSON_OBJECT, "NetworkSettings", &ns, err,
                           errlen) < 0 ||
        docker_json_member(ns, "Ports", DOCKER_JSON_OBJECT, "NetworkSettings.Ports", &ports, err,
                           errlen) < 0)
        return -1;
    if (!ports) return 0;
    cJSON_ArrayForEach(v, ports)
    {
        if (cJSON_IsArray(v)) total += (size_t)cJSON_GetArraySize(v);
    }
    if (total && !(c->bindings = calloc(total, sizeof *c->bindings)))
        return docker_json_fail(err, errlen, "NetworkSettings.Ports: out of memory");
    cJSON_ArrayForEach(v, ports)
    {
        quote_key(v->string, qk, sizeof qk);
        snprintf(path, sizeof path, "NetworkSettings.Ports[%s]", qk);
        if (port_key(v, "NetworkSettings.Ports", &port, proto, sizeof proto, err, errlen) < 0)
            return -1;
        if (cJSON_IsNull(v)) continue; /* exposed but not published */
        if (!is_kind(v, DOCKER_JSON_ARRAY))
            return docker_json_wrong_kind(path, DOCKER_JSON_ARRAY, v, err, errlen);
        i = 0;
        cJSON_ArrayForEach(b, v)
        {
            snprintf(bpath, sizeof bpath, "%s[%d]", path, i++);
            if (decode_binding(b, bpath, port, proto, &c->bindings[c->nbindings++], err, errlen) <
                0)
                return -1;
        }
    }
    return 0;
}

/* An empty string counts as absent. */
static void drop_empty(char **s)
{
    if (*s && !**s) {
        free(*s);
        *s = NULL;
    }
}

/* NetworkSettings.IPAddress and NetworkSettings.Networks[*].IPAddress. */
static int decode_networks(const cJSON *root, struct docker_container *c, char *err, size_t errlen)
{
    const cJSON *ns, *nets, *v;
    char qk[DOCKER_JSON_SHOWN_MAX + 8], path[200];
    int n;
    if (docker_json_member(root, "NetworkSettings", DOCKER_JSON_OBJECT, "NetworkSettings", &ns, err,
                           errlen) < 0 ||
        docker_json_member_dup(ns, "IPAddress", "NetworkSettings.IPAddress", &c->ip_address, err,
                               errlen) < 0 ||
        docker_json_member(ns, "Networks", DOCKER_JSON_OBJECT, "NetworkSettings.Networks", &nets,
                           err, errlen) < 0)
        return -1;
    drop_empty(&c->ip_address);
    if (!nets || (n = cJSON_GetArraySize(nets)) <= 0) return 0;
    if (!(c->networks = calloc((size_t)n, sizeof *c->networks)))
        return docker_json_fail(err, errlen, "NetworkSettings.Networks: out of memory");
    cJSON_ArrayForEach(v, nets)
    {
        if (cJSON_IsNull(v)) continue;
        quote_key(v->string, qk, sizeof qk);
        snprintf(path, sizeof path, "NetworkSettings.Networks[%s]", qk);
        if (!is_kind(v, DOCKER_JSON_OBJECT))
            return docker_json_wrong_kind(path, DOCKER_JSON_OBJECT, v, err, errlen);
        struct docker_network *net = &c->networks[c->nnetworks++];
        if (!(net->name = strdup(v->string ? v->string : "")))
            return docker_json_fail(err, errlen, "%s: out of memory", path);
        strncat(path, ".IPAddress", sizeof path - strlen(path) - 1);
        if (docker_json_member_dup(v, "IPAddress", path, &net->ip_address, err, errlen) < 0)
            return -1;
        drop_empty(&net->ip_address);
    }
    return 0;
}

/* Copies obj.Id (path names it in errors) into *dst: required, and it must
 * pass docker_id_is_valid since callers put it into URLs and log lines. */
static int decode_id(const cJSON *obj, const char *path, char **dst, char *err, size_t errlen)
{
    const cJSON *id;
    char shown[DOCKER_JSON_SHOWN_MAX + 8];
    if (docker_json_member(obj, "Id", DOCKER_JSON_STRING, path, &id, err, errlen) < 0) return -1;
    if (!id) return docker_json_fail(err, errlen, "%s: missing", path);
    if (!docker_id_is_valid(id->valuestring)) {
        docker_json_describe(id, shown, sizeof shown);
        return docker_json_fail(err, errlen, "%s: expected a container ID, got %s", path, shown);
    }
    if (!(*dst = strdup(id->valuestring)))
        return docker_json_fail(err, errlen, "%s: out of memory", path);
    return 0;
}

static int decode_container(const cJSON *root, struct docker_container *c, char *err, size_t errlen)
{
    const cJSON *hostcfg, *state, *health;
    if (decode_id(root, "Id", &c->id, err, errlen) < 0) return -1;
    if (docker_json_member_dup(root, "Name", "Name", &c->name, err, errlen) < 0) return -1;
    if (c->name && c->name[0] == '/') memmove(c->name, c->name + 1, strlen(c->name));
    if (decode_config(root, c, err, errlen) < 0) return -1;

    if (docker_json_member(root, "HostConfig", DOCKER_JSON_OBJECT, "HostConfig", &hostcfg, err,
                           errlen) < 0 ||
        docker_json_member_dup(hostcfg, "NetworkMode", "HostConfig.NetworkMode", &c->network_mode,
                               err, errlen) < 0)
        return -1;
    c->host_network = c->network_mode && !strcmp(c->network_mode, "host");

    if (docker_json_member(root, "State", DOCKER_JSON_OBJECT, "State", &state, err, errlen) < 0 ||
        member_bool(state, "Running", "State.Running", &c->running, err, errlen) < 0 ||
        member_bool(state, "Paused", "State.Paused", &c->paused, err, errlen) < 0 ||
        docker_json_member(state, "Health", DOCKER_JSON_OBJECT, "State.Health", &health, err,
                           errlen) < 0 ||
        docker_json_member_dup(health, "Status", "State.Health.Status", &c->health_status, err,
                               errlen) < 0)
        return -1;
    if (decode_networks(root, c, err, errlen) < 0) return -1;
    return decode_ports(root, c, err, errlen);
}

int docker_container_decode(const char *json, size_t len, struct docker_container *out, char *err,
                            size_t errlen)
{
    cJSON *root;
    int rc;
    memset(out, 0, sizeof *out);
    if (!(root = docker_json_parse(json, len, "container inspect reply", err, errlen))) return -1;
    if (!cJSON_IsObject(root))
        rc = docker_json_wrong_kind("container inspect reply", DOCKER_JSON_OBJECT, root, err,
                                    errlen);
    else
        rc = decode_container(root, out, err, errlen);
    cJSON_Delete(root);
    if (rc < 0) docker_container_clear(out);
    return rc;
}

void docker_container_clear(struct docker_container *c)
{
    if (!c) return;
    free(c->id);
    free(c->name);
    free(c->image);
    for (size_t i = 0; i < c->nlabels; i++) {
        free(c->labels[i].key);
        free(c->labels[i].value);
    }
    free(c->labels);
    free(c->network_mode);
    free(c->exposed_tcp_ports);
    free(c->exposed_udp_ports);
    for (size_t i = 0; i < c->nenv; i++) {
        free(c->env[i].key);
        free(c->env[i].value);
    }
    free(c->env);
    free(c->ip_address);
    for (size_t i = 0; i < c->nnetworks; i++) {
        free(c->networks[i].name);
        free(c->networks[i].ip_address);
    }
    free(c->networks);
    for (size_t i = 0; i < c->nbindings; i++) {
        free(c->bindings[i].proto);
        free(c->bindings[i].host_ip);
    }
    free(c->bindings);
    free(c->stop_signal);
    free(c->health_status);
    memset(c, 0, sizeof *c);
}

const char *docker_container_label(const struct docker_container *c, const char *key)
{
    if (!c || !key) return NULL;
    for (size_t i = 0; i < c->nlabels; i++)
        if (!strcmp(c->labels[i].key, key)) return c->labels[i].value;
    return NULL;
}

int docker_container_published_port(const struct docker_container *c, int private_port,
                                    const char *proto, const char *advertise_host)
{
    const struct docker_port_binding *first = NULL;
    if (!c || !proto || private_port < 1 || private_port > 65535) return -1;
    if (c->host_network) {
        bool udp = !strcmp(proto, "udp");
        const int *ports = udp ? c->exposed_udp_ports : c->exposed_tcp_ports;
        size_t n = udp ? c->nexposed_udp : c->nexposed;
        if (n == 0) return private_port;
        for (size_t i = 0; i < n; i++)
            if (ports[i] == private_port) return private_port;
        return -1;
    }
    for (size_t i = 0; i < c->nbindings; i++) {
        const struct docker_port_binding *b = &c->bindings[i];
        if (b->private_port != private_port || strcmp(b->proto, proto)) continue;
        if (!*b->host_ip || !strcmp(b->host_ip, "0.0.0.0") || !strcmp(b->host_ip, "::") ||
            (advertise_host && !strcmp(b->host_ip, advertise_host)))
            return b->host_port;
        if (!first) first = b;
    }
    return first ? first->host_port : -1;
}

int docker_container_host_port(const struct docker_container *c, int private_port,
                               const char *advertise_host)
{
    return docker_container_published_port(c, private_port, "tcp", advertise_host);
}

const char *docker_container_internal_ip(const struct docker_container *c, const char *network)
{
    if (!c || c->host_network) return NULL;
    for (size_t i = 0; i < c->nnetworks; i++) {
        const struct docker_network *n = &c->networks[i];
        if (network ? !strcmp(n->name, network) : n->ip_address != NULL) return n->ip_address;
    }
    return network ? NULL : c->ip_address;
}

const char *docker_container_env(const struct docker_container *c, const char *key)
{
    const char *found = NULL;
    if (!c || !key) return NULL;
    for (size_t i = 0; i < c->nenv; i++)
        if (!strcmp(c->env[i].key, key)) found = c->env[i].value;
    return found;
}

bool docker_id_is_valid(const char *id)
{
    size_t i;
    if (!id) return false;
    for (i = 0; id[i]; i++) {
        char ch = id[i];
        if (i >= 128 || !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                          (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return i > 0;
}

void docker_ids_free(char **ids, size_t n)
{
    if (!ids) return;
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

int docker_list_ids(const char *json, size_t len, char ***ids_out, size_t *n_out, char *err,
                    size_t errlen)
{
    cJSON *root;
    const cJSON *item, *array;
    char path[32];
    char **ids = NULL;
    size_t n = 0;
    int total, rc = 0;

    *ids_out = NULL;
    *n_out = 0;
    if (!(root = docker_json_parse(json, len, "container list reply", err, errlen))) return -1;
    if (!cJSON_IsArray(root))
        rc = docker_json_wrong_kind("container list reply", DOCKER_JSON_ARRAY, root, err, errlen);
    else if ((total = cJSON_GetArraySize(root)) > 0 && !(ids = calloc((size_t)total, sizeof *ids)))
        rc = docker_json_fail(err, errlen, "container list reply: out of memory");
    array = rc < 0 ? NULL : root;
    cJSON_ArrayForEach(item, array)
    {
        snprintf(path, sizeof path, "[%zu]", n);
        if (!is_kind(item, DOCKER_JSON_OBJECT)) {
            rc = docker_json_wrong_kind(path, DOCKER_JSON_OBJECT, item, err, errlen);
            break;
        }
        snprintf(path, sizeof path, "[%zu].Id", n);
        if ((rc = decode_id(item, path, &ids[n], err, errlen)) < 0) break;
        n++;
    }
    cJSON_Delete(root);
    if (rc < 0) {
        docker_ids_free(ids, n);
        return -1;
    }
    *ids_out = ids;
    *n_out = n;
    return 0;
}
