/*  Unit tests of pm_envelope: round trip and strict rejection of bad frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pm_envelope.h"
#include "pm_err.h"

#define MAX_BYTES 65536

/* A request header + body {"id": "abc", "n": -5} in buf. */
static void s_sample(msgpack_sbuffer *buf, pm_header_t *h)
{
    memset(h, 0, sizeof *h);
    h->type = PM_MSG_PAYMENT_GET;
    h->corr_id = 0x1234567890abcdefULL;
    h->deadline_ms = 1700000000123;
    strcpy(h->principal, "alice");
    h->has_auth = true;
    memset(h->auth, 0xab, PM_AUTH_LEN);
    strcpy(h->trace_id, "trace-1");
    pm_envelope_pack_header(buf, h);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "id");
    pm_mp_pack_cstr(&pk, "abc");
    pm_mp_pack_cstr(&pk, "n");
    msgpack_pack_int64(&pk, -5);
}

static pm_envelope_t *s_decode(const void *data, size_t size, bool *header_ok, char *err)
{
    pm_header_t partial;
    return pm_envelope_decode(data, size, MAX_BYTES, &partial, header_ok, err, 128);
}

static void test_round_trip_keeps_every_header_field_and_body(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_header_t in;
    s_sample(&buf, &in);
    bool header_ok = false;
    char err[128];
    pm_envelope_t *env = s_decode(buf.data, buf.size, &header_ok, err);
    assert_non_null(env);
    const pm_header_t *h = pm_envelope_header(env);
    assert_int_equal(h->version, PM_PROTO_VERSION);
    assert_int_equal(h->type, PM_MSG_PAYMENT_GET);
    assert_true(h->corr_id == 0x1234567890abcdefULL);
    assert_true(h->deadline_ms == 1700000000123);
    assert_string_equal(h->principal, "alice");
    assert_true(h->has_auth);
    assert_memory_equal(h->auth, in.auth, PM_AUTH_LEN);
    assert_string_equal(h->trace_id, "trace-1");

    const msgpack_object *body = pm_envelope_body(env);
    char id[8];
    assert_int_equal(pm_mp_copy_str(body, "id", id, sizeof id), 0);
    assert_string_equal(id, "abc");
    int64_t n = 0;
    assert_int_equal(pm_mp_get_int(body, "n", &n), 0);
    assert_int_equal(n, -5);
    assert_int_equal(pm_mp_get_int(body, "id", &n), -1);
    assert_int_equal(pm_mp_copy_str(body, "missing", id, sizeof id), -1);
    assert_int_equal(pm_mp_copy_str(body, "id", id, 3), -1); /* "abc" needs 4 bytes */

    /* The raw body bytes are the tail of the frame. */
    size_t bsize = 0;
    const char *bytes = pm_envelope_body_bytes(env, &bsize);
    assert_true(bsize > 0 && bsize < buf.size);
    assert_memory_equal(bytes, buf.data + buf.size - bsize, bsize);
    pm_envelope_destroy(&env);
    assert_null(env);
    pm_envelope_destroy(&env); /* safe twice */
    msgpack_sbuffer_destroy(&buf);
}

static void test_every_truncation_is_rejected_without_crash(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_header_t in;
    s_sample(&buf, &in);
    for (size_t len = 0; len < buf.size; len++) {
        bool header_ok = false;
        char err[128];
        /* A copy of exactly len bytes, so ASan sees any read past the end. */
        char *copy = malloc(len ? len : 1);
        memcpy(copy, buf.data, len);
        pm_envelope_t *env = s_decode(copy, len, &header_ok, err);
        assert_null(env);
        assert_true(err[0] != '\0');
        free(copy);
    }
    msgpack_sbuffer_destroy(&buf);
}

static void test_every_single_byte_corruption_is_handled(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_header_t in;
    s_sample(&buf, &in);
    for (size_t i = 0; i < buf.size; i++) {
        static const unsigned char values[] = {0x00, 0xc1, 0xdd, 0xdf, 0xff, 0x7f, 0xa0, 0xc0};
        for (size_t v = 0; v < sizeof values; v++) {
            char *copy = malloc(buf.size);
            memcpy(copy, buf.data, buf.size);
            copy[i] = (char)values[v];
            bool header_ok = false;
            char err[128];
            pm_envelope_t *env = s_decode(copy, buf.size, &header_ok, err);
            if (env) {
                /* Accepted corruptions still yield a well-formed header. */
                assert_true(header_ok);
                assert_int_equal(pm_envelope_header(env)->version, PM_PROTO_VERSION);
                pm_envelope_destroy(&env);
            }
            free(copy);
        }
    }
    msgpack_sbuffer_destroy(&buf);
}

static void test_trailing_bytes_and_wrong_version_rejected(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_header_t in;
    s_sample(&buf, &in);
    msgpack_sbuffer_write(&buf, "\xc0", 1);
    bool header_ok = false;
    char err[128];
    assert_null(s_decode(buf.data, buf.size, &header_ok, err));
    assert_true(header_ok); /* the header was fine: the peer can be told */
    assert_string_equal(err, "trailing bytes after body");

    /* version 2 */
    msgpack_sbuffer_clear(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, PM_HEADER_FIELDS);
    msgpack_pack_uint32(&pk, 2);
    for (int i = 1; i < PM_HEADER_FIELDS; i++)
        msgpack_pack_nil(&pk);
    msgpack_pack_map(&pk, 0);
    assert_null(s_decode(buf.data, buf.size, &header_ok, err));
    assert_false(header_ok);
    msgpack_sbuffer_destroy(&buf);
}

static void test_oversized_frame_rejected_before_parsing(void **state)
{
    (void)state;
    char big[MAX_BYTES + 1];
    memset(big, 0x90, sizeof big);
    bool header_ok = true;
    char err[128];
    assert_null(s_decode(big, sizeof big, &header_ok, err));
    assert_false(header_ok);
    assert_non_null(strstr(err, "exceeds"));
}

static void test_long_principal_and_non_map_body_rejected(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    char principal[PM_PRINCIPAL_MAX + 2];
    memset(principal, 'p', sizeof principal - 1);
    principal[sizeof principal - 1] = '\0';
    msgpack_pack_array(&pk, PM_HEADER_FIELDS);
    msgpack_pack_uint32(&pk, PM_PROTO_VERSION);
    msgpack_pack_uint32(&pk, PM_MSG_PING);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_int64(&pk, 0);
    pm_mp_pack_cstr(&pk, principal);
    msgpack_pack_nil(&pk);
    pm_mp_pack_cstr(&pk, "t");
    msgpack_pack_map(&pk, 0);
    bool header_ok = true;
    char err[128];
    assert_null(s_decode(buf.data, buf.size, &header_ok, err));
    assert_string_equal(err, "bad principal");

    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = PM_MSG_PING;
    msgpack_sbuffer_clear(&buf);
    pm_envelope_pack_header(&buf, &h);
    msgpack_pack_array(&pk, 0);
    assert_null(s_decode(buf.data, buf.size, &header_ok, err));
    assert_true(header_ok);
    assert_string_equal(err, "body is not a map");
    msgpack_sbuffer_destroy(&buf);
}

static void test_error_reply_carries_code_message_and_correlation(void **state)
{
    (void)state;
    pm_header_t req;
    memset(&req, 0, sizeof req);
    req.type = PM_MSG_PAYMENT_CREATE;
    req.corr_id = 77;
    strcpy(req.trace_id, "t-77");
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_envelope_error_reply(&buf, &req, PM_ERR_NOT_FOUND, "payment %s not found", "x");
    bool header_ok = false;
    char err[128];
    pm_envelope_t *env = s_decode(buf.data, buf.size, &header_ok, err);
    assert_non_null(env);
    assert_int_equal(pm_envelope_header(env)->type, PM_MSG_REPLY);
    assert_int_equal(pm_envelope_header(env)->corr_id, 77);
    assert_string_equal(pm_envelope_header(env)->trace_id, "t-77");
    int64_t code = -1;
    assert_int_equal(pm_mp_get_int(pm_envelope_body(env), "err", &code), 0);
    assert_int_equal(code, PM_ERR_NOT_FOUND);
    char msg[64];
    assert_int_equal(pm_mp_copy_str(pm_envelope_body(env), "msg", msg, sizeof msg), 0);
    assert_string_equal(msg, "payment x not found");
    pm_envelope_destroy(&env);
    msgpack_sbuffer_destroy(&buf);
}

static void test_error_codes_map_to_http(void **state)
{
    (void)state;
    assert_string_equal(pm_err_code(PM_ERR_ACCESS), "acces_error");
    assert_int_equal(pm_err_http_status(PM_ERR_ACCESS), 403);
    assert_int_equal(pm_err_http_status(PM_ERR_CONFLICT), 409);
    assert_int_equal(pm_err_http_status(PM_ERR_IDEMPOTENCY), 422);
    assert_int_equal(pm_err_http_status(PM_ERR_UNAVAILABLE), 503);
    assert_string_equal(pm_err_code(999), "internal_error");
    assert_int_equal(pm_err_http_status(-1), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_keeps_every_header_field_and_body),
        cmocka_unit_test(test_every_truncation_is_rejected_without_crash),
        cmocka_unit_test(test_every_single_byte_corruption_is_handled),
        cmocka_unit_test(test_trailing_bytes_and_wrong_version_rejected),
        cmocka_unit_test(test_oversized_frame_rejected_before_parsing),
        cmocka_unit_test(test_long_principal_and_non_map_body_rejected),
        cmocka_unit_test(test_error_reply_carries_code_message_and_correlation),
        cmocka_unit_test(test_error_codes_map_to_http),
    };
    return cmocka_run_group_tests_name("common_envelope", tests, NULL, NULL);
}
