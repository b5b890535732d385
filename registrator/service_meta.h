/*
 * gliderlabs/registrator's container metadata, read its way: SERVICE_<KEY>
 * and SERVICE_<port>_<KEY> from the container's environment and labels,
 * resolved for one exposed port. Pure.
 *
 * Precedence (registrator v7.4.0, bridge/util.go): a per-port key
 * (SERVICE_80_NAME) beats the generic one (SERVICE_NAME) for that port;
 * between two of the same kind a label beats an environment variable, and
 * the later entry beats an earlier one. Keys are lowercased after the
 * prefix: SERVICE_REGION and SERVICE_80_Region are both "region".
 */
#ifndef SMARTDOCK_SERVICE_META_H
#define SMARTDOCK_SERVICE_META_H

#include <stdbool.h>
#include <stddef.h>

#include "docker_model.h"

struct service_meta_entry {
    char *key;         /* lowercased, without SERVICE_ or SERVICE_<port>_; owned */
    const char *value; /* borrowed from the container */
    bool from_port;    /* came from SERVICE_<port>_<KEY> */
};

struct service_meta {
    struct service_meta_entry *v; /* in first-seen order */
    size_t n;
};

/* Fills out with the metadata that applies to private port `port`.
 * Borrows from c, which must outlive out. Returns 0, or -1 on allocation
 * failure (out is then empty). */
int service_meta_read(const struct docker_container *c, int port, struct service_meta *out);
void service_meta_clear(struct service_meta *m);

/* The value for key ("name", "tags", "check_http"...), or NULL when absent
 * or empty (registrator treats an empty value as unset). Borrowed. */
const char *service_meta_get(const struct service_meta *m, const char *key);
/* Whether key's value came from the per-port form. */
bool service_meta_from_port(const struct service_meta *m, const char *key);

/* True when any SERVICE_IGNORE / SERVICE_<port>_IGNORE applies: registrator
 * ignores on any non-empty value, "false" included. */
bool service_meta_ignored(const struct service_meta *m);

/* Keys registrator gives a meaning (name, id, tags, ignore), which are not
 * attributes; every other key is one (registrator's Attrs). */
bool service_meta_is_attr(const char *key);

#endif
