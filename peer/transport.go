package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"v2etcd/raft"
)

// Raft is what the transport delivers to: the server's raft loop. Process
// is called from the goroutines reading streams and serving requests;
// ReportUnreachable and ReportSnapshot from one goroutine of the
// transport, never from Send, so they may wait briefly for the raft loop
// to take the report, but must not call Stop.
type Raft interface {
	// Process hands a message received from a peer to the raft loop.
	// Messages from one stream are passed in the order they were sent, one
	// call at a time. Process may block briefly but must return when ctx
	// is done.
	Process(ctx context.Context, m raft.Message) error
	// ReportUnreachable says that a message to member id could not be
	// delivered (raft then probes the member instead of streaming to it).
	ReportUnreachable(id uint64)
	// ReportSnapshot says how sending a snapshot to member id went.
	ReportSnapshot(id uint64, ok bool)
	// IsRemoved reports whether id was removed from the cluster; such a
	// member's requests are refused (403 on the pipeline and snapshot
	// endpoints, 410 on streams).
	IsRemoved(id ID) bool
	// SelfRemoved is called once, on a goroutine of its own, when a peer
	// (by) answers that this member was removed from the cluster. etcd
	// then logs "the member has been permanently removed from the cluster"
	// and exits with status 0. It may call Transport.Stop.
	SelfRemoved(by ID)
}

// SnapshotStore opens and saves snapshot files. The server implements it
// over wal.Snapshotter (OpenSnap and SaveSnapFrom).
type SnapshotStore interface {
	// Open opens the snapshot raft described with meta and returns its data
	// and the data's length. The transport reads the data to io.EOF (so a
	// reader that checks a checksum at the end is honoured) and closes it.
	Open(meta raft.SnapshotMetadata) (io.ReadCloser, int64, error)
	// Save stores a snapshot received from a peer: exactly size bytes read
	// from r. Only a complete snapshot may be kept; if reading r fails, Save
	// must fail and leave nothing behind.
	Save(meta raft.SnapshotMetadata, r io.Reader, size int64) error
}

// Config configures a Transport. ID, ClusterID, ServerVersion,
// MinClusterVersion, Raft and Snapshots are required.
type Config struct {
	ID        ID       // this member
	ClusterID ID       // the cluster; every request and answer carries it
	PeerURLs  []string // this member's advertised peer URLs, sent as X-PeerURLs

	// ServerVersion (e.g. "2.3.8") is sent as X-Server-Version; a peer
	// whose minimum cluster version is above it is refused.
	// MinClusterVersion (e.g. "2.2.0") is sent as X-Min-Cluster-Version; a
	// peer whose version is below it is refused. Only major.minor count.
	ServerVersion     string
	MinClusterVersion string

	Raft      Raft
	Snapshots SnapshotStore

	// TLS is the client side of peer TLS, used to dial https peer URLs:
	// root CAs (--peer-trusted-ca-file) and the client certificate
	// (--peer-cert-file, --peer-key-file). Nil means the system's roots and
	// no client certificate. The server side is the peer listener's.
	TLS *tls.Config

	// DialTimeout bounds connecting to a peer (TCP and TLS handshake).
	// Zero means one second.
	DialTimeout time.Duration

	// Stats receives the traffic figures. Nil means the transport makes
	// its own (see Transport.Stats).
	Stats *Stats

	// Logger receives the transport's log lines; the server passes one for
	// the package "rafthttp". Nil discards them.
	Logger *slog.Logger
}

// tuning holds the transport's internal limits and intervals. Production
// uses defaultTuning; tests shorten some of them.
type tuning struct {
	msgappQueue    int           // messages queued per peer for the msgapp stream
	messageQueue   int           // messages queued per peer for the message stream
	pipelineQueue  int           // messages queued per peer for the pipeline
	pipelineBatch  int           // messages per pipeline POST at most
	maxBatchBytes  int           // a stream batch stops growing past this size
	backoffMin     time.Duration // first wait before redialling a stream
	backoffMax     time.Duration // longest wait before redialling
	linkHeartbeat  time.Duration // an idle stream writer sends a heartbeat frame this often
	streamIdle     time.Duration // a stream reader gives up after this long without a byte
	writeTimeout   time.Duration // one stream write (batch plus flush) may take this long
	requestTimeout time.Duration // pipeline POSTs and probes; stream response headers
	snapshotIdle   time.Duration // a snapshot transfer with no progress for this long is abandoned
	probeInterval  time.Duration // how often each peer URL is probed
	probeCheck     time.Duration // how often probe results are checked and warned about
	maxRemotes     int           // senders learnt from X-PeerURLs, at most

	// beforeBatch, when set, is called by a stream writer after it took
	// the first message of a batch and before it collects the rest.
	beforeBatch func()
}

func defaultTuning() tuning {
	return tuning{
		msgappQueue:    4096,
		messageQueue:   1024,
		pipelineQueue:  64,
		pipelineBatch:  64,
		maxBatchBytes:  1 << 20,
		backoffMin:     100 * time.Millisecond,
		backoffMax:     1600 * time.Millisecond,
		linkHeartbeat:  1700 * time.Millisecond,
		streamIdle:     5 * time.Second,
		writeTimeout:   5 * time.Second,
		requestTimeout: 5 * time.Second,
		snapshotIdle:   30 * time.Second,
		probeInterval:  4 * time.Second,
		probeCheck:     30 * time.Second,
		maxRemotes:     16,
	}
}

// Transport carries raft messages between this member and its peers over
// HTTP. See the package documentation for the protocol. Its methods are
// safe for concurrent use; Send never blocks.
type Transport struct {
	id, cid     ID
	peerURLs    string // X-PeerURLs
	version     semver
	minCluster  semver
	versionStr  string
	minClustStr string
	raft        Raft
	snaps       SnapshotStore
	stats       *Stats
	log         *slog.Logger
	tune        tuning

	client     *http.Client // streams, pipeline, probes
	snapClient *http.Client // snapshots: no response-header timeout
	reports    *reporter

	ctx    context.Context // done when Stop is called
	cancel context.CancelFunc
	wg     sync.WaitGroup // the reporter and the remotes' pipelines

	mu      sync.RWMutex
	peers   map[ID]*remotePeer
	remotes map[ID]*remotePeer // senders that are not peers, reached by their X-PeerURLs
	stopped bool
}

// NewTransport returns a transport with no peers; add them with SetPeers
// or AddPeer. Mount Handler on the peer listener. Stop ends it.
func NewTransport(cfg Config) (*Transport, error) {
	return newTransport(cfg, defaultTuning())
}

func newTransport(cfg Config, tune tuning) (*Transport, error) {
	switch {
	case cfg.ID == 0:
		return nil, errors.New("peer: transport needs the member's ID")
	case cfg.ClusterID == 0:
		return nil, errors.New("peer: transport needs the cluster ID")
	case cfg.Raft == nil:
		return nil, errors.New("peer: transport needs a Raft to deliver to")
	case cfg.Snapshots == nil:
		return nil, errors.New("peer: transport needs a SnapshotStore")
	}
	version, err := parseSemver(cfg.ServerVersion)
	if err != nil {
		return nil, fmt.Errorf("peer: server version: %w", err)
	}
	minCluster, err := parseSemver(cfg.MinClusterVersion)
	if err != nil {
		return nil, fmt.Errorf("peer: minimum cluster version: %w", err)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = time.Second
	}
	if cfg.Stats == nil {
		cfg.Stats = NewStats()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		id: cfg.ID, cid: cfg.ClusterID, peerURLs: strings.Join(cfg.PeerURLs, ","),
		version: version, minCluster: minCluster,
		versionStr: cfg.ServerVersion, minClustStr: cfg.MinClusterVersion,
		raft: cfg.Raft, snaps: cfg.Snapshots, stats: cfg.Stats, log: cfg.Logger, tune: tune,
		client:     newHTTPClient(cfg.TLS, cfg.DialTimeout, tune.requestTimeout),
		snapClient: newHTTPClient(cfg.TLS, cfg.DialTimeout, 0),
		ctx:        ctx, cancel: cancel,
		peers: make(map[ID]*remotePeer), remotes: make(map[ID]*remotePeer),
	}
	t.reports = newReporter(cfg.Raft)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.reports.run(ctx)
	}()
	return t, nil
}

// newHTTPClient returns an HTTP client for peers: HTTP/1.1 (one TCP
// connection per stream), no proxy, no compression, no redirects; it
// waits at most headerTimeout (0: no limit) for the headers of an answer.
func newHTTPClient(tc *tls.Config, dialTimeout, headerTimeout time.Duration) *http.Client {
	return &http.Client{
		Transport: newHTTPTransport(tc, dialTimeout, headerTimeout),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func newHTTPTransport(tc *tls.Config, dialTimeout, headerTimeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	var clientTLS *tls.Config
	if tc != nil {
		clientTLS = tc.Clone()
	}
	return &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       clientTLS,
		TLSHandshakeTimeout:   dialTimeout,
		ResponseHeaderTimeout: headerTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
	}
}

// ActiveSince returns when the transport last got through to member id
// (and has reached it since), or the zero time when it cannot reach id now
// or does not know it. The server's --strict-reconfig-check counts only
// members reachable this way.
func (t *Transport) ActiveSince(id ID) time.Time {
	if p := t.peer(id); p != nil {
		return p.status.activeSince()
	}
	return time.Time{}
}

// Stats returns the statistics the transport records into.
func (t *Transport) Stats() *Stats { return t.stats }

// Send queues each message for its member and returns at once. A message
// for this member, for nobody (To = 0) or for a member the transport does
// not know is dropped, as is one whose queue is full; raft sends again
// what matters. Snapshots (MsgSnap) are streamed from the SnapshotStore
// by a goroutine of their own.
func (t *Transport) Send(msgs []raft.Message) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for i := range msgs {
		m := &msgs[i]
		id := ID(m.To)
		if p := t.peers[id]; p != nil {
			p.send(m)
		} else if r := t.remotes[id]; r != nil {
			r.send(m)
		}
	}
}

// SetPeers makes the peers exactly the members other than self: new ones
// are added, gone ones removed, and the others get their current URLs.
func (t *Transport) SetPeers(members []*Member, self ID) {
	want := make(map[ID]*Member, len(members))
	for _, m := range members {
		if m.ID != self && m.ID != 0 {
			want[m.ID] = m
		}
	}
	t.mu.RLock()
	var gone []ID
	for id := range t.peers {
		if want[id] == nil {
			gone = append(gone, id)
		}
	}
	t.mu.RUnlock()
	for _, id := range gone {
		t.RemovePeer(id)
	}
	for id, m := range want {
		t.AddPeer(id, m.PeerURLs.Strings()) // updates the URLs of a peer it knows
	}
}

// AddPeer starts talking to member id at the given peer URLs. For a peer
// it knows already it is UpdatePeer. URLs that do not parse are logged and
// left out.
func (t *Transport) AddPeer(id ID, urls []string) {
	if id == t.id || id == 0 {
		return
	}
	us := t.parsePeerURLs(id, urls)
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	if p := t.peers[id]; p != nil {
		t.mu.Unlock()
		p.picker.update(us)
		return
	}
	remote := t.remotes[id]
	delete(t.remotes, id)
	p := newRemotePeer(t, id, us, true)
	t.peers[id] = p
	t.mu.Unlock()
	if remote != nil {
		remote.stop()
	}
	t.log.Info(fmt.Sprintf("starting peer %s...", id))
}

// RemovePeer stops talking to member id and waits until its goroutines
// have ended.
func (t *Transport) RemovePeer(id ID) {
	t.mu.Lock()
	p := t.peers[id]
	delete(t.peers, id)
	t.mu.Unlock()
	if p == nil {
		return
	}
	p.stop()
	t.stats.removeFollower(id)
	t.log.Info(fmt.Sprintf("removed peer %s", id))
}

// UpdatePeer gives member id new peer URLs. Connections already up stay;
// the next dial uses the new URLs.
func (t *Transport) UpdatePeer(id ID, urls []string) {
	us := t.parsePeerURLs(id, urls)
	t.mu.RLock()
	p := t.peers[id]
	t.mu.RUnlock()
	if p != nil {
		p.picker.update(us)
	}
}

func (t *Transport) parsePeerURLs(id ID, urls []string) []url.URL {
	var us []url.URL
	for _, s := range urls {
		u, err := ParseURL(s)
		if err != nil {
			t.log.Error(fmt.Sprintf("ignored peer URL %q of member %s: %v", s, id, err))
			continue
		}
		us = append(us, u)
	}
	return us
}

// Stop ends every stream, transfer and goroutine of the transport and
// waits for them. Stream handlers still running return. Stop may be
// called more than once.
func (t *Transport) Stop() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.stopped = true
	all := make([]*remotePeer, 0, len(t.peers)+len(t.remotes))
	for _, p := range t.peers {
		all = append(all, p)
	}
	for _, p := range t.remotes {
		all = append(all, p)
	}
	t.peers, t.remotes = map[ID]*remotePeer{}, map[ID]*remotePeer{}
	t.mu.Unlock()
	t.cancel()
	for _, p := range all {
		p.stop()
	}
	t.wg.Wait()
	t.client.CloseIdleConnections()
	t.snapClient.CloseIdleConnections()
}

// peer returns the peer id, or nil.
func (t *Transport) peer(id ID) *remotePeer {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.peers[id]
}

// learnRemote remembers how to reach a sender that is not a peer, from
// the X-PeerURLs of its request, so that answers to it can go out through
// the pipeline (a member that joined recently may not be a peer yet).
func (t *Transport) learnRemote(id ID, header string) {
	if header == "" || id == t.id || id == 0 {
		return
	}
	t.mu.RLock()
	known := t.peers[id] != nil || t.remotes[id] != nil || len(t.remotes) >= t.tune.maxRemotes || t.stopped
	t.mu.RUnlock()
	if known {
		return
	}
	us := t.parsePeerURLs(id, strings.Split(header, ","))
	if len(us) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.peers[id] != nil || t.remotes[id] != nil || len(t.remotes) >= t.tune.maxRemotes || t.stopped {
		return
	}
	t.remotes[id] = newRemotePeer(t, id, us, false)
	t.log.Info(fmt.Sprintf("added remote %s, reached through its advertised peer URLs %s", id, header))
}

// setHeaders puts the headers every peer request carries.
func (t *Transport) setHeaders(h http.Header, to ID) {
	h.Set("X-Server-From", t.id.String())
	h.Set("X-Server-Version", t.versionStr)
	h.Set("X-Min-Cluster-Version", t.minClustStr)
	h.Set("X-Etcd-Cluster-ID", t.cid.String())
	h.Set("X-Raft-To", to.String())
	if t.peerURLs != "" {
		h.Set("X-PeerURLs", t.peerURLs)
	}
}

// refused handles an answer other than success from peer to to a request
// of the kind what ("stream", "pipeline" or "snapshot"): it logs the cause
// as etcd words it, tells the server when the peer says this member was
// removed (410 on a stream, 403 elsewhere), and returns an error.
func (t *Transport) refused(to ID, resp *http.Response, what string) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	text := strings.TrimSpace(string(body))
	switch {
	case resp.StatusCode == http.StatusPreconditionFailed && text == bodyClusterMismatch:
		t.log.Error(fmt.Sprintf("request sent was ignored (cluster ID mismatch: remote[%s]=%s, local=%s)",
			to, resp.Header.Get("X-Etcd-Cluster-ID"), t.cid))
	case resp.StatusCode == http.StatusPreconditionFailed && text == bodyIncompatibleVersion:
		t.log.Error(fmt.Sprintf("request sent was ignored by peer %s (server version incompatible)", to))
	case resp.StatusCode == http.StatusGone || resp.StatusCode == http.StatusForbidden:
		t.log.Error(fmt.Sprintf("peer %s answered that this member was removed from the cluster", to))
		t.reports.selfRemoved(to)
	case resp.StatusCode == http.StatusNotFound && what == "stream":
		t.log.Error(fmt.Sprintf("remote member %s could not recognize local member", to))
	default:
		t.log.Error(fmt.Sprintf("peer %s refused the %s request: %s %q", to, what, resp.Status, text))
	}
	return &refusedError{what: what, to: to, status: resp.Status}
}

// refusedError is a request a peer answered with a refusal: the peer is
// up, but will not take what we sent.
type refusedError struct {
	what   string
	to     ID
	status string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("peer: %s request to %s refused: %s", e.what, e.to, e.status)
}

// sleep waits for d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
