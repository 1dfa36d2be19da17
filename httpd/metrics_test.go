package httpd

import (
	"strings"
	"sync"
	"testing"
)

func TestRegistryTextFormat(t *testing.T) {
	r := NewRegistry()
	req := r.NewCounter("etcd_http_received_total", "Requests received, by method.", "method")
	r.NewGaugeFunc("etcd_server_has_leader", "1 when a leader is known.", func() float64 { return 1 })
	lat := r.NewHistogram("etcd_disk_wal_fsync_duration_seconds", "WAL fsync latency.\nSecond line.", []float64{0.001, 0.01})
	g := r.NewGauge("etcd_server_proposals_pending", "Proposals waiting to commit.")

	req.With("PUT").Add(3)
	req.With("GET").Inc()
	req.With(`we"ird\`).Inc()
	lat.With().Observe(0.0005)
	lat.With().Observe(0.001) // a bound is inclusive: this one falls in le="0.001"
	lat.With().Observe(0.5)
	g.With().Add(2)
	g.With().Add(-0.5)

	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP etcd_disk_wal_fsync_duration_seconds WAL fsync latency.\nSecond line.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 2
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.01"} 2
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 3
etcd_disk_wal_fsync_duration_seconds_sum 0.5015
etcd_disk_wal_fsync_duration_seconds_count 3
# HELP etcd_http_received_total Requests received, by method.
# TYPE etcd_http_received_total counter
etcd_http_received_total{method="GET"} 1
etcd_http_received_total{method="PUT"} 3
etcd_http_received_total{method="we\"ird\\"} 1
# HELP etcd_server_has_leader 1 when a leader is known.
# TYPE etcd_server_has_leader gauge
etcd_server_has_leader 1
# HELP etcd_server_proposals_pending Proposals waiting to commit.
# TYPE etcd_server_proposals_pending gauge
etcd_server_proposals_pending 1.5
`
	if got := b.String(); got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
}

func TestRegistryConcurrentUpdates(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounter("c_total", "c", "k")
	h := r.NewHistogram("h_seconds", "h", ExponentialBuckets(0.001, 2, 5))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				c.With("a").Inc()
				h.With().Observe(0.003)
			}
		}()
	}
	var b strings.Builder
	r.WriteTo(&b) // scraping while others record must be safe (run with -race)
	wg.Wait()
	if n := c.With("a").Value(); n != 8000 {
		t.Errorf("counter = %d, want 8000", n)
	}
	if n := h.With().Count(); n != 8000 {
		t.Errorf("histogram count = %d, want 8000", n)
	}
}

func TestRegistryRejectsMisuse(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounter("x_total", "x", "a", "b")
	for name, f := range map[string]func(){
		"twice":       func() { r.NewCounter("x_total", "again") },
		"label count": func() { c.With("only-one") },
		"unsorted":    func() { r.NewHistogram("y", "y", []float64{2, 1}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
