/*
 * Issue 14: what smartdock writes for a Synapse config, against what Synapse
 * 0.18.9's own haproxy generator writes for the same config and backends
 * (tests/fixtures/synapse-golden/README.md says how those were produced),
 * section by section. The known differences are normalised away here, each
 * one named; anything else fails with both sections shown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "render.h"
#include "syn_config.h"

#define DIR FIXTURES_DIR "/synapse-golden/"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot read %s", path);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/*
 * The config as smartdock reads it, with two changes that do not reach
 * haproxy.cfg: every discovery becomes "base" (the backends are fixed here;
 * Synapse's own examples list dns servers as plain strings, which its dns
 * watcher cannot run either), and service_conf_dir is merged in by hand, as
 * Synapse's bin/synapse does.
 */
static struct syn_config *load_json_case(const char *name)
{
    char path[512], err[512] = "";
    snprintf(path, sizeof path, DIR "%s.json", name);
    char *text = slurp(path);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    cJSON *services = cJSON_GetObjectItem(root, "services");
    if (!services) services = cJSON_AddObjectToObject(root, "services");
    const cJSON *dir = cJSON_GetObjectItem(root, "service_conf_dir");
    if (cJSON_IsString(dir)) {
        const char *base = strrchr(dir->valuestring, '/');
        char dpath[512];
        snprintf(dpath, sizeof dpath, DIR "%s", base ? base + 1 : dir->valuestring);
        struct dirent **ents = NULL;
        int n = scandir(dpath, &ents, NULL, alphasort);
        for (int i = 0; i < n; i++) {
            size_t len = strlen(ents[i]->d_name);
            if (len > 5 && strcmp(ents[i]->d_name + len - 5, ".json") == 0) {
                char f[1024];
                snprintf(f, sizeof f, "%s/%s", dpath, ents[i]->d_name);
                char *svc = slurp(f);
                ents[i]->d_name[len - 5] = '\0';
                cJSON_AddItemToObject(services, ents[i]->d_name, cJSON_Parse(svc));
                free(svc);
            }
            free(ents[i]);
        }
        free(ents);
        cJSON_DeleteItemFromObject(root, "service_conf_dir");
    }
    cJSON *svc;
    cJSON_ArrayForEach(svc, services)
    {
        cJSON_DeleteItemFromObject(svc, "discovery");
        cJSON_DeleteItemFromObject(svc, "discovery_multi");
        cJSON *d = cJSON_AddObjectToObject(svc, "discovery");
        cJSON_AddStringToObject(d, "method", "base");
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    struct syn_config *cfg = NULL;
    if (syn_config_parse(json, &cfg, err, sizeof err) != 0) fail_msg("%s: %s", name, err);
    free(json);
    return cfg;
}

/* The backends of <name>.backends.json, decoded as a registry's would be. */
static struct backend_list *load_backends(const char *name, const struct syn_config *cfg)
{
    char path[512];
    snprintf(path, sizeof path, DIR "%s.backends.json", name);
    char *text = slurp(path);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    struct backend_list *lists = calloc(cfg->nservices + 1, sizeof *lists);
    for (size_t i = 0; i < cfg->nservices; i++) {
        const cJSON *arr = cJSON_GetObjectItem(root, cfg->services[i].name), *item;
        cJSON_ArrayForEach(item, arr)
        {
            char *json = cJSON_PrintUnformatted(item), why[256];
            struct backend b;
            if (backend_decode_nerve(json, strlen(json), &b, why, sizeof why) != 0)
                fail_msg("%s: %s", json, why);
            assert_int_equal(backend_list_push(&lists[i], &b), 0);
            free(json);
        }
    }
    cJSON_Delete(root);
    return lists;
}

struct text {
    char **lines;
    size_t n;
};

static void text_free(struct text *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->lines[i]);
    free(t->lines);
}

/* Lines without the header comment and without trailing blanks. */
static struct text split(const char *s)
{
    struct text t = {calloc(4096, sizeof(char *)), 0};
    bool first = true;
    for (const char *p = s; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        /* (a) the header comment: a time stamp in Synapse's, a fixed line here */
        if (!(first && *p == '#')) t.lines[t.n++] = strndup(p, len);
        first = false;
        p = nl ? nl + 1 : p + strlen(p);
    }
    return t;
}

static bool is_server(const char *l)
{
    return strncmp(l, "\tserver ", 8) == 0;
}

/* (e) runs of spaces inside a server line (Synapse joins empty option strings
 * with spaces) */
static void squeeze(char *s)
{
    size_t j = 0;
    for (size_t i = 0; s[i]; i++)
        if (s[i] != ' ' || (j && s[j - 1] != ' ')) s[j++] = s[i];
    s[j] = '\0';
}

/* (d) " cookie <value>" on a server line: smartdock writes it only where a
 * "cookie" directive makes HAProxy use it. */
static void drop_cookie(char *s)
{
    char *c = strstr(s, " cookie ");
    if (!c) return;
    char *end = strchr(c + 8, ' ');
    memmove(c, end ? end : c + strlen(c), strlen(end ? end : c + strlen(c)) + 1);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* (f) a listen line HAProxy ignores in a backend ("'option httplog'
 * directive is ignored in backends"): Synapse copies it there, smartdock
 * sends it to the frontend only. */
static bool ignored_in_backends(const char *l)
{
    return strcmp(l, "\toption httplog") == 0 || strcmp(l, "\toption tcplog") == 0;
}

/*
 * Normalises t section by section: (c) server lines sorted (Synapse's default
 * backend_order is a seeded shuffle, smartdock's is sorted), (d), (e) and (f)
 * above for Synapse's text.
 */
static void normalise(struct text *t, bool synapse, bool defaults_cookie)
{
    for (size_t i = 0; i < t->n;) {
        size_t end = i + 1;
        while (end < t->n && t->lines[end][0] != '\0')
            end++;
        if (synapse && strncmp(t->lines[i], "backend ", 8) == 0) {
            size_t kept = i + 1;
            for (size_t k = i + 1; k < end; k++) {
                if (ignored_in_backends(t->lines[k]))
                    free(t->lines[k]);
                else
                    t->lines[kept++] = t->lines[k];
            }
            memmove(t->lines + kept, t->lines + end, (t->n - end) * sizeof(char *));
            t->n -= end - kept;
            end = kept;
        }
        bool cookie_directive = defaults_cookie;
        for (size_t k = i; k < end; k++)
            cookie_directive |= strncmp(t->lines[k], "\tcookie ", 8) == 0;
        size_t first_server = end;
        for (size_t k = i; k < end; k++) {
            if (!is_server(t->lines[k])) continue;
            if (first_server == end) first_server = k;
            squeeze(t->lines[k]);
            if (synapse && !cookie_directive) drop_cookie(t->lines[k]);
        }
        if (first_server < end)
            qsort(t->lines + first_server, end - first_server, sizeof(char *), cmp_line);
        i = end + 1;
    }
}

static char *section_at(const struct text *t, size_t i)
{
    size_t len = 1;
    for (size_t k = i; k < t->n && t->lines[k][0]; k++)
        len += strlen(t->lines[k]) + 1;
    char *out = calloc(1, len);
    for (size_t k = i; k < t->n && t->lines[k][0]; k++) {
        strcat(out, t->lines[k]);
        strcat(out, "\n");
    }
    return out;
}

static void compare(const char *name, const char *ours, const char *theirs, bool defaults_cookie)
{
    struct text a = split(ours), b = split(theirs);
    normalise(&a, false, defaults_cookie);
    normalise(&b, true, defaults_cookie);
    size_t i = 0, j = 0;
    while (i < a.n || j < b.n) {
        char *sa = i < a.n ? section_at(&a, i) : strdup(""),
             *sb = j < b.n ? section_at(&b, j) : strdup("");
        if (strcmp(sa, sb) != 0)
            fail_msg("%s: a section differs from Synapse's\n--- smartdock:\n%s--- Synapse:\n%s",
                     name, sa, sb);
        free(sa);
        free(sb);
        while (i < a.n && a.lines[i][0])
            i++;
        while (j < b.n && b.lines[j][0])
            j++;
        i++;
        j++;
    }
    text_free(&a);
    text_free(&b);
}

/* Byte-for-byte against <name>.smartdock.cfg; UPDATE_GOLDEN=1 rewrites it. */
static void golden(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, DIR "%s.smartdock.cfg", name);
    const char *update = getenv("UPDATE_GOLDEN");
    if (update && strcmp(update, "1") == 0) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    }
    char *want = slurp(path);
    if (strcmp(want, text) != 0) fail_msg("%s differs from the rendered text:\n%s", path, text);
    free(want);
}

static void run_case(const char *name, bool yaml)
{
    struct syn_config *cfg = NULL;
    char path[512], err[512] = "";
    if (yaml) {
        snprintf(path, sizeof path, DIR "%s.yaml", name);
        if (syn_config_load(path, &cfg, err, sizeof err) != 0) fail_msg("%s: %s", name, err);
    } else {
        cfg = load_json_case(name);
    }
    struct backend_list *lists = load_backends(name, cfg);
    /* safe_http_defaults (smartdock's extension, on by default) adds lines
     * Synapse does not write: off here, shown in the README. */
    struct render_opts opts = {.safe_http_defaults = false};
    char *ours = render_haproxy_cfg(cfg, lists, &opts, NULL);
    assert_non_null(ours);
    snprintf(path, sizeof path, DIR "%s.synapse.cfg", name);
    char *theirs = slurp(path);
    bool defaults_cookie = false;
    for (size_t i = 0; i < cfg->haproxy.defaults.n; i++)
        defaults_cookie |= strncmp(cfg->haproxy.defaults.v[i], "cookie ", 7) == 0;
    compare(name, ours, theirs, defaults_cookie);
    golden(name, ours);
    free(ours);
    free(theirs);
    for (size_t i = 0; i < cfg->nservices; i++)
        backend_list_clear(&lists[i]);
    free(lists);
    syn_config_free(cfg);
}

static void synapse_conf(void **state)
{
    (void)state;
    run_case("synapse.conf", false);
}

static void discovery_multi_conf(void **state)
{
    (void)state;
    run_case("discovery-multi.conf", false);
}

static void hostheader_test(void **state)
{
    (void)state;
    run_case("hostheader_test", false);
}

static void svcdir_test(void **state)
{
    (void)state;
    run_case("svcdir_test", false);
}

static void features(void **state)
{
    (void)state;
    run_case("features", false);
}

static void peers(void **state)
{
    (void)state;
    run_case("peers.synapse.conf", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(synapse_conf),    cmocka_unit_test(discovery_multi_conf),
        cmocka_unit_test(hostheader_test), cmocka_unit_test(svcdir_test),
        cmocka_unit_test(features),        cmocka_unit_test(peers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
