#!/usr/bin/env bash
# Exact money (docs/api.md "Money"): amounts are parsed from their JSON text
# into minor units and written back with exactly the currency's decimals;
# anything not exactly representable, not positive, above the maximum, or in
# an unknown currency is a validation_error naming the field.
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_methods bob
pm_start_gateway
alice=$(pm_token alice)

# accepted AMOUNT_JSON CURRENCY WANT_TEXT: creates, retrieves, and finds
# WANT_TEXT as the amount's raw text in the body.
accepted() {
    http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$(pm_uuid)" alice bob "$1" "$2")"
    expect_status 200 "create $1 $2"
    local id
    id=$(jq -r '.transaction_id // empty' "$PM_TMP/resp.body")
    [[ -n $id ]] || return
    http GET "/api/v1/payment/$id/retrieve" -t "$alice"
    expect_status 200 "retrieve $1 $2"
    local re=${3//./\\.}
    expect_body_match "\"amount\": *${re}[,} ]" "$1 $2 reads back as $3"
    expect_json .payment.currency "${2^^}" "$1 $2: currency ${2^^}"
}

accepted 1.10 USD 1.10
accepted 1.1 USD 1.10
accepted '"1.10"' USD 1.10
accepted 1.100 USD 1.10
accepted 0.01 USD 0.01
accepted 1.0 BTC 1.00000000
accepted 0.00000001 BTC 0.00000001
accepted 9000000.12345678 BTC 9000000.12345678
accepted 1000 IRR 1000
accepted 1000.0 IRR 1000
accepted 1 IRT 1
accepted 99.99 EUR 99.99
accepted 5 GBP 5.00
accepted 7.5 RUB 7.50
accepted 0.30 TMT 0.30
accepted 12.34 TRY 12.34
accepted 3.20 usd 3.20
accepted 10000000000000.00 USD 10000000000000.00 # exactly 10^15 minor units, the default maximum
accepted 1000000000000000 IRR 1000000000000000
accepted 0.10000000000000000000000 USD 0.10 # fraction digits past the exponent: zeros only

payments=$(pm_stat payments)

# refused AMOUNT_JSON CURRENCY FIELD: a 400 naming FIELD.
refused() {
    http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$(pm_uuid)" alice bob "$1" "$2")"
    expect_error 400 validation_error "create $1 $2 refused" "$3"
}
A=money_info.amount
C=money_info.currency
refused 1.001 USD $A
refused 0.001 USD $A
refused 1.000000001 BTC $A
refused 0.1000000000000000000000001 USD $A
refused 1.5 IRR $A
refused 0 USD $A
refused 0.00 USD $A
refused '"0"' USD $A
refused -1 USD $A
refused -0.01 USD $A
refused '"-1"' USD $A
refused '"+1"' USD $A
refused 1e2 USD $A
refused 1E2 USD $A
refused 1.5e1 USD $A
refused '"1e2"' USD $A
refused true USD $A
refused false USD $A
refused null USD $A
refused '"abc"' USD $A
refused '""' USD $A
refused '" 1.00"' USD $A
refused '"1,00"' USD $A
refused '"1."' USD $A
refused '".5"' USD $A
refused '"0x10"' USD $A
refused '[1]' USD $A
refused '{"v":1}' USD $A
refused 10000000000000.01 USD $A        # 10^15 + 1 minor units
refused 10000000000001 USD $A
refused 1000000000000001 IRR $A
refused 99999999999999999999999999999999999999 USD $A # beyond int64
refused 18446744073709551617 IRR $A     # 2^64 + 1: wraps a careless parser to 1
refused 9223372036854775808 IRR $A      # 2^63
refused 1.10 XYZ $C
refused 1.10 '' $C
refused 1.10 US $C
refused 1.10 USDT $C
refused 1.10 'U$D' $C

http POST /api/v1/payment/create -t "$alice" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"method_id\":\"m\",\"currency\":\"USD\"},\"recipcient\":{\"recipcient_id\":\"bob\"},\"sender\":{\"sender_id\":\"alice\"}}"
expect_error 400 validation_error "missing amount" $A
http POST /api/v1/payment/create -t "$alice" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"method_id\":\"m\",\"amount\":1},\"recipcient\":{\"recipcient_id\":\"bob\"},\"sender\":{\"sender_id\":\"alice\"}}"
expect_error 400 validation_error "missing currency" $C
http POST /api/v1/payment/create -t "$alice" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"method_id\":\"m\",\"currency\":840,\"amount\":1},\"recipcient\":{\"recipcient_id\":\"bob\"},\"sender\":{\"sender_id\":\"alice\"}}"
expect_error 400 validation_error "numeric currency" $C

[[ $(pm_stat payments) -eq $payments ]]
check $? "no refused amount created a payment" "payments changed from $payments"

# Edit validates money the same way and leaves the payment as it was.
pm_create "$alice" alice bob 2.50 USD
for bad in 1.001:USD 0:USD -3:USD 1e3:USD '"x"':USD 1.00:XYZ 0.5:IRR; do
    http POST "/api/v1/payment/$TXID/edit" -t "$alice" \
        -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"currency\":\"${bad#*:}\",\"amount\":${bad%:*}}}"
    expect_error 400 validation_error "edit to ${bad%:*} ${bad#*:} refused" money_info
done
http GET "/api/v1/payment/$TXID/retrieve" -t "$alice"
expect_body_match '"amount": *2\.50[,} ]' "refused edits left 2.50"
expect_json .payment.currency USD "refused edits left USD"
http POST "/api/v1/payment/$TXID/edit" -t "$alice" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"currency\":\"BTC\",\"amount\":0.1}}"
expect_status 200 "edit to 0.1 BTC"
http GET "/api/v1/payment/$TXID/retrieve" -t "$alice"
expect_body_match '"amount": *0\.10000000[,} ]' "edited amount reads back as 0.10000000"
