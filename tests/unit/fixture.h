/* Shared by the unit tests: fixture files and JSON written with single
 * quotes. Include after cmocka.h. */
#ifndef SMARTDOCK_TEST_FIXTURE_H
#define SMARTDOCK_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads FIXTURES_DIR/<relative>, NUL-terminated; fails the test if it
 * cannot. Caller frees. len may be NULL. */
static inline char *fixture_read(const char *relative, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES_DIR, relative);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal((size_t)n, fread(buf, 1, (size_t)n, f));
    buf[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

/* Test JSON is written with single quotes ('a':1); this returns a copy with
 * double ones. Caller frees. */
static inline char *dq(const char *s)
{
    char *out = strdup(s);
    assert_non_null(out);
    for (char *p = out; *p; p++)
        if (*p == '\'') *p = '"';
    return out;
}

#endif
