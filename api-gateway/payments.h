/*  payments: the core payment API of seed 001 (/api/v1/payment/...).
 *
 *  Build functions turn a request into the PAYMENT_* bodies of pm_proto.h;
 *  render functions turn payment-core's PAYMENT reply into the seed's JSON
 *  (its spelling: "recipcient"). All are pure; rows in gw_routes.c. */
#ifndef GW_PAYMENTS_H
#define GW_PAYMENTS_H
#include "gw_route.h"

#define GW_ACCEPT_INFO_MAX 4096 /* bytes of accept_info as compact JSON */

/* POST /api/v1/payment/create -> PAYMENT_CREATE */
int gw_payment_create_build(const gw_input_t *in, gw_build_t *out);
/* GET .../{id}/retrieve and .../{id}/retrieve/status -> PAYMENT_GET */
int gw_payment_get_build(const gw_input_t *in, gw_build_t *out);
/* POST .../{id}/cancel -> PAYMENT_CANCEL */
int gw_payment_cancel_build(const gw_input_t *in, gw_build_t *out);
/* POST .../{id}/edit -> PAYMENT_EDIT */
int gw_payment_edit_build(const gw_input_t *in, gw_build_t *out);
/* POST .../{id}/accept -> PAYMENT_ACCEPT */
int gw_payment_accept_build(const gw_input_t *in, gw_build_t *out);

/* {"transaction_id": id} */
int gw_payment_create_render(const msgpack_object *reply, gw_response_t *out);
/* {"payment": {...}} */
int gw_payment_retrieve_render(const msgpack_object *reply, gw_response_t *out);
/* {"payment_status": status} */
int gw_payment_status_render(const msgpack_object *reply, gw_response_t *out);
/* {"transaction_id": id, "payment_status": status}: cancel, edit, accept */
int gw_payment_action_render(const msgpack_object *reply, gw_response_t *out);

#endif
