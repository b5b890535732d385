#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "loop.h"

struct counter {
    struct loop *loop;
    int hits;
    int stop_at;
};

static void count(void *arg)
{
    struct counter *c = arg;
    if (++c->hits == c->stop_at) loop_stop(c->loop);
}

static void timers_run_in_order_and_cancel(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    struct counter c = {l, 0, 2};
    loop_timer(l, 20, count, &c);
    uint64_t cancelled = loop_timer(l, 5, count, &c);
    loop_timer(l, 1, count, &c);
    loop_timer_cancel(l, cancelled);
    loop_run(l);
    assert_int_equal(c.hits, 2);
    loop_free(l);
}

static void *poster(void *arg)
{
    struct counter *c = arg;
    for (int i = 0; i < 100; i++) loop_post(c->loop, count, c);
    return NULL;
}

static void posts_from_another_thread_run_on_loop(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    struct counter c = {l, 0, 100};
    pthread_t t;
    pthread_create(&t, NULL, poster, &c);
    loop_run(l);
    pthread_join(t, NULL);
    assert_int_equal(c.hits, 100);
    loop_free(l);
}

static void on_readable(void *arg, short revents)
{
    struct counter *c = arg;
    if (revents & POLLIN) count(c);
}

static void fd_watch_fires(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct counter c = {l, 0, 1};
    loop_watch_fd(l, p[0], POLLIN, on_readable, &c);
    assert_int_equal(write(p[1], "x", 1), 1);
    loop_run(l);
    assert_int_equal(c.hits, 1);
    loop_unwatch_fd(l, p[0]);
    close(p[0]);
    close(p[1]);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_run_in_order_and_cancel),
        cmocka_unit_test(posts_from_another_thread_run_on_loop),
        cmocka_unit_test(fd_watch_fires),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
