#include "etcd_codec.h"

#include "base64.h"
#include "json_path.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *etcd_prefix_end(const char *prefix, size_t len, size_t *out_len)
{
    char *end = malloc(len + 1);
    if (!end) return NULL;
    memcpy(end, prefix, len);
    while (len > 0 && (unsigned char)end[len - 1] == 0xff)
        len--;
    if (len == 0) {
        end[0] = 0; /* "\0": every key from prefix on */
        *out_len = 1;
        return end;
    }
    end[len - 1] = (char)((unsigned char)end[len - 1] + 1);
    end[len] = 0;
    *out_len = len;
    return end;
}

static void put_int64(cJSON *o, const char *name, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    cJSON_AddStringToObject(o, name, buf);
}

static int put_bytes(cJSON *o, const char *name, const char *data, size_t len)
{
    char *enc = base64_encode(data, len);
    if (!enc) return -1;
    cJSON *s = cJSON_AddStringToObject(o, name, enc);
    free(enc);
    return s ? 0 : -1;
}

/* Prints and frees o; NULL if building it failed anywhere (ok false). */
static char *finish(cJSON *o, int ok)
{
    char *text = o && ok == 0 ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

/* Fills in key and range_end for every key under prefix. */
static int put_prefix(cJSON *o, const char *prefix)
{
    size_t n = strlen(prefix), end_len;
    char *end = etcd_prefix_end(prefix, n, &end_len);
    if (!end) return -1;
    int rc = put_bytes(o, "key", prefix, n) < 0 || put_bytes(o, "range_end", end, end_len) < 0;
    free(end);
    return rc ? -1 : 0;
}

char *etcd_req_range_prefix(const char *prefix, int64_t rev)
{
    cJSON *o = cJSON_CreateObject();
    int rc = o ? put_prefix(o, prefix) : -1;
    if (o && rev > 0) put_int64(o, "revision", rev);
    return finish(o, rc);
}

char *etcd_req_range_page(const char *prefix, const char *after_key, int64_t rev, int64_t limit)
{
    cJSON *o = cJSON_CreateObject();
    int rc = o ? put_prefix(o, prefix) : -1;
    if (rc == 0 && after_key) {
        /* the smallest key after after_key is after_key followed by a NUL byte */
        size_t n = strlen(after_key);
        char *start = malloc(n + 1);
        if (!start) rc = -1;
        if (start) {
            memcpy(start, after_key, n + 1);
            cJSON_DeleteItemFromObjectCaseSensitive(o, "key");
            rc = put_bytes(o, "key", start, n + 1);
            free(start);
        }
    }
    if (o && rev > 0) put_int64(o, "revision", rev);
    if (o && limit > 0) put_int64(o, "limit", limit);
    return finish(o, rc);
}

char *etcd_req_put(const char *key, const char *value, size_t value_len, int64_t lease)
{
    cJSON *o = cJSON_CreateObject();
    int rc = o ? put_bytes(o, "key", key, strlen(key)) : -1;
    if (rc == 0) rc = put_bytes(o, "value", value, value_len);
    if (o && lease) put_int64(o, "lease", lease);
    return finish(o, rc);
}

char *etcd_req_delete(const char *key)
{
    cJSON *o = cJSON_CreateObject();
    return finish(o, o ? put_bytes(o, "key", key, strlen(key)) : -1);
}

char *etcd_req_lease_grant(int64_t ttl_s)
{
    cJSON *o = cJSON_CreateObject();
    if (o) put_int64(o, "TTL", ttl_s);
    return finish(o, 0);
}

char *etcd_req_lease_id(int64_t id)
{
    cJSON *o = cJSON_CreateObject();
    if (o) put_int64(o, "ID", id);
    return finish(o, 0);
}

char *etcd_req_watch_prefix(const char *prefix, int64_t start_rev)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *c = o ? cJSON_AddObjectToObject(o, "create_request") : NULL;
    int rc = c ? put_prefix(c, prefix) : -1;
    if (c && start_rev > 0) put_int64(c, "start_revision", start_rev);
    return finish(o, rc);
}

char *etcd_req_authenticate(const char *name, const char *password)
{
    cJSON *o = cJSON_CreateObject();
    int rc = o && cJSON_AddStringToObject(o, "name", name) &&
                     cJSON_AddStringToObject(o, "password", password)
                 ? 0
                 : -1;
    return finish(o, rc);
}

/* ------------------------------------------------------------ decoding */

static int fail(char *err, size_t errlen, const char *path, const char *want, const cJSON *v)
{
    struct json_ctx c = {.err = err, .errlen = errlen};
    return json_fail(&c, path, want, v);
}

/* An int64 field, as a string (the gateway's way) or a number; missing is 0. */
static int get_int64(const cJSON *o, const char *name, const char *path, int64_t *out, char *err,
                     size_t errlen)
{
    const cJSON *v = json_lookup(o, name);
    *out = 0;
    if (!v || cJSON_IsNull(v)) return 0;
    /* range first: converting a double beyond int64 is undefined behaviour
     * (found by tests/fuzz/fuzz_etcd_range) */
    if (cJSON_IsNumber(v) && v->valuedouble >= -9223372036854775808.0 &&
        v->valuedouble < 9223372036854775808.0 &&
        v->valuedouble == (double)(int64_t)v->valuedouble) {
        *out = (int64_t)v->valuedouble;
        return 0;
    }
    if (cJSON_IsString(v) && *v->valuestring) {
        char *end;
        errno = 0;
        long long n = strtoll(v->valuestring, &end, 10);
        if (!*end && errno == 0) {
            *out = n;
            return 0;
        }
    }
    return fail(err, errlen, path, "an int64 (a string of digits)", v);
}

/* A base64 field; missing is "". A key must not hold a NUL byte. */
static int get_bytes(const cJSON *o, const char *name, const char *path, bool is_key, char **out,
                     size_t *out_len, char *err, size_t errlen)
{
    const cJSON *v = json_lookup(o, name);
    size_t n = 0;
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        *out = calloc(1, 1);
    } else if (cJSON_IsString(v)) {
        *out = base64_decode(v->valuestring, strlen(v->valuestring), &n);
        if (!*out) return fail(err, errlen, path, "base64", v);
        if (is_key && strlen(*out) != n) {
            free(*out);
            *out = NULL;
            return fail(err, errlen, path, "a key without NUL bytes", v);
        }
    } else {
        return fail(err, errlen, path, "a base64 string", v);
    }
    if (!*out) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (out_len) *out_len = n;
    return 0;
}

void etcd_kv_clear(struct etcd_kv *kv)
{
    free(kv->key);
    free(kv->value);
    memset(kv, 0, sizeof *kv);
}

static int decode_kv(const cJSON *o, const char *path, struct etcd_kv *kv, char *err, size_t errlen)
{
    char p[96];
    memset(kv, 0, sizeof *kv);
    if (!cJSON_IsObject(o)) return fail(err, errlen, path, "an object", o);
    snprintf(p, sizeof p, "%s.key", path);
    if (get_bytes(o, "key", p, true, &kv->key, NULL, err, errlen) < 0) goto bad;
    if (!*kv->key) {
        fail(err, errlen, p, "a non-empty key", json_lookup(o, "key"));
        goto bad;
    }
    snprintf(p, sizeof p, "%s.value", path);
    if (get_bytes(o, "value", p, false, &kv->value, &kv->value_len, err, errlen) < 0) goto bad;
    snprintf(p, sizeof p, "%s.mod_revision", path);
    if (get_int64(o, "mod_revision", p, &kv->mod_revision, err, errlen) < 0) goto bad;
    snprintf(p, sizeof p, "%s.create_revision", path);
    if (get_int64(o, "create_revision", p, &kv->create_revision, err, errlen) < 0) goto bad;
    snprintf(p, sizeof p, "%s.lease", path);
    if (get_int64(o, "lease", p, &kv->lease, err, errlen) < 0) goto bad;
    return 0;
bad:
    etcd_kv_clear(kv);
    return -1;
}

bool etcd_decode_error(const cJSON *root, int *code, char *msg, size_t msglen)
{
    const cJSON *e = json_lookup(root, "error");
    if (!e) return false;
    const cJSON *obj = cJSON_IsObject(e) ? e : root; /* a stream's error is nested */
    const cJSON *c = json_lookup(obj, "code");
    if (!c) c = json_lookup(obj, "grpc_code");
    const cJSON *m = json_lookup(obj, "message");
    if (!cJSON_IsString(m) || !*m->valuestring) m = cJSON_IsString(e) ? e : NULL;
    *code = cJSON_IsNumber(c) ? c->valueint : 0;
    snprintf(msg, msglen, "%s", m ? m->valuestring : "unknown error");
    return true;
}

static int header_revision(const cJSON *root, int64_t *rev, char *err, size_t errlen)
{
    const cJSON *h = json_lookup(root, "header");
    if (!cJSON_IsObject(h)) return fail(err, errlen, "header", "an object", h);
    return get_int64(h, "revision", "header.revision", rev, err, errlen);
}

int etcd_decode_range(const cJSON *root, struct etcd_range *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (header_revision(root, &out->revision, err, errlen) < 0) return -1;
    struct json_ctx c = {.err = err, .errlen = errlen};
    if (json_get_bool(&c, root, "", "more", &out->more) < 0) return -1;
    const cJSON *kvs = json_lookup(root, "kvs");
    if (!kvs || cJSON_IsNull(kvs)) return 0; /* the gateway leaves out an empty list */
    if (!cJSON_IsArray(kvs)) return fail(err, errlen, "kvs", "an array", kvs);
    int n = cJSON_GetArraySize(kvs);
    out->kvs = calloc(n ? (size_t)n : 1, sizeof *out->kvs);
    if (!out->kvs) {
        snprintf(err, errlen, "kvs: out of memory");
        return -1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, kvs)
    {
        char p[32];
        snprintf(p, sizeof p, "kvs[%zu]", out->n);
        if (decode_kv(it, p, &out->kvs[out->n], err, errlen) < 0) {
            etcd_range_clear(out);
            return -1;
        }
        out->n++;
    }
    return 0;
}

void etcd_range_clear(struct etcd_range *r)
{
    for (size_t i = 0; i < r->n; i++)
        etcd_kv_clear(&r->kvs[i]);
    free(r->kvs);
    memset(r, 0, sizeof *r);
}

size_t etcd_watch_msg_news(const struct etcd_watch_msg *m, int64_t *revision,
                           const struct etcd_event **news)
{
    const int64_t seen = *revision; /* before this message: not per event */
    size_t n = 0;
    for (size_t i = 0; i < m->nevents; i++) {
        const struct etcd_event *ev = &m->events[i];
        if (ev->kv.mod_revision && ev->kv.mod_revision <= seen) continue;
        news[n++] = ev;
        if (ev->kv.mod_revision > *revision) *revision = ev->kv.mod_revision;
    }
    return n;
}

void etcd_watch_msg_clear(struct etcd_watch_msg *m)
{
    for (size_t i = 0; i < m->nevents; i++)
        etcd_kv_clear(&m->events[i].kv);
    free(m->events);
    free(m->cancel_reason);
    memset(m, 0, sizeof *m);
}

static int decode_event(const cJSON *ev, const char *path, struct etcd_event *out, char *err,
                        size_t errlen)
{
    char p[64];
    if (!cJSON_IsObject(ev)) return fail(err, errlen, path, "an object", ev);
    const cJSON *type = json_lookup(ev, "type");
    snprintf(p, sizeof p, "%s.type", path);
    if (!type || (cJSON_IsString(type) && strcmp(type->valuestring, "PUT") == 0) ||
        (cJSON_IsNumber(type) && type->valueint == 0))
        out->type = ETCD_EVENT_PUT; /* the gateway leaves out the default, PUT */
    else if ((cJSON_IsString(type) && strcmp(type->valuestring, "DELETE") == 0) ||
             (cJSON_IsNumber(type) && type->valueint == 1))
        out->type = ETCD_EVENT_DELETE;
    else
        return fail(err, errlen, p, "\"PUT\" or \"DELETE\"", type);
    snprintf(p, sizeof p, "%s.kv", path);
    return decode_kv(json_lookup(ev, "kv"), p, &out->kv, err, errlen);
}

int etcd_decode_watch(const cJSON *root, struct etcd_watch_msg *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const cJSON *r = json_lookup(root, "result");
    if (!cJSON_IsObject(r)) return fail(err, errlen, "result", "an object", r);
    const cJSON *h = json_lookup(r, "header");
    if (h &&
        get_int64(h, "revision", "result.header.revision", &out->header_revision, err, errlen) < 0)
        return -1;
    struct json_ctx c = {.err = err, .errlen = errlen};
    if (json_get_bool(&c, r, "result", "created", &out->created) < 0 ||
        json_get_bool(&c, r, "result", "canceled", &out->canceled) < 0 ||
        get_int64(r, "compact_revision", "result.compact_revision", &out->compact_revision, err,
                  errlen) < 0)
        return -1;
    const cJSON *reason = json_lookup(r, "cancel_reason");
    if (cJSON_IsString(reason) && *reason->valuestring &&
        !(out->cancel_reason = strdup(reason->valuestring))) {
        snprintf(err, errlen, "result.cancel_reason: out of memory");
        return -1;
    }
    const cJSON *events = json_lookup(r, "events");
    if (!events || cJSON_IsNull(events)) return 0;
    if (!cJSON_IsArray(events)) {
        etcd_watch_msg_clear(out);
        return fail(err, errlen, "result.events", "an array", events);
    }
    int n = cJSON_GetArraySize(events);
    out->events = calloc(n ? (size_t)n : 1, sizeof *out->events);
    if (!out->events) {
        etcd_watch_msg_clear(out);
        snprintf(err, errlen, "result.events: out of memory");
        return -1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, events)
    {
        char p[40];
        snprintf(p, sizeof p, "result.events[%zu]", out->nevents);
        if (decode_event(it, p, &out->events[out->nevents], err, errlen) < 0) {
            etcd_watch_msg_clear(out);
            return -1;
        }
        out->nevents++;
    }
    return 0;
}

int etcd_decode_lease_grant(const cJSON *root, int64_t *id, int64_t *ttl, char *err, size_t errlen)
{
    if (get_int64(root, "ID", "ID", id, err, errlen) < 0 ||
        get_int64(root, "TTL", "TTL", ttl, err, errlen) < 0)
        return -1;
    if (*id == 0) return fail(err, errlen, "ID", "a lease ID", json_lookup(root, "ID"));
    if (*ttl <= 0) return fail(err, errlen, "TTL", "a positive TTL", json_lookup(root, "TTL"));
    return 0;
}

int etcd_decode_keepalive(const cJSON *root, int64_t *ttl, char *err, size_t errlen)
{
    const cJSON *r = json_lookup(root, "result");
    if (!r) r = root;
    if (!cJSON_IsObject(r)) return fail(err, errlen, "result", "an object", r);
    if (get_int64(r, "TTL", "result.TTL", ttl, err, errlen) < 0) return -1;
    if (*ttl < 0) *ttl = 0;
    return 0;
}

int etcd_decode_token(const cJSON *root, char **token, char *err, size_t errlen)
{
    const cJSON *t = json_lookup(root, "token");
    *token = NULL;
    if (!cJSON_IsString(t) || !*t->valuestring) return fail(err, errlen, "token", "a string", t);
    for (const char *s = t->valuestring; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s == 0x7f)
            return fail(err, errlen, "token", "a token without spaces or control characters", t);
    *token = strdup(t->valuestring);
    if (!*token) {
        snprintf(err, errlen, "token: out of memory");
        return -1;
    }
    return 0;
}
