#!/usr/bin/env bash
# Restarts under load (issue 12). A steady mixed load runs through the
# gateway: two loops of payment create + accept (every third payment to a
# halkbank method, registered by provider-bank), one loop of store purchase +
# redeem against the sandbox, one of gen-reg-no. Every request is logged
# client-side (start, end, kind, status, curl's exit code, whether a 503
# carried the `unavailable` error). One daemon at a time (api-gateway,
# payment-core, provider-bazaar, provider-bank, retry-worker) is SIGKILLed
# and restarted on the same ports and endpoints. Per daemon: the requests
# that failed meanwhile must be clean 503s (for the gateway, connection
# refused, curl 000/7, is the outage signal and counted apart; a request
# in flight at the gateway's kill gets a reset, never counted as success);
# no request hangs past curl's bound; the time to the first success after
# the restart is reported. At the end nothing acknowledged is lost: every
# acked payment is retrievable (accepted ones accepted, bank ones
# registered), every purchase credits exactly once, registration numbers
# are unique.
#
# Then the reconnect gap (docs/design.md "api-gateway"): after payment-core
# is back and one request succeeded, the next requests, spread over both
# event loops, all succeed. Last, SIGTERM drains: in-flight requests are
# answered, then each daemon exits 0.
. "$(dirname "$0")/lib.sh"

SLOW=${PM_SLOW:-1}     # a factor for slow builds (ASan)
[[ $PM_BIN == */asan* || $PM_BIN == *san* ]] && SLOW=${PM_SLOW:-2}
OUTAGE_S=$(awk -v s="$SLOW" 'BEGIN { printf "%.1f", 0.8 * s }')
SETTLE_S=$(awk -v s="$SLOW" 'BEGIN { printf "%.1f", 1.5 * s }')
LT=$((4 * SLOW)) # curl's bound in the load loops: past it is a hang

pm_start_core --job-lease-ms 1000
pm_methods bob
pm_ctl method add --id halk-card --principal bob --bank halkbank --currency TMT >/dev/null ||
    pm_fatal "method add halk-card failed"
pm_ctl regno-type add --id 9 --name sale_order_invoice_code --prefix ANS --length 8 \
    --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null || pm_fatal "regno-type add failed"
pm_package coins_100 "100 coins" 1000 coin 100
pm_start_gateway --core-timeout-ms 1500
pm_start_sandbox
pm_start_provider_bazaar
pm_start_provider_bank
pm_start_retry_worker
alice=$(pm_token alice)
bob=$(pm_token bob)
carol=$(pm_token carol)

# The gateway again on its port (pm_start_gateway would pick a new one).
restart_gateway() {
    GW_STARTS=$((GW_STARTS + 1))
    pm_spawn api-gateway "$PM_TMP/gateway.$GW_STARTS.log" "$PM_BIN/api-gateway" \
        --http-host 127.0.0.1 --http-port "$GW_PORT" \
        --core-endpoint "tcp://127.0.0.1:$CORE_PORT" --core-timeout-ms 1500
    GW_PID=$PM_LAST_PID
    pm_wait_ready "$GW_PID" "api-gateway listening on http://"
}

now_ms() { local t=${EPOCHREALTIME/./}; printf '%s' $((t / 1000)); }

L="$PM_TMP/load"
mkdir -p "$L"
STOP="$L/stop"

# lreq LOG KIND METHOD PATH TOKEN [BODY]: one logged request; sets R_CODE,
# R_EXIT and leaves the body in $LB. Log line: start end kind code exit u|x.
lreq() {
    local t0 t1 out u=x
    t0=$(now_ms)
    local args=(-s -o "$LB" -w '%{http_code} %{exitcode}' --noproxy '*' --max-time "$LT" -X "$3"
        -H "x_auth_token: $5")
    [[ -n ${6:-} ]] && args+=(--data-binary "$6")
    : >"$LB"
    out=$(curl "${args[@]}" "$BASE$4" 2>/dev/null)
    t1=$(now_ms)
    R_CODE=${out%% *} R_EXIT=${out##* }
    [[ -n $R_CODE ]] || R_CODE=000
    [[ -n $R_EXIT && $R_EXIT != "$out" ]] || R_EXIT=99
    [[ $R_CODE == 503 ]] && grep -q '"unavailable"' "$LB" && u=u
    printf '%s %s %s %s %s %s\n' "$t0" "$t1" "$2" "$R_CODE" "$R_EXIT" "$u" >>"$1"
}

# Payments: create, and accept what was created. Every third to halk-card.
pay_loop() {
    local n=$1 i=0 body id
    local LB="$L/pay.$n.body" log="$L/pay.$n.log"
    while [[ ! -e $STOP ]] && ((i < 2000)); do
        i=$((i + 1))
        if ((i % 3 == 0)); then
            body=$(create_body "$(pm_uuid)" alice bob 1.00 TMT halk-card)
        else
            body=$(create_body "$(pm_uuid)" alice bob 2.50 USD card-1)
        fi
        lreq "$log" create POST /api/v1/payment/create "$alice" "$body"
        [[ $R_CODE == 200 ]] || continue
        id=$(jq -r '.transaction_id // empty' "$LB" 2>/dev/null)
        [[ -n $id ]] || { echo "create 200 without id: $(head -c 200 "$LB")" >>"$L/wrong"; continue; }
        printf '%s %s\n' "$id" "$((i % 3 == 0))" >>"$L/acked.$n"
        lreq "$log" accept POST "/api/v1/payment/$id/accept" "$bob" "{\"idempotency_token\":\"$(pm_uuid)\"}"
        [[ $R_CODE == 200 ]] && printf '%s %s %s\n' "$id" "$((i % 3 == 0))" "$(now_ms)" >>"$L/accepted.$n"
    done
}

# Store: open a purchase, buy at the sandbox, redeem until 200 (as the app
# retries a 503), 10 s at most; what is left is redeemed again at the end.
store_loop() {
    local i=0 serial tok end LB="$L/store.body" log="$L/store.log"
    while [[ ! -e $STOP ]] && ((i < 500)); do
        i=$((i + 1))
        lreq "$log" open POST /finance/purchase "$carol" '{"serial_number":"coins_100"}'
        [[ $R_CODE == 200 ]] || continue
        serial=$(jq -r '.serial_number // empty' "$LB" 2>/dev/null)
        tok=$(curl -s --noproxy '*' --max-time 5 -H 'Content-Type: application/json' \
            --data-binary "{\"package_name\":\"$PM_BAZAAR_PACKAGE\",\"sku\":\"coins_100\"}" \
            "$SANDBOX_URL/sandbox/bazaar/purchases" | jq -r '.purchase_token // empty' 2>/dev/null)
        [[ -n $serial && -n $tok ]] || { echo "open/buy: serial '$serial' token '$tok'" >>"$L/wrong"; continue; }
        printf '%s %s\n' "$serial" "$tok" >>"$L/opened"
        end=$((SECONDS + 10))
        while :; do
            lreq "$log" redeem POST /finance/bazzar_paymnet/ "$carol" "{\"serial_number\":\"$serial\",\"ref_id\":\"$tok\"}"
            [[ $R_CODE == 200 ]] && { printf '%s\n' "$serial" >>"$L/redeemed"; break; }
            [[ $R_CODE == 503 || $R_CODE == 000 ]] || break
            [[ $SECONDS -lt $end && ! -e $STOP ]] || break
            sleep 0.1
        done
    done
}

regno_loop() {
    local i=0 LB="$L/regno.body" log="$L/regno.log"
    while [[ ! -e $STOP ]] && ((i < 3000)); do
        i=$((i + 1))
        lreq "$log" regno POST /gen-reg-no/ "$alice" '{"RegNumTypeId": 9, "random_mode": 0}'
        [[ $R_CODE == 200 ]] && jq -r '.data' "$LB" >>"$L/numbers"
    done
}

pay_loop 1 &
PM_HELPER_PIDS+=" $!"
pay_loop 2 &
PM_HELPER_PIDS+=" $!"
store_loop &
PM_HELPER_PIDS+=" $!"
regno_loop &
PM_HELPER_PIDS+=" $!"
LOAD_START=$(now_ms)
sleep "$SETTLE_S"

# analyze NAME KILL_MS RESTART_MS END_MS KINDS: the requests that ended in
# [KILL_MS, END_MS): failures by class, and the first success of KINDS
# (a regex) that started after RESTART_MS.
analyze() {
    local name=$1 k=$2 r=$3 e=$4 kinds=$5
    cat "$L"/*.log | awk -v k="$k" -v r="$r" -v e="$e" -v kinds="$kinds" -v gw="$([[ $name == api-gateway ]] && echo 1 || echo 0)" '
        $2 >= k && $2 < e {
            n++
            if ($4 ~ /^2/ || ($3 == "redeem" && $4 == 406)) ok++
            else if ($4 == 503 && $6 == "u" && $5 == 0) c503++
            else if ($4 == "000" && $5 == 7) refused++
            else if ($4 == "000" && ($5 == 52 || $5 == 56)) reset++
            else if ($5 == 28) { hang++; bad = bad " " $3 ":" $4 "/" $5 }
            else { other++; bad = bad " " $3 ":" $4 "/" $5 }
            if ($4 ~ /^2/ && $1 >= r && $3 ~ kinds && (first == "" || $2 < first)) first = $2
        }
        END {
            printf "%d %d %d %d %d %d %d %s %s\n", n, ok, c503, refused, reset, hang, other,
                (first == "" ? -1 : first - r), (bad == "" ? "-" : substr(bad, 1, 300))
        }'
}

# kill_restart NAME KINDS: SIGKILL the daemon, OUTAGE_S later start it again
# on the same endpoints, let the load settle, then judge the window.
kill_restart() {
    local name=$1 kinds=$2 k r up e
    k=$(now_ms)
    case $name in
    api-gateway) pm_kill9 "$GW_PID" ;;
    payment-core) pm_kill9 "$CORE_PID" ;;
    provider-bazaar) pm_kill9 "$PB_PID"; PB_PIDS="" ;;
    provider-bank) pm_kill9 "$PBK_PID" ;;
    retry-worker) pm_kill9_retry_worker ;;
    esac
    sleep "$OUTAGE_S"
    r=$(now_ms)
    case $name in
    api-gateway) restart_gateway ;;
    payment-core) pm_start_core --job-lease-ms 1000 ;;
    provider-bazaar) pm_start_provider_bazaar ;;
    provider-bank) pm_start_provider_bank ;;
    retry-worker) pm_start_retry_worker ;;
    esac
    up=$(now_ms)
    local bankfirst=""
    if [[ $name == provider-bank ]]; then
        # Nothing a client sees waits on provider-bank: its recovery is the
        # first bank leg registered of a payment accepted while it was down.
        local id end=$(($(now_ms) + 5000 * SLOW))
        id=$(cat "$L"/accepted.* 2>/dev/null | awk -v k="$k" -v r="$r" '$2 == 1 && $3 >= k && $3 < r { print $1; exit }')
        while [[ -n $id ]] && (($(now_ms) < end)); do
            if curl -s --noproxy '*' --max-time 2 -H "x_auth_token: $alice" "$BASE/api/v1/payment/$id/retrieve" |
                jq -e '.payment.bank.order_id | type == "string"' >/dev/null 2>&1; then
                bankfirst=$(($(now_ms) - r))
                break
            fi
            sleep 0.05
        done
        [[ -n $id ]] || bankfirst=none
    fi
    sleep "$SETTLE_S"
    e=$(now_ms)
    read -r n ok c503 refused reset hang other first bad <<<"$(analyze "$name" "$k" "$r" "$e" "$kinds")"
    [[ -z $bankfirst ]] || first=$bankfirst
    pm_note "$name: killed for $((r - k)) ms, ready $((up - r)) ms after restart; $n requests in the window: $ok ok, $c503 clean 503, $refused refused (000/7), $reset reset, $hang hung, $other other; first success ($kinds) $first ms after restart"
    ((hang == 0))
    check $? "$name kill: no request hangs past curl's ${LT}s" "$bad"
    ((other == 0))
    check $? "$name kill: every failure is a clean 503 unavailable (or refused/reset at the gateway's kill)" "$bad"
    if [[ $name == api-gateway ]]; then
        ((reset <= 4))
        check $? "gateway kill: resets only for the requests in flight at the kill (4 loops)" "$reset resets"
    else
        ((refused == 0 && reset == 0))
        check $? "$name kill: the gateway never refused a connection or reset one" "$refused refused, $reset reset"
    fi
    [[ $first =~ ^[0-9]+$ ]]
    check $? "$name kill: a request of ($kinds) succeeded after the restart" "none ($first) in $((e - r)) ms"
}

kill_restart api-gateway 'create|accept|open|redeem|regno'
kill_restart payment-core 'create|accept|open|redeem|regno'
kill_restart provider-bazaar 'redeem'
kill_restart provider-bank 'bank-registration'
kill_restart retry-worker 'create|accept|open|redeem|regno'

touch "$STOP"
for p in $PM_HELPER_PIDS; do wait "$p" 2>/dev/null; done
PM_HELPER_PIDS=""
LOAD_END=$(now_ms)
total=$(cat "$L"/*.log | wc -l)
okall=$(cat "$L"/*.log | awk '$4 ~ /^2/' | wc -l)
pm_note "load: $total requests in $(((LOAD_END - LOAD_START) / 1000)) s, $okall answered 2xx"
[[ ! -s $L/wrong ]]
check $? "no wrong answer under load" "$(head -c 600 "$L/wrong" 2>/dev/null)"

# --- nothing acknowledged is lost ----------------------------------------------------
cat "$L"/acked.* >"$L/acked" 2>/dev/null
cat "$L"/accepted.* >"$L/accepted" 2>/dev/null
missing=0 wrong_state=0 nacked=0 bank_ids=()
declare -A accepted=()
while read -r id _ _; do accepted[$id]=1; done <"$L/accepted"
while read -r id bank; do
    nacked=$((nacked + 1))
    http GET "/api/v1/payment/$id/retrieve" -t "$alice"
    if [[ $RESP_STATUS != 200 ]]; then
        missing=$((missing + 1))
        continue
    fi
    st=$(jq -r '.payment.status' "$PM_TMP/resp.body")
    if [[ -n ${accepted[$id]:-} ]]; then
        [[ $st == accepted || $st == bank_processing || $st == succeeded ]] || wrong_state=$((wrong_state + 1))
        [[ $bank == 1 ]] && bank_ids+=("$id")
    fi
done <"$L/acked"
pm_note "payments: $nacked acknowledged creates, ${#accepted[@]} acknowledged accepts (${#bank_ids[@]} to halkbank)"
((missing == 0 && nacked > 0))
check $? "every acknowledged payment is retrievable" "$missing of $nacked missing"
((wrong_state == 0))
check $? "every acknowledged accept shows accepted (or its bank states)" "$wrong_state in another state"

# Bank legs: each accepted halkbank payment gets registered (provider-bank's
# restart lost no job).
unregistered() {
    local id n=0
    for id in "${bank_ids[@]}"; do
        http GET "/api/v1/payment/$id/retrieve" -t "$alice"
        jq -e '.payment.bank.order_id | type == "string"' "$PM_TMP/resp.body" >/dev/null 2>&1 || n=$((n + 1))
    done
    UNREG=$n
    ((n == 0))
}
wait_until $((20 * SLOW)) unregistered
check $? "every accepted halkbank payment is registered with the bank" "$UNREG of ${#bank_ids[@]} without order_id"

# Purchases: anything left open is redeemed now; each credits exactly once.
nopen=0 late=0
while read -r serial tok; do
    nopen=$((nopen + 1))
    grep -qx "$serial" "$L/redeemed" 2>/dev/null && continue
    late=$((late + 1))
    store_redeem_retry "$carol" "$serial" "$tok" $((15 * SLOW))
    [[ $RESP_STATUS == 200 ]] || { RESP_REQ=""; fail "late redeem of $serial" "answered $RESP_STATUS $(pm_body_excerpt)"; }
done <"$L/opened"
pm_note "purchases: $nopen opened, $((nopen - late)) redeemed under load, $late redeemed after it"
((nopen > 0))
check $? "purchases were opened under load" "none"
expect_coins carol $((nopen * 100)) "carol holds exactly 100 coins per purchase"
l=$(pm_ledger_len carol)
((l == nopen))
check $? "carol's ledger holds one entry per purchase" "$l entries, $nopen purchases"
expect_ledger carol "carol's ledger explains her balance"

n=$(wc -l <"$L/numbers")
u=$(sort -u "$L/numbers" | wc -l)
((n > 0 && n == u))
check $? "registration numbers: $n issued, all distinct" "$u distinct of $n"

# --- the reconnect gap: both event loops serve as soon as one does ---------------------
create_req() {
    curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}\n' -H "x_auth_token: $alice" \
        --data-binary "$(create_body "$(pm_uuid)" alice bob 1.00)" "$BASE/api/v1/payment/create"
}
gap_bad=0 gap_total=0 gap_first=""
for round in 1 2 3; do
    pm_kill9 "$CORE_PID"
    # Requests on both loops while core is down: every link learns it.
    gp=()
    for j in $(seq 1 12); do
        create_req >>"$L/gap.down" &
        gp+=($!)
    done
    wait "${gp[@]}"
    sleep 0.3
    r=$(now_ms)
    pm_start_core --job-lease-ms 1000
    for ((j = 0; j < 500; j++)); do
        [[ $(create_req) == 200 ]] && break
        sleep 0.01
    done
    gap_first+=" $(($(now_ms) - r))"
    # The next 40, in 4 streams of new connections: spread over both loops.
    gp=()
    for s in 1 2 3 4; do
        (for j in $(seq 1 10); do create_req; done) >"$L/gap.$round.$s" &
        gp+=($!)
    done
    wait "${gp[@]}"
    b=$(cat "$L"/gap.$round.* | grep -vc '^200$')
    gap_bad=$((gap_bad + b))
    gap_total=$((gap_total + $(cat "$L"/gap.$round.* | wc -l)))
done
pm_note "reconnect gap: first success after restart in$gap_first ms; then $((gap_total - gap_bad)) of $gap_total succeeded"
grep -qv '^503$' "$L/gap.down"
(($? != 0))
check $? "with core down every request is 503" "$(sort "$L/gap.down" | uniq -c | tr '\n' ' ')"
((gap_bad == 0 && gap_total == 120))
check $? "after the first success, every request on every loop succeeds" "$gap_bad of $gap_total failed: $(cat "$L"/gap.*.* | sort | uniq -c | tr '\n' ' ')"

# --- SIGTERM drains ---------------------------------------------------------------
# provider-bazaar finishes the validation in flight, then exits 0. A fresh
# copy at debug level logs each job it starts, so the test knows the
# validation is in flight (it then sits in the sandbox's 600 ms delay,
# within payment-core's 1 s job lease).
pm_stop "$PB_PID"
PB_PIDS=""
pm_start_provider_bazaar --log-level debug
pblog=${PM_PID_LOG[$PB_PID]}
sb_fault '{"service":"bazaar","kind":"delay","delay_ms":600,"match":"validate"}'
store_open "$carol" coins_100
t=$(sb_buy coins_100)
bg_redeem "$carol" "$SERIAL" "$t" "$PM_TMP/drain.pb"
dpid=$BG_PID
started() { grep -q "bazaar_validate attempt [0-9]* serial $SERIAL" "$pblog"; }
wait_until 10 started
check $? "provider-bazaar started the validation before its SIGTERM" "$(tail -n 3 "$pblog")"
sleep 0.1
t0=$(now_ms)
pm_stop "$PB_PID"
waited=$(($(now_ms) - t0))
wait "$dpid" 2>/dev/null
PM_HELPER_PIDS=${PM_HELPER_PIDS/ $dpid/}
# The client hears 200, or (on a slow machine, when its wait ran out first)
# a clean 503 "try again": the redeem after the next start says 200.
pbst=$(cat "$PM_TMP/drain.pb.status" 2>/dev/null)
[[ $pbst == 200 || ($pbst == 503 && $(cat "$PM_TMP/drain.pb.body") == *unavailable*) ]]
check $? "provider-bazaar SIGTERM: the redeem in flight is answered (200 or a clean 503)" "redeem answered $pbst $(head -c 200 "$PM_TMP/drain.pb.body" 2>/dev/null)"
pb_serial=$SERIAL pb_token=$t
grep -q 'stopping: [1-9][0-9]* jobs in flight' "$pblog"
check $? "... it was in flight at provider-bazaar's SIGTERM" "$(grep stopping "$pblog")"
pm_note "provider-bazaar drained its in-flight validation and exited $waited ms after SIGTERM"
PB_PIDS=""

# api-gateway: a request waiting on payment-core is answered (503 by design:
# the gateway does not wait on core while stopping), never reset; exit 0.
pm_start_provider_bazaar
store_redeem_retry "$carol" "$pb_serial" "$pb_token" $((10 * SLOW))
expect_status 200 "... and the purchase drained at provider-bazaar's SIGTERM credits (redeemed again: 200)"
sb_fault '{"service":"bazaar","kind":"delay","delay_ms":900,"match":"validate"}'
store_open "$carol" coins_100
t2=$(sb_buy coins_100)
s2=$SERIAL
bg_redeem "$carol" "$s2" "$t2" "$PM_TMP/drain.gw"
dpid=$BG_PID
sleep 0.35
pm_stop "$GW_PID"
wait "$dpid" 2>/dev/null
PM_HELPER_PIDS=${PM_HELPER_PIDS/ $dpid/}
st=$(cat "$PM_TMP/drain.gw.status" 2>/dev/null)
[[ $st == 200 || ($st == 503 && $(cat "$PM_TMP/drain.gw.body") == *unavailable*) ]]
check $? "api-gateway SIGTERM: the request in flight is answered (200 or 503), not reset" "answered $st $(head -c 200 "$PM_TMP/drain.gw.body" 2>/dev/null)"
restart_gateway
store_redeem_retry "$carol" "$s2" "$t2" $((10 * SLOW))
expect_status 200 "... and the purchase credits after the gateway is back"

# payment-core: writes in flight at SIGTERM are answered; the acked ones
# survive the restart.
gp=()
for j in $(seq 1 16); do
    (
        b=$(curl -s --noproxy '*' --max-time 5 -w ' %{http_code} %{exitcode}' -H "x_auth_token: $alice" \
            --data-binary "$(create_body "$(pm_uuid)" alice bob 3.00)" "$BASE/api/v1/payment/create")
        printf '%s\n' "$b" >"$L/drain.core.$j"
    ) &
    gp+=($!)
done
sleep 0.02
pm_stop "$CORE_PID"
wait "${gp[@]}"
badc=0 ackc=0
for j in $(seq 1 16); do
    line=$(cat "$L/drain.core.$j" 2>/dev/null)
    code=$(awk '{ print $(NF - 1) }' <<<"$line") ex=$(awk '{ print $NF }' <<<"$line")
    body=${line% * *}
    if [[ $code == 200 && $ex == 0 ]]; then
        ackc=$((ackc + 1))
        jq -r .transaction_id <<<"$body" >>"$L/drain.core.acked"
    elif [[ $code != 503 || $ex != 0 || $body != *'"unavailable"'* ]]; then
        badc=$((badc + 1))
    fi
done
((badc == 0))
pm_note "payment-core SIGTERM with 16 creates in flight: $ackc acked, $((16 - ackc - badc)) clean 503"
check $? "payment-core SIGTERM: every create in flight answered 200 or a clean 503" "$badc others: $(cat "$L"/drain.core.* | cut -c1-80 | tr '\n' ' ')"
pm_start_core --job-lease-ms 1000
lost=0
for id in $(cat "$L/drain.core.acked" 2>/dev/null); do
    # 503 while the gateway reconnects; then 200, or 404 if it was lost.
    for ((j = 0; j < 50 * SLOW; j++)); do
        http GET "/api/v1/payment/$id/retrieve" -t "$alice"
        [[ $RESP_STATUS == 503 ]] || break
        sleep 0.1
    done
    [[ $RESP_STATUS == 200 ]] || lost=$((lost + 1))
done
((lost == 0))
check $? "the $ackc creates acked at payment-core's SIGTERM survive it" "$lost lost"

# The rest: provider-bank and retry-worker exit 0 on SIGTERM (pm_stop checks).
pm_stop "$PBK_PID"
pm_stop_retry_workers
