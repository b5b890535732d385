/*
 * A growing byte buffer for HTTP replies, and the splitting of
 * newline-delimited streams (Docker's /events, etcd's /v3/watch) into lines.
 * Pure.
 */
#ifndef SMARTDOCK_LINE_BUFFER_H
#define SMARTDOCK_LINE_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

struct line_buffer {
    char *data; /* always NUL-terminated once anything was appended */
    size_t len, cap;
};

/* Appends n bytes; -1 (nothing appended) past limit bytes in all, or on ENOMEM. */
int line_buffer_append(struct line_buffer *b, const char *data, size_t n, size_t limit);

/* Hands each complete line, without its "\n" and trailing "\r", to fn
 * (empty lines skipped) until fn returns false; keeps what follows the
 * last complete line handed over. */
typedef bool line_buffer_fn(void *arg, const char *line, size_t len);
void line_buffer_take_lines(struct line_buffer *b, line_buffer_fn *fn, void *arg);

void line_buffer_reset(struct line_buffer *b); /* empties, keeps the memory */
void line_buffer_free(struct line_buffer *b);

#endif
