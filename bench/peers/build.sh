#!/usr/bin/env bash
# Build the peer benchmarks (Go runtime peers and the Boost.Context floor)
# into one directory, for bench/compare.sh:
#   micro, echo, httpd   Go peers (static, CGO_ENABLED=0)
#   fcontext_bench       raw jump_fcontext ping-pong (g++ -O2, -lboost_context)
#
# Usage: bench/peers/build.sh [OUT_DIR]     (default: build/peers)
# A peer whose toolchain is missing is skipped with a note on stderr; the
# script still exits 0 in that case. A real build failure exits non-zero.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-build/peers}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# --- Go peers -------------------------------------------------------------
if command -v go >/dev/null 2>&1; then
    # Self-contained toolchain state: works as root on a fresh machine with
    # HOME unset, never touches the network, no cgo so binaries are static.
    export GOCACHE="$out/.go/cache" GOPATH="$out/.go/path" GOENV=off \
           GOPROXY=off GOSUMDB=off GOFLAGS='' GO111MODULE=on GOTOOLCHAIN=local \
           CGO_ENABLED=0
    for m in micro echo httpd; do
        echo "build.sh: go build $m" >&2
        # -buildvcs=false: the enclosing git checkout may have no commits or
        # be owned by another user; VCS stamping would then fail the build.
        (cd "$src/go/$m" && go build -buildvcs=false -trimpath -o "$out/$m" .)
    done
else
    echo "build.sh: 'go' not found; skipping Go peers (micro, echo, httpd)" >&2
fi

# --- Boost.Context floor ----------------------------------------------------
cxx="${CXX:-g++}"
if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "build.sh: '$cxx' not found; skipping fcontext_bench" >&2
elif ! printf '%s\n' '#include <boost/context/detail/fcontext.hpp>' \
        'int main() { return boost::context::detail::make_fcontext(0, 0, 0) != 0; }' |
        "$cxx" -x c++ - -o "$out/.fcontext_probe" -lboost_context >/dev/null 2>&1; then
    rm -f "$out/.fcontext_probe"
    echo "build.sh: Boost.Context not found (libboost-context-dev); skipping fcontext_bench" >&2
else
    rm -f "$out/.fcontext_probe"
    echo "build.sh: $cxx fcontext_bench" >&2
    "$cxx" -O2 -o "$out/fcontext_bench" "$src/fcontext/fcontext_bench.cpp" -lboost_context
fi
