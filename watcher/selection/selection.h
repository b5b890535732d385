/*
 * From what a discovery method found to what the service serves. Pure.
 */
#ifndef SMARTDOCK_SELECTION_H
#define SMARTDOCK_SELECTION_H

#include <stdbool.h>

#include "backend.h"
#include "syn_config.h"

/* Synapse's label_filters: "equals" needs the label present and equal;
 * "not-equals" passes when it is absent or different. All must pass. A
 * backend labelled protocol=udp passes only where a filter names the
 * "protocol" label: HAProxy proxies tcp. */
bool selection_labels_match(const struct syn_discovery *d, const struct backend *b);

enum selection_outcome {
    SELECTION_UPDATED,       /* *current now holds the discovered set */
    SELECTION_UNCHANGED,     /* the same set as before */
    SELECTION_KEPT_PREVIOUS, /* discovery found none; use_previous_backends kept the old ones */
};

/* Filters discovered (consumed) by label, sorts it and drops duplicate
 * host:port pairs, then replaces *current unless the rules say otherwise. */
enum selection_outcome selection_apply(const struct syn_service *svc,
                                       struct backend_list *discovered,
                                       struct backend_list *current, size_t *filtered_out);

#endif
