#include "notify.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct notify {
    struct loop *loop;
    int fd;
    struct sockaddr_un addr;
    socklen_t addr_len;
    uint64_t watchdog_ms, watchdog_timer;
    bool ready, warned;
    char status[256];
};

uint64_t notify_watchdog_interval_ms(const char *watchdog_usec, const char *watchdog_pid,
                                     pid_t self)
{
    if (!watchdog_usec || !*watchdog_usec) return 0;
    if (watchdog_pid && *watchdog_pid) {
        char *end;
        errno = 0;
        long pid = strtol(watchdog_pid, &end, 10);
        if (errno || *end || pid != (long)self) return 0;
    }
    char *end;
    errno = 0;
    unsigned long long usec = strtoull(watchdog_usec, &end, 10);
    if (errno || *end || usec == 0 || watchdog_usec[0] == '-') return 0;
    uint64_t ms = usec / 2000; /* half the timeout */
    return ms ? ms : 1;
}

static void send_msg(struct notify *n, const char *msg)
{
    if (n->fd < 0) return;
    if (sendto(n->fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&n->addr, n->addr_len) <
            0 &&
        !n->warned) {
        /* Once: a watchdog ping every few seconds must not flood the log. */
        log_warn("notify: cannot send to $NOTIFY_SOCKET: %s", strerror(errno));
        n->warned = true;
    }
}

static void watchdog_ping(void *arg)
{
    struct notify *n = arg;
    send_msg(n, "WATCHDOG=1");
    n->watchdog_timer = loop_timer(n->loop, n->watchdog_ms, watchdog_ping, n);
}

struct notify *notify_new(struct loop *l)
{
    struct notify *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->loop = l;
    n->fd = -1;
    const char *path = getenv("NOTIFY_SOCKET");
    if (path && *path) {
        size_t len = strlen(path);
        if ((path[0] != '/' && path[0] != '@') || len >= sizeof n->addr.sun_path) {
            log_warn("notify: NOTIFY_SOCKET=%s: not a unix socket path; not notifying systemd",
                     path);
        } else {
            n->addr.sun_family = AF_UNIX;
            memcpy(n->addr.sun_path, path, len);
            if (path[0] == '@') n->addr.sun_path[0] = '\0'; /* abstract namespace */
            n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                                      (path[0] == '@' ? 0 : 1));
            n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (n->fd < 0) log_warn("notify: socket: %s", strerror(errno));
        }
        n->watchdog_ms =
            notify_watchdog_interval_ms(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid());
    }
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    if (n->fd >= 0 && n->watchdog_ms) {
        log_info("notify: systemd watchdog, a ping every %llu ms",
                 (unsigned long long)n->watchdog_ms);
        n->watchdog_timer = loop_timer(l, n->watchdog_ms, watchdog_ping, n);
    }
    return n;
}

void notify_free(struct notify *n)
{
    if (!n) return;
    if (n->watchdog_timer) loop_timer_cancel(n->loop, n->watchdog_timer);
    if (n->fd >= 0) close(n->fd);
    free(n);
}

/* STATUS=<line>, preceded by READY=1 the first time ready asks for it; a
 * status repeated unchanged is not sent again. The line stays one line
 * whatever went into it. */
__attribute__((format(printf, 3, 0))) static void send_status(struct notify *n, bool ready,
                                                               const char *fmt, va_list ap)
{
    char status[256], msg[300];
    vsnprintf(status, sizeof status, fmt, ap);
    for (char *p = status; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    bool say_ready = ready && !n->ready;
    if (!say_ready && strcmp(status, n->status) == 0) return;
    snprintf(n->status, sizeof n->status, "%s", status);
    snprintf(msg, sizeof msg, "%sSTATUS=%s", say_ready ? "READY=1\n" : "", status);
    if (ready) n->ready = true;
    send_msg(n, msg);
}

void notify_ready(struct notify *n, const char *fmt, ...)
{
    if (!n) return;
    va_list ap;
    va_start(ap, fmt);
    send_status(n, true, fmt, ap);
    va_end(ap);
}

void notify_status(struct notify *n, const char *fmt, ...)
{
    if (!n) return;
    va_list ap;
    va_start(ap, fmt);
    send_status(n, false, fmt, ap);
    va_end(ap);
}

void notify_stopping(struct notify *n)
{
    if (!n) return;
    if (n->watchdog_timer) {
        loop_timer_cancel(n->loop, n->watchdog_timer);
        n->watchdog_timer = 0;
    }
    send_msg(n, "STOPPING=1");
}

int notify_is_ready(const struct notify *n)
{
    return n && n->ready;
}
