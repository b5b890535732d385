#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void level_filter(void **state)
{
    (void)state;
    log_init("test", LL_WARN);
    assert_false(log_enabled(LL_INFO));
    assert_true(log_enabled(LL_ERROR));
    log_set_level(LL_DEBUG);
    assert_true(log_enabled(LL_DEBUG));
}

/* What one log call writes to stderr. */
static void capture(char *out, size_t len, enum log_level level, const char *msg)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    int saved = dup(STDERR_FILENO);
    dup2(p[1], STDERR_FILENO);
    log_msg(level, "%s", msg);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    ssize_t n = read(p[0], out, len - 1);
    out[n > 0 ? n : 0] = '\0';
    close(p[0]);
}

static void json_lines_have_stable_fields(void **state)
{
    (void)state;
    log_init("watcher", LL_INFO);
    log_set_format(LOG_FORMAT_JSON);
    char line[8192];
    capture(line, sizeof line, LL_WARN, "bad znode \"x\"\nsecond line");
    assert_non_null(strchr(line, '\n'));
    assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1); /* exactly one line */
    cJSON *o = cJSON_Parse(line);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "level")->valuestring, "warn");
    assert_string_equal(cJSON_GetObjectItem(o, "component")->valuestring, "watcher");
    assert_string_equal(cJSON_GetObjectItem(o, "msg")->valuestring, "bad znode \"x\" second line");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "pid")));
    const char *ts = cJSON_GetObjectItem(o, "ts")->valuestring;
    assert_int_equal(strlen(ts), strlen("2026-11-30T09:00:00.123Z"));
    cJSON_Delete(o);

    /* A message near the size limit is still one valid JSON object. */
    char big[5000];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    capture(line, sizeof line, LL_ERROR, big);
    o = cJSON_Parse(line);
    assert_non_null(o);
    cJSON_Delete(o);
    log_set_format(LOG_FORMAT_TEXT);
}

static void format_names(void **state)
{
    (void)state;
    enum log_format f = LOG_FORMAT_TEXT;
    assert_int_equal(log_format_parse("json", &f), 0);
    assert_int_equal(f, LOG_FORMAT_JSON);
    assert_int_equal(log_format_parse("text", &f), 0);
    assert_int_equal(f, LOG_FORMAT_TEXT);
    assert_int_equal(log_format_parse("JSON", &f), -1);
    assert_int_equal(log_format_parse(NULL, &f), -1);
}

static void secrets_never_reach_a_line(void **state)
{
    (void)state;
    log_init("registrator", LL_INFO);
    log_redact("s3cr3t-pass");
    log_redact("tok.en.value");
    log_redact("ab"); /* too short to redact: ordinary words would go */
    char line[8192];
    capture(line, sizeof line, LL_INFO,
            "auth with s3cr3t-pass failed; token tok.en.value refused; s3cr3t-pass again ab");
    assert_null(strstr(line, "s3cr3t-pass"));
    assert_null(strstr(line, "tok.en.value"));
    assert_non_null(strstr(line, "auth with *** failed; token *** refused; *** again ab"));
    log_set_format(LOG_FORMAT_JSON);
    capture(line, sizeof line, LL_ERROR, "password=s3cr3t-pass");
    assert_null(strstr(line, "s3cr3t-pass"));
    assert_non_null(strstr(line, "password=***"));
    log_set_format(LOG_FORMAT_TEXT);
}

static void colour_only_on_a_terminal_without_no_color(void **state)
{
    (void)state;
    assert_true(log_color_wanted(1, NULL, "xterm"));
    assert_false(log_color_wanted(0, NULL, "xterm"));
    assert_false(log_color_wanted(1, "1", "xterm"));
    assert_true(log_color_wanted(1, "", "xterm")); /* no-color.org: empty means unset */
    assert_false(log_color_wanted(1, NULL, "dumb"));
    /* stderr is a pipe here: plain text, no escape sequence */
    log_init("test", LL_INFO);
    char line[512];
    capture(line, sizeof line, LL_ERROR, "plain");
    assert_null(strchr(line, '\033'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(level_filter),
        cmocka_unit_test(json_lines_have_stable_fields),
        cmocka_unit_test(format_names),
        cmocka_unit_test(secrets_never_reach_a_line),
        cmocka_unit_test(colour_only_on_a_terminal_without_no_color),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
