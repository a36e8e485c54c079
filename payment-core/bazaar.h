/*  bazaar: redeeming Cafe Bazaar purchase tokens, exactly once.
 *
 *  A redeem reserves the token for the purchase, sets the purchase
 *  validating and enqueues a durable bazaar_validate job, all in the
 *  request's transaction, and parks the request until a provider worker
 *  reports the job's result. Applying an "ok" result credits the package,
 *  appends the ledger entry, marks the token used, completes the purchase,
 *  deletes the validate job and enqueues a bazaar_consume job, all in one
 *  transaction; only after it commits are the waiting requests answered.
 *
 *  Why a token credits once: a credit happens only in the transaction that
 *  turns the token's row from reserved to used, a row is reserved by at
 *  most one purchase at a time (reserving checks it in the same
 *  single-writer transaction), and a used row is never deleted. A second
 *  result for the same job finds the job gone and is ignored. */
#ifndef BAZAAR_H
#define BAZAAR_H
#include "jobs.h"
#include "request.h"

#define BAZAAR_VALIDATE "bazaar_validate"
#define BAZAAR_CONSUME "bazaar_consume"

/* STORE_REDEEM handler. */
int bazaar_api_redeem(req_t *req);

typedef enum { BAZAAR_OK, BAZAAR_REJECTED, BAZAAR_UNKNOWN } bazaar_outcome_t;

/* Applies a bazaar_validate result to job (loaded, existing) inside
 * req->txn; sets req->answer for the purchase's waiters. 0 or -1 with the
 * outcome set (storage errors). */
int bazaar_validate_result(req_t *req, const jobs_job_t *job, bazaar_outcome_t outcome,
                           const char *reason);

/* A bazaar_validate job whose attempts are exhausted (workers keep dying
 * on it): the purchase is released as if Bazaar could not be reached and the
 * job deleted. Returns an LMDB code. */
int bazaar_validate_give_up(db_t *db, MDB_txn *txn, const jobs_job_t *job, int64_t now_ms);

/* The purchase serial the payload of a bazaar_* job refers to, for logs
 * ("" when unknown). */
void bazaar_job_serial(db_t *db, MDB_txn *txn, const jobs_job_t *job, char *out, size_t cap);

#endif
