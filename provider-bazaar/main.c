/*  provider-bazaar: validates and consumes Cafe Bazaar in-app purchases, and
 *  runs BazaarPay checkouts, for payment-core.
 *
 *  Takes bazaar_validate and bazaar_consume jobs from payment-core's worker
 *  socket and answers each from Cafe Bazaar's developer API, and (unless
 *  bazaarpay=off) bazaarpay_init, _trace, _commit and _refund jobs from
 *  BazaarPay's merchant API (pb_worker). Any number of copies may run; any
 *  may be killed. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb_worker.h"
#include "pm_config.h"
#include "pm_envguard.h"
#include "pm_dealer.h"
#include "pm_log.h"
#include "pm_signal.h"
#include "pm_sock.h"

enum {
    CFG_CORE_WORKER_ENDPOINT,
    CFG_BASE_URL,
    CFG_AUTH,
    CFG_PACKAGE_NAME,
    CFG_CLIENT_ID,
    CFG_CLIENT_SECRET,
    CFG_REFRESH_TOKEN,
    CFG_PISHKHAN_SECRET,
    CFG_BAZAARPAY,
    CFG_BAZAARPAY_BASE_URL,
    CFG_BAZAARPAY_MERCHANT_TOKEN,
    CFG_BAZAARPAY_DESTINATION,
    CFG_HTTP_TIMEOUT_MS,
    CFG_CONNECT_TIMEOUT_MS,
    CFG_MAX_CONCURRENCY,
    CFG_TAKE_WAIT_MS,
    CFG_MAX_RESPONSE_BYTES,
    CFG_MAX_MSG_BYTES,
    CFG_CURVE_SECRET_KEY_FILE,
    CFG_CURVE_SERVER_PUBLIC_KEY_FILE,
    CFG_ENVIRONMENT,
    CFG_LOG_LEVEL,
    CFG_LOG_FORMAT,
    CFG__COUNT
};

static pm_setting_t s_cfg[CFG__COUNT] = {
    [CFG_CORE_WORKER_ENDPOINT] = PM_SETTING_CORE_WORKER_ENDPOINT,
    [CFG_BASE_URL] = {"bazaar-base-url", PM_CFG_STR, "http://127.0.0.1:8090/devapi/v2/", 8, 1024,
                      "Cafe Bazaar developer API base (production: "
                      "https://pardakht.cafebazaar.ir/devapi/v2/)"},
    [CFG_AUTH] = {"bazaar-auth", PM_CFG_STR, "oauth", 5, 8, "oauth or pishkhan"},
    [CFG_PACKAGE_NAME] = {"bazaar-package-name", PM_CFG_STR, "com.paymesh.demo", 1, 255,
                          "the app's package name"},
    [CFG_CLIENT_ID] = {"bazaar-client-id", PM_CFG_STR, "sandbox-client", 0, 255, "OAuth client id"},
    [CFG_CLIENT_SECRET] = {"bazaar-client-secret", PM_CFG_STR, "sandbox-secret", 0, 255,
                           "OAuth client secret"},
    [CFG_REFRESH_TOKEN] = {"bazaar-refresh-token", PM_CFG_STR, "sandbox-refresh", 0, 512,
                           "OAuth refresh token"},
    [CFG_PISHKHAN_SECRET] = {"bazaar-pishkhan-secret", PM_CFG_STR, "", 0, 512,
                             "CAFEBAZAAR-PISHKHAN-API-SECRET (bazaar-auth=pishkhan)"},
    [CFG_BAZAARPAY] = {"bazaarpay", PM_CFG_STR, "on", 2, 3,
                       "on or off: take the bazaarpay_* jobs (checkouts)"},
    [CFG_BAZAARPAY_BASE_URL] = {"bazaarpay-base-url", PM_CFG_STR, "http://127.0.0.1:8090/badje/v1/",
                                9, 1024,
                                "BazaarPay merchant API base, ending with '/' (production: "
                                "https://api.bazaar-pay.ir/badje/v1/)"},
    [CFG_BAZAARPAY_MERCHANT_TOKEN] = {"bazaarpay-merchant-token", PM_CFG_STR,
                                      "sandbox-merchant-token", 1, 512,
                                      "sent as Authorization: Token <token> on every call"},
    [CFG_BAZAARPAY_DESTINATION] = {"bazaarpay-destination", PM_CFG_STR, "paymesh-demo", 1, 255,
                                   "merchant name BazaarPay assigned (init's destination)"},
    [CFG_HTTP_TIMEOUT_MS] = {"http-timeout-ms", PM_CFG_INT, "3000", 100, 60000,
                             "whole Bazaar or BazaarPay call (then the outcome is unknown)"},
    [CFG_CONNECT_TIMEOUT_MS] = {"connect-timeout-ms", PM_CFG_INT, "1000", 50, 60000,
                                "connecting to Bazaar or BazaarPay"},
    [CFG_MAX_CONCURRENCY] = {"max-concurrency", PM_CFG_INT, "8", 1, 256, "jobs in flight"},
    [CFG_TAKE_WAIT_MS] = {"take-wait-ms", PM_CFG_INT, "1000", 0, 30000,
                          "how long payment-core may hold a JOB_TAKE"},
    [CFG_MAX_RESPONSE_BYTES] = {"max-response-bytes", PM_CFG_INT, "65536", 1024, 16777216,
                                "largest Bazaar or BazaarPay answer read"},
    [CFG_MAX_MSG_BYTES] = {"max-msg-bytes", PM_CFG_INT, "65536", 1024, 16777216,
                           "largest message from payment-core"},
    [CFG_CURVE_SECRET_KEY_FILE] = PM_SETTING_CURVE_SECRET_KEY_FILE,
    [CFG_CURVE_SERVER_PUBLIC_KEY_FILE] = PM_SETTING_CURVE_SERVER_PUBLIC_KEY_FILE,
    [CFG_ENVIRONMENT] = PM_SETTING_ENVIRONMENT,
    [CFG_LOG_LEVEL] = PM_SETTING_LOG_LEVEL,
    [CFG_LOG_FORMAT] = PM_SETTING_LOG_FORMAT,
};

/* An http:// or https:// URL that ends with '/': paths are appended to it. */
static bool s_base_url_ok(const char *url)
{
    size_t n = strlen(url);
    bool http = (n > 7 && strncasecmp(url, "http://", 7) == 0) ||
                (n > 8 && strncasecmp(url, "https://", 8) == 0);
    return http && url[n - 1] == '/';
}

/* A header value that cannot end the header or start another: printable
 * ASCII without spaces. */
static bool s_header_token_ok(const char *s)
{
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f)
            return false;
    return true;
}

int main(int argc, char **argv)
{
    int status;
    if (!pm_config_daemon(s_cfg, CFG__COUNT, CFG_LOG_LEVEL, argc, argv, "provider-bazaar", &status))
        return status;
    if (pm_sock_curve_client("provider-bazaar", s_cfg[CFG_CURVE_SECRET_KEY_FILE].sval,
                             s_cfg[CFG_CURVE_SERVER_PUBLIC_KEY_FILE].sval) != 0)
        return 2;
    const char *auth = s_cfg[CFG_AUTH].sval;
    if (strcmp(auth, "oauth") != 0 && strcmp(auth, "pishkhan") != 0) {
        pm_error("bazaar-auth must be oauth or pishkhan");
        return 2;
    }
    bool pishkhan = strcmp(auth, "pishkhan") == 0;
    if (pishkhan && s_cfg[CFG_PISHKHAN_SECRET].sval[0] == '\0') {
        pm_error("bazaar-auth=pishkhan needs bazaar-pishkhan-secret");
        return 2;
    }
    const char *bp = s_cfg[CFG_BAZAARPAY].sval;
    if (strcmp(bp, "on") != 0 && strcmp(bp, "off") != 0) {
        pm_error("bazaarpay must be on or off");
        return 2;
    }
    bool bazaarpay = strcmp(bp, "on") == 0;
    if (bazaarpay && !s_base_url_ok(s_cfg[CFG_BAZAARPAY_BASE_URL].sval)) {
        pm_error("bazaarpay-base-url must be an http:// or https:// URL ending with '/'");
        return 2;
    }
    if (bazaarpay && !s_header_token_ok(s_cfg[CFG_BAZAARPAY_MERCHANT_TOKEN].sval)) {
        pm_error("bazaarpay-merchant-token must be printable ASCII without spaces");
        return 2;
    }
    /* Production refuses the sandbox's URLs and credentials (pm_envguard). */
    bool production;
    if (pm_envguard_environment("provider-bazaar", s_cfg[CFG_ENVIRONMENT].sval, &production) != 0)
        return 2;
    static const int urls[] = {CFG_BASE_URL, CFG_BAZAARPAY_BASE_URL};
    static const int oauth_secrets[] = {CFG_CLIENT_ID, CFG_CLIENT_SECRET, CFG_REFRESH_TOKEN};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        if ((urls[i] != CFG_BAZAARPAY_BASE_URL || bazaarpay) &&
            pm_envguard_url("provider-bazaar", production, s_cfg[urls[i]].name,
                            s_cfg[urls[i]].sval) != 0)
            return 2;
    for (size_t i = 0; !pishkhan && i < sizeof oauth_secrets / sizeof oauth_secrets[0]; i++)
        if (pm_envguard_secret("provider-bazaar", production, s_cfg[oauth_secrets[i]].name,
                               s_cfg[oauth_secrets[i]].sval, s_cfg[oauth_secrets[i]].def) != 0)
            return 2;
    if (bazaarpay &&
        pm_envguard_secret("provider-bazaar", production, s_cfg[CFG_BAZAARPAY_MERCHANT_TOKEN].name,
                           s_cfg[CFG_BAZAARPAY_MERCHANT_TOKEN].sval,
                           s_cfg[CFG_BAZAARPAY_MERCHANT_TOKEN].def) != 0)
        return 2;
    if (!production)
        pm_warn("environment sandbox: provider URLs may point at the sandbox");
    /* The base URL must end with '/': paths are appended to it. */
    const char *base = s_cfg[CFG_BASE_URL].sval;
    size_t base_len = strlen(base);
    char *base_copy = malloc(base_len + 2);
    if (!base_copy)
        return EXIT_FAILURE;
    memcpy(base_copy, base, base_len + 1);
    if (base_copy[base_len - 1] != '/')
        memcpy(base_copy + base_len, "/", 2);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        pm_error("curl_global_init failed");
        free(base_copy);
        return EXIT_FAILURE;
    }
    pm_sock_init();
    pm_signal_install();

    status = EXIT_FAILURE;
    pb_worker_config_t cfg = {
        .core_endpoint = s_cfg[CFG_CORE_WORKER_ENDPOINT].sval,
        .base_url = base_copy,
        .package_name = s_cfg[CFG_PACKAGE_NAME].sval,
        .pishkhan = pishkhan,
        .client_id = s_cfg[CFG_CLIENT_ID].sval,
        .client_secret = s_cfg[CFG_CLIENT_SECRET].sval,
        .refresh_token = s_cfg[CFG_REFRESH_TOKEN].sval,
        .pishkhan_secret = s_cfg[CFG_PISHKHAN_SECRET].sval,
        .bazaarpay = bazaarpay,
        .bazaarpay_base_url = s_cfg[CFG_BAZAARPAY_BASE_URL].sval,
        .bazaarpay_token = s_cfg[CFG_BAZAARPAY_MERCHANT_TOKEN].sval,
        .bazaarpay_destination = s_cfg[CFG_BAZAARPAY_DESTINATION].sval,
        .http_timeout_ms = s_cfg[CFG_HTTP_TIMEOUT_MS].ival,
        .connect_timeout_ms = s_cfg[CFG_CONNECT_TIMEOUT_MS].ival,
        .max_concurrency = (int)s_cfg[CFG_MAX_CONCURRENCY].ival,
        .take_wait_ms = s_cfg[CFG_TAKE_WAIT_MS].ival,
        .max_response_bytes = (size_t)s_cfg[CFG_MAX_RESPONSE_BYTES].ival,
        .max_msg_bytes = s_cfg[CFG_MAX_MSG_BYTES].ival,
    };
    pb_worker_t *worker = pb_worker_new(&cfg);
    if (!worker)
        goto cleanup;
    pm_info("provider-bazaar ready core=%s bazaar=%s auth=%s bazaarpay=%s concurrency=%d",
            cfg.core_endpoint, cfg.base_url, auth, bazaarpay ? cfg.bazaarpay_base_url : "off",
            cfg.max_concurrency);
    if (pb_worker_run(worker) == 0)
        status = EXIT_SUCCESS;
    pm_info("provider-bazaar stopped");
    pb_worker_destroy(&worker);
cleanup:
    curl_global_cleanup();
    free(base_copy);
    return status;
}
