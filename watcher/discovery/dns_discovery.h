/*
 * discovery "dns": each configured server's host name re-resolved every
 * check_interval; and "zookeeper_dns" / "zookeeper_dns_poll": the same,
 * with the servers read from ZooKeeper (by zk_discovery) instead of the
 * config. The backends are dns_backends.c's; lookups are c-ares', on the loop.
 */
#ifndef SMARTDOCK_DNS_DISCOVERY_H
#define SMARTDOCK_DNS_DISCOVERY_H

#include "discovery.h"

extern const struct discovery_impl dns_discovery_impl;

#endif
