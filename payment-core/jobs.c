/*  jobs: job records and their due index. */
#include "jobs.h"

#include <assert.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "rec.h"

#define JOBS_RECORD_VERSION 1
#define JOBS_RECORD_FIELDS 9
#define S_DUE_KEY_MAX (JOBS_KIND_MAX + 1 + 8 + PM_UUID_LEN)

int64_t jobs_due_ms(const jobs_job_t *job)
{
    if (job->state == JOBS_QUEUED)
        return job->next_at_ms;
    if (job->state == JOBS_LEASED)
        return job->lease_until_ms;
    return INT64_MAX;
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
    if (job->state == JOBS_DEAD)
        return 0;
    uint8_t key[S_DUE_KEY_MAX];
    size_t len = s_due_key(key, job->kind, jobs_due_ms(job), job->id);
    if (add)
        return db_put(db, txn, DB_JOBS_DUE, key, len, "", 0, 0);
    int rc = db_del(db, txn, DB_JOBS_DUE, key, len);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_put(db_t *db, MDB_txn *txn, const jobs_job_t *job)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, JOBS_RECORD_FIELDS);
    msgpack_pack_uint32(&pk, JOBS_RECORD_VERSION);
    pm_mp_pack_cstr(&pk, job->id);
    pm_mp_pack_cstr(&pk, job->kind);
    msgpack_pack_bin(&pk, job->payload_len);
    msgpack_pack_bin_body(&pk, job->payload, job->payload_len);
    msgpack_pack_int64(&pk, job->attempt);
    msgpack_pack_uint32(&pk, (uint32_t)job->state);
    msgpack_pack_int64(&pk, job->next_at_ms);
    msgpack_pack_int64(&pk, job->lease_until_ms);
    msgpack_pack_int64(&pk, job->created_ms);
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
    int rc = s_put(db, txn, &job);
    if (rc == 0)
        memcpy(id, job.id, PM_UUID_LEN + 1);
    return rc;
}

int jobs_load(db_t *db, MDB_txn *txn, const char *id, jobs_job_t *job)
{
    assert(db && txn && id && job);
    memset(job, 0, sizeof *job);
    MDB_val val;
    int rc = db_get(db, txn, DB_JOBS, id, strlen(id), &val);
    if (rc != 0)
        return rc;
    msgpack_unpacked u;
    const msgpack_object *f;
    const char *why = NULL;
    int64_t state = 0;
    rc = DB_ECORRUPT;
    if (pm_mp_unpack_record(val.mv_data, val.mv_size, JOBS_RECORD_VERSION, JOBS_RECORD_FIELDS, &u,
                            &f, &why) != 0)
        goto destroy_unpacked;
    why = "bad field";
    if (rec_str(&f[1], job->id, PM_UUID_LEN, PM_UUID_LEN, false) != 0 || strcmp(job->id, id) ||
        rec_str(&f[2], job->kind, 1, JOBS_KIND_MAX, false) != 0 ||
        f[3].type != MSGPACK_OBJECT_BIN || f[3].via.bin.size > JOBS_PAYLOAD_MAX ||
        rec_int(&f[4], &job->attempt) != 0 || rec_int(&f[5], &state) != 0 || state < 0 ||
        state > JOBS_DEAD || rec_int(&f[6], &job->next_at_ms) != 0 ||
        rec_int(&f[7], &job->lease_until_ms) != 0 || rec_int(&f[8], &job->created_ms) != 0)
        goto destroy_unpacked;
    memcpy(job->payload, f[3].via.bin.ptr, f[3].via.bin.size);
    job->payload_len = f[3].via.bin.size;
    job->state = (jobs_state_t)state;
    rc = 0;
destroy_unpacked:
    msgpack_unpacked_destroy(&u);
    if (rc != 0)
        pm_error("job record %s is corrupt: %s", id, why);
    return rc;
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
