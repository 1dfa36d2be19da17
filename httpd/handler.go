package httpd

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"path"
	"slices"
	"strconv"
	"sync"
	"time"

	"v2etcd/kv"
	"v2etcd/peer"
)

// Server is what the handlers need from the member they serve. The etcd
// binary implements it; tests use a fake.
type Server interface {
	// Do proposes a write (or any replicated request) through raft and
	// returns the result of applying it on this member. A store error is a
	// *kv.Error; any other error (a timeout, a stopped server) is shown to
	// the client as error 300 with the error's text as the cause.
	Do(ctx context.Context, r *kv.Request) (*kv.Event, error)
	// LinearizableRead returns once this member's store reflects every
	// write that committed before the call (a quorum read barrier).
	LinearizableRead(ctx context.Context) error
	// Store is this member's key space, for local reads and watches.
	Store() *kv.Store
	ID() peer.ID
	ClusterID() peer.ID
	// Leader is the leader this member knows of, 0 during an election.
	Leader() peer.ID
	// RaftStatus is the last applied raft index and the current term, for
	// the X-Raft-Index and X-Raft-Term headers.
	RaftStatus() (appliedIndex, term uint64)
	// Members returns the cluster's members sorted by ID.
	Members() []*peer.Member
	// ClusterVersion is the agreed cluster version ("2.3.0"), or "" while
	// it is not decided.
	ClusterVersion() string
	// SelfStats and LeaderStats are the bodies of /v2/stats/self and
	// /v2/stats/leader; LeaderStats reports false on a member that is not
	// the leader.
	SelfStats() []byte
	LeaderStats() ([]byte, bool)
	// AddMember, RemoveMember and UpdateMember change the membership through
	// raft. Their errors wrap ErrMemberNotFound, ErrMemberRemoved,
	// ErrIDExists or ErrPeerURLExists where those apply.
	AddMember(ctx context.Context, peerURLs peer.URLs) (*peer.Member, error)
	RemoveMember(ctx context.Context, id peer.ID) error
	UpdateMember(ctx context.Context, id peer.ID, peerURLs peer.URLs) error
	// Stopping is closed when the server begins to stop: open watches end.
	Stopping() <-chan struct{}
}

// Errors a Server wraps so the members API can answer with etcd's statuses.
var (
	ErrMemberNotFound = errors.New("etcdserver: member not found")
	ErrMemberRemoved  = errors.New("etcdserver: member permanently removed")
	ErrIDExists       = errors.New("etcdserver: ID exists")
	ErrPeerURLExists  = errors.New("etcdserver: peerURL exists")
)

// Config configures NewHandler.
type Config struct {
	Server Server
	// ServerVersion is what /version reports as "etcdserver".
	ServerVersion string
	// CORS lists the origins allowed by --cors; "*" allows any.
	CORS []string
	// Metrics is the registry /metrics writes; the handler registers its
	// own request metrics in it. Nil means a private registry.
	Metrics *Registry
	// SetLogLevel serves PUT /config/local/log; nil answers 404 there.
	SetLogLevel func(level string) error
	// EnablePprof serves /debug/pprof/ (--enable-pprof).
	EnablePprof bool
	// DebugVars returns the server's own variables for /debug/vars (shown
	// beside cmdline and memstats, as Go's expvar shows them); nil for none.
	DebugVars func() map[string]any
	Logger    *slog.Logger
	// Now is the clock for TTLs and ttl fields; nil means time.Now.
	Now func() time.Time
}

type handler struct {
	s        Server
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	metrics  *Registry
	received *CounterVec
	failed   *CounterVec
	latency  *HistogramVec
}

// NewHandler returns the client API of a member: every endpoint of spec
// v2-api §1 except /v2/auth, behind the CORS wrapper.
func NewHandler(cfg Config) http.Handler {
	h := &handler{s: cfg.Server, cfg: cfg, now: cfg.Now, log: cfg.Logger, metrics: cfg.Metrics}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.metrics == nil {
		h.metrics = NewRegistry()
	}
	h.received = h.metrics.NewCounter("etcd_http_received_total",
		"Client requests received, by method.", "method")
	h.failed = h.metrics.NewCounter("etcd_http_failed_total",
		"Client requests that failed, by HTTP status and method.", "code", "method")
	h.latency = h.metrics.NewHistogram("etcd_http_successful_duration_seconds",
		"Time to answer successful client requests other than watches, by method.",
		ExponentialBuckets(0.0005, 2, 13), "method")

	// http.ServeMux answers 301 for paths holding //, /./ or /../ (with the
	// cleaned path as Location) and 404 "404 page not found" for unknown
	// paths, as etcd's mux does. Methods are checked by each handler, so
	// that 405 answers carry etcd's Allow lists.
	mux := http.NewServeMux()
	mux.HandleFunc(keysPrefix, h.serveKeys)
	mux.HandleFunc(keysPrefix+"/", h.serveKeys)
	mux.HandleFunc("/v2/members", h.serveMembers)
	mux.HandleFunc("/v2/members/", h.serveMembers)
	mux.HandleFunc("/v2/stats/self", h.serveSelfStats)
	mux.HandleFunc("/v2/stats/leader", h.serveLeaderStats)
	mux.HandleFunc("/v2/stats/store", h.serveStoreStats)
	mux.HandleFunc("/v2/machines", h.serveMachines)
	mux.HandleFunc("/version", h.serveVersion)
	mux.HandleFunc("/health", h.serveHealth)
	mux.HandleFunc("/metrics", h.serveMetrics)
	mux.HandleFunc("/debug/vars", h.serveDebugVars)
	if cfg.SetLogLevel != nil {
		mux.HandleFunc("/config/local/log", h.serveLogLevel)
	}
	if cfg.EnablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return &corsHandler{next: mux, origins: cfg.CORS}
}

// corsHandler answers every OPTIONS request with an empty 200 and, when the
// request's Origin is allowed by --cors, adds the CORS headers to every
// answer (spec v2-api §2.3).
type corsHandler struct {
	next    http.Handler
	origins []string
}

func (c *corsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	CORS(w, r, c.origins)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusOK)
		return
	}
	// A path holding //, /./ or /../ is redirected to its clean form with
	// 301, as etcd's mux does (Go's current ServeMux would answer 307).
	if clean := cleanPath(r.URL.Path); clean != r.URL.Path {
		u := *r.URL
		u.Path, u.RawPath = clean, ""
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
		return
	}
	c.next.ServeHTTP(w, r)
}

// cleanPath is path.Clean that keeps a trailing slash, as ServeMux cleans.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// CORS adds the CORS headers to w when r's Origin is one of origins (the
// --cors list; "*" allows any): the client API answers with them, and so
// does the proxy.
func CORS(w http.ResponseWriter, r *http.Request, origins []string) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	switch {
	case slices.Contains(origins, "*"):
		h.Set("Access-Control-Allow-Origin", "*")
	case slices.Contains(origins, origin):
		h.Set("Access-Control-Allow-Origin", origin)
	default:
		return
	}
	h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE")
	h.Set("Access-Control-Allow-Headers", "accept, content-type, authorization")
}

// bufPool recycles response buffers: a key-space answer is rendered into one,
// then written with its Content-Length in a single write.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 { // don't keep the buffer of a huge listing around
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// Header values used on every answer, shared (net/http never changes them).
var (
	jsonContentType = []string{"application/json"}
	textContentType = []string{"text/plain; charset=utf-8"}
)

func (h *handler) clusterIDHeader(w http.ResponseWriter) {
	w.Header()["X-Etcd-Cluster-Id"] = []string{h.s.ClusterID().String()}
}

// methodNotAllowed answers 405 with etcd's Allow list (none when allow is "").
func methodNotAllowed(w http.ResponseWriter, allow string) {
	if allow != "" {
		w.Header().Set("Allow", allow)
	}
	http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
}

// writeJSON writes a complete JSON body with its status.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}

// writeMessage writes {"message":"..."}, the error body of every API but
// the key space (no trailing newline: etcd marshals these, it does not
// stream them).
func writeMessage(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	writeJSON(w, status, b)
}

// observe records one finished request in the metrics.
func (h *handler) observe(method string, status int, start time.Time) {
	if status >= 400 {
		h.failed.With(strconv.Itoa(status), method).Inc()
		return
	}
	h.latency.With(method).Observe(time.Since(start).Seconds())
}
