/*
 * Nerve services, with Nerve's keys and defaults (its README and
 * lib/nerve/reporter/ files): reporter_type zookeeper by default, node_type
 * ephemeral_sequential, check_interval 0.5 s, etcd_port 4003, etcd_path "/".
 */
#include "nerve_config.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "reg_config.h"

#define PATH_ENCODING_MAX_LENGTH 65536 /* Nerve's limit on an encoded child name */

bool nerve_service_shape(const cJSON *svc)
{
    return cJSON_IsObject(svc) && !conf_member(svc, "image_name") &&
           (conf_member(svc, "host") || conf_member(svc, "port") ||
            conf_member(svc, "reporter_type"));
}

void nerve_service_clear(struct nerve_service *s)
{
    free(s->name);
    free(s->host);
    strlist_clear(&s->zk_hosts);
    free(s->zk_path);
    free(s->etcd_host);
    free(s->etcd_path);
    check_list_clear(&s->checks);
    free(s->haproxy_server_options);
    for (size_t i = 0; i < s->nlabels; i++) {
        free(s->labels[i].key);
        free(s->labels[i].value);
    }
    free(s->labels);
    memset(s, 0, sizeof *s);
}

static bool zk_host_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) return false;
    char host[256];
    size_t n = (size_t)(colon - s);
    if (n >= sizeof host) return false;
    memcpy(host, s, n);
    host[n] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return backend_host_is_valid(host) && *end == 0 && port >= 1 && port <= 65535;
}

/* An absolute path of safe components; a trailing '/' is dropped. */
static int get_abs_path(struct conf_ctx *p, const cJSON *svc, const char *base, const char *key,
                        bool required, char **out)
{
    char path[CONF_PATH_LEN];
    conf_join(path, sizeof path, base, key);
    if (conf_get_string(p, svc, base, key, required, out) < 0) return -1;
    if (!*out) return 0;
    size_t n = strlen(*out);
    while (n > 1 && (*out)[n - 1] == '/')
        (*out)[--n] = 0;
    bool ok = (*out)[0] == '/';
    char *copy = strdup(*out);
    if (!copy) return conf_oom(p);
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); ok && c; c = strtok_r(NULL, "/", &save))
        ok = reg_name_is_safe(c);
    free(copy);
    if (!ok)
        return conf_fail(p, path, "an absolute path of [A-Za-z0-9._-] components",
                         conf_member(svc, key));
    return 0;
}

static int parse_zookeeper(struct conf_ctx *p, const cJSON *svc, const char *base,
                           struct nerve_service *s)
{
    char path[CONF_PATH_LEN];
    const cJSON *hosts = conf_member(svc, "zk_hosts"), *it;
    conf_join(path, sizeof path, base, "zk_hosts");
    if (!hosts) return conf_failf(p, "%s: required", path);
    if (!cJSON_IsArray(hosts) || !cJSON_GetArraySize(hosts))
        return conf_fail(p, path, "a non-empty array of \"host:port\" strings", hosts);
    cJSON_ArrayForEach(it, hosts)
    {
        char ipath[CONF_PATH_LEN + 24];
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, s->zk_hosts.n);
        if (!cJSON_IsString(it) || !zk_host_ok(it->valuestring))
            return conf_fail(p, ipath, "\"host:port\"", it);
        if (strlist_push(&s->zk_hosts, it->valuestring) < 0) return conf_oom(p);
    }
    strlist_sort(&s->zk_hosts);
    if (get_abs_path(p, svc, base, "zk_path", true, &s->zk_path) < 0) return -1;

    conf_join(path, sizeof path, base, "node_type");
    const cJSON *nt = conf_member(svc, "node_type");
    static const char *const types[] = {"ephemeral_sequential", "ephemeral", "persistent",
                                        "persistent_sequential", NULL};
    if (nt) {
        bool found = false;
        for (int i = 0; cJSON_IsString(nt) && types[i]; i++)
            if (!strcmp(nt->valuestring, types[i])) {
                s->node_type = (enum nerve_node_type)i;
                found = true;
            }
        if (!found)
            return conf_fail(p, path,
                             "\"ephemeral_sequential\", \"ephemeral\", \"persistent\" or "
                             "\"persistent_sequential\"",
                             nt);
    }
    return conf_get_bool(p, svc, base, "use_path_encoding", &s->use_path_encoding) < 0 ||
                   conf_get_positive(p, svc, base, "ttl_seconds", 86400, &s->ttl_seconds) < 0
               ? -1
               : 0;
}

static int parse_etcd(struct conf_ctx *p, const cJSON *svc, const char *base,
                      struct nerve_service *s)
{
    char path[CONF_PATH_LEN];
    if (conf_get_string(p, svc, base, "etcd_host", true, &s->etcd_host) < 0) return -1;
    conf_join(path, sizeof path, base, "etcd_host");
    if (!backend_host_is_valid(s->etcd_host))
        return conf_fail(p, path, "a hostname or IP address", conf_member(svc, "etcd_host"));
    if (conf_get_int(p, svc, base, "etcd_port", false, 1, 65535, &s->etcd_port) < 0 ||
        get_abs_path(p, svc, base, "etcd_path", false, &s->etcd_path) < 0)
        return -1;
    if (!s->etcd_path && !(s->etcd_path = strdup("/"))) return conf_oom(p);
    return 0;
}

/* Nerve takes an integer or a string of digits. */
static int parse_weight(struct conf_ctx *p, const cJSON *svc, const char *base, int *out)
{
    char path[CONF_PATH_LEN];
    const cJSON *w = conf_member(svc, "weight");
    conf_join(path, sizeof path, base, "weight");
    if (!w) return 0;
    if (cJSON_IsString(w)) {
        char *end;
        long v = strtol(w->valuestring, &end, 10);
        if (*w->valuestring >= '0' && *w->valuestring <= '9' && !*end && v <= 256) {
            *out = (int)v;
            return 0;
        }
    } else if (conf_as_int(w, 0, 256, out)) {
        return 0;
    }
    return conf_fail(p, path, "an integer 0..256", w);
}

int nerve_service_parse(struct conf_ctx *p, const cJSON *svc, const char *name, const char *base,
                        struct nerve_service *s)
{
    static const char *const known[] = {"host",
                                        "port",
                                        "reporter_type",
                                        "zk_hosts",
                                        "zk_path",
                                        "node_type",
                                        "use_path_encoding",
                                        "ttl_seconds",
                                        "etcd_host",
                                        "etcd_port",
                                        "etcd_path",
                                        "check_interval",
                                        "checks",
                                        "check_mocked",
                                        "weight",
                                        "haproxy_server_options",
                                        "labels",
                                        "rate_limiting",
                                        "max_repeated_report_failures",
                                        "load_test_concurrency",
                                        NULL};
    char path[CONF_PATH_LEN];
    *s = (struct nerve_service){.weight = BACKEND_WEIGHT_UNSET,
                                .etcd_port = 4003,
                                .check_interval_ms = CHECK_INTERVAL_DEFAULT_MS};
    if (!(s->name = strdup(name))) return conf_oom(p);
    if (!cJSON_IsObject(svc)) return conf_fail(p, base, "an object", svc);
    if (!reg_name_is_safe(name))
        return conf_fail_str(p, base, "a service name of [A-Za-z0-9._-]", name);
    if (conf_check_keys(p, svc, base, known, CONF_NO_KEYS, NULL) < 0) return -1;
    if (conf_member(svc, "rate_limiting")) {
        conf_join(path, sizeof path, base, "rate_limiting");
        if (conf_warnf(p, "%s: accepted and ignored (every transition is reported)", path) < 0)
            return -1;
    }
    if (conf_get_string(p, svc, base, "host", true, &s->host) < 0) return -1;
    conf_join(path, sizeof path, base, "host");
    if (!backend_host_is_valid(s->host))
        return conf_fail(p, path, "a hostname or IP address", conf_member(svc, "host"));
    if (conf_get_int(p, svc, base, "port", true, 1, 65535, &s->port) < 0) return -1;

    conf_join(path, sizeof path, base, "reporter_type");
    const cJSON *rt = conf_member(svc, "reporter_type");
    if (!rt || (cJSON_IsString(rt) && !strcmp(rt->valuestring, "zookeeper"))) {
        s->reporter = NERVE_REPORTER_ZOOKEEPER;
        if (parse_zookeeper(p, svc, base, s) < 0) return -1;
    } else if (cJSON_IsString(rt) && !strcmp(rt->valuestring, "etcd")) {
        s->reporter = NERVE_REPORTER_ETCD;
        if (parse_etcd(p, svc, base, s) < 0) return -1;
    } else {
        return conf_fail(p, path, "\"zookeeper\" or \"etcd\"", rt);
    }

    if (conf_get_seconds_ms(p, svc, base, "check_interval", 1, 3600000, &s->check_interval_ms) <
            0 ||
        conf_get_bool(p, svc, base, "check_mocked", &s->check_mocked) < 0 ||
        parse_weight(p, svc, base, &s->weight) < 0 ||
        conf_get_labels(p, svc, base, "labels", &s->labels, &s->nlabels) < 0)
        return -1;
    const cJSON *checks = conf_member(svc, "checks");
    conf_join(path, sizeof path, base, "checks");
    if (checks && check_list_parse(p, checks, path, &s->checks) < 0) return -1;

    return conf_get_server_options(p, svc, base, "haproxy_server_options",
                                   &s->haproxy_server_options);
}

static int cmp_dirent(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int nerve_conf_dir_parse(struct conf_ctx *p, const char *dir, struct nerve_service **v, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) return conf_failf(p, "service_conf_dir: cannot read \"%s\": %m", dir);
    char **names = NULL;
    size_t nnames = 0;
    int rc = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        if (len <= 5 || strcmp(de->d_name + len - 5, ".json") || de->d_name[0] == '.') continue;
        char **grown = realloc(names, (nnames + 1) * sizeof *names);
        if (!grown || !(grown[nnames] = strndup(de->d_name, len - 5))) {
            names = grown ? grown : names;
            rc = conf_oom(p);
            break;
        }
        names = grown;
        nnames++;
    }
    closedir(d);
    qsort(names, nnames, sizeof *names, cmp_dirent);
    for (size_t i = 0; rc == 0 && i < nnames; i++) {
        char file[PATH_MAX], base[CONF_PATH_LEN], err[1024];
        snprintf(file, sizeof file, "%s/%s.json", dir, names[i]);
        char *text = conf_read_file(file, err, sizeof err);
        if (!text) {
            rc = conf_failf(p, "service_conf_dir: %s", err);
            break;
        }
        cJSON *root = conf_parse_json(p, text);
        free(text);
        if (!root) {
            snprintf(err, sizeof err, "%s", p->err);
            rc = conf_failf(p, "%s: %s", file, err);
            break;
        }
        struct nerve_service *grown = realloc(*v, (*n + 1) * sizeof **v);
        if (!grown) {
            cJSON_Delete(root);
            rc = conf_oom(p);
            break;
        }
        *v = grown;
        conf_join(base, sizeof base, "services", names[i]);
        rc = nerve_service_parse(p, root, names[i], base, &(*v)[*n]);
        (*n)++;
        cJSON_Delete(root);
        if (rc < 0) {
            snprintf(err, sizeof err, "%s", p->err);
            conf_failf(p, "%s: %s", file, err);
        }
    }
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    return rc;
}

int nerve_backend(const struct nerve_service *s, const char *instance_id, struct backend *out)
{
    struct backend b = {.port = s->port, .weight = s->weight};
    b.host = s->host;
    b.name = (char *)instance_id;
    b.haproxy_server_options = s->haproxy_server_options;
    b.labels = s->labels;
    b.nlabels = s->nlabels;
    b.service = s->name;
    return backend_copy(out, &b);
}

/* Nerve's JSON: labels only when configured. */
static char *payload_json(const struct nerve_service *s, const char *instance_id)
{
    struct backend b = {.host = s->host,
                        .port = s->port,
                        .name = (char *)instance_id,
                        .weight = s->weight,
                        .haproxy_server_options = s->haproxy_server_options,
                        .labels = s->labels,
                        .nlabels = s->nlabels};
    cJSON *o = backend_to_json(&b, false);
    if (!o) return NULL;
    if (!s->nlabels) cJSON_DeleteItemFromObject(o, "labels");
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}

int nerve_node(const struct nerve_service *s, const char *instance_id, char **payload,
               char **child_prefix)
{
    *child_prefix = NULL;
    if (!(*payload = payload_json(s, instance_id))) return -1;
    if (s->use_path_encoding) {
        char *b64 = base64_encode(*payload, strlen(*payload));
        if (!b64) goto oom;
        for (char *c = b64; *c; c++) {
            if (*c == '+') *c = '-';
            if (*c == '/') *c = '_';
        }
        size_t len = strlen(b64);
        if (len <= PATH_ENCODING_MAX_LENGTH &&
            asprintf(child_prefix, "base64_%zu_%s_", len, b64) < 0)
            *child_prefix = NULL;
        free(b64);
        if (len <= PATH_ENCODING_MAX_LENGTH && !*child_prefix) goto oom;
        if (*child_prefix) return 0;
    }
    if (asprintf(child_prefix, "%s_", instance_id) < 0) {
        *child_prefix = NULL;
        goto oom;
    }
    return 0;
oom:
    free(*payload);
    *payload = NULL;
    return -1;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_labels(const struct nerve_service *a, const struct nerve_service *b)
{
    if (a->nlabels != b->nlabels) return false;
    for (size_t i = 0; i < a->nlabels; i++)
        if (strcmp(a->labels[i].key, b->labels[i].key) ||
            strcmp(a->labels[i].value, b->labels[i].value))
            return false;
    return true;
}

/* Where the node lives: the reporter and its place in it. */
static bool same_place(const struct nerve_service *a, const struct nerve_service *b)
{
    if (a->reporter != b->reporter || strcmp(a->name, b->name)) return false;
    if (a->reporter == NERVE_REPORTER_ETCD)
        return same_str(a->etcd_host, b->etcd_host) && a->etcd_port == b->etcd_port &&
               same_str(a->etcd_path, b->etcd_path);
    return strlist_equal(&a->zk_hosts, &b->zk_hosts) && same_str(a->zk_path, b->zk_path) &&
           a->node_type == b->node_type && a->use_path_encoding == b->use_path_encoding;
}

int nerve_service_compare(const struct nerve_service *a, const char *ia,
                          const struct nerve_service *b, const char *ib, enum nerve_change *out)
{
    char *pa = NULL, *pb = NULL, *ca = NULL, *cb = NULL;
    if (nerve_node(a, ia, &pa, &ca) < 0 || nerve_node(b, ib, &pb, &cb) < 0) {
        free(pa);
        free(ca);
        return -1;
    }
    if (!same_place(a, b) || strcmp(ca, cb) || !same_str(ia, ib))
        *out = NERVE_MOVED;
    else if (strcmp(pa, pb) || a->ttl_seconds != b->ttl_seconds ||
             a->check_interval_ms != b->check_interval_ms || a->check_mocked != b->check_mocked ||
             !check_list_equal(&a->checks, &b->checks) || !same_labels(a, b) ||
             strcmp(a->host, b->host) || a->port != b->port)
        *out = NERVE_UPDATED;
    else
        *out = NERVE_SAME;
    free(pa);
    free(pb);
    free(ca);
    free(cb);
    return 0;
}

void nerve_plan_clear(struct nerve_plan *p)
{
    free(p->from);
    free(p->change);
    free(p->removed);
    memset(p, 0, sizeof *p);
}

int nerve_plan_make(const struct nerve_service *old, size_t nold, const char *old_id,
                    const struct nerve_service *want, size_t nwant, const char *want_id,
                    struct nerve_plan *out)
{
    memset(out, 0, sizeof *out);
    out->from = calloc(nwant + 1, sizeof *out->from);
    out->change = calloc(nwant + 1, sizeof *out->change);
    out->removed = calloc(nold + 1, sizeof *out->removed);
    if (!out->from || !out->change || !out->removed) goto oom;
    for (size_t j = 0; j < nold; j++)
        out->removed[j] = true;
    for (size_t i = 0; i < nwant; i++) {
        out->from[i] = NERVE_PLAN_NEW;
        for (size_t j = 0; j < nold && out->from[i] == NERVE_PLAN_NEW; j++) {
            if (strcmp(old[j].name, want[i].name)) continue;
            if (nerve_service_compare(&old[j], old_id, &want[i], want_id, &out->change[i]) < 0)
                goto oom;
            if (out->change[i] == NERVE_MOVED) break; /* registered anew; the old one goes */
            out->from[i] = j;
            out->removed[j] = false;
        }
        if (out->from[i] == NERVE_PLAN_NEW)
            out->added++;
        else if (out->change[i] == NERVE_UPDATED)
            out->updated++;
        else
            out->unchanged++;
    }
    for (size_t j = 0; j < nold; j++)
        if (out->removed[j]) out->removed_n++;
    return 0;
oom:
    nerve_plan_clear(out);
    return -1;
}
