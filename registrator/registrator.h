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
#include "match.h"
#include "metrics.h"
#include "reg_config.h"

struct registrator;

struct registrator_opts {
    bool once;     /* one resynchronisation, then loop_stop() */
    FILE *dry_run; /* non-NULL: print registrations there as JSON lines, register nothing */
    /* Called once, on the loop thread, when the first full sync is done:
     * Docker listed and every registration in the registry. */
    void (*on_ready)(void *arg);
    void *ready_arg;
    struct metrics *metrics; /* borrowed; NULL: no metrics */
};

/* cfg is borrowed and must outlive the registrator. NULL on a bad docker address. */
struct registrator *registrator_new(struct loop *l, const struct reg_config *cfg,
                                    const struct registrator_opts *opts);
/* Withdraws every registration at once (closes the session / revokes the lease). */
void registrator_free(struct registrator *r);
/* SIGHUP: matches every container again with cfg (borrowed, must outlive
 * the registrator or the next reload) and applies only the difference:
 * registrations that stay keep their znode or key. Logs one line with the
 * outcome once the resync is over, the Nerve services' counts (nerve, may
 * be NULL) added in, and keeps it for status. The docker host and registry
 * must be the ones the registrator was made with. */
void registrator_reload(struct registrator *r, const struct reg_config *cfg,
                        const struct registration_counts *nerve);
/* A SIGHUP refused before registrator_reload (error says why), for status. */
void registrator_reload_refused(struct registrator *r, const char *error);
/* -retry-attempts ran out before the registry connected (the loop was
 * stopped): the daemon exits 1. */
bool registrator_gave_up(const struct registrator *r);
/* Exit status for --once: 0 when the pass completed, 1 otherwise. */
int registrator_status(const struct registrator *r);
/* The status command's answer: per container its services, registration
 * paths, health and drain state, as JSON (caller frees). */
char *registrator_status_json(const struct registrator *r);
/* "3 registrations of 2 services; docker connected; registry connected",
 * for systemd's STATUS=. */
void registrator_summary(const struct registrator *r, char *buf, size_t len);
/* `smartdock-registrator drain ID`: withdraws the registered container whose
 * id starts with id (4 characters at least) and keeps it out until it stops.
 * 0 or -1, with a sentence in msg either way. */
int registrator_drain(struct registrator *r, const char *id, char *msg, size_t len);

#endif
