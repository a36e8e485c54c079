/*  sb_routes: every endpoint of the sandbox, one row each. */
#include "bazaar.h"
#include "bazaarpay.h"
#include "sb_admin.h"
#include "sb_icon.h"
#include "sb_route.h"

const sb_route_t sb_routes[] = {
    /* Cafe Bazaar developer API (providers.md section 2) */
    {"bazaar", "POST", "/devapi/v2/auth/token/", sb_bazaar_on_token},
    {"bazaar", "GET", "/devapi/v2/api/validate/*/inapp/*/purchases/*/", sb_bazaar_on_validate},
    {"bazaar", "POST", "/devapi/v2/api/consume/*/purchases/", sb_bazaar_on_consume},

    /* BazaarPay merchant API (providers.md section 1) */
    {"bazaarpay", "POST", "/badje/v1/checkout/init/", sb_bp_on_init},
    {"bazaarpay", "POST", "/badje/v1/trace/", sb_bp_on_trace},
    {"bazaarpay", "POST", "/badje/v1/commit/", sb_bp_on_commit},
    {"bazaarpay", "POST", "/badje/v1/refund/", sb_bp_on_refund},

    /* BazaarPay's payment page, for a person in a browser (no faults, not logged) */
    {NULL, "GET", "/bazaarpay/payment", sb_bp_on_page},
    {NULL, "POST", "/bazaarpay/payment/pay", sb_bp_on_page_pay},
    {NULL, "POST", "/bazaarpay/payment/cancel", sb_bp_on_page_cancel},

    /* admin API */
    {NULL, "POST", "/sandbox/bazaar/purchases", sb_bazaar_on_admin_create},
    {NULL, "GET", "/sandbox/bazaar/purchases/*", sb_bazaar_on_admin_get},
    {NULL, "POST", "/sandbox/bazaar/purchases/*/refund", sb_bazaar_on_admin_refund},
    {NULL, "GET", "/sandbox/bazaarpay/checkouts", sb_bp_on_admin_list},
    {NULL, "GET", "/sandbox/bazaarpay/checkouts/*", sb_bp_on_admin_get},
    {NULL, "POST", "/sandbox/bazaarpay/checkouts/*/pay", sb_bp_on_admin_pay},
    {NULL, "POST", "/sandbox/bazaarpay/checkouts/*/cancel", sb_bp_on_admin_cancel},
    {NULL, "POST", "/sandbox/bazaarpay/checkouts/*/expire", sb_bp_on_admin_expire},
    {NULL, "GET", "/sandbox/icons/*", sb_icon_on_get},
    {NULL, "POST", "/sandbox/faults", sb_admin_on_fault_add},
    {NULL, "GET", "/sandbox/faults", sb_admin_on_fault_list},
    {NULL, "DELETE", "/sandbox/faults", sb_admin_on_fault_clear},
    {NULL, "GET", "/sandbox/calls", sb_admin_on_call_list},
    {NULL, "DELETE", "/sandbox/calls", sb_admin_on_call_clear},
};

const size_t sb_route_count = sizeof sb_routes / sizeof sb_routes[0];
