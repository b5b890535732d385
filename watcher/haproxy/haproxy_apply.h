/*
 * Puts a rendered haproxy.cfg into effect: write a candidate next to the
 * target, validate it with `haproxy -c -f`, fsync, rename over the target,
 * then reload, never sooner than restart_interval after the last reload.
 * Runs child processes without blocking the loop (SIGCHLD through the loop).
 */
#ifndef SMARTDOCK_HAPROXY_APPLY_H
#define SMARTDOCK_HAPROXY_APPLY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop.h"

struct haproxy_apply;

struct haproxy_apply_opts {
    const char *config_file_path; /* target */
    const char *candidate_path;   /* NULL: "<config_file_path>.candidate" */
    const char *haproxy_binary;   /* for validation: "<binary> -c -f <candidate>" */
    /* NULL: the above. Else run by /bin/sh -c with the candidate's path in
     * $SMARTDOCK_CANDIDATE (Synapse's check_command checks config_file_path;
     * ours must check "$SMARTDOCK_CANDIDATE", which is not in effect yet). */
    const char *check_command;
    const char *reload_command; /* run by /bin/sh -c; NULL: no reload */
    bool do_writes, do_checks, do_reloads;
    int restart_interval_ms; /* least time between two reloads */
    int restart_jitter_pct;  /* 0..100: extra random delay as a share of the interval */
    /* Changes have paused after this long without a submit or follow (0:
     * 100 ms): follow-ups are then due at once and their check is no longer
     * niced (haproxy_follow_due_ms). */
    unsigned follow_quiet_ms;
};

/* Called on the loop thread after each attempt, never from inside
 * haproxy_apply_submit: ok false when validation, the write or the reload
 * failed (the running config was kept). A write whose reload must wait for
 * restart_interval reports (true, false) and the reload later reports on its
 * own. fn must not call haproxy_apply_free. */
typedef void haproxy_applied_fn(void *arg, bool ok, bool reloaded);

struct haproxy_apply *haproxy_apply_new(struct loop *l, const struct haproxy_apply_opts *opts,
                                        haproxy_applied_fn *fn, void *arg);
void haproxy_apply_free(struct haproxy_apply *a);

/* Hands over the newest rendered text (copied). Identical to what is in
 * effect: nothing happens. Otherwise it is written and validated as soon as
 * no other attempt is running; need_reload false means the change was
 * applied another way (runtime API) and only the file must follow. */
void haproxy_apply_submit(struct haproxy_apply *a, const char *cfg_text, bool need_reload);

/*
 * From now on, after each reload no other starts until
 * haproxy_apply_reload_confirmed says whether it took effect (the caller
 * watches which process answers on the stats socket). A reload sent while
 * HAProxy 2.6's master is still reloading can be lost, and the next one
 * would then be judged by the process the lost one should have replaced.
 */
void haproxy_apply_confirm_reloads(struct haproxy_apply *a);
/* The last reload took effect (an owed reload may start), or did not:
 * HAProxy runs an older config than the file, so reload again, on the
 * backoff of a failed reload. No-op when no reload waits to be confirmed. */
void haproxy_apply_reload_confirmed(struct haproxy_apply *a, bool took);
/* The text last put in place (or, with do_writes off, taken as such); NULL
 * before the first. Valid until the next call into a. */
const char *haproxy_apply_effective_text(const struct haproxy_apply *a);

/* Prints the text the file must follow; malloc'd (taken over), NULL when out
 * of memory. */
typedef char *haproxy_text_fn(void *arg);

/* A runtime change is in effect and only the file must follow, as
 * haproxy_apply_submit(text, false) would, but the text (705 KB for 1,000
 * services) is printed by fn only when the write is due
 * (haproxy_follow_due_ms), so a churn of changes prints it once per write,
 * not once per change. fn(arg) must print the newest applied config when
 * called; a later haproxy_apply_submit replaces the owed follow. */
void haproxy_apply_follow(struct haproxy_apply *a, haproxy_text_fn *fn, void *arg);

/*
 * When a write that needs no reload may start (ms, loop clock), after the
 * last such write and check ended at last_end_ms having taken last_cost_ms,
 * the newest text having come at last_request_ms. While texts keep coming,
 * max(500 ms, twice the last cost) after the last one ended; once they have
 * paused for quiet_ms, at once, but no sooner than half the last cost (at
 * most 500 ms) after it ended. Pure.
 */
uint64_t haproxy_follow_due_ms(uint64_t last_end_ms, uint64_t last_cost_ms,
                               uint64_t last_request_ms, uint64_t quiet_ms);

/* The loop's SIGCHLD handler calls this; returns true if pid was ours. */
bool haproxy_apply_child_exited(struct haproxy_apply *a, pid_t pid, int status);

/* How long a check or reload child may run before it is killed (30 s). */
void haproxy_apply_set_child_timeout_ms(struct haproxy_apply *a, unsigned ms);

/* The last candidate validation refused and what the check printed (both
 * borrowed, NULL when none was refused since the last success): the caller
 * can find the lines HAProxy complained about (haproxy_blame). */
const char *haproxy_apply_rejected_text(const struct haproxy_apply *a);
const char *haproxy_apply_rejected_output(const struct haproxy_apply *a);

/* Counters for tests and benchmarks. */
unsigned haproxy_apply_reload_count(const struct haproxy_apply *a);
unsigned haproxy_apply_write_count(const struct haproxy_apply *a);
bool haproxy_apply_idle(const struct haproxy_apply *a); /* nothing pending or running */
/* A write, check or reload is in progress: a text submitted now would only
 * replace the pending one, so the caller may as well render it later. */
bool haproxy_apply_child_running(const struct haproxy_apply *a);

#endif
