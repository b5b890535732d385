/*
 * Health check definitions, with Nerve's keys and defaults: from a JSON
 * "checks" array (the registrator config or a Nerve config) or from a
 * container's smartdock.check.* labels. Pure.
 */
#ifndef SMARTDOCK_CHECK_CONFIG_H
#define SMARTDOCK_CHECK_CONFIG_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "conf_json.h"

#define CHECK_INTERVAL_DEFAULT_MS 500     /* Nerve's check_interval */
#define CHECK_TIMEOUT_DEFAULT_MS 100      /* Nerve's timeout */
#define CHECK_OPEN_TIMEOUT_DEFAULT_MS 200 /* Nerve's http open_timeout */
#define CHECK_MAX_RISE_FALL 1000

enum check_type { CHECK_HTTP, CHECK_TCP };

struct check_spec {
    enum check_type type;
    char *name;     /* NULL: "<service> <type>-<host>:<port>", as Nerve names it */
    char *host;     /* NULL: the host the service advertises */
    int port;       /* 0: the port the service advertises */
    int timeout_ms; /* tcp: the connect; http: the default read_timeout */
    int rise, fall;
    /* http */
    char *uri;    /* required, starts with '/' */
    char *expect; /* NULL, or a substring the body must contain */
    struct label *headers;
    size_t nheaders;
    int open_timeout_ms; /* connect */
    int read_timeout_ms; /* after the connect */
    bool ssl;            /* https, certificate not verified (as Nerve) */
};

struct check_list {
    struct check_spec *v;
    size_t n;
};

/* A spec with Nerve's defaults for type. */
void check_spec_init(struct check_spec *c, enum check_type type);
void check_spec_clear(struct check_spec *c);
void check_list_clear(struct check_list *l);
int check_list_copy(struct check_list *out, const struct check_list *in);
/* Same checks, key by key, in the same order. */
bool check_list_equal(const struct check_list *a, const struct check_list *b);
const char *check_type_name(enum check_type t);

/* Parses the array at path (for instance "services.web.checks") into out,
 * which must be empty. Errors name the element: services.web.checks[0].rise. */
int check_list_parse(struct conf_ctx *p, const cJSON *checks, const char *path,
                     struct check_list *out);

/*
 * From container labels: smartdock.check.type=http|tcp (required for a
 * check), .uri, .timeout (seconds), .rise, .fall, .expect, and
 * smartdock.check_interval (seconds). Returns 1 and fills out (and
 * *interval_ms when that label is set) when there is a check, 0 when there
 * is none, -1 with err naming the label and its value.
 */
int check_from_labels(const struct label *labels, size_t nlabels, struct check_spec *out,
                      int *interval_ms, char *err, size_t errlen);

#endif
