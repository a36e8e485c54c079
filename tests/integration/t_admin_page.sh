#!/usr/bin/env bash
# The operator page (docs/operations.md "Admin page"): off by default (both
# routes 404 like an unknown path); with --admin-page on, GET /admin/ is the
# page (HTML, no token) and GET /admin/api/overview is 401 without a token,
# 403 with a user token, and with a service token counts payments (in two
# states), a store purchase and a bank order by state. Then headless
# Chromium (tests/browser/admin_page.mjs) opens the page, enters the
# service token, sees the payments, and sees a new payment after a refresh.
# Screenshots go to the test's directory (kept with PM_KEEP_TMP=1).
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_start_gateway
admin=$(pm_token ops service)
alice=$(pm_token alice)

for p in /admin /admin/ /admin/api/overview; do
    http GET "$p" -t "$admin"
    expect_status 404 "off by default: GET $p is 404"
    expect_jq '.code == "not_found"' "off by default: GET $p has the unrouted 404 body"
done

pm_stop "$GW_PID"
pm_start_gateway --admin-page on

http GET /admin/
expect_status 200 "GET /admin/ without a token"
expect_header Content-Type '^text/html' "GET /admin/ is text/html"
expect_header Content-Security-Policy "script-src 'sha256-" "GET /admin/ has a CSP naming its script"
expect_header Cache-Control 'no-store' "GET /admin/ is not cached"
grep -q 'id="token"' "$PM_TMP/resp.body"
check $? "the page has the token form" "$(head -c 300 "$PM_TMP/resp.body")"
http GET /admin
expect_status 200 "GET /admin without the slash"

http GET /admin/api/overview
expect_status 401 "overview without a token"
http GET /admin/api/overview -t "$alice"
expect_status 403 "overview with a user token"
http GET /admin/api/overview -t not-a-token
expect_status 401 "overview with an unknown token"
http GET '/admin/api/overview?latest=99' -t "$admin"
expect_status 400 "overview with latest=99"

# Three payments: two created, one cancelled.
pm_methods bob
pm_create "$alice" alice bob 10.00
pm_create "$alice" alice bob 11.00
pm_create "$alice" alice bob 12.00
http POST "/api/v1/payment/$TXID/cancel" -t "$alice" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"reason\":\"duplicate\"}"
expect_status 200 "cancel the third payment"
# A store purchase (opened).
pm_package coins-10 "Ten coins" 1000 coin 10
store_open "$alice" coins-10
# A bank order invoice (awaiting payment).
pm_ctl regno-type add --id 9 --name sale_order_invoice_code --prefix ANS --length 8 \
    --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null
http POST /gen-reg-no/ -t "$alice" -d '{"RegNumTypeId": 9, "random_mode": 1}'
REG=$(jq -r .data "$PM_TMP/resp.body")
http POST /checkout-sale-order-inv/ -t "$alice" -d '{"OInvRegNo": "'"$REG"'",
    "online_payment_type": "halkbank", "OInvTotal": 17.50,
    "OrderInvLines": [{"ResName": "tea", "ItemCount": 2, "ResPrice": 8.75}]}'
expect_status 200 "an order invoice"

http GET /admin/api/overview -t "$admin"
expect_status 200 "overview with the service token"
expect_header Content-Type '^application/json' "overview is JSON"
expect_jq '.payments.counts == {"created": 2, "accepted": 0, "bank_processing": 0, "succeeded": 0, "failed": 0, "cancelled": 1}' \
    "payments by state: 2 created, 1 cancelled"
expect_jq '.payments.complete == true and .payments.scanned == 3 and (.payments.latest | length) == 3' "three payments listed"
expect_jq ".payments.latest[0].id == \"$TXID\" and .payments.latest[0].status == \"cancelled\"" "the newest payment first"
expect_jq '.purchases.counts.in_progress == 1 and (.purchases.latest[0].sku == "coins-10") and (.purchases.latest[0] | has("token") | not)' \
    "the store purchase, in progress, without its token"
expect_jq ".orders.counts.awaiting_payment == 1 and .orders.latest[0].reg_no == \"$REG\" and .orders.latest[0].total_minor == 1750" \
    "the bank order, awaiting payment"
expect_jq '.checkouts.counts.in_progress == 0 and (.checkouts.latest | length) == 0' "no checkouts"
expect_jq '.retry.backlog == 0 and .retry.oldest_due == null and .retry.items == []' "an empty retry queue"
expect_jq '[.providers[].provider] == ["bazaar", "bazaarpay", "bank", "other"] and ([.providers[].ok] | add) == 0' \
    "the four providers, no job outcome yet"
http GET '/admin/api/overview?latest=1' -t "$admin"
expect_jq '(.payments.latest | length) == 1 and .latest == 1' "latest=1: one payment a list"

# The page in a browser: it shows 2 created, then 3 after a new payment.
pm_browser_deps
out="$PM_TMP/browser.admin"
mkdir -p "$out"
(cd "$PM_ROOT" && exec timeout -k 5 "$BROWSER_TIMEOUT_S" node tests/browser/admin_page.mjs \
    --url "$BASE/admin/" --token "$admin" --out "$out" \
    --count payments-count-created=2 --then payments-count-created=3 --timeout-ms 25000) \
    >"$out/result.json" 2>"$out/stderr.log" &
bpid=$!
PM_HELPER_PIDS+=" $bpid"
wait_until 30 test -f "$out/ready"
pm_create "$alice" alice bob 13.00
wait "$bpid"
brc=$?
PM_HELPER_PIDS=${PM_HELPER_PIDS/ $bpid/}
bjson=$(tail -n 1 "$out/result.json" 2>/dev/null)
((brc == 0))
check $? "the browser saw 2 created payments, then 3 after a refresh" "exit $brc: $bjson $(tail -n 5 "$out/stderr.log" 2>/dev/null)"
jq -e '.ok == true and .rows >= 3 and .stored_token == true and (.screenshots | length) == 2' <<<"$bjson" >/dev/null 2>&1
check $? "two screenshots, the token kept in sessionStorage" "result: $bjson"
for f in $(jq -r '.screenshots[]?' <<<"$bjson" 2>/dev/null); do
    [[ -s $f && $(head -c 8 "$f" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]
    check $? "$(basename "$f") is a PNG file" "$(ls -la "$out")"
done

pm_exit
