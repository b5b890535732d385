/*
 * Following one Docker engine on the loop: docker_follow.h's state machine
 * driven by docker_client.h (GET /version, /events, /containers/json,
 * /containers/{id}/json) and loop timers (reconnect backoff, periodic
 * resync). Its consumer gets docker_follow_reports on the loop thread.
 *
 * Every Engine API path smartdock uses is here or in docker_client.c.
 */
#ifndef SMARTDOCK_DOCKER_WATCH_H
#define SMARTDOCK_DOCKER_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker_client.h"
#include "docker_follow.h"
#include "loop.h"

struct docker_watch;

struct docker_watch_config {
    const char *url; /* docker_client_new's form; copied */
    const char
        *log_prefix;    /* "service web: docker d1 (unix:///...)"; copied; NULL: "docker <url>" */
    uint64_t resync_ms; /* periodic full resync */
    bool once;          /* one list and its inspects, no events stream, no retry */
};

/* Connects from the loop (nothing is reported before this returns). NULL on
 * a malformed url or no memory, with err saying which. rp and arg are
 * borrowed and must outlive the watch. */
struct docker_watch *docker_watch_new(struct loop *l, const struct docker_watch_config *cfg,
                                      const struct docker_follow_reports *rp, void *arg, char *err,
                                      size_t errlen);
/* Cancels everything; reports nothing more. */
void docker_watch_free(struct docker_watch *w);
/* A resync asked for: runs after the one in flight, if any. */
void docker_watch_resync(struct docker_watch *w);
/* fn(arg, data) for the consumer's data of every container (docker_follow_each). */
void docker_watch_each(struct docker_watch *w, void (*fn)(void *arg, void *data), void *arg);
/* A resync is in flight: in_sync (or lost) follows. */
bool docker_watch_resyncing(const struct docker_watch *w);
/* The engine address, borrowed. */
const char *docker_watch_url(const struct docker_watch *w);

/* POST /containers/{id}/kill?signal=<signal>; fn gets DOCKER_CANCELLED if
 * the watch is freed first. -1 if it could not start (fn not called). */
int docker_watch_kill(struct docker_watch *w, const char *id, const char *signal,
                      docker_reply_fn *fn, void *arg);

#endif
