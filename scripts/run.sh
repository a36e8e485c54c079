#!/usr/bin/env bash
# Runs paymesh on 127.0.0.1 until Ctrl-C or SIGTERM (`make run` calls it
# after building). Data, logs and demo tokens live under ./var:
#
#   var/data.mdb, var/admin.sock   payment-core's LMDB environment and admin socket
#   var/log/<daemon>.log           each daemon's log
#   var/tokens.env                 demo API tokens (mode 600), made on first run
#   var/catalog.done               the demo store catalog was seeded (first run)
#
# Daemons: payment-core (api 7100, worker socket 7101), api-gateway (8080),
# sandbox (the fake Cafe Bazaar and BazaarPay, 8090), provider-bazaar pointed
# at it, provider-bank (the sandbox's two banks) and retry-worker (every
# retry's schedule).
#
# Ctrl-C or SIGTERM stops every daemon by its PID and exits 0; if a daemon
# dies on its own, the others are stopped and the exit status is 1.
#
# Environment: PAYMESH_HTTP_PORT (default 8080), PAYMESH_CORE_PORT (7100),
# PAYMESH_WORKER_PORT (7101), PAYMESH_SANDBOX_PORT (8090).
set -euo pipefail
cd "$(dirname "$0")/.."

VAR=var
HTTP_PORT=${PAYMESH_HTTP_PORT:-8080}
CORE_PORT=${PAYMESH_CORE_PORT:-7100}
WORKER_PORT=${PAYMESH_WORKER_PORT:-7101}
SANDBOX_PORT=${PAYMESH_SANDBOX_PORT:-8090}
BAZAAR_PACKAGE=com.paymesh.demo
READY_TIMEOUT_S=10
STOP_TIMEOUT_S=10

mkdir -p "$VAR/log"

pids=()
declare -A names

stop_all() {
    local pid i
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            # A stopped child stays a zombie until waited for.
            [[ $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1) == Z ]] && break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null && [[ $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1) != Z ]]; then
            echo "paymesh: ${names[$pid]} (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT_S}s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}

# start NAME ARGS...: starts bin/NAME in the background, logging to var/log.
start() {
    local name=$1
    shift
    bin/"$name" "$@" </dev/null >>"$VAR/log/$name.log" 2>&1 &
    pids+=($!)
    names[$!]=$name
}

# wait_ready NAME PATTERN: waits for PATTERN in the daemon's log (only lines
# written by this run count).
wait_ready() {
    local name=$1 pattern=$2 pid=${pids[-1]} from=$3 i
    for ((i = 0; i < READY_TIMEOUT_S * 20; i++)); do
        tail -c +"$((from + 1))" "$VAR/log/$name.log" | grep -q -- "$pattern" && return 0
        if ! kill -0 "$pid" 2>/dev/null || [[ $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1) == Z ]]; then
            break
        fi
        sleep 0.05
    done
    echo "paymesh: $name did not start; the end of $VAR/log/$name.log:" >&2
    tail -n 15 "$VAR/log/$name.log" >&2
    stop_all
    exit 1
}

log_size() { stat -c %s "$VAR/log/$1.log" 2>/dev/null || echo 0; }

trap 'stop_all; exit 1' EXIT
trap 'stop_all; trap - EXIT; echo; echo "paymesh: stopped"; exit 0' INT TERM

from=$(log_size payment-core)
start payment-core --data-dir "$VAR" --api-endpoint "tcp://127.0.0.1:$CORE_PORT" \
    --worker-endpoint "tcp://127.0.0.1:$WORKER_PORT" \
    --bank-return-url "http://127.0.0.1:$SANDBOX_PORT/sandbox/icons/returned.png"
wait_ready payment-core "payment-core ready" "$from"

from=$(log_size api-gateway)
start api-gateway --http-host 127.0.0.1 --http-port "$HTTP_PORT" \
    --core-endpoint "tcp://127.0.0.1:$CORE_PORT"
wait_ready api-gateway "api-gateway listening on http://" "$from"

# The sandbox stands in for Cafe Bazaar on loopback; provider-bazaar takes
# validation jobs from payment-core's worker socket and asks the sandbox.
from=$(log_size sandbox)
start sandbox --http-host 127.0.0.1 --http-port "$SANDBOX_PORT"
wait_ready sandbox "sandbox listening on http://" "$from"

from=$(log_size provider-bazaar)
start provider-bazaar --environment sandbox --core-worker-endpoint "tcp://127.0.0.1:$WORKER_PORT" \
    --bazaar-base-url "http://127.0.0.1:$SANDBOX_PORT/devapi/v2/" \
    --bazaar-package-name "$BAZAAR_PACKAGE" \
    --bazaarpay-base-url "http://127.0.0.1:$SANDBOX_PORT/badje/v1/"
wait_ready provider-bazaar "provider-bazaar ready" "$from"

# retry-worker decides every retry: failed store jobs, BazaarPay commits,
# refunds and re-traces.
from=$(log_size retry-worker)
start retry-worker --core-worker-endpoint "tcp://127.0.0.1:$WORKER_PORT"
wait_ready retry-worker "retry-worker ready" "$from"

# provider-bank registers seed 004's orders with the sandbox's two banks
# (Halkbank's RBS gateway, TFEB's OrderProcessing API) and syncs their state.
from=$(log_size provider-bank)
start provider-bank --environment sandbox --core-worker-endpoint "tcp://127.0.0.1:$WORKER_PORT" \
    --halkbank-base-url "http://127.0.0.1:$SANDBOX_PORT/payment/rest/" \
    --tfeb-base-url "http://127.0.0.1:$SANDBOX_PORT/OrderProcessing_TURK/v1/" \
    --tfeb-token-url "http://127.0.0.1:$SANDBOX_PORT/identityserver/connect/token"
wait_ready provider-bank "provider-bank ready" "$from"

# Demo tokens, made once per data directory.
tokens=$VAR/tokens.env
token() { bin/paymentctl --data-dir "$VAR" token create --principal "$1" --role "$2"; }
if [[ ! -s $tokens ]] || [[ $(bin/paymentctl --data-dir "$VAR" stats | jq -r .tokens) == 0 ]]; then
    alice=$(token alice user)
    bob=$(token bob user)
    service=$(token demo-service service)
    (
        umask 077
        printf '# paymesh demo API tokens, made by scripts/run.sh; source this file.\n' >"$tokens.tmp"
        printf 'ALICE_TOKEN=%s\nBOB_TOKEN=%s\nSERVICE_TOKEN=%s\n' "$alice" "$bob" "$service" >>"$tokens.tmp"
    )
    mv "$tokens.tmp" "$tokens"
fi
chmod 600 "$tokens"

# The demo store catalog, seeded once per data directory.
if [[ ! -e $VAR/catalog.done ]]; then
    seed() { # seed SKU ARGS...: adds the package unless the catalog has it
        bin/paymentctl --data-dir "$VAR" package list 2>/dev/null | grep -q "\"$1\"" && return 0
        bin/paymentctl --data-dir "$VAR" package add --sku "$@" >/dev/null ||
            echo "paymesh: could not add the demo package $1 (see above)" >&2
    }
    seed coins_100 --name "100 coins" --price 1000 --type coin --coins 100 \
        --icon "http://127.0.0.1:$SANDBOX_PORT/sandbox/icons/coins_100.png" --platforms android,ios
    seed days_30 --name "30 days" --price 5000 --type time --days 30 \
        --icon "http://127.0.0.1:$SANDBOX_PORT/sandbox/icons/days_30.png" --platforms android,ios
    : >"$VAR/catalog.done"
fi
# The registration number type of seed 004's order invoices, seeded once.
if ! bin/paymentctl --data-dir "$VAR" regno-type list 2>/dev/null | jq -e 'any(.[]; .id == 9)' >/dev/null; then
    bin/paymentctl --data-dir "$VAR" regno-type add --id 9 --name sale_order_invoice_code \
        --prefix ANS --length 8 --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null ||
        echo "paymesh: could not add the demo registration number type 9 (see above)" >&2
fi
# The demo payment methods of the core payment API (paymentctl method add is
# insert-or-replace, so this runs every time): bob takes card-1 (settled
# outside paymesh, as in the README) and btc-wallet (the seed's BTC example),
# and TMT through either bank's sandbox: halk-card and tfeb-card.
method() { # method ID BANK CURRENCIES
    bin/paymentctl --data-dir "$VAR" method add --id "$1" --principal bob,alice --bank "$2" \
        --currency "$3" >/dev/null ||
        echo "paymesh: could not add the demo payment method $1 (see above)" >&2
}
method card-1 none USD,EUR,TMT
method btc-wallet none BTC
method halk-card halkbank TMT
method tfeb-card foreign_affairs_bank TMT
# shellcheck source=/dev/null
. "$tokens"

url="http://127.0.0.1:$HTTP_PORT"
sandbox="http://127.0.0.1:$SANDBOX_PORT"
cat <<EOF

paymesh is running: $url   (logs in $VAR/log/, data in $VAR/)

Demo tokens ($tokens):
  alice (user)            ALICE_TOKEN=$ALICE_TOKEN
  bob (user)              BOB_TOKEN=$BOB_TOKEN
  demo-service (service)  SERVICE_TOKEN=$SERVICE_TOKEN

Try it (in another shell):
  . $tokens
  curl -s $url/api/v1/payment/create -H "x_auth_token: \$ALICE_TOKEN" \\
    -d '{"idempotency_token":"'\$(cat /proc/sys/kernel/random/uuid)'","money_info":{"method_id":"card-1","currency":"USD","amount":1.10},"recipcient":{"recipcient_id":"bob"},"sender":{"sender_id":"alice"}}'
  curl -s $url/api/v1/payment/<transaction_id>/retrieve -H "x_auth_token: \$ALICE_TOKEN"

Store purchases (Cafe Bazaar, played by the sandbox on $sandbox):
  curl -s $url/finance/packages/ -H "x_auth_token: \$ALICE_TOKEN" -H "devicetype: android"
  serial=\$(curl -s $url/finance/purchase -H "x_auth_token: \$ALICE_TOKEN" \\
    -d '{"serial_number":"coins_100"}' | jq -r .serial_number)
  token=\$(curl -s $sandbox/sandbox/bazaar/purchases \\
    -d '{"package_name":"$BAZAAR_PACKAGE","sku":"coins_100"}' | jq -r .purchase_token)
  curl -s $url/finance/bazzar_paymnet/ -H "x_auth_token: \$ALICE_TOKEN" \\
    -d '{"serial_number":"'\$serial'","ref_id":"'\$token'"}'        # {"coins":100}
  bin/paymentctl --data-dir $VAR balance --principal alice     # coins, subscription, ledger

BazaarPay checkout (the sandbox plays BazaarPay; open payment_url in a browser and click Pay):
  curl -s $url/finance/bazaarpay/checkout/ -H "x_auth_token: \$ALICE_TOKEN" \\
    -d '{"serial_number":"coins_100","redirect_url":"$sandbox/sandbox/icons/paid.png"}'
  curl -s $url/finance/bazaarpay/confirm/ -H "x_auth_token: \$ALICE_TOKEN" \\
    -d '{"checkout_token":"<checkout_token>"}'                       # {"state":"delivered",...}
  bin/paymentctl --data-dir $VAR checkout show <checkout_token>      # state and every attempt

Bank orders (seed 004; the sandbox plays Halkbank and TFEB; README.md has the five calls):
  curl -s $url/gen-reg-no/ -H "x_auth_token: \$ALICE_TOKEN" \\
    -d '{"RegNumTypeId": 9, "random_mode": 1, "RegNumTypeName": "sale_order_invoice_code"}'
  then /checkout-sale-order-inv/, /order-payment-register-request/?online_payment_type=halkbank,
  Pay on checkout_url, and /order-inv-validation/  # {"status":1,"message":"Validation success",...}

Ctrl-C stops everything.
EOF

# Wait until a signal arrives (the INT/TERM trap exits 0) or a daemon dies.
set +e
wait -n "${pids[@]}"
rc=$?
for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null || [[ $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1) == Z ]]; then
        echo "paymesh: ${names[$pid]} (pid $pid) exited (status $rc); stopping the others" >&2
    fi
done
stop_all
trap - EXIT
exit 1
