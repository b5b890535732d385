/* smartdock-registrator: Docker containers -> ephemeral registry entries. */
#include "log.h"
#include "loop.h"
#include "nerve_services.h"
#include "reg_cli.h"
#include "reg_config.h"
#include "registrator.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: smartdock-registrator [options] [<registry-uri>]\n"
          "  -c, --config FILE  config file (JSON); optional with a registry URI\n"
          "  --check            validate the config and exit (0 valid, 2 invalid)\n"
          "  --once             resynchronise once and exit\n"
          "  --dry-run          print what would be registered as JSON lines; register nothing\n"
          "  -v, --verbose      debug logging\n"
          "registry URI: zookeeper://host:port[,host:port]/path, etcd://host:port/prefix,\n"
          "  etcd+https://host:port/prefix\n"
          "gliderlabs/registrator's options (they win over the config file):\n"
          "  -ip ADDR  -internal  -explicit  -useIpFromLabel LABEL  -tags a,b  -resync SECONDS\n"
          "  -ttl SECONDS -ttl-refresh SECONDS (etcd lease)  -deregister always|on-success\n"
          "  -cleanup  -retry-attempts N  -retry-interval MS\n",
          out);
}

struct daemon {
    struct loop *loop;
    int signo;
    const struct reg_cli *cli;
    struct registrator *r;
    /* The first config made the connections and lives until exit; the
     * current one is what matching uses (the same until a reload). */
    struct reg_config *first, *current;
};

static struct reg_config *load_config(const struct reg_cli *cli, char *err, size_t errlen);

/* SIGHUP: the file read again and the command line applied over it; the
 * registrator applies only the difference. One log line either way (the
 * registrator's once its resync is over). */
static void reload(struct daemon *d)
{
    char err[1024];
    if (!d->cli->config_path || !d->r) {
        log_info("SIGHUP: reload: %s", !d->r ? "only Nerve services run, and they are applied at "
                                               "start only (restart to change them)"
                                             : "no config file (-c); nothing to read again");
        return;
    }
    struct reg_config *cfg = load_config(d->cli, err, sizeof err);
    if (!cfg) {
        log_error("SIGHUP: reload refused, the running config is kept: %s", err);
        return;
    }
    if (!reg_config_same_connections(d->first, cfg)) {
        log_error("SIGHUP: reload refused, the running config is kept: %s: docker.host or the "
                  "registry changed, which needs a restart",
                  d->cli->config_path);
        reg_config_free(cfg);
        return;
    }
    registrator_reload(d->r, cfg);
    if (d->current != d->first) reg_config_free(d->current);
    d->current = cfg;
}

static void on_signal(void *arg, int signo)
{
    struct daemon *d = arg;
    if (signo == SIGTERM || signo == SIGINT) {
        d->signo = signo;
        loop_stop(d->loop);
    } else if (signo == SIGHUP) {
        reload(d);
    }
}

/* registrator's fallback without -ip: the address this host's name
 * resolves to (IPv4 first). 0 and a log line, or -1. */
static int advertise_from_hostname(struct reg_config *cfg)
{
    char name[256] = "", addr[INET6_ADDRSTRLEN] = "";
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (gethostname(name, sizeof name - 1) < 0 || getaddrinfo(name, NULL, &hints, &res) != 0)
        return -1;
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    const void *src = pick->ai_family == AF_INET
                          ? (const void *)&((struct sockaddr_in *)pick->ai_addr)->sin_addr
                          : (const void *)&((struct sockaddr_in6 *)pick->ai_addr)->sin6_addr;
    int ok = inet_ntop(pick->ai_family, src, addr, sizeof addr) != NULL;
    freeaddrinfo(res);
    if (!ok || !(cfg->advertise_host = strdup(addr))) return -1;
    log_warn("advertise_host: %s, resolved from the hostname %s (give -ip to choose)", addr, name);
    return 0;
}

/* The config file (if any) with the command line applied over it; NULL
 * with err saying why. Warnings are logged. */
static struct reg_config *load_config(const struct reg_cli *cli, char *err, size_t errlen)
{
    struct reg_config *cfg = NULL;
    char **warnings = NULL;
    const char *what = cli->config_path ? cli->config_path : "command line";
    /* A file alone must be complete; with a URI or -ip it may leave those out. */
    bool partial = cli->registry_uri || cli->ip;
    int rc = !cli->config_path ? ((cfg = reg_config_new()) ? 0 : -1)
             : partial ? reg_config_load_partial(cli->config_path, &cfg, &warnings, err, errlen)
                       : reg_config_load(cli->config_path, &cfg, &warnings, err, errlen);
    if (rc < 0) {
        if (!cli->config_path) snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (char **w = warnings; w && *w; w++)
        log_warn("%s: %s", what, *w);
    reg_config_free_warnings(warnings);
    if (reg_cli_apply(cli, cfg, &warnings, err, errlen) < 0) {
        reg_config_free(cfg);
        return NULL;
    }
    for (char **w = warnings; w && *w; w++)
        log_warn("%s", *w);
    reg_config_free_warnings(warnings);
    if (cfg->follows_docker && !cfg->advertise_host && advertise_from_hostname(cfg) < 0) {
        snprintf(err, errlen,
                 "advertise_host: required (the config key or -ip); the hostname does not "
                 "resolve");
        reg_config_free(cfg);
        return NULL;
    }
    char inner[512];
    if (reg_config_complete(cfg, inner, sizeof inner) < 0) {
        snprintf(err, errlen, "%s: %s", what, inner);
        reg_config_free(cfg);
        return NULL;
    }
    return cfg;
}

int main(int argc, char **argv)
{
    struct reg_cli cli;
    char err[512];
    if (reg_cli_parse(argc, argv, &cli, err, sizeof err) < 0) {
        fprintf(stderr, "smartdock-registrator: %s\n", err);
        usage(stderr);
        return 2;
    }
    if (cli.version) {
        puts("smartdock-registrator " SMARTDOCK_VERSION);
        return 0;
    }
    if (cli.help) {
        usage(stdout);
        return 0;
    }
    if (!cli.config_path && !cli.registry_uri) {
        fputs("smartdock-registrator: a registry URI or -c FILE is needed\n", stderr);
        usage(stderr);
        return 2;
    }
    log_init("registrator", cli.verbose ? LL_DEBUG : LL_INFO);

    char lerr[1024];
    struct reg_config *cfg = load_config(&cli, lerr, sizeof lerr);
    if (!cfg) {
        log_error("%s", lerr);
        return 2;
    }
    if (cli.check) {
        printf("%s: valid\n", cli.config_path ? cli.config_path : cli.registry_uri);
        reg_config_free(cfg);
        return 0;
    }

    struct loop *loop = loop_new();
    if (!loop) return 1;
    struct daemon d = {.loop = loop, .cli = &cli, .first = cfg, .current = cfg};
    loop_on_signal(loop, on_signal, &d);
    struct registrator_opts opts = {.once = cli.once, .dry_run = cli.dry_run ? stdout : NULL};
    /* Nerve's services and the Docker follower share the loop. */
    struct nerve_services *ns = NULL;
    struct registrator *r = NULL;
    if (cfg->nnerve_services && !(ns = nerve_services_new(loop, cfg, opts.dry_run))) goto fail;
    if (cfg->follows_docker && !(r = registrator_new(loop, cfg, &opts))) goto fail;
    d.r = r;
    if (r || !cli.once) loop_run(loop);
    int status = cli.once && r ? registrator_status(r) : 0;
    if (d.signo) log_info("signal %d: withdrawing every registration and exiting", d.signo);
    registrator_free(r);
    nerve_services_free(ns);
    loop_run_posts(loop);
    loop_free(loop);
    if (d.current != cfg) reg_config_free(d.current);
    reg_config_free(cfg);
    return status;
fail:
    nerve_services_free(ns);
    loop_run_posts(loop);
    loop_free(loop);
    reg_config_free(cfg);
    return 1;
}
