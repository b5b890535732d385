#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "reg_cli.h"

#define ARGV(...) ((char *[]){"smartdock-registrator", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"smartdock-registrator", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cli, ...) reg_cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cli, err, sizeof err)

static size_t count(char **v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

/* The issue's own example: registrator's arguments, unchanged. */
static void registrator_command_line(void **state)
{
    (void)state;
    struct reg_cli cli;
    char err[512] = "";
    assert_int_equal(0, PARSE(&cli, "-ip", "10.0.0.5", "zookeeper://zk1:2181/services"));
    assert_string_equal("10.0.0.5", cli.ip);
    assert_string_equal("zookeeper://zk1:2181/services", cli.registry_uri);
    assert_null(cli.config_path);

    struct reg_config *cfg = reg_config_new();
    char **w = NULL;
    assert_int_equal(0, reg_cli_apply(&cli, cfg, &w, err, sizeof err));
    assert_int_equal(0, count(w));
    reg_config_free_warnings(w);
    assert_int_equal(0, reg_config_complete(cfg, err, sizeof err));
    assert_string_equal("10.0.0.5", cfg->advertise_host);
    assert_int_equal(REGISTRY_ZOOKEEPER, cfg->registry_type);
    assert_int_equal(1, cfg->zk_hosts.n);
    assert_string_equal("zk1:2181", cfg->zk_hosts.v[0]);
    assert_string_equal("/services", cfg->zk_path);
    assert_false(cfg->explicit_only); /* registrator's default: zero-config */
    reg_config_free(cfg);
}

static void every_flag(void **state)
{
    (void)state;
    struct reg_cli cli;
    char err[512] = "";
    /* Go's flag syntax: -flag value, -flag=value, --flag, bools alone or =false. */
    assert_int_equal(0, PARSE(&cli, "-ip=127.0.0.9", "-internal", "--explicit=true",
                              "-useIpFromLabel", "com.example.ip", "-tags", "a,b", "-resync", "30",
                              "-ttl=30", "-ttl-refresh", "10", "-deregister", "on-success",
                              "-cleanup", "-retry-attempts", "-1", "-retry-interval", "500",
                              "etcd+https://e1:2379/reg"));
    struct reg_config *cfg = reg_config_new();
    char **w = NULL;
    assert_int_equal(0, reg_cli_apply(&cli, cfg, &w, err, sizeof err));
    assert_int_equal(1, count(w)); /* -cleanup is always on */
    assert_non_null(strstr(w[0], "-cleanup"));
    reg_config_free_warnings(w);
    assert_string_equal("127.0.0.9", cfg->advertise_host);
    assert_true(cfg->internal);
    assert_true(cfg->explicit_only);
    assert_string_equal("com.example.ip", cfg->ip_from_label);
    assert_string_equal("a,b", cfg->force_tags);
    assert_int_equal(30, cfg->resync_interval_s);
    assert_int_equal(REGISTRY_ETCD, cfg->registry_type);
    assert_string_equal("https://e1:2379", cfg->etcd_endpoints.v[0]);
    assert_string_equal("/reg/", cfg->etcd_prefix);
    assert_int_equal(30, cfg->etcd_ttl_s);
    assert_int_equal(10, cfg->etcd_keepalive_s);
    assert_int_equal(DEREGISTER_ON_SUCCESS, cfg->deregister);
    assert_int_equal(-1, cfg->retry_attempts);
    assert_int_equal(500, cfg->retry_interval_ms);
    reg_config_free(cfg);

    assert_int_equal(0, PARSE(&cli, "-internal=false", "-explicit=0", "-c", "/etc/r.json", "--once",
                              "--dry-run", "--check", "-v"));
    assert_int_equal(0, cli.internal);
    assert_int_equal(0, cli.explicit_only);
    assert_string_equal("/etc/r.json", cli.config_path);
    assert_true(cli.once && cli.dry_run && cli.check && cli.verbose);
    assert_null(cli.registry_uri);
    assert_int_equal(REG_CLI_UNSET, cli.resync_s);
    assert_int_equal(-1, cli.cleanup);
}

/* With -c the file and the flags combine; a given flag wins. */
static void file_and_flags(void **state)
{
    (void)state;
    char path[] = "/tmp/smartdock-test-cli-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *json = "{\"advertise_host\":\"127.0.0.2\",\"resync_interval_s\":5,"
                       "\"internal\":true,\"tags\":\"file\","
                       "\"registry\":{\"hosts\":[\"127.0.0.1:2181\"],\"path\":\"/file\"}}";
    assert_int_equal((ssize_t)strlen(json), write(fd, json, strlen(json)));
    close(fd);
    struct reg_config *cfg = NULL;
    char err[512] = "", **w = NULL;
    assert_int_equal(0, reg_config_load_partial(path, &cfg, &w, err, sizeof err));
    reg_config_free_warnings(w);
    assert_true(cfg->explicit_only); /* the file keeps smartdock's default */
    struct reg_cli cli;
    assert_int_equal(0, PARSE(&cli, "-c", path, "-tags", "flag", "-internal=false",
                              "zookeeper://127.0.0.3:2181/flag"));
    assert_int_equal(0, reg_cli_apply(&cli, cfg, NULL, err, sizeof err));
    assert_string_equal("127.0.0.2", cfg->advertise_host); /* from the file */
    assert_int_equal(5, cfg->resync_interval_s);
    assert_string_equal("flag", cfg->force_tags);
    assert_false(cfg->internal);
    assert_string_equal("127.0.0.3:2181", cfg->zk_hosts.v[0]);
    assert_int_equal(1, cfg->zk_hosts.n);
    assert_string_equal("/flag", cfg->zk_path);
    reg_config_free(cfg);

    /* A partial file without a registry needs the URI. */
    fd = open(path, O_WRONLY | O_TRUNC);
    const char *bare = "{\"services\":{}}";
    assert_int_equal((ssize_t)strlen(bare), write(fd, bare, strlen(bare)));
    close(fd);
    assert_int_equal(0, reg_config_load_partial(path, &cfg, NULL, err, sizeof err));
    assert_int_equal(-1, reg_config_complete(cfg, err, sizeof err));
    assert_string_equal("advertise_host: required (the config key or -ip)", err);
    assert_int_equal(0, PARSE(&cli, "-ip", "127.0.0.2"));
    assert_int_equal(0, reg_cli_apply(&cli, cfg, NULL, err, sizeof err));
    assert_int_equal(-1, reg_config_complete(cfg, err, sizeof err));
    assert_string_equal("registry: required (the config section or a registry URI)", err);
    reg_config_free(cfg);
    /* ...and the strict loader still requires both. */
    assert_int_equal(-1, reg_config_load(path, &cfg, NULL, err, sizeof err));
    unlink(path);
}

static void parse_error(char **argv, int argc, const char *want)
{
    struct reg_cli cli;
    char err[512] = "";
    assert_int_equal(-1, reg_cli_parse(argc, argv, &cli, err, sizeof err));
    assert_string_equal(want, err);
}
#define PARSE_ERROR(want, ...) parse_error(ARGV(__VA_ARGS__), ARGC(__VA_ARGS__), want)

static void apply_error(const char *want, struct reg_cli *cli)
{
    struct reg_config *cfg = reg_config_new();
    char err[512] = "", **w = (char **)1;
    assert_int_equal(-1, reg_cli_apply(cli, cfg, &w, err, sizeof err));
    assert_null(w);
    assert_string_equal(want, err);
    reg_config_free(cfg);
}
#define APPLY_ERROR(want, ...)                                                                     \
    do {                                                                                           \
        struct reg_cli cli;                                                                        \
        char err[512];                                                                             \
        assert_int_equal(0, PARSE(&cli, __VA_ARGS__));                                             \
        apply_error(want, &cli);                                                                   \
    } while (0)

static void errors(void **state)
{
    (void)state;
    PARSE_ERROR("unknown option -bogus", "-bogus", "zookeeper://h/s");
    PARSE_ERROR("-ip: needs a value", "-ip");
    PARSE_ERROR("-resync: expected an integer 0..2147483647, got \"soon\"", "-resync", "soon");
    PARSE_ERROR("-ttl: expected an integer 0..3600, got \"-5\"", "-ttl", "-5");
    PARSE_ERROR("-retry-attempts: expected an integer -1..2147483647, got \"-2\"",
                "-retry-attempts", "-2");
    PARSE_ERROR("-retry-interval: expected an integer 1..2147483647, got \"0\"", "-retry-interval",
                "0");
    PARSE_ERROR("-explicit: expected true or false, got \"yes please\"", "-explicit=yes please");
    PARSE_ERROR("extra arguments after the registry URI, from \"-ip\" (options come before the "
                "URI)",
                "zookeeper://h/s", "-ip", "127.0.0.2");

    APPLY_ERROR("-ttl and -ttl-refresh must be specified together or not at all", "-ttl", "30",
                "etcd://h/s");
    APPLY_ERROR("-ttl and -ttl-refresh must be specified together or not at all", "-ttl-refresh",
                "5", "etcd://h/s");
    APPLY_ERROR("-ttl must be greater than -ttl-refresh (got 10 and 10)", "-ttl", "10",
                "-ttl-refresh", "10", "etcd://h/s");
    APPLY_ERROR("-deregister must be \"always\" or \"on-success\", got \"never\"", "-deregister",
                "never", "zookeeper://h/s");
    APPLY_ERROR("-ip: expected an IP address or hostname, got \"not an ip\"", "-ip", "not an ip");
    APPLY_ERROR("-tags: Go templates are not supported, got \"{{.Env}}\" (give the tags "
                "themselves, comma-separated)",
                "-tags", "{{.Env}}");
    APPLY_ERROR("-useIpFromLabel: expected a label name, got \"\"", "-useIpFromLabel", "");
    APPLY_ERROR("registry URI \"consul://h:8500\": scheme \"consul\" is not supported (zookeeper, "
                "etcd, etcd+https)",
                "consul://h:8500");
}

static void warnings(void **state)
{
    (void)state;
    struct reg_cli cli;
    char err[512] = "", **w = NULL;
    assert_int_equal(
        0, PARSE(&cli, "-resync", "0", "-ttl", "30", "-ttl-refresh", "10", "zookeeper://h/s"));
    struct reg_config *cfg = reg_config_new();
    assert_int_equal(0, reg_cli_apply(&cli, cfg, &w, err, sizeof err));
    assert_int_equal(2, count(w));
    assert_non_null(strstr(w[0], "-resync 0"));
    assert_non_null(strstr(w[1], "ZooKeeper registrations are ephemeral"));
    assert_int_equal(60, cfg->resync_interval_s);
    assert_int_equal(10, cfg->etcd_ttl_s); /* untouched */
    reg_config_free_warnings(w);
    reg_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registrator_command_line),
        cmocka_unit_test(every_flag),
        cmocka_unit_test(file_and_flags),
        cmocka_unit_test(errors),
        cmocka_unit_test(warnings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
