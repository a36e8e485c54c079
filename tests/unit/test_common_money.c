/*  Unit tests of pm_money: exact decimal text <-> minor units. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pm_money.h"

#define MAX_MINOR 1000000000000000LL

static int64_t s_parse_ok(const char *text, int exponent)
{
    int64_t v = -1;
    const char *why = NULL;
    int rc = pm_money_parse(text, strlen(text), exponent, MAX_MINOR, &v, &why);
    assert_int_equal(rc, 0);
    assert_null(why);
    return v;
}

static const char *s_parse_fail(const char *text, int exponent)
{
    int64_t v = -1;
    const char *why = NULL;
    assert_int_equal(pm_money_parse(text, strlen(text), exponent, MAX_MINOR, &v, &why), -1);
    assert_non_null(why);
    assert_int_equal(v, -1);
    return why;
}

static void test_usd_one_ten_is_110_cents(void **state)
{
    (void)state;
    assert_int_equal(s_parse_ok("1.10", 2), 110);
    assert_int_equal(s_parse_ok("1.1", 2), 110);
    assert_int_equal(s_parse_ok("0.01", 2), 1);
    assert_int_equal(s_parse_ok("12", 2), 1200);
}

static void test_trailing_zeros_past_exponent_are_exact(void **state)
{
    (void)state;
    assert_int_equal(s_parse_ok("1.100", 2), 110);
    assert_int_equal(s_parse_ok("1000.0", 0), 1000);
    assert_int_equal(s_parse_ok("1.0", 8), 100000000);
    assert_int_equal(s_parse_ok("0.00000001", 8), 1);
}

static void test_more_significant_decimals_than_currency_rejected(void **state)
{
    (void)state;
    assert_string_equal(s_parse_fail("1.001", 2),
                        "has more decimal places than the currency allows");
    s_parse_fail("0.5", 0);
    s_parse_fail("0.000000001", 8);
}

static void test_zero_negative_and_malformed_rejected(void **state)
{
    (void)state;
    assert_string_equal(s_parse_fail("0", 2), "must be greater than zero");
    assert_string_equal(s_parse_fail("0.00", 2), "must be greater than zero");
    assert_string_equal(s_parse_fail("-1", 2), "must be positive");
    s_parse_fail("", 2);
    s_parse_fail("1e2", 2);
    s_parse_fail("1E2", 2);
    s_parse_fail("+1", 2);
    s_parse_fail(" 1", 2);
    s_parse_fail("1 ", 2);
    s_parse_fail(".5", 2);
    s_parse_fail("5.", 2);
    s_parse_fail("1.2.3", 2);
    s_parse_fail("abc", 2);
    s_parse_fail("0x10", 2);
    s_parse_fail("NaN", 2);
    assert_string_equal(s_parse_fail("012.50", 2), "must not have leading zeros");
    s_parse_fail("00.5", 2);
    assert_int_equal(s_parse_ok("0.5", 2), 50);
}

static void test_above_maximum_and_overflow_rejected(void **state)
{
    (void)state;
    assert_int_equal(s_parse_ok("10000000000000", 2), MAX_MINOR);
    assert_string_equal(s_parse_fail("10000000000000.01", 2), "is above the maximum allowed");
    s_parse_fail("99999999999999999999999999", 0);
    s_parse_fail("92233720368547758.08", 2);
}

static void test_text_is_not_nul_terminated(void **state)
{
    (void)state;
    int64_t v = 0;
    const char *why = NULL;
    /* Only the first four bytes are the amount: "1.10" of "1.1099". */
    assert_int_equal(pm_money_parse("1.1099", 4, 2, MAX_MINOR, &v, &why), 0);
    assert_int_equal(v, 110);
}

static void test_format_writes_exactly_exponent_digits(void **state)
{
    (void)state;
    char buf[40];
    assert_int_equal(pm_money_format(110, 2, buf, sizeof buf), 4);
    assert_string_equal(buf, "1.10");
    pm_money_format(1, 2, buf, sizeof buf);
    assert_string_equal(buf, "0.01");
    pm_money_format(1000, 0, buf, sizeof buf);
    assert_string_equal(buf, "1000");
    pm_money_format(100000000, 8, buf, sizeof buf);
    assert_string_equal(buf, "1.00000000");
    pm_money_format(1, 8, buf, sizeof buf);
    assert_string_equal(buf, "0.00000001");
    pm_money_format(INT64_MAX, 2, buf, sizeof buf);
    assert_string_equal(buf, "92233720368547758.07");
    assert_int_equal(pm_money_format(110, 2, buf, 4), -1);
}

static void test_format_then_parse_round_trips(void **state)
{
    (void)state;
    const int64_t values[] = {1, 9, 10, 99, 100, 101, 123456789, 1000000000000000};
    for (int e = 0; e <= 8; e++)
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            char buf[40];
            int n = pm_money_format(values[i], e, buf, sizeof buf);
            assert_true(n > 0);
            int64_t back = 0;
            const char *why = NULL;
            assert_int_equal(pm_money_parse(buf, (size_t)n, e, MAX_MINOR, &back, &why), 0);
            assert_int_equal(back, values[i]);
        }
}

static void test_currency_table(void **state)
{
    (void)state;
    assert_int_equal(pm_currency_find("IRR", 3)->exponent, 0);
    assert_int_equal(pm_currency_find("TMT", 3)->exponent, 2);
    assert_int_equal(pm_currency_find("USD", 3)->exponent, 2);
    assert_int_equal(pm_currency_find("BTC", 3)->exponent, 8);
    assert_null(pm_currency_find("usd", 3));
    assert_null(pm_currency_find("XXX", 3));
    assert_null(pm_currency_find("USDT", 4));
    assert_null(pm_currency_find("US", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usd_one_ten_is_110_cents),
        cmocka_unit_test(test_trailing_zeros_past_exponent_are_exact),
        cmocka_unit_test(test_more_significant_decimals_than_currency_rejected),
        cmocka_unit_test(test_zero_negative_and_malformed_rejected),
        cmocka_unit_test(test_above_maximum_and_overflow_rejected),
        cmocka_unit_test(test_text_is_not_nul_terminated),
        cmocka_unit_test(test_format_writes_exactly_exponent_digits),
        cmocka_unit_test(test_format_then_parse_round_trips),
        cmocka_unit_test(test_currency_table),
    };
    return cmocka_run_group_tests_name("common_money", tests, NULL, NULL);
}
