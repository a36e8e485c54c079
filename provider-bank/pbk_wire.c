/*  pbk_wire: job kinds, order checks, requests, results, reason text, form
 *  bodies and strict JSON for both bank clients. */
#include "pbk_wire.h"

#include <assert.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pm_text.h"

static const char *const s_kinds[PBK_CALLS] = {
    [PBK_REGISTER] = "bank_register", [PBK_STATUS] = "bank_status", [PBK_DEPOSIT] = "bank_deposit",
    [PBK_REVERSE] = "bank_reverse",   [PBK_REFUND] = "bank_refund",
};

static const char *const s_states[] = {
    [PBK_STATE_NONE] = "",
    [PBK_STATE_REGISTERED] = "registered",
    [PBK_STATE_PENDING] = "pending",
    [PBK_STATE_PREAUTHORIZED] = "preauthorized",
    [PBK_STATE_PAID] = "paid",
    [PBK_STATE_REVERSED] = "reversed",
    [PBK_STATE_REFUNDED] = "refunded",
    [PBK_STATE_DECLINED] = "declined",
    [PBK_STATE_NOT_FOUND] = "not_found",
};

const char *pbk_outcome_name(pbk_outcome_t o)
{
    switch (o) {
    case PBK_OK:
        return "ok";
    case PBK_REJECTED:
        return "rejected";
    case PBK_UNKNOWN:
        break;
    }
    return "unknown";
}

const char *pbk_kind(pbk_call_t call)
{
    assert(call >= PBK_REGISTER && call < PBK_CALLS);
    return s_kinds[call];
}

bool pbk_kind_parse(const char *kind, pbk_call_t *call)
{
    assert(kind && call);
    for (int i = 0; i < PBK_CALLS; i++) {
        if (strcmp(kind, s_kinds[i]) == 0) {
            *call = (pbk_call_t)i;
            return true;
        }
    }
    return false;
}

const char *pbk_state_name(pbk_state_t s)
{
    assert(s >= PBK_STATE_NONE && s <= PBK_STATE_NOT_FOUND);
    return s_states[s];
}

/* ---- checks ------------------------------------------------------------------- */

static bool s_word(const char *s, size_t len, size_t max)
{
    if (!s || len < 1 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

bool pbk_order_number_valid(const char *s, size_t len)
{
    return s_word(s, len, PBK_ORDER_NUMBER_MAX);
}

bool pbk_order_id_valid(const char *s, size_t len)
{
    return s_word(s, len, PBK_ORDER_ID_MAX);
}

bool pbk_http_url_valid(const char *s, size_t len, size_t max)
{
    size_t scheme;
    if (!s || len > max)
        return false;
    if (len > 7 && strncasecmp(s, "http://", 7) == 0)
        scheme = 7;
    else if (len > 8 && strncasecmp(s, "https://", 8) == 0)
        scheme = 8;
    else
        return false;
    if (s[scheme] == '/' || s[scheme] == '?' || s[scheme] == '#')
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    return true;
}

bool pbk_base_url_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    return pbk_http_url_valid(s, n, 1024) && s[n - 1] == '/' && !memchr(s, '?', n) &&
           !memchr(s, '#', n);
}

/* True for the control character that starts at u (k bytes). */
static bool s_control(const unsigned char *u, size_t k)
{
    return (k == 1 && (u[0] < 0x20 || u[0] == 0x7f)) || (k == 2 && u[0] == 0xc2 && u[1] < 0xa0);
}

bool pbk_text_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    if (!s)
        return false;
    while (i < len) {
        size_t k = pm_utf8_seq_len(u + i, len - i);
        if (k == 0 || s_control(u + i, k))
            return false;
        i += k;
    }
    return true;
}

int pbk_order_check(const pbk_order_t *o, const char **why)
{
    assert(o && why);
    const char *c = o->currency;
    if (!o->order_number || !pbk_order_number_valid(o->order_number, strlen(o->order_number)))
        *why = "order_number is not 1..32 of [A-Za-z0-9_-]";
    else if (o->amount_minor < 1 || o->amount_minor > PBK_AMOUNT_MAX)
        *why = "amount_minor is out of range";
    else if (!c || strlen(c) != 3 || c[0] < '0' || c[0] > '9' || c[1] < '0' || c[1] > '9' ||
             c[2] < '0' || c[2] > '9')
        *why = "currency is not an ISO 4217 numeric code";
    else if (!o->return_url ||
             !pbk_http_url_valid(o->return_url, strlen(o->return_url), PBK_RETURN_URL_MAX))
        *why = "return_url is not an http(s) URL of at most 512 bytes";
    else if (o->fail_url &&
             !pbk_http_url_valid(o->fail_url, strlen(o->fail_url), PBK_RETURN_URL_MAX))
        *why = "fail_url is not an http(s) URL of at most 512 bytes";
    else if (o->description && (strlen(o->description) > PBK_DESCRIPTION_MAX ||
                                !pbk_text_valid(o->description, strlen(o->description))))
        *why = "description is not text of at most 512 bytes";
    else if (o->language && (strlen(o->language) != 2 || o->language[0] < 'a' ||
                             o->language[0] > 'z' || o->language[1] < 'a' || o->language[1] > 'z'))
        *why = "language is not two lower-case letters";
    else
        return 0;
    return -1;
}

/* ---- requests and results -------------------------------------------------- */

void pbk_request_clear(pbk_request_t *req)
{
    assert(req);
    free(req->body);
    memset(req, 0, sizeof *req);
}

void pbk_result_reset(pbk_result_t *r)
{
    assert(r);
    memset(r, 0, sizeof *r);
    r->outcome = PBK_UNKNOWN;
}

/* Text being built in a fixed buffer, kept valid reason text (see
 * pbk_result_set); what does not fit is cut at a character boundary. */
typedef struct {
    char *p;
    size_t cap; /* bytes of p, > 0 */
    size_t len;
    bool cut;
} s_text_t;

static void s_text_put(s_text_t *t, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && !t->cut) {
        size_t k = pm_utf8_seq_len(u + i, n - i);
        const char *c = s + i;
        size_t out = k;
        if (k == 0) {
            c = "?";
            k = out = 1;
        } else if (s_control(u + i, k)) {
            c = " ";
            out = 1;
        }
        if (t->len + out + 1 > t->cap) {
            t->cut = true;
            break;
        }
        memcpy(t->p + t->len, c, out);
        t->len += out;
        i += k;
    }
    t->p[t->len] = '\0';
}

/* Ends a text that was cut with "...", dropping whole characters for room. */
static void s_text_end(s_text_t *t)
{
    if (!t->cut || t->cap < 4)
        return;
    while (t->len > 0 && t->len + 4 > t->cap) {
        do
            t->len--;
        while (t->len > 0 && ((unsigned char)t->p[t->len] & 0xc0) == 0x80);
    }
    memcpy(t->p + t->len, "...", 4);
    t->len += 3;
}

void pbk_text_copy(char *out, size_t cap, const char *s, size_t len)
{
    assert(out && cap > 0 && (s || len == 0));
    s_text_t t = {.p = out, .cap = cap};
    out[0] = '\0';
    s_text_put(&t, s, len);
    s_text_end(&t);
}

void pbk_result_set(pbk_result_t *r, pbk_outcome_t o, const char *fmt, ...)
{
    assert(r && fmt);
    char tmp[2 * PBK_REASON_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    s_text_t t = {.p = r->reason, .cap = sizeof r->reason};
    r->reason[0] = '\0';
    s_text_put(&t, tmp, n < 0 ? 0 : (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    if (n >= 0 && (size_t)n >= sizeof tmp)
        t.cut = true;
    s_text_end(&t);
    r->outcome = o;
}

/* ---- form bodies -------------------------------------------------------------- */

/* Makes room for need more bytes and a NUL; false (f failed) past
 * PBK_FORM_MAX or on out of memory. */
static bool s_form_room(pbk_form_t *f, size_t need)
{
    if (f->failed)
        return false;
    if (need > PBK_FORM_MAX || f->len + need + 1 > PBK_FORM_MAX + 1) {
        f->failed = true;
        return false;
    }
    if (f->len + need + 1 <= f->cap)
        return true;
    size_t cap = f->cap ? f->cap : 256;
    while (cap < f->len + need + 1)
        cap *= 2;
    char *p = realloc(f->p, cap);
    if (!p) {
        f->failed = true;
        return false;
    }
    f->p = p;
    f->cap = cap;
    return true;
}

/* Appends s[0..len) percent-encoded. */
static void s_form_escaped(pbk_form_t *f, const char *s, size_t len)
{
    /* At most three bytes per byte; pm_url_escape checks again. */
    if (len > PBK_FORM_MAX || !s_form_room(f, 3 * len))
        return;
    if (pm_url_escape(f->p, f->cap, &f->len, s, len) != 0)
        f->failed = true;
}

void pbk_form_add(pbk_form_t *f, const char *name, const char *value)
{
    assert(f && name && value);
    if (f->len > 0 && s_form_room(f, 1)) {
        f->p[f->len++] = '&';
        f->p[f->len] = '\0';
    }
    s_form_escaped(f, name, strlen(name));
    if (s_form_room(f, 1)) {
        f->p[f->len++] = '=';
        f->p[f->len] = '\0';
    }
    s_form_escaped(f, value, strlen(value));
}

void pbk_form_add_int(pbk_form_t *f, const char *name, int64_t value)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%lld", (long long)value);
    pbk_form_add(f, name, digits);
}

char *pbk_form_take(pbk_form_t *f)
{
    assert(f);
    char *p = f->failed || f->len == 0 ? NULL : f->p;
    if (!p)
        free(f->p);
    memset(f, 0, sizeof *f);
    return p;
}

/* ---- JSON ------------------------------------------------------------------- */

json_object *pbk_json_object(const char *body, size_t len)
{
    if (!body || len == 0 || len > INT32_MAX)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(32);
    if (!tok)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    bool whole = json_tokener_get_error(tok) == json_tokener_success &&
                 json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    if (!o || !whole || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

const char *pbk_json_str(json_object *o, const char *key, size_t *len)
{
    json_object *v;
    assert(key && len);
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

json_object *pbk_json_obj(json_object *o, const char *key)
{
    json_object *v;
    assert(key);
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
        return NULL;
    return v;
}
