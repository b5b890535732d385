/*
 * The server list of one service, as render writes it: default servers, port
 * override, validation of what a registry supplied, ordering, unique names,
 * templated options. Pure.
 *
 * Server lines:
 *   server <name> <host>:<port>[ weight <w>][ <server_options>][ <haproxy_server_options>]
 * weight is the registry's (Nerve's) weight, 0..256, emitted as HAProxy's own "weight N"
 * keyword. It comes before the options so that an operator's explicit "weight" in server_options
 * (or a registry's in haproxy_server_options) wins: HAProxy keeps the last value. Both option
 * strings are templated: %{host}, %{port}, %{name} (the final server name) and %% for a literal
 * '%'. render.c may append " cookie <name>".
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
#include "syn_config.h"

/* One server as render writes it. */
struct render_server {
    char *name; /* unique within its backend; only [A-Za-z0-9._:-] */
    char *host; /* validated hostname or IP (IPv6 without brackets) */
    int port;
    int weight;      /* 0..256, or BACKEND_WEIGHT_UNSET */
    char *options;   /* templated server_options + haproxy_server_options, or NULL */
    bool is_default; /* came from default_servers */
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
 * default servers, as Synapse does) and backend_order. Servers that fail
 * validation are left out and described in warnings (may be NULL).
 * Returns 0, or -1 on allocation failure (out is then empty).
 */
int render_service_servers(const struct syn_config *cfg, size_t svc,
                           const struct backend_list *discovered, struct render_server_list *out,
                           struct strlist *warnings);
void render_server_list_clear(struct render_server_list *l);

/* "host:port", or "[v6]:port" for an IPv6 host. Caller frees; NULL on ENOMEM. */
char *render_server_addr(const struct render_server *s);

/*
 * "server <name> <addr>[ weight N][ <options>]" without indent or newline;
 * render.c may append " cookie <name>". Caller frees.
 */
char *render_server_line(const struct render_server *s);

#endif
