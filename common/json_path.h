/*
 * Typed readers on top of cJSON whose errors name the failing path and show
 * the offending value, e.g.
 *   services.nodesrv.container_port: expected an integer 1..65535, got "abc"
 * Every decoder of foreign or configured JSON uses them: the two config
 * parsers, the Docker and etcd replies, Nerve payloads.
 *
 * Conventions, for every json_get_*:
 *   - a member is looked up by (prefix, key); the path in messages is
 *     "prefix.key", or "key" when prefix is NULL or empty;
 *   - an absent member and JSON null both mean "not given": *out is left
 *     alone and the call returns 0;
 *   - a repeated key: the last one wins (json_check_keys warns about it);
 *   - a value of the wrong type or range: -1 after writing one sentence
 *     into c->err.
 * Values are shown as JSON text (cJSON escapes control characters, so a
 * hostile value cannot break a log line), cut after JSON_SHOWN_MAX bytes.
 *
 * Front ends for other syntaxes: a reader that converted YAML into cJSON can
 * set line_of, and every message about a node then starts with
 * "file:line: ". Nothing here does I/O.
 */
#ifndef SMARTDOCK_JSON_PATH_H
#define SMARTDOCK_JSON_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strlist.h"

#define JSON_PATH_MAX 512
#define JSON_SHOWN_MAX 80

struct cJSON;

/* Where the messages of one decode go. Zero what you do not use. */
struct json_ctx {
    char *err; /* one sentence on failure; may be NULL */
    size_t errlen;
    struct strlist *warnings; /* NULL: warnings are dropped */
    /* Optional: the 1-based source line of node, or 0 when unknown. */
    unsigned (*line_of)(const struct cJSON *node, void *arg);
    void *line_arg;
    const char *file; /* names the source in the "file:line: " prefix */
};

enum json_kind { JSON_STRING, JSON_NUMBER, JSON_BOOL, JSON_OBJECT, JSON_ARRAY };

/* Integers: JSON numbers only, or strings of digits too (Nerve writes
 * whatever type its config had; YAML front ends may keep quotes). */
enum json_int_syntax { JSON_INT_NUMBER, JSON_INT_NUMBER_OR_DIGITS };

/* ---- messages: all failing ones return -1 ---- */

/* "<path>: expected <want>, got <v as JSON>" (v may be NULL: "nothing"). */
int json_fail(struct json_ctx *c, const char *path, const char *want, const struct cJSON *v);
/* True for a path whose last key is "password": errors about it never show the value. */
bool json_path_is_secret(const char *path);
/* Same for a string that is not a JSON value of its own (an object key). */
int json_fail_text(struct json_ctx *c, const char *path, const char *want, const char *s);
/* Free text; at (may be NULL) is the node the message is about. */
int json_failf(struct json_ctx *c, const struct cJSON *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int json_oom(struct json_ctx *c);
/* Appends a warning; -1 only when out of memory. */
int json_warnf(struct json_ctx *c, const struct cJSON *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* v as shown in messages, NUL-terminated in buf. */
void json_describe(const struct cJSON *v, char *buf, size_t n);

/* ---- paths (for messages; truncation is harmless) ---- */

/* "prefix.key" or "key"; control characters in key (input) become '?'. */
void json_path_key(char *buf, size_t len, const char *prefix, const char *key);
/* "prefix[i]". */
void json_path_index(char *buf, size_t len, const char *prefix, size_t i);
/* prefix["key"] with key as an escaped JSON string, for keys that are data
 * (Config.Labels["a\nb"]). */
void json_path_quoted(char *buf, size_t len, const char *prefix, const char *key);

/* ---- lookup ---- */

/* The last member named key, null included; NULL if obj is not an object. */
const struct cJSON *json_lookup(const struct cJSON *obj, const char *key);
/* json_lookup, but NULL for JSON null. */
const struct cJSON *json_member(const struct cJSON *obj, const char *key);
/* Does v satisfy k? (A string must have text.) */
bool json_is(const struct cJSON *v, enum json_kind k);
/* "a string", "an object"... */
const char *json_kind_name(enum json_kind k);
/* 0 when v is of kind k, else json_fail(path, kind name). */
int json_expect(struct json_ctx *c, const char *path, enum json_kind k, const struct cJSON *v);

/*
 * Warns once for each repeated key ("duplicate key P: the last one is
 * used"), for each key in neither list ("unknown key P"), and for keys in
 * ignored ("P: <ignored_why>"). Lists end with NULL and may be NULL.
 */
int json_check_keys(struct json_ctx *c, const struct cJSON *obj, const char *path,
                    const char *const *known, const char *const *ignored, const char *ignored_why);

/* ---- typed getters (see the conventions above) ---- */

/* *out = the member when it is of kind k; NULL when absent or null (the
 * one getter that does not leave *out alone). */
int json_get(struct json_ctx *c, const struct cJSON *obj, const char *prefix, const char *key,
             enum json_kind k, const struct cJSON **out);
/* Any string, copied; replaces (frees) a previous *out. */
int json_get_string(struct json_ctx *c, const struct cJSON *obj, const char *prefix,
                    const char *key, char **out);
/* A string that passes ok, copied like json_get_string; want says what ok
 * wants ("a non-empty string without spaces"), for any other value too. */
int json_get_string_if(struct json_ctx *c, const struct cJSON *obj, const char *prefix,
                       const char *key, bool (*ok)(const char *), const char *want, char **out);
/* A string ("a string") without control characters other than tab. */
int json_get_text(struct json_ctx *c, const struct cJSON *obj, const char *prefix, const char *key,
                  char **out);
bool json_text_ok(const char *s);
int json_get_bool(struct json_ctx *c, const struct cJSON *obj, const char *prefix, const char *key,
                  bool *out);
/* An integer lo..hi ("an integer >= lo" when hi is INT_MAX). */
int json_get_int(struct json_ctx *c, const struct cJSON *obj, const char *prefix, const char *key,
                 enum json_int_syntax syntax, long lo, long hi, int *out);
bool json_as_int(const struct cJSON *v, enum json_int_syntax syntax, long lo, long hi, int *out);
int json_get_number(struct json_ctx *c, const struct cJSON *obj, const char *prefix,
                    const char *key, double lo, double hi, double *out);

/* ---- parsing ---- */

/*
 * Exactly one JSON value filling json[0..len), whitespace around it allowed.
 * Refuses NUL bytes and \u0000 escapes, which cJSON would silently cut a
 * string at. Errors: "<what>: malformed JSON at line L, column C" (what may
 * be NULL). Caller deletes the result.
 */
struct cJSON *json_parse(struct json_ctx *c, const char *json, size_t len, const char *what);
/* A raw NUL byte, or a \u0000 escape (not "\\u0000", which is text). */
bool json_has_nul(const char *json, size_t len);

#endif
