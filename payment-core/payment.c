/*  payment: record codec, state machine, load and save. */
#include "payment.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "rec.h"
#include "pm_money.h"

static const char *s_status_names[PAYMENT_STATUS__COUNT] = {
    [PAYMENT_CREATED] = "created",
    [PAYMENT_ACCEPTED] = "accepted",
    [PAYMENT_BANK_PROCESSING] = "bank_processing",
    [PAYMENT_SUCCEEDED] = "succeeded",
    [PAYMENT_FAILED] = "failed",
    [PAYMENT_CANCELLED] = "cancelled",
};

static const char *s_action_names[PAYMENT_ACTION__COUNT] = {
    [PAYMENT_ACTION_ACCEPT] = "accept",
    [PAYMENT_ACTION_CANCEL] = "cancel",
    [PAYMENT_ACTION_EDIT] = "edit",
};

static const char *s_reasons[] = {"requested_by_sender", "duplicate", "fraudulent", "abandoned",
                                  "other"};

const char *payment_status_name(payment_status_t status)
{
    if ((unsigned)status >= PAYMENT_STATUS__COUNT)
        return "unknown";
    return s_status_names[status];
}

const char *payment_action_name(payment_action_t action)
{
    assert((unsigned)action < PAYMENT_ACTION__COUNT);
    return s_action_names[action];
}

bool payment_transition(payment_status_t from, payment_action_t action, payment_status_t *to)
{
    assert(to);
    bool open = from == PAYMENT_CREATED || from == PAYMENT_ACCEPTED;
    switch (action) {
    case PAYMENT_ACTION_ACCEPT:
        if (from != PAYMENT_CREATED)
            return false;
        *to = PAYMENT_ACCEPTED;
        return true;
    case PAYMENT_ACTION_CANCEL:
        if (!open)
            return false;
        *to = PAYMENT_CANCELLED;
        return true;
    case PAYMENT_ACTION_EDIT:
        if (!open)
            return false;
        *to = PAYMENT_CREATED;
        return true;
    case PAYMENT_ACTION__COUNT:
        break;
    }
    return false;
}

bool payment_reason_valid(const char *reason, size_t len)
{
    for (size_t i = 0; i < sizeof s_reasons / sizeof s_reasons[0]; i++)
        if (strlen(s_reasons[i]) == len && memcmp(s_reasons[i], reason, len) == 0)
            return true;
    return false;
}

#define F(kind, field, min, max, why)                                                              \
    {                                                                                              \
        kind, offsetof(payment_t, field), min, max, 0, why                                         \
    }
static const rec_field_t s_payment_fields[] = {
    F(REC_STR, id, PM_UUID_LEN, PM_UUID_LEN, "bad id"),
    F(REC_STR, sender_id, 1, PAYMENT_ID_MAX, "bad party field"),
    F(REC_STR_OPT, sender_method, 1, PAYMENT_METHOD_MAX, "bad party field"),
    F(REC_STR, recipient_id, 1, PAYMENT_ID_MAX, "bad party field"),
    F(REC_STR, recipient_method, 1, PAYMENT_METHOD_MAX, "bad party field"),
    F(REC_STR, currency, 3, 3, "bad currency"),
    F(REC_I64, amount_minor, 1, INT64_MAX, "bad amount"),
    F(REC_ENUM, status, 0, PAYMENT_STATUS__COUNT - 1, "bad status"),
    F(REC_STR_OPT, cancel_reason, 1, PAYMENT_REASON_MAX, "bad cancel reason"),
    F(REC_STR_OPT, accept_info, 1, PAYMENT_ACCEPT_INFO_MAX, "bad accept info"),
    F(REC_I64, created_ms, 0, INT64_MAX, "bad timestamps"),
    F(REC_I64, updated_ms, 0, INT64_MAX, "bad timestamps"),
};
#undef F
static const rec_schema_t s_payment_schema = {"payment", PAYMENT_RECORD_VERSION, sizeof(payment_t),
                                              REC_FIELDS(s_payment_fields)};
_Static_assert(sizeof(payment_status_t) == sizeof(int), "stored as REC_ENUM");

void payment_encode(const payment_t *p, msgpack_sbuffer *buf)
{
    assert(p && buf);
    rec_encode(&s_payment_schema, p, buf);
}

int payment_decode(const void *data, size_t size, payment_t *p, const char **why)
{
    assert(p && why);
    *why = NULL;
    if (!data || size == 0) {
        memset(p, 0, sizeof *p);
        *why = "empty";
        return -1;
    }
    if (rec_decode(&s_payment_schema, data, size, p, why) != 0)
        return -1;
    /* What the table cannot say. */
    if (!pm_uuid_valid(p->id, PM_UUID_LEN))
        *why = "bad id";
    else if (!pm_currency_find(p->currency, 3))
        *why = "bad currency";
    else if (p->cancel_reason[0] &&
             !payment_reason_valid(p->cancel_reason, strlen(p->cancel_reason)))
        *why = "bad cancel reason";
    else if (p->updated_ms < p->created_ms)
        *why = "bad timestamps";
    else
        return 0;
    return -1;
}

void payment_pack(msgpack_packer *pk, const payment_t *p)
{
    assert(pk && p);
    msgpack_pack_map(pk, 11);
    pm_mp_pack_cstr(pk, "id");
    pm_mp_pack_cstr(pk, p->id);
    pm_mp_pack_cstr(pk, "sender_id");
    pm_mp_pack_cstr(pk, p->sender_id);
    pm_mp_pack_cstr(pk, "sender_method");
    rec_pack_opt(pk, p->sender_method);
    pm_mp_pack_cstr(pk, "recipient_id");
    pm_mp_pack_cstr(pk, p->recipient_id);
    pm_mp_pack_cstr(pk, "recipient_method");
    pm_mp_pack_cstr(pk, p->recipient_method);
    pm_mp_pack_cstr(pk, "currency");
    pm_mp_pack_cstr(pk, p->currency);
    pm_mp_pack_cstr(pk, "amount_minor");
    msgpack_pack_int64(pk, p->amount_minor);
    pm_mp_pack_cstr(pk, "status");
    pm_mp_pack_cstr(pk, payment_status_name(p->status));
    pm_mp_pack_cstr(pk, "cancel_reason");
    rec_pack_opt(pk, p->cancel_reason);
    pm_mp_pack_cstr(pk, "created_ms");
    msgpack_pack_int64(pk, p->created_ms);
    pm_mp_pack_cstr(pk, "updated_ms");
    msgpack_pack_int64(pk, p->updated_ms);
}

int payment_load(db_t *db, MDB_txn *txn, const char *id, payment_t *p)
{
    assert(db && txn && id && p);
    MDB_val val;
    int rc = db_get(db, txn, DB_PAYMENTS, id, strlen(id), &val);
    if (rc != 0)
        return rc;
    const char *why = NULL;
    if (payment_decode(val.mv_data, val.mv_size, p, &why) != 0) {
        pm_error("payment record %s is corrupt: %s", id, why);
        return DB_ECORRUPT;
    }
    if (strcmp(p->id, id) != 0) {
        pm_error("payment record %s is corrupt: it holds id %s", id, p->id);
        return DB_ECORRUPT;
    }
    return 0;
}

int payment_save(db_t *db, MDB_txn *txn, const payment_t *p)
{
    assert(db && txn && p && strlen(p->id) == PM_UUID_LEN);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    payment_encode(p, &buf);
    int rc = db_put(db, txn, DB_PAYMENTS, p->id, PM_UUID_LEN, buf.data, buf.size, 0);
    msgpack_sbuffer_destroy(&buf);
    return rc;
}
