/*
 * smartdock-registrator's config file (JSON), parsed once into plain structs.
 */
#ifndef SMARTDOCK_REG_CONFIG_H
#define SMARTDOCK_REG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"

enum registry_type { REGISTRY_ZOOKEEPER, REGISTRY_ETCD };

struct reg_service {
    char *name;           /* key in "services"; safe for a znode or key path */
    char *image_name;     /* image reference, validated with imageref_parse */
    int container_port;   /* 1..65535 */
    struct label *labels; /* all must equal the container's labels */
    size_t nlabels;
    int weight;                   /* BACKEND_WEIGHT_UNSET or 0..256 */
    char *haproxy_server_options; /* NULL or safe text */
    int drain_ms;                 /* >= 0, default 0 */
};

struct reg_config {
    char *docker_host;     /* NULL: $DOCKER_HOST, then the default socket */
    char *advertise_host;  /* required, valid host */
    int resync_interval_s; /* default 60 */
    enum registry_type registry_type;
    /* zookeeper */
    char **zk_hosts; /* "host:port" */
    size_t nzk_hosts;
    char *zk_path;             /* default "/smartdock/services", no trailing '/' */
    int zk_session_timeout_ms; /* default 10000 */
    char *zk_auth_file;        /* NULL: anonymous, nodes open to all */
    /* etcd */
    char **etcd_endpoints; /* "http://host:port" */
    size_t netcd_endpoints;
    char *etcd_prefix; /* default "/smartdock/services/", always ends in '/' */
    int etcd_ttl_s;    /* default 10 */
    char *etcd_username, *etcd_password;
    char *etcd_ca_file, *etcd_cert_file, *etcd_key_file;

    struct reg_service *services;
    size_t nservices;
};

/* Parses and validates. On error returns -1 with err like
 * `services.nodesrv.container_port: expected an integer 1..65535, got "abc"`.
 * Unknown keys are not errors: each is appended to *warnings (NULL-terminated
 * array the caller frees with reg_config_free_warnings), may be NULL. */
int reg_config_parse(const char *json, struct reg_config **out, char ***warnings, char *err,
                     size_t errlen);
int reg_config_load(const char *path, struct reg_config **out, char ***warnings, char *err,
                    size_t errlen);
void reg_config_free(struct reg_config *c);
void reg_config_free_warnings(char **warnings);

/* A name usable as one path component in ZooKeeper and etcd: [A-Za-z0-9._-]+, not "." or "..". */
bool reg_name_is_safe(const char *name);

#endif
