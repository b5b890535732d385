#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "selection.h"
#include "syn_config.h"

/* A config with one zookeeper service "web"; extra is spliced into the
 * service object, filters into its discovery object. */
static struct syn_config *config(const char *filters, const char *extra)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{'services':{'web':{'discovery':{'method':'zookeeper',"
             "'hosts':['127.0.0.1:2181'],'path':'/services/web'%s%s},"
             "'haproxy':{'port':3213}%s%s}}}",
             filters ? ",'label_filters':" : "", filters ? filters : "", extra ? "," : "",
             extra ? extra : "");
    char *json = dq(buf), err[512] = "";
    struct syn_config *cfg = NULL;
    if (syn_config_parse(json, &cfg, err, sizeof err) != 0) fail_msg("config: %s\n%s", err, json);
    free(json);
    assert_non_null(cfg);
    assert_non_null(syn_config_service(cfg, "web"));
    return cfg;
}

static const struct syn_service *web(const struct syn_config *cfg)
{
    return syn_config_service(cfg, "web");
}

/* Pushes a backend decoded from single-quoted Nerve JSON. */
static void add(struct backend_list *l, const char *sq)
{
    char *json = dq(sq), err[256] = "";
    struct backend b;
    if (backend_decode_nerve(json, strlen(json), &b, err, sizeof err) != 0)
        fail_msg("backend: %s", err);
    free(json);
    assert_int_equal(backend_list_push(l, &b), 0);
}

static struct backend one(const char *sq)
{
    char *json = dq(sq), err[256] = "";
    struct backend b;
    if (backend_decode_nerve(json, strlen(json), &b, err, sizeof err) != 0)
        fail_msg("backend: %s", err);
    free(json);
    return b;
}

#define AZ_EQ "[{'label':'az','value':'us-east-1a','condition':'equals'}]"
#define AZ_NE "[{'label':'az','value':'us-east-1a','condition':'not-equals'}]"

/* udp registrations stay out unless the service asks for them by label. */
static void udp_only_when_asked(void **state)
{
    (void)state;
    struct syn_config *plain = config(NULL, NULL);
    struct syn_config *udp =
        config("[{'label':'protocol','value':'udp','condition':'equals'}]", NULL);
    struct backend b = one("{'host':'h','port':53,'labels':{'protocol':'udp','tags':'udp'}}");
    assert_false(selection_labels_match(&web(plain)->discovery, &b));
    assert_true(selection_labels_match(&web(udp)->discovery, &b));
    backend_clear(&b);
    b = one("{'host':'h','port':53,'labels':{'protocol':'tcp'}}");
    assert_true(selection_labels_match(&web(plain)->discovery, &b));
    assert_false(selection_labels_match(&web(udp)->discovery, &b));
    backend_clear(&b);
    syn_config_free(plain);
    syn_config_free(udp);
}

static void labels_equals_needs_presence(void **state)
{
    (void)state;
    struct syn_config *cfg = config(AZ_EQ, NULL);
    const struct syn_discovery *d = &web(cfg)->discovery;
    assert_int_equal(d->nlabel_filters, 1);

    struct backend b = one("{'host':'h','port':1,'labels':{'az':'us-east-1a'}}");
    assert_true(selection_labels_match(d, &b));
    backend_clear(&b);
    b = one("{'host':'h','port':1,'labels':{'az':'us-east-1b'}}");
    assert_false(selection_labels_match(d, &b));
    backend_clear(&b);
    b = one("{'host':'h','port':1}");
    assert_false(selection_labels_match(d, &b)); /* absent is not equal */
    backend_clear(&b);
    b = one("{'host':'h','port':1,'labels':{'az':''}}");
    assert_false(selection_labels_match(d, &b));
    backend_clear(&b);
    b = one("{'host':'h','port':1,'labels':{'AZ':'us-east-1a'}}");
    assert_false(selection_labels_match(d, &b)); /* keys are case-sensitive */
    backend_clear(&b);
    b = one("{'host':'h','port':1,'labels':{'az':'us-east-1a '}}");
    assert_false(selection_labels_match(d, &b)); /* no prefix matching */
    backend_clear(&b);
    b = one("{'host':'h','port':1,'labels':{'az':'us-east-1'}}");
    assert_false(selection_labels_match(d, &b));
    backend_clear(&b);
    syn_config_free(cfg);
}

static void labels_not_equals_passes_when_absent(void **state)
{
    (void)state;
    struct syn_config *cfg = config(AZ_NE, NULL);
    const struct syn_discovery *d = &web(cfg)->discovery;
    assert_int_equal(d->nlabel_filters, 1);

    struct backend b = one("{'host':'h','port':1,'labels':{'az':'us-east-1a'}}");
    assert_false(selection_labels_match(d, &b));
    backend_clear(&b);
    b = one("{'host':'h','port':1,'labels':{'az':'us-east-1b'}}");
    assert_true(selection_labels_match(d, &b));
    backend_clear(&b);
    b = one("{'host':'h','port':1}");
    assert_true(selection_labels_match(d, &b));
    backend_clear(&b);
    syn_config_free(cfg);
}

static void labels_all_filters_must_pass(void **state)
{
    (void)state;
    struct syn_config *cfg = config("[{'label':'region','value':'us-east-1','condition':'equals'},"
                                    "{'label':'az','value':'us-east-1c','condition':'not-equals'}]",
                                    NULL);
    const struct syn_discovery *d = &web(cfg)->discovery;
    assert_int_equal(d->nlabel_filters, 2);
    struct backend b =
        one("{'host':'h','port':1,'labels':{'region':'us-east-1','az':'us-east-1a'}}");
    assert_true(selection_labels_match(d, &b));
    backend_clear(&b);
    b = one("{'host':'h','port':1,'labels':{'region':'us-east-1','az':'us-east-1c'}}");
    assert_false(selection_labels_match(d, &b));
    backend_clear(&b);
    b = one("{'host':'h','port':1,'labels':{'region':'eu-west-1','az':'us-east-1a'}}");
    assert_false(selection_labels_match(d, &b));
    backend_clear(&b);
    b = one("{'host':'h','port':1,'labels':{'az':'us-east-1a'}}");
    assert_false(selection_labels_match(d, &b));
    backend_clear(&b);
    syn_config_free(cfg);

    /* no filters: everything passes */
    cfg = config(NULL, NULL);
    assert_int_equal(web(cfg)->discovery.nlabel_filters, 0);
    b = one("{'host':'h','port':1,'labels':{'az':'x'}}");
    assert_true(selection_labels_match(&web(cfg)->discovery, &b));
    backend_clear(&b);
    syn_config_free(cfg);

    /* the deprecated singular label_filter counts too */
    char *json = dq("{'services':{'web':{'discovery':{'method':'zookeeper',"
                    "'hosts':['127.0.0.1:2181'],'path':'/services/web','label_filter':"
                    "{'label':'az','value':'a','condition':'equals'}},'haproxy':{'port':1}}}}");
    char err[512] = "";
    assert_int_equal(syn_config_parse(json, &cfg, err, sizeof err), 0);
    free(json);
    b = one("{'host':'h','port':1,'labels':{'az':'b'}}");
    assert_false(selection_labels_match(&web(cfg)->discovery, &b));
    backend_clear(&b);
    syn_config_free(cfg);
}

static void apply_updated_filtered_sorted_unique(void **state)
{
    (void)state;
    struct syn_config *cfg = config(AZ_EQ, NULL);
    struct backend_list found = {0}, current = {0};
    add(&found, "{'host':'127.0.10.3','port':80,'name':'c','labels':{'az':'us-east-1a'}}");
    add(&found, "{'host':'127.0.10.9','port':80,'name':'x','labels':{'az':'us-east-1b'}}");
    add(&found, "{'host':'127.0.10.1','port':80,'name':'a','labels':{'az':'us-east-1a'}}");
    add(&found, "{'host':'127.0.10.8','port':80,'name':'y'}");
    /* the same address again under a later name: dropped */
    add(&found, "{'host':'127.0.10.1','port':80,'name':'b','labels':{'az':'us-east-1a'}}");
    struct selection_notes notes = {.filtered_out = 99};
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, &notes),
                     SELECTION_UPDATED);
    assert_int_equal(notes.filtered_out, 2); /* label_filters only; duplicates are not "filtered" */
    assert_int_equal(found.n, 0);            /* consumed */
    assert_null(found.v);
    assert_int_equal(current.n, 2);
    assert_string_equal(current.v[0].name, "a");
    assert_string_equal(current.v[0].host, "127.0.10.1");
    assert_string_equal(current.v[1].name, "c");

    /* the same set, in another order and with a duplicate: unchanged, the
     * same servers (the array is the fresh one: it carries the provenance) */
    add(&found, "{'host':'127.0.10.1','port':80,'name':'zz','labels':{'az':'us-east-1a'}}");
    add(&found, "{'host':'127.0.10.3','port':80,'name':'c','labels':{'az':'us-east-1a'}}");
    add(&found, "{'host':'127.0.10.1','port':80,'name':'a','labels':{'az':'us-east-1a'}}");
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, NULL),
                     SELECTION_UNCHANGED);
    assert_int_equal(found.n, 0);
    assert_int_equal(current.n, 2);
    assert_string_equal(current.v[0].name, "a");
    assert_string_equal(current.v[1].name, "c");

    /* a changed weight is an update */
    add(&found,
        "{'host':'127.0.10.3','port':80,'name':'c','weight':5,'labels':{'az':'us-east-1a'}}");
    add(&found, "{'host':'127.0.10.1','port':80,'name':'a','labels':{'az':'us-east-1a'}}");
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, &notes),
                     SELECTION_UPDATED);
    assert_int_equal(notes.filtered_out, 0);
    assert_int_equal(current.n, 2);
    assert_int_equal(current.v[1].weight, 5);

    /* one fewer backend is an update */
    add(&found, "{'host':'127.0.10.1','port':80,'name':'a','labels':{'az':'us-east-1a'}}");
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, &notes),
                     SELECTION_UPDATED);
    assert_int_equal(current.n, 1);

    backend_list_clear(&current);
    backend_list_clear(&notes.conflicts);
    syn_config_free(cfg);
}

static void apply_empty_keeps_previous(void **state)
{
    (void)state;
    struct syn_config *cfg = config(NULL, NULL);
    assert_true(web(cfg)->use_previous_backends); /* Synapse's default */
    struct backend_list found = {0}, current = {0};
    add(&current, "{'host':'127.0.10.1','port':80}");
    struct selection_notes notes = {.filtered_out = 99};
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, &notes),
                     SELECTION_KEPT_PREVIOUS);
    assert_int_equal(notes.filtered_out, 0);
    assert_int_equal(current.n, 1);
    assert_string_equal(current.v[0].host, "127.0.10.1");

    /* nothing before and nothing now: unchanged, not "kept" */
    backend_list_clear(&current);
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, NULL),
                     SELECTION_UNCHANGED);
    assert_int_equal(current.n, 0);
    syn_config_free(cfg);
}

/* A watcher restarted from its state file holds backends with no source;
 * discovery then finds the same servers under their znodes. Nothing changes
 * in HAProxy, but status must name the znode (t1504 saw "default_servers"). */
static void apply_unchanged_takes_the_found_source(void **state)
{
    (void)state;
    struct syn_config *cfg = config(NULL, NULL);
    struct backend_list found = {0}, current = {0};
    add(&current, "{'host':'127.0.10.1','port':80,'name':'a'}");
    assert_null(current.v[0].source);
    struct backend b = one("{'host':'127.0.10.1','port':80,'name':'a'}");
    b.source = strdup("a_0000000007");
    b.created = 42;
    assert_int_equal(backend_list_push(&found, &b), 0);
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, NULL),
                     SELECTION_UNCHANGED);
    assert_int_equal(current.n, 1);
    assert_non_null(current.v[0].source);
    assert_string_equal(current.v[0].source, "a_0000000007");
    assert_int_equal(current.v[0].created, 42);
    assert_int_equal(found.n, 0);
    backend_list_clear(&current);
    syn_config_free(cfg);
}

static void apply_empty_without_use_previous_empties(void **state)
{
    (void)state;
    struct syn_config *cfg = config(NULL, "'use_previous_backends':false");
    assert_false(web(cfg)->use_previous_backends);
    struct backend_list found = {0}, current = {0};
    add(&current, "{'host':'127.0.10.1','port':80}");
    add(&current, "{'host':'127.0.10.2','port':80}");
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, NULL),
                     SELECTION_UPDATED);
    assert_int_equal(current.n, 0);
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, NULL),
                     SELECTION_UNCHANGED);
    assert_int_equal(current.n, 0);
    backend_list_clear(&current);
    syn_config_free(cfg);
}

/* Discovery found backends, but label_filters left none: that is not "discovery
 * found none", so the old set is not kept (Synapse filters after this decision). */
static void apply_all_filtered_out_is_an_update(void **state)
{
    (void)state;
    struct syn_config *cfg = config(AZ_EQ, NULL);
    assert_true(web(cfg)->use_previous_backends);
    struct backend_list found = {0}, current = {0};
    add(&found, "{'host':'127.0.10.1','port':80,'labels':{'az':'us-east-1a'}}");
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, NULL),
                     SELECTION_UPDATED);
    assert_int_equal(current.n, 1);

    /* the instance moved to another zone */
    add(&found, "{'host':'127.0.10.2','port':80,'labels':{'az':'us-east-1b'}}");
    struct selection_notes notes = {0};
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, &notes),
                     SELECTION_UPDATED);
    assert_int_equal(notes.filtered_out, 1);
    assert_int_equal(current.n, 0);
    backend_list_clear(&current);
    backend_list_clear(&notes.conflicts);
    syn_config_free(cfg);
}

/* Issue 11: a later registration of an address changes nothing of it, and
 * the conflict is handed back to be logged. */
static void apply_first_created_wins(void **state)
{
    (void)state;
    struct syn_config *cfg = config(NULL, NULL);
    struct backend_list found = {0}, current = {0};
    add(&found, "{'host':'127.0.10.1','port':80,'name':'real','weight':10}");
    found.v[0].created = 100;
    add(&found, "{'host':'127.0.10.1','port':80,'name':'-','weight':0,"
                "'haproxy_server_options':'backup'}");
    found.v[1].created = 200;
    struct selection_notes notes = {0};
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, &notes),
                     SELECTION_UPDATED);
    assert_int_equal(current.n, 1);
    assert_string_equal(current.v[0].name, "real");
    assert_int_equal(current.v[0].weight, 10);
    assert_null(current.v[0].haproxy_server_options);
    assert_int_equal(notes.conflicts.n, 1);
    assert_string_equal(notes.conflicts.v[0].name, "-");
    backend_list_clear(&notes.conflicts);

    /* the hostile one again, now alone with a lower name: still not the
     * real one's weight, and once the real one is gone it may serve */
    add(&found, "{'host':'127.0.10.1','port':80,'name':'-','weight':0}");
    found.v[0].created = 200;
    add(&found, "{'host':'127.0.10.1','port':80,'name':'real','weight':10}");
    found.v[1].created = 100;
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, &notes),
                     SELECTION_UNCHANGED);
    assert_int_equal(current.v[0].weight, 10);
    backend_list_clear(&notes.conflicts);
    backend_list_clear(&current);
    syn_config_free(cfg);
}

/* Issue 11: at most max_servers per service, the first created kept. */
static void apply_server_bound(void **state)
{
    (void)state;
    struct syn_config *cfg = config(NULL, NULL);
    assert_int_equal(cfg->haproxy.max_servers_per_service, 10000);
    struct backend_list found = {0}, current = {0};
    for (int i = 0; i < 10003; i++) {
        char json[128];
        snprintf(json, sizeof json, "{'host':'127.0.10.1','port':%d,'name':'n%05d'}", 1 + i,
                 10002 - i);
        add(&found, json);
        found.v[found.n - 1].created = 1000 + i;
    }
    struct selection_notes notes = {0};
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, &notes),
                     SELECTION_UPDATED);
    assert_int_equal(current.n, 10000);
    assert_int_equal(notes.over_limit, 3);
    for (size_t i = 0; i < current.n; i++) {
        assert_true(current.v[i].created < 1000 + 10000); /* the three last created went */
        if (i) assert_true(strcmp(current.v[i - 1].name, current.v[i].name) < 0);
    }
    backend_list_clear(&current);
    backend_list_clear(&notes.conflicts);
    syn_config_free(cfg);
}

/* Issue 11: options from a registry pass the allow-list; a refused one holds
 * no address. */
static void apply_refuses_options(void **state)
{
    (void)state;
    struct syn_config *cfg = config(NULL, NULL);
    struct backend_list found = {0}, current = {0};
    add(&found, "{'host':'127.0.10.1','port':80,'name':'evil','haproxy_server_options':'check "
                "addr 127.0.0.9'}");
    found.v[0].created = 1;
    add(&found, "{'host':'127.0.10.1','port':80,'name':'real','haproxy_server_options':'check'}");
    found.v[1].created = 2;
    add(&found, "{'host':'127.0.10.2','port':80,'haproxy_server_options':'check inter 2x'}");
    struct selection_notes notes = {0};
    assert_int_equal(selection_apply(web(cfg), NULL, 10000, &found, &current, &notes),
                     SELECTION_UPDATED);
    assert_int_equal(current.n, 1);
    assert_string_equal(current.v[0].name, "real");
    assert_int_equal(notes.refused.n, 2);
    assert_int_equal(notes.refused_why.n, 2);
    assert_string_equal(notes.refused.v[0].name, "evil");
    assert_non_null(strstr(notes.refused_why.v[0], "\"addr\""));
    assert_non_null(strstr(notes.refused_why.v[1], "\"2x\""));
    assert_int_equal(notes.conflicts.n, 0);
    backend_list_clear(&notes.refused);
    strlist_clear(&notes.refused_why);

    /* a policy of the config replaces the default list */
    const char *kw[] = {"addr"};
    char err[128];
    struct server_options_policy *p = server_options_policy_new(kw, 0, err, sizeof err);
    assert_non_null(p);
    add(&found, "{'host':'127.0.10.1','port':80,'haproxy_server_options':'check'}");
    assert_int_equal(selection_apply(web(cfg), p, 10000, &found, &current, &notes),
                     SELECTION_UPDATED);
    assert_int_equal(current.n, 0);
    assert_int_equal(notes.refused.n, 1);
    server_options_policy_free(p);
    backend_list_clear(&notes.refused);
    strlist_clear(&notes.refused_why);
    backend_list_clear(&current);
    syn_config_free(cfg);
}

/* Labels cut at decode are counted, for one log line per service. */
static void apply_counts_cut_labels(void **state)
{
    (void)state;
    struct syn_config *cfg = config(NULL, NULL);
    struct backend_list found = {0}, current = {0};
    add(&found, "{'host':'127.0.10.1','port':80}");
    found.v[0].over_limits = BACKEND_OVER_LABELS;
    add(&found, "{'host':'127.0.10.2','port':80}");
    struct selection_notes notes = {0};
    selection_apply(web(cfg), NULL, 10000, &found, &current, &notes);
    assert_int_equal(notes.labels_cut, 1);
    backend_list_clear(&current);
    syn_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(udp_only_when_asked),
        cmocka_unit_test(labels_equals_needs_presence),
        cmocka_unit_test(labels_not_equals_passes_when_absent),
        cmocka_unit_test(labels_all_filters_must_pass),
        cmocka_unit_test(apply_updated_filtered_sorted_unique),
        cmocka_unit_test(apply_empty_keeps_previous),
        cmocka_unit_test(apply_unchanged_takes_the_found_source),
        cmocka_unit_test(apply_empty_without_use_previous_empties),
        cmocka_unit_test(apply_all_filtered_out_is_an_update),
        cmocka_unit_test(apply_first_created_wins),
        cmocka_unit_test(apply_server_bound),
        cmocka_unit_test(apply_counts_cut_labels),
        cmocka_unit_test(apply_refuses_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
