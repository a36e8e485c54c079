/*  bank: the simulated bank card gateways, Halkbank's BPC RBS REST gateway
 *  and TFEB's TSYS Prime OrderProcessing API.
 *
 *  Speaks what ../shared/providers.md section 3 describes, on the same
 *  paths: RBS under /payment/rest/ (register.do, registerPreAuth.do,
 *  getOrderStatusExtended.do, the legacy getOrderStatus.do, deposit.do,
 *  reverse.do, refund.do; form parameters in the body or the query string,
 *  userName and password, HTTP 200 with errorCode for business errors), and
 *  TFEB's OAuth2 client-credentials token at /identityserver/connect/token
 *  with its orders under /OrderProcessing_TURK/v1/ (POST orders, GET
 *  Orders/{id}, POST Orders/{id}/refund, Bearer tokens, operationResult
 *  codes). Behind both is one bounded store of orders, keyed by the bank's
 *  orderId (a UUID), each walking RBS's orderStatus life cycle:
 *
 *      registered(0) --pay, one-phase--------------> deposited(2) --refund, all--> refunded(4)
 *        |    |                                        ^
 *        |    +--pay, two-phase--> preauthorized(1) --deposit
 *        |                             +--reverse--> reversed(3)
 *        +--decline--> declined(6)
 *
 *  A partial refund leaves a deposited order deposited, with refunded_minor
 *  grown; the refund that reaches the deposited amount makes it refunded.
 *  TFEB orders are one-phase: registered reads OPG-00100, deposited and
 *  refunded GEN-00000, declined OPG-00006.
 *
 *  A person pays or declines on the bank's card page (RBS's formUrl,
 *  TFEB's redirectToCheckout: plain HTML forms a browser test can click,
 *  buttons #pay and #decline), a test through the admin API
 *  (/sandbox/bank/orders/...), which also reads the counters a checker
 *  needs (deposits applied and deposit calls received, reversals, refunds).
 *
 *  The store functions are pure data operations: the caller holds the
 *  sandbox lock and passes the clock. The sb_bank_on_* handlers take the
 *  lock themselves. */
#ifndef SB_BANK_H
#define SB_BANK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_route.h"
#include "sb_sandbox.h"

#define SB_BANK_ID_LEN 36                 /* orderId: a UUID in text form */
#define SB_BANK_RBS_NUMBER_MAX 32         /* bytes of an RBS orderNumber (AN..32) */
#define SB_BANK_NUMBER_MAX 64             /* bytes of a TFEB MerchantOrderId */
#define SB_BANK_AMOUNT_MAX 999999999999LL /* minor units (RBS amount N..12) */
#define SB_BANK_URL_MAX 2048              /* bytes of a returnUrl, failUrl, final URL */
#define SB_BANK_DESCRIPTION_MAX 512       /* bytes of an order description */
#define SB_BANK_PARAM_MAX 4096            /* bytes of any parameter read */
#define SB_BANK_CREDENTIAL_MAX 255        /* bytes of a user name, password, client, secret */
#define SB_BANK_TOKEN_LEN 43              /* TFEB access token: 32 random bytes, base64url */
#define SB_BANK_TOKENS_MAX 1024           /* live TFEB tokens kept; the oldest is forgotten */
#define SB_BANK_LIST_MAX 1000             /* orders the admin listing shows (the newest) */
#define SB_BANK_CURRENCY "934"            /* TMT, the one currency both banks take */
#define SB_BANK_TFEB_SCOPE "TSYS.Prime.WebApplications.OrderProcessing"
#define SB_BANK_WRONG_STATE_MESSAGE "Платёж должен быть в корректном состоянии"

typedef enum { SB_BANK_RBS, SB_BANK_TFEB } sb_bank_kind_t;

/* The values are RBS's orderStatus. */
typedef enum {
    SB_BANK_REGISTERED = 0,
    SB_BANK_PREAUTHORIZED = 1,
    SB_BANK_DEPOSITED = 2,
    SB_BANK_REVERSED = 3,
    SB_BANK_REFUNDED = 4,
    SB_BANK_DECLINED = 6,
} sb_bank_state_t;

typedef struct {
    char order_id[SB_BANK_ID_LEN + 1];
    sb_bank_kind_t bank;
    char order_number[SB_BANK_NUMBER_MAX + 1]; /* RBS orderNumber, TFEB MerchantOrderId */
    int64_t amount_minor;                      /* tenge */
    bool two_phase;                            /* registerPreAuth.do */
    char *return_url;                          /* owned; RBS returnUrl, TFEB final URL */
    char *fail_url;                            /* owned; NULL: none (RBS only) */
    char *description;                         /* owned; NULL: none */
    sb_bank_state_t state;
    int64_t deposited_minor; /* tenge taken: the amount, or what deposit.do took */
    int64_t refunded_minor;  /* tenge refunded so far */
    uint32_t deposits;       /* deposit transitions applied: 0 or 1 */
    uint32_t deposit_calls;  /* deposit.do calls received for this order */
    uint32_t reversals;      /* reverse transitions applied: 0 or 1 */
    uint32_t reverse_calls;  /* reverse.do calls received */
    uint32_t refunds;        /* refunds applied (partial ones each count) */
    uint32_t refund_calls;   /* refund calls received */
    int64_t created_ms;      /* ms since the epoch */
    int64_t paid_ms;         /* ms since the epoch; -1: not paid or approved */
} sb_bank_order_t;

typedef struct {
    const char *rbs_username, *rbs_password;         /* borrowed */
    const char *tfeb_client_id, *tfeb_client_secret; /* borrowed */
    int tfeb_token_ttl_s;                            /* expires_in of issued tokens */
    size_t max_orders;
} sb_bank_config_t;

/* What a new order is made of. Borrowed strings, checked by the caller
 * (lengths within the limits above, URLs by sb_bank_url_ok). */
typedef struct {
    sb_bank_kind_t bank;
    const char *order_number;
    int64_t amount_minor; /* 1..SB_BANK_AMOUNT_MAX */
    bool two_phase;       /* RBS only */
    const char *return_url;
    const char *fail_url;    /* or NULL */
    const char *description; /* or NULL */
} sb_bank_new_order_t;

typedef enum {
    SB_BANK_OK,          /* the transition was applied */
    SB_BANK_DUPLICATE,   /* register: an RBS order has this orderNumber already */
    SB_BANK_FULL,        /* register: max_orders are held, or memory is short */
    SB_BANK_UNKNOWN,     /* no order has this orderId (of this bank) */
    SB_BANK_WRONG_STATE, /* not allowed in the order's state */
    SB_BANK_TOO_MUCH,    /* deposit above the approved amount, refund above what is left */
} sb_bank_result_t;

/* "registered", "preauthorized", "deposited", "reversed", "refunded",
 * "declined". */
const char *sb_bank_state_name(sb_bank_state_t state);
/* "rbs", "tfeb". */
const char *sb_bank_kind_name(sb_bank_kind_t bank);

/* Strings of cfg are borrowed and must outlive the store. */
sb_bank_t *sb_bank_new(const sb_bank_config_t *cfg);
void sb_bank_destroy(sb_bank_t **self_p);

/* A new registered order with a new random orderId, created now_ms.
 * Returns OK with *out set (borrowed until the next register: the array
 * may move), DUPLICATE when an RBS order has the orderNumber (*out: that
 * order), FULL. TFEB MerchantOrderIds are not checked for duplicates. */
sb_bank_result_t sb_bank_register(sb_bank_t *self, const sb_bank_new_order_t *o, int64_t now_ms,
                                  const sb_bank_order_t **out);

/* The order with order_id of bank, or NULL. */
const sb_bank_order_t *sb_bank_find(const sb_bank_t *self, sb_bank_kind_t bank,
                                    const char *order_id);
/* The order with order_id of either bank, or NULL. */
const sb_bank_order_t *sb_bank_find_any(const sb_bank_t *self, const char *order_id);
/* The RBS order with order_number, or NULL. */
const sb_bank_order_t *sb_bank_find_number(const sb_bank_t *self, const char *order_number);

/* The card holder paid: registered becomes deposited (one-phase) or
 * preauthorized (two-phase), paid_ms now_ms (OK); other states
 * WRONG_STATE. */
sb_bank_result_t sb_bank_pay(sb_bank_t *self, const char *order_id, int64_t now_ms);

/* The card was declined: registered becomes declined (OK); other states
 * WRONG_STATE. */
sb_bank_result_t sb_bank_decline(sb_bank_t *self, const char *order_id);

/* deposit.do: preauthorized becomes deposited for amount_minor (0: the
 * whole approved amount; TOO_MUCH above it); any other state, deposited
 * included, is WRONG_STATE. Every call for a known RBS order counts in
 * deposit_calls. */
sb_bank_result_t sb_bank_deposit(sb_bank_t *self, const char *order_id, int64_t amount_minor);

/* reverse.do: preauthorized becomes reversed (OK); other states
 * WRONG_STATE. Every call for a known RBS order counts in reverse_calls. */
sb_bank_result_t sb_bank_reverse(sb_bank_t *self, const char *order_id);

/* refund.do, TFEB's refund: amount_minor (> 0) of a deposited order is
 * refunded (OK; TOO_MUCH above what is deposited and not refunded yet);
 * the order becomes refunded once all of it is. Other states WRONG_STATE.
 * Every call for a known order of bank counts in refund_calls. */
sb_bank_result_t sb_bank_refund(sb_bank_t *self, sb_bank_kind_t bank, const char *order_id,
                                int64_t amount_minor);

size_t sb_bank_count(const sb_bank_t *self);
/* Order i (0 = oldest). */
const sb_bank_order_t *sb_bank_at(const sb_bank_t *self, size_t i);

/* True when user and password are the RBS merchant account's. Constant
 * time in the password. */
bool sb_bank_rbs_login(const sb_bank_t *self, const char *user, const char *password);

/* TFEB's token endpoint: OK and a new token (SB_BANK_TOKEN_LEN + 1 bytes)
 * valid for tfeb_token_ttl_s from now_mono_ms when client_id and
 * client_secret are the configured ones; NULL otherwise. The oldest of
 * SB_BANK_TOKENS_MAX live tokens is forgotten. */
bool sb_bank_tfeb_token(sb_bank_t *self, const char *client_id, const char *client_secret,
                        int64_t now_mono_ms, char token[SB_BANK_TOKEN_LEN + 1]);

/* True when token was issued and has not expired at now_mono_ms. */
bool sb_bank_tfeb_token_live(const sb_bank_t *self, const char *token, int64_t now_mono_ms);

/* True when url may be redirected to: http:// or https:// (any case), a
 * host, at most SB_BANK_URL_MAX bytes, no control characters. Pure. */
bool sb_bank_url_ok(const char *url);

/* Where the card page sends the browser after pay (paid) or decline: the
 * returnUrl (the failUrl on decline, when the order has one) with
 * "orderId=<id>" added to its query ('?' or '&', before any '#'). Returns
 * 0, or -1 when it does not fit in cap. Pure. */
int sb_bank_return_url(const sb_bank_order_t *o, bool paid, char *out, size_t cap);

/* The card page of o as HTML: bank, amount, order number, description, and
 * the Pay (#pay) and Decline (#decline) forms posting to pay_action and
 * decline_action with order_id. Every text is HTML-escaped. Caller owns the
 * result (NUL-terminated, len bytes); NULL when memory is short. */
char *sb_bank_page_html(const sb_bank_order_t *o, const char *pay_action,
                        const char *decline_action, size_t *len);

/* Handlers (sb_routes.c): RBS, */
void sb_bank_on_rbs_register(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_rbs_register_preauth(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_rbs_status_extended(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_rbs_status(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_rbs_deposit(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_rbs_reverse(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_rbs_refund(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
/* TFEB, */
void sb_bank_on_tfeb_token(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_tfeb_create(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_tfeb_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_tfeb_refund(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
/* the card pages a person opens, */
void sb_bank_on_rbs_page(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_rbs_page_pay(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_rbs_page_decline(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_tfeb_page(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_tfeb_page_pay(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_tfeb_page_decline(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
/* and the admin API. */
void sb_bank_on_admin_list(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_admin_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_admin_pay(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bank_on_admin_decline(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);

#endif
