package peer

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	"v2etcd/raft"
)

// Handler returns the handler of the raft endpoints: /raft (pipeline),
// /raft/stream/msgapp/<id> and /raft/stream/message/<id> (streams),
// /raft/snapshot and /raft/probing. The server mounts it for the patterns
// "/raft" and "/raft/" on its peer mux, beside /members and /version.
//
// Stream and snapshot requests last long: their handlers set their own
// read and write deadlines on the connection, so the peer server should
// not set ReadTimeout or WriteTimeout (ReadHeaderTimeout is fine).
func (t *Transport) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/raft", t.servePipeline)
	mux.HandleFunc("/raft/stream/", t.serveStream)
	mux.HandleFunc("/raft/snapshot", t.serveSnapshot)
	mux.HandleFunc("/raft/probing", serveProbing)
	return mux
}

// Answers to refused stream requests (spec: clustering §9.3).
const (
	bodyInvalidPath    = "invalid path"
	bodyInvalidFrom    = "invalid from"
	bodyRemovedMember  = "removed member"
	bodySenderNotFound = "error sender not found"
	bodyToMismatch     = "to field mismatch"
	bodyStopped        = "transport stopped"
)

// maxPipelineBody bounds a pipeline request: senders stop adding frames
// past 1 MiB, so this leaves room for the largest single frame.
const maxPipelineBody = maxFrameSize + binary.MaxVarintLen64

// removedJSON is the 403 body for a removed sender on the pipeline and the
// snapshot endpoint.
const removedJSON = `{"message":"cannot process message from removed member"}`

func writeRemoved(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	io.WriteString(w, removedJSON)
}

// serveStream answers a peer that dials one of its streams, checking the
// request in etcd's order, then writes the peer's queued messages onto the
// response until one side hangs up.
func (t *Transport) serveStream(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Server-Version", t.versionStr)
	w.Header().Set("X-Etcd-Cluster-ID", t.cid.String())
	if !t.checkCompatible(w, r) {
		return
	}
	var kind streamKind
	switch path.Dir(r.URL.Path) {
	case "/raft/stream/msgapp":
		kind = streamMsgApp
	case "/raft/stream/message":
		kind = streamMessage
	default:
		http.Error(w, bodyInvalidPath, http.StatusNotFound)
		return
	}
	from, err := ParseID(path.Base(r.URL.Path))
	if err != nil {
		http.Error(w, bodyInvalidFrom, http.StatusNotFound)
		return
	}
	if t.raft.IsRemoved(from) {
		http.Error(w, bodyRemovedMember, http.StatusGone)
		return
	}
	if t.ctx.Err() != nil {
		http.Error(w, bodyStopped, http.StatusServiceUnavailable)
		return
	}
	p := t.peer(from)
	if p == nil {
		t.log.Error(fmt.Sprintf("failed to find member %s in cluster %s", from, t.cid))
		http.Error(w, bodySenderNotFound, http.StatusNotFound)
		return
	}
	if to := r.Header.Get("X-Raft-To"); to != t.id.String() {
		t.log.Error(fmt.Sprintf("refused the %s stream request of %s: it was meant for member %q, this is %s", kind, from, to, t.id))
		http.Error(w, bodyToMismatch, http.StatusPreconditionFailed)
		return
	}

	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{}) // a stream lasts; an error means there is no deadline to clear
	w.Header().Set("Content-Type", frameContentType)
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		t.log.Warn(fmt.Sprintf("cannot start the %s stream to peer %s: %v", kind, from, err))
		return
	}
	sc := newStreamConn(rc)
	wr := p.writers[kind]
	if !wr.attach(sc) {
		close(sc.done)
		return
	}
	p.status.activate()
	t.log.Info(fmt.Sprintf("established the %s stream to peer %s", kind, from))
	wr.serve(r.Context(), w, sc)
}

// servePipeline answers a POST to /raft: frames carrying messages from one
// sender, handed to Raft in order.
func (t *Transport) servePipeline(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Etcd-Cluster-ID", t.cid.String())
	if !t.checkCompatible(w, r) {
		return
	}
	if to := r.Header.Get("X-Raft-To"); to != "" && to != t.id.String() {
		http.Error(w, bodyToMismatch, http.StatusPreconditionFailed)
		return
	}
	if t.ctx.Err() != nil {
		http.Error(w, bodyStopped, http.StatusServiceUnavailable)
		return
	}
	msgs, sizes, err := readPipelineBody(http.MaxBytesReader(w, r.Body, maxPipelineBody))
	if err != nil {
		t.log.Warn(fmt.Sprintf("failed to read a raft message: %v", err))
		http.Error(w, "cannot read the raft messages: "+err.Error(), http.StatusBadRequest)
		return
	}
	from := ID(msgs[0].From)
	for _, m := range msgs {
		if ID(m.From) != from || ID(m.To) != t.id {
			http.Error(w, fmt.Sprintf("message from %s to %s in a request from %s to %s",
				ID(m.From), ID(m.To), from, t.id), http.StatusBadRequest)
			return
		}
	}
	if t.raft.IsRemoved(from) {
		writeRemoved(w)
		return
	}
	p := t.peer(from)
	if p == nil {
		t.learnRemote(from, r.Header.Get("X-PeerURLs"))
	}
	for i := range msgs {
		t.received(&msgs[i], sizes[i], p)
		if err := t.raft.Process(r.Context(), msgs[i]); err != nil {
			t.log.Warn(fmt.Sprintf("failed to process %s from %s: %v", msgs[i].Type, from, err))
			http.Error(w, "cannot process the raft message: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// readPipelineBody decodes every frame of a pipeline body; there must be at
// least one message.
func readPipelineBody(body io.Reader) ([]raft.Message, []int, error) {
	fr := newFrameReader(body, 16<<10)
	var msgs []raft.Message
	var sizes []int
	for {
		var m raft.Message
		n, err := fr.next(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		msgs, sizes = append(msgs, m), append(sizes, n)
	}
	if len(msgs) == 0 {
		return nil, nil, errors.New("peer: empty pipeline request")
	}
	return msgs, sizes, nil
}

// serveProbing answers a health probe, whatever the method, with this
// member's clock.
func serveProbing(w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(probeAnswer{OK: true, Now: time.Now()})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// probeAnswer is the body of /raft/probing.
type probeAnswer struct {
	OK  bool      `json:"OK"`
	Now time.Time `json:"Now"`
}
