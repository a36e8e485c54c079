#!/usr/bin/env bash
# The commit window closes before any commit got through (docs/api.md
# "BazaarPay checkout", the two-phase commit): every commit call fails, and
#   A. BazaarPay's window closes (the sandbox's /expire: its auto-refund,
#      trace says paid_not_committed_refunded): paymesh ends the checkout
#      refunded without a refund call (the money went back by itself);
#   B. paymesh's own window (payment-core's bazaarpay-commit-window-s, short
#      here) closes first, while BazaarPay still holds the money: paymesh
#      calls refund/ once and ends the checkout refunded;
#   C. retry-worker's attempts are spent (--retry-max-attempts 6 here, well
#      before the window; A and B run with a limit too high to be reached):
#      refunded the same way.
# Either way the delivery is reversed (the balance is back where it was, a
# ledger entry says so), BazaarPay holds no commit, and the checkout is never
# both committed and refunded. Prints the times.
. "$(dirname "$0")/lib.sh"

CORE_WINDOW_S=${PM_BP_WINDOW_S:-10} # the least payment-core takes
MARGIN_MS=500
pm_start_bazaarpay --core --bazaarpay-commit-window-s "$CORE_WINDOW_S" -- \
    --retry --bazaarpay-window-margin-ms "$MARGIN_MS" --retry-max-attempts 1000 --
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 50000 coin 100

# Every commit fails from here on.
sb_fault '{"service":"bazaarpay","kind":"status","status":500,"count":1000,"match":"commit"}'

# --- A. BazaarPay's window closes (sandbox /expire) ------------------------------------------
bp_pay_confirm "$alice" coins_100
coA=$CO
expect_status 200 "A: confirm: 200"
expect_json .state delivered "A: delivered although commits fail"
expect_coins alice 100 "A: 100 coins delivered"
tA0=$(date +%s%3N)
ncalls() { (($(bp_calls commit) >= $1)); }
wait_until 10 ncalls 2
check $? "A: paymesh tries to commit, again and again" "$(bp_calls commit) commit calls"
sbp expire "$coA"
tA1=$(date +%s%3N)
[[ $(sbp_field "$coA" status) == paid_not_committed_refunded ]]
check $? "A: after /expire BazaarPay traces paid_not_committed_refunded" "sandbox: $(sb_last)"
bp_wait_state "$alice" "$coA" refunded 20
check $? "A: the checkout ends refunded" "last state '$BP_LAST_STATE': $(pm_body_excerpt)"
tA2=$(date +%s%3N)
expect_jq '.reversed == true' "A: GET says the delivery was reversed"
expect_jq '[.attempts[] | select(.call == "trace" and ((.detail // "") | contains("paid_not_committed_refunded")))] | length >= 1' \
    "A: GET shows the trace that found the auto-refund"
expect_coins alice 0 "A: the balance is back to 0"
sleep 1
sbp_show "$coA"
jq -e '.commits == 0 and (.refund_calls // 0) == 0' <<<"$SB_BODY" >/dev/null
check $? "A: BazaarPay holds no commit and got no refund call (the money went back by itself)" "sandbox: $(sb_last)"
pm_note "A: delivered -> /expire $((tA1 - tA0)) ms, /expire -> refunded $((tA2 - tA1)) ms; $(bp_calls commit) commit calls, $(bp_calls refund) refund calls"

# --- B. paymesh's window closes first ------------------------------------------------------
bp_pay_confirm "$alice" coins_100
coB=$CO
tB0=$(date +%s%3N)
expect_json .state delivered "B: delivered although commits fail"
expect_coins alice 100 "B: 100 coins delivered"
bp_wait_state "$alice" "$coB" refunded $((CORE_WINDOW_S + 20))
check $? "B: the checkout ends refunded when paymesh's window closes" "last state '$BP_LAST_STATE': $(pm_body_excerpt)"
tB1=$(date +%s%3N)
expect_jq '.reversed == true' "B: GET says the delivery was reversed"
expect_jq '[.attempts[] | select(.call == "refund" and .outcome == "ok")] | length == 1' "B: GET shows one refund call, ok"
expect_coins alice 0 "B: the balance is back to 0"
((tB1 - tB0 >= CORE_WINDOW_S * 1000 - MARGIN_MS - 1000))
check $? "B: not refunded before the window closed" "refunded $((tB1 - tB0)) ms after delivery, window ${CORE_WINDOW_S}s"
sleep 1
sbp_show "$coB"
jq -e '.commits == 0 and .refunds == 1 and (.status == "refunded" or .status == "paid_not_committed_refunded")' <<<"$SB_BODY" >/dev/null
check $? "B: BazaarPay: no commit, one refund" "sandbox: $(sb_last)"
nB=$(bp_calls commit)
((nB >= 3))
check $? "B: commits were retried until the window closed" "$nB commit calls"
pm_note "B: delivered -> refunded $((tB1 - tB0)) ms (core window ${CORE_WINDOW_S}s, margin ${MARGIN_MS} ms); $nB commit calls, $(bp_calls refund) refund calls"

# --- C. the commit attempts are spent --------------------------------------------------------
pm_stop_retry_workers
pm_start_retry_worker --bazaarpay-window-margin-ms "$MARGIN_MS" --retry-max-attempts 6
bp_pay_confirm "$alice" coins_100
coC=$CO
tC0=$(date +%s%3N)
expect_json .state delivered "C: delivered although commits fail"
bp_wait_state "$alice" "$coC" refunded $((CORE_WINDOW_S + 20))
check $? "C: the checkout ends refunded when the commit attempts are spent" "last state '$BP_LAST_STATE': $(pm_body_excerpt)"
tC1=$(date +%s%3N)
expect_jq '.reversed == true' "C: the delivery was reversed"
expect_coins alice 0 "C: the balance is back to 0"
sbp_show "$coC"
jq -e '.commits == 0 and .refunds == 1' <<<"$SB_BODY" >/dev/null
check $? "C: BazaarPay: no commit, one refund" "sandbox: $(sb_last)"
((tC1 - tC0 < CORE_WINDOW_S * 1000 - MARGIN_MS))
check $? "C: refunded before the window closed: the attempts ran out" "refunded $((tC1 - tC0)) ms after delivery"
pm_note "C: delivered -> refunded $((tC1 - tC0)) ms; $(bp_calls commit) commit calls (--retry-max-attempts 6), $(bp_calls refund) refund calls"

# Nothing more happens to any of them: no commit after the refund.
sb_clear_calls
sleep 2
[[ $(bp_calls commit) == 0 ]]
check $? "no commit call after the checkouts ended refunded" "$(bp_calls commit) commit calls"
for co in "$coA" "$coB" "$coC"; do
    bp_confirm "$alice" "$co"
    expect_status 406 "confirm of a refunded checkout: 406"
    bp_get "$alice" "$co"
    expect_json .state refunded "it stays refunded"
done
b=$(pm_balance alice)
jq -e '.coins == 0 and (.ledger | length) == 6 and ([.ledger[].coins_delta] | sort) == [-100, -100, -100, 100, 100, 100]' <<<"$b" >/dev/null
check $? "the ledger: three deliveries and three reversals" "balance: $(head -c 600 <<<"$b")"
expect_ledger alice "the ledger explains the balance"
sb_clear_faults
expect_alive "at the end" $(pm_store_pids)
