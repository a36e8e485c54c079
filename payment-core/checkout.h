/*  checkout: BazaarPay checkout records, their tokens and their attempts.
 *
 *    checkouts          key   serial (16 decimal digits, first non-zero;
 *                             never the serial of a store purchase)
 *                       value the fields of checkout_t (s_checkout_fields)
 *    checkout_tokens    key   BazaarPay checkout token
 *                       value serial
 *    checkout_attempts  key   serial seq (8 bytes big-endian, from 1)
 *                       value [1, at_ms, call, outcome, detail|nil]
 *
 *  A checkout moves opening -> in_progress (BazaarPay gave a token) ->
 *  delivered (paid: the package was credited) -> committed or refunded;
 *  one that never got paid ends expired. The package is copied into the
 *  record when the checkout opens, so what is credited, and what a refund
 *  takes back, is what the buyer saw, whatever the catalog says later.
 *
 *  Calls return LMDB codes (db.h); DB_ECORRUPT for a bad record. */
#ifndef CHECKOUT_H
#define CHECKOUT_H
#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "db.h"
#include "jobs.h"
#include "pm_ids.h"
#include "pm_proto.h"

#define CHECKOUT_SERIAL_LEN 16
#define CHECKOUT_TOKEN_MAX 64
#define CHECKOUT_URL_MAX 2048     /* redirect_url */
#define CHECKOUT_PAY_URL_MAX 8192 /* payment_url, which carries redirect_url encoded */
#define CHECKOUT_PHONE_MAX 16
#define CHECKOUT_REASON_MAX 256
#define CHECKOUT_DETAIL_MAX 128
#define CHECKOUT_ATTEMPTS_MAX 256 /* attempts kept per checkout; later ones are not stored */

typedef enum {
    CHECKOUT_OPENING = 0,
    CHECKOUT_IN_PROGRESS = 1,
    CHECKOUT_DELIVERED = 2,
    CHECKOUT_COMMITTED = 3,
    CHECKOUT_REFUNDED = 4,
    CHECKOUT_EXPIRED = 5,
} checkout_state_t;

typedef enum {
    CHECKOUT_CALL_INIT = 0,
    CHECKOUT_CALL_TRACE = 1,
    CHECKOUT_CALL_COMMIT = 2,
    CHECKOUT_CALL_REFUND = 3,
} checkout_call_t;

typedef struct {
    char serial[CHECKOUT_SERIAL_LEN + 1];
    char principal[PM_PRINCIPAL_MAX + 1];
    char sku[CATALOG_SKU_MAX + 1];
    checkout_state_t state;
    char token[CHECKOUT_TOKEN_MAX + 1];         /* "" while opening */
    char payment_url[CHECKOUT_PAY_URL_MAX + 1]; /* "" while opening */
    char redirect_url[CHECKOUT_URL_MAX + 1];
    char phone[CHECKOUT_PHONE_MAX + 1]; /* "" = none */
    int64_t amount;                     /* rials, the package's price */
    char pkg_name[CATALOG_NAME_MAX + 1];
    catalog_type_t pkg_type;
    int64_t pkg_coins;
    int64_t pkg_days;
    bool has_coins;
    int64_t coins_after; /* the balance after the delivery */
    bool has_until;
    int64_t until_ms; /* the subscription end after the delivery */
    bool refund_requested;
    char refund_reason[CHECKOUT_REASON_MAX + 1];
    bool reversed;                /* the delivery was taken back */
    char job_id[PM_UUID_LEN + 1]; /* the checkout's one job, "" when none */
    /* What BazaarPay last said of the checkout, "" once a call of unknown
     * outcome was made since: a commit or refund is only ever sent right
     * after BazaarPay said the money is paid and not yet settled. */
    char last_status[JOBS_STATUS_MAX + 1];
    int64_t commits; /* commit calls made */
    int64_t refunds; /* refund calls made */
    int64_t next_attempt;
    int64_t created_ms;
    int64_t updated_ms;
    bool has_delivered;
    int64_t delivered_ms;
} checkout_t;

/* "opening" (shown as in_progress to clients), "in_progress", "delivered",
 * "committed", "refunded", "expired". */
const char *checkout_state_name(checkout_state_t state);
/* "init", "trace", "commit", "refund". */
const char *checkout_call_name(checkout_call_t call);

/* True for 1..CHECKOUT_TOKEN_MAX ASCII letters and digits. */
bool checkout_token_valid(const char *token, size_t len);

/* A new serial that no checkout and no store purchase has yet. */
int checkout_serial_new(db_t *db, MDB_txn *txn, char out[CHECKOUT_SERIAL_LEN + 1]);

/* Decodes a stored checkout record: 0, or -1 with a static reason in why. */
int checkout_decode(const void *data, size_t size, checkout_t *co, const char **why);

int checkout_load(db_t *db, MDB_txn *txn, const char *serial, checkout_t *co);
int checkout_save(db_t *db, MDB_txn *txn, const checkout_t *co);

/* The checkout that holds BazaarPay token: 0, MDB_NOTFOUND, ... */
int checkout_by_token(db_t *db, MDB_txn *txn, const char *token, checkout_t *co);

/* Maps token to co->serial (MDB_KEYEXIST when another checkout has it). */
int checkout_token_put(db_t *db, MDB_txn *txn, const checkout_t *co);

/* Appends an attempt (co->next_attempt advances; the caller saves co). */
int checkout_attempt_add(db_t *db, MDB_txn *txn, checkout_t *co, int64_t at_ms,
                         checkout_call_t call, jobs_outcome_t outcome, const char *detail);

/* Packs the CHECKOUT map of pm_proto.h, attempts included. */
int checkout_pack(db_t *db, MDB_txn *txn, msgpack_packer *pk, const checkout_t *co);

/* The catalog package the checkout sold, as it was when it opened. */
void checkout_package(const checkout_t *co, catalog_package_t *pkg);

#endif
