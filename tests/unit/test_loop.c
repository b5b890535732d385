#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "curl_lib.h"
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
    for (int i = 0; i < 100; i++)
        loop_post(c->loop, count, c);
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

/* Whether a shared object whose path contains name is mapped in this process. */
static bool mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, name) != NULL;
    fclose(f);
    return found;
}

/* Must run before any test that makes a transfer: libcurl, once loaded,
 * stays. */
static void timers_fds_and_posts_never_load_libcurl(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct counter c = {l, 0, 3};
    loop_timer(l, 1, count, &c);
    loop_watch_fd(l, p[0], POLLIN, on_readable, &c);
    assert_int_equal(write(p[1], "x", 1), 1);
    loop_post(l, count, &c);
    loop_run(l);
    assert_int_equal(c.hits, 3);
    assert_false(curl_lib_loaded());
    assert_false(mapped("libcurl"));
    loop_unwatch_fd(l, p[0]);
    close(p[0]);
    close(p[1]);
    loop_free(l);
}

static void *post_once(void *arg)
{
    struct counter *c = arg;
    loop_post(c->loop, count, c);
    return NULL;
}

/* A loop with nothing else to wait for (no timer, no fd, no curl) sleeps in
 * poll(); the post's eventfd write is what ends the wait. */
static void post_wakes_a_loop_without_curl(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    struct counter c = {l, 0, 1};
    pthread_t t;
    pthread_create(&t, NULL, post_once, &c);
    loop_run(l);
    pthread_join(t, NULL);
    assert_int_equal(c.hits, 1);
    assert_false(curl_lib_loaded());
    loop_free(l);
}

struct transfer_then_post {
    struct counter counter;
    pthread_t poster;
    bool done;
};

static void on_transfer_done(void *arg, CURL *easy, CURLcode result)
{
    struct transfer_then_post *t = arg;
    (void)easy;
    (void)result;
    t->done = true;
    /* From now on the loop waits in curl_multi_poll, with no transfer left. */
    pthread_create(&t->poster, NULL, post_once, &t->counter);
}

/* Once libcurl is in, posts still wake the loop (its eventfd is one of
 * curl_multi_poll's extra fds). */
static void post_wakes_a_loop_waiting_in_curl(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    struct transfer_then_post t = {.counter = {l, 0, 1}};
    CURL *easy = curl_easy_init();
    assert_non_null(easy);
    assert_true(curl_lib_loaded());
    /* port 1 on loopback: refused at once, no server needed */
    curl_easy_setopt(easy, CURLOPT_URL, "http://127.0.0.1:1/");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    assert_int_equal(loop_add_transfer(l, easy, on_transfer_done, &t), 0);
    loop_run(l);
    pthread_join(t.poster, NULL);
    assert_true(t.done);
    assert_int_equal(t.counter.hits, 1);
    curl_easy_cleanup(easy);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fds_and_posts_never_load_libcurl),
        cmocka_unit_test(post_wakes_a_loop_without_curl),
        cmocka_unit_test(timers_run_in_order_and_cancel),
        cmocka_unit_test(posts_from_another_thread_run_on_loop),
        cmocka_unit_test(fd_watch_fires),
        cmocka_unit_test(post_wakes_a_loop_waiting_in_curl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
