/*  bazaarpay: the BazaarPay checkout family of seeds 002/003
 *  (/finance/bazaarpay/...).
 *
 *  paymesh is the merchant of BazaarPay's two-phase flow: the app opens a
 *  checkout for a catalog package, sends the user to its payment_url, and
 *  confirms when the user returns; payment-core traces, delivers, commits or
 *  refunds. Build functions turn a request into the BAZAARPAY_* bodies of
 *  pm_proto.h; render functions turn the CHECKOUT of payment-core's reply
 *  into JSON, with a status chosen by the checkout's state. All are pure;
 *  rows in gw_routes.c with the store's error shape ({"error", "code"}),
 *  since the family sits beside the store purchases of seed 000. */
#ifndef GW_BAZAARPAY_H
#define GW_BAZAARPAY_H
#include <stdbool.h>
#include <stddef.h>

#include "gw_route.h"

#define GW_BAZAARPAY_URL_MAX 2048   /* bytes of a redirect_url */
#define GW_BAZAARPAY_TOKEN_MAX 64   /* letters and digits of a checkout token */
#define GW_BAZAARPAY_REASON_MAX 256 /* bytes of a refund reason */
#define GW_BAZAARPAY_PHONE_MIN 10   /* digits of a phone number, "+" aside */
#define GW_BAZAARPAY_PHONE_MAX 15

/* True when url[0..len) is an absolute http or https URL with a host, at most
 * GW_BAZAARPAY_URL_MAX bytes of printable ASCII without spaces: written
 * "http://host..." or "https://host..." (scheme in any case), and accepted by
 * libcurl's URL parser (host, port range, IPv6 brackets). */
bool gw_bazaarpay_url_valid(const char *url, size_t len);

/* True when token[0..len) is 1..GW_BAZAARPAY_TOKEN_MAX ASCII letters and
 * digits, the alphabet of BazaarPay's checkout tokens. */
bool gw_bazaarpay_token_valid(const char *token, size_t len);

/* POST /finance/bazaarpay/checkout/ {serial_number, redirect_url, phone?}
 * -> BAZAARPAY_CHECKOUT {sku, redirect_url, phone (str|nil)} */
int gw_bazaarpay_checkout_build(const gw_input_t *in, gw_build_t *out);
/* POST /finance/bazaarpay/confirm/ {checkout_token}
 * -> BAZAARPAY_CONFIRM {checkout_token} */
int gw_bazaarpay_confirm_build(const gw_input_t *in, gw_build_t *out);
/* GET /finance/bazaarpay/checkout/{id}/ -> BAZAARPAY_GET {checkout_token};
 * an id that cannot be a token is 404, like any token that does not exist */
int gw_bazaarpay_get_build(const gw_input_t *in, gw_build_t *out);
/* POST /finance/bazaarpay/refund/ {checkout_token, reason}
 * -> BAZAARPAY_REFUND {checkout_token, reason} */
int gw_bazaarpay_refund_build(const gw_input_t *in, gw_build_t *out);

/* 200 {"checkout_token", "payment_url", "serial_number", "state"} */
int gw_bazaarpay_checkout_render(const msgpack_object *reply, gw_response_t *out);
/* By state: in_progress 202 {"state", "checkout_token"}; delivered and
 * committed 200 {"state": "delivered", "checkout_token", "serial_number",
 * "coins" (coin package) or "subscription_until" (time package)}; refunded
 * and expired 406 {"state", "checkout_token", "serial_number", "error",
 * "code"}. */
int gw_bazaarpay_confirm_render(const msgpack_object *reply, gw_response_t *out);
/* 200 with the whole checkout (docs/api.md) */
int gw_bazaarpay_get_render(const msgpack_object *reply, gw_response_t *out);
/* The whole checkout: 200 when refunded, 202 while the refund is pending
 * (delivered or committed with refund_requested). */
int gw_bazaarpay_refund_render(const msgpack_object *reply, gw_response_t *out);

#endif
