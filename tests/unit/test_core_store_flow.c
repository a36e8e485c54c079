/*  Unit tests of payment-core's store purchases, driven through dispatch
 *  with real envelopes and a real LMDB store but no sockets: the catalog
 *  (add, update, retire, list, pagination, platforms), purchases, redeem
 *  with its Bazaar validation job, exactly-once crediting, the job queue
 *  (leases, expiry, backoff, parked takers) and parked redeem requests
 *  (answered after commit, on deadline, bounded). Time is passed in, so
 *  leases and deadlines are tested without sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../payment-core/auth.h"
#include "../../payment-core/bazaarpay.h"
#include "../../payment-core/dispatch.h"
#include "../../payment-core/jobs.h"
#include "../../payment-core/purchase.h"
#include "../../payment-core/db.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_ids.h"
#include "pm_log.h"

#define MAX_MSG 65536
#define NOW 1790000000000LL
#define LEASE 30000
#define BASE 1000
#define MAX_KEEP 512
#define DAY_MS 86400000LL

/* ---- fixture --------------------------------------------------------------- */

typedef struct {
    char dir[64];
    db_t *db;
    dispatch_t *dispatch;
    dispatch_limits_t limits;
    uint8_t alice[PM_AUTH_LEN], bob[PM_AUTH_LEN], service[PM_AUTH_LEN];
    uint64_t corr;
    pm_envelope_t *keep[MAX_KEEP];
    size_t kept;
} fixture_t;

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void s_issue_as(fixture_t *fx, MDB_txn *txn, const char *principal, auth_role_t role,
                       uint8_t hash[PM_AUTH_LEN])
{
    char token[AUTH_TOKEN_CAP];
    assert_int_equal(
        auth_token_create(fx->db, txn, principal, role, NOW - 1000, token, sizeof token), 0);
    pm_token_hash(token, strlen(token), hash);
}

static void s_issue(fixture_t *fx, MDB_txn *txn, const char *principal, uint8_t hash[PM_AUTH_LEN])
{
    s_issue_as(fx, txn, principal, AUTH_ROLE_USER, hash);
}

static int s_setup_with(void **state, int64_t max_waiters, int64_t max_packages)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    strcpy(fx->dir, "/tmp/pm-test-db-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->db = db_open(fx->dir, 16);
    assert_non_null(fx->db);
    fx->limits = (dispatch_limits_t){.max_amount_minor = 1000000,
                                     .max_msg_bytes = MAX_MSG,
                                     .max_packages = max_packages,
                                     .max_waiters = max_waiters,
                                     .job_lease_ms = LEASE,
                                     .job_max_attempts = 5,
                                     .bazaarpay_commit_window_ms = 600000};
    fx->dispatch = dispatch_new(fx->db, &fx->limits);
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    s_issue(fx, txn, "alice", fx->alice);
    s_issue(fx, txn, "bob", fx->bob);
    s_issue_as(fx, txn, "ops", AUTH_ROLE_SERVICE, fx->service);
    assert_int_equal(db_commit(fx->db, txn), 0);
    *state = fx;
    return 0;
}

static int s_setup(void **state)
{
    return s_setup_with(state, 100, 100);
}

static int s_setup_small(void **state)
{
    return s_setup_with(state, 1, 2);
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    for (size_t i = 0; i < fx->kept; i++)
        pm_envelope_destroy(&fx->keep[i]);
    dispatch_destroy(&fx->dispatch);
    db_destroy(&fx->db);
    nftw(fx->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* ---- requests ----------------------------------------------------------------- */

typedef struct {
    uint32_t type;
    const uint8_t *auth;
    int64_t deadline_ms;
    dispatch_src_t src;
    const char *peer; /* routing id */
    msgpack_sbuffer body;
    msgpack_packer pk;
    uint32_t fields;
    msgpack_sbuffer frame;
    uint64_t corr;
} call_t;

static void r_init(call_t *r, uint32_t type, const uint8_t *auth, const char *peer)
{
    memset(r, 0, sizeof *r);
    r->type = type;
    r->auth = auth;
    r->peer = peer;
    r->src = type >= PM_MSG_ADMIN_TOKEN_CREATE                        ? DISPATCH_SRC_ADMIN
             : type >= PM_MSG_JOB_TAKE && type <= PM_MSG_RETRY_DECIDE ? DISPATCH_SRC_WORKER
                                                                      : DISPATCH_SRC_API;
    msgpack_sbuffer_init(&r->body);
    msgpack_packer_init(&r->pk, &r->body, msgpack_sbuffer_write);
    msgpack_sbuffer_init(&r->frame);
}

static void r_str(call_t *r, const char *key, const char *value)
{
    pm_mp_pack_cstr(&r->pk, key);
    pm_mp_pack_cstr(&r->pk, value);
    r->fields++;
}

static void r_int(call_t *r, const char *key, int64_t value)
{
    pm_mp_pack_cstr(&r->pk, key);
    msgpack_pack_int64(&r->pk, value);
    r->fields++;
}

static void r_key(call_t *r, const char *key)
{
    pm_mp_pack_cstr(&r->pk, key);
    r->fields++;
}

static void s_seal(fixture_t *fx, call_t *r)
{
    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = r->type;
    h.corr_id = r->corr = ++fx->corr;
    h.deadline_ms = r->deadline_ms;
    if (r->auth) {
        h.has_auth = true;
        memcpy(h.auth, r->auth, PM_AUTH_LEN);
    }
    snprintf(h.trace_id, sizeof h.trace_id, "trace-%llu", (unsigned long long)r->corr);
    msgpack_sbuffer_clear(&r->frame);
    pm_envelope_pack_header(&r->frame, &h);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r->frame, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, r->fields);
    msgpack_sbuffer_write(&r->frame, r->body.data, r->body.size);
}

static pm_envelope_t *s_decode(fixture_t *fx, const void *data, size_t size)
{
    pm_header_t partial;
    bool header_ok;
    char why[128];
    pm_envelope_t *env =
        pm_envelope_decode(data, size, 1 << 20, &partial, &header_ok, why, sizeof why);
    if (!env)
        fail_msg("reply does not decode: %s", why);
    assert_int_equal(pm_envelope_header(env)->type, PM_MSG_REPLY);
    assert_true(fx->kept < MAX_KEEP);
    fx->keep[fx->kept++] = env;
    return env;
}

/* Runs reqs as one batch at now_ms; replies[i] answers reqs[i] directly
 * (NULL when parked or dropped). Returns dispatch_batch's result. The outbox
 * is left for s_outbox. */
static int s_batch_at(fixture_t *fx, call_t **reqs, size_t n, const pm_envelope_t **replies,
                      int64_t now_ms)
{
    dispatch_item_t items[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        s_seal(fx, reqs[i]);
        dispatch_item_init(&items[i]);
        items[i].src = reqs[i]->src;
        items[i].frame = reqs[i]->frame.data;
        items[i].frame_size = reqs[i]->frame.size;
        items[i].peer = reqs[i]->peer;
        items[i].peer_len = reqs[i]->peer ? strlen(reqs[i]->peer) : 0;
    }
    dispatch_outbox_clear(fx->dispatch); /* what core does once it sent them */
    int rc = dispatch_batch(fx->dispatch, items, n, now_ms);
    for (size_t i = 0; i < n; i++) {
        replies[i] = NULL;
        if (items[i].has_reply) {
            assert_false(items[i].parked);
            replies[i] = s_decode(fx, items[i].reply.data, items[i].reply.size);
            assert_int_equal(pm_envelope_header(replies[i])->corr_id, reqs[i]->corr);
        }
        dispatch_item_fini(&items[i]);
    }
    return rc;
}

/* One request at now_ms; frees it. */
static const pm_envelope_t *s_call_at(fixture_t *fx, call_t *r, int64_t now_ms)
{
    const pm_envelope_t *reply;
    s_batch_at(fx, &r, 1, &reply, now_ms);
    msgpack_sbuffer_destroy(&r->body);
    msgpack_sbuffer_destroy(&r->frame);
    return reply;
}

static const pm_envelope_t *s_call(fixture_t *fx, call_t *r)
{
    return s_call_at(fx, r, NOW);
}

/* An empty batch at now_ms: only timers and parked takers. */
static void s_tick(fixture_t *fx, int64_t now_ms)
{
    dispatch_outbox_clear(fx->dispatch);
    assert_int_equal(dispatch_batch(fx->dispatch, NULL, 0, now_ms), 0);
}

/* The outbox reply of the last batch for peer (decoded; NULL if none). */
static const pm_envelope_t *s_outbox(fixture_t *fx, const char *peer)
{
    const pm_envelope_t *found = NULL;
    for (size_t i = 0; i < dispatch_outbox_count(fx->dispatch); i++) {
        dispatch_src_t src;
        const void *id, *frame;
        size_t id_len, frame_len;
        dispatch_outbox_get(fx->dispatch, i, &src, &id, &id_len, &frame, &frame_len);
        if (id_len == strlen(peer) && memcmp(id, peer, id_len) == 0) {
            assert_null(found);
            found = s_decode(fx, frame, frame_len);
        }
    }
    return found;
}

static int64_t s_err(const pm_envelope_t *reply)
{
    assert_non_null(reply);
    int64_t err = -1;
    assert_int_equal(pm_mp_get_int(pm_envelope_body(reply), "err", &err), 0);
    return err;
}

static const char *s_msg(const pm_envelope_t *reply)
{
    static char msg[512];
    msg[0] = '\0';
    if (s_err(reply) != PM_OK)
        assert_int_equal(pm_mp_copy_str(pm_envelope_body(reply), "msg", msg, sizeof msg), 0);
    return msg;
}

#define assert_reply(reply, err, msg)                                                              \
    do {                                                                                           \
        const pm_envelope_t *r_ = (reply);                                                         \
        assert_string_equal(s_msg(r_), (msg));                                                     \
        assert_int_equal(s_err(r_), (err));                                                        \
    } while (0)

static int64_t s_int(const msgpack_object *map, const char *key)
{
    int64_t v = 0;
    assert_int_equal(pm_mp_get_int(map, key, &v), 0);
    return v;
}

static const char *s_str(const msgpack_object *map, const char *key)
{
    static char buf[4][512];
    static int next;
    char *out = buf[next++ % 4];
    const msgpack_object *v = pm_mp_get(map, key);
    assert_non_null(v);
    if (v->type == MSGPACK_OBJECT_NIL)
        return NULL;
    assert_int_equal(pm_mp_copy_str(map, key, out, 512), 0);
    return out;
}

static const msgpack_object *s_field(const pm_envelope_t *reply, const char *key)
{
    const msgpack_object *v = pm_mp_get(pm_envelope_body(reply), key);
    assert_non_null(v);
    return v;
}

static uint64_t s_count(fixture_t *fx, db_name_t db)
{
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    uint64_t n = 0;
    assert_int_equal(db_count(fx->db, txn, db, &n), 0);
    db_abort(&txn);
    return n;
}

/* ---- the standard requests ----------------------------------------------------- */

static const pm_envelope_t *s_put(fixture_t *fx, const char *sku, const char *type, int64_t coins,
                                  int64_t days, const char *platforms, bool create)
{
    call_t r;
    r_init(&r, PM_MSG_ADMIN_PACKAGE_PUT, NULL, NULL);
    r_str(&r, "sku", sku);
    r_str(&r, "name", "بسته‌ی جدید");
    r_int(&r, "price", 1000);
    r_str(&r, "icon", "http://127.0.0.1:8000/uploads/default_icons/pouya.jpg");
    r_str(&r, "package_type", type);
    r_int(&r, "coins", coins);
    r_int(&r, "duration_days", days);
    r_key(&r, "platforms");
    bool android = strstr(platforms, "android") != NULL, ios = strstr(platforms, "ios") != NULL;
    msgpack_pack_array(&r.pk, (android ? 1 : 0) + (ios ? 1 : 0));
    if (android)
        pm_mp_pack_cstr(&r.pk, "android");
    if (ios)
        pm_mp_pack_cstr(&r.pk, "ios");
    r_key(&r, "create");
    if (create)
        msgpack_pack_true(&r.pk);
    else
        msgpack_pack_false(&r.pk);
    return s_call(fx, &r);
}

static const pm_envelope_t *s_retire(fixture_t *fx, const char *sku)
{
    call_t r;
    r_init(&r, PM_MSG_ADMIN_PACKAGE_RETIRE, NULL, NULL);
    r_str(&r, "sku", sku);
    return s_call(fx, &r);
}

static const pm_envelope_t *s_packages(fixture_t *fx, const char *platform, int64_t page,
                                       int64_t page_size)
{
    call_t r;
    r_init(&r, PM_MSG_STORE_PACKAGES, fx->alice, "gw");
    r_str(&r, "platform", platform);
    r_int(&r, "page", page);
    r_int(&r, "page_size", page_size);
    return s_call(fx, &r);
}

static const pm_envelope_t *s_open(fixture_t *fx, const uint8_t *auth, const char *sku)
{
    call_t r;
    r_init(&r, PM_MSG_STORE_PURCHASE_OPEN, auth, "gw");
    r_str(&r, "sku", sku);
    return s_call(fx, &r);
}

/* Opens a purchase of sku for auth; its serial into serial. */
static void s_new_purchase(fixture_t *fx, const uint8_t *auth, const char *sku, char serial[17])
{
    const pm_envelope_t *reply = s_open(fx, auth, sku);
    assert_reply(reply, PM_OK, "");
    const msgpack_object *p = s_field(reply, "purchase");
    strcpy(serial, s_str(p, "serial"));
    assert_true(purchase_serial_valid(serial, strlen(serial)));
    assert_string_equal(s_str(p, "state"), "in_progress");
    assert_null(s_str(p, "ref_id"));
    assert_null(s_str(p, "coins"));
}

/* A redeem from peer at now_ms with the given deadline; the direct reply
 * (NULL when parked). */
static const pm_envelope_t *s_redeem_at(fixture_t *fx, const uint8_t *auth, const char *peer,
                                        const char *serial, const char *token, int64_t now_ms,
                                        int64_t deadline_ms)
{
    call_t r;
    r_init(&r, PM_MSG_STORE_REDEEM, auth, peer);
    r.deadline_ms = deadline_ms;
    r_str(&r, "serial", serial);
    r_str(&r, "token", token);
    return s_call_at(fx, &r, now_ms);
}

static const pm_envelope_t *s_redeem(fixture_t *fx, const uint8_t *auth, const char *peer,
                                     const char *serial, const char *token)
{
    return s_redeem_at(fx, auth, peer, serial, token, NOW, NOW + 10000);
}

static const pm_envelope_t *s_take_at(fixture_t *fx, const char *peer, const char *kind,
                                      int64_t wait_ms, int64_t now_ms)
{
    call_t r;
    r_init(&r, PM_MSG_JOB_TAKE, NULL, peer);
    r_key(&r, "kinds");
    msgpack_pack_array(&r.pk, 1);
    pm_mp_pack_cstr(&r.pk, kind);
    r_int(&r, "max", 8);
    r_int(&r, "wait_ms", wait_ms);
    return s_call_at(fx, &r, now_ms);
}

/* The jobs of a JOB_TAKE reply. */
static const msgpack_object *s_jobs(const pm_envelope_t *reply)
{
    assert_reply(reply, PM_OK, "");
    const msgpack_object *jobs = s_field(reply, "jobs");
    assert_int_equal(jobs->type, MSGPACK_OBJECT_ARRAY);
    return jobs;
}

/* Takes exactly one job of kind at now_ms; its id and attempt out. */
static const msgpack_object *s_take_one(fixture_t *fx, const char *kind, int64_t now_ms,
                                        char id[PM_UUID_LEN + 1], int64_t *attempt)
{
    const msgpack_object *jobs = s_jobs(s_take_at(fx, "w1", kind, 0, now_ms));
    assert_int_equal(jobs->via.array.size, 1);
    const msgpack_object *job = &jobs->via.array.ptr[0];
    assert_string_equal(s_str(job, "kind"), kind);
    strcpy(id, s_str(job, "id"));
    *attempt = s_int(job, "attempt");
    return pm_mp_get(job, "payload");
}

static const pm_envelope_t *s_result_at(fixture_t *fx, const char *id, int64_t attempt,
                                        const char *outcome, const char *reason, int64_t now_ms)
{
    call_t r;
    r_init(&r, PM_MSG_JOB_RESULT, NULL, "w1");
    r_str(&r, "id", id);
    r_int(&r, "attempt", attempt);
    r_str(&r, "outcome", outcome);
    r_str(&r, "reason", reason);
    r_key(&r, "data");
    msgpack_pack_map(&r.pk, 0);
    return s_call_at(fx, &r, now_ms);
}

/* RETRY_TAKE by retry-worker peer at now_ms (wait_ms 0): its items. */
static const msgpack_object *s_retry_items(fixture_t *fx, const char *peer, int64_t now_ms)
{
    call_t r;
    r_init(&r, PM_MSG_RETRY_TAKE, NULL, peer);
    r_int(&r, "max", 8);
    r_int(&r, "wait_ms", 0);
    const pm_envelope_t *reply = s_call_at(fx, &r, now_ms);
    assert_reply(reply, PM_OK, "");
    const msgpack_object *items = s_field(reply, "items");
    assert_int_equal(items->type, MSGPACK_OBJECT_ARRAY);
    return items;
}

/* The one item due for a retry-worker at now_ms: its id and gen, and the
 * outcome it reports. */
static const msgpack_object *s_retry_one(fixture_t *fx, int64_t now_ms, char id[PM_UUID_LEN + 1],
                                         int64_t *gen)
{
    const msgpack_object *items = s_retry_items(fx, "rw", now_ms);
    assert_int_equal(items->via.array.size, 1);
    const msgpack_object *it = &items->via.array.ptr[0];
    strcpy(id, s_str(it, "id"));
    *gen = s_int(it, "gen");
    return it;
}

/* RETRY_DECIDE at now_ms. */
static const pm_envelope_t *s_decide(fixture_t *fx, const char *id, int64_t gen, const char *action,
                                     int64_t at_ms, int64_t now_ms)
{
    call_t r;
    r_init(&r, PM_MSG_RETRY_DECIDE, NULL, "rw");
    r_str(&r, "id", id);
    r_int(&r, "gen", gen);
    r_str(&r, "action", action);
    r_int(&r, "at_ms", at_ms);
    return s_call_at(fx, &r, now_ms);
}

static bool s_applied(const pm_envelope_t *reply)
{
    assert_reply(reply, PM_OK, "");
    const msgpack_object *a = s_field(reply, "applied");
    assert_int_equal(a->type, MSGPACK_OBJECT_BOOLEAN);
    return a->via.boolean;
}

static const pm_envelope_t *s_balance(fixture_t *fx, const char *principal)
{
    call_t r;
    r_init(&r, PM_MSG_ADMIN_BALANCE, NULL, NULL);
    r_str(&r, "principal", principal);
    return s_call(fx, &r);
}

static void s_catalog(fixture_t *fx)
{
    assert_reply(s_put(fx, "coins100", "coin", 100, 0, "android,ios", true), PM_OK, "");
    assert_reply(s_put(fx, "vip30", "time", 0, 30, "android", true), PM_OK, "");
}

/* ---- catalog ------------------------------------------------------------------ */

static void test_catalog_lists_in_order_by_platform_and_pages(void **state)
{
    fixture_t *fx = *state;
    assert_reply(s_put(fx, "a1", "coin", 10, 0, "android,ios", true), PM_OK, "");
    assert_reply(s_put(fx, "b2", "time", 0, 30, "ios", true), PM_OK, "");
    assert_reply(s_put(fx, "c3", "coin", 20, 0, "android", true), PM_OK, "");
    assert_reply(s_put(fx, "d4", "coin", 30, 0, "android,ios", true), PM_OK, "");

    const pm_envelope_t *page = s_packages(fx, "android", 1, 2);
    assert_reply(page, PM_OK, "");
    assert_int_equal(s_int(pm_envelope_body(page), "count"), 3);
    const msgpack_object *res = s_field(page, "results");
    assert_int_equal(res->via.array.size, 2);
    assert_string_equal(s_str(&res->via.array.ptr[0], "sku"), "a1");
    assert_string_equal(s_str(&res->via.array.ptr[1], "sku"), "c3");
    assert_string_equal(s_str(&res->via.array.ptr[0], "name"), "بسته‌ی جدید");
    assert_string_equal(s_str(&res->via.array.ptr[0], "package_type"), "coin");
    assert_int_equal(s_int(&res->via.array.ptr[0], "coins"), 10);

    page = s_packages(fx, "android", 2, 2);
    res = s_field(page, "results");
    assert_int_equal(res->via.array.size, 1);
    assert_string_equal(s_str(&res->via.array.ptr[0], "sku"), "d4");
    assert_int_equal(s_field(s_packages(fx, "android", 3, 2), "results")->via.array.size, 0);

    page = s_packages(fx, "ios", 1, 10);
    assert_int_equal(s_int(pm_envelope_body(page), "count"), 3);
    res = s_field(page, "results");
    assert_string_equal(s_str(&res->via.array.ptr[1], "sku"), "b2");
    assert_string_equal(s_str(&res->via.array.ptr[1], "package_type"), "time");
    assert_int_equal(s_int(&res->via.array.ptr[1], "duration_days"), 30);

    /* Retired packages are not sold; an update keeps the catalog order. */
    assert_reply(s_retire(fx, "a1"), PM_OK, "");
    assert_reply(s_put(fx, "c3", "coin", 25, 0, "android,ios", false), PM_OK, "");
    page = s_packages(fx, "ios", 1, 10);
    assert_int_equal(s_int(pm_envelope_body(page), "count"), 3);
    res = s_field(page, "results");
    assert_string_equal(s_str(&res->via.array.ptr[0], "sku"), "b2");
    assert_string_equal(s_str(&res->via.array.ptr[1], "sku"), "c3");
    assert_int_equal(s_int(&res->via.array.ptr[1], "coins"), 25);

    assert_reply(s_packages(fx, "windows", 1, 10), PM_ERR_VALIDATION,
                 "devicetype must be android or ios");
    assert_reply(s_packages(fx, "ios", 1, 101), PM_ERR_VALIDATION,
                 "page_size must be an integer from 1 to 100");

    call_t r;
    r_init(&r, PM_MSG_ADMIN_PACKAGE_LIST, NULL, NULL);
    const pm_envelope_t *all = s_call(fx, &r);
    const msgpack_object *pk = s_field(all, "packages");
    assert_int_equal(pk->via.array.size, 4);
    assert_true(pm_mp_get(&pk->via.array.ptr[0], "retired")->via.boolean);
}

static void test_catalog_refuses_bad_packages_and_duplicates(void **state)
{
    fixture_t *fx = *state;
    assert_reply(s_put(fx, "a1", "coin", 10, 0, "android", true), PM_OK, "");
    assert_reply(s_put(fx, "a1", "coin", 10, 0, "android", true), PM_ERR_CONFLICT,
                 "package a1 already exists");
    assert_reply(s_put(fx, "zz", "coin", 10, 0, "android", false), PM_ERR_NOT_FOUND,
                 "package zz not found");
    assert_reply(s_put(fx, "bad sku", "coin", 10, 0, "android", true), PM_ERR_VALIDATION,
                 "sku must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
    assert_reply(s_put(fx, "c0", "coin", 0, 0, "android", true), PM_ERR_VALIDATION,
                 "coins must be 1 to 10^12 for a coin package");
    assert_reply(s_put(fx, "t0", "time", 0, 0, "android", true), PM_ERR_VALIDATION,
                 "duration_days must be 1 to 3650 for a time package");
    assert_reply(s_put(fx, "t1", "time", 5, 10, "android", true), PM_ERR_VALIDATION,
                 "coins must be 0 for a time package");
    assert_reply(s_put(fx, "p0", "coin", 1, 0, "", true), PM_ERR_VALIDATION,
                 "platforms must be a non-empty subset of android, ios");
    assert_int_equal(s_count(fx, DB_PACKAGES), 1);
}

static void test_catalog_holds_at_most_max_packages(void **state)
{
    fixture_t *fx = *state; /* max_packages 2 */
    assert_reply(s_put(fx, "a", "coin", 1, 0, "ios", true), PM_OK, "");
    assert_reply(s_put(fx, "b", "coin", 1, 0, "ios", true), PM_OK, "");
    assert_reply(s_put(fx, "c", "coin", 1, 0, "ios", true), PM_ERR_VALIDATION,
                 "the catalog is full: max-packages is 2");
    assert_reply(s_put(fx, "b", "coin", 2, 0, "ios", false), PM_OK, "");
}

/* ---- purchases and redeem ----------------------------------------------------- */

static void test_open_a_purchase_of_a_sold_package_only(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a[17], b[17];
    s_new_purchase(fx, fx->alice, "coins100", a);
    s_new_purchase(fx, fx->alice, "coins100", b);
    assert_string_not_equal(a, b);
    assert_reply(s_open(fx, fx->alice, "nope"), PM_ERR_NOT_FOUND, "package nope not found");
    assert_reply(s_retire(fx, "vip30"), PM_OK, "");
    assert_reply(s_open(fx, fx->alice, "vip30"), PM_ERR_NOT_FOUND, "package vip30 not found");
    assert_int_equal(s_count(fx, DB_PURCHASES), 2);
}

static void test_redeem_validates_then_credits_once_and_queues_consume(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char serial[17], id[PM_UUID_LEN + 1];
    s_new_purchase(fx, fx->alice, "coins100", serial);
    assert_null(s_redeem(fx, fx->alice, "client-1", serial, "tok-1"));
    assert_null(s_outbox(fx, "client-1"));
    assert_int_equal(dispatch_parked_waiters(fx->dispatch), 1);

    int64_t attempt = 0;
    const msgpack_object *payload = s_take_one(fx, "bazaar_validate", NOW + 1, id, &attempt);
    assert_int_equal(attempt, 1);
    assert_string_equal(s_str(payload, "purchase_serial"), serial);
    assert_string_equal(s_str(payload, "sku"), "coins100");
    assert_string_equal(s_str(payload, "token"), "tok-1");

    assert_reply(s_result_at(fx, id, attempt, "ok", "ok", NOW + 2), PM_OK, "");
    const pm_envelope_t *answer = s_outbox(fx, "client-1");
    assert_reply(answer, PM_OK, "");
    assert_int_equal(s_int(pm_envelope_body(answer), "coins"), 100);
    const msgpack_object *p = s_field(answer, "purchase");
    assert_string_equal(s_str(p, "state"), "completed");
    assert_string_equal(s_str(p, "ref_id"), "tok-1");
    assert_int_equal(s_int(p, "coins"), 100);
    assert_int_equal(dispatch_parked_waiters(fx->dispatch), 0);

    /* The same result again (a worker retried): ignored, no second credit. */
    assert_reply(s_result_at(fx, id, attempt, "ok", "ok", NOW + 3), PM_OK, "");
    const pm_envelope_t *bal = s_balance(fx, "alice");
    assert_int_equal(s_int(pm_envelope_body(bal), "coins"), 100);
    const msgpack_object *ledger = s_field(bal, "ledger");
    assert_int_equal(ledger->via.array.size, 1);
    assert_string_equal(s_str(&ledger->via.array.ptr[0], "kind"), "coin_credit");
    assert_string_equal(s_str(&ledger->via.array.ptr[0], "purchase_serial"), serial);
    assert_int_equal(s_int(&ledger->via.array.ptr[0], "coins_delta"), 100);
    assert_int_equal(s_int(&ledger->via.array.ptr[0], "coins_after"), 100);

    /* The consume job is queued with the token. */
    payload = s_take_one(fx, "bazaar_consume", NOW + 4, id, &attempt);
    assert_string_equal(s_str(payload, "token"), "tok-1");
    assert_string_equal(s_str(payload, "sku"), "coins100");
    assert_reply(s_result_at(fx, id, attempt, "ok", "ok", NOW + 5), PM_OK, "");
    assert_int_equal(s_count(fx, DB_JOBS), 0);
}

static void test_a_time_package_extends_the_subscription(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char id[PM_UUID_LEN + 1];
    int64_t attempt;
    for (int i = 0; i < 2; i++) {
        char serial[17], token[32];
        snprintf(token, sizeof token, "time-%d", i);
        s_new_purchase(fx, fx->bob, "vip30", serial);
        assert_null(s_redeem(fx, fx->bob, "c", serial, token));
        s_take_one(fx, "bazaar_validate", NOW, id, &attempt);
        assert_reply(s_result_at(fx, id, attempt, "ok", "ok", NOW), PM_OK, "");
        assert_reply(s_outbox(fx, "c"), PM_OK, "");
    }
    const pm_envelope_t *bal = s_balance(fx, "bob");
    assert_int_equal(s_int(pm_envelope_body(bal), "coins"), 0);
    assert_int_equal(s_int(pm_envelope_body(bal), "subscription_until_ms"), NOW + 60 * DAY_MS);
    const msgpack_object *ledger = s_field(bal, "ledger");
    assert_int_equal(ledger->via.array.size, 2);
    assert_string_equal(s_str(&ledger->via.array.ptr[1], "kind"), "time_extend");
    assert_int_equal(s_int(&ledger->via.array.ptr[1], "seq"), 2);
    assert_int_equal(s_int(&ledger->via.array.ptr[1], "time_delta_ms"), 30 * DAY_MS);
}

/* Completes serial with token for auth; returns the coins answered. */
static int64_t s_complete(fixture_t *fx, const uint8_t *auth, const char *serial, const char *token)
{
    char id[PM_UUID_LEN + 1];
    int64_t attempt;
    assert_null(s_redeem(fx, auth, "done", serial, token));
    s_take_one(fx, "bazaar_validate", NOW, id, &attempt);
    assert_reply(s_result_at(fx, id, attempt, "ok", "ok", NOW), PM_OK, "");
    const pm_envelope_t *answer = s_outbox(fx, "done");
    assert_reply(answer, PM_OK, "");
    return s_int(pm_envelope_body(answer), "coins");
}

static void test_a_redeemed_token_is_rejected_for_any_other_purchase_or_user(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], a2[17], b1[17];
    s_new_purchase(fx, fx->alice, "coins100", a1);
    s_new_purchase(fx, fx->alice, "coins100", a2);
    s_new_purchase(fx, fx->bob, "coins100", b1);
    assert_int_equal(s_complete(fx, fx->alice, a1, "tok-x"), 100);
    assert_reply(s_redeem(fx, fx->alice, "c", a2, "tok-x"), PM_ERR_REJECTED,
                 "purchase token was already redeemed");
    assert_reply(s_redeem(fx, fx->bob, "c", b1, "tok-x"), PM_ERR_REJECTED,
                 "purchase token was already redeemed");
    assert_int_equal(s_count(fx, DB_JOBS), 1); /* the consume job only */
    assert_int_equal(s_int(pm_envelope_body(s_balance(fx, "bob")), "coins"), 0);
    assert_int_equal(s_int(pm_envelope_body(s_balance(fx, "alice")), "coins"), 100);
}

static void test_a_completed_purchase_answers_the_same_again(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], msg[64];
    s_new_purchase(fx, fx->alice, "coins100", a1);
    assert_int_equal(s_complete(fx, fx->alice, a1, "tok-y"), 100);
    const pm_envelope_t *again = s_redeem(fx, fx->alice, "c", a1, "tok-y");
    assert_reply(again, PM_OK, "");
    assert_int_equal(s_int(pm_envelope_body(again), "coins"), 100);
    assert_string_equal(s_str(s_field(again, "purchase"), "state"), "completed");
    snprintf(msg, sizeof msg, "purchase %s not found", a1);
    assert_reply(s_redeem(fx, fx->alice, "c", a1, "tok-other"), PM_ERR_NOT_FOUND, msg);
    assert_reply(s_redeem(fx, fx->bob, "c", a1, "tok-y"), PM_ERR_NOT_FOUND, msg);
    assert_reply(s_redeem(fx, fx->alice, "c", "1234", "tok-y"), PM_ERR_NOT_FOUND,
                 "purchase 1234 not found");
    assert_int_equal(s_int(pm_envelope_body(s_balance(fx, "alice")), "coins"), 100);
}

static void test_concurrent_redeems_of_one_token_validate_once(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], b1[17], id[PM_UUID_LEN + 1];
    int64_t attempt;
    s_new_purchase(fx, fx->alice, "coins100", a1);
    s_new_purchase(fx, fx->bob, "coins100", b1);
    assert_null(s_redeem(fx, fx->alice, "c1", a1, "tok-z"));
    /* The same token for another purchase while it is validated: 409. */
    assert_reply(s_redeem(fx, fx->bob, "c2", b1, "tok-z"), PM_ERR_CONFLICT,
                 "purchase token is being validated for another purchase");
    /* Another token for the validating purchase: 409 too. */
    char msg[128];
    snprintf(msg, sizeof msg, "purchase %s is being validated with another purchase token", a1);
    assert_reply(s_redeem(fx, fx->alice, "c3", a1, "tok-other"), PM_ERR_CONFLICT, msg);
    /* The app retries with the same token: a second waiter, no second job. */
    assert_null(s_redeem(fx, fx->alice, "c4", a1, "tok-z"));
    assert_int_equal(dispatch_parked_waiters(fx->dispatch), 2);
    assert_int_equal(s_count(fx, DB_JOBS), 1);
    s_take_one(fx, "bazaar_validate", NOW, id, &attempt);
    assert_reply(s_result_at(fx, id, attempt, "ok", "ok", NOW), PM_OK, "");
    const pm_envelope_t *r1 = s_outbox(fx, "c1");
    const pm_envelope_t *r4 = s_outbox(fx, "c4");
    assert_reply(r1, PM_OK, ""); /* both answered by the same commit */
    assert_reply(r4, PM_OK, "");
    assert_int_equal(s_int(pm_envelope_body(s_balance(fx, "alice")), "coins"), 100);
    assert_int_equal(s_int(pm_envelope_body(s_balance(fx, "bob")), "coins"), 0);
}

static void test_both_waiters_get_the_answer(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], id[PM_UUID_LEN + 1];
    int64_t attempt;
    s_new_purchase(fx, fx->alice, "coins100", a1);
    assert_null(s_redeem(fx, fx->alice, "c1", a1, "tok"));
    assert_null(s_redeem(fx, fx->alice, "c2", a1, "tok"));
    s_take_one(fx, "bazaar_validate", NOW, id, &attempt);
    assert_reply(s_result_at(fx, id, attempt, "ok", "ok", NOW), PM_OK, "");
    assert_int_equal(dispatch_outbox_count(fx->dispatch), 2);
    const pm_envelope_t *r1 = NULL, *r2 = NULL;
    for (size_t i = 0; i < 2; i++) {
        dispatch_src_t src;
        const void *peer, *frame;
        size_t peer_len, frame_len;
        dispatch_outbox_get(fx->dispatch, i, &src, &peer, &peer_len, &frame, &frame_len);
        assert_int_equal(src, DISPATCH_SRC_API);
        const pm_envelope_t *e = s_decode(fx, frame, frame_len);
        if (peer_len == 2 && memcmp(peer, "c1", 2) == 0)
            r1 = e;
        else if (peer_len == 2 && memcmp(peer, "c2", 2) == 0)
            r2 = e;
    }
    dispatch_outbox_clear(fx->dispatch);
    assert_reply(r1, PM_OK, "");
    assert_reply(r2, PM_OK, "");
    assert_int_equal(s_int(pm_envelope_body(r2), "coins"), 100);
}

static void test_rejected_and_unknown_release_the_token_and_reopen_the_purchase(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], b1[17], id[PM_UUID_LEN + 1];
    int64_t attempt;
    s_new_purchase(fx, fx->alice, "coins100", a1);
    assert_null(s_redeem(fx, fx->alice, "c1", a1, "tok-r"));
    s_take_one(fx, "bazaar_validate", NOW, id, &attempt);
    assert_reply(s_result_at(fx, id, attempt, "rejected", "refunded", NOW), PM_OK, "");
    assert_reply(s_outbox(fx, "c1"), PM_ERR_REJECTED,
                 "Bazaar says the purchase is not valid: refunded");
    assert_int_equal(s_count(fx, DB_BAZAAR_TOKENS), 0);
    assert_int_equal(s_count(fx, DB_JOBS), 0);

    /* Open again: the same purchase may try again, and unknown says 503. */
    assert_null(s_redeem(fx, fx->alice, "c2", a1, "tok-u"));
    s_take_one(fx, "bazaar_validate", NOW, id, &attempt);
    assert_reply(s_result_at(fx, id, attempt, "unknown", "timeout", NOW), PM_OK, "");
    assert_reply(s_outbox(fx, "c2"), PM_ERR_UNAVAILABLE, "Bazaar could not be reached; try again");
    assert_int_equal(s_count(fx, DB_BAZAAR_TOKENS), 0);

    /* The released token is free for another purchase of another user. */
    s_new_purchase(fx, fx->bob, "coins100", b1);
    assert_int_equal(s_complete(fx, fx->bob, b1, "tok-u"), 100);
    assert_int_equal(s_int(pm_envelope_body(s_balance(fx, "alice")), "coins"), 0);
}

static void test_a_stale_unknown_result_is_ignored(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], id[PM_UUID_LEN + 1], rid[PM_UUID_LEN + 1];
    int64_t attempt, gen;
    s_new_purchase(fx, fx->alice, "coins100", a1);
    assert_null(s_redeem_at(fx, fx->alice, "c1", a1, "tok", NOW, NOW + 10 * LEASE));
    s_take_one(fx, "bazaar_validate", NOW, id, &attempt);
    s_retry_one(fx, NOW + LEASE, rid, &gen);
    assert_true(s_applied(s_decide(fx, rid, gen, "retry", NOW + LEASE, NOW + LEASE)));
    s_take_one(fx, "bazaar_validate", NOW + LEASE, id, &attempt);
    assert_int_equal(attempt, 2);
    /* The first worker wakes up with "unknown": attempt 2 is running. */
    assert_reply(s_result_at(fx, id, 1, "unknown", "timeout", NOW + LEASE + 1), PM_OK, "");
    assert_null(s_outbox(fx, "c1"));
    assert_reply(s_result_at(fx, id, 2, "ok", "ok", NOW + LEASE + 2), PM_OK, "");
    assert_reply(s_outbox(fx, "c1"), PM_OK, "");
}

/* ---- the job queue ------------------------------------------------------------ */

static void test_an_expired_lease_goes_to_retry_worker_then_is_offered_again(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], id[PM_UUID_LEN + 1], id2[PM_UUID_LEN + 1], rid[PM_UUID_LEN + 1];
    int64_t attempt, gen;
    s_new_purchase(fx, fx->alice, "coins100", a1);
    assert_null(s_redeem(fx, fx->alice, "c1", a1, "tok"));
    s_take_one(fx, "bazaar_validate", NOW, id, &attempt);
    assert_int_equal(
        s_jobs(s_take_at(fx, "w2", "bazaar_validate", 0, NOW + LEASE - 1))->via.array.size, 0);
    assert_int_equal(s_retry_items(fx, "rw", NOW + LEASE - 1)->via.array.size, 0);
    /* The lease runs out: no provider sees the job until retry-worker says so. */
    assert_int_equal(s_jobs(s_take_at(fx, "w2", "bazaar_validate", 0, NOW + LEASE))->via.array.size,
                     0);
    const msgpack_object *it = s_retry_one(fx, NOW + LEASE, rid, &gen);
    assert_string_equal(rid, id);
    assert_string_equal(s_str(it, "outcome"), "lease_expired");
    assert_string_equal(s_str(it, "kind"), "bazaar_validate");
    assert_int_equal(s_int(it, "attempt"), 1);
    /* A second retry-worker does not get the item it holds. */
    assert_int_equal(s_retry_items(fx, "rw2", NOW + LEASE)->via.array.size, 0);
    assert_true(s_applied(s_decide(fx, rid, gen, "retry", NOW + LEASE + 500, NOW + LEASE)));
    /* Decided once: the same gen again, or an older one, is stale. */
    assert_false(s_applied(s_decide(fx, rid, gen, "park", 0, NOW + LEASE)));
    assert_int_equal(
        s_jobs(s_take_at(fx, "w2", "bazaar_validate", 0, NOW + LEASE + 499))->via.array.size, 0);
    s_take_one(fx, "bazaar_validate", NOW + LEASE + 500, id2, &attempt);
    assert_string_equal(id2, id);
    assert_int_equal(attempt, 2);
    /* Other kinds do not see it. */
    assert_int_equal(
        s_jobs(s_take_at(fx, "w2", "bazaar_consume", 0, NOW + 3 * LEASE))->via.array.size, 0);
}

static void test_a_decision_lease_that_runs_out_is_offered_to_another_retry_worker(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], id[PM_UUID_LEN + 1], rid[PM_UUID_LEN + 1], rid2[PM_UUID_LEN + 1];
    int64_t attempt, gen, gen2;
    s_new_purchase(fx, fx->alice, "coins100", a1);
    s_complete(fx, fx->alice, a1, "tok");
    s_take_one(fx, "bazaar_consume", NOW, id, &attempt);
    assert_reply(s_result_at(fx, id, attempt, "unknown", "http 500", NOW), PM_OK, "");
    s_retry_one(fx, NOW, rid, &gen);
    /* That retry-worker dies; after the lease the item is due again. */
    assert_int_equal(s_retry_items(fx, "rw2", NOW + LEASE - 1)->via.array.size, 0);
    s_retry_one(fx, NOW + LEASE, rid2, &gen2);
    assert_string_equal(rid2, rid);
    assert_true(gen2 > gen);
    /* The first one wakes up: its decision is stale and changes nothing. */
    assert_false(s_applied(s_decide(fx, rid, gen, "park", 0, NOW + LEASE)));
    assert_true(s_applied(s_decide(fx, rid2, gen2, "retry", NOW + LEASE, NOW + LEASE)));
    s_take_one(fx, "bazaar_consume", NOW + LEASE, id, &attempt);
    assert_int_equal(attempt, 2);
}

static void test_a_failed_consume_waits_for_retry_worker_and_is_parked_when_it_says(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], id[PM_UUID_LEN + 1], rid[PM_UUID_LEN + 1];
    int64_t attempt, gen;
    s_new_purchase(fx, fx->alice, "coins100", a1);
    s_complete(fx, fx->alice, a1, "tok");
    int64_t t = NOW;
    for (int i = 0; i < 3; i++) {
        s_take_one(fx, "bazaar_consume", t, id, &attempt);
        assert_int_equal(attempt, i + 1);
        assert_reply(s_result_at(fx, id, attempt, "unknown", "http 500", t), PM_OK, "");
        /* Not offered to providers again until retry-worker decides. */
        assert_int_equal(
            s_jobs(s_take_at(fx, "w1", "bazaar_consume", 0, t + 10 * LEASE))->via.array.size, 0);
        const msgpack_object *it = s_retry_one(fx, t, rid, &gen);
        assert_string_equal(s_str(it, "outcome"), "unknown");
        assert_string_equal(s_str(it, "reason"), "http 500");
        assert_true(s_applied(s_decide(fx, rid, gen, "retry", t + BASE, t)));
        assert_int_equal(
            s_jobs(s_take_at(fx, "w1", "bazaar_consume", 0, t + BASE - 1))->via.array.size, 0);
        t += BASE;
    }
    s_take_one(fx, "bazaar_consume", t, id, &attempt);
    assert_reply(s_result_at(fx, id, attempt, "rejected", "bad", t), PM_OK, "");
    s_retry_one(fx, t, rid, &gen);
    assert_true(s_applied(s_decide(fx, rid, gen, "park", 0, t)));
    /* Parked: kept for the operator, offered to no one. */
    assert_int_equal(s_jobs(s_take_at(fx, "w1", "bazaar_consume", 0, t + 3600000))->via.array.size,
                     0);
    assert_int_equal(s_retry_items(fx, "rw", t + 3600000)->via.array.size, 0);
    assert_int_equal(s_count(fx, DB_JOBS), 1);
    assert_int_equal(s_count(fx, DB_JOBS_DUE), 0);
    /* A store job is retried as the same call only. */
}

static void test_job_max_attempts_parks_a_job_whatever_retry_worker_says(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], id[PM_UUID_LEN + 1], rid[PM_UUID_LEN + 1];
    int64_t attempt, gen;
    s_new_purchase(fx, fx->alice, "coins100", a1);
    s_complete(fx, fx->alice, a1, "tok");
    int64_t t = NOW;
    for (int i = 0; i < 5; i++) {
        s_take_one(fx, "bazaar_consume", t, id, &attempt);
        assert_reply(s_result_at(fx, id, attempt, "unknown", "http 500", t), PM_OK, "");
        s_retry_one(fx, t, rid, &gen);
        assert_true(s_applied(s_decide(fx, rid, gen, "retry", t, t)));
    }
    /* Five calls made (job_max_attempts): the sixth is never offered. */
    assert_int_equal(s_jobs(s_take_at(fx, "w1", "bazaar_consume", 0, t))->via.array.size, 0);
    assert_int_equal(s_count(fx, DB_JOBS_DUE), 0);
    assert_int_equal(s_count(fx, DB_JOBS), 1);
}

static void test_a_parked_taker_gets_a_new_job_or_an_empty_list_in_time(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    assert_null(s_take_at(fx, "w1", "bazaar_validate", 5000, NOW));
    assert_int_equal(dispatch_parked_takers(fx->dispatch), 1);
    assert_int_equal(dispatch_next_wake_ms(fx->dispatch), NOW + 5000);
    char a1[17];
    s_new_purchase(fx, fx->alice, "coins100", a1);
    assert_null(s_redeem(fx, fx->alice, "c1", a1, "tok"));
    const pm_envelope_t *got = s_outbox(fx, "w1");
    dispatch_outbox_clear(fx->dispatch);
    const msgpack_object *jobs = s_jobs(got);
    assert_int_equal(jobs->via.array.size, 1);
    assert_int_equal(s_int(&jobs->via.array.ptr[0], "attempt"), 1);
    assert_int_equal(dispatch_parked_takers(fx->dispatch), 0);

    /* A retry-worker waiting while a lease runs out is woken then (the
     * redeem waiting for that job times out first). */
    call_t rt;
    r_init(&rt, PM_MSG_RETRY_TAKE, NULL, "rw");
    r_int(&rt, "max", 4);
    r_int(&rt, "wait_ms", 30000);
    assert_null(s_call_at(fx, &rt, NOW + 1));
    assert_int_equal(dispatch_next_wake_ms(fx->dispatch), NOW + 9900);
    s_tick(fx, NOW + 9900);
    assert_reply(s_outbox(fx, "c1"), PM_ERR_UNAVAILABLE,
                 "Bazaar did not answer in time; try again");
    assert_int_equal(dispatch_next_wake_ms(fx->dispatch), NOW + LEASE);
    s_tick(fx, NOW + LEASE);
    const msgpack_object *items = s_field(s_outbox(fx, "rw"), "items");
    dispatch_outbox_clear(fx->dispatch);
    assert_int_equal(items->via.array.size, 1);
    assert_string_equal(s_str(&items->via.array.ptr[0], "outcome"), "lease_expired");

    assert_null(s_take_at(fx, "w3", "bazaar_consume", 1000, NOW + LEASE));
    s_tick(fx, NOW + LEASE + 999);
    assert_null(s_outbox(fx, "w3"));
    s_tick(fx, NOW + LEASE + 1000);
    assert_int_equal(s_jobs(s_outbox(fx, "w3"))->via.array.size, 0);
    dispatch_outbox_clear(fx->dispatch);
}

/* ---- parked redeem requests ---------------------------------------------------- */

static void test_a_waiter_is_answered_unavailable_before_its_deadline(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17], id[PM_UUID_LEN + 1];
    int64_t attempt;
    s_new_purchase(fx, fx->alice, "coins100", a1);
    assert_null(s_redeem_at(fx, fx->alice, "c1", a1, "tok", NOW, NOW + 5000));
    assert_int_equal(dispatch_next_wake_ms(fx->dispatch), NOW + 4900);
    s_tick(fx, NOW + 4899);
    assert_null(s_outbox(fx, "c1"));
    s_tick(fx, NOW + 4900);
    assert_reply(s_outbox(fx, "c1"), PM_ERR_UNAVAILABLE,
                 "Bazaar did not answer in time; try again");
    dispatch_outbox_clear(fx->dispatch);
    assert_int_equal(dispatch_parked_waiters(fx->dispatch), 0);
    /* The validation goes on; a retry waits for it and gets the answer. */
    assert_null(s_redeem_at(fx, fx->alice, "c2", a1, "tok", NOW + 6000, NOW + 16000));
    s_take_one(fx, "bazaar_validate", NOW + 6000, id, &attempt);
    assert_reply(s_result_at(fx, id, attempt, "ok", "ok", NOW + 6001), PM_OK, "");
    assert_reply(s_outbox(fx, "c2"), PM_OK, "");
}

static void test_waiters_are_bounded(void **state)
{
    fixture_t *fx = *state; /* max_waiters 1 */
    s_catalog(fx);
    char a1[17], a2[17];
    s_new_purchase(fx, fx->alice, "coins100", a1);
    s_new_purchase(fx, fx->alice, "vip30", a2);
    assert_null(s_redeem(fx, fx->alice, "c1", a1, "tok-1"));
    assert_reply(s_redeem(fx, fx->alice, "c2", a2, "tok-2"), PM_ERR_UNAVAILABLE,
                 "too many purchases are being validated; try again");
    assert_int_equal(s_count(fx, DB_JOBS), 1);
    assert_int_equal(s_count(fx, DB_BAZAAR_TOKENS), 1);
}

static void test_a_failed_commit_parks_nothing_and_reserves_nothing(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    char a1[17];
    s_new_purchase(fx, fx->alice, "coins100", a1);
    db_fail_commit_after(fx->db, 0);
    const pm_envelope_t *r = s_redeem(fx, fx->alice, "c1", a1, "tok");
    assert_reply(r, PM_ERR_UNAVAILABLE, "storage commit failed");
    assert_int_equal(dispatch_parked_waiters(fx->dispatch), 0);
    assert_int_equal(dispatch_outbox_count(fx->dispatch), 0);
    assert_int_equal(s_count(fx, DB_JOBS), 0);
    assert_int_equal(s_count(fx, DB_BAZAAR_TOKENS), 0);
    /* The retry works. */
    assert_null(s_redeem(fx, fx->alice, "c1", a1, "tok"));
    assert_int_equal(dispatch_parked_waiters(fx->dispatch), 1);
}

static void test_worker_messages_only_on_the_worker_socket(void **state)
{
    fixture_t *fx = *state;
    call_t r;
    r_init(&r, PM_MSG_JOB_TAKE, fx->alice, "gw");
    r.src = DISPATCH_SRC_API;
    r_key(&r, "kinds");
    msgpack_pack_array(&r.pk, 1);
    pm_mp_pack_cstr(&r.pk, "bazaar_validate");
    r_int(&r, "max", 1);
    r_int(&r, "wait_ms", 0);
    assert_reply(s_call(fx, &r), PM_ERR_VALIDATION,
                 "message type 30 is not accepted on the api socket");
    r_init(&r, PM_MSG_STORE_PACKAGES, NULL, "w");
    r.src = DISPATCH_SRC_WORKER;
    assert_reply(s_call(fx, &r), PM_ERR_VALIDATION,
                 "message type 20 is not accepted on the worker socket");
    /* A result for a job that does not exist is acknowledged. */
    assert_reply(s_result_at(fx, "00000000-0000-4000-8000-000000000000", 1, "ok", "ok", NOW), PM_OK,
                 "");
    assert_reply(s_result_at(fx, "00000000-0000-4000-8000-000000000000", 1, "maybe", "", NOW),
                 PM_ERR_VALIDATION, "outcome must be ok, rejected or unknown");
}

/* ---- BazaarPay checkouts ------------------------------------------------------- */

/* A provider report with one string of data (key NULL: none). */
static const pm_envelope_t *s_report(fixture_t *fx, const char *id, int64_t attempt,
                                     const char *outcome, const char *k1, const char *v1,
                                     const char *k2, const char *v2, int64_t now_ms)
{
    call_t r;
    r_init(&r, PM_MSG_JOB_RESULT, NULL, "w1");
    r_str(&r, "id", id);
    r_int(&r, "attempt", attempt);
    r_str(&r, "outcome", outcome);
    r_str(&r, "reason", strcmp(outcome, "ok") == 0 ? "ok" : "http 503");
    r_key(&r, "data");
    msgpack_pack_map(&r.pk, (k1 ? 1 : 0) + (k2 ? 1 : 0));
    if (k1) {
        pm_mp_pack_cstr(&r.pk, k1);
        pm_mp_pack_cstr(&r.pk, v1);
    }
    if (k2) {
        pm_mp_pack_cstr(&r.pk, k2);
        pm_mp_pack_cstr(&r.pk, v2);
    }
    return s_call_at(fx, &r, now_ms);
}

static const pm_envelope_t *s_co_call(fixture_t *fx, uint32_t type, const uint8_t *auth,
                                      const char *peer, const char *token, int64_t now_ms)
{
    call_t r;
    r_init(&r, type, auth, peer);
    r_str(&r, "checkout_token", token);
    if (type == PM_MSG_BAZAARPAY_REFUND)
        r_str(&r, "reason", "asked");
    r.deadline_ms = now_ms + 10000;
    return s_call_at(fx, &r, now_ms);
}

/* Opens a checkout of coins100 for alice and has BazaarPay answer token. */
static void s_co_open(fixture_t *fx, const char *token)
{
    call_t r;
    r_init(&r, PM_MSG_BAZAARPAY_CHECKOUT, fx->alice, "app");
    r_str(&r, "sku", "coins100");
    r_str(&r, "redirect_url", "https://shop.example/back");
    r.deadline_ms = NOW + 10000;
    assert_null(s_call_at(fx, &r, NOW));
    char id[PM_UUID_LEN + 1];
    int64_t attempt;
    const msgpack_object *pl = s_take_one(fx, "bazaarpay_init", NOW, id, &attempt);
    assert_int_equal(s_int(pl, "amount"), 1000);
    assert_string_equal(s_str(pl, "service_name"), "بسته‌ی جدید"); /* the catalog name */
    assert_string_equal(s_str(pl, "redirect_url"), "https://shop.example/back");
    assert_reply(s_report(fx, id, attempt, "ok", "checkout_token", token, "payment_url",
                          "https://pay.example/p?token=x", NOW),
                 PM_OK, "");
    const msgpack_object *co = s_field(s_outbox(fx, "app"), "checkout");
    assert_string_equal(s_str(co, "state"), "in_progress");
    assert_string_equal(s_str(co, "token"), token);
}

/* Confirms token (parked), traces it with status, returns the answer. */
static const msgpack_object *s_co_confirm(fixture_t *fx, const char *token, const char *status,
                                          int64_t now_ms)
{
    assert_null(s_co_call(fx, PM_MSG_BAZAARPAY_CONFIRM, fx->alice, "app", token, now_ms));
    char id[PM_UUID_LEN + 1];
    int64_t attempt;
    s_take_one(fx, "bazaarpay_trace", now_ms, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "ok", "status", status, NULL, NULL, now_ms), PM_OK, "");
    const pm_envelope_t *answer = s_outbox(fx, "app");
    assert_reply(answer, PM_OK, "");
    return s_field(answer, "checkout");
}

static int64_t s_coins(fixture_t *fx)
{
    return s_int(pm_envelope_body(s_balance(fx, "alice")), "coins");
}

static void test_a_checkout_is_delivered_once_then_committed(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    s_co_open(fx, "1001");
    /* Unpaid: 202 material, nothing credited, re-traced by retry-worker. */
    assert_string_equal(s_str(s_co_confirm(fx, "1001", "unpaid", NOW + 1), "state"), "in_progress");
    assert_int_equal(s_coins(fx), 0);
    const msgpack_object *co = s_co_confirm(fx, "1001", "paid_not_committed", NOW + 2);
    assert_string_equal(s_str(co, "state"), "delivered");
    assert_int_equal(s_int(co, "coins_after"), 100);
    assert_int_equal(s_coins(fx), 100);
    /* The commit follows; confirming again answers the same and credits nothing. */
    char id[PM_UUID_LEN + 1];
    int64_t attempt;
    s_take_one(fx, "bazaarpay_commit", NOW + 3, id, &attempt);
    co = s_field(s_co_call(fx, PM_MSG_BAZAARPAY_CONFIRM, fx->alice, "app", "1001", NOW + 3),
                 "checkout");
    assert_string_equal(s_str(co, "state"), "delivered");
    assert_reply(s_report(fx, id, attempt, "ok", NULL, NULL, NULL, NULL, NOW + 4), PM_OK, "");
    co =
        s_field(s_co_call(fx, PM_MSG_BAZAARPAY_GET, fx->alice, "app", "1001", NOW + 5), "checkout");
    assert_string_equal(s_str(co, "state"), "committed");
    assert_int_equal(s_coins(fx), 100);
    assert_int_equal(s_count(fx, DB_JOBS), 0);
    /* Another user does not see it; a service does. */
    assert_reply(s_co_call(fx, PM_MSG_BAZAARPAY_GET, fx->bob, "app", "1001", NOW + 5),
                 PM_ERR_NOT_FOUND, "checkout 1001 not found");
    assert_reply(s_co_call(fx, PM_MSG_BAZAARPAY_GET, fx->service, "app", "1001", NOW + 5), PM_OK,
                 "");
}

static void test_two_confirms_at_once_deliver_once(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    s_co_open(fx, "1002");
    call_t a, b;
    r_init(&a, PM_MSG_BAZAARPAY_CONFIRM, fx->alice, "c1");
    r_str(&a, "checkout_token", "1002");
    r_init(&b, PM_MSG_BAZAARPAY_CONFIRM, fx->alice, "c2");
    r_str(&b, "checkout_token", "1002");
    call_t *reqs[] = {&a, &b};
    const pm_envelope_t *replies[2];
    s_batch_at(fx, reqs, 2, replies, NOW + 1);
    assert_null(replies[0]);
    assert_null(replies[1]);
    char id[PM_UUID_LEN + 1];
    int64_t attempt;
    s_take_one(fx, "bazaarpay_trace", NOW + 1, id, &attempt);
    /* A second trace running at once (say a background one) adds nothing. */
    assert_reply(
        s_report(fx, id, attempt, "ok", "status", "paid_not_committed", NULL, NULL, NOW + 2), PM_OK,
        "");
    assert_string_equal(s_str(s_field(s_outbox(fx, "c1"), "checkout"), "state"), "delivered");
    assert_reply(
        s_report(fx, id, attempt, "ok", "status", "paid_not_committed", NULL, NULL, NOW + 2), PM_OK,
        "");
    assert_int_equal(s_coins(fx), 100);
    for (int i = 0; i < 2; i++)
        msgpack_sbuffer_destroy(&reqs[i]->body), msgpack_sbuffer_destroy(&reqs[i]->frame);
}

/* The settle loop: a commit of unknown outcome is traced, never re-sent. */
static void test_an_unknown_commit_is_traced_before_anything_else(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    s_co_open(fx, "1003");
    s_co_confirm(fx, "1003", "paid_not_committed", NOW + 1);
    char id[PM_UUID_LEN + 1], rid[PM_UUID_LEN + 1];
    int64_t attempt, gen;
    s_take_one(fx, "bazaarpay_commit", NOW + 1, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "unknown", NULL, NULL, NULL, NULL, NOW + 2), PM_OK, "");
    const msgpack_object *it = s_retry_one(fx, NOW + 2, rid, &gen);
    assert_string_equal(s_str(it, "kind"), "bazaarpay_commit");
    const msgpack_object *ctx = pm_mp_get(it, "ctx");
    assert_string_equal(s_str(ctx, "phase"), "settle");
    assert_int_equal(s_int(ctx, "commits"), 1);
    assert_int_equal(s_int(ctx, "window_end_ms"), NOW + 1 + 600000);
    /* Sending the commit again now is refused whatever the policy says. */
    call_t r;
    r_init(&r, PM_MSG_RETRY_DECIDE, NULL, "rw");
    r_str(&r, "id", rid);
    r_int(&r, "gen", gen);
    r_str(&r, "action", "retry");
    r_str(&r, "kind", "bazaarpay_commit");
    assert_int_equal(s_err(s_call_at(fx, &r, NOW + 2)), PM_ERR_VALIDATION);
    r_init(&r, PM_MSG_RETRY_DECIDE, NULL, "rw");
    r_str(&r, "id", rid);
    r_int(&r, "gen", gen);
    r_str(&r, "action", "retry");
    r_str(&r, "kind", "bazaarpay_refund");
    assert_int_equal(s_err(s_call_at(fx, &r, NOW + 2)), PM_ERR_VALIDATION);
    r_init(&r, PM_MSG_RETRY_DECIDE, NULL, "rw");
    r_str(&r, "id", rid);
    r_int(&r, "gen", gen);
    r_str(&r, "action", "retry");
    r_str(&r, "kind", "bazaarpay_trace");
    assert_true(s_applied(s_call_at(fx, &r, NOW + 2)));
    /* The commit had gone through: the trace says so, and that ends it. */
    s_take_one(fx, "bazaarpay_trace", NOW + 2, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "ok", "status", "paid_committed", NULL, NULL, NOW + 3),
                 PM_OK, "");
    const msgpack_object *co =
        s_field(s_co_call(fx, PM_MSG_BAZAARPAY_GET, fx->alice, "app", "1003", NOW + 4), "checkout");
    assert_string_equal(s_str(co, "state"), "committed");
    assert_int_equal(s_int(co, "commits"), 1);
    assert_int_equal(s_count(fx, DB_JOBS), 0);
}

static void test_money_returned_by_bazaarpay_reverses_the_delivery(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    s_co_open(fx, "1004");
    s_co_confirm(fx, "1004", "paid_not_committed", NOW + 1);
    assert_int_equal(s_coins(fx), 100);
    char id[PM_UUID_LEN + 1], rid[PM_UUID_LEN + 1];
    int64_t attempt, gen;
    s_take_one(fx, "bazaarpay_commit", NOW + 1, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "rejected", NULL, NULL, NULL, NULL, NOW + 2), PM_OK, "");
    s_retry_one(fx, NOW + 2, rid, &gen);
    call_t r;
    r_init(&r, PM_MSG_RETRY_DECIDE, NULL, "rw");
    r_str(&r, "id", rid);
    r_int(&r, "gen", gen);
    r_str(&r, "action", "retry");
    r_str(&r, "kind", "bazaarpay_trace");
    assert_true(s_applied(s_call_at(fx, &r, NOW + 2)));
    s_take_one(fx, "bazaarpay_trace", NOW + 2, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "ok", "status", "paid_not_committed_refunded", NULL,
                          NULL, NOW + 700000),
                 PM_OK, "");
    const msgpack_object *co = s_field(
        s_co_call(fx, PM_MSG_BAZAARPAY_GET, fx->alice, "app", "1004", NOW + 700001), "checkout");
    assert_string_equal(s_str(co, "state"), "refunded");
    assert_true(pm_mp_get(co, "reversed")->via.boolean);
    assert_int_equal(s_coins(fx), 0);
    assert_int_equal(s_count(fx, DB_JOBS), 0);
    /* A confirm now answers refunded and credits nothing. */
    co = s_field(s_co_call(fx, PM_MSG_BAZAARPAY_CONFIRM, fx->alice, "app", "1004", NOW + 700002),
                 "checkout");
    assert_string_equal(s_str(co, "state"), "refunded");
    assert_int_equal(s_coins(fx), 0);
}

static void test_a_service_refunds_once_and_coins_spent_become_a_debt(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    s_co_open(fx, "1005");
    s_co_confirm(fx, "1005", "paid_not_committed", NOW + 1);
    char id[PM_UUID_LEN + 1];
    int64_t attempt;
    s_take_one(fx, "bazaarpay_commit", NOW + 1, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "ok", NULL, NULL, NULL, NULL, NOW + 2), PM_OK, "");
    assert_reply(s_co_call(fx, PM_MSG_BAZAARPAY_REFUND, fx->alice, "app", "1005", NOW + 3),
                 PM_ERR_ACCESS, "refunds take a service token");
    assert_null(s_co_call(fx, PM_MSG_BAZAARPAY_REFUND, fx->service, "ops", "1005", NOW + 3));
    s_take_one(fx, "bazaarpay_refund", NOW + 3, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "ok", NULL, NULL, NULL, NULL, NOW + 4), PM_OK, "");
    const msgpack_object *co = s_field(s_outbox(fx, "ops"), "checkout");
    assert_string_equal(s_str(co, "state"), "refunded");
    assert_int_equal(s_coins(fx), 0);
    /* Asked again: the same answer, nothing reversed twice, no call. */
    co = s_field(s_co_call(fx, PM_MSG_BAZAARPAY_REFUND, fx->service, "ops", "1005", NOW + 5),
                 "checkout");
    assert_string_equal(s_str(co, "state"), "refunded");
    assert_int_equal(s_coins(fx), 0);
    assert_int_equal(s_count(fx, DB_JOBS), 0);
}

static void test_an_unpaid_checkout_expires_only_while_open(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    s_co_open(fx, "1006");
    char rid[PM_UUID_LEN + 1];
    int64_t gen;
    const msgpack_object *it = s_retry_one(fx, NOW + 1, rid, &gen);
    assert_string_equal(s_str(it, "status"), "unpaid");
    assert_string_equal(s_str(pm_mp_get(it, "ctx"), "phase"), "open");
    assert_true(s_applied(s_decide(fx, rid, gen, "expire", 0, NOW + 900000)));
    const msgpack_object *co =
        s_field(s_co_call(fx, PM_MSG_BAZAARPAY_CONFIRM, fx->alice, "app", "1006", NOW + 900001),
                "checkout");
    assert_string_equal(s_str(co, "state"), "expired");
    assert_int_equal(s_count(fx, DB_JOBS), 0);
    /* A delivered one does not expire. */
    s_co_open(fx, "1007");
    s_co_confirm(fx, "1007", "paid_not_committed", NOW + 2);
    char id[PM_UUID_LEN + 1];
    int64_t attempt;
    s_take_one(fx, "bazaarpay_commit", NOW + 2, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "unknown", NULL, NULL, NULL, NULL, NOW + 3), PM_OK, "");
    s_retry_one(fx, NOW + 3, rid, &gen);
    assert_int_equal(s_err(s_decide(fx, rid, gen, "expire", 0, NOW + 3)), PM_ERR_VALIDATION);
}

static void test_a_refund_asked_while_the_commit_runs_follows_it(void **state)
{
    fixture_t *fx = *state;
    s_catalog(fx);
    s_co_open(fx, "1008");
    s_co_confirm(fx, "1008", "paid_not_committed", NOW + 1);
    char id[PM_UUID_LEN + 1];
    int64_t attempt;
    s_take_one(fx, "bazaarpay_commit", NOW + 1, id, &attempt);
    /* The commit is with a provider when the refund is asked. */
    assert_null(s_co_call(fx, PM_MSG_BAZAARPAY_REFUND, fx->service, "ops", "1008", NOW + 2));
    assert_reply(s_report(fx, id, attempt, "ok", NULL, NULL, NULL, NULL, NOW + 3), PM_OK, "");
    assert_null(s_outbox(fx, "ops")); /* still waiting for the refund */
    s_take_one(fx, "bazaarpay_refund", NOW + 3, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "ok", NULL, NULL, NULL, NULL, NOW + 4), PM_OK, "");
    const msgpack_object *co = s_field(s_outbox(fx, "ops"), "checkout");
    assert_string_equal(s_str(co, "state"), "refunded");
    assert_int_equal(s_int(co, "commits"), 1);
    assert_int_equal(s_int(co, "refunds"), 1);
    assert_int_equal(s_coins(fx), 0);
    assert_int_equal(s_count(fx, DB_JOBS), 0);
}

/* ---- registration numbers (seed 004) ------------------------------------------- */

static const pm_envelope_t *s_regno_type(fixture_t *fx, int64_t id, const char *prefix,
                                         int64_t length, const char *alphabet, bool create)
{
    call_t r;
    r_init(&r, PM_MSG_ADMIN_REGNO_TYPE_PUT, NULL, NULL);
    r_int(&r, "id", id);
    r_str(&r, "name", "sale_order_invoice_code");
    r_str(&r, "prefix", prefix);
    r_int(&r, "length", length);
    r_str(&r, "alphabet", alphabet);
    r_key(&r, "create");
    if (create)
        msgpack_pack_true(&r.pk);
    else
        msgpack_pack_false(&r.pk);
    return s_call(fx, &r);
}

static const pm_envelope_t *s_regno(fixture_t *fx, int64_t id, bool random)
{
    call_t r;
    r_init(&r, PM_MSG_REGNO_GEN, fx->alice, "gw");
    r_int(&r, "type_id", id);
    r_key(&r, "random");
    if (random)
        msgpack_pack_true(&r.pk);
    else
        msgpack_pack_false(&r.pk);
    return s_call(fx, &r);
}

static void test_registration_numbers_follow_the_type_and_never_repeat(void **state)
{
    fixture_t *fx = *state;
    assert_reply(s_regno_type(fx, 9, "ANS", 8, "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", true), PM_OK,
                 "");
    assert_string_equal(s_str(pm_envelope_body(s_regno(fx, 9, false)), "reg_no"), "ANS00000000");
    assert_string_equal(s_str(pm_envelope_body(s_regno(fx, 9, false)), "reg_no"), "ANS00000001");
    const char *r = s_str(pm_envelope_body(s_regno(fx, 9, true)), "reg_no");
    assert_int_equal(strlen(r), 11);
    assert_memory_equal(r, "ANS", 3);
    assert_int_equal(strspn(r + 3, "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"), 8);
    assert_reply(s_regno(fx, 8, true), PM_ERR_NOT_FOUND, "no registration number type 8");
    /* A type's format is fixed once it gave numbers; its name is not. */
    assert_reply(s_regno_type(fx, 9, "ANS", 9, "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", false),
                 PM_ERR_VALIDATION, "type 9 gave numbers already: only its name may change");
    assert_reply(s_regno_type(fx, 9, "A B", 8, "01", true), PM_ERR_VALIDATION,
                 "prefix must be letters, digits, '-' or '_'");
    assert_reply(s_regno_type(fx, 10, "", 4, "0120", true), PM_ERR_VALIDATION,
                 "alphabet characters must be distinct");

    /* Two binary digits make four numbers: random and sequential draws share
     * them, skip the taken ones, and then the type is spent. */
    assert_reply(s_regno_type(fx, 11, "T", 2, "01", true), PM_OK, "");
    char seen[4][8];
    int n = 0;
    bool modes[] = {true, false, true, false, false, true};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        const pm_envelope_t *rep = s_regno(fx, 11, modes[i]);
        if (s_err(rep) != PM_OK) {
            assert_int_equal(s_err(rep), PM_ERR_CONFLICT);
            continue;
        }
        const char *no = s_str(pm_envelope_body(rep), "reg_no");
        for (int j = 0; j < n; j++)
            assert_string_not_equal(seen[j], no);
        assert_true(n < 4);
        snprintf(seen[n++], sizeof seen[0], "%s", no);
    }
    /* Sequential asks always find the free ones; random ones might miss. */
    while (n < 4) {
        const pm_envelope_t *rep = s_regno(fx, 11, false);
        assert_reply(rep, PM_OK, "");
        snprintf(seen[n++], sizeof seen[0], "%s", s_str(pm_envelope_body(rep), "reg_no"));
    }
    assert_int_equal(s_err(s_regno(fx, 11, false)), PM_ERR_CONFLICT);
    assert_int_equal(s_err(s_regno(fx, 11, true)), PM_ERR_CONFLICT);
    assert_int_equal(s_count(fx, DB_REGNOS), 3 + 4);
}

/* ---- bank orders (seed 004) ------------------------------------------------------ */

/* INVOICE_PUT of reg_no: two lines (2 x 5.00 + 1 x 7.50 = 17.50 TMT). */
static const pm_envelope_t *s_invoice(fixture_t *fx, const uint8_t *auth, const char *reg_no,
                                      int64_t total)
{
    call_t r;
    r_init(&r, PM_MSG_INVOICE_PUT, auth, "app");
    r_str(&r, "reg_no", reg_no);
    r_str(&r, "payment_type", "halkbank");
    r_str(&r, "currency", "TMT");
    r_int(&r, "total_minor", total);
    r_key(&r, "lines");
    msgpack_pack_array(&r.pk, 2);
    msgpack_pack_map(&r.pk, 3);
    pm_mp_pack_cstr(&r.pk, "name");
    pm_mp_pack_cstr(&r.pk, "tea");
    pm_mp_pack_cstr(&r.pk, "count");
    msgpack_pack_int(&r.pk, 2);
    pm_mp_pack_cstr(&r.pk, "price_minor");
    msgpack_pack_int(&r.pk, 500);
    msgpack_pack_map(&r.pk, 3);
    pm_mp_pack_cstr(&r.pk, "name");
    pm_mp_pack_cstr(&r.pk, "cake");
    pm_mp_pack_cstr(&r.pk, "count");
    msgpack_pack_int(&r.pk, 1);
    pm_mp_pack_cstr(&r.pk, "price_minor");
    msgpack_pack_int(&r.pk, 750);
    return s_call(fx, &r);
}

static const pm_envelope_t *s_order_call(fixture_t *fx, uint32_t type, const uint8_t *auth,
                                         const char *reg_no, const char *order_id, int64_t total,
                                         int64_t now_ms)
{
    call_t r;
    r_init(&r, type, auth, "app");
    r_str(&r, "reg_no", reg_no);
    r_str(&r, "payment_type", "halkbank");
    if (type == PM_MSG_ORDER_REGISTER)
        r_int(&r, "total_minor", total);
    else
        r_str(&r, "order_id", order_id);
    r.deadline_ms = now_ms + 10000;
    return s_call_at(fx, &r, now_ms);
}

static void test_a_bank_order_is_registered_once_and_paid_once(void **state)
{
    fixture_t *fx = *state;
    assert_reply(s_regno_type(fx, 9, "ANS", 8, "0123456789", true), PM_OK, "");
    char reg[32];
    snprintf(reg, sizeof reg, "%s", s_str(pm_envelope_body(s_regno(fx, 9, false)), "reg_no"));
    /* The total must be the sum of the lines; the number must be the caller's. */
    assert_int_equal(s_err(s_invoice(fx, fx->alice, reg, 1700)), PM_ERR_VALIDATION);
    assert_int_equal(s_err(s_invoice(fx, fx->bob, reg, 1750)), PM_ERR_NOT_FOUND);
    const msgpack_object *inv = s_field(s_invoice(fx, fx->alice, reg, 1750), "invoice");
    assert_int_equal(s_int(inv, "type_id"), 13);
    /* The same invoice again is the same answer. */
    assert_reply(s_invoice(fx, fx->alice, reg, 1750), PM_OK, "");
    /* Register: a price other than the invoice's is refused. */
    assert_int_equal(
        s_err(s_order_call(fx, PM_MSG_ORDER_REGISTER, fx->alice, reg, NULL, 1000, NOW)),
        PM_ERR_VALIDATION);
    assert_null(s_order_call(fx, PM_MSG_ORDER_REGISTER, fx->alice, reg, NULL, 1750, NOW));
    char id[PM_UUID_LEN + 1];
    int64_t attempt;
    const msgpack_object *pl = s_take_one(fx, "bank_register", NOW, id, &attempt);
    assert_int_equal(s_int(pl, "amount_minor"), 1750);
    char number[48];
    snprintf(number, sizeof number, "%s-1", reg);
    assert_string_equal(s_str(pl, "order_number"), number);
    assert_reply(s_report(fx, id, attempt, "ok", "order_id", "ord-1", "checkout_url",
                          "https://bank.example/pay?mdOrder=ord-1", NOW + 1),
                 PM_OK, "");
    inv = s_field(s_outbox(fx, "app"), "invoice");
    assert_string_equal(s_str(inv, "order_id"), "ord-1");
    /* Registering again: the same order, no second job. */
    inv = s_field(s_order_call(fx, PM_MSG_ORDER_REGISTER, fx->alice, reg, NULL, 1750, NOW + 2),
                  "invoice");
    assert_string_equal(s_str(inv, "order_id"), "ord-1");
    assert_int_equal(s_jobs(s_take_at(fx, "w1", "bank_register", 0, NOW + 2))->via.array.size, 0);
    /* Validate: not paid yet, then paid. */
    assert_null(s_order_call(fx, PM_MSG_ORDER_VALIDATE, fx->alice, reg, "ord-1", 0, NOW + 3));
    s_take_one(fx, "bank_status", NOW + 3, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "ok", "state", "registered", NULL, NULL, NOW + 4), PM_OK,
                 "");
    assert_string_equal(s_str(s_field(s_outbox(fx, "app"), "invoice"), "state"),
                        "awaiting_payment");
    assert_null(s_order_call(fx, PM_MSG_ORDER_VALIDATE, fx->alice, reg, "ord-1", 0, NOW + 5));
    s_take_one(fx, "bank_status", NOW + 5, id, &attempt);
    assert_reply(s_report(fx, id, attempt, "ok", "state", "paid", NULL, NULL, NOW + 6), PM_OK, "");
    inv = s_field(s_outbox(fx, "app"), "invoice");
    assert_int_equal(s_int(inv, "type_id"), 14);
    /* Again: paid, at once, no call; another user sees nothing. */
    inv = s_field(s_order_call(fx, PM_MSG_ORDER_VALIDATE, fx->alice, reg, "ord-1", 0, NOW + 7),
                  "invoice");
    assert_string_equal(s_str(inv, "state"), "paid");
    assert_int_equal(s_count(fx, DB_JOBS), 0);
    assert_int_equal(
        s_err(s_order_call(fx, PM_MSG_ORDER_VALIDATE, fx->bob, reg, "ord-1", 0, NOW + 7)),
        PM_ERR_NOT_FOUND);
    assert_int_equal(
        s_err(s_order_call(fx, PM_MSG_ORDER_VALIDATE, fx->alice, reg, "ord-2", 0, NOW + 7)),
        PM_ERR_NOT_FOUND);
}

int main(void)
{
    pm_log_init("test_core_store_flow", getenv("PM_TEST_LOG") ? PM_LOG_DEBUG : -1);
    pm_ids_init();
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
#define TS(name) cmocka_unit_test_setup_teardown(name, s_setup_small, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_catalog_lists_in_order_by_platform_and_pages),
        T(test_catalog_refuses_bad_packages_and_duplicates),
        TS(test_catalog_holds_at_most_max_packages),
        T(test_open_a_purchase_of_a_sold_package_only),
        T(test_redeem_validates_then_credits_once_and_queues_consume),
        T(test_a_time_package_extends_the_subscription),
        T(test_a_redeemed_token_is_rejected_for_any_other_purchase_or_user),
        T(test_a_completed_purchase_answers_the_same_again),
        T(test_concurrent_redeems_of_one_token_validate_once),
        T(test_both_waiters_get_the_answer),
        T(test_rejected_and_unknown_release_the_token_and_reopen_the_purchase),
        T(test_a_stale_unknown_result_is_ignored),
        T(test_a_checkout_is_delivered_once_then_committed),
        T(test_two_confirms_at_once_deliver_once),
        T(test_an_unknown_commit_is_traced_before_anything_else),
        T(test_money_returned_by_bazaarpay_reverses_the_delivery),
        T(test_a_service_refunds_once_and_coins_spent_become_a_debt),
        T(test_an_unpaid_checkout_expires_only_while_open),
        T(test_a_refund_asked_while_the_commit_runs_follows_it),
        T(test_registration_numbers_follow_the_type_and_never_repeat),
        T(test_a_bank_order_is_registered_once_and_paid_once),
        T(test_an_expired_lease_goes_to_retry_worker_then_is_offered_again),
        T(test_a_decision_lease_that_runs_out_is_offered_to_another_retry_worker),
        T(test_job_max_attempts_parks_a_job_whatever_retry_worker_says),
        T(test_a_failed_consume_waits_for_retry_worker_and_is_parked_when_it_says),
        T(test_a_parked_taker_gets_a_new_job_or_an_empty_list_in_time),
        T(test_a_waiter_is_answered_unavailable_before_its_deadline),
        TS(test_waiters_are_bounded),
        T(test_a_failed_commit_parks_nothing_and_reserves_nothing),
        T(test_worker_messages_only_on_the_worker_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
