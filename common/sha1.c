#include "sha1.h"

#include "dl_lib.h"

#include <openssl/evp.h>
#include <string.h>

static struct {
    __typeof__(EVP_Digest) *EVP_Digest;
    __typeof__(EVP_sha1) *EVP_sha1;
} crypto;

static const struct dl_lib_symbol symbols[] = {
    {"EVP_Digest", (void **)&crypto.EVP_Digest},
    {"EVP_sha1", (void **)&crypto.EVP_sha1},
};

static struct dl_lib libcrypto = {
    .soname = "libcrypto.so.3",
    .needed_for = "ZooKeeper digest auth and hashed cookies need it (Debian package libssl3)",
    .symbols = symbols,
    .nsymbols = sizeof symbols / sizeof *symbols,
    DL_LIB_PRIVATE_INIT,
};

int sha1_load(char *err, size_t errlen)
{
    return dl_lib_load(&libcrypto, err, errlen);
}

int sha1_digest(const void *data, size_t len, unsigned char out[SHA1_LEN])
{
    if (dl_lib_require(&libcrypto) < 0) return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!crypto.EVP_Digest(data, len, md, &mdlen, crypto.EVP_sha1(), NULL) || mdlen != SHA1_LEN)
        return -1;
    memcpy(out, md, SHA1_LEN);
    return 0;
}
