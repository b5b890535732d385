#include "haproxy_managed.h"

#include "backoff.h"
#include "haproxy_runtime.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define STABLE_MS 10000   /* a master that ran this long restarts after BACKOFF_MIN_MS again */
#define START_RETRY_MS 50 /* may_start said not yet */
#define POLL_MS 20        /* haproxy_master_reload polls "show proc" this often */
#define QUERY_MS 2000

struct haproxy_managed {
    struct loop *loop;
    char *binary, *config, *master_socket, *master_arg;
    haproxy_started_fn *started;
    haproxy_may_start_fn *may_start;
    void *arg;
    pid_t pid;
    bool adopted; /* pid is a master a previous watcher left running, not our child */
    int pidfd;    /* the adopted master's: readable when it exits */
    uint64_t started_ms, restart_timer;
    struct backoff backoff;
    unsigned starts;
};

#define MAX_WORKERS 64

struct proc_view {
    long master_pid, reloads, failed;
    long workers[MAX_WORKERS]; /* current ones, not "old workers" */
    size_t nworkers;
};

static void start(struct haproxy_managed *m)
{
    char *argv[] = {m->binary, "-W", "-db", "-f", m->config, "-S", m->master_arg, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        setsid(); /* not in the watcher's process group: a ^C there is not for HAProxy */
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        close_range(3, ~0U, 0);
        loop_child_reset_signals();
        execvp(argv[0], argv);
        static const char msg[] = "cannot exec haproxy\n";
        ssize_t r = write(2, msg, sizeof msg - 1);
        (void)r;
        _exit(127);
    }
    if (pid < 0) {
        log_error("managed haproxy: fork: %s", strerror(errno));
        return;
    }
    m->pid = pid;
    m->starts++;
    m->started_ms = loop_now_ms();
    log_info("managed haproxy: started %s -W -db -f %s -S %s (master pid %d, start #%u)", m->binary,
             m->config, m->master_arg, (int)pid, m->starts);
    if (m->started) m->started(m->arg, pid);
}

static void on_restart(void *arg)
{
    struct haproxy_managed *m = arg;
    m->restart_timer = 0;
    if (m->pid > 0) return;
    if (m->may_start && !m->may_start(m->arg)) {
        m->restart_timer = loop_timer(m->loop, START_RETRY_MS, on_restart, m);
        return;
    }
    start(m);
}

/* The master is gone: start another after the backoff's delay. */
static unsigned schedule_restart(struct haproxy_managed *m, uint64_t *ran)
{
    m->pid = 0;
    *ran = loop_now_ms() - m->started_ms;
    if (*ran >= STABLE_MS) backoff_reset(&m->backoff);
    unsigned delay = backoff_next(&m->backoff);
    m->restart_timer = loop_timer(m->loop, delay, on_restart, m);
    return delay;
}

static void forget_adopted(struct haproxy_managed *m)
{
    if (m->pidfd >= 0) {
        loop_unwatch_fd(m->loop, m->pidfd);
        close(m->pidfd);
    }
    m->pidfd = -1;
    m->adopted = false;
}

static void on_adopted_exit(void *arg, short revents)
{
    struct haproxy_managed *m = arg;
    (void)revents;
    pid_t pid = m->pid;
    forget_adopted(m);
    uint64_t ran;
    unsigned delay = schedule_restart(m, &ran);
    log_warn("managed haproxy: adopted master pid %d exited; starting one in %u ms", (int)pid,
             delay);
}

static int show_proc(const char *sock, struct proc_view *v, char *err, size_t n);

/*
 * A watcher killed without a chance to stop its HAProxy (kill -9, OOM)
 * leaves the master running, still serving and answering on our master
 * socket. Starting a second master beside it would leave two HAProxies on
 * the same ports, the old one never updated again. So the old master is
 * adopted: reloaded through the master CLI like our own, soft-stopped when
 * we stop, watched through a pidfd (it is not our child) and started again
 * when it dies. Blocking, once, at start-up.
 */
static void adopt_left_master(struct haproxy_managed *m)
{
    struct proc_view v;
    char err[256];
    if (show_proc(m->master_socket, &v, err, sizeof err) < 0 || v.master_pid <= 0) return;
    int fd = pidfd_open((pid_t)v.master_pid, 0);
    if (fd < 0) {
        log_warn("managed haproxy: a master (pid %ld) answers on %s but cannot be watched "
                 "(pidfd_open: %s); starting our own beside it",
                 v.master_pid, m->master_socket, strerror(errno));
        return;
    }
    if (loop_watch_fd(m->loop, fd, POLLIN, on_adopted_exit, m) < 0) {
        close(fd);
        return;
    }
    m->pidfd = fd;
    m->pid = (pid_t)v.master_pid;
    m->adopted = true;
    m->starts++; /* a later start is a restart: the runtime API is confirmed again */
    m->started_ms = loop_now_ms();
    log_info("managed haproxy: adopted master pid %ld, left running on %s by a previous "
             "watcher (%zu worker%s)",
             v.master_pid, m->master_socket, v.nworkers, v.nworkers == 1 ? "" : "s");
}

struct haproxy_managed *haproxy_managed_new(struct loop *l, const struct haproxy_managed_opts *o,
                                            haproxy_started_fn *started,
                                            haproxy_may_start_fn *may_start, void *arg)
{
    struct haproxy_managed *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->loop = l;
    m->started = started;
    m->may_start = may_start;
    m->arg = arg;
    backoff_init(&m->backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS, 0, 0);
    m->pidfd = -1;
    m->binary = strdup(o->binary ? o->binary : "haproxy");
    m->config = strdup(o->config_path);
    m->master_socket = strdup(o->master_socket);
    if (asprintf(&m->master_arg, "%s,mode,600", o->master_socket) < 0) m->master_arg = NULL;
    if (!m->binary || !m->config || !m->master_socket || !m->master_arg) {
        haproxy_managed_free(m);
        return NULL;
    }
    adopt_left_master(m);
    return m;
}

void haproxy_managed_free(struct haproxy_managed *m)
{
    if (!m) return;
    if (m->restart_timer) loop_timer_cancel(m->loop, m->restart_timer);
    if (m->pid > 0) {
        log_info("managed haproxy: soft-stopping master pid %d (SIGUSR1); its workers finish "
                 "their connections first",
                 (int)m->pid);
        kill(m->pid, SIGUSR1);
        /* A master socket left behind means a watcher that died without
         * stopping its HAProxy, whose successor adopts it: not this one,
         * which is on its way out. */
        unlink(m->master_socket);
    }
    forget_adopted(m);
    free(m->binary);
    free(m->config);
    free(m->master_socket);
    free(m->master_arg);
    free(m);
}

void haproxy_managed_ensure_running(struct haproxy_managed *m)
{
    if (m->pid > 0 || m->restart_timer) return;
    start(m);
}

bool haproxy_managed_running(const struct haproxy_managed *m)
{
    return m->pid > 0;
}

bool haproxy_managed_adopted(const struct haproxy_managed *m)
{
    return m->adopted;
}

unsigned haproxy_managed_start_count(const struct haproxy_managed *m)
{
    return m->starts;
}

bool haproxy_managed_child_exited(struct haproxy_managed *m, pid_t pid, int status)
{
    if (m->pid <= 0 || pid != m->pid || m->adopted) return false;
    uint64_t ran;
    unsigned delay = schedule_restart(m, &ran);
    char how[64];
    if (WIFEXITED(status))
        snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(how, sizeof how, "ended (wait status %d)", status);
    log_warn("managed haproxy: master pid %d %s after %llu ms; restarting it in %u ms", (int)pid,
             how, (unsigned long long)ran, delay);
    return true;
}

/* ---- the reload child ---- */

/* Parses "show proc"; 0 when the master line was found. */
static int parse_show_proc(const char *text, struct proc_view *v)
{
    memset(v, 0, sizeof *v);
    v->reloads = -1;
    bool current = false;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
        long pid, reloads;
        char type[32];
        if (strncmp(line, "# workers", 9) == 0) {
            current = true;
        } else if (line[0] == '#') {
            current = false;
        } else if (sscanf(line, "%ld %31s %ld", &pid, type, &reloads) == 3) {
            if (strcmp(type, "master") == 0) {
                v->master_pid = pid;
                const char *f = strstr(line, "[failed: ");
                v->reloads = reloads;
                v->failed = f ? strtol(f + 9, NULL, 10) : 0;
            } else if (current && strcmp(type, "worker") == 0 && v->nworkers < MAX_WORKERS) {
                v->workers[v->nworkers++] = pid;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    return v->reloads >= 0 ? 0 : -1;
}

static bool had_worker(const struct proc_view *v, long pid)
{
    for (size_t i = 0; i < v->nworkers; i++)
        if (v->workers[i] == pid) return true;
    return false;
}

static int show_proc(const char *sock, struct proc_view *v, char *err, size_t n)
{
    char *answer = NULL;
    if (haproxy_cli_query(sock, "show proc", QUERY_MS, &answer, err, n) < 0) return -1;
    int r = parse_show_proc(answer, v);
    if (r < 0) snprintf(err, n, "unexpected \"show proc\" answer: %.80s", answer);
    free(answer);
    return r;
}

int haproxy_master_reload(const char *sock, unsigned timeout_ms, char *msg, size_t n)
{
    struct proc_view before, now;
    char err[256];
    uint64_t deadline = loop_now_ms() + timeout_ms;
    if (show_proc(sock, &before, err, sizeof err) < 0) {
        snprintf(msg, n, "no haproxy master answers (%s); nothing to reload", err);
        return 1;
    }
    char *answer = NULL;
    if (haproxy_cli_query(sock, "reload", QUERY_MS, &answer, err, sizeof err) < 0) {
        snprintf(msg, n, "reload via %s: %s", sock, err);
        return -1;
    }
    free(answer);
    err[0] = '\0';
    while (loop_now_ms() < deadline) {
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
        if (show_proc(sock, &now, err, sizeof err) < 0) continue; /* the master re-executes */
        if (now.reloads <= before.reloads) continue;
        if (now.failed > 0) {
            snprintf(msg, n,
                     "haproxy master refused the new config (show proc: [failed: %ld]); "
                     "it keeps the previous workers",
                     now.failed);
            return -1;
        }
        for (size_t i = 0; i < now.nworkers; i++)
            if (!had_worker(&before, now.workers[i])) {
                snprintf(msg, n, "haproxy reloaded: new worker pid %ld (reload #%ld)",
                         now.workers[i], now.reloads);
                return 0;
            }
    }
    snprintf(msg, n, "no new haproxy worker within %u ms after \"reload\"%s%s", timeout_ms,
             err[0] ? ": " : "", err);
    return -1;
}
