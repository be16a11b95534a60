#!/usr/bin/env bash
# bench.sh - `make bench` and `make bench-8b`: speed and memory of every stage on synthetic
# models with real layouts (mint-synth), next to the floor, a read-only pass over the same tensor
# bytes measured in the same run.  Prints one table and writes bench/results.csv.  Never part of
# `make test`; timings are wall-clock on a possibly shared machine (the header says which).
# bench-8b writes bench/results-8b.csv and bench/table-8b.txt instead.
#
#   bash tests/bench/bench.sh          default: scaled models, <= 10 minutes on 2 cores
#   bash tests/bench/bench.sh --8b     full-size Qwen3-8B (16 GB BF16, needs 40 GB free disk):
#                                      index, rd + features at -j2 over all 399 tensors
#
# Sections (each skips with a message when its stage binaries are missing, fail or run late):
#  1. stage table on BENCH_SYNTH (default qwen3-8b --scale 0.25 --layers 16 --vocab 32000,
#     ~260M params): synth, index, feature and rd (-j BENCH_JOBS, one process per tensor as the
#     pipeline runs them; each stops launching after BENCH_STAGE_BUDGET s and reports what it
#     finished), merge, solve, pack.  Columns: tensors, params processed, -j, wall s, ns per
#     parameter (wall; rd per parameter x configuration), CPU s, peak RSS (largest process,
#     /usr/bin/time), floor s (bench-floor over exactly the tensors the stage read) and the
#     ratio wall / floor.
#  2. micro-benchmarks: every other tests/bench/*.c (built on its own as build/bench/<name>)
#     and tests/bench/bench-*.sh, run with BENCH_MICRO_TIMEOUT; their key=value lines go to
#     the CSV; bench-solve's exact_ms / greedy_ms (20,000 groups) are summarised in the table.
#  3. no-op make on a ~20,000-tensor model (qwen3-30b-a3b --scale 0.01: 18,867 tensors, all
#     dimensions 128): the pipeline (make MODEL= BUDGET= WORK= OUT=) runs cold for at most
#     BENCH_COLD_TIMEOUT s (its step rate is reported); when it cannot finish, the remaining
#     per-tensor outputs are created empty and `make -t` marks the graph up to date, so the
#     timed second make measures make's own no-op cost on the full graph (labelled as such).
#  4. make -j2 / -j1 speedup of the cold pipeline on a small model (BENCH_J_SYNTH).
# Knobs (environment): BENCH_DIR (bench), BENCH_JOBS (2), BENCH_SYNTH, BENCH_STAGE_BUDGET (120),
# BENCH_MICRO_TIMEOUT (150), BENCH_COLD_TIMEOUT (60), BENCH_J_SYNTH, BENCH_BUDGET (4.5bpw),
# BENCH_SKIP (space-separated: stages micro noop jobs), BENCH_DEADLINE (s; later sections are
# skipped past it; default 560), BIN (build/bin).
# Peak RSS: GNU time (/usr/bin/time, Debian package `time`); without it the column is empty.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
export LC_ALL=C OPENBLAS_NUM_THREADS=1
unset MAKEFLAGS MFLAGS MAKELEVEL # our own make calls choose their -j

MODE=default
[ "${1:-}" = "--8b" ] && MODE=8b
if [ "${1:-}" = "--each" ]; then :; fi # internal mode, handled below

BIN=${BIN:-$ROOT/build/bin}
BB=$ROOT/build/bench
BENCH=${BENCH_DIR:-bench}
JOBS=${BENCH_JOBS:-2}
STAGE_BUDGET=${BENCH_STAGE_BUDGET:-120}
MICRO_TIMEOUT=${BENCH_MICRO_TIMEOUT:-150}
COLD_TIMEOUT=${BENCH_COLD_TIMEOUT:-60}
BUDGET=${BENCH_BUDGET:-4.5bpw}
DEADLINE=${BENCH_DEADLINE:-560}
SKIP=" ${BENCH_SKIP:-} "
SYNTH_ARGS=${BENCH_SYNTH:---arch qwen3-8b --scale 0.25 --layers 16 --vocab 32000}
J_SYNTH_ARGS=${BENCH_J_SYNTH:---arch qwen3-8b --scale 0.25 --layers 4 --vocab 32000}
NOOP_SYNTH_ARGS="--arch qwen3-30b-a3b --scale 0.01"
if [ "$MODE" = 8b ]; then
    SYNTH_ARGS=${BENCH_SYNTH:---arch qwen3-8b}
    STAGE_BUDGET=${BENCH_STAGE_BUDGET:-100000}
fi
HAVE_TIME=0
[ -x /usr/bin/time ] && /usr/bin/time -f %e true 2>/dev/null && HAVE_TIME=1

now() { date +%s.%N; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
elapsed() { fsub "$T_START" "$(now)"; }
late() { awk -v e="$(elapsed)" -v d="$DEADLINE" -v need="${1:-0}" 'BEGIN { exit !(e + need > d) }'; }
skipped() { case "$SKIP" in *" $1 "*) return 0 ;; esac; return 1; }
say() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- per-tensor runner (internal)
# bench.sh --each STAGE JOBS BUDGET_S INDEX LIST OUTDIR: run mint-STAGE once per tensor of LIST,
# JOBS at a time, launching nothing after BUDGET_S seconds; finished names go to OUTDIR/.done.
if [ "${1:-}" = "--each" ]; then
    stage=$2 jobs=$3 budget=$4 idx=$5 list=$6 out=$7
    mkdir -p "$out"
    : >"$out/.done"
    : >"$out/.err"
    SECONDS=0
    while IFS= read -r name; do
        [ "$SECONDS" -lt "$budget" ] || break
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
        { if "$BIN/mint-$stage" "$idx" "$name" -o "$out/$name.json" -q 2>>"$out/.err"; then
              echo "$name" >>"$out/.done"; fi; } &
    done <"$list"
    wait
    exit 0
fi

T_START=$(now)
mkdir -p "$BENCH"
BENCH=$(cd "$BENCH" && pwd)
SUF=$([ "$MODE" = 8b ] && echo -8b)
RUN=$BENCH/run$SUF # intermediates of the last run (kept for inspection)
rm -rf "$RUN"
mkdir -p "$RUN" "$BENCH/models"
CSV=$RUN/results.csv
echo "section,item,model,tensors,params,configs,jobs,wall_s,cpu_s,ns_per_param,peak_rss_mib,floor_s,floor_ns_per_param,ratio,value,note" >"$CSV"
NOTES=$RUN/notes.txt
: >"$NOTES"
note() { printf '%s\n' "$*" >>"$NOTES"; say "bench: $*"; }
csvq() { local s=${1//,/;}; printf '%s' "${s//\"/\'}"; } # no commas or quotes inside fields

# timed CMD...: runs CMD; sets TW (wall s), TC (CPU s of CMD and its children), TR (peak RSS of
# the largest process, MiB); returns CMD's status.
timed() {
    local tf=$RUN/.time rc t0
    t0=$(now)
    if [ $HAVE_TIME = 1 ]; then
        /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@"
        rc=$?
        TW=$(fsub "$t0" "$(now)")
        read -r _ u s m < <(tail -n 1 "$tf")
        TC=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        TR=$(awk -v m="$m" 'BEGIN { printf "%.1f", m / 1024 }')
    else
        "$@"
        rc=$?
        TW=$(fsub "$t0" "$(now)")
        TC='' TR=''
    fi
    return $rc
}

# row ITEM MODEL TENSORS PARAMS CONFIGS JOBS WALL CPU RSS FLOOR_S NOTE
row() {
    local item=$1 model=$2 nt=$3 params=$4 cfg=$5 jobs=$6 wall=$7 cpu=$8 rss=$9 floor=${10} nt_=${11}
    local nspp fnspp ratio
    nspp=$(awk -v w="$wall" -v p="$params" -v c="${cfg:-1}" 'BEGIN { if (p > 0 && w != "") printf "%.3f", w * 1e9 / (p * c) }')
    fnspp=$(awk -v f="$floor" -v p="$params" 'BEGIN { if (p > 0 && f != "") printf "%.3f", f * 1e9 / p }')
    ratio=$(awk -v w="$wall" -v f="$floor" 'BEGIN { if (f != "" && f > 0 && w != "") printf "%.1f", w / f }')
    printf 'stage,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,,%s\n' "$item" "$(csvq "$model")" "$nt" \
        "$params" "$cfg" "$jobs" "$wall" "$cpu" "$nspp" "$rss" "$floor" "$fnspp" "$ratio" \
        "$(csvq "$nt_")" >>"$CSV"
}
skiprow() { # ITEM MODEL NOTE
    printf 'stage,%s,%s,,,,,,,,,,,,,%s\n' "$1" "$(csvq "$2")" "$(csvq "$3")" >>"$CSV"
    note "$1: $3"
}

# tensor table of an index.json: name<TAB>params<TAB>ndim (canonical layout, sorted keys)
tensor_table() {
    awk -F'"' '
        /^   "dtype": / { sz = ($4 == "F32" || $4 == "I32" || $4 == "U32") ? 4 : ($4 == "F64" || $4 == "I64") ? 8 : ($4 ~ /8/) ? 1 : 2 }
        /^   "name": / { name = $4 }
        /^   "nbytes": / { split($0, a, ": "); nb = a[2] + 0 }
        /^   "shape": / { inshape = 1; nd = 0; if ($0 ~ /\[\]/) inshape = 0 }
        inshape && /^    [0-9]/ { nd++ }
        inshape && /^   \]/ { inshape = 0 }
        /^  }/ { if (name != "") printf "%s\t%.0f\t%d\n", name, nb / sz, nd; name = "" }
    ' "$1"
}
sum_params() { # TABLE LIST -> sum of params of the names in LIST
    awk -F'\t' 'NR == FNR { p[$1] = $2; next } { s += p[$1]; n++ } END { printf "%d %.0f\n", n, s }' "$1" "$2"
}
floor_of() { # MODEL LIST -> seconds of a read-only pass, best of 3 below 4 GB (sets FLOOR_S)
    local s b
    FLOOR_S=''
    [ -x "$BB/bench-floor" ] || return 1
    for _ in 1 2 3; do
        read -r s b < <("$BB/bench-floor" "$1" "@$2" 2>/dev/null | tr ' ' '\n' |
                        awk -F= '$1 == "floor_seconds" { s = $2 } $1 == "floor_bytes" { b = $2 } END { print s, b }')
        [ -n "$s" ] || return 1
        FLOOR_S=$(awk -v a="$FLOOR_S" -v b="$s" 'BEGIN { printf "%.4f", (a == "" || b < a) ? b : a }')
        awk -v b="$b" 'BEGIN { exit !(b > 4e9) }' && break
    done
}
have() { local s; for s; do [ -x "$BIN/mint-$s" ] || return 1; done; }

machine() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
    printf '%s; %s cores; load %s; %s; OPENBLAS_NUM_THREADS=%s; %s' "${cpu:-unknown cpu}" \
        "$(nproc 2>/dev/null)" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" \
        "$(free -g 2>/dev/null | awk '/^Mem:/ { print $2 " GiB RAM" }')" "$OPENBLAS_NUM_THREADS" \
        "$(date -u +%Y-%m-%dT%H:%MZ)"
}

# ---------------------------------------------------------------- build
say "bench: building stages and benchmark tools (make -s -j$JOBS build)"
make -s -j"$JOBS" build >"$RUN/build.log" 2>&1 || note "make build failed (see $RUN/build.log); using the binaries that exist"
for src in tests/bench/*.c; do
    [ -f "$src" ] || continue
    t=$(basename "$src" .c)
    make -s "build/bench/$t" >>"$RUN/build.log" 2>&1 || note "build/bench/$t does not build; skipped"
done
[ -x "$BIN/mint-synth" ] && [ -x "$BIN/mint-index" ] || { say "bench: mint-synth and mint-index are required"; exit 1; }
printf 'machine,,,,,,,,,,,,,,,%s\n' "$(csvq "$(machine)")" >>"$CSV"

# ---------------------------------------------------------------- models
# synth_model DIR ARGS...: generate (timed) unless DIR already holds the same model
synth_model() {
    local dir=$1 want have_cfg
    shift
    want=$("$BIN/mint-synth" "$@" --list 2>&1 >/dev/null | sed 's/^mint-synth: //')
    have_cfg=$(cat "$dir/.synth" 2>/dev/null)
    # reuse only the 16 GB model (bench-8b) or with BENCH_REUSE=1: generation is timed too
    if [ "$MODE" = 8b ] || [ "${BENCH_REUSE:-0}" = 1 ] && [ -f "$dir/config.json" ] &&
       [ "$have_cfg" = "$* | $want" ]; then
        SYNTH_REUSED=1
        return 0
    fi
    SYNTH_REUSED=0
    # per-core generation speed in the default bench; bench-8b uses every job to save time
    timed "$BIN/mint-synth" "$@" -o "$dir" --force -q --jobs "$([ "$MODE" = 8b ] && echo "$JOBS" || echo 1)" || return 1
    SW=$TW SC=$TC SR=$TR
    printf '%s\n' "$* | $want" >"$dir/.synth"
}
model_label() { echo "$*" | sed 's/--arch //; s/--//g; s/  */ /g'; }
model_dir() { echo "$BENCH/models/$(model_label "$@" | sed 's/ \([a-z]*\) /-\1/g; s/ /-/g' | tr -c 'A-Za-z0-9.\n-' '_')"; }

# ---------------------------------------------------------------- 1. stage table
stage_table() {
    local args=$1 mdir label idx table list n p cfg
    mdir=$(model_dir "$args")
    label=$(model_label "$args")
    if [ "$MODE" = 8b ]; then
        local avail
        mkdir -p "$(dirname "$mdir")"
        avail=$(df -Pk "$BENCH" | awk 'NR == 2 { print int($4 / 1048576) }')
        if [ ! -f "$mdir/config.json" ] && [ "${avail:-0}" -lt 40 ]; then
            skiprow synth "$label" "only ${avail} GB free under $BENCH (40 GB needed for the 16 GB model): skipped"
            return 1
        fi
    fi
    say "bench: generating $label"
    # shellcheck disable=SC2086
    if ! synth_model "$mdir" $args; then
        skiprow synth "$label" "mint-synth failed"
        return 1
    fi
    idx=$RUN/index.json
    if [ "$SYNTH_REUSED" = 1 ]; then
        note "synth: $label reused from $mdir (delete it to time generation)"
    fi
    # index
    say "bench: index"
    if ! timed "$BIN/mint-index" "$mdir" -o "$idx" -q; then
        skiprow index "$label" "mint-index failed"
        return 1
    fi
    local iw=$TW ic=$TC ir=$TR
    table=$RUN/tensors.tsv
    tensor_table "$idx" >"$table"
    cut -f1 "$table" >"$RUN/all.list"
    read -r n p < <(sum_params "$table" "$RUN/all.list")
    MODEL_LABEL=$label
    if [ "$SYNTH_REUSED" = 0 ]; then
        row synth "$label" "$n" "$p" "" 1 "$SW" "$SC" "$SR" "" "generation + write (fsync), --jobs $([ "$MODE" = 8b ] && echo "$JOBS" || echo 1)"
    fi
    floor_of "$mdir" "$RUN/all.list"
    row index "$label" "$n" "$p" "" 1 "$iw" "$ic" "$ir" "$FLOOR_S" "validate + XXH3-128 of every tensor"

    # per-tensor stages: 2-D tensors, the largest first (as a scheduler would)
    awk -F'\t' '$3 >= 2' "$table" | sort -t$'\t' -k2,2nr -k1,1 | cut -f1 >"$RUN/work.list"
    local st ran=""
    for st in feature rd; do
        if ! have "$st"; then
            skiprow "$st" "$label" "build/bin/mint-$st missing (stage not merged yet)"
            continue
        fi
        say "bench: $st -j$JOBS on $(wc -l <"$RUN/work.list") tensors (launch budget ${STAGE_BUDGET}s)"
        timed bash "$0" --each "$st" "$JOBS" "$STAGE_BUDGET" "$idx" "$RUN/work.list" "$RUN/$st"
        local w=$TW c=$TC r=$TR done_n nerr nt np extra=""
        done_n=$(wc -l <"$RUN/$st/.done")
        nerr=$(grep -c . "$RUN/$st/.err")
        read -r nt np < <(sum_params "$table" "$RUN/$st/.done")
        cfg=""
        if [ "$st" = rd ] && [ "$done_n" -gt 0 ]; then
            local f
            f="$RUN/rd/$(head -n 1 "$RUN/$st/.done").json"
            cfg=$(awk '/"bits": /{ if ($2 + 0 != 16) n++ } END { print n + 0 }' "$f")
            [ "$cfg" -gt 0 ] || cfg=13
            extra="; ns/param is per parameter x configuration ($cfg quantized configurations)"
        fi
        [ "$done_n" -lt "$(wc -l <"$RUN/work.list")" ] &&
            extra="$extra; stopped after the ${STAGE_BUDGET}s budget: $done_n of $(wc -l <"$RUN/work.list") tensors"
        [ "$nerr" -gt 0 ] && extra="$extra; stderr: $(head -n 1 "$RUN/$st/.err" | cut -c1-120)"
        floor_of "$mdir" "$RUN/$st/.done"
        row "$st" "$label" "$nt" "$np" "$cfg" "$JOBS" "$w" "$c" "$r" "$FLOOR_S" "one process per tensor$extra"
        [ "$done_n" -eq "$(wc -l <"$RUN/work.list")" ] && ran="$ran $st"
    done
    # merge, solve, pack
    if ! have merge solve pack; then
        skiprow merge "$label" "mint-merge/solve/pack missing (stages not merged yet)"
        return 0
    fi
    case "$ran" in *feature*rd*|*rd*feature*) ;; *)
        skiprow merge "$label" "rd and feature did not cover every tensor: merge, solve, pack skipped"
        return 0 ;;
    esac
    : >"$RUN/profile.list"
    while IFS= read -r t; do
        echo "$RUN/rd/$t.json" >>"$RUN/profile.list"
        echo "$RUN/feature/$t.json" >>"$RUN/profile.list"
    done <"$RUN/work.list"
    say "bench: merge, solve ($BUDGET), pack"
    if timed "$BIN/mint-merge" "$idx" "@$RUN/profile.list" -o "$RUN/profile.json" 2>"$RUN/merge.err"; then
        row merge "$label" "$n" "$p" "" 1 "$TW" "$TC" "$TR" "" "reads rd + feature JSON only"
    else
        skiprow merge "$label" "mint-merge failed: $(tail -n 1 "$RUN/merge.err")"
        return 0
    fi
    if timed "$BIN/mint-solve" "$RUN/profile.json" --budget "$BUDGET" -o "$RUN/alloc.json" 2>"$RUN/solve.err"; then
        row solve "$label" "$n" "$p" "" 1 "$TW" "$TC" "$TR" "" "budget $BUDGET, exact solver"
    else
        skiprow solve "$label" "mint-solve failed: $(tail -n 1 "$RUN/solve.err")"
        return 0
    fi
    rm -rf "$RUN/packed"
    if timed "$BIN/mint-pack" "$idx" "$RUN/alloc.json" -o "$RUN/packed" 2>"$RUN/pack.err"; then
        floor_of "$mdir" "$RUN/all.list"
        row pack "$label" "$n" "$p" "" 1 "$TW" "$TC" "$TR" "$FLOOR_S" "quantize + write $(du -sh "$RUN/packed" 2>/dev/null | cut -f1)"
    else
        skiprow pack "$label" "mint-pack failed: $(tail -n 1 "$RUN/pack.err")"
    fi
    rm -rf "$RUN/packed"
}

# ---------------------------------------------------------------- 2. micro-benchmarks
micro_kv() { # TOOL FILE: key=value tokens of FILE -> CSV rows (section micro); quoted values kept
    awk -v tool="$1" '
        { line = $0; ctx = ""
          while (match(line, /(^|[ \t])[A-Za-z_][A-Za-z0-9_.]*=("[^"]*"|[^ \t]*)/)) {
              tok = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
              sub(/^[ \t]+/, "", tok)
              k = tok; sub(/=.*/, "", k); v = tok; sub(/^[^=]*=/, "", v); gsub(/"/, "", v); gsub(/,/, ";", v)
              if (ctx == "") ctx = k "=" v
              printf "micro,%s:%s,,,,,,,,,,,,,%s,line %d %s\n", tool, k, v, NR, ctx } }' "$2" >>"$CSV"
    grep -q "^micro,$1:" "$CSV" || note "$1: no key=value lines (its output: $2)"
}
micro() {
    local t out
    for t in "$BB"/*; do
        [ -x "$t" ] || continue
        case "$(basename "$t")" in bench-floor) continue ;; esac
        if late 30; then note "$(basename "$t"): skipped (past the ${DEADLINE}s deadline)"; continue; fi
        out=$RUN/micro-$(basename "$t").out
        say "bench: $(basename "$t") (timeout ${MICRO_TIMEOUT}s)"
        timeout "$MICRO_TIMEOUT" "$t" >"$out" 2>"$out.err"
        local rc=$?
        [ $rc -eq 0 ] || note "$(basename "$t"): exit $rc$([ $rc -eq 124 ] && echo " (timeout ${MICRO_TIMEOUT}s)")"
        micro_kv "$(basename "$t")" "$out"
    done
    for t in tests/bench/bench-*.sh; do
        [ -f "$t" ] || continue
        if late 30; then note "$(basename "$t"): skipped (past the ${DEADLINE}s deadline)"; continue; fi
        out=$RUN/micro-$(basename "$t" .sh).out
        say "bench: $t (timeout ${MICRO_TIMEOUT}s)"
        BENCH_TMP=$RUN timeout "$MICRO_TIMEOUT" bash "$t" >"$out" 2>"$out.err"
        local rc=$?
        [ $rc -eq 0 ] || note "$(basename "$t"): exit $rc$([ $rc -eq 124 ] && echo " (timeout ${MICRO_TIMEOUT}s)")"
        micro_kv "$(basename "$t" .sh)" "$out"
    done
}

# ---------------------------------------------------------------- pipeline helpers
pipeline_stages() { have index rd feature merge solve pack job; }
# pipe WORK OUT JOBS MODELDIR [extra make args]: the pipeline as users run it (run it as
# `timed "${PIPE[@]}"` after `pipe ...` sets the PIPE array, or call pipe_run)
pipe() {
    local w=$1 o=$2 j=$3 m=$4
    shift 4
    PIPE=(make -s -C "$ROOT" -j"$j" MODEL="$m" BUDGET="$BUDGET" WORK="$w" OUT="$o" "$@")
}
pipe_run() { pipe "$@"; "${PIPE[@]}"; }

# ---------------------------------------------------------------- 3. no-op make, 20k tensors
noop() {
    local mdir label w o log nsteps rate
    mdir=$(model_dir "$NOOP_SYNTH_ARGS")
    label=$(model_label "$NOOP_SYNTH_ARGS")
    if ! pipeline_stages; then
        skiprow noop-make "$label" "pipeline stages missing ($(for s in rd feature merge solve pack job; do have $s || printf 'mint-%s ' $s; done)): skipped"
        return
    fi
    say "bench: generating $label"
    # shellcheck disable=SC2086
    synth_model "$mdir" $NOOP_SYNTH_ARGS || { skiprow noop-make "$label" "mint-synth failed"; return; }
    w=$RUN/noop-work o=$RUN/noop-out log=$RUN/noop.log
    say "bench: cold pipeline on $label (at most ${COLD_TIMEOUT}s)"
    pipe "$w" "$o" "$JOBS" "$mdir"
    timed timeout "$COLD_TIMEOUT" "${PIPE[@]}" >"$log" 2>&1
    local rc=$? cw=$TW
    nsteps=$(cat "$w"/log/stages.log 2>/dev/null | wc -l)
    local tmk
    tmk=$(ls "$w"/m/*/tensors.mk 2>/dev/null | head -n 1)
    if [ -z "$tmk" ]; then
        skiprow noop-make "$label" "cold pipeline made no work list (exit $rc): $(grep -v '^\[' "$log" | tail -n 1 | cut -c1-150)"
        return
    fi
    local items
    items=$(grep -c '^  $(CAS)/\(rd\|feat\)/' "$tmk")
    rate=$(awk -v n="$nsteps" -v t="$cw" 'BEGIN { if (n > 1) printf "%.3f", t / n }')
    local marked=0 ntens nper eta
    ntens=$(sed -n 's/^  "n_tensors": \([0-9]*\),*$/\1/p' "$(dirname "$tmk")/index.json" | head -n 1)
    nper=$(awk '$1 == "rd" || $1 == "feat" || $1 == "feature"' "$w"/log/stages.log 2>/dev/null | wc -l)
    eta=$(grep -o 'ETA [0-9hms]*' "$log" | tail -n 1)
    if [ $rc -eq 0 ]; then
        row cold-make "$label" "$ntens" "" "" "$JOBS" "$cw" "$TC" "$TR" "" "full cold pipeline: $nsteps stage runs"
    else
        row cold-make "$label" "$ntens" "" "" "$JOBS" "$cw" "$TC" "$TR" "" "cold pipeline stopped after ${COLD_TIMEOUT}s (exit $rc): index + $nper of $items per-tensor runs (${rate:-?} s per stage run at -j$JOBS); the pipeline's own estimate for the rest: ${eta:-none}"
        # mark the rest up to date: empty per-tensor outputs (order-only prerequisites:
        # existence is what counts), then make -t for the fan-in targets
        say "bench: marking the remaining graph up to date (empty per-tensor files + make -t)"
        sed -n 's#^  \$(CAS)\(.*\) \\$#\1#p' "$tmk" | sed "s#^#$w/cas#" >"$RUN/noop.items"
        sed 's|/[^/]*$||' "$RUN/noop.items" | sort -u | xargs -r mkdir -p
        xargs -r touch <"$RUN/noop.items" # missing ones created empty; real ones keep their bytes
        mkdir -p "$o/$(basename "$mdir")-$BUDGET"
        if ! pipe_run "$w" "$o" 1 "$mdir" -t >>"$log" 2>&1; then
            skiprow noop-make "$label" "make -t failed: $(tail -n 1 "$log" | cut -c1-150)"
            return
        fi
        marked=1
    fi
    local before after how="after a full cold build"
    [ $marked = 1 ] && how="graph marked up to date with make -t (no stage ran)"
    before=$(cat "$w"/log/stages.log 2>/dev/null | wc -l)
    pipe "$w" "$o" "$JOBS" "$mdir"
    timed "${PIPE[@]}" >>"$log" 2>&1
    rc=$?
    after=$(cat "$w"/log/stages.log 2>/dev/null | wc -l)
    if [ $rc -eq 0 ] && [ "$after" -eq "$before" ]; then
        row noop-make "$label" "$ntens" "" "" "$JOBS" "$TW" "$TC" "$TR" "" "$items per-tensor items; $how"
    else
        row noop-make "$label" "" "" "" "$JOBS" "$TW" "$TC" "$TR" "" "NOT a no-op: exit $rc, $((after - before)) stage runs ($how)"
    fi
}

# ---------------------------------------------------------------- 4. -j2 / -j1
jspeed() {
    local mdir label t1 t2 r1 r2
    mdir=$(model_dir "$J_SYNTH_ARGS")
    label=$(model_label "$J_SYNTH_ARGS")
    if ! pipeline_stages; then
        skiprow "make -j2/-j1" "$label" "pipeline stages missing: skipped"
        return
    fi
    # shellcheck disable=SC2086
    synth_model "$mdir" $J_SYNTH_ARGS || { skiprow "make -j2/-j1" "$label" "mint-synth failed"; return; }
    say "bench: cold pipeline -j1 and -j$JOBS on $label"
    pipe "$RUN/j1-work" "$RUN/j1-out" 1 "$mdir"
    timed "${PIPE[@]}" >"$RUN/j1.log" 2>&1
    r1=$? t1=$TW
    row "make -j1" "$label" "" "" "" 1 "$TW" "$TC" "$TR" "" "cold pipeline (index, rd, feature, merge, solve, pack); exit $r1"
    pipe "$RUN/j2-work" "$RUN/j2-out" "$JOBS" "$mdir"
    timed "${PIPE[@]}" >"$RUN/j2.log" 2>&1
    r2=$? t2=$TW
    row "make -j$JOBS" "$label" "" "" "" "$JOBS" "$TW" "$TC" "$TR" "" "cold pipeline; exit $r2"
    if [ $r1 -eq 0 ] && [ $r2 -eq 0 ]; then
        local sp
        sp=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", a / b }')
        printf 'stage,speedup -j%s/-j1,%s,,,,%s,,,,,,,,%s,make -j1 %ss / make -j%s %ss\n' "$JOBS" \
            "$(csvq "$label")" "$JOBS" "$sp" "$t1" "$JOBS" "$t2" >>"$CSV"
        diff -r "$RUN/j1-out" "$RUN/j2-out" >/dev/null || note "make -j1 and -j$JOBS outputs differ!"
    else
        note "make -j1/-j$JOBS: pipeline failed (exit $r1/$r2): $(tail -n 1 "$RUN/j1.log" | cut -c1-150)"
    fi
    rm -rf "$RUN/j1-work" "$RUN/j2-work" "$RUN/j1-out" "$RUN/j2-out"
}

# ---------------------------------------------------------------- run
SW='' SC='' SR=''

if ! skipped stages; then stage_table "$SYNTH_ARGS"; fi
if [ "$MODE" = 8b ]; then
    tot=$(awk -F, '$1 == "stage" && ($2 == "rd" || $2 == "feature") && $8 != "" { s += $8; n++ } END { if (n == 2) printf "%.1f", s }' "$CSV")
    if [ -n "$tot" ]; then
        verdict=$(awk -v t="$tot" 'BEGIN { print (t <= 180 ? "within" : "over") }')
        printf 'stage,analysis rd+feature,%s,,,,%s,%s,,,,,,,%s,target <= 180 s: %s\n' "$(csvq "$MODEL_LABEL")" \
            "$JOBS" "$tot" "$tot" "$verdict" >>"$CSV"
    fi
else
    if ! skipped micro; then micro; fi
    if ! skipped noop; then
        if late 120; then skiprow noop-make "$NOOP_SYNTH_ARGS" "skipped: past the ${DEADLINE}s deadline"; else noop; fi
    fi
    if ! skipped jobs; then
        if late 60; then skiprow "make -j2/-j1" "$J_SYNTH_ARGS" "skipped: past the ${DEADLINE}s deadline"; else jspeed; fi
    fi
fi

# ---------------------------------------------------------------- report
{
    echo
    echo "mint bench ($MODE): $(machine)"
    echo "timings: wall-clock, one run each, noisy on a shared machine; ns/param = wall x 1e9 / params"
    echo "(rd: / (params x configurations)); peak RSS = largest single process; floor = one read-only"
    echo "pass over the same tensor bytes (mmap, 1 thread); ratio = wall / floor"
    echo
    awk -F, '
        function q(s) { return s == "" ? "-" : s }
        function h(p) { return p == "" ? "-" : p >= 1e9 ? sprintf("%.2fG", p / 1e9) : p >= 1e6 ? sprintf("%.1fM", p / 1e6) : p >= 1e3 ? sprintf("%.1fK", p / 1e3) : p }
        NR == 1 { next }
        $1 == "stage" {
            line = sprintf("%-18s %7s %8s %3s %9s %10s %8s %8s %8s %6s", $2, q($4), h($5), q($7), q($8), q($10), q($9), q($11), q($12), q($14))
            rows[++n] = line; notes[n] = $16 ($15 != "" ? " [" $15 "]" : ""); model[n] = $3
        }
        $1 == "micro" && $2 ~ /^bench-solve:/ { }
        END {
            printf "%-18s %7s %8s %3s %9s %10s %8s %8s %8s %6s  %s\n", "stage", "tensors", "params", "-j", "wall s", "ns/param", "cpu s", "RSS MiB", "floor s", "ratio", "model / note"
            for (i = 1; i <= n; i++) printf "%s  %s%s\n", rows[i], model[i], notes[i] != "" ? ": " notes[i] : ""
        }' "$CSV"
    # bench-solve summary: exact vs greedy on 20,000 groups
    if grep -q '^micro,bench-solve:exact_ms' "$CSV"; then
        echo
        echo "solve, 20,000 groups (bench-solve; best of its repeats):"
        awk -F, '$2 == "bench-solve:groups" { g = $15 }
                 $2 == "bench-solve:bpw" { b = $15 }
                 $2 == "bench-solve:exact_ms" { e = $15 }
                 $2 == "bench-solve:greedy_ms" { printf "  %s groups  bpw %-5s exact %9s ms   greedy %9s ms\n", g, b, e, $15 }' "$CSV"
    fi
    if grep -q '^micro,' "$CSV"; then
        echo
        echo "micro-benchmarks (timings only; every key=value is in results.csv, section micro):"
        awk -F, '
            function flush() { if (rec != "") printf "  %-14s %-18s%s\n", tool, ctx, rec; rec = ""; ctx = ""; pin = 0; delete seen }
            $1 == "micro" && $2 !~ /^bench-solve:/ {
                split($2, a, ":"); k = a[2]
                if (a[1] != tool) { flush(); tool = a[1] }
                if (k in seen) flush()
                seen[k] = 1
                if (k ~ /(ns_per_param|_ms|_s|seconds|gbps|gflops|speedup)$/) rec = rec " " k "=" $15
                else if (k ~ /^(shape|bpw|size|groups|model|rows|tensor|mib|params)$/ && !pin) { ctx = k "=" $15; pin = 1 }
                else if (ctx == "" && length($15) <= 16 && k !~ /^(bench|cpu|dtype|openblas)$/) ctx = k "=" $15 }
            END { flush() }' "$CSV"
    fi
    if [ -s "$NOTES" ]; then
        echo
        echo "notes:"
        sed 's/^/  /' "$NOTES"
    fi
    echo
    echo "total bench time $(elapsed) s; results: $BENCH/results$SUF.csv"
} >"$RUN/table.txt"
cp "$CSV" "$BENCH/results$SUF.csv.tmp" && mv -f "$BENCH/results$SUF.csv.tmp" "$BENCH/results$SUF.csv"
cp "$RUN/table.txt" "$BENCH/table$SUF.txt"
cat "$RUN/table.txt"
