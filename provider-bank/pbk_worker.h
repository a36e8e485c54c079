/*  pbk_worker: provider-bank's one event loop.
 *
 *  One thread owns a DEALER to payment-core's worker socket and one libcurl
 *  multi handle. It asks for bank jobs (JOB_TAKE for the five bank_* kinds,
 *  at most as many as it has free slots), runs each job's one bank call
 *  concurrently on the multi handle, and answers each with JOB_RESULT. The
 *  socket's file descriptor is an extra descriptor of curl_multi_poll, so
 *  one wait serves both. No thread per job, no locks.
 *
 *  Nothing is kept on disk: a job leased to a worker that dies is offered
 *  again by payment-core after its lease, so a kill loses nothing. Every
 *  call may run twice: a status reads, a second register of the same order
 *  number is refused by RBS as a duplicate, and a deposit, reverse or
 *  refund of unknown outcome is traced by payment-core with bank_status
 *  before anything is sent again (pm_proto.h, "Bank jobs"). */
#ifndef PBK_WORKER_H
#define PBK_WORKER_H
#include <stddef.h>
#include <stdint.h>

#include "pbk_rbs.h"
#include "pbk_tfeb.h"

typedef struct {
    const char *core_endpoint;  /* payment-core's worker socket */
    pbk_rbs_account_t rbs;      /* Halkbank: base URL, API user, password */
    pbk_tfeb_account_t tfeb;    /* TFEB: URLs, OAuth client, merchant, terminal */
    int64_t http_timeout_ms;    /* whole HTTP exchange */
    int64_t connect_timeout_ms; /* TCP (and TLS) connect */
    int max_concurrency;        /* jobs in flight, 1..256 */
    int64_t take_wait_ms;       /* JOB_TAKE wait_ms */
    size_t max_response_bytes;  /* larger answers are unknown */
    int64_t max_msg_bytes;      /* largest ZeroMQ message */
} pbk_worker_config_t;

typedef struct pbk_worker_t pbk_worker_t;

/* Connects (lazily: payment-core may start later) and prepares libcurl.
 * cfg's strings are borrowed and must outlive the worker; the accounts must
 * have passed pbk_rbs_account_check and pbk_tfeb_account_check. Returns a
 * new worker (caller owns: pbk_worker_destroy), or NULL (logged). */
pbk_worker_t *pbk_worker_new(const pbk_worker_config_t *cfg);

/* Runs until pm_signal_stopping(): then stops taking jobs, lets the jobs in
 * flight finish for at most one http-timeout-ms and abandons the rest
 * (their leases expire). Returns 0, or -1 on a fatal error (logged). */
int pbk_worker_run(pbk_worker_t *self);

/* Frees everything. Safe twice; nulls *self_p. */
void pbk_worker_destroy(pbk_worker_t **self_p);

#endif
