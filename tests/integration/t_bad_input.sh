#!/usr/bin/env bash
# Bad input (docs/api.md "Conventions"): malformed JSON, wrong types, unknown
# fields, bodies over the limit, invalid UTF-8, deep nesting, huge ids and
# headers all get a 4xx JSON error, change nothing and crash nothing.
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_methods bob
pm_start_gateway
alice=$(pm_token alice)
bob=$(pm_token bob)
pm_create "$alice" alice bob 4.20 USD
id=$TXID
payments0=$(pm_stat payments)
created=0 # payments this test means to create after payments0

post() { http POST "$1" -t "$alice" -d "$2"; }
create() { post /api/v1/payment/create "$1"; }
# bad LABEL FIELD BODY: a create refused with 400 naming FIELD.
bad() {
    create "$3"
    expect_error 400 validation_error "$1" "$2"
}
U() { pm_uuid; }
MI='"money_info":{"method_id":"m","currency":"USD","amount":1}'
RC='"recipcient":{"recipcient_id":"bob"}'
SD='"sender":{"sender_id":"alice"}'

# --- malformed JSON and non-objects --------------------------------------------
for body in '' '{' '}' '{"idempotency_token":}' 'not json' "{'a':1}" '{"a":1,}' \
    '[]' '"str"' '123' 'null' 'true' '{} x' '{}{}' '{"idempotency_token":"a"' \
    '{"idempotency_token":"a\q"}' '{"idempotency_token":"a
b"}' '{"idempotency_token" "a"}' '/* c */ {}' '{"a":NaN}' '{"a":Infinity}' '{"a":01}'; do
    create "$body"
    expect_error 400 validation_error "malformed body '$(printf '%s' "$body" | tr '\n' '~')'"
done
printf '{"idempotency_token":"%s",%s,%s,%s}\0' "$(U)" "$MI" "$RC" "$SD" >"$PM_TMP/nul.json"
http POST /api/v1/payment/create -t "$alice" -f "$PM_TMP/nul.json"
expect_error 400 validation_error "NUL byte after the object"
printf '{"idempotency_token":"%s",\0%s,%s,%s}' "$(U)" "$MI" "$RC" "$SD" >"$PM_TMP/nul2.json"
http POST /api/v1/payment/create -t "$alice" -f "$PM_TMP/nul2.json"
expect_error 400 validation_error "NUL byte inside the object"

# --- wrong types -------------------------------------------------------------------
bad "money_info is a string" money_info "{\"idempotency_token\":\"$(U)\",\"money_info\":\"1 USD\",$RC,$SD}"
bad "money_info is null" money_info "{\"idempotency_token\":\"$(U)\",\"money_info\":null,$RC,$SD}"
bad "money_info missing" money_info "{\"idempotency_token\":\"$(U)\",$RC,$SD}"
bad "recipcient is an array" recipcient "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":[\"bob\"],$SD}"
bad "recipcient missing" recipcient "{\"idempotency_token\":\"$(U)\",$MI,$SD}"
bad "recipcient_id missing" recipcient_id "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":{},$SD}"
bad "recipcient_id is a number" recipcient_id "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":{\"recipcient_id\":7},$SD}"
bad "sender is null" sender "{\"idempotency_token\":\"$(U)\",$MI,$RC,\"sender\":null}"
bad "sender missing" sender "{\"idempotency_token\":\"$(U)\",$MI,$RC}"
bad "sender_id is a number" sender_id "{\"idempotency_token\":\"$(U)\",$MI,$RC,\"sender\":{\"sender_id\":1}}"
bad "sender_id is an object" sender_id "{\"idempotency_token\":\"$(U)\",$MI,$RC,\"sender\":{\"sender_id\":{}}}"
bad "method_id is a number" method_id "{\"idempotency_token\":\"$(U)\",\"money_info\":{\"method_id\":5,\"currency\":\"USD\",\"amount\":1},$RC,$SD}"
bad "method_id missing" method_id "{\"idempotency_token\":\"$(U)\",\"money_info\":{\"currency\":\"USD\",\"amount\":1},$RC,$SD}"
bad "sender.method_id is a bool" method_id "{\"idempotency_token\":\"$(U)\",$MI,$RC,\"sender\":{\"sender_id\":\"alice\",\"method_id\":true}}"
bad "idempotency_token is an object" idempotency_token "{\"idempotency_token\":{},$MI,$RC,$SD}"

# --- ids ----------------------------------------------------------------------------
long128=$(printf 'r%.0s' {1..128})
long129=$(printf 'r%.0s' {1..129})
pm_methods "$long128" 'Бob-🙂' # the recipients of the two creates below that succeed
bad "empty recipcient_id" recipcient_id "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":{\"recipcient_id\":\"\"},$SD}"
bad "129-byte recipcient_id" recipcient_id "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":{\"recipcient_id\":\"$long129\"},$SD}"
bad "recipcient_id with a newline" recipcient_id "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":{\"recipcient_id\":\"b\\nob\"},$SD}"
bad "recipcient_id with \\u0000" recipcient_id "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":{\"recipcient_id\":\"b\\u0000ob\"},$SD}"
bad "method_id of 129 bytes" method_id "{\"idempotency_token\":\"$(U)\",\"money_info\":{\"method_id\":\"$long129\",\"currency\":\"USD\",\"amount\":1},$RC,$SD}"
bad "empty sender_id" sender_id "{\"idempotency_token\":\"$(U)\",$MI,$RC,\"sender\":{\"sender_id\":\"\"}}"
create "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":{\"recipcient_id\":\"$long128\"},$SD}"
expect_status 200 "128-byte recipcient_id accepted"
created=$((created + 1))
create "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":{\"recipcient_id\":\"Бob-🙂\"},$SD}"
expect_status 200 "UTF-8 recipcient_id accepted"
created=$((created + 1))
rid=$(jq -r '.transaction_id // empty' "$PM_TMP/resp.body")
http GET "/api/v1/payment/$rid/retrieve" -t "$alice"
expect_json .payment.recipcient.user_id "Бob-🙂" "UTF-8 recipcient_id reads back"

# --- unknown fields -------------------------------------------------------------------
bad "unknown top-level field" colour "{\"idempotency_token\":\"$(U)\",$MI,$RC,$SD,\"colour\":\"red\"}"
bad "unknown money_info field" fee "{\"idempotency_token\":\"$(U)\",\"money_info\":{\"method_id\":\"m\",\"currency\":\"USD\",\"amount\":1,\"fee\":1},$RC,$SD}"
bad "unknown sender field" name "{\"idempotency_token\":\"$(U)\",$MI,$RC,\"sender\":{\"sender_id\":\"alice\",\"name\":\"A\"}}"
bad "unknown recipcient field" iban "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":{\"recipcient_id\":\"bob\",\"iban\":\"x\"},$SD}"
bad "status smuggled into create" status "{\"idempotency_token\":\"$(U)\",$MI,$RC,$SD,\"status\":\"accepted\"}"
post "/api/v1/payment/$id/cancel" "{\"idempotency_token\":\"$(U)\",\"refund\":true}"
expect_error 400 validation_error "unknown cancel field" refund
post "/api/v1/payment/$id/cancel" "{\"idempotency_token\":\"$(U)\",\"reason\":\"bored\"}"
expect_error 400 validation_error "unknown cancel reason" reason
post "/api/v1/payment/$id/cancel" "{\"idempotency_token\":\"$(U)\",\"reason\":3}"
expect_error 400 validation_error "numeric cancel reason" reason
post "/api/v1/payment/$id/edit" "{\"idempotency_token\":\"$(U)\",\"money_info\":{\"currency\":\"USD\",\"amount\":1},$RC}"
expect_error 400 validation_error "edit may not change the recipient" recipcient
post "/api/v1/payment/$id/edit" "{\"idempotency_token\":\"$(U)\"}"
expect_error 400 validation_error "edit without money_info" money_info
post "/api/v1/payment/$id/edit" "{\"idempotency_token\":\"$(U)\",\"money_info\":{\"amount\":1}}"
expect_error 400 validation_error "edit without currency" money_info.currency
http POST "/api/v1/payment/$id/accept" -t "$bob" -d "{\"idempotency_token\":\"$(U)\",\"accepted\":true}"
expect_error 400 validation_error "unknown accept field" accepted
http POST "/api/v1/payment/$id/accept" -t "$bob" -d "{\"idempotency_token\":\"$(U)\",\"accept_info\":\"yes\"}"
expect_error 400 validation_error "accept_info is a string" accept_info
http POST "/api/v1/payment/$id/accept" -t "$bob" -d "{\"idempotency_token\":\"$(U)\",\"accept_info\":[1]}"
expect_error 400 validation_error "accept_info is an array" accept_info
big_info=$(printf '{"idempotency_token":"%s","accept_info":{"n":"%s"}}' "$(U)" "$(head -c 5000 /dev/zero | tr '\0' a)")
http POST "/api/v1/payment/$id/accept" -t "$bob" -d "$big_info"
expect_error 400 validation_error "accept_info over 4 KiB" accept_info

# --- invalid UTF-8 ------------------------------------------------------------------
for bytes in '\xff' '\xc0\xaf' '\xed\xa0\x80' '\xe2\x82' '\xf8\x88\x80\x80\x80' '\x80'; do
    printf '{"idempotency_token":"%s",%s,"recipcient":{"recipcient_id":"b%bob"},%s}' "$(U)" "$MI" "$bytes" "$SD" >"$PM_TMP/utf8.json"
    http POST /api/v1/payment/create -t "$alice" -f "$PM_TMP/utf8.json"
    expect_error 400 validation_error "invalid UTF-8 $bytes in a string"
    printf '{"idempotency_token":"%s",%s,%s,%s,"%b":1}' "$(U)" "$MI" "$RC" "$SD" "$bytes" >"$PM_TMP/utf8.json"
    http POST /api/v1/payment/create -t "$alice" -f "$PM_TMP/utf8.json"
    expect_error 400 validation_error "invalid UTF-8 $bytes in a key"
done
printf '\xff\xfe{}' >"$PM_TMP/bom.json"
http POST /api/v1/payment/create -t "$alice" -f "$PM_TMP/bom.json"
expect_error 400 validation_error "UTF-16 byte order mark"
bad "lone surrogate escape" "" "{\"idempotency_token\":\"$(U)\",$MI,\"recipcient\":{\"recipcient_id\":\"\\ud800\"},$SD}"
http GET "/api/v1/payment/%FF%FE/retrieve" -t "$alice"
expect_error 404 not_found "invalid UTF-8 in the path id"
http GET "/api/v1/payment/$id%00/retrieve" -t "$alice"
expect_status '4??' "NUL in the path id"

# --- nesting ------------------------------------------------------------------------
nest() { printf '%*s' "$1" '' | tr ' ' "$2"; }
info16="$(nest 15 '[')1$(nest 15 ']')" # 16 levels with the accept_info object
info17="$(nest 16 '[')1$(nest 16 ']')"
http POST "/api/v1/payment/$id/accept" -t "$bob" -d "{\"idempotency_token\":\"$(U)\",\"accept_info\":{\"a\":$info17}}"
expect_error 400 validation_error "nesting deeper than 16 levels"
http POST /api/v1/payment/create -t "$alice" -d "$(nest 60000 '[')"
expect_error 400 validation_error "60000 open brackets (within the body limit)"
printf '{"a":' >"$PM_TMP/deep.json"
for ((i = 0; i < 12000; i++)); do printf '{"a":'; done >>"$PM_TMP/deep.json"
http POST /api/v1/payment/create -t "$alice" -f "$PM_TMP/deep.json"
expect_error 400 validation_error "12000 nested objects, unterminated"
http POST /api/v1/payment/create -t "$alice" -d "{\"idempotency_token\":\"$(U)\",$MI,$RC,$SD,\"x\":$info16}"
expect_error 400 validation_error "16 levels of nesting in an unknown field: refused for the field" x

# --- body size ------------------------------------------------------------------------
core_body=$(create_body "$(U)" alice bob 1.00)
{ printf '%s' "${core_body%\}}"; printf '%*s}' $((65536 - ${#core_body})) ''; } >"$PM_TMP/exact.json"
http POST /api/v1/payment/create -t "$alice" -f "$PM_TMP/exact.json"
expect_status 200 "a body of exactly 65536 bytes is accepted"
created=$((created + 1))
{ printf '%s' "${core_body%\}}"; printf '%*s}' $((65537 - ${#core_body})) ''; } >"$PM_TMP/over.json"
http POST /api/v1/payment/create -t "$alice" -f "$PM_TMP/over.json"
expect_error 413 payload_too_large "a body of 65537 bytes"
head -c 10485760 /dev/zero | tr '\0' ' ' >"$PM_TMP/10m.json"
http POST /api/v1/payment/create -t "$alice" -f "$PM_TMP/10m.json"
expect_error 413 payload_too_large "a 10 MiB body"
http POST /api/v1/payment/create -t "$alice" -H 'Transfer-Encoding: chunked' -f "$PM_TMP/over.json"
expect_error 413 payload_too_large "a chunked body over the limit"
http POST /api/v1/payment/create -t "$alice" -H 'Content-Length: 99999999' -d '{}'
expect_status '4??' "a Content-Length larger than the body"

# --- huge ids and headers ------------------------------------------------------------------
hid=$(printf 'x%.0s' {1..2000})
http GET "/api/v1/payment/$hid/retrieve" -t "$alice"
expect_error 404 not_found "a 2000-character id"
hid=$(head -c 100000 /dev/zero | tr '\0' 9)
http GET "/api/v1/payment/$hid/retrieve" -t "$alice"
expect_status '4??' "a 100000-character id"
http POST "/api/v1/payment/$hid/cancel" -t "$alice" -d "{\"idempotency_token\":\"$(U)\"}"
expect_status '4??' "cancel with a 100000-character id"
http GET "/api/v1/payment/$id/retrieve" -t "$alice" -H "X-Padding: $(head -c 100000 /dev/zero | tr '\0' p)"
expect_status '4??' "a 100 KB header"
http GET "/api/v1/payment/$id/retrieve" -t "$(head -c 100000 /dev/zero | tr '\0' t)"
expect_status '4??' "a 100 KB token"
http GET "/api/v1/payment/$id/retrieve" -t "$(head -c 2000 /dev/zero | tr '\0' t)"
expect_error 401 unauthorized "a 2000-byte unknown token"

# --- malformed HTTP on a raw connection: an answer or a close, never a crash ---------------
raw_ok() { # raw_ok LABEL BYTES [STATUS_RE]: a 4xx status line, or the connection closed
    local got
    got=$(raw_http "$2")
    [[ -z $got || $got =~ ^HTTP/1\.[01]\ ${3:-4[0-9][0-9]} ]]
    check $? "$1" "answered '$got'"
}
raw_ok "garbage request line" 'BLAH\r\n\r\n'
raw_ok "negative Content-Length" "POST /api/v1/payment/create HTTP/1.1\r\nHost: x\r\nx_auth_token: $alice\r\nContent-Length: -1\r\n\r\n{}"
raw_ok "two Content-Lengths" "POST /api/v1/payment/create HTTP/1.1\r\nHost: x\r\nx_auth_token: $alice\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
raw_ok "malformed chunk size" "POST /api/v1/payment/create HTTP/1.1\r\nHost: x\r\nx_auth_token: $alice\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
raw_ok "huge chunk size" "POST /api/v1/payment/create HTTP/1.1\r\nHost: x\r\nx_auth_token: $alice\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}\r\n0\r\n\r\n"
raw_ok "NUL in a header" "GET /api/v1/payment/$id/retrieve HTTP/1.1\r\nHost: x\r\nx_auth_token: a\x00b\r\n\r\n"
raw_ok "header without a colon" "GET /api/v1/payment/$id/retrieve HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n"
raw_ok "HTTP/9.9: 505 or 400" "GET /api/v1/payment/$id/retrieve HTTP/9.9\r\nHost: x\r\n\r\n" '(505|400)'
got=$(raw_http "GET /api/v1/payment/$id/retrieve/status HTTP/1.1\r\nHost: x\r\nx_auth_token: $alice\r\nConnection: close\r\n\r\n")
[[ $got =~ ^HTTP/1\.1\ 200 ]]
check $? "a well-formed raw request still works" "answered '$got'"

# --- nothing changed, nothing crashed -----------------------------------------------------
expect_alive "after bad input"
http GET "/api/v1/payment/$id/retrieve" -t "$alice"
expect_status 200 "the payment is still there"
expect_json .payment.status created "and still created"
expect_body_match '"amount": *4\.20[,} ]' "and still 4.20"
payments1=$(pm_stat payments)
[[ $payments1 -eq $((payments0 + created)) ]]
check $? "bad requests created no payment" "payments $payments0 + $created expected, stats says $payments1"
