/*  metrics: HEALTH and METRICS, and the figures only memory keeps. */
#include "metrics.h"

#include <assert.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "jobs.h"
#include "ops_admin.h"
#include "park.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "rec.h"

const uint32_t metrics_batch_le[METRICS_BATCH_BUCKETS - 1] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

#define S_STAGE_MAX 1024 /* job results staged in one batch (more: not counted) */

static const char *const s_prov_names[METRICS_PROV__COUNT] = {"bazaar", "bazaarpay", "bank",
                                                              "other"};
static const char *const s_out_names[METRICS_OUT__COUNT] = {"ok", "rejected", "unknown"};

/* The core's one thread writes and reads these: no lock. */
static struct {
    uint64_t jobs[METRICS_PROV__COUNT][METRICS_OUT__COUNT];
    uint64_t latency_ms_sum[METRICS_PROV__COUNT];
    uint64_t latency_count[METRICS_PROV__COUNT];
    uint64_t batch_bucket[METRICS_BATCH_BUCKETS]; /* not cumulative */
    uint64_t batch_last;
    uint64_t turn_last, turn_max;
    metrics_job_t stage[S_STAGE_MAX];
    size_t staged;
} s_m;

metrics_prov_t metrics_prov_of(const char *kind)
{
    if (strncmp(kind, "bazaarpay_", 10) == 0)
        return METRICS_PROV_BAZAARPAY;
    if (strncmp(kind, "bazaar_", 7) == 0)
        return METRICS_PROV_BAZAAR;
    if (strncmp(kind, "bank_", 5) == 0)
        return METRICS_PROV_BANK;
    return METRICS_PROV_OTHER;
}

bool metrics_job_peek(const req_t *req, metrics_job_t *mj)
{
    assert(req && mj);
    char id[PM_UUID_LEN + 1], outcome[16];
    int64_t attempt = 0;
    if (pm_mp_copy_str(req->body, "id", id, sizeof id) != 0 ||
        pm_mp_copy_str(req->body, "outcome", outcome, sizeof outcome) != 0 ||
        pm_mp_get_int(req->body, "attempt", &attempt) != 0 || !pm_uuid_valid(id, strlen(id)))
        return false;
    for (char *c = id; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    if (strcmp(outcome, "ok") == 0)
        mj->out = METRICS_OUT_OK;
    else if (strcmp(outcome, "rejected") == 0)
        mj->out = METRICS_OUT_REJECTED;
    else if (strcmp(outcome, "unknown") == 0)
        mj->out = METRICS_OUT_UNKNOWN;
    else
        return false;
    static jobs_job_t job; /* large: not on the stack; one thread */
    if (jobs_load(req->db, req->txn, id, &job) != 0)
        return false;
    if (job.state != JOBS_LEASED || job.attempt != attempt)
        return false;
    mj->prov = metrics_prov_of(job.kind);
    int64_t leased = job.lease_until_ms - req->limits->job_lease_ms;
    mj->latency_ms = req->now_ms > leased ? req->now_ms - leased : 0;
    return true;
}

void metrics_job_stage(const metrics_job_t *mj)
{
    assert(mj);
    if (s_m.staged < S_STAGE_MAX)
        s_m.stage[s_m.staged++] = *mj;
}

void metrics_batch_clear(void)
{
    s_m.staged = 0;
}

void metrics_batch_done(size_t writes)
{
    for (size_t i = 0; i < s_m.staged; i++) {
        const metrics_job_t *mj = &s_m.stage[i];
        s_m.jobs[mj->prov][mj->out]++;
        s_m.latency_ms_sum[mj->prov] += (uint64_t)mj->latency_ms;
        s_m.latency_count[mj->prov]++;
    }
    s_m.staged = 0;
    if (writes == 0)
        return;
    size_t b = 0;
    while (b < METRICS_BATCH_BUCKETS - 1 && writes > metrics_batch_le[b])
        b++;
    s_m.batch_bucket[b]++;
    s_m.batch_last = writes;
}

void metrics_turn(size_t n)
{
    s_m.turn_last = n;
    if (n > s_m.turn_max)
        s_m.turn_max = n;
}

void metrics_reset(void)
{
    memset(&s_m, 0, sizeof s_m);
}

/* ---- LMDB figures ---------------------------------------------------------- */

typedef struct {
    uint64_t map_bytes, used_bytes, file_bytes, page_bytes, readers;
    double used_pct;
} s_store_t;

static void s_store_read(MDB_txn *txn, s_store_t *st)
{
    memset(st, 0, sizeof *st);
    MDB_env *env = mdb_txn_env(txn);
    MDB_envinfo info;
    MDB_stat mst;
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &mst) != 0)
        return;
    st->map_bytes = (uint64_t)info.me_mapsize;
    st->page_bytes = mst.ms_psize;
    st->used_bytes = ((uint64_t)info.me_last_pgno + 1) * mst.ms_psize;
    st->readers = info.me_numreaders;
    if (st->map_bytes)
        st->used_pct = 100.0 * (double)st->used_bytes / (double)st->map_bytes;
    const char *dir = NULL;
    char path[4096];
    struct stat sb;
    if (mdb_env_get_path(env, &dir) == 0 && dir &&
        (size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) < sizeof path &&
        stat(path, &sb) == 0)
        st->file_bytes = (uint64_t)sb.st_size;
}

/* ---- handlers --------------------------------------------------------------- */

static void s_kv_u(msgpack_packer *pk, const char *key, uint64_t v)
{
    pm_mp_pack_cstr(pk, key);
    msgpack_pack_uint64(pk, v);
}

static void s_kv_i(msgpack_packer *pk, const char *key, int64_t v)
{
    pm_mp_pack_cstr(pk, key);
    msgpack_pack_int64(pk, v);
}

static void s_kv_d(msgpack_packer *pk, const char *key, double v)
{
    pm_mp_pack_cstr(pk, key);
    msgpack_pack_double(pk, v);
}

int metrics_api_health(req_t *req)
{
    s_store_t st;
    s_store_read(req->txn, &st);
    bool writable = st.map_bytes > 0 && st.used_pct < METRICS_MAP_FULL_PCT;
    msgpack_pack_map(&req->pk, 4);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "writable");
    rec_pack_bool(&req->pk, writable);
    s_kv_d(&req->pk, "map_used_pct", st.used_pct);
    pm_mp_pack_cstr(&req->pk, "reason");
    if (writable)
        msgpack_pack_nil(&req->pk);
    else
        pm_mp_pack_cstr(&req->pk, st.map_bytes ? "map_nearly_full" : "store_info_failed");
    return 0;
}

int metrics_api_metrics(req_t *req)
{
    ops_stats_t ops;
    int rc = ops_stats_read(req->db, req->txn, &ops);
    if (rc != 0)
        return req_store_error(req, rc, "metrics");
    static jobs_job_t job; /* large: not on the stack; one thread */
    int64_t due_ms = 0;
    rc = jobs_first(req->db, req->txn, JOBS_RETRY_KIND, &job, &due_ms);
    if (rc == MDB_NOTFOUND)
        due_ms = 0;
    else if (rc != 0)
        return req_store_error(req, rc, "metrics");
    s_store_t st;
    s_store_read(req->txn, &st);
    const dispatch_stats_t *ds = req->stats;

    uint32_t n = 1 + 9 + METRICS_BATCH_BUCKETS + 2 + 7 + 2 + 6 +
                 METRICS_PROV__COUNT * (METRICS_OUT__COUNT + 2);
    msgpack_packer *pk = &req->pk;
    msgpack_pack_map(pk, n);
    pm_mp_pack_cstr(pk, "err");
    msgpack_pack_int(pk, PM_OK);
    /* group commit, 9 */
    s_kv_u(pk, "batches", ds->batches);
    s_kv_u(pk, "batch_requests", ds->requests);
    s_kv_u(pk, "batch_last", s_m.batch_last);
    s_kv_u(pk, "commit_us_total", ds->commit_us);
    s_kv_u(pk, "commit_us_max", ds->commit_us_max);
    s_kv_u(pk, "batches_redone", ds->batches_redone);
    s_kv_u(pk, "turn_requests", s_m.turn_last);
    s_kv_u(pk, "turn_requests_max", s_m.turn_max);
    s_kv_i(pk, "now_ms", req->now_ms);
    /* batch size histogram, cumulative */
    uint64_t cum = 0;
    for (size_t b = 0; b < METRICS_BATCH_BUCKETS; b++) {
        char key[32];
        cum += s_m.batch_bucket[b];
        if (b < METRICS_BATCH_BUCKETS - 1)
            snprintf(key, sizeof key, "batch_le_%u", metrics_batch_le[b]);
        else
            snprintf(key, sizeof key, "batch_le_inf");
        s_kv_u(pk, key, cum);
    }
    /* parked requests, 2 */
    s_kv_u(pk, "parked_waiters", park_waiters(req->park));
    s_kv_u(pk, "parked_takers", park_takers(req->park));
    /* jobs, 7 */
    s_kv_u(pk, "jobs", ops.jobs);
    s_kv_u(pk, "jobs_queued", ops.jobs_queued);
    s_kv_u(pk, "jobs_leased", ops.jobs_leased);
    s_kv_u(pk, "jobs_retry", ops.jobs_retry);
    s_kv_u(pk, "jobs_parked", ops.jobs_parked);
    s_kv_u(pk, "jobs_counted", ops.jobs_counted ? 1 : 0);
    s_kv_i(pk, "retry_oldest_due_ms", due_ms);
    /* retry backlog age, 2 */
    s_kv_i(pk, "retry_oldest_due_age_ms",
           due_ms > 0 && req->now_ms > due_ms ? req->now_ms - due_ms : 0);
    s_kv_u(pk, "purchases", ops.purchases);
    /* the store, 6 */
    s_kv_u(pk, "db_map_bytes", st.map_bytes);
    s_kv_u(pk, "db_used_bytes", st.used_bytes);
    s_kv_u(pk, "db_file_bytes", st.file_bytes);
    s_kv_u(pk, "db_page_bytes", st.page_bytes);
    s_kv_u(pk, "db_readers", st.readers);
    s_kv_d(pk, "db_map_used_pct", st.used_pct);
    /* job results by provider */
    for (int p = 0; p < METRICS_PROV__COUNT; p++) {
        char key[64];
        for (int o = 0; o < METRICS_OUT__COUNT; o++) {
            snprintf(key, sizeof key, "job_%s_%s", s_prov_names[p], s_out_names[o]);
            s_kv_u(pk, key, s_m.jobs[p][o]);
        }
        snprintf(key, sizeof key, "job_%s_latency_ms_sum", s_prov_names[p]);
        s_kv_u(pk, key, s_m.latency_ms_sum[p]);
        snprintf(key, sizeof key, "job_%s_latency_count", s_prov_names[p]);
        s_kv_u(pk, key, s_m.latency_count[p]);
    }
    return 0;
}
