/* One line of GET /events, and what it means for a registration. */
#include "docker_event.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fuzz_exact(data, size);
    struct docker_event ev;
    char err[256];
    if (docker_event_decode(line, size, &ev, err, sizeof err) == 0) {
        (void)docker_event_effect(&ev, "SIGTERM", true);
        (void)docker_event_effect(&ev, NULL, false);
        docker_event_clear(&ev);
    }
    free(line);
    return 0;
}
