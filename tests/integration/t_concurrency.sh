#!/usr/bin/env bash
# Many requests in flight at once, checked without depending on timing:
#   - read your writes: once a create is acknowledged, a retrieve on a new
#     connection sees it (group commit acknowledges only committed writes);
#   - the same idempotency token sent by 16 clients at once creates one
#     payment: every 200 carries the same transaction_id, the others are
#     409 conflict (docs/api.md allows it while the first is in flight).
. "$(dirname "$0")/lib.sh"

CLIENTS=8
PER_CLIENT=25
pm_start_core
pm_methods bob $(for ((i = 1; i <= PER_CLIENT; i++)); do printf 'r%s ' "$i"; done)
pm_start_gateway
svc=$(pm_token concurrency-test service)
payments0=$(pm_stat payments)

client() {
    local c=$1 i code tx
    for ((i = 1; i <= PER_CLIENT; i++)); do
        code=$(curl -s --noproxy '*' --max-time 10 -o "$PM_TMP/c.$c.body" -w '%{http_code}' \
            -H "x_auth_token: $svc" \
            --data-binary "$(create_body "conc-$c-$i" "s$c" "r$i" "$i.0$c" EUR)" \
            "$BASE/api/v1/payment/create")
        tx=$(sed -n 's/.*"transaction_id": *"\([^"]*\)".*/\1/p' "$PM_TMP/c.$c.body")
        if [[ $code != 200 || -z $tx ]]; then
            echo "create conc-$c-$i: $code $(head -c 200 "$PM_TMP/c.$c.body")"
            continue
        fi
        code=$(curl -s --noproxy '*' --max-time 10 -o "$PM_TMP/c.$c.get" -w '%{http_code}' \
            -H "x_auth_token: $svc" "$BASE/api/v1/payment/$tx/retrieve/status")
        [[ $code == 200 ]] || echo "retrieve right after create of $tx: $code $(head -c 200 "$PM_TMP/c.$c.get")"
    done >"$PM_TMP/errors.$c"
}

pids=()
for ((c = 1; c <= CLIENTS; c++)); do
    client "$c" &
    pids+=($!)
done
wait "${pids[@]}"
errors=$(cat "$PM_TMP"/errors.*)
[[ -z $errors ]]
check $? "$((CLIENTS * PER_CLIENT)) concurrent creates, each visible right after its 200" "$(head -n 5 <<<"$errors")"
payments1=$(pm_stat payments)
((payments1 == payments0 + CLIENTS * PER_CLIENT))
check $? "exactly $((CLIENTS * PER_CLIENT)) payments" "stats says $((payments1 - payments0))"

# One token, sixteen clients at once.
body=$(create_body "$(pm_uuid)" alice bob 9.99 USD)
pids=()
for ((c = 1; c <= 16; c++)); do
    curl -s --noproxy '*' --max-time 10 -o "$PM_TMP/dup.$c" -w '%{http_code}\n' \
        -H "x_auth_token: $svc" --data-binary "$body" "$BASE/api/v1/payment/create" >"$PM_TMP/dupcode.$c" &
    pids+=($!)
done
wait "${pids[@]}"
ok=0 conflict=0 other=""
for ((c = 1; c <= 16; c++)); do
    case $(cat "$PM_TMP/dupcode.$c") in
    200) ok=$((ok + 1)) ;;
    409) conflict=$((conflict + 1)) ;;
    *) other+="$(cat "$PM_TMP/dupcode.$c") $(head -c 200 "$PM_TMP/dup.$c"); " ;;
    esac
done
pm_note "same token from 16 clients: $ok × 200, $conflict × 409"
[[ -z $other && $ok -ge 1 ]]
check $? "same token at once: only 200 and 409" "$other (200: $ok)"
ids=$(for ((c = 1; c <= 16; c++)); do
    [[ $(cat "$PM_TMP/dupcode.$c") == 200 ]] && cat "$PM_TMP/dup.$c" && echo
done | sort -u | wc -l)
((ids == 1))
check $? "every 200 is the same body" "$ids different bodies"
((conflict == 0)) || jq -e '.code == "conflict"' "$PM_TMP/dup.$(grep -l 409 "$PM_TMP"/dupcode.* | head -n1 | sed 's/.*\.//')" >/dev/null
check $? "a 409 says conflict" "$(cat "$PM_TMP"/dup.* | head -c 300)"
payments2=$(pm_stat payments)
((payments2 == payments1 + 1))
check $? "sixteen copies created one payment" "stats says $((payments2 - payments1))"
expect_alive "after concurrency"
