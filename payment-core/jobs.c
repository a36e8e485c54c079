/*  jobs: job records and their due index. */
#include "jobs.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "rec.h"

#define JOBS_RECORD_VERSION 3
#define S_DUE_KEY_MAX (JOBS_KIND_MAX + 1 + 8 + PM_UUID_LEN)

const char *jobs_state_name(jobs_state_t state)
{
    static const char *names[] = {"queued", "leased", "parked", "retry", "deciding"};
    return (unsigned)state <= JOBS_DECIDING ? names[state] : "unknown";
}

const char *jobs_outcome_name(jobs_outcome_t outcome)
{
    static const char *names[] = {"", "ok", "rejected", "unknown", "lease_expired"};
    return (unsigned)outcome <= JOBS_OUT_LEASE_EXPIRED ? names[outcome] : "unknown";
}

int64_t jobs_due_ms(const jobs_job_t *job)
{
    if (job->state == JOBS_QUEUED || job->state == JOBS_RETRY)
        return job->next_at_ms;
    if (job->state == JOBS_LEASED || job->state == JOBS_DECIDING)
        return job->lease_until_ms;
    return INT64_MAX;
}

/* The range of the due index a job is in. */
static const char *s_index_kind(const jobs_job_t *job)
{
    return job->state == JOBS_QUEUED ? job->kind : JOBS_RETRY_KIND;
}

static size_t s_due_key(uint8_t key[S_DUE_KEY_MAX], const char *kind, int64_t due_ms,
                        const char *id)
{
    size_t n = strlen(kind);
    memcpy(key, kind, n);
    key[n] = '\0';
    rec_be64_put(key + n + 1, (uint64_t)(due_ms < 0 ? 0 : due_ms));
    memcpy(key + n + 9, id, PM_UUID_LEN);
    return n + 9 + PM_UUID_LEN;
}

static int s_index(db_t *db, MDB_txn *txn, const jobs_job_t *job, bool add)
{
    if (job->state == JOBS_PARKED)
        return 0;
    uint8_t key[S_DUE_KEY_MAX];
    size_t len = s_due_key(key, s_index_kind(job), jobs_due_ms(job), job->id);
    if (add)
        return db_put(db, txn, DB_JOBS_DUE, key, len, "", 0, 0);
    int rc = db_del(db, txn, DB_JOBS_DUE, key, len);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static const rec_field_t s_job_fields[] = {
    {REC_STR, offsetof(jobs_job_t, id), PM_UUID_LEN, PM_UUID_LEN, 0, NULL},
    {REC_STR, offsetof(jobs_job_t, kind), 1, JOBS_KIND_MAX, 0, NULL},
    {REC_BIN, offsetof(jobs_job_t, payload), 0, JOBS_PAYLOAD_MAX, offsetof(jobs_job_t, payload_len),
     NULL},
    {REC_I64, offsetof(jobs_job_t, attempt), 0, INT64_MAX, 0, NULL},
    {REC_ENUM, offsetof(jobs_job_t, state), 0, JOBS_DECIDING, 0, NULL},
    {REC_I64, offsetof(jobs_job_t, next_at_ms), INT64_MIN, INT64_MAX, 0, NULL},
    {REC_I64, offsetof(jobs_job_t, lease_until_ms), INT64_MIN, INT64_MAX, 0, NULL},
    {REC_I64, offsetof(jobs_job_t, created_ms), INT64_MIN, INT64_MAX, 0, NULL},
    /* version 2 */
    {REC_I64, offsetof(jobs_job_t, gen), 0, INT64_MAX, 0, NULL},
    {REC_ENUM, offsetof(jobs_job_t, outcome), 0, JOBS_OUT_LEASE_EXPIRED, 0, NULL},
    {REC_STR_OPT, offsetof(jobs_job_t, reason), 1, JOBS_REASON_MAX, 0, NULL},
    {REC_STR_OPT, offsetof(jobs_job_t, status), 1, JOBS_STATUS_MAX, 0, NULL},
    {REC_I64, offsetof(jobs_job_t, failed_ms), INT64_MIN, INT64_MAX, 0, NULL},
    /* version 3 */
    {REC_STR_OPT, offsetof(jobs_job_t, trace), 1, PM_TRACE_MAX, 0, NULL},
};
#define S_V1_FIELDS 8
#define S_V2_FIELDS 13
_Static_assert(sizeof(jobs_state_t) == sizeof(int), "stored as REC_ENUM");
_Static_assert(sizeof(jobs_outcome_t) == sizeof(int), "stored as REC_ENUM");
static const rec_schema_t s_job_schema = {"job", JOBS_RECORD_VERSION, sizeof(jobs_job_t),
                                          REC_FIELDS(s_job_fields)};
static const rec_schema_t s_job_schema_v2 = {"job", 2, sizeof(jobs_job_t), s_job_fields,
                                             S_V2_FIELDS};
static const rec_schema_t s_job_schema_v1 = {"job", 1, sizeof(jobs_job_t), s_job_fields,
                                             S_V1_FIELDS};

static int s_put(db_t *db, MDB_txn *txn, const jobs_job_t *job)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    rec_encode(&s_job_schema, job, &buf);
    int rc = db_put(db, txn, DB_JOBS, job->id, PM_UUID_LEN, buf.data, buf.size, 0);
    msgpack_sbuffer_destroy(&buf);
    if (rc == 0)
        rc = s_index(db, txn, job, true);
    return rc;
}

int jobs_enqueue(db_t *db, MDB_txn *txn, const char *kind, const void *payload, size_t payload_len,
                 int64_t now_ms, char id[PM_UUID_LEN + 1])
{
    assert(db && txn && kind && payload && id);
    assert(strlen(kind) >= 1 && strlen(kind) <= JOBS_KIND_MAX);
    assert(payload_len <= JOBS_PAYLOAD_MAX);
    jobs_job_t job;
    memset(&job, 0, sizeof job);
    pm_uuid_new(job.id);
    strcpy(job.kind, kind);
    memcpy(job.payload, payload, payload_len);
    job.payload_len = payload_len;
    job.state = JOBS_QUEUED;
    job.next_at_ms = now_ms;
    job.created_ms = now_ms;
    snprintf(job.trace, sizeof job.trace, "%s", pm_log_trace()); /* the request's */
    int rc = s_put(db, txn, &job);
    if (rc == 0)
        memcpy(id, job.id, PM_UUID_LEN + 1);
    return rc;
}

int jobs_decode(const void *data, size_t size, jobs_job_t *job, const char **why)
{
    assert(job && why);
    if (rec_decode(&s_job_schema, data, size, job, why) == 0 ||
        rec_decode(&s_job_schema_v2, data, size, job, why) == 0)
        return 0;
    return rec_decode(&s_job_schema_v1, data, size, job, why);
}

int jobs_load(db_t *db, MDB_txn *txn, const char *id, jobs_job_t *job)
{
    assert(db && txn && id && job);
    memset(job, 0, sizeof *job);
    MDB_val val;
    int rc = db_get(db, txn, DB_JOBS, id, strlen(id), &val);
    if (rc != 0)
        return rc;
    const char *why = NULL;
    if (jobs_decode(val.mv_data, val.mv_size, job, &why) != 0 ||
        (why = "id differs from its key", strcmp(job->id, id) != 0)) {
        pm_error("job record %s is corrupt: %s", id, why);
        return DB_ECORRUPT;
    }
    return 0;
}

int jobs_save(db_t *db, MDB_txn *txn, const jobs_job_t *job)
{
    assert(db && txn && job);
    jobs_job_t old;
    int rc = jobs_load(db, txn, job->id, &old);
    if (rc != 0)
        return rc;
    if ((rc = s_index(db, txn, &old, false)) != 0)
        return rc;
    return s_put(db, txn, job);
}

int jobs_delete(db_t *db, MDB_txn *txn, const char *id)
{
    assert(db && txn && id);
    jobs_job_t old;
    int rc = jobs_load(db, txn, id, &old);
    if (rc != 0)
        return rc;
    if ((rc = s_index(db, txn, &old, false)) != 0)
        return rc;
    return db_del(db, txn, DB_JOBS, id, strlen(id));
}

int jobs_first(db_t *db, MDB_txn *txn, const char *kind, jobs_job_t *job, int64_t *due_ms)
{
    assert(db && txn && kind && job && due_ms);
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, db_dbi(db, DB_JOBS_DUE), &cur);
    if (rc != 0)
        return rc;
    uint8_t key[S_DUE_KEY_MAX];
    size_t klen = strlen(kind);
    size_t len = s_due_key(key, kind, 0, "000000000000000000000000000000000000");
    MDB_val k = {len, key}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0) {
        const uint8_t *kd = k.mv_data;
        if (k.mv_size != klen + 9 + PM_UUID_LEN || memcmp(kd, kind, klen) != 0 || kd[klen] != 0) {
            rc = MDB_NOTFOUND;
        } else {
            char id[PM_UUID_LEN + 1];
            memcpy(id, kd + klen + 9, PM_UUID_LEN);
            id[PM_UUID_LEN] = '\0';
            *due_ms = (int64_t)rec_be64_get(kd + klen + 1);
            rc = jobs_load(db, txn, id, job);
            if (rc == MDB_NOTFOUND) {
                pm_error("job index names a missing job %s", id);
                rc = DB_ECORRUPT;
            }
        }
    }
    mdb_cursor_close(cur);
    return rc;
}

int jobs_to_retry(db_t *db, MDB_txn *txn, jobs_job_t *job, jobs_outcome_t outcome,
                  const char *reason, const char *status, int64_t now_ms)
{
    assert(db && txn && job);
    job->state = JOBS_RETRY;
    job->next_at_ms = now_ms;
    job->lease_until_ms = 0;
    job->outcome = outcome;
    snprintf(job->reason, sizeof job->reason, "%s", reason ? reason : "");
    snprintf(job->status, sizeof job->status, "%s", status ? status : "");
    job->failed_ms = now_ms;
    return jobs_save(db, txn, job);
}

void jobs_requeue(jobs_job_t *job, int64_t at_ms)
{
    assert(job);
    job->state = JOBS_QUEUED;
    job->next_at_ms = at_ms;
    job->lease_until_ms = 0;
}
