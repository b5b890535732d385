/*
 * One attempt at a time, on the loop thread: write the newest wanted text to
 * the candidate file and fsync it, validate it in a child process, rename it
 * over the target and fsync the directory, then reload if a reload is owed
 * and restart_interval allows (else a timer does it later). Submits that
 * arrive meanwhile only replace the wanted text, so a burst ends in at most
 * one more attempt, for the newest text.
 *
 * Children (check and reload) get /dev/null as stdin and one end of a
 * socketpair as stdout+stderr; the loop watches the other end. A socketpair
 * rather than a pipe because curl_multi_poll() reports only POLLIN/POLLOUT,
 * and a pipe signals EOF with POLLHUP alone. A child is judged once it has
 * exited (haproxy_apply_child_exited) and its output reached EOF, in either
 * order; if a background process it started keeps the socket open, we stop
 * reading after a short grace.
 */
#include "haproxy_apply.h"

#include "backoff.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_TIMEOUT_MS 30000
#define OUTPUT_GRACE_MS 2000 /* output still open after the child exited */
#define OUTPUT_MAX 16384     /* kept per child; the rest is read and dropped */
#define LOG_LINES_MAX 20

extern char **environ;

enum phase { PH_IDLE, PH_WRITE, PH_CHECK, PH_RELOAD };
/* Pacing of a file that only follows runtime changes (no reload owed): see
 * haproxy_follow_due_ms. A churn of 100 changes a second otherwise kept one
 * of two cores busy with back-to-back `haproxy -c` of 1,000 frontends
 * (0.5 s CPU each at 10,000 servers), slowing the changes themselves. */
#define FOLLOW_GAP_MS 500
#define FOLLOW_QUIET_MS 100
/* A follow-only check (0.3-0.5 s of CPU for 1,000 frontends) runs this much
 * nicer than we do: during a burst it competed with HAProxy applying them. */
#define FOLLOW_CHECK_NICE 10

struct child {
    pid_t pid; /* 0: none */
    int fd;    /* its stdout+stderr; -1 once at EOF */
    const char *what;
    bool exited, killed;
    int status;
    uint64_t kill_timer, grace_timer;
    size_t len;
    char out[OUTPUT_MAX];
};

struct haproxy_apply {
    struct loop *loop;
    char *target, *candidate, *dir, *binary, *check_cmd, *reload_cmd;
    char *env_candidate; /* "SMARTDOCK_CANDIDATE=<candidate>" */
    bool do_writes, do_checks, do_reloads;
    uint64_t interval_ms, jitter_pct, child_timeout_ms;
    haproxy_applied_fn *fn;
    void *arg;

    char *effective;       /* last text renamed over the target (or dry-run) */
    char *wanted;          /* newest submitted text, not yet attempted */
    char *rejected;        /* failed validation: not retried until the text changes */
    char *rejected_output; /* what the check printed about it */
    char *attempt;         /* text of the running attempt */
    /* A follow-only text is owed; printed by follow_fn when its write is due. */
    bool follow_owed;
    haproxy_text_fn *follow_fn;
    void *follow_arg;
    bool pending_reload; /* owed once the wanted text is written */
    bool attempt_reload;
    bool reload_owed;      /* the target changed but haproxy was not reloaded yet */
    bool reload_failed;    /* the last reload failed: retried on a timer or the next submit */
    bool confirm_reloads;  /* haproxy_apply_confirm_reloads */
    bool awaiting_confirm; /* a reload ran; no other until it is confirmed */
    uint64_t retry_timer;
    struct backoff retry_backoff; /* after a failed reload: 1 s doubling to 60 s */
    uint64_t reload_timer, step_timer, follow_timer;
    bool reloaded_once;
    uint64_t last_reload_ms, reload_gap_ms;
    uint64_t last_follow_ms; /* when the last follow-only attempt ended; 0: none */
    uint64_t follow_started_ms, last_follow_cost_ms; /* its start; its write and check */
    uint64_t last_request_ms;                        /* the newest text (or follow) handed over */
    bool check_niced;  /* the running check runs FOLLOW_CHECK_NICE nicer */
    uint64_t quiet_ms; /* changes have paused after this long without one */
    uint64_t unnice_timer;
    uint32_t rng;

    enum phase phase;
    unsigned writes, reloads;
    struct child child;
};

static void pump(struct haproxy_apply *a);
static void on_unnice_due(void *arg);

/* Ends the running attempt: starts the next one if any, then reports. */
static void finish(struct haproxy_apply *a, bool ok, bool reloaded)
{
    a->check_niced = false;
    if (a->unnice_timer) loop_timer_cancel(a->loop, a->unnice_timer);
    a->unnice_timer = 0;
    if (!a->attempt_reload) {
        a->last_follow_ms = loop_now_ms();
        a->last_follow_cost_ms = a->last_follow_ms - a->follow_started_ms;
    }
    free(a->attempt);
    a->attempt = NULL;
    a->phase = PH_IDLE;
    pump(a);
    a->fn(a->arg, ok, reloaded);
}

static const char *status_text(const struct child *c, char *buf, size_t n)
{
    if (c->killed)
        snprintf(buf, n, "killed: ran too long");
    else if (WIFEXITED(c->status))
        snprintf(buf, n, "exit status %d", WEXITSTATUS(c->status));
    else if (WIFSIGNALED(c->status))
        snprintf(buf, n, "killed by signal %d", WTERMSIG(c->status));
    else
        snprintf(buf, n, "wait status %d", c->status);
    return buf;
}

static bool line_tagged(const char *line, size_t n)
{
    return memmem(line, n, "[ALERT]", 7) || memmem(line, n, "[WARNING]", 9);
}

enum line_filter { LINES_ALL, LINES_TAGGED, LINES_TAGGED_ELSE_ALL };

/* Logs the child's output, one log line per non-empty output line, at most
 * LOG_LINES_MAX. LINES_TAGGED keeps HAProxy's [ALERT] and [WARNING] lines;
 * LINES_TAGGED_ELSE_ALL does so unless there are none (a check_command). */
static void log_output(const struct child *c, enum log_level level, enum line_filter f)
{
    if (f == LINES_TAGGED_ELSE_ALL) f = line_tagged(c->out, c->len) ? LINES_TAGGED : LINES_ALL;
    unsigned shown = 0, more = 0;
    const char *p = c->out, *end = c->out + c->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        size_t m = n;
        while (m > 0 && (p[m - 1] == '\r' || p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m > 0 && (f == LINES_ALL || line_tagged(p, m))) {
            if (shown++ < LOG_LINES_MAX)
                log_msg(level, "%s: %.*s", c->what, (int)m, p);
            else
                more++;
        }
        p += n + 1;
    }
    if (more) log_msg(level, "%s: ... and %u more lines", c->what, more);
}

/* ---- children ---- */

static void check_done(struct haproxy_apply *a, bool ok);
static void reload_done(struct haproxy_apply *a, bool ok);

static void child_close_output(struct haproxy_apply *a)
{
    struct child *c = &a->child;
    if (c->fd < 0) return;
    loop_unwatch_fd(a->loop, c->fd);
    close(c->fd);
    c->fd = -1;
}

/* Reads what the child wrote so far; closes our end at EOF. */
static void child_drain(struct haproxy_apply *a)
{
    struct child *c = &a->child;
    char buf[4096];
    while (c->fd >= 0) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n > 0) {
            size_t room = sizeof c->out - c->len;
            size_t k = (size_t)n < room ? (size_t)n : room;
            memcpy(c->out + c->len, buf, k);
            c->len += k;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            child_close_output(a); /* EOF, or an error that ends the output */
        }
    }
}

/* Judges the child once it has exited and its output is closed. */
static void child_maybe_done(struct haproxy_apply *a)
{
    struct child *c = &a->child;
    if (c->pid <= 0 || !c->exited || c->fd >= 0) return;
    if (c->grace_timer) loop_timer_cancel(a->loop, c->grace_timer);
    c->grace_timer = 0;
    c->pid = 0;
    bool ok = !c->killed && WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
    if (a->phase == PH_CHECK)
        check_done(a, ok);
    else
        reload_done(a, ok);
}

static void on_child_output(void *arg, short revents)
{
    (void)revents;
    struct haproxy_apply *a = arg;
    child_drain(a);
    child_maybe_done(a);
}

static void on_child_timeout(void *arg)
{
    struct haproxy_apply *a = arg;
    struct child *c = &a->child;
    c->kill_timer = 0;
    log_error("%s still running after %llu ms, killing it", c->what,
              (unsigned long long)a->child_timeout_ms);
    c->killed = true;
    if (kill(-c->pid, SIGKILL) < 0) kill(c->pid, SIGKILL);
}

static void on_output_grace(void *arg)
{
    struct haproxy_apply *a = arg;
    a->child.grace_timer = 0;
    log_warn("%s exited but a process it started keeps its output open; stopped reading",
             a->child.what);
    child_close_output(a);
    child_maybe_done(a);
}

bool haproxy_apply_child_exited(struct haproxy_apply *a, pid_t pid, int status)
{
    struct child *c = &a->child;
    if (c->pid <= 0 || pid != c->pid || c->exited) return false;
    c->exited = true;
    c->status = status;
    if (c->kill_timer) loop_timer_cancel(a->loop, c->kill_timer);
    c->kill_timer = 0;
    child_drain(a);
    if (c->fd >= 0) c->grace_timer = loop_timer(a->loop, OUTPUT_GRACE_MS, on_output_grace, a);
    child_maybe_done(a);
    return true;
}

/* Starts argv with stdout+stderr captured; returns -1 (logged) if it could not. */
static int child_spawn(struct haproxy_apply *a, const char *what, char *const argv[])
{
    struct child *c = &a->child;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        log_error("cannot run %s: socketpair: %s", what, strerror(errno));
        return -1;
    }
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = malloc((n + 2) * sizeof *envp);
    if (!envp) {
        log_error("cannot run %s: out of memory", what);
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "SMARTDOCK_CANDIDATE=", 20) != 0) envp[k++] = environ[i];
    envp[k++] = a->env_candidate;
    envp[k] = NULL;

    /* posix_spawn, not fork: glibc starts the child in our address space
     * (CLONE_VM|CLONE_VFORK) until it execs. A fork of a watcher holding
     * 10,000 backends copied its page tables and made every page
     * copy-on-write; the faults that followed slowed the next runtime change
     * by 100 ms and more. In its own process group, so a timeout kills what
     * it started too; stdin /dev/null; no descriptor of ours but the output;
     * our blocked signals and ignored SIGPIPE not passed on. */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, pipe_sig;
    sigemptyset(&none);
    sigemptyset(&pipe_sig);
    sigaddset(&pipe_sig, SIGPIPE);
    int err = posix_spawn_file_actions_init(&fa);
    if (!err) {
        err = posix_spawnattr_init(&attr);
        if (err) posix_spawn_file_actions_destroy(&fa);
    }
    pid_t pid = -1;
    if (!err) {
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
        posix_spawn_file_actions_adddup2(&fa, sv[1], 2);
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                            POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &pipe_sig);
        err = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
    }
    free(envp);
    close(sv[1]);
    if (err) {
        log_error("cannot run %s: %s: %s", what, argv[0], strerror(err));
        close(sv[0]);
        return -1;
    }
    setpgid(pid, pid); /* whichever of parent and child runs first */
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    c->pid = pid;
    c->fd = sv[0];
    c->what = what;
    c->exited = c->killed = false;
    c->status = 0;
    c->len = 0;
    c->grace_timer = 0;
    loop_watch_fd(a->loop, c->fd, POLLIN, on_child_output, a);
    c->kill_timer = loop_timer(a->loop, a->child_timeout_ms, on_child_timeout, a);
    log_debug("started %s (pid %d)", what, (int)pid);
    return 0;
}

/* ---- reloads ---- */

static uint32_t next_rand(struct haproxy_apply *a)
{
    uint32_t x = a->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return a->rng = x;
}

static void start_reload(struct haproxy_apply *a)
{
    a->phase = PH_RELOAD;
    a->reloaded_once = true;
    a->last_reload_ms = loop_now_ms();
    uint64_t jitter = a->interval_ms * a->jitter_pct / 100;
    a->reload_gap_ms = a->interval_ms + (jitter ? next_rand(a) % (jitter + 1) : 0);
    char *argv[] = {"/bin/sh", "-c", a->reload_cmd, NULL};
    if (child_spawn(a, "reload_command", argv) < 0) {
        a->reload_failed = true;
        finish(a, false, false);
    }
}

static void on_retry_timer(void *arg)
{
    struct haproxy_apply *a = arg;
    a->retry_timer = 0;
    a->reload_failed = false;
    pump(a);
}

/* HAProxy runs the previous config: try again on a backoff timer, never
 * sooner than restart_interval, and at the next change. The delay (ms). */
static uint64_t retry_later(struct haproxy_apply *a)
{
    uint64_t delay_ms = backoff_next(&a->retry_backoff);
    if (delay_ms < a->interval_ms) delay_ms = a->interval_ms;
    a->reload_failed = true;
    if (!a->retry_timer) a->retry_timer = loop_timer(a->loop, delay_ms, on_retry_timer, a);
    return delay_ms;
}

static void reload_done(struct haproxy_apply *a, bool ok)
{
    char why[64];
    if (!ok) {
        uint64_t delay_ms = retry_later(a);
        log_error("haproxy reload failed (%s); HAProxy runs the previous config; retrying in "
                  "%" PRIu64 " ms",
                  status_text(&a->child, why, sizeof why), delay_ms);
        log_output(&a->child, LL_ERROR, LINES_ALL);
        finish(a, false, false);
        return;
    }
    /* With confirmation, only a confirmed reload ends the backoff: one that
     * did not take is sent again on it. */
    if (!a->confirm_reloads) backoff_reset(&a->retry_backoff);
    if (a->retry_timer) loop_timer_cancel(a->loop, a->retry_timer);
    a->retry_timer = 0;
    a->reload_failed = false;
    a->reload_owed = false;
    a->awaiting_confirm = a->confirm_reloads;
    a->reloads++;
    log_info("reloaded haproxy (reload #%u)", a->reloads);
    log_output(&a->child, LL_INFO, LINES_ALL);
    finish(a, true, true);
}

static void on_reload_timer(void *arg)
{
    struct haproxy_apply *a = arg;
    a->reload_timer = 0;
    pump(a); /* a running attempt reloads when its write is done */
}

/* True if an owed reload may start now; arms the restart_interval timer if
 * it must wait. */
static bool reload_now(struct haproxy_apply *a)
{
    if (!a->reload_owed || a->reload_failed || a->reload_timer) return false;
    if (a->awaiting_confirm) {
        log_debug("reload waits until the last one is seen to have taken effect");
        return false;
    }
    uint64_t now = loop_now_ms();
    if (a->reloaded_once && now < a->last_reload_ms + a->reload_gap_ms) {
        uint64_t wait = a->last_reload_ms + a->reload_gap_ms - now;
        log_debug("reload deferred by restart_interval: next in %llu ms", (unsigned long long)wait);
        a->reload_timer = loop_timer(a->loop, wait, on_reload_timer, a);
        return false;
    }
    return true;
}

static void on_reload_step(void *arg)
{
    struct haproxy_apply *a = arg;
    a->step_timer = 0;
    start_reload(a);
}

/* ---- writes ---- */

static int write_candidate(const struct haproxy_apply *a, const char *text, size_t len)
{
    int fd = open(a->candidate, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) goto fail;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) goto fail_fd;
        off += (size_t)n;
    }
    if (fsync(fd) < 0) goto fail_fd;
    if (close(fd) < 0) goto fail;
    return 0;
fail_fd:;
    int err = errno;
    close(fd);
    errno = err;
fail:
    log_error("cannot write haproxy config candidate %s: %s", a->candidate, strerror(errno));
    return -1;
}

/* The candidate passed: put it in place, then reload now, later, or never. */
static void install(struct haproxy_apply *a)
{
    if (rename(a->candidate, a->target) < 0) {
        log_error("cannot rename %s to %s: %s; kept the running config", a->candidate, a->target,
                  strerror(errno));
        a->pending_reload |= a->attempt_reload;
        finish(a, false, false);
        return;
    }
    int dfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0)
        log_warn("cannot fsync directory %s: %s (the rename may not survive a crash)", a->dir,
                 strerror(errno));
    if (dfd >= 0) close(dfd);
    a->writes++;
    log_info("wrote %s (%zu bytes)", a->target, strlen(a->attempt));
    free(a->effective);
    a->effective = a->attempt;
    a->attempt = NULL;
    if (a->attempt_reload) {
        if (a->do_reloads && a->reload_cmd)
            a->reload_owed = true;
        else
            log_info("haproxy needs a reload to use the new config, but reloads are off");
    }
    if (reload_now(a)) {
        start_reload(a);
        return;
    }
    finish(a, true, false);
}

static void check_done(struct haproxy_apply *a, bool ok)
{
    if (!ok) {
        char why[64];
        log_error("haproxy config invalid, kept the running one: %s failed (%s); candidate left "
                  "at %s, retried on the next change",
                  a->child.what, status_text(&a->child, why, sizeof why), a->candidate);
        log_output(&a->child, LL_ERROR, LINES_TAGGED_ELSE_ALL);
        free(a->rejected);
        a->rejected = a->attempt;
        a->attempt = NULL;
        free(a->rejected_output);
        a->rejected_output = strndup(a->child.out, a->child.len);
        a->pending_reload |= a->attempt_reload;
        finish(a, false, false);
        return;
    }
    log_output(&a->child, LL_WARN, LINES_TAGGED);
    free(a->rejected_output);
    a->rejected_output = NULL;
    install(a);
}

const char *haproxy_apply_rejected_text(const struct haproxy_apply *a)
{
    return a->rejected_output ? a->rejected : NULL;
}

const char *haproxy_apply_rejected_output(const struct haproxy_apply *a)
{
    return a->rejected ? a->rejected_output : NULL;
}

/* Sets the running child's nice value to ours plus extra (at most 19). 0, or
 * -1 (lowering it again needs CAP_SYS_NICE). */
static int renice_child(const struct haproxy_apply *a, int extra)
{
    errno = 0;
    int ours = getpriority(PRIO_PROCESS, 0);
    if (errno != 0) return -1;
    return setpriority(PRIO_PROCESS, (id_t)a->child.pid, ours + extra < 19 ? ours + extra : 19);
}

static void on_write_step(void *arg)
{
    struct haproxy_apply *a = arg;
    a->step_timer = 0;
    size_t len = strlen(a->attempt);
    if (!a->do_writes) {
        log_info("do_writes is off: would write %s (%zu bytes)%s", a->target, len,
                 a->attempt_reload && a->do_reloads && a->reload_cmd ? " and reload haproxy" : "");
        free(a->effective);
        a->effective = a->attempt;
        a->attempt = NULL;
        finish(a, true, false);
        return;
    }
    if (write_candidate(a, a->attempt, len) < 0) {
        a->pending_reload |= a->attempt_reload;
        finish(a, false, false);
        return;
    }
    if (!a->do_checks) {
        install(a);
        return;
    }
    a->phase = PH_CHECK;
    int started;
    if (a->check_cmd) {
        char *argv[] = {"/bin/sh", "-c", a->check_cmd, NULL};
        started = child_spawn(a, "check_command", argv);
    } else {
        char *argv[] = {a->binary, "-c", "-f", a->candidate, NULL};
        started = child_spawn(a, "haproxy -c", argv);
    }
    if (started == 0) {
        /* Only the file waits for a follow-only check while changes keep
         * coming: HAProxy, the registry and the watcher applying them go
         * first on a busy machine. Once they pause, the check is the last
         * step of the change (niced at load 9 it took 2.5 s). */
        if (!a->attempt_reload && loop_now_ms() < a->last_request_ms + a->quiet_ms &&
            renice_child(a, FOLLOW_CHECK_NICE) == 0) {
            a->check_niced = true;
            a->unnice_timer = loop_timer(a->loop, a->quiet_ms, on_unnice_due, a);
        }
        return;
    }
    a->pending_reload |= a->attempt_reload;
    finish(a, false, false);
}

uint64_t haproxy_follow_due_ms(uint64_t last_end_ms, uint64_t last_cost_ms,
                               uint64_t last_request_ms, uint64_t quiet_ms)
{
    /* While changes keep coming, checks are spaced by their own cost: the
     * CPU goes to HAProxy, the registry and the watcher applying them. */
    uint64_t busy_gap = 2 * last_cost_ms > FOLLOW_GAP_MS ? 2 * last_cost_ms : FOLLOW_GAP_MS;
    uint64_t busy_due = last_end_ms + busy_gap;
    /* Once they pause, the file follows at once, but a trickle of changes
     * still leaves half a check's time, at most 500 ms, between checks. */
    uint64_t rest = last_cost_ms / 2 < FOLLOW_GAP_MS ? last_cost_ms / 2 : FOLLOW_GAP_MS;
    uint64_t quiet_due = last_request_ms + quiet_ms;
    if (quiet_due < last_end_ms + rest) quiet_due = last_end_ms + rest;
    return quiet_due < busy_due ? quiet_due : busy_due;
}

/* A niced follow-only check goes back to our priority once changes pause
 * (lowering a nice value needs CAP_SYS_NICE: without it, it stays nicer). */
static void on_unnice_due(void *arg)
{
    struct haproxy_apply *a = arg;
    a->unnice_timer = 0;
    if (!a->check_niced || a->phase != PH_CHECK || a->child.pid <= 0 || a->child.exited) return;
    uint64_t now = loop_now_ms();
    if (now < a->last_request_ms + a->quiet_ms) {
        a->unnice_timer =
            loop_timer(a->loop, a->last_request_ms + a->quiet_ms - now, on_unnice_due, a);
        return;
    }
    if (renice_child(a, 0) == 0)
        log_debug("changes paused: the follow-up check (pid %ld) runs at our priority now",
                  (long)a->child.pid);
    a->check_niced = false;
}

static void on_follow_due(void *arg)
{
    struct haproxy_apply *a = arg;
    a->follow_timer = 0;
    pump(a);
}

/* Starts the next step when nothing runs: the newest wanted text first, then
 * an owed reload. Steps start from a timer so fn never runs inside submit. */
static void pump(struct haproxy_apply *a)
{
    if (a->phase != PH_IDLE) return;
    uint64_t now = loop_now_ms();
    uint64_t due = a->last_follow_ms
                       ? haproxy_follow_due_ms(a->last_follow_ms, a->last_follow_cost_ms,
                                               a->last_request_ms, a->quiet_ms)
                       : 0;
    if ((a->wanted || a->follow_owed) && !a->pending_reload && now < due) {
        if (!a->follow_timer) a->follow_timer = loop_timer(a->loop, due - now, on_follow_due, a);
        return;
    }
    if (a->follow_timer) loop_timer_cancel(a->loop, a->follow_timer);
    a->follow_timer = 0;
    if (a->follow_owed) { /* newer than wanted: it replaces it */
        a->follow_owed = false;
        char *text = a->follow_fn(a->follow_arg);
        if (text) {
            free(a->wanted);
            a->wanted = text;
        } else {
            log_error("haproxy config: out of memory, haproxy.cfg does not follow the runtime "
                      "change until the next one");
        }
    }
    if (a->wanted && a->rejected && strcmp(a->wanted, a->rejected) == 0) {
        log_debug("haproxy config is the one rejected last; waiting for the next change");
        free(a->wanted);
        a->wanted = NULL;
    }
    if (a->wanted && a->effective && strcmp(a->wanted, a->effective) == 0) {
        free(a->wanted); /* in effect already (a newer text was rejected meanwhile) */
        a->wanted = NULL;
        a->pending_reload = false;
    }
    if (a->wanted) {
        a->attempt = a->wanted;
        a->wanted = NULL;
        a->attempt_reload = a->pending_reload;
        a->pending_reload = false;
        a->follow_started_ms = now;
        a->phase = PH_WRITE;
        a->step_timer = loop_timer(a->loop, 0, on_write_step, a);
    } else if (reload_now(a)) {
        a->phase = PH_RELOAD;
        a->step_timer = loop_timer(a->loop, 0, on_reload_step, a);
    }
}

void haproxy_apply_confirm_reloads(struct haproxy_apply *a)
{
    a->confirm_reloads = true;
}

void haproxy_apply_reload_confirmed(struct haproxy_apply *a, bool took)
{
    if (!a->awaiting_confirm) return;
    a->awaiting_confirm = false;
    if (!took) {
        a->reload_owed = true;
        uint64_t delay_ms = retry_later(a);
        log_error("haproxy did not take reload #%u; HAProxy runs the previous config; reloading "
                  "again in %" PRIu64 " ms",
                  a->reloads, delay_ms);
        return;
    }
    backoff_reset(&a->retry_backoff);
    pump(a);
}

const char *haproxy_apply_effective_text(const struct haproxy_apply *a)
{
    return a->effective;
}

void haproxy_apply_follow(struct haproxy_apply *a, haproxy_text_fn *fn, void *arg)
{
    a->reload_failed = false;
    a->follow_fn = fn;
    a->follow_arg = arg;
    a->follow_owed = true;
    a->last_request_ms = loop_now_ms();
    pump(a);
}

void haproxy_apply_submit(struct haproxy_apply *a, const char *cfg_text, bool need_reload)
{
    if (a->rejected && strcmp(cfg_text, a->rejected) != 0) {
        free(a->rejected);
        a->rejected = NULL;
        free(a->rejected_output);
        a->rejected_output = NULL;
    }
    a->reload_failed = false;
    a->follow_owed = false; /* this text is newer */
    a->last_request_ms = loop_now_ms();
    if (a->phase == PH_IDLE && !a->wanted && !a->reload_owed && a->effective &&
        strcmp(cfg_text, a->effective) == 0)
        return;
    char *copy = strdup(cfg_text);
    if (!copy) {
        log_error("haproxy config: out of memory, dropped a %zu-byte update", strlen(cfg_text));
        return;
    }
    free(a->wanted);
    a->wanted = copy;
    a->pending_reload |= need_reload;
    pump(a);
}

/* ---- life cycle ---- */

static char *dup_or_null(const char *s, bool *failed)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *failed = true;
    return d;
}

struct haproxy_apply *haproxy_apply_new(struct loop *l, const struct haproxy_apply_opts *opts,
                                        haproxy_applied_fn *fn, void *arg)
{
    if (!opts->config_file_path || !*opts->config_file_path) {
        log_error("haproxy: config_file_path is required");
        return NULL;
    }
    struct haproxy_apply *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    bool failed = false;
    a->loop = l;
    a->fn = fn;
    a->arg = arg;
    a->child.fd = -1;
    a->target = dup_or_null(opts->config_file_path, &failed);
    if (opts->candidate_path) {
        a->candidate = dup_or_null(opts->candidate_path, &failed);
    } else if (asprintf(&a->candidate, "%s.candidate", opts->config_file_path) < 0) {
        a->candidate = NULL;
        failed = true;
    }
    a->binary = dup_or_null(opts->haproxy_binary ? opts->haproxy_binary : "haproxy", &failed);
    a->check_cmd = dup_or_null(opts->check_command, &failed);
    a->reload_cmd = dup_or_null(opts->reload_command, &failed);
    a->dir = dup_or_null(opts->config_file_path, &failed);
    if (a->candidate && asprintf(&a->env_candidate, "SMARTDOCK_CANDIDATE=%s", a->candidate) < 0) {
        a->env_candidate = NULL;
        failed = true;
    }
    if (failed) {
        log_error("haproxy: out of memory");
        haproxy_apply_free(a);
        return NULL;
    }
    /* The directory to fsync after rename; the candidate should live there too. */
    char *slash = strrchr(a->dir, '/');
    if (!slash)
        strcpy(a->dir, ".");
    else
        slash[slash == a->dir ? 1 : 0] = '\0';
    a->do_writes = opts->do_writes;
    a->do_checks = opts->do_checks;
    a->do_reloads = opts->do_reloads;
    a->interval_ms = opts->restart_interval_ms > 0 ? (uint64_t)opts->restart_interval_ms : 0;
    int pct = opts->restart_jitter_pct;
    a->jitter_pct = pct < 0 ? 0 : pct > 100 ? 100 : (uint64_t)pct;
    a->child_timeout_ms = CHILD_TIMEOUT_MS;
    a->quiet_ms = opts->follow_quiet_ms ? opts->follow_quiet_ms : FOLLOW_QUIET_MS;
    backoff_init(&a->retry_backoff, 1000, 60000, 0, 0); /* no jitter: one watcher per HAProxy */
    a->rng = (uint32_t)(loop_now_ms() ^ ((uint64_t)getpid() << 16)) | 1;
    return a;
}

void haproxy_apply_set_child_timeout_ms(struct haproxy_apply *a, unsigned ms)
{
    a->child_timeout_ms = ms;
}

void haproxy_apply_free(struct haproxy_apply *a)
{
    if (!a) return;
    struct child *c = &a->child;
    if (c->pid > 0 && !c->exited) {
        if (kill(-c->pid, SIGKILL) < 0) kill(c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    child_close_output(a);
    uint64_t timers[] = {c->kill_timer,   c->grace_timer, a->reload_timer, a->step_timer,
                         a->follow_timer, a->retry_timer, a->unnice_timer};
    for (size_t i = 0; i < sizeof timers / sizeof *timers; i++)
        if (timers[i]) loop_timer_cancel(a->loop, timers[i]);
    free(a->target);
    free(a->candidate);
    free(a->dir);
    free(a->binary);
    free(a->check_cmd);
    free(a->reload_cmd);
    free(a->env_candidate);
    free(a->effective);
    free(a->wanted);
    free(a->rejected);
    free(a->rejected_output);
    free(a->attempt);
    free(a);
}

unsigned haproxy_apply_reload_count(const struct haproxy_apply *a)
{
    return a->reloads;
}

unsigned haproxy_apply_write_count(const struct haproxy_apply *a)
{
    return a->writes;
}

bool haproxy_apply_idle(const struct haproxy_apply *a)
{
    return a->phase == PH_IDLE && !a->wanted && !a->follow_owed && !a->reload_timer &&
           !(a->reload_owed && a->awaiting_confirm);
}

bool haproxy_apply_child_running(const struct haproxy_apply *a)
{
    return a->phase != PH_IDLE;
}
