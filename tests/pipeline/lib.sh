# Shared by the pipeline tests: a private WORK/OUT, make on the bundled models, and the stage
# log (one line "STAGE SUBJECT" per stage invocation) to assert exactly what reran.
set -u
unset MAKEFLAGS MFLAGS MAKELEVEL
ROOT=${MINT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
WORKD=$tmp/work OUTD=$tmp/out
MODEL=${MODEL:-$ROOT/tests/data/models/stories260K}
LOG=$WORKD/log/stages.log

fail() { echo "FAIL: $*" >&2; exit 1; }

# mk [VAR=value ...] [target]: the pipeline on MODEL with the private WORK and OUT
mk() { make -s -C "$ROOT" MODEL="$MODEL" WORK="$WORKD" OUT="$OUTD" "$@" >"$tmp/make.out" 2>&1 ||
       { cat "$tmp/make.out" >&2; fail "make $*"; }; }

# mark: remember the log length; since STAGE: how many lines of STAGE were logged since mark
mark() { mkdir -p "${LOG%/*}"; : >>"$LOG"; MARK=$(wc -l <"$LOG"); }
since() { tail -n +$((MARK + 1)) "$LOG" | awk -v s="$1" '$1 == s' | wc -l; }
since_all() { tail -n +$((MARK + 1)) "$LOG" | wc -l; }
# expect STAGE COUNT
expect() { local n; n=$(since "$1"); [ "$n" -eq "$2" ] || fail "expected $2 '$1' runs, got $n"; }
n_rd_items() { grep -c '^  $(CAS)/rd/' "$WORKD"/m/*/tensors.mk; }
n_feat_items() { grep -c '^  $(CAS)/feat/' "$WORKD"/m/*/tensors.mk; }
