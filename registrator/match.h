/*
 * Which services a container provides, and what gets registered for it.
 * Pure: from a decoded container and the config to registrations.
 */
#ifndef SMARTDOCK_MATCH_H
#define SMARTDOCK_MATCH_H

#include "backend.h"
#include "docker_model.h"
#include "reg_config.h"
#include "strlist.h"

struct registration {
    char *service;  /* znode/key path component */
    char *instance; /* stable, unique, path-safe: <host>_<port>_<shortid> */
    struct backend
        backend; /* host, port, name (= instance), weight, options, labels, container_id, service */
    int drain_ms;
    int private_port; /* the container's port it serves (its SERVICE_<port>_* apply); 0: none */
    /* Nerve services only (zero for containers); borrowed, registry_put copies: */
    const char *dir;     /* the whole directory (zk_path) instead of <root>/<service> */
    const char *payload; /* the node's data verbatim instead of the backend's JSON */
    enum nerve_node_type node_type;
    int ttl_s; /* touch a persistent node this often; 0: never */
};

struct registration_list {
    struct registration *v;
    size_t n;
};

/*
 * Fills out with one registration per service the container matches:
 * config services by image_name + container_port (+ labels), the
 * container's own smartdock.service label, and gliderlabs/registrator's
 * way: every offered port (published; on the host network or with
 * cfg->internal, exposed) not claimed by the former, named by
 * SERVICE_NAME / SERVICE_<port>_NAME or, unless cfg->explicit_only, by the
 * image (match_default_name, "-<port>" added when it offers several).
 * SERVICE_TAGS, SERVICE_ID and other SERVICE_<KEY> apply to every
 * registration of their port (smartdock.tags and smartdock.label.* win).
 * A container with smartdock.ignore=true matches nothing; without that
 * label, SERVICE_IGNORE / SERVICE_<port>_IGNORE drop their ports. Containers that are not running,
 * are paused, or have a healthcheck and are not healthy match nothing.
 * A match that cannot be registered (no published port, bad label value) is
 * described in problems (one sentence each, appended; may be NULL) and
 * skipped; other matches still count.
 * Returns 0, or -1 on allocation failure.
 */
int match_container(const struct reg_config *cfg, const struct docker_container *c,
                    struct registration_list *out, struct strlist *problems);
void registration_list_clear(struct registration_list *l);
/* A deep copy of in into out (which is overwritten). -1 on allocation failure. */
int registration_list_copy(struct registration_list *out, const struct registration_list *in);

/* How want differs from old, registration by registration (same service
 * and instance is the same registration; its payload may change). */
struct registration_counts {
    unsigned added, removed, updated, unchanged;
};
/* Adds the differences between old and want to *acc. -1 on allocation failure. */
int registration_list_compare(const struct registration_list *old,
                              const struct registration_list *want,
                              struct registration_counts *acc);

/* "<host>_<port>_<first 12 of id>" ("..._udp" for a udp port) with every
 * byte outside [A-Za-z0-9._-] replaced by '_'. Caller frees. */
char *match_instance_name(const char *host, int port, const char *container_id, bool udp);

/* registrator's default service name for an image: its last path
 * component without tag or digest ("gliderlabs/foobar:1" -> "foobar").
 * NULL for no image. Caller frees. */
char *match_default_name(const char *image);

#endif
