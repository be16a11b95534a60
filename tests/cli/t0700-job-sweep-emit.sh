#!/usr/bin/env bash
# mint-job (progress, stage log, held-back stderr, exit status), mint-sweep (CSV) and
# mint-index --emit-mk (content keys).
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
D=$MINT_ROOT/tests/data/models

# --- mint-job ---
$BIN/mint-job --help | grep -q '^usage: mint-job' || fail "job --help"
$BIN/mint-job rd x 2>/dev/null; [ $? -eq 2 ] || fail "job usage exit"
export MINT_LOG=$tmp/log MINT_PROGRESS=$tmp/prog MINT_TOTAL=3
for i in 1 2 3; do $BIN/mint-job rd "t$i" -- sh -c 'echo noise >&2' 2>>"$tmp/err" || fail "job run"; done
[ "$(wc -l <"$tmp/log")" -eq 3 ] || fail "stage log lines"
grep -q '^rd t2$' "$tmp/log" || fail "stage log content"
grep -q '^\[3/3 100%\] rd    t3' "$tmp/err" || fail "progress line: $(cat "$tmp/err")"
! grep -q noise "$tmp/err" || fail "stderr of a successful step is shown"
$BIN/mint-job rd bad -- sh -c 'echo boom >&2; exit 5' 2>"$tmp/err2"; rc=$?
[ $rc -eq 5 ] || fail "exit status $rc"
grep -q boom "$tmp/err2" || fail "stderr of a failing step is hidden"
$BIN/mint-job rd sig -- sh -c 'kill -9 $$' 2>/dev/null; [ $? -eq 137 ] || fail "signal status"
# --hex: the subject arrives as the hex of its bytes, is shown and logged decoded
h=$(printf '%s' 'a;b `c` ü' | od -An -tx1 | tr -d ' \n')
$BIN/mint-job --hex rd "$h" -- true 2>"$tmp/err4" || fail "job --hex"
grep -qxF 'rd a;b `c` ü' "$tmp/log" || fail "job --hex log: $(tail -n1 "$tmp/log")"
grep -qF '] rd    a;b `c` ü' "$tmp/err4" || fail "job --hex progress: $(cat "$tmp/err4")"
for bad in 6 6g 00 616; do
    $BIN/mint-job --hex rd "$bad" -- true 2>/dev/null; [ $? -eq 2 ] || fail "job --hex '$bad' accepted"
done
unset MINT_LOG MINT_PROGRESS MINT_TOTAL

# --- mint-index --emit-mk: keys depend on params and content, not on the file name ---
$BIN/mint-index "$D/tinystories-656k" -o "$tmp/i.json" -q || fail index
echo '{"configs":"default","quantizer":"mlx"}' >"$tmp/rd.json"
echo '{"rank":256,"seed":0}' >"$tmp/ft.json"
$BIN/mint-index --emit-mk "$tmp/i.json" -o "$tmp/a.mk" --rd-params "$tmp/rd.json" --feat-params "$tmp/ft.json" || fail emit
[ "$(grep -c '^  $(CAS)/rd/' "$tmp/a.mk")" -eq 15 ] || fail "656K has 15 matrices"
[ "$(grep -c '^  $(CAS)/feat/' "$tmp/a.mk")" -eq 15 ] || fail "feat items"
# names travel as hex digits only (make and the shell see nothing else of them)
[ "$(grep -c ': T := [0-9a-f]*$' "$tmp/a.mk")" -eq 30 ] || fail "T is not hex in every item"
h=$(printf '%s' model.layers.0.mlp.up_proj.weight | od -An -tx1 | tr -d ' \n')
grep -q ": T := $h\$" "$tmp/a.mk" || fail "T is not the hex of the name"
$BIN/mint-rd "$tmp/i.json" --hex "$h" -o "$tmp/rdx.json" -q || fail "rd --hex"
$BIN/mint-rd "$tmp/i.json" model.layers.0.mlp.up_proj.weight -o "$tmp/rdy.json" -q || fail "rd"
cmp -s "$tmp/rdx.json" "$tmp/rdy.json" || fail "rd --hex differs from the plain name"
$BIN/mint-feature "$tmp/i.json" --hex "$h" -o "$tmp/fx.json" -q || fail "feature --hex"
for p in mint-rd mint-feature; do
    $BIN/$p "$tmp/i.json" --hex 6d6 -o "$tmp/x.json" 2>"$tmp/err5"; [ $? -eq 2 ] || fail "$p --hex odd"
    grep -q -- '--hex' "$tmp/err5" || fail "$p --hex message"
    $BIN/$p "$tmp/i.json" --hex 6D -o "$tmp/x.json" 2>/dev/null; [ $? -eq 2 ] || fail "$p --hex upper"
done
# same params written differently (key order, spaces) -> same keys
echo '{ "quantizer": "mlx", "configs": "default" }' >"$tmp/rd2.json"
$BIN/mint-index --emit-mk "$tmp/i.json" -o "$tmp/b.mk" --rd-params "$tmp/rd2.json" --feat-params "$tmp/ft.json" || fail emit2
diff <(tail -n +2 "$tmp/a.mk") <(tail -n +2 "$tmp/b.mk") >/dev/null || fail "keys depend on params formatting"
# other rd params -> other rd keys, same feat keys
echo '{"configs":"4:64,16","quantizer":"mlx"}' >"$tmp/rd3.json"
$BIN/mint-index --emit-mk "$tmp/i.json" -o "$tmp/c.mk" --rd-params "$tmp/rd3.json" --feat-params "$tmp/ft.json" --no-feat || fail emit3
[ "$(grep -c '^  $(CAS)/feat/' "$tmp/c.mk")" -eq 0 ] || fail "--no-feat"
[ -z "$(comm -12 <(grep '^  $(CAS)/rd/' "$tmp/a.mk" | sort) <(grep '^  $(CAS)/rd/' "$tmp/c.mk" | sort))" ] || fail "rd keys ignore params"
# the same tensor content in another model directory gets the same keys
cp -r "$D/tinystories-656k" "$tmp/copy"
$BIN/mint-index "$tmp/copy" -o "$tmp/i2.json" -q || fail index2
$BIN/mint-index --emit-mk "$tmp/i2.json" -o "$tmp/d.mk" --rd-params "$tmp/rd.json" --feat-params "$tmp/ft.json" || fail emit4
diff <(grep -v '^#' "$tmp/a.mk") <(grep -v '^#' "$tmp/d.mk") >/dev/null || fail "keys depend on the model path"
$BIN/mint-index --emit-mk "$tmp/nope.json" -o "$tmp/e.mk" 2>"$tmp/err3"; [ $? -ne 0 ] || fail "missing index accepted"
grep -q '^mint-index: ' "$tmp/err3" || fail "emit error message"; [ ! -e "$tmp/e.mk" ] || fail "partial mk"

# --- mint-sweep ---
$BIN/mint-sweep --help | grep -q '^usage: mint-sweep' || fail "sweep --help"
$BIN/mint-sweep -o "$tmp/s.csv" 2>/dev/null; [ $? -eq 2 ] || fail "sweep usage"
mkdir -p "$tmp/out1"; printf 'x%.0s' $(seq 1 100) >"$tmp/out1/model.safetensors"
cat >"$tmp/alloc.json" <<'J'
{"budget_bytes": 1000, "objective": 1.5, "bound": 1.5, "gap_rel": 0, "status": "optimal",
 "solver": "exact", "loss": "nrmse", "veto_db": 9,
 "tensors": [{"name": "a", "bits": 4, "group": 64, "bytes": 36}, {"name": "b", "bits": 16, "group": 0, "bytes": 20}]}
J
$BIN/mint-sweep -o "$tmp/s.csv" 1K="$tmp/alloc.json:$tmp/out1" 2>/dev/null || fail "sweep run"
[ "$(sed -n 2p "$tmp/s.csv")" = "1K,1000,56,100,6.0541,1.5,1.5,0,optimal,exact,nrmse,9" ] || fail "csv row: $(cat "$tmp/s.csv")"
echo "checks: all passed"
