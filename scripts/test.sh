#!/usr/bin/env bash
# The whole paymesh test suite, as `make test` runs it once both variants are
# built (build/release and build/asan):
#
#   1. unit tests (cmocka) in build/release/tests, then build/asan/tests;
#   2. the integration tests (tests/integration/t_*.sh) against bin/, then
#      again against the ASan+UBSan programs in build/asan/bin;
#   3. the API reference (check_openapi): docs/openapi.yaml is valid, lists
#      the gateway's routes, and matches the release integration answers;
#   4. clang-format --dry-run --Werror on the C sources, when a .clang-format
#      exists and clang-format is installed;
#   5. every libFuzzer target briefly (check_fuzz; make fuzz runs them longer).
#   6. one short chaos run on the release build (check_chaos; make chaos runs
#      the long one; tests/chaos/README.md).
#
# Before the integration tests, when a browser test (t_*browser) is among them,
# scripts/deps.sh --browser installs what the browser test needs (Debian's
# chromium, node_modules from package-lock.json).
#
# Ends with one line "N passed, N failed" (totals of every check) and exits
# non-zero when anything failed.
#
# Arguments (optional) pick integration tests by name: scripts/test.sh t_money
# runs only that file, on both variants, and skips the unit and format steps.
# PAYMESH_VARIANTS="release" limits the variants.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

passed=0
failed=0
failures=()
failed_outs=() # outputs of failed integration tests, printed again at the end
read -ra variants <<<"${PAYMESH_VARIANTS:-release asan}"
work=$(mktemp -d "${TMPDIR:-/tmp}/pm-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Sanitizers stop at the first report and print a stack; the integration
# helpers also fail a test whose daemon log holds a report.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Every answer of the release integration tests, one JSON line each, for
# check_openapi; PM_RESPONSES=FILE keeps them in FILE.
responses_file=${PM_RESPONSES:-$work/responses.jsonl}

binary_of() { [[ $1 == release ]] && echo bin || echo "build/$1/bin"; }

record() { # record NAME PASSED FAILED
    passed=$((passed + $2))
    failed=$((failed + $3))
    (($3 == 0)) || failures+=("$1")
}

run_units() {
    local variant=$1 dir="build/$1/tests" t out p f
    echo "== unit tests ($variant)"
    if ! compgen -G "$dir/test_*" >/dev/null; then
        echo "  no unit test binaries in $dir (run make unit-tests V=$variant)"
        record "unit tests ($variant): none built" 0 1
        return
    fi
    for t in "$dir"/test_*; do
        [[ -x $t && ! $t == *.d && ! $t == *.o ]] || continue
        out="$work/$(basename "$t").$variant.out"
        timeout -k 5 120 "$t" >"$out" 2>&1
        local rc=$?
        cat "$out"
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
        p=${p:-0} f=${f:-0}
        if ((rc != 0 && f == 0)); then
            echo "  $t exited with status $rc"
            f=1
        fi
        if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$out" && ((f == 0)); then
            f=1
        fi
        record "$t ($variant)" "$p" "$f"
        ((f == 0)) || failed_outs+=("$out")
    done
}

run_integration() {
    local variant=$1 bin t name results="$work/results.$1" responses=""
    bin=$(binary_of "$variant")
    # The release run's answers, for check_openapi (lib.sh's http()).
    if [[ $variant == release ]]; then
        responses=$responses_file
        : >"$responses"
    fi
    echo "== integration tests ($variant, PAYMESH_BIN=$bin)"
    : >"$results"
    for t in "${tests[@]}"; do
        name=$(basename "$t" .sh)
        echo "-- $name ($variant)"
        local before
        before=$(wc -l <"$results")
        PAYMESH_BIN=$bin PM_RESULTS=$results PM_RESPONSES=$responses timeout -k 10 300 bash "$t" 2>&1 |
            tee "$work/$name.$variant.out"
        local rc=${PIPESTATUS[0]}
        if (($(wc -l <"$results") == before)); then
            echo "  $name ended (status $rc) without reporting its counts"
            record "$name ($variant)" 0 1
            failed_outs+=("$work/$name.$variant.out")
            continue
        fi
        local line p f
        line=$(tail -n1 "$results")
        read -r _ p f <<<"$line"
        ((rc == 0 || f > 0)) || f=1
        record "$name ($variant)" "$p" "$f"
        ((f == 0)) || failed_outs+=("$work/$name.$variant.out")
    done
}

# The API reference, docs/openapi.yaml (tests/openapi/): a valid OpenAPI
# document whose operations are the gateway's routes (api-gateway
# --print-routes), served by GET /openapi.json, and matching every answer
# the release variant's integration tests got (PM_RESPONSES). Needs
# node_modules (scripts/deps.sh --browser: npm ci from package-lock.json).
check_openapi() {
    local bin
    bin=$(binary_of "${variants[0]}")
    echo "== OpenAPI document (docs/openapi.yaml, PAYMESH_BIN=$bin)"
    if [[ ! -x $bin/api-gateway ]]; then
        echo "  $bin/api-gateway is not built (make V=${variants[0]})"
        record "openapi: not built" 0 1
        return
    fi
    if ! scripts/deps.sh --browser >"$work/openapi.deps.out" 2>&1; then
        tail -n 20 "$work/openapi.deps.out"
        record "openapi: scripts/deps.sh --browser failed" 0 1
        return
    fi
    if "$bin/api-gateway" --print-routes >"$work/routes.txt" &&
        node tests/openapi/check_document.mjs docs/openapi.yaml "$work/routes.txt"; then
        record "openapi document" 1 0
    else
        record "openapi document" 0 1
    fi
    local p f line
    : >"$work/results.openapi"
    PAYMESH_BIN=$bin PM_RESULTS="$work/results.openapi" PM_RESPONSES="" \
        timeout -k 10 60 bash tests/openapi/serve.sh 2>&1 |
        tee "$work/openapi-serve.out"
    local rc=${PIPESTATUS[0]}
    line=$(tail -n1 "$work/results.openapi")
    read -r _ p f <<<"${line:-x 0 1}"
    ((rc == 0 || f > 0)) || f=1
    record "GET /openapi.json" "$p" "$f"
    ((f == 0)) || failed_outs+=("$work/openapi-serve.out")
    if [[ ! -s $responses_file ]]; then
        echo "  no responses recorded (the release integration tests did not run)"
        return
    fi
    if node tests/openapi/check_responses.mjs docs/openapi.yaml "$responses_file"; then
        record "responses match docs/openapi.yaml" 1 0
    else
        record "responses match docs/openapi.yaml" 0 1
    fi
}

check_format() {
    echo "== format"
    if [[ ! -f .clang-format ]] || ! command -v clang-format >/dev/null; then
        echo "  skipped: no .clang-format or no clang-format"
        return
    fi
    local files
    mapfile -t files < <(make -s --no-print-directory print-format-files | tr ' ' '\n' | grep .)
    if ((${#files[@]} == 0)); then
        return
    fi
    if clang-format --dry-run --Werror "${files[@]}" >"$work/format.out" 2>&1; then
        echo "  ${#files[@]} files formatted"
        record format 1 0
    else
        head -n 40 "$work/format.out"
        echo "  (make format rewrites them)"
        record format 0 1
    fi
}

# compose.yaml: docker-compose accepts it and every PAYMESH_* it sets is a
# setting of that service's daemon (scripts/compose_check.sh).
check_compose() {
    echo "== compose"
    if ! scripts/deps.sh --compose; then
        echo "  scripts/deps.sh --compose (Debian's docker-compose) failed"
        record compose 0 1
        return
    fi
    scripts/compose_check.sh compose.yaml >"$work/compose.out" 2>&1
    local rc=$?
    sed 's/^/  /' "$work/compose.out"
    if ((rc == 0)); then
        record compose 1 0
    else
        echo "  scripts/compose_check.sh failed (exit status $rc); see above"
        record compose 0 1
    fi
}

# The libFuzzer targets (tests/fuzz/fuzz_*.c, as make fuzz runs them), each
# for FUZZ_TEST_SECONDS (4) from its seeds in tests/fuzz/corpus/<target>/.
# `make fuzzers` installs Debian's clang (scripts/deps.sh) and builds them.
# A crash input is kept as build/fuzz/<target>-crash-* (or leak-, oom-, ...).
check_fuzz() {
    local secs=${FUZZ_TEST_SECONDS:-4} src t out rc seeds
    echo "== fuzz ($secs s each)"
    if ! make --no-print-directory -j"$(nproc)" fuzzers >"$work/fuzz.build.out" 2>&1; then
        tail -n 20 "$work/fuzz.build.out"
        record "fuzz: make fuzzers failed" 0 1
        return
    fi
    for src in tests/fuzz/fuzz_*.c; do
        t=$(basename "$src" .c)
        out="$work/$t.fuzz.out"
        seeds=()
        [[ -d tests/fuzz/corpus/$t ]] && seeds=("tests/fuzz/corpus/$t")
        mkdir -p "$work/corpus.$t"
        timeout -k 5 $((secs + 60)) "build/fuzz/$t" -max_total_time="$secs" -max_len=4096 \
            -rss_limit_mb=2048 -artifact_prefix="build/fuzz/$t-" -print_final_stats=1 \
            "$work/corpus.$t" "${seeds[@]}" >"$out" 2>&1
        rc=$?
        if ((rc == 0)) && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$out"; then
            echo "  $t: $(grep -m1 -oE 'Done [0-9]+ runs in [0-9]+ second' "$out")," \
                "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out") execs/s"
            record "fuzz $t" 1 0
        else
            echo "  $t failed (exit status $rc); crash input: $(sed -n 's/.*Test unit written to //p' "$out" | tail -n1)"
            grep -m1 -A12 -E '==ERROR|runtime error:|fuzz check failed|deadly signal|Timeout|out-of-memory' "$out" |
                sed 's/^/  /'
            record "fuzz $t" 0 1
        fi
    done
}

# The chaos run (tests/chaos/README.md): CHAOS_SECONDS (30) of every API
# family under load from many clients while daemons are SIGKILLed and the
# sandbox injects provider faults, then the checker. Once, on the release
# build only; its seed is printed, CHAOS_SEED repeats it. PM_SKIP_CHAOS=1
# leaves it out.
check_chaos() {
    local out="$work/chaos.out" rc
    echo "== chaos (CHAOS_SECONDS=${CHAOS_SECONDS:-30}, release)"
    if [[ ! -x bin/pm-chaos || ! -x bin/payment-core ]]; then
        echo "  bin/pm-chaos is not built (make bin/pm-chaos)"
        record "chaos: not built" 0 1
        return
    fi
    CHAOS_SECONDS=${CHAOS_SECONDS:-30} PAYMESH_BIN=bin timeout -k 10 900 tests/chaos/chaos.sh >"$out" 2>&1
    rc=$?
    grep -E '^chaos|^(requests|acknowledged|kills|faults|violations|drain|entities)' "$out" | sed 's/^/  /'
    if ((rc == 0)); then
        record chaos 1 0
    else
        echo "  the chaos run failed (exit status $rc)"
        record "chaos (seed $(sed -n 's/^chaos: seed \([0-9]*\),.*/\1/p' "$out" | head -n1))" 0 1
        failed_outs+=("$out")
    fi
}

tests=()
if (($#)); then
    for a in "$@"; do
        a=$(basename "${a%.sh}")
        [[ -f tests/integration/$a.sh ]] || { echo "no test tests/integration/$a.sh" >&2; exit 2; }
        tests+=("tests/integration/$a.sh")
    done
else
    tests=(tests/integration/t_*.sh)
    for v in "${variants[@]}"; do run_units "$v"; done
fi
# The browser test needs Debian's chromium and playwright-core from
# package-lock.json (npm ci when node_modules is missing or older than the
# lock); installed here, once, before any variant runs.
for t in "${tests[@]}"; do
    if [[ $t == */t_*browser.sh ]]; then
        echo "== browser test dependencies (scripts/deps.sh --browser)"
        scripts/deps.sh --browser || { echo "  scripts/deps.sh --browser failed"; record "browser dependencies" 0 1; }
        break
    fi
done
for v in "${variants[@]}"; do
    if [[ ! -x $(binary_of "$v")/payment-core ]]; then
        echo "== integration tests ($v): $(binary_of "$v")/payment-core is not built (make V=$v)"
        record "integration ($v): not built" 0 1
        continue
    fi
    run_integration "$v"
done
check_openapi
(($#)) || check_format
(($#)) || check_compose
(($#)) || check_fuzz
(($#)) || [[ -n ${PM_SKIP_CHAOS:-} || " ${variants[*]} " != *" release "* ]] || check_chaos

# A failed test's output again, last, so that the tail of a long log (all a
# CI page may show) says what failed and why.
for out in "${failed_outs[@]}"; do
    echo
    echo "== output of $(basename "$out" .out), again (last 80 lines)"
    tail -n 80 "$out"
done
echo
if ((${#failures[@]})); then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
