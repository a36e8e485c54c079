#!/usr/bin/env bash
# SIGKILL of payment-core in the middle of a stream of creates.
#
# Four clients each send 100 creates, every one with its own idempotency
# token, and record token, status and transaction_id. When a quarter of the
# stream is through, payment-core is killed with SIGKILL and restarted on the
# same data directory and port. Afterwards:
#   - every token that got a 2xx is retrievable with its transaction_id
#     (durable before acknowledged);
#   - retrying every token with the same body gives the same transaction_id
#     to those that got a 2xx, and succeeds for those that failed;
#   - payment-core holds exactly one payment per token (no duplicates).
. "$(dirname "$0")/lib.sh"

LOOPS=${PM_CRASH_LOOPS:-4}
PER_LOOP=${PM_CRASH_PER_LOOP:-100}
TOTAL=$((LOOPS * PER_LOOP))

pm_start_core
pm_methods $(for ((i = 1; i <= PER_LOOP; i++)); do printf 'recipient-%s ' "$i"; done)
pm_start_gateway --core-timeout-ms 1000
svc=$(pm_token crash-test service)

tok_of() { printf 'crash-%s-%s' "$1" "$2"; }
body_of() { create_body "$(tok_of "$1" "$2")" "sender-$1" "recipient-$2" "$2.$(printf '%02d' $(($2 % 100)))" USD; }
# post_create TOKEN BODY OUTFILE: prints "status transaction_id" ("-" when
# none); status 000 when no answer came.
post_create() {
    local code
    code=$(curl -s --noproxy '*' --max-time 5 -o "$3" -w '%{http_code}' \
        -H "x_auth_token: $1" --data-binary "$2" "$BASE/api/v1/payment/create")
    local tx
    tx=$(sed -n 's/.*"transaction_id": *"\([^"]*\)".*/\1/p' "$3")
    printf '%s %s\n' "${code:-000}" "${tx:--}"
}

client() {
    local l=$1 i
    for ((i = 1; i <= PER_LOOP; i++)); do
        printf '%s %s\n' "$(tok_of "$l" "$i")" "$(post_create "$svc" "$(body_of "$l" "$i")" "$PM_TMP/client.$l.body")"
    done >"$PM_TMP/stream.$l"
}

acked() { cat "$PM_TMP"/stream.* 2>/dev/null | awk '$2 ~ /^2/' | wc -l; }
sent() { cat "$PM_TMP"/stream.* 2>/dev/null | wc -l; }

t0=$SECONDS
PM_HELPER_PIDS=""
for ((l = 1; l <= LOOPS; l++)); do
    client "$l" &
    PM_HELPER_PIDS+=" $!"
done

# Kill when a quarter of the stream has an answer (bounded wait).
for ((i = 0; i < 600; i++)); do
    (($(sent) >= TOTAL / 4)) && break
    sleep 0.05
done
acked_before=$(acked)
pm_kill9 "$CORE_PID"
sleep 1 # an outage the clients see: the gateway answers 503 meanwhile
pm_start_core

# Wait for the clients, 120 s at most.
for ((i = 0; i < 1200; i++)); do
    running=0
    for p in $PM_HELPER_PIDS; do pm_alive "$p" && running=1; done
    ((running)) || break
    sleep 0.1
done
for p in $PM_HELPER_PIDS; do
    if pm_alive "$p"; then
        kill -TERM "$p" 2>/dev/null
        RESP_REQ=""
        fail "client pid $p" "still running after 120 s; stopped"
    fi
    wait "$p" 2>/dev/null
done
PM_HELPER_PIDS=""

cat "$PM_TMP"/stream.* >"$PM_TMP/stream"
n_sent=$(wc -l <"$PM_TMP/stream")
n_acked=$(awk '$2 ~ /^2/' "$PM_TMP/stream" | wc -l)
n_failed=$((n_sent - n_acked))
pm_note "stream: $n_sent sent in $((SECONDS - t0)) s; $acked_before acked before the kill, $n_acked acked in all, $n_failed failed around the outage"
pm_note "statuses seen: $(awk '{print $2}' "$PM_TMP/stream" | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
((n_sent == TOTAL))
check $? "every request of the stream was sent" "$n_sent of $TOTAL"
((acked_before > 0))
check $? "some creates were acknowledged before the kill" "none were"
awk '$2 !~ /^(2..|503|000)$/ { bad = 1 } END { exit bad }' "$PM_TMP/stream"
check $? "the stream saw only 2xx, 503 or no answer" "$(awk '$2 !~ /^(2..|503|000)$/' "$PM_TMP/stream" | head -n 5 | tr '\n' ';')"
awk '$2 ~ /^2/ && $3 == "-" { bad = 1 } END { exit bad }' "$PM_TMP/stream"
check $? "every 2xx carried a transaction_id" "$(awk '$2 ~ /^2/ && $3 == "-"' "$PM_TMP/stream" | head -n 3)"

# Wait until the gateway reaches the restarted core.
for ((i = 0; i < 100; i++)); do
    http GET /api/v1/payment/00000000-0000-4000-8000-000000000000/retrieve/status -t "$svc"
    [[ $RESP_STATUS == 404 ]] && break
    sleep 0.1
done

# After the restart a 503 means "try again" (a request timed out on a busy
# machine), never an answer: the checks below retry it a bounded number of
# times, as a client would, and then demand the exact answer.
retrieve_retrying() {
    local k
    for ((k = 0; k < 5; k++)); do
        http GET "/api/v1/payment/$1/retrieve" -t "$svc"
        [[ $RESP_STATUS == 503 || $RESP_STATUS == 000 ]] || return 0
        sleep 0.2
    done
}
post_create_retrying() {
    local k out
    for ((k = 0; k < 5; k++)); do
        out=$(post_create "$@")
        [[ ${out%% *} == 503 || ${out%% *} == 000 ]] || break
        sleep 0.2
    done
    printf '%s\n' "$out"
}

# Every acknowledged create survived the SIGKILL.
lost=0
while read -r tok code tx; do
    [[ $code == 2* ]] || continue
    retrieve_retrying "$tx"
    if [[ $RESP_STATUS != 200 ]] || [[ $(jq -r .payment.transaction_id "$PM_TMP/resp.body" 2>/dev/null) != "$tx" ]]; then
        lost=$((lost + 1))
        ((lost <= 5)) && fail "acknowledged $tok ($tx) retrievable" "status $RESP_STATUS"
    fi
done <"$PM_TMP/stream"
check $lost "all $n_acked acknowledged payments retrievable after SIGKILL" "$lost lost"

# Retry every token with its body.
mismatch=0 still_failing=0
: >"$PM_TMP/final"
for ((l = 1; l <= LOOPS; l++)); do
    for ((i = 1; i <= PER_LOOP; i++)); do
        tok=$(tok_of "$l" "$i")
        read -r code tx < <(post_create_retrying "$svc" "$(body_of "$l" "$i")" "$PM_TMP/retry.body")
        printf '%s %s\n' "$tok" "$tx" >>"$PM_TMP/final"
        first=$(awk -v t="$tok" '$1 == t { print $2, $3 }' "$PM_TMP/stream")
        if [[ $code != 200 || $tx == - ]]; then
            still_failing=$((still_failing + 1))
            ((still_failing <= 5)) && { RESP_REQ=""; fail "retry of $tok" "status $code (first: $first)"; }
        elif [[ ${first%% *} == 2* && ${first#* } != "$tx" ]]; then
            mismatch=$((mismatch + 1))
            ((mismatch <= 5)) && { RESP_REQ=""; fail "retry of $tok" "transaction_id $tx, first answer $first"; }
        fi
    done
done
check $still_failing "every retry succeeded ($TOTAL tokens, $n_failed had failed)" "$still_failing did not"
check $mismatch "retries of acknowledged tokens gave the same transaction_id" "$mismatch differ"

distinct=$(awk '$2 != "-" { print $2 }' "$PM_TMP/final" | sort -u | wc -l)
((distinct == TOTAL))
check $? "one distinct transaction_id per token" "$distinct distinct for $TOTAL tokens"
payments=$(pm_stat payments)
((payments == TOTAL))
check $? "payment-core holds $TOTAL payments, one per token (no duplicates)" "stats says $payments"
pm_note "after retries: $payments payments for $TOTAL tokens; $((SECONDS - t0)) s in all"
expect_alive "after the crash test"
