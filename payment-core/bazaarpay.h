/*  bazaarpay: the merchant side of BazaarPay's two-phase checkout.
 *
 *  Every checkout has at most one job at a time (checkout_t.job_id), whose
 *  kind is the next call toward BazaarPay: bazaarpay_init while it opens,
 *  then bazaarpay_trace, bazaarpay_commit or bazaarpay_refund. provider-bazaar
 *  makes the call; this module applies what it reports, in the transaction
 *  of the report; retry-worker decides what follows a call that failed or
 *  left something to decide (retry.h), and this module refuses a decision
 *  that would be unsafe whatever the policy.
 *
 *  Why a delivered checkout ends committed or refunded, never both, never
 *  twice, never neither:
 *    - The delivery (the credit, the state delivered and the commit job) is
 *      one transaction, taken only when a trace said paid_not_committed (or
 *      paid_committed) while the checkout was in_progress; a checkout leaves
 *      in_progress in that same transaction, so it is delivered once.
 *    - A commit is sent only right after the delivery or after a trace that
 *      said paid_not_committed; a refund only after a trace that said
 *      paid_not_committed or paid_committed (last_status). A call whose
 *      outcome is unknown clears last_status, so nothing is re-sent blind:
 *      the next call can only be a trace.
 *    - committed and refunded are final: the job is deleted in the same
 *      transaction, and a refund of a committed checkout is the only way on.
 *    - A delivered checkout always has a job (its commit, a trace, a
 *      refund) until it is final; the job is parked, never deleted, when
 *      retries are spent, so an operator sees it.
 *    - When BazaarPay returned the money on its own (trace says
 *      paid_not_committed_refunded or refunded), the delivery is reversed
 *      in the transaction that records it. */
#ifndef BAZAARPAY_H
#define BAZAARPAY_H
#include <msgpack.h>

#include "checkout.h"
#include "jobs.h"
#include "request.h"

#define BAZAARPAY_INIT "bazaarpay_init"
#define BAZAARPAY_TRACE "bazaarpay_trace"
#define BAZAARPAY_COMMIT "bazaarpay_commit"
#define BAZAARPAY_REFUND "bazaarpay_refund"

/* True for the kinds above. */
bool bazaarpay_kind(const char *kind);

/* BAZAARPAY_CHECKOUT, _CONFIRM, _GET, _REFUND handlers (api socket), and
 * ADMIN_CHECKOUT_SHOW. */
int bazaarpay_api_checkout(req_t *req);
int bazaarpay_api_confirm(req_t *req);
int bazaarpay_api_get(req_t *req);
int bazaarpay_api_refund(req_t *req);
int bazaarpay_admin_show(req_t *req);

/* Applies a provider's report for job (a bazaarpay_* job, loaded). */
int bazaarpay_job_result(req_t *req, jobs_job_t *job, jobs_outcome_t outcome, const char *reason,
                         const msgpack_object *data);

/* A bazaarpay_* job whose provider lease expired: an init is given up (its
 * client was answered 503 already; the checkout expires), any other call
 * goes to retry-worker. Returns an LMDB code. */
int bazaarpay_lease_expired(db_t *db, MDB_txn *txn, jobs_job_t *job, int64_t now_ms);

/* Packs the ctx map of a retry ITEM for job. Returns an LMDB code. */
int bazaarpay_pack_ctx(db_t *db, MDB_txn *txn, const dispatch_limits_t *limits,
                       const jobs_job_t *job, msgpack_packer *pk);

/* Applies a retry-worker decision to a bazaarpay_* job (in state deciding).
 * action is "retry" (with kind and at_ms), "park" or "expire". Returns 0
 * when applied, 1 when refused as unsafe (why says why), or -1 with the
 * request's outcome set (storage). */
int bazaarpay_decide(req_t *req, jobs_job_t *job, const char *action, const char *kind,
                     int64_t at_ms, const char **why);

/* The checkout token of a bazaarpay job, for listings ("" when none). */
void bazaarpay_job_ref(db_t *db, MDB_txn *txn, const jobs_job_t *job, char *out, size_t cap);

#endif
