package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// perfLoad is one of the loads of check perf: how many clients write at
// once, how many writes per second they aim for in total (which is also
// the throughput the check expects), and the size of each value.
type perfLoad struct {
	name    string
	clients int
	rate    int
	size    int
}

// perfLoads returns the named loads, smallest first. The client counts and
// rates are those of etcd 3's "etcdctl check perf"; values are 256 bytes.
func perfLoads() []perfLoad {
	return []perfLoad{
		{name: "s", clients: 50, rate: 150, size: 256},
		{name: "m", clients: 200, rate: 1000, size: 256},
		{name: "l", clients: 500, rate: 8000, size: 256},
		{name: "xl", clients: 1000, rate: 15000, size: 256},
	}
}

// The limits a run must stay within to pass, besides reaching 90% of the
// load's rate and having no failed request.
const (
	perfMinRateShare = 0.9
	perfMaxSlowest   = 500 * time.Millisecond
	perfMaxStddev    = 100 * time.Millisecond
	exitInterrupted  = 130
)

// checkCommand returns check and its subcommand perf.
func checkCommand() *command {
	return &command{
		name:  "check",
		usage: "check the cluster (perf: its write performance)",
		subcommands: []*command{{
			name:  "perf",
			usage: "measure write throughput and latency under a chosen load, and judge it",
			description: "Writes unique keys under --prefix through the v2 keys API for --duration,\n" +
				"from many clients at once, paced to the load's rate; then prints the\n" +
				"throughput, the latency percentiles and PASS or FAIL, and removes the keys.\n" +
				"\n" +
				"   load   clients   writes/s   value size\n" +
				"   s           50        150    256 bytes\n" +
				"   m          200       1000    256 bytes\n" +
				"   l          500       8000    256 bytes\n" +
				"   xl        1000      15000    256 bytes\n" +
				"\n" +
				"A run passes when it reaches 90% of the rate, no request fails, the slowest\n" +
				"request takes less than 0.5 s and the latency's standard deviation is below\n" +
				"0.1 s. --clients, --rate and --size override the load's figures (--rate 0:\n" +
				"as fast as possible, no throughput expected); --total stops after that many\n" +
				"writes. Exit code 0 on PASS, 5 on FAIL.",
			options: []option{
				{names: []string{"load"}, kind: stringFlag, def: "s", usage: "the load: s, m, l or xl"},
				{names: []string{"clients"}, kind: intFlag, def: "0", usage: "number of concurrent clients (0: the load's)"},
				{names: []string{"rate"}, kind: intFlag, def: "-1", usage: "target writes per second, all clients together (-1: the load's, 0: no limit)"},
				{names: []string{"size"}, kind: intFlag, def: "-1", usage: "value size in bytes (-1: the load's)"},
				{names: []string{"total"}, kind: intFlag, def: "0", usage: "stop after this many writes (0: no limit)"},
				{names: []string{"duration"}, kind: durationFlag, def: "60s", usage: "how long to write"},
				{names: []string{"prefix"}, kind: stringFlag, def: "/etcdctl-check-perf/", usage: "directory for the test keys; it must not exist"},
			},
			run: runCheckPerf,
		}},
	}
}

// perfConfig is a resolved check perf run.
type perfConfig struct {
	clients  int
	rate     int // 0: unpaced
	size     int
	total    int // 0: no limit
	duration time.Duration
	prefix   string
}

// perfConfigFrom resolves the options against the chosen load.
func perfConfigFrom(in *invocation) (perfConfig, error) {
	var load *perfLoad
	for _, l := range perfLoads() {
		if l.name == in.String("load") {
			load = &l
		}
	}
	if load == nil {
		return perfConfig{}, fmt.Errorf("check perf: unknown load %q (choose s, m, l or xl)", in.String("load"))
	}
	cfg := perfConfig{
		clients: load.clients, rate: load.rate, size: load.size,
		total: in.Int("total"), duration: in.Duration("duration"),
		prefix: strings.TrimSuffix(in.String("prefix"), "/") + "/",
	}
	if n := in.Int("clients"); n != 0 {
		cfg.clients = n
	}
	if n := in.Int("rate"); n != -1 {
		cfg.rate = n
	}
	if n := in.Int("size"); n != -1 {
		cfg.size = n
	}
	switch {
	case cfg.clients < 0:
		return cfg, fmt.Errorf("check perf: --clients must be positive, not %d", cfg.clients)
	case cfg.rate < 0:
		return cfg, fmt.Errorf("check perf: --rate must be 0 or more, not %d", cfg.rate)
	case cfg.size < 0:
		return cfg, fmt.Errorf("check perf: --size must be 0 or more, not %d", cfg.size)
	case cfg.total < 0:
		return cfg, fmt.Errorf("check perf: --total must be 0 or more, not %d", cfg.total)
	case cfg.duration <= 0:
		return cfg, fmt.Errorf("check perf: --duration must be positive, not %v", cfg.duration)
	case cfg.prefix == "/":
		return cfg, fmt.Errorf("check perf: --prefix must name a directory below the root")
	}
	return cfg, nil
}

// runCheckPerf is the action of check perf.
func runCheckPerf(a *app, g *globalOptions, in *invocation) error {
	cfg, err := perfConfigFrom(in)
	if err != nil {
		return errorExit(exitBadArgs, err)
	}
	c, err := a.connect(g)
	if err != nil {
		return err
	}
	if err := checkPrefixFree(g, c, cfg.prefix); err != nil {
		return err
	}
	ctx, stop := a.interruptContext()
	defer stop()

	res := runPerfLoad(ctx, c, cfg, a.progress(cfg))
	cleanupErr := removePrefix(g, c, cfg.prefix)
	if interrupted(ctx) {
		msg := "check perf: interrupted; the test keys were removed\n"
		if cleanupErr != nil {
			msg = fmt.Sprintf("check perf: interrupted; removing the test keys under %s failed: %v\n", cfg.prefix, cleanupErr)
		}
		return rawExit(exitInterrupted, msg)
	}
	pass := res.report(a.stdout, cfg)
	if cleanupErr != nil {
		return errorExit(exitServerError, fmt.Errorf("check perf: removing the test keys under %s failed: %w", cfg.prefix, cleanupErr))
	}
	if !pass {
		return rawExit(exitClusterNotHealthy, "")
	}
	return nil
}

// checkPrefixFree makes sure the test directory does not exist, so that
// the run neither mixes with nor removes anybody's keys.
func checkPrefixFree(g *globalOptions, c *clusterClient, prefix string) error {
	ctx, cancel := g.totalContext()
	defer cancel()
	_, err := keysCall(ctx, c, getRequest(prefix, false, false, false))
	if err == nil {
		return errorExit(exitBadArgs, fmt.Errorf("check perf: %s already exists; remove it with 'etcdctl rm --recursive %s' or choose another --prefix", prefix, strings.TrimSuffix(prefix, "/")))
	}
	if kerr, ok := err.(keysError); ok && kerr.Code == 100 {
		return nil
	}
	return errorExit(exitServerError, err)
}

// removePrefix deletes the test directory and everything in it.
func removePrefix(g *globalOptions, c *clusterClient, prefix string) error {
	ctx, cancel := g.totalContext()
	defer cancel()
	_, err := keysCall(ctx, c, deleteRequest(prefix, deleteOptions{dir: true, recursive: true}))
	if kerr, ok := err.(keysError); ok && kerr.Code == 100 {
		return nil // nothing was written
	}
	return err
}

// pacer hands out start times spaced 1/rate apart, without bursts to catch
// up: a client that comes late starts at once and the next slot is one
// interval later. A zero interval means no pacing.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

// wait blocks until the caller's slot, or until ctx ends (false).
func (p *pacer) wait(ctx context.Context) bool {
	if p.interval == 0 {
		return ctx.Err() == nil
	}
	p.mu.Lock()
	now := time.Now()
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.interval)
	p.mu.Unlock()
	t := time.NewTimer(time.Until(slot))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// perfResult is what a run measured.
type perfResult struct {
	latencies []time.Duration // of the successful writes
	failed    int
	firstErr  error
	elapsed   time.Duration
}

// runPerfLoad writes keys from cfg.clients goroutines until the duration
// is over, cfg.total writes were started, or ctx ends. Writes already
// started are waited for. progress is told about each finished write.
func runPerfLoad(ctx context.Context, c *clusterClient, cfg perfConfig, progress *perfProgress) *perfResult {
	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	p := &pacer{}
	if cfg.rate > 0 {
		p.interval = time.Second / time.Duration(cfg.rate)
	}
	value := strings.Repeat("v", cfg.size)
	var (
		mu      sync.Mutex
		res     = &perfResult{}
		started atomic.Int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	progress.start(start)
	for i := 0; i < cfg.clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p.wait(runCtx) {
				n := started.Add(1)
				if cfg.total > 0 && n > int64(cfg.total) {
					return
				}
				r := setRequest(cfg.prefix+strconv.FormatInt(n, 10), value, setOptions{})
				// Requests already sent may finish after the duration:
				// only Ctrl-C (ctx) cuts them short.
				t0 := time.Now()
				_, err := keysCall(ctx, c, r)
				lat := time.Since(t0)
				mu.Lock()
				if err != nil {
					res.failed++
					if res.firstErr == nil {
						res.firstErr = err
					}
				} else {
					res.latencies = append(res.latencies, lat)
				}
				mu.Unlock()
				progress.done()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	progress.finish()
	return res
}

// perfStats are the latency figures of a run, in seconds.
type perfStats struct {
	average, stddev, slowest float64
	p50, p90, p99            float64
}

// stats computes the latency figures. Percentiles use the nearest rank.
func (r *perfResult) stats() perfStats {
	n := len(r.latencies)
	if n == 0 {
		return perfStats{}
	}
	secs := make([]float64, n)
	for i, d := range r.latencies {
		secs[i] = d.Seconds()
	}
	sort.Float64s(secs)
	var sum float64
	for _, s := range secs {
		sum += s
	}
	avg := sum / float64(n)
	var sq float64
	for _, s := range secs {
		sq += (s - avg) * (s - avg)
	}
	rank := func(q float64) float64 {
		i := int(math.Ceil(q*float64(n))) - 1
		return secs[max(i, 0)]
	}
	return perfStats{
		average: avg, stddev: math.Sqrt(sq / float64(n)), slowest: secs[n-1],
		p50: rank(0.50), p90: rank(0.90), p99: rank(0.99),
	}
}

// report prints the verdict lines and the latency figures, then PASS or
// FAIL, and says whether the run passed.
func (r *perfResult) report(w io.Writer, cfg perfConfig) bool {
	s := r.stats()
	ok := true
	check := func(pass bool, good, bad string) {
		if pass {
			fmt.Fprintln(w, "PASS: "+good)
		} else {
			fmt.Fprintln(w, "FAIL: "+bad)
			ok = false
		}
	}
	throughput := 0.0
	if r.elapsed > 0 {
		throughput = float64(len(r.latencies)) / r.elapsed.Seconds()
	}
	if cfg.rate > 0 {
		want := perfMinRateShare * float64(cfg.rate)
		check(throughput >= want,
			fmt.Sprintf("Throughput is %.0f writes/s", throughput),
			fmt.Sprintf("Throughput too low: %.0f writes/s (expected at least %.0f)", throughput, want))
	} else {
		fmt.Fprintf(w, "Throughput is %.0f writes/s (no target)\n", throughput)
	}
	total := len(r.latencies) + r.failed
	errText := ""
	if r.firstErr != nil {
		errText = "; the first error: " + r.firstErr.Error()
	}
	check(r.failed == 0 && total > 0,
		fmt.Sprintf("All %d writes succeeded", total),
		fmt.Sprintf("%d of %d writes failed%s", r.failed, total, errText))
	check(s.slowest < perfMaxSlowest.Seconds(),
		fmt.Sprintf("Slowest request took %.6fs", s.slowest),
		fmt.Sprintf("Slowest request took too long: %.6fs", s.slowest))
	check(s.stddev < perfMaxStddev.Seconds(),
		fmt.Sprintf("Stddev is %.6fs", s.stddev),
		fmt.Sprintf("Stddev too high: %.6fs", s.stddev))
	fmt.Fprintf(w, "Latency: average %.6fs, p50 %.6fs, p90 %.6fs, p99 %.6fs\n", s.average, s.p50, s.p90, s.p99)
	if ok {
		fmt.Fprintln(w, "PASS")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
	return ok
}
