/*  orders: seed 004 requests -> core bodies; replies -> the seed's envelope.
 *
 *  The seed's client sends numbers as JSON numbers ("RegNumTypeId": 9,
 *  "random_mode": 1); a form-minded client may send them as strings of
 *  digits, which are taken too. random_mode is 1 (random) or 0
 *  (sequential); true and false are read the same way.
 *
 *  Amounts (OInvTotal, ResPrice, TotalPrice) are manat, read from the
 *  characters the client sent (gw_json_amount, TMT: 2 decimals) and packed
 *  as tenge, so "17.5", 17.50 and "17.500" are all 1750 and 1.005 is
 *  refused; they are rendered back with exactly 2 decimals. Every invoice
 *  answer is rendered from the invoice payment-core stored: its type and
 *  state decide the message and status, so a repeated validation answers
 *  the same. */
#include "orders.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gw_json.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_proto.h"

#define S_TYPE_ID_MAX 2147483647
#define S_TYPE_NAME_MAX 256
#define S_REGNO_MAX 64     /* bytes of a reg_no in a reply */
#define S_INV_REGNO_MAX 48 /* of a request's: a type's prefix (16) and length (32) */
#define S_NAME_MAX 256     /* bytes of a line's ResName */
#define S_DESC_MAX 512     /* bytes of OInvDesc, OrderDesc */
#define S_COUNT_MAX 1000000
#define S_LINES_MAX 100   /* lines of an invoice */
#define S_ORDER_ID_MAX 64 /* bytes of a bank's OrderId */
#define S_STATE_MAX 32    /* bytes of a state, a bank_state, a payment type */
#define S_URL_MAX 8192    /* bytes of a checkout_url */

/* A whole number in min..max under key: a JSON integer or a string of 1..10
 * digits, and true/false as 1/0 when bools. name is the key's path, for the
 * message. Returns 0, 1 when absent or null, or -1 with the error in b. */
static int s_int(json_object *body, const char *key, const char *name, int64_t min, int64_t max,
                 bool bools, int64_t *out, gw_build_t *b)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(body, key, &v) || !v)
        return 1;
    if (json_object_is_type(v, json_type_int)) {
        errno = 0;
        int64_t n = json_object_get_int64(v);
        if (errno == 0 && n >= min && n <= max) {
            *out = n;
            return 0;
        }
    } else if (bools && json_object_is_type(v, json_type_boolean)) {
        *out = json_object_get_boolean(v) ? 1 : 0;
        if (*out >= min && *out <= max)
            return 0;
    } else if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        int64_t x = 0;
        size_t i = 0;
        for (; i < n && i < 10 && s[i] >= '0' && s[i] <= '9'; i++)
            x = x * 10 + (s[i] - '0');
        if (n > 0 && i == n && x >= min && x <= max) {
            *out = x;
            return 0;
        }
    }
    gw_build_fail(b, PM_ERR_VALIDATION, "%s must be a whole number from %lld to %lld", name,
                  (long long)min, (long long)max);
    return -1;
}

int gw_order_regno_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"RegNumTypeId", "random_mode", "RegNumTypeName", NULL};
    assert(in && out);
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    int64_t type_id = 0, random = 0;
    if (gw_json_only(body, "", fields, out) != 0)
        goto done;
    int got = s_int(body, "RegNumTypeId", "RegNumTypeId", 1, S_TYPE_ID_MAX, true, &type_id, out);
    if (got < 0)
        goto done;
    if (got == 1) {
        gw_build_fail(out, PM_ERR_VALIDATION, "RegNumTypeId is required: a number from 1");
        goto done;
    }
    got = s_int(body, "random_mode", "random_mode", 0, 1, true, &random, out);
    if (got < 0)
        goto done;
    if (got == 1) {
        gw_build_fail(out, PM_ERR_VALIDATION, "random_mode is required: 1 (random) or 0");
        goto done;
    }
    const char *name = NULL;
    size_t name_len = 0;
    json_object *v = NULL;
    if (json_object_object_get_ex(body, "RegNumTypeName", &v) && v) {
        if (!json_object_is_type(v, json_type_string)) {
            gw_build_fail(out, PM_ERR_VALIDATION, "RegNumTypeName must be a string");
            goto done;
        }
        name = json_object_get_string(v);
        name_len = (size_t)json_object_get_string_len(v);
        if (name_len > S_TYPE_NAME_MAX || !gw_utf8_valid(name, name_len) ||
            memchr(name, '\0', name_len)) {
            gw_build_fail(out, PM_ERR_VALIDATION, "RegNumTypeName must be text of at most %d bytes",
                          S_TYPE_NAME_MAX);
            goto done;
        }
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pm_mp_pack_cstr(&pk, "type_id");
    msgpack_pack_int64(&pk, type_id);
    pm_mp_pack_cstr(&pk, "random");
    if (random)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    pm_mp_pack_cstr(&pk, "type_name");
    if (name_len > 0)
        pm_mp_pack_strn(&pk, name, name_len);
    else
        msgpack_pack_nil(&pk);
    out->type = PM_MSG_REGNO_GEN;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

int gw_order_regno_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    const char *regno;
    size_t len;
    if (gw_reply_str(reply, "reg_no", false, S_REGNO_MAX, &regno, &len) != 0)
        return -1;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "status", json_object_new_int(1));
    json_object_object_add(o, "data", gw_json_new_strn(regno, len));
    json_object_object_add(o, "message", json_object_new_string("Pred Reg_no generation"));
    return gw_json_finish(o, 200, out);
}

/* ---- order invoices, registration and validation --------------------- */

/* A request's registration number: 1..S_INV_REGNO_MAX of [A-Za-z0-9_-],
 * the longest a type can give (pm_proto.h, ADMIN_REGNO_TYPE_PUT). */
static bool s_regno_valid(const char *s, size_t len)
{
    if (len < 1 || len > S_INV_REGNO_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* 1..max printable ASCII without spaces (a bank's order id, an account). */
static bool s_token_valid(const char *s, size_t len, size_t max)
{
    if (len < 1 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7F)
            return false;
    return true;
}

/* UTF-8 text of at most max bytes without control characters, except the
 * line breaks and tabs of a description when lines is true. */
static bool s_text_valid(const char *str, size_t len, size_t max, bool lines)
{
    const unsigned char *s = (const unsigned char *)str;
    if (len > max || !gw_utf8_valid(str, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        bool c1 = s[i] == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F;
        bool brk = lines && (s[i] == '\n' || s[i] == '\r' || s[i] == '\t');
        if ((s[i] < 0x20 && !brk) || s[i] == 0x7F || c1)
            return false;
    }
    return true;
}

/* A string field at prefix.key, borrowed. A missing or null field leaves *s
 * NULL, and is an error when required. Returns 0, or -1 with the error. */
static int s_str(json_object *obj, const char *prefix, const char *key, bool required,
                 const char **s, size_t *len, gw_build_t *b)
{
    json_object *v = NULL;
    *s = NULL;
    *len = 0;
    if (!json_object_object_get_ex(obj, key, &v) || !v) {
        if (required)
            return gw_build_fail(b, PM_ERR_VALIDATION, "%s%s%s is required", prefix,
                                 *prefix ? "." : "", key);
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s%s%s must be a string", prefix,
                             *prefix ? "." : "", key);
    *s = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return 0;
}

/* The invoice's registration number: "OInvRegNo", or its alias "RegNo"
 * (the seed's browser code) when alias is true. Both may be sent when they
 * agree. */
static int s_regno(json_object *body, bool alias, const char **s, size_t *len, gw_build_t *b)
{
    const char *a = NULL;
    size_t a_len = 0;
    if (s_str(body, "", "OInvRegNo", false, s, len, b) != 0 ||
        (alias && s_str(body, "", "RegNo", false, &a, &a_len, b) != 0))
        return -1;
    if (*s && a && (a_len != *len || memcmp(a, *s, a_len) != 0))
        return gw_build_fail(b, PM_ERR_VALIDATION,
                             "OInvRegNo and RegNo are the same field and differ; send one");
    if (!*s) {
        *s = a;
        *len = a_len;
    }
    if (!*s)
        return gw_build_fail(b, PM_ERR_VALIDATION, "OInvRegNo is required");
    if (!s_regno_valid(*s, *len))
        return gw_build_fail(b, PM_ERR_VALIDATION,
                             "OInvRegNo must be 1 to %d letters, digits, '-' or '_'",
                             S_INV_REGNO_MAX);
    return 0;
}

/* online_payment_type: "halkbank" or "foreign_affairs_bank". s NULL: the
 * field was absent. */
static int s_payment_type(const char *s, size_t len, gw_build_t *b)
{
    if (!s)
        return gw_build_fail(b, PM_ERR_VALIDATION,
                             "online_payment_type is required: halkbank or foreign_affairs_bank");
    if ((len == 8 && memcmp(s, "halkbank", 8) == 0) ||
        (len == 20 && memcmp(s, "foreign_affairs_bank", 20) == 0))
        return 0;
    return gw_build_fail(b, PM_ERR_VALIDATION,
                         "online_payment_type must be halkbank or foreign_affairs_bank");
}

/* A description (OInvDesc, OrderDesc): absent, null or text of at most
 * S_DESC_MAX bytes. The callers pack a blank one as nil, so that "" and no
 * description are the same contents to the core. */
static int s_desc(json_object *body, const char *key, const char **s, size_t *len, gw_build_t *b)
{
    if (s_str(body, "", key, false, s, len, b) != 0)
        return -1;
    if (*s && !s_text_valid(*s, *len, S_DESC_MAX, true))
        return gw_build_fail(b, PM_ERR_VALIDATION,
                             "%s must be text of at most %d bytes without control characters", key,
                             S_DESC_MAX);
    return 0;
}

/* The currency of every order invoice: seed 004's bank accounts hold
 * manat. */
static const pm_currency_t *s_tmt(void)
{
    const pm_currency_t *cur = pm_currency_find("TMT", 3);
    assert(cur);
    return cur;
}

/* One line of OrderInvLines, read into a name view and minor units. */
typedef struct {
    const char *name;
    size_t name_len;
    int64_t count;
    int64_t price_minor;
} s_line_t;

static int s_line(json_object *v, size_t i, int64_t max_minor, s_line_t *l, gw_build_t *b)
{
    static const char *const fields[] = {"ResName", "ItemCount", "ResPrice", NULL};
    char prefix[40];
    snprintf(prefix, sizeof prefix, "OrderInvLines[%zu]", i);
    if (!json_object_is_type(v, json_type_object))
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must be an object", prefix);
    if (gw_json_only(v, prefix, fields, b) != 0 ||
        s_str(v, prefix, "ResName", true, &l->name, &l->name_len, b) != 0)
        return -1;
    if (l->name_len < 1 || !s_text_valid(l->name, l->name_len, S_NAME_MAX, false))
        return gw_build_fail(b, PM_ERR_VALIDATION,
                             "%s.ResName must be 1 to %d bytes of text without control characters",
                             prefix, S_NAME_MAX);
    char key[64];
    snprintf(key, sizeof key, "%s.ItemCount", prefix);
    int got = s_int(v, "ItemCount", key, 1, S_COUNT_MAX, false, &l->count, b);
    if (got < 0)
        return -1;
    if (got == 1)
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s is required: a whole number from 1", key);
    return gw_json_amount(v, prefix, "ResPrice", s_tmt(), max_minor, &l->price_minor, b);
}

int gw_order_checkout_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"OInvRegNo", "OInvTypeId",    "online_payment_type",
                                         "OInvTotal", "OrderInvLines", "OInvDesc",
                                         NULL};
    assert(in && out);
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *regno, *type, *desc;
    size_t regno_len, type_len, desc_len;
    int64_t total = 0, type_id = 0;
    s_line_t lines[S_LINES_MAX];
    json_object *arr = NULL;
    if (gw_json_only(body, "", fields, out) != 0 ||
        s_regno(body, false, &regno, &regno_len, out) != 0)
        goto done;
    /* The seed's client moves the invoice to type 13 itself; the core does
     * that, so the field may be sent, as 13 only. */
    if (s_int(body, "OInvTypeId", "OInvTypeId", 13, 13, false, &type_id, out) < 0 ||
        s_str(body, "", "online_payment_type", false, &type, &type_len, out) != 0 ||
        s_payment_type(type, type_len, out) != 0 ||
        gw_json_amount(body, "", "OInvTotal", s_tmt(), in->max_amount_minor, &total, out) != 0)
        goto done;
    if (!json_object_object_get_ex(body, "OrderInvLines", &arr) || !arr) {
        gw_build_fail(out, PM_ERR_VALIDATION, "OrderInvLines is required");
        goto done;
    }
    size_t n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    if (n < 1 || n > S_LINES_MAX) {
        gw_build_fail(out, PM_ERR_VALIDATION, "OrderInvLines must be a list of 1 to %d lines",
                      S_LINES_MAX);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (s_line(json_object_array_get_idx(arr, i), i, in->max_amount_minor, &lines[i], out) != 0)
            goto done;
    if (s_desc(body, "OInvDesc", &desc, &desc_len, out) != 0)
        goto done;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    gw_pack_kv(&pk, "reg_no", regno, regno_len);
    gw_pack_kv(&pk, "payment_type", type, type_len);
    gw_pack_kv(&pk, "currency", "TMT", 3);
    pm_mp_pack_cstr(&pk, "total_minor");
    msgpack_pack_int64(&pk, total);
    pm_mp_pack_cstr(&pk, "lines");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_map(&pk, 3);
        gw_pack_kv(&pk, "name", lines[i].name, lines[i].name_len);
        pm_mp_pack_cstr(&pk, "count");
        msgpack_pack_int64(&pk, lines[i].count);
        pm_mp_pack_cstr(&pk, "price_minor");
        msgpack_pack_int64(&pk, lines[i].price_minor);
    }
    gw_pack_kv(&pk, "desc", desc_len > 0 ? desc : NULL, desc_len);
    out->type = PM_MSG_INVOICE_PUT;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

int gw_order_register_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"OInvRegNo", "RegNo", "TotalPrice", "OrderDesc", NULL};
    assert(in && out);
    const char *type = gw_input_query(in, "online_payment_type");
    if (s_payment_type(type, type ? strlen(type) : 0, out) != 0)
        return -1;
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *regno, *desc;
    size_t regno_len, desc_len;
    int64_t total = 0;
    if (gw_json_only(body, "", fields, out) != 0 ||
        s_regno(body, true, &regno, &regno_len, out) != 0 ||
        gw_json_amount(body, "", "TotalPrice", s_tmt(), in->max_amount_minor, &total, out) != 0 ||
        s_desc(body, "OrderDesc", &desc, &desc_len, out) != 0)
        goto done;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    gw_pack_kv(&pk, "reg_no", regno, regno_len);
    gw_pack_kv(&pk, "payment_type", type, strlen(type));
    pm_mp_pack_cstr(&pk, "total_minor");
    msgpack_pack_int64(&pk, total);
    gw_pack_kv(&pk, "desc", desc_len > 0 ? desc : NULL, desc_len);
    out->type = PM_MSG_ORDER_REGISTER;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

int gw_order_validate_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"OrderId",   "OInvRegNo", "RegNo", "online_payment_type",
                                         "RpAccGuid", NULL};
    assert(in && out);
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *order, *regno, *type, *acc;
    size_t order_len, regno_len, type_len, acc_len;
    if (gw_json_only(body, "", fields, out) != 0 ||
        s_str(body, "", "OrderId", true, &order, &order_len, out) != 0)
        goto done;
    if (!s_token_valid(order, order_len, S_ORDER_ID_MAX)) {
        gw_build_fail(out, PM_ERR_VALIDATION,
                      "OrderId must be 1 to %d printable ASCII characters without spaces",
                      S_ORDER_ID_MAX);
        goto done;
    }
    if (s_regno(body, true, &regno, &regno_len, out) != 0 ||
        s_str(body, "", "online_payment_type", false, &type, &type_len, out) != 0 ||
        s_payment_type(type, type_len, out) != 0 ||
        s_str(body, "", "RpAccGuid", false, &acc, &acc_len, out) != 0)
        goto done;
    /* The seed's client sends "" when it validates as the account itself. */
    if (acc && acc_len == 0)
        acc = NULL;
    if (acc && !s_token_valid(acc, acc_len, PM_PRINCIPAL_MAX)) {
        gw_build_fail(out, PM_ERR_VALIDATION,
                      "RpAccGuid must be 1 to %d printable ASCII characters without spaces",
                      PM_PRINCIPAL_MAX);
        goto done;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    gw_pack_kv(&pk, "reg_no", regno, regno_len);
    gw_pack_kv(&pk, "order_id", order, order_len);
    gw_pack_kv(&pk, "payment_type", type, type_len);
    gw_pack_kv(&pk, "account", acc, acc_len);
    out->type = PM_MSG_ORDER_VALIDATE;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

/* ---- invoice replies ---------------------------------------------------- */

/* A string view of a reply; s NULL for nil. */
typedef struct {
    const char *s;
    size_t len;
} s_view_t;

/* The INVOICE of a reply (pm_proto.h), views into the reply. */
typedef struct {
    s_view_t reg_no, state, payment_type, currency, desc, order_id, checkout_url, bank_state;
    int64_t type_id, total_minor, created_ms, updated_ms, paid_ms;
    bool paid_set;
    const msgpack_object *lines;
} s_invoice_t;

static bool s_is(const s_view_t *v, const char *want)
{
    size_t n = strlen(want);
    return v->s && v->len == n && memcmp(v->s, want, n) == 0;
}

static int s_view(const msgpack_object *map, const char *key, bool nullable, size_t max,
                  s_view_t *out)
{
    return gw_reply_str(map, key, nullable, max, &out->s, &out->len);
}

/* Reads reply["invoice"]; -1 when a field is missing or malformed, or the
 * type and state are not one of the three pairs. */
static int s_invoice_read(const msgpack_object *reply, s_invoice_t *inv)
{
    const msgpack_object *o = pm_mp_get(reply, "invoice");
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return -1;
    inv->lines = pm_mp_get(o, "lines");
    const msgpack_object *paid = pm_mp_get(o, "paid_ms");
    inv->paid_set = paid && paid->type != MSGPACK_OBJECT_NIL;
    inv->paid_ms = 0;
    if (!inv->lines || inv->lines->type != MSGPACK_OBJECT_ARRAY ||
        inv->lines->via.array.size > S_LINES_MAX || !paid ||
        s_view(o, "reg_no", false, S_REGNO_MAX, &inv->reg_no) != 0 ||
        s_view(o, "state", false, S_STATE_MAX, &inv->state) != 0 ||
        s_view(o, "payment_type", false, S_STATE_MAX, &inv->payment_type) != 0 ||
        s_view(o, "currency", false, 8, &inv->currency) != 0 ||
        s_view(o, "desc", true, S_DESC_MAX, &inv->desc) != 0 ||
        s_view(o, "order_id", true, S_ORDER_ID_MAX, &inv->order_id) != 0 ||
        s_view(o, "checkout_url", true, S_URL_MAX, &inv->checkout_url) != 0 ||
        s_view(o, "bank_state", true, S_STATE_MAX, &inv->bank_state) != 0 ||
        pm_mp_get_int(o, "type_id", &inv->type_id) != 0 ||
        pm_mp_get_int(o, "total_minor", &inv->total_minor) != 0 ||
        pm_mp_get_int(o, "created_ms", &inv->created_ms) != 0 ||
        pm_mp_get_int(o, "updated_ms", &inv->updated_ms) != 0 ||
        (inv->paid_set && pm_mp_get_int(o, "paid_ms", &inv->paid_ms) != 0))
        return -1;
    if (!((inv->type_id == 13 && s_is(&inv->state, "awaiting_payment")) ||
          (inv->type_id == 14 && s_is(&inv->state, "paid")) ||
          (inv->type_id == 15 && s_is(&inv->state, "failed"))))
        return -1;
    return 0;
}

/* The invoice in the seed's PascalCase, amounts exact in manat. Caller owns;
 * NULL when the reply holds something the gateway cannot render. */
static json_object *s_invoice_json(const s_invoice_t *inv)
{
    const pm_currency_t *cur = pm_currency_find(inv->currency.s, inv->currency.len);
    if (!cur)
        return NULL;
    json_object *o = json_object_new_object();
    json_object *lines = json_object_new_array();
    if (!o || !lines)
        goto fail;
    json_object_object_add(o, "OInvRegNo", gw_json_new_strn(inv->reg_no.s, inv->reg_no.len));
    json_object_object_add(o, "OInvTypeId", json_object_new_int64(inv->type_id));
    json_object_object_add(o, "OInvState", gw_json_new_strn(inv->state.s, inv->state.len));
    json_object_object_add(o, "online_payment_type",
                           gw_json_new_strn(inv->payment_type.s, inv->payment_type.len));
    json_object *total = gw_json_new_amount(inv->total_minor, cur);
    if (!total)
        goto fail;
    json_object_object_add(o, "OInvTotal", total);
    json_object_object_add(o, "OInvCurrency", json_object_new_string(cur->code));
    for (uint32_t i = 0; i < inv->lines->via.array.size; i++) {
        const msgpack_object *l = &inv->lines->via.array.ptr[i];
        s_view_t name;
        int64_t count, price;
        if (l->type != MSGPACK_OBJECT_MAP || s_view(l, "name", false, S_NAME_MAX, &name) != 0 ||
            pm_mp_get_int(l, "count", &count) != 0 || pm_mp_get_int(l, "price_minor", &price) != 0)
            goto fail;
        json_object *line = json_object_new_object();
        json_object *price_json = gw_json_new_amount(price, cur);
        if (!line || !price_json) {
            json_object_put(line);
            json_object_put(price_json);
            goto fail;
        }
        json_object_object_add(line, "ResName", gw_json_new_strn(name.s, name.len));
        json_object_object_add(line, "ItemCount", json_object_new_int64(count));
        json_object_object_add(line, "ResPrice", price_json);
        json_object_array_add(lines, line);
    }
    json_object_object_add(o, "OrderInvLines", lines);
    lines = NULL;
    json_object_object_add(o, "OInvDesc", gw_json_new_strn(inv->desc.s, inv->desc.len));
    json_object_object_add(o, "OrderId", gw_json_new_strn(inv->order_id.s, inv->order_id.len));
    json_object_object_add(o, "checkout_url",
                           gw_json_new_strn(inv->checkout_url.s, inv->checkout_url.len));
    json_object_object_add(o, "bank_state",
                           gw_json_new_strn(inv->bank_state.s, inv->bank_state.len));
    if (gw_json_add_time(o, "created_at", true, inv->created_ms) != 0 ||
        gw_json_add_time(o, "updated_at", true, inv->updated_ms) != 0 ||
        gw_json_add_time(o, "paid_at", inv->paid_set, inv->paid_ms) != 0)
        goto fail;
    return o;
fail:
    json_object_put(lines);
    json_object_put(o);
    return NULL;
}

/* {"status": status, "data": <invoice>, "message": message} with http. */
static int s_invoice_answer(const msgpack_object *reply, int http, int status, const char *message,
                            gw_response_t *out)
{
    s_invoice_t inv;
    if (s_invoice_read(reply, &inv) != 0)
        return -1;
    json_object *data = s_invoice_json(&inv);
    json_object *o = data ? json_object_new_object() : NULL;
    if (!o) {
        json_object_put(data);
        return -1;
    }
    json_object_object_add(o, "status", json_object_new_int(status));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "message", json_object_new_string(message));
    return gw_json_finish(o, http, out);
}

int gw_order_checkout_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    return s_invoice_answer(reply, 200, 1, "Order invoice checked out", out);
}

int gw_order_register_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out)
{
    assert(in && reply && out);
    s_invoice_t inv;
    if (s_invoice_read(reply, &inv) != 0 || !inv.order_id.s || !inv.checkout_url.s)
        return -1;
    const pm_currency_t *cur = pm_currency_find(inv.currency.s, inv.currency.len);
    if (!cur)
        return -1;
    /* OrderDesc echoes the request, as the seed's answer does; the build
     * already read this body, so it parses. */
    gw_build_t b;
    gw_build_init(&b);
    json_object *body = gw_json_parse_object(in->body, in->body_len, &b);
    gw_build_destroy(&b);
    if (!body)
        return -1;
    json_object *desc = NULL;
    json_object_object_get_ex(body, "OrderDesc", &desc);
    json_object *o = json_object_new_object();
    json_object *data = json_object_new_object();
    json_object *total = gw_json_new_amount(inv.total_minor, cur);
    if (!o || !data || !total) {
        json_object_put(o);
        json_object_put(data);
        json_object_put(total);
        json_object_put(body);
        return -1;
    }
    json_object_object_add(data, "checkout_url",
                           gw_json_new_strn(inv.checkout_url.s, inv.checkout_url.len));
    json_object_object_add(data, "OrderId", gw_json_new_strn(inv.order_id.s, inv.order_id.len));
    json_object_object_add(data, "online_payment_type",
                           gw_json_new_strn(inv.payment_type.s, inv.payment_type.len));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "RegNo", gw_json_new_strn(inv.reg_no.s, inv.reg_no.len));
    json_object_object_add(o, "OInvRegNo", gw_json_new_strn(inv.reg_no.s, inv.reg_no.len));
    json_object_object_add(o, "TotalPrice", total);
    json_object_object_add(o, "OrderDesc", desc ? json_object_get(desc) : NULL);
    json_object_put(body);
    return gw_json_finish(o, 200, out);
}

int gw_order_validate_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    s_invoice_t inv;
    if (s_invoice_read(reply, &inv) != 0)
        return -1;
    if (inv.type_id == 14)
        return s_invoice_answer(reply, 200, 1, "Validation success", out);
    if (inv.type_id == 13)
        return s_invoice_answer(reply, 200, 0, "Not paid yet", out);
    const char *why = s_is(&inv.bank_state, "declined")    ? "Payment declined"
                      : s_is(&inv.bank_state, "reversed")  ? "Payment reversed"
                      : s_is(&inv.bank_state, "not_found") ? "Order unknown to the bank"
                                                           : "Payment failed";
    return s_invoice_answer(reply, 406, 0, why, out);
}
