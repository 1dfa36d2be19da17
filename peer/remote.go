package peer

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"v2etcd/raft"
)

// remotePeer is everything the transport keeps for one other member: its
// URLs, the two outbound stream queues (served when the member dials in),
// the two inbound stream readers (dialling the member), the pipeline, the
// snapshot sender, the prober and the follower statistics.
//
// A "remote" (full == false) is a sender that is not a peer, known only by
// the X-PeerURLs of its requests: it gets the pipeline and nothing else.
type remotePeer struct {
	t      *Transport
	id     ID
	full   bool
	picker *urlPicker
	fs     *followerStats
	status peerStatus

	writers [2]*streamWriter // by streamKind
	pipeq   chan raft.Message

	snapshotting atomic.Bool // a snapshot transfer is under way

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRemotePeer(t *Transport, id ID, urls []url.URL, full bool) *remotePeer {
	ctx, cancel := context.WithCancel(t.ctx)
	p := &remotePeer{
		t: t, id: id, full: full, picker: newURLPicker(urls),
		pipeq: make(chan raft.Message, t.tune.pipelineQueue),
		ctx:   ctx, cancel: cancel,
	}
	p.status = peerStatus{id: id, log: t.log}
	if full {
		p.fs = t.stats.follower(id)
		p.writers[streamMsgApp] = newStreamWriter(p, streamMsgApp, t.tune.msgappQueue)
		p.writers[streamMessage] = newStreamWriter(p, streamMessage, t.tune.messageQueue)
		p.wg.Add(3)
		go p.runReader(streamMsgApp)
		go p.runReader(streamMessage)
		go p.runProber()
	}
	p.wg.Add(1)
	go p.runPipeline()
	return p
}

// stop ends the peer's goroutines and waits for them. Stream handlers
// serving its queues return on their own.
func (p *remotePeer) stop() {
	p.cancel()
	p.wg.Wait()
}

// send routes one message and never blocks: a snapshot to the snapshot
// sender; an append to the msgapp stream and anything else to the message
// stream, when that stream is connected; otherwise to the pipeline. A
// message whose queue is full is dropped and the member reported
// unreachable.
func (p *remotePeer) send(m *raft.Message) {
	if m.Type == raft.MsgSnap {
		p.sendSnapshot(m)
		return
	}
	q := p.pipeq
	if p.full {
		if w := p.writers[kindOf(m.Type)]; w.active.Load() {
			q = w.queue
		}
	}
	select {
	case q <- *m:
		if m.Type == raft.MsgHeartbeat && p.fs != nil {
			p.fs.heartbeatSent()
		}
	default:
		p.dropped(1)
		p.t.log.Debug(fmt.Sprintf("dropped %s to %s: its sending queue is full", m.Type, p.id))
	}
}

// dropped records n messages to the peer that were lost and tells raft.
func (p *remotePeer) dropped(n int) {
	if p.fs != nil {
		p.fs.failed(n)
	}
	p.t.reports.peerUnreachable(p.id)
}

// urlPicker chooses which of a member's peer URLs to use: the same one
// until it fails, then the next.
type urlPicker struct {
	mu   sync.Mutex
	urls []url.URL
	i    int
}

func newURLPicker(urls []url.URL) *urlPicker { return &urlPicker{urls: urls} }

// pick returns the URL to use, or false when the member has none.
func (pk *urlPicker) pick() (url.URL, bool) {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if len(pk.urls) == 0 {
		return url.URL{}, false
	}
	return pk.urls[pk.i%len(pk.urls)], true
}

// failed moves on from u if u is the URL in use.
func (pk *urlPicker) failed(u url.URL) {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if len(pk.urls) > 0 && pk.urls[pk.i%len(pk.urls)] == u {
		pk.i = (pk.i + 1) % len(pk.urls)
	}
}

// update replaces the URLs.
func (pk *urlPicker) update(urls []url.URL) {
	pk.mu.Lock()
	pk.urls, pk.i = urls, 0
	pk.mu.Unlock()
}

// all returns a copy of the URLs.
func (pk *urlPicker) all() []url.URL {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	return append([]url.URL(nil), pk.urls...)
}

// peerStatus logs when a peer becomes reachable or stops being reachable,
// once per change rather than once per failed attempt.
type peerStatus struct {
	id  ID
	log *slog.Logger

	mu     sync.Mutex
	active bool
	known  bool      // active is the result of at least one attempt
	since  time.Time // when the peer last became active
}

func (s *peerStatus) activate() {
	s.mu.Lock()
	changed := !s.active
	if changed {
		s.since = time.Now()
	}
	s.active, s.known = true, true
	s.mu.Unlock()
	if changed {
		s.log.Info(fmt.Sprintf("peer %s became active", s.id))
	}
}

func (s *peerStatus) deactivate(err error) {
	s.mu.Lock()
	changed := s.active || !s.known
	s.active, s.known, s.since = false, true, time.Time{}
	s.mu.Unlock()
	if changed {
		s.log.Warn(fmt.Sprintf("peer %s became inactive: %v", s.id, err))
	}
}

// activeSince returns when the peer became reachable, or the zero time.
func (s *peerStatus) activeSince() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.since
}
