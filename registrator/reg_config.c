/*
 * smartdock-registrator's config file: JSON in, plain structs out, validated
 * once. Every error names the JSON path and shows the offending value as
 * JSON; unknown keys are warnings, never errors.
 */
#include "reg_config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imageref.h"

#define PATH_LEN 512
#define CONFIG_MAX_BYTES (4 * 1024 * 1024)

struct pctx {
    char *err;
    size_t errlen;
    char **warn; /* NULL-terminated once anything is pushed */
    size_t nwarn, capwarn;
};

static const char *const NO_KEYS[] = {NULL};

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

/* ---- messages ---------------------------------------------------------- */

/* A bounded rendering of a JSON value. cJSON escapes control characters
 * inside strings; DEL is the one left to hide. */
static void describe(const cJSON *v, char *buf, size_t len)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(buf, len, "%.100s%s", s ? s : "nothing", s && strlen(s) > 100 ? "..." : "");
    for (char *q = buf; *q; q++)
        if (*q == 0x7f) *q = '?';
    free(s);
}

static int failf(struct pctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(struct pctx *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int fail(struct pctx *p, const char *path, const char *want, const cJSON *v)
{
    char got[160];
    describe(v, got, sizeof got);
    return failf(p, "%s: expected %s, got %s", path, want, got);
}

static int oom(struct pctx *p)
{
    return failf(p, "out of memory");
}

/* Room for one more warning and the terminating NULL. */
static int warn_reserve(struct pctx *p)
{
    if (p->nwarn + 2 > p->capwarn) {
        size_t cap = p->capwarn ? p->capwarn * 2 : 8;
        char **v = realloc(p->warn, cap * sizeof *v);
        if (!v) return oom(p);
        p->warn = v;
        p->capwarn = cap;
    }
    p->warn[p->nwarn] = NULL;
    return 0;
}

static int warnf(struct pctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warnf(struct pctx *p, const char *fmt, ...)
{
    if (warn_reserve(p) < 0) return -1;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) return oom(p);
    p->warn[p->nwarn++] = s;
    p->warn[p->nwarn] = NULL;
    return 0;
}

/* prefix.key into buf; control characters in key (it is user input) become '?'. */
static void join(char *buf, size_t len, const char *prefix, const char *key)
{
    int n = prefix && *prefix ? snprintf(buf, len, "%s.", prefix) : 0;
    size_t j = n < 0 ? 0 : (size_t)n;
    for (const char *k = key ? key : ""; *k && j + 1 < len; k++)
        buf[j++] = (unsigned char)*k < 0x20 || *k == 0x7f ? '?' : *k;
    if (j < len) buf[j] = '\0';
}

/* ---- typed getters ----------------------------------------------------- */

/* The last member named key (as most JSON readers do; check_keys warns about
 * duplicates), or NULL when absent or null. */
static const cJSON *member(const cJSON *obj, const char *key)
{
    const cJSON *found = NULL, *it;
    cJSON_ArrayForEach(it, obj)
    {
        if (it->string && !strcmp(it->string, key)) found = it;
    }
    return cJSON_IsNull(found) ? NULL : found;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (!strcmp(*list, s)) return true;
    return false;
}

/* Is there another member with it's key after it? (The last one is used.) */
static bool has_later(const cJSON *it)
{
    for (const cJSON *jt = it->next; jt; jt = jt->next)
        if (!strcmp(jt->string, it->string)) return true;
    return false;
}

/* fail() for a value that is not a JSON value of its own: an object key. */
static int fail_str(struct pctx *p, const char *path, const char *want, const char *s)
{
    cJSON *v = cJSON_CreateString(s);
    int r = v ? fail(p, path, want, v) : oom(p);
    cJSON_Delete(v);
    return r;
}

/* Warns about duplicate keys and keys outside known; keys in other_type are
 * meaningful for the other registry type and say so. */
static int check_keys(struct pctx *p, const cJSON *obj, const char *path, const char *const *known,
                      const char *const *other_type, const char *type_name)
{
    const cJSON *it;
    char k[PATH_LEN];
    cJSON_ArrayForEach(it, obj)
    {
        join(k, sizeof k, path, it->string);
        if (has_later(it) && warnf(p, "duplicate key %s: the last one is used", k) < 0) return -1;
        if (in_list(known, it->string)) continue;
        int r = in_list(other_type, it->string)
                    ? warnf(p, "unknown key %s (not used with %s)", k, type_name)
                    : warnf(p, "unknown key %s", k);
        if (r < 0) return -1;
    }
    return 0;
}

static int get_string(struct pctx *p, const cJSON *obj, const char *prefix, const char *key,
                      bool required, char **out)
{
    char path[PATH_LEN];
    const cJSON *v = member(obj, key);
    join(path, sizeof path, prefix, key);
    if (!v) return required ? failf(p, "%s: required", path) : 0;
    if (!cJSON_IsString(v)) return fail(p, path, "a string", v);
    if (!backend_text_is_safe(v->valuestring))
        return fail(p, path, "a string without control characters", v);
    free(*out);
    *out = strdup(v->valuestring);
    return *out ? 0 : oom(p);
}

static bool as_int(const cJSON *v, long lo, long hi, int *out)
{
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi) return false;
    *out = (int)d;
    return true;
}

/* Leaves *out alone when the key is absent. */
static int get_int(struct pctx *p, const cJSON *obj, const char *prefix, const char *key,
                   bool required, long lo, long hi, int *out)
{
    char path[PATH_LEN], want[64];
    const cJSON *v = member(obj, key);
    join(path, sizeof path, prefix, key);
    if (!v) return required ? failf(p, "%s: required", path) : 0;
    if (hi == INT_MAX)
        snprintf(want, sizeof want, "an integer >= %ld", lo);
    else
        snprintf(want, sizeof want, "an integer %ld..%ld", lo, hi);
    return as_int(v, lo, hi, out) ? 0 : fail(p, path, want, v);
}

/* ---- value syntax ------------------------------------------------------ */

static bool port_ok(const char *s, size_t n)
{
    long port = 0;
    if (n == 0 || n > 5) return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

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
    return port ? port_ok(port, (size_t)(end - port)) : !need_port;
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

static int parse_docker(struct pctx *p, const cJSON *root, struct reg_config *cfg)
{
    static const char *const known[] = {"host", NULL};
    const cJSON *d = member(root, "docker");
    if (!d) return 0;
    if (!cJSON_IsObject(d)) return fail(p, "docker", "an object", d);
    if (check_keys(p, d, "docker", known, NO_KEYS, NULL) < 0) return -1;
    if (get_string(p, d, "docker", "host", false, &cfg->docker_host) < 0) return -1;
    if (cfg->docker_host && !docker_host_ok(cfg->docker_host))
        return fail(p, "docker.host", "\"unix:///path\" or \"tcp://host:port\"", member(d, "host"));
    return 0;
}

/* A non-empty array of strings, each accepted by ok(). */
static int get_list(struct pctx *p, const cJSON *reg, const char *key, bool (*ok)(const char *),
                    const char *want, const char *list_want, char ***out, size_t *n)
{
    char path[PATH_LEN];
    const cJSON *a = member(reg, key), *it;
    join(path, sizeof path, "registry", key);
    if (!a) return failf(p, "%s: required", path);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0) return fail(p, path, list_want, a);
    *out = calloc((size_t)cJSON_GetArraySize(a), sizeof **out);
    if (!*out) return oom(p);
    cJSON_ArrayForEach(it, a)
    {
        char ipath[PATH_LEN + 24];
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, *n);
        if (!cJSON_IsString(it) || !backend_text_is_safe(it->valuestring) || !ok(it->valuestring))
            return fail(p, ipath, want, it);
        if (!((*out)[(*n)++] = strdup(it->valuestring))) return oom(p);
    }
    return 0;
}

static bool zk_host_ok(const char *s)
{
    return authority_ok(s, strlen(s), true);
}

static int parse_zookeeper(struct pctx *p, const cJSON *reg, struct reg_config *cfg)
{
    static const char *const known[] = {"type",      "hosts", "path", "session_timeout_ms",
                                        "auth_file", NULL};
    static const char *const etcd_keys[] = {"endpoints", "prefix",   "ttl_s",
                                            "username",  "password", "ca_file",
                                            "cert_file", "key_file", NULL};
    if (check_keys(p, reg, "registry", known, etcd_keys, "zookeeper") < 0) return -1;
    if (get_list(p, reg, "hosts", zk_host_ok, "\"host:port\"",
                 "a non-empty array of \"host:port\" strings", &cfg->zk_hosts, &cfg->nzk_hosts) < 0)
        return -1;
    if (get_string(p, reg, "registry", "path", false, &cfg->zk_path) < 0) return -1;
    char *zp = cfg->zk_path;
    size_t n = strlen(zp);
    if (n > 1 && zp[n - 1] == '/') zp[--n] = '\0';
    if (zp[0] != '/' || !components_ok(zp, n))
        return fail(p, "registry.path",
                    "an absolute path of [A-Za-z0-9._-] components like \"/smartdock/services\"",
                    member(reg, "path"));
    if (get_string(p, reg, "registry", "auth_file", false, &cfg->zk_auth_file) < 0) return -1;
    return get_int(p, reg, "registry", "session_timeout_ms", false, 1000, 600000,
                   &cfg->zk_session_timeout_ms);
}

static int parse_etcd(struct pctx *p, const cJSON *reg, struct reg_config *cfg)
{
    static const char *const known[] = {"type",     "endpoints", "prefix",  "ttl_s",
                                        "username", "password",  "ca_file", "cert_file",
                                        "key_file", NULL};
    static const char *const zk_keys[] = {"hosts", "path", "session_timeout_ms", "auth_file", NULL};
    if (check_keys(p, reg, "registry", known, zk_keys, "etcd") < 0) return -1;
    if (get_list(p, reg, "endpoints", url_ok, "an http:// or https:// URL",
                 "a non-empty array of http:// or https:// URLs", &cfg->etcd_endpoints,
                 &cfg->netcd_endpoints) < 0)
        return -1;
    /* "http://h:2379/" and "http://h:2379" are the same endpoint. */
    for (size_t i = 0; i < cfg->netcd_endpoints; i++) {
        char *e = cfg->etcd_endpoints[i];
        size_t n = strlen(e);
        while (n > 0 && e[n - 1] == '/')
            e[--n] = '\0';
    }
    if (get_string(p, reg, "registry", "prefix", false, &cfg->etcd_prefix) < 0) return -1;
    size_t n = strlen(cfg->etcd_prefix);
    if (cfg->etcd_prefix[0] != '/' ||
        (n > 1 && !components_ok(cfg->etcd_prefix, cfg->etcd_prefix[n - 1] == '/' ? n - 1 : n)))
        return fail(p, "registry.prefix",
                    "a key prefix of [A-Za-z0-9._-] components like \"/smartdock/services/\"",
                    member(reg, "prefix"));
    char *slashed = NULL;
    if (cfg->etcd_prefix[n - 1] != '/') {
        if (asprintf(&slashed, "%s/", cfg->etcd_prefix) < 0) return oom(p);
        free(cfg->etcd_prefix);
        cfg->etcd_prefix = slashed;
    }
    if (get_int(p, reg, "registry", "ttl_s", false, 2, 3600, &cfg->etcd_ttl_s) < 0 ||
        get_string(p, reg, "registry", "username", false, &cfg->etcd_username) < 0 ||
        get_string(p, reg, "registry", "password", false, &cfg->etcd_password) < 0 ||
        get_string(p, reg, "registry", "ca_file", false, &cfg->etcd_ca_file) < 0 ||
        get_string(p, reg, "registry", "cert_file", false, &cfg->etcd_cert_file) < 0 ||
        get_string(p, reg, "registry", "key_file", false, &cfg->etcd_key_file) < 0)
        return -1;
    if (cfg->etcd_password && !cfg->etcd_username)
        return failf(p, "registry.username: required with registry.password");
    if (cfg->etcd_username && !cfg->etcd_password)
        return failf(p, "registry.password: required with registry.username");
    if (cfg->etcd_cert_file && !cfg->etcd_key_file)
        return failf(p, "registry.key_file: required with registry.cert_file");
    if (cfg->etcd_key_file && !cfg->etcd_cert_file)
        return failf(p, "registry.cert_file: required with registry.key_file");
    return 0;
}

static int parse_registry(struct pctx *p, const cJSON *root, struct reg_config *cfg)
{
    const cJSON *reg = member(root, "registry");
    if (!reg) return failf(p, "registry: required");
    if (!cJSON_IsObject(reg)) return fail(p, "registry", "an object", reg);
    const cJSON *type = member(reg, "type");
    if (!type) {
        if (!member(reg, "hosts")) return failf(p, "registry.type: required");
        cfg->registry_type = REGISTRY_ZOOKEEPER;
    } else if (cJSON_IsString(type) && !strcmp(type->valuestring, "zookeeper")) {
        cfg->registry_type = REGISTRY_ZOOKEEPER;
    } else if (cJSON_IsString(type) && !strcmp(type->valuestring, "etcd")) {
        cfg->registry_type = REGISTRY_ETCD;
    } else {
        return fail(p, "registry.type", "\"zookeeper\" or \"etcd\"", type);
    }
    return cfg->registry_type == REGISTRY_ZOOKEEPER ? parse_zookeeper(p, reg, cfg)
                                                    : parse_etcd(p, reg, cfg);
}

static int parse_labels(struct pctx *p, const cJSON *svc, const char *base, struct reg_service *s)
{
    char path[PATH_LEN], lpath[PATH_LEN];
    const cJSON *labels = member(svc, "labels"), *l;
    join(path, sizeof path, base, "labels");
    if (!labels) return 0;
    if (!cJSON_IsObject(labels)) return fail(p, path, "an object of strings", labels);
    size_t n = (size_t)cJSON_GetArraySize(labels);
    if (n && !(s->labels = calloc(n, sizeof *s->labels))) return oom(p);
    cJSON_ArrayForEach(l, labels)
    {
        join(lpath, sizeof lpath, path, l->string);
        if (!*l->string || !backend_text_is_safe(l->string))
            return fail_str(p, path, "non-empty keys without control characters", l->string);
        if (!cJSON_IsString(l) || !backend_text_is_safe(l->valuestring))
            return fail(p, lpath, "a string without control characters", l);
        if (has_later(l)) {
            if (warnf(p, "duplicate key %s: the last one is used", lpath) < 0) return -1;
            continue;
        }
        struct label *dst = &s->labels[s->nlabels++];
        if (!(dst->key = strdup(l->string)) || !(dst->value = strdup(l->valuestring)))
            return oom(p);
    }
    return 0;
}

static int parse_service(struct pctx *p, const cJSON *svc, struct reg_service *s)
{
    static const char *const known[] = {"image_name", "container_port",         "labels",
                                        "weight",     "haproxy_server_options", "drain_ms",
                                        NULL};
    char base[PATH_LEN], path[PATH_LEN];
    join(base, sizeof base, "services", svc->string);
    s->weight = BACKEND_WEIGHT_UNSET;
    if (!(s->name = strdup(svc->string))) return oom(p);
    if (!cJSON_IsObject(svc)) return fail(p, base, "an object", svc);
    if (check_keys(p, svc, base, known, NO_KEYS, NULL) < 0) return -1;

    join(path, sizeof path, base, "image_name");
    const cJSON *img = member(svc, "image_name");
    if (!img) return failf(p, "%s: required", path);
    if (!cJSON_IsString(img)) return fail(p, path, "an image reference", img);
    struct imageref ref;
    char why[256];
    if (imageref_parse(img->valuestring, &ref, why, sizeof why) < 0) {
        char got[160];
        describe(img, got, sizeof got);
        return failf(p, "%s: expected an image reference, got %s (%s)", path, got, why);
    }
    imageref_clear(&ref);
    if (!(s->image_name = strdup(img->valuestring))) return oom(p);

    if (get_int(p, svc, base, "container_port", true, 1, 65535, &s->container_port) < 0 ||
        parse_labels(p, svc, base, s) < 0 ||
        get_int(p, svc, base, "weight", false, 0, 256, &s->weight) < 0)
        return -1;

    join(path, sizeof path, base, "haproxy_server_options");
    const cJSON *opts = member(svc, "haproxy_server_options");
    if (opts) {
        if (!cJSON_IsString(opts) || !backend_options_are_safe(opts->valuestring))
            return fail(p, path, "a string without control characters, '#', ';' or '\\'", opts);
        if (*opts->valuestring && !(s->haproxy_server_options = strdup(opts->valuestring)))
            return oom(p);
    }
    return get_int(p, svc, base, "drain_ms", false, 0, 600000, &s->drain_ms);
}

static int parse_services(struct pctx *p, const cJSON *root, struct reg_config *cfg)
{
    const cJSON *svcs = member(root, "services"), *it;
    if (!svcs) return 0;
    if (!cJSON_IsObject(svcs)) return fail(p, "services", "an object", svcs);
    size_t n = (size_t)cJSON_GetArraySize(svcs);
    if (n == 0) return 0;
    if (!(cfg->services = calloc(n, sizeof *cfg->services))) return oom(p);
    cJSON_ArrayForEach(it, svcs)
    {
        if (has_later(it)) {
            char k[PATH_LEN];
            join(k, sizeof k, "services", it->string);
            if (warnf(p, "duplicate key %s: the last one is used", k) < 0) return -1;
            continue;
        }
        if (!reg_name_is_safe(it->string))
            return fail_str(p, "services", "service names of [A-Za-z0-9._-] (not \".\" or \"..\")",
                            it->string);
        if (parse_service(p, it, &cfg->services[cfg->nservices++]) < 0) return -1;
    }
    return 0;
}

static int parse_root(struct pctx *p, const cJSON *root, struct reg_config *cfg)
{
    static const char *const known[] = {"docker",   "advertise_host", "resync_interval_s",
                                        "registry", "services",       NULL};
    if (!cJSON_IsObject(root)) return fail(p, "config", "an object", root);
    if (check_keys(p, root, "", known, NO_KEYS, NULL) < 0 || parse_docker(p, root, cfg) < 0)
        return -1;
    if (get_string(p, root, "", "advertise_host", true, &cfg->advertise_host) < 0) return -1;
    if (!backend_host_is_valid(cfg->advertise_host))
        return fail(p, "advertise_host", "a hostname or IP address",
                    member(root, "advertise_host"));
    if (get_int(p, root, "", "resync_interval_s", false, 1, INT_MAX, &cfg->resync_interval_s) < 0 ||
        parse_registry(p, root, cfg) < 0)
        return -1;
    return parse_services(p, root, cfg);
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
    if (!cfg->zk_path || !cfg->etcd_prefix) {
        reg_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* Where cJSON stopped, as 1-based line and column. */
static void position(const char *json, const char *at, int *line, int *col)
{
    const char *bol = json;
    *line = 1;
    for (const char *q = json; q < at && *q; q++)
        if (*q == '\n') {
            (*line)++;
            bol = q + 1;
        }
    *col = (int)(at - bol) + 1;
}

int reg_config_parse(const char *json, struct reg_config **out, char ***warnings, char *err,
                     size_t errlen)
{
    struct pctx p = {.err = err, .errlen = errlen};
    *out = NULL;
    if (warnings) *warnings = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        int line, col;
        position(json, end ? end : json, &line, &col);
        return failf(&p, "malformed JSON at line %d, column %d", line, col);
    }
    struct reg_config *cfg = config_new();
    int rc = cfg ? parse_root(&p, root, cfg) : oom(&p);
    cJSON_Delete(root);
    /* An empty warnings array is still an array, so callers can always iterate. */
    if (rc == 0 && warnings) rc = warn_reserve(&p);
    if (rc < 0) {
        reg_config_free(cfg);
        reg_config_free_warnings(p.warn);
        return -1;
    }
    *out = cfg;
    if (warnings)
        *warnings = p.warn;
    else
        reg_config_free_warnings(p.warn);
    return 0;
}

int reg_config_load(const char *path, struct reg_config **out, char ***warnings, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (warnings) *warnings = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(CONFIG_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    size_t n = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    const char *why = rerr                   ? strerror(rerr)
                      : n > CONFIG_MAX_BYTES ? "larger than 4 MiB"
                      : memchr(buf, '\0', n) ? "contains a NUL byte"
                                             : NULL;
    if (why) {
        free(buf);
        snprintf(err, errlen, rerr ? "cannot read %s: %s" : "%s: %s", path, why);
        return -1;
    }
    buf[n] = '\0';
    char inner[1024];
    int rc = reg_config_parse(buf, out, warnings, inner, sizeof inner);
    free(buf);
    if (rc < 0) snprintf(err, errlen, "%s: %s", path, inner);
    return rc;
}

void reg_config_free(struct reg_config *c)
{
    if (!c) return;
    free(c->docker_host);
    free(c->advertise_host);
    for (size_t i = 0; i < c->nzk_hosts; i++)
        free(c->zk_hosts[i]);
    free(c->zk_hosts);
    free(c->zk_path);
    free(c->zk_auth_file);
    for (size_t i = 0; i < c->netcd_endpoints; i++)
        free(c->etcd_endpoints[i]);
    free(c->etcd_endpoints);
    free(c->etcd_prefix);
    free(c->etcd_username);
    free(c->etcd_password);
    free(c->etcd_ca_file);
    free(c->etcd_cert_file);
    free(c->etcd_key_file);
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
    }
    free(c->services);
    free(c);
}

void reg_config_free_warnings(char **warnings)
{
    if (!warnings) return;
    for (char **w = warnings; *w; w++)
        free(*w);
    free(warnings);
}
