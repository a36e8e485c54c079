/*  rw_loop: retry-worker's one event loop.
 *
 *  One thread owns a DEALER to payment-core's worker socket. It asks for due
 *  items (RETRY_TAKE, a long poll), decides each with rw_policy and answers
 *  with RETRY_DECIDE, then asks again. Replies are matched by correlation
 *  id. Nothing is kept anywhere but in payment-core: an item whose decision
 *  is lost (this process killed, a message dropped, the core restarted) has
 *  its decision lease run out in the core and comes back, to this worker or
 *  another, and the lease generation it carries makes a stale decision a
 *  no-op. So any number of copies may run and any may be killed.
 *
 *  The loop can be driven from outside, one rw_loop_turn at a time (the unit
 *  tests do so while playing payment-core), or by rw_loop_run until a
 *  signal. */
#ifndef RW_LOOP_H
#define RW_LOOP_H
#include <stdint.h>

#include "rw_policy.h"

typedef struct {
    const char *core_endpoint;  /* payment-core's worker socket (copied) */
    int take_max;               /* RETRY_TAKE max, 1..64 */
    int64_t take_wait_ms;       /* RETRY_TAKE wait_ms, 0..30000 */
    int64_t request_timeout_ms; /* a request unanswered this long (a take:
                                   after its wait_ms) is abandoned */
    int64_t max_msg_bytes;      /* largest message from payment-core */
    const rw_policy_t *policy;  /* borrowed; must outlive the loop */
} rw_loop_config_t;

/* What the loop has done, for logs and tests. */
typedef struct {
    uint64_t takes;        /* RETRY_TAKE sent */
    uint64_t items;        /* items received */
    uint64_t malformed;    /* items refused by rw_item_decode (parked when
                              identified, else left to their lease) */
    uint64_t decides;      /* RETRY_DECIDE sent */
    uint64_t applied;      /* replies applied: true */
    uint64_t not_applied;  /* replies applied: false (stale gen, job gone) */
    uint64_t refused;      /* replies with err != 0, to any request */
    uint64_t abandoned;    /* requests given up without a reply */
    uint64_t dropped;      /* items or decisions left to their lease: no
                              room in the pending table, or unsendable */
    uint64_t bad_messages; /* undecodable or unexpected messages */
} rw_loop_stats_t;

typedef struct rw_loop_t rw_loop_t;

/* Creates the DEALER and connects it (lazily: payment-core may start later).
 * Returns a new loop (caller owns: rw_loop_destroy), or NULL (logged). */
rw_loop_t *rw_loop_new(const rw_loop_config_t *cfg);

/* One turn: gives up on requests past their time, sends what is due (a
 * RETRY_TAKE when none is outstanding and there is room for its items,
 * decisions that found no peer before), waits up to max_wait_ms for
 * payment-core and handles every message that came. Returns 0, or -1 on a
 * fatal socket error (logged). A signal interrupting the wait returns 0. */
int rw_loop_turn(rw_loop_t *self, int max_wait_ms);

/* Turns until pm_signal_stopping(). Decisions still unanswered then are left
 * to their leases. Returns 0, or -1 on a fatal error (logged). */
int rw_loop_run(rw_loop_t *self);

/* Copies the counters into *out. */
void rw_loop_stats(const rw_loop_t *self, rw_loop_stats_t *out);

/* Closes the socket and frees everything. Safe twice; nulls *self_p. */
void rw_loop_destroy(rw_loop_t **self_p);

#endif
