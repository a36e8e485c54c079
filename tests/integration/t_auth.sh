#!/usr/bin/env bash
# Who may do what (docs/api.md "Who may do what"): 401 for a missing or
# unknown token (and before any 400), 403 acces_error for the wrong party,
# 404 for a payment the caller may not see, an unknown or malformed id, and
# unknown routes; 405 with Allow for a known path and another method.
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_methods bob
pm_start_gateway
alice=$(pm_token alice)
bob=$(pm_token bob)
carol=$(pm_token carol)

pm_create "$alice" alice bob
id=$TXID
idem() { printf '{"idempotency_token":"%s"}' "$(pm_uuid)"; }
edit_body() { printf '{"idempotency_token":"%s","money_info":{"currency":"USD","amount":"3.00"}}' "$(pm_uuid)"; }

# --- 401 ----------------------------------------------------------------------
valid_create=$(create_body "$(pm_uuid)" alice bob 1.00)
routes=("POST /api/v1/payment/create" "GET /api/v1/payment/$id/retrieve"
    "GET /api/v1/payment/$id/retrieve/status" "POST /api/v1/payment/$id/cancel"
    "POST /api/v1/payment/$id/edit" "POST /api/v1/payment/$id/accept")
for r in "${routes[@]}"; do
    m=${r%% *} p=${r#* }
    body=()
    [[ $m == POST ]] && body=(-d "$valid_create")
    http "$m" "$p" "${body[@]}"
    expect_error 401 unauthorized "$m ${p/$id/ID} without a token"
    http "$m" "$p" -t "not-a-token-$(pm_uuid)" "${body[@]}"
    expect_error 401 unauthorized "$m ${p/$id/ID} with an unknown token"
done
http GET "/api/v1/payment/$id/retrieve" -H "x_auth_token;"
expect_error 401 unauthorized "empty x_auth_token"
http GET "/api/v1/payment/$id/retrieve" -H "Authorization: Bearer "
expect_error 401 unauthorized "empty bearer token"
http GET "/api/v1/payment/$id/retrieve" -H "Authorization: Token "
expect_error 401 unauthorized "empty Token token"
http GET "/api/v1/payment/$id/retrieve" -H "Authorization: Basic $alice"
expect_error 401 unauthorized "Authorization scheme other than Bearer and Token"
http GET "/api/v1/payment/$id/retrieve" -t "${alice}x"
expect_error 401 unauthorized "token with one extra character"
http GET "/api/v1/payment/$id/retrieve" -t "${alice:0:${#alice}-1}"
expect_error 401 unauthorized "token missing its last character"

# Two credentials that disagree are refused, never one picked; blanks around a
# token are not part of it.
http GET "/api/v1/payment/$id/retrieve" -H "x_auth_token: $alice" -H "X-Auth-Token: $bob"
expect_error 401 unauthorized "x_auth_token and X-Auth-Token of different principals"
http GET "/api/v1/payment/$id/retrieve" -H "x_auth_token: $alice" -H "Authorization: Bearer $carol"
expect_error 401 unauthorized "x_auth_token and Bearer token that disagree"
http GET "/api/v1/payment/$id/retrieve" -H "x_auth_token: $alice" -H "Authorization: Token $carol"
expect_error 401 unauthorized "x_auth_token and Token token that disagree"
http GET "/api/v1/payment/$id/retrieve" -H "x_auth_token: $alice" -H "Authorization: Token $alice"
expect_status 200 "x_auth_token and the same Token token are accepted"
http GET "/api/v1/payment/$id/retrieve" -H "Authorization: token   $alice "
expect_status 200 "Authorization: Token, scheme in any case, blanks trimmed"
http GET "/api/v1/payment/$id/retrieve" -H "x_auth_token: $alice" -H "X-Auth-Token: $alice"
expect_status 200 "the same token in two headers is accepted"
http GET "/api/v1/payment/$id/retrieve" -H "x_auth_token:   $alice   "
expect_status 200 "blanks around the token are trimmed"

# 401 wins over 400 (and over 404 and 403).
http POST /api/v1/payment/create -d '{not json'
expect_error 401 unauthorized "no token + malformed JSON: 401"
http POST /api/v1/payment/create -t bogus -d '{not json'
expect_error 401 unauthorized "unknown token + malformed JSON: 401"
http POST /api/v1/payment/create -t bogus -d '{"idempotency_token":"x","money_info":{"currency":"USD","amount":-1}}'
expect_error 401 unauthorized "unknown token + invalid fields: 401"
http POST /api/v1/payment/create -t bogus -d "$(create_body "$(pm_uuid)" bob alice 1.00)"
expect_error 401 unauthorized "unknown token + another sender: 401 (not 403)"
http POST "/api/v1/payment/$id/cancel" -t bogus -d 'null'
expect_error 401 unauthorized "unknown token + cancel body null: 401"
http GET "/api/v1/payment/00000000-0000-4000-8000-000000000000/retrieve" -t bogus
expect_error 401 unauthorized "unknown token + unknown id: 401 (not 404)"
http POST "/api/v1/payment/$id/edit" -d '{"idempotency_token":"x","money_info":{"currency":"XXX","amount":"1"}}'
expect_error 401 unauthorized "no token + bad currency on edit: 401"

# --- 403 acces_error ------------------------------------------------------------
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$(pm_uuid)" bob alice 1.00)"
expect_error 403 acces_error "alice creates with sender_id bob"
http POST "/api/v1/payment/$id/cancel" -t "$bob" -d "$(idem)"
expect_error 403 acces_error "recipient cancels"
http POST "/api/v1/payment/$id/edit" -t "$bob" -d "$(edit_body)"
expect_error 403 acces_error "recipient edits"
http POST "/api/v1/payment/$id/accept" -t "$alice" -d "$(idem)"
expect_error 403 acces_error "sender accepts"
http GET "/api/v1/payment/$id/retrieve/status" -t "$alice"
expect_json .payment_status created "refused writes changed nothing"

# --- 404 ------------------------------------------------------------------------
for r in "GET /retrieve" "GET /retrieve/status" "POST /cancel" "POST /edit" "POST /accept"; do
    m=${r%% *} suffix=${r#* }
    body=()
    [[ $suffix == /edit ]] && body=(-d "$(edit_body)")
    [[ $suffix == /cancel || $suffix == /accept ]] && body=(-d "$(idem)")
    http "$m" "/api/v1/payment/$id$suffix" -t "$carol" "${body[@]}"
    expect_error 404 not_found "carol: $m $suffix of alice's payment" "payment $id not found"
    expect_jq ".message == \"payment $id not found\"" "carol: $suffix message exact"
done
unknown=$(pm_uuid)
http GET "/api/v1/payment/$unknown/retrieve" -t "$alice"
expect_error 404 not_found "unknown id"
expect_jq ".message == \"payment $unknown not found\"" "unknown id: message exact"
http POST "/api/v1/payment/$unknown/cancel" -t "$alice" -d "$(idem)"
expect_error 404 not_found "cancel of unknown id" "payment $unknown not found"
for bad in not-a-uuid 12345 "${id:0:35}" "${id}0" "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"; do
    http GET "/api/v1/payment/$bad/retrieve" -t "$alice"
    expect_error 404 not_found "malformed id '$bad'"
    expect_jq ".message == \"payment $bad not found\"" "malformed id '$bad': message exact"
done
http GET "/api/v1/payment/$id/retrieve/status/extra" -t "$alice"
expect_error 404 not_found "unknown route under a payment"
http GET /api/v1/payment/ -t "$alice"
expect_error 404 not_found "GET /api/v1/payment/"
http GET /api/v2/payment/create -t "$alice"
expect_error 404 not_found "unknown API version"
http GET / -t "$alice"
expect_error 404 not_found "GET /"
http POST "/api/v1/payment/$id/refund" -t "$alice" -d "$(idem)"
expect_error 404 not_found "unknown action"

# --- 405 ------------------------------------------------------------------------
http GET /api/v1/payment/create -t "$alice"
expect_error 405 method_not_allowed "GET create"
expect_header Allow 'POST' "GET create: Allow lists POST"
http PUT /api/v1/payment/create/ -t "$alice" -d "$(create_body "$(pm_uuid)" alice bob 1)"
expect_error 405 method_not_allowed "PUT create/"
http POST "/api/v1/payment/$id/retrieve" -t "$alice" -d '{}'
expect_error 405 method_not_allowed "POST retrieve"
expect_header Allow 'GET' "POST retrieve: Allow lists GET"
http DELETE "/api/v1/payment/$id/retrieve/status/" -t "$alice"
expect_error 405 method_not_allowed "DELETE retrieve/status/"
for a in cancel edit accept; do
    http GET "/api/v1/payment/$id/$a" -t "$alice"
    expect_error 405 method_not_allowed "GET $a"
    expect_header Allow 'POST' "GET $a: Allow lists POST"
done

http GET "/api/v1/payment/$id/retrieve/status" -t "$alice"
expect_json .payment_status created "nothing above changed the payment"
