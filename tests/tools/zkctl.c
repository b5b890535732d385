/*
 * zkctl: a small synchronous ZooKeeper client for the end-to-end tests (the
 * JVM's zkCli takes a second per call; tests poll).
 *
 *   zkctl HOSTS ls PATH            child names, one per line, sorted
 *   zkctl HOSTS dump PATH          "<child> <data>" per line, sorted
 *   zkctl HOSTS get PATH           the data
 *   zkctl HOSTS owner PATH         the ephemeral owner session, hex
 *   zkctl HOSTS create PATH DATA [ephemeral] [sequential] [hold SECONDS]
 *   zkctl HOSTS mkdirs PATH
 *   zkctl HOSTS delete PATH
 *
 * Exit status: 0 done, 1 no such node, 2 usage or connection failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static zhandle_t *connect_zk(const char *hosts)
{
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(hosts, NULL, 10000, NULL, NULL, 0);
    for (int i = 0; zh && i < 100 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++) usleep(50000);
    if (!zh || zoo_state(zh) != ZOO_CONNECTED_STATE) {
        fprintf(stderr, "zkctl: cannot connect to %s\n", hosts);
        exit(2);
    }
    return zh;
}

static int status(int rc, const char *path)
{
    if (rc == ZOK) return 0;
    fprintf(stderr, "zkctl: %s: %s\n", path, zerror(rc));
    return rc == ZNONODE ? 1 : 2;
}

static int list(zhandle_t *zh, const char *path, int with_data)
{
    struct String_vector v;
    int rc = zoo_get_children(zh, path, 0, &v);
    if (rc != ZOK) return status(rc, path);
    qsort(v.data, (size_t)v.count, sizeof *v.data, cmp);
    for (int i = 0; i < v.count; i++) {
        if (!with_data) {
            printf("%s\n", v.data[i]);
            continue;
        }
        char child[1024], buf[65536];
        int len = sizeof buf - 1;
        snprintf(child, sizeof child, "%s/%s", strcmp(path, "/") ? path : "", v.data[i]);
        if (zoo_get(zh, child, 0, buf, &len, NULL) != ZOK || len < 0) len = 0;
        buf[len] = 0;
        printf("%s %s\n", v.data[i], buf);
    }
    deallocate_String_vector(&v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fputs("usage: zkctl HOSTS ls|dump|get|owner|create|mkdirs|delete PATH [...]\n", stderr);
        return 2;
    }
    const char *cmd = argv[2], *path = argv[3];
    zhandle_t *zh = connect_zk(argv[1]);
    int rc = 2;
    if (strcmp(cmd, "ls") == 0 || strcmp(cmd, "dump") == 0) {
        rc = list(zh, path, cmd[0] == 'd');
    } else if (strcmp(cmd, "get") == 0) {
        static char buf[1 << 20];
        int len = sizeof buf - 1;
        rc = status(zoo_get(zh, path, 0, buf, &len, NULL), path);
        if (rc == 0 && len > 0) fwrite(buf, 1, (size_t)len, stdout);
    } else if (strcmp(cmd, "owner") == 0) {
        struct Stat st;
        rc = status(zoo_exists(zh, path, 0, &st), path);
        if (rc == 0) printf("0x%llx\n", (unsigned long long)st.ephemeralOwner);
    } else if (strcmp(cmd, "mkdirs") == 0) {
        char p[1024];
        snprintf(p, sizeof p, "%s", path);
        for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
            if (s) *s = 0;
            zoo_create(zh, p, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
            if (!s) break;
            *s = '/';
        }
        rc = 0;
    } else if (strcmp(cmd, "create") == 0 && argc >= 5) {
        int flags = 0, hold = 0;
        for (int i = 5; i < argc; i++) {
            if (strcmp(argv[i], "ephemeral") == 0) flags |= ZOO_EPHEMERAL;
            if (strcmp(argv[i], "sequential") == 0) flags |= ZOO_SEQUENCE;
            if (strcmp(argv[i], "hold") == 0 && i + 1 < argc) hold = atoi(argv[++i]);
        }
        char created[1024];
        rc = status(zoo_create(zh, path, argv[4], (int)strlen(argv[4]), &ZOO_OPEN_ACL_UNSAFE,
                               flags, created, sizeof created),
                    path);
        if (rc == 0) printf("%s\n", created);
        fflush(stdout);
        if (rc == 0 && hold > 0) sleep((unsigned)hold);
    } else if (strcmp(cmd, "delete") == 0) {
        rc = status(zoo_delete(zh, path, -1), path);
    }
    zookeeper_close(zh);
    return rc;
}
