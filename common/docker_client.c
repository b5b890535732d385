#include "docker_client.h"

#include "backend.h"
#include "curl_lib.h"
#include "http_request.h"
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
    struct http_request *http;
    bool stream;
    docker_reply_fn *on_reply;
    docker_line_fn *on_line;
    docker_end_fn *on_end;
    docker_open_fn *on_open;
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
    /* Every Docker request is a libcurl transfer: say now if it is missing. */
    if (curl_lib_load(err, errlen) < 0) {
        docker_client_free(c);
        return NULL;
    }
    return c;
bad:
    snprintf(err, errlen, "docker.host: expected unix:///path or tcp://host:port, got \"%s\"", url);
    docker_client_free(c);
    return NULL;
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
        http_request_cancel(r->http);
        if (!r->stream) r->on_reply(r->arg, 0, "", 0, DOCKER_CANCELLED);
        free(r);
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

static void on_open(void *arg)
{
    struct docker_request *r = arg;
    if (r->on_open) r->on_open(r->arg);
}

static void on_line(void *arg, const char *line, size_t len)
{
    struct docker_request *r = arg;
    r->on_line(r->arg, line, len);
}

static void on_done(void *arg, const struct http_result *res)
{
    struct docker_request *r = arg;
    struct docker_client *c = r->client;
    unlink_request(r);
    char error[256] = "";
    if (res->too_big)
        snprintf(error, sizeof error, "reply from %s larger than %u bytes", c->url,
                 r->stream ? DOCKER_MAX_LINE : DOCKER_MAX_BODY);
    else if (res->rc != CURLE_OK)
        snprintf(error, sizeof error, "%s: %s", c->url, curl_easy_strerror(res->rc));
    if (r->stream) {
        if (!*error && res->status != 200)
            snprintf(error, sizeof error, "%s: status %ld: %.120s", c->url, res->status, res->body);
        r->on_end(r->arg, *error ? error : "stream closed by the engine");
    } else {
        r->on_reply(r->arg, res->status, res->body, res->len, *error ? error : NULL);
    }
    free(r);
}

static struct docker_request *start(struct docker_client *c, const char *path, bool stream,
                                    bool post, docker_open_fn *open_fn, void *arg)
{
    struct docker_request *r = calloc(1, sizeof *r);
    size_t n = strlen(c->base) + strlen(path) + 1;
    char *url = malloc(n);
    if (!r || !url) goto fail;
    snprintf(url, n, "%s%s", c->base, path);
    r->client = c;
    r->stream = stream;
    r->on_open = open_fn;
    r->arg = arg;
    struct http_request_opts o = {
        .connect_timeout_ms = 3000,
        .timeout_ms = stream ? 0 : 15000,
        .body_limit = DOCKER_MAX_BODY,
        .line_limit = DOCKER_MAX_LINE,
    };
    if (!(r->http = http_request_new(c->loop, url, &o))) goto fail;
    CURL *easy = http_request_easy_borrow(r->http);
    if (c->unix_socket) curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, c->unix_socket);
    if (c->tls.enabled) {
        curl_easy_setopt(easy, CURLOPT_CAINFO, c->tls.ca_file);
        curl_easy_setopt(easy, CURLOPT_SSLCERT, c->tls.cert_file);
        curl_easy_setopt(easy, CURLOPT_SSLKEY, c->tls.key_file);
    }
    if (post && http_request_set_post(r->http, "", 0) < 0) goto fail;
    struct http_callbacks cb = {
        .on_open = stream ? on_open : NULL,
        .on_line = stream ? on_line : NULL,
        .on_done = on_done,
    };
    free(url);
    url = NULL;
    if (http_request_start(r->http, &cb, r) < 0) {
        free(r);
        return NULL;
    }
    r->next = c->requests;
    c->requests = r;
    return r;
fail:
    free(url);
    if (r) http_request_free(r->http);
    free(r);
    return NULL;
}

int docker_client_get(struct docker_client *c, const char *path, docker_reply_fn *fn, void *arg)
{
    struct docker_request *r = start(c, path, false, false, NULL, arg);
    if (!r) return -1;
    r->on_reply = fn;
    return 0;
}

int docker_client_post(struct docker_client *c, const char *path, docker_reply_fn *fn, void *arg)
{
    struct docker_request *r = start(c, path, false, true, NULL, arg);
    if (!r) return -1;
    r->on_reply = fn;
    return 0;
}

struct docker_stream *docker_client_stream(struct docker_client *c, const char *path,
                                           docker_open_fn *on_open_fn, docker_line_fn *on_line_fn,
                                           docker_end_fn *on_end, void *arg)
{
    struct docker_request *r = start(c, path, true, false, on_open_fn, arg);
    if (!r) return NULL;
    r->on_line = on_line_fn;
    r->on_end = on_end;
    return (struct docker_stream *)r;
}

/* Safe from inside the stream's own callbacks: the request below frees
 * itself once its delivery returns, and nothing here is touched after. */
void docker_stream_cancel(struct docker_stream *s)
{
    struct docker_request *r = (struct docker_request *)s;
    if (!r) return;
    http_request_cancel(r->http);
    unlink_request(r);
    free(r);
}

void docker_version_api(const char *body, size_t len, char *out, size_t outlen)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "ApiVersion");
    snprintf(out, outlen, "%s",
             cJSON_IsString(v) && backend_text_is_safe(v->valuestring) ? v->valuestring : "?");
    cJSON_Delete(root);
}
