package discover

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"v2etcd/kv"
	"v2etcd/peer"
)

// joiner is one member running JoinCluster in the background.
type joiner struct {
	id     peer.ID
	config string
	log    logBuffer
	done   chan struct{}
	result InitialCluster
	err    error
}

// testMember returns the ID and registration value of member name with
// peer URL u for a discovery URL, as the etcd binary computes them.
func testMember(t *testing.T, durl, name, u string) (peer.ID, string) {
	t.Helper()
	urls := peer.MustParseURLs(u)
	return peer.MemberID(urls, durl, nil), InitialCluster{name: urls}.String()
}

func startJoin(t *testing.T, cfg Config, name, u string) *joiner {
	t.Helper()
	j := &joiner{done: make(chan struct{})}
	j.id, j.config = testMember(t, cfg.URL, name, u)
	cfg.Logger = j.log.logger()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); <-j.done })
	go func() {
		defer close(j.done)
		j.result, j.err = JoinCluster(ctx, cfg, j.id, j.config)
	}()
	return j
}

func (j *joiner) wait(t *testing.T) (InitialCluster, error) {
	t.Helper()
	select {
	case <-j.done:
		return j.result, j.err
	case <-time.After(10 * time.Second):
		t.Fatalf("JoinCluster of %s did not return", j.id)
		return nil, nil
	}
}

func (j *joiner) finished() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// noSleep records the waits between retries instead of waiting.
type noSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (n *noSleep) sleep(_ context.Context, d time.Duration) error {
	n.mu.Lock()
	n.waits = append(n.waits, d)
	n.mu.Unlock()
	return nil
}

func (n *noSleep) got() []time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.waits)
}

// TestJoinClusterWaitsForEveryMember runs the protocol with three members
// arriving one after the other: the first two wait until the third has
// registered, then all three get the same cluster.
func TestJoinClusterWaitsForEveryMember(t *testing.T) {
	reg := newTestRegistry(t)
	reg.set("/_etcd/registry/test/_config/size", "3")
	cfg := Config{URL: reg.url("test")}

	j1 := startJoin(t, cfg, "m1", "http://10.0.0.1:2380")
	waitFor(t, "m1 to register", func() bool { return len(reg.children("/_etcd/registry/test")) == 1 })
	waitFor(t, "m1 to wait", func() bool { return j1.log.has("NOTICE found 1 peer(s), waiting for 2 more") })
	j2 := startJoin(t, cfg, "m2", "http://10.0.0.2:2380")
	waitFor(t, "m1 to see m2", func() bool { return j1.log.has("NOTICE found 2 peer(s), waiting for 1 more") })
	waitFor(t, "m2 to wait", func() bool { return j2.log.has("NOTICE found 2 peer(s), waiting for 1 more") })
	if j1.finished() || j2.finished() {
		t.Fatalf("a member finished before the cluster was complete: %v %v", j1.err, j2.err)
	}
	j3 := startJoin(t, cfg, "m3", "http://10.0.0.3:2380")

	want := "m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380,m3=http://10.0.0.3:2380"
	for _, j := range []*joiner{j1, j2, j3} {
		c, err := j.wait(t)
		if err != nil || c.String() != want {
			t.Errorf("member %s: %q, %v; want %q", j.id, c, err, want)
		}
	}
	wantLog := fmt.Sprintf(`NOTICE found self %s in the cluster
NOTICE found 1 peer(s), waiting for 2 more
NOTICE found peer %s in the cluster
NOTICE found 2 peer(s), waiting for 1 more
NOTICE found peer %s in the cluster
NOTICE found 3 needed peer(s)
`, j1.id, j2.id, j3.id)
	if got := j1.log.String(); got != wantLog {
		t.Errorf("log of the first member:\n%s\nwant:\n%s", got, wantLog)
	}
	wantLog = fmt.Sprintf(`NOTICE found peer %s in the cluster
NOTICE found peer %s in the cluster
NOTICE found self %s in the cluster
NOTICE found 3 needed peer(s)
`, j1.id, j2.id, j3.id)
	if got := j3.log.String(); got != wantLog {
		t.Errorf("log of the last member:\n%s\nwant:\n%s", got, wantLog)
	}
	// The registrations are what etcd writes: key = ID in hex, value = the map.
	e, err := reg.store.Get("/1/_etcd/registry/test/"+j2.id.String(), false, false)
	if err != nil || e.Node.Value != "m2=http://10.0.0.2:2380" {
		t.Errorf("registration of m2: %+v, %v", e, err)
	}
}

// TestJoinClusterCreationOrder checks that the first size registrations in
// creation order form the cluster, whatever their key names sort as, and
// that a member registering after them finds the cluster full.
func TestJoinClusterCreationOrder(t *testing.T) {
	reg := newTestRegistry(t)
	reg.set("/_etcd/registry/test/_config/size", "2")
	durl := reg.url("test")
	// Key names chosen to sort the other way round from creation order.
	reg.set("/_etcd/registry/test/ffff", "late=http://10.0.0.9:2380")
	reg.set("/_etcd/registry/test/0001", "later=http://10.0.0.8:2380")

	c, err := GetCluster(context.Background(), Config{URL: durl})
	if err != nil || c.String() != "late=http://10.0.0.9:2380,later=http://10.0.0.8:2380" {
		t.Fatalf("GetCluster: %q, %v", c, err)
	}

	id, config := testMember(t, durl, "m3", "http://10.0.0.3:2380")
	_, err = JoinCluster(context.Background(), Config{URL: durl}, id, config)
	if !errors.Is(err, ErrFullCluster) || err.Error() != "discovery: cluster is full" {
		t.Fatalf("JoinCluster on a full cluster: %v", err)
	}
	if reg.has("/_etcd/registry/test/" + id.String()) {
		t.Errorf("a member of a full cluster registered itself")
	}
}

// TestJoinClusterLostRace: a member whose registration lands after size
// others (they raced it) is not part of the cluster.
func TestJoinClusterLostRace(t *testing.T) {
	reg := newTestRegistry(t)
	reg.set("/_etcd/registry/test/_config/size", "1")
	durl := reg.url("test")
	id, config := testMember(t, durl, "m1", "http://10.0.0.1:2380")
	reg.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut {
			// Someone else registers just before this member does.
			reg.set("/_etcd/registry/test/abcd", "other=http://10.0.0.2:2380")
		}
		return false
	})
	_, err := JoinCluster(context.Background(), Config{URL: durl}, id, config)
	if !errors.Is(err, ErrFullCluster) {
		t.Fatalf("got %v, want ErrFullCluster", err)
	}
}

// TestGetClusterWaits: a proxy waits for the cluster to complete, without
// registering.
func TestGetClusterWaits(t *testing.T) {
	reg := newTestRegistry(t)
	reg.set("/_etcd/registry/test/_config/size", "2")
	var log logBuffer
	type result struct {
		c   InitialCluster
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := GetCluster(context.Background(), Config{URL: reg.url("test"), Logger: log.logger()})
		done <- result{c, err}
	}()
	waitFor(t, "GetCluster to wait", func() bool { return log.has("NOTICE found 0 peer(s), waiting for 2 more") })
	reg.register("test", 0x11, "a=http://10.0.0.1:2380")
	waitFor(t, "GetCluster to see a", func() bool { return log.has("NOTICE found 1 peer(s), waiting for 1 more") })
	reg.register("test", 0x22, "b=http://10.0.0.2:2380")
	select {
	case r := <-done:
		if r.err != nil || r.c.String() != "a=http://10.0.0.1:2380,b=http://10.0.0.2:2380" {
			t.Fatalf("GetCluster: %q, %v", r.c, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GetCluster did not return")
	}
	if got := reg.children("/_etcd/registry/test"); len(got) != 2 {
		t.Errorf("registry holds %v; GetCluster must not register", got)
	}
}

// TestWaitIgnoresOtherChanges: only new registrations count while waiting,
// not a changed size, a key deeper down, a deletion or a directory.
func TestWaitIgnoresOtherChanges(t *testing.T) {
	reg := newTestRegistry(t)
	reg.set("/_etcd/registry/test/_config/size", "2")
	cfg := Config{URL: reg.url("test")}
	j := startJoin(t, cfg, "m1", "http://10.0.0.1:2380")
	waitFor(t, "m1 to wait", func() bool { return j.log.has("NOTICE found 1 peer(s), waiting for 1 more") })
	reg.set("/_etcd/registry/test/_config/size", "2")
	reg.set("/_etcd/registry/test/sub/deeper", "x=http://10.9.9.9:2380")
	if _, err := reg.store.Apply(&kv.Request{Method: kv.MethodDelete, Path: "/1/_etcd/registry/test/sub", Dir: true, Recursive: true}); err != nil {
		t.Fatal(err)
	}
	reg.set("/_etcd/registry/test/ab", "m2=http://10.0.0.2:2380")
	c, err := j.wait(t)
	if err != nil || c.String() != "m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380" {
		t.Fatalf("JoinCluster: %q, %v", c, err)
	}
}

func TestJoinClusterErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(reg *testRegistry, id peer.ID)
		url   func(reg *testRegistry) string // default: token "test"
		want  error
		text  string
	}{
		{
			name: "size not found",
			want: ErrSizeNotFound, text: "discovery: size key not found",
		},
		{
			name:  "size not a number",
			setup: func(reg *testRegistry, _ peer.ID) { reg.set("/_etcd/registry/test/_config/size", "abc") },
			want:  ErrBadSizeKey, text: "discovery: size key is bad",
		},
		{
			name:  "size zero",
			setup: func(reg *testRegistry, _ peer.ID) { reg.set("/_etcd/registry/test/_config/size", "0") },
			want:  ErrBadSizeKey,
		},
		{
			name: "duplicate ID",
			setup: func(reg *testRegistry, id peer.ID) {
				reg.set("/_etcd/registry/test/_config/size", "3")
				reg.register("test", id, "m1=http://10.0.0.1:2380")
			},
			want: ErrDuplicateID, text: "discovery: found duplicate id",
		},
		{
			name: "duplicate name",
			setup: func(reg *testRegistry, _ peer.ID) {
				reg.set("/_etcd/registry/test/_config/size", "2")
				reg.register("test", 0x99, "m1=http://10.0.0.2:2380")
			},
			want: ErrDuplicateName, text: "discovery: found duplicate name",
		},
		{
			name: "invalid URL",
			setup: func(reg *testRegistry, _ peer.ID) {
				reg.set("/_etcd/registry/test/_config/size", "2")
				reg.register("test", 0x99, "m2=ftp://10.0.0.2:2380")
			},
			want: ErrInvalidURL, text: "discovery: invalid URL",
		},
		{
			name: "not a keys API: HTML",
			setup: func(reg *testRegistry, _ peer.ID) {
				reg.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
					w.Write([]byte("<html>hello</html>"))
					return true
				})
			},
			want: ErrBadDiscoveryEndpoint, text: "discovery: bad discovery endpoint",
		},
		{
			name: "not a keys API: plain 404",
			url:  func(reg *testRegistry) string { return reg.srv.URL + "/nothing/here" },
			want: ErrBadDiscoveryEndpoint,
		},
		{
			name: "a v2 error other than key not found",
			setup: func(reg *testRegistry, _ peer.ID) {
				reg.set("/_etcd/registry/test", "a file, not a directory")
			},
			text: "104: Not a directory (/_etcd/registry/test) [1]",
		},
		{
			name: "not an http URL",
			url:  func(*testRegistry) string { return "ftp://example.com/x" },
			text: `discovery: bad discovery URL "ftp://example.com/x": want http:// or https://, a host and a path`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newTestRegistry(t)
			durl := reg.url("test")
			if tt.url != nil {
				durl = tt.url(reg)
			}
			id, config := testMember(t, durl, "m1", "http://10.0.0.1:2380")
			if tt.setup != nil {
				tt.setup(reg, id)
			}
			_, err := JoinCluster(context.Background(), Config{URL: durl}, id, config)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if tt.text != "" && err.Error() != tt.text {
				t.Errorf("text %q, want %q", err.Error(), tt.text)
			}
		})
	}
}

// TestRetries: while the registry is unreachable or answers 5xx, discovery
// backs off 2, 4, 8... seconds, logging each retry, and carries on when it
// answers again; after the retry limit it gives up.
func TestRetries(t *testing.T) {
	reg := newTestRegistry(t)
	reg.set("/_etcd/registry/test/_config/size", "1")
	var mu sync.Mutex
	failures := 3
	reg.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if failures == 0 {
			return false
		}
		failures--
		if failures == 1 {
			breakAnswer(w)
			return true
		}
		http.Error(w, "no leader", http.StatusServiceUnavailable)
		return true
	})
	var ns noSleep
	var log logBuffer
	durl := reg.url("test")
	id, config := testMember(t, durl, "m1", "http://10.0.0.1:2380")
	c, err := JoinCluster(context.Background(), Config{URL: durl, Logger: log.logger(), sleep: ns.sleep}, id, config)
	if err != nil || c.String() != config {
		t.Fatalf("JoinCluster: %q, %v", c, err)
	}
	if got, want := ns.got(), []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	for _, line := range []string{
		"ERROR error #0: " + reg.srv.URL + " answered 503 Service Unavailable",
		"INFO cluster status check: error connecting to " + reg.srv.URL + ", retrying in 2s",
		"INFO cluster status check: error connecting to " + reg.srv.URL + ", retrying in 8s",
	} {
		if !log.has(line) {
			t.Errorf("no log line %q in:\n%s", line, log.String())
		}
	}

}

// TestTooManyRetries: a registry that never answers (nothing listens on
// its port) fails discovery after the retry limit.
func TestTooManyRetries(t *testing.T) {
	reg := newTestRegistry(t)
	durl := reg.url("test")
	addr := reg.srv.Listener.Addr().String()
	reg.srv.Close()
	var ns noSleep
	var log logBuffer
	id, config := testMember(t, durl, "m1", "http://10.0.0.1:2380")
	_, err := JoinCluster(context.Background(), Config{URL: durl, Logger: log.logger(), maxRetries: 2, sleep: ns.sleep}, id, config)
	if !errors.Is(err, ErrTooManyRetries) || err.Error() != "discovery: too many retries" {
		t.Fatalf("got %v, want ErrTooManyRetries", err)
	}
	if got, want := ns.got(), []time.Duration{2 * time.Second, 4 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if !log.has("ERROR error #0: dial tcp " + addr + ": connect: connection refused") {
		t.Errorf("log:\n%s", log.String())
	}
}

// breakAnswer starts an answer and breaks the connection in the middle of
// it (an error before any answer could make the client retry on its own).
func breakAnswer(w http.ResponseWriter) {
	conn, buf, _ := w.(http.Hijacker).Hijack()
	buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"action\"")
	buf.Flush()
	conn.Close()
}

// TestWaitRecovers: a watch that fails (broken connection), ends without
// an event, or finds the event history cleared does not lose members: the
// member looks at the registry again and goes on waiting.
func TestWaitRecovers(t *testing.T) {
	for _, fault := range []string{"broken", "empty", "cleared"} {
		t.Run(fault, func(t *testing.T) {
			reg := newTestRegistry(t)
			reg.set("/_etcd/registry/test/_config/size", "2")
			var mu sync.Mutex
			faulted := false
			reg.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
				mu.Lock()
				defer mu.Unlock()
				if faulted || r.URL.Query().Get("recursive") != "true" {
					return false
				}
				faulted = true
				// The second member registers while the first one's watch fails.
				reg.set("/_etcd/registry/test/abcd", "m2=http://10.0.0.2:2380")
				switch fault {
				case "broken":
					breakAnswer(w)
				case "empty":
					w.WriteHeader(http.StatusOK)
				case "cleared":
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					w.Write([]byte(`{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [2/1]","index":3}`))
				}
				return true
			})
			var ns noSleep
			cfg := Config{URL: reg.url("test"), sleep: ns.sleep}
			j := startJoin(t, cfg, "m1", "http://10.0.0.1:2380")
			c, err := j.wait(t)
			if err != nil || c.String() != "m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380" {
				t.Fatalf("JoinCluster: %q, %v", c, err)
			}
			wantWaits := 0
			if fault == "broken" {
				wantWaits = 1
				if !j.log.has("INFO waiting for other nodes: error connecting to " + reg.srv.URL + ", retrying in 2s") {
					t.Errorf("no retry line in:\n%s", j.log.String())
				}
			}
			if got := ns.got(); len(got) != wantWaits {
				t.Errorf("waits %v, want %d", got, wantWaits)
			}
		})
	}
}

// TestCancel: a member waiting for the others stops when its context ends.
func TestCancel(t *testing.T) {
	reg := newTestRegistry(t)
	reg.set("/_etcd/registry/test/_config/size", "2")
	ctx, cancel := context.WithCancel(context.Background())
	var log logBuffer
	durl := reg.url("test")
	id, config := testMember(t, durl, "m1", "http://10.0.0.1:2380")
	done := make(chan error, 1)
	go func() {
		_, err := JoinCluster(ctx, Config{URL: durl, Logger: log.logger()}, id, config)
		done <- err
	}()
	waitFor(t, "the member to wait", func() bool { return log.has("NOTICE found 1 peer(s), waiting for 1 more") })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("JoinCluster did not return after cancel")
	}
}

// TestDiscoveryProxy sends the registry traffic through an HTTP proxy.
func TestDiscoveryProxy(t *testing.T) {
	reg := newTestRegistry(t)
	reg.set("/_etcd/registry/test/_config/size", "1")
	var mu sync.Mutex
	var proxied []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		proxied = append(proxied, r.Method+" "+r.URL.String())
		mu.Unlock()
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			w.Write(buf[:n])
			w.(http.Flusher).Flush()
			if err != nil {
				return
			}
		}
	}))
	defer proxy.Close()
	var log logBuffer
	durl := reg.url("test")
	id, config := testMember(t, durl, "m1", "http://10.0.0.1:2380")
	// Without a scheme, as users often write it: http:// is assumed.
	proxyValue := strings.TrimPrefix(proxy.URL, "http://")
	c, err := JoinCluster(context.Background(), Config{URL: durl, Proxy: proxyValue, Logger: log.logger()}, id, config)
	if err != nil || c.String() != config {
		t.Fatalf("JoinCluster: %q, %v", c, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(proxied) < 4 || !strings.HasPrefix(proxied[0], "GET "+durl+"/_config/size") {
		t.Errorf("through the proxy: %q", proxied)
	}
	if !log.has(fmt.Sprintf("INFO using proxy %q", proxy.URL)) {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestParseProxyURL(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "http://p:3128", want: "http://p:3128"},
		{in: "https://p:3128", want: "https://p:3128"},
		{in: "p:3128", want: "http://p:3128"},
		{in: "socks5://p:1080", want: "http://socks5://p:1080"},
		{in: "http://p:3128/ x%zz", err: `invalid proxy address "http://p:3128/ x%zz": `},
	}
	for _, tt := range tests {
		u, err := ParseProxyURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("%q: %v, want error %q...", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("%q: %v, %v; want %q", tt.in, u, err, tt.want)
		}
	}
	// A bad proxy value fails JoinCluster before any request.
	_, err := JoinCluster(context.Background(), Config{URL: "http://127.0.0.1:1/x", Proxy: "%zz"}, 1, "a=http://10.0.0.1:2380")
	if err == nil || !strings.HasPrefix(err.Error(), `invalid proxy address "%zz"`) {
		t.Errorf("bad proxy: %v", err)
	}
}

// TestRequests checks the requests a member makes, in order, against the
// protocol: size, list, create with prevExist=false, watch of its own key,
// list again, and the recursive watch.
func TestRequests(t *testing.T) {
	reg := newTestRegistry(t)
	reg.set("/_etcd/registry/test/_config/size", "2")
	cfg := Config{URL: reg.url("test")}
	j := startJoin(t, cfg, "m1", "http://10.0.0.1:2380")
	waitFor(t, "m1 to wait", func() bool { return j.log.has("NOTICE found 1 peer(s), waiting for 1 more") })
	waitFor(t, "the watch", func() bool { return len(reg.requestLog()) == 7 })
	self := "/v2/keys/_etcd/registry/test/" + j.id.String()
	want := []string{
		"GET /v2/keys/_etcd/registry/test/_config/size",
		"GET /v2/keys/_etcd/registry/test",
		"PUT " + self + "?prevExist=false",
		"GET " + self + "?wait=true&waitIndex=2",
		"GET /v2/keys/_etcd/registry/test/_config/size",
		"GET /v2/keys/_etcd/registry/test",
		"GET /v2/keys/_etcd/registry/test?recursive=true&wait=true&waitIndex=3",
	}
	if got := reg.requestLog(); !slices.Equal(got, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	reg.set("/_etcd/registry/test/x", "m2=http://10.0.0.2:2380")
	if _, err := j.wait(t); err != nil {
		t.Fatal(err)
	}
}

func TestURLPathEscaping(t *testing.T) {
	reg := newTestRegistry(t)
	reg.set("/_etcd/registry/a b/_config/size", "1")
	durl := reg.srv.URL + "/v2/keys/_etcd/registry/a%20b"
	id, config := testMember(t, durl, "m1", "http://10.0.0.1:2380")
	c, err := JoinCluster(context.Background(), Config{URL: durl}, id, config)
	if err != nil || c.String() != config {
		t.Fatalf("JoinCluster: %q, %v", c, err)
	}
}

func TestSleepContext(t *testing.T) {
	if err := sleepContext(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled sleep: %v", err)
	}
}
