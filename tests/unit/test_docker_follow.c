/*
 * The Docker follower's pure core, fed recorded Engine API replies and
 * event streams (tests/fixtures/docker). Every request and report it makes
 * is appended to one transcript, which the tests compare.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_follow.h"

#define ID_BRIDGE "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef"
#define ID_HEALTH "b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6"
#define LIST_BRIDGE "[{\"Id\":\"" ID_BRIDGE "\"}]"
#define LIST_BOTH "[{\"Id\":\"" ID_BRIDGE "\"},{\"Id\":\"" ID_HEALTH "\"}]"
#define LIST_NONE "[]"
#define VERSION "{\"ApiVersion\":\"1.43\"}"
#define RESYNC_MS 30000

/* events.jsonl lines */
#define EV_START 0
#define EV_KILL_TERM 1
#define EV_KILL_HUP 2
#define EV_NETWORK 7
/* restart.jsonl lines: docker restart, then a crash and a restart-policy
 * restart, then docker kill and docker rm. */
#define RS_KILL_TERM 0
#define RS_DIE 1
#define RS_STOP 2
#define RS_START 3
#define RS_RESTART 4
#define RS_CRASH_DIE 5
#define RS_POLICY_START 6
#define RS_KILL_KILL 7
#define RS_KILLED_DIE 8
#define RS_DESTROY 9

#define MAX_ASKED 16

struct rec {
    char log[8192];
    struct docker_follow_inspect asked[MAX_ASKED]; /* inspects in flight, in order */
    char asked_ids[MAX_ASKED][80];
    size_t nasked;
    bool fail_requests; /* requests return -1 */
    uint64_t now;
    unsigned last_retry;
};

static void say(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct rec *r, const char *fmt, ...)
{
    size_t used = strlen(r->log);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->log + used, sizeof r->log - used, fmt, ap);
    va_end(ap);
    used = strlen(r->log);
    snprintf(r->log + used, sizeof r->log - used, "\n");
}

static int rq_version(void *arg)
{
    say(arg, "GET version");
    return ((struct rec *)arg)->fail_requests ? -1 : 0;
}

static int rq_events(void *arg)
{
    say(arg, "GET events");
    return ((struct rec *)arg)->fail_requests ? -1 : 0;
}

static int rq_list(void *arg)
{
    say(arg, "GET list");
    return ((struct rec *)arg)->fail_requests ? -1 : 0;
}

static int rq_inspect(void *arg, const struct docker_follow_inspect *q)
{
    struct rec *r = arg;
    say(r, "GET inspect %.4s%s", q->id, q->from_resync ? " (resync)" : "");
    if (r->fail_requests) return -1;
    assert_true(r->nasked < MAX_ASKED);
    snprintf(r->asked_ids[r->nasked], sizeof r->asked_ids[0], "%s", q->id);
    r->asked[r->nasked] = *q;
    r->asked[r->nasked].id = r->asked_ids[r->nasked];
    r->nasked++;
    return 0;
}

static void rq_retry(void *arg, unsigned delay_ms)
{
    struct rec *r = arg;
    r->last_retry = delay_ms;
    say(r, "retry");
}

static uint64_t rq_now(void *arg)
{
    return ((struct rec *)arg)->now;
}

static void rq_note(void *arg, enum log_level level, const char *msg)
{
    (void)arg;
    (void)level;
    (void)msg;
}

/* Each container's data counts its reports, so the slot is seen to stick. */
static void rp_container(void *arg, const struct docker_container *c, void **data)
{
    if (!*data) *data = calloc(1, sizeof(int));
    ++*(int *)*data;
    say(arg, "container %.4s %s", c->id, c->running ? "running" : "not running");
}

static void rp_gone(void *arg, const char *id, const char *why, const struct docker_event *ev,
                    bool final, void **data)
{
    if (final) {
        free(*data);
        *data = NULL;
    }
    say(arg, "gone %.4s (%s)%s%s", id, why, ev ? " by event" : "", final ? " final" : "");
}

static void rp_in_sync(void *arg)
{
    say(arg, "in sync");
}

static void rp_lost(void *arg, const char *why)
{
    say(arg, "lost (%s)", why);
}

static void free_data(void *arg, void *data)
{
    (void)arg;
    free(data);
}

static void sum_data(void *arg, void *data)
{
    *(int *)arg += *(int *)data;
}

static void finish(struct docker_follow *f)
{
    docker_follow_each(f, free_data, NULL);
    docker_follow_free(f);
}

static const struct docker_follow_requests requests = {rq_version, rq_events, rq_list, rq_inspect,
                                                       rq_retry,   rq_now,    rq_note};
static const struct docker_follow_reports reports = {rp_container, rp_gone, rp_in_sync, rp_lost};

static struct docker_follow *new_follow(struct rec *r, bool once)
{
    memset(r, 0, sizeof *r);
    r->now = 1000000;
    struct docker_follow_config cfg = {.resync_ms = RESYNC_MS, .once = once, .seed = 1};
    struct docker_follow *f = docker_follow_new(&cfg, &requests, r, &reports, r);
    assert_non_null(f);
    return f;
}

/* Compares the transcript so far, then starts a new one. */
static void expect(struct rec *r, const char *want)
{
    assert_string_equal(want, r->log);
    r->log[0] = '\0';
}

static void event(struct docker_follow *f, const char *file, size_t want)
{
    char relative[128];
    snprintf(relative, sizeof relative, "docker/%s", file);
    char *all = fixture_read(relative, NULL), *p = all;
    for (size_t line = 0; line < want && (p = strchr(p, '\n')); line++)
        p++;
    assert_non_null(p);
    char *end = strchr(p, '\n');
    docker_follow_event_line(f, p, end ? (size_t)(end - p) : strlen(p));
    free(all);
}

/* Takes the inspect asked for id (the oldest one) out of the in-flight list. */
static struct docker_follow_inspect take(struct rec *r, const char *id, char *idbuf)
{
    for (size_t i = 0; i < r->nasked; i++)
        if (strcmp(r->asked_ids[i], id) == 0) {
            struct docker_follow_inspect q = r->asked[i];
            strcpy(idbuf, r->asked_ids[i]);
            q.id = idbuf;
            for (size_t j = i + 1; j < r->nasked; j++) {
                r->asked[j - 1] = r->asked[j];
                strcpy(r->asked_ids[j - 1], r->asked_ids[j]);
                r->asked[j - 1].id = r->asked_ids[j - 1];
            }
            r->nasked--;
            return q;
        }
    fail_msg("no inspect of %.12s in flight", id);
    return (struct docker_follow_inspect){0};
}

static void reply_inspect(struct docker_follow *f, struct rec *r, const char *id,
                          const char *fixture_name)
{
    char idbuf[80], relative[128];
    struct docker_follow_inspect q = take(r, id, idbuf);
    size_t len;
    snprintf(relative, sizeof relative, "docker/%s", fixture_name);
    char *body = fixture_read(relative, &len);
    docker_follow_inspect_reply(f, &q, 200, body, len, NULL);
    free(body);
}

static void reply_inspect_raw(struct docker_follow *f, struct rec *r, const char *id, long status,
                              const char *body, const char *error)
{
    char idbuf[80];
    struct docker_follow_inspect q = take(r, id, idbuf);
    docker_follow_inspect_reply(f, &q, status, body, body ? strlen(body) : 0, error);
}

static void reply_list(struct docker_follow *f, const char *body)
{
    docker_follow_list_reply(f, 200, body, strlen(body), NULL);
}

/* Connected, subscribed, and through a first resync that found ID_BRIDGE. */
static struct docker_follow *synced(struct rec *r)
{
    struct docker_follow *f = new_follow(r, false);
    docker_follow_start(f);
    docker_follow_version_reply(f, 200, VERSION, strlen(VERSION), NULL);
    docker_follow_events_opened(f);
    reply_list(f, LIST_BRIDGE);
    reply_inspect(f, r, ID_BRIDGE, "inspect_bridge.json");
    expect(r, "GET version\nGET events\nGET list\nGET inspect 3f2a (resync)\n"
              "container 3f2a running\nin sync\n");
    assert_false(docker_follow_resyncing(f));
    return f;
}

static void container_restarts(void **state)
{
    struct rec r;
    (void)state;
    struct docker_follow *f = synced(&r);

    /* docker restart: kill with the stop signal withdraws at once. */
    event(f, "restart.jsonl", RS_KILL_TERM);
    expect(&r, "gone 3f2a (kill signal 15) by event\n");
    event(f, "restart.jsonl", RS_DIE);
    event(f, "restart.jsonl", RS_STOP);
    expect(&r, "gone 3f2a (die) by event\ngone 3f2a (stop) by event\n");
    event(f, "restart.jsonl", RS_START);
    event(f, "restart.jsonl", RS_RESTART); /* says nothing new */
    expect(&r, "GET inspect 3f2a\n");
    reply_inspect(f, &r, ID_BRIDGE, "inspect_bridge.json");
    expect(&r, "container 3f2a running\n");

    /* A crash and a restart-policy restart. */
    event(f, "restart.jsonl", RS_CRASH_DIE);
    event(f, "restart.jsonl", RS_POLICY_START);
    expect(&r, "gone 3f2a (die) by event\nGET inspect 3f2a\n");
    reply_inspect(f, &r, ID_BRIDGE, "inspect_bridge.json");
    expect(&r, "container 3f2a running\n");

    /* SIGHUP reloads it: nothing. A network event: nothing. */
    event(f, "events.jsonl", EV_KILL_HUP);
    event(f, "events.jsonl", EV_NETWORK);
    expect(&r, "");

    int nreports = 0;
    docker_follow_each(f, sum_data, &nreports);
    assert_int_equal(3, nreports); /* one record, kept across the restarts */

    /* docker kill, docker rm: the follower forgets it. */
    event(f, "restart.jsonl", RS_KILL_KILL);
    event(f, "restart.jsonl", RS_KILLED_DIE);
    event(f, "restart.jsonl", RS_DESTROY);
    expect(&r, "gone 3f2a (kill signal 9) by event\ngone 3f2a (die) by event\n"
               "gone 3f2a (destroy) by event final\n");
    assert_int_equal(0, docker_follow_count(f));
    finish(f);
}

/* After its stop signal a container may run on while it shuts down: a
 * resync that sees it running keeps it out, for a while. */
static void still_stopping(void **state)
{
    struct rec r;
    (void)state;
    struct docker_follow *f = synced(&r);
    event(f, "events.jsonl", EV_KILL_TERM);
    expect(&r, "gone 3f2a (kill signal 15) by event\n");
    docker_follow_tick(f);
    reply_list(f, LIST_BRIDGE);
    reply_inspect(f, &r, ID_BRIDGE, "inspect_bridge.json");
    expect(&r, "GET list\nGET inspect 3f2a (resync)\nin sync\n");

    /* Long after: an app that ignored a manual kill -s TERM still serves. */
    r.now += RESYNC_MS;
    docker_follow_tick(f);
    reply_list(f, LIST_BRIDGE);
    reply_inspect(f, &r, ID_BRIDGE, "inspect_bridge.json");
    expect(&r, "GET list\nGET inspect 3f2a (resync)\ncontainer 3f2a running\nin sync\n");
    finish(f);
}

/* The list is taken while a restart policy restarts the container: the
 * container is missing from it, but its events are newer than the list. */
static void list_racing_a_restart(void **state)
{
    struct rec r;
    (void)state;
    struct docker_follow *f = synced(&r);
    docker_follow_tick(f);
    event(f, "restart.jsonl", RS_CRASH_DIE);
    event(f, "restart.jsonl", RS_POLICY_START);
    reply_list(f, LIST_NONE);
    expect(&r, "GET list\ngone 3f2a (die) by event\nGET inspect 3f2a\nin sync\n");
    assert_int_equal(1, docker_follow_count(f));
    /* The event's inspect says where it is. */
    reply_inspect(f, &r, ID_BRIDGE, "inspect_bridge.json");
    expect(&r, "container 3f2a running\n");

    /* The other way round: the list has it, an event comes before the
     * resync inspect's reply, which is then stale. */
    docker_follow_tick(f);
    reply_list(f, LIST_BRIDGE);
    event(f, "restart.jsonl", RS_CRASH_DIE);
    reply_inspect(f, &r, ID_BRIDGE, "inspect_bridge.json");
    expect(&r, "GET list\nGET inspect 3f2a (resync)\ngone 3f2a (die) by event\nin sync\n");

    /* A later list without it, and no event since: it is gone. */
    docker_follow_tick(f);
    reply_list(f, LIST_NONE);
    expect(&r, "GET list\ngone 3f2a (not running at resynchronisation) final\nin sync\n");
    assert_int_equal(0, docker_follow_count(f));
    finish(f);
}

/* The events stream ends while a resync is in flight: after the reconnect
 * the engine is listed again, whatever the old resync said. */
static void reconnect_during_a_resync(void **state)
{
    struct rec r;
    (void)state;
    struct docker_follow *f = synced(&r);
    docker_follow_tick(f);
    docker_follow_events_ended(f, "connection reset");
    expect(&r, "GET list\nretry\nlost (connection reset)\n");
    assert_in_range(r.last_retry, 250 - 62, 250 + 62);
    docker_follow_tick(f); /* no stream: no resync */
    docker_follow_start(f);
    docker_follow_version_reply(f, 200, VERSION, strlen(VERSION), NULL);
    docker_follow_events_opened(f);
    expect(&r, "GET version\nGET events\n");
    reply_list(f, LIST_BOTH); /* the old resync's list */
    reply_inspect(f, &r, ID_BRIDGE, "inspect_bridge.json");
    reply_inspect(f, &r, ID_HEALTH, "inspect_healthcheck.json");
    expect(&r, "GET inspect 3f2a (resync)\nGET inspect b7c6 (resync)\n"
               "container 3f2a running\ncontainer b7c6 running\nGET list\n");
    reply_list(f, LIST_BRIDGE);
    reply_inspect(f, &r, ID_BRIDGE, "inspect_bridge.json");
    expect(&r, "gone b7c6 (not running at resynchronisation) final\nGET inspect 3f2a (resync)\n"
               "container 3f2a running\nin sync\n");
    finish(f);
}

/* Inspects that fail leave what is known alone and still end the resync. */
static void an_inspect_that_fails(void **state)
{
    struct rec r;
    (void)state;
    struct docker_follow *f = synced(&r);
    docker_follow_tick(f);
    reply_list(f, LIST_BOTH);
    reply_inspect_raw(f, &r, ID_BRIDGE, 0, NULL, "Connection reset by peer");
    reply_inspect_raw(f, &r, ID_HEALTH, 500, "{\"message\":\"boom\"}", NULL);
    expect(&r, "GET list\nGET inspect 3f2a (resync)\nGET inspect b7c6 (resync)\nin sync\n");
    assert_int_equal(2, docker_follow_count(f));

    /* An odd reply for another container. */
    docker_follow_tick(f);
    reply_list(f, LIST_BOTH);
    reply_inspect_raw(f, &r, ID_HEALTH, 200, "{\"Id\": 12}", NULL);
    /* Removed between list and inspect. */
    reply_inspect_raw(f, &r, ID_BRIDGE, 404, "{\"message\":\"No such container\"}", NULL);
    expect(&r, "GET list\nGET inspect 3f2a (resync)\nGET inspect b7c6 (resync)\n"
               "gone 3f2a (container is gone) final\nin sync\n");

    /* An inspect that cannot even start. */
    docker_follow_tick(f);
    r.fail_requests = true;
    reply_list(f, LIST_BOTH);
    expect(&r, "GET list\nGET inspect 3f2a (resync)\nGET inspect b7c6 (resync)\nin sync\n");
    finish(f);
}

/*
 * The "lost resync" bug: a resync asked for during a resync (the registry
 * was lost and re-registered from stale knowledge) was dropped when the
 * list in flight failed, and the registry kept what had changed meanwhile.
 */
static void lost_resync(void **state)
{
    struct rec r;
    (void)state;
    struct docker_follow *f = synced(&r);

    docker_follow_tick(f);
    docker_follow_resync(f);
    docker_follow_list_reply(f, 500, "{\"message\":\"busy\"}", 18, NULL);
    expect(&r, "GET list\nlost (status 500)\nGET list\n");
    reply_list(f, LIST_NONE);
    expect(&r, "gone 3f2a (not running at resynchronisation) final\nin sync\n");

    /* And when the list in flight succeeds, the one asked for still runs. */
    docker_follow_tick(f);
    docker_follow_resync(f);
    docker_follow_resync(f); /* asked twice: runs once */
    docker_follow_tick(f);   /* periodic: never queued */
    reply_list(f, LIST_NONE);
    expect(&r, "GET list\nGET list\n");
    reply_list(f, LIST_NONE);
    expect(&r, "in sync\n");

    /* A failed list with nothing pending waits for the next resync. */
    docker_follow_tick(f);
    docker_follow_list_reply(f, 0, NULL, 0, "Operation timed out");
    expect(&r, "GET list\nlost (Operation timed out)\n");
    finish(f);
}

/*
 * A resync of many containers inspects a few at a time (the registrator
 * held a request per container at once: ~21 KiB each, 500 on a host), while
 * an event's inspect is never held back, and a container forgotten while
 * its inspect waits is not asked about.
 */
static void resync_inspects_a_few_at_a_time(void **state)
{
    struct rec r;
    (void)state;
    struct docker_follow *f = synced(&r);
    enum { N = 12 };
    char ids[N][65], list[N * 80] = "[";
    for (int i = 0; i < N; i++) {
        /* ID_BRIDGE, the one the destroy event names, is listed last */
        snprintf(ids[i], sizeof ids[i], i == N - 1 ? ID_BRIDGE : "%064x", 0xa000 + i);
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s{\"Id\":\"%s\"}", i ? "," : "",
                 ids[i]);
    }
    strcat(list, "]");
    docker_follow_tick(f);
    reply_list(f, list);
    assert_int_equal(r.nasked, 8);
    for (size_t i = 0; i < r.nasked; i++)
        assert_true(r.asked[i].from_resync);
    r.log[0] = '\0';

    event(f, "restart.jsonl", RS_START); /* not held back by the full window */
    assert_int_equal(r.nasked, 9);
    expect(&r, "GET inspect 3f2a\n");
    reply_inspect(f, &r, ID_BRIDGE, "inspect_bridge.json");
    expect(&r, "container 3f2a running\n");

    /* each answer lets the next one go */
    reply_inspect_raw(f, &r, ids[0], 404, "{}", NULL);
    assert_int_equal(r.nasked, 8);
    expect(&r, "gone 0000 (container is gone) final\nGET inspect 0000 (resync)\n");

    /* destroyed while its inspect waits: never asked, and the resync still ends */
    event(f, "restart.jsonl", RS_DESTROY);
    expect(&r, "gone 3f2a (destroy) by event final\n");
    for (int i = 1; i < N - 1; i++) {
        assert_true(docker_follow_resyncing(f));
        reply_inspect_raw(f, &r, ids[i], 404, "{}", NULL);
    }
    assert_int_equal(r.nasked, 0);
    assert_false(docker_follow_resyncing(f));
    assert_null(strstr(r.log, "GET inspect 3f2a"));
    assert_non_null(strstr(r.log, "in sync\n"));
    finish(f);
}

static void unreachable_then_once(void **state)
{
    struct rec r;
    (void)state;
    struct docker_follow *f = new_follow(&r, false);
    docker_follow_start(f);
    docker_follow_version_reply(f, 0, NULL, 0, "Couldn't connect to server");
    expect(&r, "GET version\nretry\nlost (Couldn't connect to server)\n");
    unsigned first = r.last_retry;
    docker_follow_start(f);
    docker_follow_version_reply(f, 503, "", 0, NULL);
    expect(&r, "GET version\nretry\nlost (status 503)\n");
    assert_true(r.last_retry > first); /* backing off */
    r.fail_requests = true;
    docker_follow_start(f);
    expect(&r, "GET version\nretry\nlost (request not started)\n");
    finish(f);

    /* --once: no stream, no retry. */
    f = new_follow(&r, true);
    docker_follow_start(f);
    docker_follow_version_reply(f, 200, VERSION, strlen(VERSION), NULL);
    reply_list(f, LIST_BRIDGE);
    reply_inspect(f, &r, ID_BRIDGE, "inspect_bridge.json");
    expect(&r, "GET version\nGET list\nGET inspect 3f2a (resync)\ncontainer 3f2a running\n"
               "in sync\n");
    docker_follow_resync(f); /* nothing to follow */
    expect(&r, "");
    finish(f);
    f = new_follow(&r, true);
    docker_follow_start(f);
    docker_follow_version_reply(f, 0, NULL, 0, "No such file or directory");
    expect(&r, "GET version\nlost (No such file or directory)\n");
    finish(f);
}

/* A healthcheck decides: start waits for healthy; unhealthy withdraws. */
static void healthcheck_gating(void **state)
{
    struct rec r;
    (void)state;
    struct docker_follow *f = new_follow(&r, false);
    docker_follow_start(f);
    docker_follow_version_reply(f, 200, VERSION, strlen(VERSION), NULL);
    docker_follow_events_opened(f);
    reply_list(f, "[{\"Id\":\"" ID_HEALTH "\"}]");
    reply_inspect(f, &r, ID_HEALTH, "inspect_healthcheck.json");
    expect(&r, "GET version\nGET events\nGET list\nGET inspect b7c6 (resync)\n"
               "container b7c6 running\nin sync\n");
    event(f, "events.jsonl", 4); /* health_status: healthy */
    expect(&r, "GET inspect b7c6\n");
    reply_inspect(f, &r, ID_HEALTH, "inspect_healthcheck.json");
    event(f, "events.jsonl", 5); /* health_status: unhealthy */
    event(f, "events.jsonl", 6); /* exec_start of the check */
    expect(&r, "container b7c6 running\ngone b7c6 (health_status: unhealthy) by event\n");
    finish(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(container_restarts),
        cmocka_unit_test(still_stopping),
        cmocka_unit_test(list_racing_a_restart),
        cmocka_unit_test(reconnect_during_a_resync),
        cmocka_unit_test(an_inspect_that_fails),
        cmocka_unit_test(lost_resync),
        cmocka_unit_test(unreachable_then_once),
        cmocka_unit_test(healthcheck_gating),
        cmocka_unit_test(resync_inspects_a_few_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
