/*
 * Synapse's JSON config into plain structs: services (and their haproxy
 * options), the top-level haproxy section, file_output, and
 * service_conf_dir merging. Discovery lives in syn_config_discovery.c.
 */
#include "syn_config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "syn_config_json.h"
#include "yaml_doc.h"

#define SYN_CONFIG_MAX_FILE (16 * 1024 * 1024)

static const char *const top_keys[] = {"services",         "haproxy",    "file_output",
                                       "service_conf_dir", "log_format", "metrics",
                                       "control_socket",   NULL};
static const char *const top_unsupported[] = {"statsd", NULL};

static const char *const service_keys[] = {"discovery",
                                           "haproxy",
                                           "default_servers",
                                           "keep_default_servers",
                                           "use_previous_backends",
                                           "backend_port_override",
                                           "file_output",
                                           "leader_election",
                                           "discovery_multi",
                                           NULL};
static const char *const service_unsupported[] = {"load_test_concurrency", NULL};

static const char *const svc_haproxy_keys[] = {"port",
                                               "bind_address",
                                               "bind_options",
                                               "server_options",
                                               "frontend",
                                               "backend",
                                               "listen",
                                               "backend_name",
                                               "backend_order",
                                               "disabled",
                                               "shared_frontend",
                                               "server_port_override",
                                               "cookie_value_method",
                                               NULL};
static const char *const svc_haproxy_unsupported[] = {"use_nerve_weights", NULL};

static const char *const haproxy_keys[] = {"reload_command",
                                           "config_file_path",
                                           "do_writes",
                                           "do_reloads",
                                           "do_socket",
                                           "do_checks",
                                           "check_command",
                                           "candidate_config_file_path",
                                           "socket_file_path",
                                           "global",
                                           "defaults",
                                           "extra_sections",
                                           "bind_address",
                                           "shared_frontend",
                                           "restart_interval",
                                           "restart_jitter",
                                           "state_file_path",
                                           "state_file_ttl",
                                           "server_order_seed",
                                           "haproxy_binary",
                                           "managed",
                                           "safe_http_defaults",
                                           "drain_timeout_ms",
                                           "allowed_server_options",
                                           "max_servers_per_service",
                                           "use_nerve_weights",
                                           "max_server_id",
                                           NULL};

static const char *const server_keys[] = {"name", "host", "port", NULL};

void syn_service_haproxy_clear(struct syn_service_haproxy *h)
{
    free(h->bind_address);
    free(h->bind_options);
    free(h->server_options);
    strlist_clear(&h->frontend);
    strlist_clear(&h->backend);
    strlist_clear(&h->listen);
    strlist_clear(&h->shared_frontend);
    free(h->backend_name);
    memset(h, 0, sizeof *h);
}

static void service_clear(struct syn_service *s)
{
    free(s->name);
    free(s->fingerprint);
    syn_discovery_clear(&s->discovery);
    syn_service_haproxy_clear(&s->haproxy);
    for (size_t i = 0; i < s->ndefault_servers; i++) {
        free(s->default_servers[i].name);
        free(s->default_servers[i].host);
    }
    free(s->default_servers);
    memset(s, 0, sizeof *s);
}

void syn_config_free(struct syn_config *cfg)
{
    if (!cfg) return;
    daemon_config_clear(&cfg->daemon);
    for (size_t i = 0; i < cfg->nservices; i++)
        service_clear(&cfg->services[i]);
    free(cfg->services);
    struct syn_haproxy *h = &cfg->haproxy;
    free(h->config_file_path);
    free(h->reload_command);
    free(h->check_command);
    free(h->candidate_config_file_path);
    strlist_clear(&h->global);
    strlist_clear(&h->defaults);
    strlist_clear(&h->shared_frontend);
    for (size_t i = 0; i < h->nextra_sections; i++) {
        free(h->extra_sections[i].header);
        strlist_clear(&h->extra_sections[i].lines);
    }
    free(h->extra_sections);
    free(h->bind_address);
    strlist_clear(&h->socket_files);
    free(h->state_file_path);
    free(h->haproxy_binary);
    server_options_policy_free(h->allowed_server_options);
    free(cfg->file_output_directory);
    free(cfg->service_conf_dir);
    strlist_clear(&cfg->warnings);
    free(cfg);
}

const struct syn_service *syn_config_service(const struct syn_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nservices; i++)
        if (strcmp(cfg->services[i].name, name) == 0) return &cfg->services[i];
    return NULL;
}

static int parse_default_server(struct json_ctx *c, const cJSON *v, const char *p,
                                struct syn_server *s)
{
    char q[JSON_PATH_MAX];
    if (!cJSON_IsObject(v)) return json_fail(c, p, "an object {\"name\", \"host\", \"port\"}", v);
    if (syn_check_keys(c, v, p, server_keys, NULL) < 0) return -1;
    if (json_get_text(c, v, p, "name", &s->name) < 0) return -1;
    if (json_get_text(c, v, p, "host", &s->host) < 0) return -1;
    if (!s->host || !backend_host_is_valid(s->host)) {
        json_path_key(q, sizeof q, p, "host");
        return json_fail(c, q, "a hostname or IP address", json_lookup(v, "host"));
    }
    json_path_key(q, sizeof q, p, "port");
    if (!json_lookup(v, "port")) return json_failf(c, NULL, "%s: missing", q);
    if (syn_get_int(c, v, p, "port", 1, 65535, 0, &s->port) < 0) return -1;
    if (!s->name || !*s->name) {
        free(s->name);
        if (asprintf(&s->name, "%s:%d", s->host, s->port) < 0) {
            s->name = NULL;
            return json_oom(c);
        }
    }
    return 0;
}

static int parse_default_servers(struct json_ctx *c, const cJSON *obj, const char *path,
                                 struct syn_service *s)
{
    char p[JSON_PATH_MAX], pi[JSON_PATH_MAX];
    const cJSON *v = json_lookup(obj, "default_servers"), *it;
    if (!v || cJSON_IsNull(v)) return 0;
    json_path_key(p, sizeof p, path, "default_servers");
    if (!cJSON_IsArray(v)) return json_fail(c, p, "an array of {\"name\", \"host\", \"port\"}", v);
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0) return 0;
    s->default_servers = calloc(n, sizeof *s->default_servers);
    if (!s->default_servers) return json_oom(c);
    cJSON_ArrayForEach(it, v)
    {
        json_path_index(pi, sizeof pi, p, s->ndefault_servers);
        if (parse_default_server(c, it, pi, &s->default_servers[s->ndefault_servers++]) < 0)
            return -1;
    }
    return 0;
}

/* Synapse's backend_order: "asc", "desc", "no_shuffle", and any other
 * string shuffles (with a warning here, since it is likely a typo). Absent:
 * sorted, smartdock's deterministic default. */
static int parse_backend_order(struct json_ctx *c, const cJSON *obj, const char *path,
                               enum syn_backend_order *out)
{
    static const struct {
        const char *name;
        enum syn_backend_order order;
    } orders[] = {{"asc", SYN_ORDER_ASC},
                  {"desc", SYN_ORDER_DESC},
                  {"no_shuffle", SYN_ORDER_NO_SHUFFLE},
                  {"shuffle", SYN_ORDER_SHUFFLE}};
    char p[JSON_PATH_MAX];
    const cJSON *v = json_lookup(obj, "backend_order");
    *out = SYN_ORDER_SORTED;
    if (!v || cJSON_IsNull(v)) return 0;
    json_path_key(p, sizeof p, path, "backend_order");
    if (!cJSON_IsString(v)) return json_fail(c, p, "a string", v);
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        if (strcmp(v->valuestring, orders[i].name) == 0) {
            *out = orders[i].order;
            return 0;
        }
    }
    *out = SYN_ORDER_SHUFFLE;
    return json_warnf(c, v,
                      "%s: \"%s\" is not \"asc\", \"desc\" or \"no_shuffle\": servers are "
                      "shuffled with haproxy.server_order_seed, as Synapse does",
                      p, v->valuestring);
}

/* "hash": SHA-1 of the server name; "name" and, as in Synapse, anything else:
 * the name (with a warning for a value that is neither). */
static int parse_cookie_value_method(struct json_ctx *c, const cJSON *obj, const char *path,
                                     enum syn_cookie_value *out)
{
    char p[JSON_PATH_MAX];
    const cJSON *v = json_lookup(obj, "cookie_value_method");
    *out = SYN_COOKIE_NAME;
    if (!v || cJSON_IsNull(v)) return 0;
    json_path_key(p, sizeof p, path, "cookie_value_method");
    if (!cJSON_IsString(v)) return json_fail(c, p, "\"name\" or \"hash\"", v);
    if (strcmp(v->valuestring, "hash") == 0) *out = SYN_COOKIE_HASH;
    if (*out == SYN_COOKIE_HASH || strcmp(v->valuestring, "name") == 0) return 0;
    return json_warnf(c, v,
                      "%s: \"%s\" is not \"name\" or \"hash\": the cookie value is the "
                      "server name, as Synapse does",
                      p, v->valuestring);
}

int syn_parse_service_haproxy(struct json_ctx *c, const cJSON *obj, const char *path,
                              const char *service, struct syn_service_haproxy *h,
                              int *server_port_override)
{
    char p[JSON_PATH_MAX];
    h->backend_name = NULL;
    if (obj && !cJSON_IsNull(obj)) {
        if (!cJSON_IsObject(obj)) return json_fail(c, path, "an object", obj);
        if (syn_check_keys(c, obj, path, svc_haproxy_keys, svc_haproxy_unsupported) < 0) return -1;
        const cJSON *port = json_lookup(obj, "port");
        if (cJSON_IsNull(port)) {
            h->port_mode = SYN_PORT_NULL;
        } else if (port) {
            h->port_mode = SYN_PORT_SET;
            if (syn_get_int(c, obj, path, "port", 1, 65535, 0, &h->port) < 0) return -1;
        }
        if (syn_get_bool(c, obj, path, "disabled", false, &h->disabled) < 0 ||
            syn_get_word(c, obj, path, "bind_address", &h->bind_address) < 0 ||
            json_get_text(c, obj, path, "bind_options", &h->bind_options) < 0 ||
            json_get_text(c, obj, path, "server_options", &h->server_options) < 0 ||
            syn_get_lines(c, obj, path, "frontend", &h->frontend) < 0 ||
            syn_get_lines(c, obj, path, "backend", &h->backend) < 0 ||
            syn_get_lines(c, obj, path, "listen", &h->listen) < 0 ||
            syn_get_lines(c, obj, path, "shared_frontend", &h->shared_frontend) < 0 ||
            syn_get_word(c, obj, path, "backend_name", &h->backend_name) < 0 ||
            parse_backend_order(c, obj, path, &h->backend_order) < 0 ||
            parse_cookie_value_method(c, obj, path, &h->cookie_value_method) < 0)
            return -1;
        if (h->backend_name && !syn_name_ok(h->backend_name)) {
            json_path_key(p, sizeof p, path, "backend_name");
            return json_fail(c, p, "a name of [A-Za-z0-9._:-]", json_lookup(obj, "backend_name"));
        }
        if (syn_get_int(c, obj, path, "server_port_override", 1, 65535, 0, server_port_override) <
            0)
            return -1;
        if (*server_port_override) {
            json_path_key(p, sizeof p, path, "server_port_override");
            if (json_warnf(c, NULL, "%s is deprecated; use backend_port_override in the service",
                           p) < 0)
                return -1;
        }
    }
    if (!h->backend_name && !(h->backend_name = strdup(service))) return json_oom(c);
    return 0;
}

/* services.<name>.file_output: {disabled: bool}, as Synapse's file_output reads it. */
static int parse_service_file_output(struct json_ctx *c, const cJSON *obj, const char *path,
                                     struct syn_service *s)
{
    static const char *const keys[] = {"disabled", NULL};
    char p[JSON_PATH_MAX];
    const cJSON *fo = json_lookup(obj, "file_output");
    if (!fo || cJSON_IsNull(fo)) return 0;
    json_path_key(p, sizeof p, path, "file_output");
    if (!cJSON_IsObject(fo)) return json_fail(c, p, "an object {\"disabled\": bool}", fo);
    if (syn_check_keys(c, fo, p, keys, NULL) < 0) return -1;
    return syn_get_bool(c, fo, p, "disabled", false, &s->file_output_disabled);
}

static int parse_service(struct json_ctx *c, const char *name, const cJSON *obj,
                         struct syn_service *s)
{
    char path[JSON_PATH_MAX], p[JSON_PATH_MAX];
    json_path_key(path, sizeof path, "services", name);
    memset(s, 0, sizeof *s);
    if (!(s->name = strdup(name))) return json_oom(c);
    if (!syn_name_ok(name))
        return json_failf(c, NULL, "%s: a service name must use only [A-Za-z0-9._:-]", path);
    if (!cJSON_IsObject(obj)) return json_fail(c, path, "an object", obj);
    if (!(s->fingerprint = cJSON_PrintUnformatted(obj))) return json_oom(c);
    if (syn_check_keys(c, obj, path, service_keys, service_unsupported) < 0) return -1;
    json_path_key(p, sizeof p, path, "discovery");
    if (syn_parse_discovery(c, json_lookup(obj, "discovery"), p, &s->discovery) < 0) return -1;
    const cJSON *multi = json_lookup(obj, "discovery_multi");
    if (multi && !cJSON_IsNull(multi)) {
        char mp[JSON_PATH_MAX];
        json_path_key(mp, sizeof mp, path, "discovery_multi");
        if (syn_parse_discovery_multi(c, multi, mp, p, &s->discovery) < 0) return -1;
    }
    if (syn_get_bool(c, obj, path, "leader_election", false, &s->leader_election) < 0) return -1;
    if (parse_default_servers(c, obj, path, s) < 0 ||
        syn_get_bool(c, obj, path, "keep_default_servers", false, &s->keep_default_servers) < 0 ||
        syn_get_bool(c, obj, path, "use_previous_backends", true, &s->use_previous_backends) < 0 ||
        syn_get_int(c, obj, path, "backend_port_override", 1, 65535, 0, &s->backend_port_override) <
            0 ||
        parse_service_file_output(c, obj, path, s) < 0)
        return -1;
    json_path_key(p, sizeof p, path, "haproxy");
    int spo = 0;
    if (syn_parse_service_haproxy(c, json_lookup(obj, "haproxy"), p, s->name, &s->haproxy, &spo) <
        0)
        return -1;
    if (spo && !s->backend_port_override) s->backend_port_override = spo;
    return 0;
}

/* Options Synapse ignores in some combinations: say so once, at load. */
static int warn_unused(struct json_ctx *c, const struct syn_config *cfg,
                       const struct syn_service *s)
{
    const struct syn_service_haproxy *h = &s->haproxy;
    if (h->port_mode == SYN_PORT_NONE && h->frontend.n &&
        json_warnf(c, NULL, "services.%s.haproxy.frontend: ignored, there is no port to listen on",
                   s->name) < 0)
        return -1;
    if (h->shared_frontend.n && !cfg->haproxy.shared_frontend.n &&
        json_warnf(c, NULL,
                   "services.%s.haproxy.shared_frontend: ignored, haproxy.shared_frontend is not "
                   "set",
                   s->name) < 0)
        return -1;
    return 0;
}

/* The name of s's section that accepts connections, or NULL. */
static const char *frontend_name(const struct syn_service *s)
{
    return s->haproxy.port_mode == SYN_PORT_NONE ? NULL : s->name;
}

/* HAProxy refuses two frontends, or two backends, of the same name. */
static int check_proxy_names(struct json_ctx *c, const struct syn_config *cfg)
{
    for (size_t i = 0; i < cfg->nservices; i++) {
        const struct syn_service *a = &cfg->services[i];
        for (size_t j = 0; j < i && !a->haproxy.disabled; j++) {
            const struct syn_service *b = &cfg->services[j];
            const char *fa = frontend_name(a), *fb = frontend_name(b);
            if (b->haproxy.disabled) continue;
            if (strcmp(a->haproxy.backend_name, b->haproxy.backend_name) == 0)
                return json_failf(c, NULL,
                                  "services.%s.haproxy.backend_name: \"%s\" is used by "
                                  "services.%s too",
                                  a->name, a->haproxy.backend_name, b->name);
            if (fa && fb && strcmp(fa, fb) == 0)
                return json_failf(c, NULL,
                                  "services.%s: its frontend \"%s\" clashes with services.%s",
                                  a->name, fa, b->name);
        }
    }
    return 0;
}

/* Appends, or replaces a service of the same name (the later definition wins). */
static int add_service(struct json_ctx *c, struct syn_config *cfg, const char *name,
                       const cJSON *obj, const char *origin)
{
    struct syn_service s;
    if (parse_service(c, name, obj, &s) < 0 || warn_unused(c, cfg, &s) < 0) {
        service_clear(&s);
        return -1;
    }
    for (size_t i = 0; i < cfg->nservices; i++) {
        if (strcmp(cfg->services[i].name, name) != 0) continue;
        service_clear(&cfg->services[i]);
        cfg->services[i] = s;
        return json_warnf(c, NULL, "services.%s is defined again in %s; the later one is used",
                          name, origin);
    }
    struct syn_service *nv = realloc(cfg->services, (cfg->nservices + 1) * sizeof *nv);
    if (!nv) {
        service_clear(&s);
        return json_oom(c);
    }
    cfg->services = nv;
    cfg->services[cfg->nservices++] = s;
    return 0;
}

static int parse_extra_sections(struct json_ctx *c, const cJSON *obj, struct syn_haproxy *h)
{
    const char *path = "haproxy.extra_sections";
    const cJSON *v = json_lookup(obj, "extra_sections"), *it;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsObject(v)) return json_fail(c, path, "an object of section -> lines", v);
    size_t n = (size_t)cJSON_GetArraySize(v);
    h->extra_sections = calloc(n ? n : 1, sizeof *h->extra_sections);
    if (!h->extra_sections) return json_oom(c);
    cJSON_ArrayForEach(it, v)
    {
        char p[JSON_PATH_MAX];
        json_path_key(p, sizeof p, path, it->string);
        if (!*it->string || !json_text_ok(it->string))
            return json_failf(c, NULL, "%s: a section header must be one line", p);
        struct syn_extra_section *s = &h->extra_sections[h->nextra_sections++];
        if (!(s->header = strdup(it->string))) return json_oom(c);
        if (!cJSON_IsArray(it) && !cJSON_IsString(it))
            return json_fail(c, p, "an array of strings", it);
        if (syn_get_lines(c, v, path, it->string, &s->lines) < 0) return -1;
    }
    return 0;
}

/* haproxy.allowed_server_options: replaces server_options' default list. */
static int parse_allowed_options(struct json_ctx *c, const cJSON *obj, struct syn_haproxy *h)
{
    struct strlist words = {0};
    if (!json_lookup(obj, "allowed_server_options")) return 0;
    if (syn_get_strings(c, obj, "haproxy", "allowed_server_options", &words) < 0) return -1;
    char why[160];
    h->allowed_server_options =
        server_options_policy_new((const char *const *)words.v, words.n, why, sizeof why);
    strlist_clear(&words);
    if (!h->allowed_server_options)
        return json_failf(c, json_lookup(obj, "allowed_server_options"),
                          "haproxy.allowed_server_options: %s", why);
    return 0;
}

static int parse_socket_files(struct json_ctx *c, const cJSON *obj, struct syn_haproxy *h)
{
    const cJSON *v = json_lookup(obj, "socket_file_path");
    char *one = NULL;
    if (cJSON_IsArray(v)) {
        if (syn_get_strings(c, obj, "haproxy", "socket_file_path", &h->socket_files) < 0) return -1;
        for (size_t i = 0; i < h->socket_files.n; i++) {
            if (strpbrk(h->socket_files.v[i], " \t") || !*h->socket_files.v[i]) {
                char p[JSON_PATH_MAX];
                json_path_index(p, sizeof p, "haproxy.socket_file_path", i);
                return json_fail(c, p, "a path without spaces", cJSON_GetArrayItem(v, (int)i));
            }
        }
        return 0;
    }
    if (syn_get_word(c, obj, "haproxy", "socket_file_path", &one) < 0) return -1;
    int r = one ? strlist_push(&h->socket_files, one) : 0;
    free(one);
    return r < 0 ? json_oom(c) : 0;
}

/* Synapse's rule: an enabled feature needs its option. */
static int require(struct json_ctx *c, bool cond, const char *cond_key, const void *opt,
                   const char *opt_key)
{
    if (!cond || opt) return 0;
    return json_failf(c, NULL, "haproxy.%s: required when haproxy.%s is true", opt_key, cond_key);
}

static int parse_haproxy(struct json_ctx *c, const cJSON *obj, struct syn_haproxy *h)
{
    const char *path = "haproxy";
    if (obj && !cJSON_IsObject(obj)) return json_fail(c, path, "an object", obj);
    if (obj && syn_check_keys(c, obj, path, haproxy_keys, NULL) < 0) return -1;
    int seed = 0;
    if (json_get_text(c, obj, path, "config_file_path", &h->config_file_path) < 0 ||
        json_get_text(c, obj, path, "reload_command", &h->reload_command) < 0 ||
        json_get_text(c, obj, path, "check_command", &h->check_command) < 0 ||
        json_get_text(c, obj, path, "candidate_config_file_path", &h->candidate_config_file_path) <
            0 ||
        syn_get_bool(c, obj, path, "do_writes", true, &h->do_writes) < 0 ||
        syn_get_bool(c, obj, path, "do_reloads", true, &h->do_reloads) < 0 ||
        syn_get_bool(c, obj, path, "do_checks", false, &h->do_checks) < 0 ||
        syn_get_lines(c, obj, path, "global", &h->global) < 0 ||
        syn_get_lines(c, obj, path, "defaults", &h->defaults) < 0 ||
        syn_get_lines(c, obj, path, "shared_frontend", &h->shared_frontend) < 0 ||
        parse_extra_sections(c, obj, h) < 0 ||
        syn_get_word(c, obj, path, "bind_address", &h->bind_address) < 0 ||
        syn_get_number(c, obj, path, "restart_interval", 0, 86400, 2, &h->restart_interval) < 0 ||
        syn_get_number(c, obj, path, "restart_jitter", 0, 100, 0, &h->restart_jitter) < 0 ||
        parse_socket_files(c, obj, h) < 0 ||
        syn_get_bool(c, obj, path, "do_socket", h->socket_files.n > 0, &h->do_socket) < 0 ||
        syn_get_word(c, obj, path, "state_file_path", &h->state_file_path) < 0 ||
        syn_get_int(c, obj, path, "state_file_ttl", 1, INT_MAX, 86400, &h->state_file_ttl) < 0 ||
        syn_get_int(c, obj, path, "server_order_seed", 0, INT_MAX, 0, &seed) < 0 ||
        json_get_text(c, obj, path, "haproxy_binary", &h->haproxy_binary) < 0 ||
        syn_get_bool(c, obj, path, "managed", false, &h->managed) < 0 ||
        syn_get_bool(c, obj, path, "safe_http_defaults", true, &h->safe_http_defaults) < 0 ||
        syn_get_int(c, obj, path, "drain_timeout_ms", 0, 3600000, 10000, &h->drain_timeout_ms) <
            0 ||
        parse_allowed_options(c, obj, h) < 0 ||
        syn_get_int(c, obj, path, "max_servers_per_service", 1, 1000000, 10000,
                    &h->max_servers_per_service) < 0 ||
        syn_get_bool(c, obj, path, "use_nerve_weights", false, &h->use_nerve_weights) < 0 ||
        syn_get_int(c, obj, path, "max_server_id", 1, INT_MAX, 65535, &h->max_server_id) < 0)
        return -1;
    h->server_order_seed = (unsigned)seed;
    if (!h->bind_address && !(h->bind_address = strdup("localhost"))) return json_oom(c);
    if (!h->haproxy_binary && !(h->haproxy_binary = strdup("haproxy"))) return json_oom(c);
    if (!obj) return 0;
    if (require(c, h->do_writes, "do_writes", h->config_file_path, "config_file_path") < 0 ||
        require(c, h->do_reloads && !h->managed, "do_reloads", h->reload_command,
                "reload_command") < 0 ||
        require(c, h->do_checks, "do_checks", h->check_command, "check_command") < 0 ||
        require(c, h->do_socket, "do_socket", h->socket_files.n ? h : NULL, "socket_file_path") < 0)
        return -1;
    if (!h->candidate_config_file_path && h->config_file_path &&
        asprintf(&h->candidate_config_file_path, "%s.tmp", h->config_file_path) < 0) {
        h->candidate_config_file_path = NULL;
        return json_oom(c);
    }
    return 0;
}

static int parse_root(struct json_ctx *c, const cJSON *root, struct syn_config *cfg)
{
    if (!cJSON_IsObject(root)) return json_fail(c, "(top level)", "an object", root);
    if (syn_check_keys(c, root, "", top_keys, top_unsupported) < 0) return -1;
    char derr[300];
    if (daemon_config_parse(root, &cfg->daemon, derr, sizeof derr) < 0)
        return json_failf(c, NULL, "%s", derr);

    /* haproxy first: a service's options are checked against it. */
    const cJSON *haproxy = json_lookup(root, "haproxy");
    cfg->has_haproxy = haproxy && !cJSON_IsNull(haproxy);
    if (parse_haproxy(c, cfg->has_haproxy ? haproxy : NULL, &cfg->haproxy) < 0) return -1;

    const cJSON *services = json_lookup(root, "services"), *it;
    if (services && !cJSON_IsNull(services)) {
        if (!cJSON_IsObject(services))
            return json_fail(c, "services", "an object of name -> service", services);
        cJSON_ArrayForEach(it, services)
        {
            if (add_service(c, cfg, it->string, it, "the main config") < 0) return -1;
        }
    }
    if (check_proxy_names(c, cfg) < 0) return -1;

    static const char *const fo_keys[] = {"output_directory", NULL};
    const cJSON *fo = json_lookup(root, "file_output");
    if (fo && !cJSON_IsNull(fo)) {
        if (!cJSON_IsObject(fo)) return json_fail(c, "file_output", "an object", fo);
        if (syn_check_keys(c, fo, "file_output", fo_keys, NULL) < 0 ||
            json_get_text(c, fo, "file_output", "output_directory", &cfg->file_output_directory) <
                0)
            return -1;
        if (!cfg->file_output_directory)
            return json_failf(c, NULL, "file_output.output_directory: missing");
    }
    return json_get_text(c, root, "", "service_conf_dir", &cfg->service_conf_dir);
}

/*
 * One config file's tree. Synapse reads every file as YAML, of which JSON is
 * a subset. A text that starts with '{' (or '[') is read as JSON, with the
 * JSON parser's stricter checks and messages; anything else as YAML, whose
 * nodes then carry their lines into the messages ("file:14: services...").
 * Both give the same cJSON tree to the one model reader below.
 */
struct source {
    cJSON *json;           /* owned, when the text was JSON */
    struct yaml_doc *yaml; /* owned, when it was YAML */
};

static const cJSON *source_root(const struct source *src)
{
    return src->json ? src->json : yaml_doc_root(src->yaml);
}

static void source_clear(struct source *src)
{
    cJSON_Delete(src->json);
    yaml_doc_free(src->yaml);
    memset(src, 0, sizeof *src);
}

static unsigned yaml_line_of(const cJSON *node, void *doc)
{
    int line = yaml_doc_line_of(doc, node);
    return line > 0 ? (unsigned)line : 0;
}

static bool looks_like_json(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", text[i]))
        i++;
    return i < len && (text[i] == '{' || text[i] == '[');
}

/* Parses text into src and points c's line lookup at it; what names the
 * source in messages (a path, or NULL for an anonymous text). */
static int source_parse(struct json_ctx *c, const char *text, size_t len, const char *what,
                        struct source *src)
{
    memset(src, 0, sizeof *src);
    const char *name = what ? what : "config";
    if (looks_like_json(text, len)) return (src->json = json_parse(c, text, len, name)) ? 0 : -1;
    char yaml_err[256] = "";
    if (memchr(text, 0, len)) return json_failf(c, NULL, "%s: holds a NUL byte", name);
    if (!(src->yaml = yaml_doc_parse(text, len, yaml_err, sizeof yaml_err)))
        return json_failf(c, NULL, "%s: %s", name, yaml_err);
    c->line_of = yaml_line_of;
    c->line_arg = src->yaml;
    c->file = name;
    return 0;
}

/* Points c away from a source about to be freed. */
static void source_forget(struct json_ctx *c)
{
    c->line_of = NULL;
    c->line_arg = NULL;
    c->file = NULL;
}

static int parse_text(const char *text, size_t len, const char *what, struct syn_config **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    struct syn_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct json_ctx c = {.err = err, .errlen = errlen, .warnings = &cfg->warnings};
    struct source src;
    int r = source_parse(&c, text, len, what, &src);
    if (r == 0) r = parse_root(&c, source_root(&src), cfg);
    source_forget(&c);
    source_clear(&src);
    if (r < 0) {
        syn_config_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

int syn_config_parse(const char *text, struct syn_config **out, char *err, size_t errlen)
{
    return parse_text(text, strlen(text), NULL, out, err, errlen);
}

/* Whole file as a string; caller frees. */
static char *read_file(struct json_ctx *c, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        json_failf(c, NULL, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        char *nb = cap >= SYN_CONFIG_MAX_FILE ? NULL : realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        json_failf(c, NULL, "%s: cannot read (error, or larger than %d bytes)", path,
                   SYN_CONFIG_MAX_FILE);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* The service a service_conf_dir file defines (its name without the
 * extension), or NULL when the file is not one: Synapse reads *.json and
 * *.yaml; *.yml is read too, the other common spelling. */
static const char *const conf_dir_suffixes[] = {".json", ".yaml", ".yml", NULL};

static size_t conf_file_stem(const char *file)
{
    if (file[0] == '.') return 0;
    for (const char *const *sfx = conf_dir_suffixes; *sfx; sfx++)
        if (has_suffix(file, *sfx)) return strlen(file) - strlen(*sfx);
    return 0;
}

/* Lists the directory's service files, sorted by name. */
static int list_conf_dir(struct json_ctx *c, const char *dir, struct strlist *names)
{
    DIR *d = opendir(dir);
    if (!d)
        return json_failf(c, NULL, "service_conf_dir: cannot open \"%s\": %s", dir,
                          strerror(errno));
    struct dirent *e;
    int r = 0;
    while (r == 0 && (e = readdir(d))) {
        if (conf_file_stem(e->d_name) > 0) r = strlist_push(names, e->d_name) < 0 ? json_oom(c) : 0;
    }
    closedir(d);
    if (names->n) qsort(names->v, names->n, sizeof *names->v, cmp_names);
    return r;
}

/* Makes c->err start with "path" (a YAML error already does: "path:14: "). */
static void name_the_file(struct json_ctx *c, const char *path)
{
    if (strncmp(c->err, path, strlen(path)) == 0) return;
    char inner[512];
    snprintf(inner, sizeof inner, "%s", c->err);
    json_failf(c, NULL, "%s: %s", path, inner);
}

static int merge_one(struct json_ctx *c, struct syn_config *cfg, const char *dir, const char *file)
{
    char path[PATH_MAX], name[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(name, sizeof name, "%.*s", (int)conf_file_stem(file), file);
    size_t len = 0;
    char *text = read_file(c, path, &len);
    if (!text) return -1;
    struct source src;
    int r = source_parse(c, text, len, path, &src);
    free(text);
    if (r == 0) r = add_service(c, cfg, name, source_root(&src), path);
    if (r < 0) name_the_file(c, path);
    source_forget(c);
    source_clear(&src);
    return r;
}

int syn_config_load(const char *path, struct syn_config **out, char *err, size_t errlen)
{
    *out = NULL;
    struct json_ctx c0 = {.err = err, .errlen = errlen, .warnings = NULL};
    size_t len = 0;
    char *text = read_file(&c0, path, &len);
    if (!text) return -1;
    struct syn_config *cfg = NULL;
    int r = parse_text(text, len, path, &cfg, err, errlen);
    free(text);
    if (r < 0) return -1;
    if (cfg->service_conf_dir) {
        struct json_ctx c = {.err = err, .errlen = errlen, .warnings = &cfg->warnings};
        struct strlist names = {0};
        r = list_conf_dir(&c, cfg->service_conf_dir, &names);
        for (size_t i = 0; r == 0 && i < names.n; i++)
            r = merge_one(&c, cfg, cfg->service_conf_dir, names.v[i]);
        if (r == 0) r = check_proxy_names(&c, cfg);
        strlist_clear(&names);
        if (r < 0) {
            syn_config_free(cfg);
            return -1;
        }
    }
    *out = cfg;
    return 0;
}
