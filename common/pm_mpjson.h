/*  pm_mpjson: a msgpack value as a json-c value, for the programs that show
 *  payment-core's replies as JSON (paymentctl, the gateway's admin page). */
#ifndef PM_MPJSON_H
#define PM_MPJSON_H
#include <json-c/json.h>
#include <msgpack.h>
#include <stdbool.h>

/* Maps with str keys (of at most 128 bytes; other keys are left out),
 * arrays and scalars; nil, a bin or an ext is JSON null (json-c's NULL).
 * Nested at most max_depth deep. Returns the value (the caller owns it),
 * with *ok false (and NULL returned) when out of memory or nested deeper. */
json_object *pm_mp_to_json(const msgpack_object *o, int max_depth, bool *ok);

#endif
