#!/usr/bin/env bash
# Hostile-input corpus (issue 13): a few hundred hostile requests to EVERY
# route of api-gateway/gw_routes.c, generated from a table of routes and a
# table of mutations (malformed and truncated JSON, wrong types, deep nesting,
# duplicated keys, bodies over --max-body-bytes, huge headers, invalid UTF-8,
# NUL bytes, hostile amounts, hostile ids and path separators, unknown
# methods, malformed HTTP on a raw connection). t_bad_input.sh tests the
# exact error codes of the core payment API; this test covers every family
# with the family's own error shape (docs/api.md):
#
#   core payments and the operational routes  {"code", "message"}
#   store and BazaarPay (/finance/...)           {"error", "code"}
#   bank orders (/gen-reg-no/ ...)               {"status": 0, "message", "code"}
#
# Each answer must be a 4xx with Content-Type application/json and a body of
# that shape (never libmicrohttpd's own HTML page), never a 5xx, never a
# dropped connection (curl exit 52/56); every daemon stays up; the store is
# byte for byte what it was (paymentctl backup before and after; that a
# compacted copy of an unchanged store is byte-identical is checked first).
#
# The corpus goes through curl directly, not lib.sh's http(), so that the
# answers are not recorded for check_openapi (hostile statuses such as 413 or
# 431 on every route are not part of docs/openapi.yaml's per-route answers).
#
# Malformed HTTP (raw connection): RFC 9112 says a server SHOULD answer an
# invalid request line or header section with 400 (sections 3 and 5), MUST
# answer 400 to a request without Host (section 3.2) and to an invalid
# Content-Length (section 6.3), and MAY close a connection it cannot frame
# afterwards. HTTP/0.9 has no status line at all (a 1.x server need not
# support it), so for "GET /path" with no version a closed connection without
# an answer is accepted, as is a 4xx. Everything else must be answered with a
# 4xx JSON error before the close.
. "$(dirname "$0")/lib.sh"

pm_start_bazaarpay --no-retry # no retry-worker: nothing traces the checkout behind the test's back
pm_start_provider_bank
pm_methods bob
pm_package coins_100 "100 coins" 50000 coin 100
pm_ctl regno-type add --id 9 --name sale_order_invoice_code --prefix ANS --length 8 \
    --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null
check $? "regno type 9" ""
alice=$(pm_token alice)
bob=$(pm_token bob)
svc=$(pm_token ops service)

# --- objects every id route can aim at ------------------------------------------------
pm_create "$alice" alice bob 4.20 USD
PAY=$TXID
store_open "$alice" coins_100
SERIAL_A=$SERIAL
bp_checkout "$alice" coins_100
CO_A=$CO
pm_invoice "$alice" alice

# --- state: a compacted copy of an unchanged store is identical byte for byte -----------
backup() { # backup NAME: paymentctl backup to $PM_TMP/NAME.mdb
    rm -f "$PM_TMP/$1.mdb"
    pm_ctl backup --to "$PM_TMP/$1.mdb" >/dev/null || pm_fatal "paymentctl backup failed: $(tail -n 3 "$PM_TMP/paymentctl.log")"
}
listing() { # listing: a deterministic dump of every table paymentctl shows
    pm_ctl stats | jq -c 'del(.batches, .batch_requests, .commit_us_total, .commit_us_max, .batches_redone)'
    pm_ctl payment list --max 100000 --json
    local id
    for id in $(pm_ctl payment list --max 100000 --json | jq -r '(.items // .)[] | .id // .transaction_id // empty' 2>/dev/null); do
        pm_ctl payment show "$id" --json
    done
    pm_ctl token list --json
    pm_ctl package list
    pm_ctl method list
    pm_ctl regno-type list
    pm_ctl balance --principal alice
    pm_ctl balance --principal bob
    pm_ctl balance --principal ops
    pm_ctl checkout show "$CO_A" --json
    pm_ctl order show "$REG" --json
    pm_ctl retry list --max 100000 --json
}
sleep 1 # let the checkout's and the invoice's first background work settle
backup b0
listing >"$PM_TMP/l0.txt" 2>&1
sleep 1
backup b1
listing >"$PM_TMP/l1.txt" 2>&1
if cmp -s "$PM_TMP/b0.mdb" "$PM_TMP/b1.mdb"; then
    BYTEWISE=1
    pass "two backups of an unchanged store are identical byte for byte"
    pm_note "state compared byte for byte: paymentctl backup ($(stat -c %s "$PM_TMP/b0.mdb") bytes)"
else
    BYTEWISE=0
    pm_note "two backups of an unchanged store differ ($(cmp "$PM_TMP/b0.mdb" "$PM_TMP/b1.mdb" | head -n1)): comparing paymentctl listings instead (no mdb_dump: $(command -v mdb_dump || echo none))"
fi
cmp -s "$PM_TMP/l0.txt" "$PM_TMP/l1.txt"
check $? "two listings of an unchanged store are identical" "$(diff "$PM_TMP/l0.txt" "$PM_TMP/l1.txt" | head -n 5)"

# --- the corpus -----------------------------------------------------------------------
declare -A SENT     # route -> requests
declare -A BYSTATUS # "route status" -> requests
ROUTE_ORDER=()
TOTAL=0
LENIENT_OK=0 # 2xx answers accepted where the spec lets a server process the request
LENIENT=""
SLOW=() # requests that took over 0.5 s
HTML_PAGES=() # requests answered with something other than JSON
DUP_HEADS=0   # answers whose head libmicrohttpd repeated (see raw)

# shape FAMILY FILE: the family's error shape (ANY: any of the three, for a
# path no route matches).
shape_ok() {
    case $1 in
    CORE) jq -e 'type == "object" and (.code | type == "string") and (.message | type == "string")' "$2" ;;
    STORE) jq -e 'type == "object" and (.code | type == "string") and (.error | type == "string")' "$2" ;;
    ORDER) jq -e 'type == "object" and .status == 0 and (.code | type == "string") and (.message | type == "string")' "$2" ;;
    *) jq -e 'type == "object" and (.code | type == "string") and ((.message // .error) | type == "string")' "$2" ;;
    esac >/dev/null 2>&1
}

# judge ROUTE FAMILY LABEL STATUS HEADERS BODY RC [CLOSE_OK]: one answer.
judge() {
    local route=$1 fam=$2 label=$3 st=$4 hdr=$5 body=$6 rc=$7 close_ok=${8:-}
    [[ -n ${SENT[$route]+x} ]] || ROUTE_ORDER+=("$route")
    SENT[$route]=$((${SENT[$route]:-0} + 1))
    TOTAL=$((TOTAL + 1))
    local key="$route ${st:-000}"
    BYSTATUS[$key]=$((${BYSTATUS[$key]:-0} + 1))
    RESP_REQ=""
    if [[ $st == 000 || -z $st ]]; then
        if [[ -n $close_ok ]]; then
            pass "$label: closed without an answer (accepted here)"
        else
            fail "$label" "no answer (curl exit $rc: dropped connection)"
        fi
        return
    fi
    if [[ -n ${LENIENT:-} && $st == 2?? ]]; then
        LENIENT_OK=$((LENIENT_OK + 1))
        pass "$label: $st (allowed: $LENIENT)"
        return
    fi
    if [[ $st != 4?? ]]; then
        fail "$label" "status $st, want 4xx: $(head -c 200 "$body" | tr -c '[:print:]' '?')"
        return
    fi
    local ct="" line
    while IFS= read -r line; do
        line=${line%$'\r'}
        [[ ${line,,} == content-type:* ]] && ct=${line#*:} && ct=${ct# }
    done <"$hdr"
    if [[ $ct != application/json* ]] || ! shape_ok "$fam" "$body"; then
        HTML_PAGES+=("$st [$ct] ${label#"$route: "}: $(head -c 70 "$body" | tr -c '[:print:]' '?')")
        fail "$label" "status $st with Content-Type '$ct', not a $fam JSON error: $(head -c 200 "$body" | tr -c '[:print:]' '?')"
        return
    fi
    pass "$label"
}

# send ROUTE FAMILY LABEL METHOD PATH [CURL ARGS...]: one request with curl.
send() {
    local route=$1 fam=$2 label=$3 method=$4 path=$5
    shift 5
    : >"$PM_TMP/h.body"
    : >"$PM_TMP/h.headers"
    local st rc
    st=$(curl -sS --path-as-is -X "$method" --max-time "$PM_CURL_MAX_TIME_S" --noproxy '*' \
        -o "$PM_TMP/h.body" -D "$PM_TMP/h.headers" -w '%{http_code} %{time_total}' "$@" "$BASE$path" 2>"$PM_TMP/h.err")
    rc=$?
    [[ ${st#* } < 0.5 ]] || SLOW+=("${st#* }s $route: $label")
    st=${st%% *}
    judge "$route" "$fam" "$route: $label" "$st" "$PM_TMP/h.headers" "$PM_TMP/h.body" "$rc"
}

# raw ROUTE FAMILY LABEL BYTES [CLOSE_OK]: BYTES (printf %b) on a new
# connection; the whole answer read for up to 2 s.
raw() {
    local route=$1 fam=$2 label=$3 bytes=$4 close_ok=${5:-} st=""
    : >"$PM_TMP/r.all"
    if exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT"; then
        # a subshell: a write to a connection the gateway already closed must
        # not end the test (lib.sh traps SIGPIPE)
        (trap - PIPE; printf '%b' "$bytes" >&3) 2>/dev/null
        timeout 2 cat <&3 >"$PM_TMP/r.all" 2>/dev/null
        exec 3<&-
    fi
    st=$(head -n 1 "$PM_TMP/r.all" | tr -d '\r' | sed -n 's/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p')
    # headers up to the first blank line, the body after it
    awk 'BEGIN{h=1} h && /^\r?$/ {h=0; next} h {print > "/dev/stderr"; next} {print}' \
        "$PM_TMP/r.all" >"$PM_TMP/r.body" 2>"$PM_TMP/r.headers"
    # libmicrohttpd 0.9.75 writes the head of its answer to an unparsable
    # Content-Length twice (its header parser goes on after queuing the
    # error): accepted for that case only (DUP_HEAD), when both heads are
    # the same 400 and what follows is the JSON error.
    if [[ -n ${DUP_HEAD:-} ]] && head -n 1 "$PM_TMP/r.body" | grep -q '^HTTP/1\.1 400 '; then
        awk 'BEGIN{h=1} h && /^\r?$/ {h=0; next} h {next} {print}' "$PM_TMP/r.body" >"$PM_TMP/r.body2"
        mv "$PM_TMP/r.body2" "$PM_TMP/r.body"
        DUP_HEADS=$((DUP_HEADS + 1))
    fi
    judge "$route" "$fam" "$route: raw $label" "${st:-000}" "$PM_TMP/r.headers" "$PM_TMP/r.body" 0 "$close_ok"
}

U() { printf '%04x%04x-%04x-4%03x-8%03x-%04x%04x%04x' $RANDOM $RANDOM $RANDOM $((RANDOM % 4096)) $((RANDOM % 4096)) $RANDOM $RANDOM $RANDOM; }
nest() { printf '%*s' "$1" '' | tr ' ' "$2"; }
printf '%s' "$(nest 10000 '[')" >"$PM_TMP/deep_arr.json"
for ((i = 0; i < 10000; i++)); do printf '{"a":'; done >"$PM_TMP/deep_obj.json"
head -c 2097152 /dev/zero | tr '\0' ' ' >"$PM_TMP/huge2m.json"
BIGHDR=$(head -c 100000 /dev/zero | tr '\0' h)
HDR16K=$(head -c 16384 /dev/zero | tr '\0' h)

# The routes: METHOD PATH FAMILY KIND TEMPLATE. KIND: body (a JSON body),
# id (GET with an id in the path), plain (GET, nothing to aim at). PATH holds
# {id} where the id goes. TEMPLATE: a well-formed body (from which mutations
# are made), with @U@ for a fresh idempotency token.
ROUTES=(
    "POST|/api/v1/payment/create|CORE|body|$(create_body @U@ alice bob 1.00)"
    "GET|/api/v1/payment/{id}/retrieve|CORE|id|"
    "GET|/api/v1/payment/{id}/retrieve/status|CORE|id|"
    "POST|/api/v1/payment/{id}/cancel|CORE|body|{\"idempotency_token\":\"@U@\"}"
    "POST|/api/v1/payment/{id}/edit|CORE|body|{\"idempotency_token\":\"@U@\",\"money_info\":{\"currency\":\"USD\",\"amount\":\"3.00\"}}"
    "POST|/api/v1/payment/{id}/accept|CORE|body|{\"idempotency_token\":\"@U@\"}"
    "GET|/finance/packages/|STORE|plain|"
    "POST|/finance/purchase|STORE|body|{\"serial_number\":\"coins_100\"}"
    "POST|/finance/bazzar_paymnet/|STORE|body|{\"serial_number\":\"$SERIAL_A\",\"ref_id\":\"tok-$RANDOM\"}"
    "POST|/finance/bazzar_payment/|STORE|body|{\"serial_number\":\"$SERIAL_A\",\"ref_id\":\"tok-$RANDOM\"}"
    "POST|/finance/bazaarpay/checkout/|STORE|body|{\"serial_number\":\"coins_100\",\"redirect_url\":\"https://shop.example/r\"}"
    "GET|/finance/bazaarpay/checkout/{id}/|STORE|id|"
    "POST|/finance/bazaarpay/confirm/|STORE|body|{\"checkout_token\":\"$CO_A\"}"
    "POST|/finance/bazaarpay/refund/|STORE|body|{\"checkout_token\":\"$CO_A\",\"reason\":\"r\"}"
    "POST|/gen-reg-no/|ORDER|body|{\"RegNumTypeId\":9,\"random_mode\":1}"
    "POST|/checkout-sale-order-inv/|ORDER|body|$INV_BODY"
    "POST|/order-payment-register-request/?online_payment_type=halkbank|ORDER|body|{\"OInvRegNo\":\"$REG\",\"TotalPrice\":17.50}"
    "POST|/order-inv-validation/|ORDER|body|{\"OrderId\":\"o-$RANDOM\",\"OInvRegNo\":\"$REG\",\"online_payment_type\":\"halkbank\"}"
    "GET|/openapi.json|CORE|plain|"
    "GET|/healthz|CORE|plain|"
    "GET|/readyz|CORE|plain|"
    "GET|/metrics|CORE|plain|"
    "GET|/admin|CORE|plain|"
    "GET|/admin/api/overview|CORE|plain|"
)

# Wrong values for a top-level field: types no field of any family takes
# (strings of digits and booleans are read as numbers and flags in places).
WRONG_TYPES=('{"x":1}' '[1]')
# Hostile values for the fields that hold an id or a reference.
HOSTILE_IDS=('../../../etc/passwd' '..%2F..%2F' 'a\u0000b' "$(printf 'x%.0s' {1..5000})" '')
# Hostile amounts (2-decimal currencies everywhere below).
AMOUNTS=(1e400 0.001 -1 0 99999999999999999999 1e2 '"1,5"' '"NaN"' '"١٢"')
# Which fields of each template hold ids, which hold amounts ("path" jq).
declare -A ID_FIELDS=(
    [/finance/purchase]='.serial_number' [/finance/bazzar_paymnet/]='.serial_number .ref_id'
    [/finance/bazzar_payment/]='.serial_number' [/finance/bazaarpay/checkout/]='.serial_number .redirect_url'
    [/finance/bazaarpay/confirm/]='.checkout_token' [/finance/bazaarpay/refund/]='.checkout_token'
    [/gen-reg-no/]='.RegNumTypeId' [/checkout-sale-order-inv/]='.OInvRegNo'
    [/order-payment-register-request/?online_payment_type=halkbank]='.OInvRegNo'
    [/order-inv-validation/]='.OrderId .OInvRegNo'
    [/api/v1/payment/create]='.recipcient.recipcient_id .money_info.currency'
)
declare -A AMOUNT_FIELDS=(
    [/api/v1/payment/create]='.money_info.amount' [/api/v1/payment/{id}/edit]='.money_info.amount'
    [/checkout-sale-order-inv/]='.OInvTotal .OrderInvLines[0].ResPrice'
    [/order-payment-register-request/?online_payment_type=halkbank]='.TotalPrice'
)
# Hostile ids in the path (for the {id} routes): raw, as curl sends them.
PATH_IDS=('..%2F..%2Fhealthz' '%2F' "$PAY%00" '%FF%FE' '%zz' "$(printf 'x%.0s' {1..3000})"
    "$(printf '9%.0s' {1..60000})" '..' '%2e%2e' 'a%0d%0aX-Injected:%201')

RAW_ROUTES="/api/v1/payment/create /api/v1/payment/{id}/retrieve /finance/purchase /finance/bazaarpay/checkout/{id}/ /gen-reg-no/ /healthz"
for row in "${ROUTES[@]}"; do
    IFS='|' read -r method tpath fam kind tmpl <<<"$row"
    route="$method $tpath"
    # the route's path with a real id in it
    case $tpath in
    /api/v1/payment/*) path=${tpath/\{id\}/$PAY} ;;
    /finance/bazaarpay/checkout/\{id\}/) path=${tpath/\{id\}/$CO_A} ;;
    *) path=$tpath ;;
    esac
    hdrs=(-H "x_auth_token: $alice")
    [[ $tpath == /finance/packages/ ]] && hdrs+=(-H 'devicetype: android')
    [[ $tpath == /admin/api/overview || $tpath == /metrics || $tpath == /readyz ]] && hdrs=(-H "x_auth_token: $svc")

    # -- methods (every route): unknown and other methods: 405 with the family's shape
    other=POST
    [[ $method == POST ]] && other=GET
    for m in PATCH BREW "$other"; do
        send "$route" "$fam" "method $m" "$m" "$path" "${hdrs[@]}"
    done
    # -- headers (every route)
    send "$route" "$fam" "100 KB header" "$method" "$path" "${hdrs[@]}" -H "X-Padding: $BIGHDR"
    send "$route" "$fam" "100 KB token" "$method" "$path" -H "x_auth_token: $BIGHDR"
    # A GET's content has no defined semantics (RFC 9110 9.3.1): a GET route
    # may answer without reading it. A POST must refuse it.
    [[ $method == GET ]] && LENIENT="a GET route may ignore its content"
    send "$route" "$fam" "Content-Length larger than the body" "$method" "$path" "${hdrs[@]}" -H 'Content-Length: 99999999' -d '{}'
    # -- bodies over --max-body-bytes (every route, GET too)
    send "$route" "$fam" "2 MiB body" "$method" "$path" "${hdrs[@]}" --data-binary "@$PM_TMP/huge2m.json"
    send "$route" "$fam" "2 MiB chunked body" "$method" "$path" "${hdrs[@]}" -H 'Transfer-Encoding: chunked' --data-binary "@$PM_TMP/huge2m.json"
    LENIENT=""
    # -- trailing path junk (every route): no route matches
    for junk in '%00' '/..%2F..%2Fadmin' '%2F' '/../../../etc/passwd'; do
        p=${path%%\?*}
        p=${p%/}$junk
        send "$route" ANY "path junk '$junk'" "$method" "$p" "${hdrs[@]}" -d '{}'
    done

    case $kind in
    id)
        for pid in "${PATH_IDS[@]}"; do
            p=${tpath/\{id\}/$pid}
            send "$route" ANY "path id '${pid:0:40}'" "$method" "$p" "${hdrs[@]}"
        done
        ;;
    plain)
        if [[ $tpath == /finance/packages/ ]]; then
            for q in 'page=-1' 'page=0' 'page=99999999999999999999' 'page=1e400' 'page_size=0' \
                'page=%00' 'page=1.5' 'page_size=-1' 'page=abc' 'page_size=1e2'; do
                send "$route" STORE "query $q" GET "$path?$q" "${hdrs[@]}"
            done
            for d in 'windows' 'android%00' '' "$HDR16K"; do
                send "$route" STORE "devicetype '${d:0:20}'" GET "$path" -H "x_auth_token: $alice" -H "devicetype: $d"
            done
        fi
        ;;
    body)
        post() { send "$route" "$fam" "$1" POST "$path" "${hdrs[@]}" "${@:2}"; }
        fill() { printf '%s' "${1//@U@/$(U)}"; }
        good=$(fill "$tmpl")
        # malformed and truncated JSON
        for b in '' '{' 'not json' "{'a':1}" '[]' 'null' '{}{}' '{"a":NaN}' \
            "${good:0:$((${#good} / 2))}" "${good%\}}" "$good}"; do
            post "malformed '$(printf '%s' "${b:0:30}" | tr -c '[:print:]' '?')'" --data-binary "$b"
        done
        # deep nesting
        post "10000 '['" --data-binary "@$PM_TMP/deep_arr.json"
        post "10000 nested objects" --data-binary "@$PM_TMP/deep_obj.json"
        post "17 levels in a known field" --data-binary "$(jq -c --argjson v "$(nest 17 '[')1$(nest 17 ']')" \
            'to_entries as $e | .[$e[0].key] = $v' <<<"$good")"
        # duplicated keys: every top-level key again, with another value
        first=1
        for k in $(jq -r 'keys_unsorted[]' <<<"$good"); do
            v=$(jq -c --arg k "$k" '.[$k]' <<<"$good")
            case $v in
            \"*) v2='"dup-other"' ;; [0-9]*) v2=0 ;; *) v2='"dup"' ;;
            esac
            post "duplicated key $k" --data-binary "${good%\}},\"$k\":$v2}"
            ((first)) && post "duplicated key $k (same value)" --data-binary "${good%\}},\"$k\":$v}"
            first=0
        done
        # wrong types, every top-level field
        for k in $(jq -r 'keys_unsorted[]' <<<"$good"); do
            w=${WRONG_TYPES[$((RANDOM % 2))]}
            {
                post "$k = $w" --data-binary "$(jq -c --arg k "$k" --argjson w "$w" '.[$k] = $w' <<<"$(fill "$tmpl")")"
            }
        done
        post "unknown field" --data-binary "${good%\}},\"colour\":\"red\"}"
        # hostile ids in the body
        for f in ${ID_FIELDS[$tpath]:-}; do
            for v in "${HOSTILE_IDS[@]}"; do
                post "$f = '${v:0:24}'" --data-binary "$(jq -c --arg v "$v" "$f = (\$v | if . == \"a\\\\u0000b\" then \"a\\u0000b\" else . end)" <<<"$(fill "$tmpl")")"
            done
        done
        # hostile amounts
        for f in ${AMOUNT_FIELDS[$tpath]:-}; do
            for a in "${AMOUNTS[@]}"; do
                b=$(fill "$tmpl" | jq -c "$f = \"@A@\"")
                post "$f = $a" --data-binary "${b/\"@A@\"/$a}"
            done
        done
        # invalid UTF-8 and NUL bytes, in a value and in a key
        for bytes in '\xff' '\xc0\xaf' '\xed\xa0\x80' '\x00'; do
            b=$(fill "$tmpl" | jq -c 'to_entries as $e | .[$e[0].key] = "@B@"')
            printf '%s' "${b%%@B@*}" >"$PM_TMP/b.json"
            printf '%b' "x$bytes" >>"$PM_TMP/b.json"
            printf '%s' "${b#*@B@}" >>"$PM_TMP/b.json"
            post "bytes $bytes in a value" --data-binary "@$PM_TMP/b.json"
        done
        b=$(fill "$tmpl")
        { printf '%s' "${b%\}}"; printf ',"k%b":1}' '\xff'; } >"$PM_TMP/b.json"
        post "byte \\xff in a key" --data-binary "@$PM_TMP/b.json"
        { fill "$tmpl"; printf '\0'; } >"$PM_TMP/b.json"
        post "NUL after the object" --data-binary "@$PM_TMP/b.json"
        post "lone surrogate" --data-binary "$(fill "$tmpl" | jq -c 'to_entries as $e | .[$e[0].key] = "@S@"' | sed 's/@S@/\\ud800/')"
        # just over the limit (65537 bytes), valid JSON
        b=$(fill "$tmpl")
        { printf '%s' "${b%\}}"; printf '%*s}' $((65537 - ${#b})) ''; } >"$PM_TMP/over.json"
        post "65537-byte body" --data-binary "@$PM_TMP/over.json"
        ;;
    esac

    # -- malformed HTTP on a raw connection: the request line and the header
    # section are parsed before any routing, so one route of each kind
    [[ " $RAW_ROUTES " == *" $tpath "* ]] || continue
    rp=${path}
    T="x_auth_token: $alice\r\n"
    raw "$route" ANY "bad request line" "BLAH $rp\r\n\r\n"
    raw "$route" ANY "three spaces in the request line" "$method  $rp  HTTP/1.1\r\nHost: x\r\n\r\n"
    raw "$route" ANY "header without a colon" "$method $rp HTTP/1.1\r\nHost: x\r\n${T}nonsense\r\nConnection: close\r\n\r\n"
    raw "$route" ANY "space before the colon" "$method $rp HTTP/1.1\r\nHost: x\r\n${T}Content-Length : 2\r\nConnection: close\r\n\r\n{}"
    raw "$route" ANY "no Host (RFC 9112: 400)" "$method $rp HTTP/1.1\r\n${T}Connection: close\r\n\r\n"
    DUP_HEAD=1
    raw "$route" ANY "Content-Length abc" "$method $rp HTTP/1.1\r\nHost: x\r\n${T}Content-Length: abc\r\nConnection: close\r\n\r\n{}"
    DUP_HEAD=""
    # RFC 9112 6.1: a server MAY process a request with both Content-Length and
    # Transfer-Encoding by the latter; 5.2: obs-fold MAY be replaced by a space;
    # RFC 9110 2.5: HTTP/1.2 is answered as 1.1. So a 2xx is allowed for these.
    LENIENT="RFC 9112 allows processing it"
    raw "$route" ANY "Content-Length and chunked" "$method $rp HTTP/1.1\r\nHost: x\r\n${T}Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"
    [[ $method == GET ]] || LENIENT=""
    raw "$route" ANY "chunked garbage" "$method $rp HTTP/1.1\r\nHost: x\r\n${T}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    raw "$route" ANY "chunk size overflowing" "$method $rp HTTP/1.1\r\nHost: x\r\n${T}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nfffffffffffffffffff\r\n{}\r\n0\r\n\r\n"
    LENIENT="RFC 9112 allows processing it"
    raw "$route" ANY "obsolete line folding" "$method $rp HTTP/1.1\r\nHost: x\r\n${T}X-A: 1\r\n folded\r\nConnection: close\r\n\r\n"
    raw "$route" ANY "HTTP/0.9 (close accepted)" "$method $rp\r\n" close_ok
    raw "$route" ANY "HTTP/1.2" "$method $rp HTTP/1.2\r\nHost: x\r\n${T}Connection: close\r\n\r\n"
    LENIENT=""
done

# --- figures ------------------------------------------------------------------------------
pm_note "$TOTAL hostile requests over ${#ROUTE_ORDER[@]} routes ($LENIENT_OK answered 2xx where the spec allows it):"
for route in "${ROUTE_ORDER[@]}"; do
    line=""
    for key in "${!BYSTATUS[@]}"; do
        [[ ${key% *} == "$route" ]] && line+=" ${key##* }x${BYSTATUS[$key]}"
    done
    pm_note "  $route: ${SENT[$route]} sent;$(tr ' ' '\n' <<<"$line" | sort | tr '\n' ' ')"
done
((${#HTML_PAGES[@]} == 0)) || {
    pm_note "answers that were not the family's JSON error (${#HTML_PAGES[@]}):"
    printf '%s\n' "${HTML_PAGES[@]}" | sort | uniq -c | sort -rn | head -n 40 | sed 's/^/      /'
}
((DUP_HEADS == 0)) || pm_note "$DUP_HEADS answers to 'Content-Length: abc' came with their head written twice (libmicrohttpd 0.9.75)"
((${#SLOW[@]} == 0)) || pm_note "slow answers (${#SLOW[@]}): $(printf '%s; ' "${SLOW[@]:0:10}")"
((TOTAL >= 300))
check $? "a few hundred hostile requests" "only $TOTAL"

# --- nothing died, nothing changed -------------------------------------------------------
expect_alive "after the corpus" $(pm_store_pids) ${PBK_PID:-}
http GET "/api/v1/payment/$PAY/retrieve" -t "$alice"
expect_json .payment.status created "alice's payment still created"
sleep 1
backup b2
listing >"$PM_TMP/l2.txt" 2>&1
if ((BYTEWISE)); then
    cmp -s "$PM_TMP/b1.mdb" "$PM_TMP/b2.mdb"
    check $? "the store is byte for byte unchanged (paymentctl backup)" "$(cmp "$PM_TMP/b1.mdb" "$PM_TMP/b2.mdb" | head -n1)"
fi
cmp -s "$PM_TMP/l1.txt" "$PM_TMP/l2.txt"
check $? "every paymentctl listing is unchanged" "$(diff "$PM_TMP/l1.txt" "$PM_TMP/l2.txt" | head -n 20)"
