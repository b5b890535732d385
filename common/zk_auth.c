#include "zk_auth.h"

#include "base64.h"
#include "log.h"
#include "sha1.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUTH_FILE_MAX 4096

static void wipe_free(char *s)
{
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void zk_auth_free(struct zk_auth *a)
{
    if (!a) return;
    free(a->user);
    wipe_free(a->credentials);
    free(a->digest_id);
    free(a);
}

char *zk_auth_digest_id(const char *credentials)
{
    const char *colon = strchr(credentials, ':');
    if (!colon || colon == credentials) return NULL;
    unsigned char sha[SHA1_LEN];
    if (sha1_digest(credentials, strlen(credentials), sha) < 0) return NULL;
    char *b64 = base64_encode(sha, sizeof sha);
    explicit_bzero(sha, sizeof sha);
    if (!b64) return NULL;
    size_t ul = (size_t)(colon - credentials);
    size_t n = ul + 1 + strlen(b64) + 1;
    char *id = malloc(n);
    if (id) snprintf(id, n, "%.*s:%s", (int)ul, credentials, b64);
    free(b64);
    return id;
}

__attribute__((format(printf, 3, 4))) static void errf(char *err, size_t errlen, const char *fmt,
                                                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

struct zk_auth *zk_auth_parse(const char *text, char *err, size_t errlen)
{
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    const char *colon = memchr(text, ':', n);
    bool control = false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) control = true;
    if (!colon || colon == text || colon + 1 == text + n || control) {
        errf(err, errlen, "expected one line \"user:password\" (non-empty user and password)");
        return NULL;
    }
    /* the digest id needs libcrypto: say now, naming it, if it is missing */
    if (sha1_load(err, errlen) < 0) return NULL;
    struct zk_auth *a = calloc(1, sizeof *a);
    if (a) {
        a->user = strndup(text, (size_t)(colon - text));
        a->credentials = strndup(text, n);
        a->digest_id = a->credentials ? zk_auth_digest_id(a->credentials) : NULL;
    }
    if (!a || !a->user || !a->credentials || !a->digest_id) {
        zk_auth_free(a);
        errf(err, errlen, "out of memory");
        return NULL;
    }
    /* never in a log line, whoever logs it (as the etcd password) */
    log_redact(a->credentials);
    log_redact(a->credentials + (colon - text) + 1);
    return a;
}

struct zk_auth *zk_auth_load(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
        log_warn("auth file %s is readable by group or others (mode %03o); chmod 600 it", path,
                 (unsigned)(st.st_mode & 0777));
    char buf[AUTH_FILE_MAX + 1];
    size_t len = 0;
    ssize_t got;
    while (len < sizeof buf - 1 && (got = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)got;
    close(fd);
    buf[len] = 0;
    struct zk_auth *a = NULL;
    char why[200];
    if (len == sizeof buf - 1)
        errf(err, errlen, "%s: longer than %d bytes", path, AUTH_FILE_MAX - 1);
    else if (strlen(buf) != len)
        errf(err, errlen, "%s: contains a NUL byte", path);
    else if (!(a = zk_auth_parse(buf, why, sizeof why)))
        errf(err, errlen, "%s: %s", path, why);
    explicit_bzero(buf, sizeof buf);
    return a;
}
