/*  Unit tests of provider-bazaar's pure half: every Cafe Bazaar answer ->
 *  job outcome (providers.md 2.4-2.5, pm_proto.h job kinds), URL building
 *  and escaping, the OAuth token answer and the token cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pm_text.h"
#include "../../provider-bazaar/pb_bazaar.h"

#define BASE "http://127.0.0.1:8090/devapi/v2/"

static void s_validate(long status, const char *body, pb_outcome_t want, const char *reason)
{
    pb_result_t r;
    pb_classify_validate(status, body, body ? strlen(body) : 0, &r);
    if (r.outcome != want)
        fail_msg("validate %ld %s: got %s (%s), want %s", status, body ? body : "(none)",
                 pb_outcome_name(r.outcome), r.reason, pb_outcome_name(want));
    if (reason)
        assert_string_equal(r.reason, reason);
}

static void s_consume(long status, const char *body, pb_outcome_t want, const char *reason)
{
    pb_result_t r;
    pb_classify_consume(status, body, body ? strlen(body) : 0, &r);
    if (r.outcome != want)
        fail_msg("consume %ld %s: got %s (%s), want %s", status, body ? body : "(none)",
                 pb_outcome_name(r.outcome), r.reason, pb_outcome_name(want));
    if (reason)
        assert_string_equal(r.reason, reason);
}

static void test_validate_ok_carries_time_and_payload(void **state)
{
    (void)state;
    const char *body = "{\"consumptionState\": 1, \"purchaseState\": 0, \"kind\": "
                       "\"androidpublisher#inappPurchase\", \"developerPayload\": \"something\", "
                       "\"purchaseTime\": 1414181378566}";
    pb_result_t r;
    pb_classify_validate(200, body, strlen(body), &r);
    assert_int_equal(r.outcome, PB_OK);
    assert_string_equal(r.reason, "");
    assert_true(r.has_time);
    assert_int_equal(r.purchase_time_ms, 1414181378566LL);
    assert_true(r.has_payload);
    assert_string_equal(r.developer_payload, "something");
    assert_false(r.auth_failed);

    body = "{\"consumptionState\": 1, \"purchaseState\": 0}";
    pb_classify_validate(200, body, strlen(body), &r);
    assert_int_equal(r.outcome, PB_OK);
    assert_false(r.has_time);
    assert_false(r.has_payload);
}

static void test_validate_rejections(void **state)
{
    (void)state;
    /* Bazaar's consumptionState is 0 = consumed, 1 = not (unlike Google). */
    s_validate(200, "{\"consumptionState\": 1, \"purchaseState\": 1}", PB_REJECTED, "refunded");
    s_validate(200, "{\"consumptionState\": 0, \"purchaseState\": 1}", PB_REJECTED, "refunded");
    s_validate(200, "{\"consumptionState\": 0, \"purchaseState\": 0}", PB_REJECTED, "consumed");
    s_validate(404,
               "{\"error\": \"not_found\", \"error_description\": \"The requested purchase is "
               "not found!\"}",
               PB_REJECTED, "not_found");
    s_validate(404,
               "{\"error\": \"invalid_value\", \"error_description\": \"Product is not found\"}",
               PB_REJECTED, "invalid_value");
    s_validate(400, "{\"error\": \"is_subscription\"}", PB_REJECTED, "is_subscription");
}

static void test_validate_unknowns(void **state)
{
    (void)state;
    /* Our credentials: never the user's fault. 401 asks for a token refresh. */
    pb_result_t r;
    const char *body = "{\"error\": \"invalid_credentials\"}";
    pb_classify_validate(401, body, strlen(body), &r);
    assert_int_equal(r.outcome, PB_UNKNOWN);
    assert_true(r.auth_failed);
    pb_classify_validate(403, body, strlen(body), &r);
    assert_int_equal(r.outcome, PB_UNKNOWN);
    assert_false(r.auth_failed);
    /* Bazaar's side, or nothing readable. */
    s_validate(500, "{\"error\": \"server_error\"}", PB_UNKNOWN, "bazaar answered http 500");
    s_validate(502, "<html>bad gateway</html>", PB_UNKNOWN, NULL);
    s_validate(503, NULL, PB_UNKNOWN, NULL);
    s_validate(404, "<html>no such page</html>", PB_UNKNOWN, NULL); /* not Bazaar's 404 */
    s_validate(404, "{\"error\": 7}", PB_UNKNOWN, NULL);
    s_validate(404, "{\"error\": \"\"}", PB_UNKNOWN, NULL);
    s_validate(404, "{\"error\": \"no spaces allowed\"}", PB_UNKNOWN, NULL);
    s_validate(404, "{\"detail\": \"not_found\"}", PB_UNKNOWN, NULL);
    s_validate(429, "{\"error\": \"throttled\"}", PB_UNKNOWN, NULL); /* busy is not no */
    s_validate(408, "{\"error\": \"timeout\"}", PB_UNKNOWN, NULL);
    s_consume(429, "{\"error\": \"throttled\"}", PB_UNKNOWN, NULL);
    s_validate(200, "", PB_UNKNOWN, NULL);
    s_validate(200, "not json", PB_UNKNOWN, NULL);
    s_validate(200, "[1]", PB_UNKNOWN, NULL);
    s_validate(200, "{\"consumptionState\": 1}", PB_UNKNOWN, NULL);
    s_validate(200, "{\"consumptionState\": \"1\", \"purchaseState\": 0}", PB_UNKNOWN, NULL);
    s_validate(200, "{\"consumptionState\": 1, \"purchaseState\": 0.0}", PB_UNKNOWN, NULL);
    s_validate(200, "{\"consumptionState\": 1, \"purchaseState\": 2}", PB_UNKNOWN, NULL);
    s_validate(200, "{\"consumptionState\": 7, \"purchaseState\": 0}", PB_UNKNOWN, NULL);
    s_validate(200, "{\"consumptionState\": 1, \"purchaseState\": 0} trailing", PB_UNKNOWN, NULL);
    s_validate(302, NULL, PB_UNKNOWN, NULL);
    s_validate(0, NULL, PB_UNKNOWN, NULL);
}

static void test_consume_outcomes(void **state)
{
    (void)state;
    s_consume(200, "{}", PB_OK, "");
    s_consume(200, NULL, PB_OK, "");
    s_consume(204, NULL, PB_OK, "");
    s_consume(400, "{\"error\": \"already_consumed\"}", PB_OK, "already_consumed");
    s_consume(400, "{\"error\": \"is_refunded\"}", PB_REJECTED, "is_refunded");
    s_consume(400, "{\"error\": \"is_subscription\"}", PB_REJECTED, "is_subscription");
    s_consume(404, "{\"error\": \"invalid_value\", \"error_description\": \"Invalid token!\"}",
              PB_REJECTED, "invalid_value");
    s_consume(404, "{\"error\": \"already_consumed\"}", PB_REJECTED, "already_consumed");
    s_consume(401, "{\"error\": \"already_consumed\"}", PB_UNKNOWN, NULL);
    s_consume(403, NULL, PB_UNKNOWN, NULL);
    s_consume(500, "{\"error\": \"already_consumed\"}", PB_UNKNOWN, NULL);
    s_consume(400, "garbage", PB_UNKNOWN, NULL);
}

static void test_urls_escape_every_part(void **state)
{
    (void)state;
    char url[PB_URL_MAX];
    assert_int_equal(
        pb_url_validate(url, sizeof url, BASE, "com.paymesh.demo", "coins_100", "tok-1.2_3~", NULL),
        0);
    assert_string_equal(url, BASE "api/validate/com.paymesh.demo/inapp/coins_100/purchases/"
                                  "tok-1.2_3~/");
    assert_int_equal(
        pb_url_validate(url, sizeof url, BASE, "com.paymesh.demo", "a/b", "x?y#z%/ é", "acc+ess/="),
        0);
    assert_string_equal(url, BASE "api/validate/com.paymesh.demo/inapp/a%2Fb/purchases/"
                                  "x%3Fy%23z%25%2F%20%C3%A9/?access_token=acc%2Bess%2F%3D");
    /* Dot segments would be resolved away by the server. */
    assert_int_equal(pb_url_validate(url, sizeof url, BASE, "p", "..", ".", NULL), 0);
    assert_string_equal(url, BASE "api/validate/p/inapp/%2E%2E/purchases/%2E/");
    assert_int_equal(pb_url_consume(url, sizeof url, BASE, "com.paymesh.demo", NULL), 0);
    assert_string_equal(url, BASE "api/consume/com.paymesh.demo/purchases/");
    assert_int_equal(pb_url_consume(url, sizeof url, BASE, "com.paymesh.demo", "T0K"), 0);
    assert_string_equal(url, BASE "api/consume/com.paymesh.demo/purchases/?access_token=T0K");
    /* Too small a buffer fails cleanly. */
    char small[40];
    assert_int_equal(pb_url_validate(small, sizeof small, BASE, "p", "s", "t", NULL), -1);
    size_t used = 0;
    char tiny[4];
    assert_int_equal(pm_url_escape(tiny, sizeof tiny, &used, "/", 1), 0);
    assert_string_equal(tiny, "%2F");
    assert_int_equal(pm_url_escape(tiny, sizeof tiny, &used, "a", 1), -1);
}

static void test_request_bodies(void **state)
{
    (void)state;
    char *body = pb_consume_body("to\"ken");
    assert_string_equal(body, "{\"token\":\"to\\\"ken\"}");
    free(body);
    char *form = pb_token_form("sandbox-client", "s&cret=", "re fresh");
    assert_string_equal(form, "grant_type=refresh_token&client_id=sandbox-client&client_secret="
                              "s%26cret%3D&refresh_token=re%20fresh");
    free(form);
}

static void test_token_answer(void **state)
{
    (void)state;
    char tok[PB_TOKEN_MAX + 1];
    int64_t exp = 0;
    const char *why = NULL;
    const char *ok = "{\"access_token\":\"GWObRK06KHLr8pCQzDXJ9hcDdSC3eV\",\"token_type\":"
                     "\"Bearer\",\"expires_in\":3600,\"scope\":\"androidpublisher\"}";
    assert_int_equal(pb_token_parse(200, ok, strlen(ok), tok, sizeof tok, &exp, &why), 0);
    assert_string_equal(tok, "GWObRK06KHLr8pCQzDXJ9hcDdSC3eV");
    assert_int_equal(exp, 3600);
    const char *no_exp = "{\"access_token\":\"abc\"}";
    assert_int_equal(pb_token_parse(200, no_exp, strlen(no_exp), tok, sizeof tok, &exp, &why), 0);
    assert_int_equal(exp, 3600);
    static const char *const bad[] = {
        "{\"error\":\"invalid_grant\"}",
        "{\"access_token\":\"\"}",
        "{\"access_token\":\"has space\"}",
        "{\"access_token\":7}",
        "{\"access_token\":\"a\",\"expires_in\":0}",
        "{\"access_token\":\"a\",\"expires_in\":\"3600\"}",
        "{\"access_token\":\"a\",\"expires_in\":-5}",
        "nope",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal(pb_token_parse(200, bad[i], strlen(bad[i]), tok, sizeof tok, &exp, &why),
                         -1);
        assert_non_null(why);
        assert_string_equal(tok, "");
    }
    assert_int_equal(pb_token_parse(401, ok, strlen(ok), tok, sizeof tok, &exp, &why), -1);
}

static void test_token_cache_expiry(void **state)
{
    (void)state;
    pb_token_cache_t c = {0};
    assert_null(pb_token_cache_get(&c, 0));
    /* One hour: refreshed a minute early. */
    pb_token_cache_set(&c, "A", 3600, 1000);
    assert_string_equal(pb_token_cache_get(&c, 1000), "A");
    assert_string_equal(pb_token_cache_get(&c, 1000 + 3600000 - 60000 - 1), "A");
    assert_null(pb_token_cache_get(&c, 1000 + 3600000 - 60000));
    /* Short lives keep nine tenths of their length. */
    pb_token_cache_set(&c, "B", 10, 0);
    assert_string_equal(pb_token_cache_get(&c, 8999), "B");
    assert_null(pb_token_cache_get(&c, 9000));
    /* A 401 for an older token does not throw away the current one. */
    pb_token_cache_set(&c, "C", 3600, 0);
    pb_token_cache_invalidate(&c, "B");
    assert_string_equal(pb_token_cache_get(&c, 1), "C");
    pb_token_cache_invalidate(&c, "C");
    assert_null(pb_token_cache_get(&c, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_ok_carries_time_and_payload),
        cmocka_unit_test(test_validate_rejections),
        cmocka_unit_test(test_validate_unknowns),
        cmocka_unit_test(test_consume_outcomes),
        cmocka_unit_test(test_urls_escape_every_part),
        cmocka_unit_test(test_request_bodies),
        cmocka_unit_test(test_token_answer),
        cmocka_unit_test(test_token_cache_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
