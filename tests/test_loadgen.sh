#!/usr/bin/env bash
# test_loadgen.sh: ringo-bench http, tcp, echo and file against servers the
# test starts: tests/lg_server (a plain C HTTP server that counts what it
# answers and can stall), examples/httpd and examples/echo-server.
#
# Usage: tests/test_loadgen.sh RINGO_BENCH LG_SERVER JSON_GET ECHO_SERVER [HTTPD]
#   HTTPD may be '' (not built): its tests are then skipped.
#
# Checks that the generator's counts agree with the server's exactly,
# that every body framing (length, chunked, until close, HTTP/1.0, 1xx)
# and a closing server are handled without errors, that the open loop
# holds its rate within 2% and shows a 300 ms server stall as latency and
# not as a lower rate, that errors are counted by kind, that --json is
# valid JSON (tests/json_get) and that file --verify passes on a good file
# and catches one corrupted byte. Every command runs under timeout(1), so
# a hang fails the test instead of hanging it. Exit: 0 passed, 1 failed.
set -u -o pipefail

RB=${1:-} SRV=${2:-} JG=${3:-} ECHO=${4:-} HTTPD=${5:-}
[[ -x $RB && -x $SRV && -x $JG && -x $ECHO ]] ||
    { echo "usage: $0 RINGO_BENCH LG_SERVER JSON_GET ECHO_SERVER [HTTPD]" >&2; exit 2; }

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_setup loadgen

# rb NAME ARGS...: run ringo-bench with --json into $tmp/NAME.json; its
# exit status in $tmp/NAME.rc. Fails the test if the output is not JSON.
rb() {
    local name=$1 rc
    shift
    timeout 60 "$RB" "$@" --json --quiet >"$tmp/$name.json" 2>"$tmp/$name.err"
    rc=$?
    echo "$rc" >"$tmp/$name.rc"
    if ! "$JG" <"$tmp/$name.json" 2>/dev/null; then
        fail "$name: output is not valid JSON (rc $rc): $(head -c 300 "$tmp/$name.json") $(tail -n 2 "$tmp/$name.err")"
        return 1
    fi
    return 0
}

# j NAME PATH: a value of NAME's JSON ("" if absent).
j() { "$JG" "$2" <"$tmp/$1.json" 2>/dev/null || true; }
rc_of() { cat "$tmp/$1.rc"; }

# approx A B PCT: is A within PCT% of B?
approx() { awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b * p / 100) }'; }
# ge A B: A >= B (numbers)
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

# start_srv NAME CMD...: start a server printing "listening on H:PORT";
# sets PORT and PID.
start_srv() {
    local name=$1
    shift
    t_start "$name" "$tmp/$name.srverr" "$@"
}

# stop_count NAME: SIGTERM lg_server; its counters as shell variables
# S_requests, S_header, S_body, S_post.
stop_count() {
    local name=$1 i kv
    kill -TERM "$PID"
    for ((i = 0; i < 100; i++)); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    wait "$PID" 2>/dev/null
    S_requests= S_header= S_body= S_post=
    for kv in $(grep '^requests=' "$tmp/$name.out"); do
        eval "S_${kv%%=*}=${kv#*=}"
    done
}

stop_srv() {
    kill -TERM "$1" 2>/dev/null
    timeout 10 tail --pid="$1" -f /dev/null 2>/dev/null
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# ---- counts: every framing, the generator agrees with the server ----

test_counts() {
    start_srv counts "$SRV" --port 0 || return
    local url="http://127.0.0.1:$PORT" total=0 p n name
    for p in / /chunked /close /eof /http10 /big /continue; do
        name=count${p//\//_}
        rb "$name" http "$url$p" -c 4 -d 500ms --procs 1 || continue
        n=$(j "$name" requests)
        check "http $p: requests > 0 ($n)" ge "${n:-0}" 1
        check "http $p: no errors ($(j "$name" errors.total))" test "$(j "$name" errors.total)" = 0
        check "http $p: every answer was a 200" test "$(j "$name" status.200)" = "$n"
        total=$((total + ${n:-0}))
    done
    # Pipelined, and pipelined against a server closing after each answer
    # (the rest of each batch goes again on a new connection).
    for p in / /close; do
        name=pipe${p//\//_}
        rb "$name" http "$url$p" -c 4 -d 500ms --pipeline 8 --procs 2 || continue
        n=$(j "$name" requests)
        check "http $p --pipeline 8: no errors, $n requests" \
            test "$(j "$name" errors.total)" = 0 -a "${n:-0}" -gt 0
        total=$((total + ${n:-0}))
    done
    rb count_close http "$url/close" -c 2 -d 300ms --procs 1 &&
        check "http /close: reconnects counted" ge "$(j count_close reconnects)" 1
    n=$(j count_close requests)
    total=$((total + ${n:-0}))
    stop_count counts
    check "server answered what the generator counted ($S_requests = $total)" \
        test "${S_requests:-x}" = "$total"
}

# ---- method, headers, body ----

test_request() {
    start_srv req "$SRV" --port 0 || return
    local url="http://127.0.0.1:$PORT/"
    head -c 1000 /dev/zero | tr '\0' 'z' >"$tmp/body"
    rb post http "$url" -c 2 -d 300ms -X POST -H 'X-Test: 1' -H 'X-Other: 2' \
        --body hello --procs 1 || { stop_count req; return; }
    rb bodyfile http "$url" -c 2 -d 300ms --body-file "$tmp/body" --procs 1
    local a b
    a=$(j post requests) b=$(j bodyfile requests)
    stop_count req
    check "server saw X-Test on each POST ($S_header = $a)" test "$S_header" = "$a"
    check "server saw POST as the method ($S_post = $a)" test "$S_post" = "$a"
    check "server got every body byte ($S_body = 5*$a + 1000*$b)" \
        test "$S_body" = $((5 * a + 1000 * b))
}

# ---- open loop: rate, and a stall ----

test_open_loop() {
    start_srv rate "$SRV" --port 0 || return
    rb rate http "http://127.0.0.1:$PORT/" -c 10 -d 3s --rate 2000 --procs 1 &&
    {
        check "open loop: 2000 req/s held within 2% ($(j rate rps))" approx "$(j rate rps)" 2000 2
        check "open loop: 6000 requests within 2% ($(j rate requests))" approx "$(j rate requests)" 6000 2
        check "open loop: nothing left unsent" test "$(j rate unsent)" = 0
    }
    stop_count rate
    check "open loop: server count = generator count" test "$S_requests" = "$(j rate requests)"

    start_srv stall "$SRV" --port 0 --stall-after 2000 --stall-ms 300 || return
    rb stall http "http://127.0.0.1:$PORT/" -c 10 -d 3s --rate 2000 --procs 1 \
        --plot "$tmp/stall.svg" &&
    {
        check "stall: rate still 2000 within 2% ($(j stall rps))" approx "$(j stall rps)" 2000 2
        check "stall: requests still 6000 within 2% ($(j stall requests))" approx "$(j stall requests)" 6000 2
        check "stall: max latency includes the 300 ms stall ($(j stall latency_us.max) us)" \
            ge "$(j stall latency_us.max)" 295000
        check "stall: p99 includes it too ($(j stall latency_us.p99) us)" \
            ge "$(j stall latency_us.p99)" 150000
        check "stall: p50 does not ($(j stall latency_us.p50) us)" \
            awk -v v="$(j stall latency_us.p50)" 'BEGIN { exit !(v < 100000) }'
        check "stall: no errors" test "$(j stall errors.total)" = 0
        check "--plot wrote an SVG" grep -q '</svg>' "$tmp/stall.svg"
        if command -v xmllint >/dev/null; then
            check "--plot SVG is well-formed XML" xmllint --noout "$tmp/stall.svg"
        fi
    }
    stop_count stall
}

# ---- errors by kind ----

test_errors() {
    local port
    # A port nobody listens on: bind one, note it, close it.
    port=$(start_srv closed "$SRV" --port 0 && echo "$PORT"; stop_srv "$PID")
    rb refused http "http://127.0.0.1:$port/" -c 2 -d 500ms --procs 1
    check "closed port: connect errors counted ($(j refused errors.connect))" ge "$(j refused errors.connect)" 1
    check "closed port: no requests, exit 1" test "$(j refused requests)/$(rc_of refused)" = 0/1

    start_srv errs "$SRV" --port 0 || return
    local url="http://127.0.0.1:$PORT"
    rb e404 http "$url/404" -c 2 -d 300ms --procs 1
    check "404: counted as status_4xx, one per answer" \
        test "$(j e404 errors.status_4xx)" = "$(j e404 status.404)" -a "$(j e404 requests)" -gt 0
    rb e500 http "$url/500" -c 2 -d 300ms --procs 1
    check "500: counted as status_5xx, one per answer" \
        test "$(j e500 errors.status_5xx)" = "$(j e500 requests)" -a "$(j e500 requests)" -gt 0
    rb eslow http "$url/slow" -c 2 -d 1s --timeout 200ms --procs 1
    check "slow server: timeouts counted ($(j eslow errors.timeout))" ge "$(j eslow errors.timeout)" 2
    check "slow server: no answer counted" test "$(j eslow requests)" = 0
    stop_srv "$PID"
}

# ---- examples/httpd ----

test_httpd() {
    [[ -x $HTTPD ]] || { echo "skip httpd (not built)"; return; }
    start_srv httpd "$HTTPD" --host 127.0.0.1 --port 0 --procs 1 || return
    local url="http://127.0.0.1:$PORT/"
    rb httpd http "$url" -c 8 -d 500ms --procs 1
    check "httpd: 200s only, no errors ($(j httpd requests) requests)" \
        test "$(j httpd status.200)" = "$(j httpd requests)" -a "$(j httpd errors.total)" = 0
    rb httpd_pipe http "$url" -c 8 -d 500ms --pipeline 16 --procs 1
    check "httpd --pipeline 16: no errors" test "$(j httpd_pipe errors.total)" = 0
    rb httpd_head http "$url" -c 2 -d 300ms -X HEAD --procs 1
    check "httpd HEAD: bodiless answers parsed, no errors" \
        test "$(j httpd_head errors.total)" = 0 -a "$(j httpd_head requests)" -gt 0
    # The bench= line net-compare.sh reads, with the old option style.
    timeout 30 "$RB" http --procs 1 --port "$PORT" -d 300ms -c 4 >"$tmp/old.out" 2>&1
    check "http --port (old style): bench= line with n and errors=0" \
        grep -Eq '^bench=http .* n=[1-9][0-9]* .*errors=0 ' "$tmp/old.out"
    stop_srv "$PID"
}

# ---- tcp and echo ----

test_tcp() {
    start_srv echo "$ECHO" --host 127.0.0.1 --port 0 --procs 1 || return
    local hp="127.0.0.1:$PORT"
    rb tcp tcp "$hp" -c 4 -d 500ms --procs 1
    check "tcp echo: verified answers, no errors ($(j tcp requests))" \
        test "$(j tcp errors.total)" = 0 -a "$(j tcp requests)" -gt 0
    rb tcp_pipe tcp "$hp" -c 4 -d 500ms --pipeline 4 --size 1k --procs 1
    check "tcp --pipeline 4 --size 1k: no errors" test "$(j tcp_pipe errors.total)" = 0
    head -c 3000 /dev/urandom >"$tmp/payload"
    rb tcp_file tcp "$hp" -c 2 -d 300ms --payload-file "$tmp/payload" --reply-len 3000 --procs 1
    check "tcp --payload-file --reply-len: no errors" \
        test "$(j tcp_file errors.total)" = 0 -a "$(j tcp_file requests)" -gt 0
    rb tcp_rate tcp "$hp" -c 4 -d 1s --rate 1000 --procs 1
    check "tcp open loop: 1000 req/s within 2% ($(j tcp_rate rps))" approx "$(j tcp_rate rps)" 1000 2
    timeout 30 "$RB" echo --procs 1 --port "$PORT" -d 300ms -c 4 --size 64 >"$tmp/echo.out" 2>&1
    check "echo (old style): bench= line with errors=0" \
        grep -Eq '^bench=echo .* n=[1-9][0-9]* .*errors=0 ' "$tmp/echo.out"
    stop_srv "$PID"
}

# ---- file ----

test_file() {
    local f=$tmp/data
    rb fwrite file "$f" --rw write --size 4M --bs 4k --verify
    check "file write --verify: passes ($(j fwrite verified_blocks) blocks)" \
        test "$(rc_of fwrite)/$(j fwrite errors.total)/$(j fwrite verified_blocks)" = 0/0/1024
    rb fread file "$f" --rw randread --verify --io-count 5000 --qd 8
    check "file randread --verify: 5000 I/Os, no errors" \
        test "$(rc_of fread)/$(j fread ios)/$(j fread errors.total)" = 0/5000/0
    printf 'X' | dd of="$f" bs=1 seek=1234567 conv=notrunc status=none
    rb fbad file "$f" --rw read --verify
    check "file read --verify: a corrupted byte is caught, exit 1" \
        test "$(rc_of fbad)/$(j fbad errors.verify)/$(j fbad bad_blocks)" = 1/1/1
    check "file read --verify: at its offset ($(j fbad first_bad_offset))" \
        test "$(j fbad first_bad_offset)" = 1234567
    rb frw file "$f" --rw randwrite -d 300ms --qd 4 --verify --seed 7
    check "file randwrite --verify (seed 7): passes" test "$(j frw errors.total)" = 0
    rb fstale file "$f" --rw read --verify --qd 4
    check "file read --verify with the old seed: mismatches found" ge "$(j fstale errors.verify)" 1
    rb fdir file "$tmp/direct" --rw randwrite --size 1M --direct -d 200ms --verify
    if [[ $(rc_of fdir) == 0 ]]; then
        check "file --direct: no errors" test "$(j fdir errors.total)" = 0
    else
        check "file --direct refused: says O_DIRECT" grep -q O_DIRECT "$tmp/fdir.err"
    fi
    timeout 30 "$RB" file "$f" --bs 1001 >"$tmp/fbs.out" 2>&1
    check "file --bs not a multiple of 8: usage error (exit 2)" test $? = 2
}

# ---- options ----

test_options() {
    start_srv opts "$SRV" --port 0 || return
    rb dur http "http://127.0.0.1:$PORT/" -c 1 -d 400ms --procs 1
    check "-d 400ms: measured span 0.4 s or a little more ($(j dur elapsed_s))" \
        awk -v v="$(j dur elapsed_s)" 'BEGIN { exit !(v >= 0.4 && v < 1.5) }'
    timeout 10 "$RB" http "http://127.0.0.1:$PORT/" -d 5x >/dev/null 2>&1
    check "-d 5x: usage error (exit 2)" test $? = 2
    timeout 10 "$RB" http "https://127.0.0.1:$PORT/" >/dev/null 2>&1
    check "https: refused (exit 2)" test $? = 2
    stop_srv "$PID"
}

test_counts
test_request
test_open_loop
test_errors
test_httpd
test_tcp
test_file
test_options

echo "passed $passed, failed $failed"
((failed == 0))
