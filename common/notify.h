/*
 * systemd's readiness protocol (sd_notify(3)), written by hand: one datagram
 * per state change to the unix socket named by $NOTIFY_SOCKET, and WATCHDOG=1
 * from the loop every half of $WATCHDOG_USEC, so a wedged loop stops the
 * pings and systemd restarts the daemon. Without $NOTIFY_SOCKET every verb
 * does nothing.
 *
 * notify_new reads and then unsets NOTIFY_SOCKET, WATCHDOG_USEC and
 * WATCHDOG_PID, so a child (a managed HAProxy, a reload command) does not
 * speak for the daemon. Loop thread only.
 */
#ifndef SMARTDOCK_NOTIFY_H
#define SMARTDOCK_NOTIFY_H

#include "loop.h"

#include <stdint.h>
#include <sys/types.h>

struct notify;

struct notify *notify_new(struct loop *l);
void notify_free(struct notify *n); /* NULL is fine */

/* READY=1 with a STATUS= line; only the first call says READY. */
void notify_ready(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* STATUS= alone; a repeat of the last status is not sent again. */
void notify_status(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void notify_stopping(struct notify *n);
int notify_is_ready(const struct notify *n);

/* Pure: the watchdog ping interval in ms (half the timeout) for these
 * environment values, or 0 when there is no watchdog for process self. */
uint64_t notify_watchdog_interval_ms(const char *watchdog_usec, const char *watchdog_pid,
                                     pid_t self);

#endif
