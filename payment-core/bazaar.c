/*  bazaar: redeem, validation results, consume scheduling. */
#include "bazaar.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "ledger.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "purchase.h"

#define S_SERIAL_READ_MAX 64

/* The payload fields of a bazaar job. */
typedef struct {
    char serial[PURCHASE_SERIAL_LEN + 1]; /* validate only */
    char sku[CATALOG_SKU_MAX + 1];
    char token[PURCHASE_TOKEN_MAX + 1];
} s_payload_t;

static int s_payload_decode(const jobs_job_t *job, bool with_serial, s_payload_t *p)
{
    memset(p, 0, sizeof *p);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = -1;
    if (msgpack_unpack_next(&u, (const char *)job->payload, job->payload_len, &off) !=
            MSGPACK_UNPACK_SUCCESS ||
        off != job->payload_len)
        goto destroy_unpacked;
    if ((with_serial && pm_mp_copy_str(&u.data, "purchase_serial", p->serial, sizeof p->serial)) ||
        pm_mp_copy_str(&u.data, "sku", p->sku, sizeof p->sku) != 0 ||
        pm_mp_copy_str(&u.data, "token", p->token, sizeof p->token) != 0)
        goto destroy_unpacked;
    rc = 0;
destroy_unpacked:
    msgpack_unpacked_destroy(&u);
    return rc;
}

void bazaar_job_serial(db_t *db, MDB_txn *txn, const jobs_job_t *job, char *out, size_t cap)
{
    assert(cap > 0);
    out[0] = '\0';
    s_payload_t p;
    if (s_payload_decode(job, strcmp(job->kind, BAZAAR_VALIDATE) == 0, &p) != 0)
        return;
    if (p.serial[0]) {
        snprintf(out, cap, "%s", p.serial);
        return;
    }
    ptoken_t t;
    if (ptoken_load(db, txn, p.token, &t) == 0)
        snprintf(out, cap, "%s", t.serial);
}

static void s_pack_redeemed(msgpack_packer *pk, const purchase_t *p)
{
    msgpack_pack_map(pk, 3);
    pm_mp_pack_cstr(pk, "err");
    msgpack_pack_int(pk, PM_OK);
    pm_mp_pack_cstr(pk, "coins");
    msgpack_pack_int64(pk, p->coins_after);
    pm_mp_pack_cstr(pk, "purchase");
    purchase_pack(pk, p);
}

/* Reserves token for p, sets p validating and enqueues its validate job. */
static int s_start_validation(req_t *req, purchase_t *p, const char *token)
{
    ptoken_t t = {.state = PTOKEN_RESERVED};
    strcpy(t.serial, p->serial);
    int rc = ptoken_save(req->db, req->txn, token, &t);
    if (rc != 0)
        return req_store_error(req, rc, "bazaar token reserve");
    snprintf(p->token, sizeof p->token, "%s", token);
    p->state = PURCHASE_VALIDATING;
    p->updated_ms = req->now_ms > p->updated_ms ? req->now_ms : p->updated_ms;
    if ((rc = purchase_save(req->db, req->txn, p)) != 0)
        return req_store_error(req, rc, "purchase save");
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pm_mp_pack_cstr(&pk, "purchase_serial");
    pm_mp_pack_cstr(&pk, p->serial);
    pm_mp_pack_cstr(&pk, "sku");
    pm_mp_pack_cstr(&pk, p->sku);
    pm_mp_pack_cstr(&pk, "token");
    pm_mp_pack_cstr(&pk, token);
    char id[PM_UUID_LEN + 1];
    rc = jobs_enqueue(req->db, req->txn, BAZAAR_VALIDATE, buf.data, buf.size, req->now_ms, id);
    msgpack_sbuffer_destroy(&buf);
    if (rc != 0)
        return req_store_error(req, rc, "validate job enqueue");
    pm_info("purchase %s: validating token with bazaar, job %s (trace %s)", p->serial, id,
            req->header->trace_id);
    return 0;
}

int bazaar_api_redeem(req_t *req)
{
    char serial[S_SERIAL_READ_MAX + 1], token[PURCHASE_TOKEN_MAX + 1];
    if (req_text(req, "serial", "serial_number", 1, S_SERIAL_READ_MAX, 0, serial, sizeof serial) !=
            0 ||
        req_text(req, "token", "ref_id", 1, PURCHASE_TOKEN_MAX, REQ_ASCII, token, sizeof token))
        return -1;
    if (!purchase_token_valid(token, strlen(token)))
        return req_reject(req, PM_ERR_VALIDATION, "ref_id must be printable ASCII without spaces");
    purchase_t p;
    int rc = MDB_NOTFOUND;
    if (purchase_serial_valid(serial, strlen(serial)))
        rc = purchase_load(req->db, req->txn, serial, &p);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return req_store_error(req, rc, "purchase load");
    if (rc == MDB_NOTFOUND || strcmp(p.principal, req->caller->principal) != 0)
        return req_refuse(req, PM_ERR_NOT_FOUND, "purchase %s not found", serial);
    if (p.state == PURCHASE_COMPLETED) {
        if (strcmp(p.token, token) != 0)
            return req_refuse(req, PM_ERR_NOT_FOUND, "purchase %s not found", serial);
        s_pack_redeemed(&req->pk, &p);
        return 0;
    }
    ptoken_t t;
    rc = ptoken_load(req->db, req->txn, token, &t);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return req_store_error(req, rc, "bazaar token load");
    if (rc == 0 && t.state == PTOKEN_USED)
        return req_refuse(req, PM_ERR_REJECTED, "purchase token was already redeemed");
    if (rc == 0 && strcmp(t.serial, serial) != 0)
        return req_refuse(req, PM_ERR_CONFLICT,
                          "purchase token is being validated for another purchase");
    bool mine = rc == 0;
    if (p.state == PURCHASE_VALIDATING && strcmp(p.token, token) != 0)
        return req_refuse(req, PM_ERR_CONFLICT,
                          "purchase %s is being validated with another purchase token", serial);
    if (mine && p.state != PURCHASE_VALIDATING) {
        pm_error("bazaar token reserved by purchase %s which is %s (trace %s)", serial,
                 purchase_state_name(p.state), req->header->trace_id);
        return req_store_error(req, DB_ECORRUPT, "redeem");
    }
    if (park_waiters_full(req->park))
        return req_reject(req, PM_ERR_UNAVAILABLE,
                          "too many purchases are being validated; "
                          "try again");
    if (!mine && s_start_validation(req, &p, token) != 0)
        return -1;
    req_park_waiter(req, serial);
    return 0;
}

/* Token reservation released, purchase open again, job deleted. */
static int s_release(db_t *db, MDB_txn *txn, purchase_t *p, const char *job_id, int64_t now_ms)
{
    int rc = ptoken_delete(db, txn, p->token);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    p->token[0] = '\0';
    p->state = PURCHASE_IN_PROGRESS;
    p->updated_ms = now_ms > p->updated_ms ? now_ms : p->updated_ms;
    if ((rc = purchase_save(db, txn, p)) != 0)
        return rc;
    return jobs_delete(db, txn, job_id);
}

/* Loads the purchase a validate job is for; 1 when the job no longer
 * matches a validating purchase (then it was deleted: nothing to do). */
static int s_job_purchase(db_t *db, MDB_txn *txn, const jobs_job_t *job, purchase_t *p)
{
    s_payload_t pl;
    int rc;
    if (s_payload_decode(job, true, &pl) != 0) {
        pm_error("validate job %s has a malformed payload; deleted", job->id);
        goto stale;
    }
    rc = purchase_load(db, txn, pl.serial, p);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (rc == MDB_NOTFOUND || p->state != PURCHASE_VALIDATING || strcmp(p->token, pl.token)) {
        pm_warn("validate job %s does not match purchase %s any more; deleted", job->id, pl.serial);
        goto stale;
    }
    return 0;
stale:
    rc = jobs_delete(db, txn, job->id);
    return rc == 0 ? 1 : rc;
}

static void s_answer_error(req_t *req, const char *serial, int err, const char *fmt,
                           const char *arg)
{
    char msg[REQ_MSG_MAX];
    snprintf(msg, sizeof msg, fmt, arg);
    req_answer_error(req, serial, err, msg);
}

/* The credit: one transaction (the request's child) for all of it. */
static int s_complete(req_t *req, const jobs_job_t *job, purchase_t *p)
{
    catalog_package_t pkg;
    int rc = catalog_load(req->db, req->txn, p->sku, &pkg);
    if (rc != 0)
        return req_store_error(req, rc == MDB_NOTFOUND ? DB_ECORRUPT : rc, "package load");
    ledger_balance_t after;
    if ((rc = ledger_credit(req->db, req->txn, p->principal, &pkg, p->serial, req->now_ms,
                            &after)) != 0)
        return req_store_error(req, rc, "credit");
    ptoken_t t = {.state = PTOKEN_USED};
    strcpy(t.serial, p->serial);
    if ((rc = ptoken_save(req->db, req->txn, p->token, &t)) != 0)
        return req_store_error(req, rc, "bazaar token use");
    p->state = PURCHASE_COMPLETED;
    p->has_coins = true;
    p->coins_after = after.coins;
    p->updated_ms = req->now_ms > p->updated_ms ? req->now_ms : p->updated_ms;
    if ((rc = purchase_save(req->db, req->txn, p)) != 0)
        return req_store_error(req, rc, "purchase save");
    if ((rc = jobs_delete(req->db, req->txn, job->id)) != 0)
        return req_store_error(req, rc, "validate job delete");
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "sku");
    pm_mp_pack_cstr(&pk, p->sku);
    pm_mp_pack_cstr(&pk, "token");
    pm_mp_pack_cstr(&pk, p->token);
    char id[PM_UUID_LEN + 1];
    rc = jobs_enqueue(req->db, req->txn, BAZAAR_CONSUME, buf.data, buf.size, req->now_ms, id);
    msgpack_sbuffer_destroy(&buf);
    if (rc != 0)
        return req_store_error(req, rc, "consume job enqueue");
    pm_info("purchase %s completed for %s: %s credited, coins now %lld; consume job %s", p->serial,
            p->principal, pkg.sku, (long long)after.coins, id);
    msgpack_sbuffer_clear(req->answer_body);
    msgpack_packer apk;
    msgpack_packer_init(&apk, req->answer_body, msgpack_sbuffer_write);
    s_pack_redeemed(&apk, p);
    req->answer = true;
    strcpy(req->answer_serial, p->serial);
    return 0;
}

int bazaar_validate_result(req_t *req, const jobs_job_t *job, bazaar_outcome_t outcome,
                           const char *reason)
{
    purchase_t p;
    int rc = s_job_purchase(req->db, req->txn, job, &p);
    if (rc == 1)
        return 0;
    if (rc != 0)
        return req_store_error(req, rc, "validate result");
    if (outcome == BAZAAR_OK)
        return s_complete(req, job, &p);
    char serial[PURCHASE_SERIAL_LEN + 1];
    strcpy(serial, p.serial);
    if ((rc = s_release(req->db, req->txn, &p, job->id, req->now_ms)) != 0)
        return req_store_error(req, rc, "purchase release");
    if (outcome == BAZAAR_REJECTED) {
        pm_info("purchase %s: bazaar rejected the token: %s", serial, reason);
        s_answer_error(req, serial, PM_ERR_REJECTED, "Bazaar says the purchase is not valid: %s",
                       reason);
    } else {
        pm_warn("purchase %s: bazaar could not be reached: %s", serial, reason);
        s_answer_error(req, serial, PM_ERR_UNAVAILABLE, "Bazaar could not be reached; try again%s",
                       "");
    }
    return 0;
}

int bazaar_validate_give_up(db_t *db, MDB_txn *txn, const jobs_job_t *job, int64_t now_ms)
{
    purchase_t p;
    int rc = s_job_purchase(db, txn, job, &p);
    if (rc == 1)
        return 0;
    if (rc != 0)
        return rc;
    pm_error("purchase %s: validate job %s gave up after %lld attempts; purchase open again",
             p.serial, job->id, (long long)job->attempt);
    return s_release(db, txn, &p, job->id, now_ms);
}
