/*
 * GET /metrics over HTTP, served by libmicrohttpd from the daemon's own loop:
 * MHD runs without a thread of its own (external select mode, through its
 * epoll fd, which the loop watches), so every render happens on the loop
 * thread, beside the state it reads.
 */
#ifndef SMARTDOCK_METRICS_HTTP_H
#define SMARTDOCK_METRICS_HTTP_H

#include <stddef.h>

#include "loop.h"
#include "metrics.h"

struct metrics_http;

/* listen is "address:port" (daemon_config_split_listen); m is borrowed and
 * must outlive the server. NULL with err on failure (the port is taken...). */
struct metrics_http *metrics_http_new(struct loop *l, const char *listen, struct metrics *m,
                                      char *err, size_t errlen);
void metrics_http_free(struct metrics_http *h); /* NULL is fine */

#endif
