/*
 * The backend model shared by both daemons: one instance of a service, as
 * Airbnb's Nerve writes it into a registry, and its JSON codec.
 *
 * Everything here is pure: no I/O, no globals.
 */
#ifndef SMARTDOCK_BACKEND_H
#define SMARTDOCK_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BACKEND_MAX_PAYLOAD (64 * 1024) /* larger registry values are refused */
#define BACKEND_WEIGHT_UNSET (-1)
#define BACKEND_MAX_LABELS 64 /* labels beyond these are left out (BACKEND_OVER_LABELS) */

/* Bits of backend.over_limits: what decode left out of a registration. */
#define BACKEND_OVER_LABELS 1u

struct label {
    char *key;
    char *value;
};

struct backend {
    char *host;                   /* hostname or IP, validated */
    int port;                     /* 1..65535 */
    char *name;                   /* never NULL after decode: falls back to host:port */
    int weight;                   /* 0..256, or BACKEND_WEIGHT_UNSET */
    char *haproxy_server_options; /* may be NULL; never holds a control character */
    struct label *labels;
    size_t nlabels;
    char *container_id; /* smartdock's own keys; NULL when another writer made it */
    char *service;
    char *source; /* where discovery found it (znode or key); may be NULL */
    /* Creation order in its registry (ZooKeeper czxid or the sequence of a
     * path-encoded child, etcd create_revision); 0 when unknown. Of two
     * registrations of one host:port the lower wins. */
    int64_t created;
    unsigned over_limits; /* BACKEND_OVER_* bits */
    /* NULL: the backend owns each string above. Otherwise they all live in
     * this one immutable, reference-counted block (backend_share), and
     * backend_copy only takes another reference. */
    struct backend_block *block;
};

struct backend_list {
    struct backend *v;
    size_t n, cap;
};

/* Frees what b owns (or drops its reference to a shared block) and zeroes it. */
void backend_clear(struct backend *b);
/* A copy into out (which is overwritten): a reference to b's block when b is
 * shared, a deep copy otherwise. 0 or -1 on allocation failure. */
int backend_copy(struct backend *out, const struct backend *b);
/*
 * Moves b's strings and labels into one reference-counted block, so that
 * its copies (the discovery's own and every list published from it) hold
 * them once. A shared backend's strings must not be freed or replaced
 * directly: backend_set_label takes a private copy first, backend_clear
 * drops the reference. 0, or -1 on allocation failure (b is unchanged and
 * still valid). Single-threaded: the count is not atomic.
 */
int backend_share(struct backend *b);
/* Borrowed value of label key, or NULL. */
const char *backend_label(const struct backend *b, const char *key);
/* Adds or replaces a label; copies key and value. */
int backend_set_label(struct backend *b, const char *key, const char *value);

/*
 * Decodes Nerve's JSON ({"host","port","name","weight","haproxy_server_options",
 * "labels"} plus anything else, which is ignored). On failure returns -1 and
 * writes into err a sentence naming the field and the offending value; out is
 * left cleared. Hostile input (control characters, bad hosts, huge values)
 * is refused here so nothing downstream has to think about it.
 */
int backend_decode_nerve(const char *json, size_t len, struct backend *out, char *err,
                         size_t errlen);
/* Nerve's use_path_encoding: the payload lives in the child's name,
 * "base64_<len>_<urlsafe base64 of the JSON>_<sequence>". */
#define BACKEND_ENCODED_PREFIX "base64_"
int backend_decode_nerve_child_name(const char *child, struct backend *out, char *err,
                                    size_t errlen);
struct cJSON;
/* b as a Nerve JSON object; with smartdock_keys also "container_id" and
 * "service". Caller frees with cJSON_Delete; NULL on ENOMEM. */
struct cJSON *backend_to_json(const struct backend *b, bool smartdock_keys);
/* Encodes b as Nerve JSON plus "container_id"/"service". Caller frees. */
char *backend_encode_nerve(const struct backend *b);

/* Validators shared by decoders and config parsers. */
bool backend_host_is_valid(const char *host);
bool backend_text_is_safe(const char *s); /* no control characters at all */
/* Server options go into haproxy.cfg and into runtime API commands on an
 * admin socket, where ';' separates commands and '\\' escapes: besides
 * control characters, '#', ';' and '\\' are refused. */
bool backend_options_are_safe(const char *s);
/* Returns a copy of s with every byte HAProxy refuses in a server name replaced by '_'. */
char *backend_server_name_dup(const char *s);

/* backend_list: owns its backends. push moves *b in (b is zeroed). */
int backend_list_push(struct backend_list *l, struct backend *b);
/* Room for n backends in all, allocated exactly (a list built to be kept). */
int backend_list_reserve(struct backend_list *l, size_t n);
void backend_list_clear(struct backend_list *l);
/*
 * Keeps one backend per host:port, the first seen (lowest created; unknown
 * counts as last; then name, then source), and sorts the rest by name, host,
 * port. The others are moved into dropped (when not NULL) or freed.
 * O(n log n).
 */
void backend_list_sort_unique(struct backend_list *l);
void backend_list_sort_unique_dropping(struct backend_list *l, struct backend_list *dropped);
/* Deep copy. */
int backend_list_copy(struct backend_list *out, const struct backend_list *in);
bool backend_list_equal(const struct backend_list *a, const struct backend_list *b);

#endif
