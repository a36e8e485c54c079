/*  pb_bazaarpay: the pure half of the BazaarPay merchant client.
 *
 *  URLs and JSON bodies of the four merchant calls (checkout/init/, trace/,
 *  commit/, refund/), the payment URL handed to the user, and the
 *  classification of every answer into a job outcome. Nothing here does I/O,
 *  so every case of ../shared/providers.md section 1 is unit tested
 *  (tests/unit/test_pb_bazaarpay.c).
 *
 *  Outcomes follow pm_proto.h ("BazaarPay jobs"): "ok"; "rejected" only when
 *  BazaarPay itself said no, in a 4xx with a DRF error body (or a 401/403:
 *  our merchant token refused), and never for a trace; "unknown" for
 *  everything else: a 5xx, a timeout, a cut connection, an answer we cannot
 *  read. A commit or refund that ends unknown may have been applied, which is
 *  why a 5xx or a timeout is never a rejection. */
#ifndef PB_BAZAARPAY_H
#define PB_BAZAARPAY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_bazaar.h"

#define PBP_REASON_MAX 256        /* bytes of a reason (payment-core's JOB_RESULT limit) */
#define PBP_TOKEN_MAX 64          /* bytes of a checkout token (letters and digits) */
#define PBP_STATUS_MAX 32         /* bytes of a trace status */
#define PBP_SERVICE_NAME_MAX 512  /* bytes of service_name (BazaarPay's limit) */
#define PBP_REDIRECT_URL_MAX 2048 /* bytes of the redirect_url of a job (pm_proto.h) */
#define PBP_PHONE_MAX 32          /* bytes of the phone of a job */
#define PBP_PAYMENT_URL_MAX 2048  /* bytes of the payment_url BazaarPay may send */
/* Bytes of the payment URL handed back: BazaarPay's, plus both parameters
 * percent-encoded (at most three bytes each) and their names. */
#define PBP_CHECKOUT_URL_MAX                                                                       \
    (PBP_PAYMENT_URL_MAX + 3 * PBP_REDIRECT_URL_MAX + 3 * PBP_PHONE_MAX + 32)

/* The four merchant calls, one job kind each. */
typedef enum { PBP_INIT = 0, PBP_TRACE, PBP_COMMIT, PBP_REFUND } pbp_call_t;
#define PBP_CALLS 4

/* The job kind of a call: "bazaarpay_init", "bazaarpay_trace", ... */
const char *pbp_kind(pbp_call_t call);

/* The call of a job kind. False for a kind that is not a BazaarPay one. */
bool pbp_kind_parse(const char *kind, pbp_call_t *call);

/* base + "checkout/init/" | "trace/" | "commit/" | "refund/". base must end
 * with '/'. Returns 0, or -1 when it does not fit in cap. */
int pbp_url(char *out, size_t cap, const char *base, pbp_call_t call);

/* True for a checkout token BazaarPay may have issued: 1..PBP_TOKEN_MAX
 * ASCII letters and digits. */
bool pbp_token_valid(const char *s, size_t len);

/* {"amount": amount, "destination": .., "service_name": ..} as JSON text
 * (caller owns: free). NULL on out of memory. */
char *pbp_init_body(int64_t amount, const char *destination, const char *service_name);

/* {"checkout_token": token} as JSON text, the body of trace/, commit/ and
 * refund/ (refund without "amount": the full amount). Caller owns: free.
 * NULL on out of memory. */
char *pbp_token_body(const char *checkout_token);

/* The URL the user is sent to: payment_url with "redirect_url=" and, when
 * phone is neither NULL nor "", "phone=" appended, both percent-encoded,
 * after '&' when payment_url already has a query, else after '?' (and
 * before a "#fragment", if any). Returns 0, or -1 when it does not fit. */
int pbp_payment_url(char *out, size_t cap, const char *payment_url, const char *redirect_url,
                    const char *phone);

/* What one call got back. */
typedef enum {
    PBP_ANSWERED = 0, /* an HTTP answer: status, body */
    PBP_TIMEOUT,      /* no whole answer within the timeout */
    PBP_TOO_LARGE,    /* the body went past max-response-bytes */
    PBP_NO_ANSWER,    /* no connection, or the connection was cut */
} pbp_transport_t;

typedef struct {
    pbp_transport_t transport;
    const char *error; /* PBP_NO_ANSWER: what failed (libcurl's text), or NULL */
    long status;       /* PBP_ANSWERED: the HTTP status */
    const char *body;  /* PBP_ANSWERED: the body (NULL when empty), borrowed */
    size_t len;
} pbp_answer_t;

typedef struct {
    pb_outcome_t outcome;
    char reason[PBP_REASON_MAX + 1]; /* "" for ok; UTF-8 without control characters */
    /* init ok only: */
    char checkout_token[PBP_TOKEN_MAX + 1];
    char payment_url[PBP_CHECKOUT_URL_MAX + 1]; /* redirect_url (and phone) appended */
    /* trace ok only: */
    char status[PBP_STATUS_MAX + 1];
} pbp_result_t;

/* Classifies the answer to one call into r. redirect_url and phone are the
 * init job's (phone NULL or "" when none) and are used for the payment URL;
 * they are ignored (and may be NULL) for the other calls. */
void pbp_classify(pbp_call_t call, const pbp_answer_t *a, const char *redirect_url,
                  const char *phone, pbp_result_t *r);

/* The text of a DRF error body, for a reason: "detail" (a string or an array
 * of strings), else "field: message ..." per member, "; " between members
 * (non_field_errors without the field name). Made UTF-8 without control
 * characters, cut to cap - 1 bytes ("..." at the end when cut). Returns 0,
 * or -1 when body is no JSON object with at least one such message. */
int pbp_error_text(const char *body, size_t len, char *out, size_t cap);

#endif
