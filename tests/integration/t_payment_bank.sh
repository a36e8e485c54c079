#!/usr/bin/env bash
# The core payment API's bank leg (seed 001 meets seed 004): a payment's
# money_info.method_id names a payment method the operator registered for
# its recipient (paymentctl method add). At create, an unknown method or a
# currency the method does not take is a validation_error. After accept, a
# method whose bank is none leaves the payment accepted; a bank method
# registers it with that bank through provider-bank: bank_processing, the
# payer's URL in retrieve, cancel and edit refused, and retry-worker's sync
# ends it succeeded (paid on the bank's page) or failed (declined), with
# both banks of the sandbox. A register whose answer is lost goes again as
# a new order number, and that order is the one paid.
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_start_gateway
pm_start_sandbox
pm_start_provider_bank
pm_start_retry_worker
alice=$(pm_token alice)
bob=$(pm_token bob)
carol=$(pm_token carol)
service=$(pm_token ops service)

pm_ctl method add --id card-1 --principal bob --bank none --currency usd,EUR >/dev/null
check $? "method add: card-1 (settled outside paymesh)" "$(tail -n 2 "$PM_TMP/paymentctl.log")"
pm_ctl method add --id btc-wallet --principal bob,carol --bank none --currency BTC >/dev/null
check $? "method add: one method for two recipients" ""
pm_ctl method add --id halk-card --principal bob --bank halkbank --currency TMT >/dev/null
check $? "method add: a halkbank method" ""
pm_ctl method add --id tfeb-card --principal bob --bank foreign_affairs_bank --currency TMT >/dev/null
check $? "method add: a foreign_affairs_bank method" ""
pm_ctl method add --id bad --principal bob --bank halkbank --currency USD >/dev/null 2>&1
(($? != 0))
check $? "method add: a bank method takes TMT only" ""
pm_ctl method add --id bad --principal bob --bank visa --currency TMT >/dev/null 2>&1
(($? != 0))
check $? "method add: an unknown bank is refused" ""
pm_ctl method add --id bad --principal bob --bank none --currency XYZ >/dev/null 2>&1
(($? != 0))
check $? "method add: an unknown currency is refused" ""
list=$(pm_ctl method list --principal bob)
jq -e 'length == 4 and (map(.id) | sort) == ["btc-wallet", "card-1", "halk-card", "tfeb-card"] and
       (.[] | select(.id == "card-1") | .currencies == "USD,EUR" and .bank == "none")' <<<"$list" >/dev/null
check $? "method list --principal bob" "$list"
list=$(pm_ctl method list)
jq -e 'length == 5' <<<"$list" >/dev/null
check $? "method list: every method" "$list"

create() { # create METHOD CURRENCY AMOUNT [RECIPIENT]: sets TXID (empty on error)
    http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$(pm_uuid)" alice "${4:-bob}" "$3" "$2" "$1")"
    TXID=$(jq -r '.transaction_id // empty' "$PM_TMP/resp.body" 2>/dev/null)
}
get() { http GET "/api/v1/payment/$1/retrieve" -t "${2:-$alice}"; }
accept() { http POST "/api/v1/payment/$1/accept" -t "$bob" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"; }

# Create checks the method.
create card-9 USD 1.00
expect_status 400 "create: a method bob does not have"
expect_jq '.code == "validation_error" and (.message | test("card-9"))' "create: validation_error naming it"
create card-1 TMT 1.00
expect_status 400 "create: a currency card-1 does not take"
expect_jq '.code == "validation_error" and (.message | test("TMT"))' "create: validation_error naming the currency"
create halk-card TMT 1.00 carol
expect_status 400 "create: a method of another recipient"
create btc-wallet BTC 0.5 carol
expect_status 200 "create: the method carol shares with bob"

# Edit checks it too.
create card-1 USD 2.00
expect_status 200 "create: card-1 USD"
cash=$TXID
http POST "/api/v1/payment/$cash/edit" -t "$alice" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"currency\":\"TMT\",\"amount\":2}}"
expect_status 400 "edit: to a currency the method does not take"
get "$cash"
expect_jq '.payment.currency == "USD" and .payment.status == "created"' "edit refused: nothing changed"

# bank none: accepted, and it stays there.
accept "$cash"
expect_status 200 "accept: card-1"
expect_jq '.payment_status == "accepted"' "a method without a bank: accepted"
sleep 0.5
get "$cash"
expect_jq '.payment.status == "accepted" and .payment.bank == null' "still accepted, no bank leg"

for bank in halkbank foreign_affairs_bank; do
    method=halk-card
    [[ $bank == halkbank ]] || method=tfeb-card
    # Paid on the bank's page: succeeded.
    create "$method" TMT 17.50
    expect_status 200 "$bank: create 17.50 TMT"
    pay=$TXID
    accept "$pay"
    expect_status 200 "$bank: accept"
    expect_jq '.payment_status == "bank_processing"' "$bank: accept -> bank_processing"
    registered() { get "$pay"; jq -e '.payment.bank.payment_url != null' "$PM_TMP/resp.body" >/dev/null; }
    wait_until 15 registered
    check $? "$bank: retrieve shows where the sender pays" "$RESP_BODY"
    expect_jq '.payment.status == "bank_processing" and .payment.bank.name == "'"$bank"'" and
               (.payment.bank.payment_url | test("^http://127.0.0.1:")) and .payment.bank.order_id != null' \
        "$bank: the bank leg in retrieve"
    order=$(jq -r .payment.bank.order_id "$PM_TMP/resp.body")
    get "$pay" "$bob"
    expect_jq '.payment.bank.order_id == "'"$order"'"' "$bank: the recipient sees the bank leg too"
    http POST "/api/v1/payment/$pay/cancel" -t "$alice" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
    expect_status 400 "$bank: cancel refused in bank_processing"
    http POST "/api/v1/payment/$pay/edit" -t "$alice" \
        -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"currency\":\"TMT\",\"amount\":1}}"
    expect_status 400 "$bank: edit refused in bank_processing"
    accept "$pay"
    expect_status 400 "$bank: a second accept is refused"
    sb GET "/sandbox/bank/orders/$order"
    jq -e '.amount_minor == 1750' <<<"$SB_BODY" >/dev/null
    check $? "$bank: the bank has the order for 1750 minor units" "$SB_BODY"
    sb POST "/sandbox/bank/orders/$order/pay" >/dev/null
    succeeded() { get "$pay"; jq -e '.payment.status == "succeeded"' "$PM_TMP/resp.body" >/dev/null; }
    wait_until 20 succeeded
    check $? "$bank: paid on the bank -> succeeded (retry-worker's sync)" "$RESP_BODY"
    expect_jq '.payment.bank.state == "paid" and .payment.bank.payment_url == null' \
        "$bank: the bank leg says paid, and no URL to pay again"
    http GET "/api/v1/payment/$pay/retrieve/status" -t "$alice"
    expect_jq '.payment_status == "succeeded"' "$bank: status says succeeded"
    # The operator's view of the bank leg: paymentctl order show.
    reg=$(pm_ctl payment show "$pay" --json | jq -r '.bank.reg_no // empty')
    shown=$(pm_ctl order show "$reg" --json)
    jq -e --arg p "$pay" '.payment_id == $p and .state == "paid" and .type_id == 14 and
        .total_minor == 1750 and (.lines | length) == 1' <<<"$shown" >/dev/null
    check $? "$bank: paymentctl order show: the bank leg, paid" "$reg: $shown"
    pm_ctl order show "$reg" | grep -q "^order $reg  state paid"
    check $? "$bank: paymentctl order show: a table for people" "$(pm_ctl order show "$reg")"

    # Declined: failed.
    create "$method" TMT 3.00
    pay=$TXID
    accept "$pay"
    expect_jq '.payment_status == "bank_processing"' "$bank: accept (to be declined)"
    wait_until 15 registered
    check $? "$bank: registered (to be declined)" "$RESP_BODY"
    order=$(jq -r .payment.bank.order_id "$PM_TMP/resp.body")
    sb POST "/sandbox/bank/orders/$order/decline" >/dev/null
    failed() { get "$pay"; jq -e '.payment.status == "failed"' "$PM_TMP/resp.body" >/dev/null; }
    wait_until 20 failed
    check $? "$bank: declined on the bank -> failed" "$RESP_BODY"
    expect_jq '.payment.bank.state == "declined"' "$bank: the bank leg says declined"
done

# The register's answer is lost: the payment registers again as a new
# order number, and that order is the one the payer gets and pays.
sb_fault '{"service": "rbs", "kind": "drop_response", "count": 1, "match": "register"}'
create halk-card TMT 5.00
pay=$TXID
accept "$pay"
expect_jq '.payment_status == "bank_processing"' "lost register: accept"
registered() { get "$pay"; jq -e '.payment.bank.payment_url != null' "$PM_TMP/resp.body" >/dev/null; }
wait_until 30 registered
check $? "lost register: registered on a later attempt" "$RESP_BODY"
expect_jq '.payment.bank.order_id != null' "lost register: an order"
order=$(jq -r .payment.bank.order_id "$PM_TMP/resp.body")
sb GET "/sandbox/bank/orders/$order"
number=$(jq -r '.order_number // empty' <<<"$SB_BODY")
[[ $number == *-2 ]]
check $? "lost register: the order paid is the second order number" "$SB_BODY"
sb POST "/sandbox/bank/orders/$order/pay" >/dev/null
wait_until 20 succeeded
check $? "lost register: paid -> succeeded" "$RESP_BODY"
expect_alive "after the bank leg"
