/* One message of a /v3/watch stream, and the other small etcd replies. */
#include <cjson/cJSON.h>

#include "etcd_codec.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    if (!root) return 0;
    char err[256];
    struct etcd_watch_msg m;
    if (etcd_decode_watch(root, &m, err, sizeof err) == 0) etcd_watch_msg_clear(&m);
    int64_t id, ttl;
    (void)etcd_decode_lease_grant(root, &id, &ttl, err, sizeof err);
    (void)etcd_decode_keepalive(root, &ttl, err, sizeof err);
    char *token = NULL;
    if (etcd_decode_token(root, &token, err, sizeof err) == 0) free(token);
    cJSON_Delete(root);
    return 0;
}
