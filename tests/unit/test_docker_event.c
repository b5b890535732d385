#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_event.h"

#define ID_BRIDGE "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef"

/* Reads tests/fixtures/docker/<name>; caller frees. */
static char *fixture(const char *name, size_t *len)
{
    char relative[256];
    snprintf(relative, sizeof relative, "docker/%s", name);
    return fixture_read(relative, len);
}

/* Line i (0-based) of events.jsonl, decoded. */
static void event_line(size_t want, struct docker_event *ev)
{
    size_t len, line = 0;
    char err[256];
    char *all = fixture("events.jsonl", &len), *p = all;
    while (line < want && (p = strchr(p, '\n')))
        p++, line++;
    assert_non_null(p);
    char *end = strchr(p, '\n');
    size_t n = end ? (size_t)(end - p) + 1 : strlen(p); /* keep the newline: it is allowed */
    if (docker_event_decode(p, n, ev, err, sizeof err) != 0) fail_msg("line %zu: %s", want, err);
    free(all);
}

static void decodes_event_lines(void **state)
{
    struct docker_event ev;
    (void)state;
    event_line(0, &ev);
    assert_string_equal("container", ev.type);
    assert_string_equal("start", ev.action);
    assert_string_equal(ID_BRIDGE, ev.id);
    assert_string_equal("nodesrv-1", ev.name);
    assert_string_equal("local/nodeapp:v2", ev.image);
    assert_null(ev.signal);
    /* cJSON holds numbers as doubles: a few hundred ns of slack. */
    assert_true(llabs(ev.time_nano - 1714641267512093775LL) < 1000);
    docker_event_clear(&ev);

    event_line(1, &ev);
    assert_string_equal("kill", ev.action);
    assert_string_equal("15", ev.signal);
    docker_event_clear(&ev);
    event_line(4, &ev);
    assert_string_equal("health_status: healthy", ev.action);
    assert_string_equal("pyweb", ev.name);
    docker_event_clear(&ev);
    event_line(6, &ev);
    assert_string_equal("exec_start: sh -c curl -fsS http://localhost:8080/ || exit 1", ev.action);
    docker_event_clear(&ev);
    event_line(7, &ev);
    assert_string_equal("network", ev.type);
    assert_string_equal("connect", ev.action);
    docker_event_clear(&ev);
    docker_event_clear(&ev);
    docker_event_clear(NULL);
}

static void decodes_old_and_odd_events(void **state)
{
    struct docker_event ev;
    char err[256];
    const char *old =
        "{\"status\":\"stop\",\"id\":\"abc123\",\"from\":\"busybox\",\"time\":1500000000}";
    (void)state;
    assert_int_equal(0, docker_event_decode(old, strlen(old), &ev, err, sizeof err));
    assert_null(ev.type);
    assert_string_equal("stop", ev.action);
    assert_string_equal("abc123", ev.id);
    assert_string_equal("busybox", ev.image);
    assert_int_equal(1500000000000000000LL, ev.time_nano);
    assert_int_equal(DOCKER_EFFECT_DEREGISTER, docker_event_effect(&ev, NULL, false));
    docker_event_clear(&ev);

    /* A signal attribute on anything but kill is not kept. */
    const char *odd = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"a\","
                      "\"Attributes\":{\"signal\":\"9\",\"other\":5}}}";
    assert_int_equal(0, docker_event_decode(odd, strlen(odd), &ev, err, sizeof err));
    assert_null(ev.signal);
    assert_int_equal(0, ev.time_nano);
    docker_event_clear(&ev);

    static const struct {
        const char *line, *err;
    } bad[] = {
        {"{\"Type\":\"container\"}", "Action: missing"},
        {"{\"Action\":\"\",\"status\":\"\"}", "Action: missing"},
        {"{\"Action\":5}", "Action: expected a string, got 5"},
        {"{\"Action\":\"kill\",\"Actor\":{\"Attributes\":{\"signal\":15}}}",
         "Actor.Attributes.signal: expected a string, got 15"},
        {"{\"Action\":\"start\",\"Actor\":[]}", "Actor: expected an object, got []"},
        {"{\"Action\":\"start\",\"timeNano\":1e300}", "timeNano: expected a timestamp, got 1e+300"},
        {"{\"Action\":\"start\",\"timeNano\":-5}", "timeNano: expected a timestamp, got -5"},
        {"{\"Action\":\"start\",\"timeNano\":\"1\"}", "timeNano: expected a number, got \"1\""},
        {"{\"Action\":\"start\",\"time\":1e11}", "time: expected a timestamp, got 100000000000"},
        {"[]", "event: expected an object, got []"},
        {"\n", NULL},
        {"{\"Action\":\"start\"", NULL},
        {"{\"Action\":\"start\"}\n{\"Action\":\"die\"}", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ev.action = (char *)"junk";
        if (docker_event_decode(bad[i].line, strlen(bad[i].line), &ev, err, sizeof err) == 0)
            fail_msg("accepted %s", bad[i].line);
        assert_null(ev.action);
        if (bad[i].err) assert_string_equal(bad[i].err, err);
    }
    assert_int_equal(-1, docker_event_decode(NULL, 0, &ev, NULL, 0));
}

static void signal_numbers(void **state)
{
    static const struct {
        const char *s;
        int n;
    } cases[] = {
        {"SIGHUP", 1},
        {"HUP", 1},
        {"sighup", 1},
        {"INT", 2},
        {"SIGQUIT", 3},
        {"KILL", 9},
        {"sigkill", 9},
        {"SIGUSR1", 10},
        {"usr2", 12},
        {"SIGTERM", 15},
        {"TERM", 15},
        {"Term", 15},
        {"15", 15},
        {"9", 9},
        {"1", 1},
        {"31", 31},
        {"SIGWINCH", 28},
        {"SIGCHLD", 17},
        {"SIGSTOP", 19},
        {"SIGRTMIN", 34},
        {"SIGRTMIN+3", 37},
        {"RTMAX-2", 62},
        {"SIGRTMAX", 64},
        {"64", 64},
        {"0", -1},
        {"65", -1},
        {"-15", -1},
        {"+15", -1},
        {"15x", -1},
        {"SIGFOO", -1},
        {"SIG", -1},
        {"", -1},
        {"SIGTERM ", -1},
        {"99999999999", -1},
        {"SIGRTMIN+31", -1},
        {"SIGRTMIN-1", -1},
        {"SIGRTMIN+", -1},
    };
    (void)state;
    for (int n = 1; n <= 31; n++) {
        char num[16];
        snprintf(num, sizeof num, "%d", n);
        assert_int_equal(n, docker_signal_number(num));
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (docker_signal_number(cases[i].s) != cases[i].n)
            fail_msg("docker_signal_number(\"%s\") = %d, want %d", cases[i].s,
                     docker_signal_number(cases[i].s), cases[i].n);
    assert_int_equal(-1, docker_signal_number(NULL));
}

static enum docker_effect effect_of(const char *type, const char *action, const char *id,
                                    const char *signal, const char *stop_signal, bool hc)
{
    struct docker_event ev = {
        .type = (char *)type, .action = (char *)action, .id = (char *)id, .signal = (char *)signal};
    return docker_event_effect(&ev, stop_signal, hc);
}

/* -deregister on-success: the recorded dies of restart.jsonl (143 after
 * docker stop, 1 from a crash, 137 after SIGKILL), then odd values. */
static void die_exit_codes(void **state)
{
    (void)state;
    size_t len;
    char err[256];
    char *all = fixture("restart.jsonl", &len);
    int codes[8], ncodes = 0;
    bool failed[8];
    for (char *p = all, *end; p && *p && ncodes < 8; p = end ? end + 1 : NULL) {
        end = strchr(p, '\n');
        struct docker_event ev;
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (docker_event_decode(p, n, &ev, err, sizeof err) != 0) fail_msg("%s", err);
        if (!strcmp(ev.action, "die")) {
            codes[ncodes] = ev.exit_code;
            failed[ncodes++] = docker_event_exit_failed(&ev);
        } else {
            assert_int_equal(-1, ev.exit_code);
            assert_false(docker_event_exit_failed(&ev));
        }
        docker_event_clear(&ev);
    }
    free(all);
    assert_int_equal(3, ncodes);
    assert_int_equal(143, codes[0]);
    assert_false(failed[0]); /* a signal's: clean */
    assert_int_equal(1, codes[1]);
    assert_true(failed[1]);
    assert_int_equal(137, codes[2]);
    assert_false(failed[2]);

    static const struct {
        const char *attrs;
        int code;
        bool failed;
    } odd[] = {
        {"{\"exitCode\":\"0\"}", 0, false},      {"{\"exitCode\":\"2\"}", 2, true},
        {"{\"exitCode\":\"127\"}", 127, true},   {"{\"exitCode\":\"139\"}", 139, false},
        {"{\"exitCode\":\"255\"}", 255, false},  {"{}", -1, false},
        {"{\"exitCode\":\"\"}", -1, false},      {"{\"exitCode\":\"-1\"}", -1, false},
        {"{\"exitCode\":\"1x\"}", -1, false},    {"{\"exitCode\":\"256\"}", -1, false},
        {"{\"exitCode\":\"99999\"}", -1, false},
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        char line[256];
        struct docker_event ev;
        snprintf(line, sizeof line,
                 "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"a\","
                 "\"Attributes\":%s}}",
                 odd[i].attrs);
        if (docker_event_decode(line, strlen(line), &ev, err, sizeof err) != 0)
            fail_msg("%s: %s", odd[i].attrs, err);
        if (ev.exit_code != odd[i].code || docker_event_exit_failed(&ev) != odd[i].failed)
            fail_msg("%s: exit code %d failed %d", odd[i].attrs, ev.exit_code,
                     docker_event_exit_failed(&ev));
        docker_event_clear(&ev);
    }
    /* A number instead of a string is unknown; the die still counts. */
    const char *num =
        "{\"Action\":\"die\",\"Actor\":{\"ID\":\"a\",\"Attributes\":{\"exitCode\":1}}}";
    struct docker_event ev;
    assert_int_equal(0, docker_event_decode(num, strlen(num), &ev, err, sizeof err));
    assert_int_equal(-1, ev.exit_code);
    docker_event_clear(&ev);
    /* Exit codes belong to die only. */
    const char *stop =
        "{\"Action\":\"stop\",\"Actor\":{\"ID\":\"a\",\"Attributes\":{\"exitCode\":\"1\"}}}";
    assert_int_equal(0, docker_event_decode(stop, strlen(stop), &ev, err, sizeof err));
    assert_int_equal(-1, ev.exit_code);
    assert_false(docker_event_exit_failed(&ev));
    docker_event_clear(&ev);
}

static void event_effects(void **state)
{
    enum docker_effect want[] = {DOCKER_EFFECT_REGISTER, DOCKER_EFFECT_DEREGISTER,
                                 DOCKER_EFFECT_NONE,     DOCKER_EFFECT_DEREGISTER,
                                 DOCKER_EFFECT_REGISTER, DOCKER_EFFECT_DEREGISTER,
                                 DOCKER_EFFECT_NONE,     DOCKER_EFFECT_NONE};
    (void)state;
    /* The fixture lines: start, kill 15, kill 1, die, healthy, unhealthy, exec, network. */
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct docker_event ev;
        event_line(i, &ev);
        if (docker_event_effect(&ev, NULL, false) != want[i])
            fail_msg("line %zu (%s): effect %d, want %d", i, ev.action,
                     docker_event_effect(&ev, NULL, false), want[i]);
        docker_event_clear(&ev);
    }
    const char *C = "container", *id = "abc";
    /* With a healthcheck, start waits for healthy. */
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of(C, "start", id, NULL, NULL, true));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of(C, "unpause", id, NULL, NULL, true));
    assert_int_equal(DOCKER_EFFECT_REGISTER, effect_of(C, "unpause", id, NULL, NULL, false));
    assert_int_equal(DOCKER_EFFECT_REGISTER,
                     effect_of(C, "health_status: healthy", id, NULL, NULL, true));
    assert_int_equal(DOCKER_EFFECT_NONE,
                     effect_of(C, "health_status: starting", id, NULL, NULL, true));
    /* kill: the stop signal by number, or SIGKILL; anything else is a reload or a poke. */
    assert_int_equal(DOCKER_EFFECT_DEREGISTER, effect_of(C, "kill", id, "15", "", false));
    assert_int_equal(DOCKER_EFFECT_DEREGISTER, effect_of(C, "kill", id, "15", "SIGTERM", false));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of(C, "kill", id, "15", "SIGQUIT", false));
    assert_int_equal(DOCKER_EFFECT_DEREGISTER, effect_of(C, "kill", id, "3", "SIGQUIT", false));
    assert_int_equal(DOCKER_EFFECT_DEREGISTER, effect_of(C, "kill", id, "3", "quit", false));
    assert_int_equal(DOCKER_EFFECT_DEREGISTER, effect_of(C, "kill", id, "3", "3", false));
    assert_int_equal(DOCKER_EFFECT_DEREGISTER, effect_of(C, "kill", id, "9", "SIGQUIT", false));
    assert_int_equal(DOCKER_EFFECT_DEREGISTER, effect_of(C, "kill", id, "SIGKILL", NULL, false));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of(C, "kill", id, "10", NULL, false));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of(C, "kill", id, NULL, NULL, false));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of(C, "kill", id, "bogus", "bogus", false));
    assert_int_equal(DOCKER_EFFECT_DEREGISTER, effect_of(C, "kill", id, "9", "bogus", false));
    static const char *const leaving[] = {"die", "stop", "pause", "destroy", "oom"};
    for (size_t i = 0; i < sizeof leaving / sizeof leaving[0]; i++)
        assert_int_equal(DOCKER_EFFECT_DEREGISTER, effect_of(C, leaving[i], id, NULL, NULL, true));
    static const char *const nothing[] = {"create", "restart",         "rename",
                                          "attach", "exec_create: ls", "exec_die",
                                          "Start",  "health_status",   ""};
    for (size_t i = 0; i < sizeof nothing / sizeof nothing[0]; i++)
        assert_int_equal(DOCKER_EFFECT_NONE, effect_of(C, nothing[i], id, NULL, NULL, false));
    /* Only container events with a usable ID count. */
    assert_int_equal(DOCKER_EFFECT_REGISTER, effect_of(NULL, "start", id, NULL, NULL, false));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of(NULL, "start", NULL, NULL, NULL, false));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of(C, "die", NULL, NULL, NULL, false));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of(C, "die", "a/../b", NULL, NULL, false));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of("image", "destroy", id, NULL, NULL, false));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of("network", "start", id, NULL, NULL, false));
    assert_int_equal(DOCKER_EFFECT_NONE, effect_of(C, NULL, id, NULL, NULL, false));
    assert_int_equal(DOCKER_EFFECT_NONE, docker_event_effect(NULL, NULL, false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_event_lines), cmocka_unit_test(decodes_old_and_odd_events),
        cmocka_unit_test(signal_numbers),      cmocka_unit_test(event_effects),
        cmocka_unit_test(die_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
