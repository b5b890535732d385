/*
 * The session half of common/zk.c as a pure state machine: library state
 * events and handle-creation results in, actions out (open or close the
 * handle, retry later, report to the user). No I/O and no timers of its own,
 * so tests replay recorded event sequences (tests/unit/test_zk_session.c).
 *
 * zk.c feeds every event here and then performs zk_session_next() actions
 * in order until none is left.
 */
#ifndef SMARTDOCK_ZK_SESSION_H
#define SMARTDOCK_ZK_SESSION_H

#include <stdbool.h>
#include <stdint.h>

struct zk_session;

enum zk_session_event {
    ZK_SESSION_CONNECTED,    /* connected (first time or again) */
    ZK_SESSION_DISCONNECTED, /* lost the server; the client is reconnecting */
    ZK_SESSION_EXPIRED,      /* a new session is being opened: ephemerals and watches are gone */
};

enum zk_session_action_kind {
    ZK_SESSION_OPEN_HANDLE,  /* create a handle; answer with zk_session_opened() */
    ZK_SESSION_CLOSE_HANDLE, /* close the handle (its session ends) */
    ZK_SESSION_RETRY_LATER,  /* arm a backoff timer; answer with zk_session_retry_due() */
    ZK_SESSION_CANCEL_RETRY, /* disarm that timer */
    ZK_SESSION_REPORT,       /* tell the user: .event */
};

struct zk_session_action {
    enum zk_session_action_kind kind;
    enum zk_session_event event; /* ZK_SESSION_REPORT */
};

/* hosts is copied, for log lines only. */
struct zk_session *zk_session_new(const char *hosts);
void zk_session_free(struct zk_session *s);

/* Events. state is the library's ZOO_*_STATE; client_id its session id
 * once connected. */
void zk_session_start(struct zk_session *s);
void zk_session_opened(struct zk_session *s, bool ok);
void zk_session_state(struct zk_session *s, int state, int64_t client_id);
void zk_session_retry_due(struct zk_session *s);
/* Drop this session and open a new one (expiry, or the test hook). */
void zk_session_reopen(struct zk_session *s);
/* Shutting down: close the handle, cancel any retry; later events do nothing. */
void zk_session_close(struct zk_session *s);

/* Pops the next action to perform; false when there is none. */
bool zk_session_next(struct zk_session *s, struct zk_session_action *out);

bool zk_session_connected(const struct zk_session *s);
bool zk_session_has_handle(const struct zk_session *s);
/* 0 while no session is established. */
int64_t zk_session_client_id(const struct zk_session *s);

#endif
