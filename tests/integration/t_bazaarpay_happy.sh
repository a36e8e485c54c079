#!/usr/bin/env bash
# A BazaarPay checkout from start to end (docs/api.md "BazaarPay checkout"),
# through gateway, payment-core, provider-bazaar, retry-worker and the
# sandbox: open a checkout (the price from the catalog, a payment_url that
# carries redirect_url), pay on the sandbox's payment page over plain HTTP
# (GET the page, POST the Pay form, follow the 303 to redirect_url), confirm:
# delivered with the coins balance, then committed with exactly one commit at
# BazaarPay; confirming again credits nothing. GET shows the state and every
# attempt to its owner or a service token, 404 to anyone else. A time
# package extends the subscription. Bad input is a clear 4xx.
. "$(dirname "$0")/lib.sh"

pm_start_bazaarpay
alice=$(pm_token alice)
bob=$(pm_token bob)
svc=$(pm_token ops service)
pm_package coins_100 "100 coins" 50000 coin 100
pm_package days_30 "30 days" 120000 time 30
DAY_MS=86400000

# --- open a checkout ---------------------------------------------------------------------
t0=$(date +%s%3N)
bp_checkout "$alice" coins_100
expect_status '20[01]' "open a checkout"
expect_json .state in_progress "a new checkout is in_progress"
expect_jq '.serial_number | type == "string" and test("^[0-9]{16}$")' "it names a 16-digit purchase serial"
expect_jq '.checkout_token | type == "string" and length > 0' "it has BazaarPay's checkout_token"
enc=$(jq -rn --arg u "$CO_REDIRECT" '$u | @uri')
[[ $CO_URL == *"redirect_url=$enc"* ]]
check $? "payment_url carries redirect_url, percent-encoded" "payment_url '$CO_URL', want redirect_url=$enc"
[[ $CO_URL == "$SANDBOX_URL/"* ]]
check $? "payment_url is the sandbox's payment page" "payment_url '$CO_URL'"
sbp_show "$CO"
jq -e '.status == "unpaid"' <<<"$SB_BODY" >/dev/null
check $? "BazaarPay holds the checkout, unpaid" "sandbox: $(sb_last)"
jq -e '(.amount // 50000) == 50000' <<<"$SB_BODY" >/dev/null
check $? "BazaarPay was asked for the catalog's price (50000 rials)" "sandbox: $(sb_last)"
bp_get "$alice" "$CO"
expect_status 200 "GET the new checkout"
expect_json .state in_progress "GET: in_progress"
expect_jq '(.amount == 50000) and (.package.sku // .package.serial_number // "coins_100") == "coins_100"' "GET: the package and its price"

# --- pay on the payment page, over HTTP ------------------------------------------------------
bp_page_click "$CO_URL" pay "pay"
# (paymesh re-traces an open checkout on its own, so it may be delivered and
# even committed before the app's confirm comes.)
st=$(sbp_field "$CO" status)
[[ $st == paid_not_committed || $st == paid_committed ]]
check $? "after Pay, BazaarPay says paid ($st)" "sandbox: $(sb_last)"

# --- confirm: delivered, then committed ------------------------------------------------------
bp_confirm "$alice" "$CO"
expect_status 200 "confirm after paying: 200"
expect_json .state delivered "confirm: delivered"
expect_json .coins 100 "confirm: the coins balance, 100"
cp "$PM_TMP/resp.body" "$PM_TMP/confirm1"
expect_coins alice 100 "paymentctl balance: 100 coins"
b=$(pm_balance alice)
jq -e --arg s "$CO_SERIAL" '(.ledger | length) == 1 and .ledger[0].purchase_serial == $s and .ledger[0].coins_delta == 100' \
    <<<"$b" >/dev/null
check $? "one ledger entry, naming the checkout's serial" "balance: $(head -c 500 <<<"$b")"
bp_wait_state "$alice" "$CO" committed 15
check $? "the checkout ends committed" "last state '$BP_LAST_STATE': $(pm_body_excerpt)"
t1=$(date +%s%3N)
pm_note "init -> committed in $((t1 - t0)) ms"
expect_jq '[.attempts[] | select(.call == "commit" and .outcome == "ok")] | length == 1' "GET: one commit attempt, ok"
expect_jq '[.attempts[] | .call] | (index("init") != null) and (index("trace") != null) and (index("commit") != null)' \
    "GET: the attempts show init, trace and commit"
expect_jq '.attempts | all(.at | type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z$")) and all(.outcome | type == "string")' \
    "every attempt has a time and an outcome"
expect_jq '(.delivered_at | type == "string") and .coins_after == 100 and .reversed == false' "GET: delivered_at, coins_after 100, not reversed"
sbp_show "$CO"
jq -e '.status == "paid_committed" and .commits == 1' <<<"$SB_BODY" >/dev/null
check $? "BazaarPay: paid_committed, exactly one commit" "sandbox: $(sb_last)"
sleep 1
[[ $(sbp_field "$CO" commits) == 1 && $(sbp_field "$CO" commit_calls) == 1 ]]
check $? "no further commit call afterwards" "sandbox: $(sb_last)"
cs=$(pm_ctl checkout show "$CO" --json)
jq -e '.state == "committed" or .checkout.state == "committed"' <<<"$cs" >/dev/null 2>&1
check $? "paymentctl checkout show: committed" "printed: $(head -c 400 <<<"$cs")"

# Confirming again: the same answer, nothing credited.
bp_confirm "$alice" "$CO"
expect_status 200 "confirm again: 200"
expect_json .state delivered "confirm again: delivered"
expect_json .coins 100 "confirm again: the same balance"
expect_coins alice 100 "confirm again credits nothing"
[[ $(pm_ledger_len alice) == 1 ]]
check $? "still one ledger entry" "$(pm_ledger_len alice) entries"

# --- who sees it ------------------------------------------------------------------------------
bp_get "$svc" "$CO"
expect_status 200 "a service token sees alice's checkout"
expect_json .state committed "... committed"
bp_get "$bob" "$CO"
expect_status 404 "bob GETs alice's checkout: 404"
bp_confirm "$bob" "$CO"
expect_status 404 "bob confirms alice's checkout: 404"
expect_coins bob 0 "bob got nothing"
bp_get "$alice" "nosuchcheckout0000"
expect_status 404 "an unknown checkout token: 404"
http GET "/finance/bazaarpay/checkout/$CO/"
expect_status 401 "GET without a token: 401"

# The seeds' own header form, Authorization: Token <token>.
http GET "/finance/bazaarpay/checkout/$CO/" -H "Authorization: Token $alice"
expect_status 200 "Authorization: Token <token> is accepted"

# --- a time package ----------------------------------------------------------------------------
bp_checkout "$alice" days_30
co2=$CO
before_ms=$(date +%s%3N)
sbp pay "$co2"
bp_confirm "$alice" "$co2"
after_ms=$(date +%s%3N)
expect_status 200 "a time package: confirm 200"
expect_json .state delivered "a time package: delivered"
until1=$(pm_balance alice | jq -r '.subscription_until_ms // empty')
[[ $until1 =~ ^[0-9]+$ ]] && ((until1 >= before_ms + 30 * DAY_MS - 2000 && until1 <= after_ms + 30 * DAY_MS + 2000))
check $? "the subscription ends 30 days from now" "subscription_until_ms '$until1'"
expect_jq '(.subscription_until_ms // .subscription_until // .subscription_end // null) != null' \
    "the answer names the subscription's new end"
expect_coins alice 100 "a time package leaves the coins alone"
bp_wait_state "$alice" "$co2" committed 15
check $? "the time checkout ends committed" "last state '$BP_LAST_STATE'"
[[ $(sbp_field "$co2" commits) == 1 ]]
check $? "one commit for the time checkout" "sandbox: $(sb_last)"

# --- bad input ----------------------------------------------------------------------------------
http POST /finance/bazaarpay/checkout/ -t "$alice" -d '{"serial_number":"coins_100"}'
expect_status 400 "redirect_url missing: 400"
for bad in "ftp://127.0.0.1/x" "javascript:alert(1)" "not a url" ""; do
    bp_checkout_req "$alice" coins_100 "$bad"
    expect_status 400 "redirect_url '$bad': 400"
done
bp_checkout_req "$alice" no_such_sku
expect_status 404 "an unknown SKU: 404"
http POST /finance/bazaarpay/checkout/ -t "$alice" -d "{\"redirect_url\":\"$(bp_redirect_url)\"}"
expect_status 400 "serial_number missing: 400"
http POST /finance/bazaarpay/checkout/ -t "$alice" -d 'not json'
expect_status 400 "a body that is not JSON: 400"
http POST /finance/bazaarpay/checkout/ -d "{\"serial_number\":\"coins_100\",\"redirect_url\":\"$(bp_redirect_url)\"}"
expect_status 401 "no token: 401"
http POST /finance/bazaarpay/confirm/ -t "$alice" -d '{}'
expect_status 400 "confirm without checkout_token: 400"
bp_confirm "$alice" "nosuchcheckout0000"
expect_status 404 "confirm of an unknown checkout: 404"
expect_coins alice 100 "bad input changed nothing"
expect_ledger alice "alice's ledger explains her balance"
expect_alive "at the end" $(pm_store_pids)
