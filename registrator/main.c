/* smartdock-registrator: Docker containers -> ephemeral registry entries. */
#include "log.h"
#include "loop.h"
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

struct shutdown {
    struct loop *loop;
    int signo;
};

static void on_signal(void *arg, int signo)
{
    struct shutdown *s = arg;
    if (signo == SIGTERM || signo == SIGINT) {
        s->signo = signo;
        loop_stop(s->loop);
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

/* The config file (if any) with the command line applied over it. NULL
 * after logging why. */
static struct reg_config *load_config(const struct reg_cli *cli)
{
    struct reg_config *cfg = NULL;
    char **warnings = NULL, err[1024];
    const char *what = cli->config_path ? cli->config_path : "command line";
    /* A file alone must be complete; with a URI or -ip it may leave those out. */
    bool partial = cli->registry_uri || cli->ip;
    int rc = !cli->config_path ? ((cfg = reg_config_new()) ? 0 : -1)
             : partial ? reg_config_load_partial(cli->config_path, &cfg, &warnings, err, sizeof err)
                       : reg_config_load(cli->config_path, &cfg, &warnings, err, sizeof err);
    if (rc < 0) {
        log_error("%s", cli->config_path ? err : "out of memory");
        return NULL;
    }
    for (char **w = warnings; w && *w; w++)
        log_warn("%s: %s", what, *w);
    reg_config_free_warnings(warnings);
    if (reg_cli_apply(cli, cfg, &warnings, err, sizeof err) < 0) {
        log_error("%s", err);
        reg_config_free(cfg);
        return NULL;
    }
    for (char **w = warnings; w && *w; w++)
        log_warn("%s", *w);
    reg_config_free_warnings(warnings);
    if (!cfg->advertise_host && advertise_from_hostname(cfg) < 0) {
        log_error("advertise_host: required (the config key or -ip); the hostname does not "
                  "resolve");
        reg_config_free(cfg);
        return NULL;
    }
    if (reg_config_complete(cfg, err, sizeof err) < 0) {
        log_error("%s: %s", what, err);
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

    struct reg_config *cfg = load_config(&cli);
    if (!cfg) return 2;
    if (cli.check) {
        printf("%s: valid\n", cli.config_path ? cli.config_path : cli.registry_uri);
        reg_config_free(cfg);
        return 0;
    }

    srand((unsigned)time(NULL) ^ (unsigned)getpid()); /* reconnect jitter differs per host */
    struct loop *loop = loop_new();
    if (!loop) return 1;
    struct shutdown sd = {loop, 0};
    loop_on_signal(loop, on_signal, &sd);
    struct registrator_opts opts = {.once = cli.once, .dry_run = cli.dry_run ? stdout : NULL};
    struct registrator *r = registrator_new(loop, cfg, &opts);
    if (!r) {
        loop_free(loop);
        reg_config_free(cfg);
        return 1;
    }
    loop_run(loop);
    int status = cli.once ? registrator_status(r) : 0;
    if (sd.signo) log_info("signal %d: withdrawing every registration and exiting", sd.signo);
    registrator_free(r);
    loop_run_posts(loop);
    loop_free(loop);
    reg_config_free(cfg);
    return status;
}
