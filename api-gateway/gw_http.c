/*  gw_http: libmicrohttpd callbacks, the per-request state machine, and the
 *  event loops that run them beside the core link.
 *
 *  A request moves READ -> (WAIT_AUTH | WAIT_CORE) -> DONE. MHD calls the
 *  access handler once with the headers, once per body chunk, once when the
 *  body is complete, and once more after each resume.
 *
 *  Threads: `threads` event loops, each a thread that owns one MHD daemon in
 *  external-poll epoll mode (all daemons share one listening socket, the way
 *  MHD's own thread pool does) and one gw_link to payment-core. A loop polls
 *  MHD's epoll descriptor and the link's DEALER together: a request's
 *  message leaves on the loop's own DEALER, the connection is suspended, and
 *  the reply, taken by the same loop, resumes it; MHD_run then renders and
 *  sends the answer. A request is never handed to another thread, so there
 *  is no lock and no wake-up between threads on the way (ZeroMQ's I/O thread
 *  aside).
 *
 *  Suspend/resume rules (libmicrohttpd): suspend only from the access
 *  handler; resume only a suspended connection; none may remain suspended
 *  when MHD_stop_daemon runs. The handler submits the call first and
 *  suspends only when the link took it (the reply cannot arrive before the
 *  loop polls again); the link's done callback resumes. To stop, a loop stops
 *  accepting, drains its link (every call waiting on payment-core ends with
 *  503 and resumes its connection, and later ones are refused at once), keeps
 *  running until the requests in progress are answered (bounded by
 *  S_STOP_GRACE_MS), then stops its daemon.
 *
 *  Reconnects: each loop's DEALER finds a restarted payment-core on its own
 *  timer (pm_sock: 100 ms, then every 250 ms), so one loop may still be
 *  unconnected while another already has its answers. Each loop publishes
 *  (atomics, nothing else is shared) when its link last got a reply and
 *  when it last found payment-core unreachable. A request whose submit is
 *  refused for want of a connection while another loop's link serves
 *  (its last reply is newer than its last refusal, and recent) is parked
 *  instead of answered 503: it stays suspended on its own loop, which tries
 *  the submit again every S_PARK_POLL_MS until its link connects or
 *  S_PARK_MS pass (then the 503). While payment-core is really down every
 *  loop finds it unreachable, nothing is parked, and 503 comes at once. */
#include "gw_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw_admin.h"
#include "gw_json.h"
#include "gw_metrics.h"
#include "gw_mhd.h"
#include "gw_ratelimit.h"
#include "gw_route.h"
#include "pm_err.h"
#include "pm_ids.h"
#include "pm_log.h"
#include "pm_time.h"

/* Per-connection memory pool of libmicrohttpd: holds the request line and
 * headers (so it bounds their size) and the read/write buffers. Bodies are
 * kept outside it, bounded by max_body_bytes. */
#define S_CONN_MEMORY_BYTES (16 * 1024)

/* How long stop waits for requests in progress to be answered. */
#define S_STOP_GRACE_MS 2000

/* Idle request records a loop keeps for reuse, with their buffers up to
 * S_KEEP_BYTES each: a request in steady state allocates nothing of its
 * own but its reply. */
#define S_POOL_MAX 256
#define S_KEEP_BYTES (16 * 1024)

/* Longest poll of a loop: MHD's idle timeouts are checked at least this
 * often (a stop wakes the loops at once through stop_fd). */
#define S_POLL_MAX_MS 500

/* A request refused for want of a connection while another loop serves
 * waits this long at most for its own link to connect (the reconnect
 * interval is at most 250 ms), trying again this often; "serves" means a
 * reply within S_PEER_FRESH_MS. */
#define S_PARK_MS 400
#define S_PARK_POLL_MS 5
#define S_PEER_FRESH_MS 2000

/* One event loop: a thread, its MHD daemon and its link. Every field but
 * `thread` is touched only by the loop's thread once it runs. */
typedef struct {
    gw_http_t *http;
    int index;
    struct MHD_Daemon *daemon;
    gw_link_t *link;
    pthread_t thread;
    bool started;
    int active;           /* requests begun and not completed */
    struct s_req_t *pool; /* idle request records */
    int pool_len;
    struct s_req_t *parked, *parked_tail; /* waiting for the link to connect */
    /* Written by the loop's thread, read by the others (see the top). */
    _Atomic int64_t last_reply_mono;   /* the link last got a reply */
    _Atomic int64_t last_refused_mono; /* the link last found no connection */
} s_loop_t;

struct gw_http_t {
    gw_http_config_t cfg;
    gw_link_config_t link_cfg;
    char *host;     /* our copy of cfg.host */
    char *endpoint; /* our copy of link_cfg.endpoint */
    int listen_fd;
    int stop_fd; /* eventfd: written once at stop, wakes every loop */
    atomic_bool stopping;
    int n_loops;
    s_loop_t *loops;
    gw_ratelimit_t *auth_fail; /* failed authentications per address; NULL: off */
};

typedef enum { S_READ, S_WAIT_AUTH, S_WAIT_CORE, S_DONE } s_state_t;

typedef struct s_req_t {
    struct s_req_t *next_idle;   /* in the loop's pool */
    struct s_req_t *next_parked; /* in the loop's parked list */
    int64_t park_until;          /* pm_mono_ms: then 503 */
    gw_http_t *http;
    s_loop_t *loop;
    struct MHD_Connection *conn;
    s_state_t state;
    const gw_route_t *route;
    char *id; /* captured {id} of the path (id_buf or malloc'd), or NULL */
    size_t id_len;
    char id_buf[64];
    char trace_id[PM_UUID_LEN + 1];
    bool has_auth;
    uint8_t auth[PM_AUTH_LEN];
    char *body; /* accumulated request body */
    size_t body_len, body_cap;
    bool too_large;   /* body passed max_body_bytes: discarding */
    gw_build_t build; /* message for payment-core, or our own 4xx */
    gw_call_t call;
    int64_t start_us;      /* pm_mono_us at the first call of the handler (gw_metrics) */
    int64_t retry_after_s; /* > 0: a 429's Retry-After */
    gw_errors_t errors;    /* error shape before (or without) a route: the path's */
} s_req_t;

static const uint8_t s_empty_map[] = {0x80}; /* msgpack {} */

/* ---- trace ids -------------------------------------------------------- */

/* A request's trace id: a version-4 UUID from a per-thread generator
 * (SplitMix64, seeded once per thread from libsodium). Trace ids only need
 * to be unique in the logs, not unpredictable, and libuuid's
 * uuid_generate_random costs several system calls per id. */
static void s_trace_id_new(char out[PM_UUID_LEN + 1])
{
    static _Thread_local uint64_t state;
    static _Thread_local bool seeded;
    if (!seeded) {
        randombytes_buf(&state, sizeof state);
        seeded = true;
    }
    uint8_t b[16];
    for (int half = 0; half < 2; half++) {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        for (int i = 0; i < 8; i++)
            b[half * 8 + i] = (uint8_t)(z >> (8 * i));
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 0x0f];
    }
    *o = '\0';
}

/* ---- responses ------------------------------------------------------- */

/* The client address's key in the failed-authentication table; 0: none. */
static size_t s_client_key(const s_req_t *req, uint8_t key[GW_RL_KEY_MAX])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return ci ? gw_ratelimit_key(ci->client_addr, key) : 0;
}

static enum MHD_Result s_respond(s_req_t *req, gw_response_t *r, const char *allow)
{
    req->state = S_DONE;
    if (r->status == 401 && req->http->auth_fail) { /* missing, unknown or revoked token */
        uint8_t key[GW_RL_KEY_MAX];
        size_t key_len = s_client_key(req, key);
        if (gw_ratelimit_fail(req->http->auth_fail, key, key_len, pm_mono_ms()) > 0)
            pm_warn("too many failed authentications from one address: blocked for %d s",
                    req->http->cfg.auth_fail_window_s);
    }
    /* The route's pattern, not the path: no ids or tokens in the line. */
    pm_debug("answered %d to %s %s", r->status, req->route ? req->route->method : "a request",
             req->route ? req->route->pattern : "without a route");
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->len, r->json, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        gw_response_clear(r);
        return MHD_NO;
    }
    r->json = NULL; /* the response owns it now */
    r->len = 0;
    gw_metrics_observe(req->route, r->status, pm_mono_us() - req->start_us);
    const char *ctype = gw_admin_content_type(req->route);
    if (!ctype) /* the metrics text is a 200's body; its errors are JSON */
        ctype = r->status == 200 ? gw_metrics_content_type(req->route) : "application/json";
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    for (const char *const *h = gw_admin_headers(req->route); h && h[0]; h += 2)
        MHD_add_response_header(resp, h[0], h[1]);
    MHD_add_response_header(resp, "X-Request-Id", req->trace_id);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (req->retry_after_s > 0) {
        char secs[24];
        snprintf(secs, sizeof secs, "%lld", (long long)req->retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    enum MHD_Result ret = gw_mhd_queue(req->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static gw_input_t s_input(const s_req_t *req);

/* An error in the shape of the request's route (core shape before routing). */
static enum MHD_Result s_error(s_req_t *req, int err, const char *msg, const char *allow)
{
    if (pm_err_http_status(err) >= 500)
        pm_warn("request failed with %s: %s, trace %s", pm_err_code(err), msg, req->trace_id);
    gw_response_t r = {0};
    if (err == PM_ERR_UNAVAILABLE && gw_metrics_public(req->route)) { /* core unreachable */
        gw_input_t in = s_input(req);
        if (req->route->render_req(&in, NULL, &r) == 0)
            return s_respond(req, &r, NULL);
    }
    gw_errors_t errors = req->route ? req->route->errors : req->errors;
    if (gw_json_error_as(errors, err, msg, &r) != 0)
        return MHD_NO;
    return s_respond(req, &r, allow);
}

/* Header and query lookups of gw_input_t, on the MHD connection. */
static const char *s_lookup_header(const void *ctx, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)ctx, MHD_HEADER_KIND, name);
}

static const char *s_lookup_query(const void *ctx, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)ctx, MHD_GET_ARGUMENT_KIND, name);
}

/* What the route's build and render functions see of the request. */
static gw_input_t s_input(const s_req_t *req)
{
    gw_input_t in = {
        .id = req->id,
        .id_len = req->id_len,
        .body = req->body,
        .body_len = req->body_len,
        .max_amount_minor = req->http->cfg.max_amount_minor,
        .header = s_lookup_header,
        .query = s_lookup_query,
        .lookup_ctx = req->conn,
    };
    return in;
}

/* Renders payment-core's reply; with_route false: errors only (the answer to
 * PM_MSG_AUTH), still in the route's shape. */
static enum MHD_Result s_render(s_req_t *req, bool with_route)
{
    gw_response_t r = {0};
    gw_input_t in = s_input(req);
    gw_route_t errors_only = {.errors = req->route ? req->route->errors : GW_ERRORS_CORE};
    const gw_route_t *route = with_route ? req->route : &errors_only;
    if (gw_reply_render_route(route, &in, req->call.reply, req->call.reply_len, &r) != 0)
        return MHD_NO;
    if (r.status >= 500)
        pm_warn("payment-core answered %d, trace %s", r.status, req->trace_id);
    return s_respond(req, &r, NULL);
}

/* ---- hand-off to the core link ---------------------------------------- */

/* Runs on the loop's thread, from gw_link_process, gw_link_expire or
 * gw_link_drain. The answer is rendered when MHD runs the handler again. */
static void s_on_call_done(gw_call_t *call)
{
    s_req_t *req = call->arg;
    if (call->err == PM_OK)
        atomic_store_explicit(&req->loop->last_reply_mono, pm_mono_ms(), memory_order_relaxed);
    MHD_resume_connection(req->conn);
}

/* True when another loop's link serves: its last reply is recent and newer
 * than its last "unreachable". */
static bool s_peer_serves(const s_loop_t *loop, int64_t now)
{
    const gw_http_t *self = loop->http;
    for (int i = 0; i < self->n_loops; i++) {
        const s_loop_t *o = &self->loops[i];
        if (o == loop)
            continue;
        int64_t ok = atomic_load_explicit(&o->last_reply_mono, memory_order_relaxed);
        int64_t down = atomic_load_explicit(&o->last_refused_mono, memory_order_relaxed);
        if (ok > down && now - ok <= S_PEER_FRESH_MS)
            return true;
    }
    return false;
}

/* After a refused submit: parks the request (true) when the refusal was
 * only this link's missing connection while another loop serves. */
static bool s_park(s_req_t *req)
{
    s_loop_t *loop = req->loop;
    if (!gw_link_unreachable(loop->link))
        return false;
    int64_t now = pm_mono_ms();
    atomic_store_explicit(&loop->last_refused_mono, now, memory_order_relaxed);
    if (atomic_load(&req->http->stopping) || !s_peer_serves(loop, now))
        return false;
    int64_t wait =
        req->http->link_cfg.timeout_ms < S_PARK_MS ? req->http->link_cfg.timeout_ms : S_PARK_MS;
    req->park_until = now + wait;
    req->next_parked = NULL;
    if (loop->parked_tail)
        loop->parked_tail->next_parked = req;
    else
        loop->parked = req;
    loop->parked_tail = req;
    return true;
}

/* Submits the parked requests again, oldest first: one the link takes
 * waits for its reply as usual; one whose time is up (or every one, when
 * the loop stops) resumes with the refusal's 503. All park for the same
 * time, so the list is in deadline order. */
static void s_retry_parked(s_loop_t *loop, bool stopping)
{
    int64_t now = pm_mono_ms();
    while (loop->parked) {
        s_req_t *req = loop->parked;
        bool taken = !stopping && gw_link_submit(loop->link, &req->call) == 0;
        if (!taken && !stopping && gw_link_unreachable(loop->link) && now < req->park_until)
            break;
        loop->parked = req->next_parked;
        if (!loop->parked)
            loop->parked_tail = NULL;
        req->next_parked = NULL;
        if (!taken) {
            if (stopping) {
                req->call.err = PM_ERR_UNAVAILABLE;
                snprintf(req->call.msg, sizeof req->call.msg, "api-gateway is shutting down");
            }
            MHD_resume_connection(req->conn);
        }
    }
}

static enum MHD_Result s_submit(s_req_t *req, s_state_t state, uint32_t type, const void *body,
                                size_t body_len)
{
    gw_call_t *call = &req->call;
    call->type = type;
    call->has_auth = req->has_auth;
    memcpy(call->auth, req->auth, PM_AUTH_LEN);
    memcpy(call->trace_id, req->trace_id, sizeof req->trace_id);
    call->body = body;
    call->body_len = body_len;
    call->done = s_on_call_done;
    call->arg = req;
    req->state = state;
    if (gw_link_submit(req->loop->link, call) != 0 && !s_park(req))
        return s_error(req, call->err, call->msg, NULL);
    MHD_suspend_connection(req->conn);
    return MHD_YES;
}

/* ---- the request state machine ------------------------------------------ */

const char *gw_http_header_token(const char *key, const char *value, size_t *len)
{
    assert(len);
    *len = 0;
    if (!key || !value)
        return NULL;
    if (strcasecmp(key, "x_auth_token") != 0 && strcasecmp(key, "X-Auth-Token") != 0) {
        if (strcasecmp(key, "Authorization") != 0)
            return NULL;
        /* RFC 9110: the scheme is case-insensitive. "Token" is Django REST
         * Framework's TokenAuthentication, the form the seeds' own APIs use. */
        if (strncasecmp(value, "Bearer ", 7) == 0)
            value += 7;
        else if (strncasecmp(value, "Token ", 6) == 0)
            value += 6;
        else
            return NULL;
    }
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (n == 0)
        return NULL;
    *len = n;
    return value;
}

/* The API token sent in x_auth_token, X-Auth-Token or "Authorization:
 * Bearer" / "Authorization: Token" (gw_http_header_token). Every such header
 * is looked at: two that disagree are refused rather than one of them
 * picked. */
typedef struct {
    const char *token; /* borrowed from the connection; NULL: none yet */
    size_t len;
    bool conflict;
    bool blank_name; /* a header name holds a blank ("Host : x") */
} s_head_t;

/* One walk over the request's headers: its token, and what RFC 9112 says
 * is a 400 (a blank before a header's colon). */
static enum MHD_Result s_head_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    s_head_t *t = cls;
    if (strpbrk(key, " \t"))
        t->blank_name = true;
    size_t len;
    const char *token = gw_http_header_token(key, value, &len);
    if (!token)
        return MHD_YES;
    if (t->token && (t->len != len || memcmp(t->token, token, len) != 0))
        t->conflict = true;
    t->token = token;
    t->len = len;
    return MHD_YES;
}

/* What RFC 9112 refuses that libmicrohttpd lets through: an HTTP/1.1
 * request without Host, a blank before a header's colon. NULL when fine. */
static const char *s_head_refused(struct MHD_Connection *conn, const char *version,
                                  const s_head_t *head)
{
    if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
        return "an HTTP/1.1 request needs a Host header";
    return head->blank_name ? "a header name holds a blank (nothing may stand before its colon)"
                            : NULL;
}

/* First call: route, early limits, token. Answers at once when it can. */
static enum MHD_Result s_begin(s_req_t *req, const char *url, const char *method,
                               const char *version)
{
    gw_http_t *self = req->http;
    gw_match_t m;
    gw_route_result_t rr = gw_route_match(gw_routes, gw_route_count, method, url, &m);
    char msg[GW_MSG_MAX + 128], m_clip[24], u_clip[140];
    gw_text_clip(m_clip, sizeof m_clip, method, strlen(method), 16);
    gw_text_clip(u_clip, sizeof u_clip, url, strlen(url), 128);
    req->errors = m.errors;
    s_head_t head = {NULL, 0, false, false};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, s_head_header, &head);
    const char *refused = s_head_refused(req->conn, version, &head);
    if (refused)
        return s_error(req, PM_ERR_BAD_REQUEST, refused, NULL);
    if (rr == GW_ROUTE_OK && gw_admin_hidden(m.route))
        rr = GW_ROUTE_NO_PATH; /* the admin page is off: as if no row had it */
    if (gw_mhd_path_refused(req->conn)) {
        snprintf(msg, sizeof msg,
                 "no route for %s %s: the path holds an encoded '/', '\\', NUL or control "
                 "character",
                 m_clip, u_clip);
        return s_error(req, PM_ERR_NOT_FOUND, msg, NULL);
    }
    if (rr == GW_ROUTE_NO_PATH) {
        snprintf(msg, sizeof msg, "no route for %s %s", m_clip, u_clip);
        return s_error(req, PM_ERR_NOT_FOUND, msg, NULL);
    }
    if (rr == GW_ROUTE_NO_METHOD) {
        snprintf(msg, sizeof msg, "method %s is not allowed for %s (allowed: %s)", m_clip, u_clip,
                 m.allow);
        return s_error(req, PM_ERR_METHOD, msg, m.allow);
    }
    req->route = m.route;
    if (!m.route->build) { /* answered by the gateway alone: no token, no core */
        gw_response_t r = {0};
        gw_input_t in = s_input(req);
        if (!m.route->render_req || m.route->render_req(&in, NULL, &r) != 0)
            return s_error(req, PM_ERR_INTERNAL, "cannot render the answer", NULL);
        return s_respond(req, &r, NULL);
    }
    if (m.id) {
        req->id = m.id_len < sizeof req->id_buf ? req->id_buf : malloc(m.id_len + 1);
        if (!req->id)
            return MHD_NO;
        memcpy(req->id, m.id, m.id_len);
        req->id[m.id_len] = '\0';
        req->id_len = m.id_len;
    }

    const char *cl =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > self->cfg.max_body_bytes) {
        snprintf(msg, sizeof msg, "request body is larger than %zu bytes",
                 self->cfg.max_body_bytes);
        return s_error(req, PM_ERR_TOO_LARGE, msg, NULL);
    }

    if (gw_metrics_public(m.route)) { /* /readyz, /metrics: no token */
        req->state = S_READ;
        return MHD_YES;
    }
    if (self->auth_fail) { /* blocked: 429 whatever the token, payment-core not asked */
        uint8_t key[GW_RL_KEY_MAX];
        size_t key_len = s_client_key(req, key);
        int64_t left = gw_ratelimit_blocked(self->auth_fail, key, key_len, pm_mono_ms());
        if (left > 0) {
            req->retry_after_s = (left + 999) / 1000;
            snprintf(msg, sizeof msg,
                     "too many failed authentications from this address: try again in %lld s",
                     (long long)req->retry_after_s);
            return s_error(req, PM_ERR_RATE_LIMITED, msg, NULL);
        }
    }
    if (!head.token)
        return s_error(req, PM_ERR_UNAUTHORIZED,
                       "missing API token: send it in the x_auth_token header", NULL);
    if (head.conflict)
        return s_error(req, PM_ERR_UNAUTHORIZED, "conflicting API tokens in the request headers",
                       NULL);
    if (head.len > PM_TOKEN_MAX)
        return s_error(req, PM_ERR_UNAUTHORIZED, "invalid API token", NULL);
    pm_token_hash(head.token, head.len, req->auth);
    req->has_auth = true;
    req->state = S_READ;
    return MHD_YES;
}

/* A body chunk: kept while within the limit, discarded after. */
static enum MHD_Result s_append(s_req_t *req, const char *data, size_t size)
{
    size_t max = req->http->cfg.max_body_bytes;
    if (req->too_large)
        return MHD_YES;
    if (size > max - req->body_len) {
        req->too_large = true;
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return MHD_YES;
    }
    if (req->body_len + size > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 1024;
        while (cap < req->body_len + size)
            cap *= 2;
        if (cap > max)
            cap = max;
        char *grown = realloc(req->body, cap);
        if (!grown)
            return MHD_NO;
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, size);
    req->body_len += size;
    return MHD_YES;
}

/* Body complete: build the core message, or check the token before
 * answering our own 4xx. */
static enum MHD_Result s_dispatch(s_req_t *req)
{
    gw_http_t *self = req->http;
    if (req->too_large) {
        char msg[GW_MSG_MAX];
        snprintf(msg, sizeof msg, "request body is larger than %zu bytes",
                 self->cfg.max_body_bytes);
        return s_error(req, PM_ERR_TOO_LARGE, msg, NULL);
    }
    gw_input_t in = s_input(req);
    if (req->route->build(&in, &req->build) == 0)
        return s_submit(req, S_WAIT_CORE, req->build.type, req->build.body.data,
                        req->build.body.size);
    if (pm_err_http_status(req->build.err) >= 500)
        return s_error(req, req->build.err, req->build.msg, NULL);
    return s_submit(req, S_WAIT_AUTH, PM_MSG_AUTH, s_empty_map, sizeof s_empty_map);
}

/* Resumed after PM_MSG_AUTH: a valid token gets our own 4xx, anything else
 * payment-core's answer (401) or the link's (503). */
static enum MHD_Result s_after_auth(s_req_t *req)
{
    if (req->call.err != PM_OK)
        return s_error(req, req->call.err, req->call.msg, NULL);
    if (gw_reply_err(req->call.reply, req->call.reply_len) == PM_OK)
        return s_error(req, req->build.err, req->build.msg, NULL);
    return s_render(req, false);
}

static enum MHD_Result s_after_core(s_req_t *req)
{
    if (req->call.err != PM_OK)
        return s_error(req, req->call.err, req->call.msg, NULL);
    return s_render(req, true);
}

/* A request record from the loop's pool (its body and message buffers kept
 * from the last use), or a new one. */
static s_req_t *s_req_get(s_loop_t *loop)
{
    s_req_t *req = loop->pool;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (req)
            gw_build_init(&req->build);
        return req;
    }
    loop->pool = req->next_idle;
    loop->pool_len--;
    char *body = req->body;
    size_t body_cap = req->body_cap;
    msgpack_sbuffer msg = req->build.body;
    memset(req, 0, sizeof *req);
    gw_build_init(&req->build);
    req->body = body;
    req->body_cap = body_cap;
    req->build.body = msg;
    req->build.body.size = 0;
    return req;
}

/* Back to the pool, or freed when the pool is full. */
static void s_req_put(s_loop_t *loop, s_req_t *req)
{
    free(req->call.reply);
    req->call.reply = NULL;
    if (req->id != req->id_buf)
        free(req->id);
    req->id = NULL;
    if (req->body_cap > S_KEEP_BYTES) {
        free(req->body);
        req->body = NULL;
        req->body_cap = 0;
    }
    if (req->build.body.alloc > S_KEEP_BYTES)
        gw_build_destroy(&req->build);
    if (loop->pool_len >= S_POOL_MAX) {
        gw_build_destroy(&req->build);
        free(req->body);
        free(req);
        return;
    }
    req->next_idle = loop->pool;
    loop->pool = req;
    loop->pool_len++;
}

static void s_pool_free(s_loop_t *loop)
{
    while (loop->pool) {
        s_req_t *req = loop->pool;
        loop->pool = req->next_idle;
        gw_build_destroy(&req->build);
        free(req->body);
        free(req);
    }
    loop->pool_len = 0;
}

/* One call of the MHD handler, with the thread's log trace set to the
 * request's (s_on_request clears it). */
static enum MHD_Result s_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    s_req_t *req = *con_cls;
    if (req)
        pm_log_trace_set(req->trace_id);
    if (!req) {
        s_loop_t *loop = cls;
        req = s_req_get(loop);
        if (!req)
            return MHD_NO;
        req->loop = loop;
        req->http = req->loop->http;
        req->conn = conn;
        req->loop->active++;
        s_trace_id_new(req->trace_id);
        req->start_us = pm_mono_us();
        pm_log_trace_set(req->trace_id);
        *con_cls = req;
        return s_begin(req, url, method, version);
    }
    switch (req->state) {
    case S_READ:
        if (*upload_data_size > 0) {
            enum MHD_Result ret = s_append(req, upload_data, *upload_data_size);
            *upload_data_size = 0;
            return ret;
        }
        return s_dispatch(req);
    case S_WAIT_AUTH:
        return s_after_auth(req);
    case S_WAIT_CORE:
        return s_after_core(req);
    case S_DONE:
        break;
    }
    *upload_data_size = 0; /* answered already: discard the rest */
    return MHD_YES;
}

static enum MHD_Result s_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    enum MHD_Result ret =
        s_handle(cls, conn, url, method, version, upload_data, upload_data_size, con_cls);
    pm_log_trace_set(NULL);
    return ret;
}

static void s_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    s_req_t *req = *con_cls;
    if (!req)
        return;
    req->loop->active--;
    s_req_put(req->loop, req);
    *con_cls = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    pm_logv_line(PM_LOG_WARN, "libmicrohttpd", fmt, ap);
}

/* ---- the event loops ------------------------------------------------------ */

static void *s_loop_main(void *arg)
{
    s_loop_t *loop = arg;
    gw_http_t *self = loop->http;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(loop->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    zmq_pollitem_t items[3] = {
        {gw_link_socket(loop->link), 0, ZMQ_POLLIN, 0},
        {NULL, info->epoll_fd, ZMQ_POLLIN, 0},
        {NULL, self->stop_fd, ZMQ_POLLIN, 0},
    };
    int n_items = 3;
    bool draining = false;
    int64_t grace_until = INT64_MAX;
    for (;;) {
        if (!draining && atomic_load(&self->stopping)) {
            draining = true;
            n_items = 2; /* stop_fd stays readable */
            MHD_socket fd = MHD_quiesce_daemon(loop->daemon);
            if (fd != MHD_INVALID_SOCKET)
                close(fd); /* this daemon's duplicate of the listening socket */
            gw_link_drain(loop->link);
            s_retry_parked(loop, true);
            grace_until = pm_mono_ms() + S_STOP_GRACE_MS;
        }
        if (draining) {
            MHD_run(loop->daemon); /* render the 503s of the drained calls */
            if (loop->active == 0)
                break;
            if (pm_mono_ms() >= grace_until) {
                pm_warn("stopping with %d requests unanswered", loop->active);
                break;
            }
        }
        long timeout = draining ? 10 : loop->parked ? S_PARK_POLL_MS : S_POLL_MAX_MS;
        MHD_UNSIGNED_LONG_LONG mhd_ms;
        if (MHD_get_timeout(loop->daemon, &mhd_ms) == MHD_YES && mhd_ms < (uint64_t)timeout)
            timeout = (long)mhd_ms;
        int64_t deadline = gw_link_next_deadline(loop->link);
        if (deadline != INT64_MAX) {
            int64_t left = deadline - pm_mono_ms();
            if (left < timeout)
                timeout = left > 0 ? (long)left : 0;
        }
        if (zmq_poll(items, n_items, timeout) < 0 && zmq_errno() != EINTR) {
            pm_error("event loop %d: poll failed: %s", loop->index, zmq_strerror(zmq_errno()));
            break;
        }
        gw_link_process(loop->link);
        gw_link_expire(loop->link, pm_mono_ms());
        s_retry_parked(loop, draining);
        MHD_run(loop->daemon);
    }
    /* Nothing is suspended now (the link is drained: every call ended, new
     * ones are refused), so the daemon may stop. */
    gw_link_drain(loop->link);
    MHD_stop_daemon(loop->daemon);
    loop->daemon = NULL;
    gw_link_destroy(&loop->link);
    s_pool_free(loop);
    return NULL;
}

/* ---- life cycle ---------------------------------------------------------- */

/* The listening socket all loops share: bound, listening, non-blocking. */
static int s_listen(const gw_http_config_t *cfg, bool *ipv6)
{
    char port[8];
    snprintf(port, sizeof port, "%d", cfg->port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(cfg->host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        pm_error("cannot resolve http-host %s: %s", cfg->host, gai_strerror(gai));
        return -1;
    }
    *ipv6 = ai->ai_family == AF_INET6;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        (*ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        pm_error("cannot listen on http://%s:%d: %s", cfg->host, cfg->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int s_loop_init(gw_http_t *self, s_loop_t *loop, int index, bool ipv6)
{
    loop->http = self;
    loop->index = index;
    atomic_init(&loop->last_reply_mono, 0);
    atomic_init(&loop->last_refused_mono, 0);
    gw_link_config_t link_cfg = self->link_cfg;
    /* The in-flight bound is the gateway's: each loop gets its share. */
    link_cfg.max_inflight = link_cfg.max_inflight / (uint32_t)self->n_loops;
    if (link_cfg.max_inflight < 16)
        link_cfg.max_inflight = 16;
    loop->link = gw_link_new(&link_cfg);
    if (!loop->link)
        return -1;
    int fd = fcntl(self->listen_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        pm_error("cannot duplicate the listening socket: %s", strerror(errno));
        return -1;
    }
    unsigned limit = (unsigned)self->cfg.max_connections / (unsigned)self->n_loops;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ipv6)
        flags |= MHD_USE_IPv6;
    loop->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, s_on_request, loop, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, limit ? limit : 1u,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)self->cfg.connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)S_CONN_MEMORY_BYTES,
        MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, loop, MHD_OPTION_NOTIFY_CONNECTION,
        gw_mhd_on_connection, NULL, MHD_OPTION_URI_LOG_CALLBACK, gw_mhd_on_uri, NULL,
        MHD_OPTION_END);
    if (!loop->daemon) {
        close(fd);
        pm_error("cannot start the HTTP server on http://%s:%d", self->cfg.host, self->cfg.port);
        return -1;
    }
    return 0;
}

gw_http_t *gw_http_new(const gw_http_config_t *cfg, const gw_link_config_t *link_cfg)
{
    assert(cfg && cfg->host && link_cfg && link_cfg->endpoint && cfg->port > 0 &&
           cfg->port <= 65535 && cfg->threads > 0);
    gw_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->link_cfg = *link_cfg;
    self->host = strdup(cfg->host);
    self->endpoint = strdup(link_cfg->endpoint);
    self->cfg.host = self->host;
    self->link_cfg.endpoint = self->endpoint;
    self->listen_fd = self->stop_fd = -1;
    atomic_init(&self->stopping, false);
    self->n_loops = cfg->threads;
    self->loops = calloc((size_t)cfg->threads, sizeof *self->loops);
    if (!self->host || !self->endpoint || !self->loops)
        goto fail;
    if (cfg->auth_fail_limit > 0) {
        self->auth_fail = gw_ratelimit_new(
            cfg->auth_fail_table_entries ? cfg->auth_fail_table_entries : 4096,
            (uint32_t)cfg->auth_fail_limit,
            (int64_t)(cfg->auth_fail_window_s > 0 ? cfg->auth_fail_window_s : 60) * 1000);
        if (!self->auth_fail)
            goto fail;
    }
    self->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->stop_fd < 0) {
        pm_error("eventfd failed: %s", strerror(errno));
        goto fail;
    }
    bool ipv6 = false;
    self->listen_fd = s_listen(&self->cfg, &ipv6);
    if (self->listen_fd < 0)
        goto fail;
    for (int i = 0; i < self->n_loops; i++)
        if (s_loop_init(self, &self->loops[i], i, ipv6) != 0)
            goto fail;
    for (int i = 0; i < self->n_loops; i++) {
        int rc = pthread_create(&self->loops[i].thread, NULL, s_loop_main, &self->loops[i]);
        if (rc != 0) {
            pm_error("cannot start event loop %d: %s", i, strerror(rc));
            goto fail;
        }
        self->loops[i].started = true;
    }
    return self;
fail:
    gw_http_destroy(&self);
    return NULL;
}

void gw_http_stop(gw_http_t *self)
{
    assert(self);
    if (atomic_exchange(&self->stopping, true))
        return;
    uint64_t one = 1;
    if (self->stop_fd >= 0 && write(self->stop_fd, &one, sizeof one) < 0)
        pm_warn("waking the event loops failed: %s", strerror(errno));
    for (int i = 0; i < self->n_loops; i++) {
        s_loop_t *loop = &self->loops[i];
        if (loop->started) {
            pthread_join(loop->thread, NULL);
            loop->started = false;
        }
        /* A loop that never ran: nothing is suspended in its daemon. */
        if (loop->daemon) {
            MHD_stop_daemon(loop->daemon);
            loop->daemon = NULL;
        }
        gw_link_destroy(&loop->link);
        s_pool_free(loop);
    }
    if (self->listen_fd >= 0) {
        close(self->listen_fd);
        self->listen_fd = -1;
    }
}

void gw_http_destroy(gw_http_t **self_p)
{
    assert(self_p);
    gw_http_t *self = *self_p;
    if (!self)
        return;
    if (self->loops)
        gw_http_stop(self);
    if (self->stop_fd >= 0)
        close(self->stop_fd);
    free(self->loops);
    gw_ratelimit_destroy(&self->auth_fail);
    free(self->endpoint);
    free(self->host);
    free(self);
    *self_p = NULL;
}
