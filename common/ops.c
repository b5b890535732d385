#include "ops.h"

#include "control.h"
#include "log.h"
#include "metrics_http.h"
#include "notify.h"

#include <stdlib.h>
#include <string.h>

#define OPS_STATUS_EVERY_MS 5000 /* STATUS= refresh */

struct ops {
    struct loop *loop;
    struct ops_hooks hooks;
    struct metrics *metrics;
    struct metrics_http *http;
    struct control *control;
    struct notify *notify;
    uint64_t status_timer;
};

static void summary(struct ops *o, char *buf, size_t len)
{
    buf[0] = '\0';
    if (o->hooks.summary) o->hooks.summary(o->hooks.arg, buf, len);
}

static void refresh_status(void *arg)
{
    struct ops *o = arg;
    char line[256];
    summary(o, line, sizeof line);
    if (notify_is_ready(o->notify)) notify_status(o->notify, "%s", line);
    o->status_timer = loop_timer(o->loop, OPS_STATUS_EVERY_MS, refresh_status, o);
}

static char *error_reply(const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", false);
    cJSON_AddStringToObject(o, "error", msg);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static char *on_request(void *arg, const char *request)
{
    struct ops *o = arg;
    if (strcmp(request, "status") == 0 && o->hooks.status_json)
        return o->hooks.status_json(o->hooks.arg);
    char *reply = o->hooks.command ? o->hooks.command(o->hooks.arg, request) : NULL;
    if (reply) return reply;
    char msg[200];
    snprintf(msg, sizeof msg, "unknown request \"%.100s\"", request);
    return error_reply(msg);
}

struct ops *ops_new(struct loop *l, const char *daemon, const struct daemon_config *dc,
                    const char *control_path, const struct ops_hooks *hooks)
{
    struct ops *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->loop = l;
    o->hooks = *hooks;
    o->notify = notify_new(l);
    char err[300];
    if (dc->metrics_listen) {
        o->metrics = metrics_new(daemon, SMARTDOCK_VERSION);
        o->http = o->metrics ? metrics_http_new(l, dc->metrics_listen, o->metrics, err, sizeof err)
                             : NULL;
        if (!o->http) {
            log_error("%s", o->metrics ? err : "metrics: out of memory");
            ops_free(o);
            return NULL;
        }
    }
    if (control_path) {
        o->control = control_new(l, control_path, on_request, o, err, sizeof err);
        if (o->control)
            log_info("control socket %s (status)", control_path);
        else
            log_warn("%s; the status command will not reach this daemon", err);
    }
    o->status_timer = loop_timer(l, OPS_STATUS_EVERY_MS, refresh_status, o);
    return o;
}

struct metrics *ops_metrics(struct ops *o)
{
    return o ? o->metrics : NULL;
}

void ops_ready(struct ops *o)
{
    if (!o) return;
    char line[256];
    summary(o, line, sizeof line);
    log_info("ready: %s", line);
    notify_ready(o->notify, "%s", line);
}

void ops_stopping(struct ops *o)
{
    if (o) notify_stopping(o->notify);
}

void ops_free(struct ops *o)
{
    if (!o) return;
    if (o->status_timer) loop_timer_cancel(o->loop, o->status_timer);
    control_free(o->control);
    metrics_http_free(o->http);
    metrics_free(o->metrics);
    notify_free(o->notify);
    free(o);
}

int ops_client(const char *path, const char *request, bool json,
               void (*print)(const cJSON *reply, FILE *out))
{
    char err[300];
    char *text = control_request(path, request, 10000, err, sizeof err);
    if (!text) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    cJSON *reply = cJSON_Parse(text);
    const cJSON *ok = reply ? cJSON_GetObjectItemCaseSensitive(reply, "ok") : NULL;
    int status = cJSON_IsFalse(ok) ? 1 : 0;
    if (json || !reply) {
        fputs(text, stdout);
        if (!*text || text[strlen(text) - 1] != '\n') fputc('\n', stdout);
    } else if (status) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
        fprintf(stderr, "%s\n", cJSON_IsString(e) ? e->valuestring : "refused");
    } else {
        print(reply, stdout);
    }
    cJSON_Delete(reply);
    free(text);
    return status;
}

const char *ops_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "?";
}

bool ops_true(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}
