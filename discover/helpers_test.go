package discover

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"v2etcd/httpd"
	"v2etcd/kv"
	"v2etcd/peer"
)

// testRegistry is a discovery registry for tests: the project's own v2
// client API (httpd) over a kv.Store, on a loopback httptest server. The
// store is changed directly, as a registry's users would through its API;
// intercept, when set, answers a request instead of the registry.
type testRegistry struct {
	t     *testing.T
	srv   *httptest.Server
	store *kv.Store
	stop  chan struct{}

	mu        sync.Mutex
	intercept func(w http.ResponseWriter, r *http.Request) bool
	requests  []string // "METHOD path?query" of every request, in order
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	reg := &testRegistry{t: t, store: kv.New(), stop: make(chan struct{})}
	h := httpd.NewHandler(httpd.Config{Server: registryServer{reg}, ServerVersion: "2.3.8"})
	reg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.mu.Lock()
		reg.requests = append(reg.requests, r.Method+" "+r.URL.RequestURI())
		intercept := reg.intercept
		reg.mu.Unlock()
		if intercept != nil && intercept(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(reg.stop) // ends open watches
		reg.srv.Close()
	})
	return reg
}

// url returns the discovery URL of token on this registry.
func (reg *testRegistry) url(token string) string {
	return reg.srv.URL + "/v2/keys/_etcd/registry/" + token
}

// set writes key (below /v2/keys) to value.
func (reg *testRegistry) set(key, value string) {
	reg.t.Helper()
	if _, err := reg.store.Apply(&kv.Request{Method: kv.MethodPut, Path: "/1" + key, Val: value}); err != nil {
		reg.t.Fatal(err)
	}
}

// register writes a member registration, as JoinCluster would.
func (reg *testRegistry) register(token string, id peer.ID, config string) {
	reg.t.Helper()
	reg.set("/_etcd/registry/"+token+"/"+id.String(), config)
}

// has reports whether key (below /v2/keys) exists.
func (reg *testRegistry) has(key string) bool {
	_, err := reg.store.Get("/1"+key, false, false)
	return err == nil
}

// children returns the names in a registry directory.
func (reg *testRegistry) children(dir string) []string {
	e, err := reg.store.Get("/1"+dir, false, true)
	if err != nil {
		return nil
	}
	var names []string
	for _, n := range e.Node.Nodes {
		names = append(names, n.Key[strings.LastIndex(n.Key, "/")+1:])
	}
	return names
}

func (reg *testRegistry) setIntercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	reg.mu.Lock()
	reg.intercept = f
	reg.mu.Unlock()
}

func (reg *testRegistry) requestLog() []string {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return append([]string(nil), reg.requests...)
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// registryServer is the httpd.Server of a testRegistry: every request is
// applied to the store at once, as a one-member cluster would.
type registryServer struct{ reg *testRegistry }

func (s registryServer) Do(_ context.Context, r *kv.Request) (*kv.Event, error) {
	return s.reg.store.Apply(r)
}
func (s registryServer) LinearizableRead(context.Context) error { return nil }
func (s registryServer) Store() *kv.Store                       { return s.reg.store }
func (s registryServer) ID() peer.ID                            { return 1 }
func (s registryServer) ClusterID() peer.ID                     { return 2 }
func (s registryServer) Leader() peer.ID                        { return 1 }
func (s registryServer) RaftStatus() (uint64, uint64)           { return s.reg.store.Index(), 1 }
func (s registryServer) Members() []*peer.Member                { return nil }
func (s registryServer) ClusterVersion() string                 { return "2.3.0" }
func (s registryServer) SelfStats() []byte                      { return []byte("{}") }
func (s registryServer) LeaderStats() ([]byte, bool)            { return nil, false }
func (s registryServer) Stopping() <-chan struct{}              { return s.reg.stop }
func (s registryServer) AddMember(context.Context, peer.URLs) (*peer.Member, error) {
	return nil, httpd.ErrIDExists
}
func (s registryServer) RemoveMember(context.Context, peer.ID) error { return httpd.ErrMemberNotFound }
func (s registryServer) UpdateMember(context.Context, peer.ID, peer.URLs) error {
	return httpd.ErrMemberNotFound
}

// logBuffer collects log lines as "LEVEL message", one per line.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(&logBufferHandler{l}) }

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// has reports whether a line equal to line was logged.
func (l *logBuffer) has(line string) bool {
	for got := range strings.SplitSeq(l.String(), "\n") {
		if got == line {
			return true
		}
	}
	return false
}

type logBufferHandler struct{ l *logBuffer }

func (h *logBufferHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *logBufferHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logBufferHandler) WithGroup(string) slog.Handler            { return h }
func (h *logBufferHandler) Handle(_ context.Context, r slog.Record) error {
	level := r.Level.String()
	if r.Level == LevelNotice {
		level = "NOTICE"
	}
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	fmt.Fprintf(&h.l.b, "%s %s\n", level, r.Message)
	return nil
}
