/*  dispatch: turns a batch of request frames into reply frames, with every
 *  write of the batch committed in one transaction (group commit).
 *
 *  This is payment-core without its sockets: core receives the frames that
 *  are waiting, hands them here, and sends what comes back. Because it
 *  touches no socket it can be driven directly by unit tests.
 *
 *  dispatch_batch, for items[0..n):
 *    1. decodes each frame (malformed: a validation reply when the header
 *       decoded, else dropped with a warning);
 *    2. routes it by type, refusing types the item's socket may not send;
 *    3. drops requests whose deadline has passed (the requester has already
 *       answered 503);
 *    4. runs each request inside its own child of ONE write transaction:
 *       committed into the parent when the request succeeds or was refused by
 *       the payment's state, aborted when it fails, so a failing request
 *       leaves nothing behind while its neighbours keep their effects;
 *    5. commits the parent once (one fsync for the whole batch);
 *    6. only then fills the replies. If the commit fails, every reply of the
 *       batch becomes "unavailable": nothing is acknowledged that is not on
 *       disk.
 *
 *  dispatch_reads, called before dispatch_batch on the same items, answers
 *  at once the requests that cannot write (reads, pings, and requests
 *  refused before any storage access) from a read-only snapshot of the last
 *  commit, so a read never waits behind the fsync of the writes that
 *  arrived with it and never sees anything uncommitted. dispatch_batch then
 *  leaves those items alone. */
#ifndef DISPATCH_H
#define DISPATCH_H
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_envelope.h"
#include "pm_proto.h"
#include "db.h"

typedef enum {
    DISPATCH_SRC_API = 1,    /* the api ROUTER: gateways; payment, AUTH, PING */
    DISPATCH_SRC_ADMIN = 2,  /* the admin ROUTER: paymentctl; ADMIN_*, PING */
    DISPATCH_SRC_WORKER = 4, /* the worker ROUTER: providers; JOB_*, PING */
} dispatch_src_t;

/* Zero in any field but the first two means its default (in brackets). */
typedef struct {
    int64_t max_amount_minor; /* largest amount_minor accepted */
    int64_t max_msg_bytes;    /* largest frame decoded */
    int64_t max_packages;     /* catalog size [10000] */
    int64_t max_waiters;      /* parked redeem requests [10000] */
    int64_t job_lease_ms;     /* a taken job is offered again after [30000] */
    int64_t job_max_attempts; /* leases before a job is parked whatever retry-worker says [1000] */
    int64_t
        bazaarpay_commit_window_ms; /* BazaarPay refunds an uncommitted payment after [600000] */
    const char *bank_return_url; /* where a bank sends the payer back (borrowed; NULL: sandbox) */
    bool halkbank_two_phase;     /* register Halkbank orders as pre-authorizations [false] */
} dispatch_limits_t;

/* One request of a batch and, afterwards, its reply. */
typedef struct {
    /* In: set by the caller. */
    dispatch_src_t src;
    const void *frame; /* the envelope; borrowed during dispatch_batch */
    size_t frame_size;
    const void *peer; /* the sender's routing id (kept when parked); may be NULL */
    size_t peer_len;  /* <= 255 */
    /* Out: set by dispatch_batch. */
    bool has_reply;        /* false: dropped (malformed header, expired) or parked */
    bool parked;           /* answered later, through the outbox */
    msgpack_sbuffer reply; /* the reply frame, when has_reply */
    bool early;            /* answered by dispatch_reads: send now, then clear */
    /* Private to dispatch. */
    pm_envelope_t *env_; /* decoded by dispatch_reads for dispatch_batch */
    pm_header_t header_;
    bool header_ok_;
} dispatch_item_t;

/* Prepares / releases an item's reply buffer (kept across batches). */
void dispatch_item_init(dispatch_item_t *item);
void dispatch_item_fini(dispatch_item_t *item);

typedef struct dispatch_t dispatch_t;

/* store is borrowed and must outlive the dispatcher; limits are copied.
 * Caller owns the result. */
dispatch_t *dispatch_new(db_t *db, const dispatch_limits_t *limits);

void dispatch_destroy(dispatch_t **self_p);

/* Processes items[0..n) as one batch at time now_ms (Unix ms; timestamps and
 * deadlines are judged against it). Returns 0 when the batch committed, -1
 * when it could not (then every reply says unavailable). */
int dispatch_batch(dispatch_t *self, dispatch_item_t *items, size_t n, int64_t now_ms);

/* Answers the read-only requests of items[0..n) (and those refused without
 * storage) from a read-only transaction, marking them early; the others are
 * decoded and left for dispatch_batch, which must follow on the same items.
 * Returns the number of items left for dispatch_batch. */
size_t dispatch_reads(dispatch_t *self, dispatch_item_t *items, size_t n, int64_t now_ms);

/* Besides its items, each batch (n may be 0) also: answers parked requests
 * whose time is up, hands due jobs (new, lease expired, backoff over) to
 * parked JOB_TAKE requests, and answers redeem requests whose validation
 * result was applied. Those replies go to the outbox, filled only when the
 * batch committed; the caller sends them (by src and peer) after the items'
 * replies, then clears the outbox. */
size_t dispatch_outbox_count(const dispatch_t *self);
void dispatch_outbox_get(const dispatch_t *self, size_t i, dispatch_src_t *src, const void **peer,
                         size_t *peer_len, const void **frame, size_t *frame_len);
void dispatch_outbox_clear(dispatch_t *self);

/* Unix ms at which a batch (even an empty one) has timed work to do:
 * a parked request's deadline or a job becoming due for a parked taker.
 * INT64_MAX when nothing is scheduled. */
int64_t dispatch_next_wake_ms(const dispatch_t *self);

/* Group-commit counters since start, for `paymentctl stats` and the
 * benchmark: write transactions committed (a batch with at least one
 * request that needed one), the requests in them, and the time spent in
 * their commits (page writes plus fsync). requests / batches is the mean
 * group size; commit_us / batches the mean commit. batches_redone counts the
 * batches run a second time because a request failed after writing (see
 * dispatch_batch): a sign of storage errors, not of bad input. */
typedef struct {
    uint64_t batches;
    uint64_t requests;
    uint64_t commit_us;
    uint64_t commit_us_max;
    uint64_t batches_redone;
} dispatch_stats_t;

const dispatch_stats_t *dispatch_stats(const dispatch_t *self);

/* Parked requests right now, for tests and stats. */
size_t dispatch_parked_waiters(const dispatch_t *self);
size_t dispatch_parked_takers(const dispatch_t *self);

#endif
