/*  db: payment-core's LMDB environment, its databases and transactions.
 *
 *  One environment per process, under the data directory, opened with its map
 *  size set before mdb_env_open and without any of LMDB's asynchronous-flush
 *  flags: a committed transaction is on disk when db_commit returns 0.
 *  Every named database (DBI) is opened once, in one transaction, when the
 *  store opens; the schema version lives in `meta`. A lock file in the data
 *  directory keeps a second payment-core off the same data (one writer).
 *
 *  Databases (keys and values are described by the modules that own them):
 *    meta       "schema_version" -> uint32 big-endian
 *    payments   payment.h
 *    idem       idem.h
 *    idem_ttl   idem.h
 *    tokens     auth.h
 *    packages, package_order                  catalog.h
 *    purchases, bazaar_tokens                 purchase.h
 *    balances, ledger                         ledger.h
 *    jobs, jobs_due                           jobs.h
 *    checkouts, checkout_tokens, checkout_attempts   checkout.h
 *    regno_types, regnos                      regno.h
 *    invoices, invoice_lines                  orders.h
 *
 *  Return values: the db_* calls that touch data return an LMDB code: 0,
 *  MDB_NOTFOUND, MDB_MAP_FULL, ..., an errno value, or DB_ECORRUPT when a
 *  stored record does not decode. db_strerror names any of them. */
#ifndef DB_H
#define DB_H
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_SCHEMA_VERSION 1u
/* A stored record failed to decode; outside LMDB's error range. */
#define DB_ECORRUPT (-30700)

typedef enum {
    DB_META,
    DB_PAYMENTS,
    DB_IDEM,
    DB_IDEM_TTL,
    DB_TOKENS,
    DB_PACKAGES,
    DB_PACKAGE_ORDER,
    DB_PURCHASES,
    DB_BAZAAR_TOKENS,
    DB_BALANCES,
    DB_LEDGER,
    DB_JOBS,
    DB_JOBS_DUE,
    DB_CHECKOUTS,
    DB_CHECKOUT_TOKENS,
    DB_CHECKOUT_ATTEMPTS,
    DB_REGNO_TYPES,
    DB_REGNOS,
    DB_INVOICES,
    DB_INVOICE_LINES,
    DB_METHODS,
    DB__COUNT
} db_name_t;

typedef struct db_t db_t;

/* Opens (creating when missing, mkdir -p style) the store in dir with a map of
 * map_size_mb MiB. Returns a new store (caller owns, db_destroy), or NULL
 * with the reason logged: directory not creatable, another process holding
 * the lock, LMDB failure, or a schema version this build does not know. */
db_t *db_open(const char *dir, int64_t map_size_mb);

/* Closes the environment and releases the lock. Safe on NULL and twice. */
void db_destroy(db_t **self_p);

/* Begins a write transaction, or a nested child when parent is non-NULL
 * (LMDB: a child's writes reach the parent only when the child commits, and
 * vanish when it aborts). Returns an LMDB code. */
int db_begin(db_t *self, MDB_txn *parent, MDB_txn **txn);

/* Commits txn (a top-level commit is durable: fsync'd). The transaction is
 * gone afterwards whatever the result. Returns an LMDB code. */
int db_commit(db_t *self, MDB_txn *txn);

/* Aborts *txn and nulls it. Safe on NULL. */
void db_abort(MDB_txn **txn);

/* Begins a read-only transaction: a snapshot of the last commit, never of
 * writes not yet committed. One at a time, and not while a write
 * transaction is open in this thread; end it with db_read_end (the
 * handle is kept and renewed, so this allocates nothing after the first
 * time). Returns an LMDB code. */
int db_read_begin(db_t *self, MDB_txn **txn);
void db_read_end(db_t *self, MDB_txn **txn);

/* Runs fn inside one top-level write transaction: commits when fn returns 0,
 * aborts otherwise. Returns fn's code, or the commit's. */
typedef int(db_txn_fn)(db_t *db, MDB_txn *txn, void *arg);
int db_txn_run(db_t *self, db_txn_fn *fn, void *arg);

/* Reads key from db. On 0, *val views memory owned by LMDB: valid until the
 * transaction ends or writes to that database; copy before keeping. */
int db_get(db_t *self, MDB_txn *txn, db_name_t db, const void *key, size_t key_len, MDB_val *val);

/* Writes key -> value (flags as mdb_put: 0 or MDB_NOOVERWRITE). */
int db_put(db_t *self, MDB_txn *txn, db_name_t db, const void *key, size_t key_len,
           const void *value, size_t value_len, unsigned flags);

/* Deletes key; MDB_NOTFOUND when it is absent. */
int db_del(db_t *self, MDB_txn *txn, db_name_t db, const void *key, size_t key_len);

/* How many db_put and db_del calls were made so far, failed ones
 * included (a failed put may have left its transaction unusable). Every
 * write a request handler makes goes through these two, so an unchanged
 * count means the request wrote nothing. */
uint64_t db_write_calls(const db_t *self);

/* Number of entries in db as seen by txn. */
int db_count(db_t *self, MDB_txn *txn, db_name_t db, uint64_t *count);

/* The handle of db, for cursors. */
MDB_dbi db_dbi(const db_t *self, db_name_t db);

/* A static description of an LMDB code or DB_ECORRUPT. */
const char *db_strerror(int rc);

/* ---- fault injection, for tests ------------------------------------------
 * Real failures (disk full, EIO) are hard to provoke on demand, so the paths
 * that handle them are exercised by making the store fail on purpose. */

/* The next top-level commit after `after` successful ones aborts instead and
 * returns EIO; -1 disarms. */
void db_fail_commit_after(db_t *self, int64_t after);

/* The next put after `after` successful ones fails with MDB_MAP_FULL without
 * writing; -1 disarms. */
void db_fail_put_after(db_t *self, int64_t after);

/* Puts performed so far (successful ones), for sizing the above. */
uint64_t db_put_count(const db_t *self);

/* Every put of key into db fails with MDB_MAP_FULL without writing, until
 * called again (key_len 0 disarms): a failure that comes back when the
 * same request is run again, as a value LMDB refuses or a full map does. */
#define DB_FAIL_KEY_MAX 512
void db_fail_put_key(db_t *self, db_name_t db, const void *key, size_t key_len);

#endif
