#!/usr/bin/env bash
# check.sh RUN_DIR: the checker of a chaos run (tests/chaos/README.md).
#
# Reads RUN_DIR/log.jsonl (pm-chaos's client log) and RUN_DIR/env (written by
# chaos.sh: the gateway, the sandbox, paymentctl and the data directory),
# takes snapshots of paymesh's state (gateway GETs with a service token,
# paymentctl ... --json) and of the sandbox's records into RUN_DIR/snap/,
# then evaluates every invariant in tests/chaos/check.jq against them.
# Writes RUN_DIR/violations.jsonl (one object per violation) and
# RUN_DIR/figures.txt, prints the figures, and exits 1 when there is any
# violation (2 when it could not check). The daemons must still run.
set -uo pipefail
RUN=${1:?usage: check.sh RUN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$RUN/env" || exit 2
LOG=$RUN/log.jsonl
S=$RUN/snap
mkdir -p "$S"
SVC=$(awk '$1 == "service" { print $3 }' "$RUN/tokens.txt")
[[ -s $LOG && -n $SVC ]] || { echo "check: no client log or no service token in $RUN" >&2; exit 2; }

ctl() { timeout 20 "$PAYMENTCTL" --data-dir "$DATA" "$@" 2>>"$S/paymentctl.err"; }

# fetch_many BASE HEADER < PATHS: GETs every path (one curl, keep-alive, each
# transfer bounded) and prints {"path","status","body"} a line.
fetch_many() {
    local base=$1 header=$2 cfg
    cfg=$(mktemp "$S/curl.XXXXXX")
    sort -u | while IFS= read -r p; do
        [[ -n $p ]] && printf 'url = "%s%s"\n' "$base" "$p"
    done >"$cfg"
    if [[ -s $cfg ]]; then
        curl -sS --noproxy '*' --max-time 10 -H "$header" -K "$cfg" \
            -w '\n@@chaos@@ %{http_code} %{url_effective}\n' 2>>"$S/curl.err" |
            jq -R -n -c --arg b "$base" '
                foreach inputs as $l ({buf: "", out: null};
                    if ($l | startswith("@@chaos@@ ")) then
                        ($l[10:] | split(" ")) as $m
                        | {buf: "", out: {status: ($m[0] | tonumber), path: ($m[1] | ltrimstr($b)),
                                          body: (.buf as $x | (try ($x | fromjson) catch $x))}}
                    else {buf: (.buf + $l), out: null} end;
                    .out // empty)'
    fi
    rm -f "$cfg"
}

t0=$(date +%s%3N)
# --- what the clients know ----------------------------------------------------
jq -r 'select(.family == "core" and .op == "create" and .status == 200 and .replay_of == null)
       | .resp.transaction_id // empty' "$LOG" | sort -u >"$S/payment_ids"
jq -r 'select(.family == "bazaarpay" and .op == "checkout" and .status == 200) | .resp.checkout_token // empty' \
    "$LOG" | sort -u >"$S/checkout_tokens"
jq -r 'select(.family == "orders" and .op == "invoice" and (.status / 100 | floor) == 2) | .req.OInvRegNo // empty' \
    "$LOG" | sort -u >"$S/reg_nos"
jq -r 'select(.family == "store" and (.op == "redeem" or .op == "redeem_again")) | .req.ref_id // empty' \
    "$LOG" | sort -u >"$S/purchase_tokens"
awk '$1 == "client" { print $2 }' "$RUN/tokens.txt" | sort -u >"$S/principals"

# --- paymesh ----------------------------------------------------------------------
sed 's|.*|/api/v1/payment/&/retrieve|' "$S/payment_ids" |
    fetch_many "$BASE" "x_auth_token: $SVC" >"$S/pm_payments.jsonl"
sed 's|.*|/finance/bazaarpay/checkout/&/|' "$S/checkout_tokens" |
    fetch_many "$BASE" "x_auth_token: $SVC" >"$S/pm_checkouts.jsonl"
: >"$S/pm_payment_list.jsonl"
before=()
for ((i = 0; i < 1000; i++)); do
    page=$(ctl payment list --max 1000 --json "${before[@]}") || { echo '{"error":"payment list failed"}' >>"$S/pm_payment_list.jsonl"; break; }
    jq -c '.payments[]' <<<"$page" >>"$S/pm_payment_list.jsonl"
    next=$(jq -r '.next // empty' <<<"$page")
    [[ -n $next ]] || break
    before=(--before "$next")
done
: >"$S/pm_orders.jsonl"
while read -r reg; do
    o=$(ctl order show "$reg" --json) && jq -c --arg r "$reg" '{reg: $r, order: .}' <<<"$o" >>"$S/pm_orders.jsonl" ||
        jq -nc --arg r "$reg" '{reg: $r, order: null}' >>"$S/pm_orders.jsonl"
done <"$S/reg_nos"
: >"$S/pm_balances.jsonl"
while read -r p; do
    ctl balance --principal "$p" | jq -c . >>"$S/pm_balances.jsonl"
done <"$S/principals"
ctl retry list --json >"$S/pm_retry.json" || echo '[]' >"$S/pm_retry.json"
ctl stats >"$S/pm_stats.json" || echo '{}' >"$S/pm_stats.json"

# --- the sandbox --------------------------------------------------------------------
sed 's|.*|/sandbox/bazaarpay/checkouts/&|' "$S/checkout_tokens" |
    fetch_many "$SANDBOX_URL" "X-Chaos: check" >"$S/sb_checkouts.jsonl"
sed 's|.*|/sandbox/bazaar/purchases/&|' "$S/purchase_tokens" |
    fetch_many "$SANDBOX_URL" "X-Chaos: check" >"$S/sb_purchases.jsonl"
curl -sS --noproxy '*' --max-time 10 "$SANDBOX_URL/sandbox/bank/orders" >"$S/sb_order_list.json" 2>>"$S/curl.err" ||
    echo '{"orders":[]}' >"$S/sb_order_list.json"
{
    jq -r '.body.payment.bank.order_id // empty' "$S/pm_payments.jsonl"
    jq -r '.order.order_id // empty' "$S/pm_orders.jsonl"
    jq -r 'select(.target == "sandbox" and (.op == "bank_pay" or .op == "bank_decline")) | .idempotency_key // empty' "$LOG"
    jq -r '.orders[]?.order_id' "$S/sb_order_list.json"
} | sed 's|.*|/sandbox/bank/orders/&|' | fetch_many "$SANDBOX_URL" "X-Chaos: check" >"$S/sb_orders.jsonl"

# --- evaluate -----------------------------------------------------------------------
faults='{}'
[[ -s $RUN/faults_random.json ]] && faults=$(cat "$RUN/faults_random.json")
# count FILE: {"<second field>": lines with it, ...} of FILE (none: {}).
count() {
    awk '{ print $2 }' "$1" 2>/dev/null | sort | uniq -c |
        awk 'BEGIN { printf "{" } { printf "%s\"%s\":%s", (NR > 1 ? "," : ""), $2, $1 } END { printf "}" }'
}
rules=$(count "$RUN/fault_rules.txt")
kills=$(count "$RUN/kills.txt")
slurp() { jq -s -c . "$1" 2>/dev/null || echo '[]'; }
for f in pm_payments pm_checkouts pm_payment_list pm_orders pm_balances sb_checkouts sb_purchases sb_orders; do
    slurp "$S/$f.jsonl" >"$S/$f.json"
done
jq -s -c . "$LOG" >"$S/log.json" || { echo "check: the client log is not JSON lines" >&2; exit 2; }
jq -n -c --slurpfile log "$S/log.json" \
    --slurpfile pays "$S/pm_payments.json" --slurpfile plist "$S/pm_payment_list.json" \
    --slurpfile cos "$S/pm_checkouts.json" --slurpfile orders "$S/pm_orders.json" \
    --slurpfile bals "$S/pm_balances.json" --slurpfile retry "$S/pm_retry.json" \
    --slurpfile stats "$S/pm_stats.json" --slurpfile sbco "$S/sb_checkouts.json" \
    --slurpfile sbpu "$S/sb_purchases.json" --slurpfile sbor "$S/sb_orders.json" \
    --slurpfile sbol "$S/sb_order_list.json" \
    --argjson faults "$faults" --argjson rules "$rules" --argjson kills "$kills" \
    --arg drained "$DRAINED" \
    -f "$HERE/check.jq" >"$S/result.json" || { echo "check: check.jq failed" >&2; exit 2; }
t1=$(date +%s%3N)

jq -c '.violations[]' "$S/result.json" >"$RUN/violations.jsonl"
nv=$(wc -l <"$RUN/violations.jsonl")
{
    echo "chaos run $(basename "$RUN"): seed $SEED, $SECONDS_RUN s, $CLIENTS clients, faults $PER_MILLE per mille ($FAULT_MODE), a kill every ~$KILL_EVERY s"
    jq -r '.figures as $f |
        "requests: \($f.requests) (\($f.requests_gw) to the gateway, \($f.requests_sandbox) to the sandbox), calls \($f.calls)",
        "acknowledged writes (2xx, replays apart): \($f.acked_writes); writes never answered (maybe): \($f.maybe_writes); replays compared: \($f.replays_compared)",
        "requests by family/op and status class:",
        ($f.by_op[] | "  \(.family)/\(.op): \(.classes | to_entries | map("\(.key) \(.value)") | join(", "))"),
        "kills by daemon: \($f.kills | to_entries | map("\(.key) \(.value)") | join(", ")) (total \($f.kills | add // 0))",
        "faults injected by kind (sandbox): \($f.faults | to_entries | map("\(.key) \(.value)") | join(", ")) (provider calls seen \($f.calls_seen))",
        "entities: \($f.entities | to_entries | map("\(.key) \(.value)") | join(", "))",
        "violations by kind: \(if ($f.violations | length) == 0 then "none" else ($f.violations | to_entries | map("\(.key) \(.value)") | join(", ")) end)"' \
        "$S/result.json"
    echo "drain: ${DRAIN_MS} ms (drained: $DRAINED); check: $((t1 - t0)) ms; wall: $((WALL_MS / 1000)) s before the check"
} >"$RUN/figures.txt"
cat "$RUN/figures.txt"
if ((nv > 0)); then
    echo "VIOLATIONS ($nv), first 20 (all in $RUN/violations.jsonl):"
    head -n 20 "$RUN/violations.jsonl" | cut -c1-1200
    exit 1
fi
exit 0
