/*
 * Where registrations go: ZooKeeper or etcd, chosen by the config. The rest
 * of the registrator only says which instances should exist; the registry
 * makes it so, again after every reconnect, expiry or lost lease.
 */
#ifndef SMARTDOCK_REGISTRY_H
#define SMARTDOCK_REGISTRY_H

#include <stdbool.h>

#include "loop.h"
#include "match.h"
#include "reg_config.h"

struct registry;

/* The registry lost everything it had registered (session expired, lease
 * lost). It re-registers what it was told; the caller may also resync. */
typedef void registry_lost_fn(void *arg);

struct registry_ops {
    int (*put)(void *impl, const struct registration *r);
    void (*remove)(void *impl, const char *service, const char *instance);
    bool (*settled)(const void *impl);
    bool (*connected)(const void *impl);
    char *(*describe)(const void *impl, const char *service, const char *instance);
    void (*free)(void *impl);
};

struct registry *registry_new(struct loop *l, const struct reg_config *cfg,
                              registry_lost_fn *on_lost, void *arg);
/* Withdraws everything at once (closes the session, revokes the lease). */
void registry_free(struct registry *r);

/* Registers r (copied); registering the same service+instance again updates
 * it. 0; -1 when out of memory; REGISTRY_REFUSED when the registry cannot
 * take it (logged there, with the reason). */
#define REGISTRY_REFUSED (-2)
int registry_put(struct registry *r, const struct registration *reg);
void registry_remove(struct registry *r, const char *service, const char *instance);
/* True when every registration is in the registry as asked and nothing is in flight. */
bool registry_settled(const struct registry *r);
/* True while the session is connected (ZooKeeper) or a lease is held (etcd). */
bool registry_connected(const struct registry *r);
/* Where service/instance lives: the znode or key, for the status command;
 * caller frees; NULL when unknown. */
char *registry_describe(const struct registry *r, const char *service, const char *instance);

#endif
