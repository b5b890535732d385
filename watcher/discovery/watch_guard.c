#include "watch_guard.h"

void watch_guard_init(struct watch_guard *g, uint64_t quiet_ms)
{
    *g = (struct watch_guard){.quiet_ms = quiet_ms ? quiet_ms : 1};
}

void watch_guard_opened(struct watch_guard *g, uint64_t now_ms)
{
    g->stream++;
    g->watching = true;
    g->last_heard_ms = now_ms;
}

void watch_guard_heard(struct watch_guard *g, uint64_t now_ms)
{
    if (g->watching && now_ms > g->last_heard_ms) g->last_heard_ms = now_ms;
}

void watch_guard_closed(struct watch_guard *g)
{
    if (!g->watching) return;
    g->stream++;
    g->watching = false;
}

enum watch_guard_action watch_guard_check(struct watch_guard *g, uint64_t now_ms, uint64_t *next_ms)
{
    *next_ms = 0;
    if (!g->watching || g->probe_out) return WATCH_GUARD_NONE;
    uint64_t due = g->last_heard_ms + g->quiet_ms;
    if (now_ms < due) {
        *next_ms = due;
        return WATCH_GUARD_NONE;
    }
    g->probe_out = true;
    g->probed_stream = g->stream;
    g->probe_sent_ms = now_ms;
    return WATCH_GUARD_PROBE;
}

enum watch_guard_action watch_guard_probe_done(struct watch_guard *g, uint64_t now_ms,
                                               bool answered)
{
    if (!g->probe_out) return WATCH_GUARD_NONE;
    g->probe_out = false;
    /* sent for a stream that is gone: it says nothing about this one */
    if (!g->watching || g->probed_stream != g->stream) return WATCH_GUARD_NONE;
    if (!answered) return g->last_heard_ms > g->probe_sent_ms ? WATCH_GUARD_NONE : WATCH_GUARD_MOVE;
    watch_guard_heard(g, now_ms);
    return WATCH_GUARD_NONE;
}
