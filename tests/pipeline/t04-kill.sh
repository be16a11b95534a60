#!/usr/bin/env bash
# SIGKILL of make in the middle of the rd stage, then a rerun: the output is byte-identical to
# an uninterrupted run.  MINT_JOB_TEST_SLEEP slows each step so the kill lands mid-stage.
. "$(dirname "$0")/lib.sh"
mk BUDGET=300K WORK="$tmp/ref" OUT="$tmp/refout"
( cd "$ROOT" && MINT_JOB_TEST_SLEEP=0.05 exec setsid make -s -j2 MODEL="$MODEL" WORK="$WORKD" \
    OUT="$OUTD" BUDGET=300K >/dev/null 2>&1 ) &
pid=$!
for _ in $(seq 1 400); do
    n=$(awk '$1 == "rd"' "$LOG" 2>/dev/null | wc -l)
    [ "$n" -ge 5 ] && break
    sleep 0.02
done
kill -9 -- -"$pid" 2>/dev/null || kill -9 "$pid"
wait "$pid" 2>/dev/null
[ "$n" -ge 5 ] || fail "rd never started"
[ ! -e "$OUTD/stories260K-300K" ] || fail "output exists after a kill mid-rd"
mk BUDGET=300K
diff -r "$tmp/refout" "$OUTD" >/dev/null || fail "rerun after kill differs from an uninterrupted run"
