/*  payment_api: create, get, cancel, edit, accept. */
#include "payment_api.h"

#include <assert.h>
#include <ctype.h>
#include <sodium.h>
#include <string.h>

#include "methods.h"
#include "orders.h"
#include "payment.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_ids.h"

#define S_DEFAULT_REASON "requested_by_sender"

static bool s_is_service(const req_t *req)
{
    return req->caller->role == AUTH_ROLE_SERVICE;
}

static bool s_is_sender(const req_t *req, const payment_t *p)
{
    return s_is_service(req) || strcmp(p->sender_id, req->caller->principal) == 0;
}

static bool s_is_recipient(const req_t *req, const payment_t *p)
{
    return s_is_service(req) || strcmp(p->recipient_id, req->caller->principal) == 0;
}

static int s_reply_payment(req_t *req, const payment_t *p)
{
    msgpack_pack_map(&req->pk, 2);
    pm_mp_pack_cstr(&req->pk, "err");
    msgpack_pack_int(&req->pk, PM_OK);
    pm_mp_pack_cstr(&req->pk, "payment");
    payment_pack(&req->pk, p);
    return 0;
}

/* A payment with a bank leg: the reply with its BANK map beside it. */
static int s_reply_with_bank(req_t *req, const payment_t *p)
{
    msgpack_sbuffer bank;
    msgpack_sbuffer_init(&bank);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &bank, msgpack_sbuffer_write);
    int rc = orders_payment_pack_bank(req->db, req->txn, p->id, &pk);
    if (rc == 0) {
        msgpack_pack_map(&req->pk, 3);
        pm_mp_pack_cstr(&req->pk, "err");
        msgpack_pack_int(&req->pk, PM_OK);
        pm_mp_pack_cstr(&req->pk, "payment");
        payment_pack(&req->pk, p);
        pm_mp_pack_cstr(&req->pk, "bank");
        msgpack_sbuffer_write(req->out, bank.data, bank.size);
    }
    msgpack_sbuffer_destroy(&bank);
    if (rc == MDB_NOTFOUND)
        return s_reply_payment(req, p);
    return rc == 0 ? 0 : req_store_error(req, rc, "payment bank leg");
}

/* Reads the "id" field: any text up to 128 bytes; whether it names a
 * payment is decided later (a malformed id is a 404 like a missing one). */
static int s_read_id(req_t *req, char id[PAYMENT_ID_MAX + 1])
{
    return req_text(req, "id", "id", 1, PAYMENT_ID_MAX, 0, id, PAYMENT_ID_MAX + 1);
}

/* Loads payment `id` as the caller may see it: 0, or -1 with the outcome set
 * (404 when it does not exist or is not the caller's to see). */
static int s_load_visible(req_t *req, const char *id, payment_t *p)
{
    size_t len = strlen(id);
    if (!pm_uuid_valid(id, len))
        return req_refuse(req, PM_ERR_NOT_FOUND, "payment %s not found", id);
    char key[PM_UUID_LEN + 1];
    for (size_t i = 0; i <= len; i++)
        key[i] = (char)tolower((unsigned char)id[i]);
    int rc = payment_load(req->db, req->txn, key, p);
    if (rc == MDB_NOTFOUND)
        return req_refuse(req, PM_ERR_NOT_FOUND, "payment %s not found", id);
    if (rc != 0)
        return req_store_error(req, rc, "payment load");
    if (!s_is_sender(req, p) && !s_is_recipient(req, p))
        return req_refuse(req, PM_ERR_NOT_FOUND, "payment %s not found", id);
    return 0;
}

/* The shared part of cancel, edit and accept, after the idempotency key:
 * load, permission, transition. On 0, p holds the payment in its new status
 * (the caller adds the action's own changes and saves). */
static int s_begin_action(req_t *req, const char *id, payment_action_t action, payment_t *p)
{
    if (s_load_visible(req, id, p) != 0)
        return -1;
    bool allowed = action == PAYMENT_ACTION_ACCEPT ? s_is_recipient(req, p) : s_is_sender(req, p);
    if (!allowed)
        return req_refuse(req, PM_ERR_ACCESS, "only the %s may %s payment %s",
                          action == PAYMENT_ACTION_ACCEPT ? "recipient" : "sender",
                          payment_action_name(action), id);
    payment_status_t to;
    if (!payment_transition(p->status, action, &to))
        return req_refuse(req, PM_ERR_VALIDATION, "payment %s is %s; cannot %s", id,
                          payment_status_name(p->status), payment_action_name(action));
    p->status = to;
    /* Never before the last update, even if the wall clock stepped back. */
    p->updated_ms = req->now_ms > p->updated_ms ? req->now_ms : p->updated_ms;
    return 0;
}

/* Saves p and replies with it. */
static int s_save_and_reply(req_t *req, const payment_t *p)
{
    int rc = payment_save(req->db, req->txn, p);
    if (rc != 0)
        return req_store_error(req, rc, "payment save");
    return s_reply_payment(req, p);
}

/* A new payment id: a UUID version 7 (RFC 9562), 48 bits of Unix time in
 * ms then 74 random bits. Ids made close in time sort close together, so a
 * batch of creates appends to a few B-tree leaves of the payments table
 * instead of dirtying one random leaf each: fewer pages to write and fsync
 * per commit, and a working set that stays small as the table grows. The
 * random part (libsodium's CSPRNG, through pm_random_buf) keeps ids
 * unguessable. */
static void s_payment_id_new(char out[PM_UUID_LEN + 1], int64_t now_ms)
{
    uint8_t b[16];
    uint64_t t = now_ms > 0 ? (uint64_t)now_ms : 0;
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(t >> (40 - 8 * i));
    pm_random_buf(b + 6, sizeof b - 6);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x70); /* version 7 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 9562 variant */
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 0x0f];
    }
    *o = '\0';
}

int payment_api_create(req_t *req)
{
    payment_t p;
    memset(&p, 0, sizeof p);
    if (req_text(req, "sender_id", "sender.sender_id", 1, PAYMENT_ID_MAX, 0, p.sender_id,
                 sizeof p.sender_id) != 0 ||
        req_text(req, "sender_method", "sender.method_id", 1, PAYMENT_METHOD_MAX, REQ_OPTIONAL,
                 p.sender_method, sizeof p.sender_method) != 0 ||
        req_text(req, "recipient_id", "recipcient.recipcient_id", 1, PAYMENT_ID_MAX, 0,
                 p.recipient_id, sizeof p.recipient_id) != 0 ||
        req_text(req, "recipient_method", "money_info.method_id", 1, PAYMENT_METHOD_MAX, 0,
                 p.recipient_method, sizeof p.recipient_method) != 0 ||
        req_currency(req, "currency", "money_info.currency", p.currency) != 0 ||
        req_amount(req, "amount_minor", "money_info.amount", &p.amount_minor) != 0)
        return -1;
    int claim = req_idem_claim(req);
    if (claim != 0)
        return claim < 0 ? -1 : 0;
    if (!s_is_service(req) && strcmp(p.sender_id, req->caller->principal) != 0)
        return req_refuse(req, PM_ERR_ACCESS, "sender.sender_id must be the caller's principal");
    if (method_check(req, p.recipient_id, p.recipient_method, p.currency, "money_info.method_id",
                     NULL) != 0)
        return -1;
    s_payment_id_new(p.id, req->now_ms);
    p.status = PAYMENT_CREATED;
    p.created_ms = req->now_ms;
    p.updated_ms = req->now_ms;
    return s_save_and_reply(req, &p);
}

int payment_api_get(req_t *req)
{
    char id[PAYMENT_ID_MAX + 1];
    payment_t p;
    if (s_read_id(req, id) != 0 || s_load_visible(req, id, &p) != 0)
        return -1;
    if (p.status == PAYMENT_BANK_PROCESSING || p.status == PAYMENT_SUCCEEDED ||
        p.status == PAYMENT_FAILED)
        return s_reply_with_bank(req, &p);
    return s_reply_payment(req, &p);
}

int payment_api_cancel(req_t *req)
{
    char id[PAYMENT_ID_MAX + 1], reason[PAYMENT_REASON_MAX + 1];
    if (s_read_id(req, id) != 0 || req_text(req, "reason", "reason", 1, PAYMENT_REASON_MAX,
                                            REQ_OPTIONAL | REQ_ASCII, reason, sizeof reason) != 0)
        return -1;
    if (!reason[0])
        strcpy(reason, S_DEFAULT_REASON);
    if (!payment_reason_valid(reason, strlen(reason)))
        return req_reject(req, PM_ERR_VALIDATION,
                          "reason must be one of requested_by_sender, duplicate, fraudulent, "
                          "abandoned, other");
    int claim = req_idem_claim(req);
    if (claim != 0)
        return claim < 0 ? -1 : 0;
    payment_t p;
    if (s_begin_action(req, id, PAYMENT_ACTION_CANCEL, &p) != 0)
        return -1;
    strcpy(p.cancel_reason, reason);
    return s_save_and_reply(req, &p);
}

int payment_api_edit(req_t *req)
{
    char id[PAYMENT_ID_MAX + 1], method[PAYMENT_METHOD_MAX + 1], currency[4];
    int64_t amount_minor = 0;
    if (s_read_id(req, id) != 0 ||
        req_currency(req, "currency", "money_info.currency", currency) != 0 ||
        req_amount(req, "amount_minor", "money_info.amount", &amount_minor) != 0 ||
        req_text(req, "recipient_method", "money_info.method_id", 1, PAYMENT_METHOD_MAX,
                 REQ_OPTIONAL, method, sizeof method) != 0)
        return -1;
    int claim = req_idem_claim(req);
    if (claim != 0)
        return claim < 0 ? -1 : 0;
    payment_t p;
    if (s_begin_action(req, id, PAYMENT_ACTION_EDIT, &p) != 0)
        return -1;
    memcpy(p.currency, currency, sizeof p.currency);
    p.amount_minor = amount_minor;
    if (method[0])
        strcpy(p.recipient_method, method);
    if (method_check(req, p.recipient_id, p.recipient_method, p.currency, "money_info.method_id",
                     NULL) != 0)
        return -1;
    /* The edited payment needs a new acceptance; the old one's info goes. */
    p.accept_info[0] = '\0';
    return s_save_and_reply(req, &p);
}

int payment_api_accept(req_t *req)
{
    char id[PAYMENT_ID_MAX + 1];
    char info[PAYMENT_ACCEPT_INFO_MAX + 1];
    if (s_read_id(req, id) != 0 ||
        req_text(req, "accept_info", "accept_info", 2, PAYMENT_ACCEPT_INFO_MAX,
                 REQ_OPTIONAL | REQ_JSON, info, sizeof info) != 0)
        return -1;
    int claim = req_idem_claim(req);
    if (claim != 0)
        return claim < 0 ? -1 : 0;
    payment_t p;
    if (s_begin_action(req, id, PAYMENT_ACTION_ACCEPT, &p) != 0)
        return -1;
    strcpy(p.accept_info, info);
    /* The recipient's method says who settles it: a bank registers the
     * payment now and the payment follows the bank (bank_processing until
     * succeeded or failed); none (or a method of a payment made before
     * methods were checked, since removed) leaves it accepted. */
    method_t m;
    int rc = method_load(req->db, req->txn, p.recipient_id, p.recipient_method, &m);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return req_store_error(req, rc, "method load");
    if (rc == 0 && m.bank != METHOD_BANK_NONE) {
        p.status = PAYMENT_BANK_PROCESSING;
        if ((rc = payment_save(req->db, req->txn, &p)) != 0 ||
            (rc = orders_payment_begin(req, &p, m.bank == METHOD_BANK_TFEB)) != 0)
            return req_store_error(req, rc, "payment bank leg");
        return s_reply_payment(req, &p);
    }
    return s_save_and_reply(req, &p);
}
