/*  libFuzzer target: every route of the gateway's table, both directions.
 *
 *  Byte 0 picks a route. The rest is used twice: as the HTTP request body
 *  given to the route's build function (client input), and as a reply body
 *  given to its render function (payment-core input). Neither may crash,
 *  and a build that succeeds must produce a msgpack map. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../api-gateway/gw_json.h"
#include "../../api-gateway/gw_route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || gw_route_count == 0)
        return 0;
    const gw_route_t *r = &gw_routes[data[0] % gw_route_count];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    gw_input_t in = {.id = "3d0c8d8e-5f0a-4a51-8d0b-2b0b5d2f1c3e",
                     .id_len = 36,
                     .body = len ? body : NULL,
                     .body_len = len,
                     .max_amount_minor = 1000000000000000LL};
    gw_build_t b;
    gw_build_init(&b);
    if (r->build && r->build(&in, &b) == 0) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        int rc = msgpack_unpack_next(&u, b.body.data, b.body.size, &off);
        assert(rc == MSGPACK_UNPACK_SUCCESS && u.data.type == MSGPACK_OBJECT_MAP);
        msgpack_unpacked_destroy(&u);
    }
    gw_build_destroy(&b);

    if (r->render) {
        gw_response_t out = {0, NULL, 0};
        (void)gw_reply_render(r->render, body, len, &out);
        gw_response_clear(&out);
    }
    return 0;
}
