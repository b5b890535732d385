/*
 * The health of one instance: its checks run on the loop thread every
 * check_interval, with Nerve's semantics (check_window.h for one check; the
 * instance is up when all its checks are). As in Nerve the checks of a
 * round run one after the other and a round stops at the first check that
 * is down; the next round starts check_interval after this one ended.
 *
 * http checks are libcurl transfers on the loop's multi handle; tcp checks
 * are a non-blocking connect watched by the loop (hostnames that are not
 * IP addresses go through libcurl's resolver, connect only). Each check is
 * cut at its own timeout. Nothing blocks and no thread is started.
 */
#ifndef SMARTDOCK_HEALTH_H
#define SMARTDOCK_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "check_config.h"
#include "loop.h"

struct health;

/* The instance came up or went down (the first round always reports).
 * Runs on the loop thread; must not free the health object. */
typedef void health_fn(void *arg, bool up);

/*
 * checks are copied; a check without host/port uses host/port. what names
 * the instance in log lines ("web 127.0.0.2:18000 container=3f2a1b2c3d4e").
 * The first round starts at once. NULL on allocation failure.
 */
struct health *health_new(struct loop *l, const struct check_list *checks, const char *host,
                          int port, int interval_ms, const char *what, health_fn *fn, void *arg);
/* Also calls fn with every check's result (pass or fail), for metrics;
 * same thread and rules as health_fn. */
typedef void health_result_fn(void *arg, bool pass);
void health_on_result(struct health *h, health_result_fn *fn, void *arg);
/* Cancels what is in flight; fn is not called again. NULL is fine. */
void health_free(struct health *h);
/* The last reported state (false before the first round ends). */
bool health_is_up(const struct health *h);
/* The first round has ended (and was reported). */
bool health_reported(const struct health *h);
/* For status: "starting" before the first round ends, "up", or
 * "down: check <name>: <reason>" as the transition's log line said. */
void health_describe(const struct health *h, char *buf, size_t len);
/* Transitions so far and checks run; for tests and the benchmark. */
unsigned long health_checks_run(const struct health *h);

#endif
