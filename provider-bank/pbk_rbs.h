/*  pbk_rbs: the pure half of the Halkbank client (BPC RBS REST gateway).
 *
 *  Builds the five calls (register.do or registerPreAuth.do,
 *  getOrderStatusExtended.do, deposit.do, reverse.do, refund.do) as form
 *  POSTs and classifies every answer into a job outcome. Nothing here does
 *  I/O, so every case of ../shared/providers.md section 3 is unit tested
 *  (tests/unit/test_pbk_rbs.c).
 *
 *  RBS answers HTTP 200 even for business errors; errorCode says what
 *  happened. It comes as a string ("0", "7"), a number, or not at all;
 *  absent or 0 is success. Anything that is not a 200 with one whole JSON
 *  object (a 5xx, an HTML page, a cut body) is unknown.
 *
 *    errorCode  register                 status            deposit, reverse, refund
 *    0, absent  ok (orderId and formUrl  ok, the state of  ok
 *               needed, else unknown)    orderStatus
 *    1          rejected                 unknown           unknown
 *               "duplicate_order_number"
 *    3, 4       rejected "errorCode N:   unknown           unknown
 *               message"
 *    5          rejected (1)             unknown (1)       rejected (1)
 *    6          unknown                  ok "not_found"    rejected "unknown_order"
 *    7          unknown                  unknown           rejected "wrong_state" when
 *                                                          the message names the state
 *                                                          (2), else unknown
 *    other      unknown                  unknown           unknown
 *
 *  (1) errorCode 5 is "invalid parameter value" and also "access denied /
 *  user must change password". When the message speaks of access or a
 *  password our credentials were refused: auth_failed is set and the
 *  reason says so; register is still rejected (nothing was registered),
 *  the other calls are unknown, so that a deposit or refund is traced and
 *  retried once an operator fixed rbs-username/rbs-password instead of
 *  failing for good.
 *  (2) RBS uses errorCode 7 both for "system error" and for "the payment
 *  must be in the correct state" (and for an invalid refund amount). Only a
 *  message that names the order's state ("state", "состояни") and does not
 *  mention a system error ("system", "систем", "internal") is taken as
 *  "wrong_state"; every other 7 is unknown, which is always safe because
 *  the next step is a status trace.
 *
 *  orderStatus: 0 registered, 1 preauthorized, 2 paid, 3 reversed,
 *  4 refunded, 5 pending (3-D Secure at the issuer), 6 declined, 7 pending;
 *  any other value is unknown. amount_minor is paymentAmountInfo's
 *  depositedAmount for paid, its approvedAmount for preauthorized, and the
 *  order's amount otherwise (and when those are absent). */
#ifndef PBK_RBS_H
#define PBK_RBS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pbk_wire.h"

#define PBK_RBS_CREDENTIAL_MAX 128 /* bytes of rbs-username, rbs-password */

/* The merchant API account and where the gateway is. Borrowed strings. */
typedef struct {
    const char *base_url; /* ends with '/', e.g. "https://mpi.gov.tm/payment/rest/" */
    const char *username; /* userName (RBS AN..30, the "-api" account) */
    const char *password;
} pbk_rbs_account_t;

/* Checks the settings (at startup). Returns 0, or -1 with *why static. */
int pbk_rbs_account_check(const pbk_rbs_account_t *acct, const char **why);

/* The method of a call: "register.do", "registerPreAuth.do" (register,
 * two_phase), "getOrderStatusExtended.do", "deposit.do", "reverse.do",
 * "refund.do". */
const char *pbk_rbs_method(pbk_call_t call, bool two_phase);

/* The builders fill req (emptied first; release with pbk_request_clear)
 * with a POST of base_url + method and a form body: userName, password,
 * then the call's parameters, every value percent-encoded. Each returns 0,
 * or -1 with *why set to a static reason when an argument is not valid
 * (job payloads come from a peer) or the request does not fit. */

/* orderNumber, amount (minor units), currency, returnUrl, then failUrl,
 * description, language when the order has them. */
int pbk_rbs_register(const pbk_rbs_account_t *acct, const pbk_order_t *order, pbk_request_t *req,
                     const char **why);

/* getOrderStatusExtended.do by the bank's orderId. */
int pbk_rbs_status(const pbk_rbs_account_t *acct, const char *order_id, pbk_request_t *req,
                   const char **why);

/* getOrderStatusExtended.do by our orderNumber: finds an order whose
 * register answer was lost. */
int pbk_rbs_status_by_number(const pbk_rbs_account_t *acct, const char *order_number,
                             pbk_request_t *req, const char **why);

/* deposit.do: orderId, amount (minor units, 1..PBK_AMOUNT_MAX). */
int pbk_rbs_deposit(const pbk_rbs_account_t *acct, const char *order_id, int64_t amount_minor,
                    pbk_request_t *req, const char **why);

/* reverse.do: orderId (the whole hold). */
int pbk_rbs_reverse(const pbk_rbs_account_t *acct, const char *order_id, pbk_request_t *req,
                    const char **why);

/* refund.do: orderId, amount (minor units, 1..PBK_AMOUNT_MAX). */
int pbk_rbs_refund(const pbk_rbs_account_t *acct, const char *order_id, int64_t amount_minor,
                   pbk_request_t *req, const char **why);

/* Classifies the answer to one call into r (by the table above). code is
 * set for every answer with a readable errorCode: "errorCode N", or for a
 * status "orderStatus N" (with ", actionCode N" when present). */
void pbk_rbs_classify(pbk_call_t call, const pbk_answer_t *a, pbk_result_t *r);

#endif
