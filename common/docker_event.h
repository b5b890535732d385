/*
 * The Docker event stream (GET /events): decoding one line, signal names,
 * and the rules that turn an event into "register" or "deregister".
 *
 * Pure: no I/O, no globals. Errors follow docker_model.h: on failure the
 * decoder returns -1, leaves *ev cleared and writes into err one sentence
 * naming the JSON path and the offending value.
 */
#ifndef SMARTDOCK_DOCKER_EVENT_H
#define SMARTDOCK_DOCKER_EVENT_H

#include <stdbool.h>
#include <stddef.h>

struct docker_event {
    char *type;   /* "container", "network"...; NULL in old-style events */
    char *action; /* never NULL after decode: "start", "kill", "health_status: healthy" */
    char *id;     /* Actor.ID (or old "id"); may be NULL */
    char *signal; /* Actor.Attributes.signal for kill ("15"), else NULL */
    char *name;   /* Actor.Attributes.name or NULL */
    char *image;  /* Actor.Attributes.image (or old "from") or NULL */
    /* die: Actor.Attributes.exitCode (0..255); -1 when absent, unreadable
     * or another action. */
    int exit_code;
    /* timeNano, else time * 1e9, else 0. cJSON keeps numbers as doubles, so
     * this is exact only to a few hundred nanoseconds. */
    long long time_nano;
};

/*
 * Decodes one line of GET /events (one JSON object; surrounding whitespace,
 * including the trailing newline, is allowed). Action falls back to the
 * deprecated "status", Actor.ID to "id", the image attribute to "from".
 * A missing Action is an error; missing Actor or Type are not.
 */
int docker_event_decode(const char *line, size_t len, struct docker_event *ev, char *err,
                        size_t errlen);
void docker_event_clear(struct docker_event *ev);

/*
 * Signal number for "SIGTERM", "TERM", "sigterm", "15", "SIGRTMIN+3"...
 * (Linux numbering, which is what containers use whatever the host
 * library says), or -1 if unknown. Numbers 1..64 are accepted.
 */
int docker_signal_number(const char *s);

/*
 * gliderlabs/registrator's -deregister on-success: whether ev is a die that
 * reports a failure, i.e. an exit code that is neither 0 nor one with bit
 * 128 set (killed by a signal, 128 + n, which registrator counts as a clean
 * end). A die without a readable exit code is not a failure.
 */
bool docker_event_exit_failed(const struct docker_event *ev);

enum docker_effect { DOCKER_EFFECT_NONE, DOCKER_EFFECT_REGISTER, DOCKER_EFFECT_DEREGISTER };

/*
 * What an event means for the container's registration. stop_signal and
 * has_healthcheck come from the container's inspect (NULL/"" stop_signal
 * means SIGTERM). Only container events count (Type "container", or no Type
 * but an ID), and only with a valid ID.
 *   start, unpause           REGISTER, or NONE with a healthcheck (wait for healthy)
 *   health_status: healthy   REGISTER
 *   health_status: unhealthy DEREGISTER
 *   kill                     DEREGISTER iff the signal is the stop signal or
 *                            SIGKILL (compared by number): the container is
 *                            going away, so drain it before it dies. A SIGHUP
 *                            that reloads it changes nothing.
 *   die, stop, pause, destroy, oom  DEREGISTER
 *   anything else (exec_*, create, rename, health_status: starting...) NONE
 */
enum docker_effect docker_event_effect(const struct docker_event *ev, const char *stop_signal,
                                       bool has_healthcheck);

#endif
