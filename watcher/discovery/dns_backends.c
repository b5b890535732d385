#include "dns_backends.h"

#include "dns_resolver.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One looked-up name and its last good answer. */
struct dns_name {
    char *name;
    struct strlist addrs; /* sorted, unique; empty until a good answer */
    bool failing;         /* the last answer failed (logged once) */
};

struct dns_backends {
    char *service;
    struct backend_list targets;
    struct dns_name *names;
    size_t nnames;
};

struct dns_backends *dns_backends_new(const char *service)
{
    struct dns_backends *db = calloc(1, sizeof *db);
    if (!db || !(db->service = strdup(service))) {
        free(db);
        return NULL;
    }
    return db;
}

static void name_clear(struct dns_name *n)
{
    free(n->name);
    strlist_clear(&n->addrs);
}

void dns_backends_free(struct dns_backends *db)
{
    if (!db) return;
    backend_list_clear(&db->targets);
    for (size_t i = 0; i < db->nnames; i++)
        name_clear(&db->names[i]);
    free(db->names);
    free(db->service);
    free(db);
}

static struct dns_name *find_name(const struct dns_backends *db, const char *name)
{
    for (size_t i = 0; i < db->nnames; i++)
        if (db->names[i].name && strcmp(db->names[i].name, name) == 0) return &db->names[i];
    return NULL;
}

static bool targets_use(const struct backend_list *targets, const char *name)
{
    for (size_t i = 0; i < targets->n; i++)
        if (strcmp(targets->v[i].host, name) == 0) return true;
    return false;
}

int dns_backends_set_targets(struct dns_backends *db, const struct backend_list *targets)
{
    struct backend_list copy = {0};
    struct dns_name *names = calloc(targets->n ? targets->n : 1, sizeof *names);
    if (!names || backend_list_copy(&copy, targets) < 0) {
        free(names);
        return -1;
    }
    /* The new name table: answers of names still targeted move over. */
    size_t n = 0;
    for (size_t i = 0; i < copy.n; i++) {
        const char *host = copy.v[i].host;
        bool seen = dns_is_ip_address(host);
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(names[j].name, host) == 0;
        if (seen) continue;
        struct dns_name *old = find_name(db, host);
        if (old) {
            names[n] = *old;
            old->name = NULL; /* moved */
            memset(&old->addrs, 0, sizeof old->addrs);
        } else if (!(names[n].name = strdup(host))) {
            for (size_t j = 0; j < n; j++)
                name_clear(&names[j]);
            free(names);
            backend_list_clear(&copy);
            return -1; /* moved answers are lost; the next round asks again */
        }
        n++;
    }
    for (size_t i = 0; i < db->nnames; i++)
        name_clear(&db->names[i]);
    free(db->names);
    db->names = names;
    db->nnames = n;
    backend_list_clear(&db->targets);
    db->targets = copy;
    return 0;
}

int dns_backends_names(const struct dns_backends *db, struct strlist *out)
{
    for (size_t i = 0; i < db->nnames; i++)
        if (strlist_push(out, db->names[i].name) < 0) return -1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool same_addrs(const struct strlist *a, const struct strlist *b)
{
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0) return false;
    return true;
}

bool dns_backends_answer(struct dns_backends *db, const char *name, bool ok,
                         const char *const *addrs, size_t naddrs, const char *why)
{
    struct dns_name *n = find_name(db, name);
    if (!n || !targets_use(&db->targets, name)) return false;
    struct strlist fresh = {0};
    for (size_t i = 0; ok && i < naddrs; i++) {
        if (!dns_is_ip_address(addrs[i]) || strlist_contains(&fresh, addrs[i])) continue;
        if (strlist_push(&fresh, addrs[i]) < 0) {
            strlist_clear(&fresh);
            log_error("service %s: out of memory keeping the answer for %s", db->service, name);
            return false;
        }
    }
    if (fresh.n == 0) {
        if (!n->failing)
            log_warn("service %s: cannot resolve %s (%s); keeping its last answer (%zu addresses)",
                     db->service, name, ok ? "no usable addresses" : why, n->addrs.n);
        n->failing = true;
        return false;
    }
    if (n->failing) log_info("service %s: %s resolves again", db->service, name);
    n->failing = false;
    qsort(fresh.v, fresh.n, sizeof *fresh.v, cmp_str);
    bool changed = !same_addrs(&fresh, &n->addrs);
    if (changed) log_info("service %s: %s now has %zu addresses", db->service, name, fresh.n);
    strlist_clear(&n->addrs);
    n->addrs = fresh;
    return changed;
}

/* One backend: t at address addr. */
static int push_backend(struct backend_list *out, const struct backend *t, const char *addr)
{
    struct backend b = {0};
    b.weight = BACKEND_WEIGHT_UNSET;
    b.port = t->port;
    b.host = strdup(addr);
    if (t->name && *t->name)
        b.name = strdup(t->name);
    else if (asprintf(&b.name, "%s:%d", addr, t->port) < 0)
        b.name = NULL;
    if (t->source) b.source = strdup(t->source);
    bool ok = b.host && b.name && (!t->source || b.source);
    for (size_t i = 0; ok && i < t->nlabels; i++)
        ok = backend_set_label(&b, t->labels[i].key, t->labels[i].value) == 0;
    if (!ok || backend_list_push(out, &b) < 0) {
        backend_clear(&b);
        return -1;
    }
    return 0;
}

int dns_backends_build(const struct dns_backends *db, struct backend_list *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < db->targets.n; i++) {
        const struct backend *t = &db->targets.v[i];
        int r = 0;
        if (dns_is_ip_address(t->host)) {
            r = push_backend(out, t, t->host);
        } else {
            const struct dns_name *n = find_name(db, t->host);
            for (size_t j = 0; n && r == 0 && j < n->addrs.n; j++)
                r = push_backend(out, t, n->addrs.v[j]);
        }
        if (r < 0) {
            backend_list_clear(out);
            return -1;
        }
    }
    return 0;
}
