#include "zk_session.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#define ACTIONS_MAX 16

struct zk_session {
    char *hosts;
    bool has_handle, connected, closed;
    bool retry_pending; /* a RETRY_LATER is armed */
    int64_t client_id;
    struct zk_session_action actions[ACTIONS_MAX];
    size_t head, count;
};

static void push(struct zk_session *s, enum zk_session_action_kind kind,
                 enum zk_session_event event)
{
    if (s->count == ACTIONS_MAX) {
        log_error("zookeeper %s: session action queue full; dropping one", s->hosts);
        return;
    }
    struct zk_session_action *a = &s->actions[(s->head + s->count++) % ACTIONS_MAX];
    a->kind = kind;
    a->event = event;
}

static const char *state_name(int state)
{
    if (state == ZOO_CONNECTED_STATE) return "connected";
    if (state == ZOO_CONNECTING_STATE) return "connecting";
    if (state == ZOO_EXPIRED_SESSION_STATE) return "expired";
    if (state == ZOO_AUTH_FAILED_STATE) return "auth failed";
    return "not connected";
}

struct zk_session *zk_session_new(const char *hosts)
{
    struct zk_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (!(s->hosts = strdup(hosts))) {
        free(s);
        return NULL;
    }
    return s;
}

void zk_session_free(struct zk_session *s)
{
    if (!s) return;
    free(s->hosts);
    free(s);
}

void zk_session_start(struct zk_session *s)
{
    push(s, ZK_SESSION_OPEN_HANDLE, 0);
}

void zk_session_opened(struct zk_session *s, bool ok)
{
    s->has_handle = ok;
    s->connected = false;
    if (ok || s->closed || s->retry_pending) return;
    /* A host name that does not resolve right now, say: without a retry the
     * client would stay without a handle until restarted. */
    s->retry_pending = true;
    push(s, ZK_SESSION_RETRY_LATER, 0);
}

void zk_session_retry_due(struct zk_session *s)
{
    s->retry_pending = false;
    if (s->closed || s->has_handle) return;
    push(s, ZK_SESSION_OPEN_HANDLE, 0);
}

void zk_session_reopen(struct zk_session *s)
{
    if (s->closed) return;
    if (s->has_handle) push(s, ZK_SESSION_CLOSE_HANDLE, 0);
    s->has_handle = false;
    s->connected = false;
    s->client_id = 0;
    push(s, ZK_SESSION_REPORT, ZK_SESSION_EXPIRED);
    if (!s->retry_pending) push(s, ZK_SESSION_OPEN_HANDLE, 0);
}

void zk_session_state(struct zk_session *s, int state, int64_t client_id)
{
    if (s->closed) return;
    if (state == ZOO_CONNECTED_STATE) {
        bool new_session = client_id != s->client_id;
        s->client_id = client_id;
        s->connected = true;
        log_info("zookeeper %s: connected, session 0x%llx%s", s->hosts,
                 (unsigned long long)client_id, new_session ? " (new)" : "");
        push(s, ZK_SESSION_REPORT, ZK_SESSION_CONNECTED);
    } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
        log_warn("zookeeper %s: session 0x%llx %s; opening a new session", s->hosts,
                 (unsigned long long)s->client_id, state_name(state));
        zk_session_reopen(s);
    } else if (s->connected) {
        s->connected = false;
        log_warn("zookeeper %s: disconnected (%s); reconnecting", s->hosts, state_name(state));
        push(s, ZK_SESSION_REPORT, ZK_SESSION_DISCONNECTED);
    }
}

void zk_session_close(struct zk_session *s)
{
    if (s->closed) return;
    s->closed = true;
    if (s->retry_pending) push(s, ZK_SESSION_CANCEL_RETRY, 0);
    s->retry_pending = false;
    if (s->has_handle) push(s, ZK_SESSION_CLOSE_HANDLE, 0);
    s->has_handle = false;
    s->connected = false;
}

bool zk_session_next(struct zk_session *s, struct zk_session_action *out)
{
    if (s->count == 0) return false;
    *out = s->actions[s->head];
    s->head = (s->head + 1) % ACTIONS_MAX;
    s->count--;
    return true;
}

bool zk_session_connected(const struct zk_session *s)
{
    return s->connected;
}

bool zk_session_has_handle(const struct zk_session *s)
{
    return s->has_handle;
}

int64_t zk_session_client_id(const struct zk_session *s)
{
    return s->client_id;
}
