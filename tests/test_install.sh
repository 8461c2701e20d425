#!/bin/sh
# tests/test_install.sh BUILDDIR TESTSDIR [MESON]
#
# Installs the build in BUILDDIR into a temporary DESTDIR and uses the
# installed copy the way a user would, out of tree:
#  1. the layout: libringo.so -> libringo.so.0 -> libringo.so.X.Y.Z with
#     SONAME libringo.so.0, libringo.a, ringo.h (identical to the
#     source's) and ringo.pc;
#  2. ringo.pc: Cflags and Libs point at the installed copy;
#     Requires.private names liburing (and jemalloc when the library links
#     it), Libs.private -pthread, so a static link works from
#     `pkg-config --static --libs ringo` alone;
#  3. TESTSDIR/consumer.c built as C11 and TESTSDIR/consumer.cpp as C++17,
#     both with -Wall -Wextra -Werror -pedantic and nothing but
#     `pkg-config --cflags --libs ringo`, run against the installed
#     libringo.so (LD_LIBRARY_PATH), and consumer.c once more linked with
#     libringo.a, and once more run with RINGO_NETPOLL=epoll.
#  4. the version in ringo.h (RINGO_VERSION_*) is the one in ringo.pc.
# Exits 77 (skipped) when a compiler or pkg-config is missing.
set -eu

build=$(cd "$1" && pwd)
tests=$(cd "$2" && pwd)
meson=${3:-meson}
CC=${CC:-cc}
CXX=${CXX:-g++}

for tool in "$CC" "$CXX" pkg-config readelf; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "SKIP: $tool not found"
        exit 77
    }
done

tmp=$(mktemp -d /tmp/ringo-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

fail() {
    echo "FAIL: $*"
    exit 1
}

# meson install is run with --no-rebuild: meson test has built everything.
"$meson" install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "meson install"; }

# ---- 1. layout ----
pc=$(find "$dest" -name ringo.pc)
[ -n "$pc" ] && [ "$(echo "$pc" | wc -l)" -eq 1 ] || fail "ringo.pc: found '$pc'"
hdr=$(find "$dest" -name ringo.h)
[ -n "$hdr" ] || fail "ringo.h not installed"
cmp -s "$hdr" "$tests/../include/ringo.h" || fail "installed ringo.h differs from include/ringo.h"
libdir=$(dirname "$(find "$dest" -name 'libringo.so.0')")
[ -L "$libdir/libringo.so" ] && [ -L "$libdir/libringo.so.0" ] ||
    fail "libringo.so and libringo.so.0 must be symlinks in $libdir"
real=$(readlink -f "$libdir/libringo.so")
case $(basename "$real") in
libringo.so.0.*) ;;
*) fail "libringo.so points to $real" ;;
esac
[ "$(readlink -f "$libdir/libringo.so.0")" = "$real" ] || fail "libringo.so.0 -> ?"
soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libringo.so.0 ] || fail "SONAME is '$soname', want libringo.so.0"
[ -f "$libdir/libringo.a" ] || fail "libringo.a not installed in $libdir"

# ---- 2. ringo.pc ----
# The .pc names the final prefix; PKG_CONFIG_SYSROOT_DIR maps its paths
# into the DESTDIR.
PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
pkg-config --exists --print-errors ringo || fail "pkg-config ringo"
cflags=$(pkg-config --cflags ringo)
libs=$(pkg-config --libs ringo)
slibs=$(pkg-config --static --libs ringo)
echo "cflags: $cflags"
echo "libs:   $libs"
echo "static: $slibs"
case " $cflags " in
*" -I$dest"*) ;;
*) fail "Cflags do not point into the installed copy: $cflags" ;;
esac
case " $libs " in
*" -L$libdir "*"-lringo "*) ;;
*) fail "Libs do not point at $libdir: $libs" ;;
esac
# Requires.private: every library libringo.so needs besides libc.
needed=$(readelf -d "$real" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for lib in $needed; do
    case $lib in
    libc.so.* | ld-linux*.so.* | libpthread.so.* | libm.so.* | libdl.so.*) ;;
    *)
        name=$(echo "$lib" | sed 's/^lib\([^.]*\)\.so.*/\1/')
        case " $slibs " in
        *" -l$name "*) ;;
        *) fail "libringo.so needs $lib, pkg-config --static gives: $slibs" ;;
        esac
        ;;
    esac
done
case " $slibs " in
*" -pthread "* | *" -lpthread "*) ;;
*) fail "Libs.private lacks -pthread: $slibs" ;;
esac
# The header's version is the package's.
hver=$(for part in MAJOR MINOR PATCH; do
    sed -n "s/^#define RINGO_VERSION_$part \([0-9]*\)\$/\1/p" "$hdr"
done | paste -sd.)
[ "$hver" = "$(pkg-config --modversion ringo)" ] ||
    fail "ringo.h says $hver, ringo.pc $(pkg-config --modversion ringo)"

# ---- 3. build and run the consumers ----
cd "$tmp"
warn="-Wall -Wextra -Werror -pedantic"
# shellcheck disable=SC2086 # word splitting of flags is intended
$CC -std=c11 $warn -o consumer_c "$tests/consumer.c" $cflags $libs ||
    fail "consumer.c (C11) does not build"
# shellcheck disable=SC2086
$CXX -std=c++17 $warn -o consumer_cpp "$tests/consumer.cpp" $cflags $libs ||
    fail "consumer.cpp (C++17) does not build"
# shellcheck disable=SC2086
$CC -std=c11 $warn -o consumer_static "$tests/consumer.c" $cflags \
    $(echo "$slibs" | sed 's/-lringo\b/-l:libringo.a/') ||
    fail "consumer.c does not link statically with pkg-config --static"

# The dynamic ones must load the installed library, not another copy.
for exe in consumer_c consumer_cpp; do
    found=$(LD_LIBRARY_PATH=$libdir ldd "./$exe" | awk '$1 ~ /^libringo/ { print $3 }')
    [ "$(readlink -f "$found")" = "$real" ] ||
        fail "$exe loads libringo from '$found', not $real"
done
if ldd ./consumer_static | grep -q libringo; then
    fail "consumer_static still loads libringo.so"
fi

LD_LIBRARY_PATH=$libdir ./consumer_c || fail "consumer_c exited $?"
LD_LIBRARY_PATH=$libdir ./consumer_cpp || fail "consumer_cpp exited $?"
./consumer_static || fail "consumer_static exited $?"
# The same program with the other I/O backend.
RINGO_NETPOLL=epoll LD_LIBRARY_PATH=$libdir ./consumer_c ||
    fail "consumer_c with RINGO_NETPOLL=epoll exited $?"
echo "ok: installed ringo builds and runs from C11, C++17 and statically"
