#!/usr/bin/env bash
# scripts/deps.sh [test|demo]: install the Debian packages that building
# and testing (or also the demo and its peers) need, skipping what is
# already installed. Needs root (or sudo) only when something is missing.
set -euo pipefail

want=(gcc g++ make meson ninja-build pkg-config
      liburing-dev libjemalloc-dev check libsubunit-dev
      curl procps valgrind clang libclang-rt-14-dev)
# The example HTTP server's parser (picohttpparser, shipped in libh2o).
want+=(libh2o-dev libh2o-evloop-dev)
if [ "${1:-test}" = demo ]; then
    want+=(golang-go libboost-context-dev wrk nginx-light util-linux)
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
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
