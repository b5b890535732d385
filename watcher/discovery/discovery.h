/*
 * A discovery method turns one service's registry (ZooKeeper path, etcd
 * prefix, Docker engines) into its current set of backends. Each method is
 * one module (zk_discovery, etcd_discovery, docker_discovery) exporting a
 * struct discovery_impl; the watcher knows only discovery_new/_free.
 */
#ifndef SMARTDOCK_DISCOVERY_H
#define SMARTDOCK_DISCOVERY_H

#include <stddef.h>

#include "backend.h"
#include "loop.h"
#include "syn_config.h"

struct discovery;

/* Shared per daemon by the method files: one ZooKeeper session per
 * ensemble however many services watch it. */
struct discovery_hub {
    struct loop *loop;
    void *zk_pool; /* zk_discovery.c's */
    void (*free_zk_pool)(void *pool);
    /* A registration the methods refused (err names the field); may be NULL. */
    void (*on_reject)(void *arg, const char *service, const char *err);
    void *reject_arg;
    /* The data of a service's generator_config_path znode (Synapse's haproxy
     * settings published in ZooKeeper), each time it is read; data NULL and
     * len 0 when the znode is empty. May be NULL. */
    void (*on_settings)(void *arg, const char *service, const char *znode, const char *data,
                        size_t len);
    void *settings_arg;
};

/* Reports a refused registration through h->on_reject. */
void discovery_hub_reject(struct discovery_hub *h, const char *service, const char *err);
/* Hands a generator_config_path znode's data to h->on_settings. */
void discovery_hub_settings(struct discovery_hub *h, const char *service, const char *znode,
                            const char *data, size_t len);
/* Pure: a bounded label for a refusal, from its error's field ("port: expected
 * ..." -> "port", "znode name: ..." -> "znode_name"); "other" otherwise. */
void discovery_reject_reason(const char *err, char *buf, size_t len);

/* The method's complete current view of service index, on the loop thread.
 * backends is moved to the callee. */
typedef void discovery_update_fn(void *arg, size_t index, struct backend_list *backends);

/* Free hub->zk_pool after every discovery that used it. */
void discovery_hub_release(struct discovery_hub *h);

/* svc is borrowed for the discovery's life. NULL for the "base" method
 * (default_servers only) or on failure, which is logged. */
struct discovery *discovery_new(struct discovery_hub *h, const struct syn_service *svc,
                                size_t index, discovery_update_fn *fn, void *arg);
void discovery_free(struct discovery *d);
/* 1 when the method's registry connection is up, 0 when down, -1 when the
 * method has no such notion (docker, or d NULL). */
int discovery_connected(const struct discovery *d);

/* What a method module exports (zk_discovery.h, etcd_discovery.h, ...). */
struct discovery_impl {
    void *(*new)(struct discovery_hub *h, const struct syn_service *svc, size_t index,
                 discovery_update_fn *fn, void *arg);
    void (*free)(void *impl);
    int (*connected)(const void *impl); /* NULL: no notion of it */
};
#endif
