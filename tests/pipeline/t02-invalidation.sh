#!/usr/bin/env bash
# Each knob reruns exactly the stages that read it (asserted from the stage log).
. "$(dirname "$0")/lib.sh"
mk BUDGET=300K
n=$(n_rd_items)

mark; mk BUDGET=250K
expect solve 1; expect pack 1; [ "$(since_all)" -eq 2 ] || fail "budget change ran more than solve+pack"

mark; mk BUDGET=250K VETO_DB=12
expect solve 1; expect pack 1; [ "$(since_all)" -eq 2 ] || fail "veto change ran more than solve+pack"

mark; mk BUDGET=250K VETO_DB=12 CONFIGS=3:64,4:64,4:32,8:64,16
expect rd "$n"; expect feat 0; expect merge 1; expect solve 1; expect pack 1; expect index 0

mark; mk BUDGET=250K VETO_DB=12 CONFIGS=3:64,4:64,4:32,8:64,16 QUANTIZER=minmax
expect rd "$n"; expect feat 0; expect merge 1; expect solve 1; expect pack 1

# back to the first parameters: every per-tensor result is cached; merge and solve rerun
# (their inputs changed back), but the allocation comes out identical, so pack does not
mark; mk BUDGET=300K
expect rd 0; expect feat 0; expect index 0; expect merge 1; expect solve 1; expect pack 0

# touching the model without changing its bytes reruns only the index
mark; sleep 1; cp -r "$MODEL" "$tmp/m"; MODEL=$tmp/m; mk BUDGET=300K
mark; touch "$MODEL"/*.safetensors "$MODEL"/config.json; mk BUDGET=300K
expect index 1; [ "$(since_all)" -eq 1 ] || fail "touch reran more than index: $(tail -n +$((MARK + 1)) "$LOG")"
mark; mk BUDGET=300K
[ "$(since_all)" -eq 0 ] || fail "second run after touch was not a no-op"
