/*  payment: record codec, state machine, load and save. */
#include "payment.h"

#include <assert.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_log.h"
#include "pm_money.h"

#define PAYMENT_RECORD_FIELDS 13

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

/* "" packs nil: the optional fields' "none". */
static void s_pack_opt(msgpack_packer *pk, const char *s)
{
    pm_mp_pack_cstr(pk, s[0] ? s : NULL);
}

void payment_encode(const payment_t *p, msgpack_sbuffer *buf)
{
    assert(p && buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, PAYMENT_RECORD_FIELDS);
    msgpack_pack_uint32(&pk, PAYMENT_RECORD_VERSION);
    pm_mp_pack_cstr(&pk, p->id);
    pm_mp_pack_cstr(&pk, p->sender_id);
    s_pack_opt(&pk, p->sender_method);
    pm_mp_pack_cstr(&pk, p->recipient_id);
    pm_mp_pack_cstr(&pk, p->recipient_method);
    pm_mp_pack_cstr(&pk, p->currency);
    msgpack_pack_int64(&pk, p->amount_minor);
    msgpack_pack_uint32(&pk, (uint32_t)p->status);
    s_pack_opt(&pk, p->cancel_reason);
    s_pack_opt(&pk, p->accept_info);
    msgpack_pack_int64(&pk, p->created_ms);
    msgpack_pack_int64(&pk, p->updated_ms);
}

/* Copies a str of min..max bytes without NUL into out (cap > max); nil gives
 * "" when optional. */
static int s_str(const msgpack_object *o, char *out, size_t min, size_t max, bool optional)
{
    if (optional && o->type == MSGPACK_OBJECT_NIL) {
        out[0] = '\0';
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_STR)
        return -1;
    size_t n = o->via.str.size;
    if (n < min || n > max || (optional && n == 0) || memchr(o->via.str.ptr, '\0', n))
        return -1;
    memcpy(out, o->via.str.ptr, n);
    out[n] = '\0';
    return 0;
}

static int s_int(const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    return -1;
}

static int s_decode_fields(const msgpack_object *f, payment_t *p, const char **why)
{
    int64_t status = 0;
    if (s_str(&f[1], p->id, PM_UUID_LEN, PM_UUID_LEN, false) != 0 ||
        !pm_uuid_valid(p->id, PM_UUID_LEN)) {
        *why = "bad id";
        return -1;
    }
    if (s_str(&f[2], p->sender_id, 1, PAYMENT_ID_MAX, false) != 0 ||
        s_str(&f[3], p->sender_method, 1, PAYMENT_METHOD_MAX, true) != 0 ||
        s_str(&f[4], p->recipient_id, 1, PAYMENT_ID_MAX, false) != 0 ||
        s_str(&f[5], p->recipient_method, 1, PAYMENT_METHOD_MAX, false) != 0) {
        *why = "bad party field";
        return -1;
    }
    if (s_str(&f[6], p->currency, 3, 3, false) != 0 || !pm_currency_find(p->currency, 3)) {
        *why = "bad currency";
        return -1;
    }
    if (s_int(&f[7], &p->amount_minor) != 0 || p->amount_minor <= 0) {
        *why = "bad amount";
        return -1;
    }
    if (s_int(&f[8], &status) != 0 || status < 0 || status >= PAYMENT_STATUS__COUNT) {
        *why = "bad status";
        return -1;
    }
    p->status = (payment_status_t)status;
    if (s_str(&f[9], p->cancel_reason, 1, PAYMENT_REASON_MAX, true) != 0 ||
        (p->cancel_reason[0] &&
         !payment_reason_valid(p->cancel_reason, strlen(p->cancel_reason)))) {
        *why = "bad cancel reason";
        return -1;
    }
    if (s_str(&f[10], p->accept_info, 1, PAYMENT_ACCEPT_INFO_MAX, true) != 0) {
        *why = "bad accept info";
        return -1;
    }
    if (s_int(&f[11], &p->created_ms) != 0 || s_int(&f[12], &p->updated_ms) != 0 ||
        p->created_ms < 0 || p->updated_ms < p->created_ms) {
        *why = "bad timestamps";
        return -1;
    }
    return 0;
}

int payment_decode(const void *data, size_t size, payment_t *p, const char **why)
{
    assert(p && why);
    memset(p, 0, sizeof *p);
    *why = NULL;
    if (!data || size == 0) {
        *why = "empty";
        return -1;
    }
    msgpack_unpacked u;
    const msgpack_object *f;
    int rc = -1;
    if (pm_mp_unpack_record(data, size, PAYMENT_RECORD_VERSION, PAYMENT_RECORD_FIELDS, &u, &f,
                            why) != 0)
        goto destroy_unpacked;
    rc = s_decode_fields(f, p, why);
destroy_unpacked:
    msgpack_unpacked_destroy(&u);
    return rc;
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
    s_pack_opt(pk, p->sender_method);
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
    s_pack_opt(pk, p->cancel_reason);
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
