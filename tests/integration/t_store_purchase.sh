#!/usr/bin/env bash
# Opening a purchase (docs/api.md "POST /finance/purchase"): 200
# {"serial_number": <16 digits>, "ref_id": null, "state": "in_progress"},
# a new purchase on every call, trailing slash optional; unknown or retired
# SKU 404, missing or malformed field 400, no token 401 "Log in".
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_start_gateway
alice=$(pm_token alice)
bob=$(pm_token bob)
svc=$(pm_token ops service)
pm_package coins_100 "100 coins" 1000 coin 100
pm_package time_30 "30 days" 5000 time 30 --platforms ios
pm_package old_sku "Old" 10 coin 1
pm_ctl package retire --sku old_sku >/dev/null

http POST /finance/purchase -t "$alice" -d '{"serial_number":"coins_100"}'
expect_status 200 "open a purchase"
expect_jq 'keys == ["ref_id","serial_number","state"]' "exactly serial_number, ref_id, state"
expect_jq '.serial_number | type == "string" and test("^[0-9]{16}$")' "serial_number is a 16-digit string"
expect_jq '.ref_id == null' "ref_id is null"
expect_json .state in_progress "state is in_progress"
s1=$(jq -r .serial_number "$PM_TMP/resp.body")
[[ $s1 != coins_100 ]]
check $? "the answer's serial is the purchase's, not the SKU" "got $s1"

http POST /finance/purchase/ -t "$alice" -d '{"serial_number":"coins_100"}'
expect_status 200 "with a trailing slash"
s2=$(jq -r .serial_number "$PM_TMP/resp.body")
expect_json .state in_progress "trailing slash: state in_progress"
[[ $s2 =~ ^[0-9]{16}$ && $s2 != "$s1" ]]
check $? "each call opens a new purchase" "first $s1, second $s2"

http POST /finance/purchase -t "$bob" -d '{"serial_number":"time_30"}'
expect_status 200 "a time package (sold on ios only) can be bought"
expect_json .state in_progress "time package: in_progress"
http POST /finance/purchase -t "$svc" -d '{"serial_number":"coins_100"}'
expect_status 200 "a service token opens a purchase for itself"

declare -A seen=()
dup=0
for ((i = 0; i < 30; i++)); do
    http POST /finance/purchase -t "$alice" -d '{"serial_number":"coins_100"}'
    s=$(jq -r '.serial_number // empty' "$PM_TMP/resp.body")
    [[ -n ${seen[$s]:-} || ! $s =~ ^[0-9]{16}$ ]] && dup=1
    seen[$s]=1
done
((dup == 0))
check $? "30 more purchases: 30 distinct 16-digit serials" "a serial repeated or was malformed"

# --- refusals ----------------------------------------------------------------------
http POST /finance/purchase -t "$alice" -d '{"serial_number":"no_such_sku"}'
expect_store_error 404 not_found "unknown SKU: 404"
http POST /finance/purchase -t "$alice" -d '{"serial_number":"old_sku"}'
expect_store_error 404 not_found "retired SKU: 404"
http POST /finance/purchase -t "$alice" -d '{"serial_number":"COINS_100"}'
expect_store_error 404 not_found "SKU is case-sensitive: 404"
http POST /finance/purchase -t "$alice" -d '{}'
expect_store_error 400 validation_error "missing serial_number: 400" serial_number
http POST /finance/purchase -t "$alice" -d ''
expect_store_error 400 validation_error "empty body: 400"
http POST /finance/purchase -t "$alice" -d '{"serial_number":100}'
expect_store_error 400 validation_error "numeric serial_number: 400" serial_number
http POST /finance/purchase -t "$alice" -d '{"serial_number":""}'
expect_status '40[04]' "empty serial_number: 400 or 404"
http POST /finance/purchase -t "$alice" -d '{"serial_number":null}'
expect_store_error 400 validation_error "null serial_number: 400"
http POST /finance/purchase -t "$alice" -d '{"serial_number":"coins_100","sku":"x"}'
expect_store_error 400 validation_error "unknown field: 400 naming it" sku
http POST /finance/purchase -t "$alice" -d '{"serial_number":"coins_100"'
expect_store_error 400 validation_error "invalid JSON: 400"
http POST /finance/purchase -t "$alice" -d '["coins_100"]'
expect_store_error 400 validation_error "a JSON array: 400"
http POST /finance/purchase -d '{"serial_number":"coins_100"}'
expect_store_error 401 unauthorized "no token: 401" "Log in"
expect_json .error "Log in" "no token: error is \"Log in\""
http POST /finance/purchase -t nobody -d '{"serial_number":"coins_100"}'
expect_store_error 401 unauthorized "unknown token: 401" "Log in"
http POST /finance/purchase -t nobody -d '{}'
expect_store_error 401 unauthorized "unknown token and bad body: 401 wins"
http GET /finance/purchase -t "$alice"
expect_status 405 "GET /finance/purchase: 405"

# A purchase opened after all that still works.
http POST /finance/purchase -t "$alice" -d '{"serial_number":"coins_100"}'
expect_status 200 "a purchase after the refusals"
expect_alive "after bad input"
