/*  retry-worker: decides every retry in paymesh.
 *
 *  Takes the jobs that wait for a retry decision from payment-core's worker
 *  socket and answers each with the next step: the same call again after a
 *  backoff, another call (a BazaarPay trace, commit or refund, a bank
 *  status), park for an operator, or expire an unpaid checkout or bank order
 *  (rw_policy). Keeps no state: any number of copies may run, any may be
 *  killed; SIGTERM stops it (exit 0). */
#include <stdlib.h>

#include "pm_config.h"
#include "pm_dealer.h"
#include "pm_ids.h"
#include "pm_log.h"
#include "pm_signal.h"
#include "pm_sock.h"
#include "rw_loop.h"
#include "rw_policy.h"

enum {
    CFG_CORE_WORKER_ENDPOINT,
    CFG_TAKE_MAX,
    CFG_TAKE_WAIT_MS,
    CFG_REQUEST_TIMEOUT_MS,
    CFG_MAX_MSG_BYTES,
    CFG_RETRY_BASE_MS,
    CFG_RETRY_CAP_MS,
    CFG_RETRY_MAX_ATTEMPTS,
    CFG_RETRACE_LIMIT_S,
    CFG_WINDOW_MARGIN_MS,
    CFG_SYNC_LIMIT_S,
    CFG_CURVE_SECRET_KEY_FILE,
    CFG_CURVE_SERVER_PUBLIC_KEY_FILE,
    CFG_LOG_LEVEL,
    CFG_LOG_FORMAT,
    CFG__COUNT
};

static pm_setting_t s_cfg[CFG__COUNT] = {
    [CFG_CORE_WORKER_ENDPOINT] = PM_SETTING_CORE_WORKER_ENDPOINT,
    [CFG_TAKE_MAX] = {"take-max", PM_CFG_INT, "16", 1, 64, "items asked for per RETRY_TAKE"},
    [CFG_TAKE_WAIT_MS] = {"take-wait-ms", PM_CFG_INT, "5000", 0, 30000,
                          "how long payment-core may hold a RETRY_TAKE"},
    [CFG_REQUEST_TIMEOUT_MS] = {"request-timeout-ms", PM_CFG_INT, "3000", 100, 60000,
                                "a request unanswered this long (a take: after its wait) is "
                                "abandoned"},
    [CFG_MAX_MSG_BYTES] = {"max-msg-bytes", PM_CFG_INT, "1048576", 1024, 16777216,
                           "largest message from payment-core"},
    [CFG_RETRY_BASE_MS] = {"retry-base-ms", PM_CFG_INT, "0", 0, 600000,
                           "first delay of every kind (0: each row's own, see README)"},
    [CFG_RETRY_CAP_MS] = {"retry-cap-ms", PM_CFG_INT, "0", 0, 3600000,
                          "longest delay of every kind (0: each row's own)"},
    [CFG_RETRY_MAX_ATTEMPTS] = {"retry-max-attempts", PM_CFG_INT, "0", 0, 100000,
                                "attempts of every kind before it is parked (0: each row's own)"},
    [CFG_RETRACE_LIMIT_S] = {"bazaarpay-retrace-limit-s", PM_CFG_INT, "900", 10, 86400,
                             "an unpaid checkout is re-traced this long, then expired"},
    [CFG_WINDOW_MARGIN_MS] = {"bazaarpay-window-margin-ms", PM_CFG_INT, "30000", 0, 300000,
                              "refund instead of commit this close to the commit window's end"},
    [CFG_SYNC_LIMIT_S] = {"bank-sync-limit-s", PM_CFG_INT, "1800", 60, 86400,
                          "an open bank order is synced this long after its registration, "
                          "then expired or parked"},
    [CFG_CURVE_SECRET_KEY_FILE] = PM_SETTING_CURVE_SECRET_KEY_FILE,
    [CFG_CURVE_SERVER_PUBLIC_KEY_FILE] = PM_SETTING_CURVE_SERVER_PUBLIC_KEY_FILE,
    [CFG_LOG_LEVEL] = PM_SETTING_LOG_LEVEL,
    [CFG_LOG_FORMAT] = PM_SETTING_LOG_FORMAT,
};

int main(int argc, char **argv)
{
    int status;
    if (!pm_config_daemon(s_cfg, CFG__COUNT, CFG_LOG_LEVEL, argc, argv, "retry-worker", &status))
        return status;
    if (pm_sock_curve_client("retry-worker", s_cfg[CFG_CURVE_SECRET_KEY_FILE].sval,
                             s_cfg[CFG_CURVE_SERVER_PUBLIC_KEY_FILE].sval) != 0)
        return 2;
    pm_ids_init(); /* libsodium: the jitter's randomness */
    pm_sock_init();
    pm_signal_install();

    rw_policy_t policy;
    rw_policy_defaults(&policy);
    rw_policy_override(&policy, s_cfg[CFG_RETRY_BASE_MS].ival, s_cfg[CFG_RETRY_CAP_MS].ival,
                       s_cfg[CFG_RETRY_MAX_ATTEMPTS].ival);
    policy.retrace_limit_ms = s_cfg[CFG_RETRACE_LIMIT_S].ival * 1000;
    policy.window_margin_ms = s_cfg[CFG_WINDOW_MARGIN_MS].ival;
    policy.sync_limit_ms = s_cfg[CFG_SYNC_LIMIT_S].ival * 1000;

    rw_loop_config_t cfg = {
        .core_endpoint = s_cfg[CFG_CORE_WORKER_ENDPOINT].sval,
        .take_max = (int)s_cfg[CFG_TAKE_MAX].ival,
        .take_wait_ms = s_cfg[CFG_TAKE_WAIT_MS].ival,
        .request_timeout_ms = s_cfg[CFG_REQUEST_TIMEOUT_MS].ival,
        .max_msg_bytes = s_cfg[CFG_MAX_MSG_BYTES].ival,
        .policy = &policy,
    };
    rw_loop_t *loop = rw_loop_new(&cfg);
    if (!loop)
        return EXIT_FAILURE;
    pm_info("retry-worker ready core=%s take-max=%d take-wait-ms=%lld", cfg.core_endpoint,
            cfg.take_max, (long long)cfg.take_wait_ms);
    for (int k = 0; k < RW_KIND__COUNT; k++) {
        const rw_row_t *r = &policy.rows[k];
        pm_debug("policy %s: base %lld ms, cap %lld ms, max %lld attempts, jitter %lld %%", r->kind,
                 (long long)r->base_ms, (long long)r->cap_ms, (long long)r->max_attempts,
                 (long long)r->jitter_pct);
    }
    status = rw_loop_run(loop) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    pm_info("retry-worker stopped");
    rw_loop_destroy(&loop);
    return status;
}
