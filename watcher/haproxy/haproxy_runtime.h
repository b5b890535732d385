/*
 * A client for HAProxy's CLI (the stats socket, or the master socket) on the
 * loop thread, without blocking it.
 *
 * Commands run in the order they were queued, and the answer of each is its
 * own. A command queued alone goes on its own connection: connect, write
 * "<command>\n", shut down our writing side, read the answer to EOF.
 * Commands queued behind each other (a batch: "add server", "enable server"
 * ...) share one connection, up to 1,000, in HAProxy's interactive mode:
 * "prompt", the commands, "quit", each answer cut at the prompt that follows
 * it. A connection costs ~0.1 ms and a loop turn; 10,000 servers added one
 * connection each took 2 s idle and 40 s on a loaded machine. The loop
 * client is for a stats socket (the master CLI is reached with
 * haproxy_cli_query).
 *
 * HAProxy answers a successful "enable server", "set weight" or "set server
 * ... state" with an empty line, "add server" with "New server registered."
 * and "del server" with "Server deleted."; anything else is an error message.
 */
#ifndef SMARTDOCK_HAPROXY_RUNTIME_H
#define SMARTDOCK_HAPROXY_RUNTIME_H

#include <stdbool.h>

#include "loop.h"

struct haproxy_runtime;

/*
 * Called on the loop thread once per command: ok when the answer is what
 * the command expected; answer is the text HAProxy sent, trailing blank lines
 * removed, or the reason there was none ("connect: No such file or
 * directory", "timed out"); borrowed for the call. fn may queue commands and
 * may call haproxy_runtime_cancel, but not haproxy_runtime_free.
 */
typedef void haproxy_runtime_fn(void *arg, bool ok, const char *answer);

/* path is copied. timeout_ms bounds each command, connect to EOF. */
struct haproxy_runtime *haproxy_runtime_new(struct loop *l, const char *path, unsigned timeout_ms);
/* Queued commands are dropped without their callbacks. */
void haproxy_runtime_free(struct haproxy_runtime *rt);

/*
 * Queues command (copied; no newline in it). expect: NULL accepts any answer
 * that arrived (queries); "" wants an empty answer; any other string wants an
 * answer starting with it. Returns 0, or -1 on allocation failure (fn is then
 * not called).
 */
int haproxy_runtime_send(struct haproxy_runtime *rt, const char *command, const char *expect,
                         haproxy_runtime_fn *fn, void *arg);

/* Forgets every queued or running command whose arg is arg: their fn will
 * not be called. */
void haproxy_runtime_cancel(struct haproxy_runtime *rt, const void *arg);

bool haproxy_runtime_idle(const struct haproxy_runtime *rt);
unsigned haproxy_runtime_command_count(const struct haproxy_runtime *rt); /* sent so far */
const char *haproxy_runtime_path(const struct haproxy_runtime *rt);       /* borrowed */

/*
 * Blocking: the same exchange, for tools and child processes (never on the
 * loop thread). Returns 0 and *answer (caller frees, trailing blank lines
 * removed), or -1 with a sentence in err.
 */
int haproxy_cli_query(const char *path, const char *command, unsigned timeout_ms, char **answer,
                      char *err, size_t errlen);

#endif
