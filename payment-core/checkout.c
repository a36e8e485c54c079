/*  checkout: checkout records, token index, attempt log. */
#include "checkout.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "rec.h"

#define CHECKOUT_RECORD_VERSION 1
#define ATTEMPT_RECORD_VERSION 1
#define S_SERIAL_TRIES 16
#define S_ATTEMPT_KEY_LEN (CHECKOUT_SERIAL_LEN + 8)

#define F(kind, field, min, max)                                                                   \
    {                                                                                              \
        kind, offsetof(checkout_t, field), min, max, 0, NULL                                       \
    }
#define F_OPT(field, has)                                                                          \
    {                                                                                              \
        REC_I64_OPT, offsetof(checkout_t, field), INT64_MIN, INT64_MAX, offsetof(checkout_t, has), \
            NULL                                                                                   \
    }
static const rec_field_t s_checkout_fields[] = {
    F(REC_STR, serial, CHECKOUT_SERIAL_LEN, CHECKOUT_SERIAL_LEN),
    F(REC_STR, principal, 1, PM_PRINCIPAL_MAX),
    F(REC_STR, sku, 1, CATALOG_SKU_MAX),
    F(REC_ENUM, state, CHECKOUT_OPENING, CHECKOUT_EXPIRED),
    F(REC_STR_OPT, token, 1, CHECKOUT_TOKEN_MAX),
    F(REC_STR_OPT, payment_url, 1, CHECKOUT_PAY_URL_MAX),
    F(REC_STR, redirect_url, 1, CHECKOUT_URL_MAX),
    F(REC_STR_OPT, phone, 1, CHECKOUT_PHONE_MAX),
    F(REC_I64, amount, 0, CATALOG_PRICE_MAX),
    F(REC_STR, pkg_name, 1, CATALOG_NAME_MAX),
    F(REC_ENUM, pkg_type, CATALOG_COIN, CATALOG_TIME),
    F(REC_I64, pkg_coins, 0, CATALOG_COINS_MAX),
    F(REC_I64, pkg_days, 0, CATALOG_DAYS_MAX),
    F_OPT(coins_after, has_coins),
    F_OPT(until_ms, has_until),
    F(REC_BOOL, refund_requested, 0, 0),
    F(REC_STR_OPT, refund_reason, 1, CHECKOUT_REASON_MAX),
    F(REC_BOOL, reversed, 0, 0),
    F(REC_STR_OPT, job_id, PM_UUID_LEN, PM_UUID_LEN),
    F(REC_STR_OPT, last_status, 1, JOBS_STATUS_MAX),
    F(REC_I64, commits, 0, INT64_MAX),
    F(REC_I64, refunds, 0, INT64_MAX),
    F(REC_I64, next_attempt, 1, INT64_MAX),
    F(REC_I64, created_ms, INT64_MIN, INT64_MAX),
    F(REC_I64, updated_ms, INT64_MIN, INT64_MAX),
    F_OPT(delivered_ms, has_delivered),
};
static const rec_schema_t s_checkout_schema = {"checkout", CHECKOUT_RECORD_VERSION,
                                               sizeof(checkout_t), REC_FIELDS(s_checkout_fields)};
_Static_assert(sizeof(checkout_state_t) == sizeof(int), "stored as REC_ENUM");
_Static_assert(sizeof(catalog_type_t) == sizeof(int), "stored as REC_ENUM");

typedef struct {
    int64_t at_ms;
    checkout_call_t call;
    jobs_outcome_t outcome;
    char detail[CHECKOUT_DETAIL_MAX + 1];
} s_attempt_t;

static const rec_field_t s_attempt_fields[] = {
    {REC_I64, offsetof(s_attempt_t, at_ms), INT64_MIN, INT64_MAX, 0, NULL},
    {REC_ENUM, offsetof(s_attempt_t, call), CHECKOUT_CALL_INIT, CHECKOUT_CALL_REFUND, 0, NULL},
    {REC_ENUM, offsetof(s_attempt_t, outcome), JOBS_OUT_NONE, JOBS_OUT_LEASE_EXPIRED, 0, NULL},
    {REC_STR_OPT, offsetof(s_attempt_t, detail), 1, CHECKOUT_DETAIL_MAX, 0, NULL},
};
static const rec_schema_t s_attempt_schema = {"checkout attempt", ATTEMPT_RECORD_VERSION,
                                              sizeof(s_attempt_t), REC_FIELDS(s_attempt_fields)};
_Static_assert(sizeof(checkout_call_t) == sizeof(int), "stored as REC_ENUM");

const char *checkout_state_name(checkout_state_t state)
{
    static const char *names[] = {"opening",   "in_progress", "delivered",
                                  "committed", "refunded",    "expired"};
    return (unsigned)state <= CHECKOUT_EXPIRED ? names[state] : "unknown";
}

const char *checkout_call_name(checkout_call_t call)
{
    static const char *names[] = {"init", "trace", "commit", "refund"};
    return (unsigned)call <= CHECKOUT_CALL_REFUND ? names[call] : "unknown";
}

bool checkout_token_valid(const char *token, size_t len)
{
    if (!token || len == 0 || len > CHECKOUT_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = token[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

int checkout_serial_new(db_t *db, MDB_txn *txn, char out[CHECKOUT_SERIAL_LEN + 1])
{
    assert(db && txn && out);
    for (int attempt = 0; attempt < S_SERIAL_TRIES; attempt++) {
        out[0] = (char)('1' + randombytes_uniform(9));
        for (int i = 1; i < CHECKOUT_SERIAL_LEN; i++)
            out[i] = (char)('0' + randombytes_uniform(10));
        out[CHECKOUT_SERIAL_LEN] = '\0';
        MDB_val val;
        int rc = db_get(db, txn, DB_CHECKOUTS, out, CHECKOUT_SERIAL_LEN, &val);
        if (rc == MDB_NOTFOUND)
            rc = db_get(db, txn, DB_PURCHASES, out, CHECKOUT_SERIAL_LEN, &val);
        if (rc == MDB_NOTFOUND)
            return 0;
        if (rc != 0)
            return rc;
    }
    return EEXIST;
}

int checkout_decode(const void *data, size_t size, checkout_t *co, const char **why)
{
    assert(co && why);
    return rec_decode(&s_checkout_schema, data, size, co, why);
}

int checkout_load(db_t *db, MDB_txn *txn, const char *serial, checkout_t *co)
{
    assert(db && txn && serial && co);
    int rc = rec_load(db, txn, DB_CHECKOUTS, serial, strlen(serial), &s_checkout_schema, co);
    if (rc == 0 && strcmp(co->serial, serial) != 0) {
        pm_error("checkout record %s holds serial %s", serial, co->serial);
        return DB_ECORRUPT;
    }
    return rc;
}

int checkout_save(db_t *db, MDB_txn *txn, const checkout_t *co)
{
    assert(db && txn && co && strlen(co->serial) == CHECKOUT_SERIAL_LEN);
    return rec_save(db, txn, DB_CHECKOUTS, co->serial, CHECKOUT_SERIAL_LEN, &s_checkout_schema, co);
}

int checkout_by_token(db_t *db, MDB_txn *txn, const char *token, checkout_t *co)
{
    assert(db && txn && token && co);
    MDB_val val;
    int rc = db_get(db, txn, DB_CHECKOUT_TOKENS, token, strlen(token), &val);
    if (rc != 0)
        return rc;
    char serial[CHECKOUT_SERIAL_LEN + 1];
    if (val.mv_size != CHECKOUT_SERIAL_LEN) {
        pm_error("checkout token index entry of %zu bytes", val.mv_size);
        return DB_ECORRUPT;
    }
    memcpy(serial, val.mv_data, CHECKOUT_SERIAL_LEN);
    serial[CHECKOUT_SERIAL_LEN] = '\0';
    rc = checkout_load(db, txn, serial, co);
    if (rc == MDB_NOTFOUND) {
        pm_error("checkout token index names a missing checkout %s", serial);
        return DB_ECORRUPT;
    }
    return rc;
}

int checkout_token_put(db_t *db, MDB_txn *txn, const checkout_t *co)
{
    assert(db && txn && co && co->token[0]);
    return db_put(db, txn, DB_CHECKOUT_TOKENS, co->token, strlen(co->token), co->serial,
                  CHECKOUT_SERIAL_LEN, MDB_NOOVERWRITE);
}

static void s_attempt_key(uint8_t key[S_ATTEMPT_KEY_LEN], const char *serial, int64_t seq)
{
    memcpy(key, serial, CHECKOUT_SERIAL_LEN);
    rec_be64_put(key + CHECKOUT_SERIAL_LEN, (uint64_t)seq);
}

int checkout_attempt_add(db_t *db, MDB_txn *txn, checkout_t *co, int64_t at_ms,
                         checkout_call_t call, jobs_outcome_t outcome, const char *detail)
{
    assert(db && txn && co);
    if (co->next_attempt < 1)
        co->next_attempt = 1;
    if (co->next_attempt > CHECKOUT_ATTEMPTS_MAX) {
        pm_debug("checkout %s: attempt log full; %s not recorded", co->serial,
                 checkout_call_name(call));
        return 0;
    }
    s_attempt_t a = {.at_ms = at_ms, .call = call, .outcome = outcome};
    snprintf(a.detail, sizeof a.detail, "%s", detail ? detail : "");
    uint8_t key[S_ATTEMPT_KEY_LEN];
    s_attempt_key(key, co->serial, co->next_attempt);
    int rc = rec_save(db, txn, DB_CHECKOUT_ATTEMPTS, key, sizeof key, &s_attempt_schema, &a);
    if (rc == 0)
        co->next_attempt++;
    return rc;
}

static int s_pack_attempts(db_t *db, MDB_txn *txn, msgpack_packer *pk, const checkout_t *co)
{
    int64_t n = co->next_attempt > 1 ? co->next_attempt - 1 : 0;
    msgpack_pack_array(pk, (uint32_t)n);
    for (int64_t seq = 1; seq <= n; seq++) {
        uint8_t key[S_ATTEMPT_KEY_LEN];
        s_attempt_key(key, co->serial, seq);
        s_attempt_t a;
        int rc = rec_load(db, txn, DB_CHECKOUT_ATTEMPTS, key, sizeof key, &s_attempt_schema, &a);
        if (rc != 0)
            return rc == MDB_NOTFOUND ? DB_ECORRUPT : rc;
        msgpack_pack_map(pk, 4);
        pm_mp_pack_cstr(pk, "at_ms");
        msgpack_pack_int64(pk, a.at_ms);
        pm_mp_pack_cstr(pk, "call");
        pm_mp_pack_cstr(pk, checkout_call_name(a.call));
        pm_mp_pack_cstr(pk, "outcome");
        pm_mp_pack_cstr(pk, jobs_outcome_name(a.outcome));
        pm_mp_pack_cstr(pk, "detail");
        pm_mp_pack_cstr(pk, a.detail);
    }
    return 0;
}

int checkout_pack(db_t *db, MDB_txn *txn, msgpack_packer *pk, const checkout_t *co)
{
    assert(db && txn && pk && co);
    msgpack_pack_map(pk, 20);
    pm_mp_pack_cstr(pk, "token");
    rec_pack_opt(pk, co->token);
    pm_mp_pack_cstr(pk, "serial");
    pm_mp_pack_cstr(pk, co->serial);
    pm_mp_pack_cstr(pk, "principal");
    pm_mp_pack_cstr(pk, co->principal);
    pm_mp_pack_cstr(pk, "sku");
    pm_mp_pack_cstr(pk, co->sku);
    pm_mp_pack_cstr(pk, "state");
    pm_mp_pack_cstr(pk,
                    co->state == CHECKOUT_OPENING ? "in_progress" : checkout_state_name(co->state));
    pm_mp_pack_cstr(pk, "amount");
    msgpack_pack_int64(pk, co->amount);
    pm_mp_pack_cstr(pk, "payment_url");
    rec_pack_opt(pk, co->payment_url);
    pm_mp_pack_cstr(pk, "redirect_url");
    pm_mp_pack_cstr(pk, co->redirect_url);
    pm_mp_pack_cstr(pk, "package");
    msgpack_pack_map(pk, 5);
    pm_mp_pack_cstr(pk, "sku");
    pm_mp_pack_cstr(pk, co->sku);
    pm_mp_pack_cstr(pk, "name");
    pm_mp_pack_cstr(pk, co->pkg_name);
    pm_mp_pack_cstr(pk, "package_type");
    pm_mp_pack_cstr(pk, catalog_type_name(co->pkg_type));
    pm_mp_pack_cstr(pk, "coins");
    msgpack_pack_int64(pk, co->pkg_coins);
    pm_mp_pack_cstr(pk, "duration_days");
    msgpack_pack_int64(pk, co->pkg_days);
    pm_mp_pack_cstr(pk, "coins_after");
    rec_pack_opt_int(pk, co->has_coins, co->coins_after);
    pm_mp_pack_cstr(pk, "subscription_until_ms");
    rec_pack_opt_int(pk, co->has_until, co->until_ms);
    pm_mp_pack_cstr(pk, "refund_requested");
    rec_pack_bool(pk, co->refund_requested);
    pm_mp_pack_cstr(pk, "refund_reason");
    rec_pack_opt(pk, co->refund_reason);
    pm_mp_pack_cstr(pk, "reversed");
    rec_pack_bool(pk, co->reversed);
    pm_mp_pack_cstr(pk, "created_ms");
    msgpack_pack_int64(pk, co->created_ms);
    pm_mp_pack_cstr(pk, "updated_ms");
    msgpack_pack_int64(pk, co->updated_ms);
    pm_mp_pack_cstr(pk, "delivered_ms");
    rec_pack_opt_int(pk, co->has_delivered, co->delivered_ms);
    pm_mp_pack_cstr(pk, "commits");
    msgpack_pack_int64(pk, co->commits);
    pm_mp_pack_cstr(pk, "refunds");
    msgpack_pack_int64(pk, co->refunds);
    pm_mp_pack_cstr(pk, "attempts");
    return s_pack_attempts(db, txn, pk, co);
}

void checkout_package(const checkout_t *co, catalog_package_t *pkg)
{
    memset(pkg, 0, sizeof *pkg);
    snprintf(pkg->sku, sizeof pkg->sku, "%s", co->sku);
    snprintf(pkg->name, sizeof pkg->name, "%s", co->pkg_name);
    pkg->price = co->amount;
    pkg->type = co->pkg_type;
    pkg->coins = co->pkg_coins;
    pkg->duration_days = co->pkg_days;
    pkg->platforms = CATALOG_PLATFORMS_ALL;
}
