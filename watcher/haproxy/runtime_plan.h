/*
 * What HAProxy's runtime API must do to turn one backend's servers into
 * another's without a reload, or why it cannot. Pure: no I/O, no globals.
 *
 * Rules (HAProxy 2.6, doc/management.txt section 9.3, checked against
 * /usr/sbin/haproxy):
 *   - a new name is added ("add server", which accepts only a subset of the
 *     server keywords and ignores default-server) and then enabled. Not
 *     "add server ... enabled": HAProxy 2.6.12 takes the keyword and shows
 *     the server ready, but never puts it in the backend's load-balancing
 *     tree (it gets no traffic, and "enable server" then does nothing);
 *   - a name that is gone is drained, and deleted once idle (the caller does
 *     the waiting);
 *   - a name kept with another weight gets "set weight";
 *   - a name kept with another address, id or other options cannot be changed
 *     in place: that needs a reload ("add server" takes "id N" like a server
 *     line, and refuses an id another server of the backend holds);
 *   - a name that is still draining from an earlier removal and comes back
 *     with the same address and options is revived ("state ready").
 */
#ifndef SMARTDOCK_RUNTIME_PLAN_H
#define SMARTDOCK_RUNTIME_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "render_servers.h"

enum runtime_action_kind {
    RUNTIME_ADD,    /* add server, enable health (with "check"), enable server */
    RUNTIME_REVIVE, /* set server state ready (it was draining), then the weight */
    RUNTIME_WEIGHT, /* set weight */
    RUNTIME_REMOVE, /* drain, then maint + del server once idle */
};

struct runtime_action {
    enum runtime_action_kind kind;
    const struct render_server *server; /* borrowed: from next, or from prev for REMOVE */
    int weight;                         /* effective weight (REVIVE, WEIGHT) */
};

/* Adds and revivals first, then weights, then removals: capacity comes
 * before it goes. */
struct runtime_plan {
    struct runtime_action *v;
    size_t n;
    bool needs_reload; /* then v is empty and reason says why */
    char reason[200];
};

/*
 * prev: the servers in rotation in HAProxy; draining: servers HAProxy still
 * has but is removing (may be NULL); next: what render writes now. All three
 * must outlive the plan (actions borrow their servers). Returns 0, or -1 on
 * allocation failure.
 */
int runtime_plan_make(const struct render_server_list *prev,
                      const struct render_server_list *draining,
                      const struct render_server_list *next, struct runtime_plan *out);
void runtime_plan_clear(struct runtime_plan *p);

/* The weight HAProxy gives the server: its Nerve weight (written last), else
 * the last "weight N" of its options, else 1. */
int runtime_effective_weight(const struct render_server *s);

/* True when options name a health check ("check"), so "enable health" is owed. */
bool runtime_options_have_check(const char *options);

/*
 * NULL when a server with these options may be added at run time, else the
 * offending keyword (borrowed, static): keywords "add server" refuses in 2.6
 * (cookie, redir, ...) or that the runtime sequence does not handle
 * (disabled, agent-check, track).
 */
const char *runtime_options_refused(const char *options);

/*
 * Whether HAProxy runs exactly servers in backend, by its "show servers
 * state <backend>" answer (format 1: be_name is field 2, srv_name 4,
 * srv_addr 5, srv_uweight 8, srv_port 19, srv_id 3): the same names with
 * the same address, port, weight and id (when the config has one), and no
 * other server (a draining leftover is another). True, or false with why filled in.
 */
bool runtime_servers_state_match(const char *answer, const char *backend,
                                 const struct render_server_list *servers, char *why,
                                 size_t whylen);

/* "add server <backend>/<name> <the rest of its server line>". Caller frees. */
char *runtime_add_command(const char *backend, const struct render_server *s);

#endif
