#!/usr/bin/env bash
# net-compare.sh: ringo's example servers against Go and nginx, side by side.
#
# Same CPU budget for every server: one core (ringo --procs 1, Go
# GOMAXPROCS=1, nginx worker_processes 1), the server pinned to CPU 0 with
# taskset and the client to CPU 1. Workloads:
#   http      wrk -t1 -c100 -d<S>s --latency        GET / "Hello, World!"
#   pipeline  the same with 16 requests per write (bench/pipeline.lua)
#   echo      ringo-bench echo -c 50 --size 64       (echo servers; no nginx)
#   conns     10,000 concurrent keep-alive connections (ringo-bench http
#             -c 10000): server RSS per connection
# For each run the server's CPU time (utime+stime from /proc/PID/stat, all
# its processes) over the measured client run is divided by the requests
# the client completed. Rounds are interleaved (ringo, go, nginx, ringo,
# ...); every server is started fresh for each run and warmed up for 1 s
# first; the table shows medians, and the best round beside them (the one
# least disturbed by other processes). Without wrk, the HTTP rows use
# ringo-bench http instead (said under the table).
#
# Usage: bench/net-compare.sh [--rounds R] [--duration S] [--only LIST]
#                             [--conns N] [--install] BUILD_DIR
#   --rounds R     measured rounds per workload and server (default 3)
#   --duration S   seconds per measured run (default 5)
#   --only LIST    comma-separated subset of: http pipeline echo conns
#   --conns N      connections of the conns workload (default 10000)
#   --install      apt-get install wrk and nginx-light when missing
# Servers: BUILD_DIR/examples/{httpd,echo-server}; Go peers from
# BUILD_DIR/peers/{httpd,echo} (bench/peers/build.sh BUILD_DIR/peers);
# nginx from PATH with bench/peers/nginx/nginx.conf. A missing peer is
# skipped with a note. Needs bash, awk, coreutils, taskset.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rounds=3 secs=5 only="" install=0 nconns=10000 build=""

usage() {
    sed -n '/^# Usage:/,/^# Servers:/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit "${1:-2}"
}
die() { echo "net-compare.sh: $*" >&2; exit 2; }
note() { echo "net-compare.sh: $*" >&2; }

while (($#)); do
    case $1 in
        --rounds)   (($# >= 2)) || usage; rounds=$2; shift 2 ;;
        --duration) (($# >= 2)) || usage; secs=$2; shift 2 ;;
        --only)     (($# >= 2)) || usage; only=$2; shift 2 ;;
        --conns)    (($# >= 2)) || usage; nconns=$2; shift 2 ;;
        --install)  install=1; shift ;;
        -h|--help)  usage 0 ;;
        -*)         note "unknown option $1"; usage ;;
        *)          [[ -z $build ]] || usage; build=$1; shift ;;
    esac
done
[[ -n $build ]] || usage
[[ -d $build ]] || die "no such build directory: $build"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $secs =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive integer"
[[ $nconns =~ ^[1-9][0-9]*$ ]] || die "--conns must be a positive integer"
build=$(cd "$build" && pwd)

declare -A SEL=()
for w in ${only//,/ }; do
    [[ " http pipeline echo conns " == *" $w "* ]] || die "--only: unknown workload '$w'"
    SEL[$w]=1
done
[[ -z $only ]] && SEL=([http]=1 [pipeline]=1 [echo]=1 [conns]=1)

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

RINGO_HTTPD=$build/examples/httpd
RINGO_ECHO=$build/examples/echo-server
RBENCH=$build/bench/ringo-bench
GO_HTTPD=$build/peers/httpd
GO_ECHO=$build/peers/echo
NGINX=$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; })
WRK=$(command -v wrk || true)
command -v taskset >/dev/null || die "taskset (util-linux) is required"
HZ=$(getconf CLK_TCK)

notes=()
[[ -x $RINGO_HTTPD ]] || notes+=("ringo httpd not built ($RINGO_HTTPD): skipped")
[[ -x $RINGO_ECHO ]] || notes+=("ringo echo-server not built: skipped")
[[ -x $GO_HTTPD && -x $GO_ECHO ]] ||
    notes+=("Go peers not built (bench/peers/build.sh $build/peers): skipped")
[[ -n $NGINX ]] || notes+=("nginx not installed (--install): skipped")
[[ -x $RBENCH ]] || notes+=("ringo-bench not built: echo and conns skipped")
if [[ -z $WRK ]]; then
    notes+=("wrk not installed (--install): HTTP rows driven by ringo-bench http")
    [[ -x $RBENCH ]] || notes+=("no HTTP client at all: http and pipeline skipped")
fi

# Raise the fd limit as far as allowed (the conns workload needs > 10,000).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringo-net.XXXXXX") || die "mktemp failed"
. "$here/lib.sh"
cleanup() {
    [[ -n $SRV_PID ]] && stop_server
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- servers ---------------------------------------------------------------

# have IMPL KIND: is the server binary for IMPL (ringo|go|nginx) and KIND
# (http|echo) available?
have() {
    case $1.$2 in
        ringo.http) [[ -x $RINGO_HTTPD ]] ;;
        ringo.echo) [[ -x $RINGO_ECHO ]] ;;
        go.http)    [[ -x $GO_HTTPD ]] ;;
        go.echo)    [[ -x $GO_ECHO ]] ;;
        nginx.http) [[ -n $NGINX ]] ;;
        *)          return 1 ;;
    esac
}

# start_server IMPL KIND: start it pinned to CPU 0 on a free port; sets
# SRV_PID and PORT. Returns non-zero if it does not come up within 5 s.
start_server() {
    local impl=$1 kind=$2
    local -a cmd
    PORT=$(free_port)
    case $impl.$kind in
        ringo.http) cmd=("$RINGO_HTTPD" --host 127.0.0.1 --port "$PORT" --procs 1) ;;
        ringo.echo) cmd=("$RINGO_ECHO" --host 127.0.0.1 --port "$PORT" --procs 1) ;;
        go.http)    cmd=(env GOMAXPROCS=1 "$GO_HTTPD" -addr "127.0.0.1:$PORT") ;;
        go.echo)    cmd=(env GOMAXPROCS=1 "$GO_ECHO" -addr "127.0.0.1:$PORT") ;;
        nginx.http) nginx_prepare "$PORT"; cmd=("$NGINX" "${NGINX_ARGS[@]}") ;;
    esac
    # taskset and env exec the server: SRV_PID is the server itself.
    server_up "$impl $kind server" taskset -c 0 "${cmd[@]}"
}

# srv_pids: the server process and its children (nginx's worker).
srv_pids() {
    echo "$SRV_PID"
    pgrep -P "$SRV_PID" 2>/dev/null || true
}

# cpu_ticks: utime+stime of the server's processes, in clock ticks.
cpu_ticks() {
    local p t=0 v
    for p in $(srv_pids); do
        # Fields after the ")" closing the command name: state is 1st,
        # utime 12th, stime 13th.
        v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# rss_kb: VmRSS of the server's processes, summed, in KiB.
rss_kb() {
    local p t=0 v
    for p in $(srv_pids); do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# ---- clients ---------------------------------------------------------------

# Each client prints "requests rps p50_us p99_us errors" on stdout.


wrk_client() {
    local port=$1 d=$2 depth=$3 out
    local -a cmd=(taskset -c 1 "$WRK" -t1 -c100 "-d${d}s" --latency)
    ((depth > 1)) && cmd+=(-s "$here/pipeline.lua")
    cmd+=("http://127.0.0.1:$port/")
    ((depth > 1)) && cmd+=(-- "$depth")
    out=$("${cmd[@]}" 2>&1) || { echo "wrk failed: $out" >&2; return 1; }
    echo "$out" >"$tmp/client.out"
    local n rps p50 p99 errs
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    # wrk sometimes records no latency at all when pipelining: say so.
    [[ $p50 == 0 ]] && p50=n/a
    [[ $p99 == 0 ]] && p99=n/a
    errs=$(awk '/Non-2xx/ { e += $NF } /Socket errors/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 } END { print e + 0 }' <<<"$out")
    [[ -n $n && -n $rps ]] || { echo "wrk: no result" >&2; return 1; }
    echo "$n $rps $p50 $p99 $errs"
}

# rbench_client KIND PORT SECS EXTRA...: ringo-bench echo|http on CPU 1.
rbench_client() {
    local kind=$1 port=$2 d=$3 out
    shift 3
    out=$(taskset -c 1 "$RBENCH" "$kind" --procs 1 --port "$port" -d "$d" "$@" 2>&1) ||
        { echo "ringo-bench failed: $(tail -n 2 <<<"$out")" >&2; return 1; }
    echo "$out" >"$tmp/client.out"
    awk '/^bench=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                     print v["n"], v["rps"], v["p50_us"], v["p99_us"], v["errors"] }' <<<"$out"
}

# client WORKLOAD PORT SECS
client() {
    local w=$1 port=$2 d=$3
    case $w in
        http)     if [[ -n $WRK ]]; then wrk_client "$port" "$d" 1
                  else rbench_client http "$port" "$d" -c 100; fi ;;
        pipeline) if [[ -n $WRK ]]; then wrk_client "$port" "$d" 16
                  else rbench_client http "$port" "$d" -c 100 --pipeline 16; fi ;;
        echo)     rbench_client echo "$port" "$d" -c 50 --size 64 ;;
    esac
}

# ---- measurements ----------------------------------------------------------

# run_load WORKLOAD IMPL ROUND: one fresh server, 1 s warm-up, measured run.
run_load() {
    local w=$1 impl=$2 round=$3 kind=http res c0 c1
    [[ $w == echo ]] && kind=echo
    have "$impl" "$kind" || return 0
    start_server "$impl" "$kind" || { notes+=("$w/$impl round $round: server did not start"); return 0; }
    client "$w" "$PORT" 1 >/dev/null
    c0=$(cpu_ticks)
    if ! res=$(client "$w" "$PORT" "$secs"); then
        notes+=("$w/$impl round $round: client failed")
        stop_server
        return 0
    fi
    c1=$(cpu_ticks)
    stop_server
    local n rps p50 p99 errs
    read -r n rps p50 p99 errs <<<"$res"
    echo "  $w $impl round $round: n=$n rps=$rps p50=${p50}us p99=${p99}us errors=$errs cpu_ticks=$((c1 - c0))" >&2
    record "$w.$impl" rps "$rps"
    record "$w.$impl" p50 "$p50"
    record "$w.$impl" p99 "$p99"
    record "$w.$impl" errors "$errs"
    awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$n" \
        'BEGIN { if (n > 0) printf "%.3f\n", t / hz * 1e6 / n }' >>"$tmp/res.$w.$impl.cpu"
}

# run_conns IMPL ROUND: hold nconns connections; RSS per connection.
run_conns() {
    local impl=$1 round=$2 base peak d=$((secs + 5)) cpid i
    have "$impl" http || return 0
    start_server "$impl" http || { notes+=("conns/$impl round $round: server did not start"); return 0; }
    base=$(rss_kb)
    taskset -c 1 "$RBENCH" http --procs 1 --port "$PORT" -c "$nconns" -d "$d" \
        >"$tmp/conns.out" 2>&1 &
    cpid=$!
    # Sample near the end of the run, when every connection is open.
    peak=0
    for ((i = 0; i < d * 10 - 10; i++)); do
        sleep 0.1
        kill -0 "$cpid" 2>/dev/null || break
        ((i >= (d - 3) * 10)) && { v=$(rss_kb); ((v > peak)) && peak=$v; }
    done
    wait "$cpid"
    stop_server
    local line errs n
    line=$(grep '^bench=' "$tmp/conns.out" || true)
    errs=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
    n=$(sed -n 's/.* n=\([0-9]*\).*/\1/p' <<<"$line")
    echo "  conns $impl round $round: base=${base}KiB peak=${peak}KiB n=${n:-?} errors=${errs:-?}" >&2
    ((peak > 0)) || { notes+=("conns/$impl round $round: no RSS sample"); return 0; }
    record "conns.$impl" rss $(((peak - base) * 1024 / nconns))
    record "conns.$impl" errors "${errs:-0}"
}

busy_before=$(busy_pct)
IMPLS=(ringo go nginx)
for w in http pipeline echo; do
    [[ -n ${SEL[$w]:-} ]] || continue
    [[ $w != echo && -z $WRK && ! -x $RBENCH ]] && continue
    [[ $w == echo && ! -x $RBENCH ]] && continue
    echo "== $w ($rounds rounds of ${secs}s)" >&2
    for ((r = 1; r <= rounds; r++)); do
        for impl in "${IMPLS[@]}"; do run_load "$w" "$impl" "$r"; done
    done
done
if [[ -n ${SEL[conns]:-} && -x $RBENCH ]]; then
    echo "== conns ($nconns connections, $rounds rounds)" >&2
    for ((r = 1; r <= rounds; r++)); do
        for impl in "${IMPLS[@]}"; do run_conns "$impl" "$r"; done
    done
fi

# ---- report ----------------------------------------------------------------

label() {
    case $1 in
        http)     echo "HTTP GET / (100 conns)" ;;
        pipeline) echo "HTTP pipelined x16 (100 conns)" ;;
        echo)     echo "echo 64 B (50 conns)" ;;
    esac
}

busy_after=$(busy_pct)
echo "## ringo vs Go vs nginx: network servers (median of $rounds rounds, ${secs}s each)"
echo
echo "Host: $(nproc) CPUs, $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')." \
     "Server on CPU 0 (1 P / GOMAXPROCS=1 / 1 worker), client on CPU 1." \
     "Load from other processes, 1 s before: ${busy_before:-?}; after: ${busy_after:-?}."
echo
echo "| workload | server | req/s | p50 µs | p99 µs | server CPU µs/req | errors | best req/s | best CPU µs/req |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for w in http pipeline echo; do
    for impl in "${IMPLS[@]}"; do
        k=$w.$impl
        [[ -s $tmp/res.$k.rps ]] || continue
        echo "| $(label "$w") | $impl | $(fmt "$(median "$tmp/res.$k.rps")") |" \
             "$(fmt "$(median "$tmp/res.$k.p50")") | $(fmt "$(median "$tmp/res.$k.p99")") |" \
             "$(fmt "$(median "$tmp/res.$k.cpu")") | $(median "$tmp/res.$k.errors") |" \
             "$(fmt "$(best "$tmp/res.$k.rps" max)") | $(fmt "$(best "$tmp/res.$k.cpu" min)") |"
    done
done
if ls "$tmp"/res.conns.*.rss >/dev/null 2>&1; then
    echo
    echo "| $nconns keep-alive connections | server | RSS per connection (bytes) | client errors |"
    echo "|---|---|---:|---:|"
    for impl in "${IMPLS[@]}"; do
        [[ -s $tmp/res.conns.$impl.rss ]] || continue
        echo "| busy, closed loop | $impl | $(fmt "$(median "$tmp/res.conns.$impl.rss")") |" \
             "$(median "$tmp/res.conns.$impl.errors") |"
    done
fi

# target NAME A OP B: print whether A OP B holds (OP: ge or le).
target() {
    local what=$1 a=$2 op=$3 b=$4
    [[ $a == n/a || $b == n/a ]] && { echo "- $what: n/a"; return; }
    awk -v w="$what" -v a="$a" -v op="$op" -v b="$b" 'BEGIN {
        ok = (op == "ge") ? (a >= b) : (a <= b)
        printf "- %s: %s (%.4g vs %.4g, ratio %.2f)\n", w, ok ? "met" : "MISSED", a, b, b ? a / b : 0 }'
}
m() { median "$tmp/res.$1"; }
mul() { [[ $1 == n/a ]] && echo n/a || awk -v a="$1" -v f="$2" 'BEGIN { print a * f }'; }
echo
echo "Medians over the rounds; \"best\" is the best single round (the least"
echo "disturbed by other processes on a shared machine)."
echo
echo "Targets (medians):"
target "httpd req/s >= 1.5x Go" "$(m http.ringo.rps)" ge "$(mul "$(m http.go.rps)" 1.5)"
target "httpd req/s >= nginx" "$(m http.ringo.rps)" ge "$(m http.nginx.rps)"
target "httpd CPU/req <= nginx" "$(m http.ringo.cpu)" le "$(m http.nginx.cpu)"
target "httpd pipelined req/s >= nginx" "$(m pipeline.ringo.rps)" ge "$(m pipeline.nginx.rps)"
target "httpd p99 <= nginx" "$(m http.ringo.p99)" le "$(m http.nginx.p99)"
target "httpd p99 <= Go" "$(m http.ringo.p99)" le "$(m http.go.p99)"
target "echo CPU/msg <= 0.7x Go" "$(m echo.ringo.cpu)" le "$(mul "$(m echo.go.cpu)" 0.7)"
target "echo msg/s >= Go" "$(m echo.ringo.rps)" ge "$(m echo.go.rps)"
if ((${#notes[@]})); then
    echo
    echo "Notes:"
    for x in "${notes[@]}"; do echo "- $x"; done
fi
