/*  jobs: the durable job queue that provider workers take work from.
 *
 *    jobs      key   id (UUID text, 36 bytes)
 *              value [1, id, kind, payload (bin: a msgpack map), attempt,
 *                     state (0 queued, 1 leased, 2 dead), next_at_ms,
 *                     lease_until_ms, created_ms]
 *    jobs_due  key   kind '\0' due_ms (8 bytes big-endian) id
 *              value empty
 *
 *  A job is due when it is queued and next_at_ms has come, or leased and its
 *  lease has expired (the worker died or hung: it is offered again). The
 *  index holds one row per queued or leased job under that time, so the due
 *  jobs of a kind are the first rows of its range: finding work costs one
 *  cursor seek, however many jobs wait in the future. Dead jobs (attempts
 *  exhausted) stay in `jobs` for the operator and are not indexed.
 *
 *  Calls return LMDB codes (db.h); DB_ECORRUPT for a bad record. */
#ifndef JOBS_H
#define JOBS_H
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_ids.h"
#include "db.h"

#define JOBS_KIND_MAX 32
#define JOBS_PAYLOAD_MAX 2048

typedef enum { JOBS_QUEUED = 0, JOBS_LEASED = 1, JOBS_DEAD = 2 } jobs_state_t;

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
} jobs_job_t;

/* Adds a queued job of kind, due at now_ms, with payload (a msgpack map of
 * at most JOBS_PAYLOAD_MAX bytes). Its new id is written to id. */
int jobs_enqueue(db_t *db, MDB_txn *txn, const char *kind, const void *payload, size_t payload_len,
                 int64_t now_ms, char id[PM_UUID_LEN + 1]);

/* 0, MDB_NOTFOUND, DB_ECORRUPT (logged) or an LMDB code. */
int jobs_load(db_t *db, MDB_txn *txn, const char *id, jobs_job_t *job);

/* Writes job (an existing one, changed) and moves its index row. */
int jobs_save(db_t *db, MDB_txn *txn, const jobs_job_t *job);

/* Deletes the job and its index row; MDB_NOTFOUND when it is absent. */
int jobs_delete(db_t *db, MDB_txn *txn, const char *id);

/* The first job of kind by due time: 0 with *job and *due_ms set, or
 * MDB_NOTFOUND when the kind has no queued or leased job. */
int jobs_first(db_t *db, MDB_txn *txn, const char *kind, jobs_job_t *job, int64_t *due_ms);

/* When job is due (INT64_MAX for a dead job). */
int64_t jobs_due_ms(const jobs_job_t *job);

#endif
