/*
 * Reading HAProxy's answers on the admin socket. Pure: the answer is text
 * HAProxy (or whatever listens on that socket) sent, so nothing in it is
 * trusted: unknown layouts give "unknown", never a crash.
 */
#ifndef SMARTDOCK_HAPROXY_ANSWER_H
#define SMARTDOCK_HAPROXY_ANSWER_H

/* scur + qcur of server name in a "show stat" CSV answer; -1 when the
 * answer is not one or the server is absent. */
long haproxy_answer_sessions(const char *answer, const char *name);

/* The backend's id (be_id, the first field) in a "show servers state
 * <backend>" answer; -1 when the answer lists no server. */
long haproxy_answer_backend_id(const char *servers_state);

/* The Pid: line of a "show info" answer; 0 when there is none. */
long haproxy_answer_pid(const char *info);

#endif
