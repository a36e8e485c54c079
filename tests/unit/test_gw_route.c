/*  Unit tests of gw_route: the gateway's routing table and path matcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../api-gateway/gw_mhd.h"
#include "../../api-gateway/gw_route.h"
#include "../../api-gateway/payments.h"

#define ID "3d0c8d8e-5f0a-4a51-8d0b-2b0b5d2f1c3e"

static gw_route_result_t s_match(const char *method, const char *path, gw_match_t *m)
{
    return gw_route_match(gw_routes, gw_route_count, method, path, m);
}

static void test_create_matches_with_and_without_trailing_slash(void **state)
{
    (void)state;
    gw_match_t m;
    assert_int_equal(s_match("POST", "/api/v1/payment/create", &m), GW_ROUTE_OK);
    assert_ptr_equal(m.route->build, gw_payment_create_build);
    assert_null(m.id);
    assert_int_equal(s_match("POST", "/api/v1/payment/create/", &m), GW_ROUTE_OK);
    assert_ptr_equal(m.route->render, gw_payment_create_render);
}

static void test_id_is_captured_for_every_payment_route(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path;
        gw_render_fn render;
    } cases[] = {
        {"GET", "/api/v1/payment/" ID "/retrieve", gw_payment_retrieve_render},
        {"GET", "/api/v1/payment/" ID "/retrieve/", gw_payment_retrieve_render},
        {"GET", "/api/v1/payment/" ID "/retrieve/status", gw_payment_status_render},
        {"GET", "/api/v1/payment/" ID "/retrieve/status/", gw_payment_status_render},
        {"POST", "/api/v1/payment/" ID "/cancel", gw_payment_action_render},
        {"POST", "/api/v1/payment/" ID "/edit/", gw_payment_action_render},
        {"POST", "/api/v1/payment/" ID "/accept", gw_payment_action_render},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_match_t m;
        assert_int_equal(s_match(cases[i].method, cases[i].path, &m), GW_ROUTE_OK);
        assert_ptr_equal(m.route->render, cases[i].render);
        assert_int_equal(m.id_len, strlen(ID));
        assert_memory_equal(m.id, ID, strlen(ID));
    }
}

static void test_any_segment_is_captured_so_the_handler_can_say_not_found(void **state)
{
    (void)state;
    gw_match_t m;
    assert_int_equal(s_match("GET", "/api/v1/payment/not-a-uuid/retrieve", &m), GW_ROUTE_OK);
    assert_int_equal(m.id_len, strlen("not-a-uuid"));
    assert_memory_equal(m.id, "not-a-uuid", m.id_len);
}

static void test_unknown_paths_are_no_path(void **state)
{
    (void)state;
    gw_match_t m;
    const char *paths[] = {
        "/",
        "/x",
        "/api/v1/payment",
        "/api/v1/payment/create/extra",
        "/api/v1/payment//retrieve",
        "/api/v1/payment/" ID "/retrieve/status/x",
        "/api/v1/payment/create//",
        "//api/v1/payment/create",
        "/API/v1/payment/create",
        "/api/v1/payment/" ID,
        "",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_int_equal(s_match("GET", paths[i], &m), GW_ROUTE_NO_PATH);
}

static void test_known_path_other_method_is_no_method_with_allow(void **state)
{
    (void)state;
    gw_match_t m;
    assert_int_equal(s_match("GET", "/api/v1/payment/create", &m), GW_ROUTE_NO_METHOD);
    assert_string_equal(m.allow, "POST");
    assert_null(m.route);
    assert_int_equal(s_match("DELETE", "/api/v1/payment/" ID "/retrieve/", &m), GW_ROUTE_NO_METHOD);
    assert_string_equal(m.allow, "GET");
    assert_int_equal(s_match("GET", "/api/v1/payment/" ID "/cancel", &m), GW_ROUTE_NO_METHOD);
    assert_string_equal(m.allow, "POST");
}

static void test_method_is_case_sensitive(void **state)
{
    (void)state;
    gw_match_t m;
    assert_int_equal(s_match("post", "/api/v1/payment/create", &m), GW_ROUTE_NO_METHOD);
}

/* Several rows on one path: each method once in Allow, in table order. */
static int s_build(const gw_input_t *in, gw_build_t *out)
{
    (void)in, (void)out;
    return 0;
}

static void test_allow_lists_each_method_once(void **state)
{
    (void)state;
    static const gw_route_t table[] = {
        {.method = "GET", .pattern = "/things/{id}", .build = s_build},
        {.method = "PUT", .pattern = "/things/{id}", .build = s_build},
        {.method = "GET", .pattern = "/things/{id}", .build = s_build},
        {.method = "DELETE", .pattern = "/things/{id}", .build = s_build},
        {.method = "POST", .pattern = "/things", .build = s_build},
    };
    gw_match_t m;
    assert_int_equal(gw_route_match(table, 5, "PATCH", "/things/7/", &m), GW_ROUTE_NO_METHOD);
    assert_string_equal(m.allow, "GET, PUT, DELETE");
    assert_int_equal(gw_route_match(table, 5, "PUT", "/things/7", &m), GW_ROUTE_OK);
    assert_ptr_equal(m.route, &table[1]);
    assert_int_equal(gw_route_match(table, 5, "POST", "/things/", &m), GW_ROUTE_OK);
    assert_ptr_equal(m.route, &table[4]);
}

/* A 405 and libmicrohttpd's own refusals answer in the shape of the path's
 * family, so the match reports the first row's shape, whatever the method. */
static void test_the_match_names_the_error_shape_of_the_path(void **state)
{
    (void)state;
    gw_match_t m;
    assert_int_equal(gw_route_match(gw_routes, gw_route_count, "PATCH", "/finance/purchase", &m),
                     GW_ROUTE_NO_METHOD);
    assert_int_equal(m.errors, GW_ERRORS_STORE);
    assert_int_equal(gw_route_match(gw_routes, gw_route_count, "GET", "/gen-reg-no/", &m),
                     GW_ROUTE_NO_METHOD);
    assert_int_equal(m.errors, GW_ERRORS_ORDER);
    assert_int_equal(gw_route_match(gw_routes, gw_route_count, "GET", "/api/v1/payment/create", &m),
                     GW_ROUTE_NO_METHOD);
    assert_int_equal(m.errors, GW_ERRORS_CORE);
    assert_int_equal(gw_route_match(gw_routes, gw_route_count, "GET", "/no/such/path", &m),
                     GW_ROUTE_NO_PATH);
    assert_int_equal(m.errors, GW_ERRORS_CORE);

    assert_int_equal(gw_mhd_errors_for("/finance/bazaarpay/checkout/123/?x=1"), GW_ERRORS_STORE);
    assert_int_equal(gw_mhd_errors_for("/order-inv-validation"), GW_ERRORS_ORDER);
    assert_int_equal(gw_mhd_errors_for("/api/v1/payment/x/retrieve"), GW_ERRORS_CORE);
    assert_int_equal(gw_mhd_errors_for("/nowhere"), GW_ERRORS_CORE);
    assert_int_equal(gw_mhd_errors_for(""), GW_ERRORS_CORE);
}

/* The raw request target, before libmicrohttpd decodes it. */
static void test_encoded_separators_and_controls_in_the_raw_path_are_refused(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "/api/v1/payment/x/retrieve%00",
        "/finance/packages%2F",
        "/finance/packages%2f",
        "/a%5Cb",
        "/a%0d%0aX-Injected:%201",
        "/a%7F",
        "/a%",
        "/a%4",
        "/a%zz",
        "/a\x01b",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (!gw_mhd_raw_path_refused(refused[i]))
            fail_msg("not refused: %s", refused[i]);
    static const char *const fine[] = {
        "/api/v1/payment/01a2-3/retrieve",
        "/finance/packages/?page=%00",
        "/a%41b",
        "/%2e%2e",
        "/x#%00",
        "/",
    };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
        if (gw_mhd_raw_path_refused(fine[i]))
            fail_msg("refused: %s", fine[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_matches_with_and_without_trailing_slash),
        cmocka_unit_test(test_id_is_captured_for_every_payment_route),
        cmocka_unit_test(test_any_segment_is_captured_so_the_handler_can_say_not_found),
        cmocka_unit_test(test_unknown_paths_are_no_path),
        cmocka_unit_test(test_known_path_other_method_is_no_method_with_allow),
        cmocka_unit_test(test_method_is_case_sensitive),
        cmocka_unit_test(test_allow_lists_each_method_once),
        cmocka_unit_test(test_the_match_names_the_error_shape_of_the_path),
        cmocka_unit_test(test_encoded_separators_and_controls_in_the_raw_path_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
