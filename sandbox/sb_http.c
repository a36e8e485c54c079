/*  sb_http: libmicrohttpd callbacks and fault application. */
#include "sb_http.h"

#include <assert.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_log.h"
#include "sb_route.h"

/* Per-connection memory pool of libmicrohttpd: bounds request line and
 * headers. Bodies are kept outside it, bounded by max_body_bytes. */
#define S_CONN_MEMORY_BYTES (32 * 1024)

struct sb_http_t {
    sb_http_config_t cfg;
    char *host;
    char listen[SB_HOST_MAX + 16]; /* "host:port", what a request without a Host header sees */
    sb_sandbox_t *sb;              /* borrowed */
    struct MHD_Daemon *daemon;
};

typedef struct {
    char *body; /* NUL-terminated once complete */
    size_t len, cap;
    bool too_large;
    bool answered;
} s_conn_t;

static enum MHD_Result s_send(struct MHD_Connection *conn, s_conn_t *c, sb_resp_t *r)
{
    c->answered = true;
    if (!r->json) {
        sb_resp_clear(r);
        return MHD_NO; /* out of memory */
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->len, r->json, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        sb_resp_clear(r);
        return MHD_NO;
    }
    r->json = NULL; /* the response owns it now */
    if (r->len > 0)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type ? r->content_type : "application/json");
    if (r->location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    unsigned status = (unsigned)r->status;
    sb_resp_clear(r);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result s_append(sb_http_t *self, s_conn_t *c, const char *data, size_t size)
{
    size_t max = self->cfg.max_body_bytes;
    if (c->too_large)
        return MHD_YES;
    if (size > max - c->len) {
        c->too_large = true;
        free(c->body);
        c->body = NULL;
        c->len = c->cap = 0;
        return MHD_YES;
    }
    if (c->len + size + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (cap < c->len + size + 1)
            cap *= 2;
        char *grown = realloc(c->body, cap);
        if (!grown)
            return MHD_NO;
        c->body = grown;
        c->cap = cap;
    }
    memcpy(c->body + c->len, data, size);
    c->len += size;
    c->body[c->len] = '\0';
    return MHD_YES;
}

/* An error of a simulated provider in its own shape: DRF's {"detail"} for
 * BazaarPay, a system error for the banks (RBS errorCode 7, TFEB
 * GEN-00001), {"error", "error_description"} for Cafe Bazaar. */
static void s_provider_error(const char *service, sb_resp_t *resp, int status, const char *error,
                             const char *description)
{
    const char *text = description ? description : error;
    json_object *o = NULL, *inner = NULL;
    if (strcmp(service, "bazaarpay") == 0)
        sb_resp_detail(resp, status, text);
    else if (strcmp(service, "rbs") == 0) {
        if ((o = json_object_new_object()) != NULL) {
            json_object_object_add(o, "errorCode", json_object_new_string("7"));
            json_object_object_add(o, "errorMessage", json_object_new_string(text));
        }
        sb_resp_json(resp, status, &o);
    } else if (strcmp(service, "tfeb") == 0) {
        if ((o = json_object_new_object()) != NULL && (inner = json_object_new_object()) != NULL) {
            json_object_object_add(inner, "operationResult", json_object_new_string("GEN-00001"));
            json_object_object_add(inner, "operationResultDescription",
                                   json_object_new_string(text));
            json_object_object_add(o, "response", inner);
        }
        sb_resp_json(resp, status, &o);
    } else
        sb_resp_error(resp, status, error, description);
}

/* Any query argument of the connection (sb_req_t.query). */
static const char *s_query(void *conn, const char *key)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

/* The Host header when it looks like "host[:port]" (it goes into URLs the
 * sandbox answers), else the listen address. */
static const char *s_host(sb_http_t *self, const char *header)
{
    size_t len = header ? strlen(header) : 0;
    if (len == 0 || len > SB_HOST_MAX ||
        strspn(header, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]") !=
            len)
        return self->listen;
    return header;
}

/* Runs the routed handler, or answers 404/405. */
static void s_route(sb_http_t *self, sb_req_t *req, const char *service, sb_resp_t *resp)
{
    const sb_route_t *route = NULL;
    char msg[400];
    switch (sb_route_find(req->method, req->path, req, &route)) {
    case SB_ROUTE_OK:
        route->handler(self->sb, req, resp);
        return;
    case SB_ROUTE_NO_METHOD:
        if (service && strcmp(service, "bazaarpay") == 0) {
            snprintf(msg, sizeof msg, "Method \"%.16s\" not allowed.", req->method);
            sb_resp_detail(resp, 405, msg);
        } else if (service)
            sb_resp_error(resp, 405, "method_not_allowed", NULL);
        else {
            snprintf(msg, sizeof msg, "method %.16s is not allowed for %.256s", req->method,
                     req->path);
            sb_resp_error(resp, 405, msg, NULL);
        }
        return;
    case SB_ROUTE_NO_PATH:
        if (service && strcmp(service, "bazaarpay") == 0)
            sb_resp_detail(resp, 404, "Not found.");
        else if (service)
            sb_resp_error(resp, 404, "not_found", "The requested URL was not found.");
        else {
            snprintf(msg, sizeof msg, "no endpoint %.16s %.256s", req->method, req->path);
            sb_resp_error(resp, 404, msg, NULL);
        }
        return;
    }
}

/* The body is complete: apply the fault of the call, if any, and answer. */
static enum MHD_Result s_dispatch(sb_http_t *self, struct MHD_Connection *conn, s_conn_t *c,
                                  const char *url, const char *method)
{
    sb_sandbox_t *sb = self->sb;
    sb_resp_t resp = {0};
    if (c->too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body is larger than %zu bytes",
                 self->cfg.max_body_bytes);
        sb_resp_error(&resp, 413, msg, NULL);
        return s_send(conn, c, &resp);
    }
    sb_req_t *req = calloc(1, sizeof *req);
    if (!req)
        return MHD_NO;
    req->method = method;
    req->path = url;
    req->body = c->body ? c->body : "";
    req->body_len = c->len;
    req->authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    req->pishkhan =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "CAFEBAZAAR-PISHKHAN-API-SECRET");
    req->content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    req->host = s_host(self, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"));
    req->q_access_token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "access_token");
    req->q_service = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "service");
    req->q_token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
    req->q_redirect_url = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "redirect_url");
    req->q_phone = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "phone");
    req->query = s_query;
    req->query_ctx = conn;

    const char *service = sb_service_of_path(url);
    sb_fault_t fault = {0};
    uint64_t seq = 0;
    if (service) {
        /* Rules first; the random mode draws for the calls no rule took,
         * in the order calls take the lock, which is also the log's order. */
        sb_lock(sb);
        if (!sb_faults_take(sb->faults, service, url, &fault))
            sb_random_draw(sb->random, service, &fault);
        seq = sb_calls_begin(sb->calls, service, method, url, fault.kind, sb_now_ms());
        sb_unlock(sb);
        if (fault.kind != SB_FAULT_NONE && fault.id != 0)
            pm_info("fault %llu (%s) applied to %s %s", (unsigned long long)fault.id,
                    sb_fault_kind_name(fault.kind), method, url);
        else if (fault.kind != SB_FAULT_NONE)
            pm_info("random fault (%s) applied to %s %s", sb_fault_kind_name(fault.kind), method,
                    url);
    }

    enum MHD_Result ret = MHD_NO;
    switch (fault.kind) {
    case SB_FAULT_TIMEOUT:
        sb_sleep_ms(sb, fault.delay_ms);
        goto no_answer;
    case SB_FAULT_STATUS:
        s_provider_error(service, &resp, fault.status, "server_error",
                         "Injected by the paymesh sandbox.");
        goto answer;
    case SB_FAULT_DELAY:
        sb_sleep_ms(sb, fault.delay_ms);
        break;
    case SB_FAULT_NONE:
    case SB_FAULT_DROP:
        break;
    }
    s_route(self, req, service, &resp);
    if (fault.kind == SB_FAULT_DROP) {
        pm_info("dropping the %d answer to %s %s", resp.status, method, url);
        sb_resp_clear(&resp);
        goto no_answer;
    }
answer:
    if (service) {
        pm_debug("%s %s %s -> %d", service, method, url, resp.status);
        sb_lock(sb);
        sb_calls_finish(sb->calls, seq, resp.status);
        sb_unlock(sb);
    }
    ret = s_send(conn, c, &resp);
    free(req);
    return ret;
no_answer:
    c->answered = true;
    free(req);
    return MHD_NO; /* libmicrohttpd closes the connection */
}

static enum MHD_Result s_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    (void)version;
    sb_http_t *self = cls;
    s_conn_t *c = *con_cls;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return MHD_NO;
        *con_cls = c;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > self->cfg.max_body_bytes)
            c->too_large = true;
        return MHD_YES;
    }
    if (c->answered) {
        *upload_data_size = 0; /* answered already: discard the rest */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        enum MHD_Result ret = s_append(self, c, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return ret;
    }
    return s_dispatch(self, conn, c, url, method);
}

static void s_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    s_conn_t *c = *con_cls;
    if (!c)
        return;
    free(c->body);
    free(c);
    *con_cls = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    /* dropped answers make it talk */
    pm_logv_line(PM_LOG_DEBUG, "libmicrohttpd", fmt, ap);
}

sb_http_t *sb_http_new(const sb_http_config_t *cfg, sb_sandbox_t *sb)
{
    assert(cfg && cfg->host && sb && cfg->port > 0 && cfg->port <= 65535);
    sb_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->sb = sb;
    self->host = strdup(cfg->host);
    self->cfg.host = self->host;
    if (!self->host)
        goto fail;
    snprintf(self->listen, sizeof self->listen, strchr(cfg->host, ':') ? "[%s]:%d" : "%s:%d",
             cfg->host, cfg->port);

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
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->daemon =
        MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, s_on_request, self,
                         MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
                         ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_s,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)S_CONN_MEMORY_BYTES,
                         MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, self, MHD_OPTION_END);
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

void sb_http_destroy(sb_http_t **self_p)
{
    assert(self_p);
    sb_http_t *self = *self_p;
    if (!self)
        return;
    atomic_store(&self->sb->stopping, true);
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    free(self->host);
    free(self);
    *self_p = NULL;
}
