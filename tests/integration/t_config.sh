#!/usr/bin/env bash
# Settings (docs/operations.md): --help, flags and PAYMESH_* environment
# variables, refusal of out-of-range values naming the setting, loopback-only
# listening, and several stateless gateways in front of one core.
. "$(dirname "$0")/lib.sh"

# refused LABEL SETTING PROGRAM ARGS...: the program exits non-zero within
# 5 s and its message names SETTING.
refused() {
    local label=$1 setting=$2
    shift 2
    timeout 5 "$@" >"$PM_TMP/cfg.out" 2>&1 </dev/null
    local rc=$?
    ((rc != 0 && rc != 124)) && grep -q -- "$setting" "$PM_TMP/cfg.out"
    check $? "$label" "exit status $rc, said '$(head -c 300 "$PM_TMP/cfg.out" | tr '\n' ' ')'"
}

for prog in payment-core api-gateway paymentctl; do
    timeout 5 "$PM_BIN/$prog" --help >"$PM_TMP/help.$prog" 2>&1
    rc=$?
    ((rc == 0)) && grep -q PAYMESH_ "$PM_TMP/help.$prog"
    check $? "$prog --help exits 0 and lists its settings" "exit status $rc"
done

p=$(pm_free_port)
refused "gateway port 0" http-port "$PM_BIN/api-gateway" --http-port 0
refused "gateway port 70000" http-port "$PM_BIN/api-gateway" --http-port=70000
refused "gateway port not a number" http-port "$PM_BIN/api-gateway" --http-port 80x
refused "gateway unknown flag" no-such-setting "$PM_BIN/api-gateway" --no-such-setting=1
refused "gateway positional argument" stray "$PM_BIN/api-gateway" stray
refused "gateway core timeout 0" core-timeout-ms "$PM_BIN/api-gateway" --http-port "$p" --core-timeout-ms 0
refused "gateway body limit 10 GB" max-body-bytes "$PM_BIN/api-gateway" --http-port "$p" --max-body-bytes 10000000000
refused "gateway bad env value" http-port env PAYMESH_HTTP_PORT=-5 "$PM_BIN/api-gateway"
refused "core idempotency TTL under 24 h" idempotency-ttl-s "$PM_BIN/payment-core" \
    --data-dir "$PM_DATA" --api-endpoint "tcp://127.0.0.1:$p" --idempotency-ttl-s 3600
refused "core bad log level" log-level "$PM_BIN/payment-core" --data-dir "$PM_DATA" \
    --api-endpoint "tcp://127.0.0.1:$p" --log-level loud
refused "core unknown flag" frobnicate "$PM_BIN/payment-core" --frobnicate
refused "paymentctl unknown command" frobnicate "$PM_BIN/paymentctl" --data-dir "$PM_DATA" frobnicate

# Settings from the environment; a flag wins over the environment.
CORE_PORT=$(pm_free_port)
pm_start_core
pm_methods bob
gwp=$(pm_free_port)
pm_spawn api-gateway "$PM_TMP/gateway.env.log" /usr/bin/env PAYMESH_HTTP_PORT="$gwp" PAYMESH_HTTP_HOST=127.0.0.1 \
    PAYMESH_CORE_ENDPOINT="tcp://127.0.0.1:$CORE_PORT" "$PM_BIN/api-gateway"
GW_PID=$PM_LAST_PID
pm_wait_ready "$GW_PID" "api-gateway listening on http://"
BASE="http://127.0.0.1:$gwp"
alice=$(pm_token alice)
pm_create "$alice" alice bob 1.00
id=$TXID
pass "gateway configured by PAYMESH_* serves on PAYMESH_HTTP_PORT"

other=$(pm_free_port)
pm_spawn api-gateway "$PM_TMP/gateway.flag.log" /usr/bin/env PAYMESH_HTTP_PORT="$gwp" "$PM_BIN/api-gateway" \
    --http-host 127.0.0.1 --http-port "$other" --core-endpoint "tcp://127.0.0.1:$CORE_PORT"
GW2_PID=$PM_LAST_PID
pm_wait_ready "$GW2_PID" "api-gateway listening on http://"
BASE="http://127.0.0.1:$other"
http GET "/api/v1/payment/$id/retrieve/status" -t "$alice"
expect_status 200 "--http-port wins over PAYMESH_HTTP_PORT; second gateway serves"

# Listening on loopback only.
for port in "$CORE_PORT" "$gwp" "$other"; do
    addrs=$(ss -Hltn "sport = :$port" | awk '{print $4}' | sort -u | tr '\n' ' ')
    [[ -n $addrs && -z $(tr ' ' '\n' <<<"$addrs" | grep -v '^127\.0\.0\.1:' | grep .) ]]
    check $? "port $port listens on 127.0.0.1 only" "listening on: $addrs"
done
[[ -S $PM_DATA/admin.sock ]]
check $? "admin socket is $PM_DATA/admin.sock" "$(ls -la "$PM_DATA")"

# One payment-core per data directory.
refused "a second payment-core on the same data directory" locked "$PM_BIN/payment-core" \
    --data-dir "$PM_DATA" --api-endpoint "tcp://127.0.0.1:$(pm_free_port)" \
    --admin-endpoint "ipc://$PM_TMP/admin2.sock"
http GET "/api/v1/payment/$id/retrieve/status" -t "$alice"
expect_status 200 "the first payment-core still serves"

# Two stateless gateways, one core: the same payment and the same replay.
tok=$(pm_uuid)
body=$(create_body "$tok" alice bob 2.22)
BASE="http://127.0.0.1:$gwp"
http POST /api/v1/payment/create -t "$alice" -d "$body"
expect_status 200 "create through gateway 1"
cp "$PM_TMP/resp.body" "$PM_TMP/first"
BASE="http://127.0.0.1:$other"
http POST /api/v1/payment/create -t "$alice" -d "$body"
expect_status 200 "the same create through gateway 2"
cmp -s "$PM_TMP/first" "$PM_TMP/resp.body"
check $? "gateway 2 replays gateway 1's answer byte for byte" "$(cat "$PM_TMP/first") vs $RESP_BODY"
id2=$(jq -r .transaction_id "$PM_TMP/first")
http POST "/api/v1/payment/$id2/cancel" -t "$alice" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
expect_status 200 "cancel through gateway 2"
BASE="http://127.0.0.1:$gwp"
http GET "/api/v1/payment/$id2/retrieve/status" -t "$alice"
expect_json .payment_status cancelled "gateway 1 sees gateway 2's cancel"
pm_stop "$GW2_PID"
http GET "/api/v1/payment/$id2/retrieve/status" -t "$alice"
expect_status 200 "gateway 1 unaffected by gateway 2 stopping"
