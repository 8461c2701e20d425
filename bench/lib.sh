# bench/lib.sh: what the comparison scripts (net-compare.sh, vs-wrk.sh,
# compare.sh) share: one server at a time, on a free port, stopped cleanly. Sourced,
# not run; the caller sets $tmp (a scratch directory) and $here (bench/).
#
#   free_port            print a TCP port of 127.0.0.1 nobody listens on
#   nginx_prepare PORT   write $tmp/nginx/nginx.conf (bench/peers/nginx)
#                        for PORT; set NGINX_ARGS to the arguments that run
#                        it in the foreground
#   server_up NAME CMD...
#                        run CMD (which must exec the server, so that
#                        SRV_PID is the server) with stdout/stderr in
#                        $tmp/server.out/.err, wait until $PORT accepts;
#                        1 with a note on stderr if it does not within 5 s
#   stop_server          SIGTERM, then SIGKILL after 5 s; SRV_PID=""
#   to_us VALUE          a wrk duration (12.3us, 1.2ms, 2.0s) in us
#
# and the tables' arithmetic, over files of one number per line:
#   record KEY FIELD V   append V to $tmp/res.KEY.FIELD if it is a number
#   median FILE          the median, or n/a
#   best FILE max|min    the best round (the least disturbed), or n/a
#   fmt V                V with 3 significant digits or so
#   busy_pct             how busy CPUs 0 and 1 are over one second
#                        (/proc/stat): other processes skew every number

SRV_PID=""

free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 10000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

nginx_prepare() {
    local pre=$tmp/nginx
    rm -rf "$pre"
    mkdir -p "$pre"
    sed -e "s|@PREFIX@|$pre|g" -e "s|@PORT@|$1|g" \
        "$here/peers/nginx/nginx.conf" >"$pre/nginx.conf"
    NGINX_ARGS=(-p "$pre" -e "$pre/error.log" -c "$pre/nginx.conf"
                -g 'daemon off;')
}

server_up() {
    local name=$1 i
    shift
    "$@" >"$tmp/server.out" 2>"$tmp/server.err" &
    SRV_PID=$!
    for ((i = 0; i < 50; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
            sleep 0.2 # let nginx fork its worker
            return 0
        fi
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "$name did not start: $(tail -n 2 "$tmp/server.err" | tr '\n' ' ')" >&2
    stop_server
    return 1
}

stop_server() {
    local i
    kill -TERM "$SRV_PID" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
    SRV_PID=""
}

to_us() {
    awk -v v="$1" 'BEGIN { n = v + 0
        if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000
        else if (v ~ /s$/) print n * 1000000; else print "n/a" }'
}

record() {
    [[ $3 =~ ^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] && echo "$3" >>"$tmp/res.$1.$2"
    return 0
}

median() {
    [[ -s $1 ]] || { echo n/a; return; }
    sort -g "$1" | awk '{ a[NR] = $1 }
        END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
              printf "%.6g\n", m }'
}

best() {
    [[ -s $1 ]] || { echo n/a; return; }
    sort -g "$1" | awk -v w="$2" 'NR == 1 { lo = $1 } { hi = $1 }
        END { printf "%.6g\n", (w == "max") ? hi : lo }'
}

fmt() {
    [[ $1 == n/a ]] && { echo n/a; return; }
    awk -v v="$1" 'BEGIN { a = v < 0 ? -v : v
        if (a < 10) printf "%.2f\n", v; else if (a < 1000) printf "%.1f\n", v; else printf "%.0f\n", v }'
}

busy_pct() {
    local a b
    a=$(grep -E '^cpu[01] ' /proc/stat)
    sleep 1
    b=$(grep -E '^cpu[01] ' /proc/stat)
    printf '%s\n%s\n' "$a" "$b" | awk '{ idle = $5 + $6; tot = 0
        for (i = 2; i <= NF; i++) tot += $i
        if ($1 in t0) { printf "%s %.0f%% ", $1, 100 * (1 - (idle - i0[$1]) / (tot - t0[$1])) }
        else { t0[$1] = tot; i0[$1] = idle } }'
}
