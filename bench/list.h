/*
 * bench/list.h: the benchmark table (libuv's benchmark-list.h). Each line
 * is BENCH(name, function, one-line help); add new benchmarks here and
 * declare their function in bench.h.
 */
#ifdef BENCH
BENCH("switch", bench_switch, "raw mcall+gogo round trip, ns per one-way switch")
BENCH("yield", bench_yield, "2 goroutines alternately rg_yield (1 P)")
BENCH("spawn", bench_spawn, "create + run + exit a goroutine")
BENCH("sleep", bench_sleep, "N goroutines rg_sleep(10ms): wall, lateness p50/p99")
BENCH("parked", bench_parked, "N parked goroutines: RSS per goroutine")
BENCH("pingpong", bench_pingpong, "unbuffered channel round trip between 2 goroutines")
BENCH("bufchan", bench_bufchan, "cap-1024 channel, 1 producer 1 consumer, ns per item")
BENCH("select4", bench_select4, "4 producers, 1 consumer selecting over 4 receives")
BENCH("mutex", bench_mutex, "-g G goroutines (4) increment under rg_mutex (2 Ps)")
BENCH("echo", bench_echo, "TCP echo load generator: tcp with --host/--port (docs/loadgen.md)")
BENCH("http", bench_http, "HTTP/1.1 load generator: URL -c N -d T [--rate R] (docs/loadgen.md)")
BENCH("tcp", bench_tcp, "TCP request/response load generator: HOST:PORT --size B | --payload-file F")
BENCH("file", bench_file, "file I/O through io_uring, fio-like: PATH --rw MODE --bs B --qd N")
BENCH("iort", bench_iort, "1-byte I/O round trip, 2 goroutines: --tcp 0|1 --try adapt|always|never --deadline none|fd|link")
BENCH("iostream", bench_iostream, "socketpair bulk transfer, --size B chunks, 16 KiB reads: --try adapt|always|never")
BENCH("accept", bench_accept, "dial+accept+close rate: -c DIALERS --multishot 0|1 [--burst 1: accepts only]")
BENCH("soak", bench_soak, "mixed load (servers, churning clients, timers, channels, spawns) for --seconds S; RSS and goroutines must stay flat [--check]")
#endif
