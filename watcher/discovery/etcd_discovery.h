/*
 * discovery "etcd": every key under a service's prefix, each value Nerve
 * JSON, read once and then watched from the revision after that read.
 */
#ifndef SMARTDOCK_ETCD_DISCOVERY_H
#define SMARTDOCK_ETCD_DISCOVERY_H

#include "discovery.h"

/* The method, for discovery.c; its state lives on the loop thread. */
extern const struct discovery_impl etcd_discovery_impl;

#endif
