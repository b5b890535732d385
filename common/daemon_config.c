#include "daemon_config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

const char *const DAEMON_CONFIG_KEYS[] = {"log_format", "metrics", "control_socket", NULL};

int daemon_config_split_listen(const char *s, char *addr, size_t addrlen, int *port)
{
    if (!s) return -1;
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) return -1;
    const char *a = s;
    size_t alen = (size_t)(colon - s);
    if (s[0] == '[') {
        if (alen < 3 || s[alen - 1] != ']') return -1;
        a = s + 1;
        alen -= 2;
    }
    if (alen >= addrlen) return -1;
    memcpy(addr, a, alen);
    addr[alen] = '\0';
    unsigned char buf[sizeof(struct in6_addr)];
    if (s[0] == '[' ? inet_pton(AF_INET6, addr, buf) != 1 : inet_pton(AF_INET, addr, buf) != 1)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || p < 1 || p > 65535) return -1;
    *port = (int)p;
    return 0;
}

static void describe(const cJSON *v, char *buf, size_t len)
{
    char *text = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(buf, len, "%.100s", text ? text : "nothing");
    cJSON_free(text);
}

static int fail(char *err, size_t errlen, const char *path, const char *want, const cJSON *v)
{
    char got[128];
    describe(v, got, sizeof got);
    snprintf(err, errlen, "%s: expected %s, got %s", path, want, got);
    return -1;
}

int daemon_config_parse(const cJSON *root, struct daemon_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "log_format");
    if (v && !cJSON_IsNull(v) &&
        (!cJSON_IsString(v) || log_format_parse(v->valuestring, &out->log_format) < 0))
        return fail(err, errlen, "log_format", "\"text\" or \"json\"", v);

    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "metrics");
    if (m && !cJSON_IsNull(m)) {
        if (!cJSON_IsObject(m)) return fail(err, errlen, "metrics", "an object", m);
        for (const cJSON *k = m->child; k; k = k->next)
            if (strcmp(k->string, "listen") != 0) {
                snprintf(err, errlen, "metrics.%.100s: unknown key (metrics takes \"listen\")",
                         k->string);
                return -1;
            }
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(m, "listen");
        char addr[64];
        int port;
        if (!cJSON_IsString(l) ||
            daemon_config_split_listen(l->valuestring, addr, sizeof addr, &port) < 0)
            return fail(err, errlen, "metrics.listen",
                        "\"address:port\" with a numeric address (\"127.0.0.1:9300\")", l);
        out->metrics_listen = strdup(l->valuestring);
    }

    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "control_socket");
    if (c && !cJSON_IsNull(c)) {
        if (!cJSON_IsString(c) || c->valuestring[0] != '/' ||
            strlen(c->valuestring) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            daemon_config_clear(out);
            return fail(err, errlen, "control_socket", "an absolute path under 108 bytes", c);
        }
        out->control_socket = strdup(c->valuestring);
    }
    if ((m && !cJSON_IsNull(m) && !out->metrics_listen) ||
        (c && !cJSON_IsNull(c) && !out->control_socket)) {
        daemon_config_clear(out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void daemon_config_clear(struct daemon_config *c)
{
    free(c->metrics_listen);
    free(c->control_socket);
    memset(c, 0, sizeof *c);
}
