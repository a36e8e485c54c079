/*  pbk_worker: provider-bank's jobs, Halkbank and TFEB calls, on the loop
 *  of pm_worker (JOB_TAKE / JOB_RESULT on one DEALER, one curl multi
 *  handle, one thread).
 *
 *  A job moves FREE -> (WAIT_TOKEN ->) HTTP -> FREE. pbk_job decodes it and
 *  picks its bank's client; a job it refuses is answered at once. A TFEB
 *  job that finds no fresh access token in the cache waits for the one
 *  token fetch in flight (every waiting job shares it); an answer that says
 *  the token was refused (HTTP 401, GEN-00002) forgets that token and sends
 *  the call once more, which is safe because TFEB applied nothing; a second
 *  refusal is an unknown outcome. An RBS answer that refuses rbs-username or
 *  rbs-password is logged as an error: an operator has to fix the settings.
 *
 *  Request bodies carry the RBS password or the TFEB client secret, and
 *  headers the TFEB token: none of them is ever logged.
 *
 *  A job offered while every slot is busy (a late JOB_TAKE reply) is
 *  dropped: its lease expires and core offers it again. */
#include "pbk_worker.h"

#include <assert.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbk_job.h"
#include "pm_envelope.h"
#include "pm_log.h"
#include "pm_time.h"
#include "pm_worker.h"

#define S_PRINCIPAL "provider-bank"

typedef enum { S_FREE = 0, S_WAIT_TOKEN, S_HTTP } s_state_t;

typedef struct {
    pm_http_t http; /* first (pm_worker_daemon_t); owner: this slot */
    s_state_t state;
    pbk_job_t job;
    bool auth_retried;                  /* TFEB: the token was refused once */
    char token[PBK_TFEB_TOKEN_MAX + 1]; /* TFEB: the token the call used */
    int64_t started_ms;                 /* monotonic */
} s_job_t;

typedef struct {
    pbk_worker_config_t cfg;
    pm_worker_t *loop;
    s_job_t *jobs; /* cfg.max_concurrency slots (pm_worker_slots) */
    pbk_tfeb_token_cache_t cache;
} s_worker_t;

/* ---- HTTP -------------------------------------------------------------- */

/* Starts req on the loop; the body is taken from req (req->body is NULL
 * afterwards). fresh: a new connection, never a reused one. Returns 0, or
 * -1 (h cleared). */
static int s_http_start(s_worker_t *self, pm_http_t *h, pbk_request_t *req, bool fresh)
{
    pm_http_req_t r = {
        .url = req->url,
        .body = req->body,
        .post = req->post,
        .content_type = req->content_type,
        .accept = req->accept,
        .auth = req->authorization[0] ? req->authorization : NULL,
        .fresh = fresh,
    };
    req->body = NULL;
    return pm_worker_http_start(self->loop, h, &r);
}

/* What a finished transfer got back, for the clients' classifiers. Valid
 * while h is. */
static void s_http_answer(const pm_http_t *h, CURLcode code, pbk_answer_t *a)
{
    memset(a, 0, sizeof *a);
    if (h->too_large) {
        a->transport = PBK_TOO_LARGE;
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        a->transport = PBK_TIMEOUT;
    } else if (code != CURLE_OK) {
        a->transport = PBK_NO_ANSWER;
        a->error = curl_easy_strerror(code);
    } else {
        a->transport = PBK_ANSWERED;
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &a->status);
        a->body = h->resp;
        a->len = h->resp_len;
    }
}

/* ---- results ----------------------------------------------------------- */

/* Answers the job with r and frees its slot. */
static void s_finish(s_worker_t *self, s_job_t *slot, const pbk_result_t *r)
{
    const pbk_job_t *job = &slot->job;
    msgpack_sbuffer buf;
    msgpack_packer pk;
    pm_worker_result_begin(self->loop, &buf, &pk, job->id, job->attempt,
                           pbk_outcome_name(r->outcome), r->reason);
    pbk_job_pack_data(&pk, job, r);
    int64_t ms = pm_mono_ms() - slot->started_ms;
    pm_worker_result_send(self->loop, &buf, job->id);
    /* Which order: our number for a register, the bank's id otherwise; and
     * what came back (the bank's order id, the state and raw code). */
    const char *ref = job->call == PBK_REGISTER ? job->order_number : job->order_id;
    char detail[PBK_ORDER_ID_MAX + PBK_CODE_MAX + 32] = "";
    if (r->outcome == PBK_OK && job->call == PBK_REGISTER)
        snprintf(detail, sizeof detail, " order_id %s", r->order_id);
    else if (r->outcome == PBK_OK && job->call == PBK_STATUS)
        snprintf(detail, sizeof detail, " %s (%s)", pbk_state_name(r->state), r->code);
    else if (r->code[0])
        snprintf(detail, sizeof detail, " (%s)", r->code);
    int level = r->outcome == PBK_UNKNOWN ? PM_LOG_WARN : PM_LOG_INFO;
    pm_log(level, "job %s %s %s attempt %lld order %s: %s%s%s%s (%lld ms)", job->id,
           job->has_call ? pbk_kind(job->call) : "?",
           job->has_bank ? pbk_bank_name(job->bank) : "?", (long long)job->attempt,
           ref[0] ? ref : "-", pbk_outcome_name(r->outcome), r->reason[0] ? " " : "", r->reason,
           detail, (long long)ms);
    pm_http_clear(&slot->http);
    slot->state = S_FREE;
    pm_worker_busy_add(self->loop, -1);
}

/* Answers the job unknown with a reason of ours. */
static void s_finish_unknown(s_worker_t *self, s_job_t *slot, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_finish_unknown(s_worker_t *self, s_job_t *slot, const char *fmt, ...)
{
    char why[PBK_REASON_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    pbk_result_t r;
    pbk_result_reset(&r);
    pbk_result_set(&r, PBK_UNKNOWN, "%s", why);
    s_finish(self, slot, &r);
}

/* ---- jobs ----------------------------------------------------------------- */

static void s_token_fetch(s_worker_t *self);

/* Starts the job's call, or parks a TFEB job until an access token exists. */
static void s_job_go(s_worker_t *self, s_job_t *slot)
{
    const char *token = NULL;
    if (slot->job.bank == PBK_BANK_TFEB) {
        token = pbk_tfeb_token_cache_get(&self->cache, pm_mono_ms());
        if (!token) {
            slot->state = S_WAIT_TOKEN;
            s_token_fetch(self);
            return;
        }
        snprintf(slot->token, sizeof slot->token, "%s", token);
    }
    pbk_request_t req = {0};
    const char *why = NULL;
    if (pbk_job_request(&slot->job, &self->cfg.rbs, &self->cfg.tfeb, token, &req, &why) != 0) {
        pbk_request_clear(&req);
        s_finish_unknown(self, slot, "cannot build the bank request: %s", why);
        return;
    }
    slot->state = S_HTTP;
    int rc = s_http_start(self, &slot->http, &req, pbk_job_fresh_connection(&slot->job));
    pbk_request_clear(&req);
    if (rc != 0)
        s_finish_unknown(self, slot, "cannot start the %s request", pbk_bank_name(slot->job.bank));
}

/* Classifies a finished call and answers it, or sends a TFEB call once more
 * with a new token (pm_worker's on_slot_done). */
static void s_job_done(void *arg, void *slot_p, CURLcode code)
{
    s_worker_t *self = arg;
    s_job_t *slot = slot_p;
    pbk_answer_t a;
    s_http_answer(&slot->http, code, &a);
    pbk_result_t r;
    pbk_job_classify(&slot->job, &a, &r);
    if (r.auth_failed && slot->job.bank == PBK_BANK_TFEB && !slot->auth_retried) {
        pm_info("job %s: foreign_affairs_bank refused the access token, fetching another once",
                slot->job.id);
        pbk_tfeb_token_cache_invalidate(&self->cache, slot->token);
        slot->auth_retried = true;
        pm_http_clear(&slot->http);
        s_job_go(self, slot);
        return;
    }
    if (r.auth_failed && slot->job.bank == PBK_BANK_HALKBANK)
        pm_error("halkbank refused rbs-username %s or its rbs-password (job %s): an operator must "
                 "fix the settings",
                 self->cfg.rbs.username, slot->job.id);
    s_finish(self, slot, &r);
}

/* Answers every job waiting for a token unknown with why. */
static void s_token_fail_waiting(s_worker_t *self, const char *why)
{
    for (int i = 0; i < self->cfg.max_concurrency; i++)
        if (self->jobs[i].state == S_WAIT_TOKEN)
            s_finish_unknown(self, &self->jobs[i], "foreign_affairs_bank token fetch failed: %s",
                             why);
}

/* Fetches a TFEB access token unless a fetch is in flight. */
static void s_token_fetch(s_worker_t *self)
{
    pm_http_t *h = pm_worker_side(self->loop);
    if (h->easy) /* a fetch in flight */
        return;
    pbk_request_t req = {0};
    const char *why = NULL;
    if (pbk_tfeb_token_request(&self->cfg.tfeb, &req, &why) != 0) {
        pbk_request_clear(&req);
        pm_error("cannot build the tfeb token request: %s", why);
        s_token_fail_waiting(self, why);
        return;
    }
    int rc = s_http_start(self, h, &req, false);
    pbk_request_clear(&req);
    if (rc != 0) {
        pm_error("cannot start the tfeb token fetch");
        s_token_fail_waiting(self, "cannot start the request");
        return;
    }
}

/* The token fetch finished (pm_worker's on_side_done). */
static void s_token_done(void *arg, CURLcode code)
{
    s_worker_t *self = arg;
    pm_http_t *h = pm_worker_side(self->loop);
    pbk_answer_t a;
    s_http_answer(h, code, &a);
    char token[PBK_TFEB_TOKEN_MAX + 1];
    char why[PBK_REASON_MAX + 1];
    int64_t expires_in_s = 0;
    int rc = pbk_tfeb_token_parse(&a, token, sizeof token, &expires_in_s, why, sizeof why);
    long status = a.status;
    pm_http_clear(h);
    if (rc != 0) {
        pm_warn("tfeb token fetch failed: %s (http %ld)", why, status);
        s_token_fail_waiting(self, why);
        return;
    }
    pbk_tfeb_token_cache_set(&self->cache, token, expires_in_s, pm_mono_ms());
    pm_info("tfeb access token fetched, valid %lld s", (long long)expires_in_s);
    for (int i = 0; i < self->cfg.max_concurrency; i++)
        if (self->jobs[i].state == S_WAIT_TOKEN)
            s_job_go(self, &self->jobs[i]);
}

/* Takes one JOB map of a JOB_TAKE reply into a free slot, or drops it
 * (pm_worker's on_job). */
static void s_job_take(void *arg, const msgpack_object *o)
{
    s_worker_t *self = arg;
    s_job_t *slot = NULL;
    for (int i = 0; i < self->cfg.max_concurrency && !slot; i++)
        if (self->jobs[i].state == S_FREE)
            slot = &self->jobs[i];
    if (!slot) {
        char id[PBK_JOB_ID_MAX + 1] = "?";
        pm_mp_copy_str(o, "id", id, sizeof id);
        pm_warn("job %s offered while every slot is busy: left to its lease", id);
        return;
    }
    pbk_result_t r;
    int rc = pbk_job_decode(o, &slot->job, &r);
    if (rc == -2) {
        pm_warn("payment-core offered a job without a usable id: ignored");
        return;
    }
    slot->auth_retried = false;
    slot->token[0] = '\0';
    slot->started_ms = pm_mono_ms();
    slot->state = S_WAIT_TOKEN; /* busy; s_job_go moves it on */
    pm_worker_busy_add(self->loop, 1);
    if (rc != 0) {
        s_finish(self, slot, &r);
        return;
    }
    pm_debug("job %s %s %s attempt %lld order %s", slot->job.id, pbk_kind(slot->job.call),
             pbk_bank_name(slot->job.bank), (long long)slot->job.attempt,
             slot->job.call == PBK_REGISTER ? slot->job.order_number : slot->job.order_id);
    s_job_go(self, slot);
}

/* The JOB_TAKE kinds: the five bank_* (pm_worker's pack_kinds). */
static void s_pack_kinds(void *arg, msgpack_packer *pk)
{
    (void)arg;
    msgpack_pack_array(pk, PBK_CALLS);
    for (int i = 0; i < PBK_CALLS; i++)
        pm_mp_pack_cstr(pk, pbk_kind((pbk_call_t)i));
}

/* provider-bank on pm_worker's loop (the members in pm_worker_daemon_t's
 * order). */
static const pm_worker_daemon_t S_DAEMON = {
    S_PRINCIPAL,     "pbk",        0,          true,       sizeof(s_worker_t),
    sizeof(s_job_t), s_pack_kinds, s_job_take, s_job_done, s_token_done};

/* ---- life cycle ---------------------------------------------------------- */

pbk_worker_t *pbk_worker_new(const pbk_worker_config_t *cfg)
{
    assert(cfg && cfg->core_endpoint && cfg->max_concurrency >= 1);
    pm_worker_t *loop = pm_worker_new(&S_DAEMON, &(pm_worker_config_t){PM_WORKER_LIMITS_OF(cfg)});
    if (!loop) {
        pm_error("cannot start the worker (out of memory, curl or socket)");
        return NULL;
    }
    s_worker_t *self = pm_worker_ctx(loop);
    *self = (s_worker_t){.cfg = *cfg, .loop = loop, .jobs = pm_worker_slots(loop)};
    return loop;
}
