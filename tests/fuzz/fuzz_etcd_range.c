/* A reply of /v3/kv/range, or a gateway error in its place. */
#include <cjson/cJSON.h>

#include "etcd_codec.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    if (!root) return 0;
    char err[256], msg[256];
    int code;
    (void)etcd_decode_error(root, &code, msg, sizeof msg);
    struct etcd_range r;
    if (etcd_decode_range(root, &r, err, sizeof err) == 0) {
        for (size_t i = 0; i < r.n; i++)
            if (!r.kvs[i].key || !r.kvs[i].value) abort();
        etcd_range_clear(&r);
    }
    cJSON_Delete(root);
    return 0;
}
