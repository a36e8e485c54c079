/*  regno: registration numbers (seed 004's "pred reg no"), unique forever.
 *
 *    regno_types  key   type id (8 bytes big-endian)
 *                 value the fields of regno_type_t (s_type_fields)
 *    regnos       key   the registration number
 *                 value [1, type_id, principal, created_ms]
 *
 *  A type is the operator's format: a prefix, then `length` characters of
 *  its alphabet. A number is drawn at random (random mode) or is the type's
 *  next one in order (sequential: the alphabet read as digits, the first
 *  character being zero, left-padded to `length`). Either way it is written
 *  to `regnos` with MDB_NOOVERWRITE in the request's transaction, and
 *  payment-core is the one writer, so no two callers, gateways or restarts
 *  ever get the same number: a sequential number a random draw already took
 *  is skipped, a random draw that hits a taken one draws again.
 *
 *  Calls return LMDB codes (db.h); DB_ECORRUPT for a bad record. */
#ifndef REGNO_H
#define REGNO_H
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "request.h"

#define REGNO_TYPE_ID_MAX 2147483647
#define REGNO_NAME_MAX 64
#define REGNO_PREFIX_MAX 16
#define REGNO_LENGTH_MAX 32
#define REGNO_ALPHABET_MAX 64
#define REGNO_MAX (REGNO_PREFIX_MAX + REGNO_LENGTH_MAX)

typedef struct {
    int64_t id;
    char name[REGNO_NAME_MAX + 1];
    char prefix[REGNO_PREFIX_MAX + 1]; /* "" = none */
    int64_t length;
    char alphabet[REGNO_ALPHABET_MAX + 1];
    int64_t next_seq; /* the next sequential number */
    int64_t issued;   /* numbers given, both modes */
    int64_t created_ms;
    int64_t updated_ms;
} regno_type_t;

/* NULL when t's format is valid, else a static message naming the field. */
const char *regno_type_check(const regno_type_t *t);

int regno_type_load(db_t *db, MDB_txn *txn, int64_t id, regno_type_t *t);
int regno_type_save(db_t *db, MDB_txn *txn, const regno_type_t *t);

/* Gives a new number of type t (random or sequential) to principal at
 * now_ms, writing it and t's counters; out gets it (REGNO_MAX + 1 bytes).
 * EEXIST when the type has no number left (sequential past the end, or 64
 * random draws all taken). */
int regno_new(db_t *db, MDB_txn *txn, regno_type_t *t, bool random, const char *principal,
              int64_t now_ms, char out[REGNO_MAX + 1]);

/* Who number was given to: 0 with principal set (PM_PRINCIPAL_MAX + 1
 * bytes), MDB_NOTFOUND, DB_ECORRUPT or an LMDB code. */
int regno_owner(db_t *db, MDB_txn *txn, const char *number, char *principal);

/* REGNO_GEN, ADMIN_REGNO_TYPE_PUT, ADMIN_REGNO_TYPE_LIST. */
int regno_api_gen(req_t *req);
int regno_admin_type_put(req_t *req);
int regno_admin_type_list(req_t *req);

#endif
