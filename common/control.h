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

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

struct control;

/* Answers request (one line, without its newline) with a malloc'ed reply
 * the server frees after sending; NULL closes the connection unanswered. */
typedef char *control_handler_fn(void *arg, const char *request);

/* Listens at path (a stale socket there is replaced; a live one is an
 * error; a missing directory is created, one level, mode 0750). NULL with
 * err when it cannot. */
struct control *control_new(struct loop *l, const char *path, control_handler_fn *fn, void *arg,
                            char *err, size_t errlen);
/* Closes every connection and removes the socket file. NULL is fine. */
void control_free(struct control *c);

#define CONTROL_RUN_DIR "/run/smartdock"

/*
 * The default socket of daemon ("registrator", "watcher"), malloc'ed:
 * <dir>/<daemon>.sock in the first of /run/smartdock (systemd's
 * RuntimeDirectory, or made by root) and $XDG_RUNTIME_DIR/smartdock (a user
 * outside systemd) that the server can use (creating the directory) or, for
 * a client, that holds a socket; else the first. NULL on allocation failure.
 */
char *control_default_path(const char *daemon, bool server);
/* The same over the candidate dirs (NULL-terminated; "" entries skipped). */
char *control_pick_path(const char *const *dirs, const char *name, bool server);

/* Client side, blocking, at most timeout_ms: sends request, returns the
 * reply (caller frees) or NULL with err ("no daemon listens at ..."). */
char *control_request(const char *path, const char *request, int timeout_ms, char *err,
                      size_t errlen);

#endif
