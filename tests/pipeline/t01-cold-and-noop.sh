#!/usr/bin/env bash
# A cold run runs every stage once (rd and feature once per matrix), a second make runs nothing
# and finishes in well under a second.
. "$(dirname "$0")/lib.sh"
mark
mk BUDGET=300K
[ -f "$OUTD/stories260K-300K/model.safetensors.index.json" ] || fail "no packed model"
[ -f "$OUTD/stories260K-300K/report.json" ] || fail "no report.json"
expect index 1; expect merge 1; expect solve 1; expect pack 1
expect rd "$(n_rd_items)"; expect feat "$(n_feat_items)"
[ "$(n_rd_items)" -eq 36 ] || fail "stories260K has 36 matrices, tensors.mk lists $(n_rd_items)"
mark
t0=$(date +%s%N)
mk BUDGET=300K
t1=$(date +%s%N)
[ "$(since_all)" -eq 0 ] || fail "no-op make ran: $(tail -n +$((MARK + 1)) "$LOG")"
ms=$(( (t1 - t0) / 1000000 ))
echo "no-op make: ${ms} ms"
[ "$ms" -lt 1000 ] || fail "no-op make took ${ms} ms"
# make -q agrees that everything is up to date
make -q -C "$ROOT" MODEL="$MODEL" WORK="$WORKD" OUT="$OUTD" BUDGET=300K || fail "make -q says out of date"
