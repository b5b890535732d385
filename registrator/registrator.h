/*
 * The registrator: follows one Docker engine (events stream plus full
 * resynchronisations) and keeps the registry equal to the set of matching
 * running containers. Owns all its state; runs on the loop thread.
 */
#ifndef SMARTDOCK_REGISTRATOR_H
#define SMARTDOCK_REGISTRATOR_H

#include <stdbool.h>
#include <stdio.h>

#include "loop.h"
#include "reg_config.h"

struct registrator;

struct registrator_opts {
    bool once;      /* one resynchronisation, then loop_stop() */
    FILE *dry_run;  /* non-NULL: print registrations there as JSON lines, register nothing */
    /* Called once, on the loop thread, when the first full sync is done:
     * Docker listed and every registration in the registry. */
    void (*on_ready)(void *arg);
    void *ready_arg;
};

/* cfg is borrowed and must outlive the registrator. NULL on a bad docker address. */
struct registrator *registrator_new(struct loop *l, const struct reg_config *cfg,
                                    const struct registrator_opts *opts);
/* Withdraws every registration at once (closes the session / revokes the lease). */
void registrator_free(struct registrator *r);
/* Exit status for --once: 0 when the pass completed, 1 otherwise. */
int registrator_status(const struct registrator *r);

#endif
