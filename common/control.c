#include "control.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTROL_MAX_REQUEST 1024
#define CONTROL_CLIENT_TIMEOUT_MS 5000
#define CONTROL_MAX_CLIENTS 16

struct control_client {
    struct control *c;
    int fd;
    char req[CONTROL_MAX_REQUEST];
    size_t len;
    char *reply;
    size_t reply_len, sent;
    uint64_t timer;
};

struct control {
    struct loop *loop;
    char *path;
    int fd;
    control_handler_fn *fn;
    void *arg;
    struct control_client *clients[CONTROL_MAX_CLIENTS];
};

static int fill_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a->sun_path) return -1;
    strcpy(a->sun_path, path);
    return 0;
}

static void client_close(struct control_client *cl)
{
    struct control *c = cl->c;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
        if (c->clients[i] == cl) c->clients[i] = NULL;
    if (cl->timer) loop_timer_cancel(c->loop, cl->timer);
    loop_unwatch_fd(c->loop, cl->fd);
    close(cl->fd);
    free(cl->reply);
    free(cl);
}

static void on_client_timeout(void *arg)
{
    struct control_client *cl = arg;
    cl->timer = 0;
    log_debug("control: a client sent no request within %d ms; dropped", CONTROL_CLIENT_TIMEOUT_MS);
    client_close(cl);
}

static void on_client(void *arg, short revents);

static void start_reply(struct control_client *cl)
{
    cl->req[cl->len] = '\0';
    char *nl = strchr(cl->req, '\n');
    if (nl) *nl = '\0';
    if (cl->len && cl->req[strlen(cl->req) - 1] == '\r') cl->req[strlen(cl->req) - 1] = '\0';
    cl->reply = cl->c->fn(cl->c->arg, cl->req);
    if (!cl->reply) {
        client_close(cl);
        return;
    }
    cl->reply_len = strlen(cl->reply);
    loop_watch_fd(cl->c->loop, cl->fd, POLLOUT, on_client, cl);
}

static void on_client(void *arg, short revents)
{
    struct control_client *cl = arg;
    if (cl->reply) {
        ssize_t n = send(cl->fd, cl->reply + cl->sent, cl->reply_len - cl->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0 || (cl->sent += (size_t)n) == cl->reply_len) client_close(cl);
        return;
    }
    if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
    ssize_t n = recv(cl->fd, cl->req + cl->len, sizeof cl->req - 1 - cl->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {
        client_close(cl);
        return;
    }
    cl->len += (size_t)n;
    /* A whole line, the client's end of the stream, or a full buffer. */
    if (n == 0 || memchr(cl->req, '\n', cl->len) || cl->len == sizeof cl->req - 1) {
        if (cl->len == 0) {
            client_close(cl);
            return;
        }
        start_reply(cl);
    }
}

static void on_accept(void *arg, short revents)
{
    struct control *c = arg;
    (void)revents;
    int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    size_t slot = 0;
    while (slot < CONTROL_MAX_CLIENTS && c->clients[slot])
        slot++;
    struct control_client *cl = slot < CONTROL_MAX_CLIENTS ? calloc(1, sizeof *cl) : NULL;
    if (!cl) {
        close(fd); /* busy: the client sees the connection closed */
        return;
    }
    cl->c = c;
    cl->fd = fd;
    c->clients[slot] = cl;
    cl->timer = loop_timer(c->loop, CONTROL_CLIENT_TIMEOUT_MS, on_client_timeout, cl);
    loop_watch_fd(c->loop, fd, POLLIN, on_client, cl);
}

/* dir of path (malloc'ed), "." for a bare name. */
static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* The socket's directory exists or is made now (one level, mode 0750 as
 * systemd's RuntimeDirectory=); 0, or -1 with errno. */
static int ensure_parent(const char *path)
{
    char *dir = parent_of(path);
    if (!dir) return -1;
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) < 0) {
        rc = mkdir(dir, 0750);
        if (rc == 0) log_info("control socket: created %s", dir);
    } else if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        rc = -1;
    }
    int saved = errno;
    free(dir);
    errno = saved;
    return rc;
}

char *control_pick_path(const char *const *dirs, const char *name, bool server)
{
    char *path = NULL;
    for (size_t i = 0; dirs[i] && !path; i++) {
        if (!*dirs[i]) continue;
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dirs[i], name) < 0) return NULL;
        struct stat st;
        bool usable = server ? ensure_parent(p) == 0 && access(dirs[i], W_OK | X_OK) == 0
                             : lstat(p, &st) == 0 && S_ISSOCK(st.st_mode);
        if (usable)
            path = p;
        else
            free(p);
    }
    /* nothing fits: the first, so the error names where we looked first */
    if (!path && dirs[0] && asprintf(&path, "%s/%s", dirs[0], name) < 0) path = NULL;
    return path;
}

char *control_default_path(const char *daemon, bool server)
{
    char name[64], *user_dir = NULL;
    snprintf(name, sizeof name, "%s.sock", daemon);
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg == '/' && asprintf(&user_dir, "%s/smartdock", xdg) < 0) user_dir = NULL;
    const char *const dirs[] = {CONTROL_RUN_DIR, user_dir ? user_dir : "", NULL};
    char *path = control_pick_path(dirs, name, server);
    free(user_dir);
    return path;
}

struct control *control_new(struct loop *l, const char *path, control_handler_fn *fn, void *arg,
                            char *err, size_t errlen)
{
    struct sockaddr_un a;
    if (fill_addr(&a, path) < 0) {
        snprintf(err, errlen, "control socket %s: path too long", path);
        return NULL;
    }
    if (ensure_parent(path) < 0) {
        snprintf(err, errlen, "control socket %s: cannot create its directory: %s", path,
                 strerror(errno));
        return NULL;
    }
    /* Someone listening there is another daemon; a dead socket is ours from an earlier run. */
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "control socket %s: exists and is not a socket", path);
            return NULL;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && connect(probe, (struct sockaddr *)&a, sizeof a) == 0;
        if (probe >= 0) close(probe);
        if (live) {
            snprintf(err, errlen, "control socket %s: another daemon answers there", path);
            return NULL;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "control socket: %s", strerror(errno));
        return NULL;
    }
    /* Mode 0600 from the start: no moment where others may connect. */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
    int bind_errno = errno;
    umask(old);
    if (rc < 0 || listen(fd, 8) < 0) {
        snprintf(err, errlen, "control socket %s: %s", path, strerror(rc < 0 ? bind_errno : errno));
        close(fd);
        return NULL;
    }
    struct control *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        close(fd);
        unlink(path);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->loop = l;
    c->fd = fd;
    c->fn = fn;
    c->arg = arg;
    loop_watch_fd(l, fd, POLLIN, on_accept, c);
    return c;
}

void control_free(struct control *c)
{
    if (!c) return;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
        if (c->clients[i]) client_close(c->clients[i]);
    loop_unwatch_fd(c->loop, c->fd);
    close(c->fd);
    unlink(c->path);
    free(c->path);
    free(c);
}

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    return n;
}

char *control_request(const char *path, const char *request, int timeout_ms, char *err,
                      size_t errlen)
{
    struct sockaddr_un a;
    if (fill_addr(&a, path) < 0) {
        snprintf(err, errlen, "%s: path too long", path);
        return NULL;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        snprintf(err, errlen, "no daemon answers at %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    char line[CONTROL_MAX_REQUEST];
    int len = snprintf(line, sizeof line, "%s\n", request);
    if (len < 0 || (size_t)len >= sizeof line ||
        send(fd, line, (size_t)len, MSG_NOSIGNAL) != (ssize_t)len) {
        snprintf(err, errlen, "%s: cannot send the request", path);
        close(fd);
        return NULL;
    }
    size_t cap = 8192, got = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (got + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        if (wait_fd(fd, POLLIN, timeout_ms) <= 0) {
            snprintf(err, errlen, "%s: no answer within %d ms", path, timeout_ms);
            free(buf);
            close(fd);
            return NULL;
        }
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (got == 0) {
        snprintf(err, errlen, "%s: the daemon closed the connection without an answer", path);
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    return buf;
}
