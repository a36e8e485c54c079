#!/usr/bin/env bash
# The same confirm from several clients at once (the app retries, the user
# has two tabs): every one gets 200 delivered with the same balance, and the
# package is delivered once, committed once. Also the confirms of several
# checkouts of one user at once: each delivered once. Two provider-bazaar
# copies share the calls.
. "$(dirname "$0")/lib.sh"

ROUNDS=${PM_BP_ROUNDS:-4}
N=${PM_BP_CLIENTS:-6}
pm_start_bazaarpay
pm_start_provider_bazaar # a second copy
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 50000 coin 100

wait_bg() {
    local p
    for p in "$@"; do wait "$p" 2>/dev/null; done
    PM_HELPER_PIDS=""
}

# --- one checkout, N confirms at once ----------------------------------------------------------
coins=0 bad="" cos=()
for ((r = 1; r <= ROUNDS; r++)); do
    bp_checkout "$alice" coins_100
    co=$CO
    cos+=("$co")
    sbp pay "$co"
    pids=()
    for ((i = 0; i < N; i++)); do
        bg_confirm "$alice" "$co" "$PM_TMP/c.$r.$i"
        pids+=("$BG_PID")
    done
    wait_bg "${pids[@]}"
    coins=$((coins + 100))
    for ((i = 0; i < N; i++)); do
        s=$(cat "$PM_TMP/c.$r.$i.status" 2>/dev/null)
        if [[ $s == 503 ]]; then # the app retries a 503
            bp_confirm_until "$alice" "$co" 10
            s=$RESP_STATUS
            cp "$PM_TMP/resp.body" "$PM_TMP/c.$r.$i.body"
        fi
        [[ $s == 200 ]] && jq -e --argjson c "$coins" '.state == "delivered" and .coins == $c' "$PM_TMP/c.$r.$i.body" >/dev/null 2>&1 ||
            bad+=" round $r client $i: $s $(head -c 150 "$PM_TMP/c.$r.$i.body" 2>/dev/null);"
    done
done
[[ -z $bad ]]
check $? "$ROUNDS rounds of $N simultaneous confirms: every one 200 delivered with the same balance" "$bad"
expect_coins alice "$coins" "each checkout delivered once ($coins coins)"
[[ $(pm_ledger_len alice) == "$ROUNDS" ]]
check $? "one ledger entry per checkout" "$(pm_ledger_len alice) entries for $ROUNDS checkouts"
notc=""
for co in "${cos[@]}"; do
    bp_wait_state "$alice" "$co" committed 15 || notc+=" $co:$BP_LAST_STATE"
done
[[ -z $notc ]]
check $? "every checkout ends committed" "$notc"
sleep 1
multi=""
for co in "${cos[@]}"; do
    [[ $(sbp_field "$co" commits) == 1 ]] || multi+=" $co: $(sb_last)"
done
[[ -z $multi ]]
check $? "one commit each at BazaarPay" "$multi"

# --- several checkouts of one user, confirmed at once ---------------------------------------------
K=6
before=$(pm_coins alice)
pids=() many=()
for ((i = 0; i < K; i++)); do
    bp_checkout "$alice" coins_100
    many+=("$CO")
    sbp pay "$CO"
done
for ((i = 0; i < K; i++)); do
    bg_confirm "$alice" "${many[i]}" "$PM_TMP/m.$i"
    pids+=("$BG_PID")
done
wait_bg "${pids[@]}"
ok=0 seen=""
for ((i = 0; i < K; i++)); do
    s=$(cat "$PM_TMP/m.$i.status" 2>/dev/null)
    if [[ $s == 503 ]]; then
        bp_confirm_until "$alice" "${many[i]}" 10
        s=$RESP_STATUS
        cp "$PM_TMP/resp.body" "$PM_TMP/m.$i.body"
    fi
    [[ $s == 200 ]] && ok=$((ok + 1))
    seen+=" $(jq -r '.coins // "-"' "$PM_TMP/m.$i.body" 2>/dev/null)"
done
((ok == K))
check $? "$K checkouts confirmed at once: all 200" "$ok of $K"
# The balances answered are the K distinct steps from before+100 to before+K*100.
want=$(seq $((before + 100)) 100 $((before + K * 100)) | jq -sc 'sort')
got=$(tr ' ' '\n' <<<"$seen" | grep -v '^$' | jq -sc 'map(tonumber? // -1) | sort')
[[ $got == "$want" ]]
check $? "each answer shows its own step of the balance" "answers $got, want $want"
expect_coins alice $((before + K * 100)) "each delivered once"
expect_ledger alice "the ledger explains the balance"
expect_alive "at the end" $(pm_store_pids)
