/*  purchase: purchase and token records, serials. */
#include "purchase.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <sodium.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "rec.h"

#define PURCHASE_RECORD_VERSION 1
#define PTOKEN_RECORD_VERSION 1
#define S_SERIAL_TRIES 16

static const char *s_state_names[] = {"in_progress", "validating", "completed"};

const char *purchase_state_name(purchase_state_t state)
{
    if ((unsigned)state > PURCHASE_COMPLETED)
        return "unknown";
    return s_state_names[state];
}

bool purchase_serial_valid(const char *serial, size_t len)
{
    if (!serial || len != PURCHASE_SERIAL_LEN || serial[0] == '0')
        return false;
    for (size_t i = 0; i < len; i++)
        if (serial[i] < '0' || serial[i] > '9')
            return false;
    return true;
}

bool purchase_token_valid(const char *token, size_t len)
{
    if (!token || len == 0 || len > PURCHASE_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (token[i] < 0x21 || token[i] > 0x7e)
            return false;
    return true;
}

int purchase_serial_new(db_t *db, MDB_txn *txn, char out[PURCHASE_SERIAL_LEN + 1])
{
    assert(db && txn && out);
    for (int attempt = 0; attempt < S_SERIAL_TRIES; attempt++) {
        out[0] = (char)('1' + randombytes_uniform(9));
        for (int i = 1; i < PURCHASE_SERIAL_LEN; i++)
            out[i] = (char)('0' + randombytes_uniform(10));
        out[PURCHASE_SERIAL_LEN] = '\0';
        MDB_val val;
        int rc = db_get(db, txn, DB_PURCHASES, out, PURCHASE_SERIAL_LEN, &val);
        if (rc == MDB_NOTFOUND)
            return 0;
        if (rc != 0)
            return rc;
    }
    return EEXIST;
}

static const rec_field_t s_purchase_fields[] = {
    {REC_STR, offsetof(purchase_t, serial), PURCHASE_SERIAL_LEN, PURCHASE_SERIAL_LEN, 0, NULL},
    {REC_STR, offsetof(purchase_t, principal), 1, PM_PRINCIPAL_MAX, 0, NULL},
    {REC_STR, offsetof(purchase_t, sku), 1, CATALOG_SKU_MAX, 0, NULL},
    {REC_ENUM, offsetof(purchase_t, state), 0, PURCHASE_COMPLETED, 0, NULL},
    {REC_STR_OPT, offsetof(purchase_t, token), 1, PURCHASE_TOKEN_MAX, 0, NULL},
    {REC_I64_OPT, offsetof(purchase_t, coins_after), INT64_MIN, INT64_MAX,
     offsetof(purchase_t, has_coins), NULL},
    {REC_I64, offsetof(purchase_t, created_ms), INT64_MIN, INT64_MAX, 0, NULL},
    {REC_I64, offsetof(purchase_t, updated_ms), INT64_MIN, INT64_MAX, 0, NULL},
};
static const rec_schema_t s_purchase_schema = {"purchase", PURCHASE_RECORD_VERSION,
                                               sizeof(purchase_t), REC_FIELDS(s_purchase_fields)};
_Static_assert(sizeof(purchase_state_t) == sizeof(int), "stored as REC_ENUM");

void purchase_encode(const purchase_t *p, msgpack_sbuffer *buf)
{
    assert(p && buf);
    rec_encode(&s_purchase_schema, p, buf);
}

int purchase_decode(const void *data, size_t size, purchase_t *p, const char **why)
{
    assert(p && why);
    if (rec_decode(&s_purchase_schema, data, size, p, why) != 0)
        return -1;
    if (!purchase_serial_valid(p->serial, PURCHASE_SERIAL_LEN)) {
        *why = "bad serial";
        return -1;
    }
    /* The state says which optional fields are set. */
    if ((p->state == PURCHASE_IN_PROGRESS && (p->token[0] || p->has_coins)) ||
        (p->state == PURCHASE_VALIDATING && (!p->token[0] || p->has_coins)) ||
        (p->state == PURCHASE_COMPLETED && (!p->token[0] || !p->has_coins))) {
        *why = "fields do not match the state";
        return -1;
    }
    return 0;
}

void purchase_pack(msgpack_packer *pk, const purchase_t *p)
{
    assert(pk && p);
    msgpack_pack_map(pk, 5);
    pm_mp_pack_cstr(pk, "serial");
    pm_mp_pack_cstr(pk, p->serial);
    pm_mp_pack_cstr(pk, "sku");
    pm_mp_pack_cstr(pk, p->sku);
    pm_mp_pack_cstr(pk, "state");
    pm_mp_pack_cstr(pk, purchase_state_name(p->state));
    pm_mp_pack_cstr(pk, "ref_id");
    rec_pack_opt(pk, p->token);
    pm_mp_pack_cstr(pk, "coins");
    rec_pack_opt_int(pk, p->has_coins, p->coins_after);
}

int purchase_load(db_t *db, MDB_txn *txn, const char *serial, purchase_t *p)
{
    assert(db && txn && serial && p);
    MDB_val val;
    int rc = db_get(db, txn, DB_PURCHASES, serial, strlen(serial), &val);
    if (rc != 0)
        return rc;
    const char *why = NULL;
    if (purchase_decode(val.mv_data, val.mv_size, p, &why) != 0 || strcmp(p->serial, serial)) {
        pm_error("purchase record %s is corrupt: %s", serial, why ? why : "serial differs");
        return DB_ECORRUPT;
    }
    return 0;
}

int purchase_save(db_t *db, MDB_txn *txn, const purchase_t *p)
{
    assert(db && txn && p && purchase_serial_valid(p->serial, strlen(p->serial)));
    return rec_save(db, txn, DB_PURCHASES, p->serial, PURCHASE_SERIAL_LEN, &s_purchase_schema, p);
}

static const rec_field_t s_ptoken_fields[] = {
    {REC_STR, offsetof(ptoken_t, serial), PURCHASE_SERIAL_LEN, PURCHASE_SERIAL_LEN, 0, NULL},
    {REC_ENUM, offsetof(ptoken_t, state), PTOKEN_RESERVED, PTOKEN_USED, 0, NULL},
};
static const rec_schema_t s_ptoken_schema = {"bazaar token", PTOKEN_RECORD_VERSION,
                                             sizeof(ptoken_t), REC_FIELDS(s_ptoken_fields)};
_Static_assert(sizeof(ptoken_state_t) == sizeof(int), "stored as REC_ENUM");

int ptoken_load(db_t *db, MDB_txn *txn, const char *token, ptoken_t *t)
{
    assert(db && txn && token && t);
    return rec_load(db, txn, DB_BAZAAR_TOKENS, token, strlen(token), &s_ptoken_schema, t);
}

int ptoken_save(db_t *db, MDB_txn *txn, const char *token, const ptoken_t *t)
{
    assert(db && txn && token && t);
    return rec_save(db, txn, DB_BAZAAR_TOKENS, token, strlen(token), &s_ptoken_schema, t);
}

int ptoken_delete(db_t *db, MDB_txn *txn, const char *token)
{
    assert(db && txn && token);
    return db_del(db, txn, DB_BAZAAR_TOKENS, token, strlen(token));
}
