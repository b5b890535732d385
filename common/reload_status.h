/*
 * The outcome of the last SIGHUP, kept for the status command: applied or
 * refused, when, what it changed (a few named counts) or why it was
 * refused. Both daemons keep one. Pure.
 */
#ifndef SMARTDOCK_RELOAD_STATUS_H
#define SMARTDOCK_RELOAD_STATUS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define RELOAD_STATUS_MAX_COUNTS 4

enum reload_outcome { RELOAD_NONE, RELOAD_IN_PROGRESS, RELOAD_APPLIED, RELOAD_REFUSED };

struct reload_count {
    const char *name; /* static: "registered", "withdrawn"... */
    unsigned value;
};

struct reload_status {
    enum reload_outcome outcome;
    unsigned reloads; /* SIGHUPs so far */
    time_t at;        /* of the outcome (the signal, while in progress) */
    struct reload_count counts[RELOAD_STATUS_MAX_COUNTS];
    size_t ncounts;
    char error[512];
};

/* A SIGHUP whose outcome comes later (the registrator's resync). */
void reload_status_begin(struct reload_status *s, time_t at);
/* Applied, with up to RELOAD_STATUS_MAX_COUNTS counts (the rest are dropped). */
void reload_status_applied(struct reload_status *s, time_t at, const struct reload_count *counts,
                           size_t ncounts);
void reload_status_refused(struct reload_status *s, time_t at, const char *error);
/*
 * Adds "last_reload" to o: {"outcome": "applied"|"refused"|"in progress",
 * "at": "2026-11-30T13:00:00Z", "reloads": N, "counts": {...} or "error": "..."};
 * nothing before the first SIGHUP. -1 on allocation failure.
 */
int reload_status_to_json(const struct reload_status *s, cJSON *o);
/* One human line: "last SIGHUP 2026-11-30T13:00:00Z: applied: 1 registered, ...". */
void reload_status_line(const cJSON *last_reload, char *buf, size_t len);

#endif
