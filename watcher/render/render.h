/*
 * haproxy.cfg from a Synapse config and the backends discovery found.
 * Pure and deterministic: the same inputs give byte-identical output.
 *
 * Layout, like Synapse's: global, defaults, extra_sections, then for each
 * enabled service either one "listen <backend_name>" section (when it has
 * listen lines, no frontend/backend lines, and a port) or "frontend <service>"
 * (only when haproxy.port is given) plus "backend <backend_name>", and last the
 * shared frontend. The text always ends with a newline.
 *
 * Server lines:
 *   server <name> <host>:<port>[ weight <w>][ <server_options>][ <haproxy_server_options>][ cookie
 * <name>] weight is the registry's (Nerve's) weight, 0..256, emitted as HAProxy's own "weight N"
 * keyword. It comes before the options so that an operator's explicit "weight" in server_options
 * (or a registry's in haproxy_server_options) wins: HAProxy keeps the last value. "cookie <name>"
 * is added only when the section (or defaults) has a "cookie" directive and
 * the options do not set one. Both option strings are templated: %{host},
 * %{port}, %{name} (the final server name) and %% for a literal '%'.
 *
 * Nothing a registry supplies can inject config: a server whose host is not a
 * hostname or IP, whose port, weight or options are out of range or hold
 * control characters or '#', is skipped and reported in warnings; names are
 * sanitised to [A-Za-z0-9._:-] and made unique with "-2", "-3", ... suffixes.
 */
#ifndef SMARTDOCK_RENDER_H
#define SMARTDOCK_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "syn_config.h"

struct render_opts {
    /*
     * Adds "option redispatch", "retries 3" and "retry-on conn-failure
     * empty-response response-timeout" to every mode-http backend or listen
     * section, each unless the service's lines or defaults already use that
     * keyword (user lines win).
     */
    bool safe_http_defaults;
};

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
 * render_haproxy_cfg writes, so the runtime-API code can address
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
 * render_haproxy_cfg may append " cookie <name>" (see above). Caller frees.
 */
char *render_server_line(const struct render_server *s);

/*
 * The whole haproxy.cfg. backends is an array parallel to cfg->services (NULL
 * when nothing was discovered anywhere). opts may be NULL (all off). Skipped
 * servers and other degraded choices are appended to warnings (may be NULL)
 * for the caller to log. Caller frees the result; NULL on allocation failure.
 */
char *render_haproxy_cfg(const struct syn_config *cfg, const struct backend_list *backends,
                         const struct render_opts *opts, struct strlist *warnings);

#endif
