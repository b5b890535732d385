#include "discovery.h"

#include "etcd_discovery.h"
#include "log.h"
#include "zk_discovery.h"

#include <stdlib.h>

struct discovery {
    const struct discovery_impl *impl;
    void *obj;
};

struct discovery *discovery_new(struct discovery_hub *h, const struct syn_service *svc,
                                size_t index, discovery_update_fn *fn, void *arg)
{
    const struct discovery_impl *impl = NULL;
    switch (svc->discovery.kind) {
    case SYN_DISCOVERY_ZOOKEEPER: impl = &zk_discovery_impl; break;
    case SYN_DISCOVERY_DOCKER: impl = &docker_discovery_impl; break;
    case SYN_DISCOVERY_ETCD: impl = &etcd_discovery_impl; break;
    case SYN_DISCOVERY_BASE: return NULL;
    }
    struct discovery *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->impl = impl;
    d->obj = impl->new(h, svc, index, fn, arg);
    if (!d->obj) {
        free(d);
        return NULL;
    }
    return d;
}

void discovery_free(struct discovery *d)
{
    if (!d) return;
    d->impl->free(d->obj);
    free(d);
}

void discovery_hub_release(struct discovery_hub *h)
{
    if (h->zk_pool && h->free_zk_pool) h->free_zk_pool(h->zk_pool);
    h->zk_pool = NULL;
}
