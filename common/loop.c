#include "loop.h"

#include "log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct post {
    struct post *next;
    loop_fn *fn;
    void *arg;
};

struct timer {
    uint64_t id, due;
    loop_fn *fn;
    void *arg;
};

struct fd_watch {
    int fd;
    short events;
    loop_fd_fn *fn;
    void *arg;
};

struct transfer {
    CURL *easy;
    loop_transfer_fn *done;
    void *arg;
};

struct loop {
    CURLM *multi; /* made by the first transfer: until then, no libcurl */
    int sigfd;
    int wakefd; /* eventfd: loop_post and loop_stop wake the wait with it */
    void (*sig_fn)(void *, int);
    void *sig_arg;
    bool stopping;

    pthread_mutex_t post_lock; /* guards the post queue, nothing else */
    struct post *post_head, *post_tail;

    struct timer *timers;
    size_t ntimers, cap_timers;
    uint64_t next_timer_id;

    struct fd_watch *fds;
    size_t nfds, cap_fds;

    struct transfer *transfers;
    size_t ntransfers, cap_transfers;
};

static sigset_t loop_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    return set;
}

uint64_t loop_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void loop_child_reset_signals(void)
{
    sigset_t set = loop_signals();
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    signal(SIGPIPE, SIG_DFL);
}

/* Grows an array of elem-sized items to hold one more. */
static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, c * elem);
    if (!nv) return -1;
    *v = nv;
    *cap = c;
    return 0;
}

struct loop *loop_new(void)
{
    struct loop *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    sigset_t set = loop_signals();
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&l->post_lock, NULL);
    l->next_timer_id = 1;
    if (l->sigfd < 0 || l->wakefd < 0) {
        log_error("event loop: cannot set up (%s)", strerror(errno));
        loop_free(l);
        return NULL;
    }
    return l;
}

void loop_free(struct loop *l)
{
    if (!l) return;
    if (l->multi) {
        for (size_t i = 0; i < l->ntransfers; i++)
            curl_multi_remove_handle(l->multi, l->transfers[i].easy);
        curl_multi_cleanup(l->multi);
    }
    if (l->sigfd >= 0) close(l->sigfd);
    if (l->wakefd >= 0) close(l->wakefd);
    struct post *p = l->post_head;
    while (p) {
        struct post *next = p->next;
        free(p);
        p = next;
    }
    pthread_mutex_destroy(&l->post_lock);
    free(l->timers);
    free(l->fds);
    free(l->transfers);
    free(l);
}

/* Thread-safe: makes the wait return. A full counter (never in practice)
 * already wakes it, so a failed write needs nothing. */
static void wake(struct loop *l)
{
    uint64_t one = 1;
    if (write(l->wakefd, &one, sizeof one) < 0) return;
}

int loop_post(struct loop *l, loop_fn *fn, void *arg)
{
    struct post *p = malloc(sizeof *p);
    if (!p) return -1;
    p->next = NULL;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&l->post_lock);
    if (l->post_tail)
        l->post_tail->next = p;
    else
        l->post_head = p;
    l->post_tail = p;
    pthread_mutex_unlock(&l->post_lock);
    wake(l);
    return 0;
}

uint64_t loop_timer(struct loop *l, uint64_t delay_ms, loop_fn *fn, void *arg)
{
    if (grow((void **)&l->timers, &l->cap_timers, l->ntimers, sizeof *l->timers) < 0) return 0;
    uint64_t id = l->next_timer_id++;
    l->timers[l->ntimers++] = (struct timer){id, loop_now_ms() + delay_ms, fn, arg};
    return id;
}

void loop_timer_cancel(struct loop *l, uint64_t id)
{
    for (size_t i = 0; i < l->ntimers; i++)
        if (l->timers[i].id == id) {
            l->timers[i] = l->timers[--l->ntimers];
            return;
        }
}

int loop_watch_fd(struct loop *l, int fd, short events, loop_fd_fn *fn, void *arg)
{
    for (size_t i = 0; i < l->nfds; i++)
        if (l->fds[i].fd == fd) {
            l->fds[i] = (struct fd_watch){fd, events, fn, arg};
            return 0;
        }
    if (grow((void **)&l->fds, &l->cap_fds, l->nfds, sizeof *l->fds) < 0) return -1;
    l->fds[l->nfds++] = (struct fd_watch){fd, events, fn, arg};
    return 0;
}

void loop_unwatch_fd(struct loop *l, int fd)
{
    for (size_t i = 0; i < l->nfds; i++)
        if (l->fds[i].fd == fd) {
            l->fds[i] = l->fds[--l->nfds];
            return;
        }
}

void loop_on_signal(struct loop *l, void (*fn)(void *arg, int signo), void *arg)
{
    l->sig_fn = fn;
    l->sig_arg = arg;
}

int loop_add_transfer(struct loop *l, CURL *easy, loop_transfer_fn *done, void *arg)
{
    if (grow((void **)&l->transfers, &l->cap_transfers, l->ntransfers, sizeof *l->transfers) < 0)
        return -1;
    /* easy exists, so libcurl is loaded: the multi handle can be made now. */
    if (!l->multi && !(l->multi = curl_multi_init())) {
        log_error("event loop: cannot make a curl multi handle");
        return -1;
    }
    if (curl_multi_add_handle(l->multi, easy) != CURLM_OK) return -1;
    l->transfers[l->ntransfers++] = (struct transfer){easy, done, arg};
    return 0;
}

void loop_remove_transfer(struct loop *l, CURL *easy)
{
    for (size_t i = 0; i < l->ntransfers; i++)
        if (l->transfers[i].easy == easy) {
            curl_multi_remove_handle(l->multi, easy);
            l->transfers[i] = l->transfers[--l->ntransfers];
            return;
        }
}

void loop_stop(struct loop *l)
{
    l->stopping = true;
    wake(l);
}

void loop_run_posts(struct loop *l)
{
    pthread_mutex_lock(&l->post_lock);
    struct post *p = l->post_head;
    l->post_head = l->post_tail = NULL;
    pthread_mutex_unlock(&l->post_lock);
    while (p) {
        struct post *next = p->next;
        p->fn(p->arg);
        free(p);
        p = next;
    }
}

/* Runs the timers due now, earliest first; those they add run next round. */
static void run_timers(struct loop *l)
{
    uint64_t now = loop_now_ms();
    uint64_t limit = l->next_timer_id;
    for (;;) {
        size_t best = l->ntimers;
        for (size_t i = 0; i < l->ntimers; i++)
            if (l->timers[i].due <= now && l->timers[i].id < limit &&
                (best == l->ntimers || l->timers[i].due < l->timers[best].due))
                best = i;
        if (best == l->ntimers) return;
        struct timer t = l->timers[best];
        l->timers[best] = l->timers[--l->ntimers];
        t.fn(t.arg);
    }
}

static int next_timeout_ms(const struct loop *l)
{
    uint64_t now = loop_now_ms();
    int timeout = 1000;
    for (size_t i = 0; i < l->ntimers; i++) {
        uint64_t due = l->timers[i].due;
        int wait = due <= now ? 0 : (int)(due - now < 1000 ? due - now : 1000);
        if (wait < timeout) timeout = wait;
    }
    return timeout;
}

static void finish_transfers(struct loop *l)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(l->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        for (size_t i = 0; i < l->ntransfers; i++)
            if (l->transfers[i].easy == easy) {
                struct transfer t = l->transfers[i];
                loop_remove_transfer(l, easy);
                t.done(t.arg, easy, rc);
                break;
            }
    }
}

static void read_signals(struct loop *l)
{
    struct signalfd_siginfo si;
    while (read(l->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (l->sig_fn) l->sig_fn(l->sig_arg, (int)si.ssi_signo);
}

/* Waits for the fds in w (the watches, after the signalfd and the eventfd)
 * and, once there is a multi handle, for libcurl's sockets too. */
static void wait_for_events(struct loop *l, struct pollfd *w, size_t n)
{
    int timeout = next_timeout_ms(l);
    if (!l->multi) {
        if (poll(w, n, timeout) < 0 && errno != EINTR)
            log_error("event loop: poll: %s", strerror(errno));
        return;
    }
    struct curl_waitfd *cw = calloc(n, sizeof *cw);
    if (!cw) {
        log_error("event loop: out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        cw[i].fd = w[i].fd;
        cw[i].events = (short)((w[i].events & POLLIN ? CURL_WAIT_POLLIN : 0) |
                               (w[i].events & POLLOUT ? CURL_WAIT_POLLOUT : 0));
    }
    curl_multi_poll(l->multi, cw, (unsigned)n, timeout, NULL);
    for (size_t i = 0; i < n; i++)
        w[i].revents = (short)((cw[i].revents & CURL_WAIT_POLLIN ? POLLIN : 0) |
                               (cw[i].revents & CURL_WAIT_POLLOUT ? POLLOUT : 0) |
                               (cw[i].revents & CURL_WAIT_POLLPRI ? POLLPRI : 0));
    free(cw);
    int running;
    curl_multi_perform(l->multi, &running);
    finish_transfers(l);
}

void loop_run(struct loop *l)
{
    enum { SIGNALS, WAKE, WATCHES };
    l->stopping = false;
    while (!l->stopping) {
        loop_run_posts(l);
        run_timers(l);
        if (l->stopping) break;

        size_t n = WATCHES + l->nfds;
        struct pollfd *w = calloc(n, sizeof *w);
        if (!w) {
            log_error("event loop: out of memory");
            return;
        }
        w[SIGNALS] = (struct pollfd){.fd = l->sigfd, .events = POLLIN};
        w[WAKE] = (struct pollfd){.fd = l->wakefd, .events = POLLIN};
        for (size_t i = 0; i < l->nfds; i++)
            w[WATCHES + i] = (struct pollfd){
                .fd = l->fds[i].fd, .events = (short)(l->fds[i].events & (POLLIN | POLLOUT))};
        wait_for_events(l, w, n);

        if (w[SIGNALS].revents) read_signals(l);
        if (w[WAKE].revents) {
            uint64_t count; /* the posts run at the top of the loop */
            if (read(l->wakefd, &count, sizeof count) < 0 && errno != EAGAIN)
                log_error("event loop: eventfd: %s", strerror(errno));
        }
        for (size_t i = WATCHES; i < n && !l->stopping; i++) {
            if (!w[i].revents) continue;
            /* poll also reports POLLERR/POLLHUP; a callback reads them as readable. */
            short rev = (short)(w[i].revents & (POLLIN | POLLOUT | POLLPRI));
            /* An earlier callback may have dropped this watch. */
            for (size_t j = 0; j < l->nfds; j++)
                if (l->fds[j].fd == w[i].fd) {
                    l->fds[j].fn(l->fds[j].arg, rev ? rev : POLLIN);
                    break;
                }
        }
        free(w);
    }
}
