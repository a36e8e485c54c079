#!/usr/bin/env bash
# A store that fills up under load (a real MDB_MAP_FULL, not an injected one).
#
# payment-core runs with the smallest map it accepts (16 MiB) and is sent
# creates 1000 at a time, far more than fit, straight on its api socket
# (bin/pm-load, a load client). Group commit puts hundreds of creates in one
# batch, so the map fills in the middle of a batch: the batch's first pass
# fails on a write, and the batch runs again with each request in its own
# child transaction (docs/design.md). Afterwards:
#   - the core is alive and still answers reads;
#   - the payments stored are exactly the creates acknowledged: none
#     acknowledged is missing, none refused was stored;
#   - acknowledged payments read back through the gateway;
#   - a refused create gets 503 "unavailable" naming the storage.
. "$(dirname "$0")/lib.sh"

# The load client is a release build whichever variant of the daemons runs.
LOAD=${PM_LOAD:-bin/pm-load}
[[ -x $LOAD ]] || pm_fatal "$LOAD is missing (make test builds it)"

pm_start_core --map-size-mb 16
pm_methods bench-merchant bob # pm-load pays bench-merchant by card-1
pm_start_gateway
svc=$(pm_token full-test service)
alice=$(pm_token alice)

"$LOAD" --endpoint "tcp://127.0.0.1:$CORE_PORT" --token "$svc" --count 60000 --inflight 1000 \
    --tag full --ids-out "$PM_TMP/ids" --ids-every 1 >"$PM_TMP/load.json" 2>"$PM_TMP/load.err"
load_rc=$?
ok=$(jq -r .ok "$PM_TMP/load.json" 2>/dev/null)
errors=$(jq -r .errors "$PM_TMP/load.json" 2>/dev/null)
pm_note "60000 creates 1000 at a time: ${ok:-?} acknowledged, ${errors:-?} refused; $(cat "$PM_TMP/load.err")"
[[ $load_rc == 1 && ${ok:-0} -gt 1000 && ${errors:-0} -gt 1000 ]]
check $? "the map fills part way: some creates acknowledged, the rest refused" "exit $load_rc, $(cat "$PM_TMP/load.json")"
grep -q "storage" "$PM_TMP/load.err"
check $? "the refusal names the storage" "$(cat "$PM_TMP/load.err")"
expect_alive "after the map filled" "$CORE_PID"

stored=$(pm_stat payments)
[[ $stored == "$ok" ]]
check $? "payments stored = creates acknowledged" "stored $stored, acknowledged $ok"
[[ $(wc -l <"$PM_TMP/ids") == "$ok" ]]
check $? "one id per acknowledged create" "$(wc -l <"$PM_TMP/ids") ids"
[[ $(pm_stat batches_redone) -ge 1 ]]
check $? "the batch the map filled in ran a second time, a child per request" "stats: $(pm_ctl stats)"

# Acknowledged payments read back: the first, one from the middle, the last.
n=$(wc -l <"$PM_TMP/ids")
for line in 1 $(((n + 1) / 2)) "$n"; do
    id=$(sed -n "${line}p" "$PM_TMP/ids")
    http GET "/api/v1/payment/$id/retrieve" -t "$svc"
    expect_status 200 "acknowledged payment $line of $n reads back"
done

# Creates one at a time use the last free pages, then are refused too.
"$LOAD" --endpoint "tcp://127.0.0.1:$CORE_PORT" --token "$svc" --count 3000 --inflight 1 \
    --tag full-single >"$PM_TMP/load2.json" 2>"$PM_TMP/load2.err"
ok2=$(jq -r .ok "$PM_TMP/load2.json" 2>/dev/null)
errors2=$(jq -r .errors "$PM_TMP/load2.json" 2>/dev/null)
pm_note "then 3000 creates one at a time: ${ok2:-?} acknowledged, ${errors2:-?} refused"
[[ ${errors2:-0} -gt 0 ]]
check $? "single creates are refused too once the last pages are used" "$(cat "$PM_TMP/load2.json")"
stored=$(pm_stat payments)
[[ $stored == $((ok + ${ok2:-0})) ]]
check $? "payments stored = all creates acknowledged" "stored $stored, acknowledged $ok + $ok2"

# Whether one more create fits depends on the pages it needs (alice's
# idempotency keys sit in other B-tree leaves than the loader's): either it
# is stored and answered 200, or it is refused with a clear 503 and stored
# nothing.
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$(pm_uuid)" alice bob 1.00)"
if [[ $RESP_STATUS == 503 ]]; then
    expect_error 503 unavailable "a create into the full store through the gateway" "storage"
    want=$stored
else
    expect_status 200 "a create into the full store through the gateway (it fitted)"
    want=$((stored + 1))
fi
[[ $(pm_stat payments) == "$want" ]]
check $? "the gateway's create is stored if and only if it was acknowledged" "stats: $(pm_ctl stats)"
expect_alive "end"
