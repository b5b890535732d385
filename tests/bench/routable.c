/*
 * routable: how soon a new backend takes traffic through HAProxy (issue 12),
 * and a membership churn, for the benchmarks b1200 and b1210.
 *
 *   routable zk   HOSTS PATH      LB_PORT SOCKET BACKEND TRIALS BASE_PORT
 *   routable etcd ENDPOINT PREFIX LB_PORT SOCKET BACKEND TRIALS BASE_PORT
 *   routable churn HOSTS ROOT SERVICES RATE SECONDS BASE_PORT
 *
 * zk / etcd: serves HTTP on 127.0.0.2:BASE_PORT ("old", registered first
 * and kept), on BASE_PORT+1..TRIALS ("new-K") and on BASE_PORT+TRIALS+1
 * ("floor"), and sends requests to 127.0.0.1:LB_PORT back to back (a fresh
 * connection each, no gap), counting them once "old" answers. Per trial: a
 * quiet 300 ms, then the registration of new-K is written (ephemeral
 * znode / etcd key) and the time until a request is answered by new-K is
 * measured, from the moment the write was sent and from its reply; then
 * the registration is deleted. One line per trial:
 *   trial K sent_to_answer_us N ack_to_answer_us N watch_us N addenable_us N route_us N
 * watch_us: the write → a watch of our own on a second session (ZooKeeper)
 * or stream (etcd) firing; addenable_us: "add server BACKEND/floorK" +
 * "enable server" on SOCKET, two connections as HAProxy's CLI is used,
 * timed before the quiet period; route_us: the enable answered → the
 * floor server's first answer through HAProxy (it is removed then). The
 * floor of a trial is watch_us + addenable_us (+ route_us: the same
 * measure as the trial's). At the end: "requests N failed N (...)"
 * (failed: refused, or answered without "Hello from"; those before "old"
 * first answered are counted apart), then one "failure" line per failed
 * request placing it in its trial, with why.
 *
 * churn: RATE membership changes a second for SECONDS in ROOT/s1..sSERVICES
 * (which exist): alternately a new ephemeral znode for 127.0.0.2:PORT (PORT
 * from BASE_PORT up) in a random service, and the deletion of the oldest one
 * it created, once RATE/2 of them exist (so each lives about a second).
 * One line per change: "add EPOCH_US PORT" / "del EPOCH_US PORT" (the time
 * the request was sent).
 */

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t epoch_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *what)
{
    fprintf(stderr, "routable: %s\n", what);
    exit(2);
}

/* ---------------------------------------------------------------- backends */

static int nlisten;
static int *lfds;
static int base_port;

static void *serve(void *arg)
{
    (void)arg;
    struct pollfd *p = calloc((size_t)nlisten, sizeof *p);
    for (int i = 0; i < nlisten; i++)
        p[i] = (struct pollfd){lfds[i], POLLIN, 0};
    for (;;) {
        if (poll(p, (nfds_t)nlisten, -1) <= 0) continue;
        for (int i = 0; i < nlisten; i++) {
            if (!(p[i].revents & POLLIN)) continue;
            int c = accept(lfds[i], NULL, NULL);
            if (c < 0) continue;
            char buf[2048];
            size_t got = 0;
            while (got < sizeof buf - 1) {
                ssize_t n = read(c, buf + got, sizeof buf - 1 - got);
                if (n <= 0) break;
                got += (size_t)n;
                buf[got] = 0;
                if (strstr(buf, "\r\n\r\n")) break;
            }
            char body[64], resp[256];
            if (i == 0)
                snprintf(body, sizeof body, "Hello from old\n");
            else if (i == nlisten - 1)
                snprintf(body, sizeof body, "Hello from floor\n");
            else
                snprintf(body, sizeof body, "Hello from new-%d\n", i);
            int n =
                snprintf(resp, sizeof resp,
                         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         strlen(body), body);
            if (write(c, resp, (size_t)n) < 0) { /* the client went */
            }
            close(c);
        }
    }
    return NULL;
}

static void listen_all(int n)
{
    nlisten = n;
    lfds = calloc((size_t)n, sizeof *lfds);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)(base_port + i))};
        inet_pton(AF_INET, "127.0.0.2", &sa.sin_addr);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0)
            die("cannot listen on 127.0.0.2");
        lfds[i] = fd;
    }
    pthread_t t;
    pthread_create(&t, NULL, serve, NULL);
}

/* ---------------------------------------------------------------- client */

static int lb_port;
static atomic_int target = -1;        /* the new-K awaited, -1: none */
static atomic_uint_fast64_t answered; /* now_us() of its first answer */
static atomic_uint_fast64_t requests, failures;
/* Failed requests before "old" first answered (the watcher had not put it
 * in HAProxy yet: 503), kept apart from the trials' failures. */
static atomic_bool warmed_up;
static atomic_uint_fast64_t warmup_failures;
static atomic_bool floor_waiting;           /* a floor server is enabled */
static atomic_uint_fast64_t floor_answered; /* now_us() of its first answer */

/* Why the last request failed, for the "failure" lines. */
static char failure_why[128];

static int request_once(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)lb_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(failure_why, sizeof failure_why, "connect: %s", strerror(errno));
        close(fd);
        return -2;
    }
    static const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    if (write(fd, req, sizeof req - 1) < 0) {
        snprintf(failure_why, sizeof failure_why, "write: %s", strerror(errno));
        close(fd);
        return -2;
    }
    char buf[4096];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
        if (got == sizeof buf - 1) break;
    }
    close(fd);
    buf[got] = 0;
    const char *h = strstr(buf, "Hello from new-");
    if (h) return atoi(h + 15);
    if (strstr(buf, "Hello from old")) return 0;
    if (strstr(buf, "Hello from floor")) return -3;
    /* the status line, or what the read said */
    size_t line = strcspn(buf, "\r\n");
    if (line)
        snprintf(failure_why, sizeof failure_why, "answer \"%.*s\"", (int)line, buf);
    else
        snprintf(failure_why, sizeof failure_why, "no answer (%s)", got ? "?" : "closed");
    return -2;
}

/* The trial whose write was sent last (0: none yet), so a failed request
 * can be placed in time. */
static atomic_int trial_no;

struct failure {
    int trial;
    uint64_t started, ended;
    char why[128];
};
#define MAX_FAILURES 200
static struct failure failure_log[MAX_FAILURES];
static atomic_int nfailure_log;

static void note_failure(uint64_t started, uint64_t ended)
{
    int i = atomic_fetch_add(&nfailure_log, 1);
    if (i >= MAX_FAILURES) return;
    failure_log[i] = (struct failure){atomic_load(&trial_no), started, ended, ""};
    snprintf(failure_log[i].why, sizeof failure_log[i].why, "%s", failure_why);
}

/* Per trial k (now_us(); 0: did not happen): its write sent, its first
 * answer by the new backend, its deletion sent, and the floor's throwaway
 * server of trial k+1 added and deleted (that runs after k's deletion). */
struct trial_times {
    uint64_t written, answered, deleted, next_floor_start, next_floor_end;
};

static long long rel(uint64_t t, uint64_t origin)
{
    return t ? (long long)t - (long long)origin : 0;
}

/* One line per failed request, times in us from its trial's write. */
static void print_failures(const struct trial_times *tt, int trials)
{
    int n = atomic_load(&nfailure_log);
    for (int i = 0; i < n && i < MAX_FAILURES; i++) {
        const struct failure *f = &failure_log[i];
        if (f->trial < 1 || f->trial > trials) {
            printf("failure %d: before the first trial: %s\n", i + 1, f->why);
            continue;
        }
        const struct trial_times *t = &tt[f->trial];
        printf("failure %d: trial %d, us from its write: request %lld..%lld, first answer by "
               "it %lld, deletion sent %lld, next floor server %lld..%lld: %s\n",
               i + 1, f->trial, rel(f->started, t->written), rel(f->ended, t->written),
               rel(t->answered, t->written), rel(t->deleted, t->written),
               rel(t->next_floor_start, t->written), rel(t->next_floor_end, t->written), f->why);
    }
}

static void *client(void *arg)
{
    (void)arg;
    for (;;) {
        uint64_t started = now_us();
        int who = request_once();
        uint64_t t = now_us();
        if (!atomic_load(&warmed_up)) {
            if (who == -2) atomic_fetch_add(&warmup_failures, 1);
            if (who == 0) atomic_store(&warmed_up, true);
            continue;
        }
        atomic_fetch_add(&requests, 1);
        if (who == -2) {
            atomic_fetch_add(&failures, 1);
            note_failure(started, t);
        }
        if (who == -3 && atomic_load(&floor_waiting)) {
            uint64_t zero = 0;
            atomic_compare_exchange_strong(&floor_answered, &zero, t);
        }
        if (who > 0 && who == atomic_load(&target)) {
            uint64_t zero = 0;
            atomic_compare_exchange_strong(&answered, &zero, t);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- HAProxy floor */

static const char *sock_path;

static int cli(const char *cmd, char *out, size_t outlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    char line[512];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    if (write(fd, line, (size_t)n) < 0) {
        close(fd);
        return -1;
    }
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, out + got, outlen - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = 0;
    close(fd);
    return 0;
}

/* add + enable of a throwaway server (the "floor" listener); their time in
 * us, and in *route_us the time from the enable's answer to the server's
 * first answer through HAProxy (0: none within a second, or one before the
 * enable's answer was read). */
static uint64_t floor_addenable(const char *backend, int k, uint64_t *route_us)
{
    char cmd[300], out[512];
    atomic_store(&floor_answered, 0);
    uint64_t t0 = now_us();
    snprintf(cmd, sizeof cmd, "add server %s/floor%d 127.0.0.2:%d", backend, k,
             base_port + nlisten - 1);
    cli(cmd, out, sizeof out);
    if (!strstr(out, "New server registered")) {
        fprintf(stderr, "routable: %s: %s", cmd, out);
        return 0;
    }
    snprintf(cmd, sizeof cmd, "enable server %s/floor%d", backend, k);
    atomic_store(&floor_waiting, true);
    cli(cmd, out, sizeof out);
    uint64_t enabled = now_us(), t = enabled - t0;
    for (int i = 0; i < 1000 && !atomic_load(&floor_answered); i++)
        usleep(1000);
    atomic_store(&floor_waiting, false);
    uint64_t fa = atomic_load(&floor_answered);
    *route_us = fa > enabled ? fa - enabled : 0;
    snprintf(cmd, sizeof cmd, "set server %s/floor%d state maint", backend, k);
    cli(cmd, out, sizeof out);
    snprintf(cmd, sizeof cmd, "del server %s/floor%d", backend, k);
    for (int i = 0; i < 50; i++) {
        cli(cmd, out, sizeof out);
        if (strstr(out, "Server deleted") || strstr(out, "No such server")) break;
        usleep(20000);
    }
    return t;
}

/* ---------------------------------------------------------------- registries */

static zhandle_t *zh, *zh_watch;
static atomic_uint_fast64_t watch_fired;

static void zk_watch_fn(zhandle_t *z, int type, int state, const char *path, void *ctx)
{
    (void)z, (void)state, (void)path, (void)ctx;
    if (type == ZOO_CHILD_EVENT) {
        uint64_t zero = 0;
        atomic_compare_exchange_strong(&watch_fired, &zero, now_us());
    }
}

static zhandle_t *zk_connect(const char *hosts)
{
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *z = zookeeper_init(hosts, NULL, 10000, NULL, NULL, 0);
    for (int i = 0; z && i < 500 && zoo_state(z) != ZOO_CONNECTED_STATE; i++)
        usleep(10000);
    if (!z || zoo_state(z) != ZOO_CONNECTED_STATE) die("cannot connect to ZooKeeper");
    return z;
}

static char etcd_ep[256];
static CURL *etcd_put_curl;

static void b64(const char *in, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n) v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)in[i + 2];
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = 0;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p, (void)u;
    return s * n;
}

static void etcd_post(const char *path, const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", etcd_ep, path);
    curl_easy_setopt(etcd_put_curl, CURLOPT_URL, url);
    curl_easy_setopt(etcd_put_curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(etcd_put_curl, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(etcd_put_curl) != CURLE_OK) die("etcd request failed");
}

static void etcd_put(const char *key, const char *value)
{
    char k[512], v[1024], body[2048];
    b64(key, k);
    b64(value, v);
    snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}", k, v);
    etcd_post("/v3/kv/put", body);
}

static void etcd_del(const char *key)
{
    char k[512], body[1024];
    b64(key, k);
    snprintf(body, sizeof body, "{\"key\":\"%s\"}", k);
    etcd_post("/v3/kv/deleterange", body);
}

static size_t on_watch_data(char *p, size_t s, size_t n, void *u)
{
    (void)u;
    /* an event names a kv; the creation answer does not */
    if (memmem(p, s * n, "\"events\"", 8)) {
        uint64_t zero = 0;
        atomic_compare_exchange_strong(&watch_fired, &zero, now_us());
    }
    return s * n;
}

static char watch_prefix[256];

static void *etcd_watch(void *arg)
{
    (void)arg;
    CURL *c = curl_easy_init();
    char url[512], k[512], end[512], body[1200], endkey[256];
    snprintf(url, sizeof url, "%s/v3/watch", etcd_ep);
    snprintf(endkey, sizeof endkey, "%s", watch_prefix);
    endkey[strlen(endkey) - 1]++;
    b64(watch_prefix, k);
    b64(endkey, end);
    snprintf(body, sizeof body, "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\"}}", k,
             end);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_watch_data);
    curl_easy_perform(c);
    die("etcd watch ended");
    return NULL;
}

/* ---------------------------------------------------------------- trials */

static void nerve(char *out, size_t len, int port, const char *name)
{
    snprintf(out, len, "{\"host\":\"127.0.0.2\",\"port\":%d,\"name\":\"%s\",\"weight\":1}", port,
             name);
}

static int churn(int argc, char **argv)
{
    if (argc != 8) die("usage: routable churn HOSTS ROOT SERVICES RATE SECONDS BASE_PORT");
    zh = zk_connect(argv[2]);
    const char *root = argv[3];
    int services = atoi(argv[4]), rate = atoi(argv[5]), seconds = atoi(argv[6]);
    int port = atoi(argv[7]);
    int cap = rate * seconds + 16, head = 0, tail = 0;
    char **paths = calloc((size_t)cap, sizeof *paths);
    int *ports = calloc((size_t)cap, sizeof *ports);
    uint64_t start = now_us(), period = 1000000u / (unsigned)rate;
    srand(42);
    for (int i = 0; i < rate * seconds; i++) {
        uint64_t due = start + (uint64_t)i * period;
        uint64_t t = now_us();
        if (due > t) usleep((useconds_t)(due - t));
        /* a pool of RATE/2 churn servers (about one second old when
         * deleted) is built first, then adds and deletions alternate */
        if (i % 2 == 0 || tail - head < rate / 2) {
            char path[256], got[256], data[256], name[64];
            int svc = 1 + rand() % services;
            snprintf(path, sizeof path, "%s/s%d/churn_", root, svc);
            snprintf(name, sizeof name, "c%d", port);
            nerve(data, sizeof data, port, name);
            printf("add %llu %d\n", (unsigned long long)epoch_us(), port);
            int rc = zoo_create(zh, path, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE,
                                ZOO_EPHEMERAL | ZOO_SEQUENCE, got, sizeof got);
            if (rc != ZOK) die("create failed");
            paths[tail] = strdup(got);
            ports[tail++] = port++;
        } else {
            printf("del %llu %d\n", (unsigned long long)epoch_us(), ports[head]);
            if (zoo_delete(zh, paths[head], -1) != ZOK) die("delete failed");
            free(paths[head++]);
        }
    }
    fflush(stdout);
    fprintf(stderr, "churn done: %d changes in %.1f s\n", rate * seconds,
            (double)(now_us() - start) / 1e6);
    pause(); /* the remaining znodes stay until SIGTERM */
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "churn") == 0) return churn(argc, argv);
    if (argc != 9)
        die("usage: routable zk|etcd REGISTRY PATH LB_PORT SOCKET BACKEND TRIALS BASE_PORT");
    bool etcd = strcmp(argv[1], "etcd") == 0;
    const char *reg = argv[2], *path = argv[3], *backend = argv[6];
    lb_port = atoi(argv[4]);
    sock_path = argv[5];
    int trials = atoi(argv[7]);
    base_port = atoi(argv[8]);
    listen_all(trials + 2); /* old, new-1..new-TRIALS, floor */

    char key[512], data[256], got[512];
    if (etcd) {
        curl_global_init(CURL_GLOBAL_ALL);
        snprintf(etcd_ep, sizeof etcd_ep, "%s", reg);
        etcd_put_curl = curl_easy_init();
        snprintf(watch_prefix, sizeof watch_prefix, "%s/", path);
        pthread_t t;
        pthread_create(&t, NULL, etcd_watch, NULL);
        snprintf(key, sizeof key, "%s/old", path);
        nerve(data, sizeof data, base_port, "old");
        etcd_put(key, data);
    } else {
        zh = zk_connect(reg);
        zh_watch = zk_connect(reg);
        snprintf(key, sizeof key, "%s/old_", path);
        nerve(data, sizeof data, base_port, "old");
        if (zoo_create(zh, key, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_EPHEMERAL | ZOO_SEQUENCE, got, sizeof got) != ZOK)
            die("create failed");
    }
    pthread_t tc;
    pthread_create(&tc, NULL, client, NULL);
    /* "old" answers through HAProxy before the first trial */
    for (int i = 0; i < 1000 && !atomic_load(&warmed_up); i++)
        usleep(10000);
    if (!atomic_load(&warmed_up)) die("HAProxy never answered");
    usleep(500000);

    struct trial_times *tt = calloc((size_t)trials + 2, sizeof *tt);
    for (int k = 1; k <= trials; k++) {
        tt[k - 1].next_floor_start = now_us();
        uint64_t floor_route = 0, floor_ae = floor_addenable(backend, k, &floor_route);
        tt[k - 1].next_floor_end = now_us();
        usleep(300000); /* a quiet period */
        char name[32];
        snprintf(name, sizeof name, "new-%d", k);
        nerve(data, sizeof data, base_port + k, name);
        atomic_store(&watch_fired, 0);
        atomic_store(&answered, 0);
        atomic_store(&target, k);
        if (!etcd) {
            struct String_vector sv = {0};
            zoo_wget_children(zh_watch, path, zk_watch_fn, NULL, &sv);
            deallocate_String_vector(&sv);
            snprintf(key, sizeof key, "%s/new_", path);
        } else {
            snprintf(key, sizeof key, "%s/new-%d", path, k);
        }
        uint64_t t0 = now_us();
        tt[k].written = t0;
        atomic_store(&trial_no, k);
        if (etcd) {
            etcd_put(key, data);
        } else if (zoo_create(zh, key, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE,
                              ZOO_EPHEMERAL | ZOO_SEQUENCE, got, sizeof got) != ZOK) {
            die("create failed");
        }
        uint64_t t1 = now_us();
        for (int i = 0; i < 5000 && !atomic_load(&answered); i++)
            usleep(1000);
        uint64_t ta = atomic_load(&answered), tw = atomic_load(&watch_fired);
        if (!ta) die("the new backend never answered through HAProxy");
        printf("trial %d sent_to_answer_us %llu ack_to_answer_us %lld watch_us %llu "
               "addenable_us %llu route_us %llu\n",
               k, (unsigned long long)(ta - t0), (long long)ta - (long long)t1,
               (unsigned long long)(tw ? tw - t0 : 0), (unsigned long long)floor_ae,
               (unsigned long long)floor_route);
        atomic_store(&target, -1);
        tt[k].answered = ta;
        tt[k].deleted = now_us();
        if (etcd)
            etcd_del(key);
        else
            zoo_delete(zh, got, -1);
        usleep(200000);
    }
    printf("requests %llu failed %llu (and %llu failed before old first answered: the "
           "watcher had not applied it yet)\n",
           (unsigned long long)atomic_load(&requests), (unsigned long long)atomic_load(&failures),
           (unsigned long long)atomic_load(&warmup_failures));
    print_failures(tt, trials);
    free(tt);
    return 0;
}
