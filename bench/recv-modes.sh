#!/usr/bin/env bash
# recv-modes.sh: the server's CPU time per message for each way of
# receiving small requests (bench/recv-modes.c; NAME-defer: its ring set up
# with DEFER_TASKRUN), beside examples/echo-server doing the same job on
# ringo (ringo: as shipped, DEFER_TASKRUN rings; ringo-coop: COOP_TASKRUN
# rings, RINGO_DEFER_TASKRUN=0; ringo-epoll: the epoll netpoller) and the
# Go echo server (BUILD_DIR/peers/echo, GOMAXPROCS=1, if built), side by
# side in one run.
#
# Each server runs pinned to CPU 0, the client (ringo-bench echo -c C
# --size B) pinned to CPU 1; the server's utime+stime from /proc/PID/stat
# over the measured run is divided by the messages echoed. Rounds are
# interleaved; the table shows medians.
#
# Usage: bench/recv-modes.sh [--rounds R] [--duration S] [--conns C]
#                            [--size B] BUILD_DIR
set -u -o pipefail
rounds=5 secs=4 conns=50 size=64 build=""
while (($#)); do
    case $1 in
        --rounds) rounds=$2; shift 2 ;;
        --duration) secs=$2; shift 2 ;;
        --conns) conns=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        -*) sed -n '/^# Usage:/,/^$/p' "$0" >&2; exit 2 ;;
        *) build=$1; shift ;;
    esac
done
[[ -d $build ]] || { echo "usage: $0 [options] BUILD_DIR" >&2; exit 2; }
RM=$build/bench/recv-modes RB=$build/bench/ringo-bench ECHO=$build/examples/echo-server
for f in "$RM" "$RB" "$ECHO"; do
    [[ -x $f ]] || { echo "recv-modes.sh: $f not built" >&2; exit 2; }
done
HZ=$(getconf CLK_TCK)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d) || exit 2
. "$here/lib.sh"
trap '[[ -n $SRV_PID ]] && stop_server; rm -rf "$tmp"' EXIT

ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# run MODE: one measured run; records the messages (res.MODE.n) and the
# server's CPU ns per message (res.MODE.ns).
run() {
    local mode=$1
    local -a cmd
    PORT=$(free_port)
    case $mode in
        ringo)       cmd=("$ECHO" --host 127.0.0.1 --port "$PORT" --procs 1) ;;
        ringo-coop)  cmd=(env RINGO_DEFER_TASKRUN=0 "$ECHO" --host 127.0.0.1
                          --port "$PORT" --procs 1) ;;
        ringo-epoll) cmd=(env RINGO_NETPOLL=epoll "$ECHO" --host 127.0.0.1
                          --port "$PORT" --procs 1) ;;
        go)          cmd=(env GOMAXPROCS=1 "$build/peers/echo" -addr "127.0.0.1:$PORT") ;;
        *-defer)     cmd=(env RECV_MODES_DEFER=1 "$RM" "${mode%-defer}" "$PORT") ;;
        *)           cmd=("$RM" "$mode" "$PORT") ;;
    esac
    server_up "$mode" taskset -c 0 "${cmd[@]}" || return 0
    local -a client=(taskset -c 1 "$RB" echo --port "$PORT" -c "$conns"
                     --size "$size" --procs 1 --quiet)
    "${client[@]}" -d 1s >/dev/null 2>&1
    local t0 t1 out n
    t0=$(ticks "$SRV_PID")
    out=$("${client[@]}" -d "${secs}s" --json 2>/dev/null)
    t1=$(ticks "$SRV_PID")
    stop_server
    n=$(grep -o '"n": *[0-9]*' <<<"$out" | grep -o '[0-9]*$')
    [[ -n $n && $n -gt 0 ]] || { echo "recv-modes.sh: $mode: no result" >&2; return 0; }
    record "$mode" n "$n"
    record "$mode" ns $(((t1 - t0) * 1000000000 / HZ / n))
}

modes=(single single-defer multishot multishot-defer mpoll epoll ringo ringo-coop ringo-epoll)
[[ -x $build/peers/echo ]] && modes+=(go)
for ((r = 1; r <= rounds; r++)); do
    for m in "${modes[@]}"; do run "$m"; done
done
printf "%-16s %12s %14s %8s   (%d rounds x %ss, %d conns, %d B, medians)\n" \
    mode msg/s "CPU ns/msg" ratio "$rounds" "$secs" "$conns" "$size"
base=$(median "$tmp/res.single.ns")
for m in "${modes[@]}"; do
    [[ -s $tmp/res.$m.ns ]] || continue
    awk -v m="$m" -v r="$(median "$tmp/res.$m.n")" -v s="$secs" \
        -v ns="$(median "$tmp/res.$m.ns")" -v b="$base" \
        'BEGIN { printf "%-16s %12.0f %14.0f %8.2f\n", m, r / s, ns, (b > 0 ? ns / b : 0) }'
done
