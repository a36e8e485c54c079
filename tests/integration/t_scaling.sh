#!/usr/bin/env bash
# provider-bazaar scales out (issue 12): against a sandbox whose Cafe Bazaar
# validate call answers after a delay, store validation throughput (redeems
# per second through the gateway, with more clients than validation slots)
# grows with the number of provider-bazaar copies: 1, 2, then 4. Each copy
# runs --max-concurrency 2, so the ceiling is 2 x copies / delay; the work is
# waiting on the sandbox, not CPU, so the figures hold on a loaded machine.
# Every redeem must credit (200) and the credits must add up.
. "$(dirname "$0")/lib.sh"

DELAY_MS=${PM_SCALING_DELAY_MS:-200}
PER_COPY=${PM_SCALING_PER_COPY:-20} # redeems measured per copy
CLIENTS=24                          # more than 4 copies x 2 slots
CONC=2

pm_start_core
pm_start_gateway
pm_start_sandbox
pm_package coins_100 "100 coins" 1000 coin 100
users=()
for u in u1 u2 u3 u4; do users+=("$(pm_token "$u")"); done

now_ms() { local t=${EPOCHREALTIME/./}; printf '%s' $((t / 1000)); }

# prepare N FILE: N open purchases (4 users in turn), each with a token
# bought at the sandbox: lines "TOKEN SERIAL REF".
prepare() {
    local n=$1 out=$2 i s t pids=() k
    : >"$out"
    for k in 0 1 2 3; do
        (
            for ((i = k; i < n; i += 4)); do
                tok=${users[$((i % 4))]}
                s=$(curl -s --noproxy '*' --max-time 10 -H "x_auth_token: $tok" \
                    --data-binary '{"serial_number":"coins_100"}' "$BASE/finance/purchase" | jq -r '.serial_number // empty')
                t=$(curl -s --noproxy '*' --max-time 10 -H 'Content-Type: application/json' \
                    --data-binary "{\"package_name\":\"$PM_BAZAAR_PACKAGE\",\"sku\":\"coins_100\"}" \
                    "$SANDBOX_URL/sandbox/bazaar/purchases" | jq -r '.purchase_token // empty')
                [[ -n $s && -n $t ]] && printf '%s %s %s\n' "$tok" "$s" "$t"
            done >"$out.$k"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$out".? >"$out"
    [[ $(wc -l <"$out") == "$n" ]] || pm_fatal "prepared $(wc -l <"$out") purchases of $n"
}

# measure COPIES: redeems PER_COPY x COPIES prepared purchases with CLIENTS
# parallel clients; sets RATE (redeems/s, two decimals) and OK.
TOTAL_OK=0
measure() {
    local copies=$1 n=$(($1 * PER_COPY)) f="$PM_TMP/p.$1" c pids=() t0 t1
    prepare "$n" "$f"
    sb_clear_faults
    sb_fault "{\"service\":\"bazaar\",\"kind\":\"delay\",\"delay_ms\":$DELAY_MS,\"match\":\"validate\",\"count\":1000}"
    split -n "r/$CLIENTS" -d -a 2 "$f" "$f.c."
    t0=$(now_ms)
    for c in "$f".c.*; do
        (
            while read -r tok s t; do
                curl -s --noproxy '*' --max-time 20 -o /dev/null -w '%{http_code}\n' -H "x_auth_token: $tok" \
                    --data-binary "{\"serial_number\":\"$s\",\"ref_id\":\"$t\"}" "$BASE/finance/bazzar_paymnet/"
            done <"$c" >"$c.out"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    t1=$(now_ms)
    OK=$(cat "$f".c.*.out | grep -c '^200$')
    TOTAL_OK=$((TOTAL_OK + OK))
    RATE=$(awk -v n="$OK" -v ms="$((t1 - t0))" 'BEGIN { printf "%.2f", n * 1000 / ms }')
    pm_note "$copies provider-bazaar copies: $OK of $n redeems in $((t1 - t0)) ms: $RATE redeems/s (ceiling $(awk -v c="$copies" -v d="$DELAY_MS" -v k=$CONC 'BEGIN { printf "%.0f", c * k * 1000 / d }')/s)"
    ((OK == n))
    check $? "$copies copies: every redeem credits (200)" "$(cat "$f".c.*.out | sort | uniq -c | tr '\n' ' ')"
}

pm_start_provider_bazaar --max-concurrency "$CONC"
measure 1
r1=$RATE
pm_start_provider_bazaar --max-concurrency "$CONC"
measure 2
r2=$RATE
pm_start_provider_bazaar --max-concurrency "$CONC"
pm_start_provider_bazaar --max-concurrency "$CONC"
measure 4
r4=$RATE

# Ideal is 2x per doubling; 1.5x leaves room for a loaded machine.
awk -v a="$r1" -v b="$r2" 'BEGIN { exit !(b >= 1.5 * a) }'
check $? "2 copies validate >= 1.5x as fast as 1 ($r2 vs $r1 redeems/s)" "ratio $(awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%.2f", b / a }')"
awk -v a="$r2" -v b="$r4" 'BEGIN { exit !(b >= 1.5 * a) }'
check $? "4 copies validate >= 1.5x as fast as 2 ($r4 vs $r2 redeems/s)" "ratio $(awk -v a="$r2" -v b="$r4" 'BEGIN { printf "%.2f", b / a }')"
pm_note "scaling: 1 -> 2 copies x$(awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%.2f", b / a }'), 2 -> 4 copies x$(awk -v a="$r2" -v b="$r4" 'BEGIN { printf "%.2f", b / a }')"

sum=0
for u in u1 u2 u3 u4; do sum=$((sum + $(pm_coins "$u"))); done
((sum == TOTAL_OK * 100))
check $? "the credits add up: $TOTAL_OK redeems, $sum coins" "want $((TOTAL_OK * 100))"
