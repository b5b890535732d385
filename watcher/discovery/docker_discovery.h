/*
 * discovery "docker": a service's backends are the containers of its Docker
 * engines (docker_discovery_backend.h decides which), followed through
 * common/docker_watch: events, then a list, then inspects.
 */
#ifndef SMARTDOCK_DOCKER_DISCOVERY_H
#define SMARTDOCK_DOCKER_DISCOVERY_H

#include "discovery.h"

/* The method, for discovery.c; its state lives on the loop thread. */
extern const struct discovery_impl docker_discovery_impl;

#endif
