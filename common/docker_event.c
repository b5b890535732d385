#include "docker_event.h"

#include "docker_model.h" /* docker_id_is_valid and the shared JSON helpers */

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* timeNano, or the older second-resolution "time", as nanoseconds. */
static int decode_time(const cJSON *root, long long *out, char *err, size_t errlen)
{
    const cJSON *v;
    char shown[DOCKER_JSON_SHOWN_MAX + 8];
    double limit = 9.2e18, scale = 1;
    const char *path = "timeNano";
    *out = 0;
    if (docker_json_member(root, path, DOCKER_JSON_NUMBER, path, &v, err, errlen) < 0) return -1;
    if (!v) {
        path = "time";
        scale = 1e9;
        if (docker_json_member(root, path, DOCKER_JSON_NUMBER, path, &v, err, errlen) < 0)
            return -1;
        if (!v) return 0;
    }
    if (!isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble * scale >= limit) {
        docker_json_describe(v, shown, sizeof shown);
        return docker_json_fail(err, errlen, "%s: expected a timestamp, got %s", path, shown);
    }
    *out = (long long)(v->valuedouble * scale);
    return 0;
}

/* Copies Actor.Attributes[key] (a string) into *dst, which stays NULL when absent. */
static int attribute_dup(const cJSON *attrs, const char *key, char **dst, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof path, "Actor.Attributes.%s", key);
    return docker_json_member_dup(attrs, key, path, dst, err, errlen);
}

static int decode_event(const cJSON *root, struct docker_event *ev, char *err, size_t errlen)
{
    const cJSON *actor, *attrs;
    if (docker_json_member_dup(root, "Type", "Type", &ev->type, err, errlen) < 0 ||
        docker_json_member_dup(root, "Action", "Action", &ev->action, err, errlen) < 0)
        return -1;
    if (ev->action && !*ev->action) {
        free(ev->action);
        ev->action = NULL;
    }
    /* Engines before API 1.22 only sent the deprecated status/id/from. */
    if (!ev->action &&
        docker_json_member_dup(root, "status", "status", &ev->action, err, errlen) < 0)
        return -1;
    if (!ev->action || !*ev->action) return docker_json_fail(err, errlen, "Action: missing");
    if (docker_json_member(root, "Actor", DOCKER_JSON_OBJECT, "Actor", &actor, err, errlen) < 0 ||
        docker_json_member_dup(actor, "ID", "Actor.ID", &ev->id, err, errlen) < 0 ||
        docker_json_member(actor, "Attributes", DOCKER_JSON_OBJECT, "Actor.Attributes", &attrs, err,
                           errlen) < 0)
        return -1;
    if (attribute_dup(attrs, "name", &ev->name, err, errlen) < 0 ||
        attribute_dup(attrs, "image", &ev->image, err, errlen) < 0)
        return -1;
    if (!strcmp(ev->action, "kill") && attribute_dup(attrs, "signal", &ev->signal, err, errlen) < 0)
        return -1;
    if (!ev->id && docker_json_member_dup(root, "id", "id", &ev->id, err, errlen) < 0) return -1;
    if (!ev->image && docker_json_member_dup(root, "from", "from", &ev->image, err, errlen) < 0)
        return -1;
    return decode_time(root, &ev->time_nano, err, errlen);
}

int docker_event_decode(const char *line, size_t len, struct docker_event *ev, char *err,
                        size_t errlen)
{
    cJSON *root;
    int rc;
    memset(ev, 0, sizeof *ev);
    if (!(root = docker_json_parse(line, len, "event", err, errlen))) return -1;
    if (!cJSON_IsObject(root))
        rc = docker_json_wrong_kind("event", DOCKER_JSON_OBJECT, root, err, errlen);
    else
        rc = decode_event(root, ev, err, errlen);
    cJSON_Delete(root);
    if (rc < 0) docker_event_clear(ev);
    return rc;
}

void docker_event_clear(struct docker_event *ev)
{
    if (!ev) return;
    free(ev->type);
    free(ev->action);
    free(ev->id);
    free(ev->signal);
    free(ev->name);
    free(ev->image);
    memset(ev, 0, sizeof *ev);
}

/* Linux numbering (x86, arm, most others): containers are Linux processes
 * whatever this host's <signal.h> would say, and a fixed table keeps the
 * function pure. */
static const struct {
    const char *name;
    int number;
} signals[] = {
    {"HUP", 1},   {"INT", 2},   {"QUIT", 3},  {"ILL", 4},     {"TRAP", 5},    {"ABRT", 6},
    {"IOT", 6},   {"BUS", 7},   {"FPE", 8},   {"KILL", 9},    {"USR1", 10},   {"SEGV", 11},
    {"USR2", 12}, {"PIPE", 13}, {"ALRM", 14}, {"TERM", 15},   {"STKFLT", 16}, {"CHLD", 17},
    {"CLD", 17},  {"CONT", 18}, {"STOP", 19}, {"TSTP", 20},   {"TTIN", 21},   {"TTOU", 22},
    {"URG", 23},  {"XCPU", 24}, {"XFSZ", 25}, {"VTALRM", 26}, {"PROF", 27},   {"WINCH", 28},
    {"IO", 29},   {"POLL", 29}, {"PWR", 30},  {"SYS", 31},    {"UNUSED", 31},
};
#define SIGRTMIN_LINUX 34
#define SIGRTMAX_LINUX 64

/* Small non-negative decimal, or -1. */
static int small_number(const char *s)
{
    int v = 0;
    if (!*s) return -1;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 3) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int docker_signal_number(const char *s)
{
    int n;
    if (!s || !*s) return -1;
    if (s[0] >= '0' && s[0] <= '9') {
        n = small_number(s);
        return n >= 1 && n <= SIGRTMAX_LINUX ? n : -1;
    }
    if (!strncasecmp(s, "SIG", 3)) s += 3;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (!strcasecmp(s, signals[i].name)) return signals[i].number;
    if (!strncasecmp(s, "RTMIN", 5)) {
        n = s[5] == '\0' ? 0 : s[5] == '+' ? small_number(s + 6) : -1;
        return n >= 0 && SIGRTMIN_LINUX + n <= SIGRTMAX_LINUX ? SIGRTMIN_LINUX + n : -1;
    }
    if (!strncasecmp(s, "RTMAX", 5)) {
        n = s[5] == '\0' ? 0 : s[5] == '-' ? small_number(s + 6) : -1;
        return n >= 0 && SIGRTMAX_LINUX - n >= SIGRTMIN_LINUX ? SIGRTMAX_LINUX - n : -1;
    }
    return -1;
}

/* "health_status: healthy" -> "healthy"; NULL for other actions. */
static const char *health_value(const char *action)
{
    static const char prefix[] = "health_status:";
    if (strncmp(action, prefix, sizeof prefix - 1)) return NULL;
    action += sizeof prefix - 1;
    while (*action == ' ')
        action++;
    return action;
}

enum docker_effect docker_event_effect(const struct docker_event *ev, const char *stop_signal,
                                       bool has_healthcheck)
{
    static const char *const leaving[] = {"die", "stop", "pause", "destroy", "oom"};
    const char *a, *health;
    int sig, stop;

    if (!ev || !ev->action || !docker_id_is_valid(ev->id)) return DOCKER_EFFECT_NONE;
    if (ev->type && strcmp(ev->type, "container")) return DOCKER_EFFECT_NONE;
    a = ev->action;
    if (!strcmp(a, "start") || !strcmp(a, "unpause"))
        return has_healthcheck ? DOCKER_EFFECT_NONE : DOCKER_EFFECT_REGISTER;
    if ((health = health_value(a))) {
        if (!strcmp(health, "healthy")) return DOCKER_EFFECT_REGISTER;
        if (!strcmp(health, "unhealthy")) return DOCKER_EFFECT_DEREGISTER;
        return DOCKER_EFFECT_NONE;
    }
    if (!strcmp(a, "kill")) {
        sig = docker_signal_number(ev->signal);
        stop = stop_signal && *stop_signal ? docker_signal_number(stop_signal) : 15;
        return sig > 0 && (sig == stop || sig == 9) ? DOCKER_EFFECT_DEREGISTER : DOCKER_EFFECT_NONE;
    }
    for (size_t i = 0; i < sizeof leaving / sizeof leaving[0]; i++)
        if (!strcmp(a, leaving[i])) return DOCKER_EFFECT_DEREGISTER;
    return DOCKER_EFFECT_NONE;
}
