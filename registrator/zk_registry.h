/*
 * The "zookeeper" registry: each registration an ephemeral sequential znode
 * in Nerve's layout, on one session. An implementation of registry.h.
 */
#ifndef SMARTDOCK_ZK_REGISTRY_H
#define SMARTDOCK_ZK_REGISTRY_H

#include "registry.h"

/* For registry.c; NULL on failure. */
void *zk_registry_new(struct loop *l, const struct reg_config *cfg, registry_lost_fn *on_lost,
                      void *arg);
extern const struct registry_ops zk_registry_ops;

#endif
