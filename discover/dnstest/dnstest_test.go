package dnstest

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
)

func TestServer(t *testing.T) {
	srv, err := NewServer(Records{
		SRV:  map[string][]net.SRV{"_x._tcp.Example.Test.": {{Target: "a.example.test.", Port: 7, Priority: 1, Weight: 0}}},
		A:    map[string][]net.IP{"a.example.test": {net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 2)}},
		AAAA: map[string][]net.IP{"six.example.test": {net.ParseIP("fd00::1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := srv.Resolver()
	ctx := context.Background()

	_, srvs, err := r.LookupSRV(ctx, "x", "tcp", "example.test")
	if err != nil || len(srvs) != 1 || *srvs[0] != (net.SRV{Target: "a.example.test.", Port: 7, Priority: 1}) {
		t.Errorf("SRV: %v, %v", srvs, err)
	}
	addrs, err := r.LookupHost(ctx, "A.example.test")
	if err != nil || !slices.Equal(addrs, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("A: %v, %v", addrs, err)
	}
	addrs, err = r.LookupHost(ctx, "six.example.test")
	if err != nil || !slices.Equal(addrs, []string{"fd00::1"}) {
		t.Errorf("AAAA: %v, %v", addrs, err)
	}
	_, err = r.LookupHost(ctx, "unknown.example.test")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("unknown name: %v", err)
	}

	srv.SetRecords(Records{A: map[string][]net.IP{"unknown.example.test": {net.IPv4(10, 9, 9, 9)}}})
	addrs, err = r.LookupHost(ctx, "unknown.example.test")
	if err != nil || !slices.Equal(addrs, []string{"10.9.9.9"}) {
		t.Errorf("after SetRecords: %v, %v", addrs, err)
	}
	if q := srv.Queries(); !slices.Contains(q, "SRV _x._tcp.example.test") || !slices.Contains(q, "A a.example.test") {
		t.Errorf("queries: %q", q)
	}
}

func TestMalformedQueriesAreIgnored(t *testing.T) {
	srv, err := NewServer(Records{A: map[string][]net.IP{"a.test": {net.IPv4(10, 0, 0, 1)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := net.Dial("udp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range [][]byte{{1, 2, 3}, {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 70, 'a'}} {
		conn.Write(q)
	}
	// The server still answers a good query afterwards.
	addrs, err := srv.Resolver().LookupHost(context.Background(), "a.test")
	if err != nil || !slices.Equal(addrs, []string{"10.0.0.1"}) {
		t.Errorf("after malformed queries: %v, %v", addrs, err)
	}
}
