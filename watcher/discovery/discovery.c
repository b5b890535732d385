#include "discovery.h"

#include "dns_discovery.h"
#include "docker_discovery.h"
#include "etcd_discovery.h"
#include "multi_discovery.h"
#include "log.h"
#include "zk_discovery.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct discovery {
    const struct discovery_impl *impl;
    void *obj;
};

struct discovery *discovery_new(struct discovery_hub *h, const struct syn_service *svc,
                                size_t index, discovery_update_fn *fn, void *arg)
{
    const struct discovery_impl *impl = NULL;
    switch (svc->discovery.kind) {
    case SYN_DISCOVERY_ZOOKEEPER:
        impl = &zk_discovery_impl;
        break;
    case SYN_DISCOVERY_DOCKER:
        impl = &docker_discovery_impl;
        break;
    case SYN_DISCOVERY_ETCD:
        impl = &etcd_discovery_impl;
        break;
    case SYN_DISCOVERY_DNS:
    case SYN_DISCOVERY_ZOOKEEPER_DNS:
        impl = &dns_discovery_impl;
        break;
    case SYN_DISCOVERY_MULTI:
        impl = &multi_discovery_impl;
        break;
    case SYN_DISCOVERY_BASE:
        return NULL;
    }
    struct discovery *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->impl = impl;
    d->obj = impl->new (h, svc, index, fn, arg);
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

int discovery_connected(const struct discovery *d)
{
    if (!d || !d->impl->connected) return -1;
    return d->impl->connected(d->obj);
}

void discovery_hub_reject(struct discovery_hub *h, const char *service, const char *err)
{
    if (h && h->on_reject) h->on_reject(h->reject_arg, service, err);
}

void discovery_hub_settings(struct discovery_hub *h, const char *service, const char *znode,
                            const char *data, size_t len)
{
    if (h && h->on_settings) h->on_settings(h->settings_arg, service, znode, data, len);
}

void discovery_reject_reason(const char *err, char *buf, size_t len)
{
    size_t n = err ? strcspn(err, ":") : 0;
    bool ok = err && err[n] == ':' && n > 0 && n < 32;
    for (size_t i = 0; ok && i < n; i++)
        ok = (err[i] >= 'a' && err[i] <= 'z') || err[i] == '_' || err[i] == ' ';
    if (!ok) {
        snprintf(buf, len, "other");
        return;
    }
    snprintf(buf, len, "%.*s", (int)n, err);
    for (char *p = buf; *p; p++)
        if (*p == ' ') *p = '_';
}
