#include "backoff.h"

#include <time.h>
#include <unistd.h>

#define FIXED_SEED 0x9e3779b97f4a7c15ULL

void backoff_init(struct backoff *b, unsigned min_ms, unsigned max_ms, unsigned jitter_percent,
                  uint64_t seed)
{
    b->min_ms = min_ms ? min_ms : 1;
    b->max_ms = max_ms < b->min_ms ? b->min_ms : max_ms;
    b->jitter_percent = jitter_percent > 100 ? 100 : jitter_percent;
    b->nominal_ms = b->min_ms;
    b->rng = seed ? seed : FIXED_SEED;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

unsigned backoff_next(struct backoff *b)
{
    uint64_t nominal = b->nominal_ms;
    uint64_t spread = nominal * b->jitter_percent / 100;
    uint64_t delay = nominal - spread + (spread ? xorshift(&b->rng) % (2 * spread + 1) : 0);
    b->nominal_ms = nominal * 2 > b->max_ms ? b->max_ms : (unsigned)(nominal * 2);
    return delay ? (unsigned)delay : 1;
}

unsigned backoff_peek(const struct backoff *b)
{
    return b->nominal_ms;
}

void backoff_reset(struct backoff *b)
{
    b->nominal_ms = b->min_ms;
}

uint64_t backoff_seed(const void *salt)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t s = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
                 (uint64_t)(uintptr_t)salt;
    return s ? s : FIXED_SEED;
}
