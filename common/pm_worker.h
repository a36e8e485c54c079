/*  pm_worker: the one event loop of a provider daemon.
 *
 *  provider-bazaar and provider-bank run the same loop: one thread owns a
 *  DEALER to payment-core's worker socket (pm_dealer) and one libcurl multi
 *  handle, whose connection cache serves every call. The socket's file
 *  descriptor is an extra descriptor of curl_multi_poll, so one wait serves
 *  both. No thread per job, no locks.
 *
 *  This module is that loop and its HTTP exchanges. One JOB_TAKE is
 *  outstanding at a time, for at most as many jobs as there are free slots;
 *  its reply may never come (core restarted, message dropped): after
 *  wait_ms plus a grace another is sent. Each job of a reply goes to the
 *  daemon's on_job, each finished transfer to its on_slot_done or
 *  on_side_done; what a job is, which call it makes and how its answer is
 *  classified stay in the daemon. The loop keeps the table of job slots
 *  (max_concurrency of the daemon's slot type, each beginning with its
 *  exchange), one exchange beside them (a token fetch) and the daemon's own
 *  state, which every callback gets; the daemon tells it how many slots are
 *  busy. A daemon's worker type is pm_worker_t itself, run and freed by
 *  pm_worker_run and pm_worker_destroy.
 *
 *  On pm_signal_stopping() the loop stops taking jobs, lets the jobs in
 *  flight finish for at most one http-timeout-ms (plus the daemon's extra)
 *  and returns; the rest are abandoned (their leases expire). */
#ifndef PM_WORKER_H
#define PM_WORKER_H
#include <curl/curl.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_log.h"

/* One HTTP exchange: in flight on the multi handle while easy is set. */
typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    char *post; /* request body, or NULL */
    char *resp; /* response body, at most max_response_bytes */
    size_t resp_len;
    bool too_large;
    size_t max;
    void *owner;                      /* the daemon's: kept across pm_http_clear */
    char trace[PM_LOG_TRACE_MAX + 1]; /* the log trace at the start: set again when it ends */
} pm_http_t;

/* One request for pm_worker_http_start. */
typedef struct {
    const char *url;
    char *body;               /* taken (freed with the exchange), or NULL */
    bool post;                /* a POST of body (NULL: empty), else a GET */
    const char *content_type; /* of a POST; NULL: application/octet-stream */
    const char *accept;       /* "Accept: " value, or NULL */
    const char *auth;         /* a whole header line with credentials, or NULL */
    bool fresh;               /* a new connection, never a reused one */
} pm_http_req_t;

typedef struct pm_worker_t pm_worker_t;

/* The loop's settings, members of pm_worker_config_t and of each daemon's
 * config (which main.c fills from its settings). */
#define PM_WORKER_SETTINGS                                                                         \
    const char *core_endpoint;  /* payment-core's worker socket */                                 \
    int64_t http_timeout_ms;    /* whole HTTP exchange */                                          \
    int64_t connect_timeout_ms; /* TCP (and TLS) connect */                                        \
    int max_concurrency;        /* jobs in flight, 1..256 */                                       \
    int64_t take_wait_ms;       /* JOB_TAKE wait_ms */                                             \
    size_t max_response_bytes;  /* larger answers are too large (the daemon's unknown) */          \
    int64_t max_msg_bytes       /* largest ZeroMQ message */

/* The designated initializers of pm_worker_config_t's settings from a
 * daemon config c (PM_WORKER_SETTINGS). */
#define PM_WORKER_LIMITS_OF(c)                                                                     \
    .core_endpoint = (c)->core_endpoint, .http_timeout_ms = (c)->http_timeout_ms,                  \
    .connect_timeout_ms = (c)->connect_timeout_ms, .max_concurrency = (c)->max_concurrency,        \
    .take_wait_ms = (c)->take_wait_ms, .max_response_bytes = (c)->max_response_bytes,              \
    .max_msg_bytes = (c)->max_msg_bytes

/* The loop's settings (a daemon's PM_WORKER_LIMITS_OF). */
typedef struct {
    PM_WORKER_SETTINGS;
} pm_worker_config_t;

/* What a daemon is to the loop: one static const per daemon, its members
 * in this order. */
typedef struct {
    const char *principal;    /* of every request; the name in logs and User-Agent */
    const char *trace_prefix; /* trace ids "<prefix>-<corr_id>" */
    int64_t stop_extra_ms;    /* the drain lasts http_timeout_ms plus this */
    bool stop_on_time;        /* wake at the drain's end, not at the next poll */
    size_t ctx_size;          /* the daemon's state, zeroed at first: every callback's arg */
    size_t slot_size;         /* sizeof the daemon's slot, which begins with its pm_http_t */
    /* Packs the JOB_TAKE "kinds" array. */
    void (*pack_kinds)(void *arg, msgpack_packer *pk);
    /* One job map of a JOB_TAKE reply (any shape payment-core sent). */
    void (*on_job)(void *arg, const msgpack_object *job);
    /* A slot's transfer finished (off the multi handle, not yet cleared). */
    void (*on_slot_done)(void *arg, void *slot, CURLcode code);
    /* The side exchange finished, the same way. */
    void (*on_side_done)(void *arg, CURLcode code);
} pm_worker_daemon_t;

/* Connects (lazily: payment-core may start later) and prepares libcurl
 * for daemon. daemon and cfg's strings are borrowed and must outlive the
 * worker. Returns a new worker (caller owns: pm_worker_destroy), or NULL. */
pm_worker_t *pm_worker_new(const pm_worker_daemon_t *daemon, const pm_worker_config_t *cfg);

/* Runs until pm_signal_stopping() and the drain (above). Returns 0, or -1
 * on a fatal error (logged). */
int pm_worker_run(pm_worker_t *self);

/* Drops every exchange (the slots' and the side one), frees the slots, the
 * daemon's state, the socket and the multi handle. Safe twice; nulls
 * *self_p. */
void pm_worker_destroy(pm_worker_t **self_p);

/* The daemon's state (daemon->ctx_size bytes). Valid until pm_worker_destroy. */
void *pm_worker_ctx(pm_worker_t *self);

/* The table of cfg.max_concurrency slots (daemon->slot_size bytes each), and the
 * exchange beside them (owner NULL). Valid until pm_worker_destroy. */
void *pm_worker_slots(pm_worker_t *self);
pm_http_t *pm_worker_side(pm_worker_t *self);

/* The daemon's count of busy slots: delta +1 when a job takes a slot, -1
 * when it frees it. */
void pm_worker_busy_add(pm_worker_t *self, int delta);
int pm_worker_busy(const pm_worker_t *self);

/* Initialises buf and pk and packs a JOB_RESULT up to the "data" key: the
 * caller packs the data value next, then calls pm_worker_result_send. */
void pm_worker_result_begin(pm_worker_t *self, msgpack_sbuffer *buf, msgpack_packer *pk,
                            const char *id, int64_t attempt, const char *outcome,
                            const char *reason);

/* Sends buf (a warning when payment-core is not connected: the job's lease
 * will expire) and destroys it. */
void pm_worker_result_send(pm_worker_t *self, msgpack_sbuffer *buf, const char *job_id);

/* Starts req on the multi handle (timeouts, max response size, no
 * redirects, http and https only); h->owner is kept. Returns 0, or -1 (h
 * cleared, the body freed). */
int pm_worker_http_start(pm_worker_t *self, pm_http_t *h, const pm_http_req_t *req);

/* Releases what the exchange holds (after it left the multi handle) but
 * keeps h->owner. */
void pm_http_clear(pm_http_t *h);

#endif
