#!/usr/bin/env bash
# make -j1 and make -j2 produce byte-identical output directories and reports.
. "$(dirname "$0")/lib.sh"
mk -j1 BUDGET=300K WORK="$tmp/w1" OUT="$tmp/o1"
mk -j2 BUDGET=300K WORK="$tmp/w2" OUT="$tmp/o2"
diff -r "$tmp/o1" "$tmp/o2" >/dev/null || fail "outputs differ between -j1 and -j2"
for f in profile.json alloc-300K.json; do
    cmp "$tmp"/w1/m/*/"$f" "$tmp"/w2/m/*/"$f" || fail "$f differs"
done
