/*  worker: the worker socket's messages, JOB_TAKE and JOB_RESULT, and the
 *  leasing of due jobs to provider workers.
 *
 *  A lease is written (attempt + 1, lease_until = now + job_lease_ms) in the
 *  batch's transaction, so it is on disk before the worker hears of the job;
 *  a worker that dies holding it lets the lease expire and the job is due
 *  again. Workers must therefore be idempotent, and a result is applied for
 *  whichever attempt reports first: a later report finds the job gone. */
#ifndef WORKER_H
#define WORKER_H
#include <msgpack.h>

#include "dispatch.h"
#include "park.h"
#include "request.h"
#include "db.h"

#define WORKER_TAKE_MAX 64
#define WORKER_WAIT_MAX_MS 30000

/* JOB_TAKE: leases due jobs and replies with them, or parks the request
 * (req->park_as) when none is due and wait_ms > 0. */
int worker_api_take(req_t *req);

/* Leases what take asks for, or parks the request as a taker for up to
 * wait_ms, or answers an empty list. Shared by JOB_TAKE and RETRY_TAKE. */
int worker_take(req_t *req, park_take_t *take, int64_t wait_ms);

/* "jobs", or "items" for a retry-worker's take: the reply's list. */
const char *worker_take_list_key(const park_take_t *take);

/* JOB_RESULT: applies a worker's report. */
int worker_api_result(req_t *req);

/* Leases up to take->max due jobs of take's kinds at now_ms, in txn, and
 * packs the JOB_TAKE reply body {"err": 0, "jobs": [...]} into out (cleared
 * first) when at least one was leased. *n says how many. Jobs whose attempts
 * are exhausted are given up on the way (not leased). Returns an LMDB
 * code. */
int worker_lease(db_t *db, MDB_txn *txn, const dispatch_limits_t *limits, const park_take_t *take,
                 int64_t now_ms, msgpack_sbuffer *out, size_t *n);

/* The earliest due time of a job of any of take's kinds (INT64_MAX: none). */
int64_t worker_next_due_ms(db_t *db, MDB_txn *txn, const park_take_t *take);

#endif
