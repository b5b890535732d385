#include "docker_event.h"

#include "docker_model.h" /* docker_id_is_valid */
#include "json_path.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* timeNano, or the older second-resolution "time", as nanoseconds. */
static int decode_time(const cJSON *root, long long *out, struct json_ctx *jc)
{
    const cJSON *v;
    char shown[JSON_SHOWN_MAX + 8];
    double limit = 9.2e18, scale = 1;
    const char *path = "timeNano";
    *out = 0;
    if (json_get(jc, root, NULL, path, JSON_NUMBER, &v) < 0) return -1;
    if (!v) {
        path = "time";
        scale = 1e9;
        if (json_get(jc, root, NULL, path, JSON_NUMBER, &v) < 0) return -1;
        if (!v) return 0;
    }
    if (!isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble * scale >= limit) {
        json_describe(v, shown, sizeof shown);
        return json_failf(jc, NULL, "%s: expected a timestamp, got %s", path, shown);
    }
    *out = (long long)(v->valuedouble * scale);
    return 0;
}

/* Copies Actor.Attributes[key] (a string) into *dst, which stays NULL when absent. */
static int attribute_dup(const cJSON *attrs, const char *key, char **dst, struct json_ctx *jc)
{
    return json_get_string(jc, attrs, "Actor.Attributes", key, dst);
}

/* exitCode is a decimal string; anything else (absent, a number, junk) is
 * kept as unknown (-1), so an odd value never costs the die event itself. */
static void read_exit_code(const cJSON *attrs, int *out)
{
    const cJSON *v = attrs ? cJSON_GetObjectItemCaseSensitive(attrs, "exitCode") : NULL;
    const char *text = cJSON_IsString(v) ? v->valuestring : NULL;
    if (text && *text && strlen(text) <= 3 && strspn(text, "0123456789") == strlen(text)) {
        int code = atoi(text);
        if (code <= 255) *out = code;
    }
}

static int decode_event(const cJSON *root, struct docker_event *ev, struct json_ctx *jc)
{
    const cJSON *actor, *attrs;
    if (json_get_string(jc, root, NULL, "Type", &ev->type) < 0 ||
        json_get_string(jc, root, NULL, "Action", &ev->action) < 0)
        return -1;
    if (ev->action && !*ev->action) {
        free(ev->action);
        ev->action = NULL;
    }
    /* Engines before API 1.22 only sent the deprecated status/id/from. */
    if (!ev->action && json_get_string(jc, root, NULL, "status", &ev->action) < 0) return -1;
    if (!ev->action || !*ev->action) return json_failf(jc, NULL, "Action: missing");
    if (json_get(jc, root, NULL, "Actor", JSON_OBJECT, &actor) < 0 ||
        json_get_string(jc, actor, "Actor", "ID", &ev->id) < 0 ||
        json_get(jc, actor, "Actor", "Attributes", JSON_OBJECT, &attrs) < 0)
        return -1;
    if (attribute_dup(attrs, "name", &ev->name, jc) < 0 ||
        attribute_dup(attrs, "image", &ev->image, jc) < 0)
        return -1;
    if (!strcmp(ev->action, "kill") && attribute_dup(attrs, "signal", &ev->signal, jc) < 0)
        return -1;
    if (!strcmp(ev->action, "die")) read_exit_code(attrs, &ev->exit_code);
    if (!ev->id && json_get_string(jc, root, NULL, "id", &ev->id) < 0) return -1;
    if (!ev->image && json_get_string(jc, root, NULL, "from", &ev->image) < 0) return -1;
    return decode_time(root, &ev->time_nano, jc);
}

int docker_event_decode(const char *line, size_t len, struct docker_event *ev, char *err,
                        size_t errlen)
{
    struct json_ctx ctx = {.err = err, .errlen = errlen}, *jc = &ctx;
    cJSON *root;
    int rc;
    memset(ev, 0, sizeof *ev);
    ev->exit_code = -1;
    if (!(root = json_parse(jc, line, len, "event"))) return -1;
    if (!cJSON_IsObject(root))
        rc = json_fail(jc, "event", json_kind_name(JSON_OBJECT), root);
    else
        rc = decode_event(root, ev, jc);
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
    ev->exit_code = -1;
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

bool docker_event_exit_failed(const struct docker_event *ev)
{
    return ev && ev->action && !strcmp(ev->action, "die") && ev->exit_code > 0 &&
           (ev->exit_code & 128) == 0;
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
