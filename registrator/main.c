/* smartdock-registrator: Docker containers -> ephemeral registry entries. */
#include "control.h"
#include "log.h"
#include "loop.h"
#include "nerve_services.h"
#include "ops.h"
#include "reg_cli.h"
#include "reg_config.h"
#include "registrator.h"
#include "reload_status.h"

#include <arpa/inet.h>
#include <malloc.h>
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
          "       smartdock-registrator status [-c FILE] [--json]\n"
          "       smartdock-registrator drain [-c FILE] CONTAINER\n"
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
    /* SIGHUP: what the reload needs. The first config made the connections
     * and lives until exit; current is what matching uses. */
    const struct reg_cli *cli;
    struct daemon *d;
    struct reg_config *first, *current;
};

/* The hooks' view of the daemon: the registrator exists only after ops. */
struct daemon {
    struct registrator *r;
    struct ops *ops;
    struct nerve_services *ns;
};

static void on_ready(void *arg)
{
    struct daemon *d = arg;
    ops_ready(d->ops);
}

static char *status_json(void *arg)
{
    struct daemon *d = arg;
    return d->r ? registrator_status_json(d->r) : NULL;
}

static void summary(void *arg, char *buf, size_t len)
{
    struct daemon *d = arg;
    if (d->r) registrator_summary(d->r, buf, len);
}

/* "drain ID" */
static char *command(void *arg, const char *request)
{
    struct daemon *d = arg;
    if (!d->r || strncmp(request, "drain ", 6) != 0) return NULL;
    char msg[256];
    int rc = registrator_drain(d->r, request + 6, msg, sizeof msg);
    log_info("control: drain %.64s: %s", request + 6, msg);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", rc == 0);
    cJSON_AddStringToObject(o, rc == 0 ? "message" : "error", msg);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* The human view of `status`. */
static void print_status(const cJSON *s, FILE *out)
{
    fprintf(out, "smartdock-registrator %s: docker %s %s; %s %s%s\n", ops_str(s, "version"),
            ops_str(s, "docker"), ops_true(s, "docker_connected") ? "connected" : "DISCONNECTED",
            ops_str(s, "registry"),
            ops_true(s, "registry_connected") ? "connected" : "DISCONNECTED",
            ops_true(s, "first_sync_done") ? "" : "; first sync not done yet");
    char line[1024];
    reload_status_line(cJSON_GetObjectItemCaseSensitive(s, "last_reload"), line, sizeof line);
    if (*line) fprintf(out, "%s\n", line);
    fprintf(out, "%-12s  %-16s  %-21s  %-14s  %-15s  %-15s  %s\n", "CONTAINER", "SERVICE",
            "ADDRESS", "HEALTH", "CHECKS", "DRAIN", "REGISTRATION");
    const cJSON *c, *g;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s, "containers"))
    {
        const cJSON *regs = cJSON_GetObjectItemCaseSensitive(c, "registrations");
        if (cJSON_GetArraySize(regs) == 0)
            fprintf(out, "%-12s  %-16s  %-21s  %-14s  %-15s  %-15s  %s\n", ops_str(c, "container"),
                    "-", "-", ops_str(c, "health"), "-", ops_str(c, "drain"), "-");
        cJSON_ArrayForEach(g, regs)
        {
            /* a registration its checks hold back is not in the registry */
            fprintf(out, "%-12s  %-16s  %-21s  %-14s  %-15s  %-15s  %s%s\n",
                    ops_str(c, "container"), ops_str(g, "service"), ops_str(g, "address"),
                    ops_str(c, "health"), ops_str(g, "checks"), ops_str(c, "drain"),
                    ops_true(g, "in_registry") ? "" : "(withheld) ", ops_str(g, "path"));
        }
    }
}

static void print_message(const cJSON *s, FILE *out)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(s, "message");
    fprintf(out, "%s\n", cJSON_IsString(m) ? m->valuestring : "done");
}

/* `status [-c FILE] [--json]` and `drain [-c FILE] CONTAINER`. */
static int control_command(int argc, char **argv)
{
    const char *path = NULL, *container = NULL;
    bool json = false, drain = strcmp(argv[1], "drain") == 0;
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (drain && !container && argv[i][0] != '-')
            container = argv[i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (drain && !container) {
        usage(stderr);
        return 2;
    }
    char *socket_path = control_default_path("registrator", false);
    if (path) {
        log_init("registrator", LL_WARN);
        struct reg_config *cfg = NULL;
        char err[512];
        if (reg_config_load_partial(path, &cfg, NULL, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err); /* it names the file */
            free(socket_path);
            return 2;
        }
        if (cfg->daemon.control_socket) {
            free(socket_path);
            socket_path = strdup(cfg->daemon.control_socket);
        }
        reg_config_free(cfg);
    }
    char request[300];
    snprintf(request, sizeof request, "%s%s%.200s", drain ? "drain" : "status", drain ? " " : "",
             drain ? container : "");
    int rc = socket_path
                 ? ops_client(socket_path, request, json, drain ? print_message : print_status)
                 : 1;
    free(socket_path);
    return rc;
}

static struct reg_config *load_config(const struct reg_cli *cli, char *err, size_t errlen);

/* SIGHUP: the file read again and the command line applied over it; the
 * registrator applies only the difference. One log line either way (the
 * registrator's once its resync is over). */
static void refuse(struct shutdown *s, const char *error)
{
    log_error("SIGHUP: reload refused, the running config is kept: %s", error);
    if (s->d->r) registrator_reload_refused(s->d->r, error);
}

static void reload(struct shutdown *s)
{
    char err[1024];
    struct registrator *r = s->d->r;
    if (!s->cli->config_path) {
        refuse(s, "no config file (-c); nothing to read again");
        return;
    }
    struct reg_config *cfg = load_config(s->cli, err, sizeof err);
    if (!cfg) {
        refuse(s, err);
        return;
    }
    if (!reg_config_same_connections(s->first, cfg)) {
        snprintf(err, sizeof err, "%s: docker.host or the registry changed, which needs a restart",
                 s->cli->config_path);
        refuse(s, err);
        reg_config_free(cfg);
        return;
    }
    /* Nerve's services apply at once; the containers' part once the
     * registrator's resync is over, with one line for both. */
    struct nerve_reload_counts nc = {0};
    if (!s->d->ns && cfg->nnerve_services) {
        if (!(s->d->ns = nerve_services_new(s->loop, cfg, NULL)))
            log_error("SIGHUP: nerve services could not be started");
        nc.added = (unsigned)cfg->nnerve_services;
    } else if (s->d->ns && nerve_services_reload(s->d->ns, cfg, &nc) < 0) {
        log_error("SIGHUP: some nerve services could not be started (see above)");
    }
    const struct registration_counts nerve = {nc.added, nc.removed, nc.updated, nc.unchanged};
    if (r)
        registrator_reload(r, cfg, &nerve);
    else
        log_info("SIGHUP: reload applied: %u registered, %u withdrawn, %u updated in place, %u "
                 "unchanged (nerve services)",
                 nc.added, nc.removed, nc.updated, nc.unchanged);
    /* What the old config lent is no longer borrowed by anyone. */
    if (s->current != s->first) reg_config_free(s->current);
    s->current = cfg;
}

static void on_signal(void *arg, int signo)
{
    struct shutdown *s = arg;
    if (signo == SIGTERM || signo == SIGINT) {
        s->signo = signo;
        loop_stop(s->loop);
    } else if (signo == SIGHUP) {
        reload(s);
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
    /* One malloc arena for every thread: libzookeeper_mt's two threads
     * otherwise get arenas of their own, each keeping its peak (the target
     * is 500 containers in 12 MiB). Buffers of 128 KiB and more (a
     * container list of a busy host) are mapped and unmapped: glibc's
     * threshold otherwise rises with the largest one freed, and the heap
     * keeps the space. */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    if (argc >= 2 && (strcmp(argv[1], "status") == 0 || strcmp(argv[1], "drain") == 0))
        return control_command(argc, argv);
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
    log_set_format(cfg->daemon.log_format);
    if (cli.check) {
        printf("%s: valid\n", cli.config_path ? cli.config_path : cli.registry_uri);
        reg_config_free(cfg);
        return 0;
    }

    struct loop *loop = loop_new();
    if (!loop) return 1;
    struct daemon d = {NULL, NULL, NULL};
    struct shutdown sd = {.loop = loop, .cli = &cli, .d = &d, .first = cfg, .current = cfg};
    loop_on_signal(loop, on_signal, &sd);
    if (!cli.once) {
        struct ops_hooks hooks = {status_json, command, summary, &d};
        char *sock = cfg->daemon.control_socket ? strdup(cfg->daemon.control_socket)
                                                : control_default_path("registrator", true);
        d.ops = ops_new(loop, "registrator", &cfg->daemon, sock, &hooks);
        free(sock);
        if (!d.ops) {
            loop_free(loop);
            reg_config_free(cfg);
            return 1;
        }
    }
    struct registrator_opts opts = {.once = cli.once,
                                    .dry_run = cli.dry_run ? stdout : NULL,
                                    .on_ready = on_ready,
                                    .ready_arg = &d,
                                    .metrics = ops_metrics(d.ops)};
    /* Nerve's services and the Docker follower share the loop. */
    if (cfg->nnerve_services && !(d.ns = nerve_services_new(loop, cfg, opts.dry_run))) goto fail;
    if (cfg->follows_docker && !(d.r = registrator_new(loop, cfg, &opts))) goto fail;
    /* Nerve's services alone have no first sync to wait for. */
    if (!d.r) ops_ready(d.ops);
    if (d.r || !cli.once) loop_run(loop);
    int status = d.r && (cli.once || registrator_gave_up(d.r)) ? registrator_status(d.r) : 0;
    if (sd.signo) log_info("signal %d: withdrawing every registration and exiting", sd.signo);
    ops_stopping(d.ops);
    struct registrator *r = d.r;
    d.r = NULL;
    registrator_free(r);
    nerve_services_free(d.ns);
    loop_run_posts(loop);
    ops_free(d.ops);
    loop_free(loop);
    if (sd.current != cfg) reg_config_free(sd.current);
    reg_config_free(cfg);
    return status;
fail:
    nerve_services_free(d.ns);
    ops_free(d.ops);
    loop_run_posts(loop);
    loop_free(loop);
    reg_config_free(cfg);
    return 1;
}
