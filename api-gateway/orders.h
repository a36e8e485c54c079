/*  orders: the bank order payment family of seed 004 (/gen-reg-no/, ...).
 *
 *  Build functions turn the seed's PascalCase bodies into the REGNO_* and
 *  (later) order messages of pm_proto.h; render functions answer in the
 *  seed's envelope {"status": 1, "data": ..., "message": ...}. Errors keep
 *  the family's shape {"status": 0, "message": ..., "code": ...}
 *  (GW_ERRORS_ORDER). All pure. */
#ifndef GW_ORDERS_H
#define GW_ORDERS_H
#include "gw_route.h"

/* POST /gen-reg-no/ {"RegNumTypeId", "random_mode", "RegNumTypeName"?}
 *   -> REGNO_GEN {type_id, random, type_name} */
int gw_order_regno_build(const gw_input_t *in, gw_build_t *out);

/* {"status": 1, "data": "<reg no>", "message": "Pred Reg_no generation"} */
int gw_order_regno_render(const msgpack_object *reply, gw_response_t *out);

#endif
