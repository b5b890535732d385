/*
 * discovery "multi": starts one discovery per child watcher, filters each
 * child's view by that child's label_filters (as each of Synapse's child
 * watchers does), feeds the views and the children's connection states to
 * multi_resolver, and publishes what it resolves. The connection states
 * are read every second, as Synapse's main loop pings its watchers: that
 * is how a sequential resolver notices a child whose registry went away.
 */
#include "multi_discovery.h"

#include "log.h"
#include "multi_resolver.h"
#include "selection.h"

#include <stdlib.h>
#include <string.h>

#define MULTI_LINK_POLL_MS 1000

struct multi_discovery;

struct multi_child {
    struct multi_discovery *m;
    size_t index;
    struct syn_service svc; /* the service, with this child's discovery; borrows everything */
    struct discovery *d;
};

struct multi_discovery {
    struct loop *loop;
    const struct syn_service *svc;
    size_t index;
    discovery_update_fn *fn;
    void *arg;
    struct multi_child *children;
    size_t n;
    struct multi_resolver *resolver;
    uint64_t poll_timer;
    bool starting; /* children are being created: publish once they all are */
};

static const char *child_name(const struct multi_discovery *m, size_t i)
{
    return m->svc->discovery.watchers[i].name;
}

static void publish(struct multi_discovery *m)
{
    if (m->starting) return;
    size_t before = multi_resolver_current(m->resolver);
    struct backend_list list;
    if (!multi_resolver_take(m->resolver, &list)) return;
    size_t now = multi_resolver_current(m->resolver);
    if (m->svc->discovery.resolver == SYN_RESOLVER_SEQUENTIAL && now != before)
        log_warn("service %s: sequential resolver now serves watcher %s (was %s)", m->svc->name,
                 child_name(m, now), child_name(m, before));
    m->fn(m->arg, m->index, &list);
    backend_list_clear(&list);
}

static void on_child_update(void *arg, size_t ignored, struct backend_list *found)
{
    struct multi_child *c = arg;
    struct multi_discovery *m = c->m;
    (void)ignored;
    size_t kept = 0;
    for (size_t i = 0; i < found->n; i++) {
        if (selection_labels_match(&c->svc.discovery, &found->v[i]))
            found->v[kept++] = found->v[i];
        else
            backend_clear(&found->v[i]);
    }
    found->n = kept;
    size_t n = found->n;
    if (multi_resolver_update(m->resolver, c->index, found))
        log_warn("service %s: watcher %s found no backends; keeping its previous ones "
                 "(use_previous_backends)",
                 m->svc->name, child_name(m, c->index));
    else
        log_info("service %s: watcher %s: %zu backends", m->svc->name, child_name(m, c->index), n);
    /* A child that answers is connected, whatever the next poll says. */
    if (discovery_connected(c->d) != 0) multi_resolver_link(m->resolver, c->index, MULTI_CHILD_UP);
    publish(m);
}

static void poll_links(void *arg)
{
    struct multi_discovery *m = arg;
    m->poll_timer = loop_timer(m->loop, MULTI_LINK_POLL_MS, poll_links, m);
    for (size_t i = 0; i < m->n; i++) {
        /* -1: the method has no connection to lose (docker), so it is up. */
        int up = m->children[i].d ? discovery_connected(m->children[i].d) : 0;
        multi_resolver_link(m->resolver, i, up == 0 ? MULTI_CHILD_DOWN : MULTI_CHILD_UP);
    }
    publish(m);
}

static void mdd_free(void *impl)
{
    struct multi_discovery *m = impl;
    if (!m) return;
    if (m->poll_timer) loop_timer_cancel(m->loop, m->poll_timer);
    for (size_t i = 0; i < m->n; i++)
        discovery_free(m->children[i].d);
    free(m->children);
    multi_resolver_free(m->resolver);
    free(m);
}

static void *mdd_new(struct discovery_hub *h, const struct syn_service *svc, size_t index,
                     discovery_update_fn *fn, void *arg)
{
    const struct syn_discovery *disc = &svc->discovery;
    struct multi_discovery *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    *m = (struct multi_discovery){.loop = h->loop,
                                  .svc = svc,
                                  .index = index,
                                  .fn = fn,
                                  .arg = arg,
                                  .n = disc->nwatchers,
                                  .starting = true};
    m->children = calloc(disc->nwatchers ? disc->nwatchers : 1, sizeof *m->children);
    m->resolver = multi_resolver_new(disc->resolver, disc->nwatchers, svc->use_previous_backends);
    if (!m->children || !m->resolver) {
        mdd_free(m);
        return NULL;
    }
    log_info("service %s: multi watcher, %s resolver over %zu watchers", svc->name,
             disc->resolver == SYN_RESOLVER_SEQUENTIAL ? "sequential" : "union", m->n);
    for (size_t i = 0; i < m->n; i++) {
        struct multi_child *c = &m->children[i];
        c->m = m;
        c->index = i;
        c->svc = *svc;
        c->svc.discovery = disc->watchers[i].discovery;
        /* Settings published in ZooKeeper are read for a service's own
         * discovery only: which child's would win is not settled here. */
        c->svc.discovery.generator_config_disabled = true;
        c->d = discovery_new(h, &c->svc, index, on_child_update, c);
        if (!c->d) {
            /* Served as a child that is down: the others still run. */
            log_error("service %s: watcher %s could not start", svc->name, disc->watchers[i].name);
            multi_resolver_link(m->resolver, i, MULTI_CHILD_DOWN);
        }
    }
    m->starting = false;
    m->poll_timer = loop_timer(m->loop, MULTI_LINK_POLL_MS, poll_links, m);
    publish(m);
    return m;
}

static int mdd_connected(const void *impl)
{
    const struct multi_discovery *m = impl;
    return multi_resolver_healthy(m->resolver) ? 1 : 0;
}

const struct discovery_impl multi_discovery_impl = {mdd_new, mdd_free, mdd_connected};
