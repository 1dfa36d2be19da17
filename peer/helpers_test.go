package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"v2etcd/raft"
)

const (
	testVersion    = "2.3.8"
	testMinCluster = "2.2.0"
	testCluster    = ID(0xc1a57e5)
)

// waitFor polls cond until it holds, failing the test after a generous
// deadline. It is how tests wait: never a bare sleep.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fakeRaft records what the transport delivers.
type fakeRaft struct {
	mu          sync.Mutex
	got         map[ID][]raft.Message // by sender
	unreachable map[uint64]int
	snapReports []snapshotReport
	removed     map[ID]bool
	removedBy   ID
	removedN    int
	processErr  error
	gate        chan struct{} // when set, Process waits for it (or ctx)
	count       int           // messages processed
	discard     bool          // count messages but do not keep them (benchmarks)
	tick        chan struct{} // when set, gets a token (if there is room) every 256 messages
}

func newFakeRaft() *fakeRaft {
	return &fakeRaft{got: map[ID][]raft.Message{}, unreachable: map[uint64]int{}, removed: map[ID]bool{}}
}

func (f *fakeRaft) Process(ctx context.Context, m raft.Message) error {
	f.mu.Lock()
	gate, perr := f.gate, f.processErr
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if perr != nil {
		return perr
	}
	f.mu.Lock()
	if !f.discard {
		f.got[ID(m.From)] = append(f.got[ID(m.From)], m)
	}
	f.count++
	if f.tick != nil && f.count%256 == 0 {
		select {
		case f.tick <- struct{}{}:
		default:
		}
	}
	f.mu.Unlock()
	return nil
}

func (f *fakeRaft) ReportUnreachable(id uint64) {
	f.mu.Lock()
	f.unreachable[id]++
	f.mu.Unlock()
}

func (f *fakeRaft) ReportSnapshot(id uint64, ok bool) {
	f.mu.Lock()
	f.snapReports = append(f.snapReports, snapshotReport{ID(id), ok})
	f.mu.Unlock()
}

func (f *fakeRaft) IsRemoved(id ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.removed[id]
}

func (f *fakeRaft) SelfRemoved(by ID) {
	f.mu.Lock()
	f.removedBy = by
	f.removedN++
	f.mu.Unlock()
}

// remove marks id as removed from the cluster.
func (f *fakeRaft) remove(id ID) {
	f.mu.Lock()
	f.removed[id] = true
	f.mu.Unlock()
}

func (f *fakeRaft) received(from ID) []raft.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got[from])
}

func (f *fakeRaft) processed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}

func (f *fakeRaft) unreachableCount(id ID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unreachable[uint64(id)]
}

func (f *fakeRaft) snapshotReports() []snapshotReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.snapReports)
}

func (f *fakeRaft) selfRemoved() (ID, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.removedBy, f.removedN
}

// fakeSnapStore keeps snapshots in memory. Save reads exactly size bytes
// and keeps them only if that worked, as wal.Snapshotter does.
type fakeSnapStore struct {
	mu        sync.Mutex
	data      map[uint64][]byte // by index: what Open serves
	saved     map[uint64][]byte // by index: what Save kept
	openFail  int64             // when > 0, Open's reader fails after this many bytes
	saveFail  int64             // when > 0, Save fails after reading this many bytes
	saveCalls int
}

func newFakeSnapStore() *fakeSnapStore {
	return &fakeSnapStore{data: map[uint64][]byte{}, saved: map[uint64][]byte{}}
}

func (s *fakeSnapStore) Open(meta raft.SnapshotMetadata) (io.ReadCloser, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.data[meta.Index]
	if !ok {
		return nil, 0, fmt.Errorf("no snapshot at index %d", meta.Index)
	}
	var r io.Reader = bytes.NewReader(d)
	if s.openFail > 0 {
		r = io.MultiReader(io.LimitReader(r, s.openFail), errReader{errors.New("disk read error")})
	}
	return io.NopCloser(r), int64(len(d)), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (s *fakeSnapStore) Save(meta raft.SnapshotMetadata, r io.Reader, size int64) error {
	s.mu.Lock()
	s.saveCalls++
	fail := s.saveFail
	s.mu.Unlock()
	if fail > 0 {
		if _, err := io.CopyN(io.Discard, r, fail); err != nil {
			return err
		}
		return errors.New("disk full")
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	s.mu.Lock()
	s.saved[meta.Index] = buf
	s.mu.Unlock()
	return nil
}

func (s *fakeSnapStore) savedAt(index uint64) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.saved[index]
	return b, ok
}

// logRecorder is a slog.Handler keeping every line as "LEVEL message".
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.lines = append(l.lines, r.Level.String()+" "+r.Message)
	l.mu.Unlock()
	return nil
}

// count returns how many lines contain s.
func (l *logRecorder) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// testNode is one member: a transport, its fakes, and a peer server on a
// loopback port.
type testNode struct {
	t       testing.TB
	id      ID
	cid     ID
	url     string
	addr    string
	raft    *fakeRaft
	snaps   *fakeSnapStore
	logs    *logRecorder
	tr      *Transport
	srv     *http.Server
	tlsConf *tls.Config // client side, for the transport
	srvTLS  *tls.Config // server side, for the listener
	tune    tuning
}

// nodeOption changes a node before it starts.
type nodeOption func(*testNode)

func withCluster(cid ID) nodeOption         { return func(n *testNode) { n.cid = cid } }
func withTuning(f func(*tuning)) nodeOption { return func(n *testNode) { f(&n.tune) } }
func withTLS(client, server *tls.Config) nodeOption {
	return func(n *testNode) { n.tlsConf, n.srvTLS = client, server }
}

// newNode makes a node listening on a fresh loopback port; start it with
// start (after its peers are known, or not).
func newNode(t testing.TB, id ID, opts ...nodeOption) *testNode {
	t.Helper()
	n := &testNode{t: t, id: id, cid: testCluster, raft: newFakeRaft(), snaps: newFakeSnapStore(), logs: &logRecorder{}, tune: defaultTuning()}
	for _, o := range opts {
		o(n)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.addr = ln.Addr().String()
	scheme := "http"
	if n.srvTLS != nil {
		scheme = "https"
	}
	n.url = scheme + "://" + n.addr
	n.startOn(ln)
	t.Cleanup(n.stop)
	return n
}

// startOn creates the transport and serves it on ln.
func (n *testNode) startOn(ln net.Listener) {
	n.t.Helper()
	tr, err := newTransport(Config{
		ID: n.id, ClusterID: n.cid, PeerURLs: []string{n.url},
		ServerVersion: testVersion, MinClusterVersion: testMinCluster,
		Raft: n.raft, Snapshots: n.snaps, TLS: n.tlsConf,
		Logger: slog.New(n.logs),
	}, n.tune)
	if err != nil {
		n.t.Fatal(err)
	}
	n.tr = tr
	if n.srvTLS != nil {
		ln = tls.NewListener(ln, n.srvTLS)
	}
	n.srv = &http.Server{Handler: tr.Handler(), ErrorLog: log.New(io.Discard, "", 0)}
	go n.srv.Serve(ln)
}

// stop ends the node: its transport, then its server and connections.
func (n *testNode) stop() {
	if n.tr != nil {
		n.tr.Stop()
		n.srv.Close()
		n.tr = nil
	}
}

// restart stops the node and starts it again on the same address, with a
// fresh transport and fresh fakes, as a restarted process would.
func (n *testNode) restart() {
	n.t.Helper()
	n.stop()
	var ln net.Listener
	waitFor(n.t, "the old address to be free", func() bool {
		var err error
		ln, err = net.Listen("tcp", n.addr)
		return err == nil
	})
	n.raft, n.snaps, n.logs = newFakeRaft(), newFakeSnapStore(), &logRecorder{}
	n.startOn(ln)
}

// connect makes each node a peer of every other.
func connect(nodes ...*testNode) {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				a.tr.AddPeer(b.id, []string{b.url})
			}
		}
	}
}

// streamsUp reports whether from has both streams to to attached (to
// dialled them), so that sends go through the streams.
func streamsUp(from, to *testNode) bool {
	p := from.tr.peer(to.id)
	return p != nil && p.writers[streamMsgApp].active.Load() && p.writers[streamMessage].active.Load()
}

// msgApp returns an append from -> to with n entries of size bytes;
// Index numbers it.
func msgApp(from, to ID, index uint64, n, size int) raft.Message {
	m := raft.Message{Type: raft.MsgApp, From: uint64(from), To: uint64(to), Term: 1, Index: index, LogTerm: 1, Commit: index}
	data := bytes.Repeat([]byte{'x'}, size)
	for i := range n {
		m.Entries = append(m.Entries, raft.Entry{Term: 1, Index: index + uint64(i) + 1, Data: data})
	}
	return m
}

// heartbeat returns a heartbeat from -> to, numbered by Commit.
func heartbeat(from, to ID, commit uint64) raft.Message {
	return raft.Message{Type: raft.MsgHeartbeat, From: uint64(from), To: uint64(to), Term: 1, Commit: commit}
}

// failures returns the follower's fail count.
func (fs *followerStats) failures() uint64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.fail
}

// appendCounts returns the append requests received and sent.
func (s *Stats) appendCounts() (recv, send uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recvCount, s.sendCount
}
