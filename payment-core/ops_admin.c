/*  ops_admin: tokens, payments and counts for the operator. */
#include "ops_admin.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "jobs.h"
#include "orders.h"
#include "payment.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "rec.h"

/* The BLAKE2b key of token ids (crypto_generichash needs 16 bytes or more).
 * Changing it renames every token in lists; it is not a secret. */
static const unsigned char s_id_key[16] = "paymesh token id";

void ops_token_id(const uint8_t hash[PM_AUTH_LEN], char out[OPS_TOKEN_ID_LEN + 1])
{
    uint8_t id[OPS_TOKEN_ID_LEN / 2];
    crypto_generichash(id, sizeof id, hash, PM_AUTH_LEN, s_id_key, sizeof s_id_key);
    sodium_bin2hex(out, OPS_TOKEN_ID_LEN + 1, id, sizeof id);
}

/* ---- tokens -------------------------------------------------------------- */

typedef struct {
    uint8_t hash[PM_AUTH_LEN];
    char id[OPS_TOKEN_ID_LEN + 1];
    auth_identity_t who;
} s_token_t;

static void s_pack_token(msgpack_packer *pk, const s_token_t *t)
{
    msgpack_pack_map(pk, 4);
    pm_mp_pack_cstr(pk, "id");
    pm_mp_pack_cstr(pk, t->id);
    pm_mp_pack_cstr(pk, "principal");
    pm_mp_pack_cstr(pk, t->who.principal);
    pm_mp_pack_cstr(pk, "role");
    pm_mp_pack_cstr(pk, auth_role_name(t->who.role));
    pm_mp_pack_cstr(pk, "created_ms");
    msgpack_pack_int64(pk, t->who.created_ms);
}

static int s_by_created(const void *a, const void *b)
{
    const s_token_t *x = a, *y = b;
    if (x->who.created_ms != y->who.created_ms)
        return x->who.created_ms < y->who.created_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The tokens that match principal and/or id ("" matches any), up to
 * OPS_SCAN_MAX read. *rows is malloc'd (caller frees); *complete is false
 * when the scan stopped at its bound. Returns an LMDB code. */
static int s_tokens(req_t *req, const char *principal, const char *id, s_token_t **rows, size_t *n,
                    bool *complete)
{
    *rows = NULL;
    *n = 0;
    *complete = true;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(req->txn, db_dbi(req->db, DB_TOKENS), &cur);
    if (rc != 0)
        return rc;
    size_t cap = 16, scanned = 0;
    s_token_t *r = malloc(cap * sizeof *r);
    assert(r);
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (scanned++ == OPS_SCAN_MAX) {
            *complete = false;
            break;
        }
        if (k.mv_size != PM_AUTH_LEN)
            continue;
        if (*n == cap) {
            cap *= 2;
            r = realloc(r, cap * sizeof *r);
            assert(r);
        }
        s_token_t *t = &r[*n];
        memcpy(t->hash, k.mv_data, PM_AUTH_LEN);
        if ((rc = auth_lookup(req->db, req->txn, t->hash, &t->who)) != 0)
            break;
        ops_token_id(t->hash, t->id);
        if ((principal[0] && strcmp(principal, t->who.principal) != 0) ||
            (id[0] && strcmp(id, t->id) != 0))
            continue;
        (*n)++;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        free(r);
        *n = 0;
        return rc;
    }
    qsort(r, *n, sizeof *r, s_by_created);
    *rows = r;
    return 0;
}

int ops_admin_token_list(req_t *req)
{
    char principal[PM_PRINCIPAL_MAX + 1];
    int64_t max = 0;
    if (req_text(req, "principal", "principal", 1, PM_PRINCIPAL_MAX, REQ_OPTIONAL | REQ_ASCII,
                 principal, sizeof principal) != 0 ||
        req_int(req, "max", "max", 1, OPS_LIST_MAX, REQ_OPTIONAL, OPS_LIST_MAX, &max) != 0)
        return -1;
    s_token_t *rows;
    size_t n;
    bool complete;
    int rc = s_tokens(req, principal, "", &rows, &n, &complete);
    if (rc != 0)
        return req_store_error(req, rc, "token list");
    size_t out = n < (size_t)max ? n : (size_t)max;
    msgpack_pack_map(&req->pk, 3);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "truncated");
    rec_pack_bool(&req->pk, out < n || !complete);
    pm_mp_pack_cstr(&req->pk, "tokens");
    msgpack_pack_array(&req->pk, (uint32_t)out);
    for (size_t i = 0; i < out; i++)
        s_pack_token(&req->pk, &rows[i]);
    free(rows);
    return 0;
}

int ops_admin_token_revoke(req_t *req)
{
    char principal[PM_PRINCIPAL_MAX + 1], id[OPS_TOKEN_ID_LEN + 1];
    if (req_text(req, "principal", "principal", 1, PM_PRINCIPAL_MAX, REQ_OPTIONAL | REQ_ASCII,
                 principal, sizeof principal) != 0 ||
        req_text(req, "id", "id", OPS_TOKEN_ID_LEN, OPS_TOKEN_ID_LEN, REQ_OPTIONAL | REQ_ASCII, id,
                 sizeof id) != 0)
        return -1;
    if (!principal[0] == !id[0])
        return req_reject(req, PM_ERR_VALIDATION, "give exactly one of principal and id");
    s_token_t *rows;
    size_t n;
    bool complete;
    int rc = s_tokens(req, principal, id, &rows, &n, &complete);
    if (rc != 0)
        return req_store_error(req, rc, "token revoke");
    if (n == 0) {
        free(rows);
        return req_refuse(req, PM_ERR_NOT_FOUND, "no token of %s %s", id[0] ? "id" : "principal",
                          id[0] ? id : principal);
    }
    /* Bounded like every reply; the operator repeats the call for more. */
    if (n > OPS_LIST_MAX)
        n = OPS_LIST_MAX;
    for (size_t i = 0; i < n; i++) {
        if ((rc = db_del(req->db, req->txn, DB_TOKENS, rows[i].hash, PM_AUTH_LEN)) != 0) {
            free(rows);
            return req_store_error(req, rc, "token revoke");
        }
        pm_info("revoked the %s token %s of principal %s", auth_role_name(rows[i].who.role),
                rows[i].id, rows[i].who.principal);
    }
    msgpack_pack_map(&req->pk, 2);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "revoked");
    msgpack_pack_array(&req->pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        s_pack_token(&req->pk, &rows[i]);
    free(rows);
    return 0;
}

/* ---- payments ------------------------------------------------------------ */

int ops_admin_payment_show(req_t *req)
{
    char id[PAYMENT_ID_MAX + 1];
    if (req_text(req, "id", "id", 1, PAYMENT_ID_MAX, REQ_ASCII, id, sizeof id) != 0)
        return -1;
    size_t len = strlen(id);
    if (!pm_uuid_valid(id, len))
        return req_refuse(req, PM_ERR_NOT_FOUND, "payment %s not found", id);
    for (size_t i = 0; i < len; i++)
        id[i] = (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] - 'A' + 'a' : id[i]);
    payment_t *p = malloc(sizeof *p);
    assert(p);
    int rc = payment_load(req->db, req->txn, id, p);
    if (rc != 0) {
        free(p);
        return rc == MDB_NOTFOUND ? req_refuse(req, PM_ERR_NOT_FOUND, "payment %s not found", id)
                                  : req_store_error(req, rc, "payment load");
    }
    msgpack_sbuffer bank;
    msgpack_sbuffer_init(&bank);
    msgpack_packer bpk;
    msgpack_packer_init(&bpk, &bank, msgpack_sbuffer_write);
    rc = orders_payment_pack_bank(req->db, req->txn, p->id, &bpk);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        msgpack_sbuffer_destroy(&bank);
        free(p);
        return req_store_error(req, rc, "payment bank leg");
    }
    msgpack_pack_map(&req->pk, rc == 0 ? 3 : 2);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "payment");
    payment_pack(&req->pk, p);
    if (rc == 0) {
        pm_mp_pack_cstr(&req->pk, "bank");
        msgpack_sbuffer_write(req->out, bank.data, bank.size);
    }
    msgpack_sbuffer_destroy(&bank);
    free(p);
    return 0;
}

int ops_admin_payment_list(req_t *req)
{
    char status[24], before[PAYMENT_ID_MAX + 1];
    int64_t max = 0;
    if (req_text(req, "status", "status", 1, sizeof status - 1, REQ_OPTIONAL | REQ_ASCII, status,
                 sizeof status) != 0 ||
        req_text(req, "before", "before", 1, PAYMENT_ID_MAX, REQ_OPTIONAL | REQ_ASCII, before,
                 sizeof before) != 0 ||
        req_int(req, "max", "max", 1, OPS_LIST_MAX, REQ_OPTIONAL, 100, &max) != 0)
        return -1;
    int want = -1;
    for (int s = 0; status[0] && s < PAYMENT_STATUS__COUNT; s++)
        if (strcmp(status, payment_status_name((payment_status_t)s)) == 0)
            want = s;
    if (status[0] && want < 0)
        return req_reject(req, PM_ERR_VALIDATION,
                          "status must be created, accepted, bank_processing, succeeded, "
                          "failed or cancelled");
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(req->txn, db_dbi(req->db, DB_PAYMENTS), &cur);
    if (rc != 0)
        return req_store_error(req, rc, "payment list");
    /* Newest first: ids are UUIDv7, so key order is creation order. With
     * `before`, start at the last key below it. */
    MDB_val k = {strlen(before), before}, v;
    if (before[0]) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        rc = rc == 0              ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
             : rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST)
                                  : rc;
    } else {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }
    msgpack_sbuffer items;
    msgpack_sbuffer_init(&items);
    msgpack_packer ipk;
    msgpack_packer_init(&ipk, &items, msgpack_sbuffer_write);
    payment_t *p = malloc(sizeof *p);
    assert(p);
    uint32_t n = 0;
    size_t scanned = 0;
    char next[PM_UUID_LEN + 1] = "";
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        if (n == (uint32_t)max || scanned == OPS_SCAN_MAX)
            break; /* more may follow: next names where this stopped */
        scanned++;
        const char *why = NULL;
        if (payment_decode(v.mv_data, v.mv_size, p, &why) != 0) {
            pm_error("payment list: a corrupt payment record (%s)", why);
            rc = DB_ECORRUPT;
            break;
        }
        memcpy(next, p->id, sizeof next);
        if (want >= 0 && (int)p->status != want)
            continue;
        payment_pack(&ipk, p);
        n++;
    }
    free(p);
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        msgpack_sbuffer_destroy(&items);
        return req_store_error(req, rc, "payment list");
    }
    msgpack_pack_map(&req->pk, 4);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "scanned");
    msgpack_pack_uint64(&req->pk, scanned);
    pm_mp_pack_cstr(&req->pk, "next");
    pm_mp_pack_cstr(&req->pk, rc == 0 ? next : NULL);
    pm_mp_pack_cstr(&req->pk, "payments");
    msgpack_pack_array(&req->pk, n);
    msgpack_sbuffer_write(req->out, items.data, items.size);
    msgpack_sbuffer_destroy(&items);
    return 0;
}

/* ---- stats --------------------------------------------------------------- */

int ops_stats_read(db_t *db, MDB_txn *txn, ops_stats_t *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = db_count(db, txn, DB_PURCHASES, &out->purchases)) != 0 ||
        (rc = db_count(db, txn, DB_CHECKOUTS, &out->checkouts)) != 0 ||
        (rc = db_count(db, txn, DB_JOBS, &out->jobs)) != 0)
        return rc;
    MDB_cursor *cur = NULL;
    if ((rc = mdb_cursor_open(txn, db_dbi(db, DB_JOBS), &cur)) != 0)
        return rc;
    jobs_job_t *j = malloc(sizeof *j);
    assert(j);
    size_t scanned = 0;
    out->jobs_counted = true;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (scanned++ == OPS_SCAN_MAX) {
            out->jobs_counted = false;
            break;
        }
        const char *why = NULL;
        if (jobs_decode(v.mv_data, v.mv_size, j, &why) != 0)
            continue; /* counted in jobs, not by state; retry list shows it */
        switch (j->state) {
        case JOBS_QUEUED:
            out->jobs_queued++;
            break;
        case JOBS_LEASED:
            out->jobs_leased++;
            break;
        case JOBS_RETRY:
        case JOBS_DECIDING:
            out->jobs_retry++;
            break;
        case JOBS_PARKED:
            out->jobs_parked++;
            break;
        }
    }
    free(j);
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

void ops_stats_pack(msgpack_packer *pk, const ops_stats_t *st)
{
    static const char *const names[] = {"purchases",   "checkouts",  "jobs",       "jobs_queued",
                                        "jobs_leased", "jobs_retry", "jobs_parked"};
    const uint64_t vals[] = {st->purchases,   st->checkouts,  st->jobs,       st->jobs_queued,
                             st->jobs_leased, st->jobs_retry, st->jobs_parked};
    _Static_assert(sizeof names / sizeof names[0] + 1 == OPS_STATS_FIELDS, "pairs packed");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        pm_mp_pack_cstr(pk, names[i]);
        msgpack_pack_uint64(pk, vals[i]);
    }
    pm_mp_pack_cstr(pk, "jobs_counted");
    rec_pack_bool(pk, st->jobs_counted);
}
