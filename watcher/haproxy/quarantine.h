/*
 * Quarantine: the registrations whose server line HAProxy refused. Pure.
 *
 * When a candidate fails validation, haproxy_blame names the server lines
 * HAProxy complained about; quarantine_match finds the registrations they
 * came from. Only a registration that brought its own haproxy_server_options
 * is blamed: a line that fails without them fails because of the config
 * (server_options, defaults), and then today's behaviour stands (the old
 * config stays and HAProxy's error is logged). A quarantined registration
 * is known by its source and options, so it is tried again once either
 * changes.
 */
#ifndef SMARTDOCK_QUARANTINE_H
#define SMARTDOCK_QUARANTINE_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "haproxy_blame.h"
#include "syn_config.h"

struct quarantine_hit {
    size_t svc;          /* index in cfg->services */
    size_t backend;      /* index in current[svc] */
    const char *message; /* borrowed from the blamed list */
};

/*
 * The registrations of current (an array parallel to cfg->services) that the
 * blamed lines point at. *out is malloc'd (caller frees), *n its length;
 * *unmatched counts blamed lines that are not a registration with options of
 * its own. Returns 0, or -1 on allocation failure.
 */
int quarantine_match(const struct syn_config *cfg, const struct backend_list *current,
                     const struct blamed_list *blamed, struct quarantine_hit **out, size_t *n,
                     size_t *unmatched);

/* The key a registration is quarantined under: source and options. Caller frees. */
char *quarantine_key(const struct backend *b);

#endif
