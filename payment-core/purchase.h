/*  purchase: store purchases and the Bazaar purchase tokens redeemed for them.
 *
 *    purchases      key   serial (16 decimal digits, first non-zero)
 *                   value [1, serial, principal, sku, state (0 in_progress,
 *                          1 validating, 2 completed), token|nil,
 *                          coins_after|nil, created_ms, updated_ms]
 *    bazaar_tokens  key   Bazaar purchase token (1..255 printable ASCII)
 *                   value [1, purchase serial, state (0 reserved, 1 used)]
 *
 *  A token is reserved by exactly one purchase while Bazaar validates it,
 *  and used forever once that purchase completed: the row is never deleted
 *  after it is used, which is what makes a token credit once, ever.
 *
 *  Calls return LMDB codes (db.h); DB_ECORRUPT for a bad record. */
#ifndef PURCHASE_H
#define PURCHASE_H
#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "pm_proto.h"
#include "db.h"

#define PURCHASE_SERIAL_LEN 16
#define PURCHASE_TOKEN_MAX 255

typedef enum {
    PURCHASE_IN_PROGRESS = 0,
    PURCHASE_VALIDATING = 1,
    PURCHASE_COMPLETED = 2,
} purchase_state_t;

typedef struct {
    char serial[PURCHASE_SERIAL_LEN + 1];
    char principal[PM_PRINCIPAL_MAX + 1];
    char sku[CATALOG_SKU_MAX + 1];
    purchase_state_t state;
    char token[PURCHASE_TOKEN_MAX + 1]; /* "" until a token is presented */
    bool has_coins;                     /* coins_after is set (completed) */
    int64_t coins_after;                /* the balance answered on completion */
    int64_t created_ms;                 /* Unix ms */
    int64_t updated_ms;
} purchase_t;

typedef enum { PTOKEN_RESERVED = 0, PTOKEN_USED = 1 } ptoken_state_t;

typedef struct {
    char serial[PURCHASE_SERIAL_LEN + 1];
    ptoken_state_t state;
} ptoken_t;

/* "in_progress", "validating", "completed". */
const char *purchase_state_name(purchase_state_t state);

/* True for 16 decimal digits, the first non-zero. */
bool purchase_serial_valid(const char *serial, size_t len);

/* True for 1..255 bytes of printable ASCII without spaces. */
bool purchase_token_valid(const char *token, size_t len);

/* Writes a new serial (libsodium randomness) that no purchase has yet into
 * out. Returns an LMDB code (EEXIST after many collisions: never in
 * practice). */
int purchase_serial_new(db_t *db, MDB_txn *txn, char out[PURCHASE_SERIAL_LEN + 1]);

void purchase_encode(const purchase_t *p, msgpack_sbuffer *buf);
int purchase_decode(const void *data, size_t size, purchase_t *p, const char **why);

/* Packs the PURCHASE map of pm_proto.h. */
void purchase_pack(msgpack_packer *pk, const purchase_t *p);

int purchase_load(db_t *db, MDB_txn *txn, const char *serial, purchase_t *p);
int purchase_save(db_t *db, MDB_txn *txn, const purchase_t *p);

/* The token's row: 0, MDB_NOTFOUND, DB_ECORRUPT or an LMDB code. */
int ptoken_load(db_t *db, MDB_txn *txn, const char *token, ptoken_t *t);
int ptoken_save(db_t *db, MDB_txn *txn, const char *token, const ptoken_t *t);
int ptoken_delete(db_t *db, MDB_txn *txn, const char *token);

#endif
