/*  pb_worker: provider-bazaar's jobs, Bazaar and BazaarPay calls, on the
 *  loop of pm_worker (JOB_TAKE / JOB_RESULT on one DEALER, one curl multi
 *  handle, one thread).
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
 *  A job offered while every slot is busy (a late JOB_TAKE reply) is
 *  dropped: its lease expires and core offers it again. */
#include "pb_worker.h"

#include <assert.h>
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_bazaar.h"
#include "pb_bazaarpay.h"
#include "pm_envelope.h"
#include "pm_log.h"
#include "pm_time.h"
#include "pm_worker.h"

#define S_PRINCIPAL "provider-bazaar"
#define S_ID_MAX 128     /* bytes of a job id */
#define S_SKU_MAX 128    /* bytes of a SKU */
#define S_TOKEN_MAX 256  /* bytes of a purchase token */
#define S_SERIAL_MAX 32  /* bytes of a purchase or checkout serial */
#define S_KIND_MAX 32    /* bytes of a job kind */
#define S_HEADER_MAX 600 /* bytes of one credential header line */

typedef enum { S_FREE = 0, S_WAIT_TOKEN, S_HTTP } s_state_t;

/* What a job runs: one Bazaar call, or one BazaarPay call (s_job_t.call). */
typedef enum { S_VALIDATE = 0, S_CONSUME, S_BAZAARPAY } s_kind_t;

typedef struct {
    pm_http_t http; /* first (pm_worker_daemon_t); owner: this slot */
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
} s_job_t;

typedef struct {
    pb_worker_config_t cfg;
    pm_worker_t *loop;
    s_job_t *jobs; /* cfg.max_concurrency slots (pm_worker_slots) */
    pb_token_cache_t cache;
} s_worker_t;

/* ---- HTTP -------------------------------------------------------------- */

/* Starts a GET (post NULL) or POST of url on the loop. post is taken.
 * content_type is for the POST; auth is a whole header line with the
 * call's credentials, or NULL. fresh: a new connection, never a reused
 * one. Returns 0, or -1 (h cleared). */
static int s_http_start(s_worker_t *self, pm_http_t *h, const char *url, char *post,
                        const char *content_type, const char *auth, bool fresh)
{
    pm_http_req_t req = {
        .url = url,
        .body = post,
        .post = post != NULL,
        .content_type = content_type,
        .auth = auth,
        .fresh = fresh,
    };
    return pm_worker_http_start(self->loop, h, &req);
}

/* ---- results ----------------------------------------------------------- */

/* The JOB_TAKE kinds: bazaar_*, and bazaarpay_* when on (pm_worker's
 * pack_kinds). */
static void s_pack_kinds(void *arg, msgpack_packer *pk)
{
    s_worker_t *self = arg;
    msgpack_pack_array(pk, 2 + (self->cfg.bazaarpay ? PBP_CALLS : 0));
    pm_mp_pack_cstr(pk, "bazaar_validate");
    pm_mp_pack_cstr(pk, "bazaar_consume");
    for (int i = 0; self->cfg.bazaarpay && i < PBP_CALLS; i++)
        pm_mp_pack_cstr(pk, pbp_kind((pbp_call_t)i));
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
static void s_finish(s_worker_t *self, s_job_t *job, pb_outcome_t outcome, const char *reason,
                     const pb_result_t *bazaar, const pbp_result_t *bp)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    pm_worker_result_begin(self->loop, &buf, &pk, job->id, job->attempt, pb_outcome_name(outcome),
                           reason);
    s_pack_data(&pk, job, outcome, bazaar, bp);
    int64_t ms = pm_mono_ms() - job->started_ms;
    pm_worker_result_send(self->loop, &buf, job->id);
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
    pm_http_clear(&job->http);
    job->state = S_FREE;
    pm_worker_busy_add(self->loop, -1);
}

static void s_finish_unknown(s_worker_t *self, s_job_t *job, const char *why)
{
    s_finish(self, job, PB_UNKNOWN, why, NULL, NULL);
}

/* ---- jobs --------------------------------------------------------------- */

static void s_token_fetch(s_worker_t *self);

/* Starts the job's BazaarPay call: every call is a JSON POST with the
 * merchant token ("for better tracing" even where BazaarPay does not ask). */
static void s_bazaarpay_go(s_worker_t *self, s_job_t *job)
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
static void s_job_go(s_worker_t *self, s_job_t *job)
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
static void s_transport_reason(CURLcode code, const pm_http_t *h, char *why, size_t cap)
{
    if (h->too_large)
        snprintf(why, cap, "bazaar answer larger than max-response-bytes");
    else if (code == CURLE_OPERATION_TIMEDOUT)
        snprintf(why, cap, "timeout");
    else
        snprintf(why, cap, "bazaar unreachable: %s", curl_easy_strerror(code));
}

/* Classifies a finished BazaarPay call (pb_bazaarpay decides everything). */
static void s_bazaarpay_done(s_worker_t *self, s_job_t *job, CURLcode code)
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

/* A job's call finished (pm_worker's on_slot_done). */
static void s_job_done(void *arg, void *job_p, CURLcode code)
{
    s_worker_t *self = arg;
    s_job_t *job = job_p;
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
        pm_http_clear(&job->http);
        s_job_go(self, job);
        return;
    }
    s_finish(self, job, r.outcome, r.reason, &r, NULL);
}

/* Refreshes the OAuth access token unless a refresh is in flight. */
static void s_token_fetch(s_worker_t *self)
{
    pm_http_t *h = pm_worker_side(self->loop);
    if (h->easy) /* a fetch in flight */
        return;
    char url[PB_URL_MAX];
    int n = snprintf(url, sizeof url, "%sauth/token/", self->cfg.base_url);
    char *form =
        pb_token_form(self->cfg.client_id, self->cfg.client_secret, self->cfg.refresh_token);
    if (n < 0 || (size_t)n >= sizeof url || !form ||
        s_http_start(self, h, url, form, "application/x-www-form-urlencoded", NULL, false) != 0) {
        if (n >= 0 && (size_t)n < sizeof url && form)
            form = NULL; /* s_http_start took and freed it */
        free(form);
        pm_error("cannot start the oauth token refresh");
        for (int i = 0; i < self->cfg.max_concurrency; i++)
            if (self->jobs[i].state == S_WAIT_TOKEN)
                s_finish_unknown(self, &self->jobs[i], "cannot refresh the oauth token");
        return;
    }
}

/* The token fetch finished (pm_worker's on_side_done). */
static void s_token_done(void *arg, CURLcode code)
{
    s_worker_t *self = arg;
    pm_http_t *h = pm_worker_side(self->loop);
    char why_buf[PB_REASON_MAX + 1] = "";
    const char *why = NULL;
    long status = 0;
    char token[PB_TOKEN_MAX + 1];
    int64_t expires_in = 0;
    if (code != CURLE_OK) {
        s_transport_reason(code, h, why_buf, sizeof why_buf);
        why = why_buf;
    } else {
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
        if (pb_token_parse(status, h->resp, h->resp_len, token, sizeof token, &expires_in, &why) ==
            0)
            why = NULL;
    }
    pm_http_clear(h);
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

/* Takes one JOB map of a JOB_TAKE reply into a free slot, or drops it
 * (pm_worker's on_job). */
static void s_job_take(void *arg, const msgpack_object *o)
{
    s_worker_t *self = arg;
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
    pm_http_t keep = job->http;
    memset(job, 0, sizeof *job);
    job->http = keep;
    job->http.owner = job;
    snprintf(job->id, sizeof job->id, "%s", id);
    job->started_ms = pm_mono_ms();
    job->state = S_WAIT_TOKEN; /* busy; s_job_go moves it on */
    pm_worker_busy_add(self->loop, 1);
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

/* provider-bazaar on pm_worker's loop (the members in pm_worker_daemon_t's
 * order). */
static const pm_worker_daemon_t S_DAEMON = {
    S_PRINCIPAL,     "pb",         500,        false,      sizeof(s_worker_t),
    sizeof(s_job_t), s_pack_kinds, s_job_take, s_job_done, s_token_done};

/* ---- life cycle ---------------------------------------------------------- */

pb_worker_t *pb_worker_new(const pb_worker_config_t *cfg)
{
    assert(cfg && cfg->max_concurrency >= 1 && cfg->base_url);
    assert(!cfg->bazaarpay ||
           (cfg->bazaarpay_base_url && cfg->bazaarpay_token && cfg->bazaarpay_destination));
    pm_worker_t *loop = pm_worker_new(&S_DAEMON, &(pm_worker_config_t){PM_WORKER_LIMITS_OF(cfg)});
    if (!loop)
        return NULL;
    s_worker_t *self = pm_worker_ctx(loop);
    *self = (s_worker_t){.cfg = *cfg, .loop = loop, .jobs = pm_worker_slots(loop)};
    return loop;
}
