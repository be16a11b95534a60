#!/usr/bin/env bash
# mint-index on valid models (issue 3, acceptance 3): both bundled models list every tensor
# with the right dtype, shape, role and layer; hashes are stable, independent of sharding and
# change exactly where a byte changed; reruns keep the output's mtime; synthetic sharded,
# MoE and VLM models index correctly.  JSON is read with `mint-testtool jget/jrows` (no jq).
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
idx=${BIN:-$MINT_ROOT/build/bin}/mint-index
tool=${TOOLBIN:-$MINT_ROOT/build/tests/tool}/mint-testtool
data=$MINT_ROOT/tests/data/models
[ -x "$idx" ] && [ -x "$tool" ] || { echo "missing $idx or $tool"; exit 1; }

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
# eq WHAT GOT WANT
eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }
jget() { "$tool" jget "$@" 2>&1; }
rows() { "$tool" jrows "$1" tensors "${@:2}"; }
run_index() { # DIR OUT [args]: must succeed
    local dir=$1 out=$2; shift 2
    if "$idx" "$dir" -o "$out" "$@" 2>"$out.stderr"; then ok; else
        bad "mint-index $dir exited $?: $(cat "$out.stderr")"; fi
}

# ---- stories260K: 47 F32 tensors, tied, 5 layers ----
s=$tmp/s260.json
run_index "$data/stories260K" "$s" --mk "$tmp/s260.mk"
eq "260K n_tensors" "$(jget "$s" model/n_tensors)" 47
eq "260K tensors" "$(jget "$s" tensors/#)" 47
eq "260K n_params" "$(jget "$s" model/n_params)" 260032
eq "260K n_bytes" "$(jget "$s" model/n_bytes)" 1040128
eq "260K tied" "$(jget "$s" model/tied)" true
eq "260K num_layers" "$(jget "$s" model/num_layers)" 5
eq "260K schema" "$(jget "$s" schema)" 1
eq "260K files" "$(jget "$s" model/files)" '[{"name":"model.safetensors","size":1044984}]'
eq "260K config" "$(jget "$s" model/config/intermediate_size)" 172
{
    echo "model.embed_tokens.weight	F32	[512,64]	embed	null	null	-"
    for l in 0 1 2 3 4; do
        p=model.layers.$l
        printf '%s\tF32\t%s\t%s\t%s\tnull\t-\n' \
            "$p.input_layernorm.weight" "[64]" norm $l \
            "$p.mlp.down_proj.weight" "[64,172]" mlp_down $l \
            "$p.mlp.gate_proj.weight" "[172,64]" mlp_gate $l \
            "$p.mlp.up_proj.weight" "[172,64]" mlp_up $l \
            "$p.post_attention_layernorm.weight" "[64]" norm $l \
            "$p.self_attn.k_proj.weight" "[32,64]" attn_k $l \
            "$p.self_attn.o_proj.weight" "[64,64]" attn_o $l \
            "$p.self_attn.q_proj.weight" "[64,64]" attn_q $l \
            "$p.self_attn.v_proj.weight" "[32,64]" attn_v $l
    done
    echo "model.norm.weight	F32	[64]	norm	null	null	-"
} | LC_ALL=C sort >"$tmp/want260"
rows "$s" name dtype shape role layer expert stored_name >"$tmp/got260"
if cmp -s "$tmp/want260" "$tmp/got260"; then ok; else
    bad "stories260K tensor table differs:"; diff "$tmp/want260" "$tmp/got260" | head -20; fi
eq "260K down_proj.3 shape" "$(jget "$s" 'tensors/name=model.layers.3.mlp.down_proj.weight/shape')" "[64,172]"
eq "260K down_proj.3 role" "$(jget "$s" 'tensors/name=model.layers.3.mlp.down_proj.weight/role')" mlp_down
eq "260K down_proj.3 layer" "$(jget "$s" 'tensors/name=model.layers.3.mlp.down_proj.weight/layer')" 3
eq "260K no lm_head" "$(grep -c '"lm_head' "$s")" 0
# offsets are absolute, tile the data section in file order, and the hashes are well formed
rows "$s" offset nbytes | sort -n >"$tmp/offs"
awk -v size=1044984 'NR == 1 { start = $1; pos = $1 } $1 != pos { bad = 1 } { pos = $1 + $2 }
    END { exit !(pos == size && !bad && start % 8 == 0) }' "$tmp/offs" && ok ||
    bad "260K offsets do not tile the data section"
eq "260K hashes well formed" "$(rows "$s" hash | grep -cvE '^[0-9a-f]{32}$')" 0
eq "260K hashes distinct" "$(rows "$s" hash | sort -u | wc -l)" 47
# one hash checked against an independent XXH3-128 (xxhsum), when installed
if command -v xxh128sum >/dev/null; then
    off=$(jget "$s" 'tensors/name=model.layers.3.mlp.down_proj.weight/offset')
    nb=$(jget "$s" 'tensors/name=model.layers.3.mlp.down_proj.weight/nbytes')
    h=$(tail -c +$((off + 1)) "$data/stories260K/model.safetensors" | head -c "$nb" | xxh128sum | cut -d' ' -f1)
    eq "260K hash vs xxh128sum" "$(jget "$s" 'tensors/name=model.layers.3.mlp.down_proj.weight/hash')" "$h"
fi
# --mk: one make-safe key per tensor
eq "260K mk keys" "$(grep -c '^MINT_TENSORS += [A-Za-z0-9._-]*$' "$tmp/s260.mk")" 47
grep -q '^MINT_TENSORS += model.layers.3.mlp.down_proj.weight$' "$tmp/s260.mk" && ok || bad "mk lacks down_proj.3"
# summary on stderr
grep -q '47 tensors in 1 file, 260032 params' "$s.stderr" && ok || bad "260K summary: $(head -1 "$s.stderr")"
grep -qE '^  mlp_down +5 +55040 ' "$s.stderr" && ok || bad "260K summary lacks the mlp_down row"

# ---- stable across runs; a rerun keeps the mtime ----
run_index "$data/stories260K" "$tmp/s260b.json" --mk "$tmp/s260b.mk"
cmp -s "$s" "$tmp/s260b.json" && ok || bad "index.json differs between runs"
touch -d '2001-01-01 00:00:00' "$s" "$tmp/s260.mk"
m0=$(stat -c %Y "$s"); k0=$(stat -c %Y "$tmp/s260.mk")
run_index "$data/stories260K" "$s" --mk "$tmp/s260.mk"
eq "rerun keeps index.json mtime" "$(stat -c %Y "$s")" "$m0"
eq "rerun keeps tensors.mk mtime" "$(stat -c %Y "$tmp/s260.mk")" "$k0"
eq "no temporary files" "$(ls "$tmp" | grep -c '\.tmp')" 0

# ---- one flipped byte changes that tensor's hash only ----
mkdir -p "$tmp/flip"
cp "$data/stories260K/config.json" "$data/stories260K/model.safetensors" "$tmp/flip/"
off=$(jget "$s" 'tensors/name=model.layers.3.mlp.down_proj.weight/offset')
"$tool" flip "$tmp/flip/model.safetensors" $((off + 1001))
run_index "$tmp/flip" "$tmp/flip.json"
rows "$s" name hash >"$tmp/h0"; rows "$tmp/flip.json" name hash >"$tmp/h1"
eq "flip: changed hashes" "$(diff "$tmp/h0" "$tmp/h1" | grep '^>' | cut -f1)" "> model.layers.3.mlp.down_proj.weight"
rows "$s" name dtype shape offset nbytes role >"$tmp/r0"; rows "$tmp/flip.json" name dtype shape offset nbytes role >"$tmp/r1"
cmp -s "$tmp/r0" "$tmp/r1" && ok || bad "flip changed more than the hash"

# ---- TinyStories-656K (BF16, tied) and its f32/ copy (tied matrix stored as lm_head.weight) ----
t=$tmp/t656.json
run_index "$data/tinystories-656k" "$t"
eq "656K n_tensors" "$(jget "$t" model/n_tensors)" 20
eq "656K n_params" "$(jget "$t" model/n_params)" 656000
eq "656K tied" "$(jget "$t" model/tied)" true
eq "656K num_layers" "$(jget "$t" model/num_layers)" 2
eq "656K dtypes" "$(rows "$t" dtype | sort -u)" BF16
eq "656K embed" "$(jget "$t" 'tensors/name=model.embed_tokens.weight/shape') $(jget "$t" 'tensors/name=model.embed_tokens.weight/role')" "[2048,128] embed"
eq "656K no lm_head" "$(rows "$t" name role | grep -c lm_head)" 0
eq "656K no stored_name" "$(grep -c stored_name "$t")" 0
eq "656K roles" "$(rows "$t" role | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')" \
    "attn_k=2 attn_o=2 attn_q=2 attn_v=2 embed=1 mlp_down=2 mlp_gate=2 mlp_up=2 norm=5 "
eq "656K down_proj.1" "$(rows "$t" name shape role layer | grep 'layers.1.mlp.down_proj')" \
    "model.layers.1.mlp.down_proj.weight	[128,384]	mlp_down	1"
f=$tmp/f32.json
run_index "$data/tinystories-656k/f32" "$f"
eq "f32 n_tensors" "$(jget "$f" model/n_tensors)" 20
eq "f32 tied" "$(jget "$f" model/tied)" true
eq "f32 dtypes" "$(rows "$f" dtype | sort -u)" F32
eq "f32 embed" "$(rows "$f" name shape role stored_name | grep embed_tokens)" \
    "model.embed_tokens.weight	[2048,128]	embed	lm_head.weight"
eq "f32 names" "$(rows "$f" name)" "$(rows "$t" name)"
eq "f32 roles/layers" "$(rows "$f" role layer expert)" "$(rows "$t" role layer expert)"
eq "f32 no lm_head name" "$(rows "$f" name | grep -c lm_head)" 0

# ---- synthetic models: sharding, families ----
# sharded Qwen3-MoE (BF16): same tensors and hashes as the unsharded model, files from the index
"$tool" model "$tmp/moe1" --family qwen3moe --dtype BF16 --layers 2 --experts 4
"$tool" model "$tmp/moe3" --family qwen3moe --dtype BF16 --layers 2 --experts 4 --shards 3
run_index "$tmp/moe1" "$tmp/moe1.json"
run_index "$tmp/moe3" "$tmp/moe3.json"
eq "moe shards" "$(jget "$tmp/moe3.json" model/files/#)" 3
eq "moe shard names" "$(rows "$tmp/moe3.json" file | sort -u | tr '\n' ' ')" \
    "model-00001-of-00003.safetensors model-00002-of-00003.safetensors model-00003-of-00003.safetensors "
eq "moe n_tensors" "$(jget "$tmp/moe3.json" model/n_tensors)" 44
eq "sharded == unsharded" "$(rows "$tmp/moe3.json" name dtype shape nbytes hash role layer expert)" \
    "$(rows "$tmp/moe1.json" name dtype shape nbytes hash role layer expert)"
eq "moe n_bytes" "$(jget "$tmp/moe3.json" model/n_bytes)" "$(jget "$tmp/moe1.json" model/n_bytes)"
eq "moe expert_up 1.3" "$(rows "$tmp/moe3.json" name role layer expert | grep 'layers.1.mlp.experts.3.up_proj')" \
    "model.layers.1.mlp.experts.3.up_proj.weight	expert_up	1	3"
eq "moe router" "$(rows "$tmp/moe3.json" name role layer expert | grep 'mlp.gate.weight' | cut -f2-)" "router	0	null
router	1	null"
eq "moe q_norm" "$(rows "$tmp/moe3.json" name role | grep -c 'q_norm.weight	norm')" 2
eq "moe roles" "$(rows "$tmp/moe3.json" role | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')" \
    "attn_k=2 attn_o=2 attn_q=2 attn_v=2 embed=1 expert_down=8 expert_gate=8 expert_up=8 norm=9 router=2 "
# each tensor's file is the shard the index names
"$tool" jrows "$tmp/moe3.json" tensors name file | while IFS=$'\t' read -r n fl; do
    grep -qF "\"$n\": \"$fl\"" "$tmp/moe3/model.safetensors.index.json" || echo "$n $fl"
done >"$tmp/badfile"
[ -s "$tmp/badfile" ] && bad "tensor files differ from the index: $(head -3 "$tmp/badfile")" || ok

# Mixtral (F16, untied): block_sparse_moe experts and router, lm_head
"$tool" model "$tmp/mix" --family mixtral --dtype F16 --layers 2 --experts 8 --untied --shards 2
run_index "$tmp/mix" "$tmp/mix.json"
eq "mixtral tied" "$(jget "$tmp/mix.json" model/tied)" false
eq "mixtral w2" "$(rows "$tmp/mix.json" name dtype role layer expert | grep 'layers.1.block_sparse_moe.experts.3.w2')" \
    "model.layers.1.block_sparse_moe.experts.3.w2.weight	F16	expert_down	1	3"
eq "mixtral w1/w3" "$(rows "$tmp/mix.json" name role | grep -cE 'experts\.[0-9]\.w1\.weight	expert_gate|experts\.[0-9]\.w3\.weight	expert_up')" 32
eq "mixtral router" "$(rows "$tmp/mix.json" name role layer | grep 'block_sparse_moe.gate.weight')" \
    "model.layers.0.block_sparse_moe.gate.weight	router	0
model.layers.1.block_sparse_moe.gate.weight	router	1"
eq "mixtral lm_head" "$(rows "$tmp/mix.json" name role layer | grep lm_head)" "lm_head.weight	lm_head	null"

# VLM-style names: language model layers get a layer, the vision tower does not
"$tool" model "$tmp/vlm" --family vlm --dtype BF16 --layers 6 --untied
run_index "$tmp/vlm" "$tmp/vlm.json"
eq "vlm num_layers (text_config)" "$(jget "$tmp/vlm.json" model/num_layers)" 6
eq "vlm q_proj.5" "$(rows "$tmp/vlm.json" name role layer | grep 'language_model.layers.5.self_attn.q_proj')" \
    "model.language_model.layers.5.self_attn.q_proj.weight	attn_q	5"
eq "vlm vision" "$(rows "$tmp/vlm.json" name role layer | grep 'vision_tower.encoder.layers.1.self_attn.q_proj')" \
    "model.vision_tower.encoder.layers.1.self_attn.q_proj.weight	vision	null"
eq "vlm vision/projector all vision" "$(rows "$tmp/vlm.json" name role layer | grep -E 'vision_tower|multi_modal' | grep -vc '	vision	null$')" 0
eq "vlm embed" "$(rows "$tmp/vlm.json" name role | grep embed_tokens)" "model.language_model.embed_tokens.weight	embed"

# Qwen2 (F32) biases; tied model stored as lm_head.weight only (F16)
"$tool" model "$tmp/q2" --family qwen2 --layers 1
run_index "$tmp/q2" "$tmp/q2.json"
eq "qwen2 bias" "$(rows "$tmp/q2.json" name shape role layer | grep 'k_proj.bias')" \
    "model.layers.0.self_attn.k_proj.bias	[16]	attn_k	0"
"$tool" model "$tmp/lmh" --dtype F16 --lm-head-only
run_index "$tmp/lmh" "$tmp/lmh.json"
eq "lm-head-only alias" "$(rows "$tmp/lmh.json" name role stored_name | grep -E 'embed|lm_head')" \
    "model.embed_tokens.weight	embed	lm_head.weight"
eq "lm-head-only count" "$(jget "$tmp/lmh.json" model/n_tensors)" 20

# many tensors (a large MoE's count, tiny shapes) across 8 shards: every one indexed, in name
# order (guards against quadratic lookups and ordering slips)
"$tool" model "$tmp/many" --family qwen3moe --experts 128 --layers 24 --hidden 16 --ffn 16 --shards 8
run_index "$tmp/many" "$tmp/many.json" --mk "$tmp/many.mk"
eq "many n_tensors" "$(jget "$tmp/many.json" model/n_tensors)" 9434
eq "many sorted" "$(rows "$tmp/many.json" name | LC_ALL=C sort -c && echo sorted)" sorted
eq "many mk" "$(grep -c '^MINT_TENSORS += ' "$tmp/many.mk")" 9434
eq "many experts" "$(rows "$tmp/many.json" role expert | grep -c '^expert_up	127$')" 24

# ---- usage ----
"$idx" --help >"$tmp/help" 2>"$tmp/help.err"; rc=$?
eq "--help exit" "$rc" 0
grep -q '^usage: mint-index' "$tmp/help" && ok || bad "--help prints no usage on stdout"
"$idx" --bogus >/dev/null 2>"$tmp/bogus.err"; rc=$?
eq "bad flag exit" "$rc" 2
grep -q '^usage: mint-index' "$tmp/bogus.err" && ok || bad "bad flag prints no usage on stderr"
"$idx" "$data/stories260K" >/dev/null 2>&1; eq "missing -o exit" "$?" 2

echo "checks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
