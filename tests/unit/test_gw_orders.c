/*  Unit tests: the seed 004 family's build and render functions (gen-reg-no)
 *  and its error shape. Pure functions, no sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../api-gateway/gw_json.h"
#include "../../api-gateway/orders.h"
#include "gw_testlib.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_proto.h"

static gw_input_t s_in(const char *json)
{
    gw_input_t in;
    memset(&in, 0, sizeof in);
    in.body = json;
    in.body_len = json ? strlen(json) : 0;
    return in;
}

static void test_regno_build_reads_the_seed_body(void **state)
{
    (void)state;
    gw_input_t in = s_in("{\"RegNumTypeId\": 9, \"random_mode\": 1, "
                         "\"RegNumTypeName\": \"sale_order_invoice_code (could be blank)\"}");
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_order_regno_build, &in, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_REGNO_GEN);
    int64_t id = 0;
    assert_int_equal(pm_mp_get_int(r.body, "type_id", &id), 0);
    assert_int_equal(id, 9);
    const msgpack_object *random = pm_mp_get(r.body, "random");
    assert_non_null(random);
    assert_true(random->type == MSGPACK_OBJECT_BOOLEAN && random->via.boolean);
    gw_test_done(&r);

    /* Strings of digits and a blank name are taken too; 0 is sequential. */
    in = s_in("{\"RegNumTypeId\": \"12\", \"random_mode\": \"0\", \"RegNumTypeName\": \"\"}");
    assert_int_equal(gw_test_run(gw_order_regno_build, &in, &r), 0);
    assert_int_equal(pm_mp_get_int(r.body, "type_id", &id), 0);
    assert_int_equal(id, 12);
    random = pm_mp_get(r.body, "random");
    assert_true(random->type == MSGPACK_OBJECT_BOOLEAN && !random->via.boolean);
    assert_int_equal(pm_mp_get(r.body, "type_name")->type, MSGPACK_OBJECT_NIL);
    gw_test_done(&r);
}

static void test_regno_build_refuses_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *part;
    } cases[] = {
        {"{\"random_mode\": 1}", "RegNumTypeId is required"},
        {"{\"RegNumTypeId\": 9}", "random_mode is required"},
        {"{\"RegNumTypeId\": 0, \"random_mode\": 1}", "RegNumTypeId must be"},
        {"{\"RegNumTypeId\": -3, \"random_mode\": 1}", "RegNumTypeId must be"},
        {"{\"RegNumTypeId\": 2147483648, \"random_mode\": 1}", "RegNumTypeId must be"},
        {"{\"RegNumTypeId\": 9.5, \"random_mode\": 1}", "RegNumTypeId must be"},
        {"{\"RegNumTypeId\": \"9a\", \"random_mode\": 1}", "RegNumTypeId must be"},
        {"{\"RegNumTypeId\": 9, \"random_mode\": 2}", "random_mode must be"},
        {"{\"RegNumTypeId\": 9, \"random_mode\": 1, \"RegNumTypeName\": 5}", "RegNumTypeName"},
        {"{\"RegNumTypeId\": 9, \"random_mode\": 1, \"Price\": 5}", "Price"},
        {"[9, 1]", ""},
        {"{\"RegNumTypeId\": 9, ", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_input_t in = s_in(cases[i].json);
        gw_test_fails(gw_order_regno_build, &in, PM_ERR_VALIDATION, cases[i].part);
    }
}

static void test_regno_render_and_errors_have_the_seed_shape(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "reg_no");
    pm_mp_pack_cstr(&pk, "ANSSFK09381");
    gw_response_t out = {0};
    assert_int_equal(gw_reply_render(gw_order_regno_render, buf.data, buf.size, &out), 0);
    assert_int_equal(out.status, 200);
    assert_string_equal(
        out.json, "{\"status\":1,\"data\":\"ANSSFK09381\",\"message\":\"Pred Reg_no generation\"}");
    free(out.json);
    out.json = NULL; /* gw_json_finish replaces what the response holds */
    msgpack_sbuffer_destroy(&buf);

    assert_int_equal(gw_json_error_as(GW_ERRORS_ORDER, PM_ERR_NOT_FOUND, "no such type", &out), 0);
    assert_int_equal(out.status, 404);
    assert_string_equal(out.json,
                        "{\"status\":0,\"message\":\"no such type\",\"code\":\"not_found\"}");
    free(out.json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regno_build_reads_the_seed_body),
        cmocka_unit_test(test_regno_build_refuses_bad_input),
        cmocka_unit_test(test_regno_render_and_errors_have_the_seed_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
