/*  pm-chaos: the load generator of `make chaos` (tests/chaos/README.md).
 *
 *  Many concurrent clients, one thread each, drive every API family of the
 *  gateway the way real apps do, while tests/chaos/chaos.sh SIGKILLs and
 *  restarts daemons and the sandbox injects provider faults:
 *
 *    core     create, edit, cancel, accept of payments (seed 001); some to a
 *             bank method (halk-card, tfeb-card): accept, wait for the bank
 *             order in retrieve, pay (or decline) it at the sandbox, wait for
 *             the final status
 *    store    open a purchase, buy it at the sandbox, redeem the token (000)
 *    bazaarpay  open a checkout, pay (or cancel) it at the sandbox, confirm,
 *             sometimes refund with a service token (002/003)
 *    orders   gen-reg-no, checkout-sale-order-inv, register, pay (or
 *             decline) at the sandbox, validate (004)
 *
 *  A failed call (no answer, 503, 409 "in flight" for keyed writes) is sent
 *  again, the same request with the same idempotency token, a bounded number
 *  of times with backoff, as an app would. Some acknowledged idempotent
 *  writes are replayed once, and both answers are logged: the checker
 *  (tests/chaos/check.sh) compares them.
 *
 *  Every request and its answer is one JSON line of --log:
 *    {"client","seq","flow","call","attempt","replay_of","t_start_ms","t_end_ms",
 *     "target":"gw"|"sandbox","family","op","method","path",
 *     "idempotency_key","req","status","resp","curl_error"}
 *  status is 0 when no answer came; req and resp are JSON when they parse,
 *  else strings.
 *
 *      pm-chaos --base URL --sandbox URL --tokens FILE --log FILE
 *               [--seconds N] [--clients N] [--seed N] [--package NAME]
 *
 *  --tokens holds one "ROLE PRINCIPAL TOKEN" a line: one recipient (who owns
 *  the methods card-1, halk-card, tfeb-card), one service, and a client line
 *  per client (more clients than lines reuse them). Everything is seeded by
 *  --seed (the mix, the amounts, the idempotency tokens), per client, so a
 *  seed repeats the same requests in the same order per client; the timing,
 *  and so the interleaving with the kills, is the machine's.
 *
 *  Prints one JSON line of totals at the end; exits 0 unless it could not
 *  run (bad arguments, no log file).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#define S_MAX_CLIENTS 64
#define S_MAX_BODY (1024 * 1024)
#define S_MAX_ATTEMPTS 7       /* a failed call is sent at most this often */
#define S_BACKOFF_FIRST_MS 200 /* then doubling, with jitter */
#define S_BACKOFF_CAP_MS 2000
#define S_CURL_TIMEOUT_MS 10000 /* every request is bounded */
#define S_CONNECT_TIMEOUT_MS 2000
#define S_POLL_MS 300         /* polls of retrieve, confirm, validate */
#define S_BANK_WAIT_MS 15000  /* waiting for a bank order or final state */
#define S_FLOW_GRACE_MS 30000 /* a flow still running this long after the end is cut */

typedef struct {
    const char *base;
    const char *sandbox;
    const char *tokens_path;
    const char *log_path;
    const char *package;
    int seconds;
    int clients;
    uint64_t seed;
} s_cfg_t;

typedef struct {
    char principal[64];
    char token[160];
} s_who_t;

static s_cfg_t s_cfg;
static s_who_t s_recipient, s_service;
static s_who_t s_users[S_MAX_CLIENTS];
static int s_nusers;
static FILE *s_log;
static pthread_mutex_t s_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t s_end_ms;
static volatile sig_atomic_t s_stop;

typedef struct {
    int id;
    uint64_t rng;
    CURL *curl;
    const s_who_t *me;
    uint64_t seq;
    uint64_t calls; /* every call (its attempts share the number) */
    uint64_t flows;
    char flow[48];
    uint64_t requests, answered, acked;
} s_client_t;

typedef struct {
    long status; /* 0: no answer */
    char *body;  /* owned */
    size_t len;
    json_object *json; /* owned; NULL when the body is not JSON */
    int curl_err;
    uint64_t seq;
} s_resp_t;

typedef struct {
    char *data;
    size_t len;
} s_buf_t;

/* --- small helpers ---------------------------------------------------------- */

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* splitmix64: one deterministic stream per client. */
static uint64_t s_rand(s_client_t *c)
{
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A number in [0, n). */
static int s_pick(s_client_t *c, int n)
{
    return (int)(s_rand(c) % (uint64_t)n);
}

static bool s_chance(s_client_t *c, int percent)
{
    return s_pick(c, 100) < percent;
}

/* A UUID4-shaped idempotency token from the client's stream (repeatable). */
static void s_uuid(s_client_t *c, char out[37])
{
    uint64_t a = s_rand(c), b = s_rand(c);
    a = (a & ~0xf000ULL) | 0x4000ULL;
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    snprintf(out, 37, "%08" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
             (uint32_t)(a >> 32), (uint32_t)((a >> 16) & 0xffff), (uint32_t)(a & 0xffff),
             (uint32_t)(b >> 48), (uint64_t)(b & 0xffffffffffffULL));
}

/* Minor units as "N.NN". */
static void s_amount(int64_t minor, char *out, size_t n)
{
    snprintf(out, n, "%" PRId64 ".%02" PRId64, minor / 100, minor % 100);
}

static bool s_past_end(void)
{
    return s_stop || s_now_ms() >= s_end_ms;
}

static bool s_cut(void)
{
    return s_now_ms() >= s_end_ms + S_FLOW_GRACE_MS;
}

static const char *s_str(json_object *o, const char *path1, const char *path2)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, path1, &v))
        return NULL;
    if (path2 && !json_object_object_get_ex(v, path2, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int64_t s_int(json_object *o, const char *key, int64_t dflt)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return dflt;
    return json_object_get_int64(v);
}

/* --- HTTP ------------------------------------------------------------------- */

static size_t s_write_cb(char *p, size_t size, size_t n, void *ud)
{
    s_buf_t *b = ud;
    size_t k = size * n;
    if (b->len + k > S_MAX_BODY)
        return 0; /* a body that large is an error of its own: curl reports it */
    char *d = realloc(b->data, b->len + k + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, k);
    b->len += k;
    d[b->len] = '\0';
    b->data = d;
    return k;
}

static void s_resp_free(s_resp_t *r)
{
    free(r->body);
    if (r->json)
        json_object_put(r->json);
    memset(r, 0, sizeof *r);
}

static bool s_2xx(const s_resp_t *r)
{
    return r->status >= 200 && r->status < 300;
}

/* A 2xx's string field into out (cap bytes); frees r. False when the answer
 * was no 2xx or lacks the field. */
static bool s_take(s_resp_t *r, const char *key, char *out, size_t cap)
{
    const char *v = s_str(r->json, key, NULL);
    bool ok = s_2xx(r) && v;
    if (ok)
        snprintf(out, cap, "%s", v);
    s_resp_free(r);
    return ok;
}

/* One request, logged. target is "gw" or "sandbox"; token may be NULL; body
 * (borrowed) may be NULL for a GET. */
static void s_http(s_client_t *c, const char *target, const char *token, const char *family,
                   const char *op, const char *method, const char *path, const char *key,
                   json_object *body, int attempt, uint64_t replay_of, s_resp_t *r)
{
    memset(r, 0, sizeof *r);
    char url[2048];
    snprintf(url, sizeof url, "%s%s", strcmp(target, "gw") == 0 ? s_cfg.base : s_cfg.sandbox, path);
    const char *text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL;
    s_buf_t buf = {NULL, 0};
    struct curl_slist *h = NULL;
    char th[256];
    if (token) {
        snprintf(th, sizeof th, "x_auth_token: %s", token);
        h = curl_slist_append(h, th);
    }
    if (text)
        h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    CURL *e = c->curl;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)S_CURL_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)S_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &buf);
    if (text) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    }
    int64_t t0 = s_now_ms();
    CURLcode rc = curl_easy_perform(e);
    int64_t t1 = s_now_ms();
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    r->status = status;
    r->curl_err = (int)rc;
    r->body = buf.data;
    r->len = buf.len;
    if (rc == CURLE_OK && buf.len > 0) {
        json_tokener *tk = json_tokener_new();
        json_object *j = json_tokener_parse_ex(tk, buf.data, (int)buf.len);
        if (j && json_tokener_get_error(tk) == json_tokener_success)
            r->json = j;
        else if (j)
            json_object_put(j);
        json_tokener_free(tk);
    }
    c->requests++;
    if (status)
        c->answered++;
    if (s_2xx(r))
        c->acked++;

    if (attempt == 1)
        c->calls++; /* attempts of one call share its number */
    json_object *line = json_object_new_object();
    r->seq = ++c->seq;
    json_object_object_add(line, "client", json_object_new_int(c->id));
    json_object_object_add(line, "seq", json_object_new_int64((int64_t)r->seq));
    json_object_object_add(line, "flow", json_object_new_string(c->flow));
    json_object_object_add(line, "call", json_object_new_int64((int64_t)c->calls));
    json_object_object_add(line, "attempt", json_object_new_int(attempt));
    json_object_object_add(line, "replay_of",
                           replay_of ? json_object_new_int64((int64_t)replay_of) : NULL);
    json_object_object_add(line, "t_start_ms", json_object_new_int64(t0));
    json_object_object_add(line, "t_end_ms", json_object_new_int64(t1));
    json_object_object_add(line, "target", json_object_new_string(target));
    json_object_object_add(line, "family", json_object_new_string(family));
    json_object_object_add(line, "op", json_object_new_string(op));
    json_object_object_add(line, "method", json_object_new_string(method));
    json_object_object_add(line, "path", json_object_new_string(path));
    json_object_object_add(
        line, "principal",
        token ? json_object_new_string(token == s_recipient.token ? s_recipient.principal
                                       : token == s_service.token ? s_service.principal
                                                                  : c->me->principal)
              : NULL);
    json_object_object_add(line, "idempotency_key", key ? json_object_new_string(key) : NULL);
    json_object_object_add(line, "req", body ? json_object_get(body) : NULL);
    json_object_object_add(line, "status", json_object_new_int((int)status));
    if (r->json)
        json_object_object_add(line, "resp", json_object_get(r->json));
    else
        json_object_object_add(line, "resp",
                               r->body ? json_object_new_string_len(r->body, (int)r->len) : NULL);
    json_object_object_add(line, "curl_error",
                           rc == CURLE_OK ? NULL : json_object_new_string(curl_easy_strerror(rc)));
    const char *out = json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN);
    pthread_mutex_lock(&s_log_lock);
    fputs(out, s_log);
    fputc('\n', s_log);
    pthread_mutex_unlock(&s_log_lock);
    json_object_put(line);
}

/* Worth sending again: no answer, a clean 503, and for keyed writes a 409
 * (the first attempt still in flight). */
static bool s_retryable(const s_resp_t *r, bool retry_409)
{
    return r->status == 0 || r->status == 503 || (retry_409 && r->status == 409);
}

/* A call as an app makes it: sent again after a failure, the same request,
 * at most S_MAX_ATTEMPTS times. The last answer is in *r. */
static void s_call(s_client_t *c, const char *target, const char *token, const char *family,
                   const char *op, const char *method, const char *path, const char *key,
                   json_object *body, bool retry_409, s_resp_t *r)
{
    int wait = S_BACKOFF_FIRST_MS;
    for (int attempt = 1;; attempt++) {
        s_http(c, target, token, family, op, method, path, key, body, attempt, 0, r);
        if (!s_retryable(r, retry_409) || attempt >= S_MAX_ATTEMPTS || s_cut())
            return;
        s_resp_free(r);
        s_sleep_ms(wait / 2 + s_pick(c, wait / 2 + 1));
        wait = wait * 2 > S_BACKOFF_CAP_MS ? S_BACKOFF_CAP_MS : wait * 2;
    }
}

/* The same request once more, logged as a replay of the acknowledged one. */
static void s_replay(s_client_t *c, const char *target, const char *token, const char *family,
                     const char *op, const char *method, const char *path, const char *key,
                     json_object *body, const s_resp_t *first)
{
    s_resp_t r;
    s_http(c, target, token, family, op, method, path, key, body, 1, first->seq, &r);
    s_resp_free(&r);
}

static json_object *s_obj(void)
{
    return json_object_new_object();
}

static void s_set(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

/* --- core payments (seed 001) ------------------------------------------------- */

static json_object *s_money(const char *method, const char *currency, int64_t minor)
{
    char amt[32];
    s_amount(minor, amt, sizeof amt);
    json_object *m = s_obj();
    s_set(m, "method_id", method);
    s_set(m, "currency", currency);
    s_set(m, "amount", amt);
    return m;
}

/* A keyed core write: a new idempotency token; replayed sometimes once it
 * was acknowledged. Returns the last answer in *r. */
static void s_core_write(s_client_t *c, const char *token, const char *op, const char *path,
                         json_object *body, s_resp_t *r)
{
    char key[37];
    s_uuid(c, key);
    json_object_object_add(body, "idempotency_token", json_object_new_string(key));
    s_call(c, "gw", token, "core", op, "POST", path, key, body, true, r);
    if (s_2xx(r) && s_chance(c, 25))
        s_replay(c, "gw", token, "core", op, "POST", path, key, body, r);
}

/* retrieve until pred holds or the wait is over: returns the answer (caller
 * frees) or a zeroed one. */
static const char *s_bank_order(json_object *j)
{
    json_object *p = NULL, *b = NULL, *o = NULL;
    if (!j || !json_object_object_get_ex(j, "payment", &p) ||
        !json_object_object_get_ex(p, "bank", &b) || !json_object_object_get_ex(b, "order_id", &o))
        return NULL;
    return json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

static void s_flow_core(s_client_t *c, bool bank)
{
    const char *method = "card-1", *currency = s_chance(c, 50) ? "USD" : "EUR";
    if (bank) {
        method = s_chance(c, 50) ? "halk-card" : "tfeb-card";
        currency = "TMT";
    }
    int64_t minor = 100 + s_pick(c, 99900);
    json_object *body = s_obj();
    json_object_object_add(body, "money_info", s_money(method, currency, minor));
    json_object *rc = s_obj(), *sd = s_obj();
    s_set(rc, "recipcient_id", s_recipient.principal);
    s_set(sd, "sender_id", c->me->principal);
    json_object_object_add(body, "recipcient", rc);
    json_object_object_add(body, "sender", sd);
    s_resp_t r;
    s_core_write(c, c->me->token, "create", "/api/v1/payment/create", body, &r);
    json_object_put(body);
    const char *id = s_str(r.json, "transaction_id", NULL);
    if (!s_2xx(&r) || !id) {
        s_resp_free(&r);
        return;
    }
    char txid[64], path[160];
    snprintf(txid, sizeof txid, "%s", id);
    s_resp_free(&r);

    if (s_chance(c, 30)) { /* edit while created */
        snprintf(path, sizeof path, "/api/v1/payment/%s/edit", txid);
        body = s_obj();
        json_object_object_add(body, "money_info",
                               s_money(method, currency, 100 + s_pick(c, 9900)));
        s_core_write(c, c->me->token, "edit", path, body, &r);
        json_object_put(body);
        bool ok = s_2xx(&r);
        s_resp_free(&r);
        if (!ok)
            return;
    }
    int what = s_pick(c, 100);
    if (!bank && what < 25) { /* the sender cancels */
        snprintf(path, sizeof path, "/api/v1/payment/%s/cancel", txid);
        body = s_obj();
        s_set(body, "reason", s_chance(c, 50) ? "requested_by_sender" : "duplicate");
        s_core_write(c, c->me->token, "cancel", path, body, &r);
        json_object_put(body);
        s_resp_free(&r);
        return;
    }
    if (!bank && what >= 85)
        return; /* left created */
    snprintf(path, sizeof path, "/api/v1/payment/%s/accept", txid);
    body = s_obj();
    if (s_chance(c, 30)) {
        json_object *ai = s_obj();
        s_set(ai, "note", "chaos");
        json_object_object_add(body, "accept_info", ai);
    }
    s_core_write(c, s_recipient.token, "accept", path, body, &r);
    json_object_put(body);
    bool ok = s_2xx(&r);
    s_resp_free(&r);
    if (!ok)
        return;
    if (!bank) {
        int after = s_pick(c, 100);
        if (after < 15) {
            snprintf(path, sizeof path, "/api/v1/payment/%s/cancel", txid);
            body = s_obj();
            s_core_write(c, c->me->token, "cancel", path, body, &r);
            json_object_put(body);
            s_resp_free(&r);
        } else if (after < 25) {
            snprintf(path, sizeof path, "/api/v1/payment/%s/edit", txid);
            body = s_obj();
            json_object_object_add(body, "money_info",
                                   s_money(method, currency, 100 + s_pick(c, 9900)));
            s_core_write(c, c->me->token, "edit", path, body, &r);
            json_object_put(body);
            s_resp_free(&r);
        }
        return;
    }
    /* The bank leg: wait for the order in retrieve, pay it at the bank. */
    snprintf(path, sizeof path, "/api/v1/payment/%s/retrieve", txid);
    char order[128] = "";
    int64_t until = s_now_ms() + S_BANK_WAIT_MS;
    while (!order[0] && s_now_ms() < until && !s_cut()) {
        s_http(c, "gw", c->me->token, "core", "retrieve", "GET", path, NULL, NULL, 1, 0, &r);
        const char *o = s_bank_order(r.json);
        if (o)
            snprintf(order, sizeof order, "%s", o);
        s_resp_free(&r);
        if (!order[0])
            s_sleep_ms(S_POLL_MS);
    }
    if (!order[0])
        return;
    char sp[256];
    bool pay = s_chance(c, 85);
    snprintf(sp, sizeof sp, "/sandbox/bank/orders/%s/%s", order, pay ? "pay" : "decline");
    s_call(c, "sandbox", NULL, "core", pay ? "bank_pay" : "bank_decline", "POST", sp, order, NULL,
           false, &r);
    s_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/payment/%s/retrieve/status", txid);
    until = s_now_ms() + S_BANK_WAIT_MS;
    while (s_now_ms() < until && !s_cut()) {
        s_http(c, "gw", c->me->token, "core", "status", "GET", path, NULL, NULL, 1, 0, &r);
        const char *st = s_str(r.json, "payment_status", NULL);
        bool done = st && (strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0);
        s_resp_free(&r);
        if (done)
            break;
        s_sleep_ms(S_POLL_MS * 2);
    }
}

/* --- store purchases (seed 000) --------------------------------------------- */

/* The package a flow sells: the coin package, or (a quarter of the time)
 * the time package, so that subscriptions are credited and reversed too. */
static const char *s_sku(s_client_t *c)
{
    return s_chance(c, 25) ? "days_30" : "coins_100";
}

static bool s_open_purchase(s_client_t *c, const char *sku, char serial[32])
{
    json_object *body = s_obj();
    s_set(body, "serial_number", sku);
    s_resp_t r;
    s_call(c, "gw", c->me->token, "store", "purchase", "POST", "/finance/purchase", NULL, body,
           false, &r);
    json_object_put(body);
    return s_take(&r, "serial_number", serial, 32);
}

static void s_redeem(s_client_t *c, const char *serial, const char *ptoken, bool replay,
                     const char *op)
{
    json_object *body = s_obj();
    s_set(body, "serial_number", serial);
    s_set(body, "ref_id", ptoken);
    char key[160];
    snprintf(key, sizeof key, "%s/%s", serial, ptoken);
    s_resp_t r;
    s_call(c, "gw", c->me->token, "store", op, "POST", "/finance/bazzar_paymnet/", key, body, true,
           &r);
    if (replay && s_2xx(&r) && s_chance(c, 30))
        s_replay(c, "gw", c->me->token, "store", op, "POST", "/finance/bazzar_paymnet/", key, body,
                 &r);
    json_object_put(body);
    s_resp_free(&r);
}

static void s_flow_store(s_client_t *c)
{
    char serial[32];
    const char *sku = s_sku(c);
    if (!s_open_purchase(c, sku, serial))
        return;
    json_object *body = s_obj();
    s_set(body, "package_name", s_cfg.package);
    s_set(body, "sku", sku);
    s_resp_t r;
    s_call(c, "sandbox", NULL, "store", "bazaar_buy", "POST", "/sandbox/bazaar/purchases", NULL,
           body, false, &r);
    json_object_put(body);
    const char *t = s_str(r.json, "purchase_token", NULL);
    char ptoken[128];
    bool ok = r.status == 201 && t;
    if (ok)
        snprintf(ptoken, sizeof ptoken, "%s", t);
    s_resp_free(&r);
    if (!ok)
        return;
    s_redeem(c, serial, ptoken, true, "redeem");
    /* Sometimes the same token once more, for another purchase: it must
     * never credit twice (406). */
    if (s_chance(c, 8) && s_open_purchase(c, sku, serial))
        s_redeem(c, serial, ptoken, false, "redeem_again");
}

/* --- BazaarPay (seeds 002, 003) --------------------------------------------- */

static void s_flow_bazaarpay(s_client_t *c)
{
    json_object *body = s_obj();
    char redirect[512];
    snprintf(redirect, sizeof redirect, "%s/sandbox/faults?app_return=%s", s_cfg.sandbox, c->flow);
    s_set(body, "serial_number", s_sku(c));
    s_set(body, "redirect_url", redirect);
    s_resp_t r;
    s_call(c, "gw", c->me->token, "bazaarpay", "checkout", "POST", "/finance/bazaarpay/checkout/",
           NULL, body, false, &r);
    json_object_put(body);
    char co[80];
    if (!s_take(&r, "checkout_token", co, sizeof co))
        return;
    bool pay = s_chance(c, 90);
    char sp[200];
    snprintf(sp, sizeof sp, "/sandbox/bazaarpay/checkouts/%s/%s", co, pay ? "pay" : "cancel");
    s_call(c, "sandbox", NULL, "bazaarpay", pay ? "bazaarpay_pay" : "bazaarpay_cancel", "POST", sp,
           co, NULL, false, &r);
    s_resp_free(&r);
    body = s_obj();
    s_set(body, "checkout_token", co);
    bool delivered = false;
    for (int i = 0; i < 12 && !s_cut(); i++) {
        s_call(c, "gw", c->me->token, "bazaarpay", "confirm", "POST", "/finance/bazaarpay/confirm/",
               co, body, true, &r);
        if (r.status != 202) {
            delivered = r.status == 200;
            if (delivered && s_chance(c, 30))
                s_replay(c, "gw", c->me->token, "bazaarpay", "confirm", "POST",
                         "/finance/bazaarpay/confirm/", co, body, &r);
            s_resp_free(&r);
            break;
        }
        s_resp_free(&r);
        s_sleep_ms(S_POLL_MS * 2);
    }
    json_object_put(body);
    if (delivered && s_chance(c, 6)) { /* the merchant's support refunds it */
        body = s_obj();
        s_set(body, "checkout_token", co);
        s_set(body, "reason", "chaos refund");
        s_call(c, "gw", s_service.token, "bazaarpay", "refund", "POST",
               "/finance/bazaarpay/refund/", co, body, true, &r);
        s_resp_free(&r);
        json_object_put(body);
    }
    if (s_chance(c, 20)) {
        char gp[200];
        snprintf(gp, sizeof gp, "/finance/bazaarpay/checkout/%s/", co);
        s_http(c, "gw", c->me->token, "bazaarpay", "get", "GET", gp, co, NULL, 1, 0, &r);
        s_resp_free(&r);
    }
}

/* --- bank orders (seed 004) ------------------------------------------------- */

static void s_flow_orders(s_client_t *c)
{
    json_object *body = s_obj();
    json_object_object_add(body, "RegNumTypeId", json_object_new_int(9));
    json_object_object_add(body, "random_mode", json_object_new_int(s_pick(c, 2)));
    s_resp_t r;
    s_call(c, "gw", c->me->token, "orders", "regno", "POST", "/gen-reg-no/", NULL, body, false, &r);
    json_object_put(body);
    char reg[64];
    if (!s_take(&r, "data", reg, sizeof reg))
        return;
    const char *bank = s_chance(c, 50) ? "halkbank" : "foreign_affairs_bank";
    body = s_obj();
    s_set(body, "OInvRegNo", reg);
    json_object_object_add(body, "OInvTypeId", json_object_new_int(13));
    s_set(body, "online_payment_type", bank);
    json_object *lines = json_object_new_array();
    int64_t total = 0;
    int nl = 1 + s_pick(c, 3);
    for (int i = 0; i < nl; i++) {
        int64_t price = 50 + s_pick(c, 5000), count = 1 + s_pick(c, 3);
        char p[32], name[32];
        s_amount(price, p, sizeof p);
        snprintf(name, sizeof name, "item %d", i + 1);
        json_object *l = s_obj();
        s_set(l, "ResName", name);
        json_object_object_add(l, "ItemCount", json_object_new_int((int)count));
        s_set(l, "ResPrice", p);
        json_object_array_add(lines, l);
        total += price * count;
    }
    char tot[32];
    s_amount(total, tot, sizeof tot);
    s_set(body, "OInvTotal", tot);
    json_object_object_add(body, "OrderInvLines", lines);
    s_set(body, "OInvDesc", "chaos order");
    s_call(c, "gw", c->me->token, "orders", "invoice", "POST", "/checkout-sale-order-inv/", reg,
           body, true, &r);
    bool ok = s_2xx(&r);
    if (ok && s_chance(c, 25))
        s_replay(c, "gw", c->me->token, "orders", "invoice", "POST", "/checkout-sale-order-inv/",
                 reg, body, &r);
    json_object_put(body);
    s_resp_free(&r);
    if (!ok)
        return;

    char path[200];
    snprintf(path, sizeof path, "/order-payment-register-request/?online_payment_type=%s", bank);
    body = s_obj();
    s_set(body, "OInvRegNo", reg);
    s_set(body, "TotalPrice", tot);
    s_set(body, "OrderDesc", "chaos");
    s_call(c, "gw", c->me->token, "orders", "register", "POST", path, reg, body, true, &r);
    ok = s_2xx(&r) && s_str(r.json, "data", "OrderId");
    char order[128] = "";
    if (ok) {
        snprintf(order, sizeof order, "%s", s_str(r.json, "data", "OrderId"));
        if (s_chance(c, 25))
            s_replay(c, "gw", c->me->token, "orders", "register", "POST", path, reg, body, &r);
    }
    json_object_put(body);
    s_resp_free(&r);
    if (!ok)
        return;

    bool pay = s_chance(c, 88);
    char sp[256];
    snprintf(sp, sizeof sp, "/sandbox/bank/orders/%s/%s", order, pay ? "pay" : "decline");
    s_call(c, "sandbox", NULL, "orders", pay ? "bank_pay" : "bank_decline", "POST", sp, order, NULL,
           false, &r);
    s_resp_free(&r);

    body = s_obj();
    s_set(body, "OrderId", order);
    s_set(body, "OInvRegNo", reg);
    s_set(body, "online_payment_type", bank);
    for (int i = 0; i < 12 && !s_cut(); i++) {
        s_call(c, "gw", c->me->token, "orders", "validate", "POST", "/order-inv-validation/", reg,
               body, true, &r);
        if (!(r.status == 200 && s_int(r.json, "status", -1) == 0)) {
            if (r.status == 200 && s_int(r.json, "status", -1) == 1 && s_chance(c, 30))
                s_replay(c, "gw", c->me->token, "orders", "validate", "POST",
                         "/order-inv-validation/", reg, body, &r);
            s_resp_free(&r);
            break;
        }
        s_resp_free(&r);
        s_sleep_ms(S_POLL_MS * 2);
    }
    json_object_put(body);
}

/* --- clients ---------------------------------------------------------------- */

static void *s_client_run(void *arg)
{
    s_client_t *c = arg;
    while (!s_past_end()) {
        c->flows++;
        snprintf(c->flow, sizeof c->flow, "c%d-%" PRIu64, c->id, c->flows);
        int w = s_pick(c, 100);
        if (w < 28)
            s_flow_core(c, false);
        else if (w < 43)
            s_flow_core(c, true);
        else if (w < 63)
            s_flow_store(c);
        else if (w < 83)
            s_flow_bazaarpay(c);
        else
            s_flow_orders(c);
        s_sleep_ms(s_pick(c, 50));
    }
    return NULL;
}

static int s_load_tokens(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "pm-chaos: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char role[32], who[64], tok[160];
    while (fscanf(f, "%31s %63s %159s", role, who, tok) == 3) {
        s_who_t *w = NULL;
        if (strcmp(role, "recipient") == 0)
            w = &s_recipient;
        else if (strcmp(role, "service") == 0)
            w = &s_service;
        else if (strcmp(role, "client") == 0 && s_nusers < S_MAX_CLIENTS)
            w = &s_users[s_nusers++];
        if (!w)
            continue;
        snprintf(w->principal, sizeof w->principal, "%s", who);
        snprintf(w->token, sizeof w->token, "%s", tok);
    }
    fclose(f);
    if (!s_recipient.token[0] || !s_service.token[0] || s_nusers == 0) {
        fprintf(stderr, "pm-chaos: %s needs a recipient, a service and a client line\n", path);
        return -1;
    }
    return 0;
}

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_usage(void)
{
    fprintf(stderr, "usage: pm-chaos --base URL --sandbox URL --tokens FILE --log FILE\n"
                    "                [--seconds N] [--clients N] [--seed N] [--package NAME]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    s_cfg.seconds = 30;
    s_cfg.clients = 8;
    s_cfg.seed = 1;
    s_cfg.package = "com.paymesh.demo";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            s_usage();
        const char *v = argv[++i];
        if (strcmp(a, "--base") == 0)
            s_cfg.base = v;
        else if (strcmp(a, "--sandbox") == 0)
            s_cfg.sandbox = v;
        else if (strcmp(a, "--tokens") == 0)
            s_cfg.tokens_path = v;
        else if (strcmp(a, "--log") == 0)
            s_cfg.log_path = v;
        else if (strcmp(a, "--package") == 0)
            s_cfg.package = v;
        else if (strcmp(a, "--seconds") == 0)
            s_cfg.seconds = atoi(v);
        else if (strcmp(a, "--clients") == 0)
            s_cfg.clients = atoi(v);
        else if (strcmp(a, "--seed") == 0)
            s_cfg.seed = strtoull(v, NULL, 10);
        else
            s_usage();
    }
    if (!s_cfg.base || !s_cfg.sandbox || !s_cfg.tokens_path || !s_cfg.log_path ||
        s_cfg.seconds < 1 || s_cfg.seconds > 86400 || s_cfg.clients < 1 ||
        s_cfg.clients > S_MAX_CLIENTS)
        s_usage();
    if (s_load_tokens(s_cfg.tokens_path) != 0)
        return 2;
    s_log = fopen(s_cfg.log_path, "a");
    if (!s_log) {
        fprintf(stderr, "pm-chaos: cannot open %s: %s\n", s_cfg.log_path, strerror(errno));
        return 2;
    }
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    static s_client_t clients[S_MAX_CLIENTS];
    pthread_t th[S_MAX_CLIENTS];
    int64_t t0 = s_now_ms();
    s_end_ms = t0 + (int64_t)s_cfg.seconds * 1000;
    for (int i = 0; i < s_cfg.clients; i++) {
        s_client_t *c = &clients[i];
        c->id = i + 1;
        /* streams must not overlap: each starts at a mixed point of its own */
        c->rng = s_cfg.seed ^ ((uint64_t)(i + 1) << 40);
        c->rng = s_rand(c) ^ 0x5851f42d4c957f2dULL * (uint64_t)(i + 1);
        for (int k = 0; k < 4; k++)
            c->rng ^= s_rand(c) << k;
        c->me = &s_users[i % s_nusers];
        c->curl = curl_easy_init();
        if (!c->curl) {
            fprintf(stderr, "pm-chaos: curl_easy_init failed\n");
            return 2;
        }
        if (pthread_create(&th[i], NULL, s_client_run, c) != 0) {
            fprintf(stderr, "pm-chaos: pthread_create failed\n");
            return 2;
        }
    }
    uint64_t req = 0, ans = 0, ack = 0, flows = 0;
    for (int i = 0; i < s_cfg.clients; i++) {
        pthread_join(th[i], NULL);
        req += clients[i].requests;
        ans += clients[i].answered;
        ack += clients[i].acked;
        flows += clients[i].flows;
        curl_easy_cleanup(clients[i].curl);
    }
    fclose(s_log);
    curl_global_cleanup();
    printf("{\"clients\":%d,\"seed\":%" PRIu64 ",\"flows\":%" PRIu64 ",\"requests\":%" PRIu64
           ",\"answered\":%" PRIu64 ",\"acked\":%" PRIu64 ",\"seconds\":%.1f}\n",
           s_cfg.clients, s_cfg.seed, flows, req, ans, ack, (double)(s_now_ms() - t0) / 1000.0);
    return 0;
}
