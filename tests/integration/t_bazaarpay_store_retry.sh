#!/usr/bin/env bash
# The store's consume retries pass through retry-worker too (issue 10: one
# daemon owns every retry schedule). With no retry-worker running, a consume
# that failed (500) stays in `paymentctl retry list` and is not tried again;
# once retry-worker starts, it is retried and Bazaar shows the purchase
# consumed, and the item leaves the list. `paymentctl retry park ID` keeps a
# failing job for an operator (no retries even with retry-worker running);
# `paymentctl retry now ID` sends it again.
. "$(dirname "$0")/lib.sh"

pm_start_bazaarpay --no-retry
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 1000 coin 100

# retry_item REF: prints the retry list's item whose ref (or anything in it)
# names REF ("" when none).
retry_item() {
    pm_retry_list | jq -c --arg r "$1" 'map(select((.ref // "") == $r or (tostring | contains($r)))) | .[0] // empty'
}

# --- no retry-worker: the failed consume waits -----------------------------------------------
store_open "$alice" coins_100
p1=$SERIAL
t1=$(sb_buy coins_100)
sb_clear_calls
sb_fault '{"service":"bazaar","kind":"status","status":500,"count":1,"match":"consume"}'
store_redeem "$alice" "$p1" "$t1"
expect_status 200 "redeem while consume fails: credited"
expect_coins alice 100 "100 coins"
c1() { (($(sb_calls consume) >= 1)); }
wait_until 10 c1
check $? "consume was tried once" "calls: $(head -c 300 "$PM_TMP/sb.body")"
has_item() { [[ -n $(retry_item "$1") ]]; }
wait_until 10 has_item "$p1"
check $? "the failed consume is in paymentctl retry list" "list: $(pm_retry_list | head -c 600)"
item=$(retry_item "$p1")
jq -e '.kind == "bazaar_consume" and (.state == "retry" or .state == "deciding" or .state == "queued") and (.id | type == "string")' <<<"$item" >/dev/null 2>&1
check $? "... as a bazaar_consume item waiting for a decision" "item: $item"
jq -e '(.outcome // "") != "" or (.reason // "") != ""' <<<"$item" >/dev/null 2>&1
check $? "... with the failure's outcome" "item: $item"
sleep 2
[[ $(sb_calls consume) == 1 ]]
check $? "without retry-worker, no second consume call" "$(sb_calls consume) consume calls"
sb_consumed "$t1" && r=1 || r=0
((r == 0))
check $? "and Bazaar does not show it consumed" "sandbox: $(sb_last)"

# --- retry-worker starts: the consume is retried ----------------------------------------------
pm_start_retry_worker
wait_until 15 sb_consumed "$t1"
check $? "with retry-worker running, the consume is retried and Bazaar shows it consumed" "calls: $(sb_calls consume)"
gone() { [[ -z $(retry_item "$1") ]]; }
wait_until 10 gone "$p1"
check $? "the done job leaves the retry list" "list: $(pm_retry_list | head -c 600)"
n=$(sb_calls consume)
sleep 1.5
[[ $(sb_calls consume) == "$n" ]]
check $? "no consume call after Bazaar confirmed" "$n then $(sb_calls consume)"
expect_coins alice 100 "credited once"

# --- park and now -------------------------------------------------------------------------
store_open "$alice" coins_100
p2=$SERIAL
t2=$(sb_buy coins_100)
sb_clear_calls
sb_fault '{"service":"bazaar","kind":"status","status":500,"count":1000,"match":"consume"}'
store_redeem "$alice" "$p2" "$t2"
expect_status 200 "second redeem, consume failing for good: credited"
c2() { (($(sb_calls consume) >= 2)); }
wait_until 10 c2
check $? "retry-worker retries the failing consume" "$(sb_calls consume) consume calls"
wait_until 5 has_item "$p2"
id=$(retry_item "$p2" | jq -r '.id // empty')
[[ -n $id ]]
check $? "the failing consume is in the retry list" "list: $(pm_retry_list | head -c 600)"
pm_ctl retry park "$id" >/dev/null
check $? "paymentctl retry park $id" "$(tail -n 3 "$PM_TMP/paymentctl.log")"
parked() { [[ $(retry_item "$p2" | jq -r '.state // empty') == parked ]]; }
wait_until 5 parked
check $? "the item is parked" "item: $(retry_item "$p2")"
n=$(sb_calls consume)
sleep 2
[[ $(sb_calls consume) == "$n" ]]
check $? "a parked job is not retried" "$n then $(sb_calls consume) consume calls"
jq -e '.due_ms == null' <<<"$(retry_item "$p2")" >/dev/null 2>&1
check $? "a parked item has no due time" "item: $(retry_item "$p2")"
sb_clear_faults
pm_ctl retry now "$id" >/dev/null
check $? "paymentctl retry now $id" "$(tail -n 3 "$PM_TMP/paymentctl.log")"
wait_until 15 sb_consumed "$t2"
check $? "retry now: the consume runs again and Bazaar shows it consumed" "calls: $(sb_calls consume)"
wait_until 10 gone "$p2"
check $? "... and the job leaves the list" "list: $(pm_retry_list | head -c 600)"
pm_ctl retry now "no-such-job-id" >/dev/null 2>&1
(($? != 0))
check $? "retry now of an unknown id fails" "paymentctl exited 0"
expect_coins alice 200 "two purchases, credited once each"
expect_alive "at the end" $(pm_store_pids)
