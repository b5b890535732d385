/* registrator's start-up retries; see startup_retry.h. */
#include "startup_retry.h"

void startup_retry_init(struct startup_retry *s, int attempts, int interval_ms)
{
    s->attempts = attempts < -1 ? -1 : attempts;
    s->interval_ms = interval_ms < 1 ? 1 : interval_ms;
    s->done = 0;
}

bool startup_retry_active(const struct startup_retry *s)
{
    return s->attempts >= 0;
}

enum startup_retry_step startup_retry_attempt(struct startup_retry *s, bool connected)
{
    if (connected) return STARTUP_RETRY_CONNECTED;
    s->done++;
    /* registrator's loop runs attempts 0..N: N + 1 in all. */
    if (s->attempts >= 0 && s->done > s->attempts) return STARTUP_RETRY_GIVE_UP;
    return STARTUP_RETRY_WAIT;
}
