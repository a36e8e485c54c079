/*  bank: store of simulated bank orders and TFEB tokens, the handlers of
 *  the RBS and TFEB APIs, their card pages and the admin endpoints. */
#include "bank.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pm_ids.h"
#include "pm_log.h"
#include "pm_money.h"
#include "sb_html.h"
#include "sb_index.h"

/* An RBS orderNumber and where its order is: the second index. */
typedef struct {
    char number[SB_BANK_RBS_NUMBER_MAX + 1];
    uint32_t at; /* index of the order in orders */
} s_number_t;

typedef struct {
    char token[SB_BANK_TOKEN_LEN + 1];
    int64_t expires_mono_ms;
} s_token_t;

struct sb_bank_t {
    sb_bank_config_t cfg;
    sb_index_t *orders;                   /* sb_bank_order_t by orderId, in order of creation */
    sb_index_t *numbers;                  /* s_number_t by RBS orderNumber */
    s_token_t tokens[SB_BANK_TOKENS_MAX]; /* a ring of issued TFEB tokens */
    size_t next_token;
};

static const char *const s_state_names[] = {
    [SB_BANK_REGISTERED] = "registered", [SB_BANK_PREAUTHORIZED] = "preauthorized",
    [SB_BANK_DEPOSITED] = "deposited",   [SB_BANK_REVERSED] = "reversed",
    [SB_BANK_REFUNDED] = "refunded",     [5] = NULL,
    [SB_BANK_DECLINED] = "declined",
};

const char *sb_bank_state_name(sb_bank_state_t state)
{
    assert(state >= SB_BANK_REGISTERED && state <= SB_BANK_DECLINED && s_state_names[state]);
    return s_state_names[state];
}

const char *sb_bank_kind_name(sb_bank_kind_t bank)
{
    return bank == SB_BANK_RBS ? "rbs" : "tfeb";
}

sb_bank_t *sb_bank_new(const sb_bank_config_t *cfg)
{
    assert(cfg && cfg->rbs_username && cfg->rbs_password && cfg->tfeb_client_id &&
           cfg->tfeb_client_secret && cfg->tfeb_token_ttl_s > 0 && cfg->max_orders > 0 &&
           cfg->max_orders < UINT32_MAX);
    sb_bank_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->orders =
        sb_index_new(sizeof(sb_bank_order_t), offsetof(sb_bank_order_t, order_id), cfg->max_orders);
    self->numbers = sb_index_new(sizeof(s_number_t), offsetof(s_number_t, number), cfg->max_orders);
    if (!self->orders || !self->numbers) {
        sb_bank_destroy(&self);
        return NULL;
    }
    return self;
}

void sb_bank_destroy(sb_bank_t **self_p)
{
    assert(self_p);
    sb_bank_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; self->orders && i < sb_index_count(self->orders); i++) {
        sb_bank_order_t *o = sb_index_at(self->orders, i);
        free(o->return_url);
        free(o->fail_url);
        free(o->description);
    }
    sb_index_destroy(&self->orders);
    sb_index_destroy(&self->numbers);
    free(self);
    *self_p = NULL;
}

static sb_bank_order_t *s_find(const sb_bank_t *self, sb_bank_kind_t bank, const char *order_id)
{
    assert(self && order_id);
    sb_bank_order_t *o = sb_index_find(self->orders, order_id);
    return o && o->bank == bank ? o : NULL;
}

const sb_bank_order_t *sb_bank_find(const sb_bank_t *self, sb_bank_kind_t bank,
                                    const char *order_id)
{
    return s_find(self, bank, order_id);
}

const sb_bank_order_t *sb_bank_find_any(const sb_bank_t *self, const char *order_id)
{
    assert(self && order_id);
    return sb_index_find(self->orders, order_id);
}

const sb_bank_order_t *sb_bank_find_number(const sb_bank_t *self, const char *order_number)
{
    assert(self && order_number);
    const s_number_t *n = sb_index_find(self->numbers, order_number);
    return n ? sb_index_at(self->orders, n->at) : NULL;
}

/* A copy of s, or NULL for NULL; *failed set when memory is short. */
static char *s_dup(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = true;
    return d;
}

sb_bank_result_t sb_bank_register(sb_bank_t *self, const sb_bank_new_order_t *in, int64_t now_ms,
                                  const sb_bank_order_t **out)
{
    assert(self && in && in->order_number && in->return_url && out);
    assert(in->amount_minor > 0 && in->amount_minor <= SB_BANK_AMOUNT_MAX);
    assert(strlen(in->order_number) > 0 && strlen(in->order_number) <= SB_BANK_NUMBER_MAX);
    assert(in->bank == SB_BANK_RBS || !in->two_phase);
    bool rbs = in->bank == SB_BANK_RBS;
    assert(!rbs || strlen(in->order_number) <= SB_BANK_RBS_NUMBER_MAX);
    *out = NULL;
    if (rbs && (*out = sb_bank_find_number(self, in->order_number)) != NULL)
        return SB_BANK_DUPLICATE;
    sb_bank_order_t *o = sb_index_reserve(self->orders);
    s_number_t *n = o && rbs ? sb_index_reserve(self->numbers) : NULL;
    if (!o || (rbs && !n))
        return SB_BANK_FULL; /* a reserved record is reused by the next reserve */
    bool failed = false;
    o->return_url = s_dup(in->return_url, &failed);
    o->fail_url = s_dup(in->fail_url, &failed);
    o->description = s_dup(in->description, &failed);
    if (failed) {
        free(o->return_url);
        free(o->fail_url);
        free(o->description);
        return SB_BANK_FULL;
    }
    do
        pm_uuid_new(o->order_id);
    while (sb_index_find(self->orders, o->order_id));
    o->bank = in->bank;
    memcpy(o->order_number, in->order_number, strlen(in->order_number) + 1);
    o->amount_minor = in->amount_minor;
    o->two_phase = in->two_phase;
    o->state = SB_BANK_REGISTERED;
    o->created_ms = now_ms;
    o->paid_ms = -1;
    if (rbs) {
        memcpy(n->number, in->order_number, strlen(in->order_number) + 1);
        n->at = (uint32_t)sb_index_count(self->orders);
        sb_index_commit(self->numbers);
    }
    sb_index_commit(self->orders);
    *out = o;
    return SB_BANK_OK;
}

/* The order of either bank when it is registered (OK), else UNKNOWN or
 * WRONG_STATE: what the card holder may still pay or decline. */
static sb_bank_result_t s_registered(sb_bank_t *self, const char *order_id, sb_bank_order_t **o)
{
    assert(self && order_id);
    *o = sb_index_find(self->orders, order_id);
    if (!*o)
        return SB_BANK_UNKNOWN;
    return (*o)->state == SB_BANK_REGISTERED ? SB_BANK_OK : SB_BANK_WRONG_STATE;
}

sb_bank_result_t sb_bank_pay(sb_bank_t *self, const char *order_id, int64_t now_ms)
{
    sb_bank_order_t *o;
    sb_bank_result_t rc = s_registered(self, order_id, &o);
    if (rc != SB_BANK_OK)
        return rc;
    o->paid_ms = now_ms;
    if (o->two_phase)
        o->state = SB_BANK_PREAUTHORIZED;
    else {
        o->state = SB_BANK_DEPOSITED;
        o->deposited_minor = o->amount_minor;
    }
    return SB_BANK_OK;
}

sb_bank_result_t sb_bank_decline(sb_bank_t *self, const char *order_id)
{
    sb_bank_order_t *o;
    sb_bank_result_t rc = s_registered(self, order_id, &o);
    if (rc == SB_BANK_OK)
        o->state = SB_BANK_DECLINED;
    return rc;
}

sb_bank_result_t sb_bank_deposit(sb_bank_t *self, const char *order_id, int64_t amount_minor)
{
    assert(amount_minor >= 0);
    sb_bank_order_t *o = s_find(self, SB_BANK_RBS, order_id);
    if (!o)
        return SB_BANK_UNKNOWN;
    o->deposit_calls++;
    if (o->state != SB_BANK_PREAUTHORIZED)
        return SB_BANK_WRONG_STATE; /* a second deposit too: it was applied once */
    if (amount_minor > o->amount_minor)
        return SB_BANK_TOO_MUCH;
    o->state = SB_BANK_DEPOSITED;
    o->deposited_minor = amount_minor == 0 ? o->amount_minor : amount_minor;
    o->deposits++;
    return SB_BANK_OK;
}

sb_bank_result_t sb_bank_reverse(sb_bank_t *self, const char *order_id)
{
    sb_bank_order_t *o = s_find(self, SB_BANK_RBS, order_id);
    if (!o)
        return SB_BANK_UNKNOWN;
    o->reverse_calls++;
    if (o->state != SB_BANK_PREAUTHORIZED)
        return SB_BANK_WRONG_STATE;
    o->state = SB_BANK_REVERSED;
    o->reversals++;
    return SB_BANK_OK;
}

sb_bank_result_t sb_bank_refund(sb_bank_t *self, sb_bank_kind_t bank, const char *order_id,
                                int64_t amount_minor)
{
    assert(amount_minor > 0);
    sb_bank_order_t *o = s_find(self, bank, order_id);
    if (!o)
        return SB_BANK_UNKNOWN;
    o->refund_calls++;
    if (o->state != SB_BANK_DEPOSITED)
        return SB_BANK_WRONG_STATE;
    if (amount_minor > o->deposited_minor - o->refunded_minor)
        return SB_BANK_TOO_MUCH;
    o->refunded_minor += amount_minor;
    o->refunds++;
    if (o->refunded_minor == o->deposited_minor)
        o->state = SB_BANK_REFUNDED;
    return SB_BANK_OK;
}

size_t sb_bank_count(const sb_bank_t *self)
{
    assert(self);
    return sb_index_count(self->orders);
}

const sb_bank_order_t *sb_bank_at(const sb_bank_t *self, size_t i)
{
    assert(self);
    return sb_index_at(self->orders, i);
}

/* True when given equals want; constant time in want's bytes. */
static bool s_secret_eq(const char *given, const char *want)
{
    size_t n = strlen(want);
    return given && strlen(given) == n && sodium_memcmp(given, want, n) == 0;
}

bool sb_bank_rbs_login(const sb_bank_t *self, const char *user, const char *password)
{
    assert(self);
    bool user_ok = user && strcmp(user, self->cfg.rbs_username) == 0;
    bool password_ok = s_secret_eq(password, self->cfg.rbs_password);
    return user_ok && password_ok;
}

bool sb_bank_tfeb_token(sb_bank_t *self, const char *client_id, const char *client_secret,
                        int64_t now_mono_ms, char token[SB_BANK_TOKEN_LEN + 1])
{
    assert(self && token);
    bool id_ok = client_id && strcmp(client_id, self->cfg.tfeb_client_id) == 0;
    if (!s_secret_eq(client_secret, self->cfg.tfeb_client_secret) || !id_ok)
        return false;
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, SB_BANK_TOKEN_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    s_token_t *t = &self->tokens[self->next_token];
    self->next_token = (self->next_token + 1) % SB_BANK_TOKENS_MAX;
    memcpy(t->token, token, SB_BANK_TOKEN_LEN + 1);
    t->expires_mono_ms = now_mono_ms + (int64_t)self->cfg.tfeb_token_ttl_s * 1000;
    return true;
}

bool sb_bank_tfeb_token_live(const sb_bank_t *self, const char *token, int64_t now_mono_ms)
{
    assert(self);
    if (!token || strlen(token) != SB_BANK_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < SB_BANK_TOKENS_MAX; i++) {
        const s_token_t *t = &self->tokens[i];
        if (t->token[0] && sodium_memcmp(t->token, token, SB_BANK_TOKEN_LEN) == 0)
            return now_mono_ms < t->expires_mono_ms;
    }
    return false;
}

bool sb_bank_url_ok(const char *url)
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
    if (len > SB_BANK_URL_MAX || len == scheme || strchr("/?#", url[scheme]))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] < 0x20 || url[i] == 0x7f)
            return false;
    return true;
}

int sb_bank_return_url(const sb_bank_order_t *o, bool paid, char *out, size_t cap)
{
    assert(o && o->return_url && out);
    const char *url = !paid && o->fail_url ? o->fail_url : o->return_url;
    size_t base = strcspn(url, "#");
    const char *sep = memchr(url, '?', base) ? "&" : "?";
    int n = snprintf(out, cap, "%.*s%sorderId=%s%s", (int)base, url, sep, o->order_id, url + base);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ---- the card pages ---------------------------------------------------------- */

static const char s_page_style[] =
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
    "</style>\n";

static const char *s_bank_title(sb_bank_kind_t bank)
{
    return bank == SB_BANK_RBS ? "Halkbank" : "TFEB";
}

static void s_page_head(FILE *f, const char *title)
{
    fprintf(f,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>%s card payment (sandbox)</title>\n%s</head>\n<body>\n<div class=\"box\">\n"
            "<h1>%s <small class=\"note\">sandbox</small></h1>\n",
            title, s_page_style, title);
}

static void s_page_tail(FILE *f, const char *title)
{
    fprintf(f,
            "<p class=\"note\">No money moves: this page is the paymesh sandbox standing in "
            "for %s.</p>\n</div>\n</body>\n</html>\n",
            title);
}

static void s_put_form(FILE *f, const char *action, const char *id, const char *label,
                       const char *order_id)
{
    fputs("<form method=\"post\" action=\"", f);
    sb_html_put(f, action);
    fputs("\">\n<input type=\"hidden\" name=\"mdOrder\" value=\"", f);
    sb_html_put(f, order_id);
    fprintf(f, "\">\n<button type=\"submit\" id=\"%s\">%s</button>\n</form>\n", id, label);
}

char *sb_bank_page_html(const sb_bank_order_t *o, const char *pay_action,
                        const char *decline_action, size_t *len)
{
    assert(o && pay_action && decline_action && len);
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    const char *title = s_bank_title(o->bank);
    char manat[32];
    if (pm_money_format(o->amount_minor, 2, manat, sizeof manat) < 0)
        manat[0] = '\0';
    s_page_head(f, title);
    if (o->description) {
        fputs("<p id=\"description\">", f);
        sb_html_put(f, o->description);
        fputs("</p>\n", f);
    }
    fprintf(f, "<p class=\"amount\"><span id=\"amount\" data-minor=\"%lld\">%s</span> TMT%s</p>\n",
            (long long)o->amount_minor, manat, o->two_phase ? " (held, taken later)" : "");
    fputs("<p class=\"note\">Order <span id=\"order-number\">", f);
    sb_html_put(f, o->order_number);
    fputs("</span>, bank order <span id=\"order-id\">", f);
    sb_html_put(f, o->order_id);
    fputs("</span></p>\n", f);
    s_put_form(f, pay_action, "pay", "Pay", o->order_id);
    s_put_form(f, decline_action, "decline", "Decline", o->order_id);
    s_page_tail(f, title);
    return sb_html_close(f, &buf);
}

/* An error page of bank's card page: message. */
static void s_page_error(sb_resp_t *resp, sb_bank_kind_t bank, int status, const char *message)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        sb_resp_clear(resp);
        return;
    }
    const char *title = s_bank_title(bank);
    s_page_head(f, title);
    fputs("<p id=\"error\">", f);
    sb_html_put(f, message);
    fputs("</p>\n", f);
    s_page_tail(f, title);
    if (!sb_html_close(f, &buf)) {
        sb_resp_clear(resp);
        return;
    }
    sb_resp_bytes(resp, status, "text/html; charset=utf-8", buf, len);
    free(buf);
}

/* ---- RBS ------------------------------------------------------------------------ */

static const char s_rbs_success[] = "Успешно";                               /* success */
static const char s_rbs_denied[] = "Доступ запрещён";                        /* access denied */
static const char s_rbs_not_found[] = "Заказ не найден";                     /* order not found */
static const char s_rbs_duplicate[] = "Заказ с таким номером уже обработан"; /* number taken */
static const char s_rbs_currency[] = "Неверная валюта";                      /* invalid currency */
static const char s_rbs_full[] = "Системная ошибка";                         /* system error */
static const char s_rbs_deposit_too_much[] = "Сумма списания превышает одобренную сумму";
static const char s_rbs_refund_too_much[] = "Сумма возврата превышает сумму списания";

/* Reads parameter key: from the form body, else from the query string.
 * True with out (cap bytes) filled when it is there with 1..cap - 1 bytes;
 * a value that cannot be read (malformed, too long, with a NUL) counts as
 * absent. */
static bool s_param(const sb_req_t *req, const char *key, char *out, size_t cap)
{
    if (req->body_len > 0 && sb_form_get(req->body, req->body_len, key, out, cap))
        return out[0] != '\0';
    const char *q = sb_req_query(req, key);
    size_t len = q ? strlen(q) : 0;
    if (len == 0 || len >= cap)
        return false;
    memcpy(out, q, len + 1);
    return true;
}

/* Answers 200 {key_code: "code", key_message: message}: RBS's business
 * errors, and its success of deposit, reverse, refund. */
static void s_rbs_answer(sb_resp_t *resp, bool legacy, int code, const char *message)
{
    json_object *o = json_object_new_object();
    char text[8];
    snprintf(text, sizeof text, "%d", code);
    if (o) {
        json_object_object_add(o, legacy ? "ErrorCode" : "errorCode", json_object_new_string(text));
        json_object_object_add(o, legacy ? "ErrorMessage" : "errorMessage",
                               json_object_new_string(message));
    }
    sb_resp_json(resp, 200, &o);
}

/* True when the call carries the merchant account's userName and
 * password; otherwise answers errorCode 5, access denied. */
static bool s_rbs_login(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp, bool legacy)
{
    char user[SB_BANK_CREDENTIAL_MAX + 1], password[SB_BANK_CREDENTIAL_MAX + 1];
    bool given = s_param(req, "userName", user, sizeof user) &&
                 s_param(req, "password", password, sizeof password);
    bool ok = given && sb_bank_rbs_login(sb->bank, user, password);
    sodium_memzero(password, sizeof password);
    if (!ok)
        s_rbs_answer(resp, legacy, 5, s_rbs_denied);
    return ok;
}

/* A missing mandatory parameter: errorCode 4. */
static void s_rbs_missing(sb_resp_t *resp, bool legacy, const char *key)
{
    char msg[96];
    snprintf(msg, sizeof msg, "Не указан обязательный параметр %s", key); /* is missing */
    s_rbs_answer(resp, legacy, 4, msg);
}

/* An invalid parameter value: errorCode 5 (never read as our credentials:
 * the message names the parameter only). */
static void s_rbs_invalid(sb_resp_t *resp, const char *key)
{
    char msg[96];
    snprintf(msg, sizeof msg, "Неверное значение параметра %s", key);
    s_rbs_answer(resp, false, 5, msg);
}

/* Reads the amount parameter: minor units as decimal digits, 0..max. 1
 * when valid, 0 when absent, -1 (answered errorCode 5) when not. */
static int s_rbs_amount(const sb_req_t *req, sb_resp_t *resp, int64_t min, int64_t *out)
{
    char text[SB_BANK_PARAM_MAX + 1];
    if (!s_param(req, "amount", text, sizeof text))
        return 0;
    size_t len = strlen(text);
    int64_t n = 0;
    bool ok = len > 0 && len <= 12 && strspn(text, "0123456789") == len;
    for (size_t i = 0; ok && i < len; i++)
        n = n * 10 + (text[i] - '0');
    if (!ok || n < min || n > SB_BANK_AMOUNT_MAX) {
        s_rbs_invalid(resp, "amount");
        return -1;
    }
    *out = n;
    return 1;
}

static void s_rbs_register(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp, bool two_phase)
{
    if (!s_rbs_login(sb, req, resp, false))
        return;
    char number[SB_BANK_PARAM_MAX + 1], currency[SB_BANK_PARAM_MAX + 1];
    char return_url[SB_BANK_URL_MAX + 2], fail_url[SB_BANK_URL_MAX + 2];
    char description[SB_BANK_PARAM_MAX + 1];
    int64_t amount = 0;
    if (!s_param(req, "orderNumber", number, sizeof number)) {
        s_rbs_missing(resp, false, "orderNumber");
        return;
    }
    if (strlen(number) > SB_BANK_RBS_NUMBER_MAX) {
        s_rbs_invalid(resp, "orderNumber");
        return;
    }
    int rc = s_rbs_amount(req, resp, 1, &amount);
    if (rc <= 0) {
        if (rc == 0)
            s_rbs_missing(resp, false, "amount");
        return;
    }
    if (s_param(req, "currency", currency, sizeof currency) &&
        strcmp(currency, SB_BANK_CURRENCY) != 0) {
        s_rbs_answer(resp, false, 3, s_rbs_currency);
        return;
    }
    if (!s_param(req, "returnUrl", return_url, sizeof return_url)) {
        s_rbs_missing(resp, false, "returnUrl");
        return;
    }
    if (!sb_bank_url_ok(return_url)) {
        s_rbs_invalid(resp, "returnUrl");
        return;
    }
    bool has_fail = s_param(req, "failUrl", fail_url, sizeof fail_url);
    if (has_fail && !sb_bank_url_ok(fail_url)) {
        s_rbs_invalid(resp, "failUrl");
        return;
    }
    bool has_description = s_param(req, "description", description, sizeof description);
    if (has_description && strlen(description) > SB_BANK_DESCRIPTION_MAX) {
        s_rbs_invalid(resp, "description");
        return;
    }
    sb_bank_new_order_t in = {
        .bank = SB_BANK_RBS,
        .order_number = number,
        .amount_minor = amount,
        .two_phase = two_phase,
        .return_url = return_url,
        .fail_url = has_fail ? fail_url : NULL,
        .description = has_description ? description : NULL,
    };
    char id[SB_BANK_ID_LEN + 1] = "";
    sb_lock(sb);
    const sb_bank_order_t *o = NULL;
    sb_bank_result_t res = sb_bank_register(sb->bank, &in, sb_now_ms(), &o);
    if (res == SB_BANK_OK)
        memcpy(id, o->order_id, sizeof id);
    sb_unlock(sb);
    if (res == SB_BANK_DUPLICATE) {
        s_rbs_answer(resp, false, 1, s_rbs_duplicate);
        return;
    }
    if (res != SB_BANK_OK) {
        pm_warn("rbs register %s refused: bank-max-orders orders are held", number);
        s_rbs_answer(resp, false, 7, s_rbs_full);
        return;
    }
    char url[SB_HOST_MAX + 128];
    snprintf(url, sizeof url, "http://%s/payment/merchants/online/payment_ru.html?mdOrder=%s",
             req->host, id);
    json_object *j = json_object_new_object();
    if (j) {
        json_object_object_add(j, "orderId", json_object_new_string(id));
        json_object_object_add(j, "formUrl", json_object_new_string(url));
        json_object_object_add(j, "errorCode", json_object_new_string("0"));
    }
    pm_debug("rbs order %s (%s): %lld tenge%s", id, number, (long long)amount,
             two_phase ? ", two-phase" : "");
    sb_resp_json(resp, 200, &j);
}

void sb_bank_on_rbs_register(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    s_rbs_register(sb, req, resp, false);
}

void sb_bank_on_rbs_register_preauth(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    s_rbs_register(sb, req, resp, true);
}

/* paymentAmountInfo.paymentState of an order in state. */
static const char *s_payment_state(sb_bank_state_t state)
{
    switch (state) {
    case SB_BANK_REGISTERED:
        return "CREATED";
    case SB_BANK_PREAUTHORIZED:
        return "APPROVED";
    case SB_BANK_DEPOSITED:
        return "DEPOSITED";
    case SB_BANK_REVERSED:
        return "REVERSED";
    case SB_BANK_REFUNDED:
        return "REFUNDED";
    case SB_BANK_DECLINED:
        return "DECLINED";
    }
    return "CREATED";
}

/* actionCode: 0 approved, -100 no payment attempt yet, 116 declined
 * (insufficient funds). */
static int s_action_code(sb_bank_state_t state)
{
    return state == SB_BANK_REGISTERED ? -100 : state == SB_BANK_DECLINED ? 116 : 0;
}

static const char *s_action_text(sb_bank_state_t state)
{
    return state == SB_BANK_REGISTERED ? "Не было попыток оплаты" /* no payment attempt */
           : state == SB_BANK_DECLINED ? "Недостаточно средств"   /* insufficient funds */
                                       : "";
}

/* The getOrderStatusExtended.do answer for o. Caller owns it. */
static json_object *s_rbs_status_json(const sb_bank_order_t *o)
{
    json_object *j = json_object_new_object(), *info = json_object_new_object();
    json_object *attrs = json_object_new_array(), *attr = json_object_new_object();
    if (!j || !info || !attrs || !attr) {
        json_object_put(j);
        json_object_put(info);
        json_object_put(attrs);
        json_object_put(attr);
        return NULL;
    }
    bool approved = o->state != SB_BANK_REGISTERED && o->state != SB_BANK_DECLINED;
    json_object_object_add(j, "errorCode", json_object_new_string("0"));
    json_object_object_add(j, "errorMessage", json_object_new_string(s_rbs_success));
    json_object_object_add(j, "orderNumber", json_object_new_string(o->order_number));
    json_object_object_add(j, "orderStatus", json_object_new_int((int)o->state));
    json_object_object_add(j, "actionCode", json_object_new_int(s_action_code(o->state)));
    json_object_object_add(j, "actionCodeDescription",
                           json_object_new_string(s_action_text(o->state)));
    json_object_object_add(j, "amount", json_object_new_int64(o->amount_minor));
    json_object_object_add(j, "currency", json_object_new_string(SB_BANK_CURRENCY));
    json_object_object_add(j, "date", json_object_new_int64(o->created_ms));
    if (o->description)
        json_object_object_add(j, "orderDescription", json_object_new_string(o->description));
    json_object_object_add(attr, "name", json_object_new_string("mdOrder"));
    json_object_object_add(attr, "value", json_object_new_string(o->order_id));
    json_object_array_add(attrs, attr);
    json_object_object_add(j, "attributes", attrs);
    json_object_object_add(info, "paymentState", json_object_new_string(s_payment_state(o->state)));
    json_object_object_add(info, "approvedAmount",
                           json_object_new_int64(approved ? o->amount_minor : 0));
    json_object_object_add(info, "depositedAmount", json_object_new_int64(o->deposited_minor));
    json_object_object_add(info, "refundedAmount", json_object_new_int64(o->refunded_minor));
    json_object_object_add(j, "paymentAmountInfo", info);
    return j;
}

/* The legacy getOrderStatus.do answer for o, Capitalized. Caller owns it. */
static json_object *s_rbs_legacy_json(const sb_bank_order_t *o)
{
    json_object *j = json_object_new_object();
    if (!j)
        return NULL;
    json_object_object_add(j, "ErrorCode", json_object_new_string("0"));
    json_object_object_add(j, "ErrorMessage", json_object_new_string(s_rbs_success));
    json_object_object_add(j, "OrderStatus", json_object_new_int((int)o->state));
    json_object_object_add(j, "OrderNumber", json_object_new_string(o->order_number));
    json_object_object_add(j, "Amount", json_object_new_int64(o->amount_minor));
    json_object_object_add(j, "currency", json_object_new_string(SB_BANK_CURRENCY));
    json_object_object_add(j, "depositAmount", json_object_new_int64(o->deposited_minor));
    return j;
}

static void s_rbs_status(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp, bool legacy)
{
    if (!s_rbs_login(sb, req, resp, legacy))
        return;
    char id[SB_BANK_PARAM_MAX + 1], number[SB_BANK_PARAM_MAX + 1];
    bool by_id = s_param(req, "orderId", id, sizeof id);
    bool by_number = !by_id && !legacy && s_param(req, "orderNumber", number, sizeof number);
    if (!by_id && !by_number) {
        s_rbs_missing(resp, legacy, "orderId");
        return;
    }
    sb_lock(sb);
    const sb_bank_order_t *o =
        by_id ? sb_bank_find(sb->bank, SB_BANK_RBS, id) : sb_bank_find_number(sb->bank, number);
    json_object *j = !o ? NULL : legacy ? s_rbs_legacy_json(o) : s_rbs_status_json(o);
    sb_unlock(sb);
    if (!o) {
        s_rbs_answer(resp, legacy, 6, s_rbs_not_found);
        return;
    }
    sb_resp_json(resp, 200, &j);
}

void sb_bank_on_rbs_status_extended(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    s_rbs_status(sb, req, resp, false);
}

void sb_bank_on_rbs_status(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    s_rbs_status(sb, req, resp, true);
}

/* The orderId of a deposit, reverse or refund, or the errorCode 4 answered. */
static bool s_rbs_order_id(const sb_req_t *req, sb_resp_t *resp, char id[SB_BANK_PARAM_MAX + 1])
{
    if (s_param(req, "orderId", id, SB_BANK_PARAM_MAX + 1))
        return true;
    s_rbs_missing(resp, false, "orderId");
    return false;
}

/* Answers the result of deposit, reverse or refund. */
static void s_rbs_result(sb_resp_t *resp, sb_bank_result_t rc, const char *too_much)
{
    switch (rc) {
    case SB_BANK_OK:
        s_rbs_answer(resp, false, 0, s_rbs_success);
        return;
    case SB_BANK_UNKNOWN:
        s_rbs_answer(resp, false, 6, s_rbs_not_found);
        return;
    case SB_BANK_TOO_MUCH:
        s_rbs_answer(resp, false, 7, too_much);
        return;
    case SB_BANK_WRONG_STATE:
    case SB_BANK_DUPLICATE:
    case SB_BANK_FULL:
        break;
    }
    s_rbs_answer(resp, false, 7, SB_BANK_WRONG_STATE_MESSAGE);
}

void sb_bank_on_rbs_deposit(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char id[SB_BANK_PARAM_MAX + 1];
    int64_t amount = 0; /* 0 or absent: the whole approved amount */
    if (!s_rbs_login(sb, req, resp, false) || !s_rbs_order_id(req, resp, id) ||
        s_rbs_amount(req, resp, 0, &amount) < 0)
        return;
    sb_lock(sb);
    sb_bank_result_t rc = sb_bank_deposit(sb->bank, id, amount);
    sb_unlock(sb);
    pm_debug("rbs deposit of %s: %d", id, (int)rc);
    s_rbs_result(resp, rc, s_rbs_deposit_too_much);
}

void sb_bank_on_rbs_reverse(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char id[SB_BANK_PARAM_MAX + 1];
    if (!s_rbs_login(sb, req, resp, false) || !s_rbs_order_id(req, resp, id))
        return;
    sb_lock(sb);
    sb_bank_result_t rc = sb_bank_reverse(sb->bank, id);
    sb_unlock(sb);
    pm_debug("rbs reverse of %s: %d", id, (int)rc);
    s_rbs_result(resp, rc, SB_BANK_WRONG_STATE_MESSAGE);
}

void sb_bank_on_rbs_refund(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char id[SB_BANK_PARAM_MAX + 1];
    int64_t amount = 0;
    if (!s_rbs_login(sb, req, resp, false) || !s_rbs_order_id(req, resp, id))
        return;
    int rc = s_rbs_amount(req, resp, 1, &amount);
    if (rc <= 0) {
        if (rc == 0)
            s_rbs_missing(resp, false, "amount");
        return;
    }
    sb_lock(sb);
    sb_bank_result_t res = sb_bank_refund(sb->bank, SB_BANK_RBS, id, amount);
    sb_unlock(sb);
    pm_debug("rbs refund of %lld tenge of %s: %d", (long long)amount, id, (int)res);
    s_rbs_result(resp, res, s_rbs_refund_too_much);
}

/* ---- TFEB ------------------------------------------------------------------------ */

/* Answers status {"response": {"operationResult": code,
 * "operationResultDescription": text, "orderId"?}, "_links"?}. links is
 * taken (may be NULL). */
static void s_tfeb_answer(sb_resp_t *resp, int status, const char *code, const char *text,
                          const char *order_id, json_object *links)
{
    json_object *j = json_object_new_object(), *r = json_object_new_object();
    if (!j || !r) {
        json_object_put(j);
        json_object_put(r);
        json_object_put(links);
        sb_resp_clear(resp);
        return;
    }
    if (order_id)
        json_object_object_add(r, "orderId", json_object_new_string(order_id));
    json_object_object_add(r, "operationResult", json_object_new_string(code));
    json_object_object_add(r, "operationResultDescription", json_object_new_string(text));
    json_object_object_add(j, "response", r);
    if (links)
        json_object_object_add(j, "_links", links);
    sb_resp_json(resp, status, &j);
    resp->content_type = resp->json ? "application/hal+json" : NULL;
}

/* An invalid request: 400 GEN-00003 (the sandbox's code; TFEB's own is not
 * documented). */
static void s_tfeb_invalid(sb_resp_t *resp, const char *what)
{
    s_tfeb_answer(resp, 400, "GEN-00003", what, NULL, NULL);
}

/* {"self": {"href": .../Orders/id}, and redirectToCheckout when checkout}. */
static json_object *s_tfeb_links(const char *host, const char *order_id, bool checkout)
{
    char url[SB_HOST_MAX + 128];
    json_object *links = json_object_new_object(), *self = json_object_new_object();
    json_object *redirect = checkout ? json_object_new_object() : NULL;
    if (!links || !self || (checkout && !redirect)) {
        json_object_put(links);
        json_object_put(self);
        json_object_put(redirect);
        return NULL;
    }
    snprintf(url, sizeof url, "http://%s/OrderProcessing_TURK/v1/Orders/%s", host, order_id);
    json_object_object_add(self, "href", json_object_new_string(url));
    json_object_object_add(links, "self", self);
    if (checkout) {
        snprintf(url, sizeof url, "http://%s/Checkout/%s", host, order_id);
        json_object_object_add(redirect, "href", json_object_new_string(url));
        json_object_object_add(links, "redirectToCheckout", redirect);
    }
    return links;
}

void sb_bank_on_tfeb_token(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char id[SB_BANK_CREDENTIAL_MAX + 1], secret[SB_BANK_CREDENTIAL_MAX + 1];
    char grant[64], scope[256];
    if (!sb_form_get(req->body, req->body_len, "grant_type", grant, sizeof grant)) {
        sb_resp_error(resp, 400, "invalid_request", "grant_type is missing");
        return;
    }
    if (strcmp(grant, "client_credentials") != 0) {
        sb_resp_error(resp, 400, "unsupported_grant_type", NULL);
        return;
    }
    if (sb_form_get(req->body, req->body_len, "scope", scope, sizeof scope) &&
        strcmp(scope, SB_BANK_TFEB_SCOPE) != 0) {
        sb_resp_error(resp, 400, "invalid_scope", NULL);
        return;
    }
    bool given = sb_form_get(req->body, req->body_len, "client_id", id, sizeof id) &&
                 sb_form_get(req->body, req->body_len, "client_secret", secret, sizeof secret);
    char token[SB_BANK_TOKEN_LEN + 1];
    sb_lock(sb);
    bool ok = given && sb_bank_tfeb_token(sb->bank, id, secret, sb_mono_ms(), token);
    int ttl_s = sb->bank->cfg.tfeb_token_ttl_s;
    sb_unlock(sb);
    if (given)
        sodium_memzero(secret, sizeof secret);
    if (!ok) {
        sb_resp_error(resp, 400, "invalid_client", NULL);
        return;
    }
    json_object *j = json_object_new_object();
    if (j) {
        json_object_object_add(j, "access_token", json_object_new_string(token));
        json_object_object_add(j, "expires_in", json_object_new_int(ttl_s));
        json_object_object_add(j, "token_type", json_object_new_string("Bearer"));
        json_object_object_add(j, "scope", json_object_new_string(SB_BANK_TFEB_SCOPE));
    }
    sb_resp_json(resp, 200, &j);
}

/* True when the request carries a live token ("Authorization: Bearer T",
 * the scheme in any case); otherwise answers 401 GEN-00002. */
static bool s_tfeb_auth(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    const char *h = req->authorization;
    while (h && (*h == ' ' || *h == '\t'))
        h++;
    const char *token = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
    while (token && *token == ' ')
        token++;
    sb_lock(sb);
    bool ok = token && sb_bank_tfeb_token_live(sb->bank, token, sb_mono_ms());
    sb_unlock(sb);
    if (!ok)
        s_tfeb_answer(resp, 401, "GEN-00002", "Not authorized", NULL, NULL);
    return ok;
}

/* obj's member Key, or its lowerCamel twin "key" (both spellings are seen). */
static json_object *s_member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object))
        return NULL;
    if (json_object_object_get_ex(obj, key, &v))
        return v;
    char lower[64];
    snprintf(lower, sizeof lower, "%s", key);
    lower[0] = (char)(lower[0] >= 'A' && lower[0] <= 'Z' ? lower[0] - 'A' + 'a' : lower[0]);
    return json_object_object_get_ex(obj, lower, &v) ? v : NULL;
}

/* A string member of 1..max bytes without NULs, or NULL. */
static const char *s_member_str(json_object *obj, const char *key, size_t max)
{
    json_object *v = s_member(obj, key);
    if (!v || !json_object_is_type(v, json_type_string))
        return NULL;
    size_t len = (size_t)json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    return len == 0 || len > max || memchr(s, '\0', len) ? NULL : s;
}

/* Reads Transaction of body: TotalAmount (exact decimal manat, from the
 * number's own text), Currency (934 when given), Type (want when given).
 * Returns the transaction, or NULL with the 400 answered. */
static json_object *s_tfeb_transaction(json_object *body, const char *want_type, sb_resp_t *resp,
                                       int64_t *amount_minor)
{
    json_object *tx = s_member(body, "Transaction");
    if (!tx || !json_object_is_type(tx, json_type_object)) {
        s_tfeb_invalid(resp, "Transaction is required");
        return NULL;
    }
    json_object *v = s_member(tx, "TotalAmount");
    const char *why = NULL;
    if (!v ||
        !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
        s_tfeb_invalid(resp, "Transaction.TotalAmount must be a number");
        return NULL;
    }
    const char *text = json_object_get_string(v);
    if (pm_money_parse(text, strlen(text), 2, SB_BANK_AMOUNT_MAX, amount_minor, &why) != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "Transaction.TotalAmount: %s", why);
        s_tfeb_invalid(resp, msg);
        return NULL;
    }
    json_object *cur = s_member(tx, "Currency");
    if (cur && (!json_object_is_type(cur, json_type_string) ||
                strcmp(json_object_get_string(cur), SB_BANK_CURRENCY) != 0)) {
        s_tfeb_invalid(resp, "Transaction.Currency must be \"934\"");
        return NULL;
    }
    json_object *type = s_member(tx, "Type");
    if (type && (!json_object_is_type(type, json_type_string) ||
                 strcmp(json_object_get_string(type), want_type) != 0)) {
        char msg[64];
        snprintf(msg, sizeof msg, "Transaction.Type must be \"%s\"", want_type);
        s_tfeb_invalid(resp, msg);
        return NULL;
    }
    return tx;
}

/* The body as one JSON object, or NULL with the 400 answered. */
static json_object *s_tfeb_body(const sb_req_t *req, sb_resp_t *resp)
{
    json_object *body = sb_json_parse_object(req->body, req->body_len);
    if (!body)
        s_tfeb_invalid(resp, "the body must be one JSON object");
    return body;
}

void sb_bank_on_tfeb_create(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    if (!s_tfeb_auth(sb, req, resp))
        return;
    json_object *body = s_tfeb_body(req, resp);
    if (!body)
        return;
    int64_t amount = 0;
    json_object *tx = s_tfeb_transaction(body, "CRDP", resp, &amount);
    if (!tx)
        goto free_body;
    const char *number = s_member_str(tx, "MerchantOrderId", SB_BANK_NUMBER_MAX);
    if (!number)
        number = s_member_str(tx, "InvoiceNumber", SB_BANK_NUMBER_MAX);
    json_object *transport = s_member(s_member(body, "Environment"), "Transport");
    const char *final_url = s_member_str(transport, "MerchantFinalResponseUrl", SB_BANK_URL_MAX);
    if (!number) {
        s_tfeb_invalid(resp, "Transaction.MerchantOrderId must be 1..64 bytes");
        goto free_body;
    }
    if (!final_url || !sb_bank_url_ok(final_url)) {
        s_tfeb_invalid(resp, "Environment.Transport.MerchantFinalResponseUrl must be an http(s) "
                             "URL of at most 2048 bytes");
        goto free_body;
    }
    sb_bank_new_order_t in = {
        .bank = SB_BANK_TFEB,
        .order_number = number,
        .amount_minor = amount,
        .return_url = final_url,
    };
    char id[SB_BANK_ID_LEN + 1] = "";
    const sb_bank_order_t *o = NULL;
    sb_lock(sb);
    sb_bank_result_t rc = sb_bank_register(sb->bank, &in, sb_now_ms(), &o);
    if (rc == SB_BANK_OK)
        memcpy(id, o->order_id, sizeof id);
    sb_unlock(sb);
    if (rc != SB_BANK_OK) {
        pm_warn("tfeb order %s refused: bank-max-orders orders are held", number);
        s_tfeb_answer(resp, 503, "GEN-00001", "System error", NULL, NULL);
        goto free_body;
    }
    pm_debug("tfeb order %s (%s): %lld tenge", id, number, (long long)amount);
    s_tfeb_answer(resp, 200, "OPG-00100", "Further action is needed.", id,
                  s_tfeb_links(req->host, id, true));
free_body:
    json_object_put(body);
}

void sb_bank_on_tfeb_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 1);
    if (!s_tfeb_auth(sb, req, resp))
        return;
    sb_lock(sb);
    const sb_bank_order_t *o = sb_bank_find(sb->bank, SB_BANK_TFEB, req->caps[0]);
    sb_bank_state_t state = o ? o->state : SB_BANK_REGISTERED;
    sb_unlock(sb);
    if (!o) {
        s_tfeb_answer(resp, 404, "OPG-00001", "Order not found", NULL, NULL);
        return;
    }
    json_object *links = s_tfeb_links(req->host, req->caps[0], state == SB_BANK_REGISTERED);
    if (state == SB_BANK_REGISTERED)
        s_tfeb_answer(resp, 200, "OPG-00100", "Further action is needed.", req->caps[0], links);
    else if (state == SB_BANK_DECLINED)
        s_tfeb_answer(resp, 200, "OPG-00006", "The merchant cancelled the order", req->caps[0],
                      links);
    else /* deposited, refunded: the order's operation succeeded */
        s_tfeb_answer(resp, 200, "GEN-00000", "Operation Successful", req->caps[0], links);
}

void sb_bank_on_tfeb_refund(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 1);
    if (!s_tfeb_auth(sb, req, resp))
        return;
    json_object *body = s_tfeb_body(req, resp);
    if (!body)
        return;
    int64_t amount = 0;
    if (!s_tfeb_transaction(body, "RFND", resp, &amount))
        goto free_body;
    sb_lock(sb);
    sb_bank_result_t rc = sb_bank_refund(sb->bank, SB_BANK_TFEB, req->caps[0], amount);
    sb_unlock(sb);
    pm_debug("tfeb refund of %lld tenge of %s: %d", (long long)amount, req->caps[0], (int)rc);
    switch (rc) {
    case SB_BANK_OK:
        s_tfeb_answer(resp, 200, "GEN-00000", "Operation Successful", req->caps[0], NULL);
        break;
    case SB_BANK_UNKNOWN:
        s_tfeb_answer(resp, 404, "OPG-00001", "Order not found", NULL, NULL);
        break;
    case SB_BANK_TOO_MUCH:
        s_tfeb_invalid(resp, "Transaction.TotalAmount is more than the order has left to refund");
        break;
    case SB_BANK_WRONG_STATE:
    case SB_BANK_DUPLICATE:
    case SB_BANK_FULL:
        s_tfeb_answer(resp, 200, "OPG-00006", "The order cannot be refunded in its state",
                      req->caps[0], NULL);
        break;
    }
free_body:
    json_object_put(body);
}

/* ---- card page handlers ------------------------------------------------------ */

static const char s_rbs_pay_action[] = "/payment/merchants/online/pay";
static const char s_rbs_decline_action[] = "/payment/merchants/online/decline";

/* The card page of order_id of bank; 404 unknown, 409 not payable. */
static void s_page(sb_sandbox_t *sb, sb_bank_kind_t bank, const char *order_id, sb_resp_t *resp)
{
    char pay[64 + SB_BANK_ID_LEN], decline[64 + SB_BANK_ID_LEN];
    if (bank == SB_BANK_RBS) {
        snprintf(pay, sizeof pay, "%s", s_rbs_pay_action);
        snprintf(decline, sizeof decline, "%s", s_rbs_decline_action);
    } else {
        snprintf(pay, sizeof pay, "/Checkout/%.36s/pay", order_id);
        snprintf(decline, sizeof decline, "/Checkout/%.36s/decline", order_id);
    }
    char *page = NULL;
    size_t len = 0;
    sb_lock(sb);
    const sb_bank_order_t *o = sb_bank_find(sb->bank, bank, order_id);
    sb_bank_state_t state = o ? o->state : SB_BANK_REGISTERED;
    if (o && state == SB_BANK_REGISTERED)
        page = sb_bank_page_html(o, pay, decline, &len);
    sb_unlock(sb);
    if (!o) {
        s_page_error(resp, bank, 404, "No order has this id.");
        return;
    }
    if (state != SB_BANK_REGISTERED) {
        char msg[96];
        snprintf(msg, sizeof msg, "This order is %s: it was processed already.",
                 sb_bank_state_name(state));
        s_page_error(resp, bank, 409, msg);
        return;
    }
    if (page)
        sb_resp_bytes(resp, 200, "text/html; charset=utf-8", page, len);
    else
        sb_resp_clear(resp);
    free(page);
}

/* Pay or decline order_id of bank from its card page, and send the browser
 * back to the merchant. */
static void s_page_act(sb_sandbox_t *sb, sb_bank_kind_t bank, const char *order_id, bool pay,
                       sb_resp_t *resp)
{
    char url[SB_BANK_URL_MAX + SB_BANK_ID_LEN + 16];
    sb_lock(sb);
    const sb_bank_order_t *o = sb_bank_find(sb->bank, bank, order_id);
    sb_bank_result_t rc = !o    ? SB_BANK_UNKNOWN
                          : pay ? sb_bank_pay(sb->bank, order_id, sb_now_ms())
                                : sb_bank_decline(sb->bank, order_id);
    sb_bank_state_t state = o ? o->state : SB_BANK_REGISTERED;
    int url_rc = o ? sb_bank_return_url(o, pay, url, sizeof url) : -1;
    sb_unlock(sb);
    if (rc == SB_BANK_UNKNOWN) {
        s_page_error(resp, bank, 404, "No order has this id.");
        return;
    }
    if (rc != SB_BANK_OK) {
        char msg[96];
        snprintf(msg, sizeof msg, "This order is %s: it was processed already.",
                 sb_bank_state_name(state));
        s_page_error(resp, bank, 409, msg);
        return;
    }
    pm_debug("%s order %s %s on the card page", sb_bank_kind_name(bank), order_id,
             pay ? "paid" : "declined");
    if (url_rc != 0) {
        s_page_error(resp, bank, 200,
                     pay ? "Paid. The return URL is too long to follow."
                         : "Declined. The return URL is too long to follow.");
        return;
    }
    sb_resp_redirect(resp, url);
}

void sb_bank_on_rbs_page(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    const char *id = sb_req_query(req, "mdOrder");
    if (!id || !id[0] || strlen(id) > SB_BANK_ID_LEN) {
        s_page_error(resp, SB_BANK_RBS, 400, "This payment link has no order (mdOrder).");
        return;
    }
    s_page(sb, SB_BANK_RBS, id, resp);
}

/* The mdOrder of a form the RBS card page posted, or the error page
 * answered. */
static bool s_rbs_page_form(const sb_req_t *req, sb_resp_t *resp, char id[SB_BANK_ID_LEN + 1])
{
    if (sb_form_get(req->body, req->body_len, "mdOrder", id, SB_BANK_ID_LEN + 1) && id[0])
        return true;
    s_page_error(resp, SB_BANK_RBS, 400, "The form has no order (mdOrder).");
    return false;
}

void sb_bank_on_rbs_page_pay(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char id[SB_BANK_ID_LEN + 1];
    if (s_rbs_page_form(req, resp, id))
        s_page_act(sb, SB_BANK_RBS, id, true, resp);
}

void sb_bank_on_rbs_page_decline(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    char id[SB_BANK_ID_LEN + 1];
    if (s_rbs_page_form(req, resp, id))
        s_page_act(sb, SB_BANK_RBS, id, false, resp);
}

void sb_bank_on_tfeb_page(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 1);
    s_page(sb, SB_BANK_TFEB, req->caps[0], resp);
}

void sb_bank_on_tfeb_page_pay(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 1);
    s_page_act(sb, SB_BANK_TFEB, req->caps[0], true, resp);
}

void sb_bank_on_tfeb_page_decline(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 1);
    s_page_act(sb, SB_BANK_TFEB, req->caps[0], false, resp);
}

/* ---- admin handlers ------------------------------------------------------------ */

static json_object *s_order_json(const sb_bank_order_t *o)
{
    json_object *j = json_object_new_object();
    if (!j)
        return NULL;
    json_object_object_add(j, "order_id", json_object_new_string(o->order_id));
    json_object_object_add(j, "bank", json_object_new_string(sb_bank_kind_name(o->bank)));
    json_object_object_add(j, "order_number", json_object_new_string(o->order_number));
    json_object_object_add(j, "amount_minor", json_object_new_int64(o->amount_minor));
    json_object_object_add(j, "state", json_object_new_string(sb_bank_state_name(o->state)));
    json_object_object_add(j, "order_status", json_object_new_int((int)o->state));
    json_object_object_add(j, "two_phase", json_object_new_boolean(o->two_phase));
    json_object_object_add(j, "deposited_amount_minor", json_object_new_int64(o->deposited_minor));
    json_object_object_add(j, "deposits", json_object_new_int64(o->deposits));
    json_object_object_add(j, "deposit_calls", json_object_new_int64(o->deposit_calls));
    json_object_object_add(j, "reversals", json_object_new_int64(o->reversals));
    json_object_object_add(j, "reverse_calls", json_object_new_int64(o->reverse_calls));
    json_object_object_add(j, "refunds", json_object_new_int64(o->refunds));
    json_object_object_add(j, "refund_calls", json_object_new_int64(o->refund_calls));
    json_object_object_add(j, "refunded_amount_minor", json_object_new_int64(o->refunded_minor));
    json_object_object_add(j, "return_url", json_object_new_string(o->return_url));
    json_object_object_add(j, "fail_url", o->fail_url ? json_object_new_string(o->fail_url) : NULL);
    json_object_object_add(j, "created_ms", json_object_new_int64(o->created_ms));
    json_object_object_add(j, "paid_ms", o->paid_ms < 0 ? NULL : json_object_new_int64(o->paid_ms));
    return j;
}

void sb_bank_on_admin_list(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    (void)req;
    json_object *j = json_object_new_object(), *list = json_object_new_array();
    sb_lock(sb);
    size_t n = sb_bank_count(sb->bank);
    for (size_t i = n > SB_BANK_LIST_MAX ? n - SB_BANK_LIST_MAX : 0; list && i < n; i++)
        json_object_array_add(list, s_order_json(sb_bank_at(sb->bank, i)));
    sb_unlock(sb);
    if (j) {
        json_object_object_add(j, "orders", list);
        json_object_object_add(j, "count", json_object_new_int64((int64_t)n));
    } else
        json_object_put(list);
    sb_resp_json(resp, 200, &j);
}

void sb_bank_on_admin_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    assert(req->ncaps == 1);
    sb_lock(sb);
    const sb_bank_order_t *o = sb_bank_find_any(sb->bank, req->caps[0]);
    json_object *j = o ? s_order_json(o) : NULL;
    sb_unlock(sb);
    if (!o) {
        sb_resp_error(resp, 404, "no order has this id", NULL);
        return;
    }
    sb_resp_json(resp, 200, &j);
}

/* Pays or declines the order of the path: 200 with the order, 404 when
 * unknown, 409 when it is not registered. */
static void s_admin_act(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp, bool pay)
{
    assert(req->ncaps == 1);
    const char *id = req->caps[0];
    sb_lock(sb);
    sb_bank_result_t rc =
        pay ? sb_bank_pay(sb->bank, id, sb_now_ms()) : sb_bank_decline(sb->bank, id);
    const sb_bank_order_t *o = sb_bank_find_any(sb->bank, id);
    json_object *j = o && rc == SB_BANK_OK ? s_order_json(o) : NULL;
    const char *state = o ? sb_bank_state_name(o->state) : NULL;
    sb_unlock(sb);
    char msg[128];
    if (rc == SB_BANK_UNKNOWN) {
        sb_resp_error(resp, 404, "no order has this id", NULL);
        return;
    }
    if (rc != SB_BANK_OK) {
        snprintf(msg, sizeof msg, "the order is %s: only a registered one can be %s", state,
                 pay ? "paid" : "declined");
        sb_resp_error(resp, 409, msg, NULL);
        return;
    }
    pm_debug("bank order %s %s by the admin API", id, pay ? "paid" : "declined");
    sb_resp_json(resp, 200, &j);
}

void sb_bank_on_admin_pay(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    s_admin_act(sb, req, resp, true);
}

void sb_bank_on_admin_decline(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp)
{
    s_admin_act(sb, req, resp, false);
}
