#!/usr/bin/env bash
# mk/deps.sh, the dependency probe, against controlled environments: a CC wrapper makes chosen
# headers or -l flags fail (or puts a netlib-style cblas.h first), a fake pkg-config or none, and
# a fake apt-get that records what it was asked to install.  Nothing on the real system changes.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
DEPS=$MINT_ROOT/mk/deps.sh
n=0

mkdir -p "$tmp/bin" "$tmp/netlib"
# the wrapper: FAKE_MISSING (or the file FAKE_MISSING_FILE) lists headers and -l flags to fail
# as a missing package would; FAKE_CBLAS_DIR goes first on the include path
cat >"$tmp/bin/cc" <<'EOF'
#!/bin/sh
missing=${FAKE_MISSING-}
[ -n "${FAKE_MISSING_FILE-}" ] && [ -f "$FAKE_MISSING_FILE" ] && missing="$missing $(cat "$FAKE_MISSING_FILE")"
for a in "$@"; do
    for m in $missing; do
        case $m in
        -l*) [ "$a" = "$m" ] && { echo "/usr/bin/ld: cannot find $m: No such file or directory" >&2; exit 1; } ;;
        *.h) case $a in *.c) grep -q "#include <$m>" "$a" && { echo "$a:1:10: fatal error: $m: No such file or directory" >&2; exit 1; } ;; esac ;;
        esac
    done
done
exec cc ${FAKE_CBLAS_DIR:+-I"$FAKE_CBLAS_DIR"} "$@"
EOF
# a netlib-style cblas.h: sgemm is there, OpenBLAS's own API is not
cat >"$tmp/netlib/cblas.h" <<'EOF'
enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112 };
void cblas_sgemm(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int,
                 float, const float *, int, const float *, int, float, float *, int);
EOF
# a pkg-config that knows no module (as on a machine whose libraries have no .pc files)
printf '#!/bin/sh\nexit 1\n' >"$tmp/bin/pkg-config-none"
# apt-get: records its arguments; "installing" clears the wrapper's missing list
cat >"$tmp/bin/apt-get" <<'EOF'
#!/bin/sh
echo "$*" >>"$FAKE_APT_LOG"
case "$*" in *install*) [ -n "${FAKE_APT_FAIL-}" ] && exit 100; [ -n "${FAKE_APT_NOOP-}" ] || : >"$FAKE_MISSING_FILE" ;; esac
exit 0
EOF
chmod +x "$tmp/bin/"*

probe() { # expected-exit, then env assignments; runs the probe with NO_DEPS=1 by default
    local want=$1; shift
    env CC="$tmp/bin/cc" NO_DEPS=1 "$@" sh "$DEPS" -o "$tmp/deps.mk" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ $rc -eq "$want" ] || fail "exit $rc, want $want ($*): $(cat "$tmp/out" "$tmp/err")"
    n=$((n + 1))
}
missing_line() { sed -n 's/^mint: missing packages: //p' "$tmp/err"; }

# 1. everything present: exit 0, flags written, OpenBLAS linked explicitly, its include dir first
rm -f "$tmp/deps.mk"
probe 0
grep -q '^MINT_DEPS_LIBS := .*-lopenblas' "$tmp/deps.mk" || fail "no -lopenblas: $(cat "$tmp/deps.mk")"
grep -q '^MINT_DEPS_LIBS := .*-ljansson.*-lxxhash.*-llapacke' "$tmp/deps.mk" || fail "libs: $(cat "$tmp/deps.mk")"
grep -q '^  DEPS    BLAS: OpenBLAS' "$tmp/out" || fail "BLAS not reported: $(cat "$tmp/out")"
grep -q '^  DEPS    LAPACKE' "$tmp/out" || fail "LAPACKE not reported"
files=$(sed -n 's/^MINT_DEPS_FILES := //p' "$tmp/deps.mk")
for f in $files; do [ -e "$f" ] || fail "listed file '$f' does not exist"; done
echo "$files" | grep -q '/cblas\.h' || fail "the cblas.h used is not recorded: $files"
echo "$files" | grep -q 'libopenblas' || fail "the OpenBLAS library used is not recorded: $files"
cblas=$(echo "$files" | tr ' ' '\n' | grep '/cblas\.h$')
cflags=$(sed -n 's/^MINT_DEPS_CFLAGS := //p' "$tmp/deps.mk")
first=$(echo "$cflags" | tr ' ' '\n' | grep '^-I' | head -n 1)
[ -z "$first" ] || [ "$(realpath -s "${first#-I}")" = "$(dirname "$cblas")" ] ||
    fail "OpenBLAS's include dir is not first ($cflags; cblas.h from $cblas)"
# unchanged probe -> file untouched (write-if-changed)
touch -d '2001-01-01' "$tmp/deps.mk"; probe 0
[ "$(stat -c %Y "$tmp/deps.mk")" = "$(date -d 2001-01-01 +%s)" ] || fail "unchanged deps.mk rewritten"

# 2. a netlib machine: cblas.h exists, -lopenblas does not link -> libopenblas-dev alone
probe 1 FAKE_MISSING=-lopenblas
[ "$(missing_line)" = libopenblas-dev ] || fail "want libopenblas-dev: $(cat "$tmp/err")"
grep -q '^mint: NO_DEPS=1, nothing installed; to install them: apt-get install -y libopenblas-dev$' "$tmp/err" ||
    fail "apt-get line: $(cat "$tmp/err")"
grep -q 'cannot find -lopenblas' "$tmp/err" || fail "the linker's answer is not shown"

# 3. a cblas.h that is not OpenBLAS's, -lopenblas absent, no pkg-config modules: header alone passes nothing
probe 1 FAKE_CBLAS_DIR="$tmp/netlib" FAKE_MISSING=-lopenblas PKG_CONFIG="$tmp/bin/pkg-config-none"
[ "$(missing_line)" = libopenblas-dev ] || fail "netlib cblas.h accepted: $(cat "$tmp/err")"
# ... and even where some -lopenblas links, a netlib cblas.h first on the path fails the probe
probe 1 FAKE_CBLAS_DIR="$tmp/netlib" PKG_CONFIG="$tmp/bin/pkg-config-none"
[ "$(missing_line)" = libopenblas-dev ] || fail "netlib cblas.h + some libopenblas accepted: $(cat "$tmp/err")"

# 4. a missing xxhash.h -> libxxhash-dev alone
probe 1 FAKE_MISSING=xxhash.h
[ "$(missing_line)" = libxxhash-dev ] || fail "want libxxhash-dev: $(cat "$tmp/err")"
grep -q 'xxhash.h: No such file' "$tmp/err" || fail "the compiler's answer is not shown"

# 5. several at once, one apt-get line, in probe order
probe 1 FAKE_MISSING="jansson.h -llapacke -lopenblas"
[ "$(missing_line)" = "libjansson-dev liblapacke-dev libopenblas-dev" ] || fail "several: $(cat "$tmp/err")"
[ "$(grep -c 'apt-get install' "$tmp/err")" = 1 ] || fail "not one apt-get line"

# 6. no pkg-config on PATH: pkg-config is installed too; the libraries still probe with -l flags
probe 1 PKG_CONFIG=/nonexistent/pkg-config
[ "$(missing_line)" = pkg-config ] || fail "want pkg-config: $(cat "$tmp/err")"
probe 1 PKG_CONFIG=/nonexistent/pkg-config FAKE_MISSING=-lxxhash
[ "$(missing_line)" = "pkg-config libxxhash-dev" ] || fail "pkg-config + xxhash: $(cat "$tmp/err")"

# 7. the install path (root only: otherwise the probe would call sudo)
if [ "$(id -u)" = 0 ]; then
    export FAKE_APT_LOG=$tmp/apt.log FAKE_MISSING_FILE=$tmp/missing
    echo "-lopenblas xxhash.h" >"$FAKE_MISSING_FILE"; : >"$FAKE_APT_LOG"
    probe 0 NO_DEPS= APT_GET="$tmp/bin/apt-get"
    grep -q '^installing: libxxhash-dev libopenblas-dev$' "$tmp/out" || fail "installing line: $(cat "$tmp/out")"
    grep -q 'install -y -qq libxxhash-dev libopenblas-dev' "$FAKE_APT_LOG" || fail "apt-get args: $(cat "$FAKE_APT_LOG")"
    grep -q '^MINT_DEPS_LIBS := .*-lopenblas' "$tmp/deps.mk" || fail "flags after install"
    echo "-lopenblas" >"$FAKE_MISSING_FILE"
    probe 1 NO_DEPS= APT_GET="$tmp/bin/apt-get" FAKE_APT_FAIL=1
    grep -q '^mint: could not install: libopenblas-dev' "$tmp/err" || fail "apt failure: $(cat "$tmp/err")"
    probe 1 NO_DEPS= APT_GET="$tmp/bin/apt-get" FAKE_APT_NOOP=1
    grep -q '^mint: still missing after apt-get install: libopenblas-dev' "$tmp/err" || fail "still missing: $(cat "$tmp/err")"
    unset FAKE_MISSING_FILE
else
    echo "note: not root, the install path (apt-get through sudo) is not exercised"
fi

# 8. through make: NO_DEPS=1 with a failing library stops before compiling, exit non-zero,
#    in a scratch build tree (B) so the real build's probe result is untouched
cp -r "$MINT_ROOT/Makefile" "$MINT_ROOT/mk" "$tmp/"; ln -s "$MINT_ROOT/stages" "$MINT_ROOT/include" "$MINT_ROOT/tests" "$tmp/"
FAKE_MISSING=-lopenblas make -C "$tmp" NO_DEPS=1 CC="$tmp/bin/cc" build >"$tmp/out" 2>&1; rc=$?
[ $rc -ne 0 ] || fail "make with a missing library succeeded"
grep -q '^mint: missing packages: libopenblas-dev' "$tmp/out" || fail "make message: $(cat "$tmp/out")"
! grep -q '  CC  ' "$tmp/out" || fail "compiled although a library is missing"
[ ! -e "$tmp/build/deps.mk" ] || fail "a failed probe left deps.mk"
# then present: the probe passes, a vanished listed file makes the next make probe again
make -C "$tmp" CC="$tmp/bin/cc" deps >"$tmp/out" 2>&1 || fail "make probe: $(cat "$tmp/out")"
grep -q 'DEPS    BLAS: OpenBLAS' "$tmp/out" || fail "make does not print the BLAS"
make -C "$tmp" CC="$tmp/bin/cc" deps >"$tmp/out" 2>&1
! grep -q "^  DEPS " "$tmp/out" || fail "probed again with nothing changed"
sed -i 's|^MINT_DEPS_FILES := |&/nonexistent/libgone.so |' "$tmp/build/deps.mk"
make -C "$tmp" CC="$tmp/bin/cc" deps >"$tmp/out" 2>&1
grep -q 'DEPS    BLAS' "$tmp/out" || fail "a removed library does not re-probe"
! grep -q nonexistent "$tmp/build/deps.mk" || fail "stale file list kept"
make -C "$tmp" CC="$tmp/bin/cc" help >"$tmp/out" 2>&1 && ! grep -q "^  DEPS " "$tmp/out" || fail "make help probes"
echo "checks: $n probes passed"
