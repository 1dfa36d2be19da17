// Package httpd is the client-facing HTTP API of the server: /v2/keys,
// /v2/members, /v2/stats/*, /v2/machines, /version, /health and /metrics,
// parsed, validated and rendered exactly as etcd 2.3 does.
//
// metrics.go holds a small Prometheus text-format registry (counters, gauges
// and histograms with labels) that both this package and the server record
// into; /metrics writes it.
package httpd
