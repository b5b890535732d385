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
/* Commands queued together share one connection, in HAProxy's interactive
 * mode ("prompt"), up to this many: a batch of 10,000 adds, or the drains of
 * a churn, no longer pay a connection and a loop turn per command. */
#define GROUP_MAX 1000
#define GROUP_ANSWER_MAX (16u << 20)
#define PROMPT "\n> " /* what HAProxy 2.6 writes after each answer in interactive mode */

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
    struct command *cur;         /* running: one command, or a group linked by next */
    size_t ncur;
    char *out; /* what is written: the command, or the group's lines */
    size_t outlen;
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

/* The answers of a group, in order, cut at HAProxy's prompts: the first
 * prompt follows "prompt" (no answer), then one per command. Fills ans[] with
 * pointers into text (each answer's end is overwritten with '\0') and returns
 * how many commands were answered. */
static size_t split_group(char *text, size_t n, char **ans)
{
    if (strncmp(text, PROMPT, strlen(PROMPT)) != 0) return 0;
    char *p = text + strlen(PROMPT);
    size_t got = 0;
    while (got < n) {
        char *end = strstr(p, PROMPT);
        if (!end) break;
        *end = '\0';
        size_t len = (size_t)(end - p);
        trim(p, &len);
        ans[got++] = p;
        p = end + strlen(PROMPT);
    }
    return got;
}

/* Ends the running command or group: ok==false with why, or judged from the
 * answer. A callback may cancel the group's later commands (fn set NULL). */
static void finish(struct haproxy_runtime *rt, const char *why)
{
    struct command *group = rt->cur;
    size_t n = rt->ncur;
    rt->cur = NULL;
    rt->ncur = 0;
    close_conn(rt);
    free(rt->out);
    rt->out = NULL;
    /* The buffer is kept: the next command starts from a timer, after the
     * callbacks below are done with the answers in it. */
    char empty[1] = "";
    char *text = rt->answer ? rt->answer : empty;
    if (rt->answer) text[rt->len] = '\0';
    rt->len = 0;
    char **ans = NULL;
    size_t answered = 0;
    if (!why && n > 1) {
        if (!(ans = calloc(n, sizeof *ans)))
            why = "out of memory";
        else
            answered = split_group(text, n, ans);
    } else if (!why) {
        size_t len = strlen(text);
        trim(text, &len);
    }
    rt->cur = group; /* so that haproxy_runtime_cancel reaches the rest */
    for (size_t i = 0; group; i++) {
        struct command *c = group;
        const char *answer = why;
        if (!why && n > 1)
            answer = i < answered ? ans[i] : "connection closed before an answer";
        else if (!why)
            answer = text;
        bool ok = !why && (n == 1 || i < answered) && answer_ok(c, answer);
        group = c->next;
        rt->cur = group;
        if (c->fn) c->fn(c->arg, ok, answer);
        command_free(c);
    }
    rt->cur = NULL;
    free(ans);
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
            if (cap > (rt->ncur > 1 ? GROUP_ANSWER_MAX : ANSWER_MAX) + 1) {
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

static void on_io(void *arg, short revents);

/* Writes what is left of rt->out; then only reads. A group's answers are
 * read while it is written, so HAProxy never stalls on a full socket. */
static void on_writable(void *arg, short revents)
{
    (void)revents;
    struct haproxy_runtime *rt = arg;
    while (rt->sent < rt->outlen) {
        ssize_t n = send(rt->fd, rt->out + rt->sent, rt->outlen - rt->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            loop_watch_fd(rt->loop, rt->fd, POLLOUT | POLLIN, on_io, rt);
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
    /* A group ends with "quit", on which HAProxy closes. No half-close on
     * top: in one loaded run HAProxy 2.6 reset a group's connection before
     * its first answer ("Connection reset by peer"), and the half-close was
     * the only thing a plain interactive client does not do. */
    if (rt->ncur == 1) shutdown(rt->fd, SHUT_WR);
    loop_watch_fd(rt->loop, rt->fd, POLLIN, on_readable, rt);
}

static void on_io(void *arg, short revents)
{
    struct haproxy_runtime *rt = arg;
    int fd = rt->fd;
    if (revents & POLLIN) on_readable(rt, revents);
    if (rt->fd == fd && rt->cur && (revents & POLLOUT)) on_writable(rt, revents);
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
    rt->count += (unsigned)rt->ncur;
    on_writable(rt, 0);
}

static void on_retry(void *arg)
{
    struct haproxy_runtime *rt = arg;
    rt->retry_timer = 0;
    if (rt->cur) start(rt); /* else it timed out meanwhile */
}

/* rt->out for the commands from rt->cur: one line, or a group in
 * interactive mode ending with "quit". */
static int build_out(struct haproxy_runtime *rt)
{
    if (rt->ncur == 1) {
        rt->out = strdup(rt->cur->text);
    } else {
        size_t len = strlen("prompt\n") + strlen("quit\n") + 1;
        for (struct command *c = rt->cur; c; c = c->next)
            len += strlen(c->text);
        if ((rt->out = malloc(len))) {
            char *p = stpcpy(rt->out, "prompt\n");
            for (struct command *c = rt->cur; c; c = c->next)
                p = stpcpy(p, c->text);
            stpcpy(p, "quit\n");
        }
    }
    rt->outlen = rt->out ? strlen(rt->out) : 0;
    return rt->out ? 0 : -1;
}

static void on_kick(void *arg)
{
    struct haproxy_runtime *rt = arg;
    rt->kick_timer = 0;
    if (rt->cur || !rt->head) return;
    /* Commands queued behind each other go together. The answers are cut
     * at prompts ("\n> "), which no answer of the commands we send holds:
     * proxy and server names cannot contain a space. */
    struct command *last = rt->head;
    rt->ncur = 1;
    while (last->next && rt->ncur < GROUP_MAX) {
        last = last->next;
        rt->ncur++;
    }
    rt->cur = rt->head;
    rt->head = last->next;
    last->next = NULL;
    if (!rt->head) rt->tail = NULL;
    rt->len = 0;
    rt->deadline_ms = loop_now_ms() + rt->timeout_ms;
    rt->timeout_timer = loop_timer(rt->loop, rt->timeout_ms, on_timeout, rt);
    if (build_out(rt) < 0) {
        finish(rt, "out of memory");
        return;
    }
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
    while (rt->cur) {
        struct command *c = rt->cur;
        rt->cur = c->next;
        command_free(c);
    }
    free(rt->out);
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
    for (struct command *c = rt->cur; c; c = c->next)
        if (c->arg == arg) c->fn = NULL;
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
