/*  sandbox: stand-ins for the external payment providers, on loopback.
 *
 *  Serves the Cafe Bazaar developer API (bazaar.c) with a store of simulated
 *  purchases, the BazaarPay merchant API and payment page (bazaarpay.c)
 *  with a store of checkouts, Halkbank's RBS and TFEB's OrderProcessing
 *  gateways and their card pages (bank.c) with a store of orders, demo
 *  icons (sb_icon.c), fault injection for the next N calls (sb_fault.c) or
 *  a seeded random share of them (sb_random.c), a log of the calls
 *  received, and an admin API under /sandbox/ to drive all of it
 *  (docs/sandbox.md). State lives in memory only. Used by `make run` and
 *  the tests; production configuration points providers at the real
 *  hosts. */
#include <stdlib.h>
#include <time.h>

#include "bank.h"
#include "bazaar.h"
#include "bazaarpay.h"
#include "pm_config.h"
#include "pm_ids.h"
#include "pm_log.h"
#include "pm_signal.h"
#include "sb_http.h"
#include "sb_sandbox.h"

enum {
    CFG_HTTP_HOST,
    CFG_HTTP_PORT,
    CFG_BAZAAR_CLIENT_ID,
    CFG_BAZAAR_CLIENT_SECRET,
    CFG_BAZAAR_REFRESH_TOKEN,
    CFG_BAZAAR_PISHKHAN_SECRET,
    CFG_ACCESS_TOKEN_TTL_S,
    CFG_MAX_PURCHASES,
    CFG_BAZAARPAY_MERCHANT_TOKEN,
    CFG_BAZAARPAY_COMMIT_WINDOW_S,
    CFG_BAZAARPAY_CHECKOUT_TTL_S,
    CFG_BAZAARPAY_MAX_CHECKOUTS,
    CFG_RBS_USERNAME,
    CFG_RBS_PASSWORD,
    CFG_TFEB_CLIENT_ID,
    CFG_TFEB_CLIENT_SECRET,
    CFG_TFEB_TOKEN_TTL_S,
    CFG_BANK_MAX_ORDERS,
    CFG_MAX_BODY_BYTES,
    CFG_MAX_CONNECTIONS,
    CFG_CONNECTION_TIMEOUT_S,
    CFG_LOG_LEVEL,
    CFG_LOG_FORMAT,
    CFG__COUNT
};

static pm_setting_t s_cfg[CFG__COUNT] = {
    [CFG_HTTP_HOST] = {"http-host", PM_CFG_STR, "127.0.0.1", 1, 255, "address to listen on"},
    [CFG_HTTP_PORT] = {"http-port", PM_CFG_INT, "8090", 1, 65535, "HTTP port"},
    [CFG_BAZAAR_CLIENT_ID] = {"bazaar-client-id", PM_CFG_STR, "sandbox-client", 1, 255,
                              "Cafe Bazaar OAuth client_id accepted"},
    [CFG_BAZAAR_CLIENT_SECRET] = {"bazaar-client-secret", PM_CFG_STR, "sandbox-secret", 1, 255,
                                  "Cafe Bazaar OAuth client_secret accepted"},
    [CFG_BAZAAR_REFRESH_TOKEN] = {"bazaar-refresh-token", PM_CFG_STR, "sandbox-refresh", 1, 255,
                                  "Cafe Bazaar OAuth refresh_token accepted"},
    [CFG_BAZAAR_PISHKHAN_SECRET] = {"bazaar-pishkhan-secret", PM_CFG_STR, "sandbox-pishkhan", 1,
                                    255, "CAFEBAZAAR-PISHKHAN-API-SECRET header accepted"},
    [CFG_ACCESS_TOKEN_TTL_S] = {"access-token-ttl-s", PM_CFG_INT, "3600", 1, 86400,
                                "lifetime of issued access tokens"},
    [CFG_MAX_PURCHASES] = {"max-purchases", PM_CFG_INT, "100000", 1, 10000000,
                           "simulated purchases held (then 507)"},
    [CFG_BAZAARPAY_MERCHANT_TOKEN] = {"bazaarpay-merchant-token", PM_CFG_STR,
                                      "sandbox-merchant-token", 1, SB_BP_MERCHANT_TOKEN_MAX,
                                      "BazaarPay merchant token accepted (Authorization: Token T)"},
    [CFG_BAZAARPAY_COMMIT_WINDOW_S] = {"bazaarpay-commit-window-s", PM_CFG_INT, "600", 1, 86400,
                                       "a paid checkout not committed within this is returned"},
    [CFG_BAZAARPAY_CHECKOUT_TTL_S] = {"bazaarpay-checkout-ttl-s", PM_CFG_INT, "1800", 1, 86400,
                                      "an unpaid checkout times out after this"},
    [CFG_BAZAARPAY_MAX_CHECKOUTS] = {"bazaarpay-max-checkouts", PM_CFG_INT, "100000", 1, 10000000,
                                     "BazaarPay checkouts held (then 507)"},
    [CFG_RBS_USERNAME] = {"rbs-username", PM_CFG_STR, "sandbox-rbs", 1, SB_BANK_CREDENTIAL_MAX,
                          "Halkbank (RBS) userName accepted"},
    [CFG_RBS_PASSWORD] = {"rbs-password", PM_CFG_STR, "sandbox-rbs-password", 1,
                          SB_BANK_CREDENTIAL_MAX, "Halkbank (RBS) password accepted"},
    [CFG_TFEB_CLIENT_ID] = {"tfeb-client-id", PM_CFG_STR, "sandbox-tfeb-client", 1,
                            SB_BANK_CREDENTIAL_MAX, "TFEB OAuth client_id accepted"},
    [CFG_TFEB_CLIENT_SECRET] = {"tfeb-client-secret", PM_CFG_STR, "sandbox-tfeb-secret", 1,
                                SB_BANK_CREDENTIAL_MAX, "TFEB OAuth client_secret accepted"},
    [CFG_TFEB_TOKEN_TTL_S] = {"tfeb-token-ttl-s", PM_CFG_INT, "3600", 1, 86400,
                              "lifetime of issued TFEB access tokens (expires_in)"},
    [CFG_BANK_MAX_ORDERS] = {"bank-max-orders", PM_CFG_INT, "100000", 1, 10000000,
                             "bank orders held, both banks together (then a system error)"},
    [CFG_MAX_BODY_BYTES] = {"max-body-bytes", PM_CFG_INT, "65536", 256, 1048576,
                            "largest request body (then 413)"},
    [CFG_MAX_CONNECTIONS] = {"max-connections", PM_CFG_INT, "256", 1, 4096,
                             "simultaneous HTTP connections (one thread each)"},
    [CFG_CONNECTION_TIMEOUT_S] = {"connection-timeout-s", PM_CFG_INT, "120", 1, 3600,
                                  "idle HTTP connection timeout"},
    [CFG_LOG_LEVEL] = PM_SETTING_LOG_LEVEL,
    [CFG_LOG_FORMAT] = PM_SETTING_LOG_FORMAT,
};

int main(int argc, char **argv)
{
    int status;
    if (!pm_config_daemon(s_cfg, CFG__COUNT, CFG_LOG_LEVEL, argc, argv, "sandbox", &status))
        return status;
    pm_signal_install();
    pm_ids_init();

    status = EXIT_FAILURE;
    sb_sandbox_t sb = {.mu = PTHREAD_MUTEX_INITIALIZER};
    atomic_init(&sb.stopping, false);
    sb_bazaar_config_t bz_cfg = {
        .client_id = s_cfg[CFG_BAZAAR_CLIENT_ID].sval,
        .client_secret = s_cfg[CFG_BAZAAR_CLIENT_SECRET].sval,
        .refresh_token = s_cfg[CFG_BAZAAR_REFRESH_TOKEN].sval,
        .pishkhan_secret = s_cfg[CFG_BAZAAR_PISHKHAN_SECRET].sval,
        .access_token_ttl_s = (int)s_cfg[CFG_ACCESS_TOKEN_TTL_S].ival,
        .max_purchases = (size_t)s_cfg[CFG_MAX_PURCHASES].ival,
    };
    sb_bp_config_t bp_cfg = {
        .merchant_token = s_cfg[CFG_BAZAARPAY_MERCHANT_TOKEN].sval,
        .commit_window_s = (int)s_cfg[CFG_BAZAARPAY_COMMIT_WINDOW_S].ival,
        .checkout_ttl_s = (int)s_cfg[CFG_BAZAARPAY_CHECKOUT_TTL_S].ival,
        .max_checkouts = (size_t)s_cfg[CFG_BAZAARPAY_MAX_CHECKOUTS].ival,
    };
    sb_bank_config_t bank_cfg = {
        .rbs_username = s_cfg[CFG_RBS_USERNAME].sval,
        .rbs_password = s_cfg[CFG_RBS_PASSWORD].sval,
        .tfeb_client_id = s_cfg[CFG_TFEB_CLIENT_ID].sval,
        .tfeb_client_secret = s_cfg[CFG_TFEB_CLIENT_SECRET].sval,
        .tfeb_token_ttl_s = (int)s_cfg[CFG_TFEB_TOKEN_TTL_S].ival,
        .max_orders = (size_t)s_cfg[CFG_BANK_MAX_ORDERS].ival,
    };
    sb.bazaar = sb_bazaar_new(&bz_cfg);
    sb.bazaarpay = sb_bp_new(&bp_cfg);
    sb.bank = sb_bank_new(&bank_cfg);
    sb.faults = sb_faults_new();
    sb.random = sb_random_new();
    sb.calls = sb_calls_new(SB_CALLS_MAX);
    if (!sb.bazaar || !sb.bazaarpay || !sb.bank || !sb.faults || !sb.random || !sb.calls) {
        pm_error("out of memory creating the sandbox state");
        goto free_state;
    }
    sb_http_config_t http_cfg = {
        .host = s_cfg[CFG_HTTP_HOST].sval,
        .port = (int)s_cfg[CFG_HTTP_PORT].ival,
        .max_connections = (int)s_cfg[CFG_MAX_CONNECTIONS].ival,
        .connection_timeout_s = (int)s_cfg[CFG_CONNECTION_TIMEOUT_S].ival,
        .max_body_bytes = (size_t)s_cfg[CFG_MAX_BODY_BYTES].ival,
    };
    sb_http_t *http = sb_http_new(&http_cfg, &sb);
    if (!http)
        goto free_state;
    pm_info("sandbox listening on http://%s:%d", http_cfg.host, http_cfg.port);

    while (!pm_signal_stopping()) {
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    pm_info("sandbox stopping");
    sb_http_destroy(&http);
    status = EXIT_SUCCESS;
free_state:
    sb_calls_destroy(&sb.calls);
    sb_random_destroy(&sb.random);
    sb_faults_destroy(&sb.faults);
    sb_bank_destroy(&sb.bank);
    sb_bp_destroy(&sb.bazaarpay);
    sb_bazaar_destroy(&sb.bazaar);
    return status;
}
