/*  pbk_worker: provider-bank's one event loop.
 *
 *  The loop is pm_worker's (one thread, one DEALER to payment-core's worker
 *  socket, one libcurl multi handle). It asks for bank jobs (JOB_TAKE for
 *  the five bank_* kinds, at most as many as it has free slots), runs each
 *  job's one bank call concurrently on the multi handle, and answers each
 *  with JOB_RESULT.
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
#include "pm_worker.h"

typedef struct {
    PM_WORKER_SETTINGS;      /* the loop's: endpoint, timeouts, limits */
    pbk_rbs_account_t rbs;   /* Halkbank: base URL, API user, password */
    pbk_tfeb_account_t tfeb; /* TFEB: URLs, OAuth client, merchant, terminal */
} pbk_worker_config_t;

/* The worker is pm_worker's loop with this daemon's jobs. */
typedef pm_worker_t pbk_worker_t;

/* Connects (lazily: payment-core may start later) and prepares libcurl.
 * cfg's strings are borrowed and must outlive the worker; the accounts must
 * have passed pbk_rbs_account_check and pbk_tfeb_account_check. Returns a
 * new worker (caller owns: pbk_worker_destroy), or NULL (logged). */
pbk_worker_t *pbk_worker_new(const pbk_worker_config_t *cfg);

/* Runs it (pm_worker_run): on pm_signal_stopping() the jobs in flight get
 * at most one http-timeout-ms. 0, or -1 (fatal, logged). */
#define pbk_worker_run pm_worker_run

/* Frees it and the transfers in flight (pm_worker_destroy). Safe twice;
 * nulls *self_p. */
#define pbk_worker_destroy pm_worker_destroy

#endif
