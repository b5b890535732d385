#include "dns_discovery.h"

#include "dns_backends.h"
#include "dns_resolver.h"
#include "log.h"
#include "zk_discovery.h"

#include <stdlib.h>
#include <string.h>

struct dns_discovery {
    struct discovery_hub *hub;
    const struct syn_service *svc;
    size_t index;
    discovery_update_fn *fn;
    void *arg;
    struct dns_resolver *resolver;
    struct dns_backends *set;
    void *zk;          /* zookeeper_dns: zk_discovery's object; NULL for dns */
    bool have_targets; /* dns: always; zookeeper_dns: after ZooKeeper's first view */
    int outstanding;   /* lookups not answered yet */
    uint64_t check_ms; /* check_interval */
    uint64_t timer;
    bool published;
    struct backend_list last; /* what was published last */
};

/* Publishes the backends once every lookup of the round has answered, if
 * they differ from the last ones published (or nothing was yet). */
static void publish(struct dns_discovery *d)
{
    if (d->outstanding > 0 || !d->have_targets) return;
    struct backend_list now;
    if (dns_backends_build(d->set, &now) < 0) {
        log_error("service %s: out of memory building backends", d->svc->name);
        return;
    }
    if (d->published && backend_list_equal(&now, &d->last)) {
        backend_list_clear(&now);
        return;
    }
    struct backend_list copy;
    if (backend_list_copy(&copy, &now) < 0) {
        backend_list_clear(&now);
        log_error("service %s: out of memory", d->svc->name);
        return;
    }
    backend_list_clear(&d->last);
    d->last = now;
    d->published = true;
    log_debug("service %s: %zu backends from DNS", d->svc->name, copy.n);
    d->fn(d->arg, d->index, &copy);
    backend_list_clear(&copy);
}

static void on_resolved(void *arg, const char *name, int ok, const char *const *addrs,
                        size_t naddrs, const char *why)
{
    struct dns_discovery *d = arg;
    d->outstanding--;
    dns_backends_answer(d->set, name, ok, addrs, naddrs, why);
    publish(d);
}

/* Looks every name up again; the answers publish. */
static void resolve_all(struct dns_discovery *d)
{
    struct strlist names = {0};
    if (dns_backends_names(d->set, &names) < 0) {
        log_error("service %s: out of memory listing names to resolve", d->svc->name);
        strlist_clear(&names);
        return;
    }
    for (size_t i = 0; i < names.n; i++) {
        if (dns_resolver_lookup(d->resolver, names.v[i], on_resolved, d) < 0) {
            log_error("service %s: out of memory resolving %s", d->svc->name, names.v[i]);
            continue;
        }
        d->outstanding++;
    }
    strlist_clear(&names);
    publish(d); /* when there was nothing to look up */
}

static void on_check(void *arg)
{
    struct dns_discovery *d = arg;
    d->timer = loop_timer(d->hub->loop, d->check_ms, on_check, d);
    resolve_all(d);
}

/* zookeeper_dns: ZooKeeper's view of the servers (host names) changed. */
static void on_zk_update(void *arg, size_t index, struct backend_list *servers)
{
    (void)index;
    struct dns_discovery *d = arg;
    if (dns_backends_set_targets(d->set, servers) < 0) {
        log_error("service %s: out of memory taking ZooKeeper's servers", d->svc->name);
        return;
    }
    d->have_targets = true;
    if (servers->n == 0) log_warn("service %s: no servers in ZooKeeper", d->svc->name);
    resolve_all(d); /* as Synapse: every change from ZooKeeper resolves anew */
}

static void dnsd_free(void *impl);

static void *dnsd_new(struct discovery_hub *h, const struct syn_service *svc, size_t index,
                      discovery_update_fn *fn, void *arg)
{
    const struct syn_discovery *disc = &svc->discovery;
    struct dns_discovery *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->hub = h;
    d->svc = svc;
    d->index = index;
    d->fn = fn;
    d->arg = arg;
    d->check_ms = (uint64_t)(disc->check_interval * 1000);
    if (d->check_ms == 0) d->check_ms = 1;
    char err[256];
    if (!(d->resolver = dns_resolver_new(h->loop, &disc->nameservers, err, sizeof err))) {
        log_error("service %s: discovery.nameserver: %s", svc->name, err);
        free(d);
        return NULL;
    }
    if (!(d->set = dns_backends_new(svc->name))) {
        dnsd_free(d);
        return NULL;
    }
    if (disc->kind == SYN_DISCOVERY_DNS) {
        if (dns_backends_set_targets(d->set, &disc->dns_servers) < 0) {
            dnsd_free(d);
            return NULL;
        }
        d->have_targets = true;
        log_info("service %s: resolving %zu servers every %.3g s", svc->name, disc->dns_servers.n,
                 disc->check_interval);
    } else if (!(d->zk = zk_discovery_impl.new(h, svc, index, on_zk_update, d))) {
        dnsd_free(d);
        return NULL;
    } else {
        log_info("service %s: resolving the names in zookeeper every %.3g s", svc->name,
                 disc->check_interval);
    }
    d->timer = loop_timer(h->loop, d->check_ms, on_check, d);
    if (d->have_targets) resolve_all(d);
    return d;
}

static void dnsd_free(void *impl)
{
    struct dns_discovery *d = impl;
    if (d->timer) loop_timer_cancel(d->hub->loop, d->timer);
    if (d->zk) zk_discovery_impl.free(d->zk);
    dns_resolver_free(d->resolver); /* its pending answers are dropped */
    dns_backends_free(d->set);
    backend_list_clear(&d->last);
    free(d);
}

/* dns has no connection to speak of; zookeeper_dns is up when ZooKeeper is. */
static int dnsd_connected(const void *impl)
{
    const struct dns_discovery *d = impl;
    return d->zk ? zk_discovery_impl.connected(d->zk) : -1;
}

const struct discovery_impl dns_discovery_impl = {dnsd_new, dnsd_free, dnsd_connected};
