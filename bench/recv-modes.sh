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
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"; kill $SRV 2>/dev/null' EXIT
SRV=""

ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# run MODE: one measured run; appends "msgs ns_per_msg" to $tmp/MODE.
run() {
    local mode=$1 port=$((20000 + RANDOM % 10000)) i
    case $mode in
        ringo) taskset -c 0 "$ECHO" --host 127.0.0.1 --port $port --procs 1 >/dev/null 2>&1 & ;;
        ringo-coop) RINGO_DEFER_TASKRUN=0 taskset -c 0 "$ECHO" --host 127.0.0.1 \
                        --port $port --procs 1 >/dev/null 2>&1 & ;;
        go) GOMAXPROCS=1 taskset -c 0 "$build/peers/echo" -addr 127.0.0.1:$port \
                >/dev/null 2>&1 & ;;
        ringo-epoll) RINGO_NETPOLL=epoll taskset -c 0 "$ECHO" --host 127.0.0.1 --port $port \
                         --procs 1 >/dev/null 2>&1 & ;;
        *-defer) RECV_MODES_DEFER=1 taskset -c 0 "$RM" "${mode%-defer}" $port \
                     >/dev/null 2>&1 & ;;
        *) taskset -c 0 "$RM" "$mode" $port >/dev/null 2>&1 & ;;
    esac
    SRV=$!
    for ((i = 0; i < 50; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    taskset -c 1 "$RB" echo --port $port -c "$conns" --size "$size" --procs 1 -d 1s --quiet >/dev/null 2>&1
    local t0; t0=$(ticks $SRV)
    local out; out=$(taskset -c 1 "$RB" echo --port $port -c "$conns" --size "$size" --procs 1 \
        -d "${secs}s" --quiet --json 2>/dev/null)
    local t1; t1=$(ticks $SRV)
    kill -INT $SRV; wait $SRV 2>/dev/null; SRV=""
    local n; n=$(grep -o '"n": *[0-9]*' <<<"$out" | grep -o '[0-9]*$')
    [[ -n $n && $n -gt 0 ]] || { echo "recv-modes.sh: $mode: no result" >&2; return; }
    echo "$n $(( (t1 - t0) * 1000000000 / HZ / n ))" >>"$tmp/$mode"
}

modes=(single single-defer multishot multishot-defer mpoll epoll ringo ringo-coop ringo-epoll)
[[ -x $build/peers/echo ]] && modes+=(go)
for ((r = 1; r <= rounds; r++)); do
    for m in "${modes[@]}"; do run "$m"; done
done
med() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
printf "%-16s %12s %14s %8s   (%d rounds x %ss, %d conns, %d B, medians)\n" \
    mode msg/s "CPU ns/msg" ratio "$rounds" "$secs" "$conns" "$size"
base=$(cut -d' ' -f2 "$tmp/single" | med)
for m in "${modes[@]}"; do
    [[ -s $tmp/$m ]] || continue
    rate=$(cut -d' ' -f1 "$tmp/$m" | med)
    ns=$(cut -d' ' -f2 "$tmp/$m" | med)
    awk -v m="$m" -v r="$rate" -v s="$secs" -v ns="$ns" -v b="$base" \
        'BEGIN { printf "%-16s %12.0f %14.0f %8.2f\n", m, r / s, ns, ns / b }'
done
