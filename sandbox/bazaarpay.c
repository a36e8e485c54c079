/*  bazaarpay: store of simulated checkouts, the handlers of the BazaarPay
 *  merchant API, its payment page and its admin endpoints. */
#include "bazaarpay.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pm_log.h"
#include "sb_html.h"
#include "sb_index.h"

struct sb_bp_t {
    sb_bp_config_t cfg;
    sb_index_t *checkouts; /* sb_bp_checkout_t by token, in order of creation */
};

static const char *const s_status_names[] = {
    [SB_BP_INVALID_TOKEN] = "invalid_token",
    [SB_BP_UNPAID] = "unpaid",
    [SB_BP_PAID_NOT_COMMITTED] = "paid_not_committed",
    [SB_BP_PAID_NOT_COMMITTED_REFUNDED] = "paid_not_committed_refunded",
    [SB_BP_PAID_COMMITTED] = "paid_committed",
    [SB_BP_REFUNDED] = "refunded",
    [SB_BP_TIMED_OUT] = "timed_out",
};

const char *sb_bp_status_name(sb_bp_status_t status)
{
    assert(status >= SB_BP_INVALID_TOKEN && status <= SB_BP_TIMED_OUT);
    return s_status_names[status];
}

sb_bp_t *sb_bp_new(const sb_bp_config_t *cfg)
{
    assert(cfg && cfg->merchant_token && cfg->commit_window_s > 0 && cfg->checkout_ttl_s > 0 &&
           cfg->max_checkouts > 0 && cfg->max_checkouts < UINT32_MAX);
    sb_bp_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->checkouts = sb_index_new(sizeof(sb_bp_checkout_t), offsetof(sb_bp_checkout_t, token),
                                   cfg->max_checkouts);
    if (!self->checkouts) {
        free(self);
        return NULL;
    }
    return self;
}

void sb_bp_destroy(sb_bp_t **self_p)
{
    assert(self_p);
    sb_bp_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < sb_index_count(self->checkouts); i++) {
        sb_bp_checkout_t *c = sb_index_at(self->checkouts, i);
        free(c->destination);
        free(c->service_name);
    }
    sb_index_destroy(&self->checkouts);
    free(self);
    *self_p = NULL;
}

/* Applies what time did to c since it was last looked at. */
static void s_settle(sb_bp_checkout_t *c, int64_t now_mono_ms)
{
    if (now_mono_ms < c->deadline_mono_ms)
        return;
    if (c->status == SB_BP_UNPAID)
        c->status = SB_BP_TIMED_OUT;
    else if (c->status == SB_BP_PAID_NOT_COMMITTED)
        c->status = SB_BP_PAID_NOT_COMMITTED_REFUNDED; /* BazaarPay gave the money back */
}

static sb_bp_checkout_t *s_find(sb_bp_t *self, const char *token, sb_bp_now_t now)
{
    assert(self && token);
    sb_bp_checkout_t *c = sb_index_find(self->checkouts, token);
    if (c)
        s_settle(c, now.mono_ms);
    return c;
}

const sb_bp_checkout_t *sb_bp_init(sb_bp_t *self, int64_t amount, const char *destination,
                                   const char *service_name, sb_bp_now_t now)
{
    assert(self && destination && service_name && amount >= 0 && amount <= SB_BP_AMOUNT_MAX);
    sb_bp_checkout_t *c = sb_index_reserve(self->checkouts);
    if (!c)
        return NULL;
    c->destination = strdup(destination);
    c->service_name = strdup(service_name);
    if (!c->destination || !c->service_name) {
        free(c->destination);
        free(c->service_name);
        return NULL;
    }
    do { /* like BazaarPay's: decimal, not starting with 0; unique in the store */
        c->token[0] = (char)('1' + randombytes_uniform(9));
        for (int i = 1; i < SB_BP_TOKEN_LEN; i++)
            c->token[i] = (char)('0' + randombytes_uniform(10));
        c->token[SB_BP_TOKEN_LEN] = '\0';
    } while (s_find(self, c->token, now));
    c->amount = amount;
    c->status = SB_BP_UNPAID;
    c->created_ms = now.wall_ms;
    c->paid_ms = -1;
    c->deadline_mono_ms = now.mono_ms + (int64_t)self->cfg.checkout_ttl_s * 1000;
    c->refund_amount = -1;
    sb_index_commit(self->checkouts);
    return c;
}

const sb_bp_checkout_t *sb_bp_find(sb_bp_t *self, const char *token, sb_bp_now_t now)
{
    return s_find(self, token, now);
}

sb_bp_status_t sb_bp_trace(sb_bp_t *self, const char *token, sb_bp_now_t now)
{
    const sb_bp_checkout_t *c = s_find(self, token, now);
    return c ? c->status : SB_BP_INVALID_TOKEN;
}

sb_bp_result_t sb_bp_commit(sb_bp_t *self, const char *token, sb_bp_now_t now)
{
    sb_bp_checkout_t *c = s_find(self, token, now);
    if (!c)
        return SB_BP_UNKNOWN;
    c->commit_calls++;
    if (c->status == SB_BP_PAID_COMMITTED)
        return SB_BP_ALREADY;
    if (c->status != SB_BP_PAID_NOT_COMMITTED)
        return SB_BP_WRONG_STATE;
    c->status = SB_BP_PAID_COMMITTED;
    c->commits++;
    return SB_BP_OK;
}

sb_bp_result_t sb_bp_refund(sb_bp_t *self, const char *token, int64_t amount, sb_bp_now_t now)
{
    assert(amount >= -1);
    sb_bp_checkout_t *c = s_find(self, token, now);
    if (!c)
        return SB_BP_UNKNOWN;
    c->refund_calls++;
    if (c->status == SB_BP_REFUNDED)
        return SB_BP_ALREADY; /* the first refund's amount stands */
    if (c->status != SB_BP_PAID_NOT_COMMITTED && c->status != SB_BP_PAID_COMMITTED)
        return SB_BP_WRONG_STATE;
    if (amount > c->amount)
        return SB_BP_TOO_MUCH;
    c->status = SB_BP_REFUNDED;
    c->refund_amount = amount < 0 ? c->amount : amount;
    c->refunds++;
    return SB_BP_OK;
}

/* The checkout with token into *c when it is unpaid (OK), else UNKNOWN or
 * WRONG_STATE: what the user may still pay or cancel. */
static sb_bp_result_t s_unpaid(sb_bp_t *self, const char *token, sb_bp_now_t now,
                               sb_bp_checkout_t **c)
{
    *c = s_find(self, token, now);
    if (!*c)
        return SB_BP_UNKNOWN;
    return (*c)->status == SB_BP_UNPAID ? SB_BP_OK : SB_BP_WRONG_STATE;
}

sb_bp_result_t sb_bp_pay(sb_bp_t *self, const char *token, sb_bp_now_t now)
{
    sb_bp_checkout_t *c;
    sb_bp_result_t rc = s_unpaid(self, token, now, &c);
    if (rc != SB_BP_OK)
        return rc;
    c->status = SB_BP_PAID_NOT_COMMITTED;
    c->paid_ms = now.wall_ms;
    c->deadline_mono_ms = now.mono_ms + (int64_t)self->cfg.commit_window_s * 1000;
    return SB_BP_OK;
}

sb_bp_result_t sb_bp_cancel(sb_bp_t *self, const char *token, sb_bp_now_t now)
{
    sb_bp_checkout_t *c;
    sb_bp_result_t rc = s_unpaid(self, token, now, &c);
    if (rc != SB_BP_OK)
        return rc;
    c->status = SB_BP_TIMED_OUT;
    return SB_BP_OK;
}

sb_bp_result_t sb_bp_expire(sb_bp_t *self, const char *token, sb_bp_now_t now)
{
    sb_bp_checkout_t *c = s_find(self, token, now);
    if (!c)
        return SB_BP_UNKNOWN;
    if (c->status != SB_BP_UNPAID && c->status != SB_BP_PAID_NOT_COMMITTED)
        return SB_BP_ALREADY;
    c->deadline_mono_ms = now.mono_ms;
    s_settle(c, now.mono_ms);
    return SB_BP_OK;
}

size_t sb_bp_count(const sb_bp_t *self)
{
    assert(self);
    return sb_index_count(self->checkouts);
}

const sb_bp_checkout_t *sb_bp_at(sb_bp_t *self, size_t i, sb_bp_now_t now)
{
    assert(self);
    sb_bp_checkout_t *c = sb_index_at(self->checkouts, i);
    s_settle(c, now.mono_ms);
    return c;
}

/* ---- pure helpers ------------------------------------------------------------ */

static bool s_blank(char c)
{
    return c == ' ' || c == '\t';
}

sb_bp_auth_t sb_bp_authenticate(const char *header, const char *merchant_token)
{
    assert(merchant_token);
    if (!header)
        return SB_BP_AUTH_MISSING;
    while (s_blank(*header))
        header++;
    if (strncasecmp(header, "Token", 5) != 0 || !s_blank(header[5]))
        return SB_BP_AUTH_MISSING; /* another scheme: not ours to authenticate */
    header += 5;
    while (s_blank(*header))
        header++;
    size_t n = strlen(header);
    while (n > 0 && s_blank(header[n - 1]))
        n--;
    if (n == 0)
        return SB_BP_AUTH_MISSING;
    size_t want = strlen(merchant_token);
    if (n != want || sodium_memcmp(header, merchant_token, n) != 0)
        return SB_BP_AUTH_WRONG;
    return SB_BP_AUTH_OK;
}

bool sb_bp_redirect_ok(const char *url)
{
    if (!url)
        return false;
    size_t len = strlen(url), scheme;
    if (strncasecmp(url, "http://", 7) == 0)
        scheme = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        scheme = 8;
    else
        return false;
    if (len > SB_BP_REDIRECT_MAX || len == scheme || strchr("/?#", url[scheme]))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] < 0x20 || url[i] == 0x7f)
            return false;
    return true;
}

/* amount (>= 0) with thousands separators: 1,200,000. */
static void s_grouped(int64_t amount, char out[32])
{
    assert(amount >= 0);
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)amount);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

static bool s_phone_ok(const char *phone)
{
    size_t len = phone ? strlen(phone) : 0;
    return len > 0 && len <= SB_BP_PHONE_MAX && strspn(phone, "+0123456789") == len;
}

static const char s_page_head[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>BazaarPay (sandbox)</title>\n"
    "<style>\n"
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 "
    "1rem;color:#222}\n"
    ".box{border:1px solid #ccc;border-radius:8px;padding:1rem 1.5rem}\n"
    ".amount{font-size:1.6rem;margin:.5rem 0}\n"
    ".note{color:#777;font-size:.85rem}\n"
    "form{display:inline}\n"
    "button{font-size:1rem;padding:.5rem 1.5rem;margin:.5rem .5rem 0 0;border-radius:6px;"
    "border:1px solid #888;background:#fff;cursor:pointer}\n"
    "#pay{background:#1f8a70;border-color:#1f8a70;color:#fff}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<div class=\"box\">\n"
    "<h1>BazaarPay <small class=\"note\">sandbox</small></h1>\n";

static const char s_page_tail[] = "<p class=\"note\">No money moves: this page is the paymesh "
                                  "sandbox standing in for BazaarPay.</p>\n"
                                  "</div>\n"
                                  "</body>\n"
                                  "</html>\n";

/* One of the two forms, with the checkout's token and redirect_url. */
static void s_put_form(FILE *f, const char *action, const char *id, const char *label,
                       const char *token, const char *redirect_url)
{
    fprintf(f, "<form method=\"post\" action=\"/bazaarpay/payment/%s\">\n", action);
    fputs("<input type=\"hidden\" name=\"token\" value=\"", f);
    sb_html_put(f, token);
    fputs("\">\n<input type=\"hidden\" name=\"redirect_url\" value=\"", f);
    sb_html_put(f, redirect_url);
    fprintf(f, "\">\n<button type=\"submit\" id=\"%s\">%s</button>\n</form>\n", id, label);
}

char *sb_bp_page_html(const sb_bp_checkout_t *c, const char *redirect_url, const char *phone,
                      size_t *len)
{
    assert(c && redirect_url && len);
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    char grouped[32];
    s_grouped(c->amount, grouped);
    fputs(s_page_head, f);
    fputs("<p id=\"service-name\">", f);
    sb_html_put(f, c->service_name);
    fprintf(f,
            "</p>\n<p class=\"amount\"><span id=\"amount\" data-rials=\"%lld\">%s</span> "
            "rials</p>\n",
            (long long)c->amount, grouped);
    fputs("<p class=\"note\">Merchant <span id=\"destination\">", f);
    sb_html_put(f, c->destination);
    fprintf(f, "</span>, checkout <span id=\"token\">%s</span></p>\n", c->token);
    if (s_phone_ok(phone))
        fprintf(f, "<p class=\"note\">Signed in as <span id=\"phone\">%s</span></p>\n", phone);
    s_put_form(f, "pay", "pay", "Pay", c->token, redirect_url);
    s_put_form(f, "cancel", "cancel", "Cancel", c->token, redirect_url);
    fputs(s_page_tail, f);
    return sb_html_close(f, &buf);
}

/* An error page: message, and a way back to the merchant when there is one. */
static void s_page_error(sb_resp_t *resp, int status, const char *message, const char *redirect_url)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        sb_resp_clear(resp);
        return;
    }
    fputs(s_page_head, f);
    fputs("<p id=\"error\">", f);
    sb_html_put(f, message);
    fputs("</p>\n", f);
    if (redirect_url) {
        fputs("<p><a id=\"back\" href=\"", f);
        sb_html_put(f, redirect_url);
        fputs("\">Back to the merchant</a></p>\n", f);
    }
    fputs(s_page_tail, f);
    if (!sb_html_close(f, &buf)) {
        sb_resp_clear(resp);
        return;
    }
    sb_resp_bytes(resp, status, "text/html; charset=utf-8", buf, len);
    free(buf);
}

/* ---- DRF-style request bodies -------------------------------------------------- */

static sb_bp_now_t s_now(void)
{
    return (sb_bp_now_t){.wall_ms = sb_now_ms(), .mono_ms = sb_mono_ms()};
}

/* True when the Content-Type is application/json (parameters allowed). */
static bool s_is_json(const char *content_type)
{
    if (!content_type)
        return false;
    while (s_blank(*content_type))
        content_type++;
    size_t n = strcspn(content_type, ";");
    while (n > 0 && s_blank(content_type[n - 1]))
        n--;
    return n == 16 && strncasecmp(content_type, "application/json", 16) == 0;
}

/* DRF's name of what a JSON value parses to in Python. */
static const char *s_python_type(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "NoneType";
    case json_type_boolean:
        return "bool";
    case json_type_double:
        return "float";
    case json_type_int:
        return "int";
    case json_type_array:
        return "list";
    case json_type_string:
        return "str";
    case json_type_object:
        return "dict";
    }
    return "object";
}

/* The body as a JSON object the way DRF reads it: an empty body is {}; a
 * Content-Type other than JSON 415; text that is not JSON 400 "JSON parse
 * error - ..."; JSON that is not an object 400 non_field_errors. Caller
 * owns the result; NULL with resp filled otherwise (status 0: out of
 * memory). */
static json_object *s_body(const sb_req_t *req, sb_resp_t *resp)
{
    char msg[192];
    if (req->body_len == 0) {
        json_object *empty = json_object_new_object();
        if (!empty)
            sb_resp_clear(resp);
        return empty;
    }
    if (!s_is_json(req->content_type)) {
        snprintf(msg, sizeof msg, "Unsupported media type \"%.100s\" in request.",
                 req->content_type ? req->content_type : "");
        sb_resp_detail(resp, 415, msg);
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new_ex(16);
    if (!tok) {
        sb_resp_clear(resp);
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* the terminating NUL ends a top-level number, which json-c would
     * otherwise wait to see continue */
    json_object *v = json_tokener_parse_ex(tok, req->body, (int)req->body_len + 1);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (err == json_tokener_success) {
        while (end < req->body_len && strchr(" \t\r\n", req->body[end]))
            end++;
        if (end < req->body_len) {
            json_object_put(v);
            sb_resp_detail(resp, 400, "JSON parse error - Extra data");
            return NULL;
        }
    } else {
        json_object_put(v);
        snprintf(msg, sizeof msg, "JSON parse error - %s", json_tokener_error_desc(err));
        sb_resp_detail(resp, 400, msg);
        return NULL;
    }
    if (!json_object_is_type(v, json_type_object)) {
        snprintf(msg, sizeof msg, "Invalid data. Expected a dictionary, but got %s.",
                 s_python_type(v));
        json_object_put(v);
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        if (o && list) {
            json_object_array_add(list, json_object_new_string(msg));
            json_object_object_add(o, "non_field_errors", list);
            list = NULL;
        }
        json_object_put(list);
        sb_resp_json(resp, 400, &o);
        return NULL;
    }
    return v;
}

/* Adds DRF's {"key": ["message"]} to errors. */
static void s_field_error(json_object *errors, const char *key, const char *message)
{
    json_object *list = json_object_new_array();
    if (!list)
        return;
    json_object_array_add(list, json_object_new_string(message));
    json_object_object_add(errors, key, list);
}

/* Characters (code points) of UTF-8 text, as DRF counts max_length. */
static size_t s_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* DRF's CharField (required, blank not allowed, whitespace trimmed, numbers
 * taken as their text): copies the value of key into out (cap bytes, at
 * least 4 * max_chars + 1) and returns true, or adds the field's error. */
static bool s_char_field(json_object *body, json_object *errors, const char *key, size_t max_chars,
                         char *out, size_t cap)
{
    assert(cap >= 4 * max_chars + 1);
    json_object *v;
    const char *err = NULL;
    char msg[80];
    if (!json_object_object_get_ex(body, key, &v))
        err = "This field is required.";
    else if (json_object_is_type(v, json_type_null))
        err = "This field may not be null.";
    else if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int) &&
             !json_object_is_type(v, json_type_double))
        err = "Not a valid string.";
    if (err) {
        s_field_error(errors, key, err);
        return false;
    }
    const char *s = json_object_get_string(v);
    size_t len = json_object_is_type(v, json_type_string) ? (size_t)json_object_get_string_len(v)
                                                          : strlen(s);
    if (memchr(s, '\0', len)) {
        s_field_error(errors, key, "Null characters are not allowed.");
        return false;
    }
    while (len > 0 && strchr(" \t\r\n", *s))
        s++, len--;
    while (len > 0 && strchr(" \t\r\n", s[len - 1]))
        len--;
    if (len == 0) {
        s_field_error(errors, key, "This field may not be blank.");
        return false;
    }
    if (s_chars(s, len) > max_chars) {
        snprintf(msg, sizeof msg, "Ensure this field has no more than %zu characters.", max_chars);
        s_field_error(errors, key, msg);
        return false;
    }
    assert(len < cap); /* max_chars characters of UTF-8 */
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* DRF's IntegerField in [min, max]. An optional field that is absent or
 * null leaves *out alone and returns true. */
static bool s_int_field(json_object *body, json_object *errors, const char *key, int64_t min,
                        int64_t max, bool required, int64_t *out)
{
    json_object *v;
    char msg[80];
    bool absent = !json_object_object_get_ex(body, key, &v);
    if (!required && (absent || json_object_is_type(v, json_type_null)))
        return true;
    if (absent) {
        s_field_error(errors, key, "This field is required.");
        return false;
    }
    if (json_object_is_type(v, json_type_null)) {
        s_field_error(errors, key, "This field may not be null.");
        return false;
    }
    if (!json_object_is_type(v, json_type_int)) {
        s_field_error(errors, key, "A valid integer is required.");
        return false;
    }
    int64_t n = json_object_get_int64(v);
    if (n < min || n > max) {
        snprintf(msg, sizeof msg, "Ensure this value is %s than or equal to %lld.",
                 n < min ? "greater" : "less", (long long)(n < min ? min : max));
        s_field_error(errors, key, msg);
        return false;
    }
    *out = n;
    return true;
}

/* Answers the field errors collected, if any. True when there were. */
static bool s_field_errors(json_object **errors, sb_resp_t *resp)
{
    if (json_object_object_length(*errors) == 0)
        return false;
    sb_resp_json(resp, 400, errors);
    return true;
}

/* True when the request carries the merchant token; otherwise answers
 * 401 (none given) or 403 (another). */
static bool s_merchant(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    switch (sb_bp_authenticate(req->authorization, sb->bazaarpay->cfg.merchant_token)) {
    case SB_BP_AUTH_OK:
        return true;
    case SB_BP_AUTH_MISSING:
        sb_resp_detail(resp, 401, "Authentication credentials were not provided.");
        return false;
    case SB_BP_AUTH_WRONG:
        sb_resp_detail(resp, 403, "You do not have the necessary access..");
        return false;
    }
    return false;
}

/* The body's checkout_token (and, for refund/, the optional amount), or
 * the answer to a body without one. */
static bool s_token_body(const sb_req_t *req, sb_resp_t *resp,
                         char token[4 * SB_BP_TOKEN_FIELD_MAX + 1], int64_t *amount)
{
    json_object *body = s_body(req, resp);
    if (!body)
        return false;
    json_object *errors = json_object_new_object();
    bool ok = false;
    if (!errors) {
        sb_resp_clear(resp);
        goto free_body;
    }
    s_char_field(body, errors, "checkout_token", SB_BP_TOKEN_FIELD_MAX, token,
                 4 * SB_BP_TOKEN_FIELD_MAX + 1);
    if (amount)
        s_int_field(body, errors, "amount", 0, SB_BP_AMOUNT_MAX, false, amount);
    ok = !s_field_errors(&errors, resp);
    json_object_put(errors);
free_body:
    json_object_put(body);
    return ok;
}

/* Why commit/ or refund/ is refused for a checkout in status. */
static const char *s_refusal(sb_bp_status_t status)
{
    switch (status) {
    case SB_BP_UNPAID:
        return "The checkout is not paid yet.";
    case SB_BP_PAID_NOT_COMMITTED_REFUNDED:
        return "The checkout was not committed in time; its amount was returned to the user.";
    case SB_BP_TIMED_OUT:
        return "The checkout token has expired.";
    case SB_BP_REFUNDED:
        return "The checkout is refunded.";
    case SB_BP_PAID_NOT_COMMITTED: /* neither is refused */
    case SB_BP_PAID_COMMITTED:
    case SB_BP_INVALID_TOKEN:
        break;
    }
    return "Invalid checkout token.";
}

/* ---- merchant API handlers ------------------------------------------------------ */

void sb_bp_on_init(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    if (!s_merchant(sb, req, resp))
        return;
    json_object *body = s_body(req, resp);
    if (!body)
        return;
    json_object *errors = json_object_new_object(), *o = NULL;
    if (!errors) {
        sb_resp_clear(resp);
        goto free_body;
    }
    int64_t amount = 0;
    char destination[4 * SB_BP_DESTINATION_MAX + 1], service_name[4 * SB_BP_SERVICE_NAME_MAX + 1];
    s_int_field(body, errors, "amount", 0, SB_BP_AMOUNT_MAX, true, &amount);
    s_char_field(body, errors, "destination", SB_BP_DESTINATION_MAX, destination,
                 sizeof destination);
    s_char_field(body, errors, "service_name", SB_BP_SERVICE_NAME_MAX, service_name,
                 sizeof service_name);
    if (s_field_errors(&errors, resp))
        goto free_errors;
    char token[SB_BP_TOKEN_LEN + 1] = "";
    sb_lock(sb);
    const sb_bp_checkout_t *c =
        sb_bp_init(sb->bazaarpay, amount, destination, service_name, s_now());
    if (c)
        memcpy(token, c->token, sizeof token);
    sb_unlock(sb);
    if (!c) {
        sb_resp_detail(resp, 507, "The sandbox holds bazaarpay-max-checkouts checkouts already.");
        goto free_errors;
    }
    char url[SB_HOST_MAX + 64];
    snprintf(url, sizeof url, "http://%s/bazaarpay/payment?token=%s", req->host, token);
    if ((o = json_object_new_object()) != NULL) {
        json_object_object_add(o, "checkout_token", json_object_new_string(token));
        json_object_object_add(o, "payment_url", json_object_new_string(url));
    }
    pm_debug("bazaarpay checkout %s: %lld rials for %s", token, (long long)amount, destination);
    sb_resp_json(resp, 200, &o);
free_errors:
    json_object_put(errors);
free_body:
    json_object_put(body);
}

void sb_bp_on_trace(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char token[4 * SB_BP_TOKEN_FIELD_MAX + 1];
    if (!s_token_body(req, resp, token, NULL))
        return;
    sb_lock(sb);
    sb_bp_status_t status = sb_bp_trace(sb->bazaarpay, token, s_now());
    sb_unlock(sb);
    json_object *o = json_object_new_object();
    if (o)
        json_object_object_add(o, "status", json_object_new_string(sb_bp_status_name(status)));
    sb_resp_json(resp, 200, &o);
}

void sb_bp_on_commit(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char token[4 * SB_BP_TOKEN_FIELD_MAX + 1];
    if (!s_merchant(sb, req, resp) || !s_token_body(req, resp, token, NULL))
        return;
    sb_bp_now_t now = s_now();
    sb_lock(sb);
    sb_bp_result_t rc = sb_bp_commit(sb->bazaarpay, token, now);
    sb_bp_status_t status = sb_bp_trace(sb->bazaarpay, token, now);
    sb_unlock(sb);
    if (rc == SB_BP_OK || rc == SB_BP_ALREADY) {
        pm_debug("bazaarpay checkout %s committed%s", token, rc == SB_BP_OK ? "" : " (again)");
        sb_resp_bytes(resp, 204, "application/json", NULL, 0);
        return;
    }
    sb_resp_detail(resp, 400, s_refusal(status));
}

void sb_bp_on_refund(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char token[4 * SB_BP_TOKEN_FIELD_MAX + 1];
    int64_t amount = -1;
    if (!s_merchant(sb, req, resp) || !s_token_body(req, resp, token, &amount))
        return;
    sb_bp_now_t now = s_now();
    sb_lock(sb);
    sb_bp_result_t rc = sb_bp_refund(sb->bazaarpay, token, amount, now);
    const sb_bp_checkout_t *c = sb_bp_find(sb->bazaarpay, token, now);
    sb_bp_status_t status = c ? c->status : SB_BP_INVALID_TOKEN;
    int64_t max = c ? c->amount : 0;
    sb_unlock(sb);
    char msg[80];
    switch (rc) {
    case SB_BP_OK:
    case SB_BP_ALREADY:
        pm_debug("bazaarpay checkout %s refunded%s", token, rc == SB_BP_OK ? "" : " (again)");
        sb_resp_bytes(resp, 204, "application/json", NULL, 0);
        return;
    case SB_BP_TOO_MUCH: {
        json_object *errors = json_object_new_object();
        snprintf(msg, sizeof msg, "Ensure this value is less than or equal to %lld.",
                 (long long)max);
        if (errors)
            s_field_error(errors, "amount", msg);
        sb_resp_json(resp, 400, &errors);
        return;
    }
    case SB_BP_WRONG_STATE:
    case SB_BP_UNKNOWN:
        sb_resp_detail(resp, 400, s_refusal(status));
        return;
    }
}

/* ---- the payment page --------------------------------------------------------- */

static const char s_bad_redirect[] =
    "redirect_url must be an http:// or https:// URL of at most 2048 bytes.";

/* The error page for a checkout in status, which cannot be paid: 404 when
 * no checkout has the token, else 409 naming the status. */
static void s_page_unpayable(sb_resp_t *resp, sb_bp_status_t status, const char *redirect_url)
{
    if (status == SB_BP_INVALID_TOKEN) {
        s_page_error(resp, 404, "No checkout has this token.", redirect_url);
        return;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "This checkout is %s: it cannot be paid.", sb_bp_status_name(status));
    s_page_error(resp, 409, msg, redirect_url);
}

void sb_bp_on_page(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    const char *token = req->q_token, *redirect_url = req->q_redirect_url;
    if (!token || !token[0]) {
        s_page_error(resp, 400, "This payment link has no token.", NULL);
        return;
    }
    if (!sb_bp_redirect_ok(redirect_url)) {
        s_page_error(resp, 400, s_bad_redirect, NULL);
        return;
    }
    char *page = NULL;
    size_t len = 0;
    sb_lock(sb);
    const sb_bp_checkout_t *c = sb_bp_find(sb->bazaarpay, token, s_now());
    sb_bp_status_t status = c ? c->status : SB_BP_INVALID_TOKEN;
    if (status == SB_BP_UNPAID)
        page = sb_bp_page_html(c, redirect_url, req->q_phone, &len);
    sb_unlock(sb);
    if (status != SB_BP_UNPAID) {
        s_page_unpayable(resp, status, redirect_url);
        return;
    }
    if (page)
        sb_resp_bytes(resp, 200, "text/html; charset=utf-8", page, len);
    else
        sb_resp_clear(resp);
    free(page);
}

/* The token and redirect_url of a form the payment page posted, or the
 * error page answered. */
static bool s_page_form(const sb_req_t *req, sb_resp_t *resp, char token[SB_BP_TOKEN_FIELD_MAX + 1],
                        char redirect_url[SB_BP_REDIRECT_MAX + 1])
{
    if (!sb_form_get(req->body, req->body_len, "token", token, SB_BP_TOKEN_FIELD_MAX + 1) ||
        !token[0]) {
        s_page_error(resp, 400, "The form has no checkout token.", NULL);
        return false;
    }
    if (!sb_form_get(req->body, req->body_len, "redirect_url", redirect_url,
                     SB_BP_REDIRECT_MAX + 1) ||
        !sb_bp_redirect_ok(redirect_url)) {
        s_page_error(resp, 400, s_bad_redirect, NULL);
        return false;
    }
    return true;
}

void sb_bp_on_page_pay(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char token[SB_BP_TOKEN_FIELD_MAX + 1], redirect_url[SB_BP_REDIRECT_MAX + 1];
    if (!s_page_form(req, resp, token, redirect_url))
        return;
    sb_bp_now_t now = s_now();
    sb_lock(sb);
    sb_bp_result_t rc = sb_bp_pay(sb->bazaarpay, token, now);
    sb_bp_status_t status = sb_bp_trace(sb->bazaarpay, token, now);
    sb_unlock(sb);
    if (rc != SB_BP_OK) { /* UNKNOWN: status is SB_BP_INVALID_TOKEN */
        s_page_unpayable(resp, status, redirect_url);
        return;
    }
    pm_debug("bazaarpay checkout %s paid on the payment page", token);
    sb_resp_redirect(resp, redirect_url);
}

void sb_bp_on_page_cancel(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char token[SB_BP_TOKEN_FIELD_MAX + 1], redirect_url[SB_BP_REDIRECT_MAX + 1];
    if (!s_page_form(req, resp, token, redirect_url))
        return;
    sb_lock(sb);
    sb_bp_result_t rc = sb_bp_cancel(sb->bazaarpay, token, s_now());
    sb_unlock(sb);
    if (rc == SB_BP_UNKNOWN) {
        s_page_unpayable(resp, SB_BP_INVALID_TOKEN, redirect_url);
        return;
    }
    /* a checkout past unpaid is left as it is: the user just goes back */
    if (rc == SB_BP_OK)
        pm_debug("bazaarpay checkout %s cancelled on the payment page", token);
    sb_resp_redirect(resp, redirect_url);
}

/* ---- admin handlers ------------------------------------------------------------ */

static json_object *s_checkout_json(const sb_bp_checkout_t *c)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "checkout_token", json_object_new_string(c->token));
    json_object_object_add(o, "status", json_object_new_string(sb_bp_status_name(c->status)));
    json_object_object_add(o, "amount", json_object_new_int64(c->amount));
    json_object_object_add(o, "service_name", json_object_new_string(c->service_name));
    json_object_object_add(o, "destination", json_object_new_string(c->destination));
    json_object_object_add(o, "commits", json_object_new_int64(c->commits));
    json_object_object_add(o, "commit_calls", json_object_new_int64(c->commit_calls));
    json_object_object_add(o, "refunds", json_object_new_int64(c->refunds));
    json_object_object_add(o, "refund_calls", json_object_new_int64(c->refund_calls));
    json_object_object_add(o, "refund_amount",
                           c->refund_amount < 0 ? NULL : json_object_new_int64(c->refund_amount));
    json_object_object_add(o, "created_ms", json_object_new_int64(c->created_ms));
    json_object_object_add(o, "paid_ms", c->paid_ms < 0 ? NULL : json_object_new_int64(c->paid_ms));
    return o;
}

void sb_bp_on_admin_list(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    (void)req;
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    sb_bp_now_t now = s_now();
    sb_lock(sb);
    size_t n = sb_bp_count(sb->bazaarpay);
    for (size_t i = n > SB_BP_LIST_MAX ? n - SB_BP_LIST_MAX : 0; list && i < n; i++)
        json_object_array_add(list, s_checkout_json(sb_bp_at(sb->bazaarpay, i, now)));
    sb_unlock(sb);
    if (o) {
        json_object_object_add(o, "checkouts", list);
        json_object_object_add(o, "count", json_object_new_int64((int64_t)n));
    } else
        json_object_put(list);
    sb_resp_json(resp, 200, &o);
}

void sb_bp_on_admin_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 1);
    sb_lock(sb);
    const sb_bp_checkout_t *c = sb_bp_find(sb->bazaarpay, req->caps[0], s_now());
    json_object *o = c ? s_checkout_json(c) : NULL;
    sb_unlock(sb);
    if (!c) {
        sb_resp_error(resp, 404, "no checkout has this token", NULL);
        return;
    }
    sb_resp_json(resp, 200, &o);
}

typedef sb_bp_result_t (*s_action_fn)(sb_bp_t *self, const char *token, sb_bp_now_t now);

/* Applies action to the checkout of the path and answers it: 200 with the
 * checkout, 404 when unknown, 409 when its status does not allow it. */
static void s_admin_act(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp, s_action_fn action,
                        const char *what)
{
    assert(req->ncaps == 1);
    sb_bp_now_t now = s_now();
    sb_lock(sb);
    sb_bp_result_t rc = action(sb->bazaarpay, req->caps[0], now);
    const sb_bp_checkout_t *c = sb_bp_find(sb->bazaarpay, req->caps[0], now);
    json_object *o = c && rc != SB_BP_WRONG_STATE ? s_checkout_json(c) : NULL;
    const char *status = c ? sb_bp_status_name(c->status) : NULL;
    sb_unlock(sb);
    char msg[128];
    switch (rc) {
    case SB_BP_UNKNOWN:
        sb_resp_error(resp, 404, "no checkout has this token", NULL);
        return;
    case SB_BP_WRONG_STATE:
        snprintf(msg, sizeof msg, "the checkout is %s: only an unpaid one can be %s", status, what);
        sb_resp_error(resp, 409, msg, NULL);
        return;
    default:
        pm_debug("bazaarpay checkout %s %s by the admin API", req->caps[0], what);
        sb_resp_json(resp, 200, &o);
        return;
    }
}

void sb_bp_on_admin_pay(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    s_admin_act(sb, req, resp, sb_bp_pay, "paid");
}

void sb_bp_on_admin_cancel(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    s_admin_act(sb, req, resp, sb_bp_cancel, "cancelled");
}

void sb_bp_on_admin_expire(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    s_admin_act(sb, req, resp, sb_bp_expire, "expired");
}
