/*
 * Is an etcd watch stream still alive? Decided from what happened to it.
 *
 * A watch stream on a member that froze (SIGSTOP, a stalled VM) or lost the
 * rest of its cluster stays open and says nothing: the kernel keeps the TCP
 * connection, and etcd sends nothing while no key under the prefix changes.
 * Silence alone proves nothing, since a quiet prefix is silent too. So after
 * quiet_ms without a message the guard asks for a probe: a linearizable read
 * on the stream's member, which only a member that serves and has a quorum
 * answers. An answer counts as hearing from the stream; an error or no
 * answer within the client's request timeout means the stream's member does
 * not serve: move the watch to another member and resume it from the last
 * revision seen.
 *
 * Pure: times come in as arguments (loop_now_ms()); the caller owns the
 * timer and sends the probe. One probe at a time: while one is out, no other
 * is asked for, and an answer to a probe sent for an earlier stream is
 * ignored.
 */
#ifndef SMARTDOCK_WATCH_GUARD_H
#define SMARTDOCK_WATCH_GUARD_H

#include <stdbool.h>
#include <stdint.h>

enum watch_guard_action {
    WATCH_GUARD_NONE,  /* nothing now */
    WATCH_GUARD_PROBE, /* send a probe to the stream's member now */
    WATCH_GUARD_MOVE,  /* the member does not serve: restart the watch elsewhere */
};

struct watch_guard {
    uint64_t quiet_ms;      /* silence before a probe */
    uint64_t last_heard_ms; /* a message, the stream opening, or a probe answered */
    unsigned stream;        /* counts streams opened and closed */
    unsigned probed_stream; /* the stream the outstanding probe was sent for */
    uint64_t probe_sent_ms;
    bool watching;  /* a stream is open */
    bool probe_out; /* a probe has not come back yet */
};

void watch_guard_init(struct watch_guard *g, uint64_t quiet_ms);
/* A watch stream opened (etcd confirmed it was created). */
void watch_guard_opened(struct watch_guard *g, uint64_t now_ms);
/* A message arrived on the stream. */
void watch_guard_heard(struct watch_guard *g, uint64_t now_ms);
/* The stream closed or was cancelled: nothing to guard until the next one. */
void watch_guard_closed(struct watch_guard *g);

/*
 * What to do at now_ms. *next_ms gets when to ask again (0: not before
 * something happens: a stream opens, or the probe comes back).
 */
enum watch_guard_action watch_guard_check(struct watch_guard *g, uint64_t now_ms,
                                          uint64_t *next_ms);
/* The probe came back: answered (the member served the read) or not (an
 * error, a timeout). NONE or MOVE; after NONE, call watch_guard_check. A
 * failed probe moves nothing when the stream spoke after it was sent (a
 * read can fail for a moment during an election while the stream is fine). */
enum watch_guard_action watch_guard_probe_done(struct watch_guard *g, uint64_t now_ms,
                                               bool answered);

#endif
