# lib.sh: helpers for paymesh integration tests. Source it from a t_*.sh file.
#
# A test starts the real daemons on free loopback ports with a data directory
# of its own, drives them with curl and checks each answer:
#
#     . "$(dirname "$0")/lib.sh"
#     pm_start_core
#     pm_methods bob                           # bob takes card-1 etc. (issue 11)
#     pm_start_gateway
#     alice=$(pm_token alice)
#     http POST /api/v1/payment/create -t "$alice" -d "$body"
#     expect_status 200 "alice creates"
#     expect_json .transaction_id "" "..."     # see below
#
# Every process started here is stopped by its PID when the test exits
# (SIGTERM, then SIGKILL after PM_STOP_TIMEOUT_S); a daemon must exit 0 on
# SIGTERM and its log must hold no sanitizer report. The test's totals are
# printed as "NAME: N passed, N failed" and appended to $PM_RESULTS when set
# (scripts/test.sh sums them). Nothing here listens beyond 127.0.0.1.
#
# Environment: PAYMESH_BIN (default bin) holds the programs under test;
# PM_KEEP_TMP=1 keeps the temporary directory (it is also kept, and named,
# when a check failed).

set -uo pipefail

PM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PM_TEST=$(basename "$0" .sh)
PM_BIN=${PAYMESH_BIN:-bin}
[[ $PM_BIN == /* ]] || PM_BIN="$PM_ROOT/$PM_BIN"
PM_READY_TIMEOUT_S=${PM_READY_TIMEOUT_S:-10}
PM_STOP_TIMEOUT_S=${PM_STOP_TIMEOUT_S:-10}
PM_CURL_MAX_TIME_S=${PM_CURL_MAX_TIME_S:-10}

# Settings of the daemons come from flags here, never from the caller's
# environment: a stray PAYMESH_CORE_TIMEOUT_MS must not change a test.
for _v in $(compgen -e PAYMESH_); do
    [[ $_v == PAYMESH_BIN ]] || unset "$_v"
done
unset _v

PM_PASSED=0
PM_FAILED=0
PM_PIDS=()             # every daemon started and not yet reaped
declare -A PM_PID_LOG  # pid -> its log file
declare -A PM_PID_NAME # pid -> program name
PM_PORTS_TAKEN=" "     # ports handed out by this test, so two picks differ

PM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pm-$PM_TEST.XXXXXX") || exit 1
PM_DATA="$PM_TMP/data" # payment-core's data directory unless a test picks another
mkdir -p "$PM_DATA"

# --- reporting --------------------------------------------------------------

pm_note() { printf '  %s\n' "$*"; }

pass() {
    PM_PASSED=$((PM_PASSED + 1))
    [[ -z ${PM_VERBOSE:-} ]] || printf '  ok   %s\n' "$1"
}

# fail LABEL REASON: a failed check, printed with the last request and the
# body it got.
fail() {
    PM_FAILED=$((PM_FAILED + 1))
    printf '  FAIL %s: %s\n' "$1" "$2"
    if [[ -n ${RESP_REQ:-} ]]; then
        printf '       request: %s\n' "$RESP_REQ"
        printf '       response: %s %s\n' "${RESP_STATUS:-}" "$(pm_body_excerpt)"
    fi
}

# A fatal setup error: counted as a failure, then the test ends. From inside
# a command substitution it ends the test through SIGTERM to the test's shell.
pm_fatal() {
    printf '  FATAL %s\n' "$*" >&2
    if [[ $BASHPID != "$$" ]]; then
        kill -TERM "$$"
        exit 1
    fi
    PM_FAILED=$((PM_FAILED + 1))
    exit 1
}

pm_body_excerpt() {
    [[ -f $PM_TMP/resp.body ]] || return 0
    head -c 600 "$PM_TMP/resp.body" | tr -c '[:print:]\n' '?' | tr '\n' ' '
    [[ $(stat -c %s "$PM_TMP/resp.body") -le 600 ]] || printf '...'
}

# --- ports and processes ----------------------------------------------------

pm_port_busy() {
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Htan "sport = :$1" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# pm_free_port: prints a loopback port nothing listens on, not given out before.
pm_free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 30000))
        [[ $PM_PORTS_TAKEN == *" $p "* ]] && continue
        pm_port_busy "$p" && continue
        PM_PORTS_TAKEN+="$p "
        echo "$p"
        return 0
    done
    pm_fatal "no free loopback port found"
}

# pm_alive PID: true while the process runs. A child that exited but was not
# reaped yet is a zombie, which kill -0 still finds: read its state instead.
pm_alive() {
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && ${st:0:1} != Z && ${st:0:1} != X ]]
}

# pm_spawn NAME LOG PROGRAM ARGS...: starts a program in the background with
# stdout and stderr in LOG; sets PM_LAST_PID.
pm_spawn() {
    local name=$1 log=$2
    shift 2
    [[ -x $1 ]] || pm_fatal "$1 is not built (PAYMESH_BIN=$PM_BIN)"
    printf '# %s\n' "$*" >>"$log"
    "$@" </dev/null >>"$log" 2>&1 &
    PM_LAST_PID=$!
    PM_PIDS+=("$PM_LAST_PID")
    PM_PID_LOG[$PM_LAST_PID]=$log
    PM_PID_NAME[$PM_LAST_PID]=$name
}

# pm_wait_ready PID PATTERN: waits up to PM_READY_TIMEOUT_S for PATTERN in
# the process's log; fails the test with the log's tail if it does not come.
pm_wait_ready() {
    local pid=$1 pattern=$2 log=${PM_PID_LOG[$1]} i
    for ((i = 0; i < PM_READY_TIMEOUT_S * 20; i++)); do
        grep -q -- "$pattern" "$log" 2>/dev/null && return 0
        if ! pm_alive "$pid"; then
            printf '  %s (pid %s) exited before it was ready; log tail:\n' "${PM_PID_NAME[$pid]}" "$pid"
            tail -n 20 "$log" | sed 's/^/    | /'
            pm_reap "$pid"
            pm_fatal "${PM_PID_NAME[$pid]} did not start"
        fi
        sleep 0.05
    done
    printf '  %s (pid %s) not ready after %ss; log tail:\n' "${PM_PID_NAME[$pid]}" "$pid" "$PM_READY_TIMEOUT_S"
    tail -n 20 "$log" | sed 's/^/    | /'
    pm_fatal "${PM_PID_NAME[$pid]} not ready"
}

# pm_sanitizer_check PID: a failure when the process's log holds a sanitizer
# report. Called once a process has exited.
pm_sanitizer_check() {
    local pid=$1 log=${PM_PID_LOG[$1]}
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$log" 2>/dev/null; then
        RESP_REQ=""
        fail "${PM_PID_NAME[$pid]} (pid $pid)" "sanitizer report in $log:"
        grep -m1 -A 25 -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$log" | sed 's/^/    | /'
        PM_KEEP=1
    fi
}

pm_forget() {
    local pid=$1 p keep=()
    for p in "${PM_PIDS[@]}"; do
        [[ $p == "$pid" ]] || keep+=("$p")
    done
    PM_PIDS=("${keep[@]}")
}

# pm_reap PID: collects an exited process; sets PM_EXIT_CODE.
pm_reap() {
    local pid=$1
    wait "$pid" 2>/dev/null
    PM_EXIT_CODE=$?
    pm_forget "$pid"
    pm_sanitizer_check "$pid"
}

# pm_stop PID: SIGTERM, wait up to PM_STOP_TIMEOUT_S, then SIGKILL. A daemon
# that does not exit 0 on SIGTERM fails the test.
pm_stop() {
    local pid=$1 i name=${PM_PID_NAME[$1]}
    if pm_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < PM_STOP_TIMEOUT_S * 20; i++)); do
            pm_alive "$pid" || break
            sleep 0.05
        done
        if pm_alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null
            pm_reap "$pid"
            RESP_REQ=""
            fail "$name (pid $pid)" "did not exit within ${PM_STOP_TIMEOUT_S}s of SIGTERM; killed"
            return 1
        fi
    fi
    pm_reap "$pid"
    RESP_REQ=""
    if [[ $PM_EXIT_CODE -eq 0 ]]; then
        pass "$name exits 0 on SIGTERM"
    else
        fail "$name (pid $pid)" "exit status $PM_EXIT_CODE after SIGTERM, want 0; log ${PM_PID_LOG[$pid]}"
        tail -n 10 "${PM_PID_LOG[$pid]}" | sed 's/^/    | /'
        PM_KEEP=1
    fi
}

# pm_kill9 PID: SIGKILL, then reap.
pm_kill9() {
    kill -KILL "$1" 2>/dev/null
    pm_reap "$1"
}


# --- the daemons ------------------------------------------------------------

# pm_core_has_worker: true when payment-core has the worker socket
# (--worker-endpoint, issue 3); asked once, from its --help.
pm_core_has_worker() {
    if [[ -z ${PM_CORE_HAS_WORKER:-} ]]; then
        PM_CORE_HAS_WORKER=no
        timeout 5 "$PM_BIN/payment-core" --help 2>&1 | grep -q -- '--worker-endpoint' && PM_CORE_HAS_WORKER=yes
    fi
    [[ $PM_CORE_HAS_WORKER == yes ]]
}

# pm_has_flag PROGRAM FLAG: true when PROGRAM's --help lists FLAG (asked once
# per program), so that a helper passes a setting only to a daemon that has it.
declare -A PM_HELP_TEXT
pm_has_flag() {
    if [[ -z ${PM_HELP_TEXT[$1]+x} ]]; then
        PM_HELP_TEXT[$1]=$(timeout 5 "$PM_BIN/$1" --help 2>&1)
    fi
    [[ ${PM_HELP_TEXT[$1]} == *"$2 "* || ${PM_HELP_TEXT[$1]} == *"$2="* || ${PM_HELP_TEXT[$1]} == *"$2"$'\n'* ]]
}

# pm_start_core [FLAG...]: starts payment-core on PM_DATA, CORE_PORT and (when
# the core has one) its worker socket on WORKER_PORT (both picked on the first
# call, kept on restarts, so provider workers reconnect); sets CORE_PID.
pm_start_core() {
    : "${CORE_PORT:=$(pm_free_port)}"
    CORE_ENDPOINT="tcp://127.0.0.1:$CORE_PORT"
    local worker=()
    if pm_core_has_worker; then
        : "${WORKER_PORT:=$(pm_free_port)}"
        WORKER_ENDPOINT="tcp://127.0.0.1:$WORKER_PORT"
        worker=(--worker-endpoint "$WORKER_ENDPOINT")
    fi
    CORE_STARTS=$((${CORE_STARTS:-0} + 1))
    pm_spawn payment-core "$PM_TMP/core.$CORE_STARTS.log" "$PM_BIN/payment-core" \
        --data-dir "$PM_DATA" --api-endpoint "$CORE_ENDPOINT" "${worker[@]}" "$@"
    CORE_PID=$PM_LAST_PID
    pm_wait_ready "$CORE_PID" "payment-core ready"
}

# pm_start_gateway [FLAG...]: starts api-gateway on a free port against
# CORE_PORT; sets GW_PID, GW_PORT and BASE (http://127.0.0.1:GW_PORT).
pm_start_gateway() {
    : "${CORE_PORT:=$(pm_free_port)}"
    GW_PORT=$(pm_free_port)
    BASE="http://127.0.0.1:$GW_PORT"
    GW_STARTS=$((${GW_STARTS:-0} + 1))
    pm_spawn api-gateway "$PM_TMP/gateway.$GW_STARTS.log" "$PM_BIN/api-gateway" \
        --http-host 127.0.0.1 --http-port "$GW_PORT" \
        --core-endpoint "tcp://127.0.0.1:$CORE_PORT" "$@"
    GW_PID=$PM_LAST_PID
    pm_wait_ready "$GW_PID" "api-gateway listening on http://"
}

# pm_start_sandbox [FLAG...]: starts the provider sandbox (fake Cafe Bazaar
# and BazaarPay) on a free port; sets SANDBOX_PID, SANDBOX_PORT, SANDBOX_URL
# (http://127.0.0.1:PORT), BAZAAR_BASE_URL (its /devapi/v2/) and
# BAZAARPAY_BASE_URL (its /badje/v1/).
pm_start_sandbox() {
    : "${SANDBOX_PORT:=$(pm_free_port)}"
    SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT"
    BAZAAR_BASE_URL="$SANDBOX_URL/devapi/v2/"
    BAZAARPAY_BASE_URL="$SANDBOX_URL/badje/v1/"
    SANDBOX_STARTS=$((${SANDBOX_STARTS:-0} + 1))
    pm_spawn sandbox "$PM_TMP/sandbox.$SANDBOX_STARTS.log" "$PM_BIN/sandbox" \
        --http-host 127.0.0.1 --http-port "$SANDBOX_PORT" "$@"
    SANDBOX_PID=$PM_LAST_PID
    pm_wait_ready "$SANDBOX_PID" "sandbox listening on http://"
}

# The package name every test's catalog is sold under at the sandbox.
PM_BAZAAR_PACKAGE=com.paymesh.demo

# pm_start_provider_bazaar [FLAG...]: starts one more provider-bazaar against
# the core's worker socket and the sandbox, Cafe Bazaar and (when it has the
# settings) BazaarPay alike (several copies may run); sets PB_PID (the new
# one) and appends it to PB_PIDS.
pm_start_provider_bazaar() {
    [[ -n ${WORKER_ENDPOINT:-} ]] || pm_fatal "pm_start_provider_bazaar: payment-core has no worker endpoint (start the core first; is it built with --worker-endpoint?)"
    [[ -n ${BAZAAR_BASE_URL:-} ]] || pm_fatal "pm_start_provider_bazaar: start the sandbox first"
    PB_STARTS=$((${PB_STARTS:-0} + 1))
    local bp=()
    pm_has_flag provider-bazaar --bazaarpay-base-url &&
        bp=(--bazaarpay-base-url "$BAZAARPAY_BASE_URL" --bazaarpay-merchant-token "$PM_BAZAARPAY_MERCHANT_TOKEN"
            --bazaarpay-destination "$PM_BAZAARPAY_DESTINATION")
    pm_spawn provider-bazaar "$PM_TMP/provider-bazaar.$PB_STARTS.log" "$PM_BIN/provider-bazaar" \
        --environment sandbox --core-worker-endpoint "$WORKER_ENDPOINT" --bazaar-base-url "$BAZAAR_BASE_URL" \
        --bazaar-package-name "$PM_BAZAAR_PACKAGE" "${bp[@]}" "$@"
    PB_PID=$PM_LAST_PID
    PB_PIDS+=" $PB_PID"
    pm_wait_ready "$PB_PID" "provider-bazaar ready"
}

# pm_start_provider_bank [FLAG...]: starts one more provider-bank against the
# core's worker socket and the sandbox's two banks; sets PBK_PID.
pm_start_provider_bank() {
    [[ -n ${WORKER_ENDPOINT:-} ]] || pm_fatal "pm_start_provider_bank: start payment-core first"
    [[ -n ${SANDBOX_URL:-} ]] || pm_fatal "pm_start_provider_bank: start the sandbox first"
    PBK_STARTS=$((${PBK_STARTS:-0} + 1))
    pm_spawn provider-bank "$PM_TMP/provider-bank.$PBK_STARTS.log" "$PM_BIN/provider-bank" \
        --environment sandbox --core-worker-endpoint "$WORKER_ENDPOINT" \
        --halkbank-base-url "$SANDBOX_URL/payment/rest/" \
        --tfeb-base-url "$SANDBOX_URL/OrderProcessing_TURK/v1/" \
        --tfeb-token-url "$SANDBOX_URL/identityserver/connect/token" "$@"
    PBK_PID=$PM_LAST_PID
    pm_wait_ready "$PBK_PID" "provider-bank ready"
}

# pm_browser_deps: Debian's chromium and the pinned playwright-core, installed
# when missing (scripts/deps.sh --browser).
pm_browser_deps() {
    BROWSER_TIMEOUT_S=40
    if [[ ! -x /usr/bin/chromium || ! -f $PM_ROOT/node_modules/playwright-core/package.json ]]; then
        pm_note "installing the browser test's dependencies (scripts/deps.sh --browser)"
        timeout 600 "$PM_ROOT/scripts/deps.sh" --browser >"$PM_TMP/deps.log" 2>&1 ||
            pm_fatal "scripts/deps.sh --browser failed: $(tail -n 5 "$PM_TMP/deps.log")"
    fi
    command -v node >/dev/null || pm_fatal "no node"
}

# pm_browse URL EXPECT BUTTON LABEL: headless Chromium (tests/browser/
# bazaarpay_checkout.mjs) opens URL, clicks #BUTTON and must land on EXPECT;
# bounded in time, run in the background and waited for by its PID (stopped
# by it if it hangs). Screenshots in the test's directory.
pm_browse() {
    local out="$PM_TMP/browser.$4"
    mkdir -p "$out"
    (cd "$PM_ROOT" && exec timeout -k 5 "$BROWSER_TIMEOUT_S" node tests/browser/bazaarpay_checkout.mjs \
        --url "$1" --expect "$2" --out "$out" --button "$3" --timeout-ms 20000) \
        >"$out/result.json" 2>"$out/stderr.log" &
    local pid=$!
    PM_HELPER_PIDS+=" $pid"
    wait "$pid"
    BROWSE_RC=$?
    PM_HELPER_PIDS=${PM_HELPER_PIDS/ $pid/}
    BROWSE_JSON=$(tail -n 1 "$out/result.json" 2>/dev/null)
    ((BROWSE_RC == 0))
    check $? "$4: the browser clicked #$3 and landed on $2" "exit $BROWSE_RC: $BROWSE_JSON $(tail -n 5 "$out/stderr.log" 2>/dev/null)"
    jq -e '.ok == true and (.screenshots | length) == 2' <<<"$BROWSE_JSON" >/dev/null 2>&1
    check $? "$4: two screenshots taken" "result: $BROWSE_JSON"
    local f ok=1
    for f in $(jq -r '.screenshots[]?' <<<"$BROWSE_JSON" 2>/dev/null); do
        [[ -s $f && $(head -c 8 "$f" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || ok=0
    done
    ((ok))
    check $? "$4: the screenshots are PNG files" "files: $(ls -la "$out" 2>/dev/null | tr '\n' ' ')"
    pm_note "$4: $(jq -c '{title, landed, ms}' <<<"$BROWSE_JSON" 2>/dev/null)"
}

# pm_start_store [--core FLAGS... --] [--provider FLAGS... --] [--gateway FLAGS... --]:
# the whole store stack: core (with worker socket), gateway, sandbox, one
# provider-bazaar and, once it is built, one retry-worker (PM_RW_FLAGS).
pm_start_store() {
    local core=() prov=() gw=() into=""
    while (($#)); do
        case $1 in
        --core | --provider | --gateway) into=${1#--} ;;
        --) into="" ;;
        *) case $into in
            core) core+=("$1") ;; provider) prov+=("$1") ;; gateway) gw+=("$1") ;;
            *) pm_fatal "pm_start_store: stray argument $1" ;;
            esac ;;
        esac
        shift
    done
    pm_start_core "${core[@]}"
    pm_core_has_worker || pm_fatal "payment-core ($PM_BIN) has no --worker-endpoint"
    pm_start_gateway "${gw[@]}"
    pm_start_sandbox
    pm_start_provider_bazaar "${prov[@]}"
    # Failed store jobs wait for retry-worker's decision (issue 10).
    [[ ! -x $PM_BIN/retry-worker ]] || pm_start_retry_worker
}

# --- retry-worker (issue 10) ---------------------------------------------------

# Short retry settings, so that a test sees several attempts in seconds: the
# first retry after ~200 ms, at most 1 s apart. A test may set PM_RW_FLAGS
# (an array) before it starts one.
if [[ -z ${PM_RW_FLAGS+x} ]]; then
    PM_RW_FLAGS=(--retry-base-ms 200 --retry-cap-ms 1000)
fi
PM_RW_READY=${PM_RW_READY:-retry-worker ready}

# pm_start_retry_worker [FLAG...]: starts one more retry-worker against the
# core's worker socket with PM_RW_FLAGS and FLAG...; sets RW_PID (the new one)
# and appends it to RW_PIDS. Several copies may run at once.
pm_start_retry_worker() {
    [[ -n ${WORKER_ENDPOINT:-} ]] || pm_fatal "pm_start_retry_worker: start payment-core (with its worker socket) first"
    RW_STARTS=$((${RW_STARTS:-0} + 1))
    pm_spawn retry-worker "$PM_TMP/retry-worker.$RW_STARTS.log" "$PM_BIN/retry-worker" \
        --core-worker-endpoint "$WORKER_ENDPOINT" "${PM_RW_FLAGS[@]}" "$@"
    RW_PID=$PM_LAST_PID
    RW_PIDS+=" $RW_PID"
    RW_LAST_FLAGS=("$@")
    pm_wait_ready "$RW_PID" "$PM_RW_READY"
}

# pm_kill9_retry_worker [PID]: SIGKILLs a retry-worker (default: the latest,
# RW_PID) and forgets it.
pm_kill9_retry_worker() {
    local pid=${1:-${RW_PID:-}} p keep=""
    [[ -n $pid ]] || pm_fatal "pm_kill9_retry_worker: no retry-worker running"
    pm_kill9 "$pid"
    for p in ${RW_PIDS:-}; do [[ $p == "$pid" ]] || keep+=" $p"; done
    RW_PIDS=$keep
    [[ ${RW_PID:-} != "$pid" ]] || RW_PID=""
}

# pm_restart_retry_worker [FLAG...]: SIGKILL the latest retry-worker, then start
# a new one (with FLAG..., or the flags the killed one had).
pm_restart_retry_worker() {
    local flags=("$@")
    (($#)) || flags=("${RW_LAST_FLAGS[@]}")
    [[ -z ${RW_PID:-} ]] || pm_kill9_retry_worker "$RW_PID"
    pm_start_retry_worker "${flags[@]}"
}

# pm_stop_retry_workers: stops every retry-worker by its PID (SIGTERM; each
# must exit 0).
pm_stop_retry_workers() {
    local p
    for p in ${RW_PIDS:-}; do pm_alive "$p" && pm_stop "$p"; done
    RW_PIDS=""
    RW_PID=""
}

# pm_store_pids: every store daemon still tracked (for expect_alive).
pm_store_pids() {
    local p
    printf '%s ' ${CORE_PID:-} ${GW_PID:-} ${SANDBOX_PID:-}
    for p in ${PB_PIDS:-} ${RW_PIDS:-}; do pm_alive "$p" && printf '%s ' "$p"; done
}

# sb METHOD PATH [BODY]: one request to the sandbox (admin or devapi); sets
# SB_STATUS and SB_BODY (also in $PM_TMP/sb.body).
sb() {
    local args=(-sS -X "$1" --max-time "$PM_CURL_MAX_TIME_S" --noproxy '*' -o "$PM_TMP/sb.body" -w '%{http_code}')
    (($# > 2)) && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    : >"$PM_TMP/sb.body"
    SB_STATUS=$(curl "${args[@]}" "$SANDBOX_URL$2" 2>>"$PM_TMP/sb.curlerr")
    [[ -n $SB_STATUS ]] || SB_STATUS=000
    SB_BODY=$(cat "$PM_TMP/sb.body")
}

# sb_buy SKU: the Bazaar app buys SKU; prints the new purchase token.
sb_buy() {
    sb POST /sandbox/bazaar/purchases "{\"package_name\":\"$PM_BAZAAR_PACKAGE\",\"sku\":\"$1\"}"
    [[ $SB_STATUS == 201 ]] || pm_fatal "sandbox: buying $1 answered $SB_STATUS $SB_BODY"
    local t
    t=$(jq -er '.purchase_token' <<<"$SB_BODY") || pm_fatal "sandbox: no purchase_token in $SB_BODY"
    printf '%s' "$t"
}

# sb_refund TOKEN: Bazaar refunds the purchase.
sb_refund() {
    sb POST "/sandbox/bazaar/purchases/$1/refund" '{}'
    [[ $SB_STATUS == 2?? ]] || pm_fatal "sandbox: refund of $1 answered $SB_STATUS $SB_BODY"
}

# sb_fault JSON: injects a fault (see docs/operations.md, the sandbox).
sb_fault() {
    sb POST /sandbox/faults "$1"
    [[ $SB_STATUS == 2?? ]] || pm_fatal "sandbox: fault $1 answered $SB_STATUS $SB_BODY"
}
sb_clear_faults() {
    sb DELETE /sandbox/faults
    [[ $SB_STATUS == 2?? ]] || pm_fatal "sandbox: DELETE /sandbox/faults answered $SB_STATUS $SB_BODY"
}
sb_clear_calls() {
    sb DELETE /sandbox/calls
    [[ $SB_STATUS == 2?? ]] || pm_fatal "sandbox: DELETE /sandbox/calls answered $SB_STATUS $SB_BODY"
}

# sb_calls KIND [TOKEN]: prints the number of Bazaar devapi calls of KIND
# (validate | consume) the sandbox saw, optionally only those naming TOKEN in
# the path; sb_calls_ok counts those answered 200 without a fault.
sb_calls() {
    sb GET '/sandbox/calls?service=bazaar'
    jq -r --arg k "/api/$1/" --arg t "${2:-}" \
        '[.calls[] | select((.path | contains($k)) and ($t == "" or (.path | contains($t))))] | length' \
        <<<"$SB_BODY" 2>/dev/null || echo -1
}
sb_calls_ok() {
    sb GET '/sandbox/calls?service=bazaar'
    jq -r --arg k "/api/$1/" \
        '[.calls[] | select((.path | contains($k)) and .status == 200 and ((.fault // "") == ""))] | length' \
        <<<"$SB_BODY" 2>/dev/null || echo -1
}

# sb_consumed TOKEN: true when the sandbox shows the purchase consumed
# (Bazaar's consumptionState 0).
sb_consumed() {
    sb GET "/sandbox/bazaar/purchases/$1"
    [[ $SB_STATUS == 200 ]] && jq -e '(.consumptionState == 0) or (.consumption_state == 0) or (.consumed == true) or (.state == "consumed")' <<<"$SB_BODY" >/dev/null 2>&1
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds;
# false after SECONDS.
wait_until() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# pm_ctl ARGS...: runs paymentctl against PM_DATA (bounded to 10 s).
pm_ctl() {
    timeout 10 "$PM_BIN/paymentctl" --data-dir "$PM_DATA" "$@" 2>>"$PM_TMP/paymentctl.log"
}

# pm_token PRINCIPAL [ROLE]: prints a new API token.
pm_token() {
    local t
    t=$(pm_ctl token create --principal "$1" --role "${2:-user}") || pm_fatal "paymentctl token create --principal $1 failed: $(tail -n 3 "$PM_TMP/paymentctl.log")"
    [[ -n $t ]] || pm_fatal "paymentctl token create printed nothing"
    printf '%s' "$t"
}

# The free-form payment method ids the payment tests use (create_body's
# default card-1 among them) and every currency payment-core knows.
PM_METHOD_IDS=(card-1 card-2 card-a iban-9 m)
PM_METHOD_CURRENCIES=BTC,EUR,GBP,IRR,IRT,RUB,TMT,TRY,USD

# pm_methods PRINCIPAL...: registers the methods of PM_METHOD_IDS (bank
# none, every currency in PM_METHOD_CURRENCIES) for each PRINCIPAL with
# paymentctl, one call per method id (issue 11: a payment's
# money_info.method_id must name a method of its recipient). Needs a running
# core; repeating it is harmless (insert or replace). The principals go to
# paymentctl comma-joined, so none may hold a comma.
pm_methods() {
    (($#)) || pm_fatal "pm_methods: no principal"
    local principals id
    principals=$(IFS=,; printf '%s' "$*")
    for id in "${PM_METHOD_IDS[@]}"; do
        pm_ctl method add --id "$id" --principal "$principals" --bank none \
            --currency "$PM_METHOD_CURRENCIES" >/dev/null ||
            pm_fatal "paymentctl method add --id $id --principal $principals failed: $(tail -n 3 "$PM_TMP/paymentctl.log")"
    done
}

# pm_stat NAME: prints one counter of `paymentctl stats` (payments,
# idempotency_keys, tokens).
pm_stat() {
    local s
    s=$(pm_ctl stats) || pm_fatal "paymentctl stats failed: $(tail -n 3 "$PM_TMP/paymentctl.log")"
    jq -er ".$1" <<<"$s" || pm_fatal "paymentctl stats printed no $1: $s"
}

pm_uuid() { cat /proc/sys/kernel/random/uuid; }

# --- HTTP -------------------------------------------------------------------

# http METHOD PATH [-t TOKEN] [-H 'Name: value'] [-d BODY | -f FILE]
#
# Sends one request to the gateway (127.0.0.1 only, bounded by
# PM_CURL_MAX_TIME_S). -t sends the token as x_auth_token. Sets RESP_STATUS
# ("000" when curl got no answer), RESP_BODY, RESP_TIME_S, RESP_REQ; the raw
# body is in $PM_TMP/resp.body and the headers in $PM_TMP/resp.headers.
http() {
    local method=$1 path=$2
    shift 2
    local args=(-sS -X "$method" --max-time "$PM_CURL_MAX_TIME_S" --noproxy '*'
        -o "$PM_TMP/resp.body" -D "$PM_TMP/resp.headers"
        -w '%{http_code} %{time_total}')
    local shown=""
    while (($#)); do
        case $1 in
        -t) args+=(-H "x_auth_token: $2"); shown+=" x_auth_token=${2:0:8}…"; shift 2 ;;
        -H) args+=(-H "$2"); shown+=" [$2]"; shift 2 ;;
        -d) args+=(--data-binary "$2"); shown+=" body=$(printf '%s' "${2:0:300}" | tr -c '[:print:]' '?')"; shift 2 ;;
        -f) args+=(--data-binary "@$2"); shown+=" body=@$2 ($(stat -c %s "$2") bytes)"; shift 2 ;;
        *) pm_fatal "http: unknown option $1" ;;
        esac
    done
    : >"$PM_TMP/resp.body"
    : >"$PM_TMP/resp.headers"
    local out
    out=$(curl "${args[@]}" "$BASE$path" 2>"$PM_TMP/resp.curlerr")
    RESP_STATUS=${out%% *}
    RESP_TIME_S=${out##* }
    [[ -n $RESP_STATUS ]] || RESP_STATUS=000
    RESP_BODY=$(cat "$PM_TMP/resp.body")
    RESP_REQ="$method ${path:0:120}$( ((${#path} > 120)) && printf '...')$shown"
    # PM_RESPONSES (a file, set by scripts/test.sh): one JSON line per answer
    # for tests/openapi/check_responses.mjs; a body over 64 KiB is left out.
    if [[ -n ${PM_RESPONSES:-} ]]; then
        local size ct rec_body=(--rawfile b "$PM_TMP/resp.body")
        size=$(stat -c %s "$PM_TMP/resp.body" 2>/dev/null || echo 0)
        ((size <= 65536)) || rec_body=(--argjson b null)
        ct=$(sed -n 's/^[Cc]ontent-[Tt]ype: *//p' "$PM_TMP/resp.headers" | tr -d '\r' | tail -n 1)
        jq -nc --arg t "$PM_TEST" --arg m "$method" --arg p "$path" --arg s "$RESP_STATUS" \
            --arg ct "$ct" --argjson n "$size" "${rec_body[@]}" \
            '{test: $t, method: $m, path: $p, status: ($s | tonumber), content_type: $ct,
              bytes: $n, body: $b}' >"$PM_TMP/resp.rec" 2>/dev/null &&
            cat "$PM_TMP/resp.rec" >>"$PM_RESPONSES"
    fi
}

# raw_http BYTES: sends BYTES (printf %b escapes) on a new connection to the
# gateway and prints the first line of the answer ("" when the gateway closed
# the connection without one, or kept it open waiting); 2 s at most.
raw_http() {
    local line=""
    if exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT"; then
        printf '%b' "$1" >&3 2>/dev/null
        line=$(timeout 2 head -n 1 <&3 | tr -d '\r')
        exec 3<&-
    fi
    printf '%s' "$line"
}

# --- checks -------------------------------------------------------------------

# expect_status CODE LABEL: CODE may be a pattern such as 4??.
expect_status() {
    # shellcheck disable=SC2053
    if [[ $RESP_STATUS == $1 ]]; then
        pass "$2"
    else
        fail "$2" "status $RESP_STATUS, want $1"
    fi
}

# expect_json FILTER EXPECTED LABEL: jq -r FILTER on the last body prints
# EXPECTED exactly.
expect_json() {
    local got
    if ! got=$(jq -r "$1" "$PM_TMP/resp.body" 2>/dev/null); then
        fail "$3" "body is not JSON (jq $1)"
    elif [[ $got == "$2" ]]; then
        pass "$3"
    else
        fail "$3" "jq '$1' gave '$(printf '%s' "${got:0:200}" | tr '\n' ' ')', want '$2'"
    fi
}

# expect_jq FILTER LABEL: jq -e FILTER on the last body is true.
expect_jq() {
    if jq -e "$1" "$PM_TMP/resp.body" >/dev/null 2>&1; then
        pass "$2"
    else
        fail "$2" "jq '$1' is not true"
    fi
}

# expect_error STATUS CODE LABEL [MESSAGE_SUBSTRING]: a JSON error
# {"code": CODE, "message": "..."} with that status and an X-Request-Id
# header, whose message (if given) contains MESSAGE_SUBSTRING.
expect_error() {
    local status=$1 code=$2 label=$3 msg=${4:-}
    if [[ $RESP_STATUS != "$status" ]]; then
        fail "$label" "status $RESP_STATUS, want $status ($code)"
        return
    fi
    if ! jq -e --arg c "$code" '(.code == $c) and (.message | type == "string")' \
        "$PM_TMP/resp.body" >/dev/null 2>&1; then
        fail "$label" "body is not {\"code\": \"$code\", \"message\": \"...\"}"
        return
    fi
    if [[ -n $msg ]] && ! jq -e --arg m "$msg" '.message | contains($m)' "$PM_TMP/resp.body" >/dev/null 2>&1; then
        fail "$label" "message does not mention '$msg'"
        return
    fi
    if ! grep -qi '^X-Request-Id: *[^[:space:]]' "$PM_TMP/resp.headers"; then
        fail "$label" "no X-Request-Id header (docs/api.md: every response carries one)"
        return
    fi
    pass "$label"
}

# expect_body_match REGEX LABEL: the raw body text matches an extended regex.
expect_body_match() {
    if grep -qE -- "$1" "$PM_TMP/resp.body"; then
        pass "$2"
    else
        fail "$2" "raw body does not match /$1/"
    fi
}

# expect_header NAME REGEX LABEL: a response header (case-insensitive name)
# whose value matches REGEX.
expect_header() {
    local v
    v=$(grep -i "^$1:" "$PM_TMP/resp.headers" | head -n1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//')
    if [[ -n $v && $v =~ $2 ]]; then
        pass "$3"
    else
        fail "$3" "header $1 is '$v', want /$2/"
    fi
}

# check COND_EXIT_STATUS LABEL DETAIL: a free-form check; `check $? ...`.
check() {
    if [[ $1 -eq 0 ]]; then
        pass "$2"
    else
        RESP_REQ=""
        fail "$2" "$3"
    fi
}

# expect_alive LABEL [PID...]: the daemons (default: core and gateway) still run.
expect_alive() {
    local pid label=$1
    shift
    (($#)) || set -- ${CORE_PID:-} ${GW_PID:-}
    for pid in "$@"; do
        if pm_alive "$pid"; then
            pass "$label: ${PM_PID_NAME[$pid]} alive"
        else
            RESP_REQ=""
            fail "$label" "${PM_PID_NAME[$pid]} (pid $pid) died; log tail:"
            tail -n 20 "${PM_PID_LOG[$pid]}" | sed 's/^/    | /'
            PM_KEEP=1
        fi
    done
}

# --- bodies -------------------------------------------------------------------

# create_body IDEM SENDER RECIPIENT AMOUNT [CURRENCY] [METHOD]: AMOUNT is
# inserted as JSON text, so pass '"12.50"' for a string.
create_body() {
    printf '{"idempotency_token":"%s","money_info":{"method_id":"%s","currency":"%s","amount":%s},"recipcient":{"recipcient_id":"%s"},"sender":{"sender_id":"%s"}}' \
        "$1" "${6-card-1}" "${5-USD}" "$4" "$3" "$2"
}

# pm_create TOKEN SENDER RECIPIENT [AMOUNT] [CURRENCY]: creates a payment,
# checks the 200 and prints nothing; sets TXID.
pm_create() {
    http POST /api/v1/payment/create -t "$1" -d "$(create_body "$(pm_uuid)" "$2" "$3" "${4:-10.00}" "${5:-USD}")"
    expect_status 200 "create $2 -> $3"
    TXID=$(jq -r '.transaction_id // empty' "$PM_TMP/resp.body" 2>/dev/null)
    [[ -n $TXID ]] || pm_fatal "create returned no transaction_id: $RESP_BODY"
}

# --- store purchases (docs/api.md "Store purchases") ----------------------------

# pm_package SKU NAME PRICE coin|time N [FLAG...]: adds a package with
# paymentctl (N coins or N days; both platforms unless --platforms is given).
pm_package() {
    local sku=$1 name=$2 price=$3 type=$4 n=$5 amount
    shift 5
    [[ $type == coin ]] && amount=(--coins "$n") || amount=(--days "$n")
    local plat=(--platforms android,ios)
    [[ " $* " == *" --platforms "* ]] && plat=()
    pm_ctl package add --sku "$sku" --name "$name" --price "$price" --type "$type" "${amount[@]}" "${plat[@]}" "$@" >/dev/null ||
        pm_fatal "paymentctl package add --sku $sku failed: $(tail -n 3 "$PM_TMP/paymentctl.log")"
}

# pm_balance PRINCIPAL: prints paymentctl balance's JSON.
pm_balance() {
    local b
    b=$(pm_ctl balance --principal "$1") || pm_fatal "paymentctl balance --principal $1 failed: $(tail -n 3 "$PM_TMP/paymentctl.log")"
    jq -e . <<<"$b" >/dev/null 2>&1 || pm_fatal "paymentctl balance printed no JSON: $b"
    printf '%s' "$b"
}
pm_coins() { pm_balance "$1" | jq -r '.coins'; }
pm_ledger_len() { pm_balance "$1" | jq -r '.ledger | length'; }

# store_open TOKEN SKU: opens a purchase (POST /finance/purchase), checks the
# 200 and sets SERIAL.
store_open() {
    http POST /finance/purchase -t "$1" -d "{\"serial_number\":\"$2\"}"
    expect_status 200 "open a purchase of $2"
    SERIAL=$(jq -r '.serial_number // empty' "$PM_TMP/resp.body" 2>/dev/null)
    [[ $SERIAL =~ ^[0-9]{16}$ ]] || pm_fatal "purchase of $2 returned no 16-digit serial: $RESP_BODY"
}

# store_redeem TOKEN SERIAL REF [PATH]: POST /finance/bazzar_paymnet/ (or
# PATH) {"serial_number": SERIAL, "ref_id": REF}.
store_redeem() {
    http POST "${4:-/finance/bazzar_paymnet/}" -t "$1" -d "{\"serial_number\":\"$2\",\"ref_id\":\"$3\"}"
}

# store_redeem_retry TOKEN SERIAL REF SECONDS: redeems, retrying as an app
# would while the answer is 503 or 409 (every second, SECONDS at most); the
# last answer is in RESP_*, the number of tries in TRIES.
store_redeem_retry() {
    local end=$((SECONDS + $4))
    TRIES=0
    while :; do
        TRIES=$((TRIES + 1))
        store_redeem "$1" "$2" "$3"
        [[ $RESP_STATUS == 503 || $RESP_STATUS == 409 || $RESP_STATUS == 000 ]] || return 0
        ((SECONDS < end)) || return 0
        sleep 1
    done
}

# bg_post TOKEN PATH JSON OUT: POSTs JSON to PATH as TOKEN in the background
# (its PID in BG_PID and PM_HELPER_PIDS); OUT.status gets the status, OUT.body
# the body.
bg_post() {
    (
        code=$(curl -s --noproxy '*' --max-time "${PM_BG_MAX_TIME_S:-15}" -o "$4.body" -w '%{http_code}' \
            -H "x_auth_token: $1" --data-binary "$3" "$BASE$2")
        printf '%s' "${code:-000}" >"$4.status"
    ) &
    BG_PID=$!
    PM_HELPER_PIDS+=" $BG_PID"
}

# bg_redeem TOKEN SERIAL REF OUT: a redeem in the background (bg_post).
bg_redeem() {
    bg_post "$1" /finance/bazzar_paymnet/ "{\"serial_number\":\"$2\",\"ref_id\":\"$3\"}" "$4"
}

# expect_store_error STATUS CODE LABEL [ERROR_SUBSTRING]: an error of the
# store family, {"error": "...", "code": CODE}, with an X-Request-Id.
expect_store_error() {
    local status=$1 code=$2 label=$3 msg=${4:-}
    if [[ $RESP_STATUS != "$status" ]]; then
        fail "$label" "status $RESP_STATUS, want $status ($code)"
        return
    fi
    if ! jq -e --arg c "$code" '(.code == $c) and (.error | type == "string") and (.error != "")' \
        "$PM_TMP/resp.body" >/dev/null 2>&1; then
        fail "$label" "body is not {\"error\": \"...\", \"code\": \"$code\"}"
        return
    fi
    if [[ -n $msg ]] && ! jq -e --arg m "$msg" '.error | contains($m)' "$PM_TMP/resp.body" >/dev/null 2>&1; then
        fail "$label" "error does not mention '$msg'"
        return
    fi
    if ! grep -qi '^X-Request-Id: *[^[:space:]]' "$PM_TMP/resp.headers"; then
        fail "$label" "no X-Request-Id header (docs/api.md: every response carries one)"
        return
    fi
    pass "$label"
}

# expect_coins PRINCIPAL N LABEL: paymentctl balance shows N coins.
expect_coins() {
    local c
    c=$(pm_coins "$1")
    [[ $c == "$2" ]]
    check $? "$3" "paymentctl balance --principal $1 shows coins $c, want $2"
}

# expect_ledger PRINCIPAL LABEL: the ledger explains the balance: every entry
# references a purchase serial (16 digits), the coin deltas sum to the
# balance, and coins_after follows the entries in order.
expect_ledger() {
    local b
    b=$(pm_balance "$1")
    jq -e '(.ledger | all(.purchase_serial | type == "string" and test("^[0-9]{16}$")))
        and ([.ledger[].coins_delta // 0] | add // 0) == .coins
        and (reduce .ledger[] as $e ({ok: true, c: 0};
               {ok: (.ok and ($e.coins_after == .c + ($e.coins_delta // 0))), c: (.c + ($e.coins_delta // 0))}) | .ok)' \
        <<<"$b" >/dev/null 2>&1
    check $? "$2" "ledger of $1 does not explain the balance: $(head -c 600 <<<"$b")"
}

# pm_invoice TOKEN WHO: a registration number of type 9 and a 17.50 TMT
# halkbank invoice on it (two lines), both checked 200; sets REG and
# INV_BODY (the invoice's body, compact).
pm_invoice() {
    http POST /gen-reg-no/ -t "$1" -d '{"RegNumTypeId": 9, "random_mode": 1}'
    expect_status 200 "$2's registration number"
    REG=$(jq -r .data "$PM_TMP/resp.body")
    INV_BODY=$(jq -c --arg r "$REG" '.OInvRegNo = $r' <<<'{"OInvRegNo": "", "online_payment_type": "halkbank",
        "OInvTotal": 17.50, "OrderInvLines": [{"ResName": "tea", "ItemCount": 2, "ResPrice": 5.00},
        {"ResName": "cake", "ItemCount": 1, "ResPrice": 7.50}]}')
    http POST /checkout-sale-order-inv/ -t "$1" -d "$INV_BODY"
    expect_status 200 "$2's order invoice"
}

# --- BazaarPay checkout (issue 10; docs/api.md "BazaarPay checkout") --------------

PM_BAZAARPAY_MERCHANT_TOKEN=sandbox-merchant-token
PM_BAZAARPAY_DESTINATION=paymesh-tests

# pm_start_bazaarpay [--core F... --] [--provider F... --] [--gateway F... --]
#                    [--sandbox F... --] [--retry F... --] [--no-retry]:
# the whole BazaarPay stack on free loopback ports: payment-core (worker
# socket), api-gateway, the sandbox, one provider-bazaar pointed at the
# sandbox's /badje/v1/ (merchant token and destination above) and one
# retry-worker (PM_RW_FLAGS, then the --retry flags), unless --no-retry.
pm_start_bazaarpay() {
    local core=() prov=() gw=() sbx=() rw=() into="" norw=""
    while (($#)); do
        case $1 in
        --core | --provider | --gateway | --sandbox | --retry) into=${1#--} ;;
        --no-retry) norw=1 ;;
        --) into="" ;;
        *) case $into in
            core) core+=("$1") ;; provider) prov+=("$1") ;; gateway) gw+=("$1") ;;
            sandbox) sbx+=("$1") ;; retry) rw+=("$1") ;;
            *) pm_fatal "pm_start_bazaarpay: stray argument $1" ;;
            esac ;;
        esac
        shift
    done
    pm_start_core "${core[@]}"
    pm_core_has_worker || pm_fatal "payment-core ($PM_BIN) has no --worker-endpoint"
    pm_start_gateway "${gw[@]}"
    pm_start_sandbox "${sbx[@]}"
    pm_has_flag provider-bazaar --bazaarpay-base-url ||
        pm_fatal "provider-bazaar ($PM_BIN) has no --bazaarpay-base-url (BazaarPay not built yet?)"
    pm_start_provider_bazaar "${prov[@]}"
    [[ -n $norw ]] || pm_start_retry_worker "${rw[@]}"
}

# The app's return address: something real that answers on loopback (the
# sandbox's fault list, a 200 JSON page), with the app's own reference in it.
bp_redirect_url() { printf '%s/sandbox/faults?app_return=%s' "$SANDBOX_URL" "${1:-1}"; }

# bp_checkout TOKEN SKU [REDIRECT_URL] [PHONE]: POST /finance/bazaarpay/checkout/;
# leaves the answer in RESP_* (no check).
bp_checkout_req() {
    local body
    body=$(jq -cn --arg s "$2" --arg r "${3-$(bp_redirect_url)}" --arg p "${4:-}" \
        '{serial_number: $s, redirect_url: $r} + (if $p == "" then {} else {phone: $p} end)')
    http POST /finance/bazaarpay/checkout/ -t "$1" -d "$body"
}

# bp_checkout TOKEN SKU [REDIRECT_URL]: opens a checkout and checks the answer
# (2xx, state in_progress, a checkout_token, a payment_url carrying the
# redirect_url, a 16-digit serial); sets CO (the checkout token), CO_URL
# (the payment_url), CO_SERIAL and CO_REDIRECT.
bp_checkout() {
    CO_REDIRECT=${3:-$(bp_redirect_url "$RANDOM")}
    bp_checkout_req "$1" "$2" "$CO_REDIRECT"
    [[ $RESP_STATUS == 20[01] ]] || pm_fatal "checkout of $2 answered $RESP_STATUS $(pm_body_excerpt)"
    CO=$(jq -r '.checkout_token // empty' "$PM_TMP/resp.body" 2>/dev/null)
    CO_URL=$(jq -r '.payment_url // empty' "$PM_TMP/resp.body" 2>/dev/null)
    CO_SERIAL=$(jq -r '.serial_number // empty' "$PM_TMP/resp.body" 2>/dev/null)
    [[ -n $CO && -n $CO_URL ]] || pm_fatal "checkout of $2: no checkout_token/payment_url in $(pm_body_excerpt)"
}

# bp_confirm TOKEN CHECKOUT: POST /finance/bazaarpay/confirm/ (RESP_*).
bp_confirm() {
    http POST /finance/bazaarpay/confirm/ -t "$1" -d "{\"checkout_token\":\"$2\"}"
}

# bp_pay_confirm TOKEN SKU: opens a checkout (CO), pays it at the sandbox,
# forgets the sandbox's calls so far and confirms it (RESP_*): the start of a
# test of what comes after delivery.
bp_pay_confirm() {
    bp_checkout "$1" "$2"
    sbp pay "$CO"
    sb_clear_calls
    bp_confirm "$1" "$CO"
}

# bp_confirm_until TOKEN CHECKOUT SECONDS: confirms as the app does while the
# answer is 202 in_progress or 503 (every 0.5 s, SECONDS at most); the last
# answer is in RESP_*, the number of confirms in TRIES.
bp_confirm_until() {
    local end=$((SECONDS + $3))
    TRIES=0
    while :; do
        TRIES=$((TRIES + 1))
        bp_confirm "$1" "$2"
        [[ $RESP_STATUS == 202 || $RESP_STATUS == 503 || $RESP_STATUS == 000 ]] || return 0
        ((SECONDS < end)) || return 0
        sleep 0.5
    done
}

# bp_get TOKEN CHECKOUT: GET /finance/bazaarpay/checkout/{token}/ (RESP_*).
bp_get() {
    http GET "/finance/bazaarpay/checkout/$2/" -t "$1"
}

# bp_refund TOKEN CHECKOUT [REASON]: POST /finance/bazaarpay/refund/ (RESP_*).
bp_refund() {
    http POST /finance/bazaarpay/refund/ -t "$1" \
        -d "$(jq -cn --arg c "$2" --arg r "${3:-test refund}" '{checkout_token: $c, reason: $r}')"
}

# bp_state TOKEN CHECKOUT: prints the checkout's state as GET shows it ("" when
# GET did not answer 200).
bp_state() {
    bp_get "$1" "$2"
    [[ $RESP_STATUS == 200 ]] || return 0
    jq -r '.state // empty' "$PM_TMP/resp.body" 2>/dev/null
}

# bp_wait_state TOKEN CHECKOUT STATE SECONDS: polls GET until the state is
# STATE; false after SECONDS (then BP_LAST_STATE holds the last one seen).
bp_wait_state() {
    local end=$((SECONDS + $4))
    while :; do
        bp_get "$1" "$2"
        BP_LAST_STATE=""
        [[ $RESP_STATUS != 200 ]] || BP_LAST_STATE=$(jq -r '.state // empty' "$PM_TMP/resp.body" 2>/dev/null)
        [[ $BP_LAST_STATE == "$3" ]] && return 0
        ((SECONDS < end)) || return 1
        sleep 0.2
    done
}

# sbp ACTION CHECKOUT: the sandbox admin's pay | cancel | expire of a checkout
# (POST /sandbox/bazaarpay/checkouts/{token}/ACTION); fatal unless 2xx.
sbp() {
    sb POST "/sandbox/bazaarpay/checkouts/$2/$1" '{}'
    [[ $SB_STATUS == 2?? ]] || pm_fatal "sandbox: $1 of checkout $2 answered $SB_STATUS $SB_BODY"
}

# sbp_show CHECKOUT: GET /sandbox/bazaarpay/checkouts/{token} into SB_BODY;
# fatal unless 200.
sbp_show() {
    sb GET "/sandbox/bazaarpay/checkouts/$1"
    [[ $SB_STATUS == 200 ]] || pm_fatal "sandbox: GET checkout $1 answered $SB_STATUS $SB_BODY"
}

# sb_last: the body of the last sandbox answer (also after a call made in a
# command substitution, where SB_BODY does not reach the caller).
sb_last() { cat "$PM_TMP/sb.body" 2>/dev/null; }

# sbp_field CHECKOUT FIELD: prints one field of the sandbox's record of the
# checkout (status, commits, commit_calls, refunds, refund_calls).
sbp_field() {
    sbp_show "$1"
    jq -r --arg f "$2" '.[$f] // empty' <<<"$SB_BODY"
}

# bp_calls KIND [CHECKOUT]: the number of BazaarPay calls (init | trace |
# commit | refund) the sandbox saw (its call log, optionally only those whose
# path names CHECKOUT; the checkout token is in the body, so with CHECKOUT
# prefer sbp_field).
bp_calls() {
    sb GET '/sandbox/calls?service=bazaarpay'
    jq -r --arg k "/$1/" '[.calls[] | select(.path | endswith($k))] | length' <<<"$SB_BODY" 2>/dev/null || echo -1
}

# bp_attempts CALL [OUTCOME]: from the last GET's body, the number of attempts
# of CALL (with OUTCOME).
bp_attempts() {
    jq -r --arg c "$1" --arg o "${2:-}" \
        '[.attempts // [] | .[] | select(.call == $c and ($o == "" or .outcome == $o))] | length' \
        "$PM_TMP/resp.body" 2>/dev/null || echo -1
}

# pm_form_submit PAGE_URL BUTTON_ID: reads the HTML page at PAGE_URL (GET),
# finds the <form> that holds the element with id BUTTON_ID and submits it as
# a browser would (its hidden and text inputs, the button's own name=value,
# its method, its action resolved against the page), without following the
# answer. Sets FORM_PAGE_STATUS (the page's status), FORM_STATUS (the
# submit's), FORM_LOCATION (its Location header, resolved) and FORM_REQ.
pm_form_submit() {
    local page="$PM_TMP/form.page" spec
    FORM_PAGE_STATUS=$(curl -sS --noproxy '*' --max-time "$PM_CURL_MAX_TIME_S" -o "$page" -w '%{http_code}' "$1" 2>>"$PM_TMP/form.curlerr")
    FORM_STATUS=000 FORM_LOCATION="" FORM_REQ=""
    [[ $FORM_PAGE_STATUS == 200 ]] || return 1
    spec=$(python3 - "$1" "$2" "$page" <<'PY'
import html.parser, json, sys, urllib.parse
url, button, path = sys.argv[1], sys.argv[2], sys.argv[3]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.forms = []; self.cur = None
    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.cur = {"method": a.get("method", "get").lower(), "action": a.get("action", ""),
                        "fields": [], "has": False, "btn": None}
            self.forms.append(self.cur)
            return
        if self.cur is None:
            return
        if tag in ("input", "button"):
            t = a.get("type", "submit" if tag == "button" else "text").lower()
            if a.get("id") == button:
                self.cur["has"] = True
                if a.get("name"): self.cur["btn"] = [a["name"], a.get("value", "")]
                if a.get("formaction"): self.cur["action"] = a["formaction"]
                if a.get("formmethod"): self.cur["method"] = a["formmethod"].lower()
            elif t in ("hidden", "text", "email", "tel", "number") and a.get("name"):
                self.cur["fields"].append([a["name"], a.get("value", "")])
        elif a.get("id") == button:
            self.cur["has"] = True
    def handle_endtag(self, tag):
        if tag == "form": self.cur = None
p = P(); p.feed(open(path, encoding="utf-8", errors="replace").read())
for f in p.forms:
    if f["has"]:
        fields = [tuple(x) for x in f["fields"] + ([f["btn"]] if f["btn"] else [])]
        print(json.dumps({"method": f["method"].upper(), "action": urllib.parse.urljoin(url, f["action"] or url),
                          "body": urllib.parse.urlencode(fields)}))
        sys.exit(0)
sys.exit(1)
PY
) || return 1
    local method action body out
    method=$(jq -r .method <<<"$spec") action=$(jq -r .action <<<"$spec") body=$(jq -r .body <<<"$spec")
    FORM_REQ="$method $action body=$body"
    if [[ $method == GET ]]; then
        out=$(curl -sS --noproxy '*' --max-time "$PM_CURL_MAX_TIME_S" -o "$PM_TMP/form.answer" -D "$PM_TMP/form.headers" \
            -w '%{http_code} %{redirect_url}' -G --data "$body" "$action" 2>>"$PM_TMP/form.curlerr")
    else
        out=$(curl -sS --noproxy '*' --max-time "$PM_CURL_MAX_TIME_S" -o "$PM_TMP/form.answer" -D "$PM_TMP/form.headers" \
            -w '%{http_code} %{redirect_url}' -X "$method" -H 'Content-Type: application/x-www-form-urlencoded' \
            --data "$body" "$action" 2>>"$PM_TMP/form.curlerr")
    fi
    FORM_STATUS=${out%% *}
    FORM_LOCATION=${out#* }
    [[ -n $FORM_STATUS ]] || FORM_STATUS=000
    return 0
}

# bg_confirm TOKEN CHECKOUT OUT: a confirm in the background (bg_post).
bg_confirm() {
    bg_post "$1" /finance/bazaarpay/confirm/ "{\"checkout_token\":\"$2\"}" "$3"
}

# bp_page_click PAYMENT_URL pay|cancel LABEL: a person without a browser on
# the sandbox's payment page: GET the page (200, HTML), submit the form of the
# #pay or #cancel button; the answer must be a 303 to the checkout's
# redirect_url (CO_REDIRECT; BazaarPay may add query parameters), which must
# answer when followed. Each step is a check.
bp_page_click() {
    local url=$1 button=$2 label=$3
    pm_form_submit "$url" "$button"
    [[ $FORM_PAGE_STATUS == 200 ]]
    check $? "$label: the payment page answers 200" "GET $url answered $FORM_PAGE_STATUS"
    grep -qi "id=[\"']\?$button" "$PM_TMP/form.page" 2>/dev/null
    check $? "$label: the page has a #$button button" "page: $(head -c 400 "$PM_TMP/form.page" 2>/dev/null | tr '\n' ' ')"
    [[ $FORM_STATUS == 303 ]]
    check $? "$label: the $button form answers 303" "$FORM_REQ answered $FORM_STATUS: $(head -c 300 "$PM_TMP/form.answer" 2>/dev/null)"
    [[ $FORM_LOCATION == "$CO_REDIRECT" || $FORM_LOCATION == "$CO_REDIRECT&"* || $FORM_LOCATION == "${CO_REDIRECT%%\?*}?"* ]]
    check $? "$label: the 303 goes to redirect_url" "Location '$FORM_LOCATION', redirect_url '$CO_REDIRECT'"
    local st
    st=$(curl -s --noproxy '*' --max-time "$PM_CURL_MAX_TIME_S" -o /dev/null -w '%{http_code}' "$FORM_LOCATION" 2>/dev/null)
    [[ $st == 200 ]]
    check $? "$label: redirect_url answers when followed" "GET $FORM_LOCATION answered $st"
}

# pm_retry_list: prints `paymentctl retry list --json` as a JSON array of items
# (whether it prints {"items": [...]} or an array).
pm_retry_list() {
    local out
    out=$(pm_ctl retry list --json) || { echo '[]'; return 1; }
    jq -c 'if type == "array" then . elif type == "object" then (.items // []) else [] end' <<<"$out" 2>/dev/null ||
        jq -sc 'map(if type == "array" then .[] else . end)' <<<"$out" 2>/dev/null || echo '[]'
}

# --- exit -----------------------------------------------------------------------

pm_exit() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${PM_PIDS[@]}"; do
        pm_stop "$pid"
    done
    # Background helpers a test started (curl loops) are ended by PID too.
    for pid in ${PM_HELPER_PIDS:-}; do
        kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    if [[ $rc -ne 0 && $PM_FAILED -eq 0 ]]; then
        PM_FAILED=1
        printf '  FAIL %s: exited with status %s\n' "$PM_TEST" "$rc"
    fi
    printf '%s: %d passed, %d failed\n' "$PM_TEST" "$PM_PASSED" "$PM_FAILED"
    [[ -z ${PM_RESULTS:-} ]] || printf '%s %d %d\n' "$PM_TEST" "$PM_PASSED" "$PM_FAILED" >>"$PM_RESULTS"
    if ((PM_FAILED > 0)); then
        # The daemons' last warnings and errors, for a log read from afar (CI).
        local log
        for log in "$PM_TMP"/*.log; do
            [[ -f $log ]] || continue
            grep -E '"level":"(warn|error)"| (warn|error|fatal):|Sanitizer|runtime error' "$log" | tail -n 4 |
                sed "s|^|    $(basename "$log"): |"
        done
    fi
    if [[ $PM_FAILED -gt 0 || -n ${PM_KEEP:-} || -n ${PM_KEEP_TMP:-} ]]; then
        printf '  logs kept in %s\n' "$PM_TMP"
    else
        rm -rf "$PM_TMP"
    fi
    ((PM_FAILED == 0)) && exit 0
    exit 1
}
trap pm_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE # a write to a socket the peer closed must still stop the daemons
