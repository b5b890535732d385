/* smartdock-watcher: registries -> HAProxy, with Synapse's config format. */
#include "control.h"
#include "haproxy_managed.h"
#include "haproxy_runtime.h"
#include "log.h"
#include "loop.h"
#include "ops.h"
#include "reload_status.h"
#include "syn_config.h"
#include "watcher.h"

#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: smartdock-watcher -c FILE [--check] [--once] [-v] [--version] [--help]\n"
          "       smartdock-watcher status -c FILE [--json]\n"
          "       smartdock-watcher --cli SOCKET COMMAND\n"
          "       smartdock-watcher --master-reload SOCKET\n"
          "  -c, --config FILE  Synapse config file (YAML or JSON); default $SYNAPSE_CONFIG\n"
          "  --check            validate the config and exit (0 valid, 2 invalid)\n"
          "  --once             discover once, apply haproxy.cfg once, exit\n"
          "  -v, --verbose      debug logging\n"
          "  --cli SOCKET CMD   send one command to an HAProxy CLI socket, print the answer\n"
          "  --master-reload S  reload HAProxy through its master CLI S and wait for the new\n"
          "                     worker (managed mode's reload command); exit 0 when reloaded\n"
          "                     or no master runs, 1 when the reload failed\n",
          out);
}

struct ctx {
    struct loop *loop;
    struct watcher *watcher;
    struct ops *ops;
    int signo;
    const char *path;
    /* Every config loaded by SIGHUP: kept discoveries borrow their service
     * from the config they started with, so all live until exit. */
    struct syn_config **configs;
    size_t nconfigs;
};

/* SIGHUP: read the file again; a config that does not validate, or moves
 * what needs a restart, is refused and the running state kept. One line. */
/* A load error as one line naming the file once: most of syn_config_load's
 * messages start with path already (a YAML file's "path:line: "). */
static void config_error_line(const char *path, const char *err, char *out, size_t outlen)
{
    if (strncmp(err, path, strlen(path)) == 0)
        snprintf(out, outlen, "%s", err);
    else
        snprintf(out, outlen, "%s: %s", path, err);
}

static void reload(struct ctx *c)
{
    struct syn_config *cfg = NULL;
    char err[512];
    if (syn_config_load(c->path, &cfg, err, sizeof err) < 0) {
        char line[1100];
        config_error_line(c->path, err, line, sizeof line);
        log_error("SIGHUP: reload refused, the running config is kept: %s", line);
        watcher_reload_refused(c->watcher, line);
        return;
    }
    struct syn_config **v = realloc(c->configs, (c->nconfigs + 1) * sizeof *v);
    if (!v) {
        syn_config_free(cfg);
        log_error("SIGHUP: reload refused, the running config is kept: out of memory");
        watcher_reload_refused(c->watcher, "out of memory");
        return;
    }
    c->configs = v;
    if (watcher_reload(c->watcher, cfg, err, sizeof err) < 0) {
        log_error("SIGHUP: reload refused, the running config is kept: %s: %s", c->path, err);
        syn_config_free(cfg);
        return;
    }
    for (size_t i = 0; i < cfg->warnings.n; i++)
        log_warn("%s: %s", c->path, cfg->warnings.v[i]);
    c->configs[c->nconfigs++] = cfg;
}

static void on_signal(void *arg, int signo)
{
    struct ctx *c = arg;
    if (signo == SIGCHLD) {
        pid_t pid;
        int status;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            if (!c->watcher || !watcher_child_exited(c->watcher, pid, status))
                log_debug("reaped process %d", (int)pid);
    } else if (signo == SIGTERM || signo == SIGINT) {
        c->signo = signo;
        loop_stop(c->loop);
    } else if (signo == SIGHUP && c->watcher) {
        reload(c);
    }
}

static void on_ready(void *arg)
{
    struct ctx *c = arg;
    ops_ready(c->ops);
}

static char *status_json(void *arg)
{
    struct ctx *c = arg;
    return c->watcher ? watcher_status_json(c->watcher) : NULL;
}

static void summary(void *arg, char *buf, size_t len)
{
    struct ctx *c = arg;
    if (c->watcher) watcher_summary(c->watcher, buf, len);
}

/* The control socket's default: beside haproxy.cfg, else as the
 * registrator's (control_default_path; server: the daemon's side). */
static char *control_path(const struct syn_config *cfg, bool server)
{
    char *p = NULL;
    if (cfg->daemon.control_socket) return strdup(cfg->daemon.control_socket);
    if (cfg->has_haproxy && cfg->haproxy.config_file_path &&
        asprintf(&p, "%s.control.sock", cfg->haproxy.config_file_path) >= 0)
        return p;
    return control_default_path("watcher", server);
}

/* The human view of `status`. */
static void print_status(const cJSON *s, FILE *out)
{
    fprintf(
        out, "smartdock-watcher %s: registry %s; %.0f haproxy reloads, %.0f runtime changes%s%s\n",
        ops_str(s, "version"), ops_true(s, "registry_connected") ? "connected" : "DISCONNECTED",
        cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "haproxy_reloads")),
        cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "runtime_changes")),
        *ops_str(s, "last_apply_error") ? "; last error: " : "", ops_str(s, "last_apply_error"));
    char line[1024];
    reload_status_line(cJSON_GetObjectItemCaseSensitive(s, "last_reload"), line, sizeof line);
    if (*line) fprintf(out, "%s\n", line);
    const cJSON *svc, *b;
    cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(s, "services"))
    {
        const cJSON *bs = cJSON_GetObjectItemCaseSensitive(svc, "backends");
        fprintf(out, "\nservice %s (backend %s): %d backends; registry %s; last change %s\n",
                ops_str(svc, "service"), ops_str(svc, "backend"), cJSON_GetArraySize(bs),
                ops_str(svc, "registry"),
                *ops_str(svc, "last_change") ? ops_str(svc, "last_change") : "never");
        if (*ops_str(svc, "last_error"))
            fprintf(out, "  last error: %s\n", ops_str(svc, "last_error"));
        if (cJSON_GetObjectItemCaseSensitive(svc, "haproxy_error"))
            fprintf(out, "  haproxy: %s\n", ops_str(svc, "haproxy_error"));
        if (cJSON_GetArraySize(bs))
            fprintf(out, "  %-30s  %-21s  %-10s  %s\n", "NAME", "ADDRESS", "HAPROXY", "SOURCE");
        cJSON_ArrayForEach(b, bs)
        {
            fprintf(out, "  %-30s  %-21s  %-10s  %s\n", ops_str(b, "name"), ops_str(b, "address"),
                    ops_str(b, "haproxy"), ops_str(b, "source"));
        }
    }
}

/* `status -c FILE [--json]` */
static int status_command(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else {
            usage(stderr);
            return 2;
        }
    }
    char *sock = NULL;
    if (path) {
        struct syn_config *cfg = NULL;
        char err[512];
        if (syn_config_load(path, &cfg, err, sizeof err) < 0) {
            char line[1100];
            config_error_line(path, err, line, sizeof line);
            fprintf(stderr, "%s\n", line);
            return 2;
        }
        sock = control_path(cfg, false);
        syn_config_free(cfg);
    } else {
        sock = control_default_path("watcher", false);
    }
    int rc = sock ? ops_client(sock, "status", json, print_status) : 1;
    free(sock);
    return rc;
}

/* --cli: one command, its answer on stdout; 1 if no answer. */
static int cli(const char *sock, const char *command)
{
    char *answer = NULL, err[300];
    if (haproxy_cli_query(sock, command, 10000, &answer, err, sizeof err) < 0) {
        fprintf(stderr, "smartdock-watcher: %s\n", err);
        return 1;
    }
    if (*answer) puts(answer);
    free(answer);
    return 0;
}

/* --master-reload: run by haproxy_apply as managed mode's reload_command. */
static int master_reload(const char *sock)
{
    char msg[400];
    int r = haproxy_master_reload(sock, 20000, msg, sizeof msg);
    puts(msg);
    return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"once", no_argument, NULL, 'o'},
                                             {"check", no_argument, NULL, 'k'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"version", no_argument, NULL, 'V'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    /* Memory (1,000 services x 10 backends in under 20 MiB): one malloc
     * arena for every thread (libzookeeper_mt's two threads otherwise get
     * arenas of their own, each keeping its peak), and buffers of 128 KiB and
     * more (a haproxy.cfg text is ~500 KB at that size) mapped and unmapped
     * rather than kept in the heap (glibc's threshold otherwise rises). */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    const char *path = NULL;
    bool once = false, check = false, verbose = false;
    int ch;
    if (argc == 4 && strcmp(argv[1], "--cli") == 0) return cli(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "--master-reload") == 0) return master_reload(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "status") == 0) return status_command(argc, argv);
    while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'o':
            once = true;
            break;
        case 'k':
            check = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'V':
            puts("smartdock-watcher " SMARTDOCK_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    /* Synapse's bin/synapse takes its default config path from SYNAPSE_CONFIG. */
    if (!path && getenv("SYNAPSE_CONFIG") && *getenv("SYNAPSE_CONFIG"))
        path = getenv("SYNAPSE_CONFIG");
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }
    log_init("watcher", verbose ? LL_DEBUG : LL_INFO);

    struct syn_config *cfg = NULL;
    char err[512];
    if (syn_config_load(path, &cfg, err, sizeof err) < 0) {
        char line[1100];
        config_error_line(path, err, line, sizeof line);
        log_error("%s", line);
        return 2;
    }
    log_set_format(cfg->daemon.log_format);
    for (size_t i = 0; i < cfg->warnings.n; i++)
        log_warn("%s: %s", path, cfg->warnings.v[i]);
    if (check) {
        printf("%s: valid\n", path);
        syn_config_free(cfg);
        return 0;
    }

    struct loop *loop = loop_new();
    if (!loop) return 1;
    struct ctx c = {.loop = loop, .path = path};
    loop_on_signal(loop, on_signal, &c);
    if (!once) {
        struct ops_hooks hooks = {status_json, NULL, summary, &c};
        char *sock = control_path(cfg, true);
        c.ops = ops_new(loop, "watcher", &cfg->daemon, sock, &hooks);
        free(sock);
        if (!c.ops) {
            loop_free(loop);
            syn_config_free(cfg);
            return 1;
        }
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    struct watcher_opts opts = {.once = once,
                                .self_exe = n > 0 ? self : NULL,
                                .on_ready = on_ready,
                                .ready_arg = &c,
                                .metrics = ops_metrics(c.ops)};
    c.watcher = watcher_new(loop, cfg, &opts);
    if (!c.watcher) {
        ops_free(c.ops);
        loop_free(loop);
        syn_config_free(cfg);
        return 1;
    }
    loop_run(loop);
    int status = once ? watcher_status(c.watcher) : 0;
    if (c.signo)
        log_info("signal %d: exiting; %s", c.signo,
                 cfg->haproxy.managed ? "the managed haproxy is soft-stopped"
                                      : "haproxy keeps running");
    ops_stopping(c.ops);
    struct watcher *w = c.watcher;
    c.watcher = NULL;
    watcher_free(w);
    loop_run_posts(loop);
    ops_free(c.ops);
    loop_free(loop);
    syn_config_free(cfg);
    for (size_t i = 0; i < c.nconfigs; i++)
        syn_config_free(c.configs[i]);
    free(c.configs);
    return status;
}
