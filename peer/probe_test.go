package peer

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func fastProbes(tu *tuning) {
	tu.probeInterval = 5 * time.Millisecond
	tu.probeCheck = 20 * time.Millisecond
}

func TestProberWarnings(t *testing.T) {
	// A peer that answers probes with a clock an hour ahead.
	skewed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/raft/probing" {
			w.Write([]byte(`{"OK":true,"Now":"` + time.Now().Add(time.Hour).Format(time.RFC3339Nano) + `"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer skewed.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	a := newNode(t, 1, withTuning(fastProbes))
	b := newNode(t, 2)
	a.tr.AddPeer(2, []string{b.url})
	a.tr.AddPeer(3, []string{deadURL})
	a.tr.AddPeer(4, []string{skewed.URL})
	waitFor(t, "the warnings", func() bool {
		return a.logs.count("the connection to peer 3 is unhealthy") >= 2 &&
			a.logs.count("the clock difference against peer 4 is too high") >= 2
	})
	if a.logs.count("peer 2 is unhealthy") != 0 || a.logs.count("against peer 2") != 0 {
		t.Errorf("warned about the healthy peer:\n%s", a.logs)
	}
	if a.logs.count("peer 4 is unhealthy") != 0 {
		t.Errorf("a skewed clock was taken for an unhealthy connection:\n%s", a.logs)
	}
}

func TestProbeMeasuresClockDifference(t *testing.T) {
	a, b := newNode(t, 1), newNode(t, 2)
	a.tr.AddPeer(2, []string{b.url})
	u := a.tr.peer(2).picker.all()[0]
	d, rtt, err := a.tr.peer(2).probe(u)
	if err != nil {
		t.Fatal(err)
	}
	// Same machine, same clock: b read it during the round trip, so the
	// difference from the round trip's middle is at most half of it.
	if d.Abs() > rtt/2 {
		t.Errorf("clock difference with ourselves: %v, round trip %v", d, rtt)
	}
}
