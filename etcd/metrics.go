package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"v2etcd/httpd"
)

// serverMetrics are the server's own /metrics families; the HTTP layer adds
// its request counters to the same registry.
type serverMetrics struct {
	reg              *httpd.Registry
	proposalsPending *httpd.GaugeVec
	proposalsFailed  *httpd.CounterVec
	leaderChanges    *httpd.CounterVec
	fsyncSeconds     *httpd.HistogramVec
}

func newServerMetrics() *serverMetrics {
	reg := httpd.NewRegistry()
	m := &serverMetrics{
		reg: reg,
		proposalsPending: reg.NewGauge("etcd_server_proposals_pending",
			"Client requests proposed to raft and not yet answered."),
		proposalsFailed: reg.NewCounter("etcd_server_proposals_failed_total",
			"Proposals that failed (dropped by raft or timed out)."),
		leaderChanges: reg.NewCounter("etcd_server_leader_changes_seen_total",
			"Times this member saw the leader change."),
		fsyncSeconds: reg.NewHistogram("etcd_disk_wal_fsync_duration_seconds",
			"Latency of WAL fsyncs.", httpd.ExponentialBuckets(0.0001, 2, 16)),
	}
	start := time.Now()
	reg.NewGaugeFunc("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.",
		func() float64 { return float64(start.UnixNano()) / 1e9 })
	reg.NewGaugeFunc("go_goroutines", "Number of goroutines that currently exist.",
		func() float64 { return float64(runtime.NumGoroutine()) })
	reg.NewGaugeFunc("process_resident_memory_bytes", "Resident memory size in bytes (Linux only; 0 elsewhere).",
		residentMemory)
	return m
}

// register adds the gauges that read the server's state at scrape time.
func (m *serverMetrics) register(s *server) {
	m.reg.NewGaugeFunc("etcd_server_has_leader", "1 when this member knows a leader, else 0.",
		func() float64 { return boolFloat(s.lead.Load() != 0) })
	m.reg.NewGaugeFunc("etcd_server_is_leader", "1 when this member is the leader, else 0.",
		func() float64 { return boolFloat(s.isLeader.Load()) })
	m.reg.NewGaugeFunc("etcd_server_term", "The current raft term.",
		func() float64 { return float64(s.term.Load()) })
	m.reg.NewGaugeFunc("etcd_server_committed_index", "The raft commit index this member knows.",
		func() float64 { return float64(s.committed.Load()) })
	m.reg.NewGaugeFunc("etcd_server_applied_index", "The last raft index applied to the store.",
		func() float64 { return float64(s.appliedIndex.Load()) })
	m.reg.NewGaugeFunc("etcd_store_index", "The store's etcd index (X-Etcd-Index).",
		func() float64 { return float64(s.store.Index()) })
	m.reg.NewGaugeFunc("etcd_store_nodes", "Keys and directories in the store.",
		func() float64 { return float64(s.store.Nodes()) })
	m.reg.NewGaugeFunc("etcd_store_watchers", "Watchers registered on this member.",
		func() float64 { return float64(s.store.Stats().Watchers) })
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// residentMemory reads the resident set size from /proc (Linux).
func residentMemory() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize())
}
