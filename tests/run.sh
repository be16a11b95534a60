#!/usr/bin/env bash
# Runs every test: C unit tests (normal and ASan/UBSan builds), CLI scripts and pipeline
# scripts.  One line per test file, then exactly "N passed, N failed"; non-zero exit on failure.
# Environment: TESTS=<glob> runs only matching test files (e.g. TESTS='*index*').
set -u
cd "$(dirname "$0")/.."
export LC_ALL=C OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
jobs=$(nproc 2>/dev/null || echo 2)
pass=0 fail=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

if ! make -s -j"$jobs" test-build >"$log/build" 2>&1; then
    cat "$log/build"; echo "build: FAIL"; echo "0 passed, 1 failed"; exit 1
fi
if ! make -s -j"$jobs" SAN=1 test-build >"$log/build-san" 2>&1; then
    cat "$log/build-san"; echo "sanitizer build: FAIL"; echo "0 passed, 1 failed"; exit 1
fi

export MINT_ROOT=$PWD BIN=$PWD/build/bin SANBIN=$PWD/build/san/bin \
       TOOLBIN=$PWD/build/tests/tool SANTOOLBIN=$PWD/build/san/tests/tool

want() { [ -z "${TESTS:-}" ] || [[ "$1" == $TESTS ]]; }

run_one() { # label, command...
    local label=$1; shift
    local t0=$(date +%s.%N) out="$log/out" rc
    "$@" >"$out" 2>&1; rc=$?
    local dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    local extra=$(grep -a '^checks: ' "$out" | tail -n1 | sed 's/^checks: //')
    if [ $rc -eq 77 ]; then
        printf 'skip %-40s %ss\n' "$label" "$dt"
    elif [ $rc -eq 0 ]; then
        pass=$((pass + 1)); printf 'ok   %-40s %5ss %s\n' "$label" "$dt" "${extra:+($extra)}"
    else
        fail=$((fail + 1)); printf 'FAIL %-40s %5ss (exit %d)\n' "$label" "$dt" "$rc"
        sed 's/^/    | /' "$out" | tail -n 40
    fi
}

want hdr-check && run_one hdr-check make -s hdr-check
for t in build/tests/unit/t-*; do
    [ -x "$t" ] || continue; n=unit/$(basename "$t"); want "$n" || continue
    run_one "$n" "$t"
done
for t in build/san/tests/unit/t-*; do
    [ -x "$t" ] || continue; n=unit-san/$(basename "$t"); want "$n" || continue
    run_one "$n" "$t"
done
for t in tests/cli/t*.sh tests/pipeline/t*.sh; do
    [ -f "$t" ] || continue; n=${t#tests/}; want "$n" || continue
    run_one "$n" bash "$t"
done
printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
