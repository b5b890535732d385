/*
 * Asynchronous DNS lookups on the loop thread, through c-ares: its sockets
 * are watched by the loop and its retransmissions run on loop timers, so a
 * slow or silent name server never blocks the daemon.
 *
 * One resolver per set of name servers; a discovery owns its own.
 */
#ifndef SMARTDOCK_DNS_RESOLVER_H
#define SMARTDOCK_DNS_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "strlist.h"

struct dns_resolver;

/*
 * An answer, on the loop thread. On success ok is 1 and addrs holds the
 * name's IPv4 and IPv6 addresses as text (naddrs >= 1); otherwise ok is 0,
 * naddrs is 0 and why says what went wrong ("no such name", "timeout"...).
 * Everything passed is borrowed for the call.
 */
typedef void dns_resolved_fn(void *arg, const char *name, int ok, const char *const *addrs,
                             size_t naddrs, const char *why);

/*
 * nameservers: "ip", "ip:port" or "[ipv6]:port" entries; empty means the
 * system's (/etc/resolv.conf, and /etc/hosts before DNS). With name servers
 * given only DNS is asked, as Ruby's Resolv::DNS does for Synapse. NULL
 * (with err filled) when c-ares refuses them.
 */
struct dns_resolver *dns_resolver_new(struct loop *l, const struct strlist *nameservers, char *err,
                                      size_t errlen);
/* Pending lookups are dropped: their callbacks are not called. */
void dns_resolver_free(struct dns_resolver *r);

/* Starts a lookup of name; fn runs once, later, on the loop thread (never
 * from inside this call). -1 when out of memory (and fn is not called). */
int dns_resolver_lookup(struct dns_resolver *r, const char *name, dns_resolved_fn *fn, void *arg);

/* Pure: true when s is an IPv4 or IPv6 address (no lookup needed). */
bool dns_is_ip_address(const char *s);

#endif
