/*  gw_admin: the operator page, GET /admin/ and GET /admin/api/overview
 *  (docs/operations.md "Admin page").
 *
 *  Off unless the gateway runs with --admin-page on: then both rows answer
 *  404 exactly like a path no row has (gw_http asks gw_admin_hidden before
 *  anything else), though they stay in the routing table (so
 *  --print-routes and docs/openapi.yaml agree either way).
 *
 *  /admin/ is a static page (HTML, CSS and one inline script, here as C
 *  strings: no build step) answered by the gateway alone, without a token:
 *  it holds no data. The script asks for a service token in a form, keeps
 *  it in the tab's sessionStorage (gone when the tab closes; never in a
 *  cookie, so no CSRF) and polls /admin/api/overview with it in the
 *  x_auth_token header every few seconds; everything it shows is set as
 *  text (textContent), never as markup. The page is served with a
 *  Content-Security-Policy that allows only that script (by its SHA-256),
 *  connections to the gateway itself, and no framing.
 *
 *  /admin/api/overview is ADMIN_OVERVIEW (pm_proto.h 140) with a service
 *  token (401 without one, 403 for a user token): payment-core's reply,
 *  "err" left out, as JSON. */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H
#include <stdbool.h>

#include "gw_route.h"

#define GW_ADMIN_CONTENT_TYPE "text/html; charset=utf-8"

/* Turns the page on or off (main, before the HTTP loops start). */
void gw_admin_enable(bool on);

/* True for the admin rows while the page is off: answer 404. */
bool gw_admin_hidden(const gw_route_t *route);

/* GW_ADMIN_CONTENT_TYPE for /admin/, NULL for any other row (route may be
 * NULL). */
const char *gw_admin_content_type(const gw_route_t *route);

/* Extra response headers of the admin rows, name/value pairs ending with
 * NULL; NULL for other rows. */
const char *const *gw_admin_headers(const gw_route_t *route);

/* Route functions (gw_routes.c). */
int gw_admin_page_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out);
int gw_admin_overview_build(const gw_input_t *in, gw_build_t *out);
int gw_admin_overview_render(const msgpack_object *reply, gw_response_t *out);

#endif
