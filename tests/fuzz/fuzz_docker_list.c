/* A reply of GET /containers/json. */
#include "docker_model.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_exact(data, size);
    char **ids = NULL, err[256];
    size_t n = 0;
    if (docker_list_ids(json, size, &ids, &n, err, sizeof err) == 0) {
        for (size_t i = 0; i < n; i++)
            if (!docker_id_is_valid(ids[i])) abort();
        docker_ids_free(ids, n);
    }
    free(json);
    return 0;
}
