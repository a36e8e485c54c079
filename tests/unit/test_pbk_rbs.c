/*  Unit tests of provider-bank's Halkbank client (pbk_rbs) and the pieces
 *  it shares with TFEB's (pbk_wire): every request built, as exact form
 *  text; every RBS answer -> job outcome (providers.md 3.1-3.5, pm_proto.h
 *  "Bank jobs"), with errorCode as a string, a number or absent; each
 *  orderStatus; the rule for errorCode 7; pages that are no JSON; bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../provider-bank/pbk_rbs.h"

#define BASE "https://mpi.example/payment/rest/"
#define CREDS "userName=shop-api&password=p%40ss%26w%3Drd%20x"
#define UUID "c03365ad-af93-4ccf-85d3-3d3a3ae129d5"
#define FORM_URL "https://mpi.example/payment/merchants/online/payment_ru.html?mdOrder=" UUID

static const pbk_rbs_account_t s_acct = {
    .base_url = BASE, .username = "shop-api", .password = "p@ss&w=rd x"};

/* True when s is what payment-core takes as a reason: at most
 * PBK_REASON_MAX bytes of well-formed UTF-8 without control characters. */
static bool s_reason_ok(const char *s)
{
    return strlen(s) <= PBK_REASON_MAX && pbk_text_valid(s, strlen(s));
}

/* Classifies an HTTP answer to call into r; checks the outcome and, when
 * reason is not NULL, the reason. */
static void s_http(pbk_call_t call, long status, const char *body, pbk_outcome_t want,
                   const char *reason, pbk_result_t *r)
{
    pbk_answer_t a = {
        .transport = PBK_ANSWERED, .status = status, .body = body, .len = body ? strlen(body) : 0};
    pbk_rbs_classify(call, &a, r);
    if (r->outcome != want)
        fail_msg("%s %ld %s: got %s (%s), want %s", pbk_kind(call), status, body ? body : "(none)",
                 pbk_outcome_name(r->outcome), r->reason, pbk_outcome_name(want));
    if (reason)
        assert_string_equal(r->reason, reason);
    if (!s_reason_ok(r->reason))
        fail_msg("%s %ld: reason is not valid text: %s", pbk_kind(call), status, r->reason);
    if (want != PBK_OK && r->reason[0] == '\0')
        fail_msg("%s %ld: a failure without a reason", pbk_kind(call), status);
    if (want == PBK_OK && r->reason[0] != '\0')
        fail_msg("%s %ld: ok with a reason: %s", pbk_kind(call), status, r->reason);
}

/* The same, for checks of the outcome and reason only. */
static void s_check(pbk_call_t call, long status, const char *body, pbk_outcome_t want,
                    const char *reason)
{
    pbk_result_t *r = malloc(sizeof *r);
    assert_non_null(r);
    s_http(call, status, body, want, reason, r);
    free(r);
}

/* A status answer that is ok: checks the state, amount (-1: none) and code. */
static void s_state(const char *body, pbk_state_t want, int64_t amount, const char *code)
{
    pbk_result_t *r = malloc(sizeof *r);
    assert_non_null(r);
    s_http(PBK_STATUS, 200, body, PBK_OK, "", r);
    if (r->state != want)
        fail_msg("%s: state %s, want %s", body, pbk_state_name(r->state), pbk_state_name(want));
    assert_int_equal(r->has_amount, amount >= 0);
    if (amount >= 0)
        assert_int_equal(r->amount_minor, amount);
    if (code)
        assert_string_equal(r->code, code);
    free(r);
}

static pbk_order_t s_order(void)
{
    return (pbk_order_t){.order_number = "INV-2024_0001",
                         .amount_minor = 1750,
                         .currency = "934",
                         .return_url = "https://shop.example/back?order=42&x=y~",
                         .fail_url = NULL,
                         .description = NULL,
                         .language = NULL,
                         .two_phase = false};
}

/* ---- names and checks ------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    static const char *const kinds[] = {"bank_register", "bank_status", "bank_deposit",
                                        "bank_reverse", "bank_refund"};
    for (int i = 0; i < PBK_CALLS; i++) {
        pbk_call_t c;
        assert_string_equal(pbk_kind((pbk_call_t)i), kinds[i]);
        assert_true(pbk_kind_parse(kinds[i], &c));
        assert_int_equal(c, i);
    }
    pbk_call_t c;
    assert_false(pbk_kind_parse("bank_", &c));
    assert_false(pbk_kind_parse("bazaarpay_init", &c));
    assert_false(pbk_kind_parse("bank_status ", &c));
    assert_string_equal(pbk_rbs_method(PBK_REGISTER, false), "register.do");
    assert_string_equal(pbk_rbs_method(PBK_REGISTER, true), "registerPreAuth.do");
    assert_string_equal(pbk_rbs_method(PBK_STATUS, false), "getOrderStatusExtended.do");
    assert_string_equal(pbk_rbs_method(PBK_DEPOSIT, false), "deposit.do");
    assert_string_equal(pbk_rbs_method(PBK_REVERSE, false), "reverse.do");
    assert_string_equal(pbk_rbs_method(PBK_REFUND, false), "refund.do");
    assert_string_equal(pbk_state_name(PBK_STATE_REGISTERED), "registered");
    assert_string_equal(pbk_state_name(PBK_STATE_PENDING), "pending");
    assert_string_equal(pbk_state_name(PBK_STATE_PREAUTHORIZED), "preauthorized");
    assert_string_equal(pbk_state_name(PBK_STATE_PAID), "paid");
    assert_string_equal(pbk_state_name(PBK_STATE_REVERSED), "reversed");
    assert_string_equal(pbk_state_name(PBK_STATE_REFUNDED), "refunded");
    assert_string_equal(pbk_state_name(PBK_STATE_DECLINED), "declined");
    assert_string_equal(pbk_state_name(PBK_STATE_NOT_FOUND), "not_found");
    assert_string_equal(pbk_outcome_name(PBK_OK), "ok");
    assert_string_equal(pbk_outcome_name(PBK_REJECTED), "rejected");
    assert_string_equal(pbk_outcome_name(PBK_UNKNOWN), "unknown");
}

static void test_account_and_order_checks(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_int_equal(pbk_rbs_account_check(&s_acct, &why), 0);
    pbk_rbs_account_t a = s_acct;
    a.base_url = "https://mpi.example/payment/rest"; /* no trailing '/' */
    assert_int_equal(pbk_rbs_account_check(&a, &why), -1);
    assert_string_equal(why, "halkbank-base-url is not an http(s) URL ending with '/'");
    a.base_url = "https://mpi.example/rest/?x=/";
    assert_int_equal(pbk_rbs_account_check(&a, &why), -1);
    a.base_url = "ftp://mpi.example/rest/";
    assert_int_equal(pbk_rbs_account_check(&a, &why), -1);
    a.base_url = NULL;
    assert_int_equal(pbk_rbs_account_check(&a, &why), -1);
    a = s_acct;
    a.username = "";
    assert_int_equal(pbk_rbs_account_check(&a, &why), -1);
    a = s_acct;
    a.password = NULL;
    assert_int_equal(pbk_rbs_account_check(&a, &why), -1);
    char long_pw[PBK_RBS_CREDENTIAL_MAX + 2];
    memset(long_pw, 'p', sizeof long_pw - 1);
    long_pw[sizeof long_pw - 1] = '\0';
    a.password = long_pw;
    assert_int_equal(pbk_rbs_account_check(&a, &why), -1);
    long_pw[PBK_RBS_CREDENTIAL_MAX] = '\0';
    assert_int_equal(pbk_rbs_account_check(&a, &why), 0);

    pbk_order_t o = s_order();
    assert_int_equal(pbk_order_check(&o, &why), 0);
    o.fail_url = "http://shop.example/fail";
    o.description = "Sargyt \xe2\x84\x96 1"; /* UTF-8 */
    o.language = "ru";
    o.two_phase = true;
    assert_int_equal(pbk_order_check(&o, &why), 0);

    char n33[34];
    memset(n33, 'A', 33);
    n33[33] = '\0';
    static const char *const bad_numbers[] = {"", "a/b", "a b", "a.b", "\xd0\x90", NULL};
    for (int i = 0; i < 6; i++) {
        o = s_order();
        o.order_number = bad_numbers[i];
        assert_int_equal(pbk_order_check(&o, &why), -1);
    }
    o.order_number = n33;
    assert_int_equal(pbk_order_check(&o, &why), -1);
    n33[32] = '\0'; /* 32 bytes: the limit */
    assert_int_equal(pbk_order_check(&o, &why), 0);

    o = s_order();
    o.amount_minor = 0;
    assert_int_equal(pbk_order_check(&o, &why), -1);
    assert_string_equal(why, "amount_minor is out of range");
    o.amount_minor = -1750;
    assert_int_equal(pbk_order_check(&o, &why), -1);
    o.amount_minor = PBK_AMOUNT_MAX + 1;
    assert_int_equal(pbk_order_check(&o, &why), -1);
    o.amount_minor = PBK_AMOUNT_MAX;
    assert_int_equal(pbk_order_check(&o, &why), 0);

    static const char *const bad_currencies[] = {"TMT", "93", "9340", "", "93a", NULL};
    for (int i = 0; i < 6; i++) {
        o = s_order();
        o.currency = bad_currencies[i];
        assert_int_equal(pbk_order_check(&o, &why), -1);
    }
    static const char *const bad_urls[] = {"javascript:alert(1)", "https://",     "https:///x",
                                           "shop.example/back",   "https://a b/", NULL};
    for (int i = 0; i < 6; i++) {
        o = s_order();
        o.return_url = bad_urls[i];
        assert_int_equal(pbk_order_check(&o, &why), -1);
        o = s_order();
        o.fail_url = bad_urls[i];
        assert_int_equal(pbk_order_check(&o, &why), bad_urls[i] ? -1 : 0); /* NULL: none */
    }
    char url[PBK_RETURN_URL_MAX + 2];
    memset(url, 'a', sizeof url - 1);
    memcpy(url, "https://", 8);
    url[sizeof url - 1] = '\0'; /* 513 bytes */
    o = s_order();
    o.return_url = url;
    assert_int_equal(pbk_order_check(&o, &why), -1);
    url[PBK_RETURN_URL_MAX] = '\0';
    assert_int_equal(pbk_order_check(&o, &why), 0);

    char desc[PBK_DESCRIPTION_MAX + 2];
    memset(desc, 'd', sizeof desc - 1);
    desc[sizeof desc - 1] = '\0';
    o = s_order();
    o.description = desc;
    assert_int_equal(pbk_order_check(&o, &why), -1);
    desc[PBK_DESCRIPTION_MAX] = '\0';
    assert_int_equal(pbk_order_check(&o, &why), 0);
    o.description = "bad \xff byte";
    assert_int_equal(pbk_order_check(&o, &why), -1);
    o.description = "a\nnew line";
    assert_int_equal(pbk_order_check(&o, &why), -1);

    static const char *const bad_languages[] = {"RU", "rus", "r", "", "r1"};
    for (int i = 0; i < 5; i++) {
        o = s_order();
        o.language = bad_languages[i];
        assert_int_equal(pbk_order_check(&o, &why), -1);
    }
}

/* ---- requests ----------------------------------------------------------------- */

static void s_expect(const pbk_request_t *req, const char *url, const char *body)
{
    assert_true(req->post);
    assert_string_equal(req->url, url);
    assert_string_equal(req->body, body);
    assert_string_equal(req->content_type, "application/x-www-form-urlencoded");
    assert_string_equal(req->accept, "application/json");
    assert_string_equal(req->authorization, ""); /* credentials go in the body */
}

static void test_register_requests(void **state)
{
    (void)state;
    pbk_request_t req;
    const char *why = NULL;
    pbk_order_t o = s_order();
    assert_int_equal(pbk_rbs_register(&s_acct, &o, &req, &why), 0);
    s_expect(&req, BASE "register.do",
             CREDS "&orderNumber=INV-2024_0001&amount=1750&currency=934"
                   "&returnUrl=https%3A%2F%2Fshop.example%2Fback%3Forder%3D42%26x%3Dy~");
    pbk_request_clear(&req);
    pbk_request_clear(&req); /* safe twice */

    o.two_phase = true;
    o.fail_url = "https://shop.example/fail";
    o.description = "Sargyt \xe2\x84\x96 1 & 2+3=5 \"ok\"";
    o.language = "tk";
    assert_int_equal(pbk_rbs_register(&s_acct, &o, &req, &why), 0);
    s_expect(&req, BASE "registerPreAuth.do",
             CREDS "&orderNumber=INV-2024_0001&amount=1750&currency=934"
                   "&returnUrl=https%3A%2F%2Fshop.example%2Fback%3Forder%3D42%26x%3Dy~"
                   "&failUrl=https%3A%2F%2Fshop.example%2Ffail"
                   "&description=Sargyt%20%E2%84%96%201%20%26%202%2B3%3D5%20%22ok%22"
                   "&language=tk");
    pbk_request_clear(&req);

    o = s_order();
    o.amount_minor = PBK_AMOUNT_MAX;
    assert_int_equal(pbk_rbs_register(&s_acct, &o, &req, &why), 0);
    assert_non_null(strstr(req.body, "&amount=999999999999&"));
    pbk_request_clear(&req);

    /* Invalid input: -1, why set, nothing to release. */
    o.order_number = "../etc";
    assert_int_equal(pbk_rbs_register(&s_acct, &o, &req, &why), -1);
    assert_string_equal(why, "order_number is not 1..32 of [A-Za-z0-9_-]");
    assert_null(req.body);
    o = s_order();
    pbk_rbs_account_t a = s_acct;
    a.base_url = "https://mpi.example/payment/rest";
    assert_int_equal(pbk_rbs_register(&a, &o, &req, &why), -1);
    assert_null(req.body);
    /* Base URLs are at most 1024 bytes, so every method fits after one. */
    char base[1026];
    memset(base, 'a', sizeof base - 1);
    memcpy(base, "https://", 8);
    base[1023] = '/';
    base[1024] = '\0';
    a.base_url = base;
    assert_int_equal(pbk_rbs_register(&a, &o, &req, &why), 0);
    assert_int_equal(strlen(req.url), 1024 + strlen("register.do"));
    pbk_request_clear(&req);
    base[1024] = '/';
    base[1025] = '\0';
    assert_int_equal(pbk_rbs_register(&a, &o, &req, &why), -1);
    pbk_request_clear(&req);
}

static void test_order_requests(void **state)
{
    (void)state;
    pbk_request_t req;
    const char *why = NULL;
    assert_int_equal(pbk_rbs_status(&s_acct, UUID, &req, &why), 0);
    s_expect(&req, BASE "getOrderStatusExtended.do", CREDS "&orderId=" UUID);
    pbk_request_clear(&req);
    assert_int_equal(pbk_rbs_status_by_number(&s_acct, "INV-1", &req, &why), 0);
    s_expect(&req, BASE "getOrderStatusExtended.do", CREDS "&orderNumber=INV-1");
    pbk_request_clear(&req);
    assert_int_equal(pbk_rbs_deposit(&s_acct, UUID, 1750, &req, &why), 0);
    s_expect(&req, BASE "deposit.do", CREDS "&orderId=" UUID "&amount=1750");
    pbk_request_clear(&req);
    assert_int_equal(pbk_rbs_reverse(&s_acct, UUID, &req, &why), 0);
    s_expect(&req, BASE "reverse.do", CREDS "&orderId=" UUID);
    pbk_request_clear(&req);
    assert_int_equal(pbk_rbs_refund(&s_acct, UUID, 1, &req, &why), 0);
    s_expect(&req, BASE "refund.do", CREDS "&orderId=" UUID "&amount=1");
    pbk_request_clear(&req);

    /* Order ids: bounded, no path or form characters. */
    char id65[66];
    memset(id65, 'a', 65);
    id65[65] = '\0';
    static const char *const bad_ids[] = {"", "a/b", "a&b=c", "a b", "a%20", NULL};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(pbk_rbs_status(&s_acct, bad_ids[i], &req, &why), -1);
        assert_string_equal(why, "order_id is not 1..64 of [A-Za-z0-9_-]");
        assert_int_equal(pbk_rbs_deposit(&s_acct, bad_ids[i], 1, &req, &why), -1);
        assert_int_equal(pbk_rbs_reverse(&s_acct, bad_ids[i], &req, &why), -1);
        assert_int_equal(pbk_rbs_refund(&s_acct, bad_ids[i], 1, &req, &why), -1);
        assert_null(req.body);
    }
    assert_int_equal(pbk_rbs_status(&s_acct, id65, &req, &why), -1);
    id65[64] = '\0';
    assert_int_equal(pbk_rbs_status(&s_acct, id65, &req, &why), 0);
    pbk_request_clear(&req);
    assert_int_equal(pbk_rbs_status_by_number(&s_acct, "a/b", &req, &why), -1);
    assert_int_equal(pbk_rbs_status_by_number(&s_acct, NULL, &req, &why), -1);

    /* Amounts: 1..PBK_AMOUNT_MAX minor units. */
    assert_int_equal(pbk_rbs_deposit(&s_acct, UUID, 0, &req, &why), -1);
    assert_string_equal(why, "amount_minor is out of range");
    assert_int_equal(pbk_rbs_deposit(&s_acct, UUID, -1, &req, &why), -1);
    assert_int_equal(pbk_rbs_refund(&s_acct, UUID, PBK_AMOUNT_MAX + 1, &req, &why), -1);
    assert_int_equal(pbk_rbs_refund(&s_acct, UUID, PBK_AMOUNT_MAX, &req, &why), 0);
    assert_non_null(strstr(req.body, "&amount=999999999999"));
    pbk_request_clear(&req);
}

static void test_form_and_escape(void **state)
{
    (void)state;
    pbk_form_t f = {0};
    assert_null(pbk_form_take(&f)); /* nothing added */
    pbk_form_add(&f, "a b", "~-._ /?#[]@!$&'()*+,;=%\xc3\xa9");
    pbk_form_add_int(&f, "n", -42);
    char *body = pbk_form_take(&f);
    assert_string_equal(body,
                        "a%20b=~-._%20%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%25%C3%A9"
                        "&n=-42");
    free(body);
    /* Past PBK_FORM_MAX: the whole body fails. */
    char *big = malloc(PBK_FORM_MAX / 2);
    assert_non_null(big);
    memset(big, 'x', PBK_FORM_MAX / 2 - 1);
    big[PBK_FORM_MAX / 2 - 1] = '\0';
    pbk_form_add(&f, "a", big);
    pbk_form_add(&f, "b", big);
    pbk_form_add(&f, "c", "d");
    assert_null(pbk_form_take(&f));
    free(big);

    char out[8];
    size_t used = 0;
    assert_int_equal(pm_url_escape(out, sizeof out, &used, "a b", 3), 0);
    assert_string_equal(out, "a%20b");
    assert_int_equal(pm_url_escape(out, sizeof out, &used, "/", 1), -1); /* 5 + 3 + NUL > 8 */
}

/* ---- register answers ------------------------------------------------------ */

static void test_register_ok(void **state)
{
    (void)state;
    pbk_result_t r;
    /* errorCode absent (older gateways), "0", 0. */
    static const char *const bodies[] = {
        "{\"orderId\":\"" UUID "\",\"formUrl\":\"" FORM_URL "\"}",
        "{\"orderId\":\"" UUID "\",\"formUrl\":\"" FORM_URL "\",\"errorCode\":\"0\"}",
        "{\"errorCode\":0,\"orderId\":\"" UUID "\",\"formUrl\":\"" FORM_URL "\"}",
        "{\"errorCode\":\"0\",\"errorMessage\":\"\xd0\xa3\xd1\x81\xd0\xbf\xd0\xb5\xd1\x88\xd0\xbd"
        "\xd0\xbe\",\"orderId\":\"" UUID "\",\"formUrl\":\"" FORM_URL "\"}",
    };
    for (int i = 0; i < 4; i++) {
        s_http(PBK_REGISTER, 200, bodies[i], PBK_OK, "", &r);
        assert_string_equal(r.order_id, UUID);
        assert_string_equal(r.checkout_url, FORM_URL);
        assert_string_equal(r.code, "errorCode 0");
        assert_false(r.auth_failed);
    }
}

static void test_register_refusals(void **state)
{
    (void)state;
    pbk_result_t r;
    s_check(PBK_REGISTER, 200,
            "{\"errorCode\":\"1\",\"errorMessage\":\"Order with this number was already "
            "processed\"}",
            PBK_REJECTED, "duplicate_order_number");
    s_check(PBK_REGISTER, 200, "{\"errorCode\":1}", PBK_REJECTED, "duplicate_order_number");
    s_check(PBK_REGISTER, 200, "{\"errorCode\":\"3\",\"errorMessage\":\"Unknown currency\"}",
            PBK_REJECTED, "errorCode 3: Unknown currency");
    s_check(PBK_REGISTER, 200, "{\"errorCode\":4,\"errorMessage\":\"Amount is not specified\"}",
            PBK_REJECTED, "errorCode 4: Amount is not specified");
    s_check(PBK_REGISTER, 200, "{\"errorCode\":\"4\"}", PBK_REJECTED, "errorCode 4");
    s_http(PBK_REGISTER, 200, "{\"errorCode\":\"5\",\"errorMessage\":\"Wrong returnUrl\"}",
           PBK_REJECTED, "errorCode 5: Wrong returnUrl", &r);
    assert_false(r.auth_failed);
    /* errorCode 5 about our account: still rejected, but it says so. */
    s_http(PBK_REGISTER, 200, "{\"errorCode\":\"5\",\"errorMessage\":\"Access denied\"}",
           PBK_REJECTED, "halkbank refused our credentials (errorCode 5: Access denied)", &r);
    assert_true(r.auth_failed);
    s_http(PBK_REGISTER, 200,
           "{\"errorCode\":5,\"errorMessage\":\"User must change his password\"}", PBK_REJECTED,
           NULL, &r);
    assert_true(r.auth_failed);
    s_http(
        PBK_REGISTER, 200,
        "{\"errorCode\":\"5\",\"errorMessage\":\"\xd0\x94\xd0\xbe\xd1\x81\xd1\x82\xd1\x83\xd0\xbf "
        "\xd0\xb7\xd0\xb0\xd0\xbf\xd1\x80\xd0\xb5\xd1\x89\xd1\x91\xd0\xbd\"}",
        PBK_REJECTED,
        "halkbank refused our credentials (errorCode 5: \xd0\x94\xd0\xbe\xd1\x81\xd1\x82\xd1\x83"
        "\xd0\xbf \xd0\xb7\xd0\xb0\xd0\xbf\xd1\x80\xd0\xb5\xd1\x89\xd1\x91\xd0\xbd)",
        &r);
    assert_true(r.auth_failed);
    assert_string_equal(r.order_id, "");
}

static void test_register_unknowns(void **state)
{
    (void)state;
    s_check(PBK_REGISTER, 200, "{\"errorCode\":\"7\",\"errorMessage\":\"System error\"}",
            PBK_UNKNOWN, "halkbank system error (errorCode 7: System error)");
    s_check(PBK_REGISTER, 200, "{\"errorCode\":7}", PBK_UNKNOWN,
            "halkbank system error (errorCode 7)");
    s_check(PBK_REGISTER, 200, "{\"errorCode\":\"2\",\"errorMessage\":\"x\"}", PBK_UNKNOWN,
            "halkbank answered an undocumented code (errorCode 2: x)");
    s_check(PBK_REGISTER, 200, "{\"errorCode\":\"6\"}", PBK_UNKNOWN, NULL);
    s_check(PBK_REGISTER, 200, "{\"errorCode\":9999}", PBK_UNKNOWN, NULL);
    /* Success without what the payer needs. */
    s_check(PBK_REGISTER, 200, "{\"formUrl\":\"" FORM_URL "\"}", PBK_UNKNOWN,
            "halkbank registered the order without a usable orderId");
    s_check(PBK_REGISTER, 200, "{\"errorCode\":\"0\",\"orderId\":\"" UUID "\"}", PBK_UNKNOWN,
            "halkbank registered the order without a usable formUrl");
    s_check(PBK_REGISTER, 200, "{\"orderId\":42,\"formUrl\":\"" FORM_URL "\"}", PBK_UNKNOWN, NULL);
    s_check(PBK_REGISTER, 200, "{\"orderId\":\"a/../b\",\"formUrl\":\"" FORM_URL "\"}", PBK_UNKNOWN,
            NULL);
    s_check(PBK_REGISTER, 200, "{\"orderId\":\"\",\"formUrl\":\"" FORM_URL "\"}", PBK_UNKNOWN,
            NULL);
    s_check(PBK_REGISTER, 200, "{\"orderId\":\"" UUID "\",\"formUrl\":\"javascript:alert(1)\"}",
            PBK_UNKNOWN, NULL);
    s_check(PBK_REGISTER, 200, "{\"orderId\":\"" UUID "\",\"formUrl\":\"https://a b/\"}",
            PBK_UNKNOWN, NULL);
    /* Oversize fields. */
    char body[PBK_CHECKOUT_URL_MAX + 512];
    char id[PBK_ORDER_ID_MAX + 2];
    memset(id, 'f', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    snprintf(body, sizeof body, "{\"orderId\":\"%s\",\"formUrl\":\"" FORM_URL "\"}", id);
    s_check(PBK_REGISTER, 200, body, PBK_UNKNOWN, NULL);
    id[PBK_ORDER_ID_MAX] = '\0';
    snprintf(body, sizeof body, "{\"orderId\":\"%s\",\"formUrl\":\"" FORM_URL "\"}", id);
    s_check(PBK_REGISTER, 200, body, PBK_OK, NULL);
    char url[PBK_CHECKOUT_URL_MAX + 2];
    memset(url, 'u', sizeof url - 1);
    memcpy(url, "https://", 8);
    url[sizeof url - 1] = '\0';
    snprintf(body, sizeof body, "{\"orderId\":\"" UUID "\",\"formUrl\":\"%s\"}", url);
    s_check(PBK_REGISTER, 200, body, PBK_UNKNOWN, NULL);
    url[PBK_CHECKOUT_URL_MAX] = '\0';
    snprintf(body, sizeof body, "{\"orderId\":\"" UUID "\",\"formUrl\":\"%s\"}", url);
    s_check(PBK_REGISTER, 200, body, PBK_OK, NULL);
}

/* Every call: answers that are no readable RBS answer are unknown. */
static void test_unreadable_answers(void **state)
{
    (void)state;
    static const char *const unreadable[] = {
        NULL,
        "",
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "{\"orderId\":\"" UUID "\"",      /* cut */
        "{\"errorCode\":\"0\"} trailing", /* more than one value */
        "[{\"errorCode\":\"0\"}]",        /* not an object */
        "\"0\"",
        "{'errorCode': '0'}",
    };
    static const char *const bad_codes[] = {
        "{\"errorCode\":null}",   "{\"errorCode\":\"\"}",      "{\"errorCode\":\"abc\"}",
        "{\"errorCode\":\"-1\"}", "{\"errorCode\":-1}",        "{\"errorCode\":0.0}",
        "{\"errorCode\":\" 0\"}", "{\"errorCode\":\"00000\"}", "{\"errorCode\":true}",
        "{\"errorCode\":[0]}",    "{\"errorCode\":10000}",
    };
    for (int c = 0; c < PBK_CALLS; c++) {
        for (size_t i = 0; i < sizeof unreadable / sizeof unreadable[0]; i++)
            s_check((pbk_call_t)c, 200, unreadable[i], PBK_UNKNOWN,
                    "halkbank sent an answer that is no JSON object");
        for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++)
            s_check((pbk_call_t)c, 200, bad_codes[i], PBK_UNKNOWN,
                    "halkbank sent an errorCode we cannot read");
        /* Business errors come with 200: any other status is unknown,
         * whatever the body says. */
        s_check((pbk_call_t)c, 500, "<html>Internal Server Error</html>", PBK_UNKNOWN,
                "halkbank answered http 500");
        s_check((pbk_call_t)c, 503, NULL, PBK_UNKNOWN, "halkbank answered http 503");
        s_check((pbk_call_t)c, 404, "{\"errorCode\":\"6\"}", PBK_UNKNOWN,
                "halkbank answered http 404");
        s_check((pbk_call_t)c, 400, "{\"errorCode\":\"1\"}", PBK_UNKNOWN, NULL);
        s_check((pbk_call_t)c, 201, "{\"errorCode\":\"0\"}", PBK_UNKNOWN, NULL);
        s_check((pbk_call_t)c, 302, NULL, PBK_UNKNOWN, NULL);
        pbk_result_t r;
        pbk_answer_t a = {.transport = PBK_TIMEOUT};
        pbk_rbs_classify((pbk_call_t)c, &a, &r);
        assert_int_equal(r.outcome, PBK_UNKNOWN);
        assert_string_equal(r.reason, "timeout");
        a.transport = PBK_TOO_LARGE;
        pbk_rbs_classify((pbk_call_t)c, &a, &r);
        assert_int_equal(r.outcome, PBK_UNKNOWN);
        assert_string_equal(r.reason, "halkbank answer larger than max-response-bytes");
        a.transport = PBK_NO_ANSWER;
        a.error = "Couldn't connect to server";
        pbk_rbs_classify((pbk_call_t)c, &a, &r);
        assert_int_equal(r.outcome, PBK_UNKNOWN);
        assert_string_equal(r.reason, "halkbank unreachable: Couldn't connect to server");
        a.error = NULL;
        pbk_rbs_classify((pbk_call_t)c, &a, &r);
        assert_string_equal(r.reason, "halkbank unreachable: no answer");
    }
    /* A body bigger than any field: fine as long as it is one object. */
    size_t n = 200000;
    char *big = malloc(n + 64);
    assert_non_null(big);
    int head = snprintf(big, n + 64, "{\"errorCode\":\"0\",\"pad\":\"");
    memset(big + head, 'x', n);
    strcpy(big + head + n, "\"}");
    s_check(PBK_DEPOSIT, 200, big, PBK_OK, "");
    free(big);
}

/* ---- status answers --------------------------------------------------------- */

static void test_status_states(void **state)
{
    (void)state;
    static const pbk_state_t want[] = {
        PBK_STATE_REGISTERED, PBK_STATE_PREAUTHORIZED, PBK_STATE_PAID,     PBK_STATE_REVERSED,
        PBK_STATE_REFUNDED,   PBK_STATE_PENDING,       PBK_STATE_DECLINED, PBK_STATE_PENDING,
    };
    char body[256], code[64];
    for (int s = 0; s < 8; s++) {
        snprintf(code, sizeof code, "orderStatus %d", s);
        /* orderStatus as a number and as a string; errorCode in each form. */
        snprintf(body, sizeof body, "{\"errorCode\":\"0\",\"orderStatus\":%d}", s);
        s_state(body, want[s], -1, code);
        snprintf(body, sizeof body, "{\"errorCode\":0,\"orderStatus\":\"%d\"}", s);
        s_state(body, want[s], -1, code);
        snprintf(body, sizeof body, "{\"orderStatus\":%d,\"amount\":1750}", s);
        s_state(body, want[s], 1750, code);
    }
    s_check(PBK_STATUS, 200, "{\"errorCode\":\"0\",\"orderStatus\":8}", PBK_UNKNOWN,
            "halkbank sent an undocumented orderStatus 8");
    s_check(PBK_STATUS, 200, "{\"errorCode\":\"0\",\"orderStatus\":-1}", PBK_UNKNOWN,
            "halkbank sent a status answer with an unreadable orderStatus");
    s_check(PBK_STATUS, 200, "{\"errorCode\":\"0\",\"orderStatus\":\"paid\"}", PBK_UNKNOWN, NULL);
    s_check(PBK_STATUS, 200, "{\"errorCode\":\"0\",\"orderStatus\":null}", PBK_UNKNOWN, NULL);
    s_check(PBK_STATUS, 200, "{\"errorCode\":\"0\",\"orderStatus\":2.0}", PBK_UNKNOWN, NULL);
    s_check(PBK_STATUS, 200, "{\"errorCode\":\"0\"}", PBK_UNKNOWN,
            "halkbank sent a status answer without orderStatus");
    s_check(PBK_STATUS, 200, "{}", PBK_UNKNOWN, NULL);
    /* The legacy getOrderStatus.do keys are not read. */
    s_check(PBK_STATUS, 200, "{\"ErrorCode\":\"0\",\"OrderStatus\":2}", PBK_UNKNOWN, NULL);
}

static void test_status_amounts(void **state)
{
    (void)state;
    /* A real-looking paid answer: what was deposited. */
    s_state("{\"errorCode\":\"0\",\"errorMessage\":\"Success\",\"orderNumber\":\"INV-1\","
            "\"orderStatus\":2,\"actionCode\":0,\"actionCodeDescription\":\"\",\"amount\":1750,"
            "\"currency\":\"934\",\"date\":1700000000000,\"cardAuthInfo\":{\"maskedPan\":"
            "\"99**51\"},\"paymentAmountInfo\":{\"paymentState\":\"DEPOSITED\","
            "\"approvedAmount\":1750,\"depositedAmount\":1500,\"refundedAmount\":0}}",
            PBK_STATE_PAID, 1500, "orderStatus 2, actionCode 0");
    /* Preauthorized: what is held. */
    s_state("{\"orderStatus\":1,\"amount\":1750,\"paymentAmountInfo\":{\"approvedAmount\":1700,"
            "\"depositedAmount\":0}}",
            PBK_STATE_PREAUTHORIZED, 1700, "orderStatus 1");
    /* Without paymentAmountInfo, or without the member: the order's amount. */
    s_state("{\"orderStatus\":2,\"amount\":1750}", PBK_STATE_PAID, 1750, NULL);
    s_state("{\"orderStatus\":2,\"amount\":1750,\"paymentAmountInfo\":{}}", PBK_STATE_PAID, 1750,
            NULL);
    s_state("{\"orderStatus\":2,\"paymentAmountInfo\":{\"depositedAmount\":1750}}", PBK_STATE_PAID,
            1750, NULL);
    s_state("{\"orderStatus\":2}", PBK_STATE_PAID, -1, NULL);
    /* A declined order: the order's amount, not what was deposited. */
    s_state("{\"orderStatus\":6,\"actionCode\":-2007,\"amount\":1750,\"paymentAmountInfo\":"
            "{\"depositedAmount\":0}}",
            PBK_STATE_DECLINED, 1750, "orderStatus 6, actionCode -2007");
    /* Refunds, partial (still paid) and whole. */
    pbk_result_t r;
    s_http(PBK_STATUS, 200,
           "{\"orderStatus\":2,\"amount\":1750,\"paymentAmountInfo\":{\"depositedAmount\":1750,"
           "\"refundedAmount\":500}}",
           PBK_OK, "", &r);
    assert_int_equal(r.state, PBK_STATE_PAID);
    assert_true(r.has_refunded);
    assert_int_equal(r.refunded_minor, 500);
    s_http(PBK_STATUS, 200, "{\"orderStatus\":4,\"amount\":1750}", PBK_OK, "", &r);
    assert_int_equal(r.state, PBK_STATE_REFUNDED);
    assert_false(r.has_refunded);
    /* An amount we cannot read makes the whole answer unreadable. */
    static const char *const bad[] = {
        "{\"orderStatus\":2,\"amount\":\"1750\"}",
        "{\"orderStatus\":2,\"amount\":17.5}",
        "{\"orderStatus\":2,\"amount\":-1}",
        "{\"orderStatus\":2,\"amount\":1000000000000}",
        "{\"orderStatus\":2,\"amount\":1750,\"paymentAmountInfo\":{\"depositedAmount\":null}}",
        "{\"orderStatus\":1,\"paymentAmountInfo\":{\"approvedAmount\":\"x\"}}",
        "{\"orderStatus\":0,\"paymentAmountInfo\":{\"refundedAmount\":-5}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        s_check(PBK_STATUS, 200, bad[i], PBK_UNKNOWN,
                "halkbank sent a status answer with an unreadable amount");
    /* A huge actionCode is left out of the code, not refused. */
    s_state("{\"orderStatus\":0,\"actionCode\":123456789}", PBK_STATE_REGISTERED, -1,
            "orderStatus 0");
}

static void test_status_errors(void **state)
{
    (void)state;
    pbk_result_t r;
    s_http(PBK_STATUS, 200, "{\"errorCode\":\"6\",\"errorMessage\":\"Order not found\"}", PBK_OK,
           "", &r);
    assert_int_equal(r.state, PBK_STATE_NOT_FOUND);
    assert_false(r.has_amount);
    assert_string_equal(r.code, "errorCode 6");
    s_state("{\"errorCode\":6}", PBK_STATE_NOT_FOUND, -1, "errorCode 6");
    /* Never rejected: a status that fails is unknown. */
    s_check(PBK_STATUS, 200, "{\"errorCode\":\"7\",\"errorMessage\":\"System error\"}", PBK_UNKNOWN,
            "halkbank system error (errorCode 7: System error)");
    s_http(PBK_STATUS, 200, "{\"errorCode\":\"5\",\"errorMessage\":\"Access denied\"}", PBK_UNKNOWN,
           "halkbank refused our credentials (errorCode 5: Access denied)", &r);
    assert_true(r.auth_failed);
    s_http(PBK_STATUS, 200, "{\"errorCode\":5,\"errorMessage\":\"[orderId] is empty\"}",
           PBK_UNKNOWN, "halkbank gave no status (errorCode 5: [orderId] is empty)", &r);
    assert_false(r.auth_failed);
    s_check(PBK_STATUS, 200,
            "{\"errorCode\":\"1\",\"errorMessage\":\"Expected orderId or orderNumber\"}",
            PBK_UNKNOWN, "halkbank gave no status (errorCode 1: Expected orderId or orderNumber)");
    s_check(PBK_STATUS, 200, "{\"errorCode\":\"2\"}", PBK_UNKNOWN,
            "halkbank gave no status (errorCode 2)");
}

/* ---- deposit, reverse, refund answers -------------------------------------- */

static void test_order_operations(void **state)
{
    (void)state;
    static const pbk_call_t calls[] = {PBK_DEPOSIT, PBK_REVERSE, PBK_REFUND};
    /* "Платёж должен быть в корректном состоянии" */
    const char *ru_state = "{\"errorCode\":\"7\",\"errorMessage\":\"\xd0\x9f\xd0\xbb\xd0\xb0\xd1"
                           "\x82\xd1\x91\xd0\xb6 \xd0\xb4\xd0\xbe\xd0\xbb\xd0\xb6\xd0\xb5\xd0\xbd "
                           "\xd0\xb1\xd1\x8b\xd1\x82\xd1\x8c \xd0\xb2 \xd0\xba\xd0\xbe\xd1\x80\xd1"
                           "\x80\xd0\xb5\xd0\xba\xd1\x82\xd0\xbd\xd0\xbe\xd0\xbc \xd1\x81\xd0\xbe"
                           "\xd1\x81\xd1\x82\xd0\xbe\xd1\x8f\xd0\xbd\xd0\xb8\xd0\xb8\"}";
    /* "Системная ошибка" */
    const char *ru_system = "{\"errorCode\":\"7\",\"errorMessage\":\"\xd0\xa1\xd0\xb8\xd1\x81\xd1"
                            "\x82\xd0\xb5\xd0\xbc\xd0\xbd\xd0\xb0\xd1\x8f \xd0\xbe\xd1\x88\xd0\xb8"
                            "\xd0\xb1\xd0\xba\xd0\xb0\"}";
    for (int i = 0; i < 3; i++) {
        pbk_call_t c = calls[i];
        pbk_result_t r;
        s_check(c, 200, "{\"errorCode\":\"0\",\"errorMessage\":\"\"}", PBK_OK, "");
        s_check(c, 200, "{\"errorCode\":0}", PBK_OK, "");
        s_check(c, 200, "{}", PBK_OK, ""); /* absent: success */
        s_check(c, 200,
                "{\"errorCode\":\"0\",\"errorMessage\":\"\xd0\xa3\xd1\x81\xd0\xbf\xd0\xb5"
                "\xd1\x88\xd0\xbd\xd0\xbe\"}",
                PBK_OK, "");
        s_check(c, 200, "{\"errorCode\":\"6\",\"errorMessage\":\"No such order\"}", PBK_REJECTED,
                "unknown_order");
        s_check(c, 200, "{\"errorCode\":6}", PBK_REJECTED, "unknown_order");
        /* errorCode 7: wrong state only when the message names the state. */
        s_check(c, 200, ru_state, PBK_REJECTED, "wrong_state");
        s_check(c, 200,
                "{\"errorCode\":7,\"errorMessage\":\"Operation is impossible for the current "
                "payment state\"}",
                PBK_REJECTED, "wrong_state");
        s_check(c, 200,
                "{\"errorCode\":\"7\",\"errorMessage\":\"Payment must be in a correct STATE\"}",
                PBK_REJECTED, "wrong_state");
        s_check(c, 200, "{\"errorCode\":\"7\",\"errorMessage\":\"System error\"}", PBK_UNKNOWN,
                "halkbank system error or refusal (errorCode 7: System error)");
        s_check(c, 200, ru_system, PBK_UNKNOWN, NULL);
        s_check(c, 200, "{\"errorCode\":\"7\"}", PBK_UNKNOWN,
                "halkbank system error or refusal (errorCode 7)");
        s_check(c, 200, "{\"errorCode\":\"7\",\"errorMessage\":\"Invalid amount\"}", PBK_UNKNOWN,
                NULL);
        s_check(c, 200,
                "{\"errorCode\":\"7\",\"errorMessage\":\"System error: cannot read order state\"}",
                PBK_UNKNOWN, NULL);
        s_check(c, 200, "{\"errorCode\":\"7\",\"errorMessage\":\"Internal state error\"}",
                PBK_UNKNOWN, NULL);
        s_check(c, 200, "{\"errorCode\":\"7\",\"errorMessage\":42}", PBK_UNKNOWN,
                "halkbank system error or refusal (errorCode 7)");
        /* errorCode 5: our account (unknown, traced and retried) or a bad
         * parameter (rejected: nothing was applied). */
        s_http(c, 200, "{\"errorCode\":\"5\",\"errorMessage\":\"Access denied\"}", PBK_UNKNOWN,
               "halkbank refused our credentials (errorCode 5: Access denied)", &r);
        assert_true(r.auth_failed);
        s_http(c, 200, "{\"errorCode\":\"5\",\"errorMessage\":\"Invalid amount\"}", PBK_REJECTED,
               "errorCode 5: Invalid amount", &r);
        assert_false(r.auth_failed);
        /* Undocumented codes: unknown. */
        s_check(c, 200, "{\"errorCode\":\"1\"}", PBK_UNKNOWN,
                "halkbank answered an undocumented code (errorCode 1)");
        s_check(c, 200, "{\"errorCode\":\"2\",\"errorMessage\":\"Declined\"}", PBK_UNKNOWN, NULL);
        s_check(c, 200, "{\"errorCode\":\"8\"}", PBK_UNKNOWN, NULL);
    }
}

/* ---- reasons ------------------------------------------------------------------ */

static void test_reasons_are_bounded_text(void **state)
{
    (void)state;
    pbk_result_t r;
    /* Control characters become spaces; bytes that are no UTF-8, '?'. */
    s_http(PBK_REGISTER, 200, "{\"errorCode\":\"3\",\"errorMessage\":\"a\\nb\\u0000c\\u007f\xff\"}",
           PBK_REJECTED, "errorCode 3: a b c ?", &r);
    s_http(PBK_REGISTER, 200, "{\"errorCode\":\"3\",\"errorMessage\":\"\\u0085x\xc0\x80\"}",
           PBK_REJECTED, "errorCode 3:  x??", &r);
    /* A long message is cut at a character, with "...". */
    char body[4096];
    int n = snprintf(body, sizeof body, "{\"errorCode\":\"4\",\"errorMessage\":\"");
    for (int i = 0; i < 600; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "\xd0\x96"); /* Ж, two bytes */
    snprintf(body + n, sizeof body - (size_t)n, "\"}");
    s_http(PBK_REGISTER, 200, body, PBK_REJECTED, NULL, &r);
    assert_true(strlen(r.reason) <= PBK_REASON_MAX);
    assert_true(strlen(r.reason) >= PBK_REASON_MAX - 2);
    assert_string_equal(r.reason + strlen(r.reason) - 3, "...");
    assert_memory_equal(r.reason, "errorCode 4: \xd0\x96", 15);
    /* pbk_text_copy on its own. */
    char out[8];
    pbk_text_copy(out, sizeof out, "abcdefghij", 10);
    assert_string_equal(out, "abcd...");
    pbk_text_copy(out, sizeof out, "abc", 3);
    assert_string_equal(out, "abc");
    pbk_text_copy(out, sizeof out, "ab\xd0\x96\xd0\x96\xd0\x96", 8);
    assert_string_equal(out, "ab\xd0\x96...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_account_and_order_checks),
        cmocka_unit_test(test_register_requests),
        cmocka_unit_test(test_order_requests),
        cmocka_unit_test(test_form_and_escape),
        cmocka_unit_test(test_register_ok),
        cmocka_unit_test(test_register_refusals),
        cmocka_unit_test(test_register_unknowns),
        cmocka_unit_test(test_unreadable_answers),
        cmocka_unit_test(test_status_states),
        cmocka_unit_test(test_status_amounts),
        cmocka_unit_test(test_status_errors),
        cmocka_unit_test(test_order_operations),
        cmocka_unit_test(test_reasons_are_bounded_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
