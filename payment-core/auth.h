/*  auth: API tokens and the principals they stand for.
 *
 *  The operator issues a token (paymentctl token create); the client sends
 *  it in a header; the gateway forwards only its BLAKE2b-256 hash (the
 *  envelope's auth field); payment-core resolves the hash here. The
 *  plaintext token is shown once and never stored.
 *
 *    tokens  key   BLAKE2b-256 of the token (32 bytes)
 *            value [1, principal, role (0 user, 1 service), created_ms]
 *
 *  A user token acts as its principal; a service token may act for anyone. */
#ifndef AUTH_H
#define AUTH_H
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_proto.h"
#include "db.h"

#define AUTH_TOKEN_CAP 64 /* buffer for a token from pm_token_new, with its NUL */

typedef enum { AUTH_ROLE_USER = 0, AUTH_ROLE_SERVICE = 1 } auth_role_t;

typedef struct {
    char principal[PM_PRINCIPAL_MAX + 1];
    auth_role_t role;
    int64_t created_ms;
} auth_identity_t;

/* "user" or "service". */
const char *auth_role_name(auth_role_t role);

/* Parses "user" / "service". Returns 0, or -1 for anything else. */
int auth_role_parse(const char *text, size_t len, auth_role_t *role);

/* True when principal is 1..128 bytes of printable ASCII without spaces. */
bool auth_principal_valid(const char *principal, size_t len);

/* Issues a new token for principal (which must be valid) and stores its
 * hash. The token text is written to token (cap >= AUTH_TOKEN_CAP). Returns
 * an LMDB code. */
int auth_token_create(db_t *db, MDB_txn *txn, const char *principal, auth_role_t role,
                      int64_t now_ms, char *token, size_t cap);

/* Resolves a token hash. Returns 0 with *who filled, MDB_NOTFOUND for an
 * unknown token, DB_ECORRUPT (logged), or another LMDB code. */
int auth_lookup(db_t *db, MDB_txn *txn, const uint8_t hash[PM_AUTH_LEN], auth_identity_t *who);

#endif
