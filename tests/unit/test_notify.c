#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "loop.h"
#include "notify.h"

/* A datagram socket the test binds, as systemd's would be. */
struct listener {
    char dir[64], path[108];
    int fd;
};

static void listener_open(struct listener *s)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/sd-notify.XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->path, sizeof s->path, "%s/notify", s->dir);
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, s->path);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    setenv("NOTIFY_SOCKET", s->path, 1);
}

static void listener_close(struct listener *s)
{
    close(s->fd);
    unlink(s->path);
    rmdir(s->dir);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

/* The next datagram, waiting at most 10 s; "" when none came. */
static void next_msg(struct listener *s, char *buf, size_t len)
{
    struct timeval tv = {10, 0};
    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(s->fd, buf, len - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
}

static void watchdog_interval_is_half_the_timeout_for_this_process(void **state)
{
    (void)state;
    assert_int_equal(notify_watchdog_interval_ms("30000000", NULL, 42), 15000);
    assert_int_equal(notify_watchdog_interval_ms("30000000", "42", 42), 15000);
    assert_int_equal(notify_watchdog_interval_ms("30000000", "43", 42), 0);
    assert_int_equal(notify_watchdog_interval_ms("1", NULL, 42), 1);
    assert_int_equal(notify_watchdog_interval_ms(NULL, NULL, 42), 0);
    assert_int_equal(notify_watchdog_interval_ms("", NULL, 42), 0);
    assert_int_equal(notify_watchdog_interval_ms("0", NULL, 42), 0);
    assert_int_equal(notify_watchdog_interval_ms("-5", NULL, 42), 0);
    assert_int_equal(notify_watchdog_interval_ms("12abc", NULL, 42), 0);
}

static void ready_status_and_stopping_reach_the_socket(void **state)
{
    (void)state;
    struct listener s;
    listener_open(&s);
    struct loop *l = loop_new();
    struct notify *n = notify_new(l);
    assert_null(getenv("NOTIFY_SOCKET")); /* children must not inherit it */
    assert_false(notify_is_ready(n));
    char buf[512];

    notify_ready(n, "3 registrations\nin %d services", 2);
    next_msg(&s, buf, sizeof buf);
    assert_string_equal(buf, "READY=1\nSTATUS=3 registrations in 2 services");
    assert_true(notify_is_ready(n));

    notify_ready(n, "4 registrations"); /* READY only once */
    next_msg(&s, buf, sizeof buf);
    assert_string_equal(buf, "STATUS=4 registrations");
    notify_status(n, "4 registrations"); /* unchanged: nothing sent */
    notify_status(n, "5 registrations");
    next_msg(&s, buf, sizeof buf);
    assert_string_equal(buf, "STATUS=5 registrations");
    notify_stopping(n);
    next_msg(&s, buf, sizeof buf);
    assert_string_equal(buf, "STOPPING=1");

    notify_free(n);
    loop_free(l);
    listener_close(&s);
}

struct watch {
    struct loop *loop;
    struct listener *s;
    int pings;
};

static void on_datagram(void *arg, short revents)
{
    (void)revents;
    struct watch *w = arg;
    char buf[64];
    ssize_t n = recv(w->s->fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    if (strcmp(buf, "WATCHDOG=1") == 0 && ++w->pings == 3) loop_stop(w->loop);
}

static void give_up(void *arg)
{
    loop_stop(arg);
}

static void watchdog_pings_come_from_the_loop(void **state)
{
    (void)state;
    struct listener s;
    listener_open(&s);
    setenv("WATCHDOG_USEC", "20000", 1); /* a ping every 10 ms */
    struct loop *l = loop_new();
    struct notify *n = notify_new(l);
    struct watch w = {l, &s, 0};
    loop_watch_fd(l, s.fd, POLLIN, on_datagram, &w);
    loop_timer(l, 30000, give_up, l); /* a generous deadline, not a measurement */
    loop_run(l);
    assert_int_equal(w.pings, 3);
    loop_unwatch_fd(l, s.fd);
    notify_free(n);
    loop_free(l);
    listener_close(&s);
}

static void without_notify_socket_nothing_happens(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    struct loop *l = loop_new();
    struct notify *n = notify_new(l);
    notify_ready(n, "ready");
    notify_status(n, "x");
    notify_stopping(n);
    assert_true(notify_is_ready(n));
    notify_free(n);
    notify_ready(NULL, "no notifier");
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(watchdog_interval_is_half_the_timeout_for_this_process),
        cmocka_unit_test(ready_status_and_stopping_reach_the_socket),
        cmocka_unit_test(watchdog_pings_come_from_the_loop),
        cmocka_unit_test(without_notify_socket_nothing_happens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
