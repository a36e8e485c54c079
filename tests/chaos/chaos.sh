#!/usr/bin/env bash
# Chaos under load (issue 13; tests/chaos/README.md). Starts the whole
# system on free loopback ports (payment-core, api-gateway, sandbox,
# provider-bazaar, provider-bank, retry-worker) with lib.sh's helpers, then
# for CHAOS_SECONDS:
#
#   - bin/pm-chaos drives every API family from CHAOS_CLIENTS clients and
#     logs every request and answer (log.jsonl);
#   - this script SIGKILLs a random daemon (never the sandbox, which keeps
#     its records in memory) about every CHAOS_KILL_EVERY_S seconds and
#     starts it again with the same settings on the same endpoints;
#   - the sandbox injects provider faults (timeout, 503, lost response) into
#     CHAOS_FAULT_PER_MILLE of the provider calls (POST /sandbox/faults/random;
#     when the sandbox has no such endpoint, explicit rules are sprinkled).
#
# Then: load stopped, kills stopped, every daemon up, faults off; what only
# a user could finish is finished at the sandbox (unpaid checkouts cancelled,
# unpaid bank orders declined); retry-worker drains (bounded); and
# tests/chaos/check.sh compares the client log with paymesh's state and the
# sandbox's records. Exit 0 only when it finds no violation.
#
# Settings (environment): CHAOS_SECONDS (180), CHAOS_SEED (random; printed),
# CHAOS_CLIENTS (12), CHAOS_FAULT_PER_MILLE (100), CHAOS_KILL_EVERY_S (3),
# CHAOS_DRAIN_S (120), CHAOS_DIR (var/chaos). The run's directory,
# CHAOS_DIR/chaos.XXXXXX, keeps the client log, the daemons' logs, the
# snapshots the checker read, and figures.txt.
set -uo pipefail
_root=$(cd "$(dirname "$0")/../.." && pwd)
CHAOS_DIR=${CHAOS_DIR:-$_root/var/chaos}
mkdir -p "$CHAOS_DIR" || exit 2
export TMPDIR=$CHAOS_DIR
PM_KEEP_TMP=1
PM_STOP_TIMEOUT_S=${PM_STOP_TIMEOUT_S:-20}
. "$_root/tests/integration/lib.sh"

RUN=$PM_TMP
C_SECONDS=${CHAOS_SECONDS:-180}
C_SEED=${CHAOS_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
C_CLIENTS=${CHAOS_CLIENTS:-12}
C_PER_MILLE=${CHAOS_FAULT_PER_MILLE:-100}
C_KILL_EVERY=${CHAOS_KILL_EVERY_S:-3}
C_DRAIN=${CHAOS_DRAIN_S:-120}
for v in C_SECONDS C_SEED C_CLIENTS C_PER_MILLE C_KILL_EVERY C_DRAIN; do
    [[ ${!v} =~ ^[0-9]+$ ]] || pm_fatal "$v must be a whole number, not '${!v}'"
done
((C_CLIENTS >= 1 && C_CLIENTS <= 64)) || pm_fatal "CHAOS_CLIENTS must be 1..64"
((C_KILL_EVERY >= 1)) || pm_fatal "CHAOS_KILL_EVERY_S must be at least 1"
RANDOM=$C_SEED # the kill schedule and the fallback faults follow the seed
T_START=$(date +%s%3N)
now_ms() { date +%s%3N; }
printf 'chaos: seed %s, %s s, %s clients, faults %s per mille, a kill every ~%s s\n' \
    "$C_SEED" "$C_SECONDS" "$C_CLIENTS" "$C_PER_MILLE" "$C_KILL_EVERY"
printf 'chaos: results in %s\n' "$RUN"
[[ -x $PM_BIN/pm-chaos ]] || pm_fatal "$PM_BIN/pm-chaos is not built (make $PM_BIN/pm-chaos)"

# --- the system --------------------------------------------------------------------
CORE_FLAGS=(--job-lease-ms 1000)
# Halkbank pre-authorizations (registerPreAuth.do, then deposit.do) unless
# CHAOS_HALKBANK_TWO_PHASE=off.
if [[ ${CHAOS_HALKBANK_TWO_PHASE:-on} == on ]] && pm_has_flag payment-core --halkbank-two-phase; then
    CORE_FLAGS+=(--halkbank-two-phase on)
fi
GW_FLAGS=(--core-timeout-ms 4000)
pm_start_core "${CORE_FLAGS[@]}"
pm_methods bob
pm_ctl method add --id halk-card --principal bob --bank halkbank --currency TMT >/dev/null ||
    pm_fatal "method add halk-card failed"
pm_ctl method add --id tfeb-card --principal bob --bank foreign_affairs_bank --currency TMT >/dev/null ||
    pm_fatal "method add tfeb-card failed"
pm_ctl regno-type add --id 9 --name sale_order_invoice_code --prefix ANS --length 8 \
    --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null || pm_fatal "regno-type add failed"
pm_package coins_100 "100 coins" 50000 coin 100
pm_package days_30 "30 days" 90000 time 30
pm_start_gateway "${GW_FLAGS[@]}"
pm_start_sandbox
pm_start_provider_bazaar
pm_start_provider_bank
pm_start_retry_worker

{
    printf 'recipient bob %s\n' "$(pm_token bob)"
    printf 'service ops %s\n' "$(pm_token ops service)"
    for ((i = 1; i <= C_CLIENTS; i++)); do
        p=$(printf 'chaos%02d' "$i")
        printf 'client %s %s\n' "$p" "$(pm_token "$p")"
    done
} >"$RUN/tokens.txt"

# The gateway again on its own port (pm_start_gateway would pick a new one).
restart_gateway() {
    GW_STARTS=$((GW_STARTS + 1))
    pm_spawn api-gateway "$PM_TMP/gateway.$GW_STARTS.log" "$PM_BIN/api-gateway" \
        --http-host 127.0.0.1 --http-port "$GW_PORT" \
        --core-endpoint "tcp://127.0.0.1:$CORE_PORT" "${GW_FLAGS[@]}"
    GW_PID=$PM_LAST_PID
    pm_wait_ready "$GW_PID" "api-gateway listening on http://"
}

DAEMONS=(api-gateway payment-core provider-bazaar provider-bank retry-worker)
pid_of() {
    case $1 in
    api-gateway) echo "${GW_PID:-}" ;; payment-core) echo "${CORE_PID:-}" ;;
    provider-bazaar) echo "${PB_PID:-}" ;; provider-bank) echo "${PBK_PID:-}" ;;
    retry-worker) echo "${RW_PID:-}" ;; sandbox) echo "${SANDBOX_PID:-}" ;;
    esac
}
start_daemon() {
    case $1 in
    api-gateway) restart_gateway ;;
    payment-core) pm_start_core "${CORE_FLAGS[@]}" ;;
    provider-bazaar) PB_PIDS="" && pm_start_provider_bazaar ;;
    provider-bank) pm_start_provider_bank ;;
    retry-worker) pm_start_retry_worker ;;
    esac
}
kill_daemon() {
    case $1 in
    retry-worker) pm_kill9_retry_worker ;;
    *) pm_kill9 "$(pid_of "$1")" ;;
    esac
}

# A daemon that died without being killed is a crash: noted, restarted.
CRASHES="$RUN/crashes.txt"
: >"$CRASHES"
revive() {
    local d pid
    for d in "${DAEMONS[@]}"; do
        pid=$(pid_of "$d")
        if [[ -z $pid ]] || ! pm_alive "$pid"; then
            printf '%s %s exited on its own (pid %s, log %s)\n' "$(now_ms)" "$d" "$pid" \
                "${PM_PID_LOG[$pid]:-}" >>"$CRASHES"
            [[ -n $pid ]] && pm_reap "$pid"
            start_daemon "$d"
        fi
    done
    pm_alive "$SANDBOX_PID" || pm_fatal "the sandbox died: its records are gone, nothing to check against"
}

# --- faults ------------------------------------------------------------------------
FAULT_MODE=random
sb POST /sandbox/faults/random "$(jq -cn --argjson p "$C_PER_MILLE" --argjson s "$C_SEED" \
    '{per_mille: $p, seed: $s, kinds: ["timeout", "status", "drop_response"], timeout_ms: 3000, status: 503}')"
if [[ $SB_STATUS != 2?? ]]; then
    FAULT_MODE=rules
    printf 'chaos: the sandbox has no POST /sandbox/faults/random (answered %s): falling back to explicit rules (POST /sandbox/faults) sprinkled by this script\n' "$SB_STATUS"
fi
printf '%s\n' "$FAULT_MODE" >"$RUN/fault_mode"
FAULT_RULES="$RUN/fault_rules.txt" # fallback mode: the rules posted, one a line
: >"$FAULT_RULES"
# sprinkle: about C_PER_MILLE per mille of the provider calls since the last
# tick get a fault, one rule of count 1 per fault, on a random provider.
SERVICES=(bazaar bazaarpay rbs tfeb)
KINDS=(timeout status drop_response)
LAST_CALLS=0
sprinkle() {
    [[ $FAULT_MODE == rules ]] || return 0
    sb GET /sandbox/calls
    local total n i svc kind rule
    total=$(jq -r '.calls | length' <<<"$SB_BODY" 2>/dev/null || echo 0)
    # The call log keeps the last 1000; a steady share per tick is enough.
    n=$(((total > LAST_CALLS ? total - LAST_CALLS : 20) * C_PER_MILLE / 1000 + (RANDOM % 1000 < C_PER_MILLE ? 1 : 0)))
    LAST_CALLS=$total
    ((n > 8)) && n=8
    for ((i = 0; i < n; i++)); do
        svc=${SERVICES[RANDOM % 4]} kind=${KINDS[RANDOM % 3]}
        case $kind in
        timeout) rule="{\"service\":\"$svc\",\"kind\":\"timeout\",\"delay_ms\":3000}" ;;
        status) rule="{\"service\":\"$svc\",\"kind\":\"status\",\"status\":503}" ;;
        drop_response) rule="{\"service\":\"$svc\",\"kind\":\"drop_response\"}" ;;
        esac
        sb POST /sandbox/faults "$rule"
        [[ $SB_STATUS == 2?? ]] && printf '%s %s\n' "$svc" "$kind" >>"$FAULT_RULES"
    done
}

# --- load and kills ----------------------------------------------------------------
LOG="$RUN/log.jsonl"
pm_spawn pm-chaos "$RUN/pm-chaos.out" "$PM_BIN/pm-chaos" --base "$BASE" --sandbox "$SANDBOX_URL" \
    --tokens "$RUN/tokens.txt" --log "$LOG" --seconds "$C_SECONDS" --clients "$C_CLIENTS" \
    --seed "$C_SEED" --package "$PM_BAZAAR_PACKAGE"
LOAD_PID=$PM_LAST_PID
KILL_QUEUE=()
KILLS="$RUN/kills.txt"
: >"$KILLS"
load_end=$(($(now_ms) + C_SECONDS * 1000))
while pm_alive "$LOAD_PID" && (($(now_ms) < load_end)); do
    # every C_KILL_EVERY s, +-50 %
    step=$((C_KILL_EVERY * 1000 / 2 + RANDOM % (C_KILL_EVERY * 1000 + 1)))
    sleep "$(awk -v m="$step" 'BEGIN { printf "%.3f", m / 1000 }')"
    (($(now_ms) < load_end)) || break
    revive
    # each round kills every daemon once, in an order the seed shuffles
    if ((${#KILL_QUEUE[@]} == 0)); then
        KILL_QUEUE=("${DAEMONS[@]}")
        for ((j = ${#KILL_QUEUE[@]} - 1; j > 0; j--)); do
            k=$((RANDOM % (j + 1)))
            tmp=${KILL_QUEUE[j]} KILL_QUEUE[j]=${KILL_QUEUE[k]} KILL_QUEUE[k]=$tmp
        done
    fi
    d=${KILL_QUEUE[0]}
    KILL_QUEUE=("${KILL_QUEUE[@]:1}")
    outage=$((100 + RANDOM % 900))
    t_kill=$(now_ms)
    kill_daemon "$d"
    sleep "$(awk -v m="$outage" 'BEGIN { printf "%.3f", m / 1000 }')"
    start_daemon "$d"
    printf '%s %s %s %s\n' "$t_kill" "$d" "$outage" "$(($(now_ms) - t_kill))" >>"$KILLS"
    sprinkle
done
# The clients end their flows (bounded by pm-chaos's own grace).
for ((i = 0; i < 900; i++)); do
    pm_alive "$LOAD_PID" || break
    sleep 0.1
done
if pm_alive "$LOAD_PID"; then
    pm_stop "$LOAD_PID"
else
    pm_reap "$LOAD_PID"
fi
T_LOAD_END=$(now_ms)
tail -n 1 "$RUN/pm-chaos.out"

# --- settle --------------------------------------------------------------------------
revive
if [[ $FAULT_MODE == random ]]; then
    sb GET /sandbox/faults/random
    sb DELETE /sandbox/faults/random
    printf '%s\n' "$SB_BODY" >"$RUN/faults_random.json"
fi
sb DELETE /sandbox/faults
# What a user would finish: the unpaid checkouts are cancelled, the unpaid
# bank orders declined, so that nothing waits on a person any more (as the
# providers' own timeouts would, in 30 minutes). Known from the sandbox's
# listings (its last 1000), the clients' log, and paymesh's retry queue:
# a create whose answer was lost leaves an orphan only paymesh knows.
SETTLED_CO=0 SETTLED_ORD=0
# settle [queue]: with "queue", only what paymesh's retry queue names.
settle() {
    local t o reg list
    : >"$RUN/settle.checkouts.now"
    : >"$RUN/settle.orders.now"
    if [[ ${1:-} != queue ]]; then
        sb GET /sandbox/bazaarpay/checkouts
        jq -r '.checkouts[]? | select(.status == "unpaid") | .checkout_token' <<<"$SB_BODY" >>"$RUN/settle.checkouts.now"
        jq -r 'select(.family == "bazaarpay" and .op == "checkout" and .status == 200) | .resp.checkout_token // empty' \
            "$LOG" >>"$RUN/settle.checkouts.now"
        sb GET /sandbox/bank/orders
        jq -r '.orders[]? | select(.state == "registered") | .order_id' <<<"$SB_BODY" >>"$RUN/settle.orders.now"
    fi
    list=$(pm_retry_list 2>/dev/null) || list='[]'
    jq -r '.[]? | select(.kind == "bazaarpay_trace" and .state != "parked") | .ref // empty' <<<"$list" \
        >>"$RUN/settle.checkouts.now"
    for t in $(sort -u "$RUN/settle.checkouts.now"); do
        sb GET "/sandbox/bazaarpay/checkouts/$t"
        if [[ $(jq -r .status <<<"$SB_BODY" 2>/dev/null) == unpaid ]]; then
            sb POST "/sandbox/bazaarpay/checkouts/$t/cancel" '{}'
            SETTLED_CO=$((SETTLED_CO + 1))
        fi
    done
    for reg in $(jq -r '.[]? | select(.kind == "bank_status" and .state != "parked") | .ref // empty' <<<"$list"); do
        pm_ctl order show "$reg" --json 2>/dev/null | jq -r '.order_id // empty' >>"$RUN/settle.orders.now"
    done
    for o in $(sort -u "$RUN/settle.orders.now"); do
        sb GET "/sandbox/bank/orders/$o"
        if [[ $(jq -r .state <<<"$SB_BODY" 2>/dev/null) == registered ]]; then
            sb POST "/sandbox/bank/orders/$o/decline" '{}'
            SETTLED_ORD=$((SETTLED_ORD + 1))
        fi
    done
    cat "$RUN/settle.checkouts.now" >>"$RUN/settle.checkouts"
    cat "$RUN/settle.orders.now" >>"$RUN/settle.orders"
}
settle

# Drained: no job waits except parked ones (retry list), none queued or leased.
drained() {
    local list st
    list=$(pm_retry_list) || return 1
    st=$(pm_ctl stats) || return 1
    jq -e 'map(select(.state != "parked")) | length == 0' <<<"$list" >/dev/null 2>&1 &&
        jq -e '(.jobs_queued // 0) == 0 and (.jobs_leased // 0) == 0 and (.jobs_retry // 0) == 0' <<<"$st" >/dev/null 2>&1
}
t_drain=$(now_ms)
DRAINED=no
for ((i = 0; i < C_DRAIN * 2; i++)); do
    revive
    if drained; then
        DRAINED=yes
        break
    fi
    ((i % 10 == 9)) && settle queue # what a late report opened (an init or register after the load)
    sleep 0.5
done
pm_note "settled: $SETTLED_CO unpaid checkouts cancelled, $SETTLED_ORD unpaid bank orders declined"
DRAIN_MS=$(($(now_ms) - t_drain))
pm_retry_list >"$RUN/retry_list.json"
pm_ctl stats >"$RUN/stats.json"
if [[ $DRAINED == yes ]]; then
    pm_note "drained in $DRAIN_MS ms"
else
    pm_note "NOT drained after $DRAIN_MS ms: $(jq -c '[.[] | {kind, state, ref, outcome: (.last_outcome // .outcome)}] | .[:10]' "$RUN/retry_list.json" 2>/dev/null)"
fi

# --- check ---------------------------------------------------------------------------
{
    printf 'BASE=%q\nSANDBOX_URL=%q\nPAYMENTCTL=%q\nDATA=%q\n' "$BASE" "$SANDBOX_URL" "$PM_BIN/paymentctl" "$PM_DATA"
    printf 'SEED=%q\nSECONDS_RUN=%q\nCLIENTS=%q\nPER_MILLE=%q\nKILL_EVERY=%q\n' \
        "$C_SEED" "$C_SECONDS" "$C_CLIENTS" "$C_PER_MILLE" "$C_KILL_EVERY"
    printf 'DRAINED=%q\nDRAIN_MS=%q\nFAULT_MODE=%q\nWALL_MS=%q\n' "$DRAINED" "$DRAIN_MS" "$FAULT_MODE" \
        "$(($(now_ms) - T_START))"
} >"$RUN/env"
bash "$_root/tests/chaos/check.sh" "$RUN"
rc=$?
check $rc "chaos run (seed $C_SEED): no violation" "see $RUN/figures.txt and $RUN/violations.jsonl"
[[ $DRAINED == yes ]]
check $? "retry-worker drained within ${C_DRAIN}s" "$(head -c 600 "$RUN/retry_list.json")"
[[ ! -s $CRASHES ]]
check $? "no daemon died on its own" "$(cat "$CRASHES")"
printf 'chaos: seed %s; figures in %s/figures.txt\n' "$C_SEED" "$RUN"
# The store is large and of no use once checked clean.
((PM_FAILED == 0)) && rm -rf "$PM_DATA"/*.mdb 2>/dev/null
exit 0
