#include "file_output.h"

#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *file_output_render(const struct backend_list *backends)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < backends->n; i++) {
        cJSON *o = backend_to_json(&backends->v[i], false);
        if (!o) break;
        cJSON_AddItemToArray(arr, o);
    }
    char *s = arr ? cJSON_Print(arr) : NULL;
    cJSON_Delete(arr);
    return s;
}

int file_output_write(const char *dir, const char *service, const struct backend_list *backends)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s.json", dir, service);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char *text = file_output_render(backends);
    if (!text) return -1;
    size_t len = strlen(text);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = -1;
    if (fd >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(fd, text + off, len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (off == len && write(fd, "\n", 1) == 1 && fsync(fd) == 0) rc = 0;
        close(fd);
    }
    if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    if (rc < 0) {
        int saved = errno;
        if (fd >= 0) unlink(tmp); /* never leave a half-written .tmp behind */
        log_error("file_output: writing %s: %s", path, strerror(saved));
    }
    free(text);
    return rc;
}
