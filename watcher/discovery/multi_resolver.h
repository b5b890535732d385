/*
 * The pure core of discovery "multi": Synapse's union and sequential
 * resolvers over what each child discovery last published. No I/O; the
 * children's views and connection states go in, one resolved backend list
 * comes out. multi_discovery.c runs the children on the loop and feeds it;
 * tests/unit/test_multi_resolver.c replays recorded sequences.
 *
 * Rules, after Synapse 0.18.9 (multi/resolver/union.rb, sequential.rb):
 * - union serves every child's backends together; it is healthy while any
 *   child is connected.
 * - sequential serves the first child, in sequential_order, that is
 *   connected and has backends; when none is, the first child. A child
 *   whose registry goes away, or that has no backends, is passed over.
 * - A child that reports no backends after having some keeps its previous
 *   ones when use_previous_backends is on (as each of Synapse's child
 *   watchers does), so only a disconnection fails over then.
 * - Nothing is published while a child that comes before the choice has
 *   neither answered nor had its connection state reported, so a start-up
 *   does not serve the second choice for the moment the first takes to
 *   answer.
 */
#ifndef SMARTDOCK_MULTI_RESOLVER_H
#define SMARTDOCK_MULTI_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "syn_config_discovery.h"

struct multi_resolver;

enum multi_child_link {
    MULTI_CHILD_UNKNOWN, /* not reported yet */
    MULTI_CHILD_UP,      /* connected, or a method without the notion */
    MULTI_CHILD_DOWN,
};

struct multi_resolver *multi_resolver_new(enum syn_resolver kind, size_t nchildren,
                                          bool use_previous_backends);
void multi_resolver_free(struct multi_resolver *r);

/* Child i published its complete view (moved in: *backends is left empty).
 * Returns true when it kept its previous backends instead of an empty view. */
bool multi_resolver_update(struct multi_resolver *r, size_t i, struct backend_list *backends);
void multi_resolver_link(struct multi_resolver *r, size_t i, enum multi_child_link link);

/* When the resolved view differs from the last one taken (or none was taken
 * yet and it can be decided): fills out (the caller owns it), returns true. */
bool multi_resolver_take(struct multi_resolver *r, struct backend_list *out);
/* sequential: the child in use (0 before any choice); union: 0. */
size_t multi_resolver_current(const struct multi_resolver *r);
/* Synapse's healthy?: union, any child up; sequential, the child in use. */
bool multi_resolver_healthy(const struct multi_resolver *r);

#endif
