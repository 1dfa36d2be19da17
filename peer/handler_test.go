package peer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"v2etcd/raft"
)

// rawRequest sends a request to node n with the headers a member would
// send, changed by edit.
func rawRequest(t *testing.T, n *testNode, method, path string, body []byte, edit func(http.Header)) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, n.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Server-From", "7")
	req.Header.Set("X-Server-Version", testVersion)
	req.Header.Set("X-Min-Cluster-Version", testMinCluster)
	req.Header.Set("X-Etcd-Cluster-ID", n.cid.String())
	req.Header.Set("X-Raft-To", n.id.String())
	if edit != nil {
		edit(req.Header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(path, "/raft/stream/") {
		resp.Body.Close() // a stream: the headers are the answer
		return resp, ""
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestStreamHandlerAnswers(t *testing.T) {
	n := newNode(t, 1)
	n.tr.AddPeer(7, []string{"http://127.0.0.1:1"})
	n.raft.remove(9)
	set := func(k, v string) func(http.Header) { return func(h http.Header) { h.Set(k, v) } }
	tests := []struct {
		name    string
		method  string
		path    string
		edit    func(http.Header)
		status  int
		body    string
		logLine string
	}{
		// In the order the handler checks (spec: clustering §9.3).
		{"method", "POST", "/raft/stream/message/7", nil, 405, "Method Not Allowed\n", ""},
		{"cluster ID", "GET", "/raft/stream/message/7", set("X-Etcd-Cluster-ID", "bad"), 412, "cluster ID mismatch\n",
			"request cluster ID mismatch (got bad want c1a57e5)"},
		{"old sender", "GET", "/raft/stream/message/7", set("X-Server-Version", "2.1.0"), 412, "incompatible version\n",
			"request version incompatibility (the sender's version 2.1 is below this member's minimum cluster version 2.2)"},
		{"new sender", "GET", "/raft/stream/message/7", set("X-Min-Cluster-Version", "3.0.0"), 412, "incompatible version\n",
			"request version incompatibility (the sender's minimum cluster version 3.0 is above this member's version 2.3)"},
		{"missing versions are 2.0.0", "GET", "/raft/stream/message/7", func(h http.Header) { h.Del("X-Server-Version") }, 412, "incompatible version\n", ""},
		{"version checked before cluster ID", "GET", "/raft/stream/message/7", func(h http.Header) {
			h.Set("X-Server-Version", "x")
			h.Set("X-Etcd-Cluster-ID", "bad")
		}, 412, "incompatible version\n", ""},
		{"invalid path", "GET", "/raft/stream/foo/7", nil, 404, "invalid path\n", ""},
		{"invalid path checked after cluster", "GET", "/raft/stream/foo/7", set("X-Etcd-Cluster-ID", "bad"), 412, "cluster ID mismatch\n", ""},
		{"invalid from", "GET", "/raft/stream/msgapp/xyz", nil, 404, "invalid from\n", ""},
		{"removed", "GET", "/raft/stream/msgapp/9", nil, 410, "removed member\n", ""},
		{"unknown", "GET", "/raft/stream/msgapp/8", nil, 404, "error sender not found\n",
			"failed to find member 8 in cluster c1a57e5"},
		{"to mismatch", "GET", "/raft/stream/msgapp/7", set("X-Raft-To", "2"), 412, "to field mismatch\n", ""},
		{"ok msgapp", "GET", "/raft/stream/msgapp/7", nil, 200, "", "established the msgapp stream to peer 7"},
		{"ok message", "GET", "/raft/stream/message/7", nil, 200, "", "established the message stream to peer 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawRequest(t, n, tt.method, tt.path, nil, tt.edit)
			if resp.StatusCode != tt.status || body != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.status == 405 {
				if got := resp.Header.Get("Allow"); got != "GET" {
					t.Errorf("Allow = %q", got)
				}
				return
			}
			if got := resp.Header.Get("X-Etcd-Cluster-ID"); got != "c1a57e5" {
				t.Errorf("X-Etcd-Cluster-ID = %q", got)
			}
			if got := resp.Header.Get("X-Server-Version"); got != testVersion {
				t.Errorf("X-Server-Version = %q", got)
			}
			if tt.status == 200 {
				if got := resp.Header.Get("Content-Type"); got != frameContentType {
					t.Errorf("Content-Type = %q", got)
				}
			}
			if tt.logLine != "" {
				waitFor(t, "log line "+tt.logLine, func() bool { return n.logs.count(tt.logLine) > 0 })
			}
		})
	}
}

// frames encodes msgs as a pipeline body.
func frames(msgs ...raft.Message) []byte {
	var b []byte
	for i := range msgs {
		b = appendFrame(b, &msgs[i])
	}
	return b
}

func TestPipelineHandlerAnswers(t *testing.T) {
	n := newNode(t, 1)
	n.raft.remove(9)
	hb := heartbeat(7, 1, 5)
	set := func(k, v string) func(http.Header) { return func(h http.Header) { h.Set(k, v) } }
	tests := []struct {
		name      string
		method    string
		body      []byte
		edit      func(http.Header)
		status    int
		wantBody  string
		delivered int // messages Raft gets
	}{
		{"method", "GET", nil, nil, 405, "Method Not Allowed\n", 0},
		{"cluster ID", "POST", frames(hb), set("X-Etcd-Cluster-ID", "1"), 412, "cluster ID mismatch\n", 0},
		{"version", "POST", frames(hb), set("X-Server-Version", "1.9.0"), 412, "incompatible version\n", 0},
		{"to mismatch", "POST", frames(hb), set("X-Raft-To", "2"), 412, "to field mismatch\n", 0},
		{"empty", "POST", nil, nil, 400, "cannot read the raft messages: peer: empty pipeline request\n", 0},
		{"garbage", "POST", []byte{3, 99, 1, 2}, nil, 400, "cannot read the raft messages: peer: bad frame: raft: malformed encoding: unknown message type 99 at byte 0\n", 0},
		{"truncated", "POST", frames(hb)[:5], nil, 400, "", 0},
		{"not for us", "POST", frames(heartbeat(7, 2, 1)), nil, 400, "message from 7 to 2 in a request from 7 to 1\n", 0},
		{"mixed senders", "POST", frames(hb, heartbeat(8, 1, 1)), nil, 400, "message from 8 to 1 in a request from 7 to 1\n", 0},
		{"removed", "POST", frames(heartbeat(9, 1, 1)), nil, 403, `{"message":"cannot process message from removed member"}`, 0},
		{"ok", "POST", frames(hb, heartbeat(7, 1, 6)), nil, 204, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := n.raft.processed()
			resp, body := rawRequest(t, n, tt.method, "/raft", tt.body, tt.edit)
			if resp.StatusCode != tt.status || (tt.wantBody != "" || tt.status == 204) && body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.wantBody)
			}
			if tt.status == 405 {
				if resp.Header.Get("Allow") != "POST" || resp.Header.Get("X-Etcd-Cluster-ID") != "" {
					t.Errorf("405 headers: %v", resp.Header)
				}
			} else if got := resp.Header.Get("X-Etcd-Cluster-ID"); got != "c1a57e5" {
				t.Errorf("X-Etcd-Cluster-ID = %q", got)
			}
			if tt.status == 403 && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("403 Content-Type = %q", resp.Header.Get("Content-Type"))
			}
			if got := n.raft.processed() - before; got != tt.delivered {
				t.Errorf("%d messages delivered, want %d", got, tt.delivered)
			}
		})
	}
	got := n.raft.received(7)
	if len(got) != 2 || got[0].Commit != 5 || got[1].Commit != 6 {
		t.Errorf("delivered %+v", got)
	}

	// A Process error is a 500.
	n.raft.mu.Lock()
	n.raft.processErr = errors.New("raft loop stopped")
	n.raft.mu.Unlock()
	resp, body := rawRequest(t, n, "POST", "/raft", frames(hb), nil)
	if resp.StatusCode != 500 || body != "cannot process the raft message: raft loop stopped\n" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}

func TestProbingAndUnknownPaths(t *testing.T) {
	n := newNode(t, 1)
	for _, method := range []string{"GET", "POST", "HEAD"} {
		resp, body := rawRequest(t, n, method, "/raft/probing", nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s /raft/probing: %d %v", method, resp.StatusCode, resp.Header)
		}
		if method == "HEAD" {
			continue
		}
		var a struct {
			OK  bool
			Now time.Time
		}
		if err := json.Unmarshal([]byte(body), &a); err != nil || !a.OK || a.Now.IsZero() {
			t.Errorf("%s /raft/probing: %q (%v)", method, body, err)
		}
		if !strings.HasPrefix(body, `{"OK":true,"Now":"`) {
			t.Errorf("probing body %q", body)
		}
	}
	for _, path := range []string{"/raft/x", "/raft/snapshot/x", "/members"} {
		resp, _ := rawRequest(t, n, "GET", path, nil, nil)
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestClusterIDMismatchIsRefusedAndLoggedOnBothSides(t *testing.T) {
	a := newNode(t, 1, withCluster(0xaaa))
	b := newNode(t, 2, withCluster(0xbbb))
	connect(a, b)
	a.tr.Send([]raft.Message{heartbeat(1, 2, 1), msgApp(1, 2, 1, 1, 10)})
	b.tr.Send([]raft.Message{heartbeat(2, 1, 1)})
	// Each side refuses the other and says so, and the refused side keeps
	// trying (several lines, never a stop).
	waitFor(t, "log lines on both sides", func() bool {
		return a.logs.count("request sent was ignored (cluster ID mismatch: remote[2]=bbb, local=aaa)") >= 3 &&
			b.logs.count("request cluster ID mismatch (got aaa want bbb)") >= 3 &&
			b.logs.count("request sent was ignored (cluster ID mismatch: remote[1]=aaa, local=bbb)") >= 3 &&
			a.logs.count("request cluster ID mismatch (got bbb want aaa)") >= 3
	})
	if a.raft.processed() != 0 || b.raft.processed() != 0 {
		t.Errorf("messages crossed clusters: %d and %d", a.raft.processed(), b.raft.processed())
	}
	if streamsUp(a, b) || streamsUp(b, a) {
		t.Error("a stream was attached across clusters")
	}
	if by, _ := a.raft.selfRemoved(); by != 0 {
		t.Error("a mismatch was taken for a removal")
	}
}

func TestRemovedMemberIsRefusedAndTold(t *testing.T) {
	t.Run("stream 410", func(t *testing.T) {
		a, b := newNode(t, 1), newNode(t, 2)
		b.raft.remove(1)
		a.tr.AddPeer(2, []string{b.url}) // a dials b's streams: 410
		waitFor(t, "a to be told", func() bool { by, _ := a.raft.selfRemoved(); return by == 2 })
		if a.logs.count("peer 2 answered that this member was removed from the cluster") == 0 {
			t.Errorf("a's log:\n%s", a.logs)
		}
		// Told once, however often it is refused.
		waitFor(t, "more refusals", func() bool {
			return a.logs.count("peer 2 answered that this member was removed from the cluster") >= 3
		})
		if _, n := a.raft.selfRemoved(); n != 1 {
			t.Errorf("SelfRemoved called %d times", n)
		}
	})
	t.Run("pipeline 403", func(t *testing.T) {
		a, b := newNode(t, 1), newNode(t, 2)
		b.raft.remove(1)
		a.tr.AddPeer(2, []string{b.url})
		p := a.tr.peer(2)
		m := heartbeat(1, 2, 1)
		err := p.post(appendFrame(nil, &m))
		if err == nil || !strings.Contains(err.Error(), "403 Forbidden") {
			t.Fatalf("post: %v", err)
		}
		waitFor(t, "a to be told", func() bool { by, _ := a.raft.selfRemoved(); return by == 2 })
		if b.raft.processed() != 0 {
			t.Error("b processed a removed member's message")
		}
	})
	t.Run("no stream from a removed member", func(t *testing.T) {
		a, b := newNode(t, 1), newNode(t, 2)
		a.raft.remove(2)
		connect(a, b)
		b.tr.Send([]raft.Message{heartbeat(2, 1, 1)})
		waitFor(t, "b to be told", func() bool { by, _ := b.raft.selfRemoved(); return by == 1 })
		if a.raft.processed() != 0 {
			t.Error("a processed a removed member's message")
		}
	})
}
