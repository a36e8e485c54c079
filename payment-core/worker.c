/*  worker: job take, job result, leasing. */
#include "worker.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bazaar.h"
#include "bazaarpay.h"
#include "orders.h"
#include "jobs.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "rec.h"
#include "pm_log.h"
#include "retry.h"

#define S_REASON_MAX 256
#define S_SCAN_EXTRA 64 /* exhausted jobs given up per lease call at most */

/* The due job of take's kinds with the earliest due time, if due by now. */
static int s_first_due(db_t *db, MDB_txn *txn, const park_take_t *take, int64_t now_ms,
                       jobs_job_t *job)
{
    int found = MDB_NOTFOUND;
    int64_t best = INT64_MAX;
    jobs_job_t cand;
    for (size_t k = 0; k < take->nkinds; k++) {
        int64_t due;
        int rc = jobs_first(db, txn, take->kinds[k], &cand, &due);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc != 0)
            return rc;
        if (due <= now_ms && due < best) {
            best = due;
            *job = cand;
            found = 0;
        }
    }
    return found;
}

int64_t worker_next_due_ms(db_t *db, MDB_txn *txn, const park_take_t *take)
{
    int64_t best = INT64_MAX;
    jobs_job_t *cand = malloc(sizeof *cand);
    assert(cand);
    for (size_t k = 0; k < take->nkinds; k++) {
        int64_t due;
        if (jobs_first(db, txn, take->kinds[k], cand, &due) == 0 && due < best)
            best = due;
    }
    free(cand);
    return best;
}

/* A job that was leased job_max_attempts times is not offered again. */
static int s_give_up(db_t *db, MDB_txn *txn, jobs_job_t *job, int64_t now_ms)
{
    if (strcmp(job->kind, BAZAAR_VALIDATE) == 0)
        return bazaar_validate_give_up(db, txn, job, now_ms);
    if (bazaarpay_kind(job->kind) || orders_kind(job->kind)) {
        pm_error("job %s (%s) parked after %lld calls (job-max-attempts); kept for the operator",
                 job->id, job->kind, (long long)job->attempt);
        job->state = JOBS_PARKED;
        return jobs_save(db, txn, job);
    }
    char serial[32];
    bazaar_job_serial(db, txn, job, serial, sizeof serial);
    pm_error("job %s (%s, purchase %s) gave up after %lld attempts; kept for the operator", job->id,
             job->kind, serial[0] ? serial : "unknown", (long long)job->attempt);
    job->state = JOBS_PARKED;
    return jobs_save(db, txn, job);
}

/* A provider lease ran out without a report. */
static int s_lease_expired(db_t *db, MDB_txn *txn, jobs_job_t *job, int64_t now_ms)
{
    pm_warn("job %s (%s) lease of attempt %lld expired; retry-worker decides what follows", job->id,
            job->kind, (long long)job->attempt);
    if (bazaarpay_kind(job->kind))
        return bazaarpay_lease_expired(db, txn, job, now_ms);
    if (orders_kind(job->kind))
        return orders_lease_expired(db, txn, job, now_ms);
    return jobs_to_retry(db, txn, job, JOBS_OUT_LEASE_EXPIRED, "no report in the lease", NULL,
                         now_ms);
}

int worker_lease(db_t *db, MDB_txn *txn, const dispatch_limits_t *limits, const park_take_t *take,
                 int64_t now_ms, msgpack_sbuffer *out, size_t *n)
{
    assert(db && txn && limits && take && out && n);
    *n = 0;
    size_t max = (size_t)take->max;
    jobs_job_t *jobs = calloc(max, sizeof *jobs);
    assert(jobs);
    int rc = 0;
    bool retry = take->nkinds == 1 && strcmp(take->kinds[0], JOBS_RETRY_KIND) == 0;
    for (size_t scans = 0; *n < max && scans < max + S_SCAN_EXTRA; scans++) {
        jobs_job_t *job = &jobs[*n];
        rc = s_first_due(db, txn, take, now_ms, job);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc != 0)
            goto free_jobs;
        if (job->state == JOBS_LEASED) {
            /* The worker died or hung: what follows is retry-worker's call
             * (the job is due for it now, and the next scan finds it). */
            if ((rc = s_lease_expired(db, txn, job, now_ms)) != 0)
                goto free_jobs;
            continue;
        }
        if (retry) {
            if ((rc = retry_lease(db, txn, limits, job, now_ms)) != 0)
                goto free_jobs;
            (*n)++;
            continue;
        }
        if (job->attempt >= limits->job_max_attempts) {
            if ((rc = s_give_up(db, txn, job, now_ms)) != 0)
                goto free_jobs;
            continue;
        }
        job->attempt++;
        job->state = JOBS_LEASED;
        job->lease_until_ms = now_ms + limits->job_lease_ms;
        if ((rc = jobs_save(db, txn, job)) != 0)
            goto free_jobs;
        (*n)++;
    }
    if (*n == 0)
        goto free_jobs;
    if (retry) {
        rc = retry_pack_items(db, txn, limits, jobs, *n, out);
        goto free_jobs;
    }
    msgpack_sbuffer_clear(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    req_pack_list_head(&pk, "jobs", (uint32_t)*n);
    for (size_t i = 0; i < *n; i++) {
        msgpack_pack_map(&pk, 5);
        pm_mp_pack_cstr(&pk, "id");
        pm_mp_pack_cstr(&pk, jobs[i].id);
        pm_mp_pack_cstr(&pk, "trace");
        rec_pack_opt(&pk, jobs[i].trace);
        pm_mp_pack_cstr(&pk, "kind");
        pm_mp_pack_cstr(&pk, jobs[i].kind);
        pm_mp_pack_cstr(&pk, "attempt");
        msgpack_pack_int64(&pk, jobs[i].attempt);
        pm_mp_pack_cstr(&pk, "payload");
        /* The payload is a msgpack map already: written as it is. */
        msgpack_sbuffer_write(out, (const char *)jobs[i].payload, jobs[i].payload_len);
    }
free_jobs:
    free(jobs);
    return rc;
}

int worker_api_take(req_t *req)
{
    park_take_t take;
    memset(&take, 0, sizeof take);
    const msgpack_object *kinds = pm_mp_get(req->body, "kinds");
    if (!kinds || kinds->type != MSGPACK_OBJECT_ARRAY || kinds->via.array.size == 0 ||
        kinds->via.array.size > PARK_KINDS_MAX)
        return req_reject(req, PM_ERR_VALIDATION, "kinds must be a list of 1 to %d job kinds",
                          PARK_KINDS_MAX);
    for (uint32_t i = 0; i < kinds->via.array.size; i++) {
        const msgpack_object *k = &kinds->via.array.ptr[i];
        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size == 0 ||
            k->via.str.size > PARK_KIND_MAX || memchr(k->via.str.ptr, '\0', k->via.str.size) ||
            k->via.str.ptr[0] == JOBS_RETRY_KIND[0])
            return req_reject(req, PM_ERR_VALIDATION, "kinds must be strings of 1 to %d bytes",
                              PARK_KIND_MAX);
        memcpy(take.kinds[take.nkinds], k->via.str.ptr, k->via.str.size);
        take.kinds[take.nkinds++][k->via.str.size] = '\0';
    }
    int64_t wait_ms = 0;
    if (req_int(req, "max", "max", 1, WORKER_TAKE_MAX, 0, 0, &take.max) != 0 ||
        req_int(req, "wait_ms", "wait_ms", 0, WORKER_WAIT_MAX_MS, 0, 0, &wait_ms) != 0)
        return -1;
    return worker_take(req, &take, wait_ms);
}

int worker_take(req_t *req, park_take_t *take, int64_t wait_ms)
{
    size_t n = 0;
    int rc = worker_lease(req->db, req->txn, req->limits, take, req->now_ms, req->out, &n);
    if (rc != 0)
        return req_store_error(req, rc, "job lease");
    if (n > 0)
        return 0;
    if (wait_ms > 0 && !park_takers_full(req->park)) {
        take->until_ms = req->now_ms + wait_ms;
        req->park_as = REQ_PARK_TAKER;
        req->park_take = *take;
        return 0;
    }
    req_pack_list_head(&req->pk, worker_take_list_key(take), 0);
    return 0;
}

const char *worker_take_list_key(const park_take_t *take)
{
    return take->nkinds == 1 && strcmp(take->kinds[0], JOBS_RETRY_KIND) == 0 ? "items" : "jobs";
}

static int s_ack(req_t *req)
{
    msgpack_pack_map(&req->pk, 1);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    return 0;
}

int worker_api_result(req_t *req)
{
    char id[PM_UUID_LEN + 1], outcome_text[16], reason[S_REASON_MAX + 1];
    int64_t attempt = 0;
    if (req_text(req, "id", "id", PM_UUID_LEN, PM_UUID_LEN, REQ_ASCII, id, sizeof id) != 0 ||
        req_int(req, "attempt", "attempt", 1, INT64_MAX, 0, 0, &attempt) != 0 ||
        req_text(req, "outcome", "outcome", 1, sizeof outcome_text - 1, REQ_ASCII, outcome_text,
                 sizeof outcome_text) != 0 ||
        req_text(req, "reason", "reason", 0, S_REASON_MAX, REQ_OPTIONAL, reason, sizeof reason))
        return -1;
    const msgpack_object *data = pm_mp_get(req->body, "data");
    if (data && data->type != MSGPACK_OBJECT_MAP && data->type != MSGPACK_OBJECT_NIL)
        return req_reject(req, PM_ERR_VALIDATION, "data must be a map");
    bazaar_outcome_t outcome;
    if (strcmp(outcome_text, "ok") == 0)
        outcome = BAZAAR_OK;
    else if (strcmp(outcome_text, "rejected") == 0)
        outcome = BAZAAR_REJECTED;
    else if (strcmp(outcome_text, "unknown") == 0)
        outcome = BAZAAR_UNKNOWN;
    else
        return req_reject(req, PM_ERR_VALIDATION, "outcome must be ok, rejected or unknown");
    if (!reason[0])
        strcpy(reason, outcome == BAZAAR_OK ? "ok" : "unspecified");
    for (char *c = id; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    jobs_job_t *job = malloc(sizeof *job);
    assert(job);
    int rc = pm_uuid_valid(id, strlen(id)) ? jobs_load(req->db, req->txn, id, job) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND || (rc == 0 && job->state == JOBS_PARKED)) {
        pm_debug("result for job %s that no longer runs: ignored", id);
        rc = s_ack(req);
        goto free_job;
    }
    if (rc != 0) {
        rc = req_store_error(req, rc, "job load");
        goto free_job;
    }
    /* A report counts only while its call is the job's current lease.
     * "Nothing is known" from an earlier attempt says nothing the current
     * one will not say better; a BazaarPay job may have become another
     * call since, so only its current attempt reports. Validate and consume
     * results stay good whichever attempt brings them. */
    bool current = job->state == JOBS_LEASED && attempt == job->attempt;
    if (!current &&
        (outcome != BAZAAR_OK || job->state != JOBS_LEASED || bazaarpay_kind(job->kind))) {
        pm_debug("stale %s result for job %s attempt %lld (now %lld): ignored", outcome_text, id,
                 (long long)attempt, (long long)job->attempt);
        rc = s_ack(req);
        goto free_job;
    }
    jobs_outcome_t out = outcome == BAZAAR_OK         ? JOBS_OUT_OK
                         : outcome == BAZAAR_REJECTED ? JOBS_OUT_REJECTED
                                                      : JOBS_OUT_UNKNOWN;
    if (bazaarpay_kind(job->kind)) {
        rc = bazaarpay_job_result(req, job, out, reason, data);
    } else if (orders_kind(job->kind)) {
        rc = orders_job_result(req, job, out, reason, data);
    } else if (strcmp(job->kind, BAZAAR_VALIDATE) == 0) {
        rc = bazaar_validate_result(req, job, outcome, reason);
    } else if (outcome == BAZAAR_OK) {
        rc = jobs_delete(req->db, req->txn, id);
        if (rc != 0)
            rc = req_store_error(req, rc, "job delete");
        else
            pm_info("job %s (%s) done", id, job->kind);
    } else {
        pm_warn("job %s (%s) attempt %lld failed: %s; retry-worker decides what follows", job->id,
                job->kind, (long long)job->attempt, reason);
        rc = jobs_to_retry(req->db, req->txn, job, out, reason, NULL, req->now_ms);
        if (rc != 0)
            rc = req_store_error(req, rc, "job retry");
    }
    if (rc == 0)
        rc = s_ack(req);
free_job:
    free(job);
    return rc;
}
