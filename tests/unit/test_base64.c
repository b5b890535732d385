#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base64.h"

static const struct {
    const char *plain, *encoded;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
#define NVEC (sizeof rfc4648 / sizeof rfc4648[0])

/* Decodes exactly len bytes of s from a heap copy with no terminator, so ASan
 * sees any read past len. */
static char *decode_exact(const char *s, size_t len, size_t *out_len)
{
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, s, len);
    char *out = base64_decode(buf, len, out_len);
    free(buf);
    return out;
}

static void assert_decodes(const char *s, const char *want, size_t want_len)
{
    size_t n = 12345;
    char *out = decode_exact(s, strlen(s), &n);
    if (!out) fail_msg("refused \"%s\"", s);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, want_len);
    assert_int_equal(out[n], 0); /* NUL-terminated */
    free(out);
}

static void assert_refused(const char *s, size_t len)
{
    size_t n = 12345;
    char *out = decode_exact(s, len, &n);
    if (out) fail_msg("accepted \"%.*s\" as %zu bytes", (int)len, s, n);
}

static void encode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVEC; i++) {
        char *e = base64_encode(rfc4648[i].plain, strlen(rfc4648[i].plain));
        assert_non_null(e);
        assert_string_equal(e, rfc4648[i].encoded);
        free(e);
    }
}

static void decode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVEC; i++)
        assert_decodes(rfc4648[i].encoded, rfc4648[i].plain, strlen(rfc4648[i].plain));
}

static void decode_without_padding(void **state)
{
    (void)state;
    assert_decodes("Zg", "f", 1);
    assert_decodes("Zm8", "fo", 2);
    assert_decodes("Zm9vYg", "foob", 4);
    assert_decodes("Zm9vYmE", "fooba", 5);
    assert_decodes("Zg=", "f", 1); /* partial padding */
}

static void decode_url_safe(void **state)
{
    (void)state;
    /* 0xfb 0xff 0xbf is "+/+/" in the standard alphabet, "-_-_" in the URL-safe one */
    static const char bytes[] = "\xfb\xff\xbf";
    char *e = base64_encode(bytes, 3);
    assert_string_equal(e, "+/+/");
    free(e);
    assert_decodes("+/+/", bytes, 3);
    assert_decodes("-_-_", bytes, 3);
    assert_decodes("PDw_Pz4-", "<<?\?>>", 6);
    assert_decodes("PDw/Pz4+", "<<?\?>>", 6);
}

static void decode_uses_length_not_nul(void **state)
{
    (void)state;
    size_t n = 0;
    /* only the first 4 characters count */
    char *out = base64_decode("Zm9vYmFy", 4, &n);
    assert_non_null(out);
    assert_int_equal(n, 3);
    assert_string_equal(out, "foo");
    free(out);
    /* out_len may be NULL */
    out = base64_decode("Zm9v", 4, NULL);
    assert_string_equal(out, "foo");
    free(out);
    /* a decoded NUL byte is data, reported through out_len */
    assert_decodes("AA==", "\0", 1);
    assert_decodes("AGEA", "\0a\0", 3);
}

static void decode_invalid(void **state)
{
    (void)state;
    const char *bad[] = {"Zm9v!", "Zm 9v", "Zm9v\n",           "Zm9\tv", "Zg==Zg==", "=Zg=", "Z=g=",
                         "Zm9v.", "Zm9v*", "\xc3\xa9\xc3\xa9", "Zm9v~",  "Zm@v",     NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_refused(bad[i], strlen(bad[i]));
    /* a NUL inside the given length is not base64 either */
    assert_refused("Zm\0v", 4);
    assert_refused("Zm9v\0\0\0\0", 8);
}

static void decode_length_one_mod_four(void **state)
{
    (void)state;
    assert_refused("Z", 1);
    assert_refused("Z=", 2);
    assert_refused("Z===", 4);
    assert_refused("Zm9vY", 5);
    assert_refused("Zm9vY===", 8);
    assert_refused("Zm9vYmFyZ", 9);
}

static void decode_empty(void **state)
{
    (void)state;
    size_t n = 99;
    char *out = decode_exact("", 0, &n);
    assert_non_null(out);
    assert_int_equal(n, 0);
    assert_int_equal(out[0], 0);
    free(out);
}

static void round_trip_all_bytes(void **state)
{
    (void)state;
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    /* every length from 0 to 256, so every padding case meets every byte value */
    for (size_t len = 0; len <= sizeof all; len++) {
        char *e = base64_encode(all + (256 - len), len);
        assert_non_null(e);
        size_t elen = strlen(e);
        assert_int_equal(elen, (len + 2) / 3 * 4);
        assert_int_equal(strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789+/="),
                         elen);
        size_t n = 0;
        char *d = decode_exact(e, elen, &n);
        assert_non_null(d);
        assert_int_equal(n, len);
        assert_memory_equal(d, all + (256 - len), len);
        free(d);

        /* the same through the URL-safe alphabet without padding */
        for (char *p = e; *p; p++) {
            if (*p == '+') *p = '-';
            if (*p == '/') *p = '_';
        }
        while (elen && e[elen - 1] == '=')
            e[--elen] = 0;
        d = decode_exact(e, elen, &n);
        assert_non_null(d);
        assert_int_equal(n, len);
        assert_memory_equal(d, all + (256 - len), len);
        free(d);
        free(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_vectors),
        cmocka_unit_test(decode_vectors),
        cmocka_unit_test(decode_without_padding),
        cmocka_unit_test(decode_url_safe),
        cmocka_unit_test(decode_uses_length_not_nul),
        cmocka_unit_test(decode_invalid),
        cmocka_unit_test(decode_length_one_mod_four),
        cmocka_unit_test(decode_empty),
        cmocka_unit_test(round_trip_all_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
