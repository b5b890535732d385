/*
 * Internal to syn_config*.c: typed getters over cJSON that name the JSON path
 * in every error, and the unknown-key bookkeeping. Not for other modules;
 * only syn_translate_deprecated_line is used outside (by its unit test).
 */
#ifndef SMARTDOCK_SYN_CONFIG_JSON_H
#define SMARTDOCK_SYN_CONFIG_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "syn_strlist.h"

#define SYN_PATH_MAX 512

/* Where errors and warnings go while one config is parsed. */
struct syn_pctx {
    char *err;
    size_t errlen;
    struct syn_strlist *warnings;
};

/* All of these return -1 after writing one sentence into c->err. */
int syn_fail(struct syn_pctx *c, const char *path, const char *want, const cJSON *v);
int syn_failf(struct syn_pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int syn_oom(struct syn_pctx *c);
/* Adds a warning; -1 only on allocation failure. */
int syn_warnf(struct syn_pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "prefix.key" (or "key" when prefix is empty) and "prefix[i]". */
void syn_path(char *buf, size_t len, const char *prefix, const char *key);
void syn_path_index(char *buf, size_t len, const char *prefix, size_t i);

/* Borrowed member; the last one wins when a key is repeated, as in Ruby. */
const cJSON *syn_get(const cJSON *obj, const char *key);

/*
 * Warns once for each key of obj that is in neither list ("unknown key P.k"),
 * for keys in unsupported (Synapse options smartdock ignores) and for repeated
 * keys. Both lists end with NULL; unsupported may be NULL.
 */
int syn_check_keys(struct syn_pctx *c, const cJSON *obj, const char *path, const char *const *known,
                   const char *const *unsupported);

/* True when s has no control character other than tab. */
bool syn_text_ok(const char *s);
/* True when s is a valid HAProxy proxy or server name: [A-Za-z0-9._:-]+. */
bool syn_name_ok(const char *s);

/*
 * Typed getters. An absent key or JSON null leaves the default (or NULL) and
 * returns 0; a value of the wrong type or range is an error.
 */
int syn_get_string(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                   char **out);
/* A string without whitespace either (addresses, paths, names). */
int syn_get_word(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                 char **out);
int syn_get_bool(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key, bool dflt,
                 bool *out);
/* Integers; a string of digits is accepted too (YAML-converted configs). */
int syn_get_int(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key, long lo,
                long hi, int dflt, int *out);
int syn_get_number(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                   double lo, double hi, double dflt, double *out);
/* Checks one value (not a member) for an integer in lo..hi. */
bool syn_as_int(const cJSON *v, long lo, long hi, int *out);

/*
 * HAProxy config lines: a string or an array of strings. Deprecated timeout
 * keywords are translated, with one warning each.
 */
int syn_get_lines(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                  struct syn_strlist *out);
/* An array of strings, each checked by syn_text_ok. */
int syn_get_strings(struct syn_pctx *c, const cJSON *obj, const char *path, const char *key,
                    struct syn_strlist *out);

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
