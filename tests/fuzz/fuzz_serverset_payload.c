/* A znode of a ServerSet (decode: {method: serverset}): Finagle's JSON. What
 * decodes must be safe to render: a valid host, a port, a safe name. */
#include <stdio.h>

#include "backend.h"
#include "fuzz_input.h"
#include "serverset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_exact(data, size);
    static const char *const endpoints[] = {NULL, "http"};
    for (size_t i = 0; i < 2; i++) {
        struct backend b;
        char err[256];
        enum serverset_result r = serverset_decode(json, size, endpoints[i], &b, err, sizeof err);
        if (r == SERVERSET_OK) {
            if (!backend_host_is_valid(b.host) || b.port < 1 || b.port > 65535 || !b.name ||
                !backend_text_is_safe(b.name) || b.haproxy_server_options)
                abort();
            backend_clear(&b);
        } else if (b.host || b.name || !backend_text_is_safe(err)) {
            abort();
        }
    }
    free(json);
    return 0;
}
