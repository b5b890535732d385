/* Check runners on a real loop against local sockets (no servers needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "health.h"

struct rec {
    struct loop *loop;
    int listener; /* closed at the first "up" */
    bool states[8];
    int n, stop_at;
};

static void on_health(void *arg, bool up)
{
    struct rec *r = arg;
    r->states[r->n++] = up;
    if (up && r->listener >= 0) {
        close(r->listener);
        r->listener = -1;
    }
    if (r->n == r->stop_at) loop_stop(r->loop);
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static void giveup(void *arg)
{
    loop_stop(arg);
}

static void run(struct loop *l, struct health *h)
{
    uint64_t t = loop_timer(l, 20000, giveup, l); /* a generous bound, never a timing assertion */
    loop_run(l);
    loop_timer_cancel(l, t);
    health_free(h);
}

static struct check_list one(enum check_type type, int rise, int fall, int timeout_ms)
{
    struct check_list cl = {calloc(1, sizeof(struct check_spec)), 1};
    check_spec_init(&cl.v[0], type);
    cl.v[0].rise = rise;
    cl.v[0].fall = fall;
    cl.v[0].timeout_ms = cl.v[0].read_timeout_ms = timeout_ms;
    if (type == CHECK_HTTP) cl.v[0].uri = strdup("/health");
    return cl;
}

static void tcp_up_then_down_after_fall(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    int port;
    struct rec r = {.loop = l, .stop_at = 2};
    r.listener = listen_any(&port);
    struct check_list cl = one(CHECK_TCP, 1, 2, 1000);
    struct health *h = health_new(l, &cl, "127.0.0.1", port, 10, "test", on_health, &r);
    run(l, h);
    assert_int_equal(r.n, 2);
    assert_true(r.states[0]);
    assert_false(r.states[1]);
    check_list_clear(&cl);
    loop_free(l);
}

static void tcp_refused_is_down_at_once(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    int port;
    int fd = listen_any(&port);
    close(fd);
    struct rec r = {.loop = l, .listener = -1, .stop_at = 1};
    struct check_list cl = one(CHECK_TCP, 3, 3, 1000);
    struct health *h = health_new(l, &cl, "127.0.0.1", port, 10, "test", on_health, &r);
    run(l, h);
    assert_int_equal(r.n, 1);
    assert_false(r.states[0]);
    check_list_clear(&cl);
    loop_free(l);
}

static void http_that_never_answers_is_cut_at_its_timeout(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    int port;
    int fd = listen_any(&port); /* connects (backlog), never answers */
    struct rec r = {.loop = l, .listener = -1, .stop_at = 1};
    struct check_list cl = one(CHECK_HTTP, 1, 1, 50);
    struct health *h = health_new(l, &cl, "127.0.0.1", port, 10, "test", on_health, &r);
    run(l, h);
    assert_int_equal(r.n, 1);
    assert_false(r.states[0]);
    close(fd);
    check_list_clear(&cl);
    loop_free(l);
}

static void no_checks_is_up(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    struct rec r = {.loop = l, .listener = -1, .stop_at = 1};
    struct check_list none = {0};
    struct health *h = health_new(l, &none, "127.0.0.1", 1, 10, "test", on_health, &r);
    run(l, h);
    assert_int_equal(r.n, 1);
    assert_true(r.states[0]);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tcp_up_then_down_after_fall),
        cmocka_unit_test(tcp_refused_is_down_at_once),
        cmocka_unit_test(http_that_never_answers_is_cut_at_its_timeout),
        cmocka_unit_test(no_checks_is_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
