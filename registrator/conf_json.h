/*
 * The helpers every registrator config parser shares, on top of
 * common/json_path.h (which the watcher's parser and the API decoders use
 * too): typed getters that fail with the JSON path and the offending value
 * (`services.web.checks[0].rise: expected a positive integer, got "x"`), and
 * warnings collected for the caller. The first error wins; getters return
 * 0 or -1.
 */
#ifndef SMARTDOCK_CONF_JSON_H
#define SMARTDOCK_CONF_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "strlist.h"

#define CONF_PATH_LEN 512

struct conf_ctx {
    char *err;
    size_t errlen;
    struct strlist warn;
};

extern const char *const CONF_NO_KEYS[];

/* n bytes of decimal digits making a port 1..65535. */
bool conf_port_text_ok(const char *s, size_t n);

/* A bounded rendering of a JSON value for messages. */
void conf_describe(const cJSON *v, char *buf, size_t len);
int conf_failf(struct conf_ctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for parsers without a context (command line, URIs): err gets the
 * sentence; returns -1. */
int conf_errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "<path>: expected <want>, got <v as JSON>" */
int conf_fail(struct conf_ctx *p, const char *path, const char *want, const cJSON *v);
/* conf_fail() for a value that is not a JSON value of its own: an object key. */
int conf_fail_str(struct conf_ctx *p, const char *path, const char *want, const char *s);
int conf_oom(struct conf_ctx *p);
/* Makes sure the warnings array exists (an empty one is still an array). */
int conf_warn_reserve(struct conf_ctx *p);
int conf_warnf(struct conf_ctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* prefix.key into buf; control characters in key (user input) become '?'. */
void conf_join(char *buf, size_t len, const char *prefix, const char *key);
/* The last member named key, or NULL when absent or null. */
const cJSON *conf_member(const cJSON *obj, const char *key);
bool conf_in_list(const char *const *list, const char *s);
/* Is there another member with it's key after it? (The last one is used.) */
bool conf_has_later(const cJSON *it);
/* Warns about duplicate keys and keys outside known; keys in other_type are
 * meaningful in another context (type_name) and say so. */
int conf_check_keys(struct conf_ctx *p, const cJSON *obj, const char *path,
                    const char *const *known, const char *const *other_type, const char *type_name);

/* Getters leave *out alone when the key is absent (unless required). */
int conf_get_string(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                    bool required, char **out);
bool conf_as_int(const cJSON *v, long lo, long hi, int *out);
int conf_get_int(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                 bool required, long lo, long hi, int *out);
/* 1..hi, with the message "expected a positive integer". */
int conf_get_positive(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                      long hi, int *out);
int conf_get_bool(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                  bool *out);
/* Seconds as a JSON number (float allowed), lo_ms..hi_ms once in milliseconds. */
int conf_get_seconds_ms(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                        long lo_ms, long hi_ms, int *out_ms);

/* An object of string values into labels; *out and *nout grow. */
int conf_get_labels(struct conf_ctx *p, const cJSON *obj, const char *prefix, const char *key,
                    struct label **out, size_t *nout);
/* Text for a haproxy server line (backend_options_are_safe); "" leaves *out NULL. */
int conf_get_server_options(struct conf_ctx *p, const cJSON *obj, const char *prefix,
                            const char *key, char **out);

/* Reads a whole file (at most 4 MiB, no NUL byte). Caller frees; NULL with err. */
char *conf_read_file(const char *path, char *err, size_t errlen);
/* Parses json; on a syntax error writes "malformed JSON at line L, column C". */
cJSON *conf_parse_json(struct conf_ctx *p, const char *json);

#endif
