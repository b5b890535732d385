#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "loop.h"

static char *answer(void *arg, const char *request)
{
    int *calls = arg;
    (*calls)++;
    if (strcmp(request, "ignore") == 0) return NULL;
    char *r = malloc(strlen(request) + 32);
    sprintf(r, "{\"you said\":\"%s\"}", request);
    return r;
}

struct client {
    struct loop *loop;
    const char *path, *request;
    char *reply;
    char err[256];
};

static void stop(void *arg)
{
    loop_stop(arg);
}

static void *client_thread(void *arg)
{
    struct client *c = arg;
    c->reply = control_request(c->path, c->request, 10000, c->err, sizeof c->err);
    loop_post(c->loop, stop, c->loop);
    return NULL;
}

/* One request from another thread while the loop serves it. */
static void ask(struct loop *l, const char *path, const char *request, struct client *c)
{
    memset(c, 0, sizeof *c);
    c->loop = l;
    c->path = path;
    c->request = request;
    pthread_t t;
    pthread_create(&t, NULL, client_thread, c);
    loop_run(l);
    pthread_join(t, NULL);
}

static void answers_one_line_per_connection_on_a_0600_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/sd-control.XXXXXX", path[128], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ctl.sock", dir);
    struct loop *l = loop_new();
    int calls = 0;
    struct control *c = control_new(l, path, answer, &calls, err, sizeof err);
    assert_non_null(c);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    struct client cl;
    ask(l, path, "status", &cl);
    assert_non_null(cl.reply);
    assert_string_equal(cl.reply, "{\"you said\":\"status\"}");
    free(cl.reply);
    ask(l, path, "drain abc", &cl);
    assert_string_equal(cl.reply, "{\"you said\":\"drain abc\"}");
    free(cl.reply);
    ask(l, path, "ignore", &cl);
    assert_null(cl.reply);
    assert_non_null(strstr(cl.err, "without an answer"));
    assert_int_equal(calls, 3);

    /* a second daemon on the same path is refused while the first runs */
    assert_null(control_new(l, path, answer, &calls, err, sizeof err));
    assert_non_null(strstr(err, "another daemon answers there"));

    control_free(c);
    assert_int_equal(access(path, F_OK), -1); /* removed */
    char *r = control_request(path, "status", 1000, err, sizeof err);
    assert_null(r);
    assert_non_null(strstr(err, "no daemon answers at"));

    /* a stale socket (its daemon died) is replaced */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd);
    c = control_new(l, path, answer, &calls, err, sizeof err);
    assert_non_null(c);
    control_free(c);

    /* a file that is not a socket is left alone */
    FILE *fp = fopen(path, "w");
    fclose(fp);
    assert_null(control_new(l, path, answer, &calls, err, sizeof err));
    assert_non_null(strstr(err, "not a socket"));
    unlink(path);
    rmdir(dir);
    loop_free(l);
}

/* Outside systemd the socket's directory may not exist: the daemon makes it
 * (mode 0750) and the socket in it is still 0600. */
static void makes_a_missing_directory(void **state)
{
    (void)state;
    char dir[] = "/tmp/sd-control.XXXXXX", sub[128], path[160], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/run", dir);
    snprintf(path, sizeof path, "%s/ctl.sock", sub);
    struct loop *l = loop_new();
    int calls = 0;
    struct control *c = control_new(l, path, answer, &calls, err, sizeof err);
    if (!c) fail_msg("%s", err);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0750);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    control_free(c);

    /* only one level: a missing grandparent is an error naming the path */
    snprintf(path, sizeof path, "%s/a/b/ctl.sock", dir);
    assert_null(control_new(l, path, answer, &calls, err, sizeof err));
    assert_non_null(strstr(err, "cannot create its directory"));
    assert_non_null(strstr(err, path));
    rmdir(sub);
    rmdir(dir);
    loop_free(l);
}

/* The default: the first candidate directory the daemon can use; the
 * client finds the socket where the daemon put it. */
static void default_path_is_the_first_usable_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/sd-control.XXXXXX", user[128], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(user, sizeof user, "%s/smartdock", dir);
    const char *const dirs[] = {"/nonexistent-sd-test/smartdock", "", user, NULL};

    /* no daemon yet: the client looks at the first */
    char *client = control_pick_path(dirs, "registrator.sock", false);
    assert_string_equal(client, "/nonexistent-sd-test/smartdock/registrator.sock");
    free(client);

    char *server = control_pick_path(dirs, "registrator.sock", true);
    char want[200];
    snprintf(want, sizeof want, "%s/registrator.sock", user);
    assert_string_equal(server, want);
    struct loop *l = loop_new();
    int calls = 0;
    struct control *c = control_new(l, server, answer, &calls, err, sizeof err);
    if (!c) fail_msg("%s", err);
    client = control_pick_path(dirs, "registrator.sock", false);
    assert_string_equal(client, want);
    free(client);
    control_free(c);
    free(server);
    loop_free(l);
    rmdir(user);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_one_line_per_connection_on_a_0600_socket),
        cmocka_unit_test(makes_a_missing_directory),
        cmocka_unit_test(default_path_is_the_first_usable_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
