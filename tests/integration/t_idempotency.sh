#!/usr/bin/env bash
# Idempotency (docs/api.md "Idempotency"): a repeated token with the same
# request replays the first response byte for byte; with another request it
# is 422 idempotency_error; tokens are scoped to the caller's principal.
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_methods bob alice # bob also pays alice below
pm_start_gateway
alice=$(pm_token alice)
bob=$(pm_token bob)
alice2=$(pm_token alice) # a second token of the same principal
svc=$(pm_token ops service)

save() { cp "$PM_TMP/resp.body" "$PM_TMP/$1"; }
# same_bytes FIRST LABEL: the last body is byte for byte the saved one.
same_bytes() {
    cmp -s "$PM_TMP/$1" "$PM_TMP/resp.body"
    check $? "$2" "body differs from the first response: first '$(head -c 300 "$PM_TMP/$1")', now '$(head -c 300 "$PM_TMP/resp.body")'"
}

# --- create replay ------------------------------------------------------------
payments0=$(pm_stat payments)
tok=$(pm_uuid)
body=$(create_body "$tok" alice bob 1.10)
http POST /api/v1/payment/create -t "$alice" -d "$body"
expect_status 200 "first create"
save create1
id=$(jq -r .transaction_id "$PM_TMP/create1")
for i in 1 2 3; do
    http POST /api/v1/payment/create -t "$alice" -d "$body"
    expect_status 200 "replay $i: same status"
    same_bytes create1 "replay $i: same body bytes"
done
http POST /api/v1/payment/create/ -t "$alice" -d "$body"
expect_status 200 "replay with trailing slash: same status"
same_bytes create1 "replay with trailing slash: same body bytes"
http POST /api/v1/payment/create -t "$alice2" -d "$body"
expect_status 200 "replay with another token of the same principal"
same_bytes create1 "replay through another token of alice: same bytes"
# "Same request" is judged on the parsed request: 1.1 == 1.10, key order, spaces.
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$tok" alice bob 1.1)"
expect_status 200 "replay with 1.1 for 1.10"
same_bytes create1 "replay with 1.1 for 1.10: same bytes"
http POST /api/v1/payment/create -t "$alice" -d "{ \"sender\": {\"sender_id\": \"alice\"}, \"recipcient\": {\"recipcient_id\": \"bob\"},
  \"money_info\": {\"amount\": \"1.10\", \"currency\": \"USD\", \"method_id\": \"card-1\"}, \"idempotency_token\": \"$tok\" }"
expect_status 200 "replay with other key order, spacing, string amount"
same_bytes create1 "replay, reordered: same bytes"
payments1=$(pm_stat payments)
[[ $payments1 -eq $((payments0 + 1)) ]]
check $? "replays created one payment" "payments went from $payments0 to $payments1"

# --- same token, another request: 422 -----------------------------------------
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$tok" alice bob 1.11)"
expect_error 422 idempotency_error "same token, other amount"
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$tok" alice bob 1.10 EUR)"
expect_error 422 idempotency_error "same token, other currency"
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$tok" alice carol 1.10)"
expect_error 422 idempotency_error "same token, other recipient"
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$tok" alice bob 1.10 USD card-2)"
expect_error 422 idempotency_error "same token, other method"
http POST "/api/v1/payment/$id/cancel" -t "$alice" -d "{\"idempotency_token\":\"$tok\"}"
expect_error 422 idempotency_error "same token on another path (cancel)"
http GET "/api/v1/payment/$id/retrieve/status" -t "$alice"
expect_json .payment_status created "the 422 cancel did not cancel"
[[ $(pm_stat payments) -eq $payments1 ]]
check $? "422s created nothing" "payments changed"
http POST /api/v1/payment/create -t "$alice" -d "$body"
same_bytes create1 "after the 422s the original still replays"

# --- scoped to the principal ---------------------------------------------------
http POST /api/v1/payment/create -t "$bob" -d "$(create_body "$tok" bob alice 1.10)"
expect_status 200 "bob reuses alice's token string: independent"
bid=$(jq -r '.transaction_id // empty' "$PM_TMP/resp.body")
[[ -n $bid && $bid != "$id" ]]
check $? "bob's payment is a new one" "bob got '$bid', alice's is '$id'"
http POST /api/v1/payment/create -t "$svc" -d "$body"
expect_status 200 "service reuses alice's token and body: independent"
sid=$(jq -r '.transaction_id // empty' "$PM_TMP/resp.body")
[[ -n $sid && $sid != "$id" ]]
check $? "service's payment is a new one" "service got '$sid', alice's is '$id'"

# --- accept replay returns the first answer, not a fresh decision --------------
acc=$(pm_uuid)
http POST "/api/v1/payment/$id/accept" -t "$bob" -d "{\"idempotency_token\":\"$acc\",\"accept_info\":{\"k\":1}}"
expect_status 200 "accept"
save accept1
http POST "/api/v1/payment/$id/edit" -t "$alice" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"currency\":\"USD\",\"amount\":2}}"
expect_json .payment_status created "edit returns the payment to created"
http POST "/api/v1/payment/$id/accept" -t "$bob" -d "{\"idempotency_token\":\"$acc\",\"accept_info\":{\"k\":1}}"
expect_status 200 "accept replay after edit: first status"
same_bytes accept1 "accept replay after edit: first body"
http GET "/api/v1/payment/$id/retrieve/status" -t "$bob"
expect_json .payment_status created "accept replay was not applied again"
http POST "/api/v1/payment/$id/accept" -t "$bob" -d "{\"idempotency_token\":\"$acc\",\"accept_info\":{\"k\":2}}"
expect_error 422 idempotency_error "accept replay with other accept_info"

# --- edit and cancel replays ------------------------------------------------------
ed=$(pm_uuid)
edit="{\"idempotency_token\":\"$ed\",\"money_info\":{\"currency\":\"USD\",\"amount\":\"3.30\"}}"
http POST "/api/v1/payment/$id/edit" -t "$alice" -d "$edit"
expect_status 200 "edit"
save edit1
http POST "/api/v1/payment/$id/edit/" -t "$alice" -d "$edit"
expect_status 200 "edit replay"
same_bytes edit1 "edit replay: same bytes"
can=$(pm_uuid)
http POST "/api/v1/payment/$id/cancel" -t "$alice" -d "{\"idempotency_token\":\"$can\",\"reason\":\"other\"}"
expect_status 200 "cancel"
save cancel1
http POST "/api/v1/payment/$id/cancel" -t "$alice" -d "{\"idempotency_token\":\"$can\",\"reason\":\"other\"}"
expect_status 200 "cancel replay on a cancelled payment: still the first 200"
same_bytes cancel1 "cancel replay: same bytes"
http POST "/api/v1/payment/$id/cancel" -t "$alice" -d "{\"idempotency_token\":\"$can\",\"reason\":\"fraudulent\"}"
expect_error 422 idempotency_error "cancel token with another reason"
http POST "/api/v1/payment/$id/edit" -t "$alice" -d "$edit"
expect_status 200 "edit replay after cancel: the stored 200"
same_bytes edit1 "edit replay after cancel: same bytes"

# --- decided errors are stored and replayed too ------------------------------------
late=$(pm_uuid)
http POST "/api/v1/payment/$id/edit" -t "$alice" \
    -d "{\"idempotency_token\":\"$late\",\"money_info\":{\"currency\":\"USD\",\"amount\":4}}"
expect_error 400 validation_error "edit of a cancelled payment: 400"
save late1
http POST "/api/v1/payment/$id/edit" -t "$alice" \
    -d "{\"idempotency_token\":\"$late\",\"money_info\":{\"currency\":\"USD\",\"amount\":4}}"
expect_status 400 "stored 400 replays its status"
same_bytes late1 "stored 400 replays its bytes"
forb=$(pm_uuid)
pm_create "$alice" alice bob
http POST "/api/v1/payment/$TXID/accept" -t "$alice" -d "{\"idempotency_token\":\"$forb\"}"
expect_error 403 acces_error "sender accepts: 403"
save forb1
http POST "/api/v1/payment/$TXID/accept" -t "$alice" -d "{\"idempotency_token\":\"$forb\"}"
expect_status 403 "stored 403 replays its status"
same_bytes forb1 "stored 403 replays its bytes"

# --- a 401 is not stored: the same token later succeeds ---------------------------
t401=$(pm_uuid)
http POST /api/v1/payment/create -t nobody -d "$(create_body "$t401" alice bob 1)"
expect_error 401 unauthorized "create with an unknown token"
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$t401" alice bob 1)"
expect_status 200 "same idempotency token after a 401 is processed afresh"

# --- the token itself ---------------------------------------------------------------
http POST /api/v1/payment/create -t "$alice" \
    -d '{"money_info":{"currency":"USD","amount":1},"recipcient":{"recipcient_id":"bob"},"sender":{"sender_id":"alice"}}'
expect_error 400 validation_error "missing idempotency_token" idempotency_token
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "" alice bob 1)"
expect_error 400 validation_error "empty idempotency_token" idempotency_token
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$(printf 'k%.0s' {1..256})" alice bob 1)"
expect_error 400 validation_error "256-character idempotency_token" idempotency_token
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$(printf 'k%.0s' {1..255})" alice bob 1)"
expect_status 200 "255-character idempotency_token"
http POST /api/v1/payment/create -t "$alice" -d "$(create_body 'a\tb' alice bob 1)"
expect_error 400 validation_error "idempotency_token with a control character" idempotency_token
http POST /api/v1/payment/create -t "$alice" -d "$(create_body 'ключ' alice bob 1)"
expect_error 400 validation_error "non-ASCII idempotency_token" idempotency_token
http POST /api/v1/payment/create -t "$alice" \
    -d '{"idempotency_token":42,"money_info":{"currency":"USD","amount":1},"recipcient":{"recipcient_id":"bob"},"sender":{"sender_id":"alice"}}'
expect_error 400 validation_error "numeric idempotency_token" idempotency_token
http POST "/api/v1/payment/$TXID/cancel" -t "$alice" -d '{}'
expect_error 400 validation_error "cancel without idempotency_token" idempotency_token
http POST "/api/v1/payment/$TXID/accept" -t "$bob" -d '{"accept_info":{}}'
expect_error 400 validation_error "accept without idempotency_token" idempotency_token
