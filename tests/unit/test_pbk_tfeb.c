/*  Unit tests of provider-bank's TFEB client (pbk_tfeb): the amount in
 *  major units made without a float, the token request, its answer and the
 *  token cache, every order request as exact JSON text, and every answer ->
 *  job outcome by operationResult (providers.md 3.6, pm_proto.h "Bank
 *  jobs"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../provider-bank/pbk_tfeb.h"

#define BASE "https://ecomt.example/OrderProcessing_TURK/v1/"
#define TOKEN_URL "https://3dst.example/identityserver/connect/token"
#define OID "d794539b-824c-4373-9acc-f3c479e6be15"
#define CHECKOUT "https://ecomt.example/Checkout/" OID
#define TOKEN "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_+/=="

static const pbk_tfeb_account_t s_acct = {.base_url = BASE,
                                          .token_url = TOKEN_URL,
                                          .client_id = "shop client",
                                          .client_secret = "s3cr&t=+/%",
                                          .merchant_id = "M-0001",
                                          .terminal_id = "T_01",
                                          .language = "ru"};

static pbk_order_t s_order(void)
{
    return (pbk_order_t){.order_number = "INV-2024_0001",
                         .amount_minor = 1750,
                         .currency = "934",
                         .return_url = "https://shop.example/back?order=42",
                         .fail_url = "https://shop.example/fail",
                         .description = "not sent",
                         .language = NULL,
                         .two_phase = false};
}

static bool s_reason_ok(const char *s)
{
    return strlen(s) <= PBK_REASON_MAX && pbk_text_valid(s, strlen(s));
}

static void s_http(pbk_call_t call, long status, const char *body, pbk_outcome_t want,
                   const char *reason, pbk_result_t *r)
{
    pbk_answer_t a = {
        .transport = PBK_ANSWERED, .status = status, .body = body, .len = body ? strlen(body) : 0};
    pbk_tfeb_classify(call, &a, r);
    if (r->outcome != want)
        fail_msg("%s %ld %s: got %s (%s), want %s", pbk_kind(call), status, body ? body : "(none)",
                 pbk_outcome_name(r->outcome), r->reason, pbk_outcome_name(want));
    if (reason)
        assert_string_equal(r->reason, reason);
    if (!s_reason_ok(r->reason))
        fail_msg("%s %ld: reason is not valid text: %s", pbk_kind(call), status, r->reason);
    if ((want != PBK_OK) != (r->reason[0] != '\0'))
        fail_msg("%s %ld: reason \"%s\" for %s", pbk_kind(call), status, r->reason,
                 pbk_outcome_name(want));
}

static void s_check(pbk_call_t call, long status, const char *body, pbk_outcome_t want,
                    const char *reason)
{
    pbk_result_t *r = malloc(sizeof *r);
    assert_non_null(r);
    s_http(call, status, body, want, reason, r);
    free(r);
}

/* {"response": {"orderId", "operationResult": code, ...}, "_links": ...} */
static void s_body(char *out, size_t cap, const char *code, const char *desc)
{
    snprintf(out, cap,
             "{\"response\":{\"orderId\":\"" OID "\",\"operationResult\":\"%s\","
             "\"operationResultDescription\":\"%s\"},\"_links\":{\"self\":{\"href\":"
             "\"https://ecomt.example/v1/Orders/" OID "\"},\"redirectToCheckout\":{\"href\":"
             "\"" CHECKOUT "\"}}}",
             code, desc);
}

/* ---- amounts ---------------------------------------------------------------- */

static void test_amounts_in_major_units(void **state)
{
    (void)state;
    static const struct {
        int64_t minor;
        const char *text;
    } cases[] = {
        {0, "0.00"},
        {1, "0.01"},
        {10, "0.10"},
        {99, "0.99"},
        {100, "1.00"},
        {150, "1.50"},
        {1750, "17.50"},
        {100000, "1000.00"},
        {999999999999, "9999999999.99"},
        /* Far past where a double holds every cent (2^53 / 100). */
        {INT64_C(9007199254740993), "90071992547409.93"},
        {INT64_MAX, "92233720368547758.07"},
    };
    char out[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = pbk_tfeb_amount(cases[i].minor, "934", out, sizeof out);
        assert_int_equal(n, (int)strlen(cases[i].text));
        assert_string_equal(out, cases[i].text);
    }
    assert_int_equal(pbk_tfeb_amount(-1, "934", out, sizeof out), -1);
    assert_int_equal(pbk_tfeb_amount(1750, "840", out, sizeof out), -1);
    assert_int_equal(pbk_tfeb_amount(1750, "TMT", out, sizeof out), -1);
    assert_int_equal(pbk_tfeb_amount(1750, NULL, out, sizeof out), -1);
    char small[6]; /* "17.50" and its NUL */
    assert_int_equal(pbk_tfeb_amount(1750, "934", small, sizeof small), 5);
    assert_int_equal(pbk_tfeb_amount(17500, "934", small, sizeof small), -1);
}

/* ---- token ------------------------------------------------------------------------ */

static void test_token_request(void **state)
{
    (void)state;
    pbk_request_t req;
    const char *why = NULL;
    assert_int_equal(pbk_tfeb_token_request(&s_acct, &req, &why), 0);
    assert_true(req.post);
    assert_string_equal(req.url, TOKEN_URL);
    assert_string_equal(req.body, "client_id=shop%20client&client_secret=s3cr%26t%3D%2B%2F%25"
                                  "&scope=TSYS.Prime.WebApplications.OrderProcessing"
                                  "&grant_type=client_credentials");
    assert_string_equal(req.content_type, "application/x-www-form-urlencoded");
    assert_string_equal(req.accept, "application/json");
    assert_string_equal(req.authorization, "");
    pbk_request_clear(&req);

    pbk_tfeb_account_t a = s_acct;
    a.token_url = "ftp://3dst.example/token";
    assert_int_equal(pbk_tfeb_token_request(&a, &req, &why), -1);
    assert_string_equal(why, "tfeb-token-url is not an http(s) URL");
    assert_null(req.body);
}

static int s_parse(long status, const char *body, char *token, int64_t *exp, char *why)
{
    pbk_answer_t a = {
        .transport = PBK_ANSWERED, .status = status, .body = body, .len = body ? strlen(body) : 0};
    return pbk_tfeb_token_parse(&a, token, PBK_TFEB_TOKEN_MAX + 1, exp, why, PBK_REASON_MAX + 1);
}

static void test_token_answer(void **state)
{
    (void)state;
    char *token = malloc(PBK_TFEB_TOKEN_MAX + 1);
    char why[PBK_REASON_MAX + 1];
    int64_t exp = 0;
    assert_non_null(token);
    assert_int_equal(s_parse(200,
                             "{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,"
                             "\"token_type\":\"Bearer\",\"scope\":\"TSYS.Prime.WebApplications."
                             "OrderProcessing\"}",
                             token, &exp, why),
                     0);
    assert_string_equal(token, TOKEN);
    assert_int_equal(exp, 3600);
    assert_string_equal(why, "");
    assert_int_equal(
        s_parse(200, "{\"access_token\":\"abc\",\"token_type\":\"bearer\"}", token, &exp, why), 0);
    assert_int_equal(exp, 3600); /* absent: an hour */
    assert_int_equal(s_parse(200, "{\"access_token\":\"abc\",\"expires_in\":1}", token, &exp, why),
                     0);
    assert_int_equal(exp, 1);

    static const char *const bad[] = {
        "{\"access_token\":\"\"}",
        "{\"access_token\":\"a b\"}",
        "{\"access_token\":\"a\\r\\nX-Injected: 1\"}",
        "{\"access_token\":\"=abc\"}",
        "{\"access_token\":\"ab=c\"}",
        "{\"access_token\":\"\\u00e9\"}",
        "{\"access_token\":42}",
        "{\"token\":\"abc\"}",
        "{\"access_token\":\"abc\",\"token_type\":\"mac\"}",
        "{\"access_token\":\"abc\",\"token_type\":null}",
        "{\"access_token\":\"abc\",\"expires_in\":0}",
        "{\"access_token\":\"abc\",\"expires_in\":-5}",
        "{\"access_token\":\"abc\",\"expires_in\":\"3600\"}",
        "{\"access_token\":\"abc\",\"expires_in\":1.5}",
        "{\"access_token\":\"abc\",\"expires_in\":400000000}",
        "<html>login</html>",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (s_parse(200, bad[i], token, &exp, why) != -1)
            fail_msg("token answer taken: %s", bad[i]);
        assert_string_equal(token, "");
        assert_true(why[0] != '\0' && s_reason_ok(why));
    }
    /* The longest token fits; one byte more does not. */
    char *body = malloc(PBK_TFEB_TOKEN_MAX + 64);
    assert_non_null(body);
    int head = snprintf(body, 64, "{\"access_token\":\"");
    memset(body + head, 'T', PBK_TFEB_TOKEN_MAX + 1);
    strcpy(body + head + PBK_TFEB_TOKEN_MAX + 1, "\"}");
    assert_int_equal(s_parse(200, body, token, &exp, why), -1);
    strcpy(body + head + PBK_TFEB_TOKEN_MAX, "\"}");
    assert_int_equal(s_parse(200, body, token, &exp, why), 0);
    assert_int_equal(strlen(token), PBK_TFEB_TOKEN_MAX);
    free(body);

    const char *ok = "{\"access_token\":\"abc\"}";
    assert_int_equal(s_parse(401, ok, token, &exp, why), -1);
    assert_string_equal(why,
                        "the token endpoint answered http 401 (tfeb-client-id or secret refused?)");
    assert_int_equal(s_parse(400, "{\"error\":\"invalid_client\"}", token, &exp, why), -1);
    assert_int_equal(s_parse(503, ok, token, &exp, why), -1);
    assert_string_equal(why, "the token endpoint answered http 503");
    pbk_answer_t a = {.transport = PBK_TIMEOUT};
    assert_int_equal(pbk_tfeb_token_parse(&a, token, PBK_TFEB_TOKEN_MAX + 1, &exp, why, sizeof why),
                     -1);
    assert_string_equal(why, "the token endpoint did not answer in time");
    a.transport = PBK_NO_ANSWER;
    assert_int_equal(pbk_tfeb_token_parse(&a, token, PBK_TFEB_TOKEN_MAX + 1, &exp, why, sizeof why),
                     -1);
    assert_string_equal(why, "the token endpoint is unreachable");
    free(token);
}

static void test_token_cache(void **state)
{
    (void)state;
    pbk_tfeb_token_cache_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    assert_null(pbk_tfeb_token_cache_get(c, 0));
    pbk_tfeb_token_cache_invalidate(c, ""); /* nothing cached: nothing happens */
    assert_null(pbk_tfeb_token_cache_get(c, 0));
    /* An hour: refreshed a minute before it ends. */
    pbk_tfeb_token_cache_set(c, "A", 3600, 1000);
    assert_string_equal(pbk_tfeb_token_cache_get(c, 1000), "A");
    assert_string_equal(pbk_tfeb_token_cache_get(c, 1000 + 3600000 - 60000 - 1), "A");
    assert_null(pbk_tfeb_token_cache_get(c, 1000 + 3600000 - 60000));
    /* A short life keeps nine tenths of its length. */
    pbk_tfeb_token_cache_set(c, "B", 10, 0);
    assert_string_equal(pbk_tfeb_token_cache_get(c, 8999), "B");
    assert_null(pbk_tfeb_token_cache_get(c, 9000));
    /* A 401 for a call made with an older token keeps the current one. */
    pbk_tfeb_token_cache_set(c, "C", 3600, 0);
    pbk_tfeb_token_cache_invalidate(c, "B");
    assert_string_equal(pbk_tfeb_token_cache_get(c, 1), "C");
    pbk_tfeb_token_cache_invalidate(c, "C");
    assert_null(pbk_tfeb_token_cache_get(c, 1));
    /* A new token after an invalidation is served again. */
    pbk_tfeb_token_cache_set(c, "D", 60, 5);
    assert_string_equal(pbk_tfeb_token_cache_get(c, 5), "D");
    free(c);
}

/* ---- requests --------------------------------------------------------------------- */

static void test_account_check(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_int_equal(pbk_tfeb_account_check(&s_acct, &why), 0);
    pbk_tfeb_account_t a = s_acct;
    a.base_url = "https://ecomt.example/v1";
    assert_int_equal(pbk_tfeb_account_check(&a, &why), -1);
    assert_string_equal(why, "tfeb-base-url is not an http(s) URL ending with '/'");
    a = s_acct;
    a.client_secret = "";
    assert_int_equal(pbk_tfeb_account_check(&a, &why), -1);
    a = s_acct;
    a.merchant_id = "M 1";
    assert_int_equal(pbk_tfeb_account_check(&a, &why), -1);
    a = s_acct;
    a.terminal_id = NULL;
    assert_int_equal(pbk_tfeb_account_check(&a, &why), -1);
    a = s_acct;
    a.language = "RU";
    assert_int_equal(pbk_tfeb_account_check(&a, &why), -1);
    a.language = NULL;
    assert_int_equal(pbk_tfeb_account_check(&a, &why), 0);
    assert_true(pbk_tfeb_supports(PBK_REGISTER));
    assert_true(pbk_tfeb_supports(PBK_STATUS));
    assert_true(pbk_tfeb_supports(PBK_REFUND));
    assert_false(pbk_tfeb_supports(PBK_DEPOSIT));
    assert_false(pbk_tfeb_supports(PBK_REVERSE));
}

static void s_expect_headers(const pbk_request_t *req, bool post)
{
    assert_int_equal(req->post, post);
    assert_string_equal(req->authorization, "Authorization: Bearer " TOKEN);
    assert_string_equal(req->accept, "application/hal+json");
    if (post)
        assert_string_equal(req->content_type, "application/json");
    else
        assert_null(req->content_type);
}

static void test_register_request(void **state)
{
    (void)state;
    pbk_request_t *req = malloc(sizeof *req);
    const char *why = NULL;
    assert_non_null(req);
    pbk_order_t o = s_order();
    assert_int_equal(pbk_tfeb_register(&s_acct, &o, "req-1", TOKEN, req, &why), 0);
    assert_string_equal(req->url, BASE "orders");
    s_expect_headers(req, true);
    assert_string_equal(req->body, "{\"RequestId\":\"req-1\",\"Environment\":{\"Merchant\":{\"Id\":"
                                   "\"M-0001\"},\"POI\":{\"Id\":\"T_01\",\"Language\":\"ru\"},"
                                   "\"Transport\":{\"MerchantFinalResponseUrl\":"
                                   "\"https://shop.example/back?order=42\"}},\"Transaction\":{"
                                   "\"InvoiceNumber\":\"INV-2024_0001\",\"Type\":\"CRDP\","
                                   "\"TotalAmount\":17.50,\"Currency\":\"934\","
                                   "\"MerchantOrderId\":\"INV-2024_0001\"}}");
    pbk_request_clear(req);

    /* The order's language wins; no language at all leaves it out. Amounts
     * keep their two decimals as written, however large. */
    o.language = "tk";
    o.amount_minor = 10;
    assert_int_equal(pbk_tfeb_register(&s_acct, &o, "req-2", TOKEN, req, &why), 0);
    assert_non_null(strstr(req->body, "\"POI\":{\"Id\":\"T_01\",\"Language\":\"tk\"}"));
    assert_non_null(strstr(req->body, "\"TotalAmount\":0.10,"));
    pbk_request_clear(req);
    pbk_tfeb_account_t a = s_acct;
    a.language = NULL;
    o.language = NULL;
    o.amount_minor = 999999999999;
    assert_int_equal(pbk_tfeb_register(&a, &o, "req-3", TOKEN, req, &why), 0);
    assert_non_null(strstr(req->body, "\"POI\":{\"Id\":\"T_01\"},"));
    assert_non_null(strstr(req->body, "\"TotalAmount\":9999999999.99,"));
    pbk_request_clear(req);
    o.amount_minor = 100;
    assert_int_equal(pbk_tfeb_register(&a, &o, "req-4", TOKEN, req, &why), 0);
    assert_non_null(strstr(req->body, "\"TotalAmount\":1.00,"));
    pbk_request_clear(req);

    /* Refused before anything is sent. */
    o = s_order();
    o.two_phase = true;
    assert_int_equal(pbk_tfeb_register(&s_acct, &o, "req-1", TOKEN, req, &why), -1);
    assert_string_equal(why, "foreign_affairs_bank has no two-phase orders");
    assert_null(req->body);
    o = s_order();
    o.currency = "840";
    assert_int_equal(pbk_tfeb_register(&s_acct, &o, "req-1", TOKEN, req, &why), -1);
    assert_string_equal(why, "foreign_affairs_bank takes currency 934 only");
    o = s_order();
    o.amount_minor = 0;
    assert_int_equal(pbk_tfeb_register(&s_acct, &o, "req-1", TOKEN, req, &why), -1);
    o = s_order();
    assert_int_equal(pbk_tfeb_register(&s_acct, &o, "req 1", TOKEN, req, &why), -1);
    assert_string_equal(why, "request_id is not 1..64 of [A-Za-z0-9_-]");
    assert_int_equal(pbk_tfeb_register(&s_acct, &o, NULL, TOKEN, req, &why), -1);
    /* A token that could break the header line is never sent. */
    static const char *const bad_tokens[] = {"", "a b", "a\r\nX-Evil: 1", "a\n", NULL};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(pbk_tfeb_register(&s_acct, &o, "req-1", bad_tokens[i], req, &why), -1);
        assert_string_equal(why, "no usable access token");
        assert_string_equal(req->authorization, "");
    }
    free(req);
}

static void test_status_and_refund_requests(void **state)
{
    (void)state;
    pbk_request_t *req = malloc(sizeof *req);
    const char *why = NULL;
    assert_non_null(req);
    assert_int_equal(pbk_tfeb_status(&s_acct, OID, TOKEN, req, &why), 0);
    assert_string_equal(req->url, BASE "Orders/" OID);
    s_expect_headers(req, false);
    assert_null(req->body);
    pbk_request_clear(req);

    assert_int_equal(pbk_tfeb_refund(&s_acct, OID, 1750, "rf-1", TOKEN, req, &why), 0);
    assert_string_equal(req->url, BASE "Orders/" OID "/refund");
    s_expect_headers(req, true);
    assert_string_equal(req->body, "{\"RequestId\":\"rf-1\",\"Environment\":{\"Merchant\":{\"Id\":"
                                   "\"M-0001\"},\"POI\":{\"Id\":\"T_01\",\"Language\":\"ru\"}},"
                                   "\"Transaction\":{\"Type\":\"RFND\",\"TotalAmount\":17.50,"
                                   "\"Currency\":\"934\"}}");
    pbk_request_clear(req);
    assert_int_equal(pbk_tfeb_refund(&s_acct, OID, 1, "rf-2", TOKEN, req, &why), 0);
    assert_non_null(strstr(req->body, "\"TotalAmount\":0.01,"));
    pbk_request_clear(req);

    static const char *const bad_ids[] = {"", "../x", "a/b", "a?b", "a b", NULL};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(pbk_tfeb_status(&s_acct, bad_ids[i], TOKEN, req, &why), -1);
        assert_string_equal(why, "order_id is not 1..64 of [A-Za-z0-9_-]");
        assert_int_equal(pbk_tfeb_refund(&s_acct, bad_ids[i], 1, "rf-1", TOKEN, req, &why), -1);
        assert_null(req->body);
    }
    assert_int_equal(pbk_tfeb_refund(&s_acct, OID, 0, "rf-1", TOKEN, req, &why), -1);
    assert_string_equal(why, "amount_minor is out of range");
    assert_int_equal(pbk_tfeb_refund(&s_acct, OID, PBK_AMOUNT_MAX + 1, "rf-1", TOKEN, req, &why),
                     -1);
    assert_int_equal(pbk_tfeb_refund(&s_acct, OID, 1, "", TOKEN, req, &why), -1);
    assert_int_equal(pbk_tfeb_status(&s_acct, OID, "x y", req, &why), -1);
    assert_null(req->body);
    free(req);
}

/* ---- answers ----------------------------------------------------------------------- */

static void test_register_answers(void **state)
{
    (void)state;
    char body[2048];
    pbk_result_t r;
    s_body(body, sizeof body, "OPG-00100", "Further action is needed.");
    s_http(PBK_REGISTER, 200, body, PBK_OK, "", &r);
    assert_string_equal(r.order_id, OID);
    assert_string_equal(r.checkout_url, CHECKOUT);
    assert_string_equal(r.code, "OPG-00100");
    s_body(body, sizeof body, "GEN-00000", "Operation Successful");
    s_http(PBK_REGISTER, 201, body, PBK_OK, "", &r);
    assert_string_equal(r.order_id, OID);

    /* Success without what the payer needs. */
    s_check(PBK_REGISTER, 200, "{\"response\":{\"operationResult\":\"OPG-00100\"}}", PBK_UNKNOWN,
            "tfeb created the order without a usable orderId");
    s_check(PBK_REGISTER, 200,
            "{\"response\":{\"orderId\":\"" OID "\",\"operationResult\":\"OPG-00100\"}}",
            PBK_UNKNOWN, "tfeb created the order without a usable redirectToCheckout");
    s_check(PBK_REGISTER, 200,
            "{\"response\":{\"orderId\":\"" OID "\",\"operationResult\":\"OPG-00100\"},"
            "\"_links\":{\"redirectToCheckout\":{\"href\":\"javascript:x\"}}}",
            PBK_UNKNOWN, NULL);
    s_check(PBK_REGISTER, 200,
            "{\"response\":{\"orderId\":\"a/b\",\"operationResult\":\"OPG-00100\"},"
            "\"_links\":{\"redirectToCheckout\":{\"href\":\"" CHECKOUT "\"}}}",
            PBK_UNKNOWN, NULL);

    /* Codes. */
    s_body(body, sizeof body, "GEN-00001", "System error");
    s_check(PBK_REGISTER, 200, body, PBK_UNKNOWN, "tfeb system error (GEN-00001: System error)");
    s_body(body, sizeof body, "GEN-00002", "Not authorized");
    s_http(PBK_REGISTER, 200, body, PBK_UNKNOWN,
           "tfeb refused our access token (GEN-00002: Not authorized)", &r);
    assert_true(r.auth_failed);
    s_body(body, sizeof body, "OPG-00006", "The merchant cancelled the order");
    s_check(PBK_REGISTER, 200, body, PBK_UNKNOWN,
            "tfeb answered an undocumented result (OPG-00006: The merchant cancelled the order)");
    s_body(body, sizeof body, "OPG-00001", "");
    s_check(PBK_REGISTER, 200, body, PBK_UNKNOWN,
            "tfeb answered an undocumented result (OPG-00001)");
    /* A 4xx that names a code: refused, nothing created. */
    s_http(PBK_REGISTER, 400,
           "{\"response\":{\"operationResult\":\"OPG-00010\",\"operationResultDescription\":"
           "\"Invalid amount\"}}",
           PBK_REJECTED, "OPG-00010: Invalid amount", &r);
    assert_string_equal(r.code, "OPG-00010");
    assert_false(r.auth_failed);
    s_check(PBK_REGISTER, 422, "{\"operationResult\":\"GEN-00003\"}", PBK_REJECTED, "GEN-00003");
    s_body(body, sizeof body, "GEN-00001", "System error");
    s_check(PBK_REGISTER, 400, body, PBK_UNKNOWN, NULL);
    s_body(body, sizeof body, "GEN-00002", "");
    s_http(PBK_REGISTER, 400, body, PBK_UNKNOWN, "tfeb refused our access token (GEN-00002)", &r);
    assert_true(r.auth_failed);
}

/* Every call: what is not a readable answer with a code is unknown. */
static void test_unreadable_answers(void **state)
{
    (void)state;
    static const pbk_call_t calls[] = {PBK_REGISTER, PBK_STATUS, PBK_REFUND};
    for (int i = 0; i < 3; i++) {
        pbk_call_t c = calls[i];
        pbk_result_t r;
        s_http(c, 401, NULL, PBK_UNKNOWN, "tfeb refused our access token (http 401)", &r);
        assert_true(r.auth_failed);
        s_http(c, 401, "{\"response\":{\"operationResult\":\"GEN-00000\"}}", PBK_UNKNOWN, NULL, &r);
        assert_true(r.auth_failed);
        s_http(c, 403, NULL, PBK_UNKNOWN, "tfeb refused our credentials (http 403)", &r);
        assert_false(r.auth_failed);
        s_check(c, 403, "{\"operationResult\":\"OPG-00010\"}", PBK_UNKNOWN,
                "tfeb answered http 403 (OPG-00010)");
        s_check(c, 429, "{\"operationResult\":\"OPG-00010\"}", PBK_UNKNOWN, NULL);
        s_check(c, 408, NULL, PBK_UNKNOWN, "tfeb answered http 408");
        s_check(c, 500, "<html><body>Server Error</body></html>", PBK_UNKNOWN,
                "tfeb answered http 500");
        s_check(c, 502, "{\"response\":{\"operationResult\":\"GEN-00000\"}}", PBK_UNKNOWN,
                "tfeb answered http 502 (GEN-00000)");
        s_check(c, 400, "<html>Bad Request</html>", PBK_UNKNOWN, "tfeb answered http 400");
        s_check(c, 404, NULL, PBK_UNKNOWN, "tfeb answered http 404");
        s_check(c, 302, NULL, PBK_UNKNOWN, NULL);
        s_check(c, 200, "<html>maintenance</html>", PBK_UNKNOWN,
                "tfeb sent an answer that is no JSON object");
        s_check(c, 200, NULL, PBK_UNKNOWN, "tfeb sent an answer that is no JSON object");
        s_check(c, 200, "{\"response\":{\"operationResult\":\"GEN-00000\"}", PBK_UNKNOWN, NULL);
        s_check(c, 200, "[{\"operationResult\":\"GEN-00000\"}]", PBK_UNKNOWN, NULL);
        static const char *const no_code[] = {
            "{}",
            "{\"response\":{}}",
            "{\"response\":{\"operationResult\":null}}",
            "{\"response\":{\"operationResult\":100}}",
            "{\"response\":{\"operationResult\":\"\"}}",
            "{\"response\":{\"operationResult\":\"gen-00000\"}}",
            "{\"response\":{\"operationResult\":\"GEN 00000\"}}",
            "{\"response\":{\"operationResult\":\"GEN-00000\\n\"}}",
            "{\"response\":{\"operationResult\":\"GEN-0000000000000000000000000000000000000000000"
            "000000000000000000000\"}}",
            /* response is read first: a code outside it does not count then */
            "{\"response\":{\"orderId\":\"x\"},\"operationResult\":\"GEN-00000\"}",
        };
        for (size_t k = 0; k < sizeof no_code / sizeof no_code[0]; k++)
            s_check(c, 200, no_code[k], PBK_UNKNOWN,
                    "tfeb sent an answer without a readable operationResult");
        pbk_answer_t a = {.transport = PBK_TIMEOUT};
        pbk_tfeb_classify(c, &a, &r);
        assert_int_equal(r.outcome, PBK_UNKNOWN);
        assert_string_equal(r.reason, "timeout");
        a.transport = PBK_TOO_LARGE;
        pbk_tfeb_classify(c, &a, &r);
        assert_string_equal(r.reason, "tfeb answer larger than max-response-bytes");
        a.transport = PBK_NO_ANSWER;
        a.error = "SSL connect error";
        pbk_tfeb_classify(c, &a, &r);
        assert_string_equal(r.reason, "tfeb unreachable: SSL connect error");
    }
}

static void test_status_answers(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        pbk_state_t state;
    } ok[] = {
        {"GEN-00000", PBK_STATE_PAID},
        {"OPG-00100", PBK_STATE_REGISTERED},
        {"OPG-00006", PBK_STATE_DECLINED},
    };
    char body[2048];
    pbk_result_t r;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        s_body(body, sizeof body, ok[i].code, "text");
        s_http(PBK_STATUS, 200, body, PBK_OK, "", &r);
        assert_int_equal(r.state, ok[i].state);
        assert_string_equal(r.code, ok[i].code);
        assert_false(r.has_amount); /* TFEB documents no amount in a status */
        /* Also with the code at the top level (no "response"). */
        snprintf(body, sizeof body, "{\"operationResult\":\"%s\"}", ok[i].code);
        s_http(PBK_STATUS, 200, body, PBK_OK, "", &r);
        assert_int_equal(r.state, ok[i].state);
    }
    s_body(body, sizeof body, "OPG-00001", "Unknown");
    s_check(PBK_STATUS, 200, body, PBK_UNKNOWN,
            "tfeb answered an undocumented result (OPG-00001: Unknown)");
    s_body(body, sizeof body, "GEN-00001", "System error");
    s_check(PBK_STATUS, 200, body, PBK_UNKNOWN, "tfeb system error (GEN-00001: System error)");
    s_body(body, sizeof body, "GEN-00002", "Not authorized");
    s_http(PBK_STATUS, 200, body, PBK_UNKNOWN, NULL, &r);
    assert_true(r.auth_failed);
    s_body(body, sizeof body, "OPG-99999", "New");
    s_check(PBK_STATUS, 200, body, PBK_UNKNOWN, NULL);
    /* A status is never rejected, even for a 4xx with a code. */
    s_check(PBK_STATUS, 404, "{\"response\":{\"operationResult\":\"OPG-00001\"}}", PBK_UNKNOWN,
            "tfeb answered http 404 (OPG-00001)");
    s_check(PBK_STATUS, 400, "{\"response\":{\"operationResult\":\"OPG-00010\"}}", PBK_UNKNOWN,
            NULL);
}

static void test_refund_answers(void **state)
{
    (void)state;
    char body[2048];
    pbk_result_t r;
    s_body(body, sizeof body, "GEN-00000", "Operation Successful");
    s_http(PBK_REFUND, 200, body, PBK_OK, "", &r);
    assert_string_equal(r.code, "GEN-00000");
    s_check(PBK_REFUND, 200, "{\"response\":{\"operationResult\":\"GEN-00000\"}}", PBK_OK, "");
    s_body(body, sizeof body, "OPG-00006", "The merchant cancelled the order");
    s_check(PBK_REFUND, 200, body, PBK_REJECTED, "wrong_state");
    s_body(body, sizeof body, "OPG-00100", "Further action is needed.");
    s_check(PBK_REFUND, 200, body, PBK_UNKNOWN, NULL);
    s_body(body, sizeof body, "OPG-00001", "");
    s_check(PBK_REFUND, 200, body, PBK_UNKNOWN, NULL);
    s_body(body, sizeof body, "GEN-00001", "");
    s_check(PBK_REFUND, 200, body, PBK_UNKNOWN, "tfeb system error (GEN-00001)");
    s_check(PBK_REFUND, 400,
            "{\"response\":{\"operationResult\":\"OPG-00020\",\"operationResultDescription\":"
            "\"Refund amount exceeds the order amount\"}}",
            PBK_REJECTED, "OPG-00020: Refund amount exceeds the order amount");
    s_check(PBK_REFUND, 500, body, PBK_UNKNOWN, NULL);
    /* A description is made reason text, bounded. */
    char big[1200];
    int n = snprintf(big, sizeof big,
                     "{\"response\":{\"operationResult\":\"OPG-00020\","
                     "\"operationResultDescription\":\"\\u0007");
    memset(big + n, 'x', 900);
    strcpy(big + n + 900, "\"}}");
    s_http(PBK_REFUND, 409, big, PBK_REJECTED, NULL, &r);
    assert_memory_equal(r.reason, "OPG-00020:  xxx", 15);
    assert_int_equal(strlen(r.reason), PBK_REASON_MAX);
    assert_string_equal(r.reason + PBK_REASON_MAX - 3, "...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amounts_in_major_units),
        cmocka_unit_test(test_token_request),
        cmocka_unit_test(test_token_answer),
        cmocka_unit_test(test_token_cache),
        cmocka_unit_test(test_account_check),
        cmocka_unit_test(test_register_request),
        cmocka_unit_test(test_status_and_refund_requests),
        cmocka_unit_test(test_register_answers),
        cmocka_unit_test(test_unreadable_answers),
        cmocka_unit_test(test_status_answers),
        cmocka_unit_test(test_refund_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
