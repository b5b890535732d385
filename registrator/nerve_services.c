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
    struct reg_config cfg; /* synthetic, for registry_new */
    struct registry *registry;
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

struct nerve_services {
    struct loop *loop;
    const struct reg_config *cfg;
    struct reporter *reps;
    size_t nreps;
    struct nerve_instance *inst;
    size_t ninst;
    uint64_t heartbeat_timer;
};

static void reporter_clear(struct reporter *r)
{
    registry_free(r->registry);
    free(r->key);
    strlist_clear(&r->cfg.zk_hosts);
    free(r->cfg.zk_path);
    strlist_clear(&r->cfg.etcd_endpoints);
    free(r->cfg.etcd_prefix);
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

static struct reporter *reporter_for(struct nerve_services *n, const struct nerve_service *s)
{
    char *key = reporter_key(s);
    if (!key) return NULL;
    for (size_t i = 0; i < n->nreps; i++)
        if (!strcmp(n->reps[i].key, key)) {
            free(key);
            return &n->reps[i];
        }
    struct reporter *r = &n->reps[n->nreps++]; /* room for one per service */
    if (reporter_init(r, s, key) < 0) return NULL;
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

static int instance_init(struct nerve_services *n, struct nerve_instance *in,
                         const struct nerve_service *s)
{
    in->owner = n;
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

struct nerve_services *nerve_services_new(struct loop *l, const struct reg_config *cfg,
                                          FILE *dry_run)
{
    struct nerve_services *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->loop = l;
    n->cfg = cfg;
    size_t count = cfg->nnerve_services;
    if (count && (!(n->reps = calloc(count, sizeof *n->reps)) ||
                  !(n->inst = calloc(count, sizeof *n->inst))))
        goto fail;
    for (size_t i = 0; i < count; i++) {
        const struct nerve_service *s = &cfg->nerve_services[i];
        struct nerve_instance *in = &n->inst[n->ninst++];
        if (instance_init(n, in, s) < 0) goto fail;
        if (dry_run) {
            fprintf(dry_run, "{\"service\":\"%s\",\"path\":\"%s/%s_\",\"data\":%s}\n", s->name,
                    s->reporter == NERVE_REPORTER_ZOOKEEPER ? s->zk_path : s->etcd_path,
                    in->instance, in->payload);
            continue;
        }
        if (!(in->rep = reporter_for(n, s))) goto fail;
        if (!in->rep->registry &&
            !(in->rep->registry = registry_new(l, &in->rep->cfg, NULL, NULL))) {
            log_error("nerve: service %s: cannot create its %s reporter", s->name,
                      s->reporter == NERVE_REPORTER_ZOOKEEPER ? "zookeeper" : "etcd");
            goto fail;
        }
    }
    if (dry_run) return n;
    for (size_t i = 0; i < n->ninst; i++) {
        struct nerve_instance *in = &n->inst[i];
        const struct nerve_service *s = in->svc;
        log_info("nerve: watching %s %s:%d (%zu check%s, every %d ms) -> %s%s", s->name, s->host,
                 s->port, s->checks.n, s->checks.n == 1 ? "" : "s", s->check_interval_ms,
                 in->rep->key, s->check_mocked ? ", checks mocked" : "");
        if (s->check_mocked) {
            report(in, true);
            continue;
        }
        char what[600];
        snprintf(what, sizeof what, "%s %s:%d instance=%s", s->name, s->host, s->port,
                 cfg->instance_id);
        if (!(in->health = health_new(l, &s->checks, s->host, s->port, s->check_interval_ms, what,
                                      on_health, in)))
            goto fail;
    }
    if (cfg->heartbeat_path) heartbeat(n);
    return n;
fail:
    nerve_services_free(n);
    return NULL;
}

void nerve_services_free(struct nerve_services *n)
{
    if (!n) return;
    if (n->heartbeat_timer) loop_timer_cancel(n->loop, n->heartbeat_timer);
    for (size_t i = 0; i < n->ninst; i++) {
        struct nerve_instance *in = &n->inst[i];
        health_free(in->health);
        backend_clear(&in->reg.backend);
        free(in->payload);
        free(in->instance);
    }
    for (size_t i = 0; i < n->nreps; i++)
        reporter_clear(&n->reps[i]);
    free(n->reps);
    free(n->inst);
    free(n);
}
