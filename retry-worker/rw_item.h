/*  rw_item: one ITEM of a RETRY_TAKE reply (pm_proto.h, "Retries"), decoded
 *  into fixed-size copies and checked.
 *
 *  Strict in what decides, lenient in what is only logged. The fields the
 *  policy reads (id, kind, attempt, gen, outcome, status; for bazaarpay_*
 *  kinds ctx.phase, ctx.created_ms, ctx.commits and ctx.refunds; for bank_*
 *  kinds ctx.phase and ctx.created_ms) must be there with their documented
 *  types and ranges, or the item is refused. ctx.window_end_ms and
 *  ctx.registered_ms may be nil (or absent), read as "not known", and
 *  ctx.resend_register absent (or nil) reads as false; reason,
 *  created_ms, failed_ms and ctx.delivered_ms may be absent (or nil), since
 *  they only go to logs. When present, each must have its type, and a long
 *  reason is cut. Nothing payment-core sends reaches an assert. */
#ifndef RW_ITEM_H
#define RW_ITEM_H
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RW_ID_MAX 128     /* bytes of a job id */
#define RW_KIND_MAX 64    /* bytes of a job kind */
#define RW_REASON_MAX 200 /* bytes of a reason kept (longer ones are cut) */
#define RW_STATUS_MAX 64  /* bytes of a trace status */
/* Ranges that keep the policy's arithmetic far from overflow: times up to
 * the end of year 9999, counts up to a billion. */
#define RW_TIME_MAX INT64_C(253402300799999)
#define RW_COUNT_MAX INT64_C(1000000000)

typedef enum { RW_OK = 0, RW_REJECTED, RW_UNKNOWN, RW_LEASE_EXPIRED } rw_outcome_t;

/* ctx.phase: of a bazaarpay_* item open, settle or refund; of a bank_* item
 * open or final. NONE for other kinds, and for a bazaarpay_* or bank_* item
 * whose ctx is {} (payment-core found no checkout or order). */
typedef enum {
    RW_PHASE_NONE = 0,
    RW_PHASE_OPEN,
    RW_PHASE_SETTLE,
    RW_PHASE_REFUND,
    RW_PHASE_FINAL
} rw_phase_t;

typedef struct {
    char id[RW_ID_MAX + 1];
    char kind[RW_KIND_MAX + 1]; /* the call that ran */
    int64_t attempt;            /* calls leased so far, 0..RW_COUNT_MAX */
    int64_t gen;                /* this decision lease; RETRY_DECIDE echoes it */
    rw_outcome_t outcome;
    char reason[RW_REASON_MAX + 1]; /* "" when absent */
    bool has_status;                /* a trace's status (bazaarpay_trace) or the
                                       bank's state (bank_status) was given */
    char status[RW_STATUS_MAX + 1];
    int64_t created_ms; /* Unix ms, 0..RW_TIME_MAX; 0 when absent */
    int64_t failed_ms;  /* Unix ms the outcome was recorded; 0 when absent */
    struct {            /* read for bazaarpay_* and bank_* kinds only, else
                           zero; all zero too for a ctx of {} */
        rw_phase_t phase;
        int64_t created_ms;    /* the checkout's, or the bank order's invoice's,
                                  Unix ms */
        bool has_registered;   /* bank_*: the order was registered */
        bool resend_register;  /* bank_*: a register whose outcome is not known
                                  may go again as a new order (a payment's:
                                  nobody holds the lost one's URL); absent is
                                  false */
        int64_t registered_ms; /* with the bank, Unix ms */
        bool has_delivered;
        int64_t delivered_ms;
        bool has_window_end;
        int64_t window_end_ms; /* delivered_ms + the commit window */
        int64_t commits;       /* bazaarpay_*: commit calls made, 0..RW_COUNT_MAX */
        int64_t refunds;       /* bazaarpay_*: refund calls made, 0..RW_COUNT_MAX */
    } ctx;
} rw_item_t;

/* True when kind names a BazaarPay call ("bazaarpay_" prefix), whose item
 * carries a checkout ctx and follows the two-phase rules. */
bool rw_kind_is_bazaarpay(const char *kind);

/* True when kind names a bank call ("bank_" prefix), whose item carries a
 * bank order ctx and follows the bank rules. */
bool rw_kind_is_bank(const char *kind);

/* Decodes one ITEM map into *item (always fully written). Returns 0, or -1
 * when o is not a usable ITEM: then why (cap bytes) says what is wrong, and
 * *identified tells whether item->id and item->gen were read all the same,
 * so that the item can still be parked rather than left to come back. */
int rw_item_decode(const msgpack_object *o, rw_item_t *item, bool *identified, char *why,
                   size_t cap);

/* "ok", "rejected", "unknown", "lease_expired". Static storage. */
const char *rw_outcome_name(rw_outcome_t outcome);

/* "open", "settle", "refund", "final", "" for NONE. Static storage. */
const char *rw_phase_name(rw_phase_t phase);

#endif
