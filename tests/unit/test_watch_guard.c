/*
 * watch_guard fed recorded sequences: what the watcher's etcd discovery saw
 * on its watch stream (stream opened, messages, silence) and how its probes
 * came back, with the time of each in ms; each step names what the guard
 * must decide. The "frozen member" sequence is t1202's freeze phase: a stream
 * whose member was SIGSTOPped stays open and silent, and before the guard
 * the watcher waited on it until the member was thawed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "watch_guard.h"

enum ev { OPEN, HEARD, CLOSE, CHECK, PROBE_OK, PROBE_FAILED };

struct step {
    uint64_t t;
    enum ev ev;
    enum watch_guard_action want; /* for CHECK, PROBE_OK, PROBE_FAILED */
    uint64_t want_next;           /* for CHECK */
};

#define QUIET 5000

static void replay(const struct step *steps, size_t n)
{
    struct watch_guard g;
    watch_guard_init(&g, QUIET);
    for (size_t i = 0; i < n; i++) {
        const struct step *s = &steps[i];
        uint64_t next = 12345;
        enum watch_guard_action got = WATCH_GUARD_NONE;
        switch (s->ev) {
        case OPEN:
            watch_guard_opened(&g, s->t);
            continue;
        case HEARD:
            watch_guard_heard(&g, s->t);
            continue;
        case CLOSE:
            watch_guard_closed(&g);
            continue;
        case CHECK:
            got = watch_guard_check(&g, s->t, &next);
            if (got != s->want || next != s->want_next)
                fail_msg("step %zu (t=%llu, check): action %d next %llu, want %d next %llu", i,
                         (unsigned long long)s->t, got, (unsigned long long)next, s->want,
                         (unsigned long long)s->want_next);
            continue;
        case PROBE_OK:
        case PROBE_FAILED:
            got = watch_guard_probe_done(&g, s->t, s->ev == PROBE_OK);
            break;
        }
        if (got != s->want)
            fail_msg("step %zu (t=%llu, probe %s): action %d, want %d", i, (unsigned long long)s->t,
                     s->ev == PROBE_OK ? "answered" : "failed", got, s->want);
    }
}

#define REPLAY(steps) replay(steps, sizeof steps / sizeof *steps)

/* t1202: the stream's member frozen; the probe, a read on the same member,
 * times out after the client's 5 s: move. */
static void frozen_member_moves_the_watch(void **state)
{
    (void)state;
    static const struct step steps[] = {
        {1000, OPEN, 0, 0},
        {1200, HEARD, 0, 0}, /* a put under the prefix */
        {1000, CHECK, WATCH_GUARD_NONE, 6200},
        {6200, CHECK, WATCH_GUARD_PROBE, 0},
        {7000, CHECK, WATCH_GUARD_NONE, 0}, /* one probe at a time */
        {11200, PROBE_FAILED, WATCH_GUARD_MOVE, 0},
    };
    REPLAY(steps);
}

/* A quiet prefix on a healthy member: probes are answered, nothing moves,
 * and the next probe is due a quiet period after the answer. */
static void quiet_healthy_member_keeps_the_watch(void **state)
{
    (void)state;
    static const struct step steps[] = {
        {0, OPEN, 0, 0},
        {5000, CHECK, WATCH_GUARD_PROBE, 0},
        {5003, PROBE_OK, WATCH_GUARD_NONE, 0},
        {5003, CHECK, WATCH_GUARD_NONE, 10003},
        {10003, CHECK, WATCH_GUARD_PROBE, 0},
        {10010, PROBE_OK, WATCH_GUARD_NONE, 0},
        {12000, CHECK, WATCH_GUARD_NONE, 15010},
    };
    REPLAY(steps);
}

/* Messages keep coming (churn): never a probe. */
static void a_talking_stream_is_never_probed(void **state)
{
    (void)state;
    static const struct step steps[] = {
        {0, OPEN, 0, 0},
        {3000, HEARD, 0, 0},
        {5000, CHECK, WATCH_GUARD_NONE, 8000},
        {7000, HEARD, 0, 0},
        {8000, CHECK, WATCH_GUARD_NONE, 12000},
        {11999, HEARD, 0, 0},
        {12000, CHECK, WATCH_GUARD_NONE, 16999},
    };
    REPLAY(steps);
}

/* A read failing during an election while the stream delivers: no move. */
static void a_failed_probe_after_a_message_moves_nothing(void **state)
{
    (void)state;
    static const struct step steps[] = {
        {0, OPEN, 0, 0},
        {5000, CHECK, WATCH_GUARD_PROBE, 0},
        {5400, HEARD, 0, 0},
        {5500, PROBE_FAILED, WATCH_GUARD_NONE, 0},
        {5500, CHECK, WATCH_GUARD_NONE, 10400},
    };
    REPLAY(steps);
}

/* The stream ended and a new one opened while a probe was out: the late
 * answer belongs to the old stream and decides nothing; the new stream gets
 * its own quiet period and its own probe. */
static void a_late_answer_for_an_old_stream_is_ignored(void **state)
{
    (void)state;
    static const struct step steps[] = {
        {0, OPEN, 0, 0},
        {5000, CHECK, WATCH_GUARD_PROBE, 0},
        {5100, CLOSE, 0, 0},
        {5100, CHECK, WATCH_GUARD_NONE, 0}, /* nothing to guard */
        {5400, OPEN, 0, 0},
        {5400, CHECK, WATCH_GUARD_NONE, 0}, /* the old probe is still out */
        {9000, PROBE_FAILED, WATCH_GUARD_NONE, 0},
        {9000, CHECK, WATCH_GUARD_NONE, 10400},
        {10400, CHECK, WATCH_GUARD_PROBE, 0},
        {15400, PROBE_FAILED, WATCH_GUARD_MOVE, 0},
    };
    REPLAY(steps);
}

/* Quorum lost: every member's read fails, so the watch keeps moving, one
 * quiet period plus one probe timeout at a time; it never stops being
 * guarded. */
static void quorum_lost_keeps_moving(void **state)
{
    (void)state;
    static const struct step steps[] = {
        {0, OPEN, 0, 0},
        {5000, CHECK, WATCH_GUARD_PROBE, 0},
        {10000, PROBE_FAILED, WATCH_GUARD_MOVE, 0},
        {10000, CLOSE, 0, 0},
        {10050, OPEN, 0, 0}, /* the next member */
        {15050, CHECK, WATCH_GUARD_PROBE, 0},
        {20050, PROBE_FAILED, WATCH_GUARD_MOVE, 0},
        {20050, CLOSE, 0, 0},
        {20051, PROBE_OK, WATCH_GUARD_NONE, 0}, /* no probe out: ignored */
    };
    REPLAY(steps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frozen_member_moves_the_watch),
        cmocka_unit_test(quiet_healthy_member_keeps_the_watch),
        cmocka_unit_test(a_talking_stream_is_never_probed),
        cmocka_unit_test(a_failed_probe_after_a_message_moves_nothing),
        cmocka_unit_test(a_late_answer_for_an_old_stream_is_ignored),
        cmocka_unit_test(quorum_lost_keeps_moving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
