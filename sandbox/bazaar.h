/*  bazaar: the simulated Cafe Bazaar developer API ("pardakht devapi v2").
 *
 *  Speaks what ../shared/providers.md section 2 describes, on the same paths
 *  under /devapi/v2/: the OAuth refresh-token grant, in-app purchase
 *  validation and consumption, and the errors {"error", "error_description"}.
 *  Behind it is a bounded store of simulated purchases that the admin API
 *  (/sandbox/bazaar/...) fills "as if a user had bought a SKU in the Bazaar
 *  app", and a bounded set of issued access tokens.
 *
 *  The store functions are pure data operations: the caller holds the
 *  sandbox lock. The sb_bazaar_on_* handlers take it themselves. */
#ifndef SB_BAZAAR_H
#define SB_BAZAAR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_route.h"
#include "sb_sandbox.h"

#define SB_BZ_TOKEN_LEN 43     /* purchase token: 32 random bytes, url-safe base64 */
#define SB_BZ_ACCESS_LEN 32    /* access token: 24 random bytes, url-safe base64 */
#define SB_BZ_ACCESS_MAX 1024  /* live access tokens kept; the oldest is forgotten */
#define SB_BZ_NAME_MAX 255     /* bytes of a package name or SKU */
#define SB_BZ_PAYLOAD_MAX 4096 /* bytes of a developer payload */

enum { SB_BZ_PURCHASED = 0, SB_BZ_REFUNDED = 1 };    /* purchaseState */
enum { SB_BZ_CONSUMED = 0, SB_BZ_NOT_CONSUMED = 1 }; /* consumptionState (Bazaar's sense) */

typedef struct {
    char token[SB_BZ_TOKEN_LEN + 1];
    char *package_name, *sku, *developer_payload; /* owned */
    int purchase_state;
    int consumption_state;
    int64_t purchase_time_ms; /* ms since the epoch */
} sb_purchase_t;

typedef struct {
    const char *client_id, *client_secret, *refresh_token, *pishkhan_secret; /* borrowed */
    int access_token_ttl_s;
    size_t max_purchases;
} sb_bazaar_config_t;

/* Strings of cfg are borrowed and must outlive the store. */
sb_bazaar_t *sb_bazaar_new(const sb_bazaar_config_t *cfg);
void sb_bazaar_destroy(sb_bazaar_t **self_p);

/* Adds a purchase in state purchased, not consumed, with a new random
 * token. payload may be NULL (stored as ""). Returns the purchase (borrowed
 * until the next add: the array may move), or NULL when max_purchases are
 * held or memory is short. */
const sb_purchase_t *sb_bazaar_add(sb_bazaar_t *self, const char *package_name, const char *sku,
                                   const char *payload, int64_t now_ms);

/* The purchase with token, or NULL. */
const sb_purchase_t *sb_bazaar_find(const sb_bazaar_t *self, const char *token);

/* The purchase with token when it was made for package_name and sku, else
 * NULL: what the validate endpoint answers 200 for. */
const sb_purchase_t *sb_bazaar_validate(const sb_bazaar_t *self, const char *package_name,
                                        const char *sku, const char *token);

typedef enum {
    SB_BZ_CONSUME_OK,
    SB_BZ_CONSUME_UNKNOWN,  /* no such token for this package: 404 invalid_value */
    SB_BZ_CONSUME_REFUNDED, /* 400 is_refunded */
    SB_BZ_CONSUME_ALREADY,  /* 400 already_consumed */
} sb_bz_consume_t;

/* Marks the purchase consumed when it may be. */
sb_bz_consume_t sb_bazaar_consume(sb_bazaar_t *self, const char *package_name, const char *token);

/* Marks the purchase refunded (again is fine). Returns 0, or -1 when unknown. */
int sb_bazaar_refund(sb_bazaar_t *self, const char *token);

/* Issues an access token valid for the configured TTL from now_mono_ms. */
void sb_bazaar_access_issue(sb_bazaar_t *self, int64_t now_mono_ms, char out[SB_BZ_ACCESS_LEN + 1]);

/* True when token was issued and has not expired. */
bool sb_bazaar_access_live(const sb_bazaar_t *self, const char *token, int64_t now_mono_ms);

/* The access token an Authorization header carries ("Bearer T" or "T"):
 * a view into header, with its length; NULL when empty. Pure. */
const char *sb_bazaar_bearer(const char *header, size_t *len);

/* Handlers (sb_routes.c). */
void sb_bazaar_on_token(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bazaar_on_validate(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bazaar_on_consume(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bazaar_on_admin_create(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bazaar_on_admin_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_bazaar_on_admin_refund(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);

#endif
