/*  Unit tests of the sandbox's simulated BazaarPay: the checkout life cycle
 *  (init, trace of every status, pay, commit twice, refund once, cancel,
 *  the commit window and the checkout TTL by time, expire), bounds, merchant
 *  authentication, redirect URLs and the payment page's escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../sandbox/bazaarpay.h"
#include "pm_ids.h"

enum { WINDOW_S = 600, TTL_S = 1800 };

static sb_bp_t *s_store(size_t max_checkouts)
{
    pm_ids_init();
    sb_bp_config_t cfg = {
        .merchant_token = "merchant-secret",
        .commit_window_s = WINDOW_S,
        .checkout_ttl_s = TTL_S,
        .max_checkouts = max_checkouts,
    };
    sb_bp_t *bp = sb_bp_new(&cfg);
    assert_non_null(bp);
    return bp;
}

/* A moment: the wall clock far from the monotonic one, as in real life. */
static sb_bp_now_t s_at(int64_t mono_ms)
{
    return (sb_bp_now_t){.wall_ms = 1795000000000 + mono_ms, .mono_ms = mono_ms};
}

/* A new checkout at time 0; its token copied into token. */
static void s_checkout(sb_bp_t *bp, char token[SB_BP_TOKEN_LEN + 1])
{
    const sb_bp_checkout_t *c = sb_bp_init(bp, 120000, "developers", "100 coins", s_at(0));
    assert_non_null(c);
    memcpy(token, c->token, SB_BP_TOKEN_LEN + 1);
}

static void test_init_makes_an_unpaid_checkout_with_a_numeric_token(void **state)
{
    (void)state;
    sb_bp_t *bp = s_store(10);
    const sb_bp_checkout_t *c = sb_bp_init(bp, 120000, "developers", "100 coins", s_at(5));
    assert_non_null(c);
    assert_int_equal(strlen(c->token), SB_BP_TOKEN_LEN);
    assert_int_equal(strspn(c->token, "0123456789"), SB_BP_TOKEN_LEN);
    assert_true(c->token[0] != '0');
    assert_int_equal(c->status, SB_BP_UNPAID);
    assert_int_equal(c->amount, 120000);
    assert_string_equal(c->destination, "developers");
    assert_string_equal(c->service_name, "100 coins");
    assert_int_equal(c->created_ms, 1795000000005);
    assert_int_equal(c->paid_ms, -1);
    assert_int_equal(c->refund_amount, -1);
    assert_int_equal(c->commits + c->commit_calls + c->refunds + c->refund_calls, 0);
    char token[SB_BP_TOKEN_LEN + 1];
    memcpy(token, c->token, sizeof token);
    const sb_bp_checkout_t *d = sb_bp_init(bp, 0, "developers", "free", s_at(6));
    assert_non_null(d);
    assert_string_not_equal(d->token, token);
    assert_ptr_equal(sb_bp_find(bp, d->token, s_at(6)), d);
    assert_int_equal(sb_bp_count(bp), 2);
    assert_string_equal(sb_bp_at(bp, 0, s_at(6))->token, token);
    sb_bp_destroy(&bp);
    sb_bp_destroy(&bp);
    assert_null(bp);
}

static void test_trace_names_every_status(void **state)
{
    (void)state;
    static const char *const names[] = {
        "invalid_token",  "unpaid",   "paid_not_committed", "paid_not_committed_refunded",
        "paid_committed", "refunded", "timed_out",
    };
    for (int s = SB_BP_INVALID_TOKEN; s <= SB_BP_TIMED_OUT; s++)
        assert_string_equal(sb_bp_status_name((sb_bp_status_t)s), names[s]);

    sb_bp_t *bp = s_store(10);
    char unpaid[13], paid[13], committed[13], refunded[13], returned[13], timed_out[13];
    s_checkout(bp, unpaid);
    s_checkout(bp, paid);
    s_checkout(bp, committed);
    s_checkout(bp, refunded);
    s_checkout(bp, returned);
    s_checkout(bp, timed_out);
    assert_int_equal(sb_bp_pay(bp, paid, s_at(10)), SB_BP_OK);
    assert_int_equal(sb_bp_pay(bp, committed, s_at(10)), SB_BP_OK);
    assert_int_equal(sb_bp_commit(bp, committed, s_at(20)), SB_BP_OK);
    assert_int_equal(sb_bp_pay(bp, refunded, s_at(10)), SB_BP_OK);
    assert_int_equal(sb_bp_refund(bp, refunded, -1, s_at(20)), SB_BP_OK);
    assert_int_equal(sb_bp_pay(bp, returned, s_at(10)), SB_BP_OK);
    assert_int_equal(sb_bp_expire(bp, returned, s_at(20)), SB_BP_OK);
    assert_int_equal(sb_bp_cancel(bp, timed_out, s_at(20)), SB_BP_OK);

    sb_bp_now_t now = s_at(30);
    assert_int_equal(sb_bp_trace(bp, unpaid, now), SB_BP_UNPAID);
    assert_int_equal(sb_bp_trace(bp, paid, now), SB_BP_PAID_NOT_COMMITTED);
    assert_int_equal(sb_bp_trace(bp, committed, now), SB_BP_PAID_COMMITTED);
    assert_int_equal(sb_bp_trace(bp, refunded, now), SB_BP_REFUNDED);
    assert_int_equal(sb_bp_trace(bp, returned, now), SB_BP_PAID_NOT_COMMITTED_REFUNDED);
    assert_int_equal(sb_bp_trace(bp, timed_out, now), SB_BP_TIMED_OUT);
    assert_int_equal(sb_bp_trace(bp, "1234567890", now), SB_BP_INVALID_TOKEN);
    assert_int_equal(sb_bp_trace(bp, "", now), SB_BP_INVALID_TOKEN);
    assert_null(sb_bp_find(bp, "1234567890", now));
    sb_bp_destroy(&bp);
}

static void test_pay_opens_the_commit_window_once(void **state)
{
    (void)state;
    sb_bp_t *bp = s_store(10);
    char token[SB_BP_TOKEN_LEN + 1];
    s_checkout(bp, token);
    assert_int_equal(sb_bp_pay(bp, "nope", s_at(1)), SB_BP_UNKNOWN);
    assert_int_equal(sb_bp_pay(bp, token, s_at(1000)), SB_BP_OK);
    const sb_bp_checkout_t *c = sb_bp_find(bp, token, s_at(1000));
    assert_int_equal(c->paid_ms, 1795000001000);
    assert_int_equal(c->status, SB_BP_PAID_NOT_COMMITTED);
    assert_int_equal(sb_bp_pay(bp, token, s_at(2000)), SB_BP_WRONG_STATE);
    assert_int_equal(sb_bp_cancel(bp, token, s_at(2000)), SB_BP_WRONG_STATE);
    assert_int_equal(c->paid_ms, 1795000001000);
    sb_bp_destroy(&bp);
}

static void test_commit_twice_is_one_transition_and_two_calls(void **state)
{
    (void)state;
    sb_bp_t *bp = s_store(10);
    char token[SB_BP_TOKEN_LEN + 1];
    s_checkout(bp, token);
    assert_int_equal(sb_bp_commit(bp, "nope", s_at(1)), SB_BP_UNKNOWN);
    assert_int_equal(sb_bp_commit(bp, token, s_at(1)), SB_BP_WRONG_STATE); /* unpaid */
    assert_int_equal(sb_bp_pay(bp, token, s_at(2)), SB_BP_OK);
    assert_int_equal(sb_bp_commit(bp, token, s_at(3)), SB_BP_OK);
    assert_int_equal(sb_bp_commit(bp, token, s_at(4)), SB_BP_ALREADY); /* 204 again */
    const sb_bp_checkout_t *c = sb_bp_find(bp, token, s_at(5));
    assert_int_equal(c->status, SB_BP_PAID_COMMITTED);
    assert_int_equal(c->commits, 1);
    assert_int_equal(c->commit_calls, 3);
    /* committed: the commit window no longer applies */
    assert_int_equal(sb_bp_trace(bp, token, s_at(WINDOW_S * 1000 * 10)), SB_BP_PAID_COMMITTED);
    sb_bp_destroy(&bp);
}

static void test_refund_once_per_checkout(void **state)
{
    (void)state;
    sb_bp_t *bp = s_store(10);
    char committed[13], uncommitted[13], unpaid[13];
    s_checkout(bp, committed);
    s_checkout(bp, uncommitted);
    s_checkout(bp, unpaid);
    assert_int_equal(sb_bp_refund(bp, unpaid, -1, s_at(1)), SB_BP_WRONG_STATE);
    assert_int_equal(sb_bp_refund(bp, "nope", -1, s_at(1)), SB_BP_UNKNOWN);
    assert_int_equal(sb_bp_pay(bp, committed, s_at(1)), SB_BP_OK);
    assert_int_equal(sb_bp_commit(bp, committed, s_at(2)), SB_BP_OK);
    assert_int_equal(sb_bp_refund(bp, committed, 120001, s_at(3)), SB_BP_TOO_MUCH);
    assert_int_equal(sb_bp_refund(bp, committed, 50000, s_at(4)), SB_BP_OK);
    assert_int_equal(sb_bp_refund(bp, committed, -1, s_at(5)), SB_BP_ALREADY);
    const sb_bp_checkout_t *c = sb_bp_find(bp, committed, s_at(6));
    assert_int_equal(c->status, SB_BP_REFUNDED);
    assert_int_equal(c->refunds, 1);
    assert_int_equal(c->refund_calls, 3);
    assert_int_equal(c->refund_amount, 50000); /* the first refund's amount stands */
    assert_int_equal(sb_bp_commit(bp, committed, s_at(7)), SB_BP_WRONG_STATE);
    /* paid, not committed: refundable too, all of it */
    assert_int_equal(sb_bp_pay(bp, uncommitted, s_at(1)), SB_BP_OK);
    assert_int_equal(sb_bp_refund(bp, uncommitted, -1, s_at(2)), SB_BP_OK);
    c = sb_bp_find(bp, uncommitted, s_at(3));
    assert_int_equal(c->status, SB_BP_REFUNDED);
    assert_int_equal(c->refund_amount, 120000);
    assert_int_equal(sb_bp_commit(bp, uncommitted, s_at(4)), SB_BP_WRONG_STATE);
    sb_bp_destroy(&bp);
}

static void test_commit_window_returns_the_money_by_time(void **state)
{
    (void)state;
    sb_bp_t *bp = s_store(10);
    char late[13], in_time[13];
    s_checkout(bp, late);
    s_checkout(bp, in_time);
    int64_t paid = 5000, closes = paid + WINDOW_S * 1000;
    assert_int_equal(sb_bp_pay(bp, late, s_at(paid)), SB_BP_OK);
    assert_int_equal(sb_bp_pay(bp, in_time, s_at(paid)), SB_BP_OK);
    assert_int_equal(sb_bp_trace(bp, late, s_at(closes - 1)), SB_BP_PAID_NOT_COMMITTED);
    assert_int_equal(sb_bp_commit(bp, in_time, s_at(closes - 1)), SB_BP_OK);
    assert_int_equal(sb_bp_trace(bp, late, s_at(closes)), SB_BP_PAID_NOT_COMMITTED_REFUNDED);
    assert_int_equal(sb_bp_trace(bp, in_time, s_at(closes)), SB_BP_PAID_COMMITTED);
    /* too late for anything the merchant does */
    assert_int_equal(sb_bp_commit(bp, late, s_at(closes + 1)), SB_BP_WRONG_STATE);
    assert_int_equal(sb_bp_refund(bp, late, -1, s_at(closes + 1)), SB_BP_WRONG_STATE);
    const sb_bp_checkout_t *c = sb_bp_find(bp, late, s_at(closes + 2));
    assert_int_equal(c->commits + c->refunds, 0);
    assert_int_equal(c->commit_calls, 1);
    assert_int_equal(c->refund_calls, 1);
    /* the lazy check happens on a listing too */
    char listed[13];
    s_checkout(bp, listed);
    assert_int_equal(sb_bp_pay(bp, listed, s_at(0)), SB_BP_OK);
    assert_int_equal(sb_bp_at(bp, 2, s_at(WINDOW_S * 1000))->status,
                     SB_BP_PAID_NOT_COMMITTED_REFUNDED);
    sb_bp_destroy(&bp);
}

static void test_unpaid_times_out_after_the_ttl(void **state)
{
    (void)state;
    sb_bp_t *bp = s_store(10);
    char token[SB_BP_TOKEN_LEN + 1];
    s_checkout(bp, token); /* at 0 */
    assert_int_equal(sb_bp_trace(bp, token, s_at(TTL_S * 1000 - 1)), SB_BP_UNPAID);
    assert_int_equal(sb_bp_trace(bp, token, s_at(TTL_S * 1000)), SB_BP_TIMED_OUT);
    assert_int_equal(sb_bp_pay(bp, token, s_at(TTL_S * 1000 + 1)), SB_BP_WRONG_STATE);
    sb_bp_destroy(&bp);
}

static void test_cancel_and_expire(void **state)
{
    (void)state;
    sb_bp_t *bp = s_store(10);
    char cancelled[13], unpaid[13], paid[13], committed[13];
    s_checkout(bp, cancelled);
    s_checkout(bp, unpaid);
    s_checkout(bp, paid);
    s_checkout(bp, committed);
    assert_int_equal(sb_bp_cancel(bp, "nope", s_at(1)), SB_BP_UNKNOWN);
    assert_int_equal(sb_bp_cancel(bp, cancelled, s_at(1)), SB_BP_OK);
    assert_int_equal(sb_bp_trace(bp, cancelled, s_at(2)), SB_BP_TIMED_OUT);
    assert_int_equal(sb_bp_cancel(bp, cancelled, s_at(3)), SB_BP_WRONG_STATE);
    assert_int_equal(sb_bp_pay(bp, cancelled, s_at(3)), SB_BP_WRONG_STATE);

    assert_int_equal(sb_bp_pay(bp, paid, s_at(1)), SB_BP_OK);
    assert_int_equal(sb_bp_pay(bp, committed, s_at(1)), SB_BP_OK);
    assert_int_equal(sb_bp_commit(bp, committed, s_at(2)), SB_BP_OK);
    assert_int_equal(sb_bp_expire(bp, unpaid, s_at(3)), SB_BP_OK);
    assert_int_equal(sb_bp_expire(bp, paid, s_at(3)), SB_BP_OK);
    assert_int_equal(sb_bp_expire(bp, committed, s_at(3)), SB_BP_ALREADY);
    assert_int_equal(sb_bp_expire(bp, paid, s_at(4)), SB_BP_ALREADY);
    assert_int_equal(sb_bp_expire(bp, "nope", s_at(4)), SB_BP_UNKNOWN);
    assert_int_equal(sb_bp_trace(bp, unpaid, s_at(4)), SB_BP_TIMED_OUT);
    assert_int_equal(sb_bp_trace(bp, paid, s_at(4)), SB_BP_PAID_NOT_COMMITTED_REFUNDED);
    assert_int_equal(sb_bp_trace(bp, committed, s_at(4)), SB_BP_PAID_COMMITTED);
    sb_bp_destroy(&bp);
}

static void test_store_is_bounded_and_finds_all(void **state)
{
    (void)state;
    enum { N = 3000 };
    sb_bp_t *bp = s_store(N);
    static char tokens[N][SB_BP_TOKEN_LEN + 1];
    for (int i = 0; i < N; i++) {
        const sb_bp_checkout_t *c = sb_bp_init(bp, i, "d", "s", s_at(i));
        assert_non_null(c);
        memcpy(tokens[i], c->token, SB_BP_TOKEN_LEN + 1);
    }
    assert_null(sb_bp_init(bp, 1, "d", "s", s_at(N)));
    for (int i = 0; i < N; i++) {
        const sb_bp_checkout_t *c = sb_bp_find(bp, tokens[i], s_at(N));
        assert_non_null(c);
        assert_int_equal(c->amount, i);
    }
    sb_bp_destroy(&bp);
}

static void test_merchant_token_header(void **state)
{
    (void)state;
    const char *t = "merchant-secret";
    assert_int_equal(sb_bp_authenticate("Token merchant-secret", t), SB_BP_AUTH_OK);
    assert_int_equal(sb_bp_authenticate("  token   merchant-secret ", t), SB_BP_AUTH_OK);
    assert_int_equal(sb_bp_authenticate(NULL, t), SB_BP_AUTH_MISSING);
    assert_int_equal(sb_bp_authenticate("", t), SB_BP_AUTH_MISSING);
    assert_int_equal(sb_bp_authenticate("Token", t), SB_BP_AUTH_MISSING);
    assert_int_equal(sb_bp_authenticate("Token  ", t), SB_BP_AUTH_MISSING);
    assert_int_equal(sb_bp_authenticate("Bearer merchant-secret", t), SB_BP_AUTH_MISSING);
    assert_int_equal(sb_bp_authenticate("merchant-secret", t), SB_BP_AUTH_MISSING);
    assert_int_equal(sb_bp_authenticate("Tokenmerchant-secret", t), SB_BP_AUTH_MISSING);
    assert_int_equal(sb_bp_authenticate("Token merchant-secreT", t), SB_BP_AUTH_WRONG);
    assert_int_equal(sb_bp_authenticate("Token merchant-secret2", t), SB_BP_AUTH_WRONG);
    assert_int_equal(sb_bp_authenticate("Token merchant", t), SB_BP_AUTH_WRONG);
}

static void test_redirect_urls(void **state)
{
    (void)state;
    assert_true(sb_bp_redirect_ok("http://127.0.0.1:8080/v1/bazaarpay/return?x=1"));
    assert_true(sb_bp_redirect_ok("HTTPS://shop.example/done"));
    assert_true(sb_bp_redirect_ok("https://shop.example"));
    assert_false(sb_bp_redirect_ok(NULL));
    assert_false(sb_bp_redirect_ok(""));
    assert_false(sb_bp_redirect_ok("http://"));
    assert_false(sb_bp_redirect_ok("https:///path"));
    assert_false(sb_bp_redirect_ok("javascript:alert(1)"));
    assert_false(sb_bp_redirect_ok("ftp://shop.example/"));
    assert_false(sb_bp_redirect_ok("//shop.example/"));
    assert_false(sb_bp_redirect_ok("/relative"));
    assert_false(sb_bp_redirect_ok("http://shop.example/\r\nSet-Cookie: a=b"));
    char *long_url = malloc(SB_BP_REDIRECT_MAX + 2);
    assert_non_null(long_url);
    memset(long_url, 'a', SB_BP_REDIRECT_MAX + 1);
    memcpy(long_url, "http://", 7);
    long_url[SB_BP_REDIRECT_MAX] = '\0';
    assert_true(sb_bp_redirect_ok(long_url));
    long_url[SB_BP_REDIRECT_MAX] = 'a';
    long_url[SB_BP_REDIRECT_MAX + 1] = '\0';
    assert_false(sb_bp_redirect_ok(long_url));
    free(long_url);
}

static void test_payment_page_shows_the_checkout_escaped(void **state)
{
    (void)state;
    sb_bp_t *bp = s_store(10);
    const sb_bp_checkout_t *c =
        sb_bp_init(bp, 1200000, "dev<s>", "<script>alert(\"x\")</script> & co", s_at(0));
    assert_non_null(c);
    size_t len = 0;
    char *page = sb_bp_page_html(c, "http://shop.example/r?a=1&b=\"2\"", "09123456789", &len);
    assert_non_null(page);
    assert_int_equal(strlen(page), len);
    assert_non_null(strstr(page, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
    assert_null(strstr(page, "<script>"));
    assert_non_null(strstr(page, "dev&lt;s&gt;"));
    assert_non_null(strstr(page, ">1,200,000</span> rials"));
    assert_non_null(strstr(page, "id=\"pay\""));
    assert_non_null(strstr(page, "id=\"cancel\""));
    assert_non_null(strstr(page, "action=\"/bazaarpay/payment/pay\""));
    assert_non_null(strstr(page, "action=\"/bazaarpay/payment/cancel\""));
    assert_non_null(strstr(page, "value=\"http://shop.example/r?a=1&amp;b=&quot;2&quot;\""));
    assert_non_null(strstr(page, c->token));
    assert_non_null(strstr(page, "09123456789"));
    free(page);
    /* a phone that is not one is not shown */
    page = sb_bp_page_html(c, "http://shop.example/", "<b>", &len);
    assert_non_null(page);
    assert_null(strstr(page, "<b>"));
    assert_null(strstr(page, "id=\"phone\""));
    free(page);
    sb_bp_destroy(&bp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_makes_an_unpaid_checkout_with_a_numeric_token),
        cmocka_unit_test(test_trace_names_every_status),
        cmocka_unit_test(test_pay_opens_the_commit_window_once),
        cmocka_unit_test(test_commit_twice_is_one_transition_and_two_calls),
        cmocka_unit_test(test_refund_once_per_checkout),
        cmocka_unit_test(test_commit_window_returns_the_money_by_time),
        cmocka_unit_test(test_unpaid_times_out_after_the_ttl),
        cmocka_unit_test(test_cancel_and_expire),
        cmocka_unit_test(test_store_is_bounded_and_finds_all),
        cmocka_unit_test(test_merchant_token_header),
        cmocka_unit_test(test_redirect_urls),
        cmocka_unit_test(test_payment_page_shows_the_checkout_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
