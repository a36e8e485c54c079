/*  gw_mhd: libmicrohttpd's own error answers as JSON; the raw path check. */
#include "gw_mhd.h"

#include <assert.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "gw_json.h"
#include "gw_metrics.h"
#include "pm_err.h"
#include "pm_log.h"

#define S_PATH_MAX 512 /* bytes of a raw path kept for the error shape */

typedef struct {
    char path[S_PATH_MAX]; /* the current request's raw path ("": none, or longer) */
    bool path_refused;     /* it holds an escape the router must not see */
} s_conn_t;

typedef enum MHD_Result (*s_queue_fn)(struct MHD_Connection *, unsigned int, struct MHD_Response *);

static _Thread_local bool s_own; /* inside gw_mhd_queue */

static s_queue_fn s_real_queue(void)
{
    static s_queue_fn real; /* same value from every thread */
    s_queue_fn fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
    if (!fn) {
        fn = (s_queue_fn)dlsym(RTLD_NEXT, "MHD_queue_response");
        if (!fn)
            abort(); /* no libmicrohttpd below us: cannot answer at all */
        __atomic_store_n(&real, fn, __ATOMIC_RELEASE);
    }
    return fn;
}

enum MHD_Result gw_mhd_queue(struct MHD_Connection *conn, unsigned status,
                             struct MHD_Response *resp)
{
    s_own = true;
    enum MHD_Result ret = s_real_queue()(conn, status, resp);
    s_own = false;
    return ret;
}

static s_conn_t *s_conn(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* libmicrohttpd's own statuses, each with the error the client reads. */
static int s_error_of(unsigned status, const char **msg)
{
    switch (status) {
    case MHD_HTTP_BAD_REQUEST:
        *msg = "the HTTP request is malformed (request line, header, Content-Length or "
               "chunked encoding)";
        return PM_ERR_BAD_REQUEST;
    case MHD_HTTP_URI_TOO_LONG:
        *msg = "the request line is too long";
        return PM_ERR_URI_TOO_LONG;
    case MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE:
        *msg = "the request headers are too large";
        return PM_ERR_HEADERS_TOO_LARGE;
    case 413: /* a chunk over the size libmicrohttpd takes */
        *msg = "the request body or one of its chunks is too large";
        return PM_ERR_TOO_LARGE;
    default:
        *msg = status >= 500 ? "the HTTP server failed to read the request"
                             : "the HTTP request cannot be served";
        return status >= 500 ? PM_ERR_INTERNAL : PM_ERR_BAD_REQUEST;
    }
}

enum MHD_Result gw_mhd_queue_any(struct MHD_Connection *connection, unsigned int status_code,
                                 struct MHD_Response *response)
{
    if (s_own)
        return s_real_queue()(connection, status_code, response);
    const char *msg;
    int err = s_error_of(status_code, &msg);
    const s_conn_t *c = s_conn(connection);
    gw_response_t r = {0};
    /* The path's family, matched here (a rare path), not for every request. */
    if (gw_json_error_as(c ? gw_mhd_errors_for(c->path) : GW_ERRORS_CORE, err, msg, &r) != 0)
        return s_real_queue()(connection, status_code, response); /* out of memory */
    struct MHD_Response *json =
        MHD_create_response_from_buffer(r.len, r.json, MHD_RESPMEM_MUST_FREE);
    if (!json) {
        gw_response_clear(&r);
        return s_real_queue()(connection, status_code, response);
    }
    MHD_add_response_header(json, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    gw_metrics_observe(NULL, (int)status_code, 0);
    pm_debug("answered %u to a request libmicrohttpd refused", status_code);
    enum MHD_Result ret = s_real_queue()(connection, status_code, json);
    MHD_destroy_response(json); /* queued: libmicrohttpd holds its own reference */
    return ret;
}

void gw_mhd_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls, (void)conn;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(s_conn_t)); /* NULL: core-shaped errors */
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
    }
}

void *gw_mhd_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    s_conn_t *c = s_conn(conn);
    if (c && uri) {
        size_t n = strcspn(uri, "?#");
        n = n < sizeof c->path ? n : 0; /* too long: the core shape */
        memcpy(c->path, uri, n);
        c->path[n] = '\0';
        c->path_refused = gw_mhd_raw_path_refused(uri);
    }
    return NULL;
}

bool gw_mhd_path_refused(struct MHD_Connection *conn)
{
    const s_conn_t *c = s_conn(conn);
    return c && c->path_refused;
}

static int s_hex(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

bool gw_mhd_raw_path_refused(const char *target)
{
    assert(target);
    for (const char *p = target; *p && *p != '?' && *p != '#'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch == 0x7f)
            return true;
        if (ch != '%')
            continue;
        int hi = s_hex(p[1]), lo = hi < 0 ? -1 : s_hex(p[2]);
        if (hi < 0 || lo < 0)
            return true; /* "%", "%G1": not an escape */
        int v = hi * 16 + lo;
        if (v < 0x20 || v == 0x7f || v == '/' || v == '\\')
            return true;
        p += 2;
    }
    return false;
}

gw_errors_t gw_mhd_errors_for(const char *target)
{
    assert(target);
    char path[S_PATH_MAX];
    size_t n = strcspn(target, "?#");
    if (n == 0 || n >= sizeof path)
        return GW_ERRORS_CORE;
    memcpy(path, target, n);
    path[n] = '\0';
    gw_match_t m;
    gw_route_result_t rr = gw_route_match(gw_routes, gw_route_count, "", path, &m);
    return rr == GW_ROUTE_NO_PATH ? GW_ERRORS_CORE : m.errors;
}
