/*  Unit tests of retry-worker's policy: the backoff (doubling, cap, jitter
 *  bounds, the defaults' fit to BazaarPay's commit window and to a bank
 *  order's payment session, the global overrides), every rule of rw_decide,
 *  and a sweep over every kind, outcome, phase, status, window position,
 *  registration time and count asserting that no decision asks for what
 *  payment-core refuses as unsafe (pm_proto.h, RETRY_DECIDE), nor for a
 *  bank call other than a status.
 *
 *  The jitter's draw is pinned by the tests: s_high gives the top of each
 *  range (the delay is then the ceiling exactly), s_low the bottom. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../retry-worker/rw_policy.h"

#define NOW INT64_C(1800000000000) /* 2027-01-15, Unix ms */
#define MIN_MS INT64_C(60000)

static uint32_t s_high(uint32_t upper_bound)
{
    return upper_bound - 1;
}

static uint32_t s_low(uint32_t upper_bound)
{
    (void)upper_bound;
    return 0;
}

static rw_policy_t s_policy(rw_uniform_fn *uniform)
{
    rw_policy_t p;
    rw_policy_defaults(&p);
    p.uniform = uniform;
    return p;
}

/* A store-style item (no ctx). */
static rw_item_t s_item(const char *kind, rw_outcome_t outcome, int64_t attempt)
{
    rw_item_t it;
    memset(&it, 0, sizeof it);
    snprintf(it.id, sizeof it.id, "job-1");
    snprintf(it.kind, sizeof it.kind, "%s", kind);
    it.attempt = attempt;
    it.gen = 7;
    it.outcome = outcome;
    it.created_ms = NOW - MIN_MS;
    it.failed_ms = NOW - 1000;
    return it;
}

/* A BazaarPay item; status NULL: none. Settle and refund items are
 * delivered a minute ago with the window open 9 more minutes. */
static rw_item_t s_bp(const char *kind, rw_outcome_t outcome, rw_phase_t phase, const char *status)
{
    rw_item_t it = s_item(kind, outcome, 1);
    if (status) {
        it.has_status = true;
        snprintf(it.status, sizeof it.status, "%s", status);
    }
    it.ctx.phase = phase;
    it.ctx.created_ms = NOW - 2 * MIN_MS;
    if (phase != RW_PHASE_OPEN) {
        it.ctx.has_delivered = true;
        it.ctx.delivered_ms = NOW - MIN_MS;
        it.ctx.has_window_end = true;
        it.ctx.window_end_ms = NOW + 9 * MIN_MS;
        it.ctx.commits = 1;
    }
    return it;
}

/* A bank order's item; status NULL: none. Registered a minute ago, its
 * invoice made a minute before that. */
static rw_item_t s_bank(const char *kind, rw_outcome_t outcome, rw_phase_t phase,
                        const char *status)
{
    rw_item_t it = s_item(kind, outcome, 1);
    if (status) {
        it.has_status = true;
        snprintf(it.status, sizeof it.status, "%s", status);
    }
    it.ctx.phase = phase;
    it.ctx.created_ms = NOW - 2 * MIN_MS;
    it.ctx.has_registered = true;
    it.ctx.registered_ms = NOW - MIN_MS;
    return it;
}

static rw_decision_t s_decide(const rw_policy_t *p, const rw_item_t *it)
{
    rw_decision_t d;
    memset(&d, 0xAA, sizeof d); /* rw_decide must write all of it */
    rw_decide(p, it, NOW, &d);
    assert_true(strlen(d.note) > 0 && strlen(d.note) <= RW_NOTE_MAX);
    return d;
}

static void s_assert_park(const rw_decision_t *d, const char *note_part)
{
    if (d->action != RW_PARK)
        fail_msg("want park, got %s (%s)", rw_action_name(d->action), d->note);
    assert_null(d->kind);
    assert_int_equal(d->at_ms, 0);
    assert_int_equal(d->delay_ms, 0);
    if (note_part && !strstr(d->note, note_part))
        fail_msg("note '%s' does not say '%s'", d->note, note_part);
}

static void s_assert_retry(const rw_decision_t *d, const char *kind, int64_t delay_ms)
{
    if (d->action != RW_RETRY)
        fail_msg("want retry %s, got %s (%s)", kind, rw_action_name(d->action), d->note);
    assert_non_null(d->kind);
    assert_string_equal(d->kind, kind);
    assert_int_equal(d->delay_ms, delay_ms);
    assert_int_equal(d->at_ms, NOW + delay_ms);
}

static void s_assert_expire(const rw_decision_t *d, const char *note_part)
{
    if (d->action != RW_EXPIRE)
        fail_msg("want expire, got %s (%s)", rw_action_name(d->action), d->note);
    assert_null(d->kind);
    assert_int_equal(d->at_ms, 0);
    assert_int_equal(d->delay_ms, 0);
    if (note_part && !strstr(d->note, note_part))
        fail_msg("note '%s' does not say '%s'", d->note, note_part);
}

static const char *const s_kinds[] = {
    "bazaar_validate",  "bazaar_consume",   "bazaarpay_init", "bazaarpay_trace",
    "bazaarpay_commit", "bazaarpay_refund", "bank_register",  "bank_status",
    "bank_deposit",     "bank_reverse",     "bank_refund",
};
#define S_NKINDS (sizeof s_kinds / sizeof s_kinds[0])

/* ---- the table and the backoff ----------------------------------------- */

static void test_every_kind_has_its_row_and_others_the_default(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    for (size_t i = 0; i < S_NKINDS; i++)
        assert_string_equal(rw_policy_row(&p, s_kinds[i])->kind, s_kinds[i]);
    assert_string_equal(rw_policy_row(&p, "bank_transfer")->kind, "*");
    assert_string_equal(rw_policy_row(&p, "")->kind, "*");
    assert_string_equal(rw_policy_row(&p, "bazaar_validate_x")->kind, "*");
    assert_ptr_equal(rw_policy_row(&p, "bank_transfer"), &p.rows[RW_KIND_DEFAULT]);
    assert_int_equal(p.retrace_limit_ms, 900000);
    assert_int_equal(p.window_margin_ms, 30000);
    assert_int_equal(p.sync_limit_ms, 1800000);
}

static void test_backoff_doubles_from_base_to_cap(void **state)
{
    (void)state;
    rw_row_t row = {"x", 2000, 60000, 10, 50};
    static const int64_t want[] = {2000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (int64_t n = 0; n < 8; n++)
        assert_int_equal(rw_backoff_ceiling_ms(&row, n), want[n]);
    assert_int_equal(rw_backoff_ceiling_ms(&row, -5), 2000);
    assert_int_equal(rw_backoff_ceiling_ms(&row, 1000), 60000);
    assert_int_equal(rw_backoff_ceiling_ms(&row, RW_COUNT_MAX), 60000);
    assert_int_equal(rw_backoff_ceiling_ms(&row, INT64_MAX), 60000);
    /* A base above the cap is the cap. */
    rw_row_t inverted = {"x", 90000, 60000, 10, 50};
    assert_int_equal(rw_backoff_ceiling_ms(&inverted, 1), 60000);
    assert_int_equal(rw_backoff_ceiling_ms(&inverted, 9), 60000);
}

static void test_equal_jitter_stays_in_half_to_whole(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    for (int k = 0; k < RW_KIND__COUNT; k++) {
        const rw_row_t *row = &p.rows[k];
        assert_int_equal(row->jitter_pct, 50);
        for (int64_t n = 1; n <= 40; n++) {
            int64_t d = rw_backoff_ceiling_ms(row, n);
            int64_t hi = rw_backoff_ms(row, n, s_high);
            int64_t lo = rw_backoff_ms(row, n, s_low);
            assert_int_equal(hi, d);
            assert_true(2 * lo >= d);     /* lo >= d/2 */
            assert_true(2 * lo <= d + 1); /* and no higher than that */
            assert_true(hi <= row->cap_ms);
        }
    }
    /* Real draws stay inside the range and cover both of its halves. */
    const rw_row_t *commit = &p.rows[RW_KIND_BAZAARPAY_COMMIT];
    bool low_half = false, high_half = false;
    for (int i = 0; i < 4000; i++) {
        int64_t n = 1 + i % 8;
        int64_t d = rw_backoff_ceiling_ms(commit, n);
        int64_t v = rw_backoff_ms(commit, n, randombytes_uniform);
        assert_true(2 * v >= d && v <= d);
        if (4 * v < 3 * d)
            low_half = true;
        else
            high_half = true;
    }
    assert_true(low_half && high_half);
}

static void test_jitter_column_sets_the_random_share(void **state)
{
    (void)state;
    rw_row_t none = {"x", 3000, 60000, 10, 0};
    assert_int_equal(rw_backoff_ms(&none, 2, s_low), 6000);
    assert_int_equal(rw_backoff_ms(&none, 2, s_high), 6000);
    rw_row_t full = {"x", 3000, 60000, 10, 100};
    assert_int_equal(rw_backoff_ms(&full, 2, s_low), 0);
    assert_int_equal(rw_backoff_ms(&full, 2, s_high), 6000);
    rw_row_t quarter = {"x", 4000, 60000, 10, 25};
    assert_int_equal(rw_backoff_ms(&quarter, 1, s_low), 3000);
    assert_int_equal(rw_backoff_ms(&quarter, 1, s_high), 4000);
}

static void test_defaults_fit_the_commit_window(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    for (int k = 0; k < RW_KIND__COUNT; k++) {
        const rw_row_t *row = &p.rows[k];
        /* The first retry within 5 s, no delay above 60 s. */
        assert_true(rw_backoff_ms(row, 1, s_high) <= 5000);
        assert_true(row->cap_ms <= 60000);
        assert_true(row->base_ms >= 1 && row->max_attempts >= 1);
        /* Monotonic up to the cap and never past it. */
        int64_t prev = 0;
        for (int64_t n = 1; n <= 64; n++) {
            int64_t d = rw_backoff_ceiling_ms(row, n);
            assert_true(d >= prev);
            assert_true(d <= row->cap_ms);
            prev = d;
        }
        assert_int_equal(prev, row->cap_ms);
    }
    /* Every commit can be used inside the 10-minute window less the margin,
     * each failure followed by its trace at the slowest backoff: the window,
     * not the count, normally ends the commits. */
    const rw_row_t *commit = &p.rows[RW_KIND_BAZAARPAY_COMMIT];
    int64_t spent = 0;
    for (int64_t n = 1; n <= commit->max_attempts; n++)
        spent += rw_backoff_ceiling_ms(commit, n);
    assert_true(spent <= 10 * MIN_MS - p.window_margin_ms);
    assert_true(commit->max_attempts >= 10);
    /* An open phase re-traced for its whole 15 minutes at the fastest
     * backoff leaves most of the trace row's attempts to the settle phase. */
    const rw_row_t *trace = &p.rows[RW_KIND_BAZAARPAY_TRACE];
    int64_t n = 0;
    for (int64_t t = 0; t < p.retrace_limit_ms; n++)
        t += rw_backoff_ms(trace, n + 1, s_low);
    assert_true(2 * n < trace->max_attempts);
}

static void test_defaults_fit_a_bank_payment_session(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    /* An open order is looked at within 30 s at worst, so a payment is
     * seen soon; and synced past the bank's 1200 s payment session. */
    const rw_row_t *status = &p.rows[RW_KIND_BANK_STATUS];
    assert_int_equal(status->base_ms, 2000);
    assert_int_equal(status->cap_ms, 30000);
    assert_true(p.sync_limit_ms >= 1200000 + 5 * MIN_MS);
    /* An invoice's register is never retried, a payment's goes at most 8
     * times; the money calls have a count. */
    assert_int_equal(p.rows[RW_KIND_BANK_REGISTER].max_attempts, 8);
    /* The order's one job brings the syncs of its whole open phase, at the
     * fastest backoff, to its deposit, reverse or refund: at least half of
     * their count is left for those. */
    int64_t n = 1; /* the register */
    for (int64_t t = 0; t < p.sync_limit_ms; n++)
        t += rw_backoff_ms(status, n, s_low);
    assert_true(n > 100); /* some 125 */
    static const rw_kind_t money[] = {RW_KIND_BANK_DEPOSIT, RW_KIND_BANK_REVERSE,
                                      RW_KIND_BANK_REFUND};
    for (int i = 0; i < 3; i++) {
        assert_true(2 * n < p.rows[money[i]].max_attempts);
        assert_true(p.rows[money[i]].cap_ms <= 30000);
    }
}

static void test_overrides_apply_to_every_row_and_zero_keeps(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_policy_t keep = p;
    rw_policy_override(&p, 0, 0, 0);
    assert_memory_equal(&p, &keep, sizeof p);
    rw_policy_override(&p, 500, 0, 0);
    for (int k = 0; k < RW_KIND__COUNT; k++) {
        assert_int_equal(p.rows[k].base_ms, 500);
        assert_int_equal(p.rows[k].cap_ms, keep.rows[k].cap_ms);
        assert_int_equal(p.rows[k].max_attempts, keep.rows[k].max_attempts);
    }
    rw_policy_override(&p, 0, 4000, 3);
    for (int k = 0; k < RW_KIND__COUNT; k++) {
        assert_int_equal(p.rows[k].base_ms, 500);
        assert_int_equal(p.rows[k].cap_ms, 4000);
        assert_int_equal(p.rows[k].max_attempts, 3);
        assert_string_equal(p.rows[k].kind, keep.rows[k].kind);
    }
    /* The overrides reach the decisions. */
    rw_item_t it = s_item("bazaar_consume", RW_UNKNOWN, 2);
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaar_consume", 1000);
    it.attempt = 3;
    d = s_decide(&p, &it);
    s_assert_park(&d, "3 attempts spent (max 3)");
}

/* ---- store jobs, bank syncs, unknown kinds ------------------------------ */

static void test_validate_after_lease_expiry_is_retried_on_backoff(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_item("bazaar_validate", RW_LEASE_EXPIRED, 1);
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaar_validate", 2000);
    it.attempt = 4;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaar_validate", 16000);
    rw_policy_t lo = s_policy(s_low);
    d = s_decide(&lo, &it);
    s_assert_retry(&d, "bazaar_validate", 8000);
    it.attempt = 9;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaar_validate", 60000);
    it.attempt = 10;
    d = s_decide(&p, &it);
    s_assert_park(&d, "10 attempts spent (max 10)");
}

static void test_consume_failures_are_retried_until_spent(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const rw_outcome_t failed[] = {RW_REJECTED, RW_UNKNOWN, RW_LEASE_EXPIRED};
    for (size_t i = 0; i < 3; i++) {
        rw_item_t it = s_item("bazaar_consume", failed[i], 3);
        rw_decision_t d = s_decide(&p, &it);
        s_assert_retry(&d, "bazaar_consume", 8000);
        it.attempt = 49;
        d = s_decide(&p, &it);
        s_assert_retry(&d, "bazaar_consume", 60000);
        it.attempt = 50;
        d = s_decide(&p, &it);
        s_assert_park(&d, "50 attempts spent");
        it.attempt = 51;
        d = s_decide(&p, &it);
        s_assert_park(&d, "attempts spent");
    }
}

static void test_unknown_kind_uses_the_default_row_and_keeps_its_kind(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_item("ledger_export", RW_UNKNOWN, 1);
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "ledger_export", 2000);
    assert_ptr_equal(d.kind, it.kind); /* borrowed from the item */
    it.attempt = 9;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "ledger_export", 60000);
    it.attempt = 10;
    d = s_decide(&p, &it);
    s_assert_park(&d, "max 10");
}

static void test_an_ok_store_job_is_parked_not_retried(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_item("bazaar_consume", RW_OK, 1);
    rw_decision_t d = s_decide(&p, &it);
    s_assert_park(&d, "anomaly");
}

/* ---- BazaarPay: init, unknown calls -------------------------------------- */

static void test_init_is_parked_whatever_happened(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    for (int o = RW_OK; o <= RW_LEASE_EXPIRED; o++)
        for (int ph = RW_PHASE_OPEN; ph <= RW_PHASE_REFUND; ph++) {
            rw_item_t it = s_bp("bazaarpay_init", (rw_outcome_t)o, (rw_phase_t)ph, NULL);
            rw_decision_t d = s_decide(&p, &it);
            s_assert_park(&d, "init");
            assert_non_null(strstr(d.note, "client was answered"));
        }
}

static void test_an_unknown_bazaarpay_call_is_never_retried_blind(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_bp("bazaarpay_direct_pay", RW_UNKNOWN, RW_PHASE_SETTLE, NULL);
    rw_decision_t d = s_decide(&p, &it);
    s_assert_park(&d, "unknown bazaarpay kind bazaarpay_direct_pay");
}

static void test_a_bazaarpay_item_without_phase_is_parked(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_bp("bazaarpay_trace", RW_UNKNOWN, RW_PHASE_NONE, NULL);
    rw_decision_t d = s_decide(&p, &it);
    s_assert_park(&d, "no checkout behind this bazaarpay_trace job");
}

/* ---- BazaarPay: open -------------------------------------------------------- */

static void test_open_checkout_is_retraced_until_the_limit(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    /* A trace that said unpaid, a trace that failed, a lease that ran out. */
    rw_item_t unpaid = s_bp("bazaarpay_trace", RW_OK, RW_PHASE_OPEN, "unpaid");
    rw_item_t failed = s_bp("bazaarpay_trace", RW_UNKNOWN, RW_PHASE_OPEN, NULL);
    rw_item_t leased = s_bp("bazaarpay_trace", RW_LEASE_EXPIRED, RW_PHASE_OPEN, NULL);
    rw_item_t *items[] = {&unpaid, &failed, &leased};
    for (int i = 0; i < 3; i++) {
        rw_item_t *it = items[i];
        rw_decision_t d = s_decide(&p, it);
        s_assert_retry(&d, "bazaarpay_trace", 2000);
        it->attempt = 3;
        d = s_decide(&p, it);
        s_assert_retry(&d, "bazaarpay_trace", 8000);
        it->attempt = 30;
        d = s_decide(&p, it);
        s_assert_retry(&d, "bazaarpay_trace", 30000); /* the trace row's cap */
        /* Bounded by time, not attempts: still traced past the trace max. */
        it->attempt = 500;
        d = s_decide(&p, it);
        s_assert_retry(&d, "bazaarpay_trace", 30000);
        /* One ms before the limit: traced; at the limit and after: expired. */
        it->ctx.created_ms = NOW - 900000 + 1;
        d = s_decide(&p, it);
        s_assert_retry(&d, "bazaarpay_trace", 30000);
        it->ctx.created_ms = NOW - 900000;
        d = s_decide(&p, it);
        assert_int_equal(d.action, RW_EXPIRE);
        assert_null(d.kind);
        assert_int_equal(d.at_ms, 0);
        assert_non_null(strstr(d.note, "unpaid 900 s"));
        it->ctx.created_ms = NOW - 3600000;
        d = s_decide(&p, it);
        assert_int_equal(d.action, RW_EXPIRE);
    }
}

static void test_retrace_limit_setting_moves_the_expiry(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    p.retrace_limit_ms = 60000;
    rw_item_t it = s_bp("bazaarpay_trace", RW_OK, RW_PHASE_OPEN, "unpaid");
    it.ctx.created_ms = NOW - 59999;
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_trace", 2000);
    it.ctx.created_ms = NOW - 60000;
    d = s_decide(&p, &it);
    assert_int_equal(d.action, RW_EXPIRE);
}

static void test_open_phase_never_commits_or_refunds(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    /* Even an odd open item (a commit, a paid status) only gets a trace. */
    static const char *const kinds[] = {"bazaarpay_trace", "bazaarpay_commit", "bazaarpay_refund"};
    static const char *const statuses[] = {"paid_not_committed", "paid_committed", NULL};
    for (int k = 0; k < 3; k++)
        for (int s = 0; s < 3; s++) {
            rw_item_t it = s_bp(kinds[k], RW_OK, RW_PHASE_OPEN, statuses[s]);
            rw_decision_t d = s_decide(&p, &it);
            s_assert_retry(&d, "bazaarpay_trace", 2000);
        }
}

/* ---- BazaarPay: settle ------------------------------------------------------- */

static void test_failed_commit_is_traced_never_resent(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const rw_outcome_t failed[] = {RW_REJECTED, RW_UNKNOWN, RW_LEASE_EXPIRED};
    for (int i = 0; i < 3; i++) {
        rw_item_t it = s_bp("bazaarpay_commit", failed[i], RW_PHASE_SETTLE, NULL);
        rw_decision_t d = s_decide(&p, &it);
        s_assert_retry(&d, "bazaarpay_trace", 2000);
        assert_non_null(strstr(d.note, "trace before anything else"));
        it.ctx.commits = 2; /* the commit row's backoff, by commits made */
        d = s_decide(&p, &it);
        s_assert_retry(&d, "bazaarpay_trace", 4000);
        /* Spent commits, many attempts, a closing window: still a trace,
         * which then leads to the refund. */
        it.attempt = 1000;
        it.ctx.commits = 99;
        it.ctx.window_end_ms = NOW - 1;
        d = s_decide(&p, &it);
        s_assert_retry(&d, "bazaarpay_trace", 30000);
    }
}

static void test_failed_refund_in_settle_is_traced_until_refunds_spent(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_bp("bazaarpay_refund", RW_UNKNOWN, RW_PHASE_SETTLE, NULL);
    it.ctx.refunds = 1;
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_trace", 2000);
    it.ctx.refunds = 3; /* the refund row's backoff, by refunds made */
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_trace", 8000);
    it.ctx.refunds = 7;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_trace", 30000);
    it.ctx.refunds = 8;
    d = s_decide(&p, &it);
    s_assert_park(&d, "8 refunds spent (max 8)");
}

static void test_paid_not_committed_is_committed_while_the_window_is_open(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_bp("bazaarpay_trace", RW_OK, RW_PHASE_SETTLE, "paid_not_committed");
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_commit", 0);
    assert_non_null(strstr(d.note, "commit 2 of 20"));
    /* No window known (the core did not say): commits only bound it. */
    it.ctx.has_window_end = false;
    it.ctx.window_end_ms = 0;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_commit", 0);
    it.ctx.commits = 19;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_commit", 0);
    it.ctx.commits = 20;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_refund", 0);
    assert_non_null(strstr(d.note, "commits spent"));
}

static void test_refund_in_the_backoff_when_the_window_closes(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_bp("bazaarpay_trace", RW_OK, RW_PHASE_SETTLE, "paid_not_committed");
    it.ctx.window_end_ms = NOW + 30001; /* one ms outside the margin */
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_commit", 0);
    it.ctx.window_end_ms = NOW + 30000; /* the margin reached */
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_refund", 0);
    assert_non_null(strstr(d.note, "commit window closing"));
    it.ctx.window_end_ms = NOW - 5 * MIN_MS; /* long closed */
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_refund", 0);
    /* The margin is a setting. */
    p.window_margin_ms = 0;
    it.ctx.window_end_ms = NOW + 1;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_commit", 0);
    it.ctx.window_end_ms = NOW;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_refund", 0);
}

static void test_paid_not_committed_with_attempts_spent_is_refunded(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_bp("bazaarpay_trace", RW_OK, RW_PHASE_SETTLE, "paid_not_committed");
    it.attempt = 199;
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_commit", 0);
    it.attempt = 200;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_refund", 0);
    assert_non_null(strstr(d.note, "attempts spent"));
}

static void test_a_long_open_phase_leaves_the_settle_budget_whole(void **state)
{
    (void)state;
    /* payment-core's attempt counts every call of the checkout's job: 70
     * traces while it was unpaid, then delivered. Its commits still get
     * their count and their backoff from the first. */
    rw_policy_t p = s_policy(s_high);
    rw_item_t trace = s_bp("bazaarpay_trace", RW_OK, RW_PHASE_SETTLE, "paid_not_committed");
    trace.attempt = 70;
    trace.ctx.commits = 1;
    rw_decision_t d = s_decide(&p, &trace);
    s_assert_retry(&d, "bazaarpay_commit", 0);
    rw_item_t commit = s_bp("bazaarpay_commit", RW_UNKNOWN, RW_PHASE_SETTLE, NULL);
    commit.attempt = 71;
    commit.ctx.commits = 1;
    d = s_decide(&p, &commit);
    s_assert_retry(&d, "bazaarpay_trace", 2000); /* not the cap */
    rw_item_t failed = s_bp("bazaarpay_trace", RW_UNKNOWN, RW_PHASE_SETTLE, NULL);
    failed.attempt = 72;
    d = s_decide(&p, &failed);
    s_assert_retry(&d, "bazaarpay_trace", 30000); /* traced, not parked */
}

static void test_refund_due_with_refunds_spent_is_parked(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_bp("bazaarpay_trace", RW_OK, RW_PHASE_SETTLE, "paid_not_committed");
    it.ctx.commits = 20;
    it.ctx.refunds = 7;
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "bazaarpay_refund", 0);
    it.ctx.refunds = 8;
    d = s_decide(&p, &it);
    s_assert_park(&d, "refunds spent");
}

static void test_failed_trace_in_settle_is_retraced_until_spent(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const rw_outcome_t failed[] = {RW_REJECTED, RW_UNKNOWN, RW_LEASE_EXPIRED};
    for (int i = 0; i < 3; i++) {
        rw_item_t it = s_bp("bazaarpay_trace", failed[i], RW_PHASE_SETTLE, NULL);
        rw_decision_t d = s_decide(&p, &it);
        s_assert_retry(&d, "bazaarpay_trace", 2000);
        it.attempt = 199;
        d = s_decide(&p, &it);
        s_assert_retry(&d, "bazaarpay_trace", 30000);
        it.attempt = 200;
        d = s_decide(&p, &it);
        s_assert_park(&d, "200 attempts spent (max 200)");
    }
}

static void test_other_trace_statuses_in_settle_are_parked_anomalies(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const char *const statuses[] = {
        "unpaid",    "invalid_token",
        "timed_out", "paid_committed",
        "refunded",  "paid_not_committed_refunded",
        "made_up",   NULL,
    };
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        rw_item_t it = s_bp("bazaarpay_trace", RW_OK, RW_PHASE_SETTLE, statuses[i]);
        rw_decision_t d = s_decide(&p, &it);
        s_assert_park(&d, "anomaly");
        assert_non_null(strstr(d.note, statuses[i] ? statuses[i] : "none"));
    }
}

static void test_a_commit_or_refund_that_succeeded_is_parked(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const char *const kinds[] = {"bazaarpay_commit", "bazaarpay_refund"};
    for (int k = 0; k < 2; k++)
        for (int ph = RW_PHASE_SETTLE; ph <= RW_PHASE_REFUND; ph++) {
            rw_item_t it = s_bp(kinds[k], RW_OK, (rw_phase_t)ph, NULL);
            rw_decision_t d = s_decide(&p, &it);
            s_assert_park(&d, "anomaly");
        }
}

/* ---- BazaarPay: refund asked ----------------------------------------------- */

static void test_refund_phase_refunds_a_paid_checkout(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const char *const paid[] = {"paid_not_committed", "paid_committed"};
    for (int i = 0; i < 2; i++) {
        rw_item_t it = s_bp("bazaarpay_trace", RW_OK, RW_PHASE_REFUND, paid[i]);
        rw_decision_t d = s_decide(&p, &it);
        s_assert_retry(&d, "bazaarpay_refund", 0);
        assert_non_null(strstr(d.note, paid[i]));
        /* The window does not matter once a refund is asked. */
        it.ctx.window_end_ms = NOW - 1;
        it.ctx.commits = 20;
        d = s_decide(&p, &it);
        s_assert_retry(&d, "bazaarpay_refund", 0);
        it.ctx.refunds = 8;
        d = s_decide(&p, &it);
        s_assert_park(&d, "refunds spent");
    }
}

static void test_refund_phase_failures_are_traced(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t refund = s_bp("bazaarpay_refund", RW_UNKNOWN, RW_PHASE_REFUND, NULL);
    rw_decision_t d = s_decide(&p, &refund);
    s_assert_retry(&d, "bazaarpay_trace", 2000);
    refund.ctx.refunds = 8;
    d = s_decide(&p, &refund);
    s_assert_park(&d, "refunds spent");

    rw_item_t trace = s_bp("bazaarpay_trace", RW_LEASE_EXPIRED, RW_PHASE_REFUND, NULL);
    trace.attempt = 2;
    d = s_decide(&p, &trace);
    s_assert_retry(&d, "bazaarpay_trace", 4000);
    trace.attempt = 200;
    d = s_decide(&p, &trace);
    s_assert_park(&d, "attempts spent");

    /* A commit in flight when the refund was asked, which failed. */
    rw_item_t commit = s_bp("bazaarpay_commit", RW_UNKNOWN, RW_PHASE_REFUND, NULL);
    d = s_decide(&p, &commit);
    s_assert_retry(&d, "bazaarpay_trace", 2000);
}

static void test_refund_phase_with_nothing_to_refund_is_parked(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const char *const statuses[] = {
        "refunded", "paid_not_committed_refunded", "unpaid", "timed_out", "invalid_token", NULL,
    };
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        rw_item_t it = s_bp("bazaarpay_trace", RW_OK, RW_PHASE_REFUND, statuses[i]);
        rw_decision_t d = s_decide(&p, &it);
        s_assert_park(&d, "nothing to refund");
    }
}

/* ---- bank orders ----------------------------------------------------------- */

/* The phases a bank order's ctx has. */
static const rw_phase_t s_order_phases[] = {RW_PHASE_OPEN, RW_PHASE_FINAL};

static void test_register_is_parked_whatever_happened(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    for (int o = RW_OK; o <= RW_LEASE_EXPIRED; o++)
        for (int ph = RW_PHASE_NONE; ph <= RW_PHASE_FINAL; ph++) {
            rw_item_t it = s_bank("bank_register", (rw_outcome_t)o, (rw_phase_t)ph, NULL);
            rw_decision_t d = s_decide(&p, &it);
            s_assert_park(&d, "register");
            assert_non_null(strstr(d.note, "a second order is not made"));
            it.ctx.has_registered = false; /* the lease ran out before it */
            d = s_decide(&p, &it);
            s_assert_park(&d, "register");
        }
}

static void test_payment_register_goes_again_as_a_new_order_then_expires(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    for (int o = RW_REJECTED; o <= RW_LEASE_EXPIRED; o++) {
        rw_item_t it = s_bank("bank_register", (rw_outcome_t)o, RW_PHASE_OPEN, NULL);
        it.ctx.has_registered = false;
        it.ctx.resend_register = true;
        for (int64_t a = 1; a < 8; a++) {
            it.attempt = a;
            rw_decision_t d = s_decide(&p, &it);
            if (d.action != RW_RETRY)
                fail_msg("attempt %lld: want retry, got %s (%s)", (long long)a,
                         rw_action_name(d.action), d.note);
            assert_string_equal(d.kind, "bank_register");
            assert_true(d.delay_ms > 0 && d.delay_ms <= 60000);
            assert_int_equal(d.at_ms, NOW + d.delay_ms);
            assert_non_null(strstr(d.note, "a new order"));
        }
        it.attempt = 8;
        rw_decision_t d = s_decide(&p, &it);
        s_assert_expire(&d, "attempts spent");
    }
    /* An ok register is the core's to apply, never a second order. */
    rw_item_t ok = s_bank("bank_register", RW_OK, RW_PHASE_OPEN, NULL);
    ok.ctx.resend_register = true;
    rw_decision_t d = s_decide(&p, &ok);
    s_assert_park(&d, "anomaly");
}

static void test_open_order_is_synced_until_the_limit(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    /* The bank's states of an order not paid yet, a status that failed, a
     * lease that ran out. */
    rw_item_t registered = s_bank("bank_status", RW_OK, RW_PHASE_OPEN, "registered");
    rw_item_t pending = s_bank("bank_status", RW_OK, RW_PHASE_OPEN, "pending");
    rw_item_t held = s_bank("bank_status", RW_OK, RW_PHASE_OPEN, "preauthorized");
    rw_item_t unknown = s_bank("bank_status", RW_UNKNOWN, RW_PHASE_OPEN, NULL);
    rw_item_t rejected = s_bank("bank_status", RW_REJECTED, RW_PHASE_OPEN, NULL);
    rw_item_t leased = s_bank("bank_status", RW_LEASE_EXPIRED, RW_PHASE_OPEN, NULL);
    rw_item_t *items[] = {&registered, &pending, &held, &unknown, &rejected, &leased};
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        rw_item_t *it = items[i];
        rw_decision_t d = s_decide(&p, it);
        s_assert_retry(&d, "bank_status", 2000);
        assert_non_null(strstr(d.note, "status again"));
        it->attempt = 3;
        d = s_decide(&p, it);
        s_assert_retry(&d, "bank_status", 8000);
        it->attempt = 30;
        d = s_decide(&p, it);
        s_assert_retry(&d, "bank_status", 30000); /* the status row's cap */
        rw_policy_t lo = s_policy(s_low);
        d = s_decide(&lo, it);
        s_assert_retry(&d, "bank_status", 15000);
        /* Bounded by time, not attempts. */
        it->attempt = 5000;
        d = s_decide(&p, it);
        s_assert_retry(&d, "bank_status", 30000);
        /* One ms before the limit: synced. */
        it->ctx.registered_ms = NOW - 1800000 + 1;
        d = s_decide(&p, it);
        s_assert_retry(&d, "bank_status", 30000);
    }
    /* At the limit and after: never paid, expired. */
    rw_item_t *never_paid[] = {&registered, &pending};
    for (int i = 0; i < 2; i++) {
        never_paid[i]->ctx.registered_ms = NOW - 1800000;
        rw_decision_t d = s_decide(&p, never_paid[i]);
        s_assert_expire(&d, "open 1800 s");
        assert_non_null(strstr(d.note, never_paid[i]->status));
        assert_non_null(strstr(d.note, "never paid"));
        never_paid[i]->ctx.registered_ms = NOW - 86400000;
        d = s_decide(&p, never_paid[i]);
        s_assert_expire(&d, "never paid");
    }
    /* The last sync failed: not known whether the payer paid since, so not
     * ended unseen. */
    rw_item_t *unseen[] = {&unknown, &rejected, &leased};
    for (int i = 0; i < 3; i++) {
        unseen[i]->ctx.registered_ms = NOW - 1800000;
        rw_decision_t d = s_decide(&p, unseen[i]);
        s_assert_park(&d, "not known whether it was paid");
        assert_non_null(strstr(d.note, rw_outcome_name(unseen[i]->outcome)));
        unseen[i]->ctx.registered_ms = NOW - 86400000;
        d = s_decide(&p, unseen[i]);
        s_assert_park(&d, "not known");
    }
    /* The bank holds the payer's amount: for an operator, not expired. */
    held.ctx.registered_ms = NOW - 1800000;
    rw_decision_t d = s_decide(&p, &held);
    s_assert_park(&d, "preauthorized");
}

static void test_the_limit_counts_from_registration_else_creation(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_item_t it = s_bank("bank_status", RW_OK, RW_PHASE_OPEN, "registered");
    /* An invoice made long ago, registered lately: synced. */
    it.ctx.created_ms = NOW - 86400000;
    it.ctx.registered_ms = NOW - MIN_MS;
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "bank_status", 2000);
    /* No registration time: from the invoice's creation. */
    it.ctx.has_registered = false;
    it.ctx.registered_ms = 0;
    d = s_decide(&p, &it);
    s_assert_expire(&d, "never paid");
    it.ctx.created_ms = NOW - 1800000 + 1;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bank_status", 2000);
    it.ctx.created_ms = NOW - 1800000;
    d = s_decide(&p, &it);
    s_assert_expire(&d, "open 1800 s");
    it.outcome = RW_UNKNOWN;
    it.has_status = false;
    d = s_decide(&p, &it);
    s_assert_park(&d, "not known");
}

static void test_sync_limit_setting_moves_the_end(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    p.sync_limit_ms = 60000;
    rw_item_t it = s_bank("bank_status", RW_OK, RW_PHASE_OPEN, "pending");
    it.ctx.registered_ms = NOW - 59999;
    rw_decision_t d = s_decide(&p, &it);
    s_assert_retry(&d, "bank_status", 2000);
    it.ctx.registered_ms = NOW - 60000;
    d = s_decide(&p, &it);
    s_assert_expire(&d, "open 60 s");
    p.sync_limit_ms = 86400000;
    it.ctx.registered_ms = NOW - 86400000 + 1;
    d = s_decide(&p, &it);
    s_assert_retry(&d, "bank_status", 2000);
    it.ctx.registered_ms = NOW - 86400000;
    d = s_decide(&p, &it);
    s_assert_expire(&d, "open 86400 s");
}

static void test_open_order_in_a_resolved_state_is_parked(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const char *const states[] = {
        "paid", "reversed", "refunded", "declined", "not_found", "made_up", "unpaid", NULL,
    };
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        rw_item_t it = s_bank("bank_status", RW_OK, RW_PHASE_OPEN, states[i]);
        rw_decision_t d = s_decide(&p, &it);
        s_assert_park(&d, "anomaly");
        assert_non_null(strstr(d.note, states[i] ? states[i] : "none"));
        /* Past the limit too: parked, never expired. */
        it.ctx.registered_ms = NOW - 86400000;
        d = s_decide(&p, &it);
        s_assert_park(&d, "anomaly");
    }
}

static void test_final_or_missing_order_status_is_parked(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const char *const states[] = {"paid", "declined", "registered", "preauthorized", NULL};
    for (int o = RW_OK; o <= RW_LEASE_EXPIRED; o++)
        for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
            rw_item_t it = s_bank("bank_status", (rw_outcome_t)o, RW_PHASE_FINAL, states[i]);
            rw_decision_t d = s_decide(&p, &it);
            s_assert_park(&d, "final");
            it.ctx.registered_ms = NOW - 86400000;
            d = s_decide(&p, &it);
            s_assert_park(&d, "final");
            /* ctx {}: the order is gone. */
            it = s_bank("bank_status", (rw_outcome_t)o, RW_PHASE_NONE, states[i]);
            d = s_decide(&p, &it);
            s_assert_park(&d, "no bank order behind this bank_status job");
            /* A checkout's phase on a bank item. */
            it = s_bank("bank_status", (rw_outcome_t)o, RW_PHASE_SETTLE, states[i]);
            d = s_decide(&p, &it);
            s_assert_park(&d, "not a bank order's");
        }
}

static void test_failed_money_call_is_followed_by_a_status(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const char *const kinds[] = {"bank_deposit", "bank_reverse", "bank_refund"};
    static const rw_outcome_t failed[] = {RW_REJECTED, RW_UNKNOWN, RW_LEASE_EXPIRED};
    for (int k = 0; k < 3; k++)
        for (int f = 0; f < 3; f++)
            for (int ph = 0; ph < 2; ph++) {
                rw_item_t it = s_bank(kinds[k], failed[f], s_order_phases[ph], NULL);
                rw_decision_t d = s_decide(&p, &it);
                s_assert_retry(&d, "bank_status", 2000);
                assert_non_null(strstr(d.note, "status before anything else"));
                assert_non_null(strstr(d.note, kinds[k]));
                it.attempt = 3; /* the row of the call that ran */
                d = s_decide(&p, &it);
                s_assert_retry(&d, "bank_status", 8000);
                /* Past the sync limit too: the status decides. */
                it.ctx.registered_ms = NOW - 86400000;
                it.attempt = 299;
                d = s_decide(&p, &it);
                s_assert_retry(&d, "bank_status", 30000);
                it.attempt = 300;
                d = s_decide(&p, &it);
                s_assert_park(&d, "300 attempts spent (max 300)");
                it.attempt = 1000;
                d = s_decide(&p, &it);
                s_assert_park(&d, "attempts spent");
            }
}

static void test_money_call_that_succeeded_or_has_no_order_is_parked(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const char *const kinds[] = {"bank_deposit", "bank_reverse", "bank_refund"};
    for (int k = 0; k < 3; k++) {
        for (int ph = 0; ph < 2; ph++) {
            rw_item_t it = s_bank(kinds[k], RW_OK, s_order_phases[ph], NULL);
            rw_decision_t d = s_decide(&p, &it);
            s_assert_park(&d, "anomaly");
        }
        for (int o = RW_OK; o <= RW_LEASE_EXPIRED; o++) {
            rw_item_t it = s_bank(kinds[k], (rw_outcome_t)o, RW_PHASE_NONE, NULL);
            rw_decision_t d = s_decide(&p, &it);
            s_assert_park(&d, "no bank order behind");
            it = s_bank(kinds[k], (rw_outcome_t)o, RW_PHASE_REFUND, NULL);
            d = s_decide(&p, &it);
            s_assert_park(&d, "no bank order behind");
        }
    }
}

static void test_an_unknown_bank_call_is_never_retried_blind(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    static const char *const kinds[] = {"bank_transfer", "bank_capture", "bank_", "bank_statuses"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int o = RW_OK; o <= RW_LEASE_EXPIRED; o++) {
            rw_item_t it = s_bank(kinds[k], (rw_outcome_t)o, RW_PHASE_OPEN, NULL);
            rw_decision_t d = s_decide(&p, &it);
            s_assert_park(&d, "unknown bank kind");
            assert_non_null(strstr(d.note, kinds[k]));
        }
}

static void test_overrides_reach_the_bank_rows_but_not_the_sync_limit(void **state)
{
    (void)state;
    rw_policy_t p = s_policy(s_high);
    rw_policy_override(&p, 500, 4000, 3);
    rw_item_t deposit = s_bank("bank_deposit", RW_UNKNOWN, RW_PHASE_OPEN, NULL);
    deposit.attempt = 2;
    rw_decision_t d = s_decide(&p, &deposit);
    s_assert_retry(&d, "bank_status", 1000);
    deposit.attempt = 3;
    d = s_decide(&p, &deposit);
    s_assert_park(&d, "3 attempts spent (max 3)");
    /* An open order's sync has no count: still synced, at the new cap. */
    rw_item_t status = s_bank("bank_status", RW_UNKNOWN, RW_PHASE_OPEN, NULL);
    status.attempt = 50;
    d = s_decide(&p, &status);
    s_assert_retry(&d, "bank_status", 4000);
}

/* ---- the sweep: never an unsafe ask ---------------------------------------- */

/* The checks of one bank_* decision: only a bank_status is ever asked for,
 * and only where the rules allow it; expire only for an open order the bank
 * last said was never paid, past the sync limit. */
static void s_check_bank(const rw_item_t *it, const rw_decision_t *d)
{
    static const char *const money[] = {"bank_deposit", "bank_reverse", "bank_refund"};
    bool is_money = false;
    for (int m = 0; m < 3; m++)
        if (strcmp(it->kind, money[m]) == 0)
            is_money = true;
    bool is_status = strcmp(it->kind, "bank_status") == 0;
    int64_t since = it->ctx.has_registered ? it->ctx.registered_ms : it->ctx.created_ms;
    bool in_time = NOW < since + 1800000;
    const char *st = it->has_status ? it->status : "";
    bool never_paid = strcmp(st, "registered") == 0 || strcmp(st, "pending") == 0;
    bool syncing = never_paid || strcmp(st, "preauthorized") == 0;
    if (d->action == RW_EXPIRE) {
        assert_true(is_status);
        assert_int_equal(it->ctx.phase, RW_PHASE_OPEN);
        assert_int_equal(it->outcome, RW_OK);
        assert_true(never_paid);
        assert_false(in_time);
        return;
    }
    if (d->action == RW_PARK) {
        assert_null(d->kind);
        return;
    }
    assert_int_equal(d->action, RW_RETRY);
    /* Never a register, a deposit, a reverse or a refund: a status. */
    assert_string_equal(d->kind, "bank_status");
    assert_true(d->delay_ms > 0);
    if (is_status) {
        assert_int_equal(it->ctx.phase, RW_PHASE_OPEN);
        assert_true(in_time);
        assert_true(it->outcome != RW_OK || syncing);
    } else {
        assert_true(is_money);
        assert_true(it->outcome != RW_OK);
        assert_true(it->ctx.phase == RW_PHASE_OPEN || it->ctx.phase == RW_PHASE_FINAL);
        assert_true(it->attempt < 300);
    }
}

/* Keeps the sweep to the combinations that matter to a family: a bank item
 * has no commit or refund counts and no checkout's statuses but "refunded"
 * (index 5); the others need no bank states (from index 8), no bank counts
 * (299, 300: indexes 9, 10) and no bank order's age (op 3). */
static bool s_skip(const char *kind, size_t s, size_t a, size_t c, size_t op)
{
    if (strncmp(kind, "bank_", 5) == 0)
        return c != 0 || (s >= 1 && s < 8 && s != 5);
    return s >= 8 || a == 9 || a == 10 || c == 9 || c == 10 || op == 3;
}

static void test_no_decision_asks_for_what_the_core_refuses(void **state)
{
    (void)state;
    static const char *const kinds[] = {
        "bazaar_validate",  "bazaar_consume",   "bazaarpay_init", "bazaarpay_trace",
        "bazaarpay_commit", "bazaarpay_refund", "bank_register",  "bank_status",
        "bank_deposit",     "bank_reverse",     "bank_refund",    "bank_transfer",
        "bazaarpay_other",  "ledger_export",
    };
    static const char *const statuses[] = {
        NULL,
        "unpaid",
        "paid_not_committed",
        "paid_not_committed_refunded",
        "paid_committed",
        "refunded",
        "timed_out",
        "invalid_token",
        "registered",
        "pending",
        "preauthorized",
        "paid",
        "reversed",
        "declined",
        "not_found",
    };
    static const int64_t counts[] = {0, 1, 4, 7, 8, 19, 20, 199, 200, 299, 300, 1000};
#define S_NCOUNTS (sizeof counts / sizeof counts[0])
    static const int64_t window[] = {-1, NOW - MIN_MS, NOW + 29999, NOW + 30000, NOW + 9 * MIN_MS};
    /* The bank order's registration, by the same index: none, and either
     * side of the sync limit. */
    static const int64_t registered[] = {-1, NOW - 1800000, NOW - 1799999, NOW - MIN_MS,
                                         NOW - 86400000};
    static const int64_t opened[] = {NOW - MIN_MS, NOW - 900000, NOW - 899999, NOW - 1800000};
#define S_NOPENED (sizeof opened / sizeof opened[0])
    rw_policy_t policies[] = {s_policy(s_high), s_policy(s_low), s_policy(randombytes_uniform)};
    int64_t longest_cap = 0;
    for (int k = 0; k < RW_KIND__COUNT; k++)
        if (policies[0].rows[k].cap_ms > longest_cap)
            longest_cap = policies[0].rows[k].cap_ms;
    long decided = 0, bank_retries = 0, bank_expires = 0;
    for (size_t pi = 0; pi < 3; pi++)
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            for (int o = RW_OK; o <= RW_LEASE_EXPIRED; o++)
                for (int ph = RW_PHASE_NONE; ph <= RW_PHASE_FINAL; ph++)
                    for (size_t s = 0; s < sizeof statuses / sizeof statuses[0]; s++)
                        for (size_t a = 0; a < S_NCOUNTS; a++)
                            for (size_t c = 0; c < S_NCOUNTS; c++)
                                for (size_t w = 0; w < sizeof window / sizeof window[0]; w++)
                                    for (size_t op = 0; op < S_NOPENED; op++) {
                                        if (s_skip(kinds[k], s, a, c, op))
                                            continue;
                                        rw_item_t it = s_bp(kinds[k], (rw_outcome_t)o,
                                                            (rw_phase_t)ph, statuses[s]);
                                        it.attempt = counts[a];
                                        it.ctx.commits = counts[c];
                                        it.ctx.refunds = counts[(c + a) % S_NCOUNTS];
                                        it.ctx.has_window_end = window[w] >= 0;
                                        it.ctx.window_end_ms = window[w] >= 0 ? window[w] : 0;
                                        it.ctx.created_ms = opened[op];
                                        it.ctx.has_registered = registered[w] >= 0;
                                        it.ctx.registered_ms =
                                            registered[w] >= 0 ? registered[w] : 0;
                                        rw_decision_t d;
                                        rw_decide(&policies[pi], &it, NOW, &d);
                                        decided++;
                                        if (d.action == RW_RETRY) {
                                            assert_true(d.at_ms >= NOW);
                                            assert_true(d.at_ms - NOW <= longest_cap);
                                            assert_int_equal(d.at_ms - NOW, d.delay_ms);
                                        }
                                        if (strncmp(kinds[k], "bank_", 5) == 0) {
                                            s_check_bank(&it, &d);
                                            bank_retries += d.action == RW_RETRY;
                                            bank_expires += d.action == RW_EXPIRE;
                                            continue;
                                        }
                                        const char *st = statuses[s] ? statuses[s] : "";
                                        bool trace_ok =
                                            o == RW_OK && strcmp(kinds[k], "bazaarpay_trace") == 0;
                                        if (d.action == RW_EXPIRE) {
                                            assert_int_equal(ph, RW_PHASE_OPEN);
                                            assert_true(NOW >= opened[op] + 900000);
                                            continue;
                                        }
                                        if (d.action == RW_PARK) {
                                            assert_null(d.kind);
                                            continue;
                                        }
                                        assert_int_equal(d.action, RW_RETRY);
                                        bool bp = strncmp(kinds[k], "bazaarpay_", 10) == 0;
                                        if (!bp) { /* the same call again */
                                            assert_string_equal(d.kind, kinds[k]);
                                            assert_true(o != RW_OK);
                                            continue;
                                        }
                                        assert_true(strcmp(d.kind, "bazaarpay_trace") == 0 ||
                                                    strcmp(d.kind, "bazaarpay_commit") == 0 ||
                                                    strcmp(d.kind, "bazaarpay_refund") == 0);
                                        assert_true(strcmp(kinds[k], "bazaarpay_init") != 0);
                                        assert_true(strcmp(kinds[k], "bazaarpay_other") != 0);
                                        assert_true(ph >= RW_PHASE_OPEN && ph <= RW_PHASE_REFUND);
                                        if (strcmp(d.kind, "bazaarpay_commit") == 0) {
                                            /* Only after a trace saying paid_not_committed,
                                             * delivered, window open, commits left. */
                                            assert_true(trace_ok);
                                            assert_string_equal(st, "paid_not_committed");
                                            assert_int_equal(ph, RW_PHASE_SETTLE);
                                            assert_true(!it.ctx.has_window_end ||
                                                        NOW < it.ctx.window_end_ms - 30000);
                                            assert_true(it.ctx.commits < 20);
                                            assert_int_equal(d.delay_ms, 0);
                                        }
                                        if (strcmp(d.kind, "bazaarpay_refund") == 0) {
                                            assert_true(trace_ok);
                                            assert_true(strcmp(st, "paid_not_committed") == 0 ||
                                                        strcmp(st, "paid_committed") == 0);
                                            assert_true(ph == RW_PHASE_SETTLE ||
                                                        ph == RW_PHASE_REFUND);
                                            assert_true(ph == RW_PHASE_REFUND ||
                                                        strcmp(st, "paid_not_committed") == 0);
                                            assert_true(it.ctx.refunds < 8);
                                            assert_int_equal(d.delay_ms, 0);
                                        }
                                    }
    assert_true(decided > 1000000);
    /* The sweep reached the bank rules that act, not only the parks. */
    assert_true(bank_retries > 1000 && bank_expires > 100);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_has_its_row_and_others_the_default),
        cmocka_unit_test(test_backoff_doubles_from_base_to_cap),
        cmocka_unit_test(test_equal_jitter_stays_in_half_to_whole),
        cmocka_unit_test(test_jitter_column_sets_the_random_share),
        cmocka_unit_test(test_defaults_fit_the_commit_window),
        cmocka_unit_test(test_defaults_fit_a_bank_payment_session),
        cmocka_unit_test(test_overrides_apply_to_every_row_and_zero_keeps),
        cmocka_unit_test(test_validate_after_lease_expiry_is_retried_on_backoff),
        cmocka_unit_test(test_consume_failures_are_retried_until_spent),
        cmocka_unit_test(test_unknown_kind_uses_the_default_row_and_keeps_its_kind),
        cmocka_unit_test(test_an_ok_store_job_is_parked_not_retried),
        cmocka_unit_test(test_init_is_parked_whatever_happened),
        cmocka_unit_test(test_an_unknown_bazaarpay_call_is_never_retried_blind),
        cmocka_unit_test(test_a_bazaarpay_item_without_phase_is_parked),
        cmocka_unit_test(test_open_checkout_is_retraced_until_the_limit),
        cmocka_unit_test(test_retrace_limit_setting_moves_the_expiry),
        cmocka_unit_test(test_open_phase_never_commits_or_refunds),
        cmocka_unit_test(test_failed_commit_is_traced_never_resent),
        cmocka_unit_test(test_failed_refund_in_settle_is_traced_until_refunds_spent),
        cmocka_unit_test(test_paid_not_committed_is_committed_while_the_window_is_open),
        cmocka_unit_test(test_refund_in_the_backoff_when_the_window_closes),
        cmocka_unit_test(test_paid_not_committed_with_attempts_spent_is_refunded),
        cmocka_unit_test(test_a_long_open_phase_leaves_the_settle_budget_whole),
        cmocka_unit_test(test_refund_due_with_refunds_spent_is_parked),
        cmocka_unit_test(test_failed_trace_in_settle_is_retraced_until_spent),
        cmocka_unit_test(test_other_trace_statuses_in_settle_are_parked_anomalies),
        cmocka_unit_test(test_a_commit_or_refund_that_succeeded_is_parked),
        cmocka_unit_test(test_refund_phase_refunds_a_paid_checkout),
        cmocka_unit_test(test_refund_phase_failures_are_traced),
        cmocka_unit_test(test_refund_phase_with_nothing_to_refund_is_parked),
        cmocka_unit_test(test_register_is_parked_whatever_happened),
        cmocka_unit_test(test_payment_register_goes_again_as_a_new_order_then_expires),
        cmocka_unit_test(test_open_order_is_synced_until_the_limit),
        cmocka_unit_test(test_the_limit_counts_from_registration_else_creation),
        cmocka_unit_test(test_sync_limit_setting_moves_the_end),
        cmocka_unit_test(test_open_order_in_a_resolved_state_is_parked),
        cmocka_unit_test(test_final_or_missing_order_status_is_parked),
        cmocka_unit_test(test_failed_money_call_is_followed_by_a_status),
        cmocka_unit_test(test_money_call_that_succeeded_or_has_no_order_is_parked),
        cmocka_unit_test(test_an_unknown_bank_call_is_never_retried_blind),
        cmocka_unit_test(test_overrides_reach_the_bank_rows_but_not_the_sync_limit),
        cmocka_unit_test(test_no_decision_asks_for_what_the_core_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
