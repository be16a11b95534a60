#!/usr/bin/env bash
# mint-report on made-up results: CSV rows, Markdown, well-formed SVG, the PPL(B) fit recovering
# known parameters, deterministic and write-if-changed outputs, errors.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }

res() { # file model text method bytes ppl [extra json]
    printf '{"model": "%s", "text": "%s", "method": "%s", "model_bytes": %s, "ppl": %s%s}\n' \
        "$2" "$3" "$4" "$5" "$6" "${7:-}" >"$1"
}
res orig.json tiny ts original 2626168 34.0036 ', "median_window_ppl": 34.75, "n_params": 656000, "tokens": 32704, "windows": 64'
res u4.json tiny ts uniform 369920 39.2
res u8.json tiny ts uniform 697600 34.1
# an exact curve: PPL = 33.8 + 0.9 / (B - 0.33)^0.7, B in MB (10^6 bytes)
i=0
for b in 370000 400000 450000 520000 600000 750000; do
    p=$(awk -v b="$b" 'BEGIN { printf "%.9f", 33.8 + 0.9 / (b / 1e6 - 0.33) ^ 0.7 }')
    res "m$i.json" tiny ts "mint, exact" "$b" "$p"
    i=$((i + 1))
done
res w1.json tiny 'wiki<&>' original 2626168 981.5
res w2.json tiny 'wiki<&>' uniform 369920 5000
printf '# results\n\norig.json\nu4.json\n  u8.json  \n' >list.txt

"$BIN/mint-report" -o out --list list.txt m*.json w1.json w2.json >stdout 2>stderr ||
    { bad "exit $?"; cat stderr; }
for f in quality.csv quality.md fits.csv quality-tiny-ts.svg 'quality-tiny-wiki___.svg'; do
    [ -s "out/$f" ] || bad "missing out/$f"
done

# CSV: header + 11 rows, sorted (original first), quoting of a comma
[ "$(head -n1 out/quality.csv)" = "model,text,method,model_bytes,bits_per_param,ppl,median_window_ppl,mean_nll,tokens,windows,file" ] ||
    bad "csv header"
[ "$(wc -l <out/quality.csv)" = 12 ] || bad "csv rows: $(wc -l <out/quality.csv)"
sed -n 2p out/quality.csv | grep -q '^tiny,ts,original,2626168,32.0264,34.0036,34.75,,32704,64,orig.json$' ||
    bad "csv original row: $(sed -n 2p out/quality.csv)"
[ "$(grep -c '^tiny,ts,"mint, exact",' out/quality.csv)" = 6 ] || bad "csv quoting"
[ "$(grep -c '^tiny,ts,uniform,' out/quality.csv)" = 2 ] || bad "csv uniform rows"
awk -F, 'NR > 1 && $2 == "ts" && $3 == "uniform" { print $4 }' out/quality.csv | sort -c -n || bad "csv order"

# fit: recovers the curve (B0 on a grid, so loose tolerances); RMSE ~ 0
line=$(grep '^tiny,ts,"mint, exact",' out/fits.csv)
echo "fit: $line"
echo "$line" | awk -F, '{ a = $(NF-4); b = $(NF-3); c = $(NF-2); b0 = $(NF-1); r = $NF
    ok = $(NF-6) == 6 && $(NF-5) == "MB" && (a - 33.8)^2 < 0.05^2 && (b - 0.9)^2 < 0.1^2 &&
         (c - 0.7)^2 < 0.05^2 && (b0 - 0.33)^2 < 0.005^2 && r < 0.002
    exit !ok }' || bad "fit parameters"
grep -q 'fit tiny ts mint, exact: PPL(B) = ' stdout || bad "fit on stdout"
[ "$(wc -l <out/fits.csv)" = 2 ] || bad "fits.csv: only methods with >= 3 points"

# Markdown
grep -q '^# Quality report' out/quality.md || bad "md title"
grep -q '^## tiny on ts$' out/quality.md || bad "md section"
grep -q '^| original | 2626168 | 2.626 | 32.026 | 34.0036 | 34.7500 | +0.00% |$' out/quality.md ||
    bad "md original row"
grep -q '^| uniform | 369920 | .* | 39.2000 | – | +15.28% |$' out/quality.md || bad "md delta"
grep -q '](quality-tiny-ts.svg)' out/quality.md || bad "md image"
grep -q '^| mint, exact | 6 | ' out/quality.md || bad "md fit row"

# SVG: well-formed (xmllint when installed, else structural greps), ticks, labels, legend
for s in out/*.svg; do
    if command -v xmllint >/dev/null 2>&1; then
        xmllint --noout "$s" || bad "$s: not well-formed"
    fi
    head -n1 "$s" | grep -q '^<?xml version="1.0" encoding="UTF-8"?>$' || bad "$s: xml header"
    grep -q '^<svg xmlns="http://www.w3.org/2000/svg" ' "$s" || bad "$s: svg root"
    [ "$(tail -n1 "$s")" = "</svg>" ] || bad "$s: not closed"
    [ "$(grep -c '<svg' "$s")" = 1 ] || bad "$s: one root"
    [ "$(grep -o '<g[ >]' "$s" | wc -l)" = "$(grep -o '</g>' "$s" | wc -l)" ] || bad "$s: <g> balance"
    [ "$(grep -o '<text' "$s" | wc -l)" = "$(grep -o '</text>' "$s" | wc -l)" ] || bad "$s: <text> balance"
    # no raw & or < inside text content
    sed -n 's/.*<text[^>]*>\(.*\)<\/text>/\1/p' "$s" | grep -q '[<>]\|&[^a-z#]' && bad "$s: unescaped text"
    # every element line is closed on its line (self-closing or with its end tag)
    grep -v -e '^<?xml' -e '^<svg ' -e '^</svg>' -e '^<g ' -e '^</g>' -e '/>$' -e '</text>$' \
        -e '</clipPath></defs>$' "$s" | grep -q . && bad "$s: unclosed element"
    grep -q 'model size (MB' "$s" && grep -q 'perplexity (exp mean NLL)' "$s" || bad "$s: axis labels"
done
s=out/quality-tiny-ts.svg
[ "$(grep -c 'stroke-dasharray' "$s")" = 2 ] || bad "fit curve + legend entry"
grep -q '>mint, exact (6)</text>' "$s" && grep -q '>uniform (2)</text>' "$s" &&
    grep -q '>original (1)</text>' "$s" || bad "legend"
[ "$(grep -c 'text-anchor="end" font-size="12"' "$s")" -ge 3 ] || bad "y tick labels"
[ "$(grep -c 'text-anchor="middle" font-size="12"' "$s")" -ge 3 ] || bad "x tick labels"
grep -q 'wiki&lt;&amp;&gt;' out/quality-tiny-wiki___.svg || bad "escaping in the title"
grep -q 'log scale' out/quality-tiny-ts.svg && bad "linear y expected for tiny/ts"
grep -q 'log scale' out/quality-tiny-wiki___.svg || bad "log y expected for tiny/wiki"

# deterministic, and an unchanged output keeps its mtime
cp -r out out.1
touch -d '2000-01-01' out/quality.csv
"$BIN/mint-report" -q -o out --list list.txt m*.json w1.json w2.json || bad "second run"
diff -r out out.1 >/dev/null || bad "outputs differ between runs"
[ "$(stat -c %Y out/quality.csv)" = "$(date -d '2000-01-01' +%s)" ] || bad "rewrote an unchanged file"

# errors
expect_err() { # label, code, regex, args...
    local label=$1 code=$2 re=$3; shift 3
    "$BIN/mint-report" "$@" >out.txt 2>err.txt
    local rc=$?
    [ $rc -eq "$code" ] || bad "$label: exit $rc, want $code"
    grep -qE "$re" err.txt || { bad "$label: stderr"; cat err.txt; }
}
printf '{"model": "m", "text": "t", "method": "x", "model_bytes": 10}\n' >noppl.json
expect_err "missing ppl" 1 "^mint-report: noppl.json: missing positive number 'ppl'" -o e1 noppl.json
[ ! -e e1 ] || bad "created the output directory on error"
expect_err "duplicate" 1 "^mint-report: u4.json: same model, text, method and model_bytes as u4.json" \
    -o e2 u4.json u4.json
printf 'not json' >junk.json
expect_err "junk" 1 '^mint-report: junk.json:1:' -o e3 junk.json
expect_err "missing file" 1 '^mint-report: nope.json: No such file' -o e4 nope.json
expect_err "missing list" 1 '^mint-report: nolist.txt: No such file' -o e5 --list nolist.txt
expect_err "no -o" 2 '^usage: mint-report' u4.json
expect_err "no inputs" 2 '^usage: mint-report' -o e6
expect_err "bad flag" 2 '^usage: mint-report' -o e7 --bogus u4.json
"$BIN/mint-report" --help >out.txt && grep -q '^usage: mint-report' out.txt || bad "--help"

exit $fail
