#!/usr/bin/env bash
# Production is safe by default (issue 13): provider-bazaar and provider-bank
# run with --environment production unless told otherwise, and then refuse to
# start (exit status 2, naming the setting) while a provider URL points at
# the sandbox (its compose host "sandbox", a loopback address such as the
# sandbox's default 127.0.0.1:8090, or a "/sandbox" path) or a credential is
# still its built-in sandbox value (never printing it). --environment sandbox
# (what make run and lib.sh pass) allows both. The gateway has no sandbox or
# debug route, and its admin page is off unless --admin-page on.
. "$(dirname "$0")/lib.sh"

wp=$(pm_free_port)
W="tcp://127.0.0.1:$wp" # nothing listens there: a provider that starts only waits

# run PROGRAM ARGS...: exit status in RUN_RC, output in $PM_TMP/run.out; a
# program still running after 3 s is stopped (RUN_RC 124: it started).
run() {
    local prog=$1
    shift
    timeout -k 2 3 "$PM_BIN/$prog" --core-worker-endpoint "$W" "$@" >"$PM_TMP/run.out" 2>&1 </dev/null
    RUN_RC=$?
}
# refused LABEL SETTING PROGRAM ARGS...: exit 2 and the output names SETTING.
refused() {
    local label=$1 setting=$2
    shift 2
    run "$@"
    ((RUN_RC == 2)) && grep -qF -- "$setting" "$PM_TMP/run.out"
    check $? "$label" "exit $RUN_RC, said: $(head -c 300 "$PM_TMP/run.out" | tr '\n' ' ')"
}
# starts LABEL PROGRAM ARGS...: still running after 3 s, and said it is ready.
starts() {
    local label=$1
    shift
    run "$@"
    ((RUN_RC == 124)) && grep -q "ready" "$PM_TMP/run.out"
    check $? "$label" "exit $RUN_RC, said: $(head -c 300 "$PM_TMP/run.out" | tr '\n' ' ')"
}

# --- provider-bazaar -----------------------------------------------------------
bz_real=(--bazaar-base-url https://pardakht.cafebazaar.ir/devapi/v2/
    --bazaarpay-base-url https://api.bazaar-pay.ir/badje/v1/)
bz_creds=(--bazaar-client-id prod-client --bazaar-client-secret prod-secret-x
    --bazaar-refresh-token prod-refresh-x --bazaarpay-merchant-token prod-merchant-x)

refused "provider-bazaar: the defaults (the sandbox on 127.0.0.1:8090) are refused" \
    bazaar-base-url provider-bazaar
grep -q "environment" "$PM_TMP/run.out"
check $? "provider-bazaar: the refusal names the environment setting" "$(head -c 300 "$PM_TMP/run.out")"
refused "provider-bazaar: compose's http://sandbox:8090 refused" bazaar-base-url provider-bazaar \
    "${bz_creds[@]}" --bazaarpay-base-url https://api.bazaar-pay.ir/badje/v1/ \
    --bazaar-base-url http://sandbox:8090/devapi/v2/
refused "provider-bazaar: localhost bazaarpay-base-url refused" bazaarpay-base-url provider-bazaar \
    "${bz_creds[@]}" --bazaar-base-url https://pardakht.cafebazaar.ir/devapi/v2/ \
    --bazaarpay-base-url http://localhost:9999/badje/v1/
refused "provider-bazaar: a /sandbox path refused" bazaar-base-url provider-bazaar \
    "${bz_creds[@]}" --bazaarpay-base-url https://api.bazaar-pay.ir/badje/v1/ \
    --bazaar-base-url https://pay.example.com/sandbox/devapi/v2/
refused "provider-bazaar: real URLs with the sandbox's client secret refused" \
    bazaar-client-secret provider-bazaar "${bz_real[@]}" --bazaar-client-id prod-client \
    --bazaar-refresh-token prod-refresh-x --bazaarpay-merchant-token prod-merchant-x
! grep -q "sandbox-secret" "$PM_TMP/run.out"
check $? "provider-bazaar: the refusal does not print the secret" "$(head -c 300 "$PM_TMP/run.out")"
refused "provider-bazaar: the sandbox's merchant token refused" bazaarpay-merchant-token \
    provider-bazaar "${bz_real[@]}" --bazaar-client-id prod-client \
    --bazaar-client-secret prod-secret-x --bazaar-refresh-token prod-refresh-x
refused "provider-bazaar: --environment staging refused" environment provider-bazaar \
    --environment staging
starts "provider-bazaar: production with real URLs and credentials starts" provider-bazaar \
    "${bz_real[@]}" "${bz_creds[@]}"
starts "provider-bazaar: --bazaarpay off needs no BazaarPay settings" provider-bazaar \
    --bazaarpay off --bazaar-base-url https://pardakht.cafebazaar.ir/devapi/v2/ \
    --bazaar-client-id prod-client --bazaar-client-secret prod-secret-x \
    --bazaar-refresh-token prod-refresh-x
starts "provider-bazaar: --environment sandbox allows the sandbox defaults" provider-bazaar \
    --environment sandbox
PAYMESH_ENVIRONMENT=sandbox run provider-bazaar
((RUN_RC == 124))
check $? "provider-bazaar: PAYMESH_ENVIRONMENT=sandbox allows them too" "exit $RUN_RC"

# --- provider-bank -------------------------------------------------------------
bk_real=(--halkbank-base-url https://mpi.gov.tm/payment/rest/
    --tfeb-base-url https://ecomt.tfeb.gov.tm/OrderProcessing_TURK/v1/
    --tfeb-token-url https://3dst.tfeb.gov.tm/identityserver/connect/token)
bk_creds=(--rbs-username prod-rbs --rbs-password prod-rbs-pw-x --tfeb-client-id prod-tfeb
    --tfeb-client-secret prod-tfeb-secret-x --tfeb-merchant-id prod-merchant
    --tfeb-terminal-id prod-terminal)
refused "provider-bank: the defaults (the sandbox on 127.0.0.1:8090) are refused" \
    halkbank-base-url provider-bank
refused "provider-bank: a loopback tfeb-token-url refused" tfeb-token-url provider-bank \
    "${bk_creds[@]}" --halkbank-base-url https://mpi.gov.tm/payment/rest/ \
    --tfeb-base-url https://ecomt.tfeb.gov.tm/OrderProcessing_TURK/v1/ \
    --tfeb-token-url http://127.0.0.1:8090/identityserver/connect/token
refused "provider-bank: real URLs with the sandbox's credentials refused" rbs-username \
    provider-bank "${bk_real[@]}"
run provider-bank "${bk_real[@]}" "${bk_creds[@]:0:4}"
((RUN_RC == 2)) && grep -q tfeb-client-id "$PM_TMP/run.out" && ! grep -q "sandbox-tfeb" "$PM_TMP/run.out"
check $? "provider-bank: the sandbox's tfeb-client-id refused, value not printed" "exit $RUN_RC: $(head -c 300 "$PM_TMP/run.out")"
refused "provider-bank: --environment staging refused" environment provider-bank --environment staging
starts "provider-bank: production with real URLs and credentials starts" provider-bank \
    "${bk_real[@]}" "${bk_creds[@]}"
starts "provider-bank: --environment sandbox allows the sandbox defaults" provider-bank \
    --environment sandbox

# --- the gateway: no sandbox, debug or admin route unless enabled ---------------
pm_start_core
pm_start_gateway
alice=$(pm_token alice)
for p in /admin /admin/ /admin/api/overview /sandbox/bazaar/purchases /sandbox/icons/paid.png \
    /devapi/v2/ /debug /debug/pprof /_debug; do
    http GET "$p" -t "$alice"
    expect_error 404 not_found "gateway: GET $p is 404 by default"
done
