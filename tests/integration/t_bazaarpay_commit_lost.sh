#!/usr/bin/env bash
# BazaarPay applies a commit but its answer is lost (the sandbox's
# drop_response fault on commit): the outcome is unknown, so paymesh must
# not send the commit again blind. It traces, finds paid_committed, and ends
# the checkout committed: BazaarPay holds one commit and got one commit call.
# Then the same with the answer of the trace after the lost commit lost as
# well: paymesh traces again, still no second commit.
. "$(dirname "$0")/lib.sh"

pm_start_bazaarpay --core --job-lease-ms 1500 --
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 50000 coin 100

bp_checkout "$alice" coins_100
co=$CO
# Armed before the payment: paymesh re-traces the open checkout on its own
# and commits as soon as it sees it paid.
sb_fault '{"service":"bazaarpay","kind":"drop_response","count":1,"match":"commit"}'
sbp pay "$co"
t0=$(date +%s%3N)
bp_confirm "$alice" "$co"
expect_status 200 "confirm: 200"
expect_json .state delivered "confirm: delivered"
expect_json .coins 100 "confirm: 100 coins"
bp_wait_state "$alice" "$co" committed 30
check $? "the checkout ends committed" "last state '$BP_LAST_STATE': $(pm_body_excerpt)"
t1=$(date +%s%3N)
unk=$(bp_attempts commit unknown) ok=$(bp_attempts commit) tr=$(bp_attempts trace)
((unk >= 1))
check $? "GET: the commit's outcome was unknown" "attempts: $(jq -c '.attempts' "$PM_TMP/resp.body" 2>/dev/null | head -c 800)"
jq -e '.attempts | map(.call) | (rindex("commit")) < (rindex("trace"))' "$PM_TMP/resp.body" >/dev/null 2>&1
check $? "GET: a trace came after the lost commit (and settled it)" "attempts: $(jq -c '[.attempts[] | [.call, .outcome, .detail]]' "$PM_TMP/resp.body" 2>/dev/null | head -c 800)"
sleep 1.5
sbp_show "$co"
jq -e '.commits == 1 and .commit_calls == 1 and .status == "paid_committed"' <<<"$SB_BODY" >/dev/null
check $? "BazaarPay: one commit, one commit call, paid_committed (no second commit)" "sandbox: $(sb_last)"
pm_note "lost commit answer: committed $((t1 - t0)) ms after the confirm; commit calls $(jq -r .commit_calls <<<"$SB_BODY"), commit attempts $ok, traces $tr"
expect_coins alice 100 "delivered once"

# The commit's answer and the next trace's answer are both lost. The order
# of the calls is made certain with provider-bazaar stopped while the faults
# are armed: the first trace answers (a delay of 0 ms), the commit's answer
# is lost, then the trace's after it.
bp_checkout "$alice" coins_100
co2=$CO
pm_stop "$PB_PID"
pm_forget_pb() { local p k=""; for p in $PB_PIDS; do [[ $p == "$1" ]] || k+=" $p"; done; PB_PIDS=$k; }
pm_forget_pb "$PB_PID"
sbp pay "$co2"
sb_clear_calls
sb_fault '{"service":"bazaarpay","kind":"delay","delay_ms":0,"count":1,"match":"trace"}'
sb_fault '{"service":"bazaarpay","kind":"drop_response","count":1,"match":"commit"}'
sb_fault '{"service":"bazaarpay","kind":"drop_response","count":1,"match":"trace"}'
pm_start_provider_bazaar
bp_confirm_until "$alice" "$co2" 15
expect_status 200 "second checkout: confirm 200"
expect_json .state delivered "second checkout: delivered"
bp_wait_state "$alice" "$co2" committed 30
check $? "commit and trace answers lost: the checkout still ends committed" "last state '$BP_LAST_STATE': $(pm_body_excerpt)"
sleep 1.5
sbp_show "$co2"
jq -e '.commits == 1' <<<"$SB_BODY" >/dev/null
check $? "... with one commit at BazaarPay" "sandbox: $(sb_last)"
[[ $(jq -r .commit_calls <<<"$SB_BODY") == 1 ]]
check $? "... and one commit call (none sent blind after the lost trace)" "sandbox: $(sb_last)"
sb GET /sandbox/faults
jq -e '(.faults | length) == 0' <<<"$SB_BODY" >/dev/null
check $? "... every armed fault was met (the order was as meant)" "faults left: $SB_BODY"
pm_note "commit + trace answers lost: commit calls $(sbp_field "$co2" commit_calls), traces in the sandbox's log $(bp_calls trace)"
expect_coins alice 200 "two checkouts, two deliveries"
sb_clear_faults
expect_alive "at the end" $(pm_store_pids)
