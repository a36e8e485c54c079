/*  pb_worker: JOB_TAKE / JOB_RESULT on one DEALER, Bazaar calls on one curl
 *  multi handle, one thread.
 *
 *  A job moves FREE -> (WAIT_TOKEN ->) HTTP -> FREE. With OAuth, a job that
 *  finds no fresh access token waits for the one token refresh in flight
 *  (all waiting jobs share it); a 401 from the API forgets that token and
 *  sends the job round once more, after which a 401 is an unknown outcome.
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
#define S_SERIAL_MAX 32       /* bytes of a purchase serial */
#define S_SOCK_HWM 1000

typedef enum { S_FREE = 0, S_WAIT_TOKEN, S_HTTP } s_state_t;

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
    bool consume; /* bazaar_consume, else bazaar_validate */
    char sku[S_SKU_MAX + 1];
    char token[S_TOKEN_MAX + 1];
    char serial[S_SERIAL_MAX + 1];
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

/* Starts a GET (post NULL) or POST of url on the multi handle. post is
 * taken. content_type is for the POST. Returns 0, or -1 (h cleared). */
static int s_http_start(pb_worker_t *self, s_http_t *h, const char *url, char *post,
                        const char *content_type)
{
    h->easy = curl_easy_init();
    h->post = post;
    h->max = self->cfg.max_response_bytes;
    if (!h->easy)
        goto fail;
    if (self->cfg.pishkhan && h->owner) {
        char line[600];
        snprintf(line, sizeof line, "CAFEBAZAAR-PISHKHAN-API-SECRET: %s",
                 self->cfg.pishkhan_secret);
        h->headers = curl_slist_append(h->headers, line);
        if (!h->headers)
            goto fail;
    }
    if (content_type) {
        char line[128];
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        struct curl_slist *l = curl_slist_append(h->headers, line);
        if (!l)
            goto fail;
        h->headers = l;
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

static void s_header(pb_worker_t *self, pm_header_t *h, uint32_t type, int64_t ttl_ms)
{
    memset(h, 0, sizeof *h);
    h->type = type;
    h->corr_id = ++self->next_corr;
    h->deadline_ms = pm_now_ms() + ttl_ms;
    snprintf(h->principal, sizeof h->principal, "%s", S_PRINCIPAL);
    snprintf(h->trace_id, sizeof h->trace_id, "pb-%llu", (unsigned long long)h->corr_id);
}

static void s_send_take(pb_worker_t *self, int64_t now)
{
    int room = self->cfg.max_concurrency - self->busy;
    if (room > S_TAKE_MAX)
        room = S_TAKE_MAX;
    pm_header_t h;
    s_header(self, &h, PM_MSG_JOB_TAKE, self->cfg.take_wait_ms + S_TAKE_GRACE_MS);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_envelope_pack_header(&buf, &h);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pm_mp_pack_cstr(&pk, "kinds");
    msgpack_pack_array(&pk, 2);
    pm_mp_pack_cstr(&pk, "bazaar_validate");
    pm_mp_pack_cstr(&pk, "bazaar_consume");
    pm_mp_pack_cstr(&pk, "max");
    msgpack_pack_int(&pk, room);
    pm_mp_pack_cstr(&pk, "wait_ms");
    msgpack_pack_int64(&pk, self->cfg.take_wait_ms);
    if (s_send(self, &buf) == 0) {
        self->take_corr = h.corr_id;
        self->take_sent_ms = now;
    } else {
        self->next_send_ms = now + S_RETRY_SEND_MS; /* payment-core not connected */
    }
    msgpack_sbuffer_destroy(&buf);
}

/* Answers the job and frees its slot. */
static void s_finish(pb_worker_t *self, s_job_t *job, const pb_result_t *r)
{
    pm_header_t h;
    s_header(self, &h, PM_MSG_JOB_RESULT, S_RESULT_TTL_MS);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    pm_envelope_pack_header(&buf, &h);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    pm_mp_pack_cstr(&pk, "id");
    pm_mp_pack_cstr(&pk, job->id);
    pm_mp_pack_cstr(&pk, "attempt");
    msgpack_pack_int64(&pk, job->attempt);
    pm_mp_pack_cstr(&pk, "outcome");
    pm_mp_pack_cstr(&pk, pb_outcome_name(r->outcome));
    pm_mp_pack_cstr(&pk, "reason");
    pm_mp_pack_cstr(&pk, r->reason);
    pm_mp_pack_cstr(&pk, "data");
    if (!job->consume && r->outcome == PB_OK) {
        msgpack_pack_map(&pk, 2);
        pm_mp_pack_cstr(&pk, "purchase_time_ms");
        if (r->has_time)
            msgpack_pack_int64(&pk, r->purchase_time_ms);
        else
            msgpack_pack_nil(&pk);
        pm_mp_pack_cstr(&pk, "developer_payload");
        pm_mp_pack_cstr(&pk, r->has_payload ? r->developer_payload : NULL);
    } else {
        msgpack_pack_map(&pk, 0);
    }
    int64_t ms = pm_mono_ms() - job->started_ms;
    if (s_send(self, &buf) != 0)
        pm_warn("cannot send result of job %s (payment-core not connected): its lease will expire",
                job->id);
    int level = r->outcome == PB_UNKNOWN ? PM_LOG_WARN : PM_LOG_INFO;
    pm_log(level, "job %s %s attempt %lld token %.12s...: %s%s%s (%lld ms)", job->id,
           job->consume ? "bazaar_consume" : "bazaar_validate", (long long)job->attempt, job->token,
           pb_outcome_name(r->outcome), r->reason[0] ? " " : "", r->reason, (long long)ms);
    msgpack_sbuffer_destroy(&buf);
    s_http_clear(&job->http);
    job->state = S_FREE;
    self->busy--;
}

static void s_finish_unknown(pb_worker_t *self, s_job_t *job, const char *why)
{
    pb_result_t r;
    memset(&r, 0, sizeof r);
    r.outcome = PB_UNKNOWN;
    snprintf(r.reason, sizeof r.reason, "%s", why);
    s_finish(self, job, &r);
}

/* ---- jobs --------------------------------------------------------------- */

static void s_token_fetch(pb_worker_t *self);

/* Starts the job's Bazaar call, or parks it until an access token exists. */
static void s_job_go(pb_worker_t *self, s_job_t *job)
{
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
    char url[PB_URL_MAX];
    int rc;
    char *post = NULL;
    if (job->consume) {
        rc = pb_url_consume(url, sizeof url, self->cfg.base_url, self->cfg.package_name, access);
        if (rc == 0 && !(post = pb_consume_body(job->token)))
            rc = -1;
    } else {
        rc = pb_url_validate(url, sizeof url, self->cfg.base_url, self->cfg.package_name, job->sku,
                             job->token, access);
    }
    if (rc != 0) {
        free(post);
        s_finish_unknown(self, job, "cannot build the bazaar request");
        return;
    }
    job->state = S_HTTP;
    if (s_http_start(self, &job->http, url, post, post ? "application/json" : NULL) != 0)
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

static void s_job_done(pb_worker_t *self, s_job_t *job, CURLcode code)
{
    pb_result_t r;
    if (code != CURLE_OK) {
        char why[PB_REASON_MAX + 1];
        s_transport_reason(code, &job->http, why, sizeof why);
        s_finish_unknown(self, job, why);
        return;
    }
    long status = 0;
    curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
    if (job->consume)
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
    s_finish(self, job, &r);
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
        s_http_start(self, &self->token_http, url, form, "application/x-www-form-urlencoded") !=
            0) {
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

/* Takes one JOB map of a JOB_TAKE reply into a free slot, or drops it. */
static void s_job_take(pb_worker_t *self, const msgpack_object *o)
{
    s_job_t *job = NULL;
    for (int i = 0; i < self->cfg.max_concurrency && !job; i++)
        if (self->jobs[i].state == S_FREE)
            job = &self->jobs[i];
    char id[S_ID_MAX + 1], kind[32];
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
    bool ok = pm_mp_copy_str(o, "kind", kind, sizeof kind) == 0 &&
              pm_mp_get_int(o, "attempt", &job->attempt) == 0 && payload &&
              payload->type == MSGPACK_OBJECT_MAP &&
              pm_mp_copy_str(payload, "sku", job->sku, sizeof job->sku) == 0 &&
              pm_mp_copy_str(payload, "token", job->token, sizeof job->token) == 0 && job->sku[0] &&
              job->token[0];
    if (ok && strcmp(kind, "bazaar_consume") == 0) {
        job->consume = true;
    } else if (ok && strcmp(kind, "bazaar_validate") == 0) {
        if (pm_mp_copy_str(payload, "purchase_serial", job->serial, sizeof job->serial) != 0)
            job->serial[0] = '\0'; /* for logs only */
    } else {
        ok = false;
    }
    if (!ok) {
        s_finish_unknown(self, job, "malformed job");
        return;
    }
    pm_debug("job %s %s attempt %lld purchase %s", job->id, kind, (long long)job->attempt,
             job->serial);
    s_job_go(self, job);
}

static void s_on_reply(pb_worker_t *self, const void *data, size_t size)
{
    pm_header_t partial;
    bool header_ok = false;
    char err[128];
    pm_envelope_t *env = pm_envelope_decode(data, size, (size_t)self->cfg.max_msg_bytes, &partial,
                                            &header_ok, err, sizeof err);
    if (!env) {
        pm_warn("malformed message from payment-core: %s", err);
        return;
    }
    const pm_header_t *h = pm_envelope_header(env);
    const msgpack_object *body = pm_envelope_body(env);
    int64_t e = -1;
    if (h->type != PM_MSG_REPLY || pm_mp_get_int(body, "err", &e) != 0) {
        pm_warn("unexpected message from payment-core (type %u)", h->type);
        goto done;
    }
    bool is_take = h->corr_id == self->take_corr;
    if (is_take)
        self->take_corr = 0;
    if (e != 0) {
        char msg[128] = "";
        pm_mp_copy_str(body, "msg", msg, sizeof msg);
        pm_warn("payment-core refused request %llu: err %lld %s", (unsigned long long)h->corr_id,
                (long long)e, msg);
        if (is_take)
            self->next_send_ms = pm_mono_ms() + S_RETRY_SEND_MS;
        goto done;
    }
    const msgpack_object *jobs = pm_mp_get(body, "jobs");
    if (!jobs) /* a JOB_RESULT acknowledgement */
        goto done;
    if (jobs->type != MSGPACK_OBJECT_ARRAY) {
        pm_warn("payment-core sent a JOB_TAKE reply without a job list");
        goto done;
    }
    for (uint32_t i = 0; i < jobs->via.array.size; i++)
        s_job_take(self, &jobs->via.array.ptr[i]);
done:
    pm_envelope_destroy(&env);
}

/* Reads every message waiting on the DEALER. */
static void s_drain_socket(pb_worker_t *self)
{
    void *sock = zsock_resolve(self->dealer);
    while (zsock_events(self->dealer) & ZMQ_POLLIN) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        bool more = zmq_msg_more(&msg);
        if (!more)
            s_on_reply(self, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
        while (more) { /* a multi-frame message is not ours: skip it whole */
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
    }
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
        s_drain_socket(self);
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
