/*  Unit tests of gw_json: strict parsing, exact amounts, field checks,
 *  deterministic output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../api-gateway/gw_json.h"
#include "pm_err.h"

#define MAX_MINOR 1000000000000000LL /* the gateway's default max-amount-minor */

static json_object *s_parse(const char *text, gw_build_t *b)
{
    gw_build_init(b);
    return gw_json_parse_object(text, strlen(text), b);
}

/* Runs value (JSON text) through parse + gw_json_amount as money_info.amount
 * of currency code. Returns 0 with *minor, or -1 with the message in msg. */
static int s_amount(const char *value, const char *code, int64_t *minor, char *msg, size_t cap)
{
    char text[256];
    snprintf(text, sizeof text, "{\"amount\": %s}", value);
    gw_build_t b;
    json_object *o = s_parse(text, &b);
    int rc = -1;
    if (o)
        rc = gw_json_amount(o, "money_info", "amount", pm_currency_find(code, 3), MAX_MINOR, minor,
                            &b);
    if (rc != 0) {
        assert_int_equal(b.err, PM_ERR_VALIDATION);
        snprintf(msg, cap, "%s", b.msg);
    }
    json_object_put(o);
    gw_build_destroy(&b);
    return rc;
}

static void s_amount_ok(const char *value, const char *code, int64_t want)
{
    int64_t minor = -1;
    char msg[GW_MSG_MAX] = "";
    if (s_amount(value, code, &minor, msg, sizeof msg) != 0)
        fail_msg("amount %s %s refused: %s", value, code, msg);
    if (minor != want)
        fail_msg("amount %s %s: got %lld minor units, want %lld", value, code, (long long)minor,
                 (long long)want);
}

static void s_amount_bad(const char *value, const char *code, const char *want_in_msg)
{
    int64_t minor = -1;
    char msg[GW_MSG_MAX] = "";
    if (s_amount(value, code, &minor, msg, sizeof msg) == 0)
        fail_msg("amount %s %s accepted as %lld", value, code, (long long)minor);
    if (!strstr(msg, want_in_msg))
        fail_msg("amount %s %s: message '%s' lacks '%s'", value, code, msg, want_in_msg);
}

/* json-c 0.16 keeps the original characters of a double: the proof that
 * amounts never pass through binary floating point. */
static void test_json_c_keeps_the_original_text_of_doubles(void **state)
{
    (void)state;
    gw_build_t b;
    json_object *o =
        s_parse("{\"a\": 1.10, \"b\": 0.1, \"c\": 0.30000000000000004, \"d\": 4.35}", &b);
    assert_non_null(o);
    const char *want[][2] = {
        {"a", "1.10"}, {"b", "0.1"}, {"c", "0.30000000000000004"}, {"d", "4.35"}};
    for (size_t i = 0; i < 4; i++) {
        json_object *v = json_object_object_get(o, want[i][0]);
        assert_int_equal(json_object_get_type(v), json_type_double);
        size_t len;
        const char *text = gw_json_amount_text(v, &len);
        assert_string_equal(text, want[i][1]);
        assert_int_equal(len, strlen(want[i][1]));
    }
    /* And 0.1 as a double really is not 0.1, so the text is what saves us. */
    char via_double[64];
    snprintf(via_double, sizeof via_double, "%.17g",
             json_object_get_double(json_object_object_get(o, "b")));
    assert_string_not_equal(via_double, "0.1");
    json_object_put(o);
    gw_build_destroy(&b);
}

static void test_amounts_are_exact(void **state)
{
    (void)state;
    s_amount_ok("1.10", "USD", 110);
    s_amount_ok("1.1", "USD", 110);
    s_amount_ok("1.100", "USD", 110); /* extra zeros keep the value exact */
    s_amount_ok("1.0", "BTC", 100000000);
    s_amount_ok("1", "BTC", 100000000);
    s_amount_ok("0.00000001", "BTC", 1);
    s_amount_ok("4.35", "USD", 435); /* 4.35 * 100 == 434.99999999999994 */
    s_amount_ok("0.29", "USD", 29);  /* 0.29 * 100 == 28.999999999999996 */
    s_amount_ok("0.1", "USD", 10);
    s_amount_ok("1000", "IRR", 1000);
    s_amount_ok("\"12.50\"", "USD", 1250);
    s_amount_ok("\"7\"", "EUR", 700);
    s_amount_ok("10000000000000.00", "USD", MAX_MINOR); /* exactly the maximum */
}

static void test_bad_amounts_are_refused_naming_the_field(void **state)
{
    (void)state;
    s_amount_bad("1.001", "USD", "money_info.amount has more decimal places");
    s_amount_bad("0.10000000000000000000001", "USD", "more decimal places");
    s_amount_bad("1.5", "IRR", "more decimal places");
    s_amount_bad("1e2", "USD", "money_info.amount must be a plain decimal");
    s_amount_bad("1E2", "USD", "plain decimal");
    s_amount_bad("1.5e1", "USD", "plain decimal");
    s_amount_bad("\"1e2\"", "USD", "plain decimal");
    s_amount_bad("0", "USD", "greater than zero");
    s_amount_bad("0.00", "USD", "greater than zero");
    s_amount_bad("-0", "USD", "greater than zero");
    s_amount_bad("-1", "USD", "must be positive");
    s_amount_bad("-1.10", "USD", "must be positive");
    s_amount_bad("10000000000000.01", "USD", "above the maximum");
    s_amount_bad("99999999999999999999999", "USD", "above the maximum");
    s_amount_bad("123456789012345678.12", "USD", "above the maximum");
    s_amount_bad("true", "USD", "money_info.amount must be a number");
    s_amount_bad("null", "USD", "must be a number");
    s_amount_bad("[1]", "USD", "must be a number");
    s_amount_bad("{}", "USD", "must be a number");
    s_amount_bad("\" 12.50\"", "USD", "decimal number");
    s_amount_bad("\"\"", "USD", "is empty");
    s_amount_bad("\"abc\"", "USD", "decimal number");
}

static void test_missing_amount_is_required(void **state)
{
    (void)state;
    gw_build_t b;
    json_object *o = s_parse("{}", &b);
    int64_t minor;
    assert_int_equal(gw_json_amount(o, "money_info", "amount", pm_currency_find("USD", 3),
                                    MAX_MINOR, &minor, &b),
                     -1);
    assert_string_equal(b.msg, "money_info.amount is required");
    json_object_put(o);
    gw_build_destroy(&b);
}

static void s_parse_bad(const char *text, size_t len, const char *want_in_msg)
{
    gw_build_t b;
    gw_build_init(&b);
    json_object *o = gw_json_parse_object(text, len, &b);
    if (o)
        fail_msg("accepted: %.*s", (int)len, text);
    assert_int_equal(b.err, PM_ERR_VALIDATION);
    if (!strstr(b.msg, want_in_msg))
        fail_msg("'%.*s': message '%s' lacks '%s'", (int)len, text, b.msg, want_in_msg);
    gw_build_destroy(&b);
}

static void test_body_must_be_one_strict_json_object(void **state)
{
    (void)state;
    s_parse_bad("", 0, "request body is empty");
    s_parse_bad("[]", 2, "must be a JSON object");
    s_parse_bad("\"x\"", 3, "must be a JSON object");
    s_parse_bad("12", 2, "must be a JSON object");
    s_parse_bad("null", 4, "must be a JSON object");
    s_parse_bad(" \n ", 3, "must be a JSON object");
    s_parse_bad("{\"a\":1", 6, "not valid JSON");
    s_parse_bad("{\"a\":1,}", 8, "not valid JSON");
    s_parse_bad("{} x", 4, "not valid JSON");
    s_parse_bad("{}{}", 4, "not valid JSON");
    s_parse_bad("{'a':1}", 7, "double quotes");
    s_parse_bad("{\"a\":NaN}", 9, "unexpected word");
    s_parse_bad("{\"a\":Infinity}", 14, "unexpected word");
    s_parse_bad("{\"a\":-Infinity}", 15, "start with a digit");
    s_parse_bad("{\"a\":00.5}", 10, "leading zeros");
    s_parse_bad("{\"a\":1.}", 8, "digits after its decimal point");
    s_parse_bad("{\"a\":.5}", 8, "not valid JSON");
    s_parse_bad("{\"a\":1e}", 8, "exponent");
    s_parse_bad("{\"a\":tru}", 9, "unexpected word");
    s_parse_bad("{\"a\":\"x\0\"}", 9, "not valid JSON");
    s_parse_bad("{\"a\":1}\0", 8, "not valid JSON");
    s_parse_bad("{\"a\":1} \0 ", 10, "not valid JSON");
    s_parse_bad("{\"a\":\0 1}", 9, "not valid JSON");
    s_parse_bad("{\"a\":\"\\q\"}", 10, "not valid JSON");
    s_parse_bad("/* c */ {}", 10, "must be a JSON object");
    s_parse_bad("\xef\xbb\xbf{}", 5, "must be a JSON object"); /* BOM */
}

static void s_lex_bad(const char *text, const char *want)
{
    char why[GW_MSG_MAX];
    if (gw_json_lex_check(text, strlen(text), why, sizeof why) == 0)
        fail_msg("accepted: %s", text);
    if (strcmp(why, want) != 0)
        fail_msg("%s: message '%s', want '%s'", text, why, want);
}

/* json-c turns these into U+FFFD without a word; the field is named. */
static void test_unpaired_surrogate_escapes_are_refused_naming_the_field(void **state)
{
    (void)state;
    const char *tail = " holds an unpaired UTF-16 surrogate escape";
    char want[128];
    snprintf(want, sizeof want, "a%s", tail);
    s_lex_bad("{\"a\":\"\\ud800\"}", want);
    s_lex_bad("{\"a\":\"\\uDBFFx\"}", want);
    s_lex_bad("{\"a\":\"\\ud800\\u0041\"}", want);
    s_lex_bad("{\"a\" : \"x\\udc00\"}", want);
    snprintf(want, sizeof want, "recipcient.recipcient_id%s", tail);
    s_lex_bad("{\"idempotency_token\":\"k\",\"recipcient\": {\"x\":[1,{}], "
              "\"recipcient_id\":\"\\ud800\"}}",
              want);
    snprintf(want, sizeof want, "accept_info.list%s", tail);
    s_lex_bad("{\"accept_info\":{\"list\":[\"ok\",\"\\udfff\"]}}", want);
    s_lex_bad("{\"a\":{\"\\udfff\":1}}", "a field name in a holds an unpaired UTF-16 surrogate");
    s_parse_bad("{\"a\":\"\\ud800\"}", 14, "a holds an unpaired UTF-16 surrogate escape");
    char why[GW_MSG_MAX];
    const char *ok = "{\"a\":\"\\ud83d\\udcb3 \\\\ud800 \\u00e9\"}";
    assert_int_equal(gw_json_lex_check(ok, strlen(ok), why, sizeof why), 0);
}

static void test_invalid_utf8_is_refused(void **state)
{
    (void)state;
    s_parse_bad("{\"a\":\"\xff\"}", 9, "not valid JSON");
    s_parse_bad("{\"a\":\"\xc0\x80\"}", 10, "not valid JSON");     /* overlong NUL */
    s_parse_bad("{\"a\":\"\xe2\x82\"}", 10, "not valid JSON");     /* truncated */
    s_parse_bad("{\"\xfe\":1}", 7, "not valid JSON");              /* in a key */
    s_parse_bad("{\"a\":\"\xed\xa0\x80\"}", 11, "not valid JSON"); /* surrogate */
    gw_build_t b;
    json_object *o = s_parse("{\"a\":\"Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xb3\"}", &b);
    assert_non_null(o);
    json_object_put(o);
    gw_build_destroy(&b);
}

static void test_lexical_check_ignores_string_content(void **state)
{
    (void)state;
    gw_build_t b;
    json_object *o = s_parse("{\"a\":\"it's NaN, 00.5 and 1. \\ud83d\\udcb3 \\\\ud800\", "
                             "\"b\\\"'\": [true, false, null, "
                             "-0.5, 0, 10, 1e-3, 2E+8]}",
                             &b);
    assert_non_null(o);
    json_object_put(o);
    gw_build_destroy(&b);
}

static void s_nest(char *buf, int depth)
{
    char *p = buf;
    for (int i = 0; i < depth; i++)
        p += sprintf(p, "{\"a\":");
    p += sprintf(p, "1");
    for (int i = 0; i < depth; i++)
        *p++ = '}';
    *p = '\0';
}

/* json-c keeps the last of two equal names; the gateway refuses the body,
 * whatever the spelling or the depth of the repeat. */
static void test_duplicated_field_names_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"a\": 1, \"a\": 2}",
        "{\"a\": 1, \"\\u0061\": 1}",
        "{\"x\": {\"amount\": \"1\", \"amount\": \"1000\"}}",
        "{\"x\": [{\"k\": 1}, {\"k\": 2, \"k\": 3}]}",
        "{\"a\": {\"b\": 1}, \"a\": {\"c\": 2}}",
        "{\"a\": null, \"a\": null}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_build_t b;
        json_object *o = s_parse(bad[i], &b);
        if (o)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(b.err, PM_ERR_VALIDATION);
        assert_non_null(strstr(b.msg, "names a field twice"));
        gw_build_destroy(&b);
    }
    /* Equal names in different objects, or a colon inside a string, are fine. */
    static const char *const good[] = {
        "{\"a\": {\"a\": 1}, \"b\": [{\"a\": 1}, {\"a\": 2}]}",
        "{\"a:b\": \"c:d\", \"ab\": \":\"}",
        "{}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        gw_build_t b;
        json_object *o = s_parse(good[i], &b);
        if (!o)
            fail_msg("refused %s: %s", good[i], b.msg);
        json_object_put(o);
        gw_build_destroy(&b);
    }
}

static void test_nesting_deeper_than_16_is_refused(void **state)
{
    (void)state;
    char text[512];
    gw_build_t b;
    s_nest(text, GW_JSON_DEPTH);
    json_object *o = s_parse(text, &b);
    assert_non_null(o);
    json_object_put(o);
    gw_build_destroy(&b);
    s_nest(text, GW_JSON_DEPTH + 1);
    s_parse_bad(text, strlen(text), "nests deeper than 16 levels");
    text[0] = '{';
    text[1] = '"';
    text[2] = 'a';
    text[3] = '"';
    text[4] = ':';
    memset(text + 5, '[', 300);
    strcpy(text + 305, "]");
    s_parse_bad(text, strlen(text), "nests deeper than 16 levels");
}

static void test_unknown_fields_are_named_with_their_path(void **state)
{
    (void)state;
    static const char *const allowed[] = {"currency", "amount", NULL};
    gw_build_t b;
    json_object *o = s_parse("{\"currency\":\"USD\",\"amount\":1,\"amout\":2}", &b);
    assert_int_equal(gw_json_only(o, "money_info", allowed, &b), -1);
    assert_int_equal(b.err, PM_ERR_VALIDATION);
    assert_string_equal(b.msg, "unknown field money_info.amout");
    json_object_put(o);
    gw_build_destroy(&b);

    o = s_parse("{\"currency\":\"USD\",\"x\\n\\u00e9\":1}", &b);
    assert_int_equal(gw_json_only(o, "", allowed, &b), -1);
    assert_string_equal(b.msg, "unknown field x???"); /* echoed as printable ASCII only */
    json_object_put(o);
    gw_build_destroy(&b);

    o = s_parse("{\"currency\":\"USD\",\"amount\":1}", &b);
    assert_int_equal(gw_json_only(o, "", allowed, &b), 0);
    json_object_put(o);
    gw_build_destroy(&b);
}

static int s_id(const char *text, const char **id, size_t *len, char *msg)
{
    gw_build_t b;
    json_object *o = s_parse(text, &b);
    assert_non_null(o);
    int rc = gw_json_id(o, "sender", "sender_id", true, id, len, &b);
    strcpy(msg, b.msg);
    json_object_put(o);
    gw_build_destroy(&b);
    return rc;
}

static void test_ids_are_1_to_128_bytes_without_controls(void **state)
{
    (void)state;
    const char *id;
    size_t len;
    char msg[GW_MSG_MAX], text[512];
    assert_int_equal(s_id("{\"sender_id\":\"alice\"}", &id, &len, msg), 0);
    assert_int_equal(s_id("{\"sender_id\":\"Jos\xc3\xa9\"}", &id, &len, msg), 0);
    assert_int_equal(s_id("{\"sender_id\":\"\"}", &id, &len, msg), -1);
    assert_string_equal(msg, "sender.sender_id must not be empty");
    assert_int_equal(s_id("{}", &id, &len, msg), -1);
    assert_string_equal(msg, "sender.sender_id is required");
    assert_int_equal(s_id("{\"sender_id\":null}", &id, &len, msg), -1);
    assert_string_equal(msg, "sender.sender_id is required");
    assert_int_equal(s_id("{\"sender_id\":5}", &id, &len, msg), -1);
    assert_string_equal(msg, "sender.sender_id must be a string");
    assert_int_equal(s_id("{\"sender_id\":\"a\\u0001b\"}", &id, &len, msg), -1);
    assert_string_equal(msg, "sender.sender_id must not contain control characters");
    assert_int_equal(s_id("{\"sender_id\":\"a\\u0000b\"}", &id, &len, msg), -1);
    assert_int_equal(s_id("{\"sender_id\":\"a\\u007fb\"}", &id, &len, msg), -1);
    assert_int_equal(s_id("{\"sender_id\":\"a\\u0085b\"}", &id, &len, msg), -1); /* C1 */
    snprintf(text, sizeof text, "{\"sender_id\":\"%0128d\"}", 7);
    assert_int_equal(s_id(text, &id, &len, msg), 0);
    assert_int_equal(len, 128);
    snprintf(text, sizeof text, "{\"sender_id\":\"%0129d\"}", 7);
    assert_int_equal(s_id(text, &id, &len, msg), -1);
    assert_string_equal(msg, "sender.sender_id is longer than 128 bytes");
}

static int s_idem(const char *text)
{
    gw_build_t b;
    json_object *o = s_parse(text, &b);
    assert_non_null(o);
    const char *idem;
    size_t len;
    int rc = gw_json_idem(o, "", "idempotency_token", &idem, &len, &b);
    if (rc != 0)
        assert_string_equal(b.msg, "idempotency_token must be 1 to 255 printable ASCII characters");
    json_object_put(o);
    gw_build_destroy(&b);
    return rc;
}

static void test_idempotency_token_is_1_to_255_printable_ascii(void **state)
{
    (void)state;
    char text[600];
    assert_int_equal(s_idem("{\"idempotency_token\":\"0b6f1e0e-6c9a-4c55-9a35-6f2b8e0a9d11\"}"), 0);
    assert_int_equal(s_idem("{\"idempotency_token\":\"a b~!\"}"), 0);
    snprintf(text, sizeof text, "{\"idempotency_token\":\"%0255d\"}", 1);
    assert_int_equal(s_idem(text), 0);
    snprintf(text, sizeof text, "{\"idempotency_token\":\"%0256d\"}", 1);
    assert_int_equal(s_idem(text), -1);
    assert_int_equal(s_idem("{\"idempotency_token\":\"\"}"), -1);
    assert_int_equal(s_idem("{\"idempotency_token\":\"a\\tb\"}"), -1);
    assert_int_equal(s_idem("{\"idempotency_token\":\"caf\xc3\xa9\"}"), -1);
}

static void test_currency_is_known_and_upper_cased(void **state)
{
    (void)state;
    const char *cases[][2] = {{"\"usd\"", "USD"}, {"\"Btc\"", "BTC"}, {"\"IRR\"", "IRR"}};
    for (size_t i = 0; i < 3; i++) {
        char text[64];
        snprintf(text, sizeof text, "{\"currency\":%s}", cases[i][0]);
        gw_build_t b;
        json_object *o = s_parse(text, &b);
        const pm_currency_t *cur;
        assert_int_equal(gw_json_currency(o, "money_info", "currency", &cur, &b), 0);
        assert_string_equal(cur->code, cases[i][1]);
        json_object_put(o);
        gw_build_destroy(&b);
    }
    const char *bad[] = {"\"XXX\"", "\"US\"", "\"USDT\"", "5", "null", "\"\""};
    for (size_t i = 0; i < 6; i++) {
        char text[64];
        snprintf(text, sizeof text, "{\"currency\":%s}", bad[i]);
        gw_build_t b;
        json_object *o = s_parse(text, &b);
        const pm_currency_t *cur;
        assert_int_equal(gw_json_currency(o, "money_info", "currency", &cur, &b), -1);
        assert_non_null(strstr(b.msg, "money_info.currency"));
        json_object_put(o);
        gw_build_destroy(&b);
    }
}

static void test_amount_output_has_exactly_the_currency_digits(void **state)
{
    (void)state;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "usd", gw_json_new_amount(110, pm_currency_find("USD", 3)));
    json_object_object_add(o, "btc", gw_json_new_amount(100000000, pm_currency_find("BTC", 3)));
    json_object_object_add(o, "sat", gw_json_new_amount(1, pm_currency_find("BTC", 3)));
    json_object_object_add(o, "irr", gw_json_new_amount(1000, pm_currency_find("IRR", 3)));
    json_object_object_add(o, "max", gw_json_new_amount(MAX_MINOR, pm_currency_find("USD", 3)));
    gw_response_t r = {0};
    assert_int_equal(gw_json_finish(o, 200, &r), 0);
    assert_string_equal(r.json, "{\"usd\":1.10,\"btc\":1.00000000,\"sat\":0.00000001,"
                                "\"irr\":1000,\"max\":10000000000000.00}");
    assert_int_equal(r.len, strlen(r.json));
    assert_int_equal(r.status, 200);
    gw_response_clear(&r);
    assert_null(gw_json_new_amount(-1, pm_currency_find("USD", 3)));
}

static void test_error_body_is_code_and_message(void **state)
{
    (void)state;
    gw_response_t r = {0};
    assert_int_equal(gw_json_error(PM_ERR_NOT_FOUND, "payment \"x\"/y\n not found", &r), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(
        r.json, "{\"code\":\"not_found\",\"message\":\"payment \\\"x\\\"/y\\n not found\"}");
    gw_response_clear(&r);
    assert_int_equal(gw_json_error(PM_ERR_ACCESS, "no", &r), 0);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.json, "{\"code\":\"acces_error\",\"message\":\"no\"}");
    gw_response_clear(&r);
}

static void test_time_format_is_iso8601_utc_with_ms(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(gw_time_format(1795420800123LL, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-11-23T08:00:00.123Z");
    assert_int_equal(gw_time_format(1700000000500LL, buf, sizeof buf), 0);
    assert_string_equal(buf, "2023-11-14T22:13:20.500Z");
    assert_int_equal(gw_time_format(0, buf, sizeof buf), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    assert_int_equal(gw_time_format(-1, buf, sizeof buf), 0);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_int_equal(gw_time_format(INT64_MAX, buf, sizeof buf), -1);
    assert_int_equal(gw_time_format(1795420800123LL, buf, 10), -1);
}

/* The arithmetic calendar agrees with gmtime_r over the whole
 * range (years 0000 to 9999, leap days and century years included). */
static void test_time_format_matches_gmtime(void **state)
{
    (void)state;
    const int64_t lo = -62167219200000LL, hi = 253402300799999LL;
    int64_t probes[] = {lo, hi, 951782400000LL /* 2000-02-29 */, 4107456000000LL /* 2100-02-28 */,
                        -2203891200000LL /* 1900-03-01 */};
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200005; i++) {
        int64_t ms;
        if (i < 5) {
            ms = probes[i];
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            ms = lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
        }
        int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
        time_t t = (time_t)sec;
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        char want[96], got[32];
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(ms - sec * 1000));
        assert_int_equal(gw_time_format(ms, got, sizeof got), 0);
        assert_string_equal(got, want);
    }
}

static void test_utf8_validation(void **state)
{
    (void)state;
    assert_true(gw_utf8_valid("", 0));
    assert_true(gw_utf8_valid("abc", 3));
    assert_true(gw_utf8_valid("Jos\xc3\xa9", 5));
    assert_true(gw_utf8_valid("\xe2\x82\xac", 3));
    assert_true(gw_utf8_valid("\xf0\x9f\x92\xb3", 4));
    assert_true(gw_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    assert_false(gw_utf8_valid("\xc0\x80", 2));         /* overlong */
    assert_false(gw_utf8_valid("\xe0\x80\x80", 3));     /* overlong */
    assert_false(gw_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(gw_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(gw_utf8_valid("\xe2\x82", 2));         /* truncated */
    assert_false(gw_utf8_valid("\x80", 1));
    assert_false(gw_utf8_valid("\xff", 1));
}

static void test_text_clip(void **state)
{
    (void)state;
    char buf[16];
    gw_text_clip(buf, sizeof buf, "abc", 3, 8);
    assert_string_equal(buf, "abc");
    gw_text_clip(buf, sizeof buf, "a\nb\xc3\xa9", 5, 8);
    assert_string_equal(buf, "a?b??");
    gw_text_clip(buf, sizeof buf, "0123456789", 10, 4);
    assert_string_equal(buf, "0123...");
    gw_text_clip(buf, 4, "0123456789", 10, 8);
    assert_string_equal(buf, "012");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_c_keeps_the_original_text_of_doubles),
        cmocka_unit_test(test_amounts_are_exact),
        cmocka_unit_test(test_bad_amounts_are_refused_naming_the_field),
        cmocka_unit_test(test_missing_amount_is_required),
        cmocka_unit_test(test_body_must_be_one_strict_json_object),
        cmocka_unit_test(test_invalid_utf8_is_refused),
        cmocka_unit_test(test_unpaired_surrogate_escapes_are_refused_naming_the_field),
        cmocka_unit_test(test_lexical_check_ignores_string_content),
        cmocka_unit_test(test_nesting_deeper_than_16_is_refused),
        cmocka_unit_test(test_duplicated_field_names_are_refused),
        cmocka_unit_test(test_unknown_fields_are_named_with_their_path),
        cmocka_unit_test(test_ids_are_1_to_128_bytes_without_controls),
        cmocka_unit_test(test_idempotency_token_is_1_to_255_printable_ascii),
        cmocka_unit_test(test_currency_is_known_and_upper_cased),
        cmocka_unit_test(test_amount_output_has_exactly_the_currency_digits),
        cmocka_unit_test(test_error_body_is_code_and_message),
        cmocka_unit_test(test_time_format_is_iso8601_utc_with_ms),
        cmocka_unit_test(test_time_format_matches_gmtime),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_text_clip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
