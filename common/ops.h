/*
 * What makes a daemon operable, wired once for both: Prometheus metrics
 * (metrics.listen), the control socket (status and other commands), and
 * systemd's notify protocol with a STATUS= line kept up to date.
 *
 * The daemon gives hooks that run on the loop thread and read its state.
 */
#ifndef SMARTDOCK_OPS_H
#define SMARTDOCK_OPS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "daemon_config.h"
#include "loop.h"
#include "metrics.h"

struct ops;

struct ops_hooks {
    /* "status" on the control socket: a JSON document (caller frees). */
    char *(*status_json)(void *arg);
    /* Any other request line ("drain 3f2a"): a JSON reply, or NULL for an
     * unknown request. May be NULL. */
    char *(*command)(void *arg, const char *request);
    /* One line for systemd's STATUS=. */
    void (*summary)(void *arg, char *buf, size_t len);
    void *arg;
};

/* daemon: "registrator" or "watcher". control_path: where the control
 * socket goes (the config's, or the daemon's default). A metrics listen
 * address that cannot be bound is an error (NULL, logged); a control socket
 * that cannot be created is logged and left out. */
struct ops *ops_new(struct loop *l, const char *daemon, const struct daemon_config *dc,
                    const char *control_path, const struct ops_hooks *hooks);
/* The daemon's metrics; NULL when metrics are off (every metric verb then
 * does nothing). */
struct metrics *ops_metrics(struct ops *o);
/* The first full sync is done: READY=1 with the summary. */
void ops_ready(struct ops *o);
/* Shutting down: STOPPING=1. */
void ops_stopping(struct ops *o);
void ops_free(struct ops *o); /* NULL is fine */

/* The client side of `<daemon> status|drain ...`: sends request to the
 * control socket at path and prints the reply, as JSON when json is set,
 * else through print (a human view). Returns the exit status: 0, or 1 when
 * no daemon answers or the reply says "ok": false. */
int ops_client(const char *path, const char *request, bool json,
               void (*print)(const cJSON *reply, FILE *out));

/* Reading a reply: the string member key, or "?"; whether key is true. */
const char *ops_str(const cJSON *o, const char *key);
bool ops_true(const cJSON *o, const char *key);

#endif
