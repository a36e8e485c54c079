/*  purchase: purchase and token records, serials. */
#include "purchase.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "rec.h"

#define PURCHASE_RECORD_VERSION 1
#define PURCHASE_RECORD_FIELDS 9
#define PTOKEN_RECORD_VERSION 1
#define PTOKEN_RECORD_FIELDS 3
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

void purchase_encode(const purchase_t *p, msgpack_sbuffer *buf)
{
    assert(p && buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, PURCHASE_RECORD_FIELDS);
    msgpack_pack_uint32(&pk, PURCHASE_RECORD_VERSION);
    pm_mp_pack_cstr(&pk, p->serial);
    pm_mp_pack_cstr(&pk, p->principal);
    pm_mp_pack_cstr(&pk, p->sku);
    msgpack_pack_uint32(&pk, (uint32_t)p->state);
    rec_pack_opt(&pk, p->token);
    if (p->has_coins)
        msgpack_pack_int64(&pk, p->coins_after);
    else
        msgpack_pack_nil(&pk);
    msgpack_pack_int64(&pk, p->created_ms);
    msgpack_pack_int64(&pk, p->updated_ms);
}

int purchase_decode(const void *data, size_t size, purchase_t *p, const char **why)
{
    assert(p && why);
    memset(p, 0, sizeof *p);
    msgpack_unpacked u;
    const msgpack_object *f;
    int rc = -1;
    int64_t state = 0;
    bool nil = false;
    if (pm_mp_unpack_record(data, size, PURCHASE_RECORD_VERSION, PURCHASE_RECORD_FIELDS, &u, &f,
                            why) != 0)
        goto destroy_unpacked;
    *why = "bad field";
    if (rec_str(&f[1], p->serial, PURCHASE_SERIAL_LEN, PURCHASE_SERIAL_LEN, false) != 0 ||
        !purchase_serial_valid(p->serial, PURCHASE_SERIAL_LEN) ||
        rec_str(&f[2], p->principal, 1, PM_PRINCIPAL_MAX, false) != 0 ||
        rec_str(&f[3], p->sku, 1, CATALOG_SKU_MAX, false) != 0 || rec_int(&f[4], &state) != 0 ||
        state < 0 || state > PURCHASE_COMPLETED ||
        rec_str(&f[5], p->token, 1, PURCHASE_TOKEN_MAX, true) != 0 ||
        rec_int_opt(&f[6], &p->coins_after, &nil) != 0 || rec_int(&f[7], &p->created_ms) != 0 ||
        rec_int(&f[8], &p->updated_ms) != 0)
        goto destroy_unpacked;
    p->state = (purchase_state_t)state;
    p->has_coins = !nil;
    /* The state says which optional fields are set. */
    if ((p->state == PURCHASE_IN_PROGRESS && (p->token[0] || p->has_coins)) ||
        (p->state == PURCHASE_VALIDATING && (!p->token[0] || p->has_coins)) ||
        (p->state == PURCHASE_COMPLETED && (!p->token[0] || !p->has_coins))) {
        *why = "fields do not match the state";
        goto destroy_unpacked;
    }
    rc = 0;
destroy_unpacked:
    msgpack_unpacked_destroy(&u);
    return rc;
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
    if (p->has_coins)
        msgpack_pack_int64(pk, p->coins_after);
    else
        msgpack_pack_nil(pk);
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
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    purchase_encode(p, &buf);
    int rc = db_put(db, txn, DB_PURCHASES, p->serial, PURCHASE_SERIAL_LEN, buf.data, buf.size, 0);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

int ptoken_load(db_t *db, MDB_txn *txn, const char *token, ptoken_t *t)
{
    assert(db && txn && token && t);
    memset(t, 0, sizeof *t);
    MDB_val val;
    int rc = db_get(db, txn, DB_BAZAAR_TOKENS, token, strlen(token), &val);
    if (rc != 0)
        return rc;
    msgpack_unpacked u;
    const msgpack_object *f;
    const char *why = NULL;
    int64_t state = 0;
    rc = DB_ECORRUPT;
    if (pm_mp_unpack_record(val.mv_data, val.mv_size, PTOKEN_RECORD_VERSION, PTOKEN_RECORD_FIELDS,
                            &u, &f, &why) != 0)
        goto destroy_unpacked;
    why = "bad field";
    if (rec_str(&f[1], t->serial, PURCHASE_SERIAL_LEN, PURCHASE_SERIAL_LEN, false) != 0 ||
        rec_int(&f[2], &state) != 0 || (state != PTOKEN_RESERVED && state != PTOKEN_USED))
        goto destroy_unpacked;
    t->state = (ptoken_state_t)state;
    rc = 0;
destroy_unpacked:
    msgpack_unpacked_destroy(&u);
    if (rc != 0)
        pm_error("bazaar token record is corrupt: %s", why);
    return rc;
}

int ptoken_save(db_t *db, MDB_txn *txn, const char *token, const ptoken_t *t)
{
    assert(db && txn && token && t);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, PTOKEN_RECORD_FIELDS);
    msgpack_pack_uint32(&pk, PTOKEN_RECORD_VERSION);
    pm_mp_pack_cstr(&pk, t->serial);
    msgpack_pack_uint32(&pk, (uint32_t)t->state);
    int rc = db_put(db, txn, DB_BAZAAR_TOKENS, token, strlen(token), buf.data, buf.size, 0);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

int ptoken_delete(db_t *db, MDB_txn *txn, const char *token)
{
    assert(db && txn && token);
    return db_del(db, txn, DB_BAZAAR_TOKENS, token, strlen(token));
}
