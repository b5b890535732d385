/*
 * Nerve's services on the loop thread; see nerve_services.h.
 *
 * A service is registered while its checks say up (always, with
 * check_mocked) and withdrawn when they say down, as Nerve's
 * report_up/report_down. The registry keeps the node there across
 * reconnects and session expiries.
 */
#include "nerve_services.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "health.h"
#include "log.h"
#include "match.h"
#include "registry.h"

struct reporter {
    char *key;             /* "zk:<sorted hosts>" or "etcd:<url><path>" */
    struct reg_config cfg; /* synthetic, for registry_new, which borrows it */
    struct registry *registry;
    bool used; /* a reload's sweep: some instance still reports through it */
};

struct nerve_instance {
    struct nerve_services *owner;
    const struct nerve_service *svc;
    struct reporter *rep;
    struct health *health;
    struct registration reg;
    char *payload, *instance;
    bool registered;
};

/* Reporters and instances are each on the heap: registries borrow a
 * reporter's cfg and health callbacks an instance, across reloads. inst
 * is parallel to cfg->nerve_services (NULL: it could not start). */
struct nerve_services {
    struct loop *loop;
    const struct reg_config *cfg;
    struct reporter **reps;
    size_t nreps;
    struct nerve_instance **inst;
    size_t ninst;
    uint64_t heartbeat_timer;
    FILE *dry_run;
};

static void reporter_free(struct reporter *r)
{
    if (!r) return;
    registry_free(r->registry);
    free(r->key);
    strlist_clear(&r->cfg.zk_hosts);
    free(r->cfg.zk_path);
    strlist_clear(&r->cfg.etcd_endpoints);
    free(r->cfg.etcd_prefix);
    free(r);
}

static char *reporter_key(const struct nerve_service *s)
{
    char *key = NULL;
    if (s->reporter == NERVE_REPORTER_ETCD) {
        if (asprintf(&key, "etcd:http://%s:%d%s", s->etcd_host, s->etcd_port, s->etcd_path) < 0)
            return NULL;
        return key;
    }
    char *hosts = strlist_join(&s->zk_hosts, ",");
    if (!hosts || asprintf(&key, "zk:%s", hosts) < 0) key = NULL;
    free(hosts);
    return key;
}

/* A registry config for one reporter: the ensemble, or the etcd endpoint
 * with etcd_path as its prefix and Nerve's TTL (5 check intervals). */
static int reporter_init(struct reporter *r, const struct nerve_service *s, char *key)
{
    r->key = key;
    if (s->reporter == NERVE_REPORTER_ZOOKEEPER) {
        r->cfg.registry_type = REGISTRY_ZOOKEEPER;
        r->cfg.zk_session_timeout_ms = 10000;
        if (!(r->cfg.zk_path = strdup("/"))) return -1;
        return strlist_extend(&r->cfg.zk_hosts, &s->zk_hosts);
    }
    r->cfg.registry_type = REGISTRY_ETCD;
    int ttl = (s->check_interval_ms * 5 + 999) / 1000;
    r->cfg.etcd_ttl_s = ttl < 2 ? 2 : ttl > 3600 ? 3600 : ttl;
    if (strlist_pushf(&r->cfg.etcd_endpoints, "http://%s:%d", s->etcd_host, s->etcd_port) < 0)
        return -1;
    size_t n = strlen(s->etcd_path);
    if (asprintf(&r->cfg.etcd_prefix, "%s%s", s->etcd_path,
                 n && s->etcd_path[n - 1] == '/' ? "" : "/") < 0)
        return -1;
    return 0;
}

/* The reporter for s: an existing one (its session or lease is shared), or
 * a new one with its registry client. NULL on failure, logged. */
static struct reporter *reporter_for(struct nerve_services *n, const struct nerve_service *s)
{
    char *key = reporter_key(s);
    if (!key) return NULL;
    for (size_t i = 0; i < n->nreps; i++)
        if (!strcmp(n->reps[i]->key, key)) {
            free(key);
            return n->reps[i];
        }
    struct reporter **v = realloc(n->reps, (n->nreps + 1) * sizeof *v);
    struct reporter *r = v ? calloc(1, sizeof *r) : NULL;
    if (v) n->reps = v;
    if (!r) {
        free(key);
        return NULL;
    }
    if (reporter_init(r, s, key) < 0 ||
        (!n->dry_run && !(r->registry = registry_new(n->loop, &r->cfg, NULL, NULL)))) {
        log_error("nerve: service %s: cannot create its %s reporter", s->name,
                  s->reporter == NERVE_REPORTER_ZOOKEEPER ? "zookeeper" : "etcd");
        reporter_free(r);
        return NULL;
    }
    n->reps[n->nreps++] = r;
    return r;
}

static void report(struct nerve_instance *in, bool up)
{
    if (up == in->registered) return;
    in->registered = up;
    if (up)
        registry_put(in->rep->registry, &in->reg);
    else
        registry_remove(in->rep->registry, in->reg.service, in->reg.instance);
}

static void on_health(void *arg, bool up)
{
    report(arg, up);
}

/* Nerve's heartbeat_path: touched as the loop makes progress, so a watchdog
 * can restart a registrator whose loop is stuck. */
static void heartbeat(void *arg)
{
    struct nerve_services *n = arg;
    n->heartbeat_timer = loop_timer(n->loop, 1000, heartbeat, n);
    int fd = open(n->cfg->heartbeat_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0 || futimens(fd, NULL) < 0)
        log_warn("heartbeat_path %s: cannot touch it: %m", n->cfg->heartbeat_path);
    if (fd >= 0) close(fd);
}

/* in's node for s: payload, instance name, backend; the registration's
 * borrowed strings point into s and n->cfg. */
static int instance_node(struct nerve_services *n, struct nerve_instance *in,
                         const struct nerve_service *s)
{
    in->svc = s;
    char *prefix = NULL;
    if (nerve_node(s, n->cfg->instance_id, &in->payload, &prefix) < 0) return -1;
    size_t len = strlen(prefix);
    prefix[len - 1] = 0; /* the registry adds the '_' before the sequence */
    if (s->reporter == NERVE_REPORTER_ETCD) {
        /* <etcd_path>/<instance_id>/<service>: Nerve's key under the
         * instance's directory, one per service. */
        in->instance = strdup(s->name);
        in->reg.service = n->cfg->instance_id;
        free(prefix);
    } else {
        in->instance = prefix;
        in->reg.service = s->name;
        in->reg.dir = s->zk_path;
    }
    if (!in->instance || nerve_backend(s, n->cfg->instance_id, &in->reg.backend) < 0) return -1;
    in->reg.instance = in->instance;
    in->reg.payload = in->payload;
    in->reg.node_type = s->node_type;
    in->reg.ttl_s = s->ttl_seconds;
    in->reg.drain_ms = 0;
    return 0;
}

static void instance_node_clear(struct nerve_instance *in)
{
    backend_clear(&in->reg.backend);
    free(in->payload);
    free(in->instance);
    in->payload = in->instance = NULL;
}

static void instance_free(struct nerve_instance *in)
{
    if (!in) return;
    health_free(in->health);
    instance_node_clear(in);
    free(in);
}

/* Its checks start (or, mocked, it is up at once). */
static int instance_watch(struct nerve_services *n, struct nerve_instance *in)
{
    const struct nerve_service *s = in->svc;
    log_info("nerve: watching %s %s:%d (%zu check%s, every %d ms) -> %s%s", s->name, s->host,
             s->port, s->checks.n, s->checks.n == 1 ? "" : "s", s->check_interval_ms, in->rep->key,
             s->check_mocked ? ", checks mocked" : "");
    if (s->check_mocked) {
        report(in, true);
        return 0;
    }
    char what[600];
    snprintf(what, sizeof what, "%s %s:%d instance=%s", s->name, s->host, s->port,
             n->cfg->instance_id);
    in->health = health_new(n->loop, &s->checks, s->host, s->port, s->check_interval_ms, what,
                            on_health, in);
    return in->health ? 0 : -1;
}

/* A new instance of s, with its reporter; not watched yet. */
static struct nerve_instance *instance_new(struct nerve_services *n, const struct nerve_service *s)
{
    struct nerve_instance *in = calloc(1, sizeof *in);
    if (!in) return NULL;
    in->owner = n;
    if (instance_node(n, in, s) < 0) {
        instance_free(in);
        return NULL;
    }
    if (n->dry_run) {
        fprintf(n->dry_run, "{\"service\":\"%s\",\"path\":\"%s/%s_\",\"data\":%s}\n", s->name,
                s->reporter == NERVE_REPORTER_ZOOKEEPER ? s->zk_path : s->etcd_path, in->instance,
                in->payload);
        return in;
    }
    if (!(in->rep = reporter_for(n, s))) {
        instance_free(in);
        return NULL;
    }
    return in;
}

struct nerve_services *nerve_services_new(struct loop *l, const struct reg_config *cfg,
                                          FILE *dry_run)
{
    struct nerve_services *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->loop = l;
    n->cfg = cfg;
    n->dry_run = dry_run;
    size_t count = cfg->nnerve_services;
    if (count && !(n->inst = calloc(count, sizeof *n->inst))) goto fail;
    for (size_t i = 0; i < count; i++)
        if (!(n->inst[n->ninst++] = instance_new(n, &cfg->nerve_services[i]))) goto fail;
    if (dry_run) return n;
    for (size_t i = 0; i < n->ninst; i++)
        if (instance_watch(n, n->inst[i]) < 0) goto fail;
    if (cfg->heartbeat_path) heartbeat(n);
    return n;
fail:
    nerve_services_free(n);
    return NULL;
}

/* The instance (of the old list) withdrawn and freed. */
static void instance_withdraw(struct nerve_instance *in, const char *why)
{
    log_info("nerve: %s %s:%d: %s", in->svc->name, in->svc->host, in->svc->port, why);
    health_free(in->health);
    in->health = NULL;
    if (in->registered && in->rep)
        registry_remove(in->rep->registry, in->reg.service, in->reg.instance);
    instance_free(in);
}

/* Same node, new content: the payload written in place if it is
 * registered; the checks restarted if they changed. */
static int instance_update(struct nerve_services *n, struct nerve_instance *in,
                           const struct nerve_service *s)
{
    const struct nerve_service *was = in->svc;
    bool checks_changed = !check_list_equal(&was->checks, &s->checks) ||
                          was->check_interval_ms != s->check_interval_ms ||
                          was->check_mocked != s->check_mocked || strcmp(was->host, s->host) ||
                          was->port != s->port;
    instance_node_clear(in);
    if (instance_node(n, in, s) < 0) return -1;
    if (in->registered) registry_put(in->rep->registry, &in->reg);
    if (!checks_changed) return 0;
    health_free(in->health);
    in->health = NULL;
    return instance_watch(n, in);
}

int nerve_services_reload(struct nerve_services *n, const struct reg_config *cfg,
                          struct nerve_reload_counts *counts)
{
    struct nerve_plan plan;
    const struct reg_config *old = n->cfg;
    if (nerve_plan_make(old->nerve_services, old->nnerve_services, old->instance_id,
                        cfg->nerve_services, cfg->nnerve_services, cfg->instance_id, &plan) < 0)
        return -1;
    struct nerve_instance **next = calloc(cfg->nnerve_services + 1, sizeof *next);
    if (!next) {
        nerve_plan_clear(&plan);
        return -1;
    }
    /* Removed (or moved) first, so a moved node is gone before its new one. */
    for (size_t j = 0; j < n->ninst; j++)
        if (plan.removed[j] && n->inst[j]) {
            instance_withdraw(n->inst[j], "withdrawn (SIGHUP: no longer in the config, or moved)");
            n->inst[j] = NULL;
        }
    n->cfg = cfg;
    int rc = 0;
    for (size_t i = 0; i < cfg->nnerve_services; i++) {
        const struct nerve_service *s = &cfg->nerve_services[i];
        struct nerve_instance *in = plan.from[i] == NERVE_PLAN_NEW ? NULL : n->inst[plan.from[i]];
        if (in && plan.change[i] == NERVE_SAME) {
            instance_node_clear(in); /* the same strings, borrowed from the new config */
            if (instance_node(n, in, s) < 0) rc = -1;
        } else if (in) {
            if (instance_update(n, in, s) < 0) rc = -1;
        } else if (!(in = instance_new(n, s)) || instance_watch(n, in) < 0) {
            log_error("nerve: service %s: cannot start it", s->name);
            instance_free(in);
            in = NULL;
            rc = -1;
        }
        if (in && plan.from[i] != NERVE_PLAN_NEW) n->inst[plan.from[i]] = NULL;
        next[i] = in;
    }
    /* Every instance is in next now (or freed). next stays parallel to
     * cfg's services: a service that could not start is NULL, and the
     * next reload tries it again. */
    for (size_t j = 0; j < n->ninst; j++)
        instance_free(n->inst[j]);
    free(n->inst);
    n->inst = next;
    n->ninst = cfg->nnerve_services;
    /* Reporters nobody reports through any more: their sessions close. */
    for (size_t r = 0; r < n->nreps; r++)
        n->reps[r]->used = false;
    for (size_t i = 0; i < n->ninst; i++)
        if (n->inst[i] && n->inst[i]->rep) n->inst[i]->rep->used = true;
    size_t kept = 0;
    for (size_t r = 0; r < n->nreps; r++) {
        if (n->reps[r]->used)
            n->reps[kept++] = n->reps[r];
        else
            reporter_free(n->reps[r]);
    }
    n->nreps = kept;
    if (!cfg->heartbeat_path && n->heartbeat_timer) {
        loop_timer_cancel(n->loop, n->heartbeat_timer);
        n->heartbeat_timer = 0;
    } else if (cfg->heartbeat_path && !n->heartbeat_timer) {
        heartbeat(n);
    }
    counts->added = plan.added;
    counts->removed = plan.removed_n;
    counts->updated = plan.updated;
    counts->unchanged = plan.unchanged;
    nerve_plan_clear(&plan);
    return rc;
}

void nerve_services_free(struct nerve_services *n)
{
    if (!n) return;
    if (n->heartbeat_timer) loop_timer_cancel(n->loop, n->heartbeat_timer);
    for (size_t i = 0; i < n->ninst; i++)
        instance_free(n->inst[i]);
    for (size_t i = 0; i < n->nreps; i++)
        reporter_free(n->reps[i]);
    free(n->reps);
    free(n->inst);
    free(n);
}
