#!/usr/bin/env bash
# A person pays a seed 004 order on each bank's card page in a real browser:
# headless Chromium (Debian's chromium, driven by playwright-core through
# tests/browser/bazaarpay_checkout.mjs) opens the checkout_url that
# order-payment-register-request answered, clicks Pay and lands on the
# return URL paymesh gave the bank; order-inv-validation then says
# "Validation success". Then Decline on Halkbank's page: validation says
# declined. And a seed 001 payment accepted to a bank method: Chromium opens
# the payment_url that retrieve shows, clicks Pay, and the payment ends
# succeeded. Screenshots go to the test's directory (kept with PM_KEEP_TMP=1).
. "$(dirname "$0")/lib.sh"

pm_browser_deps
pm_start_sandbox
RETURN_URL="$SANDBOX_URL/sandbox/icons/returned.png"
pm_start_core --bank-return-url "$RETURN_URL"
pm_start_gateway
pm_start_provider_bank
pm_start_retry_worker
alice=$(pm_token alice)
pm_ctl regno-type add --id 9 --name sale_order_invoice_code --prefix ANS --length 8 \
    --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null

order() { # order BANK: gen-reg-no, invoice, register; sets REG, ORDER, URL
    http POST /gen-reg-no/ -t "$alice" -d '{"RegNumTypeId": 9, "random_mode": 1}'
    REG=$(jq -r .data "$PM_TMP/resp.body")
    http POST /checkout-sale-order-inv/ -t "$alice" -d '{"OInvRegNo": "'"$REG"'",
        "online_payment_type": "'"$1"'", "OInvTotal": 17.50,
        "OrderInvLines": [{"ResName": "tea", "ItemCount": 2, "ResPrice": 8.75}]}'
    http POST "/order-payment-register-request/?online_payment_type=$1" -t "$alice" \
        -d '{"OInvRegNo": "'"$REG"'", "TotalPrice": 17.50, "OrderDesc": "browser test"}'
    expect_status 200 "$1: order registered"
    ORDER=$(jq -r .data.OrderId "$PM_TMP/resp.body")
    URL=$(jq -r .data.checkout_url "$PM_TMP/resp.body")
}
validate() { # validate BANK
    http POST /order-inv-validation/ -t "$alice" \
        -d '{"OrderId": "'"$ORDER"'", "OInvRegNo": "'"$REG"'", "online_payment_type": "'"$1"'"}'
}

for bank in halkbank foreign_affairs_bank; do
    order "$bank"
    pm_browse "$URL" "$RETURN_URL" pay "$bank-pay"
    validate "$bank"
    expect_status 200 "$bank: validation after the browser paid"
    expect_jq '.status == 1 and .message == "Validation success"' "$bank: Validation success"
done
order halkbank
pm_browse "$URL" "$RETURN_URL" decline "halkbank-decline"
validate halkbank
expect_status 406 "halkbank: validation after the browser declined"
expect_jq '.status == 0 and (.message | test("declined"; "i"))' "halkbank: says declined"

# The core payment API's bank leg: alice pays bob's halk-card payment.
bob=$(pm_token bob)
pm_ctl method add --id halk-card --principal bob --bank halkbank --currency TMT >/dev/null
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$(pm_uuid)" alice bob 17.50 TMT halk-card)"
expect_status 200 "payment: create to halk-card"
pay=$(jq -r .transaction_id "$PM_TMP/resp.body")
http POST "/api/v1/payment/$pay/accept" -t "$bob" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
expect_jq '.payment_status == "bank_processing"' "payment: accepted -> bank_processing"
payment_url() {
    http GET "/api/v1/payment/$pay/retrieve" -t "$alice"
    URL=$(jq -r '.payment.bank.payment_url // empty' "$PM_TMP/resp.body")
    [[ -n $URL ]]
}
wait_until 15 payment_url
check $? "payment: retrieve shows the payment_url" "$RESP_BODY"
pm_browse "$URL" "$RETURN_URL" pay "payment-pay"
succeeded() {
    http GET "/api/v1/payment/$pay/retrieve/status" -t "$alice"
    jq -e '.payment_status == "succeeded"' "$PM_TMP/resp.body" >/dev/null
}
wait_until 20 succeeded
check $? "payment: paid in the browser -> succeeded" "$RESP_BODY"
expect_alive "after the browser"
