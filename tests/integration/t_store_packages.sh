#!/usr/bin/env bash
# Package catalog (docs/api.md "GET /finance/packages/"): Django REST
# Framework pagination (count, next, previous, results; page, page_size at
# most 100; a page past the end is 404 "Invalid page."), the devicetype
# header selects the platform (missing or unknown: 400), retired packages are
# hidden, each item is exactly {name, price, icon, serial_number,
# package_type}, and without a valid token the answer is 401 "Log in".
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_start_gateway
alice=$(pm_token alice)
svc=$(pm_token ops service)
P=/finance/packages/
A='devicetype: android'
I='devicetype: ios'

# --- authentication first ---------------------------------------------------------
http GET $P -H "$A"
expect_store_error 401 unauthorized "no token: 401" "Log in"
expect_json .error "Log in" "no token: error is exactly \"Log in\""
http GET $P -H "$A" -t not-a-token
expect_store_error 401 unauthorized "unknown token: 401" "Log in"
expect_json .error "Log in" "unknown token: error is exactly \"Log in\""
http GET $P
expect_store_error 401 unauthorized "no token and no devicetype: 401 wins over 400"
http GET $P -H "$A" -H "Authorization: Bearer $alice"
expect_status 200 "Authorization: Bearer token accepted"
http GET $P -H "$A" -t "$svc"
expect_status 200 "a service token may list packages"

# --- empty catalog -------------------------------------------------------------------
http GET $P -t "$alice" -H "$A"
expect_status 200 "empty catalog: page 1 is a 200"
expect_jq '.count == 0 and .next == null and .previous == null and .results == []' "empty catalog: count 0, no links, no results"
http GET "$P?page=2" -t "$alice" -H "$A"
expect_store_error 404 not_found "empty catalog: page 2 is 404" "Invalid page."

# --- devicetype ------------------------------------------------------------------------
http GET $P -t "$alice"
expect_store_error 400 validation_error "devicetype missing: 400"
http GET $P -t "$alice" -H 'devicetype: windows'
expect_store_error 400 validation_error "devicetype windows: 400"
http GET $P -t "$alice" -H 'devicetype: '
expect_store_error 400 validation_error "devicetype empty: 400"
http GET $P -t "$alice" -H 'devicetype: android2'
expect_store_error 400 validation_error "devicetype android2: 400"

# --- a catalog -----------------------------------------------------------------------------
# The seed's item, with its non-ASCII name (ZERO WIDTH NON-JOINER inside).
seed_name=$'\u0628\u0633\u062a\u0647\u200c\u06cc \u062c\u062f\u06cc\u062f' # بسته‌ی جدید
seed_icon=http://127.0.0.1:8000/uploads/default_icons/pouya.jpg
pm_package 206497920410 "$seed_name" 1000 coin 100 --icon "$seed_icon"
pm_package time_30 "30 days" 5000 time 30 --platforms android --icon http://127.0.0.1:8000/t.png
pm_package ios_only "iOS coins" 700 coin 70 --platforms ios
pm_package retired_1 "Old coins" 10 coin 1
android=(206497920410 time_30 retired_1)
ios=(206497920410 ios_only retired_1)
for ((i = 1; i <= 22; i++)); do
    pm_package "bulk_$i" "Bulk $i" $((100 + i)) coin "$i" --platforms android
    android+=("bulk_$i")
done
pm_ctl package retire --sku retired_1 >/dev/null
check $? "paymentctl package retire" "$(tail -n 3 "$PM_TMP/paymentctl.log")"
android=(206497920410 time_30 "${android[@]:3}")
ios=(206497920410 ios_only)

http GET "$P?page_size=1" -t "$alice" -H "$A"
expect_status 200 "android, page_size=1"
jq -e --arg n "$seed_name" --arg i "$seed_icon" \
    '.results == [{"name": $n, "price": 1000, "icon": $i, "serial_number": "206497920410", "package_type": "coin"}]' \
    "$PM_TMP/resp.body" >/dev/null 2>&1
check $? "item exactly {name, price, icon, serial_number, package_type} with the non-ASCII name" "got $(head -c 400 "$PM_TMP/resp.body")"
expect_json .count "${#android[@]}" "android count: every android package, retired hidden"
expect_json .next "$BASE/finance/packages/?page=2&page_size=1" "next is the absolute URL of page 2"
expect_json .previous null "page 1 has no previous"

# The time package's item shape, too.
http GET "$P?page=2&page_size=1" -t "$alice" -H "$A"
expect_json '.results[0] | [.serial_number, .package_type, .price, .name] | @json' '["time_30","time",5000,"30 days"]' "page 2 holds the time package"
expect_jq '.results[0] | keys == ["icon","name","package_type","price","serial_number"]' "time item has exactly the five fields"
expect_jq '.previous | type == "string" and startswith("http://127.0.0.1:")' "page 2 has an absolute previous URL"

# Walk next links from page 1 to the end, then previous links back: every
# android package once, in the order added.
walk() { # walk DIRECTION START_PATH HEADER: prints the SKUs page by page
    local path=$2 n=0
    while [[ -n $path && $n -lt 50 ]]; do
        http GET "$path" -t "$alice" -H "$3"
        [[ $RESP_STATUS == 200 ]] || { echo "status:$RESP_STATUS"; return; }
        jq -r '.results[].serial_number' "$PM_TMP/resp.body"
        local u
        u=$(jq -r ".$1 // empty" "$PM_TMP/resp.body")
        [[ -z $u || $u == "$BASE"* ]] || { echo "foreign-url:$u"; return; }
        path=${u#"$BASE"}
        n=$((n + 1))
    done
}
got=$(walk next "$P?page_size=7" "$A" | tr '\n' ' ')
[[ $got == "$(printf '%s ' "${android[@]}")" ]]
check $? "following next with page_size=7 lists every android package once, in order" "got: $got"
http GET "$P?page=4&page_size=7" -t "$alice" -H "$A"
expect_jq '.next == null and (.results | length) == 3' "last page: 3 results, next null"
got=$(walk previous "$P?page=4&page_size=7" "$A" | tr '\n' ' ')
want=$(printf '%s\n' "${android[@]:21}" "${android[@]:14:7}" "${android[@]:7:7}" "${android[@]:0:7}" | tr '\n' ' ')
[[ $got == "$want" ]]
check $? "following previous from the last page reaches page 1" "got: $got"
http GET "$P?page=5&page_size=7" -t "$alice" -H "$A"
expect_store_error 404 not_found "page past the end: 404" "Invalid page."
http GET "$P?page=999" -t "$alice" -H "$A"
expect_store_error 404 not_found "page 999: 404" "Invalid page."

# Default and maximum page size.
http GET $P -t "$alice" -H "$A"
expect_jq '(.results | length) == 20 and .count == 24' "default page_size is 20"
expect_json .next "$BASE/finance/packages/?page=2" "default page 1: next is ?page=2"
http GET "$P?page=2" -t "$alice" -H "$A"
expect_jq '(.results | length) == 4 and .next == null' "default page 2: the last 4"
for ((i = 23; i <= 105; i++)); do
    pm_package "bulk_$i" "Bulk $i" $((100 + i)) coin "$i" --platforms android
done
http GET "$P?page_size=1000" -t "$alice" -H "$A"
expect_status 200 "page_size=1000 is capped, not refused (DRF max_page_size)"
expect_jq '(.results | length) == 100 and .count == 107' "page_size above 100 gives 100 results"
http GET "$P?page_size=100&page=2" -t "$alice" -H "$A"
expect_jq '(.results | length) == 7 and .next == null' "page_size=100 page 2: the last 7"

# --- ios ---------------------------------------------------------------------------------
http GET $P -t "$alice" -H "$I"
expect_status 200 "ios"
expect_json '[.results[].serial_number] | join(" ")' "${ios[*]}" "ios lists only packages sold on ios, retired hidden"
expect_json .count 2 "ios count"
http GET $P -t "$alice" -H 'devicetype: IOS'
expect_json '[.results[].serial_number] | join(" ")' "${ios[*]}" "devicetype is case-insensitive (IOS)"
http GET $P -t "$alice" -H 'devicetype: Android'
expect_json .count 107 "devicetype Android"

# --- operator changes show at once ------------------------------------------------------------
pm_ctl package update --sku ios_only --price 800 --platforms android,ios >/dev/null
check $? "paymentctl package update" "$(tail -n 3 "$PM_TMP/paymentctl.log")"
http GET "$P?page_size=100" -t "$alice" -H "$A"
expect_jq '.count == 108 and .results[2].serial_number == "ios_only"' "a package updated to android appears on android, in catalog order"
http GET $P -t "$alice" -H "$I"
expect_jq '.results[1] | .serial_number == "ios_only" and .price == 800' "the updated price is listed"
pm_ctl package retire --sku 206497920410 >/dev/null
http GET $P -t "$alice" -H "$I"
expect_json '[.results[].serial_number] | join(" ")' "ios_only" "a retired package disappears"
list=$(pm_ctl package list)
jq -e '(if type == "array" then . else .packages end) | any(.[]; .sku == "retired_1" and .retired == true)' <<<"$list" >/dev/null 2>&1
check $? "paymentctl package list still shows retired packages to the operator" "got: $(head -c 300 <<<"$list")"

# --- odd input ----------------------------------------------------------------------------------
http GET "$P?page=0" -t "$alice" -H "$A"
expect_status '40[04]' "page=0 is refused"
http GET "$P?page=abc" -t "$alice" -H "$A"
expect_status '40[04]' "page=abc is refused"
http GET "$P?page_size=0" -t "$alice" -H "$A"
expect_status '[24]0[0]' "page_size=0 does not crash"
http POST $P -t "$alice" -H "$A" -d '{}'
expect_status 405 "POST /finance/packages/: 405"
http GET /finance/packages -t "$alice" -H "$A"
expect_status 200 "without the trailing slash"
expect_alive "after the catalog tests"
