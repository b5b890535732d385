/*
 * discovery "zookeeper": the children of a service's path, each child's data
 * Nerve JSON. One ZooKeeper session per ensemble, shared through the hub.
 */
#ifndef SMARTDOCK_ZK_DISCOVERY_H
#define SMARTDOCK_ZK_DISCOVERY_H

#include "discovery.h"

/* The method, for discovery.c; its state lives on the loop thread. */
extern const struct discovery_impl zk_discovery_impl;

#endif
