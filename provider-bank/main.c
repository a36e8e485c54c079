/*  provider-bank: registers, queries, deposits, reverses and refunds bank
 *  card orders at Halkbank (BPC RBS REST) and TFEB (TSYS OrderProcessing)
 *  for payment-core.
 *
 *  Takes the bank_* jobs from payment-core's worker socket and answers each
 *  from its bank, one call per job (pbk_worker). Any number of copies may
 *  run; any may be killed. */
#include <curl/curl.h>
#include <stdlib.h>

#include "pbk_rbs.h"
#include "pbk_tfeb.h"
#include "pbk_worker.h"
#include "pm_config.h"
#include "pm_envguard.h"
#include "pm_dealer.h"
#include "pm_log.h"
#include "pm_signal.h"
#include "pm_sock.h"

enum {
    CFG_CORE_WORKER_ENDPOINT,
    CFG_HALKBANK_BASE_URL,
    CFG_RBS_USERNAME,
    CFG_RBS_PASSWORD,
    CFG_TFEB_BASE_URL,
    CFG_TFEB_TOKEN_URL,
    CFG_TFEB_CLIENT_ID,
    CFG_TFEB_CLIENT_SECRET,
    CFG_TFEB_MERCHANT_ID,
    CFG_TFEB_TERMINAL_ID,
    CFG_TFEB_LANGUAGE,
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
    [CFG_HALKBANK_BASE_URL] = {"halkbank-base-url", PM_CFG_STR,
                               "http://127.0.0.1:8090/payment/rest/", 9, 1024,
                               "Halkbank RBS REST base, ending with '/' (production: "
                               "https://mpi.gov.tm/payment/rest/)"},
    [CFG_RBS_USERNAME] = {"rbs-username", PM_CFG_STR, "sandbox-rbs", 1, PBK_RBS_CREDENTIAL_MAX,
                          "Halkbank merchant API user (userName)"},
    [CFG_RBS_PASSWORD] = {"rbs-password", PM_CFG_STR, "sandbox-rbs-password", 1,
                          PBK_RBS_CREDENTIAL_MAX, "its password (never logged)"},
    [CFG_TFEB_BASE_URL] = {"tfeb-base-url", PM_CFG_STR,
                           "http://127.0.0.1:8090/OrderProcessing_TURK/v1/", 9, 1024,
                           "TFEB OrderProcessing base, ending with '/' (production: "
                           "https://ecomt.tfeb.gov.tm/OrderProcessing_TURK/v1/)"},
    [CFG_TFEB_TOKEN_URL] = {"tfeb-token-url", PM_CFG_STR,
                            "http://127.0.0.1:8090/identityserver/connect/token", 9, 1024,
                            "TFEB OAuth2 token endpoint (production: "
                            "https://3dst.tfeb.gov.tm/identityserver/connect/token)"},
    [CFG_TFEB_CLIENT_ID] = {"tfeb-client-id", PM_CFG_STR, "sandbox-tfeb-client", 1,
                            PBK_TFEB_CREDENTIAL_MAX, "TFEB OAuth2 client id"},
    [CFG_TFEB_CLIENT_SECRET] = {"tfeb-client-secret", PM_CFG_STR, "sandbox-tfeb-secret", 1,
                                PBK_TFEB_CREDENTIAL_MAX, "its secret (never logged)"},
    [CFG_TFEB_MERCHANT_ID] = {"tfeb-merchant-id", PM_CFG_STR, "sandbox-merchant", 1,
                              PBK_TFEB_ID_MAX,
                              "Environment.Merchant.Id TFEB assigned ([A-Za-z0-9_-])"},
    [CFG_TFEB_TERMINAL_ID] = {"tfeb-terminal-id", PM_CFG_STR, "sandbox-terminal", 1,
                              PBK_TFEB_ID_MAX, "Environment.POI.Id TFEB assigned ([A-Za-z0-9_-])"},
    [CFG_TFEB_LANGUAGE] = {"tfeb-language", PM_CFG_STR, "", 0, 2,
                           "POI.Language when a job names none: two lower-case letters, or "
                           "empty for none"},
    [CFG_HTTP_TIMEOUT_MS] = {"http-timeout-ms", PM_CFG_INT, "10000", 100, 60000,
                             "whole bank call (then the outcome is unknown); also the most a "
                             "SIGTERM waits for jobs in flight"},
    [CFG_CONNECT_TIMEOUT_MS] = {"connect-timeout-ms", PM_CFG_INT, "2000", 50, 60000,
                                "connecting to a bank"},
    [CFG_MAX_CONCURRENCY] = {"max-concurrency", PM_CFG_INT, "8", 1, 256, "jobs in flight"},
    [CFG_TAKE_WAIT_MS] = {"take-wait-ms", PM_CFG_INT, "1000", 0, 30000,
                          "how long payment-core may hold a JOB_TAKE"},
    [CFG_MAX_RESPONSE_BYTES] = {"max-response-bytes", PM_CFG_INT, "65536", 1024, 16777216,
                                "largest bank answer read (a larger one is unknown)"},
    [CFG_MAX_MSG_BYTES] = {"max-msg-bytes", PM_CFG_INT, "262144", 4096, 16777216,
                           "largest message from payment-core"},
    [CFG_CURVE_SECRET_KEY_FILE] = PM_SETTING_CURVE_SECRET_KEY_FILE,
    [CFG_CURVE_SERVER_PUBLIC_KEY_FILE] = PM_SETTING_CURVE_SERVER_PUBLIC_KEY_FILE,
    [CFG_ENVIRONMENT] = PM_SETTING_ENVIRONMENT,
    [CFG_LOG_LEVEL] = PM_SETTING_LOG_LEVEL,
    [CFG_LOG_FORMAT] = PM_SETTING_LOG_FORMAT,
};

int main(int argc, char **argv)
{
    int status;
    if (!pm_config_daemon(s_cfg, CFG__COUNT, CFG_LOG_LEVEL, argc, argv, "provider-bank", &status))
        return status;
    if (pm_sock_curve_client("provider-bank", s_cfg[CFG_CURVE_SECRET_KEY_FILE].sval,
                             s_cfg[CFG_CURVE_SERVER_PUBLIC_KEY_FILE].sval) != 0)
        return 2;
    const char *language = s_cfg[CFG_TFEB_LANGUAGE].sval;
    pbk_worker_config_t cfg = {
        .core_endpoint = s_cfg[CFG_CORE_WORKER_ENDPOINT].sval,
        .rbs =
            {
                .base_url = s_cfg[CFG_HALKBANK_BASE_URL].sval,
                .username = s_cfg[CFG_RBS_USERNAME].sval,
                .password = s_cfg[CFG_RBS_PASSWORD].sval,
            },
        .tfeb =
            {
                .base_url = s_cfg[CFG_TFEB_BASE_URL].sval,
                .token_url = s_cfg[CFG_TFEB_TOKEN_URL].sval,
                .client_id = s_cfg[CFG_TFEB_CLIENT_ID].sval,
                .client_secret = s_cfg[CFG_TFEB_CLIENT_SECRET].sval,
                .merchant_id = s_cfg[CFG_TFEB_MERCHANT_ID].sval,
                .terminal_id = s_cfg[CFG_TFEB_TERMINAL_ID].sval,
                .language = language[0] ? language : NULL,
            },
        .http_timeout_ms = s_cfg[CFG_HTTP_TIMEOUT_MS].ival,
        .connect_timeout_ms = s_cfg[CFG_CONNECT_TIMEOUT_MS].ival,
        .max_concurrency = (int)s_cfg[CFG_MAX_CONCURRENCY].ival,
        .take_wait_ms = s_cfg[CFG_TAKE_WAIT_MS].ival,
        .max_response_bytes = (size_t)s_cfg[CFG_MAX_RESPONSE_BYTES].ival,
        .max_msg_bytes = s_cfg[CFG_MAX_MSG_BYTES].ival,
    };
    /* The clients' own checks, worded by setting name. */
    const char *why = NULL;
    if (pbk_rbs_account_check(&cfg.rbs, &why) != 0 ||
        pbk_tfeb_account_check(&cfg.tfeb, &why) != 0) {
        pm_error("%s", why);
        return 2;
    }

    /* Production refuses the sandbox's URLs and credentials (pm_envguard). */
    bool production;
    if (pm_envguard_environment("provider-bank", s_cfg[CFG_ENVIRONMENT].sval, &production) != 0)
        return 2;
    static const int urls[] = {CFG_HALKBANK_BASE_URL, CFG_TFEB_BASE_URL, CFG_TFEB_TOKEN_URL};
    static const int secrets[] = {CFG_RBS_USERNAME,     CFG_RBS_PASSWORD,
                                  CFG_TFEB_CLIENT_ID,   CFG_TFEB_CLIENT_SECRET,
                                  CFG_TFEB_MERCHANT_ID, CFG_TFEB_TERMINAL_ID};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        if (pm_envguard_url("provider-bank", production, s_cfg[urls[i]].name,
                            s_cfg[urls[i]].sval) != 0)
            return 2;
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (pm_envguard_secret("provider-bank", production, s_cfg[secrets[i]].name,
                               s_cfg[secrets[i]].sval, s_cfg[secrets[i]].def) != 0)
            return 2;
    if (!production)
        pm_warn("environment sandbox: bank URLs may point at the sandbox");

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        pm_error("curl_global_init failed");
        return EXIT_FAILURE;
    }
    pm_sock_init();
    pm_signal_install();

    status = EXIT_FAILURE;
    pbk_worker_t *worker = pbk_worker_new(&cfg);
    if (!worker)
        goto cleanup;
    pm_info("provider-bank ready core=%s halkbank=%s tfeb=%s concurrency=%d", cfg.core_endpoint,
            cfg.rbs.base_url, cfg.tfeb.base_url, cfg.max_concurrency);
    if (pbk_worker_run(worker) == 0)
        status = EXIT_SUCCESS;
    pm_info("provider-bank stopped");
    pbk_worker_destroy(&worker);
cleanup:
    curl_global_cleanup();
    return status;
}
