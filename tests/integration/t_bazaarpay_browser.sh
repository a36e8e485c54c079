#!/usr/bin/env bash
# A person pays a BazaarPay checkout in a real browser: headless Chromium
# (Debian's chromium) driven by playwright-core (tests/browser/
# bazaarpay_checkout.mjs) opens the payment_url paymesh handed out, clicks
# Pay and lands on the app's redirect_url; the app's confirm then delivers
# the coins, and the checkout ends committed with exactly one commit at
# BazaarPay. Then Cancel in the browser: the confirm answers 406 expired.
# Screenshots go to the test's directory (kept with PM_KEEP_TMP=1).
. "$(dirname "$0")/lib.sh"

BROWSER_TIMEOUT_S=40
if [[ ! -x /usr/bin/chromium || ! -f $PM_ROOT/node_modules/playwright-core/package.json ]]; then
    pm_note "installing the browser test's dependencies (scripts/deps.sh --browser)"
    timeout 600 "$PM_ROOT/scripts/deps.sh" --browser >"$PM_TMP/deps.log" 2>&1 ||
        pm_fatal "scripts/deps.sh --browser failed: $(tail -n 5 "$PM_TMP/deps.log")"
fi
command -v node >/dev/null || pm_fatal "no node"

pm_start_bazaarpay
alice=$(pm_token alice)
pm_package coins_100 "100 coins" 50000 coin 100

# browse PAYMENT_URL BUTTON LABEL: the browser script, bounded in time, run in
# the background and waited for by its PID (stopped by it if it hangs).
browse() {
    local out="$PM_TMP/browser.$2"
    mkdir -p "$out"
    (cd "$PM_ROOT" && exec timeout -k 5 "$BROWSER_TIMEOUT_S" node tests/browser/bazaarpay_checkout.mjs \
        --url "$1" --expect "$CO_REDIRECT" --out "$out" --button "$2" --timeout-ms 20000) \
        >"$out/result.json" 2>"$out/stderr.log" &
    local pid=$!
    PM_HELPER_PIDS+=" $pid"
    wait "$pid"
    BROWSE_RC=$?
    PM_HELPER_PIDS=${PM_HELPER_PIDS/ $pid/}
    BROWSE_JSON=$(tail -n 1 "$out/result.json" 2>/dev/null)
    ((BROWSE_RC == 0))
    check $? "$3: the browser clicked #$2 and landed on redirect_url" "exit $BROWSE_RC: $BROWSE_JSON $(tail -n 5 "$out/stderr.log" 2>/dev/null)"
    jq -e '.ok == true and (.screenshots | length) == 2' <<<"$BROWSE_JSON" >/dev/null 2>&1
    check $? "$3: two screenshots taken" "result: $BROWSE_JSON"
    local f ok=1
    for f in $(jq -r '.screenshots[]?' <<<"$BROWSE_JSON" 2>/dev/null); do
        [[ -s $f && $(head -c 8 "$f" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || ok=0
    done
    ((ok))
    check $? "$3: the screenshots are PNG files" "files: $(ls -la "$out" 2>/dev/null | tr '\n' ' ')"
    pm_note "$3: $(jq -c '{title, landed, ms}' <<<"$BROWSE_JSON" 2>/dev/null)"
}

# --- Pay ---------------------------------------------------------------------------------------
bp_checkout "$alice" coins_100
co=$CO
browse "$CO_URL" pay "pay"
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
browse "$CO_URL" cancel "cancel"
bp_confirm "$alice" "$co2"
expect_status 406 "confirm after Cancel in the browser: 406"
expect_json .state expired "expired"
expect_coins alice 100 "the cancelled checkout delivered nothing"
expect_alive "at the end" $(pm_store_pids)
