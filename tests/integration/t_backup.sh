#!/usr/bin/env bash
# paymentctl backup --to FILE on a live store (docs/operations.md, "Backups"):
# while clients create payments through the gateway, a backup is taken; the
# load goes on; then everything stops, the backup is restored into a fresh
# data directory and a core started on it must hold every payment that was
# acknowledged before the backup started (and none that was only requested
# after it ended). A backup never overwrites a file.
. "$(dirname "$0")/lib.sh"

CLIENTS=2          # concurrent create loops
PER_CLIENT=600     # creates per loop at most ...
LOAD_SECONDS=6     # ... and for this long at most
BACKUP_AFTER_S=1.5 # the backup starts this long into the load

PRELOAD=${PM_BACKUP_PRELOAD:-30000} # payments stored first, so the copy takes a while
LOAD=${PM_LOAD:-bin/pm-load}

pm_start_core
pm_methods bob bench-merchant # pm-load pays bench-merchant by card-1
pm_start_gateway
alice=$(pm_token alice)
if [[ -x $LOAD ]] && ((PRELOAD > 0)); then
    "$LOAD" --endpoint "tcp://127.0.0.1:$CORE_PORT" --token "$(pm_token preload service)" \
        --count "$PRELOAD" --inflight 500 --tag preload >"$PM_TMP/preload.json" 2>"$PM_TMP/preload.err"
    check $? "preload of $PRELOAD payments" "$(cat "$PM_TMP/preload.err")"
else
    pm_note "no $LOAD: no preload, the backup is small"
fi

now_ms() { printf '%s' "$((${EPOCHREALTIME/./} / 1000))"; }

# load C: creates payments until PER_CLIENT or LOAD_SECONDS; one line per
# acknowledged create in $PM_TMP/acked.C: "SENT_MS ACKED_MS TRANSACTION_ID",
# SENT_MS before the request went out, ACKED_MS once its 200 was read.
load() {
    local c=$1 i code tx sent end=$((SECONDS + LOAD_SECONDS))
    for ((i = 1; i <= PER_CLIENT && SECONDS < end; i++)); do
        sent=$(now_ms)
        code=$(curl -s --noproxy '*' --max-time 10 -o "$PM_TMP/load.$c.body" -w '%{http_code}' \
            -H "x_auth_token: $alice" \
            --data-binary "$(create_body "bk-$c-$i-$(pm_uuid)" alice bob "$i.00" USD)" \
            "$BASE/api/v1/payment/create")
        [[ $code == 200 ]] || { echo "create $c/$i: $code" >>"$PM_TMP/load.errors"; continue; }
        tx=$(sed -n 's/.*"transaction_id": *"\([^"]*\)".*/\1/p' "$PM_TMP/load.$c.body")
        [[ -n $tx ]] && printf '%s %s %s\n' "$sent" "$(now_ms)" "$tx" >>"$PM_TMP/acked.$c"
    done
}

: >"$PM_TMP/load.errors"
loaders=()
for ((c = 1; c <= CLIENTS; c++)); do
    : >"$PM_TMP/acked.$c"
    load "$c" &
    loaders+=($!)
done
PM_HELPER_PIDS="${PM_HELPER_PIDS:-} ${loaders[*]}"

sleep "$BACKUP_AFTER_S"
T0=$(now_ms)
out=$(pm_ctl backup --to "$PM_TMP/backup.mdb")
rc=$?
T1=$(now_ms)
check $rc "backup of the live store" "$(tail -n 2 "$PM_TMP/paymentctl.log")"
jq -e --arg f "$PM_TMP/backup.mdb" '.file == $f and .bytes > 0 and .ms >= 0 and .payments > 0' \
    <<<"$out" >/dev/null
check $? "backup prints {file, bytes, ms, payments}" "$out"
bytes=$(jq -r '.bytes' <<<"$out")
ms=$(jq -r '.ms' <<<"$out")
in_backup=$(jq -r '.payments' <<<"$out")
[[ $(stat -c %s "$PM_TMP/backup.mdb" 2>/dev/null) == "$bytes" ]]
check $? "the backup file has the size printed" "$(ls -l "$PM_TMP/backup.mdb" 2>&1)"

wait "${loaders[@]}"
cat "$PM_TMP"/acked.* >"$PM_TMP/acked"
acked=$(wc -l <"$PM_TMP/acked")
before=$(awk -v t="$T0" '$2 < t' "$PM_TMP/acked" | wc -l)
after=$(awk -v t="$T1" '$1 > t' "$PM_TMP/acked" | wc -l)
during=$(awk -v a="$T0" -v b="$T1" '$2 >= a && $2 <= b' "$PM_TMP/acked" | wc -l)
((before > 0 && after > 0))
check $? "the load ran before and after the backup" "acked $acked: $before before, $after sent after"
[[ ! -s $PM_TMP/load.errors ]]
check $? "every create of the load was acknowledged" "$(head -n 3 "$PM_TMP/load.errors")"
live=$(pm_stat payments)

# A second backup to the same file is refused and leaves it as it was.
sum=$(sha256sum <"$PM_TMP/backup.mdb")
pm_ctl backup --to "$PM_TMP/backup.mdb" >/dev/null
(($? == 1))
check $? "backup to an existing file is refused (exit 1)" ""
grep -q "exists" <(tail -n 1 "$PM_TMP/paymentctl.log")
check $? "the refusal says the file exists" "$(tail -n 1 "$PM_TMP/paymentctl.log")"
[[ $(sha256sum <"$PM_TMP/backup.mdb") == "$sum" ]]
check $? "the existing file is untouched" ""
pm_ctl backup >/dev/null 2>&1
(($? == 2))
check $? "backup without --to is a usage error (exit 2)" ""
pm_ctl --data-dir "$PM_TMP/nowhere" backup --to "$PM_TMP/other.mdb" >/dev/null
(($? == 1)) && [[ ! -e $PM_TMP/other.mdb ]]
check $? "backup of a directory without a store fails, writing nothing" "$(tail -n 1 "$PM_TMP/paymentctl.log")"
leftover=$(find "$PM_TMP" -maxdepth 1 -name '*.tmp-*')
[[ -z $leftover ]]
check $? "no temporary file is left" "$leftover"

pm_stop "$GW_PID"
pm_stop "$CORE_PID"

# Restore: the backup as data.mdb in a fresh data directory.
PM_DATA="$PM_TMP/restored"
mkdir -p "$PM_DATA"
cp "$PM_TMP/backup.mdb" "$PM_DATA/data.mdb"
pm_start_core
pm_start_gateway
restored=$(pm_stat payments)
((restored == in_backup))
check $? "the restored store holds the payments the backup counted" "stats $restored, backup $in_backup"

# Every payment acknowledged before T0, read back through the gateway.
found=0 missing=()
while read -r _ _ tx; do
    code=$(curl -s --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code}' \
        -H "x_auth_token: $alice" "$BASE/api/v1/payment/$tx/retrieve/status")
    [[ $code == 200 ]] && found=$((found + 1)) || missing+=("$tx:$code")
done < <(awk -v t="$T0" '$2 < t' "$PM_TMP/acked")
((found == before))
check $? "every payment acknowledged before the backup is in it" "$found of $before; missing ${missing[*]:0:5}"

# None sent after the backup ended is in it.
present=0
while read -r _ _ tx; do
    code=$(curl -s --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code}' \
        -H "x_auth_token: $alice" "$BASE/api/v1/payment/$tx/retrieve/status")
    [[ $code == 404 ]] || present=$((present + 1))
done < <(awk -v t="$T1" '$1 > t' "$PM_TMP/acked" | head -n 50)
((present == 0))
check $? "no payment sent after the backup ended is in it" "$present present"

# The restored store takes writes.
pm_create "$alice" alice bob 1.00 USD

pm_note "load: $acked payments acknowledged over a preload of $PRELOAD ($live in the live store at the end)"
pm_note "acknowledged before the backup started: $before; found after restore: $found"
pm_note "acknowledged while it ran: $during; sent after it ended: $after"
pm_note "backup: $bytes bytes, $ms ms, $in_backup payments (paymentctl's wall time $((T1 - T0)) ms)"
