#include "etcd_client.h"

#include "curl_lib.h"
#include "etcd_codec.h"
#include "http_request.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETCD_MAX_BODY (64u << 20) /* a range over thousands of instances fits */
#define ETCD_MAX_MSG (16u << 20)
#define ETCD_CONNECT_TIMEOUT_MS 2000L

struct etcd_request {
    struct etcd_request *next;
    struct etcd_client *client;
    struct http_request *http; /* the attempt in flight; NULL while waiting for a token */
    char *path, *body;
    bool stream, is_auth;
    bool waiting;      /* for a token */
    bool retried_auth; /* authenticated again once already */
    size_t endpoint;   /* index this attempt went to */
    size_t tries;      /* endpoints that refused the connection */
    etcd_reply_fn *on_reply;
    etcd_msg_fn *on_msg;
    etcd_end_fn *on_end;
    void *arg;
};

struct etcd_client {
    struct loop *loop;
    char **endpoints;
    size_t n, current;
    char *username, *password, *ca_file, *cert_file, *key_file;
    long timeout_ms;
    char *token;
    bool auth_off;    /* etcd said authentication is not enabled */
    size_t failovers; /* since the last answer; after a full round, logged at debug level */
    bool closing;
    struct etcd_request *auth; /* the authenticate request in flight */
    struct etcd_request *requests;
};

static void dispatch(struct etcd_request *r);

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A password sent over http:// can be read on the wire: say so, once per
 * process however many clients there are (loop thread only). */
static void warn_plain_http_password(const struct etcd_client *c)
{
    static bool warned;
    if (warned || !c->username) return;
    for (size_t i = 0; i < c->n; i++)
        if (strncmp(c->endpoints[i], "http://", 7) == 0) {
            log_warn("etcd %s: the password of user \"%s\" is sent over plain http://; use "
                     "https:// endpoints",
                     c->endpoints[i], c->username);
            warned = true;
            return;
        }
}

struct etcd_client *etcd_client_new(struct loop *l, const struct etcd_client_opts *o)
{
    struct etcd_client *c = calloc(1, sizeof *c);
    if (!c || o->nendpoints == 0) goto fail;
    c->loop = l;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    if (!(c->endpoints = calloc(o->nendpoints, sizeof *c->endpoints))) goto fail;
    for (; c->n < o->nendpoints; c->n++) {
        const char *e = o->endpoints[c->n];
        size_t len = strlen(e);
        while (len > 0 && e[len - 1] == '/')
            len--;
        if (!(c->endpoints[c->n] = strndup(e, len))) goto fail;
    }
    char err[512];
    /* Every etcd request is a libcurl transfer: say now if it is missing. */
    if (curl_lib_load(err, sizeof err) < 0) {
        log_error("etcd: %s", err);
        goto fail;
    }
    c->username = dup_or_null(o->username);
    c->password = dup_or_null(o->password ? o->password : "");
    log_redact(c->password); /* never in a log line, whatever logs it */
    c->ca_file = dup_or_null(o->ca_file);
    c->cert_file = dup_or_null(o->cert_file);
    c->key_file = dup_or_null(o->key_file);
    if ((o->username && !c->username) || !c->password || (o->ca_file && !c->ca_file) ||
        (o->cert_file && !c->cert_file) || (o->key_file && !c->key_file))
        goto fail;
    warn_plain_http_password(c);
    return c;
fail:
    etcd_client_free(c);
    return NULL;
}

/* Drops r's attempt in flight, if any (its callbacks do not run). */
static void request_free(struct etcd_request *r)
{
    http_request_cancel(r->http);
    free(r->path);
    free(r->body);
    free(r);
}

static void unlink_request(struct etcd_request *r)
{
    struct etcd_request **p = &r->client->requests;
    while (*p && *p != r)
        p = &(*p)->next;
    if (*p) *p = r->next;
    if (r->client->auth == r) r->client->auth = NULL;
}

void etcd_client_free(struct etcd_client *c)
{
    if (!c) return;
    c->closing = true;
    while (c->requests) {
        struct etcd_request *r = c->requests;
        c->requests = r->next;
        if (!r->stream) {
            struct etcd_error e = {ETCD_CANCELLED, "cancelled"};
            r->on_reply(r->arg, NULL, &e);
        }
        request_free(r);
    }
    for (size_t i = 0; c->endpoints && i < c->n; i++)
        free(c->endpoints[i]);
    free(c->endpoints);
    free(c->username);
    free(c->password);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->token);
    free(c);
}

const char *etcd_client_endpoint(const struct etcd_client *c)
{
    return c->endpoints[c->current];
}

void etcd_client_auth_rejected(struct etcd_client *c)
{
    free(c->token);
    c->token = NULL;
    c->auth_off = false;
}

/* The endpoint `used` failed at the transport level: the next requests go
 * to the next endpoint (once per failure, however many requests saw it).
 * While every endpoint keeps failing, one round is logged, then quiet. */
static void fail_over(struct etcd_client *c, size_t used, const char *why)
{
    if (c->n < 2 || used != c->current) return;
    c->current = (c->current + 1) % c->n;
    log_msg(c->failovers++ < c->n ? LL_WARN : LL_DEBUG, "etcd %s: %s; switching to %s",
            c->endpoints[used], why, c->endpoints[c->current]);
}

/* Ends a stream from inside its delivery. */
static void stream_fail(struct etcd_request *r, int code, const char *message)
{
    char msg[512];
    snprintf(msg, sizeof msg, "etcd %s: %s", r->client->endpoints[r->endpoint], message);
    etcd_end_fn *on_end = r->on_end;
    void *arg = r->arg;
    unlink_request(r);
    request_free(r);
    struct etcd_error e = {code, msg};
    on_end(arg, &e);
}

/* One line of the stream: one JSON message. An error message ends the
 * stream. r may be gone once a callback has run. */
static void on_line(void *arg, const char *line, size_t n)
{
    struct etcd_request *r = arg;
    while (n && line[n - 1] == ' ')
        n--;
    if (!n) return;
    cJSON *msg = cJSON_ParseWithLength(line, n);
    int code;
    char text[256];
    if (!msg) {
        snprintf(text, sizeof text, "unparsable stream message of %zu bytes", n);
        stream_fail(r, 0, text);
    } else if (etcd_decode_error(msg, &code, text, sizeof text)) {
        stream_fail(r, code, text);
    } else {
        r->on_msg(r->arg, msg);
    }
    cJSON_Delete(msg);
}

/* An HTTP request for one attempt on endpoint ep. */
static struct http_request *prepare(struct etcd_client *c, const char *path, const char *body,
                                    bool with_token, size_t ep, long timeout_ms)
{
    size_t n = strlen(c->endpoints[ep]) + strlen(path) + 1;
    char *url = malloc(n);
    if (!url) return NULL;
    snprintf(url, n, "%s%s", c->endpoints[ep], path);
    struct http_request_opts o = {
        .connect_timeout_ms = timeout_ms && timeout_ms < ETCD_CONNECT_TIMEOUT_MS
                                  ? timeout_ms
                                  : ETCD_CONNECT_TIMEOUT_MS,
        .timeout_ms = timeout_ms,
        .keepalive_idle_s = 10,
        .keepalive_intvl_s = 5,
        .body_limit = ETCD_MAX_BODY,
        .line_limit = ETCD_MAX_MSG,
    };
    struct http_request *h = http_request_new(c->loop, url, &o);
    free(url);
    if (!h) return NULL;
    char *auth = NULL;
    int fail = http_request_add_header(h, "Content-Type: application/json") |
               http_request_add_header(h, "Expect:") | /* no 100-continue round trip */
               http_request_set_post(h, body, strlen(body));
    if (with_token && c->token)
        fail |= asprintf(&auth, "Authorization: %s", c->token) < 0
                    ? -1
                    : http_request_add_header(h, auth);
    free(auth);
    CURL *easy = http_request_easy_borrow(h);
    if (c->ca_file) curl_easy_setopt(easy, CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file) curl_easy_setopt(easy, CURLOPT_SSLCERT, c->cert_file);
    if (c->key_file) curl_easy_setopt(easy, CURLOPT_SSLKEY, c->key_file);
    if (fail) {
        http_request_free(h);
        return NULL;
    }
    return h;
}

static void on_done(void *arg, const struct http_result *res);

/* Starts one attempt of r on the current endpoint. */
static int start_transfer(struct etcd_request *r)
{
    struct etcd_client *c = r->client;
    r->endpoint = c->current;
    r->http = prepare(c, r->path, r->body, !r->is_auth, c->current, r->stream ? 0 : c->timeout_ms);
    struct http_callbacks cb = {.on_line = r->stream ? on_line : NULL, .on_done = on_done};
    if (r->http && http_request_start(r->http, &cb, r) == 0) return 0;
    r->http = NULL;
    return -1;
}

/* Ends r with an error: its callback runs, then it is freed. */
static void finish_error(struct etcd_request *r, int code, const char *message)
{
    struct etcd_error e = {code, message};
    unlink_request(r);
    if (r->stream)
        r->on_end(r->arg, &e);
    else
        r->on_reply(r->arg, NULL, &e);
    request_free(r);
}

static void on_auth_reply(void *arg, const cJSON *reply, const struct etcd_error *err)
{
    struct etcd_client *c = arg;
    if (err && err->code == ETCD_CANCELLED) return;
    char text[512] = "";
    if (err && err->code == ETCD_CODE_FAILED_PRECONDITION &&
        strstr(err->message, "authentication is not enabled")) {
        log_warn("etcd %s: authentication is not enabled; sending requests without a token",
                 etcd_client_endpoint(c));
        c->auth_off = true;
    } else if (err) {
        snprintf(text, sizeof text, "authenticating as \"%s\": %s", c->username, err->message);
    } else {
        char *token, derr[160];
        if (etcd_decode_token(reply, &token, derr, sizeof derr) < 0) {
            snprintf(text, sizeof text, "etcd %s: authenticate reply: %s", etcd_client_endpoint(c),
                     derr);
        } else {
            log_redact(token);
            free(c->token);
            c->token = token;
            log_info("etcd %s: authenticated as \"%s\"", etcd_client_endpoint(c), c->username);
        }
    }
    /* Callbacks may add requests: take the waiting ones out first. */
    struct etcd_request *waiting = NULL, **p = &c->requests;
    while (*p) {
        struct etcd_request *r = *p;
        if (r->waiting) {
            *p = r->next;
            r->next = waiting;
            waiting = r;
        } else {
            p = &r->next;
        }
    }
    while (waiting) {
        struct etcd_request *r = waiting;
        waiting = r->next;
        r->next = c->requests;
        c->requests = r;
        if (*text)
            finish_error(r, 0, text);
        else
            dispatch(r);
    }
}

static struct etcd_request *request_new(struct etcd_client *c, const char *path, const char *body,
                                        bool stream)
{
    if (c->closing) return NULL;
    struct etcd_request *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->client = c;
    r->stream = stream;
    r->path = strdup(path);
    r->body = strdup(body);
    if (!r->path || !r->body) {
        request_free(r);
        return NULL;
    }
    r->next = c->requests;
    c->requests = r;
    return r;
}

static void start_auth(struct etcd_client *c)
{
    char *body = etcd_req_authenticate(c->username, c->password);
    struct etcd_request *r = body ? request_new(c, "/v3/auth/authenticate", body, false) : NULL;
    free(body);
    if (!r) return;
    r->is_auth = true;
    r->on_reply = on_auth_reply;
    r->arg = c;
    c->auth = r;
    if (start_transfer(r) < 0) finish_error(r, 0, "cannot start a request");
}

/* Sends r now, or parks it until a token is there. */
static void dispatch(struct etcd_request *r)
{
    struct etcd_client *c = r->client;
    r->waiting = !r->is_auth && c->username && !c->token && !c->auth_off;
    if (r->waiting) {
        if (!c->auth) start_auth(c);
        return;
    }
    if (start_transfer(r) < 0) finish_error(r, 0, "cannot start a request");
}

static void on_done(void *arg, const struct http_result *res)
{
    struct etcd_request *r = arg;
    struct etcd_client *c = r->client;
    r->http = NULL; /* freed by its layer once this returns */
    const char *ep = c->endpoints[r->endpoint];
    char text[512];
    if (res->too_big) {
        snprintf(text, sizeof text, "etcd %s: reply larger than %u bytes", ep,
                 r->stream ? ETCD_MAX_MSG : ETCD_MAX_BODY);
        finish_error(r, 0, text);
        return;
    }
    if (res->status > 0) c->failovers = 0;
    if (res->rc != CURLE_OK) {
        fail_over(c, r->endpoint, res->detail);
        if (http_result_not_sent(res) && ++r->tries < c->n && start_transfer(r) == 0) return;
        snprintf(text, sizeof text, "etcd %s: %s", ep, res->detail);
        finish_error(r, 0, text);
        return;
    }
    if (r->stream && res->status == 200) {
        snprintf(text, sizeof text, "etcd %s: stream closed", ep);
        finish_error(r, 0, text);
        return;
    }
    cJSON *root = res->len ? cJSON_ParseWithLength(res->body, res->len) : NULL;
    int code;
    char msg[256];
    if (root && etcd_decode_error(root, &code, msg, sizeof msg)) {
        cJSON_Delete(root);
        bool bad_token = code == ETCD_CODE_UNAUTHENTICATED;
        bool no_token = code == ETCD_CODE_INVALID_ARGUMENT && strstr(msg, "user name is empty");
        if ((bad_token || no_token) && c->username && !r->is_auth && !r->retried_auth) {
            r->retried_auth = true; /* the token expired, or etcd restarted or enabled auth */
            etcd_client_auth_rejected(c);
            dispatch(r);
            return;
        }
        snprintf(text, sizeof text, "etcd %s: %s%s", ep, msg,
                 no_token && !c->username
                     ? " (etcd requires authentication: configure a username and password)"
                     : "");
        finish_error(r, code, text);
        return;
    }
    if (res->status != 200 || !root) {
        cJSON_Delete(root);
        snprintf(text, sizeof text, "etcd %s: HTTP status %ld: %.120s", ep, res->status, res->body);
        finish_error(r, 0, text);
        return;
    }
    unlink_request(r);
    r->on_reply(r->arg, root, NULL);
    cJSON_Delete(root);
    request_free(r);
}

/* Starts a new request r, or parks it until a token is there; on failure
 * frees it and returns -1 (its callback is not called). */
static int submit(struct etcd_request *r)
{
    struct etcd_client *c = r->client;
    r->waiting = c->username && !c->token && !c->auth_off;
    if (r->waiting) {
        if (!c->auth) start_auth(c);
        return 0;
    }
    if (start_transfer(r) == 0) return 0;
    unlink_request(r);
    request_free(r);
    return -1;
}

int etcd_client_post(struct etcd_client *c, const char *path, const char *body, etcd_reply_fn *fn,
                     void *arg)
{
    struct etcd_request *r = request_new(c, path, body, false);
    if (!r) return -1;
    r->on_reply = fn;
    r->arg = arg;
    return submit(r);
}

struct etcd_stream *etcd_client_stream(struct etcd_client *c, const char *path, const char *body,
                                       etcd_msg_fn *on_msg, etcd_end_fn *on_end, void *arg)
{
    struct etcd_request *r = request_new(c, path, body, true);
    if (!r) return NULL;
    r->on_msg = on_msg;
    r->on_end = on_end;
    r->arg = arg;
    return submit(r) == 0 ? (struct etcd_stream *)r : NULL;
}

/* Safe from inside the stream's own callbacks: the request below frees
 * itself once its delivery returns, and nothing here is touched after. */
void etcd_stream_cancel(struct etcd_stream *s)
{
    struct etcd_request *r = (struct etcd_request *)s;
    if (!r) return;
    unlink_request(r);
    request_free(r);
}

int etcd_client_post_sync(struct etcd_client *c, const char *path, const char *body,
                          long timeout_ms, char *err, size_t errlen)
{
    uint64_t deadline = loop_now_ms() + (uint64_t)timeout_ms;
    snprintf(err, errlen, "etcd: no endpoint tried");
    for (size_t i = 0; i < c->n; i++) {
        uint64_t now = loop_now_ms();
        if (now >= deadline) break;
        size_t ep = (c->current + i) % c->n;
        struct http_request *h = prepare(c, path, body, true, ep, (long)(deadline - now));
        if (!h) {
            snprintf(err, errlen, "etcd: out of memory");
            return -1;
        }
        struct http_result res;
        http_request_perform(h, &res);
        bool retry = res.rc != CURLE_OK && http_result_not_sent(&res);
        cJSON *root =
            res.rc == CURLE_OK && res.len ? cJSON_ParseWithLength(res.body, res.len) : NULL;
        int code, result = -1;
        char msg[256];
        if (res.rc != CURLE_OK)
            snprintf(err, errlen, "etcd %s: %s", c->endpoints[ep], res.detail);
        else if (root && etcd_decode_error(root, &code, msg, sizeof msg))
            snprintf(err, errlen, "etcd %s: %s", c->endpoints[ep], msg);
        else if (res.status != 200)
            snprintf(err, errlen, "etcd %s: HTTP status %ld", c->endpoints[ep], res.status);
        else
            result = 0;
        cJSON_Delete(root);
        http_request_free(h);
        if (result == 0 || !retry) return result;
    }
    return -1;
}
