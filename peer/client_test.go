package peer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// infoServer serves /members and /version as a member does.
func infoServer(t *testing.T, members, version string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/members":
			w.Header().Set("X-Etcd-Cluster-ID", "acccc8912db0cd57")
			w.Write([]byte(members))
		case "/version":
			w.Write([]byte(version))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGetMembers(t *testing.T) {
	// Three members as /members lists them: sorted by ID, IDs as numbers,
	// name and clientURLs left out until published.
	const list = `[{"id":621673891845438583,"peerURLs":["http://10.0.1.12:2380"]},` +
		`{"id":1445635409659065949,"peerURLs":["http://10.0.1.10:2380"],"name":"infra0","clientURLs":["http://10.0.1.10:2379"]},` +
		`{"id":15410297086126607913,"peerURLs":["http://10.0.1.11:2380","http://10.0.1.11:7001"],"name":"infra1","clientURLs":["http://10.0.1.11:2379"]}]` + "\n"
	good := infoServer(t, list, "")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	ms, cid, err := GetMembers(context.Background(), []string{deadURL, good.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cid.String() != "acccc8912db0cd57" {
		t.Errorf("cluster ID %s", cid)
	}
	want := []struct{ id, name, peers, clients string }{
		{"8a0a11c6194fc77", "", "http://10.0.1.12:2380", ""},
		{"140fedbeeb74765d", "infra0", "http://10.0.1.10:2380", "http://10.0.1.10:2379"},
		{"d5dc5f8d75d04e29", "infra1", "http://10.0.1.11:2380,http://10.0.1.11:7001", "http://10.0.1.11:2379"},
	}
	if len(ms) != len(want) {
		t.Fatalf("%d members", len(ms))
	}
	for i, w := range want {
		m := ms[i]
		if m.ID.String() != w.id || m.Name != w.name || m.PeerURLs.String() != w.peers || m.ClientURLs.String() != w.clients {
			t.Errorf("member %d = %s %q %s %s, want %+v", i, m.ID, m.Name, m.PeerURLs, m.ClientURLs, w)
		}
	}
}

func TestGetMembersErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       string
	}{
		{"not JSON", "members", "cannot decode the member list"},
		{"bad peer URL", `[{"id":1,"peerURLs":["ftp://x:1"]}]`, "member 1: URL scheme must be http or https: ftp://x:1"},
		{"bad client URL", `[{"id":2,"peerURLs":["http://x:1"],"clientURLs":["http://x"]}]`, `member 2: URL address does not have the form "host:port": http://x`},
		{"string ID", `[{"id":"1","peerURLs":["http://x:1"]}]`, "cannot decode the member list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := infoServer(t, tt.body, "")
			_, _, err := GetMembers(context.Background(), []string{srv.URL}, nil)
			if !errors.Is(err, ErrNoClusterInfo) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("no cluster ID", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("[]")) }))
		defer srv.Close()
		_, _, err := GetMembers(context.Background(), []string{srv.URL}, nil)
		if err == nil || !strings.Contains(err.Error(), "bad X-Etcd-Cluster-ID") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no URLs answer", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		_, _, err := GetMembers(context.Background(), []string{srv.URL, "http://[::1"}, nil)
		if !errors.Is(err, ErrNoClusterInfo) || !strings.Contains(err.Error(), "404 Not Found") || !strings.Contains(err.Error(), "bad URL") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		srv := infoServer(t, "[]", "")
		if _, _, err := GetMembers(ctx, []string{srv.URL, srv.URL}, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestGetVersion(t *testing.T) {
	srv := infoServer(t, "", `{"etcdserver":"2.3.8","etcdcluster":"not_decided"}`)
	v, err := GetVersion(context.Background(), []string{srv.URL}, nil)
	if err != nil || v != (Versions{"2.3.8", "not_decided"}) {
		t.Errorf("GetVersion = %+v, %v", v, err)
	}
	bad := infoServer(t, "", `{}`)
	if _, err := GetVersion(context.Background(), []string{bad.URL}, nil); !errors.Is(err, ErrNoClusterInfo) || !strings.Contains(err.Error(), "no etcdserver version") {
		t.Errorf("err = %v", err)
	}
}
