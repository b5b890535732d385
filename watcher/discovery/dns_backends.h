/*
 * The pure core of the DNS methods ("dns", "zookeeper_dns",
 * "zookeeper_dns_poll"): targets (a host name or IP address with a port,
 * name and labels) plus the answers for their names make the backends, one
 * per address of each target. No I/O: dns_discovery.c asks, this decides.
 *
 * Rules it keeps:
 * - An IP address needs no lookup: it is its own answer.
 * - A name that fails (no such name, no addresses, timeout) keeps its last
 *   answer; the failure is logged once, and so is the recovery.
 * - A name never answered yet gives no backend.
 */
#ifndef SMARTDOCK_DNS_BACKENDS_H
#define SMARTDOCK_DNS_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "strlist.h"

struct dns_backends;

/* service names the service in log lines; copied. */
struct dns_backends *dns_backends_new(const char *service);
void dns_backends_free(struct dns_backends *db);

/* Replaces the targets with a copy of targets (host, port, name, labels
 * are used). Answers for names still targeted are kept; the others are
 * forgotten. 0, or -1 when out of memory (the old targets stay). */
int dns_backends_set_targets(struct dns_backends *db, const struct backend_list *targets);

/* The names to look up: each target host that is not an IP address, once.
 * Appended to out. 0, or -1 when out of memory. */
int dns_backends_names(const struct dns_backends *db, struct strlist *out);

/*
 * An answer for name: ok with addrs (text, any order, duplicates allowed),
 * or a failure saying why. Returns true when the name's addresses changed.
 * An answer for a name no target uses is ignored.
 */
bool dns_backends_answer(struct dns_backends *db, const char *name, bool ok,
                         const char *const *addrs, size_t naddrs, const char *why);

/* The backends now: for each target, one per address of its host (in
 * address order), name = the target's name or "<address>:<port>", labels
 * copied. out is overwritten; the caller owns it. 0, or -1 when out of memory. */
int dns_backends_build(const struct dns_backends *db, struct backend_list *out);

#endif
