/*  Unit tests of the sandbox's demo icons: which names are served, and
 *  that what is served is a PNG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../sandbox/sb_icon.h"

static void test_names_of_lowercase_digits_and_underscores(void **state)
{
    (void)state;
    assert_true(sb_icon_name_ok("coins_100.png"));
    assert_true(sb_icon_name_ok("a.png"));
    assert_true(sb_icon_name_ok("0.png"));
    char name[SB_ICON_NAME_MAX + 6];
    memset(name, 'x', SB_ICON_NAME_MAX);
    strcpy(name + SB_ICON_NAME_MAX, ".png");
    assert_true(sb_icon_name_ok(name));
    memset(name, 'x', SB_ICON_NAME_MAX + 1);
    strcpy(name + SB_ICON_NAME_MAX + 1, ".png");
    assert_false(sb_icon_name_ok(name));
    assert_false(sb_icon_name_ok(".png"));
    assert_false(sb_icon_name_ok("coins_100"));
    assert_false(sb_icon_name_ok("coins_100.PNG"));
    assert_false(sb_icon_name_ok("Coins.png"));
    assert_false(sb_icon_name_ok("coins-100.png"));
    assert_false(sb_icon_name_ok("coins.100.png"));
    assert_false(sb_icon_name_ok("coins.png.png"));
    assert_false(sb_icon_name_ok("coins.jpg"));
    assert_false(sb_icon_name_ok(""));
}

static void test_the_icon_is_a_png(void **state)
{
    (void)state;
    size_t len = 0;
    const unsigned char *png = sb_icon_png(&len);
    assert_true(len > 8 + 25 + 12);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(png + 12, "IHDR", 4);
    assert_memory_equal(png + len - 8, "IEND", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_of_lowercase_digits_and_underscores),
        cmocka_unit_test(test_the_icon_is_a_png),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
