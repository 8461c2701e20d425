# tests/lib.sh: what the shell tests (test_examples.sh, test_abuse.sh,
# test_loadgen.sh) share. Sourced, not run:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
#   t_setup NAME       a scratch directory ($tmp, removed at exit), the
#                      servers to kill at exit ($pids), the counters
#                      ($passed, $failed)
#   ok DESC / fail DESC / check DESC CMD...
#                      count and print one result; check passes if CMD
#                      succeeds
#   t_start NAME ERR CMD...
#                      start a server that prints "listening on HOST:PORT"
#                      (stdout to $tmp/NAME.out, stderr to ERR); set PORT
#                      and PID, or fail and return 1 after 10 s

t_setup() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringo-$1.XXXXXX") || exit 1
    pids=()
    failed=0 passed=0
    trap t_cleanup EXIT
}

t_cleanup() {
    local p
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$tmp"
}

ok()   { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

t_start() {
    local name=$1 err=$2 i
    shift 2
    "$@" >"$tmp/$name.out" 2>"$err" &
    PID=$!
    pids+=("$PID")
    PORT=
    for ((i = 0; i < 100; i++)); do
        PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
        [[ -n $PORT ]] && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    fail "$name: did not start: $(tail -n 3 "$err")"
    return 1
}
