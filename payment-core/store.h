/*  store: payment-core's LMDB environment, its databases and transactions.
 *
 *  One environment per process, under the data directory, opened with its map
 *  size set before mdb_env_open and without any of LMDB's asynchronous-flush
 *  flags: a committed transaction is on disk when store_commit returns 0.
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
 *
 *  Return values: the store_* calls that touch data return an LMDB code: 0,
 *  MDB_NOTFOUND, MDB_MAP_FULL, ..., an errno value, or STORE_ECORRUPT when a
 *  stored record does not decode. store_strerror names any of them. */
#ifndef STORE_H
#define STORE_H
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 1u
/* A stored record failed to decode; outside LMDB's error range. */
#define STORE_ECORRUPT (-30700)

typedef enum {
    STORE_DB_META,
    STORE_DB_PAYMENTS,
    STORE_DB_IDEM,
    STORE_DB_IDEM_TTL,
    STORE_DB_TOKENS,
    STORE_DB_PACKAGES,
    STORE_DB_PACKAGE_ORDER,
    STORE_DB_PURCHASES,
    STORE_DB_BAZAAR_TOKENS,
    STORE_DB_BALANCES,
    STORE_DB_LEDGER,
    STORE_DB_JOBS,
    STORE_DB_JOBS_DUE,
    STORE_DB__COUNT
} store_db_t;

typedef struct store_t store_t;

/* Opens (creating when missing, mkdir -p style) the store in dir with a map of
 * map_size_mb MiB. Returns a new store (caller owns, store_destroy), or NULL
 * with the reason logged: directory not creatable, another process holding
 * the lock, LMDB failure, or a schema version this build does not know. */
store_t *store_open(const char *dir, int64_t map_size_mb);

/* Closes the environment and releases the lock. Safe on NULL and twice. */
void store_destroy(store_t **self_p);

/* Begins a write transaction, or a nested child when parent is non-NULL
 * (LMDB: a child's writes reach the parent only when the child commits, and
 * vanish when it aborts). Returns an LMDB code. */
int store_begin(store_t *self, MDB_txn *parent, MDB_txn **txn);

/* Commits txn (a top-level commit is durable: fsync'd). The transaction is
 * gone afterwards whatever the result. Returns an LMDB code. */
int store_commit(store_t *self, MDB_txn *txn);

/* Aborts *txn and nulls it. Safe on NULL. */
void store_abort(MDB_txn **txn);

/* Begins a read-only transaction: a snapshot of the last commit, never of
 * writes not yet committed. One at a time, and not while a write
 * transaction is open in this thread; end it with store_read_end (the
 * handle is kept and renewed, so this allocates nothing after the first
 * time). Returns an LMDB code. */
int store_read_begin(store_t *self, MDB_txn **txn);
void store_read_end(store_t *self, MDB_txn **txn);

/* Runs fn inside one top-level write transaction: commits when fn returns 0,
 * aborts otherwise. Returns fn's code, or the commit's. */
typedef int(store_txn_fn)(store_t *store, MDB_txn *txn, void *arg);
int store_txn_run(store_t *self, store_txn_fn *fn, void *arg);

/* Reads key from db. On 0, *val views memory owned by LMDB: valid until the
 * transaction ends or writes to that database; copy before keeping. */
int store_get(store_t *self, MDB_txn *txn, store_db_t db, const void *key, size_t key_len,
              MDB_val *val);

/* Writes key -> value (flags as mdb_put: 0 or MDB_NOOVERWRITE). */
int store_put(store_t *self, MDB_txn *txn, store_db_t db, const void *key, size_t key_len,
              const void *value, size_t value_len, unsigned flags);

/* Deletes key; MDB_NOTFOUND when it is absent. */
int store_del(store_t *self, MDB_txn *txn, store_db_t db, const void *key, size_t key_len);

/* How many store_put and store_del calls were made so far, failed ones
 * included (a failed put may have left its transaction unusable). Every
 * write a request handler makes goes through these two, so an unchanged
 * count means the request wrote nothing. */
uint64_t store_write_calls(const store_t *self);

/* Number of entries in db as seen by txn. */
int store_count(store_t *self, MDB_txn *txn, store_db_t db, uint64_t *count);

/* The handle of db, for cursors. */
MDB_dbi store_dbi(const store_t *self, store_db_t db);

/* A static description of an LMDB code or STORE_ECORRUPT. */
const char *store_strerror(int rc);

/* ---- fault injection, for tests ------------------------------------------
 * Real failures (disk full, EIO) are hard to provoke on demand, so the paths
 * that handle them are exercised by making the store fail on purpose. */

/* The next top-level commit after `after` successful ones aborts instead and
 * returns EIO; -1 disarms. */
void store_fail_commit_after(store_t *self, int64_t after);

/* The next put after `after` successful ones fails with MDB_MAP_FULL without
 * writing; -1 disarms. */
void store_fail_put_after(store_t *self, int64_t after);

/* Puts performed so far (successful ones), for sizing the above. */
uint64_t store_put_count(const store_t *self);

/* Every put of key into db fails with MDB_MAP_FULL without writing, until
 * called again (key_len 0 disarms): a failure that comes back when the
 * same request is run again, as a value LMDB refuses or a full map does. */
#define STORE_FAIL_KEY_MAX 512
void store_fail_put_key(store_t *self, store_db_t db, const void *key, size_t key_len);

#endif
