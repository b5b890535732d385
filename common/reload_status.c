/* The last SIGHUP's outcome; see reload_status.h. */
#include "reload_status.h"

#include <stdio.h>
#include <string.h>

static void stamp(struct reload_status *s, enum reload_outcome outcome, time_t at)
{
    if (outcome != RELOAD_APPLIED || s->outcome != RELOAD_IN_PROGRESS) s->reloads++;
    s->outcome = outcome;
    s->at = at;
    s->ncounts = 0;
    s->error[0] = '\0';
}

void reload_status_begin(struct reload_status *s, time_t at)
{
    stamp(s, RELOAD_IN_PROGRESS, at);
}

void reload_status_applied(struct reload_status *s, time_t at, const struct reload_count *counts,
                           size_t ncounts)
{
    stamp(s, RELOAD_APPLIED, at);
    for (size_t i = 0; i < ncounts && i < RELOAD_STATUS_MAX_COUNTS; i++)
        s->counts[s->ncounts++] = counts[i];
}

void reload_status_refused(struct reload_status *s, time_t at, const char *error)
{
    stamp(s, RELOAD_REFUSED, at);
    snprintf(s->error, sizeof s->error, "%s", error ? error : "");
}

static const char *outcome_name(enum reload_outcome o)
{
    return o == RELOAD_APPLIED ? "applied" : o == RELOAD_REFUSED ? "refused" : "in progress";
}

int reload_status_to_json(const struct reload_status *s, cJSON *o)
{
    if (s->outcome == RELOAD_NONE) return 0;
    char at[32] = "";
    struct tm tm;
    if (gmtime_r(&s->at, &tm)) strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON *r = cJSON_AddObjectToObject(o, "last_reload");
    if (!r || !cJSON_AddStringToObject(r, "outcome", outcome_name(s->outcome)) ||
        !cJSON_AddStringToObject(r, "at", at) || !cJSON_AddNumberToObject(r, "reloads", s->reloads))
        return -1;
    if (s->outcome == RELOAD_REFUSED) return cJSON_AddStringToObject(r, "error", s->error) ? 0 : -1;
    if (s->outcome != RELOAD_APPLIED) return 0;
    cJSON *c = cJSON_AddObjectToObject(r, "counts");
    for (size_t i = 0; c && i < s->ncounts; i++)
        if (!cJSON_AddNumberToObject(c, s->counts[i].name, s->counts[i].value)) return -1;
    return c ? 0 : -1;
}

void reload_status_line(const cJSON *r, char *buf, size_t len)
{
    const cJSON *outcome = cJSON_GetObjectItemCaseSensitive(r, "outcome");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(r, "at");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(r, "error");
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(r, "counts"), *c;
    buf[0] = '\0';
    if (!cJSON_IsString(outcome)) return;
    size_t n = (size_t)snprintf(buf, len, "last SIGHUP %s: %s",
                                cJSON_IsString(at) ? at->valuestring : "?", outcome->valuestring);
    if (cJSON_IsString(error) && n < len)
        n += (size_t)snprintf(buf + n, len - n, ": %s", error->valuestring);
    const char *sep = ": ";
    cJSON_ArrayForEach(c, counts)
    {
        if (n >= len) break;
        n += (size_t)snprintf(buf + n, len - n, "%s%.0f %s", sep, cJSON_GetNumberValue(c),
                              c->string);
        sep = ", ";
    }
}
