/*
 * From what a discovery method found to what the service serves. Pure.
 */
#ifndef SMARTDOCK_SELECTION_H
#define SMARTDOCK_SELECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "syn_config.h"

/* Synapse's label_filters: "equals" needs the label present and equal;
 * "not-equals" passes when it is absent or different. All must pass. A
 * backend labelled protocol=udp passes only where a filter names the
 * "protocol" label: HAProxy proxies tcp. */
bool selection_labels_match(const struct syn_discovery *d, const struct backend *b);

enum selection_outcome {
    SELECTION_UPDATED,       /* *current now holds the discovered set */
    SELECTION_UNCHANGED,     /* the same servers; *current takes the found provenance */
    SELECTION_KEPT_PREVIOUS, /* discovery found none; use_previous_backends kept the old ones */
};

/* What selection_apply left out, for the caller to log. */
struct selection_notes {
    size_t filtered_out; /* by label_filters */
    /* Later registrations of an address another one holds (the first
     * created wins); moved here from discovered. The caller clears it. */
    struct backend_list conflicts;
    /* Registrations whose haproxy_server_options the allow-list refused,
     * moved here from discovered, and why (refused_why.v[i] for refused.v[i]).
     * The caller clears both. */
    struct backend_list refused;
    struct strlist refused_why;
    size_t over_limit; /* beyond max_servers: the last created are left out */
    size_t labels_cut; /* backends whose labels decode left out (BACKEND_OVER_LABELS) */
    /* leader_election found no leader: why (none is then served), else NULL */
    const char *election_failed;
};

/* Synapse's leader id of a registration: the number after the last '_' of
 * its ZooKeeper child's name (the sequence ZooKeeper appended), read from
 * source; -1 when there is none. */
int64_t selection_leader_id(const char *source);

/* Filters discovered (consumed) by label, refuses registrations whose
 * haproxy_server_options policy refuses (NULL: the default allow-list), keeps
 * the first created of each host:port, keeps at most max_servers (the first
 * created), sorts by name, keeps only the lowest leader id with
 * leader_election, then replaces *current unless the rules say otherwise. notes may be NULL. O(n
 * log n). */
enum selection_outcome selection_apply(const struct syn_service *svc,
                                       const struct server_options_policy *policy,
                                       size_t max_servers, struct backend_list *discovered,
                                       struct backend_list *current, struct selection_notes *notes);

#endif
