/*  Unit tests of sb_index: records found by token across the array's
 *  growth, a reserved record reused until committed, the bound, and records
 *  kept in order of creation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../sandbox/sb_index.h"

typedef struct {
    int value;
    char token[16];
} s_rec_t;

static sb_index_t *s_index(size_t max)
{
    sb_index_t *ix = sb_index_new(sizeof(s_rec_t), offsetof(s_rec_t, token), max);
    assert_non_null(ix);
    return ix;
}

static void s_add(sb_index_t *ix, int value)
{
    s_rec_t *r = sb_index_reserve(ix);
    assert_non_null(r);
    assert_int_equal(r->value, 0); /* zeroed */
    r->value = value;
    snprintf(r->token, sizeof r->token, "t%d", value);
    sb_index_commit(ix);
}

static void test_found_by_token_across_growth(void **state)
{
    (void)state;
    sb_index_t *ix = s_index(5000); /* several doublings, chains in 8192 buckets */
    for (int i = 1; i <= 5000; i++)
        s_add(ix, i);
    assert_int_equal(sb_index_count(ix), 5000);
    for (int i = 1; i <= 5000; i++) {
        char token[16];
        snprintf(token, sizeof token, "t%d", i);
        s_rec_t *r = sb_index_find(ix, token);
        assert_non_null(r);
        assert_int_equal(r->value, i);
        assert_ptr_equal(sb_index_at(ix, (size_t)i - 1), r); /* order of creation */
    }
    assert_null(sb_index_find(ix, "t0"));
    assert_null(sb_index_find(ix, ""));
    sb_index_destroy(&ix);
    assert_null(ix);
    sb_index_destroy(&ix); /* safe twice */
}

static void test_reserved_is_reused_until_committed(void **state)
{
    (void)state;
    sb_index_t *ix = s_index(4);
    s_rec_t *r = sb_index_reserve(ix);
    assert_non_null(r);
    snprintf(r->token, sizeof r->token, "abandoned");
    assert_null(sb_index_find(ix, "abandoned")); /* not committed: not there */
    assert_int_equal(sb_index_count(ix), 0);
    s_rec_t *again = sb_index_reserve(ix);
    assert_ptr_equal(again, r);
    assert_string_equal(again->token, ""); /* zeroed again */
    sb_index_destroy(&ix);
}

static void test_bounded(void **state)
{
    (void)state;
    sb_index_t *ix = s_index(3);
    for (int i = 1; i <= 3; i++)
        s_add(ix, i);
    assert_null(sb_index_reserve(ix));
    assert_int_equal(sb_index_count(ix), 3);
    assert_non_null(sb_index_find(ix, "t3"));
    sb_index_destroy(&ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found_by_token_across_growth),
        cmocka_unit_test(test_reserved_is_reused_until_committed),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
