/* The registrator's config file. */
#include "fuzz_input.h"
#include "reg_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_cstring(data, size);
    struct reg_config *cfg = NULL;
    char **warnings = NULL, err[512];
    if (reg_config_parse(json, &cfg, &warnings, err, sizeof err) == 0) reg_config_free(cfg);
    reg_config_free_warnings(warnings);
    free(json);
    return 0;
}
