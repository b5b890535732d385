/*
 * The pure half of discovery "docker": whether a container is one of the
 * service's backends, and at which address.
 */
#include "docker_discovery_backend.h"

#include "imageref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOCKET_ONLY_HOST "127.0.0.1"

static bool label_is_safe(const struct label *l)
{
    return l->key && l->value && backend_text_is_safe(l->key) && backend_text_is_safe(l->value);
}

size_t docker_discovery_skipped_labels(const struct docker_container *c, char *buf, size_t buflen)
{
    size_t n = 0, used = 0;
    if (buflen) buf[0] = '\0';
    for (size_t i = 0; i < c->nlabels; i++) {
        const struct label *l = &c->labels[i];
        if (label_is_safe(l)) continue;
        n++;
        const char *key = l->key ? l->key : "";
        if (n > 1 && used + 2 < buflen) {
            memcpy(buf + used, ", ", 2);
            used += 2;
        }
        for (const unsigned char *p = (const unsigned char *)key; *p && used + 1 < buflen; p++)
            buf[used++] = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
        if (buflen) buf[used < buflen ? used : buflen - 1] = '\0';
    }
    return n;
}

enum docker_discovery_verdict docker_discovery_backend(const struct syn_discovery *d,
                                                       const struct syn_docker_server *srv,
                                                       const struct docker_container *c,
                                                       struct backend *out, char *why,
                                                       size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (!c->image || !imageref_match(d->image_name, c->image)) {
        snprintf(why, whylen, "image %.100s is not %.100s", c->image ? c->image : "(none)",
                 d->image_name);
        return DOCKER_DISCOVERY_OTHER_IMAGE;
    }
    if (!docker_container_ready(c, why, whylen)) return DOCKER_DISCOVERY_NOT_READY;
    const char *host = srv->host ? srv->host : SOCKET_ONLY_HOST;
    /* Host-network containers on one engine share its addresses: one that
     * listens on an address of its own (127.0.0.2, ...) says so by label. */
    const char *own = docker_container_label(c, DOCKER_DISCOVERY_HOST_LABEL);
    if (c->host_network && own) {
        if (!backend_host_is_valid(own)) {
            int n =
                snprintf(why, whylen, "label %s: expected a hostname or IP address, got \"%.80s\"",
                         DOCKER_DISCOVERY_HOST_LABEL, own);
            for (int i = 0; i < n && (size_t)i < whylen && why[i]; i++)
                if ((unsigned char)why[i] < 0x20) why[i] = '?';
            return DOCKER_DISCOVERY_UNUSABLE;
        }
        host = own;
    }
    int port = docker_container_host_port(c, d->container_port, host);
    if (port < 0) {
        if (c->host_network)
            snprintf(why, whylen, "host network, and port %d is not among its exposed ports",
                     d->container_port);
        else
            snprintf(why, whylen, "port %d/tcp is not published", d->container_port);
        return DOCKER_DISCOVERY_UNUSABLE;
    }

    size_t n = strlen(srv->name) + 14;
    char *raw = malloc(n);
    if (raw) snprintf(raw, n, "%s_%.12s", srv->name, c->id);
    out->name = raw ? backend_server_name_dup(raw) : NULL;
    free(raw);
    out->host = strdup(host);
    out->port = port;
    out->weight = BACKEND_WEIGHT_UNSET;
    out->source = strdup(c->id);
    out->container_id = strdup(c->id);
    bool ok = out->name && out->host && out->source && out->container_id;
    for (size_t i = 0; ok && i < c->nlabels; i++)
        if (label_is_safe(&c->labels[i]))
            ok = backend_set_label(out, c->labels[i].key, c->labels[i].value) == 0;
    if (!ok) {
        backend_clear(out);
        snprintf(why, whylen, "out of memory");
        return DOCKER_DISCOVERY_NOMEM;
    }
    return DOCKER_DISCOVERY_BACKEND;
}
