/*
 * Exponential backoff with jitter, the one every reconnect and retry uses:
 * each delay doubles from min_ms up to max_ms, and is drawn uniformly within
 * +-jitter_percent of that nominal value, so many hosts retrying against one
 * restarted server do not stampede it.
 *
 * A plain value embedded in its owner; pure (the random generator is a
 * xorshift seeded by the caller, so tests are deterministic).
 */
#ifndef SMARTDOCK_BACKOFF_H
#define SMARTDOCK_BACKOFF_H

#include <stdint.h>

struct backoff {
    /* Private: set by backoff_init. */
    unsigned min_ms, max_ms, nominal_ms, jitter_percent;
    uint64_t rng;
};

/* min_ms >= 1, max_ms >= min_ms, jitter_percent 0..100; seed 0 is replaced
 * by a fixed non-zero value (use backoff_seed for a varying one). */
void backoff_init(struct backoff *b, unsigned min_ms, unsigned max_ms, unsigned jitter_percent,
                  uint64_t seed);
/* The delay to wait now, jittered; the nominal delay then doubles. */
unsigned backoff_next(struct backoff *b);
/* The nominal delay the next backoff_next will jitter around (for logs). */
unsigned backoff_peek(const struct backoff *b);
/* Back to min_ms: the thing retried worked. */
void backoff_reset(struct backoff *b);
/* A seed that differs between processes and between owners (salt: the owner's address). */
uint64_t backoff_seed(const void *salt);

#endif
