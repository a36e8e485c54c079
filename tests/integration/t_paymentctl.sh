#!/usr/bin/env bash
# paymentctl for daily operations (docs/operations.md, "paymentctl"): token
# list (never a token or its hash) and revoke (by the id the list shows, or
# every token of a principal; the gateway then answers 401), payment show
# and list (by status, newest first, paged with --before), and the stats
# counts of the store and the job queue; tables for people, --json for
# scripts, exit 2 for a usage error and 1 for a refusal.
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_methods bob
pm_start_gateway
alice=$(pm_token alice)
bob=$(pm_token bob)
ops=$(pm_token ops service)

# --- tokens ---------------------------------------------------------------
list=$(pm_ctl token list --json)
jq -e 'length == 3 and (map(.principal) | sort) == ["alice", "bob", "ops"] and
       all(.[]; (keys == ["created_ms", "id", "principal", "role"]) and (.id | test("^[0-9a-f]{16}$")))' \
    <<<"$list" >/dev/null
check $? "token list --json: id, principal, role, created_ms of each" "$list"
table=$(pm_ctl token list)
grep -q '^id  *principal  *role  *created' <<<"$table" && grep -q '(3 tokens)' <<<"$table"
check $? "token list: a table" "$table"
! grep -qF -e "$alice" -e "$bob" -e "$ops" <<<"$list$table"
check $? "token list never shows a token" ""
! grep -qE '[0-9a-f]{64}' <<<"$list$table"
check $? "token list never shows a hash" ""
jq -e 'length == 1 and .[0].role == "service"' <<<"$(pm_ctl token list --principal ops --json)" >/dev/null
check $? "token list --principal ops" ""
pm_ctl token revoke --principal alice --id 0123456789abcdef >/dev/null 2>&1
(($? == 2))
check $? "token revoke with both --principal and --id is a usage error" ""
pm_ctl token revoke >/dev/null 2>&1
(($? == 2))
check $? "token revoke without either is a usage error" ""
pm_ctl token revoke --principal nobody >/dev/null
(($? == 1)) && grep -q 'not_found' <(tail -n 1 "$PM_TMP/paymentctl.log")
check $? "token revoke of a principal without tokens: not_found" "$(tail -n 1 "$PM_TMP/paymentctl.log")"

# --- payments -------------------------------------------------------------
pm_create "$alice" alice bob 1.00 USD
first=$TXID
pm_create "$alice" alice bob 2.50 EUR
second=$TXID
pm_create "$alice" alice bob 3.00 USD
third=$TXID
http POST "/api/v1/payment/$second/accept" -t "$bob" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
expect_status 200 "bob accepts the second"

show=$(pm_ctl payment show "$second" --json)
jq -e --arg id "$second" '.payment.id == $id and .payment.status == "accepted" and
       .payment.amount_minor == 250 and .payment.currency == "EUR"' <<<"$show" >/dev/null
check $? "payment show --json" "$show"
show=$(pm_ctl payment show "$(tr a-f A-F <<<"$first")")
grep -q "^payment $first  status created" <<<"$show" && grep -q 'amount 1.00 USD' <<<"$show"
check $? "payment show: a table, the id in any case" "$show"
pm_ctl payment show 01890000-0000-7000-8000-000000000000 >/dev/null
(($? == 1)) && grep -q 'not_found' <(tail -n 1 "$PM_TMP/paymentctl.log")
check $? "payment show of an unknown id: not_found" "$(tail -n 1 "$PM_TMP/paymentctl.log")"
pm_ctl payment show >/dev/null 2>&1
(($? == 2))
check $? "payment show without an id is a usage error" ""

all=$(pm_ctl payment list --json)
jq -e --arg a "$first" --arg b "$second" --arg c "$third" \
    '(.payments | map(.id)) == [$c, $b, $a] and .next == null' <<<"$all" >/dev/null
check $? "payment list: every payment, newest first" "$all"
acc=$(pm_ctl payment list --state accepted --json)
jq -e --arg b "$second" '(.payments | map(.id)) == [$b]' <<<"$acc" >/dev/null
check $? "payment list --state accepted" "$acc"
page=$(pm_ctl payment list --max 2 --json)
next=$(jq -r '.next' <<<"$page")
jq -e --arg c "$third" --arg b "$second" '(.payments | map(.id)) == [$c, $b]' <<<"$page" >/dev/null &&
    [[ $next == "$second" ]]
check $? "payment list --max 2: two, and where to go on" "$page"
rest=$(pm_ctl payment list --max 2 --before "$next" --json)
jq -e --arg a "$first" '(.payments | map(.id)) == [$a] and .next == null' <<<"$rest" >/dev/null
check $? "payment list --before: the rest" "$rest"
table=$(pm_ctl payment list --state created)
grep -q '^id  *status  *amount' <<<"$table" && grep -q '(2 payments)' <<<"$table" &&
    grep -q "$third  created  *3.00  USD  alice" <<<"$table"
check $? "payment list: a table" "$table"
pm_ctl payment list --state paid >/dev/null
(($? == 1)) && grep -q 'validation_error' <(tail -n 1 "$PM_TMP/paymentctl.log")
check $? "payment list --state of no status: validation_error" "$(tail -n 1 "$PM_TMP/paymentctl.log")"
pm_ctl payment list --max 0 >/dev/null 2>&1
(($? == 2))
check $? "payment list --max 0 is a usage error" ""

# --- stats ------------------------------------------------------------------
stats=$(pm_ctl stats)
jq -e '.payments == 3 and .tokens == 3 and .purchases == 0 and .checkouts == 0 and .jobs == 0 and
       .jobs_queued == 0 and .jobs_retry == 0 and .jobs_parked == 0 and .jobs_counted == true' \
    <<<"$stats" >/dev/null
check $? "stats: payments, tokens, purchases, checkouts, jobs by state" "$stats"
table=$(pm_ctl stats --table)
grep -qE '^payments +3$' <<<"$table" && grep -qE '^jobs_parked +0$' <<<"$table"
check $? "stats --table" "$table"

# --- revoke ---------------------------------------------------------------
aid=$(pm_ctl token list --principal alice --json | jq -r '.[0].id')
http GET "/api/v1/payment/$first/retrieve" -t "$alice"
expect_status 200 "alice's token works before revoke"
out=$(pm_ctl token revoke --id "$aid")
check $? "token revoke --id" "$(tail -n 1 "$PM_TMP/paymentctl.log")"
grep -q "^$aid  *alice  *user" <<<"$out"
check $? "token revoke prints what it revoked" "$out"
http GET "/api/v1/payment/$first/retrieve" -t "$alice"
expect_status 401 "a revoked token is unauthorized at once"
http GET "/api/v1/payment/$first/retrieve" -t "$bob"
expect_status 200 "bob's token still works"
bob2=$(pm_token bob)
pm_ctl token revoke --principal bob >/dev/null
check $? "token revoke --principal bob" ""
http GET "/api/v1/payment/$first/retrieve" -t "$bob2"
expect_status 401 "every token of bob is revoked"
jq -e 'map(.principal) == ["ops"]' <<<"$(pm_ctl token list --json)" >/dev/null
check $? "token list after revokes: ops only" ""
pm_ctl token revoke --id "$aid" >/dev/null
(($? == 1))
check $? "revoking it again: not_found" ""
# Amounts in a table have their currency's decimals, as the API writes them.
ops=$(pm_token ops2 service)
http POST /api/v1/payment/create -t "$ops" -d "$(create_body "$(pm_uuid)" alice bob 1.5 BTC)"
expect_status 200 "a BTC payment"
btc=$(jq -r .transaction_id "$PM_TMP/resp.body")
show=$(pm_ctl payment show "$btc")
grep -q 'amount 1.50000000 BTC' <<<"$show"
check $? "payment show: BTC with 8 decimals" "$show"
pm_ctl payment list --max 1 | grep -q " 1.50000000  BTC"
check $? "payment list: BTC with 8 decimals" "$(pm_ctl payment list --max 1)"
expect_alive "after paymentctl"
