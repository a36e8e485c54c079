/*  Unit tests of payment-core's payment module: the state machine (every
 *  status x action pair), the storage codec (round trip, rejection of
 *  truncated and garbled records) and load/save against a real LMDB store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../payment-core/payment.h"
#include "pm_envelope.h"
#include "pm_ids.h"
#include "pm_log.h"
#include "../../payment-core/db.h"

/* ---- fixtures -------------------------------------------------------------- */

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

typedef struct {
    char dir[64];
    db_t *db;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    strcpy(fx->dir, "/tmp/pm-test-payment-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->db = db_open(fx->dir, 16);
    assert_non_null(fx->db);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    db_destroy(&fx->db);
    nftw(fx->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static payment_t s_sample(void)
{
    payment_t p;
    memset(&p, 0, sizeof p);
    strcpy(p.id, "3d0c8d8e-5f0a-4a51-8d0b-2b0b5d2f1c3e");
    strcpy(p.sender_id, "alice");
    strcpy(p.sender_method, "card-9");
    strcpy(p.recipient_id, "bob");
    strcpy(p.recipient_method, "card-1");
    strcpy(p.currency, "BTC");
    p.amount_minor = 100000000;
    p.status = PAYMENT_CANCELLED;
    strcpy(p.cancel_reason, "duplicate");
    strcpy(p.accept_info, "{\"note\":\"ok\"}");
    p.created_ms = 1700000000000;
    p.updated_ms = 1700000000500;
    return p;
}

/* ---- the state machine ------------------------------------------------------ */

/* The whole table: the status each action leads to, or -1 when refused. */
static const int s_expected[PAYMENT_STATUS__COUNT][PAYMENT_ACTION__COUNT] = {
    /*                            accept              cancel              edit */
    [PAYMENT_CREATED] = {PAYMENT_ACCEPTED, PAYMENT_CANCELLED, PAYMENT_CREATED},
    [PAYMENT_ACCEPTED] = {-1, PAYMENT_CANCELLED, PAYMENT_CREATED},
    [PAYMENT_BANK_PROCESSING] = {-1, -1, -1},
    [PAYMENT_SUCCEEDED] = {-1, -1, -1},
    [PAYMENT_FAILED] = {-1, -1, -1},
    [PAYMENT_CANCELLED] = {-1, -1, -1},
};

static void test_every_status_and_action_pair_follows_the_documented_table(void **state)
{
    (void)state;
    for (int s = 0; s < PAYMENT_STATUS__COUNT; s++)
        for (int a = 0; a < PAYMENT_ACTION__COUNT; a++) {
            payment_status_t to = (payment_status_t)99;
            bool ok = payment_transition((payment_status_t)s, (payment_action_t)a, &to);
            if (s_expected[s][a] < 0) {
                if (ok)
                    fail_msg("%s may not %s", payment_status_name(s), payment_action_name(a));
                assert_int_equal(to, 99); /* untouched when refused */
            } else {
                if (!ok)
                    fail_msg("%s must allow %s", payment_status_name(s), payment_action_name(a));
                assert_int_equal(to, s_expected[s][a]);
            }
        }
}

static void test_status_names_are_the_public_api_names(void **state)
{
    (void)state;
    const char *names[] = {"created",   "accepted", "bank_processing",
                           "succeeded", "failed",   "cancelled"};
    for (int s = 0; s < PAYMENT_STATUS__COUNT; s++)
        assert_string_equal(payment_status_name(s), names[s]);
    assert_string_equal(payment_status_name(PAYMENT_STATUS__COUNT), "unknown");
}

static void test_only_the_documented_cancel_reasons_are_valid(void **state)
{
    (void)state;
    const char *good[] = {"requested_by_sender", "duplicate", "fraudulent", "abandoned", "other"};
    for (size_t i = 0; i < 5; i++)
        assert_true(payment_reason_valid(good[i], strlen(good[i])));
    assert_false(payment_reason_valid("dup", 3));
    assert_false(payment_reason_valid("duplicates", 10));
    assert_false(payment_reason_valid("", 0));
}

/* ---- the codec ---------------------------------------------------------------- */

static void test_record_survives_encode_then_decode(void **state)
{
    (void)state;
    payment_t in = s_sample(), out;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    payment_encode(&in, &buf);
    const char *why = "unset";
    assert_int_equal(payment_decode(buf.data, buf.size, &out, &why), 0);
    assert_memory_equal(&in, &out, sizeof in);

    /* Optional fields absent: they travel as nil and come back as "". */
    memset(in.sender_method, 0, sizeof in.sender_method);
    memset(in.cancel_reason, 0, sizeof in.cancel_reason);
    memset(in.accept_info, 0, sizeof in.accept_info);
    in.status = PAYMENT_CREATED;
    msgpack_sbuffer_clear(&buf);
    payment_encode(&in, &buf);
    assert_int_equal(payment_decode(buf.data, buf.size, &out, &why), 0);
    assert_memory_equal(&in, &out, sizeof in);
    msgpack_sbuffer_destroy(&buf);
}

static void test_every_truncation_of_a_record_is_rejected(void **state)
{
    (void)state;
    payment_t in = s_sample(), out;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    payment_encode(&in, &buf);
    for (size_t len = 0; len < buf.size; len++) {
        const char *why = NULL;
        if (payment_decode(buf.data, len, &out, &why) == 0)
            fail_msg("a record cut to %zu of %zu bytes decoded", len, buf.size);
        assert_non_null(why);
    }
    /* And one byte too many. */
    msgpack_sbuffer_write(&buf, "\xc0", 1);
    const char *why = NULL;
    assert_int_equal(payment_decode(buf.data, buf.size, &out, &why), -1);
    assert_string_equal(why, "trailing bytes");
    msgpack_sbuffer_destroy(&buf);
}

/* Encodes the sample with one field replaced by mutate(). */
typedef void(mutate_fn)(msgpack_packer *pk, int field);

static void s_encode_mutated(msgpack_sbuffer *buf, int target, mutate_fn *mutate)
{
    payment_t p = s_sample();
    msgpack_sbuffer tmp;
    msgpack_sbuffer_init(&tmp);
    payment_encode(&p, &tmp);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, tmp.data, tmp.size, NULL), MSGPACK_UNPACK_SUCCESS);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, u.data.via.array.size);
    for (uint32_t i = 0; i < u.data.via.array.size; i++)
        if ((int)i == target)
            mutate(&pk, target);
        else
            msgpack_pack_object(&pk, u.data.via.array.ptr[i]);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&tmp);
}

static void s_put_int_99(msgpack_packer *pk, int field)
{
    (void)field;
    msgpack_pack_int(pk, 99);
}
static void s_put_negative(msgpack_packer *pk, int field)
{
    (void)field;
    msgpack_pack_int(pk, -5);
}
static void s_put_str(msgpack_packer *pk, int field)
{
    (void)field;
    pm_mp_pack_cstr(pk, "XYZ");
}
static void s_put_nil(msgpack_packer *pk, int field)
{
    (void)field;
    msgpack_pack_nil(pk);
}
static void s_put_long_str(msgpack_packer *pk, int field)
{
    (void)field;
    char s[200];
    memset(s, 'a', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    pm_mp_pack_cstr(pk, s);
}

static void test_garbled_fields_are_rejected_with_a_reason(void **state)
{
    (void)state;
    struct {
        int field;
        mutate_fn *mutate;
        const char *why;
    } cases[] = {
        {0, s_put_int_99, "unknown record version"},
        {1, s_put_str, "bad id"},
        {2, s_put_long_str, "bad party field"},
        {4, s_put_nil, "bad party field"},
        {5, s_put_int_99, "bad party field"},
        {6, s_put_str, "bad currency"},
        {7, s_put_negative, "bad amount"},
        {7, s_put_str, "bad amount"},
        {8, s_put_int_99, "bad status"},
        {8, s_put_negative, "bad status"},
        {9, s_put_str, "bad cancel reason"},
        {10, s_put_int_99, "bad accept info"},
        {11, s_put_str, "bad timestamps"},
        {12, s_put_negative, "bad timestamps"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        s_encode_mutated(&buf, cases[i].field, cases[i].mutate);
        payment_t out;
        const char *why = NULL;
        if (payment_decode(buf.data, buf.size, &out, &why) == 0)
            fail_msg("case %zu (field %d) decoded", i, cases[i].field);
        assert_string_equal(why, cases[i].why);
        msgpack_sbuffer_destroy(&buf);
    }
    /* Not an array at all; an array of the wrong arity. */
    payment_t out;
    const char *why = NULL;
    assert_int_equal(payment_decode("\x81\xa1k\x01", 4, &out, &why), -1);
    assert_int_equal(payment_decode("\x92\x01\x02", 3, &out, &why), -1);
}

static void test_flipping_any_bit_of_a_record_never_crashes_the_decoder(void **state)
{
    (void)state;
    payment_t in = s_sample(), out;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    payment_encode(&in, &buf);
    size_t decoded = 0, rejected = 0;
    for (size_t i = 0; i < buf.size; i++)
        for (int bit = 0; bit < 8; bit++) {
            buf.data[i] ^= (char)(1 << bit);
            const char *why = NULL;
            if (payment_decode(buf.data, buf.size, &out, &why) == 0)
                decoded++;
            else {
                assert_non_null(why);
                rejected++;
            }
            buf.data[i] ^= (char)(1 << bit);
        }
    /* A flip inside a name can leave a valid record; one in the structure,
     * the version, a type tag or a length cannot. */
    assert_true(decoded > 0);
    assert_true(rejected > 13 * 8);
    msgpack_sbuffer_destroy(&buf);
}

static void test_reply_map_has_the_protocol_fields_and_status_as_text(void **state)
{
    (void)state;
    payment_t p = s_sample();
    p.sender_method[0] = '\0';
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    payment_pack(&pk, &p);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *m = &u.data;
    assert_int_equal(m->via.map.size, 11);
    char s[64];
    assert_int_equal(pm_mp_copy_str(m, "id", s, sizeof s), 0);
    assert_string_equal(s, p.id);
    assert_int_equal(pm_mp_copy_str(m, "status", s, sizeof s), 0);
    assert_string_equal(s, "cancelled");
    assert_int_equal(pm_mp_get(m, "sender_method")->type, MSGPACK_OBJECT_NIL);
    assert_int_equal(pm_mp_copy_str(m, "cancel_reason", s, sizeof s), 0);
    assert_string_equal(s, "duplicate");
    int64_t v;
    assert_int_equal(pm_mp_get_int(m, "amount_minor", &v), 0);
    assert_int_equal(v, 100000000);
    assert_int_equal(pm_mp_get_int(m, "created_ms", &v), 0);
    assert_int_equal(pm_mp_get_int(m, "updated_ms", &v), 0);
    assert_null(pm_mp_get(m, "accept_info"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
}

/* ---- load and save -------------------------------------------------------- */

static void test_saved_payment_loads_back_after_commit(void **state)
{
    fixture_t *fx = *state;
    payment_t p = s_sample(), out;
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(payment_save(fx->db, txn, &p), 0);
    assert_int_equal(db_commit(fx->db, txn), 0);
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(payment_load(fx->db, txn, p.id, &out), 0);
    assert_memory_equal(&p, &out, sizeof p);
    assert_int_equal(payment_load(fx->db, txn, "00000000-0000-4000-8000-000000000000", &out),
                     MDB_NOTFOUND);
    db_abort(&txn);
}

static void test_corrupt_stored_record_loads_as_corruption_not_a_crash(void **state)
{
    fixture_t *fx = *state;
    payment_t p = s_sample(), out;
    const char *other = "11111111-1111-4111-8111-111111111111";
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(db_put(fx->db, txn, DB_PAYMENTS, p.id, PM_UUID_LEN, "\x93garbage", 8, 0), 0);
    /* A valid record stored under another id is corruption too. */
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    payment_encode(&p, &buf);
    assert_int_equal(db_put(fx->db, txn, DB_PAYMENTS, other, PM_UUID_LEN, buf.data, buf.size, 0),
                     0);
    msgpack_sbuffer_destroy(&buf);
    assert_int_equal(payment_load(fx->db, txn, p.id, &out), DB_ECORRUPT);
    assert_int_equal(payment_load(fx->db, txn, other, &out), DB_ECORRUPT);
    db_abort(&txn);
}

int main(void)
{
    /* Quiet: the failure paths log errors on purpose. PM_TEST_LOG=1 shows them. */
    pm_log_init("test_core_payment", getenv("PM_TEST_LOG") ? PM_LOG_DEBUG : -1);
    pm_ids_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_status_and_action_pair_follows_the_documented_table),
        cmocka_unit_test(test_status_names_are_the_public_api_names),
        cmocka_unit_test(test_only_the_documented_cancel_reasons_are_valid),
        cmocka_unit_test(test_record_survives_encode_then_decode),
        cmocka_unit_test(test_every_truncation_of_a_record_is_rejected),
        cmocka_unit_test(test_garbled_fields_are_rejected_with_a_reason),
        cmocka_unit_test(test_flipping_any_bit_of_a_record_never_crashes_the_decoder),
        cmocka_unit_test(test_reply_map_has_the_protocol_fields_and_status_as_text),
        cmocka_unit_test_setup_teardown(test_saved_payment_loads_back_after_commit, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_stored_record_loads_as_corruption_not_a_crash,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
