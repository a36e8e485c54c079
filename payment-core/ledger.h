/*  ledger: balances and the per-principal ledger that explains them.
 *
 *    balances  key   principal
 *              value [1, coins, subscription_until_ms|nil, next_seq]
 *    ledger    key   principal '\0' seq (8 bytes big-endian)
 *              value [1, seq, at_ms, kind (0 coin_credit, 1 time_extend,
 *                     2 coin_reversal, 3 time_reversal),
 *                     coins_delta, time_delta_ms, purchase_serial,
 *                     coins_after, subscription_until_ms|nil]
 *
 *  A balance changes only through ledger_credit and ledger_reverse, which writes the new
 *  balance and its ledger entry in the same transaction: replaying the
 *  ledger from seq 1 gives the balance.
 *
 *  Calls return LMDB codes (db.h); DB_ECORRUPT for a bad record. */
#ifndef LEDGER_H
#define LEDGER_H
#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "pm_proto.h"
#include "db.h"

#define LEDGER_LIST_MAX 1000 /* entries an ADMIN_BALANCE reply carries */
#define LEDGER_SERIAL_MAX 31 /* bytes of the serial an entry names */

typedef struct {
    int64_t coins;
    bool has_until;
    int64_t subscription_until_ms; /* Unix ms, when has_until */
    uint64_t next_seq;             /* seq of the next ledger entry, from 1 */
} ledger_balance_t;

typedef enum {
    LEDGER_COIN_CREDIT = 0,
    LEDGER_TIME_EXTEND = 1,
    LEDGER_COIN_REVERSAL = 2, /* a delivery taken back: coins_delta < 0 */
    LEDGER_TIME_REVERSAL = 3, /* time_delta_ms < 0 (0 when there was no end) */
} ledger_kind_t;

/* "coin_credit", "time_extend", "coin_reversal", "time_reversal". */
const char *ledger_kind_name(ledger_kind_t kind);

typedef struct {
    uint64_t seq;
    int64_t at_ms;
    ledger_kind_t kind;
    int64_t coins_delta;
    int64_t time_delta_ms;
    char purchase_serial[LEDGER_SERIAL_MAX + 1];
    int64_t coins_after;
    bool has_until;
    int64_t subscription_until_ms;
} ledger_entry_t;

/* The principal's balance; a principal never credited has a zero balance
 * (returns 0, next_seq 1). */
int ledger_balance(db_t *db, MDB_txn *txn, const char *principal, ledger_balance_t *b);

/* Credits package pkg to principal for purchase `serial` at now_ms: coins
 * for a coin package; for a time package the subscription end becomes
 * max(now, end) + duration_days. Writes the balance and one ledger entry;
 * *after holds the new balance. */
int ledger_credit(db_t *db, MDB_txn *txn, const char *principal, const catalog_package_t *pkg,
                  const char *serial, int64_t now_ms, ledger_balance_t *after);

/* Takes back a delivery of pkg made for serial: coins are debited even
 * below zero (the debt is paid by later credits), a subscription end moves
 * back by the package's duration. One ledger entry, like ledger_credit. */
int ledger_reverse(db_t *db, MDB_txn *txn, const char *principal, const catalog_package_t *pkg,
                   const char *serial, int64_t now_ms, ledger_balance_t *after);

/* Packs the ENTRY map of pm_proto.h. */
void ledger_pack_entry(msgpack_packer *pk, const ledger_entry_t *e);

/* Calls fn for the principal's last `max` entries, oldest first. */
typedef int(ledger_each_fn)(const ledger_entry_t *e, void *arg);
int ledger_each(db_t *db, MDB_txn *txn, const char *principal, uint64_t max, ledger_each_fn *fn,
                void *arg);

#endif
