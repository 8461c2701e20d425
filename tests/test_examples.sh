#!/usr/bin/env bash
# test_examples.sh: end-to-end tests of the example servers.
#
# Usage: tests/test_examples.sh ECHO_SERVER HTTPD TCP_CLIENT
#   HTTPD may be '' (not built): its tests are then skipped.
#
# Each server is started on a free port of 127.0.0.1 (--port 0; the port is
# read from the "listening on" line it prints) and driven with
# tests/tcp_client (raw TCP) and curl (HTTP). Every wait is bounded, so a
# hung server fails the test instead of hanging it. Exit status: 0 all
# passed, 1 something failed, 77 (skip) when nothing could be run.
set -u -o pipefail

ECHO=${1:-} HTTPD=${2:-} CLIENT=${3:-}
[[ -x $ECHO && -x $CLIENT ]] || { echo "usage: $0 ECHO_SERVER HTTPD TCP_CLIENT" >&2; exit 2; }

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_setup examples

# start NAME CMD...: start a server on a free port; set PORT and PID.
start() {
    local name=$1
    shift
    t_start "$name" "$tmp/$name.err" "$@" --host 127.0.0.1 --port 0
}

# stop_term NAME PID: SIGTERM; pass if the server exits 0 within 10 s.
stop_term() {
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
    check "$name: SIGTERM -> exit 0 (got $rc)" test "$rc" -eq 0
}

# raw PORT: send stdin over one connection, print the answer.
raw() { "$CLIENT" raw "$1"; }

# count PATTERN FILE: lines of FILE matching PATTERN.
count() { grep -c -- "$1" "$2" || true; }

CURL=(curl -s --max-time 10)

# ---- echo-server ----------------------------------------------------------

test_echo() {
    start echo "$ECHO" --procs 2 || return
    local port=$PORT pid=$PID i
    check "echo: 1 byte round trip" "$CLIENT" echo "$port" 1
    check "echo: 1 MiB round trip" "$CLIENT" echo "$port" 1048576
    local cpids=()
    for ((i = 0; i < 20; i++)); do
        "$CLIENT" echo "$port" 65536 & cpids+=($!)
    done
    local bad=0
    for i in "${cpids[@]}"; do wait "$i" || bad=$((bad + 1)); done
    check "echo: 20 concurrent 64 KiB round trips" test "$bad" -eq 0
    # An idle connection must not hold up a graceful shutdown. One round
    # trip first, so that the server has surely accepted it.
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    local first=
    printf 'ping!' >&3
    IFS= read -r -d '!' -t 5 first <&3
    check "echo: round trip over a held connection" test "$first" = ping
    stop_term echo "$pid"
    local rest
    rest=$(timeout 5 cat <&3; echo "rc=$?")
    check "echo: idle connection closed by shutdown" test "$rest" = "rc=0"
    exec 3<&-
}

# ---- httpd: built-in page -------------------------------------------------

test_httpd_hello() {
    start httpd "$HTTPD" --procs 2 || return
    local port=$PORT pid=$PID url="http://127.0.0.1:$PORT"
    local out

    out=$("${CURL[@]}" -D "$tmp/h1" "$url/")
    check "httpd: GET / body" test "$out" = "Hello, World!"
    check "httpd: GET / 200" grep -q '^HTTP/1.1 200' "$tmp/h1"
    check "httpd: GET / text/plain" grep -qi '^content-type: text/plain' "$tmp/h1"
    check "httpd: Content-Length 13" grep -qi '^content-length: 13' "$tmp/h1"

    out=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$url/nope")
    check "httpd: 404 (got $out)" test "$out" = 404
    out=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -d x "$url/")
    check "httpd: POST -> 405 (got $out)" test "$out" = 405

    out=$("${CURL[@]}" -I "$url/")
    check "httpd: HEAD has Content-Length" grep -qi 'content-length: 13' <<<"$out"
    check "httpd: HEAD has no body" bash -c '! grep -q "Hello" <<<"$1"' _ "$out"

    "${CURL[@]}" -v "$url/" "$url/" >"$tmp/ka.out" 2>"$tmp/ka.err"
    check "httpd: keep-alive reuses the connection" grep -qi 're-using existing connection' "$tmp/ka.err"
    check "httpd: keep-alive: two bodies" test "$(cat "$tmp/ka.out")" = "Hello, World!Hello, World!"

    "${CURL[@]}" -v -H 'Connection: close' "$url/" "$url/" >/dev/null 2>"$tmp/cc.err"
    check "httpd: Connection: close answered" grep -qi '< connection: close' "$tmp/cc.err"
    check "httpd: Connection: close honoured" bash -c '! grep -qi "re-using existing" "$1"' _ "$tmp/cc.err"

    # Three pipelined requests in one write; answers in order.
    printf 'GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /missing HTTP/1.1\r\nHost: t\r\n\r\nHEAD / HTTP/1.1\r\nHost: t\r\n\r\n' |
        raw "$port" >"$tmp/pipe.out"
    out=$(grep -o 'HTTP/1.1 [0-9][0-9][0-9]' "$tmp/pipe.out" | tr '\n' ' ')
    check "httpd: pipelined answers in order ($out)" test "$out" = "HTTP/1.1 200 HTTP/1.1 404 HTTP/1.1 200 "
    check "httpd: pipelined bodies" test "$(count 'Hello, World!' "$tmp/pipe.out")" = 1

    printf 'GET / HTTP/1.0\r\n\r\n' | raw "$port" >"$tmp/h10.out"
    check "httpd: HTTP/1.0 answered" grep -q 'Hello, World!' "$tmp/h10.out"
    check "httpd: HTTP/1.0 closes" grep -qi '^connection: close' "$tmp/h10.out"

    printf 'THIS IS NOT HTTP\r\n\r\n' | raw "$port" >"$tmp/bad.out"
    check "httpd: malformed -> 400" grep -q '^HTTP/1.1 400' "$tmp/bad.out"
    printf 'GET / HTTP/1.1\r\n\r\n' | raw "$port" >"$tmp/nohost.out"
    check "httpd: HTTP/1.1 without Host -> 400" grep -q '^HTTP/1.1 400' "$tmp/nohost.out"
    { printf 'GET / HTTP/1.1\r\nHost: t\r\nX-Big: '; head -c 10000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } |
        raw "$port" >"$tmp/big.out"
    check "httpd: 10 KB header -> 431" grep -q '^HTTP/1.1 431' "$tmp/big.out"
    printf 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc' |
        raw "$port" >"$tmp/smuggle.out"
    check "httpd: Content-Length + Transfer-Encoding -> 400" grep -q '^HTTP/1.1 400' "$tmp/smuggle.out"
    # A body is skipped, and the request after it still answered.
    printf 'GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nxxxxxGET /x HTTP/1.1\r\nHost: t\r\n\r\n' |
        raw "$port" >"$tmp/body.out"
    out=$(grep -o 'HTTP/1.1 [0-9][0-9][0-9]' "$tmp/body.out" | tr '\n' ' ')
    check "httpd: request body skipped ($out)" test "$out" = "HTTP/1.1 200 HTTP/1.1 404 "

    # Still alive after all that?
    out=$("${CURL[@]}" "$url/")
    check "httpd: still serving after bad requests" test "$out" = "Hello, World!"

    # A keep-alive connection, surely accepted (one request answered), with
    # a second request sent just before SIGTERM: it is answered, with
    # Connection: close, and the connection closed.
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    local first=
    printf 'GET / HTTP/1.1\r\nHost: t\r\n\r\n' >&3
    IFS= read -r -d '!' -t 5 first <&3
    check "httpd: first request on a held connection" grep -q 'Hello, World' <<<"$first"
    printf 'GET / HTTP/1.1\r\nHost: t\r\n\r\n' >&3
    stop_term httpd "$pid"
    out=$(timeout 5 cat <&3)
    check "httpd: request in flight at SIGTERM answered" grep -q 'Hello, World!' <<<"$out"
    check "httpd: ... with Connection: close" grep -qi '^connection: close' <<<"$out"
    exec 3<&-
}

# ---- httpd: files ---------------------------------------------------------

test_httpd_files() {
    local www=$tmp/www
    mkdir -p "$www/sub" "$www/dir"
    echo '<h1>index</h1>' >"$www/index.html"
    echo 'small file' >"$www/sub/small.txt"
    head -c 3000000 /dev/urandom >"$www/big.bin"
    echo 'dir index' >"$www/dir/index.html"
    echo 'TOP SECRET' >"$tmp/secret.txt"
    ln -s "$tmp/secret.txt" "$www/leak.txt"
    ln -s sub/small.txt "$www/inside.txt"
    start httpd-root "$HTTPD" --procs 2 --root "$www" || return
    local port=$PORT pid=$PID url="http://127.0.0.1:$PORT" out

    "${CURL[@]}" -o "$tmp/big.got" "$url/big.bin"
    check "files: 3 MB download byte-exact" cmp -s "$www/big.bin" "$tmp/big.got"
    out=$("${CURL[@]}" "$url/sub/small.txt")
    check "files: small file" test "$out" = "small file"
    out=$("${CURL[@]}" "$url/sub/%73mall.txt")
    check "files: percent-decoded name" test "$out" = "small file"
    out=$("${CURL[@]}" "$url/")
    check "files: / serves index.html" test "$out" = "<h1>index</h1>"
    out=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$url/dir")
    check "files: directory without slash -> 301 (got $out)" test "$out" = 301
    out=$("${CURL[@]}" "$url/dir/")
    check "files: directory index" test "$out" = "dir index"
    out=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$url/nothere")
    check "files: missing -> 404 (got $out)" test "$out" = 404
    out=$("${CURL[@]}" -I "$url/big.bin")
    check "files: HEAD Content-Length" grep -qi 'content-length: 3000000' <<<"$out"
    out=$("${CURL[@]}" "$url/inside.txt")
    check "files: symlink inside the root" test "$out" = "small file"

    local p code body
    for p in '/../secret.txt' '/%2e%2e/secret.txt' '/sub/..%2f..%2fsecret.txt' \
             '/sub/../../secret.txt' '/leak.txt'; do
        code=$("${CURL[@]}" --path-as-is -o "$tmp/esc.out" -w '%{http_code}' "$url$p")
        body=$(cat "$tmp/esc.out")
        check "files: escape $p -> $code, not the file" \
            bash -c '[[ ($1 == 403 || $1 == 404 || $1 == 400) && $2 != *SECRET* ]]' _ "$code" "$body"
    done
    stop_term httpd-root "$pid"
}

test_echo
if [[ -n $HTTPD && -x $HTTPD ]]; then
    if command -v curl >/dev/null 2>&1; then
        test_httpd_hello
        test_httpd_files
    else
        echo "skip httpd tests: curl not installed"
    fi
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
