#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "http_request.h"

/* A server on a unix socket that answers each connection with the canned
 * reply its path names, then closes it. */
struct server {
    char dir[64], path[96];
    int fd;
    pthread_t thread;
};

static const char *reply_for(const char *request)
{
    if (strncmp(request, "GET /body ", 10) == 0 || strncmp(request, "POST /body ", 11) == 0)
        return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    if (strncmp(request, "GET /big ", 9) == 0)
        return "HTTP/1.1 200 OK\r\nContent-Length: 40\r\nConnection: close\r\n\r\n"
               "0123456789012345678901234567890123456789";
    if (strncmp(request, "GET /stream ", 12) == 0)
        return "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nfirst\nsecond\r\n\nthird\npartial";
    return "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope";
}

static void *serve(void *arg)
{
    struct server *s = arg;
    int c;
    while ((c = accept(s->fd, NULL, NULL)) >= 0) {
        char req[4096];
        size_t n = 0;
        ssize_t got;
        while (n < sizeof req - 1 && (got = read(c, req + n, sizeof req - 1 - n)) > 0) {
            n += (size_t)got;
            req[n] = 0;
            if (strstr(req, "\r\n\r\n")) break;
        }
        req[n] = 0;
        const char *reply = reply_for(req);
        if (write(c, reply, strlen(reply)) < 0) { /* the client may have gone */
        }
        close(c);
    }
    return NULL;
}

static int server_up(void **state)
{
    struct server *s = calloc(1, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/sd-http-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->path, sizeof s->path, "%s/sock", s->dir);
    s->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", s->path);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    pthread_create(&s->thread, NULL, serve, s);
    *state = s;
    return 0;
}

static int server_down(void **state)
{
    struct server *s = *state;
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
    unlink(s->path);
    rmdir(s->dir);
    free(s);
    return 0;
}

struct seen {
    struct loop *loop;
    struct server *server;
    int opens, dones, restart;
    char lines[8][32];
    int nlines, cancel_at;
    struct http_request *req;
    long status;
    bool too_big;
    char body[64];
    CURLcode rc;
};

static const struct http_request_opts opts = {
    .connect_timeout_ms = 5000,
    .body_limit = 16,
    .line_limit = 64, /* what is buffered and not yet handed over */
};

static struct http_request *request(struct seen *s, const char *path)
{
    char url[64];
    snprintf(url, sizeof url, "http://test%s", path);
    struct http_request *r = http_request_new(s->loop, url, &opts);
    assert_non_null(r);
    curl_easy_setopt(http_request_easy_borrow(r), CURLOPT_UNIX_SOCKET_PATH, s->server->path);
    return r;
}

static void on_open(void *arg)
{
    struct seen *s = arg;
    s->opens++;
}

static void on_line(void *arg, const char *line, size_t len)
{
    struct seen *s = arg;
    snprintf(s->lines[s->nlines++], sizeof s->lines[0], "%.*s", (int)len, line);
    if (s->nlines == s->cancel_at) {
        http_request_cancel(s->req);
        loop_stop(s->loop);
    }
}

static void on_done(void *arg, const struct http_result *res)
{
    struct seen *s = arg;
    s->dones++;
    s->status = res->status;
    s->too_big = res->too_big;
    s->rc = res->rc;
    snprintf(s->body, sizeof s->body, "%.*s", (int)res->len, res->body);
    if (s->restart-- > 0) { /* a callback may start a request: it runs on the loop */
        struct http_callbacks cb = {.on_done = on_done};
        assert_int_equal(http_request_start(request(s, "/body"), &cb, s), 0);
        return;
    }
    loop_stop(s->loop);
}

static void run(struct seen *s, const char *path, const struct http_callbacks *cb)
{
    s->req = request(s, path);
    assert_int_equal(http_request_start(s->req, cb, s), 0);
    loop_run(s->loop);
}

static void a_reply_is_read_whole_and_a_callback_may_start_another(void **state)
{
    struct seen s = {.loop = loop_new(), .server = *state, .restart = 1};
    struct http_callbacks cb = {.on_done = on_done};
    run(&s, "/body", &cb);
    assert_int_equal(s.dones, 2);
    assert_int_equal(s.status, 200);
    assert_string_equal(s.body, "hello");
    assert_false(s.too_big);
    loop_free(s.loop);
}

static void a_post_body_is_sent(void **state)
{
    struct seen s = {.loop = loop_new(), .server = *state};
    struct http_callbacks cb = {.on_done = on_done};
    s.req = request(&s, "/body");
    assert_int_equal(http_request_add_header(s.req, "Content-Type: application/json"), 0);
    assert_int_equal(http_request_set_post(s.req, "{}", 2), 0);
    assert_int_equal(http_request_start(s.req, &cb, &s), 0);
    loop_run(s.loop);
    assert_string_equal(s.body, "hello");
    loop_free(s.loop);
}

static void a_reply_past_its_limit_is_refused(void **state)
{
    struct seen s = {.loop = loop_new(), .server = *state};
    struct http_callbacks cb = {.on_done = on_done};
    run(&s, "/big", &cb);
    assert_int_equal(s.dones, 1);
    assert_true(s.too_big);
    assert_int_not_equal(s.rc, CURLE_OK);
    loop_free(s.loop);
}

static void a_stream_opens_then_hands_over_each_line(void **state)
{
    struct seen s = {.loop = loop_new(), .server = *state};
    struct http_callbacks cb = {.on_open = on_open, .on_line = on_line, .on_done = on_done};
    run(&s, "/stream", &cb);
    assert_int_equal(s.opens, 1);
    assert_int_equal(s.nlines, 3);
    assert_string_equal(s.lines[0], "first");
    assert_string_equal(s.lines[1], "second");
    assert_string_equal(s.lines[2], "third");
    assert_int_equal(s.dones, 1);
    assert_int_equal(s.status, 200);
    assert_string_equal(s.body, "partial"); /* the unfinished tail is the caller's to judge */
    loop_free(s.loop);
}

static void a_stream_cancelled_from_its_own_line_stops_there(void **state)
{
    struct seen s = {.loop = loop_new(), .server = *state, .cancel_at = 1};
    struct http_callbacks cb = {.on_open = on_open, .on_line = on_line, .on_done = on_done};
    run(&s, "/stream", &cb);
    assert_int_equal(s.nlines, 1);
    assert_int_equal(s.dones, 0);
    loop_free(s.loop); /* ASan: nothing leaked, nothing touched after the cancel */
}

static void a_failed_stream_is_a_reply_not_lines(void **state)
{
    struct seen s = {.loop = loop_new(), .server = *state};
    struct http_callbacks cb = {.on_open = on_open, .on_line = on_line, .on_done = on_done};
    run(&s, "/missing", &cb);
    assert_int_equal(s.opens, 0);
    assert_int_equal(s.nlines, 0);
    assert_int_equal(s.status, 404);
    assert_string_equal(s.body, "nope");
    loop_free(s.loop);
}

static void a_request_cancelled_before_any_reply_is_silent(void **state)
{
    struct seen s = {.loop = loop_new(), .server = *state};
    struct http_callbacks cb = {.on_done = on_done};
    s.req = request(&s, "/body");
    assert_int_equal(http_request_start(s.req, &cb, &s), 0);
    http_request_cancel(s.req);
    assert_int_equal(s.dones, 0);
    loop_free(s.loop);
}

static void perform_runs_on_the_calling_thread(void **state)
{
    struct seen s = {.loop = loop_new(), .server = *state};
    struct http_request *r = request(&s, "/body");
    struct http_result res;
    http_request_perform(r, &res);
    assert_int_equal(res.rc, CURLE_OK);
    assert_int_equal(res.status, 200);
    assert_true(res.connected);
    assert_int_equal(res.len, 5);
    assert_memory_equal(res.body, "hello", 5);
    http_request_free(r);
    loop_free(s.loop);
}

static void a_refused_connection_was_not_sent(void **state)
{
    (void)state;
    struct http_result res = {.rc = CURLE_COULDNT_CONNECT};
    assert_true(http_result_not_sent(&res));
    res = (struct http_result){.rc = CURLE_COULDNT_RESOLVE_HOST};
    assert_true(http_result_not_sent(&res));
    res = (struct http_result){.rc = CURLE_OPERATION_TIMEDOUT, .connected = false};
    assert_true(http_result_not_sent(&res));
    res = (struct http_result){.rc = CURLE_OPERATION_TIMEDOUT, .connected = true};
    assert_false(http_result_not_sent(&res)); /* it may have been applied */
    res = (struct http_result){.rc = CURLE_RECV_ERROR, .connected = true};
    assert_false(http_result_not_sent(&res));
}

static void the_blank_line_ends_a_header_block(void **state)
{
    (void)state;
    assert_true(http_header_block_ends("\r\n", 2));
    assert_true(http_header_block_ends("\n", 1));
    assert_false(http_header_block_ends("Content-Length: 5\r\n", 19));
    assert_false(http_header_block_ends("\r", 1));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_refused_connection_was_not_sent),
        cmocka_unit_test(the_blank_line_ends_a_header_block),
        cmocka_unit_test(a_reply_is_read_whole_and_a_callback_may_start_another),
        cmocka_unit_test(a_post_body_is_sent),
        cmocka_unit_test(a_reply_past_its_limit_is_refused),
        cmocka_unit_test(a_stream_opens_then_hands_over_each_line),
        cmocka_unit_test(a_stream_cancelled_from_its_own_line_stops_there),
        cmocka_unit_test(a_failed_stream_is_a_reply_not_lines),
        cmocka_unit_test(a_request_cancelled_before_any_reply_is_silent),
        cmocka_unit_test(perform_runs_on_the_calling_thread),
    };
    int failed = cmocka_run_group_tests(tests, server_up, server_down);
    curl_global_cleanup();
    return failed;
}
