/*
 * Shared by the fuzz targets: libFuzzer's bytes as a NUL-terminated heap
 * string (the decoders under test take C strings or (pointer, length)).
 */
#ifndef SMARTDOCK_FUZZ_INPUT_H
#define SMARTDOCK_FUZZ_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Caller frees; aborts on ENOMEM (the fuzzer bounds input sizes). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/* An exact-size heap copy, so ASan sees a read past size. */
static inline char *fuzz_exact(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (!s) abort();
    memcpy(s, data, size);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
