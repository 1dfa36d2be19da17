package httpd

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"v2etcd/kv"
)

// keysAllow is the Allow header of a 405 on /v2/keys.
const keysAllow = "HEAD,GET,PUT,POST,DELETE"

// serveKeys answers /v2/keys/<key>: it validates the parameters, then picks
// the operation as spec v2-api §3.5 says: a watch, a local or quorum read,
// or a write proposed through raft.
func (h *handler) serveKeys(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete:
	default:
		methodNotAllowed(w, keysAllow)
		return
	}
	start := h.now()
	h.received.With(r.Method).Inc()
	p, perr := parseKeysRequest(r, start)
	if perr != nil {
		h.writeKeysError(w, r, kv.NewError(perr.code, perr.cause, 0), start)
		return
	}
	switch {
	case r.Method == http.MethodGet && p.quorum:
		if err := h.s.LinearizableRead(r.Context()); err != nil {
			h.writeKeysError(w, r, err, start)
			return
		}
		h.serveGet(w, r, p, start)
	case r.Method == http.MethodGet && p.wait:
		h.serveWatch(w, r, p)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		h.serveGet(w, r, p, start)
	default:
		h.serveWrite(w, r, p, start)
	}
}

// serveGet answers a read from the local store, rendered straight into the
// response buffer.
func (h *handler) serveGet(w http.ResponseWriter, r *http.Request, p *keysParams, start time.Time) {
	bp := getBuf()
	defer putBuf(bp)
	b, index, err := h.s.Store().AppendGet(*bp, p.path, p.recurse, p.sorted, start)
	if err != nil {
		h.writeKeysError(w, r, err, start)
		return
	}
	*bp = append(b, '\n')
	h.writeKeysBody(w, r, http.StatusOK, index, *bp)
	h.observe(r.Method, http.StatusOK, start)
}

// serveWrite proposes the request through raft and answers with the event
// applying it made on this member.
func (h *handler) serveWrite(w http.ResponseWriter, r *http.Request, p *keysParams, start time.Time) {
	req := p.request(start)
	ev, err := h.s.Do(r.Context(), req)
	if err != nil {
		h.writeKeysError(w, r, err, start)
		return
	}
	status := http.StatusOK
	if ev.IsCreated() {
		status = http.StatusCreated
	}
	bp := getBuf()
	defer putBuf(bp)
	*bp = append(ev.AppendJSON(*bp, h.now()), '\n')
	h.writeKeysBody(w, r, status, ev.EtcdIndex, *bp)
	h.observe(r.Method, status, start)
}

// request turns validated parameters into the replicated request.
func (p *keysParams) request(now time.Time) *kv.Request {
	method := kv.MethodPut
	switch p.method {
	case http.MethodPost:
		method = kv.MethodPost
	case http.MethodDelete:
		method = kv.MethodDelete
	}
	req := &kv.Request{
		Method:    method,
		Path:      p.path,
		Val:       p.value,
		Dir:       p.dir,
		PrevValue: p.prevValue,
		PrevIndex: p.prevIndex,
		Recursive: p.recurse,
		Sorted:    p.sorted,
		Refresh:   p.refresh,
		Time:      now.UnixNano(),
	}
	if p.prevExist != nil {
		req.PrevExist = kv.PrevExistFalse
		if *p.prevExist {
			req.PrevExist = kv.PrevExistTrue
		}
	}
	if p.hasTTL {
		req.Expiration = p.expiration.UnixNano()
	}
	return req
}

// serveWatch answers GET ?wait=true: the headers go out at once (so the
// answer is chunked), then one event, or every event with stream=true,
// until the client leaves, the watcher is dropped or the server stops.
func (h *handler) serveWatch(w http.ResponseWriter, r *http.Request, p *keysParams) {
	wt, err := h.s.Store().Watch(p.path, p.recurse, p.stream, p.waitIndex)
	if err != nil {
		h.writeKeysError(w, r, err, h.now())
		return
	}
	defer wt.Remove()
	h.raftHeaders(w, wt.StartIndex())
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	var buf []byte
	for {
		select {
		case ev, ok := <-wt.EventChan():
			if !ok {
				return
			}
			buf = append(ev.AppendJSON(buf[:0], h.now()), '\n')
			if _, err := w.Write(buf); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
			if !p.stream {
				return
			}
		case <-r.Context().Done():
			return
		case <-h.s.Stopping():
			return
		}
	}
}

// raftHeaders sets the headers of a successful key-space answer.
func (h *handler) raftHeaders(w http.ResponseWriter, etcdIndex uint64) {
	hdr := w.Header()
	hdr["Content-Type"] = jsonContentType
	h.clusterIDHeader(w)
	applied, term := h.s.RaftStatus()
	hdr["X-Etcd-Index"] = []string{strconv.FormatUint(etcdIndex, 10)}
	hdr["X-Raft-Index"] = []string{strconv.FormatUint(applied, 10)}
	hdr["X-Raft-Term"] = []string{strconv.FormatUint(term, 10)}
}

// writeKeysBody writes a complete key-space answer; HEAD gets the headers only.
func (h *handler) writeKeysBody(w http.ResponseWriter, r *http.Request, status int, etcdIndex uint64, body []byte) {
	h.raftHeaders(w, etcdIndex)
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// writeKeysError answers with a key-space error: a *kv.Error as it is, any
// other error as 300 "Raft Internal Error" with the error's text as cause
// (spec v2-api §2.6). Error answers carry X-Etcd-Index but no raft headers.
func (h *handler) writeKeysError(w http.ResponseWriter, r *http.Request, err error, start time.Time) {
	var kerr *kv.Error
	if !errors.As(err, &kerr) {
		kerr = kv.NewError(kv.EcodeRaftInternal, err.Error(), 0)
	}
	bp := getBuf()
	defer putBuf(bp)
	*bp = append(kerr.AppendJSON(*bp), '\n')
	hdr := w.Header()
	hdr["Content-Type"] = jsonContentType
	h.clusterIDHeader(w)
	hdr["X-Etcd-Index"] = []string{strconv.FormatUint(kerr.Index, 10)}
	hdr["Content-Length"] = []string{strconv.Itoa(len(*bp))}
	status := kerr.StatusCode()
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(*bp)
	}
	h.observe(r.Method, status, start)
}
