package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPerfStats(t *testing.T) {
	// 1..100 ms: nearest-rank percentiles are the values themselves.
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	s := (&perfResult{latencies: lat}).stats()
	want := perfStats{average: 0.0505, stddev: 0.028866070047722118, slowest: 0.1, p50: 0.05, p90: 0.09, p99: 0.099}
	if fmt.Sprintf("%.9f", []float64{s.average, s.stddev, s.slowest, s.p50, s.p90, s.p99}) !=
		fmt.Sprintf("%.9f", []float64{want.average, want.stddev, want.slowest, want.p50, want.p90, want.p99}) {
		t.Errorf("stats %+v, want %+v", s, want)
	}
	if s := (&perfResult{latencies: ms(7)}).stats(); s.p50 != 0.007 || s.p99 != 0.007 || s.stddev != 0 {
		t.Errorf("one sample: %+v", s)
	}
	if s := (&perfResult{}).stats(); s != (perfStats{}) {
		t.Errorf("no sample: %+v", s)
	}
}

func TestPerfReport(t *testing.T) {
	tests := []struct {
		name string
		res  perfResult
		cfg  perfConfig
		want string
		pass bool
	}{
		{"pass", perfResult{latencies: ms(1, 2, 3, 4), elapsed: 25 * time.Millisecond}, perfConfig{rate: 150},
			"PASS: Throughput is 160 writes/s\nPASS: All 4 writes succeeded\nPASS: Slowest request took 0.004000s\nPASS: Stddev is 0.001118s\n" +
				"Latency: average 0.002500s, p50 0.002000s, p90 0.004000s, p99 0.004000s\nPASS\n", true},
		{"too slow", perfResult{latencies: ms(10, 600), elapsed: time.Second}, perfConfig{rate: 150},
			"FAIL: Throughput too low: 2 writes/s (expected at least 135)\nPASS: All 2 writes succeeded\nFAIL: Slowest request took too long: 0.600000s\nFAIL: Stddev too high: 0.295000s\n" +
				"Latency: average 0.305000s, p50 0.010000s, p90 0.600000s, p99 0.600000s\nFAIL\n", false},
		{"errors, no rate", perfResult{latencies: ms(1), failed: 3, firstErr: errors.New("boom"), elapsed: time.Second}, perfConfig{},
			"Throughput is 1 writes/s (no target)\nFAIL: 3 of 4 writes failed; the first error: boom\nPASS: Slowest request took 0.001000s\nPASS: Stddev is 0.000000s\n" +
				"Latency: average 0.001000s, p50 0.001000s, p90 0.001000s, p99 0.001000s\nFAIL\n", false},
		{"nothing written", perfResult{elapsed: time.Second}, perfConfig{},
			"Throughput is 0 writes/s (no target)\nFAIL: 0 of 0 writes failed\nPASS: Slowest request took 0.000000s\nPASS: Stddev is 0.000000s\n" +
				"Latency: average 0.000000s, p50 0.000000s, p90 0.000000s, p99 0.000000s\nFAIL\n", false},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if pass := tt.res.report(&b, tt.cfg); pass != tt.pass || b.String() != tt.want {
			t.Errorf("%s: pass=%v\n%s\nwant:\n%s", tt.name, pass, b.String(), tt.want)
		}
	}
}

// TestPacer checks on a fake clock that slots are one interval apart and
// that a late client does not get a burst of slots to catch up.
func TestPacer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pacer{interval: 100 * time.Millisecond}
		ctx := context.Background()
		start := time.Now()
		var at []time.Duration
		for i := 0; i < 3; i++ {
			p.wait(ctx)
			at = append(at, time.Since(start))
		}
		time.Sleep(time.Second) // a slow request
		for i := 0; i < 2; i++ {
			p.wait(ctx)
			at = append(at, time.Since(start))
		}
		want := ms(0, 100, 200, 1200, 1300)
		if !slices.Equal(at, want) {
			t.Errorf("slots at %v, want %v", at, want)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if p.wait(cancelled) {
			t.Error("wait must fail on an ended context")
		}
	})
}

// perfStub answers like etcd: the test directory does not exist, writes
// succeed (or fail with put), the directory is then removed.
func perfStub(t *testing.T, put answer) *stubEtcd {
	return newStub(t).
		on("GET /v2/keys/etcdctl-check-perf/", keys(404, 3, `{"errorCode":100,"message":"Key not found","cause":"/etcdctl-check-perf","index":3}`)).
		on("PUT /v2/keys/etcdctl-check-perf/*", put).
		on("DELETE /v2/keys/etcdctl-check-perf/", keys(200, 30, `{"action":"delete","node":{"key":"/etcdctl-check-perf","dir":true,"modifiedIndex":30,"createdIndex":4},"prevNode":{"key":"/etcdctl-check-perf","dir":true,"modifiedIndex":4,"createdIndex":4}}`))
}

// linesWith returns the lines of s that start with one of the prefixes.
func linesWith(s string, prefixes ...string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return out
}

func TestCheckPerfRun(t *testing.T) {
	s := perfStub(t, keys(201, 5, `{"action":"set","node":{"key":"/etcdctl-check-perf/1","value":"vvvv","modifiedIndex":5,"createdIndex":5}}`))
	got := run(runOpts{}, ep(s.URL, "check", "perf", "--total", "20", "--rate", "0", "--clients", "4", "--size", "4")...)
	if got.stderr != "" {
		t.Errorf("stderr %q", got.stderr)
	}
	if l := linesWith(got.stdout, "check perf: finished 20 writes in ", "Throughput is ", "PASS: All 20 writes succeeded", "Latency: "); len(l) != 4 {
		t.Errorf("stdout:\n%s", got.stdout)
	}
	reqs := s.keyRequests()
	if len(reqs) != 22 || reqs[0] != "GET /v2/keys/etcdctl-check-perf/?quorum=false&recursive=false&sorted=false" ||
		reqs[21] != "DELETE /v2/keys/etcdctl-check-perf/?dir=true&recursive=true" {
		t.Fatalf("requests %q", reqs)
	}
	keys := map[string]bool{}
	for _, r := range reqs[1:21] {
		if !strings.HasPrefix(r, "PUT /v2/keys/etcdctl-check-perf/") || !strings.HasSuffix(r, " -d value=vvvv") {
			t.Errorf("write %q", r)
		}
		keys[strings.Fields(r)[1]] = true
	}
	if len(keys) != 20 {
		t.Errorf("%d distinct keys, want 20", len(keys))
	}
}

func TestCheckPerfFails(t *testing.T) {
	s := perfStub(t, answer{status: 500, body: `{"message":"Internal Server Error"}`})
	got := run(runOpts{terminal: true}, ep(s.URL, "check", "perf", "--total", "5", "--rate", "0", "--clients", "2")...)
	want := "FAIL: 5 of 5 writes failed; the first error: client: etcd cluster is unavailable or misconfigured"
	if got.code != exitClusterNotHealthy || !slices.Contains(strings.Split(got.stdout, "\n"), want) ||
		!strings.HasSuffix(got.stdout, "\nFAIL\n") || !strings.Contains(got.stdout, "\r") {
		t.Errorf("got %+v", got)
	}
	if reqs := s.keyRequests(); reqs[len(reqs)-1] != "DELETE /v2/keys/etcdctl-check-perf/?dir=true&recursive=true" {
		t.Errorf("the keys were not removed: %q", reqs)
	}
}

func TestCheckPerfRefusesUsedPrefix(t *testing.T) {
	s := newStub(t).on("GET /v2/keys/mine/", keys(200, 3, `{"action":"get","node":{"key":"/mine","dir":true,"modifiedIndex":3,"createdIndex":3}}`))
	got := run(runOpts{}, ep(s.URL, "check", "perf", "--prefix", "/mine")...)
	check(t, got, "", "Error:  check perf: /mine/ already exists; remove it with 'etcdctl rm --recursive /mine' or choose another --prefix\n", exitBadArgs)
	if len(s.keyRequests()) != 1 {
		t.Errorf("requests %q", s.keyRequests())
	}
}

func TestCheckPerfOptions(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--load", "xxl"}, `check perf: unknown load "xxl" (choose s, m, l or xl)`},
		{[]string{"--clients", "-1"}, "check perf: --clients must be positive, not -1"},
		{[]string{"--rate", "-2"}, "check perf: --rate must be 0 or more, not -2"},
		{[]string{"--size", "-3"}, "check perf: --size must be 0 or more, not -3"},
		{[]string{"--total", "-1"}, "check perf: --total must be 0 or more, not -1"},
		{[]string{"--duration", "0s"}, "check perf: --duration must be positive, not 0s"},
		{[]string{"--prefix", "/"}, "check perf: --prefix must name a directory below the root"},
	} {
		got := run(runOpts{}, append([]string{"--endpoints", "http://127.0.0.1:1", "check", "perf"}, tt.args...)...)
		check(t, got, "", "Error:  "+tt.msg+"\n", exitBadArgs)
	}
	in, err := parseCommand(checkCommand().subcommands[0], "etcdctl check perf", []string{"--load", "l", "--size", "0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := perfConfigFrom(in)
	want := perfConfig{clients: 500, rate: 8000, size: 0, duration: time.Minute, prefix: "/etcdctl-check-perf/"}
	if err != nil || cfg != want {
		t.Errorf("config %+v, %v; want %+v", cfg, err, want)
	}
}

func TestCheckPerfInterrupted(t *testing.T) {
	intr := make(chan os.Signal, 1)
	s := perfStub(t, interruptOn(intr))
	got := run(runOpts{interrupt: intr}, ep(s.URL, "check", "perf", "--clients", "1")...)
	if !strings.HasPrefix(got.stdout, "check perf: finished 1 writes in ") || strings.Count(got.stdout, "\n") != 1 ||
		got.stderr != "check perf: interrupted; the test keys were removed\n" || got.code != exitInterrupted {
		t.Errorf("got %+v", got)
	}
	if reqs := s.keyRequests(); reqs[len(reqs)-1] != "DELETE /v2/keys/etcdctl-check-perf/?dir=true&recursive=true" {
		t.Errorf("the keys were not removed: %q", reqs)
	}
}
