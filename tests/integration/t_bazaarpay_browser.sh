#!/usr/bin/env bash
# A person pays a BazaarPay checkout in a real browser: headless Chromium
# (Debian's chromium) driven by playwright-core (tests/browser/
# bazaarpay_checkout.mjs) opens the payment_url paymesh handed out, clicks
# Pay and lands on the app's redirect_url; the app's confirm then delivers
# the coins, and the checkout ends committed with exactly one commit at
# BazaarPay. Then Cancel in the browser: the confirm answers 406 expired.
# Screenshots go to the test's directory (kept with PM_KEEP_TMP=1).
. "$(dirname "$0")/lib.sh"

pm_browser_deps

pm_start_bazaarpay
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 50000 coin 100

# --- Pay ---------------------------------------------------------------------------------------
bp_checkout "$alice" coins_100
co=$CO
pm_browse "$CO_URL" "$CO_REDIRECT" pay "pay"
st=$(sbp_field "$co" status)
[[ $st == paid_not_committed || $st == paid_committed ]] # paymesh may have re-traced it already
check $? "BazaarPay: paid after the click ($st)" "sandbox: $(sb_last)"
bp_confirm "$alice" "$co"
expect_status 200 "the app's confirm after the browser came back: 200"
expect_json .state delivered "delivered"
expect_json .coins 100 "100 coins"
expect_coins alice 100 "paymentctl balance: 100 coins"
bp_wait_state "$alice" "$co" committed 15
check $? "the checkout ends committed" "last state '$BP_LAST_STATE'"
sleep 1
sbp_show "$co"
jq -e '.commits == 1 and .commit_calls == 1 and .status == "paid_committed"' <<<"$SB_BODY" >/dev/null
check $? "BazaarPay recorded exactly one commit" "sandbox: $(sb_last)"

# --- Cancel --------------------------------------------------------------------------------------
bp_checkout "$alice" coins_100
co2=$CO
pm_browse "$CO_URL" "$CO_REDIRECT" cancel "cancel"
bp_confirm "$alice" "$co2"
expect_status 406 "confirm after Cancel in the browser: 406"
expect_json .state expired "expired"
expect_coins alice 100 "the cancelled checkout delivered nothing"
expect_alive "at the end" $(pm_store_pids)
