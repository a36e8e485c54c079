#!/usr/bin/env bash
# The paymesh image's entrypoint (installed as /usr/local/bin/paymesh-entrypoint).
#
#   paymesh-entrypoint PROGRAM [ARGS...]
#       Loads secrets, then execs PROGRAM (payment-core, api-gateway,
#       provider-bazaar, provider-bank, retry-worker, sandbox, paymentctl),
#       which reads its settings from PAYMESH_* variables and ARGS.
#   paymesh-entrypoint --health PROGRAM
#       The container health check (compose.yaml): exit 0 when PROGRAM serves.
#
# Secrets: the daemons take every setting from a flag or a PAYMESH_* variable
# and have no "read it from a file" setting, so a secret (a provider's client
# secret, a bank password) comes in as a file: each file in /run/secrets
# whose name is a PAYMESH_* variable name (compose.yaml mounts them there with
# `secrets: - source: ... target: PAYMESH_...`) is exported as that variable,
# with its trailing newlines removed. An empty file is skipped (the daemon's
# default stays). A variable set both in the environment and as a secret file
# is refused: say it once. Nothing of a secret is printed.
#
# PM_SECRETS_DIR overrides /run/secrets (for trying this outside a container).
set -euo pipefail

prog=paymesh-entrypoint
secrets_dir=${PM_SECRETS_DIR:-/run/secrets}

usage() {
    cat >&2 <<EOF
usage: $prog PROGRAM [ARGS...]        run a paymesh program (secrets from $secrets_dir)
       $prog --health PROGRAM         the container health check
programs: payment-core api-gateway provider-bazaar provider-bank retry-worker sandbox paymentctl
EOF
}

load_secrets() {
    local f name value
    [[ -d $secrets_dir ]] || return 0
    for f in "$secrets_dir"/*; do
        [[ -f $f ]] || continue
        name=${f##*/}
        if [[ ! $name =~ ^PAYMESH_[A-Z0-9_]+$ ]]; then
            echo "$prog: ignoring $f: its name is not a PAYMESH_* setting" >&2
            continue
        fi
        if [[ ! -r $f ]]; then
            echo "$prog: cannot read the secret $f (uid $(id -u)); make it readable by this user" >&2
            exit 2
        fi
        value=$(cat -- "$f")
        [[ -n $value ]] || continue
        if [[ -n ${!name+x} ]]; then
            echo "$prog: $name is set in the environment and as the secret $f; set it once" >&2
            exit 2
        fi
        export "$name=$value"
    done
}

# running PROGRAM: a process of that name runs in this container.
running() {
    local c
    for c in /proc/[0-9]*/comm; do
        [[ $(cat "$c" 2>/dev/null) == "${1:0:15}" ]] && return 0
    done
    return 1
}

# connected ENDPOINT: an established TCP connection to ENDPOINT's port
# (a worker's ZeroMQ connection to payment-core's worker socket).
connected() {
    local port hex
    port=${1##*:}
    [[ $port =~ ^[0-9]+$ ]] || return 1
    printf -v hex '%04X' "$port"
    # /proc/net/tcp: "sl local rem st ...", addresses as HEXIP:HEXPORT, st 01 = ESTABLISHED.
    awk -v p=":$hex" '$4 == "01" && substr($3, length($3) - 4) == p { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# http_answers PORT: something answers HTTP on 127.0.0.1:PORT (any status).
http_answers() {
    local line
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET /health-check HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t 4 line <&3 || return 1
    exec 3<&-
    [[ $line == HTTP/1.* ]]
}

health() {
    local p=$1
    running "$p" || { echo "$p is not running" >&2; return 1; }
    case $p in
    payment-core)
        local admin=()
        [[ -z ${PAYMESH_ADMIN_ENDPOINT:-} ]] || admin=(--core-admin "$PAYMESH_ADMIN_ENDPOINT")
        paymentctl "${admin[@]}" --timeout-ms 3000 ping >/dev/null
        ;;
    api-gateway) http_answers "${PAYMESH_HTTP_PORT:-8080}" ;;
    sandbox) http_answers "${PAYMESH_HTTP_PORT:-8090}" ;;
    provider-bazaar | provider-bank | retry-worker)
        local ep=${PAYMESH_CORE_WORKER_ENDPOINT:-tcp://127.0.0.1:7101}
        connected "$ep" || { echo "$p has no connection to $ep" >&2; return 1; }
        ;;
    *)
        echo "$prog: no health check for '$p'" >&2
        return 2
        ;;
    esac
}

case ${1:-} in
"" | -h | --help)
    usage
    [[ -n ${1:-} ]] && exit 0 || exit 2
    ;;
--health)
    [[ $# -eq 2 ]] || { usage; exit 2; }
    health "$2"
    exit
    ;;
esac
load_secrets
exec "$@"
