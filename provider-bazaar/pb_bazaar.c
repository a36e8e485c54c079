/*  pb_bazaar: URLs, answer classification and the token cache. */
#include "pb_bazaar.h"

#include <assert.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_text.h"

const char *pb_outcome_name(pb_outcome_t o)
{
    switch (o) {
    case PB_OK:
        return "ok";
    case PB_REJECTED:
        return "rejected";
    case PB_UNKNOWN:
        break;
    }
    return "unknown";
}

/* ---- JSON answers ------------------------------------------------------ */

json_object *pb_json_object(const char *body, size_t len)
{
    if (!body || len == 0 || len > INT32_MAX)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(16);
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

/* An integer member (not a double, not a string). */
static bool s_int(json_object *o, const char *key, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_int64(v);
    return true;
}

static void s_set(pb_result_t *r, pb_outcome_t o, const char *reason)
{
    r->outcome = o;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
}

/* The "error" code of a 4xx body when it is a short [a-z0-9_.-] word:
 * copied into r->reason. False for anything else. */
static bool s_error_code(const char *body, size_t len, pb_result_t *r)
{
    json_object *o = pb_json_object(body, len);
    json_object *v;
    bool ok =
        o && json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_string);
    if (ok) {
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        ok = n >= 1 && n <= PB_REASON_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                 (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.';
        if (ok)
            snprintf(r->reason, sizeof r->reason, "%.*s", (int)n, s);
    }
    json_object_put(o);
    return ok;
}

/* What every non-200 status means, for both calls: 401 and 403 are about
 * our credentials, 5xx, 408, 429 and anything odd are unknown, another 4xx
 * with an error code is Bazaar's no. */
static void s_classify_error(long status, const char *body, size_t len, pb_result_t *r)
{
    char why[PB_REASON_MAX + 1];
    if (status == 401 || status == 403) {
        snprintf(why, sizeof why, "bazaar refused our credentials (http %ld)", status);
        s_set(r, PB_UNKNOWN, why);
        r->auth_failed = status == 401;
        return;
    }
    /* 408 and 429 say "not now", not "no": a valid purchase must not be
     * refused because Bazaar was busy. */
    if (status >= 400 && status < 500 && status != 408 && status != 429 &&
        s_error_code(body, len, r)) {
        r->outcome = PB_REJECTED;
        return;
    }
    snprintf(why, sizeof why, "bazaar answered http %ld", status);
    s_set(r, PB_UNKNOWN, why);
}

void pb_classify_validate(long status, const char *body, size_t len, pb_result_t *r)
{
    assert(r);
    memset(r, 0, sizeof *r);
    if (status != 200) {
        s_classify_error(status, body, len, r);
        return;
    }
    json_object *o = pb_json_object(body, len);
    int64_t purchase_state, consumption_state;
    if (!o || !s_int(o, "purchaseState", &purchase_state) ||
        !s_int(o, "consumptionState", &consumption_state)) {
        s_set(r, PB_UNKNOWN, "bazaar sent an unreadable validation answer");
        goto done;
    }
    if (purchase_state == 1) {
        s_set(r, PB_REJECTED, "refunded");
        goto done;
    }
    if (purchase_state != 0) {
        s_set(r, PB_UNKNOWN, "bazaar sent an unknown purchaseState");
        goto done;
    }
    if (consumption_state == 0) { /* Bazaar: 0 = consumed (unlike Google) */
        s_set(r, PB_REJECTED, "consumed");
        goto done;
    }
    if (consumption_state != 1) {
        s_set(r, PB_UNKNOWN, "bazaar sent an unknown consumptionState");
        goto done;
    }
    s_set(r, PB_OK, "");
    r->has_time = s_int(o, "purchaseTime", &r->purchase_time_ms);
    json_object *p;
    if (json_object_object_get_ex(o, "developerPayload", &p) &&
        json_object_is_type(p, json_type_string) &&
        (size_t)json_object_get_string_len(p) <= PB_PAYLOAD_MAX &&
        strlen(json_object_get_string(p)) == (size_t)json_object_get_string_len(p)) {
        r->has_payload = true;
        snprintf(r->developer_payload, sizeof r->developer_payload, "%s",
                 json_object_get_string(p));
    }
done:
    json_object_put(o);
}

void pb_classify_consume(long status, const char *body, size_t len, pb_result_t *r)
{
    assert(r);
    memset(r, 0, sizeof *r);
    if (status >= 200 && status < 300) {
        s_set(r, PB_OK, "");
        return;
    }
    s_classify_error(status, body, len, r);
    if (r->outcome == PB_REJECTED && status == 400 && strcmp(r->reason, "already_consumed") == 0)
        s_set(r, PB_OK, "already_consumed");
}

/* ---- URLs ------------------------------------------------------------- */

/* Appends the path segment s escaped, then '/'. "." and ".." would be
 * resolved away by the server, so they are escaped too. */
static int s_segment(char *out, size_t cap, size_t *used, const char *s)
{
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return pm_text_append(out, cap, used, strcmp(s, ".") == 0 ? "%2E/" : "%2E%2E/");
    if (pm_url_escape(out, cap, used, s, strlen(s)) != 0)
        return -1;
    return pm_text_append(out, cap, used, "/");
}

static int s_access(char *out, size_t cap, size_t *used, const char *access)
{
    if (!access)
        return 0;
    if (pm_text_append(out, cap, used, "?access_token=") != 0)
        return -1;
    return pm_url_escape(out, cap, used, access, strlen(access));
}

int pb_url_validate(char *out, size_t cap, const char *base, const char *pkg, const char *sku,
                    const char *token, const char *access)
{
    assert(out && cap > 0 && base && pkg && sku && token);
    size_t used = 0;
    out[0] = '\0';
    if (pm_text_append(out, cap, &used, base) != 0 ||
        pm_text_append(out, cap, &used, "api/validate/") != 0 ||
        s_segment(out, cap, &used, pkg) != 0 || pm_text_append(out, cap, &used, "inapp/") != 0 ||
        s_segment(out, cap, &used, sku) != 0 ||
        pm_text_append(out, cap, &used, "purchases/") != 0 ||
        s_segment(out, cap, &used, token) != 0 || s_access(out, cap, &used, access) != 0)
        return -1;
    return 0;
}

int pb_url_consume(char *out, size_t cap, const char *base, const char *pkg, const char *access)
{
    assert(out && cap > 0 && base && pkg);
    size_t used = 0;
    out[0] = '\0';
    if (pm_text_append(out, cap, &used, base) != 0 ||
        pm_text_append(out, cap, &used, "api/consume/") != 0 ||
        s_segment(out, cap, &used, pkg) != 0 ||
        pm_text_append(out, cap, &used, "purchases/") != 0 ||
        s_access(out, cap, &used, access) != 0)
        return -1;
    return 0;
}

char *pb_consume_body(const char *token)
{
    assert(token);
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "token", json_object_new_string(token));
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    char *copy = text ? strdup(text) : NULL;
    json_object_put(o);
    return copy;
}

char *pb_token_form(const char *client_id, const char *client_secret, const char *refresh)
{
    assert(client_id && client_secret && refresh);
    size_t cap = 96 + 3 * (strlen(client_id) + strlen(client_secret) + strlen(refresh));
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t used = 0;
    out[0] = '\0';
    if (pm_text_append(out, cap, &used, "grant_type=refresh_token&client_id=") != 0 ||
        pm_url_escape(out, cap, &used, client_id, strlen(client_id)) != 0 ||
        pm_text_append(out, cap, &used, "&client_secret=") != 0 ||
        pm_url_escape(out, cap, &used, client_secret, strlen(client_secret)) != 0 ||
        pm_text_append(out, cap, &used, "&refresh_token=") != 0 ||
        pm_url_escape(out, cap, &used, refresh, strlen(refresh)) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- OAuth token -------------------------------------------------------- */

int pb_token_parse(long status, const char *body, size_t len, char *token, size_t cap,
                   int64_t *expires_in_s, const char **why)
{
    assert(token && cap > 0 && expires_in_s && why);
    token[0] = '\0';
    if (status != 200) {
        *why = status == 0 ? "no answer" : "auth/token/ did not answer 200";
        return -1;
    }
    json_object *o = pb_json_object(body, len);
    json_object *v;
    int rc = -1;
    *why = "auth/token/ answer has no usable access_token";
    if (!o || !json_object_object_get_ex(o, "access_token", &v) ||
        !json_object_is_type(v, json_type_string))
        goto done;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n < 1 || n > PB_TOKEN_MAX || n + 1 > cap)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7F)
            goto done;
    int64_t exp = 3600;
    if (json_object_object_get_ex(o, "expires_in", &v) && !s_int(o, "expires_in", &exp)) {
        *why = "auth/token/ answer has a non-integer expires_in";
        goto done;
    }
    if (exp <= 0 || exp > 10LL * 365 * 24 * 3600) {
        *why = "auth/token/ answer has an out-of-range expires_in";
        goto done;
    }
    memcpy(token, s, n + 1);
    *expires_in_s = exp;
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

void pb_token_cache_set(pb_token_cache_t *c, const char *token, int64_t expires_in_s,
                        int64_t now_ms)
{
    assert(c && token && strlen(token) <= PB_TOKEN_MAX && expires_in_s > 0);
    int64_t life_ms = expires_in_s * 1000;
    int64_t margin = life_ms / 10 < PB_TOKEN_MARGIN_MS ? life_ms / 10 : PB_TOKEN_MARGIN_MS;
    snprintf(c->token, sizeof c->token, "%s", token);
    c->refresh_at_ms = now_ms + life_ms - margin;
}

const char *pb_token_cache_get(const pb_token_cache_t *c, int64_t now_ms)
{
    assert(c);
    if (c->token[0] == '\0' || now_ms >= c->refresh_at_ms)
        return NULL;
    return c->token;
}

void pb_token_cache_invalidate(pb_token_cache_t *c, const char *token)
{
    assert(c && token);
    if (strcmp(c->token, token) == 0) {
        c->token[0] = '\0';
        c->refresh_at_ms = 0;
    }
}
