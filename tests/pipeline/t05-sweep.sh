#!/usr/bin/env bash
# A sweep over 3 budgets runs rd once per tensor; the CSV has one row per budget, each within
# its budget.
. "$(dirname "$0")/lib.sh"
mark
mk sweep BUDGETS="240K 300K 400K"
expect rd "$(n_rd_items)"; expect solve 3; expect pack 3; expect merge 1
csv=$OUTD/stories260K-sweep.csv
[ -f "$csv" ] || fail "no sweep csv"
[ "$(tail -n +2 "$csv" | wc -l)" -eq 3 ] || fail "csv rows: $(cat "$csv")"
awk -F, 'NR > 1 && ($4 > $2 || $3 > $2) { bad = 1 } END { exit bad }' "$csv" || fail "over budget: $(cat "$csv")"
for b in 240K 300K 400K; do [ -f "$OUTD/stories260K-$b/model.safetensors.index.json" ] || fail "no model for $b"; done
# a second sweep is a no-op
mark; mk sweep BUDGETS="240K 300K 400K"
[ "$(since_all)" -eq 0 ] || fail "second sweep was not a no-op"
