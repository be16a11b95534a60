#!/usr/bin/env bash
# bench-index: mint-index throughput and resident memory on a large synthetic model
# (issue 3, acceptance 5).  Never run by `make test`.
#
#   bash tests/bench/bench-index.sh [MIB]      (default 2048: 16 BF16 [8192, 8192] tensors)
#
# Writes the model with `mint-testtool big` (streamed, 1 MiB at a time) into a temporary
# directory under ${BENCH_TMP:-/tmp}, then measures, in this order:
#   cold cat   - the file dropped from the page cache, `cat FILE >/dev/null` (the disk's speed)
#   cold dd    - dropped again, `dd bs=64M` (large reads: the disk's speed without cat's
#                small-read overhead)
#   cold index - dropped again, mint-index (mmap + XXH3-128 per tensor)
#   warm cat   - file in the page cache (memory speed)
#   warm index - file in the page cache
# "Dropped" uses dd iflag=nocache (POSIX_FADV_DONTNEED on this file only); if the kernel keeps
# the pages anyway the cold numbers are warm ones, which the report then says.  Peak RSS comes
# from /usr/bin/time -v when present, else from mint-index's own summary (VmHWM).
set -u
cd "$(dirname "$0")/../.."
mib=${1:-2048}
export LC_ALL=C OPENBLAS_NUM_THREADS=1
make -s build test-build >/dev/null || exit 1
tool=build/tests/tool/mint-testtool idx=build/bin/mint-index
tmp=$(mktemp -d "${BENCH_TMP:-/tmp}/mint-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
gbps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.2f", n / 1e9 / s }'; }
drop() { dd if="$1" iflag=nocache count=0 status=none 2>/dev/null ||
         echo "  (could not drop $1 from the page cache)"; }
cached_mib() { # resident pages of FILE in the page cache, MiB (fincore when available)
    if command -v fincore >/dev/null; then
        fincore -b -n -o RES "$1" 2>/dev/null | awk '{ printf "%.0f", $1 / 1048576 }'
    else echo "?"; fi
}
timed_index() { # label: runs mint-index, prints seconds, GB/s, peak RSS
    local label=$1 t0 t1 rss
    t0=$(now)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$idx" "$tmp/big" -o "$tmp/index.json" 2>"$tmp/$label.err" || {
            cat "$tmp/$label.err"; exit 1; }
        rss=$(awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$tmp/$label.err")
    else
        "$idx" "$tmp/big" -o "$tmp/index.json" 2>"$tmp/$label.err" || { cat "$tmp/$label.err"; exit 1; }
        rss=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' "$tmp/$label.err")
    fi
    t1=$(now)
    echo "$rss" >"$tmp/$label.rss"
    local s; s=$(secs "$t0" "$t1")
    printf '  %-11s %7.3f s  %6s GB/s  peak RSS %8s MiB   (%s)\n' "$label" "$s" \
        "$(gbps "$bytes" "$s")" "$rss" "$(grep -o 'hashed.*' "$tmp/$label.err")"
}
timed_cat() { # label [dd]
    local label=$1 t0 t1 s
    t0=$(now)
    if [ $# -gt 1 ]; then dd if="$file" of=/dev/null bs=64M status=none; else cat "$file" >/dev/null; fi
    t1=$(now); s=$(secs "$t0" "$t1")
    printf '  %-11s %7.3f s  %6s GB/s\n' "$label" "$s" "$(gbps "$bytes" "$s")"
}

echo "bench-index: ${mib} MiB synthetic model in $tmp"
t0=$(now)
"$tool" big "$tmp/big" "$mib" || exit 1
t1=$(now)
file=$tmp/big/model.safetensors
bytes=$(stat -c %s "$file")
sync "$file" 2>/dev/null || sync
printf '  written     %7.3f s  %6s GB/s  (%d bytes, mint-testtool big)\n' "$(secs "$t0" "$t1")" \
    "$(gbps "$bytes" "$(secs "$t0" "$t1")")" "$bytes"

drop "$file"; echo "  page cache holds $(cached_mib "$file") MiB of the file before the cold runs"
timed_cat "cold cat"
drop "$file"
timed_cat "cold dd" dd
drop "$file"
timed_index "cold index"
timed_cat "warm cat"
timed_index "warm index"
echo "  $(grep -o '[0-9]* tensors in .*' "$tmp/warm index.err" | head -1)"
echo "  file size $(awk -v b="$bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }'); $(nproc) cores; $(uname -r)"
awk -v r="$(cat "$tmp/warm index.rss")" -v b="$bytes" 'BEGIN {
    printf "  resident memory %.1f MiB = %.1f%% of the file: %s\n", r, r * 1048576 / b * 100,
        r * 1048576 < b / 8 ? "far below the file size" : "NOT far below the file size" }'
