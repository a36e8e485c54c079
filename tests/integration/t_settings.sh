#!/usr/bin/env bash
# Settings of all six daemons (docs/operations.md, "Settings"): --help lists
# every setting with its environment variable, default and limits; a bad
# setting (a flag without a value, an unknown flag, a stray argument, an
# integer out of its range or not a number, a string too long or too short,
# a bad value from the environment, a log level that is none) stops the
# daemon at start with exit status 2 and a message naming the setting.
# Nothing here is meant to start: every run has loopback ports and a data
# directory of this test, so a daemon that wrongly starts harms nothing (and
# is stopped by the 5 s timeout).
. "$(dirname "$0")/lib.sh"

daemons=(api-gateway payment-core provider-bazaar provider-bank retry-worker sandbox)

# The environment every run gets, so that a daemon that accepts a bad value
# by mistake binds nothing anyone else uses.
p1=$(pm_free_port) p2=$(pm_free_port) p3=$(pm_free_port)
safe=(PAYMESH_DATA_DIR="$PM_DATA" PAYMESH_API_ENDPOINT="tcp://127.0.0.1:$p1"
    PAYMESH_WORKER_ENDPOINT="tcp://127.0.0.1:$p2" PAYMESH_ADMIN_ENDPOINT="ipc://$PM_TMP/admin.sock"
    PAYMESH_CORE_ENDPOINT="tcp://127.0.0.1:$p1" PAYMESH_CORE_WORKER_ENDPOINT="tcp://127.0.0.1:$p2"
    PAYMESH_HTTP_HOST=127.0.0.1 PAYMESH_HTTP_PORT="$p3")

# run PROGRAM ARGS...: runs bin/PROGRAM with the safe environment (and the
# caller's extra VAR=VALUE words before PROGRAM); output in $PM_TMP/run.out,
# exit status in RUN_RC.
run() {
    local pre=()
    while [[ $1 == *=* ]]; do
        pre+=("$1")
        shift
    done
    local prog=$1
    shift
    env "${safe[@]}" "${pre[@]}" timeout -k 2 5 "$PM_BIN/$prog" "$@" >"$PM_TMP/run.out" 2>&1 </dev/null
    RUN_RC=$?
}

# refused_why SETTING PROGRAM ARGS...: empty when the run exits 2 and its
# output names SETTING; else why not.
refused_why() {
    local setting=$1
    shift
    run "$@"
    if ((RUN_RC == 124 || RUN_RC == 137)); then
        echo "it started (killed after 5 s)"
    elif ((RUN_RC != 2)); then
        echo "exit status $RUN_RC, want 2; said '$(head -c 200 "$PM_TMP/run.out" | tr '\n' ' ')'"
    elif ! grep -qF -- "$setting" "$PM_TMP/run.out"; then
        echo "the message does not name $setting: '$(head -c 200 "$PM_TMP/run.out" | tr '\n' ' ')'"
    fi
}

# refused LABEL SETTING PROGRAM ARGS...: one check of refused_why.
refused() {
    local label=$1
    shift
    local why
    why=$(refused_why "$@")
    [[ -z $why ]]
    check $? "$label" "$why"
}

long() { printf "%*s" "$1" "" | tr ' ' x; }

for d in "${daemons[@]}"; do
    [[ -x $PM_BIN/$d ]] || { check 1 "$d is built" "no $PM_BIN/$d"; continue; }

    # --help: exit 0, and per setting "  --NAME  PAYMESH_NAME  default D, range|length [MIN, MAX]"
    # with a help line under it.
    run "$d" --help
    cp "$PM_TMP/run.out" "$PM_TMP/help.$d"
    ((RUN_RC == 0))
    check $? "$d --help exits 0" "exit status $RUN_RC"
    names=() kinds=() mins=() maxs=() defs=() bad=""
    mapfile -t lines <"$PM_TMP/help.$d"
    for ((i = 0; i < ${#lines[@]}; i++)); do
        line=${lines[$i]}
        [[ $line == "  --"* ]] || continue
        re='^  --([a-z0-9-]+) +(PAYMESH_[A-Z0-9_]+) +default (.*), (range|length) \[(-?[0-9]+), (-?[0-9]+)\]$'
        if [[ ! $line =~ $re ]]; then
            bad+=" [$line]"
            continue
        fi
        name=${BASH_REMATCH[1]} env=${BASH_REMATCH[2]} def=${BASH_REMATCH[3]}
        kind=${BASH_REMATCH[4]} min=${BASH_REMATCH[5]} max=${BASH_REMATCH[6]}
        want=$(tr 'a-z-' 'A-Z_' <<<"$name")
        [[ $env == "PAYMESH_$want" ]] || bad+=" [--$name is $env, want PAYMESH_$want]"
        ((min <= max)) || bad+=" [--$name: range $min > $max]"
        if [[ $kind == range ]]; then
            [[ $def =~ ^-?[0-9]+$ ]] && ((def >= min && def <= max)) || bad+=" [--$name: default '$def' not in [$min, $max]]"
        else
            ((${#def} >= min && ${#def} <= max)) || bad+=" [--$name: default '$def' not of length [$min, $max]]"
        fi
        next=${lines[$((i + 1))]:-}
        [[ $next =~ ^\ {6}[^\ ] ]] || bad+=" [--$name has no help line]"
        names+=("$name") kinds+=("$kind") mins+=("$min") maxs+=("$max") defs+=("$def")
    done
    ((${#names[@]} > 0)) && [[ -z $bad ]]
    check $? "$d --help: ${#names[@]} settings, each with its variable, default and limits" "${bad:-no settings listed}"
    [[ " ${names[*]} " == *" log-level "* ]]
    check $? "$d --help lists log-level" "settings: ${names[*]}"

    # Every setting refuses values beyond its limits, as a flag, naming itself.
    ints=0 strs=0 bad=""
    for ((k = 0; k < ${#names[@]}; k++)); do
        name=${names[$k]} min=${mins[$k]} max=${maxs[$k]}
        if [[ ${kinds[$k]} == range ]]; then
            ints=$((ints + 1))
            for v in $((min - 1)) $((max + 1)); do
                why=$(refused_why "$name" "$d" "--$name" "$v")
                [[ -z $why ]] || bad+=" [--$name $v: $why]"
            done
            why=$(refused_why "$name" "$d" "--$name=12x")
            [[ -z $why ]] || bad+=" [--$name=12x: $why]"
        else
            strs=$((strs + 1))
            why=$(refused_why "$name" "$d" "--$name=$(long $((max + 1)))")
            [[ -z $why ]] || bad+=" [--$name of $((max + 1)) characters: $why]"
            if ((min > 0)); then
                why=$(refused_why "$name" "$d" "--$name=$(long $((min - 1)))")
                [[ -z $why ]] || bad+=" [--$name of $((min - 1)) characters: $why]"
            fi
        fi
    done
    [[ -z $bad ]]
    check $? "$d refuses every setting beyond its limits ($ints integers, $strs strings), naming it" "$bad"

    # The same through the environment: the first integer and the first string.
    for ((k = 0; k < ${#names[@]}; k++)); do
        [[ ${kinds[$k]} == range ]] || continue
        env=PAYMESH_$(tr 'a-z-' 'A-Z_' <<<"${names[$k]}")
        refused "$d: $env=abc refused" "$env" "$env=abc" "$d"
        refused "$d: $env=$((maxs[k] + 1)) refused" "$env" "$env=$((maxs[k] + 1))" "$d"
        break
    done
    for ((k = 0; k < ${#names[@]}; k++)); do
        [[ ${kinds[$k]} == length ]] || continue
        env=PAYMESH_$(tr 'a-z-' 'A-Z_' <<<"${names[$k]}")
        refused "$d: $env too long refused" "$env" "$env=$(long $((maxs[k] + 1)))" "$d"
        break
    done

    # A flag without its value, an unknown flag, a stray argument, a bad log level.
    last=${names[-1]}
    refused "$d: --$last without a value" "$last" "$d" "--$last"
    refused "$d: an unknown flag" no-such-setting "$d" --no-such-setting=1
    refused "$d: an unknown flag with a separate value" no-such-setting "$d" --no-such-setting 1
    refused "$d: a stray argument" stray "$d" stray
    refused "$d: --log-level loud" log-level "$d" --log-level loud
    refused "$d: PAYMESH_LOG_LEVEL=loud" log-level PAYMESH_LOG_LEVEL=loud "$d"
done

# The brief's own examples (issue 12).
refused "payment-core --api-endpoint without a value" api-endpoint payment-core --api-endpoint
refused "payment-core --max-batch 0" max-batch payment-core --max-batch 0
refused "payment-core --max-batch ' 5' (blanks are not digits)" max-batch payment-core --max-batch ' 5'
refused "payment-core --max-batch +5" max-batch payment-core --max-batch +5
# A setting named *-endpoint must be a ZeroMQ endpoint.
refused "payment-core --api-endpoint bogus" api-endpoint payment-core --api-endpoint bogus
refused "payment-core --worker-endpoint tcp://127.0.0.1:99999" worker-endpoint payment-core --worker-endpoint tcp://127.0.0.1:99999
refused "api-gateway --core-endpoint 127.0.0.1:7100" core-endpoint api-gateway --core-endpoint 127.0.0.1:7100
refused "retry-worker PAYMESH_CORE_WORKER_ENDPOINT=tcp://host" PAYMESH_CORE_WORKER_ENDPOINT PAYMESH_CORE_WORKER_ENDPOINT=tcp://host retry-worker
refused "payment-core PAYMESH_MAX_BATCH=0" PAYMESH_MAX_BATCH PAYMESH_MAX_BATCH=0 payment-core
refused "payment-core --halkbank-two-phase xyz" halkbank-two-phase payment-core --halkbank-two-phase xyz
refused "provider-bazaar --bazaar-auth basic" bazaar-auth provider-bazaar --bazaar-auth basic
refused "provider-bazaar --bazaarpay yes" bazaarpay provider-bazaar --bazaarpay yes
refused "provider-bank --tfeb-language EN" tfeb-language provider-bank --tfeb-language EN
refused "provider-bank --halkbank-base-url without a trailing /" halkbank-base-url provider-bank \
    --halkbank-base-url http://127.0.0.1:1/rest
pm_note "checked ${#daemons[@]} daemons' --help and refusals"
