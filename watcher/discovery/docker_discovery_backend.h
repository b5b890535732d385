/*
 * The pure half of discovery "docker": which of an engine's containers are a
 * service's backends, and at which address. The event-driven method itself
 * is docker_discovery.h's.
 */
#ifndef SMARTDOCK_DOCKER_DISCOVERY_BACKEND_H
#define SMARTDOCK_DOCKER_DISCOVERY_BACKEND_H

#include <stddef.h>

#include "backend.h"
#include "docker_model.h"
#include "syn_config.h"

enum docker_discovery_verdict {
    DOCKER_DISCOVERY_BACKEND,     /* *out holds the backend */
    DOCKER_DISCOVERY_OTHER_IMAGE, /* not this service's image: nothing to say */
    DOCKER_DISCOVERY_NOT_READY,   /* not running, paused, or not healthy (yet) */
    DOCKER_DISCOVERY_UNUSABLE,    /* this service's image, but container_port is unreachable */
    DOCKER_DISCOVERY_NOMEM,
};

/*
 * The backend container c on engine srv makes for discovery d, or why not
 * (one sentence in why for every verdict but BACKEND).
 *   - Config.Image must satisfy d->image_name (imageref_match: no tag in
 *     image_name matches every tag, as Synapse does);
 *   - c must be running, not paused, and "healthy" if it has a healthcheck;
 *   - host: srv->host, or "127.0.0.1" for a socket-only server; port:
 *     docker_container_host_port(c, d->container_port, host), i.e.
 *     container_port itself on the host network, else its published HostPort;
 *   - name: "<srv->name>_<first 12 of the ID>" made HAProxy-safe;
 *   - labels: c's labels whose key and value hold no control character
 *     (docker_discovery_skipped_labels names the others), so label_filters
 *     apply to container labels;
 *   - source and container_id: the container ID; weight unset.
 * out is overwritten; on any verdict but BACKEND it is left cleared.
 */
enum docker_discovery_verdict docker_discovery_backend(const struct syn_discovery *d,
                                                       const struct syn_docker_server *srv,
                                                       const struct docker_container *c,
                                                       struct backend *out, char *why,
                                                       size_t whylen);

/* Number of c's labels docker_discovery_backend leaves out; their keys,
 * ", "-separated with control characters shown as '?', go into buf. */
size_t docker_discovery_skipped_labels(const struct docker_container *c, char *buf, size_t buflen);

/* Label naming the address a host-network container listens on. */
#define DOCKER_DISCOVERY_HOST_LABEL "smartdock.host"

#endif
