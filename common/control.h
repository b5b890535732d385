/*
 * The control socket: a unix stream socket (mode 0600) on which the running
 * daemon answers one request line per connection ("status", "drain ID")
 * with one JSON document, then closes. `smartdock-watcher status` and
 * `smartdock-registrator status` are its clients.
 *
 * The server runs on the loop thread: accepting, reading and answering never
 * block it (a client that does not send its line within 5 s is dropped).
 */
#ifndef SMARTDOCK_CONTROL_H
#define SMARTDOCK_CONTROL_H

#include <stddef.h>

#include "loop.h"

struct control;

/* Answers request (one line, without its newline) with a malloc'ed reply
 * the server frees after sending; NULL closes the connection unanswered. */
typedef char *control_handler_fn(void *arg, const char *request);

/* Listens at path (a stale socket there is replaced; a live one is an
 * error). NULL with err when it cannot. */
struct control *control_new(struct loop *l, const char *path, control_handler_fn *fn, void *arg,
                            char *err, size_t errlen);
/* Closes every connection and removes the socket file. NULL is fine. */
void control_free(struct control *c);

/* Client side, blocking, at most timeout_ms: sends request, returns the
 * reply (caller frees) or NULL with err ("no daemon listens at ..."). */
char *control_request(const char *path, const char *request, int timeout_ms, char *err,
                      size_t errlen);

#endif
