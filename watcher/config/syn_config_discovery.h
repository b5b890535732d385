/*
 * services.<name>.discovery of a Synapse config: the method and its options,
 * parsed into plain fields by syn_config_discovery.c with errors that name
 * the JSON path. Part of syn_config (syn_config.h includes it).
 */
#ifndef SMARTDOCK_SYN_CONFIG_DISCOVERY_H
#define SMARTDOCK_SYN_CONFIG_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "strlist.h"

struct cJSON;
struct json_ctx;

enum syn_discovery_method {
    SYN_DISCOVERY_BASE, /* default_servers only */
    SYN_DISCOVERY_ZOOKEEPER,
    SYN_DISCOVERY_DOCKER,
    SYN_DISCOVERY_ETCD,
    SYN_DISCOVERY_DNS,           /* "dns": servers' names re-resolved */
    SYN_DISCOVERY_ZOOKEEPER_DNS, /* "zookeeper_dns(_poll)": ZooKeeper names, re-resolved */
    SYN_DISCOVERY_MULTI,         /* Synapse's multi watcher: child discoveries and a resolver */
};

/* zookeeper's decode.method: how a child's data becomes a backend. */
enum syn_decode { SYN_DECODE_NERVE, SYN_DECODE_SERVERSET };

/* multi's resolver.method. */
enum syn_resolver { SYN_RESOLVER_UNION, SYN_RESOLVER_SEQUENTIAL };

struct syn_multi_watcher;

enum syn_label_condition { SYN_LABEL_EQUALS, SYN_LABEL_NOT_EQUALS };

struct syn_label_filter {
    char *label;
    char *value;
    enum syn_label_condition condition;
};

#define SYN_DOCKER_DEFAULT_PORT 4243
#define SYN_ETCD_DEFAULT_PORT 4003
#define SYN_DNS_DEFAULT_CHECK_INTERVAL 30.0  /* Synapse's dns and zookeeper_dns */
#define SYN_ZK_DEFAULT_POLLING_INTERVAL 60.0 /* Synapse's zookeeper_poll */
#define SYN_ZK_DEFAULT_SESSION_TIMEOUT_MS 10000
#define SYN_ZK_MAX_DISCOVERY_JITTER                                                                \
    120.0 /* Synapse ignores larger ones, with a warning */ /* Synapse's default for a "hosts"     \
                                                               entry without a port */

struct syn_docker_server {
    char *name;   /* defaults to host, or to socket */
    char *host;   /* NULL when only socket is given */
    int port;     /* default SYN_DOCKER_DEFAULT_PORT */
    char *socket; /* smartdock extension: unix socket path, or NULL */
};

struct syn_discovery {
    char *method; /* as written */
    enum syn_discovery_method kind;

    /* zookeeper and etcd */
    char *path; /* starts with '/' */
    /* zookeeper: "host:port" strings, at least one */
    struct strlist hosts;
    /* zookeeper: a "user:password" file for the digest scheme; NULL reads anonymously */
    char *auth_file;
    char *zk_chroot; /* "/chroot" from a "host:port/chroot" entry, or NULL */
    /* zookeeper family: zookeeper_poll and zookeeper_dns_poll read on a
     * timer instead of setting watches */
    bool zk_poll;
    double polling_interval;   /* seconds, default 60; 0 polls every 0.5 s as Synapse */
    double discovery_jitter;   /* seconds, 0..120; 0: off */
    int zk_session_timeout_ms; /* default SYN_ZK_DEFAULT_SESSION_TIMEOUT_MS */
    /* dns; zookeeper_dns(_poll) use nameservers and check_interval */
    /* dns: servers as backend templates: host (a name or an IP address),
     * port, name (NULL: "<address>:<port>") and labels */
    struct backend_list dns_servers;
    struct strlist nameservers; /* "ip" or "ip:port"; empty: the system's */
    /* docker */
    struct syn_docker_server *servers;
    size_t nservers;
    char *image_name;
    int container_port;    /* 1..65535 */
    double check_interval; /* seconds: docker 15, dns methods 30 */
    /* etcd: URLs ("http://host:port"); Synapse's "hosts" are turned into these */
    struct strlist endpoints;
    /* etcd: non-empty or NULL; username/password and cert_file/key_file in pairs */
    char *etcd_username, *etcd_password;
    char *etcd_ca_file, *etcd_cert_file, *etcd_key_file;

    /* zookeeper: decode {method, endpoint_name} */
    enum syn_decode decode;
    char *endpoint_name; /* serverset: an additionalEndpoints key; NULL: serviceEndpoint */
    /* zookeeper methods: the znode whose data holds the service's published
     * haproxy settings; NULL reads none (Synapse reads the data of path);
     * "generator_config_path": "disabled" sets generator_config_disabled. */
    char *generator_config_path;
    bool generator_config_disabled;

    /* multi: the child discoveries, in sequential_order for the sequential
     * resolver, else in file order; discovery_multi's "primary" among them. */
    struct syn_multi_watcher *watchers;
    size_t nwatchers;
    enum syn_resolver resolver;

    /* any method; Synapse's deprecated singular "label_filter" is merged in */
    struct syn_label_filter *label_filters;
    size_t nlabel_filters;
};

struct syn_multi_watcher {
    char *name;
    struct syn_discovery discovery; /* never SYN_DISCOVERY_MULTI or _BASE */
};

/* For syn_config.c: parses the discovery object at path into out; -1 after
 * writing the error into c. */
int syn_parse_discovery(struct json_ctx *c, const struct cJSON *obj, const char *path,
                        struct syn_discovery *out);
/* For syn_config.c: Synapse's discovery_multi ({watchers, resolver[, method]})
 * with the service's discovery as its watcher "primary": replaces *d, parsed
 * already from primary, with the multi discovery built from both. */
int syn_parse_discovery_multi(struct json_ctx *c, const struct cJSON *multi, const char *path,
                              const char *primary_path, struct syn_discovery *d);
void syn_discovery_clear(struct syn_discovery *d);

#endif
