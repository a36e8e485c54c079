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
pm_start_bazaarpay --core --job-lease-ms "$LEASE_MS" --
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 50000 coin 100
coins=0

# batch NAME FAILS: N paid, delivered checkouts whose commits fail FAILS
# times in all (500); their tokens in BATCH.
batch() {
    BATCH=()
    local i
    for ((i = 0; i < N; i++)); do
        bp_checkout "$alice" coins_100
        BATCH+=("$CO")
        sbp pay "$CO"
    done
    sb_clear_calls
    sb_fault "{\"service\":\"bazaarpay\",\"kind\":\"status\",\"status\":500,\"count\":$2,\"match\":\"commit\"}"
    local bad=""
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
    ((calls == fails + N))
    check $? "$label: $((fails + N)) commit calls in all ($fails failed + $N)" "$calls commit calls"
    pm_note "$label: $N checkouts committed, $calls commit calls for $fails injected failures, settled in $((SECONDS - t0 + 1)) s"
    sb GET /sandbox/faults
    jq -e '(.faults | length) == 0' <<<"$SB_BODY" >/dev/null
    check $? "$label: every injected failure was met" "faults left: $SB_BODY"
    expect_coins alice "$coins" "$label: each delivered once"
}

# --- killed in the middle, restarted -------------------------------------------------------
FAILS=$((2 * N))
batch "killed" "$FAILS"
sleep 0.6 # retry-worker is in the middle of the backoff
pm_kill9_retry_worker
pm_note "retry-worker SIGKILLed with commits pending"
n_before=$(bp_calls commit)
sleep 1.5
n_after=$(bp_calls commit)
pm_note "commit calls while no retry-worker ran: $n_before then $n_after"
pm_start_retry_worker
settled "killed and restarted" "$FAILS" 30

# --- two at once -----------------------------------------------------------------------------
pm_start_retry_worker
[[ $(wc -w <<<"$RW_PIDS") == 2 ]]
check $? "two retry-workers run" "RW_PIDS=$RW_PIDS"
batch "two copies" "$FAILS"
settled "two copies" "$FAILS" 30

# --- two at once, one killed ------------------------------------------------------------------
batch "one of two killed" "$FAILS"
sleep 0.5
pm_kill9_retry_worker "${RW_PIDS%% *}"
settled "one of two killed" "$FAILS" 30

# --- killed again and again ----------------------------------------------------------------------
batch "killed three times" "$FAILS"
for k in 1 2 3; do
    sleep 0.4
    pm_restart_retry_worker
done
settled "killed three times" "$FAILS" 30

[[ $(pm_ledger_len alice) == $((4 * N)) ]]
check $? "one ledger entry per checkout" "$(pm_ledger_len alice) entries"
expect_alive "at the end" $(pm_store_pids)
