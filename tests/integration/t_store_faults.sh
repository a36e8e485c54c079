#!/usr/bin/env bash
# Cafe Bazaar misbehaving (docs/api.md "POST /finance/bazzar_paymnet/"): a 500
# or a timeout on validate is a 503 "unavailable" that leaves the purchase
# open, and the app's retry completes it with one credit; after a credit the
# purchase is consumed at Bazaar, and a failed consume (500, or a response
# lost after Bazaar consumed) is retried by payment-core on backoff until
# Bazaar confirms, never crediting twice.
. "$(dirname "$0")/lib.sh"

HTTP_TIMEOUT_MS=1000
pm_start_store --core -- --provider --http-timeout-ms "$HTTP_TIMEOUT_MS" --
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 1000 coin 100
coins=0

# redeem_after_fault LABEL FAULT_JSON: a fault on validate gives a 503 and no
# credit; with the fault gone, retrying completes the purchase once.
redeem_after_fault() {
    local label=$1
    store_open "$alice" coins_100
    local p=$SERIAL t
    t=$(sb_buy coins_100)
    sb_clear_calls
    sb_fault "$2"
    store_redeem "$alice" "$p" "$t"
    expect_store_error 503 unavailable "$label: 503"
    ((${RESP_TIME_S%.*} < 8))
    check $? "$label: the 503 comes within the request deadline" "took ${RESP_TIME_S}s"
    (($(sb_calls validate "$t") >= 1))
    check $? "$label: Bazaar was asked" "calls: $(head -c 300 "$PM_TMP/sb.body")"
    expect_coins alice "$coins" "$label: nothing credited"
    store_redeem "$alice" "$p" "$t"
    expect_status '50[3]' "$label: still 503 while Bazaar fails (the purchase stays open)"
    sb_clear_faults
    store_redeem_retry "$alice" "$p" "$t" 15
    expect_status 200 "$label: the retry completes once Bazaar is back ($TRIES tries)"
    coins=$((coins + 100))
    expect_jq ". == {\"coins\": $coins}" "$label: $coins coins"
    expect_coins alice "$coins" "$label: credited once"
    store_redeem "$alice" "$p" "$t"
    expect_jq ". == {\"coins\": $coins}" "$label: a further retry answers the same"
    expect_coins alice "$coins" "$label: still credited once"
}

redeem_after_fault "validate 500" '{"service":"bazaar","kind":"status","status":500,"count":1000,"match":"validate"}'
redeem_after_fault "validate 502" '{"service":"bazaar","kind":"status","status":502,"count":1000,"match":"validate"}'
redeem_after_fault "validate timeout" '{"service":"bazaar","kind":"timeout","delay_ms":4000,"count":1000,"match":"validate"}'
redeem_after_fault "validate slower than --http-timeout-ms" \
    "{\"service\":\"bazaar\",\"kind\":\"delay\",\"delay_ms\":$((HTTP_TIMEOUT_MS * 3)),\"count\":1000,\"match\":\"validate\"}"
redeem_after_fault "validate response lost" '{"service":"bazaar","kind":"drop_response","count":1000,"match":"validate"}'

# A single slow answer within the provider's timeout is simply slower.
store_open "$alice" coins_100
t=$(sb_buy coins_100)
sb_fault "{\"service\":\"bazaar\",\"kind\":\"delay\",\"delay_ms\":$((HTTP_TIMEOUT_MS / 2)),\"count\":1,\"match\":\"validate\"}"
store_redeem "$alice" "$SERIAL" "$t"
expect_status 200 "validate slower than usual but within the timeout: 200"
coins=$((coins + 100))
expect_jq ". == {\"coins\": $coins}" "slow validate: $coins coins"
sb_clear_faults

# --- consume ---------------------------------------------------------------------------------
store_open "$alice" coins_100
t=$(sb_buy coins_100)
sb_clear_calls
store_redeem "$alice" "$SERIAL" "$t"
expect_status 200 "a plain redeem"
coins=$((coins + 100))
wait_until 10 sb_consumed "$t"
check $? "consume is called after the credit: the sandbox shows the purchase consumed" "sandbox: $(head -c 300 "$PM_TMP/sb.body")"
jq -e --arg p "/api/consume/$PM_BAZAAR_PACKAGE/purchases/" '[.calls[] | select(.method == "POST" and (.path | contains($p)))] | length >= 1' \
    <<<"$(sb GET '/sandbox/calls?service=bazaar' && cat "$PM_TMP/sb.body")" >/dev/null 2>&1
check $? "POST api/consume/com.paymesh.demo/purchases/ was called" "calls: $(head -c 400 "$PM_TMP/sb.body")"

# Consume answers 500 three times: retried on backoff until it works.
store_open "$alice" coins_100
t=$(sb_buy coins_100)
sb_clear_calls
sb_fault '{"service":"bazaar","kind":"status","status":500,"count":3,"match":"consume"}'
store_redeem "$alice" "$SERIAL" "$t"
expect_status 200 "redeem while consume fails: the user is credited anyway"
coins=$((coins + 100))
expect_jq ". == {\"coins\": $coins}" "consume 500: $coins coins"
wait_until 20 sb_consumed "$t"
check $? "consume 500 x3: retried until the sandbox shows the purchase consumed" "sandbox: $(head -c 300 "$PM_TMP/sb.body")"
n=$(sb_calls consume)
((n >= 4))
check $? "consume was called at least 4 times (3 failures, then success)" "$n consume calls"
sleep 1.5
n2=$(sb_calls consume)
((n2 == n))
check $? "no more consume calls once Bazaar confirmed" "$n then $n2 consume calls"
expect_coins alice "$coins" "consume retries credited nothing more"

# The consume response is lost after Bazaar consumed: retried, Bazaar says
# already_consumed, which counts as done.
store_open "$alice" coins_100
t=$(sb_buy coins_100)
sb_clear_calls
sb_fault '{"service":"bazaar","kind":"drop_response","count":1,"match":"consume"}'
store_redeem "$alice" "$SERIAL" "$t"
expect_status 200 "redeem with the consume response lost"
coins=$((coins + 100))
cons2() { (($(sb_calls consume) >= 2)); }
wait_until 20 cons2
check $? "a lost consume response is retried" "calls: $(head -c 400 "$PM_TMP/sb.body")"
sb_consumed "$t"
check $? "the purchase is consumed" "sandbox: $(head -c 300 "$PM_TMP/sb.body")"
sleep 1.5
n=$(sb_calls consume)
((n == 2))
check $? "the retry's already_consumed ends the retries" "$n consume calls"
expect_coins alice "$coins" "lost consume response: not credited twice"
[[ $(pm_ledger_len alice) == $((coins / 100)) ]]
check $? "one ledger entry per credited purchase" "$(pm_ledger_len alice) entries for $coins coins"
expect_ledger alice "the ledger explains the balance"
# A consumed purchase cannot be redeemed again on a new purchase.
store_open "$alice" coins_100
store_redeem "$alice" "$SERIAL" "$t"
expect_store_error 406 provider_rejected "a consumed, credited token on a new purchase: 406"
expect_alive "after the faults" $(pm_store_pids)
