/*
 * Nerve's services: host:port instances that are not containers, checked
 * and reported as Nerve does (nerve_config.h). Each ZooKeeper ensemble gets
 * one session, shared by every service on it, and etcd reporters go
 * through the etcd registry. Runs on the loop thread beside the Docker
 * follower.
 */
#ifndef SMARTDOCK_NERVE_SERVICES_H
#define SMARTDOCK_NERVE_SERVICES_H

#include <stdio.h>

#include "loop.h"
#include "reg_config.h"

struct nerve_services;

/* cfg is borrowed and must outlive the object. dry_run: print what would be
 * registered (once, as JSON lines) and register nothing. NULL on failure. */
struct nerve_services *nerve_services_new(struct loop *l, const struct reg_config *cfg,
                                          FILE *dry_run);
/* What a reload did, service by service. */
struct nerve_reload_counts {
    unsigned added, removed, updated, unchanged;
};
/*
 * SIGHUP: cfg (borrowed, must outlive the object or the next reload)
 * replaces the config; only the difference is applied (nerve_plan_make):
 * an unchanged service keeps its node, its session and its checks' state;
 * a changed one keeps its node and is written in place; a new one
 * registers; a removed one is withdrawn. Reporters no service uses any more
 * are closed. -1 when something could not be started (logged; the rest is
 * applied).
 */
int nerve_services_reload(struct nerve_services *n, const struct reg_config *cfg,
                          struct nerve_reload_counts *counts);
/* Withdraws every registration (closes sessions, deletes persistent nodes). */
void nerve_services_free(struct nerve_services *n);

#endif
