/*  pb_worker: provider-bazaar's one event loop.
 *
 *  The loop is pm_worker's (one thread, one DEALER to payment-core's worker
 *  socket, one libcurl multi handle). It asks for jobs (JOB_TAKE, at most
 *  as many as it has free slots), runs each job's HTTP call, to Cafe
 *  Bazaar's developer API (bazaar_validate, bazaar_consume) or to
 *  BazaarPay's merchant API (bazaarpay_init, _trace, _commit, _refund),
 *  concurrently on the multi handle (which keeps the connection cache, so
 *  connections are reused), and answers each job with JOB_RESULT.
 *
 *  Nothing is kept on disk: a job leased to a worker that dies is offered
 *  again by payment-core after its lease, so a kill loses nothing. Every call
 *  may run twice: validate and trace read, consume tolerates
 *  already_consumed, refund is idempotent per checkout at BazaarPay, a second
 *  init only leaves an unpaid checkout behind, and a commit whose lease ran
 *  out is decided by the retry protocol (a trace first), not re-sent. */
#ifndef PB_WORKER_H
#define PB_WORKER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_worker.h"

typedef struct {
    PM_WORKER_SETTINGS;   /* the loop's: endpoint, timeouts, limits */
    const char *base_url; /* Bazaar devapi base, ending with '/' */
    const char *package_name;
    bool pishkhan;         /* auth by Pishkhan secret header, else OAuth */
    const char *client_id; /* OAuth */
    const char *client_secret;
    const char *refresh_token;
    const char *pishkhan_secret;
    bool bazaarpay;                    /* take the bazaarpay_* kinds too */
    const char *bazaarpay_base_url;    /* BazaarPay merchant API, ending with '/' */
    const char *bazaarpay_token;       /* merchant token (Authorization: Token ..) */
    const char *bazaarpay_destination; /* merchant name, init's "destination" */
} pb_worker_config_t;

/* The worker is pm_worker's loop with this daemon's jobs. */
typedef pm_worker_t pb_worker_t;

/* Connects (lazily: payment-core may start later) and prepares libcurl.
 * cfg's strings are borrowed and must outlive the worker. Returns a new
 * worker (caller owns: pb_worker_destroy), or NULL (logged). */
pb_worker_t *pb_worker_new(const pb_worker_config_t *cfg);

/* Runs until pm_signal_stopping(): then stops taking jobs, lets the jobs in
 * flight finish for at most one http-timeout-ms and abandons the rest (their
 * leases expire). Returns 0, or -1 on a fatal error (logged). */
#define pb_worker_run pm_worker_run

/* Frees it and the transfers in flight (pm_worker_destroy). Safe twice;
 * nulls *self_p. */
#define pb_worker_destroy pm_worker_destroy

#endif
