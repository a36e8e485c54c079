#!/usr/bin/env bash
# The core payment API's happy paths (docs/api.md, seed 001): create,
# retrieve, status, accept, edit, cancel, with and without a trailing slash,
# with each way of sending the token, and a service token acting for anyone.
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_methods bob dave
pm_start_gateway
alice=$(pm_token alice)
bob=$(pm_token bob)
svc=$(pm_token billing-service service)

uuid_re='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
time_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?Z$'

# --- create, exactly the seed's body -----------------------------------------
http POST /api/v1/payment/create -t "$alice" -d '{
    "idempotency_token": "'"$(pm_uuid)"'",
    "money_info": {"method_id": "card-1", "currency": "BTC", "amount": 1.0},
    "recipcient": {"recipcient_id": "bob"},
    "sender": {"sender_id": "alice"}
}'
expect_status 200 "create (seed body)"
expect_jq "(.transaction_id | test(\"$uuid_re\")) and (keys == [\"transaction_id\"])" \
    "create answers {transaction_id: uuid}"
expect_header X-Request-Id '.+' "create carries X-Request-Id"
id=$(jq -r .transaction_id "$PM_TMP/resp.body")

# --- retrieve and status, by both parties -------------------------------------
for slash in "" /; do
    for who in alice bob; do
        http GET "/api/v1/payment/$id/retrieve$slash" -t "${!who}"
        expect_status 200 "$who retrieves (slash='$slash')"
        expect_json .payment.transaction_id "$id" "retrieve: transaction_id"
        expect_json .payment.sender.user_id alice "retrieve: sender.user_id"
        expect_json '.payment.sender.method_id' null "retrieve: sender.method_id null"
        expect_json .payment.recipcient.user_id bob "retrieve: recipcient.user_id"
        expect_json .payment.recipcient.method_id card-1 "retrieve: recipcient.method_id"
        expect_json .payment.currency BTC "retrieve: currency"
        expect_json .payment.status created "retrieve: status"
        expect_json .payment.cancel_reason null "retrieve: cancel_reason null"
        expect_jq ".payment.created_at | test(\"$time_re\")" "retrieve: created_at ISO 8601"
        expect_jq ".payment.updated_at | test(\"$time_re\")" "retrieve: updated_at ISO 8601"
        expect_body_match '"amount": *1\.00000000[,} ]' "retrieve: amount 1.00000000 as text"

        http GET "/api/v1/payment/$id/retrieve/status$slash" -t "${!who}"
        expect_status 200 "$who reads status (slash='$slash')"
        expect_jq '. == {"payment_status": "created"}' "status body"
    done
done

# --- the token in other headers -----------------------------------------------
http GET "/api/v1/payment/$id/retrieve/status" -H "X-Auth-Token: $alice"
expect_status 200 "X-Auth-Token header"
http GET "/api/v1/payment/$id/retrieve/status" -H "x-auth-token: $bob"
expect_status 200 "x-auth-token (lower case) header"
http GET "/api/v1/payment/$id/retrieve/status" -H "Authorization: Bearer $alice"
expect_status 200 "Authorization: Bearer"

# --- create with trailing slash, seed-alternative spellings, sender method ---
http POST /api/v1/payment/create/ -t "$alice" -d "$(printf '{"idempotency_token":"%s","money_info":{"method_id":"iban-9","currency":"usd","amount":"12.50"},"recipient":{"recipient_id":"bob"},"sender":{"sender_id":"alice","method_id":"card-a"}}' "$(pm_uuid)")"
expect_status 200 "create/ with recipient spelling, string amount, lower-case currency"
id2=$(jq -r '.transaction_id // empty' "$PM_TMP/resp.body")
http GET "/api/v1/payment/$id2/retrieve" -t "$bob"
expect_status 200 "retrieve second payment"
expect_json .payment.currency USD "currency upper-cased"
expect_json .payment.sender.method_id card-a "sender.method_id kept"
expect_json .payment.recipcient.method_id iban-9 "recipcient.method_id"
expect_body_match '"amount": *12\.50[,} ]' "string amount 12.50 kept exactly"

# --- accept (recipient), with and without slash --------------------------------
http POST "/api/v1/payment/$id/accept" -t "$bob" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"accept_info\":{\"note\":\"ok\"}}"
expect_status 200 "bob accepts"
expect_jq ". == {\"transaction_id\": \"$id\", \"payment_status\": \"accepted\"}" "accept body"
http GET "/api/v1/payment/$id/retrieve/status" -t "$alice"
expect_json .payment_status accepted "status accepted after accept"

http POST "/api/v1/payment/$id2/accept/" -t "$bob" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
expect_status 200 "accept/ (slash, no accept_info)"
expect_json .payment_status accepted "accept/ body"

# --- edit an accepted payment: back to created ---------------------------------
http POST "/api/v1/payment/$id/edit" -t "$alice" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"method_id\":\"card-2\",\"currency\":\"USD\",\"amount\":\"12.50\"}}"
expect_status 200 "alice edits the accepted payment"
expect_jq ". == {\"transaction_id\": \"$id\", \"payment_status\": \"created\"}" "edit body: back to created"
http GET "/api/v1/payment/$id/retrieve" -t "$alice"
expect_json .payment.status created "retrieve after edit: created"
expect_json .payment.currency USD "retrieve after edit: currency"
expect_json .payment.recipcient.method_id card-2 "retrieve after edit: method_id"
expect_body_match '"amount": *12\.50[,} ]' "retrieve after edit: amount 12.50"

http POST "/api/v1/payment/$id/edit/" -t "$alice" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"currency\":\"IRR\",\"amount\":250000}}"
expect_status 200 "edit/ (slash, method_id omitted)"
http GET "/api/v1/payment/$id/retrieve" -t "$alice"
expect_json .payment.recipcient.method_id card-2 "edit without method_id keeps it"
expect_body_match '"amount": *250000[,} ]' "IRR amount without decimals"

# --- accept again after the edit, then cancel ----------------------------------
http POST "/api/v1/payment/$id/accept/" -t "$bob" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
expect_status 200 "re-accept after edit"

http POST "/api/v1/payment/$id/cancel" -t "$alice" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"reason\":\"duplicate\"}"
expect_status 200 "alice cancels an accepted payment"
expect_jq ". == {\"transaction_id\": \"$id\", \"payment_status\": \"cancelled\"}" "cancel body"
http GET "/api/v1/payment/$id/retrieve/" -t "$bob"
expect_json .payment.status cancelled "retrieve: cancelled"
expect_json .payment.cancel_reason duplicate "retrieve: cancel_reason"

pm_create "$alice" alice bob
http POST "/api/v1/payment/$TXID/cancel/" -t "$alice" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
expect_status 200 "cancel/ (slash, no reason)"
http GET "/api/v1/payment/$TXID/retrieve" -t "$alice"
expect_json .payment.cancel_reason requested_by_sender "default cancel reason"

for reason in requested_by_sender fraudulent abandoned other; do
    pm_create "$alice" alice bob
    http POST "/api/v1/payment/$TXID/cancel" -t "$alice" \
        -d "{\"idempotency_token\":\"$(pm_uuid)\",\"reason\":\"$reason\"}"
    expect_status 200 "cancel reason $reason"
done

# --- a service token acts for anyone --------------------------------------------
http POST /api/v1/payment/create -t "$svc" -d "$(create_body "$(pm_uuid)" carol dave 5.00)"
expect_status 200 "service creates for carol"
sid=$(jq -r '.transaction_id // empty' "$PM_TMP/resp.body")
http GET "/api/v1/payment/$sid/retrieve" -t "$svc"
expect_status 200 "service retrieves"
expect_json .payment.sender.user_id carol "service-created payment's sender"
http GET "/api/v1/payment/$sid/retrieve/status" -t "$svc"
expect_json .payment_status created "service reads status"
http POST "/api/v1/payment/$sid/accept" -t "$svc" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
expect_status 200 "service accepts for dave"
http POST "/api/v1/payment/$sid/edit" -t "$svc" \
    -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"currency\":\"EUR\",\"amount\":7}}"
expect_status 200 "service edits for carol"
http POST "/api/v1/payment/$sid/cancel" -t "$svc" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"
expect_status 200 "service cancels for carol"
http GET "/api/v1/payment/$id/retrieve" -t "$svc"
expect_status 200 "service retrieves alice's payment"
