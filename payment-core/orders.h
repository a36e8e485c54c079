/*  orders: seed 004's order invoices, their registration with a bank, and
 *  their validation, paid once.
 *
 *    invoices       key   reg_no
 *                   value the fields of invoice_t (s_invoice_fields)
 *    invoice_lines  key   reg_no '\0' index (2 bytes big-endian)
 *                   value [1, name, count, price_minor]
 *
 *  An invoice is recorded under a registration number the caller was given
 *  (regno.h), awaiting payment (type 13). Registering it with its bank is a
 *  bank_register job for provider-bank, whose report sets the bank's order
 *  id and payment URL; the same job then becomes the order's bank_status
 *  sync, scheduled by retry-worker, and a validation asks for a status now.
 *  The first report that says paid marks the invoice paid (type 14) in its
 *  own transaction and ends the job; a paid invoice never changes again, so
 *  validating twice (or a validation racing a background sync) pays once.
 *  Declined, reversed, refunded or unknown to the bank: failed (type 15).
 *
 *  Each registration attempt sends the order number "<reg_no>-<n>": a
 *  registration whose answer was lost leaves at most an order nobody holds a
 *  payment URL for (so nobody can pay it), and the next attempt is a new
 *  order instead of the bank's "duplicate order number". Once one attempt
 *  succeeded, registering again answers that order. */
#ifndef ORDERS_H
#define ORDERS_H
#include <msgpack.h>
#include <stdbool.h>

#include "jobs.h"
#include "payment.h"
#include "request.h"

#define ORDERS_REGISTER "bank_register"
#define ORDERS_STATUS "bank_status"

#define INVOICE_TYPE_AWAITING 13
#define INVOICE_TYPE_PAID 14
#define INVOICE_TYPE_FAILED 15

/* True for the bank_* job kinds. */
bool orders_kind(const char *kind);

/* For listings (admin_page.c): decodes an invoice record (a DB_INVOICES
 * value) and sets *state ("awaiting_payment"|"paid"|"failed") and
 * *created_ms; with pk, also packs a summary {reg_no, principal, state,
 * payment_type, currency, total_minor, order_id (str|nil), payment_leg
 * (bool), created_ms, updated_ms}. Returns 0, or -1 for a record that does
 * not decode. Not reentrant (one scratch record: the core's one thread). */
int orders_invoice_peek(const void *data, size_t size, const char **state, int64_t *created_ms,
                        msgpack_packer *pk);

/* INVOICE_PUT, ORDER_REGISTER, ORDER_VALIDATE (api socket). */
int orders_api_invoice_put(req_t *req);
int orders_api_register(req_t *req);
int orders_api_validate(req_t *req);

/* The bank leg of payment p, just accepted (its status bank_processing, in
 * this transaction): an invoice of one line for p's sender, under "P-" and
 * the payment id in URL-safe base64, registered with halkbank (or tfeb)
 * by a bank_register job. Its syncs, deposit and end are an order
 * invoice's, except that no client waits for the register: an unknown
 * outcome registers again, as a new order number, on retry-worker's
 * schedule, and a refusal fails it. When the invoice ends paid the payment
 * is succeeded, when it ends failed the payment is failed, in the same
 * transaction. Returns an LMDB code. */
int orders_payment_begin(req_t *req, const payment_t *p, bool tfeb);

/* Packs the BANK map of payment_id's bank leg {name, reg_no, order_id,
 * payment_url (while it can be paid), state, registrations}: 0, or
 * MDB_NOTFOUND when the payment has none (or an LMDB code, nothing packed). */
int orders_payment_pack_bank(db_t *db, MDB_txn *txn, const char *payment_id, msgpack_packer *pk);

/* ADMIN_ORDER_SHOW (admin socket): any invoice by reg_no. */
int orders_admin_show(req_t *req);

/* Applies provider-bank's report for job (a bank_* job, loaded). */
int orders_job_result(req_t *req, jobs_job_t *job, jobs_outcome_t outcome, const char *reason,
                      const msgpack_object *data);

/* A bank_* job whose provider lease ran out: a register is given up (its
 * client was answered 503), a status goes to retry-worker. */
int orders_lease_expired(db_t *db, MDB_txn *txn, jobs_job_t *job, int64_t now_ms);

/* The ctx map of a retry ITEM for a bank_* job. */
int orders_pack_ctx(db_t *db, MDB_txn *txn, const jobs_job_t *job, msgpack_packer *pk);

/* retry-worker's decision on a bank_* job in state deciding: 0 applied, 1
 * refused (why), -1 with the outcome set. */
int orders_decide(req_t *req, jobs_job_t *job, const char *action, const char *kind, int64_t at_ms,
                  const char **why);

/* The reg_no of a bank job, for listings. */
void orders_job_ref(const jobs_job_t *job, char *out, size_t cap);

#endif
