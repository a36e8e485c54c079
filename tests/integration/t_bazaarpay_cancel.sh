#!/usr/bin/env bash
# The user does not pay (docs/api.md "BazaarPay checkout"): Cancel on the
# sandbox's payment page (a 303 to redirect_url, like Pay), or the sandbox
# admin's cancel, or a checkout that BazaarPay let time out: the confirm that
# follows answers 406 {"state": "expired"}, the checkout ends expired,
# nothing is delivered, nothing is committed, and a refund is refused.
. "$(dirname "$0")/lib.sh"

pm_start_bazaarpay
alice=$(pm_token alice)
svc=$(pm_token ops service)
pm_package coins_100 "100 coins" 50000 coin 100

# --- Cancel on the payment page ------------------------------------------------------------
bp_checkout "$alice" coins_100
co1=$CO
bp_page_click "$CO_URL" cancel "cancel"
st=$(sbp_field "$co1" status)
[[ $st == timed_out || $st == cancelled || $st == canceled || $st == unpaid ]]
check $? "after Cancel BazaarPay no longer expects a payment (trace says $st)" "sandbox: $(sb_last)"
bp_confirm "$alice" "$co1"
expect_status 406 "confirm after Cancel: 406"
expect_jq '.state == "expired"' "confirm after Cancel: {\"state\": \"expired\"}"
cp "$PM_TMP/resp.body" "$PM_TMP/expired1"
bp_get "$alice" "$co1"
expect_json .state expired "GET: expired"
expect_jq '[.attempts[] | select(.call == "trace")] | length >= 1' "GET: the trace that found it is among the attempts"
expect_jq '[.attempts[] | select(.call == "commit")] | length == 0' "GET: no commit was tried"
expect_coins alice 0 "nothing delivered"
bp_confirm "$alice" "$co1"
expect_status 406 "confirm again: 406 again"
cmp -s "$PM_TMP/expired1" "$PM_TMP/resp.body"
check $? "confirm again: the same answer" "first $(cat "$PM_TMP/expired1"), now $RESP_BODY"
# Paying afterwards changes nothing: the sandbox refuses, or paymesh does.
sb POST "/sandbox/bazaarpay/checkouts/$co1/pay" '{}'
bp_confirm "$alice" "$co1"
expect_status 406 "a cancelled checkout stays expired"
expect_coins alice 0 "still nothing delivered"

# --- the sandbox admin's cancel -------------------------------------------------------------
bp_checkout "$alice" coins_100
co2=$CO
sbp cancel "$co2"
bp_confirm "$alice" "$co2"
expect_status 406 "confirm after the admin's cancel: 406"
expect_json .state expired "... expired"
bp_refund "$svc" "$co2" "never paid"
expect_status '4??' "a refund of a checkout never delivered is refused"
bp_get "$alice" "$co2"
expect_json .state expired "the refused refund changed nothing"
sleep 1
[[ $(sbp_field "$co2" commit_calls) == 0 && $(sbp_field "$co2" refund_calls) == 0 ]]
check $? "BazaarPay got neither a commit nor a refund" "sandbox: $(sb_last)"
expect_coins alice 0 "nothing delivered by the cancelled checkouts"
[[ $(pm_ledger_len alice) == 0 ]]
check $? "no ledger entry" "$(pm_ledger_len alice) entries"
expect_alive "at the end" $(pm_store_pids)
