#!/usr/bin/env bash
# provider-bazaar killed (SIGKILL) while a validation is in flight: the job is
# leased again after payment-core's --job-lease-ms, a restarted copy takes it,
# and the app's retry completes the purchase with exactly one credit. Then
# two copies share a stream of redeems and one is killed among them.
. "$(dirname "$0")/lib.sh"

LEASE_MS=1500
pm_start_store --core --job-lease-ms "$LEASE_MS" -- --provider --http-timeout-ms 5000 --
alice=$(pm_token alice)
bob=$(pm_token bob)
pm_package coins_100 "100 coins" 1000 coin 100

# --- kill during a slow validate -------------------------------------------------------
store_open "$alice" coins_100
p=$SERIAL
t=$(sb_buy coins_100)
sb_clear_calls
sb_fault '{"service":"bazaar","kind":"delay","delay_ms":3000,"count":1,"match":"validate"}'
PM_BG_MAX_TIME_S=20 bg_redeem "$alice" "$p" "$t" "$PM_TMP/first"
bg=$BG_PID
sleep 1 # the provider has taken the job and waits on the slow sandbox
pm_kill9 "$PB_PID"
pm_note "provider-bazaar killed with a validate in flight"
wait "$bg" 2>/dev/null
PM_HELPER_PIDS=""
s=$(cat "$PM_TMP/first.status" 2>/dev/null)
[[ $s == 503 ]] && jq -e '.code == "unavailable"' "$PM_TMP/first.body" >/dev/null 2>&1
check $? "with no provider left the app gets 503 unavailable" "got $s $(head -c 200 "$PM_TMP/first.body" 2>/dev/null)"
expect_coins alice 0 "nothing credited while no provider runs"
pm_start_provider_bazaar --http-timeout-ms 5000
store_redeem_retry "$alice" "$p" "$t" 15
expect_status 200 "the app's retry completes after a restart ($TRIES tries)"
expect_jq '. == {"coins": 100}' "100 coins"
expect_coins alice 100 "credited once"
[[ $(pm_ledger_len alice) == 1 ]]
check $? "one ledger entry" "$(pm_ledger_len alice) entries"
wait_until 10 sb_consumed "$t"
check $? "the purchase is consumed afterwards" "sandbox: $(head -c 300 "$PM_TMP/sb.body")"
store_redeem "$alice" "$p" "$t"
expect_jq '. == {"coins": 100}' "a further retry answers the same"
sleep $((LEASE_MS * 2 / 1000 + 1)) # a stale lease must not credit again
expect_coins alice 100 "still credited once after the lease expired again"

# --- killed with several jobs leased; two copies ----------------------------------------------
pm_start_provider_bazaar --http-timeout-ms 5000
N=8
PM_HELPER_PIDS=""
pids=()
declare -a serials tokens
for ((i = 0; i < N; i++)); do
    store_open "$bob" coins_100
    serials[i]=$SERIAL
    tokens[i]=$(sb_buy coins_100)
done
sb_fault '{"service":"bazaar","kind":"delay","delay_ms":1500,"count":4,"match":"validate"}'
for ((i = 0; i < N; i++)); do
    PM_BG_MAX_TIME_S=20 bg_redeem "$bob" "${serials[i]}" "${tokens[i]}" "$PM_TMP/bob.$i"
    pids+=("$BG_PID")
done
sleep 0.7
victim=${PB_PIDS%% *}
for p_ in $PB_PIDS; do pm_alive "$p_" && victim=$p_ && break; done
pm_kill9 "$victim"
for p_ in "${pids[@]}"; do wait "$p_" 2>/dev/null; done
PM_HELPER_PIDS=""
pm_start_provider_bazaar --http-timeout-ms 5000
all=1 bad=""
for ((i = 0; i < N; i++)); do
    store_redeem_retry "$bob" "${serials[i]}" "${tokens[i]}" 15
    [[ $RESP_STATUS == 200 ]] || { all=0; bad+=" $i:$RESP_STATUS"; }
done
((all))
check $? "every one of $N purchases completes on retry after the kill" "$bad"
expect_coins bob $((N * 100)) "bob credited exactly once per purchase"
[[ $(pm_ledger_len bob) == "$N" ]]
check $? "bob's ledger: $N entries" "$(pm_ledger_len bob) entries"
expect_ledger bob "bob's ledger explains his balance"
expect_alive "after the kills" $(pm_store_pids)
