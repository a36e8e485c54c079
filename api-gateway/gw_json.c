/*  gw_json: strict parsing, field checks with paths, deterministic output. */
#include "gw_json.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_envelope.h"
#include "pm_err.h"

static bool s_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool s_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Checks one number token at t[*i]; advances *i past it. */
static int s_lex_number(const char *t, size_t len, size_t *i, const char **why)
{
    size_t k = *i;
    if (t[k] == '-')
        k++;
    if (k >= len || !s_digit(t[k])) {
        *why = "a number must start with a digit";
        return -1;
    }
    if (t[k] == '0' && k + 1 < len && s_digit(t[k + 1])) {
        *why = "a number must not have leading zeros";
        return -1;
    }
    while (k < len && s_digit(t[k]))
        k++;
    if (k < len && t[k] == '.') {
        k++;
        if (k >= len || !s_digit(t[k])) {
            *why = "a number needs digits after its decimal point";
            return -1;
        }
        while (k < len && s_digit(t[k]))
            k++;
    }
    if (k < len && (t[k] == 'e' || t[k] == 'E')) {
        k++;
        if (k < len && (t[k] == '+' || t[k] == '-'))
            k++;
        if (k >= len || !s_digit(t[k])) {
            *why = "a number needs digits in its exponent";
            return -1;
        }
        while (k < len && s_digit(t[k]))
            k++;
    }
    *i = k;
    return 0;
}

/* The code unit of a "\uXXXX" escape at t[i], or -1 if there is none. */
static long s_u_escape(const char *t, size_t len, size_t i)
{
    if (i + 6 > len || t[i] != '\\' || t[i + 1] != 'u')
        return -1;
    long v = 0;
    for (size_t k = i + 2; k < i + 6; k++) {
        char c = t[k];
        int d = s_digit(c)               ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Field path ("recipcient.recipcient_id") of the value at the given depth:
 * the key of each enclosing object, raw JSON text, clipped. */
typedef struct {
    const char *key; /* raw text between the quotes; NULL in an array */
    size_t len;
} s_key_t;

static void s_path(const s_key_t *keys, int depth, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int d = 1; d <= depth; d++) {
        if (!keys[d].key)
            continue;
        char clip[48];
        gw_text_clip(clip, sizeof clip, keys[d].key, keys[d].len, 40);
        int w = snprintf(out + n, cap - n, "%s%s", n ? "." : "", clip);
        if (w < 0 || (size_t)w >= cap - n)
            return;
        n += (size_t)w;
    }
}

/* gw_json_lex_check, also counting the field names of every object (the
 * colons outside strings) into *names. */
static int s_lex(const char *t, size_t len, char *why, size_t cap, size_t *names)
{
    assert(why && cap > 0 && names);
    *names = 0;
    s_key_t keys[GW_JSON_DEPTH + 2] = {{NULL, 0}}; /* [d]: key at depth d */
    int depth = 0;                                 /* open objects and arrays */
    const char *last = NULL;                       /* the last string token */
    size_t last_len = 0;
    const char *reason = NULL;
    size_t i = 0;
    why[0] = '\0';
    while (i < len) {
        char c = t[i];
        if (c == '"') {
            /* Skip the string; json-c checks its escapes and UTF-8, but
             * turns an unpaired surrogate escape into U+FFFD silently. */
            size_t start = ++i;
            bool unpaired = false;
            for (; i < len && t[i] != '"'; i++) {
                if (t[i] != '\\')
                    continue;
                long u = s_u_escape(t, len, i);
                long low = s_u_escape(t, len, i + 6);
                if (u >= 0xD800 && u <= 0xDBFF && low >= 0xDC00 && low <= 0xDFFF) {
                    i += 11; /* a pair: both escapes */
                } else {
                    unpaired = unpaired || (u >= 0xD800 && u <= 0xDFFF);
                    i++;
                }
            }
            last = t + start;
            last_len = (i < len ? i : len) - start;
            i++;
            if (unpaired) {
                size_t k = i;
                while (k < len && (t[k] == ' ' || t[k] == '\t' || t[k] == '\n' || t[k] == '\r'))
                    k++;
                char path[200];
                s_path(keys, depth <= GW_JSON_DEPTH + 1 ? depth : GW_JSON_DEPTH + 1, path,
                       sizeof path);
                if (k < len && t[k] == ':')
                    snprintf(why, cap, "a field name%s%s holds an unpaired UTF-16 surrogate",
                             *path ? " in " : "", path);
                else
                    snprintf(why, cap, "%s holds an unpaired UTF-16 surrogate escape",
                             *path ? path : "a string");
                return -1;
            }
        } else if (c == '-' || s_digit(c)) {
            if (s_lex_number(t, len, &i, &reason) != 0)
                goto invalid;
        } else if (s_alpha(c)) {
            size_t start = i;
            while (i < len && (s_alpha(t[i]) || s_digit(t[i])))
                i++;
            size_t n = i - start;
            if (!((n == 4 && memcmp(t + start, "true", 4) == 0) ||
                  (n == 5 && memcmp(t + start, "false", 5) == 0) ||
                  (n == 4 && memcmp(t + start, "null", 4) == 0))) {
                reason = "unexpected word (only true, false and null are JSON literals)";
                goto invalid;
            }
        } else if (c == '\'') {
            reason = "strings must be in double quotes";
            goto invalid;
        } else {
            if (c == '{' || c == '[') {
                depth++;
                if (depth <= GW_JSON_DEPTH + 1)
                    keys[depth] = (s_key_t){NULL, 0};
            } else if (c == '}' || c == ']') {
                depth -= depth > 0;
            } else if (c == ':') {
                (*names)++;
                if (last && depth >= 1 && depth <= GW_JSON_DEPTH + 1)
                    keys[depth] = (s_key_t){last, last_len};
            }
            i++;
        }
    }
    return 0;
invalid:
    snprintf(why, cap, "request body is not valid JSON: %s", reason);
    return -1;
}

int gw_json_lex_check(const char *t, size_t len, char *why, size_t cap)
{
    size_t names;
    return s_lex(t, len, why, cap, &names);
}

/* Field names held by obj and every object inside it. */
static size_t s_names_held(json_object *obj)
{
    size_t n = 0;
    if (json_object_is_type(obj, json_type_object)) {
        json_object_object_foreach(obj, key, val)
        {
            (void)key;
            n += 1 + s_names_held(val);
        }
    } else if (json_object_is_type(obj, json_type_array)) {
        size_t len = json_object_array_length(obj);
        for (size_t i = 0; i < len; i++)
            n += s_names_held(json_object_array_get_idx(obj, i));
    }
    return n;
}

/* One json-c tokener per thread, reset between documents instead of made
 * and freed for each request; freed when its thread ends. */
static pthread_once_t s_tok_once = PTHREAD_ONCE_INIT;
static pthread_key_t s_tok_key;

static void s_tok_free(void *tok)
{
    json_tokener_free(tok);
}

static void s_tok_key_init(void)
{
    if (pthread_key_create(&s_tok_key, s_tok_free) != 0)
        abort();
}

static struct json_tokener *s_tokener(void)
{
    pthread_once(&s_tok_once, s_tok_key_init);
    struct json_tokener *tok = pthread_getspecific(s_tok_key);
    if (tok)
        return tok;
    /* json-c's depth counts one more than the nesting it allows. */
    tok = json_tokener_new_ex(GW_JSON_DEPTH + 1);
    if (!tok)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    if (pthread_setspecific(s_tok_key, tok) != 0) {
        json_tokener_free(tok);
        return NULL;
    }
    return tok;
}

json_object *gw_json_parse_object(const char *text, size_t len, gw_build_t *b)
{
    assert(b);
    if (len == 0) {
        gw_build_fail(b, PM_ERR_VALIDATION, "request body is empty; a JSON object is required");
        return NULL;
    }
    if (len > INT_MAX) {
        gw_build_fail(b, PM_ERR_TOO_LARGE, "request body is too large");
        return NULL;
    }
    /* json-c's UTF-8 check lets overlong forms ("\xc0\x80") through. */
    if (!gw_utf8_valid(text, len)) {
        gw_build_fail(b, PM_ERR_VALIDATION, "request body is not valid JSON: invalid UTF-8");
        return NULL;
    }
    size_t first = 0;
    while (first < len && (text[first] == ' ' || text[first] == '\t' || text[first] == '\n' ||
                           text[first] == '\r'))
        first++;
    if (first == len || text[first] != '{') {
        gw_build_fail(b, PM_ERR_VALIDATION, "request body must be a JSON object");
        return NULL;
    }
    char why[GW_MSG_MAX];
    size_t names;
    if (s_lex(text, len, why, sizeof why, &names) != 0) {
        gw_build_fail(b, PM_ERR_VALIDATION, "%s", why);
        return NULL;
    }
    struct json_tokener *tok = s_tokener();
    if (!tok) {
        gw_build_fail(b, PM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_reset(tok);
    if (jerr == json_tokener_continue) {
        gw_build_fail(b, PM_ERR_VALIDATION, "request body is not valid JSON: unexpected end");
        goto fail;
    }
    if (jerr == json_tokener_error_depth) {
        gw_build_fail(b, PM_ERR_VALIDATION, "request body nests deeper than %d levels",
                      GW_JSON_DEPTH);
        goto fail;
    }
    if (jerr != json_tokener_success) {
        gw_build_fail(b, PM_ERR_VALIDATION, "request body is not valid JSON: %s at byte %zu",
                      json_tokener_error_desc(jerr), end);
        goto fail;
    }
    /* json-c may stop early at a NUL byte: only whitespace may follow. */
    for (size_t i = end; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
            gw_build_fail(b, PM_ERR_VALIDATION,
                          "request body is not valid JSON: unexpected byte %zu after the object",
                          i);
            goto fail;
        }
    assert(json_object_is_type(obj, json_type_object)); /* it starts with '{' */
    /* json-c keeps the last of two equal names: a body that says a field
     * twice means two things, so it is refused, escaped spellings included
     * ("a" and "\u0061"). */
    if (s_names_held(obj) != names) {
        gw_build_fail(b, PM_ERR_VALIDATION,
                      "request body names a field twice in one object; each field may "
                      "appear once");
        goto fail;
    }
    return obj;
fail:
    json_object_put(obj);
    return NULL;
}

/* "money_info.amount" from prefix "money_info" and key "amount". */
static const char *s_name(char *buf, size_t cap, const char *prefix, const char *key)
{
    snprintf(buf, cap, "%s%s%s", prefix, *prefix ? "." : "", key);
    return buf;
}

int gw_json_only(json_object *obj, const char *prefix, const char *const *allowed, gw_build_t *b)
{
    assert(obj && prefix && allowed && b);
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char clip[80];
            gw_text_clip(clip, sizeof clip, key, strlen(key), 64);
            char name[160];
            return gw_build_fail(b, PM_ERR_VALIDATION, "unknown field %s",
                                 s_name(name, sizeof name, prefix, clip));
        }
    }
    return 0;
}

/* The value under key: 1 and *v when present and not null; 0 when absent or
 * null (an error if required). -1 with an error in b. */
static int s_get(json_object *obj, const char *prefix, const char *key, bool required,
                 json_object **v, gw_build_t *b)
{
    *v = NULL;
    if (!json_object_object_get_ex(obj, key, v) || !*v) {
        *v = NULL;
        char name[160];
        if (required)
            return gw_build_fail(b, PM_ERR_VALIDATION, "%s is required",
                                 s_name(name, sizeof name, prefix, key));
        return 0;
    }
    return 1;
}

int gw_json_object(json_object *obj, const char *prefix, const char *key, bool required,
                   json_object **out, gw_build_t *b)
{
    char name[160];
    json_object *v;
    int rc = s_get(obj, prefix, key, required, &v, b);
    *out = NULL;
    if (rc <= 0)
        return rc;
    if (!json_object_is_type(v, json_type_object))
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must be an object",
                             s_name(name, sizeof name, prefix, key));
    *out = v;
    return 0;
}

int gw_json_id(json_object *obj, const char *prefix, const char *key, bool required,
               const char **out, size_t *out_len, gw_build_t *b)
{
    char name[160];
    json_object *v;
    *out = NULL;
    *out_len = 0;
    int rc = s_get(obj, prefix, key, required, &v, b);
    if (rc <= 0)
        return rc;
    if (!json_object_is_type(v, json_type_string))
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must be a string",
                             s_name(name, sizeof name, prefix, key));
    const unsigned char *s = (const unsigned char *)json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len == 0)
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must not be empty",
                             s_name(name, sizeof name, prefix, key));
    if (len > GW_ID_MAX)
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s is longer than %d bytes",
                             s_name(name, sizeof name, prefix, key), GW_ID_MAX);
    for (size_t i = 0; i < len; i++) {
        /* C0 controls, DEL, and C1 controls (U+0080..U+009F: C2 80..C2 9F). */
        bool c1 = s[i] == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F;
        if (s[i] < 0x20 || s[i] == 0x7F || c1)
            return gw_build_fail(b, PM_ERR_VALIDATION, "%s must not contain control characters",
                                 s_name(name, sizeof name, prefix, key));
    }
    *out = (const char *)s;
    *out_len = len;
    return 0;
}

int gw_json_idem(json_object *obj, const char *prefix, const char *key, const char **out,
                 size_t *out_len, gw_build_t *b)
{
    char name[160];
    json_object *v;
    *out = NULL;
    *out_len = 0;
    int rc = s_get(obj, prefix, key, true, &v, b);
    if (rc <= 0)
        return -1;
    if (!json_object_is_type(v, json_type_string))
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must be a string",
                             s_name(name, sizeof name, prefix, key));
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    bool ok = len >= 1 && len <= GW_IDEM_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = s[i] >= 0x20 && s[i] <= 0x7E;
    if (!ok)
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must be 1 to %d printable ASCII characters",
                             s_name(name, sizeof name, prefix, key), GW_IDEM_MAX);
    *out = s;
    *out_len = len;
    return 0;
}

int gw_json_currency(json_object *obj, const char *prefix, const char *key,
                     const pm_currency_t **out, gw_build_t *b)
{
    char name[160];
    json_object *v;
    *out = NULL;
    if (s_get(obj, prefix, key, true, &v, b) <= 0)
        return -1;
    if (!json_object_is_type(v, json_type_string))
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must be a string",
                             s_name(name, sizeof name, prefix, key));
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    char code[4] = {0};
    const pm_currency_t *cur = NULL;
    if (len == 3) {
        for (size_t i = 0; i < 3; i++)
            code[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
        cur = pm_currency_find(code, 3);
    }
    if (!cur) {
        char clip[32];
        gw_text_clip(clip, sizeof clip, s, len, 16);
        return gw_build_fail(b, PM_ERR_VALIDATION,
                             "%s '%s' is not a supported currency (BTC, EUR, GBP, IRR, IRT, RUB, "
                             "TMT, TRY, USD)",
                             s_name(name, sizeof name, prefix, key), clip);
    }
    *out = cur;
    return 0;
}

const char *gw_json_amount_text(json_object *v, size_t *len)
{
    assert(len);
    *len = 0;
    if (!v)
        return NULL;
    switch (json_object_get_type(v)) {
    case json_type_double: /* the tokener keeps the number's own characters */
    case json_type_int: {  /* integers are exact; their text is canonical */
        const char *s = json_object_get_string(v);
        *len = strlen(s);
        return s;
    }
    case json_type_string:
        *len = (size_t)json_object_get_string_len(v);
        return json_object_get_string(v);
    default:
        return NULL;
    }
}

int gw_json_amount(json_object *obj, const char *prefix, const char *key, const pm_currency_t *cur,
                   int64_t max_minor, int64_t *out, gw_build_t *b)
{
    assert(cur && out);
    char name[160];
    json_object *v;
    *out = 0;
    if (!json_object_object_get_ex(obj, key, &v))
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s is required",
                             s_name(name, sizeof name, prefix, key));
    size_t len;
    const char *text = gw_json_amount_text(v, &len);
    if (!text)
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s must be a number like 10 or 1.50",
                             s_name(name, sizeof name, prefix, key));
    const char *why = NULL;
    if (pm_money_parse(text, len, cur->exponent, max_minor, out, &why) != 0)
        return gw_build_fail(b, PM_ERR_VALIDATION, "%s %s", s_name(name, sizeof name, prefix, key),
                             why);
    return 0;
}

json_object *gw_json_new_amount(int64_t minor, const pm_currency_t *cur)
{
    assert(cur);
    if (minor < 0)
        return NULL;
    char text[40];
    if (pm_money_format(minor, cur->exponent, text, sizeof text) < 0)
        return NULL;
    /* The double is only what json_object_get_double would say; the output
     * is the text, exact. */
    return json_object_new_double_s(strtod(text, NULL), text);
}

json_object *gw_json_new_strn(const char *s, size_t len)
{
    if (!s)
        return NULL;
    return json_object_new_string_len(s, (int)len);
}

int gw_json_finish(json_object *obj, int status, gw_response_t *out)
{
    assert(out);
    int rc = -1;
    if (!obj)
        return -1;
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    char *copy = text ? malloc(len + 1) : NULL;
    if (!copy)
        goto put;
    memcpy(copy, text, len + 1);
    free(out->json);
    out->json = copy;
    out->len = len;
    out->status = status;
    rc = 0;
put:
    json_object_put(obj);
    return rc;
}

int gw_json_error(int err, const char *msg, gw_response_t *out)
{
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "code", json_object_new_string(pm_err_code(err)));
    json_object_object_add(o, "message", json_object_new_string(msg ? msg : ""));
    return gw_json_finish(o, pm_err_http_status(err), out);
}

int gw_json_error_as(gw_errors_t errors, int err, const char *msg, gw_response_t *out)
{
    if (errors == GW_ERRORS_CORE)
        return gw_json_error(err, msg, out);
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    if (errors == GW_ERRORS_ORDER) {
        json_object_object_add(o, "status", json_object_new_int(0));
        json_object_object_add(o, "message", json_object_new_string(msg ? msg : ""));
        json_object_object_add(o, "code", json_object_new_string(pm_err_code(err)));
        return gw_json_finish(o, pm_err_http_status(err), out);
    }
    if (err == PM_ERR_UNAUTHORIZED)
        msg = "Log in";
    json_object_object_add(o, "error", json_object_new_string(msg ? msg : ""));
    json_object_object_add(o, "code", json_object_new_string(pm_err_code(err)));
    return gw_json_finish(o, pm_err_http_status(err), out);
}

/* Unpacks a reply body; 0 with *err and the body in *u, or -1. */
static int s_reply_unpack(const void *bytes, size_t len, msgpack_unpacked *u, int *err)
{
    size_t off = 0;
    int64_t e;
    if (!bytes || !pm_mp_bounded(bytes, len) ||
        msgpack_unpack_next(u, bytes, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len ||
        u->data.type != MSGPACK_OBJECT_MAP || pm_mp_get_int(&u->data, "err", &e) != 0 || e < 0 ||
        e >= PM_ERR__COUNT)
        return -1;
    *err = (int)e;
    return 0;
}

int gw_reply_err(const void *bytes, size_t len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int err = PM_ERR_INTERNAL;
    if (s_reply_unpack(bytes, len, &u, &err) != 0)
        err = PM_ERR_INTERNAL;
    msgpack_unpacked_destroy(&u);
    return err;
}

/* The shared body of gw_reply_render and gw_reply_render_route. */
static int s_reply_render(gw_errors_t errors, gw_render_fn render, gw_render_req_fn render_req,
                          const gw_input_t *in, const void *bytes, size_t len, gw_response_t *out)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int err, rc;
    if (s_reply_unpack(bytes, len, &u, &err) != 0) {
        rc = gw_json_error_as(errors, PM_ERR_INTERNAL, "payment-core sent a malformed reply", out);
    } else if (err != PM_OK) {
        const char *msg;
        size_t msg_len;
        char text[GW_MSG_MAX + 8];
        if (pm_mp_get_str(&u.data, "msg", &msg, &msg_len) != 0)
            snprintf(text, sizeof text, "%s", pm_err_code(err));
        else if (msg_len <= GW_MSG_MAX && gw_utf8_valid(msg, msg_len) &&
                 !memchr(msg, '\0', msg_len))
            snprintf(text, sizeof text, "%.*s", (int)msg_len, msg);
        else
            gw_text_clip(text, sizeof text, msg, msg_len, GW_MSG_MAX);
        rc = gw_json_error_as(errors, err, text, out);
    } else if (render_req ? render_req(in, &u.data, out) != 0
                          : (!render || render(&u.data, out) != 0)) {
        gw_response_clear(out);
        rc = gw_json_error_as(errors, PM_ERR_INTERNAL, "payment-core sent a malformed reply", out);
    } else {
        rc = 0;
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

int gw_reply_render(gw_render_fn render, const void *bytes, size_t len, gw_response_t *out)
{
    return s_reply_render(GW_ERRORS_CORE, render, NULL, NULL, bytes, len, out);
}

int gw_reply_render_route(const gw_route_t *route, const gw_input_t *in, const void *bytes,
                          size_t len, gw_response_t *out)
{
    if (!route)
        return s_reply_render(GW_ERRORS_CORE, NULL, NULL, NULL, bytes, len, out);
    assert(!route->render_req || in);
    return s_reply_render(route->errors, route->render, route->render_req, in, bytes, len, out);
}

void gw_text_clip(char *dst, size_t cap, const char *src, size_t len, size_t max)
{
    assert(dst && cap > 0);
    size_t n = 0;
    for (size_t i = 0; i < len && i < max && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[n++] = (c >= 0x20 && c <= 0x7E) ? (char)c : '?';
    }
    if (len > max && n + 4 <= cap) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
}

/* Writes v as n decimal digits, zero-padded, at p. */
static char *s_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

int gw_time_format(int64_t ms, char *buf, size_t cap)
{
    /* 0000-01-01 .. 9999-12-31 keeps the format fixed-width. */
    if (ms < -62167219200000LL || ms > 253402300799999LL || cap < 25)
        return -1;
    int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t msec = ms - sec * 1000;
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t tod = sec - days * 86400;
    /* Proleptic Gregorian date of a day count from 1970-01-01, by 400-year
     * eras (the civil-from-days method): no gmtime_r, no strftime. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    char *p = s_digits(buf, y, 4);
    *p++ = '-';
    p = s_digits(p, m, 2);
    *p++ = '-';
    p = s_digits(p, d, 2);
    *p++ = 'T';
    p = s_digits(p, tod / 3600, 2);
    *p++ = ':';
    p = s_digits(p, tod / 60 % 60, 2);
    *p++ = ':';
    p = s_digits(p, tod % 60, 2);
    *p++ = '.';
    p = s_digits(p, msec, 3);
    *p++ = 'Z';
    *p = '\0';
    return 0;
}

bool gw_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n) /* fewer than n continuation bytes left */
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

int gw_reply_str(const msgpack_object *map, const char *key, bool nullable, size_t max,
                 const char **s, size_t *len)
{
    const msgpack_object *v = pm_mp_get(map, key);
    *s = NULL;
    *len = 0;
    if (v && v->type == MSGPACK_OBJECT_NIL && nullable)
        return 0;
    if (!v || v->type != MSGPACK_OBJECT_STR || v->via.str.size > max ||
        !gw_utf8_valid(v->via.str.ptr, v->via.str.size))
        return -1;
    *s = v->via.str.ptr;
    *len = v->via.str.size;
    return 0;
}

void gw_pack_kv(msgpack_packer *pk, const char *key, const char *s, size_t len)
{
    pm_mp_pack_cstr(pk, key);
    if (s)
        pm_mp_pack_strn(pk, s, len);
    else
        msgpack_pack_nil(pk);
}

int gw_json_add_time(json_object *o, const char *key, bool set, int64_t ms)
{
    char text[32];
    if (!set) {
        json_object_object_add(o, key, NULL);
        return 0;
    }
    if (gw_time_format(ms, text, sizeof text) != 0)
        return -1;
    json_object_object_add(o, key, json_object_new_string(text));
    return 0;
}
