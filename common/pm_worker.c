/*  pm_worker: JOB_TAKE / JOB_RESULT on one DEALER, HTTP calls on one curl
 *  multi handle, one thread, for the provider daemons (pm_worker.h).
 *
 *  A JOB_TAKE asks for at most as many jobs as there are free slots; a late
 *  reply's jobs still go to on_job, which runs them when there is room
 *  (else drops them: their leases expire and core offers them again). A
 *  JOB_RESULT that cannot be sent is dropped the same way. */
#include "pm_worker.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_dealer.h"
#include "pm_envelope.h"
#include "pm_log.h"
#include "pm_proto.h"
#include "pm_signal.h"
#include "pm_sock.h"
#include "pm_time.h"

#define S_TAKE_MAX 64         /* JOB_TAKE max, by pm_proto.h */
#define S_TAKE_GRACE_MS 3000  /* a take unanswered this long after wait_ms is lost */
#define S_RETRY_SEND_MS 200   /* pause after a send found no peer */
#define S_POLL_MAX_MS 100     /* longest single wait */
#define S_RESULT_TTL_MS 10000 /* deadline of a JOB_RESULT */
#define S_SOCK_HWM 1000

struct pm_worker_t {
    pm_worker_config_t cfg;
    const pm_worker_daemon_t *d;
    zsock_t *dealer;
    CURLM *multi;
    char user_agent[80]; /* "paymesh-<principal>/1" */
    void *ctx;           /* the daemon's, daemon->ctx_size bytes */
    char *slots;         /* cfg.max_concurrency of daemon->slot_size bytes */
    pm_http_t side;      /* beside the slots, owner NULL */
    int busy;            /* the daemon's slots not free */
    uint64_t next_corr;
    uint64_t take_corr;   /* outstanding JOB_TAKE, 0: none */
    int64_t take_sent_ms; /* monotonic */
    int64_t next_send_ms; /* no JOB_TAKE before this (no peer) */
};

/* ---- HTTP -------------------------------------------------------------- */

static size_t s_on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    pm_http_t *h = arg;
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

void pm_http_clear(pm_http_t *h)
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

/* Takes h off the multi handle if it is on it, and clears it. */
static void s_http_drop(pm_worker_t *self, pm_http_t *h)
{
    if (h->easy)
        curl_multi_remove_handle(self->multi, h->easy);
    pm_http_clear(h);
}

/* Adds one header line to h; -1 on out of memory. */
static int s_http_header(pm_http_t *h, const char *line)
{
    struct curl_slist *l = curl_slist_append(h->headers, line);
    if (!l)
        return -1;
    h->headers = l;
    return 0;
}

int pm_worker_http_start(pm_worker_t *self, pm_http_t *h, const pm_http_req_t *req)
{
    h->easy = curl_easy_init();
    h->post = req->body;
    snprintf(h->trace, sizeof h->trace, "%s", pm_log_trace());
    h->max = self->cfg.max_response_bytes;
    if (!h->easy)
        goto fail;
    if (req->auth && s_http_header(h, req->auth) != 0)
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
    curl_easy_setopt(h->easy, CURLOPT_USERAGENT, self->user_agent);
    curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req->fresh)
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
    pm_http_clear(h);
    return -1;
}

/* Ends every finished transfer. */
static void s_reap(pm_worker_t *self)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode code = m->data.result;
        pm_http_t *h = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&h);
        curl_multi_remove_handle(self->multi, easy);
        assert(h);
        pm_log_trace_set(h->trace); /* the job's, while its answer is handled */
        if (h == &self->side)
            self->d->on_side_done(self->ctx, code);
        else
            self->d->on_slot_done(self->ctx, h->owner, code);
        pm_log_trace_set(NULL);
    }
}

/* ---- ZeroMQ ------------------------------------------------------------ */

/* Starts a request of type in buf with the next correlation id; returns it. */
static uint64_t s_begin(pm_worker_t *self, msgpack_sbuffer *buf, msgpack_packer *pk, uint32_t type,
                        int64_t ttl_ms)
{
    uint64_t corr_id = ++self->next_corr;
    pm_dealer_begin(buf, pk, type, corr_id, ttl_ms, self->d->principal, self->d->trace_prefix);
    return corr_id;
}

static void s_send_take(pm_worker_t *self, int64_t now)
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
    self->d->pack_kinds(self->ctx, &pk);
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

void pm_worker_result_begin(pm_worker_t *self, msgpack_sbuffer *buf, msgpack_packer *pk,
                            const char *id, int64_t attempt, const char *outcome,
                            const char *reason)
{
    s_begin(self, buf, pk, PM_MSG_JOB_RESULT, S_RESULT_TTL_MS);
    msgpack_pack_map(pk, 5);
    pm_mp_pack_cstr(pk, "id");
    pm_mp_pack_cstr(pk, id);
    pm_mp_pack_cstr(pk, "attempt");
    msgpack_pack_int64(pk, attempt);
    pm_mp_pack_cstr(pk, "outcome");
    pm_mp_pack_cstr(pk, outcome);
    pm_mp_pack_cstr(pk, "reason");
    pm_mp_pack_cstr(pk, reason);
    pm_mp_pack_cstr(pk, "data");
}

void pm_worker_result_send(pm_worker_t *self, msgpack_sbuffer *buf, const char *job_id)
{
    if (pm_sock_send(self->dealer, buf->data, buf->size) != 0)
        pm_warn("cannot send result of job %s (payment-core not connected): its lease will expire",
                job_id);
    msgpack_sbuffer_destroy(buf);
}

/* One reply from payment-core (pm_dealer_drain). */
static void s_on_reply(void *arg, const pm_dealer_reply_t *r)
{
    pm_worker_t *self = arg;
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
    for (uint32_t i = 0; i < jobs->via.array.size; i++) {
        /* The trace of the request that made the job, on every line about it. */
        char trace[PM_TRACE_MAX + 1] = "";
        if (pm_mp_copy_str(&jobs->via.array.ptr[i], "trace", trace, sizeof trace) != 0)
            trace[0] = '\0';
        pm_log_trace_set(trace);
        self->d->on_job(self->ctx, &jobs->via.array.ptr[i]);
        pm_log_trace_set(NULL);
    }
}

/* ---- life cycle ---------------------------------------------------------- */

/* The exchange of slot i. */
static pm_http_t *s_slot_http(pm_worker_t *self, int i)
{
    return (pm_http_t *)(self->slots + (size_t)i * self->d->slot_size);
}

void *pm_worker_ctx(pm_worker_t *self)
{
    return self->ctx;
}

void *pm_worker_slots(pm_worker_t *self)
{
    return self->slots;
}

pm_http_t *pm_worker_side(pm_worker_t *self)
{
    return &self->side;
}

void pm_worker_busy_add(pm_worker_t *self, int delta)
{
    self->busy += delta;
    assert(self->busy >= 0 && self->busy <= self->cfg.max_concurrency);
}

int pm_worker_busy(const pm_worker_t *self)
{
    return self->busy;
}

pm_worker_t *pm_worker_new(const pm_worker_daemon_t *daemon, const pm_worker_config_t *cfg)
{
    assert(daemon && cfg && cfg->core_endpoint && cfg->max_concurrency >= 1);
    assert(daemon->pack_kinds && daemon->on_job && daemon->on_slot_done && daemon->on_side_done &&
           daemon->ctx_size > 0);
    assert(daemon->slot_size >= sizeof(pm_http_t));
    pm_worker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->d = daemon;
    snprintf(self->user_agent, sizeof self->user_agent, "paymesh-%s/1", daemon->principal);
    self->ctx = calloc(1, daemon->ctx_size);
    self->slots = calloc((size_t)cfg->max_concurrency, daemon->slot_size);
    if (!self->ctx || !self->slots)
        goto fail;
    for (int i = 0; i < cfg->max_concurrency; i++)
        s_slot_http(self, i)->owner = self->slots + (size_t)i * daemon->slot_size;
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
    pm_worker_destroy(&self);
    return NULL;
}

int pm_worker_run(pm_worker_t *self)
{
    assert(self);
    int64_t stop_by = -1; /* monotonic; set when stopping */
    for (;;) {
        int64_t now = pm_mono_ms();
        if (pm_signal_stopping() && stop_by < 0) {
            stop_by = now + self->cfg.http_timeout_ms + self->d->stop_extra_ms;
            pm_info("%s stopping: %d jobs in flight", self->d->principal, self->busy);
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
        if (self->d->stop_on_time && stop_by >= 0 && stop_by - now < timeout)
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

void pm_worker_destroy(pm_worker_t **self_p)
{
    assert(self_p);
    pm_worker_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; self->slots && i < self->cfg.max_concurrency; i++)
        s_http_drop(self, s_slot_http(self, i));
    s_http_drop(self, &self->side);
    if (self->multi)
        curl_multi_cleanup(self->multi);
    zsock_destroy(&self->dealer);
    free(self->slots);
    free(self->ctx);
    free(self);
    *self_p = NULL;
}
