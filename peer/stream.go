package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"v2etcd/raft"
)

// streamKind names one of the two streams between a pair of members.
type streamKind int

const (
	streamMsgApp  streamKind = iota // log appends (MsgApp) only
	streamMessage                   // every other message type but MsgSnap
)

func (k streamKind) String() string {
	if k == streamMsgApp {
		return "msgapp"
	}
	return "message"
}

// kindOf returns the stream that carries messages of type t.
func kindOf(t raft.MessageType) streamKind {
	if t == raft.MsgApp {
		return streamMsgApp
	}
	return streamMessage
}

// streamPath is the path a member dials to receive kind messages: the last
// element is the dialling member's own ID.
func streamPath(kind streamKind, receiver ID) string {
	return "/raft/stream/" + kind.String() + "/" + receiver.String()
}

// streamWriter is the sending end of one stream to a peer: a bounded
// queue, and the connection the peer opened to drain it (the response of
// its GET). At most one connection is served at a time, so messages leave
// in the order they were queued. active says whether a connection is being
// served; Send uses the stream only then.
type streamWriter struct {
	p      *remotePeer
	kind   streamKind
	queue  chan raft.Message
	active atomic.Bool

	mu  sync.Mutex
	cur *streamConn // the connection being served, or nil

	batches atomic.Uint64 // writes that carried messages
	sent    atomic.Uint64 // messages written
}

// streamConn is one accepted stream connection.
type streamConn struct {
	rc       *http.ResponseController
	stop     chan struct{} // closed by end
	stopOnce sync.Once
	done     chan struct{} // closed when serving it has ended
}

func newStreamConn(rc *http.ResponseController) *streamConn {
	return &streamConn{rc: rc, stop: make(chan struct{}), done: make(chan struct{})}
}

// end tells the writer serving sc to stop, and cuts short a write in
// progress by moving the write deadline to now (an error means the
// connection cannot; the write timeout will end it).
func (sc *streamConn) end() {
	sc.stopOnce.Do(func() {
		close(sc.stop)
		sc.rc.SetWriteDeadline(time.Now())
	})
}

func newStreamWriter(p *remotePeer, kind streamKind, queueLen int) *streamWriter {
	return &streamWriter{p: p, kind: kind, queue: make(chan raft.Message, queueLen)}
}

// attach makes sc the connection to serve. A connection served before is
// told to stop, its blocked write (if any) is cut short, and attach waits
// until it has let go of the queue. It reports false if the peer stopped
// meanwhile.
func (w *streamWriter) attach(sc *streamConn) bool {
	w.mu.Lock()
	old := w.cur
	w.cur = sc
	w.mu.Unlock()
	if old != nil {
		old.end()
		select {
		case <-old.done:
		case <-w.p.ctx.Done():
			return false
		}
	}
	w.active.Store(true)
	return true
}

// cut ends the connection being served, if any: the peer seems gone.
func (w *streamWriter) cut() {
	w.mu.Lock()
	cur := w.cur
	w.mu.Unlock()
	if cur != nil {
		cur.end()
	}
}

// detach ends serving sc. If no newer connection took over, the stream is
// down: the messages still queued are dropped (raft sends again), so that
// they do not arrive long after newer ones sent through the pipeline.
func (w *streamWriter) detach(sc *streamConn) {
	dropped := 0
	w.mu.Lock()
	if w.cur == sc {
		w.cur = nil
		w.active.Store(false)
	drain:
		for {
			select {
			case <-w.queue:
				dropped++
			default:
				break drain
			}
		}
	}
	w.mu.Unlock()
	close(sc.done)
	if dropped > 0 {
		w.p.dropped(dropped)
	}
}

// serve writes queued messages to out (the stream's response body) until
// the request ends, the peer or transport stops, a newer connection takes
// over or a write fails. Whatever is queued when it looks goes out in one
// write and one flush, up to maxBatchBytes; while nothing is queued, a
// link heartbeat goes out every linkHeartbeat so the reader knows the
// connection is alive.
func (w *streamWriter) serve(ctx context.Context, out io.Writer, sc *streamConn) {
	defer w.detach(sc)
	tune := &w.p.t.tune
	hb := time.NewTicker(tune.linkHeartbeat)
	defer hb.Stop()
	var buf []byte
	var appSizes []int // sizes of the appends in the batch, for the stats
	for {
		select {
		case <-sc.stop:
			return
		case <-ctx.Done():
			return
		case <-w.p.ctx.Done():
			return
		case <-hb.C:
			if err := w.write(sc, out, heartbeatFrame[:]); err != nil {
				w.failed(sc, 0, err)
				return
			}
		case m := <-w.queue:
			select {
			case <-sc.stop: // replaced or cut: this connection is ending
				w.p.fs.failed(1)
				return
			default:
			}
			buf, appSizes = buf[:0], appSizes[:0]
			buf, appSizes = appendTracked(buf, appSizes, &m)
			n := 1
			if tune.beforeBatch != nil {
				tune.beforeBatch()
			}
		collect:
			for len(buf) < tune.maxBatchBytes {
				select {
				case m = <-w.queue:
					buf, appSizes = appendTracked(buf, appSizes, &m)
					n++
				default:
					break collect
				}
			}
			if err := w.write(sc, out, buf); err != nil {
				w.failed(sc, n, err)
				return
			}
			w.batches.Add(1)
			w.sent.Add(uint64(n))
			w.p.t.stats.sendAppends(appSizes)
			if cap(buf) > 4*tune.maxBatchBytes {
				buf = nil // do not keep a huge buffer after one huge message
			}
		}
	}
}

// appendTracked appends m's frame to buf and, for an append, the frame's
// size to appSizes.
func appendTracked(buf []byte, appSizes []int, m *raft.Message) ([]byte, []int) {
	before := len(buf)
	buf = appendFrame(buf, m)
	if m.Type == raft.MsgApp {
		appSizes = append(appSizes, len(buf)-before)
	}
	return buf, appSizes
}

// write writes b and flushes it within writeTimeout.
func (w *streamWriter) write(sc *streamConn, out io.Writer, b []byte) error {
	// An error means the connection has no deadlines; the peer listener's
	// own timeouts, if any, apply then.
	sc.rc.SetWriteDeadline(time.Now().Add(w.p.t.tune.writeTimeout))
	if _, err := out.Write(b); err != nil {
		return err
	}
	return sc.rc.Flush()
}

// failed handles a failed write of a batch of n messages (0 for a link
// heartbeat): the messages are lost, and raft hears of it.
func (w *streamWriter) failed(sc *streamConn, n int, err error) {
	select {
	case <-sc.stop: // ended on purpose: replaced or cut, already handled
		if n > 0 {
			w.p.fs.failed(n)
		}
		return
	default:
	}
	if n > 0 {
		w.p.dropped(n)
	}
	w.p.status.deactivate(fmt.Errorf("cannot write to the %s stream: %w", w.kind, err))
}

// runReader keeps the kind stream from the peer open: it dials, reads
// until the stream ends, and dials again after backoffMin, doubling the
// wait after each failed dial up to backoffMax.
func (p *remotePeer) runReader(kind streamKind) {
	defer p.wg.Done()
	tune := &p.t.tune
	backoff := tune.backoffMin
	for {
		if p.readStream(kind) {
			backoff = tune.backoffMin
		}
		if !sleep(p.ctx, backoff) {
			return
		}
		backoff = min(2*backoff, tune.backoffMax)
	}
}

// errStreamIdle is why a stream reader hangs up on a silent stream.
var errStreamIdle = errors.New("peer: stream silent for too long")

// readStream dials the kind stream once and hands every message it carries
// to Raft, in order. It reports whether the stream was established.
func (p *remotePeer) readStream(kind streamKind) bool {
	if p.t.raft.IsRemoved(p.id) {
		return false // never take messages from a removed member
	}
	u, ok := p.picker.pick()
	if !ok {
		return false
	}
	ctx, cancel := context.WithCancelCause(p.ctx)
	defer cancel(nil)
	target := u
	target.Path = streamPath(kind, p.t.id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		p.t.log.Error(fmt.Sprintf("cannot build the %s stream request to peer %s: %v", kind, p.id, err))
		return false
	}
	p.t.setHeaders(req.Header, p.id)
	resp, err := p.t.client.Do(req)
	if err != nil {
		if p.ctx.Err() == nil {
			p.picker.failed(u)
			p.status.deactivate(fmt.Errorf("cannot dial the %s stream at %s: %w", kind, u.Host, err))
		}
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		p.t.refused(p.id, resp, "stream") // logged there; the peer is up, so still active
		return false
	}
	if ct := resp.Header.Get("Content-Type"); ct != frameContentType {
		p.status.deactivate(fmt.Errorf("peer: %s stream of %s has content type %q, want %q", kind, p.id, ct, frameContentType))
		return false
	}
	p.status.activate()
	p.t.log.Info(fmt.Sprintf("established the %s stream from peer %s", kind, p.id))

	idle := time.AfterFunc(p.t.tune.streamIdle, func() { cancel(errStreamIdle) })
	defer idle.Stop()
	fr := newFrameReader(&idleReader{r: resp.Body, t: idle, d: p.t.tune.streamIdle}, 64<<10)
	for {
		var m raft.Message
		size, err := fr.next(&m)
		if err != nil {
			if p.ctx.Err() == nil {
				if cause := context.Cause(ctx); cause != nil {
					err = cause
				}
				if errors.Is(err, errStreamIdle) {
					// A stream that was alive went silent: the peer or the
					// network is gone, and the streams we serve it are
					// likely dead too. End them so that what we send goes
					// through the pipeline, where failures are seen.
					p.writers[streamMsgApp].cut()
					p.writers[streamMessage].cut()
				}
				p.status.deactivate(fmt.Errorf("lost the %s stream: %w", kind, err))
			}
			return true
		}
		if ID(m.From) != p.id || ID(m.To) != p.t.id {
			p.t.log.Error(fmt.Sprintf("peer %s sent a message from %s to %s on its %s stream; hanging up",
				p.id, ID(m.From), ID(m.To), kind))
			return true
		}
		p.t.received(&m, size, p)
		if err := p.t.raft.Process(ctx, m); err != nil {
			if ctx.Err() != nil {
				return true
			}
			p.t.log.Warn(fmt.Sprintf("failed to process %s from %s: %v", m.Type, p.id, err))
		}
	}
}

// received updates the statistics for a message about to be processed.
func (t *Transport) received(m *raft.Message, size int, from *remotePeer) {
	switch m.Type {
	case raft.MsgApp:
		t.stats.recvAppend(size)
	case raft.MsgHeartbeatResp:
		if from != nil && from.fs != nil {
			from.fs.heartbeatAnswered()
		}
	}
}

// idleReader restarts a timer whenever bytes arrive; the timer hangs up a
// stream that stays silent (a link heartbeat comes every linkHeartbeat).
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.t.Reset(ir.d)
	}
	return n, err
}
