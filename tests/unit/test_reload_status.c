#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "reload_status.h"

static char *json_of(const struct reload_status *s)
{
    cJSON *o = cJSON_CreateObject();
    assert_int_equal(0, reload_status_to_json(s, o));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static void nothing_before_the_first(void **state)
{
    (void)state;
    struct reload_status s = {0};
    char *t = json_of(&s);
    assert_string_equal("{}", t);
    free(t);
}

/* The registrator's way: begun at the signal, applied after its resync. */
static void begun_then_applied(void **state)
{
    (void)state;
    struct reload_status s = {0};
    reload_status_begin(&s, 1796043600); /* 2026-11-30T13:00:00Z */
    char *t = json_of(&s);
    assert_string_equal(
        "{\"last_reload\":{\"outcome\":\"in progress\",\"at\":\"2026-11-30T13:00:00Z\","
        "\"reloads\":1}}",
        t);
    free(t);
    const struct reload_count c[] = {
        {"registered", 1}, {"withdrawn", 2}, {"updated", 0}, {"unchanged", 7}, {"dropped", 9}};
    reload_status_applied(&s, 1796043601, c, 5);
    t = json_of(&s);
    assert_string_equal("{\"last_reload\":{\"outcome\":\"applied\",\"at\":\"2026-11-30T13:00:01Z\","
                        "\"reloads\":1,\"counts\":{\"registered\":1,\"withdrawn\":2,\"updated\":0,"
                        "\"unchanged\":7}}}",
                        t);
    cJSON *o = cJSON_Parse(t);
    char line[256];
    reload_status_line(cJSON_GetObjectItem(o, "last_reload"), line, sizeof line);
    assert_string_equal("last SIGHUP 2026-11-30T13:00:01Z: applied: 1 registered, 2 withdrawn, 0 "
                        "updated, 7 unchanged",
                        line);
    cJSON_Delete(o);
    free(t);
}

static void refused_then_applied(void **state)
{
    (void)state;
    struct reload_status s = {0};
    reload_status_refused(&s, 1796043600,
                          "reg.json: services.web.container_port: expected an "
                          "integer 1..65535, got \"abc\"");
    char *t = json_of(&s);
    cJSON *o = cJSON_Parse(t);
    char line[256];
    reload_status_line(cJSON_GetObjectItem(o, "last_reload"), line, sizeof line);
    assert_string_equal("last SIGHUP 2026-11-30T13:00:00Z: refused: reg.json: "
                        "services.web.container_port: expected an integer 1..65535, got \"abc\"",
                        line);
    cJSON_Delete(o);
    free(t);
    const struct reload_count c[] = {{"kept", 3}};
    reload_status_applied(&s, 1796043660, c, 1);
    t = json_of(&s);
    assert_non_null(strstr(t, "\"reloads\":2,\"counts\":{\"kept\":3}"));
    assert_null(strstr(t, "error"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_before_the_first),
        cmocka_unit_test(begun_then_applied),
        cmocka_unit_test(refused_then_applied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
