#!/usr/bin/env bash
# Confirm while the user has not paid yet (docs/api.md "BazaarPay checkout"):
# 202 {"state": "in_progress"}, nothing delivered; once the user pays, the
# next confirm delivers (200). And paymesh keeps re-tracing an unpaid
# checkout on its own: paid later without another confirm, it is delivered
# and committed all the same; never paid, it ends expired when the re-trace
# limit (retry-worker's bazaarpay-retrace-limit-s, short here) runs out.
. "$(dirname "$0")/lib.sh"

RETRACE_LIMIT_S=${PM_BP_RETRACE_LIMIT_S:-10} # the least retry-worker takes
pm_start_bazaarpay --retry --bazaarpay-retrace-limit-s "$RETRACE_LIMIT_S" --
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 50000 coin 100

# --- confirm, pay, confirm -----------------------------------------------------------------
bp_checkout "$alice" coins_100
co1=$CO
bp_confirm "$alice" "$co1"
expect_status 202 "confirm while unpaid: 202"
expect_jq '.state == "in_progress"' "confirm while unpaid: in_progress"
bp_confirm "$alice" "$co1"
expect_status 202 "again while unpaid: 202"
expect_coins alice 0 "nothing delivered while unpaid"
bp_get "$alice" "$co1"
expect_json .state in_progress "GET: in_progress"
expect_jq '[.attempts[] | select(.call == "trace" and ((.detail // "") | contains("unpaid")))] | length >= 1' \
    "GET: a trace that said unpaid"
sbp pay "$co1"
bp_confirm_until "$alice" "$co1" 10
expect_status 200 "after paying, confirm: 200 ($TRIES confirms)"
expect_json .state delivered "after paying: delivered"
expect_json .coins 100 "after paying: 100 coins"
expect_coins alice 100 "delivered once"
bp_wait_state "$alice" "$co1" committed 15
check $? "then committed" "last state '$BP_LAST_STATE'"
[[ $(sbp_field "$co1" commits) == 1 ]]
check $? "one commit at BazaarPay" "sandbox: $(sb_last)"

# --- paid after a 202, and no further confirm: paymesh re-traces on its own ------------------
bp_checkout "$alice" coins_100
co2=$CO
bp_confirm "$alice" "$co2"
expect_status 202 "second checkout: confirm while unpaid: 202"
sleep 1
sbp pay "$co2"
t0=$(date +%s%3N)
bp_wait_state "$alice" "$co2" committed 15
check $? "paid without another confirm: re-traced, delivered and committed on its own" "last state '$BP_LAST_STATE': $(pm_body_excerpt)"
t1=$(date +%s%3N)
pm_note "paid -> committed without a confirm: $((t1 - t0)) ms, traces $(bp_attempts trace)"
expect_coins alice 200 "delivered once more"
bp_confirm "$alice" "$co2"
expect_status 200 "the app's late confirm: 200"
expect_json .state delivered "... delivered"
expect_json .coins 200 "... with the balance"
expect_coins alice 200 "the late confirm credits nothing"
[[ $(sbp_field "$co2" commits) == 1 ]]
check $? "one commit for the second checkout" "sandbox: $(sb_last)"

# --- never paid: expired when the re-trace limit runs out -----------------------------------
bp_checkout "$alice" coins_100
co3=$CO
bp_confirm "$alice" "$co3"
expect_status 202 "third checkout: 202"
t0=$(date +%s%3N)
bp_wait_state "$alice" "$co3" expired $((RETRACE_LIMIT_S + 15))
check $? "never paid: the checkout ends expired after the re-trace limit" "last state '$BP_LAST_STATE': $(pm_body_excerpt)"
t1=$(date +%s%3N)
pm_note "unpaid -> expired in $((t1 - t0)) ms (limit ${RETRACE_LIMIT_S}s), traces $(bp_attempts trace)"
bp_confirm "$alice" "$co3"
expect_status 406 "confirm of the expired checkout: 406"
expect_json .state expired "... expired"
expect_coins alice 200 "the expired checkout delivered nothing"
bp_get "$alice" "$co3"
n=$(bp_attempts trace)
sleep 1.5
bp_get "$alice" "$co3"
[[ $(bp_attempts trace) == "$n" ]]
check $? "no more traces after it expired" "$n then $(bp_attempts trace)"
expect_alive "at the end" $(pm_store_pids)
