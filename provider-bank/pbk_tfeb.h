/*  pbk_tfeb: the pure half of the TFEB client (TSYS Prime OrderProcessing).
 *
 *  The OAuth2 client-credentials token request, its answer and the token
 *  cache; the three calls TFEB has (create order, order status, refund) as
 *  HAL+JSON requests with the bearer token; the classification of every
 *  answer into a job outcome. Nothing here does I/O, so every case of
 *  ../shared/providers.md section 3.6 is unit tested
 *  (tests/unit/test_pbk_tfeb.c).
 *
 *  TFEB has one-phase orders only: bank_deposit and bank_reverse are no TFEB
 *  calls (pbk_tfeb_supports), and a two_phase order is refused when built.
 *
 *  Amounts go to TFEB as exact decimals in major units (TotalAmount 17.50
 *  for 1750 tenge), made from minor units by integer arithmetic and written
 *  into the JSON text as they are, never through a double.
 *
 *  Every answer carries response.operationResult (read at the top level too
 *  when there is no "response" object):
 *
 *    operationResult   create order          status             refund
 *    OPG-00100         ok (response.orderId  registered         unknown
 *                      and _links.redirect-
 *                      ToCheckout.href)
 *    GEN-00000         ok (as above)         paid               ok
 *    OPG-00006         unknown               declined (the      rejected "wrong_state"
 *                                            merchant cancelled)
 *    OPG-00001         unknown               unknown (1)        unknown
 *    GEN-00001         unknown (system error)
 *    GEN-00002         unknown, auth_failed (the token was refused)
 *    another, in a     rejected "CODE: text" unknown            rejected "CODE: text"
 *    4xx (2)
 *    another, in a 2xx unknown               unknown            unknown
 *
 *  HTTP 401 is unknown with auth_failed (forget the token, fetch another,
 *  send the call once more: nothing was applied); 403, 408, 429, a 5xx,
 *  anything we cannot read is unknown.
 *  (1) OPG-00001's meaning is not documented (providers.md 3.6 lists it as
 *  "unknown"); taking it for "not_found" could fail a payment that was
 *  made, so it stays unknown until the bank says more.
 *  (2) A 4xx that names a code is the API refusing the request: nothing was
 *  created or refunded, so it is a rejection, except for a status, which is
 *  never rejected (pm_proto.h). */
#ifndef PBK_TFEB_H
#define PBK_TFEB_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pbk_wire.h"

#define PBK_TFEB_TOKEN_MAX 4096        /* bytes of an access token (a JWT) */
#define PBK_TFEB_TOKEN_MARGIN_MS 60000 /* refresh this long before expiry (at most) */
#define PBK_TFEB_CREDENTIAL_MAX 256    /* bytes of tfeb-client-id, tfeb-client-secret */
#define PBK_TFEB_ID_MAX 64             /* bytes of a merchant, terminal or request id */
#define PBK_TFEB_SCOPE "TSYS.Prime.WebApplications.OrderProcessing"
#define PBK_TFEB_CURRENCY "934" /* TMT, the one currency TFEB takes */

/* The merchant's settings. Borrowed strings. */
typedef struct {
    const char *base_url;      /* orders API, ends with '/', e.g.
                                  "https://ecomt.tfeb.gov.tm/OrderProcessing_TURK/v1/" */
    const char *token_url;     /* "https://3dst.tfeb.gov.tm/identityserver/connect/token" */
    const char *client_id;     /* OAuth2 client */
    const char *client_secret; /* OAuth2 secret */
    const char *merchant_id;   /* Environment.Merchant.Id */
    const char *terminal_id;   /* Environment.POI.Id */
    const char *language;      /* POI.Language when an order names none; NULL: none */
} pbk_tfeb_account_t;

/* Checks the settings (at startup). Returns 0, or -1 with *why static. */
int pbk_tfeb_account_check(const pbk_tfeb_account_t *acct, const char **why);

/* True for the calls TFEB has: register, status, refund. */
bool pbk_tfeb_supports(pbk_call_t call);

/* minor units of currency as the exact decimal text of major units:
 * "934" (two decimals) 1 -> "0.01", 100 -> "1.00", 1750 -> "17.50".
 * Integer arithmetic only. Returns the length, or -1 for a currency that
 * is not TFEB's, a negative amount, or no room in cap. */
int pbk_tfeb_amount(int64_t minor, const char *currency, char *out, size_t cap);

/* True for an id TFEB gets from us (RequestId, merchant and terminal ids):
 * 1..PBK_TFEB_ID_MAX of [A-Za-z0-9_-]. */
bool pbk_tfeb_id_valid(const char *s);

/* ---- OAuth2 access token ------------------------------------------------- */

/* POST token_url, form client_id, client_secret, scope, grant_type=
 * client_credentials. req is emptied first; release with
 * pbk_request_clear. Returns 0, or -1 with *why static. */
int pbk_tfeb_token_request(const pbk_tfeb_account_t *acct, pbk_request_t *req, const char **why);

/* Reads the token answer: HTTP 200, access_token (1..PBK_TFEB_TOKEN_MAX
 * bytes of the token68 alphabet, so it is safe in a header line),
 * token_type "Bearer" when given, expires_in (seconds, 1..10 years; 3600
 * when absent). Returns 0 with token (cap bytes) and *expires_in_s set, or
 * -1 with why (why_cap bytes, reason text) saying what was wrong. */
int pbk_tfeb_token_parse(const pbk_answer_t *a, char *token, size_t cap, int64_t *expires_in_s,
                         char *why, size_t why_cap);

/* The cached access token. Times on the monotonic clock, in ms. */
typedef struct {
    char token[PBK_TFEB_TOKEN_MAX + 1]; /* "" when none */
    int64_t refresh_at_ms;              /* treat as expired from here on */
} pbk_tfeb_token_cache_t;

/* Keeps token until expires_in_s from now, minus a margin of
 * min(PBK_TFEB_TOKEN_MARGIN_MS, a tenth of the lifetime). */
void pbk_tfeb_token_cache_set(pbk_tfeb_token_cache_t *c, const char *token, int64_t expires_in_s,
                              int64_t now_ms);

/* The cached token while it is fresh, else NULL. Borrowed. */
const char *pbk_tfeb_token_cache_get(const pbk_tfeb_token_cache_t *c, int64_t now_ms);

/* Forgets the token if it is still the one given: a 401 for a call made
 * with an older token must not throw away a newer one. */
void pbk_tfeb_token_cache_invalidate(pbk_tfeb_token_cache_t *c, const char *token);

/* ---- calls ------------------------------------------------------------------- */

/* The builders fill req (emptied first; release with pbk_request_clear)
 * with headers "Authorization: Bearer <token>" and "Accept:
 * application/hal+json", and for a POST a JSON body (Content-Type
 * application/json). request_id is the RequestId, unique per call. Each
 * returns 0, or -1 with *why static when an argument is not valid (job
 * payloads come from a peer) or the request does not fit. */

/* POST base_url + "orders":
 *   {"RequestId", "Environment": {"Merchant": {"Id"}, "POI": {"Id",
 *    "Language"?}, "Transport": {"MerchantFinalResponseUrl": return_url}},
 *    "Transaction": {"InvoiceNumber": order_number, "Type": "CRDP",
 *    "TotalAmount": <major units>, "Currency": "934", "MerchantOrderId":
 *    order_number}}
 * Language is the order's, else the account's, else left out. TFEB has one
 * final URL for paid and cancelled: fail_url and description are not sent.
 * A two_phase order or another currency is refused. */
int pbk_tfeb_register(const pbk_tfeb_account_t *acct, const pbk_order_t *order,
                      const char *request_id, const char *token, pbk_request_t *req,
                      const char **why);

/* GET base_url + "Orders/" + order_id. */
int pbk_tfeb_status(const pbk_tfeb_account_t *acct, const char *order_id, const char *token,
                    pbk_request_t *req, const char **why);

/* POST base_url + "Orders/" + order_id + "/refund":
 *   {"RequestId", "Environment": {"Merchant": {"Id"}, "POI": {"Id",
 *    "Language"?}}, "Transaction": {"Type": "RFND", "TotalAmount": <major
 *    units>, "Currency": "934"}} */
int pbk_tfeb_refund(const pbk_tfeb_account_t *acct, const char *order_id, int64_t amount_minor,
                    const char *request_id, const char *token, pbk_request_t *req,
                    const char **why);

/* Classifies the answer to one call (register, status or refund) into r,
 * by the table above. code is the operationResult when there is one. */
void pbk_tfeb_classify(pbk_call_t call, const pbk_answer_t *a, pbk_result_t *r);

#endif
