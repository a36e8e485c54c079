/*  pbk_tfeb: TFEB token, order requests and answer classification. */
#include "pbk_tfeb.h"

#include <assert.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pm_money.h"

#define S_FORM "application/x-www-form-urlencoded"
#define S_JSON "application/json"
#define S_HAL "application/hal+json"
#define S_EXPIRES_MAX (10LL * 365 * 24 * 3600) /* seconds of the longest token life */

/* The currencies TFEB takes: ISO 4217 numeric -> the code pm_money knows. */
static const struct {
    const char *numeric;
    const char *code;
} s_currencies[] = {{PBK_TFEB_CURRENCY, "TMT"}};

bool pbk_tfeb_id_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n < 1 || n > PBK_TFEB_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

static bool s_language_ok(const char *s)
{
    return strlen(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z';
}

int pbk_tfeb_account_check(const pbk_tfeb_account_t *acct, const char **why)
{
    assert(acct && why);
    if (!pbk_base_url_valid(acct->base_url))
        *why = "tfeb-base-url is not an http(s) URL ending with '/'";
    else if (!acct->token_url ||
             !pbk_http_url_valid(acct->token_url, strlen(acct->token_url), 1024))
        *why = "tfeb-token-url is not an http(s) URL";
    else if (!acct->client_id || !acct->client_id[0] ||
             strlen(acct->client_id) > PBK_TFEB_CREDENTIAL_MAX)
        *why = "tfeb-client-id is empty or longer than 256 bytes";
    else if (!acct->client_secret || !acct->client_secret[0] ||
             strlen(acct->client_secret) > PBK_TFEB_CREDENTIAL_MAX)
        *why = "tfeb-client-secret is empty or longer than 256 bytes";
    else if (!pbk_tfeb_id_valid(acct->merchant_id))
        *why = "tfeb-merchant-id is not 1..64 of [A-Za-z0-9_-]";
    else if (!pbk_tfeb_id_valid(acct->terminal_id))
        *why = "tfeb-terminal-id is not 1..64 of [A-Za-z0-9_-]";
    else if (acct->language && !s_language_ok(acct->language))
        *why = "tfeb-language is not two lower-case letters";
    else
        return 0;
    return -1;
}

bool pbk_tfeb_supports(pbk_call_t call)
{
    return call == PBK_REGISTER || call == PBK_STATUS || call == PBK_REFUND;
}

/* The exponent of a TFEB currency, or -1. */
static int s_exponent(const char *currency)
{
    for (size_t i = 0; currency && i < sizeof s_currencies / sizeof s_currencies[0]; i++) {
        if (strcmp(currency, s_currencies[i].numeric) == 0) {
            const pm_currency_t *c =
                pm_currency_find(s_currencies[i].code, strlen(s_currencies[i].code));
            return c ? c->exponent : -1;
        }
    }
    return -1;
}

int pbk_tfeb_amount(int64_t minor, const char *currency, char *out, size_t cap)
{
    assert(out && cap > 0);
    out[0] = '\0';
    int exponent = s_exponent(currency);
    if (exponent < 0 || minor < 0)
        return -1;
    return pm_money_format(minor, exponent, out, cap); /* integer digits and a '.' */
}

/* ---- OAuth2 access token ---------------------------------------------------- */

int pbk_tfeb_token_request(const pbk_tfeb_account_t *acct, pbk_request_t *req, const char **why)
{
    assert(acct && req && why);
    memset(req, 0, sizeof *req);
    if (pbk_tfeb_account_check(acct, why) != 0)
        return -1;
    size_t used = 0;
    if (pm_text_append(req->url, sizeof req->url, &used, acct->token_url) != 0) {
        *why = "the token URL does not fit";
        return -1;
    }
    pbk_form_t f = {0};
    pbk_form_add(&f, "client_id", acct->client_id);
    pbk_form_add(&f, "client_secret", acct->client_secret);
    pbk_form_add(&f, "scope", PBK_TFEB_SCOPE);
    pbk_form_add(&f, "grant_type", "client_credentials");
    req->body = pbk_form_take(&f);
    if (!req->body) {
        pbk_request_clear(req);
        *why = "out of memory building the request";
        return -1;
    }
    req->post = true;
    req->content_type = S_FORM;
    req->accept = S_JSON;
    return 0;
}

/* True for an RFC 7235 token68: what a Bearer header line may carry. */
static bool s_token68(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n &&
           ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
            (s[i] >= '0' && s[i] <= '9') || strchr("-._~+/", s[i])) &&
           s[i] != '\0')
        i++;
    if (i == 0)
        return false;
    while (i < n && s[i] == '=')
        i++;
    return i == n;
}

int pbk_tfeb_token_parse(const pbk_answer_t *a, char *token, size_t cap, int64_t *expires_in_s,
                         char *why, size_t why_cap)
{
    assert(a && token && cap > 0 && expires_in_s && why && why_cap > 0);
    token[0] = '\0';
    json_object *o = NULL;
    int rc = -1;
    if (a->transport != PBK_ANSWERED) {
        snprintf(why, why_cap, "the token endpoint %s",
                 a->transport == PBK_TIMEOUT     ? "did not answer in time"
                 : a->transport == PBK_TOO_LARGE ? "sent more than max-response-bytes"
                                                 : "is unreachable");
        goto done;
    }
    if (a->status != 200) {
        snprintf(why, why_cap, "the token endpoint answered http %ld%s", a->status,
                 a->status == 400 || a->status == 401 ? " (tfeb-client-id or secret refused?)"
                                                      : "");
        goto done;
    }
    o = pbk_json_object(a->body, a->len);
    size_t n = 0;
    const char *s = pbk_json_str(o, "access_token", &n);
    if (!s || n > PBK_TFEB_TOKEN_MAX || n + 1 > cap || !s_token68(s, n)) {
        snprintf(why, why_cap, "the token answer has no usable access_token");
        goto done;
    }
    size_t tlen = 0;
    const char *type = pbk_json_str(o, "token_type", &tlen);
    json_object *v;
    if (json_object_object_get_ex(o, "token_type", &v) &&
        (!type || tlen != 6 || strncasecmp(type, "Bearer", 6) != 0)) {
        snprintf(why, why_cap, "the token answer is not for a Bearer token");
        goto done;
    }
    int64_t exp = 3600;
    if (json_object_object_get_ex(o, "expires_in", &v)) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
            json_object_get_int64(v) > S_EXPIRES_MAX) {
            snprintf(why, why_cap, "the token answer has an unusable expires_in");
            goto done;
        }
        exp = json_object_get_int64(v);
    }
    memcpy(token, s, n);
    token[n] = '\0';
    *expires_in_s = exp;
    why[0] = '\0';
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

void pbk_tfeb_token_cache_set(pbk_tfeb_token_cache_t *c, const char *token, int64_t expires_in_s,
                              int64_t now_ms)
{
    assert(c && token && strlen(token) <= PBK_TFEB_TOKEN_MAX);
    assert(expires_in_s > 0 && expires_in_s <= S_EXPIRES_MAX);
    int64_t life_ms = expires_in_s * 1000;
    int64_t margin_ms =
        life_ms / 10 < PBK_TFEB_TOKEN_MARGIN_MS ? life_ms / 10 : PBK_TFEB_TOKEN_MARGIN_MS;
    snprintf(c->token, sizeof c->token, "%s", token);
    c->refresh_at_ms = now_ms + life_ms - margin_ms;
}

const char *pbk_tfeb_token_cache_get(const pbk_tfeb_token_cache_t *c, int64_t now_ms)
{
    assert(c);
    if (c->token[0] == '\0' || now_ms >= c->refresh_at_ms)
        return NULL;
    return c->token;
}

void pbk_tfeb_token_cache_invalidate(pbk_tfeb_token_cache_t *c, const char *token)
{
    assert(c && token);
    if (c->token[0] != '\0' && strcmp(c->token, token) == 0) {
        c->token[0] = '\0';
        c->refresh_at_ms = 0;
    }
}

/* ---- calls -------------------------------------------------------------------- */

/* Adds key: v to o; false (v released) when v is NULL or on out of memory. */
static bool s_add(json_object *o, const char *key, json_object *v)
{
    if (!v)
        return false;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

static bool s_add_str(json_object *o, const char *key, const char *s)
{
    return s_add(o, key, json_object_new_string(s));
}

/* A new empty object added to parent as key (owned by parent), or NULL. */
static json_object *s_child(json_object *parent, const char *key)
{
    json_object *v = json_object_new_object();
    return s_add(parent, key, v) ? v : NULL;
}

/* TotalAmount: a JSON number whose text is the exact decimal (json-c
 * writes the text of a json_object_new_double_s as it is given). The
 * double beside it is what json-c would answer if asked for the value; it
 * never makes the text. */
static bool s_add_amount(json_object *o, int64_t minor, const char *currency)
{
    char text[32];
    if (pbk_tfeb_amount(minor, currency, text, sizeof text) < 0)
        return false;
    int exponent = s_exponent(currency);
    int64_t scale = 1;
    for (int i = 0; i < exponent; i++)
        scale *= 10;
    double value = (double)(minor / scale) + (double)(minor % scale) / (double)scale;
    return s_add(o, "TotalAmount", json_object_new_double_s(value, text));
}

/* {"Merchant": {"Id"}, "POI": {"Id", "Language"?}} into env. */
static bool s_add_environment(json_object *env, const pbk_tfeb_account_t *acct,
                              const char *language)
{
    json_object *merchant = s_child(env, "Merchant");
    if (!merchant || !s_add_str(merchant, "Id", acct->merchant_id))
        return false;
    json_object *poi = s_child(env, "POI");
    if (!poi || !s_add_str(poi, "Id", acct->terminal_id))
        return false;
    return !language || s_add_str(poi, "Language", language);
}

/* Starts req: the URL base_url + path (+ order_id + tail), the bearer
 * token. Returns 0, or -1 with *why. */
static int s_begin(const pbk_tfeb_account_t *acct, const char *path, const char *order_id,
                   const char *tail, const char *token, pbk_request_t *req, const char **why)
{
    assert(acct && path && req && why);
    memset(req, 0, sizeof *req);
    if (pbk_tfeb_account_check(acct, why) != 0)
        return -1;
    if (!token || !s_token68(token, strlen(token)) || strlen(token) > PBK_TFEB_TOKEN_MAX) {
        *why = "no usable access token";
        return -1;
    }
    if (order_id && !pbk_order_id_valid(order_id, strlen(order_id))) {
        *why = "order_id is not 1..64 of [A-Za-z0-9_-]";
        return -1;
    }
    size_t used = 0, aused = 0;
    if (pm_text_append(req->url, sizeof req->url, &used, acct->base_url) != 0 ||
        pm_text_append(req->url, sizeof req->url, &used, path) != 0 ||
        (order_id &&
         pm_url_escape(req->url, sizeof req->url, &used, order_id, strlen(order_id)) != 0) ||
        (tail && pm_text_append(req->url, sizeof req->url, &used, tail) != 0) ||
        pm_text_append(req->authorization, sizeof req->authorization, &aused,
                       "Authorization: Bearer ") != 0 ||
        pm_text_append(req->authorization, sizeof req->authorization, &aused, token) != 0) {
        memset(req, 0, sizeof *req);
        *why = "the request does not fit";
        return -1;
    }
    req->accept = S_HAL;
    return 0;
}

/* Ends a POST of req with the JSON text of o (released). */
static int s_end_json(pbk_request_t *req, json_object *o, const char **why)
{
    const char *text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    req->body = text ? strdup(text) : NULL;
    json_object_put(o);
    if (!req->body) {
        pbk_request_clear(req);
        *why = "out of memory building the request";
        return -1;
    }
    req->post = true;
    req->content_type = S_JSON;
    return 0;
}

int pbk_tfeb_register(const pbk_tfeb_account_t *acct, const pbk_order_t *order,
                      const char *request_id, const char *token, pbk_request_t *req,
                      const char **why)
{
    assert(order);
    if (s_begin(acct, "orders", NULL, NULL, token, req, why) != 0)
        return -1;
    if (pbk_order_check(order, why) != 0)
        goto fail;
    if (order->two_phase) {
        *why = "foreign_affairs_bank has no two-phase orders";
        goto fail;
    }
    if (s_exponent(order->currency) < 0) {
        *why = "foreign_affairs_bank takes currency 934 only";
        goto fail;
    }
    if (!pbk_tfeb_id_valid(request_id)) {
        *why = "request_id is not 1..64 of [A-Za-z0-9_-]";
        goto fail;
    }
    const char *language = order->language ? order->language : acct->language;
    json_object *o = json_object_new_object();
    bool ok = o && s_add_str(o, "RequestId", request_id);
    json_object *env = ok ? s_child(o, "Environment") : NULL;
    ok = env && s_add_environment(env, acct, language);
    json_object *transport = ok ? s_child(env, "Transport") : NULL;
    ok = transport && s_add_str(transport, "MerchantFinalResponseUrl", order->return_url);
    json_object *tx = ok ? s_child(o, "Transaction") : NULL;
    ok = tx && s_add_str(tx, "InvoiceNumber", order->order_number) &&
         s_add_str(tx, "Type", "CRDP") && s_add_amount(tx, order->amount_minor, order->currency) &&
         s_add_str(tx, "Currency", order->currency) &&
         s_add_str(tx, "MerchantOrderId", order->order_number);
    if (!ok) {
        json_object_put(o);
        *why = "out of memory building the request";
        goto fail;
    }
    return s_end_json(req, o, why);
fail:
    pbk_request_clear(req);
    return -1;
}

int pbk_tfeb_status(const pbk_tfeb_account_t *acct, const char *order_id, const char *token,
                    pbk_request_t *req, const char **why)
{
    if (!order_id) {
        memset(req, 0, sizeof *req);
        *why = "order_id is not 1..64 of [A-Za-z0-9_-]";
        return -1;
    }
    return s_begin(acct, "Orders/", order_id, NULL, token, req, why);
}

int pbk_tfeb_refund(const pbk_tfeb_account_t *acct, const char *order_id, int64_t amount_minor,
                    const char *request_id, const char *token, pbk_request_t *req, const char **why)
{
    if (!order_id) {
        memset(req, 0, sizeof *req);
        *why = "order_id is not 1..64 of [A-Za-z0-9_-]";
        return -1;
    }
    if (s_begin(acct, "Orders/", order_id, "/refund", token, req, why) != 0)
        return -1;
    if (amount_minor < 1 || amount_minor > PBK_AMOUNT_MAX) {
        *why = "amount_minor is out of range";
        goto fail;
    }
    if (!pbk_tfeb_id_valid(request_id)) {
        *why = "request_id is not 1..64 of [A-Za-z0-9_-]";
        goto fail;
    }
    json_object *o = json_object_new_object();
    bool ok = o && s_add_str(o, "RequestId", request_id);
    json_object *env = ok ? s_child(o, "Environment") : NULL;
    ok = env && s_add_environment(env, acct, acct->language);
    json_object *tx = ok ? s_child(o, "Transaction") : NULL;
    ok = tx && s_add_str(tx, "Type", "RFND") && s_add_amount(tx, amount_minor, PBK_TFEB_CURRENCY) &&
         s_add_str(tx, "Currency", PBK_TFEB_CURRENCY);
    if (!ok) {
        json_object_put(o);
        *why = "out of memory building the request";
        goto fail;
    }
    return s_end_json(req, o, why);
fail:
    pbk_request_clear(req);
    return -1;
}

/* ---- answers ------------------------------------------------------------------ */

/* The parts of an answer every call reads. */
typedef struct {
    json_object *o;    /* the whole answer (NULL: none readable), owned */
    json_object *resp; /* "response", else o; borrowed */
    bool has_code;
    char code[PBK_CODE_MAX + 1];    /* operationResult: [A-Z0-9-], 1..PBK_CODE_MAX */
    char shown[PBK_REASON_MAX + 1]; /* operationResultDescription as reason text */
} s_answer_t;

static void s_read(const pbk_answer_t *a, s_answer_t *ans)
{
    memset(ans, 0, sizeof *ans);
    ans->o = pbk_json_object(a->body, a->len);
    ans->resp = pbk_json_obj(ans->o, "response");
    if (!ans->resp)
        ans->resp = ans->o;
    size_t n = 0;
    const char *code = pbk_json_str(ans->resp, "operationResult", &n);
    bool ok = code && n >= 1 && n <= PBK_CODE_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '0' && code[i] <= '9') ||
             code[i] == '-';
    if (ok) {
        memcpy(ans->code, code, n);
        ans->code[n] = '\0';
        ans->has_code = true;
    }
    const char *desc = pbk_json_str(ans->resp, "operationResultDescription", &n);
    if (desc)
        pbk_text_copy(ans->shown, sizeof ans->shown, desc, n);
}

static bool s_is(const s_answer_t *ans, const char *code)
{
    return ans->has_code && strcmp(ans->code, code) == 0;
}

/* The reason "CODE: text", or with what in front "what (CODE: text)";
 * without ": text" when there is none. */
static void s_coded(pbk_result_t *r, pbk_outcome_t o, const char *what, const s_answer_t *ans)
{
    const char *colon = ans->shown[0] ? ": " : "";
    if (what)
        pbk_result_set(r, o, "%s (%s%s%s)", what, ans->code, colon, ans->shown);
    else
        pbk_result_set(r, o, "%s%s%s", ans->code, colon, ans->shown);
}

static void s_register_ok(const s_answer_t *ans, pbk_result_t *r)
{
    size_t id_len = 0, url_len = 0;
    const char *id = pbk_json_str(ans->resp, "orderId", &id_len);
    json_object *links = pbk_json_obj(ans->o, "_links");
    const char *url = pbk_json_str(pbk_json_obj(links, "redirectToCheckout"), "href", &url_len);
    if (!id || !pbk_order_id_valid(id, id_len))
        pbk_result_set(r, PBK_UNKNOWN, "tfeb created the order without a usable orderId");
    else if (!url || !pbk_http_url_valid(url, url_len, PBK_CHECKOUT_URL_MAX))
        pbk_result_set(r, PBK_UNKNOWN,
                       "tfeb created the order without a usable redirectToCheckout");
    else {
        memcpy(r->order_id, id, id_len + 1);
        memcpy(r->checkout_url, url, url_len + 1);
        pbk_result_set(r, PBK_OK, "%s", "");
    }
}

/* A 2xx whose operationResult is readable and neither GEN-00001 nor
 * GEN-00002. */
static void s_answered(pbk_call_t call, const s_answer_t *ans, pbk_result_t *r)
{
    bool success = s_is(ans, "GEN-00000");
    if (call == PBK_REGISTER && (success || s_is(ans, "OPG-00100"))) {
        s_register_ok(ans, r);
    } else if (call == PBK_STATUS &&
               (success || s_is(ans, "OPG-00100") || s_is(ans, "OPG-00006"))) {
        r->state = success                  ? PBK_STATE_PAID
                   : s_is(ans, "OPG-00100") ? PBK_STATE_REGISTERED
                                            : PBK_STATE_DECLINED;
        pbk_result_set(r, PBK_OK, "%s", "");
    } else if (call == PBK_REFUND && success) {
        pbk_result_set(r, PBK_OK, "%s", "");
    } else if (call == PBK_REFUND && s_is(ans, "OPG-00006")) {
        pbk_result_set(r, PBK_REJECTED, "wrong_state");
    } else {
        s_coded(r, PBK_UNKNOWN, "tfeb answered an undocumented result", ans);
    }
}

void pbk_tfeb_classify(pbk_call_t call, const pbk_answer_t *a, pbk_result_t *r)
{
    assert(a && r && pbk_tfeb_supports(call));
    pbk_result_reset(r);
    switch (a->transport) {
    case PBK_TIMEOUT:
        pbk_result_set(r, PBK_UNKNOWN, "timeout");
        return;
    case PBK_TOO_LARGE:
        pbk_result_set(r, PBK_UNKNOWN, "tfeb answer larger than max-response-bytes");
        return;
    case PBK_NO_ANSWER:
        pbk_result_set(r, PBK_UNKNOWN, "tfeb unreachable: %s", a->error ? a->error : "no answer");
        return;
    case PBK_ANSWERED:
        break;
    }
    long st = a->status;
    if (st == 401) {
        r->auth_failed = true;
        pbk_result_set(r, PBK_UNKNOWN, "tfeb refused our access token (http 401)");
        return;
    }
    s_answer_t ans;
    s_read(a, &ans);
    if (ans.has_code)
        memcpy(r->code, ans.code, sizeof r->code);
    bool ok_status = st >= 200 && st < 300;
    bool refusal = st >= 400 && st < 500 && st != 403 && st != 408 && st != 429;
    if ((ok_status || refusal) && s_is(&ans, "GEN-00002")) {
        r->auth_failed = true;
        s_coded(r, PBK_UNKNOWN, "tfeb refused our access token", &ans);
    } else if ((ok_status || refusal) && s_is(&ans, "GEN-00001")) {
        s_coded(r, PBK_UNKNOWN, "tfeb system error", &ans);
    } else if (ok_status && !ans.o) {
        pbk_result_set(r, PBK_UNKNOWN, "tfeb sent an answer that is no JSON object");
    } else if (ok_status && !ans.has_code) {
        pbk_result_set(r, PBK_UNKNOWN, "tfeb sent an answer without a readable operationResult");
    } else if (ok_status) {
        s_answered(call, &ans, r);
    } else if (refusal && ans.has_code && call != PBK_STATUS) {
        s_coded(r, PBK_REJECTED, NULL, &ans);
    } else if (ans.has_code) {
        char what[48];
        snprintf(what, sizeof what, "tfeb answered http %ld", st);
        s_coded(r, PBK_UNKNOWN, what, &ans);
    } else if (st == 403) {
        pbk_result_set(r, PBK_UNKNOWN, "tfeb refused our credentials (http 403)");
    } else {
        pbk_result_set(r, PBK_UNKNOWN, "tfeb answered http %ld", st);
    }
    json_object_put(ans.o);
}
