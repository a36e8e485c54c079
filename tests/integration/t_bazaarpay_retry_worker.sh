#!/usr/bin/env bash
# retry-worker keeps no state and can die at any moment (issue 10): with
# commits failing a few times each, it is SIGKILLed in the middle of the
# retries and restarted; then two copies run at once; then one of the two is
# killed and the other carries on. Every checkout ends committed exactly
# once: one commit applied at BazaarPay each, and exactly as many commit
# calls as failures plus one per checkout (no item acted on twice).
. "$(dirname "$0")/lib.sh"

N=${PM_BP_N:-6}
LEASE_MS=1500
# The injected failures fall on whichever commit comes next, so one checkout
# may meet many of them: retry-worker's own limit of commit attempts (which
# t_bazaarpay_window tests) must not end it refunded here.
PM_RW_FLAGS+=(--retry-max-attempts 1000)
pm_start_bazaarpay --core --job-lease-ms "$LEASE_MS" --
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 50000 coin 100
coins=0

# batch NAME FAILS: N checkouts, paid, whose commits fail FAILS times in
# all (500); their tokens in BATCH. paymesh re-traces them on its own, so
# they are delivered and their commits tried from here on.
batch() {
    BATCH=()
    local i
    for ((i = 0; i < N; i++)); do
        bp_checkout "$alice" coins_100
        BATCH+=("$CO")
    done
    # The failures are armed before anyone pays: paymesh re-traces open
    # checkouts on its own and commits as soon as it sees one paid.
    sb_clear_calls
    sb_fault "{\"service\":\"bazaarpay\",\"kind\":\"status\",\"status\":500,\"count\":$2,\"match\":\"commit\"}"
    for co in "${BATCH[@]}"; do sbp pay "$co"; done
}

# confirm_all NAME: the app confirms every checkout of BATCH: 200 each.
confirm_all() {
    local bad="" co
    for co in "${BATCH[@]}"; do
        bp_confirm_until "$alice" "$co" 10
        [[ $RESP_STATUS == 200 ]] || bad+=" $co:$RESP_STATUS"
        coins=$((coins + 100))
    done
    [[ -z $bad ]]
    check $? "$1: $N checkouts confirmed: 200" "$bad"
}

# settled NAME FAILS SECONDS: every checkout of BATCH ends committed with one
# commit at BazaarPay, and the commit calls add up to FAILS + N.
settled() {
    local label=$1 fails=$2 co notc="" multi="" calls=0 t0=$SECONDS
    for co in "${BATCH[@]}"; do
        bp_wait_state "$alice" "$co" committed "$3" || notc+=" $co:$BP_LAST_STATE"
    done
    [[ -z $notc ]]
    check $? "$label: every checkout ends committed" "$notc"
    sleep 1
    # A call a fault answered never reaches the checkout (commit_calls): each
    # checkout's handler saw exactly one commit; the call log has them all.
    for co in "${BATCH[@]}"; do
        sbp_show "$co"
        jq -e '.commits == 1 and .commit_calls == 1 and .status == "paid_committed"' <<<"$SB_BODY" >/dev/null ||
            multi+=" $co: $SB_BODY"
    done
    calls=$(bp_calls commit)
    [[ -z $multi ]]
    check $? "$label: exactly one commit applied per checkout, none sent after it" "$multi"
    # With every failure met too, the commit calls were exactly FAILS + N.
    sb GET /sandbox/faults
    jq -e '(.faults | length) == 0' <<<"$SB_BODY" >/dev/null
    check $? "$label: every injected failure was met" "faults left: $SB_BODY"
    pm_note "$label: $N checkouts committed, $calls commit calls in the sandbox's log for $fails injected failures, settled in $((SECONDS - t0 + 1)) s"
    if ((calls != fails + N)); then
        sb GET '/sandbox/calls?service=bazaarpay'
        pm_note "$label: commit calls: $(jq -c '[.calls[] | select(.path | endswith("/commit/")) | [.at_ms, .status, .fault]]' <<<"$SB_BODY" | head -c 1500)"
    fi
    expect_coins alice "$coins" "$label: each delivered once"
}

# --- killed in the middle, restarted -------------------------------------------------------
FAILS=$((3 * N))
batch "killed" "$FAILS"
sleep 0.5 # retry-worker is in the middle of the backoff
n_before=$(bp_calls commit)
pm_kill9_retry_worker
f=$(sb GET /sandbox/faults && jq -r '[.faults[].remaining] | add // 0' <<<"$SB_BODY")
((f > 0))
check $? "retry-worker is SIGKILLed with commit failures still to come" "$f failures left, $n_before commit calls so far"
pm_note "retry-worker SIGKILLed after $n_before commit calls, $f failures still armed"
sleep 1.5
pm_note "commit calls 1.5 s later, no retry-worker running: $(bp_calls commit)"
pm_start_retry_worker
confirm_all "killed"
settled "killed and restarted" "$FAILS" 30

# --- two at once -----------------------------------------------------------------------------
pm_start_retry_worker
[[ $(wc -w <<<"$RW_PIDS") == 2 ]]
check $? "two retry-workers run" "RW_PIDS=$RW_PIDS"
batch "two copies" "$FAILS"
confirm_all "two copies"
settled "two copies" "$FAILS" 30

# --- two at once, one killed ------------------------------------------------------------------
batch "one of two killed" "$FAILS"
sleep 0.5
pm_kill9_retry_worker "${RW_PIDS%% *}"
confirm_all "one of two killed"
settled "one of two killed" "$FAILS" 30

# --- killed again and again ----------------------------------------------------------------------
batch "killed three times" "$FAILS"
for k in 1 2 3; do
    sleep 0.4
    pm_restart_retry_worker
done
confirm_all "killed three times"
settled "killed three times" "$FAILS" 30

[[ $(pm_ledger_len alice) == $((4 * N)) ]]
check $? "one ledger entry per checkout" "$(pm_ledger_len alice) entries"
expect_alive "at the end" $(pm_store_pids)
