/*  payments: seed 001 requests -> PAYMENT_* bodies; PAYMENT replies -> JSON.
 *
 *  Every body is packed with a fixed key order and the parsed values (amount
 *  in minor units, currency upper-cased), so two requests that mean the same
 *  thing ("1.1" and "1.10") give the same bytes: payment-core fingerprints
 *  the body for idempotency. */
#include "payments.h"

#include <assert.h>
#include <ctype.h>
#include <string.h>

#include "gw_json.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_ids.h"
#include "pm_proto.h"

#define S_STATUS_MAX 32

static const char *const s_cancel_reasons[] = {
    "requested_by_sender", "duplicate", "fraudulent", "abandoned", "other", NULL,
};

/* ---- requests ---------------------------------------------------------- */

/* The {id} of the path as a lower-case UUID, or not_found. */
static int s_path_id(const gw_input_t *in, char id[PM_UUID_LEN + 1], gw_build_t *b)
{
    if (!in->id || !pm_uuid_valid(in->id, in->id_len)) {
        char clip[80];
        gw_text_clip(clip, sizeof clip, in->id ? in->id : "", in->id ? in->id_len : 0, 64);
        return gw_build_fail(b, PM_ERR_NOT_FOUND, "payment %s not found", clip);
    }
    for (size_t i = 0; i < PM_UUID_LEN; i++)
        id[i] = (char)tolower((unsigned char)in->id[i]);
    id[PM_UUID_LEN] = '\0';
    return 0;
}

static void s_pack_kv_strn(msgpack_packer *pk, const char *key, const char *s, size_t len)
{
    pm_mp_pack_cstr(pk, key);
    if (s)
        pm_mp_pack_strn(pk, s, len);
    else
        msgpack_pack_nil(pk);
}

/* money_info: {method_id, currency, amount}; method_id required or not. */
typedef struct {
    const char *method;
    size_t method_len;
    const pm_currency_t *cur;
    int64_t amount_minor;
} s_money_t;

static int s_money_info(json_object *body, bool method_required, int64_t max_minor, s_money_t *m,
                        gw_build_t *b)
{
    static const char *const fields[] = {"method_id", "currency", "amount", NULL};
    json_object *mi;
    if (gw_json_object(body, "", "money_info", true, &mi, b) != 0 ||
        gw_json_only(mi, "money_info", fields, b) != 0 ||
        gw_json_id(mi, "money_info", "method_id", method_required, &m->method, &m->method_len, b) !=
            0 ||
        gw_json_currency(mi, "money_info", "currency", &m->cur, b) != 0 ||
        gw_json_amount(mi, "money_info", "amount", m->cur, max_minor, &m->amount_minor, b) != 0)
        return -1;
    return 0;
}

/* The recipient: "recipcient" (seed) or "recipient", holding
 * "recipcient_id" or "recipient_id". */
static int s_recipient(json_object *body, const char **id, size_t *id_len, gw_build_t *b)
{
    static const char *const fields[] = {"recipcient_id", "recipient_id", NULL};
    json_object *seed, *plain;
    if (gw_json_object(body, "", "recipcient", false, &seed, b) != 0 ||
        gw_json_object(body, "", "recipient", false, &plain, b) != 0)
        return -1;
    if (seed && plain)
        return gw_build_fail(b, PM_ERR_VALIDATION,
                             "recipcient and recipient are the same field; send one");
    if (!seed && !plain)
        return gw_build_fail(b, PM_ERR_VALIDATION, "recipcient is required");
    const char *prefix = seed ? "recipcient" : "recipient";
    json_object *r = seed ? seed : plain;
    const char *a = NULL, *c = NULL;
    size_t a_len = 0, c_len = 0;
    if (gw_json_only(r, prefix, fields, b) != 0 ||
        gw_json_id(r, prefix, "recipcient_id", false, &a, &a_len, b) != 0 ||
        gw_json_id(r, prefix, "recipient_id", false, &c, &c_len, b) != 0)
        return -1;
    if (a && c)
        return gw_build_fail(b, PM_ERR_VALIDATION,
                             "%s.recipcient_id and %s.recipient_id are the same field; send one",
                             prefix, prefix);
    if (!a && !c)
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s.recipcient_id is required", prefix);
    *id = a ? a : c;
    *id_len = a ? a_len : c_len;
    return 0;
}

int gw_payment_create_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"idempotency_token", "money_info", "recipcient",
                                         "recipient",         "sender",     NULL};
    static const char *const sender_fields[] = {"sender_id", "method_id", NULL};
    assert(in && out);
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *idem = NULL, *rcpt = NULL, *sender_id = NULL, *sender_method = NULL;
    size_t idem_len = 0, rcpt_len = 0, sender_id_len = 0, sender_method_len = 0;
    s_money_t money = {0};
    json_object *sender = NULL;
    if (gw_json_only(body, "", fields, out) != 0 ||
        gw_json_idem(body, "", "idempotency_token", &idem, &idem_len, out) != 0 ||
        s_money_info(body, true, in->max_amount_minor, &money, out) != 0 ||
        s_recipient(body, &rcpt, &rcpt_len, out) != 0 ||
        gw_json_object(body, "", "sender", true, &sender, out) != 0 ||
        gw_json_only(sender, "sender", sender_fields, out) != 0 ||
        gw_json_id(sender, "sender", "sender_id", true, &sender_id, &sender_id_len, out) != 0 ||
        gw_json_id(sender, "sender", "method_id", false, &sender_method, &sender_method_len, out) !=
            0)
        goto done;

    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7);
    s_pack_kv_strn(&pk, "idem", idem, idem_len);
    s_pack_kv_strn(&pk, "sender_id", sender_id, sender_id_len);
    s_pack_kv_strn(&pk, "sender_method", sender_method, sender_method_len);
    s_pack_kv_strn(&pk, "recipient_id", rcpt, rcpt_len);
    s_pack_kv_strn(&pk, "recipient_method", money.method, money.method_len);
    s_pack_kv_strn(&pk, "currency", money.cur->code, strlen(money.cur->code));
    pm_mp_pack_cstr(&pk, "amount_minor");
    msgpack_pack_int64(&pk, money.amount_minor);
    out->type = PM_MSG_PAYMENT_CREATE;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

int gw_payment_get_build(const gw_input_t *in, gw_build_t *out)
{
    assert(in && out);
    char id[PM_UUID_LEN + 1];
    if (s_path_id(in, id, out) != 0)
        return -1;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    s_pack_kv_strn(&pk, "id", id, PM_UUID_LEN);
    out->type = PM_MSG_PAYMENT_GET;
    out->err = PM_OK;
    return 0;
}

int gw_payment_cancel_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"idempotency_token", "reason", NULL};
    assert(in && out);
    char id[PM_UUID_LEN + 1];
    if (s_path_id(in, id, out) != 0)
        return -1;
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *idem = NULL;
    size_t idem_len = 0;
    if (gw_json_only(body, "", fields, out) != 0 ||
        gw_json_idem(body, "", "idempotency_token", &idem, &idem_len, out) != 0)
        goto done;
    const char *reason = s_cancel_reasons[0];
    json_object *v = NULL;
    if (json_object_object_get_ex(body, "reason", &v) && v) {
        if (!json_object_is_type(v, json_type_string)) {
            gw_build_fail(out, PM_ERR_VALIDATION, "reason must be a string");
            goto done;
        }
        reason = NULL;
        for (size_t i = 0; s_cancel_reasons[i] && !reason; i++)
            if (strcmp(json_object_get_string(v), s_cancel_reasons[i]) == 0 &&
                (size_t)json_object_get_string_len(v) == strlen(s_cancel_reasons[i]))
                reason = s_cancel_reasons[i];
        if (!reason) {
            gw_build_fail(out, PM_ERR_VALIDATION,
                          "reason must be one of requested_by_sender, duplicate, fraudulent, "
                          "abandoned, other");
            goto done;
        }
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    s_pack_kv_strn(&pk, "idem", idem, idem_len);
    s_pack_kv_strn(&pk, "id", id, PM_UUID_LEN);
    s_pack_kv_strn(&pk, "reason", reason, strlen(reason));
    out->type = PM_MSG_PAYMENT_CANCEL;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

int gw_payment_edit_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"idempotency_token", "money_info", NULL};
    assert(in && out);
    char id[PM_UUID_LEN + 1];
    if (s_path_id(in, id, out) != 0)
        return -1;
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *idem = NULL;
    size_t idem_len = 0;
    s_money_t money = {0};
    if (gw_json_only(body, "", fields, out) != 0 ||
        gw_json_idem(body, "", "idempotency_token", &idem, &idem_len, out) != 0 ||
        s_money_info(body, false, in->max_amount_minor, &money, out) != 0)
        goto done;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    s_pack_kv_strn(&pk, "idem", idem, idem_len);
    s_pack_kv_strn(&pk, "id", id, PM_UUID_LEN);
    s_pack_kv_strn(&pk, "currency", money.cur->code, strlen(money.cur->code));
    pm_mp_pack_cstr(&pk, "amount_minor");
    msgpack_pack_int64(&pk, money.amount_minor);
    s_pack_kv_strn(&pk, "recipient_method", money.method, money.method_len);
    out->type = PM_MSG_PAYMENT_EDIT;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

int gw_payment_accept_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"idempotency_token", "accept_info", NULL};
    assert(in && out);
    char id[PM_UUID_LEN + 1];
    if (s_path_id(in, id, out) != 0)
        return -1;
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *idem = NULL;
    size_t idem_len = 0;
    json_object *info = NULL;
    if (gw_json_only(body, "", fields, out) != 0 ||
        gw_json_idem(body, "", "idempotency_token", &idem, &idem_len, out) != 0 ||
        gw_json_object(body, "", "accept_info", false, &info, out) != 0)
        goto done;
    const char *info_text = NULL;
    size_t info_len = 0;
    if (info) {
        info_text = json_object_to_json_string_length(
            info, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &info_len);
        if (!info_text) {
            gw_build_fail(out, PM_ERR_INTERNAL, "out of memory");
            goto done;
        }
        if (info_len > GW_ACCEPT_INFO_MAX) {
            gw_build_fail(out, PM_ERR_VALIDATION, "accept_info is larger than %d bytes",
                          GW_ACCEPT_INFO_MAX);
            goto done;
        }
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    s_pack_kv_strn(&pk, "idem", idem, idem_len);
    s_pack_kv_strn(&pk, "id", id, PM_UUID_LEN);
    s_pack_kv_strn(&pk, "accept_info", info_text, info_len);
    out->type = PM_MSG_PAYMENT_ACCEPT;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

/* ---- replies ----------------------------------------------------------- */

/* The "payment" map of a reply, with its id and status. */
static const msgpack_object *s_payment(const msgpack_object *reply, const char **id, size_t *id_len,
                                       const char **status, size_t *status_len)
{
    const msgpack_object *p = pm_mp_get(reply, "payment");
    if (!p || p->type != MSGPACK_OBJECT_MAP)
        return NULL;
    if (gw_reply_str(p, "id", false, PM_UUID_LEN, id, id_len) != 0 ||
        gw_reply_str(p, "status", false, S_STATUS_MAX, status, status_len) != 0)
        return NULL;
    return p;
}

int gw_payment_create_render(const msgpack_object *reply, gw_response_t *out)
{
    const char *id, *status;
    size_t id_len, status_len;
    if (!s_payment(reply, &id, &id_len, &status, &status_len))
        return -1;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "transaction_id", gw_json_new_strn(id, id_len));
    return gw_json_finish(o, 200, out);
}

int gw_payment_status_render(const msgpack_object *reply, gw_response_t *out)
{
    const char *id, *status;
    size_t id_len, status_len;
    if (!s_payment(reply, &id, &id_len, &status, &status_len))
        return -1;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "payment_status", gw_json_new_strn(status, status_len));
    return gw_json_finish(o, 200, out);
}

int gw_payment_action_render(const msgpack_object *reply, gw_response_t *out)
{
    const char *id, *status;
    size_t id_len, status_len;
    if (!s_payment(reply, &id, &id_len, &status, &status_len))
        return -1;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "transaction_id", gw_json_new_strn(id, id_len));
    json_object_object_add(o, "payment_status", gw_json_new_strn(status, status_len));
    return gw_json_finish(o, 200, out);
}

/* {"user_id": ..., "method_id": ...} */
static json_object *s_party(const char *user, size_t user_len, const char *method,
                            size_t method_len)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "user_id", gw_json_new_strn(user, user_len));
    json_object_object_add(o, "method_id", gw_json_new_strn(method, method_len));
    return o;
}

/* The bank leg of an accepted payment: {"name", "order_id", "payment_url",
 * "state"}, null where not known yet (payment_url: while it can be paid). */
static json_object *s_bank(const msgpack_object *bank)
{
    static const char *const keys[] = {"name", "order_id", "payment_url", "state"};
    static const size_t caps[] = {32, 64, 2048, 64};
    json_object *b = json_object_new_object();
    for (size_t i = 0; b && i < sizeof keys / sizeof keys[0]; i++) {
        const char *v;
        size_t len;
        if (gw_reply_str(bank, keys[i], i > 0, caps[i], &v, &len) != 0) {
            json_object_put(b);
            return NULL;
        }
        json_object_object_add(b, keys[i], gw_json_new_strn(v, len));
    }
    return b;
}

int gw_payment_retrieve_render(const msgpack_object *reply, gw_response_t *out)
{
    const char *id, *status, *s_id, *s_method, *r_id, *r_method, *cur_code, *reason;
    size_t id_len, status_len, s_id_len, s_method_len, r_id_len, r_method_len, cur_len, reason_len;
    int64_t amount, created_ms, updated_ms;
    char created[32], updated[32];
    const msgpack_object *p = s_payment(reply, &id, &id_len, &status, &status_len);
    if (!p || gw_reply_str(p, "sender_id", false, GW_ID_MAX, &s_id, &s_id_len) != 0 ||
        gw_reply_str(p, "sender_method", true, GW_ID_MAX, &s_method, &s_method_len) != 0 ||
        gw_reply_str(p, "recipient_id", false, GW_ID_MAX, &r_id, &r_id_len) != 0 ||
        gw_reply_str(p, "recipient_method", true, GW_ID_MAX, &r_method, &r_method_len) != 0 ||
        gw_reply_str(p, "currency", false, 8, &cur_code, &cur_len) != 0 ||
        gw_reply_str(p, "cancel_reason", true, 64, &reason, &reason_len) != 0 ||
        pm_mp_get_int(p, "amount_minor", &amount) != 0 ||
        pm_mp_get_int(p, "created_ms", &created_ms) != 0 ||
        pm_mp_get_int(p, "updated_ms", &updated_ms) != 0 ||
        gw_time_format(created_ms, created, sizeof created) != 0 ||
        gw_time_format(updated_ms, updated, sizeof updated) != 0)
        return -1;
    const pm_currency_t *cur = pm_currency_find(cur_code, cur_len);
    json_object *amount_json = cur ? gw_json_new_amount(amount, cur) : NULL;
    if (!amount_json)
        return -1;
    json_object *pay = json_object_new_object();
    json_object *o = json_object_new_object();
    if (!pay || !o) {
        json_object_put(amount_json);
        json_object_put(pay);
        json_object_put(o);
        return -1;
    }
    json_object_object_add(pay, "transaction_id", gw_json_new_strn(id, id_len));
    json_object_object_add(pay, "sender", s_party(s_id, s_id_len, s_method, s_method_len));
    json_object_object_add(pay, "recipcient", s_party(r_id, r_id_len, r_method, r_method_len));
    json_object_object_add(pay, "currency", json_object_new_string(cur->code));
    json_object_object_add(pay, "amount", amount_json);
    json_object_object_add(pay, "status", gw_json_new_strn(status, status_len));
    json_object_object_add(pay, "cancel_reason", gw_json_new_strn(reason, reason_len));
    json_object_object_add(pay, "created_at", json_object_new_string(created));
    json_object_object_add(pay, "updated_at", json_object_new_string(updated));
    const msgpack_object *bank = pm_mp_get(reply, "bank");
    if (bank && bank->type == MSGPACK_OBJECT_MAP) {
        json_object *b = s_bank(bank);
        if (!b) {
            json_object_put(o);
            json_object_put(pay);
            return -1;
        }
        json_object_object_add(pay, "bank", b);
    }
    json_object_object_add(o, "payment", pay);
    return gw_json_finish(o, 200, out);
}
