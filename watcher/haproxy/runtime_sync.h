/*
 * Keeps HAProxy's servers in step with discovery through the runtime API on
 * the stats socket, without a reload, when only servers changed.
 *
 * It knows which servers HAProxy has ("applied", per service) only after a
 * reload it was told about (runtime_sync_reloaded) and once the stats socket
 * answers from the new process ("show info" Pid differs from the one before
 * the reload): until then it is not ready and every change needs a reload.
 * That confirmation also tells the caller whether the reload took effect at
 * all: HAProxy 2.6's master can miss a USR2 that comes while it is still
 * reloading, and a reload command can succeed without reloading anything.
 *
 * A change is applied as one batch: for each service, adds (add server,
 * enable health when "check", enable server), revivals,
 * weights, then "set server ... state drain" for removals. A change that
 * comes while others are in flight is planned against the newest of them
 * and queued behind them at once (the CLI connection stays busy during a
 * burst); changes take effect in order, each reported by done. Every
 * command must succeed; the first that does not ends every change in flight
 * (the rest is dropped) and done reports why, so the caller reloads. A drained server is then
 * polled ("show stat", scur and qcur) every 200 ms until it has no sessions, or drain_timeout_ms
 * passes (its sessions are then shut down), and removed: state maint,
 * del server.
 */
#ifndef SMARTDOCK_RUNTIME_SYNC_H
#define SMARTDOCK_RUNTIME_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "render.h"
#include "syn_config.h"

struct runtime_sync;

/* After a change (or an adoption): ok with applied, the model HAProxy now
 * runs (borrowed for the call), or why not (then HAProxy may hold part of
 * the changes in flight: reload). */
typedef void runtime_sync_done_fn(void *arg, bool ok, const char *why,
                                  const struct render_model *applied);

/* A reload's confirmation ended (never from inside a runtime_sync call):
 * took is false when the process that answered before the reload still
 * answers at the deadline, so the reload did not take effect; true when
 * another process answers, or when none does (nothing to tell). The caller
 * sends no other reload meanwhile: one sent while HAProxy is still busy
 * with the last can be lost, and its new process would be taken for the
 * other's. */
typedef void runtime_sync_confirmed_fn(void *arg, bool took);

struct runtime_sync_opts {
    const char *socket_path;
    unsigned drain_timeout_ms;
    unsigned command_timeout_ms;
    unsigned confirm_timeout_ms;          /* 0: 10 s */
    runtime_sync_confirmed_fn *confirmed; /* NULL: not told; called with done's arg */
};

/* cfg is borrowed (backend names, number of services). */
struct runtime_sync *runtime_sync_new(struct loop *l, const struct syn_config *cfg,
                                      const struct runtime_sync_opts *o, runtime_sync_done_fn *done,
                                      void *arg);
void runtime_sync_free(struct runtime_sync *rs);

enum runtime_apply_result {
    RUNTIME_APPLYING, /* batch started; done follows */
    RUNTIME_NOTHING,  /* HAProxy already has these servers */
    RUNTIME_RELOAD,   /* why says why a reload is needed */
    /* It needs a reload (why says why), but changes are in flight: render
     * again once done has reported them. */
    RUNTIME_WAIT,
};

/*
 * *next is the model just rendered (of cfg). The plan is the difference
 * between the model HAProxy runs, or will once the changes in flight have
 * succeeded, and *next. On RUNTIME_APPLYING *next is
 * taken over (set to NULL), otherwise left to the caller.
 */
enum runtime_apply_result runtime_sync_apply(struct runtime_sync *rs, struct render_model **next,
                                             char *why, size_t whylen);

/* HAProxy was reloaded with the config printed from model (taken over;
 * NULL: a config newer than the last model is on its way, and the servers
 * stay unknown). Pending drains are forgotten; confirmation starts, and
 * goes on across runtime_sync_invalidate until it ends (confirmed). */
void runtime_sync_reloaded(struct runtime_sync *rs, struct render_model *model);
bool runtime_sync_confirming(const struct runtime_sync *rs);
/*
 * HAProxy already runs with the config printed from model (taken over; the
 * watcher restarted and found haproxy.cfg unchanged): adopt it without a
 * reload when its "show servers state" lists exactly the model's servers.
 * Busy meanwhile; done reports ok (ready), or why not (then reload).
 */
void runtime_sync_adopt(struct runtime_sync *rs, struct render_model *model);

/* What HAProxy has is unknown (a reload is coming, or it restarted). The
 * changes in flight end: done reports them failed (the caller reloads). */
void runtime_sync_invalidate(struct runtime_sync *rs);

/* A SIGHUP put cfg (borrowed) in place of the config rs was made with.
 * Service indices are cfg's from now on; when they name other backends than
 * before, what rs knows of HAProxy is dropped, since it is indexed by the old
 * config (the new frame needs a reload anyway). */
void runtime_sync_set_config(struct runtime_sync *rs, const struct syn_config *cfg);

/* The servers of service svc that HAProxy still holds while they drain: a
 * shallow view (free out->v only), valid until the next call into rs.
 * Render keeps their ids taken. 0, or -1 on allocation failure. */
int runtime_sync_draining(struct runtime_sync *rs, size_t svc, struct render_server_list *out);

bool runtime_sync_ready(const struct runtime_sync *rs);
bool runtime_sync_busy(const struct runtime_sync *rs); /* changes in flight, or an adoption */
bool runtime_sync_adopting(const struct runtime_sync *rs);

struct runtime_sync_stats {
    unsigned batches, commands, removed, forced, fallbacks;
};
void runtime_sync_get_stats(const struct runtime_sync *rs, struct runtime_sync_stats *s);

#endif
