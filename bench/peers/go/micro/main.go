// Command micro is the Go peer of ringo-bench: it runs the same runtime
// micro-benchmarks (goroutine switch/spawn/sleep/park cost, channel and mutex
// throughput) on the Go runtime, so the two can be compared side by side.
//
// Usage: micro <workload> [-procs P] [-n N] [-g G]
//
// Each invocation runs one workload and prints one result line:
//
//	bench=<name> impl=go procs=<P> n=<N> ns_op=<float> [extra=value ...]
//
// Workloads: yield spawn sleep parked pingpong bufchan select4 mutex.
// No warm-up is done here; bench/compare.sh does discarded warm-up runs.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// workload runs one benchmark for n iterations and prints its result line.
type workload struct {
	defaultN int
	run      func(n int)
}

var (
	procs  = flag.Int("procs", 1, "GOMAXPROCS")
	nFlag  = flag.Int("n", 0, "iterations (0 = workload default)")
	gFlag  = flag.Int("g", 4, "goroutines for the mutex workload")
	sleepD = 10 * time.Millisecond
)

var workloads = map[string]workload{
	"yield":    {10_000_000, benchYield},
	"spawn":    {1_000_000, benchSpawn},
	"sleep":    {100_000, benchSleep},
	"parked":   {100_000, benchParked},
	"pingpong": {1_000_000, benchPingPong},
	"bufchan":  {10_000_000, benchBufChan},
	"select4":  {2_000_000, benchSelect4},
	"mutex":    {10_000_000, benchMutex},
}

func usage() {
	names := make([]string, 0, len(workloads))
	for k := range workloads {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: %s <workload> [-procs P] [-n N] [-g G]\nworkloads: %s\n",
		os.Args[0], strings.Join(names, " "))
	flag.PrintDefaults()
}

func main() {
	flag.Usage = usage
	// The workload name comes first; accept flags before it too.
	var name string
	var rest []string
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		name = os.Args[1]
		flag.CommandLine.Parse(os.Args[2:])
		rest = flag.Args()
	} else {
		flag.Parse()
		if flag.NArg() > 0 {
			name, rest = flag.Arg(0), flag.Args()[1:]
		}
	}
	w, ok := workloads[name]
	if !ok || len(rest) > 0 {
		usage()
		os.Exit(2)
	}
	if *procs < 1 || *nFlag < 0 || *gFlag < 1 {
		fmt.Fprintln(os.Stderr, "micro: -procs and -g must be >= 1, -n >= 0")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*procs)
	n := *nFlag
	if n == 0 {
		n = w.defaultN
	}
	w.run(n)
}

// emit prints one result line in the shared key=value format.
func emit(name string, n int, elapsed time.Duration, extra ...string) {
	if n <= 0 {
		fail("%s: n rounds down to 0; use a larger -n", name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bench=%s impl=go procs=%d n=%d ns_op=%.2f",
		name, runtime.GOMAXPROCS(0), n, float64(elapsed.Nanoseconds())/float64(n))
	for _, e := range extra {
		b.WriteByte(' ')
		b.WriteString(e)
	}
	fmt.Println(b.String())
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "micro: "+format+"\n", args...)
	os.Exit(1)
}

// yield: two goroutines each call runtime.Gosched n/2 times; with procs=1
// they alternate, so ns_op is roughly one yield + switch.
func benchYield(n int) {
	per := n / 2
	n = per * 2
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	for i := 0; i < 2; i++ {
		go func() {
			for j := 0; j < per; j++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	emit("yield", n, time.Since(start))
}

// spawn: n trivial goroutines, time until all have run.
func benchSpawn(n int) {
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	emit("spawn", n, time.Since(start))
}

// sleep: n goroutines each sleep 10ms; reports total wall time, time spent
// issuing the go statements, and p50/p99 wakeup lateness vs own deadline.
func benchSleep(n int) {
	late := make([]int64, n)
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func(i int) {
			deadline := time.Now().Add(sleepD)
			time.Sleep(sleepD)
			late[i] = int64(time.Since(deadline))
			wg.Done()
		}(i)
	}
	spawn := time.Since(start)
	wg.Wait()
	wall := time.Since(start)
	sort.Slice(late, func(a, b int) bool { return late[a] < late[b] })
	emit("sleep", n, wall,
		fmt.Sprintf("wall_ms=%.2f", float64(wall.Nanoseconds())/1e6),
		fmt.Sprintf("spawn_ms=%.2f", float64(spawn.Nanoseconds())/1e6),
		fmt.Sprintf("p50_us=%.1f", float64(percentile(late, 50))/1e3),
		fmt.Sprintf("p99_us=%.1f", float64(percentile(late, 99))/1e3))
}

// percentile returns the nearest-rank p-th percentile of sorted v.
func percentile(v []int64, p int) int64 {
	if len(v) == 0 {
		return 0
	}
	idx := (len(v)*p+99)/100 - 1
	if idx < 0 {
		idx = 0
	}
	return v[idx]
}

// parked: n goroutines blocked receiving on one shared unbuffered channel;
// reports resident memory per parked goroutine and creation cost.
func benchParked(n int) {
	ch := make(chan struct{})
	allParked := make(chan struct{})
	var parked int64
	var wg sync.WaitGroup
	wg.Add(n)
	runtime.GC()
	before := rssBytes()
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			if atomic.AddInt64(&parked, 1) == int64(n) {
				close(allParked)
			}
			<-ch
			wg.Done()
		}()
	}
	<-allParked
	create := time.Since(start)
	time.Sleep(20 * time.Millisecond) // let the last goroutines actually block
	after := rssBytes()
	emit("parked", n, create,
		fmt.Sprintf("rss_per_g=%d", (after-before)/int64(n)),
		fmt.Sprintf("create_ns=%.1f", float64(create.Nanoseconds())/float64(n)))
	close(ch)
	wg.Wait()
}

// rssBytes reads VmRSS from /proc/self/status.
func rssBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		fail("%v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				fail("bad VmRSS line %q", sc.Text())
			}
			return kb * 1024
		}
	}
	fail("VmRSS not found in /proc/self/status")
	return 0
}

// pingpong: round trips over two unbuffered channels between two goroutines.
func benchPingPong(n int) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	elapsed := time.Since(start)
	close(ping)
	emit("pingpong", n, elapsed)
}

// bufchan: one producer, one consumer over a cap-1024 channel.
func benchBufChan(n int) {
	ch := make(chan int, 1024)
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			ch <- i
		}
		close(ch)
	}()
	got := 0
	for range ch {
		got++
	}
	elapsed := time.Since(start)
	if got != n {
		fail("bufchan: received %d of %d", got, n)
	}
	emit("bufchan", n, elapsed)
}

// select4: 4 producers each send n/4 ints on their own unbuffered channel;
// one consumer selects over the 4 receives until all n items arrive.
func benchSelect4(n int) {
	per := n / 4
	n = per * 4
	var c [4]chan int
	for k := range c {
		c[k] = make(chan int)
	}
	start := time.Now()
	for k := range c {
		go func(ch chan int) {
			for i := 0; i < per; i++ {
				ch <- i
			}
		}(c[k])
	}
	for got := 0; got < n; got++ {
		select {
		case <-c[0]:
		case <-c[1]:
		case <-c[2]:
		case <-c[3]:
		}
	}
	emit("select4", n, time.Since(start))
}

// mutex: -g goroutines share n increments of one counter under sync.Mutex.
func benchMutex(n int) {
	g := *gFlag
	per := n / g
	n = per * g
	var mu sync.Mutex
	counter := 0
	var wg sync.WaitGroup
	wg.Add(g)
	start := time.Now()
	for k := 0; k < g; k++ {
		go func() {
			for i := 0; i < per; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if counter != n {
		fail("mutex: counter %d, want %d", counter, n)
	}
	emit("mutex", n, elapsed)
}
