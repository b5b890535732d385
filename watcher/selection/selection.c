#include "selection.h"

#include <stdint.h>
#include <stdlib.h>
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

static int cmp_created(const void *pa, const void *pb)
{
    const struct backend *a = pa, *b = pb;
    uint64_t ca = a->created > 0 ? (uint64_t)a->created : UINT64_MAX;
    uint64_t cb = b->created > 0 ? (uint64_t)b->created : UINT64_MAX;
    if (ca != cb) return ca < cb ? -1 : 1;
    int c = strcmp(a->name ? a->name : "", b->name ? b->name : "");
    return c ? c : strcmp(a->source ? a->source : "", b->source ? b->source : "");
}

/* Keeps the max first created of l (sorted by name); returns how many went. */
static size_t keep_first_created(struct backend_list *l, size_t max)
{
    if (l->n <= max) return 0;
    size_t over = l->n - max;
    qsort(l->v, l->n, sizeof *l->v, cmp_created);
    for (size_t i = max; i < l->n; i++)
        backend_clear(&l->v[i]);
    l->n = max;
    backend_list_sort_unique(l); /* back to name order; nothing is dropped */
    return over;
}

int64_t selection_leader_id(const char *source)
{
    if (!source) return -1;
    const char *slash = strrchr(source, '/');
    const char *name = slash ? slash + 1 : source;
    const char *us = strrchr(name, '_');
    const char *digits = us ? us + 1 : name;
    size_t n = strlen(digits);
    if (n == 0 || n > 18 || strspn(digits, "0123456789") != n) return -1;
    return strtoll(digits, NULL, 10);
}

/* Keeps only the backend with the lowest leader id; empties l, and says
 * why, when one has none (as Synapse, the election then serves nothing). */
static const char *elect_leader(struct backend_list *l)
{
    if (l->n == 0) return "no backends to choose from";
    size_t best = 0;
    int64_t best_id = -1;
    for (size_t i = 0; i < l->n; i++) {
        int64_t id = selection_leader_id(l->v[i].source);
        if (id < 0) {
            for (size_t j = 0; j < l->n; j++)
                backend_clear(&l->v[j]);
            l->n = 0;
            return "not every backend has a sequence id";
        }
        if (best_id < 0 || id < best_id) best_id = id, best = i;
    }
    struct backend keep = l->v[best];
    for (size_t i = 0; i < l->n; i++)
        if (i != best) backend_clear(&l->v[i]);
    l->v[0] = keep;
    l->n = 1;
    return NULL;
}

enum selection_outcome selection_apply(const struct syn_service *svc,
                                       const struct server_options_policy *policy,
                                       size_t max_servers, struct backend_list *discovered,
                                       struct backend_list *current, struct selection_notes *notes)
{
    struct selection_notes ignored = {0};
    if (!notes) notes = &ignored;
    notes->filtered_out = notes->over_limit = notes->labels_cut = 0;
    notes->election_failed = NULL;
    size_t kept = 0, dropped = 0, found = discovered->n;
    for (size_t i = 0; i < discovered->n; i++) {
        struct backend *b = &discovered->v[i];
        char why[256];
        if (!selection_labels_match(&svc->discovery, b)) {
            backend_clear(b);
            dropped++;
        } else if (server_options_check(policy, b->haproxy_server_options, why, sizeof why, NULL) <
                   0) {
            /* refused before duplicates are removed: it holds no address */
            if (notes == &ignored || strlist_push(&notes->refused_why, why) < 0 ||
                backend_list_push(&notes->refused, b) < 0)
                backend_clear(b);
        } else {
            discovered->v[kept++] = *b;
        }
    }
    discovered->n = kept;
    notes->filtered_out = dropped;
    backend_list_sort_unique_dropping(discovered, notes == &ignored ? NULL : &notes->conflicts);
    notes->over_limit = keep_first_created(discovered, max_servers);
    if (svc->leader_election && found > 0) notes->election_failed = elect_leader(discovered);
    for (size_t i = 0; i < discovered->n; i++)
        if (discovered->v[i].over_limits & BACKEND_OVER_LABELS) notes->labels_cut++;

    enum selection_outcome outcome;
    /* Only an empty discovery keeps the old set: when label_filters leave
     * nothing, discovery did answer, and the stale backends must go. */
    if (found == 0 && current->n > 0 && svc->use_previous_backends) {
        outcome = SELECTION_KEPT_PREVIOUS;
    } else if (backend_list_equal(discovered, current)) {
        /* The same servers, but where each was found (source, created) is
         * the discovery's to say: backends seeded from the state file carry
         * none, and status must name the znode or key they now come from. */
        struct backend_list older = *current;
        *current = *discovered;
        *discovered = older;
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
