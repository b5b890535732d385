/*
 * The server list of one service, as render writes it: default servers, port
 * override, validation of what a registry supplied, ordering, unique names,
 * templated options. Pure.
 *
 * Server lines, in Synapse's order:
 *   server <name> <host>:<port>[ id <N>][ cookie <v>][ <server_options>][
 * <haproxy_server_options>][ weight <w>] The name is Synapse's: "<name>_<host>:<port>", or
 * "<host>:<port>" for a registration without a name (or named exactly "<host>:<port>", the name a
 * nameless one is given). ids follow Synapse's server-id map (server_ids.h).
 * The cookie is render.c's to set. weight is the registry's (Nerve's) weight,
 * written only with haproxy.use_nerve_weights, and then last, with the first
 * "weight N" taken out of both option strings: the Nerve weight wins, as in
 * Synapse. Both option strings are templated: %{host}, %{port}, %{name} (the
 * final server name) and %% for a literal '%'.
 *
 * Nothing a registry supplies can inject config: a server whose host is not a
 * hostname or IP, whose port, weight or options are out of range or hold
 * control characters or '#', is skipped and reported in warnings; names are
 * sanitised to [A-Za-z0-9._:-] and made unique with "-2", "-3", ... suffixes.
 */
#ifndef SMARTDOCK_RENDER_SERVERS_H
#define SMARTDOCK_RENDER_SERVERS_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "server_ids.h"
#include "syn_config.h"

/* One server as render writes it. */
struct render_server {
    char *name; /* unique within its backend; only [A-Za-z0-9._:-] */
    char *host; /* validated hostname or IP (IPv6 without brackets) */
    int port;
    int weight;         /* 0..256 (use_nerve_weights), or BACKEND_WEIGHT_UNSET */
    char *options;      /* templated server_options + haproxy_server_options, or NULL */
    bool is_default;    /* came from default_servers */
    int id;             /* HAProxy's server id, 0 when none */
    bool id_in_options; /* the id is the registration's own "id N" in options */
    char *cookie;       /* the cookie value written, or NULL (render.c sets it) */
};

struct render_server_list {
    struct render_server *v;
    size_t n;
};

/*
 * The servers of cfg->services[svc], final names and order included: what
 * render writes, so the runtime-API code can address
 * "<backend_name>/<name>". discovered may be NULL (no backends). Applies
 * default_servers (when nothing was discovered, or always with
 * keep_default_servers), backend_port_override (to discovered and kept
 * default servers, as Synapse does) and backend_order. known (nknown, may be
 * NULL) are the servers that held ids before (server_ids.h). Servers that
 * fail validation are left out and described in warnings (may be NULL).
 * Returns 0, or -1 on allocation failure (out is then empty).
 */
int render_service_servers(const struct syn_config *cfg, size_t svc,
                           const struct backend_list *discovered, const struct server_id_ref *known,
                           size_t nknown, struct render_server_list *out, struct strlist *warnings);
void render_server_list_clear(struct render_server_list *l);

/* "host:port", or "[v6]:port" for an IPv6 host. Caller frees; NULL on ENOMEM. */
char *render_server_addr(const struct render_server *s);

/* The server line above, without indent or newline. Caller frees. */
char *render_server_line(const struct render_server *s);

#endif
