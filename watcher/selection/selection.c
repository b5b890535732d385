#include "selection.h"

#include <string.h>

bool selection_labels_match(const struct syn_discovery *d, const struct backend *b)
{
    /* A udp registration (gliderlabs/registrator's udp ports) is never a
     * server of a tcp proxy unless the service filters on "protocol". */
    const char *proto = backend_label(b, "protocol");
    bool asked = false;
    for (size_t i = 0; i < d->nlabel_filters; i++)
        if (!strcmp(d->label_filters[i].label, "protocol")) asked = true;
    if (proto && !strcmp(proto, "udp") && !asked) return false;
    for (size_t i = 0; i < d->nlabel_filters; i++) {
        const struct syn_label_filter *f = &d->label_filters[i];
        const char *v = backend_label(b, f->label);
        bool equal = v && strcmp(v, f->value) == 0;
        if (f->condition == SYN_LABEL_EQUALS ? !equal : equal) return false;
    }
    return true;
}

enum selection_outcome selection_apply(const struct syn_service *svc,
                                       struct backend_list *discovered,
                                       struct backend_list *current, size_t *filtered_out)
{
    size_t kept = 0, dropped = 0, found = discovered->n;
    for (size_t i = 0; i < discovered->n; i++) {
        if (selection_labels_match(&svc->discovery, &discovered->v[i])) {
            discovered->v[kept++] = discovered->v[i];
        } else {
            backend_clear(&discovered->v[i]);
            dropped++;
        }
    }
    discovered->n = kept;
    if (filtered_out) *filtered_out = dropped;
    backend_list_sort_unique(discovered);

    enum selection_outcome outcome;
    /* Only an empty discovery keeps the old set: when label_filters leave
     * nothing, discovery did answer, and the stale backends must go. */
    if (found == 0 && current->n > 0 && svc->use_previous_backends) {
        outcome = SELECTION_KEPT_PREVIOUS;
    } else if (backend_list_equal(discovered, current)) {
        outcome = SELECTION_UNCHANGED;
    } else {
        backend_list_clear(current);
        *current = *discovered;
        memset(discovered, 0, sizeof *discovered);
        outcome = SELECTION_UPDATED;
    }
    backend_list_clear(discovered);
    return outcome;
}
