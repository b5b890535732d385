/*
 * Nerve's services: the entries of a nerve.conf.json (or of its
 * service_conf_dir) that name a host and port to check and report, rather
 * than containers to follow. Parsed with Nerve's keys and defaults. Pure,
 * except nerve_conf_dir_parse, which reads the directory.
 */
#ifndef SMARTDOCK_NERVE_CONFIG_H
#define SMARTDOCK_NERVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "check_config.h"
#include "conf_json.h"
#include "strlist.h"

enum nerve_reporter { NERVE_REPORTER_ZOOKEEPER, NERVE_REPORTER_ETCD };

/* ZooKeeper node types, Nerve's names. */
enum nerve_node_type {
    NERVE_NODE_EPHEMERAL_SEQUENTIAL, /* Nerve's default */
    NERVE_NODE_EPHEMERAL,
    NERVE_NODE_PERSISTENT,
    NERVE_NODE_PERSISTENT_SEQUENTIAL,
};

struct nerve_service {
    char *name;
    char *host; /* reported, and the checks' default host */
    int port;
    enum nerve_reporter reporter;
    /* zookeeper */
    struct strlist zk_hosts; /* sorted, as Nerve pools one connection per sorted list */
    char *zk_path;           /* the directory the node is created in, no trailing '/' */
    enum nerve_node_type node_type;
    bool use_path_encoding;
    int ttl_seconds; /* 0: never touch the node */
    /* etcd */
    char *etcd_host;
    int etcd_port;   /* Nerve's default 4003 */
    char *etcd_path; /* default "/" */

    int check_interval_ms;
    struct check_list checks;
    bool check_mocked; /* always up, checks never run (Nerve's load-test switch) */
    int weight;        /* BACKEND_WEIGHT_UNSET or 0..256 */
    char *haproxy_server_options;
    struct label *labels;
    size_t nlabels;
};

/* True when svc has the shape of a Nerve service (host, port or reporter_type). */
bool nerve_service_shape(const cJSON *svc);
/* svc (named name) at path ("services.web") into out. */
int nerve_service_parse(struct conf_ctx *p, const cJSON *svc, const char *name, const char *path,
                        struct nerve_service *out);
void nerve_service_clear(struct nerve_service *s);
/* Every "*.json" in dir, sorted, parsed as one service named by its basename;
 * appended to *v / *n. Errors start with the file's path. */
int nerve_conf_dir_parse(struct conf_ctx *p, const char *dir, struct nerve_service **v, size_t *n);

/*
 * The node for s: the Nerve JSON payload ({"host","port","name":
 * instance_id,"weight","haproxy_server_options","labels"}, only the keys
 * that are set) and the child name's prefix before ZooKeeper's sequence
 * number: "<instance_id>_", or with use_path_encoding
 * "base64_<len>_<urlsafe base64 of the payload>_" (unless that is over 64 KiB,
 * as Nerve). Both malloc'd; 0 or -1 on ENOMEM.
 */
int nerve_node(const struct nerve_service *s, const char *instance_id, char **payload,
               char **child_prefix);
/* The backend Nerve reports for s (copies). */
int nerve_backend(const struct nerve_service *s, const char *instance_id, struct backend *out);

/* What a SIGHUP does to a Nerve service that keeps its name. */
enum nerve_change {
    NERVE_SAME,    /* nothing: its node, session and checks carry on */
    NERVE_UPDATED, /* same node; payload, checks or ttl differ: written in place */
    NERVE_MOVED,   /* the node is elsewhere (reporter, path, node type, name): withdrawn
                      there and registered anew */
};

/* How b (of instance_id ib) differs from a (of ia). 0, or -1 on ENOMEM. */
int nerve_service_compare(const struct nerve_service *a, const char *ia,
                          const struct nerve_service *b, const char *ib, enum nerve_change *out);

/* The difference between two lists of Nerve services, matched by name. */
#define NERVE_PLAN_NEW ((size_t)-1)
struct nerve_plan {
    size_t *from;              /* per new service: the old one's index, or NERVE_PLAN_NEW */
    enum nerve_change *change; /* per new service with an old one */
    bool *removed;             /* per old service: no new service carries its node on */
    unsigned added, removed_n, updated,
        unchanged; /* a moved service counts in added and removed_n */
};
int nerve_plan_make(const struct nerve_service *old, size_t nold, const char *old_id,
                    const struct nerve_service *want, size_t nwant, const char *want_id,
                    struct nerve_plan *out);
void nerve_plan_clear(struct nerve_plan *p);

#endif
