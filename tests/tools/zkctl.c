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
 *   zkctl HOSTS stat PATH          the node's ctime, in ms since the epoch
 *   zkctl HOSTS ctimes PATH        "<child> <ctime ms>" per line, sorted
 *   zkctl HOSTS czxids PATH        "<child> <czxid> <ephemeral owner hex>" per line, sorted:
 *                                  a znode deleted and created again has a new czxid
 *   zkctl HOSTS bulk-create FILE [ephemeral] [sequential] [hold]
 *   zkctl HOSTS set PATH DATA      overwrite the data (any version)
 *   zkctl HOSTS acl PATH           "<scheme>:<id> <perms>" per line, sorted
 *
 * ZKCTL_AUTH=user:password in the environment authenticates with the digest
 * scheme, and nodes created then get digest:user:<hash> ALL plus
 * world:anyone READ (ZKCTL_ACL=private: the digest entry only).
 *
 * bulk-create (for the benchmarks) reads "PATH DATA" lines (DATA is the rest
 * of the line, maybe empty; FILE - is stdin), sends every create at once
 * without waiting for the replies, and when all are answered prints
 * "created N failed F first_ms T0 last_ms T1": the wall-clock times (ms since
 * the epoch) when the first create was sent and the last reply came back.
 * With hold it then keeps the session (and its ephemeral nodes) until SIGTERM
 * or SIGINT, and closes it cleanly, which deletes them at once.
 *
 * Exit status: 0 done, 1 no such node, 2 usage or connection failure.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zookeeper/zookeeper.h>

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static zhandle_t *connect_zk(const char *hosts)
{
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(hosts, NULL, 10000, NULL, NULL, 0);
    for (int i = 0; zh && i < 100 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        usleep(50000);
    if (!zh || zoo_state(zh) != ZOO_CONNECTED_STATE) {
        fprintf(stderr, "zkctl: cannot connect to %s\n", hosts);
        exit(2);
    }
    return zh;
}

static int status(int rc, const char *path);

/* The ACL nodes are created with: open, or ZKCTL_AUTH's (see the top). */
static struct ACL_vector *create_acl = &ZOO_OPEN_ACL_UNSAFE;
static struct ACL auth_acl[2];
static struct ACL_vector auth_acl_vec;
static char digest_id[512];
static volatile int auth_rc = -1;

static void auth_done(int rc, const void *data)
{
    (void)data;
    auth_rc = rc;
}

static void authenticate(zhandle_t *zh)
{
    const char *cred = getenv("ZKCTL_AUTH");
    if (!cred || !*cred) return;
    const char *colon = strchr(cred, ':');
    unsigned char sha[EVP_MAX_MD_SIZE];
    unsigned int shalen = 0;
    unsigned char b64[64];
    if (!colon || !EVP_Digest(cred, strlen(cred), sha, &shalen, EVP_sha1(), NULL)) {
        fputs("zkctl: ZKCTL_AUTH: expected user:password\n", stderr);
        exit(2);
    }
    EVP_EncodeBlock(b64, sha, (int)shalen);
    snprintf(digest_id, sizeof digest_id, "%.*s:%s", (int)(colon - cred), cred, b64);
    if (zoo_add_auth(zh, "digest", cred, (int)strlen(cred), auth_done, NULL) != ZOK) exit(2);
    for (int i = 0; i < 200 && auth_rc < 0; i++)
        usleep(10000);
    if (auth_rc != ZOK) {
        fprintf(stderr, "zkctl: authentication failed\n");
        exit(2);
    }
    auth_acl[0] = (struct ACL){ZOO_PERM_ALL, {"digest", digest_id}};
    auth_acl[1] = (struct ACL){ZOO_PERM_READ, {"world", "anyone"}};
    const char *mode = getenv("ZKCTL_ACL");
    auth_acl_vec = (struct ACL_vector){mode && strcmp(mode, "private") == 0 ? 1 : 2, auth_acl};
    create_acl = &auth_acl_vec;
}

static int print_acl(zhandle_t *zh, const char *path)
{
    struct ACL_vector v;
    struct Stat st;
    int rc = zoo_get_acl(zh, path, &v, &st);
    if (rc != ZOK) return status(rc, path);
    char **lines = calloc((size_t)v.count + 1, sizeof *lines);
    for (int i = 0; i < v.count; i++) {
        char line[1024];
        snprintf(line, sizeof line, "%s:%s %d", v.data[i].id.scheme, v.data[i].id.id,
                 v.data[i].perms);
        lines[i] = strdup(line);
    }
    qsort(lines, (size_t)v.count, sizeof *lines, cmp);
    for (int i = 0; i < v.count; i++) {
        printf("%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    deallocate_ACL_vector(&v);
    return 0;
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

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ctimes(zhandle_t *zh, const char *path, int czxid)
{
    struct String_vector v;
    int rc = zoo_get_children(zh, path, 0, &v);
    if (rc != ZOK) return status(rc, path);
    qsort(v.data, (size_t)v.count, sizeof *v.data, cmp);
    for (int i = 0; i < v.count; i++) {
        char child[1024];
        struct Stat st;
        snprintf(child, sizeof child, "%s/%s", strcmp(path, "/") ? path : "", v.data[i]);
        if (zoo_exists(zh, child, 0, &st) != ZOK) continue;
        if (czxid)
            printf("%s %lld %llx\n", v.data[i], (long long)st.czxid,
                   (unsigned long long)st.ephemeralOwner);
        else
            printf("%s %lld\n", v.data[i], (long long)st.ctime);
    }
    deallocate_String_vector(&v);
    return 0;
}

/* bulk-create: replies arrive on the client's completion thread. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long pending, failed;
    long long last_ms;
} bulk = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static void bulk_done(int rc, const char *value, const void *data)
{
    (void)value;
    long long t = now_ms();
    pthread_mutex_lock(&bulk.mu);
    if (rc != ZOK) {
        if (bulk.failed++ < 5) fprintf(stderr, "zkctl: %s: %s\n", (const char *)data, zerror(rc));
    }
    bulk.last_ms = t;
    if (--bulk.pending == 0) pthread_cond_signal(&bulk.cv);
    pthread_mutex_unlock(&bulk.mu);
}

static int bulk_create(zhandle_t *zh, const char *file, int flags, int hold, sigset_t *sigs)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        perror(file);
        return 2;
    }
    char **lines = NULL;
    size_t n = 0, cap = 0, len = 0;
    char *line = NULL;
    ssize_t got;
    while ((got = getline(&line, &len, f)) > 0) {
        if (line[got - 1] == '\n') line[--got] = 0;
        if (got == 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            if (!(lines = realloc(lines, cap * sizeof *lines))) return 2;
        }
        lines[n++] = strdup(line);
    }
    free(line);
    if (f != stdin) fclose(f);

    long long first = now_ms();
    pthread_mutex_lock(&bulk.mu);
    bulk.pending = (long)n;
    pthread_mutex_unlock(&bulk.mu);
    for (size_t i = 0; i < n; i++) {
        char *sp = strchr(lines[i], ' ');
        const char *data = "";
        if (sp) {
            *sp = 0;
            data = sp + 1;
        }
        int rc = zoo_acreate(zh, lines[i], data, (int)strlen(data), create_acl, flags, bulk_done,
                             lines[i]);
        if (rc != ZOK) bulk_done(rc, NULL, lines[i]);
    }
    pthread_mutex_lock(&bulk.mu);
    while (bulk.pending > 0)
        pthread_cond_wait(&bulk.cv, &bulk.mu);
    long failed = bulk.failed;
    long long last = bulk.last_ms;
    pthread_mutex_unlock(&bulk.mu);
    printf("created %zu failed %ld first_ms %lld last_ms %lld\n", n - (size_t)failed, failed, first,
           last);
    fflush(stdout);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    if (hold) {
        int sig;
        sigwait(sigs, &sig);
    }
    return failed ? 2 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fputs("usage: zkctl HOSTS "
              "ls|dump|get|owner|create|mkdirs|delete|stat|ctimes|czxids|bulk-create|set|acl "
              "PATH [...]\n",
              stderr);
        return 2;
    }
    const char *cmd = argv[2], *path = argv[3];
    /* bulk-create hold waits for these with sigwait: block them before the
     * client's threads start, so that they inherit the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    if (strcmp(cmd, "bulk-create") == 0) pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    zhandle_t *zh = connect_zk(argv[1]);
    authenticate(zh);
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
            zoo_create(zh, p, NULL, -1, create_acl, 0, NULL, 0);
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
        rc = status(zoo_create(zh, path, argv[4], (int)strlen(argv[4]), create_acl, flags, created,
                               sizeof created),
                    path);
        if (rc == 0) printf("%s\n", created);
        fflush(stdout);
        if (rc == 0 && hold > 0) sleep((unsigned)hold);
    } else if (strcmp(cmd, "set") == 0 && argc >= 5) {
        rc = status(zoo_set(zh, path, argv[4], (int)strlen(argv[4]), -1), path);
    } else if (strcmp(cmd, "acl") == 0) {
        rc = print_acl(zh, path);
    } else if (strcmp(cmd, "delete") == 0) {
        rc = status(zoo_delete(zh, path, -1), path);
    } else if (strcmp(cmd, "stat") == 0) {
        struct Stat st;
        rc = status(zoo_exists(zh, path, 0, &st), path);
        if (rc == 0) printf("%lld\n", (long long)st.ctime);
    } else if (strcmp(cmd, "ctimes") == 0 || strcmp(cmd, "czxids") == 0) {
        rc = ctimes(zh, path, strcmp(cmd, "czxids") == 0);
    } else if (strcmp(cmd, "bulk-create") == 0) {
        int flags = 0, hold = 0;
        for (int i = 4; i < argc; i++) {
            if (strcmp(argv[i], "ephemeral") == 0) flags |= ZOO_EPHEMERAL;
            if (strcmp(argv[i], "sequential") == 0) flags |= ZOO_SEQUENCE;
            if (strcmp(argv[i], "hold") == 0) hold = 1;
        }
        rc = bulk_create(zh, path, flags, hold, &sigs);
    }
    zookeeper_close(zh);
    return rc;
}
