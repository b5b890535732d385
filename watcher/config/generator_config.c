/*
 * Decoding and checking the haproxy settings a service publishes in
 * ZooKeeper (Synapse's generator_config_path). See generator_config.h.
 */
#include "generator_config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_path.h"

/* Longest data read as settings; a service's section is a few hundred bytes. */
#define GENERATOR_CONFIG_MAX_LEN 65536

/* The keys a published haproxy object may hold. Left out on purpose:
 * backend_name (the runtime API, the state file and server ids key on it),
 * server_port_override (Synapse reads it from the file only, at start) and
 * use_nerve_weights (top level only). */
static const char *const allowed_keys[] = {
    "port",   "bind_address",    "bind_options",  "server_options",      "frontend", "backend",
    "listen", "shared_frontend", "backend_order", "cookie_value_method", "disabled", NULL};

/* Synapse's other generator: its settings are not read from ZooKeeper here. */
static const char *const known_generators[] = {"haproxy", "file_output", NULL};

/* Directives that must not start a published line. */
static const struct {
    const char *word, *why;
} refused_directives[] = {
    {"server", "servers come from registrations, which are checked one by one"},
    {"default-server", "it would change every registration's server line"},
    {"server-template", "servers come from registrations, which are checked one by one"},
    {"external-check", "it runs a command on the HAProxy host"},
    {"stats", "it would open HAProxy's statistics or admin page"},
    {"errorfile", "it reads a file of the HAProxy host"},
    {"errorfiles", "it reads files of the HAProxy host"},
};

/* Words refused anywhere in a published line. */
static const struct {
    const char *word, *why;
} refused_words[] = {
    {"file", "it reads a file of the HAProxy host"},
    {"lf-file", "it reads a file of the HAProxy host"},
    {"crt", "it reads a file of the HAProxy host"},
    {"crt-list", "it reads a file of the HAProxy host"},
    {"external-check", "it runs a command on the HAProxy host"},
};

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && strncmp(s, prefix, k) == 0;
}

static bool is_word(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncmp(s, word, n) == 0;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

int generator_config_line_check(const char *line, char *why, size_t whylen)
{
    /* HAProxy expands $NAME and ${NAME} inside double quotes, and env()
     * reads the environment at run time: either would leak it. */
    if (strchr(line, '"') && strchr(line, '$')) {
        snprintf(why, whylen, "\"$\" in a quoted word would read HAProxy's environment");
        return -1;
    }
    if (strstr(line, "env(")) {
        snprintf(why, whylen, "\"env(\" reads HAProxy's environment");
        return -1;
    }
    const char *p = line;
    bool first = true;
    while (*p) {
        while (is_blank(*p))
            p++;
        if (!*p) break;
        const char *w = p;
        while (*p && !is_blank(*p))
            p++;
        size_t n = (size_t)(p - w);
        if (first && is_word(w, n, "no")) continue; /* "no option ...": the next word counts */
        if (first) {
            for (size_t i = 0; i < sizeof refused_directives / sizeof refused_directives[0]; i++)
                if (is_word(w, n, refused_directives[i].word)) {
                    snprintf(why, whylen, "\"%s\" is refused: %s", refused_directives[i].word,
                             refused_directives[i].why);
                    return -1;
                }
            if (has_prefix(w, n, "lua") || has_prefix(w, n, "errorloc")) {
                snprintf(why, whylen, "\"%.*s\" is refused: %s", (int)n, w,
                         has_prefix(w, n, "lua") ? "it loads or runs Lua code"
                                                 : "error pages are the config file's");
                return -1;
            }
        }
        first = false;
        for (size_t i = 0; i < sizeof refused_words / sizeof refused_words[0]; i++)
            if (is_word(w, n, refused_words[i].word)) {
                snprintf(why, whylen, "\"%s\" is refused: %s", refused_words[i].word,
                         refused_words[i].why);
                return -1;
            }
        if (has_prefix(w, n, "lua.")) {
            snprintf(why, whylen, "\"%.*s\" is refused: it runs Lua code", (int)n, w);
            return -1;
        }
        if (n > 5 && strncmp(w + n - 5, "-file", 5) == 0) {
            snprintf(why, whylen, "\"%.*s\" is refused: it reads a file of the HAProxy host",
                     (int)n, w);
            return -1;
        }
    }
    return 0;
}

static int check_lines(const struct strlist *lines, const char *key, char *field, size_t fieldlen,
                       char *why, size_t whylen)
{
    for (size_t i = 0; i < lines->n; i++)
        if (generator_config_line_check(lines->v[i], why, whylen) < 0) {
            snprintf(field, fieldlen, "haproxy.%s[%zu]", key, i);
            return -1;
        }
    return 0;
}

/* The published settings, beyond what the file's parser checks. */
static int check_settings(const cJSON *obj, const struct syn_service_haproxy *h,
                          const struct server_options_policy *policy, char *err, size_t errlen)
{
    char field[64] = "", why[256] = "";
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        bool allowed = false;
        for (const char *const *k = allowed_keys; *k && !allowed; k++)
            allowed = strcmp(*k, it->string) == 0;
        if (!allowed && (strcmp(it->string, "backend_name") == 0 ||
                         strcmp(it->string, "server_port_override") == 0 ||
                         strcmp(it->string, "use_nerve_weights") == 0)) {
            snprintf(err, errlen, "haproxy.%s: may be set in the config file only, not published",
                     it->string);
            return -1;
        }
    }
    if (check_lines(&h->frontend, "frontend", field, sizeof field, why, sizeof why) < 0 ||
        check_lines(&h->backend, "backend", field, sizeof field, why, sizeof why) < 0 ||
        check_lines(&h->listen, "listen", field, sizeof field, why, sizeof why) < 0 ||
        check_lines(&h->shared_frontend, "shared_frontend", field, sizeof field, why, sizeof why) <
            0 ||
        (h->bind_options && generator_config_line_check(h->bind_options, why, sizeof why) < 0 &&
         snprintf(field, sizeof field, "haproxy.bind_options"))) {
        snprintf(err, errlen, "%s: %s", field, why);
        return -1;
    }
    if (h->server_options &&
        server_options_check(policy, h->server_options, why, sizeof why, NULL) < 0) {
        snprintf(err, errlen, "haproxy.server_options: %s", why);
        return -1;
    }
    return 0;
}

static void add_warnings(struct strlist *to, const struct strlist *from, const char *znode)
{
    for (size_t i = 0; to && i < from->n; i++)
        strlist_pushf(to, "znode %s: %s", znode, from->v[i]);
}

enum generator_config_result
generator_config_decode(const char *service, const char *znode, const char *data, size_t len,
                        const struct syn_service_haproxy *file,
                        const struct server_options_policy *policy, struct syn_service_haproxy *out,
                        char **fingerprint, struct strlist *warnings, char *err, size_t errlen)
{
    char msg[512] = "";
    struct strlist notes = {0};
    struct json_ctx c = {.err = msg, .errlen = sizeof msg, .warnings = &notes};
    struct syn_service_haproxy h = {0};
    cJSON *root = NULL;
    enum generator_config_result res = GENERATOR_CONFIG_REFUSED;
    size_t blank = 0;
    while (blank < len && (data[blank] == ' ' || data[blank] == '\n' || data[blank] == '\r' ||
                           data[blank] == '\t'))
        blank++;
    if (blank == len) return GENERATOR_CONFIG_NONE; /* no settings published: Synapse's "{}" */
    if (len > GENERATOR_CONFIG_MAX_LEN) {
        snprintf(msg, sizeof msg, "%zu bytes, more than the %d accepted", len,
                 GENERATOR_CONFIG_MAX_LEN);
        goto out;
    }
    if (!(root = json_parse(&c, data, len, NULL))) goto out;
    if (!cJSON_IsObject(root)) {
        json_fail(&c, "data", "an object {\"haproxy\": {...}}", root);
        goto out;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        bool known = false;
        for (const char *const *g = known_generators; *g && !known; g++)
            known = strcmp(*g, it->string) == 0;
        char key[JSON_PATH_MAX];
        json_path_key(key, sizeof key, NULL, it->string);
        if (!known)
            strlist_pushf(&notes, "%s: not a generator Synapse knows; ignored", key);
        else if (strcmp(it->string, "haproxy") != 0)
            strlist_pushf(&notes, "%s: ignored; only haproxy settings are read from ZooKeeper",
                          key);
    }
    const cJSON *hp = json_lookup(root, "haproxy");
    if (!hp) {
        res = GENERATOR_CONFIG_NONE;
        goto out;
    }
    if (!cJSON_IsObject(hp)) {
        json_fail(&c, "haproxy", "an object", hp);
        goto out;
    }
    int spo = 0;
    if (syn_parse_service_haproxy(&c, hp, "haproxy", service, &h, &spo) < 0) goto out;
    if (check_settings(hp, &h, policy, msg, sizeof msg) < 0) goto out;
    free(h.backend_name);
    h.backend_name = strdup(file && file->backend_name ? file->backend_name : service);
    char *fp = cJSON_PrintUnformatted(hp);
    if (!h.backend_name || !fp) {
        free(fp);
        snprintf(msg, sizeof msg, "out of memory");
        goto out;
    }
    *out = h;
    memset(&h, 0, sizeof h);
    *fingerprint = fp;
    res = GENERATOR_CONFIG_NEW;
out:
    if (res == GENERATOR_CONFIG_REFUSED)
        snprintf(err, errlen, "znode %s: %s", znode, msg[0] ? msg : "refused");
    add_warnings(warnings, &notes, znode);
    strlist_clear(&notes);
    syn_service_haproxy_clear(&h);
    cJSON_Delete(root);
    return res;
}
