/*
 * Synapse's generator_config_path: a service's haproxy settings published in
 * ZooKeeper, as the data of the znode the key names (Synapse's default is
 * the service's path; here it must be named). The data is a JSON object keyed by generator,
 * {"haproxy": {"port": 3213, "server_options": "check inter 2s", ...}}.
 * As in Synapse 0.18.9, a published "haproxy" object replaces the config
 * file's services.<name>.haproxy as a whole (keys it leaves out take their
 * defaults, not the file's values), and empty data changes nothing.
 *
 * The data comes from whoever may write the znode, so it is checked harder
 * than the file: the same parser as the file's (syn_parse_service_haproxy),
 * then an allow-list of keys, the allowed_server_options policy on
 * server_options, and no line that reaches files, the environment, Lua,
 * external commands, the stats admin or server lines of its own. Anything
 * refused leaves the settings in effect as they are.
 *
 * Pure: no I/O, no globals.
 */
#ifndef SMARTDOCK_GENERATOR_CONFIG_H
#define SMARTDOCK_GENERATOR_CONFIG_H

#include <stddef.h>

#include "server_options.h"
#include "strlist.h"
#include "syn_config.h"

enum generator_config_result {
    GENERATOR_CONFIG_NONE,    /* nothing to apply: keep what is in effect */
    GENERATOR_CONFIG_NEW,     /* *out holds the settings to use */
    GENERATOR_CONFIG_REFUSED, /* err says why; keep what is in effect */
};

/*
 * Decodes the data (len bytes, may be 0) of znode for service (both name
 * it in messages). file is the service's settings from the config file:
 * its backend_name is kept (a backend's name is what the runtime API, the
 * state file and server ids key on, so it comes from the file only).
 * policy: haproxy.allowed_server_options (NULL: the default list).
 *
 * NEW: *out is filled (the caller clears it with syn_service_haproxy_clear)
 * and *fingerprint is the published object as compact JSON (caller frees),
 * equal for equal settings. NONE and REFUSED leave both untouched; REFUSED
 * writes one sentence into err naming the znode, the field and the value.
 * Warnings (unknown keys, generators other than haproxy) are appended to
 * warnings (may be NULL), each naming the znode.
 */
enum generator_config_result
generator_config_decode(const char *service, const char *znode, const char *data, size_t len,
                        const struct syn_service_haproxy *file,
                        const struct server_options_policy *policy, struct syn_service_haproxy *out,
                        char **fingerprint, struct strlist *warnings, char *err, size_t errlen);

/*
 * 0 when line (one line of frontend, backend, listen or shared_frontend, or
 * bind_options) may come from a registry; else -1 with why a sentence
 * naming the offending word.
 */
int generator_config_line_check(const char *line, char *why, size_t whylen);

#endif
