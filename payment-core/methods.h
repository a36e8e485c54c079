/*  methods: the payment methods recipients take, registered by the operator.
 *
 *    methods  key   principal '\0' method id
 *             value the fields of method_t (s_method_fields)
 *
 *  A payment's money_info.method_id names a method of its recipient. The
 *  method says which currencies it takes and which bank settles it:
 *  halkbank or foreign_affairs_bank (paymesh registers the accepted payment
 *  with that bank and follows it to succeeded or failed), or none (settled
 *  outside paymesh, like the seed's BTC example: an accepted payment stays
 *  accepted). The banks take TMT only, so a bank method takes TMT only.
 *
 *  Calls return LMDB codes (db.h); DB_ECORRUPT for a bad record. */
#ifndef METHODS_H
#define METHODS_H
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "payment.h"
#include "request.h"

#define METHOD_CURRENCIES_MAX 16                                 /* per method */
#define METHOD_CURRENCY_TEXT_MAX (METHOD_CURRENCIES_MAX * 4 - 1) /* "TMT,USD,..." */

typedef enum {
    METHOD_BANK_NONE = 0,
    METHOD_BANK_HALKBANK = 1,
    METHOD_BANK_TFEB = 2, /* foreign_affairs_bank */
} method_bank_t;

typedef struct {
    char principal[PAYMENT_ID_MAX + 1];
    char id[PAYMENT_METHOD_MAX + 1];
    method_bank_t bank;
    char currencies[METHOD_CURRENCY_TEXT_MAX + 1]; /* upper case, ',' between, no repeats */
    int64_t created_ms;
    int64_t updated_ms;
} method_t;

/* "none", "halkbank", "foreign_affairs_bank". */
const char *method_bank_name(method_bank_t bank);

/* 0 and *out for those three names, else -1. */
int method_bank_parse(const char *name, method_bank_t *out);

/* Loads principal's method id: 0, MDB_NOTFOUND, DB_ECORRUPT or an LMDB code. */
int method_load(db_t *db, MDB_txn *txn, const char *principal, const char *id, method_t *m);

/* True when m takes currency (3 upper-case letters). */
bool method_takes(const method_t *m, const char *currency);

/* Checks that recipient has method id and that it takes currency: 0 (and
 * *m when m is not NULL), or -1 with a validation error naming api_name
 * set on req (or a storage error). */
int method_check(req_t *req, const char *recipient, const char *id, const char *currency,
                 const char *api_name, method_t *m);

/* ADMIN_METHOD_PUT, ADMIN_METHOD_LIST (admin socket). */
int methods_admin_put(req_t *req);
int methods_admin_list(req_t *req);

#endif
