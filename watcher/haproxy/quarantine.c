#include "quarantine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *quarantine_key(const struct backend *b)
{
    char *key = NULL;
    if (asprintf(&key, "%s\n%s:%d\n%s", b->source ? b->source : "", b->host ? b->host : "", b->port,
                 b->haproxy_server_options ? b->haproxy_server_options : "") < 0)
        return NULL;
    return key;
}

static const struct syn_service *service_of(const struct syn_config *cfg, const char *section,
                                            size_t *index)
{
    for (size_t i = 0; i < cfg->nservices; i++) {
        const struct syn_service *s = &cfg->services[i];
        const char *name = s->haproxy.backend_name ? s->haproxy.backend_name : s->name;
        if (!s->haproxy.disabled && strcmp(name, section) == 0) {
            *index = i;
            return s;
        }
    }
    return NULL;
}

/* Does the rendered name (maybe suffixed "-2"...) come from b's name? */
static bool name_matches(const struct backend *b, const char *rendered)
{
    char *base = backend_server_name_dup(b->name);
    bool same = base && strncmp(rendered, base, strlen(base)) == 0 &&
                (rendered[strlen(base)] == 0 || rendered[strlen(base)] == '-');
    free(base);
    return same;
}

int quarantine_match(const struct syn_config *cfg, const struct backend_list *current,
                     const struct blamed_list *blamed, struct quarantine_hit **out, size_t *n,
                     size_t *unmatched)
{
    *out = NULL;
    *n = 0;
    *unmatched = 0;
    if (blamed->n == 0) return 0;
    struct quarantine_hit *v = calloc(blamed->n, sizeof *v);
    if (!v) return -1;
    for (size_t i = 0; i < blamed->n; i++) {
        const struct blamed_server *bl = &blamed->v[i];
        size_t si;
        const struct syn_service *svc = service_of(cfg, bl->section, &si);
        const struct backend *found = NULL;
        size_t at = 0;
        for (size_t j = 0; svc && j < current[si].n; j++) {
            const struct backend *b = &current[si].v[j];
            int port = svc->backend_port_override ? svc->backend_port_override : b->port;
            if (port != bl->port || strcmp(b->host, bl->host) != 0) continue;
            /* with backend_port_override several share an address: the name tells */
            bool named = name_matches(b, bl->name);
            if (!found || named) {
                found = b;
                at = j;
            }
            if (named) break;
        }
        if (!found || !found->haproxy_server_options) {
            (*unmatched)++;
            continue;
        }
        v[(*n)++] = (struct quarantine_hit){si, at, bl->message};
    }
    *out = v;
    return 0;
}
