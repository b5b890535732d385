/*
 * loadgen: the benchmarks' open-loop HTTP client (PEERS.md's method: a fixed
 * rate, a fresh TCP connection per request), recording every request.
 *
 *   loadgen -c ADDR:PORT -o CSV [-r RATE] [-d SECONDS] [-n MAX] [-t TIMEOUT_MS]
 *           [-s SEEN_FILE] [-m MAX_IN_FLIGHT]
 *
 * Request i starts at t0 + i/RATE (default 1000 per second) whatever became of
 * the earlier ones: a stalled backend does not slow the client down and hide
 * the requests it would have failed (open loop). Each request is "GET /
 * HTTP/1.1" with "Connection: close" on a new connection to ADDR:PORT, which
 * must be on 127.0.0.0/8.
 *
 * CSV gets one line per request, in completion order:
 *
 *   id,sched_us,send_us,done_us,status,result,name
 *
 * times in microseconds since the epoch (CLOCK_MONOTONIC, offset to the wall
 * clock once at start, so they compare with Docker's and the daemons' log
 * times): when the request was due, when its connect() was called, when the
 * whole answer was in (or the failure seen). status is the HTTP status (0:
 * none); result is ok (2xx), http (another status), refused, reset, closed
 * (closed without an answer), timeout (nothing complete after TIMEOUT_MS,
 * default 5000), overload (not sent: MAX_IN_FLIGHT, default 8192, were
 * outstanding) or error; name is NAME from a "Hello from NAME" body.
 *
 * SEEN_FILE gets "NAME first_done_us" the first time each NAME answers,
 * flushed at once, so that a script can wait for a backend to be served.
 *
 * Stops sending after SECONDS (default 600), MAX requests (default RATE *
 * SECONDS), or SIGTERM/SIGINT; requests in flight get until their timeout.
 * Then one summary line on stdout:
 *
 *   requests N ok N failed N http N refused N reset N closed N timeout N
 *   overload N error N slow_1s N latency_ms p50 X p99 X max X lag_ms_max X
 *
 * (latency: send to done, of the ok requests; slow_1s: ok requests that took
 * over a second; lag: how late the latest start was against its schedule).
 * Exit status 0, or 2 on a usage or set-up error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_MAX 1024
#define NAME_MAX_LEN 64
#define SEEN_MAX 65536 /* slots of the seen-names hash (power of two) */

enum stage { FREE, CONNECTING, READING };

enum result { RES_OK, RES_HTTP, RES_REFUSED, RES_RESET, RES_CLOSED, RES_TIMEOUT, RES_OVERLOAD, RES_ERROR, RES_N };
static const char *result_names[RES_N] = {"ok",      "http",    "refused",  "reset",
                                        "closed",  "timeout", "overload", "error"};

struct req {
    long id;
    enum stage stage;
    int fd;
    int64_t sched_us, send_us, answer_us; /* answer_us: the whole answer is in (0: not yet) */
    size_t len;
    char buf[BUF_MAX];
};

static volatile sig_atomic_t stopping;
static struct req *reqs; /* a ring: request id lives in slot id % nslots */
static size_t nslots;
static int ep = -1;
static int64_t mono_to_real_us;
static FILE *csv, *seen_file;
static char *seen[SEEN_MAX];
static size_t nseen;
static long counts[RES_N], in_flight, slow;
static uint32_t *latency_ms; /* of the ok requests */
static size_t nlatency, latency_cap;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen -c ADDR:PORT -o CSV [-r RATE] [-d SECONDS] [-n MAX] "
                    "[-t TIMEOUT_MS] [-s SEEN_FILE] [-m MAX_IN_FLIGHT]\n");
    exit(2);
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Records NAME's first answer in SEEN_FILE. */
static void note_seen(const char *name, int64_t done_us)
{
    size_t i = hash(name) & (SEEN_MAX - 1);
    while (seen[i]) {
        if (strcmp(seen[i], name) == 0) return;
        i = (i + 1) & (SEEN_MAX - 1);
    }
    if (nseen >= SEEN_MAX / 2) return; /* keep the table sparse; the CSV still has it */
    seen[i] = strdup(name);
    nseen++;
    if (seen_file) {
        fprintf(seen_file, "%s %lld\n", name, (long long)(done_us + mono_to_real_us));
        fflush(seen_file);
    }
}

/* Parses what the request read so far: its status (0 if the status line is
 * not in yet), whether the whole answer is in (by Content-Length), and the
 * name in a "Hello from NAME" body. */
static int parse_answer(const struct req *r, int *complete, char *name, size_t namelen)
{
    const char *b = r->buf, *end = r->buf + r->len;
    const char *hdr_end = memmem(b, r->len, "\r\n\r\n", 4);
    int status = 0;
    long clen = -1;

    *complete = 0;
    name[0] = '\0';
    if (r->len >= 12 && memcmp(b, "HTTP/1.", 7) == 0 && b[8] == ' ') status = atoi(b + 9);
    if (!hdr_end) return status;
    for (const char *p = b; p < hdr_end; p++) {
        if ((p == b || p[-1] == '\n') && hdr_end - p > 15 && strncasecmp(p, "content-length:", 15) == 0)
            clen = strtol(p + 15, NULL, 10);
    }
    const char *body = hdr_end + 4;
    if (clen >= 0 && end - body >= clen) *complete = 1;
    if (end - body > 11 && memcmp(body, "Hello from ", 11) == 0) {
        size_t n = 0;
        for (const char *p = body + 11; p < end && *p != '\n' && *p != '\r' && n + 1 < namelen; p++)
            name[n++] = (char)(((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                                (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-')
                                   ? *p
                                   : '_');
        name[n] = '\0';
    }
    return status;
}

/* Ends a request: one CSV line, the counters, the slot freed. */
static void finish(struct req *r, enum result res, int64_t now)
{
    char name[NAME_MAX_LEN] = "";
    int complete = 0, status = 0;
    int64_t done = now;

    if (r->stage != FREE) {
        status = parse_answer(r, &complete, name, sizeof name);
        if (r->answer_us) done = r->answer_us;
        if (r->fd >= 0) close(r->fd);
        in_flight--;
    }
    if (res == RES_CLOSED || (res == RES_RESET && complete)) {
        /* the peer closed: judge by what it said before */
        if (status >= 200 && status < 300 && (complete || res == RES_CLOSED))
            res = RES_OK;
        else if (status > 0)
            res = RES_HTTP;
    }
    if (res == RES_OK && !(status >= 200 && status < 300)) res = status ? RES_HTTP : RES_ERROR;
    counts[res]++;
    if (res == RES_OK) {
        int64_t lat = (done - r->send_us) / 1000;
        if (lat >= 1000) slow++;
        if (nlatency < latency_cap) latency_ms[nlatency++] = (uint32_t)lat;
        if (name[0]) note_seen(name, done);
    }
    fprintf(csv, "%ld,%lld,%lld,%lld,%d,%s,%s\n", r->id, (long long)(r->sched_us + mono_to_real_us),
            (long long)(r->send_us ? r->send_us + mono_to_real_us : 0),
            (long long)(done + mono_to_real_us), status, result_names[res], name);
    r->stage = FREE;
    r->fd = -1;
    r->id = -1;
}

static void start(long id, int64_t sched, const struct sockaddr_in *to)
{
    struct req *r = &reqs[id % (long)nslots];
    int64_t now = now_us();

    if (r->stage != FREE) {
        /* the slot's older request is still out: too many in flight */
        struct req over = {.id = id, .stage = FREE, .fd = -1, .sched_us = sched};
        finish(&over, RES_OVERLOAD, now);
        return;
    }
    r->id = id;
    r->sched_us = sched;
    r->send_us = now;
    r->answer_us = 0;
    r->len = 0;
    r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    r->stage = CONNECTING;
    in_flight++;
    if (r->fd < 0) {
        finish(r, RES_ERROR, now);
        return;
    }
    if (connect(r->fd, (const struct sockaddr *)to, sizeof *to) < 0 && errno != EINPROGRESS) {
        finish(r, errno == ECONNREFUSED ? RES_REFUSED : RES_ERROR, now);
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)id};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, r->fd, &ev) < 0) finish(r, RES_ERROR, now);
}

static void on_event(uint64_t id, uint32_t events)
{
    struct req *r = &reqs[id % nslots];
    int64_t now = now_us();
    static const char request[] = "GET / HTTP/1.1\r\nHost: loadgen\r\nUser-Agent: smartdock-loadgen\r\n"
                                  "Connection: close\r\n\r\n";

    if (r->stage == FREE || r->id != (long)id) return; /* finished earlier in this batch */
    if (r->stage == CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0) err = errno;
        if (err) {
            finish(r, err == ECONNREFUSED ? RES_REFUSED : err == ECONNRESET ? RES_RESET : RES_ERROR, now);
            return;
        }
        if (send(r->fd, request, sizeof request - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof request - 1)) {
            finish(r, errno == ECONNRESET || errno == EPIPE ? RES_RESET : RES_ERROR, now);
            return;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = id};
        if (epoll_ctl(ep, EPOLL_CTL_MOD, r->fd, &ev) < 0) finish(r, RES_ERROR, now);
        else r->stage = READING;
        return;
    }
    (void)events;
    for (;;) {
        char sink[4096];
        char *dst = r->len < BUF_MAX ? r->buf + r->len : sink;
        size_t room = r->len < BUF_MAX ? BUF_MAX - r->len : sizeof sink;
        ssize_t n = read(r->fd, dst, room);
        if (n > 0) {
            if (dst != sink) r->len += (size_t)n;
            if (!r->answer_us) {
                char name[NAME_MAX_LEN];
                int complete;
                parse_answer(r, &complete, name, sizeof name);
                if (complete) r->answer_us = now;
            }
            continue;
        }
        if (n == 0) {
            finish(r, RES_CLOSED, now);
        } else if (errno == ECONNRESET) {
            finish(r, RES_RESET, now);
        } else if (errno != EAGAIN && errno != EINTR) {
            finish(r, RES_ERROR, now);
        }
        return;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *target = NULL, *csv_path = NULL, *seen_path = NULL;
    double rate = 1000, seconds = 600;
    long max_n = -1, timeout_ms = 5000, max_in_flight = 8192;
    int opt;

    while ((opt = getopt(argc, argv, "c:o:r:d:n:t:s:m:")) != -1) {
        switch (opt) {
        case 'c': target = optarg; break;
        case 'o': csv_path = optarg; break;
        case 'r': rate = atof(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'n': max_n = atol(optarg); break;
        case 't': timeout_ms = atol(optarg); break;
        case 's': seen_path = optarg; break;
        case 'm': max_in_flight = atol(optarg); break;
        default: usage();
        }
    }
    if (!target || !csv_path || rate <= 0 || rate > 100000 || seconds <= 0 || seconds > 86400 ||
        timeout_ms <= 0 || max_in_flight <= 0 || max_in_flight > 1000000)
        usage();
    if (max_n < 0) max_n = (long)(rate * seconds);

    struct sockaddr_in to = {.sin_family = AF_INET};
    char host[64];
    const char *colon = strrchr(target, ':');
    if (!colon || (size_t)(colon - target) >= sizeof host) usage();
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = '\0';
    long port = strtol(colon + 1, NULL, 10);
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1 || port <= 0 || port > 65535) usage();
    if ((ntohl(to.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "loadgen: %s is not on 127.0.0.0/8\n", host);
        return 2;
    }
    to.sin_port = htons((uint16_t)port);

    nslots = (size_t)max_in_flight;
    reqs = calloc(nslots, sizeof *reqs);
    latency_cap = (size_t)max_n + 1;
    latency_ms = malloc(latency_cap * sizeof *latency_ms);
    csv = fopen(csv_path, "w");
    if (seen_path) seen_file = fopen(seen_path, "w");
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!reqs || !latency_ms || !csv || (seen_path && !seen_file) || ep < 0) {
        perror("loadgen: set-up");
        return 2;
    }
    static char csvbuf[1 << 16];
    setvbuf(csv, csvbuf, _IOFBF, sizeof csvbuf);
    for (size_t i = 0; i < nslots; i++) {
        reqs[i].fd = -1;
        reqs[i].id = -1;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t t0 = now_us();
    mono_to_real_us = (int64_t)rt.tv_sec * 1000000 + rt.tv_nsec / 1000 - t0;
    int64_t end = t0 + (int64_t)(seconds * 1e6), last_flush = t0, lag_max = 0;
    long next = 0, oldest = 0;
    struct epoll_event evs[256];

    for (;;) {
        int64_t now = now_us();
        int64_t due = t0 + (int64_t)((double)next * 1e6 / rate);
        int sending = !stopping && next < max_n && now < end;
        while (sending && due <= now && next < max_n) {
            if (now - due > lag_max) lag_max = now - due;
            start(next++, due, &to);
            due = t0 + (int64_t)((double)next * 1e6 / rate);
        }
        if (!sending && in_flight == 0) break;
        /* timeouts: requests start in id order, so the oldest is first */
        while (oldest < next) {
            struct req *r = &reqs[oldest % (long)nslots];
            if (r->stage == FREE || r->id != oldest) {
                oldest++;
                continue;
            }
            if (now - r->send_us < timeout_ms * 1000) break;
            finish(r, RES_TIMEOUT, now);
            oldest++;
        }
        if (now - last_flush > 1000000) {
            fflush(csv);
            last_flush = now;
        }
        int wait_ms = 100;
        if (sending) {
            int64_t d = (due - now + 999) / 1000;
            wait_ms = d < 0 ? 0 : d > 100 ? 100 : (int)d;
        }
        int n = epoll_wait(ep, evs, 256, wait_ms);
        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) on_event(evs[i].data.u64, evs[i].events);
    }

    fflush(csv);
    fclose(csv);
    if (seen_file) fclose(seen_file);
    qsort(latency_ms, nlatency, sizeof *latency_ms, cmp_u32);
    long total = 0, failed = 0;
    for (int i = 0; i < RES_N; i++) {
        total += counts[i];
        if (i != RES_OK) failed += counts[i];
    }
    uint32_t p50 = 0, p99 = 0, mx = 0;
    if (nlatency) {
        p50 = latency_ms[(size_t)((double)nlatency * 0.50 + 0.999999) - 1];
        p99 = latency_ms[(size_t)((double)nlatency * 0.99 + 0.999999) - 1];
        mx = latency_ms[nlatency - 1];
    }
    printf("requests %ld ok %ld failed %ld http %ld refused %ld reset %ld closed %ld timeout %ld "
           "overload %ld error %ld slow_1s %ld latency_ms p50 %u p99 %u max %u lag_ms_max %lld\n",
           total, counts[RES_OK], failed, counts[RES_HTTP], counts[RES_REFUSED], counts[RES_RESET],
           counts[RES_CLOSED], counts[RES_TIMEOUT], counts[RES_OVERLOAD], counts[RES_ERROR], slow, p50, p99,
           mx, (long long)(lag_max / 1000));
    return 0;
}
