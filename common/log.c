#include "log.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_component = "smartdock";
static enum log_level log_min = LL_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static int log_color;

/* Set from the loop thread, read by every thread that logs. */
static pthread_mutex_t redact_lock = PTHREAD_MUTEX_INITIALIZER;
static char **redact_list;
static size_t redact_n;

int log_color_wanted(int is_tty, const char *no_color, const char *term)
{
    if (!is_tty) return 0;
    if (no_color && *no_color) return 0;
    if (term && strcmp(term, "dumb") == 0) return 0;
    return 1;
}

void log_init(const char *component, enum log_level min_level)
{
    log_component = component;
    log_min = min_level;
    log_color = log_color_wanted(isatty(STDERR_FILENO), getenv("NO_COLOR"), getenv("TERM"));
}

void log_set_level(enum log_level min_level)
{
    log_min = min_level;
}

void log_set_format(enum log_format format)
{
    log_fmt = format;
}

int log_enabled(enum log_level level)
{
    return level >= log_min;
}

int log_format_parse(const char *name, enum log_format *out)
{
    if (!name) return -1;
    if (strcmp(name, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (strcmp(name, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return -1;
    return 0;
}

void log_redact(const char *secret)
{
    if (!secret || strlen(secret) < 4) return;
    pthread_mutex_lock(&redact_lock);
    for (size_t i = 0; i < redact_n; i++)
        if (strcmp(redact_list[i], secret) == 0) goto out;
    char **nl = realloc(redact_list, (redact_n + 1) * sizeof *nl);
    char *copy = strdup(secret);
    if (nl) redact_list = nl;
    if (nl && copy)
        redact_list[redact_n++] = copy;
    else
        free(copy);
out:
    pthread_mutex_unlock(&redact_lock);
}

/* Replaces every registered secret in msg by "***". */
static void redact(char *msg)
{
    pthread_mutex_lock(&redact_lock);
    for (size_t i = 0; i < redact_n; i++) {
        size_t slen = strlen(redact_list[i]);
        char *p;
        while ((p = strstr(msg, redact_list[i])) != NULL) {
            size_t tail = strlen(p + slen);
            memcpy(p, "***", 3);
            memmove(p + 3, p + slen, tail + 1); /* slen >= 4: the line only shrinks */
        }
    }
    pthread_mutex_unlock(&redact_lock);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    static const char *colors[] = {"\033[2m", "\033[32m", "\033[33m", "\033[1;31m"};
    if (level < log_min) return;

    char msg[4000];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m < 0) msg[0] = '\0';
    /* A message must stay one line, whatever a registry or container fed into it. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    redact(msg);

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[64];
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    char line[4200];
    size_t len = 0;
    if (log_fmt == LOG_FORMAT_JSON) {
        cJSON *o = cJSON_CreateObject();
        char *text = NULL;
        if (o && cJSON_AddStringToObject(o, "ts", stamp) &&
            cJSON_AddStringToObject(o, "level", names[level]) &&
            cJSON_AddStringToObject(o, "component", log_component) &&
            cJSON_AddNumberToObject(o, "pid", (double)getpid()) &&
            cJSON_AddStringToObject(o, "msg", msg))
            text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (text) {
            int n = snprintf(line, sizeof line, "%s\n", text);
            len = n < 0 ? 0 : (size_t)n;
            cJSON_free(text);
        }
        /* Truncated JSON is no JSON: fall back to an object without the message. */
        if (!text || len >= sizeof line) {
            int n = snprintf(line, sizeof line,
                             "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"%s\",\"msg\":\"(log "
                             "line too long or out of memory)\"}\n",
                             stamp, names[level], log_component);
            len = n < 0 ? 0 : (size_t)n;
        }
    } else {
        int n = snprintf(line, sizeof line, "%s %s%-5s%s %s: %s\n", stamp,
                         log_color ? colors[level] : "", names[level], log_color ? "\033[0m" : "",
                         log_component, msg);
        len = n < 0 ? 0 : (size_t)n;
        if (len >= sizeof line) {
            len = sizeof line - 1;
            line[len - 1] = '\n';
        }
    }
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
