/*  gw_mhd: what libmicrohttpd would answer on its own, answered as JSON.
 *
 *  libmicrohttpd answers some requests itself, before the gateway sees
 *  them: a malformed request line or header, a bad Content-Length or
 *  chunk, a request head larger than the connection's memory. Its bodies
 *  are short HTML pages without a Content-Type, and it has no option to
 *  change them. It does queue them through its exported
 *  MHD_queue_response (through the PLT, so the gateway's own definition
 *  comes first), so the gateway program defines MHD_queue_response: a response it
 *  queues itself (gw_mhd_queue) goes through unchanged; any other one is
 *  one of libmicrohttpd's own errors, and is replaced by a JSON error with
 *  the same status, in the shape of the family the path belongs to (the
 *  core API's when the path was never read). t_hostile checks every one of
 *  these cases on the wire.
 *
 *  Each connection also carries what the raw request target said, before
 *  libmicrohttpd decoded it: an encoded '/', '\', NUL or control character
 *  in the path ("%2F", "%00") would otherwise reach the router decoded. */
#ifndef GW_MHD_H
#define GW_MHD_H
#include <microhttpd.h>
#include <stdbool.h>

#include "gw_route.h"

/* What the gateway program's MHD_queue_response does (api-gateway/main.c:
 * defined there, not in the library, so that only the gateway replaces
 * libmicrohttpd's answers, never a test's or another program's server):
 * passes on a response gw_mhd_queue queues, replaces any other. */
enum MHD_Result gw_mhd_queue_any(struct MHD_Connection *connection, unsigned int status_code,
                                 struct MHD_Response *response);

/* Queues a response the gateway made itself. */
enum MHD_Result gw_mhd_queue(struct MHD_Connection *conn, unsigned status,
                             struct MHD_Response *resp);

/* MHD_OPTION_NOTIFY_CONNECTION: the per-connection record (malloc'd at
 * start, freed at close). */
void gw_mhd_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);

/* MHD_OPTION_URI_LOG_CALLBACK: reads the raw request target into the
 * connection's record. Returns NULL (no request context yet). */
void *gw_mhd_on_uri(void *cls, const char *uri, struct MHD_Connection *conn);

/* True when the raw path of the connection's current request holds an
 * encoded '/', '\', NUL, control character or a malformed escape. */
bool gw_mhd_path_refused(struct MHD_Connection *conn);

/* Pure, for the URI callback and unit tests: does the path part of a raw
 * request target (up to '?' or '#') hold any of the above? */
bool gw_mhd_raw_path_refused(const char *target);

/* Pure: the error shape of the routes whose pattern matches the path part
 * of a raw request target, whatever their method; the core API's when
 * none matches. */
gw_errors_t gw_mhd_errors_for(const char *target);

#endif
