/*
 * Following one Docker engine, as a pure state machine: what the engine
 * says (replies, event lines) goes in; what to ask it next (requests) and
 * what its consumer should know (reports) come out through callbacks. No
 * I/O, no clock, no globals: docker_watch.h drives it with docker_client and
 * the loop, and tests drive it with recorded Engine API replies.
 *
 * The sequence: GET /version; open the events stream (containers only);
 * once the engine has subscribed us, list the running containers and
 * inspect each one (a resync). Events that change what a container means
 * bump its generation and inspect it again; a reply to an older generation
 * is stale and dropped. On any failure: report the engine lost, back off
 * (common/backoff) and start again at /version.
 *
 * A resync asked for while one is in flight runs again when that one ends,
 * whether it ends well or its list fails: what changed meanwhile may predate
 * its listing. The engine is reported in sync only when a resync ends with
 * none pending.
 *
 * "Still stopping": after a kill with the stop signal (or SIGKILL) the
 * process may run for a while as it shuts down. A resync inspect that finds
 * it still running keeps it withdrawn, for at most the stop grace (the
 * resync interval, at least 10 s): an app that ignored a manual
 * `docker kill -s TERM` and still serves comes back after that. Events that
 * start it again (start, unpause, healthy) end the stopping at once.
 */
#ifndef SMARTDOCK_DOCKER_FOLLOW_H
#define SMARTDOCK_DOCKER_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker_event.h"
#include "docker_model.h"
#include "log.h"

struct docker_follow;

/* One inspect asked for; the driver hands it back with the reply. */
struct docker_follow_inspect {
    const char *id; /* borrowed for the call: copy it */
    uint64_t gen;
    bool from_resync;
};

/* What the follower tells its consumer. Every pointer is borrowed for the
 * call but data: *data is the consumer's own record of the container, kept
 * by the follower (NULL until the consumer sets it). */
struct docker_follow_reports {
    /* Container c->id is now c (a fresh inspect, running or not, ready or not). */
    void (*container)(void *arg, const struct docker_container *c, void **data);
    /* Container id must not serve now: why says so; ev is the event that
     * said it (a kill carries its signal), or NULL. final: the follower
     * forgets it after this call (destroyed, or gone from the engine), so
     * the consumer frees *data. */
    void (*gone)(void *arg, const char *id, const char *why, const struct docker_event *ev,
                 bool final, void **data);
    /* A full list and its inspects ended with no resync pending. */
    void (*in_sync)(void *arg);
    /* The engine could not be followed (unreachable, stream ended, list
     * failed); the follower is retrying unless it runs once. */
    void (*lost)(void *arg, const char *why);
};

/* What the follower asks its driver to do. A request returning -1 could not
 * be started and counts as failed at once. */
struct docker_follow_requests {
    int (*version)(void *arg);                                        /* GET /version */
    int (*open_events)(void *arg);                                    /* GET /events (containers) */
    int (*list)(void *arg);                                           /* GET /containers/json */
    int (*inspect)(void *arg, const struct docker_follow_inspect *q); /* GET /containers/ID/json */
    void (*retry_in)(void *arg, unsigned delay_ms); /* call docker_follow_start then */
    uint64_t (*now_ms)(void *arg);                  /* monotonic */
    void (*note)(void *arg, enum log_level level, const char *msg); /* one log line */
};

struct docker_follow_config {
    uint64_t resync_ms; /* the periodic resync interval (bounds "still stopping") */
    bool once;          /* no events stream and no retry: one list, its inspects, done */
    uint64_t seed;      /* backoff jitter */
};

/* Requests get rq_arg (the driver), reports rp_arg (the consumer). */
struct docker_follow *docker_follow_new(const struct docker_follow_config *cfg,
                                        const struct docker_follow_requests *rq, void *rq_arg,
                                        const struct docker_follow_reports *rp, void *rp_arg);
/* Makes no request and no report. The consumer's data still held is its
 * own to free first (docker_follow_each). */
void docker_follow_free(struct docker_follow *f);
/* fn(arg, data) for every container whose data is not NULL. */
void docker_follow_each(struct docker_follow *f, void (*fn)(void *arg, void *data), void *arg);

/* (Re)connects: asks for /version. */
void docker_follow_start(struct docker_follow *f);
/* Replies: error is a transport error (NULL when the engine answered status). */
void docker_follow_version_reply(struct docker_follow *f, long status, const char *body, size_t len,
                                 const char *error);
void docker_follow_events_opened(struct docker_follow *f);
void docker_follow_event_line(struct docker_follow *f, const char *line, size_t len);
void docker_follow_events_ended(struct docker_follow *f, const char *error);
void docker_follow_list_reply(struct docker_follow *f, long status, const char *body, size_t len,
                              const char *error);
void docker_follow_inspect_reply(struct docker_follow *f, const struct docker_follow_inspect *q,
                                 long status, const char *body, size_t len, const char *error);
/* Periodic resync: skipped while one is in flight or the stream is down. */
void docker_follow_tick(struct docker_follow *f);
/* A resync asked for (the registry was lost...): runs after the one in
 * flight if there is one; skipped while the stream is down (reconnecting
 * resyncs anyway). */
void docker_follow_resync(struct docker_follow *f);

/* A resync is in flight: reports now are part of it, and in_sync (or lost) follows. */
bool docker_follow_resyncing(const struct docker_follow *f);

/* Number of containers followed (running or stopping); for logs and tests. */
size_t docker_follow_count(const struct docker_follow *f);

#endif
