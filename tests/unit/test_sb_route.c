/*  Unit tests of sb_route: the sandbox's path matcher, routing table and
 *  form decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../sandbox/bazaar.h"
#include "../../sandbox/sb_admin.h"
#include "../../sandbox/sb_route.h"

static void test_bazaar_paths_route_with_captures(void **state)
{
    (void)state;
    sb_req_t req;
    const sb_route_t *r = NULL;
    memset(&req, 0, sizeof req);
    assert_int_equal(sb_route_find("GET",
                                   "/devapi/v2/api/validate/com.app/inapp/coins_100/purchases/TOK/",
                                   &req, &r),
                     SB_ROUTE_OK);
    assert_ptr_equal(r->handler, sb_bazaar_on_validate);
    assert_int_equal(req.ncaps, 3);
    assert_string_equal(req.caps[0], "com.app");
    assert_string_equal(req.caps[1], "coins_100");
    assert_string_equal(req.caps[2], "TOK");
    assert_int_equal(sb_route_find("POST", "/devapi/v2/api/consume/com.app/purchases/", &req, &r),
                     SB_ROUTE_OK);
    assert_ptr_equal(r->handler, sb_bazaar_on_consume);
    assert_string_equal(req.caps[0], "com.app");
    assert_int_equal(sb_route_find("POST", "/devapi/v2/auth/token/", &req, &r), SB_ROUTE_OK);
    assert_ptr_equal(r->handler, sb_bazaar_on_token);
}

static void test_bazaar_paths_are_exact(void **state)
{
    (void)state;
    sb_req_t req;
    const sb_route_t *r = NULL;
    /* the trailing slash is part of the provider's API */
    assert_int_equal(sb_route_find("POST", "/devapi/v2/auth/token", &req, &r), SB_ROUTE_NO_PATH);
    assert_int_equal(
        sb_route_find("GET", "/devapi/v2/api/validate/com.app/inapp/sku/purchases/T", &req, &r),
        SB_ROUTE_NO_PATH);
    assert_int_equal(
        sb_route_find("GET", "/devapi/v2/api/validate/com.app/inapp//purchases/T/", &req, &r),
        SB_ROUTE_NO_PATH);
    assert_int_equal(
        sb_route_find("GET", "/devapi/v2/api/validate/a/b/inapp/s/purchases/T/", &req, &r),
        SB_ROUTE_NO_PATH);
    assert_int_equal(sb_route_find("GET", "/devapi/v2/auth/token/", &req, &r), SB_ROUTE_NO_METHOD);
    char long_seg[600] = "/sandbox/bazaar/purchases/";
    memset(long_seg + strlen(long_seg), 'x', 300);
    assert_int_equal(sb_route_find("GET", long_seg, &req, &r), SB_ROUTE_NO_PATH);
}

static void test_admin_paths_allow_a_trailing_slash(void **state)
{
    (void)state;
    sb_req_t req;
    const sb_route_t *r = NULL;
    assert_int_equal(sb_route_find("POST", "/sandbox/faults/", &req, &r), SB_ROUTE_OK);
    assert_ptr_equal(r->handler, sb_admin_on_fault_add);
    assert_int_equal(sb_route_find("DELETE", "/sandbox/calls", &req, &r), SB_ROUTE_OK);
    assert_ptr_equal(r->handler, sb_admin_on_call_clear);
    assert_int_equal(sb_route_find("POST", "/sandbox/bazaar/purchases/T/refund/", &req, &r),
                     SB_ROUTE_OK);
    assert_ptr_equal(r->handler, sb_bazaar_on_admin_refund);
    assert_string_equal(req.caps[0], "T");
    assert_int_equal(sb_route_find("PUT", "/sandbox/faults", &req, &r), SB_ROUTE_NO_METHOD);
    assert_int_equal(sb_route_find("GET", "/", &req, &r), SB_ROUTE_NO_PATH);
}

static void test_service_of_path(void **state)
{
    (void)state;
    assert_string_equal(sb_service_of_path("/devapi/v2/anything"), "bazaar");
    assert_null(sb_service_of_path("/sandbox/faults"));
    assert_null(sb_service_of_path("/devapi"));
}

static void test_form_get_decodes(void **state)
{
    (void)state;
    const char *body = "grant_type=refresh_token&client_id=a%2Bb+c&empty=&flag&x=%zz&n=%00";
    char out[32];
    assert_true(sb_form_get(body, strlen(body), "grant_type", out, sizeof out));
    assert_string_equal(out, "refresh_token");
    assert_true(sb_form_get(body, strlen(body), "client_id", out, sizeof out));
    assert_string_equal(out, "a+b c");
    assert_true(sb_form_get(body, strlen(body), "empty", out, sizeof out));
    assert_string_equal(out, "");
    assert_true(sb_form_get(body, strlen(body), "flag", out, sizeof out));
    assert_string_equal(out, "");
    assert_false(sb_form_get(body, strlen(body), "x", out, sizeof out));
    assert_false(sb_form_get(body, strlen(body), "n", out, sizeof out));
    assert_false(sb_form_get(body, strlen(body), "missing", out, sizeof out));
    assert_false(sb_form_get(body, strlen(body), "grant_type", out, 5)); /* too long */
    assert_false(sb_form_get("a=%4", 4, "a", out, sizeof out));
    assert_false(sb_form_get(NULL, 0, "a", out, sizeof out));
}

static void test_json_helpers(void **state)
{
    (void)state;
    json_object *o = sb_json_parse_object("{\"token\":\"abc\",\"n\":1}", 21);
    assert_non_null(o);
    assert_string_equal(sb_json_string(o, "token", 10), "abc");
    assert_null(sb_json_string(o, "token", 2));
    assert_null(sb_json_string(o, "n", 10));
    json_object_put(o);
    assert_null(sb_json_parse_object("[1]", 3));
    assert_null(sb_json_parse_object("{\"a\":1} x", 9));
    assert_null(sb_json_parse_object("{\"a\":", 5));
    sb_resp_t r = {0};
    sb_resp_error(&r, 404, "not_found", "The requested purchase is not found!");
    assert_int_equal(r.status, 404);
    assert_string_equal(r.json,
                        "{\"error\":\"not_found\",\"error_description\":\"The requested purchase "
                        "is not found!\"}");
    sb_resp_clear(&r);
    assert_null(r.json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bazaar_paths_route_with_captures),
        cmocka_unit_test(test_bazaar_paths_are_exact),
        cmocka_unit_test(test_admin_paths_allow_a_trailing_slash),
        cmocka_unit_test(test_service_of_path),
        cmocka_unit_test(test_form_get_decodes),
        cmocka_unit_test(test_json_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
