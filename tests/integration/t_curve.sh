#!/usr/bin/env bash
# Encrypted links (issue 12, docs/operations.md "Encrypted links (CURVE)"):
# paymentctl keygen writes key pairs; payment-core with a server key and a
# directory of accepted client keys serves gateways, provider-bazaar,
# provider-bank and retry-worker that hold accepted keys (a payment
# create/accept and a store redeem against the sandbox go through); a
# gateway whose key is not in the directory, or a plaintext gateway, gets no
# answer (503 after its core timeout) and the core logs the refusal; a half
# configuration stops a daemon at start (exit 2, naming the setting); the
# plaintext default still works.
. "$(dirname "$0")/lib.sh"

KEYS=$PM_TMP/keys
CLIENTS=$PM_TMP/clients
mkdir -p "$KEYS" "$CLIENTS"

# --- keygen ------------------------------------------------------------------------
for n in core gateway bazaar bank retry intruder; do
    pub=$("$PM_BIN/paymentctl" keygen --out "$KEYS" --name "$n" 2>>"$PM_TMP/paymentctl.log")
    check $? "paymentctl keygen --name $n exits 0" "$(tail -n 2 "$PM_TMP/paymentctl.log")"
done
[[ $pub =~ ^.{40}$ ]]
check $? "keygen prints the 40-character Z85 public key" "printed '$pub'"
[[ $(stat -c %a "$KEYS/core.key") == 600 && -s $KEYS/core.pub ]]
check $? "NAME.key is mode 600, NAME.pub is there" "$(ls -l "$KEYS")"
grep -q 'secret-key' "$KEYS/core.key" && ! grep -q 'secret-key' "$KEYS/core.pub"
check $? "the secret key is in NAME.key only" "$(cat "$KEYS/core.pub")"
grep -qF "public-key = \"$pub\"" "$KEYS/intruder.pub"
check $? "the printed key is NAME.pub's" "$(cat "$KEYS/intruder.pub")"
"$PM_BIN/paymentctl" keygen --out "$KEYS" --name core >/dev/null 2>&1
(($? == 1)) && grep -q 'secret-key' "$KEYS/core.key"
check $? "keygen never overwrites a key pair (exit 1)" "$(ls -l "$KEYS")"
"$PM_BIN/paymentctl" keygen --out "$KEYS" >/dev/null 2>&1
(($? == 2))
check $? "keygen without --name is a usage error (exit 2)"
for n in gateway bazaar bank retry; do cp "$KEYS/$n.pub" "$CLIENTS/"; done

# --- half configurations: exit 2, naming what is missing ------------------------------
# expect_refused LABEL SETTING PROGRAM ARGS...
expect_refused() {
    local label=$1 setting=$2 prog=$3
    shift 3
    timeout -k 2 5 "$PM_BIN/$prog" "$@" >"$PM_TMP/run.out" 2>&1 </dev/null
    local rc=$?
    ((rc == 2)) && grep -qF -- "$setting" "$PM_TMP/run.out"
    check $? "$label" "exit $rc: $(head -c 300 "$PM_TMP/run.out" | tr '\n' ' ')"
}
p1=$(pm_free_port) p2=$(pm_free_port) p3=$(pm_free_port)
core_safe=(--data-dir "$PM_TMP/nodata" --api-endpoint "tcp://127.0.0.1:$p1" --worker-endpoint "tcp://127.0.0.1:$p2")
expect_refused "payment-core: a server key without curve-clients-dir" curve-clients-dir \
    payment-core "${core_safe[@]}" --curve-secret-key-file "$KEYS/core.key"
expect_refused "payment-core: curve-clients-dir without a server key" curve-secret-key-file \
    payment-core "${core_safe[@]}" --curve-clients-dir "$CLIENTS"
expect_refused "payment-core: a public key file as its key pair" curve-secret-key-file \
    payment-core "${core_safe[@]}" --curve-secret-key-file "$KEYS/core.pub" --curve-clients-dir "$CLIENTS"
expect_refused "payment-core: curve-clients-dir that is no directory" curve-clients-dir \
    payment-core "${core_safe[@]}" --curve-secret-key-file "$KEYS/core.key" --curve-clients-dir "$PM_TMP/none"
gw_safe=(--http-port "$p3" --core-endpoint "tcp://127.0.0.1:$p1")
expect_refused "api-gateway: own key without the server's public key" curve-server-public-key-file \
    api-gateway "${gw_safe[@]}" --curve-secret-key-file "$KEYS/gateway.key"
expect_refused "api-gateway: the server's public key without its own key" curve-secret-key-file \
    api-gateway "${gw_safe[@]}" --curve-server-public-key-file "$KEYS/core.pub"
PAYMESH_CURVE_SECRET_KEY_FILE=$KEYS/gateway.key expect_refused \
    "api-gateway: PAYMESH_CURVE_SECRET_KEY_FILE alone" curve-server-public-key-file \
    api-gateway "${gw_safe[@]}"
expect_refused "api-gateway: an unreadable key file" curve-secret-key-file \
    api-gateway "${gw_safe[@]}" --curve-secret-key-file "$PM_TMP/nokey" \
    --curve-server-public-key-file "$KEYS/core.pub"
for d in provider-bazaar provider-bank retry-worker; do
    expect_refused "$d: own key without the server's public key" curve-server-public-key-file \
        "$d" --core-worker-endpoint "tcp://127.0.0.1:$p2" --curve-secret-key-file "$KEYS/retry.key"
done

# --- CURVE on: every daemon with an accepted key ------------------------------------
client() { printf -- '--curve-secret-key-file\n%s\n--curve-server-public-key-file\n%s\n' "$KEYS/$1.key" "$KEYS/core.pub"; }
mapfile -t gw_keys < <(client gateway)
mapfile -t pb_keys < <(client bazaar)
mapfile -t pbk_keys < <(client bank)
mapfile -t rw_keys < <(client retry)
pm_start_core --curve-secret-key-file "$KEYS/core.key" --curve-clients-dir "$CLIENTS"
CORE_LOG=$PM_TMP/core.$CORE_STARTS.log
grep -q "CURVE on the api and worker sockets" "$CORE_LOG"
check $? "payment-core logs that CURVE is on" "$(tail -n 3 "$CORE_LOG")"
pm_methods bob
pm_ctl ping >/dev/null
check $? "paymentctl still reaches the admin socket (plaintext ipc)"
pm_start_gateway --core-timeout-ms 1500 "${gw_keys[@]}"
GOOD_BASE=$BASE GOOD_GW_PID=$GW_PID
pm_start_sandbox
pm_start_provider_bazaar "${pb_keys[@]}"
pm_start_provider_bank "${pbk_keys[@]}"
[[ ! -x $PM_BIN/retry-worker ]] || pm_start_retry_worker "${rw_keys[@]}"
alice=$(pm_token alice)
bob=$(pm_token bob)

pm_create "$alice" alice bob 12.00
http POST "/api/v1/payment/$TXID/accept" -t "$bob" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
expect_status 200 "CURVE: bob accepts the payment"
expect_json .payment_status accepted "CURVE: the payment is accepted"

pm_package coins_100 "100 coins" 1000 coin 100
store_open "$alice" coins_100
t1=$(sb_buy coins_100)
store_redeem_retry "$alice" "$SERIAL" "$t1" 10
expect_status 200 "CURVE: a store purchase is redeemed through provider-bazaar"
expect_jq '. == {"coins": 100}' "CURVE: the redeem credits 100 coins"
expect_coins alice 100 "CURVE: alice holds 100 coins"
! grep -q "CURVE: refused" "$CORE_LOG"
check $? "no accepted daemon was refused" "$(grep "CURVE: refused" "$CORE_LOG" | head -n 3)"

# --- refused: a key not in the directory, and a plaintext gateway ---------------------
pm_start_gateway --core-timeout-ms 300 --curve-secret-key-file "$KEYS/intruder.key" \
    --curve-server-public-key-file "$KEYS/core.pub"
INTRUDER_PID=$GW_PID
t0=$SECONDS
http GET "/api/v1/payment/$TXID/retrieve" -t "$alice"
expect_status 503 "a gateway with a key not in curve-clients-dir gets no answer (503)"
((SECONDS - t0 <= 5))
check $? "the intruder's 503 comes within seconds" "$((SECONDS - t0)) s"
wait_until 5 grep -q "CURVE: refused a client on the api socket.*not in curve-clients-dir" "$CORE_LOG"
check $? "payment-core logs the refused key" "$(tail -n 3 "$CORE_LOG")"
pm_stop "$INTRUDER_PID"

pm_start_gateway --core-timeout-ms 300
PLAIN_PID=$GW_PID
http GET "/api/v1/payment/$TXID/retrieve" -t "$alice"
expect_status 503 "a plaintext gateway against a CURVE core gets no answer (503)"
wait_until 5 grep -q "CURVE: refused a client on the api socket.*handshake failed" "$CORE_LOG"
check $? "payment-core logs the plaintext client" "$(grep 'CURVE: refused' "$CORE_LOG" | tail -n 2)"
pm_stop "$PLAIN_PID"

BASE=$GOOD_BASE GW_PID=$GOOD_GW_PID
http GET "/api/v1/payment/$TXID/retrieve" -t "$alice"
expect_status 200 "the accepted gateway still serves"
expect_json .payment.status accepted "the accepted gateway: the payment is there"
expect_alive "CURVE links" $(pm_store_pids) ${PBK_PID:-}

# --- plaintext, the default, on the same store ---------------------------------------
for p in ${RW_PIDS:-}; do pm_alive "$p" && pm_stop "$p"; done
RW_PIDS=""
for p in ${PB_PIDS:-}; do pm_alive "$p" && pm_stop "$p"; done
PB_PIDS=""
pm_stop "$PBK_PID"
PBK_PID=""
pm_stop "$GW_PID"
pm_stop "$CORE_PID"
pm_start_core
pm_start_gateway
pm_start_provider_bazaar
http GET "/api/v1/payment/$TXID/retrieve" -t "$alice"
expect_status 200 "plaintext (no keys set): the gateway is served"
store_open "$alice" coins_100
t2=$(sb_buy coins_100)
store_redeem_retry "$alice" "$SERIAL" "$t2" 10
expect_status 200 "plaintext: a store purchase is redeemed"
expect_coins alice 200 "plaintext: alice holds 200 coins"
