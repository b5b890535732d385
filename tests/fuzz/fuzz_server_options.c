/* haproxy_server_options from a registry or label against the allow-list.
 * Whatever passes is words only: no quote, '$', '%' or syntax byte. */
#include "fuzz_input.h"
#include "server_options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *opts = fuzz_cstring(data, size);
    char err[256], *bad = NULL;
    if (server_options_check(NULL, opts, err, sizeof err, &bad) == 0) {
        if (bad || strlen(opts) > SERVER_OPTIONS_MAX_LEN || strpbrk(opts, "\"'$%#;\\\n\r{}"))
            abort();
    } else {
        free(bad);
    }
    free(opts);
    return 0;
}
