/*
 * gliderlabs/registrator's -retry-attempts and -retry-interval: how long
 * the registrator waits for its registry at start-up before it gives up
 * and exits. registrator pings the backend, then retries every interval
 * up to attempts more times (-1: forever) and exits on the last failure.
 * Here the registry client connects (and reconnects) on its own; attempt k
 * is the check, interval_ms * (k + 1) after start, of whether it is
 * connected yet. Pure: the registrator drives it with a loop timer.
 */
#ifndef SMARTDOCK_STARTUP_RETRY_H
#define SMARTDOCK_STARTUP_RETRY_H

#include <stdbool.h>

struct startup_retry {
    int attempts;    /* retries after the first attempt; -1: forever */
    int interval_ms; /* between attempts, >= 1 */
    int done;        /* attempts checked so far */
};

enum startup_retry_step {
    STARTUP_RETRY_CONNECTED, /* stop checking */
    STARTUP_RETRY_WAIT,      /* check again interval_ms later */
    STARTUP_RETRY_GIVE_UP,   /* every attempt failed: exit */
};

void startup_retry_init(struct startup_retry *s, int attempts, int interval_ms);
/* Whether a timer is needed at all (not with -1: the client retries forever). */
bool startup_retry_active(const struct startup_retry *s);
/* One attempt's outcome; counts it. */
enum startup_retry_step startup_retry_attempt(struct startup_retry *s, bool connected);

#endif
