/*
 * An asynchronous client of etcd v3's JSON gateway, driven by the loop:
 * every callback runs on the loop thread, never from inside libcurl.
 *
 * It talks to one endpoint at a time and moves on to the next one when a
 * connection fails; a request that could not connect at all is tried on the
 * next endpoints before its caller hears of it. With a username it
 * authenticates first (/v3/auth/authenticate), sends the token in the
 * "Authorization" header, and on an "invalid auth token" reply
 * authenticates again and retries the request once.
 */
#ifndef SMARTDOCK_ETCD_CLIENT_H
#define SMARTDOCK_ETCD_CLIENT_H

#include <stddef.h>

#include "loop.h"

struct cJSON;
struct etcd_client;
struct etcd_stream;

struct etcd_client_opts {
    char *const *endpoints; /* "http://host:port" or "https://...", at least one */
    size_t nendpoints;
    const char *username, *password;            /* both or neither */
    const char *ca_file, *cert_file, *key_file; /* each may be NULL */
    long timeout_ms;                            /* per request (not streams); 0 means 5000 */
};

/* The code of a request's error when the client was freed under it. */
#define ETCD_CANCELLED (-1)

/* code: the gRPC code of an etcd error, 0 for a transport, HTTP or parse
 * error, ETCD_CANCELLED. message: one sentence naming the endpoint. */
struct etcd_error {
    int code;
    const char *message;
};

/* Exactly one of reply (the decoded body) and err is non-NULL; both borrowed. */
typedef void etcd_reply_fn(void *arg, const struct cJSON *reply, const struct etcd_error *err);
/* One message of a stream; borrowed. */
typedef void etcd_msg_fn(void *arg, const struct cJSON *msg);
/* The stream ended (closed, failed, or an error message arrived). Not called
 * after etcd_stream_cancel nor when the client is freed. */
typedef void etcd_end_fn(void *arg, const struct etcd_error *err);

/* Copies what it needs from o. NULL on allocation failure. */
struct etcd_client *etcd_client_new(struct loop *l, const struct etcd_client_opts *o);
/* Request callbacks get ETCD_CANCELLED (so their arg can be freed); streams
 * end silently. */
void etcd_client_free(struct etcd_client *c);
/* The endpoint in use; borrowed. */
const char *etcd_client_endpoint(const struct etcd_client *c);

/* POST body (JSON, copied) to path ("/v3/kv/put"). */
int etcd_client_post(struct etcd_client *c, const char *path, const char *body, etcd_reply_fn *fn,
                     void *arg);
/* POST body to path and read the reply as newline-delimited JSON messages
 * ("/v3/watch"). NULL on failure to start. */
struct etcd_stream *etcd_client_stream(struct etcd_client *c, const char *path, const char *body,
                                       etcd_msg_fn *on_msg, etcd_end_fn *on_end, void *arg);
/* Safe from inside the stream's own callbacks. */
void etcd_stream_cancel(struct etcd_stream *s);

/* A stream reported the token invalid: authenticate again before the next
 * request. */
void etcd_client_auth_rejected(struct etcd_client *c);

/*
 * Blocking POST, for shutdown only (revoking a lease on the way out): tries
 * the endpoints in turn until one answers or timeout_ms is spent. 0 when etcd
 * accepted the request; -1 with err filled otherwise.
 */
int etcd_client_post_sync(struct etcd_client *c, const char *path, const char *body,
                          long timeout_ms, char *err, size_t errlen);

#endif
