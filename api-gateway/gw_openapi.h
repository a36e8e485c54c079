/*  gw_openapi: GET /openapi.json, the API's OpenAPI 3.0.3 document.
 *
 *  The document is docs/openapi.yaml, written in JSON syntax (JSON is YAML
 *  1.2), so the gateway serves it as it is, with no YAML library: the
 *  Makefile turns it into a byte array (build/<variant>/gen/openapi_doc.c)
 *  linked into the gateway. Its row in gw_routes.c has no build function:
 *  the gateway answers it alone, without a token and without payment-core
 *  (gw_http). */
#ifndef GW_OPENAPI_H
#define GW_OPENAPI_H
#include <stddef.h>

#include "gw_route.h"

/* docs/openapi.yaml as built (not NUL-terminated), from the generated file. */
extern const unsigned char gw_openapi_doc[];
extern const size_t gw_openapi_doc_len;

/* 200 with a copy of the document; reply is not used (may be NULL).
 * Returns 0, or -1 when out of memory. */
int gw_openapi_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out);

#endif
