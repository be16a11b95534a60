#!/usr/bin/env bash
# mint-synth: flags and errors, output that mint-index accepts, determinism (same seed -> same
# bytes, other seed -> other bytes, any --jobs or shard size -> same tensor bytes), and the real
# tensor names and counts (Qwen3-30B-A3B: 18,867; Llama-3-8B 291; Qwen3-8B 399; Mixtral 995).
set -eu
export LC_ALL=C
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
S=$BIN/mint-synth
fail() { echo "FAIL: $*" >&2; exit 1; }

# name<TAB>hash of every tensor in an index.json (canonical layout: hash precedes name)
names_hashes() {
    awk -F'"' '/^   "hash": /{h=$4} /^   "name": /{print $4 "\t" h}' "$1"
}

# --- usage and errors -------------------------------------------------------------------------
$S --help >"$tmp/out" || fail "--help exit"
grep -q '^usage: mint-synth --arch NAME -o DIR' "$tmp/out" || fail "--help text"
grep -q 'qwen3-30b-a3b' "$tmp/out" || fail "--help lists architectures"
rc=0; $S --arch tiny 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] && grep -q '^usage: mint-synth' "$tmp/err" || fail "missing -o: exit $rc"
rc=0; $S --arch tiny -o "$tmp/x" --bogus 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] || fail "bad flag: exit $rc"
rc=0; $S --arch gpt-5 -o "$tmp/x" 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] && grep -q "mint-synth: unknown architecture 'gpt-5'" "$tmp/err" || fail "unknown arch"
rc=0; $S --arch tiny --scale 0 -o "$tmp/x" 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] && grep -q "mint-synth: --scale '0': invalid value" "$tmp/err" || fail "--scale 0"
rc=0; $S --arch tiny --layers 9 -o "$tmp/x" 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] && grep -q "mint-synth: --layers 9: tiny has 1..2" "$tmp/err" || fail "--layers 9"
rc=0; $S --arch tiny --shard-size 5X -o "$tmp/x" 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] || fail "--shard-size 5X: exit $rc"
[ ! -e "$tmp/x" ] || fail "output left after a usage error"

# --- tiny: indexes cleanly, deterministic ---------------------------------------------------
$S --arch tiny -o "$tmp/a" -q
$S --arch tiny -o "$tmp/b" -q --jobs 3
$S --arch tiny -o "$tmp/c" -q --seed 1
[ -f "$tmp/a/config.json" ] && [ -f "$tmp/a/model.safetensors" ] || fail "tiny files"
[ ! -e "$tmp/a/model.safetensors.index.json" ] || fail "single shard has no index"
cmp "$tmp/a/model.safetensors" "$tmp/b/model.safetensors" || fail "same seed, other bytes"
cmp "$tmp/a/config.json" "$tmp/b/config.json" || fail "config differs"
! cmp -s "$tmp/a/model.safetensors" "$tmp/c/model.safetensors" || fail "other seed, same bytes"
$BIN/mint-index "$tmp/a" -o "$tmp/a.json" -q || fail "mint-index tiny"
grep -q '"n_tensors": 25,' "$tmp/a.json" || fail "tiny tensor count"
grep -q '"model_type": "qwen3"' "$tmp/a.json" || fail "tiny config"
for d in "$tmp"/*.tmp.*; do [ ! -e "$d" ] || fail "temporary directory $d left behind"; done

# sharded: same tensor bytes, HF names and index
$S --arch tiny -o "$tmp/s" -q --shard-size 1M
[ -f "$tmp/s/model.safetensors.index.json" ] || fail "no index for shards"
[ -f "$tmp/s/model-00001-of-00004.safetensors" ] || { ls "$tmp/s"; fail "shard names"; }
for f in "$tmp"/s/*.safetensors; do
    [ "$(stat -c %s "$f")" -le 1048576 ] || fail "$f larger than the shard size"
done
grep -q '"total_size": 3410944' "$tmp/s/model.safetensors.index.json" || fail "total_size"
$BIN/mint-index "$tmp/s" -o "$tmp/s.json" -q || fail "mint-index sharded"
diff <(names_hashes "$tmp/a.json") <(names_hashes "$tmp/s.json") >/dev/null ||
    fail "sharding changed tensor bytes"

# f16 / f32 and the MoE variant
$S --arch tiny-moe --dtype f16 -o "$tmp/m16" -q
$BIN/mint-index "$tmp/m16" -o "$tmp/m16.json" -q || fail "mint-index tiny-moe f16"
grep -q '"dtype": "F16"' "$tmp/m16.json" && grep -q '"role": "expert_down"' "$tmp/m16.json" ||
    fail "tiny-moe f16 roles"
grep -q '"torch_dtype": "float16"' "$tmp/m16/config.json" || fail "torch_dtype f16"

# an existing directory is replaced only with --force
rc=0; $S --arch tiny -o "$tmp/a" -q 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] && grep -q "exists and is not empty (--force replaces it)" "$tmp/err" ||
    fail "existing dir: exit $rc"
$S --arch tiny -o "$tmp/a" -q --force --seed 1
cmp -s "$tmp/a/model.safetensors" "$tmp/c/model.safetensors" || fail "--force did not replace"

# --- real layouts ---------------------------------------------------------------------------
$S --arch qwen3-30b-a3b --list >"$tmp/q30.list" 2>"$tmp/q30.err"
[ "$(wc -l <"$tmp/q30.list")" -eq 18867 ] || fail "qwen3-30b-a3b: $(wc -l <"$tmp/q30.list") tensors"
grep -q '18867 tensors in 12 files, 30532122624 params' "$tmp/q30.err" || fail "q30 summary"
{
    echo model.embed_tokens.weight; echo model.norm.weight; echo lm_head.weight
    for l in $(seq 0 47); do
        p=model.layers.$l
        for n in input_layernorm post_attention_layernorm self_attn.q_proj self_attn.k_proj \
                 self_attn.v_proj self_attn.o_proj self_attn.q_norm self_attn.k_norm mlp.gate; do
            echo "$p.$n.weight"
        done
        for e in $(seq 0 127); do
            echo "$p.mlp.experts.$e.gate_proj.weight"
            echo "$p.mlp.experts.$e.up_proj.weight"
            echo "$p.mlp.experts.$e.down_proj.weight"
        done
    done
} | sort >"$tmp/q30.want"
cut -f1 "$tmp/q30.list" | sort >"$tmp/q30.got"
cmp "$tmp/q30.want" "$tmp/q30.got" || fail "qwen3-30b-a3b names"
grep -q $'^model.layers.0.mlp.gate.weight\tBF16\t\\[128,2048\\]' "$tmp/q30.list" || fail "router shape"
grep -q $'^model.layers.47.mlp.experts.127.down_proj.weight\tBF16\t\\[2048,768\\]' "$tmp/q30.list" ||
    fail "expert shape"
grep -q $'^model.layers.5.self_attn.k_proj.weight\tBF16\t\\[512,2048\\]' "$tmp/q30.list" ||
    fail "k_proj shape"
# --scale keeps names and count
$S --arch qwen3-30b-a3b --scale 0.05 --list 2>/dev/null | cut -f1 | sort | cmp - "$tmp/q30.want" ||
    fail "scaled names"
# a real write of the first two layers indexes with exactly the expected names
$S --arch qwen3-30b-a3b --scale 0.05 --layers 2 -o "$tmp/q30" -q
$BIN/mint-index "$tmp/q30" -o "$tmp/q30.json" -q || fail "mint-index qwen3-30b-a3b"
grep -q '"n_tensors": 789,' "$tmp/q30.json" || fail "q30 --layers 2 count"
grep -q '"num_experts": 128,' "$tmp/q30.json" || fail "q30 config"
names_hashes "$tmp/q30.json" | cut -f1 >"$tmp/q30.idx"
grep -E '^(model\.layers\.[01]\.|model\.embed|model\.norm|lm_head)' "$tmp/q30.want" | sort |
    cmp - "$tmp/q30.idx" || fail "q30 indexed names"
[ "$(grep -c '"role": "expert_gate"' "$tmp/q30.json")" -eq 256 ] || fail "expert roles"
[ "$(grep -c '"role": "router"' "$tmp/q30.json")" -eq 2 ] || fail "router roles"

for spec in llama-3-8b:291 qwen3-8b:399 mixtral-8x7b:995 tiny-moe:69; do
    n=$($S --arch "${spec%%:*}" --list 2>/dev/null | wc -l)
    [ "$n" -eq "${spec#*:}" ] || fail "${spec%%:*}: $n tensors"
done
$S --arch mixtral-8x7b --list 2>/dev/null |
    grep -q $'^model.layers.31.block_sparse_moe.experts.7.w2.weight\tBF16\t\\[4096,14336\\]' ||
    fail "mixtral names"
$S --arch llama-3-8b --list 2>&1 >/dev/null | grep -q '291 tensors in 4 files, 8030261248 params' ||
    fail "llama params"
echo "ok"
