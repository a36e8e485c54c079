/*  api-gateway: the stateless HTTP front of paymesh.
 *
 *  Translates each REST request into an envelope for payment-core over
 *  ZeroMQ (gw_link) and the reply back into JSON (gw_http, gw_routes). Any
 *  number of gateways can run against one payment-core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_admin.h"
#include "gw_http.h"
#include "gw_link.h"
#include "gw_mhd.h"
#include "gw_route.h"
#include "pm_config.h"
#include "pm_ids.h"
#include "pm_log.h"
#include "pm_signal.h"
#include "pm_sock.h"

enum {
    CFG_HTTP_HOST,
    CFG_HTTP_PORT,
    CFG_CORE_ENDPOINT,
    CFG_CORE_TIMEOUT_MS,
    CFG_MAX_BODY_BYTES,
    CFG_MAX_CONNECTIONS,
    CFG_CONNECTION_TIMEOUT_S,
    CFG_HTTP_THREADS,
    CFG_MAX_INFLIGHT,
    CFG_MAX_MSG_BYTES,
    CFG_MAX_AMOUNT_MINOR,
    CFG_CURVE_SECRET_KEY_FILE,
    CFG_CURVE_SERVER_PUBLIC_KEY_FILE,
    CFG_ADMIN_PAGE,
    CFG_AUTH_FAIL_LIMIT,
    CFG_AUTH_FAIL_WINDOW_S,
    CFG_AUTH_FAIL_TABLE_ENTRIES,
    CFG_LOG_LEVEL,
    CFG_LOG_FORMAT,
    CFG__COUNT
};

static pm_setting_t s_cfg[CFG__COUNT] = {
    [CFG_HTTP_HOST] = {"http-host", PM_CFG_STR, "127.0.0.1", 1, 255, "address to listen on"},
    [CFG_HTTP_PORT] = {"http-port", PM_CFG_INT, "8080", 1, 65535, "HTTP port"},
    [CFG_CORE_ENDPOINT] = {"core-endpoint", PM_CFG_STR, "tcp://127.0.0.1:7100", 1, 255,
                           "payment-core's ZeroMQ endpoint"},
    [CFG_CORE_TIMEOUT_MS] = {"core-timeout-ms", PM_CFG_INT, "5000", 10, 120000,
                             "deadline of each request to payment-core (then 503)"},
    [CFG_MAX_BODY_BYTES] = {"max-body-bytes", PM_CFG_INT, "65536", 256, 1048576,
                            "largest request body (then 413)"},
    [CFG_MAX_CONNECTIONS] = {"max-connections", PM_CFG_INT, "1024", 1, 65536,
                             "simultaneous HTTP connections"},
    [CFG_CONNECTION_TIMEOUT_S] = {"connection-timeout-s", PM_CFG_INT, "30", 1, 3600,
                                  "idle HTTP connection timeout"},
    [CFG_HTTP_THREADS] = {"http-threads", PM_CFG_INT, "2", 1, 64, "HTTP event loops (threads)"},
    [CFG_MAX_INFLIGHT] = {"max-inflight", PM_CFG_INT, "4096", 16, 65536,
                          "requests in flight to payment-core (then 503)"},
    [CFG_MAX_MSG_BYTES] = {"max-msg-bytes", PM_CFG_INT, "65536", 1024, 1048576,
                           "largest message to or from payment-core"},
    [CFG_MAX_AMOUNT_MINOR] = {"max-amount-minor", PM_CFG_INT, "1000000000000000", 1,
                              9007199254740991, "largest amount, in minor units"},
    [CFG_CURVE_SECRET_KEY_FILE] = PM_SETTING_CURVE_SECRET_KEY_FILE,
    [CFG_CURVE_SERVER_PUBLIC_KEY_FILE] = PM_SETTING_CURVE_SERVER_PUBLIC_KEY_FILE,
    [CFG_ADMIN_PAGE] = {"admin-page", PM_CFG_STR, "off", 2, 3,
                        "on: serve the operator page /admin/ (service token; else 404)"},
    [CFG_AUTH_FAIL_LIMIT] = {"auth-fail-limit", PM_CFG_INT, "100", 0, 1000000,
                             "failed authentications (401) one client address may earn within "
                             "auth-fail-window-s before it gets 429 (0: no limit)"},
    [CFG_AUTH_FAIL_WINDOW_S] = {"auth-fail-window-s", PM_CFG_INT, "60", 1, 86400,
                                "the counting window, and how long an address stays blocked"},
    [CFG_AUTH_FAIL_TABLE_ENTRIES] = {"auth-fail-table-entries", PM_CFG_INT, "4096", 8, 1048576,
                                     "client addresses tracked at once (least recently used "
                                     "evicted)"},
    [CFG_LOG_LEVEL] = PM_SETTING_LOG_LEVEL,
    [CFG_LOG_FORMAT] = PM_SETTING_LOG_FORMAT,
};

/* libmicrohttpd queues its own refusals (malformed HTTP, 414, 431) through
 * this exported function; the program's definition comes first, so they
 * are answered as JSON (gw_mhd.h). */
enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
                                   struct MHD_Response *response)
{
    return gw_mhd_queue_any(connection, status_code, response);
}

int main(int argc, char **argv)
{
    /* --print-routes: the routing table, "METHOD PATTERN" a line (tests/openapi) */
    if (argc == 2 && strcmp(argv[1], "--print-routes") == 0) {
        for (size_t i = 0; i < gw_route_count; i++)
            printf("%s %s\n", gw_routes[i].method, gw_routes[i].pattern);
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    int status;
    if (!pm_config_daemon(s_cfg, CFG__COUNT, CFG_LOG_LEVEL, argc, argv, "api-gateway", &status))
        return status;
    const char *admin_page = s_cfg[CFG_ADMIN_PAGE].sval;
    if (strcmp(admin_page, "on") != 0 && strcmp(admin_page, "off") != 0) {
        fprintf(stderr, "api-gateway: --admin-page must be on or off, not '%s'\n", admin_page);
        return 2;
    }
    gw_admin_enable(strcmp(admin_page, "on") == 0);
    if (pm_sock_curve_client("api-gateway", s_cfg[CFG_CURVE_SECRET_KEY_FILE].sval,
                             s_cfg[CFG_CURVE_SERVER_PUBLIC_KEY_FILE].sval) != 0)
        return 2;
    pm_sock_init();
    pm_signal_install();
    pm_ids_init();

    gw_link_config_t link_cfg = {
        .endpoint = s_cfg[CFG_CORE_ENDPOINT].sval,
        .timeout_ms = s_cfg[CFG_CORE_TIMEOUT_MS].ival,
        .max_inflight = (uint32_t)s_cfg[CFG_MAX_INFLIGHT].ival,
        .max_msg_bytes = s_cfg[CFG_MAX_MSG_BYTES].ival,
    };
    gw_http_config_t http_cfg = {
        .host = s_cfg[CFG_HTTP_HOST].sval,
        .port = (int)s_cfg[CFG_HTTP_PORT].ival,
        .threads = (int)s_cfg[CFG_HTTP_THREADS].ival,
        .max_connections = (int)s_cfg[CFG_MAX_CONNECTIONS].ival,
        .connection_timeout_s = (int)s_cfg[CFG_CONNECTION_TIMEOUT_S].ival,
        .max_body_bytes = (size_t)s_cfg[CFG_MAX_BODY_BYTES].ival,
        .max_amount_minor = s_cfg[CFG_MAX_AMOUNT_MINOR].ival,
        .auth_fail_limit = (int)s_cfg[CFG_AUTH_FAIL_LIMIT].ival,
        .auth_fail_window_s = (int)s_cfg[CFG_AUTH_FAIL_WINDOW_S].ival,
        .auth_fail_table_entries = (size_t)s_cfg[CFG_AUTH_FAIL_TABLE_ENTRIES].ival,
    };
    gw_http_t *http = gw_http_new(&http_cfg, &link_cfg);
    if (!http)
        return EXIT_FAILURE;
    pm_info("api-gateway listening on http://%s:%d core=%s", http_cfg.host, http_cfg.port,
            link_cfg.endpoint);

    while (!pm_signal_stopping()) {
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    pm_info("api-gateway stopping");
    gw_http_destroy(&http); /* stop accepting, end pending with 503, stop */
    return EXIT_SUCCESS;
}
