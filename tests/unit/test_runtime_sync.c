/* runtime_sync against a real HAProxy 2.6 started in a temp dir: changes
 * planned and queued while earlier ones are in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "haproxy_fixture.h"
#include "haproxy_runtime.h"
#include "log.h"
#include "loop.h"
#include "render.h"
#include "runtime_sync.h"
#include "syn_config.h"

struct fixture {
    char dir[64], sock[128];
    pid_t pid;
    struct loop *loop;
    struct syn_config *cfg;
};

#define MAX_DONE 8
struct done_log {
    int n;
    bool ok[MAX_DONE];
    const struct render_model *applied[MAX_DONE];
    int want;
    struct loop *loop;
    int confirmed; /* confirmations ended */
    bool took;     /* the last one's verdict */
};

static void on_confirmed(void *arg, bool took)
{
    struct done_log *d = arg;
    d->confirmed++;
    d->took = took;
    loop_stop(d->loop);
}

static void on_done(void *arg, bool ok, const char *why, const struct render_model *applied)
{
    struct done_log *d = arg;
    if (!ok) print_message("runtime_sync failed: %s\n", why ? why : "?");
    if (d->n < MAX_DONE) {
        d->ok[d->n] = ok;
        d->applied[d->n] = applied;
    }
    if (++d->n >= d->want) loop_stop(d->loop);
}

static void on_deadline(void *arg)
{
    loop_stop(arg);
}

static void run_until(struct fixture *f, struct done_log *d, int want)
{
    d->want = want;
    d->loop = f->loop;
    uint64_t t = loop_timer(f->loop, 20000, on_deadline, f->loop);
    loop_run(f->loop);
    loop_timer_cancel(f->loop, t);
    assert_int_equal(d->n, want);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/sd-rs-XXXXXX");
    char err[512] = "";
    const char *json = "{\"services\":{"
                       "\"a\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{\"port\":3001}},"
                       "\"b\":{\"discovery\":{\"method\":\"base\"},\"haproxy\":{\"port\":3002}}},"
                       "\"haproxy\":{\"do_writes\":false,\"do_reloads\":false}}";
    if (syn_config_parse(json, &f->cfg, err, sizeof err) != 0) {
        print_message("%s\n", err);
        return -1;
    }
    f->loop = loop_new();
    f->pid = haproxy_fixture_start_with(
        f->dir, f->sock, sizeof f->sock,
        "backend a\n\tbalance roundrobin\nbackend b\n\tbalance roundrobin\n");
    *state = f;
    return f->pid > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    loop_free(f->loop);
    syn_config_free(f->cfg);
    int rc = haproxy_fixture_stop(f->pid, f->dir);
    free(f);
    return rc;
}

static void add(struct backend_list *l, const char *name, const char *host, int port,
                const char *options)
{
    struct backend b = {0};
    b.name = strdup(name);
    b.host = strdup(host);
    b.port = port;
    b.weight = BACKEND_WEIGHT_UNSET;
    b.haproxy_server_options = options ? strdup(options) : NULL;
    assert_int_equal(backend_list_push(l, &b), 0);
}

/* The model of lists, built from prev with every service marked changed. */
static struct render_model *model(struct fixture *f, struct backend_list *lists,
                                  const struct render_model *prev)
{
    bool changed[2] = {true, true};
    struct render_model *m =
        render_model_new(f->cfg, lists, NULL, prev, prev ? changed : NULL, NULL);
    assert_non_null(m);
    return m;
}

/* A runtime_sync that adopted HAProxy without servers (lists, empty): ready. */
static struct runtime_sync *adopted_confirming_in(struct fixture *f, struct done_log *d,
                                                  struct backend_list *lists,
                                                  unsigned confirm_timeout_ms)
{
    struct runtime_sync_opts o = {.socket_path = f->sock,
                                  .drain_timeout_ms = 10000,
                                  .command_timeout_ms = 5000,
                                  .confirm_timeout_ms = confirm_timeout_ms,
                                  .confirmed = on_confirmed};
    struct runtime_sync *rs = runtime_sync_new(f->loop, f->cfg, &o, on_done, d);
    assert_non_null(rs);
    runtime_sync_adopt(rs, model(f, lists, NULL)); /* HAProxy has no server: it matches */
    run_until(f, d, 1);
    assert_true(d->ok[0]);
    return rs;
}

static struct runtime_sync *adopted(struct fixture *f, struct done_log *d,
                                    struct backend_list *lists)
{
    return adopted_confirming_in(f, d, lists, 0);
}

/* Runs the loop until a confirmation ends, or fails after 30 s. */
static void run_until_confirmed(struct fixture *f, struct done_log *d, int confirmed)
{
    d->loop = f->loop;
    d->want = 100;
    uint64_t end = loop_now_ms() + 30000;
    uint64_t t = loop_timer(f->loop, 30000, on_deadline, f->loop);
    while (d->confirmed < confirmed && loop_now_ms() < end)
        loop_run(f->loop);
    loop_timer_cancel(f->loop, t);
    assert_int_equal(d->confirmed, confirmed);
}

/* Its line of "show servers state", or "" when HAProxy has no such server. */
static void server_state(struct fixture *f, const char *backend, const char *server, char *out,
                         size_t outlen)
{
    char *answer = NULL, err[200], cmd[100];
    snprintf(cmd, sizeof cmd, "show servers state %s", backend);
    assert_int_equal(haproxy_cli_query(f->sock, cmd, 5000, &answer, err, sizeof err), 0);
    out[0] = '\0';
    for (char *line = strtok(answer, "\n"); line; line = strtok(NULL, "\n")) {
        char be[64], name[128];
        if (sscanf(line, "%*s %63s %*s %127s", be, name) == 2 && !strcmp(be, backend) &&
            !strcmp(name, server))
            snprintf(out, outlen, "%s", line);
    }
    free(answer);
}

/* srv_op_state (field 6) and srv_admin_state (field 7) of a state line. */
static void op_admin(const char *line, int *op, int *admin)
{
    assert_int_equal(sscanf(line, "%*s %*s %*s %*s %*s %d %d", op, admin), 2);
}

/*
 * Three changes, each rendered while the ones before are in flight: each
 * is planned against the one before and queued at once (it used to be
 * refused until the batch in flight had ended), they take effect in order,
 * and a server removed right after it was added is drained after its add.
 * A change that needs a reload meanwhile waits.
 */
static void changes_queue_behind_changes_in_flight(void **state)
{
    struct fixture *f = *state;
    struct done_log d = {0};
    struct backend_list lists[2] = {{0}};
    struct runtime_sync *rs = adopted(f, &d, lists);
    assert_true(runtime_sync_ready(rs));
    assert_false(runtime_sync_busy(rs));
    const struct render_model *m0 = d.applied[0];
    struct render_model *base = render_model_share(m0);

    char why[400];
    add(&lists[0], "a1", "127.0.0.2", 9001, NULL);
    struct render_model *m1 = model(f, lists, base), *m1_seen = m1;
    assert_int_equal(runtime_sync_apply(rs, &m1, why, sizeof why), RUNTIME_APPLYING);
    assert_null(m1);
    assert_true(runtime_sync_busy(rs));

    add(&lists[1], "b1", "127.0.0.3", 9002, "check");
    struct render_model *m2 = model(f, lists, m1_seen), *m2_seen = m2;
    assert_int_equal(runtime_sync_apply(rs, &m2, why, sizeof why), RUNTIME_APPLYING);

    backend_list_clear(&lists[0]); /* a1 goes again before its add is answered */
    struct render_model *m3 = model(f, lists, m2_seen), *m3_seen = m3;
    assert_int_equal(runtime_sync_apply(rs, &m3, why, sizeof why), RUNTIME_APPLYING);

    /* "disabled" cannot be set at run time: a reload, once they have ended */
    add(&lists[0], "a2", "127.0.0.2", 9003, "disabled");
    struct render_model *m4 = model(f, lists, m3_seen);
    assert_int_equal(runtime_sync_apply(rs, &m4, why, sizeof why), RUNTIME_WAIT);
    assert_non_null(strstr(why, "disabled"));
    assert_non_null(m4); /* left to the caller */

    run_until(f, &d, 4);
    for (int i = 1; i < 4; i++)
        assert_true(d.ok[i]);
    assert_ptr_equal(d.applied[1], m1_seen);
    assert_ptr_equal(d.applied[2], m2_seen);
    assert_ptr_equal(d.applied[3], m3_seen);
    assert_false(runtime_sync_busy(rs));
    assert_int_equal(runtime_sync_apply(rs, &m4, why, sizeof why), RUNTIME_RELOAD);

    char line[512];
    int op, admin;
    server_state(f, "b", "b1_127.0.0.3:9002", line, sizeof line);
    assert_true(line[0]);
    op_admin(line, &op, &admin);
    assert_int_equal(admin, 0); /* out of maintenance */
    /* a1: added, then drained (SRV_ADMF_DRAIN 0x10), or deleted already */
    server_state(f, "a", "a1_127.0.0.2:9001", line, sizeof line);
    if (line[0]) {
        op_admin(line, &op, &admin);
        assert_true(admin & 0x18);
    }

    render_model_free(m4);
    render_model_free(base);
    runtime_sync_free(rs);
    backend_list_clear(&lists[0]);
    backend_list_clear(&lists[1]);
}

/*
 * What HAProxy runs becomes unknown (it restarted, or a write failed) while
 * a change is in flight: the change ends as failed at once, so the caller
 * reloads with the newest config. It used to run on and report success
 * later, after the caller had reloaded with a newer config meanwhile: the
 * file then followed that older change.
 */
static void invalidate_ends_the_changes_in_flight(void **state)
{
    struct fixture *f = *state;
    struct done_log d = {0};
    struct backend_list lists[2] = {{0}};
    struct runtime_sync *rs = adopted(f, &d, lists);
    struct render_model *base = render_model_share(d.applied[0]);

    char why[400];
    add(&lists[0], "a1", "127.0.0.2", 9001, NULL);
    struct render_model *m1 = model(f, lists, base);
    assert_int_equal(runtime_sync_apply(rs, &m1, why, sizeof why), RUNTIME_APPLYING);
    assert_true(runtime_sync_busy(rs));

    runtime_sync_invalidate(rs);
    assert_int_equal(d.n, 2);
    assert_false(d.ok[1]);
    assert_false(runtime_sync_busy(rs));
    assert_false(runtime_sync_ready(rs));

    /* the commands already sent are answered: no word of them any more */
    uint64_t t = loop_timer(f->loop, 500, on_deadline, f->loop);
    d.want = 100;
    d.loop = f->loop;
    loop_run(f->loop);
    loop_timer_cancel(f->loop, t);
    assert_int_equal(d.n, 2);

    render_model_free(base);
    runtime_sync_free(rs);
    backend_list_clear(&lists[0]);
    backend_list_clear(&lists[1]);
}

/*
 * A reload after which the process from before still answers did not take
 * effect, and the caller is told so, also when what HAProxy runs was made
 * unknown meanwhile (the watcher submits a newer config at once). HAProxy
 * 2.6's master lost a USR2 that came while it was still reloading; the
 * watcher then took the process of the reload before for the new one and
 * never put the newest config into effect.
 */
static void a_reload_that_did_not_take_is_told(void **state)
{
    struct fixture *f = *state;
    struct done_log d = {0};
    struct backend_list lists[2] = {{0}};
    struct runtime_sync *rs = adopted_confirming_in(f, &d, lists, 300);
    add(&lists[0], "a1", "127.0.0.2", 9001, NULL);
    runtime_sync_reloaded(rs, model(f, lists, d.applied[0])); /* no reload happens */
    assert_true(runtime_sync_confirming(rs));
    runtime_sync_invalidate(rs);
    assert_true(runtime_sync_confirming(rs));
    run_until_confirmed(f, &d, 1);
    assert_false(d.took);
    assert_false(runtime_sync_confirming(rs));
    assert_false(runtime_sync_ready(rs));
    runtime_sync_free(rs);
    backend_list_clear(&lists[0]);
}

/* Another process answering on the socket confirms the reload: ready. */
static void a_new_process_confirms_the_reload(void **state)
{
    struct fixture *f = *state;
    struct done_log d = {0};
    struct backend_list lists[2] = {{0}};
    struct runtime_sync *rs = adopted_confirming_in(f, &d, lists, 20000);
    add(&lists[0], "a1", "127.0.0.2", 9001, NULL);
    runtime_sync_reloaded(rs, model(f, lists, d.applied[0]));
    /* a second HAProxy on the same config takes the socket over */
    char cfg_path[160];
    snprintf(cfg_path, sizeof cfg_path, "%s/h.cfg", f->dir);
    pid_t second = haproxy_fixture_start(cfg_path, f->sock);
    assert_true(second > 0);
    run_until_confirmed(f, &d, 1);
    kill(second, SIGTERM);
    waitpid(second, NULL, 0);
    assert_true(d.took);
    assert_true(runtime_sync_ready(rs));
    runtime_sync_free(rs);
    backend_list_clear(&lists[0]);
}

int main(void)
{
    log_set_level(LL_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(changes_queue_behind_changes_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(invalidate_ends_the_changes_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reload_that_did_not_take_is_told, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_process_confirms_the_reload, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
