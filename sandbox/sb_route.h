/*  sb_route: requests, responses, and the sandbox's one routing table.
 *
 *  Every endpoint, simulated provider or admin, is one row {service, method,
 *  pattern, handler} of sb_routes[] (sb_routes.c). A pattern is a literal
 *  path where "*" captures one non-empty path segment, e.g.
 *  "/devapi/v2/api/consume/x/purchases/" with "*" for x. Provider paths match exactly,
 *  trailing slash included, as the real APIs do; admin paths also match with
 *  one trailing slash added.
 *
 *  Handlers see a request stripped of HTTP (sb_req_t) and fill an sb_resp_t.
 *  They take the sandbox lock themselves, around the state they touch. */
#ifndef SB_ROUTE_H
#define SB_ROUTE_H
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "sb_sandbox.h"

#define SB_CAPS_MAX 4  /* captures per pattern */
#define SB_CAP_MAX 255 /* bytes of one captured segment */

#define SB_HOST_MAX 255 /* bytes of a Host header taken as it is */

/* What a handler sees of a request. Everything is borrowed for the call. */
typedef struct {
    const char *method;
    const char *path; /* decoded, without the query string */
    const char *body; /* NUL-terminated; "" when none */
    size_t body_len;
    const char *host;           /* "host[:port]" of the Host header when it is one, else the
                                   listen address: never NULL */
    const char *authorization;  /* Authorization header, or NULL */
    const char *pishkhan;       /* CAFEBAZAAR-PISHKHAN-API-SECRET header, or NULL */
    const char *content_type;   /* or NULL */
    const char *q_access_token; /* ?access_token=, or NULL */
    const char *q_service;      /* ?service=, or NULL */
    const char *q_token;        /* ?token=, or NULL */
    const char *q_redirect_url; /* ?redirect_url=, or NULL */
    const char *q_phone;        /* ?phone=, or NULL */
    /* Any ?key= of the query string, decoded (sb_req_query); NULL in tests
     * that build a request by hand. */
    const char *(*query)(void *query_ctx, const char *key);
    void *query_ctx;
    char caps[SB_CAPS_MAX][SB_CAP_MAX + 1];
    int ncaps;
} sb_req_t;

/* An answer: a body in heap memory owned by the struct (JSON unless
 * content_type says otherwise; named json because most are), and for a
 * redirect its Location. json NULL with status 0 means "out of memory": the
 * connection is closed. */
typedef struct {
    int status;
    char *json;
    size_t len;
    const char *content_type; /* static; NULL: application/json */
    char *location;           /* owned; NULL: no Location header */
} sb_resp_t;

typedef void (*sb_handler_fn)(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);

typedef struct {
    const char *service; /* simulated provider, or NULL for the admin API */
    const char *method;
    const char *pattern;
    sb_handler_fn handler;
} sb_route_t;

extern const sb_route_t sb_routes[];
extern const size_t sb_route_count;

/* The decoded value of ?key= in the query string, or NULL (also when the
 * request has no query function). Borrowed for the call. */
const char *sb_req_query(const sb_req_t *req, const char *key);

/* Matches path against pattern; on success fills caps/ncaps of req (when
 * non-NULL). Pure. */
bool sb_route_match_one(const char *pattern, const char *path, sb_req_t *req);

typedef enum { SB_ROUTE_OK, SB_ROUTE_NO_PATH, SB_ROUTE_NO_METHOD } sb_route_result_t;

/* Finds the row for method and path; *route set on SB_ROUTE_OK, captures in req. */
sb_route_result_t sb_route_find(const char *method, const char *path, sb_req_t *req,
                                const sb_route_t **route);

/* The simulated provider a path belongs to ("/devapi/..." is "bazaar",
 * "/badje/..." "bazaarpay", "/payment/rest/..." "rbs", "/identityserver/..."
 * and "/OrderProcessing_TURK/..." "tfeb"), or
 * NULL for the admin API and unknown paths. Faults and the call log apply
 * to provider paths, routed or not. */
const char *sb_service_of_path(const char *path);

/* ---- JSON helpers ----------------------------------------------------------- */

/* Serialises *obj into resp with status, and releases *obj (NULLed). */
void sb_resp_json(sb_resp_t *resp, int status, json_object **obj);

/* {"error": error, "error_description": description}; description may be NULL. */
void sb_resp_error(sb_resp_t *resp, int status, const char *error, const char *description);

/* DRF's error shape, as BazaarPay answers: {"detail": detail}. */
void sb_resp_detail(sb_resp_t *resp, int status, const char *detail);

/* A copy of len bytes of data with content_type (static), e.g. an HTML page
 * or an image; len 0 is an empty body (204). */
void sb_resp_bytes(sb_resp_t *resp, int status, const char *content_type, const void *data,
                   size_t len);

/* 303 See Other to url (an absolute URL the caller checked), with an empty
 * body. Bytes of url outside 0x21..0x7e are percent-encoded, so that the
 * header is plain ASCII. */
void sb_resp_redirect(sb_resp_t *resp, const char *url);

/* Frees what resp holds and zeroes it. */
void sb_resp_clear(sb_resp_t *resp);

/* Parses body as one JSON object (depth <= 16). NULL when it is not one;
 * caller owns the result. */
json_object *sb_json_parse_object(const char *body, size_t len);

/* Reads the string field key of obj, if present as a string of 1..max bytes
 * without NULs. Returns the borrowed string, or NULL. */
const char *sb_json_string(json_object *obj, const char *key, size_t max);

/* Finds key in an application/x-www-form-urlencoded body and decodes its
 * value (+ and %XX) into out. Returns false when absent, malformed, longer
 * than cap - 1 or containing a NUL. Pure. */
bool sb_form_get(const char *body, size_t len, const char *key, char *out, size_t cap);

#endif
