package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// closedURL returns an http URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// testProxy returns a proxy handler in front of upstreams (tried in the
// order given), with a clock the test moves.
type testProxy struct {
	h      *proxyHandler
	logBuf *bytes.Buffer
	stop   context.CancelFunc

	mu  sync.Mutex
	now time.Time
}

func newTestProxy(t *testing.T, upstreams ...string) *testProxy {
	t.Helper()
	log, buf := testLogger()
	tp := &testProxy{now: time.Date(2016, 6, 10, 0, 0, 0, 0, time.UTC)}
	d := newDirector(5*time.Second, log.With(pkgKey, "proxy"))
	d.now = func() time.Time { tp.mu.Lock(); defer tp.mu.Unlock(); return tp.now }
	d.shuffle = func([]*endpoint) {}
	d.set(upstreams)
	stopping, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	tp.stop = stop
	tp.h = &proxyHandler{
		director:  d,
		transport: newProxyTransport(time.Second, 0, 5*time.Second, nil),
		metrics:   newProxyMetrics(),
		log:       log.With(pkgKey, "proxy"),
		stopping:  stopping,
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("proxy log:\n%s", buf.String())
		}
	})
	tp.logBuf = buf
	return tp
}

func (tp *testProxy) advance(d time.Duration) {
	tp.mu.Lock()
	tp.now = tp.now.Add(d)
	tp.mu.Unlock()
}

// serve runs one request through the proxy.
func (tp *testProxy) serve(method, target, body string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.7:4321"
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	tp.h.ServeHTTP(w, r)
	return w
}

func TestProxyForwards(t *testing.T) {
	var got *http.Request
	var gotBody string
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("X-Etcd-Index", "7")
		w.Header().Set("Proxy-Authenticate", "Basic")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"action":"set"}`)
	}))
	defer member.Close()
	tp := newTestProxy(t, member.URL)
	w := tp.serve("PUT", "http://proxy/v2/keys/a?prevExist=false", "value=1", http.Header{
		"Content-Type":        {"application/x-www-form-urlencoded"},
		"X-Forwarded-For":     {"10.1.1.1", "10.2.2.2"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Authorization": {"Basic eA=="},
		"Te":                  {"trailers"},
		"Connection":          {"X-Secret"},
		"X-Secret":            {"for the proxy only"},
	})
	if w.Code != http.StatusCreated || w.Body.String() != `{"action":"set"}` || w.Header().Get("X-Etcd-Index") != "7" {
		t.Fatalf("answer %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	if w.Header().Get("Proxy-Authenticate") != "" || w.Header().Get("Keep-Alive") != "" {
		t.Errorf("hop-by-hop headers of the answer passed through: %v", w.Header())
	}
	if got.Method != "PUT" || got.URL.RequestURI() != "/v2/keys/a?prevExist=false" || gotBody != "value=1" {
		t.Errorf("member got %s %s %q", got.Method, got.URL.RequestURI(), gotBody)
	}
	if xff := got.Header.Get("X-Forwarded-For"); xff != "10.1.1.1, 10.2.2.2, 192.0.2.7" {
		t.Errorf("X-Forwarded-For %q", xff)
	}
	for _, h := range []string{"Keep-Alive", "Proxy-Authorization", "Te", "X-Secret"} {
		if got.Header.Get(h) != "" {
			t.Errorf("hop-by-hop header %s reached the member", h)
		}
	}
	if got.Proto != "HTTP/1.1" {
		t.Errorf("protocol %s", got.Proto)
	}
	m := tp.metrics()
	if !strings.Contains(m, `etcd_proxy_handled_total{code="201",method="PUT"} 1`) ||
		!strings.Contains(m, `etcd_proxy_handling_duration_seconds_count{method="PUT"} 1`) {
		t.Errorf("metrics:\n%s", m)
	}
}

func (tp *testProxy) metrics() string {
	return tp.serve("GET", "http://proxy/metrics", "", nil).Body.String()
}

// TestProxyFailover: a member that cannot be reached is marked failed for
// --proxy-failure-wait and the next one answers, with the same body; an
// error answer is passed through and does not count as a failure.
func TestProxyFailover(t *testing.T) {
	var bodies []string
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if r.URL.Path == "/boom" {
			http.Error(w, `{"message":"boom"}`, http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer member.Close()
	down := closedURL(t)
	tp := newTestProxy(t, down, member.URL)

	w := tp.serve("POST", "http://proxy/v2/keys/q", "value=x", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if w.Code != 200 || w.Body.String() != "ok" || !slices.Equal(bodies, []string{"value=x"}) {
		t.Fatalf("answer %d %q, member got %q", w.Code, w.Body.String(), bodies)
	}
	log := tp.logBuf.String()
	if !strings.Contains(log, "I | proxy: failed to direct request to "+down+": dial tcp ") ||
		!strings.Contains(log, "I | proxy: marked endpoint "+down+" unavailable") {
		t.Errorf("log:\n%s", log)
	}
	if eps := tp.config(t); !slices.Equal(eps, []string{member.URL}) {
		t.Errorf("endpoints while %s is marked: %q", down, eps)
	}
	tp.advance(5 * time.Second)
	if eps := tp.config(t); !slices.Equal(eps, []string{down, member.URL}) {
		t.Errorf("endpoints after the failure wait: %q", eps)
	}
	if !strings.Contains(tp.logBuf.String(), "I | proxy: marked endpoint "+down+" available, to retest connectivity") {
		t.Errorf("log:\n%s", tp.logBuf.String())
	}

	// A 500 from a member is its answer: passed through, no failover.
	w = tp.serve("GET", "http://proxy/boom", "", nil)
	if w.Code != 500 || w.Body.String() != "{\"message\":\"boom\"}\n" {
		t.Errorf("500 answer: %d %q", w.Code, w.Body.String())
	}
	if !strings.Contains(tp.metrics(), `etcd_proxy_dropped_total{method="POST",proxying_error="failed_sending_request"} 1`) {
		t.Errorf("metrics:\n%s", tp.metrics())
	}
}

func (tp *testProxy) config(t *testing.T) []string {
	t.Helper()
	w := tp.serve("GET", "http://proxy/v2/config/local/proxy", "", nil)
	var v struct{ Endpoints []string }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil {
		t.Fatalf("config: %d %q", w.Code, w.Body.String())
	}
	return v.Endpoints
}

func TestProxyErrors(t *testing.T) {
	// No endpoint at all.
	tp := newTestProxy(t)
	w := tp.serve("GET", "http://proxy/v2/keys/a", "", nil)
	if w.Code != 503 || w.Body.String() != `{"message":"proxy: zero endpoints currently available"}` || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("no endpoints: %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	if w := tp.serve("GET", "http://proxy/v2/config/local/proxy", "", nil); w.Body.String() != "{\"endpoints\":[]}\n" {
		t.Errorf("config without endpoints: %q", w.Body.String())
	}
	if !strings.Contains(tp.metrics(), `etcd_proxy_dropped_total{method="GET",proxying_error="zero_endpoints"} 1`) {
		t.Errorf("metrics:\n%s", tp.metrics())
	}

	// Every endpoint fails.
	tp = newTestProxy(t, closedURL(t), closedURL(t))
	w = tp.serve("GET", "http://proxy/v2/keys/a", "", nil)
	if w.Code != 502 || w.Body.String() != `{"message":"proxy: unable to get response from 2 endpoint(s)"}` {
		t.Errorf("all failed: %d %q", w.Code, w.Body.String())
	}
	if !strings.Contains(tp.logBuf.String(), "I | proxy: unable to get response from 2 endpoint(s)") {
		t.Errorf("log:\n%s", tp.logBuf.String())
	}
	// Both are marked now: the next request finds none.
	if w := tp.serve("GET", "http://proxy/v2/keys/a", "", nil); w.Code != 503 {
		t.Errorf("after both failed: %d", w.Code)
	}

	// Only GET on the config endpoint.
	w = tp.serve("PUT", "http://proxy/v2/config/local/proxy", "", nil)
	if w.Code != 405 || w.Header().Get("Allow") != "GET" || w.Body.String() != "Method Not Allowed\n" {
		t.Errorf("PUT config: %d %q %v", w.Code, w.Body.String(), w.Header())
	}
}

func TestProxyReadonly(t *testing.T) {
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Method)
	}))
	defer member.Close()
	tp := newTestProxy(t, member.URL)
	tp.h.readonly = true
	for _, m := range []string{"PUT", "POST", "DELETE", "HEAD", "OPTIONS"} {
		w := tp.serve(m, "http://proxy/v2/keys/a", "value=1", nil)
		if w.Code != http.StatusNotImplemented || w.Body.Len() != 0 {
			t.Errorf("%s: %d %q", m, w.Code, w.Body.String())
		}
	}
	if w := tp.serve("GET", "http://proxy/v2/keys/a", "", nil); w.Code != 200 || w.Body.String() != "GET" {
		t.Errorf("GET: %d %q", w.Code, w.Body.String())
	}
	if w := tp.serve("GET", "http://proxy/metrics", "", nil); w.Code != 200 || !strings.Contains(w.Body.String(), "etcd_proxy_handled_total") {
		t.Errorf("metrics: %d", w.Code)
	}
}

func TestProxyCORS(t *testing.T) {
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "http://member-says")
		fmt.Fprint(w, "ok")
	}))
	defer member.Close()
	tp := newTestProxy(t, member.URL)
	tp.h.cors = corsOrigins{"http://app.example"}
	w := tp.serve("OPTIONS", "http://proxy/v2/keys/a", "", http.Header{"Origin": {"http://app.example"}})
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "http://app.example" ||
		w.Header().Get("Access-Control-Allow-Methods") != "POST, GET, OPTIONS, PUT, DELETE" {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}
	w = tp.serve("GET", "http://proxy/v2/keys/a", "", http.Header{"Origin": {"http://app.example"}})
	if w.Body.String() != "ok" || w.Header().Values("Access-Control-Allow-Origin")[0] != "http://app.example" || len(w.Header().Values("Access-Control-Allow-Origin")) != 1 {
		t.Errorf("GET: %q %v", w.Body.String(), w.Header())
	}
	w = tp.serve("GET", "http://proxy/v2/keys/a", "", http.Header{"Origin": {"http://other.example"}})
	if w.Header().Get("Access-Control-Allow-Origin") != "http://member-says" {
		t.Errorf("origin not allowed by the proxy: %v", w.Header())
	}
}

// TestProxyStreams: a watch's events reach the client as the member sends
// them, and the member's request ends when the client leaves.
func TestProxyStreams(t *testing.T) {
	next := make(chan string)
	memberDone := make(chan struct{})
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(memberDone)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for {
			select {
			case s := <-next:
				io.WriteString(w, s)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer member.Close()
	tp := newTestProxy(t, member.URL)
	proxy := httptest.NewServer(tp.h)
	defer proxy.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", proxy.URL+"/v2/keys/a?wait=true&stream=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for _, ev := range []string{"event 1\n", "event 2\n"} {
		next <- ev
		line, err := rd.ReadString('\n')
		if err != nil || line != ev {
			t.Fatalf("read %q, %v; want %q", line, err, ev)
		}
	}
	cancel()
	select {
	case <-memberDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the member's request did not end when the client left")
	}
}

// TestProxyStopEndsStreams: stopping the proxy ends the requests in flight.
func TestProxyStopEndsStreams(t *testing.T) {
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer member.Close()
	tp := newTestProxy(t, member.URL)
	proxy := httptest.NewServer(tp.h)
	defer proxy.Close()
	resp, err := http.Get(proxy.URL + "/v2/keys/a?wait=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tp.stop()
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("the stream did not end cleanly: %v", err)
	}
}

// TestProxyReadTimeout: a member that does not answer within
// --proxy-read-timeout counts as failed.
func TestProxyReadTimeout(t *testing.T) {
	release := make(chan struct{})
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer member.Close()
	defer close(release) // before Close, which waits for the handler
	tp := newTestProxy(t, member.URL)
	tp.h.transport = newProxyTransport(time.Second, 50*time.Millisecond, time.Second, nil)
	w := tp.serve("GET", "http://proxy/v2/keys/a", "", nil)
	if w.Code != 502 || !strings.Contains(tp.logBuf.String(), "i/o timeout") {
		t.Errorf("answer %d; log:\n%s", w.Code, tp.logBuf.String())
	}
}

func TestDirectorKeepsFailuresAcrossRefresh(t *testing.T) {
	log, buf := testLogger()
	d := newDirector(time.Minute, log.With(pkgKey, "proxy"))
	now := time.Unix(1000, 0)
	d.now = func() time.Time { return now }
	d.shuffle = func([]*endpoint) {}
	d.set([]string{"http://a:1", "http://b:1", "::bad"})
	a, _ := url.Parse("http://a:1")
	d.failed(*a)
	d.failed(*a) // already marked: no second line
	d.set([]string{"http://b:1", "http://a:1", "http://c:1"})
	if got := d.available(); len(got) != 2 || got[0].String() != "http://b:1" || got[1].String() != "http://c:1" {
		t.Errorf("available %v", got)
	}
	want := withStampsJoined(
		`W | proxy: upstream URL invalid: "::bad"`,
		`I | proxy: endpoints found ["http://a:1" "http://b:1"]`,
		`I | proxy: marked endpoint http://a:1 unavailable`,
	)
	if buf.String() != want {
		t.Errorf("log:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// fakePeers serves the peer endpoint /members with the members given.
func fakePeers(t *testing.T, members *[]peerMemberJSON) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/members" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Etcd-Cluster-ID", "7e27652122e8b2ae")
		json.NewEncoder(w).Encode(*members)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProxyClusterRefresh(t *testing.T) {
	var members []peerMemberJSON
	peers := fakePeers(t, &members)
	down := closedURL(t)
	members = []peerMemberJSON{
		{ID: 1, Name: "a", PeerURLs: []string{peers.URL}, ClientURLs: []string{"http://10.0.0.1:2379", "http://10.0.0.1:4001"}},
		{ID: 2, Name: "b", PeerURLs: []string{"http://10.0.0.2:2380"}, ClientURLs: []string{"http://10.0.0.2:2379"}},
		{ID: 3, PeerURLs: []string{"http://10.0.0.3:2380"}}, // not started yet
	}
	dir := t.TempDir()
	log, buf := testLogger()
	pc := &proxyCluster{peerURLs: []string{down, peers.URL}, file: filepath.Join(dir, "cluster"), log: log, serverLog: log.With(pkgKey, "etcdserver")}

	got := pc.refresh(context.Background())
	if want := []string{"http://10.0.0.1:2379", "http://10.0.0.1:4001", "http://10.0.0.2:2379"}; !slices.Equal(got, want) {
		t.Errorf("client URLs %q, want %q", got, want)
	}
	wantPeers := []string{"http://10.0.0.2:2380", "http://10.0.0.3:2380", peers.URL}
	slices.Sort(wantPeers)
	b, err := os.ReadFile(pc.file)
	if wantFile, _ := json.Marshal(clusterFile{wantPeers}); err != nil || string(b) != string(wantFile) {
		t.Errorf("cluster file %q, %v; want %q", b, err, wantFile)
	}
	if fi, err := os.Stat(pc.file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cluster file mode: %v, %v", fi, err)
	}
	if _, err := os.Stat(pc.file + ".bak"); err == nil {
		t.Error("cluster.bak left behind")
	}
	if !slices.Equal(pc.peerURLs, wantPeers) {
		t.Errorf("peer URLs now %q", pc.peerURLs)
	}
	log1 := buf.String()
	if !strings.Contains(log1, "W | etcdserver: could not get cluster response from "+down+": ") ||
		!strings.Contains(log1, fmt.Sprintf("N | etcdmain: proxy: updated peer urls in cluster file from [%s %s] to %v", down, peers.URL, wantPeers)) {
		t.Errorf("log:\n%s", log1)
	}

	// An empty membership keeps the last endpoints.
	members = nil
	if got := pc.refresh(context.Background()); len(got) != 3 {
		t.Errorf("empty membership: %q", got)
	}

	// No peer answers: no endpoints until the next refresh.
	peers.Close()
	pc.peerURLs = []string{peers.URL}
	if got := pc.refresh(context.Background()); got != nil {
		t.Errorf("no answer: %q", got)
	}
	if !strings.Contains(buf.String(), "W | etcdmain: proxy: could not retrieve cluster information from the given urls") {
		t.Errorf("log:\n%s", buf.String())
	}
}

// TestRefreshLoop: the loop refreshes every interval, and every second
// while no endpoint is available when the interval is 30 s or more.
func TestRefreshLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, _ := testLogger()
		d := newDirector(time.Second, log)
		var calls []time.Duration
		start := time.Now()
		answer := []string(nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			refreshLoop(ctx, 30*time.Second, d, func(context.Context) []string {
				calls = append(calls, time.Since(start))
				if len(calls) == 3 {
					answer = []string{"http://a:1"}
				}
				return answer
			})
		}()
		time.Sleep(95 * time.Second)
		cancel()
		<-done
		want := []time.Duration{1 * time.Second, 2 * time.Second, 3 * time.Second, 33 * time.Second, 63 * time.Second, 93 * time.Second}
		if !slices.Equal(calls, want) {
			t.Errorf("refreshes at %v, want %v", calls, want)
		}
	})
}

func TestChooseRole(t *testing.T) {
	tests := []struct {
		name    string
		entries []string // made in the data dir
		args    []string
		want    role
		log     string
	}{
		{name: "missing dir", want: roleMember},
		{name: "missing dir, --proxy on", args: []string{"--proxy", "on"}, want: roleProxy},
		{name: "member data wins over --proxy", entries: []string{"member"}, args: []string{"--proxy", "on"}, want: roleMember},
		{name: "proxy data wins over the flags", entries: []string{"proxy"}, want: roleProxy,
			log: "N | etcdmain: the server is already initialized as proxy before, starting as etcd proxy...\n"},
		{name: "other entries are warned about", entries: []string{"junk"}, want: roleMember,
			log: "W | etcdmain: found invalid file/dir junk under data dir %s (Ignore this if you are upgrading etcd)\n"},
		{name: "both", entries: []string{"member", "proxy"}, log: "C | etcdmain: invalid datadir. Both member and proxy directories exist.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d.etcd")
			for _, e := range tt.entries {
				if err := os.MkdirAll(filepath.Join(dir, e), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			c := mustParse(t, append([]string{"--data-dir", dir}, tt.args...))
			log, buf := testLogger()
			r, err := chooseRole(c, log)
			if err != nil {
				buf.WriteString(startupLog(err)[len(stamp):])
			} else if r != tt.want {
				t.Errorf("role %v, want %v", r, tt.want)
			}
			got := strings.ReplaceAll(buf.String(), stamp, "")
			if want := strings.ReplaceAll(tt.log, "%s", dir); got != want {
				t.Errorf("log %q, want %q", got, want)
			}
		})
	}
}

func TestProxyPeerURLs(t *testing.T) {
	dir := t.TempDir()
	c := mustParse(t, []string{"--proxy", "on", "--data-dir", dir, "--initial-cluster", "a=http://10.0.0.2:2380,b=http://10.0.0.1:2380,b=http://10.0.0.1:7001"})
	log, buf := testLogger()
	urls, err := proxyPeerURLs(context.Background(), c, nil, log)
	if want := []string{"http://10.0.0.1:2380", "http://10.0.0.1:7001", "http://10.0.0.2:2380"}; err != nil || !slices.Equal(urls, want) {
		t.Errorf("from --initial-cluster: %q, %v", urls, err)
	}
	if got := buf.String(); got != withStampsJoined("I | etcdmain: proxy: using peer urls [http://10.0.0.1:2380 http://10.0.0.1:7001 http://10.0.0.2:2380]") {
		t.Errorf("log %q", got)
	}

	// A cluster file wins, and the discovery flags are ignored.
	if err := os.MkdirAll(c.proxyDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeClusterFile(c.proxyClusterFile(), []string{"http://10.9.9.9:2380"}); err != nil {
		t.Fatal(err)
	}
	c = mustParse(t, []string{"--proxy", "on", "--data-dir", dir, "--discovery", "http://127.0.0.1:1/v2/keys/x"})
	log, buf = testLogger()
	urls, err = proxyPeerURLs(context.Background(), c, nil, log)
	if err != nil || !slices.Equal(urls, []string{"http://10.9.9.9:2380"}) {
		t.Errorf("from the cluster file: %q, %v", urls, err)
	}
	file := c.proxyClusterFile()
	if got, want := buf.String(), withStampsJoined(
		fmt.Sprintf(`W | etcdmain: discovery token ignored since the proxy has already been initialized. Valid cluster file found at %q`, file),
		fmt.Sprintf(`I | etcdmain: proxy: using peer urls [http://10.9.9.9:2380] from cluster file %q`, file),
	); got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}

	// A damaged cluster file is an error, not a guess.
	os.WriteFile(file, []byte("{not json"), 0o600)
	if _, err := proxyPeerURLs(context.Background(), c, nil, log); err == nil || !strings.Contains(err.Error(), "cannot read the cluster file") {
		t.Errorf("damaged file: %v", err)
	}
}

func TestMinLevelHandler(t *testing.T) {
	log, buf := testLogger()
	warnOnly := slog.New(minLevelHandler{log.Handler(), levelWarning}).With(pkgKey, "proxy").WithGroup("g")
	warnOnly.Info("dropped")
	warnOnly.Warn("kept")
	if got, want := buf.String(), withStampsJoined("W | proxy: kept"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// BenchmarkProxy compares a small GET answered by a member directly with
// the same GET through the proxy (both over loopback HTTP).
func BenchmarkProxy(b *testing.B) {
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"action":"get","node":{"key":"/k","value":"v","modifiedIndex":4,"createdIndex":4}}`)
	}))
	defer member.Close()
	log, _ := testLogger()
	d := newDirector(5*time.Second, log)
	d.set([]string{member.URL})
	stopping, stop := context.WithCancel(context.Background())
	defer stop()
	h := &proxyHandler{director: d, transport: newProxyTransport(time.Second, 0, 5*time.Second, nil),
		metrics: newProxyMetrics(), log: log, stopping: stopping}
	proxy := httptest.NewServer(h)
	defer proxy.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for _, target := range []struct{ name, url string }{{"direct", member.URL}, {"proxied", proxy.URL}} {
		b.Run(target.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := client.Get(target.url + "/v2/keys/k")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
