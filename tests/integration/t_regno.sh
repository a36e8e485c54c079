#!/usr/bin/env bash
# Registration numbers (seed 004, POST /gen-reg-no/): the seed's answer
# shape, the operator's format, and "unique forever": 1000 calls from 20
# clients at once, in random and sequential mode, with payment-core
# SIGKILLed and restarted in the middle, give 1000 different numbers (every
# 200, before and after the restart); a client that got 503 in the outage
# simply asks again.
. "$(dirname "$0")/lib.sh"

CLIENTS=20
PER_CLIENT=50
pm_start_core
pm_start_gateway
alice=$(pm_token alice)
pm_ctl regno-type add --id 9 --name sale_order_invoice_code --prefix ANS --length 8 \
    --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null
check $? "paymentctl regno-type add" ""
pm_ctl regno-type list | jq -e 'length == 1 and .[0].id == 9 and .[0].prefix == "ANS"' >/dev/null
check $? "paymentctl regno-type list shows the type" "$(pm_ctl regno-type list)"

gen() { # gen BODY: POST /gen-reg-no/ as alice
    http POST /gen-reg-no/ -t "$alice" -d "$1"
}
gen '{"RegNumTypeId": 9, "random_mode": 1, "RegNumTypeName": "sale_order_invoice_code"}'
expect_status 200 "random gen-reg-no"
expect_jq '.status == 1 and .message == "Pred Reg_no generation" and (.data | test("^ANS[0-9A-HJ-NP-Z]{8}$"))' \
    "the seed's shape, the type's format"
gen '{"RegNumTypeId": 9, "random_mode": 0, "RegNumTypeName": ""}'
expect_status 200 "sequential gen-reg-no"
expect_jq '.data == "ANS00000000"' "the first sequential number"
gen '{"RegNumTypeId": 77, "random_mode": 1}'
expect_status 404 "unknown type"
expect_jq '.status == 0 and .code == "not_found"' "the family's error shape"
gen '{"RegNumTypeId": 9}'
expect_status 400 "random_mode missing"
http POST /gen-reg-no/ -d '{"RegNumTypeId": 9, "random_mode": 1}'
expect_status 401 "no token"

# 1000 numbers from 20 clients, half random, half sequential; payment-core
# is SIGKILLed while they run. A 503 is retried (100 ms apart, for at most
# 30 s a call): the outage, not a wrong answer.
client() {
    local c=$1 i mode code until
    for ((i = 1; i <= PER_CLIENT; i++)); do
        mode=$(((c + i) % 2))
        until=$((SECONDS + 30))
        while ((SECONDS < until)); do
            code=$(curl -s --noproxy '*' --max-time 10 -o "$PM_TMP/r.$c" -w '%{http_code}' \
                -H "x_auth_token: $alice" \
                --data-binary "{\"RegNumTypeId\": 9, \"random_mode\": $mode}" "$BASE/gen-reg-no/")
            [[ $code == 503 || $code == 000 ]] || break
            sleep 0.1
        done
        if [[ $code == 200 ]]; then
            jq -r .data "$PM_TMP/r.$c" >>"$PM_TMP/numbers.$c"
        else
            echo "client $c call $i: $code $(head -c 200 "$PM_TMP/r.$c")" >>"$PM_TMP/errors.$c"
        fi
    done
}
pids=()
for ((c = 1; c <= CLIENTS; c++)); do
    : >"$PM_TMP/numbers.$c"
    : >"$PM_TMP/errors.$c"
    client "$c" &
    pids+=($!)
done
sleep 0.5
before=$(cat "$PM_TMP"/numbers.* | wc -l)
pm_kill9 "$CORE_PID"
sleep 0.3
pm_start_core
wait "${pids[@]}"
errors=$(cat "$PM_TMP"/errors.*)
total=$(cat "$PM_TMP"/numbers.* | wc -l)
distinct=$(cat "$PM_TMP"/numbers.* | sort -u | wc -l)
pm_note "$total numbers from $CLIENTS clients ($before before the SIGKILL), $distinct distinct"
[[ -z $errors ]]
check $? "every call answered 200 (503s in the outage retried)" "$(head -n 3 <<<"$errors")"
((total == CLIENTS * PER_CLIENT && distinct == total))
check $? "$((CLIENTS * PER_CLIENT)) numbers, all different, across the restart" "$total numbers, $distinct distinct"
# The two given before the stream are not given again either.
dups=$(cat "$PM_TMP"/numbers.* | grep -c '^ANS00000000$')
((dups == 0))
check $? "no number of before the stream comes again" "ANS00000000 given $dups more times"
issued=$(pm_ctl regno-type list | jq '.[0].issued')
((issued >= CLIENTS * PER_CLIENT + 2))
check $? "the type counts every number it gave" "issued $issued"
expect_alive "after the stream"
