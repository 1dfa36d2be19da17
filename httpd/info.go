package httpd

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"time"
)

// healthTimeout bounds the quorum read /health makes.
const healthTimeout = time.Second

// allowGet answers 405 unless the method is GET.
func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return false
	}
	return true
}

// serveVersion answers {"etcdserver":"2.3.8","etcdcluster":"2.3.0"}, with
// "not_decided" until the cluster has agreed on a version.
func (h *handler) serveVersion(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	cv := h.s.ClusterVersion()
	if cv == "" {
		cv = "not_decided"
	}
	b, _ := json.Marshal(struct {
		Server  string `json:"etcdserver"`
		Cluster string `json:"etcdcluster"`
	}{h.cfg.ServerVersion, cv})
	writeJSON(w, http.StatusOK, b)
}

// serveHealth answers {"health": "true"} when this member knows a leader and
// a quorum read through it succeeds within a second, as etcd 3.1 checks; the
// answer's format is etcd 2.3's (a string, with a space, plain text; 503 and
// a trailing newline when unhealthy).
func (h *handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	healthy := h.s.Leader() != 0
	if healthy {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		healthy = h.s.LinearizableRead(ctx) == nil
		cancel()
	}
	if !healthy {
		http.Error(w, `{"health": "false"}`, http.StatusServiceUnavailable)
		return
	}
	w.Header()["Content-Type"] = textContentType
	io.WriteString(w, `{"health": "true"}`)
}

func (h *handler) serveSelfStats(w http.ResponseWriter, r *http.Request) {
	if allowGet(w, r) {
		writeJSON(w, http.StatusOK, h.s.SelfStats())
	}
}

func (h *handler) serveLeaderStats(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	b, ok := h.s.LeaderStats()
	if !ok {
		writeMessage(w, http.StatusForbidden, "not current leader")
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (h *handler) serveStoreStats(w http.ResponseWriter, r *http.Request) {
	if allowGet(w, r) {
		st := h.s.Store().Stats()
		writeJSON(w, http.StatusOK, st.AppendJSON(nil))
	}
}

func (h *handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.metrics.WriteTo(w)
}

// serveLogLevel answers PUT /config/local/log with {"Level":"DEBUG"}: it
// changes this member's log level at once (204), as etcd 2.3 to 3.4 do.
func (h *handler) serveLogLevel(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		methodNotAllowed(w, "PUT")
		return
	}
	var req struct{ Level string }
	if err := json.NewDecoder(io.LimitReader(r.Body, maxMemberBody)).Decode(&req); err != nil {
		writeMessage(w, http.StatusBadRequest, "Invalid JSON in request body.")
		return
	}
	if err := h.cfg.SetLogLevel(req.Level); err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveDebugVars answers /debug/vars as Go's expvar handler does: a JSON
// object of variables sorted by name, with cmdline and memstats, plus the
// server's own (store index and hash, raft indexes), which tests use to
// compare members.
func (h *handler) serveDebugVars(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	vars := map[string]any{"cmdline": os.Args}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	vars["memstats"] = ms
	if h.cfg.DebugVars != nil {
		for k, v := range h.cfg.DebugVars() {
			vars[k] = v
		}
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.Sort(names)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	io.WriteString(w, "{\n")
	for i, k := range names {
		b, err := json.Marshal(vars[k])
		if err != nil {
			b = []byte(`null`)
		}
		kb, _ := json.Marshal(k)
		sep := ",\n"
		if i == len(names)-1 {
			sep = "\n"
		}
		w.Write(kb)
		io.WriteString(w, ": ")
		w.Write(b)
		io.WriteString(w, sep)
	}
	io.WriteString(w, "}\n")
}
