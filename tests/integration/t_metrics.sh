#!/usr/bin/env bash
# Health and metrics (docs/operations.md "Health and metrics"): /healthz
# answers without a token or payment-core; /readyz is 200 while payment-core
# answers with a writable store, 503 (saying which) with payment-core down,
# and 200 again once it is back; /metrics is Prometheus text whose request
# counts grow, whose histogram buckets are cumulative, which counts a store
# purchase's provider job outcomes and shows LMDB map use within 0..100.
. "$(dirname "$0")/lib.sh"

pm_start_store --gateway --core-timeout-ms 500
alice=$(pm_token alice)

# metric SAMPLE: the value of the sample line "SAMPLE VALUE" of the last
# body (empty when absent).
metric() {
    awk -v s="$1" 'index($0, s " ") == 1 { print $NF; exit }' "$PM_TMP/resp.body"
}

# --- liveness and readiness -----------------------------------------------------
http GET /healthz
expect_status 200 "healthz: 200"
expect_jq '. == {"status": "ok"}' "healthz: {\"status\":\"ok\"}"
expect_header Content-Type 'application/json' "healthz: JSON"

http GET /readyz
expect_status 200 "readyz: 200 with payment-core up"
expect_json .storage writable "readyz: storage writable"
expect_jq '.map_used_pct >= 0 and .map_used_pct < 100' "readyz: map_used_pct within 0..100"

# --- metrics after some traffic -------------------------------------------------
http GET /metrics
expect_status 200 "metrics: 200 without a token"
expect_header Content-Type 'text/plain; version=0\.0\.4.*' "metrics: Prometheus text 0.0.4"
before=$(metric 'paymesh_http_requests_total{method="GET",route="/healthz",code="2xx"}')
[[ $before =~ ^[0-9]+$ ]] && ((before >= 1))
check $? "healthz counted (${before:-absent})" "$(head -c 600 "$PM_TMP/resp.body")"

for i in 1 2 3; do http GET /healthz; done
http GET /finance/packages -t nobody-at-all
http GET /no/such/path
pm_package coins_100 "100 coins" 1000 coin 100
store_open "$alice" coins_100
t1=$(sb_buy coins_100)
store_redeem "$alice" "$SERIAL" "$t1"
expect_status 200 "redeem a store purchase against the sandbox"

http GET /metrics
expect_status 200 "metrics again: 200"
after=$(metric 'paymesh_http_requests_total{method="GET",route="/healthz",code="2xx"}')
[[ $after =~ ^[0-9]+$ ]] && ((after >= before + 3))
check $? "healthz count grew by 3 (${before:-?} -> ${after:-?})" "$(grep healthz "$PM_TMP/resp.body" | head -3)"
[[ $(metric 'paymesh_http_requests_total{method="",route="unmatched",code="4xx"}') -ge 1 ]]
check $? "the unrouted 404 is counted" "$(grep unmatched "$PM_TMP/resp.body" | head -3)"
[[ $(metric 'paymesh_http_requests_total{method="POST",route="/finance/bazzar_paymnet",code="2xx"}') -ge 1 ]]
check $? "the redeem is counted under its route" "$(grep bazzar_paymnet "$PM_TMP/resp.body" | head -3)"

# Histograms: cumulative buckets, +Inf equals _count.
awk '
/^paymesh_http_request_duration_seconds_bucket\{/ {
    key = $0; sub(/,le="[^"]*"\}.*/, "", key)
    if (key == prev && $NF + 0 < last + 0) bad = 1
    prev = key; last = $NF
    if ($0 ~ /le="\+Inf"/) inf[key] = $NF
}
/^paymesh_http_request_duration_seconds_count\{/ {
    key = $0; sub(/\}.*/, "", key); sub(/_count\{/, "_bucket{", key)
    if (inf[key] != $NF) bad = 1
    n++
}
END { exit bad || n == 0 }' "$PM_TMP/resp.body"
check $? "latency histograms: buckets cumulative, +Inf = _count" "$(grep duration_seconds "$PM_TMP/resp.body" | head -5)"
awk '/^paymesh_core_batch_size_bucket\{/ { if ($NF + 0 < last + 0) bad = 1; last = $NF; n++ } END { exit bad || n != 10 }' \
    "$PM_TMP/resp.body"
check $? "batch size histogram: 10 cumulative buckets" "$(grep batch_size "$PM_TMP/resp.body")"
[[ $(metric paymesh_core_batch_size_count) -ge 1 && $(metric 'paymesh_core_batch_size_bucket{le="+Inf"}') == "$(metric paymesh_core_batch_size_count)" ]]
check $? "batch size: commits counted, +Inf = _count" "$(grep batch_size "$PM_TMP/resp.body")"

[[ $(metric paymesh_core_up) == 1 ]]
check $? "paymesh_core_up 1" "$(grep core_up "$PM_TMP/resp.body")"
ok=$(metric 'paymesh_provider_job_results_total{provider="bazaar",outcome="ok"}')
[[ $ok =~ ^[0-9]+$ ]] && ((ok >= 1))
check $? "bazaar job outcome ok counted (${ok:-absent})" "$(grep provider_job "$PM_TMP/resp.body" | head -8)"
n=$(metric 'paymesh_provider_job_latency_seconds_count{provider="bazaar"}')
[[ $n =~ ^[0-9]+$ ]] && ((n >= 1))
check $? "bazaar job latency counted" "$(grep provider_job_latency "$PM_TMP/resp.body" | head -4)"
pct=$(metric paymesh_lmdb_map_used_percent)
awk -v p="$pct" 'BEGIN { exit !(p != "" && p > 0 && p < 100) }'
check $? "LMDB map use between 0 and 100 ($pct)" "$(grep lmdb "$PM_TMP/resp.body")"
[[ $(metric paymesh_lmdb_file_bytes) -gt 0 && $(metric paymesh_lmdb_map_bytes) -gt 0 ]]
check $? "LMDB file and map sizes" "$(grep lmdb "$PM_TMP/resp.body")"
for f in paymesh_core_queue_depth paymesh_core_commit_seconds_total 'paymesh_jobs{state="queued"}' \
    'paymesh_jobs{state="parked"}' paymesh_retry_backlog paymesh_retry_oldest_due_age_seconds \
    paymesh_retry_parked 'paymesh_core_parked_requests{kind="taker"}'; do
    [[ $(metric "$f") =~ ^[0-9.e+-]+$ ]]
    check $? "metrics has $f" "$(head -c 300 "$PM_TMP/resp.body")"
done
# every family has one TYPE line, and each sample belongs to a declared family
awk '/^# TYPE / { if (seen[$3]++) bad = 1; fam[$3] = 1; next }
     /^#/ { next }
     { n = $1; sub(/\{.*/, "", n); b = n; sub(/_(bucket|sum|count)$/, "", b); if (!(n in fam) && !(b in fam)) bad = 1 }
     END { exit bad }' "$PM_TMP/resp.body"
check $? "metrics text: one TYPE per family, every sample declared" "$(head -c 300 "$PM_TMP/resp.body")"

# --- payment-core down, then back ------------------------------------------------
pm_stop "$CORE_PID"
http GET /readyz
expect_status 503 "readyz: 503 with payment-core down"
expect_json .core unreachable "readyz: says payment-core is unreachable"
http GET /healthz
expect_status 200 "healthz: still 200 with payment-core down"
http GET /metrics
expect_status 200 "metrics: 200 with payment-core down (the gateway's own figures)"
[[ $(metric paymesh_core_up) == 0 ]]
check $? "paymesh_core_up 0 with payment-core down" "$(grep core_up "$PM_TMP/resp.body")"

pm_start_core
ok=1
for ((i = 0; i < 100; i++)); do
    http GET /readyz
    [[ $RESP_STATUS == 200 ]] && { ok=0; break; }
    sleep 0.1
done
check $ok "readyz: 200 again after payment-core restarted" "last: $RESP_STATUS $RESP_BODY"
expect_json .core ok "readyz: core ok after the restart"
expect_alive "after the restart"
