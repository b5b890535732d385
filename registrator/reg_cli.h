/*
 * smartdock-registrator's command line, which takes gliderlabs/registrator's
 * (`[options] <registry-uri>`, single-dash long flags, Go's flag syntax)
 * beside its own. Parsing is pure; applying the result onto a config is
 * too, so both are unit-tested without a daemon.
 */
#ifndef SMARTDOCK_REG_CLI_H
#define SMARTDOCK_REG_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "reg_config.h"

#define REG_CLI_UNSET (-0x7fffffff)

struct reg_cli {
    /* smartdock's own */
    const char *config_path; /* -c FILE; NULL without */
    bool once, dry_run, check, verbose, version, help;
    /* the positional registry URI; NULL without */
    const char *registry_uri;
    /* registrator's; NULL or REG_CLI_UNSET when not given. Borrowed from argv. */
    const char *ip, *ip_from_label, *tags, *deregister;
    int internal, explicit_only, cleanup; /* -1 not given, else 0 or 1 */
    int resync_s, ttl_s, ttl_refresh_s, retry_attempts, retry_interval_ms;
};

/* Parses argv (getopt state is reset first). -1 with err on a bad flag or
 * value, naming it. Options must come before the URI, as in registrator. */
int reg_cli_parse(int argc, char **argv, struct reg_cli *out, char *err, size_t errlen);

/*
 * Applies the flags and the URI onto cfg (from a file, or reg_config_new):
 * a given flag replaces the file's value; the URI replaces the file's
 * registry section. Flags that smartdock accepts but does not need (-cleanup,
 * -ttl with ZooKeeper...) add a sentence to *warnings (NULL-terminated,
 * free with reg_config_free_warnings; may be NULL). -1 with err on a value
 * that cannot be used.
 */
int reg_cli_apply(const struct reg_cli *cli, struct reg_config *cfg, char ***warnings, char *err,
                  size_t errlen);

#endif
