/*  Unit tests of the sandbox's simulated Cafe Bazaar: purchase state
 *  transitions (validate, consume, refund), bounds, and access tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../sandbox/bazaar.h"
#include "pm_ids.h"

static sb_bazaar_t *s_store(size_t max_purchases)
{
    pm_ids_init();
    sb_bazaar_config_t cfg = {
        .client_id = "id",
        .client_secret = "secret",
        .refresh_token = "refresh",
        .pishkhan_secret = "pishkhan",
        .access_token_ttl_s = 60,
        .max_purchases = max_purchases,
    };
    sb_bazaar_t *bz = sb_bazaar_new(&cfg);
    assert_non_null(bz);
    return bz;
}

static void test_new_purchase_is_purchased_and_not_consumed(void **state)
{
    (void)state;
    sb_bazaar_t *bz = s_store(10);
    const sb_purchase_t *p = sb_bazaar_add(bz, "com.app", "coins_100", "payload", 1234);
    assert_non_null(p);
    assert_int_equal(strlen(p->token), SB_BZ_TOKEN_LEN);
    assert_int_equal(strspn(p->token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_"),
                     SB_BZ_TOKEN_LEN);
    assert_int_equal(p->purchase_state, SB_BZ_PURCHASED);
    assert_int_equal(p->consumption_state, SB_BZ_NOT_CONSUMED);
    assert_int_equal(p->purchase_time_ms, 1234);
    assert_string_equal(p->developer_payload, "payload");
    const sb_purchase_t *q = sb_bazaar_add(bz, "com.app", "coins_100", NULL, 1);
    assert_string_equal(q->developer_payload, "");
    assert_ptr_equal(sb_bazaar_find(bz, q->token), q);
    sb_bazaar_destroy(&bz);
    sb_bazaar_destroy(&bz);
    assert_null(bz);
}

static void test_validate_needs_package_sku_and_token(void **state)
{
    (void)state;
    sb_bazaar_t *bz = s_store(10);
    char token[SB_BZ_TOKEN_LEN + 1];
    strcpy(token, sb_bazaar_add(bz, "com.app", "coins_100", NULL, 1)->token);
    assert_non_null(sb_bazaar_validate(bz, "com.app", "coins_100", token));
    assert_null(sb_bazaar_validate(bz, "com.app", "coins_200", token));
    assert_null(sb_bazaar_validate(bz, "com.other", "coins_100", token));
    assert_null(sb_bazaar_validate(bz, "com.app", "coins_100", "fake-token"));
    assert_null(sb_bazaar_find(bz, ""));
    sb_bazaar_destroy(&bz);
}

static void test_consume_once_then_already_consumed(void **state)
{
    (void)state;
    sb_bazaar_t *bz = s_store(10);
    char token[SB_BZ_TOKEN_LEN + 1];
    strcpy(token, sb_bazaar_add(bz, "com.app", "coins_100", NULL, 1)->token);
    assert_int_equal(sb_bazaar_consume(bz, "com.other", token), SB_BZ_CONSUME_UNKNOWN);
    assert_int_equal(sb_bazaar_consume(bz, "com.app", "nope"), SB_BZ_CONSUME_UNKNOWN);
    assert_int_equal(sb_bazaar_find(bz, token)->consumption_state, SB_BZ_NOT_CONSUMED);
    assert_int_equal(sb_bazaar_consume(bz, "com.app", token), SB_BZ_CONSUME_OK);
    assert_int_equal(sb_bazaar_find(bz, token)->consumption_state, SB_BZ_CONSUMED);
    assert_int_equal(sb_bazaar_consume(bz, "com.app", token), SB_BZ_CONSUME_ALREADY);
    /* still valid: validation reports the state, it does not refuse */
    assert_non_null(sb_bazaar_validate(bz, "com.app", "coins_100", token));
    sb_bazaar_destroy(&bz);
}

static void test_refund_blocks_consume_and_shows_in_validate(void **state)
{
    (void)state;
    sb_bazaar_t *bz = s_store(10);
    char token[SB_BZ_TOKEN_LEN + 1];
    strcpy(token, sb_bazaar_add(bz, "com.app", "coins_100", NULL, 1)->token);
    assert_int_equal(sb_bazaar_refund(bz, "nope"), -1);
    assert_int_equal(sb_bazaar_refund(bz, token), 0);
    assert_int_equal(sb_bazaar_refund(bz, token), 0); /* again is fine */
    const sb_purchase_t *p = sb_bazaar_validate(bz, "com.app", "coins_100", token);
    assert_non_null(p);
    assert_int_equal(p->purchase_state, SB_BZ_REFUNDED);
    assert_int_equal(sb_bazaar_consume(bz, "com.app", token), SB_BZ_CONSUME_REFUNDED);
    assert_int_equal(p->consumption_state, SB_BZ_NOT_CONSUMED);
    sb_bazaar_destroy(&bz);
}

static void test_store_is_bounded_and_finds_all(void **state)
{
    (void)state;
    enum { N = 3000 };
    sb_bazaar_t *bz = s_store(N);
    static char tokens[N][SB_BZ_TOKEN_LEN + 1];
    for (int i = 0; i < N; i++) {
        const sb_purchase_t *p = sb_bazaar_add(bz, "com.app", "sku", NULL, i);
        assert_non_null(p);
        strcpy(tokens[i], p->token);
    }
    assert_null(sb_bazaar_add(bz, "com.app", "sku", NULL, 0));
    for (int i = 0; i < N; i++) {
        const sb_purchase_t *p = sb_bazaar_find(bz, tokens[i]);
        assert_non_null(p);
        assert_int_equal(p->purchase_time_ms, i);
    }
    sb_bazaar_destroy(&bz);
}

static void test_access_tokens_live_until_ttl(void **state)
{
    (void)state;
    sb_bazaar_t *bz = s_store(1);
    char a[SB_BZ_ACCESS_LEN + 1], b[SB_BZ_ACCESS_LEN + 1];
    sb_bazaar_access_issue(bz, 1000, a);
    sb_bazaar_access_issue(bz, 2000, b);
    assert_int_equal(strlen(a), SB_BZ_ACCESS_LEN);
    assert_string_not_equal(a, b);
    assert_true(sb_bazaar_access_live(bz, a, 1000));
    assert_true(sb_bazaar_access_live(bz, a, 60999));
    assert_false(sb_bazaar_access_live(bz, a, 61000));
    assert_true(sb_bazaar_access_live(bz, b, 61000));
    assert_false(sb_bazaar_access_live(bz, "short", 1000));
    char forged[SB_BZ_ACCESS_LEN + 1];
    memset(forged, 'A', SB_BZ_ACCESS_LEN);
    forged[SB_BZ_ACCESS_LEN] = '\0';
    assert_false(sb_bazaar_access_live(bz, forged, 1000));
    /* the ring forgets the oldest */
    for (int i = 0; i < SB_BZ_ACCESS_MAX; i++)
        sb_bazaar_access_issue(bz, 3000, forged);
    assert_false(sb_bazaar_access_live(bz, b, 3000));
    assert_true(sb_bazaar_access_live(bz, forged, 3000));
    sb_bazaar_destroy(&bz);
}

static void test_bearer_accepts_raw_and_bearer(void **state)
{
    (void)state;
    size_t len = 0;
    const char *t = sb_bazaar_bearer("Bearer abc ", &len);
    assert_int_equal(len, 3);
    assert_memory_equal(t, "abc", 3);
    t = sb_bazaar_bearer("abc", &len);
    assert_int_equal(len, 3);
    t = sb_bazaar_bearer("bearer  xyz", &len);
    assert_memory_equal(t, "xyz", 3);
    assert_null(sb_bazaar_bearer("Bearer ", &len));
    assert_null(sb_bazaar_bearer(NULL, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_purchase_is_purchased_and_not_consumed),
        cmocka_unit_test(test_validate_needs_package_sku_and_token),
        cmocka_unit_test(test_consume_once_then_already_consumed),
        cmocka_unit_test(test_refund_blocks_consume_and_shows_in_validate),
        cmocka_unit_test(test_store_is_bounded_and_finds_all),
        cmocka_unit_test(test_access_tokens_live_until_ttl),
        cmocka_unit_test(test_bearer_accepts_raw_and_bearer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
