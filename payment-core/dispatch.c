/*  dispatch: decode, route, run each request in a child transaction, commit
 *  the batch once, then write the replies. */
#include "dispatch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "admin_page.h"
#include "auth.h"
#include "bazaar.h"
#include "bazaarpay.h"
#include "idem.h"
#include "park.h"
#include "payment_api.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "pm_time.h"
#include "request.h"
#include "orders.h"
#include "methods.h"
#include "metrics.h"
#include "ops_admin.h"
#include "regno.h"
#include "retry.h"
#include "store_api.h"
#include "worker.h"

#define S_ERR_MAX 256

typedef int(handler_fn)(req_t *req);

/* The routing table: which socket may send a type, whether it needs a
 * token, and who handles it. */
typedef struct {
    uint32_t type;
    unsigned srcs; /* DISPATCH_SRC_* bits */
    bool auth;     /* resolve the header's token first (401 without one) */
    bool ro;       /* never writes: runs in the batch txn, without a child */
    handler_fn *handler;
} s_route_t;

static int s_ping(req_t *req);
static int s_auth(req_t *req);
static int s_admin_token_create(req_t *req);
static int s_admin_stats(req_t *req);

static const s_route_t s_routes[] = {
    {PM_MSG_PING, DISPATCH_SRC_API | DISPATCH_SRC_ADMIN | DISPATCH_SRC_WORKER, false, true, s_ping},
    {PM_MSG_AUTH, DISPATCH_SRC_API, true, true, s_auth},
    {PM_MSG_PAYMENT_CREATE, DISPATCH_SRC_API, true, false, payment_api_create},
    {PM_MSG_PAYMENT_GET, DISPATCH_SRC_API, true, true, payment_api_get},
    {PM_MSG_PAYMENT_CANCEL, DISPATCH_SRC_API, true, false, payment_api_cancel},
    {PM_MSG_PAYMENT_EDIT, DISPATCH_SRC_API, true, false, payment_api_edit},
    {PM_MSG_PAYMENT_ACCEPT, DISPATCH_SRC_API, true, false, payment_api_accept},
    {PM_MSG_STORE_PACKAGES, DISPATCH_SRC_API, true, true, store_api_packages},
    {PM_MSG_STORE_PURCHASE_OPEN, DISPATCH_SRC_API, true, false, store_api_purchase_open},
    {PM_MSG_STORE_REDEEM, DISPATCH_SRC_API, true, false, bazaar_api_redeem},
    {PM_MSG_BAZAARPAY_CHECKOUT, DISPATCH_SRC_API, true, false, bazaarpay_api_checkout},
    {PM_MSG_BAZAARPAY_CONFIRM, DISPATCH_SRC_API, true, false, bazaarpay_api_confirm},
    {PM_MSG_BAZAARPAY_GET, DISPATCH_SRC_API, true, true, bazaarpay_api_get},
    {PM_MSG_BAZAARPAY_REFUND, DISPATCH_SRC_API, true, false, bazaarpay_api_refund},
    {PM_MSG_REGNO_GEN, DISPATCH_SRC_API, true, false, regno_api_gen},
    {PM_MSG_INVOICE_PUT, DISPATCH_SRC_API, true, false, orders_api_invoice_put},
    {PM_MSG_ORDER_REGISTER, DISPATCH_SRC_API, true, false, orders_api_register},
    {PM_MSG_ORDER_VALIDATE, DISPATCH_SRC_API, true, false, orders_api_validate},
    {PM_MSG_JOB_TAKE, DISPATCH_SRC_WORKER, false, false, worker_api_take},
    {PM_MSG_JOB_RESULT, DISPATCH_SRC_WORKER, false, false, worker_api_result},
    {PM_MSG_RETRY_TAKE, DISPATCH_SRC_WORKER, false, false, retry_api_take},
    {PM_MSG_RETRY_DECIDE, DISPATCH_SRC_WORKER, false, false, retry_api_decide},
    {PM_MSG_ADMIN_TOKEN_CREATE, DISPATCH_SRC_ADMIN, false, false, s_admin_token_create},
    {PM_MSG_ADMIN_STATS, DISPATCH_SRC_ADMIN, false, true, s_admin_stats},
    {PM_MSG_ADMIN_PACKAGE_PUT, DISPATCH_SRC_ADMIN, false, false, store_api_package_put},
    {PM_MSG_ADMIN_PACKAGE_RETIRE, DISPATCH_SRC_ADMIN, false, false, store_api_package_retire},
    {PM_MSG_ADMIN_PACKAGE_LIST, DISPATCH_SRC_ADMIN, false, true, store_api_package_list},
    {PM_MSG_ADMIN_BALANCE, DISPATCH_SRC_ADMIN, false, true, store_api_balance},
    {PM_MSG_ADMIN_CHECKOUT_SHOW, DISPATCH_SRC_ADMIN, false, true, bazaarpay_admin_show},
    {PM_MSG_ADMIN_RETRY_LIST, DISPATCH_SRC_ADMIN, false, true, retry_admin_list},
    {PM_MSG_ADMIN_RETRY_NOW, DISPATCH_SRC_ADMIN, false, false, retry_admin_now},
    {PM_MSG_ADMIN_RETRY_PARK, DISPATCH_SRC_ADMIN, false, false, retry_admin_park},
    {PM_MSG_ADMIN_REGNO_TYPE_PUT, DISPATCH_SRC_ADMIN, false, false, regno_admin_type_put},
    {PM_MSG_ADMIN_REGNO_TYPE_LIST, DISPATCH_SRC_ADMIN, false, true, regno_admin_type_list},
    {PM_MSG_ADMIN_METHOD_PUT, DISPATCH_SRC_ADMIN, false, false, methods_admin_put},
    {PM_MSG_ADMIN_METHOD_LIST, DISPATCH_SRC_ADMIN, false, true, methods_admin_list},
    {PM_MSG_ADMIN_ORDER_SHOW, DISPATCH_SRC_ADMIN, false, true, orders_admin_show},
    {PM_MSG_ADMIN_TOKEN_LIST, DISPATCH_SRC_ADMIN, false, true, ops_admin_token_list},
    {PM_MSG_ADMIN_TOKEN_REVOKE, DISPATCH_SRC_ADMIN, false, false, ops_admin_token_revoke},
    {PM_MSG_ADMIN_PAYMENT_SHOW, DISPATCH_SRC_ADMIN, false, true, ops_admin_payment_show},
    {PM_MSG_ADMIN_PAYMENT_LIST, DISPATCH_SRC_ADMIN, false, true, ops_admin_payment_list},
    /* health and metrics (metrics.h): no token; HEALTH runs in the batch's
     * write transaction, so an answer proves one began */
    {PM_MSG_HEALTH, DISPATCH_SRC_API | DISPATCH_SRC_ADMIN, false, false, metrics_api_health},
    {PM_MSG_METRICS, DISPATCH_SRC_API | DISPATCH_SRC_ADMIN, false, true, metrics_api_metrics},
    {PM_MSG_ADMIN_OVERVIEW, DISPATCH_SRC_API, true, true, admin_page_overview},
};

struct dispatch_t {
    db_t *db;
    dispatch_limits_t limits;
    msgpack_sbuffer body;    /* scratch: one reply body at a time */
    msgpack_sbuffer answer;  /* scratch: a body for the waiters of a purchase */
    park_t *park;            /* requests answered later, and the outbox */
    int64_t next_job_due_ms; /* earliest due job a parked taker wants */
    dispatch_stats_t stats;
    bool redo; /* a request of this pass wrote and then failed (see dispatch_batch) */
};

/* ---- handlers of the small messages -------------------------------------- */

static void s_pack_ok(msgpack_packer *pk, uint32_t fields)
{
    msgpack_pack_map(pk, fields);
    pm_mp_pack_cstr(pk, "err");
    msgpack_pack_int(pk, PM_OK);
}

static int s_ping(req_t *req)
{
    s_pack_ok(&req->pk, 1);
    return 0;
}

static int s_auth(req_t *req)
{
    s_pack_ok(&req->pk, 3);
    pm_mp_pack_cstr(&req->pk, "principal");
    pm_mp_pack_cstr(&req->pk, req->caller->principal);
    pm_mp_pack_cstr(&req->pk, "role");
    pm_mp_pack_cstr(&req->pk, auth_role_name(req->caller->role));
    return 0;
}

static int s_admin_token_create(req_t *req)
{
    char principal[PM_PRINCIPAL_MAX + 1], role_text[8];
    if (req_text(req, "principal", "principal", 1, PM_PRINCIPAL_MAX, REQ_ASCII, principal,
                 sizeof principal) != 0 ||
        req_text(req, "role", "role", 1, 7, REQ_OPTIONAL | REQ_ASCII, role_text,
                 sizeof role_text) != 0)
        return -1;
    if (!auth_principal_valid(principal, strlen(principal)))
        return req_reject(req, PM_ERR_VALIDATION,
                          "principal must be 1 to %d printable ASCII characters without spaces",
                          PM_PRINCIPAL_MAX);
    auth_role_t role = AUTH_ROLE_USER;
    if (role_text[0] && auth_role_parse(role_text, strlen(role_text), &role) != 0)
        return req_reject(req, PM_ERR_VALIDATION, "role must be user or service");
    char token[AUTH_TOKEN_CAP];
    int rc =
        auth_token_create(req->db, req->txn, principal, role, req->now_ms, token, sizeof token);
    if (rc != 0)
        return req_store_error(req, rc, "token create");
    pm_info("issued a %s token for principal %s", auth_role_name(role), principal);
    s_pack_ok(&req->pk, 4);
    pm_mp_pack_cstr(&req->pk, "token");
    pm_mp_pack_cstr(&req->pk, token);
    pm_mp_pack_cstr(&req->pk, "principal");
    pm_mp_pack_cstr(&req->pk, principal);
    pm_mp_pack_cstr(&req->pk, "role");
    pm_mp_pack_cstr(&req->pk, auth_role_name(role));
    return 0;
}

static int s_admin_stats(req_t *req)
{
    uint64_t payments = 0, keys = 0, tokens = 0;
    int rc;
    if ((rc = db_count(req->db, req->txn, DB_PAYMENTS, &payments)) != 0 ||
        (rc = db_count(req->db, req->txn, DB_IDEM, &keys)) != 0 ||
        (rc = db_count(req->db, req->txn, DB_TOKENS, &tokens)) != 0)
        return req_store_error(req, rc, "stats");
    ops_stats_t ops; /* purchases, checkouts, jobs by state (ops_admin.h) */
    if ((rc = ops_stats_read(req->db, req->txn, &ops)) != 0)
        return req_store_error(req, rc, "stats");
    s_pack_ok(&req->pk, 9 + OPS_STATS_FIELDS);
    pm_mp_pack_cstr(&req->pk, "payments");
    msgpack_pack_uint64(&req->pk, payments);
    pm_mp_pack_cstr(&req->pk, "idempotency_keys");
    msgpack_pack_uint64(&req->pk, keys);
    pm_mp_pack_cstr(&req->pk, "tokens");
    msgpack_pack_uint64(&req->pk, tokens);
    pm_mp_pack_cstr(&req->pk, "batches");
    msgpack_pack_uint64(&req->pk, req->stats->batches);
    pm_mp_pack_cstr(&req->pk, "batch_requests");
    msgpack_pack_uint64(&req->pk, req->stats->requests);
    pm_mp_pack_cstr(&req->pk, "commit_us_total");
    msgpack_pack_uint64(&req->pk, req->stats->commit_us);
    pm_mp_pack_cstr(&req->pk, "commit_us_max");
    msgpack_pack_uint64(&req->pk, req->stats->commit_us_max);
    pm_mp_pack_cstr(&req->pk, "batches_redone");
    msgpack_pack_uint64(&req->pk, req->stats->batches_redone);
    ops_stats_pack(&req->pk, &ops);
    return 0;
}

/* ---- replies ------------------------------------------------------------- */

static void s_pack_error_body(msgpack_sbuffer *buf, int err, const char *msg)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, err);
    pm_mp_pack_cstr(&pk, "msg");
    pm_mp_pack_cstr(&pk, msg);
}

/* item->reply = reply header for item's request + body. */
static void s_set_reply(dispatch_item_t *item, const void *body, size_t body_size)
{
    pm_header_t h;
    pm_header_reply_to(&h, &item->header_);
    msgpack_sbuffer_clear(&item->reply);
    pm_envelope_pack_header(&item->reply, &h);
    msgpack_sbuffer_write(&item->reply, body, body_size);
    item->has_reply = true;
}

static void s_set_error_reply(dispatch_t *self, dispatch_item_t *item, int err, const char *msg)
{
    s_pack_error_body(&self->body, err, msg);
    s_set_reply(item, self->body.data, self->body.size);
}

/* Replaces every reply of the batch: nothing of it reached the disk. */
static void s_fail_batch(dispatch_t *self, dispatch_item_t *items, size_t n, const char *msg)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].has_reply && !items[i].early)
            s_set_error_reply(self, &items[i], PM_ERR_UNAVAILABLE, msg);
}

/* ---- one request ------------------------------------------------------- */

static const s_route_t *s_route(uint32_t type)
{
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++)
        if (s_routes[i].type == type)
            return &s_routes[i];
    return NULL;
}

/* Resolves the header's token into *who: 0, or -1 with the outcome set. */
static int s_authenticate(req_t *req, auth_identity_t *who)
{
    if (!req->header->has_auth)
        return req_reject(req, PM_ERR_UNAUTHORIZED, "missing API token");
    int rc = auth_lookup(req->db, req->txn, req->header->auth, who);
    if (rc == MDB_NOTFOUND)
        return req_reject(req, PM_ERR_UNAUTHORIZED, "unknown API token");
    if (rc != 0)
        return req_store_error(req, rc, "token lookup");
    req->caller = who;
    return 0;
}

/* Runs a routed request and fills item's reply.
 *
 * A read-only route runs in parent itself: it writes nothing, so there is
 * nothing to roll back, and LMDB's child transaction (a dirty-page list of
 * about 2 MB allocated per begin) would be pure cost. Without isolate (the
 * first pass of a batch) a write runs in parent too; if it then fails having
 * written something, or on a storage error, it sets self->redo and
 * dispatch_batch runs the batch again with isolate.
 *
 * With isolate a write runs in a child of parent. The child is committed
 * when the handler succeeded or refused on the payment's state or the
 * caller's rights (that outcome is final, so it is stored with the
 * idempotency key in the same child); it is aborted when the request failed
 * in any other way, so nothing it wrote survives. A child commit only moves
 * its writes into the parent: nothing is durable, and no reply leaves, until
 * dispatch_batch commits the parent. */
static void s_run(dispatch_t *self, MDB_txn *parent, dispatch_item_t *item,
                  const pm_envelope_t *env, const s_route_t *route, int64_t now_ms, bool isolate)
{
    req_t req;
    memset(&req, 0, sizeof req);
    req.db = self->db;
    req.header = &item->header_;
    req.body = pm_envelope_body(env);
    req.body_bytes = pm_envelope_body_bytes(env, &req.body_size);
    req.limits = &self->limits;
    req.stats = &self->stats;
    req.now_ms = now_ms;
    req.out = &self->body;
    req.park = self->park;
    req.answer_body = &self->answer;
    msgpack_sbuffer_clear(req.out);
    msgpack_packer_init(&req.pk, req.out, msgpack_sbuffer_write);

    auth_identity_t who;
    bool child = !route->ro && isolate;
    uint64_t writes_before = db_write_calls(self->db);
    int rc = 0;
    if (child)
        rc = db_begin(self->db, parent, &req.txn);
    else
        req.txn = parent;
    if (rc != 0) {
        req_store_error(&req, rc, "request transaction begin");
        goto reply;
    }
    if (route->auth && s_authenticate(&req, &who) != 0)
        goto abort_txn;
    metrics_job_t mj;
    bool job_result = route->type == PM_MSG_JOB_RESULT && metrics_job_peek(&req, &mj);
    if (route->handler(&req) != 0 && !req.decided)
        goto abort_txn;
    if (job_result && req.err == PM_OK)
        metrics_job_stage(&mj); /* counted if the batch commits */
    if (req.err != PM_OK)
        s_pack_error_body(req.out, req.err, req.msg);
    assert(child || !route->ro || !req.idem_claimed);
    if (req.idem_claimed) {
        rc = idem_put_done(self->db, req.txn, &req.idem_key, req.idem_fp, now_ms, req.out->data,
                           req.out->size);
        if (rc != 0) {
            req_store_error(&req, rc, "idempotency record save");
            goto abort_txn;
        }
    }
    rc = child ? db_commit(self->db, req.txn) : 0;
    req.txn = NULL;
    if (rc != 0) {
        req_store_error(&req, rc, "request transaction commit");
        goto reply;
    }
    /* The child is in: its effects on parked requests may happen now
     * (staged in park until the batch commits). */
    if (req.answer)
        park_answer_waiters(self->park, req.answer_serial, self->answer.data, self->answer.size);
    if (req.park_as != REQ_PARK_NONE) {
        park_peer_t peer;
        memset(&peer, 0, sizeof peer);
        peer.src = item->src;
        peer.id_len = item->peer_len <= PARK_PEER_MAX ? item->peer_len : 0;
        if (peer.id_len)
            memcpy(peer.id, item->peer, peer.id_len);
        peer.header = item->header_;
        if (req.park_as == REQ_PARK_WAITER)
            park_add_waiter(self->park, &peer, req.park_serial, req.park_until_ms);
        else
            park_add_taker(self->park, &peer, &req.park_take);
        item->parked = true;
        goto log;
    }
    s_set_reply(item, req.out->data, req.out->size);
    goto log;
abort_txn:
    if (child)
        db_abort(&req.txn);
    else if (db_write_calls(self->db) != writes_before)
        self->redo = true; /* its writes are in parent: only a redo removes them */
reply:
    s_set_error_reply(self, item, req.err, req.msg);
log:
    if (!child && req.db_failed)
        self->redo = true; /* a store error may have spoilt parent */
    pm_debug("request type %u corr %llu trace %s: %s%s%s", item->header_.type,
             (unsigned long long)item->header_.corr_id, item->header_.trace_id,
             pm_err_code(req.err), req.replayed ? " (replayed)" : "",
             req.err != PM_OK ? req.msg : "");
}

/* Decodes (unless dispatch_reads did) and routes one item. Returns its route
 * when it is a request to run, with *env its envelope (the caller destroys
 * it); NULL when the item was answered or dropped here. */
static const s_route_t *s_decode_route(dispatch_t *self, dispatch_item_t *item, int64_t now_ms,
                                       pm_envelope_t **env)
{
    char why[S_ERR_MAX];
    *env = item->env_;
    item->env_ = NULL;
    if (!*env)
        *env = pm_envelope_decode(item->frame, item->frame_size, (size_t)self->limits.max_msg_bytes,
                                  &item->header_, &item->header_ok_, why, sizeof why);
    if (!*env) {
        if (item->header_ok_)
            s_set_error_reply(self, item, PM_ERR_VALIDATION, why);
        else
            pm_warn("dropped a malformed message of %zu bytes: %s", item->frame_size, why);
        return NULL;
    }
    const pm_header_t *h = &item->header_;
    char msg[S_ERR_MAX];
    const s_route_t *route = s_route(h->type);
    if (!route || !(route->srcs & item->src)) {
        snprintf(msg, sizeof msg, "unknown message type %u", h->type);
        if (route)
            snprintf(msg, sizeof msg, "message type %u is not accepted on the %s socket", h->type,
                     item->src == DISPATCH_SRC_ADMIN    ? "admin"
                     : item->src == DISPATCH_SRC_WORKER ? "worker"
                                                        : "api");
        s_set_error_reply(self, item, PM_ERR_VALIDATION, msg);
        pm_envelope_destroy(env);
        return NULL;
    }
    if (h->deadline_ms != 0 && h->deadline_ms < now_ms) {
        pm_debug("dropped request type %u corr %llu trace %s: deadline passed %lld ms ago", h->type,
                 (unsigned long long)h->corr_id, h->trace_id, (long long)(now_ms - h->deadline_ms));
        pm_envelope_destroy(env);
        return NULL;
    }
    return route;
}

/* Decodes and routes one item; runs it when it is a request to process. */
static void s_process(dispatch_t *self, MDB_txn *parent, dispatch_item_t *item, int64_t now_ms,
                      bool isolate)
{
    pm_envelope_t *env = NULL;
    const s_route_t *route = s_decode_route(self, item, now_ms, &env);
    if (route) {
        pm_log_trace_set(item->header_.trace_id); /* every line about this item */
        s_run(self, parent, item, env, route, now_ms, isolate);
        pm_log_trace_set(NULL);
    }
    pm_envelope_destroy(&env);
}

/* ---- the batch ------------------------------------------------------------ */

void dispatch_item_init(dispatch_item_t *item)
{
    assert(item);
    memset(item, 0, sizeof *item);
    msgpack_sbuffer_init(&item->reply);
}

void dispatch_item_fini(dispatch_item_t *item)
{
    assert(item);
    pm_envelope_destroy(&item->env_);
    msgpack_sbuffer_destroy(&item->reply);
    memset(item, 0, sizeof *item);
}

static void s_default(int64_t *v, int64_t def)
{
    if (*v <= 0)
        *v = def;
}

dispatch_t *dispatch_new(db_t *db, const dispatch_limits_t *limits)
{
    assert(db && limits && limits->max_amount_minor > 0 && limits->max_msg_bytes > 0);
    dispatch_t *self = calloc(1, sizeof *self);
    assert(self);
    self->db = db;
    self->limits = *limits;
    s_default(&self->limits.max_packages, 10000);
    s_default(&self->limits.max_waiters, 10000);
    s_default(&self->limits.job_lease_ms, 30000);
    s_default(&self->limits.job_max_attempts, 1000);
    s_default(&self->limits.bazaarpay_commit_window_ms, 600000);
    msgpack_sbuffer_init(&self->body);
    msgpack_sbuffer_init(&self->answer);
    self->park = park_new((size_t)self->limits.max_waiters);
    self->next_job_due_ms = INT64_MAX;
    return self;
}

void dispatch_destroy(dispatch_t **self_p)
{
    assert(self_p);
    dispatch_t *self = *self_p;
    if (!self)
        return;
    park_destroy(&self->park);
    msgpack_sbuffer_destroy(&self->answer);
    msgpack_sbuffer_destroy(&self->body);
    free(self);
    *self_p = NULL;
}

/* Hands due jobs to parked takers, each in its own child of parent so that
 * a failure leaves the batch's requests and the other takers alone (that
 * taker just keeps waiting). Then notes when the next job any remaining
 * taker wants becomes due. */
static void s_feed_takers(dispatch_t *self, MDB_txn *parent, int64_t now_ms)
{
    self->next_job_due_ms = INT64_MAX;
    for (size_t i = 0; i < park_takers(self->park); i++) {
        const park_take_t *take = park_taker_at(self->park, i);
        if (!take)
            continue;
        MDB_txn *txn = NULL;
        size_t n = 0;
        int rc = db_begin(self->db, parent, &txn);
        if (rc == 0)
            rc = worker_lease(self->db, txn, &self->limits, take, now_ms, &self->body, &n);
        if (rc == 0) {
            rc = db_commit(self->db, txn);
            txn = NULL;
        }
        if (rc != 0) {
            pm_error("job hand-out failed: %s", db_strerror(rc));
            db_abort(&txn);
            continue;
        }
        if (n > 0)
            park_answer_taker(self->park, i, self->body.data, self->body.size);
    }
    for (size_t i = 0; i < park_takers(self->park); i++) {
        const park_take_t *take = park_taker_at(self->park, i);
        if (!take)
            continue;
        int64_t due = worker_next_due_ms(self->db, parent, take);
        if (due < self->next_job_due_ms)
            self->next_job_due_ms = due;
    }
}

size_t dispatch_outbox_count(const dispatch_t *self)
{
    assert(self);
    return park_outbox_count(self->park);
}

void dispatch_outbox_get(const dispatch_t *self, size_t i, dispatch_src_t *src, const void **peer,
                         size_t *peer_len, const void **frame, size_t *frame_len)
{
    assert(self && src && peer && peer_len && frame && frame_len);
    int s = 0;
    const uint8_t *id = NULL;
    park_outbox_get(self->park, i, &s, &id, peer_len, frame, frame_len);
    *src = (dispatch_src_t)s;
    *peer = id;
}

void dispatch_outbox_clear(dispatch_t *self)
{
    assert(self);
    park_outbox_clear(self->park);
}

int64_t dispatch_next_wake_ms(const dispatch_t *self)
{
    assert(self);
    int64_t next = park_next_deadline_ms(self->park);
    return self->next_job_due_ms < next ? self->next_job_due_ms : next;
}

size_t dispatch_parked_waiters(const dispatch_t *self)
{
    assert(self);
    return park_waiters(self->park);
}

size_t dispatch_parked_takers(const dispatch_t *self)
{
    assert(self);
    return park_takers(self->park);
}

int dispatch_batch(dispatch_t *self, dispatch_item_t *items, size_t n, int64_t now_ms)
{
    assert(self && (items || n == 0));
    /* The first pass runs every write straight in the batch transaction: a
     * child transaction per request copies each page it touches and costs
     * the core about a tenth of its CPU per create. A request that fails
     * without having written anything needs no rollback. One that fails
     * after writing (or after any storage error) cannot be undone inside
     * the batch transaction, so the whole pass is dropped and the batch run
     * again with a child per request, which removes exactly what the
     * failing request wrote. Nothing has been sent in between. */
    bool isolate = false;
    MDB_txn *txn = NULL;
    int rc;
pass:
    for (size_t i = 0; i < n; i++) {
        if (items[i].early)
            continue;
        items[i].has_reply = false;
        items[i].parked = false;
        items[i].header_ok_ = false;
        msgpack_sbuffer_clear(&items[i].reply);
    }
    metrics_batch_clear();
    rc = db_begin(self->db, NULL, &txn);
    if (rc != 0) {
        pm_error("batch transaction begin failed: %s", db_strerror(rc));
        /* Still decode, so that every requester whose header we can read
         * hears that storage is down rather than waiting for its timeout. */
        for (size_t i = 0; i < n; i++) {
            if (items[i].early)
                continue;
            if (items[i].env_) {
                pm_envelope_destroy(&items[i].env_);
                s_set_error_reply(self, &items[i], PM_ERR_UNAVAILABLE, "storage unavailable");
                continue;
            }
            char why[S_ERR_MAX];
            pm_envelope_t *env = pm_envelope_decode(
                items[i].frame, items[i].frame_size, (size_t)self->limits.max_msg_bytes,
                &items[i].header_, &items[i].header_ok_, why, sizeof why);
            pm_envelope_destroy(&env);
            if (items[i].header_ok_)
                s_set_error_reply(self, &items[i], PM_ERR_UNAVAILABLE, "storage unavailable");
        }
        return -1;
    }
    self->redo = false;
    for (size_t i = 0; i < n; i++) {
        if (items[i].early)
            continue;
        s_process(self, txn, &items[i], now_ms, isolate);
        if (self->redo && !isolate)
            break;
    }
    if (self->redo && !isolate) {
        db_abort(&txn);
        park_rollback(self->park);
        self->stats.batches_redone++;
        pm_info("a request failed after writing or on a storage error: its batch of %zu runs "
                "again, each request in its own transaction",
                n);
        isolate = true;
        goto pass;
    }
    s_feed_takers(self, txn, now_ms);
    park_expire(self->park, now_ms);
    /* The one fsync of the batch. No reply has left yet: the caller sends
     * them after this returns, and they say success only if this worked. */
    int64_t commit_start = pm_mono_us();
    rc = db_commit(self->db, txn);
    uint64_t commit_us = (uint64_t)(pm_mono_us() - commit_start);
    if (rc != 0) {
        pm_error("batch commit of %zu requests failed: %s", n, db_strerror(rc));
        park_rollback(self->park);
        for (size_t i = 0; i < n; i++) {
            if (items[i].parked) {
                items[i].parked = false;
                items[i].has_reply = true;
            }
        }
        metrics_batch_clear();
        s_fail_batch(self, items, n, "storage commit failed");
        return -1;
    }
    park_commit(self->park);
    size_t writes = 0;
    for (size_t i = 0; i < n; i++)
        writes += !items[i].early;
    if (writes > 0) {
        self->stats.batches++;
        self->stats.requests += writes;
        self->stats.commit_us += commit_us;
        if (commit_us > self->stats.commit_us_max)
            self->stats.commit_us_max = commit_us;
    }
    metrics_batch_done(writes);
    return 0;
}

const dispatch_stats_t *dispatch_stats(const dispatch_t *self)
{
    assert(self);
    return &self->stats;
}

size_t dispatch_reads(dispatch_t *self, dispatch_item_t *items, size_t n, int64_t now_ms)
{
    assert(self && (items || n == 0));
    MDB_txn *txn = NULL;
    bool txn_failed = false;
    size_t left = 0;
    metrics_turn(n);
    for (size_t i = 0; i < n; i++) {
        dispatch_item_t *item = &items[i];
        item->has_reply = false;
        item->parked = false;
        item->header_ok_ = false;
        item->early = false;
        msgpack_sbuffer_clear(&item->reply);
        pm_envelope_destroy(&item->env_);
        pm_envelope_t *env = NULL;
        const s_route_t *route = s_decode_route(self, item, now_ms, &env);
        if (route && (!route->ro || txn_failed)) {
            item->env_ = env; /* a write (or no snapshot): dispatch_batch runs it */
            left++;
            continue;
        }
        if (route && !txn) {
            int rc = db_read_begin(self->db, &txn);
            if (rc != 0) {
                pm_error("read transaction begin failed: %s", db_strerror(rc));
                txn_failed = true;
                item->env_ = env;
                left++;
                continue;
            }
        }
        if (route) {
            pm_log_trace_set(item->header_.trace_id);
            s_run(self, txn, item, env, route, now_ms, false);
            pm_log_trace_set(NULL);
        }
        pm_envelope_destroy(&env);
        item->early = true;
    }
    db_read_end(self->db, &txn);
    return left;
}
