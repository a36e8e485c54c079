/*  rw_policy: what to do next with a job waiting for a retry decision.
 *
 *  Pure: rw_decide reads the policy, the item and the time it is given and
 *  writes a decision; no I/O, no clock, no state. The one input that is not
 *  an argument is the random draw of the jitter, and that comes through the
 *  policy's `uniform` (libsodium's randombytes_uniform in the daemon, a
 *  fixed function in tests), so a test can pin both ends of every range.
 *
 *  Every schedule lives in one table, one row per job kind (rw_policy.c,
 *  s_rows; the README shows it): base delay, cap, max attempts, jitter. The
 *  delay before attempt n + 1 is d = min(cap, base * 2^(n-1)), then drawn
 *  uniform in [d - d * jitter / 100, d]: jitter 50 is "equal jitter", d/2 to
 *  d. The row used is the one of the call that ran (the item's kind): it
 *  says how long to wait after that call failed, whichever call comes next.
 *  n counts the calls of that kind: ctx.commits for a commit, ctx.refunds
 *  for a refund, the item's attempt for the rest (payment-core's attempt
 *  counts every call of a job, whatever its kind).
 *
 *  The BazaarPay rules keep the two-phase commit safe (issue 10): a commit
 *  or refund whose outcome is not known is never sent again blind, a trace
 *  comes first; a paid checkout is committed only while the window is open
 *  (with a margin) and commits are left, and refunded otherwise; nothing is
 *  ever dropped: when attempts are spent the job is parked for an operator.
 *  payment-core refuses unsafe decisions as well, but this module must never
 *  ask for one.
 *
 *  The bank rules (issue 11) follow the same line for a bank order: only a
 *  bank_status is ever asked for, never a register (a second order at the
 *  bank), a deposit, a reverse or a refund (payment-core's bank leg decides
 *  those from the status). An open order is synced until sync_limit_ms after
 *  its registration; then it is expired only when the bank's last answer
 *  says it was never paid, and parked when the last sync failed (the money
 *  may have moved) or the bank holds the amount. */
#ifndef RW_POLICY_H
#define RW_POLICY_H
#include <stdbool.h>
#include <stdint.h>

#include "rw_item.h"

#define RW_NOTE_MAX 160 /* bytes of a decision's note */

/* The rows of the table. DEFAULT serves every kind not named here. */
typedef enum {
    RW_KIND_BAZAAR_VALIDATE = 0,
    RW_KIND_BAZAAR_CONSUME,
    RW_KIND_BAZAARPAY_INIT,
    RW_KIND_BAZAARPAY_TRACE,
    RW_KIND_BAZAARPAY_COMMIT,
    RW_KIND_BAZAARPAY_REFUND,
    RW_KIND_BANK_REGISTER,
    RW_KIND_BANK_STATUS,
    RW_KIND_BANK_DEPOSIT,
    RW_KIND_BANK_REVERSE,
    RW_KIND_BANK_REFUND,
    RW_KIND_DEFAULT,
    RW_KIND__COUNT
} rw_kind_t;

typedef struct {
    const char *kind;     /* job kind (static storage); "*" for DEFAULT */
    int64_t base_ms;      /* delay after the first failure, >= 1 */
    int64_t cap_ms;       /* longest delay, >= 1 */
    int64_t max_attempts; /* then park, or refund (commit); counted by
                             attempt, or ctx.commits, ctx.refunds; >= 1 */
    int64_t jitter_pct;   /* share of the delay drawn at random, 0..100 */
} rw_row_t;

/* A uniform draw in [0, upper_bound), upper_bound >= 1. */
typedef uint32_t(rw_uniform_fn)(uint32_t upper_bound);

typedef struct {
    rw_row_t rows[RW_KIND__COUNT];
    int64_t retrace_limit_ms; /* an open checkout is re-traced this long after
                                 its created_ms, then expired */
    int64_t window_margin_ms; /* refund instead of commit once now is this close
                                 to window_end_ms */
    int64_t sync_limit_ms;    /* an open bank order is synced this long after
                                 its registered_ms (created_ms when nil) */
    rw_uniform_fn *uniform;   /* the jitter's randomness */
} rw_policy_t;

typedef enum { RW_RETRY = 0, RW_PARK, RW_EXPIRE } rw_action_t;

typedef struct {
    rw_action_t action;
    const char *kind;           /* RETRY: the call to make next: static storage, or the
                                   item's own kind (borrowed from it); else NULL */
    int64_t at_ms;              /* RETRY: due time, Unix ms; else 0 */
    int64_t delay_ms;           /* RETRY: at_ms - now; else 0 */
    char note[RW_NOTE_MAX + 1]; /* why, for logs and the operator */
} rw_decision_t;

/* Fills *self with the table of rw_policy.c, a 900 s retrace limit, a 30 s
 * window margin, a 1800 s bank sync limit and libsodium's
 * randombytes_uniform (the caller has run sodium_init, e.g. through
 * pm_ids_init). */
void rw_policy_defaults(rw_policy_t *self);

/* Replaces base_ms, cap_ms and max_attempts of every row by the values given,
 * where they are > 0 (0 keeps the rows' own). */
void rw_policy_override(rw_policy_t *self, int64_t base_ms, int64_t cap_ms, int64_t max_attempts);

/* The row for kind: its own, or DEFAULT's. Borrowed from self. */
const rw_row_t *rw_policy_row(const rw_policy_t *self, const char *kind);

/* The delay before the call after `attempt` calls, before jitter:
 * min(cap, base * 2^(attempt-1)); attempt < 1 counts as 1. */
int64_t rw_backoff_ceiling_ms(const rw_row_t *row, int64_t attempt);

/* The same, with the row's jitter drawn from uniform: in
 * [ceiling - ceiling * jitter / 100, ceiling]. */
int64_t rw_backoff_ms(const rw_row_t *row, int64_t attempt, rw_uniform_fn *uniform);

/* Decides what follows item at now_ms (Unix ms), into *out. Never fails:
 * anything it cannot place is parked, with a note saying why. */
void rw_decide(const rw_policy_t *self, const rw_item_t *item, int64_t now_ms, rw_decision_t *out);

/* "retry", "park", "expire". Static storage. */
const char *rw_action_name(rw_action_t action);

#endif
