#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "metrics.h"
#include "metrics_http.h"

static void counters_gauges_and_labels_render_as_text_0_0_4(void **state)
{
    (void)state;
    struct metrics *m = metrics_new("registrator", "1.2.3");
    struct metric *reconnects =
        metrics_counter(m, "smartdock_registrator_reconnects_total", "Reconnects.", NULL);
    struct metric *checks = metrics_counter(m, "smartdock_registrator_checks_total",
                                            "Health check results.", "service,result");
    struct metric *regs = metrics_gauge(m, "smartdock_registrator_registrations",
                                        "Registrations.\nPer service.", "service");
    char *text = metrics_render_families(m);
    /* an unlabelled counter exists at 0 before anything happened */
    assert_non_null(strstr(text, "# HELP smartdock_registrator_reconnects_total Reconnects.\n"
                                 "# TYPE smartdock_registrator_reconnects_total counter\n"
                                 "smartdock_registrator_reconnects_total 0\n"));
    assert_non_null(strstr(text, "# HELP smartdock_registrator_registrations Registrations.\\nPer "
                                 "service.\n# TYPE smartdock_registrator_registrations gauge\n"));
    free(text);

    metric_add(reconnects, 1);
    metric_add(reconnects, 2);
    metric_add(checks, 1, "web", "healthy");
    metric_add(checks, 1, "web", "healthy");
    metric_add(checks, 1, "web", "unhealthy");
    metric_set(regs, 3, "we\"b\\\n");
    assert_true(metric_value(reconnects) == 3);
    assert_true(metric_value(checks, "web", "healthy") == 2);
    assert_true(metric_value(checks, "api", "healthy") == 0);
    text = metrics_render_families(m);
    assert_non_null(strstr(text, "smartdock_registrator_reconnects_total 3\n"));
    assert_non_null(
        strstr(text, "smartdock_registrator_checks_total{service=\"web\",result=\"healthy\"} 2\n"));
    assert_non_null(strstr(
        text, "smartdock_registrator_checks_total{service=\"web\",result=\"unhealthy\"} 1\n"));
    assert_non_null(
        strstr(text, "smartdock_registrator_registrations{service=\"we\\\"b\\\\\\n\"} 3\n"));
    free(text);

    metric_reset(regs);
    text = metrics_render_families(m);
    assert_null(strstr(text, "smartdock_registrator_registrations{"));
    free(text);
    metrics_free(m);
}

static void histograms_have_cumulative_buckets_sum_and_count(void **state)
{
    (void)state;
    struct metrics *m = metrics_new("watcher", "1");
    static const double bounds[] = {0.01, 0.1, 1};
    struct metric *h =
        metrics_histogram(m, "smartdock_watcher_apply_seconds", "Apply.", NULL, bounds, 3);
    metric_observe(h, 0.005);
    metric_observe(h, 0.05);
    metric_observe(h, 0.05);
    metric_observe(h, 5);
    char *text = metrics_render_families(m);
    assert_non_null(strstr(text, "# TYPE smartdock_watcher_apply_seconds histogram\n"
                                 "smartdock_watcher_apply_seconds_bucket{le=\"0.01\"} 1\n"
                                 "smartdock_watcher_apply_seconds_bucket{le=\"0.1\"} 3\n"
                                 "smartdock_watcher_apply_seconds_bucket{le=\"1\"} 3\n"
                                 "smartdock_watcher_apply_seconds_bucket{le=\"+Inf\"} 4\n"
                                 "smartdock_watcher_apply_seconds_sum 5.1050000000000004\n"
                                 "smartdock_watcher_apply_seconds_count 4\n"));
    free(text);
    metrics_free(m);
}

static void null_metrics_are_harmless(void **state)
{
    (void)state;
    struct metric *f = metrics_counter(NULL, "x", "y", NULL);
    assert_null(f);
    metric_add(f, 1);
    metric_set(f, 1, "a");
    metric_observe(f, 1);
    metric_reset(f);
    assert_true(metric_value(f) == 0);
    metrics_free(NULL);
}

static void collect(void *arg, struct metrics *m)
{
    (void)m;
    metric_set(arg, 7, "web");
}

static void render_adds_process_and_build_info_and_collects(void **state)
{
    (void)state;
    struct metrics *m = metrics_new("watcher", "0.1.0");
    struct metric *b = metrics_gauge(m, "smartdock_watcher_backends", "Backends.", "service");
    metrics_on_collect(m, collect, b);
    char *text = metrics_render(m);
    assert_non_null(strstr(text, "smartdock_watcher_backends{service=\"web\"} 7\n"));
    assert_non_null(strstr(text, "\nprocess_resident_memory_bytes "));
    assert_non_null(strstr(text, "\nprocess_cpu_seconds_total "));
    assert_non_null(strstr(text, "\nprocess_open_fds "));
    assert_non_null(strstr(text, "\nprocess_start_time_seconds "));
    assert_non_null(
        strstr(text, "\nsmartdock_build_info{daemon=\"watcher\",version=\"0.1.0\"} 1\n"));
    free(text);
    metrics_free(m);
}

/* ---- the HTTP server, driven by the loop -------------------------------- */

struct get {
    struct loop *loop;
    CURL *easy;
    char body[65536];
    size_t len;
    long status;
    char type[128];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct get *g = arg;
    size_t len = size * n;
    if (g->len + len < sizeof g->body) {
        memcpy(g->body + g->len, p, len);
        g->len += len;
        g->body[g->len] = '\0';
    }
    return len;
}

static void on_done(void *arg, CURL *easy, CURLcode result)
{
    struct get *g = arg;
    assert_int_equal(result, CURLE_OK);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &g->status);
    char *type = NULL;
    curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &type);
    if (type) strncpy(g->type, type, sizeof g->type - 1);
    loop_stop(g->loop);
}

static void give_up(void *arg)
{
    loop_stop(arg);
}

/* One GET through the loop that also runs the server. */
static void get(struct loop *l, const char *url, struct get *g)
{
    memset(g, 0, sizeof *g);
    g->loop = l;
    g->easy = curl_easy_init();
    curl_easy_setopt(g->easy, CURLOPT_URL, url);
    curl_easy_setopt(g->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(g->easy, CURLOPT_WRITEDATA, g);
    loop_add_transfer(l, g->easy, on_done, g);
    uint64_t t = loop_timer(l, 30000, give_up, l);
    loop_run(l);
    loop_timer_cancel(l, t);
    curl_easy_cleanup(g->easy);
}

static void http_serves_metrics_from_the_loop(void **state)
{
    (void)state;
    struct loop *l = loop_new();
    struct metrics *m = metrics_new("registrator", "0.1.0");
    struct metric *c = metrics_counter(m, "smartdock_registrator_reconnects_total", "R.", NULL);
    metric_add(c, 5);
    char err[256];
    /* port 0 is refused by the config check; find a free one by trying */
    struct metrics_http *h = NULL;
    char listen[64], url[96];
    for (int port = 19300; port < 19400 && !h; port++) {
        snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
        h = metrics_http_new(l, listen, m, err, sizeof err);
    }
    assert_non_null(h);
    snprintf(url, sizeof url, "http://%s/metrics", listen);
    struct get *g = calloc(1, sizeof *g);
    get(l, url, g);
    assert_int_equal(g->status, 200);
    assert_string_equal(g->type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(g->body, "smartdock_registrator_reconnects_total 5\n"));
    assert_non_null(strstr(g->body, "smartdock_build_info{"));

    snprintf(url, sizeof url, "http://%s/other", listen);
    get(l, url, g);
    assert_int_equal(g->status, 404);

    /* the same address twice: a clear error, no crash */
    struct metrics_http *again = metrics_http_new(l, listen, m, err, sizeof err);
    assert_null(again);
    assert_non_null(strstr(err, "cannot listen"));
    free(g);
    metrics_http_free(h);
    metrics_free(m);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_gauges_and_labels_render_as_text_0_0_4),
        cmocka_unit_test(histograms_have_cumulative_buckets_sum_and_count),
        cmocka_unit_test(null_metrics_are_harmless),
        cmocka_unit_test(render_adds_process_and_build_info_and_collects),
        cmocka_unit_test(http_serves_metrics_from_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
