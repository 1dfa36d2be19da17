package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"v2etcd/discover"
	"v2etcd/discover/dnstest"
)

// testLogger returns a logger writing etcd's format with the fixed clock.
func testLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(newLogHandler(&buf, fixedNow)), &buf
}

// withStampsJoined prefixes every line with the fixed time stamp and joins
// them, each ending with a newline.
func withStampsJoined(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(stamp + l + "\n")
	}
	return b.String()
}

func TestDiscoveryErrorReport(t *testing.T) {
	const durl = "http://127.0.0.1:2379/v2/keys/_etcd/registry/t"
	tests := []struct {
		err  error
		want []string
	}{
		{discover.ErrDuplicateID, []string{
			`E | etcdmain: member "m1" has previously registered with discovery service token (` + durl + `).`,
			`E | etcdmain: But etcd could not find valid cluster configuration in the given data dir (m1.etcd).`,
			`I | etcdmain: Please check the given data dir path if the previous bootstrap succeeded`,
			`I | etcdmain: or use a new discovery token if the previous bootstrap failed.`,
		}},
		{discover.ErrDuplicateName, []string{
			`E | etcdmain: member with duplicated name has registered with discovery service token(` + durl + `).`,
			`E | etcdmain: please check (cURL) the discovery token for more information.`,
			`E | etcdmain: please do not reuse the discovery token and generate a new one to bootstrap the cluster.`,
		}},
		{discover.ErrFullCluster, []string{
			`E | etcdmain: failed to join discovery cluster (discovery: cluster is full)`,
			`I | etcdmain: discovery token ` + durl + ` was used, but failed to bootstrap the cluster.`,
			`I | etcdmain: please generate a new discovery token and try to bootstrap again.`,
		}},
		{discover.ErrSizeNotFound, []string{
			`E | etcdmain: failed to join discovery cluster (discovery: size key not found)`,
			`I | etcdmain: discovery token ` + durl + ` was used, but failed to bootstrap the cluster.`,
			`I | etcdmain: please generate a new discovery token and try to bootstrap again.`,
		}},
	}
	for _, tt := range tests {
		err := error(&discoveryError{err: tt.err, name: "m1", url: durl, dataDir: "m1.etcd"})
		if !errors.Is(err, tt.err) {
			t.Errorf("%v does not unwrap to %v", err, tt.err)
		}
		// Wrapped once more, as startMember's callers may see it.
		if got, want := startupLog(fmt.Errorf("start: %w", err)), withStampsJoined(tt.want...); got != want {
			t.Errorf("%v: logged\n%s\nwant\n%s", tt.err, got, want)
		}
	}
}

func TestDNSResolver(t *testing.T) {
	res, err := dnsResolver([]string{"PATH=/bin", "V2ETCD_DNS_SERVER=127.0.0.1:5353"})
	if err != nil || res == net.DefaultResolver || !res.PreferGo {
		t.Errorf("from the environment: %v, %v", res, err)
	}
	if res, err := dnsResolver([]string{"PATH=/bin"}); err != nil || res != net.DefaultResolver {
		t.Errorf("unset: %v, %v", res, err)
	}
	if _, err := dnsResolver([]string{"V2ETCD_DNS_SERVER=nonsense"}); err == nil {
		t.Error("a bad value must fail")
	}
}

// TestNewMemberClusterSRV builds a member's initial cluster from SRV
// records served by a DNS server of the test's own, and checks the errors.
func TestNewMemberClusterSRV(t *testing.T) {
	srv, err := dnstest.NewServer(dnstest.Records{
		SRV: map[string][]net.SRV{"_etcd-server._tcp.example.test": {
			{Target: "m1.example.test.", Port: 2380, Priority: 1},
			{Target: "m2.example.test.", Port: 2380, Priority: 2},
		}},
		A: map[string][]net.IP{
			"m1.example.test": {net.IPv4(10, 0, 0, 1)},
			"m2.example.test": {net.IPv4(10, 0, 0, 2)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res := srv.Resolver()

	log, buf := testLogger()
	c := mustParse(t, []string{"--name", "infra2", "--discovery-srv", "example.test", "--initial-advertise-peer-urls", "http://10.0.0.2:2380", "--initial-cluster-token", "tok"})
	cluster, token, err := newMemberCluster(context.Background(), c, res, log)
	if err != nil || cluster.String() != "0=http://m1.example.test:2380,infra2=http://m2.example.test:2380" || token != "tok" {
		t.Fatalf("cluster %q, token %q, %v", cluster, token, err)
	}
	if got, want := buf.String(), withStampsJoined(
		"N | discovery: got bootstrap from DNS for etcd-server at http://m1.example.test:2380",
		"N | discovery: got bootstrap from DNS for etcd-server at http://m2.example.test:2380",
	); got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
	// The advertised URL is an IP, the SRV URL a host name: they are
	// compared by address, through the same resolver.
	if err := checkNewCluster(context.Background(), c, cluster, lookupHost(res)); err != nil {
		t.Errorf("checkNewCluster: %v", err)
	}

	// This member is not among the records.
	c = mustParse(t, []string{"--name", "infra3", "--discovery-srv", "example.test", "--initial-advertise-peer-urls", "http://10.0.0.3:2380"})
	_, _, err = newMemberCluster(context.Background(), c, res, log)
	if got, want := startupLog(err), withStampsJoined(`C | etcdmain: error setting up initial cluster: cannot find local etcd member "infra3" in SRV records`); got != want {
		t.Errorf("not in the records: %q, want %q", got, want)
	}

	// No records at all.
	log, buf = testLogger()
	c = mustParse(t, []string{"--name", "infra1", "--discovery-srv", "nothing.test", "--initial-advertise-peer-urls", "http://10.0.0.1:2380"})
	_, _, err = newMemberCluster(context.Background(), c, res, log)
	if got := startupLog(err); !strings.HasPrefix(got, stamp+"C | etcdmain: error setting up initial cluster: lookup _etcd-server._tcp.nothing.test") {
		t.Errorf("no records: %q", got)
	}
	if !strings.Contains(buf.String(), "E | discovery: SRV discovery failed: too many errors querying DNS SRV records") {
		t.Errorf("log:\n%s", buf.String())
	}
}
