#!/usr/bin/env bash
# mint-merge: profile from index + rd/feature files; priors; MoE groups; every refusal.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C
BIN=${BIN:-$PWD/build/bin}
M=${MINT_ROOT:-$PWD}/tests/data/models
fail=0
check() { # description, command...
    local d=$1; shift
    if "$@"; then echo "ok   $d"; else echo "FAIL $d"; fail=1; fi
}
# expect_err EXIT_CODE MESSAGE command...: exit code, message on stderr, no output written
expect_err() {
    local code=$1 msg=$2; shift 2
    rm -f "$tmp/out.json"
    "$@" 2>"$tmp/err" >/dev/null; local rc=$?
    if [ "$rc" -eq "$code" ] && grep -qF -- "$msg" "$tmp/err" && [ ! -e "$tmp/out.json" ]; then
        echo "ok   exit $code: $msg"
    else
        echo "FAIL expected exit $code and '$msg', got $rc: $(cat "$tmp/err")"; fail=1
    fi
}
count() { grep -o -- "$1" "$2" | wc -l; }
# mkrd INDEX DIR [SCALE]: synthetic rd.json + feat.json for every tensor of INDEX into DIR
. "$(dirname "$0")/rdfix.sh"

# mkindex DIR TIED NUM_LAYERS < lines "name dtype d0xd1[x..] role layer|null expert|null":
# an index.json in mint-index's layout (indent 1, sorted keys, tensors sorted by name).
mkindex() {
    local out=$1/index.json
    sort -k1,1 | awk -v tied="$2" -v nl="$3" '
    BEGIN { printf "{\n \"model\": {\n  \"dir\": \"synthetic\",\n  \"num_layers\": %d,\n  \"tied\": %s\n },\n \"schema\": 1,\n \"tensors\": [\n", nl, tied }
    {
        n = split($3, d, "x"); h = ""
        cmd = "printf %s \"" $1 "\" | md5sum"; cmd | getline h; close(cmd); h = substr(h, 1, 32)
        if (NR > 1) printf "  },\n"
        printf "  {\n   \"dtype\": \"%s\",\n   \"expert\": %s,\n   \"hash\": \"%s\",\n   \"layer\": %s,\n   \"name\": \"%s\",\n   \"role\": \"%s\",\n   \"shape\": [\n", $2, $6, h, $5, $1, $4
        for (i = 1; i <= n; i++) printf "    %s%s\n", d[i], i < n ? "," : ""
        printf "   ]\n"
    }
    END { if (NR) printf "  }\n"; printf " ]\n}\n" }' > "$out"
}

"$BIN/mint-index" "$M/tinystories-656k" -o "$tmp/ts.json" -q || exit 1
mkdir "$tmp/ts"; mkrd "$tmp/ts.json" "$tmp/ts"

# --- usage
check "--help exits 0 with usage" bash -c "'$BIN/mint-merge' --help | grep -q '^usage: mint-merge'"
expect_err 2 "usage: mint-merge" "$BIN/mint-merge"
expect_err 2 "usage: mint-merge" "$BIN/mint-merge" "$tmp/ts.json"
expect_err 2 "usage: mint-merge" "$BIN/mint-merge" "$tmp/ts.json" -o "$tmp/out.json" --bogus
expect_err 2 "--agg 'median': expected mean or worst" "$BIN/mint-merge" "$tmp/ts.json" -o "$tmp/out.json" --agg median
expect_err 2 "priors '$tmp/nope.json'" "$BIN/mint-merge" "$tmp/ts.json" -o "$tmp/out.json" --priors "$tmp/nope.json"

# --- the bundled TinyStories-656K (tied, BF16, 2 layers)
P=$tmp/p.json
check "merge succeeds" "$BIN/mint-merge" "$tmp/ts.json" "$tmp"/ts/*.rd.json "$tmp"/ts/*.feat.json -o "$P" -q
check "20 tensors, 5 norms fixed 1-D" [ "$(count '"fixed_reason":"1-D"' "$P")" = 5 ]
check "tied embedding prior 10 (soft)" grep -q '"name":"model.embed_tokens.weight","options"' "$P"
check "one prior 10" [ "$(count '"prior":10.0' "$P")" = 1 ]
check "layer 0: prior 3 on its 7 matrices" [ "$(count '"prior":3.0' "$P")" = 7 ]
check "last layer: prior 2 on its 7 matrices" [ "$(count '"prior":2.0' "$P")" = 7 ]
check "norms: prior inf" [ "$(count '"prior":"inf"' "$P")" = 5 ]
check "features copied" [ "$(count '"stable_rank"' "$P")" = 20 ]
check "13 configurations + 16-bit recorded" grep -q '"configs":\["2:64","2:32","3:64","3:32","4:128","4:64","4:32","5:64","5:32","6:64","6:32","8:128","8:64","16"\]' "$P"
check "agg and priors recorded" grep -q '"agg":"mean".*"name":"soft"' "$P"
check "out dtype BF16" grep -q '"out_dtype":"BF16"' "$P"
check "mint-solve accepts it" "$BIN/mint-solve" "$P" --budget 4.5bpw -o "$tmp/a.json" -q

# @listfile (whitespace separated, any order) gives the same bytes
ls "$tmp"/ts/*.json | sort -r > "$tmp/list"
check "@listfile" "$BIN/mint-merge" "$tmp/ts.json" @"$tmp/list" -o "$tmp/p2.json" -q
check "same profile whatever the file order" cmp -s "$P" "$tmp/p2.json"
tr '\n' ' ' < "$tmp/list" > "$tmp/list1"
check "@listfile on one line" "$BIN/mint-merge" "$tmp/ts.json" @"$tmp/list1" -o "$tmp/p3.json" -q
check "same profile from a one-line list" cmp -s "$P" "$tmp/p3.json"
touch -d '2000-01-01 00:00:00' "$P"
"$BIN/mint-merge" "$tmp/ts.json" @"$tmp/list" -o "$P" -q
check "rerun leaves an identical profile untouched (mtime kept)" [ "$(date -r "$P" +%Y)" = 2000 ]

# --agg worst, mint-code priors (embedding fixed; its rd file then optional)
check "--agg worst" "$BIN/mint-merge" "$tmp/ts.json" "$tmp"/ts/*.rd.json -o "$tmp/pw.json" -q --agg worst
check "agg worst recorded" grep -q '"agg":"worst"' "$tmp/pw.json"
mkdir "$tmp/ts2"; cp "$tmp"/ts/*.rd.json "$tmp/ts2/"; rm "$tmp/ts2/model.embed_tokens.weight.rd.json"
expect_err 1 "tensor 'model.embed_tokens.weight': no rd file" "$BIN/mint-merge" "$tmp/ts.json" "$tmp"/ts2/*.rd.json -o "$tmp/out.json"
check "mint-code: no rd needed for the embedding" "$BIN/mint-merge" "$tmp/ts.json" "$tmp"/ts2/*.rd.json -o "$tmp/pc.json" -q --priors mint-code
check "mint-code: embedding fixed by its prior" grep -q '"fixed":true,"fixed_reason":"prior","group_key":"model.embed_tokens.weight"' "$tmp/pc.json"
printf '{"base":"soft","embed":4,"lm_head":3,"roles":{"attn_v":"inf"}}\n' > "$tmp/pri.json"
check "user priors file" "$BIN/mint-merge" "$tmp/ts.json" "$tmp"/ts/*.rd.json -o "$tmp/pu.json" -q --priors "$tmp/pri.json"
check "user priors: tied embedding max(embed 4, lm_head 3)" [ "$(count '"prior":4.0' "$tmp/pu.json")" = 1 ]
check "user priors: attn_v of layer 0 keeps 3, none in the middle" [ "$(count '"prior":"inf"' "$tmp/pu.json")" = 5 ]
printf '{"embedd":4}\n' > "$tmp/pri2.json"
expect_err 2 "unknown key 'embedd'" "$BIN/mint-merge" "$tmp/ts.json" "$tmp"/ts/*.rd.json -o "$tmp/out.json" --priors "$tmp/pri2.json"

# --- refusals, each naming the file and tensor; no output written
rd=$tmp/ts/model.layers.0.self_attn.q_proj.weight.rd.json
mkdir "$tmp/bad"
cp "$tmp"/ts/*.rd.json "$tmp/bad/"; rm "$tmp/bad/model.layers.1.mlp.up_proj.weight.rd.json"
expect_err 1 "tensor 'model.layers.1.mlp.up_proj.weight': no rd file" "$BIN/mint-merge" "$tmp/ts.json" "$tmp"/bad/*.rd.json -o "$tmp/out.json"
sed 's/"hash":"[0-9a-f]*"/"hash":"00000000000000000000000000000000"/' "$rd" > "$tmp/h.json"
expect_err 1 "$tmp/h.json: tensor 'model.layers.0.self_attn.q_proj.weight': hash 00000000000000000000000000000000 does not match the index" "$BIN/mint-merge" "$tmp/ts.json" "$tmp/h.json" -o "$tmp/out.json"
cp "$rd" "$tmp/dup.json"
expect_err 1 "$tmp/dup.json: second rd file for tensor 'model.layers.0.self_attn.q_proj.weight' (first: $rd)" "$BIN/mint-merge" "$tmp/ts.json" "$tmp"/ts/*.rd.json "$tmp/dup.json" -o "$tmp/out.json"
cp "$tmp/ts/model.layers.0.self_attn.q_proj.weight.feat.json" "$tmp/dupf.json"
expect_err 1 "second feature file for tensor 'model.layers.0.self_attn.q_proj.weight'" "$BIN/mint-merge" "$tmp/ts.json" "$tmp"/ts/*.json "$tmp/dupf.json" -o "$tmp/out.json"
sed 's/{"bits":4,"group":32,[^}]*},//' "$rd" > "$tmp/cfg.json"
cp "$tmp"/ts/*.rd.json "$tmp/bad/"; cp "$tmp/cfg.json" "$tmp/bad/model.layers.0.self_attn.q_proj.weight.rd.json"
expect_err 1 "tensor 'model.layers.0.self_attn.q_proj.weight': configuration set differs from" "$BIN/mint-merge" "$tmp/ts.json" "$tmp"/bad/*.rd.json -o "$tmp/out.json"
sed 's/"bytes":8704,/"bytes":8000,/' "$rd" > "$tmp/bytes.json"
expect_err 1 "$tmp/bytes.json: tensor 'model.layers.0.self_attn.q_proj.weight': config 4:128: bytes 8000, expected 8704" "$BIN/mint-merge" "$tmp/ts.json" "$tmp/bytes.json" -o "$tmp/out.json"
sed 's/"tensor":"model.layers.0.self_attn.q_proj.weight"/"tensor":"model.layers.9.self_attn.q_proj.weight"/' "$rd" > "$tmp/ghost.json"
expect_err 1 "$tmp/ghost.json: tensor 'model.layers.9.self_attn.q_proj.weight' is not in the index" "$BIN/mint-merge" "$tmp/ts.json" "$tmp/ghost.json" -o "$tmp/out.json"
sed 's/"out_dtype":"BF16"/"out_dtype":"F16"/' "$rd" > "$tmp/odt.json"
expect_err 1 "out_dtype F16 differs from the model's BF16" "$BIN/mint-merge" "$tmp/ts.json" "$tmp/odt.json" -o "$tmp/out.json"
sed 's/"shape":\[128,128\]/"shape":[128,64]/' "$rd" > "$tmp/shape.json"
expect_err 1 "shape differs from the index" "$BIN/mint-merge" "$tmp/ts.json" "$tmp/shape.json" -o "$tmp/out.json"
sed 's/"schema":1/"schema":2/' "$rd" > "$tmp/schema.json"
expect_err 1 "$tmp/schema.json: schema 2 (expected 1)" "$BIN/mint-merge" "$tmp/ts.json" "$tmp/schema.json" -o "$tmp/out.json"
sed 's/{"bits":16,"group":0,"available":true/{"bits":16,"group":0,"available":false/' "$rd" > "$tmp/no16.json"
expect_err 1 "16-bit config marked unavailable" "$BIN/mint-merge" "$tmp/ts.json" "$tmp/no16.json" -o "$tmp/out.json"
expect_err 1 "$tmp/missing.json: No such file" "$BIN/mint-merge" "$tmp/ts.json" "$tmp/missing.json" -o "$tmp/out.json"
echo '{"schema":1,' > "$tmp/trunc.json"
expect_err 1 "$tmp/trunc.json:" "$BIN/mint-merge" "$tmp/ts.json" "$tmp/trunc.json" -o "$tmp/out.json"
expect_err 1 "list file: $tmp/nolist: No such file" "$BIN/mint-merge" "$tmp/ts.json" @"$tmp/nolist" -o "$tmp/out.json"

# --- stories260K: down_proj (172 columns) has only 16-bit: fixed "unavailable"
"$BIN/mint-index" "$M/stories260K" -o "$tmp/s.json" -q || exit 1
mkdir "$tmp/s"; mkrd "$tmp/s.json" "$tmp/s"
check "stories260K merges" "$BIN/mint-merge" "$tmp/s.json" "$tmp"/s/*.rd.json -o "$tmp/ps.json" -q
check "5 down_proj unavailable" [ "$(count '"fixed_reason":"unavailable"' "$tmp/ps.json")" = 5 ]
check "prior 3 on layer 0 (5 layers)" [ "$(count '"prior":3.0' "$tmp/ps.json")" = 7 ]

# --- the F32 copy: tied matrix stored as lm_head.weight, read as the embedding; out BF16
"$BIN/mint-index" "$M/tinystories-656k/f32" -o "$tmp/f.json" -q || exit 1
mkdir "$tmp/f"; mkrd "$tmp/f.json" "$tmp/f"
check "f32 merges" "$BIN/mint-merge" "$tmp/f.json" "$tmp"/f/*.rd.json -o "$tmp/pf.json" -q
check "f32: out dtype BF16" grep -q '"out_dtype":"BF16"' "$tmp/pf.json"

# --- a synthetic MoE: experts grouped per layer x projection, rotary tables not written
moe() {
    for l in 0 1; do
        for e in 0 1 2 3; do
            echo "model.layers.$l.mlp.experts.$e.gate_proj.weight BF16 64x128 expert_gate $l $e"
            echo "model.layers.$l.mlp.experts.$e.up_proj.weight BF16 64x128 expert_up $l $e"
            echo "model.layers.$l.mlp.experts.$e.down_proj.weight BF16 128x64 expert_down $l $e"
        done
        echo "model.layers.$l.mlp.gate.weight BF16 4x128 router $l null"
        echo "model.layers.$l.self_attn.q_proj.weight BF16 128x128 attn_q $l null"
        echo "model.layers.$l.self_attn.rotary_emb.inv_freq F32 32 other $l null"
        echo "model.layers.$l.input_layernorm.weight BF16 128 norm $l null"
    done
    echo "model.embed_tokens.weight BF16 256x128 embed null null"
    echo "lm_head.weight BF16 256x128 lm_head null null"
    echo "model.norm.weight BF16 128 norm null null"
}
mkdir "$tmp/moe"; moe | mkindex "$tmp/moe" false 2; mkrd "$tmp/moe/index.json" "$tmp/moe"
Q=$tmp/moe/p.json
check "MoE merges" "$BIN/mint-merge" "$tmp/moe/index.json" "$tmp"/moe/*.rd.json -o "$Q" -q
check "4 experts share a group key" [ "$(count '"group_key":"model.layers.1.mlp.experts.\*.down_proj.weight"' "$Q")" = 4 ]
check "6 expert groups" [ "$(grep -o '"group_key":"[^"]*experts[^"]*"' "$Q" | sort -u | wc -l)" = 6 ]
check "stacked MLX names" [ "$(count '"mlx_name":"model.layers.0.mlp.switch_mlp.up_proj.weight"' "$Q")" = 4 ]
check "rotary inv_freq not written" [ "$(count '"dropped":true' "$Q")" = 2 ]
check "router prior 8" [ "$(count '"prior":8.0' "$Q")" = 2 ]
check "solve on the MoE" "$BIN/mint-solve" "$Q" --budget 4bpw -o "$tmp/moe/a.json" -q
check "one configuration per expert group" [ "$(grep -A3 'experts.[0-9].up_proj' "$tmp/moe/a.json" | grep -c '"bits"')" -gt 0 ]
mkdir "$tmp/moe2"; moe | grep -v 'layers.1.mlp.experts.2.up_proj' | mkindex "$tmp/moe2" false 2; mkrd "$tmp/moe2/index.json" "$tmp/moe2"
expect_err 1 "group 'model.layers.1.mlp.experts.*.up_proj.weight': expert indices must be 0..2 without gaps" "$BIN/mint-merge" "$tmp/moe2/index.json" "$tmp"/moe2/*.rd.json -o "$tmp/out.json"
mkdir "$tmp/moe3"; moe | sed 's/experts.3.up_proj.weight BF16 64x128/experts.3.up_proj.weight BF16 32x128/' | mkindex "$tmp/moe3" false 2; mkrd "$tmp/moe3/index.json" "$tmp/moe3"
expect_err 1 "differ in shape" "$BIN/mint-merge" "$tmp/moe3/index.json" "$tmp"/moe3/*.rd.json -o "$tmp/out.json"
# a tied model that also stores lm_head: not written, needs no rd file
mkdir "$tmp/tied"; moe | mkindex "$tmp/tied" true 2; mkrd "$tmp/tied/index.json" "$tmp/tied"
rm "$tmp/tied/lm_head.weight.rd.json"
check "tied: lm_head not written" "$BIN/mint-merge" "$tmp/tied/index.json" "$tmp"/tied/*.rd.json -o "$tmp/tied/p.json" -q
check "tied: 3 dropped" [ "$(count '"dropped":true' "$tmp/tied/p.json")" = 3 ]
# the same run under ASan/UBSan (leaks included) when the sanitizer build exists
if [ -n "${SANBIN:-}" ] && [ -x "$SANBIN/mint-merge" ]; then
    check "sanitizer: merge" "$SANBIN/mint-merge" "$tmp/moe/index.json" "$tmp"/moe/*.rd.json -o "$tmp/san.json" -q
    check "sanitizer: same bytes" cmp -s "$tmp/san.json" "$Q"
    expect_err 1 "differ in shape" "$SANBIN/mint-merge" "$tmp/moe3/index.json" "$tmp"/moe3/*.rd.json -o "$tmp/out.json"
fi
exit $fail
