#!/usr/bin/env bash
# Paths and knobs are data (issue 14, defects 2 and 7): a MODEL path with spaces and shell
# metacharacters works (nothing in it runs, no stray directory appears); WORK or OUT that make
# cannot use, and malformed knobs, are refused up front with one clear line, before anything
# runs or is created; a model the index rejects stops make with that error alone.
. "$(dirname "$0")/lib.sh"
sp="$tmp/my models"
mkdir -p "$sp"
before=$(ls -A "$ROOT")
# -- a MODEL make cannot spell: absolute, with ; > ' $( ) and a space, and relative
m1="$sp/m;>PWNED1;x 'q' \$(shell touch PWNED2)"
cp -r "$MODEL" "$m1"
mk BUDGET=300K MODEL="$m1"
out=$(ls -d "$OUTD"/*-300K)
[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "expected one output, got: $out"
[ -f "$out/model.safetensors" ] || fail "no packed model for a MODEL with spaces"
grep -qxF "index $m1" "$LOG" || fail "index not logged with the exact path: $(head -n1 "$LOG")"
mark
mk BUDGET=300K MODEL="$m1"
[ "$(since_all)" -eq 0 ] || fail "no-op rerun on the spaced MODEL ran: $(tail -n +$((MARK + 1)) "$LOG")"
# the same model by a relative path (from the checkout, as make runs) gives the same bytes
rel=$(realpath --relative-to="$ROOT" "$m1")
mk BUDGET=300K MODEL="$rel/" OUT="$tmp/out2"
diff -r "$out" "$tmp/out2/${out##*/}" >/dev/null || fail "relative MODEL gives other bytes"
for d in "$ROOT" "$tmp" "$sp" "$WORKD" "$OUTD"; do
    f=$(find "$d" -maxdepth 3 -name 'PWNED*' | head -n 3)
    [ -z "$f" ] || fail "a MODEL path ran a command: $f"
done
[ "$(ls -A "$ROOT")" = "$before" ] || fail "stray files in the checkout: $(comm -13 <(echo "$before") <(ls -A "$ROOT"))"

# refused KNOB=VALUE CAUSE: make exits 2 with one "mint: KNOB ...: CAUSE" line, nothing ran
refused() {
    local kv=$1 cause=$2 w=$tmp/rw o=$tmp/ro
    rm -rf "$w" "$o" "$tmp"/PWN*
    (cd "$tmp" && make -s -C "$ROOT" MODEL="$MODEL" WORK="$w" OUT="$o" "$kv" >"$tmp/r.out" 2>&1)
    local rc=$?
    [ $rc -eq 2 ] || { cat "$tmp/r.out" >&2; fail "$kv: exit $rc, expected 2"; }
    grep -q "\*\*\* mint: ${kv%%=*}.*$cause" "$tmp/r.out" ||
        fail "$kv: message does not say '$cause': $(cat "$tmp/r.out")"
    [ "$(grep -c . "$tmp/r.out")" -eq 1 ] || fail "$kv: more than one line: $(cat "$tmp/r.out")"
    [ ! -e "$w/log/stages.log" ] || fail "$kv: a stage ran"
    [ -z "$(ls "$tmp" | grep PWN)" ] && [ -z "$(ls -A "$ROOT" | grep PWN)" ] || fail "$kv ran a command"
    [ "$(ls -A "$ROOT")" = "$before" ] || fail "$kv: stray files in the checkout"
}
refused "WORK=$tmp/w k" "a space"
refused "OUT=$tmp/o;touch PWN" "';'"
refused "OUT=$tmp/o\$(shell touch PWN)" "'\\$'"
refused "NAME=x'y" "\"'\""
refused "BUDGET=" "not a budget"
refused "BUDGET=4.5 bpw" "not a budget"
refused "BUDGET=5G;id" "not a budget"
refused "BUDGET=\$(shell touch PWN)" "not a budget"
refused "BUDGETS=4G 5X" "'5X' is not a budget"
refused "SHARD_SIZE=5Q" "not a size"
refused "VETO_DB=9;touch PWN" "not a number"
refused "SOLVER=exakt" "expected one of: exact greedy"
refused "LOSS=l2" "expected one of"
refused "QUANTIZER=gptq" "expected one of"
refused "FEATURES=yes" "expected one of: 0 1"
refused "SEED=-1" "not a non-negative integer"
refused "CONFIGS=4:64;id" "bits:group"
refused "PRIORS=$tmp/nope.json" "existing JSON file"
refused "RECIPE=$tmp/a b.mk" "a space"
refused "MODEL=$tmp/a  b" "repeated whitespace"
# knobs the checks accept still work
mk BUDGET=300k VETO_DB=-3.5 CONFIGS=4:64,8:64,16 SOLVER=greedy WORK="$tmp/w2" OUT="$tmp/o2"

# a model the index rejects: its error and make's one line, nothing misleading after it
bad=$tmp/bad
cp -r "$MODEL" "$bad"
"$TOOLBIN/mint-testtool" flip "$bad/model.safetensors" 12
for pass in cold again; do
    make -s -C "$ROOT" MODEL="$bad" WORK="$tmp/wb" OUT="$tmp/ob" BUDGET=300K >"$tmp/b.out" 2>&1
    [ $? -eq 2 ] || fail "bad model ($pass): make did not fail"
    grep -q '^mint-index: .*header is not valid JSON' "$tmp/b.out" || fail "bad model ($pass): $(cat "$tmp/b.out")"
    grep -q 'No rule to make target\|No such file' "$tmp/b.out" &&
        fail "bad model ($pass): misleading make error: $(cat "$tmp/b.out")"
    [ "$(grep -c '^make: \*\*\*' "$tmp/b.out")" -eq 1 ] || fail "bad model ($pass): $(cat "$tmp/b.out")"
done
echo "checks: all passed"
