/*  gw_openapi: the embedded OpenAPI document (gw_openapi.h). */
#include "gw_openapi.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int gw_openapi_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out)
{
    (void)in, (void)reply;
    assert(out);
    char *copy = malloc(gw_openapi_doc_len ? gw_openapi_doc_len : 1);
    if (!copy)
        return -1;
    memcpy(copy, gw_openapi_doc, gw_openapi_doc_len);
    out->status = 200;
    out->json = copy;
    out->len = gw_openapi_doc_len;
    return 0;
}
