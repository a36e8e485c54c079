/*  gw_http: libmicrohttpd callbacks, the per-request state machine, and the
 *  suspend/resume hand-off to the core link.
 *
 *  A request moves READ -> (WAIT_AUTH | WAIT_CORE) -> DONE. MHD calls the
 *  access handler once with the headers, once per body chunk, once when the
 *  body is complete, and once more after each resume.
 *
 *  Suspend/resume rules (libmicrohttpd): suspend only from the access
 *  handler; resume only a suspended connection (from any thread); no
 *  suspended connection may remain when MHD_stop_daemon runs. So the handler
 *  suspends *before* handing the call to the link (the link can then resume
 *  at any moment after), every suspended request is counted in `suspended`
 *  (decremented after its resume), and stop drains the link and waits for
 *  that count to reach zero. A handler checks `stopping` after counting
 *  itself, so none can slip in behind the wait. A resume only asks MHD to
 *  run the handler again, so stop then also waits (bounded) for requests in
 *  progress to complete, so that their 503s reach the clients before
 *  MHD_stop_daemon closes every connection. */
#include "gw_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "gw_json.h"
#include "gw_route.h"
#include "pm_err.h"
#include "pm_ids.h"
#include "pm_log.h"

/* Per-connection memory pool of libmicrohttpd: holds the request line and
 * headers (so it bounds their size) and the read/write buffers. Bodies are
 * kept outside it, bounded by max_body_bytes. */
#define S_CONN_MEMORY_BYTES (32 * 1024)

/* How long stop waits for requests in progress to be answered. */
#define S_STOP_GRACE_MS 2000

struct gw_http_t {
    gw_http_config_t cfg;
    char *host;      /* our copy of cfg.host */
    gw_link_t *link; /* borrowed */
    struct MHD_Daemon *daemon;
    atomic_int suspended; /* requests handed to the link, not yet resumed */
    atomic_int active;    /* requests begun and not completed */
    atomic_bool stopping;
};

typedef enum { S_READ, S_WAIT_AUTH, S_WAIT_CORE, S_DONE } s_state_t;

typedef struct {
    gw_http_t *http;
    struct MHD_Connection *conn;
    s_state_t state;
    const gw_route_t *route;
    char *id; /* captured {id} of the path, or NULL */
    size_t id_len;
    char trace_id[PM_UUID_LEN + 1];
    bool has_auth;
    uint8_t auth[PM_AUTH_LEN];
    char *body; /* accumulated request body */
    size_t body_len, body_cap;
    bool too_large;   /* body passed max_body_bytes: discarding */
    gw_build_t build; /* message for payment-core, or our own 4xx */
    gw_call_t call;
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

static enum MHD_Result s_respond(s_req_t *req, gw_response_t *r, const char *allow)
{
    req->state = S_DONE;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->len, r->json, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        gw_response_clear(r);
        return MHD_NO;
    }
    r->json = NULL; /* the response owns it now */
    r->len = 0;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, "X-Request-Id", req->trace_id);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(req->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* An error in the shape of the request's route (core shape before routing). */
static enum MHD_Result s_error(s_req_t *req, int err, const char *msg, const char *allow)
{
    if (pm_err_http_status(err) >= 500)
        pm_warn("request failed with %s: %s, trace %s", pm_err_code(err), msg, req->trace_id);
    gw_response_t r = {0};
    gw_errors_t errors = req->route ? req->route->errors : GW_ERRORS_CORE;
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

/* Runs on the link thread. After the resume the request may be freed at any
 * moment by an MHD thread, so nothing of it is touched afterwards. */
static void s_on_call_done(gw_call_t *call)
{
    s_req_t *req = call->arg;
    gw_http_t *self = req->http;
    MHD_resume_connection(req->conn);
    atomic_fetch_sub(&self->suspended, 1);
}

static enum MHD_Result s_submit(s_req_t *req, s_state_t state, uint32_t type, const void *body,
                                size_t body_len)
{
    gw_http_t *self = req->http;
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

    atomic_fetch_add(&self->suspended, 1);
    if (atomic_load(&self->stopping)) {
        atomic_fetch_sub(&self->suspended, 1);
        return s_error(req, PM_ERR_UNAVAILABLE, "api-gateway is shutting down", NULL);
    }
    MHD_suspend_connection(req->conn);
    if (gw_link_submit(self->link, call) != 0) {
        call->err = PM_ERR_UNAVAILABLE;
        snprintf(call->msg, sizeof call->msg, "too many requests queued for payment-core");
        MHD_resume_connection(req->conn);
        atomic_fetch_sub(&self->suspended, 1);
    }
    return MHD_YES;
}

/* ---- the request state machine ------------------------------------------ */

/* The API token sent in x_auth_token, X-Auth-Token or "Authorization:
 * Bearer", surrounding blanks trimmed. Every such header is looked at: two
 * that disagree are refused rather than one of them picked. */
typedef struct {
    const char *token; /* borrowed from the connection; NULL: none yet */
    size_t len;
    bool conflict;
} s_token_t;

static enum MHD_Result s_token_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    s_token_t *t = cls;
    if (!key || !value)
        return MHD_YES;
    if (strcasecmp(key, "x_auth_token") != 0 && strcasecmp(key, "X-Auth-Token") != 0) {
        if (strcasecmp(key, "Authorization") != 0 || strncasecmp(value, "Bearer ", 7) != 0)
            return MHD_YES;
        value += 7;
    }
    while (*value == ' ' || *value == '\t')
        value++;
    size_t len = strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len == 0)
        return MHD_YES;
    if (t->token && (t->len != len || memcmp(t->token, value, len) != 0))
        t->conflict = true;
    t->token = value;
    t->len = len;
    return MHD_YES;
}

/* First call: route, early limits, token. Answers at once when it can. */
static enum MHD_Result s_begin(s_req_t *req, const char *url, const char *method)
{
    gw_http_t *self = req->http;
    gw_match_t m;
    gw_route_result_t rr = gw_route_match(gw_routes, gw_route_count, method, url, &m);
    char msg[GW_MSG_MAX + 128], m_clip[24], u_clip[140];
    gw_text_clip(m_clip, sizeof m_clip, method, strlen(method), 16);
    gw_text_clip(u_clip, sizeof u_clip, url, strlen(url), 128);
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
    if (m.id) {
        req->id = strndup(m.id, m.id_len);
        if (!req->id)
            return MHD_NO;
        req->id_len = m.id_len;
    }

    const char *cl =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > self->cfg.max_body_bytes) {
        snprintf(msg, sizeof msg, "request body is larger than %zu bytes",
                 self->cfg.max_body_bytes);
        return s_error(req, PM_ERR_TOO_LARGE, msg, NULL);
    }

    s_token_t tok = {NULL, 0, false};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, s_token_header, &tok);
    if (!tok.token)
        return s_error(req, PM_ERR_UNAUTHORIZED,
                       "missing API token: send it in the x_auth_token header", NULL);
    if (tok.conflict)
        return s_error(req, PM_ERR_UNAUTHORIZED, "conflicting API tokens in the request headers",
                       NULL);
    if (tok.len > PM_TOKEN_MAX)
        return s_error(req, PM_ERR_UNAUTHORIZED, "invalid API token", NULL);
    pm_token_hash(tok.token, tok.len, req->auth);
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

static enum MHD_Result s_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    (void)version;
    s_req_t *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        req->http = cls;
        req->conn = conn;
        atomic_fetch_add(&req->http->active, 1);
        s_trace_id_new(req->trace_id);
        gw_build_init(&req->build);
        *con_cls = req;
        return s_begin(req, url, method);
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

static void s_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    s_req_t *req = *con_cls;
    if (!req)
        return;
    atomic_fetch_sub(&req->http->active, 1);
    gw_build_destroy(&req->build);
    free(req->call.reply);
    free(req->body);
    free(req->id);
    free(req);
    *con_cls = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    pm_logv_line(PM_LOG_WARN, "libmicrohttpd", fmt, ap);
}

/* ---- life cycle ---------------------------------------------------------- */

gw_http_t *gw_http_new(const gw_http_config_t *cfg, gw_link_t *link)
{
    assert(cfg && cfg->host && link && cfg->port > 0 && cfg->port <= 65535 && cfg->threads > 0);
    gw_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->host = strdup(cfg->host);
    self->cfg.host = self->host;
    self->link = link;
    atomic_init(&self->suspended, 0);
    atomic_init(&self->active, 0);
    atomic_init(&self->stopping, false);
    if (!self->host)
        goto fail;

    char port[8];
    snprintf(port, sizeof port, "%d", cfg->port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(cfg->host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        pm_error("cannot resolve http-host %s: %s", cfg->host, gai_strerror(gai));
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* One thread is MHD's internal polling thread, not a pool of one: the
     * pool option goes last and is replaced by the end marker then. */
    enum MHD_OPTION pool = cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END;
    self->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, s_on_request, self, MHD_OPTION_EXTERNAL_LOGGER,
        s_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)S_CONN_MEMORY_BYTES, MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, self, pool,
        (unsigned)cfg->threads, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!self->daemon) {
        pm_error("cannot listen on http://%s:%d", cfg->host, cfg->port);
        goto fail;
    }
    return self;
fail:
    free(self->host);
    free(self);
    return NULL;
}

void gw_http_stop(gw_http_t *self)
{
    assert(self);
    if (!self->daemon)
        return;
    MHD_socket listen_fd = MHD_quiesce_daemon(self->daemon);
    atomic_store(&self->stopping, true);
    gw_link_drain(self->link);
    /* The link now ends every call at once; wait for the resumes (a must),
     * then a little for the answers to be sent (a courtesy). */
    struct timespec ms = {0, 1000000};
    while (atomic_load(&self->suspended) > 0)
        nanosleep(&ms, NULL);
    for (int waited = 0; atomic_load(&self->active) > 0 && waited < S_STOP_GRACE_MS; waited++)
        nanosleep(&ms, NULL);
    if (atomic_load(&self->active) > 0)
        pm_warn("stopping with %d requests unanswered", atomic_load(&self->active));
    MHD_stop_daemon(self->daemon);
    self->daemon = NULL;
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
}

void gw_http_destroy(gw_http_t **self_p)
{
    assert(self_p);
    gw_http_t *self = *self_p;
    if (!self)
        return;
    gw_http_stop(self);
    free(self->host);
    free(self);
    *self_p = NULL;
}
