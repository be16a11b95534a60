#!/usr/bin/env bash
# Tensor names are data, never code (issue 14, defect 1): a model whose header names tensors
# with shell and make metacharacters (and non-ASCII bytes) runs through the whole pipeline at
# -j2; no command hidden in a name runs, every name reaches its stage intact.
. "$(dirname "$0")/lib.sh"
TT=$TOOLBIN/mint-testtool
p=model.layers
# hostile MODEL_DIR PAIRS...: a copy of MODEL with tensors renamed (original, replacement)
hostile() {
    local d=$1; shift
    cp -r "$MODEL" "$d"
    while [ $# -gt 0 ]; do
        "$TT" edit "$d/model.safetensors" rename "$1" "$2" || fail "rename $1"
        shift 2
    done
}
# run MODEL_DIR NAMES...: make -j2 on it from an unrelated directory; nothing may run, every
# name is measured under its own name and listed in the report
run() {
    local d=$1 n rc; shift
    (cd "$tmp" && make -s -j2 -C "$ROOT" MODEL="$d" WORK="$WORKD" OUT="$OUTD" BUDGET=300K \
        >"$tmp/make.out" 2>&1)
    rc=$?
    for x in "$ROOT" "$tmp" "$WORKD" "$OUTD" "$d"; do
        found=$(find "$x" -maxdepth 3 -name 'PWNED*' 2>/dev/null | head -n 3)
        [ -z "$found" ] || fail "a tensor name ran a command: $found"
    done
    grep -q 'uid=' "$tmp/make.out" && fail "a tensor name ran id: $(grep uid= "$tmp/make.out")"
    [ $rc -eq 0 ] || { cat "$tmp/make.out" >&2; fail "make on hostile names failed ($rc)"; }
    for n in "$@"; do
        grep -qxF "rd $n" "$LOG" || fail "no rd logged for '$n'"
        grep -qxF "feat $n" "$LOG" || fail "no feature logged for '$n'"
        "$TT" jget "$OUTD/${d##*/}-300K/report.json" "tensors/name=$n/name" >/dev/null 2>&1 ||
            fail "'$n' not in report.json"
    done
}
# 1. the reported hole: & > | and backquotes reached the shell through $(T)
a1="$p.0.mlp.up&id>PWNED1&.weight" a2="$p.0.self_attn.q\`id>PWNED2\`.weight"
a3="$p.1.mlp.gate|id>PWNED3|.weight"
hostile "$tmp/amp" "$p.0.mlp.up_proj.weight" "$a1" "$p.0.self_attn.q_proj.weight" "$a2" \
    "$p.1.mlp.gate_proj.weight" "$a3"
run "$tmp/amp" "$a1" "$a2" "$a3"
# 2. what the old blacklist refused: make and shell syntax, quotes, non-ASCII bytes
b1="$p.0.mlp.gate\$(shell touch PWNED4)_proj.weight"
b2="$p.0.self_attn.k'\"; touch PWNED5 #.weight"
b3="$p.0.self_attn.v%:=\\*?[x] \$\$(T).weight"
b4="$p.1.mlp.up_pröj.wéight"
b5="$p.1.self_attn.q\$\$(shell touch PWNED6);touch PWNED7.weight"
hostile "$tmp/hostile" "$p.0.mlp.gate_proj.weight" "$b1" "$p.0.self_attn.k_proj.weight" "$b2" \
    "$p.0.self_attn.v_proj.weight" "$b3" "$p.1.mlp.up_proj.weight" "$b4" \
    "$p.1.self_attn.q_proj.weight" "$b5"
run "$tmp/hostile" "$b1" "$b2" "$b3" "$b4" "$b5"
# tensors.mk carries names only as hex digits
mk=$(ls "$WORKD"/m/*hostile/tensors.mk)
grep -q 'T := [0-9a-f]*$' "$mk" || fail "tensors.mk has no hex names"
grep -v '^#' "$mk" | grep -q 'PWNED' && fail "a raw name reached tensors.mk"
# a second make runs nothing (the names do not confuse make's view of the targets)
mark
run "$tmp/hostile"
[ "$(since_all)" -eq 0 ] || fail "no-op make reran: $(tail -n +$((MARK + 1)) "$LOG")"
echo "checks: all passed"
