/*  gw_http: the gateway's HTTP/1.1 server (libmicrohttpd).
 *
 *  An internal epoll thread pool accepts and parses requests. Each request is
 *  routed (gw_routes), its body accumulated up to max_body_bytes, its API
 *  token hashed, and its route's build function run. Then the connection is
 *  suspended while the core link carries the message to payment-core; the
 *  link's done callback resumes it and the same handler renders the reply.
 *  No thread waits on payment-core.
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
    int threads; /* MHD worker threads */
    int max_connections;
    int connection_timeout_s; /* idle connection timeout */
    size_t max_body_bytes;
    int64_t max_amount_minor;
} gw_http_config_t;

typedef struct gw_http_t gw_http_t;

/* Binds and starts serving; requests go to payment-core through link, which
 * must outlive the server. Returns a new server (caller owns:
 * gw_http_destroy), or NULL (logged) when it cannot listen. */
gw_http_t *gw_http_new(const gw_http_config_t *cfg, gw_link_t *link);

/* Stops accepting, ends every request waiting on payment-core with 503
 * (draining the link) and resumes it, then stops the daemon. Safe twice. */
void gw_http_stop(gw_http_t *self);

/* Stops if needed, then frees. Safe twice; nulls *self_p. */
void gw_http_destroy(gw_http_t **self_p);

#endif
