/*  idem: idempotency records and their sweep. */
#include "idem.h"

#include <assert.h>
#include <msgpack.h>
#include <sodium.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"

#define IDEM_RECORD_VERSION 1
#define IDEM_RECORD_FIELDS 5
#define IDEM_TTL_KEY_MAX (8 + IDEM_KEY_MAX)

enum { IDEM_STATE_IN_PROGRESS = 0, IDEM_STATE_DONE = 1 };

/* A decoded record; reply views the stored value. */
typedef struct {
    int state;
    int64_t created_ms;
    uint8_t fp[IDEM_FP_LEN];
    const void *reply;
    size_t reply_len;
} s_record_t;

int idem_key_make(idem_key_t *key, const char *principal, const char *token, size_t token_len)
{
    assert(key && principal && token);
    size_t plen = strlen(principal);
    if (plen > PM_PRINCIPAL_MAX || token_len == 0 || token_len > IDEM_TOKEN_MAX ||
        memchr(token, '\0', token_len))
        return -1;
    memcpy(key->bytes, principal, plen);
    key->bytes[plen] = '\0';
    memcpy(key->bytes + plen + 1, token, token_len);
    key->len = plen + 1 + token_len;
    return 0;
}

void idem_fingerprint(uint32_t type, const void *body, size_t body_len, uint8_t out[IDEM_FP_LEN])
{
    assert(out && (body || body_len == 0));
    uint8_t be[4] = {type >> 24, (type >> 16) & 0xff, (type >> 8) & 0xff, type & 0xff};
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, IDEM_FP_LEN);
    crypto_generichash_update(&st, be, sizeof be);
    crypto_generichash_update(&st, body, body_len);
    crypto_generichash_final(&st, out, IDEM_FP_LEN);
}

static void s_encode(msgpack_sbuffer *buf, int state, int64_t created_ms,
                     const uint8_t fp[IDEM_FP_LEN], const void *reply, size_t reply_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, IDEM_RECORD_FIELDS);
    msgpack_pack_uint32(&pk, IDEM_RECORD_VERSION);
    msgpack_pack_uint32(&pk, (uint32_t)state);
    msgpack_pack_int64(&pk, created_ms);
    msgpack_pack_bin(&pk, IDEM_FP_LEN);
    msgpack_pack_bin_body(&pk, fp, IDEM_FP_LEN);
    if (state == IDEM_STATE_DONE) {
        msgpack_pack_bin(&pk, reply_len);
        msgpack_pack_bin_body(&pk, reply, reply_len);
    } else {
        msgpack_pack_nil(&pk);
    }
}

/* Strict decode; the views in *r point into data. */
static int s_decode(const void *data, size_t size, s_record_t *r)
{
    msgpack_unpacked u;
    const msgpack_object *f;
    const char *why;
    int rc = -1;
    if (pm_mp_unpack_record(data, size, IDEM_RECORD_VERSION, IDEM_RECORD_FIELDS, &u, &f, &why) != 0)
        goto destroy_unpacked;
    if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[1].via.u64 > IDEM_STATE_DONE)
        goto destroy_unpacked;
    r->state = (int)f[1].via.u64;
    if (f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[2].via.u64 > INT64_MAX)
        goto destroy_unpacked;
    r->created_ms = (int64_t)f[2].via.u64;
    if (f[3].type != MSGPACK_OBJECT_BIN || f[3].via.bin.size != IDEM_FP_LEN)
        goto destroy_unpacked;
    memcpy(r->fp, f[3].via.bin.ptr, IDEM_FP_LEN);
    if (r->state == IDEM_STATE_DONE) {
        if (f[4].type != MSGPACK_OBJECT_BIN)
            goto destroy_unpacked;
        /* The unpacked bin points into data, which outlives u. */
        r->reply = f[4].via.bin.ptr;
        r->reply_len = f[4].via.bin.size;
    } else {
        if (f[4].type != MSGPACK_OBJECT_NIL)
            goto destroy_unpacked;
        r->reply = NULL;
        r->reply_len = 0;
    }
    rc = 0;
destroy_unpacked:
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* Loads and decodes key's record; DB_ECORRUPT (logged) if it is bad. */
static int s_load(db_t *db, MDB_txn *txn, const idem_key_t *key, s_record_t *r)
{
    MDB_val val;
    int rc = db_get(db, txn, DB_IDEM, key->bytes, key->len, &val);
    if (rc != 0)
        return rc;
    if (s_decode(val.mv_data, val.mv_size, r) != 0) {
        pm_error("idempotency record of principal %s is corrupt", (const char *)key->bytes);
        return DB_ECORRUPT;
    }
    return 0;
}

static size_t s_ttl_key(uint8_t out[IDEM_TTL_KEY_MAX], int64_t created_ms, const idem_key_t *key)
{
    uint64_t t = (uint64_t)created_ms;
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(t >> (56 - 8 * i));
    memcpy(out + 8, key->bytes, key->len);
    return 8 + key->len;
}

/* Writes a new record and its ttl entry. */
static int s_insert(db_t *db, MDB_txn *txn, const idem_key_t *key, int state,
                    const uint8_t fp[IDEM_FP_LEN], int64_t now_ms, const void *reply,
                    size_t reply_len)
{
    assert(now_ms >= 0);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_encode(&buf, state, now_ms, fp, reply, reply_len);
    int rc = db_put(db, txn, DB_IDEM, key->bytes, key->len, buf.data, buf.size, MDB_NOOVERWRITE);
    if (rc != 0)
        goto destroy_buf;
    uint8_t ttl[IDEM_TTL_KEY_MAX];
    size_t ttl_len = s_ttl_key(ttl, now_ms, key);
    rc = db_put(db, txn, DB_IDEM_TTL, ttl, ttl_len, "", 0, 0);
destroy_buf:
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

int idem_lookup(db_t *db, MDB_txn *txn, const idem_key_t *key, const uint8_t fp[IDEM_FP_LEN],
                idem_state_t *state, const void **reply, size_t *reply_len)
{
    assert(db && txn && key && fp && state);
    s_record_t r;
    int rc = s_load(db, txn, key, &r);
    if (rc == MDB_NOTFOUND) {
        *state = IDEM_NEW;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (sodium_memcmp(r.fp, fp, IDEM_FP_LEN) != 0)
        *state = IDEM_MISMATCH;
    else if (r.state == IDEM_STATE_IN_PROGRESS)
        *state = IDEM_IN_PROGRESS;
    else
        *state = IDEM_REPLAY;
    if (reply && reply_len) {
        *reply = r.reply;
        *reply_len = r.reply_len;
    }
    return 0;
}

int idem_begin(db_t *db, MDB_txn *txn, const idem_key_t *key, const uint8_t fp[IDEM_FP_LEN],
               int64_t now_ms)
{
    assert(db && txn && key && fp);
    return s_insert(db, txn, key, IDEM_STATE_IN_PROGRESS, fp, now_ms, NULL, 0);
}

int idem_put_done(db_t *db, MDB_txn *txn, const idem_key_t *key, const uint8_t fp[IDEM_FP_LEN],
                  int64_t now_ms, const void *reply, size_t reply_len)
{
    assert(db && txn && key && fp && (reply || reply_len == 0));
    return s_insert(db, txn, key, IDEM_STATE_DONE, fp, now_ms, reply, reply_len);
}

int idem_complete(db_t *db, MDB_txn *txn, const idem_key_t *key, const void *reply,
                  size_t reply_len)
{
    assert(db && txn && key && (reply || reply_len == 0));
    s_record_t r;
    int rc = s_load(db, txn, key, &r);
    if (rc != 0)
        return rc;
    if (r.state != IDEM_STATE_IN_PROGRESS)
        return MDB_KEYEXIST;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_encode(&buf, IDEM_STATE_DONE, r.created_ms, r.fp, reply, reply_len);
    rc = db_put(db, txn, DB_IDEM, key->bytes, key->len, buf.data, buf.size, 0);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

int idem_sweep(db_t *db, MDB_txn *txn, int64_t cutoff_ms, size_t max, size_t *deleted)
{
    assert(db && txn && deleted);
    *deleted = 0;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, db_dbi(db, DB_IDEM_TTL), &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0 && *deleted < max) {
        if (k.mv_size > 8) {
            const uint8_t *b = k.mv_data;
            uint64_t t = 0;
            for (int i = 0; i < 8; i++)
                t = t << 8 | b[i];
            if (t > INT64_MAX || (int64_t)t >= cutoff_ms)
                break;
            rc = db_del(db, txn, DB_IDEM, b + 8, k.mv_size - 8);
            if (rc != 0 && rc != MDB_NOTFOUND)
                goto close_cursor;
        } else {
            pm_warn("idempotency ttl entry of %zu bytes is corrupt; deleting it", k.mv_size);
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0)
            goto close_cursor;
        (*deleted)++;
        /* After a delete the cursor already stands on the next entry; LMDB's
         * MDB_NEXT knows this and returns that entry. */
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
close_cursor:
    mdb_cursor_close(cur);
    return rc;
}
