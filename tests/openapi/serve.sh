#!/usr/bin/env bash
# serve.sh: GET /openapi.json answers docs/openapi.yaml byte for byte, as
# application/json, without a token and without payment-core (none runs
# here), with and without a trailing slash; other methods are 405. Run by
# scripts/test.sh's check_openapi with the integration helpers.
. "$(dirname "$0")/../integration/lib.sh"

pm_start_gateway
doc="$PM_ROOT/docs/openapi.yaml"

for p in /openapi.json /openapi.json/; do
    http GET "$p"
    expect_status 200 "GET $p without a token"
    expect_header Content-Type '^application/json' "GET $p is application/json"
    cmp -s "$PM_TMP/resp.body" "$doc"
    check $? "GET $p is docs/openapi.yaml byte for byte" "the body differs (rebuild: make)"
done
http GET /openapi.json -t not-a-token
expect_status 200 "GET /openapi.json with any token"
http POST /openapi.json -d '{}'
expect_status 405 "POST /openapi.json"
expect_header Allow '^GET$' "POST /openapi.json: Allow lists GET"
