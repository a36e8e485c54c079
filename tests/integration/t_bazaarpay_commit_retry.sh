#!/usr/bin/env bash
# BazaarPay's commit fails (docs/api.md "BazaarPay checkout", the two-phase
# commit): commit answers 500 twice, then works. The delivery is not held
# back (confirm answers delivered at once), the commit is retried by
# retry-worker on its backoff (trace first after each unknown outcome), and
# in the end BazaarPay holds exactly one commit and the checkout is
# committed, with every attempt in GET. Prints the attempts and the time.
. "$(dirname "$0")/lib.sh"

pm_start_bazaarpay
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 50000 coin 100

run_case() { # run_case LABEL FAULT_JSON FAILS
    local label=$1 fault=$2 fails=$3 t0 t1
    bp_checkout "$alice" coins_100
    local co=$CO
    # The fault comes first: paymesh re-traces the open checkout on its own
    # and commits as soon as it sees it paid.
    sb_clear_calls
    sb_fault "$fault"
    sbp pay "$co"
    t0=$(date +%s%3N)
    bp_confirm "$alice" "$co"
    expect_status 200 "$label: confirm answers at once"
    expect_json .state delivered "$label: delivered"
    coins=$((coins + 100))
    expect_json .coins "$coins" "$label: coins $coins"
    bp_wait_state "$alice" "$co" committed 30
    check $? "$label: the checkout ends committed" "last state '$BP_LAST_STATE': $(pm_body_excerpt)"
    t1=$(date +%s%3N)
    local unk ok tr
    unk=$(bp_attempts commit unknown) ok=$(bp_attempts commit ok) tr=$(bp_attempts trace)
    ((unk == fails && ok == 1))
    check $? "$label: GET shows $fails failed commits and one that worked" "commit unknown $unk, ok $ok: $(jq -c '.attempts' "$PM_TMP/resp.body" 2>/dev/null | head -c 800)"
    ((tr >= 1 + fails))
    check $? "$label: a trace before each commit that followed an unknown one" "$tr traces for $fails unknown commits"
    # Calls a fault answered never reach the sandbox's checkout (its
    # commit_calls); its call log has them all.
    local commits handled calls
    calls=$(bp_calls commit)
    sbp_show "$co"
    commits=$(jq -r '.commits' <<<"$SB_BODY") handled=$(jq -r '.commit_calls' <<<"$SB_BODY")
    [[ $commits == 1 && $handled == 1 ]] && jq -e '.status == "paid_committed"' <<<"$SB_BODY" >/dev/null
    check $? "$label: BazaarPay holds exactly one commit, paid_committed, and saw no commit after it" "sandbox: $(sb_last)"
    [[ $calls == $((fails + 1)) ]]
    check $? "$label: BazaarPay got $((fails + 1)) commit calls in all" "$calls commit calls in the sandbox's log"
    pm_note "$label: committed $((t1 - t0)) ms after the confirm; commit calls $calls ($fails failed by the fault, 1 applied), commit attempts unknown $unk + ok $ok, traces $tr"
    sleep 1.5
    [[ $(bp_calls commit) == "$calls" ]]
    check $? "$label: no commit call once committed" "$calls then $(bp_calls commit) commit calls"
    expect_coins alice "$coins" "$label: delivered once"
    sb_clear_faults
}

coins=0
run_case "commit 500 twice" '{"service":"bazaarpay","kind":"status","status":500,"count":2,"match":"commit"}' 2
run_case "commit 503 once" '{"service":"bazaarpay","kind":"status","status":503,"count":1,"match":"commit"}' 1
run_case "commit times out once" '{"service":"bazaarpay","kind":"timeout","delay_ms":3000,"count":1,"match":"commit"}' 1

[[ $(pm_ledger_len alice) == 3 ]]
check $? "one ledger entry per checkout" "$(pm_ledger_len alice) entries"
expect_ledger alice "the ledger explains the balance"
expect_alive "at the end" $(pm_store_pids)
