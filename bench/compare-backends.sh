#!/usr/bin/env bash
# compare-backends.sh: ringo's two netpollers side by side, io_uring (the
# default) against epoll (RINGO_NETPOLL=epoll).
#
# Workloads, all from ringo-bench (bench/io.c, bench/file.c) and the echo
# example:
#   iort      1-byte round trip between two goroutines: unix socketpair
#             (1 P and 2 P) and TCP loopback (1 P); ns per round trip
#   iostream  socketpair stream, 1 KiB and 64 KiB chunks; ns per chunk
#   accept    dial + accept + close, 16 dialers (churn), and accepts of
#             2,000 queued connections (burst); ns per connection
#   file      4 KiB random reads of a cached 64 MiB file, 16 in flight
#             (bench/file.c); ns per read
#   echo      examples/echo-server --procs 1 (pinned to CPU 0, the backend
#             under test) loaded by ringo-bench echo -c 50 --size 64
#             (CPU 1, always io_uring); requests/s, p99, and the server's
#             CPU time per request
# Each row runs io_uring then epoll, alternating, R rounds after one
# discarded warm-up each; the table shows medians and epoll/io_uring.
# The machine is shared and noisy: compare within a table only.
#
# Usage: bench/compare-backends.sh [--rounds R] [--duration S]
#                                  [--only LIST] BUILD_DIR
#   --rounds R     measured rounds per row and backend (default 5)
#   --duration S   seconds of each echo run (default 3)
#   --only LIST    comma-separated subset of: iort iostream accept file echo
# Needs bash, awk, coreutils and taskset (echo only).
set -u -o pipefail

rounds=5 secs=3 only="" build=""
usage() {
    sed -n '/^# Usage:/,/^# Needs/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit "${1:-2}"
}
die() { echo "compare-backends.sh: $*" >&2; exit 2; }
note() { echo "compare-backends.sh: $*" >&2; }

while (($#)); do
    case $1 in
        --rounds)   (($# >= 2)) || usage; rounds=$2; shift 2 ;;
        --duration) (($# >= 2)) || usage; secs=$2; shift 2 ;;
        --only)     (($# >= 2)) || usage; only=$2; shift 2 ;;
        -h|--help)  usage 0 ;;
        -*)         note "unknown option $1"; usage ;;
        *)          [[ -z $build ]] || usage; build=$1; shift ;;
    esac
done
[[ -n $build ]] || usage
[[ -d $build ]] || die "no such build directory: $build"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $secs =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive integer"
build=$(cd "$build" && pwd)
RBENCH=$build/bench/ringo-bench
ECHO=$build/examples/echo-server
[[ -x $RBENCH ]] || die "$RBENCH not built"

declare -A SEL=()
for w in ${only//,/ }; do
    [[ " iort iostream accept file echo " == *" $w "* ]] ||
        die "--only: unknown workload '$w'"
    SEL[$w]=1
done
[[ -z $only ]] && SEL=([iort]=1 [iostream]=1 [accept]=1 [file]=1 [echo]=1)

tmp=$(mktemp -d)
SRV_PID=""
cleanup() {
    [[ -n $SRV_PID ]] && kill -KILL "$SRV_PID" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

BACKENDS=(io_uring epoll)
# env for a backend: the default, or RINGO_NETPOLL=epoll.
benv() { [[ $1 == epoll ]] && echo RINGO_NETPOLL=epoll || echo RINGO_NETPOLL=; }

record() { # KEY VALUE
    [[ $2 =~ ^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] && echo "$2" >>"$tmp/res.$1"
    return 0
}

median() {
    [[ -s $1 ]] || { echo n/a; return; }
    sort -g "$1" | awk '{ v[NR] = $1 }
        END { if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.0f\n", m }'
}

# ---- ringo-bench rows ------------------------------------------------------

ROWS=()          # row ids, in table order
declare -A LABEL ARGS UNIT
row() { # ID WORKLOAD LABEL UNIT ARGS...
    local id=$1 w=$2
    [[ -n ${SEL[$w]:-} ]] || return 0
    LABEL[$id]=$3 UNIT[$id]=$4
    shift 4
    ARGS[$id]="$*"
    ROWS+=("$id")
}
datafile=$tmp/file.dat
row iort1 iort "iort unix, 1 P" "ns/rt" iort --procs 1
row iort2 iort "iort unix, 2 P" "ns/rt" iort --procs 2
row iortt iort "iort TCP, 1 P" "ns/rt" iort --procs 1 --tcp 1
row st1k iostream "iostream 1 KiB" "ns/chunk" iostream --size 1024
row st64k iostream "iostream 64 KiB" "ns/chunk" iostream --size 65536
row acc accept "accept churn, 16 dialers" "ns/conn" accept -c 16
row accb accept "accept burst (2,000 queued)" "ns/conn" accept --burst 1
row file file "file 4 KiB randread, qd 16" "ns/read" \
    file "$datafile" --rw randread --bs 4k --size 64M --qd 16 -d 2

# run_bench ID BACKEND: one run; prints ns_op.
run_bench() {
    local out
    # shellcheck disable=SC2086
    out=$(env "$(benv "$2")" timeout 120 "$RBENCH" ${ARGS[$1]} 2>&1) ||
        { note "${LABEL[$1]} ($2) failed: $(tail -n 1 <<<"$out")"; return 1; }
    awk '/^bench=/ { for (i = 1; i <= NF; i++) { split($i, kv, "=");
         if (kv[1] == "ns_op") print kv[2] } }' <<<"$out"
}

for id in "${ROWS[@]}"; do
    echo "== ${LABEL[$id]}" >&2
    for b in "${BACKENDS[@]}"; do run_bench "$id" "$b" >/dev/null; done
    for ((r = 1; r <= rounds; r++)); do
        for b in "${BACKENDS[@]}"; do
            v=$(run_bench "$id" "$b") || continue
            echo "  $b round $r: $v" >&2
            record "$id.$b" "$v"
        done
    done
done
rm -f "$datafile"

# ---- echo load -------------------------------------------------------------

free_port() {
    local p
    for ((p = 20000 + RANDOM % 20000; ; p++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

HZ=$(getconf CLK_TCK)
cpu_ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$SRV_PID/stat" 2>/dev/null || echo 0
}

# echo_run BACKEND ROUND: a fresh server, 1 s warm-up, measured run.
echo_run() {
    local b=$1 port i out c0 c1
    port=$(free_port)
    env "$(benv "$b")" taskset -c 0 "$ECHO" --host 127.0.0.1 --port "$port" \
        --procs 1 >"$tmp/server.out" 2>&1 &
    SRV_PID=$!
    for ((i = 0; i < 50; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    local client=(taskset -c 1 env RINGO_NETPOLL= "$RBENCH" echo --procs 1
                  --port "$port" -c 50 --size 64)
    "${client[@]}" -d 1 >/dev/null 2>&1
    c0=$(cpu_ticks)
    out=$("${client[@]}" -d "$secs" 2>&1)
    c1=$(cpu_ticks)
    kill -TERM "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
    SRV_PID=""
    local n rps p99
    read -r n rps p99 < <(awk '/^bench=/ { for (i = 1; i <= NF; i++) {
        split($i, kv, "="); v[kv[1]] = kv[2] }
        print v["n"], v["rps"], v["p99_us"] }' <<<"$out")
    [[ -n ${n:-} ]] || { note "echo ($b) round $2: no result"; return 0; }
    echo "  $b round $2: rps=$rps p99=${p99}us cpu_ticks=$((c1 - c0))" >&2
    record "echo.rps.$b" "$rps"
    record "echo.p99.$b" "$p99"
    record "echo.cpu.$b" "$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$n" \
        'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e9 / n }')"
}

if [[ -n ${SEL[echo]:-} ]]; then
    if [[ ! -x $ECHO ]]; then
        note "$ECHO not built: echo skipped"
    elif ! command -v taskset >/dev/null; then
        note "taskset missing: echo skipped"
    else
        echo "== echo ($rounds rounds of ${secs}s)" >&2
        for ((r = 1; r <= rounds; r++)); do
            for b in "${BACKENDS[@]}"; do echo_run "$b" "$r"; done
        done
        LABEL[echo.rps]="echo 64 B, 50 conns: requests/s" UNIT[echo.rps]="req/s"
        LABEL[echo.p99]="echo 64 B, 50 conns: p99" UNIT[echo.p99]="us"
        LABEL[echo.cpu]="echo 64 B, 50 conns: server CPU" UNIT[echo.cpu]="ns/req"
        ROWS+=(echo.rps echo.p99 echo.cpu)
    fi
fi

# ---- report ----------------------------------------------------------------

echo
echo "ringo netpollers, $rounds rounds each, interleaved; medians."
echo
echo "| workload | unit | io_uring | epoll | epoll / io_uring |"
echo "|---|---|---:|---:|---:|"
for id in "${ROWS[@]}"; do
    u=$(median "$tmp/res.$id.io_uring")
    e=$(median "$tmp/res.$id.epoll")
    ratio=$(awk -v u="$u" -v e="$e" 'BEGIN { if (u + 0 > 0 && e != "n/a")
        printf "%.2f", e / u; else print "n/a" }')
    echo "| ${LABEL[$id]} | ${UNIT[$id]} | $u | $e | $ratio |"
done
