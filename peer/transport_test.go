package peer

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"v2etcd/raft"
)

// checkInOrder checks that got holds exactly the appends numbered 1..n and
// the heartbeats numbered 1..n from one sender, each kind in order.
func checkInOrder(t *testing.T, got []raft.Message, n int, entrySize int) {
	t.Helper()
	var apps, hbs uint64
	for _, m := range got {
		switch m.Type {
		case raft.MsgApp:
			apps++
			if m.Index != apps {
				t.Fatalf("append %d arrived as number %d", m.Index, apps)
			}
			for _, e := range m.Entries {
				if len(e.Data) != entrySize || !bytes.Equal(e.Data, bytes.Repeat([]byte{'x'}, entrySize)) {
					t.Fatalf("append %d: entry %d damaged", m.Index, e.Index)
				}
			}
		case raft.MsgHeartbeat:
			hbs++
			if m.Commit != hbs {
				t.Fatalf("heartbeat %d arrived as number %d", m.Commit, hbs)
			}
		default:
			t.Fatalf("unexpected %s", m.Type)
		}
	}
	if apps != uint64(n) || hbs != uint64(n) {
		t.Fatalf("got %d appends and %d heartbeats, want %d of each", apps, hbs, n)
	}
}

func TestThreeTransportsDeliverInOrder(t *testing.T) {
	nodes := []*testNode{newNode(t, 1), newNode(t, 2), newNode(t, 3)}
	connect(nodes...)
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				waitFor(t, "streams "+a.id.String()+" -> "+b.id.String(), func() bool { return streamsUp(a, b) })
			}
		}
	}
	const n = 300
	var wg sync.WaitGroup
	for _, a := range nodes {
		wg.Go(func() { // each node's raft loop
			for i := uint64(1); i <= n; i++ {
				var msgs []raft.Message
				for _, b := range nodes {
					if b != a {
						msgs = append(msgs, msgApp(a.id, b.id, i, 2, 100), heartbeat(a.id, b.id, i))
					}
				}
				a.tr.Send(msgs)
			}
		})
	}
	wg.Wait()
	for _, b := range nodes {
		for _, a := range nodes {
			if a == b {
				continue
			}
			waitFor(t, "all messages "+a.id.String()+" -> "+b.id.String(), func() bool { return len(b.raft.received(a.id)) >= 2*n })
			checkInOrder(t, b.raft.received(a.id), n, 100)
		}
	}
	// Everything went through the streams, nothing was dropped.
	for _, a := range nodes {
		for _, b := range nodes {
			if a == b {
				continue
			}
			p := a.tr.peer(b.id)
			// A writer counts a batch once its write returned, which can
			// be after the receiver has processed it.
			waitFor(t, "the stream writers' counts", func() bool {
				return p.writers[streamMsgApp].sent.Load()+p.writers[streamMessage].sent.Load() == 2*n
			})
			if fails := p.fs.failures(); fails != 0 {
				t.Errorf("%s -> %s: %d failures", a.id, b.id, fails)
			}
		}
	}
}

func TestStreamBatchesQueuedMessages(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := func() { once.Do(func() { close(entered); <-release }) }
	a := newNode(t, 1, withTuning(func(tu *tuning) { tu.beforeBatch = hold }))
	b := newNode(t, 2)
	connect(a, b)
	waitFor(t, "streams", func() bool { return streamsUp(a, b) })

	// The writer takes the first append and is held before it looks for
	// more; meanwhile 999 more are queued. All go out in one write.
	a.tr.Send([]raft.Message{msgApp(1, 2, 1, 16, 128)})
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the stream writer never took the first message")
	}
	const n = 1000
	var msgs []raft.Message
	for i := uint64(2); i <= n; i++ {
		msgs = append(msgs, msgApp(1, 2, i, 1, 16))
	}
	a.tr.Send(msgs)
	close(release)
	waitFor(t, "all appends", func() bool { return len(b.raft.received(1)) == n })
	for i, m := range b.raft.received(1) {
		if m.Index != uint64(i+1) {
			t.Fatalf("message %d has index %d", i, m.Index)
		}
	}
	w := a.tr.peer(2).writers[streamMsgApp]
	// The writer counts once its write returned, maybe after b got it all.
	waitFor(t, "the writer's count", func() bool { return w.sent.Load() == n })
	if got := w.batches.Load(); got != 1 {
		t.Errorf("%d messages went out in %d writes, want 1", w.sent.Load(), got)
	}
	waitFor(t, "sendAppendRequestCnt", func() bool { _, got := a.tr.Stats().appendCounts(); return got == n })
	if got, _ := b.tr.Stats().appendCounts(); got != n {
		t.Errorf("recvAppendRequestCnt = %d, want %d", got, n)
	}
}

func TestSendDropsWhenPipelineQueueIsFull(t *testing.T) {
	// Peer 2 is a listener that never accepts: the first pipeline POST
	// hangs, so the queue fills and the rest must be dropped at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const queue, batch = 8, 4
	a := newNode(t, 1, withTuning(func(tu *tuning) {
		tu.pipelineQueue = queue
		tu.pipelineBatch = batch
		tu.requestTimeout = time.Hour
	}))
	a.tr.AddPeer(2, []string{"http://" + ln.Addr().String()})
	const n = 1000
	var msgs []raft.Message
	for i := uint64(1); i <= n; i++ {
		msgs = append(msgs, heartbeat(1, 2, i))
	}
	done := make(chan struct{})
	go func() {
		a.tr.Send(msgs)
		close(done)
	}()
	waitFor(t, "Send to return", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	fails := a.tr.peer(2).fs.failures()
	// At most queue messages wait in the queue and batch in the worker's
	// hands (the hanging request).
	if fails < n-queue-batch || fails > n {
		t.Errorf("%d messages dropped, want between %d and %d", fails, n-queue-batch, n)
	}
	waitFor(t, "ReportUnreachable(2)", func() bool { return a.raft.unreachableCount(2) > 0 })
}

func TestSendDropsWhenStreamQueueIsFull(t *testing.T) {
	const queue = 16
	a := newNode(t, 1, withTuning(func(tu *tuning) { tu.msgappQueue = queue }))
	b := newNode(t, 2, withTuning(func(tu *tuning) { tu.streamIdle = time.Hour }))
	connect(a, b)
	waitFor(t, "streams", func() bool { return streamsUp(a, b) })

	// b stops taking messages: its socket buffers fill, a's writer
	// blocks, a's queue fills, and Send drops without waiting.
	gate := make(chan struct{})
	b.raft.mu.Lock()
	b.raft.gate = gate
	b.raft.mu.Unlock()
	fs := a.tr.peer(2).fs
	var sent uint64
	for fs.failures() == 0 {
		sent++
		if sent > 20000 { // 20000 x 256 KiB: far beyond any socket buffer
			t.Fatal("no message was ever dropped")
		}
		a.tr.Send([]raft.Message{msgApp(1, 2, sent, 1, 256<<10)})
	}
	waitFor(t, "ReportUnreachable(2)", func() bool { return a.raft.unreachableCount(2) > 0 })
	close(gate)
	// What arrives is in order; the dropped ones are simply missing.
	waitFor(t, "the queue to drain", func() bool {
		w := a.tr.peer(2).writers[streamMsgApp]
		return len(w.queue) == 0 && uint64(len(b.raft.received(1))) == w.sent.Load()
	})
	var last uint64
	for _, m := range b.raft.received(1) {
		if m.Index <= last {
			t.Fatalf("append %d arrived after %d", m.Index, last)
		}
		last = m.Index
	}
}

func TestReconnectAfterPeerRestart(t *testing.T) {
	a, b := newNode(t, 1), newNode(t, 2)
	connect(a, b)
	waitFor(t, "streams a->b", func() bool { return streamsUp(a, b) })
	waitFor(t, "streams b->a", func() bool { return streamsUp(b, a) })
	a.tr.Send([]raft.Message{heartbeat(1, 2, 1)})
	waitFor(t, "first heartbeat", func() bool { return len(b.raft.received(1)) == 1 })

	b.restart()
	b.tr.AddPeer(1, []string{a.url})
	// Like raft, keep sending until the restarted member hears us.
	var commit uint64 = 1
	waitFor(t, "a heartbeat after the restart", func() bool {
		commit++
		a.tr.Send([]raft.Message{heartbeat(1, 2, commit)})
		return len(b.raft.received(1)) > 0
	})
	waitFor(t, "streams a->b again", func() bool { return streamsUp(a, b) })
	waitFor(t, "streams b->a again", func() bool { return streamsUp(b, a) })
	// A message written just before the old connection was noticed dead
	// can be lost (TCP took it); raft would send again, and so do we.
	var index uint64
	waitFor(t, "an append through the new stream", func() bool {
		index++
		a.tr.Send([]raft.Message{msgApp(1, 2, index, 1, 10)})
		for _, m := range b.raft.received(1) {
			if m.Type == raft.MsgApp {
				return true
			}
		}
		return false
	})
	commit = 0
	waitFor(t, "a heartbeat back", func() bool {
		commit++
		b.tr.Send([]raft.Message{heartbeat(2, 1, commit)})
		return len(a.raft.received(2)) > 0
	})
	if a.logs.count("peer 2 became active") < 2 {
		t.Errorf("a did not log b coming back:\n%s", a.logs)
	}
}

func TestUnknownSenderLearntFromPeerURLs(t *testing.T) {
	// b does not know a (a joined recently); a's messages reach b through
	// the pipeline, and b answers a at the URLs a advertised.
	a, b := newNode(t, 1), newNode(t, 2)
	a.tr.AddPeer(2, []string{b.url})
	a.tr.Send([]raft.Message{heartbeat(1, 2, 1)})
	waitFor(t, "b to hear a", func() bool { return len(b.raft.received(1)) == 1 })
	b.tr.Send([]raft.Message{{Type: raft.MsgHeartbeatResp, From: 2, To: 1, Term: 1}})
	waitFor(t, "a to hear b", func() bool { return len(a.raft.received(2)) == 1 })
	if b.logs.count("added remote 1") != 1 {
		t.Errorf("b's log:\n%s", b.logs)
	}
	// Once b learns a as a peer, the remote gives way.
	b.tr.AddPeer(1, []string{a.url})
	b.tr.mu.RLock()
	remotes := len(b.tr.remotes)
	b.tr.mu.RUnlock()
	if remotes != 0 {
		t.Errorf("%d remotes left after AddPeer", remotes)
	}
}

func TestPeerSetChanges(t *testing.T) {
	a, b, c := newNode(t, 1), newNode(t, 2), newNode(t, 3)
	mb := &Member{ID: 2, PeerURLs: MustParseURLs(b.url)}
	mc := &Member{ID: 3, PeerURLs: MustParseURLs(c.url)}
	self := &Member{ID: 1, PeerURLs: MustParseURLs(a.url)}
	a.tr.SetPeers([]*Member{self, mb, mc}, 1)
	if a.tr.peer(1) != nil || a.tr.peer(2) == nil || a.tr.peer(3) == nil {
		t.Fatal("SetPeers did not add exactly the other members")
	}
	a.tr.SetPeers([]*Member{self, mc}, 1)
	if a.tr.peer(2) != nil || a.tr.peer(3) == nil {
		t.Fatal("SetPeers did not remove member 2")
	}
	if got := string(a.tr.Stats().LeaderJSON(1)); bytes.Contains([]byte(got), []byte(`"2"`)) {
		t.Errorf("removed follower still in the leader stats: %s", got)
	}
	// UpdatePeer gives member 3 a dead URL first and c's second: after
	// the first fails, the transport moves on to the second.
	a.tr.UpdatePeer(3, []string{"http://127.0.0.1:1", c.url})
	if got := a.tr.peer(3).picker.all(); len(got) != 2 {
		t.Fatalf("UpdatePeer: %d URLs", len(got))
	}
	var commit uint64
	waitFor(t, "a message to 3 over its second URL", func() bool {
		commit++
		a.tr.Send([]raft.Message{heartbeat(1, 3, commit)})
		return len(c.raft.received(1)) > 0
	})
	a.tr.RemovePeer(3)
	a.tr.RemovePeer(3)                            // twice is harmless
	a.tr.Send([]raft.Message{heartbeat(1, 3, 1)}) // unknown now: dropped
	a.tr.AddPeer(4, []string{"not a url"})
	if a.logs.count(`ignored peer URL "not a url" of member 4`) != 1 {
		t.Errorf("bad URL not logged:\n%s", a.logs)
	}
}

func TestNewTransportChecksConfig(t *testing.T) {
	good := Config{ID: 1, ClusterID: 2, ServerVersion: "2.3.8", MinClusterVersion: "2.2.0", Raft: newFakeRaft(), Snapshots: newFakeSnapStore()}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no ID", func(c *Config) { c.ID = 0 }, "peer: transport needs the member's ID"},
		{"no cluster", func(c *Config) { c.ClusterID = 0 }, "peer: transport needs the cluster ID"},
		{"no raft", func(c *Config) { c.Raft = nil }, "peer: transport needs a Raft to deliver to"},
		{"no store", func(c *Config) { c.Snapshots = nil }, "peer: transport needs a SnapshotStore"},
		{"bad version", func(c *Config) { c.ServerVersion = "2.3" }, `peer: server version: version "2.3" is not major.minor.patch`},
		{"bad min version", func(c *Config) { c.MinClusterVersion = "" }, `peer: minimum cluster version: version "" is not major.minor.patch`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			_, err := NewTransport(c)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	tr, err := NewTransport(good)
	if err != nil {
		t.Fatal(err)
	}
	tr.Stop()
	tr.Stop()
	tr.AddPeer(5, []string{"http://127.0.0.1:1"}) // after Stop: ignored
	if tr.peer(5) != nil {
		t.Error("AddPeer after Stop added a peer")
	}
}

// TestActiveSince reports a peer active once its streams connect, and zero
// once it cannot be reached, for the server's strict reconfiguration check.
func TestActiveSince(t *testing.T) {
	a, b := newNode(t, 1), newNode(t, 2)
	if !a.tr.ActiveSince(2).IsZero() || !a.tr.ActiveSince(9).IsZero() {
		t.Fatal("an unknown peer is reported active")
	}
	connect(a, b)
	waitFor(t, "peer 2 active", func() bool { return !a.tr.ActiveSince(2).IsZero() })
	b.stop()
	waitFor(t, "peer 2 inactive", func() bool {
		a.tr.Send([]raft.Message{heartbeat(1, 2, 1)})
		return a.tr.ActiveSince(2).IsZero()
	})
}
