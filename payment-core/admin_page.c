/*  admin_page: ADMIN_OVERVIEW for the gateway's operator page (admin_page.h). */
#include "admin_page.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "checkout.h"
#include "jobs.h"
#include "metrics.h"
#include "orders.h"
#include "payment.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "purchase.h"
#include "rec.h"
#include "retry.h"

#define S_STATES_MAX 8

/* One record of a store: 0 with *state and *created_ms set (and a summary
 * packed into pk when pk is not NULL), -1 when it does not decode. */
typedef int(s_peek_fn)(const void *data, size_t size, const char **state, int64_t *created_ms,
                       msgpack_packer *pk);

static int s_payment_peek(const void *data, size_t size, const char **state, int64_t *created_ms,
                          msgpack_packer *pk)
{
    static payment_t p; /* one thread */
    const char *why = NULL;
    if (payment_decode(data, size, &p, &why) != 0)
        return -1;
    *state = payment_status_name(p.status);
    *created_ms = p.created_ms;
    if (pk)
        payment_pack(pk, &p);
    return 0;
}

static int s_purchase_peek(const void *data, size_t size, const char **state, int64_t *created_ms,
                           msgpack_packer *pk)
{
    static purchase_t p;
    const char *why = NULL;
    if (purchase_decode(data, size, &p, &why) != 0)
        return -1;
    *state = purchase_state_name(p.state);
    *created_ms = p.created_ms;
    if (!pk)
        return 0;
    /* Not the Bazaar purchase token: the page shows no secrets. */
    msgpack_pack_map(pk, 6);
    pm_mp_pack_cstr(pk, "serial");
    pm_mp_pack_cstr(pk, p.serial);
    pm_mp_pack_cstr(pk, "principal");
    pm_mp_pack_cstr(pk, p.principal);
    pm_mp_pack_cstr(pk, "sku");
    pm_mp_pack_cstr(pk, p.sku);
    pm_mp_pack_cstr(pk, "state");
    pm_mp_pack_cstr(pk, *state);
    pm_mp_pack_cstr(pk, "created_ms");
    msgpack_pack_int64(pk, p.created_ms);
    pm_mp_pack_cstr(pk, "updated_ms");
    msgpack_pack_int64(pk, p.updated_ms);
    return 0;
}

static int s_checkout_peek(const void *data, size_t size, const char **state, int64_t *created_ms,
                           msgpack_packer *pk)
{
    static checkout_t co; /* large */
    const char *why = NULL;
    if (checkout_decode(data, size, &co, &why) != 0)
        return -1;
    /* "opening" is shown as in_progress, as to clients. */
    *state = co.state == CHECKOUT_OPENING ? "in_progress" : checkout_state_name(co.state);
    *created_ms = co.created_ms;
    if (!pk)
        return 0;
    /* Not the checkout token nor the payment URL. */
    msgpack_pack_map(pk, 8);
    pm_mp_pack_cstr(pk, "serial");
    pm_mp_pack_cstr(pk, co.serial);
    pm_mp_pack_cstr(pk, "principal");
    pm_mp_pack_cstr(pk, co.principal);
    pm_mp_pack_cstr(pk, "sku");
    pm_mp_pack_cstr(pk, co.sku);
    pm_mp_pack_cstr(pk, "state");
    pm_mp_pack_cstr(pk, *state);
    pm_mp_pack_cstr(pk, "amount_minor");
    msgpack_pack_int64(pk, co.amount);
    pm_mp_pack_cstr(pk, "refund_requested");
    rec_pack_bool(pk, co.refund_requested);
    pm_mp_pack_cstr(pk, "created_ms");
    msgpack_pack_int64(pk, co.created_ms);
    pm_mp_pack_cstr(pk, "updated_ms");
    msgpack_pack_int64(pk, co.updated_ms);
    return 0;
}

typedef struct {
    const char *key; /* in the reply */
    db_name_t dbi;
    s_peek_fn *peek;
    const char *states[S_STATES_MAX]; /* always listed, in this order */
} s_section_t;

static const s_section_t s_sections[] = {
    {"payments",
     DB_PAYMENTS,
     s_payment_peek,
     {"created", "accepted", "bank_processing", "succeeded", "failed", "cancelled"}},
    {"purchases", DB_PURCHASES, s_purchase_peek, {"in_progress", "validating", "completed"}},
    {"checkouts",
     DB_CHECKOUTS,
     s_checkout_peek,
     {"in_progress", "delivered", "committed", "refunded", "expired"}},
    {"orders", DB_INVOICES, orders_invoice_peek, {"awaiting_payment", "paid", "failed"}},
};

/* The newest `latest` records kept while a store is scanned. */
typedef struct {
    int64_t created_ms;
    msgpack_sbuffer buf; /* the packed summary */
    bool used;
} s_slot_t;

/* Packs key: {counts: {state: n}, scanned, complete, latest: [...]}. */
static int s_section(req_t *req, const s_section_t *sec, size_t latest, s_slot_t *slots)
{
    uint64_t counts[S_STATES_MAX + 1] = {0}; /* the last one: other states */
    size_t n_states = 0;
    while (n_states < S_STATES_MAX && sec->states[n_states])
        n_states++;
    for (size_t i = 0; i < latest; i++) {
        slots[i].used = false;
        slots[i].buf.size = 0;
    }
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(req->txn, db_dbi(req->db, sec->dbi), &cur);
    if (rc != 0)
        return req_store_error(req, rc, "admin overview");
    size_t scanned = 0;
    bool complete = true;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_LAST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        if (scanned == ADMIN_PAGE_SCAN_MAX) {
            complete = false;
            break;
        }
        scanned++;
        const char *state;
        int64_t created_ms;
        if (sec->peek(v.mv_data, v.mv_size, &state, &created_ms, NULL) != 0)
            continue; /* counted in scanned only; the store's own listing logs it */
        size_t s = 0;
        while (s < n_states && strcmp(sec->states[s], state) != 0)
            s++;
        counts[s]++;
        /* The slot to replace: a free one, else the oldest if older. */
        size_t at = latest;
        for (size_t i = 0; i < latest; i++) {
            if (!slots[i].used) {
                at = i;
                break;
            }
            if (slots[i].created_ms < created_ms &&
                (at == latest || slots[i].created_ms < slots[at].created_ms))
                at = i;
        }
        if (at == latest)
            continue;
        slots[at].used = true;
        slots[at].created_ms = created_ms;
        slots[at].buf.size = 0;
        msgpack_packer spk;
        msgpack_packer_init(&spk, &slots[at].buf, msgpack_sbuffer_write);
        sec->peek(v.mv_data, v.mv_size, &state, &created_ms, &spk);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return req_store_error(req, rc, "admin overview");
    msgpack_packer *pk = &req->pk;
    pm_mp_pack_cstr(pk, sec->key);
    msgpack_pack_map(pk, 4);
    pm_mp_pack_cstr(pk, "counts");
    msgpack_pack_map(pk, (uint32_t)n_states + (counts[n_states] ? 1 : 0));
    for (size_t s = 0; s < n_states; s++) {
        pm_mp_pack_cstr(pk, sec->states[s]);
        msgpack_pack_uint64(pk, counts[s]);
    }
    if (counts[n_states]) {
        pm_mp_pack_cstr(pk, "other");
        msgpack_pack_uint64(pk, counts[n_states]);
    }
    pm_mp_pack_cstr(pk, "scanned");
    msgpack_pack_uint64(pk, scanned);
    pm_mp_pack_cstr(pk, "complete");
    rec_pack_bool(pk, complete);
    /* Newest first. */
    uint32_t used = 0;
    for (size_t i = 0; i < latest; i++)
        used += slots[i].used ? 1 : 0;
    pm_mp_pack_cstr(pk, "latest");
    msgpack_pack_array(pk, used);
    for (uint32_t o = 0; o < used; o++) {
        size_t best = latest;
        for (size_t i = 0; i < latest; i++)
            if (slots[i].used && (best == latest || slots[i].created_ms > slots[best].created_ms))
                best = i;
        msgpack_sbuffer_write(req->out, slots[best].buf.data, slots[best].buf.size);
        slots[best].used = false;
    }
    return 0;
}

/* Runs handler h as if body (msgpack map bytes) had been sent, into out;
 * *u then holds its reply. Returns 0, or -1 with h's outcome copied to req. */
static int s_sub(req_t *req, int (*h)(req_t *), const void *body, size_t body_len,
                 msgpack_sbuffer *out, msgpack_unpacked *u)
{
    size_t off = 0;
    if (msgpack_unpack_next(u, body, body_len, &off) != MSGPACK_UNPACK_SUCCESS)
        return req_reject(req, PM_ERR_INTERNAL, "internal error");
    req_t sub = *req;
    msgpack_object args = u->data; /* u is reused for the reply below */
    sub.body = &args;
    sub.body_bytes = body;
    sub.body_size = body_len;
    sub.out = out;
    msgpack_packer_init(&sub.pk, out, msgpack_sbuffer_write);
    if (h(&sub) != 0) {
        req->err = sub.err;
        req->decided = sub.decided;
        req->db_failed = sub.db_failed;
        memcpy(req->msg, sub.msg, sizeof req->msg);
        return -1;
    }
    off = 0;
    if (msgpack_unpack_next(u, out->data, out->size, &off) != MSGPACK_UNPACK_SUCCESS)
        return req_reject(req, PM_ERR_INTERNAL, "internal error");
    return 0;
}

static uint64_t s_u(const msgpack_object *map, const char *key)
{
    int64_t v = 0;
    return pm_mp_get_int(map, key, &v) == 0 && v > 0 ? (uint64_t)v : 0;
}

static void s_kv_u(msgpack_packer *pk, const char *key, uint64_t v)
{
    pm_mp_pack_cstr(pk, key);
    msgpack_pack_uint64(pk, v);
}

/* retry: {items, backlog, parked, oldest_due} */
static int s_retry(req_t *req, size_t latest, const msgpack_object *metrics)
{
    uint8_t body[16];
    msgpack_sbuffer bb = {0}, out;
    msgpack_sbuffer_init(&bb);
    msgpack_packer bpk;
    msgpack_packer_init(&bpk, &bb, msgpack_sbuffer_write);
    msgpack_pack_map(&bpk, 1);
    pm_mp_pack_cstr(&bpk, "max");
    msgpack_pack_uint64(&bpk, latest);
    assert(bb.size <= sizeof body);
    memcpy(body, bb.data, bb.size);
    size_t body_len = bb.size;
    msgpack_sbuffer_destroy(&bb);
    msgpack_sbuffer_init(&out);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = s_sub(req, retry_admin_list, body, body_len, &out, &u);
    const msgpack_object *items = rc == 0 ? pm_mp_get(&u.data, "items") : NULL;
    if (rc == 0 && (!items || items->type != MSGPACK_OBJECT_ARRAY))
        rc = req_reject(req, PM_ERR_INTERNAL, "internal error");
    static jobs_job_t job; /* large; one thread */
    int64_t due_ms = 0;
    int jrc = rc == 0 ? jobs_first(req->db, req->txn, JOBS_RETRY_KIND, &job, &due_ms) : 0;
    if (rc == 0 && jrc != 0 && jrc != MDB_NOTFOUND)
        rc = req_store_error(req, jrc, "admin overview");
    if (rc == 0) {
        msgpack_packer *pk = &req->pk;
        pm_mp_pack_cstr(pk, "retry");
        msgpack_pack_map(pk, 4);
        s_kv_u(pk, "backlog", s_u(metrics, "jobs_retry"));
        s_kv_u(pk, "parked", s_u(metrics, "jobs_parked"));
        pm_mp_pack_cstr(pk, "oldest_due");
        if (jrc == MDB_NOTFOUND) {
            msgpack_pack_nil(pk);
        } else {
            msgpack_pack_map(pk, 5);
            pm_mp_pack_cstr(pk, "id");
            pm_mp_pack_cstr(pk, job.id);
            pm_mp_pack_cstr(pk, "kind");
            pm_mp_pack_cstr(pk, job.kind);
            pm_mp_pack_cstr(pk, "state");
            pm_mp_pack_cstr(pk, jobs_state_name(job.state));
            pm_mp_pack_cstr(pk, "due_ms");
            msgpack_pack_int64(pk, due_ms);
            pm_mp_pack_cstr(pk, "age_ms");
            msgpack_pack_int64(pk, req->now_ms > due_ms ? req->now_ms - due_ms : 0);
        }
        pm_mp_pack_cstr(pk, "items");
        msgpack_pack_object(pk, *items);
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&out);
    return rc;
}

/* jobs: {queued, leased, retry, parked, counted}; providers: [{provider,
 * ok, rejected, unknown, latency_ms_sum, latency_count}] */
static void s_jobs_providers(req_t *req, const msgpack_object *m)
{
    static const char *const provs[] = {"bazaar", "bazaarpay", "bank", "other"};
    static const char *const outs[] = {"ok", "rejected", "unknown", "latency_ms_sum",
                                       "latency_count"};
    msgpack_packer *pk = &req->pk;
    pm_mp_pack_cstr(pk, "jobs");
    msgpack_pack_map(pk, 5);
    s_kv_u(pk, "queued", s_u(m, "jobs_queued"));
    s_kv_u(pk, "leased", s_u(m, "jobs_leased"));
    s_kv_u(pk, "retry", s_u(m, "jobs_retry"));
    s_kv_u(pk, "parked", s_u(m, "jobs_parked"));
    pm_mp_pack_cstr(pk, "counted");
    rec_pack_bool(pk, s_u(m, "jobs_counted"));
    pm_mp_pack_cstr(pk, "providers");
    msgpack_pack_array(pk, sizeof provs / sizeof provs[0]);
    for (size_t p = 0; p < sizeof provs / sizeof provs[0]; p++) {
        msgpack_pack_map(pk, 1 + sizeof outs / sizeof outs[0]);
        pm_mp_pack_cstr(pk, "provider");
        pm_mp_pack_cstr(pk, provs[p]);
        for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++) {
            char key[64];
            snprintf(key, sizeof key, "job_%s_%s", provs[p], outs[o]);
            s_kv_u(pk, outs[o], s_u(m, key));
        }
    }
}

int admin_page_overview(req_t *req)
{
    int64_t latest = 0;
    if (req_int(req, "latest", "latest", 1, ADMIN_PAGE_LATEST_MAX, REQ_OPTIONAL, 10, &latest) != 0)
        return -1;
    if (!req->caller || req->caller->role != AUTH_ROLE_SERVICE)
        return req_reject(req, PM_ERR_ACCESS, "the admin overview takes a service token");
    static const uint8_t empty[] = {0x80}; /* msgpack {} */
    msgpack_sbuffer mout;
    msgpack_sbuffer_init(&mout);
    msgpack_unpacked mu;
    msgpack_unpacked_init(&mu);
    s_slot_t slots[ADMIN_PAGE_LATEST_MAX];
    for (size_t i = 0; i < (size_t)latest; i++)
        msgpack_sbuffer_init(&slots[i].buf);
    int rc = s_sub(req, metrics_api_metrics, empty, sizeof empty, &mout, &mu);
    if (rc == 0) {
        const size_t n_sec = sizeof s_sections / sizeof s_sections[0];
        msgpack_pack_map(&req->pk, 3 + (uint32_t)n_sec + 3);
        pm_mp_pack_cstr(&req->pk, "err");
        msgpack_pack_int(&req->pk, PM_OK);
        pm_mp_pack_cstr(&req->pk, "now_ms");
        msgpack_pack_int64(&req->pk, req->now_ms);
        pm_mp_pack_cstr(&req->pk, "latest");
        msgpack_pack_int64(&req->pk, latest);
        for (size_t i = 0; rc == 0 && i < n_sec; i++)
            rc = s_section(req, &s_sections[i], (size_t)latest, slots);
        if (rc == 0)
            rc = s_retry(req, (size_t)latest, &mu.data);
        if (rc == 0)
            s_jobs_providers(req, &mu.data);
    }
    for (size_t i = 0; i < (size_t)latest; i++)
        msgpack_sbuffer_destroy(&slots[i].buf);
    msgpack_unpacked_destroy(&mu);
    msgpack_sbuffer_destroy(&mout);
    return rc;
}
