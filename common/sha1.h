/*
 * SHA-1 (ZooKeeper digest ACL ids, Synapse's hashed cookie values) from
 * libcrypto, which is dlopen'd ("libcrypto.so.3") on the first digest: a
 * daemon that needs none never maps it (~1.5-3 MiB of RSS).
 */
#ifndef SMARTDOCK_SHA1_H
#define SMARTDOCK_SHA1_H

#include <stddef.h>

#define SHA1_LEN 20

/* Loads libcrypto now (start-up checks). Thread-safe. 0, or -1 with err
 * naming the library and why. */
int sha1_load(char *err, size_t errlen);

/* out = SHA-1(data). 0, or -1 when libcrypto cannot be loaded (logged
 * once, naming it) or fails. */
int sha1_digest(const void *data, size_t len, unsigned char out[SHA1_LEN]);

#endif
