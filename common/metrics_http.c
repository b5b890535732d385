#include "metrics_http.h"

#include "daemon_config.h"
#include "log.h"
#include "mhd_lib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TICK_MS 1000 /* MHD's own timeouts (idle connections) */

struct metrics_http {
    struct loop *loop;
    struct metrics *metrics;
    struct MHD_Daemon *mhd;
    int epoll_fd;
    uint64_t tick;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *text,
                             const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct metrics_http *h = cls;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)con_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n", "text/plain");
    if (strcmp(url, "/metrics") != 0)
        return reply(conn, MHD_HTTP_NOT_FOUND, "not found: try GET /metrics\n", "text/plain");
    char *text = metrics_render(h->metrics);
    if (!text) return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", "text/plain");
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static void run_mhd(struct metrics_http *h)
{
    MHD_run(h->mhd);
}

static void on_epoll(void *arg, short revents)
{
    (void)revents;
    run_mhd(arg);
}

static void on_tick(void *arg)
{
    struct metrics_http *h = arg;
    run_mhd(h);
    h->tick = loop_timer(h->loop, METRICS_TICK_MS, on_tick, h);
}

/* fmt comes from libmicrohttpd; the attribute tells the compiler so. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    log_warn("metrics: %s", msg);
}

struct metrics_http *metrics_http_new(struct loop *l, const char *listen, struct metrics *m,
                                      char *err, size_t errlen)
{
    char addr[64];
    int port;
    if (daemon_config_split_listen(listen, addr, sizeof addr, &port) < 0) {
        snprintf(err, errlen, "metrics.listen %s: not address:port", listen);
        return NULL;
    }
    /* Only now, with metrics configured, is libmicrohttpd worth mapping. */
    if (mhd_lib_load(err, errlen) < 0) return NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, addr, &a6->sin6_addr);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, addr, &a4->sin_addr);
    }
    struct metrics_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->loop = l;
    h->metrics = m;
    h->epoll_fd = -1;
    /* No internal thread: MHD_run from the loop does all the work. */
    h->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, h,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)32, MHD_OPTION_END);
    if (!h->mhd) {
        snprintf(err, errlen, "metrics.listen %s: cannot listen (%s)", listen,
                 errno ? strerror(errno) : "libmicrohttpd refused");
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    h->epoll_fd = info ? info->epoll_fd : -1;
    if (h->epoll_fd < 0 || loop_watch_fd(l, h->epoll_fd, POLLIN, on_epoll, h) < 0) {
        snprintf(err, errlen, "metrics: no epoll fd from libmicrohttpd");
        MHD_stop_daemon(h->mhd);
        free(h);
        return NULL;
    }
    h->tick = loop_timer(l, METRICS_TICK_MS, on_tick, h);
    log_info("metrics: serving GET /metrics on http://%s/", listen);
    return h;
}

void metrics_http_free(struct metrics_http *h)
{
    if (!h) return;
    if (h->tick) loop_timer_cancel(h->loop, h->tick);
    if (h->epoll_fd >= 0) loop_unwatch_fd(h->loop, h->epoll_fd);
    MHD_stop_daemon(h->mhd);
    free(h);
}
