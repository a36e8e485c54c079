/*  pb_bazaarpay: BazaarPay URLs, bodies, the payment URL and answer
 *  classification. */
#include "pb_bazaarpay.h"

#include <assert.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pm_text.h"

static const char *const s_kinds[PBP_CALLS] = {
    [PBP_INIT] = "bazaarpay_init",
    [PBP_TRACE] = "bazaarpay_trace",
    [PBP_COMMIT] = "bazaarpay_commit",
    [PBP_REFUND] = "bazaarpay_refund",
};

static const char *const s_paths[PBP_CALLS] = {
    [PBP_INIT] = "checkout/init/",
    [PBP_TRACE] = "trace/",
    [PBP_COMMIT] = "commit/",
    [PBP_REFUND] = "refund/",
};

/* The statuses trace/ documents (providers.md 1.6); any other is unknown. */
static const char *const s_statuses[] = {
    "invalid_token",  "unpaid",   "paid_not_committed", "paid_not_committed_refunded",
    "paid_committed", "refunded", "timed_out",
};

const char *pbp_kind(pbp_call_t call)
{
    assert(call >= PBP_INIT && call < PBP_CALLS);
    return s_kinds[call];
}

bool pbp_kind_parse(const char *kind, pbp_call_t *call)
{
    assert(kind && call);
    for (int i = 0; i < PBP_CALLS; i++) {
        if (strcmp(kind, s_kinds[i]) == 0) {
            *call = (pbp_call_t)i;
            return true;
        }
    }
    return false;
}

bool pbp_token_valid(const char *s, size_t len)
{
    if (!s || len < 1 || len > PBP_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* ---- text for reasons ----------------------------------------------------- */

/* A reason being built in a fixed buffer. Everything put in is made UTF-8
 * without control characters, because payment-core refuses a JOB_RESULT
 * whose reason is not; what does not fit is cut at a character boundary. */
typedef struct {
    char *p;
    size_t cap; /* bytes of p, > 0 */
    size_t len;
    bool cut;
} s_text_t;

static void s_text_init(s_text_t *t, char *p, size_t cap)
{
    assert(p && cap > 0);
    t->p = p;
    t->cap = cap;
    t->len = 0;
    t->cut = false;
    p[0] = '\0';
}

/* Appends s[0..n): a control character (C0, DEL, C1) becomes a space, a
 * byte that starts no well-formed sequence becomes '?'. */
static void s_text_put(s_text_t *t, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && !t->cut) {
        size_t k = pm_utf8_seq_len(u + i, n - i);
        const char *c = s + i;
        if (k == 0) {
            c = "?";
            k = 1;
        } else if ((k == 1 && (u[i] < 0x20 || u[i] == 0x7f)) ||
                   (k == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)) {
            c = " ";
        }
        size_t out = c == s + i ? k : 1;
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

static void s_text_puts(s_text_t *t, const char *s)
{
    s_text_put(t, s, strlen(s));
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

/* Sets r's outcome and a reason formatted from ASCII text and pieces that
 * went through s_text_put (so the result is always a valid reason). */
static void s_set(pbp_result_t *r, pb_outcome_t o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_set(pbp_result_t *r, pb_outcome_t o, const char *fmt, ...)
{
    char tmp[2 * PBP_REASON_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    s_text_t t;
    s_text_init(&t, r->reason, sizeof r->reason);
    s_text_put(&t, tmp, n < 0 ? 0 : (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    if ((size_t)n >= sizeof tmp)
        t.cut = true;
    s_text_end(&t);
    r->outcome = o;
}

/* ---- DRF error bodies ----------------------------------------------------- */

/* Appends the messages of one member of an error body: the string v, or the
 * strings of the array v (other elements are skipped), separated by a
 * space, after "; " when text came before and after "key: " when key is
 * not NULL. Returns whether it appended anything. */
static bool s_member(s_text_t *t, const char *key, json_object *v)
{
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
    bool wrote = false;
    for (size_t i = 0; i < n; i++) {
        json_object *m =
            json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
        if (!json_object_is_type(m, json_type_string) || json_object_get_string_len(m) <= 0)
            continue;
        if (!wrote) {
            if (t->len > 0)
                s_text_puts(t, "; ");
            if (key) {
                s_text_puts(t, key);
                s_text_puts(t, ": ");
            }
        } else {
            s_text_puts(t, " ");
        }
        s_text_put(t, json_object_get_string(m), (size_t)json_object_get_string_len(m));
        wrote = true;
    }
    return wrote;
}

int pbp_error_text(const char *body, size_t len, char *out, size_t cap)
{
    assert(out && cap > 0);
    out[0] = '\0';
    json_object *o = pb_json_object(body, len);
    if (!o)
        return -1;
    s_text_t t;
    s_text_init(&t, out, cap);
    json_object *detail;
    bool any = json_object_object_get_ex(o, "detail", &detail) && s_member(&t, NULL, detail);
    /* No readable detail: field errors, in the order BazaarPay sent them. */
    struct json_object_iterator it = json_object_iter_begin(o);
    struct json_object_iterator end = json_object_iter_end(o);
    for (; !any && !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *key = json_object_iter_peek_name(&it);
        if (strcmp(key, "detail") == 0)
            continue;
        bool non_field = strcmp(key, "non_field_errors") == 0;
        s_member(&t, non_field ? NULL : key, json_object_iter_peek_value(&it));
    }
    any = t.len > 0;
    s_text_end(&t);
    json_object_put(o);
    if (!any) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* ---- URLs and bodies ------------------------------------------------------ */

int pbp_url(char *out, size_t cap, const char *base, pbp_call_t call)
{
    assert(out && cap > 0 && base && call >= PBP_INIT && call < PBP_CALLS);
    size_t used = 0;
    out[0] = '\0';
    if (pm_text_append(out, cap, &used, base) != 0 ||
        pm_text_append(out, cap, &used, s_paths[call]) != 0)
        return -1;
    return 0;
}

/* o as compact JSON text (caller owns: free), then o is released. */
static char *s_json_text(json_object *o)
{
    const char *text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = text ? strdup(text) : NULL;
    json_object_put(o);
    return copy;
}

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

char *pbp_init_body(int64_t amount, const char *destination, const char *service_name)
{
    assert(destination && service_name);
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    if (!s_add(o, "amount", json_object_new_int64(amount)) ||
        !s_add(o, "destination", json_object_new_string(destination)) ||
        !s_add(o, "service_name", json_object_new_string(service_name))) {
        json_object_put(o);
        return NULL;
    }
    return s_json_text(o);
}

char *pbp_token_body(const char *checkout_token)
{
    assert(checkout_token);
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    if (!s_add(o, "checkout_token", json_object_new_string(checkout_token))) {
        json_object_put(o);
        return NULL;
    }
    return s_json_text(o);
}

int pbp_payment_url(char *out, size_t cap, const char *payment_url, const char *redirect_url,
                    const char *phone)
{
    assert(out && cap > 0 && payment_url && redirect_url);
    size_t used = 0;
    out[0] = '\0';
    /* Parameters belong to the query, which ends where a fragment starts. */
    const char *hash = strchr(payment_url, '#');
    size_t head = hash ? (size_t)(hash - payment_url) : strlen(payment_url);
    const char *query = memchr(payment_url, '?', head);
    const char *sep = "?";
    if (query) /* head >= 1 here */
        sep = payment_url[head - 1] == '?' || payment_url[head - 1] == '&' ? "" : "&";
    if (pm_text_appendn(out, cap, &used, payment_url, head) != 0 ||
        pm_text_append(out, cap, &used, sep) != 0 ||
        pm_text_append(out, cap, &used, "redirect_url=") != 0 ||
        pm_url_escape(out, cap, &used, redirect_url, strlen(redirect_url)) != 0)
        goto fail;
    if (phone && phone[0] &&
        (pm_text_append(out, cap, &used, "&phone=") != 0 ||
         pm_url_escape(out, cap, &used, phone, strlen(phone)) != 0))
        goto fail;
    if (hash && pm_text_append(out, cap, &used, hash) != 0)
        goto fail;
    return 0;
fail:
    out[0] = '\0';
    return -1;
}

/* ---- classification --------------------------------------------------------- */

/* An absolute http or https URL with a host, printable ASCII without spaces,
 * at most PBP_PAYMENT_URL_MAX bytes: what a user's browser may be sent to. */
static bool s_http_url(const char *s, size_t n)
{
    size_t scheme;
    if (n > PBP_PAYMENT_URL_MAX)
        return false;
    if (n > 7 && strncasecmp(s, "http://", 7) == 0)
        scheme = 7;
    else if (n > 8 && strncasecmp(s, "https://", 8) == 0)
        scheme = 8;
    else
        return false;
    if (s[scheme] == '/' || s[scheme] == '?' || s[scheme] == '#')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    return true;
}

/* A string member: its bytes and length, or NULL. Borrowed from o. */
static const char *s_str(json_object *o, const char *key, size_t *len)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

static void s_init_ok(const pbp_answer_t *a, const char *redirect_url, const char *phone,
                      pbp_result_t *r)
{
    json_object *o = pb_json_object(a->body, a->len);
    size_t tlen = 0, ulen = 0;
    const char *token = o ? s_str(o, "checkout_token", &tlen) : NULL;
    const char *url = o ? s_str(o, "payment_url", &ulen) : NULL;
    if (!token || !url)
        s_set(r, PB_UNKNOWN, "bazaarpay sent an unreadable init answer");
    else if (!pbp_token_valid(token, tlen))
        s_set(r, PB_UNKNOWN, "bazaarpay sent an init answer without a usable checkout_token");
    else if (!s_http_url(url, ulen))
        s_set(r, PB_UNKNOWN, "bazaarpay sent an init answer without a usable payment_url");
    else if (pbp_payment_url(r->payment_url, sizeof r->payment_url, url, redirect_url, phone) != 0)
        s_set(r, PB_UNKNOWN, "the payment url with redirect_url does not fit");
    else {
        memcpy(r->checkout_token, token, tlen + 1);
        s_set(r, PB_OK, "%s", "");
    }
    if (r->outcome != PB_OK)
        r->payment_url[0] = '\0';
    json_object_put(o);
}

static void s_trace_ok(const pbp_answer_t *a, pbp_result_t *r)
{
    json_object *o = pb_json_object(a->body, a->len);
    size_t len = 0;
    const char *status = o ? s_str(o, "status", &len) : NULL;
    if (!status) {
        s_set(r, PB_UNKNOWN, "bazaarpay sent an unreadable trace answer");
        goto done;
    }
    for (size_t i = 0; i < sizeof s_statuses / sizeof s_statuses[0]; i++) {
        if (strlen(s_statuses[i]) == len && memcmp(status, s_statuses[i], len) == 0) {
            memcpy(r->status, status, len + 1);
            s_set(r, PB_OK, "%s", "");
            goto done;
        }
    }
    char shown[PBP_STATUS_MAX * 2 + 1];
    s_text_t t;
    s_text_init(&t, shown, sizeof shown);
    s_text_put(&t, status, len);
    s_text_end(&t);
    s_set(r, PB_UNKNOWN, "bazaarpay sent an undocumented trace status \"%s\"", shown);
done:
    json_object_put(o);
}

/* Every answer that is not the call's success. Only BazaarPay saying no in
 * a readable way is a rejection, and never for a trace (pm_proto.h): 401
 * and 403 (our merchant token refused, whatever the body), or another 4xx
 * with a DRF error body. 408 and 429 say "not now", not "no". */
static void s_error(pbp_call_t call, const pbp_answer_t *a, pbp_result_t *r)
{
    long st = a->status;
    char text[PBP_REASON_MAX + 1];
    bool drf = pbp_error_text(a->body, a->len, text, sizeof text) == 0;
    const char *colon = drf ? ": " : "";
    if (!drf)
        text[0] = '\0';
    pb_outcome_t no = call == PBP_TRACE ? PB_UNKNOWN : PB_REJECTED;
    if (st == 401 || st == 403) {
        s_set(r, no, "bazaarpay refused our merchant token (http %ld)%s%s", st, colon, text);
        return;
    }
    if (st >= 400 && st < 500 && st != 408 && st != 429 && drf) {
        if (no == PB_REJECTED)
            s_set(r, no, "%s", text);
        else
            s_set(r, no, "bazaarpay answered http %ld: %s", st, text);
        return;
    }
    if (st >= 200 && st < 300) {
        s_set(r, PB_UNKNOWN, "bazaarpay answered http %ld, not %d", st,
              call == PBP_INIT || call == PBP_TRACE ? 200 : 204);
        return;
    }
    s_set(r, PB_UNKNOWN, "bazaarpay answered http %ld%s%s", st, colon, text);
}

void pbp_classify(pbp_call_t call, const pbp_answer_t *a, const char *redirect_url,
                  const char *phone, pbp_result_t *r)
{
    assert(a && r && call >= PBP_INIT && call < PBP_CALLS);
    assert(call != PBP_INIT || redirect_url);
    memset(r, 0, sizeof *r);
    switch (a->transport) {
    case PBP_TIMEOUT:
        s_set(r, PB_UNKNOWN, "timeout");
        return;
    case PBP_TOO_LARGE:
        s_set(r, PB_UNKNOWN, "bazaarpay answer larger than max-response-bytes");
        return;
    case PBP_NO_ANSWER:
        s_set(r, PB_UNKNOWN, "bazaarpay unreachable: %s", a->error ? a->error : "no answer");
        return;
    case PBP_ANSWERED:
        break;
    }
    if (call == PBP_INIT && a->status == 200)
        s_init_ok(a, redirect_url, phone, r);
    else if (call == PBP_TRACE && a->status == 200)
        s_trace_ok(a, r);
    else if ((call == PBP_COMMIT || call == PBP_REFUND) && a->status == 204)
        s_set(r, PB_OK, "%s", ""); /* the status says applied; a body is ignored */
    else
        s_error(call, a, r);
}
