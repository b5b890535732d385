#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "runtime_plan.h"

/* Servers as borrowed literals: the plan only reads them. */
#define SRV(n, h, p, w, o)                                                                         \
    {                                                                                              \
        (char *)(n), (char *)(h), (p), (w), (char *)(o), false, 0, false, NULL                     \
    }

static struct render_server a1[] = {SRV("a", "127.0.0.2", 80, BACKEND_WEIGHT_UNSET, NULL),
                                    SRV("b", "127.0.0.3", 80, 10, NULL)};

#define LIST(arr)                                                                                  \
    {                                                                                              \
        (arr), sizeof(arr) / sizeof((arr)[0])                                                      \
    }

static void identical_lists_make_an_empty_plan(void **state)
{
    (void)state;
    struct render_server_list prev = LIST(a1), next = LIST(a1);
    struct runtime_plan p;
    assert_int_equal(runtime_plan_make(&prev, NULL, &next, &p), 0);
    assert_false(p.needs_reload);
    assert_int_equal(p.n, 0);
    runtime_plan_clear(&p);
}

/* Issue 11: 20,000 servers and one more make one add, found by sorted
 * lookups (a linear find per server was quadratic: seconds of CPU). */
static void many_servers_one_more(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct render_server *v = calloc(N + 1, sizeof *v);
    char(*names)[16] = calloc(N + 1, sizeof *names);
    for (int i = 0; i <= N; i++) {
        snprintf(names[i], sizeof names[i], "n%d", (i * 7919) % (N + 1));
        v[i] = (struct render_server)SRV(names[i], "127.0.0.2", 1 + i, BACKEND_WEIGHT_UNSET, NULL);
    }
    struct render_server_list prev = {v, N}, next = {v, N + 1};
    struct runtime_plan p;
    assert_int_equal(runtime_plan_make(&prev, NULL, &next, &p), 0);
    assert_false(p.needs_reload);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].kind, RUNTIME_ADD);
    assert_ptr_equal(p.v[0].server, &v[N]);
    runtime_plan_clear(&p);
    free(names);
    free(v);
}

static void adds_come_before_weights_and_removals(void **state)
{
    (void)state;
    struct render_server nv[] = {SRV("b", "127.0.0.3", 80, 20, NULL),
                                 SRV("c", "127.0.0.4", 81, 5, "check inter 2s")};
    struct render_server_list prev = LIST(a1), next = LIST(nv);
    struct runtime_plan p;
    assert_int_equal(runtime_plan_make(&prev, NULL, &next, &p), 0);
    assert_false(p.needs_reload);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.v[0].kind, RUNTIME_ADD);
    assert_string_equal(p.v[0].server->name, "c");
    assert_int_equal(p.v[0].weight, 5);
    assert_int_equal(p.v[1].kind, RUNTIME_WEIGHT);
    assert_string_equal(p.v[1].server->name, "b");
    assert_int_equal(p.v[1].weight, 20);
    assert_int_equal(p.v[2].kind, RUNTIME_REMOVE);
    assert_string_equal(p.v[2].server->name, "a");
    runtime_plan_clear(&p);
}

static void removing_everything_is_a_runtime_change(void **state)
{
    (void)state;
    struct render_server_list prev = LIST(a1), next = {NULL, 0};
    struct runtime_plan p;
    assert_int_equal(runtime_plan_make(&prev, NULL, &next, &p), 0);
    assert_false(p.needs_reload);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.v[0].kind, RUNTIME_REMOVE);
    assert_int_equal(p.v[1].kind, RUNTIME_REMOVE);
    runtime_plan_clear(&p);
}

static void changed_address_or_options_need_a_reload(void **state)
{
    (void)state;
    struct render_server moved[] = {SRV("a", "127.0.0.9", 80, BACKEND_WEIGHT_UNSET, NULL),
                                    SRV("b", "127.0.0.3", 80, 10, NULL)};
    struct render_server opts[] = {SRV("a", "127.0.0.2", 80, BACKEND_WEIGHT_UNSET, "check"),
                                   SRV("b", "127.0.0.3", 80, 10, NULL)};
    struct render_server_list prev = LIST(a1), n1 = LIST(moved), n2 = LIST(opts);
    struct runtime_plan p;
    assert_int_equal(runtime_plan_make(&prev, NULL, &n1, &p), 0);
    assert_true(p.needs_reload);
    assert_int_equal(p.n, 0);
    assert_non_null(strstr(p.reason, "server a changed"));
    runtime_plan_clear(&p);
    assert_int_equal(runtime_plan_make(&prev, NULL, &n2, &p), 0);
    assert_true(p.needs_reload);
    runtime_plan_clear(&p);
}

static void refused_keywords_need_a_reload(void **state)
{
    (void)state;
    struct render_server nv[] = {SRV("a", "127.0.0.2", 80, BACKEND_WEIGHT_UNSET, NULL),
                                 SRV("b", "127.0.0.3", 80, 10, NULL),
                                 SRV("c", "127.0.0.4", 80, 1, "cookie c1")};
    struct render_server_list prev = LIST(a1), next = LIST(nv);
    struct runtime_plan p;
    assert_int_equal(runtime_plan_make(&prev, NULL, &next, &p), 0);
    assert_true(p.needs_reload);
    assert_non_null(strstr(p.reason, "\"cookie\""));
    runtime_plan_clear(&p);
    assert_string_equal(runtime_options_refused("check disabled"), "disabled");
    assert_null(runtime_options_refused("check inter 2s weight 5 maxconn 10"));
    assert_null(runtime_options_refused(NULL));
}

static void a_draining_server_that_returns_is_revived(void **state)
{
    (void)state;
    struct render_server prev_v[] = {SRV("b", "127.0.0.3", 80, 10, NULL)};
    struct render_server drain_v[] = {SRV("a", "127.0.0.2", 80, BACKEND_WEIGHT_UNSET, NULL)};
    struct render_server back_elsewhere[] = {SRV("a", "127.0.0.2", 81, BACKEND_WEIGHT_UNSET, NULL),
                                             SRV("b", "127.0.0.3", 80, 10, NULL)};
    struct render_server_list prev = LIST(prev_v), draining = LIST(drain_v), next = LIST(a1),
                              other = LIST(back_elsewhere);
    struct runtime_plan p;
    assert_int_equal(runtime_plan_make(&prev, &draining, &next, &p), 0);
    assert_false(p.needs_reload);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].kind, RUNTIME_REVIVE);
    assert_string_equal(p.v[0].server->name, "a");
    assert_int_equal(p.v[0].weight, 1);
    runtime_plan_clear(&p);
    assert_int_equal(runtime_plan_make(&prev, &draining, &other, &p), 0);
    assert_true(p.needs_reload);
    runtime_plan_clear(&p);
}

static void effective_weight_follows_the_last_weight_keyword(void **state)
{
    (void)state;
    struct render_server s = SRV("a", "127.0.0.2", 80, BACKEND_WEIGHT_UNSET, NULL);
    assert_int_equal(runtime_effective_weight(&s), 1);
    s.options = "check weight 30 inter 1s";
    assert_int_equal(runtime_effective_weight(&s), 30);
    /* A Nerve weight (use_nerve_weights) is written last: it wins, as in Synapse. */
    s.weight = 7;
    assert_int_equal(runtime_effective_weight(&s), 7);
    struct render_server pv[] = {SRV("a", "127.0.0.2", 80, 7, "weight 30")};
    struct render_server nv[] = {SRV("a", "127.0.0.2", 80, 9, "weight 30")};
    struct render_server_list prev = LIST(pv), next = LIST(nv);
    struct runtime_plan p;
    assert_int_equal(runtime_plan_make(&prev, NULL, &next, &p), 0);
    assert_false(p.needs_reload);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].kind, RUNTIME_WEIGHT);
    assert_int_equal(p.v[0].weight, 9);
    runtime_plan_clear(&p);
}

/* Issue 14: a server's id is part of it; HAProxy cannot change one in place. */
static void ids_are_part_of_a_server(void **state)
{
    (void)state;
    struct render_server pv[] = {SRV("a", "127.0.0.2", 80, BACKEND_WEIGHT_UNSET, NULL)};
    struct render_server nv[] = {SRV("a", "127.0.0.2", 80, BACKEND_WEIGHT_UNSET, NULL)};
    pv[0].id = 1;
    nv[0].id = 2;
    struct render_server_list prev = LIST(pv), next = LIST(nv), none = {NULL, 0};
    struct runtime_plan p;
    assert_int_equal(runtime_plan_make(&prev, NULL, &next, &p), 0);
    assert_true(p.needs_reload);
    assert_string_equal(p.reason, "server a changed its address, id or options");
    runtime_plan_clear(&p);
    /* Coming back while it drains, under another id: a reload too. */
    assert_int_equal(runtime_plan_make(&none, &prev, &next, &p), 0);
    assert_true(p.needs_reload);
    runtime_plan_clear(&p);
    nv[0].id = 1;
    assert_int_equal(runtime_plan_make(&none, &prev, &next, &p), 0);
    assert_false(p.needs_reload);
    assert_int_equal(p.v[0].kind, RUNTIME_REVIVE);
    runtime_plan_clear(&p);
    /* "add server" carries the id and the cookie as the server line does. */
    struct render_server s = SRV("w_127.0.0.2:80", "127.0.0.2", 80, 5, "check");
    s.id = 12;
    char *cmd = runtime_add_command("web", &s);
    assert_string_equal(cmd, "add server web/w_127.0.0.2:80 127.0.0.2:80 id 12 check weight 5");
    free(cmd);
    s.id_in_options = true; /* the registration's own "id 12" is in its options */
    s.options = "id 12 check";
    cmd = runtime_add_command("web", &s);
    assert_string_equal(cmd, "add server web/w_127.0.0.2:80 127.0.0.2:80 id 12 check weight 5");
    free(cmd);
}

static void add_command_is_the_server_line(void **state)
{
    (void)state;
    struct render_server s = SRV("127.0.0.2_18000_3f2a", "127.0.0.2", 18000, 5, "check inter 2s");
    char *cmd = runtime_add_command("web", &s);
    assert_string_equal(cmd, "add server web/127.0.0.2_18000_3f2a 127.0.0.2:18000 check inter "
                             "2s weight 5");
    free(cmd);
    struct render_server v6 = SRV("x", "::1", 80, BACKEND_WEIGHT_UNSET, NULL);
    cmd = runtime_add_command("be", &v6);
    assert_string_equal(cmd, "add server be/x [::1]:80");
    free(cmd);
    /* ';' separates commands on the admin socket: such a line is never sent. */
    struct render_server semi =
        SRV("y", "127.0.0.2", 80, BACKEND_WEIGHT_UNSET, "check;shutdown frontend web");
    assert_null(runtime_add_command("be", &semi));
    struct render_server esc = SRV("z", "127.0.0.2", 80, BACKEND_WEIGHT_UNSET, "check\\");
    assert_null(runtime_add_command("be", &esc));
    assert_true(runtime_options_have_check("inter 2s check"));
    assert_false(runtime_options_have_check("check-ssl agent-check"));
}

/* Adopting a running HAProxy: its "show servers state" must list exactly the
 * config's servers (recorded from HAProxy 2.6). */
static void servers_state_matches_only_the_same_servers(void **state)
{
    (void)state;
    const char *head = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
                       "srv_admin_state srv_uweight srv_iweight srv_time_since_last_change "
                       "srv_check_status srv_check_result srv_check_health srv_check_state "
                       "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port "
                       "srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
                       "srv_agent_port\n";
    const char *a = "3 web 1 a 127.0.0.2 2 0 1 1 10 6 3 4 6 0 0 0 - 80 - 0 0 - - 0\n";
    const char *b = "3 web 2 b 127.0.0.3 2 0 10 10 10 6 3 4 6 0 0 0 - 80 - 0 0 - - 0\n";
    const char *b5 = "3 web 2 b 127.0.0.3 2 0 5 5 10 6 3 4 6 0 0 0 - 80 - 0 0 - - 0\n";
    const char *c = "3 web 3 c 127.0.0.4 2 8 1 1 10 6 3 4 6 0 0 0 - 80 - 0 0 - - 0\n";
    const char *other = "4 api 1 a 127.0.0.9 2 0 1 1 10 6 3 4 6 0 0 0 - 81 - 0 0 - - 0\n";
    struct render_server_list servers = LIST(a1);
    char answer[4096], why[300];
    snprintf(answer, sizeof answer, "%s%s%s%s", head, a, other, b);
    assert_true(runtime_servers_state_match(answer, "web", &servers, why, sizeof why));
    snprintf(answer, sizeof answer, "%s%s%s%s", head, a, b, c); /* a leftover */
    assert_false(runtime_servers_state_match(answer, "web", &servers, why, sizeof why));
    assert_string_equal(why, "haproxy has server web/c that the config has not");
    snprintf(answer, sizeof answer, "%s%s", head, a); /* one missing */
    assert_false(runtime_servers_state_match(answer, "web", &servers, why, sizeof why));
    snprintf(answer, sizeof answer, "%s%s%s", head, a, b5); /* another weight */
    assert_false(runtime_servers_state_match(answer, "web", &servers, why, sizeof why));
    assert_string_equal(why, "haproxy has web/b at 127.0.0.3:80 weight 5, the config at "
                             "127.0.0.3:80 weight 10");
    /* Issue 14: the ids must match too, when the config has them. */
    struct render_server with_ids[] = {SRV("a", "127.0.0.2", 80, BACKEND_WEIGHT_UNSET, NULL),
                                       SRV("b", "127.0.0.3", 80, 10, NULL)};
    with_ids[0].id = 1;
    with_ids[1].id = 2;
    struct render_server_list ided = LIST(with_ids);
    snprintf(answer, sizeof answer, "%s%s%s", head, a, b);
    assert_true(runtime_servers_state_match(answer, "web", &ided, why, sizeof why));
    with_ids[1].id = 7;
    assert_false(runtime_servers_state_match(answer, "web", &ided, why, sizeof why));
    assert_string_equal(why, "haproxy has web/b with id 2, the config with id 7");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_lists_make_an_empty_plan),
        cmocka_unit_test(many_servers_one_more),
        cmocka_unit_test(adds_come_before_weights_and_removals),
        cmocka_unit_test(removing_everything_is_a_runtime_change),
        cmocka_unit_test(changed_address_or_options_need_a_reload),
        cmocka_unit_test(refused_keywords_need_a_reload),
        cmocka_unit_test(a_draining_server_that_returns_is_revived),
        cmocka_unit_test(effective_weight_follows_the_last_weight_keyword),
        cmocka_unit_test(add_command_is_the_server_line),
        cmocka_unit_test(ids_are_part_of_a_server),
        cmocka_unit_test(servers_state_matches_only_the_same_servers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
