/*  Unit tests of payment-core's dispatch layer, driven with real envelopes
 *  and a real LMDB store but without sockets: the core payment API end to
 *  end (create, get, cancel, edit, accept), payment methods (a create names
 *  one of its recipient's, in a currency it takes), auth and permissions,
 *  idempotency, validation, socket rules, deadlines, and group commit (one
 *  transaction per batch, a failing request leaving no trace, a failed
 *  commit acknowledging nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../payment-core/auth.h"
#include "../../payment-core/dispatch.h"
#include "../../payment-core/idem.h"
#include "../../payment-core/payment.h"
#include "../../payment-core/db.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_ids.h"
#include "pm_log.h"

#define MAX_AMOUNT 1000000000000000LL
#define MAX_MSG 65536
#define NOW 1790000000000LL
#define MAX_KEEP 256

/* ---- fixture ------------------------------------------------------------- */

typedef struct {
    char dir[64];
    db_t *db;
    dispatch_t *dispatch;
    uint8_t alice[PM_AUTH_LEN], bob[PM_AUTH_LEN], carol[PM_AUTH_LEN], svc[PM_AUTH_LEN];
    uint64_t corr;
    pm_envelope_t *keep[MAX_KEEP]; /* decoded replies, freed at teardown */
    size_t kept;
} fixture_t;

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void s_issue(fixture_t *fx, MDB_txn *txn, const char *principal, auth_role_t role,
                    uint8_t hash[PM_AUTH_LEN])
{
    char token[AUTH_TOKEN_CAP];
    assert_int_equal(
        auth_token_create(fx->db, txn, principal, role, NOW - 1000, token, sizeof token), 0);
    pm_token_hash(token, strlen(token), hash);
}

#define S_ALL_CURRENCIES "BTC,EUR,GBP,IRR,IRT,RUB,TMT,TRY,USD"
static void s_method_put_ok(fixture_t *fx, const char *principal, const char *id,
                            const char *currencies);

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    strcpy(fx->dir, "/tmp/pm-test-dispatch-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->db = db_open(fx->dir, 16);
    assert_non_null(fx->db);
    dispatch_limits_t limits = {.max_amount_minor = MAX_AMOUNT, .max_msg_bytes = MAX_MSG};
    fx->dispatch = dispatch_new(fx->db, &limits);
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    s_issue(fx, txn, "alice", AUTH_ROLE_USER, fx->alice);
    s_issue(fx, txn, "bob", AUTH_ROLE_USER, fx->bob);
    s_issue(fx, txn, "carol", AUTH_ROLE_USER, fx->carol);
    s_issue(fx, txn, "billing", AUTH_ROLE_SERVICE, fx->svc);
    assert_int_equal(db_commit(fx->db, txn), 0);
    /* The recipients the tests pay take card-1 and card-2 in every currency
     * (issue 11: a create names a payment method of its recipient). */
    static const char *const recipients[] = {"bob", "b\xc3\xa9\xe2\x82\xac"};
    for (size_t i = 0; i < sizeof recipients / sizeof recipients[0]; i++) {
        s_method_put_ok(fx, recipients[i], "card-1", S_ALL_CURRENCIES);
        s_method_put_ok(fx, recipients[i], "card-2", S_ALL_CURRENCIES);
    }
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    for (size_t i = 0; i < fx->kept; i++)
        pm_envelope_destroy(&fx->keep[i]);
    dispatch_destroy(&fx->dispatch);
    dispatch_destroy(&fx->dispatch); /* safe twice */
    db_destroy(&fx->db);
    nftw(fx->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* ---- building requests ------------------------------------------------------ */

/* A request under construction: its header fields and its body map. */
typedef struct {
    uint32_t type;
    const uint8_t *auth; /* token hash or NULL */
    int64_t deadline_ms;
    dispatch_src_t src;
    msgpack_sbuffer body;
    msgpack_packer pk;
    uint32_t fields;       /* pairs packed so far */
    msgpack_sbuffer frame; /* filled by s_seal */
    uint64_t corr;
} call_t;

static void r_init(call_t *r, uint32_t type, const uint8_t *auth)
{
    memset(r, 0, sizeof *r);
    r->type = type;
    r->auth = auth;
    r->src = type >= PM_MSG_ADMIN_TOKEN_CREATE ? DISPATCH_SRC_ADMIN : DISPATCH_SRC_API;
    msgpack_sbuffer_init(&r->body);
    msgpack_packer_init(&r->pk, &r->body, msgpack_sbuffer_write);
    msgpack_sbuffer_init(&r->frame);
}

static void r_str(call_t *r, const char *key, const char *value)
{
    pm_mp_pack_cstr(&r->pk, key);
    pm_mp_pack_cstr(&r->pk, value); /* NULL: nil */
    r->fields++;
}

static void r_int(call_t *r, const char *key, int64_t value)
{
    pm_mp_pack_cstr(&r->pk, key);
    msgpack_pack_int64(&r->pk, value);
    r->fields++;
}

static void r_fini(call_t *r)
{
    msgpack_sbuffer_destroy(&r->body);
    msgpack_sbuffer_destroy(&r->frame);
}

/* header + map header + the packed pairs. */
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

/* The raw body bytes as sent (for fingerprints). */
static void s_body_bytes(const call_t *r, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, r->fields);
    msgpack_sbuffer_write(out, r->body.data, r->body.size);
}

/* ---- running batches -------------------------------------------------------- */

/* Decodes a reply frame and checks it answers r. */
static const pm_envelope_t *s_decode_reply(fixture_t *fx, const dispatch_item_t *item,
                                           const call_t *r)
{
    if (!item->has_reply)
        return NULL;
    pm_header_t partial;
    bool header_ok;
    char why[128];
    pm_envelope_t *env = pm_envelope_decode(item->reply.data, item->reply.size, 1 << 20, &partial,
                                            &header_ok, why, sizeof why);
    if (!env)
        fail_msg("reply does not decode: %s", why);
    const pm_header_t *h = pm_envelope_header(env);
    assert_int_equal(h->type, PM_MSG_REPLY);
    assert_int_equal(h->corr_id, r->corr);
    char trace[32];
    snprintf(trace, sizeof trace, "trace-%llu", (unsigned long long)r->corr);
    assert_string_equal(h->trace_id, trace);
    assert_true(fx->kept < MAX_KEEP);
    fx->keep[fx->kept++] = env;
    return env;
}

/* Runs reqs[0..n) as one batch; replies[i] answers reqs[i] (NULL: none). */
static int s_batch(fixture_t *fx, call_t **reqs, size_t n, const pm_envelope_t **replies)
{
    dispatch_item_t items[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        s_seal(fx, reqs[i]);
        dispatch_item_init(&items[i]);
        items[i].src = reqs[i]->src;
        items[i].frame = reqs[i]->frame.data;
        items[i].frame_size = reqs[i]->frame.size;
    }
    int rc = dispatch_batch(fx->dispatch, items, n, NOW);
    for (size_t i = 0; i < n; i++) {
        replies[i] = s_decode_reply(fx, &items[i], reqs[i]);
        dispatch_item_fini(&items[i]);
    }
    return rc;
}

/* Runs reqs[0..n) as payment-core's loop does: dispatch_reads, then
 * dispatch_batch on what is left; early[i] tells whether reqs[i] was
 * answered by dispatch_reads. Returns the number left for the batch. */
static size_t s_reads_then_batch(fixture_t *fx, call_t **reqs, size_t n,
                                 const pm_envelope_t **replies, bool *early, int *batch_rc)
{
    dispatch_item_t items[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        s_seal(fx, reqs[i]);
        dispatch_item_init(&items[i]);
        items[i].src = reqs[i]->src;
        items[i].frame = reqs[i]->frame.data;
        items[i].frame_size = reqs[i]->frame.size;
    }
    size_t left = dispatch_reads(fx->dispatch, items, n, NOW);
    for (size_t i = 0; i < n; i++)
        early[i] = items[i].early;
    *batch_rc = dispatch_batch(fx->dispatch, items, n, NOW);
    for (size_t i = 0; i < n; i++) {
        replies[i] = s_decode_reply(fx, &items[i], reqs[i]);
        dispatch_item_fini(&items[i]);
    }
    return left;
}

/* Runs one request alone and frees it. */
static const pm_envelope_t *s_call(fixture_t *fx, call_t *r)
{
    const pm_envelope_t *reply;
    s_batch(fx, &r, 1, &reply);
    r_fini(r);
    return reply;
}

static int64_t s_err(const pm_envelope_t *reply)
{
    assert_non_null(reply);
    int64_t err = -1;
    assert_int_equal(pm_mp_get_int(pm_envelope_body(reply), "err", &err), 0);
    return err;
}

/* The error message, or "" on success. */
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

/* A string field of the reply's payment, in a static buffer. */
static const char *s_pay(const pm_envelope_t *reply, const char *key)
{
    static char buf[4][256];
    static int next;
    char *out = buf[next++ % 4];
    assert_int_equal(s_err(reply), PM_OK);
    const msgpack_object *p = pm_mp_get(pm_envelope_body(reply), "payment");
    assert_non_null(p);
    const msgpack_object *v = pm_mp_get(p, key);
    assert_non_null(v);
    if (v->type == MSGPACK_OBJECT_NIL)
        return NULL;
    assert_int_equal(pm_mp_copy_str(p, key, out, 256), 0);
    return out;
}

static int64_t s_pay_int(const pm_envelope_t *reply, const char *key)
{
    const msgpack_object *p = pm_mp_get(pm_envelope_body(reply), "payment");
    int64_t v = 0;
    assert_int_equal(pm_mp_get_int(p, key, &v), 0);
    return v;
}

static bool s_same_body(const pm_envelope_t *a, const pm_envelope_t *b)
{
    size_t na, nb;
    const void *pa = pm_envelope_body_bytes(a, &na), *pb = pm_envelope_body_bytes(b, &nb);
    return na == nb && memcmp(pa, pb, na) == 0;
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

/* ---- the standard requests ---------------------------------------------------- */

/* alice -> bob, card-1, currency/amount as given. */
static void r_create(call_t *r, const uint8_t *auth, const char *idem, const char *sender,
                     const char *currency, int64_t amount)
{
    r_init(r, PM_MSG_PAYMENT_CREATE, auth);
    r_str(r, "idem", idem);
    r_str(r, "sender_id", sender);
    r_str(r, "recipient_id", "bob");
    r_str(r, "recipient_method", "card-1");
    r_str(r, "currency", currency);
    r_int(r, "amount_minor", amount);
}

static const pm_envelope_t *s_create(fixture_t *fx, const uint8_t *auth, const char *idem)
{
    call_t r;
    r_create(&r, auth, idem, "alice", "USD", 1250);
    return s_call(fx, &r);
}

/* A payment alice created for bob; its id is copied into id. */
static void s_new_payment(fixture_t *fx, char id[PM_UUID_LEN + 1])
{
    char idem[32];
    snprintf(idem, sizeof idem, "setup-%llu", (unsigned long long)fx->corr);
    const pm_envelope_t *reply = s_create(fx, fx->alice, idem);
    assert_int_equal(s_err(reply), PM_OK);
    strcpy(id, s_pay(reply, "id"));
}

static const pm_envelope_t *s_get(fixture_t *fx, const uint8_t *auth, const char *id)
{
    call_t r;
    r_init(&r, PM_MSG_PAYMENT_GET, auth);
    r_str(&r, "id", id);
    return s_call(fx, &r);
}

static const pm_envelope_t *s_cancel(fixture_t *fx, const uint8_t *auth, const char *idem,
                                     const char *id, const char *reason)
{
    call_t r;
    r_init(&r, PM_MSG_PAYMENT_CANCEL, auth);
    r_str(&r, "idem", idem);
    r_str(&r, "id", id);
    if (reason)
        r_str(&r, "reason", reason);
    return s_call(fx, &r);
}

static const pm_envelope_t *s_accept(fixture_t *fx, const uint8_t *auth, const char *idem,
                                     const char *id, const char *info)
{
    call_t r;
    r_init(&r, PM_MSG_PAYMENT_ACCEPT, auth);
    r_str(&r, "idem", idem);
    r_str(&r, "id", id);
    if (info)
        r_str(&r, "accept_info", info);
    return s_call(fx, &r);
}

static const pm_envelope_t *s_edit(fixture_t *fx, const uint8_t *auth, const char *idem,
                                   const char *id, const char *currency, int64_t amount,
                                   const char *method)
{
    call_t r;
    r_init(&r, PM_MSG_PAYMENT_EDIT, auth);
    r_str(&r, "idem", idem);
    r_str(&r, "id", id);
    r_str(&r, "currency", currency);
    r_int(&r, "amount_minor", amount);
    if (method)
        r_str(&r, "recipient_method", method);
    return s_call(fx, &r);
}

/* ADMIN_METHOD_PUT of principal's method id; a NULL field is left out. */
static const pm_envelope_t *s_method_put(fixture_t *fx, const char *principal, const char *id,
                                         const char *bank, const char *currencies)
{
    call_t r;
    r_init(&r, PM_MSG_ADMIN_METHOD_PUT, NULL);
    if (principal)
        r_str(&r, "principal", principal);
    if (id)
        r_str(&r, "id", id);
    if (bank)
        r_str(&r, "bank", bank);
    if (currencies)
        r_str(&r, "currencies", currencies);
    return s_call(fx, &r);
}

/* A method settled outside paymesh (bank none), which must be stored. */
static void s_method_put_ok(fixture_t *fx, const char *principal, const char *id,
                            const char *currencies)
{
    assert_reply(s_method_put(fx, principal, id, "none", currencies), PM_OK, "");
}

/* ADMIN_METHOD_LIST (of one principal unless NULL); the reply's array. */
static const msgpack_object_array *s_method_list(fixture_t *fx, const char *principal)
{
    call_t r;
    r_init(&r, PM_MSG_ADMIN_METHOD_LIST, NULL);
    if (principal)
        r_str(&r, "principal", principal);
    const pm_envelope_t *reply = s_call(fx, &r);
    assert_reply(reply, PM_OK, "");
    const msgpack_object *list = pm_mp_get(pm_envelope_body(reply), "methods");
    assert_non_null(list);
    assert_int_equal(list->type, MSGPACK_OBJECT_ARRAY);
    return &list->via.array;
}

/* A string field of a METHOD map, in a static buffer. */
static const char *s_method_str(const msgpack_object *m, const char *key)
{
    static char buf[4][256];
    static int next;
    char *out = buf[next++ % 4];
    assert_non_null(m);
    assert_int_equal(pm_mp_copy_str(m, key, out, 256), 0);
    return out;
}

/* alice pays 1.00 to recipient by method, in currency. */
static const pm_envelope_t *s_create_to(fixture_t *fx, const char *idem, const char *recipient,
                                        const char *method, const char *currency)
{
    call_t r;
    r_init(&r, PM_MSG_PAYMENT_CREATE, fx->alice);
    r_str(&r, "idem", idem);
    r_str(&r, "sender_id", "alice");
    r_str(&r, "recipient_id", recipient);
    r_str(&r, "recipient_method", method);
    r_str(&r, "currency", currency);
    r_int(&r, "amount_minor", 100);
    return s_call(fx, &r);
}

/* ---- the payment API ------------------------------------------------------ */

static void test_create_returns_the_payment_and_both_parties_can_get_it(void **state)
{
    fixture_t *fx = *state;
    const pm_envelope_t *created = s_create(fx, fx->alice, "k1");
    assert_reply(created, PM_OK, "");
    char id[PM_UUID_LEN + 1];
    strcpy(id, s_pay(created, "id"));
    assert_true(pm_uuid_valid(id, strlen(id)));
    assert_string_equal(s_pay(created, "status"), "created");
    assert_string_equal(s_pay(created, "sender_id"), "alice");
    assert_null(s_pay(created, "sender_method"));
    assert_string_equal(s_pay(created, "recipient_id"), "bob");
    assert_string_equal(s_pay(created, "recipient_method"), "card-1");
    assert_string_equal(s_pay(created, "currency"), "USD");
    assert_null(s_pay(created, "cancel_reason"));
    assert_int_equal(s_pay_int(created, "amount_minor"), 1250);
    assert_int_equal(s_pay_int(created, "created_ms"), NOW);
    assert_int_equal(s_pay_int(created, "updated_ms"), NOW);

    const uint8_t *viewers[] = {fx->alice, fx->bob, fx->svc};
    for (int i = 0; i < 3; i++) {
        const pm_envelope_t *got = s_get(fx, viewers[i], id);
        assert_reply(got, PM_OK, "");
        assert_true(s_same_body(got, created));
    }
    /* Upper-case spelling of the same UUID finds it too. */
    char upper[PM_UUID_LEN + 1];
    for (int i = 0; i <= PM_UUID_LEN; i++)
        upper[i] = (char)toupper((unsigned char)id[i]);
    assert_reply(s_get(fx, fx->bob, upper), PM_OK, "");
}

static void test_payments_a_caller_may_not_see_are_not_found(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1], msg[128];
    s_new_payment(fx, id);
    snprintf(msg, sizeof msg, "payment %s not found", id);
    assert_reply(s_get(fx, fx->carol, id), PM_ERR_NOT_FOUND, msg);
    assert_reply(s_get(fx, fx->alice, "00000000-0000-4000-8000-000000000000"), PM_ERR_NOT_FOUND,
                 "payment 00000000-0000-4000-8000-000000000000 not found");
    assert_reply(s_get(fx, fx->alice, "not-a-uuid"), PM_ERR_NOT_FOUND,
                 "payment not-a-uuid not found");
}

static void test_a_user_creates_only_as_itself_but_a_service_for_anyone(void **state)
{
    fixture_t *fx = *state;
    call_t r;
    r_create(&r, fx->alice, "k1", "carol", "USD", 100);
    assert_reply(s_call(fx, &r), PM_ERR_ACCESS, "sender.sender_id must be the caller's principal");
    assert_int_equal(s_count(fx, DB_PAYMENTS), 0);
    r_create(&r, fx->svc, "k1", "carol", "USD", 100);
    const pm_envelope_t *reply = s_call(fx, &r);
    assert_reply(reply, PM_OK, "");
    assert_string_equal(s_pay(reply, "sender_id"), "carol");
    assert_int_equal(s_count(fx, DB_PAYMENTS), 1);
}

static void test_only_the_sender_cancels_and_edits_and_only_the_recipient_accepts(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1], msg[160], nf[128];
    s_new_payment(fx, id);
    snprintf(nf, sizeof nf, "payment %s not found", id);

    snprintf(msg, sizeof msg, "only the sender may cancel payment %s", id);
    assert_reply(s_cancel(fx, fx->bob, "c1", id, NULL), PM_ERR_ACCESS, msg);
    assert_reply(s_cancel(fx, fx->carol, "c1", id, NULL), PM_ERR_NOT_FOUND, nf);
    snprintf(msg, sizeof msg, "only the sender may edit payment %s", id);
    assert_reply(s_edit(fx, fx->bob, "e1", id, "USD", 5, NULL), PM_ERR_ACCESS, msg);
    assert_reply(s_edit(fx, fx->carol, "e1", id, "USD", 5, NULL), PM_ERR_NOT_FOUND, nf);
    snprintf(msg, sizeof msg, "only the recipient may accept payment %s", id);
    assert_reply(s_accept(fx, fx->alice, "a1", id, NULL), PM_ERR_ACCESS, msg);
    assert_reply(s_accept(fx, fx->carol, "a1", id, NULL), PM_ERR_NOT_FOUND, nf);

    const pm_envelope_t *accepted = s_accept(fx, fx->bob, "a1", id, "{\"qr\":\"x\"}");
    assert_reply(accepted, PM_OK, "");
    assert_string_equal(s_pay(accepted, "status"), "accepted");
    /* A service acts for anyone: it may cancel what alice sent. */
    assert_string_equal(s_pay(s_cancel(fx, fx->svc, "c2", id, "other"), "status"), "cancelled");
}

static void test_transitions_are_enforced_with_a_message_naming_the_status(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1], msg[160];
    s_new_payment(fx, id);
    assert_reply(s_accept(fx, fx->bob, "a1", id, NULL), PM_OK, "");
    snprintf(msg, sizeof msg, "payment %s is accepted; cannot accept", id);
    assert_reply(s_accept(fx, fx->bob, "a2", id, NULL), PM_ERR_VALIDATION, msg);

    /* An edit returns an accepted payment to created; the method is kept
     * when absent and replaced when given. */
    const pm_envelope_t *edited = s_edit(fx, fx->alice, "e1", id, "EUR", 500, NULL);
    assert_string_equal(s_pay(edited, "status"), "created");
    assert_string_equal(s_pay(edited, "currency"), "EUR");
    assert_int_equal(s_pay_int(edited, "amount_minor"), 500);
    assert_string_equal(s_pay(edited, "recipient_method"), "card-1");
    edited = s_edit(fx, fx->alice, "e2", id, "IRR", 7, "card-2");
    assert_string_equal(s_pay(edited, "recipient_method"), "card-2");

    const pm_envelope_t *cancelled = s_cancel(fx, fx->alice, "c1", id, "duplicate");
    assert_string_equal(s_pay(cancelled, "status"), "cancelled");
    assert_string_equal(s_pay(cancelled, "cancel_reason"), "duplicate");
    snprintf(msg, sizeof msg, "payment %s is cancelled; cannot cancel", id);
    assert_reply(s_cancel(fx, fx->alice, "c2", id, NULL), PM_ERR_VALIDATION, msg);
    snprintf(msg, sizeof msg, "payment %s is cancelled; cannot edit", id);
    assert_reply(s_edit(fx, fx->alice, "e3", id, "USD", 1, NULL), PM_ERR_VALIDATION, msg);
    snprintf(msg, sizeof msg, "payment %s is cancelled; cannot accept", id);
    assert_reply(s_accept(fx, fx->bob, "a3", id, NULL), PM_ERR_VALIDATION, msg);
}

static void test_cancel_and_edit_are_refused_while_the_bank_is_processing(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1], msg[160];
    s_new_payment(fx, id);
    /* The bank leg arrives with a later issue; put the payment there directly. */
    MDB_txn *txn;
    payment_t p;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(payment_load(fx->db, txn, id, &p), 0);
    p.status = PAYMENT_BANK_PROCESSING;
    assert_int_equal(payment_save(fx->db, txn, &p), 0);
    assert_int_equal(db_commit(fx->db, txn), 0);

    snprintf(msg, sizeof msg, "payment %s is bank_processing; cannot cancel", id);
    assert_reply(s_cancel(fx, fx->alice, "c1", id, NULL), PM_ERR_VALIDATION, msg);
    snprintf(msg, sizeof msg, "payment %s is bank_processing; cannot edit", id);
    assert_reply(s_edit(fx, fx->alice, "e1", id, "USD", 9, NULL), PM_ERR_VALIDATION, msg);
    assert_string_equal(s_pay(s_get(fx, fx->bob, id), "status"), "bank_processing");
}

static void test_cancel_reason_defaults_to_requested_by_sender_and_must_be_known(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1];
    s_new_payment(fx, id);
    assert_reply(s_cancel(fx, fx->alice, "c1", id, "bored"), PM_ERR_VALIDATION,
                 "reason must be one of requested_by_sender, duplicate, fraudulent, abandoned, "
                 "other");
    const pm_envelope_t *reply = s_cancel(fx, fx->alice, "c2", id, NULL);
    assert_string_equal(s_pay(reply, "cancel_reason"), "requested_by_sender");
}

static void test_accept_info_must_be_a_json_object_of_at_most_4_kib(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1];
    s_new_payment(fx, id);
    assert_reply(s_accept(fx, fx->bob, "a1", id, "[1,2]"), PM_ERR_VALIDATION,
                 "accept_info must be a JSON object");
    char big[5000];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = '\0';
    assert_reply(s_accept(fx, fx->bob, "a2", id, big), PM_ERR_VALIDATION,
                 "accept_info must be 2 to 4096 bytes long");
    assert_reply(s_accept(fx, fx->bob, "a3", id, "{\"device\": \"pos-7\"}"), PM_OK, "");
    /* Stored with the payment (not part of the reply shape). */
    MDB_txn *txn;
    payment_t p;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(payment_load(fx->db, txn, id, &p), 0);
    db_abort(&txn);
    assert_string_equal(p.accept_info, "{\"device\": \"pos-7\"}");
}

/* ---- payment methods (issue 11) ---------------------------------------------- */

static void test_a_create_must_name_a_method_of_its_recipient(void **state)
{
    fixture_t *fx = *state;
    assert_reply(s_create_to(fx, "k1", "carol", "card-1", "USD"), PM_ERR_VALIDATION,
                 "money_info.method_id: carol has no payment method card-1");
    assert_reply(s_create_to(fx, "k2", "bob", "card-9", "USD"), PM_ERR_VALIDATION,
                 "money_info.method_id: bob has no payment method card-9");
    /* A method of that id registered for someone else (here the sender) is
     * not the recipient's. */
    s_method_put_ok(fx, "alice", "iban-1", "USD");
    assert_reply(s_create_to(fx, "k3", "carol", "iban-1", "USD"), PM_ERR_VALIDATION,
                 "money_info.method_id: carol has no payment method iban-1");
    assert_int_equal(s_count(fx, DB_PAYMENTS), 0);

    /* A refused method is bad input: nothing is stored, not even under the
     * idempotency token, so the same token goes through once the method
     * exists. */
    assert_int_equal(s_count(fx, DB_IDEM), 0);
    s_method_put_ok(fx, "carol", "card-1", "USD");
    const pm_envelope_t *created = s_create_to(fx, "k1", "carol", "card-1", "USD");
    assert_reply(created, PM_OK, "");
    assert_string_equal(s_pay(created, "recipient_id"), "carol");
    assert_string_equal(s_pay(created, "recipient_method"), "card-1");
    assert_int_equal(s_count(fx, DB_PAYMENTS), 1);
}

static void test_a_create_or_edit_must_be_in_a_currency_its_method_takes(void **state)
{
    fixture_t *fx = *state;
    s_method_put_ok(fx, "carol", "usd-only", "USD");
    s_method_put_ok(fx, "carol", "fx", "EUR,USD");
    assert_reply(s_create_to(fx, "k1", "carol", "usd-only", "EUR"), PM_ERR_VALIDATION,
                 "money_info.method_id: payment method usd-only takes USD, not EUR");
    assert_int_equal(s_count(fx, DB_PAYMENTS), 0);
    const pm_envelope_t *created = s_create_to(fx, "k2", "carol", "usd-only", "USD");
    assert_reply(created, PM_OK, "");
    char id[PM_UUID_LEN + 1];
    strcpy(id, s_pay(created, "id"));

    /* An edit is checked against the method the payment is left with: the
     * one it has when the edit names none. */
    assert_reply(s_edit(fx, fx->alice, "e1", id, "EUR", 5, NULL), PM_ERR_VALIDATION,
                 "money_info.method_id: payment method usd-only takes USD, not EUR");
    assert_reply(s_edit(fx, fx->alice, "e2", id, "EUR", 5, "card-7"), PM_ERR_VALIDATION,
                 "money_info.method_id: carol has no payment method card-7");
    const pm_envelope_t *got = s_get(fx, fx->alice, id);
    assert_string_equal(s_pay(got, "currency"), "USD");
    assert_string_equal(s_pay(got, "recipient_method"), "usd-only");
    assert_int_equal(s_pay_int(got, "amount_minor"), 100);

    const pm_envelope_t *edited = s_edit(fx, fx->alice, "e3", id, "EUR", 5, "fx");
    assert_reply(edited, PM_OK, "");
    assert_string_equal(s_pay(edited, "currency"), "EUR");
    assert_string_equal(s_pay(edited, "recipient_method"), "fx");
    assert_reply(s_edit(fx, fx->alice, "e4", id, "GBP", 5, NULL), PM_ERR_VALIDATION,
                 "money_info.method_id: payment method fx takes EUR,USD, not GBP");
    assert_string_equal(s_pay(s_get(fx, fx->carol, id), "currency"), "EUR");
}

static void test_admin_method_put_checks_its_fields_and_replaces(void **state)
{
    fixture_t *fx = *state;
    const pm_envelope_t *reply = s_method_put(fx, "dave", "hb", "halkbank", "tmt");
    assert_reply(reply, PM_OK, "");
    const msgpack_object *m = pm_mp_get(pm_envelope_body(reply), "method");
    assert_string_equal(s_method_str(m, "principal"), "dave");
    assert_string_equal(s_method_str(m, "id"), "hb");
    assert_string_equal(s_method_str(m, "bank"), "halkbank");
    assert_string_equal(s_method_str(m, "currencies"), "TMT");
    int64_t ms = 0;
    assert_int_equal(pm_mp_get_int(m, "created_ms", &ms), 0);
    assert_int_equal(ms, NOW);
    assert_int_equal(pm_mp_get_int(m, "updated_ms", &ms), 0);
    assert_int_equal(ms, NOW);
    /* Currencies are normalized: upper case, ',' between, no blanks. */
    reply = s_method_put(fx, "dave", "card", "none", " usd,eur ,TRY");
    assert_reply(reply, PM_OK, "");
    m = pm_mp_get(pm_envelope_body(reply), "method");
    assert_string_equal(s_method_str(m, "bank"), "none");
    assert_string_equal(s_method_str(m, "currencies"), "USD,EUR,TRY");
    reply = s_method_put(fx, "dave", "tf", "foreign_affairs_bank", "TMT");
    assert_reply(reply, PM_OK, "");
    assert_string_equal(s_method_str(pm_mp_get(pm_envelope_body(reply), "method"), "bank"),
                        "foreign_affairs_bank");

    struct {
        const char *principal, *id, *bank, *currencies, *msg;
    } cases[] = {
        {"dave", "x", "halkbank", "USD", "halkbank takes TMT only"},
        {"dave", "x", "halkbank", "TMT,USD", "halkbank takes TMT only"},
        {"dave", "x", "foreign_affairs_bank", "EUR", "foreign_affairs_bank takes TMT only"},
        {"dave", "x", "visa", "USD", "bank must be halkbank, foreign_affairs_bank or none"},
        {"dave", "x", "none", "DOGE", "currencies must be 3-letter codes separated by commas"},
        {"dave", "x", "none", "XXX", "currencies holds a currency paymesh does not know"},
        {"dave", "x", "none", "USD,usd", "currencies names a currency twice"},
        {"dave", "x", "none", " , ,", "currencies must name at least one currency"},
        {NULL, "x", "none", "USD", "principal is required"},
        {"dave", NULL, "none", "USD", "id is required"},
        {"dave", "x", NULL, "USD", "bank is required"},
        {"dave", "x", "none", NULL, "currencies is required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply =
            s_method_put(fx, cases[i].principal, cases[i].id, cases[i].bank, cases[i].currencies);
        if (strcmp(s_msg(reply), cases[i].msg) != 0)
            fail_msg("case %zu: got \"%s\"", i, s_msg(reply));
        assert_int_equal(s_err(reply), PM_ERR_VALIDATION);
    }
    /* None of those was stored; a put of an existing id replaces it. */
    assert_int_equal(s_method_list(fx, "dave")->size, 3);
    s_method_put_ok(fx, "dave", "card", "GBP");
    const msgpack_object_array *list = s_method_list(fx, "dave");
    assert_int_equal(list->size, 3);
    assert_string_equal(s_method_str(&list->ptr[0], "id"), "card");
    assert_string_equal(s_method_str(&list->ptr[0], "currencies"), "GBP");
    /* The api socket does not take it. */
    call_t r;
    r_init(&r, PM_MSG_ADMIN_METHOD_PUT, NULL);
    r.src = DISPATCH_SRC_API;
    r_str(&r, "principal", "dave");
    assert_reply(s_call(fx, &r), PM_ERR_VALIDATION,
                 "message type 112 is not accepted on the api socket");
}

static void test_admin_method_list_is_by_principal_then_id(void **state)
{
    fixture_t *fx = *state;
    s_method_put_ok(fx, "bobby", "a", "USD");
    s_method_put_ok(fx, "bo", "z", "USD");
    s_method_put_ok(fx, "bo", "y", "EUR,IRR");
    /* A principal's list holds its own methods only, not those of a
     * principal its name is a prefix of. */
    const msgpack_object_array *list = s_method_list(fx, "bob");
    assert_int_equal(list->size, 2);
    assert_string_equal(s_method_str(&list->ptr[0], "principal"), "bob");
    assert_string_equal(s_method_str(&list->ptr[0], "id"), "card-1");
    assert_string_equal(s_method_str(&list->ptr[0], "bank"), "none");
    assert_string_equal(s_method_str(&list->ptr[0], "currencies"), S_ALL_CURRENCIES);
    assert_string_equal(s_method_str(&list->ptr[1], "id"), "card-2");
    list = s_method_list(fx, "bo");
    assert_int_equal(list->size, 2);
    assert_string_equal(s_method_str(&list->ptr[0], "id"), "y");
    assert_string_equal(s_method_str(&list->ptr[0], "currencies"), "EUR,IRR");
    assert_string_equal(s_method_str(&list->ptr[1], "id"), "z");
    assert_int_equal(s_method_list(fx, "nobody")->size, 0);
    /* All of them: the fixture's four and these three, in byte order of
     * principal, then id. */
    static const char *const want[][2] = {
        {"bo", "y"},
        {"bo", "z"},
        {"bob", "card-1"},
        {"bob", "card-2"},
        {"bobby", "a"},
        {"b\xc3\xa9\xe2\x82\xac", "card-1"},
        {"b\xc3\xa9\xe2\x82\xac", "card-2"},
    };
    list = s_method_list(fx, NULL);
    assert_int_equal(list->size, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < list->size; i++) {
        assert_string_equal(s_method_str(&list->ptr[i], "principal"), want[i][0]);
        assert_string_equal(s_method_str(&list->ptr[i], "id"), want[i][1]);
    }
}

/* ---- validation of peer input ------------------------------------------------ */

/* A create whose one field `key` is replaced: kind 's' str, 'i' int, 'n' nil,
 * '-' absent, 'u' uint64 max. */
static const pm_envelope_t *s_create_with(fixture_t *fx, const char *key, char kind,
                                          const char *sval, int64_t ival)
{
    char idem[32]; /* a fresh token per call: only the field under test differs */
    snprintf(idem, sizeof idem, "v%llu", (unsigned long long)fx->corr);
    struct {
        const char *key, *val;
    } fields[] = {{"idem", idem},          {"sender_id", "alice"},
                  {"recipient_id", "bob"}, {"recipient_method", "card-1"},
                  {"currency", "USD"},     {"amount_minor", NULL},
                  {"sender_method", NULL}};
    call_t r;
    r_init(&r, PM_MSG_PAYMENT_CREATE, fx->alice);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(fields[i].key, key) != 0) {
            if (strcmp(fields[i].key, "amount_minor") == 0)
                r_int(&r, "amount_minor", 100);
            else if (fields[i].val)
                r_str(&r, fields[i].key, fields[i].val);
            continue;
        }
        switch (kind) {
        case 's':
            r_str(&r, key, sval);
            break;
        case 'i':
            r_int(&r, key, ival);
            break;
        case 'n':
            r_str(&r, key, NULL);
            break;
        case 'u':
            pm_mp_pack_cstr(&r.pk, key);
            msgpack_pack_uint64(&r.pk, UINT64_MAX);
            r.fields++;
            break;
        default:
            break; /* absent */
        }
    }
    return s_call(fx, &r);
}

static void test_bad_body_fields_are_refused_naming_the_field(void **state)
{
    fixture_t *fx = *state;
    char long_id[200], long_idem[300];
    memset(long_id, 'x', sizeof long_id);
    long_id[129] = '\0';
    memset(long_idem, 'k', sizeof long_idem);
    long_idem[256] = '\0';
    struct {
        const char *key;
        char kind;
        const char *sval;
        int64_t ival;
        const char *msg;
    } cases[] = {
        {"amount_minor", 's', "12", 0, "money_info.amount must be an integer of minor units"},
        {"amount_minor", 'i', 0, 0, "money_info.amount must be greater than zero"},
        {"amount_minor", 'i', 0, -5, "money_info.amount must be greater than zero"},
        {"amount_minor", 'i', 0, MAX_AMOUNT + 1, "money_info.amount is above the maximum allowed"},
        {"amount_minor", 'u', 0, 0, "money_info.amount is above the maximum allowed"},
        {"amount_minor", '-', 0, 0, "money_info.amount is required"},
        {"currency", 's', "usd", 0, "money_info.currency usd is not a supported currency"},
        {"currency", 's', "DOGE", 0, "money_info.currency DOGE is not a supported currency"},
        {"currency", 'i', 0, 5, "money_info.currency must be a string"},
        {"sender_id", 's', "", 0, "sender.sender_id must be 1 to 128 bytes long"},
        {"sender_id", 's', long_id, 0, "sender.sender_id must be 1 to 128 bytes long"},
        {"sender_id", 'n', 0, 0, "sender.sender_id is required"},
        {"recipient_id", 's', "b\nb", 0,
         "recipcient.recipcient_id must be UTF-8 text without control characters"},
        {"recipient_id", 's', "b\xff", 0,
         "recipcient.recipcient_id must be UTF-8 text without control characters"},
        {"recipient_id", 's', "\xc0\xaf", 0, /* overlong '/' */
         "recipcient.recipcient_id must be UTF-8 text without control characters"},
        {"recipient_method", '-', 0, 0, "money_info.method_id is required"},
        {"sender_method", 's', "", 0, "sender.method_id must be 1 to 128 bytes long"},
        {"idem", '-', 0, 0, "idempotency_token is required"},
        {"idem", 's', long_idem, 0, "idempotency_token must be 1 to 255 bytes long"},
        {"idem", 's', "tab\there", 0, "idempotency_token must be printable ASCII"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const pm_envelope_t *reply =
            s_create_with(fx, cases[i].key, cases[i].kind, cases[i].sval, cases[i].ival);
        if (strcmp(s_msg(reply), cases[i].msg) != 0)
            fail_msg("case %zu (%s): got \"%s\"", i, cases[i].key, s_msg(reply));
        assert_int_equal(s_err(reply), PM_ERR_VALIDATION);
    }
    /* Rejected input is not remembered: nothing was written at all. */
    assert_int_equal(s_count(fx, DB_PAYMENTS), 0);
    assert_int_equal(s_count(fx, DB_IDEM), 0);
    /* Valid UTF-8 ids and a nil optional method are fine. */
    assert_reply(s_create_with(fx, "recipient_id", 's', "b\xc3\xa9\xe2\x82\xac", 0), PM_OK, "");
    assert_reply(s_create_with(fx, "sender_method", 'n', NULL, 0), PM_OK, "");
}

/* ---- auth and sockets --------------------------------------------------------- */

static void test_missing_or_unknown_token_is_unauthorized_even_with_a_bad_body(void **state)
{
    fixture_t *fx = *state;
    uint8_t unknown[PM_AUTH_LEN];
    pm_token_hash("pmk_not-issued", 14, unknown);
    call_t r;
    r_create(&r, NULL, "k1", "alice", "USD", 1);
    assert_reply(s_call(fx, &r), PM_ERR_UNAUTHORIZED, "missing API token");
    r_create(&r, unknown, "k1", "alice", "USD", 1);
    assert_reply(s_call(fx, &r), PM_ERR_UNAUTHORIZED, "unknown API token");
    r_create(&r, unknown, "k1", "alice", "NOPE", -1);
    assert_reply(s_call(fx, &r), PM_ERR_UNAUTHORIZED, "unknown API token");
    assert_reply(s_get(fx, NULL, "x"), PM_ERR_UNAUTHORIZED, "missing API token");
    assert_int_equal(s_count(fx, DB_IDEM), 0);
}

static void test_auth_message_resolves_a_token_to_principal_and_role(void **state)
{
    fixture_t *fx = *state;
    call_t r;
    r_init(&r, PM_MSG_AUTH, fx->svc);
    const pm_envelope_t *reply = s_call(fx, &r);
    assert_reply(reply, PM_OK, "");
    char s[64];
    assert_int_equal(pm_mp_copy_str(pm_envelope_body(reply), "principal", s, sizeof s), 0);
    assert_string_equal(s, "billing");
    assert_int_equal(pm_mp_copy_str(pm_envelope_body(reply), "role", s, sizeof s), 0);
    assert_string_equal(s, "service");
    r_init(&r, PM_MSG_AUTH, fx->alice);
    reply = s_call(fx, &r);
    assert_int_equal(pm_mp_copy_str(pm_envelope_body(reply), "role", s, sizeof s), 0);
    assert_string_equal(s, "user");
    r_init(&r, PM_MSG_AUTH, NULL);
    assert_reply(s_call(fx, &r), PM_ERR_UNAUTHORIZED, "missing API token");
}

static void test_each_socket_accepts_only_its_message_types(void **state)
{
    fixture_t *fx = *state;
    call_t r;
    r_init(&r, PM_MSG_ADMIN_STATS, NULL);
    r.src = DISPATCH_SRC_API;
    assert_reply(s_call(fx, &r), PM_ERR_VALIDATION,
                 "message type 101 is not accepted on the api socket");
    r_init(&r, PM_MSG_PAYMENT_GET, fx->alice);
    r.src = DISPATCH_SRC_ADMIN;
    assert_reply(s_call(fx, &r), PM_ERR_VALIDATION,
                 "message type 11 is not accepted on the admin socket");
    r_init(&r, PM_MSG_AUTH, fx->alice);
    r.src = DISPATCH_SRC_ADMIN;
    assert_int_equal(s_err(s_call(fx, &r)), PM_ERR_VALIDATION);
    r_init(&r, PM_MSG_PING, NULL);
    assert_reply(s_call(fx, &r), PM_OK, "");
    r_init(&r, PM_MSG_PING, NULL);
    r.src = DISPATCH_SRC_ADMIN;
    assert_reply(s_call(fx, &r), PM_OK, "");
    r_init(&r, 77, NULL);
    assert_reply(s_call(fx, &r), PM_ERR_VALIDATION, "unknown message type 77");
    r_init(&r, PM_MSG_REPLY, NULL);
    assert_reply(s_call(fx, &r), PM_ERR_VALIDATION, "unknown message type 1");
}

static void test_admin_token_create_issues_a_token_the_api_accepts(void **state)
{
    fixture_t *fx = *state;
    call_t r;
    r_init(&r, PM_MSG_ADMIN_TOKEN_CREATE, NULL);
    r_str(&r, "principal", "dave");
    r_str(&r, "role", "service");
    const pm_envelope_t *reply = s_call(fx, &r);
    assert_reply(reply, PM_OK, "");
    char token[AUTH_TOKEN_CAP], s[64];
    const msgpack_object *body = pm_envelope_body(reply);
    assert_int_equal(pm_mp_copy_str(body, "token", token, sizeof token), 0);
    assert_int_equal(pm_mp_copy_str(body, "principal", s, sizeof s), 0);
    assert_string_equal(s, "dave");
    assert_int_equal(pm_mp_copy_str(body, "role", s, sizeof s), 0);
    assert_string_equal(s, "service");

    uint8_t hash[PM_AUTH_LEN];
    pm_token_hash(token, strlen(token), hash);
    r_init(&r, PM_MSG_AUTH, hash);
    reply = s_call(fx, &r);
    assert_int_equal(pm_mp_copy_str(pm_envelope_body(reply), "principal", s, sizeof s), 0);
    assert_string_equal(s, "dave");

    r_init(&r, PM_MSG_ADMIN_TOKEN_CREATE, NULL);
    r_str(&r, "principal", "da ve");
    assert_reply(s_call(fx, &r), PM_ERR_VALIDATION,
                 "principal must be 1 to 128 printable ASCII characters without spaces");
    r_init(&r, PM_MSG_ADMIN_TOKEN_CREATE, NULL);
    r_str(&r, "principal", "dave");
    r_str(&r, "role", "root");
    assert_reply(s_call(fx, &r), PM_ERR_VALIDATION, "role must be user or service");
    r_init(&r, PM_MSG_ADMIN_TOKEN_CREATE, NULL);
    assert_reply(s_call(fx, &r), PM_ERR_VALIDATION, "principal is required");
    /* Role defaults to user. */
    r_init(&r, PM_MSG_ADMIN_TOKEN_CREATE, NULL);
    r_str(&r, "principal", "erin");
    reply = s_call(fx, &r);
    assert_int_equal(pm_mp_copy_str(pm_envelope_body(reply), "role", s, sizeof s), 0);
    assert_string_equal(s, "user");
}

static void test_stats_count_payments_idempotency_keys_and_tokens(void **state)
{
    fixture_t *fx = *state;
    dispatch_stats_t before = *dispatch_stats(fx->dispatch);
    s_create(fx, fx->alice, "k1");
    s_create(fx, fx->alice, "k2");
    s_create(fx, fx->alice, "k2"); /* a replay adds nothing */
    /* Each call above was a batch of one committed request. */
    dispatch_stats_t after = *dispatch_stats(fx->dispatch);
    assert_int_equal(after.batches - before.batches, 3);
    assert_int_equal(after.requests - before.requests, 3);
    assert_true(after.commit_us_max <= after.commit_us);
    call_t r;
    r_init(&r, PM_MSG_ADMIN_STATS, NULL);
    const pm_envelope_t *reply = s_call(fx, &r);
    assert_reply(reply, PM_OK, "");
    int64_t n;
    const msgpack_object *body = pm_envelope_body(reply);
    assert_int_equal(pm_mp_get_int(body, "payments", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(pm_mp_get_int(body, "idempotency_keys", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(pm_mp_get_int(body, "tokens", &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(pm_mp_get_int(body, "batches", &n), 0);
    assert_int_equal((uint64_t)n, after.batches); /* as of before this call's commit */
    assert_int_equal(pm_mp_get_int(body, "batch_requests", &n), 0);
    assert_int_equal((uint64_t)n, after.requests);
    assert_int_equal(pm_mp_get_int(body, "commit_us_total", &n), 0);
    assert_int_equal(pm_mp_get_int(body, "commit_us_max", &n), 0);
}

/* ---- idempotency through dispatch ---------------------------------------------- */

static void test_repeating_a_request_replays_the_first_reply_byte_for_byte(void **state)
{
    fixture_t *fx = *state;
    const pm_envelope_t *first = s_create(fx, fx->alice, "k1");
    assert_reply(first, PM_OK, "");
    char id[PM_UUID_LEN + 1];
    strcpy(id, s_pay(first, "id"));
    /* The payment moves on; the repeat still gets the first answer. */
    assert_reply(s_cancel(fx, fx->alice, "c1", id, NULL), PM_OK, "");
    const pm_envelope_t *again = s_create(fx, fx->alice, "k1");
    assert_true(s_same_body(first, again));
    assert_int_equal(s_count(fx, DB_PAYMENTS), 1);
    /* Repeating the cancel replays its reply, not "cannot cancel". */
    assert_string_equal(s_pay(s_cancel(fx, fx->alice, "c1", id, NULL), "status"), "cancelled");
}

static void test_reusing_a_token_for_another_request_is_an_idempotency_error(void **state)
{
    fixture_t *fx = *state;
    call_t r;
    r_create(&r, fx->alice, "k1", "alice", "USD", 100);
    const pm_envelope_t *first = s_call(fx, &r);
    assert_reply(first, PM_OK, "");
    r_create(&r, fx->alice, "k1", "alice", "USD", 200);
    assert_reply(s_call(fx, &r), PM_ERR_IDEMPOTENCY,
                 "idempotency_token k1 was used with a different request");
    assert_reply(s_cancel(fx, fx->alice, "k1", s_pay(first, "id"), NULL), PM_ERR_IDEMPOTENCY,
                 "idempotency_token k1 was used with a different request");
    /* Tokens are the caller's: billing's "k1" is another key. */
    r_create(&r, fx->svc, "k1", "alice", "USD", 200);
    assert_reply(s_call(fx, &r), PM_OK, "");
    assert_int_equal(s_count(fx, DB_PAYMENTS), 2);
}

static void test_refusals_are_replayed_but_rejected_input_is_not_stored(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1];
    s_new_payment(fx, id);
    uint64_t keys = s_count(fx, DB_IDEM);
    const pm_envelope_t *refused = s_cancel(fx, fx->bob, "c1", id, NULL);
    assert_int_equal(s_err(refused), PM_ERR_ACCESS);
    assert_int_equal(s_count(fx, DB_IDEM), keys + 1);
    assert_true(s_same_body(refused, s_cancel(fx, fx->bob, "c1", id, NULL)));

    call_t r;
    r_create(&r, fx->alice, "k2", "alice", "XXX", 100);
    assert_int_equal(s_err(s_call(fx, &r)), PM_ERR_VALIDATION);
    assert_int_equal(s_count(fx, DB_IDEM), keys + 1);
    r_create(&r, fx->alice, "k2", "alice", "USD", 100); /* fixed, same token: processed */
    assert_reply(s_call(fx, &r), PM_OK, "");
}

static void test_a_request_whose_first_attempt_is_in_progress_gets_conflict(void **state)
{
    fixture_t *fx = *state;
    call_t r;
    r_create(&r, fx->alice, "k1", "alice", "USD", 100);
    /* The first attempt of this very request began in an earlier turn (a
     * provider call) and has not completed. */
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    s_body_bytes(&r, &body);
    uint8_t fp[IDEM_FP_LEN];
    idem_fingerprint(PM_MSG_PAYMENT_CREATE, body.data, body.size, fp);
    msgpack_sbuffer_destroy(&body);
    idem_key_t key;
    assert_int_equal(idem_key_make(&key, "alice", "k1", 2), 0);
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(idem_begin(fx->db, txn, &key, fp, NOW - 5), 0);
    assert_int_equal(db_commit(fx->db, txn), 0);

    assert_reply(s_call(fx, &r), PM_ERR_CONFLICT,
                 "request with idempotency_token k1 is still in progress");
    assert_int_equal(s_count(fx, DB_PAYMENTS), 0);
}

/* ---- malformed messages and deadlines ----------------------------------------- */

static void test_malformed_messages_get_a_validation_reply_or_are_dropped(void **state)
{
    fixture_t *fx = *state;
    /* A good header with a body that is not a map. */
    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = PM_MSG_PING;
    h.corr_id = 9001;
    strcpy(h.trace_id, "trace-9001");
    msgpack_sbuffer not_map;
    msgpack_sbuffer_init(&not_map);
    pm_envelope_pack_header(&not_map, &h);
    msgpack_sbuffer_write(&not_map, "\x91\x01", 2);
    char big[MAX_MSG + 1];
    memset(big, 0x90, sizeof big);

    dispatch_item_t items[5];
    const void *frames[4] = {not_map.data, "\xc1garbage", "", big};
    size_t sizes[4] = {not_map.size, 8, 0, sizeof big};
    for (int i = 0; i < 4; i++) {
        dispatch_item_init(&items[i]);
        items[i].src = DISPATCH_SRC_API;
        items[i].frame = frames[i];
        items[i].frame_size = sizes[i];
    }
    /* A good neighbour in the same batch is unaffected. */
    call_t r;
    r_create(&r, fx->alice, "k1", "alice", "USD", 100);
    s_seal(fx, &r);
    dispatch_item_init(&items[4]);
    items[4].src = DISPATCH_SRC_API;
    items[4].frame = r.frame.data;
    items[4].frame_size = r.frame.size;

    assert_int_equal(dispatch_batch(fx->dispatch, items, 5, NOW), 0);
    call_t ping = {.corr = 9001};
    const pm_envelope_t *reply = s_decode_reply(fx, &items[0], &ping);
    assert_reply(reply, PM_ERR_VALIDATION, "body is not a map");
    assert_false(items[1].has_reply);
    assert_false(items[2].has_reply);
    assert_false(items[3].has_reply);
    assert_reply(s_decode_reply(fx, &items[4], &r), PM_OK, "");
    for (int i = 0; i < 5; i++)
        dispatch_item_fini(&items[i]);
    msgpack_sbuffer_destroy(&not_map);
    r_fini(&r);
}

static void test_a_request_past_its_deadline_is_dropped_without_effect(void **state)
{
    fixture_t *fx = *state;
    call_t r;
    r_create(&r, fx->alice, "k1", "alice", "USD", 100);
    r.deadline_ms = NOW - 1;
    assert_null(s_call(fx, &r));
    assert_int_equal(s_count(fx, DB_PAYMENTS), 0);
    assert_int_equal(s_count(fx, DB_IDEM), 0);
    r_create(&r, fx->alice, "k1", "alice", "USD", 100);
    r.deadline_ms = NOW + 1;
    assert_reply(s_call(fx, &r), PM_OK, "");
}

/* ---- group commit ------------------------------------------------------------ */

static void test_a_failing_request_mid_batch_leaves_no_trace_while_neighbours_commit(void **state)
{
    fixture_t *fx = *state;
    s_create(fx, fx->alice, "warm-up");
    call_t a, b, c;
    r_create(&a, fx->alice, "a", "alice", "USD", 1);
    r_create(&b, fx->alice, "b", "alice", "USD", 2);
    r_create(&c, fx->alice, "c", "alice", "USD", 3);
    call_t *reqs[3] = {&a, &b, &c};
    const pm_envelope_t *replies[3];
    /* b's payment is written, then its idempotency record fails, each time
     * it is tried: b must vanish whole, a and c must stay. The first pass
     * runs the writes without a child transaction each, so the batch is
     * run a second time, each request in its own child. */
    idem_key_t bkey;
    assert_int_equal(idem_key_make(&bkey, "alice", "b", 1), 0);
    db_fail_put_key(fx->db, DB_IDEM, bkey.bytes, bkey.len);
    uint64_t redone = dispatch_stats(fx->dispatch)->batches_redone;
    assert_int_equal(s_batch(fx, reqs, 3, replies), 0);
    assert_reply(replies[0], PM_OK, "");
    assert_reply(replies[1], PM_ERR_UNAVAILABLE, "storage is full");
    assert_reply(replies[2], PM_OK, "");
    assert_int_equal(dispatch_stats(fx->dispatch)->batches_redone, redone + 1);
    assert_int_equal(s_count(fx, DB_PAYMENTS), 3); /* warm-up, a, c */
    assert_int_equal(s_count(fx, DB_IDEM), 3);
    assert_int_equal(s_pay_int(s_get(fx, fx->alice, s_pay(replies[2], "id")), "amount_minor"), 3);
    /* b was not remembered: its retry is processed afresh. */
    db_fail_put_key(fx->db, DB_IDEM, NULL, 0);
    assert_reply(s_call(fx, &b), PM_OK, "");
    assert_int_equal(s_count(fx, DB_PAYMENTS), 4);
    r_fini(&a);
    r_fini(&c);
}

static void test_a_failure_that_passes_is_not_seen_by_anyone(void **state)
{
    fixture_t *fx = *state;
    /* How many puts one create makes (payment, idempotency record, its ttl). */
    uint64_t before = db_put_count(fx->db);
    s_create(fx, fx->alice, "warm-up");
    uint64_t per_create = db_put_count(fx->db) - before;
    assert_true(per_create >= 2);
    call_t a, b, c;
    r_create(&a, fx->alice, "a", "alice", "USD", 1);
    r_create(&b, fx->alice, "b", "alice", "USD", 2);
    r_create(&c, fx->alice, "c", "alice", "USD", 3);
    call_t *reqs[3] = {&a, &b, &c};
    const pm_envelope_t *replies[3];
    /* One put of b fails once: the batch is run again, and then it works.
     * Nothing was answered in between, so every request succeeds once. */
    db_fail_put_after(fx->db, (int64_t)per_create + 1);
    uint64_t redone = dispatch_stats(fx->dispatch)->batches_redone;
    assert_int_equal(s_batch(fx, reqs, 3, replies), 0);
    for (size_t i = 0; i < 3; i++)
        assert_reply(replies[i], PM_OK, "");
    assert_int_equal(dispatch_stats(fx->dispatch)->batches_redone, redone + 1);
    assert_int_equal(s_count(fx, DB_PAYMENTS), 4);
    assert_int_equal(s_count(fx, DB_IDEM), 4);
    /* Each one exactly once: their replays give the same payments. */
    for (size_t i = 0; i < 3; i++) {
        const pm_envelope_t *again = s_call(fx, reqs[i]);
        assert_reply(again, PM_OK, "");
    }
    assert_int_equal(s_count(fx, DB_PAYMENTS), 4);
}

static void test_refused_requests_in_a_batch_do_not_make_it_run_twice(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1];
    s_new_payment(fx, id);
    call_t good, bad_amount, unknown, again;
    r_create(&good, fx->alice, "g", "alice", "USD", 5);
    r_create(&bad_amount, fx->alice, "x", "alice", "USD", -5);
    r_init(&unknown, PM_MSG_PAYMENT_CANCEL, fx->alice);
    r_str(&unknown, "id", "0190a0b0-0000-7000-8000-000000000000");
    r_str(&unknown, "idem", "u");
    r_create(&again, fx->alice, "g2", "alice", "USD", 6);
    call_t *reqs[4] = {&good, &bad_amount, &unknown, &again};
    const pm_envelope_t *replies[4];
    uint64_t redone = dispatch_stats(fx->dispatch)->batches_redone;
    uint64_t payments = s_count(fx, DB_PAYMENTS);
    assert_int_equal(s_batch(fx, reqs, 4, replies), 0);
    assert_reply(replies[0], PM_OK, "");
    assert_int_not_equal(s_err(replies[1]), PM_OK);
    assert_int_not_equal(s_err(replies[2]), PM_OK);
    assert_reply(replies[3], PM_OK, "");
    assert_int_equal(dispatch_stats(fx->dispatch)->batches_redone, redone);
    assert_int_equal(s_count(fx, DB_PAYMENTS), payments + 2);
    r_fini(&good);
    r_fini(&bad_amount);
    r_fini(&unknown);
    r_fini(&again);
}

static void test_a_failed_batch_commit_acknowledges_nothing(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1];
    s_new_payment(fx, id);
    call_t create, get, ping, stats;
    r_create(&create, fx->alice, "k1", "alice", "USD", 100);
    r_init(&get, PM_MSG_PAYMENT_GET, fx->bob);
    r_str(&get, "id", id);
    r_init(&ping, PM_MSG_PING, NULL);
    r_init(&stats, PM_MSG_ADMIN_STATS, NULL);
    call_t *reqs[4] = {&create, &get, &ping, &stats};
    const pm_envelope_t *replies[4];
    db_fail_commit_after(fx->db, 0);
    assert_int_equal(s_batch(fx, reqs, 4, replies), -1);
    for (int i = 0; i < 4; i++)
        assert_reply(replies[i], PM_ERR_UNAVAILABLE, "storage commit failed");
    assert_int_equal(s_count(fx, DB_PAYMENTS), 1);
    assert_int_equal(s_count(fx, DB_IDEM), 1);
    /* The retry is new work, not a replay of a reply nobody received. */
    assert_reply(s_call(fx, &create), PM_OK, "");
    assert_int_equal(s_count(fx, DB_PAYMENTS), 2);
    r_fini(&get);
    r_fini(&ping);
    r_fini(&stats);
}

static void test_a_whole_batch_is_one_commit(void **state)
{
    fixture_t *fx = *state;
    call_t r[5];
    call_t *reqs[5];
    const pm_envelope_t *replies[5];
    for (int i = 0; i < 5; i++) {
        char idem[16];
        snprintf(idem, sizeof idem, "k%d", i);
        r_create(&r[i], fx->alice, idem, "alice", "USD", 100 + i);
        reqs[i] = &r[i];
    }
    /* Allow exactly one more successful commit: if the batch needed more than
     * one, some of its requests would fail. */
    db_fail_commit_after(fx->db, 1);
    assert_int_equal(s_batch(fx, reqs, 5, replies), 0);
    for (int i = 0; i < 5; i++) {
        assert_reply(replies[i], PM_OK, "");
        r_fini(&r[i]);
    }
    assert_int_equal(s_count(fx, DB_PAYMENTS), 5);
    const pm_envelope_t *next = s_create(fx, fx->alice, "k9");
    assert_reply(next, PM_ERR_UNAVAILABLE, "storage commit failed");
}

static void test_reads_are_answered_early_from_the_last_commit(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1];
    s_new_payment(fx, id);
    call_t cancel, get_before, get_after, create, ping;
    r_init(&get_before, PM_MSG_PAYMENT_GET, fx->alice);
    r_str(&get_before, "id", id);
    r_init(&cancel, PM_MSG_PAYMENT_CANCEL, fx->alice);
    r_str(&cancel, "idem", "c1");
    r_str(&cancel, "id", id);
    r_init(&get_after, PM_MSG_PAYMENT_GET, fx->bob);
    r_str(&get_after, "id", id);
    r_create(&create, fx->alice, "k1", "alice", "USD", 100);
    r_init(&ping, PM_MSG_PING, NULL);
    call_t *reqs[5] = {&get_before, &cancel, &get_after, &create, &ping};
    const pm_envelope_t *replies[5];
    bool early[5];
    int rc;
    assert_int_equal(s_reads_then_batch(fx, reqs, 5, replies, early, &rc), 2);
    assert_int_equal(rc, 0);
    assert_true(early[0] && !early[1] && early[2] && !early[3] && early[4]);
    /* Both reads saw the last commit, not the cancel of their own batch
     * (which was not yet durable when they were answered). */
    assert_string_equal(s_pay(replies[0], "status"), "created");
    assert_string_equal(s_pay(replies[2], "status"), "created");
    assert_string_equal(s_pay(replies[1], "status"), "cancelled");
    assert_reply(replies[3], PM_OK, "");
    assert_reply(replies[4], PM_OK, "");
    assert_string_equal(s_pay(s_get(fx, fx->bob, id), "status"), "cancelled");
    for (int i = 0; i < 5; i++)
        r_fini(reqs[i]);
}

static void test_a_failed_commit_fails_the_writes_but_not_the_early_reads(void **state)
{
    fixture_t *fx = *state;
    char id[PM_UUID_LEN + 1];
    s_new_payment(fx, id);
    call_t create, get;
    r_create(&create, fx->alice, "k1", "alice", "USD", 100);
    r_init(&get, PM_MSG_PAYMENT_GET, fx->bob);
    r_str(&get, "id", id);
    call_t *reqs[2] = {&create, &get};
    const pm_envelope_t *replies[2];
    bool early[2];
    int rc;
    db_fail_commit_after(fx->db, 0);
    assert_int_equal(s_reads_then_batch(fx, reqs, 2, replies, early, &rc), 1);
    assert_int_equal(rc, -1);
    assert_reply(replies[0], PM_ERR_UNAVAILABLE, "storage commit failed");
    assert_reply(replies[1], PM_OK, "");
    assert_string_equal(s_pay(replies[1], "id"), id);
    assert_int_equal(s_count(fx, DB_PAYMENTS), 1);
    r_fini(&create);
    r_fini(&get);
}

static void test_payment_ids_are_uuid_v7_in_creation_order(void **state)
{
    fixture_t *fx = *state;
    char a[PM_UUID_LEN + 1], b[PM_UUID_LEN + 1];
    s_new_payment(fx, a);
    call_t r;
    r_create(&r, fx->alice, "later", "alice", "USD", 100);
    s_seal(fx, &r);
    dispatch_item_t item;
    dispatch_item_init(&item);
    item.src = r.src;
    item.frame = r.frame.data;
    item.frame_size = r.frame.size;
    assert_int_equal(dispatch_batch(fx->dispatch, &item, 1, NOW + 1), 0);
    strcpy(b, s_pay(s_decode_reply(fx, &item, &r), "id"));
    dispatch_item_fini(&item);
    r_fini(&r);
    assert_true(pm_uuid_valid(a, strlen(a)) && pm_uuid_valid(b, strlen(b)));
    assert_int_equal(a[14], '7');
    assert_true(strchr("89ab", a[19]) != NULL);
    assert_true(strcmp(a, b) < 0); /* 1 ms later sorts after */
    char ts[13];
    snprintf(ts, sizeof ts, "%08llx%04llx", (unsigned long long)(NOW >> 16),
             (unsigned long long)(NOW & 0xffff));
    assert_memory_equal(a, ts, 8);
    assert_memory_equal(a + 9, ts + 8, 4);
}

static void test_the_same_token_twice_in_one_batch_creates_one_payment(void **state)
{
    fixture_t *fx = *state;
    call_t a, b;
    r_create(&a, fx->alice, "dup", "alice", "USD", 100);
    r_create(&b, fx->alice, "dup", "alice", "USD", 100);
    call_t *reqs[2] = {&a, &b};
    const pm_envelope_t *replies[2];
    assert_int_equal(s_batch(fx, reqs, 2, replies), 0);
    assert_reply(replies[0], PM_OK, "");
    assert_true(s_same_body(replies[0], replies[1]));
    assert_int_equal(s_count(fx, DB_PAYMENTS), 1);
    r_fini(&a);
    r_fini(&b);
}

static void test_a_corrupt_payment_record_is_an_internal_error_not_a_crash(void **state)
{
    fixture_t *fx = *state;
    const char *id = "22222222-2222-4222-8222-222222222222";
    MDB_txn *txn;
    assert_int_equal(db_begin(fx->db, NULL, &txn), 0);
    assert_int_equal(db_put(fx->db, txn, DB_PAYMENTS, id, PM_UUID_LEN, "\x9d\x01\x02", 3, 0), 0);
    assert_int_equal(db_commit(fx->db, txn), 0);
    assert_reply(s_get(fx, fx->svc, id), PM_ERR_INTERNAL, "internal error");
    assert_reply(s_cancel(fx, fx->svc, "c1", id, NULL), PM_ERR_INTERNAL, "internal error");
    assert_int_equal(s_count(fx, DB_IDEM), 0); /* 5xx are not remembered */
}

int main(void)
{
    /* Quiet: the failure paths log errors on purpose. PM_TEST_LOG=1 shows them. */
    pm_log_init("test_core_dispatch", getenv("PM_TEST_LOG") ? PM_LOG_DEBUG : -1);
    pm_ids_init();
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_returns_the_payment_and_both_parties_can_get_it),
        T(test_payments_a_caller_may_not_see_are_not_found),
        T(test_a_user_creates_only_as_itself_but_a_service_for_anyone),
        T(test_only_the_sender_cancels_and_edits_and_only_the_recipient_accepts),
        T(test_transitions_are_enforced_with_a_message_naming_the_status),
        T(test_cancel_and_edit_are_refused_while_the_bank_is_processing),
        T(test_cancel_reason_defaults_to_requested_by_sender_and_must_be_known),
        T(test_accept_info_must_be_a_json_object_of_at_most_4_kib),
        T(test_a_create_must_name_a_method_of_its_recipient),
        T(test_a_create_or_edit_must_be_in_a_currency_its_method_takes),
        T(test_admin_method_put_checks_its_fields_and_replaces),
        T(test_admin_method_list_is_by_principal_then_id),
        T(test_bad_body_fields_are_refused_naming_the_field),
        T(test_missing_or_unknown_token_is_unauthorized_even_with_a_bad_body),
        T(test_auth_message_resolves_a_token_to_principal_and_role),
        T(test_each_socket_accepts_only_its_message_types),
        T(test_admin_token_create_issues_a_token_the_api_accepts),
        T(test_stats_count_payments_idempotency_keys_and_tokens),
        T(test_repeating_a_request_replays_the_first_reply_byte_for_byte),
        T(test_reusing_a_token_for_another_request_is_an_idempotency_error),
        T(test_refusals_are_replayed_but_rejected_input_is_not_stored),
        T(test_a_request_whose_first_attempt_is_in_progress_gets_conflict),
        T(test_malformed_messages_get_a_validation_reply_or_are_dropped),
        T(test_a_request_past_its_deadline_is_dropped_without_effect),
        T(test_a_failing_request_mid_batch_leaves_no_trace_while_neighbours_commit),
        T(test_a_failure_that_passes_is_not_seen_by_anyone),
        T(test_refused_requests_in_a_batch_do_not_make_it_run_twice),
        T(test_a_failed_batch_commit_acknowledges_nothing),
        T(test_a_whole_batch_is_one_commit),
        T(test_reads_are_answered_early_from_the_last_commit),
        T(test_a_failed_commit_fails_the_writes_but_not_the_early_reads),
        T(test_payment_ids_are_uuid_v7_in_creation_order),
        T(test_the_same_token_twice_in_one_batch_creates_one_payment),
        T(test_a_corrupt_payment_record_is_an_internal_error_not_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
