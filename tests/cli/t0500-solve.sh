#!/usr/bin/env bash
# mint-solve: budgets and units, min-safe, all-16-bit, exact vs greedy, veto, priors, weights,
# losses, hand-written profiles with known optima, determinism, no output on error.
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
expect_err() { # EXIT_CODE MESSAGE command...: code, message on stderr, no output file
    local code=$1 msg=$2; shift 2
    rm -f "$tmp/out.json"
    "$@" 2>"$tmp/err" >/dev/null; local rc=$?
    if [ "$rc" -eq "$code" ] && grep -qF -- "$msg" "$tmp/err" && [ ! -e "$tmp/out.json" ]; then
        echo "ok   exit $code: $msg"
    else
        echo "FAIL expected exit $code and '$msg', got $rc: $(cat "$tmp/err")"; fail=1
    fi
}
jnum() { awk -F': ' -v k="\"$1\"" '$1 == " " k { v = $2; sub(/,$/, "", v); gsub(/"/, "", v); print v; exit }' "$2"; }
# tensor NAME FILE: "bits:group:bytes" of a tensor in alloc.json
tensor() { awk -v n="\"$1\"" '/"bits":/ {b=$2} /"bytes":/ {y=$2} /"group":/ {g=$2} /"name":/ && $2 == n {gsub(/,/,"",b); gsub(/,/,"",g); gsub(/,/,"",y); print b ":" g ":" y; exit}' "$2"; }
fits() { # alloc: total + reserve <= budget
    local t r b; t=$(jnum total_bytes "$1"); r=$(jnum reserve_bytes "$1"); b=$(jnum budget_bytes "$1")
    [ -n "$t" ] && [ $((t + r)) -le "$b" ]
}
eq2() { [ "$1" = "$2" ] && [ "$3" = "$4" ]; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b - 1e-12 * (b < 0 ? -b : b)) }'; }
# mkrd INDEX DIR [SCALE]: synthetic rd.json + feat.json for every tensor of INDEX into DIR
. "$(dirname "$0")/rdfix.sh"

"$BIN/mint-index" "$M/tinystories-656k" -o "$tmp/ts.json" -q || exit 1
mkdir "$tmp/ts"; mkrd "$tmp/ts.json" "$tmp/ts"
P=$tmp/p.json
"$BIN/mint-merge" "$tmp/ts.json" "$tmp"/ts/*.json -o "$P" -q || exit 1
S="$BIN/mint-solve"

# --- usage and budget syntax (exit 2, nothing written)
check "--help exits 0 with usage" bash -c "'$S' --help | grep -q '^usage: mint-solve'"
expect_err 2 "--budget is required" "$S" "$P" -o "$tmp/out.json"
expect_err 2 "usage: mint-solve" "$S" --budget 1G -o "$tmp/out.json"
expect_err 2 "usage: mint-solve" "$S" "$P" --budget 1G
expect_err 2 "budget '30X': unknown unit 'X'" "$S" "$P" --budget 30X -o "$tmp/out.json"
expect_err 2 "budget '-1G': not a number" "$S" "$P" --budget -1G -o "$tmp/out.json"
expect_err 2 "budget '': empty" "$S" "$P" --budget "" -o "$tmp/out.json"
expect_err 2 "budget '99999999999G': exceeds 2^63-1 bytes" "$S" "$P" --budget 99999999999G -o "$tmp/out.json"
expect_err 2 "budget '9223372036854775808': exceeds 2^63-1 bytes" "$S" "$P" --budget 9223372036854775808 -o "$tmp/out.json"
expect_err 2 "--solver 'ilp': expected exact or greedy" "$S" "$P" --budget 1G -o "$tmp/out.json" --solver ilp
expect_err 2 "--loss 'kl': expected nrmse, nrmse_w or mse" "$S" "$P" --budget 1G -o "$tmp/out.json" --loss kl
expect_err 2 "--weight 'bytes': expected none or params" "$S" "$P" --budget 1G -o "$tmp/out.json" --weight bytes
expect_err 2 "--veto-db 'x': expected a number" "$S" "$P" --budget 1G -o "$tmp/out.json" --veto-db x
expect_err 2 "--time-limit '0': expected seconds > 0" "$S" "$P" --budget 1G -o "$tmp/out.json" --time-limit 0
expect_err 2 "--shard-size '1K': at least 4096 bytes" "$S" "$P" --budget 1G -o "$tmp/out.json" --shard-size 1K
expect_err 2 "--shard-size '5X': unknown unit 'X'" "$S" "$P" --budget 1G -o "$tmp/out.json" --shard-size 5X
expect_err 2 "--max-states '-3'" "$S" "$P" --budget 1G -o "$tmp/out.json" --max-states -3
expect_err 1 "$tmp/none.json: No such file" "$S" "$tmp/none.json" --budget 1G -o "$tmp/out.json"

# --- every budget unit parses to the same bytes as its plain form
for u in "300K 307200" "300KiB 307200" "0.29296875M 307200" "307.2KB 307200" "307200B 307200" "307200 307200" "0.0003072GB 307200"; do
    set -- $u
    "$S" "$P" --budget "$1" -o "$tmp/u.json" -q
    check "budget $1 = $2 bytes" [ "$(jnum budget_bytes "$tmp/u.json")" = "$2" ]
done

# --- a normal budget
A=$tmp/a.json
check "solve 300K" "$S" "$P" --budget 300K -o "$A" -q
check "status optimal, gap 0" eq2 "$(jnum status "$A")" optimal "$(jnum gap "$A")" 0.0
check "total + reserve <= budget" fits "$A"
check "every index tensor listed" [ "$(grep -c '"name":' "$A")" = 20 ]
check "tensors sorted by name" bash -c "grep '\"name\":' '$A' | sort -c"
check "norms stay 16-bit" [ "$(tensor model.norm.weight "$A")" = "16:0:256" ]
check "fields recorded" bash -c "for k in budget_bytes total_bytes reserve_bytes objective bound lp_bound gap gap_rel status lambda core_groups max_states solver loss weight agg veto_db priors out_dtype; do grep -q \"\\\"\$k\\\":\" '$A' || exit 1; done"
check "no timing in alloc.json" bash -c "! grep -q -i 'second\|_ms\"' '$A'"
check "solver exact, loss nrmse, weight none, priors soft" bash -c "[ \"\$(grep -c '\"solver\": \"exact\"\|\"loss\": \"nrmse\"\|\"weight\": \"none\"\|\"priors\": \"soft\"' '$A')\" = 4 ]"
"$S" "$P" --budget 300K -o "$tmp/a2.json" -q
check "deterministic bytes" cmp -s "$A" "$tmp/a2.json"
check "plan table on stderr" bash -c "'$S' '$P' --budget 300K -o '$tmp/a3.json' 2>&1 >/dev/null | grep -q 'config.*tensors.*params.*bytes.*bpw'"
check "plan table shows the gap" bash -c "'$S' '$P' --budget 300K -o '$tmp/a3.json' 2>&1 | grep -q 'objective .* bound .* gap'"

# --- bpw: 4.5 bpw over the quantizable params = the uniform (4,64) data size (369,920 bytes)
check "4.5bpw" "$S" "$P" --budget 4.5bpw -o "$tmp/b.json" -q
check "4.5bpw: data bytes as uniform 4-bit g64" [ "$(jnum total_bytes "$tmp/b.json")" = 369920 ]
check "4.5bpw: budget = data + reserve" [ "$(jnum budget_bytes "$tmp/b.json")" = $((369920 + $(jnum reserve_bytes "$tmp/b.json"))) ]

# --- min-safe: 'min' is feasible, one byte less is not (the §10.3 message, exit 1)
check "min" "$S" "$P" --budget min -o "$tmp/m.json" -q
MIN=$(jnum min_bytes "$tmp/m.json")
check "min: budget = min_bytes" [ "$(jnum budget_bytes "$tmp/m.json")" = "$MIN" ]
check "min: fits" fits "$tmp/m.json"
check "at min_bytes exactly: feasible" "$S" "$P" --budget "$MIN" -o "$tmp/m2.json" -q
HM=$(awk -v b="$MIN" 'BEGIN { printf "%.2f KiB", b / 1024 }')
HB=$(awk -v b="$((MIN - 1))" 'BEGIN { printf "%.2f KiB", b / 1024 }')
expect_err 1 "mint-solve: budget $HB ($((MIN - 1)) bytes) is below the minimum $HM ($MIN bytes) (every tensor at its lowest allowed configuration)" "$S" "$P" --budget $((MIN - 1)) -o "$tmp/out.json"
expect_err 1 "mint-solve: budget 100.00 KiB (102400 bytes) is below the minimum $HM ($MIN bytes)" "$S" "$P" --budget 100K -o "$tmp/out.json"
expect_err 1 "is below the minimum" "$S" "$P" --budget 1bpw -o "$tmp/out.json"

# --- at or above the all-16-bit size: everything 16-bit, with a note
check "2M: all 16-bit note" bash -c "'$S' '$P' --budget 2M -o '$tmp/h.json' 2>&1 | grep -q 'note: the budget reaches the all-16-bit size'"
check "2M: every tensor 16-bit" [ "$(grep -c '"bits": 16' "$tmp/h.json")" = 20 ]
check "2M: objective 0" [ "$(jnum objective "$tmp/h.json")" = 0.0 ]
ALL16=$(jnum all16_bytes "$tmp/h.json")
check "exactly all16_bytes: all 16-bit" "$S" "$P" --budget "$ALL16" -o "$tmp/h2.json" -q
check "exactly all16_bytes: fits" fits "$tmp/h2.json"
check "all16 - 1: not all 16-bit" bash -c "'$S' '$P' --budget $((ALL16 - 1)) -o '$tmp/h3.json' -q && [ \$(grep -c '\"bits\": 16' '$tmp/h3.json') -lt 20 ]"

# --- greedy never beats exact; --compare records both
for b in min 280K 300K 320K 350K 4.5bpw 400K 600K 1M; do
    "$S" "$P" --budget $b -o "$tmp/e.json" -q --compare
    "$S" "$P" --budget $b -o "$tmp/g.json" -q --solver greedy
    check "budget $b: greedy >= exact" ge "$(jnum objective "$tmp/g.json")" "$(jnum objective "$tmp/e.json")"
    check "budget $b: --compare greedy_objective = greedy run" [ "$(jnum greedy_objective "$tmp/e.json")" = "$(jnum objective "$tmp/g.json")" ]
    check "budget $b: both fit" fits "$tmp/g.json"
done
check "greedy status heuristic" [ "$(jnum status "$tmp/g.json")" = heuristic ]
check "greedy: bound <= objective" ge "$(jnum objective "$tmp/g.json")" "$(jnum bound "$tmp/g.json")"

# --- losses, weights, veto, priors at solve time
for l in nrmse nrmse_w mse; do
    for w in none params; do
        check "--loss $l --weight $w" "$S" "$P" --budget 300K -o "$tmp/l.json" -q --loss $l --weight $w
        check "--loss $l --weight $w recorded" bash -c "grep -q '\"loss\": \"$l\"' '$tmp/l.json' && grep -q '\"weight\": \"$w\"' '$tmp/l.json' && [ \"\$(grep -o '\"status\": \"optimal\"' '$tmp/l.json')\" ]"
    done
done
"$S" "$P" --budget min -o "$tmp/v0.json" -q --veto-db 0
check "veto 0 dB: a lower minimum" [ "$(jnum min_bytes "$tmp/v0.json")" -lt "$MIN" ]
"$S" "$P" --budget 2M -o "$tmp/v2.json" -q --veto-db 30
check "veto 30 dB: 2-3-4-bit vetoed, a higher minimum" [ "$(jnum min_bytes "$tmp/v2.json")" -gt "$MIN" ]
expect_err 1 "is below the minimum" "$S" "$P" --budget 300K -o "$tmp/out.json" --veto-db 1000
check "veto recorded" [ "$(jnum veto_db "$tmp/v2.json")" = 30.0 ]
check "--priors mint-code at solve time" "$S" "$P" --budget 800K -o "$tmp/pc.json" -q --priors mint-code
check "mint-code: embedding 16-bit" [ "$(tensor model.embed_tokens.weight "$tmp/pc.json")" = "16:0:524288" ]
check "mint-code recorded" [ "$(jnum priors "$tmp/pc.json")" = mint-code ]
expect_err 1 "is below the minimum" "$S" "$P" --budget 250K -o "$tmp/out.json" --priors mint-code
check "--time-limit and --max-states accepted" "$S" "$P" --budget 300K -o "$tmp/t.json" -q --time-limit 5 --max-states 1
check "limited run: feasible, bound <= objective" bash -c "$(declare -f jnum fits ge); fits '$tmp/t.json' && ge \"\$(jnum objective '$tmp/t.json')\" \"\$(jnum bound '$tmp/t.json')\""
check "small shards: still within budget" "$S" "$P" --budget 300K -o "$tmp/sh.json" -q --shard-size 4096
check "small shards: fits" fits "$tmp/sh.json"
check "small shards: larger reserve" [ "$(jnum reserve_bytes "$tmp/sh.json")" -gt "$(jnum reserve_bytes "$A")" ]

# --- a hand-written profile with a known optimum
# A, B: 64x64 (4096 params); (2,64) 1280 B, (4,64) 2304 B, 16-bit 8192 B.
# A: NRMSE 0.30 / 0.05 / 0; B: 0.25 / 0.10 / 0.  One 1024-byte upgrade fits: A gains 0.25, B 0.15.
opt() { printf '{"bits":%s,"group":%s,"bytes":%s,"loss":{"nrmse":%s,"nrmse_w":null,"mse":%s},"sqnr_db":%s}' "$@"; }
ten() { # name prior options...
    local n=$1 p=$2; shift 2
    printf '{"name":"%s","shape":[64,64],"params":4096,"dtype":"BF16","role":"attn_q","layer":1,"prior":%s,"options":[%s]}' "$n" "$p" "$(IFS=,; echo "$*")"
}
prof() { # file tensors...
    local f=$1; shift
    printf '{"schema":1,"model":{"num_layers":3,"tied":false},"tensors":[%s]}\n' "$(IFS=,; echo "$*")" > "$f"
}
prof "$tmp/hand.json" \
    "$(ten a.weight 1 "$(opt 2 64 1280 0.30 0.01 10.5)" "$(opt 4 64 2304 0.05 0.001 26)" "$(opt 16 0 8192 0 0 100)")" \
    "$(ten b.weight 1 "$(opt 2 64 1280 0.25 0.01 12)" "$(opt 4 64 2304 0.10 0.0001 20)" "$(opt 16 0 8192 0 0 100)")"
check "hand profile: min" "$S" "$tmp/hand.json" --budget min -o "$tmp/hm.json" -q
HMIN=$(jnum min_bytes "$tmp/hm.json")
check "hand: min = 2 x 1280 + reserve" [ "$HMIN" = $((2560 + $(jnum reserve_bytes "$tmp/hm.json"))) ]
check "hand: at min both 2-bit" eq2 "$(tensor a.weight "$tmp/hm.json")" "2:64:1280" "$(tensor b.weight "$tmp/hm.json")" "2:64:1280"
check "hand: one upgrade" "$S" "$tmp/hand.json" --budget $((HMIN + 1500)) -o "$tmp/h1.json" -q
check "hand: A upgraded, B not" eq2 "$(tensor a.weight "$tmp/h1.json")" "4:64:2304" "$(tensor b.weight "$tmp/h1.json")" "2:64:1280"
check "hand: objective 0.30" awk -v o="$(jnum objective "$tmp/h1.json")" 'BEGIN { exit !(o > 0.2999999 && o < 0.3000001) }'
check "hand: two upgrades" "$S" "$tmp/hand.json" --budget $((HMIN + 2100)) -o "$tmp/h2.json" -q
check "hand: both 4-bit, objective 0.15" bash -c "$(declare -f tensor jnum); [ \"\$(tensor b.weight '$tmp/h2.json')\" = 4:64:2304 ] && awk -v o=\"\$(jnum objective '$tmp/h2.json')\" 'BEGIN { exit !(o > 0.1499999 && o < 0.1500001) }'"
check "hand: --loss mse prefers B (larger MSE gain)" "$S" "$tmp/hand.json" --budget $((HMIN + 1500)) -o "$tmp/h3.json" -q --loss mse
check "hand: mse choice" eq2 "$(tensor b.weight "$tmp/h3.json")" "4:64:2304" "$(tensor a.weight "$tmp/h3.json")" "2:64:1280"
expect_err 1 "group 'a.weight': no nrmse_w for configuration 2:64" "$S" "$tmp/hand.json" --budget 1M -o "$tmp/out.json" --loss nrmse_w
# veto: A's 2-bit is at 10.5 dB: vetoed at 11 dB, so the minimum rises by 1024
"$S" "$tmp/hand.json" --budget min -o "$tmp/hv.json" -q --veto-db 11
check "hand: veto 11 dB vetoes A at 2 bits" [ "$(jnum min_bytes "$tmp/hv.json")" = $((HMIN + 1024)) ] && [ "$(tensor a.weight "$tmp/hv.json")" = "4:64:2304" ]
# prior inf: 16-bit only, no objective term
prof "$tmp/hand2.json" \
    "$(ten a.weight '"inf"' "$(opt 2 64 1280 0.30 0.01 10.5)" "$(opt 16 0 8192 0 0 100)")" \
    "$(ten b.weight 2 "$(opt 2 64 1280 0.25 0.01 12)" "$(opt 16 0 8192 0.001 0 60)")"
check "hand2: solve" "$S" "$tmp/hand2.json" --budget 12000 -o "$tmp/h4.json" -q
check "hand2: inf prior keeps 16-bit" eq2 "$(tensor a.weight "$tmp/h4.json")" "16:0:8192" "$(tensor b.weight "$tmp/h4.json")" "2:64:1280"
check "hand2: objective = 2 x 0.25" awk -v o="$(jnum objective "$tmp/h4.json")" 'BEGIN { exit !(o > 0.4999999 && o < 0.5000001) }'
# worst-expert veto through the whole path: two experts, one at 8 dB on 2 bits
etn() { # name expert sqnr2
    printf '{"name":"%s","shape":[64,64],"params":4096,"dtype":"BF16","role":"expert_up","layer":1,"expert":%s,"group_key":"l.experts.*.up.weight","prior":1,"options":[%s,%s]}' "$1" "$2" "$(opt 2 64 1280 0.3 0.01 "$3")" "$(opt 16 0 8192 0 0 100)"
}
prof "$tmp/hand3.json" "$(etn l.experts.0.up.weight 0 12)" "$(etn l.experts.1.up.weight 1 8)"
"$S" "$tmp/hand3.json" --budget min -o "$tmp/h5.json" -q
check "worst-expert veto: the whole group stays 16-bit" [ "$(tensor l.experts.0.up.weight "$tmp/h5.json")" = "16:0:8192" ]
"$S" "$tmp/hand3.json" --budget min -o "$tmp/h6.json" -q --veto-db 7
check "below the worst expert's SQNR: both 2-bit" eq2 "$(tensor l.experts.0.up.weight "$tmp/h6.json")" "2:64:1280" "$(tensor l.experts.1.up.weight "$tmp/h6.json")" "2:64:1280"
# malformed profiles
printf '{"schema":1,"model":{"num_layers":1},"tensors":[%s]}\n' "$(ten a.weight 1 "$(opt 2 64 1280 0.3 0.01 10)")" > "$tmp/no16.json"
expect_err 1 "tensor 'a.weight': no 16-bit option" "$S" "$tmp/no16.json" --budget 1M -o "$tmp/out.json"
printf '{"schema":1,"model":{"num_layers":1},"tensors":[%s]}\n' "$(ten a.weight 1 "$(opt 2 64 1000 0.3 0.01 10)" "$(opt 16 0 8192 0 0 100)")" > "$tmp/bb.json"
expect_err 1 "option 2:64: bytes 1000, expected 1280" "$S" "$tmp/bb.json" --budget 1M -o "$tmp/out.json"
printf '{"schema":2}\n' > "$tmp/s2.json"
expect_err 1 "schema 2 (expected 1)" "$S" "$tmp/s2.json" --budget 1M -o "$tmp/out.json"
# the same runs under ASan/UBSan (leaks included) when the sanitizer build exists
if [ -n "${SANBIN:-}" ] && [ -x "$SANBIN/mint-solve" ]; then
    check "sanitizer: solve" "$SANBIN/mint-solve" "$P" --budget 300K -o "$tmp/san.json" -q --compare
    check "sanitizer: same bytes" bash -c "'$S' '$P' --budget 300K -o '$tmp/san2.json' -q --compare && cmp -s '$tmp/san.json' '$tmp/san2.json'"
    check "sanitizer: greedy, limits" "$SANBIN/mint-solve" "$P" --budget 4.5bpw -o "$tmp/san3.json" -q --solver greedy --max-states 1
    expect_err 1 "is below the minimum" "$SANBIN/mint-solve" "$P" --budget 100K -o "$tmp/out.json"
fi
exit $fail
