#include "docker_client.h"

#include "backend.h"
#include "line_buffer.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOCKER_MAX_BODY (64u << 20) /* a list of thousands of containers fits */
#define DOCKER_MAX_LINE (1u << 20)

struct docker_request {
    struct docker_request *next;
    struct docker_client *client;
    CURL *easy;
    struct line_buffer body;
    bool stream, cancelled, in_callback, failed_size;
    uint64_t deliver_timer; /* lines are handed over from the loop, never from inside curl */
    docker_reply_fn *on_reply;
    docker_line_fn *on_line;
    docker_end_fn *on_end;
    docker_open_fn *on_open;
    uint64_t open_timer;
    void *arg;
};

const char DOCKER_CANCELLED[] = "cancelled";

struct docker_client {
    struct loop *loop;
    char *url;         /* as configured, for logs */
    char *base;        /* http://host:port, or https:// with TLS */
    char *unix_socket; /* NULL for tcp */
    struct docker_tls tls;
    struct docker_request *requests;
};

const char *docker_default_url(const char *configured)
{
    if (configured && *configured) return configured;
    const char *env = getenv("DOCKER_HOST");
    if (env && *env) return env;
    return "unix:///var/run/docker.sock";
}

int docker_tls_from_env(const char *tls_verify, const char *cert_path, const char *home,
                        struct docker_tls *out)
{
    memset(out, 0, sizeof *out);
    if (!tls_verify || !*tls_verify) return 0;
    char *dir = NULL;
    int r = cert_path && *cert_path ? asprintf(&dir, "%s", cert_path)
                                    : asprintf(&dir, "%s/.docker", home && *home ? home : "");
    if (r < 0) return -1;
    out->enabled = true;
    if (asprintf(&out->ca_file, "%s/ca.pem", dir) < 0) out->ca_file = NULL;
    if (asprintf(&out->cert_file, "%s/cert.pem", dir) < 0) out->cert_file = NULL;
    if (asprintf(&out->key_file, "%s/key.pem", dir) < 0) out->key_file = NULL;
    free(dir);
    if (!out->ca_file || !out->cert_file || !out->key_file) {
        docker_tls_clear(out);
        return -1;
    }
    return 0;
}

void docker_tls_clear(struct docker_tls *t)
{
    free(t->ca_file);
    free(t->cert_file);
    free(t->key_file);
    memset(t, 0, sizeof *t);
}

struct docker_client *docker_client_new(struct loop *l, const char *url, char *err, size_t errlen)
{
    struct docker_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->loop = l;
    c->url = strdup(url);
    const char *rest;
    if (strncmp(url, "unix://", 7) == 0 || url[0] == '/') {
        c->unix_socket = strdup(url[0] == '/' ? url : url + 7);
        c->base = strdup("http://docker");
        if (!*c->unix_socket) goto bad;
    } else if ((rest = strncmp(url, "tcp://", 6) == 0    ? url + 6
                       : strncmp(url, "http://", 7) == 0 ? url + 7
                                                         : NULL)) {
        if (!*rest || strchr(rest, '/') || strchr(rest, ' ')) goto bad;
        /* A tcp:// engine is reached with TLS when the environment asks for
         * it, as the Docker CLI and registrator's client do. */
        if (url[0] == 't' &&
            docker_tls_from_env(getenv("DOCKER_TLS_VERIFY"), getenv("DOCKER_CERT_PATH"),
                                getenv("HOME"), &c->tls) < 0)
            goto bad;
        size_t n = strlen(rest) + 9;
        c->base = malloc(n);
        if (c->base) snprintf(c->base, n, "%s://%s", c->tls.enabled ? "https" : "http", rest);
    } else {
        goto bad;
    }
    return c;
bad:
    snprintf(err, errlen, "docker.host: expected unix:///path or tcp://host:port, got \"%s\"", url);
    docker_client_free(c);
    return NULL;
}

static void request_free(struct docker_request *r)
{
    if (r->deliver_timer) loop_timer_cancel(r->client->loop, r->deliver_timer);
    if (r->open_timer) loop_timer_cancel(r->client->loop, r->open_timer);
    if (r->easy) curl_easy_cleanup(r->easy);
    line_buffer_free(&r->body);
    free(r);
}

static void unlink_request(struct docker_request *r)
{
    struct docker_request **p = &r->client->requests;
    while (*p && *p != r)
        p = &(*p)->next;
    if (*p) *p = r->next;
}

void docker_client_free(struct docker_client *c)
{
    if (!c) return;
    while (c->requests) {
        struct docker_request *r = c->requests;
        c->requests = r->next;
        loop_remove_transfer(c->loop, r->easy);
        if (!r->stream && !r->cancelled) r->on_reply(r->arg, 0, "", 0, DOCKER_CANCELLED);
        request_free(r);
    }
    free(c->url);
    free(c->base);
    free(c->unix_socket);
    docker_tls_clear(&c->tls);
    free(c);
}

const char *docker_client_url(const struct docker_client *c)
{
    return c->url;
}

static bool hand_line(void *arg, const char *line, size_t len)
{
    struct docker_request *r = arg;
    r->on_line(r->arg, line, len);
    return !r->cancelled;
}

/* Hands every complete line to the caller and keeps the partial tail. */
static void deliver_lines(struct docker_request *r)
{
    r->in_callback = true;
    line_buffer_take_lines(&r->body, hand_line, r);
    r->in_callback = false;
}

/* Timer: a stream's callbacks may start requests, which curl refuses from
 * inside its own write callback, so lines wait for the loop. */
static void deliver_later(void *arg)
{
    struct docker_request *r = arg;
    r->deliver_timer = 0;
    deliver_lines(r);
    if (r->cancelled) {
        unlink_request(r);
        loop_remove_transfer(r->client->loop, r->easy);
        request_free(r);
    }
}

static void opened_later(void *arg)
{
    struct docker_request *r = arg;
    r->open_timer = 0;
    if (r->on_open && !r->cancelled) r->on_open(r->arg);
}

/* The engine flushes a stream's headers once it has subscribed us: from then
 * on no event can be missed, so that is when the caller may list. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct docker_request *r = userp;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if ((n == 2 && data[0] == '\r') || (n == 1 && data[0] == '\n'))
        if (status == 200 && !r->open_timer)
            r->open_timer = loop_timer(r->client->loop, 0, opened_later, r);
    return n;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    struct docker_request *r = userp;
    size_t n = size * nmemb;
    if (r->cancelled) return 0;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    bool lines = r->stream && status == 200;
    if (line_buffer_append(&r->body, data, n, lines ? DOCKER_MAX_LINE : DOCKER_MAX_BODY) < 0) {
        r->failed_size = true;
        return 0;
    }
    if (lines && !r->deliver_timer && memchr(data, '\n', n))
        r->deliver_timer = loop_timer(r->client->loop, 0, deliver_later, r);
    return n;
}

static void on_done(void *arg, CURL *easy, CURLcode rc)
{
    struct docker_request *r = arg;
    (void)easy;
    unlink_request(r);
    if (r->cancelled) {
        request_free(r);
        return;
    }
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (r->stream && status == 200) {
        /* Lines that arrived just before the end still count. */
        if (r->deliver_timer) loop_timer_cancel(r->client->loop, r->deliver_timer);
        r->deliver_timer = 0;
        deliver_lines(r);
        if (r->cancelled) {
            request_free(r);
            return;
        }
    }
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    char error[256] = "";
    if (r->failed_size)
        snprintf(error, sizeof error, "reply from %s larger than %u bytes", r->client->url,
                 r->stream ? DOCKER_MAX_LINE : DOCKER_MAX_BODY);
    else if (rc != CURLE_OK)
        snprintf(error, sizeof error, "%s: %s", r->client->url, curl_easy_strerror(rc));
    if (r->stream) {
        if (!*error && status != 200)
            snprintf(error, sizeof error, "%s: status %ld: %.120s", r->client->url, status,
                     r->body.data ? r->body.data : "");
        r->on_end(r->arg, *error ? error : "stream closed by the engine");
    } else {
        r->on_reply(r->arg, status, r->body.data ? r->body.data : "", r->body.len,
                    *error ? error : NULL);
    }
    request_free(r);
}

static struct docker_request *start(struct docker_client *c, const char *path, bool stream,
                                    bool post)
{
    struct docker_request *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->client = c;
    r->stream = stream;
    r->easy = curl_easy_init();
    size_t n = strlen(c->base) + strlen(path) + 1;
    char *url = malloc(n);
    if (!r->easy || !url) {
        free(url);
        request_free(r);
        return NULL;
    }
    snprintf(url, n, "%s%s", c->base, path);
    curl_easy_setopt(r->easy, CURLOPT_URL, url);
    free(url);
    if (c->unix_socket) curl_easy_setopt(r->easy, CURLOPT_UNIX_SOCKET_PATH, c->unix_socket);
    if (c->tls.enabled) {
        curl_easy_setopt(r->easy, CURLOPT_CAINFO, c->tls.ca_file);
        curl_easy_setopt(r->easy, CURLOPT_SSLCERT, c->tls.cert_file);
        curl_easy_setopt(r->easy, CURLOPT_SSLKEY, c->tls.key_file);
    }
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!stream) curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, 15000L);
    if (post) {
        curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, 0L);
    }
    if (loop_add_transfer(c->loop, r->easy, on_done, r) < 0) {
        request_free(r);
        return NULL;
    }
    r->next = c->requests;
    c->requests = r;
    return r;
}

int docker_client_get(struct docker_client *c, const char *path, docker_reply_fn *fn, void *arg)
{
    struct docker_request *r = start(c, path, false, false);
    if (!r) return -1;
    r->on_reply = fn;
    r->arg = arg;
    return 0;
}

int docker_client_post(struct docker_client *c, const char *path, docker_reply_fn *fn, void *arg)
{
    struct docker_request *r = start(c, path, false, true);
    if (!r) return -1;
    r->on_reply = fn;
    r->arg = arg;
    return 0;
}

struct docker_stream *docker_client_stream(struct docker_client *c, const char *path,
                                           docker_open_fn *on_open, docker_line_fn *on_line,
                                           docker_end_fn *on_end, void *arg)
{
    struct docker_request *r = start(c, path, true, false);
    if (!r) return NULL;
    r->on_line = on_line;
    r->on_end = on_end;
    r->on_open = on_open;
    r->arg = arg;
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    return (struct docker_stream *)r;
}

void docker_stream_cancel(struct docker_stream *s)
{
    struct docker_request *r = (struct docker_request *)s;
    if (!r) return;
    r->cancelled = true;
    if (r->in_callback) return; /* deliver_later or on_done frees it */
    unlink_request(r);
    loop_remove_transfer(r->client->loop, r->easy);
    request_free(r);
}

void docker_version_api(const char *body, size_t len, char *out, size_t outlen)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "ApiVersion");
    snprintf(out, outlen, "%s",
             cJSON_IsString(v) && backend_text_is_safe(v->valuestring) ? v->valuestring : "?");
    cJSON_Delete(root);
}
