/*  pb_bazaar: the pure half of the Cafe Bazaar developer API client.
 *
 *  URL building, classification of answers into job outcomes, the OAuth
 *  token answer and the token cache. Nothing here does I/O, so every case of
 *  ../shared/providers.md section 2 is unit tested (tests/unit/test_pb_*.c).
 *
 *  Outcomes follow pm_proto.h: "ok", "rejected" (Bazaar said no: the reason
 *  is Bazaar's error code), "unknown" (nothing is known: timeout, 5xx, our
 *  own credentials refused, an answer we cannot read). A rejection is only
 *  ever derived from a well-formed 4xx naming an error, or a well-formed 200
 *  saying refunded or consumed; everything else is unknown. */
#ifndef PB_BAZAAR_H
#define PB_BAZAAR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_REASON_MAX 64         /* bytes of a reason (Bazaar error codes are short) */
#define PB_PAYLOAD_MAX 1024      /* bytes of a developerPayload kept */
#define PB_TOKEN_MAX 512         /* bytes of an OAuth access token */
#define PB_URL_MAX 4096          /* bytes of a request URL */
#define PB_TOKEN_MARGIN_MS 60000 /* refresh this long before expiry (at most) */

typedef enum { PB_OK = 0, PB_REJECTED = 1, PB_UNKNOWN = 2 } pb_outcome_t;

struct json_object;

/* "ok", "rejected", "unknown" (the strings of JOB_RESULT). */
const char *pb_outcome_name(pb_outcome_t o);

typedef struct {
    pb_outcome_t outcome;
    char reason[PB_REASON_MAX + 1]; /* "" for ok */
    /* validate ok only: */
    bool has_time;
    int64_t purchase_time_ms;
    bool has_payload;
    char developer_payload[PB_PAYLOAD_MAX + 1];
    /* 401 from the API: the access token may be stale (the caller refreshes
     * it once and retries); outcome is PB_UNKNOWN meanwhile. */
    bool auth_failed;
} pb_result_t;

/* Parses body[0..len) strictly as one whole JSON object (json-c); NULL for
 * anything else (empty, not JSON, not an object, trailing bytes). Caller owns
 * the result: json_object_put. Shared with pb_bazaarpay. */
struct json_object *pb_json_object(const char *body, size_t len);

/* Classifies a validate answer: HTTP status and body. */
void pb_classify_validate(long status, const char *body, size_t len, pb_result_t *r);

/* Classifies a consume answer. */
void pb_classify_consume(long status, const char *body, size_t len, pb_result_t *r);

/* base + "api/validate/{pkg}/inapp/{sku}/purchases/{token}/" [+
 * "?access_token=" access]. base must end with '/'; access may be NULL.
 * Returns 0, or -1 when it does not fit in cap. */
int pb_url_validate(char *out, size_t cap, const char *base, const char *pkg, const char *sku,
                    const char *token, const char *access);

/* base + "api/consume/{pkg}/purchases/" [+ "?access_token=" access]. */
int pb_url_consume(char *out, size_t cap, const char *base, const char *pkg, const char *access);

/* {"token": token} as JSON text (caller owns: free). NULL on out of memory. */
char *pb_consume_body(const char *token);

/* "grant_type=refresh_token&client_id=..&client_secret=..&refresh_token=.."
 * form-encoded (caller owns: free). NULL on out of memory. */
char *pb_token_form(const char *client_id, const char *client_secret, const char *refresh);

/* Reads an auth/token/ answer: 200 with access_token (1..PB_TOKEN_MAX
 * printable ASCII) and expires_in (seconds > 0; 3600 when absent). Returns
 * 0, or -1 with a reason in why (static text). */
int pb_token_parse(long status, const char *body, size_t len, char *token, size_t cap,
                   int64_t *expires_in_s, const char **why);

/* The cached OAuth access token. Times on the monotonic clock, in ms. */
typedef struct {
    char token[PB_TOKEN_MAX + 1]; /* "" when none */
    int64_t refresh_at_ms;        /* treat as expired from here on */
} pb_token_cache_t;

/* Keeps token until expires_in_s from now, minus a margin of
 * min(PB_TOKEN_MARGIN_MS, a tenth of the lifetime). */
void pb_token_cache_set(pb_token_cache_t *c, const char *token, int64_t expires_in_s,
                        int64_t now_ms);

/* The cached token while it is fresh, else NULL. Borrowed. */
const char *pb_token_cache_get(const pb_token_cache_t *c, int64_t now_ms);

/* Forgets the token if it is still the one given (a 401 for an older token
 * must not throw away a newer one). */
void pb_token_cache_invalidate(pb_token_cache_t *c, const char *token);

#endif
