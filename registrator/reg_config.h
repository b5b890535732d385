/*
 * smartdock-registrator's config file (JSON), parsed once into plain structs.
 */
#ifndef SMARTDOCK_REG_CONFIG_H
#define SMARTDOCK_REG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "check_config.h"
#include "daemon_config.h"
#include "nerve_config.h"
#include "strlist.h"

enum registry_type { REGISTRY_ZOOKEEPER, REGISTRY_ETCD };

/* Which services a container may join with its smartdock.service label. */
enum label_registration {
    LABEL_REGISTRATION_UNCONFIGURED, /* default: only services the config does not define */
    LABEL_REGISTRATION_ANY,          /* any service, configured ones included */
    LABEL_REGISTRATION_OFF,          /* none: only the config registers */
};
/* registrator's -deregister: withdraw on every exit, or only on a clean
 * one (exit code 0 or a signal). */
enum deregister_mode { DEREGISTER_ALWAYS, DEREGISTER_ON_SUCCESS };

struct reg_service {
    char *name;           /* key in "services"; safe for a znode or key path */
    char *image_name;     /* image reference, validated with imageref_parse */
    int container_port;   /* 1..65535 */
    struct label *labels; /* all must equal the container's labels */
    size_t nlabels;
    int weight;                   /* BACKEND_WEIGHT_UNSET or 0..256 */
    char *haproxy_server_options; /* NULL or safe text */
    int drain_ms;                 /* >= 0, default 0 */
    struct check_list checks;     /* Nerve's check keys; empty: registered while running */
    int check_interval_ms;        /* default 500 */
};

struct reg_config {
    char *docker_host;     /* NULL: $DOCKER_HOST, then the default socket */
    char *advertise_host;  /* required, valid host */
    int resync_interval_s; /* default 60 */
    enum label_registration label_registration;
    enum registry_type registry_type;
    /* zookeeper */
    struct strlist zk_hosts;   /* "host:port" */
    char *zk_path;             /* default "/smartdock/services", no trailing '/' */
    int zk_session_timeout_ms; /* default 10000 */
    char *zk_auth_file;        /* NULL: anonymous, nodes open to all */
    /* etcd */
    struct strlist etcd_endpoints; /* "http://host:port" */
    char *etcd_prefix;             /* default "/smartdock/services/", always ends in '/' */
    int etcd_ttl_s;                /* default 10 */
    char *etcd_username, *etcd_password;
    char *etcd_ca_file, *etcd_cert_file, *etcd_key_file;

    struct reg_service *services;
    size_t nservices;

    struct daemon_config daemon; /* log_format, metrics, control_socket */

    /* Docker is followed unless the file is a Nerve config without a
     * "registry" section (then only its Nerve services run). */
    bool follows_docker;
    /* Nerve's config (recognised by "instance_id" at the top) */
    char *instance_id;
    char *heartbeat_path; /* touched every second while the loop runs; NULL: none */
    int max_repeated_report_failures;
    struct nerve_service *nerve_services;
    size_t nnerve_services;

    /* gliderlabs/registrator's behaviour (its flags, or these file keys). */
    bool explicit_only;   /* "explicit": no zero-config registration; file default true */
    bool internal;        /* "internal": the container's own IP and exposed port */
    char *ip_from_label;  /* "use_ip_from_label": a label holding the address; NULL */
    char *force_tags;     /* "tags": appended to every registration's tags; NULL */
    int etcd_keepalive_s; /* -ttl-refresh; 0: ttl_s / 3 */
    enum deregister_mode deregister;
    int retry_attempts;    /* -retry-attempts: -1 forever (default), else give up after N */
    int retry_interval_ms; /* -retry-interval, default 2000 */
};

/* Parses and validates. On error returns -1 with err like
 * `services.nodesrv.container_port: expected an integer 1..65535, got "abc"`.
 * Unknown keys are not errors: each is appended to *warnings (NULL-terminated
 * array the caller frees with reg_config_free_warnings), may be NULL. */
int reg_config_parse(const char *json, struct reg_config **out, char ***warnings, char *err,
                     size_t errlen);
/* As reg_config_parse on the file at path; err starts with path. */
int reg_config_load(const char *path, struct reg_config **out, char ***warnings, char *err,
                    size_t errlen);
void reg_config_free(struct reg_config *c);

/* A config with every default and no registry or advertise_host yet, for a
 * command line without -c. explicit_only is false, as registrator's. */
struct reg_config *reg_config_new(void);
/* As reg_config_load, but "registry" and "advertise_host" may be missing:
 * the command line supplies them (then check with reg_config_complete). */
int reg_config_load_partial(const char *path, struct reg_config **out, char ***warnings, char *err,
                            size_t errlen);
/* -1 with err when something required is still missing. */
int reg_config_complete(const struct reg_config *c, char *err, size_t errlen);
/* Whether both reach the same Docker engine and registry the same way
 * (what a SIGHUP cannot change without a restart). */
bool reg_config_same_connections(const struct reg_config *a, const struct reg_config *b);
void reg_config_free_warnings(char **warnings);

/* A name usable as one path component in ZooKeeper and etcd: [A-Za-z0-9._-]+, not "." or "..". */
bool reg_name_is_safe(const char *name);

#endif
