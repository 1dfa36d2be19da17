package peer

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"v2etcd/raft"
)

// dialStream opens node n's kind stream as member from would.
func dialStream(t *testing.T, n *testNode, kind streamKind, from ID) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", n.url+streamPath(kind, from), nil)
	if err != nil {
		t.Fatal(err)
	}
	n.tr.setHeaders(req.Header, n.id) // a member of the same cluster
	req.Header.Set("X-Server-From", from.String())
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream answered %s", resp.Status)
	}
	return resp
}

func TestNewStreamConnectionReplacesTheOld(t *testing.T) {
	a := newNode(t, 1)
	a.tr.AddPeer(7, []string{"http://127.0.0.1:1"}) // 7 dials in; a cannot reach it
	first := dialStream(t, a, streamMessage, 7)
	defer first.Body.Close()
	w := a.tr.peer(7).writers[streamMessage]
	waitFor(t, "the first stream", func() bool { return w.active.Load() })
	second := dialStream(t, a, streamMessage, 7)
	defer second.Body.Close()

	// The first connection is cut...
	if _, err := io.ReadAll(first.Body); err != nil {
		t.Logf("first stream ended with %v", err)
	}
	// ...and the messages go to the second, in order.
	var msgs []raft.Message
	for i := uint64(1); i <= 10; i++ {
		msgs = append(msgs, heartbeat(1, 7, i))
	}
	waitFor(t, "the second stream to take over", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.cur != nil && w.active.Load()
	})
	a.tr.Send(msgs)
	fr := newFrameReader(second.Body, 4096)
	for i := uint64(1); i <= 10; i++ {
		var m raft.Message
		if _, err := fr.next(&m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Type != raft.MsgHeartbeat || m.Commit != i {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
}

func TestStreamWriteFailure(t *testing.T) {
	// Peer 7 dials the msgapp stream and then never reads: a's writes
	// block, time out, and the messages are dropped and reported.
	a := newNode(t, 1, withTuning(func(tu *tuning) { tu.writeTimeout = 50 * time.Millisecond }))
	a.tr.AddPeer(7, []string{"http://127.0.0.1:1"})
	conn, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nX-Server-Version: %s\r\nX-Min-Cluster-Version: %s\r\nX-Etcd-Cluster-ID: %s\r\nX-Raft-To: 1\r\n\r\n",
		streamPath(streamMsgApp, 7), testVersion, testMinCluster, testCluster)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream answer %v %v", resp, err)
	}
	p := a.tr.peer(7)
	w := p.writers[streamMsgApp]
	waitFor(t, "the stream", func() bool { return w.active.Load() })
	var index uint64
	waitFor(t, "a failed write to end the stream", func() bool {
		if !w.active.Load() {
			return true
		}
		index++
		a.tr.Send([]raft.Message{msgApp(1, 7, index, 1, 256<<10)})
		return false
	})
	waitFor(t, "ReportUnreachable(7)", func() bool { return a.raft.unreachableCount(7) > 0 })
	if p.fs.failures() == 0 {
		t.Error("no failure counted")
	}
}

func TestSilentPeerStreamsAreCut(t *testing.T) {
	// Peer 7 answers a's dials and then goes silent, as a machine that
	// lost power would; a hangs up after streamIdle and also ends the
	// stream it serves 7, so that its messages go where failures show.
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "gone quiet", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", frameContentType)
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(silent.Close) // after a stops (cleanups run last first)
	a := newNode(t, 1, withTuning(func(tu *tuning) { tu.streamIdle = 100 * time.Millisecond }))
	a.tr.AddPeer(7, []string{silent.URL})
	resp := dialStream(t, a, streamMessage, 7)
	defer resp.Body.Close()
	w := a.tr.peer(7).writers[streamMessage]
	waitFor(t, "7's stream to be served", func() bool { return w.active.Load() })
	waitFor(t, "7's stream to be cut", func() bool { return !w.active.Load() })
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Logf("7's stream ended with %v", err)
	}
	a.tr.Send([]raft.Message{heartbeat(1, 7, 1)}) // now through the pipeline, which fails
	waitFor(t, "ReportUnreachable(7)", func() bool { return a.raft.unreachableCount(7) > 0 })
}
