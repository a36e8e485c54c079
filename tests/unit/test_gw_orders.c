/*  Unit tests: the seed 004 family's build and render functions (gen-reg-no,
 *  the order invoice, its bank registration and validation) and its error
 *  shape. Pure functions, no sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../api-gateway/gw_json.h"
#include "../../api-gateway/orders.h"
#include "gw_testlib.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_proto.h"

#define MAX_MINOR 100000000 /* 1,000,000.00 manat */

static gw_input_t s_in(const char *json)
{
    gw_input_t in;
    memset(&in, 0, sizeof in);
    in.body = json;
    in.body_len = json ? strlen(json) : 0;
    in.max_amount_minor = MAX_MINOR;
    return in;
}

/* The query of a request: the value of online_payment_type, or NULL. */
static const char *s_query(const void *ctx, const char *name)
{
    return strcmp(name, "online_payment_type") == 0 ? (const char *)ctx : NULL;
}

static gw_input_t s_in_query(const char *json, const char *payment_type)
{
    gw_input_t in = s_in(json);
    in.query = s_query;
    in.lookup_ctx = payment_type;
    return in;
}

/* Expects the string under key of map to be want (NULL: nil). */
static void s_expect_str(const msgpack_object *map, const char *key, const char *want)
{
    const msgpack_object *v = pm_mp_get(map, key);
    if (!v)
        fail_msg("%s is missing", key);
    if (!want) {
        assert_int_equal(v->type, MSGPACK_OBJECT_NIL);
        return;
    }
    assert_int_equal(v->type, MSGPACK_OBJECT_STR);
    assert_int_equal(v->via.str.size, strlen(want));
    assert_memory_equal(v->via.str.ptr, want, strlen(want));
}

static int64_t s_get_int(const msgpack_object *map, const char *key)
{
    int64_t n = 0;
    assert_int_equal(pm_mp_get_int(map, key, &n), 0);
    return n;
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

/* ---- POST /checkout-sale-order-inv/ ------------------------------------ */

static void test_checkout_build_packs_exact_amounts(void **state)
{
    (void)state;
    gw_input_t in = s_in("{\"OInvRegNo\": \"ANS00000001\", \"OInvTypeId\": 13, "
                         "\"online_payment_type\": \"halkbank\", \"OInvTotal\": 17.50, "
                         "\"OrderInvLines\": ["
                         "{\"ResName\": \"Çaý\", \"ItemCount\": 3, \"ResPrice\": 5.5},"
                         "{\"ResName\": \"Bag\", \"ItemCount\": \"1\", \"ResPrice\": \"1.000\"}], "
                         "\"OInvDesc\": \"two lines\\nof text\"}");
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_order_checkout_build, &in, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_INVOICE_PUT);
    assert_int_equal(r.body->via.map.size, 6);
    s_expect_str(r.body, "reg_no", "ANS00000001");
    s_expect_str(r.body, "payment_type", "halkbank");
    s_expect_str(r.body, "currency", "TMT");
    assert_int_equal(s_get_int(r.body, "total_minor"), 1750);
    s_expect_str(r.body, "desc", "two lines\nof text");
    const msgpack_object *lines = pm_mp_get(r.body, "lines");
    assert_non_null(lines);
    assert_int_equal(lines->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(lines->via.array.size, 2);
    const msgpack_object *l0 = &lines->via.array.ptr[0], *l1 = &lines->via.array.ptr[1];
    s_expect_str(l0, "name", "Çaý");
    assert_int_equal(s_get_int(l0, "count"), 3);
    assert_int_equal(s_get_int(l0, "price_minor"), 550);
    s_expect_str(l1, "name", "Bag");
    assert_int_equal(s_get_int(l1, "count"), 1);
    assert_int_equal(s_get_int(l1, "price_minor"), 100); /* trailing zeros are exact */
    gw_test_done(&r);

    /* 0.1 is 10 tenge, never 0.1000000000000000055...; no OInvDesc is nil. */
    in = s_in("{\"OInvRegNo\": \"a_b-9\", \"online_payment_type\": \"foreign_affairs_bank\", "
              "\"OInvTotal\": \"0.1\", "
              "\"OrderInvLines\": [{\"ResName\": \"x\", \"ItemCount\": 1, \"ResPrice\": 0.1}]}");
    assert_int_equal(gw_test_run(gw_order_checkout_build, &in, &r), 0);
    s_expect_str(r.body, "payment_type", "foreign_affairs_bank");
    assert_int_equal(s_get_int(r.body, "total_minor"), 10);
    lines = pm_mp_get(r.body, "lines");
    assert_int_equal(s_get_int(&lines->via.array.ptr[0], "price_minor"), 10);
    s_expect_str(r.body, "desc", NULL);
    gw_test_done(&r);

    /* The total is not checked against the lines here: the core refuses a
     * total that is not their sum. 100 lines are taken. */
    char big[16384];
    size_t n = (size_t)snprintf(big, sizeof big,
                                "{\"OInvRegNo\": \"R1\", \"online_payment_type\": \"halkbank\", "
                                "\"OInvTotal\": 1, \"OInvDesc\": \"\", \"OrderInvLines\": [");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof big - n,
                              "%s{\"ResName\": \"n%d\", \"ItemCount\": 1, \"ResPrice\": 2}",
                              i ? "," : "", i);
    snprintf(big + n, sizeof big - n, "]}");
    in = s_in(big);
    assert_int_equal(gw_test_run(gw_order_checkout_build, &in, &r), 0);
    assert_int_equal(pm_mp_get(r.body, "lines")->via.array.size, 100);
    s_expect_str(r.body, "desc", NULL); /* a blank description is none */
    gw_test_done(&r);
}

#define S_LINE "{\"ResName\": \"Tea\", \"ItemCount\": 2, \"ResPrice\": 1.25}"
#define S_HEAD "{\"OInvRegNo\": \"ANS1\", \"online_payment_type\": \"halkbank\", "

static void test_checkout_build_refuses_bad_input(void **state)
{
    (void)state;
    char long_name[300], long_desc[700], long_regno[80];
    memset(long_name, 'n', 257);
    long_name[257] = '\0';
    memset(long_desc, 'd', 513);
    long_desc[513] = '\0';
    memset(long_regno, 'R', 49);
    long_regno[49] = '\0';
    char name_case[512], desc_case[1024], regno_case[256], lines_case[8192];
    snprintf(name_case, sizeof name_case,
             S_HEAD "\"OInvTotal\": 1, \"OrderInvLines\": [{\"ResName\": \"%s\", "
                    "\"ItemCount\": 1, \"ResPrice\": 1}]}",
             long_name);
    snprintf(desc_case, sizeof desc_case,
             S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [" S_LINE "], \"OInvDesc\": \"%s\"}",
             long_desc);
    snprintf(regno_case, sizeof regno_case,
             "{\"OInvRegNo\": \"%s\", \"online_payment_type\": \"halkbank\", \"OInvTotal\": "
             "2.50, \"OrderInvLines\": [" S_LINE "]}",
             long_regno);
    size_t n = (size_t)snprintf(lines_case, sizeof lines_case,
                                S_HEAD "\"OInvTotal\": 1, \"OrderInvLines\": [");
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(lines_case + n, sizeof lines_case - n, "%s" S_LINE, i ? "," : "");
    snprintf(lines_case + n, sizeof lines_case - n, "]}");
    const struct {
        const char *json;
        const char *part;
    } cases[] = {
        /* missing fields */
        {"{\"online_payment_type\": \"halkbank\", \"OInvTotal\": 2.50, \"OrderInvLines\": "
         "[" S_LINE "]}",
         "OInvRegNo is required"},
        {"{\"OInvRegNo\": \"ANS1\", \"OInvTotal\": 2.50, \"OrderInvLines\": [" S_LINE "]}",
         "online_payment_type is required"},
        {S_HEAD "\"OrderInvLines\": [" S_LINE "]}", "OInvTotal is required"},
        {S_HEAD "\"OInvTotal\": 2.50}", "OrderInvLines is required"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ItemCount\": 2, \"ResPrice\": 1}]}",
         "OrderInvLines[0].ResName is required"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"a\", \"ResPrice\": 1}]}",
         "OrderInvLines[0].ItemCount is required"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"a\", \"ItemCount\": 1}]}",
         "OrderInvLines[0].ResPrice is required"},
        /* bad types and values */
        {"{\"OInvRegNo\": 7, \"online_payment_type\": \"halkbank\", \"OInvTotal\": 2.50, "
         "\"OrderInvLines\": [" S_LINE "]}",
         "OInvRegNo must be a string"},
        {"{\"OInvRegNo\": \"AN S1\", \"online_payment_type\": \"halkbank\", \"OInvTotal\": 2.50, "
         "\"OrderInvLines\": [" S_LINE "]}",
         "OInvRegNo must be 1 to 48"},
        {"{\"OInvRegNo\": \"\", \"online_payment_type\": \"halkbank\", \"OInvTotal\": 2.50, "
         "\"OrderInvLines\": [" S_LINE "]}",
         "OInvRegNo must be 1 to 48"},
        {regno_case, "OInvRegNo must be 1 to 48"},
        {"{\"OInvRegNo\": \"ANS1\", \"online_payment_type\": \"Halkbank\", \"OInvTotal\": 2.50, "
         "\"OrderInvLines\": [" S_LINE "]}",
         "online_payment_type must be halkbank or foreign_affairs_bank"},
        {"{\"OInvRegNo\": \"ANS1\", \"online_payment_type\": 1, \"OInvTotal\": 2.50, "
         "\"OrderInvLines\": [" S_LINE "]}",
         "online_payment_type must be a string"},
        {S_HEAD "\"OInvTypeId\": 14, \"OInvTotal\": 2.50, \"OrderInvLines\": [" S_LINE "]}",
         "OInvTypeId must be a whole number from 13 to 13"},
        {S_HEAD "\"OInvTotal\": 1.005, \"OrderInvLines\": [" S_LINE "]}", "OInvTotal"},
        {S_HEAD "\"OInvTotal\": 0, \"OrderInvLines\": [" S_LINE "]}", "OInvTotal"},
        {S_HEAD "\"OInvTotal\": 0.00, \"OrderInvLines\": [" S_LINE "]}", "OInvTotal"},
        {S_HEAD "\"OInvTotal\": -2.50, \"OrderInvLines\": [" S_LINE "]}", "OInvTotal"},
        {S_HEAD "\"OInvTotal\": 2.5e0, \"OrderInvLines\": [" S_LINE "]}", "OInvTotal"},
        {S_HEAD "\"OInvTotal\": \"2,50\", \"OrderInvLines\": [" S_LINE "]}", "OInvTotal"},
        {S_HEAD "\"OInvTotal\": 1000000.01, \"OrderInvLines\": [" S_LINE "]}", "OInvTotal"},
        {S_HEAD "\"OInvTotal\": true, \"OrderInvLines\": [" S_LINE "]}",
         "OInvTotal must be a number"},
        {S_HEAD "\"OInvTotal\": null, \"OrderInvLines\": [" S_LINE "]}",
         "OInvTotal must be a number"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": []}", "OrderInvLines must be a list of 1"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": " S_LINE "}",
         "OrderInvLines must be a list of 1"},
        {lines_case, "OrderInvLines must be a list of 1 to 100"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [" S_LINE ", 5]}",
         "OrderInvLines[1] must be an object"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"\", \"ItemCount\": 1, "
                "\"ResPrice\": 1}]}",
         "OrderInvLines[0].ResName must be 1 to 256"},
        {name_case, "OrderInvLines[0].ResName must be 1 to 256"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"a\\u0001\", "
                "\"ItemCount\": 1, \"ResPrice\": 1}]}",
         "OrderInvLines[0].ResName must be 1 to 256"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": 5, \"ItemCount\": 1, "
                "\"ResPrice\": 1}]}",
         "OrderInvLines[0].ResName must be a string"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"a\", \"ItemCount\": 0, "
                "\"ResPrice\": 1}]}",
         "OrderInvLines[0].ItemCount must be a whole number from 1 to 1000000"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"a\", \"ItemCount\": "
                "1.5, \"ResPrice\": 1}]}",
         "OrderInvLines[0].ItemCount must be"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"a\", \"ItemCount\": "
                "true, \"ResPrice\": 1}]}",
         "OrderInvLines[0].ItemCount must be"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"a\", \"ItemCount\": "
                "1000001, \"ResPrice\": 1}]}",
         "OrderInvLines[0].ItemCount must be"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"a\", \"ItemCount\": 1, "
                "\"ResPrice\": 1.005}]}",
         "OrderInvLines[0].ResPrice"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"a\", \"ItemCount\": 1, "
                "\"ResPrice\": 0}]}",
         "OrderInvLines[0].ResPrice"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [{\"ResName\": \"a\", \"ItemCount\": 1, "
                "\"ResPrice\": 1, \"Discount\": 1}]}",
         "unknown field OrderInvLines[0].Discount"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [" S_LINE "], \"OInvDesc\": 3}",
         "OInvDesc must be a string"},
        {desc_case, "OInvDesc must be text of at most 512"},
        {S_HEAD "\"OInvTotal\": 2.50, \"OrderInvLines\": [" S_LINE "], \"Currency\": \"TMT\"}",
         "unknown field Currency"},
        {"[1]", ""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_input_t in = s_in(cases[i].json);
        gw_test_fails(gw_order_checkout_build, &in, PM_ERR_VALIDATION, cases[i].part);
    }
}

/* ---- POST /order-payment-register-request/ ----------------------------- */

static void test_register_build_reads_the_seed_body(void **state)
{
    (void)state;
    gw_input_t in = s_in_query("{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": 17.50, "
                               "\"OrderDesc\": \"Description text\"}",
                               "halkbank");
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_order_register_build, &in, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_ORDER_REGISTER);
    assert_int_equal(r.body->via.map.size, 4);
    s_expect_str(r.body, "reg_no", "ANS1");
    s_expect_str(r.body, "payment_type", "halkbank");
    assert_int_equal(s_get_int(r.body, "total_minor"), 1750);
    s_expect_str(r.body, "desc", "Description text");
    gw_test_done(&r);

    /* The seed's browser code sends RegNo; a blank OrderDesc is none. */
    in = s_in_query("{\"RegNo\": \"ANS2\", \"TotalPrice\": \"0.1\", \"OrderDesc\": \"\"}",
                    "foreign_affairs_bank");
    assert_int_equal(gw_test_run(gw_order_register_build, &in, &r), 0);
    s_expect_str(r.body, "reg_no", "ANS2");
    s_expect_str(r.body, "payment_type", "foreign_affairs_bank");
    assert_int_equal(s_get_int(r.body, "total_minor"), 10);
    s_expect_str(r.body, "desc", NULL);
    gw_test_done(&r);

    /* Both names, when they agree. */
    in =
        s_in_query("{\"RegNo\": \"ANS3\", \"OInvRegNo\": \"ANS3\", \"TotalPrice\": 3}", "halkbank");
    assert_int_equal(gw_test_run(gw_order_register_build, &in, &r), 0);
    s_expect_str(r.body, "reg_no", "ANS3");
    assert_int_equal(s_get_int(r.body, "total_minor"), 300);
    gw_test_done(&r);
}

static void test_register_build_refuses_bad_input(void **state)
{
    (void)state;
    static const char *const good = "{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": 17.50}";
    const struct {
        const char *json;
        const char *type;
        const char *part;
    } cases[] = {
        {good, NULL, "online_payment_type is required"},
        {good, "", "online_payment_type must be halkbank or foreign_affairs_bank"},
        {good, "visa", "online_payment_type must be halkbank or foreign_affairs_bank"},
        {"{\"TotalPrice\": 17.50}", "halkbank", "OInvRegNo is required"},
        {"{\"RegNo\": \"A\", \"OInvRegNo\": \"B\", \"TotalPrice\": 1}", "halkbank",
         "OInvRegNo and RegNo"},
        {"{\"RegNo\": \"A/B\", \"TotalPrice\": 1}", "halkbank", "OInvRegNo must be 1 to 48"},
        {"{\"OInvRegNo\": \"ANS1\"}", "halkbank", "TotalPrice is required"},
        {"{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": 1.005}", "halkbank", "TotalPrice"},
        {"{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": 0}", "halkbank", "TotalPrice"},
        {"{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": -1}", "halkbank", "TotalPrice"},
        {"{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": 1E1}", "halkbank", "TotalPrice"},
        {"{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": [1]}", "halkbank",
         "TotalPrice must be a number"},
        {"{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": 1, \"OrderDesc\": false}", "halkbank",
         "OrderDesc must be a string"},
        {"{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": 1, \"OrderDesc\": \"a\\u0000b\"}", "halkbank",
         "OrderDesc must be text"},
        {"{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": 1, \"online_payment_type\": \"halkbank\"}",
         "halkbank", "unknown field online_payment_type"},
        {"{\"OInvRegNo\": \"ANS1\", \"TotalPrice\": 1,}", "halkbank", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_input_t in = s_in_query(cases[i].json, cases[i].type);
        gw_test_fails(gw_order_register_build, &in, PM_ERR_VALIDATION, cases[i].part);
    }
}

/* ---- POST /order-inv-validation/ --------------------------------------- */

static void test_validate_build_reads_the_seed_body(void **state)
{
    (void)state;
    gw_input_t in = s_in("{\"OrderId\": \"70906e55-7114-41d6-8332-4609dc6590f4\", "
                         "\"OInvRegNo\": \"ANS1\", \"online_payment_type\": \"halkbank\", "
                         "\"RpAccGuid\": \"acct-42\"}");
    gw_built_t r;
    assert_int_equal(gw_test_run(gw_order_validate_build, &in, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_ORDER_VALIDATE);
    assert_int_equal(r.body->via.map.size, 4);
    s_expect_str(r.body, "reg_no", "ANS1");
    s_expect_str(r.body, "order_id", "70906e55-7114-41d6-8332-4609dc6590f4");
    s_expect_str(r.body, "payment_type", "halkbank");
    s_expect_str(r.body, "account", "acct-42");
    gw_test_done(&r);

    /* Without RpAccGuid, or blank, or null: the caller's own invoice. */
    static const char *const own[] = {
        "{\"OrderId\": \"X1\", \"OInvRegNo\": \"ANS1\", "
        "\"online_payment_type\": \"foreign_affairs_bank\"}",
        "{\"OrderId\": \"X1\", \"RegNo\": \"ANS1\", "
        "\"online_payment_type\": \"foreign_affairs_bank\", \"RpAccGuid\": \"\"}",
        "{\"OrderId\": \"X1\", \"OInvRegNo\": \"ANS1\", "
        "\"online_payment_type\": \"foreign_affairs_bank\", \"RpAccGuid\": null}",
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        in = s_in(own[i]);
        assert_int_equal(gw_test_run(gw_order_validate_build, &in, &r), 0);
        s_expect_str(r.body, "reg_no", "ANS1");
        s_expect_str(r.body, "order_id", "X1");
        s_expect_str(r.body, "payment_type", "foreign_affairs_bank");
        s_expect_str(r.body, "account", NULL);
        gw_test_done(&r);
    }
}

static void test_validate_build_refuses_bad_input(void **state)
{
    (void)state;
    char long_id[128], id_case[256], long_acc[200], acc_case[400];
    memset(long_id, 'o', 65);
    long_id[65] = '\0';
    snprintf(id_case, sizeof id_case,
             "{\"OrderId\": \"%s\", \"OInvRegNo\": \"A\", \"online_payment_type\": \"halkbank\"}",
             long_id);
    memset(long_acc, 'a', 129);
    long_acc[129] = '\0';
    snprintf(acc_case, sizeof acc_case,
             "{\"OrderId\": \"X\", \"OInvRegNo\": \"A\", \"online_payment_type\": \"halkbank\", "
             "\"RpAccGuid\": \"%s\"}",
             long_acc);
    const struct {
        const char *json;
        const char *part;
    } cases[] = {
        {"{\"OInvRegNo\": \"A\", \"online_payment_type\": \"halkbank\"}", "OrderId is required"},
        {"{\"OrderId\": 12, \"OInvRegNo\": \"A\", \"online_payment_type\": \"halkbank\"}",
         "OrderId must be a string"},
        {"{\"OrderId\": \"\", \"OInvRegNo\": \"A\", \"online_payment_type\": \"halkbank\"}",
         "OrderId must be 1 to 64"},
        {"{\"OrderId\": \"a b\", \"OInvRegNo\": \"A\", \"online_payment_type\": \"halkbank\"}",
         "OrderId must be 1 to 64"},
        {"{\"OrderId\": \"a\\u00e9\", \"OInvRegNo\": \"A\", \"online_payment_type\": \"halkbank\"}",
         "OrderId must be 1 to 64"},
        {id_case, "OrderId must be 1 to 64"},
        {"{\"OrderId\": \"X\", \"online_payment_type\": \"halkbank\"}", "OInvRegNo is required"},
        {"{\"OrderId\": \"X\", \"OInvRegNo\": \"A\"}", "online_payment_type is required"},
        {"{\"OrderId\": \"X\", \"OInvRegNo\": \"A\", \"online_payment_type\": \"tfeb\"}",
         "online_payment_type must be"},
        {"{\"OrderId\": \"X\", \"OInvRegNo\": \"A\", \"online_payment_type\": \"halkbank\", "
         "\"RpAccGuid\": 5}",
         "RpAccGuid must be a string"},
        {"{\"OrderId\": \"X\", \"OInvRegNo\": \"A\", \"online_payment_type\": \"halkbank\", "
         "\"RpAccGuid\": \"a\\tb\"}",
         "RpAccGuid must be 1 to 128"},
        {acc_case, "RpAccGuid must be 1 to 128"},
        {"{\"OrderId\": \"X\", \"OInvRegNo\": \"A\", \"online_payment_type\": \"halkbank\", "
         "\"Paid\": true}",
         "unknown field Paid"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_input_t in = s_in(cases[i].json);
        gw_test_fails(gw_order_validate_build, &in, PM_ERR_VALIDATION, cases[i].part);
    }
}

/* ---- INVOICE replies ----------------------------------------------------- */

#define T_CREATED 1796083200000LL /* 2026-12-01T00:00:00.000Z */

/* An INVOICE reply; NULL strings are nil, paid_ms < 0 is nil. */
typedef struct {
    int64_t type_id;
    const char *state, *order_id, *checkout_url, *bank_state, *desc;
    int64_t paid_ms;
} s_inv_t;

static void s_pack_strn(msgpack_packer *pk, const char *key, const char *s)
{
    pm_mp_pack_cstr(pk, key);
    if (s)
        pm_mp_pack_cstr(pk, s);
    else
        msgpack_pack_nil(pk);
}

static void s_reply(const s_inv_t *inv, msgpack_sbuffer *buf)
{
    msgpack_sbuffer_init(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "invoice");
    msgpack_pack_map(&pk, 15);
    s_pack_strn(&pk, "reg_no", "ANS00000001");
    s_pack_strn(&pk, "principal", "user-1");
    pm_mp_pack_cstr(&pk, "type_id");
    msgpack_pack_int64(&pk, inv->type_id);
    s_pack_strn(&pk, "state", inv->state);
    s_pack_strn(&pk, "payment_type", "halkbank");
    s_pack_strn(&pk, "currency", "TMT");
    pm_mp_pack_cstr(&pk, "total_minor");
    msgpack_pack_int64(&pk, 1750);
    pm_mp_pack_cstr(&pk, "lines");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 3);
    s_pack_strn(&pk, "name", "Çaý");
    pm_mp_pack_cstr(&pk, "count");
    msgpack_pack_int(&pk, 3);
    pm_mp_pack_cstr(&pk, "price_minor");
    msgpack_pack_int(&pk, 550);
    msgpack_pack_map(&pk, 3);
    s_pack_strn(&pk, "name", "Bag");
    pm_mp_pack_cstr(&pk, "count");
    msgpack_pack_int(&pk, 1);
    pm_mp_pack_cstr(&pk, "price_minor");
    msgpack_pack_int(&pk, 100);
    s_pack_strn(&pk, "desc", inv->desc);
    s_pack_strn(&pk, "order_id", inv->order_id);
    s_pack_strn(&pk, "checkout_url", inv->checkout_url);
    s_pack_strn(&pk, "bank_state", inv->bank_state);
    pm_mp_pack_cstr(&pk, "created_ms");
    msgpack_pack_int64(&pk, T_CREATED);
    pm_mp_pack_cstr(&pk, "updated_ms");
    msgpack_pack_int64(&pk, T_CREATED + 1500);
    pm_mp_pack_cstr(&pk, "paid_ms");
    if (inv->paid_ms >= 0)
        msgpack_pack_int64(&pk, inv->paid_ms);
    else
        msgpack_pack_nil(&pk);
}

#define S_URL "https://bank.example/payment/merchants/pay.html?mdOrder=70906e55"

/* The "data" of every invoice answer for the replies of s_reply. */
#define S_DATA(type, state, order, url, bank, paid)                                                \
    "{\"OInvRegNo\":\"ANS00000001\",\"OInvTypeId\":" type ",\"OInvState\":\"" state "\","          \
    "\"online_payment_type\":\"halkbank\",\"OInvTotal\":17.50,\"OInvCurrency\":\"TMT\","           \
    "\"OrderInvLines\":[{\"ResName\":\"Çaý\",\"ItemCount\":3,\"ResPrice\":5.50},"                \
    "{\"ResName\":\"Bag\",\"ItemCount\":1,\"ResPrice\":1.00}],\"OInvDesc\":\"two lines\","         \
    "\"OrderId\":" order ",\"checkout_url\":" url ",\"bank_state\":" bank ","                      \
    "\"created_at\":\"2026-12-01T00:00:00.000Z\",\"updated_at\":\"2026-12-01T00:00:01.500Z\","     \
    "\"paid_at\":" paid "}"

static void s_expect_render(gw_render_fn fn, const s_inv_t *inv, int status, const char *json)
{
    msgpack_sbuffer buf;
    s_reply(inv, &buf);
    gw_response_t out = {0};
    assert_int_equal(gw_reply_render(fn, buf.data, buf.size, &out), 0);
    assert_int_equal(out.status, status);
    assert_string_equal(out.json, json);
    free(out.json);
    msgpack_sbuffer_destroy(&buf);
}

static void test_checkout_render_shows_the_invoice(void **state)
{
    (void)state;
    s_inv_t inv = {13, "awaiting_payment", NULL, NULL, NULL, "two lines", -1};
    s_expect_render(
        gw_order_checkout_render, &inv, 200,
        "{\"status\":1,\"data\":" S_DATA("13", "awaiting_payment", "null", "null", "null",
                                         "null") ","
                                                 "\"message\":\"Order invoice checked out\"}");
    /* The same contents again answer the stored invoice, whatever its state. */
    inv = (s_inv_t){14, "paid", "O-1", S_URL, "paid", "two lines", T_CREATED + 60000};
    s_expect_render(
        gw_order_checkout_render, &inv, 200,
        "{\"status\":1,\"data\":" S_DATA(
            "14", "paid", "\"O-1\"", "\"" S_URL "\"", "\"paid\"",
            "\"2026-12-01T00:01:00.000Z\"") ","
                                            "\"message\":\"Order invoice checked out\"}");
}

static void test_register_render_has_the_seed_shape(void **state)
{
    (void)state;
    const gw_route_t route = {
        "POST",          "/order-payment-register-request", gw_order_register_build, NULL,
        GW_ERRORS_ORDER, gw_order_register_render};
    s_inv_t inv = {13, "awaiting_payment", "70906e55", S_URL, "registered", "two lines", -1};
    msgpack_sbuffer buf;
    s_reply(&inv, &buf);
    gw_input_t in = s_in_query("{\"OInvRegNo\": \"ANS00000001\", \"TotalPrice\": 17.5, "
                               "\"OrderDesc\": \"Description text\"}",
                               "halkbank");
    gw_response_t out = {0};
    assert_int_equal(gw_reply_render_route(&route, &in, buf.data, buf.size, &out), 0);
    assert_int_equal(out.status, 200);
    assert_string_equal(out.json, "{\"data\":{\"checkout_url\":\"" S_URL "\",\"OrderId\":"
                                  "\"70906e55\",\"online_payment_type\":\"halkbank\"},"
                                  "\"RegNo\":\"ANS00000001\",\"OInvRegNo\":\"ANS00000001\","
                                  "\"TotalPrice\":17.50,\"OrderDesc\":\"Description text\"}");

    /* RegNo sent, no OrderDesc: it is null. */
    in = s_in_query("{\"RegNo\": \"ANS00000001\", \"TotalPrice\": \"17.50\"}", "halkbank");
    assert_int_equal(gw_reply_render_route(&route, &in, buf.data, buf.size, &out), 0);
    assert_int_equal(out.status, 200);
    assert_string_equal(out.json, "{\"data\":{\"checkout_url\":\"" S_URL "\",\"OrderId\":"
                                  "\"70906e55\",\"online_payment_type\":\"halkbank\"},"
                                  "\"RegNo\":\"ANS00000001\",\"OInvRegNo\":\"ANS00000001\","
                                  "\"TotalPrice\":17.50,\"OrderDesc\":null}");
    msgpack_sbuffer_destroy(&buf);

    /* A registration without an order is a core bug: 500, in the family's
     * shape. */
    inv = (s_inv_t){13, "awaiting_payment", NULL, NULL, NULL, "two lines", -1};
    s_reply(&inv, &buf);
    assert_int_equal(gw_reply_render_route(&route, &in, buf.data, buf.size, &out), 0);
    assert_int_equal(out.status, 500);
    assert_non_null(strstr(out.json, "\"status\":0"));
    free(out.json);
    msgpack_sbuffer_destroy(&buf);
}

static void test_validate_render_by_state(void **state)
{
    (void)state;
    s_inv_t inv = {14, "paid", "O-1", S_URL, "paid", "two lines", T_CREATED + 60000};
    s_expect_render(gw_order_validate_render, &inv, 200,
                    "{\"status\":1,\"data\":" S_DATA(
                        "14", "paid", "\"O-1\"", "\"" S_URL "\"", "\"paid\"",
                        "\"2026-12-01T00:01:00.000Z\"") ","
                                                        "\"message\":\"Validation success\"}");

    static const char *const waiting[] = {"registered", "pending", "preauthorized"};
    for (size_t i = 0; i < sizeof waiting / sizeof waiting[0]; i++) {
        char bank[32], json[2048];
        snprintf(bank, sizeof bank, "\"%s\"", waiting[i]);
        inv = (s_inv_t){13, "awaiting_payment", "O-1", S_URL, waiting[i], "two lines", -1};
        snprintf(json, sizeof json,
                 "{\"status\":0,\"data\":" S_DATA("13", "awaiting_payment", "\"O-1\"",
                                                  "\"" S_URL "\"", "%s",
                                                  "null") ","
                                                          "\"message\":\"Not paid yet\"}",
                 bank);
        s_expect_render(gw_order_validate_render, &inv, 200, json);
    }

    static const struct {
        const char *bank, *message;
    } failed[] = {
        {"declined", "Payment declined"},
        {"reversed", "Payment reversed"},
        {"not_found", "Order unknown to the bank"},
        {NULL, "Payment failed"},
    };
    for (size_t i = 0; i < sizeof failed / sizeof failed[0]; i++) {
        char bank[32], json[2048];
        if (failed[i].bank)
            snprintf(bank, sizeof bank, "\"%s\"", failed[i].bank);
        else
            snprintf(bank, sizeof bank, "null");
        inv = (s_inv_t){15, "failed", "O-1", S_URL, failed[i].bank, "two lines", -1};
        snprintf(json, sizeof json,
                 "{\"status\":0,\"data\":" S_DATA("15", "failed", "\"O-1\"", "\"" S_URL "\"", "%s",
                                                  "null") ","
                                                          "\"message\":\"%s\"}",
                 bank, failed[i].message);
        s_expect_render(gw_order_validate_render, &inv, 406, json);
    }
}

static void test_invoice_render_refuses_a_malformed_reply(void **state)
{
    (void)state;
    static const s_inv_t bad[] = {
        {14, "awaiting_payment", NULL, NULL, NULL, NULL, -1}, /* type and state disagree */
        {12, "awaiting_payment", NULL, NULL, NULL, NULL, -1},
        {13, "open", NULL, NULL, NULL, NULL, -1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msgpack_sbuffer buf;
        s_reply(&bad[i], &buf);
        gw_response_t out = {0};
        assert_int_equal(gw_reply_render(gw_order_validate_render, buf.data, buf.size, &out), 0);
        assert_int_equal(out.status, 500);
        free(out.json);
        out.json = NULL;
        assert_int_equal(gw_reply_render(gw_order_checkout_render, buf.data, buf.size, &out), 0);
        assert_int_equal(out.status, 500);
        free(out.json);
        msgpack_sbuffer_destroy(&buf);
    }
    /* A reply without an invoice. */
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    gw_response_t out = {0};
    assert_int_equal(gw_reply_render(gw_order_checkout_render, buf.data, buf.size, &out), 0);
    assert_int_equal(out.status, 500);
    free(out.json);
    msgpack_sbuffer_destroy(&buf);
}

static void test_core_errors_keep_the_family_shape(void **state)
{
    (void)state;
    const gw_route_t route = {"POST",
                              "/order-inv-validation",
                              gw_order_validate_build,
                              gw_order_validate_render,
                              GW_ERRORS_ORDER,
                              NULL};
    static const struct {
        int err;
        int status;
        const char *code;
    } cases[] = {
        {PM_ERR_VALIDATION, 400, "validation_error"},
        {PM_ERR_NOT_FOUND, 404, "not_found"},
        {PM_ERR_PROVIDER, 502, "provider_error"},
        {PM_ERR_UNAVAILABLE, 503, "unavailable"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2);
        pm_mp_pack_cstr(&pk, "err");
        msgpack_pack_int(&pk, cases[i].err);
        pm_mp_pack_cstr(&pk, "msg");
        pm_mp_pack_cstr(&pk, "why");
        gw_input_t in = s_in("{}");
        gw_response_t out = {0};
        assert_int_equal(gw_reply_render_route(&route, &in, buf.data, buf.size, &out), 0);
        assert_int_equal(out.status, cases[i].status);
        char want[128];
        snprintf(want, sizeof want, "{\"status\":0,\"message\":\"why\",\"code\":\"%s\"}",
                 cases[i].code);
        assert_string_equal(out.json, want);
        free(out.json);
        msgpack_sbuffer_destroy(&buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regno_build_reads_the_seed_body),
        cmocka_unit_test(test_regno_build_refuses_bad_input),
        cmocka_unit_test(test_regno_render_and_errors_have_the_seed_shape),
        cmocka_unit_test(test_checkout_build_packs_exact_amounts),
        cmocka_unit_test(test_checkout_build_refuses_bad_input),
        cmocka_unit_test(test_register_build_reads_the_seed_body),
        cmocka_unit_test(test_register_build_refuses_bad_input),
        cmocka_unit_test(test_validate_build_reads_the_seed_body),
        cmocka_unit_test(test_validate_build_refuses_bad_input),
        cmocka_unit_test(test_checkout_render_shows_the_invoice),
        cmocka_unit_test(test_register_render_has_the_seed_shape),
        cmocka_unit_test(test_validate_render_by_state),
        cmocka_unit_test(test_invoice_render_refuses_a_malformed_reply),
        cmocka_unit_test(test_core_errors_keep_the_family_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
