#!/usr/bin/env bash
# test_abuse.sh: the example servers against misbehaving clients.
#
# Usage: tests/test_abuse.sh ECHO_SERVER HTTPD ABUSE_CLIENT
#   HTTPD may be '' (not built): its tests are then skipped.
#
# Each server runs on a free port of 127.0.0.1 with short timeouts (httpd:
# --header-timeout 2 --idle-timeout 3; echo-server: --idle-timeout 2) and
# gets, from tests/abuse_client: slowloris connections, idle ones, clients
# that never read, 64 KiB to 4 MiB header lines, request smuggling and
# framing attacks, resets in the middle of requests, and 20,000
# connect/close cycles, all while normal requests must still be answered;
# and httpd limited to 128 descriptors gets 400 connections at once.
# Then:
#   - no connection is left open: the server's socket count (from
#     /proc/PID/fd) returns to 1, the listener;
#   - memory does not grow: RSS after each round of abuse stays within
#     RSS_SLACK_PCT percent (plus RSS_SLACK_KB) of the RSS after a warm-up
#     round that opened as many connections at once;
#   - SIGTERM still ends the server with exit status 0 and nothing from a
#     sanitizer on its stderr (build with -Db_sanitize=address,undefined to
#     make that check mean something: meson test in such a build does).
# Every wait is bounded. Exit status: 0 all passed, 1 something failed.
set -u -o pipefail

ECHO=${1:-} HTTPD=${2:-} CLIENT=${3:-}
[[ -x $ECHO && -x $CLIENT ]] || {
    echo "usage: $0 ECHO_SERVER HTTPD ABUSE_CLIENT" >&2
    exit 2
}
RSS_SLACK_PCT=10
RSS_SLACK_KB=4096

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_setup abuse

# start NAME CMD...: start a server on a free port; set PORT and PID.
start() {
    local name=$1
    shift
    t_start "$name" "$tmp/$name.err" "$@" --host 127.0.0.1 --port 0
}

# abuse DESC ARGS...: run the client; pass if it exits 0. Its summary line
# is shown either way.
abuse() {
    local desc=$1 out
    shift
    out=$("$CLIENT" "$@" 2>&1)
    if [[ $? -eq 0 ]]; then ok "$desc: $out"; else fail "$desc: $out"; fi
}

sockets() { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# settle NAME PID: pass if the server is back to its listening socket
# alone within 8 s (lingering closes take up to 1 s, timeouts a few).
settle() {
    local name=$1 pid=$2 i n
    for ((i = 0; i < 80; i++)); do
        n=$(sockets "$pid")
        ((n <= 1)) && break
        sleep 0.1
    done
    if ((n <= 1)); then ok "$name: no connection left open"; else
        fail "$name: $n sockets still open (1 expected)"
    fi
}

# check_rss NAME PID BASE_KB WHEN: pass if RSS is within the slack of BASE.
check_rss() {
    local name=$1 pid=$2 base=$3 when=$4 now limit
    now=$(rss_kb "$pid")
    limit=$((base + base * RSS_SLACK_PCT / 100 + RSS_SLACK_KB))
    if ((now <= limit)); then
        ok "$name: RSS $when ${now} kB (warm-up ${base} kB, limit ${limit} kB)"
    else
        fail "$name: RSS $when ${now} kB grew past ${limit} kB (warm-up ${base} kB)"
    fi
}

# stop NAME PID: SIGTERM; pass if it exits 0 within 10 s and its stderr
# holds no sanitizer report.
stop() {
    local name=$1 pid=$2 i rc
    kill -TERM "$pid"
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "$name: still running 10 s after SIGTERM"
        kill -KILL "$pid"
        return
    fi
    wait "$pid"
    rc=$?
    if ((rc == 0)); then ok "$name: SIGTERM -> exit 0"; else
        fail "$name: SIGTERM -> exit $rc"
    fi
    if grep -qE 'Sanitizer|runtime error:' "$tmp/$name.err"; then
        fail "$name: sanitizer report on stderr"
        grep -E -m 5 -A 5 'Sanitizer|runtime error:' "$tmp/$name.err"
    else
        ok "$name: no sanitizer report"
    fi
}

# ---- httpd ---------------------------------------------------------------

test_httpd() {
    start httpd "$HTTPD" --procs 2 --header-timeout 2 --idle-timeout 3 ||
        return
    local port=$PORT pid=$PID base
    abuse "httpd: GET /" get "$port"

    # Warm-up: as many connections at once as the rounds below open.
    abuse "httpd: warm-up churn" churn "$port" 2000
    abuse "httpd: warm-up slowloris" slowloris "$port" 300 1.5 5
    settle httpd "$pid"
    base=$(rss_kb "$pid")

    # Round 1.
    abuse "httpd: smuggling" smuggle "$port"
    abuse "httpd: 64 KiB header line" bigheader "$port" 65536
    abuse "httpd: 200 KiB header line" bigheader "$port" 204800
    abuse "httpd: 4 MiB header line" bigheader "$port" 4194304
    abuse "httpd: slowloris (408 after 2 s)" slowloris "$port" 300 1.5 5
    abuse "httpd: idle connections (closed after 3 s)" idle "$port" 100 2.5 5
    abuse "httpd: pipelining client that never reads" noread "$port" 6
    abuse "httpd: resets mid-request" reset "$port" 400
    abuse "httpd: connect/close churn" churn "$port" 20000
    settle httpd "$pid"
    check_rss httpd "$pid" "$base" "after round 1"

    # Round 2: the same again must not cost more.
    abuse "httpd: slowloris again" slowloris "$port" 300 1.5 5
    abuse "httpd: resets again" reset "$port" 400
    abuse "httpd: churn again" churn "$port" 20000
    abuse "httpd: smuggling again" smuggle "$port"
    settle httpd "$pid"
    check_rss httpd "$pid" "$base" "after round 2"
    abuse "httpd: still serving" get "$port"
    stop httpd "$pid"
}

# Out of descriptors: 400 connections at a server limited to 128 fds. The
# ones it cannot accept wait in the backlog; once they are gone it must
# serve again, with nothing left open.
test_httpd_flood() {
    start httpd-flood bash -c 'ulimit -n 128 && exec "$0" "$@"' "$HTTPD" \
        --procs 2 --header-timeout 2 --idle-timeout 2 || return
    local port=$PORT pid=$PID
    abuse "httpd: 400 connections at 128 fds" flood "$port" 400 1
    settle httpd-flood "$pid"
    stop httpd-flood "$pid"
}

# ---- echo-server ---------------------------------------------------------

test_echo() {
    start echo "$ECHO" --procs 2 --idle-timeout 2 || return
    local port=$PORT pid=$PID base
    abuse "echo: warm-up churn" churn "$port" 2000 echo
    abuse "echo: warm-up idle" idle "$port" 300 1.5 4 echo
    settle echo "$pid"
    base=$(rss_kb "$pid")

    abuse "echo: client that never reads (cut after 2 s)" noread "$port" 4 echo
    abuse "echo: idle connections (closed after 2 s)" idle "$port" 300 1.5 4 echo
    abuse "echo: resets mid-echo" reset "$port" 400 echo
    abuse "echo: connect/close churn" churn "$port" 20000 echo
    settle echo "$pid"
    check_rss echo "$pid" "$base" "after round 1"

    abuse "echo: idle again" idle "$port" 300 1.5 4 echo
    abuse "echo: churn again" churn "$port" 20000 echo
    settle echo "$pid"
    check_rss echo "$pid" "$base" "after round 2"
    stop echo "$pid"
}

test_echo
if [[ -n $HTTPD && -x $HTTPD ]]; then
    test_httpd
    test_httpd_flood
else
    echo "skip httpd tests: httpd not built"
fi

echo "$passed passed, $failed failed"
if ((failed)); then
    for f in "$tmp"/*.err; do
        [[ -s $f ]] && { echo "--- $(basename "$f")"; tail -n 20 "$f"; }
    done
    exit 1
fi
exit 0
