/*  rw_policy: the retry table and the rules that read it.
 *
 *  The defaults fit BazaarPay's commit window (10 minutes after payment, then
 *  BazaarPay refunds on its own): the first retry of every kind comes within
 *  5 s (base 2 s, jitter 50 %: 1 to 2 s), and no delay exceeds 60 s. A failed
 *  commit is traced again within 30 s at worst, so 20 commits, each failing,
 *  take 6 to 9 minutes: the window (less its 30 s margin) is what normally
 *  ends the commits and starts the refund, and the count is a backstop for a
 *  commit that fails for good. A re-trace of an open checkout waits at most
 *  30 s, so an unpaid checkout is looked at some 40 to 65 times in its 15
 *  minutes.
 *
 *  payment-core's attempt counts every call of a job, whatever its kind: a
 *  checkout's one job carries the open phase's traces into the settle phase.
 *  So commits and refunds are counted by ctx.commits and ctx.refunds (for
 *  their max and their backoff), and the trace row's max leaves room for
 *  the 65 traces an open phase may take.
 *
 *  The bank rows fit a bank order's payment session (RBS's
 *  sessionTimeoutSecs is commonly 1200 s): an open order is synced every 15
 *  to 30 s once the backoff reaches its cap, some 60 to 125 times in the 30
 *  minutes of bank-sync-limit-s, so a payment is seen within half a minute
 *  and the session has long ended when the sync stops. A bank order has one
 *  job too (register, then its syncs, then any deposit, reverse or refund),
 *  and its ctx counts none of its calls: the deposit, reverse and refund
 *  rows count the job's attempt, and their max of 300 leaves room for the
 *  125 syncs of the open phase before it. The status row has no count: the
 *  sync limit bounds it. */
#include "rw_policy.h"

#include <assert.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The one table of every retry schedule in paymesh. Change it here (and in
 * the README's copy); retry-base-ms, retry-cap-ms and retry-max-attempts
 * override a column for every row at once. */
static const rw_row_t s_rows[RW_KIND__COUNT] = {
    /*                           kind                base    cap  max  jitter */
    [RW_KIND_BAZAAR_VALIDATE] = {"bazaar_validate", 2000, 60000, 10, 50},
    [RW_KIND_BAZAAR_CONSUME] = {"bazaar_consume", 2000, 60000, 50, 50},
    [RW_KIND_BAZAARPAY_INIT] = {"bazaarpay_init", 2000, 60000, 1, 50},
    [RW_KIND_BAZAARPAY_TRACE] = {"bazaarpay_trace", 2000, 30000, 200, 50},
    [RW_KIND_BAZAARPAY_COMMIT] = {"bazaarpay_commit", 2000, 30000, 20, 50},
    [RW_KIND_BAZAARPAY_REFUND] = {"bazaarpay_refund", 2000, 30000, 8, 50},
    [RW_KIND_BANK_REGISTER] = {"bank_register", 2000, 60000, 8, 50},
    [RW_KIND_BANK_STATUS] = {"bank_status", 2000, 30000, RW_COUNT_MAX, 50}, /* max not read */
    [RW_KIND_BANK_DEPOSIT] = {"bank_deposit", 2000, 30000, 300, 50},
    [RW_KIND_BANK_REVERSE] = {"bank_reverse", 2000, 30000, 300, 50},
    [RW_KIND_BANK_REFUND] = {"bank_refund", 2000, 30000, 300, 50},
    [RW_KIND_DEFAULT] = {"*", 2000, 60000, 10, 50},
};

#define S_RETRACE_LIMIT_MS (900 * 1000)
#define S_WINDOW_MARGIN_MS 30000
#define S_SYNC_LIMIT_MS (1800 * 1000)

static const char *const s_actions[] = {
    [RW_RETRY] = "retry",
    [RW_PARK] = "park",
    [RW_EXPIRE] = "expire",
};

static uint32_t s_sodium_uniform(uint32_t upper_bound)
{
    return randombytes_uniform(upper_bound);
}

void rw_policy_defaults(rw_policy_t *self)
{
    assert(self);
    memset(self, 0, sizeof *self);
    memcpy(self->rows, s_rows, sizeof s_rows);
    self->retrace_limit_ms = S_RETRACE_LIMIT_MS;
    self->window_margin_ms = S_WINDOW_MARGIN_MS;
    self->sync_limit_ms = S_SYNC_LIMIT_MS;
    self->uniform = s_sodium_uniform;
}

void rw_policy_override(rw_policy_t *self, int64_t base_ms, int64_t cap_ms, int64_t max_attempts)
{
    assert(self && base_ms >= 0 && cap_ms >= 0 && max_attempts >= 0);
    for (int k = 0; k < RW_KIND__COUNT; k++) {
        if (base_ms > 0)
            self->rows[k].base_ms = base_ms;
        if (cap_ms > 0)
            self->rows[k].cap_ms = cap_ms;
        if (max_attempts > 0)
            self->rows[k].max_attempts = max_attempts;
    }
}

static rw_kind_t s_kind(const rw_policy_t *self, const char *kind)
{
    for (int k = 0; k < RW_KIND_DEFAULT; k++)
        if (strcmp(self->rows[k].kind, kind) == 0)
            return (rw_kind_t)k;
    return RW_KIND_DEFAULT;
}

const rw_row_t *rw_policy_row(const rw_policy_t *self, const char *kind)
{
    assert(self && kind);
    return &self->rows[s_kind(self, kind)];
}

const char *rw_action_name(rw_action_t action)
{
    assert(action >= RW_RETRY && action <= RW_EXPIRE);
    return s_actions[action];
}

int64_t rw_backoff_ceiling_ms(const rw_row_t *row, int64_t attempt)
{
    assert(row && row->base_ms >= 1 && row->cap_ms >= 1);
    /* Doubling stops at the cap, so it cannot overflow whatever attempt is. */
    int64_t delay = row->base_ms;
    for (int64_t n = 1; n < attempt && delay < row->cap_ms; n++)
        delay *= 2;
    return delay < row->cap_ms ? delay : row->cap_ms;
}

int64_t rw_backoff_ms(const rw_row_t *row, int64_t attempt, rw_uniform_fn *uniform)
{
    assert(row && uniform && row->jitter_pct >= 0 && row->jitter_pct <= 100);
    int64_t ceiling = rw_backoff_ceiling_ms(row, attempt);
    assert(ceiling < (int64_t)UINT32_MAX);
    int64_t span = ceiling * row->jitter_pct / 100; /* the random part */
    if (span == 0)
        return ceiling;
    int64_t drawn = (int64_t)uniform((uint32_t)span + 1); /* 0..span */
    assert(drawn >= 0 && drawn <= span);
    return ceiling - span + drawn;
}

/* ---- decisions --------------------------------------------------------- */

static void s_note(rw_decision_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_note(rw_decision_t *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->note, sizeof out->note, fmt, ap);
    va_end(ap);
}

static void s_park(rw_decision_t *out)
{
    out->action = RW_PARK;
    out->kind = NULL;
    out->at_ms = 0;
    out->delay_ms = 0;
}

/* Calls of the item's kind made so far: what the backoff doubles with. */
static int64_t s_calls(const rw_item_t *item)
{
    if (strcmp(item->kind, "bazaarpay_commit") == 0)
        return item->ctx.commits;
    if (strcmp(item->kind, "bazaarpay_refund") == 0)
        return item->ctx.refunds;
    return item->attempt;
}

/* Retry `kind` after the backoff of the row of the call that ran. */
static void s_retry_later(const rw_policy_t *self, const rw_item_t *item, int64_t now_ms,
                          const char *kind, rw_decision_t *out)
{
    const rw_row_t *row = rw_policy_row(self, item->kind);
    out->action = RW_RETRY;
    out->kind = kind;
    out->delay_ms = rw_backoff_ms(row, s_calls(item), self->uniform);
    out->at_ms = now_ms + out->delay_ms;
}

static void s_retry_now(const char *kind, int64_t now_ms, rw_decision_t *out)
{
    out->action = RW_RETRY;
    out->kind = kind;
    out->delay_ms = 0;
    out->at_ms = now_ms;
}

static int64_t s_max(const rw_policy_t *self, rw_kind_t kind)
{
    return self->rows[kind].max_attempts;
}

static const char *s_status(const rw_item_t *item)
{
    return item->has_status ? item->status : "none";
}

/* Store jobs, and any kind this table does not name outside bazaarpay_* and
 * bank_*: the same call again after the backoff, until its attempts are
 * spent. */
static void s_generic(const rw_policy_t *self, const rw_item_t *item, int64_t now_ms,
                      rw_decision_t *out)
{
    const rw_row_t *row = rw_policy_row(self, item->kind);
    if (item->outcome == RW_OK) {
        s_park(out);
        s_note(out, "an ok outcome leaves nothing to retry: parked as an anomaly");
    } else if (item->attempt >= row->max_attempts) {
        s_park(out);
        s_note(out, "%lld attempts spent (max %lld)", (long long)item->attempt,
               (long long)row->max_attempts);
    } else {
        s_retry_later(self, item, now_ms, item->kind, out);
        s_note(out, "%s again", item->kind);
    }
}

/* A refund is asked for (settle: the window closes or commits are spent;
 * refund phase: an operator asked), unless refunds are spent. */
static void s_refund(const rw_policy_t *self, const rw_item_t *item, int64_t now_ms,
                     const char *why, rw_decision_t *out)
{
    int64_t max = s_max(self, RW_KIND_BAZAARPAY_REFUND);
    if (item->ctx.refunds >= max) {
        s_park(out);
        s_note(out, "%s, but %lld refunds spent (max %lld)", why, (long long)item->ctx.refunds,
               (long long)max);
        return;
    }
    s_retry_now("bazaarpay_refund", now_ms, out);
    s_note(out, "%s: refund", why);
}

/* A call of a checkout past payment failed (or its lease ran out): what it
 * did is not known, so a trace comes first. Shared by settle and refund. */
static void s_failed_after_payment(const rw_policy_t *self, const rw_item_t *item, rw_kind_t kind,
                                   int64_t now_ms, rw_decision_t *out)
{
    const char *outcome = rw_outcome_name(item->outcome);
    if (kind == RW_KIND_BAZAARPAY_COMMIT) {
        /* Never parked here: the trace decides, and reaches the refund once
         * commits are spent, where parking now would leave a delivered
         * checkout to BazaarPay's own refund (the double spend). */
        s_retry_later(self, item, now_ms, "bazaarpay_trace", out);
        s_note(out, "commit %s: trace before anything else", outcome);
    } else if (kind == RW_KIND_BAZAARPAY_REFUND) {
        int64_t max = s_max(self, RW_KIND_BAZAARPAY_REFUND);
        if (item->ctx.refunds >= max) {
            s_park(out);
            s_note(out, "refund %s and %lld refunds spent (max %lld)", outcome,
                   (long long)item->ctx.refunds, (long long)max);
            return;
        }
        s_retry_later(self, item, now_ms, "bazaarpay_trace", out);
        s_note(out, "refund %s: trace before anything else", outcome);
    } else {
        int64_t max = s_max(self, RW_KIND_BAZAARPAY_TRACE);
        if (item->attempt >= max) {
            s_park(out);
            s_note(out, "trace %s and %lld attempts spent (max %lld)", outcome,
                   (long long)item->attempt, (long long)max);
            return;
        }
        s_retry_later(self, item, now_ms, "bazaarpay_trace", out);
        s_note(out, "trace %s: trace again", outcome);
    }
}

/* Delivered, to be committed. */
static void s_settle(const rw_policy_t *self, const rw_item_t *item, rw_kind_t kind, int64_t now_ms,
                     rw_decision_t *out)
{
    if (item->outcome != RW_OK) {
        s_failed_after_payment(self, item, kind, now_ms, out);
        return;
    }
    if (kind != RW_KIND_BAZAARPAY_TRACE) {
        s_park(out);
        s_note(out, "settle: a %s that succeeded is the core's to apply: parked as an anomaly",
               item->kind);
        return;
    }
    if (!item->has_status || strcmp(item->status, "paid_not_committed") != 0) {
        s_park(out);
        s_note(out, "settle: trace says %s, which the core should have resolved: anomaly",
               s_status(item));
        return;
    }
    int64_t commit_max = s_max(self, RW_KIND_BAZAARPAY_COMMIT);
    int64_t trace_max = s_max(self, RW_KIND_BAZAARPAY_TRACE);
    if (item->ctx.has_window_end && now_ms >= item->ctx.window_end_ms - self->window_margin_ms)
        s_refund(self, item, now_ms, "commit window closing", out);
    else if (item->ctx.commits >= commit_max)
        s_refund(self, item, now_ms, "commits spent", out);
    else if (item->attempt >= trace_max) /* a backstop: commits end first */
        s_refund(self, item, now_ms, "attempts spent", out);
    else {
        s_retry_now("bazaarpay_commit", now_ms, out);
        s_note(out, "paid_not_committed: commit %lld of %lld", (long long)item->ctx.commits + 1,
               (long long)commit_max);
    }
}

/* An operator asked for a refund. */
static void s_refund_phase(const rw_policy_t *self, const rw_item_t *item, rw_kind_t kind,
                           int64_t now_ms, rw_decision_t *out)
{
    if (item->outcome != RW_OK) {
        s_failed_after_payment(self, item, kind, now_ms, out);
        return;
    }
    if (kind == RW_KIND_BAZAARPAY_TRACE && item->has_status &&
        (strcmp(item->status, "paid_not_committed") == 0 ||
         strcmp(item->status, "paid_committed") == 0)) {
        char why[RW_STATUS_MAX + 32];
        snprintf(why, sizeof why, "refund asked, trace says %s", item->status);
        s_refund(self, item, now_ms, why, out);
        return;
    }
    s_park(out);
    if (kind == RW_KIND_BAZAARPAY_TRACE)
        s_note(out, "refund asked, trace says %s: nothing to refund here", s_status(item));
    else
        s_note(out, "refund asked: a %s that succeeded is the core's to apply: anomaly",
               item->kind);
}

static void s_bazaarpay(const rw_policy_t *self, const rw_item_t *item, int64_t now_ms,
                        rw_decision_t *out)
{
    rw_kind_t kind = s_kind(self, item->kind);
    if (kind == RW_KIND_BAZAARPAY_INIT) {
        /* Its client was answered (a failure or a 503); a second init would
         * open a second checkout nobody is shown. */
        s_park(out);
        s_note(out, "init %s: its client was answered, nothing to redo",
               rw_outcome_name(item->outcome));
        return;
    }
    if (kind != RW_KIND_BAZAARPAY_TRACE && kind != RW_KIND_BAZAARPAY_COMMIT &&
        kind != RW_KIND_BAZAARPAY_REFUND) {
        /* A BazaarPay call this table does not know may move money. */
        s_park(out);
        s_note(out, "unknown bazaarpay kind %s: not retried blind", item->kind);
        return;
    }
    switch (item->ctx.phase) {
    case RW_PHASE_OPEN:
        /* Bounded by time, not attempts: a trace only reads, and past the
         * limit the checkout ends expired (paid late, BazaarPay refunds it). */
        if (now_ms >= item->ctx.created_ms + self->retrace_limit_ms) {
            out->action = RW_EXPIRE;
            s_note(out, "unpaid %lld s after it opened: expire",
                   (long long)((now_ms - item->ctx.created_ms) / 1000));
        } else {
            s_retry_later(self, item, now_ms, "bazaarpay_trace", out);
            if (item->outcome == RW_OK)
                s_note(out, "open, trace says %s: trace again", s_status(item));
            else
                s_note(out, "open, %s %s: trace again", item->kind, rw_outcome_name(item->outcome));
        }
        return;
    case RW_PHASE_SETTLE:
        s_settle(self, item, kind, now_ms, out);
        return;
    case RW_PHASE_REFUND:
        s_refund_phase(self, item, kind, now_ms, out);
        return;
    case RW_PHASE_FINAL: /* a bank order's phase */
    case RW_PHASE_NONE:
        break;
    }
    s_park(out);
    if (item->ctx.phase == RW_PHASE_NONE)
        s_note(out, "no checkout behind this %s job (empty ctx)", item->kind);
    else
        s_note(out, "phase %s is not a checkout's: parked as an anomaly",
               rw_phase_name(item->ctx.phase));
}

/* ---- bank orders ------------------------------------------------------- */

/* True when an ok bank_status says what an open order is synced on: the
 * bank has the order and nobody has paid it yet (registered, pending), or
 * it holds the amount for a deposit (preauthorized). Any other state
 * (paid, declined, reversed, refunded, not_found) is payment-core's to
 * resolve. */
static bool s_bank_syncing(const rw_item_t *item)
{
    return item->has_status &&
           (strcmp(item->status, "registered") == 0 || strcmp(item->status, "pending") == 0 ||
            strcmp(item->status, "preauthorized") == 0);
}

/* An open order's bank_status: synced again until the limit. Bounded by
 * time, not attempts: a status only reads. */
static void s_bank_open(const rw_policy_t *self, const rw_item_t *item, int64_t now_ms,
                        rw_decision_t *out)
{
    if (item->outcome == RW_OK && !s_bank_syncing(item)) {
        s_park(out);
        s_note(out, "open, bank says %s, which the core should have resolved: anomaly",
               s_status(item));
        return;
    }
    int64_t since = item->ctx.has_registered ? item->ctx.registered_ms : item->ctx.created_ms;
    if (now_ms < since + self->sync_limit_ms) {
        s_retry_later(self, item, now_ms, "bank_status", out);
        if (item->outcome == RW_OK)
            s_note(out, "open, bank says %s: status again", item->status);
        else
            s_note(out, "open, status %s: status again", rw_outcome_name(item->outcome));
        return;
    }
    long long secs = (long long)((now_ms - since) / 1000);
    if (item->outcome != RW_OK) {
        /* The last sync read nothing (the bank was down or said no, an
         * answer was lost): the payer may have paid since the last answer
         * read, so the order is not ended unseen. */
        s_park(out);
        s_note(out, "open %lld s, last status %s: not known whether it was paid", secs,
               rw_outcome_name(item->outcome));
    } else if (strcmp(item->status, "preauthorized") == 0) {
        /* Paid into a hold: expiring it would leave the payer's money held
         * and the merchant without it. */
        s_park(out);
        s_note(out, "open %lld s, bank holds the amount (preauthorized): for an operator", secs);
    } else {
        out->action = RW_EXPIRE;
        s_note(out, "open %lld s, bank says %s: never paid, expire", secs, item->status);
    }
}

/* A deposit, reverse or refund: what it did is not known (or the bank said
 * no, which the state explains), so a bank_status comes first and
 * payment-core's bank leg decides from it what follows. */
static void s_bank_money(const rw_policy_t *self, const rw_item_t *item, int64_t now_ms,
                         rw_decision_t *out)
{
    const rw_row_t *row = rw_policy_row(self, item->kind);
    if (item->ctx.phase != RW_PHASE_OPEN && item->ctx.phase != RW_PHASE_FINAL) {
        s_park(out);
        s_note(out, "no bank order behind this %s job (phase %s)", item->kind,
               item->ctx.phase == RW_PHASE_NONE ? "none" : rw_phase_name(item->ctx.phase));
    } else if (item->outcome == RW_OK) {
        s_park(out);
        s_note(out, "a %s that succeeded is the core's to apply: parked as an anomaly", item->kind);
    } else if (item->attempt >= row->max_attempts) {
        s_park(out);
        s_note(out, "%s %s and %lld attempts spent (max %lld)", item->kind,
               rw_outcome_name(item->outcome), (long long)item->attempt,
               (long long)row->max_attempts);
    } else {
        s_retry_later(self, item, now_ms, "bank_status", out);
        s_note(out, "%s %s: status before anything else", item->kind,
               rw_outcome_name(item->outcome));
    }
}

static void s_bank(const rw_policy_t *self, const rw_item_t *item, int64_t now_ms,
                   rw_decision_t *out)
{
    switch (s_kind(self, item->kind)) {
    case RW_KIND_BANK_REGISTER:
        if (!item->ctx.resend_register) {
            /* payment-core answered its client; a second register would
             * make a second order at the bank. */
            s_park(out);
            s_note(out, "register %s: its client was answered, a second order is not made",
                   rw_outcome_name(item->outcome));
        } else if (item->outcome == RW_OK) {
            s_park(out);
            s_note(out, "a register that succeeded is the core's to apply: parked as an anomaly");
        } else if (item->attempt < s_max(self, RW_KIND_BANK_REGISTER)) {
            /* A payment's order: the lost one cannot be paid (nobody holds
             * its URL), so a new order number goes after the backoff. */
            s_retry_later(self, item, now_ms, "bank_register", out);
            s_note(out, "register %s: a new order after the backoff",
                   rw_outcome_name(item->outcome));
        } else {
            out->action = RW_EXPIRE;
            s_note(out, "register %s and %lld attempts spent: no order, nothing paid, expire",
                   rw_outcome_name(item->outcome), (long long)item->attempt);
        }
        return;
    case RW_KIND_BANK_DEPOSIT:
    case RW_KIND_BANK_REVERSE:
    case RW_KIND_BANK_REFUND:
        s_bank_money(self, item, now_ms, out);
        return;
    case RW_KIND_BANK_STATUS:
        break;
    default:
        /* A bank call this table does not know may move money. */
        s_park(out);
        s_note(out, "unknown bank kind %s: not retried blind", item->kind);
        return;
    }
    if (item->ctx.phase == RW_PHASE_OPEN) {
        s_bank_open(self, item, now_ms, out);
        return;
    }
    s_park(out);
    if (item->ctx.phase == RW_PHASE_FINAL)
        s_note(out, "final, bank_status %s: the core resolves final orders: anomaly",
               rw_outcome_name(item->outcome));
    else if (item->ctx.phase == RW_PHASE_NONE)
        s_note(out, "no bank order behind this bank_status job (empty ctx)");
    else
        s_note(out, "phase %s is not a bank order's: parked as an anomaly",
               rw_phase_name(item->ctx.phase));
}

void rw_decide(const rw_policy_t *self, const rw_item_t *item, int64_t now_ms, rw_decision_t *out)
{
    assert(self && item && out && self->uniform);
    memset(out, 0, sizeof *out);
    if (rw_kind_is_bazaarpay(item->kind))
        s_bazaarpay(self, item, now_ms, out);
    else if (rw_kind_is_bank(item->kind))
        s_bank(self, item, now_ms, out);
    else
        s_generic(self, item, now_ms, out);
    assert(out->action != RW_RETRY || (out->kind && out->at_ms >= now_ms));
}
