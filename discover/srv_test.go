package discover

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	"v2etcd/discover/dnstest"
	"v2etcd/peer"
)

func newDNS(t *testing.T, records dnstest.Records) *dnstest.Server {
	t.Helper()
	srv, err := dnstest.NewServer(records)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

var loopback = []net.IP{net.IPv4(127, 0, 0, 1)}

func TestServerCluster(t *testing.T) {
	srv := newDNS(t, dnstest.Records{
		SRV: map[string][]net.SRV{
			"_etcd-server-ssl._tcp.example.test": {
				{Target: "secure.example.test.", Port: 2380, Priority: 1},
			},
			"_etcd-server._tcp.example.test": {
				{Target: "m1.example.test.", Port: 2380, Priority: 1},
				{Target: "m2.example.test.", Port: 2381, Priority: 2},
				{Target: "gone.example.test.", Port: 2382, Priority: 3},
				{Target: "m3.example.test.", Port: 2383, Priority: 4},
			},
		},
		A: map[string][]net.IP{
			"secure.example.test": {net.IPv4(10, 0, 0, 9)},
			"m1.example.test":     {net.IPv4(10, 0, 0, 1)},
			"m2.example.test":     {net.IPv4(10, 0, 0, 2)},
			"m3.example.test":     {net.IPv4(10, 0, 0, 3)},
			// This member's own host name, as in its advertised peer URL.
			"me.example.test": {net.IPv4(10, 0, 0, 2)},
		},
	})
	var log logBuffer
	d := DNS{Resolver: srv.Resolver(), Logger: log.logger()}
	c, err := d.ServerCluster(context.Background(), "example.test", "infra2", peer.MustParseURLs("http://me.example.test:2381"))
	if err != nil {
		t.Fatal(err)
	}
	// The records keep their host names; the local one is named after
	// --name, the others are numbered across both lookups.
	want := "0=https://secure.example.test:2380,1=http://m1.example.test:2380,2=http://m3.example.test:2383,infra2=http://m2.example.test:2381"
	if c.String() != want {
		t.Errorf("cluster %q, want %q", c, want)
	}
	wantLog := `NOTICE got bootstrap from DNS for etcd-server-ssl at https://secure.example.test:2380
NOTICE got bootstrap from DNS for etcd-server at http://m1.example.test:2380
NOTICE got bootstrap from DNS for etcd-server at http://m2.example.test:2381
WARN couldn't resolve host gone.example.test:2382 during SRV discovery
NOTICE got bootstrap from DNS for etcd-server at http://m3.example.test:2383
`
	if log.String() != wantLog {
		t.Errorf("log:\n%s\nwant:\n%s", log.String(), wantLog)
	}

	// Member IDs come from the URLs and the token only: every member of
	// the cluster derives the same ones, whatever it is named locally.
	ids, err := c.ClusterID("etcd-cluster")
	if err != nil {
		t.Fatal(err)
	}
	other, err := d.ServerCluster(context.Background(), "example.test", "infra1", peer.MustParseURLs("http://10.0.0.1:2380"))
	if err != nil {
		t.Fatal(err)
	}
	if otherIDs, _ := other.ClusterID("etcd-cluster"); otherIDs != ids {
		t.Errorf("cluster IDs %s and %s differ", ids, otherIDs)
	}
	if _, ok := other["infra1"]; !ok {
		t.Errorf("matched by IP address: %q", other)
	}

	// A proxy has no local URLs: every record is numbered.
	proxy, err := d.ServerCluster(context.Background(), "example.test", "p", nil)
	if err != nil || len(proxy) != 4 || len(proxy.URLs()) != 4 {
		t.Errorf("proxy: %q, %v", proxy, err)
	}
}

func TestServerClusterErrors(t *testing.T) {
	srv := newDNS(t, dnstest.Records{
		SRV: map[string][]net.SRV{
			"_etcd-server._tcp.example.test": {{Target: "m1.example.test.", Port: 2380}},
		},
		A: map[string][]net.IP{"m1.example.test": loopback},
	})

	// No SRV records at all: both lookups fail.
	var log logBuffer
	d := DNS{Resolver: srv.Resolver(), Logger: log.logger()}
	_, err := d.ServerCluster(context.Background(), "nothing.test", "n", peer.MustParseURLs("http://127.0.0.1:2380"))
	if err == nil || !strings.Contains(err.Error(), "_etcd-server._tcp.nothing.test") {
		t.Errorf("no records: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 3 ||
		!strings.HasPrefix(lines[0], "WARN error querying DNS SRV records for _etcd-server-ssl lookup _etcd-server-ssl._tcp.nothing.test") ||
		!strings.HasPrefix(lines[1], "WARN error querying DNS SRV records for _etcd-server lookup _etcd-server._tcp.nothing.test") ||
		lines[2] != "ERROR SRV discovery failed: too many errors querying DNS SRV records" {
		t.Errorf("log:\n%s", log.String())
	}

	// A local advertise URL that does not resolve.
	log = logBuffer{}
	d.Logger = log.logger()
	_, err = d.ServerCluster(context.Background(), "example.test", "n", peer.MustParseURLs("http://nowhere.example.test:2380"))
	if err == nil || !strings.Contains(err.Error(), "nowhere.example.test") {
		t.Errorf("unresolvable local host: %v", err)
	}
	if !log.has("ERROR couldn't resolve host nowhere.example.test:2380 during SRV discovery") {
		t.Errorf("log:\n%s", log.String())
	}

	// Only one of the two services exists: no error, no warning.
	log = logBuffer{}
	d.Logger = log.logger()
	c, err := d.ServerCluster(context.Background(), "example.test", "n", peer.MustParseURLs("http://localhost:2380"))
	if err != nil || c.String() != "n=http://m1.example.test:2380" {
		t.Errorf("one service: %q, %v", c, err)
	}
	if strings.Contains(log.String(), "WARN") {
		t.Errorf("warned:\n%s", log.String())
	}
}

func TestClientURLs(t *testing.T) {
	srv := newDNS(t, dnstest.Records{
		SRV: map[string][]net.SRV{
			"_etcd-client-ssl._tcp.example.test": {{Target: "s.example.test.", Port: 2379, Priority: 1}},
			"_etcd-client._tcp.example.test": {
				{Target: "a.example.test.", Port: 2379, Priority: 1},
				{Target: "b.example.test.", Port: 4001, Priority: 2},
			},
			"_etcd-client._tcp.plain.test": {{Target: "a.example.test.", Port: 2379}},
		},
	})
	d := DNS{Resolver: srv.Resolver()}
	got, err := d.ClientURLs(context.Background(), "example.test")
	want := []string{"https://s.example.test.:2379", "http://a.example.test.:2379", "http://b.example.test.:4001"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	got, err = d.ClientURLs(context.Background(), "plain.test")
	if err != nil || !slices.Equal(got, []string{"http://a.example.test.:2379"}) {
		t.Errorf("plain only: %q, %v", got, err)
	}
	_, err = d.ClientURLs(context.Background(), "nothing.test")
	if err == nil || !strings.HasPrefix(err.Error(), "dns lookup errors: lookup _etcd-client-ssl._tcp.nothing.test") ||
		!strings.Contains(err.Error(), " and lookup _etcd-client._tcp.nothing.test") {
		t.Errorf("no records: %v", err)
	}
	queries := srv.Queries()
	if !slices.Contains(queries, "SRV _etcd-client-ssl._tcp.example.test") || !slices.Contains(queries, "SRV _etcd-client._tcp.example.test") {
		t.Errorf("queries: %q", queries)
	}
}

func TestNewResolver(t *testing.T) {
	r, err := NewResolver("")
	if err != nil || r != net.DefaultResolver {
		t.Errorf("empty: %v, %v", r, err)
	}
	for _, bad := range []string{"127.0.0.1", ":53", "127.0.0.1:dns", "127.0.0.1:0", "127.0.0.1:70000"} {
		if _, err := NewResolver(bad); err == nil || !strings.HasPrefix(err.Error(), "discover: V2ETCD_DNS_SERVER=") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	srv := newDNS(t, dnstest.Records{A: map[string][]net.IP{"x.example.test": {net.IPv4(10, 1, 2, 3)}}})
	r, err = NewResolver(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := r.LookupHost(context.Background(), "x.example.test")
	if err != nil || !slices.Equal(addrs, []string{"10.1.2.3"}) {
		t.Errorf("lookup through the server: %v, %v", addrs, err)
	}
}
