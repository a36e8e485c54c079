/*  store: the store purchase family of seed 000 (/finance/...).
 *
 *  Build functions turn a request into the STORE_* bodies of pm_proto.h;
 *  render functions turn payment-core's replies into the seed's JSON. All
 *  are pure; rows in gw_routes.c with the store's error shape
 *  ({"error": message, "code": code}). */
#ifndef GW_STORE_H
#define GW_STORE_H
#include "gw_route.h"

#define GW_STORE_PAGE_SIZE_DEFAULT 20
#define GW_STORE_PAGE_SIZE_MAX 100   /* larger page_size values are clamped (DRF) */
#define GW_STORE_PAGE_MAX 1000000000 /* larger pages are "Invalid page." */
#define GW_STORE_SKU_MAX 128         /* bytes of a Bazaar SKU */
#define GW_STORE_SERIAL_MAX 32       /* digits of a purchase serial */
#define GW_STORE_TOKEN_MAX 256       /* bytes of a Bazaar purchase token */
#define GW_STORE_HOST_MAX 255        /* bytes of the Host header */

/* The paging of a package list request, from its query. */
typedef struct {
    int64_t page;         /* >= 1 */
    int64_t page_size;    /* 1..GW_STORE_PAGE_SIZE_MAX */
    bool page_size_given; /* repeated in the next/previous links */
} gw_store_paging_t;

/* Reads page and page_size of in's query. Returns 0, or -1 with the client
 * error in b: 404 "Invalid page." for a page that is not a positive
 * integer, 400 for a page_size that is not one. */
int gw_store_paging(const gw_input_t *in, gw_store_paging_t *p, gw_build_t *b);

/* True when host (the Host header) is a name or address with an optional
 * port, safe to put into an absolute URL. */
bool gw_store_host_valid(const char *host);

/* GET /finance/packages/ -> STORE_PACKAGES {platform, page, page_size} */
int gw_store_packages_build(const gw_input_t *in, gw_build_t *out);
/* POST /finance/purchase -> STORE_PURCHASE_OPEN {sku} */
int gw_store_purchase_build(const gw_input_t *in, gw_build_t *out);
/* POST /finance/bazzar_paymnet/ -> STORE_REDEEM {serial, token} */
int gw_store_redeem_build(const gw_input_t *in, gw_build_t *out);

/* {"count", "next", "previous", "results": [...]} or 404 "Invalid page." */
int gw_store_packages_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out);
/* {"serial_number", "ref_id", "state"} */
int gw_store_purchase_render(const msgpack_object *reply, gw_response_t *out);
/* {"coins": n} */
int gw_store_redeem_render(const msgpack_object *reply, gw_response_t *out);

#endif
