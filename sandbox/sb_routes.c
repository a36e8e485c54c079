/*  sb_routes: every endpoint of the sandbox, one row each. */
#include "bank.h"
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

    /* Halkbank's BPC RBS REST gateway (providers.md 3.1-3.5): parameters in
     * the body or the query string, so GET is served as well */
    {"rbs", "POST", "/payment/rest/register.do", sb_bank_on_rbs_register},
    {"rbs", "GET", "/payment/rest/register.do", sb_bank_on_rbs_register},
    {"rbs", "POST", "/payment/rest/registerPreAuth.do", sb_bank_on_rbs_register_preauth},
    {"rbs", "GET", "/payment/rest/registerPreAuth.do", sb_bank_on_rbs_register_preauth},
    {"rbs", "POST", "/payment/rest/getOrderStatusExtended.do", sb_bank_on_rbs_status_extended},
    {"rbs", "GET", "/payment/rest/getOrderStatusExtended.do", sb_bank_on_rbs_status_extended},
    {"rbs", "POST", "/payment/rest/getOrderStatus.do", sb_bank_on_rbs_status},
    {"rbs", "GET", "/payment/rest/getOrderStatus.do", sb_bank_on_rbs_status},
    {"rbs", "POST", "/payment/rest/deposit.do", sb_bank_on_rbs_deposit},
    {"rbs", "GET", "/payment/rest/deposit.do", sb_bank_on_rbs_deposit},
    {"rbs", "POST", "/payment/rest/reverse.do", sb_bank_on_rbs_reverse},
    {"rbs", "GET", "/payment/rest/reverse.do", sb_bank_on_rbs_reverse},
    {"rbs", "POST", "/payment/rest/refund.do", sb_bank_on_rbs_refund},
    {"rbs", "GET", "/payment/rest/refund.do", sb_bank_on_rbs_refund},

    /* TFEB's TSYS Prime OrderProcessing API (providers.md 3.6) */
    {"tfeb", "POST", "/identityserver/connect/token", sb_bank_on_tfeb_token},
    {"tfeb", "POST", "/OrderProcessing_TURK/v1/orders", sb_bank_on_tfeb_create},
    {"tfeb", "GET", "/OrderProcessing_TURK/v1/Orders/*", sb_bank_on_tfeb_get},
    {"tfeb", "POST", "/OrderProcessing_TURK/v1/Orders/*/refund", sb_bank_on_tfeb_refund},

    /* the banks' card pages, for a person in a browser (no faults, not logged) */
    {NULL, "GET", "/payment/merchants/online/payment_ru.html", sb_bank_on_rbs_page},
    {NULL, "POST", "/payment/merchants/online/pay", sb_bank_on_rbs_page_pay},
    {NULL, "POST", "/payment/merchants/online/decline", sb_bank_on_rbs_page_decline},
    {NULL, "GET", "/Checkout/*", sb_bank_on_tfeb_page},
    {NULL, "POST", "/Checkout/*/pay", sb_bank_on_tfeb_page_pay},
    {NULL, "POST", "/Checkout/*/decline", sb_bank_on_tfeb_page_decline},

    /* admin API */
    {NULL, "POST", "/sandbox/bazaar/purchases", sb_bazaar_on_admin_create},
    {NULL, "GET", "/sandbox/bazaar/purchases/*", sb_bazaar_on_admin_get},
    {NULL, "POST", "/sandbox/bazaar/purchases/*/refund", sb_bazaar_on_admin_refund},
    {NULL, "GET", "/sandbox/bazaarpay/checkouts", sb_bp_on_admin_list},
    {NULL, "GET", "/sandbox/bazaarpay/checkouts/*", sb_bp_on_admin_get},
    {NULL, "POST", "/sandbox/bazaarpay/checkouts/*/pay", sb_bp_on_admin_pay},
    {NULL, "POST", "/sandbox/bazaarpay/checkouts/*/cancel", sb_bp_on_admin_cancel},
    {NULL, "POST", "/sandbox/bazaarpay/checkouts/*/expire", sb_bp_on_admin_expire},
    {NULL, "GET", "/sandbox/bank/orders", sb_bank_on_admin_list},
    {NULL, "GET", "/sandbox/bank/orders/*", sb_bank_on_admin_get},
    {NULL, "POST", "/sandbox/bank/orders/*/pay", sb_bank_on_admin_pay},
    {NULL, "POST", "/sandbox/bank/orders/*/decline", sb_bank_on_admin_decline},
    {NULL, "GET", "/sandbox/icons/*", sb_icon_on_get},
    {NULL, "POST", "/sandbox/faults", sb_admin_on_fault_add},
    {NULL, "GET", "/sandbox/faults", sb_admin_on_fault_list},
    {NULL, "DELETE", "/sandbox/faults", sb_admin_on_fault_clear},
    {NULL, "POST", "/sandbox/faults/random", sb_admin_on_random_set},
    {NULL, "GET", "/sandbox/faults/random", sb_admin_on_random_get},
    {NULL, "DELETE", "/sandbox/faults/random", sb_admin_on_random_off},
    {NULL, "GET", "/sandbox/calls", sb_admin_on_call_list},
    {NULL, "DELETE", "/sandbox/calls", sb_admin_on_call_clear},
};

const size_t sb_route_count = sizeof sb_routes / sizeof sb_routes[0];
