/*  request: outcomes and bounds-checked body readers for handlers. */
#include "request.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_err.h"
#include "pm_log.h"
#include "pm_money.h"

static int s_outcome(req_t *req, int err, bool decided, const char *fmt, va_list ap)
{
    assert(err != PM_OK);
    req->err = err;
    req->decided = decided;
    if (vsnprintf(req->msg, sizeof req->msg, fmt, ap) < 0)
        req->msg[0] = '\0';
    return -1;
}

int req_reject(req_t *req, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_outcome(req, err, false, fmt, ap);
    va_end(ap);
    return -1;
}

int req_refuse(req_t *req, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_outcome(req, err, true, fmt, ap);
    va_end(ap);
    return -1;
}

int req_store_error(req_t *req, int rc, const char *what)
{
    pm_error("%s failed: %s (trace %s)", what, db_strerror(rc), req->header->trace_id);
    req->db_failed = true;
    if (rc == MDB_MAP_FULL)
        return req_reject(req, PM_ERR_UNAVAILABLE, "storage is full");
    return req_reject(req, PM_ERR_INTERNAL, "internal error");
}

bool req_utf8_valid(const char *str, size_t len, bool no_controls)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) {
            cp = c;
            n = 1;
        } else if (c >= 0xc2 && c <= 0xdf) {
            cp = c & 0x1f;
            n = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            cp = c & 0x0f;
            n = 3;
        } else if (c >= 0xf0 && c <= 0xf4) {
            cp = c & 0x07;
            n = 4;
        } else {
            return false;
        }
        if (len - i < n)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        if (no_controls && (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)))
            return false;
        i += n;
    }
    return true;
}

static bool s_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

/* JSON text of an object: UTF-8, no controls but JSON whitespace, braces. */
static bool s_json_object_text(const char *s, size_t len)
{
    if (!req_utf8_valid(s, len, false))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    size_t a = 0, b = len;
    while (a < b && strchr(" \t\r\n", s[a]))
        a++;
    while (b > a && strchr(" \t\r\n", s[b - 1]))
        b--;
    return b - a >= 2 && s[a] == '{' && s[b - 1] == '}';
}

int req_text(req_t *req, const char *key, const char *api_name, size_t min, size_t max, int flags,
             char *out, size_t cap)
{
    assert(req && key && api_name && out && cap > max);
    out[0] = '\0';
    const msgpack_object *v = pm_mp_get(req->body, key);
    if (!v || v->type == MSGPACK_OBJECT_NIL) {
        if (flags & REQ_OPTIONAL)
            return 0;
        return req_reject(req, PM_ERR_VALIDATION, "%s is required", api_name);
    }
    if (v->type != MSGPACK_OBJECT_STR)
        return req_reject(req, PM_ERR_VALIDATION, "%s must be a string", api_name);
    const char *s = v->via.str.ptr;
    size_t len = v->via.str.size;
    if (len < min || len > max)
        return req_reject(req, PM_ERR_VALIDATION, "%s must be %zu to %zu bytes long", api_name, min,
                          max);
    bool ok;
    if (memchr(s, '\0', len))
        ok = false;
    else if (flags & REQ_ASCII)
        ok = s_ascii(s, len);
    else if (flags & REQ_JSON)
        ok = s_json_object_text(s, len);
    else
        ok = req_utf8_valid(s, len, true);
    if (!ok)
        return req_reject(req, PM_ERR_VALIDATION, "%s %s", api_name,
                          flags & REQ_ASCII  ? "must be printable ASCII"
                          : flags & REQ_JSON ? "must be a JSON object"
                                             : "must be UTF-8 text without control characters");
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

int req_currency(req_t *req, const char *key, const char *api_name, char out[4])
{
    char code[16];
    if (req_text(req, key, api_name, 1, sizeof code - 1, REQ_ASCII, code, sizeof code) != 0)
        return -1;
    if (!pm_currency_find(code, strlen(code)))
        return req_reject(req, PM_ERR_VALIDATION, "%s %s is not a supported currency", api_name,
                          code);
    memcpy(out, code, 4);
    return 0;
}

int req_amount(req_t *req, const char *key, const char *api_name, int64_t *out)
{
    const msgpack_object *v = pm_mp_get(req->body, key);
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return req_reject(req, PM_ERR_VALIDATION, "%s is required", api_name);
    int64_t amount = 0;
    if (pm_mp_get_int(req->body, key, &amount) != 0) {
        if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            return req_reject(req, PM_ERR_VALIDATION, "%s is above the maximum allowed", api_name);
        return req_reject(req, PM_ERR_VALIDATION, "%s must be an integer of minor units", api_name);
    }
    if (amount <= 0)
        return req_reject(req, PM_ERR_VALIDATION, "%s must be greater than zero", api_name);
    if (amount > req->limits->max_amount_minor)
        return req_reject(req, PM_ERR_VALIDATION, "%s is above the maximum allowed", api_name);
    *out = amount;
    return 0;
}

int req_idem_claim(req_t *req)
{
    assert(req->caller && !req->idem_claimed);
    char token[IDEM_TOKEN_MAX + 1];
    if (req_text(req, "idem", "idempotency_token", 1, IDEM_TOKEN_MAX, REQ_ASCII, token,
                 sizeof token) != 0)
        return -1;
    if (idem_key_make(&req->idem_key, req->caller->principal, token, strlen(token)) != 0)
        return req_reject(req, PM_ERR_VALIDATION, "idempotency_token is invalid");
    idem_fingerprint(req->header->type, req->body_bytes, req->body_size, req->idem_fp);
    idem_state_t state;
    const void *reply = NULL;
    size_t reply_len = 0;
    int rc =
        idem_lookup(req->db, req->txn, &req->idem_key, req->idem_fp, &state, &reply, &reply_len);
    if (rc != 0)
        return req_store_error(req, rc, "idempotency lookup");
    switch (state) {
    case IDEM_NEW:
        req->idem_claimed = true;
        return 0;
    case IDEM_MISMATCH:
        return req_reject(req, PM_ERR_IDEMPOTENCY,
                          "idempotency_token %s was used with a different request", token);
    case IDEM_IN_PROGRESS:
        return req_reject(req, PM_ERR_CONFLICT,
                          "request with idempotency_token %s is still in progress", token);
    case IDEM_REPLAY:
        break;
    }
    msgpack_sbuffer_clear(req->out);
    msgpack_sbuffer_write(req->out, reply, reply_len);
    req->replayed = true;
    return 1;
}

int req_int(req_t *req, const char *key, const char *api_name, int64_t min, int64_t max, int flags,
            int64_t def, int64_t *out)
{
    assert(req && key && api_name && out && min <= max);
    const msgpack_object *v = pm_mp_get(req->body, key);
    if (!v || v->type == MSGPACK_OBJECT_NIL) {
        if (!(flags & REQ_OPTIONAL))
            return req_reject(req, PM_ERR_VALIDATION, "%s is required", api_name);
        *out = def;
        return 0;
    }
    int64_t value = 0;
    if (pm_mp_get_int(req->body, key, &value) != 0 || value < min || value > max)
        return req_reject(req, PM_ERR_VALIDATION, "%s must be an integer from %lld to %lld",
                          api_name, (long long)min, (long long)max);
    *out = value;
    return 0;
}

int req_bool(req_t *req, const char *key, const char *api_name, bool *out)
{
    assert(req && key && api_name && out);
    const msgpack_object *v = pm_mp_get(req->body, key);
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return req_reject(req, PM_ERR_VALIDATION, "%s is required", api_name);
    if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return req_reject(req, PM_ERR_VALIDATION, "%s must be true or false", api_name);
    *out = v->via.boolean;
    return 0;
}

void req_answer_error(req_t *req, const char *serial, int err, const char *msg)
{
    msgpack_sbuffer_clear(req->answer_body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, req->answer_body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pm_mp_pack_cstr(&pk, "err");
    msgpack_pack_int(&pk, err);
    pm_mp_pack_cstr(&pk, "msg");
    pm_mp_pack_cstr(&pk, msg);
    req->answer = true;
    snprintf(req->answer_serial, sizeof req->answer_serial, "%s", serial);
}

void req_pack_list_head(msgpack_packer *pk, const char *key, uint32_t n)
{
    msgpack_pack_map(pk, 2);
    pm_mp_pack_cstr(pk, "err");
    msgpack_pack_int(pk, PM_OK);
    pm_mp_pack_cstr(pk, key);
    msgpack_pack_array(pk, n);
}

#define S_WAIT_MARGIN_MS 100 /* answer a waiter this long before its deadline */
#define S_WAIT_NO_DEADLINE_MS 30000

void req_park_waiter(req_t *req, const char *serial)
{
    assert(strlen(serial) <= PARK_SERIAL_MAX);
    req->park_as = REQ_PARK_WAITER;
    snprintf(req->park_serial, sizeof req->park_serial, "%s", serial);
    int64_t d = req->header->deadline_ms;
    req->park_until_ms = d != 0 ? d - S_WAIT_MARGIN_MS : req->now_ms + S_WAIT_NO_DEADLINE_MS;
}

const char *req_data_str(const msgpack_object *map, const char *key, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!map || map->type != MSGPACK_OBJECT_MAP || pm_mp_copy_str(map, key, buf, cap) != 0)
        buf[0] = '\0';
    return buf;
}

bool req_http_url(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}
