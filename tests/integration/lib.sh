# lib.sh: helpers for paymesh integration tests. Source it from a t_*.sh file.
#
# A test starts the real daemons on free loopback ports with a data directory
# of its own, drives them with curl and checks each answer:
#
#     . "$(dirname "$0")/lib.sh"
#     pm_start_core
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

# pm_start_sandbox [FLAG...]: starts the provider sandbox (fake Cafe Bazaar)
# on a free port; sets SANDBOX_PID, SANDBOX_PORT, SANDBOX_URL
# (http://127.0.0.1:PORT) and BAZAAR_BASE_URL (its /devapi/v2/).
pm_start_sandbox() {
    : "${SANDBOX_PORT:=$(pm_free_port)}"
    SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT"
    BAZAAR_BASE_URL="$SANDBOX_URL/devapi/v2/"
    SANDBOX_STARTS=$((${SANDBOX_STARTS:-0} + 1))
    pm_spawn sandbox "$PM_TMP/sandbox.$SANDBOX_STARTS.log" "$PM_BIN/sandbox" \
        --http-host 127.0.0.1 --http-port "$SANDBOX_PORT" "$@"
    SANDBOX_PID=$PM_LAST_PID
    pm_wait_ready "$SANDBOX_PID" "sandbox listening on http://"
}

# The package name every test's catalog is sold under at the sandbox.
PM_BAZAAR_PACKAGE=com.paymesh.demo

# pm_start_provider_bazaar [FLAG...]: starts one more provider-bazaar against
# the core's worker socket and the sandbox (several copies may run); sets
# PB_PID (the new one) and appends it to PB_PIDS.
pm_start_provider_bazaar() {
    [[ -n ${WORKER_ENDPOINT:-} ]] || pm_fatal "pm_start_provider_bazaar: payment-core has no worker endpoint (start the core first; is it built with --worker-endpoint?)"
    [[ -n ${BAZAAR_BASE_URL:-} ]] || pm_fatal "pm_start_provider_bazaar: start the sandbox first"
    PB_STARTS=$((${PB_STARTS:-0} + 1))
    pm_spawn provider-bazaar "$PM_TMP/provider-bazaar.$PB_STARTS.log" "$PM_BIN/provider-bazaar" \
        --core-worker-endpoint "$WORKER_ENDPOINT" --bazaar-base-url "$BAZAAR_BASE_URL" \
        --bazaar-package-name "$PM_BAZAAR_PACKAGE" "$@"
    PB_PID=$PM_LAST_PID
    PB_PIDS+=" $PB_PID"
    pm_wait_ready "$PB_PID" "provider-bazaar ready"
}

# pm_start_store [--core FLAGS... --] [--provider FLAGS... --] [--gateway FLAGS... --]:
# the whole store stack: core (with worker socket), gateway, sandbox and one
# provider-bazaar.
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
}

# pm_store_pids: every store daemon still tracked (for expect_alive).
pm_store_pids() {
    local p
    printf '%s ' ${CORE_PID:-} ${GW_PID:-} ${SANDBOX_PID:-}
    for p in ${PB_PIDS:-}; do pm_alive "$p" && printf '%s ' "$p"; done
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

# bg_redeem TOKEN SERIAL REF OUT: starts a redeem in the background (a helper
# PID in PM_HELPER_PIDS); OUT.status gets the status, OUT.body the body.
bg_redeem() {
    (
        code=$(curl -s --noproxy '*' --max-time "${PM_BG_MAX_TIME_S:-15}" -o "$4.body" -w '%{http_code}' \
            -H "x_auth_token: $1" --data-binary "{\"serial_number\":\"$2\",\"ref_id\":\"$3\"}" \
            "$BASE/finance/bazzar_paymnet/")
        printf '%s' "${code:-000}" >"$4.status"
    ) &
    BG_PID=$!
    PM_HELPER_PIDS+=" $BG_PID"
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
