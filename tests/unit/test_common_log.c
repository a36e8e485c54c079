/*  Unit tests of pm_log: one JSON object per line (or text), the thread's
 *  trace id, escaping, cutting and UTF-8 repair. stderr goes to a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "pm_log.h"

static char s_path[] = "/tmp/test_common_log.XXXXXX";
static int s_saved = -1;

static int s_setup(void **state)
{
    (void)state;
    int fd = mkstemp(s_path);
    assert_true(fd >= 0);
    s_saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    close(fd);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    dup2(s_saved, STDERR_FILENO);
    close(s_saved);
    unlink(s_path);
    return 0;
}

/* Everything logged since the last call, as one string (caller frees). */
static char *s_take(void)
{
    FILE *f = fopen(s_path, "r");
    assert_non_null(f);
    static long done;
    fseek(f, 0, SEEK_END);
    long end = ftell(f);
    fseek(f, done, SEEK_SET);
    char *out = calloc(1, (size_t)(end - done) + 1);
    assert_non_null(out);
    assert_int_equal(fread(out, 1, (size_t)(end - done), f), (size_t)(end - done));
    done = end;
    fclose(f);
    return out;
}

/* The one line logged since the last call, parsed (caller puts). */
static json_object *s_one(void)
{
    char *text = s_take();
    size_t n = strlen(text);
    assert_true(n > 0 && text[n - 1] == '\n');
    assert_null(memchr(text, '\n', n - 1)); /* exactly one line */
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    free(text);
    return o;
}

static const char *s_str(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    assert_true(json_object_is_type(v, json_type_string));
    return json_object_get_string(v);
}

static void test_json_fields(void **state)
{
    (void)state;
    pm_log_format_set(PM_LOG_FORMAT_JSON);
    pm_log_init("test-daemon", PM_LOG_INFO);
    pm_info("test-daemon listening on http://%s:%d", "127.0.0.1", 80);
    json_object *o = s_one();
    assert_string_equal(s_str(o, "daemon"), "test-daemon");
    assert_string_equal(s_str(o, "level"), "info");
    assert_string_equal(s_str(o, "msg"), "test-daemon listening on http://127.0.0.1:80");
    assert_null(s_str(o, "trace"));
    const char *ts = s_str(o, "ts");
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[23], 'Z');
    json_object *pid = NULL;
    assert_true(json_object_object_get_ex(o, "pid", &pid));
    assert_int_equal(json_object_get_int(pid), (int)getpid());
    json_object_put(o);
    /* Below the level: nothing. */
    pm_debug("not shown");
    char *rest = s_take();
    assert_string_equal(rest, "");
    free(rest);
}

static void test_slashes_stay(void **state)
{
    (void)state;
    pm_log_format_set(PM_LOG_FORMAT_JSON);
    pm_info("a http://x/y path");
    char *text = s_take();
    assert_non_null(strstr(text, "http://x/y")); /* greppable as it was */
    free(text);
}

static void test_escapes(void **state)
{
    (void)state;
    pm_log_format_set(PM_LOG_FORMAT_JSON);
    pm_warn("quote \" backslash \\ newline \n tab \t end");
    json_object *o = s_one();
    assert_string_equal(s_str(o, "msg"), "quote \" backslash \\ newline \n tab \t end");
    assert_string_equal(s_str(o, "level"), "warn");
    json_object_put(o);
    /* Bytes that are not UTF-8 become '?'; valid UTF-8 stays. */
    pm_info("bad \xff\xc3 good \xc3\xa9 cut \xe2\x82");
    o = s_one();
    assert_string_equal(s_str(o, "msg"), "bad ?? good \xc3\xa9 cut ??");
    json_object_put(o);
}

static void test_long_message_cut(void **state)
{
    (void)state;
    pm_log_format_set(PM_LOG_FORMAT_JSON);
    char big[3 * PM_LOG_MSG_MAX];
    memset(big, '"', sizeof big - 1); /* each escaped: the longest line */
    big[sizeof big - 1] = '\0';
    pm_error("%s", big);
    json_object *o = s_one();
    assert_int_equal(strlen(s_str(o, "msg")), PM_LOG_MSG_MAX);
    json_object_put(o);
    /* A multi-byte character cut in two is repaired, still one line. */
    memset(big, 'a', PM_LOG_MSG_MAX - 1);
    strcpy(big + PM_LOG_MSG_MAX - 1, "\xc3\xa9\xc3\xa9");
    pm_error("%s", big);
    o = s_one();
    const char *msg = s_str(o, "msg");
    assert_int_equal(msg[PM_LOG_MSG_MAX - 1], '?');
    json_object_put(o);
}

static void test_trace(void **state)
{
    (void)state;
    pm_log_format_set(PM_LOG_FORMAT_JSON);
    assert_string_equal(pm_log_trace(), "");
    pm_log_trace_set("3f2a-trace");
    assert_string_equal(pm_log_trace(), "3f2a-trace");
    pm_info("during the request");
    json_object *o = s_one();
    assert_string_equal(s_str(o, "trace"), "3f2a-trace");
    json_object_put(o);
    pm_log_trace_set(NULL);
    pm_info("after it");
    o = s_one();
    assert_null(s_str(o, "trace"));
    json_object_put(o);
    /* Cut at PM_LOG_TRACE_MAX bytes. */
    char longer[PM_LOG_TRACE_MAX + 20];
    memset(longer, 't', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    pm_log_trace_set(longer);
    assert_int_equal(strlen(pm_log_trace()), PM_LOG_TRACE_MAX);
    pm_log_trace_set("");
    assert_string_equal(pm_log_trace(), "");
}

static void test_text_format(void **state)
{
    (void)state;
    pm_log_format_set(PM_LOG_FORMAT_TEXT);
    pm_log_trace_set("tr-1");
    pm_warn("two\nlines");
    pm_log_trace_set(NULL);
    char *text = s_take();
    char want[128];
    snprintf(want, sizeof want, " test-daemon[%d] warn: two lines [trace tr-1]\n", (int)getpid());
    assert_int_equal(strlen(text), 24 + strlen(want));
    assert_string_equal(text + 24, want);
    free(text);
    pm_log_format_set(PM_LOG_FORMAT_JSON);
}

static void test_parse(void **state)
{
    (void)state;
    assert_int_equal(pm_log_format_parse("json"), PM_LOG_FORMAT_JSON);
    assert_int_equal(pm_log_format_parse("text"), PM_LOG_FORMAT_TEXT);
    assert_int_equal(pm_log_format_parse("JSON"), -1);
    assert_int_equal(pm_log_format_parse(""), -1);
    assert_int_equal(pm_log_level_parse("debug"), PM_LOG_DEBUG);
    assert_int_equal(pm_log_level_parse("loud"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_fields), cmocka_unit_test(test_slashes_stay),
        cmocka_unit_test(test_escapes),     cmocka_unit_test(test_long_message_cut),
        cmocka_unit_test(test_trace),       cmocka_unit_test(test_text_format),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
