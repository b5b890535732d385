/*
 * One HTTP request on the loop's curl multi handle: the lifecycle the Docker
 * and etcd clients share.
 *
 * The request owns its easy handle, its reply buffer (bounded), its extra
 * headers and a copy of its POST body. Results reach the caller on the loop
 * thread, never from inside libcurl: a callback may start or cancel requests.
 * A reply with status 200 to a request with an on_line callback is a stream
 * of newline-delimited lines, each handed over as it completes.
 *
 * Ownership: http_request_new gives the caller a request to set up. Once
 * started it belongs to the loop: it is freed after on_done returns, or by
 * http_request_cancel (then on_done is not called). A request that is never
 * started, or was run with http_request_perform, is freed with
 * http_request_free.
 */
#ifndef SMARTDOCK_HTTP_REQUEST_H
#define SMARTDOCK_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

struct http_request;

struct http_request_opts {
    long connect_timeout_ms; /* 0: libcurl's default */
    long timeout_ms;         /* the whole transfer; 0: none (streams) */
    long keepalive_idle_s;   /* TCP keepalive probes after this idle time... */
    long keepalive_intvl_s;  /* ...every this many seconds; 0: libcurl's defaults */
    size_t body_limit;       /* the whole reply, when it is not a stream */
    size_t line_limit;       /* one line of a stream */
};

/* How a transfer ended; borrowed for the call (or until http_request_free
 * after http_request_perform). */
struct http_result {
    CURLcode rc;
    long status;      /* 0 when no reply came */
    const char *body; /* NUL-terminated; what remains unread of a stream */
    size_t len;
    bool too_big;       /* the reply passed its limit; rc is then a write error */
    bool connected;     /* a connection to the server was made */
    const char *detail; /* libcurl's own sentence (a TLS alert, say), or its rc's */
};

/* The stream's headers are in and its status is 200: from now on the server
 * sends what happens. */
typedef void http_open_fn(void *arg);
/* One line of a stream, without its "\n"; borrowed. */
typedef void http_line_fn(void *arg, const char *line, size_t len);
/* The transfer ended, however it ended (except cancelled). */
typedef void http_done_fn(void *arg, const struct http_result *res);

struct http_callbacks {
    http_open_fn *on_open; /* may be NULL */
    http_line_fn *on_line; /* NULL: the reply is read whole */
    http_done_fn *on_done; /* required */
};

/* NULL on allocation failure. url is copied. */
struct http_request *http_request_new(struct loop *l, const char *url,
                                      const struct http_request_opts *o);
/* The easy handle, for options only its client knows (TLS files, a unix
 * socket); borrowed. */
CURL *http_request_easy_borrow(struct http_request *r);
/* Adds a "Name: value" header line (copied). -1 on allocation failure. */
int http_request_add_header(struct http_request *r, const char *line);
/* Makes the request a POST of body (copied; len 0 for an empty body). */
int http_request_set_post(struct http_request *r, const char *body, size_t len);

/* Hands r to the loop. On -1 (the loop refused it) r is already freed and
 * no callback runs. */
int http_request_start(struct http_request *r, const struct http_callbacks *cb, void *arg);
/* Ends a started request: no callback runs after it. Safe from inside the
 * request's own callbacks. */
void http_request_cancel(struct http_request *r);

/* Runs r to its end on the calling thread, for shutdown paths only; *out
 * stays valid until http_request_free(r). */
void http_request_perform(struct http_request *r, struct http_result *out);
void http_request_free(struct http_request *r);

/* Pure: the request never reached the server (refused, unresolved, or timed
 * out before connecting), so another server may be tried with it. */
bool http_result_not_sent(const struct http_result *res);
/* Pure: a header callback's data is the blank line ending a header block. */
bool http_header_block_ends(const char *data, size_t n);

#endif
