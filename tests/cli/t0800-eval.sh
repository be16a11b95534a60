#!/usr/bin/env bash
# mint-eval: reference perplexities of the bundled models (tests/data/models/SOURCE.md), the
# JSON report, and bad input.  Full 64-window runs (a few seconds each).
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$MINT_ROOT" || exit 1
D=tests/data
TS=$D/eval/tinystories/tinystories_v2_valid_sample.txt
WT=$D/eval/wikitext-2-raw/wiki.test.raw
TOK656=$D/models/tinystories-656k/tokenizer.json
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# within REL relative of WANT
near() { awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= r * b) }'; }

check_ppl() { # label, want, rel, mint-eval args...
    local label=$1 want=$2 rel=$3; shift 3
    local t0=$(date +%s.%N)
    if ! "$BIN/mint-eval" "$@" >"$tmp/out" 2>"$tmp/err"; then
        bad "$label: exit $?"; cat "$tmp/err"; return
    fi
    local got=$(tail -n1 "$tmp/out" | awk '$1 == "ppl" { print $2 }')
    local dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    echo "$label: ppl $got (reference $want, tolerance $rel) ${dt}s"
    [ -n "$got" ] && near "$got" "$want" "$rel" || bad "$label: ppl '$got' vs $want"
}

# 1. acceptance: F32 weights within 0.1%, BF16 within 0.5%
check_ppl "stories260K tinystories" 4.24234 0.001 $D/models/stories260K --text "$TS" \
    -o "$tmp/s260.json"
check_ppl "656k f32 tinystories" 34.0036 0.001 $D/models/tinystories-656k/f32 --text "$TS" \
    --tokenizer "$TOK656" --model tinystories-656k --method f32
check_ppl "656k bf16 wikitext2" 981.518 0.005 $D/models/tinystories-656k --text "$WT" \
    -o "$tmp/w656.json" --text-name wikitext2
"$BIN/mint-eval" $D/models/stories260K --text "$WT" --windows 16 -q >"$tmp/out" 2>"$tmp/err" ||
    bad "stories260K wikitext2 16 windows"
grep -qE '^ppl [0-9.]+$' "$tmp/out" && [ "$(wc -l <"$tmp/out")" = 1 ] && [ ! -s "$tmp/err" ] ||
    bad "-q: output is not just the ppl line"

# 2. the JSON report
j=$tmp/s260.json
for k in '"ppl": 4.2423' '"mean_nll": 1.44511' '"tokens": 32704' '"windows": 64' \
         '"text_tokens": 393018' '"model_bytes": 1044984' '"method": "original"' \
         '"model": "stories260K"' '"ctx": 512' '"bos": 1' '"n_params": 260032' \
         '"quantized_matrices": 0' '"median_window_ppl"' '"seconds"' '"peak_rss"' \
         '"window_mean_nll"' '"text": "tinystories_v2_valid_sample.txt"'; do
    grep -q -- "$k" "$j" || bad "report lacks $k"
done
grep -q '"text": "wikitext2"' "$tmp/w656.json" || bad "--text-name not in the report"
grep -q '"model_bytes": 1314128' "$tmp/w656.json" || bad "656k model_bytes"
rss=$(awk -F': ' '/"peak_rss"/ { gsub(/,/, "", $2); print $2 }' "$j")
[ "${rss:-0}" -gt 0 ] && [ "${rss:-0}" -lt 300000000 ] || bad "peak_rss '$rss'"
# deterministic apart from seconds and peak_rss
"$BIN/mint-eval" $D/models/stories260K --text "$TS" --windows 2 -q -o "$tmp/a.json" >/dev/null &&
"$BIN/mint-eval" $D/models/stories260K --text "$TS" --windows 2 -q -o "$tmp/b.json" >/dev/null ||
    bad "2-window runs"
diff <(grep -v -e seconds -e peak_rss "$tmp/a.json") <(grep -v -e seconds -e peak_rss "$tmp/b.json") \
    >/dev/null || bad "reports differ between runs"
grep -q '"windows": 2' "$tmp/a.json" && grep -q '"tokens": 1022' "$tmp/a.json" || bad "--windows 2"
# a short context
"$BIN/mint-eval" $D/models/stories260K --text "$TS" --ctx 64 --windows 3 -q -o "$tmp/c.json" \
    >/dev/null && grep -q '"tokens": 189' "$tmp/c.json" || bad "--ctx 64"

# 3. errors: message "mint-eval: <file>: <cause>", non-zero exit, no output file
expect_err() { # label, exit code, message regex, args...
    local label=$1 code=$2 re=$3; shift 3
    rm -f "$tmp/x.json"
    "$BIN/mint-eval" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ $rc -eq "$code" ] || bad "$label: exit $rc, want $code"
    grep -qE "$re" "$tmp/err" || { bad "$label: stderr"; cat "$tmp/err"; }
    [ ! -e "$tmp/x.json" ] || bad "$label: wrote a report"
}
expect_err "no tokenizer" 1 '^mint-eval: .*f32/tokenizer\.json: No such file' \
    $D/models/tinystories-656k/f32 --text "$TS" -o "$tmp/x.json"
mkdir -p "$tmp/gemma"
cp $D/models/stories260K/model.safetensors $D/models/stories260K/tokenizer.json "$tmp/gemma/"
sed 's/"llama"/"gemma"/' $D/models/stories260K/config.json >"$tmp/gemma/config.json"
expect_err "model_type" 1 "^mint-eval: $tmp/gemma/config.json: unsupported model_type 'gemma'" \
    "$tmp/gemma" --text "$TS" -o "$tmp/x.json"
sed 's/LlamaForCausalLM/GemmaForCausalLM/' $D/models/stories260K/config.json >"$tmp/gemma/config.json"
expect_err "architecture" 1 "unsupported architecture 'GemmaForCausalLM'" \
    "$tmp/gemma" --text "$TS" -o "$tmp/x.json"
head -c 600 "$TS" >"$tmp/short.txt"
expect_err "short text" 1 "^mint-eval: $tmp/short.txt: text has [0-9]+ tokens, fewer than one window of 511" \
    $D/models/stories260K --text "$tmp/short.txt" -o "$tmp/x.json"
expect_err "missing text" 1 "^mint-eval: $tmp/none.txt: No such file" \
    $D/models/stories260K --text "$tmp/none.txt" -o "$tmp/x.json"
expect_err "no model" 1 "^mint-eval: $tmp/nodir: " "$tmp/nodir" --text "$TS" -o "$tmp/x.json"
expect_err "--ctx 0" 2 '^usage: mint-eval' $D/models/stories260K --text "$TS" --ctx 0
expect_err "--windows x" 2 '^usage: mint-eval' $D/models/stories260K --text "$TS" --windows x
expect_err "no --text" 2 '^usage: mint-eval' $D/models/stories260K
expect_err "bad flag" 2 '^usage: mint-eval' $D/models/stories260K --text "$TS" --frobnicate
expect_err "two dirs" 2 '^usage: mint-eval' $D/models/stories260K $D/models/stories260K --text "$TS"
"$BIN/mint-eval" --help >"$tmp/out" 2>&1 && grep -q '^usage: mint-eval' "$tmp/out" || bad "--help"

exit $fail
