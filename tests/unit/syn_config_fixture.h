/* Shared by the watcher config tests: parse a config that must load, and
 * look for its warnings. Include after cmocka.h and syn_config.h. */
#ifndef SMARTDOCK_TEST_SYN_CONFIG_FIXTURE_H
#define SMARTDOCK_TEST_SYN_CONFIG_FIXTURE_H

#include <stdbool.h>
#include <string.h>

/* Fails the test, naming the error and the input, unless json loads. */
static inline struct syn_config *parse_ok(const char *json)
{
    struct syn_config *cfg = NULL;
    char err[512] = "";
    if (syn_config_parse(json, &cfg, err, sizeof err) != 0)
        fail_msg("unexpected error: %s\nfor: %s", err, json);
    assert_non_null(cfg);
    return cfg;
}

static inline bool has_warning(const struct syn_config *cfg, const char *w)
{
    for (size_t i = 0; i < cfg->warnings.n; i++)
        if (strcmp(cfg->warnings.v[i], w) == 0) return true;
    return false;
}

/* A warning that starts with prefix (the rest says what smartdock does instead). */
static inline bool has_warning_starting(const struct syn_config *cfg, const char *prefix)
{
    for (size_t i = 0; i < cfg->warnings.n; i++)
        if (strncmp(cfg->warnings.v[i], prefix, strlen(prefix)) == 0) return true;
    return false;
}

#endif
