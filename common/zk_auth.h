/*
 * ZooKeeper "digest" credentials: read from an auth file (one line
 * "user:password"), sent with zoo_add_auth, and turned into the ACL id
 * ZooKeeper compares against: "user:" + base64(sha1("user:password")).
 *
 * The password is never logged and never put into an error message.
 */
#ifndef SMARTDOCK_ZK_AUTH_H
#define SMARTDOCK_ZK_AUTH_H

#include <stddef.h>

struct zk_auth {
    char *user;
    char *credentials; /* "user:password", what zoo_add_auth sends */
    char *digest_id;   /* "user:base64(sha1(user:password))", the ACL id */
};

/* Reads path. Logs one warning when the file is readable by group or
 * others. On error returns NULL with err naming the file and what is wrong
 * (never its content). Free with zk_auth_free. */
struct zk_auth *zk_auth_load(const char *path, char *err, size_t errlen);
/* From "user:password" text (a trailing newline allowed); NULL with err. */
struct zk_auth *zk_auth_parse(const char *text, char *err, size_t errlen);
/* Wipes the password from memory and frees. */
void zk_auth_free(struct zk_auth *a);

/* "user:" + base64(sha1(credentials)): ZooKeeper's DigestAuthenticationProvider
 * id for credentials "user:password". NULL on a malformed input, OOM or
 * no libcrypto (sha1.h); caller frees. */
char *zk_auth_digest_id(const char *credentials);

#endif
