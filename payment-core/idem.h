/*  idem: idempotency records, Stripe style.
 *
 *  A write request carries an idempotency token, scoped to the caller's
 *  principal. The first request with a key stores a fingerprint of itself
 *  and, once decided, the reply body it got; a later request with the same
 *  key either replays that body byte for byte (same fingerprint), is refused
 *  (different fingerprint), or is told the first is still in progress.
 *
 *    idem      key   principal '\0' token
 *              value [1, state (0 in_progress, 1 done), created_ms,
 *                     fingerprint bin(16), reply body bin | nil]
 *    idem_ttl  key   created_ms (8 bytes big-endian) principal '\0' token
 *              value empty; ordered by age, so the sweep reads the oldest first
 *
 *  A flow that finishes within one transaction stores the key done at once
 *  (idem_put_done). A flow that spans loop turns (a provider call) calls
 *  idem_begin, commits, and later idem_complete; meanwhile a repeat is told
 *  IDEM_IN_PROGRESS.
 *
 *  Every call returns an LMDB code (db.h), DB_ECORRUPT for a record
 *  that does not decode. */
#ifndef IDEM_H
#define IDEM_H
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_proto.h"
#include "db.h"

#define IDEM_TOKEN_MAX 255
#define IDEM_FP_LEN 16
#define IDEM_KEY_MAX (PM_PRINCIPAL_MAX + 1 + IDEM_TOKEN_MAX)

typedef struct {
    uint8_t bytes[IDEM_KEY_MAX];
    size_t len;
} idem_key_t;

typedef enum {
    IDEM_NEW,         /* no such key: go ahead */
    IDEM_REPLAY,      /* done, same fingerprint: send the stored reply */
    IDEM_MISMATCH,    /* the key was used by a different request */
    IDEM_IN_PROGRESS, /* the first request with this key is not finished */
} idem_state_t;

/* Builds the key. Returns 0, or -1 when principal (<= 128 bytes) or token
 * (1..255 bytes) is out of bounds or contains a NUL byte. */
int idem_key_make(idem_key_t *key, const char *principal, const char *token, size_t token_len);

/* BLAKE2b-128 over the message type (4 bytes big-endian) and the raw body. */
void idem_fingerprint(uint32_t type, const void *body, size_t body_len, uint8_t out[IDEM_FP_LEN]);

/* Looks key up and compares fingerprints. On IDEM_REPLAY, *reply and
 * *reply_len view the stored body (LMDB memory: valid until txn ends or
 * writes to `idem`). reply may be NULL when not wanted. */
int idem_lookup(db_t *db, MDB_txn *txn, const idem_key_t *key, const uint8_t fp[IDEM_FP_LEN],
                idem_state_t *state, const void **reply, size_t *reply_len);

/* Stores key as in progress. MDB_KEYEXIST if the key exists. */
int idem_begin(db_t *db, MDB_txn *txn, const idem_key_t *key, const uint8_t fp[IDEM_FP_LEN],
               int64_t now_ms);

/* Marks an in-progress key done with its reply body (keeps created_ms and the
 * fingerprint). MDB_NOTFOUND if absent, MDB_KEYEXIST if already done. */
int idem_complete(db_t *db, MDB_txn *txn, const idem_key_t *key, const void *reply,
                  size_t reply_len);

/* Stores key done with its reply in one step. MDB_KEYEXIST if it exists. */
int idem_put_done(db_t *db, MDB_txn *txn, const idem_key_t *key, const uint8_t fp[IDEM_FP_LEN],
                  int64_t now_ms, const void *reply, size_t reply_len);

/* Deletes up to max keys created before cutoff_ms, oldest first; *deleted
 * says how many. */
int idem_sweep(db_t *db, MDB_txn *txn, int64_t cutoff_ms, size_t max, size_t *deleted);

#endif
