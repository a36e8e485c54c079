/*  Unit tests of the sandbox's simulated banks (Halkbank's RBS, TFEB): the
 *  order life cycle (register, duplicate orderNumber, pay one- and
 *  two-phase, decline, deposit once, reverse, refunds partial and whole,
 *  wrong states, unknown orders), bounds, the RBS login and the TFEB
 *  token, return URLs, the card page's escaping, and the RBS and TFEB
 *  handlers' answers (errorCode and operationResult) for requests built by
 *  hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../sandbox/bank.h"
#include "../../sandbox/sb_fault.h"
#include "pm_ids.h"

enum { TTL_S = 60 };

static const int64_t NOW_MS = 1795000000000;

static sb_bank_t *s_store(size_t max_orders)
{
    pm_ids_init();
    sb_bank_config_t cfg = {
        .rbs_username = "merchant-api",
        .rbs_password = "rbs-secret",
        .tfeb_client_id = "tfeb-client",
        .tfeb_client_secret = "tfeb-secret",
        .tfeb_token_ttl_s = TTL_S,
        .max_orders = max_orders,
    };
    sb_bank_t *bank = sb_bank_new(&cfg);
    assert_non_null(bank);
    return bank;
}

/* A new order of bank; its orderId copied into id. */
static void s_order(sb_bank_t *bank, sb_bank_kind_t kind, const char *number, bool two_phase,
                    char id[SB_BANK_ID_LEN + 1])
{
    sb_bank_new_order_t in = {
        .bank = kind,
        .order_number = number,
        .amount_minor = 1750,
        .two_phase = two_phase,
        .return_url = "https://shop.example/back",
    };
    const sb_bank_order_t *o = NULL;
    assert_int_equal(sb_bank_register(bank, &in, NOW_MS, &o), SB_BANK_OK);
    assert_non_null(o);
    memcpy(id, o->order_id, SB_BANK_ID_LEN + 1);
}

static sb_bank_state_t s_state(sb_bank_t *bank, const char *id)
{
    const sb_bank_order_t *o = sb_bank_find_any(bank, id);
    assert_non_null(o);
    return o->state;
}

static void test_register_makes_a_registered_order_with_a_uuid(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(10);
    sb_bank_new_order_t in = {
        .bank = SB_BANK_RBS,
        .order_number = "INV-1",
        .amount_minor = 1750,
        .return_url = "https://shop.example/back",
        .fail_url = "https://shop.example/fail",
        .description = "tea",
    };
    const sb_bank_order_t *o = NULL;
    assert_int_equal(sb_bank_register(bank, &in, NOW_MS, &o), SB_BANK_OK);
    assert_true(pm_uuid_valid(o->order_id, strlen(o->order_id)));
    assert_int_equal(o->state, SB_BANK_REGISTERED);
    assert_string_equal(o->order_number, "INV-1");
    assert_int_equal(o->amount_minor, 1750);
    assert_false(o->two_phase);
    assert_string_equal(o->return_url, "https://shop.example/back");
    assert_string_equal(o->fail_url, "https://shop.example/fail");
    assert_string_equal(o->description, "tea");
    assert_int_equal(o->created_ms, NOW_MS);
    assert_int_equal(o->paid_ms, -1);
    assert_ptr_equal(sb_bank_find(bank, SB_BANK_RBS, o->order_id), o);
    assert_null(sb_bank_find(bank, SB_BANK_TFEB, o->order_id));
    assert_ptr_equal(sb_bank_find_number(bank, "INV-1"), o);
    assert_null(sb_bank_find_number(bank, "INV-2"));
    assert_null(sb_bank_find_any(bank, "00000000-0000-4000-8000-000000000000"));
    assert_int_equal(sb_bank_count(bank), 1);
    sb_bank_destroy(&bank);
    assert_null(bank);
    sb_bank_destroy(&bank); /* safe twice */
}

static void test_a_duplicate_rbs_order_number_is_refused(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(10);
    char id[SB_BANK_ID_LEN + 1], tfeb1[SB_BANK_ID_LEN + 1], tfeb2[SB_BANK_ID_LEN + 1];
    s_order(bank, SB_BANK_RBS, "INV-1", false, id);
    sb_bank_new_order_t again = {
        .bank = SB_BANK_RBS,
        .order_number = "INV-1",
        .amount_minor = 99,
        .return_url = "https://shop.example/other",
    };
    const sb_bank_order_t *o = NULL;
    assert_int_equal(sb_bank_register(bank, &again, NOW_MS, &o), SB_BANK_DUPLICATE);
    assert_string_equal(o->order_id, id); /* the order that has the number */
    assert_int_equal(sb_bank_count(bank), 1);
    /* TFEB MerchantOrderIds are not checked, and do not collide with RBS */
    s_order(bank, SB_BANK_TFEB, "INV-1", false, tfeb1);
    s_order(bank, SB_BANK_TFEB, "INV-1", false, tfeb2);
    assert_string_not_equal(tfeb1, tfeb2);
    assert_int_equal(sb_bank_count(bank), 3);
    sb_bank_destroy(&bank);
}

static void test_pay_deposits_one_phase_and_preauthorizes_two_phase(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(10);
    char one[SB_BANK_ID_LEN + 1], two[SB_BANK_ID_LEN + 1], tfeb[SB_BANK_ID_LEN + 1];
    s_order(bank, SB_BANK_RBS, "ONE", false, one);
    s_order(bank, SB_BANK_RBS, "TWO", true, two);
    s_order(bank, SB_BANK_TFEB, "T", false, tfeb);
    assert_int_equal(sb_bank_pay(bank, one, NOW_MS + 5), SB_BANK_OK);
    assert_int_equal(s_state(bank, one), SB_BANK_DEPOSITED);
    assert_int_equal(sb_bank_find_any(bank, one)->deposited_minor, 1750);
    assert_int_equal(sb_bank_find_any(bank, one)->paid_ms, NOW_MS + 5);
    assert_int_equal(sb_bank_pay(bank, two, NOW_MS), SB_BANK_OK);
    assert_int_equal(s_state(bank, two), SB_BANK_PREAUTHORIZED);
    assert_int_equal(sb_bank_find_any(bank, two)->deposited_minor, 0);
    assert_int_equal(sb_bank_pay(bank, tfeb, NOW_MS), SB_BANK_OK);
    assert_int_equal(s_state(bank, tfeb), SB_BANK_DEPOSITED);
    /* paid once: a second pay or a decline is refused */
    assert_int_equal(sb_bank_pay(bank, one, NOW_MS), SB_BANK_WRONG_STATE);
    assert_int_equal(sb_bank_decline(bank, two), SB_BANK_WRONG_STATE);
    assert_int_equal(sb_bank_pay(bank, "nope", NOW_MS), SB_BANK_UNKNOWN);
    sb_bank_destroy(&bank);
}

static void test_decline_is_final(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(10);
    char id[SB_BANK_ID_LEN + 1];
    s_order(bank, SB_BANK_RBS, "D", true, id);
    assert_int_equal(sb_bank_decline(bank, id), SB_BANK_OK);
    assert_int_equal(s_state(bank, id), SB_BANK_DECLINED);
    assert_int_equal(sb_bank_pay(bank, id, NOW_MS), SB_BANK_WRONG_STATE);
    assert_int_equal(sb_bank_decline(bank, id), SB_BANK_WRONG_STATE);
    assert_int_equal(sb_bank_deposit(bank, id, 0), SB_BANK_WRONG_STATE);
    assert_int_equal(sb_bank_reverse(bank, id), SB_BANK_WRONG_STATE);
    assert_int_equal(sb_bank_refund(bank, SB_BANK_RBS, id, 1), SB_BANK_WRONG_STATE);
    assert_int_equal(sb_bank_decline(bank, "nope"), SB_BANK_UNKNOWN);
    sb_bank_destroy(&bank);
}

static void test_a_preauthorization_is_deposited_once(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(10);
    char id[SB_BANK_ID_LEN + 1];
    s_order(bank, SB_BANK_RBS, "PRE", true, id);
    /* not approved yet */
    assert_int_equal(sb_bank_deposit(bank, id, 0), SB_BANK_WRONG_STATE);
    assert_int_equal(sb_bank_pay(bank, id, NOW_MS), SB_BANK_OK);
    assert_int_equal(sb_bank_deposit(bank, id, 1751), SB_BANK_TOO_MUCH);
    assert_int_equal(s_state(bank, id), SB_BANK_PREAUTHORIZED);
    assert_int_equal(sb_bank_deposit(bank, id, 0), SB_BANK_OK);
    assert_int_equal(s_state(bank, id), SB_BANK_DEPOSITED);
    /* a second deposit (a retry whose first answer was lost) is wrong state */
    assert_int_equal(sb_bank_deposit(bank, id, 0), SB_BANK_WRONG_STATE);
    assert_int_equal(sb_bank_reverse(bank, id), SB_BANK_WRONG_STATE);
    const sb_bank_order_t *o = sb_bank_find_any(bank, id);
    assert_int_equal(o->deposits, 1);
    assert_int_equal(o->deposit_calls, 4);
    assert_int_equal(o->deposited_minor, 1750);
    assert_int_equal(o->reverse_calls, 1);
    assert_int_equal(o->reversals, 0);
    assert_int_equal(sb_bank_deposit(bank, "nope", 0), SB_BANK_UNKNOWN);
    sb_bank_destroy(&bank);
}

static void test_a_partial_deposit_takes_that_much(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(10);
    char id[SB_BANK_ID_LEN + 1];
    s_order(bank, SB_BANK_RBS, "PART", true, id);
    assert_int_equal(sb_bank_pay(bank, id, NOW_MS), SB_BANK_OK);
    assert_int_equal(sb_bank_deposit(bank, id, 1000), SB_BANK_OK);
    assert_int_equal(sb_bank_find_any(bank, id)->deposited_minor, 1000);
    assert_int_equal(sb_bank_refund(bank, SB_BANK_RBS, id, 1001), SB_BANK_TOO_MUCH);
    assert_int_equal(sb_bank_refund(bank, SB_BANK_RBS, id, 1000), SB_BANK_OK);
    assert_int_equal(s_state(bank, id), SB_BANK_REFUNDED);
    sb_bank_destroy(&bank);
}

static void test_reverse_cancels_a_preauthorization_only(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(10);
    char id[SB_BANK_ID_LEN + 1], one[SB_BANK_ID_LEN + 1], tfeb[SB_BANK_ID_LEN + 1];
    s_order(bank, SB_BANK_RBS, "PRE", true, id);
    s_order(bank, SB_BANK_RBS, "ONE", false, one);
    s_order(bank, SB_BANK_TFEB, "T", false, tfeb);
    assert_int_equal(sb_bank_reverse(bank, id), SB_BANK_WRONG_STATE); /* registered */
    assert_int_equal(sb_bank_pay(bank, id, NOW_MS), SB_BANK_OK);
    assert_int_equal(sb_bank_reverse(bank, id), SB_BANK_OK);
    assert_int_equal(s_state(bank, id), SB_BANK_REVERSED);
    assert_int_equal(sb_bank_reverse(bank, id), SB_BANK_WRONG_STATE);
    assert_int_equal(sb_bank_deposit(bank, id, 0), SB_BANK_WRONG_STATE);
    const sb_bank_order_t *o = sb_bank_find_any(bank, id);
    assert_int_equal(o->reversals, 1);
    assert_int_equal(o->reverse_calls, 3);
    assert_int_equal(sb_bank_pay(bank, one, NOW_MS), SB_BANK_OK);
    assert_int_equal(sb_bank_reverse(bank, one), SB_BANK_WRONG_STATE); /* deposited */
    /* RBS calls do not see TFEB orders */
    assert_int_equal(sb_bank_reverse(bank, tfeb), SB_BANK_UNKNOWN);
    assert_int_equal(sb_bank_deposit(bank, tfeb, 0), SB_BANK_UNKNOWN);
    assert_int_equal(sb_bank_find_any(bank, tfeb)->reverse_calls, 0);
    sb_bank_destroy(&bank);
}

static void test_refunds_add_up_to_the_deposited_amount(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(10);
    char id[SB_BANK_ID_LEN + 1];
    s_order(bank, SB_BANK_RBS, "R", false, id);
    assert_int_equal(sb_bank_refund(bank, SB_BANK_RBS, id, 1), SB_BANK_WRONG_STATE); /* unpaid */
    assert_int_equal(sb_bank_pay(bank, id, NOW_MS), SB_BANK_OK);
    assert_int_equal(sb_bank_refund(bank, SB_BANK_RBS, id, 1751), SB_BANK_TOO_MUCH);
    assert_int_equal(sb_bank_refund(bank, SB_BANK_RBS, id, 750), SB_BANK_OK);
    assert_int_equal(s_state(bank, id), SB_BANK_DEPOSITED); /* partial: still deposited */
    assert_int_equal(sb_bank_refund(bank, SB_BANK_RBS, id, 1001), SB_BANK_TOO_MUCH);
    assert_int_equal(sb_bank_refund(bank, SB_BANK_RBS, id, 1000), SB_BANK_OK);
    assert_int_equal(s_state(bank, id), SB_BANK_REFUNDED);
    assert_int_equal(sb_bank_refund(bank, SB_BANK_RBS, id, 1), SB_BANK_WRONG_STATE);
    const sb_bank_order_t *o = sb_bank_find_any(bank, id);
    assert_int_equal(o->refunds, 2);
    assert_int_equal(o->refund_calls, 6);
    assert_int_equal(o->refunded_minor, 1750);
    assert_int_equal(sb_bank_refund(bank, SB_BANK_TFEB, id, 1), SB_BANK_UNKNOWN); /* RBS's */
    assert_int_equal(sb_bank_refund(bank, SB_BANK_RBS, "nope", 1), SB_BANK_UNKNOWN);
    sb_bank_destroy(&bank);
}

static void test_the_store_is_bounded(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(2);
    char id[SB_BANK_ID_LEN + 1];
    s_order(bank, SB_BANK_RBS, "A", false, id);
    s_order(bank, SB_BANK_TFEB, "B", false, id);
    sb_bank_new_order_t in = {
        .bank = SB_BANK_RBS,
        .order_number = "C",
        .amount_minor = 1,
        .return_url = "https://shop.example/back",
    };
    const sb_bank_order_t *o = NULL;
    assert_int_equal(sb_bank_register(bank, &in, NOW_MS, &o), SB_BANK_FULL);
    assert_null(o);
    assert_null(sb_bank_find_number(bank, "C"));
    assert_int_equal(sb_bank_count(bank), 2);
    assert_string_equal(sb_bank_at(bank, 0)->order_number, "A");
    assert_string_equal(sb_bank_at(bank, 1)->order_number, "B");
    sb_bank_destroy(&bank);
}

static void test_many_orders_are_all_found(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(5000);
    char ids[200][SB_BANK_ID_LEN + 1], number[16];
    for (int i = 0; i < 200; i++) {
        snprintf(number, sizeof number, "N-%d", i);
        s_order(bank, SB_BANK_RBS, number, i % 2 == 0, ids[i]);
    }
    for (int i = 0; i < 200; i++) {
        snprintf(number, sizeof number, "N-%d", i);
        const sb_bank_order_t *o = sb_bank_find_number(bank, number);
        assert_non_null(o);
        assert_string_equal(o->order_id, ids[i]);
        assert_ptr_equal(sb_bank_find(bank, SB_BANK_RBS, ids[i]), o);
    }
    sb_bank_destroy(&bank);
}

static void test_the_rbs_login_needs_both_user_and_password(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(1);
    assert_true(sb_bank_rbs_login(bank, "merchant-api", "rbs-secret"));
    assert_false(sb_bank_rbs_login(bank, "merchant-api", "rbs-secreT"));
    assert_false(sb_bank_rbs_login(bank, "merchant-api", "rbs-secret2"));
    assert_false(sb_bank_rbs_login(bank, "merchant-api", ""));
    assert_false(sb_bank_rbs_login(bank, "merchant-api", NULL));
    assert_false(sb_bank_rbs_login(bank, "other", "rbs-secret"));
    assert_false(sb_bank_rbs_login(bank, NULL, "rbs-secret"));
    sb_bank_destroy(&bank);
}

static void test_tfeb_tokens_are_issued_to_the_client_and_expire(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(1);
    char token[SB_BANK_TOKEN_LEN + 1], other[SB_BANK_TOKEN_LEN + 1];
    assert_false(sb_bank_tfeb_token(bank, "tfeb-client", "wrong", 0, token));
    assert_false(sb_bank_tfeb_token(bank, "another", "tfeb-secret", 0, token));
    assert_false(sb_bank_tfeb_token(bank, NULL, NULL, 0, token));
    assert_true(sb_bank_tfeb_token(bank, "tfeb-client", "tfeb-secret", 1000, token));
    assert_int_equal(strlen(token), SB_BANK_TOKEN_LEN);
    assert_int_equal(
        strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        SB_BANK_TOKEN_LEN);
    assert_true(sb_bank_tfeb_token_live(bank, token, 1000));
    assert_true(sb_bank_tfeb_token_live(bank, token, 1000 + TTL_S * 1000 - 1));
    assert_false(sb_bank_tfeb_token_live(bank, token, 1000 + TTL_S * 1000)); /* expired */
    assert_true(sb_bank_tfeb_token(bank, "tfeb-client", "tfeb-secret", 1000, other));
    assert_string_not_equal(token, other);
    assert_false(sb_bank_tfeb_token_live(bank, "not-a-token", 1000));
    assert_false(sb_bank_tfeb_token_live(bank, NULL, 1000));
    char forged[SB_BANK_TOKEN_LEN + 1];
    memcpy(forged, token, sizeof forged);
    forged[0] = forged[0] == 'A' ? 'B' : 'A';
    assert_false(sb_bank_tfeb_token_live(bank, forged, 1000));
    sb_bank_destroy(&bank);
}

static void test_the_oldest_tfeb_token_is_forgotten(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(1);
    char first[SB_BANK_TOKEN_LEN + 1], t[SB_BANK_TOKEN_LEN + 1];
    assert_true(sb_bank_tfeb_token(bank, "tfeb-client", "tfeb-secret", 0, first));
    for (int i = 1; i < SB_BANK_TOKENS_MAX; i++)
        assert_true(sb_bank_tfeb_token(bank, "tfeb-client", "tfeb-secret", 0, t));
    assert_true(sb_bank_tfeb_token_live(bank, first, 0));
    assert_true(sb_bank_tfeb_token(bank, "tfeb-client", "tfeb-secret", 0, t));
    assert_false(sb_bank_tfeb_token_live(bank, first, 0));
    assert_true(sb_bank_tfeb_token_live(bank, t, 0));
    sb_bank_destroy(&bank);
}

static void test_return_urls_get_the_order_id(void **state)
{
    (void)state;
    sb_bank_order_t o = {.order_id = "c03365ad-af93-4ccf-85d3-3d3a3ae129d5"};
    char url[256];
    o.return_url = "https://shop.example/back";
    assert_int_equal(sb_bank_return_url(&o, true, url, sizeof url), 0);
    assert_string_equal(url,
                        "https://shop.example/back?orderId=c03365ad-af93-4ccf-85d3-3d3a3ae129d5");
    assert_int_equal(sb_bank_return_url(&o, false, url, sizeof url), 0); /* no failUrl */
    assert_string_equal(url,
                        "https://shop.example/back?orderId=c03365ad-af93-4ccf-85d3-3d3a3ae129d5");
    o.return_url = "https://shop.example/back?inv=7#done";
    o.fail_url = "http://shop.example/fail?a=1";
    assert_int_equal(sb_bank_return_url(&o, true, url, sizeof url), 0);
    assert_string_equal(
        url, "https://shop.example/back?inv=7&orderId=c03365ad-af93-4ccf-85d3-3d3a3ae129d5#done");
    assert_int_equal(sb_bank_return_url(&o, false, url, sizeof url), 0);
    assert_string_equal(
        url, "http://shop.example/fail?a=1&orderId=c03365ad-af93-4ccf-85d3-3d3a3ae129d5");
    assert_int_equal(sb_bank_return_url(&o, true, url, 40), -1); /* does not fit */
}

static void test_urls_must_be_http(void **state)
{
    (void)state;
    assert_true(sb_bank_url_ok("http://shop.example"));
    assert_true(sb_bank_url_ok("HTTPS://shop.example/back?x=1"));
    assert_false(sb_bank_url_ok(NULL));
    assert_false(sb_bank_url_ok(""));
    assert_false(sb_bank_url_ok("javascript:alert(1)"));
    assert_false(sb_bank_url_ok("http://"));
    assert_false(sb_bank_url_ok("http:///path"));
    assert_false(sb_bank_url_ok("http://shop.example/\r\nSet-Cookie: x"));
    char long_url[SB_BANK_URL_MAX + 2];
    memset(long_url, 'a', sizeof long_url - 1);
    memcpy(long_url, "http://", 7);
    long_url[sizeof long_url - 1] = '\0';
    assert_false(sb_bank_url_ok(long_url));
    long_url[SB_BANK_URL_MAX] = '\0';
    assert_true(sb_bank_url_ok(long_url));
}

static void test_the_card_page_escapes_and_has_both_buttons(void **state)
{
    (void)state;
    sb_bank_t *bank = s_store(10);
    sb_bank_new_order_t in = {
        .bank = SB_BANK_RBS,
        .order_number = "<INV&1>",
        .amount_minor = 1750,
        .return_url = "https://shop.example/back",
        .description = "\"tea\" <script>alert('x')</script>",
    };
    const sb_bank_order_t *o = NULL;
    assert_int_equal(sb_bank_register(bank, &in, NOW_MS, &o), SB_BANK_OK);
    size_t len = 0;
    char *page = sb_bank_page_html(o, "/pay?a=1&b=2", "/decline", &len);
    assert_non_null(page);
    assert_int_equal(strlen(page), len);
    assert_non_null(strstr(page, "id=\"pay\""));
    assert_non_null(strstr(page, "id=\"decline\""));
    assert_non_null(strstr(page, "action=\"/pay?a=1&amp;b=2\""));
    assert_non_null(strstr(page, "&lt;INV&amp;1&gt;"));
    assert_non_null(
        strstr(page, "&quot;tea&quot; &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert_non_null(strstr(page, ">17.50<"));
    assert_null(strstr(page, "<script>"));
    assert_non_null(strstr(page, o->order_id));
    free(page);
    sb_bank_destroy(&bank);
}

static void test_state_and_bank_names(void **state)
{
    (void)state;
    assert_string_equal(sb_bank_state_name(SB_BANK_REGISTERED), "registered");
    assert_string_equal(sb_bank_state_name(SB_BANK_PREAUTHORIZED), "preauthorized");
    assert_string_equal(sb_bank_state_name(SB_BANK_DEPOSITED), "deposited");
    assert_string_equal(sb_bank_state_name(SB_BANK_REVERSED), "reversed");
    assert_string_equal(sb_bank_state_name(SB_BANK_REFUNDED), "refunded");
    assert_string_equal(sb_bank_state_name(SB_BANK_DECLINED), "declined");
    assert_int_equal(SB_BANK_DECLINED, 6); /* RBS orderStatus */
    assert_string_equal(sb_bank_kind_name(SB_BANK_RBS), "rbs");
    assert_string_equal(sb_bank_kind_name(SB_BANK_TFEB), "tfeb");
}

/* ---- handlers, with requests built by hand --------------------------------- */

typedef struct {
    sb_sandbox_t sb;
    sb_resp_t resp;
    json_object *answer;
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    pthread_mutex_init(&f->sb.mu, NULL);
    atomic_init(&f->sb.stopping, false);
    f->sb.bank = s_store(100);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    json_object_put(f->answer);
    sb_resp_clear(&f->resp);
    sb_bank_destroy(&f->sb.bank);
    pthread_mutex_destroy(&f->sb.mu);
    free(f);
    return 0;
}

/* Calls handler with a form body (and one path capture, or NULL), and
 * parses the answer into f->answer (NULL when it is no JSON). */
static int s_call(s_fixture_t *f, sb_handler_fn handler, const char *cap, const char *auth,
                  const char *body)
{
    sb_req_t req = {
        .method = "POST",
        .path = "/",
        .body = body,
        .body_len = strlen(body),
        .host = "sandbox.test:8090",
        .authorization = auth,
    };
    if (cap) {
        snprintf(req.caps[0], sizeof req.caps[0], "%s", cap);
        req.ncaps = 1;
    }
    json_object_put(f->answer);
    sb_resp_clear(&f->resp);
    handler(&f->sb, &req, &f->resp);
    assert_non_null(f->resp.json);
    f->answer = sb_json_parse_object(f->resp.json, f->resp.len);
    return f->resp.status;
}

static const char *s_str(json_object *o, const char *key)
{
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_string(v);
}

#define LOGIN "userName=merchant-api&password=rbs-secret"

/* Registers through register.do or registerPreAuth.do; the orderId into id. */
static void s_rbs_register(s_fixture_t *f, bool two_phase, const char *number,
                           char id[SB_BANK_ID_LEN + 1])
{
    char body[256];
    snprintf(body, sizeof body,
             LOGIN "&orderNumber=%s&amount=1750&currency=934&returnUrl=https%%3A%%2F%%2Fshop."
                   "example%%2Fback",
             number);
    assert_int_equal(s_call(f,
                            two_phase ? sb_bank_on_rbs_register_preauth : sb_bank_on_rbs_register,
                            NULL, NULL, body),
                     200);
    assert_string_equal(s_str(f->answer, "errorCode"), "0");
    snprintf(id, SB_BANK_ID_LEN + 1, "%s", s_str(f->answer, "orderId"));
    char url[160];
    snprintf(url, sizeof url,
             "http://sandbox.test:8090/payment/merchants/online/payment_ru.html?mdOrder=%s", id);
    assert_string_equal(s_str(f->answer, "formUrl"), url);
}

static void s_expect_rbs(s_fixture_t *f, sb_handler_fn handler, const char *body, const char *code)
{
    assert_int_equal(s_call(f, handler, NULL, NULL, body), 200); /* business errors too */
    assert_string_equal(s_str(f->answer, "errorCode"), code);
}

static void test_rbs_register_and_its_error_codes(void **state)
{
    s_fixture_t *f = *state;
    char id[SB_BANK_ID_LEN + 1];
    s_rbs_register(f, false, "INV-1", id);
    s_expect_rbs(f, sb_bank_on_rbs_register,
                 LOGIN "&orderNumber=INV-1&amount=1750&returnUrl=https://shop.example/", "1");
    s_expect_rbs(f, sb_bank_on_rbs_register,
                 "userName=merchant-api&password=nope&orderNumber=X&amount=1&returnUrl=http://a",
                 "5");
    assert_non_null(strstr(s_str(f->answer, "errorMessage"), "Доступ")); /* access denied */
    s_expect_rbs(f, sb_bank_on_rbs_register, "orderNumber=X&amount=1&returnUrl=http://a", "5");
    s_expect_rbs(f, sb_bank_on_rbs_register, LOGIN "&amount=1&returnUrl=http://a", "4");
    s_expect_rbs(f, sb_bank_on_rbs_register, LOGIN "&orderNumber=X&returnUrl=http://a", "4");
    s_expect_rbs(f, sb_bank_on_rbs_register, LOGIN "&orderNumber=X&amount=1", "4");
    s_expect_rbs(f, sb_bank_on_rbs_register,
                 LOGIN "&orderNumber=X&amount=1&currency=840&returnUrl=http://a", "3");
    s_expect_rbs(f, sb_bank_on_rbs_register, LOGIN "&orderNumber=X&amount=1.5&returnUrl=http://a",
                 "5");
    s_expect_rbs(f, sb_bank_on_rbs_register, LOGIN "&orderNumber=X&amount=0&returnUrl=http://a",
                 "5");
    s_expect_rbs(f, sb_bank_on_rbs_register, LOGIN "&orderNumber=X&amount=1&returnUrl=javascript:x",
                 "5");
    s_expect_rbs(f, sb_bank_on_rbs_register,
                 LOGIN "&orderNumber=123456789012345678901234567890123&amount=1&returnUrl=http://a",
                 "5");
    assert_int_equal(sb_bank_count(f->sb.bank), 1);
}

static void test_rbs_status_deposit_reverse_refund(void **state)
{
    s_fixture_t *f = *state;
    char pre[SB_BANK_ID_LEN + 1], one[SB_BANK_ID_LEN + 1], body[256];
    s_rbs_register(f, true, "PRE", pre);
    s_rbs_register(f, false, "ONE", one);

    snprintf(body, sizeof body, LOGIN "&orderId=%s", pre);
    s_expect_rbs(f, sb_bank_on_rbs_status_extended, body, "0");
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(f->answer, "orderStatus", &v));
    assert_int_equal(json_object_get_int(v), 0);
    assert_string_equal(s_str(f->answer, "orderNumber"), "PRE");
    assert_string_equal(s_str(f->answer, "currency"), "934");

    /* wrong state before the card holder paid, in the real gateway's words */
    s_expect_rbs(f, sb_bank_on_rbs_deposit, body, "7");
    assert_string_equal(s_str(f->answer, "errorMessage"), SB_BANK_WRONG_STATE_MESSAGE);
    assert_int_equal(sb_bank_pay(f->sb.bank, pre, NOW_MS), SB_BANK_OK);
    s_expect_rbs(f, sb_bank_on_rbs_status_extended, body, "0");
    assert_true(json_object_object_get_ex(f->answer, "orderStatus", &v));
    assert_int_equal(json_object_get_int(v), 1);
    s_expect_rbs(f, sb_bank_on_rbs_deposit, body, "0");
    s_expect_rbs(f, sb_bank_on_rbs_deposit, body, "7"); /* once */
    s_expect_rbs(f, sb_bank_on_rbs_reverse, body, "7");
    s_expect_rbs(f, sb_bank_on_rbs_status_extended, body, "0");
    assert_true(json_object_object_get_ex(f->answer, "orderStatus", &v));
    assert_int_equal(json_object_get_int(v), 2);
    json_object *info = NULL;
    assert_true(json_object_object_get_ex(f->answer, "paymentAmountInfo", &info));
    assert_string_equal(s_str(info, "paymentState"), "DEPOSITED");
    assert_true(json_object_object_get_ex(info, "depositedAmount", &v));
    assert_int_equal(json_object_get_int64(v), 1750);

    /* the legacy status speaks Capitalized */
    assert_int_equal(s_call(f, sb_bank_on_rbs_status, NULL, NULL, body), 200);
    assert_string_equal(s_str(f->answer, "ErrorCode"), "0");
    assert_true(json_object_object_get_ex(f->answer, "OrderStatus", &v));
    assert_int_equal(json_object_get_int(v), 2);

    snprintf(body, sizeof body, LOGIN "&orderId=%s&amount=1750", pre);
    s_expect_rbs(f, sb_bank_on_rbs_refund, body, "0");
    s_expect_rbs(f, sb_bank_on_rbs_refund, body, "7");
    snprintf(body, sizeof body, LOGIN "&orderId=%s", pre);
    s_expect_rbs(f, sb_bank_on_rbs_refund, body, "4"); /* no amount */
    s_expect_rbs(f, sb_bank_on_rbs_status_extended, body, "0");
    assert_true(json_object_object_get_ex(f->answer, "orderStatus", &v));
    assert_int_equal(json_object_get_int(v), 4);

    /* reverse of an approved order, by orderNumber for the status */
    char two[SB_BANK_ID_LEN + 1];
    s_rbs_register(f, true, "TWO", two);
    assert_int_equal(sb_bank_pay(f->sb.bank, two, NOW_MS), SB_BANK_OK);
    snprintf(body, sizeof body, LOGIN "&orderId=%s", two);
    s_expect_rbs(f, sb_bank_on_rbs_reverse, body, "0");
    s_expect_rbs(f, sb_bank_on_rbs_status_extended, LOGIN "&orderNumber=TWO", "0");
    assert_true(json_object_object_get_ex(f->answer, "orderStatus", &v));
    assert_int_equal(json_object_get_int(v), 3);

    /* unknown orders, missing ids, bad passwords */
    const char *unknown = LOGIN "&orderId=00000000-0000-4000-8000-000000000000&amount=1";
    s_expect_rbs(f, sb_bank_on_rbs_status_extended, unknown, "6");
    s_expect_rbs(f, sb_bank_on_rbs_deposit, unknown, "6");
    s_expect_rbs(f, sb_bank_on_rbs_reverse, unknown, "6");
    s_expect_rbs(f, sb_bank_on_rbs_refund, unknown, "6");
    assert_int_equal(s_call(f, sb_bank_on_rbs_status, NULL, NULL, unknown), 200);
    assert_string_equal(s_str(f->answer, "ErrorCode"), "6");
    assert_false(json_object_object_get_ex(f->answer, "OrderStatus", NULL));
    s_expect_rbs(f, sb_bank_on_rbs_deposit, LOGIN, "4");
    s_expect_rbs(f, sb_bank_on_rbs_status_extended, LOGIN, "4");
    snprintf(body, sizeof body, "userName=merchant-api&password=x&orderId=%s", one);
    s_expect_rbs(f, sb_bank_on_rbs_status_extended, body, "5");
    s_expect_rbs(f, sb_bank_on_rbs_refund, body, "5");

    const sb_bank_order_t *o = sb_bank_find_any(f->sb.bank, pre);
    assert_int_equal(o->deposits, 1);
    assert_int_equal(o->deposit_calls, 3);
    assert_int_equal(o->refunds, 1);
}

static void test_tfeb_token_order_status_refund(void **state)
{
    s_fixture_t *f = *state;
    /* the token */
    assert_int_equal(
        s_call(f, sb_bank_on_tfeb_token, NULL, NULL,
               "client_id=tfeb-client&client_secret=nope&grant_type=client_credentials"),
        400);
    assert_string_equal(s_str(f->answer, "error"), "invalid_client");
    assert_int_equal(s_call(f, sb_bank_on_tfeb_token, NULL, NULL,
                            "client_id=tfeb-client&client_secret=tfeb-secret&grant_type=password"),
                     400);
    assert_string_equal(s_str(f->answer, "error"), "unsupported_grant_type");
    assert_int_equal(s_call(f, sb_bank_on_tfeb_token, NULL, NULL,
                            "client_id=tfeb-client&client_secret=tfeb-secret&scope=TSYS.Prime."
                            "WebApplications.OrderProcessing&grant_type=client_credentials"),
                     200);
    assert_string_equal(s_str(f->answer, "token_type"), "Bearer");
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(f->answer, "expires_in", &v));
    assert_int_equal(json_object_get_int(v), TTL_S);
    char auth[64];
    snprintf(auth, sizeof auth, "Bearer %s", s_str(f->answer, "access_token"));

    /* create an order: TotalAmount in exact manat */
    const char *order =
        "{\"RequestId\":\"r1\",\"Environment\":{\"Merchant\":{\"Id\":\"m\"},\"POI\":{\"Id\":\"t\"},"
        "\"Transport\":{\"MerchantFinalResponseUrl\":\"https://shop.example/final\"}},"
        "\"Transaction\":{\"InvoiceNumber\":\"INV-9\",\"Type\":\"CRDP\",\"TotalAmount\":17.50,"
        "\"Currency\":\"934\",\"MerchantOrderId\":\"INV-9\"}}";
    assert_int_equal(s_call(f, sb_bank_on_tfeb_create, NULL, NULL, order), 401);
    assert_int_equal(s_call(f, sb_bank_on_tfeb_create, NULL, "Bearer forged", order), 401);
    assert_int_equal(s_call(f, sb_bank_on_tfeb_create, NULL, auth, order), 200);
    json_object *r = NULL, *links = NULL, *redirect = NULL;
    assert_true(json_object_object_get_ex(f->answer, "response", &r));
    assert_string_equal(s_str(r, "operationResult"), "OPG-00100");
    char id[SB_BANK_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", s_str(r, "orderId"));
    assert_true(json_object_object_get_ex(f->answer, "_links", &links));
    assert_true(json_object_object_get_ex(links, "redirectToCheckout", &redirect));
    char url[128];
    snprintf(url, sizeof url, "http://sandbox.test:8090/Checkout/%s", id);
    assert_string_equal(s_str(redirect, "href"), url);
    const sb_bank_order_t *o = sb_bank_find(f->sb.bank, SB_BANK_TFEB, id);
    assert_non_null(o);
    assert_int_equal(o->amount_minor, 1750);
    assert_string_equal(o->order_number, "INV-9");
    assert_string_equal(o->return_url, "https://shop.example/final");

    /* refused orders: another currency, an inexact amount, no final URL */
    assert_int_equal(
        s_call(
            f, sb_bank_on_tfeb_create, NULL, auth,
            "{\"Environment\":{\"Transport\":{\"MerchantFinalResponseUrl\":\"https://s.example/"
            "\"}},"
            "\"Transaction\":{\"TotalAmount\":1,\"Currency\":\"840\",\"MerchantOrderId\":\"X\"}}"),
        400);
    assert_int_equal(s_call(f, sb_bank_on_tfeb_create, NULL, auth,
                            "{\"Environment\":{\"Transport\":{\"MerchantFinalResponseUrl\":\"https:"
                            "//s.example/\"}},"
                            "\"Transaction\":{\"TotalAmount\":1.005,\"MerchantOrderId\":\"X\"}}"),
                     400);
    assert_int_equal(s_call(f, sb_bank_on_tfeb_create, NULL, auth,
                            "{\"Transaction\":{\"TotalAmount\":1,\"MerchantOrderId\":\"X\"}}"),
                     400);
    assert_int_equal(s_call(f, sb_bank_on_tfeb_create, NULL, auth, "not json"), 400);
    assert_int_equal(sb_bank_count(f->sb.bank), 1);

    /* status: unpaid, paid */
    assert_int_equal(s_call(f, sb_bank_on_tfeb_get, id, auth, ""), 200);
    assert_true(json_object_object_get_ex(f->answer, "response", &r));
    assert_string_equal(s_str(r, "operationResult"), "OPG-00100");
    assert_int_equal(s_call(f, sb_bank_on_tfeb_get, id, NULL, ""), 401);
    assert_int_equal(
        s_call(f, sb_bank_on_tfeb_get, "00000000-0000-4000-8000-000000000000", auth, ""), 404);
    const char *refund = "{\"RequestId\":\"r2\",\"Transaction\":{\"Type\":\"RFND\","
                         "\"TotalAmount\":17.50,\"Currency\":\"934\"}}";
    assert_int_equal(s_call(f, sb_bank_on_tfeb_refund, id, auth, refund), 200);
    assert_true(json_object_object_get_ex(f->answer, "response", &r));
    assert_string_equal(s_str(r, "operationResult"), "OPG-00006"); /* not paid: wrong state */
    assert_int_equal(sb_bank_pay(f->sb.bank, id, NOW_MS), SB_BANK_OK);
    assert_int_equal(s_call(f, sb_bank_on_tfeb_get, id, auth, ""), 200);
    assert_true(json_object_object_get_ex(f->answer, "response", &r));
    assert_string_equal(s_str(r, "operationResult"), "GEN-00000");

    /* refund */
    assert_int_equal(s_call(f, sb_bank_on_tfeb_refund, id, auth,
                            "{\"Transaction\":{\"Type\":\"RFND\",\"TotalAmount\":17.51}}"),
                     400);
    assert_int_equal(s_call(f, sb_bank_on_tfeb_refund, id, auth,
                            "{\"Transaction\":{\"Type\":\"CRDP\",\"TotalAmount\":1}}"),
                     400);
    assert_int_equal(s_call(f, sb_bank_on_tfeb_refund, id, auth, refund), 200);
    assert_true(json_object_object_get_ex(f->answer, "response", &r));
    assert_string_equal(s_str(r, "operationResult"), "GEN-00000");
    assert_int_equal(sb_bank_find_any(f->sb.bank, id)->state, SB_BANK_REFUNDED);
    assert_int_equal(s_call(f, sb_bank_on_tfeb_refund, id, auth, refund), 200);
    assert_true(json_object_object_get_ex(f->answer, "response", &r));
    assert_string_equal(s_str(r, "operationResult"), "OPG-00006");
    assert_int_equal(
        s_call(f, sb_bank_on_tfeb_refund, "00000000-0000-4000-8000-000000000000", auth, refund),
        404);
}

static void test_the_card_pages_redirect_with_the_order_id(void **state)
{
    s_fixture_t *f = *state;
    char one[SB_BANK_ID_LEN + 1], two[SB_BANK_ID_LEN + 1], body[96];
    s_rbs_register(f, false, "ONE", one);
    s_rbs_register(f, true, "TWO", two);
    snprintf(body, sizeof body, "mdOrder=%s", one);
    sb_req_t req = {.method = "POST",
                    .path = "/",
                    .body = body,
                    .body_len = strlen(body),
                    .host = "sandbox.test"};
    sb_resp_clear(&f->resp);
    sb_bank_on_rbs_page_pay(&f->sb, &req, &f->resp);
    assert_int_equal(f->resp.status, 303);
    char want[128];
    snprintf(want, sizeof want, "https://shop.example/back?orderId=%s", one);
    assert_string_equal(f->resp.location, want);
    assert_int_equal(sb_bank_find_any(f->sb.bank, one)->state, SB_BANK_DEPOSITED);
    sb_resp_clear(&f->resp);
    sb_bank_on_rbs_page_pay(&f->sb, &req, &f->resp); /* paid already */
    assert_int_equal(f->resp.status, 409);

    snprintf(body, sizeof body, "mdOrder=%s", two);
    req.body_len = strlen(body);
    sb_resp_clear(&f->resp);
    sb_bank_on_rbs_page_pay(&f->sb, &req, &f->resp);
    assert_int_equal(f->resp.status, 303);
    assert_int_equal(sb_bank_find_any(f->sb.bank, two)->state, SB_BANK_PREAUTHORIZED);

    /* TFEB: decline, to the final URL */
    char tfeb[SB_BANK_ID_LEN + 1];
    s_order(f->sb.bank, SB_BANK_TFEB, "T", false, tfeb);
    sb_req_t treq = {.method = "POST", .path = "/", .body = "", .host = "sandbox.test", .ncaps = 1};
    snprintf(treq.caps[0], sizeof treq.caps[0], "%s", tfeb);
    sb_resp_clear(&f->resp);
    sb_bank_on_tfeb_page(&f->sb, &treq, &f->resp);
    assert_int_equal(f->resp.status, 200);
    assert_non_null(strstr(f->resp.json, "id=\"decline\""));
    sb_resp_clear(&f->resp);
    sb_bank_on_tfeb_page_decline(&f->sb, &treq, &f->resp);
    assert_int_equal(f->resp.status, 303);
    snprintf(want, sizeof want, "https://shop.example/back?orderId=%s", tfeb);
    assert_string_equal(f->resp.location, want);
    assert_int_equal(sb_bank_find_any(f->sb.bank, tfeb)->state, SB_BANK_DECLINED);
    sb_resp_clear(&f->resp);
    sb_bank_on_tfeb_page(&f->sb, &treq, &f->resp);
    assert_int_equal(f->resp.status, 409);
    /* an RBS page does not show a TFEB order */
    snprintf(body, sizeof body, "mdOrder=%s", tfeb);
    req.body_len = strlen(body);
    sb_resp_clear(&f->resp);
    sb_bank_on_rbs_page_pay(&f->sb, &req, &f->resp);
    assert_int_equal(f->resp.status, 404);
}

/* A query string of key/value pairs, as sb_http hands one to handlers. */
typedef struct {
    const char *pairs[16][2];
} s_query_t;

static const char *s_query(void *ctx, const char *key)
{
    s_query_t *q = ctx;
    for (int i = 0; i < 16 && q->pairs[i][0]; i++)
        if (strcmp(q->pairs[i][0], key) == 0)
            return q->pairs[i][1];
    return NULL;
}

static void test_rbs_parameters_may_come_in_the_query_string(void **state)
{
    s_fixture_t *f = *state;
    s_query_t q = {{{"userName", "merchant-api"},
                    {"password", "rbs-secret"},
                    {"orderNumber", "Q-1"},
                    {"amount", "250"},
                    {"returnUrl", "https://shop.example/q?a=1"}}};
    sb_req_t req = {
        .method = "POST", .path = "/", .body = "", .host = "h", .query = s_query, .query_ctx = &q};
    sb_bank_on_rbs_register_preauth(&f->sb, &req, &f->resp);
    assert_int_equal(f->resp.status, 200);
    f->answer = sb_json_parse_object(f->resp.json, f->resp.len);
    assert_string_equal(s_str(f->answer, "errorCode"), "0");
    const sb_bank_order_t *o = sb_bank_find_number(f->sb.bank, "Q-1");
    assert_non_null(o);
    assert_true(o->two_phase);
    assert_int_equal(o->amount_minor, 250);
    assert_string_equal(o->return_url, "https://shop.example/q?a=1");
    /* a body parameter wins over the query's */
    req.body = "orderNumber=Q-2&amount=300";
    req.body_len = strlen(req.body);
    sb_resp_clear(&f->resp);
    sb_bank_on_rbs_register(&f->sb, &req, &f->resp);
    assert_int_equal(f->resp.status, 200);
    assert_int_equal(sb_bank_find_number(f->sb.bank, "Q-2")->amount_minor, 300);
    /* without a query function nothing comes from the query */
    req.query = NULL;
    assert_null(sb_req_query(&req, "userName"));
}

static void test_the_bank_paths_are_their_services(void **state)
{
    (void)state;
    assert_string_equal(sb_service_of_path("/payment/rest/register.do"), "rbs");
    assert_string_equal(sb_service_of_path("/identityserver/connect/token"), "tfeb");
    assert_string_equal(sb_service_of_path("/OrderProcessing_TURK/v1/orders"), "tfeb");
    assert_null(sb_service_of_path("/payment/merchants/online/payment_ru.html")); /* the page */
    assert_null(sb_service_of_path("/Checkout/x"));
    assert_null(sb_service_of_path("/sandbox/bank/orders"));
    assert_true(sb_service_known("rbs"));
    assert_true(sb_service_known("tfeb"));
    assert_true(sb_service_known("bazaarpay"));
    assert_false(sb_service_known("bank"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_makes_a_registered_order_with_a_uuid),
        cmocka_unit_test(test_a_duplicate_rbs_order_number_is_refused),
        cmocka_unit_test(test_pay_deposits_one_phase_and_preauthorizes_two_phase),
        cmocka_unit_test(test_decline_is_final),
        cmocka_unit_test(test_a_preauthorization_is_deposited_once),
        cmocka_unit_test(test_a_partial_deposit_takes_that_much),
        cmocka_unit_test(test_reverse_cancels_a_preauthorization_only),
        cmocka_unit_test(test_refunds_add_up_to_the_deposited_amount),
        cmocka_unit_test(test_the_store_is_bounded),
        cmocka_unit_test(test_many_orders_are_all_found),
        cmocka_unit_test(test_the_rbs_login_needs_both_user_and_password),
        cmocka_unit_test(test_tfeb_tokens_are_issued_to_the_client_and_expire),
        cmocka_unit_test(test_the_oldest_tfeb_token_is_forgotten),
        cmocka_unit_test(test_return_urls_get_the_order_id),
        cmocka_unit_test(test_urls_must_be_http),
        cmocka_unit_test(test_the_card_page_escapes_and_has_both_buttons),
        cmocka_unit_test(test_state_and_bank_names),
        cmocka_unit_test(test_the_bank_paths_are_their_services),
        cmocka_unit_test_setup_teardown(test_rbs_register_and_its_error_codes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rbs_status_deposit_reverse_refund, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_rbs_parameters_may_come_in_the_query_string, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_tfeb_token_order_status_refund, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_the_card_pages_redirect_with_the_order_id, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
