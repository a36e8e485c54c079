#!/usr/bin/env bash
# Redeeming a Bazaar purchase token (docs/api.md "POST /finance/bazzar_paymnet/")
# through gateway, payment-core, provider-bazaar and the sandbox: coin
# packages credit coins, time packages extend the subscription, both URL
# spellings and the purchase_token alias work; a fake, refunded, other-SKU or
# already redeemed token is 406 and credits nothing; a completed purchase
# redeemed again with its token answers the same; someone else's or an unknown
# serial is 404; every balance change is a ledger entry naming its purchase.
. "$(dirname "$0")/lib.sh"

pm_start_store
alice=$(pm_token alice)
bob=$(pm_token bob)
pm_package coins_100 "100 coins" 1000 coin 100
pm_package coins_50 "50 coins" 600 coin 50
pm_package time_30 "30 days" 5000 time 30
DAY_MS=86400000

# --- the happy path ------------------------------------------------------------------
store_open "$alice" coins_100
p1=$SERIAL
t1=$(sb_buy coins_100)
store_redeem "$alice" "$p1" "$t1"
expect_status 200 "redeem a coin purchase"
expect_jq '. == {"coins": 100}' "answer is exactly {\"coins\": 100}"
cp "$PM_TMP/resp.body" "$PM_TMP/redeem1"
expect_coins alice 100 "paymentctl balance: 100 coins"
b=$(pm_balance alice)
jq -e --arg s "$p1" '(.ledger | length) == 1 and .ledger[0].purchase_serial == $s
    and .ledger[0].kind == "coin_credit" and .ledger[0].coins_delta == 100 and .ledger[0].coins_after == 100' <<<"$b" >/dev/null
check $? "one ledger entry: coin_credit +100 referencing the purchase" "balance: $(head -c 500 <<<"$b")"
(($(sb_calls validate "$t1") >= 1))
check $? "the sandbox saw a validate call for the token" "calls: $(head -c 400 "$PM_TMP/sb.body")"
jq -e --arg t "$t1" '[.calls[] | select(.path | contains("/api/validate/com.paymesh.demo/inapp/coins_100/purchases/" + $t))] | length >= 1' \
    "$PM_TMP/sb.body" >/dev/null 2>&1
check $? "validate path names package, SKU and token" "calls: $(head -c 400 "$PM_TMP/sb.body")"
wait_until 10 sb_consumed "$t1"
check $? "the purchase is consumed at Bazaar after the credit" "sandbox: $SB_STATUS $(head -c 300 "$PM_TMP/sb.body")"

# The same completed purchase and token again: the same answer, no new credit.
for u in /finance/bazzar_paymnet/ /finance/bazzar_paymnet /finance/bazzar_payment/; do
    store_redeem "$alice" "$p1" "$t1" "$u"
    expect_status 200 "again on $u: 200"
    cmp -s "$PM_TMP/redeem1" "$PM_TMP/resp.body"
    check $? "again on $u: the same answer" "first $(cat "$PM_TMP/redeem1"), now $RESP_BODY"
done
expect_coins alice 100 "repeats credited nothing"
[[ $(pm_ledger_len alice) == 1 ]]
check $? "repeats added no ledger entry" "ledger has $(pm_ledger_len alice) entries"
# The completed purchase with another valid token: no longer open.
t1b=$(sb_buy coins_100)
store_redeem "$alice" "$p1" "$t1b"
expect_store_error 404 not_found "completed purchase with another token: 404"
expect_coins alice 100 "... credits nothing"

# A second coin purchase adds: other spelling, no slash, purchase_token alias.
store_open "$alice" coins_50
p2=$SERIAL
t2=$(sb_buy coins_50)
http POST /finance/bazzar_payment -t "$alice" -d "{\"serial_number\":\"$p2\",\"purchase_token\":\"$t2\"}"
expect_status 200 "/finance/bazzar_payment with purchase_token"
expect_jq '. == {"coins": 150}' "coins add up: 150"
expect_coins alice 150 "paymentctl: 150"

# Both ref_id and purchase_token: must agree.
store_open "$alice" coins_50
p3=$SERIAL
t3=$(sb_buy coins_50)
http POST /finance/bazzar_paymnet/ -t "$alice" -d "{\"serial_number\":\"$p3\",\"ref_id\":\"$t3\",\"purchase_token\":\"other\"}"
expect_store_error 400 validation_error "ref_id and purchase_token disagree: 400"
http POST /finance/bazzar_payment/ -t "$alice" -d "{\"serial_number\":\"$p3\",\"ref_id\":\"$t3\",\"purchase_token\":\"$t3\"}"
expect_status 200 "ref_id and purchase_token agree: 200"
expect_jq '. == {"coins": 200}' "200 coins"

# A time package extends the subscription and answers the current coins.
before_ms=$(($(date +%s%3N)))
store_open "$alice" time_30
p4=$SERIAL
t4=$(sb_buy time_30)
store_redeem "$alice" "$p4" "$t4" /finance/bazzar_paymnet
after_ms=$(($(date +%s%3N)))
expect_status 200 "redeem a time package"
expect_jq '. == {"coins": 200}' "time package: coins unchanged, answered"
b=$(pm_balance alice)
until1=$(jq -r '.subscription_until_ms // empty' <<<"$b")
[[ $until1 =~ ^[0-9]+$ ]] && ((until1 >= before_ms + 30 * DAY_MS - 2000 && until1 <= after_ms + 30 * DAY_MS + 2000))
check $? "subscription ends 30 days from now" "subscription_until_ms '$until1', now ~$before_ms..$after_ms"
jq -e --arg s "$p4" '.coins == 200 and (.ledger | length) == 4 and (.ledger[-1] | .purchase_serial == $s
    and .kind == "time_extend" and .time_delta_ms == 2592000000 and (.coins_delta // 0) == 0)' <<<"$b" >/dev/null
check $? "ledger: time_extend of 30 days referencing the purchase" "balance: $(head -c 600 <<<"$b")"
store_open "$alice" time_30
p5=$SERIAL
t5=$(sb_buy time_30)
store_redeem "$alice" "$p5" "$t5"
expect_status 200 "a second time package"
until2=$(pm_balance alice | jq -r '.subscription_until_ms // empty')
[[ $until2 =~ ^[0-9]+$ ]] && ((until2 == until1 + 30 * DAY_MS))
check $? "a second 30 days extend the end by 30 days" "first end $until1, now $until2"

# --- rejections: 406, purchase stays open ---------------------------------------------------
store_open "$alice" coins_100
p6=$SERIAL
store_redeem "$alice" "$p6" "fake-token-$(pm_uuid)"
expect_store_error 406 provider_rejected "a fake token: 406"
t6=$(sb_buy coins_100)
sb_refund "$t6"
store_redeem "$alice" "$p6" "$t6"
expect_store_error 406 provider_rejected "a refunded purchase: 406"
t7=$(sb_buy coins_50)
store_redeem "$alice" "$p6" "$t7"
expect_store_error 406 provider_rejected "a token bought for another SKU: 406"
store_redeem "$alice" "$p6" "$t1"
expect_store_error 406 provider_rejected "a token already redeemed by the same user, on another purchase: 406"
store_redeem "$alice" "$p6" "$t2"
expect_store_error 406 provider_rejected "another already redeemed token: 406"
expect_coins alice 200 "rejections credited nothing"
[[ $(pm_ledger_len alice) == 5 ]]
check $? "rejections added no ledger entry" "ledger has $(pm_ledger_len alice) entries"
t8=$(sb_buy coins_100)
store_redeem "$alice" "$p6" "$t8"
expect_status 200 "after the rejections the purchase is still open: a valid token completes it"
expect_jq '. == {"coins": 300}' "300 coins"

# Another user with a token alice already redeemed.
store_open "$bob" coins_100
pb=$SERIAL
store_redeem "$bob" "$pb" "$t1"
expect_store_error 406 provider_rejected "bob redeems alice's token on his purchase: 406"
expect_coins bob 0 "bob got nothing"

# A service token acts as its own principal: the coins are the service's.
svc=$(pm_token ops service)
store_open "$svc" coins_50
ts=$(sb_buy coins_50)
store_redeem "$svc" "$SERIAL" "$ts"
expect_status 200 "a service token redeems for itself"
expect_jq '. == {"coins": 50}' "the service principal's own balance: 50"
expect_coins ops 50 "paymentctl: ops has 50 coins"
expect_coins alice 300 "alice's balance untouched by the service's purchase"

# --- 404 and 400 -------------------------------------------------------------------------------
store_open "$alice" coins_100
pa=$SERIAL
t9=$(sb_buy coins_100)
store_redeem "$bob" "$pa" "$t9"
expect_store_error 404 not_found "alice's open purchase, redeemed by bob: 404"
store_redeem "$alice" 9999999999999999 "$t9"
expect_store_error 404 not_found "an unknown serial: 404"
store_redeem "$alice" "$pb" "$t9"
expect_store_error 404 not_found "bob's serial, redeemed by alice: 404"
http POST /finance/bazzar_paymnet/ -t "$alice" -d "{\"ref_id\":\"$t9\"}"
expect_store_error 400 validation_error "serial_number missing: 400"
http POST /finance/bazzar_paymnet/ -t "$alice" -d "{\"serial_number\":\"$pa\"}"
expect_store_error 400 validation_error "ref_id missing: 400"
http POST /finance/bazzar_paymnet/ -t "$alice" -d '{}'
expect_store_error 400 validation_error "empty object: 400"
http POST /finance/bazzar_paymnet/ -t "$alice" -d ''
expect_store_error 400 validation_error "empty body: 400"
http POST /finance/bazzar_paymnet/ -t "$alice" -d "{\"serial_number\":$pa,\"ref_id\":\"$t9\"}"
expect_store_error 400 validation_error "numeric serial_number: 400"
http POST /finance/bazzar_paymnet/ -t "$alice" -d "{\"serial_number\":\"$pa\",\"ref_id\":42}"
expect_store_error 400 validation_error "numeric ref_id: 400"
http POST /finance/bazzar_paymnet/ -t "$alice" -d "{\"serial_number\":\"$pa\",\"ref_id\":\"\"}"
expect_store_error 400 validation_error "empty ref_id: 400"
http POST /finance/bazzar_paymnet/ -t "$alice" -d "{\"serial_number\":\"$pa\",\"ref_id\":\"$t9\",\"x\":1}"
expect_store_error 400 validation_error "unknown field: 400"
http POST /finance/bazzar_paymnet/ -t "$alice" -d "{\"serial_number\":\"$pa\",\"ref_id\":\"a/../b\"}"
expect_store_error 400 validation_error "a token with a slash is refused, never a path at Bazaar"
http POST /finance/bazzar_paymnet/ -d "{\"serial_number\":\"$pa\",\"ref_id\":\"$t9\"}"
expect_store_error 401 unauthorized "no token: 401" "Log in"
http POST /finance/bazzar_paymnet/ -t nobody -d "{\"serial_number\":\"$pa\",\"ref_id\":\"$t9\"}"
expect_store_error 401 unauthorized "unknown token: 401" "Log in"
store_redeem "$alice" "$pa" "$t9"
expect_status 200 "after all that, alice's purchase completes"
expect_jq '. == {"coins": 400}' "400 coins"

# --- the ledger explains every balance ----------------------------------------------------------
expect_ledger alice "alice's ledger explains her balance"
expect_ledger bob "bob's (empty) ledger explains his balance"
b=$(pm_balance alice)
credited=$(printf '%s\n' "$p1" "$p2" "$p3" "$p4" "$p5" "$p6" "$pa" | jq -R . | jq -sc 'sort')
jq -e --argjson c "$credited" '([.ledger[].purchase_serial] | sort) == $c' <<<"$b" >/dev/null
check $? "the ledger names exactly the 7 purchases that got a 200, once each" "want $credited, ledger: $(head -c 600 <<<"$b")"
expect_alive "after bad input" $(pm_store_pids)
