/*  Unit tests of provider-bazaar's BazaarPay half: every BazaarPay answer ->
 *  job outcome (providers.md 1.6 and 1.9, pm_proto.h "BazaarPay jobs"), the
 *  request URLs and bodies, the payment URL handed to the user and the
 *  reasons made from DRF error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../provider-bazaar/pb_bazaarpay.h"

#define BASE "http://127.0.0.1:8090/badje/v1/"
#define BACK "https://shop.example/back?order=42&x=a b"
#define BACK_ENC "https%3A%2F%2Fshop.example%2Fback%3Forder%3D42%26x%3Da%20b"
#define PAY "https://cafebazaar.ir/bazaar-pay/payment?token=3258455376"

/* True when s is what payment-core takes as a reason: at most
 * PBP_REASON_MAX bytes of well-formed UTF-8 without control characters. */
static bool s_reason_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    if (n > PBP_REASON_MAX)
        return false;
    while (i < n) {
        size_t k = u[i] < 0x80                    ? 1
                   : u[i] >= 0xc2 && u[i] <= 0xdf ? 2
                   : u[i] >= 0xe0 && u[i] <= 0xef ? 3
                   : u[i] >= 0xf0 && u[i] <= 0xf4 ? 4
                                                  : 0;
        if (k == 0 || n - i < k)
            return false;
        for (size_t j = 1; j < k; j++)
            if ((u[i + j] & 0xc0) != 0x80)
                return false;
        if (k == 1 && (u[i] < 0x20 || u[i] == 0x7f))
            return false;
        if (k == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)
            return false;
        i += k;
    }
    return true;
}

/* Classifies an HTTP answer to call; checks the outcome and, when reason
 * is not NULL, the reason. r is filled for more checks. */
static void s_http(pbp_call_t call, long status, const char *body, pb_outcome_t want,
                   const char *reason, pbp_result_t *r)
{
    pbp_answer_t a = {
        .transport = PBP_ANSWERED, .status = status, .body = body, .len = body ? strlen(body) : 0};
    pbp_classify(call, &a, BACK, NULL, r);
    if (r->outcome != want)
        fail_msg("%s %ld %s: got %s (%s), want %s", pbp_kind(call), status, body ? body : "(none)",
                 pb_outcome_name(r->outcome), r->reason, pb_outcome_name(want));
    if (reason)
        assert_string_equal(r->reason, reason);
    if (!s_reason_ok(r->reason))
        fail_msg("%s %ld: reason is not valid text: %s", pbp_kind(call), status, r->reason);
    if (want != PB_OK && r->reason[0] == '\0')
        fail_msg("%s %ld: a failure without a reason", pbp_kind(call), status);
}

/* The same, for checks of the outcome and reason only. */
static void s_check(pbp_call_t call, long status, const char *body, pb_outcome_t want,
                    const char *reason)
{
    pbp_result_t *r = malloc(sizeof *r);
    assert_non_null(r);
    s_http(call, status, body, want, reason, r);
    free(r);
}

/* A call that got no HTTP answer. */
static void s_transport(pbp_call_t call, pbp_transport_t t, const char *error, const char *reason)
{
    pbp_result_t *r = malloc(sizeof *r);
    assert_non_null(r);
    pbp_answer_t a = {.transport = t, .error = error};
    pbp_classify(call, &a, BACK, NULL, r);
    assert_int_equal(r->outcome, PB_UNKNOWN);
    assert_string_equal(r->reason, reason);
    free(r);
}

static void test_kinds_and_urls(void **state)
{
    (void)state;
    static const char *const kinds[] = {"bazaarpay_init", "bazaarpay_trace", "bazaarpay_commit",
                                        "bazaarpay_refund"};
    static const char *const urls[] = {BASE "checkout/init/", BASE "trace/", BASE "commit/",
                                       BASE "refund/"};
    char url[256];
    for (int i = 0; i < PBP_CALLS; i++) {
        pbp_call_t c;
        assert_string_equal(pbp_kind((pbp_call_t)i), kinds[i]);
        assert_true(pbp_kind_parse(kinds[i], &c));
        assert_int_equal(c, i);
        assert_int_equal(pbp_url(url, sizeof url, BASE, (pbp_call_t)i), 0);
        assert_string_equal(url, urls[i]); /* trailing slash on every path */
    }
    pbp_call_t c;
    assert_false(pbp_kind_parse("bazaar_validate", &c));
    assert_false(pbp_kind_parse("bazaarpay_", &c));
    assert_false(pbp_kind_parse("bazaarpay_init ", &c));
    char small[sizeof BASE + 6]; /* exactly BASE "trace/" */
    assert_int_equal(pbp_url(small, sizeof small, BASE, PBP_INIT), -1);
    assert_int_equal(pbp_url(small, sizeof small, BASE, PBP_TRACE), 0);
}

static void test_checkout_tokens(void **state)
{
    (void)state;
    assert_true(pbp_token_valid("3258455376", 10));
    assert_true(pbp_token_valid("AbC019zZ", 8));
    char t[PBP_TOKEN_MAX + 2];
    memset(t, '7', sizeof t);
    assert_true(pbp_token_valid(t, PBP_TOKEN_MAX));
    assert_false(pbp_token_valid(t, PBP_TOKEN_MAX + 1));
    assert_false(pbp_token_valid("", 0));
    assert_false(pbp_token_valid(NULL, 0));
    assert_false(pbp_token_valid("12-34", 5));
    assert_false(pbp_token_valid("12 34", 5));
    assert_false(pbp_token_valid("12/..", 5));
    assert_false(pbp_token_valid("\xd9\xa1", 2)); /* an Arabic-Indic digit is no ASCII digit */
}

static void test_request_bodies(void **state)
{
    (void)state;
    char *body = pbp_init_body(120000, "paymesh-demo", "100 coins / \"gold\"");
    assert_string_equal(body, "{\"amount\":120000,\"destination\":\"paymesh-demo\","
                              "\"service_name\":\"100 coins / \\\"gold\\\"\"}");
    free(body);
    body = pbp_init_body(0, "d", "\xd8\xb3\xda\xa9\xd9\x87"); /* UTF-8 is kept as it is */
    assert_string_equal(body, "{\"amount\":0,\"destination\":\"d\",\"service_name\":"
                              "\"\xd8\xb3\xda\xa9\xd9\x87\"}");
    free(body);
    body = pbp_init_body(INT64_MAX, "d", "s"); /* BazaarPay judges the amount, not we */
    assert_string_equal(body, "{\"amount\":9223372036854775807,\"destination\":\"d\","
                              "\"service_name\":\"s\"}");
    free(body);
    body = pbp_token_body("3258455376");
    assert_string_equal(body, "{\"checkout_token\":\"3258455376\"}");
    free(body);
}

static void test_payment_url_appends_encoded_parameters(void **state)
{
    (void)state;
    char url[PBP_CHECKOUT_URL_MAX + 1];
    /* A query already: '&'. */
    assert_int_equal(pbp_payment_url(url, sizeof url, PAY, BACK, NULL), 0);
    assert_string_equal(url, PAY "&redirect_url=" BACK_ENC);
    assert_int_equal(pbp_payment_url(url, sizeof url, PAY, BACK, ""), 0);
    assert_string_equal(url, PAY "&redirect_url=" BACK_ENC);
    assert_int_equal(pbp_payment_url(url, sizeof url, PAY, BACK, "09123456789"), 0);
    assert_string_equal(url, PAY "&redirect_url=" BACK_ENC "&phone=09123456789");
    assert_int_equal(pbp_payment_url(url, sizeof url, PAY, BACK, "+98 912"), 0);
    assert_string_equal(url, PAY "&redirect_url=" BACK_ENC "&phone=%2B98%20912");
    /* No query: '?'. */
    assert_int_equal(
        pbp_payment_url(url, sizeof url, "https://pay.example/p/123", "https://a/", NULL), 0);
    assert_string_equal(url, "https://pay.example/p/123?redirect_url=https%3A%2F%2Fa%2F");
    /* A query that ends with its separator gets no second one. */
    assert_int_equal(pbp_payment_url(url, sizeof url, "https://p/x?", "r", NULL), 0);
    assert_string_equal(url, "https://p/x?redirect_url=r");
    assert_int_equal(pbp_payment_url(url, sizeof url, "https://p/x?a=1&", "r", NULL), 0);
    assert_string_equal(url, "https://p/x?a=1&redirect_url=r");
    /* A fragment stays last; a '?' inside it is not a query. */
    assert_int_equal(pbp_payment_url(url, sizeof url, "https://p/x#top?no", "r", "1"), 0);
    assert_string_equal(url, "https://p/x?redirect_url=r&phone=1#top?no");
    assert_int_equal(pbp_payment_url(url, sizeof url, "https://p/x?t=1#f", "r", NULL), 0);
    assert_string_equal(url, "https://p/x?t=1&redirect_url=r#f");
    /* UTF-8 and every reserved character are encoded. */
    assert_int_equal(pbp_payment_url(url, sizeof url, PAY, "https://x/\xd8\xa8?#&=+%", NULL), 0);
    assert_string_equal(url, PAY "&redirect_url=https%3A%2F%2Fx%2F%D8%A8%3F%23%26%3D%2B%25");
    /* Too small a buffer fails cleanly. */
    char small[sizeof PAY + 16];
    assert_int_equal(pbp_payment_url(small, sizeof small, PAY, BACK, NULL), -1);
    assert_string_equal(small, "");
    /* The largest job still fits PBP_CHECKOUT_URL_MAX. */
    static char pay[PBP_PAYMENT_URL_MAX + 1], back[PBP_REDIRECT_URL_MAX + 1],
        phone[PBP_PHONE_MAX + 1];
    memset(pay, 'p', PBP_PAYMENT_URL_MAX);
    memcpy(pay, "https://p/?", 11);
    memset(back, '/', PBP_REDIRECT_URL_MAX);
    memset(phone, ' ', PBP_PHONE_MAX);
    assert_int_equal(pbp_payment_url(url, sizeof url, pay, back, phone), 0);
}

static void test_init_ok(void **state)
{
    (void)state;
    pbp_result_t *r = malloc(sizeof *r);
    assert_non_null(r);
    s_http(PBP_INIT, 200, "{\"checkout_token\": \"3258455376\", \"payment_url\": \"" PAY "\"}",
           PB_OK, "", r);
    assert_string_equal(r->checkout_token, "3258455376");
    assert_string_equal(r->payment_url, PAY "&redirect_url=" BACK_ENC);
    assert_string_equal(r->status, "");
    /* With a phone, and a payment_url without a query. */
    const char *body = "{\"payment_url\": \"https://app.bazaar-pay.ir/payment/abc\", "
                       "\"checkout_token\": \"abc\", \"extra\": [1, 2]}";
    pbp_answer_t a = {.transport = PBP_ANSWERED, .status = 200, .body = body, .len = strlen(body)};
    pbp_classify(PBP_INIT, &a, "https://a/", "09123456789", r);
    assert_int_equal(r->outcome, PB_OK);
    assert_string_equal(r->checkout_token, "abc");
    assert_string_equal(r->payment_url, "https://app.bazaar-pay.ir/payment/abc?redirect_url="
                                        "https%3A%2F%2Fa%2F&phone=09123456789");
    free(r);
}

static void test_init_unreadable_200_is_unknown(void **state)
{
    (void)state;
    static const char *const bad_token[] = {
        "{\"checkout_token\": \"\", \"payment_url\": \"" PAY "\"}",
        "{\"checkout_token\": \"12-3\", \"payment_url\": \"" PAY "\"}",
        "{\"checkout_token\": \"tok en\", \"payment_url\": \"" PAY "\"}",
        "{\"checkout_token\": \"12345678901234567890123456789012345678901234567890123456789012345"
        "\", \"payment_url\": \"" PAY "\"}", /* 65 bytes */
    };
    for (size_t i = 0; i < sizeof bad_token / sizeof bad_token[0]; i++)
        s_check(PBP_INIT, 200, bad_token[i], PB_UNKNOWN,
                "bazaarpay sent an init answer without a usable checkout_token");
    static const char *const bad_url[] = {
        "{\"checkout_token\": \"1\", \"payment_url\": \"\"}",
        "{\"checkout_token\": \"1\", \"payment_url\": \"ftp://cafebazaar.ir/pay\"}",
        "{\"checkout_token\": \"1\", \"payment_url\": \"javascript:alert(1)\"}",
        "{\"checkout_token\": \"1\", \"payment_url\": \"https://\"}",
        "{\"checkout_token\": \"1\", \"payment_url\": \"https:///path\"}",
        "{\"checkout_token\": \"1\", \"payment_url\": \"https://a b/\"}",
        "{\"checkout_token\": \"1\", \"payment_url\": \"https://a/\\r\\nSet-Cookie: x\"}",
        "{\"checkout_token\": \"1\", \"payment_url\": \"https://a/\xd8\xa8\"}",
    };
    for (size_t i = 0; i < sizeof bad_url / sizeof bad_url[0]; i++)
        s_check(PBP_INIT, 200, bad_url[i], PB_UNKNOWN,
                "bazaarpay sent an init answer without a usable payment_url");
    /* A payment_url longer than PBP_PAYMENT_URL_MAX. */
    size_t cap = PBP_PAYMENT_URL_MAX + 128;
    char *big = malloc(cap);
    assert_non_null(big);
    int n = snprintf(big, cap, "{\"checkout_token\": \"1\", \"payment_url\": \"https://a/");
    memset(big + n, 'x', PBP_PAYMENT_URL_MAX - 9); /* 2049 bytes with "https://a/" */
    strcpy(big + n + PBP_PAYMENT_URL_MAX - 9, "\"}");
    s_check(PBP_INIT, 200, big, PB_UNKNOWN,
            "bazaarpay sent an init answer without a usable payment_url");
    /* One byte less is taken. */
    strcpy(big + n + PBP_PAYMENT_URL_MAX - 10, "\"}");
    s_check(PBP_INIT, 200, big, PB_OK, "");
    free(big);
    static const char *const unreadable[] = {
        NULL,
        "",
        "not json",
        "[\"3258455376\"]",
        "{\"checkout_token\": \"1\"}",
        "{\"payment_url\": \"" PAY "\"}",
        "{\"checkout_token\": 3258455376, \"payment_url\": \"" PAY "\"}",
        "{\"checkout_token\": \"1\", \"payment_url\": null}",
        "{\"checkout_token\": \"1\", \"payment_url\": \"" PAY "\"} trailing",
        "{\"checkout_token\": \"1\", \"payment_url\": \"" PAY "\"",
    };
    for (size_t i = 0; i < sizeof unreadable / sizeof unreadable[0]; i++)
        s_check(PBP_INIT, 200, unreadable[i], PB_UNKNOWN,
                "bazaarpay sent an unreadable init answer");
}

static void test_init_drf_errors_are_rejected(void **state)
{
    (void)state;
    s_check(PBP_INIT, 400,
            "{\"amount\": [\"Ensure this value is less than or equal to 1000000000.\"]}",
            PB_REJECTED, "amount: Ensure this value is less than or equal to 1000000000.");
    s_check(PBP_INIT, 400, "{\"detail\": \"Insufficient balance.\"}", PB_REJECTED,
            "Insufficient balance.");
    /* detail may be an array of strings. */
    s_check(PBP_INIT, 400, "{\"detail\": [\"User contract is not active.\"]}", PB_REJECTED,
            "User contract is not active.");
    s_check(PBP_INIT, 400, "{\"detail\": [\"One.\", 7, \"Two.\"]}", PB_REJECTED, "One. Two.");
    /* detail wins over the v2 code. */
    s_check(PBP_INIT, 400, "{\"detail\": \"The request is invalid.\", \"code\": \"invalid\"}",
            PB_REJECTED, "The request is invalid.");
    /* Several fields, several messages, in the order sent. */
    s_check(PBP_INIT, 400,
            "{\"destination\": [\"This field may not be null.\"], \"service_name\": "
            "[\"This field is required.\", \"Too long.\"]}",
            PB_REJECTED,
            "destination: This field may not be null.; service_name: This field is required. "
            "Too long.");
    s_check(PBP_INIT, 400, "{\"non_field_errors\": [\"Merchant is not active.\"]}", PB_REJECTED,
            "Merchant is not active.");
    s_check(PBP_INIT, 400, "{\"amount\": \"A string, not a list.\"}", PB_REJECTED,
            "amount: A string, not a list.");
    s_check(PBP_INIT, 404, "{\"detail\": \"Not found.\"}", PB_REJECTED, "Not found.");
    /* An empty or odd detail gives way to the fields. */
    s_check(PBP_INIT, 400, "{\"detail\": \"\", \"amount\": [\"Bad.\"]}", PB_REJECTED,
            "amount: Bad.");
    s_check(PBP_INIT, 400, "{\"detail\": {\"x\": 1}, \"amount\": [\"Bad.\"]}", PB_REJECTED,
            "amount: Bad.");
    /* Persian text is kept. */
    s_check(PBP_INIT, 400, "{\"detail\": \"\xd9\x85\xd9\x88\xd8\xac\xd9\x88\xd8\xaf\xdb\x8c\"}",
            PB_REJECTED, "\xd9\x85\xd9\x88\xd8\xac\xd9\x88\xd8\xaf\xdb\x8c");
}

static void test_init_credentials_refused_is_rejected(void **state)
{
    (void)state;
    s_check(PBP_INIT, 401, "{\"detail\": \"Information not submitted for validation.\"}",
            PB_REJECTED,
            "bazaarpay refused our merchant token (http 401): Information not submitted for "
            "validation.");
    s_check(PBP_INIT, 403, "{\"detail\": \"You do not have the necessary access..\"}", PB_REJECTED,
            "bazaarpay refused our merchant token (http 403): You do not have the necessary "
            "access..");
    /* The status says it, whatever the body. */
    s_check(PBP_INIT, 403, "<html>forbidden</html>", PB_REJECTED,
            "bazaarpay refused our merchant token (http 403)");
    s_check(PBP_INIT, 401, NULL, PB_REJECTED, "bazaarpay refused our merchant token (http 401)");
}

static void test_init_unknowns(void **state)
{
    (void)state;
    /* 5xx, whatever the body: never a rejection. */
    s_check(PBP_INIT, 500, "{\"detail\": \"A server-side error has occurred.\"}", PB_UNKNOWN,
            "bazaarpay answered http 500: A server-side error has occurred.");
    s_check(PBP_INIT, 503,
            "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
            "<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
            PB_UNKNOWN, "bazaarpay answered http 503");
    s_check(PBP_INIT, 502, NULL, PB_UNKNOWN, "bazaarpay answered http 502");
    /* A 4xx that is not BazaarPay's: nothing is known. */
    s_check(PBP_INIT, 404, "<html>no such page</html>", PB_UNKNOWN, "bazaarpay answered http 404");
    s_check(PBP_INIT, 400, "{}", PB_UNKNOWN, "bazaarpay answered http 400");
    s_check(PBP_INIT, 400, "{\"amount\": [7], \"detail\": null}", PB_UNKNOWN,
            "bazaarpay answered http 400");
    s_check(PBP_INIT, 400, "{\"detail\": \"x\"", PB_UNKNOWN, "bazaarpay answered http 400");
    /* Busy is not no. */
    s_check(PBP_INIT, 429, "{\"detail\": \"Request was throttled.\"}", PB_UNKNOWN,
            "bazaarpay answered http 429: Request was throttled.");
    s_check(PBP_INIT, 408, NULL, PB_UNKNOWN, NULL);
    /* Another success, a redirect (never followed), a 1xx. */
    s_check(PBP_INIT, 201, "{\"checkout_token\": \"1\", \"payment_url\": \"" PAY "\"}", PB_UNKNOWN,
            "bazaarpay answered http 201, not 200");
    s_check(PBP_INIT, 302, NULL, PB_UNKNOWN, "bazaarpay answered http 302");
    s_check(PBP_INIT, 100, NULL, PB_UNKNOWN, NULL);
    s_transport(PBP_INIT, PBP_TIMEOUT, NULL, "timeout");
    s_transport(PBP_INIT, PBP_TOO_LARGE, NULL, "bazaarpay answer larger than max-response-bytes");
    s_transport(PBP_INIT, PBP_NO_ANSWER, "Couldn't connect to server",
                "bazaarpay unreachable: Couldn't connect to server");
    s_transport(PBP_INIT, PBP_NO_ANSWER, NULL, "bazaarpay unreachable: no answer");
}

static void test_trace_statuses(void **state)
{
    (void)state;
    static const char *const documented[] = {
        "invalid_token",  "unpaid",   "paid_not_committed", "paid_not_committed_refunded",
        "paid_committed", "refunded", "timed_out",
    };
    pbp_result_t *r = malloc(sizeof *r);
    assert_non_null(r);
    for (size_t i = 0; i < sizeof documented / sizeof documented[0]; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"status\": \"%s\"}", documented[i]);
        s_http(PBP_TRACE, 200, body, PB_OK, "", r);
        assert_string_equal(r->status, documented[i]);
        assert_string_equal(r->checkout_token, "");
        assert_string_equal(r->payment_url, "");
    }
    free(r);
    /* An undocumented status is named, and never taken as a known one. */
    s_check(PBP_TRACE, 200, "{\"status\": \"paid\"}", PB_UNKNOWN,
            "bazaarpay sent an undocumented trace status \"paid\"");
    s_check(PBP_TRACE, 200, "{\"status\": \"PAID_COMMITTED\"}", PB_UNKNOWN,
            "bazaarpay sent an undocumented trace status \"PAID_COMMITTED\"");
    s_check(PBP_TRACE, 200, "{\"status\": \"unpaid \"}", PB_UNKNOWN,
            "bazaarpay sent an undocumented trace status \"unpaid \"");
    s_check(PBP_TRACE, 200, "{\"status\": \"unpaid\\u0000x\"}", PB_UNKNOWN,
            "bazaarpay sent an undocumented trace status \"unpaid x\"");
    s_check(PBP_TRACE, 200, "{\"status\": \"\"}", PB_UNKNOWN,
            "bazaarpay sent an undocumented trace status \"\"");
    /* A long one is cut. */
    s_check(
        PBP_TRACE, 200,
        "{\"status\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
        PB_UNKNOWN,
        "bazaarpay sent an undocumented trace status "
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
    static const char *const unreadable[] = {
        NULL,
        "",
        "{}",
        "{\"status\": 1}",
        "{\"status\": null}",
        "{\"status\": [\"unpaid\"]}",
        "[]",
        "unpaid",
        "{\"status\": \"unpaid\"} {}",
    };
    for (size_t i = 0; i < sizeof unreadable / sizeof unreadable[0]; i++)
        s_check(PBP_TRACE, 200, unreadable[i], PB_UNKNOWN,
                "bazaarpay sent an unreadable trace answer");
}

static void test_trace_failures_are_never_rejected(void **state)
{
    (void)state;
    s_check(PBP_TRACE, 400, "{\"checkout_token\": [\"This field is required.\"]}", PB_UNKNOWN,
            "bazaarpay answered http 400: checkout_token: This field is required.");
    s_check(PBP_TRACE, 401, "{\"detail\": \"Information not submitted for validation.\"}",
            PB_UNKNOWN,
            "bazaarpay refused our merchant token (http 401): Information not submitted for "
            "validation.");
    s_check(PBP_TRACE, 403, NULL, PB_UNKNOWN, "bazaarpay refused our merchant token (http 403)");
    s_check(PBP_TRACE, 404, "{\"detail\": \"Not found.\"}", PB_UNKNOWN,
            "bazaarpay answered http 404: Not found.");
    s_check(PBP_TRACE, 500, "{\"detail\": \"Internal Server Error\"}", PB_UNKNOWN,
            "bazaarpay answered http 500: Internal Server Error");
    s_check(PBP_TRACE, 503, "<html>503</html>", PB_UNKNOWN, "bazaarpay answered http 503");
    s_check(PBP_TRACE, 204, NULL, PB_UNKNOWN, "bazaarpay answered http 204, not 200");
    s_transport(PBP_TRACE, PBP_TIMEOUT, NULL, "timeout");
    s_transport(PBP_TRACE, PBP_TOO_LARGE, NULL, "bazaarpay answer larger than max-response-bytes");
    s_transport(PBP_TRACE, PBP_NO_ANSWER, "Server returned nothing (no headers, no data)",
                "bazaarpay unreachable: Server returned nothing (no headers, no data)");
}

static void test_commit_and_refund(void **state)
{
    (void)state;
    const pbp_call_t calls[] = {PBP_COMMIT, PBP_REFUND};
    for (size_t i = 0; i < 2; i++) {
        pbp_call_t c = calls[i];
        s_check(c, 204, NULL, PB_OK, "");
        /* 204 says applied; a body (which HTTP does not allow) changes nothing. */
        s_check(c, 204, "{\"detail\": \"Not applied.\"}", PB_OK, "");
        s_check(c, 204, "<html>odd</html>", PB_OK, "");
        /* Only 204 is success: another 2xx is not known to be applied. */
        s_check(c, 200, "{}", PB_UNKNOWN, "bazaarpay answered http 200, not 204");
        s_check(c, 202, NULL, PB_UNKNOWN, "bazaarpay answered http 202, not 204");
        /* BazaarPay's no. */
        s_check(c, 400, "{\"detail\": \"Checkout is not paid.\"}", PB_REJECTED,
                "Checkout is not paid.");
        s_check(c, 400, "{\"checkout_token\": [\"Invalid checkout token.\"]}", PB_REJECTED,
                "checkout_token: Invalid checkout token.");
        s_check(c, 400, "{\"detail\": [\"Already refunded.\", \"Really.\"]}", PB_REJECTED,
                "Already refunded. Really.");
        s_check(c, 404, "{\"detail\": \"Not found.\"}", PB_REJECTED, "Not found.");
        s_check(c, 401, "{\"detail\": \"Information not submitted for validation.\"}", PB_REJECTED,
                "bazaarpay refused our merchant token (http 401): Information not submitted for "
                "validation.");
        s_check(c, 403, NULL, PB_REJECTED, "bazaarpay refused our merchant token (http 403)");
        /* Nothing known: the call may have been applied. */
        s_check(c, 400, "garbage", PB_UNKNOWN, "bazaarpay answered http 400");
        s_check(c, 404, "<html>not here</html>", PB_UNKNOWN, "bazaarpay answered http 404");
        s_check(c, 429, "{\"detail\": \"Slow down.\"}", PB_UNKNOWN,
                "bazaarpay answered http 429: Slow down.");
        s_check(c, 500, "{\"detail\": \"A server-side error has occurred.\"}", PB_UNKNOWN,
                "bazaarpay answered http 500: A server-side error has occurred.");
        s_check(c, 502, "<html><body>502 Bad Gateway</body></html>", PB_UNKNOWN,
                "bazaarpay answered http 502");
        s_check(c, 503, "<html>503 Service Temporarily Unavailable</html>", PB_UNKNOWN,
                "bazaarpay answered http 503");
        s_check(c, 504, NULL, PB_UNKNOWN, "bazaarpay answered http 504");
        s_check(c, 301, NULL, PB_UNKNOWN, "bazaarpay answered http 301");
        s_transport(c, PBP_TIMEOUT, NULL, "timeout");
        s_transport(c, PBP_TOO_LARGE, NULL, "bazaarpay answer larger than max-response-bytes");
        s_transport(c, PBP_NO_ANSWER, "Failure when receiving data from the peer",
                    "bazaarpay unreachable: Failure when receiving data from the peer");
    }
}

static void test_reasons_are_bounded_text(void **state)
{
    (void)state;
    /* A long Persian detail is cut at a character boundary, with "...". */
    char body[4096];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"detail\": \"");
    for (int i = 0; i < 400; i++) {
        memcpy(body + n, "\xd8\xa8", 2); /* two bytes a character */
        n += 2;
    }
    body[n++] = 'x'; /* so that a cut falls inside a character */
    memcpy(body + n, "\"}", 3);
    pbp_result_t *r = malloc(sizeof *r);
    assert_non_null(r);
    s_http(PBP_COMMIT, 400, body, PB_REJECTED, NULL, r);
    size_t len = strlen(r->reason);
    assert_true(len <= PBP_REASON_MAX && len >= PBP_REASON_MAX - 4);
    assert_string_equal(r->reason + len - 3, "...");
    /* The same behind a prefix. */
    s_http(PBP_INIT, 403, body, PB_REJECTED, NULL, r);
    assert_true(strncmp(r->reason, "bazaarpay refused our merchant token (http 403): ", 49) == 0);
    assert_string_equal(r->reason + strlen(r->reason) - 3, "...");
    /* Many fields. */
    n = (size_t)snprintf(body, sizeof body, "{");
    for (int i = 0; i < 60; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s\"field_%d\": [\"Bad value.\"]",
                              i ? ", " : "", i);
    snprintf(body + n, sizeof body - n, "}");
    s_http(PBP_REFUND, 400, body, PB_REJECTED, NULL, r);
    assert_true(strncmp(r->reason, "field_0: Bad value.; field_1: Bad value.; ", 42) == 0);
    assert_string_equal(r->reason + strlen(r->reason) - 3, "...");
    /* Control characters, NUL included, become spaces; invalid UTF-8 '?'. */
    s_http(PBP_COMMIT, 400, "{\"detail\": \"line\\none\\ttab\\u0000nul\\u0085c1\\u007fdel\"}",
           PB_REJECTED, "line one tab nul c1 del", r);
    s_http(PBP_COMMIT, 400, "{\"detail\": \"bad \xff\xfe byte \xc0\xaf overlong\"}", PB_REJECTED,
           "bad ?? byte ?? overlong", r);
    s_http(PBP_COMMIT, 400, "{\"bad\\u0001key\": [\"m\"]}", PB_REJECTED, "bad key: m", r);
    free(r);
}

static void test_error_text(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(pbp_error_text("{\"detail\": \"short\"}", 19, out, sizeof out), 0);
    assert_string_equal(out, "short");
    const char *body = "{\"detail\": \"a message longer than the buffer given\"}";
    assert_int_equal(pbp_error_text(body, strlen(body), out, sizeof out), 0);
    assert_string_equal(out, "a message longer than the bu...");
    static const char *const none[] = {
        "{}",
        "{\"detail\": 5}",
        "{\"detail\": []}",
        "{\"detail\": [\"\"]}",
        "{\"amount\": [{\"nested\": [\"x\"]}]}",
        "{\"amount\": {\"nested\": [\"x\"]}}",
        "[\"Bad.\"]",
        "\"Bad.\"",
        "",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        assert_int_equal(pbp_error_text(none[i], strlen(none[i]), out, sizeof out), -1);
        assert_string_equal(out, "");
    }
    assert_int_equal(pbp_error_text(NULL, 0, out, sizeof out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_and_urls),
        cmocka_unit_test(test_checkout_tokens),
        cmocka_unit_test(test_request_bodies),
        cmocka_unit_test(test_payment_url_appends_encoded_parameters),
        cmocka_unit_test(test_init_ok),
        cmocka_unit_test(test_init_unreadable_200_is_unknown),
        cmocka_unit_test(test_init_drf_errors_are_rejected),
        cmocka_unit_test(test_init_credentials_refused_is_rejected),
        cmocka_unit_test(test_init_unknowns),
        cmocka_unit_test(test_trace_statuses),
        cmocka_unit_test(test_trace_failures_are_never_rejected),
        cmocka_unit_test(test_commit_and_refund),
        cmocka_unit_test(test_reasons_are_bounded_text),
        cmocka_unit_test(test_error_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
