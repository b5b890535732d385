/*
 * The keys both daemons take for operating them, whatever their config
 * format: "log_format", "metrics": {"listen": "127.0.0.1:9300"} and
 * "control_socket". Parsed from the config's top-level object.
 */
#ifndef SMARTDOCK_DAEMON_CONFIG_H
#define SMARTDOCK_DAEMON_CONFIG_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "log.h"

struct daemon_config {
    enum log_format log_format; /* default text */
    char *metrics_listen;       /* "address:port" (IPv4, or [IPv6]); NULL: no metrics */
    char *control_socket;       /* absolute path; NULL: the daemon's default */
};

/* The top-level keys this module owns, NULL-terminated. */
extern const char *const DAEMON_CONFIG_KEYS[];

/* Reads the keys from root. On error returns -1 and err names the path and
 * the value (`metrics.listen: expected "address:port", got "x"`); *out is
 * then cleared. */
int daemon_config_parse(const cJSON *root, struct daemon_config *out, char *err, size_t errlen);
void daemon_config_clear(struct daemon_config *c);

/* Pure: splits "127.0.0.1:9300" or "[::1]:9300" into a numeric address and
 * a port 1..65535; -1 when it is anything else. */
int daemon_config_split_listen(const char *s, char *addr, size_t addrlen, int *port);

#endif
