#!/usr/bin/env bash
# Halkbank with pre-authorization (payment-core --halkbank-two-phase on):
# the order is registered with registerPreAuth.do, the payer's card is held
# (orderStatus 1), and the validation deposits it (deposit.do) before it
# answers paid. A deposit whose answer is lost (the sandbox applies it and
# drops the connection) is never re-sent blind: a status comes first, finds
# it deposited, and the invoice ends paid with exactly one deposit at the
# bank.
. "$(dirname "$0")/lib.sh"

pm_start_sandbox
pm_start_core --halkbank-two-phase on
pm_start_gateway
pm_start_provider_bank
pm_start_retry_worker
alice=$(pm_token alice)
pm_ctl regno-type add --id 9 --name sale_order_invoice_code --prefix ANS --length 8 \
    --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null

order() { # order: a registered, pre-authorized halkbank order; sets REG, ORDER
    http POST /gen-reg-no/ -t "$alice" -d '{"RegNumTypeId": 9, "random_mode": 1}'
    REG=$(jq -r .data "$PM_TMP/resp.body")
    http POST /checkout-sale-order-inv/ -t "$alice" -d '{"OInvRegNo": "'"$REG"'",
        "online_payment_type": "halkbank", "OInvTotal": 12.25,
        "OrderInvLines": [{"ResName": "tea", "ItemCount": 1, "ResPrice": 12.25}]}'
    http POST "/order-payment-register-request/?online_payment_type=halkbank" -t "$alice" \
        -d '{"OInvRegNo": "'"$REG"'", "TotalPrice": 12.25, "OrderDesc": "preauth"}'
    expect_status 200 "order registered"
    ORDER=$(jq -r .data.OrderId "$PM_TMP/resp.body")
    sb POST "/sandbox/bank/orders/$ORDER/pay"
}
validate() {
    http POST /order-inv-validation/ -t "$alice" \
        -d '{"OrderId": "'"$ORDER"'", "OInvRegNo": "'"$REG"'", "online_payment_type": "halkbank"}'
}
deposits() { # deposits FIELD: the sandbox's count
    sb GET "/sandbox/bank/orders/$ORDER"
    jq -r ".$1" <<<"$SB_BODY"
}

order
sb GET "/sandbox/bank/orders/$ORDER"
jq -e '.two_phase == true' <<<"$SB_BODY" >/dev/null
check $? "registered as a pre-authorization" "$SB_BODY"
validate
expect_status 200 "validation of a held card"
expect_jq '.status == 1 and .data.OInvTypeId == 14' "deposited, then answered paid"
[[ $(deposits deposits) == 1 ]]
check $? "one deposit at the bank" "$SB_BODY"
validate
expect_jq '.status == 1' "validating again: paid, no second deposit"
[[ $(deposits deposit_calls) == 1 ]]
check $? "still one deposit call" "$SB_BODY"

# The deposit's answer is lost.
order
sb_fault '{"service": "rbs", "kind": "drop_response", "count": 1, "match": "deposit"}'
paid() {
    validate
    jq -e '.status == 1' "$PM_TMP/resp.body" >/dev/null
}
wait_until 20 paid
check $? "a deposit with its answer lost still ends paid" "$(cat "$PM_TMP/resp.body")"
[[ $(deposits deposit_calls) == 1 && $(deposits deposits) == 1 ]]
check $? "exactly one deposit call and one deposit at the bank" "$SB_BODY"
# The deposit's answer is lost and nobody validates again (a payment's bank
# leg has no client to do it): retry-worker's schedule alone resolves it, by
# a status, never by the same deposit sent again.
order
sb_fault '{"service": "rbs", "kind": "drop_response", "count": 1, "match": "deposit"}'
validate
expect_status 503 "the validation whose deposit answer was lost: try again"
t0=$(date +%s%N)
inv_paid() { [[ $(pm_ctl order show "$REG" --json | jq -r .state) == paid ]]; }
wait_until 30 inv_paid
check $? "a lost deposit answer ends paid without another validation" "$(pm_ctl order show "$REG" --json)"
pm_note "paid by retry-worker's status $((($(date +%s%N) - t0) / 1000000)) ms after the lost deposit"
[[ $(deposits deposit_calls) == 1 && $(deposits deposits) == 1 ]]
check $? "still exactly one deposit call and one deposit at the bank" "$SB_BODY"
validate
expect_jq '.status == 1' "a validation afterwards: paid"
expect_alive "after the pre-authorizations"
