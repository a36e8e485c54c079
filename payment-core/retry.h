/*  retry: the core's half of retry-worker's protocol, and the operator's
 *  view of the retry queue.
 *
 *  payment-core keeps the durable state (jobs in state retry, deciding or
 *  parked, and the due index); retry-worker keeps none and decides. A
 *  RETRY_TAKE leases due items to one retry-worker (gen + 1, state
 *  deciding, lease_until = now + job_lease_ms, in the batch transaction,
 *  so it is on disk before the worker hears of it); a RETRY_DECIDE applies
 *  only when it names the item's current gen, so two retry-workers never
 *  act on the same item, and an item whose retry-worker died is due again
 *  when its lease runs out. */
#ifndef RETRY_H
#define RETRY_H
#include <msgpack.h>

#include "jobs.h"
#include "request.h"

/* RETRY_TAKE and RETRY_DECIDE (worker socket). */
int retry_api_take(req_t *req);
int retry_api_decide(req_t *req);

/* ADMIN_RETRY_LIST, ADMIN_RETRY_NOW, ADMIN_RETRY_PARK. */
int retry_admin_list(req_t *req);
int retry_admin_now(req_t *req);
int retry_admin_park(req_t *req);

/* Leases job (due in the retry index) to a retry-worker at now_ms and
 * saves it. */
int retry_lease(db_t *db, MDB_txn *txn, const dispatch_limits_t *limits, jobs_job_t *job,
                int64_t now_ms);

/* Packs the RETRY_TAKE reply {"err": 0, "items": [...]} for jobs[0..n). */
int retry_pack_items(db_t *db, MDB_txn *txn, const dispatch_limits_t *limits,
                     const jobs_job_t *jobs, size_t n, msgpack_sbuffer *out);

#endif
