/*  orders: invoices, bank registration, validation, bank reports. */
#include "orders.h"

#include <assert.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "rec.h"
#include "payment.h"
#include "regno.h"

#define INVOICE_RECORD_VERSION 3
#define LINE_RECORD_VERSION 1
#define S_REGNO_MAX REGNO_MAX
#define S_ORDER_NUMBER_MAX 32 /* RBS orderNumber */
#define S_ORDER_ID_MAX 64
#define S_URL_MAX 2048
#define S_DESC_MAX 512
#define S_NAME_MAX 256
#define S_LINES_MAX 100
#define S_COUNT_MAX 1000000
#define S_FP_LEN 16
#define S_BANK_MAX 24
#define S_DEPOSIT "bank_deposit"
#define S_RETURN_URL_DEFAULT "http://127.0.0.1:8090/sandbox/icons/returned.png"
/* Outside LMDB's and errno's ranges: */
#define S_STALE (-30801)   /* the job no longer belongs to its invoice: it was deleted */
#define S_REFUSED (-30802) /* a decision refused as unsafe */

typedef enum { INV_AWAITING = 0, INV_PAID = 1, INV_FAILED = 2 } inv_state_t;
typedef enum { BANK_HALKBANK = 0, BANK_TFEB = 1 } bank_t;

static const char *s_banks[] = {"halkbank", "foreign_affairs_bank"};

typedef struct {
    char reg_no[S_REGNO_MAX + 1];
    char principal[PM_PRINCIPAL_MAX + 1];
    inv_state_t state;
    bank_t bank;
    char currency[4];
    int64_t total_minor;
    int64_t nlines;
    char desc[S_DESC_MAX + 1];
    char order_id[S_ORDER_ID_MAX + 1];
    char checkout_url[S_URL_MAX + 1];
    char bank_state[JOBS_STATUS_MAX + 1];
    char job_id[PM_UUID_LEN + 1];
    int64_t registrations; /* register calls made */
    uint8_t fp[S_FP_LEN];  /* of the INVOICE_PUT body: the same again is a replay */
    size_t fp_len;
    int64_t created_ms, updated_ms;
    bool has_registered;
    int64_t registered_ms;
    bool has_paid;
    int64_t paid_ms;
    bool two_phase;   /* registered as a pre-authorization: paid once deposited */
    int64_t deposits; /* deposit calls made */
    /* version 3 */
    char payment_id[PM_UUID_LEN + 1]; /* "" = an order invoice; else the bank leg of
                                         this accepted payment (orders_payment_begin) */
} invoice_t;

#define F(kind, field, min, max)                                                                   \
    {                                                                                              \
        kind, offsetof(invoice_t, field), min, max, 0, NULL                                        \
    }
#define F_OPT(field, has)                                                                          \
    {                                                                                              \
        REC_I64_OPT, offsetof(invoice_t, field), INT64_MIN, INT64_MAX, offsetof(invoice_t, has),   \
            NULL                                                                                   \
    }
static const rec_field_t s_invoice_fields[] = {
    F(REC_STR, reg_no, 1, S_REGNO_MAX),
    F(REC_STR, principal, 1, PM_PRINCIPAL_MAX),
    F(REC_ENUM, state, INV_AWAITING, INV_FAILED),
    F(REC_ENUM, bank, BANK_HALKBANK, BANK_TFEB),
    F(REC_STR, currency, 3, 3),
    F(REC_I64, total_minor, 1, INT64_MAX),
    F(REC_I64, nlines, 1, S_LINES_MAX),
    F(REC_STR_OPT, desc, 1, S_DESC_MAX),
    F(REC_STR_OPT, order_id, 1, S_ORDER_ID_MAX),
    F(REC_STR_OPT, checkout_url, 1, S_URL_MAX),
    F(REC_STR_OPT, bank_state, 1, JOBS_STATUS_MAX),
    F(REC_STR_OPT, job_id, PM_UUID_LEN, PM_UUID_LEN),
    F(REC_I64, registrations, 0, INT64_MAX),
    {REC_BIN, offsetof(invoice_t, fp), S_FP_LEN, S_FP_LEN, offsetof(invoice_t, fp_len), NULL},
    F(REC_I64, created_ms, INT64_MIN, INT64_MAX),
    F(REC_I64, updated_ms, INT64_MIN, INT64_MAX),
    F_OPT(registered_ms, has_registered),
    F_OPT(paid_ms, has_paid),
    F(REC_BOOL, two_phase, 0, 0),
    F(REC_I64, deposits, 0, INT64_MAX),
    /* version 3 */
    F(REC_STR_OPT, payment_id, PM_UUID_LEN, PM_UUID_LEN),
};
#define S_V2_FIELDS 20
#undef F
#undef F_OPT
static const rec_schema_t s_invoice_schema = {"invoice", INVOICE_RECORD_VERSION, sizeof(invoice_t),
                                              REC_FIELDS(s_invoice_fields)};
static const rec_schema_t s_invoice_schema_v2 = {"invoice", 2, sizeof(invoice_t), s_invoice_fields,
                                                 S_V2_FIELDS};
_Static_assert(sizeof(inv_state_t) == sizeof(int), "stored as REC_ENUM");
_Static_assert(sizeof(bank_t) == sizeof(int), "stored as REC_ENUM");

typedef struct {
    char name[S_NAME_MAX + 1];
    int64_t count;
    int64_t price_minor;
} s_line_t;

static const rec_field_t s_line_fields[] = {
    {REC_STR, offsetof(s_line_t, name), 1, S_NAME_MAX, 0, NULL},
    {REC_I64, offsetof(s_line_t, count), 1, S_COUNT_MAX, 0, NULL},
    {REC_I64, offsetof(s_line_t, price_minor), 1, INT64_MAX, 0, NULL},
};
static const rec_schema_t s_line_schema = {"invoice line", LINE_RECORD_VERSION, sizeof(s_line_t),
                                           REC_FIELDS(s_line_fields)};

bool orders_kind(const char *kind)
{
    return strncmp(kind, "bank_", 5) == 0;
}

static int s_bank_parse(const char *text, bank_t *out)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(text, s_banks[i]) == 0) {
            *out = (bank_t)i;
            return 0;
        }
    return -1;
}

/* ---- records -------------------------------------------------------------- */

/* Decodes a stored invoice of either version (2: before payment_id): 0, or
 * -1 with *why set. */
static int s_decode(const void *data, size_t size, invoice_t *inv, const char **why)
{
    if (rec_decode(&s_invoice_schema, data, size, inv, why) == 0)
        return 0;
    return rec_decode(&s_invoice_schema_v2, data, size, inv, why);
}

static int s_load(db_t *db, MDB_txn *txn, const char *reg_no, invoice_t *inv)
{
    MDB_val val;
    int rc = db_get(db, txn, DB_INVOICES, reg_no, strlen(reg_no), &val);
    if (rc != 0)
        return rc;
    const char *why = NULL;
    if (s_decode(val.mv_data, val.mv_size, inv, &why) != 0) {
        pm_error("invoice record %s does not decode: %s", reg_no, why);
        return DB_ECORRUPT;
    }
    if (strcmp(inv->reg_no, reg_no) != 0) {
        pm_error("invoice record %s holds %s", reg_no, inv->reg_no);
        return DB_ECORRUPT;
    }
    return rc;
}

/* The payment behind a payment invoice follows the invoice once it is final:
 * succeeded when paid, failed when failed; only from bank_processing, so
 * applying it again changes nothing. */
static int s_settle_payment(db_t *db, MDB_txn *txn, const invoice_t *inv)
{
    if (!inv->payment_id[0] || inv->state == INV_AWAITING)
        return 0;
    payment_t *p = malloc(sizeof *p);
    assert(p);
    int rc = payment_load(db, txn, inv->payment_id, p);
    if (rc == MDB_NOTFOUND) {
        pm_warn("invoice %s: its payment %s is gone", inv->reg_no, inv->payment_id);
        rc = 0;
    } else if (rc == 0 && p->status == PAYMENT_BANK_PROCESSING) {
        p->status = inv->state == INV_PAID ? PAYMENT_SUCCEEDED : PAYMENT_FAILED;
        p->updated_ms = inv->updated_ms > p->updated_ms ? inv->updated_ms : p->updated_ms;
        pm_info("payment %s %s (order %s, %s says %s)", p->id, payment_status_name(p->status),
                inv->order_id[0] ? inv->order_id : "none", s_banks[inv->bank],
                inv->bank_state[0] ? inv->bank_state : "nothing");
        rc = payment_save(db, txn, p);
    }
    free(p);
    return rc;
}

/* Writes the invoice, and the payment behind it when it became final. */
static int s_save(db_t *db, MDB_txn *txn, const invoice_t *inv)
{
    int rc =
        rec_save(db, txn, DB_INVOICES, inv->reg_no, strlen(inv->reg_no), &s_invoice_schema, inv);
    return rc == 0 ? s_settle_payment(db, txn, inv) : rc;
}

static size_t s_line_key(uint8_t *key, const char *reg_no, int64_t i)
{
    size_t n = strlen(reg_no);
    memcpy(key, reg_no, n);
    key[n] = '\0';
    key[n + 1] = (uint8_t)(i >> 8);
    key[n + 2] = (uint8_t)(i & 0xff);
    return n + 3;
}

static const char *s_state_name(inv_state_t s)
{
    return s == INV_PAID ? "paid" : s == INV_FAILED ? "failed" : "awaiting_payment";
}

static int s_type_id(inv_state_t s)
{
    return s == INV_PAID     ? INVOICE_TYPE_PAID
           : s == INV_FAILED ? INVOICE_TYPE_FAILED
                             : INVOICE_TYPE_AWAITING;
}

int orders_invoice_peek(const void *data, size_t size, const char **state, int64_t *created_ms,
                        msgpack_packer *pk)
{
    static invoice_t inv; /* large: not on the stack; one thread */
    const char *why = NULL;
    if (s_decode(data, size, &inv, &why) != 0)
        return -1;
    *state = s_state_name(inv.state);
    *created_ms = inv.created_ms;
    if (!pk)
        return 0;
    msgpack_pack_map(pk, 10);
    pm_mp_pack_cstr(pk, "reg_no");
    pm_mp_pack_cstr(pk, inv.reg_no);
    pm_mp_pack_cstr(pk, "principal");
    pm_mp_pack_cstr(pk, inv.principal);
    pm_mp_pack_cstr(pk, "state");
    pm_mp_pack_cstr(pk, *state);
    pm_mp_pack_cstr(pk, "payment_type");
    pm_mp_pack_cstr(pk, s_banks[inv.bank]);
    pm_mp_pack_cstr(pk, "currency");
    pm_mp_pack_cstr(pk, inv.currency);
    pm_mp_pack_cstr(pk, "total_minor");
    msgpack_pack_int64(pk, inv.total_minor);
    pm_mp_pack_cstr(pk, "order_id");
    rec_pack_opt(pk, inv.order_id);
    pm_mp_pack_cstr(pk, "payment_leg");
    rec_pack_bool(pk, inv.payment_id[0] != '\0');
    pm_mp_pack_cstr(pk, "created_ms");
    msgpack_pack_int64(pk, inv.created_ms);
    pm_mp_pack_cstr(pk, "updated_ms");
    msgpack_pack_int64(pk, inv.updated_ms);
    return 0;
}

/* Packs the INVOICE map (lines read back from the store). */
static int s_pack_invoice(db_t *db, MDB_txn *txn, msgpack_packer *pk, const invoice_t *inv,
                          bool with_payment)
{
    msgpack_pack_map(pk, with_payment ? 19 : 18);
    if (with_payment) {
        pm_mp_pack_cstr(pk, "payment_id");
        rec_pack_opt(pk, inv->payment_id);
    }
    pm_mp_pack_cstr(pk, "two_phase");
    rec_pack_bool(pk, inv->two_phase);
    pm_mp_pack_cstr(pk, "deposits");
    msgpack_pack_int64(pk, inv->deposits);
    pm_mp_pack_cstr(pk, "reg_no");
    pm_mp_pack_cstr(pk, inv->reg_no);
    pm_mp_pack_cstr(pk, "principal");
    pm_mp_pack_cstr(pk, inv->principal);
    pm_mp_pack_cstr(pk, "type_id");
    msgpack_pack_int(pk, s_type_id(inv->state));
    pm_mp_pack_cstr(pk, "state");
    pm_mp_pack_cstr(pk, s_state_name(inv->state));
    pm_mp_pack_cstr(pk, "payment_type");
    pm_mp_pack_cstr(pk, s_banks[inv->bank]);
    pm_mp_pack_cstr(pk, "currency");
    pm_mp_pack_cstr(pk, inv->currency);
    pm_mp_pack_cstr(pk, "total_minor");
    msgpack_pack_int64(pk, inv->total_minor);
    pm_mp_pack_cstr(pk, "desc");
    rec_pack_opt(pk, inv->desc);
    pm_mp_pack_cstr(pk, "order_id");
    rec_pack_opt(pk, inv->order_id);
    pm_mp_pack_cstr(pk, "checkout_url");
    rec_pack_opt(pk, inv->checkout_url);
    pm_mp_pack_cstr(pk, "bank_state");
    rec_pack_opt(pk, inv->bank_state);
    pm_mp_pack_cstr(pk, "created_ms");
    msgpack_pack_int64(pk, inv->created_ms);
    pm_mp_pack_cstr(pk, "updated_ms");
    msgpack_pack_int64(pk, inv->updated_ms);
    pm_mp_pack_cstr(pk, "paid_ms");
    rec_pack_opt_int(pk, inv->has_paid, inv->paid_ms);
    pm_mp_pack_cstr(pk, "registrations");
    msgpack_pack_int64(pk, inv->registrations);
    pm_mp_pack_cstr(pk, "lines");
    msgpack_pack_array(pk, (uint32_t)inv->nlines);
    for (int64_t i = 0; i < inv->nlines; i++) {
        uint8_t key[S_REGNO_MAX + 3];
        s_line_t line;
        int rc = rec_load(db, txn, DB_INVOICE_LINES, key, s_line_key(key, inv->reg_no, i),
                          &s_line_schema, &line);
        if (rc != 0)
            return rc == MDB_NOTFOUND ? DB_ECORRUPT : rc;
        msgpack_pack_map(pk, 3);
        pm_mp_pack_cstr(pk, "name");
        pm_mp_pack_cstr(pk, line.name);
        pm_mp_pack_cstr(pk, "count");
        msgpack_pack_int64(pk, line.count);
        pm_mp_pack_cstr(pk, "price_minor");
        msgpack_pack_int64(pk, line.price_minor);
    }
    return 0;
}

static int s_pack_reply(db_t *db, MDB_txn *txn, msgpack_packer *pk, const invoice_t *inv)
{
    msgpack_pack_map(pk, 2);
    pm_mp_pack_cstr(pk, "err");
    msgpack_pack_int(pk, PM_OK);
    pm_mp_pack_cstr(pk, "invoice");
    return s_pack_invoice(db, txn, pk, inv, false);
}

static int s_reply(req_t *req, const invoice_t *inv)
{
    int rc = s_pack_reply(req->db, req->txn, &req->pk, inv);
    return rc == 0 ? 0 : req_store_error(req, rc, "invoice pack");
}

static void s_wait_key(char out[PARK_SERIAL_MAX + 1], const char *reg_no)
{
    snprintf(out, PARK_SERIAL_MAX + 1, "o:%s", reg_no);
}

static int s_answer(req_t *req, const invoice_t *inv)
{
    msgpack_sbuffer_clear(req->answer_body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, req->answer_body, msgpack_sbuffer_write);
    int rc = s_pack_reply(req->db, req->txn, &pk, inv);
    if (rc != 0)
        return rc;
    req->answer = true;
    s_wait_key(req->answer_serial, inv->reg_no);
    return 0;
}

static void s_answer_error(req_t *req, const invoice_t *inv, int err, const char *msg)
{
    char key[PARK_SERIAL_MAX + 1];
    s_wait_key(key, inv->reg_no);
    req_answer_error(req, key, err, msg);
}

static void s_park(req_t *req, const invoice_t *inv)
{
    char key[PARK_SERIAL_MAX + 1];
    s_wait_key(key, inv->reg_no);
    req_park_waiter(req, key);
}

static void s_touch(invoice_t *inv, int64_t now_ms)
{
    inv->updated_ms = now_ms > inv->updated_ms ? now_ms : inv->updated_ms;
}

/* ---- INVOICE_PUT ---------------------------------------------------------- */

/* Reads the lines array into lines[] (*n of them) and sums them. */
static int s_read_lines(req_t *req, s_line_t *lines, int64_t *n, int64_t *sum)
{
    const msgpack_object *a = pm_mp_get(req->body, "lines");
    if (!a || a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size < 1 ||
        a->via.array.size > S_LINES_MAX)
        return req_reject(req, PM_ERR_VALIDATION, "OrderInvLines must be a list of 1 to %d lines",
                          S_LINES_MAX);
    *n = a->via.array.size;
    *sum = 0;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object *l = &a->via.array.ptr[i];
        s_line_t *line = &lines[i];
        int64_t count = 0, price = 0;
        if (l->type != MSGPACK_OBJECT_MAP ||
            pm_mp_copy_str(l, "name", line->name, sizeof line->name) != 0 || !line->name[0] ||
            pm_mp_get_int(l, "count", &count) != 0 || count < 1 || count > S_COUNT_MAX ||
            pm_mp_get_int(l, "price_minor", &price) != 0 || price < 1 ||
            price > req->limits->max_amount_minor)
            return req_reject(req, PM_ERR_VALIDATION,
                              "OrderInvLines[%u] must have ResName, ItemCount 1..%d and a "
                              "positive ResPrice",
                              i, S_COUNT_MAX);
        if (!req_utf8_valid(line->name, strlen(line->name), true))
            return req_reject(req, PM_ERR_VALIDATION, "OrderInvLines[%u].ResName is not text", i);
        line->count = count;
        line->price_minor = price;
        if (price > (INT64_MAX - *sum) / count)
            return req_reject(req, PM_ERR_VALIDATION, "the lines add up past any amount");
        *sum += count * price;
    }
    return 0;
}

int orders_api_invoice_put(req_t *req)
{
    invoice_t *inv = calloc(1, sizeof *inv);
    s_line_t *lines = calloc(S_LINES_MAX, sizeof *lines);
    assert(inv && lines);
    char bank[S_BANK_MAX + 1];
    int64_t sum = 0;
    int rc = -1;
    if (req_text(req, "reg_no", "OInvRegNo", 1, S_REGNO_MAX, REQ_ASCII, inv->reg_no,
                 sizeof inv->reg_no) != 0 ||
        req_text(req, "payment_type", "online_payment_type", 1, S_BANK_MAX, REQ_ASCII, bank,
                 sizeof bank) != 0 ||
        req_currency(req, "currency", "OInvCurrency", inv->currency) != 0 ||
        req_amount(req, "total_minor", "OInvTotal", &inv->total_minor) != 0 ||
        req_text(req, "desc", "OInvDesc", 1, S_DESC_MAX, REQ_OPTIONAL, inv->desc,
                 sizeof inv->desc) != 0 ||
        s_read_lines(req, lines, &inv->nlines, &sum) != 0)
        goto done;
    if (s_bank_parse(bank, &inv->bank) != 0) {
        rc = req_reject(req, PM_ERR_VALIDATION,
                        "online_payment_type must be halkbank or foreign_affairs_bank");
        goto done;
    }
    if (strcmp(inv->currency, "TMT") != 0) {
        rc = req_reject(req, PM_ERR_VALIDATION, "the banks take TMT only");
        goto done;
    }
    if (sum != inv->total_minor) {
        rc = req_reject(req, PM_ERR_VALIDATION,
                        "OInvTotal is not the sum of its lines (they make %lld.%02lld)",
                        (long long)(sum / 100), (long long)(sum % 100));
        goto done;
    }
    char owner[PM_PRINCIPAL_MAX + 1];
    rc = regno_owner(req->db, req->txn, inv->reg_no, owner);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        rc = req_store_error(req, rc, "regno owner");
        goto done;
    }
    if (rc == MDB_NOTFOUND || strcmp(owner, req->caller->principal) != 0) {
        rc = req_refuse(req, PM_ERR_NOT_FOUND, "registration number %s was not given to you",
                        inv->reg_no);
        goto done;
    }
    crypto_generichash(inv->fp, S_FP_LEN, req->body_bytes, req->body_size, NULL, 0);
    inv->fp_len = S_FP_LEN;
    invoice_t *old = calloc(1, sizeof *old);
    assert(old);
    rc = s_load(req->db, req->txn, inv->reg_no, old);
    if (rc == 0) {
        rc =
            sodium_memcmp(old->fp, inv->fp, S_FP_LEN) == 0
                ? s_reply(req, old)
                : req_refuse(req, PM_ERR_CONFLICT,
                             "invoice %s was checked out already with other contents", inv->reg_no);
        free(old);
        goto done;
    }
    free(old);
    if (rc != MDB_NOTFOUND) {
        rc = req_store_error(req, rc, "invoice load");
        goto done;
    }
    snprintf(inv->principal, sizeof inv->principal, "%s", req->caller->principal);
    inv->state = INV_AWAITING;
    inv->created_ms = inv->updated_ms = req->now_ms;
    rc = 0;
    for (int64_t i = 0; i < inv->nlines && rc == 0; i++) {
        uint8_t key[S_REGNO_MAX + 3];
        rc = rec_save(req->db, req->txn, DB_INVOICE_LINES, key, s_line_key(key, inv->reg_no, i),
                      &s_line_schema, &lines[i]);
    }
    if (rc == 0)
        rc = s_save(req->db, req->txn, inv);
    if (rc != 0) {
        rc = req_store_error(req, rc, "invoice save");
        goto done;
    }
    pm_info("invoice %s checked out by %s: %lld tenge in %lld lines, %s (trace %s)", inv->reg_no,
            inv->principal, (long long)inv->total_minor, (long long)inv->nlines, s_banks[inv->bank],
            req->header->trace_id);
    rc = s_reply(req, inv);
done:
    free(lines);
    free(inv);
    return rc;
}

/* ---- ORDER_REGISTER and ORDER_VALIDATE ------------------------------------ */

/* Reads reg_no and payment_type and loads the invoice the caller may act on
 * (its owner; a service for account, or for anyone when account is ""). */
static int s_read_invoice(req_t *req, invoice_t *inv, const char *account)
{
    char reg_no[S_REGNO_MAX + 1], bank[S_BANK_MAX + 1];
    if (req_text(req, "reg_no", "OInvRegNo", 1, S_REGNO_MAX, REQ_ASCII, reg_no, sizeof reg_no) !=
            0 ||
        req_text(req, "payment_type", "online_payment_type", 1, S_BANK_MAX, REQ_ASCII, bank,
                 sizeof bank) != 0)
        return -1;
    bank_t b;
    if (s_bank_parse(bank, &b) != 0)
        return req_reject(req, PM_ERR_VALIDATION,
                          "online_payment_type must be halkbank or foreign_affairs_bank");
    int rc = s_load(req->db, req->txn, reg_no, inv);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return req_store_error(req, rc, "invoice load");
    bool service = req->caller->role == AUTH_ROLE_SERVICE;
    bool mine = rc == 0 && strcmp(inv->principal, req->caller->principal) == 0;
    bool for_account = rc == 0 && service && (!account[0] || strcmp(account, inv->principal) == 0);
    if (rc == MDB_NOTFOUND || !(mine || for_account))
        return req_refuse(req, PM_ERR_NOT_FOUND, "no invoice %s", reg_no);
    if (inv->bank != b)
        return req_refuse(req, PM_ERR_VALIDATION, "invoice %s is to be paid through %s", reg_no,
                          s_banks[inv->bank]);
    return 0;
}

static void s_pack_bank_payload(jobs_job_t *job, const invoice_t *inv, const char *kind,
                                const dispatch_limits_t *limits)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    if (strcmp(kind, ORDERS_REGISTER) == 0) {
        char number[S_ORDER_NUMBER_MAX + 24];
        snprintf(number, sizeof number, "%s-%lld", inv->reg_no, (long long)inv->registrations);
        msgpack_pack_map(&pk, 10);
        pm_mp_pack_cstr(&pk, "order_number");
        pm_mp_pack_cstr(&pk, number);
        pm_mp_pack_cstr(&pk, "amount_minor");
        msgpack_pack_int64(&pk, inv->total_minor);
        pm_mp_pack_cstr(&pk, "currency");
        pm_mp_pack_cstr(&pk, "934");
        pm_mp_pack_cstr(&pk, "return_url");
        pm_mp_pack_cstr(&pk, limits->bank_return_url && limits->bank_return_url[0]
                                 ? limits->bank_return_url
                                 : S_RETURN_URL_DEFAULT);
        pm_mp_pack_cstr(&pk, "fail_url");
        msgpack_pack_nil(&pk);
        pm_mp_pack_cstr(&pk, "description");
        rec_pack_opt(&pk, inv->desc);
        pm_mp_pack_cstr(&pk, "language");
        msgpack_pack_nil(&pk);
        pm_mp_pack_cstr(&pk, "two_phase");
        rec_pack_bool(&pk, inv->two_phase);
    } else if (strcmp(kind, S_DEPOSIT) == 0) {
        msgpack_pack_map(&pk, 4);
        pm_mp_pack_cstr(&pk, "order_id");
        pm_mp_pack_cstr(&pk, inv->order_id);
        pm_mp_pack_cstr(&pk, "amount_minor");
        msgpack_pack_int64(&pk, inv->total_minor);
    } else {
        msgpack_pack_map(&pk, 3);
        pm_mp_pack_cstr(&pk, "order_id");
        pm_mp_pack_cstr(&pk, inv->order_id);
    }
    pm_mp_pack_cstr(&pk, "bank");
    pm_mp_pack_cstr(&pk, s_banks[inv->bank]);
    pm_mp_pack_cstr(&pk, "reg_no");
    pm_mp_pack_cstr(&pk, inv->reg_no);
    assert(buf.size <= JOBS_PAYLOAD_MAX);
    memcpy(job->payload, buf.data, buf.size);
    job->payload_len = buf.size;
    msgpack_sbuffer_destroy(&buf);
}

int orders_api_register(req_t *req)
{
    invoice_t *inv = calloc(1, sizeof *inv);
    assert(inv);
    int64_t total = 0;
    char desc[S_DESC_MAX + 1];
    int rc = -1;
    if (s_read_invoice(req, inv, "") != 0 ||
        req_amount(req, "total_minor", "TotalPrice", &total) != 0 ||
        req_text(req, "desc", "OrderDesc", 1, S_DESC_MAX, REQ_OPTIONAL, desc, sizeof desc) != 0)
        goto done;
    if (total != inv->total_minor) {
        rc = req_refuse(req, PM_ERR_VALIDATION,
                        "TotalPrice must be the invoice's total, %lld.%02lld",
                        (long long)(inv->total_minor / 100), (long long)(inv->total_minor % 100));
        goto done;
    }
    if (inv->order_id[0] || inv->state != INV_AWAITING) {
        rc = s_reply(req, inv); /* registered already: the same order */
        goto done;
    }
    if (strlen(inv->reg_no) > S_ORDER_NUMBER_MAX - 5) {
        /* "<reg_no>-<n>" with n up to 9999 must fit the bank's field. */
        rc = req_refuse(req, PM_ERR_VALIDATION,
                        "registration number %s is too long for the bank's order number (%d)",
                        inv->reg_no, S_ORDER_NUMBER_MAX - 5);
        goto done;
    }
    if (park_waiters_full(req->park)) {
        rc = req_reject(req, PM_ERR_UNAVAILABLE, "too many orders are being registered; try again");
        goto done;
    }
    jobs_job_t *job = calloc(1, sizeof *job);
    assert(job);
    rc = inv->job_id[0] ? jobs_load(req->db, req->txn, inv->job_id, job) : MDB_NOTFOUND;
    if (rc == 0) {
        free(job);
        s_park(req, inv); /* a registration is on its way: wait for it */
        rc = 0;
        goto done;
    }
    if (rc != MDB_NOTFOUND) {
        free(job);
        rc = req_store_error(req, rc, "job load");
        goto done;
    }
    if (desc[0] && !inv->desc[0])
        snprintf(inv->desc, sizeof inv->desc, "%s", desc);
    inv->two_phase = inv->bank == BANK_HALKBANK && req->limits->halkbank_two_phase;
    inv->registrations++;
    s_pack_bank_payload(job, inv, ORDERS_REGISTER, req->limits);
    rc = jobs_enqueue(req->db, req->txn, ORDERS_REGISTER, job->payload, job->payload_len,
                      req->now_ms, inv->job_id);
    free(job);
    s_touch(inv, req->now_ms);
    if (rc == 0)
        rc = s_save(req->db, req->txn, inv);
    if (rc != 0) {
        rc = req_store_error(req, rc, "order register");
        goto done;
    }
    pm_info("invoice %s: registering order %s-%lld with %s (trace %s)", inv->reg_no, inv->reg_no,
            (long long)inv->registrations, s_banks[inv->bank], req->header->trace_id);
    s_park(req, inv);
    rc = 0;
done:
    free(inv);
    return rc;
}

int orders_api_validate(req_t *req)
{
    char account[PM_PRINCIPAL_MAX + 1], order_id[S_ORDER_ID_MAX + 1];
    if (req_text(req, "account", "RpAccGuid", 1, PM_PRINCIPAL_MAX, REQ_ASCII | REQ_OPTIONAL,
                 account, sizeof account) != 0 ||
        req_text(req, "order_id", "OrderId", 1, S_ORDER_ID_MAX, REQ_ASCII, order_id,
                 sizeof order_id) != 0)
        return -1;
    if (req->caller->role != AUTH_ROLE_SERVICE)
        account[0] = '\0'; /* a user validates its own invoices, whatever RpAccGuid says */
    invoice_t *inv = calloc(1, sizeof *inv);
    assert(inv);
    int rc = -1;
    if (s_read_invoice(req, inv, account) != 0)
        goto done;
    if (!inv->order_id[0] || strcmp(inv->order_id, order_id) != 0) {
        rc = req_refuse(req, PM_ERR_NOT_FOUND, "no order %s for invoice %s", order_id, inv->reg_no);
        goto done;
    }
    if (inv->state != INV_AWAITING) {
        rc = s_reply(req, inv); /* paid (or failed) once and for all */
        goto done;
    }
    if (park_waiters_full(req->park)) {
        rc = req_reject(req, PM_ERR_UNAVAILABLE, "too many validations wait; try again");
        goto done;
    }
    jobs_job_t *job = calloc(1, sizeof *job);
    assert(job);
    rc = inv->job_id[0] ? jobs_load(req->db, req->txn, inv->job_id, job) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND) {
        s_pack_bank_payload(job, inv, ORDERS_STATUS, req->limits);
        rc = jobs_enqueue(req->db, req->txn, ORDERS_STATUS, job->payload, job->payload_len,
                          req->now_ms, inv->job_id);
        if (rc == 0)
            rc = s_save(req->db, req->txn, inv);
    } else if (rc == 0 && job->state != JOBS_LEASED) {
        /* Ask now, whatever retry-worker had planned. */
        snprintf(job->kind, sizeof job->kind, "%s", ORDERS_STATUS);
        s_pack_bank_payload(job, inv, ORDERS_STATUS, req->limits);
        jobs_requeue(job, req->now_ms);
        job->gen++;
        rc = jobs_save(req->db, req->txn, job);
    }
    free(job);
    if (rc != 0) {
        rc = req_store_error(req, rc, "order status");
        goto done;
    }
    s_park(req, inv);
    rc = 0;
done:
    free(inv);
    return rc;
}

/* ---- ADMIN_ORDER_SHOW ------------------------------------------------------ */

int orders_admin_show(req_t *req)
{
    char reg_no[S_REGNO_MAX + 1];
    if (req_text(req, "reg_no", "reg_no", 1, S_REGNO_MAX, REQ_ASCII, reg_no, sizeof reg_no) != 0)
        return -1;
    invoice_t *inv = calloc(1, sizeof *inv);
    assert(inv);
    int rc = s_load(req->db, req->txn, reg_no, inv);
    if (rc == MDB_NOTFOUND) {
        free(inv);
        return req_refuse(req, PM_ERR_NOT_FOUND, "no invoice %s", reg_no);
    }
    if (rc == 0) {
        msgpack_pack_map(&req->pk, 2);
        pm_mp_pack_cstr(&req->pk, "err");
        msgpack_pack_int(&req->pk, PM_OK);
        pm_mp_pack_cstr(&req->pk, "invoice");
        rc = s_pack_invoice(req->db, req->txn, &req->pk, inv, true);
    }
    free(inv);
    return rc == 0 ? 0 : req_store_error(req, rc, "invoice show");
}

/* ---- the core payment API's bank leg --------------------------------------- */

/* "P-" and the payment id's 16 bytes in URL-safe base64: 24 characters, so
 * the order numbers "<reg_no>-<n>" fit RBS's 32, and no registration number
 * type can make one (their prefixes and alphabets are letters and digits). */
static int s_payment_reg_no(const char *payment_id, char out[S_REGNO_MAX + 1])
{
    uint8_t b[16];
    size_t n = 0;
    if (sodium_hex2bin(b, sizeof b, payment_id, strlen(payment_id), "-", &n, NULL) != 0 ||
        n != sizeof b)
        return -1;
    memcpy(out, "P-", 2);
    sodium_bin2base64(out + 2, S_REGNO_MAX - 1, b, sizeof b,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int orders_payment_begin(req_t *req, const payment_t *p, bool tfeb)
{
    invoice_t *inv = calloc(1, sizeof *inv);
    jobs_job_t *job = calloc(1, sizeof *job);
    assert(inv && job);
    int rc = s_payment_reg_no(p->id, inv->reg_no) == 0 ? 0 : DB_ECORRUPT;
    if (rc == 0) {
        invoice_t old;
        rc = s_load(req->db, req->txn, inv->reg_no, &old);
        if (rc == 0) {
            pm_error("payment %s: its bank invoice %s exists already", p->id, inv->reg_no);
            rc = DB_ECORRUPT;
        } else if (rc == MDB_NOTFOUND) {
            rc = 0;
        }
    }
    if (rc != 0)
        goto done;
    snprintf(inv->principal, sizeof inv->principal, "%s", p->sender_id);
    snprintf(inv->payment_id, sizeof inv->payment_id, "%s", p->id);
    inv->state = INV_AWAITING;
    inv->bank = tfeb ? BANK_TFEB : BANK_HALKBANK;
    snprintf(inv->currency, sizeof inv->currency, "%s", p->currency);
    inv->total_minor = p->amount_minor;
    inv->nlines = 1;
    snprintf(inv->desc, sizeof inv->desc, "paymesh payment %s", p->id);
    crypto_generichash(inv->fp, S_FP_LEN, (const unsigned char *)p->id, strlen(p->id), NULL, 0);
    inv->fp_len = S_FP_LEN;
    inv->created_ms = inv->updated_ms = req->now_ms;
    inv->two_phase = !tfeb && req->limits->halkbank_two_phase;
    inv->registrations = 1;
    s_line_t line = {.count = 1, .price_minor = p->amount_minor};
    snprintf(line.name, sizeof line.name, "payment %s", p->id);
    uint8_t key[S_REGNO_MAX + 3];
    s_pack_bank_payload(job, inv, ORDERS_REGISTER, req->limits);
    if ((rc = rec_save(req->db, req->txn, DB_INVOICE_LINES, key, s_line_key(key, inv->reg_no, 0),
                       &s_line_schema, &line)) != 0 ||
        (rc = jobs_enqueue(req->db, req->txn, ORDERS_REGISTER, job->payload, job->payload_len,
                           req->now_ms, inv->job_id)) != 0 ||
        (rc = s_save(req->db, req->txn, inv)) != 0)
        goto done;
    pm_info("payment %s: registering order %s-1 with %s (trace %s)", p->id, inv->reg_no,
            s_banks[inv->bank], req->header->trace_id);
done:
    free(job);
    free(inv);
    return rc;
}

int orders_payment_pack_bank(db_t *db, MDB_txn *txn, const char *payment_id, msgpack_packer *pk)
{
    invoice_t *inv = calloc(1, sizeof *inv);
    assert(inv);
    int rc = s_payment_reg_no(payment_id, inv->reg_no) == 0 ? 0 : MDB_NOTFOUND;
    if (rc == 0)
        rc = s_load(db, txn, inv->reg_no, inv);
    if (rc == 0) {
        msgpack_pack_map(pk, 6);
        pm_mp_pack_cstr(pk, "name");
        pm_mp_pack_cstr(pk, s_banks[inv->bank]);
        pm_mp_pack_cstr(pk, "reg_no");
        pm_mp_pack_cstr(pk, inv->reg_no);
        pm_mp_pack_cstr(pk, "order_id");
        rec_pack_opt(pk, inv->order_id);
        pm_mp_pack_cstr(pk, "payment_url");
        rec_pack_opt(pk, inv->state == INV_AWAITING ? inv->checkout_url : "");
        pm_mp_pack_cstr(pk, "state");
        rec_pack_opt(pk, inv->bank_state);
        pm_mp_pack_cstr(pk, "registrations");
        msgpack_pack_int64(pk, inv->registrations);
    }
    free(inv);
    return rc;
}

/* ---- provider-bank's reports ---------------------------------------------- */

/* The invoice job belongs to: 0, S_STALE when the job is stale (then it
 * was deleted), or an LMDB code. */
static int s_job_invoice(db_t *db, MDB_txn *txn, const jobs_job_t *job, invoice_t *inv)
{
    char reg_no[S_REGNO_MAX + 1] = "";
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, (const char *)job->payload, job->payload_len, &off) ==
            MSGPACK_UNPACK_SUCCESS &&
        off == job->payload_len)
        pm_mp_copy_str(&u.data, "reg_no", reg_no, sizeof reg_no);
    msgpack_unpacked_destroy(&u);
    int rc = reg_no[0] ? s_load(db, txn, reg_no, inv) : MDB_NOTFOUND;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if (rc == MDB_NOTFOUND || strcmp(inv->job_id, job->id) != 0) {
        pm_warn("bank job %s does not belong to invoice %s any more; deleted", job->id, reg_no);
        rc = jobs_delete(db, txn, job->id);
        return rc == 0 || rc == MDB_NOTFOUND ? S_STALE : rc;
    }
    return 0;
}

static int s_job_end(db_t *db, MDB_txn *txn, invoice_t *inv)
{
    int rc = inv->job_id[0] ? jobs_delete(db, txn, inv->job_id) : 0;
    inv->job_id[0] = '\0';
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_register_result(req_t *req, jobs_job_t *job, invoice_t *inv, jobs_outcome_t outcome,
                             const char *reason, const msgpack_object *data)
{
    int rc;
    if (outcome == JOBS_OUT_OK) {
        char *url = malloc(S_URL_MAX + 1);
        assert(url);
        req_data_str(data, "order_id", inv->order_id, sizeof inv->order_id);
        req_data_str(data, "checkout_url", url, S_URL_MAX + 1);
        if (inv->order_id[0] && req_http_url(url)) {
            snprintf(inv->checkout_url, sizeof inv->checkout_url, "%s", url);
        } else {
            inv->order_id[0] = '\0';
            outcome = JOBS_OUT_UNKNOWN;
            reason = "the bank's answer has no usable order";
        }
        free(url);
    }
    s_touch(inv, req->now_ms);
    if (outcome == JOBS_OUT_OK) {
        inv->has_registered = true;
        inv->registered_ms = req->now_ms;
        snprintf(inv->bank_state, sizeof inv->bank_state, "registered");
        pm_info("invoice %s: order %s registered with %s", inv->reg_no, inv->order_id,
                s_banks[inv->bank]);
        /* The same job syncs the order's status from now on, on
         * retry-worker's schedule. */
        snprintf(job->kind, sizeof job->kind, "%s", ORDERS_STATUS);
        s_pack_bank_payload(job, inv, ORDERS_STATUS, req->limits);
        if ((rc = jobs_to_retry(req->db, req->txn, job, JOBS_OUT_OK, "registered", "registered",
                                req->now_ms)) != 0 ||
            (rc = s_save(req->db, req->txn, inv)) != 0)
            return rc;
        return s_answer(req, inv);
    }
    if (inv->payment_id[0]) {
        /* No client waits: a payment's order is registered again (a new
         * order number, on retry-worker's schedule) until the bank refuses
         * it, which fails the payment. */
        pm_warn("payment %s: order not registered with %s: %s %s", inv->payment_id,
                s_banks[inv->bank], jobs_outcome_name(outcome), reason);
        if (outcome == JOBS_OUT_REJECTED) {
            inv->state = INV_FAILED;
            snprintf(inv->bank_state, sizeof inv->bank_state, "refused");
            rc = s_job_end(req->db, req->txn, inv);
        } else {
            rc = jobs_to_retry(req->db, req->txn, job, outcome, reason, NULL, req->now_ms);
        }
        return rc == 0 ? s_save(req->db, req->txn, inv) : rc;
    }
    if ((rc = s_job_end(req->db, req->txn, inv)) != 0 || (rc = s_save(req->db, req->txn, inv)) != 0)
        return rc;
    char msg[REQ_MSG_MAX];
    if (outcome == JOBS_OUT_REJECTED) {
        snprintf(msg, sizeof msg, "%s refused the order: %s", s_banks[inv->bank], reason);
        s_answer_error(req, inv, PM_ERR_PROVIDER, msg);
    } else {
        snprintf(msg, sizeof msg, "%s could not be reached; try again", s_banks[inv->bank]);
        s_answer_error(req, inv, PM_ERR_UNAVAILABLE, msg);
    }
    pm_warn("invoice %s: order not registered: %s %s", inv->reg_no, jobs_outcome_name(outcome),
            reason);
    return 0;
}

static int s_status_result(req_t *req, jobs_job_t *job, invoice_t *inv, jobs_outcome_t outcome,
                           const char *reason, const msgpack_object *data)
{
    int rc;
    char state[JOBS_STATUS_MAX + 1];
    s_touch(inv, req->now_ms);
    if (outcome != JOBS_OUT_OK) {
        if ((rc = jobs_to_retry(req->db, req->txn, job, outcome, reason, NULL, req->now_ms)) != 0 ||
            (rc = s_save(req->db, req->txn, inv)) != 0)
            return rc;
        char msg[REQ_MSG_MAX];
        snprintf(msg, sizeof msg, "%s could not be reached; try again", s_banks[inv->bank]);
        s_answer_error(req, inv, PM_ERR_UNAVAILABLE, msg);
        return 0;
    }
    req_data_str(data, "state", state, sizeof state);
    snprintf(inv->bank_state, sizeof inv->bank_state, "%s", state);
    if (strcmp(state, "paid") == 0) {
        inv->state = INV_PAID;
        inv->has_paid = true;
        inv->paid_ms = req->now_ms;
        pm_info("invoice %s paid (order %s, %s)", inv->reg_no, inv->order_id, s_banks[inv->bank]);
        rc = s_job_end(req->db, req->txn, inv);
    } else if (strcmp(state, "declined") == 0 || strcmp(state, "reversed") == 0 ||
               strcmp(state, "refunded") == 0 || strcmp(state, "not_found") == 0) {
        inv->state = INV_FAILED;
        pm_info("invoice %s: payment failed, the bank says %s", inv->reg_no, state);
        rc = s_job_end(req->db, req->txn, inv);
    } else if (strcmp(state, "preauthorized") == 0 && inv->two_phase) {
        /* The bank holds the amount: the deposit takes it, now (what the
         * bank holds is known, so this is not a blind resend). The waiters
         * hear the deposit's outcome. */
        snprintf(job->kind, sizeof job->kind, "%s", S_DEPOSIT);
        s_pack_bank_payload(job, inv, S_DEPOSIT, req->limits);
        jobs_requeue(job, req->now_ms);
        job->gen++;
        if ((rc = jobs_save(req->db, req->txn, job)) == 0)
            rc = s_save(req->db, req->txn, inv);
        return rc;
    } else {
        /* registered, pending (or a one-phase preauthorized): not paid yet. */
        rc = jobs_to_retry(req->db, req->txn, job, JOBS_OUT_OK, "", state, req->now_ms);
    }
    if (rc == 0)
        rc = s_save(req->db, req->txn, inv);
    return rc == 0 ? s_answer(req, inv) : rc;
}

/* A deposit's report: ok takes the money (paid); anything else is followed
 * by a status on retry-worker's schedule, never by a second deposit sent
 * blind. */
static int s_deposit_result(req_t *req, jobs_job_t *job, invoice_t *inv, jobs_outcome_t outcome,
                            const char *reason)
{
    int rc;
    inv->deposits++;
    s_touch(inv, req->now_ms);
    if (outcome == JOBS_OUT_OK) {
        inv->state = INV_PAID;
        inv->has_paid = true;
        inv->paid_ms = req->now_ms;
        snprintf(inv->bank_state, sizeof inv->bank_state, "paid");
        pm_info("invoice %s paid: pre-authorization of order %s deposited", inv->reg_no,
                inv->order_id);
        if ((rc = s_job_end(req->db, req->txn, inv)) == 0)
            rc = s_save(req->db, req->txn, inv);
        return rc == 0 ? s_answer(req, inv) : rc;
    }
    pm_warn("invoice %s: deposit of order %s %s: %s; a status comes first", inv->reg_no,
            inv->order_id, jobs_outcome_name(outcome), reason);
    if ((rc = jobs_to_retry(req->db, req->txn, job, outcome, reason, NULL, req->now_ms)) != 0 ||
        (rc = s_save(req->db, req->txn, inv)) != 0)
        return rc;
    char msg[REQ_MSG_MAX];
    snprintf(msg, sizeof msg, "%s did not confirm the payment yet; validate again",
             s_banks[inv->bank]);
    s_answer_error(req, inv, PM_ERR_UNAVAILABLE, msg);
    return 0;
}

int orders_job_result(req_t *req, jobs_job_t *job, jobs_outcome_t outcome, const char *reason,
                      const msgpack_object *data)
{
    invoice_t *inv = calloc(1, sizeof *inv);
    assert(inv);
    int rc = s_job_invoice(req->db, req->txn, job, inv);
    if (rc == 0) {
        pm_info("invoice %s: %s %s%s%s (job %s attempt %lld)", inv->reg_no, job->kind,
                jobs_outcome_name(outcome), outcome != JOBS_OUT_OK ? ": " : "",
                outcome != JOBS_OUT_OK ? reason : "", job->id, (long long)job->attempt);
        if (inv->state != INV_AWAITING) {
            if ((rc = s_job_end(req->db, req->txn, inv)) == 0)
                rc = s_save(req->db, req->txn, inv);
        } else if (strcmp(job->kind, ORDERS_REGISTER) == 0) {
            rc = s_register_result(req, job, inv, outcome, reason, data);
        } else if (strcmp(job->kind, S_DEPOSIT) == 0) {
            rc = s_deposit_result(req, job, inv, outcome, reason);
        } else {
            rc = s_status_result(req, job, inv, outcome, reason, data);
        }
    }
    free(inv);
    if (rc == S_STALE)
        return 0;
    return rc == 0 ? 0 : req_store_error(req, rc, "bank report");
}

int orders_lease_expired(db_t *db, MDB_txn *txn, jobs_job_t *job, int64_t now_ms)
{
    invoice_t *inv = calloc(1, sizeof *inv);
    assert(inv);
    int rc = s_job_invoice(db, txn, job, inv);
    if (rc == 0) {
        pm_warn("invoice %s: the %s call of attempt %lld got no report in its lease", inv->reg_no,
                job->kind, (long long)job->attempt);
        s_touch(inv, now_ms);
        if (strcmp(job->kind, ORDERS_REGISTER) == 0 && !inv->payment_id[0]) {
            /* Its client was answered 503; the next register is a new
             * order number, so nothing can be paid twice. */
            rc = s_job_end(db, txn, inv);
        } else {
            rc = jobs_to_retry(db, txn, job, JOBS_OUT_LEASE_EXPIRED, "no report in the lease", NULL,
                               now_ms);
        }
        if (rc == 0)
            rc = s_save(db, txn, inv);
    }
    free(inv);
    return rc == S_STALE ? 0 : rc;
}

int orders_pack_ctx(db_t *db, MDB_txn *txn, const jobs_job_t *job, msgpack_packer *pk)
{
    invoice_t *inv = calloc(1, sizeof *inv);
    assert(inv);
    char reg_no[S_REGNO_MAX + 1];
    orders_job_ref(job, reg_no, sizeof reg_no);
    int rc = reg_no[0] ? s_load(db, txn, reg_no, inv) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND) {
        msgpack_pack_map(pk, 0);
        rc = 0;
    } else if (rc == 0) {
        msgpack_pack_map(pk, 4);
        pm_mp_pack_cstr(pk, "phase");
        pm_mp_pack_cstr(pk, inv->state == INV_AWAITING ? "open" : "final");
        /* A payment's register may be sent again as a new order: nobody
         * holds the lost one's payment URL. An invoice's client was
         * answered instead. */
        pm_mp_pack_cstr(pk, "resend_register");
        rec_pack_bool(pk, inv->payment_id[0] != '\0');
        pm_mp_pack_cstr(pk, "created_ms");
        msgpack_pack_int64(pk, inv->created_ms);
        pm_mp_pack_cstr(pk, "registered_ms");
        rec_pack_opt_int(pk, inv->has_registered, inv->registered_ms);
    }
    free(inv);
    return rc;
}

int orders_decide(req_t *req, jobs_job_t *job, const char *action, const char *kind, int64_t at_ms,
                  const char **why)
{
    invoice_t *inv = calloc(1, sizeof *inv);
    assert(inv);
    int rc = s_job_invoice(req->db, req->txn, job, inv);
    if (rc != 0)
        goto done;
    if (inv->state != INV_AWAITING) {
        if ((rc = s_job_end(req->db, req->txn, inv)) == 0)
            rc = s_save(req->db, req->txn, inv);
        goto done;
    }
    if (strcmp(action, "park") == 0) {
        job->state = JOBS_PARKED;
        pm_error("invoice %s: its %s job %s is parked for an operator after %lld calls",
                 inv->reg_no, job->kind, job->id, (long long)job->attempt);
        rc = jobs_save(req->db, req->txn, job);
    } else if (strcmp(action, "expire") == 0) {
        bool unregistered = inv->payment_id[0] && !inv->order_id[0];
        if (!unregistered && (!inv->order_id[0] || job->outcome != JOBS_OUT_OK)) {
            *why = "an order expires only when the bank said it was not paid";
            rc = S_REFUSED;
            goto done;
        }
        inv->state = INV_FAILED;
        snprintf(inv->bank_state, sizeof inv->bank_state,
                 unregistered ? "not_registered" : "abandoned");
        s_touch(inv, req->now_ms);
        if (unregistered)
            pm_info("payment %s: no order could be registered with %s; failed", inv->payment_id,
                    s_banks[inv->bank]);
        else
            pm_info("invoice %s: the payer never paid order %s; failed", inv->reg_no,
                    inv->order_id);
        if ((rc = s_job_end(req->db, req->txn, inv)) == 0)
            rc = s_save(req->db, req->txn, inv);
    } else if (strcmp(kind, ORDERS_REGISTER) == 0 && inv->payment_id[0] && !inv->order_id[0]) {
        /* A payment's order again, under the next order number. */
        inv->registrations++;
        snprintf(job->kind, sizeof job->kind, "%s", ORDERS_REGISTER);
        s_pack_bank_payload(job, inv, ORDERS_REGISTER, req->limits);
        jobs_requeue(job, at_ms);
        s_touch(inv, req->now_ms);
        if ((rc = jobs_save(req->db, req->txn, job)) == 0)
            rc = s_save(req->db, req->txn, inv);
    } else if (strcmp(kind, ORDERS_STATUS) != 0 || !inv->order_id[0]) {
        *why = "an order's next call is a status";
        rc = S_REFUSED;
    } else {
        if (strcmp(job->kind, ORDERS_STATUS) != 0) {
            /* After a deposit (reverse, refund) whose outcome is not known:
             * the job becomes the status it was decided to be, never the
             * same money call again. */
            snprintf(job->kind, sizeof job->kind, "%s", ORDERS_STATUS);
            s_pack_bank_payload(job, inv, ORDERS_STATUS, req->limits);
            job->gen++;
        }
        jobs_requeue(job, at_ms);
        rc = jobs_save(req->db, req->txn, job);
    }
done:
    free(inv);
    if (rc == S_STALE)
        return 0;
    if (rc == S_REFUSED)
        return 1;
    return rc == 0 ? 0 : req_store_error(req, rc, "bank decision");
}

void orders_job_ref(const jobs_job_t *job, char *out, size_t cap)
{
    out[0] = '\0';
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, (const char *)job->payload, job->payload_len, &off) ==
            MSGPACK_UNPACK_SUCCESS &&
        off == job->payload_len && pm_mp_copy_str(&u.data, "reg_no", out, cap) != 0)
        out[0] = '\0';
    msgpack_unpacked_destroy(&u);
}
