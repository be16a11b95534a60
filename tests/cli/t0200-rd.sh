#!/usr/bin/env bash
# mint-rd: both bundled models (F32, BF16 and its F32 copy), availability (172 columns, 1-D),
# norms, --configs/--quantizer/--dtype, --dump, stacked experts, errors, flags.
set -u
export LC_ALL=C OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$MINT_ROOT" || exit 1
R=$BIN/mint-rd
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# value of a top-level key in a canonical rd.json (one key per line, 1-space indent)
val() { sed -n "s/^ \"$2\": \(.*\)$/\1/p" "$1" | sed 's/,$//'; }
expect() { local got; got=$(val "$1" "$2"); [ "$got" = "$3" ] || fail "$1: $2 = '$got', want '$3'"; }
# the values of a per-configuration key, one line per configuration, in order
cval() { sed -n "s/^   \"$2\": \(.*\)$/\1/p" "$1" | sed 's/,$//'; }
ncfg() { grep -c '^   "available"' "$1"; }
# configuration i (1-based) of key
ci() { cval "$1" "$2" | sed -n "${3}p"; }
expect_err() { # code pattern out cmd...
    local code=$1 pat=$2 out=$3; shift 3
    "$@" >"$tmp/stdout" 2>"$tmp/stderr"; local rc=$?
    [ $rc -eq "$code" ] || fail "$*: exit $rc, want $code ($(cat "$tmp/stderr"))"
    grep -q -- "$pat" "$tmp/stderr" || fail "$*: stderr lacks '$pat': $(cat "$tmp/stderr")"
    [ -z "$out" ] || [ ! -e "$out" ] || fail "$*: left $out behind"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a + 0 >= b + 0)}'; }

S=tests/data/models/stories260K T=tests/data/models/tinystories-656k
$BIN/mint-index $S -o "$tmp/s.json" -q || exit 1
$BIN/mint-index $T -o "$tmp/t.json" -q || exit 1
$BIN/mint-index $T/f32 -o "$tmp/t32.json" -q || exit 1

# --help and usage
$R --help >"$tmp/help" 2>&1 || fail "--help exit $?"
grep -q '^usage: mint-rd INDEX TENSOR -o rd.json' "$tmp/help" || fail "--help text"
N=model.norm.weight
expect_err 2 '^usage: mint-rd' "" $R --bogus "$tmp/s.json" $N -o "$tmp/x.json"
expect_err 2 '^usage: mint-rd' "" $R "$tmp/s.json" $N
expect_err 2 '^usage: mint-rd' "" $R "$tmp/s.json" -o "$tmp/x.json"
for bad in 7:64 4:48 4:64,4:64 16:64 4 '' 4:64, x; do
    expect_err 2 "bad --configs '$bad'" "$tmp/x.json" $R "$tmp/s.json" $N -o "$tmp/x.json" --configs "$bad"
done
expect_err 2 'quantizer must be' "$tmp/x.json" $R "$tmp/s.json" $N -o "$tmp/x.json" --quantizer gptq
expect_err 2 'dtype must be' "$tmp/x.json" $R "$tmp/s.json" $N -o "$tmp/x.json" --dtype f32
expect_err 2 'go together' "$tmp/x.json" $R "$tmp/s.json" $N -o "$tmp/x.json" --dump 4:64
expect_err 2 "bad --dump '4:64,3:64'" "$tmp/x.json" $R "$tmp/s.json" $N -o "$tmp/x.json" --dump 4:64,3:64 --dump-out "$tmp/d"

# every stories260K tensor (F32): runs, 14 configurations in byte order
n=0
for t in $(sed -n 's/^   "name": "\(.*\)",$/\1/p' "$tmp/s.json"); do
    $R "$tmp/s.json" "$t" -o "$tmp/s-$t.json" -q || fail "$t: exit $?"
    [ "$(ncfg "$tmp/s-$t.json")" -eq 14 ] || fail "$t: not 14 configurations"
    n=$((n + 1))
done
[ $n -eq 47 ] || fail "stories260K: $n tensors, want 47"
d=$tmp/s-model.layers.0.mlp.down_proj.weight.json # [64, 172]: only 16-bit
expect "$d" dtype '"F32"'; expect "$d" out_dtype '"BF16"'; expect "$d" params 11008
expect "$d" norm null; expect "$d" experts null; expect "$d" quantizer '"mlx"'; expect "$d" schema 1
[ "$(cval "$d" available | sort | uniq -c | tr -s ' ')" = " 13 false
 1 true" ] || fail "down_proj: availability $(cval "$d" available | tr '\n' ' ')"
[ "$(ci "$d" bytes 14)" = 22016 ] || fail "down_proj: 16-bit bytes $(ci "$d" bytes 14)"
[ "$(ci "$d" bytes 1)" = null ] && [ "$(ci "$d" nrmse 1)" = null ] || fail "down_proj: unavailable metrics not null"
grep -q '"reason": "group 64 does not divide 172 columns"' "$d" || fail "down_proj: reason"
db=$(ci "$d" sqnr_db 14)
ge "$db" 45 && ge 62 "$db" || fail "down_proj: F32->BF16 16-bit SQNR $db dB, want about 50-55"
q=$tmp/s-model.layers.0.self_attn.q_proj.weight.json # [64, 64]
expect "$q" norm '"model.layers.0.input_layernorm.weight"'
[ "$(cval "$q" available | grep -c true)" -eq 12 ] || fail "q_proj: 12 available (no 4:128, 8:128)"
[ "$(cval "$q" bytes | grep -v null | tr '\n' ' ')" = "1280 1536 1792 2048 2304 2560 2816 3072 3328 3584 4352 8192 " ] ||
    fail "q_proj bytes: $(cval "$q" bytes | tr '\n' ' ')"
[ "$(cval "$q" nrmse_w | grep -c .)" -eq 14 ] || fail "q_proj: nrmse_w per configuration"
ge "$(ci "$q" sqnr_db 14)" "$(ci "$q" sqnr_db 13)" && ge "$(ci "$q" sqnr_db 13)" "$(ci "$q" sqnr_db 1)" ||
    fail "q_proj: SQNR not rising with bytes"
expect "$tmp/s-model.layers.0.mlp.up_proj.weight.json" norm '"model.layers.0.post_attention_layernorm.weight"'
expect "$tmp/s-model.layers.0.mlp.gate_proj.weight.json" norm '"model.layers.0.post_attention_layernorm.weight"'
o=$tmp/s-model.layers.0.self_attn.o_proj.weight.json
expect "$o" norm null; grep -q nrmse_w "$o" && fail "o_proj: nrmse_w without a norm"
expect "$tmp/s-model.embed_tokens.weight.json" norm '"model.norm.weight"' # tied: the output head
v=$tmp/s-$N.json # 1-D: 16-bit only
[ "$(cval "$v" available | grep -c true)" -eq 1 ] && grep -q '"reason": "1-D tensor"' "$v" || fail "1-D: 16-bit only"
# F16 output keeps 3 more mantissa bits than BF16: about 18 dB more
$R "$tmp/s.json" model.layers.0.self_attn.q_proj.weight -o "$tmp/qf16.json" -q --dtype f16 || fail "--dtype f16 exit $?"
expect "$tmp/qf16.json" out_dtype '"F16"'
ge "$(ci "$tmp/qf16.json" sqnr_db 14)" "$(awk -v a="$(ci "$q" sqnr_db 14)" 'BEGIN{print a + 12}')" ||
    fail "F16 16-bit SQNR $(ci "$tmp/qf16.json" sqnr_db 14) not ~18 dB above BF16 $(ci "$q" sqnr_db 14)"

# tinystories-656k BF16: 16-bit exact; the F32 copy (exact widening) measures identically
for t in model.embed_tokens.weight model.layers.1.self_attn.q_proj.weight model.layers.1.mlp.down_proj.weight; do
    $R "$tmp/t.json" $t -o "$tmp/b-$t.json" -q || fail "656k $t: exit $?"
    $R "$tmp/t32.json" $t -o "$tmp/f-$t.json" -q || fail "656k f32 $t: exit $?"
    expect "$tmp/b-$t.json" out_dtype '"BF16"'; expect "$tmp/f-$t.json" out_dtype '"BF16"'
    [ "$(ci "$tmp/b-$t.json" nrmse 14)" = 0.0 ] && [ "$(ci "$tmp/b-$t.json" sqnr_db 14)" = 100.0 ] ||
        fail "656k $t: BF16 16-bit error not 0"
    [ "$(cval "$tmp/b-$t.json" available | grep -c true)" -eq 14 ] || fail "656k $t: not all available"
    diff <(grep -v '^ "dtype"\|^ "hash"' "$tmp/b-$t.json") <(grep -v '^ "dtype"\|^ "hash"' "$tmp/f-$t.json") >/dev/null ||
        fail "656k $t: F32 copy measures differently"
done
e=$tmp/b-model.embed_tokens.weight.json
expect "$e" norm '"model.norm.weight"'; expect "$e" shape '['; expect "$e" params 262144
[ "$(ci "$e" bytes 6)" = 147456 ] || fail "embed 4:64 bytes $(ci "$e" bytes 6)"
ge "$(ci "$e" sqnr_db 3)" 9 || fail "embed 3:64 below 9 dB"

# --configs order, --quantizer minmax, --norm none / NAME / missing
k=model.layers.1.self_attn.k_proj.weight
$R "$tmp/t.json" $k -o "$tmp/c.json" -q --configs 4:64,2:32,16 || fail "--configs exit $?"
[ "$(cval "$tmp/c.json" bits | tr '\n' ' ')" = "4 2 16 " ] && [ "$(cval "$tmp/c.json" group | tr '\n' ' ')" = "64 32 0 " ] ||
    fail "--configs order: $(cval "$tmp/c.json" bits | tr '\n' ' ')"
$R "$tmp/t.json" $k -o "$tmp/mm.json" -q --configs 4:64 --quantizer minmax || fail "minmax exit $?"
expect "$tmp/mm.json" quantizer '"minmax"'
[ "$(ci "$tmp/mm.json" nrmse 1)" != "$(ci "$tmp/c.json" nrmse 1)" ] || fail "minmax equals mlx"
$R "$tmp/t.json" $k -o "$tmp/n0.json" -q --norm none || fail "--norm none exit $?"
expect "$tmp/n0.json" norm null; grep -q nrmse_w "$tmp/n0.json" && fail "--norm none: nrmse_w"
$R "$tmp/t.json" $k -o "$tmp/n1.json" -q --norm model.norm.weight || fail "--norm NAME exit $?"
expect "$tmp/n1.json" norm '"model.norm.weight"'
expect_err 1 "norm tensor 'model.nope.weight' is not in the index" "$tmp/n2.json" \
    $R "$tmp/t.json" $k -o "$tmp/n2.json" --norm model.nope.weight
expect_err 1 "norm 'model.embed_tokens.weight' (BF16, 2-D" "$tmp/n2.json" \
    $R "$tmp/t.json" $k -o "$tmp/n2.json" --norm model.embed_tokens.weight

# summary line, -q, determinism, write-if-changed
$R "$tmp/t.json" $k -o "$tmp/k1.json" 2>"$tmp/stderr" || fail "exit $?"
[ "$(wc -l <"$tmp/stderr")" -eq 1 ] && grep -q "^mint-rd: $k \[64x128\] BF16: cheapest >= 9 dB: " "$tmp/stderr" ||
    fail "summary line: $(cat "$tmp/stderr")"
$R "$tmp/t.json" $k -o "$tmp/k2.json" -q 2>"$tmp/stderr"; [ -s "$tmp/stderr" ] && fail "-q printed"
cmp -s "$tmp/k1.json" "$tmp/k2.json" || fail "two runs, different bytes"
touch -d '2000-01-01' "$tmp/k1.json"; $R "$tmp/t.json" $k -o "$tmp/k1.json" -q
[ "$(stat -c %Y "$tmp/k1.json")" -lt 1000000000 ] || fail "unchanged output was rewritten"

# every kernel gives the same bytes (F32 source with a norm, BF16 source, minmax, a dump);
# "auto" is avx2 where the CPU has it
for kern in scalar ref auto; do
    MINT_RD_KERNEL=$kern $R "$tmp/t.json" $k -o "$tmp/kk.json" -q || fail "$kern exit $?"
    cmp -s "$tmp/k1.json" "$tmp/kk.json" || fail "kernel $kern: other bytes"
    MINT_RD_KERNEL=$kern $R "$tmp/s.json" model.layers.2.self_attn.v_proj.weight -o "$tmp/kv-$kern.json" -q \
        --dump 3:32 --dump-out "$tmp/kv-$kern.bin" || fail "$kern exit $?"
    MINT_RD_KERNEL=$kern $R "$tmp/s.json" model.layers.2.mlp.up_proj.weight -o "$tmp/km-$kern.json" -q \
        --quantizer minmax || fail "$kern minmax exit $?"
done
for kern in scalar ref; do
    cmp -s "$tmp/kv-auto.json" "$tmp/kv-$kern.json" && cmp -s "$tmp/kv-auto.bin" "$tmp/kv-$kern.bin" &&
        cmp -s "$tmp/km-auto.json" "$tmp/km-$kern.json" || fail "kernel $kern: other bytes on stories260K"
done

# --dump: raw float32 rows x cols; 16-bit of a BF16 source is the source widened
qp=model.layers.0.self_attn.q_proj.weight
$R "$tmp/t.json" $qp -o "$tmp/dq.json" -q --dump 4:64 --dump-out "$tmp/d4" || fail "--dump exit $?"
[ "$(stat -c %s "$tmp/d4")" -eq $((128 * 128 * 4)) ] || fail "dump size $(stat -c %s "$tmp/d4")"
cmp -s "$tmp/dq.json" "$tmp/b-model.layers.1.self_attn.q_proj.weight.json" && fail "layer 0 == layer 1?"
$R "$tmp/t.json" $qp -o "$tmp/dq2.json" -q --configs 2:32 --dump 4:64 --dump-out "$tmp/d4b" || fail "--dump outside --configs exit $?"
cmp -s "$tmp/d4" "$tmp/d4b" || fail "dump depends on --configs"
[ "$(ncfg "$tmp/dq2.json")" -eq 1 ] || fail "dump configuration reported"
$R "$tmp/t.json" $qp -o "$tmp/d16.json" -q --dump 16 --dump-out "$tmp/d16" || fail "--dump 16 exit $?"
off=$(grep -A12 "\"name\": \"$qp\"" "$tmp/t.json" | sed -n 's/.*"offset": \([0-9]*\).*/\1/p')
od -An -v -tx2 -j "$off" -N $((128 * 128 * 2)) $T/model.safetensors | tr -s ' ' '\n' | grep . | sed 's/$/0000/' >"$tmp/src.hex"
od -An -v -tx4 "$tmp/d16" | tr -s ' ' '\n' | grep . >"$tmp/d16.hex"
cmp -s "$tmp/src.hex" "$tmp/d16.hex" || fail "--dump 16 is not the BF16 source widened"
[ "$(wc -l <"$tmp/d16.hex")" -eq 16384 ] || fail "dump 16 has $(wc -l <"$tmp/d16.hex") values"
grep -vq '00000000$' "$tmp/d16.hex" || fail "dump all zero"
expect_err 1 'mlp.down_proj.weight: --dump 4:128: configuration unavailable (group 128 does not divide 172 columns)' "$tmp/u.json" \
    $R "$tmp/s.json" model.layers.0.mlp.down_proj.weight -o "$tmp/u.json" --dump 4:128 --dump-out "$tmp/ud"
[ -e "$tmp/ud" ] && fail "unavailable dump left a file"

# errors: unknown tensor, missing index, hash mismatch (byte-flipped copy)
expect_err 1 '^mint-rd: model.nope.weight: unknown tensor' "$tmp/u.json" $R "$tmp/s.json" model.nope.weight -o "$tmp/u.json"
expect_err 1 'none.json: No such file' "$tmp/u.json" $R "$tmp/none.json" $N -o "$tmp/u.json"
cp -r $T "$tmp/m"
$BIN/mint-index "$tmp/m" -o "$tmp/m.json" -q || exit 1
off=$(grep -A12 '"name": "model.layers.0.self_attn.q_proj.weight"' "$tmp/m.json" | sed -n 's/.*"offset": \([0-9]*\).*/\1/p')
[ -n "$off" ] || fail "no offset"
"$TOOLBIN/mint-testtool" flip "$tmp/m/model.safetensors" $((off + 100)) || fail "flip"
expect_err 1 '^mint-rd: model.layers.0.self_attn.q_proj.weight: content hash differs from the index (model changed since indexing?)$' "$tmp/h.json" \
    $R "$tmp/m.json" model.layers.0.self_attn.q_proj.weight -o "$tmp/h.json" --dump 4:64 --dump-out "$tmp/hd"
[ -e "$tmp/hd" ] && fail "hash mismatch left a dump"
$R "$tmp/m.json" model.layers.0.self_attn.k_proj.weight -o "$tmp/h2.json" -q || fail "unflipped tensor of the copy: exit $?"

# a hand-made model: stacked experts [2, 8, 64] BF16, an I32 tensor, a NaN, a huge value
mkdir -p "$tmp/x"
le64() { for i in 0 1 2 3 4 5 6 7; do printf "\\$(printf '%03o' $(( ($1 >> (8 * i)) & 255 )))"; done; }
bf16() { awk -v n="$1" -v s="$2" 'BEGIN{srand(s); for(i=0;i<n;i++){printf "%c", int(rand()*256); printf "%c", (rand()<0.5?60:188)}}'; }
ones() { awk -v n="$1" 'BEGIN{for(i=0;i<n;i++) printf "%c%c", 128, 63}'; }
hdr='{"model.layers.0.mlp.switch_mlp.gate_proj.weight":{"dtype":"BF16","shape":[2,8,64],"data_offsets":[0,2048]},'
hdr+='"model.layers.0.post_attention_layernorm.weight":{"dtype":"BF16","shape":[64],"data_offsets":[2048,2176]},'
hdr+='"model.layers.0.self_attn.q_proj.weight":{"dtype":"I32","shape":[2,4],"data_offsets":[2176,2208]},'
hdr+='"model.layers.0.self_attn.k_proj.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[2208,2240]},'
hdr+='"model.layers.0.self_attn.v_proj.weight":{"dtype":"BF16","shape":[1,32],"data_offsets":[2240,2304]}}'
while [ $(( ${#hdr} % 8 )) -ne 0 ]; do hdr+=' '; done
{
    le64 ${#hdr}; printf '%s' "$hdr"
    bf16 1024 1; ones 64; head -c 32 /dev/zero
    head -c 20 /dev/zero; printf '\000\000\300\177'; head -c 8 /dev/zero   # element [1, 1] is NaN
    bf16 31 2; printf '\200\107'                                           # 65536 at the end
} >"$tmp/x/model.safetensors"
echo '{"num_hidden_layers": 1, "tie_word_embeddings": false}' >"$tmp/x/config.json"
$BIN/mint-index "$tmp/x" -o "$tmp/x.json" -q || fail "hand-made model: mint-index exit $?"
g=$tmp/xg.json
$R "$tmp/x.json" model.layers.0.mlp.switch_mlp.gate_proj.weight -o "$g" -q --dump 4:32 --dump-out "$tmp/xgd" || fail "stacked exit $?"
expect "$g" experts 2; expect "$g" params 1024
expect "$g" norm '"model.layers.0.post_attention_layernorm.weight"'
[ "$(cval "$g" available | grep -c true)" -eq 12 ] || fail "stacked: 12 configurations available"
[ "$(grep -c '^   "expert_nrmse": \[' "$g")" -eq 12 ] || fail "stacked: expert_nrmse arrays"
[ "$(sed -n '/"expert_nrmse": \[/,/\]/p' "$g" | grep -c '^    [0-9]')" -eq 24 ] || fail "stacked: 2 values per expert_nrmse"
for i in 1 7 13; do
    ge "$(ci "$g" nrmse_worst $i)" "$(ci "$g" nrmse $i)" || fail "stacked: worst < mean at $i"
    ge "$(ci "$g" sqnr_db $i)" "$(ci "$g" sqnr_db_worst $i)" || fail "stacked: worst SQNR > SQNR at $i"
done
[ "$(ci "$g" expert_nrmse 5)" = null ] || fail "stacked: unavailable 4:128 has expert values"
[ "$(stat -c %s "$tmp/xgd")" -eq 4096 ] || fail "stacked dump size"
expect_err 1 '^mint-rd: model.layers.0.self_attn.q_proj.weight: unsupported dtype I32' "$tmp/y.json" \
    $R "$tmp/x.json" model.layers.0.self_attn.q_proj.weight -o "$tmp/y.json"
expect_err 1 '^mint-rd: model.layers.0.self_attn.k_proj.weight: non-finite weight at row 1, column 1$' "$tmp/y.json" \
    $R "$tmp/x.json" model.layers.0.self_attn.k_proj.weight -o "$tmp/y.json"
# auto norm absent from the model: a note, no weighting; 65536 does not fit F16
$R "$tmp/x.json" model.layers.0.self_attn.v_proj.weight -o "$tmp/y.json" --dtype f16 2>"$tmp/stderr" || fail "v_proj exit $?"
grep -q "note: norm 'model.layers.0.input_layernorm.weight' not in the index" "$tmp/stderr" || fail "no note for a missing norm"
expect "$tmp/y.json" norm null; expect "$tmp/y.json" out_dtype '"F16"'
grep -q '"reason": "max |w| = 65536 exceeds the F16 range (65504)"' "$tmp/y.json" || fail "F16 passthrough of 65536"
grep -q '"reason": "dequantized values are not finite (a scale or bias overflows F16)"' "$tmp/y.json" || fail "F16 bias overflow"
$R "$tmp/x.json" model.layers.0.self_attn.v_proj.weight -o "$tmp/y2.json" -q || fail "v_proj BF16 exit $?"
[ "$(cval "$tmp/y2.json" available | grep -c true)" -eq 6 ] || fail "v_proj BF16: 5 g32 configurations + 16-bit"

# the sanitizer build
if [ -x "$SANBIN/mint-rd" ]; then
    $SANBIN/mint-rd "$tmp/t.json" $k -o "$tmp/san.json" -q || fail "san exit $?"
    cmp -s "$tmp/k1.json" "$tmp/san.json" || fail "sanitizer build gives other bytes"
    $SANBIN/mint-rd "$tmp/x.json" model.layers.0.mlp.switch_mlp.gate_proj.weight -o "$tmp/san2.json" -q \
        --dump 4:32 --dump-out "$tmp/sand" || fail "san stacked exit $?"
    cmp -s "$g" "$tmp/san2.json" && cmp -s "$tmp/xgd" "$tmp/sand" || fail "sanitizer build: stacked differs"
    $SANBIN/mint-rd "$tmp/s.json" model.layers.0.mlp.down_proj.weight -o "$tmp/san3.json" -q || fail "san 172 exit $?"
fi

[ $fails -eq 0 ] && echo "ok" || { echo "$fails failures"; exit 1; }
