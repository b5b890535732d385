#include "line_buffer.h"

#include <stdlib.h>
#include <string.h>

int line_buffer_append(struct line_buffer *b, const char *data, size_t n, size_t limit)
{
    if (b->len + n + 1 > limit) return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

void line_buffer_take_lines(struct line_buffer *b, line_buffer_fn *fn, void *arg)
{
    size_t start = 0;
    for (size_t i = 0; i < b->len; i++) {
        if (b->data[i] != '\n') continue;
        size_t n = i - start;
        const char *line = b->data + start;
        start = i + 1;
        if (n && line[n - 1] == '\r') n--;
        if (n && !fn(arg, line, n)) break;
    }
    if (start == 0) return;
    memmove(b->data, b->data + start, b->len - start);
    b->len -= start;
    b->data[b->len] = 0;
}

void line_buffer_reset(struct line_buffer *b)
{
    b->len = 0;
    if (b->data) b->data[0] = 0;
}

void line_buffer_free(struct line_buffer *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
