/*  sb_routes: every endpoint of the sandbox, one row each. */
#include "bazaar.h"
#include "sb_admin.h"
#include "sb_route.h"

const sb_route_t sb_routes[] = {
    /* Cafe Bazaar developer API (providers.md section 2) */
    {"bazaar", "POST", "/devapi/v2/auth/token/", sb_bazaar_on_token},
    {"bazaar", "GET", "/devapi/v2/api/validate/*/inapp/*/purchases/*/", sb_bazaar_on_validate},
    {"bazaar", "POST", "/devapi/v2/api/consume/*/purchases/", sb_bazaar_on_consume},

    /* admin API */
    {NULL, "POST", "/sandbox/bazaar/purchases", sb_bazaar_on_admin_create},
    {NULL, "GET", "/sandbox/bazaar/purchases/*", sb_bazaar_on_admin_get},
    {NULL, "POST", "/sandbox/bazaar/purchases/*/refund", sb_bazaar_on_admin_refund},
    {NULL, "POST", "/sandbox/faults", sb_admin_on_fault_add},
    {NULL, "GET", "/sandbox/faults", sb_admin_on_fault_list},
    {NULL, "DELETE", "/sandbox/faults", sb_admin_on_fault_clear},
    {NULL, "GET", "/sandbox/calls", sb_admin_on_call_list},
    {NULL, "DELETE", "/sandbox/calls", sb_admin_on_call_clear},
};

const size_t sb_route_count = sizeof sb_routes / sizeof sb_routes[0];
