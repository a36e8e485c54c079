/*  sb_admin: the provider-independent admin endpoints under /sandbox/:
 *  fault rules (/sandbox/faults), the random fault mode
 *  (/sandbox/faults/random) and the call log (/sandbox/calls). The
 *  per-provider admin endpoints live with their provider (bazaar.c). */
#ifndef SB_ADMIN_H
#define SB_ADMIN_H
#include "sb_route.h"

void sb_admin_on_fault_add(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_admin_on_fault_list(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_admin_on_fault_clear(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
/* The random fault mode (/sandbox/faults/random, sb_random.h): POST sets
 * it on (replacing the configuration, counters and PRNG), DELETE sets it
 * off; all three answer its state. */
void sb_admin_on_random_set(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_admin_on_random_get(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_admin_on_random_off(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_admin_on_call_list(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);
void sb_admin_on_call_clear(sb_sandbox_t *sb, const sb_req_t *req, sb_resp_t *resp);

#endif
