/*  bazaarpay: seeds 002/003 requests -> BAZAARPAY_* bodies; CHECKOUT
 *  replies -> JSON.
 *
 *  The redirect_url goes into the payment_url BazaarPay shows the user, and
 *  the user's browser is sent back to it, so it is held to what a browser
 *  will follow and no more: an absolute http(s) URL with a host, printable
 *  ASCII (a client percent-encodes the rest), checked by libcurl's URL parser
 *  rather than by one of our own. libcurl tolerates "http:/host" and
 *  "http:///host"; browsers do not agree on those, so the text must also be
 *  written with exactly two slashes before the host.
 *
 *  Every answer is rendered from the checkout payment-core stored, never
 *  from the request: the state decides the status (pm_proto.h, "BazaarPay
 *  checkout"), and a confirm of a delivered checkout answers the same bytes
 *  however often it is repeated. */
#include "bazaarpay.h"

#include <assert.h>
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

#include "gw_json.h"
#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_proto.h"
#include "store.h"

#define S_STATE_MAX 32
#define S_NAME_MAX 1024         /* bytes of a package name */
#define S_TYPE_MAX 16           /* bytes of a package type */
#define S_PAYMENT_URL_MAX 16384 /* BazaarPay's URL with redirect_url encoded in it */
#define S_CALL_MAX 32           /* bytes of an attempt's call and outcome */
#define S_DETAIL_MAX 1024       /* bytes of an attempt's detail */
#define S_ATTEMPTS_SHOWN 64     /* attempts an answer lists: the first and the latest */

/* ---- requests ---------------------------------------------------------- */

typedef enum { S_URL_OK, S_URL_BAD, S_URL_NOMEM } s_url_t;

static s_url_t s_url_check(const char *url, size_t len)
{
    if (!url || len == 0 || len > GW_BAZAARPAY_URL_MAX)
        return S_URL_BAD;
    for (size_t i = 0; i < len; i++)
        if (url[i] <= 0x20 || url[i] >= 0x7F) /* also NUL and non-ASCII bytes */
            return S_URL_BAD;
    size_t scheme = len > 7 && strncasecmp(url, "http://", 7) == 0    ? 7
                    : len > 8 && strncasecmp(url, "https://", 8) == 0 ? 8
                                                                      : 0;
    if (scheme == 0 || url[scheme] == '/')
        return S_URL_BAD;
    char text[GW_BAZAARPAY_URL_MAX + 1];
    memcpy(text, url, len);
    text[len] = '\0';
    CURLU *u = curl_url();
    if (!u)
        return S_URL_NOMEM;
    s_url_t rc = S_URL_BAD;
    char *host = NULL;
    /* The scheme was checked above; NON_SUPPORT_SCHEME keeps a libcurl built
     * without TLS from refusing https. */
    CURLUcode cu = curl_url_set(u, CURLUPART_URL, text, CURLU_NON_SUPPORT_SCHEME);
    if (cu == CURLUE_OUT_OF_MEMORY) {
        rc = S_URL_NOMEM;
        goto cleanup;
    }
    if (cu != CURLUE_OK)
        goto cleanup;
    cu = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (cu == CURLUE_OUT_OF_MEMORY)
        rc = S_URL_NOMEM;
    else if (cu == CURLUE_OK && host && *host)
        rc = S_URL_OK;
cleanup:
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

bool gw_bazaarpay_url_valid(const char *url, size_t len)
{
    return s_url_check(url, len) == S_URL_OK;
}

bool gw_bazaarpay_token_valid(const char *token, size_t len)
{
    if (!token || len == 0 || len > GW_BAZAARPAY_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = token[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

/* A phone number for BazaarPay's login form: 10..15 digits, one optional
 * leading "+" ("09123456789", "+989123456789"). */
static bool s_phone_valid(const char *s, size_t len)
{
    if (len > 0 && s[0] == '+')
        s++, len--;
    if (len < GW_BAZAARPAY_PHONE_MIN || len > GW_BAZAARPAY_PHONE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* True when s[0..len) (valid UTF-8) holds a C0 or C1 control character or
 * DEL. */
static bool s_has_control(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len; i++) {
        bool c1 = s[i] == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F;
        if (s[i] < 0x20 || s[i] == 0x7F || c1)
            return true;
    }
    return false;
}

/* A string field of the body, borrowed. A missing or null field leaves *s
 * NULL, and is an error when required. Returns 0, or -1 with the error. */
static int s_str(json_object *body, const char *key, bool required, const char **s, size_t *len,
                 gw_build_t *b)
{
    json_object *v = NULL;
    *s = NULL;
    *len = 0;
    if (!json_object_object_get_ex(body, key, &v) || !v) {
        if (required)
            return gw_build_fail(b, PM_ERR_VALIDATION, "%s is required", key);
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must be a string", key);
    *s = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return 0;
}

/* The body's required checkout_token. */
static int s_token(json_object *body, const char **s, size_t *len, gw_build_t *b)
{
    if (s_str(body, "checkout_token", true, s, len, b) != 0)
        return -1;
    if (!gw_bazaarpay_token_valid(*s, *len))
        return gw_build_fail(b, PM_ERR_VALIDATION,
                             "checkout_token must be 1 to %d letters and digits",
                             GW_BAZAARPAY_TOKEN_MAX);
    return 0;
}

int gw_bazaarpay_checkout_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"serial_number", "redirect_url", "phone", NULL};
    assert(in && out);
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *sku, *url, *phone;
    size_t sku_len, url_len, phone_len;
    if (gw_json_only(body, "", fields, out) != 0 ||
        gw_json_id(body, "", "serial_number", true, &sku, &sku_len, out) != 0 ||
        s_str(body, "redirect_url", true, &url, &url_len, out) != 0 ||
        s_str(body, "phone", false, &phone, &phone_len, out) != 0)
        goto done;
    s_url_t url_ok = s_url_check(url, url_len);
    if (url_ok == S_URL_NOMEM) {
        gw_build_fail(out, PM_ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (url_ok != S_URL_OK) {
        gw_build_fail(out, PM_ERR_VALIDATION,
                      "redirect_url must be an absolute http or https URL with a host, at most "
                      "%d bytes of printable ASCII without spaces",
                      GW_BAZAARPAY_URL_MAX);
        goto done;
    }
    if (phone && !s_phone_valid(phone, phone_len)) {
        gw_build_fail(out, PM_ERR_VALIDATION, "phone must be %d to %d digits, with an optional +",
                      GW_BAZAARPAY_PHONE_MIN, GW_BAZAARPAY_PHONE_MAX);
        goto done;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    gw_pack_kv(&pk, "sku", sku, sku_len);
    gw_pack_kv(&pk, "redirect_url", url, url_len);
    gw_pack_kv(&pk, "phone", phone, phone_len);
    out->type = PM_MSG_BAZAARPAY_CHECKOUT;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

int gw_bazaarpay_confirm_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"checkout_token", NULL};
    assert(in && out);
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *tok;
    size_t tok_len;
    if (gw_json_only(body, "", fields, out) != 0 || s_token(body, &tok, &tok_len, out) != 0)
        goto done;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    gw_pack_kv(&pk, "checkout_token", tok, tok_len);
    out->type = PM_MSG_BAZAARPAY_CONFIRM;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

int gw_bazaarpay_get_build(const gw_input_t *in, gw_build_t *out)
{
    assert(in && out);
    if (!gw_bazaarpay_token_valid(in->id, in->id_len)) {
        char clip[80];
        gw_text_clip(clip, sizeof clip, in->id ? in->id : "", in->id ? in->id_len : 0, 64);
        return gw_build_fail(out, PM_ERR_NOT_FOUND, "checkout %s not found", clip);
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    gw_pack_kv(&pk, "checkout_token", in->id, in->id_len);
    out->type = PM_MSG_BAZAARPAY_GET;
    out->err = PM_OK;
    return 0;
}

int gw_bazaarpay_refund_build(const gw_input_t *in, gw_build_t *out)
{
    static const char *const fields[] = {"checkout_token", "reason", NULL};
    assert(in && out);
    json_object *body = gw_json_parse_object(in->body, in->body_len, out);
    if (!body)
        return -1;
    int rc = -1;
    const char *tok, *reason;
    size_t tok_len, reason_len;
    if (gw_json_only(body, "", fields, out) != 0 || s_token(body, &tok, &tok_len, out) != 0 ||
        s_str(body, "reason", true, &reason, &reason_len, out) != 0)
        goto done;
    if (reason_len < 1 || reason_len > GW_BAZAARPAY_REASON_MAX ||
        s_has_control(reason, reason_len)) {
        gw_build_fail(out, PM_ERR_VALIDATION,
                      "reason must be 1 to %d bytes of text without control characters",
                      GW_BAZAARPAY_REASON_MAX);
        goto done;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    gw_pack_kv(&pk, "checkout_token", tok, tok_len);
    gw_pack_kv(&pk, "reason", reason, reason_len);
    out->type = PM_MSG_BAZAARPAY_REFUND;
    out->err = PM_OK;
    rc = 0;
done:
    json_object_put(body);
    return rc;
}

/* ---- replies ----------------------------------------------------------- */

/* A string view of a reply; s NULL for nil. */
typedef struct {
    const char *s;
    size_t len;
} s_str_t;

/* An integer of a reply that may be nil. */
typedef struct {
    bool set;
    int64_t v;
} s_opt_t;

/* The CHECKOUT of a reply (pm_proto.h), views into the reply. */
typedef struct {
    s_str_t token, serial, state, payment_url, redirect_url, refund_reason;
    s_str_t sku, name, package_type;
    int64_t amount, coins, duration_days, created_ms, updated_ms;
    s_opt_t coins_after, subscription_until_ms, delivered_ms;
    bool refund_requested, reversed;
    const msgpack_object *attempts;
} s_checkout_t;

static int s_reply_text(const msgpack_object *map, const char *key, bool nullable, size_t max,
                        s_str_t *out)
{
    return gw_reply_str(map, key, nullable, max, &out->s, &out->len);
}

static int s_reply_opt(const msgpack_object *map, const char *key, s_opt_t *out)
{
    const msgpack_object *v = pm_mp_get(map, key);
    out->set = false;
    out->v = 0;
    if (v && v->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (pm_mp_get_int(map, key, &out->v) != 0)
        return -1;
    out->set = true;
    return 0;
}

static int s_reply_bool(const msgpack_object *map, const char *key, bool *out)
{
    const msgpack_object *v = pm_mp_get(map, key);
    if (!v || v->type != MSGPACK_OBJECT_BOOLEAN)
        return -1;
    *out = v->via.boolean;
    return 0;
}

static bool s_is(const s_str_t *s, const char *want)
{
    size_t n = strlen(want);
    return s->s && s->len == n && memcmp(s->s, want, n) == 0;
}

/* Reads reply["checkout"]; -1 when a field is missing or malformed, or the
 * state is not one of the five. */
static int s_checkout_read(const msgpack_object *reply, s_checkout_t *c)
{
    const msgpack_object *o = pm_mp_get(reply, "checkout");
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return -1;
    const msgpack_object *p = pm_mp_get(o, "package");
    c->attempts = pm_mp_get(o, "attempts");
    if (!p || p->type != MSGPACK_OBJECT_MAP || !c->attempts ||
        c->attempts->type != MSGPACK_OBJECT_ARRAY ||
        s_reply_text(o, "token", true, GW_BAZAARPAY_TOKEN_MAX, &c->token) != 0 ||
        s_reply_text(o, "serial", false, GW_STORE_SERIAL_MAX, &c->serial) != 0 ||
        s_reply_text(o, "state", false, S_STATE_MAX, &c->state) != 0 ||
        s_reply_text(o, "payment_url", true, S_PAYMENT_URL_MAX, &c->payment_url) != 0 ||
        s_reply_text(o, "redirect_url", false, GW_BAZAARPAY_URL_MAX, &c->redirect_url) != 0 ||
        s_reply_text(o, "refund_reason", true, GW_BAZAARPAY_REASON_MAX, &c->refund_reason) != 0 ||
        pm_mp_get_int(o, "amount", &c->amount) != 0 ||
        s_reply_opt(o, "coins_after", &c->coins_after) != 0 ||
        s_reply_opt(o, "subscription_until_ms", &c->subscription_until_ms) != 0 ||
        s_reply_bool(o, "refund_requested", &c->refund_requested) != 0 ||
        s_reply_bool(o, "reversed", &c->reversed) != 0 ||
        pm_mp_get_int(o, "created_ms", &c->created_ms) != 0 ||
        pm_mp_get_int(o, "updated_ms", &c->updated_ms) != 0 ||
        s_reply_opt(o, "delivered_ms", &c->delivered_ms) != 0 ||
        s_reply_text(p, "sku", false, GW_STORE_SKU_MAX, &c->sku) != 0 ||
        s_reply_text(p, "name", false, S_NAME_MAX, &c->name) != 0 ||
        s_reply_text(p, "package_type", false, S_TYPE_MAX, &c->package_type) != 0 ||
        pm_mp_get_int(p, "coins", &c->coins) != 0 ||
        pm_mp_get_int(p, "duration_days", &c->duration_days) != 0)
        return -1;
    if (!s_is(&c->state, "in_progress") && !s_is(&c->state, "delivered") &&
        !s_is(&c->state, "committed") && !s_is(&c->state, "refunded") &&
        !s_is(&c->state, "expired"))
        return -1;
    if (!s_is(&c->package_type, "coin") && !s_is(&c->package_type, "time"))
        return -1;
    return 0;
}

static json_object *s_json_str(const s_str_t *s)
{
    return gw_json_new_strn(s->s, s->len);
}

static void s_add_opt_int(json_object *o, const char *key, s_opt_t v)
{
    json_object_object_add(o, key, v.set ? json_object_new_int64(v.v) : NULL);
}

/* ATTEMPT -> {"at", "call", "outcome", "detail"}; NULL when malformed. */
static json_object *s_attempt(const msgpack_object *a)
{
    s_str_t call, outcome, detail;
    s_opt_t at = {true, 0};
    if (a->type != MSGPACK_OBJECT_MAP || pm_mp_get_int(a, "at_ms", &at.v) != 0 ||
        s_reply_text(a, "call", false, S_CALL_MAX, &call) != 0 ||
        s_reply_text(a, "outcome", false, S_CALL_MAX, &outcome) != 0 ||
        s_reply_text(a, "detail", true, S_DETAIL_MAX, &detail) != 0)
        return NULL;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    if (gw_json_add_time(o, "at", at.set, at.v) != 0) {
        json_object_put(o);
        return NULL;
    }
    json_object_object_add(o, "call", s_json_str(&call));
    json_object_object_add(o, "outcome", s_json_str(&outcome));
    json_object_object_add(o, "detail", s_json_str(&detail));
    return o;
}

/* The whole checkout as GET and refund answer it; NULL when malformed. */
static json_object *s_checkout_json(const s_checkout_t *c)
{
    json_object *o = json_object_new_object();
    json_object *pkg = json_object_new_object();
    json_object *list = json_object_new_array();
    if (!o || !pkg || !list)
        goto fail;
    /* The first attempt tells how it began, the latest how it stands; the
     * middle of a long series of re-traces is left out. */
    uint32_t n = c->attempts->via.array.size;
    uint32_t skip = n > S_ATTEMPTS_SHOWN ? n - S_ATTEMPTS_SHOWN : 0;
    for (uint32_t i = 0; i < n; i = i == 0 ? 1 + skip : i + 1) {
        json_object *a = s_attempt(&c->attempts->via.array.ptr[i]);
        if (!a || json_object_array_add(list, a) != 0) {
            json_object_put(a);
            goto fail;
        }
    }
    json_object_object_add(pkg, "serial_number", s_json_str(&c->sku));
    json_object_object_add(pkg, "name", s_json_str(&c->name));
    json_object_object_add(pkg, "package_type", s_json_str(&c->package_type));
    json_object_object_add(pkg, "coins", json_object_new_int64(c->coins));
    json_object_object_add(pkg, "duration_days", json_object_new_int64(c->duration_days));

    json_object_object_add(o, "checkout_token", s_json_str(&c->token));
    json_object_object_add(o, "serial_number", s_json_str(&c->serial));
    json_object_object_add(o, "state", s_json_str(&c->state));
    json_object_object_add(o, "package", pkg);
    pkg = NULL; /* o owns it now */
    json_object_object_add(o, "amount", json_object_new_int64(c->amount));
    json_object_object_add(o, "payment_url", s_json_str(&c->payment_url));
    json_object_object_add(o, "redirect_url", s_json_str(&c->redirect_url));
    if (gw_json_add_time(o, "created_at", true, c->created_ms) != 0 ||
        gw_json_add_time(o, "updated_at", true, c->updated_ms) != 0 ||
        gw_json_add_time(o, "delivered_at", c->delivered_ms.set, c->delivered_ms.v) != 0)
        goto fail;
    s_add_opt_int(o, "coins_after", c->coins_after);
    if (gw_json_add_time(o, "subscription_until", c->subscription_until_ms.set,
                         c->subscription_until_ms.v) != 0)
        goto fail;
    json_object_object_add(o, "refund_requested", json_object_new_boolean(c->refund_requested));
    json_object_object_add(o, "refund_reason", s_json_str(&c->refund_reason));
    json_object_object_add(o, "reversed", json_object_new_boolean(c->reversed));
    json_object_object_add(o, "attempts", list);
    return o;
fail:
    json_object_put(list);
    json_object_put(pkg);
    json_object_put(o);
    return NULL;
}

int gw_bazaarpay_checkout_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    s_checkout_t c;
    /* A checkout is answered once BazaarPay gave it a token and a URL. */
    if (s_checkout_read(reply, &c) != 0 || !c.token.s || !c.payment_url.s)
        return -1;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "checkout_token", s_json_str(&c.token));
    json_object_object_add(o, "payment_url", s_json_str(&c.payment_url));
    json_object_object_add(o, "serial_number", s_json_str(&c.serial));
    json_object_object_add(o, "state", s_json_str(&c.state));
    return gw_json_finish(o, 200, out);
}

int gw_bazaarpay_confirm_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    s_checkout_t c;
    if (s_checkout_read(reply, &c) != 0 || !c.token.s)
        return -1;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    int status;
    if (s_is(&c.state, "in_progress")) {
        status = 202;
        json_object_object_add(o, "state", s_json_str(&c.state));
        json_object_object_add(o, "checkout_token", s_json_str(&c.token));
    } else if (s_is(&c.state, "delivered") || s_is(&c.state, "committed")) {
        /* Committed or not is paymesh's business with BazaarPay; for the
         * app both mean the package is delivered. */
        status = 200;
        json_object_object_add(o, "state", json_object_new_string("delivered"));
        json_object_object_add(o, "checkout_token", s_json_str(&c.token));
        json_object_object_add(o, "serial_number", s_json_str(&c.serial));
        if (s_is(&c.package_type, "coin")) {
            if (!c.coins_after.set) /* the balance, as bazzar_paymnet answers it */
                goto fail;
            json_object_object_add(o, "coins", json_object_new_int64(c.coins_after.v));
        } else if (!c.subscription_until_ms.set ||
                   gw_json_add_time(o, "subscription_until", (c.subscription_until_ms).set,
                                    (c.subscription_until_ms).v) != 0) {
            goto fail;
        }
    } else {
        /* refunded or expired: the app must not deliver; 406 like a purchase
         * Bazaar refused (seed 000), in the family's error shape too. */
        bool refunded = s_is(&c.state, "refunded");
        status = pm_err_http_status(PM_ERR_REJECTED);
        json_object_object_add(o, "state", s_json_str(&c.state));
        json_object_object_add(o, "checkout_token", s_json_str(&c.token));
        json_object_object_add(o, "serial_number", s_json_str(&c.serial));
        json_object_object_add(
            o, "error",
            json_object_new_string(refunded ? "the checkout was refunded to the user"
                                            : "the checkout ended unpaid; open a new one"));
        json_object_object_add(o, "code", json_object_new_string(pm_err_code(PM_ERR_REJECTED)));
    }
    return gw_json_finish(o, status, out);
fail:
    json_object_put(o);
    return -1;
}

int gw_bazaarpay_get_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    s_checkout_t c;
    if (s_checkout_read(reply, &c) != 0)
        return -1;
    return gw_json_finish(s_checkout_json(&c), 200, out);
}

int gw_bazaarpay_refund_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    s_checkout_t c;
    if (s_checkout_read(reply, &c) != 0)
        return -1;
    int status;
    if (s_is(&c.state, "refunded"))
        status = 200;
    else if ((s_is(&c.state, "delivered") || s_is(&c.state, "committed")) && c.refund_requested)
        status = 202;
    else
        return -1; /* the core refuses refunds of checkouts never delivered */
    return gw_json_finish(s_checkout_json(&c), status, out);
}
