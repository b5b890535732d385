/*
 * The Docker Engine API (v1.41) as plain structs: decoding a container
 * inspect reply and a container list. The event stream and the rules that
 * turn an event into "register" or "deregister" are in docker_event.h.
 *
 * Everything here is pure: no I/O, no globals. The model is faithful: label
 * values and names are kept as Docker sent them (newlines included);
 * consumers validate what they put into a registry or haproxy.cfg.
 *
 * Every decoder overwrites *out (it does not free previous contents), and on
 * failure returns -1, leaves *out cleared and writes into err one sentence
 * naming the JSON path and the offending value, e.g.
 *   NetworkSettings.Ports["8000/tcp"][0].HostPort: expected a port number, got "abc"
 * JSON null counts as absent; any other wrong type is an error.
 */
#ifndef SMARTDOCK_DOCKER_MODEL_H
#define SMARTDOCK_DOCKER_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h" /* struct label */

struct docker_port_binding {
    int private_port; /* 1..65535 */
    char *proto;      /* "tcp", "udp", "sctp" */
    char *host_ip;    /* as reported: "", "0.0.0.0", "::", "127.0.0.1"... */
    int host_port;    /* 1..65535 */
};

/* One entry of NetworkSettings.Networks, in reply order. */
struct docker_network {
    char *name;       /* the member name ("bridge", "backend-net") */
    char *ip_address; /* IPAddress; NULL when absent or empty */
};

struct docker_container {
    char *id;             /* never NULL after decode; passes docker_id_is_valid */
    char *name;           /* without the leading '/'; NULL if absent */
    char *image;          /* Config.Image as configured ("busybox:1.36"); NULL if absent */
    struct label *labels; /* Config.Labels in reply order */
    size_t nlabels;
    char *network_mode;     /* HostConfig.NetworkMode; NULL if absent */
    bool host_network;      /* network_mode is "host" */
    int *exposed_tcp_ports; /* Config.ExposedPorts, tcp only, sorted, unique */
    size_t nexposed;
    int *exposed_udp_ports; /* Config.ExposedPorts, udp only, sorted, unique */
    size_t nexposed_udp;
    /* Config.Env split at the first '=', in reply order; entries without
     * '=' are left out. Values are untrusted, like labels. */
    struct label *env;
    size_t nenv;
    /* NetworkSettings.Ports: one entry per binding, in reply order; ports
     * whose value is null (exposed, not published) contribute none. */
    struct docker_port_binding *bindings;
    size_t nbindings;
    char *ip_address;                /* NetworkSettings.IPAddress; NULL if absent or empty */
    struct docker_network *networks; /* NetworkSettings.Networks */
    size_t nnetworks;
    char *stop_signal;    /* Config.StopSignal; NULL if absent or empty */
    bool running;         /* State.Running */
    bool paused;          /* State.Paused */
    bool has_healthcheck; /* Config.Healthcheck.Test is non-empty and not ["NONE"] */
    char *health_status;  /* State.Health.Status ("starting", "healthy"...) or NULL */
};

/* Decodes the reply of GET /containers/{id}/json. Id is required; every
 * other section is optional; unknown keys are ignored. */
int docker_container_decode(const char *json, size_t len, struct docker_container *out, char *err,
                            size_t errlen);
/* Frees what c owns and zeroes it. */
void docker_container_clear(struct docker_container *c);
/* Borrowed value of the first label named key, or NULL. */
const char *docker_container_label(const struct docker_container *c, const char *key);

/*
 * Whether c may serve traffic now: running, not paused, and "healthy" if it
 * has a healthcheck. When not, why (may be NULL) gets one short reason:
 * "not running", "paused", "not healthy (starting)".
 */
bool docker_container_ready(const struct docker_container *c, char *why, size_t whylen);

/*
 * The port on the Docker host where private_port (tcp) of c is reachable,
 * or -1 if it is not.
 *   - host network: the container's ports are the host's, so private_port
 *     itself if it is among the exposed tcp ports, or if no tcp port is
 *     exposed at all (images run with --network host often declare no
 *     EXPOSE, and refusing them would make host networking unusable);
 *     -1 if other ports are exposed but not this one.
 *   - otherwise: the published HostPort of "<private_port>/tcp", preferring
 *     a binding on every address ("", "0.0.0.0", "::") or on advertise_host
 *     (may be NULL), else the first binding.
 */
int docker_container_host_port(const struct docker_container *c, int private_port,
                               const char *advertise_host);

/* As docker_container_host_port, for proto "tcp" or "udp". */
int docker_container_published_port(const struct docker_container *c, int private_port,
                                    const char *proto, const char *advertise_host);

/*
 * The container's own address, for registering it with its exposed port
 * (registrator's -internal). Borrowed, or NULL when there is none:
 *   - host network: NULL (the container has the host's addresses);
 *   - network given: that network's IPAddress, NULL if it is not attached;
 *   - otherwise the IPAddress of the first network in the reply that has
 *     one, else NetworkSettings.IPAddress.
 */
const char *docker_container_internal_ip(const struct docker_container *c, const char *network);

/* Borrowed value of the last Config.Env entry named key, or NULL. */
const char *docker_container_env(const struct docker_container *c, const char *key);

/* A container ID safe to put in a URL path or a log line: 1..128 bytes of
 * [A-Za-z0-9_.-] (Docker's are 64 lowercase hex digits). */
bool docker_id_is_valid(const char *id);

/*
 * Decodes the reply of GET /containers/json (an array of objects with
 * "Id"). *ids_out gets a malloc'ed array of *n_out malloc'ed IDs (NULL when
 * empty); free them with docker_ids_free.
 */
int docker_list_ids(const char *json, size_t len, char ***ids_out, size_t *n_out, char *err,
                    size_t errlen);
void docker_ids_free(char **ids, size_t n);

#endif
