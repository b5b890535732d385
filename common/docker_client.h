/*
 * Docker Engine API client over libcurl (unix socket or tcp), driven by the
 * loop: every request is asynchronous and its callback runs on the loop thread.
 */
#ifndef SMARTDOCK_DOCKER_CLIENT_H
#define SMARTDOCK_DOCKER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

struct docker_client;
struct docker_stream;

/* error is NULL on a transport success (whatever the status); body is
 * borrowed for the call. */
typedef void docker_reply_fn(void *arg, long status, const char *body, size_t len,
                             const char *error);
/* One line of a newline-delimited stream, without its '\n'; borrowed. */
typedef void docker_line_fn(void *arg, const char *line, size_t len);
/* The stream ended: closed by the engine or failed. Not called after cancel. */
typedef void docker_end_fn(void *arg, const char *error);

/* TLS to a tcp:// engine, as the Docker CLI reads it from the environment:
 * DOCKER_TLS_VERIFY non-empty turns it on, verifying the engine with
 * <dir>/ca.pem and presenting <dir>/cert.pem and <dir>/key.pem, where dir is
 * DOCKER_CERT_PATH or $HOME/.docker. */
struct docker_tls {
    bool enabled;
    char *ca_file, *cert_file, *key_file;
};
/* Pure: the three environment values in, *out filled. -1 on allocation failure. */
int docker_tls_from_env(const char *tls_verify, const char *cert_path, const char *home,
                        struct docker_tls *out);
void docker_tls_clear(struct docker_tls *t);

/* url: "unix:///path", "tcp://host:port", "http://host:port" or "/path".
 * A tcp:// url uses TLS when $DOCKER_TLS_VERIFY says so (docker_tls_from_env).
 * NULL on a malformed url, with err naming it. */
struct docker_client *docker_client_new(struct loop *l, const char *url, char *err, size_t errlen);
/* The error a GET's callback gets when the client is freed under it. */
extern const char DOCKER_CANCELLED[];

/* Ends everything outstanding: GET callbacks get DOCKER_CANCELLED (so their
 * arg can be freed), streams end silently. */
void docker_client_free(struct docker_client *c);
const char *docker_client_url(const struct docker_client *c);

/* GET path ("/containers/json"). */
int docker_client_get(struct docker_client *c, const char *path, docker_reply_fn *fn, void *arg);
/* POST path with an empty body ("/containers/ID/kill?signal=SIGTERM"). */
int docker_client_post(struct docker_client *c, const char *path, docker_reply_fn *fn, void *arg);

/* The stream is established: the engine answered 200 and sends from now on. */
typedef void docker_open_fn(void *arg);

/* GET path as a stream of lines ("/events?..."); NULL on failure to start.
 * on_open may be NULL. */
struct docker_stream *docker_client_stream(struct docker_client *c, const char *path,
                                           docker_open_fn *on_open, docker_line_fn *on_line,
                                           docker_end_fn *on_end, void *arg);
/* Safe from inside the stream's own callbacks. */
void docker_stream_cancel(struct docker_stream *s);

/* Resolves the engine address: explicit (config) first, then $DOCKER_HOST,
 * then the default socket. Borrowed. */
const char *docker_default_url(const char *configured);

/* The "ApiVersion" of a /version reply, or "?". */
void docker_version_api(const char *body, size_t len, char *out, size_t outlen);

#endif
