/* A Synapse config, then the haproxy.cfg rendered from it with no backends. */
#include "fuzz_input.h"
#include "render.h"
#include "syn_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_cstring(data, size);
    struct syn_config *cfg = NULL;
    char err[512];
    if (syn_config_parse(json, &cfg, err, sizeof err) == 0) {
        char *text = render_haproxy_cfg(cfg, NULL, NULL, NULL);
        free(text);
        syn_config_free(cfg);
    }
    free(json);
    return 0;
}
