/*  Unit tests of the seed 001 payments family: requests -> PAYMENT_* bodies
 *  (pm_proto.h), PAYMENT replies -> the seed's JSON, error replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../api-gateway/gw_json.h"
#include "../../api-gateway/payments.h"
#include "gw_testlib.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_proto.h"

#define ID "3d0c8d8e-5f0a-4a51-8d0b-2b0b5d2f1c3e"
#define MAX_MINOR 1000000000000000LL

#define SEED_CREATE                                                                                \
    "{\"idempotency_token\": \"0b6f1e0e-6c9a-4c55-9a35-6f2b8e0a9d11\","                            \
    " \"money_info\": {\"method_id\": \"card-1\", \"currency\": \"BTC\", \"amount\": 1.0},"        \
    " \"recipcient\": {\"recipcient_id\": \"bob\"}, \"sender\": {\"sender_id\": \"alice\"}}"

/* Runs fn on a request with the path id and the JSON body (gw_test_run). */
static int s_run(gw_build_fn fn, const char *id, const char *json, gw_built_t *out)
{
    gw_input_t in = {
        .id = id,
        .id_len = id ? strlen(id) : 0,
        .body = json,
        .body_len = json ? strlen(json) : 0,
        .max_amount_minor = MAX_MINOR,
    };
    return gw_test_run(fn, &in, out);
}

static void s_assert_str(const msgpack_object *map, const char *key, const char *want)
{
    const msgpack_object *v = pm_mp_get(map, key);
    if (!v)
        fail_msg("key %s absent", key);
    if (!want) {
        if (v->type != MSGPACK_OBJECT_NIL)
            fail_msg("key %s is not nil", key);
        return;
    }
    if (v->type != MSGPACK_OBJECT_STR || v->via.str.size != strlen(want) ||
        memcmp(v->via.str.ptr, want, strlen(want)) != 0)
        fail_msg("key %s is not '%s'", key, want);
}

static int64_t s_int(const msgpack_object *map, const char *key)
{
    int64_t v = -1;
    assert_int_equal(pm_mp_get_int(map, key, &v), 0);
    return v;
}

/* The build must fail with err, and a message containing want. */
static void s_bad(gw_build_fn fn, const char *id, const char *json, int err, const char *want)
{
    gw_built_t r;
    if (s_run(fn, id, json, &r) == 0)
        fail_msg("accepted: %s", json);
    assert_int_equal(r.b.err, err);
    if (!strstr(r.b.msg, want))
        fail_msg("message '%s' lacks '%s' for %s", r.b.msg, want, json);
    gw_test_done(&r);
}

/* ---- create ------------------------------------------------------------ */

static void test_create_seed_body_becomes_payment_create(void **state)
{
    (void)state;
    gw_built_t r;
    assert_int_equal(s_run(gw_payment_create_build, NULL, SEED_CREATE, &r), 0);
    assert_int_equal(r.b.type, PM_MSG_PAYMENT_CREATE);
    assert_int_equal(r.body->via.map.size, 7);
    s_assert_str(r.body, "idem", "0b6f1e0e-6c9a-4c55-9a35-6f2b8e0a9d11");
    s_assert_str(r.body, "sender_id", "alice");
    s_assert_str(r.body, "sender_method", NULL);
    s_assert_str(r.body, "recipient_id", "bob");
    s_assert_str(r.body, "recipient_method", "card-1");
    s_assert_str(r.body, "currency", "BTC");
    assert_int_equal(s_int(r.body, "amount_minor"), 100000000);
    gw_test_done(&r);
}

static void test_create_accepts_recipient_aliases_and_sender_method(void **state)
{
    (void)state;
    const char *bodies[] = {
        "{\"idempotency_token\":\"k\",\"money_info\":{\"method_id\":\"m\",\"currency\":\"usd\","
        "\"amount\":\"12.50\"},\"recipient\":{\"recipient_id\":\"bob\"},"
        "\"sender\":{\"sender_id\":\"alice\",\"method_id\":\"s-1\"}}",
        "{\"idempotency_token\":\"k\",\"money_info\":{\"method_id\":\"m\",\"currency\":\"USD\","
        "\"amount\":12.5},\"recipcient\":{\"recipient_id\":\"bob\"},"
        "\"sender\":{\"sender_id\":\"alice\",\"method_id\":\"s-1\"}}",
        "{\"idempotency_token\":\"k\",\"money_info\":{\"method_id\":\"m\",\"currency\":\"USD\","
        "\"amount\":12.50},\"recipient\":{\"recipcient_id\":\"bob\"},"
        "\"sender\":{\"method_id\":\"s-1\",\"sender_id\":\"alice\"}}",
    };
    msgpack_sbuffer first;
    msgpack_sbuffer_init(&first);
    for (size_t i = 0; i < 3; i++) {
        gw_built_t r;
        assert_int_equal(s_run(gw_payment_create_build, NULL, bodies[i], &r), 0);
        s_assert_str(r.body, "recipient_id", "bob");
        s_assert_str(r.body, "sender_method", "s-1");
        s_assert_str(r.body, "currency", "USD");
        assert_int_equal(s_int(r.body, "amount_minor"), 1250);
        /* The same request in other words gives the same bytes (idempotency
         * fingerprints are taken on them). */
        if (i == 0)
            msgpack_sbuffer_write(&first, r.b.body.data, r.b.body.size);
        else
            assert_memory_equal(first.data, r.b.body.data, first.size);
        assert_int_equal(first.size, r.b.body.size);
        gw_test_done(&r);
    }
    msgpack_sbuffer_destroy(&first);
}

static void test_create_refuses_bad_fields_naming_them(void **state)
{
    (void)state;
    const int V = PM_ERR_VALIDATION;
#define MI "\"money_info\":{\"method_id\":\"m\",\"currency\":\"USD\",\"amount\":1}"
#define RC "\"recipcient\":{\"recipcient_id\":\"bob\"}"
#define SD "\"sender\":{\"sender_id\":\"alice\"}"
#define IK "\"idempotency_token\":\"k\""
    s_bad(gw_payment_create_build, NULL, "{" IK "," MI "," RC "," SD ",\"foo\":1}", V,
          "unknown field foo");
    s_bad(gw_payment_create_build, NULL,
          "{" IK ",\"money_info\":{\"method_id\":\"m\",\"currency\":\"USD\",\"amount\":1,"
          "\"fee\":1}," RC "," SD "}",
          V, "unknown field money_info.fee");
    s_bad(gw_payment_create_build, NULL,
          "{" IK "," MI "," RC ",\"sender\":{\"sender_id\":\"a\",\"x\":1}}", V,
          "unknown field sender.x");
    s_bad(gw_payment_create_build, NULL,
          "{" IK "," MI ",\"recipcient\":{\"recipcient_id\":\"b\",\"name\":\"B\"}," SD "}", V,
          "unknown field recipcient.name");
    s_bad(gw_payment_create_build, NULL, "{" MI "," RC "," SD "}", V,
          "idempotency_token is required");
    s_bad(gw_payment_create_build, NULL, "{\"idempotency_token\":5," MI "," RC "," SD "}", V,
          "idempotency_token must be");
    s_bad(gw_payment_create_build, NULL, "{" IK "," RC "," SD "}", V, "money_info is required");
    s_bad(gw_payment_create_build, NULL, "{" IK ",\"money_info\":\"x\"," RC "," SD "}", V,
          "money_info must be an object");
    s_bad(gw_payment_create_build, NULL,
          "{" IK ",\"money_info\":{\"currency\":\"USD\",\"amount\":1}," RC "," SD "}", V,
          "money_info.method_id is required");
    s_bad(gw_payment_create_build, NULL,
          "{" IK ",\"money_info\":{\"method_id\":\"m\",\"currency\":\"USD\",\"amount\":1.001}," RC
          "," SD "}",
          V, "money_info.amount has more decimal places than the currency allows");
    s_bad(gw_payment_create_build, NULL,
          "{" IK ",\"money_info\":{\"method_id\":\"m\",\"currency\":\"XYZ\",\"amount\":1}," RC
          "," SD "}",
          V, "money_info.currency 'XYZ' is not a supported currency");
    s_bad(gw_payment_create_build, NULL, "{" IK "," MI "," SD "}", V, "recipcient is required");
    s_bad(gw_payment_create_build, NULL,
          "{" IK "," MI "," RC ",\"recipient\":{\"recipient_id\":\"c\"}," SD "}", V,
          "recipcient and recipient are the same field");
    s_bad(gw_payment_create_build, NULL,
          "{" IK "," MI ",\"recipcient\":{\"recipcient_id\":\"b\",\"recipient_id\":\"c\"}," SD "}",
          V, "recipcient.recipcient_id and recipcient.recipient_id are the same field");
    s_bad(gw_payment_create_build, NULL, "{" IK "," MI ",\"recipcient\":{}," SD "}", V,
          "recipcient.recipcient_id is required");
    s_bad(gw_payment_create_build, NULL, "{" IK "," MI ",\"recipient\":{}," SD "}", V,
          "recipient.recipcient_id is required");
    s_bad(gw_payment_create_build, NULL, "{" IK "," MI "," RC "}", V, "sender is required");
    s_bad(gw_payment_create_build, NULL, "{" IK "," MI "," RC ",\"sender\":{}}", V,
          "sender.sender_id is required");
    s_bad(gw_payment_create_build, NULL, "{" IK "," MI "," RC ",\"sender\":{\"sender_id\":true}}",
          V, "sender.sender_id must be a string");
    s_bad(gw_payment_create_build, NULL, "", V, "request body is empty");
    s_bad(gw_payment_create_build, NULL, "{" IK "," MI "," RC "," SD, V, "not valid JSON");
    s_bad(gw_payment_create_build, NULL, "[]", V, "must be a JSON object");
}

/* ---- get, cancel, edit, accept -------------------------------------------- */

static void test_get_takes_the_id_from_the_path_lower_cased(void **state)
{
    (void)state;
    gw_built_t r;
    assert_int_equal(s_run(gw_payment_get_build, "3D0C8D8E-5F0A-4A51-8D0B-2B0B5D2F1C3E", NULL, &r),
                     0);
    assert_int_equal(r.b.type, PM_MSG_PAYMENT_GET);
    assert_int_equal(r.body->via.map.size, 1);
    s_assert_str(r.body, "id", ID);
    gw_test_done(&r);
}

static void test_malformed_path_id_is_not_found(void **state)
{
    (void)state;
    const int NF = PM_ERR_NOT_FOUND;
    s_bad(gw_payment_get_build, "nope", NULL, NF, "payment nope not found");
    s_bad(gw_payment_get_build, ID "0", NULL, NF, "payment " ID "0 not found");
    s_bad(gw_payment_get_build, "a\"b<c>", NULL, NF, "payment a\"b<c> not found");
    char long_id[200];
    memset(long_id, 'x', 150);
    long_id[150] = '\0';
    gw_built_t r;
    assert_int_equal(s_run(gw_payment_get_build, long_id, NULL, &r), -1);
    char want[100];
    snprintf(want, sizeof want, "payment %.64s... not found", long_id);
    assert_string_equal(r.b.msg, want);
    gw_test_done(&r);
    /* The id is checked before the body, so a bad id with a bad body is 404. */
    s_bad(gw_payment_cancel_build, "nope", "{bad", NF, "payment nope not found");
    s_bad(gw_payment_edit_build, "nope", "", NF, "payment nope not found");
    s_bad(gw_payment_accept_build, "nope", "[]", NF, "payment nope not found");
}

static void test_cancel_reason_defaults_and_is_an_enum(void **state)
{
    (void)state;
    gw_built_t r;
    assert_int_equal(s_run(gw_payment_cancel_build, ID, "{\"idempotency_token\":\"k\"}", &r), 0);
    assert_int_equal(r.b.type, PM_MSG_PAYMENT_CANCEL);
    assert_int_equal(r.body->via.map.size, 3);
    s_assert_str(r.body, "idem", "k");
    s_assert_str(r.body, "id", ID);
    s_assert_str(r.body, "reason", "requested_by_sender");
    gw_test_done(&r);
    assert_int_equal(s_run(gw_payment_cancel_build, ID,
                           "{\"idempotency_token\":\"k\",\"reason\":\"fraudulent\"}", &r),
                     0);
    s_assert_str(r.body, "reason", "fraudulent");
    gw_test_done(&r);
    s_bad(gw_payment_cancel_build, ID, "{\"idempotency_token\":\"k\",\"reason\":\"bored\"}",
          PM_ERR_VALIDATION, "reason must be one of requested_by_sender, duplicate");
    s_bad(gw_payment_cancel_build, ID, "{\"idempotency_token\":\"k\",\"reason\":\"duplicatex\"}",
          PM_ERR_VALIDATION, "reason must be one of");
    s_bad(gw_payment_cancel_build, ID, "{\"idempotency_token\":\"k\",\"reason\":1}",
          PM_ERR_VALIDATION, "reason must be a string");
    s_bad(gw_payment_cancel_build, ID, "{\"idempotency_token\":\"k\",\"why\":\"x\"}",
          PM_ERR_VALIDATION, "unknown field why");
    s_bad(gw_payment_cancel_build, ID, "{}", PM_ERR_VALIDATION, "idempotency_token is required");
}

static void test_edit_needs_currency_and_amount_method_optional(void **state)
{
    (void)state;
    gw_built_t r;
    assert_int_equal(s_run(gw_payment_edit_build, ID,
                           "{\"idempotency_token\":\"k\",\"money_info\":{\"currency\":\"usd\","
                           "\"amount\":\"12.50\"}}",
                           &r),
                     0);
    assert_int_equal(r.b.type, PM_MSG_PAYMENT_EDIT);
    assert_int_equal(r.body->via.map.size, 5);
    s_assert_str(r.body, "idem", "k");
    s_assert_str(r.body, "id", ID);
    s_assert_str(r.body, "currency", "USD");
    assert_int_equal(s_int(r.body, "amount_minor"), 1250);
    s_assert_str(r.body, "recipient_method", NULL);
    gw_test_done(&r);
    assert_int_equal(s_run(gw_payment_edit_build, ID,
                           "{\"idempotency_token\":\"k\",\"money_info\":{\"method_id\":\"card-2\","
                           "\"currency\":\"IRR\",\"amount\":1000}}",
                           &r),
                     0);
    s_assert_str(r.body, "recipient_method", "card-2");
    assert_int_equal(s_int(r.body, "amount_minor"), 1000);
    gw_test_done(&r);
    s_bad(gw_payment_edit_build, ID, "{\"idempotency_token\":\"k\",\"money_info\":{\"amount\":1}}",
          PM_ERR_VALIDATION, "money_info.currency is required");
    s_bad(gw_payment_edit_build, ID,
          "{\"idempotency_token\":\"k\",\"money_info\":{\"currency\":\"USD\"}}", PM_ERR_VALIDATION,
          "money_info.amount is required");
    s_bad(gw_payment_edit_build, ID,
          "{\"idempotency_token\":\"k\",\"money_info\":{\"currency\":\"USD\",\"amount\":1},"
          "\"sender\":{}}",
          PM_ERR_VALIDATION, "unknown field sender");
}

static void test_accept_info_is_an_optional_small_object(void **state)
{
    (void)state;
    gw_built_t r;
    assert_int_equal(s_run(gw_payment_accept_build, ID, "{\"idempotency_token\":\"k\"}", &r), 0);
    assert_int_equal(r.b.type, PM_MSG_PAYMENT_ACCEPT);
    assert_int_equal(r.body->via.map.size, 3);
    s_assert_str(r.body, "id", ID);
    s_assert_str(r.body, "accept_info", NULL);
    gw_test_done(&r);
    assert_int_equal(s_run(gw_payment_accept_build, ID,
                           "{\"idempotency_token\":\"k\", \"accept_info\": {\"note\": \"ok/1\", "
                           "\"n\": 1.50}}",
                           &r),
                     0);
    s_assert_str(r.body, "accept_info", "{\"note\":\"ok/1\",\"n\":1.50}");
    gw_test_done(&r);
    s_bad(gw_payment_accept_build, ID, "{\"idempotency_token\":\"k\",\"accept_info\":[1]}",
          PM_ERR_VALIDATION, "accept_info must be an object");
    char big[6000];
    int n = snprintf(big, sizeof big, "{\"idempotency_token\":\"k\",\"accept_info\":{\"x\":\"");
    memset(big + n, 'a', 4100);
    strcpy(big + n + 4100, "\"}}");
    s_bad(gw_payment_accept_build, ID, big, PM_ERR_VALIDATION, "accept_info is larger than 4096");
}

/* ---- replies ------------------------------------------------------------ */

/* A reply {"err", "payment", and `extra` more keys the caller packs}. */
static void s_pack_payment_with(msgpack_sbuffer *buf, const char *currency, int64_t amount,
                                const char *status, uint32_t extra)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2 + extra);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, 0);
    pm_mp_pack_cstr(&pk, "payment");
    msgpack_pack_map(&pk, 11);
    pm_mp_pack_cstr(&pk, "id");
    pm_mp_pack_cstr(&pk, ID);
    pm_mp_pack_cstr(&pk, "sender_id");
    pm_mp_pack_cstr(&pk, "alice");
    pm_mp_pack_cstr(&pk, "sender_method");
    msgpack_pack_nil(&pk);
    pm_mp_pack_cstr(&pk, "recipient_id");
    pm_mp_pack_cstr(&pk, "bob");
    pm_mp_pack_cstr(&pk, "recipient_method");
    pm_mp_pack_cstr(&pk, "card-1");
    pm_mp_pack_cstr(&pk, "currency");
    pm_mp_pack_cstr(&pk, currency);
    pm_mp_pack_cstr(&pk, "amount_minor");
    msgpack_pack_int64(&pk, amount);
    pm_mp_pack_cstr(&pk, "status");
    pm_mp_pack_cstr(&pk, status);
    pm_mp_pack_cstr(&pk, "cancel_reason");
    if (strcmp(status, "cancelled") == 0)
        pm_mp_pack_cstr(&pk, "duplicate");
    else
        msgpack_pack_nil(&pk);
    pm_mp_pack_cstr(&pk, "created_ms");
    msgpack_pack_int64(&pk, 1795420800123LL);
    pm_mp_pack_cstr(&pk, "updated_ms");
    msgpack_pack_int64(&pk, 1795420801000LL);
}

static void s_pack_payment(msgpack_sbuffer *buf, const char *currency, int64_t amount,
                           const char *status)
{
    s_pack_payment_with(buf, currency, amount, status, 0);
}

static void s_render(gw_render_fn fn, const msgpack_sbuffer *buf, int status, const char *want)
{
    gw_response_t r = {0};
    assert_int_equal(gw_reply_render(fn, buf->data, buf->size, &r), 0);
    assert_int_equal(r.status, status);
    assert_string_equal(r.json, want);
    assert_int_equal(r.len, strlen(want));
    gw_response_clear(&r);
}

static void test_retrieve_renders_the_seed_shape_with_exact_amount(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack_payment(&buf, "BTC", 100000000, "created");
    const char *want = "{\"payment\":{\"transaction_id\":\"" ID "\","
                       "\"sender\":{\"user_id\":\"alice\",\"method_id\":null},"
                       "\"recipcient\":{\"user_id\":\"bob\",\"method_id\":\"card-1\"},"
                       "\"currency\":\"BTC\",\"amount\":1.00000000,\"status\":\"created\","
                       "\"cancel_reason\":null,\"created_at\":\"2026-11-23T08:00:00.123Z\","
                       "\"updated_at\":\"2026-11-23T08:00:01.000Z\"}}";
    s_render(gw_payment_retrieve_render, &buf, 200, want);
    s_render(gw_payment_retrieve_render, &buf, 200, want); /* same bytes, same JSON */
    msgpack_sbuffer_clear(&buf);
    s_pack_payment(&buf, "USD", 110, "cancelled");
    gw_response_t r = {0};
    assert_int_equal(gw_reply_render(gw_payment_retrieve_render, buf.data, buf.size, &r), 0);
    assert_non_null(strstr(r.json, "\"currency\":\"USD\",\"amount\":1.10,\"status\":\"cancelled\","
                                   "\"cancel_reason\":\"duplicate\""));
    gw_response_clear(&r);
    msgpack_sbuffer_destroy(&buf);
}

static void test_retrieve_renders_the_bank_leg(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack_payment_with(&buf, "TMT", 1750, "bank_processing", 1);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    pm_mp_pack_cstr(&pk, "bank");
    msgpack_pack_map(&pk, 6);
    pm_mp_pack_cstr(&pk, "name");
    pm_mp_pack_cstr(&pk, "halkbank");
    pm_mp_pack_cstr(&pk, "reg_no");
    pm_mp_pack_cstr(&pk, "P-AaIzvc8Tfm6-BC4if4kk8A");
    pm_mp_pack_cstr(&pk, "order_id");
    pm_mp_pack_cstr(&pk, "o-1");
    pm_mp_pack_cstr(&pk, "payment_url");
    pm_mp_pack_cstr(&pk, "http://127.0.0.1:8090/pay?mdOrder=o-1");
    pm_mp_pack_cstr(&pk, "state");
    pm_mp_pack_cstr(&pk, "registered");
    pm_mp_pack_cstr(&pk, "registrations");
    msgpack_pack_int(&pk, 1);
    gw_response_t r = {0};
    assert_int_equal(gw_reply_render(gw_payment_retrieve_render, buf.data, buf.size, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.json, "\"status\":\"bank_processing\""));
    assert_non_null(strstr(r.json, "\"bank\":{\"name\":\"halkbank\",\"order_id\":\"o-1\","
                                   "\"payment_url\":\"http://127.0.0.1:8090/pay?mdOrder=o-1\","
                                   "\"state\":\"registered\"}}}"));
    gw_response_clear(&r);
    /* Not registered yet: order_id and payment_url are null. */
    msgpack_sbuffer_clear(&buf);
    s_pack_payment_with(&buf, "TMT", 1750, "bank_processing", 1);
    pm_mp_pack_cstr(&pk, "bank");
    msgpack_pack_map(&pk, 4);
    pm_mp_pack_cstr(&pk, "name");
    pm_mp_pack_cstr(&pk, "foreign_affairs_bank");
    pm_mp_pack_cstr(&pk, "order_id");
    msgpack_pack_nil(&pk);
    pm_mp_pack_cstr(&pk, "payment_url");
    msgpack_pack_nil(&pk);
    pm_mp_pack_cstr(&pk, "state");
    msgpack_pack_nil(&pk);
    assert_int_equal(gw_reply_render(gw_payment_retrieve_render, buf.data, buf.size, &r), 0);
    assert_non_null(strstr(r.json, "\"bank\":{\"name\":\"foreign_affairs_bank\",\"order_id\":null,"
                                   "\"payment_url\":null,\"state\":null}"));
    gw_response_clear(&r);
    /* A bank map without its name is a malformed reply. */
    msgpack_sbuffer_clear(&buf);
    s_pack_payment_with(&buf, "TMT", 1750, "bank_processing", 1);
    pm_mp_pack_cstr(&pk, "bank");
    msgpack_pack_map(&pk, 1);
    pm_mp_pack_cstr(&pk, "state");
    pm_mp_pack_cstr(&pk, "paid");
    assert_int_equal(gw_reply_render(gw_payment_retrieve_render, buf.data, buf.size, &r), 0);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.json, "malformed reply"));
    gw_response_clear(&r);
    msgpack_sbuffer_destroy(&buf);
}

static void test_create_status_and_action_render(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack_payment(&buf, "USD", 1250, "accepted");
    s_render(gw_payment_create_render, &buf, 200, "{\"transaction_id\":\"" ID "\"}");
    s_render(gw_payment_status_render, &buf, 200, "{\"payment_status\":\"accepted\"}");
    s_render(gw_payment_action_render, &buf, 200,
             "{\"transaction_id\":\"" ID "\",\"payment_status\":\"accepted\"}");
    msgpack_sbuffer_destroy(&buf);
}

static void s_pack_error(msgpack_sbuffer *buf, int err, const char *msg, size_t msg_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, msg ? 2 : 1);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, err);
    if (msg) {
        pm_mp_pack_cstr(&pk, "msg");
        pm_mp_pack_strn(&pk, msg, msg_len);
    }
}

static void test_core_errors_become_code_and_message(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack_error(&buf, PM_ERR_ACCESS, "only the sender may cancel", 26);
    s_render(gw_payment_action_render, &buf, 403,
             "{\"code\":\"acces_error\",\"message\":\"only the sender may cancel\"}");
    assert_int_equal(gw_reply_err(buf.data, buf.size), PM_ERR_ACCESS);
    msgpack_sbuffer_clear(&buf);
    s_pack_error(&buf, PM_ERR_NOT_FOUND, "payment " ID " not found", strlen(ID) + 18);
    s_render(gw_payment_retrieve_render, &buf, 404,
             "{\"code\":\"not_found\",\"message\":\"payment " ID " not found\"}");
    msgpack_sbuffer_clear(&buf);
    s_pack_error(&buf, PM_ERR_IDEMPOTENCY, NULL, 0);
    s_render(gw_payment_create_render, &buf, 422,
             "{\"code\":\"idempotency_error\",\"message\":\"idempotency_error\"}");
    msgpack_sbuffer_clear(&buf);
    s_pack_error(&buf, PM_ERR_CONFLICT, "in flight", 9);
    s_render(gw_payment_create_render, &buf, 409,
             "{\"code\":\"conflict\",\"message\":\"in flight\"}");
    msgpack_sbuffer_clear(&buf);
    s_pack_error(&buf, PM_ERR_UNAUTHORIZED, "unknown API token", 17);
    s_render(NULL, &buf, 401, "{\"code\":\"unauthorized\",\"message\":\"unknown API token\"}");
    assert_int_equal(gw_reply_err(buf.data, buf.size), PM_ERR_UNAUTHORIZED);
    msgpack_sbuffer_clear(&buf);
    s_pack_error(&buf, PM_ERR_VALIDATION, "bad \xff byte", 10);
    s_render(NULL, &buf, 400, "{\"code\":\"validation_error\",\"message\":\"bad ? byte\"}");
    msgpack_sbuffer_destroy(&buf);
}

static void test_malformed_replies_are_internal_errors(void **state)
{
    (void)state;
    const char *want =
        "{\"code\":\"internal_error\",\"message\":\"payment-core sent a malformed reply\"}";
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack_error(&buf, 99, "?", 1); /* not a pm_err_t */
    s_render(gw_payment_create_render, &buf, 500, want);
    assert_int_equal(gw_reply_err(buf.data, buf.size), PM_ERR_INTERNAL);
    msgpack_sbuffer_clear(&buf);
    s_pack_error(&buf, PM_OK, NULL, 0); /* success without a payment */
    s_render(gw_payment_create_render, &buf, 500, want);
    assert_int_equal(gw_reply_err(buf.data, buf.size), PM_OK);
    s_render(NULL, &buf, 500, want);
    msgpack_sbuffer_clear(&buf);
    s_pack_payment(&buf, "XXX", 1, "created"); /* unknown currency */
    s_render(gw_payment_retrieve_render, &buf, 500, want);
    msgpack_sbuffer_clear(&buf);
    s_pack_payment(&buf, "USD", -5, "created"); /* negative amount */
    s_render(gw_payment_retrieve_render, &buf, 500, want);
    s_render(gw_payment_create_render, &buf, 200, "{\"transaction_id\":\"" ID "\"}");
    /* Truncated and trailing bytes. */
    s_render(gw_payment_create_render, &(msgpack_sbuffer){buf.size - 1, buf.data, buf.alloc}, 500,
             want);
    msgpack_sbuffer_write(&buf, "\xc0", 1);
    s_render(gw_payment_create_render, &buf, 500, want);
    s_render(gw_payment_create_render, &(msgpack_sbuffer){0, NULL, 0}, 500, want);
    msgpack_sbuffer_destroy(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_seed_body_becomes_payment_create),
        cmocka_unit_test(test_create_accepts_recipient_aliases_and_sender_method),
        cmocka_unit_test(test_create_refuses_bad_fields_naming_them),
        cmocka_unit_test(test_get_takes_the_id_from_the_path_lower_cased),
        cmocka_unit_test(test_malformed_path_id_is_not_found),
        cmocka_unit_test(test_cancel_reason_defaults_and_is_an_enum),
        cmocka_unit_test(test_edit_needs_currency_and_amount_method_optional),
        cmocka_unit_test(test_accept_info_is_an_optional_small_object),
        cmocka_unit_test(test_retrieve_renders_the_seed_shape_with_exact_amount),
        cmocka_unit_test(test_retrieve_renders_the_bank_leg),
        cmocka_unit_test(test_create_status_and_action_render),
        cmocka_unit_test(test_core_errors_become_code_and_message),
        cmocka_unit_test(test_malformed_replies_are_internal_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
