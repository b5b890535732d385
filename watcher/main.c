/* smartdock-watcher: registries -> HAProxy, with Synapse's config format. */
#include "log.h"
#include "loop.h"
#include "syn_config.h"
#include "watcher.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

static void usage(FILE *out)
{
    fputs("usage: smartdock-watcher -c FILE [--check] [--once] [-v] [--version] [--help]\n"
          "  -c, --config FILE  Synapse config file (JSON)\n"
          "  --check            validate the config and exit (0 valid, 2 invalid)\n"
          "  --once             discover once, apply haproxy.cfg once, exit\n"
          "  -v, --verbose      debug logging\n",
          out);
}

struct ctx {
    struct loop *loop;
    struct watcher *watcher;
    int signo;
};

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
    } else if (signo == SIGHUP) {
        log_info("SIGHUP ignored: restart the watcher to read a changed config");
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, 'o'},
        {"check", no_argument, NULL, 'k'},        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *path = NULL;
    bool once = false, check = false, verbose = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': path = optarg; break;
        case 'o': once = true; break;
        case 'k': check = true; break;
        case 'v': verbose = true; break;
        case 'V': puts("smartdock-watcher " SMARTDOCK_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
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
    for (size_t i = 0; i < cfg->warnings.n; i++) log_warn("%s: %s", path, cfg->warnings.v[i]);
    if (check) {
        printf("%s: valid\n", path);
        syn_config_free(cfg);
        return 0;
    }

    struct loop *loop = loop_new();
    if (!loop) return 1;
    struct ctx c = {loop, NULL, 0};
    loop_on_signal(loop, on_signal, &c);
    struct watcher_opts opts = {.once = once};
    c.watcher = watcher_new(loop, cfg, &opts);
    if (!c.watcher) {
        loop_free(loop);
        syn_config_free(cfg);
        return 1;
    }
    loop_run(loop);
    int status = once ? watcher_status(c.watcher) : 0;
    if (c.signo) log_info("signal %d: exiting; haproxy keeps running", c.signo);
    watcher_free(c.watcher);
    loop_run_posts(loop);
    loop_free(loop);
    syn_config_free(cfg);
    return status;
}
