/*
 * Synapse's state_file_path: the last known backends of every service,
 * saved within a second of a change (and at exit) and read at start-up, so
 * a watcher restarted while its registry is unreachable still renders the
 * servers it had.
 */
#ifndef SMARTDOCK_STATE_CACHE_H
#define SMARTDOCK_STATE_CACHE_H

#include <time.h>

#include "backend.h"
#include "syn_config.h"

/* {"version":1,"saved_at":T,"services":{"web":[<Nerve JSON>...]}}. Pure; caller frees. */
char *state_cache_render(const struct syn_config *cfg, const struct backend_list *lists,
                         time_t now);
/* Fills lists (parallel to cfg->services, each cleared first) from text
 * saved less than ttl_s before now: smartdock's format above, or the file
 * Synapse writes ({"web": {"<server>": {"timestamp": T, "host", "port",
 * ...}}}, each backend aged by its own timestamp), so a team switching from
 * Synapse keeps its cached backends. Services not in the text, or the whole
 * text when too old, are left empty. Malformed entries are skipped. Returns
 * the number of backends loaded, or -1 with err naming what was wrong. Pure. */
int state_cache_parse(const char *text, const struct syn_config *cfg, time_t now, int ttl_s,
                      struct backend_list *lists, char *err, size_t errlen);

/* The same in parts, so a caller re-renders only the services that changed:
 * one service's member of "services" ("\"web\":[...]"), and the whole text
 * from every member in order. Pure; caller frees. */
char *state_cache_render_service(const char *name, const struct backend_list *list);
char *state_cache_join(char *const *members, size_t n, time_t now);

/* File versions: atomic write (tmp, fsync, rename); read up to 64 MiB. */
int state_cache_write(const char *path, const char *text);
int state_cache_save(const char *path, const struct syn_config *cfg,
                     const struct backend_list *lists);
int state_cache_load(const char *path, const struct syn_config *cfg, int ttl_s,
                     struct backend_list *lists);

#endif
