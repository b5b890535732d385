/*
 * The watcher's configuration: Airbnb Synapse's format (YAML or JSON), parsed once into
 * plain structs the watcher reads and never consulted as JSON again.
 *
 * Pure: no globals; only syn_config_load touches the file system.
 *
 * Errors name the JSON path and the offending value, e.g.
 *   services.nodesrv.haproxy.port: expected an integer 1..65535, got "abc"
 * Unknown keys and translated HAProxy < 2.1 keywords are not errors: they end
 * up in cfg->warnings, which the caller logs once each.
 */
#ifndef SMARTDOCK_SYN_CONFIG_H
#define SMARTDOCK_SYN_CONFIG_H

#include "daemon_config.h"
#include <stdbool.h>
#include <stddef.h>

#include "server_options.h"
#include "strlist.h"
#include "syn_config_discovery.h"

/* A default server (Synapse's default_servers entries). */
struct syn_server {
    char *name; /* defaults to host:port */
    char *host;
    int port;
};

enum syn_port_mode {
    SYN_PORT_NONE, /* key absent: backend only, no frontend (like Synapse) */
    SYN_PORT_NULL, /* "port": null: bind to bind_address alone (a unix socket) */
    SYN_PORT_SET,
};

enum syn_backend_order {
    SYN_ORDER_SORTED,     /* key absent: sorted by server name (smartdock's default) */
    SYN_ORDER_ASC,        /* the same as SORTED, as Synapse's "asc" */
    SYN_ORDER_DESC,       /* reverse of SORTED */
    SYN_ORDER_NO_SHUFFLE, /* the order discovery supplied */
    SYN_ORDER_SHUFFLE,    /* any other string: sorted, then permuted by server_order_seed */
};

/* services.<name>.haproxy.cookie_value_method */
enum syn_cookie_value {
    SYN_COOKIE_NAME, /* the server name (Synapse's default and any unknown value) */
    SYN_COOKIE_HASH, /* the SHA-1 of the server name, in hex */
};

/* services.<name>.haproxy */
struct syn_service_haproxy {
    bool disabled;
    enum syn_port_mode port_mode;
    int port;             /* valid when port_mode == SYN_PORT_SET */
    char *bind_address;   /* NULL: the top-level bind_address */
    char *bind_options;   /* NULL when absent */
    char *server_options; /* NULL when absent; %{host} %{port} %{name} are templated */
    struct strlist frontend, backend, listen, shared_frontend;
    char *backend_name; /* never NULL: defaults to the service name */
    enum syn_backend_order backend_order;
    enum syn_cookie_value cookie_value_method;
};

struct syn_service {
    char *name;
    /* The service's JSON as parsed, printed compactly: two services with
     * the same fingerprint are configured identically (a reload keeps it). */
    char *fingerprint;
    struct syn_discovery discovery;
    struct syn_service_haproxy haproxy;
    struct syn_server *default_servers;
    size_t ndefault_servers;
    bool keep_default_servers;  /* default false */
    bool use_previous_backends; /* default true */
    int backend_port_override;  /* 0 when unset */
    bool file_output_disabled;  /* file_output.disabled: no <name>.json for it */
    /* leader_election: serve only the backend whose ZooKeeper child has the
     * lowest sequence id (Synapse's "id"); default false */
    bool leader_election;
};

struct syn_extra_section {
    char *header; /* "frontend stats", "listen foo", ... */
    struct strlist lines;
};

/* The top-level "haproxy" object. */
struct syn_haproxy {
    char *config_file_path;
    char *reload_command;
    char *check_command;
    char *candidate_config_file_path; /* default config_file_path + ".tmp" */
    bool do_writes;                   /* default true */
    bool do_reloads;                  /* default true */
    bool do_checks;                   /* default false */
    bool do_socket;                   /* default true when socket_file_path is set */
    struct strlist global, defaults, shared_frontend;
    struct syn_extra_section *extra_sections; /* in file order */
    size_t nextra_sections;
    char *bind_address;          /* default "localhost" */
    double restart_interval;     /* seconds, default 2 */
    double restart_jitter;       /* fraction of restart_interval, default 0 */
    struct strlist socket_files; /* socket_file_path: a string or a list */
    char *state_file_path;       /* NULL when unset */
    int state_file_ttl;          /* seconds, default 86400 */
    unsigned server_order_seed;  /* for backend_order "shuffle"; default 0 */
    /* use_nerve_weights (top level only, as Synapse reads it): a registry's
     * weight is rendered, last, and "weight N" leaves server_options and
     * haproxy_server_options. Unset: a registry's weight is not rendered. */
    bool use_nerve_weights;
    int max_server_id; /* server ids are 1..max_server_id; default 65535 */
    /* smartdock extensions */
    char *haproxy_binary;    /* default "haproxy" */
    bool managed;            /* smartdock runs haproxy itself; default false */
    bool safe_http_defaults; /* redispatch/retries/retry-on for mode http; default true */
    int drain_timeout_ms;    /* longest wait for a removed server's sessions; default 10000 */
    /* allowed_server_options: the keywords a registry's haproxy_server_options
     * may use; NULL means server_options' default list. */
    struct server_options_policy *allowed_server_options;
    /* max_servers_per_service: discovered servers beyond it are left out
     * (the last created first); default 10000 */
    int max_servers_per_service;
};

struct syn_config {
    struct syn_service *services; /* file order, then service_conf_dir files by name */
    size_t nservices;
    bool has_haproxy; /* a top-level "haproxy" object was given */
    struct syn_haproxy haproxy;
    char *file_output_directory; /* file_output.output_directory, or NULL */
    char *service_conf_dir;      /* as written, or NULL */
    struct strlist warnings;     /* one sentence each; log them once */
    struct daemon_config daemon; /* log_format, metrics, control_socket */
};

/*
 * Parses a Synapse config held in json. On success returns 0 and *out (free
 * with syn_config_free). On failure returns -1, *out is NULL and err holds one
 * sentence naming the JSON path and the value. service_conf_dir is recorded
 * but not read: that is syn_config_load's job.
 */
int syn_config_parse(const char *json, struct syn_config **out, char *err, size_t errlen);

/*
 * Reads the file at path, parses it, and merges service_conf_dir: every
 * <name>.json there is one service's config (a later file replaces a service
 * of the same name, with a warning). A relative service_conf_dir is taken from
 * the current directory, as Synapse does. Files are read in name order.
 */
int syn_config_load(const char *path, struct syn_config **out, char *err, size_t errlen);

void syn_config_free(struct syn_config *cfg);

/*
 * Parses obj as services.<service>.haproxy (path names it in messages; obj
 * NULL or null: the defaults) into *h, which the caller clears with
 * syn_service_haproxy_clear, also on failure. backend_name defaults to
 * service. *server_port_override gets the deprecated key's value, 0 when
 * absent. The config file's services and the settings a registry publishes
 * (generator_config.h) both go through it.
 */
int syn_parse_service_haproxy(struct json_ctx *c, const struct cJSON *obj, const char *path,
                              const char *service, struct syn_service_haproxy *h,
                              int *server_port_override);
void syn_service_haproxy_clear(struct syn_service_haproxy *h);

/* Borrowed service by name, or NULL. */
const struct syn_service *syn_config_service(const struct syn_config *cfg, const char *name);

#endif
