#include "serverset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_path.h"

static enum serverset_result fail(char *err, size_t errlen, const char *field, const char *want,
                                  const cJSON *v)
{
    struct json_ctx c = {.err = err, .errlen = errlen};
    json_fail(&c, field, want, v);
    return SERVERSET_REFUSED;
}

/* An endpoint object {"host", "port"} at field. */
static enum serverset_result decode_endpoint(const cJSON *ep, const char *field,
                                             struct backend *out, char *err, size_t errlen)
{
    char p[JSON_PATH_MAX];
    if (!cJSON_IsObject(ep)) return fail(err, errlen, field, "an object {\"host\", \"port\"}", ep);
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(ep, "host");
    json_path_key(p, sizeof p, field, "host");
    if (!cJSON_IsString(host) || !backend_host_is_valid(host->valuestring))
        return fail(err, errlen, p, "a hostname or IP address", host);
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(ep, "port");
    json_path_key(p, sizeof p, field, "port");
    if (!json_as_int(port, JSON_INT_NUMBER, 1, 65535, &out->port))
        return fail(err, errlen, p, "an integer 1..65535", port);
    if (!(out->host = strdup(host->valuestring))) {
        snprintf(err, errlen, "out of memory");
        return SERVERSET_REFUSED;
    }
    return SERVERSET_OK;
}

static enum serverset_result decode(const cJSON *root, const char *endpoint_name,
                                    struct backend *out, char *err, size_t errlen)
{
    char p[JSON_PATH_MAX];
    if (!cJSON_IsObject(root)) return fail(err, errlen, "payload", "a JSON object", root);
    /* Finagle's readers serve only ALIVE members (STARTING, STOPPING, DEAD
     * and the rest announce one that must not get traffic). */
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (!cJSON_IsString(status) || !backend_text_is_safe(status->valuestring))
        return fail(err, errlen, "status", "a string such as \"ALIVE\"", status);
    if (strcmp(status->valuestring, "ALIVE") != 0) {
        struct json_ctx c = {.err = err, .errlen = errlen};
        json_fail(&c, "status", "\"ALIVE\" to be served", status);
        return SERVERSET_NOT_ALIVE;
    }
    const cJSON *ep;
    if (endpoint_name) {
        const cJSON *extra = cJSON_GetObjectItemCaseSensitive(root, "additionalEndpoints");
        if (!cJSON_IsObject(extra))
            return fail(err, errlen, "additionalEndpoints", "an object of named endpoints", extra);
        json_path_key(p, sizeof p, "additionalEndpoints", endpoint_name);
        ep = cJSON_GetObjectItemCaseSensitive(extra, endpoint_name);
        if (!ep) {
            snprintf(err, errlen, "%s: missing (decode.endpoint_name names it)", p);
            return SERVERSET_REFUSED;
        }
    } else {
        snprintf(p, sizeof p, "serviceEndpoint");
        ep = cJSON_GetObjectItemCaseSensitive(root, "serviceEndpoint");
    }
    enum serverset_result r = decode_endpoint(ep, p, out, err, errlen);
    if (r != SERVERSET_OK) return r;

    char name[300];
    const cJSON *shard = cJSON_GetObjectItemCaseSensitive(root, "shard");
    int shard_no;
    if (shard && !cJSON_IsNull(shard)) {
        if (!json_as_int(shard, JSON_INT_NUMBER, 0, 0x7fffffff, &shard_no))
            return fail(err, errlen, "shard", "an integer 0..2147483647", shard);
        snprintf(name, sizeof name, "%d", shard_no);
    } else {
        snprintf(name, sizeof name, "%s:%d", out->host, out->port);
    }
    if (!(out->name = backend_server_name_dup(name))) {
        snprintf(err, errlen, "out of memory");
        return SERVERSET_REFUSED;
    }
    return SERVERSET_OK;
}

enum serverset_result serverset_decode(const char *json, size_t len, const char *endpoint_name,
                                       struct backend *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->weight = BACKEND_WEIGHT_UNSET;
    if (!json || len == 0) {
        snprintf(err, errlen, "payload: expected ServerSet JSON, got no data");
        return SERVERSET_REFUSED;
    }
    if (len > BACKEND_MAX_PAYLOAD) {
        snprintf(err, errlen, "payload: expected at most %d bytes, got %zu", BACKEND_MAX_PAYLOAD,
                 len);
        return SERVERSET_REFUSED;
    }
    if (json_has_nul(json, len)) {
        snprintf(err, errlen, "payload: expected ServerSet JSON, got a NUL character (%zu bytes)",
                 len);
        return SERVERSET_REFUSED;
    }
    struct json_ctx quiet = {0};
    cJSON *root = json_parse(&quiet, json, len, NULL);
    if (!root) {
        snprintf(err, errlen, "payload: expected ServerSet JSON, got malformed JSON (%zu bytes)",
                 len);
        return SERVERSET_REFUSED;
    }
    enum serverset_result r = decode(root, endpoint_name, out, err, errlen);
    cJSON_Delete(root);
    if (r != SERVERSET_OK) backend_clear(out);
    return r;
}
