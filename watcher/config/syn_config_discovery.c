/*
 * services.<name>.discovery: the method and every option of it, validated
 * and parsed into plain fields.
 */
#include "syn_config_discovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "dns_resolver.h"
#include "syn_config_json.h"

static const char *const filter_keys[] = {"label", "value", "condition", NULL};

/* Synapse watchers smartdock does not implement: a clearer error than "unknown". */
static const char *const synapse_only_methods[] = {
    "ec2tag", "marathon", "aws_ecs", "file", NULL,
};

static int parse_filter(struct json_ctx *c, const cJSON *v, const char *p,
                        struct syn_label_filter *f)
{
    char q[JSON_PATH_MAX];
    if (!cJSON_IsObject(v))
        return json_fail(c, p, "an object {\"label\", \"value\", \"condition\"}", v);
    if (syn_check_keys(c, v, p, filter_keys, NULL) < 0) return -1;
    if (json_get_text(c, v, p, "label", &f->label) < 0) return -1;
    if (!f->label || !*f->label) {
        json_path_key(q, sizeof q, p, "label");
        return json_fail(c, q, "a non-empty string", json_lookup(v, "label"));
    }
    if (json_get_text(c, v, p, "value", &f->value) < 0) return -1;
    if (!f->value) {
        json_path_key(q, sizeof q, p, "value");
        return json_fail(c, q, "a string", json_lookup(v, "value"));
    }
    const cJSON *cond = json_lookup(v, "condition");
    json_path_key(q, sizeof q, p, "condition");
    if (cJSON_IsString(cond) && strcmp(cond->valuestring, "equals") == 0)
        f->condition = SYN_LABEL_EQUALS;
    else if (cJSON_IsString(cond) && strcmp(cond->valuestring, "not-equals") == 0)
        f->condition = SYN_LABEL_NOT_EQUALS;
    else
        return json_fail(c, q, "\"equals\" or \"not-equals\"", cond);
    return 0;
}

static int push_filter(struct json_ctx *c, struct syn_discovery *d, const cJSON *v, const char *p)
{
    struct syn_label_filter *nv =
        realloc(d->label_filters, (d->nlabel_filters + 1) * sizeof *d->label_filters);
    if (!nv) return json_oom(c);
    d->label_filters = nv;
    struct syn_label_filter *f = &d->label_filters[d->nlabel_filters++];
    memset(f, 0, sizeof *f);
    return parse_filter(c, v, p, f);
}

/* label_filters (an array) and the deprecated singular label_filter (one object). */
static int parse_filters(struct json_ctx *c, const cJSON *obj, const char *path,
                         struct syn_discovery *d)
{
    char p[JSON_PATH_MAX], pi[JSON_PATH_MAX];
    const cJSON *one = json_lookup(obj, "label_filter");
    if (one && !cJSON_IsNull(one)) {
        json_path_key(p, sizeof p, path, "label_filter");
        if (json_warnf(c, NULL, "%s is deprecated; use label_filters, an array", p) < 0) return -1;
        if (push_filter(c, d, one, p) < 0) return -1;
    }
    const cJSON *many = json_lookup(obj, "label_filters");
    if (!many || cJSON_IsNull(many)) return 0;
    json_path_key(p, sizeof p, path, "label_filters");
    if (!cJSON_IsArray(many)) return json_fail(c, p, "an array of label filters", many);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, many)
    {
        json_path_index(pi, sizeof pi, p, i++);
        if (push_filter(c, d, it, pi) < 0) return -1;
    }
    return 0;
}

/*
 * Splits "host:port" or "[v6]:port" into host (written to hbuf) and port.
 * Without a port, *port is left alone when port_optional, else it fails.
 */
static bool split_host_port(const char *s, bool port_optional, char *hbuf, size_t hlen, int *port)
{
    const char *colon;
    size_t hn;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close) return false;
        hn = (size_t)(close - s - 1);
        if (hn >= hlen) return false;
        memcpy(hbuf, s + 1, hn);
        colon = close[1] == ':' ? close + 1 : NULL;
        if (!colon && close[1]) return false;
    } else {
        colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon) return false; /* bare IPv6 needs brackets */
        hn = colon ? (size_t)(colon - s) : strlen(s);
        if (hn >= hlen) return false;
        memcpy(hbuf, s, hn);
    }
    hbuf[hn] = '\0';
    if (!backend_host_is_valid(hbuf)) return false;
    if (!colon) return port_optional;
    char *end;
    long n = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || n < 1 || n > 65535) return false;
    *port = (int)n;
    return true;
}

static int parse_path(struct json_ctx *c, const cJSON *obj, const char *path, const char *method,
                      char **out)
{
    char p[JSON_PATH_MAX];
    json_path_key(p, sizeof p, path, "path");
    if (!json_lookup(obj, "path"))
        return json_failf(c, NULL, "%s: missing (required for %s)", p, method);
    if (syn_get_word(c, obj, path, "path", out) < 0) return -1;
    if (!*out || (*out)[0] != '/')
        return json_fail(c, p, "a path starting with '/'", json_lookup(obj, "path"));
    return 0;
}

/*
 * One "host:port[/chroot]" entry into d->hosts (as "host:port") and d->chroot.
 * A chroot, as in a ZooKeeper connection string, is for the whole ensemble:
 * every entry that gives one must give the same.
 */
static int push_zk_host(struct json_ctx *c, const char *entry, const cJSON *at, const char *p,
                        struct syn_discovery *d)
{
    char hostport[300], host[256];
    const char *slash = strchr(entry, '/');
    size_t n = slash ? (size_t)(slash - entry) : strlen(entry);
    int port;
    if (n >= sizeof hostport) return json_fail(c, p, "\"host:port\"", at);
    memcpy(hostport, entry, n);
    hostport[n] = '\0';
    if (!split_host_port(hostport, false, host, sizeof host, &port))
        return json_fail_text(c, p, "\"host:port\" or \"host:port/chroot\"", entry);
    if (slash) {
        if (slash[1] == '\0' || strstr(slash, "//") || !json_text_ok(slash) || strpbrk(slash, " ,"))
            return json_fail_text(c, p, "a chroot path like \"/chroot\"", slash);
        if (d->zk_chroot && strcmp(d->zk_chroot, slash) != 0)
            return json_failf(c, at, "%s: chroot \"%s\" differs from \"%s\" (one per ensemble)", p,
                              slash, d->zk_chroot);
        if (!d->zk_chroot && !(d->zk_chroot = strdup(slash))) return json_oom(c);
    }
    return strlist_push(&d->hosts, hostport) < 0 ? json_oom(c) : 0;
}

/* hosts: a list of "host:port[/chroot]", or one string of them joined by ','
 * (a connection string, as Synapse's README writes it). */
static int parse_zk_hosts(struct json_ctx *c, const cJSON *obj, const char *path,
                          struct syn_discovery *d)
{
    char p[JSON_PATH_MAX], pi[JSON_PATH_MAX];
    json_path_key(p, sizeof p, path, "hosts");
    const cJSON *hosts = json_lookup(obj, "hosts"), *it;
    if (cJSON_IsString(hosts) && *hosts->valuestring) {
        char *copy = strdup(hosts->valuestring), *save = NULL;
        if (!copy) return json_oom(c);
        int r = 0;
        for (char *tok = strtok_r(copy, ",", &save); tok && r == 0;
             tok = strtok_r(NULL, ",", &save))
            r = push_zk_host(c, tok, hosts, p, d);
        free(copy);
        if (r < 0) return -1;
        if (d->hosts.n == 0) return json_fail(c, p, "\"host:port[,host:port...]\"", hosts);
        return 0;
    }
    if (!cJSON_IsArray(hosts) || cJSON_GetArraySize(hosts) == 0)
        return json_fail(c, p, "a non-empty array of \"host:port\" strings, or one such string",
                         hosts);
    size_t i = 0;
    cJSON_ArrayForEach(it, hosts)
    {
        json_path_index(pi, sizeof pi, p, i++);
        if (!cJSON_IsString(it)) return json_fail(c, pi, "a \"host:port\" string", it);
        if (push_zk_host(c, it->valuestring, it, pi, d) < 0) return -1;
    }
    return 0;
}

/* decode: {method: nerve|serverset, endpoint_name}. As in Synapse, a decode
 * without a valid method is an error; endpoint_name picks a serverset's
 * additionalEndpoints entry instead of its serviceEndpoint. */
static int parse_decode(struct json_ctx *c, const cJSON *obj, const char *path,
                        struct syn_discovery *d)
{
    static const char *const keys[] = {"method", "endpoint_name", NULL};
    char p[JSON_PATH_MAX], q[JSON_PATH_MAX];
    const cJSON *dec = json_lookup(obj, "decode");
    if (!dec || cJSON_IsNull(dec)) return 0;
    json_path_key(p, sizeof p, path, "decode");
    if (!cJSON_IsObject(dec))
        return json_fail(c, p, "an object {\"method\": \"nerve\" or \"serverset\"}", dec);
    if (syn_check_keys(c, dec, p, keys, NULL) < 0) return -1;
    const cJSON *m = json_lookup(dec, "method");
    json_path_key(q, sizeof q, p, "method");
    if (cJSON_IsString(m) && strcmp(m->valuestring, "nerve") == 0)
        d->decode = SYN_DECODE_NERVE;
    else if (cJSON_IsString(m) && strcmp(m->valuestring, "serverset") == 0)
        d->decode = SYN_DECODE_SERVERSET;
    else
        return json_fail(c, q, "\"nerve\" or \"serverset\"", m);
    if (json_get_text(c, dec, p, "endpoint_name", &d->endpoint_name) < 0) return -1;
    json_path_key(q, sizeof q, p, "endpoint_name");
    if (d->endpoint_name && !*d->endpoint_name)
        return json_fail(c, q, "a non-empty string", json_lookup(dec, "endpoint_name"));
    if (d->endpoint_name && d->decode == SYN_DECODE_NERVE &&
        json_warnf(c, NULL, "%s: ignored, it is read only with method \"serverset\"", q) < 0)
        return -1;
    return 0;
}

/* generator_config_path: "disabled", or the znode whose data holds the
 * per-service haproxy settings (default: the data of path). */
static int parse_generator_config_path(struct json_ctx *c, const cJSON *obj, const char *path,
                                       struct syn_discovery *d)
{
    char p[JSON_PATH_MAX];
    if (syn_get_word(c, obj, path, "generator_config_path", &d->generator_config_path) < 0)
        return -1;
    if (!d->generator_config_path) return 0;
    if (strcmp(d->generator_config_path, "disabled") == 0) {
        free(d->generator_config_path);
        d->generator_config_path = NULL;
        d->generator_config_disabled = true;
        return 0;
    }
    json_path_key(p, sizeof p, path, "generator_config_path");
    if (d->generator_config_path[0] != '/')
        return json_fail(c, p, "\"disabled\" or a path starting with '/'",
                         json_lookup(obj, "generator_config_path"));
    return 0;
}

/* The ZooKeeper side of every zookeeper method: hosts, path, auth_file,
 * session_timeout_ms, and discovery_jitter where watches are set. */
static int parse_zk_side(struct json_ctx *c, const cJSON *obj, const char *path,
                         struct syn_discovery *d)
{
    char p[JSON_PATH_MAX];
    if (parse_zk_hosts(c, obj, path, d) < 0) return -1;
    /* smartdock's extension: digest credentials for reads where ACLs restrict them. */
    if (json_get_string(c, obj, path, "auth_file", &d->auth_file) < 0) return -1;
    if (d->auth_file && !*d->auth_file) {
        json_path_key(p, sizeof p, path, "auth_file");
        return json_fail(c, p, "a file name", json_lookup(obj, "auth_file"));
    }
    /* Synapse has no key for it (its session lasts 36 s); the registrator's name. */
    if (syn_get_int(c, obj, path, "session_timeout_ms", 1000, 600000,
                    SYN_ZK_DEFAULT_SESSION_TIMEOUT_MS, &d->zk_session_timeout_ms) < 0)
        return -1;
    if (d->zk_poll) {
        /* Synapse: a number >= 0; 0 polls as often as its loop turns (0.5 s). */
        if (syn_get_number(c, obj, path, "polling_interval_sec", 0, 86400,
                           SYN_ZK_DEFAULT_POLLING_INTERVAL, &d->polling_interval) < 0)
            return -1;
    } else {
        double jitter;
        json_path_key(p, sizeof p, path, "discovery_jitter");
        const cJSON *jv = json_member(obj, "discovery_jitter");
        char *end = NULL;
        if (cJSON_IsString(jv)) strtod(jv->valuestring, &end);
        if (jv && !cJSON_IsNumber(jv) && !(end && end != jv->valuestring && !*end))
            return json_fail(c, p, "a number of seconds 0..120", jv);
        if (syn_get_number(c, obj, path, "discovery_jitter", -1e300, 1e300, 0, &jitter) < 0)
            return -1;
        if (jitter < 0 || jitter > SYN_ZK_MAX_DISCOVERY_JITTER) {
            /* Synapse logs it and goes on without jitter; so does smartdock. */
            if (json_warnf(c, json_lookup(obj, "discovery_jitter"),
                           "%s: %g is outside 0..%g seconds, ignored (as Synapse does)", p, jitter,
                           SYN_ZK_MAX_DISCOVERY_JITTER) < 0)
                return -1;
            jitter = 0;
        }
        d->discovery_jitter = jitter;
    }
    return parse_path(c, obj, path, d->method, &d->path);
}

/* nameserver: one address or a list; "ip", "ip:port" or "[ipv6]:port" each
 * (Synapse takes addresses only; a port is smartdock's extension). Stored
 * as c-ares reads them: "ip[:port]" or "[ipv6]:port". */
static int parse_nameservers(struct json_ctx *c, const cJSON *obj, const char *path,
                             struct syn_discovery *d)
{
    char p[JSON_PATH_MAX], pi[JSON_PATH_MAX], host[256];
    json_path_key(p, sizeof p, path, "nameserver");
    const cJSON *v = json_member(obj, "nameserver");
    if (!v) return 0;
    if (!cJSON_IsString(v) && !cJSON_IsArray(v))
        return json_fail(c, p, "an IP address or a list of them", v);
    for (size_t i = 0; i < (cJSON_IsString(v) ? 1u : (size_t)cJSON_GetArraySize(v)); i++) {
        const cJSON *e = cJSON_IsString(v) ? v : cJSON_GetArrayItem(v, (int)i);
        if (cJSON_IsString(v))
            snprintf(pi, sizeof pi, "%s", p);
        else
            json_path_index(pi, sizeof pi, p, i);
        int port = 0;
        bool ok = cJSON_IsString(e) && !strchr(e->valuestring, ' ');
        const char *s = ok ? e->valuestring : "";
        /* A bare IPv6 address has colons but no brackets. */
        if (ok && *s != '[' && strchr(s, ':') != strrchr(s, ':')) {
            ok = strlen(s) < sizeof host;
            if (ok) snprintf(host, sizeof host, "%s", s);
        } else if (ok) {
            ok = split_host_port(s, true, host, sizeof host, &port);
        }
        ok = ok && dns_is_ip_address(host);
        if (!ok) return json_fail(c, pi, "an IP address, \"ip:port\" or \"[ipv6]:port\"", e);
        bool v6 = strchr(host, ':') != NULL;
        int r = v6     ? strlist_pushf(&d->nameservers, "[%s]:%d", host, port ? port : 53)
                : port ? strlist_pushf(&d->nameservers, "%s:%d", host, port)
                       : strlist_push(&d->nameservers, host);
        if (r < 0) return json_oom(c);
    }
    if (d->nameservers.n == 0) return json_fail(c, p, "an IP address or a list of them", v);
    return 0;
}

/* nameserver and check_interval, for dns and zookeeper_dns(_poll). */
static int parse_dns_side(struct json_ctx *c, const cJSON *obj, const char *path,
                          struct syn_discovery *d)
{
    if (parse_nameservers(c, obj, path, d) < 0) return -1;
    return syn_get_number(c, obj, path, "check_interval", 0.001, 86400,
                          SYN_DNS_DEFAULT_CHECK_INTERVAL, &d->check_interval);
}

/* zookeeper, zookeeper_poll, zookeeper_dns, zookeeper_dns_poll: one
 * parser, keys as Synapse hands them to each watcher. */
static int parse_zookeeper(struct json_ctx *c, const cJSON *obj, const char *path,
                           struct syn_discovery *d, bool dns)
{
    static const char *const common[] = {"method",
                                         "path",
                                         "hosts",
                                         "label_filters",
                                         "label_filter",
                                         "auth_file",
                                         "session_timeout_ms"};
    const char *keys[sizeof common / sizeof *common + 5];
    size_t n = 0;
    for (size_t i = 0; i < sizeof common / sizeof *common; i++)
        keys[n++] = common[i];
    keys[n++] = d->zk_poll ? "polling_interval_sec" : "discovery_jitter";
    if (dns) {
        keys[n++] = "nameserver";
        keys[n++] = "check_interval";
    }
    bool plain = !dns && !d->zk_poll; /* method "zookeeper": decode is read */
    if (plain) keys[n++] = "decode";
    /* Every ZooKeeper method of Synapse reads the settings znode. */
    keys[n++] = "generator_config_path";
    keys[n] = NULL;
    static const char *const unsupported[] = {"decode", "retry_policy", NULL};
    static const char *const poll_unsupported[] = {"decode", "retry_policy", "discovery_jitter",
                                                   NULL};
    static const char *const zk_unsupported[] = {"retry_policy", NULL};
    const char *const *unsup = plain ? zk_unsupported : d->zk_poll ? poll_unsupported : unsupported;
    if (syn_check_keys(c, obj, path, keys, unsup) < 0) return -1;
    if (plain && parse_decode(c, obj, path, d) < 0) return -1;
    if (parse_generator_config_path(c, obj, path, d) < 0) return -1;
    if (parse_zk_side(c, obj, path, d) < 0) return -1;
    return dns ? parse_dns_side(c, obj, path, d) : 0;
}

/* One "dns" server: {name, host, port, labels}, as a backend template. */
static int parse_dns_server(struct json_ctx *c, const cJSON *v, const char *p, struct backend *b)
{
    static const char *const keys[] = {"name", "host", "port", "labels", NULL};
    char q[JSON_PATH_MAX], ql[JSON_PATH_MAX];
    /* Synapse's own config/hostheader_test.json lists bare names, which its
     * DnsWatcher reads as hashes and turns into no backend at all. */
    if (cJSON_IsString(v))
        return json_failf(c, v,
                          "%s: expected an object {\"name\", \"host\", \"port\", \"labels\"}, "
                          "got \"%.64s\" (a bare name has no port; Synapse serves nothing for it)",
                          p, v->valuestring);
    if (!cJSON_IsObject(v))
        return json_fail(c, p, "an object {\"name\", \"host\", \"port\", \"labels\"}", v);
    if (syn_check_keys(c, v, p, keys, NULL) < 0) return -1;
    if (json_get_text(c, v, p, "name", &b->name) < 0) return -1;
    if (b->name && !*b->name) {
        free(b->name);
        b->name = NULL;
    }
    json_path_key(q, sizeof q, p, "host");
    if (!json_lookup(v, "host")) return json_failf(c, NULL, "%s: missing (required for dns)", q);
    if (syn_get_word(c, v, p, "host", &b->host) < 0) return -1;
    if (!backend_host_is_valid(b->host))
        return json_fail(c, q, "a host name or IP address", json_lookup(v, "host"));
    json_path_key(q, sizeof q, p, "port");
    if (!json_lookup(v, "port")) return json_failf(c, NULL, "%s: missing (required for dns)", q);
    if (syn_get_int(c, v, p, "port", 1, 65535, 0, &b->port) < 0) return -1;
    const cJSON *labels = json_member(v, "labels"), *it;
    if (!labels) return 0;
    json_path_key(q, sizeof q, p, "labels");
    if (!cJSON_IsObject(labels)) return json_fail(c, q, "an object of string values", labels);
    cJSON_ArrayForEach(it, labels)
    {
        json_path_quoted(ql, sizeof ql, q, it->string);
        if (!cJSON_IsString(it) || !backend_text_is_safe(it->valuestring))
            return json_fail(c, ql, "a string without control characters", it);
        if (!backend_text_is_safe(it->string))
            return json_fail_text(c, ql, "a label name without control characters", it->string);
        if (backend_set_label(b, it->string, it->valuestring) < 0) return json_oom(c);
    }
    return 0;
}

static int parse_dns(struct json_ctx *c, const cJSON *obj, const char *path,
                     struct syn_discovery *d)
{
    static const char *const keys[] = {
        "method", "servers", "nameserver", "check_interval", "label_filters", "label_filter", NULL};
    char p[JSON_PATH_MAX], pi[JSON_PATH_MAX];
    if (syn_check_keys(c, obj, path, keys, NULL) < 0) return -1;
    json_path_key(p, sizeof p, path, "servers");
    const cJSON *servers = json_lookup(obj, "servers"), *it;
    if (!cJSON_IsArray(servers) || cJSON_GetArraySize(servers) == 0)
        return json_fail(c, p, "a non-empty array of servers {\"name\", \"host\", \"port\"}",
                         servers);
    size_t i = 0;
    cJSON_ArrayForEach(it, servers)
    {
        struct backend b = {0};
        b.weight = BACKEND_WEIGHT_UNSET;
        json_path_index(pi, sizeof pi, p, i++);
        if (parse_dns_server(c, it, pi, &b) < 0 || backend_list_push(&d->dns_servers, &b) < 0) {
            backend_clear(&b);
            return c->err && *c->err ? -1 : json_oom(c);
        }
    }
    return parse_dns_side(c, obj, path, d);
}

static int parse_docker_server(struct json_ctx *c, const cJSON *v, const char *p,
                               struct syn_docker_server *s)
{
    static const char *const keys[] = {"name", "host", "port", "socket", NULL};
    char q[JSON_PATH_MAX];
    if (!cJSON_IsObject(v)) return json_fail(c, p, "an object {\"name\", \"host\", \"port\"}", v);
    if (syn_check_keys(c, v, p, keys, NULL) < 0) return -1;
    if (json_get_text(c, v, p, "name", &s->name) < 0) return -1;
    if (syn_get_word(c, v, p, "host", &s->host) < 0) return -1;
    if (syn_get_int(c, v, p, "port", 1, 65535, SYN_DOCKER_DEFAULT_PORT, &s->port) < 0) return -1;
    if (syn_get_word(c, v, p, "socket", &s->socket) < 0) return -1;
    if (s->host && !backend_host_is_valid(s->host)) {
        json_path_key(q, sizeof q, p, "host");
        return json_fail(c, q, "a hostname or IP address", json_lookup(v, "host"));
    }
    if (s->socket && s->socket[0] != '/') {
        json_path_key(q, sizeof q, p, "socket");
        return json_fail(c, q, "an absolute path", json_lookup(v, "socket"));
    }
    if (!s->host && !s->socket) return json_failf(c, NULL, "%s: needs \"host\" or \"socket\"", p);
    if (!s->name) s->name = strdup(s->host ? s->host : s->socket);
    return s->name ? 0 : json_oom(c);
}

static int parse_docker(struct json_ctx *c, const cJSON *obj, const char *path,
                        struct syn_discovery *d)
{
    static const char *const keys[] = {
        "method",         "servers",       "image_name",   "container_port",
        "check_interval", "label_filters", "label_filter", NULL};
    char p[JSON_PATH_MAX], pi[JSON_PATH_MAX];
    if (syn_check_keys(c, obj, path, keys, NULL) < 0) return -1;
    json_path_key(p, sizeof p, path, "servers");
    const cJSON *servers = json_lookup(obj, "servers");
    if (!cJSON_IsArray(servers) || cJSON_GetArraySize(servers) == 0)
        return json_fail(c, p, "a non-empty array of docker servers", servers);
    size_t n = (size_t)cJSON_GetArraySize(servers);
    d->servers = calloc(n, sizeof *d->servers);
    if (!d->servers) return json_oom(c);
    const cJSON *it;
    cJSON_ArrayForEach(it, servers)
    {
        json_path_index(pi, sizeof pi, p, d->nservers);
        if (parse_docker_server(c, it, pi, &d->servers[d->nservers++]) < 0) return -1;
    }

    json_path_key(p, sizeof p, path, "image_name");
    if (json_get_text(c, obj, path, "image_name", &d->image_name) < 0) return -1;
    if (!d->image_name || !*d->image_name)
        return json_fail(c, p, "a non-empty string", json_lookup(obj, "image_name"));
    json_path_key(p, sizeof p, path, "container_port");
    if (!json_lookup(obj, "container_port"))
        return json_failf(c, NULL, "%s: missing (required for docker)", p);
    if (syn_get_int(c, obj, path, "container_port", 1, 65535, 0, &d->container_port) < 0) return -1;
    return syn_get_number(c, obj, path, "check_interval", 0.001, 86400, 15, &d->check_interval);
}

static bool nonempty_text(const char *s)
{
    return *s && json_text_ok(s);
}

/* Both keys of a pair, or neither: the error names the one that is missing. */
static int require_pair(struct json_ctx *c, const char *path, const char *ka, const char *a,
                        const char *kb, const char *b)
{
    char p[JSON_PATH_MAX];
    if (!a == !b) return 0;
    json_path_key(p, sizeof p, path, a ? kb : ka);
    return json_failf(c, NULL, "%s: missing (%s and %s go together)", p, ka, kb);
}

/* etcd authentication and TLS: username/password, ca_file, cert_file/key_file. */
static int parse_etcd_credentials(struct json_ctx *c, const cJSON *obj, const char *path,
                                  struct syn_discovery *d)
{
    static const char *const want = "a non-empty string without control characters";
    if (json_get_string_if(c, obj, path, "username", nonempty_text, want, &d->etcd_username) < 0 ||
        json_get_string_if(c, obj, path, "password", nonempty_text, want, &d->etcd_password) < 0 ||
        json_get_string_if(c, obj, path, "ca_file", nonempty_text, want, &d->etcd_ca_file) < 0 ||
        json_get_string_if(c, obj, path, "cert_file", nonempty_text, want, &d->etcd_cert_file) <
            0 ||
        json_get_string_if(c, obj, path, "key_file", nonempty_text, want, &d->etcd_key_file) < 0)
        return -1;
    if (require_pair(c, path, "username", d->etcd_username, "password", d->etcd_password) < 0)
        return -1;
    return require_pair(c, path, "cert_file", d->etcd_cert_file, "key_file", d->etcd_key_file);
}

static int parse_etcd(struct json_ctx *c, const cJSON *obj, const char *path,
                      struct syn_discovery *d)
{
    static const char *const keys[] = {"method",        "path",         "hosts",    "endpoints",
                                       "label_filters", "label_filter", "username", "password",
                                       "ca_file",       "cert_file",    "key_file", NULL};
    char p[JSON_PATH_MAX], pi[JSON_PATH_MAX], host[256];
    if (syn_check_keys(c, obj, path, keys, NULL) < 0) return -1;
    if (parse_etcd_credentials(c, obj, path, d) < 0) return -1;
    if (syn_get_strings(c, obj, path, "endpoints", &d->endpoints) < 0) return -1;
    json_path_key(p, sizeof p, path, "endpoints");
    for (size_t i = 0; i < d->endpoints.n; i++) {
        const char *u = d->endpoints.v[i];
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
            json_path_index(pi, sizeof pi, p, i);
            return json_fail(c, pi, "an http:// or https:// URL",
                             cJSON_GetArrayItem(json_lookup(obj, "endpoints"), (int)i));
        }
    }
    /* Synapse's etcd watcher took "hosts": ["host[:port]"]; turn them into URLs. */
    struct strlist hosts = {0};
    if (syn_get_strings(c, obj, path, "hosts", &hosts) < 0) {
        strlist_clear(&hosts);
        return -1;
    }
    json_path_key(p, sizeof p, path, "hosts");
    for (size_t i = 0; i < hosts.n; i++) {
        int port = SYN_ETCD_DEFAULT_PORT;
        bool ok = split_host_port(hosts.v[i], true, host, sizeof host, &port);
        bool v6 = strchr(host, ':') != NULL;
        if (!ok || strlist_pushf(&d->endpoints, "http://%s%s%s:%d", v6 ? "[" : "", host,
                                 v6 ? "]" : "", port) < 0) {
            strlist_clear(&hosts);
            json_path_index(pi, sizeof pi, p, i);
            return ok ? json_oom(c)
                      : json_fail(c, pi, "\"host[:port]\"",
                                  cJSON_GetArrayItem(json_lookup(obj, "hosts"), (int)i));
        }
    }
    strlist_clear(&hosts);
    if (d->endpoints.n == 0)
        return json_failf(c, NULL,
                          "%s: missing (etcd needs a non-empty \"endpoints\" or \"hosts\")", p);
    return parse_path(c, obj, path, "etcd", &d->path);
}

/* Appends a watcher named name; its discovery is parsed by the caller. */
static struct syn_multi_watcher *push_watcher(struct json_ctx *c, struct syn_discovery *d,
                                              const char *name)
{
    struct syn_multi_watcher *nv = realloc(d->watchers, (d->nwatchers + 1) * sizeof *nv);
    if (!nv) {
        json_oom(c);
        return NULL;
    }
    d->watchers = nv;
    struct syn_multi_watcher *w = &d->watchers[d->nwatchers++];
    memset(w, 0, sizeof *w);
    if (!(w->name = strdup(name))) {
        json_oom(c);
        return NULL;
    }
    return w;
}

/* A child of multi is one registry: multi inside multi, and base (which has
 * nothing to discover), are refused. */
static int check_child(struct json_ctx *c, const char *p, const struct syn_discovery *child)
{
    if (child->kind == SYN_DISCOVERY_MULTI)
        return json_failf(c, NULL, "%s: a multi watcher cannot be a child of another multi", p);
    if (child->kind == SYN_DISCOVERY_BASE)
        return json_failf(c, NULL,
                          "%s: method \"base\" discovers nothing; give the service "
                          "default_servers instead",
                          p);
    return 0;
}

/* watchers: {name: discovery, ...}; skip names one (discovery_multi's "primary"). */
static int parse_watchers(struct json_ctx *c, const cJSON *ws, const char *p, const char *skip,
                          struct syn_discovery *d)
{
    char pi[JSON_PATH_MAX];
    if (!cJSON_IsObject(ws)) return json_fail(c, p, "an object {name: discovery, ...}", ws);
    const cJSON *it;
    cJSON_ArrayForEach(it, ws)
    {
        json_path_key(pi, sizeof pi, p, it->string);
        if (skip && strcmp(it->string, skip) == 0) {
            if (json_warnf(c, NULL,
                           "%s: ignored, the service's discovery is discovery_multi's primary "
                           "watcher",
                           pi) < 0)
                return -1;
            continue;
        }
        if (!syn_name_ok(it->string))
            return json_failf(c, NULL, "%s: a watcher name must use only [A-Za-z0-9._:-]", pi);
        struct syn_multi_watcher *w = push_watcher(c, d, it->string);
        if (!w) return -1;
        if (!cJSON_IsObject(it)) return json_fail(c, pi, "a discovery object with a method", it);
        if (syn_parse_discovery(c, it, pi, &w->discovery) < 0) return -1;
        if (check_child(c, pi, &w->discovery) < 0) return -1;
    }
    return 0;
}

/* Puts d->watchers in sequential_order, which must name each exactly (as
 * Synapse checks both ways); a name given twice counts once. */
static int apply_sequential_order(struct json_ctx *c, const cJSON *order, const char *p,
                                  struct syn_discovery *d)
{
    char pi[JSON_PATH_MAX];
    if (!cJSON_IsArray(order))
        return json_fail(c, p, "an array of the watchers' names, first choice first", order);
    size_t nw = d->nwatchers, n = 0, i = 0;
    size_t *pick = calloc(nw ? nw : 1, sizeof *pick);
    bool *taken = calloc(nw ? nw : 1, sizeof *taken);
    struct syn_multi_watcher *sorted = calloc(nw ? nw : 1, sizeof *sorted);
    int r = 0;
    if (!pick || !taken || !sorted) r = json_oom(c);
    const cJSON *it;
    cJSON_ArrayForEach(it, order)
    {
        if (r < 0) break;
        json_path_index(pi, sizeof pi, p, i++);
        if (!cJSON_IsString(it)) {
            r = json_fail(c, pi, "a watcher name", it);
            break;
        }
        size_t k = 0;
        while (k < nw && strcmp(d->watchers[k].name, it->valuestring) != 0)
            k++;
        if (k == nw)
            r = json_failf(c, NULL, "%s: unknown watcher \"%.64s\"", pi, it->valuestring);
        else if (!taken[k])
            taken[k] = true, pick[n++] = k;
    }
    for (size_t k = 0; r == 0 && k < nw; k++)
        if (!taken[k])
            r = json_failf(c, NULL, "%s: does not name watcher \"%s\"", p, d->watchers[k].name);
    if (r == 0) {
        for (size_t j = 0; j < nw; j++)
            sorted[j] = d->watchers[pick[j]];
        memcpy(d->watchers, sorted, nw * sizeof *sorted);
    }
    free(pick);
    free(taken);
    free(sorted);
    return r;
}

/* resolver: {method: union} or {method: sequential, sequential_order: [...]}. */
static int parse_resolver(struct json_ctx *c, const cJSON *r, const char *p,
                          struct syn_discovery *d)
{
    static const char *const union_keys[] = {"method", NULL};
    static const char *const seq_keys[] = {"method", "sequential_order", NULL};
    char q[JSON_PATH_MAX];
    if (!cJSON_IsObject(r))
        return json_fail(c, p, "an object {\"method\": \"union\" or \"sequential\"}", r);
    const cJSON *m = json_lookup(r, "method");
    json_path_key(q, sizeof q, p, "method");
    if (!cJSON_IsString(m)) return json_fail(c, q, "\"union\" or \"sequential\"", m);
    if (strcmp(m->valuestring, "union") == 0) {
        d->resolver = SYN_RESOLVER_UNION;
        return syn_check_keys(c, r, p, union_keys, NULL);
    }
    if (strcmp(m->valuestring, "sequential") == 0) {
        d->resolver = SYN_RESOLVER_SEQUENTIAL;
        if (syn_check_keys(c, r, p, seq_keys, NULL) < 0) return -1;
        json_path_key(q, sizeof q, p, "sequential_order");
        const cJSON *order = json_lookup(r, "sequential_order");
        if (!order) return json_failf(c, NULL, "%s: missing (required for sequential)", q);
        return apply_sequential_order(c, order, q, d);
    }
    if (strcmp(m->valuestring, "s3_toggle") == 0)
        return json_failf(c, NULL,
                          "%s: \"s3_toggle\" reads its weights from Amazon S3, which smartdock "
                          "does not reach (supported: union, sequential)",
                          q);
    return json_failf(c, NULL, "%s: unknown resolver \"%.64s\" (supported: union, sequential)", q,
                      m->valuestring);
}

/* method multi: {method, watchers, resolver}. The resolver is read after the
 * watchers: sequential_order refers to them. */
static int parse_multi(struct json_ctx *c, const cJSON *obj, const char *path,
                       struct syn_discovery *d)
{
    static const char *const keys[] = {"method", "watchers", "resolver", NULL};
    char p[JSON_PATH_MAX];
    if (syn_check_keys(c, obj, path, keys, NULL) < 0) return -1;
    json_path_key(p, sizeof p, path, "watchers");
    const cJSON *ws = json_lookup(obj, "watchers");
    if (!ws) return json_failf(c, NULL, "%s: missing (required for multi)", p);
    if (parse_watchers(c, ws, p, NULL, d) < 0) return -1;
    if (d->nwatchers == 0) return json_fail(c, p, "at least one watcher", ws);
    json_path_key(p, sizeof p, path, "resolver");
    const cJSON *r = json_lookup(obj, "resolver");
    if (!r) return json_failf(c, NULL, "%s: missing (required for multi)", p);
    return parse_resolver(c, r, p, d);
}

int syn_parse_discovery_multi(struct json_ctx *c, const cJSON *multi, const char *path,
                              const char *primary_path, struct syn_discovery *d)
{
    static const char *const keys[] = {"method", "watchers", "resolver", NULL};
    char p[JSON_PATH_MAX];
    if (!cJSON_IsObject(multi)) return json_fail(c, path, "an object {watchers, resolver}", multi);
    if (syn_check_keys(c, multi, path, keys, NULL) < 0) return -1;
    if (check_child(c, primary_path, d) < 0) return -1;
    const cJSON *m = json_lookup(multi, "method");
    json_path_key(p, sizeof p, path, "method");
    if (m && !cJSON_IsNull(m) && !(cJSON_IsString(m) && strcmp(m->valuestring, "multi") == 0))
        return json_fail(c, p, "\"multi\" (or nothing)", m);
    struct syn_discovery merged = {0};
    merged.kind = SYN_DISCOVERY_MULTI;
    int r = -1;
    if (!(merged.method = strdup("multi"))) {
        json_oom(c);
        goto out;
    }
    json_path_key(p, sizeof p, path, "watchers");
    const cJSON *ws = json_lookup(multi, "watchers");
    if (ws && !cJSON_IsNull(ws) && parse_watchers(c, ws, p, "primary", &merged) < 0) goto out;
    /* Synapse adds the primary last: union's generator config comes from
     * the first watcher that has one, so the others are asked first. */
    struct syn_multi_watcher *w = push_watcher(c, &merged, "primary");
    if (!w) goto out;
    w->discovery = *d;
    memset(d, 0, sizeof *d);
    json_path_key(p, sizeof p, path, "resolver");
    const cJSON *res = json_lookup(multi, "resolver");
    if (!res) {
        json_failf(c, NULL, "%s: missing (required for discovery_multi)", p);
        goto out;
    }
    r = parse_resolver(c, res, p, &merged);
out:
    syn_discovery_clear(d);
    *d = merged;
    return r;
}

int syn_parse_discovery(struct json_ctx *c, const cJSON *obj, const char *path,
                        struct syn_discovery *d)
{
    static const char *const base_keys[] = {"method", "label_filters", "label_filter", NULL};
    char p[JSON_PATH_MAX];
    memset(d, 0, sizeof *d);
    if (!obj)
        return json_failf(c, NULL, "%s: missing (every service needs a discovery method)", path);
    if (!cJSON_IsObject(obj)) return json_fail(c, path, "an object", obj);

    json_path_key(p, sizeof p, path, "method");
    const cJSON *m = json_lookup(obj, "method");
    if (!cJSON_IsString(m)) return json_fail(c, p, "a string", m);
    d->method = strdup(m->valuestring);
    if (!d->method) return json_oom(c);

    int r;
    if (strcmp(d->method, "base") == 0) {
        d->kind = SYN_DISCOVERY_BASE;
        r = syn_check_keys(c, obj, path, base_keys, NULL);
    } else if (strcmp(d->method, "zookeeper") == 0 || strcmp(d->method, "zookeeper_poll") == 0) {
        d->kind = SYN_DISCOVERY_ZOOKEEPER;
        d->zk_poll = strcmp(d->method, "zookeeper_poll") == 0;
        r = parse_zookeeper(c, obj, path, d, false);
    } else if (strcmp(d->method, "zookeeper_dns") == 0 ||
               strcmp(d->method, "zookeeper_dns_poll") == 0) {
        d->kind = SYN_DISCOVERY_ZOOKEEPER_DNS;
        d->zk_poll = strcmp(d->method, "zookeeper_dns_poll") == 0;
        r = parse_zookeeper(c, obj, path, d, true);
    } else if (strcmp(d->method, "dns") == 0) {
        d->kind = SYN_DISCOVERY_DNS;
        r = parse_dns(c, obj, path, d);
    } else if (strcmp(d->method, "docker") == 0) {
        d->kind = SYN_DISCOVERY_DOCKER;
        r = parse_docker(c, obj, path, d);
    } else if (strcmp(d->method, "etcd") == 0) {
        d->kind = SYN_DISCOVERY_ETCD;
        r = parse_etcd(c, obj, path, d);
    } else if (strcmp(d->method, "multi") == 0) {
        d->kind = SYN_DISCOVERY_MULTI;
        return parse_multi(c, obj, path, d);
    } else {
        const char *what = "unknown discovery method";
        for (const char *const *s = synapse_only_methods; *s; s++)
            if (strcmp(*s, d->method) == 0) what = "a Synapse watcher smartdock does not implement";
        return json_failf(c, NULL,
                          "%s: %s \"%.64s\" (supported: base, dns, docker, etcd, multi, "
                          "zookeeper, zookeeper_dns, zookeeper_dns_poll, zookeeper_poll)",
                          p, what, d->method);
    }
    if (r < 0) return -1;
    return parse_filters(c, obj, path, d);
}

void syn_discovery_clear(struct syn_discovery *d)
{
    free(d->method);
    free(d->etcd_username);
    free(d->etcd_password);
    free(d->etcd_ca_file);
    free(d->etcd_cert_file);
    free(d->etcd_key_file);
    free(d->path);
    free(d->auth_file);
    strlist_clear(&d->hosts);
    free(d->zk_chroot);
    for (size_t i = 0; i < d->nservers; i++) {
        free(d->servers[i].name);
        free(d->servers[i].host);
        free(d->servers[i].socket);
    }
    free(d->servers);
    free(d->image_name);
    strlist_clear(&d->endpoints);
    backend_list_clear(&d->dns_servers);
    strlist_clear(&d->nameservers);
    for (size_t i = 0; i < d->nlabel_filters; i++) {
        free(d->label_filters[i].label);
        free(d->label_filters[i].value);
    }
    free(d->label_filters);
    free(d->endpoint_name);
    free(d->generator_config_path);
    for (size_t i = 0; i < d->nwatchers; i++) {
        free(d->watchers[i].name);
        syn_discovery_clear(&d->watchers[i].discovery);
    }
    free(d->watchers);
    memset(d, 0, sizeof *d);
}
