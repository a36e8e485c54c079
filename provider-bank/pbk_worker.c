/*  pbk_worker: JOB_TAKE / JOB_RESULT on one DEALER, Halkbank and TFEB calls
 *  on one curl multi handle, one thread.
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
 *  One JOB_TAKE is outstanding at a time. Its reply may never come (core
 *  restarted, message dropped): after wait_ms plus a grace another is sent,
 *  and a late reply's jobs are still run when there is room (else dropped:
 *  their leases expire and core offers them again). A JOB_RESULT that
 *  cannot be sent is dropped the same way. */
#include "pbk_worker.h"

#include <assert.h>
#include <curl/curl.h>
#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbk_job.h"
#include "pm_dealer.h"
#include "pm_envelope.h"
#include "pm_log.h"
#include "pm_proto.h"
#include "pm_signal.h"
#include "pm_sock.h"
#include "pm_time.h"

#define S_USER_AGENT "paymesh-provider-bank/1"
#define S_PRINCIPAL "provider-bank"
#define S_TAKE_MAX 64         /* JOB_TAKE max, by pm_proto.h */
#define S_TAKE_GRACE_MS 3000  /* a take unanswered this long after wait_ms is lost */
#define S_RETRY_SEND_MS 200   /* pause after a send found no peer */
#define S_POLL_MAX_MS 100     /* longest single wait */
#define S_RESULT_TTL_MS 10000 /* deadline of a JOB_RESULT */
#define S_SOCK_HWM 1000

typedef enum { S_FREE = 0, S_WAIT_TOKEN, S_HTTP } s_state_t;

/* One HTTP exchange in flight: a job's call, or the TFEB token fetch. */
typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    char *post; /* request body, or NULL */
    char *resp; /* response body, at most max_response_bytes */
    size_t resp_len;
    bool too_large;
    size_t max;
    void *owner; /* s_job_t, or NULL for the token fetch */
} s_http_t;

typedef struct {
    s_state_t state;
    pbk_job_t job;
    bool auth_retried;                  /* TFEB: the token was refused once */
    char token[PBK_TFEB_TOKEN_MAX + 1]; /* TFEB: the token the call used */
    int64_t started_ms;                 /* monotonic */
    s_http_t http;
} s_job_t;

struct pbk_worker_t {
    pbk_worker_config_t cfg;
    zsock_t *dealer;
    CURLM *multi;
    s_job_t *jobs; /* cfg.max_concurrency slots */
    int busy;      /* slots not FREE */
    pbk_tfeb_token_cache_t cache;
    s_http_t token_http; /* the TFEB token fetch, when token_inflight */
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

/* Starts req on the multi handle; the body is taken from req (req->body is
 * NULL afterwards). fresh: a new connection, never a reused one. Returns 0,
 * or -1 (h cleared). */
static int s_http_start(pbk_worker_t *self, s_http_t *h, pbk_request_t *req, bool fresh)
{
    h->easy = curl_easy_init();
    h->post = req->body;
    req->body = NULL;
    h->max = self->cfg.max_response_bytes;
    if (!h->easy)
        goto fail;
    if (req->authorization[0] && s_http_header(h, req->authorization) != 0)
        goto fail;
    char line[128];
    if (req->accept) {
        snprintf(line, sizeof line, "Accept: %s", req->accept);
        if (s_http_header(h, line) != 0)
            goto fail;
    }
    if (req->post) {
        snprintf(line, sizeof line, "Content-Type: %s",
                 req->content_type ? req->content_type : "application/octet-stream");
        /* No "Expect: 100-continue" round trip before a small body. */
        if (s_http_header(h, line) != 0 || s_http_header(h, "Expect:") != 0)
            goto fail;
    }
    curl_easy_setopt(h->easy, CURLOPT_URL, req->url);
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
    if (req->post) {
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, h->post ? h->post : "");
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE, (long)(h->post ? strlen(h->post) : 0));
    }
    if (curl_multi_add_handle(self->multi, h->easy) != CURLM_OK)
        goto fail;
    return 0;
fail:
    s_http_clear(h);
    return -1;
}

/* What a finished transfer got back, for the clients' classifiers. Valid
 * while h is. */
static void s_http_answer(const s_http_t *h, CURLcode code, pbk_answer_t *a)
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

/* ---- ZeroMQ ------------------------------------------------------------ */

/* Starts a request of type in buf with the next correlation id; returns it. */
static uint64_t s_begin(pbk_worker_t *self, msgpack_sbuffer *buf, msgpack_packer *pk, uint32_t type,
                        int64_t ttl_ms)
{
    uint64_t corr_id = ++self->next_corr;
    pm_dealer_begin(buf, pk, type, corr_id, ttl_ms, S_PRINCIPAL, "pbk");
    return corr_id;
}

static void s_send_take(pbk_worker_t *self, int64_t now)
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
    msgpack_pack_array(&pk, PBK_CALLS);
    for (int i = 0; i < PBK_CALLS; i++)
        pm_mp_pack_cstr(&pk, pbk_kind((pbk_call_t)i));
    pm_mp_pack_cstr(&pk, "max");
    msgpack_pack_int(&pk, room);
    pm_mp_pack_cstr(&pk, "wait_ms");
    msgpack_pack_int64(&pk, self->cfg.take_wait_ms);
    if (pm_sock_send(self->dealer, buf.data, buf.size) == 0) {
        self->take_corr = corr_id;
        self->take_sent_ms = now;
    } else {
        self->next_send_ms = now + S_RETRY_SEND_MS; /* payment-core not connected */
    }
    msgpack_sbuffer_destroy(&buf);
}

/* Answers the job with r and frees its slot. */
static void s_finish(pbk_worker_t *self, s_job_t *slot, const pbk_result_t *r)
{
    const pbk_job_t *job = &slot->job;
    msgpack_sbuffer buf;
    msgpack_packer pk;
    s_begin(self, &buf, &pk, PM_MSG_JOB_RESULT, S_RESULT_TTL_MS);
    msgpack_pack_map(&pk, 5);
    pm_mp_pack_cstr(&pk, "id");
    pm_mp_pack_cstr(&pk, job->id);
    pm_mp_pack_cstr(&pk, "attempt");
    msgpack_pack_int64(&pk, job->attempt);
    pm_mp_pack_cstr(&pk, "outcome");
    pm_mp_pack_cstr(&pk, pbk_outcome_name(r->outcome));
    pm_mp_pack_cstr(&pk, "reason");
    pm_mp_pack_cstr(&pk, r->reason);
    pm_mp_pack_cstr(&pk, "data");
    pbk_job_pack_data(&pk, job, r);
    int64_t ms = pm_mono_ms() - slot->started_ms;
    if (pm_sock_send(self->dealer, buf.data, buf.size) != 0)
        pm_warn("cannot send result of job %s (payment-core not connected): its lease will expire",
                job->id);
    msgpack_sbuffer_destroy(&buf);
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
    s_http_clear(&slot->http);
    slot->state = S_FREE;
    self->busy--;
}

/* Answers the job unknown with a reason of ours. */
static void s_finish_unknown(pbk_worker_t *self, s_job_t *slot, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_finish_unknown(pbk_worker_t *self, s_job_t *slot, const char *fmt, ...)
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

static void s_token_fetch(pbk_worker_t *self);

/* Starts the job's call, or parks a TFEB job until an access token exists. */
static void s_job_go(pbk_worker_t *self, s_job_t *slot)
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
 * with a new token. */
static void s_job_done(pbk_worker_t *self, s_job_t *slot, CURLcode code)
{
    pbk_answer_t a;
    s_http_answer(&slot->http, code, &a);
    pbk_result_t r;
    pbk_job_classify(&slot->job, &a, &r);
    if (r.auth_failed && slot->job.bank == PBK_BANK_TFEB && !slot->auth_retried) {
        pm_info("job %s: foreign_affairs_bank refused the access token, fetching another once",
                slot->job.id);
        pbk_tfeb_token_cache_invalidate(&self->cache, slot->token);
        slot->auth_retried = true;
        s_http_clear(&slot->http);
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
static void s_token_fail_waiting(pbk_worker_t *self, const char *why)
{
    for (int i = 0; i < self->cfg.max_concurrency; i++)
        if (self->jobs[i].state == S_WAIT_TOKEN)
            s_finish_unknown(self, &self->jobs[i], "foreign_affairs_bank token fetch failed: %s",
                             why);
}

/* Fetches a TFEB access token unless a fetch is in flight. */
static void s_token_fetch(pbk_worker_t *self)
{
    if (self->token_inflight)
        return;
    pbk_request_t req = {0};
    const char *why = NULL;
    self->token_http.owner = NULL;
    if (pbk_tfeb_token_request(&self->cfg.tfeb, &req, &why) != 0) {
        pbk_request_clear(&req);
        pm_error("cannot build the tfeb token request: %s", why);
        s_token_fail_waiting(self, why);
        return;
    }
    int rc = s_http_start(self, &self->token_http, &req, false);
    pbk_request_clear(&req);
    if (rc != 0) {
        pm_error("cannot start the tfeb token fetch");
        s_token_fail_waiting(self, "cannot start the request");
        return;
    }
    self->token_inflight = true;
}

static void s_token_done(pbk_worker_t *self, CURLcode code)
{
    pbk_answer_t a;
    s_http_answer(&self->token_http, code, &a);
    char token[PBK_TFEB_TOKEN_MAX + 1];
    char why[PBK_REASON_MAX + 1];
    int64_t expires_in_s = 0;
    int rc = pbk_tfeb_token_parse(&a, token, sizeof token, &expires_in_s, why, sizeof why);
    long status = a.status;
    s_http_clear(&self->token_http);
    self->token_inflight = false;
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

/* Takes one JOB map of a JOB_TAKE reply into a free slot, or drops it. */
static void s_job_take(pbk_worker_t *self, const msgpack_object *o)
{
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
    self->busy++;
    if (rc != 0) {
        s_finish(self, slot, &r);
        return;
    }
    pm_debug("job %s %s %s attempt %lld order %s", slot->job.id, pbk_kind(slot->job.call),
             pbk_bank_name(slot->job.bank), (long long)slot->job.attempt,
             slot->job.call == PBK_REGISTER ? slot->job.order_number : slot->job.order_id);
    s_job_go(self, slot);
}

/* One reply from payment-core (pm_dealer_drain). */
static void s_on_reply(void *arg, const pm_dealer_reply_t *r)
{
    pbk_worker_t *self = arg;
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
static void s_reap(pbk_worker_t *self)
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

pbk_worker_t *pbk_worker_new(const pbk_worker_config_t *cfg)
{
    assert(cfg && cfg->core_endpoint && cfg->max_concurrency >= 1);
    pbk_worker_t *self = calloc(1, sizeof *self);
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
    /* Fresh connections are new ones beside the cached: room for both. */
    curl_multi_setopt(self->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg->max_concurrency + 1);
    curl_multi_setopt(self->multi, CURLMOPT_MAXCONNECTS, (long)cfg->max_concurrency + 1);
    self->dealer = pm_sock_dealer_connect(cfg->core_endpoint, S_SOCK_HWM, cfg->max_msg_bytes, true);
    if (!self->dealer)
        goto fail;
    return self;
fail:
    pm_error("cannot start the worker (out of memory, curl or socket)");
    pbk_worker_destroy(&self);
    return NULL;
}

int pbk_worker_run(pbk_worker_t *self)
{
    assert(self);
    int64_t stop_by = -1; /* monotonic; set when stopping */
    for (;;) {
        int64_t now = pm_mono_ms();
        if (pm_signal_stopping() && stop_by < 0) {
            stop_by = now + self->cfg.http_timeout_ms;
            pm_info("provider-bank stopping: %d jobs in flight", self->busy);
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
        if (stop_by >= 0 && stop_by - now < timeout)
            timeout = (int)(stop_by - now);
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

void pbk_worker_destroy(pbk_worker_t **self_p)
{
    assert(self_p);
    pbk_worker_t *self = *self_p;
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
