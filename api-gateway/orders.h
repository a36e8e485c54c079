/*  orders: the bank order payment family of seed 004: /gen-reg-no/,
 *  /checkout-sale-order-inv/, /order-payment-register-request/ and
 *  /order-inv-validation/.
 *
 *  Build functions turn the seed's PascalCase bodies into the REGNO_GEN,
 *  INVOICE_PUT, ORDER_REGISTER and ORDER_VALIDATE messages of pm_proto.h;
 *  render functions answer in the seed's envelope {"status": 1, "data": ...,
 *  "message": ...} (the registration in the seed's own shape). Errors keep
 *  the family's shape {"status": 0, "message": ..., "code": ...}
 *  (GW_ERRORS_ORDER). Amounts are exact decimals in manat (TMT, 2 decimals)
 *  on the wire and tenge (minor units) to the core. All pure. */
#ifndef GW_ORDERS_H
#define GW_ORDERS_H
#include "gw_route.h"

/* POST /gen-reg-no/ {"RegNumTypeId", "random_mode", "RegNumTypeName"?}
 *   -> REGNO_GEN {type_id, random, type_name} */
int gw_order_regno_build(const gw_input_t *in, gw_build_t *out);

/* {"status": 1, "data": "<reg no>", "message": "Pred Reg_no generation"} */
int gw_order_regno_render(const msgpack_object *reply, gw_response_t *out);

/* POST /checkout-sale-order-inv/ {"OInvRegNo", "OInvTypeId"? (13),
 *   "online_payment_type", "OInvTotal", "OrderInvLines": [{"ResName",
 *   "ItemCount", "ResPrice"}] (1..100), "OInvDesc"?}
 *   -> INVOICE_PUT {reg_no, payment_type, currency "TMT", total_minor,
 *      lines [{name, count, price_minor}], desc} */
int gw_order_checkout_build(const gw_input_t *in, gw_build_t *out);

/* {"status": 1, "data": <invoice>, "message": "Order invoice checked out"}
 * with 200, where <invoice> is {"OInvRegNo", "OInvTypeId", "OInvState",
 * "online_payment_type", "OInvTotal", "OInvCurrency", "OrderInvLines",
 * "OInvDesc", "OrderId", "checkout_url", "bank_state", "created_at",
 * "updated_at", "paid_at"}. */
int gw_order_checkout_render(const msgpack_object *reply, gw_response_t *out);

/* POST /order-payment-register-request/?online_payment_type=...
 *   {"OInvRegNo" (or "RegNo"), "TotalPrice", "OrderDesc"?}
 *   -> ORDER_REGISTER {reg_no, payment_type, total_minor, desc} */
int gw_order_register_build(const gw_input_t *in, gw_build_t *out);

/* The seed's shape, 200: {"data": {"checkout_url", "OrderId",
 * "online_payment_type"}, "RegNo", "OInvRegNo", "TotalPrice", "OrderDesc"};
 * OrderDesc echoes the request (in), the rest is the stored invoice. */
int gw_order_register_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out);

/* POST /order-inv-validation/ {"OrderId", "OInvRegNo" (or "RegNo"),
 *   "online_payment_type", "RpAccGuid"?}
 *   -> ORDER_VALIDATE {reg_no, order_id, payment_type, account} */
int gw_order_validate_build(const gw_input_t *in, gw_build_t *out);

/* By the invoice's state: paid 200 {"status": 1, "message": "Validation
 * success"}, awaiting payment 200 {"status": 0, "message": "Not paid yet"},
 * failed 406 {"status": 0, "message": "Payment declined" | "Payment
 * reversed" | "Order unknown to the bank" | "Payment failed"}, each with
 * "data": <invoice>. */
int gw_order_validate_render(const msgpack_object *reply, gw_response_t *out);

#endif
