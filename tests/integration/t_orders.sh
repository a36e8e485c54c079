#!/usr/bin/env bash
# Seed 004 end to end, against each bank of the sandbox (Halkbank's RBS
# gateway, TFEB's OrderProcessing API): gen-reg-no -> checkout-sale-order-inv
# -> order-payment-register-request -> the payer pays (or declines) on the
# bank -> order-inv-validation. Paid once however often it is validated;
# registering again gives the same order; a TotalPrice other than the
# invoice's is refused; a bank that is down answers 503 and the retry works;
# a paid order that nobody validates ends paid by the background sync.
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_start_gateway
pm_start_sandbox
pm_start_provider_bank
pm_start_retry_worker
alice=$(pm_token alice)
bob=$(pm_token bob)
pm_ctl regno-type add --id 9 --name sale_order_invoice_code --prefix ANS --length 8 \
    --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null
check $? "registration number type 9" ""

post() { # post TOKEN PATH BODY
    http POST "$2" -t "$1" -d "$3"
}
new_invoice() { # new_invoice BANK: sets REG (a checked-out invoice of 17.50 TMT)
    post "$alice" /gen-reg-no/ '{"RegNumTypeId": 9, "random_mode": 1, "RegNumTypeName": "sale_order_invoice_code"}'
    REG=$(jq -r .data "$PM_TMP/resp.body")
    post "$alice" /checkout-sale-order-inv/ '{"OInvRegNo": "'"$REG"'", "online_payment_type": "'"$1"'",
        "OInvTotal": 17.50, "OInvDesc": "two teas and a cake",
        "OrderInvLines": [{"ResName": "tea", "ItemCount": 2, "ResPrice": 5.00},
                          {"ResName": "cake", "ItemCount": 1, "ResPrice": 7.50}]}'
}
register() { # register BANK [TOTAL]: sets ORDER
    post "$alice" "/order-payment-register-request/?online_payment_type=$1" \
        '{"OInvRegNo": "'"$REG"'", "TotalPrice": '"${2:-17.50}"', "OrderDesc": "Description text"}'
    ORDER=$(jq -r '.data.OrderId // empty' "$PM_TMP/resp.body")
}
validate() { # validate BANK [TOKEN]
    post "${2:-$alice}" /order-inv-validation/ \
        '{"OrderId": "'"$ORDER"'", "OInvRegNo": "'"$REG"'", "online_payment_type": "'"$1"'"}'
}

for bank in halkbank foreign_affairs_bank; do
    new_invoice "$bank"
    expect_status 200 "$bank: checkout-sale-order-inv"
    expect_jq '.status == 1 and .data.OInvTypeId == 13' "$bank: the invoice awaits payment (type 13)"
    # A total that is not the sum of the lines is refused.
    post "$alice" /checkout-sale-order-inv/ '{"OInvRegNo": "'"$REG"'", "online_payment_type": "'"$bank"'",
        "OInvTotal": 17.00, "OrderInvLines": [{"ResName": "tea", "ItemCount": 2, "ResPrice": 5.00},
        {"ResName": "cake", "ItemCount": 1, "ResPrice": 7.50}]}'
    expect_status 400 "$bank: a total other than the lines' sum"
    register "$bank" 17.00
    expect_status 400 "$bank: TotalPrice other than the invoice's"
    register "$bank"
    expect_status 200 "$bank: order-payment-register-request"
    expect_jq '.data.checkout_url and .data.OrderId and .data.online_payment_type == "'"$bank"'" and .RegNo == .OInvRegNo and .TotalPrice == 17.50' \
        "$bank: the seed's shape"
    first=$ORDER
    register "$bank"
    [[ $ORDER == "$first" ]]
    check $? "$bank: registering again gives the same order" "$first then $ORDER"
    validate "$bank"
    expect_jq '.status == 0' "$bank: validation before payment: status 0"
    validate "$bank" "$bob"
    expect_status 404 "$bank: another user cannot validate it"
    sb POST "/sandbox/bank/orders/$ORDER/pay" >/dev/null
    validate "$bank"
    expect_status 200 "$bank: validation after payment"
    expect_jq '.status == 1 and .message == "Validation success" and .data.OInvTypeId == 14' \
        "$bank: Validation success, invoice paid (type 14)"
    validate "$bank"
    expect_jq '.status == 1' "$bank: validating again: still paid"
    sb GET "/sandbox/bank/orders/$ORDER"
    jq -e '.state != null' <<<"$SB_BODY" >/dev/null
    check $? "$bank: the sandbox has the order" "$SB_BODY"

    # Declined.
    new_invoice "$bank"
    register "$bank"
    sb POST "/sandbox/bank/orders/$ORDER/decline" >/dev/null
    validate "$bank"
    expect_status 406 "$bank: a declined payment"
    expect_jq '.status == 0 and (.message | test("declined"; "i"))' "$bank: says declined"
done

# The bank down, then up.
new_invoice halkbank
sb_fault '{"service": "rbs", "kind": "status", "status": 500, "count": 1, "match": "register"}'
register halkbank
expect_status 503 "halkbank down: 503"
register halkbank
expect_status 200 "halkbank up again: registered"

# Paid but never validated: the background sync finds it.
sb POST "/sandbox/bank/orders/$ORDER/pay" >/dev/null
synced() { pm_ctl retry list --json | jq -e --arg r "$REG" 'map(select(.ref == $r)) | length == 0' >/dev/null; }
wait_until 20 synced
check $? "a paid order nobody validated leaves the retry queue (the sync found it paid)" \
    "$(pm_ctl retry list)"
validate halkbank
expect_jq '.status == 1' "validation after the sync: paid"
expect_alive "after the bank orders"
