#!/usr/bin/env bash
# provider-bank SIGKILLed mid-job (seed 004): killed while a register is at
# the bank, the app's request gets 503 and its retry registers a new order
# (never a payable second one: only the second's URL was handed out); killed
# while a status call is at the bank, the status job comes back when its
# lease runs out and the validation ends paid, once.
. "$(dirname "$0")/lib.sh"

LEASE_MS=1500
pm_start_sandbox
pm_start_core --job-lease-ms "$LEASE_MS"
pm_start_gateway --core-timeout-ms 3000
pm_start_provider_bank
pm_start_retry_worker
alice=$(pm_token alice)
pm_ctl regno-type add --id 9 --name sale_order_invoice_code --prefix ANS --length 8 \
    --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null

http POST /gen-reg-no/ -t "$alice" -d '{"RegNumTypeId": 9, "random_mode": 1}'
REG=$(jq -r .data "$PM_TMP/resp.body")
http POST /checkout-sale-order-inv/ -t "$alice" -d '{"OInvRegNo": "'"$REG"'",
    "online_payment_type": "halkbank", "OInvTotal": 3.00,
    "OrderInvLines": [{"ResName": "tea", "ItemCount": 1, "ResPrice": 3.00}]}'
expect_status 200 "invoice"
register() {
    http POST "/order-payment-register-request/?online_payment_type=halkbank" -t "$alice" \
        -d '{"OInvRegNo": "'"$REG"'", "TotalPrice": 3.00, "OrderDesc": "crash test"}'
}

# Killed with the register at the bank.
sb_fault '{"service": "rbs", "kind": "delay", "delay_ms": 1500, "count": 1, "match": "register"}'
bg_post "$alice" "/order-payment-register-request/?online_payment_type=halkbank" \
    '{"OInvRegNo": "'"$REG"'", "TotalPrice": 3.00, "OrderDesc": "crash test"}' "$PM_TMP/reg1"
sleep 0.5
pm_kill9 "$PBK_PID"
wait "$BG_PID"
[[ $(cat "$PM_TMP/reg1.status" 2>/dev/null) == 503 ]]
check $? "the register whose worker died answers 503" \
    "$(cat "$PM_TMP/reg1.status" "$PM_TMP/reg1.body" 2>/dev/null)"
pm_start_provider_bank
sleep "$(awk "BEGIN {print $LEASE_MS / 1000 + 0.5}")"
register
expect_status 200 "the app's retry registers the order"
ORDER=$(jq -r .data.OrderId "$PM_TMP/resp.body")
register
[[ $(jq -r .data.OrderId "$PM_TMP/resp.body") == "$ORDER" ]]
check $? "and registering again gives that order" "$(cat "$PM_TMP/resp.body")"

# Killed with a status call at the bank.
sb POST "/sandbox/bank/orders/$ORDER/pay"
sb_fault '{"service": "rbs", "kind": "delay", "delay_ms": 1500, "count": 1, "match": "getOrderStatus"}'
bg_post "$alice" /order-inv-validation/ \
    '{"OrderId": "'"$ORDER"'", "OInvRegNo": "'"$REG"'", "online_payment_type": "halkbank"}' "$PM_TMP/val1"
sleep 0.5
pm_kill9 "$PBK_PID"
wait "$BG_PID"
pm_start_provider_bank
paid() {
    http POST /order-inv-validation/ -t "$alice" \
        -d '{"OrderId": "'"$ORDER"'", "OInvRegNo": "'"$REG"'", "online_payment_type": "halkbank"}'
    jq -e '.status == 1' "$PM_TMP/resp.body" >/dev/null
}
wait_until 20 paid
check $? "after the restart the validation ends paid" "$(cat "$PM_TMP/resp.body")"
sb GET "/sandbox/bank/orders/$ORDER"
jq -e '.state == "paid" or .state == "deposited"' <<<"$SB_BODY" >/dev/null
check $? "the bank holds it paid" "$SB_BODY"
expect_alive "after the provider-bank crashes"
