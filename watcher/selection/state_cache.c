#include "state_cache.h"

#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_CACHE_MAX (64u << 20)

char *state_cache_render_service(const char *name, const struct backend_list *list)
{
    /* {"<name>":[...]} printed by cJSON, then its outer braces cut off */
    cJSON *wrap = cJSON_CreateObject();
    cJSON *arr = wrap ? cJSON_AddArrayToObject(wrap, name) : NULL;
    for (size_t j = 0; arr && j < list->n; j++) {
        cJSON *item = backend_to_json(&list->v[j], true);
        if (item) cJSON_AddItemToArray(arr, item);
    }
    char *text = arr ? cJSON_PrintUnformatted(wrap) : NULL;
    cJSON_Delete(wrap);
    if (!text) return NULL;
    size_t len = strlen(text);
    memmove(text, text + 1, len - 2);
    text[len - 2] = '\0';
    return text;
}

char *state_cache_join(char *const *members, size_t n, time_t now)
{
    cJSON *head = cJSON_CreateObject();
    cJSON_AddNumberToObject(head, "version", 1);
    cJSON_AddNumberToObject(head, "saved_at", (double)now);
    char *h = cJSON_PrintUnformatted(head); /* {"version":1,"saved_at":T} */
    cJSON_Delete(head);
    if (!h) return NULL;
    size_t len = strlen(h) + strlen(",\"services\":{}") + 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(members[i]) + 1;
    char *text = malloc(len);
    if (text) {
        char *p = text + strlen(h) - 1; /* over the closing brace */
        memcpy(text, h, strlen(h) - 1);
        p = stpcpy(p, ",\"services\":{");
        for (size_t i = 0; i < n; i++) {
            if (i) *p++ = ',';
            p = stpcpy(p, members[i]);
        }
        stpcpy(p, "}}");
    }
    free(h);
    return text;
}

char *state_cache_render(const struct syn_config *cfg, const struct backend_list *lists, time_t now)
{
    char **members = calloc(cfg->nservices ? cfg->nservices : 1, sizeof *members);
    char *text = NULL;
    size_t i = 0;
    if (!members) return NULL;
    for (; i < cfg->nservices; i++)
        if (!(members[i] = state_cache_render_service(cfg->services[i].name, &lists[i]))) break;
    if (i == cfg->nservices) text = state_cache_join(members, cfg->nservices, now);
    for (size_t j = 0; j < i; j++)
        free(members[j]);
    free(members);
    return text;
}

/* One backend from its cached JSON; 1 when pushed, 0 when skipped. */
static int push_cached(const cJSON *item, struct backend_list *list)
{
    char *json = cJSON_PrintUnformatted(item);
    struct backend b;
    char why[256];
    int r = json && backend_decode_nerve(json, strlen(json), &b, why, sizeof why) == 0 &&
            backend_list_push(list, &b) == 0;
    free(json);
    return r;
}

/*
 * Synapse's own state file, for a team switching from Synapse:
 * {"<service>": {"<server name>": {"timestamp": T, "host", "port", "name",
 * ...Nerve keys, "haproxy_server_id"}, ...}, ...}; each backend expires on
 * its own timestamp, as in Synapse. Members that are not backends (Synapse
 * keeps the watcher's generator config beside them) are skipped.
 */
static bool is_synapse_state(const cJSON *root)
{
    const cJSON *svc;
    if (!cJSON_IsObject(root) || !root->child) return false;
    cJSON_ArrayForEach(svc, root)
    {
        if (!cJSON_IsObject(svc)) return false;
    }
    return true;
}

static int parse_synapse_state(const cJSON *root, const struct syn_config *cfg, time_t now,
                               int ttl_s, struct backend_list *lists)
{
    int loaded = 0;
    for (size_t i = 0; i < cfg->nservices; i++) {
        const cJSON *svc = cJSON_GetObjectItemCaseSensitive(root, cfg->services[i].name);
        const cJSON *item;
        cJSON_ArrayForEach(item, svc)
        {
            const cJSON *ts = cJSON_GetObjectItemCaseSensitive(item, "timestamp");
            if (!cJSON_IsNumber(ts)) continue;
            double age = (double)now - ts->valuedouble;
            if (age > ttl_s || age < -60) continue;
            loaded += push_cached(item, &lists[i]);
        }
    }
    return loaded;
}

int state_cache_parse(const char *text, const struct syn_config *cfg, time_t now, int ttl_s,
                      struct backend_list *lists, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->nservices; i++)
        backend_list_clear(&lists[i]);
    cJSON *root = cJSON_Parse(text);
    const cJSON *saved = cJSON_GetObjectItemCaseSensitive(root, "saved_at");
    const cJSON *services = cJSON_GetObjectItemCaseSensitive(root, "services");
    if (!cJSON_IsNumber(saved) && is_synapse_state(root)) {
        int n = parse_synapse_state(root, cfg, now, ttl_s, lists);
        cJSON_Delete(root);
        return n;
    }
    if (!cJSON_IsObject(root) || !cJSON_IsNumber(saved) || !cJSON_IsObject(services)) {
        snprintf(err, errlen, "neither a smartdock nor a Synapse state file");
        cJSON_Delete(root);
        return -1;
    }
    double age = (double)now - saved->valuedouble;
    if (age > ttl_s || age < -60) {
        snprintf(err, errlen, "saved %.0f s ago, older than state_file_ttl %d s", age, ttl_s);
        cJSON_Delete(root);
        return -1;
    }
    int loaded = 0;
    for (size_t i = 0; i < cfg->nservices; i++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(services, cfg->services[i].name);
        const cJSON *item;
        cJSON_ArrayForEach(item, arr)
        {
            loaded += push_cached(item, &lists[i]);
        }
    }
    cJSON_Delete(root);
    return loaded;
}

int state_cache_save(const char *path, const struct syn_config *cfg,
                     const struct backend_list *lists)
{
    char *text = state_cache_render(cfg, lists, time(NULL));
    if (!text) return -1;
    int rc = state_cache_write(path, text);
    free(text);
    return rc;
}

int state_cache_write(const char *path, const char *text)
{
    size_t len = strlen(text), off = 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : 0;
    while (rc == 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            rc = -1;
        else
            off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0) rc = -1;
    int saved_errno = errno;
    if (fd >= 0) close(fd);
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved_errno = errno;
    }
    if (rc < 0) {
        unlink(tmp);
        log_error("state_file_path %s: %s", path, strerror(saved_errno));
    }
    return rc;
}

int state_cache_load(const char *path, const struct syn_config *cfg, int ttl_s,
                     struct backend_list *lists)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno != ENOENT) log_warn("state_file_path %s: %s", path, strerror(errno));
        return 0;
    }
    char *text = malloc(STATE_CACHE_MAX + 1);
    size_t n = text ? fread(text, 1, STATE_CACHE_MAX, f) : 0;
    fclose(f);
    if (!text) return -1;
    text[n] = 0;
    char err[256];
    int loaded = state_cache_parse(text, cfg, time(NULL), ttl_s, lists, err, sizeof err);
    free(text);
    if (loaded < 0) log_warn("state_file_path %s: ignored: %s", path, err);
    return loaded < 0 ? 0 : loaded;
}
