#!/usr/bin/env bash
# The quality report (`make eval`): perplexity of every allocation method on both bundled models
# and both evaluation texts, measured with mint-eval, summarised by mint-report into
# $(OUT)/quality/{quality.csv,quality.md,fits.csv,quality-<model>-<text>.svg}.
#
# Methods, per model:
#   original        the source weights (F32 stories260K, BF16 TinyStories-656K)
#   mlx-4bit-g64    uniform MLX 4-bit g64 (every matrix at 4:64 where 64 divides its input
#                   dimension, else 16-bit; embeddings included, as mlx_lm.convert does)
#   mlx-8bit-g64    the same at 8:64
#   mint-exact      mint at the byte size of mlx-4bit-g64 (exact solver, LOSS=nrmse)
#   mint-greedy     the same budget, SOLVER=greedy (the original MINT allocator)
#   mint-nrmse_w    the same budget, exact, LOSS=nrmse_w
#   mint-mse        the same budget, exact, LOSS=mse
#   mint-mse-params the same budget, exact, LOSS=mse WEIGHT=params (total squared weight error)
#   mint-sweep      exact solver at POINTS budgets from the minimum (every tensor at its lowest
#                   allowed configuration) to the size of mlx-8bit-g64; mint-report fits
#                   PPL(B) = a + b/(B-B0)^c to them
# Everything goes through the normal pipeline (make), so RD curves are computed once per tensor.
set -eu
cd "$(dirname "$0")/.."
unset MAKEFLAGS MFLAGS MAKELEVEL
WORK=${WORK:-work} OUT=${OUT:-out} WINDOWS=${WINDOWS:-64}
R=$OUT/quality
BIN=build/bin
POINTS=${POINTS:-7}
mkdir -p "$R/results"
rm -f "$R"/results/*.json

pipe() { make -s MODEL="$model" WORK="$WORK" OUT="$R/models" "$@"; }
size_of() { cat "$1"/model*.safetensors | wc -c; }
evaluate() { # dir method
    for t in tinystories:tests/data/eval/tinystories/tinystories_v2_valid_sample.txt \
             wikitext2:tests/data/eval/wikitext-2-raw/wiki.test.raw; do
        "$BIN"/mint-eval "$1" --text "${t#*:}" --windows "$WINDOWS" --model "$name" \
            --text-name "${t%%:*}" --method "$2" --tokenizer "$model/tokenizer.json" -q \
            -o "$R/results/$name.${t%%:*}.$2.$(basename "$1").json" >/dev/null
    done
}

for model in tests/data/models/stories260K tests/data/models/tinystories-656k; do
    name=$(basename "$model")
    echo "== $name"
    evaluate "$model" original
    pipe NAME="$name-mlx4" CONFIGS=4:64,16 VETO_DB=0 BUDGET=min
    pipe NAME="$name-mlx8" CONFIGS=8:64,16 VETO_DB=0 BUDGET=min
    evaluate "$R/models/$name-mlx4-min" mlx-4bit-g64
    evaluate "$R/models/$name-mlx8-min" mlx-8bit-g64
    B=$(size_of "$R/models/$name-mlx4-min")
    echo "   budget = size of uniform 4-bit g64 = $B bytes"
    pipe NAME="$name-exact" BUDGET="$B"
    pipe NAME="$name-greedy" BUDGET="$B" SOLVER=greedy
    pipe NAME="$name-nrmse_w" BUDGET="$B" LOSS=nrmse_w
    pipe NAME="$name-mse" BUDGET="$B" LOSS=mse
    pipe NAME="$name-msep" BUDGET="$B" LOSS=mse WEIGHT=params
    evaluate "$R/models/$name-exact-$B" mint-exact
    evaluate "$R/models/$name-greedy-$B" mint-greedy
    evaluate "$R/models/$name-nrmse_w-$B" mint-nrmse_w
    evaluate "$R/models/$name-mse-$B" mint-mse
    evaluate "$R/models/$name-msep-$B" mint-mse-params
    pipe NAME="$name-min" BUDGET=min
    # the minimum budget includes the header reserve, so start from it, not from the file size
    lo=$(sed -n 's/^ "budget_bytes": \([0-9]*\),*$/\1/p' "$R/models/$name-min-min/report.json")
    hi=$(size_of "$R/models/$name-mlx8-min")
    sweep=$(awk -v lo="$lo" -v hi="$hi" -v n="$POINTS" \
        'BEGIN { for (k = 0; k < n; k++) printf "%d ", lo + (hi - lo) * k / (n - 1) }')
    echo "   sweep budgets (bytes): $sweep"
    pipe NAME="$name-sweep" BUDGETS="$sweep" sweep
    for b in $sweep; do evaluate "$R/models/$name-sweep-$b" mint-sweep; done
done
"$BIN"/mint-report -o "$R" "$R"/results/*.json
echo "mint: quality report in $R (quality.md, quality.csv, fits.csv, *.svg)"
