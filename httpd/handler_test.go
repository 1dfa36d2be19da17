package httpd

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"v2etcd/kv"
	"v2etcd/peer"
)

// fakeServer applies requests straight to a store, as a one-member cluster
// whose raft log always agrees at once.
type fakeServer struct {
	mu      sync.Mutex
	store   *kv.Store
	applied uint64
	members []*peer.Member
	leader  peer.ID
	stop    chan struct{}
	doErr   error // when set, Do and LinearizableRead fail with it
	added   peer.URLs
	removed []peer.ID
}

const testMemberID = peer.ID(0x8e9e05c52164694d)

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{store: kv.New(), leader: testMemberID, stop: make(chan struct{})}
	f.members = []*peer.Member{{
		ID:         testMemberID,
		Name:       "default",
		PeerURLs:   peer.MustParseURLs("http://localhost:2380"),
		ClientURLs: peer.MustParseURLs("http://localhost:2379"),
	}}
	// What a fresh member writes before any client does: its own entry,
	// the cluster version and its published attributes (etcd index 3).
	for _, r := range []kv.Request{
		{Method: kv.MethodPut, Path: "/0/members/8e9e05c52164694d/raftAttributes", Val: `{"peerURLs":["http://localhost:2380"]}`},
		{Method: kv.MethodPut, Path: "/0/version", Val: "2.3.0"},
		{Method: kv.MethodPut, Path: "/0/members/8e9e05c52164694d/attributes", Val: `{"name":"default","clientURLs":["http://localhost:2379"]}`},
	} {
		if _, err := f.Do(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fakeServer) Do(_ context.Context, r *kv.Request) (*kv.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.doErr != nil {
		return nil, f.doErr
	}
	f.applied++
	return f.store.Apply(r)
}

func (f *fakeServer) LinearizableRead(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.doErr
}

func (f *fakeServer) Store() *kv.Store   { return f.store }
func (f *fakeServer) ID() peer.ID        { return testMemberID }
func (f *fakeServer) ClusterID() peer.ID { return 0xcdf818194e3a8c32 }
func (f *fakeServer) Leader() peer.ID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leader
}
func (f *fakeServer) RaftStatus() (uint64, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied + 10, 2
}
func (f *fakeServer) Members() []*peer.Member { return f.members }
func (f *fakeServer) ClusterVersion() string  { return "2.3.0" }
func (f *fakeServer) SelfStats() []byte       { return []byte(`{"name":"default"}`) }
func (f *fakeServer) LeaderStats() ([]byte, bool) {
	return []byte(`{"leader":"8e9e05c52164694d","followers":{}}`), true
}
func (f *fakeServer) Stopping() <-chan struct{} { return f.stop }
func (f *fakeServer) AddMember(_ context.Context, urls peer.URLs) (*peer.Member, error) {
	for _, m := range f.members {
		if m.PeerURLs.Equal(urls) {
			return nil, ErrPeerURLExists
		}
	}
	f.added = urls
	return &peer.Member{ID: 0x1234, PeerURLs: urls}, nil
}
func (f *fakeServer) RemoveMember(_ context.Context, id peer.ID) error {
	switch id {
	case testMemberID:
		f.removed = append(f.removed, id)
		return nil
	case 0xdead:
		return ErrMemberRemoved
	}
	return ErrMemberNotFound
}
func (f *fakeServer) UpdateMember(_ context.Context, id peer.ID, urls peer.URLs) error {
	if id != testMemberID {
		return ErrMemberNotFound
	}
	return nil
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, srv *httptest.Server, method, target, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func newTestServer(t *testing.T, f *fakeServer, cfg Config) *httptest.Server {
	cfg.Server = f
	cfg.ServerVersion = "2.3.8"
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Date(2026, 11, 23, 20, 19, 28, 0, time.UTC) }
	}
	srv := httptest.NewServer(NewHandler(cfg))
	t.Cleanup(srv.Close)
	return srv
}

// TestKeysTranscript replays the single-member walkthrough that etcd 2.3.8
// answered in spec/transcripts (indexes start at 4 there, as here).
func TestKeysTranscript(t *testing.T) {
	srv := newTestServer(t, newFakeServer(t), Config{})
	steps := []struct {
		method, target, body string
		status               int
		want                 string
	}{
		{"PUT", "/v2/keys/test", "value=hello world", 201, `{"action":"set","node":{"key":"/test","value":"hello world","modifiedIndex":4,"createdIndex":4}}`},
		{"PUT", "/v2/keys/message", "value=Hello world", 201, `{"action":"set","node":{"key":"/message","value":"Hello world","modifiedIndex":5,"createdIndex":5}}`},
		{"GET", "/v2/keys/message", "", 200, `{"action":"get","node":{"key":"/message","value":"Hello world","modifiedIndex":5,"createdIndex":5}}`},
		{"PUT", "/v2/keys/message", "value=Hello etcd", 200, `{"action":"set","node":{"key":"/message","value":"Hello etcd","modifiedIndex":6,"createdIndex":6},"prevNode":{"key":"/message","value":"Hello world","modifiedIndex":5,"createdIndex":5}}`},
		{"DELETE", "/v2/keys/message", "", 200, `{"action":"delete","node":{"key":"/message","modifiedIndex":7,"createdIndex":6},"prevNode":{"key":"/message","value":"Hello etcd","modifiedIndex":6,"createdIndex":6}}`},
		{"GET", "/v2/keys/message", "", 404, `{"errorCode":100,"message":"Key not found","cause":"/message","index":7}`},
		{"PUT", "/v2/keys/dir", "dir=true", 201, `{"action":"set","node":{"key":"/dir","dir":true,"modifiedIndex":8,"createdIndex":8}}`},
		{"PUT", "/v2/keys/dir", "dir=true", 403, `{"errorCode":102,"message":"Not a file","cause":"/dir","index":8}`},
		{"PUT", "/v2/keys/dir/a", "value=1", 201, `{"action":"set","node":{"key":"/dir/a","value":"1","modifiedIndex":9,"createdIndex":9}}`},
		{"PUT", "/v2/keys/dir/sub/b", "value=2", 201, `{"action":"set","node":{"key":"/dir/sub/b","value":"2","modifiedIndex":10,"createdIndex":10}}`},
		{"GET", "/v2/keys/dir?recursive=true&sorted=true", "", 200, `{"action":"get","node":{"key":"/dir","dir":true,"nodes":[{"key":"/dir/a","value":"1","modifiedIndex":9,"createdIndex":9},{"key":"/dir/sub","dir":true,"nodes":[{"key":"/dir/sub/b","value":"2","modifiedIndex":10,"createdIndex":10}],"modifiedIndex":10,"createdIndex":10}],"modifiedIndex":8,"createdIndex":8}}`},
		{"PUT", "/v2/keys/_hidden", "value=h", 201, `{"action":"set","node":{"key":"/_hidden","value":"h","modifiedIndex":11,"createdIndex":11}}`},
		{"DELETE", "/v2/keys/dir?dir=true", "", 403, `{"errorCode":108,"message":"Directory not empty","cause":"/dir","index":11}`},
		{"PUT", "/v2/keys/dir/a/x", "value=1", 400, `{"errorCode":104,"message":"Not a directory","cause":"/dir/a","index":11}`},
		{"DELETE", "/v2/keys/dir?recursive=true", "", 200, `{"action":"delete","node":{"key":"/dir","dir":true,"modifiedIndex":12,"createdIndex":8},"prevNode":{"key":"/dir","dir":true,"modifiedIndex":8,"createdIndex":8}}`},
		{"GET", "/v2/keys/", "", 200, `{"action":"get","node":{"dir":true,"nodes":[{"key":"/test","value":"hello world","modifiedIndex":4,"createdIndex":4}]}}`},
		{"PUT", "/v2/keys/", "value=x", 400, `{"errorCode":107,"message":"Root is read only","cause":"/","index":12}`},
		{"PUT", "/v2/keys/ttlkey", "value=bar&ttl=abc", 400, `{"errorCode":202,"message":"The given TTL in POST form is not a number","cause":"invalid value for \"ttl\"","index":0}`},
		{"POST", "/v2/keys/queue", "value=Job1", 201, `{"action":"create","node":{"key":"/queue/00000000000000000013","value":"Job1","modifiedIndex":13,"createdIndex":13}}`},
		{"PUT", "/v2/keys/foo", "value=new", 201, `{"action":"set","node":{"key":"/foo","value":"new","modifiedIndex":14,"createdIndex":14}}`},
		{"PUT", "/v2/keys/foo?prevValue=wrong", "value=x", 412, `{"errorCode":101,"message":"Compare failed","cause":"[wrong != new]","index":14}`},
	}
	for _, s := range steps {
		a := do(t, srv, s.method, s.target, s.body)
		if a.status != s.status || a.body != s.want+"\n" {
			t.Fatalf("%s %s %s:\n got %d %s\nwant %d %s", s.method, s.target, s.body, a.status, a.body, s.status, s.want)
		}
		if a.header.Get("Content-Type") != "application/json" || a.header.Get("X-Etcd-Cluster-Id") != "cdf818194e3a8c32" {
			t.Errorf("%s %s: headers %v", s.method, s.target, a.header)
		}
		_, hasRaft := a.header["X-Raft-Index"]
		if hasRaft != (s.status < 300) {
			t.Errorf("%s %s: X-Raft-Index present = %v for status %d", s.method, s.target, hasRaft, s.status)
		}
	}
}

func TestKeysHeadersAndMethods(t *testing.T) {
	f := newFakeServer(t)
	srv := newTestServer(t, f, Config{})
	do(t, srv, "PUT", "/v2/keys/foo", "value=a")

	a := do(t, srv, "HEAD", "/v2/keys/foo", "")
	if a.status != 200 || a.body != "" || a.header.Get("Content-Length") != "86" || a.header.Get("X-Etcd-Index") != "4" ||
		a.header.Get("X-Raft-Term") != "2" {
		t.Errorf("HEAD: %d %q %v", a.status, a.body, a.header)
	}
	if a = do(t, srv, "HEAD", "/v2/keys/nokey", ""); a.status != 404 || a.body != "" || a.header.Get("X-Etcd-Index") != "4" {
		t.Errorf("HEAD missing: %d %q %v", a.status, a.body, a.header)
	}
	a = do(t, srv, "PATCH", "/v2/keys/foo", "value=1")
	if a.status != 405 || a.body != "Method Not Allowed\n" || a.header.Get("Allow") != "HEAD,GET,PUT,POST,DELETE" || a.header.Get("X-Etcd-Cluster-Id") != "" {
		t.Errorf("PATCH: %d %q %v", a.status, a.body, a.header)
	}
	a = do(t, srv, "PUT", "/v2/keys//a//b/../c", "value=1")
	if a.status != 301 || a.header.Get("Location") != "/v2/keys/a/c" {
		t.Errorf("unclean path: %d %v", a.status, a.header)
	}
	for _, p := range []string{"/", "/v2/leader", "/v2/keysx"} {
		if a = do(t, srv, "GET", p, ""); a.status != 404 || a.body != "404 page not found\n" {
			t.Errorf("GET %s: %d %q", p, a.status, a.body)
		}
	}
	if a = do(t, srv, "GET", "/v2/keys/foo?quorum=true&wait=true", ""); a.status != 200 || !strings.Contains(a.body, `"action":"get"`) {
		t.Errorf("quorum+wait is a quorum get: %d %s", a.status, a.body)
	}

	// A failure that is not a store error is error 300, HTTP 500, index 0.
	f.mu.Lock()
	f.doErr = errors.New("etcdserver: request timed out")
	f.mu.Unlock()
	want := `{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: request timed out","index":0}` + "\n"
	for _, m := range []string{"PUT", "GET"} {
		target := "/v2/keys/foo"
		if m == "GET" {
			target += "?quorum=true"
		}
		if a = do(t, srv, m, target, "value=z"); a.status != 500 || a.body != want || a.header.Get("X-Etcd-Index") != "0" {
			t.Errorf("%s timeout: %d %q", m, a.status, a.body)
		}
	}
}

func TestWatch(t *testing.T) {
	f := newFakeServer(t)
	srv := newTestServer(t, f, Config{})
	do(t, srv, "PUT", "/v2/keys/foo", "value=one") // index 4

	// A watch sends its headers at once, then the next change.
	resp, err := http.Get(srv.URL + "/v2/keys/foo?wait=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Etcd-Index") != "4" || len(resp.TransferEncoding) == 0 {
		t.Fatalf("watch headers: %d %v %v", resp.StatusCode, resp.Header, resp.TransferEncoding)
	}
	do(t, srv, "PUT", "/v2/keys/foo", "value=bar")
	b, _ := io.ReadAll(resp.Body)
	want := `{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":5,"createdIndex":5},"prevNode":{"key":"/foo","value":"one","modifiedIndex":4,"createdIndex":4}}` + "\n"
	if string(b) != want {
		t.Errorf("watch event:\n got %s\nwant %s", b, want)
	}

	// From the history.
	if a := do(t, srv, "GET", "/v2/keys/foo?wait=true&waitIndex=1", ""); a.body != `{"action":"set","node":{"key":"/foo","value":"one","modifiedIndex":4,"createdIndex":4}}`+"\n" {
		t.Errorf("history watch: %s", a.body)
	}

	// A stream keeps going; it ends when the server stops.
	resp2, err := http.Get(srv.URL + "/v2/keys/foo?wait=true&stream=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	rd := bufio.NewReader(resp2.Body)
	for i, v := range []string{"s1", "s2"} {
		do(t, srv, "PUT", "/v2/keys/foo", "value="+v)
		line, err := rd.ReadString('\n')
		if err != nil || !strings.Contains(line, `"value":"`+v+`"`) {
			t.Fatalf("stream event %d: %q %v", i, line, err)
		}
	}
	if n := f.store.Stats().Watchers; n != 1 {
		t.Errorf("watchers = %d, want 1", n)
	}
	close(f.stop)
	if rest, err := io.ReadAll(rd); err != nil || len(rest) != 0 {
		t.Errorf("after stop: %q %v", rest, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.store.Stats().Watchers != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream's watcher was not removed")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMembersAPI(t *testing.T) {
	f := newFakeServer(t)
	srv := newTestServer(t, f, Config{})
	list := `{"members":[{"id":"8e9e05c52164694d","name":"default","peerURLs":["http://localhost:2380"],"clientURLs":["http://localhost:2379"]}]}` + "\n"
	for _, p := range []string{"/v2/members", "/v2/members/"} {
		if a := do(t, srv, "GET", p, ""); a.status != 200 || a.body != list || a.header.Get("X-Etcd-Cluster-Id") != "cdf818194e3a8c32" {
			t.Errorf("GET %s: %d %s %v", p, a.status, a.body, a.header)
		}
	}
	if a := do(t, srv, "GET", "/v2/members/leader", ""); a.status != 200 || !strings.HasPrefix(a.body, `{"id":"8e9e05c52164694d"`) {
		t.Errorf("leader: %d %s", a.status, a.body)
	}
	if a := do(t, srv, "GET", "/v2/members/x", ""); a.status != 404 || a.body != `{"message":"Not found"}` {
		t.Errorf("unknown: %d %s", a.status, a.body)
	}
	f.mu.Lock()
	f.leader = 0
	f.mu.Unlock()
	if a := do(t, srv, "GET", "/v2/members/leader", ""); a.status != 503 || a.body != `{"message":"During election"}` {
		t.Errorf("no leader: %d %s", a.status, a.body)
	}

	post := func(ct, body string) answer {
		req, _ := http.NewRequest("POST", srv.URL+"/v2/members", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header, string(b)}
	}
	cases := []struct {
		ct, body string
		status   int
		want     string
	}{
		{"application/json", `{"peerURLs":["http://10.0.0.9:2380"]}`, 201, `{"id":"1234","name":"","peerURLs":["http://10.0.0.9:2380"],"clientURLs":[]}` + "\n"},
		{"application/json", `{"peerURLs":["http://localhost:2380"]}`, 409, `{"message":"etcdserver: peerURL exists"}`},
		{"application/x-www-form-urlencoded", `x`, 415, `{"message":"Bad Content-Type application/x-www-form-urlencoded, accept application/json"}`},
		{"application/json", `{"peerURLs":[]}`, 400, `{"message":"no valid URLs given"}`},
		{"application/json", `{"peerURLs":["http://a:1/p"]}`, 400, `{"message":"URL must not contain a path: http://a:1/p"}`},
		{"application/json", `{"peerURLs":["ftp://a:1"]}`, 400, `{"message":"URL scheme must be http or https: ftp://a:1"}`},
		{"application/json", `{`, 400, `{"message":"unexpected end of JSON input"}`},
	}
	for _, c := range cases {
		if a := post(c.ct, c.body); a.status != c.status || a.body != c.want {
			t.Errorf("POST %s %s: %d %s, want %d %s", c.ct, c.body, a.status, a.body, c.status, c.want)
		}
	}
	if a := do(t, srv, "DELETE", "/v2/members/8e9e05c52164694d", ""); a.status != 204 || a.body != "" {
		t.Errorf("DELETE: %d %s", a.status, a.body)
	}
	if a := do(t, srv, "DELETE", "/v2/members/99", ""); a.status != 404 || a.body != `{"message":"No such member: 99"}` {
		t.Errorf("DELETE unknown: %d %s", a.status, a.body)
	}
	if a := do(t, srv, "DELETE", "/v2/members/zz", ""); a.status != 404 || a.body != `{"message":"No such member: zz"}` {
		t.Errorf("DELETE non-hex: %d %s", a.status, a.body)
	}
	if a := do(t, srv, "DELETE", "/v2/members/dead", ""); a.status != 410 || a.body != `{"message":"Member permanently removed: dead"}` {
		t.Errorf("DELETE removed: %d %s", a.status, a.body)
	}
	if a := do(t, srv, "DELETE", "/v2/members", ""); a.status != 405 || a.header.Get("Allow") != "" {
		t.Errorf("DELETE without id: %d %v", a.status, a.header)
	}
	if a := do(t, srv, "PATCH", "/v2/members", ""); a.status != 405 || a.header.Get("Allow") != "GET,POST,DELETE,PUT" {
		t.Errorf("PATCH: %d %v", a.status, a.header)
	}
	if a := do(t, srv, "GET", "/v2/machines", ""); a.status != 200 || a.body != "http://localhost:2379" {
		t.Errorf("machines: %d %q", a.status, a.body)
	}
}

func TestInfoEndpointsAndCORS(t *testing.T) {
	f := newFakeServer(t)
	srv := newTestServer(t, f, Config{CORS: []string{"http://ok.example"}})
	if a := do(t, srv, "GET", "/version", ""); a.body != `{"etcdserver":"2.3.8","etcdcluster":"2.3.0"}` {
		t.Errorf("version: %s", a.body)
	}
	if a := do(t, srv, "GET", "/health", ""); a.status != 200 || a.body != `{"health": "true"}` || a.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("health: %d %q %v", a.status, a.body, a.header)
	}
	if a := do(t, srv, "GET", "/debug/vars", ""); a.status != 200 || !strings.Contains(a.body, `"cmdline": [`) || !strings.Contains(a.body, `"memstats": {`) {
		t.Errorf("debug vars: %d %.200s", a.status, a.body)
	}
	if a := do(t, srv, "GET", "/v2/stats/store", ""); !strings.HasPrefix(a.body, `{"getsSuccess":`) || strings.HasSuffix(a.body, "\n") {
		t.Errorf("store stats: %q", a.body)
	}
	if a := do(t, srv, "GET", "/v2/stats/leader", ""); a.body != `{"leader":"8e9e05c52164694d","followers":{}}` {
		t.Errorf("leader stats: %q", a.body)
	}
	do(t, srv, "GET", "/v2/keys/x", "")
	if a := do(t, srv, "GET", "/metrics", ""); !strings.Contains(a.body, `etcd_http_failed_total{code="404",method="GET"} 1`) {
		t.Errorf("metrics:\n%s", a.body)
	}
	f.mu.Lock()
	f.leader = 0
	f.mu.Unlock()
	if a := do(t, srv, "GET", "/health", ""); a.status != 503 || a.body != `{"health": "false"}`+"\n" {
		t.Errorf("unhealthy: %d %q", a.status, a.body)
	}

	// CORS: OPTIONS is always 200; allowed origins get the headers.
	req, _ := http.NewRequest("OPTIONS", srv.URL+"/anything", nil)
	req.Header.Set("Origin", "http://ok.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://ok.example" ||
		resp.Header.Get("Access-Control-Allow-Methods") != "POST, GET, OPTIONS, PUT, DELETE" {
		t.Errorf("OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/version", nil)
	req.Header.Set("Origin", "http://other.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("unlisted origin got CORS headers: %v", resp.Header)
	}
}
