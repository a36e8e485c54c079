#!/usr/bin/env bash
# Logs (docs/operations.md "Logs", issue 12): every daemon writes one JSON
# object per line with ts, daemon, pid, level and msg, and "trace" while it
# works for one request; a request's trace id (the X-Request-Id response
# header) follows it through the gateway, payment-core and the provider
# daemon that ran its job. No log holds an API token or a provider secret.
# All six daemons at --log-level debug (the most they ever write), one
# request of each family: a payment to a bank method (create + accept), a
# store purchase (open + redeem), a BazaarPay checkout (open + confirm), an
# order invoice (register + validate).
. "$(dirname "$0")/lib.sh"

# Provider secrets with recognisable values, in the environment of both the
# sandbox (which checks them) and the providers (which send them), so that
# no command line the harness writes into a log holds them.
export PAYMESH_BAZAAR_CLIENT_SECRET=s3cret-bazaar-client-Q7xK
export PAYMESH_BAZAAR_REFRESH_TOKEN=s3cret-bazaar-refresh-Z4mW
export PAYMESH_RBS_PASSWORD=s3cret-rbs-password-J2vN
export PAYMESH_TFEB_CLIENT_SECRET=s3cret-tfeb-client-H8pR
export PAYMESH_BAZAARPAY_MERCHANT_TOKEN=s3cret-bazaarpay-merchant-T5cY
# pm_start_provider_bazaar passes this one as a flag (harness "# " lines,
# not the daemon's, which are left out of the checks below).
PM_BAZAARPAY_MERCHANT_TOKEN=$PAYMESH_BAZAARPAY_MERCHANT_TOKEN
secrets=("$PAYMESH_BAZAAR_CLIENT_SECRET" "$PAYMESH_BAZAAR_REFRESH_TOKEN" "$PAYMESH_RBS_PASSWORD"
    "$PAYMESH_TFEB_CLIENT_SECRET" "$PAYMESH_BAZAARPAY_MERCHANT_TOKEN")

dbg=(--log-level debug)
pm_start_core "${dbg[@]}"
pm_start_gateway "${dbg[@]}"
pm_start_sandbox "${dbg[@]}"
pm_start_provider_bazaar "${dbg[@]}"
pm_start_provider_bank "${dbg[@]}"
pm_start_retry_worker "${dbg[@]}"
alice=$(pm_token alice)
bob=$(pm_token bob)
svc=$(pm_token ops service)
tokens=("$alice" "$bob" "$svc")

rid() { grep -i '^X-Request-Id:' "$PM_TMP/resp.headers" | head -n1 | cut -d: -f2- | tr -d '\r ' ; }

# --- a payment to a bank method -------------------------------------------------------
pm_ctl method add --id halk-card --principal bob --bank halkbank --currency TMT >/dev/null
check $? "method add: a halkbank method for bob" "$(tail -n 2 "$PM_TMP/paymentctl.log")"
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$(pm_uuid)" alice bob 17.50 TMT halk-card)"
expect_status 200 "payment: create"
pay=$(jq -r '.transaction_id // empty' "$PM_TMP/resp.body")
# Bearer, the other way to send a token.
http POST "/api/v1/payment/$pay/accept" -H "Authorization: Bearer $bob" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
expect_status 200 "payment: accept (Authorization: Bearer)"
expect_header X-Request-Id '^[0-9a-f-]{36}$' "the answer names its trace id"
t_pay=$(rid)
registered() {
    http GET "/api/v1/payment/$pay/retrieve" -t "$alice"
    jq -e '.payment.bank.order_id != null' "$PM_TMP/resp.body" >/dev/null
}
wait_until 15 registered
check $? "payment: registered with halkbank" "$RESP_BODY"

# --- a store purchase ------------------------------------------------------------------
pm_package coins_100 "100 coins" 1000 coin 100
store_open "$alice" coins_100
ptoken=$(sb_buy coins_100)
store_redeem "$alice" "$SERIAL" "$ptoken"
expect_status 200 "store: redeem"
t_redeem=$(rid)

# --- a BazaarPay checkout ----------------------------------------------------------------
bp_checkout "$alice" coins_100
t_checkout=$(rid)
sbp pay "$CO"
bp_confirm_until "$alice" "$CO" 15
expect_status 200 "bazaarpay: confirm after paying"
expect_json .state delivered "bazaarpay: delivered"

# --- an order invoice ----------------------------------------------------------------------
pm_ctl regno-type add --id 9 --name sale_order_invoice_code --prefix ANS --length 8 \
    --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null
check $? "registration number type 9" "$(tail -n 2 "$PM_TMP/paymentctl.log")"
http POST /gen-reg-no/ -t "$alice" -d '{"RegNumTypeId": 9, "random_mode": 1, "RegNumTypeName": "sale_order_invoice_code"}'
reg=$(jq -r .data "$PM_TMP/resp.body")
http POST /checkout-sale-order-inv/ -t "$alice" -d '{"OInvRegNo": "'"$reg"'", "online_payment_type": "foreign_affairs_bank",
    "OInvTotal": 7.50, "OrderInvLines": [{"ResName": "cake", "ItemCount": 1, "ResPrice": 7.50}]}'
expect_status 200 "order: checkout-sale-order-inv"
http POST "/order-payment-register-request/?online_payment_type=foreign_affairs_bank" -t "$alice" \
    -d '{"OInvRegNo": "'"$reg"'", "TotalPrice": 7.50, "OrderDesc": "cake"}'
expect_status 200 "order: register (foreign_affairs_bank)"
t_order=$(rid)
order=$(jq -r '.data.OrderId // empty' "$PM_TMP/resp.body")
sb POST "/sandbox/bank/orders/$order/pay" >/dev/null
http POST /order-inv-validation/ -t "$alice" \
    -d '{"OrderId": "'"$order"'", "OInvRegNo": "'"$reg"'", "online_payment_type": "foreign_affairs_bank"}'
expect_status 200 "order: validate after paying"
expect_jq '.status == 1' "order: paid"
sleep 1 # the last jobs' results and decisions reach the logs

# --- every line is one JSON object with the fields ------------------------------------
logs=("$PM_TMP"/core.*.log "$PM_TMP"/gateway.*.log "$PM_TMP"/sandbox.*.log
    "$PM_TMP"/provider-bazaar.*.log "$PM_TMP"/provider-bank.*.log "$PM_TMP"/retry-worker.*.log)
for log in "${logs[@]}"; do
    name=$(basename "$log")
    # "# command line" is the harness's own first line.
    lines=$(grep -vc '^# ' "$log")
    bad=$(grep -v '^# ' "$log" | jq -Rr 'fromjson? // "BAD" |
        if type == "object" and (.ts | type) == "string" and (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z$"))
           and (.daemon | type) == "string" and (.pid | type) == "number"
           and (.level | IN("error", "warn", "info", "debug")) and (.msg | type) == "string"
           and ((.trace == null) or (.trace | type) == "string" and length > 0)
        then empty else tostring end' 2>&1 | head -n 3)
    [[ -z $bad ]] && ((lines > 0))
    check $? "$name: $lines lines, each a JSON object with ts, daemon, pid, level, msg" "$bad"
done

# --- a request's trace follows it ---------------------------------------------------------
# has_trace TRACE LOG...: some line of a LOG carries "trace": TRACE.
has_trace() {
    local t=$1 log
    shift
    for log in "$@"; do
        grep -v '^# ' "$log" | jq -ne --arg t "$t" 'any(inputs; .trace == $t)' >/dev/null 2>&1 && return 0
    done
    return 1
}
follow() { # follow LABEL TRACE PROVIDER
    local label=$1 t=$2 prov=$3 d
    [[ -n $t ]]
    check $? "$label: the answer had an X-Request-Id" ""
    for d in gateway core "$prov"; do
        has_trace "$t" "$PM_TMP/$d".*.log
        check $? "$label: trace $t is in $d's log" "$(grep -h -- "$t" "$PM_TMP/$d".*.log | head -n 3)"
    done
}
follow "payment accept" "$t_pay" provider-bank
follow "store redeem" "$t_redeem" provider-bazaar
follow "bazaarpay checkout" "$t_checkout" provider-bazaar
follow "order register" "$t_order" provider-bank
# retry-worker synced the payment's bank leg under the payment's trace.
has_trace "$t_pay" "$PM_TMP"/retry-worker.*.log || has_trace "$t_order" "$PM_TMP"/retry-worker.*.log
check $? "retry-worker's decisions carry the trace of the request that made the job" \
    "$(grep -v '^# ' "$PM_TMP"/retry-worker.*.log | grep -m3 '"trace"')"

# --- no secret in any log --------------------------------------------------------------------
for s in "${tokens[@]}" "${secrets[@]}"; do
    found=$(grep -v '^# ' "${logs[@]}" | grep -F -- "$s" | head -n 2)
    [[ -z $found ]]
    check $? "no log holds ${s:0:12}…" "$found"
done
# A token's first characters are not its hash prefix nor anything else.
found=$(grep -v '^# ' "${logs[@]}" | grep -iE 'bearer [A-Za-z0-9_-]{8}|x_auth_token[=:] *[A-Za-z0-9_-]{8}' | head -n 2)
[[ -z $found ]]
check $? "no log holds an x_auth_token or Bearer value" "$found"

# --- the text format, for people ------------------------------------------------------------
timeout 2 "$PM_BIN/retry-worker" --log-format text --core-worker-endpoint "tcp://127.0.0.1:$(pm_free_port)" \
    >"$PM_TMP/text.out" 2>&1 </dev/null
line=$(head -n 1 "$PM_TMP/text.out")
[[ $line =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z\ retry-worker\[[0-9]+\]\ info:\ retry-worker\ ready ]]
check $? "--log-format text: '<time> <daemon>[<pid>] <level>: <message>'" "$line"
"$PM_BIN/retry-worker" --log-format xml >"$PM_TMP/run.out" 2>&1 </dev/null
(($? == 2)) && grep -q log-format "$PM_TMP/run.out"
check $? "--log-format xml is refused, naming the setting" "$(head -c 200 "$PM_TMP/run.out")"
PAYMESH_LOG_FORMAT=yaml "$PM_BIN/retry-worker" >"$PM_TMP/run.out" 2>&1 </dev/null
(($? == 2)) && grep -q "is not json or text" "$PM_TMP/run.out"
check $? "PAYMESH_LOG_FORMAT=yaml is refused" "$(head -c 200 "$PM_TMP/run.out")"

pm_exit
