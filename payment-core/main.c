/*  payment-core: the only owner of paymesh's state.
 *
 *  Thin main: settings, logging, sockets, signals, the db, then the loop
 *  until SIGINT/SIGTERM; teardown in reverse. Everything else lives in the
 *  modules: store (LMDB), dispatch (batches), core (sockets and loop). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "pm_config.h"
#include "pm_ids.h"
#include "pm_log.h"
#include "pm_signal.h"
#include "pm_sock.h"
#include "db.h"

enum {
    CFG_DATA_DIR,
    CFG_API_ENDPOINT,
    CFG_ADMIN_ENDPOINT,
    CFG_WORKER_ENDPOINT,
    CFG_MAP_SIZE_MB,
    CFG_MAX_BATCH,
    CFG_MAX_MSG_BYTES,
    CFG_HWM,
    CFG_IDEM_TTL_S,
    CFG_SWEEP_INTERVAL_MS,
    CFG_SWEEP_BATCH,
    CFG_MAX_AMOUNT_MINOR,
    CFG_MAX_PACKAGES,
    CFG_MAX_WAITERS,
    CFG_JOB_LEASE_MS,
    CFG_BAZAARPAY_COMMIT_WINDOW_S,
    CFG_BANK_RETURN_URL,
    CFG_HALKBANK_TWO_PHASE,
    CFG_JOB_MAX_ATTEMPTS,
    CFG_CURVE_SECRET_KEY_FILE,
    CFG_CURVE_CLIENTS_DIR,
    CFG_LOG_LEVEL,
    CFG_LOG_FORMAT,
    CFG__COUNT
};

static pm_setting_t s_cfg[CFG__COUNT] = {
    [CFG_DATA_DIR] = {"data-dir", PM_CFG_STR, "./var", 1, 200,
                      "directory of the LMDB files (created if missing)"},
    [CFG_API_ENDPOINT] = {"api-endpoint", PM_CFG_STR, "tcp://127.0.0.1:7100", 1, 200,
                          "ROUTER endpoint the gateways connect to"},
    [CFG_ADMIN_ENDPOINT] = {"admin-endpoint", PM_CFG_STR, "", 0, 200,
                            "ROUTER endpoint for paymentctl; empty: ipc://<data-dir>/admin.sock"},
    [CFG_WORKER_ENDPOINT] = {"worker-endpoint", PM_CFG_STR, "tcp://127.0.0.1:7101", 1, 200,
                             "ROUTER endpoint provider workers connect to (JOB_TAKE, JOB_RESULT)"},
    [CFG_MAP_SIZE_MB] = {"map-size-mb", PM_CFG_INT, "1024", 16, 1048576,
                         "LMDB map size (largest the data may grow), MiB"},
    [CFG_MAX_BATCH] = {"max-batch", PM_CFG_INT, "256", 1, 4096,
                       "requests committed together in one transaction"},
    [CFG_MAX_MSG_BYTES] = {"max-msg-bytes", PM_CFG_INT, "65536", 1024, 1048576,
                           "largest message accepted"},
    [CFG_HWM] = {"hwm", PM_CFG_INT, "10000", 100, 1000000, "socket queue depth, messages"},
    [CFG_IDEM_TTL_S] = {"idempotency-ttl-s", PM_CFG_INT, "86400", 86400, 2592000,
                        "idempotency keys are kept at least this long"},
    [CFG_SWEEP_INTERVAL_MS] = {"sweep-interval-ms", PM_CFG_INT, "60000", 100, 3600000,
                               "time between sweeps of expired idempotency keys"},
    [CFG_SWEEP_BATCH] = {"sweep-batch", PM_CFG_INT, "1000", 1, 100000,
                         "idempotency keys deleted per sweep at most"},
    [CFG_MAX_AMOUNT_MINOR] = {"max-amount-minor", PM_CFG_INT, "1000000000000000", 1,
                              9007199254740991, "largest amount accepted, minor units"},
    [CFG_MAX_PACKAGES] = {"max-packages", PM_CFG_INT, "10000", 1, 1000000,
                          "packages the catalog may hold"},
    [CFG_MAX_WAITERS] = {"max-waiters", PM_CFG_INT, "10000", 1, 1000000,
                         "redeem requests waiting for Bazaar at once; more are refused (503)"},
    [CFG_JOB_LEASE_MS] = {"job-lease-ms", PM_CFG_INT, "30000", 500, 600000,
                          "a job taken by a worker is offered again after this long"},
    [CFG_BAZAARPAY_COMMIT_WINDOW_S] = {"bazaarpay-commit-window-s", PM_CFG_INT, "600", 10, 86400,
                                       "BazaarPay returns an uncommitted payment after this"},
    [CFG_BANK_RETURN_URL] = {"bank-return-url", PM_CFG_STR,
                             "http://127.0.0.1:8090/sandbox/icons/returned.png", 8, 512,
                             "where a bank's payment page sends the payer back (seed 004)"},
    [CFG_HALKBANK_TWO_PHASE] = {"halkbank-two-phase", PM_CFG_STR, "off", 2, 3,
                                "on: Halkbank orders are pre-authorized, then deposited"},
    [CFG_JOB_MAX_ATTEMPTS] =
        {"job-max-attempts", PM_CFG_INT, "1000", 1, 100000,
         "calls after which a job is parked whatever retry-worker says (a backstop)"},
    [CFG_CURVE_SECRET_KEY_FILE] = {"curve-secret-key-file", PM_CFG_STR, "", 0, 255,
                                   "CURVE server key pair of the api and worker sockets "
                                   "(paymentctl keygen NAME.key); empty: plaintext"},
    [CFG_CURVE_CLIENTS_DIR] = {"curve-clients-dir", PM_CFG_STR, "", 0, 255,
                               "directory of the accepted clients' CURVE public keys (NAME.pub); "
                               "with curve-secret-key-file"},
    [CFG_LOG_LEVEL] = PM_SETTING_LOG_LEVEL,
    [CFG_LOG_FORMAT] = PM_SETTING_LOG_FORMAT,
};

int main(int argc, char **argv)
{
    int status;
    if (!pm_config_daemon(s_cfg, CFG__COUNT, CFG_LOG_LEVEL, argc, argv, "payment-core", &status))
        return status;
    const char *two_phase = s_cfg[CFG_HALKBANK_TWO_PHASE].sval;
    if (strcmp(two_phase, "on") != 0 && strcmp(two_phase, "off") != 0) {
        fprintf(stderr, "payment-core: --halkbank-two-phase must be on or off, not '%s'\n",
                two_phase);
        return 2;
    }
    const char *curve_key = s_cfg[CFG_CURVE_SECRET_KEY_FILE].sval;
    const char *curve_dir = s_cfg[CFG_CURVE_CLIENTS_DIR].sval;
    pm_curve_keys_t curve;
    if (!curve_key[0] != !curve_dir[0]) {
        fprintf(stderr,
                "payment-core: curve-secret-key-file and curve-clients-dir go together: %s is "
                "set, %s is not\n",
                curve_key[0] ? "curve-secret-key-file" : "curve-clients-dir",
                curve_key[0] ? "curve-clients-dir" : "curve-secret-key-file");
        return 2;
    }
    if (curve_key[0]) {
        char why[512];
        struct stat st;
        if (pm_curve_load(curve_key, true, &curve, why, sizeof why) != 0) {
            fprintf(stderr, "payment-core: curve-secret-key-file: %s\n", why);
            return 2;
        }
        if (stat(curve_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "payment-core: curve-clients-dir: %s is not a directory\n", curve_dir);
            return 2;
        }
    }
    const char *data_dir = s_cfg[CFG_DATA_DIR].sval;
    char admin[256];
    if (s_cfg[CFG_ADMIN_ENDPOINT].sval[0])
        snprintf(admin, sizeof admin, "%s", s_cfg[CFG_ADMIN_ENDPOINT].sval);
    else
        snprintf(admin, sizeof admin, "ipc://%s/admin.sock", data_dir);

    pm_sock_init();
    pm_signal_install();
    pm_ids_init();
    status = 1;
    db_t *db = db_open(data_dir, s_cfg[CFG_MAP_SIZE_MB].ival);
    if (!db)
        goto shutdown_sockets;
    core_config_t cfg = {
        .api_endpoint = s_cfg[CFG_API_ENDPOINT].sval,
        .admin_endpoint = admin,
        .worker_endpoint = s_cfg[CFG_WORKER_ENDPOINT].sval,
        .limits = {.max_packages = s_cfg[CFG_MAX_PACKAGES].ival,
                   .max_waiters = s_cfg[CFG_MAX_WAITERS].ival,
                   .job_lease_ms = s_cfg[CFG_JOB_LEASE_MS].ival,
                   .bank_return_url = s_cfg[CFG_BANK_RETURN_URL].sval,
                   .halkbank_two_phase = strcmp(s_cfg[CFG_HALKBANK_TWO_PHASE].sval, "on") == 0,
                   .bazaarpay_commit_window_ms = s_cfg[CFG_BAZAARPAY_COMMIT_WINDOW_S].ival * 1000,
                   .job_max_attempts = s_cfg[CFG_JOB_MAX_ATTEMPTS].ival},
        .max_batch = (int)s_cfg[CFG_MAX_BATCH].ival,
        .max_msg_bytes = s_cfg[CFG_MAX_MSG_BYTES].ival,
        .hwm = (int)s_cfg[CFG_HWM].ival,
        .idem_ttl_s = s_cfg[CFG_IDEM_TTL_S].ival,
        .sweep_interval_ms = s_cfg[CFG_SWEEP_INTERVAL_MS].ival,
        .sweep_batch = s_cfg[CFG_SWEEP_BATCH].ival,
        .max_amount_minor = s_cfg[CFG_MAX_AMOUNT_MINOR].ival,
        .curve = curve_key[0] ? &curve : NULL,
        .curve_clients_dir = curve_key[0] ? curve_dir : NULL,
    };
    core_t *core = core_new(db, &cfg);
    if (!core)
        goto close_store;
    if (curve_key[0])
        pm_info("CURVE on the api and worker sockets: server key %s, clients accepted from %s",
                curve_key, curve_dir);
    pm_info("payment-core ready api=%s admin=%s worker=%s data=%s", core_api_endpoint(core),
            core_admin_endpoint(core), core_worker_endpoint(core), data_dir);
    if (core_run(core) == 0)
        status = 0;
    pm_info("payment-core stopping");
    core_destroy(&core);
close_store:
    db_destroy(&db);
shutdown_sockets:
    zsys_shutdown();
    return status;
}
