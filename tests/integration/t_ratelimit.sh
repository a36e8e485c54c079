#!/usr/bin/env bash
# Failed authentications are rate limited per client address (issue 13,
# docs/api.md "Rate limit"): after auth-fail-limit 401s (missing, unknown or
# revoked token) within auth-fail-window-s, every request from the address
# to a route that takes a token is answered 429 rate_limited, in the route
# family's error shape and with Retry-After, without asking payment-core,
# whatever token it carries (a good one too: the address is blocked), until
# the block ends. Successful requests are not counted; routes without a
# token (/healthz, /readyz, unknown paths) are not limited. The table is
# shared by the gateway's event loops (four here; every request is a new
# connection).
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_methods bob
LIMIT=5 WINDOW_S=4
pm_start_gateway --auth-fail-limit "$LIMIT" --auth-fail-window-s "$WINDOW_S" --http-threads 4
alice=$(pm_token alice)
pm_create "$alice" alice bob
id=$TXID

# Successes are not counted.
for i in $(seq 1 $((LIMIT * 3))); do
    http GET "/api/v1/payment/$id/retrieve" -t "$alice"
    [[ $RESP_STATUS == 200 ]] || break
done
expect_status 200 "$((LIMIT * 3)) successful requests in a row: none refused"

# LIMIT failures: each an ordinary 401 (unknown token, missing token, revoked
# token alike); below the limit a good token still works.
revoked=$(pm_token mallory)
pm_ctl token revoke --principal mallory >/dev/null || pm_fatal "token revoke failed"
for ((i = 1; i < LIMIT; i++)); do
    case $i in
    1) http GET "/api/v1/payment/$id/retrieve" ;;
    2) http GET "/api/v1/payment/$id/retrieve" -t "$revoked" ;;
    *) http GET "/api/v1/payment/$id/retrieve" -t "bad-token-$i-$(pm_uuid)" ;;
    esac
    expect_error 401 unauthorized "failure $i of $LIMIT: 401"
done
http GET "/api/v1/payment/$id/retrieve" -t "$alice"
expect_status 200 "$((LIMIT - 1)) failures: a good token from the address still works"
http POST /api/v1/payment/create -t "bad-token-last-$(pm_uuid)" -d '{not json'
expect_error 401 unauthorized "failure $LIMIT of $LIMIT: still 401 (the limit-th is answered)"
t_blocked=$(date +%s.%N)

# Blocked: 429 for a bad token, no token and a good token, on every family.
http GET "/api/v1/payment/$id/retrieve" -t "bad-token-$(pm_uuid)"
expect_error 429 rate_limited "blocked: an unknown token gets 429"
expect_header Retry-After "^[1-$WINDOW_S]$" "429 has Retry-After of at most $WINDOW_S s"
expect_jq '.message | test("failed authentications")' "429 message says why"
http GET "/api/v1/payment/$id/retrieve"
expect_error 429 rate_limited "blocked: no token gets 429"
http GET "/api/v1/payment/$id/retrieve" -t "$alice"
expect_error 429 rate_limited "blocked: a good token from the address gets 429 too"
expect_header Retry-After '^[0-9]+$' "good token's 429 has Retry-After"
http POST /api/v1/payment/create -t "$alice" -d "$(create_body "$(pm_uuid)" alice bob 1.00)"
expect_error 429 rate_limited "blocked: POST create with a good token gets 429"
http GET /finance/packages -t "$alice"
expect_status 429 "blocked: store family 429"
expect_jq '.code == "rate_limited" and (.error | type == "string") and (has("message") | not)' \
    "store family: {error, code} shape"
expect_header Retry-After '^[0-9]+$' "store family 429 has Retry-After"
http POST /gen-reg-no/ -t "$alice" -d '{}'
expect_status 429 "blocked: order family 429"
expect_jq '.status == 0 and .code == "rate_limited" and (.message | type == "string")' \
    "order family: {status: 0, message, code} shape"
http GET /healthz
expect_status 200 "blocked: /healthz takes no token and is not limited"
http GET /readyz
expect_status 200 "blocked: /readyz is not limited"
http GET /no/such/route -t "$alice"
expect_error 404 not_found "blocked: an unknown path is still 404"

# The block ends WINDOW_S after the failure that started it; the requests
# refused meanwhile did not lengthen it.
left=$(awk -v t="$t_blocked" -v w="$WINDOW_S" -v now="$(date +%s.%N)" 'BEGIN { d = t + w - now + 0.3; print (d > 0 ? d : 0) }')
sleep "$left"
http GET "/api/v1/payment/$id/retrieve" -t "$alice"
expect_status 200 "after the window a good token works again"
http GET "/api/v1/payment/$id/retrieve" -t "bad-$(pm_uuid)"
expect_error 401 unauthorized "after the window a bad token is 401 again (counted afresh)"
http GET "/api/v1/payment/$id/retrieve" -t "$alice"
expect_status 200 "one failure after the block does not block again"

# Without payment-core: a missing token is the gateway's own 401 (counted
# alike), and a blocked address is answered 429 by the gateway alone, not
# the 503 of an unreachable core.
pm_stop "$CORE_PID"
for ((i = 1; i < LIMIT; i++)); do
    http GET "/api/v1/payment/$id/retrieve"
    [[ $RESP_STATUS == 401 ]] || break
done
expect_error 401 unauthorized "payment-core down: a missing token is still 401"
http GET "/api/v1/payment/$id/retrieve" -t "$alice"
expect_error 429 rate_limited "payment-core down, address blocked: 429, not 503"
pm_start_core
pm_stop "$GW_PID"

# The default (100 per 60 s) leaves room for the suite's own bad tokens
# (t_auth sends about 30) and is listed by --help.
pm_start_gateway
n401=0
for i in $(seq 1 40); do
    http GET "/api/v1/payment/$id/retrieve" -t "bad-$i"
    [[ $RESP_STATUS == 401 ]] && n401=$((n401 + 1))
done
((n401 == 40))
check $? "default limit: 40 failures are all 401" "$n401 of 40 were 401, last $RESP_STATUS"
http GET "/api/v1/payment/$id/retrieve" -t "$alice"
expect_status 200 "default limit: a good token still works after 40 failures"
help=$("$PM_BIN/api-gateway" --help 2>&1)
grep -Eq -- '--auth-fail-limit +PAYMESH_AUTH_FAIL_LIMIT +default 100,' <<<"$help"
check $? "--help: auth-fail-limit defaults to 100" "$(grep -- auth-fail <<<"$help")"
grep -Eq -- '--auth-fail-window-s +PAYMESH_AUTH_FAIL_WINDOW_S +default 60,' <<<"$help"
check $? "--help: auth-fail-window-s defaults to 60" "$(grep -- auth-fail <<<"$help")"
pm_stop "$GW_PID"

# auth-fail-limit 0: no limit.
pm_start_gateway --auth-fail-limit 0
n401=0
for i in $(seq 1 12); do
    http GET "/api/v1/payment/$id/retrieve"
    [[ $RESP_STATUS == 401 ]] && n401=$((n401 + 1))
done
((n401 == 12))
check $? "auth-fail-limit 0: never 429" "$n401 of 12 were 401, last $RESP_STATUS"
