#include "haproxy_runtime.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ANSWER_MAX (4u << 20) /* "show stat" of a few thousand servers fits */
#define CONNECT_RETRY_MS 10   /* the listen backlog was full (EAGAIN) */

struct command {
    struct command *next;
    char *text; /* "<command>\n" */
    char *expect;
    bool expect_any;
    haproxy_runtime_fn *fn;
    void *arg;
};

struct haproxy_runtime {
    struct loop *loop;
    char *path;
    unsigned timeout_ms;
    struct command *head, *tail; /* queued */
    struct command *cur;         /* running */
    int fd;
    size_t sent;
    char *answer;
    size_t len, cap;
    uint64_t deadline_ms, timeout_timer, kick_timer, retry_timer;
    unsigned count;
};

static void kick(struct haproxy_runtime *rt);

static void command_free(struct command *c)
{
    if (!c) return;
    free(c->text);
    free(c->expect);
    free(c);
}

/* Trailing blank lines and spaces off; HAProxy ends each answer with "\n\n". */
static void trim(char *s, size_t *len)
{
    while (*len && (s[*len - 1] == '\n' || s[*len - 1] == '\r' || s[*len - 1] == ' '))
        (*len)--;
    s[*len] = '\0';
}

static bool answer_ok(const struct command *c, const char *answer)
{
    if (c->expect_any) return true;
    if (!*c->expect) return *answer == '\0';
    return strncmp(answer, c->expect, strlen(c->expect)) == 0;
}

static void close_conn(struct haproxy_runtime *rt)
{
    if (rt->fd >= 0) {
        loop_unwatch_fd(rt->loop, rt->fd);
        close(rt->fd);
        rt->fd = -1;
    }
    if (rt->timeout_timer) loop_timer_cancel(rt->loop, rt->timeout_timer);
    rt->timeout_timer = 0;
    /* A connect retry belongs to the command being closed. */
    if (rt->retry_timer) loop_timer_cancel(rt->loop, rt->retry_timer);
    rt->retry_timer = 0;
}

/* Ends the running command: ok==false with why, or judged from the answer. */
static void finish(struct haproxy_runtime *rt, const char *why)
{
    struct command *c = rt->cur;
    rt->cur = NULL;
    close_conn(rt);
    const char *answer = why;
    if (!why && rt->answer) {
        trim(rt->answer, &rt->len);
        answer = rt->answer;
    } else if (!why) {
        answer = "";
    }
    bool ok = !why && answer_ok(c, answer);
    if (c->fn) c->fn(c->arg, ok, answer);
    command_free(c);
    rt->len = 0;
    kick(rt);
}

static void on_timeout(void *arg)
{
    struct haproxy_runtime *rt = arg;
    rt->timeout_timer = 0;
    finish(rt, "timed out");
}

static void on_readable(void *arg, short revents)
{
    (void)revents;
    struct haproxy_runtime *rt = arg;
    for (;;) {
        if (rt->cap - rt->len < 4096) {
            size_t cap = rt->cap ? rt->cap * 2 : 8192;
            if (cap > ANSWER_MAX + 1) {
                finish(rt, "answer too long");
                return;
            }
            char *n = realloc(rt->answer, cap);
            if (!n) {
                finish(rt, "out of memory");
                return;
            }
            rt->answer = n;
            rt->cap = cap;
        }
        ssize_t n = read(rt->fd, rt->answer + rt->len, rt->cap - rt->len - 1);
        if (n > 0) {
            rt->len += (size_t)n;
        } else if (n == 0) {
            rt->answer[rt->len] = '\0';
            finish(rt, NULL);
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else {
            char why[128];
            snprintf(why, sizeof why, "read: %s", strerror(errno));
            finish(rt, why);
            return;
        }
    }
}

static void on_writable(void *arg, short revents)
{
    (void)revents;
    struct haproxy_runtime *rt = arg;
    const char *text = rt->cur->text;
    size_t len = strlen(text);
    while (rt->sent < len) {
        ssize_t n = send(rt->fd, text + rt->sent, len - rt->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            loop_watch_fd(rt->loop, rt->fd, POLLOUT, on_writable, rt);
            return;
        }
        if (n < 0) {
            char why[128];
            snprintf(why, sizeof why, "write: %s", strerror(errno));
            finish(rt, why);
            return;
        }
        rt->sent += (size_t)n;
    }
    shutdown(rt->fd, SHUT_WR);
    loop_watch_fd(rt->loop, rt->fd, POLLIN, on_readable, rt);
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

static void on_retry(void *arg);

static void start(struct haproxy_runtime *rt)
{
    struct sockaddr_un sa;
    char why[160];
    if (fill_addr(&sa, rt->path) < 0) {
        finish(rt, "socket path too long");
        return;
    }
    rt->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (rt->fd < 0) {
        snprintf(why, sizeof why, "socket: %s", strerror(errno));
        finish(rt, why);
        return;
    }
    if (connect(rt->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int err = errno;
        close(rt->fd);
        rt->fd = -1;
        if (err == EAGAIN && loop_now_ms() < rt->deadline_ms) {
            rt->retry_timer = loop_timer(rt->loop, CONNECT_RETRY_MS, on_retry, rt);
            return;
        }
        snprintf(why, sizeof why, "connect to %s: %s", rt->path, strerror(err));
        finish(rt, why);
        return;
    }
    rt->sent = 0;
    rt->count++;
    on_writable(rt, 0);
}

static void on_retry(void *arg)
{
    struct haproxy_runtime *rt = arg;
    rt->retry_timer = 0;
    if (rt->cur) start(rt); /* else it timed out meanwhile */
}

static void on_kick(void *arg)
{
    struct haproxy_runtime *rt = arg;
    rt->kick_timer = 0;
    if (rt->cur || !rt->head) return;
    rt->cur = rt->head;
    rt->head = rt->head->next;
    if (!rt->head) rt->tail = NULL;
    rt->len = 0;
    rt->deadline_ms = loop_now_ms() + rt->timeout_ms;
    rt->timeout_timer = loop_timer(rt->loop, rt->timeout_ms, on_timeout, rt);
    start(rt);
}

/* The next command starts from a timer, so fn never runs inside send. */
static void kick(struct haproxy_runtime *rt)
{
    if (!rt->cur && rt->head && !rt->kick_timer)
        rt->kick_timer = loop_timer(rt->loop, 0, on_kick, rt);
}

struct haproxy_runtime *haproxy_runtime_new(struct loop *l, const char *path, unsigned timeout_ms)
{
    struct haproxy_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return NULL;
    rt->loop = l;
    rt->fd = -1;
    rt->timeout_ms = timeout_ms ? timeout_ms : 1;
    if (!(rt->path = strdup(path))) {
        free(rt);
        return NULL;
    }
    return rt;
}

void haproxy_runtime_free(struct haproxy_runtime *rt)
{
    if (!rt) return;
    close_conn(rt);
    if (rt->kick_timer) loop_timer_cancel(rt->loop, rt->kick_timer);
    command_free(rt->cur);
    while (rt->head) {
        struct command *c = rt->head;
        rt->head = c->next;
        command_free(c);
    }
    free(rt->answer);
    free(rt->path);
    free(rt);
}

int haproxy_runtime_send(struct haproxy_runtime *rt, const char *command, const char *expect,
                         haproxy_runtime_fn *fn, void *arg)
{
    struct command *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->expect_any = expect == NULL;
    if (asprintf(&c->text, "%s\n", command) < 0) c->text = NULL;
    c->expect = strdup(expect ? expect : "");
    if (!c->text || !c->expect) {
        command_free(c);
        return -1;
    }
    c->fn = fn;
    c->arg = arg;
    if (rt->tail)
        rt->tail->next = c;
    else
        rt->head = c;
    rt->tail = c;
    kick(rt);
    return 0;
}

void haproxy_runtime_cancel(struct haproxy_runtime *rt, const void *arg)
{
    if (rt->cur && rt->cur->arg == arg) rt->cur->fn = NULL;
    struct command **pp = &rt->head;
    rt->tail = NULL;
    while (*pp) {
        struct command *c = *pp;
        if (c->arg == arg) {
            *pp = c->next;
            command_free(c);
        } else {
            rt->tail = c;
            pp = &c->next;
        }
    }
}

bool haproxy_runtime_idle(const struct haproxy_runtime *rt)
{
    return !rt->cur && !rt->head;
}

unsigned haproxy_runtime_command_count(const struct haproxy_runtime *rt)
{
    return rt->count;
}

const char *haproxy_runtime_path(const struct haproxy_runtime *rt)
{
    return rt->path;
}

/* ---- blocking ---- */

static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = loop_now_ms();
        if (now >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, (int)(deadline - now));
        if (r > 0) return 0;
        if (r < 0 && errno != EINTR) return -1;
    }
}

int haproxy_cli_query(const char *path, const char *command, unsigned timeout_ms, char **answer,
                      char *err, size_t errlen)
{
    struct sockaddr_un sa;
    uint64_t deadline = loop_now_ms() + timeout_ms;
    char *buf = NULL, *line = NULL;
    size_t len = 0, cap = 0;
    *answer = NULL;
    if (fill_addr(&sa, path) < 0) {
        snprintf(err, errlen, "%s: socket path too long", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "connect to %s: %s", path, strerror(errno));
        goto fail;
    }
    if (asprintf(&line, "%s\n", command) < 0) {
        line = NULL;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t off = 0, n = strlen(line); off < n;) {
        ssize_t w = send(fd, line + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            snprintf(err, errlen, "write to %s: %s", path, strerror(errno));
            goto fail;
        }
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *n = cap <= ANSWER_MAX + 1 ? realloc(buf, cap) : NULL;
            if (!n) {
                snprintf(err, errlen, "answer from %s too long", path);
                goto fail;
            }
            buf = n;
        }
        if (wait_fd(fd, POLLIN, deadline) < 0) {
            snprintf(err, errlen, "reading from %s: %s", path, strerror(errno));
            goto fail;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "read from %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    trim(buf, &len);
    close(fd);
    free(line);
    *answer = buf;
    return 0;
fail:
    if (fd >= 0) close(fd);
    free(line);
    free(buf);
    return -1;
}
