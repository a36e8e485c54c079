#!/usr/bin/env bash
# bench.sh: `make bench`. nginx (the ceiling), PostgreSQL + pgbench (the
# peer) and paymesh side by side on this machine, loopback only; see
# bench/README.md for the cases and how to read the output.
#
# Every process is started here, on free 127.0.0.1 ports, with its files in
# one temporary directory, and stopped by its PID on exit (SIGTERM, then
# SIGKILL after 10 s). A watchdog ends the whole run after BENCH_TIMEOUT_S.
#
# Environment:
#   BENCH_SECONDS    duration of each wrk / pgbench run (default 5)
#   BENCH_RUNS       runs per case, the median is reported (default 3)
#   BENCH_PRELOAD    payments stored before the scale runs (default 1000000)
#   BENCH_TIMEOUT_S  the whole run's bound (default 900, 2400 for 10M)
#   BENCH_TMPDIR     where the temporary directory goes (default /var/tmp:
#                    on disk, so fsync means something)
#   BENCH_KEEP_TMP=1 keep the temporary directory (logs, data) at the end
#   PAYMESH_BIN      programs under test (default bin)
#   BENCH_CURVE_COUNT creates per run of the CURVE case (default 100000)
#   BENCH_ONLY=curve run the CURVE case alone (no nginx, PostgreSQL, wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

D=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-3}
PRELOAD=${BENCH_PRELOAD:-1000000}
if ((PRELOAD > 2000000)); then def_timeout=2400; else def_timeout=900; fi
TIMEOUT_S=${BENCH_TIMEOUT_S:-$def_timeout}
BIN=${PAYMESH_BIN:-bin}
[[ $BIN == /* ]] || BIN="$ROOT/$BIN"
THREADS=2
CONNS=64
RESULTS=$ROOT/bench/results
export BENCH_WRK_DIR=$ROOT/bench/wrk BENCH_THREADS=$THREADS

# The daemons' settings come from flags here, never from the environment.
for _v in $(compgen -e PAYMESH_); do unset "$_v"; done

started=$(date +%s)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
say() { printf '[bench %3ds] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# --- packages -----------------------------------------------------------------

if [[ ${BENCH_ONLY:-} != curve ]]; then
    pkgs=(wrk jq gnuplot-nox postgresql curl)
    dpkg-query -W -f='${Status}' nginx-light 2>/dev/null | grep -q "install ok installed" ||
        dpkg-query -W -f='${Status}' nginx 2>/dev/null | grep -q "install ok installed" ||
        command -v nginx >/dev/null || pkgs+=(nginx-light)
    scripts/deps.sh "${pkgs[@]}" >&2
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -x $PGBIN/postgres ]] || die "no PostgreSQL server under /usr/lib/postgresql"
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
for p in payment-core api-gateway sandbox provider-bazaar paymentctl pm-load; do
    [[ -x $BIN/$p ]] || die "$BIN/$p is not built (make all bin/pm-load)"
done

# --- processes ------------------------------------------------------------------

TMP=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/pm-bench.XXXXXX")
chmod 755 "$TMP"
mkdir -p "$TMP/log" "$TMP/runs" "$RESULTS"
pids=()
declare -A pname pstop_sig

alive() {
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && ${st:0:1} != Z && ${st:0:1} != X ]]
}

# spawn NAME [SIGNAL] -- CMD...: starts CMD in the background, log in
# $TMP/log/NAME.log; sets LAST_PID. SIGNAL stops it (default TERM).
spawn() {
    local name=$1 sig=TERM
    shift
    if [[ $1 != -- ]]; then sig=$1; shift; fi
    shift
    "$@" </dev/null >>"$TMP/log/$name.log" 2>&1 &
    LAST_PID=$!
    pids+=("$LAST_PID")
    pname[$LAST_PID]=$name
    pstop_sig[$LAST_PID]=$sig
}

stop_pid() {
    local pid=$1 i keep=() p
    if alive "$pid"; then
        kill -"${pstop_sig[$pid]:-TERM}" "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do
            alive "$pid" || break
            sleep 0.05
        done
        if alive "$pid"; then
            say "${pname[$pid]:-?} (pid $pid) did not stop in 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    for p in "${pids[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    pids=("${keep[@]}")
}

stop_all() {
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[$i]}"; done
}

WATCHDOG=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_all
    [[ -z $WATCHDOG ]] || { kill "$WATCHDOG" 2>/dev/null; wait "$WATCHDOG" 2>/dev/null; } || true
    if [[ ${BENCH_KEEP_TMP:-} == 1 || $rc -ne 0 ]]; then
        say "temporary files kept in $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM
# The watchdog: a bounded run whatever happens.
(
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "$TIMEOUT_S" >/dev/null 2>&1 &
    sp=$!
    wait "$sp"
    echo "[bench] time limit of ${TIMEOUT_S}s reached" >&2
    kill -TERM $$
) &
WATCHDOG=$!

port_busy() { [[ -n $(ss -Htan "sport = :$1" 2>/dev/null) ]]; }
TAKEN=" "
free_port() {
    local p i
    for ((i = 0; i < 500; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 30000))
        [[ $TAKEN == *" $p "* ]] && continue
        port_busy "$p" && continue
        TAKEN+="$p "
        echo "$p"
        return 0
    done
    die "no free loopback port"
}

# wait_for NAME PID CMD...: waits up to 15 s for CMD to succeed.
wait_for() {
    local name=$1 pid=$2 i
    shift 2
    for ((i = 0; i < 300; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        alive "$pid" || break
        sleep 0.05
    done
    tail -n 20 "$TMP/log/$name.log" >&2
    die "$name did not start"
}

# --- the CURVE case (issue 12) -----------------------------------------------------
# curve_case: what CURVE costs a link. Two fresh payment-cores with the same
# settings, one plaintext, one with CURVE on its api socket (keys made with
# paymentctl keygen, pm-load's public key the only one accepted); pm-load
# sends BENCH_CURVE_COUNT creates (1000 in flight, straight to the api
# socket, no HTTP: the link is the whole path beside the commit) to each,
# alternating, RUNS times. Writes $TMP/curve.json: the median rate of each
# and their ratio (CURVE / plaintext).
curve_case() {
    local n=${BENCH_CURVE_COUNT:-100000} keys=$TMP/curve-keys mode r d port extra
    local -A cpid cport ctoken
    mkdir -p "$keys/clients"
    for k in core load; do
        "$BIN/paymentctl" keygen --out "$keys" --name "$k" >/dev/null || die "paymentctl keygen failed"
    done
    cp "$keys/load.pub" "$keys/clients/"
    for mode in plain curve; do
        d=$TMP/curve-$mode
        mkdir -p "$d"
        port=$(free_port)
        extra=()
        [[ $mode == plain ]] || extra=(--curve-secret-key-file "$keys/core.key" --curve-clients-dir "$keys/clients")
        spawn "core-$mode" -- "$BIN/payment-core" --data-dir "$d" --api-endpoint "tcp://127.0.0.1:$port" \
            --worker-endpoint "tcp://127.0.0.1:$(free_port)" --map-size-mb 4096 "${extra[@]}"
        cpid[$mode]=$LAST_PID cport[$mode]=$port
        wait_for "core-$mode" "$LAST_PID" grep -q "payment-core ready" "$TMP/log/core-$mode.log"
        ctoken[$mode]=$(timeout 30 "$BIN/paymentctl" --data-dir "$d" token create --principal bench-service --role service) ||
            die "paymentctl token create ($mode) failed"
        timeout 30 "$BIN/paymentctl" --data-dir "$d" method add --id card-1 --principal bench-merchant \
            --bank none --currency USD >/dev/null || die "paymentctl method add ($mode) failed"
    done
    : >"$TMP/curve.plain.jsonl"
    : >"$TMP/curve.curve.jsonl"
    for ((r = 1; r <= RUNS; r++)); do
        for mode in plain curve; do
            extra=()
            [[ $mode == plain ]] || extra=(--curve-secret-key-file "$keys/load.key" --curve-server-public-key-file "$keys/core.pub")
            "$BIN/pm-load" --endpoint "tcp://127.0.0.1:${cport[$mode]}" --token "${ctoken[$mode]}" --count "$n" \
                --inflight 1000 --tag "curve-$mode-$stamp-$r" "${extra[@]}" >"$TMP/curve.out" 2>>"$TMP/log/pm-load.log" ||
                die "pm-load ($mode) failed: $(tail -n 3 "$TMP/log/pm-load.log")"
            cat "$TMP/curve.out" >>"$TMP/curve.$mode.jsonl"
            say "curve ($mode) run $r: $(jq -c '{rate, seconds, errors}' "$TMP/curve.out")"
        done
    done
    stop_pid "${cpid[curve]}"
    stop_pid "${cpid[plain]}"
    grep -q "CURVE: refused" "$TMP/log/core-curve.log" && say "WARNING: the CURVE core refused a client"
    jq -n --slurpfile p "$TMP/curve.plain.jsonl" --slurpfile c "$TMP/curve.curve.jsonl" --argjson n "$n" '
        def med: sort | .[(length / 2 | floor)];
        ($p | map(.rate) | med) as $pr | ($c | map(.rate) | med) as $cr |
        {creates_per_run: $n, plain_rps: $pr, curve_rps: $cr,
         ratio: (if $pr > 0 then ($cr / $pr * 1000 | round / 1000) else null end),
         plain_runs: ($p | map(.rate)), curve_runs: ($c | map(.rate)),
         note: "pm-load creates straight to payment-core api socket (1000 in flight), a fresh core each, plaintext vs CURVE; ratio = CURVE / plaintext (median of the runs)"}
    ' >"$TMP/curve.json"
    say "curve: $(jq -c '{plain_rps, curve_rps, ratio}' "$TMP/curve.json")"
}

if [[ ${BENCH_ONLY:-} == curve ]]; then
    for p in payment-core paymentctl pm-load; do
        [[ -x $BIN/$p ]] || die "$BIN/$p is not built (make all bin/pm-load)"
    done
    curve_case
    cat "$TMP/curve.json"
    exit 0
fi

# --- measuring ------------------------------------------------------------------

RUN_BASE=0 # added to the run numbers (cases run one run at a time through once, below)
# wrk_case CASE URL SCRIPT [VAR=VALUE...]: RUNS runs of wrk, one JSON line
# per run appended to $TMP/runs/CASE.jsonl. Each run gets BENCH_TAG=CASE-run.
wrk_case() {
    local case=$1 url=$2 script=$3 r out
    shift 3
    for ((r = 1; r <= RUNS; r++)); do
        out=$(env "$@" BENCH_TAG="$case-$stamp-$((RUN_BASE + r))" timeout $((D + 30)) \
            wrk -t"$THREADS" -c"$CONNS" -d"${D}s" --latency -s "$ROOT/bench/wrk/$script" "$url" 2>&1) ||
            { printf '%s\n' "$out" >&2; die "wrk failed in $case"; }
        printf '%s\n' "$out" >>"$TMP/log/wrk-$case.log"
        grep '^BENCHJSON ' <<<"$out" | sed 's/^BENCHJSON //' >>"$TMP/runs/$case.jsonl" ||
            die "no result from wrk in $case"
        say "$case run $((RUN_BASE + r)): $(tail -n 1 "$TMP/runs/$case.jsonl" | jq -c '{rps, p50_ms, p99_ms, p999_ms, errors}')"
    done
}

# Peak resident memory: VmHWM of each daemon is read at the end; a sampler
# keeps the peak of RssAnon (memory that is not the LMDB map or a file).
RSS_PIDS=()
rss_sampler() {
    declare -A peak
    local pid a
    while :; do
        for pid in "${RSS_PIDS[@]}"; do
            a=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
            [[ -n $a ]] || continue
            ((a > ${peak[$pid]:-0})) && peak[$pid]=$a
        done
        for pid in "${!peak[@]}"; do echo "$pid ${peak[$pid]}"; done >"$TMP/rss.peak.tmp"
        mv "$TMP/rss.peak.tmp" "$TMP/rss.peak"
        sleep 0.2
    done
}

# ================================================================================
say "temporary directory $TMP; ${D}s per run, $RUNS runs per case, preload $PRELOAD"
LOADAVG=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$LOADAVG" 'BEGIN { exit !(l > 0.5) }' &&
    say "WARNING: load average $LOADAVG before the start: something else is running; the figures will show it"

# --- 1. nginx: the ceiling ------------------------------------------------------

NGX_PORT=$(free_port)
mkdir -p "$TMP/nginx"
sed -e "s|@PREFIX@|$TMP/nginx|g" -e "s|@PORT@|$NGX_PORT|g" bench/nginx.conf.in >"$TMP/nginx/nginx.conf"
spawn nginx -- "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf"
NGX_PID=$LAST_PID
wait_for nginx "$NGX_PID" curl -sf --noproxy '*' "http://127.0.0.1:$NGX_PORT/"
say "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$NGX_PORT, 2 workers"
# (its runs are in the interleaved rounds below)

# --- 2. PostgreSQL + pgbench: the peer -------------------------------------------

PG=$TMP/pg
# PostgreSQL's programs may run as `postgres` (below), a user that need not be
# able to read this checkout (cloned under /root or any mode-700 directory):
# psql and pgbench get their SQL from copies in the cluster's own directory.
mkdir -p "$PG/log" "$PG/sql"
cp bench/pg_*.sql "$PG/sql/"
# PG_AS runs a command as the cluster's owner, in the cluster's directory (the
# owner may not be allowed into the caller's working directory either).
PG_AS=(env -C "$PG")
if [[ $(id -u) == 0 ]]; then
    # PostgreSQL refuses to run as root: the cluster belongs to `postgres`.
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    chown -R postgres: "$PG"
    PG_AS+=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi
as_pg() { "${PG_AS[@]}" "$@"; }
as_pg test -r "$PG/sql/pg_create.sql" ||
    die "the PostgreSQL user cannot read $PG (set BENCH_TMPDIR to a directory it can reach)"
PG_PORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$PG/data" -A trust -U bench -E UTF8 --no-sync >"$TMP/log/initdb.log" 2>&1 ||
    { tail "$TMP/log/initdb.log" >&2; die "initdb failed"; }
spawn postgres INT -- "${PG_AS[@]}" "$PGBIN/postgres" -D "$PG/data" -p "$PG_PORT" -k "$PG" \
    -c listen_addresses='' -c fsync=on -c synchronous_commit=on -c full_page_writes=on \
    -c max_connections=50 -c autovacuum=off
PG_PID=$LAST_PID
wait_for postgres "$PG_PID" "$PGBIN/pg_isready" -q -h "$PG" -p "$PG_PORT" -U bench -d postgres
as_pg psql -q -h "$PG" -p "$PG_PORT" -U bench -d postgres -v ON_ERROR_STOP=1 \
    -f "$PG/sql/pg_schema.sql" >>"$TMP/log/psql.log" 2>&1 || die "schema: $(cat "$TMP/log/psql.log")"
PG_VERSION=$("$PGBIN/postgres" --version | awk '{print $3}')
say "PostgreSQL $PG_VERSION (fsync=on, synchronous_commit=on), pgbench -c 8 -j 2"
# pgbench_run R [CASE SCRIPT]: one pgbench run of D seconds of SCRIPT (default
# pg_create.sql), one JSON line appended to $TMP/runs/CASE.jsonl (default
# pgbench; its runs are in the interleaved rounds below).
pgbench_run() {
    local r=$1 case=${2:-pgbench} script=${3:-pg_create.sql} out tps failed
    rm -f "$PG"/log/tx*
    out=$(as_pg timeout $((D + 60)) "$PGBIN/pgbench" -n -h "$PG" -p "$PG_PORT" -U bench \
        -c 8 -j 2 -T "$D" -M prepared -f "$PG/sql/$script" -l --log-prefix="$PG/log/tx" \
        postgres 2>&1) || { printf '%s\n' "$out" >&2; die "pgbench failed ($script)"; }
    printf '%s\n' "$out" >>"$TMP/log/$case.log"
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*without initial.*/\1/p' <<<"$out" | head -n 1)
    [[ -n $tps ]] || tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -n 1)
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
    # Per-transaction log: column 3 is the latency in microseconds.
    cat "$PG"/log/tx* | awk '{print $3}' | sort -n | awk -v tps="$tps" -v failed="${failed:-0}" '
        { v[NR] = $1 }
        function pct(p,  i) { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; return v[i] / 1000 }
        END { printf "{\"requests\":%d,\"rps\":%s,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"non2xx\":%d,\"socket_errors\":0,\"errors\":%d,\"exhausted\":0}\n",
              NR, tps, pct(50), pct(99), pct(99.9), v[NR] / 1000, failed, failed }' \
        >>"$TMP/runs/$case.jsonl"
    say "$case run $r: $(tail -n 1 "$TMP/runs/$case.jsonl" | jq -c '{rps, p50_ms, p99_ms, p999_ms, errors}')"
}

# --- 3. paymesh ------------------------------------------------------------------

DATA=$TMP/data
mkdir -p "$DATA"
CORE_PORT=$(free_port)
WORKER_PORT=$(free_port)
GW_PORT=$(free_port)
SB_PORT=$(free_port)
if ((PRELOAD > 2000000)); then MAP_MB=$((PRELOAD / 1000000 * 2048 + 4096)); else MAP_MB=8192; fi
spawn payment-core -- "$BIN/payment-core" --data-dir "$DATA" \
    --api-endpoint "tcp://127.0.0.1:$CORE_PORT" --worker-endpoint "tcp://127.0.0.1:$WORKER_PORT" \
    --map-size-mb "$MAP_MB"
CORE_PID=$LAST_PID
wait_for payment-core "$CORE_PID" grep -q "payment-core ready" "$TMP/log/payment-core.log"
spawn api-gateway -- "$BIN/api-gateway" --http-host 127.0.0.1 --http-port "$GW_PORT" \
    --core-endpoint "tcp://127.0.0.1:$CORE_PORT"
GW_PID=$LAST_PID
wait_for api-gateway "$GW_PID" grep -q "api-gateway listening on http://" "$TMP/log/api-gateway.log"
spawn sandbox -- "$BIN/sandbox" --http-host 127.0.0.1 --http-port "$SB_PORT" --max-purchases 1000000
SB_PID=$LAST_PID
wait_for sandbox "$SB_PID" grep -q "sandbox listening on http://" "$TMP/log/sandbox.log"
# BazaarPay (issue 10): provider-bazaar also speaks to the sandbox's
# /badje/v1/, and retry-worker runs beside it, as in make run.
BP_FLAGS=()
HAVE_BAZAARPAY=0
if "$BIN/provider-bazaar" --help 2>&1 | grep -q -- '--bazaarpay-base-url' && [[ -x $BIN/retry-worker ]]; then
    HAVE_BAZAARPAY=1
    BP_FLAGS=(--bazaarpay-base-url "http://127.0.0.1:$SB_PORT/badje/v1/"
        --bazaarpay-merchant-token sandbox-merchant-token --bazaarpay-destination paymesh-bench)
fi
spawn provider-bazaar -- "$BIN/provider-bazaar" --environment sandbox --core-worker-endpoint "tcp://127.0.0.1:$WORKER_PORT" \
    --bazaar-base-url "http://127.0.0.1:$SB_PORT/devapi/v2/" --bazaar-package-name com.paymesh.demo "${BP_FLAGS[@]}"
PB_PID=$LAST_PID
wait_for provider-bazaar "$PB_PID" grep -q "provider-bazaar ready" "$TMP/log/provider-bazaar.log"
RSS_PIDS=("$CORE_PID" "$GW_PID" "$PB_PID" "$SB_PID")
if ((HAVE_BAZAARPAY)); then
    spawn retry-worker -- "$BIN/retry-worker" --core-worker-endpoint "tcp://127.0.0.1:$WORKER_PORT"
    RW_PID=$LAST_PID
    wait_for retry-worker "$RW_PID" grep -q "retry-worker ready" "$TMP/log/retry-worker.log"
    RSS_PIDS+=("$RW_PID")
fi
# Seed 004 (bank orders): provider-bank registers orders with the sandbox's
# Halkbank (RBS) and asks their state, as in make run; the order case needs
# it and paymentctl's registration number types. Programs built before
# seed 004 run without it, and the case is left out (the output says so).
HAVE_BANK=0
if [[ -x $BIN/provider-bank ]]; then
    pbk_help=$("$BIN/provider-bank" --help 2>&1 || true)
    ctl_help=$("$BIN/paymentctl" --help 2>&1 || true)
    ctl_help+=$("$BIN/paymentctl" 2>&1 || true)
    if [[ $pbk_help == *--halkbank-base-url* && $ctl_help == *"regno-type add"* ]]; then HAVE_BANK=1; fi
fi
if ((HAVE_BANK)); then
    spawn provider-bank -- "$BIN/provider-bank" --environment sandbox --core-worker-endpoint "tcp://127.0.0.1:$WORKER_PORT" \
        --halkbank-base-url "http://127.0.0.1:$SB_PORT/payment/rest/"
    PBK_PID=$LAST_PID
    wait_for provider-bank "$PBK_PID" grep -q "provider-bank ready" "$TMP/log/provider-bank.log"
    RSS_PIDS+=("$PBK_PID")
fi
rss_sampler &
SAMPLER=$!
pids+=("$SAMPLER")
pname[$SAMPLER]=rss-sampler

ctl() { timeout 30 "$BIN/paymentctl" --data-dir "$DATA" "$@"; }
ALICE=$(ctl token create --principal alice --role user)
SERVICE=$(ctl token create --principal bench-service --role service)
# A payment names a payment method of its recipient (issue 11): pm-load pays
# bench-merchant, the create and replay cases (wrk/create.lua, REPLAY_BODY)
# pay bob, all by card-1 in USD.
ctl method add --id card-1 --principal bench-merchant,bob --bank none --currency USD >/dev/null ||
    die "paymentctl method add failed"
ctl package add --sku coins_100 --name "100 coins" --price 1000 --type coin --coins 100 \
    --platforms android,ios >/dev/null
if ((HAVE_BANK)); then
    ctl regno-type add --id 9 --name bench --prefix B --length 12 \
        --alphabet 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ >/dev/null || die "paymentctl regno-type add failed"
fi
GW="http://127.0.0.1:$GW_PORT"
say "paymesh on $GW (core $CORE_PORT, sandbox $SB_PORT), LMDB map ${MAP_MB} MiB in $DATA"

stat_of() { ctl stats | jq -r ".$1"; }

# Retrieves read 2000 payments made here; the replay case repeats one create.
"$BIN/pm-load" --endpoint "tcp://127.0.0.1:$CORE_PORT" --token "$SERVICE" --count 2000 \
    --tag "pre-$stamp" --ids-out "$TMP/ids.small" --ids-every 1 >/dev/null || die "pm-load (2000) failed"
REPLAY_BODY='{"idempotency_token":"replay-'$stamp'","money_info":{"method_id":"card-1","currency":"USD","amount":"1.10"},"recipcient":{"recipcient_id":"bob"},"sender":{"sender_id":"alice"}}'
code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' "$GW/api/v1/payment/create" \
    -H "x_auth_token: $ALICE" --data-binary "$REPLAY_BODY")
[[ $code == 200 ]] || die "first create of the replay case answered $code"

# --- the interleaved rounds ------------------------------------------------------
# Each round runs every case that a target compares once: nginx GET and POST,
# paymesh create (a fresh idempotency token per request), retrieve and
# idempotent replay, then pgbench. A shared machine has slow and fast spells
# lasting seconds; taking all the runs of one case back to back let a spell
# fall on one side of a ratio only, while in rounds it falls on all of them
# alike. payment-core's group-commit counters are read around each create
# run (creates per commit, time per commit).
once() { # once R CASE URL SCRIPT [VAR=VALUE...]: run R of CASE
    local RUNS=1 RUN_BASE=$(($1 - 1))
    shift
    wrk_case "$@"
}
for ((r = 1; r <= RUNS; r++)); do
    once "$r" nginx_get "http://127.0.0.1:$NGX_PORT/" static_get.lua
    once "$r" nginx_post "http://127.0.0.1:$NGX_PORT/" static_post.lua
    ctl stats >"$TMP/stats.create.$r.before"
    once "$r" create "$GW" create.lua BENCH_TOKEN="$ALICE" BENCH_SENDER=alice
    ctl stats >"$TMP/stats.create.$r.after"
    once "$r" retrieve "$GW" retrieve.lua BENCH_TOKEN="$SERVICE" BENCH_IDS="$TMP/ids.small"
    once "$r" replay "$GW" replay.lua BENCH_TOKEN="$ALICE" BENCH_BODY="$REPLAY_BODY"
    pgbench_run "$r"
done
stop_pid "$NGX_PID"

# Durability: every create acknowledged with a 2xx is stored (retrieves and
# replays in between store nothing).
before=$(jq -r .payments "$TMP/stats.create.1.before")
after=$(jq -r .payments "$TMP/stats.create.$RUNS.after")
acked=$(jq -s 'map(.requests - .errors) | add' "$TMP/runs/create.jsonl")
echo "{\"acked\":$acked,\"stored\":$((after - before))}" >"$TMP/durability.json"
for ((r = 1; r <= RUNS; r++)); do
    jq -n --slurpfile a "$TMP/stats.create.$r.before" --slurpfile b "$TMP/stats.create.$r.after" '
        $a[0] as $a | $b[0] as $b |
        {batches: ($b.batches - $a.batches), requests: ($b.batch_requests - $a.batch_requests),
         commit_us: ($b.commit_us_total - $a.commit_us_total), commit_us_max: $b.commit_us_max,
         redone: (($b.batches_redone // 0) - ($a.batches_redone // 0))}'
done | jq -s '
    {batches: (map(.batches) | add), requests: (map(.requests) | add),
     commit_us: (map(.commit_us) | add), commit_us_max: (map(.commit_us_max) | max),
     redone: (map(.redone) | add)}
    | . + {mean_group: (if .batches > 0 then (.requests / .batches * 10 | round / 10) else 0 end),
           mean_commit_ms: (if .batches > 0 then (.commit_us / .batches / 10 | round / 100) else 0 end)}
' >"$TMP/group.json"

# PostgreSQL's bytes per stored payment (both tables with their indexes), for
# the LMDB figure's ratio.
as_pg psql -qtA -h "$PG" -p "$PG_PORT" -U bench -d postgres -c "CHECKPOINT" >/dev/null 2>&1 || true
PG_SIZE=$(as_pg psql -qtA -F ' ' -h "$PG" -p "$PG_PORT" -U bench -d postgres -c \
    "SELECT pg_total_relation_size('payments') + pg_total_relation_size('idempotency_keys'), count(*) FROM payments" \
    2>>"$TMP/log/psql.log") || PG_SIZE="0 0"
read -r PG_BYTES PG_ROWS <<<"$PG_SIZE"
# (PostgreSQL stays up for the checkout case's pgbench runs, below.)

# Store redeem: open purchases (alice) and buy sandbox tokens with wrk for
# PREP seconds each, pair them up, RUNS disjoint sets.
collect() { # collect OUT URL METHOD PATH BODY MATCH [TOKEN]; runs COLLECT_S (default D) seconds
    local secs=${COLLECT_S:-$D}
    rm -f "$1".*
    env BENCH_OUT="$1" BENCH_METHOD="$3" BENCH_PATH="$4" BENCH_BODY="$5" BENCH_MATCH="$6" \
        ${7:+BENCH_TOKEN="$7"} timeout $((secs + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" \
        -s "$ROOT/bench/wrk/collect.lua" "$2" >>"$TMP/log/prepare.log" 2>&1 || true
    cat "$1".* 2>/dev/null | grep -v '^$' || true
}
say "redeem: preparing purchases and sandbox tokens ($D s each)"
collect "$TMP/serials" "$GW" POST /finance/purchase '{"serial_number":"coins_100"}' \
    '"serial_number":"(%d+)"' "$ALICE" >"$TMP/serials"
collect "$TMP/tokens" "http://127.0.0.1:$SB_PORT" POST /sandbox/bazaar/purchases \
    '{"package_name":"com.paymesh.demo","sku":"coins_100"}' '"purchase_token":"([^"]+)"' >"$TMP/tokens"
npairs=$(($(wc -l <"$TMP/serials") < $(wc -l <"$TMP/tokens") ? $(wc -l <"$TMP/serials") : $(wc -l <"$TMP/tokens")))
say "redeem: $npairs pairs prepared"
REDEEM_CASE=redeem
if ((npairs >= RUNS * 100)); then
    paste -d ' ' <(head -n "$npairs" "$TMP/serials") <(head -n "$npairs" "$TMP/tokens") >"$TMP/pairs"
    per=$((npairs / RUNS))
    for ((r = 1; r <= RUNS; r++)); do
        sed -n "$(((r - 1) * per + 1)),$((r * per))p" "$TMP/pairs" >"$TMP/pairs.$r"
        once "$r" redeem "$GW" redeem.lua BENCH_TOKEN="$ALICE" BENCH_PAIRS="$TMP/pairs.$r"
    done
else
    say "redeem: too few pairs; measuring the catalog list instead"
    REDEEM_CASE=catalog
    wrk_case catalog "$GW" catalog.lua BENCH_TOKEN="$ALICE"
fi

# BazaarPay checkout confirm (issue 10) beside PostgreSQL's transaction of the
# same shape. Prepared first: checkouts opened through the gateway for 2 D
# seconds (each a checkout/init/ at the sandbox through provider-bazaar),
# split in RUNS disjoint sets; each set is paid at the sandbox's admin (curl,
# 16 at a time) right before its run, as users come back and the app
# confirms (paymesh also re-traces open checkouts on its own, on its
# backoff, so a few may be delivered before their confirm). Measured: confirms (trace at the sandbox, then the
# delivery and the queued commit in one LMDB transaction; the answer comes
# after it is durable). After each run, the time until every checkout it
# confirmed is committed at the sandbox (the commits follow the answers) is
# taken too, so that the figure with the commits included is known; then
# pgbench runs bench/pg_checkout.sql, so the rounds interleave as above.
CHECKOUT_CASES=()
# pay_all IN OUT: POST /sandbox/bazaarpay/checkouts/{token}/pay for every
# token of IN; OUT gets those answered 2xx.
pay_all() {
    local cfg="$TMP/pay.curl" t
    while read -r t; do
        printf 'url = "http://127.0.0.1:%s/sandbox/bazaarpay/checkouts/%s/pay"\noutput = "/dev/null"\n' "$SB_PORT" "$t"
    done <"$1" >"$cfg"
    timeout 300 curl -s --noproxy '*' --parallel --parallel-max 16 -X POST -H 'Content-Type: application/json' \
        -d '{}' -w '%{http_code} %{url_effective}\n' -K "$cfg" 2>>"$TMP/log/prepare.log" |
        awk '$1 ~ /^2/ { n = split($2, p, "/"); print p[n - 1] }' >"$2" || true
}
# committed_after LIST: waits (120 s at most) until every checkout of LIST
# is committed (GET through the gateway, 16 at a time); prints the seconds
# it took, or -1.
committed_after() {
    local start now dir="$TMP/drain" left="$TMP/drain.left" t
    start=$(date +%s%N)
    cp "$1" "$left"
    while [[ -s $left ]]; do
        rm -rf "$dir"
        mkdir -p "$dir"
        while read -r t; do
            printf 'url = "%s/finance/bazaarpay/checkout/%s/"\noutput = "%s/%s"\n' "$GW" "$t" "$dir" "$t"
        done <"$left" >"$TMP/drain.curl"
        curl -s --noproxy '*' --parallel --parallel-max 16 -H "x_auth_token: $ALICE" -K "$TMP/drain.curl" \
            >/dev/null 2>>"$TMP/log/prepare.log" || true
        while read -r t; do
            grep -q '"state" *: *"committed"' "$dir/$t" 2>/dev/null || echo "$t"
        done <"$left" >"$left.next"
        mv "$left.next" "$left"
        [[ -s $left ]] || break
        now=$(date +%s%N)
        if (((now - start) / 1000000000 > 120)); then
            say "checkout: $(wc -l <"$left") checkouts still not committed after 120 s"
            echo -1
            return
        fi
        sleep 0.2
    done
    now=$(date +%s%N)
    awk -v ns=$((now - start)) 'BEGIN { printf "%.3f\n", ns / 1e9 }'
}
if ((HAVE_BAZAARPAY)); then
    # Opening takes about as long per checkout as a confirm: 3 D seconds of
    # it leave each run at least as many checkouts as it can confirm.
    say "checkout: opening checkouts through the gateway ($((3 * D)) s)"
    COLLECT_S=$((3 * D)) collect "$TMP/checkouts" "$GW" POST /finance/bazaarpay/checkout/ \
        '{"serial_number":"coins_100","redirect_url":"http://127.0.0.1:'"$SB_PORT"'/sandbox/faults"}' \
        '"checkout_token":"([^"]+)"' "$ALICE" >"$TMP/checkouts"
    nopen=$(wc -l <"$TMP/checkouts")
    say "checkout: $nopen checkouts opened"
    if ((nopen >= RUNS * 100)); then
        CHECKOUT_CASES=(checkout_confirm pgbench_checkout)
        per=$((nopen / RUNS))
        : >"$TMP/checkout.drain.jsonl"
        for ((r = 1; r <= RUNS; r++)); do
            sed -n "$(((r - 1) * per + 1)),$((r * per))p" "$TMP/checkouts" >"$TMP/open.$r"
            pay_all "$TMP/open.$r" "$TMP/paid.$r"
            say "checkout run $r: $(wc -l <"$TMP/paid.$r") of $per checkouts paid at the sandbox"
            rm -f "$TMP/confirmed.$r".*
            once "$r" checkout_confirm "$GW" confirm.lua BENCH_TOKEN="$ALICE" BENCH_LIST="$TMP/paid.$r" \
                BENCH_OUT="$TMP/confirmed.$r"
            sort -u "$TMP/confirmed.$r".* >"$TMP/confirmed.$r" 2>/dev/null || : >"$TMP/confirmed.$r"
            drain=$(committed_after "$TMP/confirmed.$r")
            n=$(wc -l <"$TMP/confirmed.$r")
            secs=$(tail -n 1 "$TMP/runs/checkout_confirm.jsonl" | jq -r .seconds)
            jq -nc --argjson n "$n" --argjson drain "$drain" --argjson secs "$secs" \
                '{confirmed: $n, drain_s: $drain,
                  committed_rps: (if $drain >= 0 then ($n / ($secs + $drain) * 10 | round / 10) else null end)}' \
                >>"$TMP/checkout.drain.jsonl"
            say "checkout_confirm run $r, its commits: $(tail -n 1 "$TMP/checkout.drain.jsonl")"
            pgbench_run "$r" pgbench_checkout pg_checkout.sql
        done
    else
        say "checkout: too few checkouts opened ($nopen); no checkout case"
    fi
fi

# Seed 004 order validation at Halkbank (the sandbox's RBS) beside
# PostgreSQL's transaction of the same shape. Before each run, a fresh set
# of BENCH_ORDERS orders (default 600 per second of BENCH_SECONDS): a
# registration number (/gen-reg-no/), its invoice
# (/checkout-sale-order-inv/) and its order at the bank
# (/order-payment-register-request/, provider-bank registers it at the
# sandbox), all through the gateway, 16 at a time (one curl each stage);
# then the payer pays each at the sandbox's admin
# (/sandbox/bank/orders/{id}/pay), and wrk validates them
# (/order-inv-validation/: a status call at the bank through provider-bank,
# then the invoice marked paid in one LMDB transaction before the answer).
# The run ends when every order is answered (wrk/validate.lua sends wrk a
# SIGINT) or after BENCH_SECONDS. Then pgbench runs bench/pg_order.sql, so
# that the rounds interleave as above.
ORDER_CASES=()
NORDERS=${BENCH_ORDERS:-$((600 * D))}
: >"$TMP/orders.runs.jsonl"
# par_curl CFG: one curl over CFG, 16 transfers at a time; CFG's entries each
# begin with their url line (a "next" goes before every url but the first).
par_curl() {
    awk 'NR > 1 && /^url = / { print "next" } { print }' "$1" >"$1.k"
    timeout 300 curl -s --no-progress-meter --noproxy '*' --parallel --parallel-max 16 -K "$1.k" \
        2>>"$TMP/log/prepare.log" || true
}
# orders_prepare N OUT: N Halkbank orders of alice, 17.50 TMT each; OUT gets
# "ORDERID REGNO" for every order registered at the bank.
orders_prepare() {
    local dir="$TMP/orders.prep" i
    local hdr='header = "x_auth_token: '"$ALICE"'"
header = "Content-Type: application/json"'
    rm -rf "$dir"
    mkdir -p "$dir/reg" "$dir/ord"
    for ((i = 1; i <= $1; i++)); do
        printf 'url = "%s/gen-reg-no/"\n%s\ndata = "{\\"RegNumTypeId\\": 9, \\"random_mode\\": 1}"\noutput = "%s/reg/%d"\n' \
            "$GW" "$hdr" "$dir" "$i"
    done >"$dir/reg.curl"
    par_curl "$dir/reg.curl" >/dev/null
    { find "$dir/reg" -type f -exec cat {} + 2>/dev/null || true; } |
        { grep -o '"data" *: *"[A-Za-z0-9_-]*"' || true; } | sed 's/.*"\([^"]*\)"$/\1/' >"$dir/regs"
    awk -v gw="$GW" -v hdr="$hdr" '{
        printf "url = \"%s/checkout-sale-order-inv/\"\n%s\noutput = \"/dev/null\"\n", gw, hdr
        printf "data = \"{\\\"OInvRegNo\\\": \\\"%s\\\", \\\"online_payment_type\\\": \\\"halkbank\\\", \\\"OInvTotal\\\": 17.50, \\\"OrderInvLines\\\": [{\\\"ResName\\\": \\\"tea\\\", \\\"ItemCount\\\": 2, \\\"ResPrice\\\": 5.00}, {\\\"ResName\\\": \\\"cake\\\", \\\"ItemCount\\\": 1, \\\"ResPrice\\\": 7.50}]}\"\n", $1
    }' "$dir/regs" >"$dir/inv.curl"
    par_curl "$dir/inv.curl" >/dev/null
    awk -v gw="$GW" -v hdr="$hdr" -v dir="$dir" '{
        printf "url = \"%s/order-payment-register-request/?online_payment_type=halkbank\"\n%s\noutput = \"%s/ord/%s\"\n", gw, hdr, dir, $1
        printf "data = \"{\\\"OInvRegNo\\\": \\\"%s\\\", \\\"TotalPrice\\\": 17.50}\"\n", $1
    }' "$dir/regs" >"$dir/ord.curl"
    par_curl "$dir/ord.curl" >/dev/null
    { find "$dir/ord" -type f -exec cat {} + 2>/dev/null || true; echo; } | sed 's/}{/}\n{/g' |
        sed -n 's/.*"OrderId" *: *"\([^"]*\)".*"OInvRegNo" *: *"\([^"]*\)".*/\1 \2/p' >"$2"
}
# orders_pay IN OUT: every order of IN paid at the sandbox's admin; OUT gets
# the lines of IN whose pay answered 2xx.
orders_pay() {
    awk -v sb="http://127.0.0.1:$SB_PORT" '{
        printf "url = \"%s/sandbox/bank/orders/%s/pay\"\nrequest = \"POST\"\nheader = \"Content-Type: application/json\"\ndata = \"{}\"\noutput = \"/dev/null\"\nwrite-out = \"%%{http_code} %s %s\\n\"\n", sb, $1, $1, $2
    }' "$1" >"$TMP/orders.pay.curl"
    par_curl "$TMP/orders.pay.curl" | awk '$1 ~ /^2/ { print $2, $3 }' >"$2"
}
if ((HAVE_BANK)); then
    # PostgreSQL's invoices, all awaiting payment: more than its runs can pay.
    npg=$((RUNS * D * 10000))
    as_pg psql -q -h "$PG" -p "$PG_PORT" -U bench -d postgres -v ON_ERROR_STOP=1 -c "
        INSERT INTO invoices (reg_no, order_id, principal, bank, total_minor, state, bank_state, created_at, updated_at)
        SELECT 'B' || lpad(i::text, 12, '0'), md5(i::text), 'alice', 'halkbank', 1750, 'awaiting_payment',
               'registered', now(), now() FROM generate_series(1, $npg) AS i" \
        -c "VACUUM ANALYZE invoices" >>"$TMP/log/psql.log" 2>&1 || die "invoices: $(tail -n 5 "$TMP/log/psql.log")"
    for ((r = 1; r <= RUNS; r++)); do
        t0=$(date +%s%N)
        orders_prepare "$NORDERS" "$TMP/orders.$r"
        t1=$(date +%s%N)
        pbk_from=$(stat -c %s "$TMP/log/provider-bank.log")
        orders_pay "$TMP/orders.$r" "$TMP/orders.paid.$r"
        # Paid by retry-worker's background sync of the open orders (a status
        # call of its own) between the pay and the run: their validation
        # only answers the stored invoice.
        early=$(tail -c +"$((pbk_from + 1))" "$TMP/log/provider-bank.log" | grep -c ': ok paid' || true)
        npaid=$(wc -l <"$TMP/orders.paid.$r")
        say "validate run $r: $(wc -l <"$TMP/orders.$r") of $NORDERS orders registered in $(((t1 - t0) / 1000000)) ms, $npaid paid at the sandbox, $early of them already paid by the background sync"
        if ((npaid < 100)); then
            say "validate: too few orders prepared ($npaid); no validate case"
            ORDER_CASES=()
            break
        fi
        ORDER_CASES=(validate pgbench_order)
        rm -f "$TMP/validate.$r".*
        once "$r" validate "$GW" validate.lua BENCH_TOKEN="$ALICE" BENCH_LIST="$TMP/orders.paid.$r" \
            BENCH_OUT="$TMP/validate.$r"
        jq -nc --argjson prepared "$npaid" --argjson early "$early" \
            --argjson prep_ms "$(((t1 - t0) / 1000000))" \
            '{orders: $prepared, paid_before_run: $early, prepare_ms: $prep_ms}' >>"$TMP/orders.runs.jsonl"
        pgbench_run "$r" pgbench_order pg_order.sql
    done
else
    say "validate: no provider-bank or no paymentctl regno-type in these programs; no validate case"
fi
stop_pid "$PG_PID"

# The CURVE case: plaintext vs CURVE links, two fresh cores of its own.
curve_case

# --- 4. scale: PRELOAD stored payments ----------------------------------------------

have=$(stat_of payments)
need=$((PRELOAD - have))
if ((need > 0)); then
    say "scale: loading $need payments straight into payment-core (pm-load, 1000 in flight)"
    "$BIN/pm-load" --endpoint "tcp://127.0.0.1:$CORE_PORT" --token "$SERVICE" --count "$need" \
        --inflight 1000 --tag "load-$stamp" --ids-out "$TMP/ids.large" --ids-every 97 \
        >"$TMP/load.json" 2>>"$TMP/log/pm-load.log" || die "pm-load failed: $(cat "$TMP/log/pm-load.log")"
    say "scale: loaded: $(cat "$TMP/load.json")"
else
    echo '{"count":0,"ok":0,"errors":0,"seconds":0,"rate":0}' >"$TMP/load.json"
    cp "$TMP/ids.small" "$TMP/ids.large"
fi
STORED=$(stat_of payments)
sync
DATA_BYTES=$(stat -c %s "$DATA/data.mdb")
DATA_USED=$(($(stat -c %b "$DATA/data.mdb") * $(stat -c %B "$DATA/data.mdb")))
wrk_case create_scale "$GW" create.lua BENCH_TOKEN="$ALICE" BENCH_SENDER=alice
wrk_case retrieve_scale "$GW" retrieve.lua BENCH_TOKEN="$SERVICE" BENCH_IDS="$TMP/ids.large"
STORED_END=$(stat_of payments)

# --- memory, then stop ----------------------------------------------------------------

declare -A hwm anon
sleep 0.3
for pid in "${RSS_PIDS[@]}"; do
    hwm[${pname[$pid]}]=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    anon[${pname[$pid]}]=$(awk -v p="$pid" '$1 == p {print $2}' "$TMP/rss.peak")
done
stop_all
for p in payment-core api-gateway sandbox provider-bazaar $( ((HAVE_BAZAARPAY)) && echo retry-worker) $( ((HAVE_BANK)) && echo provider-bank); do
    grep -qE 'ERROR: AddressSanitizer|runtime error:' "$TMP/log/$p.log" && say "WARNING: sanitizer report in $p's log"
done

# --- results --------------------------------------------------------------------------

mem_json() {
    local p
    for p in payment-core api-gateway provider-bazaar sandbox $( ((HAVE_BAZAARPAY)) && echo retry-worker) $( ((HAVE_BANK)) && echo provider-bank); do
        printf '{"daemon":"%s","vm_hwm_kib":%s,"rss_anon_peak_kib":%s}\n' "$p" "${hwm[$p]:-0}" "${anon[$p]:-0}"
    done | jq -s .
}
for c in nginx_get nginx_post pgbench create retrieve replay "$REDEEM_CASE" "${CHECKOUT_CASES[@]}" "${ORDER_CASES[@]}" create_scale retrieve_scale; do
    jq -s --arg c "$c" '{($c): .}' "$TMP/runs/$c.jsonl"
done | jq -s 'add' >"$TMP/runs.json"

out=$RESULTS/$stamp.json
[[ -s $TMP/checkout.drain.jsonl ]] || : >"$TMP/checkout.drain.jsonl"
((${#ORDER_CASES[@]})) || : >"$TMP/orders.runs.jsonl"
jq -n \
    --slurpfile runs "$TMP/runs.json" --slurpfile load "$TMP/load.json" \
    --slurpfile drain "$TMP/checkout.drain.jsonl" --slurpfile oruns "$TMP/orders.runs.jsonl" \
    --slurpfile dur "$TMP/durability.json" --slurpfile group "$TMP/group.json" \
    --slurpfile curve "$TMP/curve.json" \
    --argjson mem "$(mem_json)" \
    --arg stamp "$stamp" --arg host "$(uname -srm)" --argjson cpus "$(nproc)" \
    --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    --argjson seconds "$D" --argjson nruns "$RUNS" --argjson preload "$PRELOAD" \
    --argjson stored "$STORED" --argjson stored_end "$STORED_END" \
    --argjson data_bytes "$DATA_BYTES" --argjson data_used "$DATA_USED" \
    --argjson pg_bytes "${PG_BYTES:-0}" --argjson pg_rows "${PG_ROWS:-0}" \
    --arg nginx "$("$NGINX" -v 2>&1 | sed 's/.*\///')" --arg pg "$PG_VERSION" \
    --arg redeem "$REDEEM_CASE" --argjson loadavg "$LOADAVG" --argjson elapsed "$(($(date +%s) - started))" '
    def med: sort | .[(length / 2 | floor)];
    def r3: . * 1000 | round / 1000;
    def ratio(a; b): if b > 0 then (a / b * 1000 | round / 1000) else null end;
    ($runs[0] | with_entries(.value = {
        rps: (.value | map(.rps) | med), p50_ms: (.value | map(.p50_ms) | med),
        p99_ms: (.value | map(.p99_ms) | med), p999_ms: (.value | map(.p999_ms) | med),
        errors: (.value | map(.errors) | add), exhausted: (.value | map(.exhausted) | add),
        unpaid: (.value | map(.unpaid // 0) | add),
        runs: .value})) as $c
    | ($mem | map(select(.daemon != "sandbox"))) as $pm
    | ($pm | map(.vm_hwm_kib) | add) as $hwm_sum
    | ($pm | map(.rss_anon_peak_kib) | add) as $anon_sum
    | {
      timestamp: $stamp, host: $host, cpu: $cpu, cpus: $cpus, elapsed_s: $elapsed, loadavg_at_start: $loadavg,
      versions: {nginx: $nginx, postgresql: $pg},
      settings: {seconds: $seconds, runs: $nruns, wrk: "-t2 -c64 --latency", pgbench: "-c 8 -j 2 -M prepared",
                 preload: $preload, figure: "median of the runs; errors summed over the runs"},
      cases: $c,
      ratios: {
        create_vs_nginx_post: ratio($c.create.rps; $c.nginx_post.rps),
        create_vs_pgbench: ratio($c.create.rps; $c.pgbench.rps),
        retrieve_vs_nginx_get: ratio($c.retrieve.rps; $c.nginx_get.rps),
        replay_vs_nginx_post: ratio($c.replay.rps; $c.nginx_post.rps),
        ($redeem + "_vs_nginx_post"): ratio($c[$redeem].rps; $c.nginx_post.rps),
        ($redeem + "_vs_pgbench"): ratio($c[$redeem].rps; $c.pgbench.rps),
        create_scale_vs_create: ratio($c.create_scale.rps; $c.create.rps),
        retrieve_scale_vs_retrieve: ratio($c.retrieve_scale.rps; $c.retrieve.rps),
        create_scale_vs_nginx_post: ratio($c.create_scale.rps; $c.nginx_post.rps),
        create_scale_vs_pgbench: ratio($c.create_scale.rps; $c.pgbench.rps),
        retrieve_scale_vs_nginx_get: ratio($c.retrieve_scale.rps; $c.nginx_get.rps),
        checkout_confirm_vs_pgbench_checkout: (if $c.checkout_confirm then ratio($c.checkout_confirm.rps; $c.pgbench_checkout.rps) else null end),
        checkout_committed_vs_pgbench_checkout: (if $c.checkout_confirm and ($drain | length) > 0 and ($drain | all(.committed_rps != null))
            then ratio($drain | map(.committed_rps) | med; $c.pgbench_checkout.rps) else null end),
        checkout_confirm_vs_nginx_post: (if $c.checkout_confirm then ratio($c.checkout_confirm.rps; $c.nginx_post.rps) else null end),
        validate_vs_pgbench_order: (if $c.validate then ratio($c.validate.rps; $c.pgbench_order.rps) else null end),
        validate_vs_nginx_post: (if $c.validate then ratio($c.validate.rps; $c.nginx_post.rps) else null end)
      },
      checkout: (if ($drain | length) > 0 then
        {runs: $drain, committed_rps: ($drain | map(.committed_rps // 0) | med),
         note: "checkout_confirm: each confirm traces at the sandbox (provider-bazaar, HTTP), then delivers and queues the commit in one durable LMDB transaction before its 200; committed_rps counts the confirmed checkouts over the run plus the time until the last of their commits (provider-bazaar, HTTP) was done. pgbench_checkout: bench/pg_checkout.sql, the same four writes in one transaction, no HTTP"}
        else null end),
      orders: (if ($oruns | length) > 0 then
        {runs: $oruns, orders_per_run: ($oruns | map(.orders) | med),
         paid_before_run: ($oruns | map(.paid_before_run) | add),
         note: "validate: each run validates a fresh set of Halkbank orders (gen-reg-no, invoice, register through the gateway, paid at the sandbox right before); each validation is a status call at the sandbox (provider-bank, HTTP) and the invoice marked paid in one durable LMDB transaction before its 200; paid_before_run counts the orders the background sync (retry-worker) found paid between the pay and the run, whose validation only answers the stored invoice. pgbench_order: bench/pg_order.sql, the invoice marked paid and a ledger row in one transaction, no HTTP"}
        else null end),
      memory: {daemons: $mem, paymesh_vm_hwm_kib: $hwm_sum, paymesh_rss_anon_peak_kib: $anon_sum,
               note: "paymesh = payment-core + api-gateway + provider-bazaar (+ retry-worker and provider-bank when built; the sandbox stands in for Cafe Bazaar, BazaarPay and Halkbank); VmHWM includes the LMDB pages mapped, RssAnon excludes them"},
      lmdb: {stored_payments: $stored, data_mdb_bytes: $data_bytes, data_mdb_allocated_bytes: $data_used,
             bytes_per_payment: (if $stored > 0 then ($data_bytes / $stored | round) else null end),
             stored_after_scale_runs: $stored_end,
             postgresql_bytes_per_payment: (if $pg_rows > 0 then ($pg_bytes / $pg_rows | round) else null end),
             postgresql_rows: $pg_rows,
             vs_postgresql: (if $pg_rows > 0 and $stored > 0 then ratio($data_bytes / $stored; $pg_bytes / $pg_rows) else null end)},
      preload: $load[0],
      curve: $curve[0],
      durability: ($dur[0] + {check: ($dur[0].stored >= $dur[0].acked)}),
      group_commit: $group[0],
      targets: [
        {figure: "creates/s >= 0.35 x nginx POST", value: ratio($c.create.rps; $c.nginx_post.rps), target: 0.35,
         met: (($c.create.rps / $c.nginx_post.rps) >= 0.35)},
        {figure: "creates/s >= 2.5 x pgbench", value: ratio($c.create.rps; $c.pgbench.rps), target: 2.5,
         met: (($c.create.rps / $c.pgbench.rps) >= 2.5)},
        {figure: "retrieves/s >= 0.6 x nginx GET", value: ratio($c.retrieve.rps; $c.nginx_get.rps), target: 0.6,
         met: (($c.retrieve.rps / $c.nginx_get.rps) >= 0.6)},
        {figure: "create p99 <= 5 ms at 64 connections", value: ($c.create.p99_ms | r3), target: 5,
         met: ($c.create.p99_ms <= 5)},
        {figure: ("creates/s at \($stored) stored >= 0.8 x empty store"), value: ratio($c.create_scale.rps; $c.create.rps),
         target: 0.8, met: (($c.create_scale.rps / $c.create.rps) >= 0.8)},
        {figure: "peak RSS of the daemons < 64 MiB (LMDB map excluded: RssAnon)", value: ($anon_sum / 1024 | r3),
         target: 64, met: ($anon_sum < 65536)},
        {figure: "acked creates all stored (no crash test here; see tests/integration/t_crash.sh)",
         value: "\($dur[0].stored) stored >= \($dur[0].acked) acked", target: "0 lost", met: ($dur[0].stored >= $dur[0].acked)}
      ]
    }' >"$out"

# The plot.
jq -r '.cases | to_entries[] | "\(.key) \(.value.p50_ms) \(.value.p99_ms) \(.value.p999_ms)"' "$out" >"$TMP/plot.dat"
png=$RESULTS/$stamp-latency.png
gnuplot -e "datafile='$TMP/plot.dat'; outfile='$png'; title='paymesh make bench $stamp: latency per case (median of $RUNS runs, wrk -t2 -c64)'" \
    bench/plot.gp 2>>"$TMP/log/gnuplot.log" || say "gnuplot failed: $(tail -n 3 "$TMP/log/gnuplot.log")"

# The table.
jq -r '
  def f(n): if n == null then "-" elif n >= 100 then (n | round | tostring) else ((n * 100 | round) / 100 | tostring) end;
  def pad(w): tostring | if length < w then . + " " * (w - length) else . end;
  def lpad(w): tostring | if length < w then " " * (w - length) + . else . end;
  . as $r |
  {nginx_get: "nginx_get", nginx_post: "nginx_post", pgbench: "nginx_post", create: "nginx_post",
   retrieve: "nginx_get", replay: "nginx_post", redeem: "nginx_post", catalog: "nginx_get",
   create_scale: "nginx_post", retrieve_scale: "nginx_get", checkout_confirm: "nginx_post",
   pgbench_checkout: "nginx_post", validate: "nginx_post", pgbench_order: "nginx_post"} as $vs |
  {checkout_confirm: "pgbench_checkout", pgbench_checkout: "pgbench_checkout",
   validate: "pgbench_order", pgbench_order: "pgbench_order"} as $vspg |
  "paymesh make bench \($r.timestamp): \($r.cpus) CPUs (\($r.cpu)), load average \($r.loadavg_at_start) at start, \($r.settings.seconds)s x \($r.settings.runs) runs per case, median; nginx \($r.versions.nginx), PostgreSQL \($r.versions.postgresql)",
  "",
  "\("case" | pad(16)) \("req/s" | lpad(9)) \("p50 ms" | lpad(8)) \("p99 ms" | lpad(8)) \("p99.9 ms" | lpad(9)) \("errors" | lpad(7))  \("÷ nginx" | lpad(8)) \("÷ pgbench" | lpad(9))",
  ($r.cases | to_entries[] |
    "\(.key | pad(16)) \(f(.value.rps) | lpad(9)) \(f(.value.p50_ms) | lpad(8)) \(f(.value.p99_ms) | lpad(8)) \(f(.value.p999_ms) | lpad(9)) \(.value.errors | lpad(7))  \((if ($vs[.key] // null) == null then "-" else f(.value.rps / $r.cases[$vs[.key]].rps) end) | lpad(8)) \(f(.value.rps / $r.cases[$vspg[.key] // "pgbench"].rps) | lpad(9))" +
    (if .value.exhausted > 0 then "  (\({checkout_confirm: "checkouts", validate: "orders"}[.key] // "pairs") ran out: \(.value.exhausted) repeats)" else "" end) +
    (if .value.unpaid > 0 then "  (\(.value.unpaid) not answered paid)" else "" end)),
  "",
  "ratios: create/nginx POST \($r.ratios.create_vs_nginx_post), create/pgbench \($r.ratios.create_vs_pgbench), retrieve/nginx GET \($r.ratios.retrieve_vs_nginx_get), create at \($r.lmdb.stored_payments) stored/empty \($r.ratios.create_scale_vs_create), retrieve at \($r.lmdb.stored_payments) stored/empty \($r.ratios.retrieve_scale_vs_retrieve)",
  (if $r.checkout then
    "checkout confirm (trace + deliver + queued commit; ÷ pgbench is over pgbench_checkout, bench/pg_checkout.sql): confirm/pgbench_checkout \($r.ratios.checkout_confirm_vs_pgbench_checkout); with the commits done too \($r.checkout.committed_rps) checkouts/s = \($r.ratios.checkout_committed_vs_pgbench_checkout) x pgbench_checkout (commits done " + ([$r.checkout.runs[] | "\(.drain_s) s"] | join(", ")) + " after the runs)"
   else "checkout confirm: not measured (no BazaarPay in these programs, or too few checkouts prepared)" end),
  (if $r.orders then
    "order validation at Halkbank (status call through provider-bank + invoice paid; ÷ pgbench is over pgbench_order, bench/pg_order.sql): validate/pgbench_order \($r.ratios.validate_vs_pgbench_order), validate/nginx POST \($r.ratios.validate_vs_nginx_post); \($r.orders.orders_per_run) orders per run, " + ([$r.orders.runs[] | "\(.paid_before_run)"] | join(", ")) + " of them already paid by the background sync before the run"
   else "order validation: not measured (no provider-bank in these programs, or too few orders prepared)" end),
  "peak memory (KiB): " + ([$r.memory.daemons[] | "\(.daemon) VmHWM \(.vm_hwm_kib) RssAnon \(.rss_anon_peak_kib)"] | join("; ")),
  "  paymesh daemons together (no sandbox): VmHWM \($r.memory.paymesh_vm_hwm_kib) KiB = \(f($r.memory.paymesh_vm_hwm_kib / 1024)) MiB (LMDB pages included), RssAnon \($r.memory.paymesh_rss_anon_peak_kib) KiB = \(f($r.memory.paymesh_rss_anon_peak_kib / 1024)) MiB (map excluded) = \(f($r.memory.paymesh_rss_anon_peak_kib / 65536)) x the 64 MiB target",
  "LMDB: data.mdb \($r.lmdb.data_mdb_bytes) bytes / \($r.lmdb.stored_payments) payments = \($r.lmdb.bytes_per_payment) bytes per payment (with its idempotency key); PostgreSQL (both tables + indexes, \($r.lmdb.postgresql_rows) rows) \($r.lmdb.postgresql_bytes_per_payment) bytes: ratio \($r.lmdb.vs_postgresql)",
  "preload: \($r.preload.ok) payments in \($r.preload.seconds) s = \($r.preload.rate) /s (pm-load straight to payment-core), \($r.preload.rate / $r.cases.create.rps * 100 | round / 100) x the HTTP create rate",
  "CURVE links (pm-load creates to a fresh core each): plaintext \($r.curve.plain_rps) /s, CURVE \($r.curve.curve_rps) /s: ratio \($r.curve.ratio)",
  "durability check: \($r.durability.acked) creates acknowledged, \($r.durability.stored) stored",
  "group commit during the create runs: \($r.group_commit.batches) commits, \($r.group_commit.mean_group) creates per commit, \($r.group_commit.mean_commit_ms) ms per commit (page writes + fsync; longest since start \($r.group_commit.commit_us_max / 1000) ms), \($r.group_commit.redone) run twice",
  "",
  "issue 4 targets:",
  ($r.targets[] | "  [\(if .met then "met" else "NOT met" end)] \(.figure): \(.value)")
' "$out"
echo
say "results: $out, plot: $png ($(($(date +%s) - started)) s in all)"
