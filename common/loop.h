/*
 * The event loop: one per daemon, run by the one thread that owns all state.
 *
 * Plain file descriptors, timers, signals (a signalfd), messages posted from
 * library threads (libzookeeper_mt's completion thread; they wake the loop
 * through its eventfd) and libcurl transfers (Docker, etcd, http checks) are
 * all served by the same thread. Until the first transfer the loop waits in
 * poll() and libcurl is not even loaded (curl_lib.h); from then on it waits
 * in curl_multi_poll() with its own fds as extra fds.
 * loop_post() is the only function that may be called from another thread.
 */
#ifndef SMARTDOCK_LOOP_H
#define SMARTDOCK_LOOP_H

#include "curl_lib.h"
#include <stdint.h>

struct loop;
typedef void loop_fn(void *arg);
typedef void loop_fd_fn(void *arg, short revents);
/* Called on the loop thread when a transfer added with loop_add_transfer ends. */
typedef void loop_transfer_fn(void *arg, CURL *easy, CURLcode result);

/* Blocks SIGTERM, SIGINT, SIGHUP and SIGCHLD in the calling thread (so in
 * every thread created after it), reads them through a signalfd and ignores
 * SIGPIPE. Call first in main(). */
struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Thread-safe. fn(arg) runs later on the loop thread; arg belongs to fn. */
int loop_post(struct loop *l, loop_fn *fn, void *arg);

/* One-shot timer; returns an id > 0 for loop_timer_cancel (0 is never used). */
uint64_t loop_timer(struct loop *l, uint64_t delay_ms, loop_fn *fn, void *arg);
void loop_timer_cancel(struct loop *l, uint64_t id);

/* Level-triggered watch of fd for POLLIN/POLLOUT; replaces an earlier watch of fd. */
int loop_watch_fd(struct loop *l, int fd, short events, loop_fd_fn *fn, void *arg);
void loop_unwatch_fd(struct loop *l, int fd);

/* fn(arg, signo) on the loop thread for SIGTERM, SIGINT, SIGHUP and SIGCHLD. */
void loop_on_signal(struct loop *l, void (*fn)(void *arg, int signo), void *arg);

/* The loop drives easy until it ends; the caller keeps ownership of easy and
 * may remove it early (then done is not called). */
int loop_add_transfer(struct loop *l, CURL *easy, loop_transfer_fn *done, void *arg);
void loop_remove_transfer(struct loop *l, CURL *easy);

void loop_run(struct loop *l); /* returns after loop_stop() */
/* Runs what has been posted so far; for shutdown, after library threads stopped. */
void loop_run_posts(struct loop *l);
void loop_stop(struct loop *l);

uint64_t loop_now_ms(void); /* monotonic */
uint64_t loop_now_us(void); /* the same clock, in microseconds: stage timings */

/* A forked child calls this before exec: blocked signals survive execve. */
void loop_child_reset_signals(void);

#endif
