#include "docker_model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_path.h"

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
                    struct json_ctx *jc)
{
    char num[8];
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
    return json_fail_text(jc, section, "a key like \"8000/tcp\"", key);
}

static int decode_labels(const cJSON *config, struct docker_container *c, struct json_ctx *jc)
{
    const cJSON *labels, *v;
    char path[160];
    int n;
    if (json_get(jc, config, "Config", "Labels", JSON_OBJECT, &labels) < 0)
        return -1;
    if (!labels || (n = cJSON_GetArraySize(labels)) <= 0) return 0;
    if (!(c->labels = calloc((size_t)n, sizeof *c->labels)))
        return json_failf(jc, NULL, "Config.Labels: out of memory");
    cJSON_ArrayForEach(v, labels)
    {
        struct label *l = &c->labels[c->nlabels];
        if (cJSON_IsNull(v)) continue;
        if (!json_is(v, JSON_STRING)) {
            json_path_quoted(path, sizeof path, "Config.Labels", v->string);
            return json_fail(jc, path, json_kind_name(JSON_STRING), v);
        }
        l->key = strdup(v->string ? v->string : "");
        l->value = strdup(v->valuestring);
        c->nlabels++;
        if (!l->key || !l->value)
            return json_failf(jc, NULL, "Config.Labels: out of memory");
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

static int decode_exposed(const cJSON *config, struct docker_container *c, struct json_ctx *jc)
{
    const cJSON *ports, *v;
    char proto[16];
    int n, port;
    if (json_get(jc, config, "Config", "ExposedPorts", JSON_OBJECT, &ports) < 0)
        return -1;
    if (!ports || (n = cJSON_GetArraySize(ports)) <= 0) return 0;
    if (!(c->exposed_tcp_ports = calloc((size_t)n, sizeof *c->exposed_tcp_ports)) ||
        !(c->exposed_udp_ports = calloc((size_t)n, sizeof *c->exposed_udp_ports)))
        return json_failf(jc, NULL, "Config.ExposedPorts: out of memory");
    cJSON_ArrayForEach(v, ports)
    {
        if (port_key(v, "Config.ExposedPorts", &port, proto, sizeof proto, jc) < 0)
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
static int decode_env(const cJSON *config, struct docker_container *c, struct json_ctx *jc)
{
    const cJSON *env, *v;
    char path[64];
    int n, i = 0;
    if (json_get(jc, config, "Config", "Env", JSON_ARRAY, &env) < 0)
        return -1;
    if (!env || (n = cJSON_GetArraySize(env)) <= 0) return 0;
    if (!(c->env = calloc((size_t)n, sizeof *c->env)))
        return json_failf(jc, NULL, "Config.Env: out of memory");
    cJSON_ArrayForEach(v, env)
    {
        snprintf(path, sizeof path, "Config.Env[%d]", i++);
        if (!json_is(v, JSON_STRING))
            return json_fail(jc, path, json_kind_name(JSON_STRING), v);
        const char *eq = strchr(v->valuestring, '=');
        if (!eq || eq == v->valuestring) continue;
        struct label *l = &c->env[c->nenv++];
        l->key = strndup(v->valuestring, (size_t)(eq - v->valuestring));
        l->value = strdup(eq + 1);
        if (!l->key || !l->value) return json_failf(jc, NULL, "%s: out of memory", path);
    }
    return 0;
}

static int decode_healthcheck(const cJSON *config, struct docker_container *c, struct json_ctx *jc)
{
    const cJSON *hc, *test, *first;
    if (json_get(jc, config, "Config", "Healthcheck", JSON_OBJECT, &hc) < 0 ||
        json_get(jc, hc, "Config.Healthcheck", "Test", JSON_ARRAY, &test) < 0)
        return -1;
    if (!test || !(first = cJSON_GetArrayItem(test, 0))) return 0;
    if (!json_is(first, JSON_STRING))
        return json_fail(jc, "Config.Healthcheck.Test[0]", json_kind_name(JSON_STRING), first);
    c->has_healthcheck = strcmp(first->valuestring, "NONE") != 0;
    return 0;
}

static int decode_config(const cJSON *root, struct docker_container *c, struct json_ctx *jc)
{
    const cJSON *config;
    if (json_get(jc, root, NULL, "Config", JSON_OBJECT, &config) <
            0 ||
        json_get_string(jc, config, "Config", "Image", &c->image) < 0 ||
        json_get_string(jc, config, "Config", "StopSignal", &c->stop_signal) < 0 ||
        decode_labels(config, c, jc) < 0 || decode_exposed(config, c, jc) < 0 ||
        decode_env(config, c, jc) < 0 || decode_healthcheck(config, c, jc) < 0)
        return -1;
    if (c->stop_signal && !*c->stop_signal) {
        free(c->stop_signal);
        c->stop_signal = NULL;
    }
    return 0;
}

/* One element of NetworkSettings.Ports["<key>"]: {"HostIp": "...", "HostPort": "32768"}. */
static int decode_binding(const cJSON *b, const char *path, int private_port, const char *proto,
                          struct docker_port_binding *out, struct json_ctx *jc)
{
    char sub[256], shown[JSON_SHOWN_MAX + 8];
    const cJSON *ip, *hp;
    if (!json_is(b, JSON_OBJECT))
        return json_fail(jc, path, json_kind_name(JSON_OBJECT), b);
    if (json_get(jc, b, path, "HostIp", JSON_STRING, &ip) < 0) return -1;
    snprintf(sub, sizeof sub, "%s.HostPort", path);
    hp = cJSON_GetObjectItemCaseSensitive(b, "HostPort");
    /* The API sends a string; a number is accepted as long as it is a port. */
    if (json_is(hp, JSON_STRING))
        out->host_port = port_from_text(hp->valuestring);
    else if (json_is(hp, JSON_NUMBER) && hp->valuedouble >= 1 && hp->valuedouble <= 65535 &&
             floor(hp->valuedouble) == hp->valuedouble)
        out->host_port = (int)hp->valuedouble;
    else
        out->host_port = -1;
    if (out->host_port < 0) {
        json_describe(hp, shown, sizeof shown);
        return json_failf(jc, NULL, "%s: expected a port number, got %s", sub, shown);
    }
    out->private_port = private_port;
    out->proto = strdup(proto);
    out->host_ip = strdup(ip ? ip->valuestring : "");
    if (!out->proto || !out->host_ip)
        return json_failf(jc, NULL, "%s: out of memory", path);
    return 0;
}

static int decode_ports(const cJSON *root, struct docker_container *c, struct json_ctx *jc)
{
    const cJSON *ns, *ports, *v, *b;
    char proto[16], path[200], bpath[220];
    size_t total = 0;
    int port, i;
    if (json_get(jc, root, NULL, "NetworkSettings", JSON_OBJECT, &ns) < 0 ||
        json_get(jc, ns, "NetworkSettings", "Ports", JSON_OBJECT, &ports) < 0)
        return -1;
    if (!ports) return 0;
    cJSON_ArrayForEach(v, ports)
    {
        if (cJSON_IsArray(v)) total += (size_t)cJSON_GetArraySize(v);
    }
    if (total && !(c->bindings = calloc(total, sizeof *c->bindings)))
        return json_failf(jc, NULL, "NetworkSettings.Ports: out of memory");
    cJSON_ArrayForEach(v, ports)
    {
        json_path_quoted(path, sizeof path, "NetworkSettings.Ports", v->string);
        if (port_key(v, "NetworkSettings.Ports", &port, proto, sizeof proto, jc) < 0)
            return -1;
        if (cJSON_IsNull(v)) continue; /* exposed but not published */
        if (!json_is(v, JSON_ARRAY))
            return json_fail(jc, path, json_kind_name(JSON_ARRAY), v);
        i = 0;
        cJSON_ArrayForEach(b, v)
        {
            snprintf(bpath, sizeof bpath, "%s[%d]", path, i++);
            if (decode_binding(b, bpath, port, proto, &c->bindings[c->nbindings++], jc) <
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
static int decode_networks(const cJSON *root, struct docker_container *c, struct json_ctx *jc)
{
    const cJSON *ns, *nets, *v;
    char path[200];
    int n;
    if (json_get(jc, root, NULL, "NetworkSettings", JSON_OBJECT, &ns) < 0 ||
        json_get_string(jc, ns, "NetworkSettings", "IPAddress", &c->ip_address) < 0 ||
        json_get(jc, ns, "NetworkSettings", "Networks", JSON_OBJECT, &nets) < 0)
        return -1;
    drop_empty(&c->ip_address);
    if (!nets || (n = cJSON_GetArraySize(nets)) <= 0) return 0;
    if (!(c->networks = calloc((size_t)n, sizeof *c->networks)))
        return json_failf(jc, NULL, "NetworkSettings.Networks: out of memory");
    cJSON_ArrayForEach(v, nets)
    {
        if (cJSON_IsNull(v)) continue;
        json_path_quoted(path, sizeof path, "NetworkSettings.Networks", v->string);
        if (!json_is(v, JSON_OBJECT))
            return json_fail(jc, path, json_kind_name(JSON_OBJECT), v);
        struct docker_network *net = &c->networks[c->nnetworks++];
        if (!(net->name = strdup(v->string ? v->string : "")))
            return json_failf(jc, NULL, "%s: out of memory", path);
        if (json_get_string(jc, v, path, "IPAddress", &net->ip_address) < 0) return -1;
        drop_empty(&net->ip_address);
    }
    return 0;
}

/* Copies obj.Id (prefix.Id in errors) into *dst: required, and it must
 * pass docker_id_is_valid since callers put it into URLs and log lines. */
static int decode_id(const cJSON *obj, const char *prefix, char **dst, struct json_ctx *jc)
{
    const cJSON *id = NULL;
    char shown[JSON_SHOWN_MAX + 8], path[64];
    json_path_key(path, sizeof path, prefix, "Id");
    if (json_get(jc, obj, prefix, "Id", JSON_STRING, &id) < 0) return -1;
    if (!id) return json_failf(jc, NULL, "%s: missing", path);
    if (!docker_id_is_valid(id->valuestring)) {
        json_describe(id, shown, sizeof shown);
        return json_failf(jc, NULL, "%s: expected a container ID, got %s", path, shown);
    }
    if (!(*dst = strdup(id->valuestring)))
        return json_failf(jc, NULL, "%s: out of memory", path);
    return 0;
}

static int decode_container(const cJSON *root, struct docker_container *c, struct json_ctx *jc)
{
    const cJSON *hostcfg, *state, *health;
    if (decode_id(root, NULL, &c->id, jc) < 0) return -1;
    if (json_get_string(jc, root, NULL, "Name", &c->name) < 0) return -1;
    if (c->name && c->name[0] == '/') memmove(c->name, c->name + 1, strlen(c->name));
    if (decode_config(root, c, jc) < 0) return -1;

    if (json_get(jc, root, NULL, "HostConfig", JSON_OBJECT, &hostcfg) < 0 ||
        json_get_string(jc, hostcfg, "HostConfig", "NetworkMode", &c->network_mode) < 0)
        return -1;
    c->host_network = c->network_mode && !strcmp(c->network_mode, "host");

    if (json_get(jc, root, NULL, "State", JSON_OBJECT, &state) < 0 ||
        json_get_bool(jc, state, "State", "Running", &c->running) < 0 ||
        json_get_bool(jc, state, "State", "Paused", &c->paused) < 0 ||
        json_get(jc, state, "State", "Health", JSON_OBJECT, &health) < 0 ||
        json_get_string(jc, health, "State.Health", "Status", &c->health_status) < 0)
        return -1;
    if (decode_networks(root, c, jc) < 0) return -1;
    return decode_ports(root, c, jc);
}

int docker_container_decode(const char *json, size_t len, struct docker_container *out, char *err,
                            size_t errlen)
{
    struct json_ctx ctx = {.err = err, .errlen = errlen}, *jc = &ctx;
    cJSON *root;
    int rc;
    memset(out, 0, sizeof *out);
    if (!(root = json_parse(jc, json, len, "container inspect reply"))) return -1;
    if (!cJSON_IsObject(root))
        rc = json_fail(jc, "container inspect reply", json_kind_name(JSON_OBJECT), root);
    else
        rc = decode_container(root, out, jc);
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

bool docker_container_ready(const struct docker_container *c, char *why, size_t whylen)
{
    const char *reason = NULL;
    if (!c->running)
        reason = "not running";
    else if (c->paused)
        reason = "paused";
    else if (c->has_healthcheck && (!c->health_status || strcmp(c->health_status, "healthy") != 0))
        reason = "not healthy";
    if (!reason) return true;
    if (why && whylen) {
        if (c->running && !c->paused)
            snprintf(why, whylen, "%s (%.40s)", reason,
                     c->health_status ? c->health_status : "no health status yet");
        else
            snprintf(why, whylen, "%s", reason);
    }
    return false;
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
    struct json_ctx ctx = {.err = err, .errlen = errlen}, *jc = &ctx;
    cJSON *root;
    const cJSON *item, *array;
    char path[32];
    char **ids = NULL;
    size_t n = 0;
    int total, rc = 0;

    *ids_out = NULL;
    *n_out = 0;
    if (!(root = json_parse(jc, json, len, "container list reply"))) return -1;
    if (!cJSON_IsArray(root))
        rc = json_fail(jc, "container list reply", json_kind_name(JSON_ARRAY), root);
    else if ((total = cJSON_GetArraySize(root)) > 0 && !(ids = calloc((size_t)total, sizeof *ids)))
        rc = json_failf(jc, NULL, "container list reply: out of memory");
    array = rc < 0 ? NULL : root;
    cJSON_ArrayForEach(item, array)
    {
        snprintf(path, sizeof path, "[%zu]", n);
        if (!json_is(item, JSON_OBJECT)) {
            rc = json_fail(jc, path, json_kind_name(JSON_OBJECT), item);
            break;
        }
        if ((rc = decode_id(item, path, &ids[n], jc)) < 0) break;
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
