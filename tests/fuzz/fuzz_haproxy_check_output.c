/* The output of `haproxy -c` read against the checked text: the input is
 * the config text, a NUL byte, then the output. */
#include "fuzz_input.h"
#include "haproxy_blame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    size_t cfg_len = strlen(text);
    const char *output = cfg_len < size ? text + cfg_len + 1 : "";
    struct blamed_list l;
    bool other;
    if (haproxy_blame(text, output, &l, &other) == 0) {
        for (size_t i = 0; i < l.n; i++)
            if (!l.v[i].section || !l.v[i].name || !l.v[i].host || !l.v[i].message ||
                l.v[i].port < 1 || l.v[i].port > 65535)
                abort();
        blamed_list_clear(&l);
    }
    free(text);
    return 0;
}
