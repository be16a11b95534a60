#!/usr/bin/env bash
# clean-model removes one model's intermediates and outputs (not the shared per-tensor cache,
# not another model's); clean-cas removes the cache; help lists the knobs.
. "$(dirname "$0")/lib.sh"
mk BUDGET=300K
MODEL=$ROOT/tests/data/models/tinystories-656k mk BUDGET=4.5bpw
ncas=$(find "$WORKD/cas" -type f | wc -l)
[ "$ncas" -gt 0 ] || fail "no cache"
mk clean-model
[ ! -e "$OUTD/stories260K-300K" ] || fail "clean-model kept the output"
[ -z "$(ls -d "$WORKD"/m/*stories260K 2>/dev/null)" ] || fail "clean-model kept the intermediates"
[ -e "$OUTD/tinystories-656k-4.5bpw/report.json" ] || fail "clean-model removed another model's output"
[ -n "$(ls -d "$WORKD"/m/*tinystories-656k 2>/dev/null)" ] || fail "clean-model removed another model's intermediates"
[ "$(find "$WORKD/cas" -type f | wc -l)" -eq "$ncas" ] || fail "clean-model touched the cache"
# rebuilding after clean-model reuses every cached RD curve and feature
mark; mk BUDGET=300K
expect rd 0; expect feat 0; expect index 1; expect pack 1
mk clean-cas
[ ! -e "$WORKD/cas" ] || fail "clean-cas"
[ -e "$OUTD/stories260K-300K/report.json" ] || fail "clean-cas removed outputs"
make -s -C "$ROOT" help >"$tmp/help" || fail "make help"
for v in MODEL BUDGET VETO_DB SOLVER LOSS QUANTIZER CONFIGS FEATURES WORK OUT PRIORS; do
    grep -q "^  $v " "$tmp/help" || fail "make help does not list $v"
done
