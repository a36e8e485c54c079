/*  Unit tests of the seed 000 store family: requests -> STORE_* bodies
 *  (pm_proto.h), STORE_* replies -> the seed's JSON, the store's error shape,
 *  DRF pagination links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "../../api-gateway/gw_json.h"
#include "../../api-gateway/store.h"
#include "gw_testlib.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_proto.h"

/* A request's headers and query: "name=value" pairs, NULL-terminated. */
typedef struct {
    const char *const *headers;
    const char *const *query;
} s_req_t;

static const char *s_find(const char *const *list, const char *name, bool nocase)
{
    size_t n = strlen(name);
    for (size_t i = 0; list && list[i]; i++) {
        bool same = nocase ? strncasecmp(list[i], name, n) == 0 : strncmp(list[i], name, n) == 0;
        if (same && list[i][n] == '=')
            return list[i] + n + 1;
    }
    return NULL;
}

static const char *s_header(const void *ctx, const char *name)
{
    return s_find(((const s_req_t *)ctx)->headers, name, true);
}

static const char *s_query(const void *ctx, const char *name)
{
    return s_find(((const s_req_t *)ctx)->query, name, false);
}

static gw_input_t s_input(const s_req_t *req, const char *json)
{
    gw_input_t in = {
        .body = json,
        .body_len = json ? strlen(json) : 0,
        .max_amount_minor = 1000,
        .header = s_header,
        .query = s_query,
        .lookup_ctx = req,
    };
    return in;
}

static void s_assert_str(const msgpack_object *map, const char *key, const char *want)
{
    char got[512];
    assert_int_equal(pm_mp_copy_str(map, key, got, sizeof got), 0);
    assert_string_equal(got, want);
}

static void s_assert_int(const msgpack_object *map, const char *key, int64_t want)
{
    int64_t got;
    assert_int_equal(pm_mp_get_int(map, key, &got), 0);
    assert_int_equal(got, want);
}

/* ---- packages ---------------------------------------------------------- */

static const char *const s_android[] = {"devicetype=Android", "Host=127.0.0.1:8080", NULL};

static void test_packages_build_reads_devicetype_and_paging(void **state)
{
    (void)state;
    s_req_t req = {s_android, NULL};
    gw_input_t in = s_input(&req, NULL);
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_store_packages_build, &in, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_STORE_PACKAGES);
    assert_int_equal(r.body->via.map.size, 3);
    s_assert_str(r.body, "platform", "android");
    s_assert_int(r.body, "page", 1);
    s_assert_int(r.body, "page_size", 20);
    gw_test_done(&r);

    static const char *const ios[] = {"DeviceType=IOS", "host=shop.example.com", NULL};
    static const char *const q[] = {"page=3", "page_size=500", NULL};
    req = (s_req_t){ios, q};
    in = s_input(&req, NULL);
    assert_int_equal(gw_test_run(gw_store_packages_build, &in, &r), 0);
    s_assert_str(r.body, "platform", "ios");
    s_assert_int(r.body, "page", 3);
    s_assert_int(r.body, "page_size", 100); /* clamped, as DRF's max_page_size */
    gw_test_done(&r);
}

static void test_packages_build_refuses_bad_input(void **state)
{
    (void)state;
    static const char *const none[] = {"Host=127.0.0.1:8080", NULL};
    static const char *const windows[] = {"devicetype=windows", "Host=127.0.0.1:8080", NULL};
    s_req_t req = {none, NULL};
    gw_input_t in = s_input(&req, NULL);
    gw_test_fails(gw_store_packages_build, &in, PM_ERR_VALIDATION, "devicetype");
    req.headers = windows;
    gw_test_fails(gw_store_packages_build, &in, PM_ERR_VALIDATION, "devicetype");

    req.headers = s_android;
    static const char *const bad_pages[][2] = {{"page=0", NULL},   {"page=-1", NULL},
                                               {"page=abc", NULL}, {"page=", NULL},
                                               {"page=1.5", NULL}, {"page=99999999999", NULL}};
    for (size_t i = 0; i < sizeof bad_pages / sizeof bad_pages[0]; i++) {
        req.query = bad_pages[i];
        gw_test_fails(gw_store_packages_build, &in, PM_ERR_NOT_FOUND, "Invalid page.");
    }
    static const char *const bad_sizes[][2] = {
        {"page_size=0", NULL}, {"page_size=x", NULL}, {"page_size=-5", NULL}};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        req.query = bad_sizes[i];
        gw_test_fails(gw_store_packages_build, &in, PM_ERR_VALIDATION, "page_size");
    }
    req.query = NULL;
    static const char *const bad_hosts[][3] = {
        {"devicetype=ios", NULL, NULL},
        {"devicetype=ios", "Host=evil.com/x?", NULL},
        {"devicetype=ios", "Host=a b", NULL},
        {"devicetype=ios", "Host=h:99999", NULL},
        {"devicetype=ios", "Host=\"><script>", NULL},
    };
    for (size_t i = 0; i < sizeof bad_hosts / sizeof bad_hosts[0]; i++) {
        req.headers = bad_hosts[i];
        gw_test_fails(gw_store_packages_build, &in, PM_ERR_VALIDATION, "Host");
    }
}

static void test_host_validation(void **state)
{
    (void)state;
    assert_true(gw_store_host_valid("localhost"));
    assert_true(gw_store_host_valid("127.0.0.1:8080"));
    assert_true(gw_store_host_valid("[::1]:8080"));
    assert_true(gw_store_host_valid("[::1]"));
    assert_true(gw_store_host_valid("api.pay-mesh.example"));
    assert_false(gw_store_host_valid(NULL));
    assert_false(gw_store_host_valid(""));
    assert_false(gw_store_host_valid(":80"));
    assert_false(gw_store_host_valid("h:"));
    assert_false(gw_store_host_valid("h:0"));
    assert_false(gw_store_host_valid("[]"));
    assert_false(gw_store_host_valid("[::1]x"));
    assert_false(gw_store_host_valid("user@host"));
}

/* A STORE_PACKAGES reply with count and n packages. */
static void s_pack_packages(msgpack_sbuffer *buf, int64_t count, int n)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "count");
    msgpack_pack_int64(&pk, count);
    pm_mp_pack_cstr(&pk, "results");
    msgpack_pack_array(&pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_map(&pk, 9);
        pm_mp_pack_cstr(&pk, "sku");
        pm_mp_pack_cstr(&pk, i == 0 ? "206497920410" : "sku2");
        pm_mp_pack_cstr(&pk, "name");
        pm_mp_pack_cstr(&pk, i == 0 ? "بسته\u200cی جدید" : "two");
        pm_mp_pack_cstr(&pk, "price");
        msgpack_pack_int64(&pk, 1000);
        pm_mp_pack_cstr(&pk, "icon");
        pm_mp_pack_cstr(&pk,
                        i == 0 ? "http://127.0.0.1:8000/uploads/default_icons/pouya.jpg" : NULL);
        pm_mp_pack_cstr(&pk, "package_type");
        pm_mp_pack_cstr(&pk, i == 0 ? "coin" : "time");
        pm_mp_pack_cstr(&pk, "coins");
        msgpack_pack_int64(&pk, 100);
        pm_mp_pack_cstr(&pk, "duration_days");
        msgpack_pack_int64(&pk, 0);
        pm_mp_pack_cstr(&pk, "platforms");
        msgpack_pack_array(&pk, 1);
        pm_mp_pack_cstr(&pk, "android");
        pm_mp_pack_cstr(&pk, "retired");
        msgpack_pack_false(&pk);
    }
}

static const gw_route_t s_packages_route = {
    .method = "GET",
    .pattern = "/finance/packages",
    .build = gw_store_packages_build,
    .errors = GW_ERRORS_STORE,
    .render_req = gw_store_packages_render,
};

static void s_render_packages(const char *const *query, int64_t count, int n, int status,
                              const char *want)
{
    s_req_t req = {s_android, query};
    gw_input_t in = s_input(&req, NULL);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack_packages(&buf, count, n);
    gw_response_t r = {0};
    assert_int_equal(gw_reply_render_route(&s_packages_route, &in, buf.data, buf.size, &r), 0);
    assert_int_equal(r.status, status);
    assert_string_equal(r.json, want);
    gw_response_clear(&r);
    msgpack_sbuffer_destroy(&buf);
}

#define ITEM1                                                                                      \
    "{\"name\":\"بسته\u200cی جدید\",\"price\":1000,"                                      \
    "\"icon\":\"http://127.0.0.1:8000/uploads/default_icons/pouya.jpg\","                          \
    "\"serial_number\":\"206497920410\",\"package_type\":\"coin\"}"
#define ITEM2                                                                                      \
    "{\"name\":\"two\",\"price\":1000,\"icon\":null,\"serial_number\":\"sku2\","                   \
    "\"package_type\":\"time\"}"

static void test_packages_render_drf_pages(void **state)
{
    (void)state;
    static const char *const p1[] = {"page_size=1", NULL};
    s_render_packages(p1, 2, 1, 200,
                      "{\"count\":2,\"next\":\"http://127.0.0.1:8080/finance/packages/"
                      "?page=2&page_size=1\",\"previous\":null,\"results\":[" ITEM1 "]}");
    static const char *const p2[] = {"page=2", "page_size=1", NULL};
    s_render_packages(p2, 2, 1, 200,
                      "{\"count\":2,\"next\":null,\"previous\":\"http://127.0.0.1:8080/"
                      "finance/packages/?page_size=1\",\"results\":[" ITEM1 "]}");
    static const char *const p3[] = {"page=3", NULL};
    s_render_packages(p3, 50, 2, 200,
                      "{\"count\":50,\"next\":null,\"previous\":\"http://127.0.0.1:8080/"
                      "finance/packages/?page=2\",\"results\":[" ITEM1 "," ITEM2 "]}");
    s_render_packages(NULL, 2, 2, 200,
                      "{\"count\":2,\"next\":null,\"previous\":null,\"results\":[" ITEM1 "," ITEM2
                      "]}");
    /* Page 1 of an empty catalog exists; page 2 of it does not. */
    s_render_packages(NULL, 0, 0, 200,
                      "{\"count\":0,\"next\":null,\"previous\":null,\"results\":[]}");
    static const char *const past[] = {"page=2", NULL};
    s_render_packages(past, 0, 0, 404, "{\"error\":\"Invalid page.\",\"code\":\"not_found\"}");
    static const char *const far[] = {"page=4", "page_size=1", NULL};
    s_render_packages(far, 3, 0, 404, "{\"error\":\"Invalid page.\",\"code\":\"not_found\"}");
}

static void test_packages_render_refuses_malformed_replies(void **state)
{
    (void)state;
    s_req_t req = {s_android, NULL};
    gw_input_t in = s_input(&req, NULL);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "count");
    msgpack_pack_int(&pk, 1);
    gw_response_t r = {0};
    assert_int_equal(gw_reply_render_route(&s_packages_route, &in, buf.data, buf.size, &r), 0);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.json, "{\"error\":\"payment-core sent a malformed reply\","
                                "\"code\":\"internal_error\"}");
    gw_response_clear(&r);
    /* More results than page_size: a core bug, not passed on. */
    static const char *const q[] = {"page_size=1", NULL};
    req.query = q;
    s_pack_packages(&buf, 5, 2);
    assert_int_equal(gw_reply_render_route(&s_packages_route, &in, buf.data, buf.size, &r), 0);
    assert_int_equal(r.status, 500);
    gw_response_clear(&r);
    msgpack_sbuffer_destroy(&buf);
}

/* ---- purchase ----------------------------------------------------------- */

static void test_purchase_build(void **state)
{
    (void)state;
    s_req_t req = {NULL, NULL};
    gw_input_t in = s_input(&req, "{\"serial_number\": \"testforbazzar\"}");
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_store_purchase_build, &in, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_STORE_PURCHASE_OPEN);
    assert_int_equal(r.body->via.map.size, 1);
    s_assert_str(r.body, "sku", "testforbazzar");
    gw_test_done(&r);

    in = s_input(&req, "{}");
    gw_test_fails(gw_store_purchase_build, &in, PM_ERR_VALIDATION, "serial_number is required");
    in = s_input(&req, "{\"serial_number\": 12}");
    gw_test_fails(gw_store_purchase_build, &in, PM_ERR_VALIDATION,
                  "serial_number must be a string");
    in = s_input(&req, "{\"serial_number\": \"\"}");
    gw_test_fails(gw_store_purchase_build, &in, PM_ERR_VALIDATION, "serial_number");
    in = s_input(&req, "{\"serial_number\": \"a\", \"sku\": \"b\"}");
    gw_test_fails(gw_store_purchase_build, &in, PM_ERR_VALIDATION, "sku");
    in = s_input(&req, "not json");
    gw_test_fails(gw_store_purchase_build, &in, PM_ERR_VALIDATION, "");
}

static void s_render(gw_render_fn fn, const msgpack_sbuffer *buf, int status, const char *want)
{
    gw_route_t route = {.render = fn, .errors = GW_ERRORS_STORE};
    gw_response_t r = {0};
    assert_int_equal(gw_reply_render_route(&route, NULL, buf->data, buf->size, &r), 0);
    assert_int_equal(r.status, status);
    assert_string_equal(r.json, want);
    gw_response_clear(&r);
}

static void s_pack_purchase(msgpack_packer *pk, const char *ref, const char *state)
{
    msgpack_pack_map(pk, 5);
    pm_mp_pack_cstr(pk, "serial");
    pm_mp_pack_cstr(pk, "6251218724919990");
    pm_mp_pack_cstr(pk, "sku");
    pm_mp_pack_cstr(pk, "testforbazzar");
    pm_mp_pack_cstr(pk, "state");
    pm_mp_pack_cstr(pk, state);
    pm_mp_pack_cstr(pk, "ref_id");
    pm_mp_pack_cstr(pk, ref);
    pm_mp_pack_cstr(pk, "coins");
    msgpack_pack_nil(pk);
}

static void test_purchase_render(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "purchase");
    s_pack_purchase(&pk, NULL, "in_progress");
    s_render(gw_store_purchase_render, &buf, 200,
             "{\"serial_number\":\"6251218724919990\",\"ref_id\":null,\"state\":\"in_progress\"}");
    msgpack_sbuffer_destroy(&buf);
}

/* ---- redeem -------------------------------------------------------------- */

static void test_redeem_build(void **state)
{
    (void)state;
    s_req_t req = {NULL, NULL};
    static const char *const ok[] = {
        "{\"serial_number\": \"6251218724919990\", \"ref_id\": \"testrefid\"}",
        "{\"serial_number\": \"6251218724919990\", \"purchase_token\": \"testrefid\"}",
        "{\"serial_number\": \"6251218724919990\", \"ref_id\": \"testrefid\","
        " \"purchase_token\": \"testrefid\"}",
        "{\"serial_number\": \"6251218724919990\", \"ref_id\": null,"
        " \"purchase_token\": \"testrefid\"}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        gw_input_t in = s_input(&req, ok[i]);
        gw_built_t r;
        assert_int_equal(gw_test_run(gw_store_redeem_build, &in, &r), 0);
        assert_int_equal(r.b.type, PM_MSG_STORE_REDEEM);
        assert_int_equal(r.body->via.map.size, 2);
        s_assert_str(r.body, "serial", "6251218724919990");
        s_assert_str(r.body, "token", "testrefid");
        gw_test_done(&r);
    }
    static const struct {
        const char *json;
        const char *part;
    } bad[] = {
        {"{\"ref_id\": \"t\"}", "serial_number is required"},
        {"{\"serial_number\": \"1\"}", "ref_id is required"},
        {"{\"serial_number\": \"12a\", \"ref_id\": \"t\"}", "serial_number must be 1 to 32 digits"},
        {"{\"serial_number\": \"\", \"ref_id\": \"t\"}", "serial_number"},
        {"{\"serial_number\": \"123456789012345678901234567890123\", \"ref_id\": \"t\"}",
         "serial_number"},
        {"{\"serial_number\": 6251218724919990, \"ref_id\": \"t\"}", "must be a string"},
        {"{\"serial_number\": \"1\", \"ref_id\": \"a b\"}", "ref_id"},
        {"{\"serial_number\": \"1\", \"ref_id\": \"\"}", "ref_id"},
        {"{\"serial_number\": \"1\", \"ref_id\": \"\\u00e9\"}", "ref_id"},
        {"{\"serial_number\": \"1\", \"ref_id\": \"a\", \"purchase_token\": \"b\"}", "differ"},
        {"{\"serial_number\": \"1\", \"ref_id\": \"a\", \"extra\": 1}", "extra"},
        /* The token goes into Bazaar's URL path: unreserved characters only. */
        {"{\"serial_number\": \"1\", \"ref_id\": \"../../etc/passwd\"}", "ref_id"},
        {"{\"serial_number\": \"1\", \"ref_id\": \"a%2Fb\"}", "ref_id"},
        {"{\"serial_number\": \"1\", \"ref_id\": \"a?b\"}", "ref_id"},
        {"{\"serial_number\": \"1\", \"purchase_token\": \"a#b\"}", "purchase_token"},
        {"{\"serial_number\": \"1\", \"ref_id\": \"..\"}", "dots only"},
        {"{\"serial_number\": \"1\", \"ref_id\": \".\"}", "dots only"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_input_t in = s_input(&req, bad[i].json);
        gw_test_fails(gw_store_redeem_build, &in, PM_ERR_VALIDATION, bad[i].part);
    }
    char big[400];
    memset(big, 'x', sizeof big);
    char json[600];
    snprintf(json, sizeof json, "{\"serial_number\": \"1\", \"ref_id\": \"%.*s\"}", 257, big);
    gw_input_t in = s_input(&req, json);
    gw_test_fails(gw_store_redeem_build, &in, PM_ERR_VALIDATION, "ref_id must be 1 to 256");
    snprintf(json, sizeof json, "{\"serial_number\": \"1\", \"ref_id\": \"%.*s\"}", 256, big);
    in = s_input(&req, json);
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_store_redeem_build, &in, &r), 0);
    gw_test_done(&r);
}

static void s_pack_error(msgpack_sbuffer *buf, int err, const char *msg)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, err);
    pm_mp_pack_cstr(&pk, "msg");
    pm_mp_pack_cstr(&pk, msg);
}

static void test_redeem_render_and_store_errors(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "coins");
    msgpack_pack_int(&pk, 126);
    pm_mp_pack_cstr(&pk, "purchase");
    s_pack_purchase(&pk, "testrefid", "completed");
    s_render(gw_store_redeem_render, &buf, 200, "{\"coins\":126}");

    s_pack_error(&buf, PM_ERR_REJECTED, "bazaar says the purchase is not valid: refunded");
    s_render(gw_store_redeem_render, &buf, 406,
             "{\"error\":\"bazaar says the purchase is not valid: refunded\","
             "\"code\":\"provider_rejected\"}");
    s_pack_error(&buf, PM_ERR_NOT_FOUND, "no open purchase 1");
    s_render(gw_store_redeem_render, &buf, 404,
             "{\"error\":\"no open purchase 1\",\"code\":\"not_found\"}");
    s_pack_error(&buf, PM_ERR_UNAVAILABLE, "bazaar did not answer in time");
    s_render(gw_store_redeem_render, &buf, 503,
             "{\"error\":\"bazaar did not answer in time\",\"code\":\"unavailable\"}");
    s_pack_error(&buf, PM_ERR_CONFLICT, "token busy");
    s_render(gw_store_redeem_render, &buf, 409, "{\"error\":\"token busy\",\"code\":\"conflict\"}");
    /* The seed's 401, whatever payment-core's message. */
    s_pack_error(&buf, PM_ERR_UNAUTHORIZED, "unknown API token");
    s_render(gw_store_redeem_render, &buf, 401, "{\"error\":\"Log in\",\"code\":\"unauthorized\"}");
    msgpack_sbuffer_destroy(&buf);

    gw_response_t r = {0};
    assert_int_equal(gw_json_error_as(GW_ERRORS_STORE, PM_ERR_UNAUTHORIZED, "missing", &r), 0);
    assert_string_equal(r.json, "{\"error\":\"Log in\",\"code\":\"unauthorized\"}");
    gw_response_clear(&r);
    assert_int_equal(gw_json_error_as(GW_ERRORS_CORE, PM_ERR_UNAUTHORIZED, "missing", &r), 0);
    assert_string_equal(r.json, "{\"code\":\"unauthorized\",\"message\":\"missing\"}");
    gw_response_clear(&r);
}

/* The table rows: both spellings, with and without the trailing slash. */
static void test_routes(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path;
        gw_build_fn build;
    } rows[] = {
        {"GET", "/finance/packages/", gw_store_packages_build},
        {"GET", "/finance/packages", gw_store_packages_build},
        {"POST", "/finance/purchase", gw_store_purchase_build},
        {"POST", "/finance/purchase/", gw_store_purchase_build},
        {"POST", "/finance/bazzar_paymnet/", gw_store_redeem_build},
        {"POST", "/finance/bazzar_paymnet", gw_store_redeem_build},
        {"POST", "/finance/bazzar_payment/", gw_store_redeem_build},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        gw_match_t m;
        assert_int_equal(
            gw_route_match(gw_routes, gw_route_count, rows[i].method, rows[i].path, &m),
            GW_ROUTE_OK);
        assert_ptr_equal(m.route->build, rows[i].build);
        assert_int_equal(m.route->errors, GW_ERRORS_STORE);
    }
    gw_match_t m;
    assert_int_equal(gw_route_match(gw_routes, gw_route_count, "POST", "/finance/packages/", &m),
                     GW_ROUTE_NO_METHOD);
    assert_string_equal(m.allow, "GET");
    assert_int_equal(
        gw_route_match(gw_routes, gw_route_count, "POST", "/api/v1/payment/create", &m),
        GW_ROUTE_OK);
    assert_int_equal(m.route->errors, GW_ERRORS_CORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packages_build_reads_devicetype_and_paging),
        cmocka_unit_test(test_packages_build_refuses_bad_input),
        cmocka_unit_test(test_host_validation),
        cmocka_unit_test(test_packages_render_drf_pages),
        cmocka_unit_test(test_packages_render_refuses_malformed_replies),
        cmocka_unit_test(test_purchase_build),
        cmocka_unit_test(test_purchase_render),
        cmocka_unit_test(test_redeem_build),
        cmocka_unit_test(test_redeem_render_and_store_errors),
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
