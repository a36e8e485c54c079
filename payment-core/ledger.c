/*  ledger: balance records, ledger entries, crediting. */
#include "ledger.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "rec.h"

#define BALANCE_RECORD_VERSION 1
#define BALANCE_RECORD_FIELDS 4
#define ENTRY_RECORD_VERSION 1
#define ENTRY_RECORD_FIELDS 9
#define S_DAY_MS 86400000LL
#define S_KEY_MAX (PM_PRINCIPAL_MAX + 1 + 8)

const char *ledger_kind_name(ledger_kind_t kind)
{
    static const char *names[] = {"coin_credit", "time_extend", "coin_reversal", "time_reversal"};
    return (unsigned)kind <= LEDGER_TIME_REVERSAL ? names[kind] : "unknown";
}

static void s_pack_opt_int(msgpack_packer *pk, bool has, int64_t v)
{
    if (has)
        msgpack_pack_int64(pk, v);
    else
        msgpack_pack_nil(pk);
}

int ledger_balance(db_t *db, MDB_txn *txn, const char *principal, ledger_balance_t *b)
{
    assert(db && txn && principal && b);
    memset(b, 0, sizeof *b);
    b->next_seq = 1;
    MDB_val val;
    int rc = db_get(db, txn, DB_BALANCES, principal, strlen(principal), &val);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    msgpack_unpacked u;
    const msgpack_object *f;
    const char *why = NULL;
    int64_t next = 0;
    rc = DB_ECORRUPT;
    if (pm_mp_unpack_record(val.mv_data, val.mv_size, BALANCE_RECORD_VERSION, BALANCE_RECORD_FIELDS,
                            &u, &f, &why) != 0)
        goto destroy_unpacked;
    bool nil = false;
    why = "bad field";
    if (rec_int(&f[1], &b->coins) != 0 || rec_int_opt(&f[2], &b->subscription_until_ms, &nil) ||
        rec_int(&f[3], &next) != 0 || next < 1)
        goto destroy_unpacked;
    b->has_until = !nil;
    b->next_seq = (uint64_t)next;
    rc = 0;
destroy_unpacked:
    msgpack_unpacked_destroy(&u);
    if (rc != 0)
        pm_error("balance record of %s is corrupt: %s", principal, why);
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

    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, BALANCE_RECORD_FIELDS);
    msgpack_pack_uint32(&pk, BALANCE_RECORD_VERSION);
    msgpack_pack_int64(&pk, b->coins);
    s_pack_opt_int(&pk, b->has_until, b->subscription_until_ms);
    msgpack_pack_uint64(&pk, b->next_seq);
    int rc = db_put(db, txn, DB_BALANCES, principal, strlen(principal), buf.data, buf.size, 0);
    if (rc != 0)
        goto destroy_buf;
    msgpack_sbuffer_clear(&buf);
    msgpack_pack_array(&pk, ENTRY_RECORD_FIELDS);
    msgpack_pack_uint32(&pk, ENTRY_RECORD_VERSION);
    msgpack_pack_uint64(&pk, e->seq);
    msgpack_pack_int64(&pk, e->at_ms);
    msgpack_pack_uint32(&pk, (uint32_t)e->kind);
    msgpack_pack_int64(&pk, e->coins_delta);
    msgpack_pack_int64(&pk, e->time_delta_ms);
    pm_mp_pack_cstr(&pk, e->purchase_serial);
    msgpack_pack_int64(&pk, e->coins_after);
    s_pack_opt_int(&pk, e->has_until, e->subscription_until_ms);
    uint8_t key[S_KEY_MAX];
    size_t key_len = s_entry_key(key, principal, e->seq);
    rc = db_put(db, txn, DB_LEDGER, key, key_len, buf.data, buf.size, MDB_NOOVERWRITE);
    if (rc == 0)
        *after = *b;
destroy_buf:
    msgpack_sbuffer_destroy(&buf);
    return rc;
}

int ledger_credit(db_t *db, MDB_txn *txn, const char *principal, const catalog_package_t *pkg,
                  const char *serial, int64_t now_ms, ledger_balance_t *after)
{
    assert(db && txn && principal && pkg && serial && after);
    ledger_balance_t b;
    ledger_entry_t e;
    int rc = s_start(db, txn, principal, serial, now_ms, &b, &e);
    if (rc != 0)
        return rc;
    if (pkg->type == CATALOG_COIN) {
        e.kind = LEDGER_COIN_CREDIT;
        e.coins_delta = pkg->coins;
        b.coins += pkg->coins;
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

int ledger_reverse(db_t *db, MDB_txn *txn, const char *principal, const catalog_package_t *pkg,
                   const char *serial, int64_t now_ms, ledger_balance_t *after)
{
    assert(db && txn && principal && pkg && serial && after);
    ledger_balance_t b;
    ledger_entry_t e;
    int rc = s_start(db, txn, principal, serial, now_ms, &b, &e);
    if (rc != 0)
        return rc;
    if (pkg->type == CATALOG_COIN) {
        /* Coins already spent leave the balance negative: a debt that the
         * next credits pay first. */
        e.kind = LEDGER_COIN_REVERSAL;
        e.coins_delta = -pkg->coins;
        b.coins -= pkg->coins;
    } else {
        e.kind = LEDGER_TIME_REVERSAL;
        e.time_delta_ms = b.has_until ? -pkg->duration_days * S_DAY_MS : 0;
        b.subscription_until_ms += e.time_delta_ms;
    }
    return s_append(db, txn, principal, &b, &e, after);
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
    s_pack_opt_int(pk, e->has_until, e->subscription_until_ms);
}

static int s_decode_entry(const MDB_val *v, ledger_entry_t *e)
{
    memset(e, 0, sizeof *e);
    msgpack_unpacked u;
    const msgpack_object *f;
    const char *why = NULL;
    int64_t seq = 0, kind = 0;
    bool nil = false;
    int rc = DB_ECORRUPT;
    if (pm_mp_unpack_record(v->mv_data, v->mv_size, ENTRY_RECORD_VERSION, ENTRY_RECORD_FIELDS, &u,
                            &f, &why) != 0)
        goto destroy_unpacked;
    if (rec_int(&f[1], &seq) != 0 || seq < 1 || rec_int(&f[2], &e->at_ms) != 0 ||
        rec_int(&f[3], &kind) != 0 || kind < LEDGER_COIN_CREDIT || kind > LEDGER_TIME_REVERSAL ||
        rec_int(&f[4], &e->coins_delta) != 0 || rec_int(&f[5], &e->time_delta_ms) != 0 ||
        rec_str(&f[6], e->purchase_serial, 1, sizeof e->purchase_serial - 1, false) != 0 ||
        rec_int(&f[7], &e->coins_after) != 0 ||
        rec_int_opt(&f[8], &e->subscription_until_ms, &nil) != 0)
        goto destroy_unpacked;
    e->seq = (uint64_t)seq;
    e->kind = (ledger_kind_t)kind;
    e->has_until = !nil;
    rc = 0;
destroy_unpacked:
    msgpack_unpacked_destroy(&u);
    return rc;
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
