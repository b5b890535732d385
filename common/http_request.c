#include "http_request.h"

#include "line_buffer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct http_request {
    struct loop *loop;
    CURL *easy;
    struct curl_slist *headers;
    struct http_request_opts opts;
    struct line_buffer reply;
    char curl_error[CURL_ERROR_SIZE];
    struct http_callbacks cb;
    void *arg;
    bool started, cancelled, in_callback, too_big;
    uint64_t deliver_timer; /* lines are handed over from the loop, never from inside curl */
    uint64_t open_timer;
};

bool http_result_not_sent(const struct http_result *res)
{
    return res->rc == CURLE_COULDNT_CONNECT || res->rc == CURLE_COULDNT_RESOLVE_HOST ||
           (res->rc == CURLE_OPERATION_TIMEDOUT && !res->connected);
}

bool http_header_block_ends(const char *data, size_t n)
{
    return (n == 2 && data[0] == '\r' && data[1] == '\n') || (n == 1 && data[0] == '\n');
}

static long status_of(struct http_request *r)
{
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static bool streaming(struct http_request *r)
{
    return r->cb.on_line && status_of(r) == 200;
}

/* Callbacks run from timers, never from inside curl: a callback may start
 * requests, which curl refuses from inside its own callbacks. */
static void opened_later(void *arg)
{
    struct http_request *r = arg;
    r->open_timer = 0;
    if (!r->cancelled) r->cb.on_open(r->arg);
}

/* The server flushes a stream's headers once it sends what happens (Docker
 * has subscribed us to its events): from then on nothing can be missed. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_request *r = userp;
    size_t n = size * nmemb;
    if (http_header_block_ends(data, n) && status_of(r) == 200 && !r->open_timer)
        r->open_timer = loop_timer(r->loop, 0, opened_later, r);
    return n;
}

static void deliver_later(void *arg);

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_request *r = userp;
    size_t n = size * nmemb;
    if (r->cancelled) return 0;
    bool lines = streaming(r);
    if (line_buffer_append(&r->reply, data, n, lines ? r->opts.line_limit : r->opts.body_limit) <
        0) {
        r->too_big = true;
        return 0;
    }
    if (lines && r->started && !r->deliver_timer && memchr(data, '\n', n))
        r->deliver_timer = loop_timer(r->loop, 0, deliver_later, r);
    return n;
}

struct http_request *http_request_new(struct loop *l, const char *url,
                                      const struct http_request_opts *o)
{
    struct http_request *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->loop = l;
    r->opts = *o;
    if (!(r->easy = curl_easy_init()) || curl_easy_setopt(r->easy, CURLOPT_URL, url) != CURLE_OK) {
        http_request_free(r);
        return NULL;
    }
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (o->keepalive_idle_s) curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, o->keepalive_idle_s);
    if (o->keepalive_intvl_s) curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, o->keepalive_intvl_s);
    if (o->connect_timeout_ms)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    if (o->timeout_ms) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    return r;
}

CURL *http_request_easy_borrow(struct http_request *r)
{
    return r->easy;
}

int http_request_add_header(struct http_request *r, const char *line)
{
    struct curl_slist *h = curl_slist_append(r->headers, line);
    if (!h) return -1;
    r->headers = h;
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    return 0;
}

int http_request_set_post(struct http_request *r, const char *body, size_t len)
{
    curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)len);
    if (len == 0) return curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, "") == CURLE_OK ? 0 : -1;
    return curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, body) == CURLE_OK ? 0 : -1;
}

void http_request_free(struct http_request *r)
{
    if (!r) return;
    if (r->deliver_timer) loop_timer_cancel(r->loop, r->deliver_timer);
    if (r->open_timer) loop_timer_cancel(r->loop, r->open_timer);
    if (r->easy) curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    line_buffer_free(&r->reply);
    free(r);
}

static bool hand_line(void *arg, const char *line, size_t len)
{
    struct http_request *r = arg;
    r->cb.on_line(r->arg, line, len);
    return !r->cancelled;
}

/* Hands every complete line over and keeps the partial tail; the stream's
 * opening comes first if it is still waiting for its turn. */
static void deliver_lines(struct http_request *r)
{
    r->in_callback = true;
    if (r->open_timer) {
        loop_timer_cancel(r->loop, r->open_timer);
        r->open_timer = 0;
        r->cb.on_open(r->arg);
        if (r->cancelled) {
            r->in_callback = false;
            return;
        }
    }
    line_buffer_take_lines(&r->reply, hand_line, r);
    r->in_callback = false;
}

static void deliver_later(void *arg)
{
    struct http_request *r = arg;
    r->deliver_timer = 0;
    deliver_lines(r);
    if (r->cancelled) {
        loop_remove_transfer(r->loop, r->easy);
        http_request_free(r);
    }
}

static void fill_result(struct http_request *r, CURLcode rc, struct http_result *out)
{
    curl_off_t connect_us = 0;
    curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    *out = (struct http_result){
        .rc = rc,
        .status = status_of(r),
        .body = r->reply.data ? r->reply.data : "",
        .len = r->reply.len,
        .too_big = r->too_big,
        .connected = connect_us > 0,
        .detail = r->curl_error[0] ? r->curl_error : curl_easy_strerror(rc),
    };
}

static void on_done(void *arg, CURL *easy, CURLcode rc)
{
    struct http_request *r = arg;
    (void)easy;
    if (r->cancelled) {
        http_request_free(r);
        return;
    }
    if (streaming(r)) {
        /* Lines that arrived just before the end still count. */
        if (r->deliver_timer) loop_timer_cancel(r->loop, r->deliver_timer);
        r->deliver_timer = 0;
        deliver_lines(r);
        if (r->cancelled) {
            http_request_free(r);
            return;
        }
    }
    struct http_result res;
    fill_result(r, rc, &res);
    r->in_callback = true;
    r->cb.on_done(r->arg, &res);
    http_request_free(r);
}

int http_request_start(struct http_request *r, const struct http_callbacks *cb, void *arg)
{
    r->cb = *cb;
    r->arg = arg;
    if (cb->on_open) {
        curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    }
    if (loop_add_transfer(r->loop, r->easy, on_done, r) < 0) {
        http_request_free(r);
        return -1;
    }
    r->started = true;
    return 0;
}

void http_request_cancel(struct http_request *r)
{
    if (!r || r->cancelled) return;
    r->cancelled = true;
    if (r->in_callback) return; /* deliver_later or on_done frees it */
    loop_remove_transfer(r->loop, r->easy);
    http_request_free(r);
}

void http_request_perform(struct http_request *r, struct http_result *out)
{
    CURLcode rc = curl_easy_perform(r->easy);
    fill_result(r, rc, out);
}
