/*  gw_routes: the gateway's one routing table.
 *
 *  One row per endpoint; one file of build/render functions per API family.
 *  A path works with and without a trailing slash; an unknown path is 404,
 *  a known path with another method 405 (gw_route_match). */
#include "gw_admin.h"
#include "gw_metrics.h"
#include "gw_openapi.h"
#include "gw_route.h"
#include "orders.h"
#include "bazaarpay.h"
#include "payments.h"
#include "store.h"

#define CORE GW_ERRORS_CORE
#define STORE GW_ERRORS_STORE
#define ORDER GW_ERRORS_ORDER

const gw_route_t gw_routes[] = {
    /* core payment API (seed 001) */
    {"POST", "/api/v1/payment/create", gw_payment_create_build, gw_payment_create_render, CORE,
     NULL},
    {"GET", "/api/v1/payment/{id}/retrieve", gw_payment_get_build, gw_payment_retrieve_render, CORE,
     NULL},
    {"GET", "/api/v1/payment/{id}/retrieve/status", gw_payment_get_build, gw_payment_status_render,
     CORE, NULL},
    {"POST", "/api/v1/payment/{id}/cancel", gw_payment_cancel_build, gw_payment_action_render, CORE,
     NULL},
    {"POST", "/api/v1/payment/{id}/edit", gw_payment_edit_build, gw_payment_action_render, CORE,
     NULL},
    {"POST", "/api/v1/payment/{id}/accept", gw_payment_accept_build, gw_payment_action_render, CORE,
     NULL},
    /* store purchases (seed 000; the seed's spelling "bazzar_paymnet") */
    {"GET", "/finance/packages", gw_store_packages_build, NULL, STORE, gw_store_packages_render},
    {"POST", "/finance/purchase", gw_store_purchase_build, gw_store_purchase_render, STORE, NULL},
    {"POST", "/finance/bazzar_paymnet", gw_store_redeem_build, gw_store_redeem_render, STORE, NULL},
    {"POST", "/finance/bazzar_payment", gw_store_redeem_build, gw_store_redeem_render, STORE, NULL},
    /* BazaarPay checkout (seeds 002/003), beside the store purchases */
    {"POST", "/finance/bazaarpay/checkout", gw_bazaarpay_checkout_build,
     gw_bazaarpay_checkout_render, STORE, NULL},
    {"GET", "/finance/bazaarpay/checkout/{id}", gw_bazaarpay_get_build, gw_bazaarpay_get_render,
     STORE, NULL},
    {"POST", "/finance/bazaarpay/confirm", gw_bazaarpay_confirm_build, gw_bazaarpay_confirm_render,
     STORE, NULL},
    {"POST", "/finance/bazaarpay/refund", gw_bazaarpay_refund_build, gw_bazaarpay_refund_render,
     STORE, NULL},
    /* bank order payments (seed 004) */
    {"POST", "/gen-reg-no", gw_order_regno_build, gw_order_regno_render, ORDER, NULL},
    {"POST", "/checkout-sale-order-inv", gw_order_checkout_build, gw_order_checkout_render, ORDER,
     NULL},
    {"POST", "/order-payment-register-request", gw_order_register_build, NULL, ORDER,
     gw_order_register_render},
    {"POST", "/order-inv-validation", gw_order_validate_build, gw_order_validate_render, ORDER,
     NULL},
    /* this API's OpenAPI document (docs/openapi.yaml): no build, so no token, no core */
    {"GET", "/openapi.json", NULL, NULL, CORE, gw_openapi_render},
    /* health and metrics (gw_metrics.h, docs/operations.md): no token; /healthz
     * without the core, /readyz and /metrics with HEALTH and METRICS */
    {"GET", "/healthz", NULL, NULL, CORE, gw_healthz_render},
    {"GET", "/readyz", gw_readyz_build, NULL, CORE, gw_readyz_render},
    {"GET", "/metrics", gw_metrics_build, NULL, CORE, gw_metrics_render},
    /* the operator page (gw_admin.h, docs/operations.md "Admin page"): 404 unless
     * --admin-page on; the page without a token or core, its data with a service token */
    {"GET", "/admin", NULL, NULL, CORE, gw_admin_page_render},
    {"GET", "/admin/api/overview", gw_admin_overview_build, gw_admin_overview_render, CORE, NULL},
};

const size_t gw_route_count = sizeof gw_routes / sizeof gw_routes[0];
