/*
 * Check runners on the loop thread; see health.h. One check of an instance
 * is in flight at a time, so an instance owns at most one easy handle or
 * one socket and one timer.
 */
#include "health.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_window.h"
#include "log.h"

#define BODY_MAX (64 * 1024) /* enough to find an `expect` in a health page */

struct check_run {
    struct check_spec spec;
    struct check_window window;
    char *name; /* Nerve's: http-<host>:<port><uri>, tcp-<host>:<port> */
    char *url;  /* http, and tcp by name */
    struct curl_slist *headers;
    char reason[160]; /* why the last result failed */
};

struct health {
    struct loop *loop;
    struct check_run *checks;
    size_t nchecks;
    int interval_ms;
    char *what;
    health_fn *fn;
    void *arg;
    health_result_fn *result_fn; /* may be NULL */
    void *result_arg;

    bool reported, up;
    char down_why[300]; /* "check <name>: <reason>" of the last fall */
    unsigned long runs;
    size_t current;      /* the check in flight */
    uint64_t started_ms; /* of the check in flight */
    uint64_t round_timer, timeout_timer;
    CURL *easy; /* in flight (http, tcp by name) */
    int fd;     /* in flight (tcp by address), else -1 */
    char *body;
    size_t body_len;
    bool body_full;
};

static void start_round(void *arg);
static void check_done(struct health *h, bool pass);

static bool is_ipv6(const char *host)
{
    return strchr(host, ':') != NULL;
}

static char *check_name(const struct check_spec *c)
{
    char *s = NULL;
    int r = c->name                 ? asprintf(&s, "%s", c->name)
            : c->type == CHECK_HTTP ? asprintf(&s, "http-%s:%d%s", c->host, c->port, c->uri)
                                    : asprintf(&s, "tcp-%s:%d", c->host, c->port);
    return r < 0 ? NULL : s;
}

static char *check_url(const struct check_spec *c)
{
    char *s = NULL;
    const char *lb = is_ipv6(c->host) ? "[" : "", *rb = is_ipv6(c->host) ? "]" : "";
    int r = asprintf(&s, "%s://%s%s%s:%d%s", c->type == CHECK_HTTP && c->ssl ? "https" : "http", lb,
                     c->host, rb, c->port, c->type == CHECK_HTTP ? c->uri : "/");
    return r < 0 ? NULL : s;
}

static void run_clear(struct check_run *r)
{
    check_spec_clear(&r->spec);
    free(r->name);
    free(r->url);
    curl_slist_free_all(r->headers);
}

struct health *health_new(struct loop *l, const struct check_list *checks, const char *host,
                          int port, int interval_ms, const char *what, health_fn *fn, void *arg)
{
    struct health *h = calloc(1, sizeof *h);
    struct check_list copy = {0};
    if (!h || check_list_copy(&copy, checks) < 0) goto fail;
    h->loop = l;
    h->fd = -1;
    h->interval_ms = interval_ms > 0 ? interval_ms : CHECK_INTERVAL_DEFAULT_MS;
    h->fn = fn;
    h->arg = arg;
    if (!(h->what = strdup(what))) goto fail;
    if (copy.n && !(h->checks = calloc(copy.n, sizeof *h->checks))) goto fail;
    for (size_t i = 0; i < copy.n; i++) {
        struct check_run *r = &h->checks[i];
        r->spec = copy.v[i];
        memset(&copy.v[i], 0, sizeof copy.v[i]);
        h->nchecks++;
        if (!r->spec.host && !(r->spec.host = strdup(host))) goto fail;
        if (!r->spec.port) r->spec.port = port;
        check_window_init(&r->window, r->spec.rise, r->spec.fall);
        if (!(r->name = check_name(&r->spec)) || !(r->url = check_url(&r->spec))) goto fail;
        for (size_t j = 0; j < r->spec.nheaders; j++) {
            char *line = NULL;
            if (asprintf(&line, "%s: %s", r->spec.headers[j].key, r->spec.headers[j].value) < 0)
                goto fail;
            struct curl_slist *n = curl_slist_append(r->headers, line);
            free(line);
            if (!n) goto fail;
            r->headers = n;
        }
    }
    check_list_clear(&copy);
    h->round_timer = loop_timer(l, 0, start_round, h);
    if (!h->round_timer) goto fail;
    return h;
fail:
    check_list_clear(&copy);
    health_free(h);
    return NULL;
}

static void stop_in_flight(struct health *h)
{
    if (h->timeout_timer) loop_timer_cancel(h->loop, h->timeout_timer);
    h->timeout_timer = 0;
    if (h->easy) {
        loop_remove_transfer(h->loop, h->easy);
        curl_easy_cleanup(h->easy);
        h->easy = NULL;
    }
    if (h->fd >= 0) {
        loop_unwatch_fd(h->loop, h->fd);
        close(h->fd);
        h->fd = -1;
    }
    free(h->body);
    h->body = NULL;
    h->body_len = 0;
    h->body_full = false;
}

void health_free(struct health *h)
{
    if (!h) return;
    stop_in_flight(h);
    if (h->round_timer) loop_timer_cancel(h->loop, h->round_timer);
    for (size_t i = 0; i < h->nchecks; i++)
        run_clear(&h->checks[i]);
    free(h->checks);
    free(h->what);
    free(h);
}

bool health_is_up(const struct health *h)
{
    return h->reported && h->up;
}

bool health_reported(const struct health *h)
{
    return h->reported;
}

void health_on_result(struct health *h, health_result_fn *fn, void *arg)
{
    h->result_fn = fn;
    h->result_arg = arg;
}

void health_describe(const struct health *h, char *buf, size_t len)
{
    if (!h->reported)
        snprintf(buf, len, "starting");
    else if (h->up)
        snprintf(buf, len, "up");
    else
        snprintf(buf, len, "down: %s", h->down_why);
}

unsigned long health_checks_run(const struct health *h)
{
    return h->runs;
}

static void fail_reason(struct health *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_reason(struct health *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->checks[h->current].reason, sizeof h->checks[h->current].reason, fmt, ap);
    va_end(ap);
}

static int elapsed_ms(const struct health *h)
{
    return (int)(loop_now_ms() - h->started_ms);
}

/* ---- http (and tcp by hostname) through libcurl ----------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct health *h = arg;
    size_t len = size * n;
    if (h->body_full || !h->checks[h->current].spec.expect) return len;
    size_t room = BODY_MAX - h->body_len;
    size_t take = len < room ? len : room;
    char *b = realloc(h->body, h->body_len + take + 1);
    if (!b) return 0; /* ends the transfer: a failed check */
    memcpy(b + h->body_len, data, take);
    h->body = b;
    h->body_len += take;
    h->body[h->body_len] = 0;
    if (h->body_len == BODY_MAX) h->body_full = true;
    return len;
}

/* Net::HTTP's read_timeout counts from the connection, not from the start:
 * the connect is bounded by open_timeout, the answer by read_timeout. */
static void on_http_timeout(void *arg)
{
    struct health *h = arg;
    h->timeout_timer = 0;
    fail_reason(h, "timeout after %d ms", elapsed_ms(h));
    stop_in_flight(h);
    check_done(h, false);
}

static int on_connected(void *arg, char *ip, char *local_ip, int port, int local_port)
{
    (void)ip, (void)local_ip, (void)port, (void)local_port;
    struct health *h = arg;
    if (!h->timeout_timer)
        h->timeout_timer = loop_timer(h->loop, (uint64_t)h->checks[h->current].spec.read_timeout_ms,
                                      on_http_timeout, h);
    return CURL_PREREQFUNC_OK;
}

static void on_transfer_done(void *arg, CURL *easy, CURLcode rc)
{
    struct health *h = arg;
    struct check_run *r = &h->checks[h->current];
    bool pass = false;
    long code = 0;
    if (rc == CURLE_OK && r->spec.type == CHECK_TCP) {
        pass = true;
    } else if (rc == CURLE_OK) {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code >= 400)
            fail_reason(h, "http %ld", code);
        else if (r->spec.expect && (!h->body || !memmem(h->body, h->body_len, r->spec.expect,
                                                        strlen(r->spec.expect))))
            fail_reason(h, "http %ld without \"%.60s\" in the body", code, r->spec.expect);
        else
            pass = true;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        fail_reason(h, "timeout after %d ms", elapsed_ms(h));
    } else if (rc == CURLE_COULDNT_CONNECT) {
        long os_errno = 0;
        curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED)
            fail_reason(h, "connect refused");
        else
            fail_reason(h, "connect: %s", os_errno ? strerror((int)os_errno) : "failed");
    } else {
        fail_reason(h, "%s", curl_easy_strerror(rc));
    }
    /* The loop already removed the handle from the multi. */
    curl_easy_cleanup(easy);
    h->easy = NULL;
    stop_in_flight(h);
    check_done(h, pass);
}

static int start_curl(struct health *h, struct check_run *r)
{
    CURL *e = curl_easy_init();
    if (!e) return -1;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    /* A new connection every time, as Nerve: a reused one would hide a
     * listener that is gone. */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    if (r->spec.type == CHECK_TCP) {
        curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)r->spec.timeout_ms);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->spec.timeout_ms);
    } else {
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)r->spec.open_timeout_ms);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                         (long)r->spec.open_timeout_ms + r->spec.read_timeout_ms);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
        curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_connected);
        curl_easy_setopt(e, CURLOPT_PREREQDATA, h);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "smartdock-registrator/" SMARTDOCK_VERSION);
        if (r->spec.ssl) { /* Nerve does not verify either */
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        }
    }
    if (loop_add_transfer(h->loop, e, on_transfer_done, h) < 0) {
        curl_easy_cleanup(e);
        return -1;
    }
    h->easy = e;
    return 0;
}

/* ---- tcp by address: a non-blocking connect --------------------------- */

static void on_tcp_timeout(void *arg)
{
    struct health *h = arg;
    h->timeout_timer = 0;
    fail_reason(h, "timeout after %d ms", elapsed_ms(h));
    stop_in_flight(h);
    check_done(h, false);
}

static void tcp_result(struct health *h, int err)
{
    if (err == ECONNREFUSED)
        fail_reason(h, "connect refused");
    else if (err)
        fail_reason(h, "connect: %s", strerror(err));
    stop_in_flight(h);
    check_done(h, err == 0);
}

static void on_tcp_ready(void *arg, short revents)
{
    (void)revents;
    struct health *h = arg;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    tcp_result(h, err);
}

/* 1: started; 0: finished at once (check_done was called); -1: cannot start. */
static int start_tcp(struct health *h, struct check_run *r)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", r->spec.port);
    if (getaddrinfo(r->spec.host, port, &hints, &ai) != 0) return start_curl(h, r) < 0 ? -1 : 1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return -1;
    }
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    int err = rc == 0 ? 0 : errno;
    freeaddrinfo(ai);
    h->fd = fd;
    if (rc == 0 || err != EINPROGRESS) {
        tcp_result(h, err);
        return 0;
    }
    if (loop_watch_fd(h->loop, fd, POLLOUT, on_tcp_ready, h) < 0 ||
        !(h->timeout_timer =
              loop_timer(h->loop, (uint64_t)r->spec.timeout_ms, on_tcp_timeout, h))) {
        stop_in_flight(h);
        return -1;
    }
    return 1;
}

/* ---- rounds ------------------------------------------------------------ */

static void start_check(struct health *h, size_t i)
{
    struct check_run *r = &h->checks[i];
    h->current = i;
    h->started_ms = loop_now_ms();
    h->runs++;
    r->reason[0] = 0;
    int rc = r->spec.type == CHECK_HTTP ? start_curl(h, r) : start_tcp(h, r);
    if (rc < 0) {
        fail_reason(h, "cannot start the check: %s", strerror(errno ? errno : ENOMEM));
        stop_in_flight(h);
        check_done(h, false);
    }
}

static void start_round(void *arg)
{
    struct health *h = arg;
    h->round_timer = 0;
    if (h->nchecks) {
        start_check(h, 0);
        return;
    }
    check_done(h, true); /* no checks: up, as Nerve */
}

static void end_round(struct health *h, bool up)
{
    if (!h->reported || up != h->up) {
        h->reported = true;
        h->up = up;
        if (up) {
            log_info("health: %s is up: %zu check%s passing", h->what, h->nchecks,
                     h->nchecks == 1 ? "" : "s");
        } else {
            struct check_run *r = &h->checks[h->current];
            snprintf(h->down_why, sizeof h->down_why, "check %s: %s", r->name,
                     r->reason[0] ? r->reason : "passing, but not yet rise times");
            log_warn("health: %s is down: %s (fall %d)", h->what, h->down_why, r->spec.fall);
        }
        h->fn(h->arg, up);
    }
    h->round_timer = loop_timer(h->loop, (uint64_t)h->interval_ms, start_round, h);
}

static void check_done(struct health *h, bool pass)
{
    if (h->nchecks == 0) {
        end_round(h, pass);
        return;
    }
    struct check_run *r = &h->checks[h->current];
    bool up = check_window_push(&r->window, pass);
    if (h->result_fn) h->result_fn(h->result_arg, pass);
    if (!pass) log_debug("health: %s: check %s failed: %s", h->what, r->name, r->reason);
    if (up && h->current + 1 < h->nchecks) {
        start_check(h, h->current + 1);
        return;
    }
    end_round(h, up);
}
