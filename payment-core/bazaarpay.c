/*  bazaarpay: checkout open, confirm, refund; provider reports; decisions. */
#include "bazaarpay.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "rec.h"

#define S_PAID "paid_not_committed"
#define S_COMMITTED "paid_committed"

static const char *s_statuses[] = {
    "invalid_token",  "unpaid",   "paid_not_committed", "paid_not_committed_refunded",
    "paid_committed", "refunded", "timed_out",
};

bool bazaarpay_kind(const char *kind)
{
    return strcmp(kind, BAZAARPAY_INIT) == 0 || strcmp(kind, BAZAARPAY_TRACE) == 0 ||
           strcmp(kind, BAZAARPAY_COMMIT) == 0 || strcmp(kind, BAZAARPAY_REFUND) == 0;
}

static bool s_status_known(const char *status)
{
    for (size_t i = 0; i < sizeof s_statuses / sizeof s_statuses[0]; i++)
        if (strcmp(status, s_statuses[i]) == 0)
            return true;
    return false;
}

static checkout_call_t s_call_of(const char *kind)
{
    if (strcmp(kind, BAZAARPAY_INIT) == 0)
        return CHECKOUT_CALL_INIT;
    if (strcmp(kind, BAZAARPAY_COMMIT) == 0)
        return CHECKOUT_CALL_COMMIT;
    if (strcmp(kind, BAZAARPAY_REFUND) == 0)
        return CHECKOUT_CALL_REFUND;
    return CHECKOUT_CALL_TRACE;
}

static void s_touch(checkout_t *co, int64_t now_ms)
{
    co->updated_ms = now_ms > co->updated_ms ? now_ms : co->updated_ms;
}

static bool s_final(const checkout_t *co)
{
    return co->state == CHECKOUT_REFUNDED || co->state == CHECKOUT_EXPIRED ||
           (co->state == CHECKOUT_COMMITTED && !co->refund_requested);
}

/* ---- job payloads --------------------------------------------------------- */

/* {serial, checkout_token}: what trace, commit and refund need. */
static void s_payload_token(jobs_job_t *job, const checkout_t *co)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "serial");
    pm_mp_pack_cstr(&pk, co->serial);
    pm_mp_pack_cstr(&pk, "checkout_token");
    pm_mp_pack_cstr(&pk, co->token);
    assert(buf.size <= JOBS_PAYLOAD_MAX);
    memcpy(job->payload, buf.data, buf.size);
    job->payload_len = buf.size;
    msgpack_sbuffer_destroy(&buf);
}

/* The serial a bazaarpay job's payload names, or -1. */
static int s_payload_serial(const jobs_job_t *job, char serial[CHECKOUT_SERIAL_LEN + 1])
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = -1;
    if (msgpack_unpack_next(&u, (const char *)job->payload, job->payload_len, &off) ==
            MSGPACK_UNPACK_SUCCESS &&
        off == job->payload_len &&
        pm_mp_copy_str(&u.data, "serial", serial, CHECKOUT_SERIAL_LEN + 1) == 0 &&
        strlen(serial) == CHECKOUT_SERIAL_LEN)
        rc = 0;
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* Loads the checkout job belongs to: 0, or 1 when the job is stale (the
 * checkout is gone, moved to another job, or final): then it was deleted. */
static int s_job_checkout(db_t *db, MDB_txn *txn, const jobs_job_t *job, checkout_t *co)
{
    char serial[CHECKOUT_SERIAL_LEN + 1];
    int rc;
    if (s_payload_serial(job, serial) != 0) {
        pm_error("bazaarpay job %s has a malformed payload; deleted", job->id);
        goto stale;
    }
    rc = checkout_load(db, txn, serial, co);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (rc == MDB_NOTFOUND || strcmp(co->job_id, job->id) != 0) {
        pm_warn("bazaarpay job %s does not belong to checkout %s any more; deleted", job->id,
                serial);
        goto stale;
    }
    return 0;
stale:
    rc = jobs_delete(db, txn, job->id);
    return rc == 0 || rc == MDB_NOTFOUND ? 1 : rc;
}

/* s_job_checkout for a request: 0, 1 (stale), or -1 with the outcome set. */
static int s_req_checkout(req_t *req, const jobs_job_t *job, checkout_t *co)
{
    int rc = s_job_checkout(req->db, req->txn, job, co);
    return rc == 0 || rc == 1 ? rc : req_store_error(req, rc, "checkout of job");
}

/* The job is done with: deleted, and the checkout has no job. */
static int s_job_end(db_t *db, MDB_txn *txn, checkout_t *co)
{
    int rc = co->job_id[0] ? jobs_delete(db, txn, co->job_id) : 0;
    co->job_id[0] = '\0';
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* job becomes the call kind, due at at_ms (a decision in flight is void). */
static int s_job_set(db_t *db, MDB_txn *txn, jobs_job_t *job, const checkout_t *co,
                     const char *kind, int64_t at_ms)
{
    snprintf(job->kind, sizeof job->kind, "%s", kind);
    jobs_requeue(job, at_ms);
    job->gen++;
    s_payload_token(job, co);
    return jobs_save(db, txn, job);
}

/* A new job of kind for co, due now. */
static int s_job_new(db_t *db, MDB_txn *txn, checkout_t *co, const char *kind, int64_t now_ms)
{
    jobs_job_t job;
    memset(&job, 0, sizeof job);
    s_payload_token(&job, co);
    return jobs_enqueue(db, txn, kind, job.payload, job.payload_len, now_ms, co->job_id);
}

/* ---- answers -------------------------------------------------------------- */

static int s_pack_reply(db_t *db, MDB_txn *txn, msgpack_packer *pk, const checkout_t *co)
{
    msgpack_pack_map(pk, 2);
    pm_mp_pack_cstr(pk, "err");
    msgpack_pack_int(pk, PM_OK);
    pm_mp_pack_cstr(pk, "checkout");
    return checkout_pack(db, txn, pk, co);
}

/* The checkout's waiters hear co as it is now (after the commit). */
static int s_answer(req_t *req, const checkout_t *co)
{
    msgpack_sbuffer_clear(req->answer_body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, req->answer_body, msgpack_sbuffer_write);
    int rc = s_pack_reply(req->db, req->txn, &pk, co);
    if (rc != 0)
        return req_store_error(req, rc, "checkout pack");
    req->answer = true;
    snprintf(req->answer_serial, sizeof req->answer_serial, "%s", co->serial);
    return 0;
}

static int s_reply(req_t *req, const checkout_t *co)
{
    int rc = s_pack_reply(req->db, req->txn, &req->pk, co);
    return rc == 0 ? 0 : req_store_error(req, rc, "checkout pack");
}

/* ---- the ledger side ------------------------------------------------------ */

/* Credits the package and moves co to delivered (committed: already
 * committed at BazaarPay). The caller saves co. */
static int s_deliver(req_t *req, checkout_t *co, bool committed)
{
    catalog_package_t pkg;
    checkout_package(co, &pkg);
    ledger_balance_t after;
    int rc = ledger_credit(req->db, req->txn, co->principal, &pkg, co->serial, req->now_ms, &after);
    if (rc != 0)
        return rc;
    co->state = committed ? CHECKOUT_COMMITTED : CHECKOUT_DELIVERED;
    co->has_delivered = true;
    co->delivered_ms = req->now_ms;
    if (pkg.type == CATALOG_COIN) {
        co->has_coins = true;
        co->coins_after = after.coins;
    } else {
        co->has_until = after.has_until;
        co->until_ms = after.subscription_until_ms;
    }
    pm_info("checkout %s delivered to %s: %s (%s)", co->serial, co->principal, co->sku,
            committed ? "already committed" : "commit follows");
    return 0;
}

/* Takes the delivery back and ends co refunded. The caller saves co. */
static int s_reverse(req_t *req, checkout_t *co, const char *why)
{
    catalog_package_t pkg;
    checkout_package(co, &pkg);
    ledger_balance_t after;
    int rc;
    if (!co->reversed) {
        rc =
            ledger_reverse(req->db, req->txn, co->principal, &pkg, co->serial, req->now_ms, &after);
        if (rc != 0)
            return rc;
        co->reversed = true;
    }
    co->state = CHECKOUT_REFUNDED;
    pm_info("checkout %s refunded (%s); delivery to %s reversed", co->serial, why, co->principal);
    return s_job_end(req->db, req->txn, co);
}

/* ---- client requests ------------------------------------------------------ */

static bool s_may_see(const req_t *req, const checkout_t *co)
{
    return req->caller->role == AUTH_ROLE_SERVICE ||
           strcmp(req->caller->principal, co->principal) == 0;
}

/* Reads checkout_token and loads its checkout, visible to the caller (all
 * of them when caller is NULL: admin). 0, or -1 with the outcome set. */
static int s_read_checkout(req_t *req, checkout_t *co)
{
    char token[CHECKOUT_TOKEN_MAX + 1];
    if (req_text(req, "checkout_token", "checkout_token", 1, CHECKOUT_TOKEN_MAX, REQ_ASCII, token,
                 sizeof token) != 0)
        return -1;
    if (!checkout_token_valid(token, strlen(token)))
        return req_reject(req, PM_ERR_VALIDATION, "checkout_token must be letters and digits");
    int rc = checkout_by_token(req->db, req->txn, token, co);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return req_store_error(req, rc, "checkout load");
    if (rc == MDB_NOTFOUND || (req->caller && !s_may_see(req, co)))
        return req_refuse(req, PM_ERR_NOT_FOUND, "checkout %s not found", token);
    return 0;
}

int bazaarpay_api_checkout(req_t *req)
{
    char sku[CATALOG_SKU_MAX + 1], redirect[CHECKOUT_URL_MAX + 1], phone[CHECKOUT_PHONE_MAX + 1];
    if (req_text(req, "sku", "serial_number", 1, CATALOG_SKU_MAX, REQ_ASCII, sku, sizeof sku) !=
            0 ||
        req_text(req, "redirect_url", "redirect_url", 1, CHECKOUT_URL_MAX, REQ_ASCII, redirect,
                 sizeof redirect) != 0 ||
        req_text(req, "phone", "phone", 1, CHECKOUT_PHONE_MAX, REQ_ASCII | REQ_OPTIONAL, phone,
                 sizeof phone) != 0)
        return -1;
    if (!req_http_url(redirect) || strchr(redirect, ' '))
        return req_reject(req, PM_ERR_VALIDATION, "redirect_url must be an http(s) URL");
    catalog_package_t pkg;
    int rc = catalog_sku_valid(sku, strlen(sku)) ? catalog_load(req->db, req->txn, sku, &pkg)
                                                 : MDB_NOTFOUND;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return req_store_error(req, rc, "package load");
    if (rc == MDB_NOTFOUND || pkg.retired)
        return req_refuse(req, PM_ERR_NOT_FOUND, "package %s not found", sku);
    if (park_waiters_full(req->park))
        return req_reject(req, PM_ERR_UNAVAILABLE, "too many checkouts are opening; try again");
    checkout_t co;
    memset(&co, 0, sizeof co);
    if ((rc = checkout_serial_new(req->db, req->txn, co.serial)) != 0)
        return req_store_error(req, rc, "checkout serial");
    snprintf(co.principal, sizeof co.principal, "%s", req->caller->principal);
    snprintf(co.sku, sizeof co.sku, "%s", sku);
    snprintf(co.redirect_url, sizeof co.redirect_url, "%s", redirect);
    snprintf(co.phone, sizeof co.phone, "%s", phone);
    snprintf(co.pkg_name, sizeof co.pkg_name, "%s", pkg.name);
    co.state = CHECKOUT_OPENING;
    co.amount = pkg.price;
    co.pkg_type = pkg.type;
    co.pkg_coins = pkg.coins;
    co.pkg_days = pkg.duration_days;
    co.next_attempt = 1;
    co.created_ms = co.updated_ms = req->now_ms;

    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    pm_mp_pack_cstr(&pk, "serial");
    pm_mp_pack_cstr(&pk, co.serial);
    pm_mp_pack_cstr(&pk, "amount");
    msgpack_pack_int64(&pk, co.amount);
    pm_mp_pack_cstr(&pk, "service_name");
    pm_mp_pack_cstr(&pk, pkg.name);
    pm_mp_pack_cstr(&pk, "redirect_url");
    pm_mp_pack_cstr(&pk, co.redirect_url);
    pm_mp_pack_cstr(&pk, "phone");
    rec_pack_opt(&pk, co.phone);
    rc =
        jobs_enqueue(req->db, req->txn, BAZAARPAY_INIT, buf.data, buf.size, req->now_ms, co.job_id);
    msgpack_sbuffer_destroy(&buf);
    if (rc == 0)
        rc = checkout_save(req->db, req->txn, &co);
    if (rc != 0)
        return req_store_error(req, rc, "checkout open");
    pm_info("checkout %s opened by %s for %s (%lld rials); init job %s (trace %s)", co.serial,
            co.principal, co.sku, (long long)co.amount, co.job_id, req->header->trace_id);
    req_park_waiter(req, co.serial);
    return 0;
}

/* Makes the checkout's next call a trace, now (unless one is in flight). */
static int s_trace_now(req_t *req, checkout_t *co)
{
    jobs_job_t job;
    int rc = co->job_id[0] ? jobs_load(req->db, req->txn, co->job_id, &job) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND) {
        if ((rc = s_job_new(req->db, req->txn, co, BAZAARPAY_TRACE, req->now_ms)) != 0)
            return rc;
        return checkout_save(req->db, req->txn, co);
    }
    if (rc != 0)
        return rc;
    if (job.state == JOBS_LEASED)
        return 0; /* its report answers the waiters */
    return s_job_set(req->db, req->txn, &job, co, BAZAARPAY_TRACE, req->now_ms);
}

int bazaarpay_api_confirm(req_t *req)
{
    checkout_t co;
    if (s_read_checkout(req, &co) != 0)
        return -1;
    if (co.state != CHECKOUT_IN_PROGRESS)
        return s_reply(req, &co); /* decided: the same answer, nothing credited again */
    if (park_waiters_full(req->park))
        return req_reject(req, PM_ERR_UNAVAILABLE,
                          "too many checkouts are being traced; try again");
    int rc = s_trace_now(req, &co);
    if (rc != 0)
        return req_store_error(req, rc, "checkout trace");
    req_park_waiter(req, co.serial);
    return 0;
}

int bazaarpay_api_get(req_t *req)
{
    checkout_t co;
    if (s_read_checkout(req, &co) != 0)
        return -1;
    return s_reply(req, &co);
}

int bazaarpay_admin_show(req_t *req)
{
    return bazaarpay_api_get(req);
}

static bool s_refund_allowed(const checkout_t *co)
{
    return (co->state == CHECKOUT_DELIVERED || co->state == CHECKOUT_COMMITTED) &&
           (strcmp(co->last_status, S_PAID) == 0 || strcmp(co->last_status, S_COMMITTED) == 0);
}

int bazaarpay_api_refund(req_t *req)
{
    if (req->caller->role != AUTH_ROLE_SERVICE)
        return req_reject(req, PM_ERR_ACCESS, "refunds take a service token");
    char reason[CHECKOUT_REASON_MAX + 1];
    if (req_text(req, "reason", "reason", 1, CHECKOUT_REASON_MAX, 0, reason, sizeof reason) != 0)
        return -1;
    checkout_t co;
    if (s_read_checkout(req, &co) != 0)
        return -1;
    if (co.state == CHECKOUT_REFUNDED)
        return s_reply(req, &co);
    if (co.state != CHECKOUT_DELIVERED && co.state != CHECKOUT_COMMITTED)
        return req_refuse(req, PM_ERR_VALIDATION, "checkout %s was never delivered (%s)", co.token,
                          checkout_state_name(co.state));
    if (park_waiters_full(req->park))
        return req_reject(req, PM_ERR_UNAVAILABLE, "too many requests are waiting; try again");
    int rc = 0;
    if (!co.refund_requested) {
        co.refund_requested = true;
        snprintf(co.refund_reason, sizeof co.refund_reason, "%s", reason);
        s_touch(&co, req->now_ms);
        pm_info("checkout %s: refund asked (%s) (trace %s)", co.serial, reason,
                req->header->trace_id);
    }
    const char *next = s_refund_allowed(&co) ? BAZAARPAY_REFUND : BAZAARPAY_TRACE;
    jobs_job_t job;
    rc = co.job_id[0] ? jobs_load(req->db, req->txn, co.job_id, &job) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND)
        rc = s_job_new(req->db, req->txn, &co, next, req->now_ms);
    else if (rc == 0 && job.state != JOBS_LEASED)
        rc = s_job_set(req->db, req->txn, &job, &co, next, req->now_ms);
    if (rc == 0)
        rc = checkout_save(req->db, req->txn, &co);
    if (rc != 0)
        return req_store_error(req, rc, "checkout refund");
    req_park_waiter(req, co.serial);
    return 0;
}

/* ---- provider reports ----------------------------------------------------- */

static int s_init_result(req_t *req, jobs_job_t *job, checkout_t *co, jobs_outcome_t outcome,
                         const char *reason, const msgpack_object *data)
{
    int rc;
    if (co->state != CHECKOUT_OPENING)
        return jobs_delete(req->db, req->txn, job->id);
    char *url = malloc(CHECKOUT_PAY_URL_MAX + 1);
    assert(url);
    char token[CHECKOUT_TOKEN_MAX + 1];
    if (outcome == JOBS_OUT_OK) {
        req_data_str(data, "checkout_token", token, sizeof token);
        req_data_str(data, "payment_url", url, CHECKOUT_PAY_URL_MAX + 1);
        snprintf(co->token, sizeof co->token, "%s", token);
        snprintf(co->payment_url, sizeof co->payment_url, "%s", url);
        rc = MDB_KEYEXIST;
        if (checkout_token_valid(token, strlen(token)) && req_http_url(url))
            rc = checkout_token_put(req->db, req->txn, co);
        if (rc == MDB_KEYEXIST) {
            pm_error("checkout %s: BazaarPay's init answer is unusable or its token is taken",
                     co->serial);
            co->token[0] = co->payment_url[0] = '\0';
            outcome = JOBS_OUT_REJECTED;
            reason = "BazaarPay answered an unusable checkout";
        } else if (rc != 0) {
            free(url);
            return rc;
        }
    }
    free(url);
    if ((rc = checkout_attempt_add(req->db, req->txn, co, req->now_ms, CHECKOUT_CALL_INIT, outcome,
                                   outcome == JOBS_OUT_OK ? "" : reason)) != 0)
        return rc;
    s_touch(co, req->now_ms);
    if (outcome == JOBS_OUT_OK) {
        co->state = CHECKOUT_IN_PROGRESS;
        /* The first background trace is retry-worker's to schedule. */
        snprintf(job->kind, sizeof job->kind, "%s", BAZAARPAY_TRACE);
        s_payload_token(job, co);
        if ((rc = jobs_to_retry(req->db, req->txn, job, JOBS_OUT_OK, "opened", "unpaid",
                                req->now_ms)) != 0 ||
            (rc = checkout_save(req->db, req->txn, co)) != 0)
            return rc;
        pm_info("checkout %s in progress: BazaarPay token %s", co->serial, co->token);
        return s_answer(req, co) == 0 ? 0 : -2;
    }
    co->state = CHECKOUT_EXPIRED;
    if ((rc = s_job_end(req->db, req->txn, co)) != 0 ||
        (rc = checkout_save(req->db, req->txn, co)) != 0)
        return rc;
    char msg[REQ_MSG_MAX];
    if (outcome == JOBS_OUT_REJECTED) {
        snprintf(msg, sizeof msg, "BazaarPay refused the checkout: %s", reason);
        req_answer_error(req, co->serial, PM_ERR_PROVIDER, msg);
    } else {
        req_answer_error(req, co->serial, PM_ERR_UNAVAILABLE,
                         "BazaarPay could not be reached; try again");
    }
    pm_warn("checkout %s not opened: %s %s", co->serial, jobs_outcome_name(outcome), reason);
    return 0;
}

/* A trace while the checkout is in progress (not yet delivered). */
static int s_open_trace(req_t *req, jobs_job_t *job, checkout_t *co, jobs_outcome_t outcome,
                        const char *reason, const char *status)
{
    int rc;
    if (outcome != JOBS_OUT_OK) {
        if ((rc = jobs_to_retry(req->db, req->txn, job, outcome, reason, NULL, req->now_ms)) != 0 ||
            (rc = checkout_save(req->db, req->txn, co)) != 0)
            return rc;
        req_answer_error(req, co->serial, PM_ERR_UNAVAILABLE,
                         "BazaarPay could not be reached; try again");
        return 0;
    }
    if (strcmp(status, "unpaid") == 0) {
        rc = jobs_to_retry(req->db, req->txn, job, JOBS_OUT_OK, "", status, req->now_ms);
    } else if (strcmp(status, S_PAID) == 0 || strcmp(status, S_COMMITTED) == 0) {
        bool committed = strcmp(status, S_COMMITTED) == 0;
        snprintf(co->last_status, sizeof co->last_status, "%s", status);
        if ((rc = s_deliver(req, co, committed)) != 0)
            return rc;
        rc = committed ? s_job_end(req->db, req->txn, co)
                       : s_job_set(req->db, req->txn, job, co, BAZAARPAY_COMMIT, req->now_ms);
    } else {
        /* Never paid, or paid and given back before we delivered. */
        co->state = CHECKOUT_EXPIRED;
        pm_info("checkout %s expired: BazaarPay says %s", co->serial, status);
        rc = s_job_end(req->db, req->txn, co);
    }
    if (rc == 0)
        rc = checkout_save(req->db, req->txn, co);
    if (rc != 0)
        return rc;
    return s_answer(req, co) == 0 ? 0 : -2;
}

/* BazaarPay holds the checkout committed (said by how): final, unless a
 * refund was asked meanwhile, which is then the next call, at once (what
 * BazaarPay holds is known, so nothing is left to decide). */
static int s_committed(req_t *req, jobs_job_t *job, checkout_t *co, const char *how)
{
    co->state = CHECKOUT_COMMITTED;
    snprintf(co->last_status, sizeof co->last_status, "%s", S_COMMITTED);
    pm_info("checkout %s committed (%s)%s", co->serial, how,
            co->refund_requested ? "; the refund asked follows" : "");
    if (co->refund_requested)
        return s_job_set(req->db, req->txn, job, co, BAZAARPAY_REFUND, req->now_ms);
    return s_job_end(req->db, req->txn, co);
}

/* A report while the checkout is delivered or committed with a refund asked. */
static int s_settle_result(req_t *req, jobs_job_t *job, checkout_t *co, jobs_outcome_t outcome,
                           const char *reason, const char *status)
{
    int rc;
    bool answer = false;
    checkout_call_t call = s_call_of(job->kind);
    if (outcome != JOBS_OUT_OK) {
        if (call != CHECKOUT_CALL_TRACE)
            co->last_status[0] = '\0'; /* it may have been applied: trace first */
        rc = jobs_to_retry(req->db, req->txn, job, outcome, reason, NULL, req->now_ms);
        answer = call == CHECKOUT_CALL_REFUND; /* the refund is pending */
    } else if (call == CHECKOUT_CALL_COMMIT) {
        rc = s_committed(req, job, co, "commit");
    } else if (call == CHECKOUT_CALL_REFUND) {
        rc = s_reverse(req, co, co->refund_reason[0] ? co->refund_reason : "refund");
        answer = true;
    } else if (strcmp(status, S_COMMITTED) == 0) {
        rc = s_committed(req, job, co, "trace");
    } else if (strcmp(status, "paid_not_committed_refunded") == 0 ||
               strcmp(status, "refunded") == 0) {
        rc = s_reverse(req, co, status);
        answer = true;
    } else {
        /* paid_not_committed: retry-worker says commit or refund; anything
         * else here (unpaid, invalid_token, timed_out) is an anomaly that
         * it parks for an operator. */
        snprintf(co->last_status, sizeof co->last_status, "%s",
                 strcmp(status, S_PAID) == 0 ? status : "");
        rc = jobs_to_retry(req->db, req->txn, job, JOBS_OUT_OK, "", status, req->now_ms);
    }
    if (rc == 0)
        rc = checkout_save(req->db, req->txn, co);
    if (rc != 0)
        return rc;
    return answer && s_answer(req, co) != 0 ? -2 : 0;
}

int bazaarpay_job_result(req_t *req, jobs_job_t *job, jobs_outcome_t outcome, const char *reason,
                         const msgpack_object *data)
{
    checkout_t co;
    int rc = s_req_checkout(req, job, &co);
    if (rc != 0)
        return rc == 1 ? 0 : -1;
    checkout_call_t call = s_call_of(job->kind);
    char status[JOBS_STATUS_MAX + 1] = "";
    if (outcome == JOBS_OUT_OK && call == CHECKOUT_CALL_TRACE) {
        req_data_str(data, "status", status, sizeof status);
        if (!s_status_known(status)) {
            outcome = JOBS_OUT_UNKNOWN;
            reason = "trace answered an unknown status";
        }
    }
    if (call == CHECKOUT_CALL_COMMIT)
        co.commits++;
    if (call == CHECKOUT_CALL_REFUND)
        co.refunds++;
    if (call != CHECKOUT_CALL_INIT &&
        (rc = checkout_attempt_add(req->db, req->txn, &co, req->now_ms, call, outcome,
                                   outcome == JOBS_OUT_OK ? status : reason)) != 0)
        return req_store_error(req, rc, "checkout attempt");
    s_touch(&co, req->now_ms);
    pm_info("checkout %s: %s %s%s%s (job %s attempt %lld)", co.serial, checkout_call_name(call),
            jobs_outcome_name(outcome), status[0] || outcome != JOBS_OUT_OK ? ": " : "",
            outcome == JOBS_OUT_OK ? status : reason, job->id, (long long)job->attempt);
    if (call == CHECKOUT_CALL_INIT)
        rc = s_init_result(req, job, &co, outcome, reason, data);
    else if (co.state == CHECKOUT_IN_PROGRESS)
        rc = call == CHECKOUT_CALL_TRACE
                 ? s_open_trace(req, job, &co, outcome, reason, status)
                 : jobs_to_retry(req->db, req->txn, job, outcome, reason, status, req->now_ms);
    else if (co.state == CHECKOUT_DELIVERED || co.state == CHECKOUT_COMMITTED)
        rc = s_settle_result(req, job, &co, outcome, reason, status);
    else if ((rc = s_job_end(req->db, req->txn, &co)) == 0)
        rc = checkout_save(req->db, req->txn, &co);
    if (rc == -2)
        return -1;
    return rc == 0 ? 0 : req_store_error(req, rc, "checkout report");
}

int bazaarpay_lease_expired(db_t *db, MDB_txn *txn, jobs_job_t *job, int64_t now_ms)
{
    checkout_t co;
    int rc = s_job_checkout(db, txn, job, &co);
    if (rc == 1)
        return 0;
    if (rc != 0)
        return rc;
    checkout_call_t call = s_call_of(job->kind);
    pm_warn("checkout %s: the %s call of attempt %lld got no report in its lease", co.serial,
            checkout_call_name(call), (long long)job->attempt);
    if (call == CHECKOUT_CALL_COMMIT || call == CHECKOUT_CALL_REFUND) {
        co.last_status[0] = '\0'; /* it may have been sent: trace first */
        if (call == CHECKOUT_CALL_COMMIT)
            co.commits++;
        else
            co.refunds++;
    }
    if ((rc = checkout_attempt_add(db, txn, &co, now_ms, call, JOBS_OUT_LEASE_EXPIRED,
                                   "no report in the lease")) != 0)
        return rc;
    s_touch(&co, now_ms);
    if (call == CHECKOUT_CALL_INIT) {
        /* Its client was answered 503 at its deadline; nobody holds a
         * payment URL for it, so nothing can be paid. */
        if (co.state == CHECKOUT_OPENING)
            co.state = CHECKOUT_EXPIRED;
        rc = s_job_end(db, txn, &co);
    } else {
        rc = jobs_to_retry(db, txn, job, JOBS_OUT_LEASE_EXPIRED, "no report in the lease", NULL,
                           now_ms);
    }
    return rc == 0 ? checkout_save(db, txn, &co) : rc;
}

/* ---- retry-worker's side -------------------------------------------------- */

static const char *s_phase(const checkout_t *co)
{
    if (co->refund_requested)
        return "refund";
    if (co->state == CHECKOUT_DELIVERED || co->state == CHECKOUT_COMMITTED)
        return "settle";
    return "open";
}

int bazaarpay_pack_ctx(db_t *db, MDB_txn *txn, const dispatch_limits_t *limits,
                       const jobs_job_t *job, msgpack_packer *pk)
{
    char serial[CHECKOUT_SERIAL_LEN + 1];
    checkout_t co;
    int rc =
        s_payload_serial(job, serial) == 0 ? checkout_load(db, txn, serial, &co) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND) {
        msgpack_pack_map(pk, 0);
        return 0;
    }
    if (rc != 0)
        return rc;
    msgpack_pack_map(pk, 6);
    pm_mp_pack_cstr(pk, "phase");
    pm_mp_pack_cstr(pk, s_phase(&co));
    pm_mp_pack_cstr(pk, "created_ms");
    msgpack_pack_int64(pk, co.created_ms);
    pm_mp_pack_cstr(pk, "delivered_ms");
    rec_pack_opt_int(pk, co.has_delivered, co.delivered_ms);
    pm_mp_pack_cstr(pk, "window_end_ms");
    rec_pack_opt_int(pk, co.has_delivered, co.delivered_ms + limits->bazaarpay_commit_window_ms);
    pm_mp_pack_cstr(pk, "commits");
    msgpack_pack_int64(pk, co.commits);
    pm_mp_pack_cstr(pk, "refunds");
    msgpack_pack_int64(pk, co.refunds);
    return 0;
}

int bazaarpay_decide(req_t *req, jobs_job_t *job, const char *action, const char *kind,
                     int64_t at_ms, const char **why)
{
    checkout_t co;
    int rc = s_req_checkout(req, job, &co);
    if (rc != 0)
        return rc == 1 ? 0 : -1;
    if (s_final(&co) || co.state == CHECKOUT_OPENING) {
        rc = s_job_end(req->db, req->txn, &co);
        if (rc == 0)
            rc = checkout_save(req->db, req->txn, &co);
        return rc == 0 ? 0 : req_store_error(req, rc, "checkout job end");
    }
    if (strcmp(action, "park") == 0) {
        job->state = JOBS_PARKED;
        pm_error("checkout %s (%s): its %s job %s is parked for an operator after %lld calls",
                 co.serial, checkout_state_name(co.state), job->kind, job->id,
                 (long long)job->attempt);
        rc = jobs_save(req->db, req->txn, job);
        return rc == 0 ? 0 : req_store_error(req, rc, "job park");
    }
    if (strcmp(action, "expire") == 0) {
        if (co.state != CHECKOUT_IN_PROGRESS) {
            *why = "only an unpaid checkout expires";
            return 1;
        }
        co.state = CHECKOUT_EXPIRED;
        s_touch(&co, req->now_ms);
        pm_info("checkout %s expired: still unpaid after its re-traces", co.serial);
        rc = s_job_end(req->db, req->txn, &co);
        if (rc == 0)
            rc = checkout_save(req->db, req->txn, &co);
        return rc == 0 ? 0 : req_store_error(req, rc, "checkout expire");
    }
    if (strcmp(kind, BAZAARPAY_COMMIT) == 0) {
        if (co.state != CHECKOUT_DELIVERED || co.refund_requested ||
            strcmp(co.last_status, S_PAID) != 0) {
            *why = "a commit follows only a delivery or a trace saying paid_not_committed";
            return 1;
        }
    } else if (strcmp(kind, BAZAARPAY_REFUND) == 0) {
        if (!s_refund_allowed(&co)) {
            *why = "a refund follows only a trace saying the checkout is paid";
            return 1;
        }
    } else if (strcmp(kind, BAZAARPAY_TRACE) != 0) {
        *why = "a checkout's next call is a trace, a commit or a refund";
        return 1;
    }
    rc = s_job_set(req->db, req->txn, job, &co, kind, at_ms);
    return rc == 0 ? 0 : req_store_error(req, rc, "job reschedule");
}

void bazaarpay_job_ref(db_t *db, MDB_txn *txn, const jobs_job_t *job, char *out, size_t cap)
{
    out[0] = '\0';
    char serial[CHECKOUT_SERIAL_LEN + 1];
    checkout_t co;
    if (s_payload_serial(job, serial) != 0)
        return;
    if (checkout_load(db, txn, serial, &co) == 0 && co.token[0])
        snprintf(out, cap, "%s", co.token);
    else
        snprintf(out, cap, "%s", serial);
}
