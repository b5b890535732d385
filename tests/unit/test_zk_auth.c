/* ZooKeeper digest credentials (common/zk_auth.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "zk_auth.h"

/* Checked with: printf %s user:password | openssl dgst -binary -sha1 | base64 */
static void digest_id_is_zookeepers(void **state)
{
    (void)state;
    char *id = zk_auth_digest_id("user:password");
    assert_string_equal(id, "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=");
    free(id);
    assert_null(zk_auth_digest_id("nocolon"));
    assert_null(zk_auth_digest_id(":password"));
}

static void parse_accepts_one_line(void **state)
{
    (void)state;
    char err[256] = "";
    struct zk_auth *a = zk_auth_parse("host1:s3cr:et\n", err, sizeof err);
    assert_non_null(a);
    assert_string_equal(a->user, "host1");
    assert_string_equal(a->credentials, "host1:s3cr:et"); /* the password may hold ':' */
    assert_non_null(strstr(a->digest_id, "host1:"));
    zk_auth_free(a);
}

static void parse_refuses_without_echoing_the_secret(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "\n", "justapassword-zz9", ":nouser-zz9", "user:", "user:zz9\nmore\n", "user:zz9\tx"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[256] = "";
        assert_null(zk_auth_parse(bad[i], err, sizeof err));
        assert_true(err[0]);
        if (strstr(err, "zz9")) fail_msg("error echoes the file: %s", err);
    }
}

static void load_reads_the_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_zk_auth.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "reg:pw-zz9\n", 11), 11);
    close(fd);
    chmod(path, 0644); /* warned about, still loaded */
    char err[256] = "";
    struct zk_auth *a = zk_auth_load(path, err, sizeof err);
    assert_non_null(a);
    assert_string_equal(a->credentials, "reg:pw-zz9");
    zk_auth_free(a);
    unlink(path);
    assert_null(zk_auth_load(path, err, sizeof err));
    assert_non_null(strstr(err, path));
}

/* Once read, the password is redacted from every log line. */
static void password_never_in_a_log_line(void **state)
{
    (void)state;
    char err[256];
    struct zk_auth *a = zk_auth_parse("alice:zk-s3cret-pw\n", err, sizeof err);
    assert_non_null(a);
    int p[2];
    assert_int_equal(pipe(p), 0);
    int saved = dup(STDERR_FILENO);
    dup2(p[1], STDERR_FILENO);
    log_msg(LL_ERROR, "auth %s failed (%s)", "alice:zk-s3cret-pw", "zk-s3cret-pw");
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    char line[512];
    ssize_t n = read(p[0], line, sizeof line - 1);
    line[n > 0 ? n : 0] = '\0';
    close(p[0]);
    assert_null(strstr(line, "s3cret"));
    assert_non_null(strstr(line, "auth *** failed (***)"));
    zk_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digest_id_is_zookeepers),
        cmocka_unit_test(parse_accepts_one_line),
        cmocka_unit_test(parse_refuses_without_echoing_the_secret),
        cmocka_unit_test(load_reads_the_file),
        cmocka_unit_test(password_never_in_a_log_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
