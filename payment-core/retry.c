/*  retry: RETRY_TAKE, RETRY_DECIDE and the operator's retry commands. */
#include "retry.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bazaar.h"
#include "bazaarpay.h"
#include "orders.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "rec.h"
#include "worker.h"

#define S_NOTE_MAX 256
#define S_LIST_MAX 1000
#define S_LIST_SCAN_MAX 100000           /* jobs looked at by one list */
#define S_DECIDE_AHEAD_MAX_MS 86400000LL /* a retry is due within a day at most */
#define S_REF_MAX 64

int retry_lease(db_t *db, MDB_txn *txn, const dispatch_limits_t *limits, jobs_job_t *job,
                int64_t now_ms)
{
    if (job->state == JOBS_DECIDING)
        pm_warn("job %s (%s): decision lease %lld expired; offered to a retry-worker again",
                job->id, job->kind, (long long)job->gen);
    job->gen++;
    job->state = JOBS_DECIDING;
    job->lease_until_ms = now_ms + limits->job_lease_ms;
    return jobs_save(db, txn, job);
}

int retry_pack_items(db_t *db, MDB_txn *txn, const dispatch_limits_t *limits,
                     const jobs_job_t *jobs, size_t n, msgpack_sbuffer *out)
{
    msgpack_sbuffer_clear(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    req_pack_list_head(&pk, "items", (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const jobs_job_t *j = &jobs[i];
        msgpack_pack_map(&pk, 11);
        pm_mp_pack_cstr(&pk, "id");
        pm_mp_pack_cstr(&pk, j->id);
        pm_mp_pack_cstr(&pk, "trace");
        rec_pack_opt(&pk, j->trace);
        pm_mp_pack_cstr(&pk, "kind");
        pm_mp_pack_cstr(&pk, j->kind);
        pm_mp_pack_cstr(&pk, "attempt");
        msgpack_pack_int64(&pk, j->attempt);
        pm_mp_pack_cstr(&pk, "gen");
        msgpack_pack_int64(&pk, j->gen);
        pm_mp_pack_cstr(&pk, "outcome");
        pm_mp_pack_cstr(&pk,
                        j->outcome == JOBS_OUT_NONE ? "unknown" : jobs_outcome_name(j->outcome));
        pm_mp_pack_cstr(&pk, "reason");
        pm_mp_pack_cstr(&pk, j->reason);
        pm_mp_pack_cstr(&pk, "status");
        rec_pack_opt(&pk, j->status);
        pm_mp_pack_cstr(&pk, "created_ms");
        msgpack_pack_int64(&pk, j->created_ms);
        pm_mp_pack_cstr(&pk, "failed_ms");
        msgpack_pack_int64(&pk, j->failed_ms);
        pm_mp_pack_cstr(&pk, "ctx");
        int rc = 0;
        if (bazaarpay_kind(j->kind))
            rc = bazaarpay_pack_ctx(db, txn, limits, j, &pk);
        else if (orders_kind(j->kind))
            rc = orders_pack_ctx(db, txn, j, &pk);
        else
            msgpack_pack_map(&pk, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int retry_api_take(req_t *req)
{
    park_take_t take;
    memset(&take, 0, sizeof take);
    snprintf(take.kinds[0], sizeof take.kinds[0], "%s", JOBS_RETRY_KIND);
    take.nkinds = 1;
    int64_t wait_ms = 0;
    if (req_int(req, "max", "max", 1, WORKER_TAKE_MAX, 0, 0, &take.max) != 0 ||
        req_int(req, "wait_ms", "wait_ms", 0, WORKER_WAIT_MAX_MS, 0, 0, &wait_ms) != 0)
        return -1;
    return worker_take(req, &take, wait_ms);
}

static int s_applied(req_t *req, bool applied)
{
    msgpack_pack_map(&req->pk, 2);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "applied");
    rec_pack_bool(&req->pk, applied);
    return 0;
}

/* Reads the "id" of a job (lower-cased) and loads it: 0, 1 when there is no
 * such job, or -1 with the outcome set. */
static int s_read_job(req_t *req, jobs_job_t *job)
{
    char id[PM_UUID_LEN + 1];
    if (req_text(req, "id", "id", PM_UUID_LEN, PM_UUID_LEN, REQ_ASCII, id, sizeof id) != 0)
        return -1;
    for (char *c = id; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    int rc = pm_uuid_valid(id, strlen(id)) ? jobs_load(req->db, req->txn, id, job) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND)
        return 1;
    if (rc != 0)
        return req_store_error(req, rc, "job load");
    return 0;
}

/* A decision on a store job (bazaar_validate, bazaar_consume, ...). */
static int s_decide_plain(req_t *req, jobs_job_t *job, const char *action, const char *kind,
                          int64_t at_ms, const char **why)
{
    int rc;
    if (strcmp(action, "park") == 0) {
        if (strcmp(job->kind, BAZAAR_VALIDATE) == 0) {
            /* Nothing was credited: the purchase is open again, and the
             * app's next redeem starts a fresh validation. */
            rc = bazaar_validate_give_up(req->db, req->txn, job, req->now_ms);
        } else {
            pm_error("job %s (%s) parked for an operator after %lld calls: %s", job->id, job->kind,
                     (long long)job->attempt, job->reason);
            job->state = JOBS_PARKED;
            rc = jobs_save(req->db, req->txn, job);
        }
        return rc == 0 ? 0 : req_store_error(req, rc, "job park");
    }
    if (strcmp(action, "retry") != 0) {
        *why = "only BazaarPay checkouts expire";
        return 1;
    }
    if (kind[0] && strcmp(kind, job->kind) != 0) {
        *why = "a store job is retried as the same call";
        return 1;
    }
    jobs_requeue(job, at_ms);
    rc = jobs_save(req->db, req->txn, job);
    return rc == 0 ? 0 : req_store_error(req, rc, "job reschedule");
}

int retry_api_decide(req_t *req)
{
    char action[16], kind[JOBS_KIND_MAX + 1], note[S_NOTE_MAX + 1];
    int64_t gen = 0, at_ms = 0;
    if (req_int(req, "gen", "gen", 0, INT64_MAX, 0, 0, &gen) != 0 ||
        req_text(req, "action", "action", 1, sizeof action - 1, REQ_ASCII, action, sizeof action) !=
            0 ||
        req_text(req, "kind", "kind", 1, JOBS_KIND_MAX, REQ_ASCII | REQ_OPTIONAL, kind,
                 sizeof kind) != 0 ||
        req_int(req, "at_ms", "at_ms", 0, INT64_MAX, REQ_OPTIONAL, req->now_ms, &at_ms) != 0 ||
        req_text(req, "note", "note", 1, S_NOTE_MAX, REQ_OPTIONAL, note, sizeof note) != 0)
        return -1;
    if (strcmp(action, "retry") != 0 && strcmp(action, "park") != 0 &&
        strcmp(action, "expire") != 0)
        return req_reject(req, PM_ERR_VALIDATION, "action must be retry, park or expire");
    jobs_job_t *job = malloc(sizeof *job);
    assert(job);
    int rc = s_read_job(req, job);
    if (rc != 0) {
        free(job);
        return rc == 1 ? s_applied(req, false) : -1;
    }
    if (job->state != JOBS_DECIDING || job->gen != gen) {
        pm_debug("decision for job %s gen %lld is stale (now %s, gen %lld)", job->id,
                 (long long)gen, jobs_state_name(job->state), (long long)job->gen);
        free(job);
        return s_applied(req, false);
    }
    if (strcmp(action, "retry") == 0 && !kind[0])
        snprintf(kind, sizeof kind, "%s", job->kind);
    /* A retry is due from now, and within a day at most, whatever asked. */
    if (at_ms < req->now_ms)
        at_ms = req->now_ms;
    if (at_ms > req->now_ms + S_DECIDE_AHEAD_MAX_MS)
        at_ms = req->now_ms + S_DECIDE_AHEAD_MAX_MS;
    pm_info("job %s (%s): retry-worker says %s%s%s in %lld ms%s%s", job->id, job->kind, action,
            strcmp(action, "retry") == 0 ? " as " : "", strcmp(action, "retry") == 0 ? kind : "",
            (long long)(at_ms - req->now_ms), note[0] ? ": " : "", note);
    const char *why = NULL;
    if (bazaarpay_kind(job->kind))
        rc = bazaarpay_decide(req, job, action, kind, at_ms, &why);
    else if (orders_kind(job->kind))
        rc = orders_decide(req, job, action, kind, at_ms, &why);
    else
        rc = s_decide_plain(req, job, action, kind, at_ms, &why);
    free(job);
    if (rc == 1)
        return req_reject(req, PM_ERR_VALIDATION, "decision refused: %s", why);
    if (rc != 0)
        return -1;
    return s_applied(req, true);
}

/* ---- the operator's view -------------------------------------------------- */

/* What a listing shows of a job (not its payload). */
typedef struct {
    char id[PM_UUID_LEN + 1];
    char kind[JOBS_KIND_MAX + 1];
    jobs_state_t state;
    int64_t attempt, due_ms, created_ms;
    jobs_outcome_t outcome;
    char reason[JOBS_REASON_MAX + 1];
    char ref[S_REF_MAX + 1];
} s_row_t;

static int s_by_created(const void *a, const void *b)
{
    const s_row_t *x = a, *y = b;
    if (x->created_ms != y->created_ms)
        return x->created_ms < y->created_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

static void s_ref(db_t *db, MDB_txn *txn, const jobs_job_t *job, char *out, size_t cap)
{
    if (bazaarpay_kind(job->kind))
        bazaarpay_job_ref(db, txn, job, out, cap);
    else if (orders_kind(job->kind))
        orders_job_ref(job, out, cap);
    else
        bazaar_job_serial(db, txn, job, out, cap);
}

int retry_admin_list(req_t *req)
{
    int64_t max = 0;
    if (req_int(req, "max", "max", 1, S_LIST_MAX, REQ_OPTIONAL, 100, &max) != 0)
        return -1;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(req->txn, db_dbi(req->db, DB_JOBS), &cur);
    if (rc != 0)
        return req_store_error(req, rc, "job list");
    size_t n = 0, cap = 16, scanned = 0;
    s_row_t *rows = malloc(cap * sizeof *rows);
    jobs_job_t *j = malloc(sizeof *j);
    assert(rows && j);
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && scanned < S_LIST_SCAN_MAX;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), scanned++) {
        char id[PM_UUID_LEN + 1];
        if (k.mv_size != PM_UUID_LEN)
            continue;
        memcpy(id, k.mv_data, PM_UUID_LEN);
        id[PM_UUID_LEN] = '\0';
        if (jobs_load(req->db, req->txn, id, j) != 0)
            continue;
        /* Work waiting for its first run is not a retry. */
        if (j->state == JOBS_QUEUED && j->outcome == JOBS_OUT_NONE && j->attempt == 0)
            continue;
        if (n == cap) {
            cap *= 2;
            rows = realloc(rows, cap * sizeof *rows);
            assert(rows);
        }
        s_row_t *r = &rows[n++];
        memcpy(r->id, j->id, sizeof r->id);
        memcpy(r->kind, j->kind, sizeof r->kind);
        memcpy(r->reason, j->reason, sizeof r->reason);
        r->state = j->state;
        r->attempt = j->attempt;
        r->due_ms = jobs_due_ms(j);
        r->created_ms = j->created_ms;
        r->outcome = j->outcome;
        s_ref(req->db, req->txn, j, r->ref, sizeof r->ref);
    }
    free(j);
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND && scanned < S_LIST_SCAN_MAX) {
        free(rows);
        return req_store_error(req, rc, "job list");
    }
    qsort(rows, n, sizeof *rows, s_by_created);
    size_t out = n < (size_t)max ? n : (size_t)max;
    req_pack_list_head(&req->pk, "items", (uint32_t)out);
    for (size_t i = 0; i < out; i++) {
        const s_row_t *r = &rows[i];
        msgpack_pack_map(&req->pk, 9);
        pm_mp_pack_cstr(&req->pk, "id");
        pm_mp_pack_cstr(&req->pk, r->id);
        pm_mp_pack_cstr(&req->pk, "kind");
        pm_mp_pack_cstr(&req->pk, r->kind);
        pm_mp_pack_cstr(&req->pk, "state");
        pm_mp_pack_cstr(&req->pk, jobs_state_name(r->state));
        pm_mp_pack_cstr(&req->pk, "attempt");
        msgpack_pack_int64(&req->pk, r->attempt);
        pm_mp_pack_cstr(&req->pk, "due_ms");
        if (r->state == JOBS_PARKED)
            msgpack_pack_nil(&req->pk);
        else
            msgpack_pack_int64(&req->pk, r->due_ms);
        pm_mp_pack_cstr(&req->pk, "created_ms");
        msgpack_pack_int64(&req->pk, r->created_ms);
        pm_mp_pack_cstr(&req->pk, "outcome");
        rec_pack_opt(&req->pk, jobs_outcome_name(r->outcome));
        pm_mp_pack_cstr(&req->pk, "reason");
        rec_pack_opt(&req->pk, r->reason);
        pm_mp_pack_cstr(&req->pk, "ref");
        pm_mp_pack_cstr(&req->pk, r->ref);
    }
    free(rows);
    return 0;
}

static int s_admin_job(req_t *req, jobs_job_t *job)
{
    int rc = s_read_job(req, job);
    if (rc == 1)
        return req_refuse(req, PM_ERR_NOT_FOUND, "no such job");
    if (rc != 0)
        return -1;
    if (job->state == JOBS_LEASED)
        return req_refuse(req, PM_ERR_CONFLICT,
                          "job %s is with a provider worker now; try again when it reports",
                          job->id);
    return 0;
}

static int s_admin_reply(req_t *req, const jobs_job_t *job)
{
    msgpack_pack_map(&req->pk, 3);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "id");
    pm_mp_pack_cstr(&req->pk, job->id);
    pm_mp_pack_cstr(&req->pk, "state");
    pm_mp_pack_cstr(&req->pk, jobs_state_name(job->state));
    return 0;
}

int retry_admin_now(req_t *req)
{
    jobs_job_t *job = malloc(sizeof *job);
    assert(job);
    int rc = s_admin_job(req, job);
    if (rc != 0)
        goto free_job;
    /* A BazaarPay call that stopped may have reached BazaarPay: what it
     * does next is a trace, whatever it was. */
    if (bazaarpay_kind(job->kind) && strcmp(job->kind, BAZAARPAY_INIT) != 0)
        snprintf(job->kind, sizeof job->kind, "%s", BAZAARPAY_TRACE);
    if (orders_kind(job->kind) && strcmp(job->kind, ORDERS_REGISTER) != 0)
        snprintf(job->kind, sizeof job->kind, "%s", ORDERS_STATUS);
    jobs_requeue(job, req->now_ms);
    job->attempt = 0;
    job->gen++;
    if ((rc = jobs_save(req->db, req->txn, job)) != 0) {
        rc = req_store_error(req, rc, "job requeue");
        goto free_job;
    }
    pm_info("job %s (%s) queued now by the operator", job->id, job->kind);
    rc = s_admin_reply(req, job);
free_job:
    free(job);
    return rc;
}

int retry_admin_park(req_t *req)
{
    jobs_job_t *job = malloc(sizeof *job);
    assert(job);
    int rc = s_admin_job(req, job);
    if (rc != 0)
        goto free_job;
    job->state = JOBS_PARKED;
    job->gen++;
    if ((rc = jobs_save(req->db, req->txn, job)) != 0) {
        rc = req_store_error(req, rc, "job park");
        goto free_job;
    }
    pm_info("job %s (%s) parked by the operator", job->id, job->kind);
    rc = s_admin_reply(req, job);
free_job:
    free(job);
    return rc;
}
