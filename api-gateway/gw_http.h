/*  gw_http: the gateway's HTTP/1.1 server (libmicrohttpd).
 *
 *  `threads` event loops accept and parse requests, each with its own MHD
 *  daemon and its own link to payment-core (gw_link). Each request is routed
 *  (gw_routes), its body accumulated up to max_body_bytes, its API token
 *  hashed, and its route's build function run. Then its message leaves on
 *  the loop's link and the connection is suspended; the reply, taken by the
 *  same loop, resumes it and the same handler renders the answer. No thread
 *  waits on payment-core and no request changes threads.
 *
 *  A client address that earned too many 401s is answered 429 rate_limited
 *  (with Retry-After) on every route that takes a token, before the token
 *  is looked at, until its block ends (gw_ratelimit).
 *
 *  When the gateway finds a 4xx itself and a token is present, it first asks
 *  payment-core to resolve the token (PM_MSG_AUTH), so 401 wins over 400.
 *
 *  Every response is JSON with Content-Type application/json and
 *  X-Request-Id (the trace id sent to payment-core). The one exception is a
 *  request whose headers exceed the per-connection memory limit: libmicrohttpd
 *  answers that one itself (431) before the gateway sees it. */
#ifndef GW_HTTP_H
#define GW_HTTP_H
#include <stddef.h>
#include <stdint.h>

#include "gw_link.h"

typedef struct {
    const char *host; /* numeric address or name to bind */
    int port;
    int threads; /* event loops, one thread each */
    int max_connections;
    int connection_timeout_s; /* idle connection timeout */
    size_t max_body_bytes;
    int64_t max_amount_minor;
    /* Failed authentications (401) per client address (gw_ratelimit): after
     * auth_fail_limit within auth_fail_window_s the address gets 429 with
     * Retry-After for auth_fail_window_s. auth_fail_limit 0: off. */
    int auth_fail_limit;
    int auth_fail_window_s;
    size_t auth_fail_table_entries; /* 0: 4096 */
} gw_http_config_t;

typedef struct gw_http_t gw_http_t;

/* Binds, connects each loop's link to payment-core (link_cfg; its
 * max_inflight is shared among the loops) and starts serving. Returns a new
 * server (caller owns: gw_http_destroy), or NULL (logged) when it cannot
 * listen. */
gw_http_t *gw_http_new(const gw_http_config_t *cfg, const gw_link_config_t *link_cfg);

/* Stops accepting, ends every request waiting on payment-core with 503
 * (draining the links), answers the requests in progress (bounded), then
 * stops the loops. Safe twice. */
void gw_http_stop(gw_http_t *self);

/* Stops if needed, then frees. Safe twice; nulls *self_p. */
void gw_http_destroy(gw_http_t **self_p);

/* The API token one request header carries: the whole value of x_auth_token
 * or X-Auth-Token, or what follows the scheme of an Authorization value
 * "Bearer <token>" or "Token <token>" (scheme in any case), surrounding
 * blanks trimmed. NULL (and *len 0) for other headers and schemes and for a
 * blank token; otherwise a view into value. Pure. */
const char *gw_http_header_token(const char *key, const char *value, size_t *len);

#endif
