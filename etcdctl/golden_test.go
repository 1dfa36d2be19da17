package main

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// replayGolden runs one recorded case against a stub that gives the same
// answers and compares everything etcdctl printed and sent.
func replayGolden(t *testing.T, g golden) {
	t.Helper()
	s := newStub(t)
	// The recording server knew no path but the case's.
	s.on("GET /v2/members", answer{handler: http.NotFound})
	for _, a := range g.answers {
		h := map[string]string{"Content-Type": "application/json"}
		if strings.HasSuffix(a.route, "/health") {
			h["Content-Type"] = "text/plain; charset=utf-8"
		}
		if a.index >= 0 {
			h["X-Etcd-Index"] = strconv.Itoa(a.index)
		}
		s.on(a.route, answer{status: a.status, header: h, body: strings.ReplaceAll(a.body, "$URL", s.URL)})
	}
	got := run(runOpts{stdin: g.stdin}, ep(s.URL, g.args...)...)
	got.stdout = strings.ReplaceAll(got.stdout, s.URL, "URL")
	got.stderr = strings.ReplaceAll(got.stderr, s.URL, "URL")
	check(t, got, g.stdout, g.stderr, g.code)
	if reqs := s.got(); !slices.Equal(reqs, g.requests) {
		t.Errorf("requests:\n got %q\nwant %q", reqs, g.requests)
	}
}

func TestKeyCommandsMatchEtcdctl238(t *testing.T) {
	for _, g := range keyGoldens {
		t.Run(g.name, func(t *testing.T) { replayGolden(t, g) })
	}
}

func TestClusterCommandsMatchEtcdctl238(t *testing.T) {
	for _, g := range clusterGoldens {
		t.Run(g.name, func(t *testing.T) { replayGolden(t, g) })
	}
}
