#!/usr/bin/env bash
# mint-feature: both bundled models, seed determinism, stacked experts, norms, errors, flags.
set -u
export LC_ALL=C OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$MINT_ROOT" || exit 1
F=$BIN/mint-feature
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# value of a top-level key in a canonical feat.json (one key per line)
val() { sed -n "s/^ \"$2\": \(.*\)$/\1/p" "$1" | sed 's/,$//'; }
expect() { # file key value
    local got; got=$(val "$1" "$2"); [ "$got" = "$3" ] || fail "$1: $2 = '$got', want '$3'"
}
notnull() { local got; got=$(val "$1" "$2"); { [ -n "$got" ] && [ "$got" != null ]; } || fail "$1: $2 is '$got'"; }
# run a failing command: exit code, message on stderr, no output file
expect_err() { # code pattern out cmd...
    local code=$1 pat=$2 out=$3; shift 3
    "$@" >"$tmp/stdout" 2>"$tmp/stderr"; local rc=$?
    [ $rc -eq "$code" ] || fail "$*: exit $rc, want $code ($(cat "$tmp/stderr"))"
    grep -q -- "$pat" "$tmp/stderr" || fail "$*: stderr lacks '$pat': $(cat "$tmp/stderr")"
    [ -z "$out" ] || [ ! -e "$out" ] || fail "$*: left $out behind"
}

S=tests/data/models/stories260K T=tests/data/models/tinystories-656k
$BIN/mint-index $S -o "$tmp/s.json" -q || exit 1
$BIN/mint-index $T -o "$tmp/t.json" -q || exit 1
$BIN/mint-index $T/f32 -o "$tmp/t32.json" -q || exit 1

# --help and usage
$F --help >"$tmp/help" 2>&1 || fail "--help exit $?"
grep -q '^usage: mint-feature INDEX TENSOR -o' "$tmp/help" || fail "--help text"
expect_err 2 '^usage: mint-feature' "" $F --bogus "$tmp/s.json" model.norm.weight -o "$tmp/x.json"
expect_err 2 '^usage: mint-feature' "" $F "$tmp/s.json" model.norm.weight
expect_err 2 '^usage: mint-feature' "" $F "$tmp/s.json" -o "$tmp/x.json"
expect_err 2 '--rank' "$tmp/x.json" $F "$tmp/s.json" model.norm.weight -o "$tmp/x.json" --rank 0
expect_err 2 '--seed' "$tmp/x.json" $F "$tmp/s.json" model.norm.weight -o "$tmp/x.json" --seed -1

# every stories260K tensor (all 64 or 172 wide: exact SVD path)
n=0
for t in $(sed -n 's/^   "name": "\(.*\)",$/\1/p' "$tmp/s.json"); do
    $F "$tmp/s.json" "$t" -o "$tmp/s-$t.json" -q || fail "$t: exit $?"
    expect "$tmp/s-$t.json" schema 1
    n=$((n + 1))
done
[ $n -eq 47 ] || fail "stories260K: $n tensors, want 47"
q=$tmp/s-model.layers.0.self_attn.q_proj.weight.json
expect "$q" svd '"exact"'; expect "$q" k_eff 64; expect "$q" ref_config '"4:64"'
expect "$q" norm '"model.layers.0.input_layernorm.weight"'
for k in stable_rank tail_mass log_cond kurt_p90 kurt_p99_p50 outlier_frac noise_delta noise_amp nrmse_ref; do
    notnull "$q" $k
done
expect "$tmp/s-model.layers.0.mlp.up_proj.weight.json" norm '"model.layers.0.post_attention_layernorm.weight"'
expect "$tmp/s-model.layers.0.self_attn.o_proj.weight.json" norm null
d=$tmp/s-model.layers.0.mlp.down_proj.weight.json # cols 172: no quantized reference
expect "$d" ref_config null; expect "$d" noise_amp null; expect "$d" nrmse_ref null
expect "$d" k_eff 64; notnull "$d" stable_rank; notnull "$d" kurt_p90
e=$tmp/s-model.embed_tokens.weight.json # tied: the output head, fed by model.norm
expect "$e" norm '"model.norm.weight"'; expect "$e" k_eff 64
v=$tmp/s-model.norm.weight.json # 1-D: kurtosis only
expect "$v" stable_rank null; expect "$v" sigma null; expect "$v" noise_delta null
expect "$v" norm null; notnull "$v" kurt_p90
grep -q '"per_slice"' "$q" && fail "2-D tensor has per_slice"

# tinystories-656k: tied 2048x128 embedding; the F32 copy gives the same deterministic features
$F "$tmp/t.json" model.embed_tokens.weight -o "$tmp/te.json" -q || fail "656k embed exit $?"
$F "$tmp/t32.json" model.embed_tokens.weight -o "$tmp/te32.json" -q || fail "656k f32 embed exit $?"
expect "$tmp/te.json" shape "["; expect "$tmp/te.json" k_eff 128; expect "$tmp/te.json" svd '"exact"'
expect "$tmp/te.json" norm '"model.norm.weight"'; expect "$tmp/te32.json" norm '"model.norm.weight"'
for k in stable_rank tail_mass log_cond kurt_p90 kurt_p99_p50 outlier_frac nrmse_ref ref_config; do
    [ "$(val "$tmp/te.json" $k)" = "$(val "$tmp/te32.json" $k)" ] || fail "BF16 vs F32 copy: $k differs"
done
[ "$(sed -n '/^ "sigma": \[/,/\]/p' "$tmp/te.json" | grep -c '^  [0-9]')" -eq 128 ] || fail "656k embed: sigma has not 128 values"

# --seed determinism (randomized path via --rank 16 on 2048x128), any BLAS thread setting
r() { $F "$tmp/t.json" model.embed_tokens.weight --rank 16 -q "$@"; }
r --seed 5 -o "$tmp/r1.json" || fail "rank 16 exit $?"
OPENBLAS_NUM_THREADS=2 r --seed 5 -o "$tmp/r2.json" || fail "rank 16 exit $?"
r --seed 6 -o "$tmp/r3.json" || fail "rank 16 exit $?"
expect "$tmp/r1.json" svd '"randomized"'; expect "$tmp/r1.json" k_eff 16; expect "$tmp/r1.json" rank 16
cmp -s "$tmp/r1.json" "$tmp/r2.json" || fail "same seed, different bytes"
cmp -s "$tmp/r1.json" "$tmp/r3.json" && fail "different seed, same bytes"
[ "$(val "$tmp/r1.json" noise_delta)" != "$(val "$tmp/r3.json" noise_delta)" ] || fail "seed does not reach the probes"
expect "$tmp/r3.json" seed 6
# an unchanged result keeps its file (write-if-changed)
touch -d '2000-01-01' "$tmp/r1.json"; r --seed 5 -o "$tmp/r1.json"
[ "$(stat -c %Y "$tmp/r1.json")" -lt 1000000000 ] || fail "unchanged output was rewritten"

# --norm none / explicit / missing
k=model.layers.1.self_attn.k_proj.weight
$F "$tmp/t.json" $k -o "$tmp/n0.json" -q --norm none || fail "--norm none exit $?"
expect "$tmp/n0.json" norm null
$F "$tmp/t.json" $k -o "$tmp/n1.json" -q --norm model.norm.weight || fail "--norm NAME exit $?"
expect "$tmp/n1.json" norm '"model.norm.weight"'
expect_err 1 "norm 'model.nope.weight' not in the model" "$tmp/n2.json" \
    $F "$tmp/t.json" $k -o "$tmp/n2.json" --norm model.nope.weight

# errors: unknown tensor, hash mismatch (byte-flipped copy), unsupported dtype, non-finite
expect_err 1 '^mint-feature: model.nope.weight: not in the index' "$tmp/u.json" \
    $F "$tmp/s.json" model.nope.weight -o "$tmp/u.json"
expect_err 1 'none.json: No such file' "$tmp/u.json" $F "$tmp/none.json" model.norm.weight -o "$tmp/u.json"
cp -r $T "$tmp/m"
$BIN/mint-index "$tmp/m" -o "$tmp/m.json" -q || exit 1
off=$(grep -A12 '"name": "model.layers.0.self_attn.q_proj.weight"' "$tmp/m.json" | sed -n 's/.*"offset": \([0-9]*\).*/\1/p')
[ -n "$off" ] || fail "no offset"
"$TOOLBIN/mint-testtool" flip "$tmp/m/model.safetensors" $((off + 100)) || fail "flip"
expect_err 1 '^mint-feature: model.layers.0.self_attn.q_proj.weight: content hash differs from the index$' "$tmp/h.json" \
    $F "$tmp/m.json" model.layers.0.self_attn.q_proj.weight -o "$tmp/h.json"
$F "$tmp/m.json" model.layers.0.self_attn.k_proj.weight -o "$tmp/h2.json" -q || fail "unflipped tensor of the copy: exit $?"

# a hand-made model: stacked experts [2, 8, 64] BF16, an I32 tensor, a NaN, a short norm
mkdir -p "$tmp/x"
le64() { for i in 0 1 2 3 4 5 6 7; do printf "\\$(printf '%03o' $(( ($1 >> (8 * i)) & 255 )))"; done; }
bf16() { awk -v n="$1" -v s="$2" 'BEGIN{srand(s); for(i=0;i<n;i++){printf "%c", int(rand()*256); printf "%c", (rand()<0.5?63:191)}}'; }
ones() { awk -v n="$1" 'BEGIN{for(i=0;i<n;i++) printf "%c%c", 128, 63}'; }
hdr='{"model.layers.0.mlp.switch_mlp.gate_proj.weight":{"dtype":"BF16","shape":[2,8,64],"data_offsets":[0,2048]},'
hdr+='"model.layers.0.post_attention_layernorm.weight":{"dtype":"BF16","shape":[64],"data_offsets":[2048,2176]},'
hdr+='"model.layers.0.self_attn.q_proj.weight":{"dtype":"I32","shape":[2,4],"data_offsets":[2176,2208]},'
hdr+='"model.layers.0.self_attn.k_proj.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[2208,2240]},'
hdr+='"model.layers.0.self_attn.v_proj.weight":{"dtype":"BF16","shape":[4,32],"data_offsets":[2240,2496]}}'
while [ $(( ${#hdr} % 8 )) -ne 0 ]; do hdr+=' '; done
{
    le64 ${#hdr}; printf '%s' "$hdr"
    bf16 1024 1; ones 64; head -c 32 /dev/zero
    head -c 12 /dev/zero; printf '\000\000\300\177'; head -c 16 /dev/zero   # element 3 is NaN
    bf16 128 2
} >"$tmp/x/model.safetensors"
echo '{"num_hidden_layers": 1, "tie_word_embeddings": false}' >"$tmp/x/config.json"
$BIN/mint-index "$tmp/x" -o "$tmp/x.json" -q || fail "hand-made model: mint-index exit $?"
g=$tmp/xg.json
$F "$tmp/x.json" model.layers.0.mlp.switch_mlp.gate_proj.weight -o "$g" -q || fail "stacked exit $?"
expect "$g" norm '"model.layers.0.post_attention_layernorm.weight"'
expect "$g" svd '"exact"'; expect "$g" k_eff 8; expect "$g" ref_config '"4:64"'; expect "$g" sigma null
grep -q '^ "per_slice": {' "$g" || fail "stacked: no per_slice"
[ "$(sed -n '/"stable_rank": \[/,/\]/p' "$g" | grep -c '^   [0-9]')" -eq 2 ] || fail "stacked: per_slice.stable_rank has not 2 values"
notnull "$g" stable_rank; notnull "$g" noise_amp; notnull "$g" kurt_p90
expect_err 1 'model.layers.0.self_attn.q_proj.weight: unsupported dtype I32' "$tmp/y.json" \
    $F "$tmp/x.json" model.layers.0.self_attn.q_proj.weight -o "$tmp/y.json"
expect_err 1 'model.layers.0.self_attn.k_proj.weight: non-finite value at element 3' "$tmp/y.json" \
    $F "$tmp/x.json" model.layers.0.self_attn.k_proj.weight -o "$tmp/y.json"
expect_err 1 "norm 'model.layers.0.post_attention_layernorm.weight' is not a float vector of length 32" "$tmp/y.json" \
    $F "$tmp/x.json" model.layers.0.self_attn.v_proj.weight -o "$tmp/y.json" --norm model.layers.0.post_attention_layernorm.weight
# auto: the missing input_layernorm means gamma = 1, with a note
$F "$tmp/x.json" model.layers.0.self_attn.v_proj.weight -o "$tmp/y.json" 2>"$tmp/stderr" || fail "v_proj exit $?"
grep -q "note: norm 'model.layers.0.input_layernorm.weight' not in the model" "$tmp/stderr" || fail "no note for a missing norm"
expect "$tmp/y.json" norm null; expect "$tmp/y.json" ref_config '"4:32"'

# the sanitizer build on one tensor of each path
if [ -x "$SANBIN/mint-feature" ]; then
    $SANBIN/mint-feature "$tmp/t.json" model.embed_tokens.weight --rank 16 --seed 5 -o "$tmp/san.json" -q || fail "san exit $?"
    cmp -s "$tmp/r1.json" "$tmp/san.json" || fail "sanitizer build gives other bytes"
    $SANBIN/mint-feature "$tmp/x.json" model.layers.0.mlp.switch_mlp.gate_proj.weight -o "$tmp/san2.json" -q || fail "san stacked exit $?"
fi

[ $fails -eq 0 ] && echo "ok" || { echo "$fails failures"; exit 1; }
