/*  core: payment-core's main loop: three ROUTER sockets, group commit, sweep.
 *
 *  Each turn waits on the sockets (api, admin, worker) at most until the
 *  dispatcher's next timed event (a parked request's deadline, a job
 *  becoming due for a waiting worker), then drains up to max_batch requests
 *  that are already waiting (non-blocking receives, round robin over the
 *  sockets so none starves the others), hands them to dispatch as one batch
 *  (one transaction, one fsync; an empty batch when only time passed), and
 *  only then sends the replies and the batch's outbox (parked requests
 *  answered).
 *  Between turns it sweeps expired idempotency keys in its own short
 *  transaction every sweep_interval_ms. Single-threaded: this loop is the
 *  store's only writer. */
#ifndef CORE_H
#define CORE_H
#include <stdint.h>

#include "dispatch.h"
#include "db.h"
#include "pm_sock.h"

typedef struct {
    const char *api_endpoint;    /* ROUTER for gateways, e.g. tcp://127.0.0.1:7100 */
    const char *admin_endpoint;  /* ROUTER for paymentctl, e.g. ipc://./var/admin.sock */
    const char *worker_endpoint; /* ROUTER for provider workers, e.g. tcp://127.0.0.1:7101 */
    dispatch_limits_t limits;    /* store and job settings (amount and size set by core) */
    int max_batch;               /* requests per transaction */
    int64_t max_msg_bytes;       /* largest frame libzmq accepts and we decode */
    int hwm;                     /* socket queue depth, messages */
    int64_t idem_ttl_s;          /* idempotency keys live at least this long */
    int64_t sweep_interval_ms;   /* time between sweeps */
    int64_t sweep_batch;         /* keys deleted per sweep at most */
    int64_t max_amount_minor;    /* largest amount accepted */
    /* CURVE on the api and worker sockets (never the admin one): the
     * server's keys and the directory of accepted client public keys
     * (zauth); both NULL: plaintext. */
    const pm_curve_keys_t *curve;
    const char *curve_clients_dir;
} core_config_t;

typedef struct core_t core_t;

/* Binds the three sockets. store is borrowed and must outlive the core; the
 * strings of cfg are borrowed too. Returns a new core (caller owns), or NULL
 * when a bind fails (logged). */
core_t *core_new(db_t *db, const core_config_t *cfg);

void core_destroy(core_t **self_p);

/* The endpoints actually bound (a tcp port 0 resolved to the port the
 * kernel chose). Borrowed; valid until core_destroy. */
const char *core_api_endpoint(const core_t *self);
const char *core_admin_endpoint(const core_t *self);
const char *core_worker_endpoint(const core_t *self);

/* Serves until pm_signal_stopping(). Returns 0, or -1 when the sockets fail
 * for another reason (logged). */
int core_run(core_t *self);

/* Deletes idempotency keys older than the ttl at now_ms (at most
 * sweep_batch), in its own transaction. Returns the number deleted, or -1. */
int64_t core_sweep(core_t *self, int64_t now_ms);

#endif
