/*  bazaarpay: the simulated BazaarPay merchant API ("badje" v1).
 *
 *  Speaks what ../shared/providers.md section 1 describes, on the same paths
 *  under /badje/v1/ (trailing slashes included): checkout/init/, trace/,
 *  commit/ and refund/, with the merchant's "Authorization: Token T" and
 *  DRF's error shapes ({"detail": ...}, {"field": ["..."]}). Behind it is a
 *  bounded store of checkouts, each walking BazaarPay's life cycle:
 *
 *      unpaid --pay--> paid_not_committed --commit--> paid_committed
 *        |                |    |                          |
 *        |                |    +--refund--> refunded <--refund
 *        |                +--(commit window passes)--> paid_not_committed_refunded
 *        +--(checkout TTL passes, or the user cancels)--> timed_out
 *
 *  The transitions by time are applied lazily, whenever a checkout is
 *  looked at, against the monotonic clock, so no timer thread is needed. A
 *  person pays or cancels on the payment page (/bazaarpay/payment, plain
 *  HTML forms a browser test can click), a test through the admin API
 *  (/sandbox/bazaarpay/checkouts/...), which also reads the counters a
 *  checker needs (commits applied and commit calls received, the same for
 *  refunds).
 *
 *  The store functions are pure data operations: the caller holds the
 *  sandbox lock and passes the clocks. The sb_bp_on_* handlers take the lock
 *  themselves. */
#ifndef SB_BAZAARPAY_H
#define SB_BAZAARPAY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_route.h"
#include "sb_sandbox.h"

#define SB_BP_TOKEN_LEN 12           /* checkout token: decimal digits, the first not 0 */
#define SB_BP_AMOUNT_MAX 1000000000  /* rials, the most checkout/init/ accepts */
#define SB_BP_DESTINATION_MAX 255    /* characters of a destination */
#define SB_BP_SERVICE_NAME_MAX 512   /* characters of a service name */
#define SB_BP_TOKEN_FIELD_MAX 255    /* characters of a checkout_token a client sends */
#define SB_BP_REDIRECT_MAX 2048      /* bytes of a redirect_url */
#define SB_BP_PHONE_MAX 32           /* bytes of a phone shown on the payment page */
#define SB_BP_LIST_MAX 1000          /* checkouts the admin listing shows (the newest) */
#define SB_BP_MERCHANT_TOKEN_MAX 255 /* bytes of the merchant token */

/* What trace/ answers; SB_BP_INVALID_TOKEN is never a checkout's status. */
typedef enum {
    SB_BP_INVALID_TOKEN = 0,
    SB_BP_UNPAID,
    SB_BP_PAID_NOT_COMMITTED,
    SB_BP_PAID_NOT_COMMITTED_REFUNDED,
    SB_BP_PAID_COMMITTED,
    SB_BP_REFUNDED,
    SB_BP_TIMED_OUT,
} sb_bp_status_t;

/* The clocks a store call runs at: the wall clock for the times it reports,
 * the monotonic clock for the deadlines it keeps. */
typedef struct {
    int64_t wall_ms; /* ms since the epoch */
    int64_t mono_ms;
} sb_bp_now_t;

typedef struct {
    char token[SB_BP_TOKEN_LEN + 1];
    int64_t amount;                   /* rials */
    char *destination, *service_name; /* owned */
    sb_bp_status_t status;            /* as of the last look (see sb_bp_find) */
    int64_t created_ms;               /* ms since the epoch */
    int64_t paid_ms;                  /* ms since the epoch; -1: not paid */
    int64_t deadline_mono_ms;         /* unpaid: times out then; paid_not_committed: the
                                         commit window closes then */
    int64_t refund_amount;            /* rials; -1: not refunded */
    uint32_t commits;                 /* commit transitions applied: 0 or 1 */
    uint32_t commit_calls;            /* commit calls received for this checkout */
    uint32_t refunds;                 /* refund transitions applied: 0 or 1 */
    uint32_t refund_calls;            /* refund calls received for this checkout */
} sb_bp_checkout_t;

typedef struct {
    const char *merchant_token; /* borrowed */
    int commit_window_s;        /* paid and not committed for this long: returned to the user */
    int checkout_ttl_s;         /* unpaid for this long: timed_out */
    size_t max_checkouts;
} sb_bp_config_t;

typedef enum {
    SB_BP_OK,          /* the transition was applied */
    SB_BP_ALREADY,     /* it had been (commit, refund) or there is nothing to do (expire) */
    SB_BP_WRONG_STATE, /* not allowed in the checkout's status */
    SB_BP_UNKNOWN,     /* no checkout has this token */
    SB_BP_TOO_MUCH,    /* refund: more than the checkout's amount */
} sb_bp_result_t;

/* The trace/ name of a status ("paid_committed", ...). */
const char *sb_bp_status_name(sb_bp_status_t status);

/* Strings of cfg are borrowed and must outlive the store. */
sb_bp_t *sb_bp_new(const sb_bp_config_t *cfg);
void sb_bp_destroy(sb_bp_t **self_p);

/* A new unpaid checkout with a new random token, timing out checkout_ttl_s
 * from now. Returns it (borrowed until the next init: the array may move),
 * or NULL when max_checkouts are held or memory is short. */
const sb_bp_checkout_t *sb_bp_init(sb_bp_t *self, int64_t amount, const char *destination,
                                   const char *service_name, sb_bp_now_t now);

/* The checkout with token, its status brought up to now, or NULL. */
const sb_bp_checkout_t *sb_bp_find(sb_bp_t *self, const char *token, sb_bp_now_t now);

/* What trace/ answers for token: SB_BP_INVALID_TOKEN when unknown. */
sb_bp_status_t sb_bp_trace(sb_bp_t *self, const char *token, sb_bp_now_t now);

/* commit/: paid_not_committed becomes paid_committed (OK); paid_committed
 * is ALREADY; other statuses WRONG_STATE. Every call for a known token
 * counts in commit_calls. */
sb_bp_result_t sb_bp_commit(sb_bp_t *self, const char *token, sb_bp_now_t now);

/* refund/: paid_not_committed or paid_committed becomes refunded (OK) for
 * amount (-1: all of it; TOO_MUCH above the checkout's amount); refunded is
 * ALREADY whatever the amount (one refund per checkout); other statuses
 * WRONG_STATE. Every call for a known token counts in refund_calls. */
sb_bp_result_t sb_bp_refund(sb_bp_t *self, const char *token, int64_t amount, sb_bp_now_t now);

/* The user paid: unpaid becomes paid_not_committed, and the commit window
 * opens (OK); other statuses WRONG_STATE. */
sb_bp_result_t sb_bp_pay(sb_bp_t *self, const char *token, sb_bp_now_t now);

/* The user gave up: unpaid becomes timed_out (OK), as BazaarPay reports an
 * abandoned checkout; other statuses WRONG_STATE. */
sb_bp_result_t sb_bp_cancel(sb_bp_t *self, const char *token, sb_bp_now_t now);

/* Time runs out now: unpaid becomes timed_out, paid_not_committed
 * paid_not_committed_refunded (OK); other statuses are left (ALREADY). */
sb_bp_result_t sb_bp_expire(sb_bp_t *self, const char *token, sb_bp_now_t now);

size_t sb_bp_count(const sb_bp_t *self);
/* Checkout i (0 = oldest), its status brought up to now. */
const sb_bp_checkout_t *sb_bp_at(sb_bp_t *self, size_t i, sb_bp_now_t now);

typedef enum { SB_BP_AUTH_OK, SB_BP_AUTH_MISSING, SB_BP_AUTH_WRONG } sb_bp_auth_t;

/* Checks an Authorization header ("Token T", the scheme in any case)
 * against the merchant token: MISSING without one (no header, another
 * scheme, no T), WRONG for another T. Pure; constant time in T. */
sb_bp_auth_t sb_bp_authenticate(const char *header, const char *merchant_token);

/* True when url may be redirected to: http:// or https:// (any case), a
 * host, at most SB_BP_REDIRECT_MAX bytes, no control characters. Pure. */
bool sb_bp_redirect_ok(const char *url);

/* The payment page of c as HTML: amount, service name, merchant, and the
 * Pay (#pay) and Cancel (#cancel) forms carrying token and redirect_url
 * (checked by the caller). phone is shown when it is one (NULL: none).
 * Every text is HTML-escaped. Caller owns the result (NUL-terminated, len
 * bytes); NULL when memory is short. */
char *sb_bp_page_html(const sb_bp_checkout_t *c, const char *redirect_url, const char *phone,
                      size_t *len);

/* Handlers (sb_routes.c): the merchant API, */
void sb_bp_on_init(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bp_on_trace(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bp_on_commit(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bp_on_refund(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
/* the payment page a person opens, */
void sb_bp_on_page(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bp_on_page_pay(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bp_on_page_cancel(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
/* and the admin API. */
void sb_bp_on_admin_list(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bp_on_admin_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bp_on_admin_pay(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bp_on_admin_cancel(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bp_on_admin_expire(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);

#endif
