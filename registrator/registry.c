#include "registry.h"

#include "etcd_registry.h"
#include "zk_registry.h"

#include <stdlib.h>

struct registry {
    const struct registry_ops *ops;
    void *impl;
};

struct registry *registry_new(struct loop *l, const struct reg_config *cfg,
                              registry_lost_fn *on_lost, void *arg)
{
    struct registry *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    switch (cfg->registry_type) {
    case REGISTRY_ZOOKEEPER:
        r->ops = &zk_registry_ops;
        r->impl = zk_registry_new(l, cfg, on_lost, arg);
        break;
    case REGISTRY_ETCD:
        r->ops = &etcd_registry_ops;
        r->impl = etcd_registry_new(l, cfg, on_lost, arg);
        break;
    }
    if (!r->impl) {
        free(r);
        return NULL;
    }
    return r;
}

void registry_free(struct registry *r)
{
    if (!r) return;
    r->ops->free(r->impl);
    free(r);
}

int registry_put(struct registry *r, const struct registration *reg)
{
    return r->ops->put(r->impl, reg);
}

void registry_remove(struct registry *r, const char *service, const char *instance)
{
    r->ops->remove(r->impl, service, instance);
}

bool registry_settled(const struct registry *r)
{
    return r->ops->settled(r->impl);
}

bool registry_connected(const struct registry *r)
{
    return r && r->ops->connected(r->impl);
}

char *registry_describe(const struct registry *r, const char *service, const char *instance)
{
    return r ? r->ops->describe(r->impl, service, instance) : NULL;
}
