/*  Unit tests of retry-worker's ITEM decoding: a whole item read back field
 *  by field, with a checkout's ctx and with a bank order's; every field the
 *  policy reads refused when missing, nil (where nil is not allowed), of the
 *  wrong type or out of range, with *identified saying whether it can still
 *  be parked; the lenient fields (reason, the item's times) taken when
 *  absent and cut or cleaned when odd; and every truncation and many
 *  single-byte corruptions of a valid item decoded without a crash (run
 *  under ASan by make test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../retry-worker/rw_item.h"
#include "pm_envelope.h"

/* How s_pack treats one field named by `field` ("ctx.phase" for one of the
 * ctx): left out, nil, an array (a wrong type), or the raw msgpack given. */
typedef enum { S_AS_IS, S_OMIT, S_NIL, S_WRONG, S_RAW } s_mode_t;

typedef struct {
    const char *field;
    s_mode_t mode;
    const char *raw; /* S_RAW: msgpack bytes */
    size_t raw_len;
    const char *kind; /* the item's kind, default bazaarpay_commit */
} s_spec_t;

typedef struct {
    const char *name;
    enum { S_STR, S_INT, S_NILV, S_CTX } type;
    const char *s;
    int64_t i;
} s_field_t;

static const s_field_t s_ctx_fields[] = {
    {"phase", S_STR, "settle", 0},
    {"created_ms", S_INT, NULL, 1800000000000},
    {"delivered_ms", S_INT, NULL, 1800000060000},
    {"window_end_ms", S_INT, NULL, 1800000660000},
    {"commits", S_INT, NULL, 2},
    {"refunds", S_INT, NULL, 0},
};

static const s_field_t s_fields[] = {
    {"id", S_STR, "job-0190a1b2", 0},
    {"kind", S_STR, NULL, 0}, /* from the spec */
    {"attempt", S_INT, NULL, 3},
    {"gen", S_INT, NULL, 41},
    {"outcome", S_STR, "unknown", 0},
    {"reason", S_STR, "timeout", 0},
    {"status", S_NILV, NULL, 0},
    {"created_ms", S_INT, NULL, 1800000000500},
    {"failed_ms", S_INT, NULL, 1800000070000},
    {"ctx", S_CTX, NULL, 0},
};

#define S_N(a) (sizeof(a) / sizeof((a)[0]))

static bool s_applies(const s_spec_t *spec, const char *prefix, const char *name)
{
    if (!spec || !spec->field)
        return false;
    char full[64];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return strcmp(spec->field, full) == 0;
}

/* Packs the fields (those the spec omits are left out). */
static void s_pack_fields(msgpack_packer *pk, const s_field_t *fields, size_t n,
                          const s_spec_t *spec, const char *prefix)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (!(s_applies(spec, prefix, fields[i].name) && spec->mode == S_OMIT))
            count++;
    msgpack_pack_map(pk, count);
    for (size_t i = 0; i < n; i++) {
        const s_field_t *f = &fields[i];
        bool hit = s_applies(spec, prefix, f->name);
        if (hit && spec->mode == S_OMIT)
            continue;
        pm_mp_pack_cstr(pk, f->name);
        if (hit && spec->mode == S_NIL) {
            msgpack_pack_nil(pk);
        } else if (hit && spec->mode == S_WRONG) {
            msgpack_pack_array(pk, 1);
            msgpack_pack_int(pk, 1);
        } else if (hit && spec->mode == S_RAW) {
            msgpack_sbuffer_write(pk->data, spec->raw, spec->raw_len);
        } else if (f->type == S_CTX) {
            s_pack_fields(pk, s_ctx_fields, S_N(s_ctx_fields), spec, "ctx.");
        } else if (f->type == S_NILV) {
            msgpack_pack_nil(pk);
        } else if (f->type == S_INT) {
            msgpack_pack_int64(pk, f->i);
        } else if (strcmp(f->name, "kind") == 0) {
            pm_mp_pack_cstr(pk, spec && spec->kind ? spec->kind : "bazaarpay_commit");
        } else {
            pm_mp_pack_cstr(pk, f->s);
        }
    }
}

static void s_pack(msgpack_sbuffer *buf, const s_spec_t *spec)
{
    msgpack_sbuffer_init(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    s_pack_fields(&pk, s_fields, S_N(s_fields), spec, "");
}

/* Decodes bytes as one msgpack object and then as an item. Returns the
 * decoder's result; -2 when the bytes are not one msgpack object at all. */
static int s_decode_bytes(const void *data, size_t size, rw_item_t *item, bool *identified,
                          char *why, size_t cap)
{
    if (!pm_mp_bounded(data, size))
        return -2;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = -2;
    if (msgpack_unpack_next(&u, data, size, &off) == MSGPACK_UNPACK_SUCCESS)
        rc = rw_item_decode(&u.data, item, identified, why, cap);
    msgpack_unpacked_destroy(&u);
    return rc;
}

static int s_decode(const s_spec_t *spec, rw_item_t *item, bool *identified, char *why)
{
    msgpack_sbuffer buf;
    s_pack(&buf, spec);
    int rc = s_decode_bytes(buf.data, buf.size, item, identified, why, 128);
    msgpack_sbuffer_destroy(&buf);
    assert_int_not_equal(rc, -2);
    return rc;
}

/* Asserts that the item the spec describes is refused, with a reason that
 * names want, and identified (can be parked) or not. */
static void s_refused(const s_spec_t *spec, bool identified_want, const char *want)
{
    rw_item_t item;
    bool identified = !identified_want;
    char why[128];
    if (s_decode(spec, &item, &identified, why) != -1)
        fail_msg("%s mode %d: accepted", spec->field, spec->mode);
    if (identified != identified_want)
        fail_msg("%s mode %d: identified %d (%s)", spec->field, spec->mode, identified, why);
    if (want && !strstr(why, want))
        fail_msg("%s mode %d: why '%s' does not name '%s'", spec->field, spec->mode, why, want);
    if (identified) {
        assert_string_equal(item.id, "job-0190a1b2");
        assert_int_equal(item.gen, 41);
    }
}

static void s_accepted(const s_spec_t *spec, rw_item_t *item)
{
    bool identified = false;
    char why[128];
    if (s_decode(spec, item, &identified, why) != 0)
        fail_msg("%s mode %d: refused: %s", spec ? spec->field : "-", spec ? (int)spec->mode : 0,
                 why);
    assert_true(identified);
}

static void test_a_whole_item_reads_back(void **state)
{
    (void)state;
    rw_item_t it;
    s_accepted(NULL, &it);
    assert_string_equal(it.id, "job-0190a1b2");
    assert_string_equal(it.kind, "bazaarpay_commit");
    assert_int_equal(it.attempt, 3);
    assert_int_equal(it.gen, 41);
    assert_int_equal(it.outcome, RW_UNKNOWN);
    assert_string_equal(it.reason, "timeout");
    assert_false(it.has_status);
    assert_string_equal(it.status, "");
    assert_int_equal(it.created_ms, 1800000000500);
    assert_int_equal(it.failed_ms, 1800000070000);
    assert_int_equal(it.ctx.phase, RW_PHASE_SETTLE);
    assert_int_equal(it.ctx.created_ms, 1800000000000);
    assert_true(it.ctx.has_delivered);
    assert_int_equal(it.ctx.delivered_ms, 1800000060000);
    assert_true(it.ctx.has_window_end);
    assert_int_equal(it.ctx.window_end_ms, 1800000660000);
    assert_int_equal(it.ctx.commits, 2);
    assert_int_equal(it.ctx.refunds, 0);
    assert_string_equal(rw_outcome_name(it.outcome), "unknown");
    assert_string_equal(rw_phase_name(it.ctx.phase), "settle");
}

static void test_every_outcome_phase_and_status_reads(void **state)
{
    (void)state;
    static const char *const outcomes[] = {"ok", "rejected", "unknown", "lease_expired"};
    for (int i = 0; i < 4; i++) {
        char raw[32];
        size_t n = strlen(outcomes[i]);
        raw[0] = (char)(0xa0 | n);
        memcpy(raw + 1, outcomes[i], n);
        s_spec_t spec = {"outcome", S_RAW, raw, n + 1, NULL};
        rw_item_t it;
        s_accepted(&spec, &it);
        assert_int_equal(it.outcome, (rw_outcome_t)i);
        assert_string_equal(rw_outcome_name(it.outcome), outcomes[i]);
    }
    static const char *const phases[] = {"open", "settle", "refund"};
    for (int i = 0; i < 3; i++) {
        char raw[16];
        size_t n = strlen(phases[i]);
        raw[0] = (char)(0xa0 | n);
        memcpy(raw + 1, phases[i], n);
        s_spec_t spec = {"ctx.phase", S_RAW, raw, n + 1, NULL};
        rw_item_t it;
        s_accepted(&spec, &it);
        assert_int_equal(it.ctx.phase, (rw_phase_t)(RW_PHASE_OPEN + i));
    }
    s_spec_t status = {"status", S_RAW, "\xb2paid_not_committed", 19, NULL};
    rw_item_t it;
    s_accepted(&status, &it);
    assert_true(it.has_status);
    assert_string_equal(it.status, "paid_not_committed");
}

static void test_store_items_need_no_ctx(void **state)
{
    (void)state;
    rw_item_t it;
    s_spec_t omit = {"ctx", S_OMIT, NULL, 0, "bazaar_consume"};
    s_accepted(&omit, &it);
    assert_string_equal(it.kind, "bazaar_consume");
    assert_int_equal(it.ctx.phase, RW_PHASE_NONE);
    assert_int_equal(it.ctx.commits, 0);
    s_spec_t nil = {"ctx", S_NIL, NULL, 0, "bazaar_validate"};
    s_accepted(&nil, &it);
    s_spec_t empty = {"ctx", S_RAW, "\x80", 1, "bazaar_consume"};
    s_accepted(&empty, &it);
    /* A store item's ctx is not read, whatever it holds, as long as it is
     * a map. */
    s_spec_t any = {NULL, S_AS_IS, NULL, 0, "bazaar_consume"};
    s_accepted(&any, &it);
    assert_int_equal(it.ctx.phase, RW_PHASE_NONE);
    s_spec_t wrong = {"ctx", S_WRONG, NULL, 0, "bazaar_consume"};
    s_refused(&wrong, true, "ctx is not a map");
}

static void test_a_bazaarpay_item_with_an_empty_ctx_has_no_phase(void **state)
{
    (void)state;
    /* payment-core's answer when the checkout is gone. */
    static const char *const kinds[] = {"bazaarpay_init", "bazaarpay_trace", "bazaarpay_commit",
                                        "bazaarpay_refund"};
    for (int i = 0; i < 4; i++) {
        s_spec_t empty = {"ctx", S_RAW, "\x80", 1, kinds[i]};
        rw_item_t it;
        s_accepted(&empty, &it);
        assert_int_equal(it.ctx.phase, RW_PHASE_NONE);
        assert_int_equal(it.ctx.created_ms, 0);
        assert_false(it.ctx.has_window_end);
        s_spec_t nil = {"ctx", S_NIL, NULL, 0, kinds[i]};
        s_refused(&nil, true, "without a ctx map");
    }
}

/* ---- bank items ----------------------------------------------------------- */

static const s_field_t s_bank_ctx_fields[] = {
    {"phase", S_STR, "open", 0},
    {"created_ms", S_INT, NULL, 1800000000000},
    {"registered_ms", S_INT, NULL, 1800000030000},
};

/* A bank item of kind, its ctx as the spec (field "ctx.<name>") makes it,
 * decoded: the result of rw_item_decode, with *identified and why. */
static int s_decode_bank(const char *kind, const s_spec_t *ctx_spec, rw_item_t *item,
                         bool *identified, char *why)
{
    msgpack_sbuffer ctx;
    msgpack_sbuffer_init(&ctx);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &ctx, msgpack_sbuffer_write);
    s_pack_fields(&pk, s_bank_ctx_fields, S_N(s_bank_ctx_fields), ctx_spec, "ctx.");
    s_spec_t spec = {"ctx", S_RAW, ctx.data, ctx.size, kind};
    int rc = s_decode(&spec, item, identified, why);
    msgpack_sbuffer_destroy(&ctx);
    return rc;
}

static void s_bank_accepted(const char *kind, const s_spec_t *ctx_spec, rw_item_t *item)
{
    bool identified = false;
    char why[128];
    if (s_decode_bank(kind, ctx_spec, item, &identified, why) != 0)
        fail_msg("%s %s mode %d: refused: %s", kind, ctx_spec ? ctx_spec->field : "-",
                 ctx_spec ? (int)ctx_spec->mode : 0, why);
    assert_true(identified);
}

static void s_bank_refused(const char *kind, const s_spec_t *ctx_spec, const char *want)
{
    rw_item_t item;
    bool identified = false;
    char why[128];
    if (s_decode_bank(kind, ctx_spec, &item, &identified, why) != -1)
        fail_msg("%s %s mode %d: accepted", kind, ctx_spec->field, ctx_spec->mode);
    assert_true(identified); /* parkable */
    assert_string_equal(item.id, "job-0190a1b2");
    if (want && !strstr(why, want))
        fail_msg("%s: why '%s' does not name '%s'", ctx_spec->field, why, want);
}

static void test_a_bank_item_reads_back(void **state)
{
    (void)state;
    static const char *const kinds[] = {"bank_register", "bank_status", "bank_deposit",
                                        "bank_reverse",  "bank_refund", "bank_other"};
    for (size_t k = 0; k < S_N(kinds); k++) {
        assert_true(rw_kind_is_bank(kinds[k]));
        rw_item_t it;
        s_bank_accepted(kinds[k], NULL, &it);
        assert_string_equal(it.kind, kinds[k]);
        assert_int_equal(it.ctx.phase, RW_PHASE_OPEN);
        assert_int_equal(it.ctx.created_ms, 1800000000000);
        assert_true(it.ctx.has_registered);
        assert_int_equal(it.ctx.registered_ms, 1800000030000);
        /* Nothing of a checkout's ctx. */
        assert_int_equal(it.ctx.commits, 0);
        assert_false(it.ctx.has_window_end);
        s_spec_t final = {"ctx.phase", S_RAW,
                          "\xa5"
                          "final",
                          6, NULL};
        s_bank_accepted(kinds[k], &final, &it);
        assert_int_equal(it.ctx.phase, RW_PHASE_FINAL);
        assert_string_equal(rw_phase_name(it.ctx.phase), "final");
    }
    assert_false(rw_kind_is_bank("bazaarpay_trace"));
    assert_false(rw_kind_is_bank("bank"));
    assert_false(rw_kind_is_bank("banking_x"));
}

static void test_a_bank_order_not_registered_has_no_registered_ms(void **state)
{
    (void)state;
    s_spec_t nil = {"ctx.registered_ms", S_NIL, NULL, 0, NULL};
    s_spec_t omit = {"ctx.registered_ms", S_OMIT, NULL, 0, NULL};
    rw_item_t it;
    s_bank_accepted("bank_status", &nil, &it);
    assert_false(it.ctx.has_registered);
    assert_int_equal(it.ctx.registered_ms, 0);
    assert_int_equal(it.ctx.created_ms, 1800000000000);
    s_bank_accepted("bank_register", &omit, &it);
    assert_false(it.ctx.has_registered);
}

static void test_a_bank_item_with_an_empty_ctx_has_no_phase(void **state)
{
    (void)state;
    static const char *const kinds[] = {"bank_register", "bank_status", "bank_deposit"};
    for (size_t k = 0; k < S_N(kinds); k++) {
        s_spec_t empty = {"ctx", S_RAW, "\x80", 1, kinds[k]};
        rw_item_t it;
        s_accepted(&empty, &it);
        assert_int_equal(it.ctx.phase, RW_PHASE_NONE);
        assert_false(it.ctx.has_registered);
        s_spec_t nil = {"ctx", S_NIL, NULL, 0, kinds[k]};
        s_refused(&nil, true, "a bank item without a ctx map");
        s_spec_t omit = {"ctx", S_OMIT, NULL, 0, kinds[k]};
        s_refused(&omit, true, "a bank item without a ctx map");
        s_spec_t wrong = {"ctx", S_WRONG, NULL, 0, kinds[k]};
        s_refused(&wrong, true, "a bank item without a ctx map");
    }
}

static void test_a_bad_bank_ctx_is_refused(void **state)
{
    (void)state;
    static const char *const required[] = {"ctx.phase", "ctx.created_ms"};
    for (size_t i = 0; i < S_N(required); i++) {
        s_spec_t omit = {required[i], S_OMIT, NULL, 0, NULL};
        s_spec_t nil = {required[i], S_NIL, NULL, 0, NULL};
        s_spec_t wrong = {required[i], S_WRONG, NULL, 0, NULL};
        s_bank_refused("bank_status", &omit, required[i]);
        s_bank_refused("bank_status", &nil, required[i]);
        s_bank_refused("bank_status", &wrong, required[i]);
    }
    s_spec_t wrong = {"ctx.registered_ms", S_WRONG, NULL, 0, NULL};
    s_bank_refused("bank_deposit", &wrong, "ctx.registered_ms");
    struct {
        const char *field;
        const char *raw;
        size_t len;
    } cases[] = {
        {"ctx.registered_ms", "\xff", 1},                                 /* -1 */
        {"ctx.registered_ms", "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", 9}, /* past 9999 */
        {"ctx.registered_ms",
         "\xa1"
         "1",
         2},
        {"ctx.created_ms", "\xd3\x80\0\0\0\0\0\0\0", 9}, /* INT64_MIN */
        /* A checkout's phases are not a bank order's. */
        {"ctx.phase",
         "\xa6"
         "settle",
         7},
        {"ctx.phase",
         "\xa6"
         "refund",
         7},
        {"ctx.phase",
         "\xa5"
         "FINAL",
         6},
        {"ctx.phase", "\xa0", 1},
    };
    for (size_t i = 0; i < S_N(cases); i++) {
        s_spec_t spec = {cases[i].field, S_RAW, cases[i].raw, cases[i].len, NULL};
        s_bank_refused("bank_status", &spec, cases[i].field);
    }
    /* And a bank order's phase is not a checkout's. */
    s_spec_t final = {"ctx.phase", S_RAW,
                      "\xa5"
                      "final",
                      6, NULL};
    s_refused(&final, true, "ctx.phase");
}

static void test_lenient_fields_may_be_absent(void **state)
{
    (void)state;
    static const char *const optional[] = {"reason",    "status",           "created_ms",
                                           "failed_ms", "ctx.delivered_ms", "ctx.window_end_ms"};
    for (size_t i = 0; i < S_N(optional); i++) {
        s_spec_t omit = {optional[i], S_OMIT, NULL, 0, NULL};
        s_spec_t nil = {optional[i], S_NIL, NULL, 0, NULL};
        rw_item_t it;
        s_accepted(&omit, &it);
        s_accepted(&nil, &it);
    }
    s_spec_t no_window = {"ctx.window_end_ms", S_NIL, NULL, 0, NULL};
    rw_item_t it;
    s_accepted(&no_window, &it);
    assert_false(it.ctx.has_window_end);
    assert_int_equal(it.ctx.window_end_ms, 0);
    s_spec_t no_reason = {"reason", S_OMIT, NULL, 0, NULL};
    s_accepted(&no_reason, &it);
    assert_string_equal(it.reason, "");
}

static void test_a_long_or_odd_reason_is_cut_and_cleaned(void **state)
{
    (void)state;
    char raw[3 + 1000];
    raw[0] = (char)0xda; /* str 16 */
    raw[1] = (char)(1000 >> 8);
    raw[2] = (char)(1000 & 0xff);
    memset(raw + 3, 'x', 1000);
    raw[3 + 5] = '\n';
    raw[3 + 6] = '\0';
    raw[3 + 7] = (char)0xff;
    s_spec_t spec = {"reason", S_RAW, raw, sizeof raw, NULL};
    rw_item_t it;
    s_accepted(&spec, &it);
    assert_int_equal(strlen(it.reason), RW_REASON_MAX);
    assert_memory_equal(it.reason, "xxxxx???xx", 10);
}

static void test_missing_or_mistyped_fields_are_refused(void **state)
{
    (void)state;
    /* Without id or gen the item cannot even be parked. */
    static const char *const anonymous[] = {"id", "gen"};
    for (size_t i = 0; i < 2; i++) {
        s_spec_t omit = {anonymous[i], S_OMIT, NULL, 0, NULL};
        s_spec_t nil = {anonymous[i], S_NIL, NULL, 0, NULL};
        s_spec_t wrong = {anonymous[i], S_WRONG, NULL, 0, NULL};
        s_refused(&omit, false, NULL);
        s_refused(&nil, false, NULL);
        s_refused(&wrong, false, NULL);
    }
    /* Everything else the policy reads: refused, but parkable. */
    static const char *const required[] = {"kind",        "attempt",    "outcome",
                                           "ctx",         "ctx.phase",  "ctx.created_ms",
                                           "ctx.commits", "ctx.refunds"};
    for (size_t i = 0; i < S_N(required); i++) {
        s_spec_t omit = {required[i], S_OMIT, NULL, 0, NULL};
        s_spec_t nil = {required[i], S_NIL, NULL, 0, NULL};
        s_spec_t wrong = {required[i], S_WRONG, NULL, 0, NULL};
        s_refused(&omit, true, NULL);
        s_refused(&nil, true, NULL);
        s_refused(&wrong, true, NULL);
    }
    /* Optional ones, when there, must have their type. */
    static const char *const typed[] = {"reason",    "status",           "created_ms",
                                        "failed_ms", "ctx.delivered_ms", "ctx.window_end_ms"};
    for (size_t i = 0; i < S_N(typed); i++) {
        s_spec_t wrong = {typed[i], S_WRONG, NULL, 0, NULL};
        s_refused(&wrong, true, NULL);
    }
}

static void test_values_out_of_range_are_refused(void **state)
{
    (void)state;
    struct {
        const char *field;
        const char *raw;
        size_t len;
        bool identified;
        const char *why;
    } cases[] = {
        {"attempt", "\xff", 1, true, "attempt"},                 /* -1 */
        {"attempt", "\xce\x7f\xff\xff\xff", 5, true, "attempt"}, /* > a billion */
        {"ctx.commits", "\xff", 1, true, "ctx.commits"},         /* -1 */
        {"ctx.refunds", "\xd0\x80", 2, true, "ctx.refunds"},     /* -128 */
        {"ctx.created_ms", "\xff", 1, true, "ctx.created_ms"},   /* -1 */
        {"ctx.created_ms", "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", 9, true, "ctx.created_ms"},
        {"ctx.window_end_ms", "\xcf\x80\0\0\0\0\0\0\0", 9, true, "window_end_ms"}, /* 2^63 */
        {"ctx.delivered_ms", "\xd3\x80\0\0\0\0\0\0\0", 9, true, "delivered_ms"},   /* INT64_MIN */
        {"failed_ms", "\xff", 1, true, "failed_ms"},
        {"ctx.phase",
         "\xa6"
         "closed",
         7, true, "ctx.phase"},
        {"ctx.phase", "\xa0", 1, true, "ctx.phase"},
        {"outcome",
         "\xa5"
         "maybe",
         6, true, "outcome"},
        {"outcome",
         "\xa2"
         "OK",
         3, true, "outcome"},
        {"kind", "\xa0", 1, true, "kind"},
        {"kind",
         "\xa9"
         "Bazaar-X!",
         10, true, "kind"},
        {"kind",
         "\xa4"
         "a\0bc",
         5, true, "kind"}, /* a NUL inside */
        {"status", "\xa0", 1, true, "status"},
        {"status",
         "\xa6"
         "paid x",
         7, true, "status"},
        {"gen", "\xcf\x80\0\0\0\0\0\0\0", 9, false, "gen"}, /* beyond int64 */
        {"id", "\xa0", 1, false, "id"},
        {"id",
         "\xa7"
         "job one",
         8, false, "id"},
        {"id",
         "\xa5"
         "job\n1",
         6, false, "id"},
    };
    for (size_t i = 0; i < S_N(cases); i++) {
        s_spec_t spec = {cases[i].field, S_RAW, cases[i].raw, cases[i].len, NULL};
        s_refused(&spec, cases[i].identified, cases[i].why);
    }
    /* Lengths: an id of 128 bytes is fine, 129 is not; a kind of 64 and 65. */
    char raw[3 + 130];
    raw[0] = (char)0xd9; /* str 8 */
    memset(raw + 2, 'j', 130);
    raw[1] = (char)128;
    s_spec_t id128 = {"id", S_RAW, raw, 2 + 128, NULL};
    rw_item_t it;
    s_accepted(&id128, &it);
    assert_int_equal(strlen(it.id), 128);
    raw[1] = (char)129;
    s_spec_t id129 = {"id", S_RAW, raw, 2 + 129, NULL};
    s_refused(&id129, false, "id");
    memset(raw + 2, 'k', 130);
    raw[1] = (char)64;
    s_spec_t kind64 = {"kind", S_RAW, raw, 2 + 64, NULL};
    s_accepted(&kind64, &it);
    raw[1] = (char)65;
    s_spec_t kind65 = {"kind", S_RAW, raw, 2 + 65, NULL};
    s_refused(&kind65, true, "kind");
}

static void test_things_that_are_not_items_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        size_t len;
    } cases[] = {
        {"\xc0", 1}, {"\x01", 1}, {"\x91\x01", 2}, {"\xa2id", 3}, {"\x80", 1}, {"\x81\x01\x02", 3},
    };
    for (size_t i = 0; i < S_N(cases); i++) {
        rw_item_t it;
        bool identified = true;
        char why[64];
        assert_int_equal(
            s_decode_bytes(cases[i].raw, cases[i].len, &it, &identified, why, sizeof why), -1);
        assert_false(identified);
        assert_true(why[0] != '\0');
        assert_string_equal(it.id, "");
    }
    /* A tiny why buffer is enough to say something, and never overrun. */
    s_spec_t omit = {"kind", S_OMIT, NULL, 0, NULL};
    msgpack_sbuffer buf;
    s_pack(&buf, &omit);
    rw_item_t it;
    bool identified;
    char why[4];
    assert_int_equal(s_decode_bytes(buf.data, buf.size, &it, &identified, why, sizeof why), -1);
    assert_int_equal(strlen(why), 3);
    msgpack_sbuffer_destroy(&buf);
}

static void test_truncations_and_corruptions_never_crash(void **state)
{
    (void)state;
    msgpack_sbuffer buf;
    s_pack(&buf, NULL);
    char *copy = malloc(buf.size);
    assert_non_null(copy);
    int accepted = 0, refused = 0;
    for (size_t n = 0; n < buf.size; n++) {
        rw_item_t it;
        bool identified;
        char why[128];
        int rc = s_decode_bytes(buf.data, n, &it, &identified, why, sizeof why);
        assert_true(rc != 0); /* a truncated item is never whole */
    }
    static const unsigned char values[] = {0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0xa0, 0xc0,
                                           0xc2, 0xc3, 0xcc, 0xd0, 0xd9, 0xdc, 0xde, 0xff};
    for (size_t pos = 0; pos < buf.size; pos++)
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(copy, buf.data, buf.size);
            copy[pos] = (char)values[v];
            rw_item_t it;
            bool identified;
            char why[128];
            int rc = s_decode_bytes(copy, buf.size, &it, &identified, why, sizeof why);
            if (rc == 0) {
                accepted++;
                assert_true(it.attempt >= 0 && it.attempt <= RW_COUNT_MAX);
                assert_true(it.id[0] != '\0' && it.kind[0] != '\0');
            } else if (rc == -1) {
                refused++;
                assert_true(why[0] != '\0');
            }
        }
    assert_true(accepted > 0 && refused > 0);
    free(copy);
    msgpack_sbuffer_destroy(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_whole_item_reads_back),
        cmocka_unit_test(test_every_outcome_phase_and_status_reads),
        cmocka_unit_test(test_store_items_need_no_ctx),
        cmocka_unit_test(test_a_bazaarpay_item_with_an_empty_ctx_has_no_phase),
        cmocka_unit_test(test_a_bank_item_reads_back),
        cmocka_unit_test(test_a_bank_order_not_registered_has_no_registered_ms),
        cmocka_unit_test(test_a_bank_item_with_an_empty_ctx_has_no_phase),
        cmocka_unit_test(test_a_bad_bank_ctx_is_refused),
        cmocka_unit_test(test_lenient_fields_may_be_absent),
        cmocka_unit_test(test_a_long_or_odd_reason_is_cut_and_cleaned),
        cmocka_unit_test(test_missing_or_mistyped_fields_are_refused),
        cmocka_unit_test(test_values_out_of_range_are_refused),
        cmocka_unit_test(test_things_that_are_not_items_are_refused),
        cmocka_unit_test(test_truncations_and_corruptions_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
