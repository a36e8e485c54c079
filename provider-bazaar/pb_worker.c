/*  pb_worker: JOB_TAKE / JOB_RESULT on one DEALER, Bazaar and BazaarPay
 *  calls on one curl multi handle, one thread.
 *
 *  A job moves FREE -> (WAIT_TOKEN ->) HTTP -> FREE. With OAuth, a Bazaar
 *  job that finds no fresh access token waits for the one token refresh in
 *  flight (all waiting jobs share it); a 401 from the API forgets that token
 *  and sends the job round once more, after which a 401 is an unknown
 *  outcome. BazaarPay jobs carry the fixed merchant token and go straight to
 *  HTTP; each is one call, classified by pb_bazaarpay.
 *
 *  Each service gets only its own credentials: the Pishkhan secret and the
 *  OAuth token go to the Bazaar base URL, the merchant token to the BazaarPay
 *  one.
 *
 *  One JOB_TAKE is outstanding at a time. Its reply may never come (core
 *  restarted, message dropped): after wait_ms plus a grace another is sent,
 *  and a late reply's jobs are still run when there is room (else dropped:
 *  their leases expire and core offers them again). A JOB_RESULT that cannot
 *  be sent is dropped the same way. */
#include "pb_worker.h"

#include <assert.h>
#include <curl/curl.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_bazaar.h"
#include "pb_bazaarpay.h"
#include "pm_dealer.h"
#include "pm_envelope.h"
#include "pm_log.h"
#include "pm_proto.h"
#include "pm_signal.h"
#include "pm_sock.h"
#include "pm_time.h"

#define S_USER_AGENT "paymesh-provider-bazaar/1"
#define S_PRINCIPAL "provider-bazaar"
#define S_TAKE_MAX 64         /* JOB_TAKE max, by pm_proto.h */
#define S_TAKE_GRACE_MS 3000  /* a take unanswered this long after wait_ms is lost */
#define S_RETRY_SEND_MS 200   /* pause after a send found no peer */
#define S_POLL_MAX_MS 100     /* longest single wait */
#define S_RESULT_TTL_MS 10000 /* deadline of a JOB_RESULT */
#define S_ID_MAX 128          /* bytes of a job id */
#define S_SKU_MAX 128         /* bytes of a SKU */
#define S_TOKEN_MAX 256       /* bytes of a purchase token */
#define S_SERIAL_MAX 32       /* bytes of a purchase or checkout serial */
#define S_KIND_MAX 32         /* bytes of a job kind */
#define S_HEADER_MAX 600      /* bytes of one credential header line */
#define S_SOCK_HWM 1000

typedef enum { S_FREE = 0, S_WAIT_TOKEN, S_HTTP } s_state_t;

/* What a job runs: one Bazaar call, or one BazaarPay call (s_job_t.call). */
typedef enum { S_VALIDATE = 0, S_CONSUME, S_BAZAARPAY } s_kind_t;

/* One HTTP exchange in flight: a job's call, or the token refresh. */
typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    char *post; /* request body, or NULL */
    char *resp; /* response body, at most max_response_bytes */
    size_t resp_len;
    bool too_large;
    size_t max;
    void *owner; /* s_job_t, or NULL for the token refresh */
} s_http_t;

typedef struct {
    s_state_t state;
    char id[S_ID_MAX + 1];
    int64_t attempt;
    s_kind_t kind;
    pbp_call_t call; /* S_BAZAARPAY */
    /* bazaar_*: */
    char sku[S_SKU_MAX + 1];
    char token[S_TOKEN_MAX + 1];
    char serial[S_SERIAL_MAX + 1]; /* also bazaarpay_init's, for logs */
    /* bazaarpay_*: */
    char checkout_token[PBP_TOKEN_MAX + 1]; /* trace, commit, refund */
    int64_t amount;                         /* init, rials */
    char service_name[PBP_SERVICE_NAME_MAX + 1];
    char redirect_url[PBP_REDIRECT_URL_MAX + 1];
    char phone[PBP_PHONE_MAX + 1]; /* "" when none */
    bool auth_retried;
    char access[PB_TOKEN_MAX + 1]; /* access token the call used ("" none) */
    int64_t started_ms;            /* monotonic */
    s_http_t http;
} s_job_t;

struct pb_worker_t {
    pb_worker_config_t cfg;
    zsock_t *dealer;
    CURLM *multi;
    s_job_t *jobs; /* cfg.max_concurrency slots */
    int busy;      /* slots not FREE */
    pb_token_cache_t cache;
    s_http_t token_http; /* the OAuth refresh, when token_inflight */
    bool token_inflight;
    uint64_t next_corr;
    uint64_t take_corr;   /* outstanding JOB_TAKE, 0: none */
    int64_t take_sent_ms; /* monotonic */
    int64_t next_send_ms; /* no JOB_TAKE before this (no peer) */
};

/* ---- HTTP -------------------------------------------------------------- */

static size_t s_on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    s_http_t *h = arg;
    size_t n = size * nmemb;
    if (n > h->max - h->resp_len) {
        h->too_large = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    char *grown = realloc(h->resp, h->resp_len + n + 1);
    if (!grown)
        return 0;
    h->resp = grown;
    memcpy(h->resp + h->resp_len, data, n);
    h->resp_len += n;
    h->resp[h->resp_len] = '\0';
    return n;
}

/* Releases what the exchange holds (after curl_multi_remove_handle). */
static void s_http_clear(s_http_t *h)
{
    if (h->easy)
        curl_easy_cleanup(h->easy);
    curl_slist_free_all(h->headers);
    free(h->post);
    free(h->resp);
    void *owner = h->owner;
    memset(h, 0, sizeof *h);
    h->owner = owner;
}

/* Adds one header line to h; -1 on out of memory. */
static int s_http_header(s_http_t *h, const char *line)
{
    struct curl_slist *l = curl_slist_append(h->headers, line);
    if (!l)
        return -1;
    h->headers = l;
    return 0;
}

/* Starts a GET (post NULL) or POST of url on the multi handle. post is
 * taken. content_type is for the POST; auth is a whole header line with the
 * call's credentials, or NULL. fresh: a new connection, never a reused
 * one. Returns 0, or -1 (h cleared). */
static int s_http_start(pb_worker_t *self, s_http_t *h, const char *url, char *post,
                        const char *content_type, const char *auth, bool fresh)
{
    h->easy = curl_easy_init();
    h->post = post;
    h->max = self->cfg.max_response_bytes;
    if (!h->easy)
        goto fail;
    if (auth && s_http_header(h, auth) != 0)
        goto fail;
    if (content_type) {
        char line[128];
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        /* No "Expect: 100-continue" round trip before a small body. */
        if (s_http_header(h, line) != 0 || s_http_header(h, "Expect:") != 0)
            goto fail;
    }
    curl_easy_setopt(h->easy, CURLOPT_URL, url);
    curl_easy_setopt(h->easy, CURLOPT_PRIVATE, h);
    curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, s_on_data);
    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, (long)self->cfg.http_timeout_ms);
    curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)self->cfg.connect_timeout_ms);
    curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->easy, CURLOPT_USERAGENT, S_USER_AGENT);
    curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (fresh)
        curl_easy_setopt(h->easy, CURLOPT_FRESH_CONNECT, 1L);
    if (h->headers)
        curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
    if (post) {
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    }
    if (curl_multi_add_handle(self->multi, h->easy) != CURLM_OK)
        goto fail;
    return 0;
fail:
    s_http_clear(h);
    return -1;
}

/* ---- ZeroMQ ------------------------------------------------------------ */

/* Sends header + the body map already packed after it in buf. */
static int s_send(pb_worker_t *self, msgpack_sbuffer *buf)
{
    return pm_sock_send(self->dealer, buf->data, buf->size);
}

/* Starts a request of type in buf with the next correlation id; returns it. */
static uint64_t s_begin(pb_worker_t *self, msgpack_sbuffer *buf, msgpack_packer *pk, uint32_t type,
                        int64_t ttl_ms)
{
    uint64_t corr_id = ++self->next_corr;
    pm_dealer_begin(buf, pk, type, corr_id, ttl_ms, S_PRINCIPAL, "pb");
    return corr_id;
}

static void s_send_take(pb_worker_t *self, int64_t now)
{
    int room = self->cfg.max_concurrency - self->busy;
    if (room > S_TAKE_MAX)
        room = S_TAKE_MAX;
    msgpack_sbuffer buf;
    msgpack_packer pk;
    uint64_t corr_id =
        s_begin(self, &buf, &pk, PM_MSG_JOB_TAKE, self->cfg.take_wait_ms + S_TAKE_GRACE_MS);
    msgpack_pack_map(&pk, 3);
    pm_mp_pack_cstr(&pk, "kinds");
    msgpack_pack_array(&pk, 2 + (self->cfg.bazaarpay ? PBP_CALLS : 0));
    pm_mp_pack_cstr(&pk, "bazaar_validate");
    pm_mp_pack_cstr(&pk, "bazaar_consume");
    for (int i = 0; self->cfg.bazaarpay && i < PBP_CALLS; i++)
        pm_mp_pack_cstr(&pk, pbp_kind((pbp_call_t)i));
    pm_mp_pack_cstr(&pk, "max");
    msgpack_pack_int(&pk, room);
    pm_mp_pack_cstr(&pk, "wait_ms");
    msgpack_pack_int64(&pk, self->cfg.take_wait_ms);
    if (s_send(self, &buf) == 0) {
        self->take_corr = corr_id;
        self->take_sent_ms = now;
    } else {
        self->next_send_ms = now + S_RETRY_SEND_MS; /* payment-core not connected */
    }
    msgpack_sbuffer_destroy(&buf);
}

static const char *s_kind_name(const s_job_t *job)
{
    switch (job->kind) {
    case S_VALIDATE:
        return "bazaar_validate";
    case S_CONSUME:
        return "bazaar_consume";
    case S_BAZAARPAY:
        break;
    }
    return pbp_kind(job->call);
}

/* The result's data map: validate ok {purchase_time_ms, developer_payload},
 * bazaarpay_init ok {checkout_token, payment_url}, bazaarpay_trace ok
 * {status}, else {}. bazaar / bp: the classified answer, or NULL. */
static void s_pack_data(msgpack_packer *pk, const s_job_t *job, pb_outcome_t outcome,
                        const pb_result_t *bazaar, const pbp_result_t *bp)
{
    if (outcome == PB_OK && bazaar && job->kind == S_VALIDATE) {
        msgpack_pack_map(pk, 2);
        pm_mp_pack_cstr(pk, "purchase_time_ms");
        if (bazaar->has_time)
            msgpack_pack_int64(pk, bazaar->purchase_time_ms);
        else
            msgpack_pack_nil(pk);
        pm_mp_pack_cstr(pk, "developer_payload");
        pm_mp_pack_cstr(pk, bazaar->has_payload ? bazaar->developer_payload : NULL);
    } else if (outcome == PB_OK && bp && job->kind == S_BAZAARPAY && job->call == PBP_INIT) {
        msgpack_pack_map(pk, 2);
        pm_mp_pack_cstr(pk, "checkout_token");
        pm_mp_pack_cstr(pk, bp->checkout_token);
        pm_mp_pack_cstr(pk, "payment_url");
        pm_mp_pack_cstr(pk, bp->payment_url);
    } else if (outcome == PB_OK && bp && job->kind == S_BAZAARPAY && job->call == PBP_TRACE) {
        msgpack_pack_map(pk, 1);
        pm_mp_pack_cstr(pk, "status");
        pm_mp_pack_cstr(pk, bp->status);
    } else {
        msgpack_pack_map(pk, 0);
    }
}

/* Answers the job and frees its slot. reason is "" for ok and at most
 * PBP_REASON_MAX bytes of UTF-8 text; bazaar / bp as for s_pack_data. */
static void s_finish(pb_worker_t *self, s_job_t *job, pb_outcome_t outcome, const char *reason,
                     const pb_result_t *bazaar, const pbp_result_t *bp)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    s_begin(self, &buf, &pk, PM_MSG_JOB_RESULT, S_RESULT_TTL_MS);
    msgpack_pack_map(&pk, 5);
    pm_mp_pack_cstr(&pk, "id");
    pm_mp_pack_cstr(&pk, job->id);
    pm_mp_pack_cstr(&pk, "attempt");
    msgpack_pack_int64(&pk, job->attempt);
    pm_mp_pack_cstr(&pk, "outcome");
    pm_mp_pack_cstr(&pk, pb_outcome_name(outcome));
    pm_mp_pack_cstr(&pk, "reason");
    pm_mp_pack_cstr(&pk, reason);
    pm_mp_pack_cstr(&pk, "data");
    s_pack_data(&pk, job, outcome, bazaar, bp);
    int64_t ms = pm_mono_ms() - job->started_ms;
    if (s_send(self, &buf) != 0)
        pm_warn("cannot send result of job %s (payment-core not connected): its lease will expire",
                job->id);
    /* Which purchase or checkout: a Bazaar purchase token is shown only in
     * part; a checkout token or serial is the id to find the checkout by. */
    char ref[PBP_TOKEN_MAX + 32];
    const char *detail = "";
    if (job->kind != S_BAZAARPAY)
        snprintf(ref, sizeof ref, "token %.12s...", job->token);
    else if (job->call == PBP_INIT)
        snprintf(ref, sizeof ref, "serial %s", job->serial);
    else
        snprintf(ref, sizeof ref, "checkout %s", job->checkout_token);
    if (bp && outcome == PB_OK && job->kind == S_BAZAARPAY)
        detail = job->call == PBP_INIT ? bp->checkout_token : bp->status;
    int level = outcome == PB_UNKNOWN ? PM_LOG_WARN : PM_LOG_INFO;
    pm_log(level, "job %s %s attempt %lld %s: %s%s%s%s%s (%lld ms)", job->id, s_kind_name(job),
           (long long)job->attempt, ref, pb_outcome_name(outcome), reason[0] ? " " : "", reason,
           detail[0] ? " " : "", detail, (long long)ms);
    msgpack_sbuffer_destroy(&buf);
    s_http_clear(&job->http);
    job->state = S_FREE;
    self->busy--;
}

static void s_finish_unknown(pb_worker_t *self, s_job_t *job, const char *why)
{
    s_finish(self, job, PB_UNKNOWN, why, NULL, NULL);
}

/* ---- jobs --------------------------------------------------------------- */

static void s_token_fetch(pb_worker_t *self);

/* Starts the job's BazaarPay call: every call is a JSON POST with the
 * merchant token ("for better tracing" even where BazaarPay does not ask). */
static void s_bazaarpay_go(pb_worker_t *self, s_job_t *job)
{
    char url[PB_URL_MAX], auth[S_HEADER_MAX];
    char *post = job->call == PBP_INIT ? pbp_init_body(job->amount, self->cfg.bazaarpay_destination,
                                                       job->service_name)
                                       : pbp_token_body(job->checkout_token);
    int n = snprintf(auth, sizeof auth, "Authorization: Token %s", self->cfg.bazaarpay_token);
    if (!post || n < 0 || (size_t)n >= sizeof auth ||
        pbp_url(url, sizeof url, self->cfg.bazaarpay_base_url, job->call) != 0) {
        free(post);
        s_finish_unknown(self, job, "cannot build the bazaarpay request");
        return;
    }
    job->state = S_HTTP;
    /* libcurl sends a request again, unasked, when a reused connection
     * closes before any answer: that would be a commit or refund re-sent
     * blind. These two go on a connection of their own, so a lost answer
     * stays lost and is traced. */
    bool fresh = job->call == PBP_COMMIT || job->call == PBP_REFUND;
    if (s_http_start(self, &job->http, url, post, "application/json", auth, fresh) != 0)
        s_finish_unknown(self, job, "cannot start the bazaarpay request");
}

/* Starts the job's call, or parks a Bazaar job until an access token
 * exists. */
static void s_job_go(pb_worker_t *self, s_job_t *job)
{
    if (job->kind == S_BAZAARPAY) {
        s_bazaarpay_go(self, job);
        return;
    }
    const char *access = NULL;
    if (!self->cfg.pishkhan) {
        access = pb_token_cache_get(&self->cache, pm_mono_ms());
        if (!access) {
            job->state = S_WAIT_TOKEN;
            s_token_fetch(self);
            return;
        }
    }
    snprintf(job->access, sizeof job->access, "%s", access ? access : "");
    char url[PB_URL_MAX], auth[S_HEADER_MAX] = "";
    int rc;
    char *post = NULL;
    if (job->kind == S_CONSUME) {
        rc = pb_url_consume(url, sizeof url, self->cfg.base_url, self->cfg.package_name, access);
        if (rc == 0 && !(post = pb_consume_body(job->token)))
            rc = -1;
    } else {
        rc = pb_url_validate(url, sizeof url, self->cfg.base_url, self->cfg.package_name, job->sku,
                             job->token, access);
    }
    if (rc == 0 && self->cfg.pishkhan) {
        int n = snprintf(auth, sizeof auth, "CAFEBAZAAR-PISHKHAN-API-SECRET: %s",
                         self->cfg.pishkhan_secret);
        if (n < 0 || (size_t)n >= sizeof auth)
            rc = -1;
    }
    if (rc != 0) {
        free(post);
        s_finish_unknown(self, job, "cannot build the bazaar request");
        return;
    }
    job->state = S_HTTP;
    if (s_http_start(self, &job->http, url, post, post ? "application/json" : NULL,
                     auth[0] ? auth : NULL, false) != 0)
        s_finish_unknown(self, job, "cannot start the bazaar request");
}

/* Why a transfer failed, for the reason of an unknown outcome. */
static void s_transport_reason(CURLcode code, const s_http_t *h, char *why, size_t cap)
{
    if (h->too_large)
        snprintf(why, cap, "bazaar answer larger than max-response-bytes");
    else if (code == CURLE_OPERATION_TIMEDOUT)
        snprintf(why, cap, "timeout");
    else
        snprintf(why, cap, "bazaar unreachable: %s", curl_easy_strerror(code));
}

/* Classifies a finished BazaarPay call (pb_bazaarpay decides everything). */
static void s_bazaarpay_done(pb_worker_t *self, s_job_t *job, CURLcode code)
{
    pbp_answer_t a = {.transport = PBP_ANSWERED};
    if (job->http.too_large) {
        a.transport = PBP_TOO_LARGE;
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        a.transport = PBP_TIMEOUT;
    } else if (code != CURLE_OK) {
        a.transport = PBP_NO_ANSWER;
        a.error = curl_easy_strerror(code);
    } else {
        curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &a.status);
        a.body = job->http.resp;
        a.len = job->http.resp_len;
    }
    /* Large (the payment URL): one per call, on the heap, not on the stack. */
    pbp_result_t *r = malloc(sizeof *r);
    if (!r) {
        s_finish_unknown(self, job, "out of memory");
        return;
    }
    pbp_classify(job->call, &a, job->redirect_url, job->phone, r);
    s_finish(self, job, r->outcome, r->reason, NULL, r);
    free(r);
}

static void s_job_done(pb_worker_t *self, s_job_t *job, CURLcode code)
{
    if (job->kind == S_BAZAARPAY) {
        s_bazaarpay_done(self, job, code);
        return;
    }
    pb_result_t r;
    if (code != CURLE_OK) {
        char why[PB_REASON_MAX + 1];
        s_transport_reason(code, &job->http, why, sizeof why);
        s_finish_unknown(self, job, why);
        return;
    }
    long status = 0;
    curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
    if (job->kind == S_CONSUME)
        pb_classify_consume(status, job->http.resp, job->http.resp_len, &r);
    else
        pb_classify_validate(status, job->http.resp, job->http.resp_len, &r);
    if (r.auth_failed && !self->cfg.pishkhan && !job->auth_retried) {
        pm_info("job %s: bazaar refused the access token, refreshing it once", job->id);
        pb_token_cache_invalidate(&self->cache, job->access);
        job->auth_retried = true;
        s_http_clear(&job->http);
        s_job_go(self, job);
        return;
    }
    s_finish(self, job, r.outcome, r.reason, &r, NULL);
}

/* Refreshes the OAuth access token unless a refresh is in flight. */
static void s_token_fetch(pb_worker_t *self)
{
    if (self->token_inflight)
        return;
    char url[PB_URL_MAX];
    int n = snprintf(url, sizeof url, "%sauth/token/", self->cfg.base_url);
    char *form =
        pb_token_form(self->cfg.client_id, self->cfg.client_secret, self->cfg.refresh_token);
    self->token_http.owner = NULL;
    if (n < 0 || (size_t)n >= sizeof url || !form ||
        s_http_start(self, &self->token_http, url, form, "application/x-www-form-urlencoded", NULL,
                     false) != 0) {
        if (n >= 0 && (size_t)n < sizeof url && form)
            form = NULL; /* s_http_start took and freed it */
        free(form);
        pm_error("cannot start the oauth token refresh");
        for (int i = 0; i < self->cfg.max_concurrency; i++)
            if (self->jobs[i].state == S_WAIT_TOKEN)
                s_finish_unknown(self, &self->jobs[i], "cannot refresh the oauth token");
        return;
    }
    self->token_inflight = true;
}

static void s_token_done(pb_worker_t *self, CURLcode code)
{
    char why_buf[PB_REASON_MAX + 1] = "";
    const char *why = NULL;
    long status = 0;
    char token[PB_TOKEN_MAX + 1];
    int64_t expires_in = 0;
    if (code != CURLE_OK) {
        s_transport_reason(code, &self->token_http, why_buf, sizeof why_buf);
        why = why_buf;
    } else {
        curl_easy_getinfo(self->token_http.easy, CURLINFO_RESPONSE_CODE, &status);
        if (pb_token_parse(status, self->token_http.resp, self->token_http.resp_len, token,
                           sizeof token, &expires_in, &why) == 0)
            why = NULL;
    }
    s_http_clear(&self->token_http);
    self->token_inflight = false;
    if (why) {
        pm_warn("oauth token refresh failed: %s (http %ld)", why, status);
    } else {
        pb_token_cache_set(&self->cache, token, expires_in, pm_mono_ms());
        pm_info("oauth access token refreshed, valid %lld s", (long long)expires_in);
    }
    for (int i = 0; i < self->cfg.max_concurrency; i++) {
        s_job_t *job = &self->jobs[i];
        if (job->state != S_WAIT_TOKEN)
            continue;
        if (why) {
            char reason[PB_REASON_MAX + 1];
            snprintf(reason, sizeof reason, "oauth token refresh failed: %s", why);
            s_finish_unknown(self, job, reason);
        } else {
            s_job_go(self, job);
        }
    }
}

/* Reads a bazaar_* payload {purchase_serial?, sku, token} into job. NULL,
 * or what is wrong with it. */
static const char *s_bazaar_payload(s_job_t *job, const msgpack_object *payload)
{
    if (pm_mp_copy_str(payload, "sku", job->sku, sizeof job->sku) != 0 || !job->sku[0])
        return "malformed job: sku";
    if (pm_mp_copy_str(payload, "token", job->token, sizeof job->token) != 0 || !job->token[0])
        return "malformed job: token";
    if (job->kind == S_VALIDATE &&
        pm_mp_copy_str(payload, "purchase_serial", job->serial, sizeof job->serial) != 0)
        job->serial[0] = '\0'; /* for logs only */
    return NULL;
}

/* Reads a bazaarpay_* payload (pm_proto.h) into job: init {serial, amount,
 * service_name, redirect_url, phone|nil}, the others {checkout_token}. NULL,
 * or what is wrong with it. */
static const char *s_bazaarpay_payload(s_job_t *job, const msgpack_object *payload)
{
    if (job->call != PBP_INIT) {
        if (pm_mp_copy_str(payload, "checkout_token", job->checkout_token,
                           sizeof job->checkout_token) != 0 ||
            !pbp_token_valid(job->checkout_token, strlen(job->checkout_token)))
            return "malformed job: checkout_token";
        return NULL;
    }
    if (pm_mp_copy_str(payload, "serial", job->serial, sizeof job->serial) != 0)
        job->serial[0] = '\0'; /* for logs only */
    if (pm_mp_get_int(payload, "amount", &job->amount) != 0)
        return "malformed job: amount";
    if (pm_mp_copy_str(payload, "service_name", job->service_name, sizeof job->service_name) != 0 ||
        !job->service_name[0])
        return "malformed job: service_name";
    if (pm_mp_copy_str(payload, "redirect_url", job->redirect_url, sizeof job->redirect_url) != 0 ||
        !job->redirect_url[0])
        return "malformed job: redirect_url";
    const msgpack_object *phone = pm_mp_get(payload, "phone");
    if (phone && phone->type != MSGPACK_OBJECT_NIL &&
        pm_mp_copy_str(payload, "phone", job->phone, sizeof job->phone) != 0)
        return "malformed job: phone";
    return NULL;
}

/* Takes one JOB map of a JOB_TAKE reply into a free slot, or drops it. */
static void s_job_take(pb_worker_t *self, const msgpack_object *o)
{
    s_job_t *job = NULL;
    for (int i = 0; i < self->cfg.max_concurrency && !job; i++)
        if (self->jobs[i].state == S_FREE)
            job = &self->jobs[i];
    char id[S_ID_MAX + 1], kind[S_KIND_MAX + 1];
    if (pm_mp_copy_str(o, "id", id, sizeof id) != 0) {
        pm_warn("payment-core offered a job without a usable id: ignored");
        return;
    }
    if (!job) {
        pm_warn("job %s offered while every slot is busy: left to its lease", id);
        return;
    }
    s_http_t keep = job->http;
    memset(job, 0, sizeof *job);
    job->http = keep;
    job->http.owner = job;
    snprintf(job->id, sizeof job->id, "%s", id);
    job->started_ms = pm_mono_ms();
    job->state = S_WAIT_TOKEN; /* busy; s_job_go moves it on */
    self->busy++;
    const msgpack_object *payload = pm_mp_get(o, "payload");
    const char *bad = NULL;
    if (pm_mp_copy_str(o, "kind", kind, sizeof kind) != 0 ||
        pm_mp_get_int(o, "attempt", &job->attempt) != 0 || !payload ||
        payload->type != MSGPACK_OBJECT_MAP)
        bad = "malformed job";
    else if (strcmp(kind, "bazaar_validate") == 0)
        job->kind = S_VALIDATE;
    else if (strcmp(kind, "bazaar_consume") == 0)
        job->kind = S_CONSUME;
    else if (pbp_kind_parse(kind, &job->call))
        job->kind = S_BAZAARPAY;
    else
        bad = "malformed job: unknown kind";
    if (!bad && job->kind == S_BAZAARPAY && !self->cfg.bazaarpay)
        bad = "bazaarpay is off in this worker";
    if (!bad)
        bad = job->kind == S_BAZAARPAY ? s_bazaarpay_payload(job, payload)
                                       : s_bazaar_payload(job, payload);
    if (bad) {
        s_finish_unknown(self, job, bad);
        return;
    }
    pm_debug("job %s %s attempt %lld %s %s", job->id, kind, (long long)job->attempt,
             job->kind == S_BAZAARPAY && job->call != PBP_INIT ? "checkout" : "serial",
             job->kind == S_BAZAARPAY && job->call != PBP_INIT ? job->checkout_token : job->serial);
    s_job_go(self, job);
}

/* One reply from payment-core (pm_dealer_drain). */
static void s_on_reply(void *arg, const pm_dealer_reply_t *r)
{
    pb_worker_t *self = arg;
    bool is_take = r->header->corr_id == self->take_corr;
    if (is_take)
        self->take_corr = 0;
    if (r->err != 0) {
        pm_warn("payment-core refused request %llu: err %lld %s",
                (unsigned long long)r->header->corr_id, (long long)r->err, r->msg);
        if (is_take)
            self->next_send_ms = pm_mono_ms() + S_RETRY_SEND_MS;
        return;
    }
    const msgpack_object *jobs = pm_mp_get(r->body, "jobs");
    if (!jobs) /* a JOB_RESULT acknowledgement */
        return;
    if (jobs->type != MSGPACK_OBJECT_ARRAY) {
        pm_warn("payment-core sent a JOB_TAKE reply without a job list");
        return;
    }
    for (uint32_t i = 0; i < jobs->via.array.size; i++)
        s_job_take(self, &jobs->via.array.ptr[i]);
}

/* Ends every finished transfer. */
static void s_reap(pb_worker_t *self)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode code = m->data.result;
        s_http_t *h = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&h);
        curl_multi_remove_handle(self->multi, easy);
        assert(h);
        if (h->owner)
            s_job_done(self, h->owner, code);
        else
            s_token_done(self, code);
    }
}

/* ---- life cycle ---------------------------------------------------------- */

pb_worker_t *pb_worker_new(const pb_worker_config_t *cfg)
{
    assert(cfg && cfg->max_concurrency >= 1 && cfg->base_url);
    assert(!cfg->bazaarpay ||
           (cfg->bazaarpay_base_url && cfg->bazaarpay_token && cfg->bazaarpay_destination));
    pb_worker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->jobs = calloc((size_t)cfg->max_concurrency, sizeof *self->jobs);
    if (!self->jobs)
        goto fail;
    for (int i = 0; i < cfg->max_concurrency; i++)
        self->jobs[i].http.owner = &self->jobs[i];
    self->multi = curl_multi_init();
    if (!self->multi)
        goto fail;
    curl_multi_setopt(self->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg->max_concurrency + 1);
    curl_multi_setopt(self->multi, CURLMOPT_MAXCONNECTS, (long)cfg->max_concurrency + 1);
    self->dealer = pm_sock_dealer_connect(cfg->core_endpoint, S_SOCK_HWM, cfg->max_msg_bytes, true);
    if (!self->dealer)
        goto fail;
    return self;
fail:
    pb_worker_destroy(&self);
    return NULL;
}

int pb_worker_run(pb_worker_t *self)
{
    assert(self);
    int64_t stop_by = -1; /* monotonic; set when stopping */
    for (;;) {
        int64_t now = pm_mono_ms();
        if (pm_signal_stopping() && stop_by < 0) {
            stop_by = now + self->cfg.http_timeout_ms + 500;
            pm_info("provider-bazaar stopping: %d jobs in flight", self->busy);
        }
        if (stop_by >= 0 && (self->busy == 0 || now >= stop_by))
            break;
        if (self->take_corr &&
            now - self->take_sent_ms > self->cfg.take_wait_ms + S_TAKE_GRACE_MS) {
            pm_debug("JOB_TAKE %llu unanswered: asking again", (unsigned long long)self->take_corr);
            self->take_corr = 0;
        }
        if (stop_by < 0 && !self->take_corr && self->busy < self->cfg.max_concurrency &&
            now >= self->next_send_ms)
            s_send_take(self, now);

        struct curl_waitfd zfd = {.fd = zsock_fd(self->dealer), .events = CURL_WAIT_POLLIN};
        int timeout = S_POLL_MAX_MS;
        if (self->next_send_ms > now && self->next_send_ms - now < timeout)
            timeout = (int)(self->next_send_ms - now);
        /* zsock_events also re-arms the edge-triggered ZMQ_FD. */
        if (zsock_events(self->dealer) & ZMQ_POLLIN)
            timeout = 0;
        if (curl_multi_poll(self->multi, &zfd, 1, timeout, NULL) != CURLM_OK) {
            pm_error("curl_multi_poll failed");
            return -1;
        }
        int running;
        curl_multi_perform(self->multi, &running);
        s_reap(self);
        pm_dealer_drain(self->dealer, self->cfg.max_msg_bytes, s_on_reply, self);
    }
    if (self->busy > 0)
        pm_warn("abandoning %d jobs in flight: payment-core offers them again after their lease",
                self->busy);
    return 0;
}

void pb_worker_destroy(pb_worker_t **self_p)
{
    assert(self_p);
    pb_worker_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; self->jobs && i < self->cfg.max_concurrency; i++) {
        if (self->jobs[i].http.easy)
            curl_multi_remove_handle(self->multi, self->jobs[i].http.easy);
        s_http_clear(&self->jobs[i].http);
    }
    if (self->token_http.easy)
        curl_multi_remove_handle(self->multi, self->token_http.easy);
    s_http_clear(&self->token_http);
    if (self->multi)
        curl_multi_cleanup(self->multi);
    zsock_destroy(&self->dealer);
    free(self->jobs);
    free(self);
    *self_p = NULL;
}
