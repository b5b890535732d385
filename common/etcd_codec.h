/*
 * etcd v3's JSON gateway (/v3/...), encoded and decoded. Pure: no I/O, no
 * globals. Keys and values travel base64-encoded; int64 fields (revisions,
 * lease IDs, TTLs) travel as JSON strings, though numbers are accepted too.
 *
 * Request builders return a malloc'd JSON body (caller frees), or NULL on
 * allocation failure. Decoders take the parsed reply and return 0, or -1
 * with err naming the field and the offending value.
 */
#ifndef SMARTDOCK_ETCD_CODEC_H
#define SMARTDOCK_ETCD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* gRPC status codes the gateway reports in "code". */
enum {
    ETCD_CODE_INVALID_ARGUMENT = 3,
    ETCD_CODE_NOT_FOUND = 5,
    ETCD_CODE_PERMISSION_DENIED = 7,
    ETCD_CODE_FAILED_PRECONDITION = 9,
    ETCD_CODE_OUT_OF_RANGE = 11,
    ETCD_CODE_UNAVAILABLE = 14,
    ETCD_CODE_UNAUTHENTICATED = 16,
};

/* The end of the range holding every key that starts with prefix: prefix
 * with its last byte below 0xff incremented and what follows it dropped
 * ("\0" when every byte is 0xff, meaning "to the end"). Caller frees;
 * *out_len gets its length. */
char *etcd_prefix_end(const char *prefix, size_t len, size_t *out_len);

/* Every key under prefix; at revision rev when rev > 0, else the latest. */
char *etcd_req_range_prefix(const char *prefix, int64_t rev);
/* One page of that range: at most limit keys, sorted, starting after
 * after_key (NULL: from the start); rev as above. The reply's "more" says
 * whether another page follows. */
char *etcd_req_range_page(const char *prefix, const char *after_key, int64_t rev, int64_t limit);
/* key = value, attached to lease when lease != 0. */
char *etcd_req_put(const char *key, const char *value, size_t value_len, int64_t lease);
char *etcd_req_delete(const char *key);
char *etcd_req_lease_grant(int64_t ttl_s);
/* For /v3/lease/keepalive and /v3/lease/revoke. */
char *etcd_req_lease_id(int64_t id);
/* A watch of every key under prefix from start_rev (0: from now on). */
char *etcd_req_watch_prefix(const char *prefix, int64_t start_rev);
char *etcd_req_authenticate(const char *name, const char *password);

struct etcd_kv {
    char *key;   /* decoded, NUL-terminated */
    char *value; /* decoded, NUL-terminated; "" for a DELETE event */
    size_t value_len;
    int64_t mod_revision;
    int64_t create_revision; /* 0 when absent (DELETE events) */
    int64_t lease;
};

struct etcd_range {
    int64_t revision; /* header.revision: the store revision the read saw */
    struct etcd_kv *kvs;
    size_t n;
    bool more; /* a limited read left keys out: read the next page */
};

enum etcd_event_type { ETCD_EVENT_PUT, ETCD_EVENT_DELETE };

struct etcd_event {
    enum etcd_event_type type;
    struct etcd_kv kv;
};

/* One message of a /v3/watch stream ({"result": {...}}). */
struct etcd_watch_msg {
    int64_t header_revision; /* the store's revision when etcd sent it; 0 if absent */
    bool created;
    bool canceled;
    int64_t compact_revision; /* > 0: the start revision was compacted away */
    char *cancel_reason;      /* NULL unless canceled with a reason */
    struct etcd_event *events;
    size_t nevents;
};

/*
 * If root is a gateway error ({"error": "...", "code": N, "message": "..."},
 * or a stream's {"error": {"grpc_code": N, "message": "..."}}), returns true
 * with its code and message (message may be NULL); otherwise false.
 */
bool etcd_decode_error(const struct cJSON *root, int *code, char *msg, size_t msglen);

int etcd_decode_range(const struct cJSON *root, struct etcd_range *out, char *err, size_t errlen);
void etcd_range_clear(struct etcd_range *r);

int etcd_decode_watch(const struct cJSON *root, struct etcd_watch_msg *out, char *err,
                      size_t errlen);
void etcd_watch_msg_clear(struct etcd_watch_msg *m);
/*
 * The events of m that a reader holding every change up to *revision has not
 * seen, in order, into news (room for m->nevents); *revision becomes the
 * newest. Events of one message may share a revision (a transaction, or a
 * lease revoked with several keys): all of them are news. Returns how many.
 */
size_t etcd_watch_msg_news(const struct etcd_watch_msg *m, int64_t *revision,
                           const struct etcd_event **news);

int etcd_decode_lease_grant(const struct cJSON *root, int64_t *id, int64_t *ttl, char *err,
                            size_t errlen);
/* The TTL left after a keepalive; 0 when the lease no longer exists (the
 * gateway then leaves TTL out). Accepts the reply with or without "result". */
int etcd_decode_keepalive(const struct cJSON *root, int64_t *ttl, char *err, size_t errlen);
/* The token of an /v3/auth/authenticate reply; caller frees. */
int etcd_decode_token(const struct cJSON *root, char **token, char *err, size_t errlen);

void etcd_kv_clear(struct etcd_kv *kv);

#endif
