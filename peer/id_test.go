package peer

import (
	"testing"
	"time"
)

func TestMemberIDVectors(t *testing.T) {
	tests := []struct {
		urls, token string
		want        string
	}{
		// etcd 2.x's default member (two peer URLs).
		{"http://localhost:2380,http://localhost:7001", "etcd-cluster", "ce2a822cea30bfca"},
		// The order the URLs are given in does not matter.
		{"http://localhost:7001,http://localhost:2380", "etcd-cluster", "ce2a822cea30bfca"},
		// etcd 3's (and this project's) default member: one peer URL.
		{"http://localhost:2380", "etcd-cluster", "8e9e05c52164694d"},
		{"http://10.0.1.10:2380", "etcd-cluster-1", "140fedbeeb74765d"},
		{"http://10.0.1.11:2380", "etcd-cluster-1", "d5dc5f8d75d04e29"},
		{"http://10.0.1.12:2380", "etcd-cluster-1", "8a0a11c6194fc77"},
		// The transcripts' static cluster (spec transcripts part 3).
		{"http://localhost:12480", "etcd-cluster-1", "4a1ca29dba335a30"},
		{"http://localhost:22480", "etcd-cluster-1", "3f582e92179827f"},
		{"http://localhost:32480", "etcd-cluster-1", "32281486bd1c7d88"},
	}
	for _, tt := range tests {
		got := MemberID(MustParseURLs(tt.urls), tt.token, nil)
		if got.String() != tt.want {
			t.Errorf("MemberID(%s, %s) = %s, want %s", tt.urls, tt.token, got, tt.want)
		}
	}
}

func TestClusterIDVectors(t *testing.T) {
	id := func(s string) ID {
		t.Helper()
		v, err := ParseID(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		members []ID
		want    string
	}{
		{[]ID{id("ce2a822cea30bfca")}, "7e27652122e8b2ae"},
		{[]ID{id("8e9e05c52164694d")}, "cdf818194e3a8c32"},
		{[]ID{id("140fedbeeb74765d"), id("d5dc5f8d75d04e29"), id("8a0a11c6194fc77")}, "acccc8912db0cd57"},
		// Any order gives the same cluster.
		{[]ID{id("8a0a11c6194fc77"), id("d5dc5f8d75d04e29"), id("140fedbeeb74765d")}, "acccc8912db0cd57"},
		// The transcripts' static cluster: X-Etcd-Cluster-Id 320b9fc24ede5c9d.
		{[]ID{id("4a1ca29dba335a30"), id("3f582e92179827f"), id("32281486bd1c7d88")}, "320b9fc24ede5c9d"},
	}
	for _, tt := range tests {
		in := append([]ID(nil), tt.members...)
		got := ClusterID(tt.members)
		if got.String() != tt.want {
			t.Errorf("ClusterID(%v) = %s, want %s", tt.members, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.members[i] {
				t.Fatalf("ClusterID reordered its argument")
			}
		}
	}
}

func TestMemberIDWithTime(t *testing.T) {
	urls := MustParseURLs("http://localhost:62480")
	t1 := time.Unix(1_700_000_000, 0)
	t2 := time.Unix(1_700_000_001, 0)
	a, b := MemberID(urls, "", &t1), MemberID(urls, "", &t2)
	if a == b {
		t.Fatalf("different add times gave the same ID %s", a)
	}
	if a == MemberID(urls, "", nil) {
		t.Fatalf("a time made no difference to the ID")
	}
	// The time goes in as decimal seconds after the token: equal to a token
	// that ends with the same digits.
	if a != MemberID(urls, "1700000000", nil) {
		t.Fatalf("the time is not hashed as decimal Unix seconds")
	}
	// Sub-second parts are ignored.
	t3 := t1.Add(999 * time.Millisecond)
	if MemberID(urls, "", &t3) != a {
		t.Fatalf("sub-second time changed the ID")
	}
}

func TestIDStringAndParse(t *testing.T) {
	tests := []struct {
		id  ID
		str string
	}{
		{0, "0"},
		{0x8a0a11c6194fc77, "8a0a11c6194fc77"},
		{0xffffffffffffffff, "ffffffffffffffff"},
	}
	for _, tt := range tests {
		if got := tt.id.String(); got != tt.str {
			t.Errorf("ID(%d).String() = %q, want %q", uint64(tt.id), got, tt.str)
		}
		got, err := ParseID(tt.str)
		if err != nil || got != tt.id {
			t.Errorf("ParseID(%q) = %v, %v", tt.str, got, err)
		}
	}
	if got, err := ParseID("CE2A822CEA30BFCA"); err != nil || got.String() != "ce2a822cea30bfca" {
		t.Errorf("ParseID of upper case = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0x1", "xyz", "10000000000000000", "-1", " 1"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}

func TestNewMember(t *testing.T) {
	m, err := NewMember("default", MustParseURLs("http://localhost:2380"), "etcd-cluster", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID.String() != "8e9e05c52164694d" || m.Name != "default" || m.PeerURLs.String() != "http://localhost:2380" || len(m.ClientURLs) != 0 {
		t.Fatalf("NewMember = %+v", m)
	}
	c := m.Clone()
	c.PeerURLs[0].Host = "changed:1"
	c.ClientURLs = append(c.ClientURLs, c.PeerURLs[0])
	if m.PeerURLs.String() != "http://localhost:2380" || len(m.ClientURLs) != 0 {
		t.Fatalf("Clone shares storage with the original: %+v", m)
	}
}
