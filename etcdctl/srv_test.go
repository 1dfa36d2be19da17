package main

import (
	"bytes"
	"net"
	"slices"
	"strings"
	"testing"

	"v2etcd/discover/dnstest"
)

// TestSRVLookup runs --discovery-srv against a DNS server of the test's
// own: the SRV targets become the endpoints, replacing --endpoints, and a
// domain without records fails as etcdctl 2.3 does.
func TestSRVLookup(t *testing.T) {
	srv, err := dnstest.NewServer(dnstest.Records{SRV: map[string][]net.SRV{
		"_etcd-client-ssl._tcp.example.test": {{Target: "s.example.test.", Port: 2379}},
		"_etcd-client._tcp.example.test":     {{Target: "a.example.test.", Port: 4001}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var stderr bytes.Buffer
	a := &app{stderr: &stderr, stdout: &bytes.Buffer{}, getenv: func(string) string { return "" }, lookupSRV: srvLookup(srv.Resolver())}

	g, _, _ := parseGlobalOptions([]string{"-D", "example.test", "--endpoints", "http://x:1", "get", "k"})
	got, err := a.endpointList(g)
	if want := []string{"https://s.example.test.:2379", "http://a.example.test.:4001"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("endpoints %q, %v; want %q", got, err, want)
	}

	code := a.run([]string{"--discovery-srv", "nothing.test", "get", "k"})
	msg := stderr.String()
	if code != exitBadArgs || !strings.HasPrefix(msg, "dns lookup errors: lookup _etcd-client-ssl._tcp.nothing.test") ||
		!strings.Contains(msg, " and lookup _etcd-client._tcp.nothing.test") || !strings.HasSuffix(msg, "\n") {
		t.Errorf("no records: exit %d, stderr %q", code, msg)
	}
}
