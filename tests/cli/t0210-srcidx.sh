#!/usr/bin/env bash
# The index sidecar (<index.json>.tsv, include/mint/srcidx.h): mint-rd and mint-feature give the
# same bytes with and without it, never trust a stale or tampered one, read only the shard that
# holds the tensor (multi-shard models), and mint-index's resident memory stays bounded.
set -u
export LC_ALL=C OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$MINT_ROOT" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_err() { # code pattern out cmd...
    local code=$1 pat=$2 out=$3; shift 3
    "$@" >"$tmp/stdout" 2>"$tmp/stderr"; local rc=$?
    [ $rc -eq "$code" ] || fail "$*: exit $rc, want $code ($(cat "$tmp/stderr"))"
    grep -q -- "$pat" "$tmp/stderr" || fail "$*: stderr lacks '$pat': $(cat "$tmp/stderr")"
    [ -z "$out" ] || [ ! -e "$out" ] || fail "$*: left $out behind"
}
names() { sed -n 's/^   "name": "\(.*\)",$/\1/p' "$1"; }
S=tests/data/models/stories260K T=tests/data/models/tinystories-656k

# the sidecar: written next to the index, write-if-changed, one line per tensor + header
$BIN/mint-index $S -o "$tmp/s.json" -q || exit 1
[ -f "$tmp/s.json.tsv" ] || fail "no sidecar next to s.json"
[ "$(head -c 14 "$tmp/s.json.tsv")" = "$(printf 'mint-srcidx\t1\t')" ] || fail "sidecar magic"
[ "$(wc -l <"$tmp/s.json.tsv")" -eq $((47 + 3)) ] || fail "sidecar: $(wc -l <"$tmp/s.json.tsv") lines, want 50"
names "$tmp/s.json" | cmp -s - <(tail -n +4 "$tmp/s.json.tsv" | cut -f1) || fail "sidecar tensors differ from the index's"
touch -d '2000-01-01' "$tmp/s.json.tsv"
$BIN/mint-index $S -o "$tmp/s.json" -q || fail "rerun exit $?"
[ "$(stat -c %Y "$tmp/s.json.tsv")" -lt 1000000000 ] || fail "unchanged sidecar was rewritten"

# with and without the sidecar: identical rd.json and feat.json (every tensor of both models)
$BIN/mint-index $T -o "$tmp/t.json" -q || exit 1
for m in s t; do
    cp "$tmp/$m.json" "$tmp/$m-plain.json" # no sidecar
    for t in $(names "$tmp/$m.json"); do
        $BIN/mint-rd "$tmp/$m.json" "$t" -o "$tmp/a.json" -q || fail "rd $m $t: exit $?"
        $BIN/mint-rd "$tmp/$m-plain.json" "$t" -o "$tmp/b.json" -q || fail "rd plain $m $t: exit $?"
        cmp -s "$tmp/a.json" "$tmp/b.json" || fail "rd $m $t: sidecar changes the output"
        $BIN/mint-feature "$tmp/$m.json" "$t" -o "$tmp/a.json" -q --rank 16 || fail "feat $m $t: exit $?"
        $BIN/mint-feature "$tmp/$m-plain.json" "$t" -o "$tmp/b.json" -q --rank 16 || fail "feat plain $m $t: exit $?"
        cmp -s "$tmp/a.json" "$tmp/b.json" || fail "feat $m $t: sidecar changes the output"
    done
done
# the notes on stderr too (auto norm of a tied embedding, an explicit one)
$BIN/mint-rd "$tmp/t.json" model.embed_tokens.weight -o "$tmp/a.json" --configs 4:64 2>"$tmp/e1" || fail "rd exit $?"
$BIN/mint-rd "$tmp/t-plain.json" model.embed_tokens.weight -o "$tmp/b.json" --configs 4:64 2>"$tmp/e2" || fail "rd exit $?"
grep -q '"norm": "model.norm.weight"' "$tmp/a.json" && cmp -s "$tmp/a.json" "$tmp/b.json" || fail "tied embedding norm"
[ "$(sed 's/, [0-9.]* s$//' "$tmp/e1")" = "$(sed 's/, [0-9.]* s$//' "$tmp/e2")" ] || fail "summary lines differ"

# feature reads in chunks (64 MiB): the result does not depend on the chunk size
for c in 1000 4096; do
    MINT_FEATURE_CHUNK=$c $BIN/mint-feature "$tmp/t.json" model.embed_tokens.weight -o "$tmp/c.json" -q --rank 16 || fail "chunk $c: exit $?"
    $BIN/mint-feature "$tmp/t.json" model.embed_tokens.weight -o "$tmp/d.json" -q --rank 16
    cmp -s "$tmp/c.json" "$tmp/d.json" || fail "feature: chunk size $c changes the output"
done

# stale: the model changes, is re-indexed, and an old sidecar comes back -> not trusted
cp -r $T "$tmp/m"
$BIN/mint-index "$tmp/m" -o "$tmp/m.json" -q || exit 1
cp "$tmp/m.json.tsv" "$tmp/old.tsv"
q=model.layers.0.self_attn.q_proj.weight
off=$(grep -A12 "\"name\": \"$q\"" "$tmp/m.json" | sed -n 's/.*"offset": \([0-9]*\).*/\1/p')
"$TOOLBIN/mint-testtool" flip "$tmp/m/model.safetensors" $((off + 100)) || fail "flip"
expect_err 1 "^mint-rd: $q: content hash differs from the index" "$tmp/h.json" $BIN/mint-rd "$tmp/m.json" $q -o "$tmp/h.json"
$BIN/mint-index "$tmp/m" -o "$tmp/m.json" -q || exit 1
cmp -s "$tmp/m.json.tsv" "$tmp/old.tsv" && fail "re-index kept the old sidecar"
cp "$tmp/old.tsv" "$tmp/m.json.tsv"
$BIN/mint-rd "$tmp/m.json" $q -o "$tmp/h.json" -q || fail "stale sidecar trusted (rd exit $?)"
$BIN/mint-feature "$tmp/m.json" $q -o "$tmp/hf.json" -q --rank 16 || fail "stale sidecar trusted (feature exit $?)"
# index.json edited by hand (model.dir now wrong), sidecar left: the JSON wins
$BIN/mint-index $T -o "$tmp/e.json" -q || exit 1
sed -i "s|\"dir\": \"$T\"|\"dir\": \"$tmp/nowhere\"|" "$tmp/e.json"
expect_err 1 "nowhere/model.safetensors: No such file" "$tmp/x.json" $BIN/mint-rd "$tmp/e.json" $q -o "$tmp/x.json"
expect_err 1 "nowhere/model.safetensors: No such file" "$tmp/x.json" $BIN/mint-feature "$tmp/e.json" $q -o "$tmp/x.json"
# sidecar edited by hand (its dir), index.json intact: the sidecar is not trusted
$BIN/mint-index $T -o "$tmp/e.json" -q || exit 1
sed -i "2s|\t$T\$|\t$tmp/nowhere|" "$tmp/e.json.tsv"
grep -q nowhere "$tmp/e.json.tsv" || fail "could not edit the sidecar"
$BIN/mint-rd "$tmp/e.json" $q -o "$tmp/x.json" -q || fail "tampered sidecar trusted (rd exit $?)"
$BIN/mint-feature "$tmp/e.json" $q -o "$tmp/x.json" -q --rank 16 || fail "tampered sidecar trusted (feature exit $?)"
# errors the old path gave keep their wording with the sidecar
expect_err 1 '^mint-rd: model.nope.weight: unknown tensor (not in' "$tmp/u.json" $BIN/mint-rd "$tmp/t.json" model.nope.weight -o "$tmp/u.json"
expect_err 1 '^mint-feature: model.nope.weight: not in the index' "$tmp/u.json" $BIN/mint-feature "$tmp/t.json" model.nope.weight -o "$tmp/u.json"

# a multi-shard model: tensors of every shard, sidecar vs JSON, and only the holding shard is
# read (the other shards may vanish); a shard whose size changed is refused
$BIN/mint-synth --arch tiny-moe -o "$tmp/moe" --shard-size 1M -q || exit 1
nsh=$(ls "$tmp/moe"/model-*.safetensors | wc -l)
[ "$nsh" -ge 3 ] || fail "tiny-moe: only $nsh shards"
$BIN/mint-index "$tmp/moe" -o "$tmp/moe.json" -q || exit 1
cp "$tmp/moe.json" "$tmp/moe-plain.json"
# the first tensor of each shard (keys are sorted: "file" comes before "name")
picks=$(awk '/^   "file": /{f=$2} /^   "name": /{n=$2} /^  }/{if (f != "" && !(f in seen)) {seen[f]=1; print n} f=""}' \
    "$tmp/moe.json" | tr -d '",')
[ "$(echo "$picks" | grep -c .)" -eq "$nsh" ] || fail "one tensor per shard: $(echo $picks)"
for t in $picks model.layers.0.mlp.experts.1.up_proj.weight; do
    for st in rd feature; do
        $BIN/mint-$st "$tmp/moe.json" "$t" -o "$tmp/a.json" -q || fail "moe $st $t: exit $?"
        $BIN/mint-$st "$tmp/moe-plain.json" "$t" -o "$tmp/b.json" -q || fail "moe plain $st $t: exit $?"
        cmp -s "$tmp/a.json" "$tmp/b.json" || fail "moe $st $t: sidecar changes the output"
    done
done
t=model.layers.0.mlp.experts.1.up_proj.weight
f=$(grep -B3 "\"name\": \"$t\"" "$tmp/moe.json" | sed -n 's/.*"file": "\(.*\)",/\1/p')
$BIN/mint-rd "$tmp/moe.json" $t -o "$tmp/keep.json" -q || fail "moe rd exit $?"
mkdir "$tmp/away"
for g in "$tmp/moe"/model-*.safetensors; do [ "$(basename "$g")" = "$f" ] || mv "$g" "$tmp/away/"; done
$BIN/mint-rd "$tmp/moe.json" $t -o "$tmp/only.json" -q --norm none || fail "rd needs other shards (exit $?)"
$BIN/mint-rd "$tmp/moe.json" $t -o "$tmp/n.json" --norm model.layers.0.post_attention_layernorm.weight 2>"$tmp/stderr"
nf=$(grep -B3 '"name": "model.layers.0.post_attention_layernorm.weight"' "$tmp/moe.json" | sed -n 's/.*"file": "\(.*\)",/\1/p')
[ -n "$f" ] && [ -n "$nf" ] || fail "no file for $t or its norm"
[ "$nf" != "$f" ] || fail "want the norm in another shard than $t ($f)"
grep -q "$nf: No such file" "$tmp/stderr" || fail "norm in a missing shard: $(cat "$tmp/stderr")"
mv "$tmp/away"/* "$tmp/moe/"
$BIN/mint-rd "$tmp/moe.json" $t -o "$tmp/again.json" -q || fail "moe rd exit $?"
cmp -s "$tmp/keep.json" "$tmp/again.json" || fail "moe rd: other bytes"
printf 'x' >>"$tmp/moe/$f"
expect_err 1 "$f: .* bytes, the index says .* (model changed since indexing?)" "$tmp/y.json" \
    $BIN/mint-rd "$tmp/moe.json" $t -o "$tmp/y.json"
expect_err 1 "$f: .* bytes, the index says" "$tmp/y.json" $BIN/mint-feature "$tmp/moe.json" $t -o "$tmp/y.json"

# mint-index on many small tensors: pages are dropped as hashed (peak RSS well under the
# 49 MiB of data; it was all of it before)
$BIN/mint-synth --arch qwen3-30b-a3b --scale 0.01 --layers 4 --vocab 1024 --shard-size 3M -o "$tmp/q3" -q || exit 1
$BIN/mint-index "$tmp/q3" -o "$tmp/q3.json" 2>"$tmp/stderr" || fail "q3 index exit $?"
rss=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' "$tmp/stderr")
awk -v r="$rss" 'BEGIN{exit !(r + 0 > 0 && r + 0 < 30)}' || fail "mint-index peak RSS $rss MiB on 1575 small tensors (want < 30)"
[ "$(grep -vc '^file	\|^model	\|^mint-srcidx	' "$tmp/q3.json.tsv")" -eq 1575 ] || fail "q3 sidecar lines"

# the sanitizer build reads the sidecar too
if [ -x "$SANBIN/mint-rd" ]; then
    $SANBIN/mint-rd "$tmp/t.json" $q -o "$tmp/san.json" -q || fail "san rd exit $?"
    $BIN/mint-rd "$tmp/t.json" $q -o "$tmp/nosan.json" -q
    cmp -s "$tmp/san.json" "$tmp/nosan.json" || fail "sanitizer build: other bytes"
    $SANBIN/mint-feature "$tmp/moe.json" model.layers.0.self_attn.q_proj.weight -o "$tmp/san.json" -q || fail "san feature exit $?"
fi

[ $fails -eq 0 ] && echo "ok" || { echo "$fails failures"; exit 1; }
