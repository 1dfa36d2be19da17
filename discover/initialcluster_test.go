package discover

import (
	"strings"
	"testing"

	"v2etcd/peer"
)

func TestParseInitialCluster(t *testing.T) {
	tests := []struct {
		in      string
		want    string // canonical String()
		names   string // Names() joined with ' '
		wantErr string
	}{
		{in: "", want: "", names: ""},
		{in: ",,", want: "", names: ""},
		{in: "default=http://localhost:2380", want: "default=http://localhost:2380", names: "default"},
		{
			in:    "infra1=http://10.0.1.11:2380,infra0=http://10.0.1.10:7001,infra0=http://10.0.1.10:2380",
			want:  "infra0=http://10.0.1.10:2380,infra0=http://10.0.1.10:7001,infra1=http://10.0.1.11:2380",
			names: "infra0 infra1",
		},
		{in: "a=http://a:1,,b=http://b:2,", want: "a=http://a:1,b=http://b:2", names: "a b"},
		{in: " a=http://a:1", want: " a=http://a:1", names: " a"}, // names are not trimmed, URLs are
		{in: "a= http://a:1 ", want: "a=http://a:1", names: "a"},
		{in: "a=http://a:1=x:2", wantErr: `parse "http://a:1=x:2": invalid port ":1=x:2" after host`},
		{in: "=http://a:1", want: "=http://a:1", names: ""},
		// Canonical order sorts the pairs as strings: '-' (0x2d) sorts before '=' (0x3d).
		{in: "a=http://a:1,a-b=http://c:3", want: "a-b=http://c:3,a=http://a:1", names: "a a-b"},

		{in: "a", wantErr: "URL scheme must be http or https: "},
		{in: "a=", wantErr: "URL scheme must be http or https: "},
		{in: "a=localhost:2380", wantErr: "URL scheme must be http or https: localhost:2380"},
		{in: "a=http://a", wantErr: `URL address does not have the form "host:port": http://a`},
		{in: "a=http://127.0.0.1:2380,b=http://127.0.0.1:2381/x", wantErr: "URL must not contain a path: http://127.0.0.1:2381/x"},
		// The first bad item in the order given is the one reported.
		{in: "z=http://z,a=http://a", wantErr: `URL address does not have the form "host:port": http://z`},
	}
	for _, tt := range tests {
		c, err := ParseInitialCluster(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseInitialCluster(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseInitialCluster(%q): %v", tt.in, err)
			continue
		}
		if got := c.String(); got != tt.want {
			t.Errorf("ParseInitialCluster(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		if got := strings.Join(c.Names(), " "); got != tt.names {
			t.Errorf("ParseInitialCluster(%q).Names() = %q, want %q", tt.in, got, tt.names)
		}
	}
}

func TestInitialClusterURLsSortedPerName(t *testing.T) {
	c, err := ParseInitialCluster("a=http://z:9,a=http://b:1,a=https://b:1")
	if err != nil {
		t.Fatal(err)
	}
	if got := c["a"].String(); got != "http://b:1,http://z:9,https://b:1" {
		t.Fatalf("URLs of a = %q", got)
	}
}

func TestDuplicateURL(t *testing.T) {
	tests := []struct {
		in   string
		dup  string
		want bool
	}{
		{in: "a=http://a:1,b=http://b:2", want: false},
		{in: "a=http://a:1,b=http://a:1", dup: "http://a:1", want: true},
		{in: "a=http://a:1,a=http://a:1", dup: "http://a:1", want: true},
		{in: "a=http://x:1,b=http://x:1,c=http://c:3,d=http://c:3", dup: "http://c:3", want: true},
		// The scheme is part of the URL: the same address over http and https is not a duplicate.
		{in: "a=http://a:1,b=https://a:1", want: false},
		{in: "", want: false},
	}
	for _, tt := range tests {
		c, err := ParseInitialCluster(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		dup, ok := c.DuplicateURL()
		if ok != tt.want || dup != tt.dup {
			t.Errorf("DuplicateURL(%q) = %q, %v; want %q, %v", tt.in, dup, ok, tt.dup, tt.want)
		}
	}
}

func TestMembersAndClusterID(t *testing.T) {
	tests := []struct {
		cluster, token string
		members        string // "id:name" in ID order
		clusterID      string
	}{
		{
			cluster: "default=http://localhost:2380", token: "etcd-cluster",
			members: "8e9e05c52164694d:default", clusterID: "cdf818194e3a8c32",
		},
		{
			cluster: "default=http://localhost:2380,default=http://localhost:7001", token: "etcd-cluster",
			members: "ce2a822cea30bfca:default", clusterID: "7e27652122e8b2ae",
		},
		{
			cluster: "infra0=http://10.0.1.10:2380,infra1=http://10.0.1.11:2380,infra2=http://10.0.1.12:2380", token: "etcd-cluster-1",
			members:   "8a0a11c6194fc77:infra2 140fedbeeb74765d:infra0 d5dc5f8d75d04e29:infra1",
			clusterID: "acccc8912db0cd57",
		},
		{
			// The transcripts' static cluster: IDs and X-Etcd-Cluster-Id as real etcd printed them.
			cluster: "infra1=http://localhost:12480,infra2=http://localhost:22480,infra3=http://localhost:32480", token: "etcd-cluster-1",
			members:   "3f582e92179827f:infra2 32281486bd1c7d88:infra3 4a1ca29dba335a30:infra1",
			clusterID: "320b9fc24ede5c9d",
		},
		{
			// The same members with another token: another cluster.
			cluster: "infra1=http://localhost:12480,infra2=http://localhost:22480,infra3=http://localhost:32480", token: "etcd-cluster-2",
			clusterID: "!320b9fc24ede5c9d",
		},
	}
	for _, tt := range tests {
		c, err := ParseInitialCluster(tt.cluster)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := c.Members(tt.token)
		if err != nil {
			t.Fatalf("Members(%q): %v", tt.cluster, err)
		}
		if tt.members != "" {
			var got []string
			for _, m := range ms {
				got = append(got, m.ID.String()+":"+m.Name)
				if !m.PeerURLs.Equal(c[m.Name]) || len(m.ClientURLs) != 0 {
					t.Errorf("member %s has peer URLs %s, client URLs %s", m.Name, m.PeerURLs, m.ClientURLs)
				}
			}
			if strings.Join(got, " ") != tt.members {
				t.Errorf("Members(%q) = %q, want %q", tt.cluster, strings.Join(got, " "), tt.members)
			}
		}
		cid, err := c.ClusterID(tt.token)
		if err != nil {
			t.Fatal(err)
		}
		if not, ok := strings.CutPrefix(tt.clusterID, "!"); ok {
			if cid.String() == not {
				t.Errorf("ClusterID(%q, %q) = %s, want anything else", tt.cluster, tt.token, cid)
			}
		} else if cid.String() != tt.clusterID {
			t.Errorf("ClusterID(%q, %q) = %s, want %s", tt.cluster, tt.token, cid, tt.clusterID)
		}
	}
}

func TestMembersIdenticalURLs(t *testing.T) {
	c := InitialCluster{
		"a": peer.MustParseURLs("http://x:1"),
		"b": peer.MustParseURLs("http://x:1"),
	}
	_, err := c.Members("etcd-cluster")
	want := `discover: member exists with identical ID ` + peer.MemberID(peer.MustParseURLs("http://x:1"), "etcd-cluster", nil).String() + `: "a" and "b" have the same peer URLs`
	if err == nil || err.Error() != want {
		t.Fatalf("Members with identical URL sets: error %v, want %q", err, want)
	}
	if _, err := c.ClusterID("etcd-cluster"); err == nil {
		t.Fatal("ClusterID with identical URL sets did not fail")
	}
}

func TestMembersDoNotShareURLs(t *testing.T) {
	c, _ := ParseInitialCluster("a=http://a:1")
	ms, err := c.Members("t")
	if err != nil {
		t.Fatal(err)
	}
	ms[0].PeerURLs[0].Host = "changed:2"
	if c["a"].String() != "http://a:1" {
		t.Fatalf("changing a member changed the map: %s", c)
	}
}
