/*  pbk_wire: what both bank clients of provider-bank share.
 *
 *  The five bank calls and their job kinds, the order a bank_register job
 *  describes and its checks, the request a call makes (URL, body, headers),
 *  the answer it got back and the result it is classified into, form bodies,
 *  strict JSON and the reason text of a result. pbk_rbs (Halkbank, BPC RBS
 *  REST) and pbk_tfeb (TFEB, TSYS OrderProcessing) build on it. Nothing here
 *  does I/O.
 *
 *  Outcomes follow pm_proto.h ("Bank jobs"): "ok"; "rejected" only when the
 *  bank said no in a way we can read and that leaves nothing applied;
 *  "unknown" for everything else (a timeout, a 5xx, a page we cannot read,
 *  a system error, our own credentials refused where the next step traces).
 *  Unknown is always safe: a deposit or refund of unknown outcome is traced
 *  with bank_status before anything is sent again. */
#ifndef PBK_WIRE_H
#define PBK_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pm_text.h"

#define PBK_REASON_MAX 256        /* bytes of a reason (payment-core's JOB_RESULT limit) */
#define PBK_ORDER_NUMBER_MAX 32   /* bytes of our order number (RBS AN..32, pm_proto.h) */
#define PBK_ORDER_ID_MAX 64       /* bytes of a bank's order id (UUIDs are 36) */
#define PBK_RETURN_URL_MAX 512    /* bytes of return_url / fail_url (RBS AN..512) */
#define PBK_DESCRIPTION_MAX 512   /* bytes of a description (RBS ANS..512) */
#define PBK_CHECKOUT_URL_MAX 2048 /* bytes of the URL where the payer pays */
#define PBK_CODE_MAX 64           /* bytes of a bank's raw status, for logs */
#define PBK_URL_MAX 4096          /* bytes of a request URL */
#define PBK_AUTH_MAX 4200         /* bytes of an Authorization header line */
/* Largest amount a bank takes: RBS amounts are N..12 (minor units). */
#define PBK_AMOUNT_MAX INT64_C(999999999999)

typedef enum { PBK_OK = 0, PBK_REJECTED = 1, PBK_UNKNOWN = 2 } pbk_outcome_t;

/* "ok", "rejected", "unknown" (the strings of JOB_RESULT). */
const char *pbk_outcome_name(pbk_outcome_t o);

/* The five bank calls, one job kind each. */
typedef enum { PBK_REGISTER = 0, PBK_STATUS, PBK_DEPOSIT, PBK_REVERSE, PBK_REFUND } pbk_call_t;
#define PBK_CALLS 5

/* The job kind of a call: "bank_register", "bank_status", ... */
const char *pbk_kind(pbk_call_t call);

/* The call of a job kind. False for a kind that is not a bank one. */
bool pbk_kind_parse(const char *kind, pbk_call_t *call);

/* An order's state at the bank (bank_status data.state). */
typedef enum {
    PBK_STATE_NONE = 0, /* no state: the call was no status, or failed */
    PBK_STATE_REGISTERED,
    PBK_STATE_PENDING,
    PBK_STATE_PREAUTHORIZED,
    PBK_STATE_PAID,
    PBK_STATE_REVERSED,
    PBK_STATE_REFUNDED,
    PBK_STATE_DECLINED,
    PBK_STATE_NOT_FOUND,
} pbk_state_t;

/* "registered", "pending", ... as pm_proto.h spells them; "" for NONE. */
const char *pbk_state_name(pbk_state_t s);

/* The order of a bank_register job. Borrowed strings. */
typedef struct {
    const char *order_number; /* 1..32 of [A-Za-z0-9_-]: ours, unique per order */
    int64_t amount_minor;     /* 1..PBK_AMOUNT_MAX */
    const char *currency;     /* ISO 4217 numeric, "934" (TMT) */
    const char *return_url;   /* http(s), <= PBK_RETURN_URL_MAX */
    const char *fail_url;     /* NULL: none */
    const char *description;  /* NULL: none; UTF-8, <= PBK_DESCRIPTION_MAX */
    const char *language;     /* NULL: none; two lower-case letters */
    bool two_phase;           /* the bank holds the amount until bank_deposit */
} pbk_order_t;

/* Checks every field of o (job payloads come from a peer). Returns 0, or -1
 * with *why set to a static reason. */
int pbk_order_check(const pbk_order_t *o, const char **why);

/* True for our order number: 1..PBK_ORDER_NUMBER_MAX of [A-Za-z0-9_-]. */
bool pbk_order_number_valid(const char *s, size_t len);

/* True for a bank's order id: 1..PBK_ORDER_ID_MAX of [A-Za-z0-9_-] (RBS
 * and TFEB both use UUIDs; the bound and alphabet keep it safe in a URL
 * path, a form and a log line). */
bool pbk_order_id_valid(const char *s, size_t len);

/* True for an absolute http or https URL with a host, printable ASCII
 * without spaces, at most max bytes: what a browser may be sent to. */
bool pbk_http_url_valid(const char *s, size_t len, size_t max);

/* True for a base URL: an http(s) URL that ends with '/', at most 1024
 * bytes. */
bool pbk_base_url_valid(const char *s);

/* True for well-formed UTF-8 without control characters (C0, DEL, C1),
 * the rule payment-core applies to reasons. */
bool pbk_text_valid(const char *s, size_t len);

/* One HTTP request, built by pbk_rbs or pbk_tfeb; the worker sends it as
 * it is. Release with pbk_request_clear. */
typedef struct {
    bool post;                            /* POST with body, else GET */
    char url[PBK_URL_MAX + 1];            /* the whole URL */
    char *body;                           /* POST: owned, NUL-terminated; GET: NULL */
    const char *content_type;             /* POST: static text; GET: NULL */
    const char *accept;                   /* static text, or NULL: no Accept line */
    char authorization[PBK_AUTH_MAX + 1]; /* "Authorization: ..." line, or "" */
} pbk_request_t;

/* Frees the body and empties req (safe on an empty or cleared request). */
void pbk_request_clear(pbk_request_t *req);

/* What one call got back. */
typedef enum {
    PBK_ANSWERED = 0, /* an HTTP answer: status, body */
    PBK_TIMEOUT,      /* no whole answer within the timeout */
    PBK_TOO_LARGE,    /* the body went past max-response-bytes */
    PBK_NO_ANSWER,    /* no connection, or the connection was cut */
} pbk_transport_t;

typedef struct {
    pbk_transport_t transport;
    const char *error; /* PBK_NO_ANSWER: what failed (libcurl's text), or NULL */
    long status;       /* PBK_ANSWERED: the HTTP status */
    const char *body;  /* PBK_ANSWERED: the body (NULL when empty), borrowed */
    size_t len;
} pbk_answer_t;

/* What a call ends as: the JOB_RESULT's outcome, reason and data. */
typedef struct {
    pbk_outcome_t outcome;
    char reason[PBK_REASON_MAX + 1]; /* "" for ok; UTF-8 without control characters */
    /* The bank refused our credentials: RBS user and password (an operator
     * must look), TFEB the access token (forget it, fetch another, retry the
     * call once). */
    bool auth_failed;
    /* register ok: */
    char order_id[PBK_ORDER_ID_MAX + 1];
    char checkout_url[PBK_CHECKOUT_URL_MAX + 1];
    /* status ok: */
    pbk_state_t state;
    bool has_amount;
    int64_t amount_minor; /* what the bank holds or took (see each client) */
    bool has_refunded;
    int64_t refunded_minor;      /* RBS paymentAmountInfo.refundedAmount */
    char code[PBK_CODE_MAX + 1]; /* the bank's raw status, for logs */
} pbk_result_t;

/* Empties r: outcome unknown, every field zero. */
void pbk_result_reset(pbk_result_t *r);

/* Sets r's outcome and a reason formatted from fmt. Every byte of the
 * formatted text is made valid reason text: a control character becomes a
 * space, a byte that starts no well-formed UTF-8 sequence becomes '?', and
 * what does not fit in PBK_REASON_MAX bytes is cut at a character with
 * "..." at the end. */
void pbk_result_set(pbk_result_t *r, pbk_outcome_t o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* s[0..len) made valid reason text (as pbk_result_set), cut to fit in cap
 * bytes with its NUL ("..." at the end when cut). */
void pbk_text_copy(char *out, size_t cap, const char *s, size_t len);

/* ---- form bodies --------------------------------------------------------- */

/* An application/x-www-form-urlencoded body being built: every name and
 * value percent-encoded, only A-Z a-z 0-9 - . _ ~ kept as they are. A
 * failed append (out of memory, past PBK_FORM_MAX) is remembered and makes
 * pbk_form_take return NULL. */
#define PBK_FORM_MAX 65536 /* bytes of a form body */
typedef struct {
    char *p;
    size_t len;
    size_t cap;
    bool failed;
} pbk_form_t;

/* Appends "&name=value" ("name=value" first). value may not be NULL. */
void pbk_form_add(pbk_form_t *f, const char *name, const char *value);

/* Appends "&name=<decimal>". */
void pbk_form_add_int(pbk_form_t *f, const char *name, int64_t value);

/* The body built so far (caller owns: free), f emptied. NULL (and f
 * emptied) when an append failed or nothing was added. */
char *pbk_form_take(pbk_form_t *f);

/* Requests are built with pm_text_append and pm_url_escape (pm_text.h). */

/* ---- JSON ------------------------------------------------------------------ */

struct json_object;

/* Parses body[0..len) strictly as one whole JSON object (json-c); NULL for
 * anything else (empty, not JSON, an HTML page, not an object, trailing
 * bytes). Caller owns the result: json_object_put. */
struct json_object *pbk_json_object(const char *body, size_t len);

/* A string member of o: its bytes (borrowed from o) and length, or NULL. */
const char *pbk_json_str(struct json_object *o, const char *key, size_t *len);

/* An object member of o (borrowed), or NULL. */
struct json_object *pbk_json_obj(struct json_object *o, const char *key);

#endif
