/*
 * smartdock-registrator's config file: JSON in, plain structs out, validated
 * once. Every error names the JSON path and shows the offending value as
 * JSON; unknown keys are warnings, never errors.
 */
#include "reg_config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_json.h"
#include "imageref.h"

#define PATH_LEN CONF_PATH_LEN

bool reg_name_is_safe(const char *name)
{
    if (!name || !*name || !strcmp(name, ".") || !strcmp(name, "..")) return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ---- value syntax ------------------------------------------------------ */

/* "host[:port]" or "[v6][:port]" of exactly n bytes. */
static bool authority_ok(const char *s, size_t n, bool need_port)
{
    char host[256];
    const char *end = s + n, *h = s, *hend = end, *port = NULL;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close) return false;
        h = s + 1;
        hend = close;
        if (close + 1 < end) {
            if (close[1] != ':') return false;
            port = close + 2;
        }
    } else {
        for (const char *q = s; q < end; q++)
            if (*q == ':') hend = q;
        if (hend < end) port = hend + 1;
    }
    size_t hostlen = (size_t)(hend - h);
    if (hostlen == 0 || hostlen >= sizeof host) return false;
    memcpy(host, h, hostlen);
    host[hostlen] = '\0';
    if (!backend_host_is_valid(host)) return false;
    return port ? conf_port_text_ok(port, (size_t)(end - port)) : !need_port;
}

static bool docker_host_ok(const char *s)
{
    if (!strncmp(s, "unix://", 7)) return s[7] == '/' && s[8] != '\0';
    if (!strncmp(s, "tcp://", 6)) return authority_ok(s + 6, strlen(s + 6), true);
    return false;
}

static bool url_ok(const char *s)
{
    const char *rest = !strncmp(s, "http://", 7)    ? s + 7
                       : !strncmp(s, "https://", 8) ? s + 8
                                                    : NULL;
    if (!rest) return false;
    for (const char *q = rest; *q; q++)
        if (*q == ' ') return false;
    const char *slash = strchr(rest, '/');
    return authority_ok(rest, slash ? (size_t)(slash - rest) : strlen(rest), false);
}

/* '/'-separated components between the first and (exclusive) last byte. */
static bool components_ok(const char *s, size_t n)
{
    char comp[256];
    size_t start = 1;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && s[i] != '/') continue;
        size_t len = i - start;
        if (len == 0 || len >= sizeof comp) return false;
        memcpy(comp, s + start, len);
        comp[len] = '\0';
        if (!reg_name_is_safe(comp)) return false;
        start = i + 1;
    }
    return true;
}

/* ---- sections ---------------------------------------------------------- */

static int parse_docker(struct conf_ctx *p, const cJSON *root, struct reg_config *cfg)
{
    static const char *const known[] = {"host", NULL};
    const cJSON *d = conf_member(root, "docker");
    if (!d) return 0;
    if (!cJSON_IsObject(d)) return conf_fail(p, "docker", "an object", d);
    if (conf_check_keys(p, d, "docker", known, CONF_NO_KEYS, NULL) < 0) return -1;
    if (conf_get_string(p, d, "docker", "host", false, &cfg->docker_host) < 0) return -1;
    if (cfg->docker_host && !docker_host_ok(cfg->docker_host))
        return conf_fail(p, "docker.host", "\"unix:///path\" or \"tcp://host:port\"",
                         conf_member(d, "host"));
    return 0;
}

/* A non-empty array of strings, each accepted by ok(). */
static int get_list(struct conf_ctx *p, const cJSON *reg, const char *key, bool (*ok)(const char *),
                    const char *want, const char *list_want, struct strlist *out)
{
    char path[PATH_LEN];
    const cJSON *a = conf_member(reg, key), *it;
    conf_join(path, sizeof path, "registry", key);
    if (!a) return conf_failf(p, "%s: required", path);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0) return conf_fail(p, path, list_want, a);
    cJSON_ArrayForEach(it, a)
    {
        char ipath[PATH_LEN + 24];
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, out->n);
        if (!cJSON_IsString(it) || !backend_text_is_safe(it->valuestring) || !ok(it->valuestring))
            return conf_fail(p, ipath, want, it);
        if (strlist_push(out, it->valuestring) < 0) return conf_oom(p);
    }
    return 0;
}

static bool zk_host_ok(const char *s)
{
    return authority_ok(s, strlen(s), true);
}

/* Each registry type's keys, so that the other type's are named as such. */
#define ZK_REGISTRY_KEYS "hosts", "path", "session_timeout_ms", "auth_file"
#define ETCD_REGISTRY_KEYS                                                                         \
    "endpoints", "prefix", "ttl_s", "username", "password", "ca_file", "cert_file", "key_file"

static int parse_zookeeper(struct conf_ctx *p, const cJSON *reg, struct reg_config *cfg)
{
    static const char *const known[] = {"type", ZK_REGISTRY_KEYS, NULL};
    static const char *const etcd_keys[] = {ETCD_REGISTRY_KEYS, NULL};
    if (conf_check_keys(p, reg, "registry", known, etcd_keys, "zookeeper") < 0) return -1;
    if (get_list(p, reg, "hosts", zk_host_ok, "\"host:port\"",
                 "a non-empty array of \"host:port\" strings", &cfg->zk_hosts) < 0)
        return -1;
    if (conf_get_string(p, reg, "registry", "path", false, &cfg->zk_path) < 0) return -1;
    char *zp = cfg->zk_path;
    size_t n = strlen(zp);
    if (n > 1 && zp[n - 1] == '/') zp[--n] = '\0';
    if (zp[0] != '/' || !components_ok(zp, n))
        return conf_fail(
            p, "registry.path",
            "an absolute path of [A-Za-z0-9._-] components like \"/smartdock/services\"",
            conf_member(reg, "path"));
    if (conf_get_string(p, reg, "registry", "auth_file", false, &cfg->zk_auth_file) < 0) return -1;
    return conf_get_int(p, reg, "registry", "session_timeout_ms", false, 1000, 600000,
                        &cfg->zk_session_timeout_ms);
}

static int parse_etcd(struct conf_ctx *p, const cJSON *reg, struct reg_config *cfg)
{
    static const char *const known[] = {"type", ETCD_REGISTRY_KEYS, NULL};
    static const char *const zk_keys[] = {ZK_REGISTRY_KEYS, NULL};
    if (conf_check_keys(p, reg, "registry", known, zk_keys, "etcd") < 0) return -1;
    if (get_list(p, reg, "endpoints", url_ok, "an http:// or https:// URL",
                 "a non-empty array of http:// or https:// URLs", &cfg->etcd_endpoints) < 0)
        return -1;
    /* "http://h:2379/" and "http://h:2379" are the same endpoint. */
    for (size_t i = 0; i < cfg->etcd_endpoints.n; i++) {
        char *e = cfg->etcd_endpoints.v[i];
        size_t n = strlen(e);
        while (n > 0 && e[n - 1] == '/')
            e[--n] = '\0';
    }
    if (conf_get_string(p, reg, "registry", "prefix", false, &cfg->etcd_prefix) < 0) return -1;
    size_t n = strlen(cfg->etcd_prefix);
    if (cfg->etcd_prefix[0] != '/' ||
        (n > 1 && !components_ok(cfg->etcd_prefix, cfg->etcd_prefix[n - 1] == '/' ? n - 1 : n)))
        return conf_fail(p, "registry.prefix",
                         "a key prefix of [A-Za-z0-9._-] components like \"/smartdock/services/\"",
                         conf_member(reg, "prefix"));
    char *slashed = NULL;
    if (cfg->etcd_prefix[n - 1] != '/') {
        if (asprintf(&slashed, "%s/", cfg->etcd_prefix) < 0) return conf_oom(p);
        free(cfg->etcd_prefix);
        cfg->etcd_prefix = slashed;
    }
    if (conf_get_int(p, reg, "registry", "ttl_s", false, 2, 3600, &cfg->etcd_ttl_s) < 0 ||
        conf_get_string(p, reg, "registry", "username", false, &cfg->etcd_username) < 0 ||
        conf_get_string(p, reg, "registry", "password", false, &cfg->etcd_password) < 0 ||
        conf_get_string(p, reg, "registry", "ca_file", false, &cfg->etcd_ca_file) < 0 ||
        conf_get_string(p, reg, "registry", "cert_file", false, &cfg->etcd_cert_file) < 0 ||
        conf_get_string(p, reg, "registry", "key_file", false, &cfg->etcd_key_file) < 0)
        return -1;
    if (cfg->etcd_password && !cfg->etcd_username)
        return conf_failf(p, "registry.username: required with registry.password");
    if (cfg->etcd_username && !cfg->etcd_password)
        return conf_failf(p, "registry.password: required with registry.username");
    if (cfg->etcd_cert_file && !cfg->etcd_key_file)
        return conf_failf(p, "registry.key_file: required with registry.cert_file");
    if (cfg->etcd_key_file && !cfg->etcd_cert_file)
        return conf_failf(p, "registry.cert_file: required with registry.key_file");
    return 0;
}

static int parse_registry(struct conf_ctx *p, const cJSON *root, struct reg_config *cfg,
                          bool partial)
{
    const cJSON *reg = conf_member(root, "registry");
    if (!reg && partial) return 0;
    if (!reg) return conf_failf(p, "registry: required");
    if (!cJSON_IsObject(reg)) return conf_fail(p, "registry", "an object", reg);
    const cJSON *type = conf_member(reg, "type");
    if (!type) {
        if (!conf_member(reg, "hosts")) return conf_failf(p, "registry.type: required");
        cfg->registry_type = REGISTRY_ZOOKEEPER;
    } else if (cJSON_IsString(type) && !strcmp(type->valuestring, "zookeeper")) {
        cfg->registry_type = REGISTRY_ZOOKEEPER;
    } else if (cJSON_IsString(type) && !strcmp(type->valuestring, "etcd")) {
        cfg->registry_type = REGISTRY_ETCD;
    } else {
        return conf_fail(p, "registry.type", "\"zookeeper\" or \"etcd\"", type);
    }
    return cfg->registry_type == REGISTRY_ZOOKEEPER ? parse_zookeeper(p, reg, cfg)
                                                    : parse_etcd(p, reg, cfg);
}

static int parse_service(struct conf_ctx *p, const cJSON *svc, struct reg_service *s)
{
    static const char *const known[] = {"image_name", "container_port",         "labels",
                                        "weight",     "haproxy_server_options", "drain_ms",
                                        "checks",     "check_interval",         NULL};
    char base[PATH_LEN], path[PATH_LEN];
    conf_join(base, sizeof base, "services", svc->string);
    s->weight = BACKEND_WEIGHT_UNSET;
    s->check_interval_ms = CHECK_INTERVAL_DEFAULT_MS;
    if (!(s->name = strdup(svc->string))) return conf_oom(p);
    if (!cJSON_IsObject(svc)) return conf_fail(p, base, "an object", svc);
    if (conf_check_keys(p, svc, base, known, CONF_NO_KEYS, NULL) < 0) return -1;

    conf_join(path, sizeof path, base, "image_name");
    const cJSON *img = conf_member(svc, "image_name");
    if (!img) return conf_failf(p, "%s: required", path);
    if (!cJSON_IsString(img)) return conf_fail(p, path, "an image reference", img);
    struct imageref ref;
    char why[256];
    if (imageref_parse(img->valuestring, &ref, why, sizeof why) < 0) {
        char got[160];
        conf_describe(img, got, sizeof got);
        return conf_failf(p, "%s: expected an image reference, got %s (%s)", path, got, why);
    }
    imageref_clear(&ref);
    if (!(s->image_name = strdup(img->valuestring))) return conf_oom(p);

    if (conf_get_int(p, svc, base, "container_port", true, 1, 65535, &s->container_port) < 0 ||
        conf_get_labels(p, svc, base, "labels", &s->labels, &s->nlabels) < 0 ||
        conf_get_int(p, svc, base, "weight", false, 0, 256, &s->weight) < 0)
        return -1;

    if (conf_get_server_options(p, svc, base, "haproxy_server_options",
                                &s->haproxy_server_options) < 0)
        return -1;
    const cJSON *checks = conf_member(svc, "checks");
    conf_join(path, sizeof path, base, "checks");
    if (checks && check_list_parse(p, checks, path, &s->checks) < 0) return -1;
    if (conf_get_seconds_ms(p, svc, base, "check_interval", 1, 3600000, &s->check_interval_ms) < 0)
        return -1;
    return conf_get_int(p, svc, base, "drain_ms", false, 0, 600000, &s->drain_ms);
}

static int parse_services(struct conf_ctx *p, const cJSON *root, struct reg_config *cfg)
{
    const cJSON *svcs = conf_member(root, "services"), *it;
    if (!svcs) return 0;
    if (!cJSON_IsObject(svcs)) return conf_fail(p, "services", "an object", svcs);
    size_t n = (size_t)cJSON_GetArraySize(svcs);
    if (n == 0) return 0;
    if (!(cfg->services = calloc(n, sizeof *cfg->services)) ||
        !(cfg->nerve_services = calloc(n, sizeof *cfg->nerve_services)))
        return conf_oom(p);
    cJSON_ArrayForEach(it, svcs)
    {
        char k[PATH_LEN];
        conf_join(k, sizeof k, "services", it->string);
        if (conf_has_later(it)) {
            if (conf_warnf(p, "duplicate key %s: the last one is used", k) < 0) return -1;
            continue;
        }
        if (!reg_name_is_safe(it->string))
            return conf_fail_str(
                p, "services", "service names of [A-Za-z0-9._-] (not \".\" or \"..\")", it->string);
        if (cfg->instance_id && nerve_service_shape(it)) {
            if (nerve_service_parse(p, it, it->string, k,
                                    &cfg->nerve_services[cfg->nnerve_services++]) < 0)
                return -1;
            continue;
        }
        if (!cfg->follows_docker)
            return conf_failf(p,
                              "%s: a Nerve service needs \"host\", \"port\" and "
                              "\"reporter_type\"; a container service needs \"registry\" "
                              "and \"advertise_host\" at the top",
                              k);
        if (parse_service(p, it, &cfg->services[cfg->nservices++]) < 0) return -1;
    }
    return 0;
}

/* label_registration: "unconfigured" (default), "any" or "off". */
static int parse_label_registration(struct conf_ctx *p, const cJSON *root, struct reg_config *cfg)
{
    char *lr = NULL;
    if (conf_get_string(p, root, "", "label_registration", false, &lr) < 0) return -1;
    if (!lr) return 0;
    static const char *const modes[] = {"unconfigured", "any", "off"};
    size_t i = 0;
    while (i < 3 && strcmp(lr, modes[i]) != 0)
        i++;
    int r =
        i < 3 ? 0
              : conf_fail_str(p, "label_registration", "\"any\", \"unconfigured\" or \"off\"", lr);
    free(lr);
    if (r < 0) return -1;
    cfg->label_registration = (enum label_registration)i;
    return 0;
}

/* Nerve's top level: instance_id, heartbeat_path, service_conf_dir, ... */
static int parse_nerve_top(struct conf_ctx *p, const cJSON *root, struct reg_config *cfg)
{
    if (conf_get_string(p, root, "", "instance_id", true, &cfg->instance_id) < 0) return -1;
    if (!*cfg->instance_id || strchr(cfg->instance_id, '/'))
        return conf_fail(p, "instance_id", "a non-empty name without '/'",
                         conf_member(root, "instance_id"));
    if (conf_get_string(p, root, "", "heartbeat_path", false, &cfg->heartbeat_path) < 0 ||
        conf_get_positive(p, root, "", "max_repeated_report_failures", INT_MAX,
                          &cfg->max_repeated_report_failures) < 0)
        return -1;
    static const char *const ignored[] = {"statsd", "rate_limiting", NULL};
    for (const char *const *k = ignored; *k; k++)
        if (conf_member(root, *k) &&
            conf_warnf(p,
                       "%s: accepted and ignored (smartdock has no statsd output and reports "
                       "every transition)",
                       *k) < 0)
            return -1;
    return 0;
}

/* The keys that mirror gliderlabs/registrator's flags. */
static int parse_registrator_keys(struct conf_ctx *p, const cJSON *root, struct reg_config *cfg)
{
    if (conf_get_bool(p, root, "", "explicit", &cfg->explicit_only) < 0 ||
        conf_get_bool(p, root, "", "internal", &cfg->internal) < 0 ||
        conf_get_string(p, root, "", "use_ip_from_label", false, &cfg->ip_from_label) < 0 ||
        conf_get_string(p, root, "", "tags", false, &cfg->force_tags) < 0)
        return -1;
    if (cfg->ip_from_label && !*cfg->ip_from_label)
        return conf_fail(p, "use_ip_from_label", "a label name",
                         conf_member(root, "use_ip_from_label"));
    return 0;
}

/* The top-level keys of a Docker config; a Nerve config (one with
 * "instance_id") may have them all, plus Nerve's own. */
#define DOCKER_TOP_KEYS                                                                            \
    "docker", "advertise_host", "resync_interval_s", "registry", "services", "explicit",           \
        "internal", "tags", "use_ip_from_label", "log_format", "metrics", "control_socket",        \
        "label_registration"
#define NERVE_ONLY_TOP_KEYS                                                                        \
    "instance_id", "heartbeat_path", "service_conf_dir", "statsd", "rate_limiting",                \
        "max_repeated_report_failures"

static int parse_root(struct conf_ctx *p, const cJSON *root, struct reg_config *cfg, bool partial)
{
    static const char *const known[] = {DOCKER_TOP_KEYS, NULL};
    static const char *const known_nerve[] = {DOCKER_TOP_KEYS, NERVE_ONLY_TOP_KEYS, NULL};
    if (!cJSON_IsObject(root)) return conf_fail(p, "config", "an object", root);
    bool nerve = conf_member(root, "instance_id") != NULL;
    cfg->follows_docker = !nerve || conf_member(root, "registry");
    if (conf_check_keys(p, root, "", nerve ? known_nerve : known, CONF_NO_KEYS, NULL) < 0 ||
        (nerve && parse_nerve_top(p, root, cfg) < 0))
        return -1;
    char derr[300];
    if (daemon_config_parse(root, &cfg->daemon, derr, sizeof derr) < 0)
        return conf_failf(p, "%s", derr);
    if (cfg->follows_docker) {
        if (parse_docker(p, root, cfg) < 0 || parse_registrator_keys(p, root, cfg) < 0 ||
            conf_get_string(p, root, "", "advertise_host", !partial, &cfg->advertise_host) < 0)
            return -1;
        if (cfg->advertise_host && !backend_host_is_valid(cfg->advertise_host))
            return conf_fail(p, "advertise_host", "a hostname or IP address",
                             conf_member(root, "advertise_host"));
        if (conf_get_int(p, root, "", "resync_interval_s", false, 1, INT_MAX,
                         &cfg->resync_interval_s) < 0 ||
            parse_registry(p, root, cfg, partial) < 0 || parse_label_registration(p, root, cfg) < 0)
            return -1;
    }
    if (parse_services(p, root, cfg) < 0) return -1;
    char *dir = NULL;
    if (nerve && conf_get_string(p, root, "", "service_conf_dir", false, &dir) < 0) return -1;
    int rc = dir ? nerve_conf_dir_parse(p, dir, &cfg->nerve_services, &cfg->nnerve_services) : 0;
    free(dir);
    return rc;
}

/* ---- entry points ------------------------------------------------------ */

static struct reg_config *config_new(void)
{
    struct reg_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    cfg->resync_interval_s = 60;
    cfg->registry_type = REGISTRY_ZOOKEEPER;
    cfg->zk_path = strdup("/smartdock/services");
    cfg->zk_session_timeout_ms = 10000;
    cfg->etcd_prefix = strdup("/smartdock/services/");
    cfg->etcd_ttl_s = 10;
    cfg->explicit_only = true;
    cfg->deregister = DEREGISTER_ALWAYS;
    cfg->retry_attempts = -1;
    cfg->retry_interval_ms = 2000;
    if (!cfg->zk_path || !cfg->etcd_prefix) {
        reg_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static int parse(const char *json, bool partial, struct reg_config **out, char ***warnings,
                 char *err, size_t errlen)
{
    struct conf_ctx p = {.err = err, .errlen = errlen};
    *out = NULL;
    if (warnings) *warnings = NULL;
    cJSON *root = conf_parse_json(&p, json);
    if (!root) return -1;
    struct reg_config *cfg = config_new();
    int rc = cfg ? parse_root(&p, root, cfg, partial) : conf_oom(&p);
    cJSON_Delete(root);
    /* An empty warnings array is still an array, so callers can always iterate. */
    if (rc == 0 && warnings) rc = conf_warn_reserve(&p);
    if (rc < 0) {
        reg_config_free(cfg);
        reg_config_free_warnings(p.warn.v);
        return -1;
    }
    *out = cfg;
    if (warnings)
        *warnings = p.warn.v;
    else
        reg_config_free_warnings(p.warn.v);
    return 0;
}

int reg_config_parse(const char *json, struct reg_config **out, char ***warnings, char *err,
                     size_t errlen)
{
    return parse(json, false, out, warnings, err, errlen);
}

static int load(const char *path, bool partial, struct reg_config **out, char ***warnings,
                char *err, size_t errlen)
{
    *out = NULL;
    if (warnings) *warnings = NULL;
    char *buf = conf_read_file(path, err, errlen);
    if (!buf) return -1;
    char inner[1024];
    int rc = parse(buf, partial, out, warnings, inner, sizeof inner);
    free(buf);
    if (rc < 0) snprintf(err, errlen, "%s: %s", path, inner);
    return rc;
}

int reg_config_load(const char *path, struct reg_config **out, char ***warnings, char *err,
                    size_t errlen)
{
    return load(path, false, out, warnings, err, errlen);
}

int reg_config_load_partial(const char *path, struct reg_config **out, char ***warnings, char *err,
                            size_t errlen)
{
    return load(path, true, out, warnings, err, errlen);
}

struct reg_config *reg_config_new(void)
{
    struct reg_config *cfg = config_new();
    if (cfg) {
        cfg->explicit_only = false;
        cfg->follows_docker = true;
    }
    return cfg;
}

int reg_config_complete(const struct reg_config *c, char *err, size_t errlen)
{
    if (!c->follows_docker) return 0;
    if (!c->advertise_host) {
        snprintf(err, errlen, "advertise_host: required (the config key or -ip)");
        return -1;
    }
    if (c->registry_type == REGISTRY_ZOOKEEPER ? !c->zk_hosts.n : !c->etcd_endpoints.n) {
        snprintf(err, errlen, "registry: required (the config section or a registry URI)");
        return -1;
    }
    return 0;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

bool reg_config_same_connections(const struct reg_config *a, const struct reg_config *b)
{
    return same_str(a->docker_host, b->docker_host) && a->registry_type == b->registry_type &&
           strlist_equal(&a->zk_hosts, &b->zk_hosts) && same_str(a->zk_path, b->zk_path) &&
           a->zk_session_timeout_ms == b->zk_session_timeout_ms &&
           strlist_equal(&a->etcd_endpoints, &b->etcd_endpoints) &&
           same_str(a->etcd_prefix, b->etcd_prefix) && a->etcd_ttl_s == b->etcd_ttl_s &&
           a->etcd_keepalive_s == b->etcd_keepalive_s &&
           same_str(a->etcd_username, b->etcd_username) &&
           same_str(a->etcd_password, b->etcd_password) &&
           same_str(a->etcd_ca_file, b->etcd_ca_file) &&
           same_str(a->etcd_cert_file, b->etcd_cert_file) &&
           same_str(a->etcd_key_file, b->etcd_key_file) && a->follows_docker == b->follows_docker;
}

void reg_config_free(struct reg_config *c)
{
    if (!c) return;
    daemon_config_clear(&c->daemon);
    free(c->docker_host);
    free(c->advertise_host);
    strlist_clear(&c->zk_hosts);
    free(c->zk_path);
    free(c->zk_auth_file);
    strlist_clear(&c->etcd_endpoints);
    free(c->etcd_prefix);
    free(c->etcd_username);
    free(c->etcd_password);
    free(c->etcd_ca_file);
    free(c->etcd_cert_file);
    free(c->etcd_key_file);
    free(c->ip_from_label);
    free(c->force_tags);
    for (size_t i = 0; i < c->nservices; i++) {
        struct reg_service *s = &c->services[i];
        free(s->name);
        free(s->image_name);
        for (size_t j = 0; j < s->nlabels; j++) {
            free(s->labels[j].key);
            free(s->labels[j].value);
        }
        free(s->labels);
        free(s->haproxy_server_options);
        check_list_clear(&s->checks);
    }
    free(c->services);
    free(c->instance_id);
    free(c->heartbeat_path);
    for (size_t i = 0; i < c->nnerve_services; i++)
        nerve_service_clear(&c->nerve_services[i]);
    free(c->nerve_services);
    free(c);
}

void reg_config_free_warnings(char **warnings)
{
    if (!warnings) return;
    for (char **w = warnings; *w; w++)
        free(*w);
    free(warnings);
}
