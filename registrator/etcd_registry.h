/*
 * The "etcd" registry: each registration a key on this host's one lease. An
 * implementation of registry.h.
 */
#ifndef SMARTDOCK_ETCD_REGISTRY_H
#define SMARTDOCK_ETCD_REGISTRY_H

#include "registry.h"

/* For registry.c; NULL on failure. */
void *etcd_registry_new(struct loop *l, const struct reg_config *cfg, registry_lost_fn *on_lost,
                        void *arg);
extern const struct registry_ops etcd_registry_ops;

#endif
