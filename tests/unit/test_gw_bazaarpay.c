/*  Unit tests of the BazaarPay checkout family (seeds 002/003): requests ->
 *  BAZAARPAY_* bodies (pm_proto.h), CHECKOUT replies -> JSON with the status
 *  each state gets, payment-core's errors in the store's shape, and the
 *  routing table's four rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../api-gateway/bazaarpay.h"
#include "../../api-gateway/gw_json.h"
#include "gw_testlib.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_proto.h"

#define URL "https://shop.example/return?order=7"
#define TOKEN "3258455376"
#define SERIAL "6251218724919990"

static gw_input_t s_input(const char *json)
{
    gw_input_t in = {
        .body = json,
        .body_len = json ? strlen(json) : 0,
        .max_amount_minor = 1000,
    };
    return in;
}

static gw_input_t s_input_id(const char *id)
{
    gw_input_t in = {.id = id, .id_len = id ? strlen(id) : 0};
    return in;
}

static void s_assert_str(const msgpack_object *map, const char *key, const char *want)
{
    char got[4096];
    assert_int_equal(pm_mp_copy_str(map, key, got, sizeof got), 0);
    assert_string_equal(got, want);
}

static void s_assert_nil(const msgpack_object *map, const char *key)
{
    const msgpack_object *v = pm_mp_get(map, key);
    assert_non_null(v);
    assert_int_equal(v->type, MSGPACK_OBJECT_NIL);
}

/* ---- checkout: the request ----------------------------------------------- */

static void test_checkout_build(void **state)
{
    (void)state;
    gw_input_t in = s_input("{\"serial_number\": \"coins_100\", \"redirect_url\": \"" URL "\"}");
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_bazaarpay_checkout_build, &in, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_BAZAARPAY_CHECKOUT);
    assert_int_equal(r.body->via.map.size, 3);
    s_assert_str(r.body, "sku", "coins_100");
    s_assert_str(r.body, "redirect_url", URL);
    s_assert_nil(r.body, "phone");
    gw_test_done(&r);

    static const char *const phones[] = {"09123456789", "+989123456789", "0912345678",
                                         "123456789012345", "+123456789012345"};
    for (size_t i = 0; i < sizeof phones / sizeof phones[0]; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"serial_number\": \"coins_100\", \"redirect_url\": \"" URL
                 "\", \"phone\": \"%s\"}",
                 phones[i]);
        in = s_input(json);
        assert_int_equal(gw_test_run(gw_bazaarpay_checkout_build, &in, &r), 0);
        s_assert_str(r.body, "phone", phones[i]);
        gw_test_done(&r);
    }
    /* A null phone is no phone. */
    in = s_input("{\"serial_number\": \"coins_100\", \"redirect_url\": \"" URL
                 "\", \"phone\": null}");
    assert_int_equal(gw_test_run(gw_bazaarpay_checkout_build, &in, &r), 0);
    s_assert_nil(r.body, "phone");
    gw_test_done(&r);
}

static void test_checkout_build_refuses_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *part;
    } bad[] = {
        {"{\"redirect_url\": \"" URL "\"}", "serial_number is required"},
        {"{\"serial_number\": null, \"redirect_url\": \"" URL "\"}", "serial_number is required"},
        {"{\"serial_number\": \"\", \"redirect_url\": \"" URL "\"}", "serial_number"},
        {"{\"serial_number\": 7, \"redirect_url\": \"" URL "\"}", "serial_number must be a string"},
        {"{\"serial_number\": \"a\"}", "redirect_url is required"},
        {"{\"serial_number\": \"a\", \"redirect_url\": null}", "redirect_url is required"},
        {"{\"serial_number\": \"a\", \"redirect_url\": 1}", "redirect_url must be a string"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"\"}", "redirect_url must be an absolute"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"ftp://h/x\"}", "http or https"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"javascript:alert(1)\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"/return\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"//h/x\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"shop.example\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"http://\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"http:/h\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"http:///h\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"http://h:99999/\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"http://a b/\"}", "without spaces"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"http://h/a b\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"http://h/\\t\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"http://h/\\u0000\"}", "redirect_url"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"http://h/\\u00e9\"}", "printable ASCII"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"" URL "\", \"phone\": \"912345678\"}",
         "phone must be 10 to 15 digits"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"" URL
         "\", \"phone\": \"1234567890123456\"}",
         "phone"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"" URL "\", \"phone\": \"0912-345678\"}",
         "phone"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"" URL "\", \"phone\": \"++9891234567\"}",
         "phone"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"" URL "\", \"phone\": \"\"}", "phone"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"" URL "\", \"phone\": 9123456789}",
         "phone must be a string"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"" URL "\", \"amount\": 1}",
         "unknown field amount"},
        {"{\"serial_number\": \"a\", \"redirect_url\": \"" URL "\", \"price\": 1}", "price"},
        {"[1]", "JSON object"},
        {"{\"serial_number\": 'a'}", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_input_t in = s_input(bad[i].json);
        gw_test_fails(gw_bazaarpay_checkout_build, &in, PM_ERR_VALIDATION, bad[i].part);
    }
    gw_input_t in = s_input(NULL);
    gw_test_fails(gw_bazaarpay_checkout_build, &in, PM_ERR_VALIDATION, "empty");
}

static void test_redirect_url_rules(void **state)
{
    (void)state;
    static const char *const good[] = {
        "http://h",
        "https://shop.example/return?order=7&x=%20#done",
        "HTTPS://SHOP.EXAMPLE",
        "http://127.0.0.1:8080/",
        "http://[::1]:8/x",
        "http://user@h/",
        "https://xn--mgbaam7a8h.example/",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!gw_bazaarpay_url_valid(good[i], strlen(good[i])))
            fail_msg("'%s' refused", good[i]);
    static const char *const bad[] = {
        "",
        "http",
        "http:",
        "http://",
        "https://",
        "http:/h",
        "http:///h",
        "http:h",
        "hxxp://h",
        "ftp://h",
        "file:///x",
        "data:text/html,x",
        "mailto:a@b",
        "//h",
        "h",
        "http://h:0x/",
        "http://[::1/",
        "http://h/\x7f",
        "http://h/\x01",
        "http://h/\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (gw_bazaarpay_url_valid(bad[i], strlen(bad[i])))
            fail_msg("'%s' accepted", bad[i]);
    /* The bound: 2048 bytes, not one more; NUL inside is never part of it. */
    char url[GW_BAZAARPAY_URL_MAX + 2];
    memcpy(url, "https://h/", 10);
    memset(url + 10, 'a', sizeof url - 10);
    assert_true(gw_bazaarpay_url_valid(url, GW_BAZAARPAY_URL_MAX));
    assert_false(gw_bazaarpay_url_valid(url, GW_BAZAARPAY_URL_MAX + 1));
    assert_false(gw_bazaarpay_url_valid("http://h/\0x", 11));
    assert_false(gw_bazaarpay_url_valid(NULL, 0));

    /* The same bound through the request. */
    char json[GW_BAZAARPAY_URL_MAX + 128];
    snprintf(json, sizeof json, "{\"serial_number\": \"a\", \"redirect_url\": \"%.*s\"}",
             GW_BAZAARPAY_URL_MAX, url);
    gw_input_t in = s_input(json);
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_bazaarpay_checkout_build, &in, &r), 0);
    gw_test_done(&r);
    snprintf(json, sizeof json, "{\"serial_number\": \"a\", \"redirect_url\": \"%.*s\"}",
             GW_BAZAARPAY_URL_MAX + 1, url);
    in = s_input(json);
    gw_test_fails(gw_bazaarpay_checkout_build, &in, PM_ERR_VALIDATION, "at most 2048 bytes");
}

/* ---- confirm, GET and refund: the requests ------------------------------- */

static void test_confirm_build(void **state)
{
    (void)state;
    gw_input_t in = s_input("{\"checkout_token\": \"" TOKEN "\"}");
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_bazaarpay_confirm_build, &in, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_BAZAARPAY_CONFIRM);
    assert_int_equal(r.body->via.map.size, 1);
    s_assert_str(r.body, "checkout_token", TOKEN);
    gw_test_done(&r);

    char long_tok[80];
    memset(long_tok, 'A', sizeof long_tok);
    char json[160];
    snprintf(json, sizeof json, "{\"checkout_token\": \"%.*s\"}", GW_BAZAARPAY_TOKEN_MAX, long_tok);
    in = s_input(json);
    assert_int_equal(gw_test_run(gw_bazaarpay_confirm_build, &in, &r), 0);
    gw_test_done(&r);

    static const struct {
        const char *json;
        const char *part;
    } bad[] = {
        {"{}", "checkout_token is required"},
        {"{\"checkout_token\": null}", "checkout_token is required"},
        {"{\"checkout_token\": 3258455376}", "checkout_token must be a string"},
        {"{\"checkout_token\": \"\"}", "checkout_token must be 1 to 64 letters and digits"},
        {"{\"checkout_token\": \"abc-123\"}", "letters and digits"},
        {"{\"checkout_token\": \"abc 123\"}", "letters and digits"},
        {"{\"checkout_token\": \"abc\\u00e9\"}", "letters and digits"},
        {"{\"checkout_token\": \"abc\", \"reason\": \"x\"}", "unknown field reason"},
        {"null", "JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in = s_input(bad[i].json);
        gw_test_fails(gw_bazaarpay_confirm_build, &in, PM_ERR_VALIDATION, bad[i].part);
    }
    snprintf(json, sizeof json, "{\"checkout_token\": \"%.*s\"}", GW_BAZAARPAY_TOKEN_MAX + 1,
             long_tok);
    in = s_input(json);
    gw_test_fails(gw_bazaarpay_confirm_build, &in, PM_ERR_VALIDATION, "1 to 64");
}

static void test_get_build(void **state)
{
    (void)state;
    gw_input_t in = s_input_id(TOKEN);
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_bazaarpay_get_build, &in, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_BAZAARPAY_GET);
    assert_int_equal(r.body->via.map.size, 1);
    s_assert_str(r.body, "checkout_token", TOKEN);
    gw_test_done(&r);

    /* An id that cannot be a token is a token that does not exist. */
    in = s_input_id("not-a-token");
    gw_test_fails(gw_bazaarpay_get_build, &in, PM_ERR_NOT_FOUND, "checkout not-a-token not found");
    in = s_input_id("%00");
    gw_test_fails(gw_bazaarpay_get_build, &in, PM_ERR_NOT_FOUND, "not found");
    in = s_input_id("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); /* 65 */
    gw_test_fails(gw_bazaarpay_get_build, &in, PM_ERR_NOT_FOUND, "not found");
    in = s_input_id(NULL);
    gw_test_fails(gw_bazaarpay_get_build, &in, PM_ERR_NOT_FOUND, "not found");
}

static void test_refund_build(void **state)
{
    (void)state;
    gw_input_t in =
        s_input("{\"checkout_token\": \"" TOKEN "\", \"reason\": \"user asked, \\u0628\"}");
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_bazaarpay_refund_build, &in, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_BAZAARPAY_REFUND);
    assert_int_equal(r.body->via.map.size, 2);
    s_assert_str(r.body, "checkout_token", TOKEN);
    s_assert_str(r.body, "reason", "user asked, \xd8\xa8");
    gw_test_done(&r);

    char text[300];
    memset(text, 'r', sizeof text);
    char json[400];
    snprintf(json, sizeof json, "{\"checkout_token\": \"t1\", \"reason\": \"%.*s\"}",
             GW_BAZAARPAY_REASON_MAX, text);
    in = s_input(json);
    assert_int_equal(gw_test_run(gw_bazaarpay_refund_build, &in, &r), 0);
    gw_test_done(&r);
    snprintf(json, sizeof json, "{\"checkout_token\": \"t1\", \"reason\": \"%.*s\"}",
             GW_BAZAARPAY_REASON_MAX + 1, text);
    in = s_input(json);
    gw_test_fails(gw_bazaarpay_refund_build, &in, PM_ERR_VALIDATION,
                  "reason must be 1 to 256 bytes");

    static const struct {
        const char *json;
        const char *part;
    } bad[] = {
        {"{\"checkout_token\": \"t1\"}", "reason is required"},
        {"{\"checkout_token\": \"t1\", \"reason\": null}", "reason is required"},
        {"{\"checkout_token\": \"t1\", \"reason\": \"\"}", "reason must be 1 to 256"},
        {"{\"checkout_token\": \"t1\", \"reason\": 5}", "reason must be a string"},
        {"{\"checkout_token\": \"t1\", \"reason\": \"a\\nb\"}", "without control characters"},
        {"{\"checkout_token\": \"t1\", \"reason\": \"a\\u0085b\"}", "control characters"},
        {"{\"reason\": \"x\"}", "checkout_token is required"},
        {"{\"checkout_token\": \"t-1\", \"reason\": \"x\"}", "letters and digits"},
        {"{\"checkout_token\": \"t1\", \"reason\": \"x\", \"amount\": 5}", "unknown field amount"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in = s_input(bad[i].json);
        gw_test_fails(gw_bazaarpay_refund_build, &in, PM_ERR_VALIDATION, bad[i].part);
    }
}

/* ---- replies --------------------------------------------------------------- */

/* What varies between the CHECKOUTs of the tests. */
typedef struct {
    const char *token; /* NULL: nil */
    const char *state;
    const char *package_type; /* "coin" | "time" */
    bool has_coins_after;
    int64_t coins_after;
    bool has_until;
    int64_t until_ms;
    bool delivered;
    bool refund_requested;
    const char *refund_reason;
    int attempts;
} s_co_t;

static void s_kv_str(msgpack_packer *pk, const char *key, const char *s)
{
    pm_mp_pack_cstr(pk, key);
    pm_mp_pack_cstr(pk, s);
}

static void s_kv_int(msgpack_packer *pk, const char *key, int64_t v)
{
    pm_mp_pack_cstr(pk, key);
    msgpack_pack_int64(pk, v);
}

static void s_kv_opt(msgpack_packer *pk, const char *key, bool set, int64_t v)
{
    pm_mp_pack_cstr(pk, key);
    if (set)
        msgpack_pack_int64(pk, v);
    else
        msgpack_pack_nil(pk);
}

/* {"err": 0, "checkout": CHECKOUT} into buf (reset first). */
static void s_pack_checkout(msgpack_sbuffer *buf, const s_co_t *c)
{
    static const char *const calls[] = {"init", "trace", "commit", "refund"};
    bool coin = strcmp(c->package_type, "coin") == 0;
    msgpack_sbuffer_clear(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    s_kv_int(&pk, "err", 0);
    pm_mp_pack_cstr(&pk, "checkout");
    msgpack_pack_map(&pk, 18);
    s_kv_str(&pk, "token", c->token);
    s_kv_str(&pk, "serial", SERIAL);
    s_kv_str(&pk, "principal", "alice");
    s_kv_str(&pk, "sku", coin ? "coins_100" : "vip_30");
    s_kv_str(&pk, "state", c->state);
    s_kv_int(&pk, "amount", coin ? 120000 : 450000);
    s_kv_str(&pk, "payment_url",
             c->token ? "https://cafebazaar.ir/bazaar-pay/payment?token=" TOKEN
                        "&redirect_url=https%3A%2F%2Fshop.example%2Freturn%3Forder%3D7"
                      : NULL);
    s_kv_str(&pk, "redirect_url", URL);
    pm_mp_pack_cstr(&pk, "package");
    msgpack_pack_map(&pk, 5);
    s_kv_str(&pk, "sku", coin ? "coins_100" : "vip_30");
    s_kv_str(&pk, "name", coin ? "100 coins" : "VIP, 30 days");
    s_kv_str(&pk, "package_type", c->package_type);
    s_kv_int(&pk, "coins", coin ? 100 : 0);
    s_kv_int(&pk, "duration_days", coin ? 0 : 30);
    s_kv_opt(&pk, "coins_after", c->has_coins_after, c->coins_after);
    s_kv_opt(&pk, "subscription_until_ms", c->has_until, c->until_ms);
    pm_mp_pack_cstr(&pk, "refund_requested");
    if (c->refund_requested)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    s_kv_str(&pk, "refund_reason", c->refund_reason);
    pm_mp_pack_cstr(&pk, "reversed");
    if (strcmp(c->state, "refunded") == 0)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    s_kv_int(&pk, "created_ms", 1795420800123);
    s_kv_int(&pk, "updated_ms", 1795420980000);
    s_kv_opt(&pk, "delivered_ms", c->delivered, 1795420930500);
    pm_mp_pack_cstr(&pk, "attempts");
    msgpack_pack_array(&pk, (size_t)c->attempts);
    for (int i = 0; i < c->attempts; i++) {
        msgpack_pack_map(&pk, 4);
        s_kv_int(&pk, "at_ms", 1795420800123 + 1000 * i);
        s_kv_str(&pk, "call", calls[i % 4]);
        s_kv_str(&pk, "outcome", i == 2 ? "unknown" : "ok");
        s_kv_str(&pk, "detail", i == 1 ? "paid_not_committed" : i == 2 ? "timeout" : "");
    }
}

static void s_pack_error(msgpack_sbuffer *buf, int err, const char *msg)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    s_kv_int(&pk, "err", err);
    s_kv_str(&pk, "msg", msg);
}

/* Renders buf through fn as a route of the family would. */
static void s_render(gw_render_fn fn, const msgpack_sbuffer *buf, int status, const char *want)
{
    gw_route_t route = {.render = fn, .errors = GW_ERRORS_STORE};
    gw_response_t r = {0};
    assert_int_equal(gw_reply_render_route(&route, NULL, buf->data, buf->size, &r), 0);
    if (r.status != status || strcmp(r.json, want) != 0)
        fail_msg("got %d %s\nwant %d %s", r.status, r.json, status, want);
    gw_response_clear(&r);
}

#define S_MALFORMED                                                                                \
    "{\"error\":\"payment-core sent a malformed reply\",\"code\":\"internal_error\"}"

static const s_co_t s_open = {TOKEN, "in_progress", "coin", false, 0, false,
                              0,     false,         false,  NULL,  1};
static const s_co_t s_coin_delivered = {TOKEN, "delivered", "coin", true, 226, false,
                                        0,     true,        false,  NULL, 2};
static const s_co_t s_time_delivered = {TOKEN,         "delivered", "time", false, 0, true,
                                        1798012930500, true,        false,  NULL,  2};

static void test_checkout_render(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack_checkout(&buf, &s_open);
    s_render(gw_bazaarpay_checkout_render, &buf, 200,
             "{\"checkout_token\":\"" TOKEN "\","
             "\"payment_url\":\"https://cafebazaar.ir/bazaar-pay/payment?token=" TOKEN
             "&redirect_url=https%3A%2F%2Fshop.example%2Freturn%3Forder%3D7\","
             "\"serial_number\":\"" SERIAL "\",\"state\":\"in_progress\"}");
    /* Answered before BazaarPay gave a token: a payment-core bug. */
    s_co_t c = s_open;
    c.token = NULL;
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_checkout_render, &buf, 500, S_MALFORMED);
    msgpack_sbuffer_destroy(&buf);
}

static void test_confirm_render_by_state(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);

    s_pack_checkout(&buf, &s_open);
    s_render(gw_bazaarpay_confirm_render, &buf, 202,
             "{\"state\":\"in_progress\",\"checkout_token\":\"" TOKEN "\"}");

    /* delivered and committed answer the same bytes: "delivered" with the
     * balance, as bazzar_paymnet answers it. */
    static const char coin_body[] = "{\"state\":\"delivered\",\"checkout_token\":\"" TOKEN "\","
                                    "\"serial_number\":\"" SERIAL "\",\"coins\":226}";
    s_pack_checkout(&buf, &s_coin_delivered);
    s_render(gw_bazaarpay_confirm_render, &buf, 200, coin_body);
    s_co_t c = s_coin_delivered;
    c.state = "committed";
    c.attempts = 3;
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_confirm_render, &buf, 200, coin_body);
    /* A balance can be negative (a refund of spent coins); it is said as is. */
    c.coins_after = -40;
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_confirm_render, &buf, 200,
             "{\"state\":\"delivered\",\"checkout_token\":\"" TOKEN "\","
             "\"serial_number\":\"" SERIAL "\",\"coins\":-40}");

    /* A time package answers the subscription's new end. */
    s_pack_checkout(&buf, &s_time_delivered);
    s_render(gw_bazaarpay_confirm_render, &buf, 200,
             "{\"state\":\"delivered\",\"checkout_token\":\"" TOKEN "\","
             "\"serial_number\":\"" SERIAL "\","
             "\"subscription_until\":\"2026-12-23T08:02:10.500Z\"}");
    c = s_time_delivered;
    c.state = "committed";
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_confirm_render, &buf, 200,
             "{\"state\":\"delivered\",\"checkout_token\":\"" TOKEN "\","
             "\"serial_number\":\"" SERIAL "\","
             "\"subscription_until\":\"2026-12-23T08:02:10.500Z\"}");

    c = s_coin_delivered;
    c.state = "refunded";
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_confirm_render, &buf, 406,
             "{\"state\":\"refunded\",\"checkout_token\":\"" TOKEN "\","
             "\"serial_number\":\"" SERIAL "\","
             "\"error\":\"the checkout was refunded to the user\","
             "\"code\":\"provider_rejected\"}");
    c = s_open;
    c.state = "expired";
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_confirm_render, &buf, 406,
             "{\"state\":\"expired\",\"checkout_token\":\"" TOKEN "\","
             "\"serial_number\":\"" SERIAL "\","
             "\"error\":\"the checkout ended unpaid; open a new one\","
             "\"code\":\"provider_rejected\"}");

    /* What payment-core must not send is a 500, never a guess. */
    c = s_coin_delivered;
    c.has_coins_after = false;
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_confirm_render, &buf, 500, S_MALFORMED);
    c = s_time_delivered;
    c.has_until = false;
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_confirm_render, &buf, 500, S_MALFORMED);
    c = s_open;
    c.state = "paid_not_committed";
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_confirm_render, &buf, 500, S_MALFORMED);
    c = s_open;
    c.package_type = "bundle";
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_confirm_render, &buf, 500, S_MALFORMED);
    c = s_time_delivered;
    c.until_ms = 253402300800000; /* year 10000 */
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_confirm_render, &buf, 500, S_MALFORMED);
    msgpack_sbuffer_destroy(&buf);
}

static const char s_refunded_body[] =
    "{\"checkout_token\":\"" TOKEN "\",\"serial_number\":\"" SERIAL "\",\"state\":\"%s\","
    "\"package\":{\"serial_number\":\"coins_100\",\"name\":\"100 coins\","
    "\"package_type\":\"coin\",\"coins\":100,\"duration_days\":0},"
    "\"amount\":120000,"
    "\"payment_url\":\"https://cafebazaar.ir/bazaar-pay/payment?token=" TOKEN
    "&redirect_url=https%%3A%%2F%%2Fshop.example%%2Freturn%%3Forder%%3D7\","
    "\"redirect_url\":\"" URL "\","
    "\"created_at\":\"2026-11-23T08:00:00.123Z\",\"updated_at\":\"2026-11-23T08:03:00.000Z\","
    "\"delivered_at\":\"2026-11-23T08:02:10.500Z\",\"coins_after\":226,"
    "\"subscription_until\":null,\"refund_requested\":true,"
    "\"refund_reason\":\"user asked\",\"reversed\":%s,"
    "\"attempts\":["
    "{\"at\":\"2026-11-23T08:00:00.123Z\",\"call\":\"init\",\"outcome\":\"ok\",\"detail\":\"\"},"
    "{\"at\":\"2026-11-23T08:00:01.123Z\",\"call\":\"trace\",\"outcome\":\"ok\","
    "\"detail\":\"paid_not_committed\"},"
    "{\"at\":\"2026-11-23T08:00:02.123Z\",\"call\":\"commit\",\"outcome\":\"unknown\","
    "\"detail\":\"timeout\"},"
    "{\"at\":\"2026-11-23T08:00:03.123Z\",\"call\":\"refund\",\"outcome\":\"ok\",\"detail\":\"\"}"
    "]}";

static void test_get_render(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack_checkout(&buf, &s_open);
    s_render(gw_bazaarpay_get_render, &buf, 200,
             "{\"checkout_token\":\"" TOKEN "\",\"serial_number\":\"" SERIAL "\","
             "\"state\":\"in_progress\","
             "\"package\":{\"serial_number\":\"coins_100\",\"name\":\"100 coins\","
             "\"package_type\":\"coin\",\"coins\":100,\"duration_days\":0},"
             "\"amount\":120000,"
             "\"payment_url\":\"https://cafebazaar.ir/bazaar-pay/payment?token=" TOKEN
             "&redirect_url=https%3A%2F%2Fshop.example%2Freturn%3Forder%3D7\","
             "\"redirect_url\":\"" URL "\","
             "\"created_at\":\"2026-11-23T08:00:00.123Z\","
             "\"updated_at\":\"2026-11-23T08:03:00.000Z\","
             "\"delivered_at\":null,\"coins_after\":null,\"subscription_until\":null,"
             "\"refund_requested\":false,\"refund_reason\":null,\"reversed\":false,"
             "\"attempts\":[{\"at\":\"2026-11-23T08:00:00.123Z\",\"call\":\"init\","
             "\"outcome\":\"ok\",\"detail\":\"\"}]}");

    /* Every state is a 200 here: GET only reads. */
    static const char *const states[] = {"in_progress", "delivered", "committed", "refunded",
                                         "expired"};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        s_co_t c = s_coin_delivered;
        c.state = states[i];
        s_pack_checkout(&buf, &c);
        gw_route_t route = {.render = gw_bazaarpay_get_render, .errors = GW_ERRORS_STORE};
        gw_response_t r = {0};
        assert_int_equal(gw_reply_render_route(&route, NULL, buf.data, buf.size, &r), 0);
        assert_int_equal(r.status, 200);
        char want[64];
        snprintf(want, sizeof want, "\"state\":\"%s\"", states[i]);
        assert_non_null(strstr(r.json, want));
        gw_response_clear(&r);
    }

    /* A time package: its subscription's end, no balance. */
    s_pack_checkout(&buf, &s_time_delivered);
    gw_route_t route = {.render = gw_bazaarpay_get_render, .errors = GW_ERRORS_STORE};
    gw_response_t r = {0};
    assert_int_equal(gw_reply_render_route(&route, NULL, buf.data, buf.size, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.json, "\"package_type\":\"time\",\"coins\":0,\"duration_days\":30"));
    assert_non_null(strstr(r.json, "\"coins_after\":null,"
                                   "\"subscription_until\":\"2026-12-23T08:02:10.500Z\""));
    gw_response_clear(&r);

    /* A long series of attempts: the first and the latest 63 are listed. */
    s_co_t c = s_open;
    c.attempts = 100;
    s_pack_checkout(&buf, &c);
    r = (gw_response_t){0};
    assert_int_equal(gw_reply_render_route(&route, NULL, buf.data, buf.size, &r), 0);
    assert_int_equal(r.status, 200);
    int listed = 0;
    for (const char *at = strstr(r.json, "{\"at\":"); at; at = strstr(at + 1, "{\"at\":"))
        listed++;
    assert_int_equal(listed, 64);
    assert_non_null(strstr(r.json, "\"attempts\":[{\"at\":\"2026-11-23T08:00:00.123Z\",\"call\":"
                                   "\"init\",\"outcome\":\"ok\",\"detail\":\"\"},"
                                   "{\"at\":\"2026-11-23T08:00:37.123Z\""));
    assert_non_null(strstr(r.json, "{\"at\":\"2026-11-23T08:01:39.123Z\",\"call\":\"refund\","
                                   "\"outcome\":\"ok\",\"detail\":\"\"}]}"));
    gw_response_clear(&r);

    /* Malformed: an attempt without its call, a reply without a checkout. */
    msgpack_sbuffer_clear(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    s_kv_int(&pk, "err", 0);
    s_render(gw_bazaarpay_get_render, &buf, 500, S_MALFORMED);
    s_pack_checkout(&buf, &s_open);
    /* The one attempt's "call" (packed as "\xa4call") becomes "cal_". */
    char *call = memmem(buf.data, buf.size,
                        "\xa4"
                        "call",
                        5);
    assert_non_null(call);
    call[4] = '_';
    s_render(gw_bazaarpay_get_render, &buf, 500, S_MALFORMED);
    msgpack_sbuffer_destroy(&buf);
}

static void test_refund_render(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    char want[4096];

    s_co_t c = s_coin_delivered;
    c.state = "refunded";
    c.refund_requested = true;
    c.refund_reason = "user asked";
    c.attempts = 4;
    s_pack_checkout(&buf, &c);
    snprintf(want, sizeof want, s_refunded_body, "refunded", "true");
    s_render(gw_bazaarpay_refund_render, &buf, 200, want);

    /* Pending: asked, BazaarPay's answer still to come. */
    c.state = "committed";
    s_pack_checkout(&buf, &c);
    snprintf(want, sizeof want, s_refunded_body, "committed", "false");
    s_render(gw_bazaarpay_refund_render, &buf, 202, want);
    c.state = "delivered";
    s_pack_checkout(&buf, &c);
    snprintf(want, sizeof want, s_refunded_body, "delivered", "false");
    s_render(gw_bazaarpay_refund_render, &buf, 202, want);

    /* Not asked, or never delivered: payment-core refuses those itself. */
    c.refund_requested = false;
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_refund_render, &buf, 500, S_MALFORMED);
    c = s_open;
    c.refund_requested = true;
    s_pack_checkout(&buf, &c);
    s_render(gw_bazaarpay_refund_render, &buf, 500, S_MALFORMED);
    msgpack_sbuffer_destroy(&buf);
}

/* payment-core's errors, in the family's shape, for every route. */
static void test_errors(void **state)
{
    (void)state;
    static const gw_render_fn fns[] = {gw_bazaarpay_checkout_render, gw_bazaarpay_confirm_render,
                                       gw_bazaarpay_get_render, gw_bazaarpay_refund_render};
    static const struct {
        int err;
        int status;
        const char *code;
    } errs[] = {
        {PM_ERR_VALIDATION, 400, "validation_error"}, {PM_ERR_ACCESS, 403, "acces_error"},
        {PM_ERR_NOT_FOUND, 404, "not_found"},         {PM_ERR_REJECTED, 406, "provider_rejected"},
        {PM_ERR_CONFLICT, 409, "conflict"},           {PM_ERR_INTERNAL, 500, "internal_error"},
        {PM_ERR_PROVIDER, 502, "provider_error"},     {PM_ERR_UNAVAILABLE, 503, "unavailable"},
    };
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
            s_pack_error(&buf, errs[i].err, "bazaarpay refused: Minimum transaction amount");
            char want[256];
            snprintf(want, sizeof want,
                     "{\"error\":\"bazaarpay refused: Minimum transaction amount\","
                     "\"code\":\"%s\"}",
                     errs[i].code);
            s_render(fns[f], &buf, errs[i].status, want);
        }
        s_pack_error(&buf, PM_ERR_UNAUTHORIZED, "unknown API token");
        s_render(fns[f], &buf, 401, "{\"error\":\"Log in\",\"code\":\"unauthorized\"}");
        /* An err beyond the enum is not trusted. */
        s_pack_error(&buf, PM_ERR__COUNT, "x");
        s_render(fns[f], &buf, 500, S_MALFORMED);
    }
    msgpack_sbuffer_destroy(&buf);
}

/* ---- the routing table ------------------------------------------------------ */

static void test_routes(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path;
        gw_build_fn build;
        gw_render_fn render;
        const char *id;
    } rows[] = {
        {"POST", "/finance/bazaarpay/checkout/", gw_bazaarpay_checkout_build,
         gw_bazaarpay_checkout_render, NULL},
        {"POST", "/finance/bazaarpay/checkout", gw_bazaarpay_checkout_build,
         gw_bazaarpay_checkout_render, NULL},
        {"POST", "/finance/bazaarpay/confirm/", gw_bazaarpay_confirm_build,
         gw_bazaarpay_confirm_render, NULL},
        {"POST", "/finance/bazaarpay/confirm", gw_bazaarpay_confirm_build,
         gw_bazaarpay_confirm_render, NULL},
        {"GET", "/finance/bazaarpay/checkout/" TOKEN "/", gw_bazaarpay_get_build,
         gw_bazaarpay_get_render, TOKEN},
        {"GET", "/finance/bazaarpay/checkout/" TOKEN, gw_bazaarpay_get_build,
         gw_bazaarpay_get_render, TOKEN},
        {"POST", "/finance/bazaarpay/refund/", gw_bazaarpay_refund_build,
         gw_bazaarpay_refund_render, NULL},
        {"POST", "/finance/bazaarpay/refund", gw_bazaarpay_refund_build, gw_bazaarpay_refund_render,
         NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        gw_match_t m;
        assert_int_equal(
            gw_route_match(gw_routes, gw_route_count, rows[i].method, rows[i].path, &m),
            GW_ROUTE_OK);
        assert_ptr_equal(m.route->build, rows[i].build);
        assert_ptr_equal(m.route->render, rows[i].render);
        assert_null(m.route->render_req);
        assert_int_equal(m.route->errors, GW_ERRORS_STORE);
        if (rows[i].id) {
            assert_int_equal(m.id_len, strlen(rows[i].id));
            assert_memory_equal(m.id, rows[i].id, m.id_len);
        } else {
            assert_null(m.id);
        }
    }
    static const struct {
        const char *method, *path, *allow;
    } other[] = {
        {"GET", "/finance/bazaarpay/checkout/", "POST"},
        {"PUT", "/finance/bazaarpay/checkout", "POST"},
        {"GET", "/finance/bazaarpay/confirm/", "POST"},
        {"GET", "/finance/bazaarpay/refund", "POST"},
        {"POST", "/finance/bazaarpay/checkout/" TOKEN "/", "GET"},
        {"DELETE", "/finance/bazaarpay/checkout/" TOKEN, "GET"},
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        gw_match_t m;
        assert_int_equal(
            gw_route_match(gw_routes, gw_route_count, other[i].method, other[i].path, &m),
            GW_ROUTE_NO_METHOD);
        assert_string_equal(m.allow, other[i].allow);
    }
    static const char *const unknown[] = {
        "/finance/bazaarpay",
        "/finance/bazaarpay/",
        "/finance/bazaarpay/checkout/" TOKEN "/confirm",
        "/finance/bazaarpay/checkout//",
        "/finance/bazaarpay/trace/",
        "/finance/bazarpay/checkout/",
    };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        gw_match_t m;
        if (gw_route_match(gw_routes, gw_route_count, "POST", unknown[i], &m) != GW_ROUTE_NO_PATH)
            fail_msg("%s matched", unknown[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkout_build),
        cmocka_unit_test(test_checkout_build_refuses_bad_input),
        cmocka_unit_test(test_redirect_url_rules),
        cmocka_unit_test(test_confirm_build),
        cmocka_unit_test(test_get_build),
        cmocka_unit_test(test_refund_build),
        cmocka_unit_test(test_checkout_render),
        cmocka_unit_test(test_confirm_render_by_state),
        cmocka_unit_test(test_get_render),
        cmocka_unit_test(test_refund_render),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
