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
#endif
