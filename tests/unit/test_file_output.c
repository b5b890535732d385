#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "file_output.h"

static void add(struct backend_list *l, const char *sq)
{
    char *json = dq(sq), err[256] = "";
    struct backend b;
    if (backend_decode_nerve(json, strlen(json), &b, err, sizeof err) != 0)
        fail_msg("backend: %s", err);
    free(json);
    assert_int_equal(backend_list_push(l, &b), 0);
}

static void two_backends(struct backend_list *l)
{
    add(l, "{'host':'127.0.10.1','port':8000,'name':'web-1','weight':10,"
           "'haproxy_server_options':'check inter 2s','labels':{'az':'us-east-1a','r':'x'},"
           "'container_id':'3f2a','service':'web'}");
    add(l, "{'host':'::1','port':'8001','name':'q\\\"uote\\\\back'}");
}

static const cJSON *field(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* Checks text is the two_backends() array. */
static void check_two(const char *text)
{
    cJSON *arr = cJSON_Parse(text);
    if (!arr) fail_msg("not JSON: %s", text);
    assert_true(cJSON_IsArray(arr));
    assert_int_equal(cJSON_GetArraySize(arr), 2);

    const cJSON *a = cJSON_GetArrayItem(arr, 0);
    assert_string_equal(cJSON_GetStringValue(field(a, "host")), "127.0.10.1");
    assert_true(cJSON_IsNumber(field(a, "port")));
    assert_int_equal(field(a, "port")->valueint, 8000);
    assert_string_equal(cJSON_GetStringValue(field(a, "name")), "web-1");
    assert_true(cJSON_IsNumber(field(a, "weight")));
    assert_int_equal(field(a, "weight")->valueint, 10);
    assert_string_equal(cJSON_GetStringValue(field(a, "haproxy_server_options")), "check inter 2s");
    const cJSON *labels = field(a, "labels");
    assert_true(cJSON_IsObject(labels));
    assert_int_equal(cJSON_GetArraySize(labels), 2);
    assert_string_equal(cJSON_GetStringValue(field(labels, "az")), "us-east-1a");
    assert_string_equal(cJSON_GetStringValue(field(labels, "r")), "x");
    /* smartdock's own bookkeeping stays out of Synapse's format */
    assert_null(field(a, "container_id"));
    assert_null(field(a, "service"));
    assert_null(field(a, "source"));

    const cJSON *b = cJSON_GetArrayItem(arr, 1);
    assert_string_equal(cJSON_GetStringValue(field(b, "host")), "::1");
    assert_true(cJSON_IsNumber(field(b, "port")));
    assert_int_equal(field(b, "port")->valueint, 8001);
    assert_string_equal(cJSON_GetStringValue(field(b, "name")), "q_uote_back");
    assert_null(field(b, "weight")); /* unset stays absent, not -1 */
    assert_null(field(b, "haproxy_server_options"));
    assert_true(cJSON_IsObject(field(b, "labels")));
    assert_int_equal(cJSON_GetArraySize(field(b, "labels")), 0);
    cJSON_Delete(arr);
}

static void render_is_json(void **state)
{
    (void)state;
    struct backend_list l = {0};
    two_backends(&l);
    char *text = file_output_render(&l);
    assert_non_null(text);
    check_two(text);
    free(text);
    backend_list_clear(&l);
}

static void render_empty_and_escapes(void **state)
{
    (void)state;
    struct backend_list l = {0};
    char *text = file_output_render(&l);
    assert_non_null(text);
    cJSON *arr = cJSON_Parse(text);
    assert_true(cJSON_IsArray(arr));
    assert_int_equal(cJSON_GetArraySize(arr), 0);
    cJSON_Delete(arr);
    free(text);

    /* label text with quotes, backslashes and UTF-8 comes back byte for byte */
    add(&l, "{'host':'h','port':1,'labels':{'k\\\"\\\\':'v\\\"\\\\ caf\\u00e9 </x>'}}");
    text = file_output_render(&l);
    arr = cJSON_Parse(text);
    assert_non_null(arr);
    const cJSON *labels = field(cJSON_GetArrayItem(arr, 0), "labels");
    assert_string_equal(cJSON_GetStringValue(field(labels, "k\"\\")), "v\"\\ caf\xc3\xa9 </x>");
    cJSON_Delete(arr);
    free(text);
    backend_list_clear(&l);
}

static char *tempdir(void)
{
    char tmpl[] = "/tmp/smartdock-fo-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Names in dir other than . and .., one per line. */
static void list_dir(const char *dir, char *out, size_t len)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    out[0] = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        strncat(out, e->d_name, len - strlen(out) - 2);
        strcat(out, "\n");
    }
    closedir(d);
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void write_replaces_atomically(void **state)
{
    (void)state;
    char *dir = tempdir(), path[512], names[1024];
    snprintf(path, sizeof path, "%s/web.json", dir);

    struct backend_list l = {0};
    two_backends(&l);
    assert_int_equal(file_output_write(dir, "web", &l), 0);
    char *text = slurp(path);
    assert_non_null(text);
    check_two(text);
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "web.json\n"); /* no .tmp left behind */

    struct stat st1, st2;
    assert_int_equal(stat(path, &st1), 0);
    assert_int_equal(st1.st_mode & 0777, 0644);

    /* a second write replaces the file (a new inode: rename, not rewrite) */
    backend_list_clear(&l);
    assert_int_equal(file_output_write(dir, "web", &l), 0);
    text = slurp(path);
    cJSON *arr = cJSON_Parse(text);
    assert_true(cJSON_IsArray(arr));
    assert_int_equal(cJSON_GetArraySize(arr), 0);
    cJSON_Delete(arr);
    free(text);
    assert_int_equal(stat(path, &st2), 0);
    assert_true(st1.st_ino != st2.st_ino);
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "web.json\n");

    /* a stale .tmp from a crash is overwritten, not appended to */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    for (int i = 0; i < 10000; i++)
        fputs("garbage ", f);
    fclose(f);
    two_backends(&l);
    assert_int_equal(file_output_write(dir, "web", &l), 0);
    text = slurp(path);
    check_two(text);
    free(text);
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "web.json\n");

    /* services get their own files */
    assert_int_equal(file_output_write(dir, "api", &l), 0);
    snprintf(path, sizeof path, "%s/api.json", dir);
    text = slurp(path);
    check_two(text);
    free(text);

    backend_list_clear(&l);
    rm_rf(dir);
    free(dir);
}

static void write_failures(void **state)
{
    (void)state;
    char *dir = tempdir(), sub[512], names[1024];
    struct backend_list l = {0};
    two_backends(&l);

    /* a directory that does not exist (tests run as root, so permissions prove nothing) */
    snprintf(sub, sizeof sub, "%s/missing", dir);
    assert_int_equal(file_output_write(sub, "web", &l), -1);

    /* a "directory" that is a regular file */
    snprintf(sub, sizeof sub, "%s/file", dir);
    FILE *f = fopen(sub, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(file_output_write(sub, "web", &l), -1);

    /* the target is a directory: rename fails, and the .tmp is cleaned up */
    snprintf(sub, sizeof sub, "%s/web.json", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(file_output_write(dir, "web", &l), -1);
    list_dir(dir, names, sizeof names);
    assert_null(strstr(names, ".tmp"));
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    /* a full device: write or fsync fails, the old file stays, no .tmp */
    if (access("/dev/full", W_OK) == 0) {
        char link[600];
        snprintf(link, sizeof link, "%s/full.json.tmp", dir);
        assert_int_equal(symlink("/dev/full", link), 0);
        snprintf(sub, sizeof sub, "%s/full.json", dir);
        f = fopen(sub, "w");
        fputs("[]", f);
        fclose(f);
        assert_int_equal(file_output_write(dir, "full", &l), -1);
        char *text = slurp(sub);
        assert_string_equal(text, "[]");
        free(text);
        struct stat lst;
        assert_int_equal(lstat(link, &lst), -1);
    }

    backend_list_clear(&l);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(render_is_json),
        cmocka_unit_test(render_empty_and_escapes),
        cmocka_unit_test(write_replaces_atomically),
        cmocka_unit_test(write_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
