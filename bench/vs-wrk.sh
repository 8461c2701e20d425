#!/usr/bin/env bash
# vs-wrk.sh: does ringo-bench http measure what wrk measures? Both drive
# the same servers, alternately, under the same conditions, and the table
# gives the ratio of their req/s (the goal: within 10%).
#
# Same CPU budget for every run: the server pinned to CPU 0 with one
# worker (nginx worker_processes 1, httpd --procs 1), the client pinned
# to CPU 1 with one thread (wrk -t1, ringo-bench --procs 1), the same
# connections and duration. Each round starts each server fresh, warms it
# up for 1 s, then runs wrk and ringo-bench back to back (in alternating
# order from round to round, so neither always gets the warmer server).
# The table shows medians over the rounds, and the median of the per-round
# ratios: the two runs of a round are back to back, so a neighbour's load
# on a shared machine disturbs both alike and their ratio keeps
# meaning when the absolute numbers swing. ringo-bench's own CPU use tells
# whether the client or the server was the bottleneck.
#
# Usage: bench/vs-wrk.sh [--rounds R] [--duration S] [--conns N]
#                        [--pipeline N] [--nice N] [--netpoll epoll]
#                        [--install] BUILD_DIR
#   --rounds R     rounds per server (default 3)
#   --duration S   seconds per measured run (default 5)
#   --conns N      connections (default 100)
#   --pipeline N   requests per write (default 1; wrk then uses
#                  bench/pipeline.lua)
#   --nice N       run servers and clients at nice N (e.g. -10 as root,
#                  so that neighbours on a shared machine disturb less)
#   --netpoll epoll  ringo-bench on ringo's epoll backend
#                  (RINGO_NETPOLL=epoll) instead of io_uring
#   --install      apt-get install wrk and nginx-light when missing
# Servers: nginx from PATH with bench/peers/nginx/nginx.conf, and
# BUILD_DIR/examples/httpd; the client BUILD_DIR/bench/ringo-bench. A
# missing server is skipped with a note. Needs bash, awk, taskset, wrk.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rounds=3 secs=5 conns=100 depth=1 install=0 build="" nice=0 netpoll=""

usage() {
    sed -n '/^# Usage:/,/^# Servers:/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit "${1:-2}"
}
die() { echo "vs-wrk.sh: $*" >&2; exit 2; }
note() { echo "vs-wrk.sh: $*" >&2; }

cmdline="bench/vs-wrk.sh $*"
while (($#)); do
    case $1 in
        --rounds)   (($# >= 2)) || usage; rounds=$2; shift 2 ;;
        --duration) (($# >= 2)) || usage; secs=$2; shift 2 ;;
        --conns)    (($# >= 2)) || usage; conns=$2; shift 2 ;;
        --pipeline) (($# >= 2)) || usage; depth=$2; shift 2 ;;
        --nice)     (($# >= 2)) || usage; nice=$2; shift 2 ;;
        --netpoll)  (($# >= 2)) || usage; netpoll=$2; shift 2 ;;
        --install)  install=1; shift ;;
        -h|--help)  usage 0 ;;
        -*)         note "unknown option $1"; usage ;;
        *)          [[ -z $build ]] || usage; build=$1; shift ;;
    esac
done
[[ -n $build ]] || usage
[[ -d $build ]] || die "no such build directory: $build"
for v in rounds secs conns depth; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--$v must be a positive integer"
done
[[ $nice =~ ^-?[0-9]+$ ]] || die "--nice must be an integer"
[[ -z $netpoll || $netpoll == epoll || $netpoll == uring ]] ||
    die "--netpoll must be epoll (or uring)"
build=$(cd "$build" && pwd)
PIN0=(nice -n "$nice" taskset -c 0)
PIN1=(nice -n "$nice" taskset -c 1)

if ((install)); then
    missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
    if ((${#missing[@]})); then
        note "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 ||
            note "apt-get install failed; going on without"
    fi
fi

HTTPD=$build/examples/httpd
RBENCH=$build/bench/ringo-bench
NGINX=$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; })
WRK=$(command -v wrk || true)
command -v taskset >/dev/null || die "taskset (util-linux) is required"
[[ -n $WRK ]] || die "wrk is not installed (--install)"
[[ -x $RBENCH ]] || die "ringo-bench not built: $RBENCH"

SERVERS=()
notes=()
if [[ -n $NGINX ]]; then SERVERS+=(nginx); else notes+=("nginx not installed: skipped"); fi
if [[ -x $HTTPD ]]; then SERVERS+=(httpd); else notes+=("httpd not built: skipped"); fi
((${#SERVERS[@]})) || die "no server to measure"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringo-vswrk.XXXXXX") || die "mktemp failed"
. "$here/lib.sh"
cleanup() {
    [[ -n $SRV_PID ]] && stop_server
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server nginx|httpd: pinned to CPU 0 on a free port; sets SRV_PID
# and PORT.
start_server() {
    local -a cmd
    PORT=$(free_port)
    case $1 in
        httpd) cmd=("$HTTPD" --host 127.0.0.1 --port "$PORT" --procs 1) ;;
        nginx) nginx_prepare "$PORT"; cmd=("$NGINX" "${NGINX_ARGS[@]}") ;;
    esac
    server_up "$1" "${PIN0[@]}" "${cmd[@]}"
}

# Each client prints "rps p50_us p99_us errors cpu_pct cpu_us_per_req" on
# stdout (wrk's CPU from bash's time keyword: user+sys of the process).
wrk_client() {
    local port=$1 d=$2 out TIMEFORMAT='%U %S'
    local -a cmd=("${PIN1[@]}" "$WRK" -t1 "-c$conns" "-d${d}s" --latency)
    ((depth > 1)) && cmd+=(-s "$here/pipeline.lua")
    cmd+=("http://127.0.0.1:$port/")
    ((depth > 1)) && cmd+=(-- "$depth")
    { time "${cmd[@]}" >"$tmp/wrk.out" 2>&1; } 2>"$tmp/wrk.time" ||
        { echo "wrk failed: $(cat "$tmp/wrk.out")" >&2; return 1; }
    out=$(<"$tmp/wrk.out")
    local rps p50 p99 errs n cpu
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    errs=$(awk '/Non-2xx/ { e += $NF } /Socket errors/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 } END { print e + 0 }' <<<"$out")
    [[ -n $rps ]] || { echo "wrk: no result" >&2; return 1; }
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    read -r u s <"$tmp/wrk.time"
    cpu=$(awk -v u="$u" -v s="$s" -v n="$n" -v d="$d" 'BEGIN { if (n > 0) printf "%.1f %.3f", 100 * (u + s) / d, (u + s) * 1e6 / n; else print "n/a n/a" }')
    echo "$rps $p50 $p99 $errs $cpu"
}

rbench_client() {
    local port=$1 d=$2 out
    out=$(env ${netpoll:+RINGO_NETPOLL=$netpoll} "${PIN1[@]}" "$RBENCH" http "http://127.0.0.1:$port/" --procs 1 \
        -c "$conns" -d "$d" --pipeline "$depth" 2>&1) ||
        { echo "ringo-bench failed: $(tail -n 2 <<<"$out")" >&2; return 1; }
    awk '/^bench=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                     print v["rps"], v["p50_us"], v["p99_us"], v["errors"], v["cpu_pct"], v["cpu_us"] }' <<<"$out"
}

# measure SERVER CLIENT ROUND
measure() {
    local srv=$1 cl=$2 r=$3 res rps p50 p99 errs cpu cpuus
    if ! res=$("${cl}_client" "$PORT" "$secs"); then
        notes+=("$srv/$cl round $r: client failed")
        return
    fi
    read -r rps p50 p99 errs cpu cpuus <<<"$res"
    echo "  $srv $cl round $r: rps=$rps p50=${p50}us p99=${p99}us errors=$errs client_cpu=${cpu}% ${cpuus}us/req" >&2
    record "$srv.$cl" rps "$rps"
    record "$srv.$cl" p50 "$p50"
    record "$srv.$cl" p99 "$p99"
    record "$srv.$cl" errors "$errs"
    record "$srv.$cl" cpu "$cpu"
    record "$srv.$cl" cpuus "$cpuus"
}

# pair_ratio SERVER ROUND: ringo-bench / wrk req/s of this round.
pair_ratio() {
    local w b
    w=$(tail -n 1 "$tmp/res.$1.wrk.rps" 2>/dev/null) b=$(tail -n 1 "$tmp/res.$1.rbench.rps" 2>/dev/null)
    [[ -n $w && -n $b && $(wc -l <"$tmp/res.$1.wrk.rps") == "$2" &&
       $(wc -l <"$tmp/res.$1.rbench.rps") == "$2" ]] || return 0
    awk -v a="$b" -v b="$w" 'BEGIN { if (b > 0) printf "%.4f\n", a / b }' >>"$tmp/res.$1.ratio"
}

busy_before=$(busy_pct)
echo "== $rounds rounds of ${secs}s, $conns connections, pipeline $depth" >&2
for ((r = 1; r <= rounds; r++)); do
    for srv in "${SERVERS[@]}"; do
        start_server "$srv" || { notes+=("$srv round $r: did not start"); continue; }
        # Warm-up: 1 s of load from the client that goes second.
        if ((r % 2)); then order=(wrk rbench); else order=(rbench wrk); fi
        "${order[1]}_client" "$PORT" 1 >/dev/null
        for cl in "${order[@]}"; do measure "$srv" "$cl" "$r"; done
        stop_server
        pair_ratio "$srv" "$r"
    done
done

busy_after=$(busy_pct)
echo "## ringo-bench http vs wrk (median of $rounds rounds, ${secs}s each)"
echo
echo "Host: $(nproc) CPUs, $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')." \
     "Server on CPU 0 (1 worker), client on CPU 1 (wrk -t1 / ringo-bench" \
     "--procs 1), $conns connections, pipeline $depth, nice $nice, ringo-bench netpoller ${netpoll:-io_uring}." \
     "Command: \`$cmdline\`." \
     "CPUs busy (others' work) 1 s before: ${busy_before:-?}; after: ${busy_after:-?}."
echo
echo "| server | wrk req/s | ringo-bench req/s | ratio of medians | median of round ratios | best wrk / best ringo-bench | ratio of bests | wrk p50/p99 µs | ringo-bench p50/p99 µs | client CPU µs/req wrk / ringo-bench | errors wrk/rb |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for srv in "${SERVERS[@]}"; do
    w=$(median "$tmp/res.$srv.wrk.rps") b=$(median "$tmp/res.$srv.rbench.rps")
    ratio=n/a
    [[ $w != n/a && $b != n/a ]] && ratio=$(awk -v a="$b" -v b="$w" 'BEGIN { printf "%.3f", a / b }')
    bw=$(best "$tmp/res.$srv.wrk.rps" max) bb=$(best "$tmp/res.$srv.rbench.rps" max)
    bratio=n/a
    [[ $bw != n/a && $bb != n/a ]] && bratio=$(awk -v a="$bb" -v b="$bw" 'BEGIN { printf "%.3f", a / b }')
    echo "| $srv | $(fmt "$w") | $(fmt "$b") | $ratio | $(median "$tmp/res.$srv.ratio") |" \
         "$(fmt "$bw") / $(fmt "$bb") | $bratio |" \
         "$(fmt "$(median "$tmp/res.$srv.wrk.p50")") / $(fmt "$(median "$tmp/res.$srv.wrk.p99")") |" \
         "$(fmt "$(median "$tmp/res.$srv.rbench.p50")") / $(fmt "$(median "$tmp/res.$srv.rbench.p99")") |" \
         "$(fmt "$(median "$tmp/res.$srv.wrk.cpuus")") / $(fmt "$(median "$tmp/res.$srv.rbench.cpuus")") |" \
         "$(median "$tmp/res.$srv.wrk.errors") / $(median "$tmp/res.$srv.rbench.errors") |"
done
echo
echo "Round ratios: $(for s in "${SERVERS[@]}"; do printf '%s %s; ' "$s" "$(tr '\n' ' ' <"$tmp/res.$s.ratio" 2>/dev/null)"; done)"
echo
echo "ratio = ringo-bench req/s / wrk req/s (goal: 0.90 to 1.10). \"best\" is"
echo "each client's best round, the one least disturbed by other processes"
echo "(on a shared machine the medians mostly measure the neighbours)."
echo "Client CPU: each client's utime+stime over its run per request (the"
echo "cost of generating the load; a client near 100% of its CPU set the pace)."
if ((${#notes[@]})); then
    echo
    echo "Notes:"
    for x in "${notes[@]}"; do echo "- $x"; done
fi
