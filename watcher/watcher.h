/*
 * The watcher: every service's discovery feeds one state, owned by the loop
 * thread, which is rendered into haproxy.cfg and put into effect.
 */
#ifndef SMARTDOCK_WATCHER_H
#define SMARTDOCK_WATCHER_H

#include <stdbool.h>
#include <sys/types.h>

#include "loop.h"
#include "metrics.h"
#include "syn_config.h"

struct watcher;

struct watcher_opts {
    bool once; /* wait for every discovery's first answer, apply once, then loop_stop() */
    /* Path of smartdock-watcher itself: managed mode's reload_command runs
     * "<self_exe> --master-reload <master socket>". */
    const char *self_exe;
    /* Called once, on the loop thread, when HAProxy is first configured
     * (haproxy.cfg valid and in effect). */
    void (*on_ready)(void *arg);
    void *ready_arg;
    struct metrics *metrics; /* borrowed; NULL: no metrics */
};

/* cfg is borrowed and must outlive the watcher. */
struct watcher *watcher_new(struct loop *l, const struct syn_config *cfg,
                            const struct watcher_opts *opts);
void watcher_free(struct watcher *w);
/*
 * SIGHUP: cfg replaces the running config (borrowed: it, and every config
 * given before, must outlive the watcher, since kept discoveries borrow
 * their service). A service whose JSON is unchanged keeps its discovery
 * session and backends; changed and new ones start, removed ones stop; one
 * render follows once the new ones answer (3 s at most), validated by
 * haproxy -c like any other. -1 with err, nothing changed, when cfg moves
 * what the watcher was built around (haproxy.cfg's path, the socket,
 * managed mode, the reload or check command, the state file).
 */
int watcher_reload(struct watcher *w, const struct syn_config *cfg, char *err, size_t errlen);
/* A SIGHUP refused before watcher_reload (the file did not load): kept for
 * status, as watcher_reload keeps its own outcome. */
void watcher_reload_refused(struct watcher *w, const char *error);
/* A child exited (from the loop's SIGCHLD); true if it was the watcher's. */
bool watcher_child_exited(struct watcher *w, pid_t pid, int status);
/* 0 when --once applied a valid config, 1 otherwise. */
int watcher_status(const struct watcher *w);
/* The status command's answer, as JSON (caller frees): per service its
 * backends, where each came from, HAProxy's view of it (through the stats
 * socket, when there is one), the last change and the last error. */
char *watcher_status_json(const struct watcher *w);
/* One line for systemd's STATUS=. */
void watcher_summary(const struct watcher *w, char *buf, size_t len);

#endif
