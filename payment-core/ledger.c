/*  ledger: balance records, ledger entries, crediting. */
#include "ledger.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "rec.h"

#define BALANCE_RECORD_VERSION 1
#define ENTRY_RECORD_VERSION 1
#define S_DAY_MS 86400000LL
#define S_KEY_MAX (PM_PRINCIPAL_MAX + 1 + 8)

const char *ledger_kind_name(ledger_kind_t kind)
{
    static const char *names[] = {"coin_credit", "time_extend", "coin_reversal", "time_reversal"};
    return (unsigned)kind <= LEDGER_TIME_REVERSAL ? names[kind] : "unknown";
}

static const rec_field_t s_balance_fields[] = {
    {REC_I64, offsetof(ledger_balance_t, coins), INT64_MIN, INT64_MAX, 0, NULL},
    {REC_I64_OPT, offsetof(ledger_balance_t, subscription_until_ms), INT64_MIN, INT64_MAX,
     offsetof(ledger_balance_t, has_until), NULL},
    {REC_I64, offsetof(ledger_balance_t, next_seq), 1, INT64_MAX, 0, NULL}, /* a uint64_t */
};
static const rec_schema_t s_balance_schema = {
    "balance", BALANCE_RECORD_VERSION, sizeof(ledger_balance_t), REC_FIELDS(s_balance_fields)};

static const rec_field_t s_entry_fields[] = {
    {REC_I64, offsetof(ledger_entry_t, seq), 1, INT64_MAX, 0, NULL}, /* a uint64_t */
    {REC_I64, offsetof(ledger_entry_t, at_ms), INT64_MIN, INT64_MAX, 0, NULL},
    {REC_ENUM, offsetof(ledger_entry_t, kind), LEDGER_COIN_CREDIT, LEDGER_TIME_REVERSAL, 0, NULL},
    {REC_I64, offsetof(ledger_entry_t, coins_delta), INT64_MIN, INT64_MAX, 0, NULL},
    {REC_I64, offsetof(ledger_entry_t, time_delta_ms), INT64_MIN, INT64_MAX, 0, NULL},
    {REC_STR, offsetof(ledger_entry_t, purchase_serial), 1, LEDGER_SERIAL_MAX, 0, NULL},
    {REC_I64, offsetof(ledger_entry_t, coins_after), INT64_MIN, INT64_MAX, 0, NULL},
    {REC_I64_OPT, offsetof(ledger_entry_t, subscription_until_ms), INT64_MIN, INT64_MAX,
     offsetof(ledger_entry_t, has_until), NULL},
};
static const rec_schema_t s_entry_schema = {"ledger entry", ENTRY_RECORD_VERSION,
                                            sizeof(ledger_entry_t), REC_FIELDS(s_entry_fields)};
_Static_assert(sizeof(ledger_kind_t) == sizeof(int), "stored as REC_ENUM");
_Static_assert(sizeof(uint64_t) == sizeof(int64_t), "seqs stored as REC_I64");

int ledger_balance(db_t *db, MDB_txn *txn, const char *principal, ledger_balance_t *b)
{
    assert(db && txn && principal && b);
    int rc = rec_load(db, txn, DB_BALANCES, principal, strlen(principal), &s_balance_schema, b);
    if (rc == MDB_NOTFOUND) {
        memset(b, 0, sizeof *b);
        b->next_seq = 1;
        return 0;
    }
    return rc;
}

static size_t s_entry_key(uint8_t key[S_KEY_MAX], const char *principal, uint64_t seq)
{
    size_t n = strlen(principal);
    assert(n <= PM_PRINCIPAL_MAX);
    memcpy(key, principal, n);
    key[n] = '\0';
    rec_be64_put(key + n + 1, seq);
    return n + 9;
}

/* The principal's balance, and the next entry for serial at now_ms. */
static int s_start(db_t *db, MDB_txn *txn, const char *principal, const char *serial,
                   int64_t now_ms, ledger_balance_t *b, ledger_entry_t *e)
{
    int rc = ledger_balance(db, txn, principal, b);
    if (rc != 0)
        return rc;
    memset(e, 0, sizeof *e);
    e->seq = b->next_seq;
    e->at_ms = now_ms;
    snprintf(e->purchase_serial, sizeof e->purchase_serial, "%s", serial);
    return 0;
}

/* Writes entry e (its seq the balance's next) and the balance it leads to. */
static int s_append(db_t *db, MDB_txn *txn, const char *principal, ledger_balance_t *b,
                    ledger_entry_t *e, ledger_balance_t *after)
{
    b->next_seq++;
    e->coins_after = b->coins;
    e->has_until = b->has_until;
    e->subscription_until_ms = b->subscription_until_ms;

    int rc = rec_save(db, txn, DB_BALANCES, principal, strlen(principal), &s_balance_schema, b);
    if (rc != 0)
        return rc;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    rec_encode(&s_entry_schema, e, &buf);
    uint8_t key[S_KEY_MAX];
    size_t key_len = s_entry_key(key, principal, e->seq);
    rc = db_put(db, txn, DB_LEDGER, key, key_len, buf.data, buf.size, MDB_NOOVERWRITE);
    if (rc == 0)
        *after = *b;
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

/* One delivery of pkg for serial, given (reverse false) or taken back. */
static int s_apply(db_t *db, MDB_txn *txn, const char *principal, const catalog_package_t *pkg,
                   const char *serial, int64_t now_ms, bool reverse, ledger_balance_t *after)
{
    assert(db && txn && principal && pkg && serial && after);
    ledger_balance_t b;
    ledger_entry_t e;
    int rc = s_start(db, txn, principal, serial, now_ms, &b, &e);
    if (rc != 0)
        return rc;
    if (pkg->type == CATALOG_COIN) {
        /* Taking back coins already spent leaves the balance negative: a
         * debt that the next credits pay first. */
        e.kind = reverse ? LEDGER_COIN_REVERSAL : LEDGER_COIN_CREDIT;
        e.coins_delta = reverse ? -pkg->coins : pkg->coins;
        b.coins += e.coins_delta;
    } else if (reverse) {
        e.kind = LEDGER_TIME_REVERSAL;
        e.time_delta_ms = b.has_until ? -pkg->duration_days * S_DAY_MS : 0;
        b.subscription_until_ms += e.time_delta_ms;
    } else {
        e.kind = LEDGER_TIME_EXTEND;
        int64_t from =
            b.has_until && b.subscription_until_ms > now_ms ? b.subscription_until_ms : now_ms;
        e.time_delta_ms = pkg->duration_days * S_DAY_MS;
        int64_t until = from + e.time_delta_ms;
        /* The delta is what the end moved by, so the ledger adds up. */
        e.time_delta_ms = b.has_until ? until - b.subscription_until_ms : e.time_delta_ms;
        b.has_until = true;
        b.subscription_until_ms = until;
    }
    return s_append(db, txn, principal, &b, &e, after);
}

int ledger_credit(db_t *db, MDB_txn *txn, const char *principal, const catalog_package_t *pkg,
                  const char *serial, int64_t now_ms, ledger_balance_t *after)
{
    return s_apply(db, txn, principal, pkg, serial, now_ms, false, after);
}

int ledger_reverse(db_t *db, MDB_txn *txn, const char *principal, const catalog_package_t *pkg,
                   const char *serial, int64_t now_ms, ledger_balance_t *after)
{
    return s_apply(db, txn, principal, pkg, serial, now_ms, true, after);
}

void ledger_pack_entry(msgpack_packer *pk, const ledger_entry_t *e)
{
    msgpack_pack_map(pk, 8);
    pm_mp_pack_cstr(pk, "seq");
    msgpack_pack_uint64(pk, e->seq);
    pm_mp_pack_cstr(pk, "at_ms");
    msgpack_pack_int64(pk, e->at_ms);
    pm_mp_pack_cstr(pk, "kind");
    pm_mp_pack_cstr(pk, ledger_kind_name(e->kind));
    pm_mp_pack_cstr(pk, "coins_delta");
    msgpack_pack_int64(pk, e->coins_delta);
    pm_mp_pack_cstr(pk, "time_delta_ms");
    msgpack_pack_int64(pk, e->time_delta_ms);
    pm_mp_pack_cstr(pk, "purchase_serial");
    pm_mp_pack_cstr(pk, e->purchase_serial);
    pm_mp_pack_cstr(pk, "coins_after");
    msgpack_pack_int64(pk, e->coins_after);
    pm_mp_pack_cstr(pk, "subscription_until_ms");
    rec_pack_opt_int(pk, e->has_until, e->subscription_until_ms);
}

static int s_decode_entry(const MDB_val *v, ledger_entry_t *e)
{
    const char *why = NULL;
    return rec_decode(&s_entry_schema, v->mv_data, v->mv_size, e, &why) == 0 ? 0 : DB_ECORRUPT;
}

int ledger_each(db_t *db, MDB_txn *txn, const char *principal, uint64_t max, ledger_each_fn *fn,
                void *arg)
{
    assert(db && txn && principal && fn);
    ledger_balance_t b;
    int rc = ledger_balance(db, txn, principal, &b);
    if (rc != 0)
        return rc;
    uint64_t first = b.next_seq > max ? b.next_seq - max : 1;
    MDB_cursor *cur = NULL;
    if ((rc = mdb_cursor_open(txn, db_dbi(db, DB_LEDGER), &cur)) != 0)
        return rc;
    uint8_t key[S_KEY_MAX];
    size_t plen = strlen(principal) + 1;
    MDB_val k = {s_entry_key(key, principal, first), key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, key, plen) != 0)
            break;
        ledger_entry_t e;
        if ((rc = s_decode_entry(&v, &e)) != 0) {
            pm_error("ledger entry of %s is corrupt", principal);
            break;
        }
        if ((rc = fn(&e, arg)) != 0)
            break;
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    mdb_cursor_close(cur);
    return rc;
}
