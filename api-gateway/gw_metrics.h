/*  gw_metrics: the gateway's /healthz, /readyz and /metrics (docs/
 *  operations.md "Health and metrics").
 *
 *  Request counters: gw_http calls gw_metrics_observe once per answer it
 *  queues, from any of its event loops; every counter is a relaxed atomic
 *  (no lock, no false sharing worth a padding: one add per request). Per
 *  route row and method (plus one "unmatched" slot for 404/405 without a
 *  route) the gateway keeps counts by status class and a latency histogram
 *  with fixed buckets (GW_METRICS_LATENCY_LE).
 *
 *  /healthz is answered by the gateway alone (no token, no core). /readyz
 *  and /metrics are "public" rows: they have a build function (HEALTH,
 *  METRICS to payment-core) but no token is asked; when payment-core cannot
 *  be reached their render function runs with a NULL reply (/readyz: 503,
 *  /metrics: the gateway's own figures with paymesh_core_up 0). */
#ifndef GW_METRICS_H
#define GW_METRICS_H
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_route.h"

#define GW_METRICS_ROUTES_MAX 64 /* rows of gw_routes[] counted; more: "unmatched" */
#define GW_METRICS_LATENCY_BUCKETS 15
extern const double gw_metrics_latency_le[GW_METRICS_LATENCY_BUCKETS - 1]; /* seconds */

#define GW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One answer queued for route (NULL: no route matched) with HTTP status,
 * elapsed_us after the request's first byte reached the handler. Thread
 * safe, lock free. */
void gw_metrics_observe(const gw_route_t *route, int status, int64_t elapsed_us);

/* True for the rows answered without a token although they ask payment-core
 * (/readyz, /metrics). */
bool gw_metrics_public(const gw_route_t *route);

/* Content-Type of route's answers: GW_METRICS_CONTENT_TYPE for /metrics,
 * application/json otherwise (route may be NULL). */
const char *gw_metrics_content_type(const gw_route_t *route);

/* The Prometheus text of the gateway's counters and of core, payment-core's
 * METRICS reply (NULL: payment-core not reachable). *text is malloc'd (the
 * caller frees). 0, or -1 when out of memory. */
int gw_metrics_text(const msgpack_object *core, char **text, size_t *len);

/* Zeroes the request counters (unit tests). */
void gw_metrics_reset(void);

/* Route functions (gw_routes.c). */
int gw_healthz_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out);
int gw_readyz_build(const gw_input_t *in, gw_build_t *out);
int gw_readyz_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out);
int gw_metrics_build(const gw_input_t *in, gw_build_t *out);
int gw_metrics_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out);

#endif
