/*
 * SERVICE_* metadata, resolved the way gliderlabs/registrator resolves it
 * (facts from its bridge/util.go; the code is ours).
 */
#include "service_meta.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "SERVICE_"

static struct service_meta_entry *find(const struct service_meta *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].key, key)) return &m->v[i];
    return NULL;
}

static char *lowercase_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* One KEY=value entry, env or label. Later calls override earlier ones,
 * except that a generic key never overrides a per-port one. */
static int apply(struct service_meta *m, size_t cap, const char *name, const char *value,
                 const char *port)
{
    if (strncmp(name, PREFIX, strlen(PREFIX)) || !name[strlen(PREFIX)]) return 0;
    char *key = lowercase_dup(name + strlen(PREFIX));
    if (!key) return -1;
    const char *sub = key;
    bool from_port = false;
    size_t digits = strspn(key, "0123456789");
    if (digits > 0 && key[digits] == '_' && key[digits + 1]) {
        if (strncmp(key, port, digits) || port[digits]) {
            free(key);
            return 0; /* another port's */
        }
        sub = key + digits + 1;
        from_port = true;
    }
    struct service_meta_entry *e = find(m, sub);
    if (e && e->from_port && !from_port) {
        free(key);
        return 0;
    }
    if (!e) {
        if (m->n == cap) {
            free(key);
            return -1;
        }
        e = &m->v[m->n++];
        if (!(e->key = strdup(sub))) {
            m->n--;
            free(key);
            return -1;
        }
    }
    e->value = value;
    e->from_port = from_port;
    free(key);
    return 0;
}

int service_meta_read(const struct docker_container *c, int port, struct service_meta *out)
{
    char portstr[16];
    size_t cap = c->nenv + c->nlabels;
    memset(out, 0, sizeof *out);
    snprintf(portstr, sizeof portstr, "%d", port);
    if (!cap) return 0;
    if (!(out->v = calloc(cap, sizeof *out->v))) return -1;
    for (size_t i = 0; i < c->nenv; i++)
        if (apply(out, cap, c->env[i].key, c->env[i].value, portstr) < 0) goto fail;
    for (size_t i = 0; i < c->nlabels; i++)
        if (apply(out, cap, c->labels[i].key, c->labels[i].value, portstr) < 0) goto fail;
    return 0;
fail:
    service_meta_clear(out);
    return -1;
}

void service_meta_clear(struct service_meta *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].key);
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

const char *service_meta_get(const struct service_meta *m, const char *key)
{
    const struct service_meta_entry *e = find(m, key);
    return e && *e->value ? e->value : NULL;
}

bool service_meta_from_port(const struct service_meta *m, const char *key)
{
    const struct service_meta_entry *e = find(m, key);
    return e && e->from_port;
}

bool service_meta_ignored(const struct service_meta *m)
{
    return service_meta_get(m, "ignore") != NULL;
}

bool service_meta_is_attr(const char *key)
{
    static const char *const reserved[] = {"name", "id", "tags", "ignore", NULL};
    for (const char *const *r = reserved; *r; r++)
        if (!strcmp(key, *r)) return false;
    return true;
}
