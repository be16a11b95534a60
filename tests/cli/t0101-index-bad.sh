#!/usr/bin/env bash
# mint-index on malformed input (issue 3, acceptance 4): every case of `mint-testtool bad`
# (one reader rule each) and a few argument errors, run on the ASan/UBSan build.  Each must
# exit non-zero without a signal, print exactly one stderr line "mint-index: ..." holding the
# expected cause and file name (no sanitizer report), print nothing on stdout, and leave no
# output file (-o, --mk) and no temporary file behind.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:exitcode=99
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}:halt_on_error=1:exitcode=99
idx=${SANBIN:-$MINT_ROOT/build/san/bin}/mint-index
tool=${TOOLBIN:-$MINT_ROOT/build/tests/tool}/mint-testtool
[ -x "$idx" ] && [ -x "$tool" ] || { echo "missing $idx or $tool"; exit 1; }

"$tool" bad "$tmp/bad" >/dev/null || { echo "mint-testtool bad failed"; exit 1; }
fail=0 n=0
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# run_case NAME EXPECT_CAUSE EXPECT_FILE WANT_RC ARGS...: run mint-index with an empty output
# directory and check all of the above.  WANT_RC: an exact exit code, or "any" for 1..125.
run_case() {
    local name=$1 cause=$2 file=$3 want=$4; shift 4
    local out="$tmp/out/$name" rc lines
    n=$((n + 1))
    rm -rf "$out"; mkdir -p "$out"
    "$idx" "$@" >"$out.stdout" 2>"$out.stderr"; rc=$?
    lines=$(wc -l <"$out.stderr")
    if [ "$rc" -eq 0 ] || [ "$rc" -gt 125 ] || [ "$rc" -eq 99 ]; then
        bad "$name: exit status $rc"
    elif [ "$want" != any ] && [ "$rc" -ne "$want" ]; then
        bad "$name: exit status $rc, want $want"
    fi
    if [ "$lines" -ne 1 ] || ! head -n1 "$out.stderr" | grep -q '^mint-index: '; then
        bad "$name: want one 'mint-index: ' line on stderr, got $lines:"
        sed 's/^/    /' "$out.stderr" | head -n 20
    elif ! grep -qF -- "$cause" "$out.stderr"; then
        bad "$name: stderr lacks '$cause': $(cat "$out.stderr")"
    elif ! grep -qF -- "$file" "$out.stderr"; then
        bad "$name: stderr lacks file '$file': $(cat "$out.stderr")"
    fi
    if grep -qE 'Sanitizer|runtime error' "$out.stderr"; then bad "$name: sanitizer report"; fi
    if [ -s "$out.stdout" ]; then bad "$name: unexpected stdout"; fi
    if [ -n "$(ls -A "$out")" ]; then bad "$name: left files: $(ls -A "$out" | tr '\n' ' ')"; fi
}

cases=0
for d in "$tmp"/bad/*/; do
    d=${d%/}; c=$(basename "$d")
    cases=$((cases + 1))
    cause=$(sed -n 1p "$d/expect"); file=$(sed -n 2p "$d/expect")
    [ -n "$cause" ] && [ -n "$file" ] || { bad "$c: bad expect file"; continue; }
    rm -f "$d/expect" # the model directory holds exactly the model
    run_case "$c" "$cause" "$file" 1 "$d" -o "$tmp/out/$c/index.json" --mk "$tmp/out/$c/tensors.mk"
done
[ "$cases" -ge 25 ] || bad "only $cases malformed cases (want >= 25)"

# missing directory, a file as the directory
run_case no-dir "No such file or directory" "$tmp/nope" 1 "$tmp/nope" -o "$tmp/out/no-dir/i.json"
run_case not-dir "not a directory" "config.json" 1 "$MINT_ROOT/tests/data/models/stories260K/config.json" \
    -o "$tmp/out/not-dir/i.json"
# valid model, unwritable output: I/O error (3), still one line and nothing left behind
mkdir -p "$tmp/out/io"
run_case io-error "cannot create" "$tmp/out/io/missing/i.json" 3 \
    "$MINT_ROOT/tests/data/models/stories260K" -o "$tmp/out/io/missing/i.json"

# usage errors: exit 2, usage line on stderr, no output
usage() {
    local name=$1; shift
    n=$((n + 1))
    rm -rf "$tmp/u"; mkdir -p "$tmp/u"
    (cd "$tmp/u" && "$idx" "$@" >"$tmp/u.stdout" 2>"$tmp/u.stderr"); local rc=$?
    [ "$rc" -eq 2 ] || bad "usage $name: exit $rc, want 2"
    grep -q '^usage: mint-index' "$tmp/u.stderr" || bad "usage $name: no usage line on stderr"
    [ -s "$tmp/u.stdout" ] && bad "usage $name: unexpected stdout"
    [ -z "$(ls -A "$tmp/u")" ] || bad "usage $name: left files"
}
m=$MINT_ROOT/tests/data/models/stories260K
usage no-args
usage no-output "$m"
usage bad-flag "$m" -o i.json --frobnicate
usage two-dirs "$m" "$m" -o i.json
usage missing-o-arg "$m" -o
usage missing-mk-arg "$m" -o i.json --mk

echo "checks: $((n - fail)) passed, $fail failed ($cases malformed models)"
[ "$fail" -eq 0 ]
