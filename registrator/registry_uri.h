/*
 * The registry as gliderlabs/registrator takes it on its command line:
 *   zookeeper://host:port[,host:port]/path
 *   etcd://host:port[,host:port]/prefix      (etcd+https:// for TLS)
 * Pure: text in, plain struct out, or an error naming the part and value.
 */
#ifndef SMARTDOCK_REGISTRY_URI_H
#define SMARTDOCK_REGISTRY_URI_H

#include <stddef.h>

#include "reg_config.h"
#include "strlist.h"

struct registry_uri {
    enum registry_type type;
    /* zookeeper: "host:port"; etcd: "http://host:port" or "https://host:port".
     * A missing port is 2181 (zookeeper) or 2379 (etcd); no host at all is
     * 127.0.0.1. */
    struct strlist hosts;
    /* zookeeper: "/a/b", no trailing '/'; etcd: "/a/b/", always ending in
     * '/'. NULL when the URI names none (the config's default applies). */
    char *path;
};

int registry_uri_parse(const char *uri, struct registry_uri *out, char *err, size_t errlen);
void registry_uri_clear(struct registry_uri *u);

#endif
