/* A znode or etcd value: Nerve JSON. What decodes must encode and decode
 * again to the same backend (nothing lost, nothing made unsafe). */
#include <stdio.h>

#include "backend.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_exact(data, size);
    struct backend b;
    char err[256];
    if (backend_decode_nerve(json, size, &b, err, sizeof err) == 0) {
        if (!backend_host_is_valid(b.host) || !b.name || !backend_text_is_safe(b.name) ||
            (b.haproxy_server_options && !backend_options_are_safe(b.haproxy_server_options)))
            abort();
        char *again = backend_encode_nerve(&b);
        if (!again) abort();
        struct backend c;
        if (backend_decode_nerve(again, strlen(again), &c, err, sizeof err) != 0) {
            fprintf(stderr, "re-decode failed: %s\n", err);
            abort();
        }
        if (strcmp(b.host, c.host) || b.port != c.port || strcmp(b.name, c.name) ||
            b.weight != c.weight || b.nlabels != c.nlabels)
            abort();
        backend_clear(&c);
        free(again);
        backend_clear(&b);
    }
    free(json);
    return 0;
}
