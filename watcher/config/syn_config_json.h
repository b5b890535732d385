/*
 * Internal to syn_config*.c: what the Synapse config parser reads beyond
 * the typed readers of common/json_path.h. Not for other modules; only
 * syn_translate_deprecated_line is used outside (by its unit test).
 */
#ifndef SMARTDOCK_SYN_CONFIG_JSON_H
#define SMARTDOCK_SYN_CONFIG_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "json_path.h"
#include "syn_config.h"

/* json_check_keys; keys in unsupported are Synapse options smartdock ignores. */
int syn_check_keys(struct json_ctx *c, const cJSON *obj, const char *path, const char *const *known,
                   const char *const *unsupported);

/* True when s is a valid HAProxy proxy or server name: [A-Za-z0-9._:-]+. */
bool syn_name_ok(const char *s);

/*
 * Getters with a default: *out = dflt, then json_get_* (an absent key or
 * JSON null keeps the default). Integers may be strings of digits
 * (YAML-converted configs).
 */
int syn_get_bool(struct json_ctx *c, const cJSON *obj, const char *path, const char *key, bool dflt,
                 bool *out);
int syn_get_int(struct json_ctx *c, const cJSON *obj, const char *path, const char *key, long lo,
                long hi, int dflt, int *out);
int syn_get_number(struct json_ctx *c, const cJSON *obj, const char *path, const char *key,
                   double lo, double hi, double dflt, double *out);
/* A non-empty string without whitespace either (addresses, paths, names). */
int syn_get_word(struct json_ctx *c, const cJSON *obj, const char *path, const char *key,
                 char **out);

/*
 * HAProxy config lines: a string or an array of strings. Deprecated timeout
 * keywords are translated, with one warning each.
 */
int syn_get_lines(struct json_ctx *c, const cJSON *obj, const char *path, const char *key,
                  struct strlist *out);
/* An array of strings, each checked by json_text_ok. */
int syn_get_strings(struct json_ctx *c, const cJSON *obj, const char *path, const char *key,
                    struct strlist *out);

/*
 * HAProxy 2.1 refuses contimeout/clitimeout/srvtimeout (and their
 * "timeout contimeout" spellings). If line starts with one of them, sets *out
 * to a new string using "timeout connect"/"timeout client"/"timeout server"
 * with the rest of the line unchanged, *replacement to that keyword, and
 * returns 1. Returns 0 (with *out NULL) when nothing needs translating, -1 on
 * allocation failure.
 */
int syn_translate_deprecated_line(const char *line, char **out, const char **replacement);

#endif
