/*  sb_http: the sandbox's HTTP server core (libmicrohttpd).
 *
 *  Thread per connection: a handler may sleep (injected delays and
 *  timeouts) without holding up other calls. For every request it reads the
 *  body (bounded), takes the next fault rule of the provider the path
 *  belongs to or, when no rule matches, a draw of the random mode
 *  (sb_random.h), logs the call, runs the routed handler and applies the
 *  fault around it (see sb_fault.h). Closing without an answer is done by
 *  returning MHD_NO from the access handler, which makes libmicrohttpd close
 *  the socket. */
#ifndef SB_HTTP_H
#define SB_HTTP_H
#include <stddef.h>

#include "sb_sandbox.h"

typedef struct {
    const char *host; /* copied */
    int port;
    int max_connections;
    int connection_timeout_s;
    size_t max_body_bytes;
} sb_http_config_t;

typedef struct sb_http_t sb_http_t;

/* Starts listening. sb is borrowed and must outlive the server. NULL (and
 * logged) when the address cannot be bound. */
sb_http_t *sb_http_new(const sb_http_config_t *cfg, sb_sandbox_t *sb);

/* Stops (injected sleeps end early, connections are closed) and frees;
 * safe twice. */
void sb_http_destroy(sb_http_t **self_p);

#endif
