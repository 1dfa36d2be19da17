package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"v2etcd/discover"
	"v2etcd/peer"
)

// testLookup resolves a few made-up names and fails for every other one, so
// no test depends on DNS.
func testLookup(_ context.Context, host string) ([]string, error) {
	switch host {
	case "infra0.example.com":
		return []string{"10.0.1.10"}, nil
	case "infra1.example.com":
		return []string{"10.0.1.11"}, nil
	}
	return nil, fmt.Errorf("lookup %s: no such host", host)
}

// startupLog returns what reportStartupError logs for err.
func startupLog(err error) string {
	var buf bytes.Buffer
	reportStartupError(slog.New(newLogHandler(&buf, fixedNow)), err)
	return buf.String()
}

func TestCheckNewCluster(t *testing.T) {
	tests := []struct {
		name string
		args []string
		log  []string // what reportStartupError logs; nil means the checks pass
	}{
		{name: "defaults", args: nil},
		{name: "derived from the name", args: []string{"--name", "infra0"}},
		{
			name: "static three members (transcript A)",
			args: []string{"--name", "infra1", "--initial-advertise-peer-urls", "http://localhost:12480",
				"--initial-cluster", "infra1=http://localhost:12480,infra2=http://localhost:22480,infra3=http://localhost:32480"},
		},
		{
			name: "static three members, another member's URL advertised",
			args: []string{"--name", "infra1", "--initial-advertise-peer-urls", "http://localhost:22480",
				"--initial-cluster", "infra1=http://localhost:12480,infra2=http://localhost:22480,infra3=http://localhost:32480"},
			log: []string{"I | etcdmain: --initial-cluster must include infra1=http://localhost:22480 given --initial-advertise-peer-urls=http://localhost:22480"},
		},
		{
			name: "name missing (transcript B)",
			args: []string{"--name", "infra4", "--initial-advertise-peer-urls", "http://localhost:42480",
				"--initial-cluster", "infra1=http://localhost:12480,infra2=http://localhost:22480,infra3=http://localhost:32480"},
			log: []string{`C | etcdmain: couldn't find local name "infra4" in the initial cluster configuration`},
		},
		{
			name: "URLs differ (transcript C): no hints, both flags were given",
			args: []string{"--name", "infra4", "--initial-advertise-peer-urls", "http://localhost:42480",
				"--initial-cluster", "infra4=http://localhost:49999"},
			log: []string{"I | etcdmain: --initial-cluster must include infra4=http://localhost:42480 given --initial-advertise-peer-urls=http://localhost:42480"},
		},
		{
			name: "default initial cluster, advertised URLs given",
			args: []string{"--name", "zz", "--initial-advertise-peer-urls", "http://127.0.0.1:24102"},
			log: []string{
				"I | etcdmain: --initial-cluster must include zz=http://127.0.0.1:24102 given --initial-advertise-peer-urls=http://127.0.0.1:24102",
				"I | etcdmain: forgot to set --initial-cluster flag?",
				"I | etcdmain: if you want to use discovery service, please set --discovery flag.",
			},
		},
		{
			name: "initial cluster given, advertised URLs default",
			args: []string{"--name", "zz", "--initial-cluster", "zz=http://127.0.0.1:24999"},
			log: []string{
				"I | etcdmain: --initial-cluster must include zz=http://localhost:2380 given --initial-advertise-peer-urls=http://localhost:2380",
				"I | etcdmain: forgot to set --initial-advertise-peer-urls flag?",
			},
		},
		{
			name: "several advertised URLs",
			args: []string{"--name", "a", "--initial-advertise-peer-urls", "http://10.0.0.1:7001,http://10.0.0.1:2380", "--initial-cluster", "a=http://10.0.0.1:2380"},
			log:  []string{"I | etcdmain: --initial-cluster must include a=http://10.0.0.1:2380,a=http://10.0.0.1:7001 given --initial-advertise-peer-urls=http://10.0.0.1:2380,http://10.0.0.1:7001"},
		},
		{
			name: "several URLs in any order",
			args: []string{"--name", "a", "--initial-advertise-peer-urls", "http://10.0.0.1:7001,http://10.0.0.1:2380",
				"--initial-cluster", "a=http://10.0.0.1:7001,b=http://10.0.0.2:2380,a=http://10.0.0.1:2380"},
		},
		{
			name: "a host name equals its address",
			args: []string{"--name", "infra0", "--initial-advertise-peer-urls", "http://infra0.example.com:2380",
				"--initial-cluster", "infra0=http://10.0.1.10:2380,infra1=http://infra1.example.com:2380"},
		},
		{
			name: "a host name that does not resolve",
			args: []string{"--name", "infra0", "--initial-advertise-peer-urls", "http://nosuch.example.com:2380",
				"--initial-cluster", "infra0=http://10.0.1.10:2380"},
			log: []string{
				"I | etcdmain: --initial-cluster must include infra0=http://nosuch.example.com:2380 given --initial-advertise-peer-urls=http://nosuch.example.com:2380",
				"I | etcdmain: could not compare the URLs by address: peer: cannot resolve host nosuch.example.com: lookup nosuch.example.com: no such host",
			},
		},
		{
			name: "duplicate URL",
			args: []string{"--name", "a", "--initial-advertise-peer-urls", "http://127.0.0.1:24102",
				"--initial-cluster", "b=http://127.0.0.1:24102,a=http://127.0.0.1:24102"},
			log: []string{"C | etcdmain: initial cluster a=http://127.0.0.1:24102,b=http://127.0.0.1:24102 has duplicate url"},
		},
		{
			name: "name is checked before duplicates",
			args: []string{"--name", "c", "--initial-cluster", "b=http://127.0.0.1:24102,a=http://127.0.0.1:24102"},
			log:  []string{`C | etcdmain: couldn't find local name "c" in the initial cluster configuration`},
		},
		{
			name: "advertised URLs are checked before duplicates",
			args: []string{"--name", "a", "--initial-advertise-peer-urls", "http://127.0.0.1:1",
				"--initial-cluster", "b=http://127.0.0.1:24102,a=http://127.0.0.1:24102"},
			log: []string{"I | etcdmain: --initial-cluster must include a=http://127.0.0.1:1 given --initial-advertise-peer-urls=http://127.0.0.1:1"},
		},
		{
			name: "empty initial cluster",
			args: []string{"--name", "a", "--initial-cluster", ""},
			log:  []string{`C | etcdmain: couldn't find local name "a" in the initial cluster configuration`},
		},
		{
			name: "discovery: only this member, always consistent",
			args: []string{"--name", "a", "--initial-advertise-peer-urls", "http://10.0.0.1:2380", "--discovery", "http://d:1/x"},
		},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.args)
		cluster, _, err := initialClusterFor(c)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		err = checkNewCluster(context.Background(), c, cluster, testLookup)
		if tt.log == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: passed", tt.name)
			continue
		}
		if got, want := startupLog(err), withStamps(tt.log); got != want {
			t.Errorf("%s: log\n%s\nwant\n%s", tt.name, got, want)
		}
	}
}

func TestCheckSomethingToBootstrap(t *testing.T) {
	c := mustParse(t, nil)
	err := checkSomethingToBootstrap(c, discover.InitialCluster{})
	if got, want := startupLog(err), withStamps([]string{"C | etcdmain: initial cluster unset and no discovery URL found"}); got != want {
		t.Errorf("log %q, want %q", got, want)
	}
	c.Discovery = "http://d:1/x"
	if err := checkSomethingToBootstrap(c, discover.InitialCluster{}); err != nil {
		t.Errorf("with a discovery URL: %v", err)
	}
	c.Discovery = ""
	if err := checkSomethingToBootstrap(c, discover.InitialCluster{"a": peer.MustParseURLs("http://a:1")}); err != nil {
		t.Errorf("with a member: %v", err)
	}
}

func TestCheckExistingCluster(t *testing.T) {
	tests := []struct {
		name string
		args []string
		log  []string
	}{
		{
			name: "transcript D passes the local checks",
			args: []string{"--name", "infra4", "--initial-cluster-state", "existing", "--initial-advertise-peer-urls", "http://localhost:42480",
				"--initial-cluster", "infra1=http://localhost:12480,infra2=http://localhost:22480,infra3=http://localhost:32480,infra4=http://localhost:42480"},
		},
		{
			name: "advertised URLs are not compared",
			args: []string{"--name", "a", "--initial-cluster-state", "existing", "--initial-cluster", "a=http://10.0.0.9:1,b=http://10.0.0.2:2"},
		},
		{
			name: "name missing",
			args: []string{"--name", "x", "--initial-cluster-state", "existing", "--initial-cluster", "a=http://a:1"},
			log:  []string{`C | etcdmain: couldn't find local name "x" in the initial cluster configuration`},
		},
		{
			name: "duplicate URL",
			args: []string{"--name", "a", "--initial-cluster-state", "existing", "--initial-cluster", "b=http://127.0.0.1:24102,a=http://127.0.0.1:24102"},
			log:  []string{"C | etcdmain: initial cluster a=http://127.0.0.1:24102,b=http://127.0.0.1:24102 has duplicate url"},
		},
		{
			name: "discovery",
			args: []string{"--name", "a", "--initial-cluster-state", "existing", "--discovery", "http://x:1/y"},
			log:  []string{"C | etcdmain: discovery URL should not be set when joining existing initial cluster"},
		},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.args)
		cluster, _, err := initialClusterFor(c)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		err = checkExistingCluster(c, cluster)
		if tt.log == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if got, want := startupLog(err), withStamps(tt.log); got != want {
			t.Errorf("%s: log\n%s\nwant\n%s", tt.name, got, want)
		}
	}
}

func TestInitialClusterFor(t *testing.T) {
	tests := []struct {
		name           string
		args           []string
		cluster, token string
		log            string
		is             error
	}{
		{name: "default", cluster: "default=http://localhost:2380", token: "etcd-cluster"},
		{
			name:    "static",
			args:    []string{"--initial-cluster", "b=http://b:2,a=http://a:1", "--initial-cluster-token", "t1"},
			cluster: "a=http://a:1,b=http://b:2", token: "t1",
		},
		{
			name:    "discovery: this member alone, the URL as token",
			args:    []string{"--name", "n", "--initial-advertise-peer-urls", "http://10.0.0.1:2380,http://10.0.0.1:7001", "--discovery", "http://d:1/v2/keys/_etcd/registry/x"},
			cluster: "n=http://10.0.0.1:2380,n=http://10.0.0.1:7001", token: "http://d:1/v2/keys/_etcd/registry/x",
		},
		{
			name: "bad URL",
			args: []string{"--initial-cluster", "a=http://127.0.0.1:24102,,b=http://127.0.0.1:24103/x"},
			log:  "C | etcdmain: error setting up initial cluster: URL must not contain a path: http://127.0.0.1:24103/x",
		},
		{
			name: "item without a URL",
			args: []string{"--initial-cluster", "a"},
			log:  "C | etcdmain: error setting up initial cluster: URL scheme must be http or https: ",
		},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.args)
		cluster, token, err := initialClusterFor(c)
		if tt.log != "" {
			if err == nil {
				t.Errorf("%s: no error", tt.name)
				continue
			}
			if got := startupLog(err); got != stamp+tt.log+"\n" {
				t.Errorf("%s: log %q, want %q", tt.name, got, tt.log)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%s: %v is not %v", tt.name, err, tt.is)
			}
			continue
		}
		if err != nil || cluster.String() != tt.cluster || token != tt.token {
			t.Errorf("%s: %q, %q, %v; want %q, %q", tt.name, cluster, token, err, tt.cluster, tt.token)
		}
	}
}

// TestDefaultMemberIDs checks the IDs a default start derives: etcd 3's
// well-known single member, since our defaults are etcd 3's.
func TestDefaultMemberIDs(t *testing.T) {
	c := mustParse(t, nil)
	cluster, token, err := initialClusterFor(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkNewCluster(context.Background(), c, cluster, testLookup); err != nil {
		t.Fatal(err)
	}
	members, err := cluster.Members(token)
	if err != nil {
		t.Fatal(err)
	}
	cid, err := cluster.ClusterID(token)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 1 || members[0].ID.String() != "8e9e05c52164694d" || members[0].Name != "default" || cid.String() != "cdf818194e3a8c32" {
		t.Fatalf("default member %+v in cluster %s", members[0], cid)
	}
}

func TestReportStartupErrorPlainError(t *testing.T) {
	if got, want := startupLog(errors.New("boom")), stamp+"C | etcdmain: boom\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
