/*  jobs: the durable job queue that provider workers and retry-workers take
 *  work from.
 *
 *    jobs      key   id (UUID text, 36 bytes)
 *              value [2, id, kind, payload (bin: a msgpack map), attempt,
 *                     state (0 queued, 1 leased, 2 parked, 3 retry,
 *                     4 deciding), next_at_ms, lease_until_ms, created_ms,
 *                     gen, outcome, reason|nil, status|nil, failed_ms,
 *                     trace|nil] as version 3
 *              (version 1 records, without the last six, and version 2,
 *              without trace, still decode)
 *    jobs_due  key   kind '\0' due_ms (8 bytes big-endian) id
 *              value empty
 *
 *  A queued job is due for a provider worker when next_at_ms has come
 *  (indexed under its kind). Everything else that is not parked is
 *  retry-worker's (indexed under the pseudo kind JOBS_RETRY_KIND): a leased
 *  job at its lease's end (then the worker died or hung, and the job turns
 *  to retry), a job whose call failed or whose result calls for a decision
 *  in state retry from next_at_ms, and one that a retry-worker holds in
 *  state deciding, due again when that lease expires. The index holds
 *  one row per job that is not parked, under its due time, so the due jobs
 *  of a kind are the first rows of its range: finding work costs one cursor
 *  seek, however many jobs wait in the future. Parked jobs (given up by
 *  retry-worker or by the attempts cap) stay in `jobs` for the operator and
 *  are not indexed.
 *
 *  Calls return LMDB codes (db.h); DB_ECORRUPT for a bad record. */
#ifndef JOBS_H
#define JOBS_H
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_ids.h"
#include "pm_proto.h"
#include "db.h"

#define JOBS_KIND_MAX 32
#define JOBS_PAYLOAD_MAX 4096
#define JOBS_REASON_MAX 128
#define JOBS_STATUS_MAX 32
#define JOBS_RETRY_KIND "@retry" /* the due index of jobs waiting for a decision */

typedef enum {
    JOBS_QUEUED = 0,
    JOBS_LEASED = 1,
    JOBS_PARKED = 2,
    JOBS_RETRY = 3,
    JOBS_DECIDING = 4,
} jobs_state_t;

/* The last outcome of a job's call, for retry-worker and the operator. */
typedef enum {
    JOBS_OUT_NONE = 0,
    JOBS_OUT_OK = 1,
    JOBS_OUT_REJECTED = 2,
    JOBS_OUT_UNKNOWN = 3,
    JOBS_OUT_LEASE_EXPIRED = 4,
} jobs_outcome_t;

/* "queued", "leased", "parked", "retry", "deciding". */
const char *jobs_state_name(jobs_state_t state);
/* "", "ok", "rejected", "unknown", "lease_expired". */
const char *jobs_outcome_name(jobs_outcome_t outcome);

typedef struct {
    char id[PM_UUID_LEN + 1];
    char kind[JOBS_KIND_MAX + 1];
    uint8_t payload[JOBS_PAYLOAD_MAX]; /* a msgpack map */
    size_t payload_len;
    int64_t attempt; /* leases given so far */
    jobs_state_t state;
    int64_t next_at_ms;     /* queued: due from then */
    int64_t lease_until_ms; /* leased: offered again from then */
    int64_t created_ms;
    int64_t gen;            /* decision leases given so far */
    jobs_outcome_t outcome; /* of the last call */
    char reason[JOBS_REASON_MAX + 1];
    char status[JOBS_STATUS_MAX + 1]; /* a trace's status, "" otherwise */
    int64_t failed_ms;                /* when outcome was recorded */
    char trace[PM_TRACE_MAX + 1];     /* of the request that made it, "" if none */
} jobs_job_t;

/* Adds a queued job of kind, due at now_ms, with payload (a msgpack map of
 * at most JOBS_PAYLOAD_MAX bytes) and the thread's log trace (pm_log_trace:
 * the request being handled). Its new id is written to id. */
int jobs_enqueue(db_t *db, MDB_txn *txn, const char *kind, const void *payload, size_t payload_len,
                 int64_t now_ms, char id[PM_UUID_LEN + 1]);

/* Decodes a stored job record (either version): 0, or -1 with a static
 * reason in why. */
int jobs_decode(const void *data, size_t size, jobs_job_t *job, const char **why);

/* 0, MDB_NOTFOUND, DB_ECORRUPT (logged) or an LMDB code. */
int jobs_load(db_t *db, MDB_txn *txn, const char *id, jobs_job_t *job);

/* Writes job (an existing one, changed) and moves its index row. */
int jobs_save(db_t *db, MDB_txn *txn, const jobs_job_t *job);

/* Deletes the job and its index row; MDB_NOTFOUND when it is absent. */
int jobs_delete(db_t *db, MDB_txn *txn, const char *id);

/* The first job of kind by due time: 0 with *job and *due_ms set, or
 * MDB_NOTFOUND when the kind has no queued or leased job. */
int jobs_first(db_t *db, MDB_txn *txn, const char *kind, jobs_job_t *job, int64_t *due_ms);

/* Sets job to wait for a retry-worker's decision from now_ms, with the
 * outcome of its last call (reason and status may be NULL), and saves it. */
int jobs_to_retry(db_t *db, MDB_txn *txn, jobs_job_t *job, jobs_outcome_t outcome,
                  const char *reason, const char *status, int64_t now_ms);

/* Sets job queued for a provider from at_ms, with no lease (the caller
 * saves it, and bumps gen when a decision in flight must become stale). */
void jobs_requeue(jobs_job_t *job, int64_t at_ms);

/* When job is due (INT64_MAX for a parked job). */
int64_t jobs_due_ms(const jobs_job_t *job);

#endif
