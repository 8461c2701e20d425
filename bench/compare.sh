#!/usr/bin/env bash
# compare.sh: ringo-bench vs its peers, side by side.
#
# Runs each workload of ringo-bench ($BUILD_DIR/bench/ringo-bench) and of the
# Go peer ($BUILD_DIR/peers/micro; the `switch` row uses the Boost.Context
# floor $BUILD_DIR/peers/fcontext_bench instead), interleaved run by run
# (ringo, peer, ringo, peer, ...) after one discarded warm-up each. Every
# metric is the median over R rounds. Prints a markdown table on stdout;
# progress and failures go to stderr. A workload ringo-bench does not
# implement yet (non-zero exit or no result line) shows as n/a.
#
# Usage: bench/compare.sh [--rounds R] [--quick] [--only a,b,...]
#                         [--timeout SECS] BUILD_DIR
#   --rounds R     measured rounds per workload (default 5; 3 with --quick)
#   --quick        smaller n per run (and 3 rounds unless --rounds is given)
#   --only LIST    comma-separated subset of: switch yield spawn sleep parked
#                  pingpong bufchan select4 mutex
#   --timeout S    kill any single run after S seconds (default 300)
# Build the peers first with: bench/peers/build.sh BUILD_DIR/peers
#
# Needs only bash, awk and coreutils.
set -u -o pipefail

ALL_NAMES="switch yield spawn sleep parked pingpong bufchan select4 mutex"
# Rows of the table, in order: workload:procs.
CASES=(switch:1 yield:1 spawn:1 spawn:2 sleep:2 parked:2 pingpong:1 pingpong:2
       bufchan:1 bufchan:2 select4:1 mutex:2)
MUTEX_G=4   # goroutines in the mutex workload (the Go peer's -g)

declare -A N_FULL=([switch]=10000000 [yield]=10000000 [spawn]=1000000
    [sleep]=100000 [parked]=100000 [pingpong]=1000000 [bufchan]=10000000
    [select4]=2000000 [mutex]=10000000)
declare -A N_QUICK=([switch]=2000000 [yield]=2000000 [spawn]=200000
    [sleep]=20000 [parked]=50000 [pingpong]=200000 [bufchan]=2000000
    [select4]=400000 [mutex]=2000000)

usage() {
    sed -n '/^# Usage:/,/^# Build/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

die() { echo "compare.sh: $*" >&2; exit 2; }

rounds="" quick=0 only="" tmo=300 build=""
while (($#)); do
    case $1 in
        --rounds)    (($# >= 2)) || usage; rounds=$2; shift 2 ;;
        --rounds=*)  rounds=${1#*=}; shift ;;
        --quick)     quick=1; shift ;;
        --only)      (($# >= 2)) || usage; only=$2; shift 2 ;;
        --only=*)    only=${1#*=}; shift ;;
        --timeout)   (($# >= 2)) || usage; tmo=$2; shift 2 ;;
        --timeout=*) tmo=${1#*=}; shift ;;
        -h|--help)   usage 0 ;;
        -*)          echo "compare.sh: unknown option $1" >&2; usage ;;
        *)           [[ -z $build ]] || usage; build=$1; shift ;;
    esac
done
[[ -n $build ]] || usage
[[ -d $build ]] || die "no such build directory: $build"
[[ -z $rounds ]] && { ((quick)) && rounds=3 || rounds=5; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $tmo =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive integer"

declare -A SELECTED=()
if [[ -n $only ]]; then
    IFS=, read -ra picks <<<"$only"
    for p in "${picks[@]}"; do
        [[ " $ALL_NAMES " == *" $p "* ]] || die "--only: unknown workload '$p' (have: $ALL_NAMES)"
        SELECTED[$p]=1
    done
else
    for p in $ALL_NAMES; do SELECTED[$p]=1; done
fi

RINGO="$build/bench/ringo-bench"
GOPEER="$build/peers/micro"
FCTX="$build/peers/fcontext_bench"
for b in "$RINGO" "$GOPEER" "$FCTX"; do
    [[ -x $b ]] || echo "compare.sh: warning: $b not found; its column will be n/a" >&2
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringo-compare.XXXXXX") || die "mktemp failed"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # median
trap 'rm -rf "$tmp"' EXIT
notes=()   # failures, printed under the table

# metrics NAME: sets M (result keys), L (row labels), U (units) for a workload.
metrics() {
    case $1 in
        switch)   M=(ns_op); L=("switch"); U=("ns/switch") ;;
        yield)    M=(ns_op); L=("yield"); U=("ns/yield") ;;
        spawn)    M=(ns_op); L=("spawn"); U=("ns/spawn") ;;
        sleep)    M=(wall_ms p50_us p99_us)
                  L=("sleep 10ms: wall" "sleep 10ms: p50 lateness" "sleep 10ms: p99 lateness")
                  U=("ms" "us" "us") ;;
        parked)   M=(rss_per_g create_ns)
                  L=("parked: RSS" "parked: create")
                  U=("bytes/g" "ns/g") ;;
        pingpong) M=(ns_op); L=("pingpong"); U=("ns/roundtrip") ;;
        bufchan)  M=(ns_op); L=("bufchan (cap 1024)"); U=("ns/item") ;;
        select4)  M=(ns_op); L=("select4"); U=("ns/item") ;;
        mutex)    M=(ns_op); L=("mutex (g=$MUTEX_G)"); U=("ns/lock") ;;
    esac
}

# run_impl IMPL NAME PROCS N: run one benchmark; print its result line on
# stdout. On failure print a reason on stdout and return non-zero.
run_impl() {
    local impl=$1 name=$2 procs=$3 n=$4 out rc line
    local -a cmd
    case $impl in
        ringo)    cmd=("$RINGO" "$name" --procs "$procs" --n "$n") ;;
        go)       cmd=("$GOPEER" "$name" -procs "$procs" -n "$n")
                  [[ $name == mutex ]] && cmd+=(-g "$MUTEX_G") ;;
        fcontext) cmd=("$FCTX" switch -procs 1 -n "$n") ;;
    esac
    if [[ ! -x ${cmd[0]} ]]; then
        echo "${cmd[0]} not built"
        return 127
    fi
    out=$(timeout "$tmo" "${cmd[@]}" 2>"$tmp/stderr")
    rc=$?
    if ((rc != 0)); then
        if ((rc == 124)); then
            echo "timed out after ${tmo}s"
        else
            echo "exit $rc: $(tail -n 1 "$tmp/stderr")"
        fi
        return "$rc"
    fi
    line=$(printf '%s\n' "$out" | awk -v b="bench=$name" '$1 == b { l = $0 } END { print l }')
    if [[ -z $line ]]; then
        echo "no 'bench=$name' result line"
        return 1
    fi
    printf '%s\n' "$line"
}

# getkv LINE KEY: value of KEY in a key=value result line, if numeric.
getkv() {
    printf '%s\n' "$1" | awk -v k="$2" '{
        for (i = 1; i <= NF; i++) {
            p = index($i, "=")
            if (p > 1 && substr($i, 1, p - 1) == k) {
                v = substr($i, p + 1)
                if (v ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) print v
                exit
            }
        }
    }'
}

# fmtnum V: human-friendly fixed precision (n/a passes through).
fmtnum() {
    [[ $1 == n/a ]] && { echo n/a; return; }
    awk -v v="$1" 'BEGIN { a = (v < 0) ? -v : v
        if (a < 10) printf "%.2f\n", v; else if (a < 1000) printf "%.1f\n", v; else printf "%.0f\n", v }'
}

ratio() {
    [[ $1 == n/a || $2 == n/a ]] && { echo n/a; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

# measure IMPL NAME PROCS N CASE ROUND: one run; record each metric of the
# result line into $tmp/CASE.IMPL.KEY. Returns non-zero on failure.
measure() {
    local impl=$1 name=$2 procs=$3 n=$4 id=$5 round=$6 res k v
    if ! res=$(run_impl "$impl" "$name" "$procs" "$n"); then
        notes+=("$impl $name procs=$procs ($round): $res")
        echo "  $impl $round: FAILED ($res)" >&2
        return 1
    fi
    echo "  $impl $round: $res" >&2
    [[ $round == warm-up ]] && return 0
    for k in "${M[@]}"; do
        v=$(getkv "$res" "$k")
        [[ -n $v ]] && echo "$v" >>"$tmp/$id.$impl.$k"
    done
    return 0
}

rows=()
nlist=()
for c in "${CASES[@]}"; do
    name=${c%%:*} procs=${c##*:}
    [[ -n ${SELECTED[$name]:-} ]] || continue
    if ((quick)); then n=${N_QUICK[$name]}; else n=${N_FULL[$name]}; fi
    peer=go
    [[ $name == switch ]] && peer=fcontext
    id="$name.p$procs"
    metrics "$name"
    [[ " ${nlist[*]:-} " == *" $name=$n "* ]] || nlist+=("$name=$n")
    echo "== $name procs=$procs n=$n (ringo vs $peer, $rounds rounds)" >&2

    # Warm-up, discarded. An implementation that fails it is not run again
    # for this workload (e.g. a ringo-bench workload not implemented yet).
    ok_ringo=1 ok_peer=1
    measure ringo "$name" "$procs" "$n" "$id" warm-up || ok_ringo=0
    measure "$peer" "$name" "$procs" "$n" "$id" warm-up || ok_peer=0
    for ((r = 1; r <= rounds; r++)); do
        ((ok_ringo)) && measure ringo "$name" "$procs" "$n" "$id" "round $r"
        ((ok_peer)) && measure "$peer" "$name" "$procs" "$n" "$id" "round $r"
    done

    for i in "${!M[@]}"; do
        k=${M[$i]}
        rv=$(median "$tmp/$id.ringo.$k")
        pv=$(median "$tmp/$id.$peer.$k")
        label=${L[$i]}
        [[ $peer == go ]] || label="$label (vs $peer)"
        rows+=("| $label | $procs | $(fmtnum "$rv") | $(fmtnum "$pv") | $(ratio "$rv" "$pv") | ${U[$i]} |")
    done
done

((${#rows[@]})) || die "nothing selected"

mode=full
((quick)) && mode=quick
echo "## ringo vs Go ($mode run, median of $rounds rounds)"
echo
echo "Host: $(nproc) CPUs, $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| benchmark | procs | ringo | go | ratio (ringo/go) | unit |"
echo "|---|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Lower is better everywhere; ratio < 1 means ringo is faster/smaller."
echo "The switch row compares against a raw Boost.Context jump_fcontext ping-pong, not Go."
echo "n per run: ${nlist[*]}."
if ((${#notes[@]})); then
    echo
    echo "Failed runs:"
    for x in "${notes[@]}"; do echo "- $x"; done
fi
