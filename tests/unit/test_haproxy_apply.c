#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "haproxy_apply.h"
#include "log.h"
#include "loop.h"

#define HAPROXY "/usr/sbin/haproxy"
#define DEADLINE_MS 60000 /* generous: real processes on a loaded machine */

static const char VALID[] = "global\n"
                            "  log stdout format raw local0\n"
                            "defaults\n"
                            "  mode http\n"
                            "  timeout connect 1s\n"
                            "  timeout client 1s\n"
                            "  timeout server 1s\n"
                            "frontend f\n"
                            "  bind 127.0.0.1:18999\n"
                            "  default_backend b\n"
                            "backend b\n"
                            "  server s1 127.0.0.1:%d\n";

static const char GARBAGE[] = "garbage here\nfrontend\n  blah\n";

/* One apply module on its own loop, writing into a fresh temp dir. */
struct h {
    char dir[64], target[128], candidate[160], countfile[128], reload_cmd[256];
    struct haproxy_apply_opts opts;
    struct loop *loop;
    struct haproxy_apply *a;
    int calls;
    bool ok, reloaded, timed_out;
};

static char *valid_cfg(int port)
{
    char *s;
    assert_true(asprintf(&s, VALID, port) > 0);
    return s;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void assert_file_eq(const char *path, const char *want)
{
    char *got = slurp(path);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Lines in the reload command's count file: how many reloads really ran. */
static int count_lines(const char *path)
{
    char *s = slurp(path);
    if (!s) return 0;
    int n = 0;
    for (char *p = s; *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

static void on_applied(void *arg, bool ok, bool reloaded)
{
    struct h *h = arg;
    h->calls++;
    h->ok = ok;
    h->reloaded = reloaded;
    loop_stop(h->loop);
}

static void on_signal(void *arg, int signo)
{
    struct h *h = arg;
    if (signo != SIGCHLD) return;
    pid_t pid;
    int st;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        if (!h->a || !haproxy_apply_child_exited(h->a, pid, st)) fail_msg("stray child %d", pid);
}

static void on_deadline(void *arg)
{
    struct h *h = arg;
    h->timed_out = true;
    loop_stop(h->loop);
}

/* Runs the loop until `calls` callbacks came (and, if asked, the module is
 * idle), or fails after a generous deadline. */
static void run_until(struct h *h, int calls, bool idle)
{
    h->timed_out = false;
    uint64_t t = loop_timer(h->loop, DEADLINE_MS, on_deadline, h);
    while (!h->timed_out && (h->calls < calls || (idle && !haproxy_apply_idle(h->a))))
        loop_run(h->loop);
    loop_timer_cancel(h->loop, t);
    assert_false(h->timed_out);
}

/* Runs the loop for ms and checks that no callback came. */
static void run_quiet(struct h *h, uint64_t ms)
{
    int before = h->calls;
    h->timed_out = false;
    loop_timer(h->loop, ms, on_deadline, h);
    while (!h->timed_out)
        loop_run(h->loop);
    assert_int_equal(h->calls, before);
}

static int setup(void **state)
{
    if (access(HAPROXY, X_OK) != 0) return -1;
    struct h *h = calloc(1, sizeof *h);
    strcpy(h->dir, "/tmp/smartdock-apply-XXXXXX");
    if (!mkdtemp(h->dir)) return -1;
    snprintf(h->target, sizeof h->target, "%s/haproxy.cfg", h->dir);
    snprintf(h->candidate, sizeof h->candidate, "%s.candidate", h->target);
    snprintf(h->countfile, sizeof h->countfile, "%s/reloads", h->dir);
    snprintf(h->reload_cmd, sizeof h->reload_cmd, "echo x >> %s", h->countfile);
    h->opts = (struct haproxy_apply_opts){
        .config_file_path = h->target,
        .haproxy_binary = HAPROXY,
        .reload_command = h->reload_cmd,
        .do_writes = true,
        .do_checks = true,
        .do_reloads = true,
    };
    h->loop = loop_new();
    loop_on_signal(h->loop, on_signal, h);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    struct h *h = *state;
    haproxy_apply_free(h->a);
    loop_free(h->loop);
    DIR *d = opendir(h->dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", h->dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(h->dir);
    free(h);
    return 0;
}

static void start(struct h *h)
{
    h->a = haproxy_apply_new(h->loop, &h->opts, on_applied, h);
    assert_non_null(h->a);
}

static void valid_config_is_written_and_reloaded_once(void **state)
{
    struct h *h = *state;
    start(h);
    char *cfg = valid_cfg(1);
    haproxy_apply_submit(h->a, cfg, true);
    assert_int_equal(h->calls, 0); /* never from inside submit */
    run_until(h, 1, true);
    assert_true(h->ok);
    assert_true(h->reloaded);
    assert_file_eq(h->target, cfg);
    assert_int_not_equal(access(h->candidate, F_OK), 0); /* renamed away */
    assert_int_equal(haproxy_apply_write_count(h->a), 1);
    assert_int_equal(haproxy_apply_reload_count(h->a), 1);
    assert_int_equal(count_lines(h->countfile), 1);

    /* The same text again: nothing at all. */
    haproxy_apply_submit(h->a, cfg, true);
    assert_true(haproxy_apply_idle(h->a));
    run_quiet(h, 200);
    assert_int_equal(haproxy_apply_write_count(h->a), 1);
    assert_int_equal(count_lines(h->countfile), 1);
    free(cfg);
}

static void invalid_config_keeps_running_one_until_next_change(void **state)
{
    struct h *h = *state;
    start(h);
    char *good = valid_cfg(1), *better = valid_cfg(2);
    haproxy_apply_submit(h->a, good, true);
    run_until(h, 1, true);
    assert_true(h->ok);

    haproxy_apply_submit(h->a, GARBAGE, true);
    run_until(h, 2, true);
    assert_false(h->ok);
    assert_false(h->reloaded);
    assert_file_eq(h->target, good);
    assert_file_eq(h->candidate, GARBAGE); /* left for inspection */
    assert_int_equal(haproxy_apply_write_count(h->a), 1);
    assert_int_equal(haproxy_apply_reload_count(h->a), 1);
    /* what was refused and HAProxy's words about it, for haproxy_blame */
    assert_string_equal(haproxy_apply_rejected_text(h->a), GARBAGE);
    assert_non_null(strstr(haproxy_apply_rejected_output(h->a), "[ALERT]"));
    assert_non_null(strstr(haproxy_apply_rejected_output(h->a), ":1]"));

    /* Not retried until the text changes. */
    haproxy_apply_submit(h->a, GARBAGE, true);
    assert_true(haproxy_apply_idle(h->a));
    run_quiet(h, 200);

    haproxy_apply_submit(h->a, better, false);
    run_until(h, 3, true);
    assert_true(h->ok);
    assert_true(h->reloaded); /* the rejected text's reload carried over */
    assert_file_eq(h->target, better);
    assert_int_equal(haproxy_apply_write_count(h->a), 2);
    assert_int_equal(count_lines(h->countfile), 2);
    assert_null(haproxy_apply_rejected_text(h->a));
    assert_null(haproxy_apply_rejected_output(h->a));
    free(good);
    free(better);
}

static void burst_coalesces(void **state)
{
    struct h *h = *state;
    h->opts.restart_interval_ms = 500;
    start(h);
    char *last = NULL;
    for (int i = 0; i < 100; i++) {
        free(last);
        last = valid_cfg(1000 + i);
        haproxy_apply_submit(h->a, last, true);
    }
    run_until(h, 1, true);
    assert_true(h->ok);
    assert_file_eq(h->target, last);
    assert_in_range(haproxy_apply_write_count(h->a), 1, 2);
    assert_in_range(haproxy_apply_reload_count(h->a), 1, 2);
    assert_int_equal(count_lines(h->countfile), (int)haproxy_apply_reload_count(h->a));
    free(last);
}

static void restart_interval_defers_second_reload(void **state)
{
    struct h *h = *state;
    /* No check: the second write lands well within the interval even on a
     * loaded machine, so the counts below do not depend on timing. */
    h->opts.do_checks = false;
    h->opts.restart_interval_ms = 1000;
    h->opts.restart_jitter_pct = 10;
    start(h);
    char *one = valid_cfg(1), *two = valid_cfg(2);
    haproxy_apply_submit(h->a, one, true);
    run_until(h, 1, false);
    assert_true(h->reloaded);
    assert_int_equal(haproxy_apply_reload_count(h->a), 1);

    haproxy_apply_submit(h->a, two, true);
    run_until(h, 2, false);
    assert_true(h->ok); /* written, reload waits for the timer */
    assert_false(h->reloaded);
    assert_file_eq(h->target, two);
    assert_int_equal(haproxy_apply_write_count(h->a), 2);
    assert_int_equal(haproxy_apply_reload_count(h->a), 1);
    assert_false(haproxy_apply_idle(h->a));

    run_until(h, 3, true);
    assert_true(h->ok);
    assert_true(h->reloaded);
    assert_int_equal(haproxy_apply_reload_count(h->a), 2);
    assert_int_equal(count_lines(h->countfile), 2);
    free(one);
    free(two);
}

static void no_reload_when_not_needed(void **state)
{
    struct h *h = *state;
    start(h);
    char *cfg = valid_cfg(1);
    haproxy_apply_submit(h->a, cfg, false);
    run_until(h, 1, true);
    assert_true(h->ok);
    assert_false(h->reloaded);
    assert_file_eq(h->target, cfg);
    assert_int_equal(haproxy_apply_write_count(h->a), 1);
    assert_int_equal(haproxy_apply_reload_count(h->a), 0);
    assert_int_equal(count_lines(h->countfile), 0);
    free(cfg);
}

/* Files that only follow runtime changes are paced (haproxy_follow_due_ms);
 * a text that needs a reload, submitted while a follow-only text waits,
 * replaces it and is applied. */
static void follow_writes_are_spaced(void **state)
{
    struct h *h = *state;
    start(h);
    char *one = valid_cfg(1), *two = valid_cfg(2), *three = valid_cfg(3);
    haproxy_apply_submit(h->a, one, false);
    run_until(h, 1, true);
    haproxy_apply_submit(h->a, two, false);
    run_until(h, 2, true);
    assert_true(h->ok);
    assert_file_eq(h->target, two);
    haproxy_apply_submit(h->a, one, false);  /* waits for the gap... */
    haproxy_apply_submit(h->a, three, true); /* ...and is replaced */
    run_until(h, 3, true);
    assert_true(h->ok);
    assert_true(h->reloaded);
    assert_file_eq(h->target, three);
    assert_int_equal(haproxy_apply_write_count(h->a), 3);
    free(one);
    free(two);
    free(three);
}

/* A follow-up's text, printed on demand: what the file follows is the
 * newest text by the time its write is due. */
struct follow_src {
    char *text; /* borrowed */
    int printed;
};

static char *print_follow(void *arg)
{
    struct follow_src *f = arg;
    f->printed++;
    return strdup(f->text);
}

/* Runtime follow-ups print the text only when the write is due: several
 * owed within the 500 ms gap make one print and one write of the newest; a
 * submit replaces an owed follow-up (its text is newer). */
static void follow_prints_text_only_when_due(void **state)
{
    struct h *h = *state;
    start(h);
    char *one = valid_cfg(1), *two = valid_cfg(2), *three = valid_cfg(3), *four = valid_cfg(4);
    struct follow_src src = {.text = one};
    haproxy_apply_follow(h->a, print_follow, &src);
    run_until(h, 1, true);
    assert_true(h->ok);
    assert_int_equal(src.printed, 1);
    assert_file_eq(h->target, one);
    /* within the gap: owed, not printed */
    src.text = two;
    haproxy_apply_follow(h->a, print_follow, &src);
    src.text = three;
    haproxy_apply_follow(h->a, print_follow, &src);
    assert_int_equal(src.printed, 1);
    assert_false(haproxy_apply_idle(h->a));
    run_until(h, 2, true);
    assert_true(h->ok);
    assert_int_equal(src.printed, 2);
    assert_file_eq(h->target, three);
    assert_int_equal(haproxy_apply_write_count(h->a), 2);
    /* a submit after an owed follow-up wins, and the follow-up is dropped */
    src.text = one;
    haproxy_apply_follow(h->a, print_follow, &src);
    haproxy_apply_submit(h->a, four, true);
    run_until(h, 3, true);
    assert_true(h->ok);
    assert_true(h->reloaded);
    assert_int_equal(src.printed, 2);
    assert_file_eq(h->target, four);
    run_quiet(h, 700);
    assert_int_equal(src.printed, 2);
    assert_file_eq(h->target, four);
    free(one);
    free(two);
    free(three);
    free(four);
}

/* The pacing of follow-only writes (ms): spaced by max(500 ms, twice the
 * last check's cost) while texts keep coming; once they pause for 100 ms,
 * due at once, but no sooner than half the last cost (at most 500 ms)
 * after it ended. A
 * 10,000-server check costs ~0.5 s of CPU: during a burst it ran every
 * 500 ms, and after the last change it waited out the gap. */
static void follow_pacing_follows_the_checks_cost(void **state)
{
    (void)state;
    /* a cheap check, texts coming: the 500 ms floor, or 100 ms after the
     * last text when that is sooner */
    assert_int_equal(haproxy_follow_due_ms(10000, 20, 10400, 100), 10500);
    assert_int_equal(haproxy_follow_due_ms(10000, 20, 10050, 100), 10150);
    /* a costly one (700 ms): 1.4 s apart while texts keep coming */
    assert_int_equal(haproxy_follow_due_ms(10000, 700, 11350, 100), 11400);
    /* ... but 100 ms after the last text once they pause */
    assert_int_equal(haproxy_follow_due_ms(10000, 700, 10600, 100), 10700);
    /* ... and no sooner than half its cost after the last check */
    assert_int_equal(haproxy_follow_due_ms(10000, 700, 10000, 100), 10350);
    /* ... at most 500 ms: a check starved for 1.6 s on a loaded machine */
    assert_int_equal(haproxy_follow_due_ms(10000, 1600, 10000, 100), 10500);
    assert_int_equal(haproxy_follow_due_ms(10000, 1600, 12000, 100), 12100);
    /* a text long after the last check: due already */
    assert_true(haproxy_follow_due_ms(10000, 700, 20000, 100) <= 20000);
}

static void without_checks_any_text_is_written(void **state)
{
    struct h *h = *state;
    h->opts.do_checks = false;
    start(h);
    haproxy_apply_submit(h->a, GARBAGE, false);
    run_until(h, 1, true);
    assert_true(h->ok);
    assert_file_eq(h->target, GARBAGE);
    assert_int_equal(haproxy_apply_write_count(h->a), 1);
}

static void dry_run_writes_nothing(void **state)
{
    struct h *h = *state;
    h->opts.do_writes = false;
    start(h);
    char *cfg = valid_cfg(1);
    haproxy_apply_submit(h->a, cfg, true);
    run_until(h, 1, true);
    assert_true(h->ok);
    assert_false(h->reloaded);
    assert_int_not_equal(access(h->target, F_OK), 0);
    assert_int_not_equal(access(h->candidate, F_OK), 0);
    assert_int_equal(haproxy_apply_write_count(h->a), 0);
    assert_int_equal(count_lines(h->countfile), 0);
    free(cfg);
}

static void failing_reload_reports_and_retries_on_next_submit(void **state)
{
    struct h *h = *state;
    h->opts.reload_command = "echo boom >&2; exit 3";
    start(h);
    char *cfg = valid_cfg(1);
    haproxy_apply_submit(h->a, cfg, true);
    run_until(h, 1, true);
    assert_false(h->ok);
    assert_false(h->reloaded);
    assert_file_eq(h->target, cfg);
    assert_int_equal(haproxy_apply_write_count(h->a), 1);
    assert_int_equal(haproxy_apply_reload_count(h->a), 0);

    /* Same text: no write, but the owed reload is tried again. */
    haproxy_apply_submit(h->a, cfg, false);
    run_until(h, 2, true);
    assert_false(h->ok);
    assert_int_equal(haproxy_apply_write_count(h->a), 1);
    free(cfg);
}

/* A reload that fails once (systemd busy, say) is retried on its own, with
 * no new change to trigger it. */
/* haproxy_apply_reload_confirmed(took), with what it logged in said. */
static void confirm_logged(struct h *h, bool took, char *said, size_t len)
{
    char path[160];
    snprintf(path, sizeof path, "%s/said", h->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    haproxy_apply_reload_confirmed(h->a, took);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, said, len - 1, 0);
    close(fd);
    unlink(path);
    said[n > 0 ? n : 0] = '\0';
}

/*
 * With confirmation on, a reload waits until the one before it is known to
 * have taken effect: a USR2 that reached HAProxy 2.6's master while it was
 * still reloading was lost, and the watcher took the process of the reload
 * before for the new one. A reload that did not take is sent again.
 */
static void reload_waits_until_the_last_one_is_confirmed(void **state)
{
    struct h *h = *state;
    h->opts.do_checks = false;
    start(h);
    haproxy_apply_confirm_reloads(h->a);
    char *one = valid_cfg(1), *two = valid_cfg(2);
    haproxy_apply_submit(h->a, one, true);
    run_until(h, 1, false);
    assert_true(h->reloaded);

    haproxy_apply_submit(h->a, two, true);
    run_until(h, 2, false);
    assert_true(h->ok); /* written; its reload waits */
    assert_false(h->reloaded);
    assert_file_eq(h->target, two);
    run_quiet(h, 300);
    assert_int_equal(count_lines(h->countfile), 1);
    assert_false(haproxy_apply_idle(h->a));

    haproxy_apply_reload_confirmed(h->a, true);
    run_until(h, 3, false);
    assert_true(h->reloaded);
    assert_int_equal(count_lines(h->countfile), 2);

    char said[4096];
    confirm_logged(h, false, said, sizeof said); /* it did not take */
    assert_non_null(strstr(said, "did not take reload #2; HAProxy runs the previous config; "
                                 "reloading again in 1000 ms"));
    run_until(h, 4, true); /* after the backoff's second */
    assert_true(h->ok);
    assert_true(h->reloaded);
    assert_int_equal(haproxy_apply_reload_count(h->a), 3);
    assert_int_equal(count_lines(h->countfile), 3);
    assert_int_equal(haproxy_apply_write_count(h->a), 2);

    /* Nor did that one: the wait doubles, since no reload was confirmed
     * (the reload itself succeeding had reset it to a second each time). */
    confirm_logged(h, false, said, sizeof said);
    assert_non_null(strstr(said, "reloading again in 2000 ms"));
    run_until(h, 5, true);
    haproxy_apply_reload_confirmed(h->a, true); /* this one took: back to a second */
    haproxy_apply_submit(h->a, one, true);
    run_until(h, 6, true);
    confirm_logged(h, false, said, sizeof said);
    assert_non_null(strstr(said, "reloading again in 1000 ms"));
    free(one);
    free(two);
}

static void failed_reload_is_retried_on_a_timer(void **state)
{
    struct h *h = *state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test -e %s/failed-once || { touch %s/failed-once; exit 1; }", h->dir,
             h->dir);
    h->opts.reload_command = cmd;
    start(h);
    char *cfg = valid_cfg(1);
    haproxy_apply_submit(h->a, cfg, true);
    run_until(h, 1, false);
    assert_false(h->ok);
    assert_int_equal(haproxy_apply_reload_count(h->a), 0);
    run_until(h, 2, true); /* the retry, after about a second */
    assert_true(h->ok);
    assert_true(h->reloaded);
    assert_int_equal(haproxy_apply_reload_count(h->a), 1);
    assert_int_equal(haproxy_apply_write_count(h->a), 1);
    free(cfg);
}

static void check_command_sees_candidate(void **state)
{
    struct h *h = *state;
    h->opts.check_command = "grep -q '^backend b' \"$SMARTDOCK_CANDIDATE\"";
    start(h);
    char *cfg = valid_cfg(1);
    haproxy_apply_submit(h->a, cfg, true);
    run_until(h, 1, true);
    assert_true(h->ok);
    assert_file_eq(h->target, cfg);

    haproxy_apply_submit(h->a, GARBAGE, true);
    run_until(h, 2, true);
    assert_false(h->ok);
    assert_file_eq(h->target, cfg);
    free(cfg);
}

/* Children see only stdin, stdout and stderr of ours (ls adds its own 3). */
static void children_inherit_no_fds(void **state)
{
    struct h *h = *state;
    char cmd[256], fds[160];
    snprintf(fds, sizeof fds, "%s/fds", h->dir);
    snprintf(cmd, sizeof cmd, "ls /proc/self/fd | tr '\\n' ' ' > %s", fds);
    h->opts.check_command = cmd;
    start(h);
    char *cfg = valid_cfg(1);
    haproxy_apply_submit(h->a, cfg, false);
    run_until(h, 1, true);
    assert_true(h->ok);
    assert_file_eq(fds, "0 1 2 3 ");
    free(cfg);
}

/* Children lead their own process group (a timeout kills it whole), with
 * no signal blocked and SIGPIPE not ignored, whatever the loop does. */
static void children_start_clean(void **state)
{
    struct h *h = *state;
    h->opts.check_command = "[ \"$(cut -d' ' -f5 /proc/$$/stat)\" = \"$$\" ] && "
                            "blk=$(awk '/^SigBlk/ { print $2 }' /proc/$$/status) && "
                            "ign=$(awk '/^SigIgn/ { print $2 }' /proc/$$/status) && "
                            "[ $((0x$blk)) = 0 ] && [ $((0x$ign & 0x1000)) = 0 ]";
    start(h);
    char *cfg = valid_cfg(1);
    haproxy_apply_submit(h->a, cfg, false);
    run_until(h, 1, true);
    assert_true(h->ok);
    free(cfg);
}

/* A follow-only check runs 10 nicer than the watcher (capped at 19); a
 * check for a reload at the watcher's own priority. */
static void follow_checks_run_nicer(void **state)
{
    struct h *h = *state;
    char cmd[256], nices[160];
    snprintf(nices, sizeof nices, "%s/nices", h->dir);
    snprintf(cmd, sizeof cmd, "cut -d' ' -f19 /proc/$$/stat >> %s", nices);
    h->opts.check_command = cmd;
    /* changes "keep coming" for the whole test: a loaded machine may start
     * the check later than the 100 ms that make a pause */
    h->opts.follow_quiet_ms = 60000;
    start(h);
    char *one = valid_cfg(1), *two = valid_cfg(2);
    haproxy_apply_submit(h->a, one, false);
    run_until(h, 1, true);
    haproxy_apply_submit(h->a, two, true);
    run_until(h, 2, true);
    assert_true(h->ok);
    errno = 0;
    int ours = getpriority(PRIO_PROCESS, 0);
    assert_int_equal(errno, 0);
    char want[32];
    snprintf(want, sizeof want, "%d\n%d\n", ours + 10 < 19 ? ours + 10 : 19, ours);
    assert_file_eq(nices, want);
    free(one);
    free(two);
}

/* More output than a socket buffer holds: drained, kept up to a cap, judged. */
static void large_output_is_drained(void **state)
{
    struct h *h = *state;
    h->opts.check_command = "head -c 1000000 /dev/zero | tr '\\0' 'a'; echo";
    start(h);
    char *cfg = valid_cfg(1);
    haproxy_apply_submit(h->a, cfg, false);
    run_until(h, 1, true);
    assert_true(h->ok);
    assert_file_eq(h->target, cfg);
    free(cfg);
}

static void hanging_check_is_killed(void **state)
{
    struct h *h = *state;
    h->opts.check_command = "echo checking; sleep 300; echo never";
    start(h);
    haproxy_apply_set_child_timeout_ms(h->a, 200);
    haproxy_apply_submit(h->a, GARBAGE, true);
    uint64_t t0 = loop_now_ms();
    run_until(h, 1, true);
    assert_false(h->ok);
    assert_true(loop_now_ms() - t0 < 60000); /* killed, not waited for */
    assert_int_not_equal(access(h->target, F_OK), 0);
}

static void free_kills_running_child(void **state)
{
    struct h *h = *state;
    h->opts.check_command = "sleep 300";
    start(h);
    haproxy_apply_submit(h->a, GARBAGE, true);
    h->timed_out = false;
    loop_timer(h->loop, 100, on_deadline, h); /* the check has started by then */
    while (!h->timed_out)
        loop_run(h->loop);
    assert_false(haproxy_apply_idle(h->a));
    uint64_t t0 = loop_now_ms();
    haproxy_apply_free(h->a);
    h->a = NULL;
    assert_true(loop_now_ms() - t0 < 60000); /* killed, not waited for */
    assert_int_equal(h->calls, 0);
}

int main(void)
{
    log_init("test", LL_DEBUG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(valid_config_is_written_and_reloaded_once, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_config_keeps_running_one_until_next_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(burst_coalesces, setup, teardown),
        cmocka_unit_test_setup_teardown(restart_interval_defers_second_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(no_reload_when_not_needed, setup, teardown),
        cmocka_unit_test(follow_pacing_follows_the_checks_cost),
        cmocka_unit_test_setup_teardown(follow_writes_are_spaced, setup, teardown),
        cmocka_unit_test_setup_teardown(follow_prints_text_only_when_due, setup, teardown),
        cmocka_unit_test_setup_teardown(without_checks_any_text_is_written, setup, teardown),
        cmocka_unit_test_setup_teardown(dry_run_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_reload_reports_and_retries_on_next_submit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failed_reload_is_retried_on_a_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_waits_until_the_last_one_is_confirmed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(check_command_sees_candidate, setup, teardown),
        cmocka_unit_test_setup_teardown(children_inherit_no_fds, setup, teardown),
        cmocka_unit_test_setup_teardown(children_start_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(follow_checks_run_nicer, setup, teardown),
        cmocka_unit_test_setup_teardown(large_output_is_drained, setup, teardown),
        cmocka_unit_test_setup_teardown(hanging_check_is_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(free_kills_running_child, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
