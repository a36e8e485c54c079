#!/usr/bin/env bash
# POST /finance/bazaarpay/refund/ (docs/api.md "BazaarPay checkout"): a
# service token refunds a committed checkout through BazaarPay and the
# delivery is reversed in the ledger, once; asking again answers the same
# and reverses nothing more. A user token, the owner's included, is refused
# (403/404). A refund while BazaarPay fails is retried until it goes through.
. "$(dirname "$0")/lib.sh"

pm_start_bazaarpay
alice=$(pm_token alice)
bob=$(pm_token bob)
svc=$(pm_token ops service)
pm_package coins_100 "100 coins" 50000 coin 100

deliver() { # deliver: a paid, confirmed, committed checkout of alice in CO
    bp_checkout "$alice" coins_100
    sbp pay "$CO"
    bp_confirm "$alice" "$CO"
    [[ $RESP_STATUS == 200 ]] || pm_fatal "confirm answered $RESP_STATUS $(pm_body_excerpt)"
    bp_wait_state "$alice" "$CO" committed 15 || pm_fatal "checkout $CO did not end committed ($BP_LAST_STATE)"
}

deliver
co=$CO
deliver
co_other=$CO
expect_coins alice 200 "two checkouts delivered: 200 coins"

# --- who may refund ---------------------------------------------------------------------------
bp_refund "$alice" "$co" "I changed my mind"
expect_status '40[34]' "the owner's user token cannot refund (403/404)"
bp_refund "$bob" "$co" "not mine"
expect_status '40[34]' "another user's token cannot refund (403/404)"
http POST /finance/bazaarpay/refund/ -d "{\"checkout_token\":\"$co\",\"reason\":\"x\"}"
expect_status 401 "no token: 401"
expect_coins alice 200 "refused refunds reversed nothing"
[[ $(sbp_field "$co" refund_calls) == 0 ]]
check $? "BazaarPay got no refund call" "sandbox: $(sb_last)"

# --- the service refunds, once ------------------------------------------------------------------
bp_refund "$svc" "$co" "support ticket 42"
expect_status '20[02]' "the service token refunds: 200 (or 202 while under way)"
expect_jq '.state == "refunded" or (.refund_requested == true and (.state == "committed" or .state == "delivered"))' \
    "the answer: refunded (or the refund under way)"
bp_wait_state "$svc" "$co" refunded 15
check $? "the checkout ends refunded" "last state '$BP_LAST_STATE'"
expect_jq '.reversed == true' "the delivery is reversed"
expect_jq '.refund_reason == "support ticket 42"' "the reason is kept"
expect_jq '[.attempts[] | select(.call == "refund" and .outcome == "ok")] | length == 1' "one refund attempt, ok"
cp "$PM_TMP/resp.body" "$PM_TMP/refunded1"
expect_coins alice 100 "the balance drops by the package's 100 coins"
b=$(pm_balance alice)
jq -e '(.ledger | length) == 3 and .ledger[-1].coins_delta == -100 and .ledger[-1].coins_after == 100' <<<"$b" >/dev/null
check $? "a ledger entry takes the 100 coins back" "balance: $(head -c 600 <<<"$b")"
sbp_show "$co"
jq -e '.status == "refunded" and .refunds == 1 and .commits == 1' <<<"$SB_BODY" >/dev/null
check $? "BazaarPay: refunded, one refund" "sandbox: $(sb_last)"

bp_refund "$svc" "$co" "support ticket 42"
expect_status 200 "the same refund again: 200"
expect_json .state refunded "... refunded"
bp_refund "$svc" "$co" "another reason"
expect_status 200 "a refund of a refunded checkout, other reason: the same 200"
expect_coins alice 100 "asking again reverses nothing more"
[[ $(pm_ledger_len alice) == 3 ]]
check $? "no further ledger entry" "$(pm_ledger_len alice) entries"
sleep 1
[[ $(sbp_field "$co" refunds) == 1 && $(sbp_field "$co" refund_calls) == 1 ]]
check $? "BazaarPay got one refund call in all" "sandbox: $(sb_last)"
bp_confirm "$alice" "$co"
expect_status 406 "confirm of a refunded checkout: 406"
bp_get "$alice" "$co"
expect_json .state refunded "the owner sees it refunded"
bp_get "$alice" "$co_other"
expect_json .state committed "the other checkout is untouched"

# --- the refund call fails first ------------------------------------------------------------------
sb_fault '{"service":"bazaarpay","kind":"status","status":500,"count":2,"match":"refund"}'
bp_refund "$svc" "$co_other" "retried refund"
expect_status '20[02]' "refund while BazaarPay fails: 202 under way (or 200)"
expect_jq '.refund_requested == true' "... refund_requested"
bp_wait_state "$svc" "$co_other" refunded 20
check $? "the failing refund is retried until the checkout is refunded" "last state '$BP_LAST_STATE': $(pm_body_excerpt)"
sleep 1
sbp_show "$co_other"
jq -e '.refunds == 1 and .status == "refunded"' <<<"$SB_BODY" >/dev/null
check $? "BazaarPay: one refund applied" "sandbox: $(sb_last)"
pm_note "refund after 2 failures: refund calls $(jq -r .refund_calls <<<"$SB_BODY")"
expect_coins alice 0 "both deliveries reversed"
sb_clear_faults

# --- bad input -------------------------------------------------------------------------------
bp_refund "$svc" "nosuchcheckout0000" "x"
expect_status 404 "refund of an unknown checkout: 404"
http POST /finance/bazaarpay/refund/ -t "$svc" -d "{\"checkout_token\":\"$co\"}"
expect_status 400 "refund without a reason: 400"
http POST /finance/bazaarpay/refund/ -t "$svc" -d "{\"reason\":\"x\"}"
expect_status 400 "refund without checkout_token: 400"
expect_ledger alice "the ledger explains the balance"
expect_alive "at the end" $(pm_store_pids)
