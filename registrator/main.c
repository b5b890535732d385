/* smartdock-registrator: Docker containers -> ephemeral registry entries. */
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "reg_config.h"
#include "registrator.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: smartdock-registrator -c FILE [--once] [--dry-run] [--check] [-v] [--version] "
          "[--help]\n"
          "  -c, --config FILE  config file (JSON)\n"
          "  --check            validate the config and exit (0 valid, 2 invalid)\n"
          "  --once             resynchronise once and exit\n"
          "  --dry-run          print what would be registered as JSON lines; register nothing\n"
          "  -v, --verbose      debug logging\n",
          out);
}

struct shutdown {
    struct loop *loop;
    int signo;
};

static void on_ready(void *arg)
{
    notify_ready(arg, "first sync done: Docker listed, registry written");
}

static void on_signal(void *arg, int signo)
{
    struct shutdown *s = arg;
    if (signo == SIGTERM || signo == SIGINT) {
        s->signo = signo;
        loop_stop(s->loop);
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, 'o'},
        {"dry-run", no_argument, NULL, 'n'},      {"check", no_argument, NULL, 'k'},
        {"verbose", no_argument, NULL, 'v'},      {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *path = NULL;
    bool once = false, dry_run = false, check = false, verbose = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': path = optarg; break;
        case 'o': once = true; break;
        case 'n': dry_run = true; break;
        case 'k': check = true; break;
        case 'v': verbose = true; break;
        case 'V': puts("smartdock-registrator " SMARTDOCK_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }
    log_init("registrator", verbose ? LL_DEBUG : LL_INFO);

    struct reg_config *cfg = NULL;
    char **warnings = NULL;
    char err[512];
    if (reg_config_load(path, &cfg, &warnings, err, sizeof err) < 0) {
        log_error("%s: %s", path, err);
        return 2;
    }
    log_set_format(cfg->daemon.log_format);
    for (char **w = warnings; w && *w; w++) log_warn("%s: %s", path, *w);
    reg_config_free_warnings(warnings);
    if (check) {
        printf("%s: valid\n", path);
        reg_config_free(cfg);
        return 0;
    }

    srand((unsigned)time(NULL) ^ (unsigned)getpid()); /* reconnect jitter differs per host */
    struct loop *loop = loop_new();
    if (!loop) return 1;
    struct shutdown sd = {loop, 0};
    loop_on_signal(loop, on_signal, &sd);
    struct notify *notify = once ? NULL : notify_new(loop);
    struct registrator_opts opts = {.once = once,
                                    .dry_run = dry_run ? stdout : NULL,
                                    .on_ready = on_ready,
                                    .ready_arg = notify};
    struct registrator *r = registrator_new(loop, cfg, &opts);
    if (!r) {
        notify_free(notify);
        loop_free(loop);
        reg_config_free(cfg);
        return 1;
    }
    loop_run(loop);
    int status = once ? registrator_status(r) : 0;
    if (sd.signo) log_info("signal %d: withdrawing every registration and exiting", sd.signo);
    notify_stopping(notify);
    registrator_free(r);
    loop_run_posts(loop);
    notify_free(notify);
    loop_free(loop);
    reg_config_free(cfg);
    return status;
}
