/* A znode's name under Nerve's use_path_encoding: base64_<len>_<data>_<seq>. */
#include "backend.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = fuzz_cstring(data, size);
    struct backend b;
    char err[256];
    if (backend_decode_nerve_child_name(name, &b, err, sizeof err) == 0) {
        if (!backend_host_is_valid(b.host)) abort();
        backend_clear(&b);
    }
    free(name);
    return 0;
}
