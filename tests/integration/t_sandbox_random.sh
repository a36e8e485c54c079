#!/usr/bin/env bash
# The sandbox's random fault mode (docs/sandbox.md "POST /sandbox/faults/random"):
# bad configurations are refused and change nothing; per_mille 0 faults
# nothing and 1000 faults every provider call, counted exactly; rules come
# first; admin paths, icons and the payment page are never faulted; a dropped
# BazaarPay commit is applied though the client gets no answer; timeout and
# delay hold as long as asked; the same seed over the same calls gives the
# same faults (read from the call log); DELETE switches it off. Only the
# sandbox runs.
. "$(dirname "$0")/lib.sh"

PM_CURL_MAX_TIME_S=5
pm_start_sandbox

# sbh METHOD PATH [http options]: http (lib.sh) against the sandbox; its
# answers are not the gateway's, so they stay out of PM_RESPONSES.
sbh() {
    local BASE=$SANDBOX_URL PM_RESPONSES=
    http "$@"
}

PISHKHAN='CAFEBAZAAR-PISHKHAN-API-SECRET: sandbox-pishkhan'
MERCHANT='Authorization: Token sandbox-merchant-token'
JSON='Content-Type: application/json'
ALL_KINDS='["timeout","status","drop_response","delay"]'

# validate TOKEN: Cafe Bazaar's validate of a purchase.
validate() {
    sbh GET "/devapi/v2/api/validate/$PM_BAZAAR_PACKAGE/inapp/coins_100/purchases/$1/" -H "$PISHKHAN"
}

# random_set JSON LABEL: POST /sandbox/faults/random, which must answer 200.
random_set() {
    sbh POST /sandbox/faults/random -d "$1"
    expect_status 200 "$2"
}

# random_get: GET /sandbox/faults/random into RESP_BODY.
random_get() {
    sbh GET /sandbox/faults/random
}

# new_checkout: a BazaarPay checkout, unpaid; sets CO.
new_checkout() {
    sbh POST /badje/v1/checkout/init/ -H "$MERCHANT" -H "$JSON" \
        -d '{"amount":1000,"destination":"developers","service_name":"100 coins"}'
    [[ $RESP_STATUS == 200 ]] || pm_fatal "checkout init answered $RESP_STATUS $RESP_BODY"
    CO=$(jq -er .checkout_token <<<"$RESP_BODY") || pm_fatal "no checkout_token in $RESP_BODY"
}

T=$(sb_buy coins_100)

# --- state at start, bad input ---------------------------------------------

random_get
expect_status 200 "GET before any configuration: 200"
expect_jq '.enabled == false and .per_mille == 0 and .seed == 1 and .kinds == ["timeout","status","drop_response"]
    and .services == ["bazaar","bazaarpay","rbs","tfeb"] and .timeout_ms == 3000 and .delay_ms == 500
    and .status == 503 and .calls_seen == 0 and .injected == {"timeout":0,"status":0,"drop_response":0,"delay":0}
    and .by_service.tfeb == {"seen":0,"injected":0}' "off, with the defaults"

random_set '{"per_mille":0,"seed":5,"kinds":["delay"],"delay_ms":0}' "a valid configuration: 200"
expect_jq '.enabled and .per_mille == 0 and .seed == 5 and .kinds == ["delay"] and .delay_ms == 0' \
    "the answer is the configuration"
validate "$T"
expect_status 200 "per_mille 0: validate is not faulted"
random_get
before=$RESP_BODY
expect_jq '.calls_seen == 1 and .by_service.bazaar == {"seen":1,"injected":0}' "the call is seen, not faulted"

bad=('not json' '[1]' '{}' '{"per_mille":null}' '{"per_mille":1001}' '{"per_mille":-1}'
    '{"per_mille":"5"}' '{"per_mille":5.5}' '{"per_mille":5,"seed":-1}'
    '{"per_mille":5,"seed":9007199254740993}' '{"per_mille":5,"kinds":[]}'
    '{"per_mille":5,"kinds":["explode"]}' '{"per_mille":5,"kinds":["status","status"]}'
    '{"per_mille":5,"kinds":"status"}' '{"per_mille":5,"services":["paypal"]}'
    '{"per_mille":5,"services":[]}' '{"per_mille":5,"timeout_ms":0}' '{"per_mille":5,"timeout_ms":60001}'
    '{"per_mille":5,"delay_ms":-1}' '{"per_mille":5,"status":404}' '{"per_mille":5,"status":600}'
    '{"per_mille":5,"per_mile":7}')
for b in "${bad[@]}"; do
    sbh POST /sandbox/faults/random -d "$b"
    expect_status 400 "refused: $b"
    expect_jq '.error | type == "string" and length > 0' "an error saying why: $b"
done
random_get
[[ $RESP_BODY == "$before" ]]
check $? "refused configurations changed nothing" "before $before, after $RESP_BODY"

# --- per_mille 1000: every call, counted; rules first -----------------------

random_set '{"per_mille":1000,"kinds":["status"],"status":502,"services":["bazaar"]}' "per_mille 1000, status 502"
expect_jq '.calls_seen == 0 and .seed == 1' "setting again resets the counters"
sb_clear_calls
for i in 1 2 3 4 5 6; do
    validate "$T"
    expect_status 502 "per_mille 1000: validate $i answers 502"
done
expect_jq '.error == "server_error"' "in Cafe Bazaar's error shape"
sb_fault '{"service":"bazaar","kind":"status","status":429,"match":"validate"}'
validate "$T"
expect_status 429 "a rule is taken before the random mode"
random_get
expect_jq '.calls_seen == 6 and .injected == {"timeout":0,"status":6,"drop_response":0,"delay":0}
    and .by_service.bazaar == {"seen":6,"injected":6} and .by_service.bazaarpay == {"seen":0,"injected":0}' \
    "6 seen, 6 status faults injected (the rule's call not among them)"
sb GET '/sandbox/calls?service=bazaar'
jq -e '[.calls[].fault] == ["status","status","status","status","status","status","status"]
    and [.calls[].status] == [502,502,502,502,502,502,429]' <<<"$SB_BODY" >/dev/null
check $? "the call log shows the injected faults" "$SB_BODY"
sbh POST /badje/v1/trace/ -H "$JSON" -d '{"checkout_token":"1"}'
expect_status 200 "a provider not selected is not faulted"

# --- never faulted: admin, icons, the payment page ----------------------------

sbh DELETE /sandbox/faults/random
new_checkout
sb_clear_calls
random_set "{\"per_mille\":1000,\"kinds\":[\"timeout\",\"status\",\"drop_response\"],\"timeout_ms\":1}" \
    "per_mille 1000 on everything"
back='http%3A%2F%2F127.0.0.1%3A9%2Fback'
sbh GET "/bazaarpay/payment?token=$CO&redirect_url=$back"
expect_status 200 "the payment page is not faulted"
sbh POST /bazaarpay/payment/pay -H 'Content-Type: application/x-www-form-urlencoded' \
    -d "token=$CO&redirect_url=$back"
expect_status 303 "its Pay form is not faulted"
sbh POST /sandbox/bazaar/purchases -d "{\"package_name\":\"$PM_BAZAAR_PACKAGE\",\"sku\":\"coins_100\"}"
expect_status 201 "admin POST is not faulted"
sbh GET "/sandbox/bazaarpay/checkouts/$CO"
expect_status 200 "admin GET is not faulted"
expect_json .status paid_not_committed "the Pay form was applied"
st=$(curl -s --noproxy '*' --max-time "$PM_CURL_MAX_TIME_S" -o /dev/null -w '%{http_code}' \
    "$SANDBOX_URL/sandbox/icons/coins_100.png")
[[ $st == 200 ]]
check $? "icons are not faulted" "GET /sandbox/icons/coins_100.png answered $st"
sbh GET /sandbox/calls
expect_jq '.calls == []' "none of these is a provider call"
random_get
expect_jq '.calls_seen == 0' "the random mode saw none of them"

# --- drop_response on a commit: applied, answer lost ---------------------------

random_set '{"per_mille":1000,"kinds":["drop_response"],"services":["bazaarpay"]}' "drop every BazaarPay answer"
sbh POST /badje/v1/commit/ -H "$MERCHANT" -H "$JSON" -d "{\"checkout_token\":\"$CO\"}"
expect_status 000 "the commit gets no answer"
sbh GET "/sandbox/bazaarpay/checkouts/$CO"
expect_jq '.commits == 1 and .status == "paid_committed"' "yet the commit was applied"
validate "$T"
expect_status 200 "Cafe Bazaar, not selected, answers"
random_get
expect_jq '.calls_seen == 1 and .injected.drop_response == 1 and .by_service.bazaarpay.injected == 1' \
    "one drop_response counted"
sb GET '/sandbox/calls?service=bazaarpay'
jq -e '.calls[-1] | .fault == "drop_response" and .status == null' <<<"$SB_BODY" >/dev/null
check $? "logged as drop_response without a status" "$SB_BODY"

# --- timeout and delay hold as asked ---------------------------------------------

random_set '{"per_mille":1000,"kinds":["timeout"],"timeout_ms":1200}' "timeouts of 1200 ms"
validate "$T"
expect_status 000 "a timeout closes without an answer"
awk -v t="$RESP_TIME_S" 'BEGIN { exit !(t >= 1.1 && t < 4) }'
check $? "after about timeout_ms" "took ${RESP_TIME_S}s"
random_set '{"per_mille":1000,"kinds":["delay"],"delay_ms":400}' "delays of 400 ms"
validate "$T"
expect_status 200 "a delay answers normally"
awk -v t="$RESP_TIME_S" 'BEGIN { exit !(t >= 0.35 && t < 3) }'
check $? "after about delay_ms" "took ${RESP_TIME_S}s"

# --- the same seed, the same faults ------------------------------------------------

# run_sequence SEED: 30 sequential calls (validate and trace in turn) under
# per_mille 500 of every kind; sets SEQ to the faults of the call log, one a
# line ("-" for none), and SEEN and INJECTED to the counters.
run_sequence() {
    random_set "{\"per_mille\":500,\"seed\":$1,\"kinds\":$ALL_KINDS,\"timeout_ms\":1,\"delay_ms\":0}" \
        "seed $1: 200"
    sb_clear_calls
    local i
    for ((i = 0; i < 15; i++)); do
        validate "$T"
        sbh POST /badje/v1/trace/ -H "$JSON" -d "{\"checkout_token\":\"$CO\"}"
    done
    sb GET /sandbox/calls
    SEQ=$(jq -r '.calls[] | .fault // "-"' <<<"$SB_BODY")
    random_get
    SEEN=$(jq -r '.calls_seen' <<<"$RESP_BODY") INJECTED=$(jq -r '[.injected[]] | add' <<<"$RESP_BODY")
}
run_sequence 424242
seq1=$SEQ n1=$SEEN i1=$INJECTED
run_sequence 424242
seq2=$SEQ
run_sequence 77
seq3=$SEQ
[[ $(wc -l <<<"$seq1") == 30 && $n1 == 30 ]]
check $? "30 calls logged and seen" "$(wc -l <<<"$seq1") logged, $n1 seen"
[[ $seq1 == "$seq2" ]]
check $? "the same seed gives the same faults" "$(paste -d' ' <(echo "$seq1") <(echo "$seq2") | tr '\n' ',')"
[[ $seq1 != "$seq3" ]]
check $? "another seed gives other faults" "$(tr '\n' ' ' <<<"$seq1")"
[[ $(grep -vc '^-$' <<<"$seq1") == "$i1" ]]
check $? "the counters match the call log ($i1 injected)" "$(tr '\n' ' ' <<<"$seq1")"
kinds=$(grep -v '^-$' <<<"$seq1" | sort -u | tr '\n' ' ')
[[ $kinds == "delay drop_response status timeout " ]]
check $? "every kind came up" "kinds seen: $kinds"
pm_note "seed 424242: $(tr '\n' ' ' <<<"$seq1" | sed 's/drop_response/drop/g')"

# --- DELETE -------------------------------------------------------------------------

random_get
last=$(jq -c 'del(.enabled)' <<<"$RESP_BODY")
sbh DELETE /sandbox/faults/random
expect_status 200 "DELETE: 200"
expect_jq ".enabled == false and (del(.enabled) == $last)" "answers the final state, off"
for i in 1 2 3; do
    validate "$T"
    expect_status 200 "off: validate $i is not faulted"
done
random_get
expect_jq ".enabled == false and (del(.enabled) == $last)" "off: nothing more counted"
