/*  Unit tests of pm_config: defaults, environment, flags, ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pm_config.h"

enum { CFG_PORT, CFG_HOST, CFG__COUNT };

static void s_table(pm_setting_t *t)
{
    memset(t, 0, sizeof(pm_setting_t) * CFG__COUNT);
    t[CFG_PORT] = (pm_setting_t){"http-port", PM_CFG_INT, "8080", 1, 65535, "port", 0, NULL};
    t[CFG_HOST] = (pm_setting_t){"http-host", PM_CFG_STR, "127.0.0.1", 1, 16, "host", 0, NULL};
}

static int s_load(pm_setting_t *t, int argc, char **argv, int *rest)
{
    return pm_config_load(t, CFG__COUNT, argc, argv, "test", rest);
}

static void test_defaults_apply_without_flags_or_environment(void **state)
{
    (void)state;
    unsetenv("PAYMESH_HTTP_PORT");
    unsetenv("PAYMESH_HTTP_HOST");
    pm_setting_t t[CFG__COUNT];
    s_table(t);
    char *argv[] = {"prog", NULL};
    assert_int_equal(s_load(t, 1, argv, NULL), 0);
    assert_int_equal(t[CFG_PORT].ival, 8080);
    assert_string_equal(t[CFG_HOST].sval, "127.0.0.1");
}

static void test_flag_beats_environment_beats_default(void **state)
{
    (void)state;
    setenv("PAYMESH_HTTP_PORT", "9000", 1);
    pm_setting_t t[CFG__COUNT];
    s_table(t);
    char *argv1[] = {"prog", NULL};
    assert_int_equal(s_load(t, 1, argv1, NULL), 0);
    assert_int_equal(t[CFG_PORT].ival, 9000);
    char *argv2[] = {"prog", "--http-port=9100", NULL};
    assert_int_equal(s_load(t, 2, argv2, NULL), 0);
    assert_int_equal(t[CFG_PORT].ival, 9100);
    char *argv3[] = {"prog", "--http-port", "9200", NULL};
    assert_int_equal(s_load(t, 3, argv3, NULL), 0);
    assert_int_equal(t[CFG_PORT].ival, 9200);
    unsetenv("PAYMESH_HTTP_PORT");
}

static void test_out_of_range_and_garbage_refused(void **state)
{
    (void)state;
    pm_setting_t t[CFG__COUNT];
    s_table(t);
    char *a1[] = {"prog", "--http-port=0", NULL};
    assert_int_equal(s_load(t, 2, a1, NULL), -1);
    char *a2[] = {"prog", "--http-port=70000", NULL};
    assert_int_equal(s_load(t, 2, a2, NULL), -1);
    char *a3[] = {"prog", "--http-port=80x", NULL};
    assert_int_equal(s_load(t, 2, a3, NULL), -1);
    char *a4[] = {"prog", "--http-host=12345678901234567", NULL};
    assert_int_equal(s_load(t, 2, a4, NULL), -1);
    char *a5[] = {"prog", "--nope=1", NULL};
    assert_int_equal(s_load(t, 2, a5, NULL), -1);
    char *a6[] = {"prog", "--http-port", NULL};
    assert_int_equal(s_load(t, 2, a6, NULL), -1);
    setenv("PAYMESH_HTTP_PORT", "abc", 1);
    char *a7[] = {"prog", NULL};
    assert_int_equal(s_load(t, 1, a7, NULL), -1);
    unsetenv("PAYMESH_HTTP_PORT");
}

static void test_rest_stops_at_first_command_word(void **state)
{
    (void)state;
    pm_setting_t t[CFG__COUNT];
    s_table(t);
    char *argv[] = {"prog", "--http-port=81", "token", "create", "--principal", "x", NULL};
    int rest = 0;
    assert_int_equal(s_load(t, 6, argv, &rest), 0);
    assert_int_equal(rest, 2);
    assert_int_equal(t[CFG_PORT].ival, 81);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_apply_without_flags_or_environment),
        cmocka_unit_test(test_flag_beats_environment_beats_default),
        cmocka_unit_test(test_out_of_range_and_garbage_refused),
        cmocka_unit_test(test_rest_stops_at_first_command_word),
    };
    return cmocka_run_group_tests_name("common_config", tests, NULL, NULL);
}
