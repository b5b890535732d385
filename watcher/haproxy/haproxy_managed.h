/*
 * Managed mode (haproxy.managed: true): the watcher runs HAProxy itself, as
 *   <haproxy_binary> -W -db -f <config_file_path> -S <master socket>,mode,600
 * a child of the watcher in master-worker mode. Reloads go through the master
 * CLI's "reload" command (haproxy_master_reload, run in a child process as
 * the reload_command, so haproxy_apply judges it like any other). In
 * master-worker mode the master hands the listening sockets to the new
 * worker itself (-x sockpair@, management.txt section 3), so a reload neither
 * drops nor refuses a connection; "expose-fd listeners" on the stats socket
 * is not needed for that, but does no harm.
 *
 * A master that a killed watcher left running (it still answers on the
 * master socket) is adopted at start-up instead of starting a second one
 * beside it.
 *
 * If the master dies, it is started again from the file on disk, after 0.1 s,
 * then 0.2, 0.4 ... up to 5 s while it keeps dying, back to 0.1 s once it ran
 * 10 s. When the watcher exits, the master gets SIGUSR1 (soft stop: the
 * workers stop listening and finish their connections, then all exit).
 */
#ifndef SMARTDOCK_HAPROXY_MANAGED_H
#define SMARTDOCK_HAPROXY_MANAGED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "loop.h"

struct haproxy_managed;

/* Called on the loop thread each time a master was started (pid > 0). */
typedef void haproxy_started_fn(void *arg, pid_t pid);
/* Asked before a restart: false delays it (0.05 s), e.g. while a write of
 * the config file is under way. May be NULL. */
typedef bool haproxy_may_start_fn(void *arg);

struct haproxy_managed_opts {
    const char *binary;        /* "haproxy" */
    const char *config_path;   /* -f */
    const char *master_socket; /* -S */
};

struct haproxy_managed *haproxy_managed_new(struct loop *l, const struct haproxy_managed_opts *o,
                                            haproxy_started_fn *started,
                                            haproxy_may_start_fn *may_start, void *arg);
/* Soft-stops a running master (SIGUSR1) and frees. */
void haproxy_managed_free(struct haproxy_managed *m);

/* Starts the master unless it runs or a restart is already scheduled. */
void haproxy_managed_ensure_running(struct haproxy_managed *m);
bool haproxy_managed_running(const struct haproxy_managed *m);
/* The master runs, but a previous watcher started it: haproxy_managed_new
 * found it answering on the master socket and adopted it. */
bool haproxy_managed_adopted(const struct haproxy_managed *m);
/* The SIGCHLD handler calls this; true if pid was the master. */
bool haproxy_managed_child_exited(struct haproxy_managed *m, pid_t pid, int status);
unsigned haproxy_managed_start_count(const struct haproxy_managed *m);

/*
 * Blocking, for the reload child: "reload" on the master CLI at
 * master_socket, then waits until "show proc" shows the master's reload
 * count went up and either a new worker (0) or "[failed: N]" with N > 0 (-1).
 * HAProxy 2.6's "reload" itself answers nothing and closes the connection.
 * Returns 1 when no master answers at all (nothing to reload: the watcher
 * starts one). msg gets one sentence either way.
 */
int haproxy_master_reload(const char *master_socket, unsigned timeout_ms, char *msg, size_t n);

#endif
