/*
 * registrator's flags onto smartdock's config model. The flag set and its
 * checks are registrator's (registrator.go, docs/user/run.md); what each
 * flag becomes here is documented in README.md.
 */
#include "reg_cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "conf_json.h"
#include "registry_uri.h"

enum {
    OPT_ONCE = 256,
    OPT_DRY_RUN,
    OPT_CHECK,
    OPT_VERSION,
    OPT_IP,
    OPT_INTERNAL,
    OPT_EXPLICIT,
    OPT_IP_LABEL,
    OPT_TAGS,
    OPT_RESYNC,
    OPT_TTL,
    OPT_TTL_REFRESH,
    OPT_DEREGISTER,
    OPT_CLEANUP,
    OPT_RETRY_ATTEMPTS,
    OPT_RETRY_INTERVAL,
};

#define failf conf_errorf

/* Go's flag package: a boolean flag alone is true, or -flag=VALUE with
 * 1/0/t/f/true/false in any case. */
static int parse_bool(const char *flag, const char *v, int *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"1", "t", "true", NULL}, *const no[] = {"0", "f", "false",
                                                                              NULL};
    if (!v) {
        *out = 1;
        return 0;
    }
    for (int i = 0; yes[i]; i++)
        if (!strcasecmp(v, yes[i])) return *out = 1, 0;
    for (int i = 0; no[i]; i++)
        if (!strcasecmp(v, no[i])) return *out = 0, 0;
    return failf(err, errlen, "-%s: expected true or false, got \"%s\"", flag, v);
}

static int parse_int(const char *flag, const char *v, long lo, long hi, int *out, char *err,
                     size_t errlen)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi)
        return failf(err, errlen, "-%s: expected an integer %ld..%ld, got \"%s\"", flag, lo, hi, v);
    *out = (int)n;
    return 0;
}

int reg_cli_parse(int argc, char **argv, struct reg_cli *out, char *err, size_t errlen)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"once", no_argument, NULL, OPT_ONCE},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"check", no_argument, NULL, OPT_CHECK},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {"ip", required_argument, NULL, OPT_IP},
        {"internal", optional_argument, NULL, OPT_INTERNAL},
        {"explicit", optional_argument, NULL, OPT_EXPLICIT},
        {"useIpFromLabel", required_argument, NULL, OPT_IP_LABEL},
        {"tags", required_argument, NULL, OPT_TAGS},
        {"resync", required_argument, NULL, OPT_RESYNC},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"ttl-refresh", required_argument, NULL, OPT_TTL_REFRESH},
        {"deregister", required_argument, NULL, OPT_DEREGISTER},
        {"cleanup", optional_argument, NULL, OPT_CLEANUP},
        {"retry-attempts", required_argument, NULL, OPT_RETRY_ATTEMPTS},
        {"retry-interval", required_argument, NULL, OPT_RETRY_INTERVAL},
        {NULL, 0, NULL, 0}};
    memset(out, 0, sizeof *out);
    out->internal = out->explicit_only = out->cleanup = -1;
    out->resync_s = out->ttl_s = out->ttl_refresh_s = out->retry_attempts = out->retry_interval_ms =
        REG_CLI_UNSET;
    optind = 0; /* a full reset, so tests can parse again */
    opterr = 0;
    int ch, idx, rc = 0;
    /* '+': stop at the first non-option (the URI), like Go's flag package;
     * ':': a missing argument is reported as ':' rather than '?'. */
    while (rc == 0 && (ch = getopt_long_only(argc, argv, "+:c:vh", longopts, &idx)) != -1) {
        const char *name = ch >= OPT_ONCE ? longopts[idx].name : NULL;
        switch (ch) {
        case 'c':
            out->config_path = optarg;
            break;
        case 'v':
            out->verbose = true;
            break;
        case 'h':
            out->help = true;
            break;
        case OPT_ONCE:
            out->once = true;
            break;
        case OPT_DRY_RUN:
            out->dry_run = true;
            break;
        case OPT_CHECK:
            out->check = true;
            break;
        case OPT_VERSION:
            out->version = true;
            break;
        case OPT_IP:
            out->ip = optarg;
            break;
        case OPT_IP_LABEL:
            out->ip_from_label = optarg;
            break;
        case OPT_TAGS:
            out->tags = optarg;
            break;
        case OPT_DEREGISTER:
            out->deregister = optarg;
            break;
        case OPT_INTERNAL:
            rc = parse_bool(name, optarg, &out->internal, err, errlen);
            break;
        case OPT_EXPLICIT:
            rc = parse_bool(name, optarg, &out->explicit_only, err, errlen);
            break;
        case OPT_CLEANUP:
            rc = parse_bool(name, optarg, &out->cleanup, err, errlen);
            break;
        case OPT_RESYNC:
            rc = parse_int(name, optarg, 0, INT_MAX, &out->resync_s, err, errlen);
            break;
        case OPT_TTL:
            rc = parse_int(name, optarg, 0, 3600, &out->ttl_s, err, errlen);
            break;
        case OPT_TTL_REFRESH:
            rc = parse_int(name, optarg, 0, 3600, &out->ttl_refresh_s, err, errlen);
            break;
        case OPT_RETRY_ATTEMPTS:
            rc = parse_int(name, optarg, -1, INT_MAX, &out->retry_attempts, err, errlen);
            break;
        case OPT_RETRY_INTERVAL:
            rc = parse_int(name, optarg, 1, INT_MAX, &out->retry_interval_ms, err, errlen);
            break;
        case ':':
            rc = failf(err, errlen, "%s: needs a value", argv[optind - 1]);
            break;
        default:
            rc = failf(err, errlen, "unknown option %s", argv[optind - 1]);
            break;
        }
    }
    if (rc < 0) return -1;
    if (optind < argc) out->registry_uri = argv[optind++];
    if (optind < argc)
        return failf(err, errlen,
                     "extra arguments after the registry URI, from \"%s\" (options come before "
                     "the URI)",
                     argv[optind]);
    return 0;
}

struct warnings {
    char **v;
    size_t n;
};

static int warn(struct warnings *w, const char *msg)
{
    char **v = realloc(w->v, (w->n + 2) * sizeof *v);
    if (!v) return -1;
    w->v = v;
    if (!(v[w->n] = strdup(msg))) return -1;
    v[++w->n] = NULL;
    return 0;
}

static int replace(char **dst, const char *src)
{
    char *d = strdup(src);
    if (!d) return -1;
    free(*dst);
    *dst = d;
    return 0;
}

/* The URI's registry replaces the config's. Takes u's strings. */
static void take_registry(struct reg_config *cfg, struct registry_uri *u)
{
    bool zk = u->type == REGISTRY_ZOOKEEPER;
    struct strlist *hosts = zk ? &cfg->zk_hosts : &cfg->etcd_endpoints;
    char **path = zk ? &cfg->zk_path : &cfg->etcd_prefix;
    cfg->registry_type = u->type;
    strlist_clear(hosts);
    *hosts = u->hosts;
    u->hosts = (struct strlist){0};
    if (u->path) {
        free(*path);
        *path = u->path;
        u->path = NULL;
    }
}

static int apply(const struct reg_cli *cli, struct reg_config *cfg, struct warnings *w, char *err,
                 size_t errlen)
{
    if (cli->registry_uri) {
        struct registry_uri u;
        if (registry_uri_parse(cli->registry_uri, &u, err, errlen) < 0) return -1;
        take_registry(cfg, &u);
        registry_uri_clear(&u);
    }
    if (cli->ip) {
        if (!backend_host_is_valid(cli->ip))
            return failf(err, errlen, "-ip: expected an IP address or hostname, got \"%s\"",
                         cli->ip);
        if (replace(&cfg->advertise_host, cli->ip) < 0) return -1;
    }
    if (cli->internal >= 0) cfg->internal = cli->internal;
    if (cli->explicit_only >= 0) cfg->explicit_only = cli->explicit_only;
    if (cli->ip_from_label) {
        if (!*cli->ip_from_label || !backend_text_is_safe(cli->ip_from_label))
            return failf(err, errlen, "-useIpFromLabel: expected a label name, got \"%s\"",
                         cli->ip_from_label);
        if (replace(&cfg->ip_from_label, cli->ip_from_label) < 0) return -1;
    }
    if (cli->tags) {
        if (strstr(cli->tags, "{{"))
            return failf(err, errlen,
                         "-tags: Go templates are not supported, got \"%s\" (give the tags "
                         "themselves, comma-separated)",
                         cli->tags);
        if (!backend_text_is_safe(cli->tags))
            return failf(err, errlen, "-tags: control characters in \"%s\"", cli->tags);
        if (replace(&cfg->force_tags, cli->tags) < 0) return -1;
    }
    if (cli->resync_s != REG_CLI_UNSET) {
        if (cli->resync_s == 0) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "-resync 0 (never): smartdock keeps its full resync every %d s, which "
                     "re-registers nothing that is unchanged",
                     cfg->resync_interval_s);
            if (warn(w, msg) < 0) return -1;
        } else {
            cfg->resync_interval_s = cli->resync_s;
        }
    }
    bool has_ttl = cli->ttl_s != REG_CLI_UNSET && cli->ttl_s != 0;
    bool has_refresh = cli->ttl_refresh_s != REG_CLI_UNSET && cli->ttl_refresh_s != 0;
    if (has_ttl != has_refresh)
        return failf(err, errlen, "-ttl and -ttl-refresh must be specified together or not at all");
    if (has_ttl && cli->ttl_s <= cli->ttl_refresh_s)
        return failf(err, errlen, "-ttl must be greater than -ttl-refresh (got %d and %d)",
                     cli->ttl_s, cli->ttl_refresh_s);
    if (has_ttl && cfg->registry_type == REGISTRY_ZOOKEEPER) {
        if (warn(w, "-ttl/-ttl-refresh: ZooKeeper registrations are ephemeral znodes of the "
                    "session; ignored") < 0)
            return -1;
    } else if (has_ttl) {
        /* ttl > refresh >= 1, so the lease is at least the 2 s etcd_ttl_s allows. */
        cfg->etcd_ttl_s = cli->ttl_s;
        cfg->etcd_keepalive_s = cli->ttl_refresh_s;
    }
    if (cli->deregister) {
        if (!strcmp(cli->deregister, "always"))
            cfg->deregister = DEREGISTER_ALWAYS;
        else if (!strcmp(cli->deregister, "on-success"))
            cfg->deregister = DEREGISTER_ON_SUCCESS;
        else
            return failf(err, errlen,
                         "-deregister must be \"always\" or \"on-success\", got \"%s\"",
                         cli->deregister);
    }
    if (cli->cleanup == 1 &&
        warn(w, "-cleanup: always on (a registration left by an earlier run of this host is "
                "replaced when the container registers again)") < 0)
        return -1;
    if (cli->retry_attempts != REG_CLI_UNSET) cfg->retry_attempts = cli->retry_attempts;
    if (cli->retry_interval_ms != REG_CLI_UNSET) cfg->retry_interval_ms = cli->retry_interval_ms;
    return 0;
}

int reg_cli_apply(const struct reg_cli *cli, struct reg_config *cfg, char ***warnings, char *err,
                  size_t errlen)
{
    struct warnings w = {0};
    err[0] = '\0';
    int rc = apply(cli, cfg, &w, err, errlen);
    if (rc < 0 && !err[0]) snprintf(err, errlen, "out of memory");
    if (rc == 0 && !w.v && warn(&w, "") == 0) { /* an empty list is still a list */
        free(w.v[0]);
        w.v[0] = NULL;
        w.n = 0;
    }
    if (rc < 0 || !warnings) {
        reg_config_free_warnings(w.v);
        if (warnings) *warnings = NULL;
        return rc;
    }
    *warnings = w.v;
    return 0;
}
