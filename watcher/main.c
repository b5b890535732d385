/* smartdock-watcher: registries -> HAProxy, with Synapse's config format. */
#include "haproxy_managed.h"
#include "haproxy_runtime.h"
#include "log.h"
#include "loop.h"
#include "syn_config.h"
#include "watcher.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: smartdock-watcher -c FILE [--check] [--once] [-v] [--version] [--help]\n"
          "       smartdock-watcher --cli SOCKET COMMAND\n"
          "       smartdock-watcher --master-reload SOCKET\n"
          "  -c, --config FILE  Synapse config file (JSON)\n"
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
    int signo;
    const char *path;
    /* Every config loaded: kept discoveries borrow their service from the
     * config they started with, so all live until exit. */
    struct syn_config **configs;
    size_t nconfigs;
};

/* SIGHUP: read the file again; a config that does not validate, or moves
 * what needs a restart, is refused and the running state kept. One line. */
static void reload(struct ctx *c)
{
    struct syn_config *cfg = NULL;
    char err[512];
    if (syn_config_load(c->path, &cfg, err, sizeof err) < 0) {
        log_error("SIGHUP: reload refused, the running config is kept: %s: %s", c->path, err);
        return;
    }
    struct syn_config **v = realloc(c->configs, (c->nconfigs + 1) * sizeof *v);
    if (!v) {
        syn_config_free(cfg);
        log_error("SIGHUP: reload refused, the running config is kept: out of memory");
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
    const char *path = NULL;
    bool once = false, check = false, verbose = false;
    int ch;
    if (argc == 4 && strcmp(argv[1], "--cli") == 0) return cli(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "--master-reload") == 0) return master_reload(argv[2]);
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
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }
    log_init("watcher", verbose ? LL_DEBUG : LL_INFO);

    struct syn_config *cfg = NULL;
    char err[512];
    if (syn_config_load(path, &cfg, err, sizeof err) < 0) {
        log_error("%s: %s", path, err);
        return 2;
    }
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
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    struct watcher_opts opts = {.once = once, .self_exe = n > 0 ? self : NULL};
    c.watcher = watcher_new(loop, cfg, &opts);
    if (!c.watcher) {
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
    watcher_free(c.watcher);
    loop_run_posts(loop);
    loop_free(loop);
    syn_config_free(cfg);
    for (size_t i = 0; i < c.nconfigs; i++)
        syn_config_free(c.configs[i]);
    free(c.configs);
    return status;
}
