#include "backend.h"

#include "base64.h"
#include "json_path.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A shared backend's storage: the labels, then the strings one after another. */
struct backend_block {
    size_t refs;
    struct label labels[];
};

void backend_clear(struct backend *b)
{
    if (b->block) {
        if (--b->block->refs == 0) free(b->block);
        memset(b, 0, sizeof *b);
        b->weight = BACKEND_WEIGHT_UNSET;
        return;
    }
    free(b->host);
    free(b->name);
    free(b->haproxy_server_options);
    for (size_t i = 0; i < b->nlabels; i++) {
        free(b->labels[i].key);
        free(b->labels[i].value);
    }
    free(b->labels);
    free(b->container_id);
    free(b->service);
    free(b->source);
    memset(b, 0, sizeof *b);
    b->weight = BACKEND_WEIGHT_UNSET;
}

/* A copy that owns each of its strings. */
static int copy_owned(struct backend *out, const struct backend *b)
{
    memset(out, 0, sizeof *out);
    out->port = b->port;
    out->weight = b->weight;
    out->created = b->created;
    out->over_limits = b->over_limits;
    out->host = dup_or_null(b->host);
    out->name = dup_or_null(b->name);
    out->haproxy_server_options = dup_or_null(b->haproxy_server_options);
    out->container_id = dup_or_null(b->container_id);
    out->service = dup_or_null(b->service);
    out->source = dup_or_null(b->source);
    if (!out->host != !b->host || !out->name != !b->name ||
        !out->haproxy_server_options != !b->haproxy_server_options ||
        !out->container_id != !b->container_id || !out->service != !b->service ||
        !out->source != !b->source) {
        backend_clear(out);
        return -1;
    }
    for (size_t i = 0; i < b->nlabels; i++)
        if (backend_set_label(out, b->labels[i].key, b->labels[i].value) < 0) {
            backend_clear(out);
            return -1;
        }
    return 0;
}

int backend_copy(struct backend *out, const struct backend *b)
{
    if (!b->block) return copy_owned(out, b);
    *out = *b;
    b->block->refs++;
    return 0;
}

static size_t stored_len(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies s to *at and returns the copy (NULL for NULL), advancing *at. */
static char *store(char **at, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *copy = memcpy(*at, s, n);
    *at += n;
    return copy;
}

int backend_share(struct backend *b)
{
    if (b->block) return 0;
    size_t size = sizeof(struct backend_block) + b->nlabels * sizeof(struct label) +
                  stored_len(b->host) + stored_len(b->name) +
                  stored_len(b->haproxy_server_options) + stored_len(b->container_id) +
                  stored_len(b->service) + stored_len(b->source);
    for (size_t i = 0; i < b->nlabels; i++)
        size += stored_len(b->labels[i].key) + stored_len(b->labels[i].value);
    struct backend_block *block = malloc(size);
    if (!block) return -1;
    block->refs = 1;
    char *at = (char *)(block->labels + b->nlabels);
    struct backend shared = *b;
    shared.block = block;
    shared.labels = b->nlabels ? block->labels : NULL;
    for (size_t i = 0; i < b->nlabels; i++) {
        block->labels[i].key = store(&at, b->labels[i].key);
        block->labels[i].value = store(&at, b->labels[i].value);
    }
    shared.host = store(&at, b->host);
    shared.name = store(&at, b->name);
    shared.haproxy_server_options = store(&at, b->haproxy_server_options);
    shared.container_id = store(&at, b->container_id);
    shared.service = store(&at, b->service);
    shared.source = store(&at, b->source);
    backend_clear(b);
    *b = shared;
    return 0;
}

const char *backend_label(const struct backend *b, const char *key)
{
    for (size_t i = 0; i < b->nlabels; i++)
        if (strcmp(b->labels[i].key, key) == 0) return b->labels[i].value;
    return NULL;
}

int backend_set_label(struct backend *b, const char *key, const char *value)
{
    if (b->block) { /* shared: change a private copy */
        struct backend own;
        if (copy_owned(&own, b) < 0) return -1;
        backend_clear(b);
        *b = own;
    }
    char *v = strdup(value);
    if (!v) return -1;
    for (size_t i = 0; i < b->nlabels; i++)
        if (strcmp(b->labels[i].key, key) == 0) {
            free(b->labels[i].value);
            b->labels[i].value = v;
            return 0;
        }
    struct label *grown = realloc(b->labels, (b->nlabels + 1) * sizeof *grown);
    char *k = strdup(key);
    if (!grown || !k) {
        if (grown) b->labels = grown;
        free(k);
        free(v);
        return -1;
    }
    b->labels = grown;
    b->labels[b->nlabels].key = k;
    b->labels[b->nlabels].value = v;
    b->nlabels++;
    return 0;
}

bool backend_text_is_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return true;
}

/* An IPv6 literal, optionally with a %zone (an interface name). */
static bool ipv6_is_valid(const char *host)
{
    char addr[INET6_ADDRSTRLEN + 1];
    struct in6_addr a;
    const char *pct = strchr(host, '%');
    size_t n = pct ? (size_t)(pct - host) : strlen(host);
    if (n >= sizeof addr) return false;
    memcpy(addr, host, n);
    addr[n] = 0;
    if (inet_pton(AF_INET6, addr, &a) != 1) return false;
    if (!pct) return true;
    if (!pct[1]) return false;
    for (const char *p = pct + 1; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_')) return false;
    return true;
}

bool backend_options_are_safe(const char *s)
{
    return backend_text_is_safe(s) && !strpbrk(s, "#;\\");
}

/* Hostnames (RFC 1123 letters, digits, '-', '.', and '_' which Docker names
 * carry), IPv4 and IPv6 literals. Nothing that could end a config token.
 * A colon means IPv6: "127.0.10.1:8080" is a host:port, not a host, and would
 * make HAProxy read the wrong address or refuse the whole config. */
bool backend_host_is_valid(const char *host)
{
    size_t n = strlen(host);
    if (n == 0 || n > 253) return false;
    if (strchr(host, ':')) return ipv6_is_valid(host);
    for (const char *p = host; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) || c == '.' || c == '-' || c == '_') continue;
        return false;
    }
    return host[0] != '-' && host[0] != '.';
}

char *backend_server_name_dup(const char *s)
{
    char *out = strdup(s && *s ? s : "_");
    if (!out) return NULL;
    for (char *p = out; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!(isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-')) *p = '_';
    }
    return out;
}

static int fail(char *err, size_t errlen, const char *field, const char *want, const cJSON *v)
{
    struct json_ctx c = {.err = err, .errlen = errlen};
    return json_fail(&c, field, want, v);
}

/* Numbers, or strings of digits: Nerve writes whatever type its config had. */
static bool as_int(const cJSON *v, long lo, long hi, int *out)
{
    return json_as_int(v, JSON_INT_NUMBER_OR_DIGITS, lo, hi, out);
}

static int decode_labels(const cJSON *labels, struct backend *out, char *err, size_t errlen)
{
    if (!labels || cJSON_IsNull(labels)) return 0;
    if (!cJSON_IsObject(labels)) return fail(err, errlen, "labels", "an object", labels);
    const cJSON *l;
    cJSON_ArrayForEach(l, labels)
    {
        if (out->nlabels >= BACKEND_MAX_LABELS) {
            out->over_limits |= BACKEND_OVER_LABELS;
            break;
        }
        char field[160];
        snprintf(field, sizeof field, "labels.%.100s", l->string);
        if (!backend_text_is_safe(l->string)) {
            /* name the offending key, not its (harmless) value */
            struct json_ctx c = {.err = err, .errlen = errlen};
            return json_fail_text(&c, "labels", "keys without control characters", l->string);
        }
        if (!cJSON_IsString(l) || !backend_text_is_safe(l->valuestring))
            return fail(err, errlen, field, "a string without control characters", l);
        if (backend_set_label(out, l->string, l->valuestring) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int decode(const cJSON *root, struct backend *out, char *err, size_t errlen)
{
    if (!cJSON_IsObject(root)) return fail(err, errlen, "payload", "a JSON object", root);

    const cJSON *host = cJSON_GetObjectItemCaseSensitive(root, "host");
    if (!cJSON_IsString(host) || !backend_host_is_valid(host->valuestring))
        return fail(err, errlen, "host", "a hostname or IP address", host);
    out->host = strdup(host->valuestring);

    const cJSON *port = cJSON_GetObjectItemCaseSensitive(root, "port");
    if (!as_int(port, 1, 65535, &out->port))
        return fail(err, errlen, "port", "an integer 1..65535", port);

    const cJSON *weight = cJSON_GetObjectItemCaseSensitive(root, "weight");
    if (weight && !cJSON_IsNull(weight) && !as_int(weight, 0, 256, &out->weight))
        return fail(err, errlen, "weight", "an integer 0..256", weight);

    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(root, "haproxy_server_options");
    if (opts && !cJSON_IsNull(opts)) {
        if (!cJSON_IsString(opts) || !backend_options_are_safe(opts->valuestring))
            return fail(err, errlen, "haproxy_server_options",
                        "a string without control characters, '#', ';' or '\\'", opts);
        if (*opts->valuestring) out->haproxy_server_options = strdup(opts->valuestring);
    }

    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (name && !cJSON_IsNull(name) &&
        (!cJSON_IsString(name) || !backend_text_is_safe(name->valuestring)))
        return fail(err, errlen, "name", "a string without control characters", name);
    if (cJSON_IsString(name) && *name->valuestring) {
        out->name = backend_server_name_dup(name->valuestring);
    } else {
        char hp[300];
        snprintf(hp, sizeof hp, "%s:%d", out->host, out->port);
        out->name = backend_server_name_dup(hp);
    }

    if (decode_labels(cJSON_GetObjectItemCaseSensitive(root, "labels"), out, err, errlen) < 0)
        return -1;

    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(root, "container_id");
    if (cJSON_IsString(cid) && backend_text_is_safe(cid->valuestring))
        out->container_id = strdup(cid->valuestring);
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(root, "service");
    if (cJSON_IsString(svc) && backend_text_is_safe(svc->valuestring))
        out->service = strdup(svc->valuestring);
    return 0;
}

int backend_decode_nerve(const char *json, size_t len, struct backend *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->weight = BACKEND_WEIGHT_UNSET;
    if (!json || len == 0) {
        snprintf(err, errlen, "payload: expected Nerve JSON, got no data");
        return -1;
    }
    if (len > BACKEND_MAX_PAYLOAD) {
        snprintf(err, errlen, "payload: expected at most %d bytes, got %zu", BACKEND_MAX_PAYLOAD,
                 len);
        return -1;
    }
    /* cJSON would silently cut a string at a NUL ("127.0.0.1\u0000junk"
     * reads as "127.0.0.1"): refuse it. */
    if (json_has_nul(json, len)) {
        snprintf(err, errlen, "payload: expected Nerve JSON, got a NUL character (%zu bytes)", len);
        return -1;
    }
    /* trailing bytes other than whitespace make it malformed, as for Synapse;
     * the payload is foreign, so the message shows its size, not its text */
    struct json_ctx quiet = {0};
    cJSON *root = json_parse(&quiet, json, len, NULL);
    if (!root) {
        snprintf(err, errlen, "payload: expected Nerve JSON, got malformed JSON (%zu bytes)", len);
        return -1;
    }
    int rc = decode(root, out, err, errlen);
    cJSON_Delete(root);
    if (rc < 0) backend_clear(out);
    return rc;
}

cJSON *backend_to_json(const struct backend *b, bool smartdock_keys)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "host", b->host ? b->host : "");
    cJSON_AddNumberToObject(o, "port", b->port);
    if (b->name) cJSON_AddStringToObject(o, "name", b->name);
    if (b->weight != BACKEND_WEIGHT_UNSET) cJSON_AddNumberToObject(o, "weight", b->weight);
    if (b->haproxy_server_options)
        cJSON_AddStringToObject(o, "haproxy_server_options", b->haproxy_server_options);
    cJSON *labels = cJSON_AddObjectToObject(o, "labels");
    for (size_t i = 0; labels && i < b->nlabels; i++)
        cJSON_AddStringToObject(labels, b->labels[i].key, b->labels[i].value);
    if (smartdock_keys && b->container_id)
        cJSON_AddStringToObject(o, "container_id", b->container_id);
    if (smartdock_keys && b->service) cJSON_AddStringToObject(o, "service", b->service);
    return o;
}

char *backend_encode_nerve(const struct backend *b)
{
    cJSON *o = backend_to_json(b, true);
    if (!o) return NULL;
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int backend_list_push(struct backend_list *l, struct backend *b)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct backend *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *b;
    memset(b, 0, sizeof *b);
    b->weight = BACKEND_WEIGHT_UNSET;
    return 0;
}

int backend_list_reserve(struct backend_list *l, size_t n)
{
    if (n <= l->cap) return 0;
    struct backend *v = realloc(l->v, n * sizeof *v);
    if (!v) return -1;
    l->v = v;
    l->cap = n;
    return 0;
}

void backend_list_clear(struct backend_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        backend_clear(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_backend(const void *pa, const void *pb)
{
    const struct backend *a = pa, *b = pb;
    int c = cmp_str(a->name, b->name);
    if (!c) c = cmp_str(a->host, b->host);
    if (!c) c = (a->port > b->port) - (a->port < b->port);
    if (!c) c = cmp_str(a->source, b->source);
    return c;
}

static bool same_address(const struct backend *a, const struct backend *b)
{
    return a->port == b->port && cmp_str(a->host, b->host) == 0;
}

/* Address, then first seen (unknown creation last), then name, then source. */
static int cmp_address_first_seen(const void *pa, const void *pb)
{
    const struct backend *a = pa, *b = pb;
    int c = cmp_str(a->host, b->host);
    if (!c) c = (a->port > b->port) - (a->port < b->port);
    if (!c) {
        uint64_t ca = a->created > 0 ? (uint64_t)a->created : UINT64_MAX;
        uint64_t cb = b->created > 0 ? (uint64_t)b->created : UINT64_MAX;
        c = (ca > cb) - (ca < cb);
    }
    if (!c) c = cmp_str(a->name, b->name);
    if (!c) c = cmp_str(a->source, b->source);
    return c;
}

void backend_list_sort_unique_dropping(struct backend_list *l, struct backend_list *dropped)
{
    if (l->n > 1) qsort(l->v, l->n, sizeof *l->v, cmp_address_first_seen);
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (kept > 0 && same_address(&l->v[kept - 1], &l->v[i])) {
            if (!dropped || backend_list_push(dropped, &l->v[i]) < 0) backend_clear(&l->v[i]);
        } else {
            l->v[kept++] = l->v[i];
        }
    }
    l->n = kept;
    if (l->n > 1) qsort(l->v, l->n, sizeof *l->v, cmp_backend);
}

void backend_list_sort_unique(struct backend_list *l)
{
    backend_list_sort_unique_dropping(l, NULL);
}

int backend_list_copy(struct backend_list *out, const struct backend_list *in)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < in->n; i++) {
        struct backend b;
        if (backend_copy(&b, &in->v[i]) < 0 || backend_list_push(out, &b) < 0) {
            backend_clear(&b);
            backend_list_clear(out);
            return -1;
        }
    }
    return 0;
}

static bool labels_equal(const struct backend *a, const struct backend *b)
{
    if (a->nlabels != b->nlabels) return false;
    for (size_t i = 0; i < a->nlabels; i++) {
        const char *v = backend_label(b, a->labels[i].key);
        if (!v || strcmp(v, a->labels[i].value) != 0) return false;
    }
    return true;
}

bool backend_list_equal(const struct backend_list *a, const struct backend_list *b)
{
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct backend *x = &a->v[i], *y = &b->v[i];
        if (!same_address(x, y) || cmp_str(x->name, y->name) || x->weight != y->weight ||
            cmp_str(x->haproxy_server_options, y->haproxy_server_options) || !labels_equal(x, y))
            return false;
    }
    return true;
}

int backend_decode_nerve_child_name(const char *child, struct backend *out, char *err,
                                    size_t errlen)
{
    /* out is cleared on every failure, as backend_decode_nerve promises */
    memset(out, 0, sizeof *out);
    out->weight = BACKEND_WEIGHT_UNSET;
    /* check the prefix before stepping over it: child may be shorter */
    bool prefixed = strncmp(child, BACKEND_ENCODED_PREFIX, strlen(BACKEND_ENCODED_PREFIX)) == 0;
    const char *p = prefixed ? child + strlen(BACKEND_ENCODED_PREFIX) : child;
    char *end = (char *)p;
    long n = prefixed && isdigit((unsigned char)*p) ? strtol(p, &end, 10) : 0;
    if (!prefixed || end == p || *end != '_' || n <= 0 || (size_t)n > strlen(end + 1)) {
        snprintf(err, errlen, "znode name: expected base64_<len>_<data>_<seq>, got \"%.80s\"",
                 child);
        return -1;
    }
    size_t len = 0;
    char *json = base64_decode(end + 1, (size_t)n, &len);
    if (!json) {
        snprintf(err, errlen, "znode name: invalid base64 in \"%.80s\"", child);
        return -1;
    }
    int rc = backend_decode_nerve(json, len, out, err, errlen);
    free(json);
    return rc;
}
