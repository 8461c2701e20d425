#!/usr/bin/env bash
# scripts/deps.sh [test|demo|aarch64]: install the Debian packages that
# building and testing (or also the demo and its peers, or also the aarch64
# cross build) need, skipping what is already installed. Needs root (or sudo) only when something is missing.
set -euo pipefail

want=(gcc g++ make meson ninja-build pkg-config
      liburing-dev libjemalloc-dev check libsubunit-dev
      curl procps valgrind clang libclang-rt-14-dev)
# The example HTTP server's parser (picohttpparser, shipped in libh2o).
want+=(libh2o-dev libh2o-evloop-dev)
if [ "${1:-test}" = demo ]; then
    want+=(golang-go libboost-context-dev wrk nginx-light util-linux)
fi
# The aarch64 cross build run under qemu-user (scripts/test-aarch64): the
# cross compiler, qemu, and the arm64 libraries through multiarch (libc6
# puts the arm64 ld.so in /lib, where qemu finds it). Not
# libjemalloc-dev:arm64: it cannot be installed beside the native
# libjemalloc-dev (apt removes that one), so the cross build goes without.
if [ "${1:-test}" = aarch64 ]; then
    want+=(gcc-aarch64-linux-gnu qemu-user libc6:arm64
           liburing-dev:arm64 check:arm64 libsubunit-dev:arm64)
fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "scripts/deps.sh: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "scripts/deps.sh: need root to install: ${missing[*]}" >&2
        exit 1
    }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
if [ "${1:-test}" = aarch64 ] &&
    ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
