/* Base64 (RFC 4648), standard and URL-safe alphabets. Pure. */
#ifndef SMARTDOCK_BASE64_H
#define SMARTDOCK_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Returns a NUL-terminated encoding; caller frees. */
char *base64_encode(const void *data, size_t len);
/* Decodes either alphabet, padding optional; returns a NUL-terminated
 * buffer (caller frees) and its length in *out_len, or NULL if s is not base64. */
char *base64_decode(const char *s, size_t len, size_t *out_len);

#endif
