#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "registry_uri.h"

static void zookeeper(void **state)
{
    (void)state;
    struct registry_uri u;
    char err[512];
    assert_int_equal(
        0, registry_uri_parse("zookeeper://zk1:2181,zk2:2182/services", &u, err, sizeof err));
    assert_int_equal(REGISTRY_ZOOKEEPER, u.type);
    assert_int_equal(2, u.hosts.n);
    assert_string_equal("zk1:2181", u.hosts.v[0]);
    assert_string_equal("zk2:2182", u.hosts.v[1]);
    assert_string_equal("/services", u.path);
    registry_uri_clear(&u);

    /* Default port, IPv6, nested path, trailing slash. */
    assert_int_equal(
        0, registry_uri_parse("zookeeper://zk.example,[::1]:2200/a/b.c/", &u, err, sizeof err));
    assert_string_equal("zk.example:2181", u.hosts.v[0]);
    assert_string_equal("[::1]:2200", u.hosts.v[1]);
    assert_string_equal("/a/b.c", u.path);
    registry_uri_clear(&u);

    /* No path: the config's default; no host: 127.0.0.1. */
    assert_int_equal(0, registry_uri_parse("zookeeper://127.0.0.1:2181", &u, err, sizeof err));
    assert_null(u.path);
    registry_uri_clear(&u);
    assert_int_equal(0, registry_uri_parse("zookeeper:///services", &u, err, sizeof err));
    assert_int_equal(1, u.hosts.n);
    assert_string_equal("127.0.0.1:2181", u.hosts.v[0]);
    registry_uri_clear(&u);
}

static void etcd(void **state)
{
    (void)state;
    struct registry_uri u;
    char err[512];
    assert_int_equal(0, registry_uri_parse("etcd://127.0.0.1:2379/skydns", &u, err, sizeof err));
    assert_int_equal(REGISTRY_ETCD, u.type);
    assert_string_equal("http://127.0.0.1:2379", u.hosts.v[0]);
    assert_string_equal("/skydns/", u.path);
    registry_uri_clear(&u);
    assert_int_equal(0, registry_uri_parse("etcd+https://e1,e2:2400/a/b/", &u, err, sizeof err));
    assert_string_equal("https://e1:2379", u.hosts.v[0]);
    assert_string_equal("https://e2:2400", u.hosts.v[1]);
    assert_string_equal("/a/b/", u.path);
    registry_uri_clear(&u);
    assert_int_equal(0, registry_uri_parse("etcd://", &u, err, sizeof err));
    assert_string_equal("http://127.0.0.1:2379", u.hosts.v[0]);
    assert_null(u.path);
    registry_uri_clear(&u);
}

static void refuse(const char *uri, const char *want)
{
    struct registry_uri u;
    char err[512] = "";
    assert_int_equal(-1, registry_uri_parse(uri, &u, err, sizeof err));
    assert_string_equal(want, err);
    assert_null(u.hosts.v);
    assert_null(u.path);
}

static void errors(void **state)
{
    (void)state;
    refuse("", "registry URI: empty");
    refuse(NULL, "registry URI: empty");
    refuse("zk1:2181/services", "registry URI \"zk1:2181/services\": expected "
                                "<scheme>://host:port[,host:port]/path (zookeeper, etcd or "
                                "etcd+https)");
    refuse("consul://localhost:8500", "registry URI \"consul://localhost:8500\": scheme \"consul\" "
                                      "is not supported (zookeeper, etcd, etcd+https)");
    refuse("ZOOKEEPER://h/x", "registry URI \"ZOOKEEPER://h/x\": scheme \"ZOOKEEPER\" is not "
                              "supported (zookeeper, etcd, etcd+https)");
    refuse("zookeeper://h:2181/a b", "registry URI: control characters or spaces in it");
    refuse("zookeeper://h:2181/a\nb", "registry URI: control characters or spaces in it");
    refuse("zookeeper://h:2181/s?x=1", "registry URI \"zookeeper://h:2181/s?x=1\": a query (?...) "
                                       "is not supported");
    refuse("zookeeper://h:2181/s#f",
           "registry URI \"zookeeper://h:2181/s#f\": a fragment (#...) is "
           "not supported");
    refuse("zookeeper://h:2181/s%2F", "registry URI \"zookeeper://h:2181/s%2F\": percent-encoding "
                                      "is not supported");
    refuse("etcd://u:p@h:2379/s", "registry URI \"etcd://u:p@h:2379/s\": user information "
                                  "(user@...) is not supported; use the config file's "
                                  "registry.username and registry.password");
    refuse("zookeeper://a,,b/s", "registry URI \"zookeeper://a,,b/s\": an empty host in the host "
                                 "list");
    refuse("zookeeper://a,/s", "registry URI \"zookeeper://a,/s\": an empty host in the host list");
    refuse("zookeeper://h:0/s", "registry URI \"zookeeper://h:0/s\": port \"0\" of \"h:0\": "
                                "expected 1..65535");
    refuse("zookeeper://h:65536/s", "registry URI \"zookeeper://h:65536/s\": port \"65536\" of "
                                    "\"h:65536\": expected 1..65535");
    refuse("zookeeper://h:/s", "registry URI \"zookeeper://h:/s\": port \"\" of \"h:\": expected "
                               "1..65535");
    refuse("zookeeper://h:21x/s", "registry URI \"zookeeper://h:21x/s\": port \"21x\" of "
                                  "\"h:21x\": expected 1..65535");
    refuse("zookeeper://:2181/s", "registry URI \"zookeeper://:2181/s\": \":2181\": expected "
                                  "host:port");
    refuse("zookeeper://h!x:2181/s", "registry URI \"zookeeper://h!x:2181/s\": host \"h!x\": not a "
                                     "hostname or IP address");
    refuse("zookeeper://[::1:2181/s", "registry URI \"zookeeper://[::1:2181/s\": \"[::1:2181\": "
                                      "unclosed '['");
    refuse("zookeeper://[::1]2181/s", "registry URI \"zookeeper://[::1]2181/s\": \"[::1]2181\": "
                                      "expected ':' after ']'");
    refuse("zookeeper://h//", "registry URI \"zookeeper://h//\": path \"//\": expected a base path "
                              "like /services, not the root");
    refuse("zookeeper://h/a//b", "registry URI \"zookeeper://h/a//b\": path \"/a//b\": an empty "
                                 "component");
    refuse("zookeeper://h/a/../b", "registry URI \"zookeeper://h/a/../b\": path component \"..\": "
                                   "expected [A-Za-z0-9._-] (not \".\" or \"..\")");
    refuse("etcd://h/a/b:c", "registry URI \"etcd://h/a/b:c\": path component \"b:c\": expected "
                             "[A-Za-z0-9._-] (not \".\" or \"..\")");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zookeeper),
        cmocka_unit_test(etcd),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
