/*  pbk_rbs: Halkbank RBS requests and answer classification. */
#include "pbk_rbs.h"

#include <assert.h>
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CONTENT_TYPE "application/x-www-form-urlencoded"
#define S_ACCEPT "application/json"
#define S_CODE_LIMIT 9999     /* largest errorCode / orderStatus read */
#define S_ACTION_LIMIT 999999 /* largest actionCode (either sign) shown */

int pbk_rbs_account_check(const pbk_rbs_account_t *acct, const char **why)
{
    assert(acct && why);
    if (!pbk_base_url_valid(acct->base_url))
        *why = "halkbank-base-url is not an http(s) URL ending with '/'";
    else if (!acct->username || !acct->username[0] ||
             strlen(acct->username) > PBK_RBS_CREDENTIAL_MAX)
        *why = "rbs-username is empty or longer than 128 bytes";
    else if (!acct->password || !acct->password[0] ||
             strlen(acct->password) > PBK_RBS_CREDENTIAL_MAX)
        *why = "rbs-password is empty or longer than 128 bytes";
    else
        return 0;
    return -1;
}

const char *pbk_rbs_method(pbk_call_t call, bool two_phase)
{
    switch (call) {
    case PBK_REGISTER:
        return two_phase ? "registerPreAuth.do" : "register.do";
    case PBK_STATUS:
        return "getOrderStatusExtended.do";
    case PBK_DEPOSIT:
        return "deposit.do";
    case PBK_REVERSE:
        return "reverse.do";
    case PBK_REFUND:
        break;
    }
    assert(call == PBK_REFUND);
    return "refund.do";
}

/* ---- requests ------------------------------------------------------------ */

/* Starts req: the URL of the call and a form with the credentials in f.
 * Returns 0, or -1 with *why. */
static int s_begin(const pbk_rbs_account_t *acct, pbk_call_t call, bool two_phase,
                   pbk_request_t *req, pbk_form_t *f, const char **why)
{
    assert(acct && req && f && why);
    memset(req, 0, sizeof *req);
    memset(f, 0, sizeof *f);
    if (pbk_rbs_account_check(acct, why) != 0)
        return -1;
    size_t used = 0;
    if (pm_text_append(req->url, sizeof req->url, &used, acct->base_url) != 0 ||
        pm_text_append(req->url, sizeof req->url, &used, pbk_rbs_method(call, two_phase)) != 0) {
        *why = "the request URL does not fit";
        return -1;
    }
    req->post = true;
    req->content_type = S_CONTENT_TYPE;
    req->accept = S_ACCEPT;
    pbk_form_add(f, "userName", acct->username);
    pbk_form_add(f, "password", acct->password);
    return 0;
}

/* Ends req with the body in f. Returns 0, or -1 with *why (req emptied). */
static int s_end(pbk_request_t *req, pbk_form_t *f, const char **why)
{
    req->body = pbk_form_take(f);
    if (!req->body) {
        pbk_request_clear(req);
        *why = "out of memory building the request";
        return -1;
    }
    return 0;
}

static bool s_order_id_ok(const char *order_id, const char **why)
{
    if (order_id && pbk_order_id_valid(order_id, strlen(order_id)))
        return true;
    *why = "order_id is not 1..64 of [A-Za-z0-9_-]";
    return false;
}

static bool s_amount_ok(int64_t amount_minor, const char **why)
{
    if (amount_minor >= 1 && amount_minor <= PBK_AMOUNT_MAX)
        return true;
    *why = "amount_minor is out of range";
    return false;
}

int pbk_rbs_register(const pbk_rbs_account_t *acct, const pbk_order_t *order, pbk_request_t *req,
                     const char **why)
{
    assert(order);
    pbk_form_t f;
    if (s_begin(acct, PBK_REGISTER, order->two_phase, req, &f, why) != 0)
        return -1;
    if (pbk_order_check(order, why) != 0) {
        free(pbk_form_take(&f));
        pbk_request_clear(req);
        return -1;
    }
    pbk_form_add(&f, "orderNumber", order->order_number);
    pbk_form_add_int(&f, "amount", order->amount_minor);
    pbk_form_add(&f, "currency", order->currency);
    pbk_form_add(&f, "returnUrl", order->return_url);
    if (order->fail_url)
        pbk_form_add(&f, "failUrl", order->fail_url);
    if (order->description)
        pbk_form_add(&f, "description", order->description);
    if (order->language)
        pbk_form_add(&f, "language", order->language);
    return s_end(req, &f, why);
}

/* A call on one order: orderId, and amount when with_amount. */
static int s_order_call(const pbk_rbs_account_t *acct, pbk_call_t call, const char *order_id,
                        bool with_amount, int64_t amount_minor, pbk_request_t *req,
                        const char **why)
{
    pbk_form_t f;
    if (s_begin(acct, call, false, req, &f, why) != 0)
        return -1;
    if (!s_order_id_ok(order_id, why) || (with_amount && !s_amount_ok(amount_minor, why))) {
        free(pbk_form_take(&f));
        pbk_request_clear(req);
        return -1;
    }
    pbk_form_add(&f, "orderId", order_id);
    if (with_amount)
        pbk_form_add_int(&f, "amount", amount_minor);
    return s_end(req, &f, why);
}

int pbk_rbs_status(const pbk_rbs_account_t *acct, const char *order_id, pbk_request_t *req,
                   const char **why)
{
    return s_order_call(acct, PBK_STATUS, order_id, false, 0, req, why);
}

int pbk_rbs_status_by_number(const pbk_rbs_account_t *acct, const char *order_number,
                             pbk_request_t *req, const char **why)
{
    pbk_form_t f;
    if (s_begin(acct, PBK_STATUS, false, req, &f, why) != 0)
        return -1;
    if (!order_number || !pbk_order_number_valid(order_number, strlen(order_number))) {
        *why = "order_number is not 1..32 of [A-Za-z0-9_-]";
        free(pbk_form_take(&f));
        pbk_request_clear(req);
        return -1;
    }
    pbk_form_add(&f, "orderNumber", order_number);
    return s_end(req, &f, why);
}

int pbk_rbs_deposit(const pbk_rbs_account_t *acct, const char *order_id, int64_t amount_minor,
                    pbk_request_t *req, const char **why)
{
    return s_order_call(acct, PBK_DEPOSIT, order_id, true, amount_minor, req, why);
}

int pbk_rbs_reverse(const pbk_rbs_account_t *acct, const char *order_id, pbk_request_t *req,
                    const char **why)
{
    return s_order_call(acct, PBK_REVERSE, order_id, false, 0, req, why);
}

int pbk_rbs_refund(const pbk_rbs_account_t *acct, const char *order_id, int64_t amount_minor,
                   pbk_request_t *req, const char **why)
{
    return s_order_call(acct, PBK_REFUND, order_id, true, amount_minor, req, why);
}

/* ---- answers ---------------------------------------------------------------- */

/* A small non-negative integer member, sent as a JSON integer or as a
 * string of 1..4 decimal digits: 1 and *out set; 0 when absent; -1 when
 * present in any other form (null, a double, a sign, spaces, too large). */
static int s_code(json_object *o, const char *key, int *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        return 0;
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        if (n < 0 || n > S_CODE_LIMIT)
            return -1;
        *out = (int)n;
        return 1;
    }
    if (!json_object_is_type(v, json_type_string))
        return -1;
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len < 1 || len > 4)
        return -1;
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    *out = n;
    return 1;
}

/* An amount member: a JSON integer 0..PBK_AMOUNT_MAX: 1 and *out set; 0
 * when absent; -1 in any other form. */
static int s_amount(json_object *o, const char *key, int64_t *out)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return -1;
    int64_t n = json_object_get_int64(v);
    if (n < 0 || n > PBK_AMOUNT_MAX)
        return -1;
    *out = n;
    return 1;
}

/* True when needle occurs in s[0..len), ASCII letters compared without
 * case (other bytes, such as UTF-8 Cyrillic, exactly). */
static bool s_has(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++) {
        size_t j = 0;
        while (j < n && tolower((unsigned char)s[i + j]) == tolower((unsigned char)needle[j]))
            j++;
        if (j == n)
            return true;
    }
    return false;
}

static bool s_has_any(const char *s, size_t len, const char *const *needles)
{
    for (; *needles; needles++)
        if (s_has(s, len, *needles))
            return true;
    return false;
}

/* errorCode 5 about our account: "Access denied", "User must change his
 * password", "Доступ запрещён", "Пользователь должен сменить пароль". */
static bool s_credentials_message(const char *msg, size_t len)
{
    static const char *const words[] = {
        "access", "denied", "password", "доступ", "Доступ",
        "ДОСТУП", "парол",  "Парол",    "ПАРОЛ",  NULL,
    };
    return s_has_any(msg, len, words);
}

/* errorCode 7 about the order's state: "Payment must be in the correct
 * state", "Платёж должен быть в корректном состоянии", "Operation is
 * impossible for the current payment state"; never one that also speaks of
 * a system or internal error. */
static bool s_state_message(const char *msg, size_t len)
{
    static const char *const state[] = {"state", "состояни", "Состояни", "СОСТОЯНИ", NULL};
    static const char *const system[] = {"system", "internal", "систем", "Систем", "СИСТЕМ", NULL};
    return s_has_any(msg, len, state) && !s_has_any(msg, len, system);
}

/* The parts of an answer every call reads. */
typedef struct {
    json_object *o;  /* the whole answer, owned */
    int error_code;  /* 0 when absent */
    const char *msg; /* errorMessage, "" when absent; borrowed from o */
    size_t msg_len;
    char shown[PBK_REASON_MAX + 1]; /* msg as reason text, cut */
} s_answer_t;

/* Reads what every call needs: an HTTP 200 whose body is one JSON object
 * with a readable (or no) errorCode, and its errorMessage. Returns 0 with
 * ans filled (ans->o owned by the caller) and r->code set, or -1 with r
 * set unknown (nothing to release). */
static int s_read(const pbk_answer_t *a, s_answer_t *ans, pbk_result_t *r)
{
    memset(ans, 0, sizeof *ans);
    ans->msg = "";
    switch (a->transport) {
    case PBK_TIMEOUT:
        pbk_result_set(r, PBK_UNKNOWN, "timeout");
        return -1;
    case PBK_TOO_LARGE:
        pbk_result_set(r, PBK_UNKNOWN, "halkbank answer larger than max-response-bytes");
        return -1;
    case PBK_NO_ANSWER:
        pbk_result_set(r, PBK_UNKNOWN, "halkbank unreachable: %s",
                       a->error ? a->error : "no answer");
        return -1;
    case PBK_ANSWERED:
        break;
    }
    if (a->status != 200) {
        /* Business errors come with 200; anything else is the web server
         * or a proxy talking (a 5xx page, a 404 for a wrong base URL). */
        pbk_result_set(r, PBK_UNKNOWN, "halkbank answered http %ld", a->status);
        return -1;
    }
    ans->o = pbk_json_object(a->body, a->len);
    if (!ans->o) {
        pbk_result_set(r, PBK_UNKNOWN, "halkbank sent an answer that is no JSON object");
        return -1;
    }
    if (s_code(ans->o, "errorCode", &ans->error_code) < 0) {
        pbk_result_set(r, PBK_UNKNOWN, "halkbank sent an errorCode we cannot read");
        json_object_put(ans->o);
        ans->o = NULL;
        return -1;
    }
    size_t len = 0;
    const char *msg = pbk_json_str(ans->o, "errorMessage", &len);
    if (msg) {
        ans->msg = msg;
        ans->msg_len = len;
    }
    pbk_text_copy(ans->shown, sizeof ans->shown, ans->msg, ans->msg_len);
    snprintf(r->code, sizeof r->code, "errorCode %d", ans->error_code);
    return 0;
}

/* The reason "errorCode N: message", or with what in front
 * "what (errorCode N: message)"; without ": message" when there is none. */
static void s_code_reason(pbk_result_t *r, pbk_outcome_t o, const char *what, const s_answer_t *ans)
{
    const char *colon = ans->shown[0] ? ": " : "";
    if (what)
        pbk_result_set(r, o, "%s (errorCode %d%s%s)", what, ans->error_code, colon, ans->shown);
    else
        pbk_result_set(r, o, "errorCode %d%s%s", ans->error_code, colon, ans->shown);
}

static void s_credentials(pbk_result_t *r, pbk_outcome_t o, const s_answer_t *ans)
{
    r->auth_failed = true;
    s_code_reason(r, o, "halkbank refused our credentials", ans);
}

static void s_register(const s_answer_t *ans, pbk_result_t *r)
{
    size_t id_len = 0, url_len = 0;
    const char *id, *url;
    switch (ans->error_code) {
    case 0:
        id = pbk_json_str(ans->o, "orderId", &id_len);
        url = pbk_json_str(ans->o, "formUrl", &url_len);
        if (!id || !pbk_order_id_valid(id, id_len))
            pbk_result_set(r, PBK_UNKNOWN,
                           "halkbank registered the order without a usable orderId");
        else if (!url || !pbk_http_url_valid(url, url_len, PBK_CHECKOUT_URL_MAX))
            pbk_result_set(r, PBK_UNKNOWN,
                           "halkbank registered the order without a usable formUrl");
        else {
            memcpy(r->order_id, id, id_len + 1);
            memcpy(r->checkout_url, url, url_len + 1);
            pbk_result_set(r, PBK_OK, "%s", "");
        }
        return;
    case 1:
        pbk_result_set(r, PBK_REJECTED, "duplicate_order_number");
        return;
    case 3:
    case 4:
        s_code_reason(r, PBK_REJECTED, NULL, ans);
        return;
    case 5:
        if (s_credentials_message(ans->msg, ans->msg_len))
            s_credentials(r, PBK_REJECTED, ans);
        else
            s_code_reason(r, PBK_REJECTED, NULL, ans);
        return;
    case 7:
        s_code_reason(r, PBK_UNKNOWN, "halkbank system error", ans);
        return;
    default:
        s_code_reason(r, PBK_UNKNOWN, "halkbank answered an undocumented code", ans);
        return;
    }
}

static const pbk_state_t s_order_states[] = {
    PBK_STATE_REGISTERED, PBK_STATE_PREAUTHORIZED, PBK_STATE_PAID,     PBK_STATE_REVERSED,
    PBK_STATE_REFUNDED,   PBK_STATE_PENDING,       PBK_STATE_DECLINED, PBK_STATE_PENDING,
};

static void s_status_ok(const s_answer_t *ans, pbk_result_t *r)
{
    int order_status = 0;
    int has = s_code(ans->o, "orderStatus", &order_status);
    if (has <= 0) {
        pbk_result_set(r, PBK_UNKNOWN, "halkbank sent a status answer %s orderStatus",
                       has == 0 ? "without" : "with an unreadable");
        return;
    }
    if ((size_t)order_status >= sizeof s_order_states / sizeof s_order_states[0]) {
        pbk_result_set(r, PBK_UNKNOWN, "halkbank sent an undocumented orderStatus %d",
                       order_status);
        return;
    }
    pbk_state_t state = s_order_states[order_status];
    json_object *info = pbk_json_obj(ans->o, "paymentAmountInfo");
    int64_t amount = 0, part = 0, refunded = 0;
    int has_amount = s_amount(ans->o, "amount", &amount);
    int has_part = state == PBK_STATE_PAID            ? s_amount(info, "depositedAmount", &part)
                   : state == PBK_STATE_PREAUTHORIZED ? s_amount(info, "approvedAmount", &part)
                                                      : 0;
    int has_refunded = s_amount(info, "refundedAmount", &refunded);
    if (has_amount < 0 || has_part < 0 || has_refunded < 0) {
        pbk_result_set(r, PBK_UNKNOWN, "halkbank sent a status answer with an unreadable amount");
        return;
    }
    r->state = state;
    r->has_amount = has_amount > 0 || has_part > 0;
    r->amount_minor = has_part > 0 ? part : amount;
    r->has_refunded = has_refunded > 0;
    r->refunded_minor = refunded;
    json_object *v;
    if (json_object_object_get_ex(ans->o, "actionCode", &v) &&
        json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= -S_ACTION_LIMIT &&
        json_object_get_int64(v) <= S_ACTION_LIMIT) /* RBS action codes may be negative */
        snprintf(r->code, sizeof r->code, "orderStatus %d, actionCode %d", order_status,
                 (int)json_object_get_int64(v));
    else
        snprintf(r->code, sizeof r->code, "orderStatus %d", order_status);
    pbk_result_set(r, PBK_OK, "%s", "");
}

static void s_status(const s_answer_t *ans, pbk_result_t *r)
{
    switch (ans->error_code) {
    case 0:
        s_status_ok(ans, r);
        return;
    case 6:
        r->state = PBK_STATE_NOT_FOUND;
        pbk_result_set(r, PBK_OK, "%s", "");
        return;
    case 5:
        if (s_credentials_message(ans->msg, ans->msg_len))
            s_credentials(r, PBK_UNKNOWN, ans);
        else
            s_code_reason(r, PBK_UNKNOWN, "halkbank gave no status", ans);
        return;
    case 7:
        s_code_reason(r, PBK_UNKNOWN, "halkbank system error", ans);
        return;
    default:
        s_code_reason(r, PBK_UNKNOWN, "halkbank gave no status", ans);
        return;
    }
}

/* deposit.do, reverse.do, refund.do. */
static void s_order_op(const s_answer_t *ans, pbk_result_t *r)
{
    switch (ans->error_code) {
    case 0:
        pbk_result_set(r, PBK_OK, "%s", "");
        return;
    case 5:
        if (s_credentials_message(ans->msg, ans->msg_len))
            s_credentials(r, PBK_UNKNOWN, ans);
        else
            s_code_reason(r, PBK_REJECTED, NULL, ans);
        return;
    case 6:
        pbk_result_set(r, PBK_REJECTED, "unknown_order");
        return;
    case 7:
        if (s_state_message(ans->msg, ans->msg_len))
            pbk_result_set(r, PBK_REJECTED, "wrong_state");
        else
            s_code_reason(r, PBK_UNKNOWN, "halkbank system error or refusal", ans);
        return;
    default:
        s_code_reason(r, PBK_UNKNOWN, "halkbank answered an undocumented code", ans);
        return;
    }
}

void pbk_rbs_classify(pbk_call_t call, const pbk_answer_t *a, pbk_result_t *r)
{
    assert(a && r && call >= PBK_REGISTER && call < PBK_CALLS);
    pbk_result_reset(r);
    s_answer_t ans;
    if (s_read(a, &ans, r) != 0)
        return;
    if (call == PBK_REGISTER)
        s_register(&ans, r);
    else if (call == PBK_STATUS)
        s_status(&ans, r);
    else
        s_order_op(&ans, r);
    json_object_put(ans.o);
}
