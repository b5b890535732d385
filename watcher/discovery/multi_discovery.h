/*
 * discovery "multi" (and a service's discovery_multi): Synapse's multi
 * watcher. Each child discovery runs as it would for a service of its own;
 * multi_resolver.c decides what the service serves from their views.
 */
#ifndef SMARTDOCK_MULTI_DISCOVERY_H
#define SMARTDOCK_MULTI_DISCOVERY_H

#include "discovery.h"

/* The method, for discovery.c; its state lives on the loop thread. */
extern const struct discovery_impl multi_discovery_impl;

#endif
