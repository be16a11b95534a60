#!/bin/sh
# mk/deps.sh: probe the libraries the build links, install what is missing, write the flags.
#
#   sh mk/deps.sh -o build/deps.mk       (make runs this; see mk/deps.mk)
#
# A header proves nothing (netlib's libblas-dev ships a cblas.h, and the alternatives system can
# point libblas.so anywhere), so each library is probed the way the build uses it: one small
# program per library is compiled, linked and run with exactly the flags the build will use
# (pkg-config's where it knows the library, else the plain -l flag).  For OpenBLAS the program
# calls openblas_set_num_threads(), which only OpenBLAS declares and defines, so another BLAS
# never passes for it.  Every library that fails is mapped to its Debian package; pkg-config
# itself is probed as a tool.
#
# Then: nothing missing -> write the flags (write-if-changed) and print the BLAS and LAPACKE in
# use, exit 0.  Missing and NO_DEPS=1 -> print each failure, the packages and the one apt-get
# line, exit 1.  Otherwise -> print "installing: ...", apt-get install them (sudo when not
# root), probe again, and fail with the linker's answer if a library still does not link.
#
# The output is a make fragment: MINT_DEPS_CC (the compiler probed), MINT_DEPS_CFLAGS,
# MINT_DEPS_LIBS and MINT_DEPS_FILES (the headers and libraries the compiler and linker really
# used).  mk/deps.mk re-probes when this script changes, when CC changes, or when one of those
# files has gone (a package removed later), so the stamp never hides a removal.
#
# Environment: CC (default cc), NO_DEPS, PKG_CONFIG (default pkg-config), APT_GET (default
# apt-get; the tests point it at a fake).  Flags from pkg-config are accepted only when every
# word is made of [A-Za-z0-9_./=+,:-], since they are written into a makefile.
set -u

out=
while [ $# -gt 0 ]; do
    case $1 in
    -o) out=${2-}; shift 2 || { echo "usage: sh mk/deps.sh -o FILE" >&2; exit 2; } ;;
    *) echo "usage: sh mk/deps.sh -o FILE" >&2; exit 2 ;;
    esac
done
[ -n "$out" ] || { echo "usage: sh mk/deps.sh -o FILE" >&2; exit 2; }

CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
APT_GET=${APT_GET:-apt-get}
NO_DEPS=${NO_DEPS:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mint-deps.XXXXXX") || { echo "mint: deps: cannot make a temporary directory" >&2; exit 3; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# ---- the probes: name, Debian package, pkg-config module, fallback flags, program ----
probe_names="jansson xxhash lapacke openblas"
nl='
'

pkg_of() {
    case $1 in
    jansson) echo libjansson-dev ;; xxhash) echo libxxhash-dev ;;
    lapacke) echo liblapacke-dev ;; openblas) echo libopenblas-dev ;;
    esac
}
module_of() {
    case $1 in
    jansson) echo jansson ;; xxhash) echo libxxhash ;; lapacke) echo lapacke ;; openblas) echo openblas ;;
    esac
}
program_of() {
    case $1 in
    jansson) cat <<'EOF'
#include <jansson.h>
int main(void) { json_t *j = json_integer(1); int ok = json_integer_value(j) == 1; json_decref(j); return !ok; }
EOF
    ;;
    xxhash) cat <<'EOF'
#include <xxhash.h>
int main(void) { XXH128_hash_t h = XXH3_128bits("mint", 4); return h.low64 == 0 && h.high64 == 0; }
EOF
    ;;
    lapacke) cat <<'EOF'
#include <lapacke.h>
int main(void) { float a[1] = {2.0f}, s[1]; lapack_int r = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'N', 1, 1, a, 1, s, NULL, 1, NULL, 1); return r != 0 || s[0] != 2.0f; }
EOF
    ;;
    openblas) cat <<'EOF'
#include <cblas.h>
int main(void) { float a = 2.0f, b = 3.0f, c = 0.0f; openblas_set_num_threads(1);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1); return c != 6.0f; }
EOF
    ;;
    esac
}
header_of() {
    case $1 in
    jansson) echo jansson.h ;; xxhash) echo xxhash.h ;; lapacke) echo lapacke.h ;; openblas) echo cblas.h ;;
    esac
}
fallback_libs() {
    case $1 in
    jansson) echo -ljansson ;; xxhash) echo -lxxhash ;; lapacke) echo -llapacke ;; openblas) echo -lopenblas ;;
    esac
}
# Debian installs OpenBLAS's cblas.h in a per-variant directory; without pkg-config, look there
# so that netlib's /usr/include/<triplet>/cblas.h is not the one compiled against.
fallback_cflags() {
    [ "$1" = openblas ] || return 0
    ma=$($CC -print-multiarch 2>/dev/null)
    for d in ${ma:+/usr/include/$ma/openblas-pthread /usr/include/$ma/openblas-openmp /usr/include/$ma/openblas-serial} /usr/include/openblas; do
        if [ -f "$d/cblas.h" ]; then echo "-I$d"; return 0; fi
    done
}

safe_flags() { # every word of $1 from a conservative set (the flags go into a makefile)
    for w in $1; do
        case $w in *[!A-Za-z0-9_./=+,:-]*) return 1 ;; esac
    done
    return 0
}

have_pkg_config=0
command -v "$PKG_CONFIG" >/dev/null 2>&1 && have_pkg_config=1

# flags_of NAME: sets cflags, libs, how
flags_of() {
    m=$(module_of "$1"); cflags=; libs=; how=
    if [ $have_pkg_config = 1 ] && "$PKG_CONFIG" --exists "$m" 2>/dev/null; then
        c=$("$PKG_CONFIG" --cflags "$m" 2>/dev/null); l=$("$PKG_CONFIG" --libs "$m" 2>/dev/null)
        if safe_flags "$c $l"; then
            cflags=$c; libs=$l; how="pkg-config $m"
            return 0
        fi
    fi
    cflags=$(fallback_cflags "$1"); libs=$(fallback_libs "$1"); how=$libs
}

# try NAME: compile, link and run its program; on failure, reason = the compiler's last line
try() {
    n=$1
    program_of "$n" >"$tmp/$n.c"
    flags_of "$n"
    # shellcheck disable=SC2086
    if ! $CC -std=c11 -Werror=implicit-function-declaration $cflags -o "$tmp/$n" "$tmp/$n.c" \
            $libs -Wl,--trace >"$tmp/$n.trace" 2>"$tmp/$n.err"; then
        reason=$(grep -v '^ *$' "$tmp/$n.err" | grep -iE 'error|cannot|undefined|not found' | head -n 1)
        [ -n "$reason" ] || reason=$(grep -v '^ *$' "$tmp/$n.err" | tail -n 1)
        [ -n "$reason" ] || reason="compile or link failed"
        return 1
    fi
    if ! "$tmp/$n" >/dev/null 2>"$tmp/$n.err"; then
        reason="the linked program does not run: $(head -n 1 "$tmp/$n.err")"
        return 1
    fi
    # the files really used: the header as the compiler resolved it, the shared libraries the
    # linker opened (its --trace lines), each only if it exists and has no space in its path
    hdr=$(header_of "$n")
    # shellcheck disable=SC2086
    $CC -std=c11 $cflags -M "$tmp/$n.c" 2>/dev/null | tr ' \\' '\n\n' | grep "/$hdr\$" | head -n 1 >"$tmp/$n.files"
    grep -E '\.so$' "$tmp/$n.trace" | grep -vE '/(libc|libm|libgcc_s|libpthread|libdl|ld-linux[^/]*)\.so$' >>"$tmp/$n.files"
    return 0
}

probe() { # -> missing, reasons (one per line), CFLAGS, LIBS, FILES, DESC
    missing=; reasons=; CFLAGS_ALL=; LIBS_ALL=; FILES=; DESC=
    if [ $have_pkg_config = 0 ]; then
        missing=pkg-config
        reasons="pkg-config: not found on PATH"
    fi
    for n in $probe_names; do
        if try "$n"; then
            # OpenBLAS's include directory goes first: lapacke's pkg-config adds
            # -I/usr/include/<triplet>, where another BLAS's cblas.h may live
            if [ "$n" = openblas ]; then CFLAGS_ALL="$cflags $CFLAGS_ALL"; else CFLAGS_ALL="$CFLAGS_ALL $cflags"; fi
            LIBS_ALL="$LIBS_ALL $libs"
            while IFS= read -r f; do
                case $f in ''|*[[:space:]]*) continue ;; esac
                [ -e "$f" ] && FILES="$FILES $(realpath -s "$f" 2>/dev/null || echo "$f")"
            done <"$tmp/$n.files"
            v=
            [ $have_pkg_config = 1 ] && v=$("$PKG_CONFIG" --modversion "$(module_of "$n")" 2>/dev/null)
            lib=$(grep -E "/lib$n[^/]*\.so$" "$tmp/$n.trace" | head -n 1)
            [ -n "$lib" ] && lib=$(realpath -s "$lib" 2>/dev/null || echo "$lib")
            case $n in
            openblas) DESC="${DESC}BLAS: OpenBLAS${v:+ $v} ($how${lib:+: $lib})"$nl ;;
            lapacke)
                lap=$(ldd "$tmp/$n" 2>/dev/null | sed -n 's/^[[:space:]]*liblapack\.so[^ ]* => \([^ ]*\).*/\1/p' | head -n 1)
                [ -n "$lap" ] && lap=$(readlink -f "$lap" 2>/dev/null || echo "$lap")
                DESC="${DESC}LAPACKE:${v:+ $v} ($how${lap:+; LAPACK $lap})"$nl ;;
            esac
        else
            missing="$missing $(pkg_of "$n")"
            reasons="$reasons${reasons:+
}$n: $(header_of "$n") with $how: $reason"
        fi
    done
    missing=$(echo $missing)
    CFLAGS_ALL=$(dedup $CFLAGS_ALL); LIBS_ALL=$(echo $LIBS_ALL)
    [ -z "$missing" ] || return 0
    # all four together, with the union of the flags, exactly as the build compiles and links
    for n in $probe_names; do echo "#include <$(header_of "$n")>"; done >"$tmp/all.c"
    echo 'int main(void) { openblas_set_num_threads(1); return 0; }' >>"$tmp/all.c"
    # shellcheck disable=SC2086
    if ! $CC -std=c11 -Werror=implicit-function-declaration $CFLAGS_ALL -o "$tmp/all" "$tmp/all.c" \
            $LIBS_ALL 2>"$tmp/all.err" || ! "$tmp/all" 2>>"$tmp/all.err"; then
        echo "mint: deps: each library links alone, but not all together with: $CFLAGS_ALL $LIBS_ALL" >&2
        head -n 3 "$tmp/all.err" | sed 's/^/mint: deps:   /' >&2
        exit 1
    fi
}
dedup() { # words, first occurrence kept
    seen=' '
    for w in "$@"; do
        case $seen in *" $w "*) ;; *) seen="$seen$w "; printf '%s ' "$w" ;; esac
    done
}

probe
if [ -n "$missing" ]; then
    if [ "$NO_DEPS" = 1 ]; then
        printf '%s\n' "$reasons" | sed 's/^/mint: deps: /' >&2
        echo "mint: missing packages: $missing" >&2
        echo "mint: NO_DEPS=1, nothing installed; to install them: apt-get install -y $missing" >&2
        exit 1
    fi
    sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "installing: $missing"
    printf '%s\n' "$reasons" | sed 's/^/  (/; s/$/)/'
    # shellcheck disable=SC2086
    if ! { $sudo "$APT_GET" update -qq && $sudo env DEBIAN_FRONTEND=noninteractive "$APT_GET" install -y -qq $missing >"$tmp/apt.log" 2>&1; }; then
        tail -n 5 "$tmp/apt.log" >&2 2>/dev/null
        echo "mint: could not install: $missing (run: ${sudo:+sudo }apt-get install -y $missing)" >&2
        exit 1
    fi
    have_pkg_config=0
    command -v "$PKG_CONFIG" >/dev/null 2>&1 && have_pkg_config=1
    probe
    if [ -n "$missing" ]; then
        printf '%s\n' "$reasons" | sed 's/^/mint: deps: /' >&2
        echo "mint: still missing after apt-get install: $missing" >&2
        exit 1
    fi
fi

printf '%s' "$DESC" | sed 's/^/  DEPS    /'
{
    echo "# written by mk/deps.sh: the flags its probes compiled, linked and ran with"
    echo "MINT_DEPS_CC := $(printf '%s' "$CC" | sed 's/\$/$$/g')"
    echo "MINT_DEPS_CFLAGS := $(echo $CFLAGS_ALL)"
    echo "MINT_DEPS_LIBS := $(echo $LIBS_ALL)"
    echo "MINT_DEPS_FILES := $(printf '%s\n' $FILES | sort -u | tr '\n' ' ' | sed 's/ $//')"
} >"$tmp/deps.mk"
mkdir -p "$(dirname "$out")" || exit 3
if ! cmp -s "$tmp/deps.mk" "$out"; then
    mv -f "$tmp/deps.mk" "$out.tmp.$$" && mv -f "$out.tmp.$$" "$out" || { rm -f "$out.tmp.$$"; echo "mint: deps: cannot write '$out'" >&2; exit 3; }
fi
exit 0
