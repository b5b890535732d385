/* haproxy_runtime against a real HAProxy 2.6 started in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "haproxy_fixture.h"
#include "haproxy_runtime.h"
#include "log.h"
#include "loop.h"

struct fixture {
    char dir[64], sock[128];
    pid_t pid;
    struct loop *loop;
};

struct result {
    int calls;
    bool ok[8];
    char answer[8][256];
};

static struct result res;
static int expected_calls;
static struct loop *the_loop;

static void on_answer(void *arg, bool ok, const char *answer)
{
    (void)arg;
    res.ok[res.calls] = ok;
    snprintf(res.answer[res.calls], sizeof res.answer[0], "%s", answer);
    if (++res.calls == expected_calls) loop_stop(the_loop);
}

static void on_deadline(void *arg)
{
    (void)arg;
    loop_stop(the_loop);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/sd-rt-XXXXXX");
    f->loop = loop_new();
    f->pid =
        haproxy_fixture_start_with(f->dir, f->sock, sizeof f->sock,
                                   "backend web\n\tbalance roundrobin\n\tserver a 127.0.0.2:9\n");
    the_loop = f->loop;
    *state = f;
    return f->pid > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    loop_free(f->loop);
    int rc = haproxy_fixture_stop(f->pid, f->dir);
    free(f);
    return rc;
}

static void run(struct fixture *f, int calls)
{
    memset(&res, 0, sizeof res);
    expected_calls = calls;
    uint64_t t = loop_timer(f->loop, 60000, on_deadline, NULL);
    loop_run(f->loop);
    loop_timer_cancel(f->loop, t);
    assert_int_equal(res.calls, calls);
}

static void commands_run_in_order_and_are_judged(void **state)
{
    struct fixture *f = *state;
    struct haproxy_runtime *rt = haproxy_runtime_new(f->loop, f->sock, 30000);
    haproxy_runtime_send(rt, "show info", NULL, on_answer, NULL);
    haproxy_runtime_send(rt, "add server web/b 127.0.0.3:9 weight 5", "New server registered.",
                         on_answer, NULL);
    haproxy_runtime_send(rt, "enable server web/b", "", on_answer, NULL);
    haproxy_runtime_send(rt, "del server web/b", "Server deleted.", on_answer, NULL);
    haproxy_runtime_send(rt, "set server web/b state maint", "", on_answer, NULL);
    haproxy_runtime_send(rt, "del server web/b", "Server deleted.", on_answer, NULL);
    haproxy_runtime_send(rt, "set weight web/nope 3", "", on_answer, NULL);
    run(f, 7);
    assert_true(res.ok[0]);
    assert_non_null(strstr(res.answer[0], "Pid: "));
    assert_true(res.ok[1]);
    assert_true(res.ok[2]);
    assert_string_equal(res.answer[2], "");
    assert_false(res.ok[3]); /* not in maintenance yet */
    assert_string_equal(res.answer[3], "Only servers in maintenance mode can be deleted.");
    assert_true(res.ok[4]);
    assert_true(res.ok[5]);
    assert_false(res.ok[6]);
    assert_string_equal(res.answer[6], "No such server.");
    assert_int_equal(haproxy_runtime_command_count(rt), 7);
    assert_true(haproxy_runtime_idle(rt));
    haproxy_runtime_free(rt);
}

static void missing_socket_and_cancel(void **state)
{
    struct fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/nothing.sock", f->dir);
    struct haproxy_runtime *rt = haproxy_runtime_new(f->loop, path, 5000);
    int other;
    haproxy_runtime_send(rt, "show info", NULL, on_answer, &other); /* cancelled */
    haproxy_runtime_send(rt, "show info", NULL, on_answer, NULL);
    haproxy_runtime_cancel(rt, &other);
    run(f, 1);
    assert_false(res.ok[0]);
    assert_non_null(strstr(res.answer[0], "No such file or directory"));
    haproxy_runtime_free(rt);

    /* blocking client, same socket as the loop's */
    char *answer = NULL, err[200];
    assert_int_equal(
        haproxy_cli_query(f->sock, "show servers state web", 5000, &answer, err, sizeof err), 0);
    assert_non_null(strstr(answer, " web 1 a 127.0.0.2 "));
    free(answer);
    assert_int_equal(haproxy_cli_query(path, "show info", 1000, &answer, err, sizeof err), -1);
    assert_null(answer);
}

/* A socket whose backlog stays full (a hung HAProxy): connect keeps saying
 * EAGAIN until the command times out; nothing may run after that. */
static void full_backlog_times_out_cleanly(void **state)
{
    struct fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/hung.sock", f->dir);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int len = snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    assert_true(len > 0 && (size_t)len < sizeof sa.sun_path);
    assert_int_equal(0, bind(s, (struct sockaddr *)&sa, sizeof sa));
    assert_int_equal(0, listen(s, 0));
    int fillers[4];
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(fillers[i], (struct sockaddr *)&sa, sizeof sa);
    }
    struct haproxy_runtime *rt = haproxy_runtime_new(f->loop, path, 300);
    haproxy_runtime_send(rt, "show info", NULL, on_answer, NULL);
    run(f, 1);
    assert_false(res.ok[0]);
    /* Let any stray retry timer fire: it must find nothing to do. */
    uint64_t t = loop_timer(f->loop, 200, on_deadline, NULL);
    loop_run(f->loop);
    loop_timer_cancel(f->loop, t);
    assert_int_equal(res.calls, 1);
    haproxy_runtime_free(rt);
    for (int i = 0; i < 4; i++)
        close(fillers[i]);
    close(s);
    unlink(path);
}

static int big_calls, big_failed;
static bool last_listed;

static void on_state(void *arg, bool ok, const char *answer)
{
    /* the last server added, in service with weight 2 */
    last_listed = ok && strstr(answer, " n2499 127.0.0.3 2 0 2 2 ");
    on_answer(arg, ok, answer);
}

static void on_big(void *arg, bool ok, const char *answer)
{
    (void)arg;
    if (!ok) {
        if (big_failed++ == 0) print_message("failed: %s\n", answer);
    }
    if (++big_calls == expected_calls) loop_stop(the_loop);
}

/* Thousands of checked commands queued at once run in groups on shared
 * connections (interactive mode), each still judged by its own answer, and
 * more than a socket buffer of them neither stalls nor loses one. */
static void a_big_batch_runs_in_groups(void **state)
{
    struct fixture *f = *state;
    struct haproxy_runtime *rt = haproxy_runtime_new(f->loop, f->sock, 10000);
    char cmd[200];
    enum { N = 2500 };
    for (int i = 0; i < N; i++) {
        snprintf(cmd, sizeof cmd, "add server web/n%d 127.0.0.3:%d weight 2", i, 10000 + i);
        haproxy_runtime_send(rt, cmd, "New server registered.", on_big, NULL);
        snprintf(cmd, sizeof cmd, "enable server web/n%d", i);
        haproxy_runtime_send(rt, cmd, "", on_big, NULL);
    }
    /* one that fails in the middle of a group, judged alone */
    haproxy_runtime_send(rt, "add server web/n7 127.0.0.3:1", "New server registered.", on_answer,
                         NULL);
    haproxy_runtime_send(rt, "show servers state web", NULL, on_state, NULL);
    big_calls = big_failed = 0;
    memset(&res, 0, sizeof res);
    expected_calls = 2 * N;
    uint64_t t = loop_timer(f->loop, 60000, on_deadline, NULL);
    loop_run(f->loop);
    loop_timer_cancel(f->loop, t);
    assert_int_equal(big_calls, 2 * N);
    assert_int_equal(big_failed, 0);
    expected_calls = 2;
    t = loop_timer(f->loop, 60000, on_deadline, NULL);
    loop_run(f->loop);
    loop_timer_cancel(f->loop, t);
    assert_int_equal(res.calls, 2);
    assert_false(res.ok[0]);
    assert_non_null(strstr(res.answer[0], "Already exists"));
    assert_true(res.ok[1]);
    assert_true(last_listed);
    assert_int_equal(haproxy_runtime_command_count(rt), 2 * N + 2);
    haproxy_runtime_free(rt);
}

static struct haproxy_runtime *cancel_rt;
static int cancel_tag;

static void on_cancel_rest(void *arg, bool ok, const char *answer)
{
    on_answer(arg, ok, answer);
    haproxy_runtime_cancel(cancel_rt, &cancel_tag);
}

/* A callback that cancels commands of its own group: they were sent, but
 * their callbacks do not run. */
static void cancel_inside_a_group(void **state)
{
    struct fixture *f = *state;
    cancel_rt = haproxy_runtime_new(f->loop, f->sock, 30000);
    haproxy_runtime_send(cancel_rt, "set weight web/a 3", "", on_cancel_rest, NULL);
    haproxy_runtime_send(cancel_rt, "set weight web/a 4", "", on_answer, &cancel_tag);
    haproxy_runtime_send(cancel_rt, "set weight web/a 5", "", on_answer, NULL);
    run(f, 2);
    assert_true(res.ok[0]);
    assert_true(res.ok[1]);
    uint64_t t = loop_timer(f->loop, 200, on_deadline, NULL);
    loop_run(f->loop);
    loop_timer_cancel(f->loop, t);
    assert_int_equal(res.calls, 2);
    assert_true(haproxy_runtime_idle(cancel_rt));
    haproxy_runtime_free(cancel_rt);
}

int main(void)
{
    log_init("test", LL_WARN);
    if (access(HAPROXY, X_OK) != 0) {
        printf("SKIP: no %s\n", HAPROXY);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(commands_run_in_order_and_are_judged, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_socket_and_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(full_backlog_times_out_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(a_big_batch_runs_in_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_inside_a_group, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
