/*
 * One health check's rise/fall window, with Nerve's semantics. Pure.
 *
 * Nerve keeps the last max(rise, fall) results in a ring buffer. The first
 * result fills the whole buffer, so a check is up or down from its first
 * answer. After that it goes down when the last `fall` results all failed
 * and up when the last `rise` results all passed; otherwise it keeps its
 * state. Only the length of the current run of equal results matters for
 * those two questions, so that run is all this keeps.
 */
#ifndef SMARTDOCK_CHECK_WINDOW_H
#define SMARTDOCK_CHECK_WINDOW_H

#include <stdbool.h>

struct check_window {
    int rise, fall;
    bool started; /* a first result was pushed */
    bool up;
    bool run_pass; /* value of the current run of equal results */
    int run;       /* its length, capped at max(rise, fall) */
};

/* rise and fall >= 1. */
void check_window_init(struct check_window *w, int rise, int fall);
/* Records one result and returns whether the check is now up. */
bool check_window_push(struct check_window *w, bool pass);

#endif
