/*  gw_route: the gateway's one routing table and its pure path matcher.
 *
 *  Every endpoint of every API family is one row {method, pattern, build,
 *  render} of gw_routes[] (gw_routes.c). A pattern is a path of literal
 *  segments and at most one "{id}" capture, e.g. "/api/v1/payment/{id}/cancel".
 *  A row's two functions are pure, so they are unit tested without sockets:
 *
 *    build   request (captured id + raw JSON body) -> a core message (type and
 *            msgpack body), or a client error (pm_err_t + message)
 *    render  payment-core's successful reply body -> HTTP status + JSON
 *
 *  The HTTP layer (gw_http) does everything else: auth, limits, the core
 *  link, error bodies. A new API family is a new file of build/render
 *  functions and new rows in gw_routes.c.
 *
 *  Two optional columns serve families whose seed differs from the core API:
 *  errors selects the shape of every error body of the row (the core API's
 *  {"code", "message"} or the store's {"error", "code"}), and render_req
 *  replaces render when the answer depends on the request too (pagination
 *  links built from the Host header and the query). */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_MSG_MAX 256 /* bytes of a client error message */

/* Looks up a request header (case-insensitive) or a decoded query argument
 * by name; NULL when absent. The result is borrowed from the request. */
typedef const char *(*gw_lookup_fn)(const void *ctx, const char *name);

/* What a build function sees of a request. All views are borrowed. */
typedef struct {
    const char *id; /* captured {id}, not NUL-terminated; NULL if none */
    size_t id_len;
    const char *body; /* raw request body; NULL when body_len is 0 */
    size_t body_len;
    int64_t max_amount_minor; /* upper bound of any amount, in minor units */
    gw_lookup_fn header;      /* NULL: no headers (unit tests) */
    gw_lookup_fn query;       /* NULL: no query arguments */
    const void *lookup_ctx;   /* for header and query */
} gw_input_t;

/* A header or query argument of in, or NULL when absent (or when in has no
 * lookup function). */
const char *gw_input_header(const gw_input_t *in, const char *name);
const char *gw_input_query(const gw_input_t *in, const char *name);

/* What a build function produces: either err == PM_OK with type and body
 * (a msgpack map as pm_proto.h specifies for type), or err != PM_OK with msg. */
typedef struct {
    int err;
    char msg[GW_MSG_MAX];
    uint32_t type;
    msgpack_sbuffer body;
} gw_build_t;

/* An HTTP answer. json is heap memory owned by whoever holds the struct. */
typedef struct {
    int status;
    char *json;
    size_t len;
} gw_response_t;

/* Returns 0 when out->err is PM_OK, -1 when it holds a client error. */
typedef int (*gw_build_fn)(const gw_input_t *in, gw_build_t *out);

/* Renders a reply body whose "err" is 0. Returns 0, or -1 when the reply
 * lacks what the endpoint needs (a payment-core bug: answered with 500). */
typedef int (*gw_render_fn)(const msgpack_object *reply, gw_response_t *out);

/* Like gw_render_fn, for answers that also depend on the request (the same
 * input the build function saw). */
typedef int (*gw_render_req_fn)(const gw_input_t *in, const msgpack_object *reply,
                                gw_response_t *out);

/* Shape of a route's error bodies. */
typedef enum {
    GW_ERRORS_CORE = 0,  /* {"code": code, "message": msg} (docs/api.md) */
    GW_ERRORS_STORE = 1, /* {"error": msg, "code": code}; 401 says "Log in" (seed 000) */
    GW_ERRORS_ORDER = 2, /* {"status": 0, "message": msg, "code": code} (seed 004) */
} gw_errors_t;

typedef struct {
    const char *method;
    const char *pattern;
    gw_build_fn build;
    gw_render_fn render;
    gw_errors_t errors;          /* 0 (core) unless the family's seed says otherwise */
    gw_render_req_fn render_req; /* used instead of render when set; with build NULL,
                                  * the gateway answers render_req(in, NULL) alone,
                                  * without a token or payment-core (/openapi.json) */
} gw_route_t;

/* The gateway's routing table (gw_routes.c). */
extern const gw_route_t gw_routes[];
extern const size_t gw_route_count;

typedef enum {
    GW_ROUTE_OK = 0,        /* m->route and the capture are set */
    GW_ROUTE_NO_PATH = 1,   /* no row has this path: 404 */
    GW_ROUTE_NO_METHOD = 2, /* rows have this path, not this method: 405, m->allow */
} gw_route_result_t;

typedef struct {
    const gw_route_t *route;
    const char *id; /* view into the matched path; NULL when no capture */
    size_t id_len;
    char allow[64];     /* "GET, POST": methods of the path, for 405 */
    gw_errors_t errors; /* error shape of the path's first row (OK and 405) */
} gw_match_t;

/* Matches method and path (one trailing slash ignored, no query string)
 * against table. Pure; m's views point into path. */
gw_route_result_t gw_route_match(const gw_route_t *table, size_t count, const char *method,
                                 const char *path, gw_match_t *m);

/* gw_build_t life cycle: init before build, destroy after (safe twice). */
void gw_build_init(gw_build_t *b);
void gw_build_destroy(gw_build_t *b);

/* Sets b->err and b->msg (printf format); returns -1 for tail calls. */
int gw_build_fail(gw_build_t *b, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void gw_response_clear(gw_response_t *r);

#endif
